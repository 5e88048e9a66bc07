//! The Titan database: RocksDB for keys and small values, blob files for large ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rust_rocksdb::raw::{self, RawWriteBatch, WalDecision, WalFilter};
use rust_rocksdb::rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, Options, SliceTransform};
use rust_rocksdb::{OptionsProfile, Status};

use crate::format::{self, BlobIndex, LsmValue};
use crate::storage::{BlobStorage, ScannedRecord};
use crate::{Error, Result};

/// Tuning of the separation layer.
#[derive(Clone, Debug)]
pub struct TitanOptions {
    /// Values of this many bytes and more go to blob files (default 4 KiB).
    pub min_blob_size: usize,
    /// A blob file is sealed and a new one started at this size (default 64 MiB).
    pub blob_file_size: u64,
    /// GC rewrites a file once this fraction of it is garbage (default 0.5).
    pub gc_garbage_ratio: f64,
    /// How often background GC looks for garbage; `None` disables it (default 10 s).
    pub gc_interval: Option<Duration>,
    /// Log each blob file's synced length (`blob/SYNCED`), so a test can simulate a power
    /// loss with [`crate::storage::simulate_power_loss`] (default off).
    pub record_synced_lengths: bool,
    /// A fixed prefix extractor of this many bytes on every column family, for prefix seek
    /// (`prefix_same_as_start` in RocksDB's read options); `None` sets none (default). 0 is
    /// refused at open.
    pub prefix_len: Option<usize>,
}

impl Default for TitanOptions {
    fn default() -> Self {
        TitanOptions {
            min_blob_size: 4096,
            blob_file_size: 64 << 20,
            gc_garbage_ratio: 0.5,
            gc_interval: Some(Duration::from_secs(10)),
            record_synced_lengths: false,
            prefix_len: None,
        }
    }
}

/// One write of a batch, as Titan applies it.
#[derive(Clone, Copy, Debug)]
pub enum WriteOp<'a> {
    /// `key = value`.
    Put(&'a str, &'a [u8], &'a [u8]),
    /// Delete `key`.
    Delete(&'a str, &'a [u8]),
    /// Delete `[start, end)`.
    DeleteRange(&'a str, &'a [u8], &'a [u8]),
}

/// Counters since open.
#[derive(Debug, Default)]
pub struct TitanCounters {
    /// Key and value bytes callers wrote.
    pub user_bytes_written: AtomicU64,
    /// Blob record bytes appended by writes.
    pub blob_bytes_written: AtomicU64,
    /// Blob record bytes rewritten by GC.
    pub gc_bytes_rewritten: AtomicU64,
    /// Blob files GC deleted.
    pub gc_files_deleted: AtomicU64,
}

/// Live and garbage bytes of one blob file, from a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobFileStats {
    /// File number.
    pub number: u64,
    /// Record bytes still referenced by the LSM.
    pub live_bytes: u64,
    /// Record bytes nothing references.
    pub garbage_bytes: u64,
}

/// What one GC pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Files rewritten (their live records moved to new files).
    pub files_rewritten: Vec<u64>,
    /// Record bytes moved.
    pub bytes_rewritten: u64,
    /// Files deleted in this pass (rewritten now or earlier, once no reader needed them).
    pub files_deleted: Vec<u64>,
}

/// Sequence numbers pinned by snapshots, iterators and reads in flight: a blob file made
/// obsolete by a GC commit at sequence `g` is deleted only once no pin is below `g`.
#[derive(Debug, Default)]
struct Pins {
    by_seq: Mutex<BTreeMap<u64, usize>>,
}

/// Keeps blob files readable while held. Taken before the LSM read it protects.
pub struct Pin<'a> {
    db: &'a Inner,
    seq: u64,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        let mut m = self
            .db
            .pins
            .by_seq
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.seq) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.seq);
            }
        }
    }
}

struct Inner {
    db: DB,
    opts: Options,
    blobs: Arc<BlobStorage>,
    topts: TitanOptions,
    /// Serialises writes, so "blob append, then LSM write" is one step and GC can commit
    /// "only where the key still points at the old record" without a race.
    write_lock: Mutex<()>,
    pins: Pins,
    /// Files rewritten by GC, with the sequence number after the commit that unlinked them.
    obsolete: Mutex<Vec<(u64, u64)>>,
    counters: TitanCounters,
    path: PathBuf,
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    /// RocksDB's options hold a plain pointer to it: dropped after `db` (field order).
    _wal_filter: WalFilter,
}

/// A Titan database. Dropping it stops background GC and seals the active blob file.
pub struct TitanDb {
    inner: Arc<Inner>,
    gc_thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TitanDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TitanDb")
            .field("path", &self.inner.path)
            .field("options", &self.inner.topts)
            .finish()
    }
}

impl Inner {
    fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::Rocks(Status::invalid(format!("unknown column family {name:?}"))))
    }

    fn pin(&self) -> Pin<'_> {
        let mut m = self.pins.by_seq.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.db.latest_sequence_number();
        *m.entry(seq).or_insert(0) += 1;
        Pin { db: self, seq }
    }

    fn resolve(&self, cf: &str, key: &[u8], raw: &[u8]) -> Result<Vec<u8>> {
        match format::decode_lsm(raw) {
            Some(LsmValue::Inline(v)) => Ok(v.to_vec()),
            Some(LsmValue::Blob(idx)) => self.blobs.file(idx.file)?.read(idx, cf, key),
            None => Err(Error::Corruption {
                message: "LSM value has an unknown tag".into(),
                file: None,
                offset: None,
            }),
        }
    }

    /// After recovery found blob files the previous process was still appending to: deletes
    /// every LSM entry pointing past where such a file's records now end. The last line of
    /// defence, not the recovery: the WAL filter (`crate::wal`) already stopped replay at the
    /// first WAL batch with such an index, and a flush fsyncs the records before an SST points
    /// at them, so such an entry only exists when an fsync was skipped (the
    /// `titan::blob::skip_fsync` site), a flush listener's fsync failed, or a blob file lost
    /// synced data; deleting the key then keeps the rest readable, but cannot bring back the
    /// key's earlier value. Costs one LSM scan, only after a crash.
    fn drop_dangling_indexes(&self, cfs: &[String], truncated: &[(u64, u64)]) -> Result<()> {
        let mut batch = RawWriteBatch::new();
        for cf in cfs {
            let handle = self.cf(cf)?;
            let mut it = self.db.raw_iterator_cf(handle);
            it.seek_to_first();
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                if let Some(LsmValue::Blob(idx)) = format::decode_lsm(v)
                    && truncated
                        .iter()
                        .any(|(f, at)| *f == idx.file && idx.offset + u64::from(idx.len) > *at)
                {
                    batch.delete_cf(handle, k);
                }
                it.next();
            }
            it.status()?;
        }
        if batch.count() > 0 {
            batch.write(&self.db, true, false)?;
        }
        Ok(())
    }

    fn purge_obsolete(&self, report: &mut GcReport) -> Result<()> {
        let min_pin = self
            .pins
            .by_seq
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .next()
            .copied();
        let mut obsolete = self.obsolete.lock().unwrap_or_else(|e| e.into_inner());
        let mut keep = Vec::new();
        for (file, seq) in obsolete.drain(..) {
            if min_pin.is_none_or(|p| p >= seq)
                && crate::fail_point("titan::gc::delete_obsolete").is_ok()
            {
                self.blobs.delete(file)?;
                self.counters
                    .gc_files_deleted
                    .fetch_add(1, Ordering::Relaxed);
                report.files_deleted.push(file);
            } else {
                keep.push((file, seq));
            }
        }
        *obsolete = keep;
        Ok(())
    }

    /// Whether the LSM still points `cf/key` at `idx`.
    fn points_at(&self, cf: &str, key: &[u8], idx: BlobIndex) -> Result<bool> {
        let raw = self.db.get_cf(self.cf(cf)?, key)?;
        Ok(
            matches!(raw.as_deref().and_then(format::decode_lsm), Some(LsmValue::Blob(i)) if i == idx),
        )
    }

    fn file_stats(&self, number: u64) -> Result<(BlobFileStats, Vec<ScannedRecord>)> {
        let file = self.blobs.file(number)?;
        let mut stats = BlobFileStats {
            number,
            live_bytes: 0,
            garbage_bytes: 0,
        };
        let mut live = Vec::new();
        for rec in file.scan()? {
            let len = u64::from(rec.index.len);
            if self.points_at(&rec.cf, &rec.key, rec.index)? {
                stats.live_bytes += len;
                live.push(rec);
            } else {
                stats.garbage_bytes += len;
            }
        }
        Ok((stats, live))
    }

    fn gc(&self, force: bool) -> Result<GcReport> {
        let mut report = GcReport::default();
        let active = self.blobs.active_number();
        let pending: Vec<u64> = self
            .obsolete
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(f, _)| *f)
            .collect();
        for file in self.blobs.files() {
            if Some(file.number) == active || pending.contains(&file.number) {
                continue;
            }
            let (stats, live) = self.file_stats(file.number)?;
            let total = stats.live_bytes + stats.garbage_bytes;
            let ratio = if total == 0 {
                1.0
            } else {
                stats.garbage_bytes as f64 / total as f64
            };
            if stats.garbage_bytes == 0 || (!force && ratio < self.topts.gc_garbage_ratio) {
                continue;
            }
            crate::fail_point("titan::gc::rewrite")?;
            // Rewrite the live records into a new file, outside the write lock.
            let mut out = if live.is_empty() {
                None
            } else {
                Some(self.blobs.create_file()?)
            };
            let mut moved = Vec::with_capacity(live.len());
            for ScannedRecord {
                index: old,
                cf,
                key,
            } in &live
            {
                let value = file.read(*old, cf, key)?;
                let rec = format::encode_record(cf, key, &value);
                let new = self
                    .blobs
                    .append_to(out.as_mut().expect("live records exist"), &[rec])?[0];
                report.bytes_rewritten += new.len as u64;
                moved.push((cf.as_str(), key.as_slice(), *old, new));
            }
            if let Some(out) = out {
                // The new file is complete and durable before any index points at it.
                self.blobs.seal(out)?;
            }
            crate::fail_point("titan::gc::commit")?;
            // Commit: point keys at the new records only where they still point at the old.
            let seq_after = {
                let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
                let mut batch = RawWriteBatch::new();
                for (cf, key, old, new) in &moved {
                    if self.points_at(cf, key, *old)? {
                        batch.put_cf(self.cf(cf)?, key, &format::encode_index(*new));
                    }
                }
                if batch.count() > 0 {
                    batch.write(&self.db, true, false)?;
                }
                self.db.latest_sequence_number()
            };
            self.counters
                .gc_bytes_rewritten
                .fetch_add(report.bytes_rewritten, Ordering::Relaxed);
            self.obsolete
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((file.number, seq_after));
            report.files_rewritten.push(file.number);
        }
        self.purge_obsolete(&mut report)?;
        Ok(report)
    }
}

/// A snapshot: RocksDB's, plus a pin that keeps the blob files it can see.
pub struct TitanSnapshot<'a> {
    snap: rust_rocksdb::rocksdb::SnapshotWithThreadMode<'a, DB>,
    _pin: Pin<'a>,
    db: &'a TitanDb,
}

impl TitanSnapshot<'_> {
    /// The value of `key` in `cf` as of the snapshot.
    pub fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let inner = &self.db.inner;
        match self.snap.get_cf(inner.cf(cf)?, key)? {
            Some(raw) => inner.resolve(cf, key, &raw).map(Some),
            None => Ok(None),
        }
    }

    /// A raw iterator over `cf` at the snapshot; values are encoded (see [`TitanDb::resolve`]).
    pub fn raw_iterator(
        &self,
        cf: &str,
        opts: rust_rocksdb::rocksdb::ReadOptions,
    ) -> Result<rust_rocksdb::rocksdb::DBRawIteratorWithThreadMode<'_, DB>> {
        Ok(self.snap.raw_iterator_cf_opt(self.db.inner.cf(cf)?, opts))
    }
}

impl TitanDb {
    /// Opens (or creates) a Titan database in `path`: RocksDB in `path`, blob files in
    /// `path/blob`. `profile` is a rust-rocksdb options profile; `cfs` must include every
    /// column family the database has (and `default`).
    pub fn open(
        path: &Path,
        cfs: &[String],
        profile: &OptionsProfile,
        topts: TitanOptions,
        create_if_missing: bool,
    ) -> Result<TitanDb> {
        let (mut opts, _) = rust_rocksdb::open_options(profile);
        // Before anything touches the disk: a bad length must not leave a blob directory.
        if let Some(n) = topts.prefix_len {
            if n == 0 {
                return Err(Error::Rocks(Status::invalid(
                    "TitanOptions::prefix_len must be at least 1".into(),
                )));
            }
            opts.set_prefix_extractor(SliceTransform::create_fixed_prefix(n));
        }
        opts.create_if_missing(create_if_missing);
        opts.create_missing_column_families(true);
        if path.exists() && !path.is_dir() {
            return Err(Error::io(
                std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "the engine path exists and is not a directory",
                ),
                path,
            ));
        }
        if !create_if_missing && !path.join("CURRENT").exists() {
            // RocksDB would refuse too, but the blob storage, opened first, would create
            // `path/blob` before it could.
            return Err(Error::Rocks(Status::invalid(format!(
                "{}: no database here (create_if_missing is false)",
                path.display()
            ))));
        }
        // The blob files first: recovery truncates the files the previous process was
        // appending to, and RocksDB's replay of the WAL must know where they now end.
        let (blobs, truncated) = BlobStorage::open_recording(
            &path.join("blob"),
            topts.blob_file_size,
            topts.record_synced_lengths,
        )?;
        let blobs = Arc::new(blobs);
        // Prefix recovery (see `crate::wal`): replay stops at the first WAL batch with an
        // index past where its file now ends, so a power cut that kept the WAL's unsynced
        // tail and dropped the blob file's comes back as a prefix of the history.
        let ends: BTreeMap<u64, u64> = truncated.iter().copied().collect();
        let wal_filter = raw::set_wal_filter(
            &mut opts,
            Box::new(move |batch: &[u8]| {
                if ends.is_empty() {
                    WalDecision::Continue
                } else {
                    crate::wal::check_batch(batch, &ends)
                }
            }),
        );
        // No SST may point at a blob record a power loss can take: before RocksDB writes a
        // memtable out, the active file's records are fsynced. The listener runs on a RocksDB
        // thread while a writer may hold the write lock, stalled on this very flush: it takes
        // neither that lock nor the storage's append lock (`BlobStorage::sync_for_flush`).
        let for_flush = blobs.clone();
        raw::add_flush_begin_listener(&mut opts, Box::new(move || for_flush.sync_for_flush()));
        let descriptors = cfs
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c, opts.clone()));
        let db = DB::open_cf_descriptors(&opts, path, descriptors)?;
        let inner = Arc::new(Inner {
            db,
            opts,
            blobs,
            topts: topts.clone(),
            write_lock: Mutex::new(()),
            pins: Pins::default(),
            obsolete: Mutex::new(Vec::new()),
            counters: TitanCounters::default(),
            path: path.to_path_buf(),
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
            _wal_filter: wal_filter,
        });
        if !truncated.is_empty() {
            inner.drop_dangling_indexes(cfs, &truncated)?;
        }
        inner.blobs.finish_recovery()?;
        let gc_thread = topts.gc_interval.map(|interval| {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("titan-gc".into())
                .spawn(move || {
                    let (lock, cv) = &inner.wake;
                    loop {
                        // `stop` is set under this mutex, so checking it here and waiting
                        // cannot miss the wake-up from Drop.
                        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                        if inner.stop.load(Ordering::Acquire) {
                            break;
                        }
                        let (guard, _) = cv
                            .wait_timeout(guard, interval)
                            .unwrap_or_else(|e| e.into_inner());
                        drop(guard);
                        if inner.stop.load(Ordering::Acquire) {
                            break;
                        }
                        // A failed pass leaves every key readable (GC commits only what it
                        // finished); the next pass tries again.
                        let _ = inner.gc(false);
                    }
                })
                .expect("spawning the GC thread")
        });
        Ok(TitanDb { inner, gc_thread })
    }

    /// The RocksDB handle (for column family handles and properties).
    pub fn rocks(&self) -> &DB {
        &self.inner.db
    }

    /// The options RocksDB was opened with (they own its statistics).
    pub fn rocks_options(&self) -> &Options {
        &self.inner.opts
    }

    /// The separation options.
    pub fn options(&self) -> &TitanOptions {
        &self.inner.topts
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Applies `ops` atomically. Large values are appended to the active blob file first
    /// (and fsynced when `sync`, before RocksDB syncs its WAL), then one RocksDB batch with
    /// their indexes is written: a crash in between leaves unreferenced blob records
    /// (garbage), never a dangling index. Unsynced, neither file is fsynced: a power cut may
    /// keep the WAL's batch and drop the blob record, and recovery then stops replaying the
    /// WAL at that batch (`crate::wal`), so the database comes back as a prefix of the
    /// history. A flush fsyncs the blob file before writing an SST (the flush listener).
    pub fn write(&self, ops: &[WriteOp<'_>], sync: bool, disable_wal: bool) -> Result<()> {
        let inner = &*self.inner;
        let _w = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let big: Vec<Vec<u8>> = ops
            .iter()
            .filter_map(|op| match op {
                WriteOp::Put(cf, k, v) if v.len() >= inner.topts.min_blob_size => {
                    Some(format::encode_record(cf, k, v))
                }
                _ => None,
            })
            .collect();
        let mut indexes = Vec::new().into_iter();
        if !big.is_empty() {
            crate::fail_point("titan::blob::append")?;
            // Synced: the records are durable before the WAL sync makes their indexes durable.
            // Unsynced: no fsync (a power cut that keeps the index and drops the record is
            // recovered as a prefix by the WAL filter), unless a flush listener's fsync failed
            // since: then this write syncs, as the flush could not.
            let retry = inner.blobs.take_flush_sync_failure();
            let sync_blobs = sync || retry;
            let skip_sync = sync_blobs && crate::fail_point_hit("titan::blob::skip_fsync");
            let idx = inner
                .blobs
                .append(&big, sync_blobs && !skip_sync)
                .inspect_err(|_| {
                    if retry {
                        // Not synced after all: the next write tries again.
                        inner.blobs.note_flush_sync_failure();
                    }
                })?;
            if sync_blobs && !skip_sync {
                crate::fail_point("titan::blob::fsync")?;
            }
            inner
                .counters
                .blob_bytes_written
                .fetch_add(big.iter().map(|r| r.len() as u64).sum(), Ordering::Relaxed);
            indexes = idx.into_iter();
        } else if sync {
            // This synced batch makes every earlier LSM entry durable with it (one WAL), so
            // the blob records those point at must be durable first: else a power cut keeps
            // the earlier unsynced indexes (synced with this batch) and drops their records.
            inner.blobs.sync_active_if_unsynced()?;
        }
        let mut batch = RawWriteBatch::new();
        let mut user = 0u64;
        for op in ops {
            match *op {
                WriteOp::Put(cf, k, v) => {
                    user += (k.len() + v.len()) as u64;
                    let encoded = if v.len() >= inner.topts.min_blob_size {
                        format::encode_index(indexes.next().expect("one index per large value"))
                    } else {
                        format::encode_inline(v)
                    };
                    batch.put_cf(inner.cf(cf)?, k, &encoded);
                }
                WriteOp::Delete(cf, k) => {
                    user += k.len() as u64;
                    batch.delete_cf(inner.cf(cf)?, k);
                }
                WriteOp::DeleteRange(cf, s, e) => batch.delete_range_cf(inner.cf(cf)?, s, e),
            }
        }
        crate::fail_point("titan::lsm::before_write")?;
        batch.write(&inner.db, sync, disable_wal)?;
        inner
            .counters
            .user_bytes_written
            .fetch_add(user, Ordering::Relaxed);
        Ok(())
    }

    /// The value of `key` in `cf`, resolving blob indexes.
    pub fn get(&self, cf: &str, key: &[u8], fill_cache: bool) -> Result<Option<Vec<u8>>> {
        let inner = &*self.inner;
        let _pin = inner.pin();
        let mut ro = rust_rocksdb::rocksdb::ReadOptions::default();
        ro.fill_cache(fill_cache);
        match inner.db.get_cf_opt(inner.cf(cf)?, key, &ro)? {
            Some(raw) => inner.resolve(cf, key, &raw).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes an LSM value read through a raw iterator: the value itself, or the blob record
    /// it points at.
    pub fn resolve(&self, cf: &str, key: &[u8], raw: &[u8]) -> Result<Vec<u8>> {
        self.inner.resolve(cf, key, raw)
    }

    /// Whether an LSM value is stored inline, and if so, the value (borrowed).
    pub fn inline_value(raw: &[u8]) -> Option<&[u8]> {
        match format::decode_lsm(raw) {
            Some(LsmValue::Inline(v)) => Some(v),
            _ => None,
        }
    }

    /// A pin that keeps every blob file readable that the LSM state as of now references.
    pub fn pin(&self) -> Pin<'_> {
        self.inner.pin()
    }

    /// A snapshot.
    pub fn snapshot(&self) -> TitanSnapshot<'_> {
        let pin = self.inner.pin();
        TitanSnapshot {
            snap: self.inner.db.snapshot(),
            _pin: pin,
            db: self,
        }
    }

    /// Runs one GC pass now. With `force`, any file with garbage is rewritten, whatever its
    /// garbage ratio. The active file is sealed first so it can be collected too.
    pub fn gc(&self, force: bool) -> Result<GcReport> {
        if force {
            let _w = self
                .inner
                .write_lock
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            self.inner.blobs.seal_active()?;
        }
        self.inner.gc(force)
    }

    /// Live and garbage bytes of every sealed blob file (one LSM lookup per record).
    pub fn blob_file_stats(&self) -> Result<Vec<BlobFileStats>> {
        let mut out = Vec::new();
        for f in self.inner.blobs.files() {
            out.push(self.inner.file_stats(f.number)?.0);
        }
        Ok(out)
    }

    /// Counters since open.
    pub fn counters(&self) -> &TitanCounters {
        &self.inner.counters
    }

    /// Bytes of blob files on disk.
    pub fn blob_disk_size(&self) -> u64 {
        self.inner.blobs.disk_size()
    }

    /// The blob directory.
    pub fn blob_dir(&self) -> &Path {
        self.inner.blobs.dir()
    }

    /// Makes the active blob file's records durable, for callers about to make LSM entries
    /// durable some other way (a flush, a manual compaction): RocksDB writes an unsynced
    /// write's index into an SST at a flush, and a power loss must not keep the index while
    /// dropping its record. Every flush does this on its own (the flush-begin listener), but
    /// the listener cannot report a failure; calling this first returns it.
    pub fn sync_blobs(&self) -> Result<()> {
        let _w = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.inner.blobs.sync_active_if_unsynced()
    }

    /// fsyncs the active blob file and the WAL: every write acknowledged so far is durable.
    pub fn sync(&self) -> Result<()> {
        let _w = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // fsync, not seal: sealing here would start a new blob file at every sync() call.
        self.inner.blobs.sync_active()?;
        self.inner.db.flush_wal(true)?;
        Ok(())
    }
}

impl Drop for TitanDb {
    fn drop(&mut self) {
        {
            let _guard = self.inner.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            self.inner.stop.store(true, Ordering::Release);
        }
        self.inner.wake.1.notify_all();
        if let Some(t) = self.gc_thread.take() {
            let _ = t.join();
        }
        let _ = self.inner.blobs.seal_active();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flush listener runs while a writer may hold the write lock and the storage's append
    /// lock, stalled on that very flush: it must need neither. Hold both here and flush from
    /// another thread; a listener that took either would never return.
    #[test]
    fn a_flush_completes_while_the_write_and_append_locks_are_held() {
        let dir = tempfile::tempdir().unwrap();
        let db = TitanDb::open(
            dir.path(),
            &["default".to_string()],
            &OptionsProfile::default(),
            TitanOptions {
                gc_interval: None,
                record_synced_lengths: true,
                ..TitanOptions::default()
            },
            true,
        )
        .unwrap();
        db.write(&[WriteOp::Put("default", b"k", &[1u8; 5000])], false, false)
            .unwrap();
        let inner = db.inner.clone();
        let _w = inner.write_lock.lock().unwrap();
        let _a = inner.blobs.lock_active_for_test();
        let (tx, rx) = std::sync::mpsc::channel();
        let flusher = inner.clone();
        std::thread::spawn(move || tx.send(flusher.db.flush().map_err(|e| e.to_string())));
        let done = rx.recv_timeout(Duration::from_secs(30));
        assert!(
            matches!(done, Ok(Ok(()))),
            "the flush did not finish with the locks held: {done:?}"
        );
        let synced = std::fs::read_to_string(dir.path().join("blob").join("SYNCED")).unwrap();
        assert!(
            !synced.is_empty(),
            "the listener fsynced the blob file and logged its length"
        );
    }
}
