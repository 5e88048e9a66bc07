//! The conformance suite on the redb engine.

fn main() {
    engine_conformance::Suite::<engine_redb::RedbEngine>::new("redb").run();
}
