//! The benchmark binary for this engine (see `engine_bench`): under `cargo test` it runs every
//! workload tiny and checks every figure; `cargo xtask bench --engines lmdb,rocks` measures it.
//! Write amplification is reported unavailable: LMDB counts no bytes written (see the docs).

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_lmdb::LmdbEngine>("lmdb", |c| c)
        .run();
}
