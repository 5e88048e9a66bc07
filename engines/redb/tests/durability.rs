//! What `WriteOptions::sync`, `sync()` and a clean close promise on redb, checked by killing a
//! child process (`abort`: no destructor runs, redb does not close the file) and reopening.
//!
//! The child tests are this binary's own tests run again with `REDB_DURABILITY_CHILD` set;
//! without it they return at once, so a plain `cargo test` runs them as no-ops.

use std::path::{Path, PathBuf};
use std::process::Command;

use engine_redb::RedbEngine;
use engine_traits::{CF_DEFAULT, CF_LOCK, EngineConfig, KvEngine, Readable, WriteOptions};

const CHILD_ENV: &str = "REDB_DURABILITY_CHILD";

fn config(dir: &Path) -> EngineConfig {
    EngineConfig::new(dir.join("db"))
}

fn key(i: u32) -> Vec<u8> {
    format!("k{i:04}").into_bytes()
}

/// Runs child test `name` in a process of its own against `dir`; it must die by abort.
fn run_child(name: &str, dir: &Path) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, dir)
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the child {name} was meant to abort, got {status}"
    );
}

fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_ENV).map(PathBuf::from)
}

fn present(e: &RedbEngine, range: std::ops::Range<u32>) -> usize {
    range
        .filter(|i| e.get(CF_DEFAULT, &key(*i)).unwrap().is_some())
        .count()
}

#[test]
fn child_unsynced_then_sync_then_unsynced_then_abort() {
    let Some(dir) = child_dir() else { return };
    let e = RedbEngine::open(&config(&dir)).unwrap();
    for i in 0..100 {
        e.put(CF_DEFAULT, &key(i), b"v").unwrap();
    }
    e.sync().unwrap();
    for i in 100..200 {
        e.put(CF_DEFAULT, &key(i), b"v").unwrap();
    }
    std::process::abort();
}

#[test]
fn sync_makes_every_earlier_write_durable_and_later_unsynced_ones_are_lost_in_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    run_child(
        "child_unsynced_then_sync_then_unsynced_then_abort",
        dir.path(),
    );
    let e = RedbEngine::open(&config(dir.path())).unwrap();
    assert_eq!(
        present(&e, 0..100),
        100,
        "sync() made the 100 unsynced writes before it durable"
    );
    // Durability::None commits live in redb's in-memory header until a durable commit: a
    // crash loses all of them (the contract allows it for unsynced writes), even without a
    // power loss. Pinned so a change in redb shows up here.
    assert_eq!(
        present(&e, 100..200),
        0,
        "unsynced writes after the last durable commit are lost"
    );
}

#[test]
fn child_unsynced_then_one_synced_then_abort() {
    let Some(dir) = child_dir() else { return };
    let e = RedbEngine::open(&config(&dir)).unwrap();
    for i in 0..50 {
        e.put(CF_DEFAULT, &key(i), b"v").unwrap();
    }
    e.put_opt(&WriteOptions::sync(), CF_LOCK, b"synced", b"v")
        .unwrap();
    std::process::abort();
}

#[test]
fn a_synced_write_makes_every_earlier_unsynced_write_durable() {
    let dir = tempfile::tempdir().unwrap();
    run_child("child_unsynced_then_one_synced_then_abort", dir.path());
    let e = RedbEngine::open(&config(dir.path())).unwrap();
    assert_eq!(
        e.get(CF_LOCK, b"synced").unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        present(&e, 0..50),
        50,
        "a durable commit covers every commit before it: the state stays a prefix"
    );
}

#[test]
fn a_clean_close_keeps_unsynced_and_disable_wal_writes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = RedbEngine::open(&config(dir.path())).unwrap();
        e.put(CF_DEFAULT, &key(1), b"unsynced").unwrap();
        e.put_opt(
            &WriteOptions {
                sync: false,
                disable_wal: true,
            },
            CF_DEFAULT,
            &key(2),
            b"no-wal",
        )
        .unwrap();
    }
    let e = RedbEngine::open(&config(dir.path())).unwrap();
    assert_eq!(present(&e, 1..3), 2);
}
