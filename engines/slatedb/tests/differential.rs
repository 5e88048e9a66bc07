//! The same seeded operation sequences on the memory engine and on SlateDB must give
//! identical observations: the memory engine is the executable reference.

use engine_conformance::metamorphic::{Plan, differential};
use engine_traits::EngineConfig;

#[test]
fn memory_and_slatedb_observe_the_same_sequences() {
    // No reopen: the memory engine does not persist.
    let plan = Plan {
        seeds: vec![],
        ops: 400,
        reopen: false,
        max_value: 8 << 10,
    };
    let config = EngineConfig::new("unused");
    for seed in 100..104 {
        differential::<engine_memory::MemoryEngine, engine_slatedb::SlatedbEngine>(
            &config, &config, &plan, seed,
        )
        .unwrap_or_else(|f| panic!("{f}"));
    }
}

/// RocksDB is the other reference: a production LSM whose semantics TiKV relies on. Both
/// persist, so the sequences include reopens (for SlateDB: a new `Db` over the same object
/// store, replaying the manifest and the WAL objects).
#[test]
fn rocks_and_slatedb_observe_the_same_sequences_across_reopens() {
    let plan = Plan {
        seeds: vec![],
        ops: 400,
        reopen: true,
        max_value: 8 << 10,
    };
    let config = EngineConfig::new("unused");
    for seed in 100..104 {
        differential::<engine_rocks::RocksEngine, engine_slatedb::SlatedbEngine>(
            &config, &config, &plan, seed,
        )
        .unwrap_or_else(|f| panic!("{f}"));
    }
}
