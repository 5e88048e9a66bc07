//! `engine_slatedb`: [SlateDB](https://crates.io/crates/slatedb) 0.18 behind `engine_traits`.
//!
//! # What it is for
//! The SIG's cloud-disk engine: SlateDB is an LSM-tree that keeps everything (its WAL, its
//! SSTs, its manifest) as objects in an object store, S3 and the like, with an in-memory
//! block cache in front. It lets the suites and benchmarks ask what an engine on object
//! storage costs: latency per synced write (a PUT), requests per operation, recovery from a
//! store that fails. By default its store is the local file system under the engine's
//! directory, so it runs everywhere with no service; profile `s3` points it at an
//! S3-compatible endpoint (see [`S3Config`] for the environment it reads).
//!
//! # What it is not for
//! Low-latency synced writes (each is a PUT of a WAL object: milliseconds on a local disk,
//! tens of milliseconds on S3), range deletes at scale (emulated, `O(keys in range)`), or
//! several writers: SlateDB has one writer per database and *fences* an older one when a new
//! one opens. This wrapper refuses a second open of the same database in the same process
//! (`Closed`) and, for the local profile, in another process too (a lock file); on S3 a
//! second process opening the database fences the first, whose next write fails with
//! `Closed`. Nor is it for async callers: it runs its own runtime and blocks (below).
//!
//! # Design: how the trait layer maps onto SlateDB
//! - **Column families** are key tags (`keys`): SlateDB has one keyspace, so every stored
//!   key is one tag byte plus the user key, and a catalog in the wrapper's own metadata keys
//!   keeps each CF's tag across reopens. A CF is a contiguous key range; iterators are bounded
//!   to it. At most 255 CFs; keys and values below 4 GiB ([`MAX_KEY_LEN`]: SlateDB's batch
//!   asserts on larger ones, so the wrapper rejects them first).
//! - **Batches** are `engine_traits::OpBatch`, turned at `write` into one SlateDB
//!   `WriteBatch` holding their net effect (`plan`), whatever CFs they touch: SlateDB applies
//!   a batch under one sequence number, atomically to readers and in its WAL, so a cross-CF
//!   batch is all or nothing after a crash too.
//! - **`delete_range`** is emulated: under an exclusive write gate the range is scanned and
//!   every key found, and every key the batch itself wrote there, gets a tombstone in the same
//!   SlateDB batch. Cost: `O(keys in range)` reads (values included) and tombstones, and
//!   other writers wait. Batches without a `delete_range` share the gate.
//! - **Snapshots** are SlateDB snapshots (`Db::snapshot`, a registered sequence number that
//!   compaction respects): `O(1)`. **Iterators** take a snapshot of their own at creation and
//!   scan it (`iter`): forward and backward scans stream; a backward seek or a change of
//!   direction opens a new scan at the same snapshot.
//! - **Durability**: a write returns once SlateDB took it into its WAL buffer and memtable.
//!   With `WriteOptions::sync` the wrapper then flushes the WAL (`Db::flush`, a PUT of a WAL
//!   object) and awaits the write's durability (`WriteHandle::await_durable`) before
//!   returning, so a synced write that returned `Ok` is in the object store. A write without
//!   `sync` is made durable by SlateDB's WAL flush timer (every 100 ms) or the next synced
//!   write, `sync()` or clean close: a crash or power loss loses at most the unsynced writes of
//!   the last flush interval, in order (the recovered state is a prefix of the history). The
//!   local store fsyncs every object and its directory entry before a PUT returns. `sync()` is
//!   a WAL flush; `flush()` freezes the memtable and writes it as an L0 SST. `disable_wal`
//!   cannot skip SlateDB's WAL: such writes are logged like any other.
//! - **Runtime**: SlateDB is async (tokio). Each engine owns a multi-thread tokio runtime (2
//!   workers, a bounded blocking pool for the local store's file I/O) on which SlateDB's
//!   background tasks run (WAL flusher, memtable flusher, compactor, garbage collector), and
//!   every trait call is a `block_on` on it from the caller's thread: a future polled there,
//!   its I/O on the runtime's threads, a cross-thread wake-up or two per call. So the engine
//!   must not be called from inside an async runtime (`block_on` there panics).
//! - **Settings**: SlateDB's defaults, except that a failing object-store request is retried
//!   ten times (SlateDB's default is forever, which turns a dead store into writes that never
//!   return), and that on the local store the compactor polls every 50 ms instead of 5 s (a
//!   poll is a file read there; with 5 s a flush that finds L0 full, and every manual
//!   compaction, waited seconds). A local engine whose directory is removed under it fails
//!   its writes instead of recreating a partial database (`store`).
//! - **Close**: dropping the engine closes SlateDB (flushing the memtable to L0, stopping
//!   every background task), then shuts the runtime down, then releases the path, so a reopen
//!   in the same process finds the database whole.
//! - **Errors**: SlateDB's kinds map onto the trait's (`error`): an object store that keeps
//!   failing is `Unavailable` there and `Io` here; SlateDB then closes the database with that
//!   error, so every later call fails the same way until the engine is reopened.
//! - **Capabilities**: persistence; checkpoint (a SlateDB checkpoint, then its objects copied
//!   into the new directory, see [`Checkpoint`]); statistics (bytes PUT through the
//!   instrumented store, objects listed for the disk size, SSTs of the manifest for live
//!   data); manual compaction (the memtable flushed, then one SlateDB compaction of every L0
//!   SST and sorted run submitted through its admin API and awaited, whatever the range:
//!   SlateDB compacts whole trees); prefix seek (bounded scans of the prefix). Object-store
//!   requests are counted too: [`SlatedbEngine::object_store_requests`].
#![deny(missing_docs)]

mod error;
mod iter;
mod keys;
mod plan;
mod store;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use engine_traits::{
    BatchOp, Capabilities, Checkpoint, EngineConfig, EngineStats, Error, IterOptions, KvEngine,
    ManualCompaction, OpBatch, ReadOptions, Readable, Result, Statistics, WriteBatch, WriteOptions,
    display_key,
};
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use slatedb::config::{
    CheckpointOptions, CheckpointScope, CompactionWorkerOptions, CompactorOptions, FlushOptions,
    FlushType, ScanOptions, Settings,
};
use slatedb::{Db, DbSnapshot};

pub use iter::SlatedbIterator;
pub use store::{Profile, RequestCounts, S3_ENV, S3Config};

use store::{InstrumentedStore, Location, RequestCounters};

/// The longest user key: SlateDB's `WriteBatch` asserts keys of at most `u32::MAX` bytes, and
/// every stored key carries one tag byte (see `keys`). (SlateDB 0.18's SST blocks, format V2,
/// store key lengths as varints; `tests/upstream.rs` pins a 1 MiB key through a flush.)
pub const MAX_KEY_LEN: usize = u32::MAX as usize - 1;

/// How often SlateDB's retry layer retries a failing object-store request before the error
/// reaches the caller (and closes the database). SlateDB's default is to retry forever, which
/// would turn a dead store into writes that never return; with backoff from 100 ms doubling to
/// 1 s (plus jitter), ten retries are about 8 to 15 seconds of trying.
const OBJECT_STORE_RETRIES: u32 = 10;

/// How long `compact_range` waits for SlateDB's compactor to commit the compaction it
/// submitted (the compactor polls for submissions every 50 ms locally, 5 s on S3).
const COMPACTION_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a checkpoint's record in the source database keeps its SSTs from the garbage
/// collector: long enough to copy them, then it expires by itself.
const CHECKPOINT_LIFETIME: Duration = Duration::from_secs(600);

/// Databases open in this process, by location: a second open is `Closed`, not a fencing of
/// the first (SlateDB would let the newer writer fence the older one).
static OPEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Holds a location in [`OPEN`] until dropped.
#[derive(Debug)]
struct OpenGuard(String);

impl OpenGuard {
    fn claim(key: &str) -> Result<OpenGuard> {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if !open.get_or_insert_with(HashSet::new).insert(key.to_owned()) {
            return Err(Error::Closed(format!(
                "the SlateDB database {key} is already open in this process"
            )));
        }
        Ok(OpenGuard(key.to_owned()))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = open.as_mut() {
            set.remove(&self.0);
        }
    }
}

/// Evaluates failpoint `site`: `return` makes it an injected I/O error, `return(abort)`
/// aborts the process there (a crash point). Nothing without feature `failpoints`.
fn fail_point(site: &'static str) -> Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(site, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
        Err(error::injected(site))
    });
    let _ = site;
    Ok(())
}

fn check_key(cf: &str, key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::invalid(format!(
            "key {} in CF {cf:?} is {} bytes; engine slatedb stores keys of at most \
             {MAX_KEY_LEN} bytes",
            display_key(key),
            key.len()
        )));
    }
    Ok(())
}

fn check_value(cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
    if u32::try_from(value.len()).is_err() {
        return Err(Error::invalid(format!(
            "value of key {} in CF {cf:?} is {} bytes; SlateDB stores values below 4 GiB",
            display_key(key),
            value.len()
        )));
    }
    Ok(())
}

/// A SlateDB database behind the trait layer; CFs are key tags.
pub struct SlatedbEngine {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    db: Db,
    location: Location,
    /// The store SlateDB was given (counting, failpoints).
    store: Arc<dyn ObjectStore>,
    counters: Arc<RequestCounters>,
    profile: Profile,
    cfs: Arc<[String]>,
    /// The tag of each CF, in `cfs` order.
    tags: Vec<u8>,
    prefix_len: Option<usize>,
    /// Shared by ordinary writes, exclusive for writes that read the database first
    /// (`delete_range`) and for checkpoints, so nothing lands in between.
    write_gate: RwLock<()>,
    user_bytes_written: AtomicU64,
    /// The lock file of a local database, held while open.
    _lock: Option<std::fs::File>,
    _open: OpenGuard,
}

impl std::fmt::Debug for SlatedbEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlatedbEngine")
            .field("location", &self.location)
            .field("cfs", &self.cfs)
            .finish_non_exhaustive()
    }
}

/// A consistent view of every CF: a SlateDB snapshot.
pub struct SlatedbSnapshot<'a> {
    engine: &'a SlatedbEngine,
    snapshot: Arc<DbSnapshot>,
}

impl std::fmt::Debug for SlatedbSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlatedbSnapshot")
            .field("seq", &self.snapshot.seq())
            .finish_non_exhaustive()
    }
}

/// SlateDB's compactor polls for work (new L0 SSTs, submitted compactions) every 5 s by
/// default, a GET or two per poll: cheap against S3's prices, kept for profile `s3`. On the
/// local store a poll is a file read, so it polls every 50 ms: with 5 s, a `flush()` that
/// finds the L0 full (8 SSTs, `l0_max_ssts`) and every manual compaction wait seconds for the
/// next poll.
fn compactor_options(profile: &Profile) -> CompactorOptions {
    let defaults = CompactorOptions::default();
    match profile {
        Profile::S3(_) => defaults,
        Profile::Local => {
            const POLL: Duration = Duration::from_millis(50);
            CompactorOptions {
                poll_interval: POLL,
                commit_compacted_interval: POLL,
                worker: defaults.worker.clone().map(|w| CompactionWorkerOptions {
                    compactions_poll_interval: POLL,
                    ..w
                }),
                ..defaults
            }
        }
    }
}

/// Takes the local lock file of `dir`: `Closed` when another handle holds it.
fn lock_local(dir: &FsPath) -> Result<std::fs::File> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(e, &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Closed(format!(
            "the SlateDB database {} is open in another process (lock {})",
            dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(e, &path)),
    }
}

/// Whether a SlateDB database exists at `location` (it has a manifest).
async fn database_exists(location: &Location) -> Result<bool> {
    let prefix = location.object("manifest");
    let first = location
        .store
        .list(Some(&prefix))
        .try_next()
        .await
        .map_err(|e| error::store(e, &format!("listing {}", location.display)))?;
    Ok(first.is_some())
}

impl SlatedbEngine {
    /// Opens the database of `config` with an explicit `profile`, for callers that build an
    /// [`S3Config`] themselves instead of through the environment (`config.profile` is then
    /// ignored).
    pub fn open_with_profile(config: &EngineConfig, profile: Profile) -> Result<Self> {
        if config.prefix_len == Some(0) {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        let cfs: Arc<[String]> = config.cf_list()?.into();
        if cfs.len() > keys::MAX_CFS {
            return Err(Error::invalid(format!(
                "{} column families asked for; engine slatedb tags at most {}",
                cfs.len(),
                keys::MAX_CFS
            )));
        }
        let location = match &profile {
            Profile::Local => Location::local(&config.path, config.create_if_missing)?,
            Profile::S3(s3) => Location::s3(s3, &config.path)?,
        };
        // In this process first (a clear message), then other processes (local only: on S3
        // a second process's open fences this one, see the crate docs).
        let open = OpenGuard::claim(&location.display)?;
        let lock = match &location.local_dir {
            Some(dir) => Some(lock_local(dir)?),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .thread_name("slatedb")
            .enable_all()
            .build()
            .map_err(|e| Error::io(e, &config.path))?;
        if !config.create_if_missing && !runtime.block_on(database_exists(&location))? {
            return Err(Error::invalid(format!(
                "no SlateDB database at {} and create_if_missing is false",
                location.display
            )));
        }
        let counters = Arc::new(RequestCounters::default());
        let store: Arc<dyn ObjectStore> = Arc::new(InstrumentedStore::new(
            location.store.clone(),
            counters.clone(),
            location.local_dir.clone(),
        ));
        let settings = Settings {
            object_store_max_retries: Some(OBJECT_STORE_RETRIES),
            compactor_options: Some(compactor_options(&profile)),
            ..Settings::default()
        };
        let db = runtime
            .block_on(
                Db::builder(location.root.clone(), store.clone())
                    .with_settings(settings)
                    .build(),
            )
            .map_err(|e| error::map(e, "opening", &location.display))?;
        let tags = match Self::load_catalog(&runtime, &db, &cfs, &location.display) {
            Ok(tags) => tags,
            Err(e) => {
                let _ = runtime.block_on(db.close());
                return Err(e);
            }
        };
        Ok(SlatedbEngine {
            runtime: Some(runtime),
            db,
            location,
            store,
            counters,
            profile,
            cfs,
            tags,
            prefix_len: config.prefix_len,
            write_gate: RwLock::new(()),
            user_bytes_written: AtomicU64::new(0),
            _lock: lock,
            _open: open,
        })
    }

    /// Object-store requests (and bytes PUT) since this handle opened, background work
    /// included: WAL flushes, L0 flushes, compaction, garbage collection, manifest polls.
    pub fn object_store_requests(&self) -> RequestCounts {
        self.counters.snapshot()
    }

    /// Where the database lives: its directory, or an `s3://` URL.
    pub fn location(&self) -> &str {
        &self.location.display
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the engine is dropped")
    }

    /// Runs `f` to completion on the engine's runtime, from the caller's thread.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime().block_on(f)
    }

    pub(crate) fn map_err(&self, e: slatedb::Error, what: &str) -> Error {
        error::map(e, what, &self.location.display)
    }

    fn cf_index(&self, cf: &str) -> Result<usize> {
        self.cfs
            .iter()
            .position(|c| c == cf)
            .ok_or_else(|| Error::unknown_cf(cf))
    }

    fn check_sizes(&self, batch: &OpBatch) -> Result<()> {
        for op in batch.ops() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    check_key(&self.cfs[*cf], key)?;
                    check_value(&self.cfs[*cf], key, value)?;
                }
                BatchOp::Delete { cf, key } => check_key(&self.cfs[*cf], key)?,
                // Range bounds are only compared, never stored.
                BatchOp::DeleteRange { .. } => {}
            }
        }
        Ok(())
    }

    /// Every stored key of CF number `cf` in the user-key range `[start, end)`.
    fn keys_in(&self, cf: usize, start: &[u8], end: &[u8]) -> Result<Vec<Vec<u8>>> {
        let tag = self.tags[cf];
        let range = (
            std::ops::Bound::Included(keys::encode(tag, start)),
            std::ops::Bound::Excluded(keys::encode(tag, end)),
        );
        let what = format!("scanning CF {:?} for delete_range", self.cfs[cf]);
        self.block_on(async {
            let mut it = self
                .db
                .scan_with_options(range, &ScanOptions::default())
                .await?;
            let mut out = Vec::new();
            while let Some(kv) = it.next().await? {
                out.push(kv.key.to_vec());
            }
            Ok(out)
        })
        .map_err(|e| self.map_err(e, &what))
    }

    /// Reads the CF catalog and gives every CF of `cfs` missing from it the next free tag,
    /// writing the new entries (and, for a new database, the format marker) durably.
    fn load_catalog(
        runtime: &tokio::runtime::Runtime,
        db: &Db,
        cfs: &[String],
        display: &str,
    ) -> Result<Vec<u8>> {
        let map = |e: slatedb::Error, what: &str| error::map(e, what, display);
        runtime.block_on(async {
            let prefix = keys::catalog_prefix();
            let mut known: HashMap<String, u8> = HashMap::new();
            let mut it = db
                .scan_prefix(&prefix, ..)
                .await
                .map_err(|e| map(e, "reading the CF catalog"))?;
            while let Some(kv) = it
                .next()
                .await
                .map_err(|e| map(e, "reading the CF catalog"))?
            {
                let name = String::from_utf8_lossy(&kv.key[prefix.len()..]).into_owned();
                let tag = *kv.value.first().ok_or_else(|| {
                    Error::corruption(
                        format!("CF catalog entry {name:?} of {display} has no tag"),
                        None,
                        None,
                    )
                })?;
                known.insert(name, tag);
            }
            let fresh = known.is_empty()
                && db
                    .get(keys::format_key())
                    .await
                    .map_err(|e| map(e, "reading the format marker"))?
                    .is_none();
            let mut used: Vec<u8> = known.values().copied().collect();
            let mut batch = slatedb::WriteBatch::new();
            if fresh {
                batch.put(keys::format_key(), keys::FORMAT);
            }
            let mut tags = Vec::with_capacity(cfs.len());
            for cf in cfs {
                let tag = match known.get(cf) {
                    Some(t) => *t,
                    None => {
                        let next = (1..=u8::MAX).find(|t| !used.contains(t)).ok_or_else(|| {
                            Error::invalid(format!(
                                "database {display} already holds {} column families, the most \
                                 engine slatedb can tag; cannot add {cf:?}",
                                keys::MAX_CFS
                            ))
                        })?;
                        used.push(next);
                        batch.put(keys::catalog_key(cf), [next]);
                        next
                    }
                };
                tags.push(tag);
            }
            if !batch.is_empty() {
                let handle = db
                    .write(batch)
                    .await
                    .map_err(|e| map(e, "writing the CF catalog"))?;
                db.flush()
                    .await
                    .map_err(|e| map(e, "syncing the CF catalog"))?;
                handle
                    .await_durable()
                    .await
                    .map_err(|e| map(e, "syncing the CF catalog"))?;
            }
            Ok(tags)
        })
    }

    /// The SST and WAL objects a checkpoint's manifest needs, relative to the database root,
    /// with the manifest itself last.
    async fn checkpoint_objects(&self, manifest_id: u64) -> Result<Vec<String>> {
        let what = format!("reading manifest {manifest_id} for a checkpoint");
        let admin =
            slatedb::admin::AdminBuilder::new(self.location.root.clone(), self.store.clone())
                .build();
        let manifest = admin
            .read_manifest(Some(manifest_id))
            .await
            .map_err(|e| self.map_err(e, &what))?
            .ok_or_else(|| {
                Error::corruption(
                    format!(
                        "checkpoint manifest {manifest_id} of {} is missing",
                        self.location.display
                    ),
                    None,
                    None,
                )
            })?;
        if !manifest.external_dbs().is_empty() {
            return Err(Error::not_supported(
                "checkpoint of a SlateDB database that references another database's SSTs (a \
                 clone)",
            ));
        }
        let root = self.location.root.to_string();
        let relative = |p: &object_store::path::Path| -> Result<String> {
            p.as_ref()
                .strip_prefix(&root)
                .map(|s| s.trim_start_matches('/').to_owned())
                .ok_or_else(|| Error::Other(format!("object {p} is outside {root}")))
        };
        let resolver = slatedb::PathResolver::new(self.location.root.clone(), &manifest);
        let mut objects: Vec<String> = Vec::new();
        for view in manifest.all_sst_views() {
            let rel = relative(&resolver.sst_path(&view.sst.id))?;
            if !objects.contains(&rel) {
                objects.push(rel);
            }
        }
        // WAL objects past the manifest's replay point: replayed on open. The caller holds
        // the write gate, so none holds a write made after the checkpoint began.
        let wal_dir = self.location.object("wal");
        let wal: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&wal_dir))
            .try_collect()
            .await
            .map_err(|e| error::store(e, &format!("listing {wal_dir}")))?;
        for meta in wal {
            let id = meta
                .location
                .filename()
                .and_then(|f| f.strip_suffix(".sst"))
                .and_then(|s| s.parse::<u64>().ok());
            if id.is_some_and(|id| id > manifest.replay_after_wal_id()) {
                objects.push(relative(&meta.location)?);
            }
        }
        objects.push(format!("manifest/{manifest_id:020}.manifest"));
        Ok(objects)
    }

    /// Copies `rel` from this database to `dst`: a server-side copy inside one store, a GET
    /// and PUT between two.
    async fn copy_object(&self, dst: &Location, rel: &str) -> Result<()> {
        let (from, to) = (self.location.object(rel), dst.object(rel));
        let what = || format!("copying {from} to {}", dst.display);
        if Arc::ptr_eq(&self.location.store, &dst.store) {
            return self
                .store
                .copy(&from, &to)
                .await
                .map_err(|e| error::store(e, &what()));
        }
        let bytes = self
            .store
            .get(&from)
            .await
            .map_err(|e| error::store(e, &what()))?
            .bytes()
            .await
            .map_err(|e| error::store(e, &what()))?;
        dst.store
            .put(&to, bytes.into())
            .await
            .map_err(|e| error::store(e, &what()))?;
        Ok(())
    }

    /// `(disk_size, live_data_size)`: every object under the root, and the SSTs of the current
    /// manifest plus the WAL objects not yet flushed to L0.
    fn sizes(&self) -> Result<(u64, u64)> {
        let manifest = self.db.manifest();
        let resolver = slatedb::PathResolver::new(self.location.root.clone(), &manifest);
        let live_ssts: HashSet<object_store::path::Path> = manifest
            .all_sst_views()
            .map(|v| resolver.sst_path(&v.sst.id))
            .collect();
        let replay_after = manifest.replay_after_wal_id();
        let objects: Vec<object_store::ObjectMeta> = self
            .block_on(self.store.list(Some(&self.location.root)).try_collect())
            .map_err(|e| error::store(e, &format!("listing {}", self.location.display)))?;
        let mut disk = 0;
        let mut live = 0;
        let wal_dir = self.location.object("wal");
        for meta in objects {
            disk += meta.size;
            let unflushed_wal = meta.location.prefix_matches(&wal_dir)
                && meta
                    .location
                    .filename()
                    .and_then(|f| f.strip_suffix(".sst"))
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_some_and(|id| id > replay_after);
            if unflushed_wal || live_ssts.contains(&meta.location) {
                live += meta.size;
            }
        }
        Ok((disk, live))
    }
}

impl KvEngine for SlatedbEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: true,
        bulk_ingest: false,
        manual_compaction: true,
        statistics: true,
        prefix_seek: true,
    };

    type Snapshot<'a> = SlatedbSnapshot<'a>;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        let profile = Profile::from_config(config.profile.as_deref())?;
        Self::open_with_profile(config, profile)
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn write_batch(&self) -> OpBatch {
        OpBatch::new(self.cfs.clone())
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        opts.check()?;
        fail_point("slatedb::write")?;
        batch.check_cfs(&self.cfs)?;
        if batch.is_empty() {
            return Ok(());
        }
        self.check_sizes(batch)?;
        let reads_first = batch
            .ops()
            .iter()
            .any(|op| matches!(op, BatchOp::DeleteRange { .. }));
        // A poisoned gate guards no data: the lock only orders writers.
        let (_shared, _exclusive) = if reads_first {
            let g = self.write_gate.write().unwrap_or_else(|e| e.into_inner());
            (None, Some(g))
        } else {
            let g = self.write_gate.read().unwrap_or_else(|e| e.into_inner());
            (Some(g), None)
        };
        let effect = plan::net_effect(batch.ops(), &self.tags, |cf, start, end| {
            self.keys_in(cf, start, end)
        })?;
        if effect.is_empty() {
            return Ok(());
        }
        let items = effect.len();
        let mut slate_batch = slatedb::WriteBatch::new();
        for (key, value) in effect {
            match value {
                Some(v) => slate_batch.put(key, v),
                None => slate_batch.delete(key),
            }
        }
        fail_point("slatedb::before_commit")?;
        let handle = self
            .block_on(self.db.write(slate_batch))
            .map_err(|e| self.map_err(e, &format!("writing a batch of {items} entries")))?;
        self.user_bytes_written
            .fetch_add(batch.data_size() as u64, Ordering::Relaxed);
        if opts.sync {
            self.block_on(async {
                self.db.flush().await?;
                handle.await_durable().await
            })
            .map_err(|e| {
                self.map_err(
                    e,
                    &format!(
                        "making a batch of {items} entries durable (it may or may not be \
                         present after a reopen, and is all or nothing either way)"
                    ),
                )
            })?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<SlatedbSnapshot<'_>> {
        let snapshot = self
            .db
            .snapshot()
            .map_err(|e| self.map_err(e, "taking a snapshot"))?;
        Ok(SlatedbSnapshot {
            engine: self,
            snapshot,
        })
    }

    fn sync(&self) -> Result<()> {
        self.block_on(self.db.flush())
            .map_err(|e| self.map_err(e, "flushing the WAL"))
    }

    fn flush(&self) -> Result<()> {
        fail_point("slatedb::flush")?;
        self.block_on(self.db.flush_with_options(FlushOptions {
            flush_type: FlushType::MemTable,
        }))
        .map_err(|e| self.map_err(e, "flushing the memtable"))
    }

    fn as_checkpoint(&self) -> Option<&dyn Checkpoint> {
        Some(self)
    }

    fn as_statistics(&self) -> Option<&dyn Statistics> {
        Some(self)
    }

    fn as_manual_compaction(&self) -> Option<&dyn ManualCompaction> {
        Some(self)
    }
}

impl Drop for SlatedbEngine {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // A failed database (its store failed) closes without a flush; either way every
            // background task stops here, before the path is released.
            let _ = runtime.block_on(self.db.close());
            runtime.shutdown_timeout(Duration::from_secs(10));
        }
    }
}

fn get_at(
    engine: &SlatedbEngine,
    snapshot: Option<&DbSnapshot>,
    opts: &ReadOptions,
    cf: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>> {
    let tag = engine.tags[engine.cf_index(cf)?];
    let stored = keys::encode(tag, key);
    let read = slatedb::config::ReadOptions::default().with_cache_blocks(opts.fill_cache);
    let got = match snapshot {
        Some(s) => engine.block_on(s.get_with_options(&stored, &read)),
        None => engine.block_on(engine.db.get_with_options(&stored, &read)),
    };
    got.map(|v| v.map(|v| v.to_vec()))
        .map_err(|e| engine.map_err(e, &format!("reading {} from CF {cf:?}", display_key(key))))
}

impl Readable for SlatedbEngine {
    type Iterator<'a> = SlatedbIterator<'a>;

    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_at(self, None, opts, cf, key)
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<SlatedbIterator<'_>> {
        let i = self.cf_index(cf)?;
        opts.check()?;
        let snapshot = self
            .db
            .snapshot()
            .map_err(|e| self.map_err(e, "taking an iterator's snapshot"))?;
        SlatedbIterator::new(self, &self.cfs[i], self.tags[i], snapshot, opts)
    }
}

impl Readable for SlatedbSnapshot<'_> {
    type Iterator<'a>
        = SlatedbIterator<'a>
    where
        Self: 'a;

    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_at(self.engine, Some(&self.snapshot), opts, cf, key)
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<SlatedbIterator<'_>> {
        let e = self.engine;
        let i = e.cf_index(cf)?;
        SlatedbIterator::new(e, &e.cfs[i], e.tags[i], self.snapshot.clone(), opts)
    }
}

impl Checkpoint for SlatedbEngine {
    /// A SlateDB checkpoint (scope `All`: the WAL flushed and the memtable written as L0, the
    /// manifest version pinned against garbage collection for ten minutes), then a copy of
    /// the objects that manifest needs (its SSTs, the WAL objects after its replay point,
    /// the manifest itself, last) into `dir`: a database of its own, openable by this engine.
    /// Writers wait while it runs. Cost: `O(database size)` bytes copied on the local store
    /// (GET and PUT), server-side COPYs inside one bucket on S3.
    fn checkpoint(&self, dir: &FsPath) -> Result<()> {
        if dir.exists() {
            return Err(Error::invalid(format!(
                "checkpoint directory {} exists already",
                dir.display()
            )));
        }
        let _exclusive = self.write_gate.write().unwrap_or_else(|e| e.into_inner());
        let dst = match &self.profile {
            Profile::Local => Location::local(dir, true)?,
            Profile::S3(s3) => {
                let dst = Location::s3_with(s3, self.location.store.clone(), dir)?;
                if self.block_on(database_exists(&dst))? {
                    return Err(Error::invalid(format!(
                        "checkpoint target {} holds a database already",
                        dst.display
                    )));
                }
                dst
            }
        };
        self.block_on(async {
            let options = CheckpointOptions {
                lifetime: Some(CHECKPOINT_LIFETIME),
                name: Some(format!("engine_slatedb checkpoint into {}", dst.display)),
                ..CheckpointOptions::default()
            };
            let created = self
                .db
                .create_checkpoint(CheckpointScope::All, &options)
                .await
                .map_err(|e| self.map_err(e, "creating a checkpoint"))?;
            for rel in self.checkpoint_objects(created.manifest_id).await? {
                self.copy_object(&dst, &rel).await?;
            }
            Ok(())
        })
    }
}

impl SlatedbEngine {
    /// Submits one compaction of every L0 SST and sorted run of the database to SlateDB's
    /// compactor and waits until it is committed. `Ok(false)`: the compactor rejected it
    /// (another compaction of L0 was running), try again.
    async fn compact_everything(&self) -> Result<bool> {
        use slatedb::compactor::{CompactionSpec, CompactionStatus, SourceId};
        let what = "compacting";
        let manifest = self.db.manifest();
        let l0: Vec<_> = manifest.l0().iter().map(|v| v.id).collect();
        let runs: Vec<u32> = manifest.compacted().iter().map(|sr| sr.id).collect();
        if l0.is_empty() && runs.len() <= 1 {
            return Ok(true);
        }
        // Sources in the tree's logical order (L0 newest first, then sorted runs by
        // descending id), all of them: a consecutive window, as SlateDB's scheduler requires.
        // The output goes to the lowest sorted run, or to a new one above every id.
        let mut sources: Vec<SourceId> = l0.iter().map(|id| SourceId::SstView(*id)).collect();
        sources.extend(runs.iter().map(|id| SourceId::SortedRun(*id)));
        let destination = runs.iter().min().copied().unwrap_or(0);
        let admin =
            slatedb::admin::AdminBuilder::new(self.location.root.clone(), self.store.clone())
                .build();
        let submitted = admin
            .submit_compaction(CompactionSpec::new(sources, destination))
            .await
            .map_err(|e| self.map_err(e, "submitting a compaction"))?;
        let deadline = tokio::time::Instant::now() + COMPACTION_TIMEOUT;
        // Half the compactor's poll interval: a request per check, cheap locally.
        let check_every = match self.profile {
            Profile::Local => Duration::from_millis(25),
            Profile::S3(_) => Duration::from_millis(500),
        };
        loop {
            tokio::time::sleep(check_every).await;
            let status = admin
                .read_compaction(submitted.id(), None)
                .await
                .map_err(|e| self.map_err(e, what))?
                .map(|c| c.status());
            match status {
                Some(CompactionStatus::Completed) => break,
                Some(CompactionStatus::Failed) => return Ok(false),
                Some(_) => {}
                // Finished compactions leave the compactions record: done when the manifest
                // no longer holds the L0 SSTs it took.
                None => {
                    self.db
                        .refresh_manifest()
                        .await
                        .map_err(|e| self.map_err(e, what))?;
                    let now = self.db.manifest();
                    if !now.l0().iter().any(|v| l0.contains(&v.id)) {
                        break;
                    }
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Other(format!(
                    "compaction {} of {} did not finish within {} s",
                    submitted.id(),
                    self.location.display,
                    COMPACTION_TIMEOUT.as_secs()
                )));
            }
        }
        self.db
            .refresh_manifest()
            .await
            .map_err(|e| self.map_err(e, what))?;
        Ok(true)
    }
}

impl ManualCompaction for SlatedbEngine {
    /// The memtable flushed (as RocksDB's `CompactRange` does), then one SlateDB compaction of
    /// every L0 SST and sorted run into one sorted run, whatever the CF and range: SlateDB
    /// compacts whole trees, and every CF lives in the one tree. Submitted to SlateDB's
    /// compactor through its admin API and awaited; retried when the compactor rejects it
    /// because its own compaction of L0 is running. Cost: the whole database rewritten, and
    /// a few of the compactor's poll intervals of latency (50 ms locally, 5 s on S3).
    fn compact_range(&self, cf: &str, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.cf_index(cf)?;
        if let (Some(s), Some(e)) = (start, end) {
            engine_traits::check_range(s, e)?;
        }
        fail_point("slatedb::compaction")?;
        // The WAL first: what was acknowledged is durable before anything waits (a memtable
        // flush waits for compaction when the L0 is full).
        self.sync()?;
        self.flush()?;
        for _ in 0..10 {
            if self.block_on(self.compact_everything())? {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(Error::Other(format!(
            "SlateDB's compactor rejected ten compactions of {} in a row",
            self.location.display
        )))
    }
}

impl Statistics for SlatedbEngine {
    fn statistics(&self) -> Result<EngineStats> {
        let (disk_size, live_data_size) = self.sizes()?;
        Ok(EngineStats {
            disk_size,
            live_data_size,
            user_bytes_written: self.user_bytes_written.load(Ordering::Relaxed),
            engine_bytes_written: self.counters.snapshot().bytes_put,
        })
    }

    /// Object-store requests: on a cloud disk they are billed, and they bound latency.
    fn counters(&self) -> Result<Vec<(&'static str, u64)>> {
        let c = self.counters.snapshot();
        Ok(vec![
            ("requests", c.total()),
            ("put_requests", c.puts),
            ("get_requests", c.gets),
            ("head_requests", c.heads),
            ("list_requests", c.lists),
            ("delete_requests", c.deletes),
            ("copy_requests", c.copies),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_traits::ErrorKind;

    #[test]
    fn profiles_are_named_or_rejected() {
        assert_eq!(Profile::from_config(None).unwrap(), Profile::Local);
        assert_eq!(
            Profile::from_config(Some("default")).unwrap(),
            Profile::Local
        );
        let e = Profile::from_config(Some("nope")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("\"nope\""), "{e}");
    }

    #[test]
    fn a_second_open_of_the_same_path_is_closed_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db"));
        let first = SlatedbEngine::open(&config).unwrap();
        first.put("default", b"k", b"v").unwrap();
        let err = SlatedbEngine::open(&config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
        assert!(err.to_string().contains("db"), "names the path: {err}");
        drop(first);
        let again = SlatedbEngine::open(&config).unwrap();
        assert_eq!(
            again.get("default", b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }

    #[test]
    fn a_path_that_is_a_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = SlatedbEngine::open(&EngineConfig::new(&file)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }

    #[test]
    fn cf_tags_survive_a_reopen_with_another_cf_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let config = EngineConfig {
            cfs: vec!["b".into(), "a".into()],
            ..EngineConfig::new(&path)
        };
        let e = SlatedbEngine::open(&config).unwrap();
        e.put("a", b"k", b"in a").unwrap();
        e.put("b", b"k", b"in b").unwrap();
        drop(e);
        let config = EngineConfig {
            cfs: vec!["c".into(), "a".into(), "b".into()],
            ..EngineConfig::new(&path)
        };
        let e = SlatedbEngine::open(&config).unwrap();
        assert_eq!(e.get("a", b"k").unwrap().as_deref(), Some(&b"in a"[..]));
        assert_eq!(e.get("b", b"k").unwrap().as_deref(), Some(&b"in b"[..]));
        assert_eq!(e.get("c", b"k").unwrap(), None);
    }

    #[test]
    fn a_mebibyte_key_survives_a_flush_and_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db"));
        let e = SlatedbEngine::open(&config).unwrap();
        let key = vec![b'k'; 1 << 20];
        e.put("default", &key, b"long").unwrap();
        e.put("default", b"short", b"s").unwrap();
        e.flush().unwrap();
        drop(e);
        let e = SlatedbEngine::open(&config).unwrap();
        assert_eq!(
            e.get("default", &key).unwrap().as_deref(),
            Some(&b"long"[..])
        );
        assert_eq!(
            e.get("default", b"short").unwrap().as_deref(),
            Some(&b"s"[..])
        );
    }

    #[test]
    fn a_directory_removed_under_an_open_engine_is_not_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let e = SlatedbEngine::open(&EngineConfig::new(&path)).unwrap();
        e.put("default", b"k", b"v").unwrap();
        std::fs::remove_dir_all(&path).unwrap();
        let err = e
            .put_opt(&WriteOptions::sync(), "default", b"k2", b"v")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        drop(e);
        assert!(
            !path.exists(),
            "closing does not recreate the removed directory"
        );
    }

    #[test]
    fn requests_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let e = SlatedbEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
        let before = e.object_store_requests();
        e.put_opt(&WriteOptions::sync(), "default", b"k", b"v")
            .unwrap();
        let after = e.object_store_requests();
        assert!(after.puts > before.puts, "a synced write PUTs a WAL object");
        assert!(after.bytes_put > before.bytes_put);
    }
}
