//! The wrapper's failpoints: an injected error applies nothing, and the engine works after.

use engine_lmdb::LmdbEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, Readable, WriteBatch, WriteOptions,
};

fn batch(e: &LmdbEngine) -> engine_traits::OpBatch {
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"x").unwrap();
    b.put(CF_LOCK, b"b", b"y").unwrap();
    b.delete(CF_DEFAULT, b"before").unwrap();
    b
}

/// Arms `site`, requires a synced batch to fail with `Io` and leave nothing (also after a
/// reopen), then disarms it and requires the same batch to apply.
fn an_injected_error_at(site: &str) {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = LmdbEngine::open(&config).unwrap();
    e.put(CF_DEFAULT, b"before", b"1").unwrap();
    fail::cfg(site, "return").unwrap();
    let b = batch(&e);
    let err = e.write(&WriteOptions::sync(), &b).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
    assert!(
        err.to_string().contains(site),
        "the error names the failpoint: {err}"
    );
    assert_eq!(
        e.put(CF_DEFAULT, b"c", b"z").unwrap_err().kind(),
        ErrorKind::Io,
        "{site}: a single put fails too"
    );
    fail::remove(site);
    for (cf, key) in [(CF_DEFAULT, &b"a"[..]), (CF_LOCK, b"b"), (CF_DEFAULT, b"c")] {
        assert_eq!(
            e.get(cf, key).unwrap(),
            None,
            "{site}: a failed write applies nothing"
        );
    }
    assert_eq!(
        e.get(CF_DEFAULT, b"before").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    drop(e);
    let e = LmdbEngine::open(&config).unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b").unwrap(),
        None,
        "{site}: nothing after reopen"
    );
    e.write(&WriteOptions::sync(), &b).unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b").unwrap().as_deref(),
        Some(&b"y"[..]),
        "{site}: writes work again"
    );
    assert_eq!(e.get(CF_DEFAULT, b"before").unwrap(), None);
    scenario.teardown();
}

// The sites share the process-wide failpoint registry, so they run in one test, in turn.
#[test]
fn an_injected_write_error_applies_nothing_and_the_engine_recovers() {
    an_injected_error_at("lmdb::write");
    an_injected_error_at("lmdb::commit");
}

#[test]
fn an_injected_sync_error_is_io_and_keeps_the_data() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = LmdbEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    e.put(CF_DEFAULT, b"k", b"v").unwrap();
    fail::cfg("lmdb::sync", "return").unwrap();
    assert_eq!(e.sync().unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(e.flush().unwrap_err().kind(), ErrorKind::Io);
    fail::remove("lmdb::sync");
    e.sync().unwrap();
    assert_eq!(e.get(CF_DEFAULT, b"k").unwrap().as_deref(), Some(&b"v"[..]));
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let report =
        failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<LmdbEngine>(
            env!("CARGO_MANIFEST_DIR"),
            |c| c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}
