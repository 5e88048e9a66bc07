//! The benchmark binary for `redb` (see `engine_bench`): a test of every figure under
//! `cargo test`, one measured cell under `cargo xtask bench`. Write amplification comes from
//! the bytes redb's storage backend wrote (capability `statistics`).

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_redb::RedbEngine>("redb", |c| c)
        .run();
}
