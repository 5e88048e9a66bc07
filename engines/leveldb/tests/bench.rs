//! The benchmark binary for this engine (see `engine_bench`). Like the conformance target it
//! has `test = false` until the engine works: every cell fails with "not supported" now.
//! `cargo xtask bench --engines <name>` measures it once it runs.

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_leveldb::LeveldbEngine>("leveldb", |c| c)
        .run();
}
