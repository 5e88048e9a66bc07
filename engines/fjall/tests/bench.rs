//! The benchmark binary for `fjall` (see `engine_bench`): a test of every figure under
//! `cargo test`, one measured cell under `cargo xtask bench`.

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_fjall::FjallEngine>("fjall", |c| c)
        .run();
}
