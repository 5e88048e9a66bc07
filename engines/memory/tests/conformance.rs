//! The conformance suite on the memory engine.

fn main() {
    engine_conformance::Suite::<engine_memory::MemoryEngine>::new("memory").run();
}
