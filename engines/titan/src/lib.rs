//! `engine_titan`: Titan-style key-value separation behind the workbench's engine traits.
//!
//! # What it is for
//! The SIG's large-value engine: values of `min_blob_size` (4 KiB) and more live in blob
//! files, the LSM holds small indexes (see the `titan` crate). This crate maps the traits onto
//! `titan::TitanDb`: batches are `OpBatch`es applied by Titan's write path, snapshots carry a
//! pin that keeps blob files alive, and iterators resolve blob values lazily, so a key-only
//! scan never reads a blob file.
//!
//! # What it is not for
//! The separation itself (that is `titan/`), or RocksDB tuning (options profiles, as for
//! `rocks`). Capabilities declared: persistence, checkpoint (RocksDB's plus linked blob
//! files), bulk ingest (a blob file, then an SST of indexes), manual compaction, statistics
//! (with Titan's GC counters) and prefix seek (RocksDB's fixed prefix extractor, as in
//! `rocks`: `EngineConfig::prefix_len` becomes `TitanOptions::prefix_len`).
#![deny(missing_docs)]

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use engine_traits::{
    BatchOp, BulkIngest, Capabilities, Checkpoint, EngineConfig, EngineStats, Error, IterOptions,
    KvEngine, ManualCompaction, OpBatch, ReadOptions, Readable, Result, Statistics, WriteBatch,
    WriteOptions,
};
use rocks_engine_common::{ResolveValue, RocksIterator, iter_read_opts};
use rust_rocksdb::rocksdb::{DB, Options};
use rust_rocksdb::{OptionsProfile, RocksStats, TitanProfile};
use titan::{Pin, TitanDb, TitanOptions, TitanSnapshot, WriteOp};

/// Maps a Titan error onto the trait layer's kinds. Injected failpoint errors are `Io`: they
/// stand for the I/O error the failpoint simulates.
pub fn map_error(e: titan::Error, path: &Path) -> Error {
    match e {
        titan::Error::Rocks(s) => rocks_engine_common::map_status(s, Some(path)),
        titan::Error::Corruption {
            message,
            file,
            offset,
        } => Error::Corruption {
            message,
            file,
            offset,
        },
        titan::Error::Io { path, source } => Error::io(source, path),
        titan::Error::Injected(name) => Error::Io {
            message: format!("injected failure at failpoint {name}"),
            path: None,
            source: None,
        },
    }
}

/// `topts` with the `titan:` section of an options profile laid over it.
fn with_profile(mut topts: TitanOptions, p: Option<&TitanProfile>) -> TitanOptions {
    let Some(p) = p else {
        return topts;
    };
    if let Some(v) = p.min_blob_size {
        topts.min_blob_size = v.0 as usize;
    }
    if let Some(v) = p.blob_file_size {
        topts.blob_file_size = v.0;
    }
    if let Some(v) = p.target_space_amp {
        topts.target_space_amp = v;
    }
    if let Some(v) = p.gc_min_garbage_ratio {
        topts.gc_min_garbage_ratio = v;
    }
    if let Some(ms) = p.gc_interval_ms {
        topts.gc_interval = (ms > 0).then(|| std::time::Duration::from_millis(ms));
    }
    topts
}

/// Titan as a [`KvEngine`].
#[derive(Debug)]
pub struct TitanEngine {
    db: TitanDb,
    cfs: Arc<[String]>,
    /// The prefix extractor's length, for iterator read options.
    prefix_len: Option<usize>,
}

impl TitanEngine {
    /// Opens with explicit separation options (the trait's `open` uses the defaults).
    /// `config.prefix_len`, when set, becomes `topts.prefix_len`; both set to different
    /// lengths is `InvalidArgument`.
    pub fn open_with(config: &EngineConfig, mut topts: TitanOptions) -> Result<Self> {
        if let Some(n) = config.prefix_len {
            match topts.prefix_len {
                Some(t) if t != n => {
                    return Err(Error::invalid(format!(
                        "prefix_len {n} in the engine config and {t} in TitanOptions disagree"
                    )));
                }
                _ => topts.prefix_len = Some(n),
            }
        }
        let prefix_len = topts.prefix_len;
        let cfs: Arc<[String]> = config.cf_list()?.into();
        let name = config.profile.as_deref().unwrap_or("default");
        let profile =
            OptionsProfile::load(name).map_err(|e| Error::invalid(format!("engine titan: {e}")))?;
        let topts = with_profile(topts, profile.titan.as_ref());
        let mut all = cfs.to_vec();
        if let Ok(existing) = DB::list_cf(&Options::default(), &config.path) {
            for cf in existing {
                if !all.contains(&cf) {
                    all.push(cf);
                }
            }
        }
        let db = TitanDb::open(
            &config.path,
            &all,
            &profile,
            topts,
            config.create_if_missing,
        )
        .map_err(|e| map_error(e, &config.path))?;
        Ok(TitanEngine {
            db,
            cfs,
            prefix_len,
        })
    }

    /// The Titan database underneath (GC, blob statistics).
    pub fn titan(&self) -> &TitanDb {
        &self.db
    }

    fn check_cf(&self, cf: &str) -> Result<()> {
        if self.cfs.iter().any(|c| c == cf) {
            Ok(())
        } else {
            Err(Error::unknown_cf(cf))
        }
    }

    fn err(&self, e: titan::Error) -> Error {
        map_error(e, self.db.path())
    }
}

impl Readable for TitanEngine {
    type Iterator<'a> = TitanIterator<'a>;

    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_cf(cf)?;
        self.db
            .get(cf, key, opts.fill_cache)
            .map_err(|e| self.err(e))
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<TitanIterator<'_>> {
        self.check_cf(cf)?;
        let r = iter_read_opts(&opts, self.prefix_len)?;
        // Pin first: the iterator's implicit snapshot is taken after, so every blob file it
        // can reach stays.
        let pin = self.db.pin();
        let handle = self
            .db
            .rocks()
            .cf_handle(cf)
            .ok_or_else(|| Error::unknown_cf(cf))?;
        let it = self.db.rocks().raw_iterator_cf_opt(handle, r);
        let values = BlobValues {
            db: &self.db,
            cf: cf.to_owned(),
            _pin: Some(pin),
        };
        Ok(RocksIterator::with_resolver(
            it,
            opts.prefix_same_as_start,
            self.db.path().to_path_buf(),
            values,
        ))
    }
}

/// A Titan snapshot.
pub struct TitanEngineSnapshot<'a> {
    snap: TitanSnapshot<'a>,
    engine: &'a TitanEngine,
}

impl Readable for TitanEngineSnapshot<'_> {
    type Iterator<'b>
        = TitanIterator<'b>
    where
        Self: 'b;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.engine.check_cf(cf)?;
        self.snap.get(cf, key).map_err(|e| self.engine.err(e))
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<TitanIterator<'_>> {
        self.engine.check_cf(cf)?;
        let r = iter_read_opts(&opts, self.engine.prefix_len)?;
        let it = self
            .snap
            .raw_iterator(cf, r)
            .map_err(|e| self.engine.err(e))?;
        // The snapshot's own pin covers this iterator.
        let values = BlobValues {
            db: &self.engine.db,
            cf: cf.to_owned(),
            _pin: None,
        };
        Ok(RocksIterator::with_resolver(
            it,
            opts.prefix_same_as_start,
            self.engine.db.path().to_path_buf(),
            values,
        ))
    }
}

/// Resolves Titan's stored bytes into values, reading blob files only in `value()`, so a
/// key-only scan never touches them. Holds the pin that keeps those files alive.
pub struct BlobValues<'a> {
    db: &'a TitanDb,
    cf: String,
    _pin: Option<Pin<'a>>,
}

impl ResolveValue for BlobValues<'_> {
    fn resolve<'v>(&'v self, key: &[u8], raw: &'v [u8]) -> Result<Cow<'v, [u8]>> {
        if let Some(v) = TitanDb::inline_value(raw) {
            return Ok(Cow::Borrowed(v));
        }
        self.db
            .resolve(&self.cf, key, raw)
            .map(Cow::Owned)
            .map_err(|e| map_error(e, self.db.path()))
    }
}

/// Titan's iterator: RocksDB's, with values resolved through [`BlobValues`].
pub type TitanIterator<'a> = RocksIterator<'a, BlobValues<'a>>;

impl KvEngine for TitanEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: true,
        bulk_ingest: true,
        manual_compaction: true,
        statistics: true,
        prefix_seek: true,
    };

    type Snapshot<'a> = TitanEngineSnapshot<'a>;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        Self::open_with(config, TitanOptions::default())
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn write_batch(&self) -> OpBatch {
        OpBatch::new(self.cfs.clone())
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        opts.check()?;
        batch.check_cfs(&self.cfs)?;
        if batch.is_empty() {
            return Ok(());
        }
        let cfs = batch.cfs();
        let ops: Vec<WriteOp<'_>> = batch
            .ops()
            .iter()
            .map(|op| match op {
                BatchOp::Put { cf, key, value } => WriteOp::Put(&cfs[*cf], key, value),
                BatchOp::Delete { cf, key } => WriteOp::Delete(&cfs[*cf], key),
                BatchOp::DeleteRange { cf, start, end } => {
                    WriteOp::DeleteRange(&cfs[*cf], start, end)
                }
            })
            .collect();
        self.db
            .write(&ops, opts.sync, opts.disable_wal)
            .map_err(|e| self.err(e))
    }

    fn snapshot(&self) -> Result<TitanEngineSnapshot<'_>> {
        Ok(TitanEngineSnapshot {
            snap: self.db.snapshot(),
            engine: self,
        })
    }

    fn sync(&self) -> Result<()> {
        self.db.sync().map_err(|e| self.err(e))
    }

    fn flush(&self) -> Result<()> {
        // The records of the indexes the flush makes durable must be durable first. Titan's
        // flush listener fsyncs them anyway, but it cannot fail the flush: syncing here first
        // lets a failed fsync reach the caller.
        self.db.sync_blobs().map_err(|e| self.err(e))?;
        for name in self.cfs.iter() {
            let handle = self
                .db
                .rocks()
                .cf_handle(name)
                .ok_or_else(|| Error::unknown_cf(name))?;
            self.db
                .rocks()
                .flush_cf(handle)
                .map_err(|e| self.err(e.into()))?;
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

impl Checkpoint for TitanEngine {
    /// RocksDB's checkpoint plus hard links of every (sealed) blob file. `TitanDb::checkpoint`
    /// refuses an existing `dir` as InvalidArgument.
    fn checkpoint(&self, dir: &Path) -> Result<()> {
        self.db.checkpoint(dir).map_err(|e| map_error(e, dir))
    }
}

impl BulkIngest for TitanEngine {
    /// Large values to a new blob file, then one SST of indexes and small values ingested.
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        self.check_cf(cf)?;
        self.db.ingest(cf, entries).map_err(|e| self.err(e))
    }
}

impl ManualCompaction for TitanEngine {
    /// Compacts the LSM range, then collects blob garbage in every file that has any (the
    /// active file is sealed first): manual compaction is how a caller asks for space back,
    /// and most of Titan's is in blob files.
    fn compact_range(&self, cf: &str, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.check_cf(cf)?;
        let handle = self
            .db
            .rocks()
            .cf_handle(cf)
            .ok_or_else(|| Error::unknown_cf(cf))?;
        // Compaction flushes the memtable first: make the blob records it points at durable
        // (as in `flush`: the listener would, but could not report a failure).
        self.db.sync_blobs().map_err(|e| self.err(e))?;
        self.db.rocks().compact_range_cf(handle, start, end);
        self.db.gc(true).map(|_| ()).map_err(|e| self.err(e))
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

impl Statistics for TitanEngine {
    fn statistics(&self) -> Result<EngineStats> {
        let names: Vec<&str> = self.cfs.iter().map(String::as_str).collect();
        let rocks = RocksStats::collect(self.db.rocks(), self.db.rocks_options(), &names)
            .map_err(|s| self.err(s.into()))?;
        let c = self.db.counters();
        use std::sync::atomic::Ordering::Relaxed;
        let blob_written = c.blob_bytes_written.load(Relaxed) + c.gc_bytes_rewritten.load(Relaxed);
        Ok(EngineStats {
            disk_size: dir_size(self.db.path()) + self.db.blob_disk_size(),
            // The blob bytes some key's current value points at (exact: the garbage
            // accounting), plus RocksDB's own estimate for the LSM.
            live_data_size: rocks.estimate_live_data_size + self.db.blob_totals().1,
            user_bytes_written: c.user_bytes_written.load(Relaxed),
            engine_bytes_written: rocks.engine_bytes_written() + blob_written,
        })
    }

    /// Where Titan's blob bytes come from and go: written by users and by GC, files
    /// rewritten and deleted, bytes reclaimed, GC passes, blob file reads.
    fn counters(&self) -> Result<Vec<(&'static str, u64)>> {
        use std::sync::atomic::Ordering::Relaxed;
        let c = self.db.counters();
        Ok(vec![
            ("blob_bytes_written", c.blob_bytes_written.load(Relaxed)),
            ("gc_bytes_rewritten", c.gc_bytes_rewritten.load(Relaxed)),
            ("gc_bytes_reclaimed", c.gc_bytes_reclaimed.load(Relaxed)),
            ("gc_files_rewritten", c.gc_files_rewritten.load(Relaxed)),
            ("gc_files_deleted", c.gc_files_deleted.load(Relaxed)),
            ("gc_passes", c.gc_passes.load(Relaxed)),
            ("write_stall_micros", c.write_stall_micros.load(Relaxed)),
            ("blob_file_reads", self.db.blob_reads()),
        ])
    }
}
