//! Power loss with the WAL and the blob file cut at different points.
//!
//! Reproduces what `cargo xtask crash --engine titan --power-loss --cut reorder --cycles 60
//! --seed 1` found in cycle 7 (and `--cut torn` in cycle 43): an unsynced batch put a large
//! value (a blob index in RocksDB's WAL, the record in the active blob file) and small values
//! (inline in the same WAL record). The power cut kept the WAL's unsynced tail but not the
//! blob file's: two files, each with its own unsynced tail, and under POSIX either may
//! survive without the other. Recovery then found the index dangling and deleted that one
//! key, so the batch came back torn (its small values present, its large one absent) and the
//! key's earlier, acknowledged synced value was gone as well.
//!
//! The test builds that disk image directly: it copies the database directory while the
//! database is still open (everything written has reached the files, as a torn cut keeping
//! every unsynced WAL write leaves it), cuts each blob file back to its last fsync (the
//! `SYNCED` log), and reopens the copy. Every state it may find must be a prefix of the
//! history: the synced batch alone, or the synced batch and then the whole unsynced one.
//! Since unsynced writes no longer fsync their blob records, the WAL filter is what keeps it
//! a prefix (replay stops at the batch whose record is gone; see `titan::wal`).
//!
//! The flush tests build the same image after a flush: an SST holds the indexes of unsynced
//! writes, with no WAL record left to stop at, so the records must have been fsynced when the
//! flush began (Titan's flush-begin listener) or the keys come back dangling.

use std::path::Path;

use rust_rocksdb::OptionsProfile;
use titan::{TitanDb, TitanOptions, WriteOp};

const CFS: [&str; 1] = ["default"];

fn open(path: &Path) -> TitanDb {
    open_with(path, &OptionsProfile::load("default").unwrap())
}

fn open_with(path: &Path, profile: &OptionsProfile) -> TitanDb {
    let cfs: Vec<String> = CFS.iter().map(|s| s.to_string()).collect();
    TitanDb::open(
        path,
        &cfs,
        profile,
        TitanOptions {
            gc_interval: None,
            record_synced_lengths: true,
            ..TitanOptions::default()
        },
        true,
    )
    .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn an_unsynced_batch_whose_wal_record_outlives_its_blob_record_is_whole_or_absent() {
    let root = tempfile::tempdir().unwrap();
    let (db_dir, image) = (root.path().join("db"), root.path().join("image"));
    let small_v0 = b"synced small value".to_vec();
    let big_v1 = vec![7u8; 6000];
    let small_v1 = b"unsynced small value".to_vec();
    let db = open(&db_dir);
    // Acknowledged synced: `k` holds a small value.
    db.write(&[WriteOp::Put("default", b"k", &small_v0)], true, false)
        .unwrap();
    // Acknowledged unsynced: `k` gets a large value (a blob record), `j` a small one.
    db.write(
        &[
            WriteOp::Put("default", b"k", &big_v1),
            WriteOp::Put("default", b"j", &small_v1),
        ],
        false,
        false,
    )
    .unwrap();
    // The power goes out now: the WAL keeps what was written, the blob files what was synced.
    copy_dir(&db_dir, &image);
    drop(db);
    titan::simulate_power_loss(&image.join("blob")).unwrap();

    let db = open(&image);
    let k = db.get("default", b"k", true).unwrap();
    let j = db.get("default", b"j", true).unwrap();
    let before = (Some(small_v0), None);
    let after = (Some(big_v1), Some(small_v1));
    let got = (k, j);
    assert!(
        got == before || got == after,
        "the recovered state is no prefix of the history: k = {:?} bytes, j = {:?} bytes \
         (the synced batch alone: k = 18 bytes, j absent; with the unsynced one: k = 6000, j = 20)",
        got.0.as_ref().map(Vec::len),
        got.1.as_ref().map(Vec::len),
    );
    // The discarded WAL tail stays discarded: RocksDB flushed what it replayed and moved its
    // log number past the old logs, so a second open (with no file to check any more) finds
    // the same state, and new writes stick.
    db.write(&[WriteOp::Put("default", b"new", b"after")], true, false)
        .unwrap();
    drop(db);
    let db = open(&image);
    let again = (
        db.get("default", b"k", true).unwrap(),
        db.get("default", b"j", true).unwrap(),
    );
    assert_eq!(again, got, "a second open found another state");
    assert_eq!(
        db.get("default", b"new", true).unwrap().as_deref(),
        Some(&b"after"[..])
    );
}

fn big(i: u32) -> Vec<u8> {
    let mut v = vec![(i % 251) as u8; 5000];
    v[..4].copy_from_slice(&i.to_le_bytes());
    v
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// Copies the open database (the WAL as written), cuts the blob files of the copy to their
/// last fsync, reopens it and returns it.
fn power_cut_image(db: TitanDb, db_dir: &Path, image: &Path, profile: &OptionsProfile) -> TitanDb {
    copy_dir(db_dir, image);
    drop(db);
    titan::simulate_power_loss(&image.join("blob")).unwrap();
    open_with(image, profile)
}

#[test]
fn a_manual_flush_makes_the_records_of_unsynced_writes_durable_first() {
    let root = tempfile::tempdir().unwrap();
    let (db_dir, image) = (root.path().join("db"), root.path().join("image"));
    let profile = OptionsProfile::load("default").unwrap();
    let db = open_with(&db_dir, &profile);
    for i in 0..50 {
        db.write(&[WriteOp::Put("default", &key(i), &big(i))], false, false)
            .unwrap();
    }
    // RocksDB's own flush, not one Titan asks for: only the listener can sync the records.
    db.rocks().flush().unwrap();
    assert!(
        !db.rocks().live_files().unwrap().is_empty(),
        "an SST was written"
    );
    let db = power_cut_image(db, &db_dir, &image, &profile);
    for i in 0..50 {
        assert_eq!(
            db.get("default", &key(i), true).unwrap(),
            Some(big(i)),
            "key {i} was in the flushed SST; its record must have been durable before it"
        );
    }
}

#[test]
fn automatic_flushes_leave_a_prefix_covering_every_flushed_key() {
    let root = tempfile::tempdir().unwrap();
    let (db_dir, image) = (root.path().join("db"), root.path().join("image"));
    // Small memtables flush on their own; with two of them a writer (holding Titan's write
    // lock) stalls until a flush is done, so a listener that waited for that lock would hang
    // here. No compaction moves files while the image is copied.
    let profile = OptionsProfile::parse(
        "write_buffer_size: 64KiB\nmax_write_buffer_number: 2\n\
         level0_file_num_compaction_trigger: 1000\nlevel0_slowdown_writes_trigger: 2000\n\
         level0_stop_writes_trigger: 3000\n",
        "test",
    )
    .unwrap();
    let db = open_with(&db_dir, &profile);
    const N: u32 = 3000;
    for i in 0..N {
        db.write(&[WriteOp::Put("default", &key(i), &big(i))], false, false)
            .unwrap();
    }
    // Let every flush under way finish before the "power cut".
    let prop = |name: &str| db.rocks().property_int_value(name).unwrap().unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while prop("rocksdb.num-running-flushes") > 0 || prop("rocksdb.mem-table-flush-pending") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "flushes did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let flushed: u64 = db
        .rocks()
        .live_files()
        .unwrap()
        .iter()
        .map(|f| f.num_entries)
        .sum();
    assert!(flushed > 0, "the small write buffer made RocksDB flush");
    let db = power_cut_image(db, &db_dir, &image, &profile);
    let present: Vec<bool> = (0..N)
        .map(|i| match db.get("default", &key(i), true).unwrap() {
            Some(v) => {
                assert_eq!(v, big(i), "key {i} came back with another value");
                true
            }
            None => false,
        })
        .collect();
    let prefix = present.iter().take_while(|p| **p).count();
    assert!(
        present[prefix..].iter().all(|p| !p),
        "not a prefix: keys 0..{prefix} present, then a gap, then key {} present",
        prefix + present[prefix..].iter().position(|p| *p).unwrap()
    );
    assert!(
        prefix as u64 >= flushed,
        "every key in an SST must survive (its record was fsynced when the flush began): \
         {prefix} present, {flushed} flushed"
    );
}
