//! The conformance suite on this engine: your checklist while you implement it.

fn main() {
    engine_conformance::Suite::<engine_leveldb::LeveldbEngine>::new("leveldb").run();
}
