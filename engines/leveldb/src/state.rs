//! Everything of one rusty-leveldb handle, kept behind the engine's one mutex: the `DB`, the
//! snapshots and iterators handed out, and the guard around rusty-leveldb's snapshot list.

use std::collections::HashMap;
use std::rc::Rc;

use rusty_leveldb::{DB, DBIterator, LdbIterator, WriteBatch};

use crate::keys::PAD_KEY;

/// A rusty-leveldb snapshot. Its type is not exported by the crate (`DB::get_snapshot`
/// returns a type of a private module), so it is held by the closure that uses it; dropping
/// the last `Rc` releases it.
pub(crate) struct Snapshot {
    iter_at: Box<IterAt>,
}

/// Makes an iterator at one snapshot.
type IterAt = dyn Fn(&mut DB) -> rusty_leveldb::Result<DBIterator>;

/// Takes a rusty-leveldb snapshot; returns it with its sequence number.
fn take(db: &mut DB) -> (Rc<Snapshot>, u64) {
    let snapshot = db.get_snapshot();
    let sequence = snapshot.sequence();
    let held = Snapshot {
        iter_at: Box::new(move |db| db.new_iter_at(snapshot.clone())),
    };
    (Rc::new(held), sequence)
}

/// The handle and what hangs off it. Only ever reached through `Mutex<State>`.
pub(crate) struct State {
    pub(crate) db: DB,
    /// The snapshots handed out (`LeveldbSnapshot` holds the id).
    snapshots: HashMap<u64, Rc<Snapshot>>,
    /// The iterators handed out (`LeveldbIterator` holds the id).
    iters: HashMap<u64, DBIterator>,
    next_id: u64,
    /// How many times `DB::get_snapshot` was called on this handle: rusty-leveldb numbers its
    /// snapshots 1, 2, 3, ... in this order.
    handles_taken: u64,
    /// The database's last sequence number, once a snapshot has told it; kept current by
    /// adding each written batch's count.
    last_seq: Option<u64>,
    /// A snapshot at `last_seq`, reused until the next write.
    latest: Option<Rc<Snapshot>>,
    /// An iterator at `latest` for point reads, reused until the next write.
    reader: Option<DBIterator>,
}

// SAFETY: rusty-leveldb's `DB`, its snapshots and its `DBIterator`s share `Rc`s and
// `RefCell`s among themselves (options, the version set, the snapshot list, memtables, table
// handles), which is why only `DB` carries an (upstream) `unsafe impl Send`; this module adds
// `Rc<Snapshot>`s of its own. Every one of those objects this crate creates lives inside one
// `State`, and a `State` is only ever reached through the engine's `Mutex<State>`: no `Rc` is
// cloned, dropped or dereferenced except by the thread holding the lock, so the reference
// counts and cells are never touched by two threads at once, and moving them between threads
// (which is all `Send` allows) is harmless. Nothing `Rc`-based leaves the lock: keys and
// values are copied out, the `Env` is reached only through the `Rc` inside `DB`, and what it
// shares with the engine (`Health`) is an `Arc` of a mutex and an atomic. rusty-leveldb keeps
// no thread-local state and spawns no threads (its async front ends are not compiled in).
unsafe impl Send for State {}

impl State {
    pub(crate) fn new(db: DB) -> State {
        State {
            db,
            snapshots: HashMap::new(),
            iters: HashMap::new(),
            next_id: 1,
            handles_taken: 0,
            last_seq: None,
            latest: None,
            reader: None,
        }
    }

    /// Writes `batch`, keeping the sequence bookkeeping.
    pub(crate) fn write(&mut self, batch: WriteBatch, sync: bool) -> rusty_leveldb::Result<()> {
        let entries = u64::from(batch.count());
        self.latest = None;
        self.reader = None;
        self.db.write(batch, sync)?;
        if let Some(seq) = self.last_seq.as_mut() {
            *seq += entries;
        }
        Ok(())
    }

    /// A snapshot of the current state, safe from rusty-leveldb's snapshot-list bug.
    ///
    /// rusty-leveldb 4.0.2 tells compaction the oldest live snapshot's *handle number*
    /// (1, 2, 3, ... per handle) where it means its *sequence number* (`SnapshotList::oldest`
    /// folds over the map's keys), and compaction drops every version older than a newer one
    /// at or below that number. A snapshot whose handle number exceeds its sequence number
    /// therefore loses versions it should see (`tests/upstream.rs`). So each handle is taken
    /// at a sequence number at least as large: a snapshot is reused while no write happened
    /// (one new handle per distinct sequence number), and when the sequence number is still
    /// below the next handle number (a young database), deletes of an internal key pad it.
    /// Compaction then keeps strictly more than it needs to, never less.
    pub(crate) fn take_snapshot(&mut self) -> rusty_leveldb::Result<Rc<Snapshot>> {
        if let Some(s) = &self.latest {
            return Ok(s.clone());
        }
        let next_handle = self.handles_taken + 1;
        let pad = match self.last_seq {
            Some(seq) => next_handle.saturating_sub(seq),
            // Unknown until the first snapshot: one entry makes it at least 1.
            None => 1,
        };
        if pad > 0 {
            let mut batch = WriteBatch::default();
            for _ in 0..pad {
                batch.delete(PAD_KEY);
            }
            self.write(batch, false)?;
        }
        let (snapshot, sequence) = take(&mut self.db);
        self.handles_taken += 1;
        debug_assert!(sequence >= self.handles_taken);
        self.last_seq = Some(sequence);
        self.latest = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Keeps `snapshot` for a `LeveldbSnapshot`; returns its id.
    pub(crate) fn add_snapshot(&mut self, snapshot: Rc<Snapshot>) -> u64 {
        let id = self.fresh_id();
        self.snapshots.insert(id, snapshot);
        id
    }

    pub(crate) fn snapshot(&self, id: u64) -> Rc<Snapshot> {
        self.snapshots
            .get(&id)
            .expect("a LeveldbSnapshot's snapshot lives until it is dropped")
            .clone()
    }

    pub(crate) fn release_snapshot(&mut self, id: u64) {
        self.snapshots.remove(&id);
    }

    /// The value of the stored key `key` now.
    ///
    /// Not `DB::get`: rusty-leveldb's table lookup takes a tombstone of the *next* key in a
    /// newer table for a deletion of `key` and answers "missing" (`tests/upstream.rs`). A
    /// forward seek is sound, so a point read is a seek on an iterator at the current state,
    /// kept until the next write: O(one seek) while reads follow reads, plus one iterator
    /// (a source per level-0 table and per level) after each write.
    pub(crate) fn get(&mut self, key: &[u8]) -> rusty_leveldb::Result<Option<Vec<u8>>> {
        if self.reader.is_none() {
            let snapshot = self.take_snapshot()?;
            self.reader = Some((snapshot.iter_at)(&mut self.db)?);
        }
        let reader = self.reader.as_mut().expect("made above");
        Ok(value_at(reader, key))
    }

    /// The value of the stored key `key` at a kept snapshot: a seek on a new iterator there.
    pub(crate) fn get_at(&mut self, id: u64, key: &[u8]) -> rusty_leveldb::Result<Option<Vec<u8>>> {
        let snapshot = self.snapshot(id);
        let mut it = (snapshot.iter_at)(&mut self.db)?;
        Ok(value_at(&mut it, key))
    }

    /// An iterator at `snapshot`, kept for a `LeveldbIterator`; returns its id.
    pub(crate) fn add_iter(&mut self, snapshot: &Snapshot) -> rusty_leveldb::Result<u64> {
        let it = (snapshot.iter_at)(&mut self.db)?;
        let id = self.fresh_id();
        self.iters.insert(id, it);
        Ok(id)
    }

    pub(crate) fn iter_mut(&mut self, id: u64) -> &mut DBIterator {
        self.iters
            .get_mut(&id)
            .expect("a LeveldbIterator's iterator lives until it is dropped")
    }

    pub(crate) fn release_iter(&mut self, id: u64) {
        self.iters.remove(&id);
    }

    /// Drops the point-read iterator before a flush or compaction: it would keep reading the
    /// tables of the version it was made at.
    pub(crate) fn forget_reader(&mut self) {
        self.reader = None;
    }

    /// The stored keys in `[lo, hi)` at the current state (for `delete_range`).
    pub(crate) fn keys_in(&mut self, lo: &[u8], hi: &[u8]) -> rusty_leveldb::Result<Vec<Vec<u8>>> {
        let snapshot = self.take_snapshot()?;
        let mut it = (snapshot.iter_at)(&mut self.db)?;
        let mut out = Vec::new();
        it.seek(lo);
        while let Some((k, _)) = it.current() {
            if k.as_ref() >= hi {
                break;
            }
            out.push(k.to_vec());
            if !it.advance() {
                break;
            }
        }
        Ok(out)
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// The value of `key` where `it` sees the database, by one seek.
fn value_at(it: &mut DBIterator, key: &[u8]) -> Option<Vec<u8>> {
    it.seek(key);
    if !it.valid() {
        return None;
    }
    it.current()
        .filter(|(k, _)| k.as_ref() == key)
        .map(|(_, v)| v.to_vec())
}
