//! `engine_lmdb`: LMDB behind the workbench's trait layer, through the `heed` crate with its
//! bundled LMDB C library (`lmdb-master-sys`).
//!
//! # What it is for
//! The SIG's memory-mapped B+tree: LMDB's copy-on-write B+tree lives in one file that is
//! mapped into the process, so reads come straight from the mapping with no cache and no copy,
//! and a read transaction is a consistent version of every tree at no cost. It stands in for
//! persistent-memory and mmap designs, and it is the read-optimised, write-once-per-page
//! baseline beside the LSMs.
//!
//! # What it is not for
//! Write throughput: LMDB has one writer at a time and makes every commit reach the disk
//! (see *Durability*); there is no WAL to batch small writes. Long-lived snapshots: an open
//! read transaction keeps every page it can see, so the file grows while one stays open.
//! Several processes: LMDB could share an environment between processes, but this engine
//! takes an exclusive lock on the directory, as every engine of the workbench does.
//! Statistics: LMDB counts no bytes written, so the engine declares no `statistics`.
//!
//! # Design
//! - **Column families** are LMDB named databases (`cf:<name>`), created together in one
//!   write transaction at open; a `meta` database holds the format record (the key layout
//!   below). CFs on disk but not listed stay untouched.
//! - **Batches** ([`OpBatch`]) are applied in one LMDB write transaction, so a batch across
//!   CFs commits atomically; LMDB serialises writers, and so does the wrapper's writer lock.
//! - **Snapshots** are LMDB read transactions. LMDB forbids using one transaction from two
//!   threads at once, so a snapshot keeps its transaction behind a mutex and every read holds
//!   it (`read.rs`); the environment uses `MDB_NOTLS` so transactions can move between threads.
//! - **Iterators** hold a heed range (an LMDB cursor) on their own read transaction, or on
//!   their snapshot's, and keep it across calls: `next`/`prev` in one direction cost one cursor
//!   step, a change of direction one B-tree descent (`iter.rs`).
//! - **Keys**: LMDB rejects empty keys and keys over 511 bytes, so every LMDB key is a tag byte
//!   plus the user key, and user keys of 510 bytes or more share one *group entry* per
//!   510-byte prefix, holding their suffixes and values in order (`layout.rs`). Order is
//!   preserved; a write to a long key rewrites its group (cost O(group size)).
//! - **Durability**: every commit is made durable by LMDB itself. `WriteOptions::sync`
//!   chooses how: a synced commit writes its pages, `fdatasync`s them and writes the meta
//!   page through LMDB's `O_DSYNC` descriptor (two syncs); an unsynced one does the
//!   same (it used to skip the meta page's sync with `MDB_NOMETASYNC`; see the docs page). A commit never
//!   reuses the pages of the last committed version, so a crash, even a power loss, leaves
//!   the last synced version or a later one: a prefix of history. `sync()` (and `flush()`) is
//!   `mdb_env_sync(force)`. `MDB_NOSYNC` is never used: it lets the meta page reach the disk
//!   before the pages it points to.
//! - **The map** is reserved at 1 GiB (or twice the data file) and doubles when a write meets
//!   `MDB_MAP_FULL`: the failed transaction is aborted, the map resized once no read
//!   transaction is live, and the batch retried. If snapshots stay open for 2 s the write
//!   fails with a message saying so, and nothing of it is applied.
//!
//! # Emulated, and what it costs
//! - `delete_range`: a cursor pass deleting each key in the range, in the batch's write
//!   transaction: O(keys in range), no range tombstones.
//! - Save points: [`OpBatch`] keeps operations until `write` (no cost in LMDB).
//! - `seek_for_prev` and bounds: cursor positioning plus a check, O(log n).
//! - Prefix seek: a filter on the bounded cursor; it stops at the first key outside.
//! - Bulk ingest: one synced write transaction of puts (LMDB has no write path to bypass).
//! - Long keys (510 bytes or more): group entries, see above.
#![deny(missing_docs)]

mod error;
mod iter;
mod layout;
mod read;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use engine_traits::{
    BatchOp, BulkIngest, Capabilities, Checkpoint, EngineConfig, Error, IterOptions, KvEngine,
    OpBatch, ReadOptions, Readable, Result, WriteBatch, WriteOptions, display_key,
};
use heed::types::Bytes;
use heed::{
    CommitOrAbort, CommitToken, CompactionOption, Env, EnvOpenOptions, MdbError, OnCommit, RoTxn,
    RwTxn, WithoutTls,
};

use crate::error::{MAX_READERS, crash_point, fail_point, map_heed};
pub use crate::iter::LmdbIterator;
use crate::iter::{Db, Source, TxnHolder};
use crate::layout::{Group, Layout, decode_group};
use crate::read::{ReadTxn, ReaderGate};

/// The map reserved at open (virtual address space; the file grows only as pages are used).
const DEFAULT_MAP_SIZE: usize = 1 << 30;
/// Map sizes are kept a multiple of this, so of any OS page size.
const MAP_ALIGN: usize = 1 << 20;
/// How many times one write may double the map before giving up.
const MAP_GROWTH_ATTEMPTS: usize = 8;
/// How long a write that filled the map waits for open read transactions to end.
const RESIZE_WAIT: Duration = Duration::from_secs(2);

/// LMDB's data file inside the engine directory.
const DATA_FILE: &str = "data.mdb";
/// The workbench's exclusive lock on the directory (LMDB's own `lock.mdb` allows sharing).
const LOCK_FILE: &str = "LOCK";
/// The named database holding the format record.
const META_DB: &str = "meta";
/// Named databases of column families are `cf:<name>`, so no CF can collide with `meta`.
const CF_DB_PREFIX: &str = "cf:";
const FORMAT_KEY: &[u8] = b"format";
const FORMAT_VERSION: &str = "engine_lmdb/1";

/// LMDB behind the traits; see the crate documentation.
pub struct LmdbEngine {
    // Field order is drop order: the environment closes before the directory lock is released.
    env: Env<WithoutTls>,
    cfs: Arc<[String]>,
    /// One LMDB database per CF, in `cfs` order.
    dbs: Vec<Db>,
    layout: Layout,
    prefix_len: Option<usize>,
    data_file: PathBuf,
    writer: Mutex<WriterState>,
    gate: ReaderGate,
    _lock: File,
}

/// What the writer lock guards besides LMDB's own write transaction.
#[derive(Debug)]
struct WriterState {
    /// Whether an unsynced commit happened since the last sync (closing syncs then).
    unsynced: bool,
}

impl std::fmt::Debug for LmdbEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmdbEngine")
            .field("path", &self.data_file.parent())
            .field("cfs", &self.cfs)
            .finish_non_exhaustive()
    }
}

/// A consistent view of every CF: one LMDB read transaction.
#[derive(Debug)]
pub struct LmdbSnapshot<'a> {
    engine: &'a LmdbEngine,
    txn: ReadTxn<'a>,
}

/// One operation of a write transaction, borrowed from a batch or an ingest.
#[derive(Clone, Copy)]
enum Op<'b> {
    Put(usize, &'b [u8], &'b [u8]),
    Delete(usize, &'b [u8]),
    DeleteRange(usize, &'b [u8], &'b [u8]),
}

impl<'b> From<&'b BatchOp> for Op<'b> {
    fn from(op: &'b BatchOp) -> Self {
        match op {
            BatchOp::Put { cf, key, value } => Op::Put(*cf, key, value),
            BatchOp::Delete { cf, key } => Op::Delete(*cf, key),
            BatchOp::DeleteRange { cf, start, end } => Op::DeleteRange(*cf, start, end),
        }
    }
}

/// Why a write transaction did not commit.
enum TxnError {
    /// `MDB_MAP_FULL`: the transaction is aborted and may be retried on a larger map.
    MapFull,
    Failed(Error),
}

/// What the open transaction hands back through heed's commit protocol.
struct Opened<'e> {
    dbs: Vec<heed::Database<'e, Bytes, Bytes>>,
    layout: Layout,
}

impl OnCommit for Opened<'_> {
    type Committed = (Vec<Db>, Layout);

    fn on_commit(self, token: &CommitToken) -> Self::Committed {
        let dbs = self.dbs.into_iter().map(|d| d.on_commit(token)).collect();
        (dbs, self.layout)
    }
}

/// Errors inside heed's open closure, which must convert from `heed::Error`.
enum OpenError {
    Heed(heed::Error),
    Engine(Error),
}

impl From<heed::Error> for OpenError {
    fn from(e: heed::Error) -> Self {
        OpenError::Heed(e)
    }
}

fn io_at(message: impl std::fmt::Display, path: &Path) -> Error {
    Error::Io {
        message: message.to_string(),
        path: Some(path.to_path_buf()),
        source: None,
    }
}

/// Takes the directory's exclusive lock: `Closed` when another handle, in this process or
/// another, holds it. The kernel drops it when the process dies, so a crash leaves none.
fn lock_dir(dir: &Path) -> Result<File> {
    let lock_path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(e, &lock_path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Closed(format!(
            "the lmdb database in {} is held by another handle ({} is locked)",
            dir.display(),
            lock_path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(e, &lock_path)),
    }
}

/// The LMDB name of `cf`'s database, or `InvalidArgument` for a name LMDB cannot take.
fn cf_db_name(cf: &str, max_key: usize) -> Result<String> {
    let name = format!("{CF_DB_PREFIX}{cf}");
    if cf.contains('\0') {
        return Err(Error::invalid(format!(
            "column family name {cf:?} contains a NUL byte, which LMDB database names cannot hold"
        )));
    }
    if name.len() > max_key {
        return Err(Error::invalid(format!(
            "column family name {cf:?} is {} bytes; LMDB database names hold at most {} here",
            cf.len(),
            max_key - CF_DB_PREFIX.len()
        )));
    }
    Ok(name)
}

fn format_record(layout: Layout) -> String {
    format!("{FORMAT_VERSION} group_prefix={}", layout.group_prefix)
}

fn parse_format(raw: &[u8], max_key: usize, data_file: &Path) -> Result<Layout> {
    let bad = || {
        Error::invalid(format!(
            "{} holds format record {:?}, which this engine_lmdb does not read",
            data_file.display(),
            String::from_utf8_lossy(raw)
        ))
    };
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let (version, rest) = text.split_once(' ').ok_or_else(bad)?;
    let group_prefix: usize = rest
        .strip_prefix("group_prefix=")
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    if version != FORMAT_VERSION {
        return Err(bad());
    }
    if group_prefix + 1 > max_key {
        return Err(Error::invalid(format!(
            "{} was written with LMDB keys of {} bytes; this build of LMDB allows {max_key}",
            data_file.display(),
            group_prefix + 1
        )));
    }
    Ok(Layout { group_prefix })
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to).saturating_mul(to)
}

/// `fsync` of a directory, so the entries created in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(e, dir))
}

impl LmdbEngine {
    /// [`KvEngine::open`] with the map first reserved at `map_size` bytes (the unit tests use
    /// a small map to exercise its growth).
    fn open_with_map_size(config: &EngineConfig, map_size: usize) -> Result<Self> {
        if let Some(profile) = &config.profile {
            return Err(Error::invalid(format!(
                "engine lmdb has no options profiles, got profile {profile:?}"
            )));
        }
        if config.prefix_len == Some(0) {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        let cfs: Arc<[String]> = config.cf_list()?.into();
        let dir = &config.path;
        let data_file = dir.join(DATA_FILE);
        match fs::metadata(dir) {
            Ok(m) if !m.is_dir() => return Err(io_at("not a directory", dir)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !config.create_if_missing {
                    return Err(Error::invalid(format!(
                        "no lmdb database at {} and create_if_missing is false",
                        dir.display()
                    )));
                }
                fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
            }
            Err(e) => return Err(Error::io(e, dir)),
        }
        let existing_len = match fs::metadata(&data_file) {
            Ok(m) => Some(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(e, &data_file)),
        };
        if existing_len.is_none() && !config.create_if_missing {
            return Err(Error::invalid(format!(
                "no lmdb database at {} ({DATA_FILE} is missing) and create_if_missing is false",
                dir.display()
            )));
        }
        let lock = lock_dir(dir)?;

        let file_len = usize::try_from(existing_len.unwrap_or(0)).unwrap_or(usize::MAX);
        let map_size = round_up(map_size.max(file_len.saturating_mul(2)), MAP_ALIGN);
        let mut options = EnvOpenOptions::new().read_txn_without_tls();
        options
            .map_size(map_size)
            .max_dbs(u32::try_from(cfs.len() + 1).unwrap_or(u32::MAX))
            .max_readers(MAX_READERS);
        // SAFETY: heed's precondition is that the mapped file is not modified behind LMDB's
        // back. Within this process the directory lock just taken (and heed's own registry of
        // open environments) means this is the only `Env` on the path; other processes go
        // through LMDB's lock file like any LMDB user, and the directory lock keeps other
        // workbench handles out. The engine never truncates or writes the data file itself.
        let env = unsafe { options.open(dir) }
            .map_err(|e| map_heed(e, "opening the LMDB environment", &data_file))?;
        // Reader slots left by a process that died (the crash harness's child) pin old pages.
        env.clear_stale_readers()
            .map_err(|e| map_heed(e, "clearing stale LMDB readers", &data_file))?;
        let (dbs, layout) = Self::open_databases(&env, &cfs, &data_file)?;
        if existing_len.is_none() {
            // LMDB never fsyncs the directory it creates data.mdb in, so after a power loss
            // the whole file (every synced commit in it) could vanish with its name: found
            // by the powerloss suite, pinned in tests/upstream.rs. The wrapper makes the new
            // names durable once, here (and the directory's own name, when it made it).
            sync_dir(dir)?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        Ok(LmdbEngine {
            env,
            cfs,
            dbs,
            layout,
            prefix_len: config.prefix_len,
            data_file,
            writer: Mutex::new(WriterState { unsynced: false }),
            gate: ReaderGate::default(),
            _lock: lock,
        })
    }

    /// Creates (or opens) the meta database and every CF's database in one write
    /// transaction, and reads or writes the format record.
    fn open_databases(
        env: &Env<WithoutTls>,
        cfs: &[String],
        data_file: &Path,
    ) -> Result<(Vec<Db>, Layout)> {
        let max_key = env.max_key_size();
        let names = cfs
            .iter()
            .map(|cf| cf_db_name(cf, max_key))
            .collect::<Result<Vec<_>>>()?;
        // A brand-new environment has an empty main database (it lists the named ones); one
        // created by a crash before its first commit is just as empty.
        let fresh = env.unnamed_database_stat().entries == 0;
        let lmdb = |e| map_heed(e, "creating the column families' databases", data_file);
        let wtxn = env.write_txn().map_err(lmdb)?;
        let opened = env.create_databases_and_commit(wtxn, |opener, wtxn| {
            let meta = opener.create_database::<Bytes, Bytes>(wtxn, Some(META_DB))?;
            let layout = match meta.get(wtxn, FORMAT_KEY)? {
                Some(raw) => parse_format(raw, max_key, data_file).map_err(OpenError::Engine)?,
                None if fresh => {
                    let layout = Layout {
                        group_prefix: max_key - 1,
                    };
                    meta.put(wtxn, FORMAT_KEY, format_record(layout).as_bytes())?;
                    layout
                }
                None => {
                    return Err(OpenError::Engine(Error::invalid(format!(
                        "{} holds an LMDB environment without engine_lmdb's format record",
                        data_file.display()
                    ))));
                }
            };
            let dbs = names
                .iter()
                .map(|name| opener.create_database::<Bytes, Bytes>(wtxn, Some(name)))
                .collect::<heed::Result<Vec<_>>>()?;
            Ok(CommitOrAbort::<_, ()>::Commit(Opened { dbs, layout }))
        });
        match opened {
            Ok(CommitOrAbort::Commit(out)) => Ok(out),
            Ok(CommitOrAbort::Abort(())) => unreachable!("the open closure never aborts"),
            Err(OpenError::Heed(e)) => Err(lmdb(e)),
            Err(OpenError::Engine(e)) => Err(e),
        }
    }

    fn cf_index(&self, cf: &str) -> Result<usize> {
        self.cfs
            .iter()
            .position(|c| c == cf)
            .ok_or_else(|| Error::unknown_cf(cf))
    }

    fn source(&self, cf: &str, opts: &IterOptions) -> Result<Source<'_>> {
        let i = self.cf_index(cf)?;
        opts.check()?;
        if opts.prefix_same_as_start && self.prefix_len.is_none() {
            return Err(Error::invalid(
                "prefix_same_as_start needs an engine opened with prefix_len",
            ));
        }
        Ok(Source {
            db: self.dbs[i],
            cf: &self.cfs[i],
            layout: self.layout,
            data_file: &self.data_file,
            prefix_len: self.prefix_len,
        })
    }

    /// Begins a read transaction registered with the resize gate.
    fn read_txn(&self) -> Result<ReadTxn<'_>> {
        let slot = self.gate.enter();
        let txn = self
            .env
            .clone()
            .static_read_txn()
            .map_err(|e| map_heed(e, "beginning a read transaction", &self.data_file))?;
        Ok(ReadTxn::new(txn, slot))
    }

    fn corruption(&self, cf: usize, key: &[u8], message: String) -> Error {
        Error::corruption(
            format!(
                "column family {:?}, key {}: {message}",
                self.cfs[cf],
                display_key(key)
            ),
            Some(self.data_file.clone()),
            None,
        )
    }

    /// The value of `key` in CF `cf` as `txn` sees it.
    fn get_in(&self, txn: &RoTxn, cf: usize, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let raw = self.dbs[cf]
            .get(txn, &self.layout.lmdb_key(key))
            .map_err(|e| {
                map_heed(
                    e,
                    &format!("get from {:?} of {}", self.cfs[cf], display_key(key)),
                    &self.data_file,
                )
            })?;
        if !self.layout.is_grouped(key) {
            return Ok(raw.map(<[u8]>::to_vec));
        }
        let Some(raw) = raw else {
            return Ok(None);
        };
        let items = decode_group(raw).map_err(|m| self.corruption(cf, key, m))?;
        let rest = self.layout.rest(key);
        Ok(items
            .binary_search_by(|(r, _)| (*r).cmp(rest))
            .ok()
            .map(|i| items[i].1.to_vec()))
    }

    fn lock_writer(&self) -> MutexGuard<'_, WriterState> {
        // The state is one flag set after the commit it describes succeeds, so a panic between
        // them leaves it at worst "sync again at close", which is harmless.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `ops` in one write transaction, durably as `sync` asks, growing the map when
    /// it is full.
    fn write_ops(&self, sync: bool, ops: &[Op<'_>]) -> Result<()> {
        // Every commit syncs its meta page, unsynced ones too (MDB_NOMETASYNC is never set):
        // with it for unsynced commits, a power-loss run (cycle 18 of `cargo xtask crash
        // --engine lmdb --power-loss --cycles 20 --seed 1`, once in several runs) recovered a
        // state that was no prefix of the history. Until that is understood, durability over
        // the saved sync.
        let mut w = self.lock_writer();
        let mut attempts = 0;
        loop {
            match self.commit(ops) {
                Ok(()) => {
                    // A synced commit syncs the file, so earlier unsynced commits with it.
                    w.unsynced = !sync;
                    return Ok(());
                }
                Err(TxnError::MapFull) if attempts < MAP_GROWTH_ATTEMPTS => {
                    self.grow_map()?;
                    attempts += 1;
                }
                Err(TxnError::MapFull) => {
                    return Err(Error::Other(format!(
                        "a batch of {} operations does not fit the LMDB map even after growing \
                         it to {} bytes",
                        ops.len(),
                        self.env.info().map_size
                    )));
                }
                Err(TxnError::Failed(e)) => return Err(e),
            }
        }
    }

    /// One attempt: begin, apply, commit. Any error aborts the transaction (heed aborts it on
    /// drop, LMDB on a failed commit), so nothing of it is applied, except as said for commit.
    fn commit(&self, ops: &[Op<'_>]) -> std::result::Result<(), TxnError> {
        let mut wtxn = self
            .env
            .write_txn()
            .map_err(|e| self.txn_error(e, "beginning a write transaction"))?;
        for op in ops {
            self.apply(&mut wtxn, *op)?;
        }
        fail_point("lmdb::commit").map_err(TxnError::Failed)?;
        wtxn.commit().map_err(|e| {
            self.txn_error(
                e,
                "committing a batch (it may or may not be present after a reopen: the commit \
                 failed while LMDB was writing its pages or meta page)",
            )
        })?;
        crash_point("lmdb::after_commit");
        Ok(())
    }

    fn txn_error(&self, e: heed::Error, what: &str) -> TxnError {
        match e {
            heed::Error::Mdb(MdbError::MapFull) => TxnError::MapFull,
            e => TxnError::Failed(map_heed(e, what, &self.data_file)),
        }
    }

    fn apply(&self, wtxn: &mut RwTxn<'_>, op: Op<'_>) -> std::result::Result<(), TxnError> {
        match op {
            Op::Put(cf, key, value) => {
                let what = || format!("put into {:?} of {}", self.cfs[cf], display_key(key));
                if self.layout.is_grouped(key) {
                    let rest = self.layout.rest(key);
                    self.edit_group(wtxn, cf, key, &what, |g| g.put(rest, value))
                } else {
                    self.dbs[cf]
                        .put(wtxn, &self.layout.lmdb_key(key), value)
                        .map_err(|e| self.txn_error(e, &what()))
                }
            }
            Op::Delete(cf, key) => {
                let what = || format!("delete from {:?} of {}", self.cfs[cf], display_key(key));
                if self.layout.is_grouped(key) {
                    let rest = self.layout.rest(key);
                    self.edit_group(wtxn, cf, key, &what, |g| g.delete(rest))
                } else {
                    self.dbs[cf]
                        .delete(wtxn, &self.layout.lmdb_key(key))
                        .map(|_| ())
                        .map_err(|e| self.txn_error(e, &what()))
                }
            }
            Op::DeleteRange(cf, start, end) => self.delete_range_in(wtxn, cf, start, end),
        }
    }

    /// Reads the group entry holding the grouped `key`, lets `edit` change it, and stores it
    /// again (or deletes it when empty).
    fn edit_group(
        &self,
        wtxn: &mut RwTxn<'_>,
        cf: usize,
        key: &[u8],
        what: &dyn Fn() -> String,
        edit: impl FnOnce(&mut Group),
    ) -> std::result::Result<(), TxnError> {
        let db = self.dbs[cf];
        let lmdb_key = self.layout.lmdb_key(key);
        let mut group = match db
            .get(wtxn, &lmdb_key)
            .map_err(|e| self.txn_error(e, &what()))?
        {
            Some(raw) => {
                Group::decode(raw).map_err(|m| TxnError::Failed(self.corruption(cf, key, m)))?
            }
            None => Group::default(),
        };
        edit(&mut group);
        if group.is_empty() {
            db.delete(wtxn, &lmdb_key)
                .map(|_| ())
                .map_err(|e| self.txn_error(e, &what()))
        } else {
            let raw = group.encode().ok_or_else(|| {
                TxnError::Failed(Error::invalid(format!(
                    "{}: a key or value of 4 GiB or more cannot be stored",
                    what()
                )))
            })?;
            db.put(wtxn, &lmdb_key, &raw)
                .map_err(|e| self.txn_error(e, &what()))
        }
    }

    /// Deletes `[start, end)` of CF `cf`: LMDB entries wholly inside by one cursor pass, and
    /// the (at most two) group entries at the ends by editing them. See `layout.rs` for why
    /// the bounds below cover exactly the entries whose keys all lie in the range.
    fn delete_range_in(
        &self,
        wtxn: &mut RwTxn<'_>,
        cf: usize,
        start: &[u8],
        end: &[u8],
    ) -> std::result::Result<(), TxnError> {
        if start >= end {
            return Ok(()); // empty; a reversed range was refused when it joined the batch
        }
        let what = || {
            format!(
                "delete_range in {:?} of [{}, {})",
                self.cfs[cf],
                display_key(start),
                display_key(end)
            )
        };
        let g = self.layout.group_prefix;
        let lo_key = self.layout.lmdb_key(start);
        let hi_key = self.layout.lmdb_key(end);
        // A long `start` shares its LMDB key with smaller keys of its group: that entry is
        // edited below, not deleted. A short one is itself the first LMDB key in the range.
        let lo = if start.len() <= g {
            std::ops::Bound::Included(&lo_key[..])
        } else {
            std::ops::Bound::Excluded(&lo_key[..])
        };
        let hi = std::ops::Bound::Excluded(&hi_key[..]);
        self.dbs[cf]
            .delete_range(wtxn, &(lo, hi))
            .map_err(|e| self.txn_error(e, &what()))?;
        if start.len() > g {
            self.edit_group(wtxn, cf, start, &what, |grp| {
                grp.delete_range(&start[..g], start, end)
            })?;
        }
        if end.len() > g && (start.len() <= g || lo_key != hi_key) {
            self.edit_group(wtxn, cf, end, &what, |grp| {
                grp.delete_range(&end[..g], start, end)
            })?;
        }
        Ok(())
    }

    /// Doubles the map once no read transaction is live. Called with the writer lock held and
    /// no write transaction open, so the process then has no transaction at all.
    fn grow_map(&self) -> Result<()> {
        let current = self.env.info().map_size;
        let target = current.checked_mul(2).ok_or_else(|| {
            Error::Other(format!(
                "the LMDB map ({current} bytes) is full and cannot double"
            ))
        })?;
        // SAFETY: `mdb_env_set_mapsize` requires that no transaction is active in the
        // process. No write transaction is: the caller holds the writer lock, under which
        // every write transaction runs, and has aborted its own. No read transaction is:
        // `exclusive` runs this only with the gate's count at zero and blocks new readers
        // (every read transaction and online copy registers with the gate first).
        let resized = self
            .gate
            .exclusive(RESIZE_WAIT, || unsafe { self.env.resize(target) });
        match resized {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(map_heed(e, "growing the LMDB map", &self.data_file)),
            None => Err(Error::Other(format!(
                "the LMDB map ({current} bytes) is full and cannot grow while {} snapshots or \
                 iterators stay open (waited {RESIZE_WAIT:?}); nothing of the write was applied",
                self.gate.live()
            ))),
        }
    }
}

impl Drop for LmdbEngine {
    fn drop(&mut self) {
        let w = self.writer.get_mut().unwrap_or_else(|e| e.into_inner());
        if w.unsynced {
            // Unsynced commits are in the file already; this makes the last meta page durable
            // too, so a clean close loses nothing even to a power loss. Nobody can be told of
            // a failure here; the next open finds the last synced version at worst.
            let _ = self.env.force_sync();
        }
    }
}

impl Readable for LmdbEngine {
    type Iterator<'a> = LmdbIterator<'a>;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = self.cf_index(cf)?;
        let txn = self.read_txn()?;
        let guard = txn.lock();
        self.get_in(&guard, i, key)
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<LmdbIterator<'_>> {
        let src = self.source(cf, &opts)?;
        Ok(LmdbIterator::new(
            src,
            opts,
            TxnHolder::Owned(self.read_txn()?),
        ))
    }
}

impl Readable for LmdbSnapshot<'_> {
    type Iterator<'b>
        = LmdbIterator<'b>
    where
        Self: 'b;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = self.engine.cf_index(cf)?;
        let guard = self.txn.lock();
        self.engine.get_in(&guard, i, key)
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<LmdbIterator<'_>> {
        let src = self.engine.source(cf, &opts)?;
        Ok(LmdbIterator::new(src, opts, TxnHolder::Shared(&self.txn)))
    }
}

impl KvEngine for LmdbEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: true,
        bulk_ingest: true,
        prefix_seek: true,
        ..Capabilities::NONE
    };

    type Snapshot<'a> = LmdbSnapshot<'a>;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        Self::open_with_map_size(config, DEFAULT_MAP_SIZE)
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn write_batch(&self) -> OpBatch {
        OpBatch::new(self.cfs.clone())
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        opts.check()?;
        fail_point("lmdb::write")?;
        batch.check_cfs(&self.cfs)?;
        if batch.is_empty() {
            return Ok(());
        }
        let ops: Vec<Op<'_>> = batch.ops().iter().map(Op::from).collect();
        // LMDB has no WAL: `disable_wal` changes nothing, every commit is in the file.
        self.write_ops(opts.sync, &ops)
    }

    fn snapshot(&self) -> Result<LmdbSnapshot<'_>> {
        Ok(LmdbSnapshot {
            engine: self,
            txn: self.read_txn()?,
        })
    }

    fn sync(&self) -> Result<()> {
        let mut w = self.lock_writer();
        fail_point("lmdb::sync")?;
        self.env
            .force_sync()
            .map_err(|e| map_heed(e, "syncing the data file", &self.data_file))?;
        w.unsynced = false;
        Ok(())
    }

    /// LMDB keeps nothing in memory that the file lacks: every commit wrote its pages.
    /// `flush` syncs them, as `sync` does.
    fn flush(&self) -> Result<()> {
        self.sync()
    }

    fn as_checkpoint(&self) -> Option<&dyn Checkpoint> {
        Some(self)
    }

    fn as_bulk_ingest(&self) -> Option<&dyn BulkIngest> {
        Some(self)
    }
}

impl Checkpoint for LmdbEngine {
    /// LMDB's online compacting copy (`mdb_env_copyfd2` with `MDB_CP_COMPACT`): it reads one
    /// read transaction's version, so later writes are not in it, and writes only live pages.
    /// The copy is a complete environment (every named database, the format record); it gets
    /// its own lock files when opened.
    fn checkpoint(&self, dir: &Path) -> Result<()> {
        if fs::symlink_metadata(dir).is_ok() {
            return Err(Error::invalid(format!(
                "checkpoint directory {} already exists",
                dir.display()
            )));
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
        let file_path = dir.join(DATA_FILE);
        let result = (|| {
            let mut file = File::options()
                .write(true)
                .create_new(true)
                .open(&file_path)
                .map_err(|e| Error::io(e, &file_path))?;
            {
                // The copy runs a read transaction inside LMDB: the map must not move under it.
                let _slot = self.gate.enter();
                self.env
                    .copy_to_file(&mut file, CompactionOption::Enabled)
                    .map_err(|e| map_heed(e, "copying the LMDB environment", &file_path))?;
            }
            file.sync_all().map_err(|e| Error::io(e, &file_path))?;
            sync_dir(dir)?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(dir);
        }
        result
    }
}

impl BulkIngest for LmdbEngine {
    /// One synced write transaction of puts: LMDB writes B-tree pages directly, so there is no
    /// separate write path to bypass; sorted input makes the inserts sequential.
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let i = self.cf_index(cf)?;
        if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(Error::invalid(format!(
                "ingest into {cf:?}: keys not strictly ascending at {}",
                display_key(&w[1].0)
            )));
        }
        if entries.is_empty() {
            return Ok(());
        }
        let ops: Vec<Op<'_>> = entries.iter().map(|(k, v)| Op::Put(i, k, v)).collect();
        self.write_ops(true, &ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_traits::{CF_DEFAULT, EngineIterator};

    fn open_small(dir: &Path, map: usize) -> LmdbEngine {
        LmdbEngine::open_with_map_size(&EngineConfig::new(dir.join("db")), map).unwrap()
    }

    #[test]
    fn the_map_grows_when_a_write_fills_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_small(dir.path(), MAP_ALIGN);
        let before = e.env.info().map_size;
        let value = vec![7u8; 64 << 10];
        for i in 0..64u32 {
            e.put(CF_DEFAULT, &i.to_be_bytes(), &value).unwrap();
        }
        assert!(
            e.env.info().map_size > before,
            "4 MiB of values grew a 1 MiB map"
        );
        for i in 0..64u32 {
            assert_eq!(
                e.get(CF_DEFAULT, &i.to_be_bytes()).unwrap().as_ref(),
                Some(&value)
            );
        }
    }

    #[test]
    fn a_full_map_with_a_snapshot_open_fails_cleanly_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_small(dir.path(), MAP_ALIGN);
        e.put(CF_DEFAULT, b"before", b"1").unwrap();
        let snap = e.snapshot().unwrap();
        let value = vec![1u8; 4 << 20];
        let err = e.put(CF_DEFAULT, b"big", &value).unwrap_err();
        assert!(err.to_string().contains("cannot grow"), "{err}");
        let mut it = snap.iterator(CF_DEFAULT).unwrap();
        assert!(it.seek_to_first().unwrap());
        assert_eq!(it.key(), b"before");
        drop(it);
        drop(snap);
        assert_eq!(e.get(CF_DEFAULT, b"big").unwrap(), None, "nothing applied");
        e.put(CF_DEFAULT, b"big", &value).unwrap();
        assert_eq!(e.get(CF_DEFAULT, b"big").unwrap(), Some(value));
    }

    #[test]
    fn a_second_handle_on_the_same_directory_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db"));
        let first = LmdbEngine::open(&config).unwrap();
        let err = LmdbEngine::open(&config).unwrap_err();
        assert_eq!(err.kind(), engine_traits::ErrorKind::Closed, "{err}");
        drop(first);
        LmdbEngine::open(&config).unwrap();
    }

    #[test]
    fn a_foreign_lmdb_environment_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            // SAFETY: a fresh directory nobody else opens.
            let env = unsafe { EnvOpenOptions::new().max_dbs(2).open(dir.path()) }.unwrap();
            let wtxn = env.write_txn().unwrap();
            env.create_databases_and_commit(wtxn, |opener, wtxn| {
                opener
                    .create_database::<Bytes, Bytes>(wtxn, Some("theirs"))
                    .map(CommitOrAbort::<_, ()>::Commit)
            })
            .unwrap();
        }
        let err = LmdbEngine::open(&EngineConfig::new(dir.path())).unwrap_err();
        assert_eq!(
            err.kind(),
            engine_traits::ErrorKind::InvalidArgument,
            "{err}"
        );
        assert!(err.to_string().contains("format record"), "{err}");
    }
}
