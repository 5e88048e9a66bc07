//! `titan::wal`'s WriteBatch parser against the bytes RocksDB itself puts in its WAL: a plain
//! RocksDB writes batches of every kind the rocksdb crate can make, and a WAL filter installed
//! at reopen hands each batch to the parser, which must read it to its end and find exactly
//! the puts, in order.

use std::sync::{Arc, Mutex};

use rust_rocksdb::raw::{self, RawWriteBatch, WalDecision};
use rust_rocksdb::rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch};
use titan::format::{self, BlobIndex};

fn open(opts: &Options, path: &std::path::Path) -> DB {
    let cfs = ["default", "lock"].map(|c| ColumnFamilyDescriptor::new(c, opts.clone()));
    DB::open_cf_descriptors(opts, path, cfs).unwrap()
}

#[test]
fn the_parser_reads_rocksdb_s_own_batches_and_finds_their_puts() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_merge_operator_associative("concat", |_, existing, operands| {
        let mut v = existing.map(<[u8]>::to_vec).unwrap_or_default();
        for o in operands {
            v.extend_from_slice(o);
        }
        Some(v)
    });
    let index = format::encode_index(BlobIndex {
        file: 7,
        offset: 100,
        len: 5000,
    });
    {
        let db = open(&opts, dir.path());
        let lock = db.cf_handle("lock").unwrap();
        // Batch 1: every kind of record, in the default CF and in another one.
        let mut b = WriteBatch::default();
        b.put(b"a", format::encode_inline(b"small"));
        b.put_cf(lock, b"b", &index);
        b.delete(b"c");
        b.delete_cf(lock, b"d");
        b.single_delete(b"e");
        b.single_delete_cf(lock, b"f");
        b.delete_range(b"g", b"h");
        b.delete_range_cf(lock, b"i", b"j");
        b.merge(b"k", b"m1");
        b.merge_cf(lock, b"l", b"m2");
        b.put_log_data(b"log data, not replayed");
        b.put_cf(lock, b"z", format::encode_inline(b"last"));
        db.write(b).unwrap();
        // Batch 2: Titan's own batch type.
        let mut r = RawWriteBatch::new();
        r.put_cf(lock, b"raw", &index);
        r.delete_cf(lock, b"raw-del");
        r.write(&db, false, false).unwrap();
    }
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let s = seen.clone();
    let _filter = raw::set_wal_filter(
        &mut opts,
        Box::new(move |batch: &[u8]| {
            s.lock().unwrap().push(batch.to_vec());
            WalDecision::Continue
        }),
    );
    let db = open(&opts, dir.path());
    let batches = seen.lock().unwrap().clone();
    assert_eq!(batches.len(), 2, "two WAL batches");
    let puts: Vec<Vec<u8>> = titan::wal::put_values(&batches[0])
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(
        puts,
        vec![
            format::encode_inline(b"small"),
            index.clone(),
            format::encode_inline(b"last")
        ]
    );
    assert_eq!(
        titan::wal::put_values(&batches[1]).unwrap(),
        vec![&index[..]]
    );
    // The index points at 100..5100 of file 7: dangling if file 7 now ends before 5100.
    let cut = std::collections::BTreeMap::from([(7u64, 5099u64)]);
    assert_eq!(
        titan::wal::check_batch(&batches[0], &cut),
        WalDecision::StopReplay
    );
    let whole = std::collections::BTreeMap::from([(7u64, 5100u64)]);
    assert_eq!(
        titan::wal::check_batch(&batches[0], &whole),
        WalDecision::Continue
    );
    assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"m1"[..]));
}
