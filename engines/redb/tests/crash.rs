//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`). Besides
//! the kill cycles, every catalog site that simulates a crash (`redb::commit`,
//! `redb::backend::write`, `redb::backend::sync`) gets cycles in which the child aborts there,
//! in the middle of a commit's page writes or before its fsync.

fn main() {
    failpoints::crash::main::<engine_redb::RedbEngine>("redb", env!("CARGO_MANIFEST_DIR"), |c| c);
}
