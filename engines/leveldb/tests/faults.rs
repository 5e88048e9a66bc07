//! The failpoint sites: an injected failure applies nothing that was not acknowledged, and
//! the engine either goes on (a failure before anything was applied) or refuses everything
//! until it is reopened (a failure inside rusty-leveldb's write path).

use engine_leveldb::LeveldbEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, Readable, WriteBatch, WriteOptions,
};

#[test]
fn an_injected_write_error_applies_nothing_and_the_engine_recovers() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = LeveldbEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    e.put(CF_DEFAULT, b"before", b"1").unwrap();
    fail::cfg("leveldb::write", "return").unwrap();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"x").unwrap();
    b.put(CF_LOCK, b"b", b"y").unwrap();
    let err = e.write(&WriteOptions::default(), &b).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(
        e.put(CF_DEFAULT, b"c", b"z").unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("leveldb::write");
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

#[test]
fn a_failed_log_fsync_poisons_the_handle_until_reopen_and_loses_nothing_acknowledged() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = LeveldbEngine::open(&config).unwrap();
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"acked", b"1")
        .unwrap();
    fail::cfg("leveldb::fsync", "return").unwrap();
    let err = e
        .put_opt(&WriteOptions::sync(), CF_DEFAULT, b"failed", b"2")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.to_string().contains("may or may not be present"),
        "a failed log fsync says the batch may be in the log: {err}"
    );
    fail::remove("leveldb::fsync");
    // rusty-leveldb put the failed batch in its memtable before logging it: the handle
    // refuses everything from now on, reads included, instead of showing it later.
    let refused = e.get(CF_DEFAULT, b"acked").unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Io, "{refused}");
    assert!(refused.to_string().contains("reopened"), "{refused}");
    assert_eq!(
        e.put(CF_DEFAULT, b"later", b"3").unwrap_err().kind(),
        ErrorKind::Io
    );
    drop(e);
    let e = LeveldbEngine::open(&config).unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"acked").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(e.get(CF_DEFAULT, b"later").unwrap(), None);
    e.put(CF_DEFAULT, b"after", b"4").unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"after").unwrap().as_deref(),
        Some(&b"4"[..]),
        "writes work after the reopen"
    );
    scenario.teardown();
}

#[test]
fn a_failed_current_rename_during_flush_poisons_and_the_reopen_keeps_everything() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = LeveldbEngine::open(&config).unwrap();
    for i in 0..100u32 {
        e.put(CF_DEFAULT, format!("k{i:03}").as_bytes(), &[7; 100])
            .unwrap();
    }
    fail::cfg("leveldb::rename", "return").unwrap();
    let err = e.flush().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    fail::remove("leveldb::rename");
    assert_eq!(
        e.get(CF_DEFAULT, b"k000").unwrap_err().kind(),
        ErrorKind::Io
    );
    drop(e);
    let e = LeveldbEngine::open(&config).unwrap();
    for i in 0..100u32 {
        assert_eq!(
            e.get(CF_DEFAULT, format!("k{i:03}").as_bytes())
                .unwrap()
                .as_deref(),
            Some(&[7u8; 100][..]),
            "k{i:03} survives a failed flush and a reopen"
        );
    }
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let report = failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<
        LeveldbEngine,
    >(env!("CARGO_MANIFEST_DIR"), |c| c)
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}

/// rusty-leveldb panics on a table whose footer is damaged (`tests/upstream.rs`): the engine
/// answers `Corruption` instead (here at open, which reads the tables for the CF catalog).
#[test]
fn a_damaged_table_is_corruption_not_a_panic() {
    // Holding a scenario keeps the other tests' failpoints away from this one.
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = LeveldbEngine::open(&config).unwrap();
    e.put(CF_DEFAULT, b"k", b"v").unwrap();
    e.flush().unwrap();
    drop(e);
    for entry in std::fs::read_dir(dir.path().join("db")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "ldb") {
            let mut bytes = std::fs::read(&p).unwrap();
            let n = bytes.len();
            bytes[n - 8..].fill(0x5A);
            std::fs::write(&p, bytes).unwrap();
        }
    }
    let err = LeveldbEngine::open(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    assert!(err.to_string().contains("panicked"), "{err}");
    scenario.teardown();
}
