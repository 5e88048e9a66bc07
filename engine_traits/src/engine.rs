//! The required core: reading, writing, snapshots, batches.

use crate::{
    BulkIngest, Capabilities, Checkpoint, EngineConfig, EngineIterator, IterOptions,
    ManualCompaction, ReadOptions, Result, Statistics, WriteBatch, WriteOptions,
};

/// Point reads and iterators: what an engine and its snapshots have in common.
pub trait Readable {
    /// The iterator type; it may borrow the engine or snapshot it came from.
    type Iterator<'a>: EngineIterator
    where
        Self: 'a;

    /// The value of `key` in `cf`, or `None`. An empty value is `Some(vec![])`, not `None`.
    ///
    /// Errors: `UnknownCf` for a CF the engine was not opened with.
    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// [`Readable::get_opt`] with default options.
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_opt(&ReadOptions::default(), cf, key)
    }

    /// An iterator over `cf` within the bounds of `opts`, unpositioned (not valid) until a
    /// seek. It sees the state at its creation: later writes are invisible to it.
    ///
    /// Errors: `UnknownCf`; `InvalidArgument` when the lower bound is above the upper bound;
    /// `NotSupported` for `prefix_same_as_start` without capability `prefix_seek`.
    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<Self::Iterator<'_>>;

    /// An unbounded iterator over `cf`.
    fn iterator(&self, cf: &str) -> Result<Self::Iterator<'_>> {
        self.iterator_opt(cf, IterOptions::default())
    }
}

/// A storage engine: the required core.
///
/// Required methods: [`KvEngine::open`], [`KvEngine::cf_names`], [`KvEngine::write_batch`],
/// [`KvEngine::write`], [`KvEngine::snapshot`], [`KvEngine::sync`], [`KvEngine::flush`], plus
/// [`Readable`]'s `get_opt` and `iterator_opt`. Single writes default to one-entry batches.
///
/// All methods take `&self`: an engine is shared between threads (`Send + Sync`), and writes
/// from several threads are serialised by the engine, each write or batch atomic.
pub trait KvEngine: Readable + Send + Sync + Sized + 'static {
    /// What this engine offers beyond the core. Known before any engine is opened, so the
    /// suite can register ignored cases with their reason.
    const CAPABILITIES: Capabilities;

    /// A consistent read-only view; it may borrow the engine.
    type Snapshot<'a>: Readable + Send + Sync
    where
        Self: 'a;

    /// A batch of writes applied atomically by [`KvEngine::write`].
    type WriteBatch: WriteBatch + Send;

    /// Opens (or creates) the engine described by `config`.
    ///
    /// Errors: `InvalidArgument` for a bad config (empty CF name, unknown profile, missing
    /// database without `create_if_missing`); `Io` naming the path when the directory cannot
    /// be used (it is a file, no permission); `Corruption` for damaged files; `Closed` when
    /// another handle holds the database.
    fn open(config: &EngineConfig) -> Result<Self>;

    /// The column families this handle exposes, `default` first.
    fn cf_names(&self) -> Vec<String>;

    /// Writes `key = value` into `cf`. Errors: `UnknownCf`; `InvalidArgument` for bad options.
    fn put_opt(&self, opts: &WriteOptions, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let mut batch = self.write_batch();
        batch.put(cf, key, value)?;
        self.write(opts, &batch)
    }

    /// [`KvEngine::put_opt`] with default options.
    fn put(&self, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.put_opt(&WriteOptions::default(), cf, key, value)
    }

    /// Deletes `key` from `cf`; deleting a missing key is not an error.
    fn delete_opt(&self, opts: &WriteOptions, cf: &str, key: &[u8]) -> Result<()> {
        let mut batch = self.write_batch();
        batch.delete(cf, key)?;
        self.write(opts, &batch)
    }

    /// [`KvEngine::delete_opt`] with default options.
    fn delete(&self, cf: &str, key: &[u8]) -> Result<()> {
        self.delete_opt(&WriteOptions::default(), cf, key)
    }

    /// Deletes every key in `[start, end)` of `cf`: `start` is deleted, `end` is kept.
    /// `start == end` deletes nothing; `start > end` is `InvalidArgument` and deletes nothing.
    /// Snapshots taken before keep seeing the deleted keys.
    fn delete_range_opt(
        &self,
        opts: &WriteOptions,
        cf: &str,
        start: &[u8],
        end: &[u8],
    ) -> Result<()> {
        let mut batch = self.write_batch();
        batch.delete_range(cf, start, end)?;
        self.write(opts, &batch)
    }

    /// [`KvEngine::delete_range_opt`] with default options.
    fn delete_range(&self, cf: &str, start: &[u8], end: &[u8]) -> Result<()> {
        self.delete_range_opt(&WriteOptions::default(), cf, start, end)
    }

    /// An empty batch bound to this engine's column families.
    fn write_batch(&self) -> Self::WriteBatch;

    /// Applies `batch` atomically: readers see all of it or none of it, and after a crash
    /// either all of it or none of it is there. The batch is not consumed: writing it again
    /// applies the same operations again, in order. An empty batch is a no-op.
    ///
    /// A write that returned `Ok` with `sync` survives a crash. A write that returned an error
    /// left the engine consistent and is absent after a reopen, so the engine then holds
    /// exactly the acknowledged writes, even when its log record reached the file before the
    /// sync failed (rocks writes an undo record for that case; Titan fails before its LSM
    /// write). The one exception must be said in the error: when not even that could be made
    /// durable, the message says the write may or may not be present, and it is then still
    /// all or nothing. An engine may refuse further writes after such a failure until reopened.
    fn write(&self, opts: &WriteOptions, batch: &Self::WriteBatch) -> Result<()>;

    /// A consistent view of every CF as of now. Writes after this call, `delete_range`
    /// included, are invisible to it. Taking one costs O(1) or O(log n), never a copy.
    fn snapshot(&self) -> Result<Self::Snapshot<'_>>;

    /// Makes every write acknowledged so far durable (fsync of the WAL or equivalent).
    fn sync(&self) -> Result<()>;

    /// Persists in-memory state to the engine's files (memtables to tables); a no-op for
    /// engines without persistence. Never changes what reads return.
    fn flush(&self) -> Result<()>;

    /// Capability `checkpoint`, when declared.
    fn as_checkpoint(&self) -> Option<&dyn Checkpoint> {
        None
    }

    /// Capability `bulk_ingest`, when declared.
    fn as_bulk_ingest(&self) -> Option<&dyn BulkIngest> {
        None
    }

    /// Capability `manual_compaction`, when declared.
    fn as_manual_compaction(&self) -> Option<&dyn ManualCompaction> {
        None
    }

    /// Capability `statistics`, when declared.
    fn as_statistics(&self) -> Option<&dyn Statistics> {
        None
    }
}
