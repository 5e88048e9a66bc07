//! The benchmark binary for `template` (see `engine_bench`). Like the conformance target it
//! has `test = false` until the engine works: every cell fails with "not supported" now.

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_template::TemplateEngine>("template", |c| c)
        .run();
}
