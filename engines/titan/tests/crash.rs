//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`).
//!
//! Titan runs it under `tests/gc-stress.yaml`: blob files of 32 KiB and a space
//! amplification target of 1.1 keep GC running beside the writer, so kills and power cuts
//! land in GC passes (scans, rewrites, commits, deletions) too, and the `titan::gc::*`
//! crash sites are reached.

const GC_STRESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gc-stress.yaml");

fn main() {
    failpoints::crash::main::<engine_titan::TitanEngine>(
        "titan",
        env!("CARGO_MANIFEST_DIR"),
        |c| engine_traits::EngineConfig {
            profile: Some(GC_STRESS.to_owned()),
            ..c
        },
    );
}
