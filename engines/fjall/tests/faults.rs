//! fjall's failpoints: an injected error at the write path applies nothing, and the engine
//! takes writes again afterwards; the engine-agnostic scenario runs over the whole catalog.

use engine_fjall::FjallEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, Readable, WriteBatch, WriteOptions,
};

fn batch_of_two(e: &FjallEngine) -> engine_traits::OpBatch {
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"x").unwrap();
    b.put(CF_LOCK, b"b", b"y").unwrap();
    b
}

#[test]
fn an_injected_write_error_applies_nothing_and_the_engine_recovers() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = FjallEngine::open(&config).unwrap();
    e.put(CF_DEFAULT, b"before", b"1").unwrap();
    for site in ["fjall::write", "fjall::before_commit"] {
        fail::cfg(site, "return").unwrap();
        let b = batch_of_two(&e);
        let err = e.write(&WriteOptions::sync(), &b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
        assert!(err.to_string().contains(site), "{err}");
        let err = e.delete_range(CF_DEFAULT, b"a", b"z").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
        fail::remove(site);
        assert_eq!(
            e.get(CF_DEFAULT, b"a").unwrap(),
            None,
            "{site}: nothing applied"
        );
        assert_eq!(
            e.get(CF_LOCK, b"b").unwrap(),
            None,
            "{site}: nothing applied"
        );
        assert_eq!(
            e.get(CF_DEFAULT, b"before").unwrap().as_deref(),
            Some(&b"1"[..]),
            "{site}: the failed delete_range deleted nothing"
        );
    }
    drop(e);
    let e = FjallEngine::open(&config).unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b").unwrap(),
        None,
        "a failed write is absent after a reopen too"
    );
    e.write(&WriteOptions::default(), &batch_of_two(&e))
        .unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b").unwrap().as_deref(),
        Some(&b"y"[..]),
        "writes work again"
    );
    scenario.teardown();
}

#[test]
fn injected_flush_and_compaction_errors_are_io_and_change_nothing() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = FjallEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    e.put(CF_DEFAULT, b"k", b"v").unwrap();
    fail::cfg("fjall::flush", "return").unwrap();
    assert_eq!(e.flush().unwrap_err().kind(), ErrorKind::Io);
    fail::remove("fjall::flush");
    fail::cfg("fjall::compaction", "return").unwrap();
    let c = e.as_manual_compaction().unwrap();
    assert_eq!(
        c.compact_range(CF_DEFAULT, None, None).unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("fjall::compaction");
    e.flush().unwrap();
    c.compact_range(CF_DEFAULT, None, None).unwrap();
    assert_eq!(e.get(CF_DEFAULT, b"k").unwrap().as_deref(), Some(&b"v"[..]));
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let report =
        failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<FjallEngine>(
            env!("CARGO_MANIFEST_DIR"),
            |c| c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}
