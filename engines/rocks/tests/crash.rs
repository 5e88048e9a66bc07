//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`).

fn main() {
    failpoints::crash::main::<engine_rocks::RocksEngine>(
        "rocks",
        env!("CARGO_MANIFEST_DIR"),
        |c| c,
    );
}
