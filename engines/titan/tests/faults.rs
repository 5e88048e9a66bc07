//! Fault scenarios on Titan: failpoints at its I/O sites, and a simulated power loss on its
//! blob files (unsynced data dropped), including a deliberate durability bug the check must
//! catch.

use std::path::Path;
use std::time::Duration;

use engine_titan::TitanEngine;
use engine_traits::{CF_DEFAULT, EngineConfig, ErrorKind, KvEngine, Readable, WriteOptions};
use titan::TitanOptions;

fn opts() -> TitanOptions {
    TitanOptions {
        gc_interval: None,
        record_synced_lengths: true,
        blob_file_size: 1 << 20,
        ..TitanOptions::default()
    }
}

fn open(path: &Path) -> TitanEngine {
    TitanEngine::open_with(&EngineConfig::new(path), opts()).unwrap()
}

fn value(i: u32) -> Vec<u8> {
    let tag = format!("value-{i}-");
    tag.bytes()
        .cycle()
        .take(5000 + (i as usize * 37) % 4000)
        .collect()
}

#[test]
fn injected_blob_fsync_error_is_io_and_the_write_is_absent_after_reopen() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"acked", &value(1))
        .unwrap();
    fail::cfg("titan::blob::fsync", "return").unwrap();
    let err = e
        .put_opt(&WriteOptions::sync(), CF_DEFAULT, b"failed", &value(2))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    fail::remove("titan::blob::fsync");
    drop(e);
    let e = open(dir.path());
    assert_eq!(
        e.get(CF_DEFAULT, b"acked").unwrap(),
        Some(value(1)),
        "the acknowledged write survives"
    );
    assert_eq!(
        e.get(CF_DEFAULT, b"failed").unwrap(),
        None,
        "the write that returned an error is not there"
    );
    scenario.teardown();
}

#[test]
fn injected_append_error_leaves_the_batch_out_entirely() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    fail::cfg("titan::blob::append", "return").unwrap();
    let mut b = e.write_batch();
    engine_traits::WriteBatch::put(&mut b, CF_DEFAULT, b"small", b"inline").unwrap();
    engine_traits::WriteBatch::put(&mut b, CF_DEFAULT, b"large", &value(3)).unwrap();
    assert_eq!(
        e.write(&WriteOptions::default(), &b).unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("titan::blob::append");
    assert_eq!(
        e.get(CF_DEFAULT, b"small").unwrap(),
        None,
        "a batch is all or nothing: the inline half is absent too"
    );
    scenario.teardown();
}

#[test]
fn injected_gc_errors_leave_every_key_readable() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    for round in 0..3 {
        for i in 0..40 {
            e.put(
                CF_DEFAULT,
                format!("k{i}").as_bytes(),
                &value(i * 10 + round),
            )
            .unwrap();
        }
    }
    for site in ["titan::gc::rewrite", "titan::gc::commit"] {
        fail::cfg(site, "return").unwrap();
        let err = e.titan().gc(true).unwrap_err();
        assert!(matches!(err, titan::Error::Injected(_)), "{err}");
        fail::remove(site);
        for i in 0..40 {
            assert_eq!(
                e.get(CF_DEFAULT, format!("k{i}").as_bytes()).unwrap(),
                Some(value(i * 10 + 2)),
                "after a failed GC at {site}, k{i} reads its value"
            );
        }
    }
    let report = e.titan().gc(true).unwrap();
    assert!(
        !report.files_rewritten.is_empty(),
        "GC works again once the fault is gone: {report:?}"
    );
    for i in 0..40 {
        assert_eq!(
            e.get(CF_DEFAULT, format!("k{i}").as_bytes()).unwrap(),
            Some(value(i * 10 + 2))
        );
    }
    scenario.teardown();
}

/// The child's writes before its last one.
const CHILD_WRITES: u32 = 200;

/// Child: synced and unsynced writes of large values to fresh keys, acknowledged in a file,
/// then one last synced write, then a `ready` file, then it waits to be killed. Ending on a
/// synced write makes the mutation test deterministic: that record is in the active blob file
/// (rotation happens before an append, never after), so a skipped fsync always leaves it
/// beyond the last synced length, whenever the kill comes. `FAILPOINTS` in its environment
/// configures Titan's sites.
#[test]
fn power_loss_child() {
    let Ok(dir) = std::env::var("POWER_LOSS_CHILD_DIR") else {
        return;
    };
    let _scenario = fail::FailScenario::setup();
    let dir = Path::new(&dir);
    let e = open(&dir.join("db"));
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acked"))
        .unwrap();
    for i in 0..=CHILD_WRITES {
        let sync = i % 5 == 0 || i == CHILD_WRITES;
        e.put_opt(
            &WriteOptions {
                sync,
                disable_wal: false,
            },
            CF_DEFAULT,
            format!("w{i:07}").as_bytes(),
            &value(i),
        )
        .unwrap();
        // One write(2) per line, so a kill never leaves half an acknowledgement.
        use std::io::Write;
        acks.write_all(format!("{i} {}\n", u8::from(sync)).as_bytes())
            .unwrap();
    }
    std::fs::write(dir.join("ready"), b"").unwrap();
    // Killed here; the scenario is never torn down, as in a real crash.
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// What a power-loss run found.
#[derive(Debug, Default)]
struct Findings {
    synced_checked: usize,
    lost_synced: Vec<u32>,
    garbage: Vec<String>,
    unsynced_present: usize,
    unsynced_absent: usize,
    /// Bytes the simulated power loss cut from blob files.
    cut_bytes: u64,
}

/// Runs the child, kills it, drops unsynced blob data, reopens and checks every write.
fn power_loss_run(failpoints: Option<&str>) -> Findings {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "power_loss_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("POWER_LOSS_CHILD_DIR", dir.path());
    cmd.env_remove("FAILPOINTS");
    if let Some(f) = failpoints {
        cmd.env("FAILPOINTS", f);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !dir.path().join("ready").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the child did not finish its {CHILD_WRITES} writes in 120 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child exited before its last write"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let cut = titan::simulate_power_loss(&dir.path().join("db/blob")).unwrap();
    let cut_bytes = cut.iter().map(|(_, len, keep)| len - keep).sum();
    let acks: Vec<(u32, bool)> = std::fs::read_to_string(dir.path().join("acked"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(i, s)| (i.parse().unwrap(), s == "1"))
        })
        .collect();
    assert!(
        acks.len() > 20,
        "the child acknowledged writes before the kill: {}",
        acks.len()
    );
    let e = open(&dir.path().join("db"));
    let mut f = Findings {
        cut_bytes,
        ..Findings::default()
    };
    let last = acks.last().unwrap().0 + 1; // one more may have been in flight
    for i in 0..=last {
        let synced_ack = acks.iter().any(|&(a, s)| a == i && s);
        match e.get(CF_DEFAULT, format!("w{i:07}").as_bytes()) {
            Ok(Some(v)) if v == value(i) => {
                if synced_ack {
                    f.synced_checked += 1;
                } else {
                    f.unsynced_present += 1;
                }
            }
            Ok(None) if synced_ack => f.lost_synced.push(i),
            Ok(None) => f.unsynced_absent += 1,
            Ok(Some(_)) => f.garbage.push(format!("w{i:07}: wrong value")),
            Err(err) => f.garbage.push(format!("w{i:07}: {err}")),
        }
    }
    f
}

#[test]
fn power_loss_keeps_synced_writes_and_unsynced_ones_whole_or_absent() {
    let f = power_loss_run(None);
    assert!(
        f.lost_synced.is_empty(),
        "synced writes lost: {:?}",
        f.lost_synced
    );
    assert!(
        f.garbage.is_empty(),
        "unsynced writes read back as garbage: {:?}",
        f.garbage
    );
    assert!(f.synced_checked > 5, "{f:?}");
    if f.cut_bytes > 0 {
        assert!(
            f.unsynced_absent > 0,
            "the power loss cut {} bytes, so some unsynced writes must be absent: {f:?}",
            f.cut_bytes
        );
    }
}

#[test]
fn skipping_the_blob_fsync_is_caught_as_lost_synced_writes() {
    let f = power_loss_run(Some("titan::blob::skip_fsync=return"));
    assert!(
        !f.lost_synced.is_empty(),
        "with the blob fsync skipped, power loss must lose acknowledged synced writes and the check must say so: {f:?}"
    );
    assert!(
        f.garbage.is_empty(),
        "even then nothing reads back as garbage: {:?}",
        f.garbage
    );
}

/// The catalog in `Cargo.toml` (what `cargo xtask failpoints list` shows) names exactly the
/// sites the code has.
#[test]
fn failpoint_catalog_in_cargo_metadata_matches_the_code() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let listed: Vec<&str> = manifest
        .split("[[package.metadata.workbench.failpoints]]")
        .skip(1)
        .filter_map(|entry| {
            entry
                .lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .and_then(|l| l.strip_suffix('"'))
        })
        .collect();
    let in_code: Vec<&str> = titan::FAILPOINTS.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        listed, in_code,
        "update [[package.metadata.workbench.failpoints]] in engines/titan/Cargo.toml"
    );
}

#[test]
fn a_short_blob_write_fails_the_write_and_later_writes_stay_readable() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.put(CF_DEFAULT, b"before", &value(1)).unwrap();
    fail::cfg("titan::blob::short_write", "return").unwrap();
    assert_eq!(
        e.put(CF_DEFAULT, b"torn", &value(2)).unwrap_err().kind(),
        ErrorKind::Io
    );
    fail::remove("titan::blob::short_write");
    for i in 0..20 {
        e.put(CF_DEFAULT, format!("after{i}").as_bytes(), &value(10 + i))
            .unwrap();
    }
    assert_eq!(
        e.get(CF_DEFAULT, b"torn").unwrap(),
        None,
        "the failed write is absent"
    );
    assert_eq!(e.get(CF_DEFAULT, b"before").unwrap(), Some(value(1)));
    for i in 0..20 {
        assert_eq!(
            e.get(CF_DEFAULT, format!("after{i}").as_bytes()).unwrap(),
            Some(value(10 + i)),
            "writes after a short write point at the right offsets"
        );
    }
    e.titan()
        .gc(true)
        .expect("GC scans the file cleanly: no half record was left in it");
    drop(e);
    let e = open(dir.path());
    assert_eq!(
        e.get(CF_DEFAULT, b"after19").unwrap(),
        Some(value(29)),
        "and after reopen"
    );
    scenario.teardown();
}

#[test]
fn an_injected_error_before_deleting_an_obsolete_file_keeps_it_for_the_next_pass() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    for round in 0..2 {
        for i in 0..10 {
            e.put(
                CF_DEFAULT,
                format!("k{i}").as_bytes(),
                &value(i + round * 100),
            )
            .unwrap();
        }
    }
    fail::cfg("titan::gc::delete_obsolete", "return").unwrap();
    let first = e.titan().gc(true).unwrap();
    assert!(
        !first.files_rewritten.is_empty() && first.files_deleted.is_empty(),
        "{first:?}"
    );
    fail::remove("titan::gc::delete_obsolete");
    let second = e.titan().gc(false).unwrap();
    assert_eq!(
        second.files_deleted, first.files_rewritten,
        "the next pass deletes what the failed one kept"
    );
    for i in 0..10 {
        assert_eq!(
            e.get(CF_DEFAULT, format!("k{i}").as_bytes()).unwrap(),
            Some(value(i + 100))
        );
    }
    scenario.teardown();
}

/// The engine-agnostic scenario over this engine's published catalog.
#[test]
fn every_catalogued_io_error_site_fails_with_io_and_loses_nothing_acknowledged() {
    let report = failpoints::scenarios::io_errors_are_io_and_lose_nothing_acknowledged::<
        engine_titan::TitanEngine,
    >(env!("CARGO_MANIFEST_DIR"), |c| c)
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_empty(), "the catalog offers io_error sites");
    for line in report {
        eprintln!("{line}");
    }
}

/// The file layer's site fails the operation and the path a test chooses, and nothing else.
#[test]
fn the_file_layer_fails_only_the_chosen_operation_and_path() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    let mut acked = Vec::new();
    let mut failed = Vec::new();

    // One operation on one kind of file: blob-file syncs fail (the OPEN log's sync, when the
    // first blob file is created, does not), and unsynced writes, which never sync (a power
    // cut that takes their records is recovered as a prefix by Titan's WAL filter), go
    // through, large values and small.
    fail::cfg(titan::IO_SITE, "return(op=sync,path=.blob)").unwrap();
    let err = e
        .put_opt(&WriteOptions::sync(), CF_DEFAULT, b"sync-fails", &value(1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.to_string().contains(".blob") && err.to_string().contains("sync"),
        "the error names the operation and the blob file: {err}"
    );
    failed.push(b"sync-fails".to_vec());
    e.put(CF_DEFAULT, b"unsynced-ok", &value(2)).unwrap();
    acked.push((b"unsynced-ok".to_vec(), value(2)));
    e.put(CF_DEFAULT, b"unsynced-small-ok", b"tiny").unwrap();
    acked.push((b"unsynced-small-ok".to_vec(), b"tiny".to_vec()));

    // A path that matches nothing: nothing fails.
    fail::cfg(titan::IO_SITE, "return(path=no-such-file)").unwrap();
    e.put_opt(
        &WriteOptions::sync(),
        CF_DEFAULT,
        b"other-path-ok",
        &value(3),
    )
    .unwrap();
    acked.push((b"other-path-ok".to_vec(), value(3)));

    // Writes to blob files fail; a small value never touches one and goes through.
    fail::cfg(titan::IO_SITE, "return(op=write,path=.blob)").unwrap();
    let err = e
        .put_opt(&WriteOptions::sync(), CF_DEFAULT, b"write-fails", &value(4))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    failed.push(b"write-fails".to_vec());
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"small-ok", b"tiny")
        .unwrap();
    acked.push((b"small-ok".to_vec(), b"tiny".to_vec()));
    fail::remove(titan::IO_SITE);

    drop(e);
    let e = open(dir.path());
    for (k, v) in &acked {
        assert_eq!(
            e.get(CF_DEFAULT, k).unwrap().as_ref(),
            Some(v),
            "acknowledged {}",
            String::from_utf8_lossy(k)
        );
    }
    for k in &failed {
        assert_eq!(
            e.get(CF_DEFAULT, k).unwrap(),
            None,
            "the failed write {} is absent",
            String::from_utf8_lossy(k)
        );
    }
    scenario.teardown();
}

/// The state `usage_persist_child` leaves: 30 keys, each overwritten ten times, the last
/// round's values.
fn persist_child_value(key: u32, round: u32) -> Vec<u8> {
    let mut v = value(key * 100 + round);
    v.truncate(4096 + (key as usize * 13) % 900);
    v
}

/// Child: overwrites 30 large values ten times, then closes with the counters' persistence
/// armed to abort between the temporary file's fsync and its rename.
#[test]
fn usage_persist_child() {
    let Ok(dir) = std::env::var("USAGE_CHILD_DIR") else {
        return;
    };
    let _scenario = fail::FailScenario::setup();
    let e = TitanEngine::open_with(
        &EngineConfig::new(Path::new(&dir)),
        TitanOptions {
            blob_file_size: 64 << 10,
            ..opts()
        },
    )
    .unwrap();
    for round in 0..10 {
        for key in 0..30 {
            e.put(
                CF_DEFAULT,
                format!("u{key:02}").as_bytes(),
                &persist_child_value(key, round),
            )
            .unwrap();
        }
        e.titan().gc(false).unwrap();
    }
    fail::cfg("titan::usage::persist", "return(abort)").unwrap();
    drop(e);
    unreachable!("the close aborted at titan::usage::persist");
}

#[test]
fn a_crash_while_the_counters_are_persisted_loses_nothing_and_open_recounts() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "usage_persist_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("USAGE_CHILD_DIR", dir.path())
        .env_remove("FAILPOINTS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(6),
        "the child died at the failpoint (SIGABRT): {status:?}"
    );
    let blob = dir.path().join("blob");
    assert!(
        blob.join("USAGE.tmp").exists(),
        "it died with the temporary file written"
    );
    assert!(!blob.join(titan::usage::USAGE_FILE).exists());
    let e = open(dir.path());
    let titan::UsageSource::Recounted(why) = e.titan().usage_source() else {
        panic!("no counters file, yet the counters were not recounted");
    };
    assert!(why.contains("no USAGE"), "{why}");
    assert!(
        !blob.join("USAGE.tmp").exists(),
        "open removes the torn attempt"
    );
    for key in 0..30 {
        assert_eq!(
            e.get(CF_DEFAULT, format!("u{key:02}").as_bytes()).unwrap(),
            Some(persist_child_value(key, 9)),
            "key u{key:02}"
        );
    }
    let recount = e.titan().recount_usage().unwrap();
    for (n, f) in e.titan().usage() {
        assert_eq!(
            (f.total, f.live),
            (recount[&n].total, recount[&n].live),
            "file {n}"
        );
    }
}
