//! Titan's own acceptance: GC reclaims space and keeps snapshots readable, damaged blob files
//! are corruption (never a panic, never a wrong value), and synced writes survive SIGKILL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use engine_titan::TitanEngine;
use engine_traits::{CF_DEFAULT, EngineConfig, ErrorKind, KvEngine, Readable, WriteOptions};
use titan::TitanOptions;

fn opts() -> TitanOptions {
    TitanOptions {
        blob_file_size: 8 << 20,
        gc_interval: None,
        ..TitanOptions::default()
    }
}

fn open(path: &Path) -> TitanEngine {
    TitanEngine::open_with(&EngineConfig::new(path), opts()).unwrap()
}

fn value(key: u32, round: u32, len: usize) -> Vec<u8> {
    let seed = format!("{key}:{round}:");
    seed.as_bytes().iter().copied().cycle().take(len).collect()
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "blob"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn gc_after_twenty_overwrites_keeps_at_most_twice_the_live_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    const KEYS: u32 = 1000;
    const SIZE: usize = 16 << 10;
    for round in 0..20 {
        for k in 0..KEYS {
            e.put(
                CF_DEFAULT,
                format!("key{k:04}").as_bytes(),
                &value(k, round, SIZE),
            )
            .unwrap();
        }
    }
    let before = dir_bytes(e.titan().blob_dir());
    let report = e.titan().gc(true).unwrap();
    let after = dir_bytes(e.titan().blob_dir());
    let live = u64::from(KEYS) * SIZE as u64;
    assert!(
        before > 15 * live,
        "20 rounds wrote about 20x the live bytes: {before}"
    );
    assert!(
        after <= 2 * live,
        "after GC the blob directory holds {after} bytes, over 2x the {live} live bytes ({report:?})"
    );
    assert!(!report.files_deleted.is_empty());
    for k in (0..KEYS).step_by(7) {
        assert_eq!(
            e.get(CF_DEFAULT, format!("key{k:04}").as_bytes()).unwrap(),
            Some(value(k, 19, SIZE)),
            "key{k:04} reads its latest value after GC"
        );
    }
}

#[test]
fn a_snapshot_taken_before_gc_still_reads_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    for k in 0..50 {
        e.put(CF_DEFAULT, format!("k{k}").as_bytes(), &value(k, 0, 8192))
            .unwrap();
    }
    let snap = e.snapshot().unwrap();
    for k in 0..50 {
        e.put(CF_DEFAULT, format!("k{k}").as_bytes(), &value(k, 1, 8192))
            .unwrap();
    }
    let first = e.titan().gc(true).unwrap();
    assert!(
        !first.files_rewritten.is_empty(),
        "the first file is all garbage for the engine: {first:?}"
    );
    assert!(
        first.files_deleted.is_empty(),
        "it is not deleted while the snapshot can read it: {first:?}"
    );
    for k in 0..50 {
        assert_eq!(
            snap.get(CF_DEFAULT, format!("k{k}").as_bytes()).unwrap(),
            Some(value(k, 0, 8192)),
            "the snapshot reads k{k} after GC"
        );
    }
    drop(snap);
    let second = e.titan().gc(true).unwrap();
    assert!(
        !second.files_deleted.is_empty(),
        "once the snapshot is gone the old file is deleted: {second:?}"
    );
    assert_eq!(e.get(CF_DEFAULT, b"k3").unwrap(), Some(value(3, 1, 8192)));
}

/// A closed database with 20 large values in one sealed blob file; returns the file.
fn damaged_setup(root: &Path) -> (PathBuf, PathBuf) {
    let path = root.join("db");
    let e = open(&path);
    for k in 0..20 {
        e.put(
            CF_DEFAULT,
            format!("k{k:02}").as_bytes(),
            &value(k, 0, 10_000),
        )
        .unwrap();
    }
    let blob_dir = e.titan().blob_dir().to_path_buf();
    drop(e);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&blob_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "blob"))
        .collect();
    files.sort();
    (path, files.pop().unwrap())
}

/// Every key reads its value or a Corruption error naming `file`; returns how many failed.
fn read_all_expecting_corruption(e: &TitanEngine, file: &Path) -> usize {
    let mut bad = 0;
    for k in 0..20 {
        match e.get(CF_DEFAULT, format!("k{k:02}").as_bytes()) {
            Ok(Some(v)) => assert_eq!(v, value(k, 0, 10_000), "k{k:02} read a wrong value"),
            Ok(None) => panic!("k{k:02} vanished"),
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
                assert!(
                    err.to_string()
                        .contains(&file.file_name().unwrap().to_string_lossy().to_string()),
                    "the error names the blob file: {err}"
                );
                bad += 1;
            }
        }
    }
    bad
}

#[test]
fn a_flipped_byte_in_a_blob_record_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = damaged_setup(dir.path());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[12 + 5000] ^= 0x40; // inside the first record's value
    std::fs::write(&file, bytes).unwrap();
    let e = open(&path);
    assert_eq!(
        read_all_expecting_corruption(&e, &file),
        1,
        "exactly the damaged record fails"
    );
}

#[test]
fn a_truncated_blob_file_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = damaged_setup(dir.path());
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let e = open(&path);
    let bad = read_all_expecting_corruption(&e, &file);
    assert!(
        (9..=11).contains(&bad),
        "the second half of the records fails, {bad} did"
    );
}

#[test]
fn a_missing_blob_file_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = damaged_setup(dir.path());
    std::fs::remove_file(&file).unwrap();
    let e = open(&path);
    assert_eq!(read_all_expecting_corruption(&e, &file), 20);
}

/// The child side of the crash test: writes synced batches forever, appending the index of
/// each acknowledged write to `acked` (through the page cache, which survives SIGKILL).
#[test]
fn crash_child_write_loop() {
    let Ok(dir) = std::env::var("TITAN_CRASH_CHILD_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let e = open(&dir.join("db"));
    let mut acked = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acked"))
        .unwrap();
    let start = acked_writes(&dir).len() as u32;
    for i in start.. {
        let size = if i % 3 == 0 {
            100
        } else {
            6000 + (i as usize % 5000)
        };
        e.put_opt(
            &WriteOptions::sync(),
            CF_DEFAULT,
            format!("w{i:08}").as_bytes(),
            &value(i, 0, size),
        )
        .unwrap();
        // One write(2) per line: `writeln!` issues "{i}" and "\n" separately, and a SIGKILL
        // between them glued two indices into one that was never written.
        use std::io::Write;
        acked.write_all(format!("{i}\n").as_bytes()).unwrap();
    }
}

/// The indices the child acknowledged: only newline-terminated lines count, so a line the
/// kill cut short is neither believed nor glued to the next child's first line.
fn acked_writes(dir: &Path) -> Vec<u32> {
    let path = dir.join("acked");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let complete = text.rfind('\n').map_or(0, |end| end + 1);
    if complete < text.len() {
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(complete as u64).unwrap();
    }
    text[..complete]
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|e| panic!("{}: line {l:?}: {e}", path.display()))
        })
        .collect()
}

#[test]
fn synced_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    for cycle in 0..3u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "crash_child_write_loop",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TITAN_CRASH_CHILD_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(400 + 150 * cycle));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acked = acked_writes(dir.path());
        assert!(
            !acked.is_empty(),
            "cycle {cycle}: the child acknowledged some writes before it was killed"
        );
        eprintln!(
            "cycle {cycle}: {} acknowledged synced writes so far",
            acked.len()
        );
        let e = open(&dir.path().join("db"));
        for &i in &acked {
            let size = if i % 3 == 0 {
                100
            } else {
                6000 + (i as usize % 5000)
            };
            let got = e
                .get(CF_DEFAULT, format!("w{i:08}").as_bytes())
                .unwrap_or_else(|err| panic!("cycle {cycle}: w{i:08}: {err}"));
            assert_eq!(
                got,
                Some(value(i, 0, size)),
                "cycle {cycle}: acknowledged synced write w{i:08} is lost or wrong"
            );
        }
    }
}

#[test]
fn sync_keeps_appending_to_the_same_blob_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    for i in 0..5 {
        e.put(CF_DEFAULT, format!("k{i}").as_bytes(), &value(i, 0, 8000))
            .unwrap();
        e.sync().unwrap();
    }
    let files = std::fs::read_dir(e.titan().blob_dir())
        .unwrap()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|x| x == "blob"))
        .count();
    assert_eq!(
        files, 1,
        "sync() fsyncs the active blob file instead of starting a new one"
    );
}

/// Prefix seek is RocksDB's fixed prefix extractor under Titan too; the iterator's values are
/// blob values resolved lazily, so this checks the two together, in the memtable and in SSTs,
/// before and after GC moved the records, and that a full scan still sees every prefix.
#[test]
fn prefix_seek_shows_one_prefix_with_blob_values_after_flush_and_gc() {
    use engine_traits::{EngineIterator, IterOptions};
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path()).with_prefix_len(3);
    let e = TitanEngine::open_with(&config, opts()).unwrap();
    let keys = ["aaa1", "aaa2", "aab1", "aab2", "abc1"];
    let put_all = |round: u32| {
        for (i, k) in keys.iter().enumerate() {
            e.put(CF_DEFAULT, k.as_bytes(), &value(i as u32, round, 8192))
                .unwrap();
        }
    };
    let prefix = IterOptions {
        prefix_same_as_start: true,
        ..IterOptions::default()
    };
    let check = |what: &str, round: u32| {
        let mut it = e.iterator_opt(CF_DEFAULT, prefix.clone()).unwrap();
        let mut seen = Vec::new();
        let mut ok = it.seek(b"aab").unwrap();
        while ok {
            let i = keys.iter().position(|k| k.as_bytes() == it.key()).unwrap();
            assert_eq!(
                it.value().unwrap().as_ref(),
                &value(i as u32, round, 8192)[..],
                "{what}: value of {}",
                keys[i]
            );
            seen.push(keys[i]);
            ok = it.next().unwrap();
        }
        assert_eq!(seen, ["aab1", "aab2"], "{what}: one prefix, in order");
        let snap = e.snapshot().unwrap();
        let mut it = snap.iterator_opt(CF_DEFAULT, prefix.clone()).unwrap();
        assert!(it.seek_for_prev(b"aaa9").unwrap());
        assert_eq!(it.key(), b"aaa2", "{what}: snapshot seek_for_prev");
        assert!(it.prev().unwrap());
        assert!(
            !it.prev().unwrap(),
            "{what}: prev stops at the prefix start"
        );
        let mut all = e.iterator(CF_DEFAULT).unwrap();
        let mut n = 0;
        let mut ok = all.seek_to_first().unwrap();
        while ok {
            n += 1;
            ok = all.next().unwrap();
        }
        assert_eq!(n, keys.len(), "{what}: a full scan crosses prefixes");
    };
    put_all(0);
    check("memtable", 0);
    e.flush().unwrap();
    check("after flush", 0);
    put_all(1);
    e.flush().unwrap();
    let report = e.titan().gc(true).unwrap();
    assert!(
        !report.files_rewritten.is_empty(),
        "GC moved records: {report:?}"
    );
    check("after overwrite and GC", 1);
    drop(e);
    let e = TitanEngine::open_with(&config, opts()).unwrap();
    let mut it = e.iterator_opt(CF_DEFAULT, prefix).unwrap();
    assert!(it.seek(b"abc").unwrap());
    assert_eq!(it.value().unwrap().as_ref(), &value(4, 1, 8192)[..]);
    assert!(!it.next().unwrap(), "after reopen: one key in prefix abc");
}

#[test]
fn a_prefix_len_of_zero_or_two_disagreeing_lengths_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let err = TitanEngine::open_with(&EngineConfig::new(dir.path()).with_prefix_len(0), opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("prefix_len"), "{err}");
    assert!(
        !dir.path().join("blob").exists(),
        "refused before anything was created"
    );
    let topts = TitanOptions {
        prefix_len: Some(4),
        ..opts()
    };
    let err = TitanEngine::open_with(&EngineConfig::new(dir.path()).with_prefix_len(3), topts)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}
