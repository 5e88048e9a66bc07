//! The bounded, bidirectional iterator over one CF, on an LMDB cursor.
//!
//! heed offers cursors as forward ranges (`RoRange`) and backward ranges (`RoRevRange`): the
//! iterator keeps the one it last moved with, so a run of `next` (or of `prev`) costs one
//! `MDB_NEXT` (`MDB_PREV`) each, and a change of direction or a seek opens a new range at the
//! current LMDB key (one B-tree descent). Keys and values are slices of the memory map, valid
//! while the read transaction lives; nothing is copied except the keys of group entries,
//! which are rebuilt as prefix ++ suffix (see `layout.rs`).
//!
//! Every call into a cursor holds the transaction's lock (`read.rs`), because a snapshot may
//! be iterated from several threads at once. The cursor cannot name that lock's lifetime, so
//! it is stored with the lifetime of the iterator's borrow (`'a`); `LmdbIterator::with_txn`
//! is the one place that lends it, under the lock, and `Drop` closes the cursor under the
//! lock before the transaction can end.

use std::borrow::Cow;
use std::ops::Bound;
use std::path::Path;

use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, IterOptions, Result};
use heed::types::Bytes;
use heed::{RoRange, RoRevRange, RoTxn};

use crate::error::map_heed;
use crate::layout::{Layout, decode_group};
use crate::read::ReadTxn;

/// One CF's LMDB database: raw bytes in, raw bytes out.
pub(crate) type Db = heed::Database<'static, Bytes, Bytes>;

/// The read transaction an iterator reads through: its own (engine iterators) or its
/// snapshot's.
pub(crate) enum TxnHolder<'a> {
    Owned(ReadTxn<'a>),
    Shared(&'a ReadTxn<'a>),
}

impl<'a> TxnHolder<'a> {
    fn get(&self) -> &ReadTxn<'a> {
        match self {
            TxnHolder::Owned(t) => t,
            TxnHolder::Shared(t) => t,
        }
    }
}

/// Where the CF and its files are, for error messages, and how keys are laid out.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    pub(crate) db: Db,
    pub(crate) cf: &'a str,
    pub(crate) layout: Layout,
    pub(crate) data_file: &'a Path,
    pub(crate) prefix_len: Option<usize>,
}

enum Stream<'a> {
    Forward(RoRange<'a, Bytes, Bytes>),
    Backward(RoRevRange<'a, Bytes, Bytes>),
}

/// The iterator's position, separate from the transaction so a movement can borrow both.
struct State<'a> {
    src: Source<'a>,
    opts: IterOptions,
    /// The prefix fixed by the last seek in prefix mode.
    prefix: Option<Vec<u8>>,
    stream: Option<Stream<'a>>,
    /// The LMDB key the stream returned last: while `idx` is `Some`, the current entry's.
    at: Option<&'a [u8]>,
    /// The user keys and values of the current LMDB entry (one, or a group's, in order).
    items: Vec<(Cow<'a, [u8]>, &'a [u8])>,
    /// The current item; `None` when the iterator is not valid.
    idx: Option<usize>,
}

type Hit<'a> = Option<(&'a [u8], &'a [u8])>;

impl<'a> State<'a> {
    fn lmdb_err(&self, err: heed::Error) -> Error {
        map_heed(
            err,
            &format!("iterating column family {:?}", self.src.cf),
            self.src.data_file,
        )
    }

    fn step(&mut self) -> Result<Hit<'a>> {
        let next = match &mut self.stream {
            Some(Stream::Forward(r)) => r.next(),
            Some(Stream::Backward(r)) => r.next(),
            None => None,
        };
        let hit = next.transpose().map_err(|e| self.lmdb_err(e))?;
        self.at = hit.map(|(k, _)| k);
        Ok(hit)
    }

    /// Opens a new range from `bound` (forward: keys after it; backward: keys before it) and
    /// returns its first entry.
    fn restart(&mut self, txn: &'a RoTxn, forward: bool, bound: Bound<&[u8]>) -> Result<Hit<'a>> {
        self.stream = None; // close the old cursor before opening the next
        let stream = if forward {
            self.src
                .db
                .range(txn, &(bound, Bound::Unbounded))
                .map(Stream::Forward)
        } else {
            self.src
                .db
                .rev_range(txn, &(Bound::Unbounded, bound))
                .map(Stream::Backward)
        };
        self.stream = Some(stream.map_err(|e| self.lmdb_err(e))?);
        self.step()
    }

    fn next_entry(&mut self, txn: &'a RoTxn) -> Result<Hit<'a>> {
        match (&self.stream, self.at) {
            (Some(Stream::Forward(_)), _) => self.step(),
            (_, Some(at)) => self.restart(txn, true, Bound::Excluded(at)),
            (_, None) => Ok(None),
        }
    }

    fn prev_entry(&mut self, txn: &'a RoTxn) -> Result<Hit<'a>> {
        match (&self.stream, self.at) {
            (Some(Stream::Backward(_)), _) => self.step(),
            (_, Some(at)) => self.restart(txn, false, Bound::Excluded(at)),
            (_, None) => Ok(None),
        }
    }

    /// Expands the LMDB entry `(key, value)` into `items`.
    fn load(&mut self, key: &'a [u8], value: &'a [u8]) -> Result<()> {
        let corrupt = |msg: String| {
            Error::corruption(
                format!("column family {:?}: {msg}", self.src.cf),
                Some(self.src.data_file.to_path_buf()),
                None,
            )
        };
        let user_key = self.src.layout.user_key(key).map_err(corrupt)?;
        self.items.clear();
        if self.src.layout.is_group_entry(key) {
            for (rest, v) in decode_group(value).map_err(corrupt)? {
                self.items.push((Cow::Owned([user_key, rest].concat()), v));
            }
        } else {
            self.items.push((Cow::Borrowed(user_key), value));
        }
        Ok(())
    }

    /// Lands on the first key `>= x` (`> x` unless `inclusive`). Entries after the one holding
    /// `x`'s LMDB key hold only keys above `x` (see `layout.rs`), so only the first is filtered.
    fn first_from(&mut self, txn: &'a RoTxn, x: &[u8], inclusive: bool) -> Result<()> {
        let start = self.src.layout.lmdb_key(x);
        let mut hit = self.restart(txn, true, Bound::Included(&start))?;
        while let Some((k, v)) = hit {
            self.load(k, v)?;
            let found = self.items.iter().position(|(key, _)| {
                if inclusive {
                    key.as_ref() >= x
                } else {
                    key.as_ref() > x
                }
            });
            if found.is_some() {
                self.idx = found;
                return Ok(());
            }
            hit = self.step()?;
        }
        self.idx = None;
        Ok(())
    }

    /// Lands on the last key `<= x` (`< x` unless `inclusive`).
    fn last_before(&mut self, txn: &'a RoTxn, x: &[u8], inclusive: bool) -> Result<()> {
        let start = self.src.layout.lmdb_key(x);
        let mut hit = self.restart(txn, false, Bound::Included(&start))?;
        while let Some((k, v)) = hit {
            self.load(k, v)?;
            let found = self.items.iter().rposition(|(key, _)| {
                if inclusive {
                    key.as_ref() <= x
                } else {
                    key.as_ref() < x
                }
            });
            if found.is_some() {
                self.idx = found;
                return Ok(());
            }
            hit = self.step()?;
        }
        self.idx = None;
        Ok(())
    }

    /// Lands on the first item of `hit` or of an entry after it (`forward`), or on the last
    /// item of `hit` or of an entry before it.
    fn land_on(&mut self, txn: &'a RoTxn, mut hit: Hit<'a>, forward: bool) -> Result<()> {
        while let Some((k, v)) = hit {
            self.load(k, v)?;
            if !self.items.is_empty() {
                self.idx = Some(if forward { 0 } else { self.items.len() - 1 });
                return Ok(());
            }
            hit = if forward {
                self.next_entry(txn)?
            } else {
                self.prev_entry(txn)?
            };
        }
        self.idx = None;
        Ok(())
    }

    fn current(&self) -> Option<&(Cow<'a, [u8]>, &'a [u8])> {
        self.idx.map(|i| &self.items[i])
    }

    /// Invalidates the iterator when it stands outside its bounds or prefix; returns validity.
    fn settle(&mut self) -> bool {
        let inside = self.current().is_some_and(|(key, _)| {
            self.opts.contains(key) && self.prefix.as_ref().is_none_or(|p| key.starts_with(p))
        });
        if !inside {
            self.idx = None;
        }
        inside
    }

    fn set_prefix(&mut self, key: &[u8]) {
        if self.opts.prefix_same_as_start {
            let n = self.src.prefix_len.unwrap_or(0).min(key.len());
            self.prefix = Some(key[..n].to_vec());
        }
    }

    fn not_in_prefix_mode(&self, what: &str) -> Result<()> {
        if self.opts.prefix_same_as_start {
            return Err(Error::invalid(format!(
                "{what} is undefined with prefix_same_as_start"
            )));
        }
        Ok(())
    }

    fn require_valid(&self, what: &str) -> Result<usize> {
        self.idx
            .ok_or_else(|| Error::invalid(format!("{what}() called on an invalid iterator")))
    }
}

/// An iterator over one CF of the engine or of a snapshot; see the module doc.
pub struct LmdbIterator<'a> {
    state: State<'a>,
    txn: TxnHolder<'a>,
}

impl<'a> LmdbIterator<'a> {
    /// An unpositioned iterator; `opts` must have been checked.
    pub(crate) fn new(src: Source<'a>, opts: IterOptions, txn: TxnHolder<'a>) -> Self {
        LmdbIterator {
            state: State {
                src,
                opts,
                prefix: None,
                stream: None,
                at: None,
                items: Vec::new(),
                idx: None,
            },
            txn,
        }
    }

    /// Runs one movement with the transaction locked.
    fn with_txn(&mut self, f: impl FnOnce(&mut State<'a>, &'a RoTxn) -> Result<()>) -> Result<()> {
        let guard = self.txn.get().lock();
        let txn: &RoTxn = std::ops::Deref::deref(&*guard);
        let txn = std::ptr::from_ref(txn);
        // SAFETY: the reference is used only while `guard` holds the lock, which serialises
        // every LMDB call on this transaction. What it creates (a cursor, inside a range) is
        // kept past the lock, but is only used inside later `with_txn` calls and is closed in
        // `Drop` under the lock; the transaction itself lives in `self.txn` (or in the
        // snapshot `'a` borrows) and ends only after `self` is gone. Slices a cursor returns
        // point into the memory map, which LMDB keeps unchanged and mapped while the read
        // transaction is open (the map is only resized with no transaction live, `read.rs`).
        let txn: &'a RoTxn = unsafe { &*txn };
        f(&mut self.state, txn)
    }
}

impl Drop for LmdbIterator<'_> {
    fn drop(&mut self) {
        let _guard = self.txn.get().lock();
        self.state.stream = None;
    }
}

impl EngineIterator for LmdbIterator<'_> {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.state.set_prefix(key);
        let target = match &self.state.opts.lower_bound {
            Some(lower) if lower.as_slice() > key => lower.clone(),
            _ => key.to_vec(),
        };
        self.with_txn(|s, txn| s.first_from(txn, &target, true))?;
        Ok(self.state.settle())
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.state.set_prefix(key);
        let (target, inclusive) = match &self.state.opts.upper_bound {
            Some(upper) if upper.as_slice() <= key => (upper.clone(), false),
            _ => (key.to_vec(), true),
        };
        self.with_txn(|s, txn| s.last_before(txn, &target, inclusive))?;
        Ok(self.state.settle())
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.state.not_in_prefix_mode("seek_to_first")?;
        match self.state.opts.lower_bound.clone() {
            Some(lower) => self.with_txn(|s, txn| s.first_from(txn, &lower, true))?,
            None => self.with_txn(|s, txn| {
                let hit = s.restart(txn, true, Bound::Unbounded)?;
                s.land_on(txn, hit, true)
            })?,
        }
        Ok(self.state.settle())
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.state.not_in_prefix_mode("seek_to_last")?;
        match self.state.opts.upper_bound.clone() {
            Some(upper) => self.with_txn(|s, txn| s.last_before(txn, &upper, false))?,
            None => self.with_txn(|s, txn| {
                let hit = s.restart(txn, false, Bound::Unbounded)?;
                s.land_on(txn, hit, false)
            })?,
        }
        Ok(self.state.settle())
    }

    fn next(&mut self) -> Result<bool> {
        let i = self.state.require_valid("next")?;
        if i + 1 < self.state.items.len() {
            self.state.idx = Some(i + 1);
        } else {
            self.with_txn(|s, txn| {
                let hit = s.next_entry(txn)?;
                s.land_on(txn, hit, true)
            })?;
        }
        Ok(self.state.settle())
    }

    fn prev(&mut self) -> Result<bool> {
        let i = self.state.require_valid("prev")?;
        if i > 0 {
            self.state.idx = Some(i - 1);
        } else {
            self.with_txn(|s, txn| {
                let hit = s.prev_entry(txn)?;
                s.land_on(txn, hit, false)
            })?;
        }
        Ok(self.state.settle())
    }

    fn valid(&self) -> bool {
        self.state.idx.is_some()
    }

    fn key(&self) -> &[u8] {
        &self.state.current().expect(INVALID_ITERATOR_PANIC).0
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(
            self.state.current().expect(INVALID_ITERATOR_PANIC).1,
        ))
    }
}

impl std::fmt::Debug for LmdbIterator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmdbIterator")
            .field("cf", &self.state.src.cf)
            .field("valid", &self.state.idx.is_some())
            .finish_non_exhaustive()
    }
}
