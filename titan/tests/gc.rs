//! Garbage accounting and the greedy GC: decisions from counters, counters equal to a
//! recount, and readers that hold snapshots and iterators across GC.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rust_rocksdb::OptionsProfile;
use titan::{FileUsage, TitanDb, TitanOptions, UsageSource, WriteOp};

const CF: &str = "default";

fn open(path: &Path, topts: TitanOptions) -> TitanDb {
    TitanDb::open(
        path,
        &[CF.to_string()],
        &OptionsProfile::default(),
        topts,
        true,
    )
    .unwrap()
}

fn manual(blob_file_size: u64) -> TitanOptions {
    TitanOptions {
        blob_file_size,
        gc_interval: None,
        ..TitanOptions::default()
    }
}

/// A large value that says which key and round wrote it.
fn value(key: u32, round: u32, len: usize) -> Vec<u8> {
    let mut v = format!("k{key} r{round} ").into_bytes();
    v.resize(len, (key as u8).wrapping_mul(31).wrapping_add(round as u8));
    v
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:04}").into_bytes()
}

/// An unsynced put of `value(i, round, len)` at `key(i)`.
fn put(db: &TitanDb, i: u32, round: u32, len: usize) {
    db.write(
        &[WriteOp::Put(CF, &key(i), &value(i, round, len))],
        false,
        false,
    )
    .unwrap();
}

/// An unsynced delete of `key(i)`.
fn delete(db: &TitanDb, i: u32) {
    db.write(&[WriteOp::Delete(CF, &key(i))], false, false)
        .unwrap();
}

/// The accounting's live/total per file that GC may still act on, against a recount of the
/// same files.
fn assert_counters_equal_recount(db: &TitanDb, context: &str) {
    let counted: BTreeMap<u64, FileUsage> = db.recount_usage().unwrap();
    let kept: BTreeMap<u64, (u64, u64)> = db
        .usage()
        .into_iter()
        .filter(|(_, f)| !f.obsolete)
        .map(|(n, f)| (n, (f.total, f.live)))
        .collect();
    let recounted: BTreeMap<u64, (u64, u64)> = counted
        .into_iter()
        .filter(|(n, _)| kept.contains_key(n) || !db.usage().contains_key(n))
        .map(|(n, f)| (n, (f.total, f.live)))
        .collect();
    assert_eq!(
        kept, recounted,
        "{context}: the counters (left) differ from a recount from the LSM (right)"
    );
    assert_eq!(db.usage_drift(), 0, "{context}: the accounting drifted");
}

#[test]
fn a_gc_decision_reads_no_blob_file_among_200() {
    let dir = tempfile::tempdir().unwrap();
    // Two 5000-byte records a file: 200 sealed files from 400 keys.
    let db = open(dir.path(), manual(9000));
    for i in 0..401 {
        put(&db, i, 0, 5000);
    }
    let sealed = db.blob_file_stats().len() - 1;
    assert!(sealed >= 200, "{sealed} sealed blob files");
    // One overwrite: its old record is garbage, far below the target space amplification.
    put(&db, 7, 1, 5000);
    let reads = db.blob_reads();
    let report = db.gc(false).unwrap();
    assert_eq!(
        db.blob_reads() - reads,
        0,
        "the decision came from the counters: no blob file was read ({report:?})"
    );
    assert!(report.files_rewritten.is_empty(), "{report:?}");
    let garbage: Vec<u64> = db
        .blob_file_stats()
        .iter()
        .filter(|s| s.garbage_bytes > 0)
        .map(|s| s.number)
        .collect();
    assert_eq!(
        garbage.len(),
        1,
        "exactly the overwritten record's file has garbage"
    );

    // Its neighbour overwritten too: the file holds nothing live and GC drops it, reading
    // that one file's keys and no value.
    put(&db, 6, 1, 5000);
    let reads = db.blob_reads();
    let report = db.gc(false).unwrap();
    assert_eq!(report.files_dropped_whole, garbage, "{report:?}");
    assert_eq!(report.files_deleted, garbage, "{report:?}");
    assert_eq!(
        db.blob_reads() - reads,
        1,
        "one key scan of the victim only"
    );
    for i in 0..401 {
        let round = u32::from(i == 6 || i == 7);
        assert_eq!(
            db.get(CF, &key(i), true).unwrap(),
            Some(value(i, round, 5000))
        );
    }
}

#[test]
fn greedy_gc_picks_the_file_with_the_most_garbage_and_meets_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        TitanOptions {
            target_space_amp: 1.5,
            gc_min_garbage_ratio: 0.1,
            ..manual(50_000)
        },
    );
    // 10 records a file, 10 files.
    for i in 0..100 {
        put(&db, i, 0, 5000);
    }
    // File of keys 0..10 loses 8 records, the file of 10..20 loses 3: S = 100/89 < 1.5.
    for i in (0..8).chain(10..13) {
        delete(&db, i);
    }
    assert!(
        db.gc(false).unwrap().files_rewritten.is_empty(),
        "under target"
    );
    // Keys 20..60 deleted too: S > 1.5. Those four files hold nothing live and go whole;
    // that brings S under the target again, so the partly live ones stay.
    for i in 20..60 {
        delete(&db, i);
    }
    let (total, live) = db.blob_totals();
    assert!(total as f64 > 1.5 * live as f64, "{total} / {live}");
    let report = db.gc(false).unwrap();
    assert_eq!(report.files_dropped_whole.len(), 4, "{report:?}");
    let (total, live) = db.blob_totals();
    assert!(total as f64 <= 1.5 * live as f64, "{total} / {live}");
    // Forced, every file with garbage is rewritten, the one with most first.
    let first_file = db.blob_file_stats()[0].number;
    let report = db.gc(true).unwrap();
    assert_eq!(
        report.files_rewritten.first(),
        Some(&first_file),
        "{report:?}"
    );
    for i in 0..100 {
        let want = (!((0..8).contains(&i) || (10..13).contains(&i) || (20..60).contains(&i)))
            .then(|| value(i, 0, 5000));
        assert_eq!(db.get(CF, &key(i), true).unwrap(), want, "key {i}");
    }
    assert_counters_equal_recount(&db, "after forced GC");
}

/// A tiny deterministic generator (xorshift), so a failure names a reproducible seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn counters_persisted_at_close_equal_a_full_recount_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let topts = TitanOptions {
        target_space_amp: 1.3,
        ..manual(40_000)
    };
    let mut rng = Rng(0x5eed);
    {
        let db = open(dir.path(), topts.clone());
        assert!(matches!(db.usage_source(), UsageSource::Recounted(_)));
        for round in 0..600u32 {
            let k = rng.below(24) as u32;
            let big = value(k, round, 4096 + rng.below(3000) as usize);
            let small = value(k, round, 100);
            let (ka, kb) = (key(k), key((k + 1) % 24));
            let (lo, hi) = (key(k.min(20)), key(k.min(20) + 3));
            let k0 = key(0);
            let ops: Vec<WriteOp<'_>> = match rng.below(7) {
                0 => vec![WriteOp::Put(CF, &ka, &small)],
                1 => vec![WriteOp::Delete(CF, &ka)],
                2 => vec![WriteOp::DeleteRange(CF, &lo, &hi)],
                // The same key twice in one batch: the first record is garbage at once.
                3 => vec![WriteOp::Put(CF, &ka, &big), WriteOp::Put(CF, &ka, &big)],
                4 => vec![
                    WriteOp::Put(CF, &kb, &big),
                    WriteOp::DeleteRange(CF, &lo, &hi),
                    WriteOp::Put(CF, &ka, &big),
                ],
                // Overlapping ranges in one batch: each record is garbage once.
                5 => vec![
                    WriteOp::DeleteRange(CF, &lo, &hi),
                    WriteOp::Put(CF, &ka, &big),
                    WriteOp::DeleteRange(CF, &k0, &hi),
                    WriteOp::Delete(CF, &kb),
                ],
                _ => vec![WriteOp::Put(CF, &ka, &big)],
            };
            db.write(&ops, rng.below(10) == 0, false).unwrap();
            if round % 97 == 0 {
                db.gc(false).unwrap();
            }
            if round % 150 == 0 {
                assert_counters_equal_recount(&db, &format!("round {round}"));
            }
        }
        assert_counters_equal_recount(&db, "before close");
    }
    let db = open(dir.path(), topts.clone());
    assert_eq!(db.usage_source(), &UsageSource::Persisted);
    assert_counters_equal_recount(&db, "after a clean reopen");
    assert!(
        !dir.path()
            .join("blob")
            .join(titan::usage::USAGE_FILE)
            .exists(),
        "open deletes the counters file, so a crash from here on recounts"
    );
    drop(db);
    // Counters that disagree with the files are not trusted.
    let usage = dir.path().join("blob").join(titan::usage::USAGE_FILE);
    let text = std::fs::read_to_string(&usage).unwrap();
    let damaged = text.replacen(" ", " 1", 1);
    std::fs::write(&usage, damaged).unwrap();
    let db = open(dir.path(), topts);
    let UsageSource::Recounted(why) = db.usage_source() else {
        panic!("damaged counters were used");
    };
    assert!(why.contains("USAGE"), "{why}");
    assert_counters_equal_recount(&db, "after a recount");
}

#[test]
fn snapshots_and_iterators_read_their_values_while_background_gc_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        TitanOptions {
            blob_file_size: 64 << 10,
            target_space_amp: 1.2,
            gc_min_garbage_ratio: 0.05,
            gc_interval: Some(Duration::from_millis(5)),
            ..TitanOptions::default()
        },
    );
    const KEYS: u32 = 40;
    for i in 0..KEYS {
        put(&db, i, 0, 6000);
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 1..150 {
                for i in 0..KEYS {
                    put(&db, i, round, 6000);
                }
            }
            done.store(true, Ordering::Release);
        });
        for _reader in 0..2 {
            s.spawn(|| {
                let mut checks = 0;
                while !done.load(Ordering::Acquire) || checks < 3 {
                    let snap = db.snapshot();
                    // Every key of one snapshot is from the same round or a later key from
                    // an earlier one: the writer goes key by key, round by round.
                    let mut it = snap
                        .raw_iterator(CF, rust_rocksdb::rocksdb::ReadOptions::default())
                        .unwrap();
                    it.seek_to_first();
                    let mut rounds = Vec::new();
                    while let (Some(k), Some(raw)) = (it.key(), it.value()) {
                        let v = db.resolve(CF, k, raw).unwrap();
                        let i: u32 = std::str::from_utf8(&k[3..]).unwrap().parse().unwrap();
                        let head = &v[..v.len().min(16)];
                        let round: u32 = String::from_utf8_lossy(head)
                            .split(' ')
                            .nth(1)
                            .and_then(|r| r.strip_prefix('r'))
                            .and_then(|r| r.parse().ok())
                            .unwrap_or_else(|| panic!("key {i}: not a value this test wrote"));
                        assert_eq!(v, value(i, round, 6000), "key {i}");
                        rounds.push(round);
                        it.next();
                    }
                    assert_eq!(rounds.len() as u32, KEYS);
                    assert!(
                        rounds.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1),
                        "one snapshot sees one point of the writer's order: {rounds:?}"
                    );
                    // The same snapshot read again later, after more GC, says the same.
                    std::thread::sleep(Duration::from_millis(3));
                    for (i, round) in rounds.iter().enumerate() {
                        assert_eq!(
                            snap.get(CF, &key(i as u32)).unwrap(),
                            Some(value(i as u32, *round, 6000))
                        );
                    }
                    checks += 1;
                }
            });
        }
    });
    assert!(
        db.counters().gc_files_deleted.load(Ordering::Relaxed) > 0,
        "background GC ran and deleted files beside the readers"
    );
    assert_counters_equal_recount(&db, "after concurrent GC");
}

#[test]
fn a_checkpoint_holds_its_blob_values_after_the_source_collects_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path().join("db").as_path(), manual(20_000));
    for i in 0..20 {
        put(&db, i, 0, 5000);
    }
    let copy = dir.path().join("copy");
    db.checkpoint(&copy).unwrap();
    assert!(
        db.checkpoint(&copy).is_err(),
        "an existing directory is refused"
    );
    for i in 0..20 {
        put(&db, i, 1, 5000);
    }
    let report = db.gc(true).unwrap();
    assert!(!report.files_deleted.is_empty(), "{report:?}");
    let cp = open(&copy, manual(20_000));
    assert!(matches!(cp.usage_source(), UsageSource::Recounted(_)));
    for i in 0..20 {
        assert_eq!(cp.get(CF, &key(i), true).unwrap(), Some(value(i, 0, 5000)));
        assert_eq!(db.get(CF, &key(i), true).unwrap(), Some(value(i, 1, 5000)));
    }
    assert_counters_equal_recount(&cp, "the checkpoint");
}

#[test]
fn an_ingest_puts_large_values_in_a_blob_file_and_counts_what_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), manual(1 << 20));
    for i in 0..10 {
        put(&db, i, 0, 5000);
    }
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (5..15)
        .map(|i| (key(i), value(i, 1, if i % 2 == 0 { 6000 } else { 10 })))
        .collect();
    let unsorted = vec![entries[1].clone(), entries[0].clone()];
    assert!(
        db.ingest(CF, &unsorted).is_err(),
        "keys out of order are refused"
    );
    db.ingest(CF, &entries).unwrap();
    for i in 0..15 {
        let want = if i < 5 {
            value(i, 0, 5000)
        } else {
            value(i, 1, if i % 2 == 0 { 6000 } else { 10 })
        };
        assert_eq!(db.get(CF, &key(i), true).unwrap(), Some(want), "key {i}");
    }
    assert_counters_equal_recount(&db, "after the ingest");
    let garbage: u64 = db.blob_file_stats().iter().map(|s| s.garbage_bytes).sum();
    assert!(
        garbage > 5 * 5000,
        "the five replaced records are garbage: {garbage}"
    );
}

#[test]
fn a_large_file_under_the_ratio_does_not_hide_the_files_over_it() {
    let dir = tempfile::tempdir().unwrap();
    // One 150 KB file first (30 records), then ten files of four records.
    {
        let db = open(dir.path(), manual(200_000));
        for i in 0..30 {
            put(&db, i, 0, 5000);
        }
    }
    let topts = TitanOptions {
        target_space_amp: 1.3,
        gc_min_garbage_ratio: 0.2,
        ..manual(20_000)
    };
    let db = open(dir.path(), topts);
    for i in 100..140 {
        put(&db, i, 0, 5000);
    }
    // The big file loses 5 of 30 (the most garbage bytes, ratio 0.17); each small file
    // loses 2 of 4 (ratio 0.5).
    for i in (0..5).chain((100..140).filter(|i| i % 4 < 2)) {
        delete(&db, i);
    }
    let big = db.blob_file_stats()[0].clone();
    assert!(big.garbage_bytes > 20_000, "{big:?}");
    let report = db.gc(false).unwrap();
    assert!(!report.files_rewritten.is_empty(), "{report:?}");
    assert!(
        !report.files_rewritten.contains(&big.number),
        "the big file is under the ratio: {report:?}"
    );
    assert_counters_equal_recount(&db, "after GC");
}

#[test]
fn a_damaged_victim_fails_the_pass_but_not_the_other_victims() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), manual(9000));
    // Two records a file; the second of each is overwritten.
    for i in 0..8 {
        put(&db, i, 0, 5000);
    }
    for i in (1..8).step_by(2) {
        put(&db, i, 1, 5000);
    }
    let half: Vec<u64> = db.blob_file_stats()[..4].iter().map(|s| s.number).collect();
    // Damage the live record (k0) of the first file: its value, not its key.
    let path = db.blob_dir().join(format!("{:06}.blob", half[0]));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[12 + 100] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = db.gc(true).unwrap_err();
    assert!(matches!(err, titan::Error::Corruption { .. }), "{err}");
    let left: Vec<u64> = db.blob_file_stats().iter().map(|s| s.number).collect();
    assert!(left.contains(&half[0]), "the damaged file stays: {left:?}");
    for n in &half[1..] {
        assert!(
            !left.contains(n),
            "file {n} was collected past the damaged one: {left:?}"
        );
    }
    for i in 1..8 {
        let round = u32::from(i % 2 == 1);
        assert_eq!(
            db.get(CF, &key(i), true).unwrap(),
            Some(value(i, round, 5000))
        );
    }
}
