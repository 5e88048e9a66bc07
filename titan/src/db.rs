//! The Titan database: RocksDB for keys and small values, blob files for large ones.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rust_rocksdb::raw::{self, RawWriteBatch, WalDecision, WalFilter};
use rust_rocksdb::rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, Options, SliceTransform};
use rust_rocksdb::{OptionsProfile, Status};

use crate::format::{self, BlobIndex, LsmValue};
use crate::storage::{ActiveFile, BlobStorage, ScannedRecord};
use crate::usage::{FileUsage, Usage, UsageSource};
use crate::{Error, Result};

/// Tuning of the separation layer.
#[derive(Clone, Debug)]
pub struct TitanOptions {
    /// Values of this many bytes and more go to blob files (default 4 KiB).
    pub min_blob_size: usize,
    /// A blob file is sealed and a new one started at this size (default 16 MiB: small
    /// enough that GC can pick victims finely, as TiKV's Titan does with 8 MiB).
    pub blob_file_size: u64,
    /// Background GC keeps blob space amplification (record bytes in blob files / live
    /// record bytes) at or below this (default 1.8, so that with the LSM, the WAL and GC's
    /// lag the whole database stays within 2x). Greedy cleaning under uniform overwrites
    /// costs about 1.35 bytes written per user byte at 1.8, 1.26 at 2.0, 1.7 at 1.5. Writers
    /// of large values wait for GC above 1.1 times this.
    pub target_space_amp: f64,
    /// Background GC never rewrites a file with less garbage than this fraction, whatever
    /// the space amplification (default 0.2): copying a mostly live file buys little space.
    pub gc_min_garbage_ratio: f64,
    /// The background GC thread wakes whenever writes push space amplification over the
    /// target, and at least this often; `None` disables background GC (default 10 s).
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
            blob_file_size: 16 << 20,
            target_space_amp: 1.8,
            gc_min_garbage_ratio: 0.2,
            gc_interval: Some(Duration::from_secs(10)),
            record_synced_lengths: false,
            prefix_len: None,
        }
    }
}

impl TitanOptions {
    /// `InvalidArgument` naming the first setting out of its range.
    fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Rocks(Status::invalid(format!("titan: {what}"))));
        if self.min_blob_size == 0 {
            return bad("min_blob_size must be at least 1 byte".into());
        }
        if self.blob_file_size == 0 {
            return bad("blob_file_size must be at least 1 byte".into());
        }
        if !(self.target_space_amp > 1.0 && self.target_space_amp.is_finite()) {
            return bad(format!(
                "target_space_amp {} must be a number above 1.0",
                self.target_space_amp
            ));
        }
        if !(0.0..=1.0).contains(&self.gc_min_garbage_ratio) {
            return bad(format!(
                "gc_min_garbage_ratio {} must be within 0.0..=1.0",
                self.gc_min_garbage_ratio
            ));
        }
        Ok(())
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
    /// Blob files GC rewrote (their live records moved to new files).
    pub gc_files_rewritten: AtomicU64,
    /// Blob files GC deleted.
    pub gc_files_deleted: AtomicU64,
    /// Record bytes of the files GC deleted.
    pub gc_bytes_reclaimed: AtomicU64,
    /// GC passes run (background and on demand).
    pub gc_passes: AtomicU64,
    /// Microseconds writers waited for GC to catch up (over the stall line).
    pub write_stall_micros: AtomicU64,
}

/// Live and garbage bytes of one blob file, from the garbage accounting.
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
    /// Files whose every record turned out to be garbage: dropped without copying.
    pub files_dropped_whole: Vec<u64>,
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
    /// Every blob file's live and total record bytes (see `crate::usage`).
    usage: Usage,
    usage_source: UsageSource,
    /// One GC pass at a time (background thread and callers of `TitanDb::gc`).
    gc_lock: Mutex<()>,
    /// A GC pass is running (writers over the stall line wait only then).
    gc_running: AtomicBool,
    /// The last background pass was over the target and found nothing to collect.
    gc_found_nothing: AtomicBool,
    /// Bumped whenever GC releases victims or ends a pass, for writers that wait on it.
    gc_progress: (Mutex<u64>, Condvar),
    /// Blob record bytes appended by writes since the last GC pass began.
    appended_since_gc: AtomicU64,
    /// Writes with the WAL disabled so far, and how many of them a flush has made durable:
    /// GC's `make_durable` and the close flush memtables only when the first is ahead.
    unlogged_writes: AtomicU64,
    unlogged_flushed: AtomicU64,
    cfs: Vec<String>,
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
            let mut it = self.db.raw_iterator_cf_opt(handle, total_order());
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
        let mut failed = None;
        for (file, seq) in std::mem::take(&mut *obsolete) {
            let deletable = failed.is_none()
                && min_pin.is_none_or(|p| p >= seq)
                && crate::fail_point("titan::gc::delete_obsolete").is_ok();
            if !deletable {
                keep.push((file, seq));
                continue;
            }
            match self.blobs.delete(file) {
                Ok(()) => {
                    let bytes = self.usage.remove(file).map_or(0, |f| f.total);
                    self.counters
                        .gc_files_deleted
                        .fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .gc_bytes_reclaimed
                        .fetch_add(bytes, Ordering::Relaxed);
                    report.files_deleted.push(file);
                }
                Err(e) => {
                    // Kept, with every file after it, for the next pass.
                    keep.push((file, seq));
                    failed = Some(e);
                }
            }
        }
        *obsolete = keep;
        failed.map_or(Ok(()), Err)
    }

    /// Whether the LSM still points `cf/key` at `idx`.
    fn points_at(&self, cf: &str, key: &[u8], idx: BlobIndex) -> Result<bool> {
        Ok(self.current_index(cf, key)? == Some(idx))
    }

    /// The blob index `cf/key`'s current value is, if it is one.
    fn current_index(&self, cf: &str, key: &[u8]) -> Result<Option<BlobIndex>> {
        let raw = self.db.get_pinned_cf(self.cf(cf)?, key)?;
        Ok(match raw.as_deref().and_then(format::decode_lsm) {
            Some(LsmValue::Blob(i)) => Some(i),
            _ => None,
        })
    }

    /// Record bytes of every blob file on disk, from its size and footer.
    fn record_bytes_on_disk(&self) -> Result<BTreeMap<u64, u64>> {
        self.blobs
            .files()
            .iter()
            .map(|f| Ok((f.number, f.record_bytes()?)))
            .collect()
    }

    /// Counts every file's live bytes from the LSM (one scan of every column family's
    /// current values, no blob file read); totals are `on_disk`
    /// ([`Self::record_bytes_on_disk`]).
    fn recount(&self, on_disk: &BTreeMap<u64, u64>) -> Result<BTreeMap<u64, FileUsage>> {
        let mut files: BTreeMap<u64, FileUsage> = on_disk
            .iter()
            .map(|(&n, &total)| {
                let usage = FileUsage {
                    total,
                    ..FileUsage::default()
                };
                (n, usage)
            })
            .collect();
        for cf in &self.cfs {
            let mut it = self.db.raw_iterator_cf_opt(self.cf(cf)?, total_order());
            it.seek_to_first();
            while let Some(v) = it.value() {
                if let Some(LsmValue::Blob(idx)) = format::decode_lsm(v)
                    && let Some(f) = files.get_mut(&idx.file)
                {
                    f.live += u64::from(idx.len);
                }
                it.next();
            }
            it.status()?;
        }
        Ok(files)
    }

    /// Asks the background GC thread for a pass when writes since the last one have pushed
    /// space amplification over the target. Cheap: one look at the counters every
    /// `blob_file_size / 8` bytes appended.
    fn maybe_wake_gc(&self, appended: u64) {
        let step = (self.topts.blob_file_size / 8).max(1);
        let before = self
            .appended_since_gc
            .fetch_add(appended, Ordering::Relaxed);
        if (before + appended) / step == before / step || self.topts.gc_interval.is_none() {
            return;
        }
        if self.over_target() {
            self.request_gc();
        }
    }

    fn over_target(&self) -> bool {
        let (total, live) = self.usage.totals();
        total > 0 && total as f64 > self.topts.target_space_amp * live as f64
    }

    /// Makes every write so far durable, before GC lets a victim go: the commit that moved its
    /// live records, and the writes that made the rest garbage. Else a power cut could take
    /// an unsynced overwrite (the key then reads its older value, in the victim) or the commit
    /// itself, after the file is gone. The active file's records first, since recovery stops
    /// WAL replay at the first batch whose record is lost (`crate::wal`), which would drop
    /// every later batch, this commit included; then the WAL, or with writes that bypassed
    /// it, a flush. Takes neither the write lock nor the append lock.
    fn make_durable(&self) -> Result<()> {
        self.blobs.sync_active_unlocked()?;
        self.flush_wal_or_memtables()
    }

    /// Makes the LSM durable: the WAL synced, or, when writes skipped the WAL since the last
    /// such flush, every memtable flushed.
    fn flush_wal_or_memtables(&self) -> Result<()> {
        let unlogged = self.unlogged_writes.load(Ordering::Acquire);
        if unlogged > self.unlogged_flushed.load(Ordering::Acquire) {
            for cf in &self.cfs {
                self.db.flush_cf(self.cf(cf)?)?;
            }
            self.unlogged_flushed.fetch_max(unlogged, Ordering::AcqRel);
        } else {
            self.db.flush_wal(true)?;
        }
        Ok(())
    }

    /// The next file this pass should collect, from the counters alone (no file is read):
    /// with `force`, the one with the most garbage; otherwise, first any file with nothing
    /// live, then, while space amplification is over the target, the one with the most
    /// garbage (greedy), if at least `gc_min_garbage_ratio` of it is garbage.
    fn pick_victim(&self, force: bool, skip: &std::collections::BTreeSet<u64>) -> Option<u64> {
        // The counters first, then the active file: a file that became active in between is
        // then either not in the snapshot or seen as active (read the other way round, a
        // rotation in between made the new active file look like a sealed one with nothing
        // live, the review found).
        let files = self.usage.snapshot();
        let active = self.blobs.active_number();
        let pending: Vec<u64> = self
            .obsolete
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(f, _)| *f)
            .collect();
        let mut candidates = files.iter().filter(|(n, f)| {
            Some(**n) != active && !f.obsolete && !skip.contains(n) && !pending.contains(n)
        });
        let most_garbage = |c: &mut dyn Iterator<Item = (&u64, &FileUsage)>| {
            c.filter(|(_, f)| f.garbage() > 0)
                .max_by_key(|(n, f)| (f.garbage(), std::cmp::Reverse(**n)))
                .map(|(n, f)| (*n, *f))
        };
        if force {
            return most_garbage(&mut candidates).map(|(n, _)| n);
        }
        let all: Vec<(&u64, &FileUsage)> = candidates.collect();
        if let Some((n, _)) = all.iter().find(|(_, f)| f.live == 0) {
            return Some(**n);
        }
        if !self.over_target() {
            return None;
        }
        // Filter, then pick: one large file under the ratio must not hide the others.
        let min = self.topts.gc_min_garbage_ratio;
        most_garbage(
            &mut all
                .into_iter()
                .filter(|(_, f)| f.garbage() as f64 >= min * f.total.max(1) as f64),
        )
        .map(|(n, _)| n)
    }

    fn gc(&self, force: bool) -> Result<GcReport> {
        let _one_pass = self.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        /// Clears `gc_running` and wakes waiting writers however the pass ends (a panic too).
        struct Running<'a>(&'a Inner);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.gc_running.store(false, Ordering::Release);
                self.0.note_gc_progress();
            }
        }
        self.gc_running.store(true, Ordering::Release);
        let _running = Running(self);
        self.gc_pass(force)
    }

    fn gc_pass(&self, force: bool) -> Result<GcReport> {
        self.appended_since_gc.store(0, Ordering::Relaxed);
        self.counters.gc_passes.fetch_add(1, Ordering::Relaxed);
        let mut report = GcReport::default();
        self.purge_obsolete(&mut report)?;
        // One output file for the whole pass (rotated at the target size), so victims with
        // a little live data each do not leave a small file apiece.
        let mut out: Option<ActiveFile> = None;
        let mut done = std::collections::BTreeSet::new();
        // Victims collected but not yet released: one `make_durable` (two fsyncs) covers
        // several of them.
        let mut undurable = Vec::new();
        let mut first_error = None;
        let mut collect = || -> Result<()> {
            loop {
                let skip: std::collections::BTreeSet<u64> = done
                    .iter()
                    .copied()
                    .chain(out.as_ref().map(|o| o.number))
                    .collect();
                let Some(victim) = self.pick_victim(force, &skip) else {
                    let stuck = !force && done.is_empty() && self.over_target();
                    self.gc_found_nothing.store(stuck, Ordering::Relaxed);
                    return Ok(());
                };
                done.insert(victim);
                match self.collect(victim, &mut out, &mut report) {
                    Ok(released) => undurable.push(released),
                    // One bad file (damaged, a failed read) must not stop GC for good: the
                    // pass goes on with the next victim and reports the first error.
                    Err(e) => {
                        first_error.get_or_insert(e);
                        continue;
                    }
                }
                if undurable.len() >= RELEASE_EVERY {
                    self.release(&mut undurable)?;
                    self.purge_obsolete(&mut report)?;
                }
            }
        };
        let collected = collect();
        // Sealed even after a failure: commits that succeeded point into it.
        let sealed = out.take().map_or(Ok(()), |o| self.blobs.seal(o));
        let released = self.release(&mut undurable);
        collected?;
        sealed?;
        released?;
        self.purge_obsolete(&mut report)?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Makes the commits of `victims` durable (`make_durable`), then lets the files go: each is
    /// deleted once no reader needs it (`purge_obsolete`). On failure they are kept, and
    /// counted again, for a later pass.
    fn release(&self, victims: &mut Vec<(u64, u64)>) -> Result<()> {
        if victims.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.make_durable() {
            for (file, _) in victims.drain(..) {
                self.usage.clear_obsolete(file);
            }
            return Err(e);
        }
        self.obsolete
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(victims);
        self.note_gc_progress();
        Ok(())
    }

    /// Wakes the writers `throttle` holds back: GC released victims or ended a pass.
    fn note_gc_progress(&self) {
        let (lock, cv) = &self.gc_progress;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        cv.notify_all();
    }

    /// Holds a writer of large values back while GC runs and blob space amplification is
    /// over `STALL_FACTOR` times the target: GC then keeps pace with any write rate. Waits
    /// for GC to release victims, at most `STALL_MAX`; never when no pass is running (GC
    /// found nothing to do, e.g. readers hold the garbage), so it cannot stall for good.
    fn throttle(&self) {
        let stall = self.topts.target_space_amp * STALL_FACTOR;
        let over = || {
            let (total, live) = self.usage.totals();
            live > 0 && total as f64 > stall * live as f64
        };
        // The last pass was over the target and found no victim (the garbage is in the
        // active file, or readers hold it): waiting would not help.
        if self.topts.gc_interval.is_none()
            || self.gc_found_nothing.load(Ordering::Relaxed)
            || !over()
        {
            return;
        }
        self.request_gc();
        let started = std::time::Instant::now();
        let (lock, cv) = &self.gc_progress;
        let mut seen = lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.gc_running.load(Ordering::Acquire) && over() && started.elapsed() < STALL_MAX {
            let (guard, _) = cv
                .wait_timeout(seen, Duration::from_millis(5))
                .unwrap_or_else(|e| e.into_inner());
            seen = guard;
        }
        drop(seen);
        let waited = started.elapsed().as_micros() as u64;
        if waited > 0 {
            self.counters
                .write_stall_micros
                .fetch_add(waited, Ordering::Relaxed);
        }
    }

    fn request_gc(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_one();
    }

    /// Moves `victim`'s live records to `out` and points their keys at the copies. Returns
    /// the victim and the sequence number after the commit, for `release`.
    fn collect(
        &self,
        victim: u64,
        out: &mut Option<ActiveFile>,
        report: &mut GcReport,
    ) -> Result<(u64, u64)> {
        crate::fail_point("titan::gc::rewrite")?;
        let file = self.blobs.file(victim)?;
        let mut moved = Vec::new();
        for ScannedRecord { index, cf, key } in file.scan_keys()? {
            // The counters chose the victim; whether a record is live is asked of the LSM.
            if !self.points_at(&cf, &key, index)? {
                continue;
            }
            let value = file.read(index, &cf, &key)?;
            if out
                .as_ref()
                .is_some_and(|o| o.len() >= self.topts.blob_file_size)
            {
                self.blobs.seal(out.take().expect("checked"))?;
            }
            if out.is_none() {
                let file = self.blobs.create_file()?;
                self.usage.created(file.number);
                *out = Some(file);
            }
            let o = out.as_mut().expect("set above");
            let new = self
                .blobs
                .append_to(o, &[format::encode_record(&cf, &key, &value)])?[0];
            self.usage.appended(&[new]);
            report.bytes_rewritten += u64::from(new.len);
            self.counters
                .gc_bytes_rewritten
                .fetch_add(u64::from(new.len), Ordering::Relaxed);
            moved.push((cf, key, index, new));
        }
        if let Some(o) = out.as_ref()
            && !moved.is_empty()
        {
            // The copies are durable before any index points at them (files sealed by the
            // rotation above were fsynced by their seal).
            self.blobs.sync_file(o)?;
        }
        crate::fail_point("titan::gc::commit")?;
        // Commit: point keys at the new records only where they still point at the old.
        let seq_after = {
            let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut batch = RawWriteBatch::new();
            let (mut now_live, mut now_garbage) = (Vec::new(), Vec::new());
            for (cf, key, old, new) in &moved {
                if self.points_at(cf, key, *old)? {
                    batch.put_cf(self.cf(cf)?, key, &format::encode_index(*new));
                    now_live.push(*new);
                    now_garbage.push(*old);
                }
            }
            if batch.count() > 0 {
                // Unsynced: the fsyncs come after the lock is released (`make_durable`), so
                // writers do not wait on them.
                batch.write(&self.db, false, false)?;
            }
            self.usage.commit(&now_live, &now_garbage);
            self.db.latest_sequence_number()
        };
        self.usage.set_obsolete(victim);
        if moved.is_empty() {
            report.files_dropped_whole.push(victim);
        } else {
            report.files_rewritten.push(victim);
            self.counters
                .gc_files_rewritten
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok((victim, seq_after))
    }
}

/// GC releases victims (one `make_durable`) in groups of this many.
const RELEASE_EVERY: usize = 4;
/// Writers of large values wait for GC above this many times the target space amplification.
const STALL_FACTOR: f64 = 1.1;
/// The longest one write waits for GC.
const STALL_MAX: Duration = Duration::from_millis(50);

/// Read options for scans that must see every key whatever the prefix extractor: without
/// total-order seek, RocksDB promises correct results across prefixes only in prefix mode.
fn total_order() -> rust_rocksdb::rocksdb::ReadOptions {
    let mut r = rust_rocksdb::rocksdb::ReadOptions::default();
    r.set_total_order_seek(true);
    r
}

/// What a batch does to blob records, worked out under the write lock as the batch is built:
/// the records its puts make live, and the records of the values it replaces (puts, deletes,
/// ranges), which become garbage once it commits. Keys written twice in one batch are
/// followed through the batch's own effect so far, not the LSM.
struct Replaced<'a> {
    inner: &'a Inner,
    /// Some key's current value is a blob index: only then is the LSM asked.
    look_up: bool,
    batch_effect: HashMap<(&'a str, Vec<u8>), Option<BlobIndex>>,
    /// Ranges this batch deleted so far: a key in one, and not written since, replaces
    /// nothing (kept as ranges, not as every key they cover).
    deleted: Vec<(&'a str, Vec<u8>, Vec<u8>)>,
    single: bool,
    made_live: Vec<BlobIndex>,
    made_garbage: Vec<BlobIndex>,
}

impl<'a> Replaced<'a> {
    fn new(inner: &'a Inner, ops: usize) -> Self {
        Replaced {
            inner,
            look_up: inner.usage.any_live(),
            batch_effect: HashMap::new(),
            deleted: Vec::new(),
            single: ops == 1,
            made_live: Vec::new(),
            made_garbage: Vec::new(),
        }
    }

    fn in_deleted(&self, cf: &str, key: &[u8]) -> bool {
        self.deleted
            .iter()
            .any(|(c, s, e)| *c == cf && key >= s.as_slice() && key < e.as_slice())
    }

    fn set(&mut self, cf: &'a str, key: &[u8], new: Option<BlobIndex>) -> Result<()> {
        let old = match self.batch_effect.get(&(cf, key.to_vec())) {
            Some(old) => *old,
            None if self.in_deleted(cf, key) => None,
            None if self.look_up => self.inner.current_index(cf, key)?,
            None => None,
        };
        self.made_garbage.extend(old);
        self.made_live.extend(new);
        if !self.single {
            self.batch_effect.insert((cf, key.to_vec()), new);
        }
        Ok(())
    }

    /// Every blob index in `[start, end)` becomes garbage: the batch's own writes there, and
    /// the LSM's keys not already replaced earlier in the batch. The scan costs the range's
    /// size (under the write lock, as RocksDB's own range tombstone does not).
    fn delete_range(&mut self, cf: &'a str, start: &[u8], end: &[u8]) -> Result<()> {
        if start >= end {
            return Ok(());
        }
        for ((c, k), v) in self.batch_effect.iter_mut() {
            if *c == cf && k.as_slice() >= start && k.as_slice() < end {
                self.made_garbage.extend(v.take());
            }
        }
        if self.look_up {
            let mut ro = rust_rocksdb::rocksdb::ReadOptions::default();
            ro.set_iterate_lower_bound(start.to_vec());
            ro.set_iterate_upper_bound(end.to_vec());
            ro.set_total_order_seek(true);
            let mut it = self.inner.db.raw_iterator_cf_opt(self.inner.cf(cf)?, ro);
            it.seek_to_first();
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                if let Some(LsmValue::Blob(idx)) = format::decode_lsm(v)
                    && !self.batch_effect.contains_key(&(cf, k.to_vec()))
                    && !self.in_deleted(cf, k)
                {
                    self.made_garbage.push(idx);
                }
                it.next();
            }
            it.status()?;
        }
        if !self.single {
            self.deleted.push((cf, start.to_vec(), end.to_vec()));
        }
        Ok(())
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
        topts.check()?;
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
        // An ingest's SST left by a crash before RocksDB took it in: nothing points at it.
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("titan-ingest-") && name.ends_with(".sst") {
                let _ = std::fs::remove_file(entry.path());
            }
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
        let mut inner = Inner {
            db,
            opts,
            blobs,
            topts: topts.clone(),
            write_lock: Mutex::new(()),
            pins: Pins::default(),
            obsolete: Mutex::new(Vec::new()),
            counters: TitanCounters::default(),
            usage: Usage::default(),
            usage_source: UsageSource::Persisted,
            gc_lock: Mutex::new(()),
            gc_running: AtomicBool::new(false),
            gc_found_nothing: AtomicBool::new(false),
            gc_progress: (Mutex::new(0), Condvar::new()),
            appended_since_gc: AtomicU64::new(0),
            unlogged_writes: AtomicU64::new(0),
            unlogged_flushed: AtomicU64::new(0),
            cfs: cfs.to_vec(),
            path: path.to_path_buf(),
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
            _wal_filter: wal_filter,
        };
        if !truncated.is_empty() {
            inner.drop_dangling_indexes(cfs, &truncated)?;
        }
        inner.blobs.finish_recovery()?;
        // The garbage counters: as the last clean close left them, or recounted from the LSM.
        let on_disk = inner.record_bytes_on_disk()?;
        let persisted = match Usage::take_persisted(inner.blobs.dir(), &on_disk)? {
            Ok(_) if !truncated.is_empty() => Err(
                "the last process stopped while appending to a blob file (recovered above)".into(),
            ),
            other => other,
        };
        let (files, source) = match persisted {
            Ok(files) => (files, UsageSource::Persisted),
            Err(why) => (inner.recount(&on_disk)?, UsageSource::Recounted(why)),
        };
        inner.usage = Usage::new(files);
        inner.usage_source = source;
        let inner = Arc::new(inner);
        let gc_thread = topts.gc_interval.map(|interval| {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("titan-gc".into())
                .spawn(move || {
                    let (lock, cv) = &inner.wake;
                    loop {
                        // `stop` and the wanted flag are set under this mutex, so checking
                        // them here and waiting cannot miss a wake-up.
                        let mut wanted = lock.lock().unwrap_or_else(|e| e.into_inner());
                        if inner.stop.load(Ordering::Acquire) {
                            break;
                        }
                        if !*wanted {
                            wanted = cv
                                .wait_timeout(wanted, interval)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                        }
                        *wanted = false;
                        drop(wanted);
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
        let min = inner.topts.min_blob_size;
        if ops
            .iter()
            .any(|op| matches!(op, WriteOp::Put(_, _, v) if v.len() >= min))
        {
            inner.throttle();
        }
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
        let mut appended = 0;
        if !big.is_empty() {
            crate::fail_point("titan::blob::append")?;
            // Synced: the records are durable before the WAL sync makes their indexes durable.
            // Unsynced: no fsync (a power cut that keeps the index and drops the record is
            // recovered as a prefix by the WAL filter), unless a flush listener's fsync failed
            // since: then this write syncs, as the flush could not.
            let retry = inner.blobs.take_flush_sync_failure();
            let sync_blobs = sync || retry;
            let skip_sync = sync_blobs && crate::fail_point_hit("titan::blob::skip_fsync");
            let not_synced = |e| {
                if retry {
                    // Not synced after all: the next write tries again.
                    inner.blobs.note_flush_sync_failure();
                }
                e
            };
            let idx = inner.blobs.append(&big, false).map_err(not_synced)?;
            // In the file now: garbage unless the LSM write below commits.
            inner.usage.appended(&idx);
            if sync_blobs && !skip_sync {
                inner.blobs.sync_active().map_err(not_synced)?;
            }
            if sync_blobs && !skip_sync {
                crate::fail_point("titan::blob::fsync")?;
            }
            appended = big.iter().map(|r| r.len() as u64).sum();
            inner
                .counters
                .blob_bytes_written
                .fetch_add(appended, Ordering::Relaxed);
            indexes = idx.into_iter();
        } else if sync {
            // This synced batch makes every earlier LSM entry durable with it (one WAL), so
            // the blob records those point at must be durable first: else a power cut keeps
            // the earlier unsynced indexes (synced with this batch) and drops their records.
            inner.blobs.sync_active_if_unsynced()?;
        }
        let mut batch = RawWriteBatch::new();
        let mut replaced = Replaced::new(inner, ops.len());
        let mut user = 0u64;
        for op in ops {
            match *op {
                WriteOp::Put(cf, k, v) => {
                    user += (k.len() + v.len()) as u64;
                    let (encoded, new) = if v.len() >= inner.topts.min_blob_size {
                        let idx = indexes.next().expect("one index per large value");
                        (format::encode_index(idx), Some(idx))
                    } else {
                        (format::encode_inline(v), None)
                    };
                    batch.put_cf(inner.cf(cf)?, k, &encoded);
                    replaced.set(cf, k, new)?;
                }
                WriteOp::Delete(cf, k) => {
                    user += k.len() as u64;
                    batch.delete_cf(inner.cf(cf)?, k);
                    replaced.set(cf, k, None)?;
                }
                WriteOp::DeleteRange(cf, s, e) => {
                    batch.delete_range_cf(inner.cf(cf)?, s, e);
                    replaced.delete_range(cf, s, e)?;
                }
            }
        }
        crate::fail_point("titan::lsm::before_write")?;
        batch.write(&inner.db, sync, disable_wal)?;
        inner
            .usage
            .commit(&replaced.made_live, &replaced.made_garbage);
        if disable_wal {
            inner.unlogged_writes.fetch_add(1, Ordering::AcqRel);
        }
        inner
            .counters
            .user_bytes_written
            .fetch_add(user, Ordering::Relaxed);
        drop(_w);
        if appended > 0 {
            inner.maybe_wake_gc(appended);
        }
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

    /// Live and garbage bytes of every blob file, from the garbage accounting (no file is
    /// read, the LSM is not asked).
    pub fn blob_file_stats(&self) -> Vec<BlobFileStats> {
        self.inner
            .usage
            .snapshot()
            .into_iter()
            .map(|(number, f)| BlobFileStats {
                number,
                live_bytes: f.live,
                garbage_bytes: f.garbage(),
            })
            .collect()
    }

    /// Live and total record bytes of every blob file, counted afresh from the LSM (one
    /// scan of every column family) and the files' sizes: what the accounting must equal.
    /// Holds writes and GC off while it counts.
    pub fn recount_usage(&self) -> Result<BTreeMap<u64, FileUsage>> {
        let _gc = self.inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _w = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.inner.recount(&self.inner.record_bytes_on_disk()?)
    }

    /// The accounting's current live and total record bytes of every blob file (obsolete
    /// files, waiting for readers to let go, are marked).
    pub fn usage(&self) -> BTreeMap<u64, FileUsage> {
        self.inner.usage.snapshot()
    }

    /// Where this open's garbage counters came from.
    pub fn usage_source(&self) -> &UsageSource {
        &self.inner.usage_source
    }

    /// Times the accounting found fewer live bytes in a file than a replaced record had (a
    /// missed change; GC stays correct, only its choices suffer). Zero unless there is a bug.
    pub fn usage_drift(&self) -> u64 {
        self.inner.usage.drift()
    }

    /// Read calls into blob files since open (record reads and key scans).
    pub fn blob_reads(&self) -> u64 {
        self.inner.blobs.reads()
    }

    /// Blob record bytes on disk and live (files waiting for readers to let go excluded):
    /// the ratio is the blob space amplification GC aims at.
    pub fn blob_totals(&self) -> (u64, u64) {
        self.inner.usage.totals()
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
        // No reader is left: files GC made obsolete go now, so the counters need not list them.
        let _ = self.inner.purge_obsolete(&mut GcReport::default());
        // The counters must describe a durable LSM: the WAL synced, and memtables holding
        // writes that bypassed it flushed. If any step fails, no file is written and the next
        // open recounts.
        let inner = &self.inner;
        if inner.flush_wal_or_memtables().is_ok() {
            let _ = inner.usage.persist(inner.blobs.dir());
        }
    }
}

impl TitanDb {
    /// Writes a consistent, openable copy of the database into `dir` (which must not exist):
    /// RocksDB's checkpoint (its memtables flushed, its files hard-linked) and every blob
    /// file, hard-linked (copied where a link cannot cross file systems). The copy has no
    /// counters file, so its first open recounts from its LSM.
    ///
    /// GC and writes wait while RocksDB's checkpoint is taken: every blob file is then
    /// sealed (the active one is sealed first, and no GC output is half written), so the
    /// files linked are complete and will never change.
    pub fn checkpoint(&self, dir: &Path) -> Result<()> {
        if dir.exists() {
            return Err(Error::Rocks(Status::invalid(format!(
                "checkpoint directory {} already exists",
                dir.display()
            ))));
        }
        // Built beside `dir` and renamed into place: a crash halfway leaves no directory that
        // opens with blob files missing (a leftover `.partial` is removed by the next call).
        let mut partial = dir.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| Error::io(e, &partial))?;
        }
        self.checkpoint_into(&partial)?;
        std::fs::rename(&partial, dir).map_err(|e| Error::io(e, dir))?;
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => crate::storage::sync_dir(parent),
            _ => Ok(()),
        }
    }

    fn checkpoint_into(&self, dir: &Path) -> Result<()> {
        let inner = &*self.inner;
        let _gc = inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let files = {
            let _w = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
            inner.blobs.seal_active()?;
            rust_rocksdb::rocksdb::checkpoint::Checkpoint::new(&inner.db)?
                .create_checkpoint(dir)?;
            inner.blobs.files()
        };
        // GC waits on `gc_lock`, so none of these files is deleted before it is linked.
        let blob_dir = dir.join("blob");
        std::fs::create_dir(&blob_dir).map_err(|e| Error::io(e, &blob_dir))?;
        for f in files {
            let to = blob_dir.join(f.path.file_name().expect("blob files have names"));
            if std::fs::hard_link(&f.path, &to).is_err() {
                std::fs::copy(&f.path, &to).map_err(|e| Error::io(e, &to))?;
                File::open(&to)
                    .and_then(|c| c.sync_all())
                    .map_err(|e| Error::io(e, &to))?;
            }
        }
        crate::storage::sync_dir(&blob_dir)?;
        crate::storage::sync_dir(dir)
    }

    /// Loads `entries` (keys strictly ascending) into `cf` as one unit, newer than anything
    /// written before. Values of `min_blob_size` and more go to a new blob file, sealed and
    /// fsynced first; then one SST with every key's LSM value (an index or the value inline)
    /// is built and ingested by RocksDB, atomically. A crash before the ingest leaves the new
    /// file as garbage. The values the ingest replaces become garbage of their files.
    pub fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let inner = &*self.inner;
        if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(Error::Rocks(Status::invalid(format!(
                "ingest into {cf:?}: keys not strictly ascending at {:?}",
                String::from_utf8_lossy(&w[1].0)
            ))));
        }
        if entries.is_empty() {
            return Ok(());
        }
        let handle = inner.cf(cf)?;
        // GC waits: until the ingest lands, its new files hold nothing live by the counters,
        // and GC would drop them (the review found that race).
        let _gc = inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _w = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let min = inner.topts.min_blob_size;
        let records: Vec<Vec<u8>> = entries
            .iter()
            .filter(|(_, v)| v.len() >= min)
            .map(|(k, v)| format::encode_record(cf, k, v))
            .collect();
        // New files of at most `blob_file_size` each (so GC can pick among them later),
        // every one sealed and fsynced before the SST that points into them is ingested.
        let mut indexes = Vec::with_capacity(records.len());
        let mut rest = &records[..];
        while !rest.is_empty() {
            let mut take = 0;
            let mut bytes = 0u64;
            while take < rest.len() && (take == 0 || bytes < inner.topts.blob_file_size) {
                bytes += rest[take].len() as u64;
                take += 1;
            }
            let mut file = inner.blobs.create_file()?;
            inner.usage.created(file.number);
            let appended = inner.blobs.append_to(&mut file, &rest[..take]);
            let sealed = inner.blobs.seal(file);
            let appended = appended?;
            inner.usage.appended(&appended);
            sealed?;
            indexes.extend(appended);
            inner
                .counters
                .blob_bytes_written
                .fetch_add(bytes, Ordering::Relaxed);
            rest = &rest[take..];
        }
        let sst = inner.path.join(format!(
            "titan-ingest-{}-{}.sst",
            std::process::id(),
            inner.db.latest_sequence_number()
        ));
        let mut replaced = Replaced::new(inner, entries.len());
        let mut new = indexes.iter().copied();
        let mut writer = rust_rocksdb::rocksdb::SstFileWriter::create(&inner.opts);
        let mut build = || -> Result<()> {
            writer.open(&sst)?;
            for (k, v) in entries {
                let (encoded, idx) = if v.len() >= min {
                    let idx = new.next().expect("one index per large value");
                    (format::encode_index(idx), Some(idx))
                } else {
                    (format::encode_inline(v), None)
                };
                writer.put(k, &encoded)?;
                replaced.set(cf, k, idx)?;
            }
            writer.finish()?;
            Ok(())
        };
        let built = build();
        let ingested = built.and_then(|()| {
            let mut o = rust_rocksdb::rocksdb::IngestExternalFileOptions::default();
            o.set_move_files(true);
            Ok(inner
                .db
                .ingest_external_file_cf_opts(handle, &o, vec![&sst])?)
        });
        // On success RocksDB linked the file in; the name written is ours to remove.
        let _ = std::fs::remove_file(&sst);
        ingested?;
        inner
            .usage
            .commit(&replaced.made_live, &replaced.made_garbage);
        inner.counters.user_bytes_written.fetch_add(
            entries
                .iter()
                .map(|(k, v)| (k.len() + v.len()) as u64)
                .sum(),
            Ordering::Relaxed,
        );
        Ok(())
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
