//! `engine_rocks`: RocksDB behind the workbench's engine traits.
//!
//! # What it is for
//! The SIG's default engine, and the yardstick every other engine is compared with, case by
//! case (conformance) and number by number (bench). Column families map one to one onto
//! RocksDB's; snapshots and bounded iterators are RocksDB's own (bounds go into
//! `ReadOptions`, nothing is copied); batches are RocksDB write batches with real save
//! points (through `rust-rocksdb`'s raw FFI extras); RocksDB statuses become error kinds.
//! It declares every capability: persistence, checkpoint, bulk ingest (SST files), manual
//! compaction, statistics and prefix seek.
//!
//! # What it is not for
//! Choosing RocksDB options or how RocksDB is built: options come from an options profile
//! (`EngineConfig::profile`, a built-in name or a YAML file; `default` when absent), and the
//! build policy lives in `rust-rocksdb/`. This crate never depends on `rocksdb` directly.
#![deny(missing_docs)]

mod undo;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use engine_traits::{
    BulkIngest, Capabilities, Checkpoint, EngineConfig, EngineStats, Error, IterOptions, KvEngine,
    ManualCompaction, ReadOptions, Readable, Result, Statistics, WriteBatch, WriteOptions,
    check_range, display_key,
};
use rust_rocksdb::raw::RawWriteBatch;
use rust_rocksdb::rocksdb::{
    self, ColumnFamily, ColumnFamilyDescriptor, DB, IngestExternalFileOptions, Options,
    SliceTransform, SnapshotWithThreadMode, SstFileWriter,
};
use rust_rocksdb::{OptionsProfile, RocksStats};

// Shared with engine_titan through rocks_engine_common; re-exported so this crate's users
// keep their paths.
pub use rocks_engine_common::{Plain, ResolveValue, RocksIterator, iter_read_opts, map_status};

/// RocksDB as a [`KvEngine`].
pub struct RocksEngine {
    db: Arc<DB>,
    /// The options the DB was opened with; they own the statistics object.
    opts: Options,
    cfs: Arc<[String]>,
    path: PathBuf,
    prefix_len: Option<usize>,
    /// Names the SST files bulk ingest writes, unique within this handle.
    ingest_seq: AtomicU64,
    /// Set when a write failed inside RocksDB: why. From then on every write is refused until
    /// the engine is reopened, so the failed write's undo record stays valid (see `undo.rs`).
    poisoned: Mutex<Option<String>>,
}

/// What a write touched, for the undo record should it fail.
#[derive(Clone, Debug)]
enum Touched {
    Key {
        cf: String,
        key: Vec<u8>,
    },
    Range {
        cf: String,
        start: Vec<u8>,
        end: Vec<u8>,
    },
}

impl Touched {
    fn key(cf: &str, key: &[u8]) -> Touched {
        Touched::Key {
            cf: cf.to_owned(),
            key: key.to_vec(),
        }
    }
}

impl std::fmt::Debug for RocksEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksEngine")
            .field("path", &self.path)
            .field("cfs", &self.cfs)
            .finish()
    }
}

fn options_for(config: &EngineConfig) -> Result<Options> {
    let name = config.profile.as_deref().unwrap_or("default");
    let profile =
        OptionsProfile::load(name).map_err(|e| Error::invalid(format!("engine rocks: {e}")))?;
    let (mut opts, _) = rust_rocksdb::open_options(&profile);
    if let Some(n) = config.prefix_len {
        if n == 0 {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        opts.set_prefix_extractor(SliceTransform::create_fixed_prefix(n));
    }
    Ok(opts)
}

impl RocksEngine {
    /// Opens read-only: every write returns an error from RocksDB, and a missing database is
    /// an `Io` error naming the path.
    pub fn open_read_only(config: &EngineConfig) -> Result<Self> {
        Self::open_inner(config, true)
    }

    fn open_inner(config: &EngineConfig, read_only: bool) -> Result<Self> {
        let cfs: Arc<[String]> = config.cf_list()?.into();
        let mut opts = options_for(config)?;
        opts.create_if_missing(config.create_if_missing && !read_only);
        opts.create_missing_column_families(!read_only);
        let path = config.path.clone();
        // The rocksdb crate creates the directory itself and reports failure as an untyped
        // error; say it plainly, as an I/O error naming the path.
        if path.exists() && !path.is_dir() {
            let e = std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "the engine path exists and is not a directory",
            );
            return Err(Error::io(e, &path));
        }
        // RocksDB must open every CF the database has; we expose only those asked for.
        let mut all: Vec<String> = cfs.to_vec();
        if let Ok(existing) = DB::list_cf(&opts, &path) {
            for cf in existing {
                if !all.contains(&cf) {
                    all.push(cf);
                }
            }
        }
        let descriptors = all
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(name, opts.clone()));
        let db = if read_only {
            DB::open_cf_descriptors_read_only(&opts, &path, descriptors, false)
        } else {
            DB::open_cf_descriptors(&opts, &path, descriptors)
        }
        .map_err(|e| map_status(e.into(), Some(&path)))?;
        // RocksDB has replayed its WAL, perhaps including writes that returned an error;
        // their undo records take them out again.
        let pending = undo::pending(&path)?;
        if read_only && !pending.is_empty() {
            return Err(Error::Io {
                message: format!(
                    "the database has an undo record of a failed write ({}); open it read-write once to apply it",
                    pending[0].display()
                ),
                path: Some(path),
                source: None,
            });
        }
        for file in pending {
            apply_undo(&db, &file)?;
        }
        Ok(RocksEngine {
            db: Arc::new(db),
            opts,
            cfs,
            path,
            prefix_len: config.prefix_len,
            ingest_seq: AtomicU64::new(0),
            poisoned: Mutex::new(None),
        })
    }

    /// Refuses a write once an earlier one failed inside RocksDB.
    fn check_poisoned(&self) -> Result<()> {
        match self
            .poisoned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(why) => Err(Error::Io {
                message: format!("engine rocks refuses writes until it is reopened: {why}"),
                path: Some(self.path.clone()),
                source: None,
            }),
            None => Ok(()),
        }
    }

    /// A write RocksDB failed: poison the engine and record the undo of what it touched, so
    /// the write is absent after the next open even if its WAL record is replayed. Returns
    /// the error for the caller, saying what became of the write.
    fn write_failed(&self, err: Error, touched: &[Touched], disable_wal: bool) -> Error {
        let mut poisoned = self.poisoned.lock().unwrap_or_else(|e| e.into_inner());
        if disable_wal {
            // No WAL record: nothing can bring the write back.
            poisoned.get_or_insert_with(|| format!("a write failed: {err}"));
            return err;
        }
        let outcome = self.pre_images(touched).and_then(|images| {
            undo::write(&self.path, &images).map_err(|e| Error::io(e, &self.path))
        });
        let note = match &outcome {
            Ok(file) => format!(
                "the write is undone when the engine is reopened (undo record {})",
                file.display()
            ),
            Err(e) => format!(
                "its undo record could not be written ({e}), so the write may or may not be present after reopen"
            ),
        };
        poisoned.get_or_insert_with(|| format!("a write failed: {err}; {note}"));
        match err {
            Error::Io {
                message,
                path,
                source,
            } => Error::Io {
                message: format!("{message}; {note}"),
                path,
                source,
            },
            other => other,
        }
    }

    /// The values the touched keys have now, which for a failed write are the values before it.
    fn pre_images(&self, touched: &[Touched]) -> Result<Vec<undo::PreImage>> {
        let mut out = Vec::new();
        for t in touched {
            match t {
                Touched::Key { cf, key } => {
                    let handle = self.cf(cf)?;
                    let value = self.db.get_cf(handle, key).map_err(|e| self.err(e))?;
                    out.push(undo::PreImage {
                        cf: cf.clone(),
                        key: key.clone(),
                        value,
                    });
                }
                Touched::Range { cf, start, end } => {
                    let handle = self.cf(cf)?;
                    let mut r = read_opts(false);
                    r.set_iterate_lower_bound(start.clone());
                    r.set_iterate_upper_bound(end.clone());
                    let mut it = self.db.raw_iterator_cf_opt(handle, r);
                    it.seek(start);
                    while let (Some(k), Some(v)) = (it.key(), it.value()) {
                        out.push(undo::PreImage {
                            cf: cf.clone(),
                            key: k.to_vec(),
                            value: Some(v.to_vec()),
                        });
                        it.next();
                    }
                    it.status().map_err(|e| self.err(e))?;
                }
            }
        }
        Ok(out)
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        cf_handle(&self.db, &self.cfs, name)
    }

    fn err(&self, e: rocksdb::Error) -> Error {
        map_status(e.into(), Some(&self.path))
    }

    /// The RocksDB figures behind [`Statistics`], with their breakdown.
    pub fn rocks_stats(&self) -> Result<RocksStats> {
        let names: Vec<&str> = self.cfs.iter().map(String::as_str).collect();
        RocksStats::collect(&self.db, &self.opts, &names)
            .map_err(|s| map_status(s, Some(&self.path)))
    }

    /// The directory the engine owns.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Applies one undo record as a synced batch, then deletes it.
fn apply_undo(db: &DB, file: &Path) -> Result<()> {
    let data = std::fs::read(file).map_err(|e| Error::io(e, file))?;
    let mut batch = rocksdb::WriteBatch::default();
    for e in undo::decode(&data, file)? {
        let handle = db.cf_handle(&e.cf).ok_or_else(|| {
            Error::corruption(
                format!(
                    "undo record names column family {:?}, which the database does not have",
                    e.cf
                ),
                Some(file.to_path_buf()),
                None,
            )
        })?;
        match e.value {
            Some(v) => batch.put_cf(handle, &e.key, v),
            None => batch.delete_cf(handle, &e.key),
        }
    }
    let mut w = rocksdb::WriteOptions::default();
    w.set_sync(true);
    db.write_opt(batch, &w)
        .map_err(|e| map_status(e.into(), Some(file)))?;
    std::fs::remove_file(file).map_err(|e| Error::io(e, file))?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(e, dir))?;
    }
    Ok(())
}

fn cf_handle<'d>(db: &'d DB, cfs: &[String], name: &str) -> Result<&'d ColumnFamily> {
    if !cfs.iter().any(|c| c == name) {
        return Err(Error::unknown_cf(name));
    }
    db.cf_handle(name).ok_or_else(|| Error::unknown_cf(name))
}

fn read_opts(fill_cache: bool) -> rocksdb::ReadOptions {
    let mut r = rocksdb::ReadOptions::default();
    r.fill_cache(fill_cache);
    r
}

/// Evaluates one of the wrapper's failpoint sites: an injected `Io` error when a test set it
/// to `return`, a process abort (a crash point) for `return(abort)`. Compiled to nothing
/// without the `failpoints` feature.
fn fail_point(name: &str) -> Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
        Err(Error::Io {
            message: format!("injected failure at failpoint {name}"),
            path: None,
            source: None,
        })
    });
    let _ = name;
    Ok(())
}

fn write_opts(opts: &WriteOptions) -> Result<rocksdb::WriteOptions> {
    fail_point("rocks::write")?;
    opts.check()?;
    let mut w = rocksdb::WriteOptions::default();
    w.set_sync(opts.sync);
    w.disable_wal(opts.disable_wal);
    Ok(w)
}

impl Readable for RocksEngine {
    type Iterator<'a> = RocksIterator<'a>;

    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = self.cf(cf)?;
        self.db
            .get_cf_opt(handle, key, &read_opts(opts.fill_cache))
            .map_err(|e| self.err(e))
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<RocksIterator<'_>> {
        let handle = self.cf(cf)?;
        let r = iter_read_opts(&opts, self.prefix_len)?;
        Ok(RocksIterator::new(
            self.db.raw_iterator_cf_opt(handle, r),
            opts.prefix_same_as_start,
            self.path.clone(),
        ))
    }
}

/// A RocksDB snapshot; released when dropped.
pub struct RocksSnapshot<'a> {
    snap: SnapshotWithThreadMode<'a, DB>,
    engine: &'a RocksEngine,
}

impl Readable for RocksSnapshot<'_> {
    type Iterator<'b>
        = RocksIterator<'b>
    where
        Self: 'b;

    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = self.engine.cf(cf)?;
        self.snap
            .get_cf_opt(handle, key, read_opts(opts.fill_cache))
            .map_err(|e| self.engine.err(e))
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<RocksIterator<'_>> {
        let handle = self.engine.cf(cf)?;
        let r = iter_read_opts(&opts, self.engine.prefix_len)?;
        Ok(RocksIterator::new(
            self.snap.raw_iterator_cf_opt(handle, r),
            opts.prefix_same_as_start,
            self.engine.path.clone(),
        ))
    }
}

/// A RocksDB write batch with save points. It refers to its engine's DB weakly: CF handles
/// are looked up (and kept alive) only while an operation is added, and a batch never keeps
/// a closed engine's files locked. Adding to a batch whose engine is gone is `Closed`.
pub struct RocksWriteBatch {
    raw: RawWriteBatch,
    db: Weak<DB>,
    cfs: Arc<[String]>,
    /// Key and value bytes added, per the trait's `data_size` (RocksDB's representation adds
    /// headers, which callers should not have to subtract).
    data_size: usize,
    /// `data_size` and `touched.len()` at each save point, popped with it.
    save_points: Vec<(usize, usize)>,
    /// The keys and ranges the batch writes, for the undo record should the write fail.
    touched: Vec<Touched>,
}

impl RocksWriteBatch {
    fn db(&self) -> Result<Arc<DB>> {
        self.db
            .upgrade()
            .ok_or_else(|| Error::Closed("the engine this write batch belongs to is closed".into()))
    }
}

impl WriteBatch for RocksWriteBatch {
    fn put(&mut self, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let db = self.db()?;
        let handle = cf_handle(&db, &self.cfs, cf)?;
        self.raw.put_cf(handle, key, value);
        self.data_size += key.len() + value.len();
        self.touched.push(Touched::key(cf, key));
        Ok(())
    }

    fn delete(&mut self, cf: &str, key: &[u8]) -> Result<()> {
        let db = self.db()?;
        let handle = cf_handle(&db, &self.cfs, cf)?;
        self.raw.delete_cf(handle, key);
        self.data_size += key.len();
        self.touched.push(Touched::key(cf, key));
        Ok(())
    }

    fn delete_range(&mut self, cf: &str, start: &[u8], end: &[u8]) -> Result<()> {
        let db = self.db()?;
        let handle = cf_handle(&db, &self.cfs, cf)?;
        check_range(start, end)?;
        self.raw.delete_range_cf(handle, start, end);
        self.data_size += start.len() + end.len();
        self.touched.push(Touched::Range {
            cf: cf.to_owned(),
            start: start.to_vec(),
            end: end.to_vec(),
        });
        Ok(())
    }

    fn count(&self) -> usize {
        self.raw.count()
    }

    fn data_size(&self) -> usize {
        self.data_size
    }

    fn clear(&mut self) {
        self.raw.clear();
        self.data_size = 0;
        self.save_points.clear();
        self.touched.clear();
    }

    fn set_save_point(&mut self) {
        self.raw.set_save_point();
        self.save_points.push((self.data_size, self.touched.len()));
    }

    fn rollback_to_save_point(&mut self) -> Result<()> {
        let (size, touched) = self
            .save_points
            .pop()
            .ok_or_else(|| Error::invalid("rollback_to_save_point: no save point is set"))?;
        self.raw
            .rollback_to_save_point()
            .map_err(|s| map_status(s, None))?;
        self.data_size = size;
        self.touched.truncate(touched);
        Ok(())
    }

    fn pop_save_point(&mut self) -> Result<()> {
        self.save_points
            .pop()
            .ok_or_else(|| Error::invalid("pop_save_point: no save point is set"))?;
        self.raw.pop_save_point().map_err(|s| map_status(s, None))
    }
}

impl KvEngine for RocksEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: true,
        bulk_ingest: true,
        manual_compaction: true,
        statistics: true,
        prefix_seek: true,
    };

    type Snapshot<'a> = RocksSnapshot<'a>;
    type WriteBatch = RocksWriteBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        Self::open_inner(config, false)
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn put_opt(&self, opts: &WriteOptions, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let handle = self.cf(cf)?;
        let w = write_opts(opts)?;
        self.check_poisoned()?;
        self.db.put_cf_opt(handle, key, value, &w).map_err(|e| {
            let touched = [Touched::key(cf, key)];
            self.write_failed(self.err(e), &touched, opts.disable_wal)
        })
    }

    fn delete_opt(&self, opts: &WriteOptions, cf: &str, key: &[u8]) -> Result<()> {
        let handle = self.cf(cf)?;
        let w = write_opts(opts)?;
        self.check_poisoned()?;
        self.db.delete_cf_opt(handle, key, &w).map_err(|e| {
            let touched = [Touched::key(cf, key)];
            self.write_failed(self.err(e), &touched, opts.disable_wal)
        })
    }

    fn write_batch(&self) -> RocksWriteBatch {
        RocksWriteBatch {
            raw: RawWriteBatch::new(),
            db: Arc::downgrade(&self.db),
            cfs: self.cfs.clone(),
            data_size: 0,
            save_points: Vec::new(),
            touched: Vec::new(),
        }
    }

    fn write(&self, opts: &WriteOptions, batch: &RocksWriteBatch) -> Result<()> {
        fail_point("rocks::write")?;
        opts.check()?;
        if !std::ptr::eq(batch.db.as_ptr(), Arc::as_ptr(&self.db)) {
            return Err(Error::invalid(
                "write batch was made by another engine handle",
            ));
        }
        if batch.raw.count() == 0 {
            return Ok(());
        }
        self.check_poisoned()?;
        batch
            .raw
            .write(&self.db, opts.sync, opts.disable_wal)
            .map_err(|s| {
                let err = map_status(s, Some(&self.path));
                self.write_failed(err, &batch.touched, opts.disable_wal)
            })
    }

    fn snapshot(&self) -> Result<RocksSnapshot<'_>> {
        Ok(RocksSnapshot {
            snap: self.db.snapshot(),
            engine: self,
        })
    }

    fn sync(&self) -> Result<()> {
        self.db.flush_wal(true).map_err(|e| self.err(e))
    }

    fn flush(&self) -> Result<()> {
        for name in self.cfs.iter() {
            let handle = self.cf(name)?;
            fail_point("rocks::flush")?;
            self.db.flush_cf(handle).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn as_checkpoint(&self) -> Option<&dyn Checkpoint> {
        Some(self)
    }

    fn as_bulk_ingest(&self) -> Option<&dyn BulkIngest> {
        Some(self)
    }

    fn as_manual_compaction(&self) -> Option<&dyn ManualCompaction> {
        Some(self)
    }

    fn as_statistics(&self) -> Option<&dyn Statistics> {
        Some(self)
    }
}

impl Checkpoint for RocksEngine {
    fn checkpoint(&self, dir: &Path) -> Result<()> {
        if dir.exists() {
            return Err(Error::invalid(format!(
                "checkpoint directory {} already exists",
                dir.display()
            )));
        }
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(|e| self.err(e))?;
        cp.create_checkpoint(dir)
            .map_err(|e| map_status(e.into(), Some(dir)))
    }
}

impl BulkIngest for RocksEngine {
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let handle = self.cf(cf)?;
        if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(Error::invalid(format!(
                "ingest into {cf:?}: keys not strictly ascending at {}",
                display_key(&w[1].0)
            )));
        }
        if entries.is_empty() {
            return Ok(());
        }
        let n = self.ingest_seq.fetch_add(1, Ordering::Relaxed);
        let file = self
            .path
            .join(format!("bulk-ingest-{}-{n}.sst", std::process::id()));
        let mut writer = SstFileWriter::create(&self.opts);
        let mut build = || -> std::result::Result<(), rocksdb::Error> {
            writer.open(&file)?;
            for (k, v) in entries {
                writer.put(k, v)?;
            }
            writer.finish()
        };
        if let Err(e) = build() {
            let _ = std::fs::remove_file(&file);
            return Err(map_status(e.into(), Some(&file)));
        }
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        let r = self
            .db
            .ingest_external_file_cf_opts(handle, &ingest, vec![&file]);
        // On success RocksDB moved (hard-linked) the file; the name we wrote is ours to remove.
        let _ = std::fs::remove_file(&file);
        r.map_err(|e| map_status(e.into(), Some(&file)))
    }
}

impl ManualCompaction for RocksEngine {
    fn compact_range(&self, cf: &str, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        let handle = self.cf(cf)?;
        fail_point("rocks::compaction")?;
        self.db.compact_range_cf(handle, start, end);
        Ok(())
    }
}

fn dir_size(path: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

impl Statistics for RocksEngine {
    fn statistics(&self) -> Result<EngineStats> {
        let s = self.rocks_stats()?;
        Ok(EngineStats {
            disk_size: dir_size(&self.path).map_err(|e| Error::io(e, &self.path))?,
            live_data_size: s.estimate_live_data_size + s.live_blob_size,
            user_bytes_written: s.user_bytes_written,
            engine_bytes_written: s.engine_bytes_written(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_traits::CF_DEFAULT;

    #[test]
    fn a_batch_does_not_keep_its_engine_open() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path());
        let e = RocksEngine::open(&config).unwrap();
        let mut b = e.write_batch();
        b.put(CF_DEFAULT, b"k", b"v").unwrap();
        e.write(&WriteOptions::default(), &b).unwrap();
        drop(e);
        let again =
            RocksEngine::open(&config).expect("the LOCK is released though a batch is alive");
        assert_eq!(
            again.get(CF_DEFAULT, b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        assert_eq!(
            b.put(CF_DEFAULT, b"x", b"y").unwrap_err().kind(),
            engine_traits::ErrorKind::Closed
        );
        let err = again.write(&WriteOptions::default(), &b).unwrap_err();
        assert_eq!(
            err.kind(),
            engine_traits::ErrorKind::InvalidArgument,
            "{err}"
        );
    }

    /// Without libfiu a RocksDB write cannot be made to fail after its WAL record is written,
    /// so this builds the undo record the way `write_failed` does, then lets the write through
    /// as RocksDB's replay would. The libfiu test in tests/faults.rs covers the real failure.
    #[test]
    fn an_undo_record_restores_the_pre_images_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path());
        let e = RocksEngine::open(&config).unwrap();
        e.put(CF_DEFAULT, b"a", b"1").unwrap();
        e.put(CF_DEFAULT, b"c", b"3").unwrap();
        let mut b = e.write_batch();
        b.put(CF_DEFAULT, b"a", b"2").unwrap();
        b.put(CF_DEFAULT, b"new", b"x").unwrap();
        b.delete_range(CF_DEFAULT, b"b", b"d").unwrap();
        let images = e.pre_images(&b.touched).unwrap();
        assert_eq!(
            images.len(),
            3,
            "a, new, and c inside the deleted range: {images:?}"
        );
        undo::write(dir.path(), &images).unwrap();
        e.write(&WriteOptions::sync(), &b).unwrap();
        drop(e);

        let err = RocksEngine::open_read_only(&config).unwrap_err();
        assert_eq!(err.kind(), engine_traits::ErrorKind::Io);
        assert!(err.to_string().contains("undo record"), "{err}");

        let e = RocksEngine::open(&config).unwrap();
        assert_eq!(e.get(CF_DEFAULT, b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(e.get(CF_DEFAULT, b"c").unwrap().as_deref(), Some(&b"3"[..]));
        assert_eq!(e.get(CF_DEFAULT, b"new").unwrap(), None);
        assert!(
            undo::pending(dir.path()).unwrap().is_empty(),
            "applied and deleted"
        );
    }

    #[test]
    fn a_damaged_undo_record_stops_open_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path());
        drop(RocksEngine::open(&config).unwrap());
        let path = undo::write(dir.path(), &[]).unwrap();
        let mut data = std::fs::read(&path).unwrap();
        data[9] ^= 0xff;
        std::fs::write(&path, data).unwrap();
        let err = RocksEngine::open(&config).unwrap_err();
        assert_eq!(err.kind(), engine_traits::ErrorKind::Corruption, "{err}");
        assert!(err.to_string().contains("WORKBENCH-UNDO-"), "{err}");
    }

    #[test]
    fn a_poisoned_engine_refuses_writes_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path());
        let e = RocksEngine::open(&config).unwrap();
        *e.poisoned.lock().unwrap() = Some("a write failed: test".into());
        let err = e.put(CF_DEFAULT, b"k", b"v").unwrap_err();
        assert_eq!(err.kind(), engine_traits::ErrorKind::Io);
        assert!(err.to_string().contains("until it is reopened"), "{err}");
        let mut b = e.write_batch();
        b.put(CF_DEFAULT, b"k", b"v").unwrap();
        assert!(e.write(&WriteOptions::default(), &b).is_err());
        assert_eq!(e.get(CF_DEFAULT, b"k").unwrap(), None, "reads still work");
        drop(e);
        let e = RocksEngine::open(&config).unwrap();
        e.put(CF_DEFAULT, b"k", b"v").unwrap();
    }

    #[test]
    fn rolling_back_a_save_point_forgets_what_it_touched() {
        let dir = tempfile::tempdir().unwrap();
        let e = RocksEngine::open(&EngineConfig::new(dir.path())).unwrap();
        let mut b = e.write_batch();
        b.put(CF_DEFAULT, b"kept", b"1").unwrap();
        b.set_save_point();
        b.put(CF_DEFAULT, b"dropped", b"2").unwrap();
        b.delete_range(CF_DEFAULT, b"x", b"y").unwrap();
        b.rollback_to_save_point().unwrap();
        assert_eq!(b.touched.len(), 1, "{:?}", b.touched);
        b.clear();
        assert!(b.touched.is_empty());
    }

    #[test]
    fn default_cf_is_exposed_first() {
        let dir = tempfile::tempdir().unwrap();
        let e = RocksEngine::open(&EngineConfig::new(dir.path())).unwrap();
        assert_eq!(e.cf_names()[0], CF_DEFAULT);
    }
}
