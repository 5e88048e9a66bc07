//! `engine_leveldb`: LevelDB behind the workbench's trait layer, through `rusty-leveldb`, a
//! pure-Rust port of Google's LevelDB.
//!
//! # What it is for
//! The SIG's "LevelDB": RocksDB's ancestor, with one keyspace, one memtable, leveled
//! compaction running inline on the writing thread, and nothing of RocksDB's (no column
//! families, no range tombstones, no checkpoint or ingest, no background threads). Beside
//! rocks it shows what RocksDB added; beside fjall, a second LSM lineage. And since the crate
//! is pure Rust, it builds in seconds.
//!
//! # What it is not for
//! Data anyone cares about: rusty-leveldb's author does not endorse it for that, and the
//! suites found why: thirteen bugs, reduced in `tests/upstream.rs` and listed on
//! docs/src/engines/leveldb.md. The wrapper works around every one that costs correctness,
//! but rusty-leveldb still reads a table whose bytes are damaged as missing keys, and after a
//! handle's first snapshot its compaction reclaims no space until the next open. Nor is it for
//! concurrency: one mutex serialises every call, reads included, and a write that fills the
//! memtable runs the flush and the compactions it triggers while holding it.
//!
//! # Design
//! - **Column families** are a tag byte before every key in LevelDB's one keyspace (`keys.rs`):
//!   tags are assigned at first use and kept in a catalog record, so a CF keeps its keys
//!   whether or not a later open lists it. User keys are stored escaped and terminated
//!   (order-preserving), so no stored key ends in `0x00`, which a table-index bug of
//!   rusty-leveldb needs.
//! - **Batches** ([`OpBatch`]) become one rusty-leveldb `WriteBatch`: a batch across CFs is
//!   one log record and one sequence range, atomic in memory and after a crash.
//! - **Snapshots** are rusty-leveldb snapshots, **iterators** rusty-leveldb `DBIterator`s at a
//!   snapshot; both live in the engine's state (`state.rs`) and the trait objects hold an id,
//!   so they may live as long as their borrow of the engine, across any number of writes.
//!   Every call on them takes the engine's lock; an iterator copies the entry it lands on.
//! - **Reads** never use rusty-leveldb's `DB::get` nor its backward iteration, both wrong in
//!   4.0.2: a point read is a forward seek on an iterator at the current state (reused until
//!   the next write), and `prev`, `seek_for_prev` and `seek_to_last` find the predecessor
//!   with forward seeks (`iter.rs`).
//! - **Threads**: rusty-leveldb's `DB` takes `&mut self` and shares `Rc`s with its snapshots
//!   and iterators; `DB` alone is marked `Send` upstream. The engine keeps all of them in one
//!   `State` behind one `Mutex` (the safety argument is at `State`), rather than on a thread
//!   of their own: a call costs one uncontended lock instead of two channel hand-offs, and
//!   the cost is the same serialisation either way.
//! - **Durability**: rusty-leveldb never fsyncs (its `Env` has no sync; a synced write ends
//!   in `Write::flush`, a no-op for files). The engine's `env.rs` makes that flush an
//!   `fdatasync` plus, the first time, a directory fsync, and makes the rename of CURRENT
//!   durable; so `WriteOptions::sync` is LevelDB's `sync` and now means what it says, and
//!   tables and MANIFEST records are durable before anything refers to them. Logs and the
//!   MANIFEST are never reused across opens: rusty-leveldb appends to a reused file after a
//!   torn record, where its recovery stops reading.
//! - **Failures**: rusty-leveldb swallows many errors and goes on (a compaction whose output
//!   failed installs the deletion of its inputs; a write whose log append failed stays in the
//!   memtable). The env records the first I/O failure and every compaction failure
//!   rusty-leveldb logs; from then on the handle writes nothing to disk and the engine answers
//!   every call with an `Io` error until it is reopened. A panic inside rusty-leveldb (it
//!   panics on a damaged table footer) becomes `Corruption`.
//!
//! # Emulated, and what it costs
//! - `delete_range`: a scan of the range at the current state (plus the batch's own earlier
//!   puts) and a tombstone per key, in the same `WriteBatch`: O(keys in range).
//! - Save points: [`OpBatch`] keeps operations until `write`.
//! - Point reads: one seek; after each write, one new iterator first (a source per level-0
//!   table and per level). A snapshot's point read: a new iterator and a seek.
//! - `prev`, `seek_for_prev`, `seek_to_last`: at most 9 seeks per byte of the key found.
//! - Iterators keep the tables of their version: while one lives, obsolete tables stay on
//!   disk (deleted when the last iterator goes, or at the next open).
//! - Snapshot numbering: see `State::take_snapshot` (a reused snapshot, or a padding delete
//!   on a young database).
//! - Checkpoint: under the lock, the log flushed, tables hard-linked and the other files
//!   copied: O(size of logs and MANIFEST), all writes wait meanwhile.
//! - Bulk ingest: one synced batch of puts (LevelDB has no table ingestion).
//! - Prefix seek: a filter on the bounded iterator.
//! - Keys: one tag byte, two terminator bytes and one byte per `0x00` byte of the user key.
#![deny(missing_docs)]

mod env;
mod error;
mod iter;
mod keys;
mod state;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use engine_traits::{
    BatchOp, BulkIngest, Capabilities, Checkpoint, EngineConfig, EngineStats, Error, IterOptions,
    KvEngine, ManualCompaction, OpBatch, ReadOptions, Readable, Result, Statistics, WriteBatch,
    WriteOptions, display_key,
};
use rusty_leveldb::infolog::Logger;
use rusty_leveldb::{DB, Options, Status};

use crate::env::{DurableEnv, Health, InfoLog, sync_dir};
use crate::error::{crash_point, fail_point, map_status};
pub use crate::iter::LeveldbIterator;
use crate::keys::{CATALOG_KEY, Catalog, FORMAT_KEY, FORMAT_VERSION, META_TAG, encode};
use crate::state::State;

/// Files of the database directory a checkpoint leaves out: the lock and the info logs.
const NOT_CHECKPOINTED: [&str; 3] = ["LOCK", "LOG", "LOG.old"];

/// LevelDB behind the traits; see the crate documentation.
pub struct LeveldbEngine {
    path: PathBuf,
    cfs: Arc<[String]>,
    /// The tag of each CF, in `cfs` order.
    tags: Vec<u8>,
    prefix_len: Option<usize>,
    health: Arc<Health>,
    /// Key and value bytes of acknowledged writes since open.
    user_bytes: AtomicU64,
    state: Mutex<State>,
}

impl std::fmt::Debug for LeveldbEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeveldbEngine")
            .field("path", &self.path)
            .field("cfs", &self.cfs)
            .finish_non_exhaustive()
    }
}

/// A consistent view of every CF: one rusty-leveldb snapshot, kept in the engine's state.
pub struct LeveldbSnapshot<'a> {
    engine: &'a LeveldbEngine,
    id: u64,
}

impl std::fmt::Debug for LeveldbSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeveldbSnapshot")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// `Io` for an injected failure at the wrapper's own failpoint.
fn injected(e: std::io::Error, path: &Path) -> Error {
    Error::Io {
        message: e.to_string(),
        path: Some(path.to_path_buf()),
        source: Some(e),
    }
}

/// The text of a caught panic.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// Checks the directory before rusty-leveldb touches it (it creates the directory, a LOCK and
/// a LOG even when it then refuses to create a database), and creates it durably.
fn prepare_dir(path: &Path, create_if_missing: bool) -> Result<()> {
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() => {
            return Err(Error::Io {
                message: format!("database path {} is not a directory", path.display()),
                path: Some(path.to_path_buf()),
                source: None,
            });
        }
        Ok(_) => {
            let current = path.join("CURRENT");
            match fs::read(&current) {
                Ok(text) if text.is_empty() || !text.ends_with(b"\n") => {
                    return Err(Error::corruption(
                        format!("CURRENT is empty or not a line: {}", display_key(&text)),
                        Some(current),
                        None,
                    ));
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(e, current)),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(e, path)),
    }
    if !create_if_missing {
        return Err(Error::invalid(format!(
            "no database at {} and create_if_missing is false",
            path.display()
        )));
    }
    if !path.exists() {
        fs::create_dir_all(path).map_err(|e| Error::io(e, path))?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent).map_err(|e| Error::io(e, parent))?;
        }
    }
    Ok(())
}

impl LeveldbEngine {
    /// The state, once no failure has poisoned the handle.
    pub(crate) fn lock(&self, what: &str) -> Result<MutexGuard<'_, State>> {
        let guard = self.state.lock().map_err(|_| {
            Error::Other(format!(
                "{what}: a panic inside rusty-leveldb left the engine unusable; reopen it"
            ))
        })?;
        if let Some(f) = self.health.failure() {
            return Err(f.to_error(what));
        }
        Ok(guard)
    }

    /// `value`, unless a failure was met while computing it (rusty-leveldb may have read a
    /// table it could not open as "no such key").
    pub(crate) fn checked<T>(&self, what: &str, value: T) -> Result<T> {
        match self.health.failure() {
            Some(f) => Err(f.to_error(what)),
            None => Ok(value),
        }
    }

    /// Runs `f`, turning a panic inside rusty-leveldb into an error. rusty-leveldb panics on
    /// some damaged files (an `assert_eq!` on a table footer's magic number) and on broken
    /// invariants; the panic unwinds through the engine's lock and poisons it, so every
    /// later call fails until the engine is reopened.
    pub(crate) fn shielded<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            let message = panic_message(&panic);
            self.health.poison("panic", &self.path, &message);
            Err(Error::corruption(
                format!(
                    "{what}: rusty-leveldb panicked ({message}), probably on a damaged file; \
                     the engine refuses every operation until it is reopened"
                ),
                Some(self.path.clone()),
                None,
            ))
        })
    }

    pub(crate) fn release_iter(&self, id: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.release_iter(id);
        self.health.unpin();
    }

    fn release_snapshot(&self, id: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.release_snapshot(id);
    }

    fn tag(&self, cf: &str) -> Result<u8> {
        self.cfs
            .iter()
            .position(|c| c == cf)
            .map(|i| self.tags[i])
            .ok_or_else(|| Error::unknown_cf(cf))
    }

    /// A failed rusty-leveldb call: the handle is poisoned (if the env has not done it), and
    /// the error says so.
    fn failed(&self, what: &str, status: Status) -> Error {
        let f = self.health.failure();
        if f.is_none() {
            self.health.poison(what, &self.path, &status.err);
        }
        match f {
            // An I/O failure the env saw: the precise one.
            Some(f) => f.to_error(what),
            None => {
                let e = map_status(status, what, &self.path);
                Error::Io {
                    message: format!(
                        "{e}; the engine refuses every operation until it is reopened"
                    ),
                    path: Some(self.path.clone()),
                    source: None,
                }
            }
        }
    }

    /// A failed write: as [`Self::failed`], saying whether the batch can be in the log.
    fn write_failed(&self, status: Status) -> Error {
        let e = self.failed("write", status);
        // Only a failed fsync of the log can leave the whole record in the file; a failure
        // before (a new log, a flush, a compaction, the append itself) leaves it absent or
        // torn, and recovery drops a torn record.
        let maybe_present = self
            .health
            .failure()
            .is_some_and(|f| f.op == "fsync" && f.path.extension().is_some_and(|x| x == "log"));
        let presence = if maybe_present {
            "the batch may or may not be present after a reopen (all of it or none)"
        } else {
            "the batch is absent after a reopen"
        };
        match e {
            Error::Io {
                message,
                path,
                source,
            } => Error::Io {
                message: format!("{message}; {presence}"),
                path,
                source,
            },
            other => other,
        }
    }

    /// The rusty-leveldb batch for `ops`. `delete_range` becomes a tombstone per key in the
    /// range: those at the current state and those put earlier in this batch.
    fn encode_batch(&self, st: &mut State, ops: &[BatchOp]) -> Result<rusty_leveldb::WriteBatch> {
        let mut out = rusty_leveldb::WriteBatch::default();
        let mut put_here = BTreeSet::new();
        for op in ops {
            match op {
                BatchOp::Put { cf, key, value } => {
                    let k = encode(self.tags[*cf], key);
                    out.put(&k, value);
                    put_here.insert(k);
                }
                BatchOp::Delete { cf, key } => out.delete(&encode(self.tags[*cf], key)),
                BatchOp::DeleteRange { cf, start, end } => {
                    if start >= end {
                        continue;
                    }
                    let (lo, hi) = (encode(self.tags[*cf], start), encode(self.tags[*cf], end));
                    let mut doomed: BTreeSet<Vec<u8>> =
                        put_here.range(lo.clone()..hi.clone()).cloned().collect();
                    let stored = st
                        .keys_in(&lo, &hi)
                        .map_err(|s| self.failed("delete_range scan", s))?;
                    doomed.extend(self.checked("delete_range scan", stored)?);
                    for k in doomed {
                        out.delete(&k);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Writes `batch` through rusty-leveldb.
    fn apply(&self, st: &mut State, batch: rusty_leveldb::WriteBatch, sync: bool) -> Result<()> {
        if batch.count() == 0 {
            return Ok(());
        }
        st.write(batch, sync).map_err(|s| self.write_failed(s))?;
        // A failure rusty-leveldb swallowed on the way (in a compaction this write ran) leaves
        // the write itself applied and, with `sync`, durable: it is acknowledged, and the
        // next call reports the failure.
        crash_point("leveldb::after_write");
        Ok(())
    }

    /// [`KvEngine::open`] without the panic guard.
    fn open_checked(config: &EngineConfig) -> Result<Self> {
        if let Some(profile) = &config.profile {
            return Err(Error::invalid(format!(
                "engine leveldb has no options profiles, got profile {profile:?}"
            )));
        }
        if config.prefix_len == Some(0) {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        let cfs: Arc<[String]> = config.cf_list()?.into();
        let path = config.path.clone();
        prepare_dir(&path, config.create_if_missing)?;
        let health = Arc::new(Health::default());
        let mut st = State::new(Self::open_db(config, &health)?);

        let read = |st: &mut State, key: &[u8]| {
            st.get(key)
                .map_err(|s| map_status(s, "open: reading the CF catalog", &path))
        };
        let format = read(&mut st, FORMAT_KEY)?;
        if let Some(f) = format.as_deref().filter(|f| *f != FORMAT_VERSION) {
            return Err(Error::invalid(format!(
                "{} holds a database of another layout ({}), not {}",
                path.display(),
                display_key(f),
                display_key(FORMAT_VERSION)
            )));
        }
        let stored = read(&mut st, CATALOG_KEY)?;
        let mut catalog = match &stored {
            Some(bytes) => Catalog::decode(bytes).map_err(|e| match e {
                Error::Corruption { message, .. } => {
                    Error::corruption(message, Some(path.clone()), None)
                }
                other => other,
            })?,
            None => Catalog::default(),
        };
        let before = catalog.clone();
        let tags = cfs
            .iter()
            .map(|cf| catalog.tag_for(cf))
            .collect::<Result<Vec<u8>>>()?;
        // No format record: a new database, or one whose first open ended before this record
        // (it is the first thing written): either way the records are written now.
        if format.is_none() || catalog != before {
            let mut batch = rusty_leveldb::WriteBatch::default();
            batch.put(FORMAT_KEY, FORMAT_VERSION);
            batch.put(CATALOG_KEY, &catalog.encode());
            st.write(batch, true)
                .map_err(|s| map_status(s, "open: writing the CF catalog", &path))?;
        }
        if let Some(f) = health.failure() {
            return Err(f.to_error("open"));
        }
        Ok(LeveldbEngine {
            path,
            cfs,
            tags,
            prefix_len: config.prefix_len,
            health,
            user_bytes: AtomicU64::new(0),
            state: Mutex::new(st),
        })
    }

    fn open_db(config: &EngineConfig, health: &Arc<Health>) -> Result<DB> {
        let path = &config.path;
        let options = Options {
            env: Rc::new(Box::new(DurableEnv::new(health.clone()))),
            log: Some(Rc::new(RefCell::new(Logger(Box::new(InfoLog::open(
                path,
                health.clone(),
            )))))),
            create_if_missing: config.create_if_missing,
            // A reused log or MANIFEST is appended to after whatever torn record a crash left
            // at its end, and recovery stops reading at that record: everything written after
            // the reopen would be lost at the next one. Fresh files each open avoid it.
            reuse_logs: false,
            reuse_manifest: false,
            ..Options::default()
        };
        let db = DB::open(path, options).map_err(|s| map_status(s, "open", path))?;
        // A read error rusty-leveldb met while replaying the log ended the replay early.
        if let Some(f) = health.failure() {
            return Err(f.to_error("open"));
        }
        Ok(db)
    }
}

impl KvEngine for LeveldbEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: true,
        bulk_ingest: true,
        manual_compaction: true,
        statistics: true,
        prefix_seek: true,
    };

    type Snapshot<'a> = LeveldbSnapshot<'a>;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        // Recovery reads every file: a damaged one can make rusty-leveldb panic.
        std::panic::catch_unwind(|| Self::open_checked(config)).unwrap_or_else(|panic| {
            Err(Error::corruption(
                format!(
                    "open: rusty-leveldb panicked ({}), probably on a damaged file",
                    panic_message(&panic)
                ),
                Some(config.path.clone()),
                None,
            ))
        })
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn write_batch(&self) -> OpBatch {
        OpBatch::new(self.cfs.clone())
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        self.shielded("write", || {
            opts.check()?;
            fail_point("leveldb::write").map_err(|e| injected(e, &self.path))?;
            batch.check_cfs(&self.cfs)?;
            if batch.is_empty() {
                return Ok(());
            }
            let mut st = self.lock("write")?;
            let encoded = self.encode_batch(&mut st, batch.ops())?;
            // `disable_wal` has no LevelDB counterpart: such a write goes through the log like
            // any unsynced one, which keeps more than the option promises.
            self.apply(&mut st, encoded, opts.sync)?;
            self.user_bytes
                .fetch_add(batch.data_size() as u64, Ordering::Relaxed);
            Ok(())
        })
    }

    fn snapshot(&self) -> Result<LeveldbSnapshot<'_>> {
        self.shielded("snapshot", || {
            let mut st = self.lock("snapshot")?;
            let snapshot = st.take_snapshot().map_err(|s| self.failed("snapshot", s))?;
            let id = st.add_snapshot(snapshot);
            Ok(LeveldbSnapshot { engine: self, id })
        })
    }

    fn sync(&self) -> Result<()> {
        self.shielded("sync", || {
            let mut st = self.lock("sync")?;
            st.db.flush().map_err(|s| self.failed("sync", s))
        })
    }

    fn flush(&self) -> Result<()> {
        self.shielded("flush", || {
            let mut st = self.lock("flush")?;
            st.forget_reader();
            // rusty-leveldb flushes the memtable at the start of every manual compaction; a
            // compaction of the key `[0x00]`, which no table holds, does only that.
            st.db
                .compact_range(&[META_TAG], &[META_TAG])
                .map_err(|s| self.failed("flush", s))?;
            self.checked("flush", ())
        })
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

impl Readable for LeveldbEngine {
    type Iterator<'a> = LeveldbIterator<'a>;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.shielded("get", || {
            let tag = self.tag(cf)?;
            let mut st = self.lock("get")?;
            let value = st
                .get(&encode(tag, key))
                .map_err(|s| self.failed("get", s))?;
            self.checked("get", value)
        })
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<LeveldbIterator<'_>> {
        self.shielded("iterator", || {
            let tag = self.tag(cf)?;
            check_iter_opts(&opts, self.prefix_len)?;
            let mut st = self.lock("iterator")?;
            let snapshot = st.take_snapshot().map_err(|s| self.failed("iterator", s))?;
            let id = st
                .add_iter(&snapshot)
                .map_err(|s| self.failed("iterator", s))?;
            self.health.pin();
            drop(st);
            Ok(LeveldbIterator::new(self, id, tag, &opts, self.prefix_len))
        })
    }
}

fn check_iter_opts(opts: &IterOptions, prefix_len: Option<usize>) -> Result<()> {
    opts.check()?;
    if opts.prefix_same_as_start && prefix_len.is_none() {
        return Err(Error::invalid(
            "prefix_same_as_start needs an engine opened with prefix_len",
        ));
    }
    Ok(())
}

impl Readable for LeveldbSnapshot<'_> {
    type Iterator<'a>
        = LeveldbIterator<'a>
    where
        Self: 'a;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.engine.shielded("snapshot get", || {
            let tag = self.engine.tag(cf)?;
            let mut st = self.engine.lock("snapshot get")?;
            let value = st
                .get_at(self.id, &encode(tag, key))
                .map_err(|s| self.engine.failed("snapshot get", s))?;
            self.engine.checked("snapshot get", value)
        })
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<LeveldbIterator<'_>> {
        self.engine.shielded("snapshot iterator", || {
            let tag = self.engine.tag(cf)?;
            check_iter_opts(&opts, self.engine.prefix_len)?;
            let mut st = self.engine.lock("snapshot iterator")?;
            let snapshot = st.snapshot(self.id);
            let id = st
                .add_iter(&snapshot)
                .map_err(|s| self.engine.failed("snapshot iterator", s))?;
            self.engine.health.pin();
            drop(st);
            Ok(LeveldbIterator::new(
                self.engine,
                id,
                tag,
                &opts,
                self.engine.prefix_len,
            ))
        })
    }
}

impl Drop for LeveldbSnapshot<'_> {
    fn drop(&mut self) {
        self.engine.release_snapshot(self.id);
    }
}

impl ManualCompaction for LeveldbEngine {
    fn compact_range(&self, cf: &str, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.shielded("compact_range", || {
            let tag = self.tag(cf)?;
            let from = match start {
                Some(start) => encode(tag, start),
                None => vec![tag],
            };
            // rusty-leveldb's range includes its end: compacting one key more is harmless.
            let to = match end {
                Some(end) => encode(tag, end),
                None => vec![tag + 1],
            };
            let mut st = self.lock("compact_range")?;
            st.forget_reader();
            st.db
                .compact_range(&from, &to)
                .map_err(|s| self.failed("compact_range", s))?;
            self.checked("compact_range", ())
        })
    }
}

impl BulkIngest for LeveldbEngine {
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        self.shielded("ingest", || {
            let tag = self.tag(cf)?;
            if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
                return Err(Error::invalid(format!(
                    "ingest into {cf:?}: keys not strictly ascending at {}",
                    display_key(&w[1].0)
                )));
            }
            if entries.is_empty() {
                return Ok(());
            }
            let mut batch = rusty_leveldb::WriteBatch::default();
            let mut bytes = 0u64;
            for (k, v) in entries {
                batch.put(&encode(tag, k), v);
                bytes += (k.len() + v.len()) as u64;
            }
            let mut st = self.lock("ingest")?;
            self.apply(&mut st, batch, true)?;
            self.user_bytes.fetch_add(bytes, Ordering::Relaxed);
            Ok(())
        })
    }
}

impl Checkpoint for LeveldbEngine {
    fn checkpoint(&self, dir: &Path) -> Result<()> {
        self.shielded("checkpoint", || {
            if dir.exists() {
                return Err(Error::invalid(format!(
                    "checkpoint directory {} already exists",
                    dir.display()
                )));
            }
            // Under the lock nothing changes the files; with the log flushed, the files are a
            // consistent database: tables are immutable, the MANIFEST and the log are complete
            // records up to here.
            let mut st = self.lock("checkpoint")?;
            st.db.flush().map_err(|s| self.failed("checkpoint", s))?;
            fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
            let entries = fs::read_dir(&self.path).map_err(|e| Error::io(e, &self.path))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(e, &self.path))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if NOT_CHECKPOINTED.contains(&name) || !entry.path().is_file() {
                    continue;
                }
                let (from, to) = (entry.path(), dir.join(name));
                let linked = name.ends_with(".ldb") && fs::hard_link(&from, &to).is_ok();
                if !linked {
                    fs::copy(&from, &to).map_err(|e| Error::io(e, &from))?;
                }
                fs::File::open(&to)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| Error::io(e, &to))?;
            }
            sync_dir(dir).map_err(|e| Error::io(e, dir))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent).map_err(|e| Error::io(e, parent))?;
            }
            Ok(())
        })
    }
}

impl Statistics for LeveldbEngine {
    fn statistics(&self) -> Result<EngineStats> {
        // Listed under the lock, so no compaction is between deleting and adding files.
        let _st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut disk_size = 0;
        let mut live_data_size = 0;
        let entries = fs::read_dir(&self.path).map_err(|e| Error::io(e, &self.path))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(e, &self.path))?;
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            disk_size += meta.len();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".ldb") || name.ends_with(".log") {
                live_data_size += meta.len();
            }
        }
        Ok(EngineStats {
            disk_size,
            live_data_size,
            user_bytes_written: self.user_bytes.load(Ordering::Relaxed),
            engine_bytes_written: self.health.bytes_written(),
        })
    }
}
