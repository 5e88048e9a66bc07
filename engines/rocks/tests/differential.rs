//! The same seeded operation sequences on the memory engine and on RocksDB must give identical
//! observations: the memory engine is the executable reference for rocks (no reopens: it does
//! not persist; the conformance suite's metamorphic layer covers rocks' reopens).

use engine_conformance::metamorphic::assert_same_observations;

#[test]
fn memory_and_rocks_observe_the_same_sequences() {
    assert_same_observations::<engine_memory::MemoryEngine, engine_rocks::RocksEngine>();
}
