//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`); the
//! catalog's crash sites (`leveldb::fsync`, `leveldb::rename`, `leveldb::after_write`) get
//! trials of their own. `CRASH_MODE=power-loss` runs the same checks under power cuts.

fn main() {
    failpoints::crash::main::<engine_leveldb::LeveldbEngine>(
        "leveldb",
        env!("CARGO_MANIFEST_DIR"),
        |c| c,
    );
}
