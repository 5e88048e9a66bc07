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

use std::path::Path;

use rust_rocksdb::OptionsProfile;
use titan::{TitanDb, TitanOptions, WriteOp};

const CFS: [&str; 1] = ["default"];

fn open(path: &Path) -> TitanDb {
    let cfs: Vec<String> = CFS.iter().map(|s| s.to_string()).collect();
    TitanDb::open(
        path,
        &cfs,
        &OptionsProfile::load("default").unwrap(),
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
}
