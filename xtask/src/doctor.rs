//! `cargo xtask doctor`: checks what the suites need, and installs what is missing.

use anyhow::Result;

/// One requirement: how to check it, and the Debian package that provides it.
struct Check {
    what: &'static str,
    why: &'static str,
    present: fn() -> bool,
    debian: &'static str,
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

const CHECKS: [Check; 6] = [
    Check {
        what: "cargo",
        why: "builds everything",
        present: || has_command("cargo"),
        debian: "",
        required: true,
    },
    Check {
        what: "clang",
        why: "RocksDB's bindgen",
        present: || has_command("clang"),
        debian: "clang",
        required: true,
    },
    Check {
        what: "libclang",
        why: "RocksDB's bindgen loads it at build time",
        present: has_libclang,
        debian: "libclang-dev",
        required: true,
    },
    Check {
        what: "libfiu",
        why: "system-call fault injection for RocksDB's faults suite (fiu-run, fiu-ctrl)",
        present: || has_command("fiu-run") && has_command("fiu-ctrl"),
        debian: "fiu-utils libfiu-dev",
        required: true,
    },
    Check {
        what: "ccache",
        why: "makes RocksDB's C++ rebuilds cache hits (optional)",
        present: || has_command("ccache"),
        debian: "ccache",
        required: false,
    },
    Check {
        what: "db_bench",
        why: "RocksDB's own benchmark, for `cargo xtask bench --db-bench` (optional)",
        present: || has_command("db_bench"),
        debian: "rocksdb-tools",
        required: false,
    },
];

/// Runs the checks. With `fix` (or under `CI=true`), installs missing Debian packages when
/// running as root with apt-get; otherwise prints the command. Returns whether all required
/// checks pass (ccache and db_bench are optional).
pub fn run(fix: bool) -> Result<bool> {
    let fix = fix || std::env::var("CI").is_ok_and(|v| v == "true");
    let mut missing = Vec::new();
    for c in &CHECKS {
        let ok = (c.present)();
        eprintln!(
            "  [{}] {:<9} {}",
            if ok { " ok " } else { "MISS" },
            c.what,
            c.why
        );
        if !ok && !c.debian.is_empty() {
            missing.push(c.debian);
        }
    }
    if missing.is_empty() {
        return Ok(true);
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    let root = duct::cmd!("id", "-u")
        .read()
        .map(|u| u.trim() == "0")
        .unwrap_or(false);
    if fix && root && has_command("apt-get") {
        eprintln!("doctor: installing: {}", missing.join(" "));
        duct::cmd!("apt-get", "update", "-qq").run()?;
        let mut args = vec!["install", "-y", "-qq"];
        args.extend(missing.iter().flat_map(|p| p.split_whitespace()));
        duct::cmd("apt-get", args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()?;
        return Ok(CHECKS.iter().filter(|c| c.required).all(|c| (c.present)()));
    }
    eprintln!(
        "doctor: missing packages; run:\n    sudo {install}\n  or `cargo xtask doctor --fix` as root"
    );
    Ok(CHECKS.iter().filter(|c| c.required).all(|c| (c.present)()))
}
