//! redb's failpoints: an injected error at the wrapper's write path applies nothing and the
//! engine takes writes again; an injected error at the file layer fails the write with `Io`,
//! redb then refuses writes until it is reopened, and the reopened file holds every
//! acknowledged write.
//!
//! The failpoint registry is global to the process, so the tests take turns (`serial`).

use std::sync::Mutex;

use engine_redb::RedbEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, Readable, WriteBatch, WriteOptions,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn two_cf_batch(e: &RedbEngine, tag: &[u8]) -> engine_traits::OpBatch {
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", tag).unwrap();
    b.put(CF_LOCK, b"b", tag).unwrap();
    b
}

/// A site in the wrapper fails the write before redb is touched, or aborts the write
/// transaction before its commit: either way nothing is applied, now or after a reopen, and
/// the next write works.
fn wrapper_site_applies_nothing(site: &str) {
    let _serial = serial();
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = RedbEngine::open(&config).unwrap();
    e.put(CF_DEFAULT, b"before", b"1").unwrap();
    fail::cfg(site, "return").unwrap();
    for sync in [false, true] {
        let err = e
            .write(
                &WriteOptions {
                    sync,
                    disable_wal: false,
                },
                &two_cf_batch(&e, b"x"),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
        assert!(
            err.to_string().contains(site),
            "the error names {site}: {err}"
        );
    }
    fail::remove(site);
    assert_eq!(
        e.get(CF_DEFAULT, b"a").unwrap(),
        None,
        "{site}: a failed batch applies nothing"
    );
    assert_eq!(e.get(CF_LOCK, b"b").unwrap(), None);
    e.write(&WriteOptions::default(), &two_cf_batch(&e, b"y"))
        .unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"b").unwrap().as_deref(),
        Some(&b"y"[..]),
        "{site}: writes work again"
    );
    drop(e);
    let e = RedbEngine::open(&config).unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"before").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(e.get(CF_DEFAULT, b"a").unwrap().as_deref(), Some(&b"y"[..]));
    scenario.teardown();
}

#[test]
fn an_injected_error_at_the_start_of_a_write_applies_nothing() {
    wrapper_site_applies_nothing(engine_redb::WRITE_START_SITE);
}

#[test]
fn an_injected_error_before_the_commit_aborts_the_transaction() {
    wrapper_site_applies_nothing(engine_redb::COMMIT_SITE);
}

/// A file-layer failure during a commit: `Io`, the engine refuses writes until reopened, and
/// after the reopen every acknowledged write is there.
fn file_site_fails_with_io_and_keeps_acknowledged(site: &str, must_mention_doubt: bool) {
    let _serial = serial();
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = RedbEngine::open(&config).unwrap();
    e.write(&WriteOptions::sync(), &two_cf_batch(&e, b"acked"))
        .unwrap();
    e.put(CF_DEFAULT, b"unsynced-but-acked", b"1").unwrap();
    fail::cfg(site, "return").unwrap();
    let err = e
        .write(&WriteOptions::sync(), &two_cf_batch(&e, b"failed"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{site}: {err}");
    if must_mention_doubt {
        assert!(
            err.to_string().contains("may or may not be present"),
            "a commit that failed while writing says the batch may or may not be there: {err}"
        );
    }
    fail::remove(site);
    let again = e.put(CF_DEFAULT, b"after", b"1").unwrap_err();
    assert_eq!(
        again.kind(),
        ErrorKind::Io,
        "redb refuses writes after an I/O failure until it is reopened: {again}"
    );
    drop(e);
    let e = RedbEngine::open(&config).unwrap();
    let a = e.get(CF_DEFAULT, b"a").unwrap();
    let b = e.get(CF_LOCK, b"b").unwrap();
    assert_eq!(
        a, b,
        "{site}: the failed batch is all or nothing after the reopen"
    );
    assert!(
        a.as_deref() == Some(&b"acked"[..]) || a.as_deref() == Some(&b"failed"[..]),
        "{site}: the acknowledged synced batch (or the failed one over it) is there: {a:?}"
    );
    e.put(CF_DEFAULT, b"after", b"1").unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"after").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    scenario.teardown();
}

#[test]
fn an_injected_file_write_error_fails_the_commit_with_io() {
    file_site_fails_with_io_and_keeps_acknowledged(engine_redb::WRITE_SITE, true);
}

#[test]
fn an_injected_fsync_error_fails_the_commit_with_io() {
    file_site_fails_with_io_and_keeps_acknowledged(engine_redb::SYNC_SITE, true);
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let _serial = serial();
    let report =
        failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<RedbEngine>(
            env!("CARGO_MANIFEST_DIR"),
            |c| c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.len(), 4, "every site simulates io_error: {report:?}");
    for line in report {
        eprintln!("{line}");
    }
}
