//! The benchmark binary for this engine (see `engine_bench`): `cargo xtask bench --engines
//! slatedb` measures it, object-store requests per 1000 operations included (the engine's
//! `Statistics::counters`).

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_slatedb::SlatedbEngine>("slatedb", |c| c)
        .run();
}
