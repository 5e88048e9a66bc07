//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`); the
//! catalog's crash sites (`lmdb::commit`, `lmdb::after_commit`) get trials of their own.

fn main() {
    failpoints::crash::main::<engine_lmdb::LmdbEngine>("lmdb", env!("CARGO_MANIFEST_DIR"), |c| c);
}
