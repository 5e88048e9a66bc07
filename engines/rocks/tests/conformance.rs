//! The conformance suite on RocksDB with the `default` options profile.

fn main() {
    engine_conformance::Suite::<engine_rocks::RocksEngine>::new("rocks").run();
}
