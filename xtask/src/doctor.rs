//! `cargo xtask doctor`: checks what the suites need, and installs what is missing.

use anyhow::Result;

/// One requirement: how to check it, and where it comes from.
struct Check {
    what: &'static str,
    why: &'static str,
    present: fn() -> bool,
    /// The Debian packages that provide it (`apt-get install`), or "".
    debian: &'static str,
    /// The crate that provides it (`cargo install --locked`), or "".
    cargo_install: &'static str,
    /// The Python requirement that provides it (`python3 -m pip install`), or "".
    pip: &'static str,
    /// Whether the test suites need it (optional tools only speed things up or serve one
    /// command).
    required: bool,
}

fn has_command(cmd: &str) -> bool {
    duct::cmd!("sh", "-c", format!("command -v {cmd}"))
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn has_libclang() -> bool {
    let dirs = [
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ];
    let found_in = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libclang"))
    };
    dirs.iter().any(|d| {
        let d = std::path::Path::new(d);
        found_in(d)
            || std::fs::read_dir(d)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    e.file_name().to_string_lossy().starts_with("llvm-")
                        && found_in(&e.path().join("lib"))
                })
    })
}

const CHECKS: [Check; 11] = [
    Check {
        what: "cargo",
        why: "builds everything",
        present: || has_command("cargo"),
        debian: "",
        cargo_install: "",
        pip: "",
        required: true,
    },
    Check {
        what: "clang",
        why: "RocksDB's bindgen",
        present: || has_command("clang"),
        debian: "clang",
        cargo_install: "",
        pip: "",
        required: true,
    },
    Check {
        what: "libclang",
        why: "RocksDB's bindgen loads it at build time",
        present: has_libclang,
        debian: "libclang-dev",
        cargo_install: "",
        pip: "",
        required: true,
    },
    Check {
        what: "libfiu",
        why: "system-call fault injection for RocksDB's faults suite (fiu-run, fiu-ctrl)",
        present: || has_command("fiu-run") && has_command("fiu-ctrl"),
        debian: "fiu-utils libfiu-dev",
        cargo_install: "",
        pip: "",
        required: true,
    },
    Check {
        what: "fuse",
        why: "the power-loss file system of the powerloss suite (/dev/fuse, fusermount3; skipped without)",
        present: || std::path::Path::new("/dev/fuse").exists() && has_command("fusermount3"),
        debian: "fuse3",
        cargo_install: "",
        pip: "",
        required: false,
    },
    Check {
        what: "ccache",
        why: "RocksDB's C++ from cache when a build script re-runs (xtask puts it on PATH)",
        present: || crate::cargo::ccache_dir().is_some(),
        debian: "ccache",
        cargo_install: "",
        pip: "",
        required: false,
    },
    Check {
        what: "db_bench",
        why: "RocksDB's own benchmark, for `cargo xtask bench --db-bench` (optional)",
        present: || has_command("db_bench"),
        debian: "rocksdb-tools",
        cargo_install: "",
        pip: "",
        required: false,
    },
    Check {
        what: "db_bench deps",
        why: "gflags, LZ4 and Zstandard headers, for `cargo xtask db-bench build` (optional)",
        present: || {
            crate::bench::db_bench_build::BUILD_PACKAGES
                .iter()
                .all(|p| {
                    duct::cmd!("dpkg", "-s", p)
                        .stdout_null()
                        .stderr_null()
                        .unchecked()
                        .run()
                        .is_ok_and(|o| o.status.success())
                })
        },
        debian: "libgflags-dev liblz4-dev libzstd-dev",
        cargo_install: "",
        pip: "",
        required: false,
    },
    Check {
        what: "mdbook",
        why: "builds the contributor guide; test-all checks its links (optional)",
        present: crate::docs::has_mdbook,
        debian: "",
        cargo_install: "mdbook",
        pip: "",
        required: false,
    },
    Check {
        what: "cargo-hakari",
        why: "keeps workspace-hack/ current (the tidy test checks it; optional)",
        present: || {
            duct::cmd!("cargo", "hakari", "--version")
                .stdout_null()
                .stderr_null()
                .unchecked()
                .run()
                .is_ok_and(|o| o.status.success())
        },
        debian: "",
        cargo_install: "cargo-hakari",
        pip: "",
        required: false,
    },
    Check {
        what: "moto",
        why: "a local S3 API server for slatedb's s3 suite (skipped without, failed under CI=true)",
        present: || has_command("moto_server"),
        debian: "",
        cargo_install: "",
        pip: MOTO_REQUIREMENT,
        required: false,
    },
];

/// The moto release line the s3 suite is written against (server mode, S3 conditional PUTs).
/// `.ci/run` installs the same requirement; a tidy test keeps the two equal.
pub const MOTO_REQUIREMENT: &str = "moto[server]>=5.1,<6";

/// Runs the checks. With `fix` (or under `CI=true`), installs missing Debian packages when
/// running as root with apt-get, and missing cargo tools with `cargo install --locked`;
/// otherwise prints the commands. Returns whether all required checks pass.
pub fn run(fix: bool) -> Result<bool> {
    let fix = fix || std::env::var("CI").is_ok_and(|v| v == "true");
    let mut missing_apt = Vec::new();
    let mut missing_cargo = Vec::new();
    let mut missing_pip = Vec::new();
    for c in &CHECKS {
        let ok = (c.present)();
        eprintln!(
            "  [{}] {:<12} {}",
            if ok { " ok " } else { "MISS" },
            c.what,
            c.why
        );
        if !ok && !c.debian.is_empty() {
            missing_apt.push(c.debian);
        }
        if !ok && !c.cargo_install.is_empty() {
            missing_cargo.push(c.cargo_install);
        }
        if !ok && !c.pip.is_empty() {
            missing_pip.push(c.pip);
        }
    }
    let required_ok = || CHECKS.iter().filter(|c| c.required).all(|c| (c.present)());
    if missing_apt.is_empty() && missing_cargo.is_empty() && missing_pip.is_empty() {
        return Ok(true);
    }
    let root = duct::cmd!("id", "-u")
        .read()
        .map(|u| u.trim() == "0")
        .unwrap_or(false);
    if !missing_apt.is_empty() {
        if fix && root && has_command("apt-get") {
            eprintln!("doctor: installing: {}", missing_apt.join(" "));
            duct::cmd!("apt-get", "update", "-qq").run()?;
            let mut args = vec!["install", "-y", "-qq"];
            args.extend(missing_apt.iter().flat_map(|p| p.split_whitespace()));
            duct::cmd("apt-get", args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .run()?;
        } else {
            eprintln!(
                "doctor: missing packages; run:\n    sudo apt-get install -y {}\n  or `cargo xtask doctor --fix` as root",
                missing_apt.join(" ")
            );
        }
    }
    if !missing_cargo.is_empty() {
        if fix {
            for krate in &missing_cargo {
                eprintln!("doctor: cargo install --locked {krate}");
                let ok = duct::cmd!(crate::cargo::program(), "install", "--locked", krate)
                    .unchecked()
                    .run()
                    .is_ok_and(|o| o.status.success());
                if !ok {
                    eprintln!("doctor: installing {krate} failed (optional; continuing)");
                }
            }
        } else {
            eprintln!(
                "doctor: optional tools missing; run:\n    cargo install --locked {}\n  or `cargo xtask doctor --fix`",
                missing_cargo.join(" ")
            );
        }
    }
    if !missing_pip.is_empty() {
        if fix && has_command("python3") {
            for req in &missing_pip {
                eprintln!("doctor: python3 -m pip install '{req}'");
                let ok = duct::cmd!("python3", "-m", "pip", "install", "--quiet", req)
                    .unchecked()
                    .run()
                    .is_ok_and(|o| o.status.success());
                if !ok {
                    eprintln!("doctor: installing {req} failed (optional; continuing)");
                }
            }
        } else {
            let quoted: Vec<String> = missing_pip.iter().map(|r| format!("'{r}'")).collect();
            eprintln!(
                "doctor: optional Python tools missing; run:\n    python3 -m pip install {}\n  or `cargo xtask doctor --fix`",
                quoted.join(" ")
            );
        }
    }
    Ok(required_ok())
}

/// Debian packages only benchmarks need (db_bench and its build), which `.ci/run` leaves out.
pub const BENCH_ONLY_PACKAGES: [&str; 4] = [
    "rocksdb-tools",
    "libgflags-dev",
    "liblz4-dev",
    "libzstd-dev",
];

/// The Debian packages doctor installs, for the tidy test that keeps `.ci/run` and the
/// workflows installing the same ones.
pub fn debian_packages() -> Vec<&'static str> {
    CHECKS
        .iter()
        .flat_map(|c| c.debian.split_whitespace())
        .collect()
}
