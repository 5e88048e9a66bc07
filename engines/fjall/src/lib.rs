//! `engine_fjall`: [fjall](https://crates.io/crates/fjall) 3.1 behind `engine_traits`.
//!
//! # What it is for
//! The SIG's second LSM-tree, of another lineage than RocksDB: fjall is pure Rust over the
//! `lsm-tree` crate (leveled compaction, a journal shared by every keyspace, optional key-value
//! separation into blob files, per keyspace). It lets the suites and benchmarks compare two
//! LSM designs and two key-value separation designs (fjall's blob tree against Titan and
//! RocksDB's BlobDB) without a C++ build.
//!
//! # What it is not for
//! Range deletes at scale: fjall has no range tombstone, so `delete_range` costs a tombstone
//! per key (below). Nor checkpoints: fjall has none. One process per database: fjall locks the
//! directory, and a second open, even in the same process, is `Closed`.
//!
//! # Design: how the trait layer maps onto fjall
//! - **Column families** are fjall keyspaces of one `fjall::Database`, opened (created when
//!   missing) in `cf_names()` order. Keyspaces an earlier open created but this one does not
//!   list are recovered by fjall and left alone.
//! - **Batches** are `engine_traits::OpBatch`. `write` turns one into a single fjall
//!   `OwnedWriteBatch` holding its net effect (`plan`): fjall gives every item of a batch one
//!   sequence number, so the wrapper keeps only the last operation per key. The fjall batch
//!   spans keyspaces and commits atomically: one journal record, then the memtables, then the
//!   new sequence number is published, so readers see all of it or none.
//! - **`delete_range`** is emulated: under an exclusive write gate, the range is scanned at a
//!   snapshot and every key found (and every key the batch itself wrote there) gets a
//!   tombstone in the same fjall batch. Cost: `O(keys in range)` reads, journal bytes and
//!   tombstones, and concurrent writers wait for it. Batches without a `delete_range` take the
//!   gate shared, so they run concurrently (fjall serialises their commits on its journal).
//! - **Snapshots** are fjall snapshots (`Database::snapshot`): a sequence number, registered
//!   so compaction keeps what it can still read. Taking one is `O(1)`. Point reads on the
//!   engine also go through a fresh snapshot, because fjall's plain `Keyspace::get` reads at
//!   "latest" and could see half of a batch being applied.
//! - **Iterators** hold their own snapshot and walk fjall range iterators (`iter`): moving in
//!   one direction streams; a seek or a change of direction opens a new range at the same
//!   snapshot. Prefix seek (capability `prefix_seek`) narrows the range to the prefix.
//! - **Durability**: every commit hands its journal record to the OS before returning
//!   (`PersistMode::Buffer`), so a process crash loses nothing acknowledged; with
//!   `WriteOptions::sync` the commit also fsyncs the journal (`PersistMode::SyncAll`) before
//!   the batch is applied. `sync()` is `Database::persist(SyncAll)`. `disable_wal` cannot skip
//!   fjall's journal: such writes are journaled like any other. Recovery replays the journal
//!   up to the last complete batch and drops a torn tail, so the state after a crash is a
//!   prefix of the history.
//! - **`flush()`** seals every keyspace's memtable, waits until fjall's workers have written
//!   it as a table, then fsyncs the journal.
//! - **Capabilities**: persistence, bulk ingest (fjall's sorted ingestion, straight into
//!   tables), manual compaction (fjall's major compaction of the whole keyspace, whatever the
//!   range), statistics (see `stats`: journal bytes computed per batch, flush and compaction
//!   bytes from the `wchar` of fjall's worker threads; Linux only), prefix seek.
//! - **Profiles**: `default` (or none), and `kv_separation`: new keyspaces get fjall's blob
//!   tree (values of 1 KiB and more go to blob files). A keyspace keeps the layout it was
//!   created with.
//! - **Keys** are stored behind one tag byte (`keys`): fjall's batches reject the empty key,
//!   which the trait layer has. Order is unchanged; the cost is a byte per stored key.
//! - **Limits**: user keys of at most 65,534 bytes (fjall stores a `u16` length, and the tag
//!   takes one byte; longer keys are `InvalidArgument`), values below 4 GiB.
#![deny(missing_docs)]

mod error;
mod iter;
mod keys;
mod plan;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use engine_traits::{
    BatchOp, BulkIngest, Capabilities, EngineConfig, EngineStats, Error, IterOptions, KvEngine,
    ManualCompaction, OpBatch, ReadOptions, Readable, Result, Statistics, WriteBatch, WriteOptions,
    display_key,
};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable as _};

pub use iter::FjallIterator;

/// The longest user key: fjall's journal and tables encode key lengths as `u16`, and every
/// stored key carries one tag byte (see `keys`).
pub const MAX_KEY_LEN: usize = u16::MAX as usize - 1;

/// The longest keyspace (CF) name fjall accepts.
const MAX_CF_NAME_LEN: usize = 255;

/// The options profiles this engine knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    /// fjall's defaults: values inline in the LSM tables.
    Default,
    /// fjall's key-value separation for new keyspaces.
    KvSeparation,
}

impl Profile {
    fn from_config(profile: Option<&str>) -> Result<Profile> {
        match profile {
            None | Some("default") => Ok(Profile::Default),
            Some("kv_separation") => Ok(Profile::KvSeparation),
            Some(other) => Err(Error::invalid(format!(
                "engine fjall has no options profile {other:?} (it knows \"default\" and \
                 \"kv_separation\")"
            ))),
        }
    }

    fn keyspace_options(self) -> KeyspaceCreateOptions {
        match self {
            Profile::Default => KeyspaceCreateOptions::default(),
            Profile::KvSeparation => KeyspaceCreateOptions::default()
                .with_kv_separation(Some(fjall::KvSeparationOptions::default())),
        }
    }
}

/// A fjall database behind the trait layer; CFs are its keyspaces.
pub struct FjallEngine {
    path: PathBuf,
    cfs: Arc<[String]>,
    /// One keyspace per CF, in `cfs` order.
    keyspaces: Vec<Keyspace>,
    db: Database,
    prefix_len: Option<usize>,
    /// Shared by ordinary writes, exclusive for writes whose plan reads the database first
    /// (`delete_range`) and for bulk ingestion, so nothing lands between that read and the
    /// commit.
    write_gate: RwLock<()>,
    accounting: stats::WriteAccounting,
}

impl std::fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallEngine")
            .field("path", &self.path)
            .field("cfs", &self.cfs)
            .finish_non_exhaustive()
    }
}

/// A consistent view of every CF: a fjall snapshot.
pub struct FjallSnapshot<'a> {
    engine: &'a FjallEngine,
    snapshot: fjall::Snapshot,
}

impl std::fmt::Debug for FjallSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallSnapshot")
            .field("seqno", &self.snapshot.seqno())
            .finish_non_exhaustive()
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
            "key {} in CF {cf:?} is {} bytes; engine fjall stores keys of at most {MAX_KEY_LEN} bytes",
            display_key(key),
            key.len()
        )));
    }
    Ok(())
}

fn check_value(cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
    if u32::try_from(value.len()).is_err() {
        return Err(Error::invalid(format!(
            "value of key {} in CF {cf:?} is {} bytes; fjall stores values below 4 GiB",
            display_key(key),
            value.len()
        )));
    }
    Ok(())
}

impl FjallEngine {
    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cf_index(&self, cf: &str) -> Result<usize> {
        self.cfs
            .iter()
            .position(|c| c == cf)
            .ok_or_else(|| Error::unknown_cf(cf))
    }

    fn keyspace(&self, cf: &str) -> Result<&Keyspace> {
        Ok(&self.keyspaces[self.cf_index(cf)?])
    }

    fn map_err<'a>(&'a self, what: &'a str) -> impl FnOnce(fjall::Error) -> Error + 'a {
        move |e| error::map(e, what, &self.path)
    }

    /// Every key of CF number `cf` in `[start, end)` at `snapshot`, without reading values.
    fn keys_in(
        &self,
        snapshot: &fjall::Snapshot,
        cf: usize,
        start: &[u8],
        end: &[u8],
    ) -> Result<Vec<fjall::Slice>> {
        snapshot
            .range(&self.keyspaces[cf], keys::encode(start)..keys::encode(end))
            .map(|g| {
                g.key().map_err(|e| {
                    error::map(
                        e,
                        &format!("scanning CF {:?} for delete_range", self.cfs[cf]),
                        &self.path,
                    )
                })
            })
            .collect()
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

    /// Seals `keyspace`'s memtable and waits until fjall's workers wrote it as a table.
    fn flush_keyspace(&self, cf: &str, keyspace: &Keyspace) -> Result<()> {
        keyspace
            .rotate_memtable_and_wait()
            .map_err(self.map_err(&format!("flushing CF {cf:?}")))
    }
}

impl KvEngine for FjallEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: false,
        bulk_ingest: true,
        manual_compaction: true,
        statistics: true,
        prefix_seek: true,
    };

    type Snapshot<'a> = FjallSnapshot<'a>;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        let profile = Profile::from_config(config.profile.as_deref())?;
        if config.prefix_len == Some(0) {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        let cfs: Arc<[String]> = config.cf_list()?.into();
        if let Some(cf) = cfs.iter().find(|cf| cf.len() > MAX_CF_NAME_LEN) {
            return Err(Error::invalid(format!(
                "column family name {cf:?} is {} bytes; fjall keyspace names take at most \
                 {MAX_CF_NAME_LEN}",
                cf.len()
            )));
        }
        let path = config.path.clone();
        if !config.create_if_missing && !path.join("version").is_file() {
            return Err(Error::invalid(format!(
                "no fjall database at {} and create_if_missing is false",
                path.display()
            )));
        }
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 4);
        let (db, accounting) = {
            let _one_open_at_a_time = stats::OPEN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            let before = stats::worker_tids();
            let db = Database::builder(&path)
                // Off so the journal bytes of a batch are known exactly (`plan::journal_bytes`);
                // RocksDB's WAL is not compressed either.
                .journal_compression(fjall::CompressionType::None)
                .worker_threads(workers)
                .open()
                .map_err(|e| error::map(e, "opening", &path))?;
            (db, stats::WriteAccounting::after_open(&before, workers))
        };
        let keyspaces = cfs
            .iter()
            .map(|cf| {
                db.keyspace(cf, || profile.keyspace_options())
                    .map_err(|e| error::map(e, &format!("opening CF {cf:?}"), &path))
            })
            .collect::<Result<Vec<_>>>()?;
        // fjall 3.1 creates each keyspace's directory under `keyspaces/` without fsyncing
        // `keyspaces/` itself, so a power loss can take every keyspace (and every synced
        // write in them) away: found by the powerloss suite, pinned in tests/upstream.rs.
        // Keyspaces are only created here, so one fsync of each directory at open covers it.
        for dir in [path.join("keyspaces"), path.clone()] {
            std::fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(e, &dir))?;
        }
        Ok(FjallEngine {
            path,
            cfs,
            keyspaces,
            db,
            prefix_len: config.prefix_len,
            write_gate: RwLock::new(()),
            accounting,
        })
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn write_batch(&self) -> OpBatch {
        OpBatch::new(self.cfs.clone())
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        opts.check()?;
        fail_point("fjall::write")?;
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
        let effect = if reads_first {
            let snapshot = self.db.snapshot();
            plan::net_effect(batch.ops(), |cf, start, end| {
                self.keys_in(&snapshot, cf, start, end)
            })?
        } else {
            plan::net_effect(batch.ops(), |_, _, _| Ok(Vec::new()))?
        };
        if effect.is_empty() {
            return Ok(());
        }
        let journal = plan::journal_bytes(
            effect
                .iter()
                .map(|((_, k), v)| (k.len(), v.map_or(0, <[u8]>::len))),
        );
        let items = effect.len();
        let mut fjall_batch = self.db.batch();
        if opts.sync {
            fjall_batch = fjall_batch.durability(Some(PersistMode::SyncAll));
        }
        for ((cf, key), value) in effect {
            match value {
                Some(v) => fjall_batch.insert(&self.keyspaces[cf], key, v),
                None => fjall_batch.remove(&self.keyspaces[cf], key),
            }
        }
        fail_point("fjall::before_commit")?;
        fjall_batch.commit().map_err(|e| {
            error::map(
                e,
                &format!(
                    "committing a batch of {items} writes (it may or may not be present after \
                     a reopen, and is all or nothing either way)"
                ),
                &self.path,
            )
        })?;
        self.accounting.committed(batch.data_size() as u64, journal);
        Ok(())
    }

    fn snapshot(&self) -> Result<FjallSnapshot<'_>> {
        Ok(FjallSnapshot {
            engine: self,
            snapshot: self.db.snapshot(),
        })
    }

    fn sync(&self) -> Result<()> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(self.map_err("syncing the journal"))
    }

    fn flush(&self) -> Result<()> {
        fail_point("fjall::flush")?;
        self.accounting.on_caller_thread(|| {
            for (cf, ks) in self.cfs.iter().zip(&self.keyspaces) {
                self.flush_keyspace(cf, ks)?;
            }
            self.sync()
        })
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

impl Readable for FjallEngine {
    type Iterator<'a> = FjallIterator<'a>;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let ks = self.keyspace(cf)?;
        self.db
            .snapshot()
            .get(ks, keys::encode(key))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(self.map_err(&format!("reading {} from CF {cf:?}", display_key(key))))
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<FjallIterator<'_>> {
        let i = self.cf_index(cf)?;
        FjallIterator::new(
            &self.cfs[i],
            &self.keyspaces[i],
            self.db.snapshot(),
            &self.path,
            opts,
            self.prefix_len,
        )
    }
}

impl Readable for FjallSnapshot<'_> {
    type Iterator<'a>
        = FjallIterator<'a>
    where
        Self: 'a;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let ks = self.engine.keyspace(cf)?;
        self.snapshot
            .get(ks, keys::encode(key))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(
                self.engine
                    .map_err(&format!("reading {} from CF {cf:?}", display_key(key))),
            )
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<FjallIterator<'_>> {
        let e = self.engine;
        let i = e.cf_index(cf)?;
        FjallIterator::new(
            &e.cfs[i],
            &e.keyspaces[i],
            self.snapshot.clone(),
            &e.path,
            opts,
            e.prefix_len,
        )
    }
}

impl BulkIngest for FjallEngine {
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let ks = self.keyspace(cf)?;
        if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(Error::invalid(format!(
                "ingest into {cf:?}: keys not strictly ascending at {}",
                display_key(&w[1].0)
            )));
        }
        for (k, v) in entries {
            check_key(cf, k)?;
            check_value(cf, k, v)?;
        }
        if entries.is_empty() {
            return Ok(());
        }
        let _exclusive = self.write_gate.write().unwrap_or_else(|e| e.into_inner());
        let what = format!("ingesting {} entries into CF {cf:?}", entries.len());
        self.accounting
            .on_caller_thread(|| -> fjall::Result<()> {
                let mut ingestion = ks.start_ingestion()?;
                for (k, v) in entries {
                    ingestion.write(keys::encode(k), &v[..])?;
                }
                ingestion.finish()
            })
            .map_err(self.map_err(&what))?;
        self.accounting.user_bytes_ingested(
            entries
                .iter()
                .map(|(k, v)| (k.len() + v.len()) as u64)
                .sum(),
        );
        Ok(())
    }
}

impl ManualCompaction for FjallEngine {
    fn compact_range(&self, cf: &str, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        let ks = self.keyspace(cf)?;
        if let (Some(s), Some(e)) = (start, end) {
            engine_traits::check_range(s, e)?;
        }
        fail_point("fjall::compaction")?;
        // fjall compacts whole keyspaces only; its memtable is flushed first, as RocksDB's
        // CompactRange does, so the compaction covers everything written so far.
        self.accounting.on_caller_thread(|| {
            self.flush_keyspace(cf, ks)?;
            ks.major_compact()
                .map_err(self.map_err(&format!("compacting CF {cf:?}")))
        })
    }
}

impl Statistics for FjallEngine {
    fn statistics(&self) -> Result<EngineStats> {
        let (user_bytes_written, engine_bytes_written) =
            self.accounting.bytes_written(&self.path)?;
        let disk_size = stats::allocated_bytes(&self.path).map_err(|e| Error::io(e, &self.path))?;
        // fjall has no live-data estimate: its tables and blob files (garbage not yet
        // compacted away included, compression included) plus the memtables.
        let live_data_size = self.keyspaces.iter().map(Keyspace::disk_space).sum::<u64>()
            + self.db.write_buffer_size();
        Ok(EngineStats {
            disk_size,
            live_data_size,
            user_bytes_written,
            engine_bytes_written,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_named_or_rejected() {
        assert_eq!(Profile::from_config(None).unwrap(), Profile::Default);
        assert_eq!(
            Profile::from_config(Some("kv_separation")).unwrap(),
            Profile::KvSeparation
        );
        let e = Profile::from_config(Some("nope")).unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
    }

    #[test]
    fn a_second_open_of_the_same_path_is_closed_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db"));
        let first = FjallEngine::open(&config).unwrap();
        let err = FjallEngine::open(&config).unwrap_err();
        assert_eq!(err.kind(), engine_traits::ErrorKind::Closed, "{err}");
        assert!(
            err.to_string().contains("db"),
            "the message names the path: {err}"
        );
        drop(first);
        FjallEngine::open(&config).unwrap();
    }

    #[test]
    fn a_path_that_is_a_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = FjallEngine::open(&EngineConfig::new(&file)).unwrap_err();
        assert_eq!(err.kind(), engine_traits::ErrorKind::Io, "{err}");
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }

    #[test]
    fn keys_and_cf_names_beyond_fjall_limits_are_invalid_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db"));
        let e = FjallEngine::open(&config).unwrap();
        e.put("default", &vec![b'k'; MAX_KEY_LEN], b"longest")
            .unwrap();
        let err = e
            .put("default", &vec![b'k'; MAX_KEY_LEN + 1], b"v")
            .unwrap_err();
        assert_eq!(
            err.kind(),
            engine_traits::ErrorKind::InvalidArgument,
            "{err}"
        );
        assert!(err.to_string().contains("65535 bytes"), "{err}");
        let err = FjallEngine::open(&config.clone().with_cf(&"c".repeat(256))).unwrap_err();
        assert_eq!(
            err.kind(),
            engine_traits::ErrorKind::InvalidArgument,
            "{err}"
        );
        drop(e);
        let e = FjallEngine::open(&config).unwrap();
        assert_eq!(
            e.get("default", &vec![b'k'; MAX_KEY_LEN])
                .unwrap()
                .as_deref(),
            Some(&b"longest"[..])
        );
    }

    #[test]
    fn profile_kv_separation_makes_blob_trees() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db")).with_profile("kv_separation");
        let e = FjallEngine::open(&config).unwrap();
        assert!(e.keyspaces.iter().all(Keyspace::is_kv_separated));
        let dir = tempfile::tempdir().unwrap();
        let e = FjallEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
        assert!(!e.keyspaces.iter().any(Keyspace::is_kv_separated));
    }

    #[test]
    fn journal_bytes_match_the_recovered_journal() {
        // fjall truncates the active journal to its last complete batch when it recovers, so
        // after a reopen the file is exactly the bytes journaled (no rotation at this size).
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path().join("db"));
        let e = FjallEngine::open(&config).unwrap();
        let mut b = e.write_batch();
        b.put("default", b"a", b"one").unwrap();
        b.put("lock", b"bb", &[7u8; 5000]).unwrap();
        b.delete("write", b"ccc").unwrap();
        e.write(&WriteOptions::default(), &b).unwrap();
        e.put("default", b"", b"").unwrap();
        let counted = e.accounting.bytes_written(e.path()).unwrap().1;
        drop(e);
        let e = FjallEngine::open(&config).unwrap();
        drop(e);
        let journals: Vec<_> = std::fs::read_dir(dir.path().join("db"))
            .unwrap()
            .filter_map(|d| {
                let d = d.unwrap();
                d.file_name()
                    .to_str()
                    .unwrap()
                    .ends_with(".jnl")
                    .then(|| d.metadata().unwrap().len())
            })
            .collect();
        assert_eq!(journals.len(), 1, "one journal, not rotated");
        assert_eq!(journals[0], counted);
    }
}
