//! The memory engine's failpoint: an injected error at the write path applies nothing.

use engine_memory::MemoryEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, Readable, WriteBatch, WriteOptions,
};

#[test]
fn an_injected_write_error_applies_nothing_and_the_engine_recovers() {
    let scenario = fail::FailScenario::setup();
    let e = MemoryEngine::open(&EngineConfig::new("unused")).unwrap();
    e.put(CF_DEFAULT, b"before", b"1").unwrap();
    fail::cfg("memory::write", "return").unwrap();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"x").unwrap();
    b.put(CF_LOCK, b"b", b"y").unwrap();
    let err = e.write(&WriteOptions::default(), &b).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(
        e.put(CF_DEFAULT, b"c", b"z").unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("memory::write");
    assert_eq!(
        e.get(CF_DEFAULT, b"a").unwrap(),
        None,
        "a failed batch applies nothing"
    );
    assert_eq!(e.get(CF_LOCK, b"b").unwrap(), None);
    assert_eq!(
        e.get(CF_DEFAULT, b"before").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    e.write(&WriteOptions::default(), &b).unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b").unwrap().as_deref(),
        Some(&b"y"[..]),
        "writes work again"
    );
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let report = failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<
        engine_memory::MemoryEngine,
    >(env!("CARGO_MANIFEST_DIR"), |c| c)
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}
