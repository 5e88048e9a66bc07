//! `engine_redb`: [redb](https://www.redb.org), a copy-on-write B-tree in one file, behind the
//! workbench's trait layer.
//!
//! # What it is for
//! The SIG's B-tree engine: pure Rust, ACID, MVCC readers beside one writer, no WAL and no
//! compaction debt. Updates copy the path from leaf to root, so a write costs O(log n) page
//! writes and reads never meet tombstones or levels: the point of comparison against the LSM
//! engines (rocks, titan) for read latency, space and write amplification.
//!
//! # What it is not for
//! Concurrent writers (redb has one writer at a time; so does this wrapper), files shared
//! between processes (the database file is locked by one handle, and a second open is
//! `Closed`), or range deletes of many keys at LSM speed (see `delete_range` below). It is
//! not a fork: `redb` is used as published on crates.io.
//!
//! # Design: how the trait layer maps onto redb
//! - **Files**: the engine's directory holds one redb file, `data.redb`
//!   ([`DATA_FILE`]), opened through redb's own `FileBackend` wrapped in a counting backend
//!   (`backend.rs`): it counts the bytes redb writes (the `statistics` figure) and carries the
//!   file-layer failpoints. A new database is built as `data.redb.creating`
//!   ([`CREATING_FILE`]) and renamed into place, so a crash during creation leaves no
//!   half-written `data.redb`.
//! - **Column families** are redb tables, one `TableDefinition<&[u8], &[u8]>` per CF, named
//!   after the CF. `open` creates the missing ones in one durable write transaction; tables of
//!   CFs an earlier open created and this one does not list stay untouched in the file.
//! - **Batches** (`engine_traits::OpBatch`, which keeps save points as data) are applied in
//!   one redb `WriteTransaction`, which spans tables, so a multi-CF batch is atomic for
//!   readers and across a crash. Writes are serialised by a mutex of ours; redb's
//!   `begin_write` would block anyway.
//! - **Durability**: `WriteOptions::sync` commits with `Durability::Immediate` (redb's
//!   1-phase commit with checksums: pages, then the commit slot, then fsync), so a synced write
//!   that returned `Ok` survives a crash. An unsynced write (and a `disable_wal` one: redb has
//!   no log to skip) commits with `Durability::None`: visible at once, written to the file
//!   lazily, and made durable only by the next durable commit. A crash loses every
//!   `Durability::None` commit after the last durable one, never a part of one and never one
//!   before it, so the recovered state is a prefix of the write history. `sync()` and
//!   `flush()` make the pending ones durable with an empty durable commit (nothing is done when
//!   none is pending), and dropping the engine does the same (a clean close keeps every write).
//! - **Snapshots** own a redb `ReadTransaction` (not bound to the `Database`'s lifetime) and
//!   the CF tables opened from it: MVCC, O(number of CFs) to take, never a copy. Pages a
//!   snapshot can still reach are not reused by later commits until it is dropped, so a
//!   long-lived snapshot makes the file grow under overwrites.
//! - **Iterators** (`iterator.rs`) own a read transaction's table and walk redb ranges; a
//!   seek or a change of direction opens a new range, one B-tree descent (O(log n)).
//! - **Reads on the engine** (`get`, `iterator`) begin a read transaction each: O(1) plus the
//!   descent.
//!
//! # Emulated here, with their cost
//! - `delete_range` has no redb primitive: it is `Table::retain_in(start..end, false)` inside
//!   the batch's own write transaction, so it stays atomic with the rest of the batch and
//!   snapshots taken before keep seeing the keys. Cost: O(keys in the range) removals, each
//!   rewriting the pages it touches; no range tombstone.
//! - Save points live in `OpBatch` (operations kept as data until `write`).
//! - Prefix seek (`prefix_same_as_start`) is a filter in the iterator: it stops at the first
//!   key outside the seek key's prefix. No extra cost, and no bloom filter to gain either.
//! - `statistics`: engine bytes written are counted in the storage backend (exact); the live
//!   data size walks every page of every CF table (O(pages), redb's `TableStats`).
//! - `checkpoint`, `manual_compaction` and `bulk_ingest` (`capabilities.rs`): a logical copy
//!   from a read transaction (O(live data), writers not blocked); redb's whole-file
//!   `Database::compact` (the range is ignored; refused while a snapshot or iterator is
//!   open); one durable write transaction (O(n log n), no file-level ingest).
//!
//! # Errors
//! redb's errors are sorted in `error.rs`: a file held by another handle is `Closed`,
//! checksum and format failures are `Corruption` naming the file, I/O failures are `Io` with
//! the path. redb latches the first I/O failure and refuses writes until the database is
//! reopened; a commit that failed after it started writing says that the batch may or may not
//! be present after a reopen, as the contract asks.
#![deny(missing_docs)]

mod backend;
mod capabilities;
mod error;
mod iterator;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use engine_traits::{
    BatchOp, BulkIngest, Capabilities, Checkpoint, EngineConfig, EngineStats, Error, IterOptions,
    KvEngine, ManualCompaction, OpBatch, ReadOptions, Readable, Result, Statistics, WriteBatch,
    WriteOptions, display_key,
};
use redb::backends::FileBackend;
use redb::{
    Database, Durability, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTableMetadata,
    TableDefinition, TableHandle, WriteTransaction,
};

pub use backend::{SYNC_SITE, WRITE_SITE};
pub use iterator::RedbIterator;

use backend::{CountingBackend, IoCounters};
use iterator::Bytes;

/// The name of the redb file inside the engine's directory.
pub const DATA_FILE: &str = "data.redb";
/// Where a new database is built before it is renamed to [`DATA_FILE`].
pub const CREATING_FILE: &str = "data.redb.creating";

/// Failpoint at the start of every write (single writes and batches), before anything is
/// applied.
pub const WRITE_START_SITE: &str = "redb::write";
/// Failpoint after a batch's operations are applied inside its write transaction, before the
/// commit: `return` aborts the transaction (nothing applied), `return(abort)` kills the process
/// with the transaction uncommitted.
pub const COMMIT_SITE: &str = "redb::commit";

/// Every failpoint site of this crate; the catalog in `Cargo.toml` lists the same names.
pub const FAILPOINTS: [&str; 4] = [WRITE_START_SITE, COMMIT_SITE, WRITE_SITE, SYNC_SITE];

fn table(cf: &str) -> TableDefinition<'_, Bytes, Bytes> {
    TableDefinition::new(cf)
}

fn cf_index(cfs: &[String], cf: &str) -> Result<usize> {
    cfs.iter()
        .position(|c| c == cf)
        .ok_or_else(|| Error::unknown_cf(cf))
}

/// Evaluates a wrapper-level failpoint: `return` is an injected I/O error, `return(abort)`
/// kills the process there. Nothing without the `failpoints` feature.
fn fail_point(name: &'static str) -> Result<()> {
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

/// What the single writer knows.
#[derive(Debug, Default)]
struct Writer {
    /// A `Durability::None` commit is newer than the last durable one: `sync` has work to do.
    unsynced: bool,
}

/// The redb engine. Share it by reference or in an `Arc`; every method takes `&self`.
pub struct RedbEngine {
    /// Read-locked by every operation; write-locked only by compaction, which redb runs on
    /// `&mut Database`.
    db: RwLock<Database>,
    cfs: Arc<[String]>,
    prefix_len: Option<usize>,
    file: Arc<Path>,
    /// Serialises writes (redb allows one write transaction at a time anyway).
    writer: Mutex<Writer>,
    io: Arc<IoCounters>,
    user_bytes_written: AtomicU64,
    /// Live read transactions, so a commit can avoid `Durability::None` while one exists.
    reads: Arc<ReadTracker>,
}

/// Counts live read transactions. redb 4.6's non-durable commits reclaim pages that earlier
/// non-durable commits allocated, and can reclaim one a live read still holds: debug builds
/// stop at redb's assertion `!read_page_ref_counts.contains_key(&page)` (found by the `tikv`
/// bench cell, a reader thread beside a writer thread), release builds would let the reader
/// see the page reused. A write therefore commits durably whenever a read is live; `begin`
/// orders the two, so no read starts between that check and a non-durable commit.
#[derive(Default)]
struct ReadTracker {
    begin: RwLock<()>,
    live: AtomicUsize,
}

/// One live read transaction, counted until dropped. Kept beside the transaction and the
/// tables opened from it, and dropped after them.
pub(crate) struct LiveRead(Arc<ReadTracker>);

impl Drop for LiveRead {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for RedbEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbEngine")
            .field("file", &self.file)
            .field("cfs", &self.cfs)
            .finish()
    }
}

/// A consistent view of every CF: a redb read transaction and its CF tables.
pub struct RedbSnapshot {
    cfs: Arc<[String]>,
    /// One table per CF, in `cfs` order, opened from `txn`.
    tables: Vec<ReadOnlyTable<Bytes, Bytes>>,
    txn: ReadTransaction,
    prefix_len: Option<usize>,
    file: Arc<Path>,
    /// Declared last: dropped after `tables` and `txn`.
    _live: LiveRead,
}

impl std::fmt::Debug for RedbSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbSnapshot")
            .field("file", &self.file)
            .finish()
    }
}

impl RedbEngine {
    fn db(&self) -> RwLockReadGuard<'_, Database> {
        // The lock guards no invariant of ours (redb keeps its own state consistent), so a
        // panic elsewhere while it was held leaves nothing to repair.
        self.db.read().unwrap_or_else(|e| e.into_inner())
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // `unsynced` is only ever set after a commit returned, so a panic cannot leave it
        // claiming less than is pending.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Maps a redb error raised while doing `what` (for `map_err`).
    fn err<E: Into<redb::Error>>(&self, what: &str) -> impl FnOnce(E) -> Error + '_ {
        let what = what.to_owned();
        move |e| error::map(e, &what, &self.file)
    }

    /// A read transaction and its count (see [`ReadTracker`]); keep the [`LiveRead`] until
    /// nothing read from the transaction is in use.
    fn begin_read(&self) -> Result<(ReadTransaction, LiveRead)> {
        let _begin = self.reads.begin.read().unwrap_or_else(|e| e.into_inner());
        self.reads.live.fetch_add(1, Ordering::AcqRel);
        let live = LiveRead(self.reads.clone());
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| error::map(e, "beginning a read transaction", &self.file))?;
        Ok((txn, live))
    }

    fn begin_write(&self, durability: Durability) -> Result<WriteTransaction> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| error::map(e, "beginning a write transaction", &self.file))?;
        txn.set_durability(durability)
            .map_err(|e| error::map(e, "setting the commit durability", &self.file))?;
        Ok(txn)
    }

    /// Makes every `Durability::None` commit durable with an empty durable commit; nothing to
    /// do when none is pending. The caller holds the writer.
    fn make_durable(&self, writer: &mut Writer, what: &str) -> Result<()> {
        if !writer.unsynced {
            return Ok(());
        }
        let txn = self.begin_write(Durability::Immediate)?;
        txn.commit().map_err(|e| {
            error::map(
                e,
                &format!("{what}: the durable commit failed, so unsynced writes may or may not survive a crash"),
                &self.file,
            )
        })?;
        writer.unsynced = false;
        Ok(())
    }

    /// Applies `ops` inside `txn`, each CF's table opened on first use.
    fn apply(&self, txn: &WriteTransaction, ops: &[BatchOp]) -> Result<()> {
        let mut tables: Vec<Option<redb::Table<'_, Bytes, Bytes>>> =
            (0..self.cfs.len()).map(|_| None).collect();
        for op in ops {
            let cf = match op {
                BatchOp::Put { cf, .. }
                | BatchOp::Delete { cf, .. }
                | BatchOp::DeleteRange { cf, .. } => *cf,
            };
            let name = &self.cfs[cf];
            let slot = &mut tables[cf];
            if slot.is_none() {
                *slot = Some(
                    txn.open_table(table(name))
                        .map_err(self.err(&format!("opening CF {name:?} for writing")))?,
                );
            }
            let t = slot.as_mut().expect("opened above");
            match op {
                BatchOp::Put { key, value, .. } => {
                    t.insert(key.as_slice(), value.as_slice())
                        .map_err(self.err(&format!("put into {name:?} of {}", display_key(key))))?;
                }
                BatchOp::Delete { key, .. } => {
                    t.remove(key.as_slice()).map_err(
                        self.err(&format!("delete from {name:?} of {}", display_key(key))),
                    )?;
                }
                BatchOp::DeleteRange { start, end, .. } => {
                    if start < end {
                        t.retain_in::<&[u8], _>(start.as_slice()..end.as_slice(), |_, _| false)
                            .map_err(self.err(&format!(
                                "delete_range in {name:?} of [{}, {})",
                                display_key(start),
                                display_key(end)
                            )))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Opens (or creates) the file and returns it with the backend counters.
    ///
    /// A new database is built under [`CREATING_FILE`], with its CF tables in one durable
    /// commit, and renamed into place: redb writes its header in several steps, and a crash
    /// between them left a `data.redb` that every later open refused ("Not a redb database:
    /// magic number mismatch"; the crash suite's abort at `redb::backend::sync`, cycle 0).
    /// A leftover [`CREATING_FILE`] never held an acknowledged write (open had not returned),
    /// so it is removed.
    fn open_database(
        config: &EngineConfig,
        file: &Path,
        cfs: &[String],
    ) -> Result<(Database, Arc<IoCounters>)> {
        let dir = &config.path;
        let creating = dir.join(CREATING_FILE);
        match std::fs::remove_file(&creating) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(e, &creating)),
        }
        let exists = match std::fs::metadata(file) {
            Ok(meta) if meta.is_file() => true,
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{} is not a redb file (it is a directory)",
                    file.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io(e, file)),
        };
        if !exists {
            if !config.create_if_missing {
                return Err(Error::invalid(format!(
                    "no redb database at {} and create_if_missing is false",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
            let (db, _) = Self::database_on(&creating, true, Arc::default())?;
            Self::create_missing_tables(&db, cfs, &creating)?;
            drop(db);
            std::fs::File::open(&creating)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(e, &creating))?;
            std::fs::rename(&creating, file).map_err(|e| Error::io(e, file))?;
            // The rename must be durable before anything written into the file can be.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(e, dir))?;
        }
        Self::database_on(file, false, Arc::default())
    }

    /// redb on `file` through the counting backend (`create`: a new file).
    fn database_on(
        file: &Path,
        create: bool,
        counters: Arc<IoCounters>,
    ) -> Result<(Database, Arc<IoCounters>)> {
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create)
            .open(file)
            .map_err(|e| Error::io(e, file))?;
        let backend = CountingBackend::new(
            FileBackend::new(handle).map_err(|e| error::map(e, "opening the file", file))?,
            counters.clone(),
        );
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(|e| error::map(e, "opening the database", file))?;
        Ok((db, counters))
    }

    /// Creates the tables of the CFs the file does not have yet, in one durable commit.
    fn create_missing_tables(db: &Database, cfs: &[String], file: &Path) -> Result<()> {
        let txn = db
            .begin_read()
            .map_err(|e| error::map(e, "listing the CF tables", file))?;
        let existing: Vec<String> = txn
            .list_tables()
            .map_err(|e| error::map(e, "listing the CF tables", file))?
            .map(|t| t.name().to_owned())
            .collect();
        drop(txn);
        let missing: Vec<&String> = cfs.iter().filter(|cf| !existing.contains(cf)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let txn = db
            .begin_write()
            .map_err(|e| error::map(e, "creating the CF tables", file))?;
        for cf in missing {
            txn.open_table(table(cf))
                .map_err(|e| error::map(e, &format!("creating the table of CF {cf:?}"), file))?;
        }
        txn.commit()
            .map_err(|e| error::map(e, "creating the CF tables", file))
    }

    /// The path of the redb file.
    pub fn file(&self) -> &Path {
        &self.file
    }
}

impl Readable for RedbEngine {
    type Iterator<'a> = RedbIterator;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = cf_index(&self.cfs, cf)?;
        let (txn, live) = self.begin_read()?;
        let t = txn
            .open_table(table(&self.cfs[i]))
            .map_err(self.err(&format!("opening CF {cf:?}")))?;
        let value = t
            .get(key)
            .map_err(self.err(&format!("get from {cf:?} of {}", display_key(key))))?
            .map(|v| v.value().to_vec());
        drop((t, txn, live));
        Ok(value)
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<RedbIterator> {
        let i = cf_index(&self.cfs, cf)?;
        opts.check()?;
        let (txn, live) = self.begin_read()?;
        let t = txn
            .open_table(table(&self.cfs[i]))
            .map_err(self.err(&format!("opening CF {cf:?}")))?;
        RedbIterator::new(t, cf, self.file.clone(), opts, self.prefix_len, Some(live))
    }
}

impl Readable for RedbSnapshot {
    type Iterator<'a> = RedbIterator;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = cf_index(&self.cfs, cf)?;
        let value = self.tables[i].get(key).map_err(|e| {
            error::map(
                e,
                &format!("snapshot get from {cf:?} of {}", display_key(key)),
                &self.file,
            )
        })?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<RedbIterator> {
        let i = cf_index(&self.cfs, cf)?;
        opts.check()?;
        let t = self
            .txn
            .open_table(table(&self.cfs[i]))
            .map_err(|e| error::map(e, &format!("opening CF {cf:?} of a snapshot"), &self.file))?;
        RedbIterator::new(t, cf, self.file.clone(), opts, self.prefix_len, None)
    }
}

impl KvEngine for RedbEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        checkpoint: true,
        bulk_ingest: true,
        manual_compaction: true,
        statistics: true,
        prefix_seek: true,
    };

    type Snapshot<'a> = RedbSnapshot;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        if let Some(profile) = &config.profile {
            return Err(Error::invalid(format!(
                "engine redb has no options profiles, got profile {profile:?}"
            )));
        }
        if config.prefix_len == Some(0) {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        let cfs: Arc<[String]> = config.cf_list()?.into();
        let file: PathBuf = config.path.join(DATA_FILE);
        let (db, io) = Self::open_database(config, &file, &cfs)?;
        Self::create_missing_tables(&db, &cfs, &file)?;
        Ok(RedbEngine {
            db: RwLock::new(db),
            cfs,
            prefix_len: config.prefix_len,
            file: file.into(),
            writer: Mutex::new(Writer::default()),
            io,
            user_bytes_written: AtomicU64::new(0),
            reads: Arc::default(),
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
        fail_point(WRITE_START_SITE)?;
        batch.check_cfs(&self.cfs)?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer();
        // A non-durable commit holds this through the commit, so no read begins between the
        // count and the commit. A durable one lets it go at once: redb's durable path frees
        // only pages no live read can reach, and readers must not wait out its fsync.
        let mut no_new_reads = Some(self.reads.begin.write().unwrap_or_else(|e| e.into_inner()));
        let durable = opts.sync || self.reads.live.load(Ordering::Acquire) > 0;
        let durability = if durable {
            no_new_reads = None;
            Durability::Immediate
        } else {
            Durability::None
        };
        let txn = self.begin_write(durability)?;
        // On an error the transaction is dropped uncommitted, which aborts it: nothing of the
        // batch is applied.
        self.apply(&txn, batch.ops())?;
        fail_point(COMMIT_SITE)?;
        txn.commit().map_err(|e| {
            error::map(
                e,
                "commit failed after it began writing, so the batch may or may not be present \
                 after a reopen",
                &self.file,
            )
        })?;
        drop(no_new_reads);
        // A durable commit makes every earlier commit durable too.
        writer.unsynced = !durable;
        self.user_bytes_written
            .fetch_add(batch.data_size() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn snapshot(&self) -> Result<RedbSnapshot> {
        let (txn, live) = self.begin_read()?;
        let tables = self
            .cfs
            .iter()
            .map(|cf| {
                txn.open_table(table(cf)).map_err(|e| {
                    error::map(e, &format!("opening CF {cf:?} for a snapshot"), &self.file)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RedbSnapshot {
            cfs: self.cfs.clone(),
            tables,
            txn,
            prefix_len: self.prefix_len,
            file: self.file.clone(),
            _live: live,
        })
    }

    fn sync(&self) -> Result<()> {
        let mut writer = self.writer();
        self.make_durable(&mut writer, "sync")
    }

    fn flush(&self) -> Result<()> {
        // redb has no memtable: a Durability::None commit lives in its in-memory header (and
        // partly in its write buffer) until a durable commit writes it out. Persisting it to
        // the file is therefore the same durable commit as `sync`.
        let mut writer = self.writer();
        self.make_durable(&mut writer, "flush")
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

impl Statistics for RedbEngine {
    fn statistics(&self) -> Result<EngineStats> {
        let disk_size = std::fs::metadata(&self.file)
            .map_err(|e| Error::io(e, self.file.to_path_buf()))?
            .len();
        let (txn, _live) = self.begin_read()?;
        let mut live_data_size = 0;
        for cf in self.cfs.iter() {
            let t = txn
                .open_table(table(cf))
                .map_err(self.err(&format!("opening CF {cf:?} for statistics")))?;
            live_data_size += t
                .stats()
                .map_err(self.err(&format!("statistics of CF {cf:?}")))?
                .stored_bytes();
        }
        Ok(EngineStats {
            disk_size,
            live_data_size,
            user_bytes_written: self.user_bytes_written.load(Ordering::Relaxed),
            engine_bytes_written: self.io.bytes_written.load(Ordering::Relaxed),
        })
    }
}

impl Drop for RedbEngine {
    fn drop(&mut self) {
        // A clean close keeps every acknowledged write, unsynced ones included. redb's own close
        // would make a pending non-durable commit durable too; doing it here says so in one
        // place. An error cannot be returned from drop: the writes stay where a crash would
        // leave them (all of them before the last durable commit, none after).
        let mut writer = std::mem::take(self.writer.get_mut().unwrap_or_else(|e| e.into_inner()));
        let _ = self.make_durable(&mut writer, "close");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a crash in the middle of creating a database leaves: the half-built file under
    /// its temporary name, and no `data.redb`. The next open starts afresh.
    #[test]
    fn a_database_whose_creation_was_cut_short_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CREATING_FILE), b"redb header, half written").unwrap();
        let e = RedbEngine::open(&EngineConfig::new(dir.path())).unwrap();
        e.put("default", b"k", b"v").unwrap();
        assert!(!dir.path().join(CREATING_FILE).exists());
        drop(e);
        let e = RedbEngine::open(&EngineConfig::new(dir.path())).unwrap();
        assert_eq!(e.get("default", b"k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn the_published_catalog_lists_exactly_the_failpoint_sites() {
        let catalog: Vec<String> = failpoints::catalog(env!("CARGO_MANIFEST_DIR"))
            .into_iter()
            .map(|site| site.name)
            .collect();
        assert_eq!(catalog, FAILPOINTS.map(str::to_owned));
    }

    #[test]
    fn declared_capabilities_have_accessors() {
        let dir = tempfile::tempdir().unwrap();
        let e = RedbEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
        assert!(e.as_checkpoint().is_some() && RedbEngine::CAPABILITIES.checkpoint);
        assert!(e.as_statistics().is_some() && RedbEngine::CAPABILITIES.statistics);
    }
}
