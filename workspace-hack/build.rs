// An empty build script: without one, cargo would ignore this crate's [build-dependencies],
// which carry the host-side (build script and proc-macro) feature unification.
fn main() {}
