//! Running cargo the same way from every command, and building test binaries once.
//!
//! Two things keep RocksDB's C++ (12-13 minutes cold on 2 cores) compiled once per target
//! directory. The workspace-hack crate (`.config/hakari.toml`) gives every package selection
//! the same features. And no command changes an environment variable a build script watches:
//! ccache is put in front of the C/C++ compiler through `PATH` (its masquerade directory), not
//! through `CC`/`CXX`, which the `cc` crate tracks (`rerun-if-env-changed`), so a plain `cargo
//! test` and `cargo xtask test-all` share one build whichever runs first.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::registry::Workspace;

/// The cargo that runs xtask (`CARGO`), else `cargo` from `PATH`.
pub fn program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// ccache's masquerade directory (`cc`, `c++` there are ccache), when ccache is installed.
pub fn ccache_dir() -> Option<PathBuf> {
    [
        "/usr/lib/ccache",
        "/usr/lib64/ccache",
        "/usr/local/lib/ccache",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|d| d.join("cc").exists() && d.join("c++").exists())
}

/// `PATH` with ccache's masquerade directory first, when ccache is installed.
pub fn path_with_ccache() -> Option<OsString> {
    let dir = ccache_dir()?;
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut parts: Vec<PathBuf> = std::env::split_paths(&old).filter(|p| *p != dir).collect();
    parts.insert(0, dir);
    std::env::join_paths(parts).ok()
}

/// A `cargo` command run from the workspace root, with ccache in front of the C/C++ compiler
/// when it is installed.
pub fn cmd<I, S>(ws_root: &Path, args: I) -> duct::Expression
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut e = duct::cmd(program(), args).dir(ws_root);
    for name in inherited_cargo_vars() {
        e = e.env_remove(name);
    }
    if let Some(path) = path_with_ccache() {
        e = e.env("PATH", path);
    }
    e
}

/// The variables cargo set for this process (`cargo xtask` is `cargo run`, a test binary is
/// run by `cargo test`): a child cargo must not inherit them. Build scripts watch some of them
/// (`ring`'s watches `CARGO_MANIFEST_DIR` and `CARGO_PKG_NAME`), and cargo compares a watched
/// variable against its own environment, so a child cargo that inherits them and a plain
/// `cargo` in a shell would rebuild such crates for each other, every time they alternate.
fn inherited_cargo_vars() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            let n = name.to_string_lossy();
            n == "OUT_DIR"
                || (n.starts_with("CARGO_")
                    && !matches!(
                        n.as_ref(),
                        "CARGO_HOME"
                            | "CARGO_TARGET_DIR"
                            | "CARGO_TERM_COLOR"
                            | "CARGO_INCREMENTAL"
                    )
                    && !n.starts_with("CARGO_BUILD_")
                    && !n.starts_with("CARGO_PROFILE_")
                    && !n.starts_with("CARGO_REGISTRIES_"))
        })
        .collect()
}

/// A command for a cargo (or xtask) run from inside a test, without the variables cargo set
/// for the test process: they would reach the inner cargo's build scripts, which rebuild when
/// they change, so outer and inner builds would invalidate each other on every run.
pub fn inner_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    for name in inherited_cargo_vars() {
        cmd.env_remove(name);
    }
    if let Some(path) = path_with_ccache() {
        cmd.env("PATH", path);
    }
    cmd
}

/// One test executable cargo built, and where it belongs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestBinary {
    /// The package (`engine_rocks`).
    pub package: String,
    /// The target's name (`conformance`, or the crate name for a lib's unit tests).
    pub target: String,
    /// The target kind: `lib`, `bin`, `test`, `proc-macro`...
    pub kind: String,
    /// The executable.
    pub executable: PathBuf,
    /// The package's directory: the working directory `cargo test` gives it.
    pub manifest_dir: PathBuf,
}

impl TestBinary {
    /// The binary as a command, with the working directory and the variables `cargo test`
    /// gives a test at run time, so it runs as it would under `cargo test`.
    pub fn cmd<I, S>(&self, args: I) -> duct::Expression
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut e = duct::cmd(&self.executable, args)
            .dir(&self.manifest_dir)
            .env("CARGO_MANIFEST_DIR", &self.manifest_dir)
            .env("CARGO_PKG_NAME", &self.package)
            .env("CARGO_CRATE_NAME", self.target.replace('-', "_"))
            .env("CARGO", program());
        if let Some(path) = path_with_ccache() {
            e = e.env("PATH", path);
        }
        e
    }

    /// `package (kind target)`, as shown in logs.
    pub fn label(&self) -> String {
        format!("{} ({} {})", self.package, self.kind, self.target)
    }
}

/// Reads the test executables from cargo's `--message-format=json` output. `members` maps a
/// manifest path to its package name (package ids do not always carry the name).
pub fn parse_test_binaries(stdout: &str, members: &BTreeMap<PathBuf, String>) -> Vec<TestBinary> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let (Some(exe), Some(target), Some(manifest)) = (
            msg["executable"].as_str(),
            msg["target"]["name"].as_str(),
            msg["manifest_path"].as_str(),
        ) else {
            continue;
        };
        let manifest = PathBuf::from(manifest);
        let Some(package) = members.get(&manifest) else {
            continue;
        };
        let kind = msg["target"]["kind"][0]
            .as_str()
            .unwrap_or("test")
            .to_owned();
        out.push(TestBinary {
            package: package.clone(),
            target: target.to_owned(),
            kind,
            executable: PathBuf::from(exe),
            manifest_dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
        });
    }
    out
}

/// Builds test binaries in one cargo call (`cargo test --no-run` with `args` added: package
/// and target selection, `--profile`) and returns them. One call means one dependency graph:
/// cargo's messages go to the terminal as usual; errors fail with cargo's own diagnostics above.
pub fn build_tests(ws: &Workspace, args: &[String]) -> Result<Vec<TestBinary>> {
    let mut all: Vec<String> = [
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]
    .map(String::from)
    .to_vec();
    all.extend(args.iter().cloned());
    eprintln!("==> build: cargo {}", all.join(" "));
    let output = cmd(&ws.root, &all)
        .stdout_capture()
        .unchecked()
        .run()
        .context("running cargo")?;
    if !output.status.success() {
        bail!("building the test binaries failed (cargo's messages are above)");
    }
    Ok(parse_test_binaries(
        &String::from_utf8_lossy(&output.stdout),
        &ws.members,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_binaries_are_read_from_cargo_messages_with_their_package() {
        let members = BTreeMap::from([
            (PathBuf::from("/w/xtask/Cargo.toml"), "xtask".to_owned()),
            (
                PathBuf::from("/w/engines/rocks/Cargo.toml"),
                "engine_rocks".to_owned(),
            ),
        ]);
        let out = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/xtask#0.1.0","manifest_path":"/w/xtask/Cargo.toml","target":{"kind":["lib"],"name":"xtask"},"profile":{"test":true},"executable":"/t/deps/xtask-1"}
{"reason":"compiler-artifact","package_id":"path+file:///w/engines/rocks#engine_rocks@0.1.0","manifest_path":"/w/engines/rocks/Cargo.toml","target":{"kind":["test"],"name":"conformance"},"profile":{"test":true},"executable":"/t/deps/conformance-2"}
{"reason":"compiler-artifact","package_id":"registry+https://x#libc@0.2.0","manifest_path":"/r/libc/Cargo.toml","target":{"kind":["lib"],"name":"libc"},"profile":{"test":false},"executable":null}
{"reason":"build-finished","success":true}
not json"#;
        let bins = parse_test_binaries(out, &members);
        assert_eq!(bins.len(), 2, "{bins:?}");
        assert_eq!(
            bins[0].package, "xtask",
            "the name comes from the manifest path"
        );
        assert_eq!(bins[0].kind, "lib");
        assert_eq!(bins[1].package, "engine_rocks");
        assert_eq!(bins[1].target, "conformance");
        assert_eq!(bins[1].manifest_dir, PathBuf::from("/w/engines/rocks"));
    }

    #[test]
    fn ccache_goes_first_on_path_once() {
        let Some(dir) = ccache_dir() else {
            eprintln!("skipped: ccache is not installed");
            return;
        };
        let path = path_with_ccache().unwrap();
        let parts: Vec<PathBuf> = std::env::split_paths(&path).collect();
        assert_eq!(parts[0], dir);
        assert_eq!(parts.iter().filter(|p| **p == dir).count(), 1);
    }
}
