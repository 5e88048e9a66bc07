//! System-call fault injection on RocksDB's C++ with libfiu: `fdatasync`/`fsync` fail with EIO
//! during a synced write. The child runs under `fiu-run -x` and reports through files it
//! opened before the fault was enabled (libfiu's faults are process-wide). It needs libfiu
//! (`cargo xtask doctor --fix` installs it) and fails, saying so, where it is missing: a
//! scenario that did not run must not count as passed.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use engine_rocks::RocksEngine;
use engine_traits::{CF_DEFAULT, EngineConfig, KvEngine, Readable, WriteBatch, WriteOptions};

fn wait_for(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The child: 50 acknowledged synced writes, then (after the parent enabled the fault) one
/// more synced write whose outcome it records.
#[test]
fn fiu_child() {
    let Ok(dir) = std::env::var("FIU_CHILD_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let mut result = std::fs::File::create(dir.join("result")).unwrap();
    let e = RocksEngine::open(&EngineConfig::new(dir.join("db"))).unwrap();
    for i in 0..50 {
        e.put_opt(
            &WriteOptions::sync(),
            CF_DEFAULT,
            format!("acked{i:02}").as_bytes(),
            b"v",
        )
        .unwrap();
    }
    std::fs::write(dir.join("ready"), b"").unwrap();
    assert!(wait_for(&dir.join("go"), Duration::from_secs(20)));
    // The failed write is a batch of three keys: whatever its fate, it must be all or nothing.
    let mut batch = e.write_batch();
    for k in FAILED_BATCH {
        batch.put(CF_DEFAULT, k, b"v").unwrap();
    }
    let mut outcome = match e.write(&WriteOptions::sync(), &batch) {
        Ok(()) => "ok".to_owned(),
        Err(err) => format!("{:?} {err}", err.kind()),
    };
    // A later write, unsynced, must be refused: it would invalidate the undo record.
    if let Err(err) = e.put(CF_DEFAULT, b"later", b"v") {
        outcome.push_str(&format!("\nlater write: {:?} {err}", err.kind()));
    }
    use std::io::Write;
    result.write_all(outcome.as_bytes()).unwrap();
    // Skip destructors: closing would fsync again under the fault.
    std::process::exit(0);
}

/// Runs the child under libfiu, enables `faults` (EIO) once it is ready, lets it make its
/// failing write, and returns its outcome with the directory holding its database.
fn fiu_scenario(faults: &[&str]) -> (String, tempfile::TempDir) {
    assert!(
        Command::new("fiu-run").arg("-h").output().is_ok(),
        "libfiu's fiu-run is not installed: `cargo xtask doctor --fix` (fiu-utils, libfiu-dev)"
    );
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let ctrl = dir.path().join("fiu-ctrl");
    let mut child = Command::new("fiu-run")
        .args(["-x", "-f"])
        .arg(&ctrl)
        .arg(&exe)
        .args(["--exact", "fiu_child", "--nocapture", "--test-threads=1"])
        .env("FIU_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(&dir.path().join("ready"), Duration::from_secs(30)),
        "the child did not get ready"
    );
    for name in faults {
        let status = Command::new("fiu-ctrl")
            .arg("-f")
            .arg(&ctrl)
            .args(["-c", &format!("enable name={name},failinfo=5")])
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "fiu-ctrl enable {name}");
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the child hangs under the fault"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let outcome = std::fs::read_to_string(dir.path().join("result")).unwrap();
    assert!(
        outcome.starts_with("Io "),
        "a synced write whose sync fails is an Io error to the caller, got: {outcome}"
    );
    assert!(
        outcome.contains("Input/output error") || outcome.contains("IO error"),
        "{outcome}"
    );
    (outcome, dir)
}

fn assert_acknowledged_writes_survive(e: &RocksEngine) {
    for i in 0..50 {
        assert_eq!(
            e.get(CF_DEFAULT, format!("acked{i:02}").as_bytes())
                .unwrap()
                .as_deref(),
            Some(&b"v"[..]),
            "acknowledged synced write acked{i:02} survives"
        );
    }
}

fn failed_batch_presence(e: &RocksEngine) -> Vec<bool> {
    FAILED_BATCH
        .iter()
        .map(|k| e.get(CF_DEFAULT, k).unwrap().is_some())
        .collect()
}

/// The case: fdatasync fails with EIO during a synced write. The caller gets `Io`,
/// and after reopen the engine holds exactly the acknowledged writes: the failed batch's WAL
/// record reached the page cache and RocksDB replays it, but its undo record (written with
/// fsync, which still works) takes it out again.
#[test]
fn fdatasync_eio_during_a_synced_write_is_io_and_after_reopen_only_acknowledged_writes_remain() {
    let (outcome, dir) = fiu_scenario(&["posix/io/sync/fdatasync"]);
    assert!(
        outcome.contains("undone when the engine is reopened"),
        "the error says what becomes of the write: {outcome}"
    );
    assert!(
        outcome.contains("later write: Io")
            && outcome.contains("refuses writes until it is reopened"),
        "later writes are refused: {outcome}"
    );
    let db = dir.path().join("db");
    let e = RocksEngine::open(&EngineConfig::new(&db)).unwrap();
    assert_acknowledged_writes_survive(&e);
    assert_eq!(
        failed_batch_presence(&e),
        [false; 3],
        "the batch whose fdatasync failed is absent after reopen"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&db)
        .unwrap()
        .flatten()
        .filter(|f| {
            f.file_name()
                .to_string_lossy()
                .starts_with("WORKBENCH-UNDO")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "applied undo records are deleted: {leftovers:?}"
    );
    // And the engine takes writes again.
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"after", b"v")
        .unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"after").unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

/// When fsync fails too, not even the undo record can be made durable. The error says the
/// write's presence after reopen is unknown, and that is the weaker promise kept: every
/// acknowledged write survives and the failed batch is all or nothing.
#[test]
fn when_fsync_fails_too_the_error_says_the_write_is_unknown_and_it_stays_atomic() {
    let (outcome, dir) = fiu_scenario(&["posix/io/sync/fdatasync", "posix/io/sync/fsync"]);
    assert!(
        outcome.contains("may or may not be present"),
        "the error says the write's fate is unknown: {outcome}"
    );
    let e = RocksEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    assert_acknowledged_writes_survive(&e);
    let present = failed_batch_presence(&e);
    assert!(
        present.iter().all(|p| *p) || present.iter().all(|p| !*p),
        "the failed batch is all or nothing after reopen, got {present:?}"
    );
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"after", b"v")
        .unwrap();
}

const FAILED_BATCH: [&[u8]; 3] = [b"failed-a", b"failed-b", b"failed-c"];

/// The wrapper's own sites: an injected error at write, flush or compaction reaches the
/// caller as `Io`, applies nothing, and leaves every value readable.
#[test]
fn injected_errors_at_the_wrappers_sites_change_nothing() {
    use engine_traits::{ErrorKind, ManualCompaction};
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = RocksEngine::open(&EngineConfig::new(dir.path())).unwrap();
    e.put(CF_DEFAULT, b"kept", b"1").unwrap();
    fail::cfg("rocks::write", "return").unwrap();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"x").unwrap();
    assert_eq!(
        e.write(&WriteOptions::sync(), &b).unwrap_err().kind(),
        ErrorKind::Io
    );
    assert_eq!(
        e.put(CF_DEFAULT, b"c", b"z").unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("rocks::write");
    assert_eq!(
        e.get(CF_DEFAULT, b"a").unwrap(),
        None,
        "a batch that failed at the wrapper applies nothing"
    );
    for site in ["rocks::flush", "rocks::compaction"] {
        fail::cfg(site, "return").unwrap();
        let r = if site == "rocks::flush" {
            e.flush()
        } else {
            e.compact_range(CF_DEFAULT, None, None)
        };
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Io, "{site}");
        fail::remove(site);
        assert_eq!(
            e.get(CF_DEFAULT, b"kept").unwrap().as_deref(),
            Some(&b"1"[..]),
            "after a failed {site}"
        );
    }
    e.write(&WriteOptions::sync(), &b).unwrap();
    assert_eq!(
        e.get(CF_DEFAULT, b"a").unwrap().as_deref(),
        Some(&b"x"[..]),
        "writes work again"
    );
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let report = failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<
        engine_rocks::RocksEngine,
    >(env!("CARGO_MANIFEST_DIR"), |c| c)
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}
