//! Read transactions that every thread may use, and the gate that lets the map grow.
//!
//! An LMDB read transaction pins a version of the B-trees; its pages stay untouched while it
//! lives, so keys and values are read straight from the memory map with no copy. Two LMDB
//! rules shape this module:
//!
//! - A transaction (and its cursors) must not be used by two threads at once, even read-only
//!   (heed withdrew `RoTxn: Sync` for that reason). Our snapshots must be `Sync`, so a
//!   [`ReadTxn`] keeps its transaction in a `Mutex` and every LMDB call on it holds the lock.
//!   The environment is opened with `MDB_NOTLS` (heed's `WithoutTls`), so a transaction is
//!   not tied to the thread that began it and a thread may hold many.
//! - `mdb_env_set_mapsize` (growing the map when it is full) is only allowed while no
//!   transaction is active in the process; LMDB does not check. [`ReaderGate`] counts live read
//!   transactions, and the writer grows the map only under its exclusive side with the count
//!   at zero.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use heed::{RoTxn, WithoutTls};

/// Counts live read transactions (and online copies, which hold one inside LMDB).
#[derive(Debug, Default)]
pub(crate) struct ReaderGate {
    /// Readers take it shared to register; the map resize takes it exclusive.
    gate: RwLock<()>,
    live: AtomicUsize,
}

/// One registered reader; unregisters when dropped.
#[derive(Debug)]
pub(crate) struct ReaderSlot<'g> {
    gate: &'g ReaderGate,
}

impl ReaderGate {
    /// Registers a reader. Call it before beginning the transaction and drop the slot after
    /// the transaction has ended.
    pub(crate) fn enter(&self) -> ReaderSlot<'_> {
        // The count only grows under the shared lock, so a resizer holding the exclusive lock
        // sees every reader that may begin a transaction before it releases.
        let _shared = self.gate.read().unwrap_or_else(|e| e.into_inner());
        self.live.fetch_add(1, Ordering::SeqCst);
        ReaderSlot { gate: self }
    }

    /// Runs `f` with no read transaction live and none able to begin, waiting up to `wait`
    /// for the live ones to end. `None` when they did not (the caller may hold one itself).
    pub(crate) fn exclusive<R>(&self, wait: Duration, f: impl FnOnce() -> R) -> Option<R> {
        let _exclusive = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + wait;
        while self.live.load(Ordering::SeqCst) != 0 {
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Some(f())
    }

    /// How many readers are registered now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

impl Drop for ReaderSlot<'_> {
    fn drop(&mut self) {
        self.gate.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A read transaction any thread may use, one LMDB call at a time.
pub(crate) struct ReadTxn<'g> {
    // Field order is drop order: the transaction ends (mdb_txn_abort) before the slot says so.
    txn: Mutex<RoTxn<'static, WithoutTls>>,
    _slot: ReaderSlot<'g>,
}

impl<'g> ReadTxn<'g> {
    pub(crate) fn new(txn: RoTxn<'static, WithoutTls>, slot: ReaderSlot<'g>) -> Self {
        ReadTxn {
            txn: Mutex::new(txn),
            _slot: slot,
        }
    }

    /// The transaction, locked for this thread.
    pub(crate) fn lock(&self) -> MutexGuard<'_, RoTxn<'static, WithoutTls>> {
        // A panic inside an LMDB read call leaves the read transaction as valid as before.
        self.txn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for ReadTxn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadTxn").finish_non_exhaustive()
    }
}
