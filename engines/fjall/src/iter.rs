//! A cursor with `seek`/`next`/`prev` over fjall's range iterators.
//!
//! fjall iterates a range at a snapshot as a `DoubleEndedIterator`: it has no cursor to
//! reposition. So this iterator keeps the current entry and the fjall range it came from:
//! moving on in the same direction pulls the next item of that range (a streaming scan), while
//! a seek or a change of direction opens a new range at the snapshot, starting just past the
//! current key (`O(log n)` per table and memtable, like a RocksDB seek). Every range is read at
//! the iterator's own snapshot, so it sees the state of its creation throughout.

use std::borrow::Cow;
use std::ops::Bound;
use std::path::Path;

use engine_traits::bounds::{is_empty_range, max_lower, min_upper, prefix_successor};
use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, IterOptions, Result};
use fjall::{Keyspace, Readable as _, Slice};

use crate::keys;

/// The fjall range the current entry came from, and its direction.
enum Cursor {
    /// No open range (unpositioned, exhausted, or after an error).
    None,
    /// Pulling `next()` walks forward from the current entry.
    Forward(fjall::Iter),
    /// Pulling `next_back()` walks backward from the current entry.
    Backward(fjall::Iter),
}

/// An iterator over one CF (a fjall keyspace) at a fjall snapshot.
pub struct FjallIterator<'a> {
    cf: &'a str,
    keyspace: &'a Keyspace,
    snapshot: fjall::Snapshot,
    path: &'a Path,
    opts: IterOptions,
    prefix_len: Option<usize>,
    /// In prefix mode, the prefix fixed by the last seek.
    prefix: Option<Vec<u8>>,
    /// The current entry: stored key (see [`crate::keys`]) and value.
    current: Option<(Slice, Slice)>,
    cursor: Cursor,
}

impl std::fmt::Debug for FjallIterator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallIterator")
            .field("cf", &self.cf)
            .field("snapshot_seqno", &self.snapshot.seqno())
            .field("opts", &self.opts)
            .field(
                "current",
                &self.current.as_ref().map(|(k, _)| keys::decode(k)),
            )
            .finish_non_exhaustive()
    }
}

type Bounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

impl<'a> FjallIterator<'a> {
    pub(crate) fn new(
        cf: &'a str,
        keyspace: &'a Keyspace,
        snapshot: fjall::Snapshot,
        path: &'a Path,
        opts: IterOptions,
        prefix_len: Option<usize>,
    ) -> Result<Self> {
        opts.check()?;
        if opts.prefix_same_as_start && prefix_len.is_none() {
            return Err(Error::invalid(
                "prefix_same_as_start needs an engine opened with prefix_len",
            ));
        }
        Ok(FjallIterator {
            cf,
            keyspace,
            snapshot,
            path,
            opts,
            prefix_len,
            prefix: None,
            current: None,
            cursor: Cursor::None,
        })
    }

    /// The iterator's bounds intersected with the prefix of the last seek (prefix mode).
    fn bounds(&self) -> Bounds {
        let mut lo = self
            .opts
            .lower_bound
            .clone()
            .map_or(Bound::Unbounded, Bound::Included);
        let mut hi = self
            .opts
            .upper_bound
            .clone()
            .map_or(Bound::Unbounded, Bound::Excluded);
        if let Some(p) = &self.prefix {
            lo = max_lower(lo, Bound::Included(p.clone()));
            if let Some(end) = prefix_successor(p) {
                hi = min_upper(hi, Bound::Excluded(end));
            }
        }
        (lo, hi)
    }

    fn set_prefix(&mut self, key: &[u8]) {
        if self.opts.prefix_same_as_start {
            let n = self.prefix_len.unwrap_or(0).min(key.len());
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

    /// Opens `(lo, hi)` at the snapshot and lands on its first (or, `back`, last) entry.
    fn open(&mut self, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>, back: bool) -> Result<bool> {
        self.current = None;
        self.cursor = Cursor::None;
        if is_empty_range(&lo, &hi) {
            return Ok(false);
        }
        let range = self.snapshot.range(
            self.keyspace,
            (keys::encode_bound(lo), keys::encode_bound(hi)),
        );
        self.cursor = if back {
            Cursor::Backward(range)
        } else {
            Cursor::Forward(range)
        };
        self.pull()
    }

    /// Takes the next entry of the open range in its direction.
    fn pull(&mut self) -> Result<bool> {
        let guard = match &mut self.cursor {
            Cursor::Forward(it) => it.next(),
            Cursor::Backward(it) => it.next_back(),
            Cursor::None => None,
        };
        let Some(guard) = guard else {
            self.current = None;
            self.cursor = Cursor::None;
            return Ok(false);
        };
        match guard.into_inner() {
            Ok(kv) => {
                self.current = Some(kv);
                Ok(true)
            }
            Err(e) => {
                self.current = None;
                self.cursor = Cursor::None;
                Err(crate::error::map(
                    e,
                    &format!("iterating CF {:?}", self.cf),
                    self.path,
                ))
            }
        }
    }

    fn current_key(&self) -> Result<Vec<u8>> {
        match &self.current {
            Some((k, _)) => Ok(keys::decode(k).to_vec()),
            None => Err(Error::invalid(
                "next()/prev() called on an invalid iterator",
            )),
        }
    }
}

impl EngineIterator for FjallIterator<'_> {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let (lo, hi) = self.bounds();
        let lo = max_lower(lo, Bound::Included(key.to_vec()));
        self.open(lo, hi, false)
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let (lo, hi) = self.bounds();
        let hi = min_upper(hi, Bound::Included(key.to_vec()));
        self.open(lo, hi, true)
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_first")?;
        let (lo, hi) = self.bounds();
        self.open(lo, hi, false)
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_last")?;
        let (lo, hi) = self.bounds();
        self.open(lo, hi, true)
    }

    fn next(&mut self) -> Result<bool> {
        let cur = self.current_key()?;
        if matches!(self.cursor, Cursor::Forward(_)) {
            return self.pull();
        }
        let (_, hi) = self.bounds();
        self.open(Bound::Excluded(cur), hi, false)
    }

    fn prev(&mut self) -> Result<bool> {
        let cur = self.current_key()?;
        if matches!(self.cursor, Cursor::Backward(_)) {
            return self.pull();
        }
        let (lo, _) = self.bounds();
        self.open(lo, Bound::Excluded(cur), true)
    }

    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        keys::decode(&self.current.as_ref().expect(INVALID_ITERATOR_PANIC).0)
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(
            &self.current.as_ref().expect(INVALID_ITERATOR_PANIC).1,
        ))
    }
}
