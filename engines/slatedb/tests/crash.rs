//! The crash-recovery suite: SIGKILL a writer (or cut the power under it with
//! `CRASH_MODE=power-loss`), reopen, check (see `failpoints::crash`).

fn main() {
    failpoints::crash::main::<engine_slatedb::SlatedbEngine>(
        "slatedb",
        env!("CARGO_MANIFEST_DIR"),
        |c| c,
    );
}
