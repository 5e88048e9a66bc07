//! `failpoints`: fault injection and crash recovery for any engine.
//!
//! # What it is for
//! - **Plugin catalog** ([`FailpointSite`]): each engine publishes where its failpoints sit
//!   and what they simulate, so engine-agnostic scenarios can use whatever an engine offers.
//!   The mechanism in Rust code is the `fail` crate (`fail_point!`, compiled in only with an
//!   engine's `failpoints` feature; `FAILPOINTS="name=action;..."` for child processes).
//! - **Crash harness** ([`crash`]): a child process runs a seeded workload on one engine and
//!   records each acknowledged write; the parent kills it with SIGKILL at a random moment,
//!   reopens the engine and checks that every acknowledged synced write is there, that every
//!   batch is all or nothing, that the state is a prefix of the history, and that the engine
//!   takes writes again. An engine crate runs it from `tests/crash.rs` (`harness = false`).
//!
//! # What it is not for
//! It knows no engine: engines depend on it (as a dev-dependency), never the reverse.
#![deny(missing_docs)]

pub mod crash;
pub mod scenarios;

/// One entry of an engine's published catalog, read from its `Cargo.toml`
/// (`[[package.metadata.workbench.failpoints]]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The site's name.
    pub name: String,
    /// What it simulates: `io_error`, `crash`, `delay`, `skipped_step`.
    pub simulates: Vec<String>,
}

/// Reads the failpoint catalog of the crate in `manifest_dir` (pass
/// `env!("CARGO_MANIFEST_DIR")`). Only `fail` sites (names with `::`) are returned: libfiu
/// points need a process of their own and have scenarios of their own.
pub fn catalog(manifest_dir: &str) -> Vec<CatalogEntry> {
    let text = std::fs::read_to_string(std::path::Path::new(manifest_dir).join("Cargo.toml"))
        .unwrap_or_default();
    text.split("[[package.metadata.workbench.failpoints]]")
        .skip(1)
        .filter_map(|entry| {
            let entry = entry.split("\n[").next().unwrap_or(entry);
            let value = |key: &str| {
                entry.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix(key)?
                        .trim()
                        .strip_prefix('=')
                        .map(|v| v.trim().to_owned())
                })
            };
            let name = value("name")?.trim_matches('"').to_owned();
            let simulates = value("simulates")
                .unwrap_or_default()
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            name.contains("::")
                .then_some(CatalogEntry { name, simulates })
        })
        .collect()
}

/// What a failpoint simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simulates {
    /// An I/O error returned to the caller.
    IoError,
    /// The process dying at that point (`panic`, or an abort).
    Crash,
    /// A slow device (`sleep`).
    Delay,
    /// A step silently skipped (a deliberate bug, to prove a suite catches it).
    SkippedStep,
}

/// One failpoint an engine publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailpointSite {
    /// The `fail_point!` name, e.g. `titan::blob::fsync`.
    pub name: &'static str,
    /// Where it sits, in words.
    pub location: &'static str,
    /// What configuring it simulates.
    pub simulates: &'static [Simulates],
}
