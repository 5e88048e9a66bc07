//! SlateDB's failpoints: an injected error in the wrapper's write path applies nothing and
//! the engine takes writes again; object-store PUTs that fail make writes fail with `Io` and
//! lose nothing acknowledged; a burst of retryable 503s only delays writes. The
//! engine-agnostic scenario runs over the whole catalog.
//!
//! The failpoints are process-wide, so the tests of this file take turns (`SERIAL`).

use std::sync::Mutex;

use engine_slatedb::SlatedbEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, OpBatch, Readable, WriteBatch,
    WriteOptions,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn batch_of_two(e: &SlatedbEngine, tag: &str) -> OpBatch {
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, format!("a-{tag}").as_bytes(), b"x")
        .unwrap();
    b.put(CF_LOCK, format!("b-{tag}").as_bytes(), b"y").unwrap();
    b
}

#[test]
fn an_injected_write_error_applies_nothing_and_the_engine_recovers() {
    let _serial = serial();
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = SlatedbEngine::open(&config).unwrap();
    e.put(CF_DEFAULT, b"before", b"1").unwrap();
    for site in ["slatedb::write", "slatedb::before_commit"] {
        fail::cfg(site, "return").unwrap();
        let err = e
            .write(&WriteOptions::sync(), &batch_of_two(&e, "t"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
        assert!(err.to_string().contains(site), "{err}");
        let err = e.delete_range(CF_DEFAULT, b"a", b"z").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
        fail::remove(site);
        assert_eq!(e.get(CF_DEFAULT, b"a-t").unwrap(), None, "{site}");
        assert_eq!(e.get(CF_LOCK, b"b-t").unwrap(), None, "{site}");
        assert_eq!(
            e.get(CF_DEFAULT, b"before").unwrap().as_deref(),
            Some(&b"1"[..]),
            "{site}: the failed delete_range deleted nothing"
        );
    }
    drop(e);
    let e = SlatedbEngine::open(&config).unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b-t").unwrap(),
        None,
        "a failed write is absent after a reopen too"
    );
    e.write(&WriteOptions::default(), &batch_of_two(&e, "t"))
        .unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b-t").unwrap().as_deref(),
        Some(&b"y"[..]),
        "writes work again"
    );
    scenario.teardown();
}

#[test]
fn injected_flush_and_compaction_errors_are_io_and_change_nothing() {
    let _serial = serial();
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = SlatedbEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    e.put(CF_DEFAULT, b"k", b"v").unwrap();
    fail::cfg("slatedb::flush", "return").unwrap();
    assert_eq!(e.flush().unwrap_err().kind(), ErrorKind::Io);
    fail::remove("slatedb::flush");
    fail::cfg("slatedb::compaction", "return").unwrap();
    let c = e.as_manual_compaction().unwrap();
    assert_eq!(
        c.compact_range(CF_DEFAULT, None, None).unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("slatedb::compaction");
    e.flush().unwrap();
    c.compact_range(CF_DEFAULT, None, None).unwrap();
    assert_eq!(e.get(CF_DEFAULT, b"k").unwrap().as_deref(), Some(&b"v"[..]));
    scenario.teardown();
}

/// Object-store PUTs start failing in the middle of a run of synced batches: the writes from
/// then on fail with `Io` (SlateDB closes the database on a failed WAL upload), and after a
/// reopen with the store healthy every acknowledged batch is there, whole, and a failed one
/// is there whole or not at all.
#[test]
fn failing_object_store_puts_fail_writes_with_io_and_lose_nothing_acknowledged() {
    let _serial = serial();
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = SlatedbEngine::open(&config).unwrap();
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    for i in 0..30 {
        if i == 12 {
            fail::cfg("slatedb::store::put", "return").unwrap();
        }
        let tag = i.to_string();
        match e.write(&WriteOptions::sync(), &batch_of_two(&e, &tag)) {
            Ok(()) => acked.push(tag),
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::Io, "batch {i}: {err}");
                failed.push(tag);
            }
        }
    }
    assert_eq!(
        acked.len(),
        12,
        "every batch before the fault is acknowledged"
    );
    assert_eq!(failed.len(), 18, "every batch from the fault on fails");
    let err = e.get(CF_DEFAULT, b"a-0").unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Io,
        "the failed database refuses reads until reopened: {err}"
    );
    fail::remove("slatedb::store::put");
    drop(e);
    let e = SlatedbEngine::open(&config).unwrap();
    for tag in &acked {
        assert_eq!(
            e.get(CF_DEFAULT, format!("a-{tag}").as_bytes())
                .unwrap()
                .as_deref(),
            Some(&b"x"[..]),
            "acknowledged batch {tag}"
        );
        assert_eq!(
            e.get(CF_LOCK, format!("b-{tag}").as_bytes())
                .unwrap()
                .as_deref(),
            Some(&b"y"[..]),
            "acknowledged batch {tag}, second CF"
        );
    }
    for tag in &failed {
        let a = e.get(CF_DEFAULT, format!("a-{tag}").as_bytes()).unwrap();
        let b = e.get(CF_LOCK, format!("b-{tag}").as_bytes()).unwrap();
        assert_eq!(
            a.is_some(),
            b.is_some(),
            "failed batch {tag} is all or nothing"
        );
    }
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"after", b"ok")
        .unwrap();
    scenario.teardown();
}

/// A few retryable 503s on PUT: SlateDB's retry layer retries them, the synced write
/// succeeds late, and the requests show the retries.
#[test]
fn a_burst_of_503s_on_put_only_delays_a_synced_write() {
    let _serial = serial();
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = SlatedbEngine::open(&config).unwrap();
    let before = e.object_store_requests();
    fail::cfg("slatedb::store::put", "3*return(503)").unwrap();
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"k", b"late")
        .unwrap();
    fail::remove("slatedb::store::put");
    let after = e.object_store_requests();
    assert!(
        after.puts >= before.puts + 4,
        "three failed PUTs and the one that succeeded: {before:?} -> {after:?}"
    );
    drop(e);
    let e = SlatedbEngine::open(&config).unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"k").unwrap().as_deref(),
        Some(&b"late"[..])
    );
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let _serial = serial();
    let report = failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<
        SlatedbEngine,
    >(env!("CARGO_MANIFEST_DIR"), |c| c)
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}
