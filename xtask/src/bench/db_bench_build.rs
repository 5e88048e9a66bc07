//! `cargo xtask db-bench build`: RocksDB's `db_bench` compiled from the very source our binding
//! links (the `librocksdb-sys` crate ships RocksDB's whole tree, `tools/db_bench_tool.cc`
//! included), so `bench --db-bench` compares `rocks` with a db_bench of the same version.
//! Debian's `rocksdb-tools` is four major versions behind and built with assertions on: a
//! ratio against it mixes two engines and two build modes.
//!
//! The build is a release build (`DEBUG_LEVEL=0`: `-O2`, `NDEBUG`), portable (`PORTABLE=1`, no
//! `-march=native`, as librocksdb-sys compiles for the baseline target), with the compression
//! libraries our binding enables (LZ4 and Zstandard) and no others, the system allocator (no
//! jemalloc or tcmalloc, as the Rust side uses), and clang. It runs in a copy of the source
//! under the cache directory, never in cargo's registry, and is kept there:
//! `~/.cache/engine-sig-workbench/db_bench/<RocksDB version>/db_bench`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::registry::Workspace;

/// The Debian packages the build needs beyond a C++ toolchain: gflags (db_bench's flag
/// parser; without it db_bench only prints "Please install gflags") and the headers of the
/// two compression libraries.
pub const BUILD_PACKAGES: [&str; 3] = ["libgflags-dev", "liblz4-dev", "libzstd-dev"];

/// Which db_bench a run used, for results.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbBenchInfo {
    /// The executable.
    pub path: PathBuf,
    /// What `db_bench --version` printed (`db_bench version 11.8.1`).
    pub version: String,
    /// Where it comes from: built from the linked source, or a system package.
    pub origin: String,
}

/// The RocksDB source our binding compiles: the `librocksdb-sys` package's `rocksdb/`
/// directory, found through `cargo metadata`. Returns (crate version, source dir).
pub fn linked_source(ws: &Workspace) -> Result<(String, PathBuf)> {
    let out = duct::cmd!(crate::cargo::program(), "metadata", "--format-version", "1")
        .dir(&ws.root)
        .stderr_null()
        .read()
        .context("cargo metadata")?;
    let meta: serde_json::Value = serde_json::from_str(&out).context("parsing cargo metadata")?;
    let pkg = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "librocksdb-sys")
        .context("no librocksdb-sys package in the workspace's dependency graph")?;
    let version = pkg["version"].as_str().unwrap_or_default().to_owned();
    let manifest = PathBuf::from(pkg["manifest_path"].as_str().unwrap_or_default());
    let dir = manifest
        .parent()
        .map(|d| d.join("rocksdb"))
        .context("librocksdb-sys has no manifest directory")?;
    if !dir.join("tools/db_bench_tool.cc").is_file() {
        bail!(
            "{} has no tools/db_bench_tool.cc: this librocksdb-sys does not ship RocksDB's tools",
            dir.display()
        );
    }
    Ok((version, dir))
}

/// RocksDB's version from `include/rocksdb/version.h` (`11.8.1`).
pub fn source_version(source: &Path) -> Result<String> {
    let path = source.join("include/rocksdb/version.h");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let part = |name: &str| -> Result<u32> {
        text.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("#define") && w.next() == Some(name))
                    .then(|| w.next()?.parse().ok())
                    .flatten()
            })
            .with_context(|| format!("{}: no #define {name}", path.display()))
    };
    Ok(format!(
        "{}.{}.{}",
        part("ROCKSDB_MAJOR")?,
        part("ROCKSDB_MINOR")?,
        part("ROCKSDB_PATCH")?
    ))
}

/// Where the build for RocksDB `version` lives.
pub fn cache_dir(version: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("engine-sig-workbench/db_bench").join(version)
}

/// `db_bench --version` of `exe`, or why it cannot say.
pub fn version_of(exe: &Path) -> Result<String> {
    let out = duct::cmd!(exe, "--version")
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .with_context(|| format!("running {} --version", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("version"))
        .with_context(|| format!("{} --version printed no version: {text}", exe.display()))?;
    Ok(line.trim().to_owned())
}

/// The same-version db_bench, when it has been built.
pub fn find_built(ws: &Workspace) -> Result<Option<DbBenchInfo>> {
    let (krate, source) = linked_source(ws)?;
    let version = source_version(&source)?;
    let exe = cache_dir(&version).join("db_bench");
    if !exe.is_file() {
        return Ok(None);
    }
    Ok(Some(DbBenchInfo {
        version: version_of(&exe)?,
        path: exe,
        origin: origin(&krate),
    }))
}

fn origin(krate: &str) -> String {
    format!(
        "built by `cargo xtask db-bench build` from librocksdb-sys {krate}'s source \
         (DEBUG_LEVEL=0, PORTABLE=1, LZ4 + Zstandard, system malloc, clang)"
    )
}

/// Builds db_bench from the linked source (or says where the existing build is).
pub fn build(ws: &Workspace, jobs: usize, force: bool) -> Result<DbBenchInfo> {
    let (krate, source) = linked_source(ws)?;
    let version = source_version(&source)?;
    let dir = cache_dir(&version);
    let exe = dir.join("db_bench");
    if exe.is_file() && !force {
        eprintln!(
            "==> db_bench {version} is already built: {} (--force rebuilds)",
            exe.display()
        );
        return Ok(DbBenchInfo {
            version: version_of(&exe)?,
            path: exe,
            origin: origin(&krate),
        });
    }
    let missing: Vec<&str> = BUILD_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !duct::cmd!("dpkg", "-s", p)
                .stdout_null()
                .stderr_null()
                .unchecked()
                .run()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if !missing.is_empty() {
        bail!(
            "building db_bench needs {}: `sudo apt-get install -y {}` or `cargo xtask doctor --fix`",
            missing.join(", "),
            missing.join(" ")
        );
    }
    // A copy: the Makefile writes objects and make_config.mk into its own tree, and cargo's
    // registry must stay as cargo unpacked it.
    let src = dir.join("src");
    if !src.join("Makefile").is_file() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        eprintln!(
            "==> copying RocksDB {version} from {} to {}",
            source.display(),
            src.display()
        );
        let partial = dir.join("src.partial");
        let _ = std::fs::remove_dir_all(&partial);
        duct::cmd!("cp", "-a", &source, &partial)
            .run()
            .with_context(|| format!("copying {}", source.display()))?;
        std::fs::rename(&partial, &src)?;
    }
    eprintln!(
        "==> make db_bench (RocksDB {version}, {jobs} jobs): about as long as the test build's \
         RocksDB, 10-15 minutes on 2 cores cold"
    );
    let mut cmd = duct::cmd!(
        "make",
        format!("-j{jobs}"),
        "db_bench",
        "DEBUG_LEVEL=0",
        "LIB_MODE=static",
        "PORTABLE=1",
        // RocksDB builds with -Werror, and each compiler release finds new warnings in a
        // fixed source (clang 14 stops at util/compression.cc's unused parameter).
        "DISABLE_WARNING_AS_ERROR=1",
        // A copy built with other parameters (an older xtask's) is cleaned, not mixed in.
        "AUTO_CLEAN=1"
    )
    .dir(&src)
    .env("CC", "clang")
    .env("CXX", "clang++")
    .env("ROCKSDB_DISABLE_SNAPPY", "1")
    .env("ROCKSDB_DISABLE_ZLIB", "1")
    .env("ROCKSDB_DISABLE_BZIP", "1")
    .env("ROCKSDB_DISABLE_JEMALLOC", "1")
    .env("ROCKSDB_DISABLE_TCMALLOC", "1")
    .env("ROCKSDB_DISABLE_NUMA", "1")
    .env("ROCKSDB_USE_IO_URING", "0")
    .env("ROCKSDB_DISABLE_MEMKIND", "1");
    if let Some(ccache) = crate::cargo::ccache_dir() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![ccache];
        dirs.extend(std::env::split_paths(&path));
        cmd = cmd.env("PATH", std::env::join_paths(dirs)?);
    }
    let status = cmd.unchecked().run().context("running make")?.status;
    if !status.success() {
        bail!(
            "make db_bench failed ({status}) in {}; the output above says why",
            src.display()
        );
    }
    let built = src.join("db_bench");
    std::fs::copy(&built, &exe)
        .with_context(|| format!("copying {} to {}", built.display(), exe.display()))?;
    let info = DbBenchInfo {
        version: version_of(&exe)?,
        path: exe,
        origin: origin(&krate),
    };
    if !info.version.contains(&version) {
        bail!(
            "{} reports {:?}, not RocksDB {version}",
            info.path.display(),
            info.version
        );
    }
    eprintln!("==> {}: {}", info.path.display(), info.version);
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_version_h() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("include/rocksdb")).unwrap();
        std::fs::write(
            dir.path().join("include/rocksdb/version.h"),
            "#pragma once\n#define ROCKSDB_MAJOR 11\n#define ROCKSDB_MINOR 8\n#define ROCKSDB_PATCH 1\n",
        )
        .unwrap();
        assert_eq!(source_version(dir.path()).unwrap(), "11.8.1");
        std::fs::write(
            dir.path().join("include/rocksdb/version.h"),
            "#define ROCKSDB_MAJOR 11\n",
        )
        .unwrap();
        let e = source_version(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("version.h") && e.contains("ROCKSDB_MINOR"),
            "{e}"
        );
    }
}
