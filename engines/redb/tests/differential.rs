//! The same seeded operation sequences on a reference engine and on redb must give
//! identical observations (`engine_conformance::metamorphic::assert_same_observations`). Two
//! references: the memory engine, the executable model (no reopens: it does not persist), and
//! RocksDB, a production LSM whose semantics TiKV relies on (both persist: with reopens).

use engine_conformance::metamorphic::assert_same_observations;

#[test]
fn memory_and_redb_observe_the_same_sequences() {
    assert_same_observations::<engine_memory::MemoryEngine, engine_redb::RedbEngine>();
}

#[test]
fn rocks_and_redb_observe_the_same_sequences_across_reopens() {
    assert_same_observations::<engine_rocks::RocksEngine, engine_redb::RedbEngine>();
}
