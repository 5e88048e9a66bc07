//! A cursor with `seek`/`next`/`prev` over SlateDB's one-way scans.
//!
//! A SlateDB scan (`DbIterator`) runs in one direction, ascending or descending, and seeks
//! only forward, only when ascending. So this iterator keeps the current entry and the scan it
//! came from: moving on in the same direction pulls the next entry of that scan (streaming),
//! a forward `seek` past the current key on an ascending scan uses the scan's own `seek`, and
//! anything else (a seek backwards, `seek_for_prev`, a change of direction) opens a new scan
//! of the CF's range, starting just past the current key, at the iterator's snapshot. Opening
//! a scan builds a merge over the memtables, L0 SSTs and sorted runs (`O(log n)` per table,
//! like a RocksDB seek, plus a block fetch per table). Every scan reads the iterator's own
//! `DbSnapshot`, taken at creation, so it sees the state of its creation throughout.

use std::borrow::Cow;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use engine_traits::bounds::{is_empty_range, max_lower, min_upper, prefix_successor};
use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, IterOptions, Result};
use slatedb::config::ScanOptions;
use slatedb::{DbIterator, DbSnapshot, IterationOrder};

use crate::{SlatedbEngine, keys};

/// Bytes a forward scan fetches per request (SlateDB's default is one block): streaming scans
/// are the common case forward, and on object storage every fetch is a request.
const READ_AHEAD: usize = 64 << 10;

enum Cursor {
    /// No open scan (unpositioned, exhausted, or after an error).
    None,
    /// An ascending scan: pulling walks forward from the current entry.
    Forward(DbIterator),
    /// A descending scan: pulling walks backward from the current entry.
    Backward(DbIterator),
}

/// An iterator over one CF at a SlateDB snapshot.
pub struct SlatedbIterator<'a> {
    engine: &'a SlatedbEngine,
    cf: &'a str,
    tag: u8,
    snapshot: Arc<DbSnapshot>,
    opts: IterOptions,
    /// In prefix mode, the prefix fixed by the last seek.
    prefix: Option<Vec<u8>>,
    /// The current entry: stored key and value.
    current: Option<(Bytes, Bytes)>,
    cursor: Cursor,
}

impl std::fmt::Debug for SlatedbIterator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlatedbIterator")
            .field("cf", &self.cf)
            .field("snapshot_seq", &self.snapshot.seq())
            .field("opts", &self.opts)
            .field(
                "current",
                &self.current.as_ref().map(|(k, _)| keys::decode(k).to_vec()),
            )
            .finish_non_exhaustive()
    }
}

type Bounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

impl<'a> SlatedbIterator<'a> {
    pub(crate) fn new(
        engine: &'a SlatedbEngine,
        cf: &'a str,
        tag: u8,
        snapshot: Arc<DbSnapshot>,
        opts: IterOptions,
    ) -> Result<Self> {
        opts.check()?;
        if opts.prefix_same_as_start && engine.prefix_len.is_none() {
            return Err(Error::invalid(
                "prefix_same_as_start needs an engine opened with prefix_len",
            ));
        }
        Ok(SlatedbIterator {
            engine,
            cf,
            tag,
            snapshot,
            opts,
            prefix: None,
            current: None,
            cursor: Cursor::None,
        })
    }

    /// The iterator's bounds (stored keys) intersected with the prefix of the last seek.
    fn bounds(&self) -> Bounds {
        let user_lo = self.opts.lower_bound.as_deref();
        let user_hi = self.opts.upper_bound.as_deref();
        let mut lo = keys::lower(self.tag, user_lo.map_or(Bound::Unbounded, Bound::Included));
        let mut hi = keys::upper(self.tag, user_hi.map_or(Bound::Unbounded, Bound::Excluded));
        if let Some(p) = &self.prefix {
            let stored = keys::encode(self.tag, p);
            if let Some(end) = prefix_successor(&stored) {
                hi = min_upper(hi, Bound::Excluded(end));
            }
            lo = max_lower(lo, Bound::Included(stored));
        }
        (lo, hi)
    }

    fn set_prefix(&mut self, key: &[u8]) {
        if self.opts.prefix_same_as_start {
            let n = self.engine.prefix_len.unwrap_or(0).min(key.len());
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

    fn scan_options(&self, order: IterationOrder) -> ScanOptions {
        let read_ahead = match order {
            IterationOrder::Ascending => READ_AHEAD,
            _ => 1,
        };
        ScanOptions::default()
            .with_cache_blocks(self.opts.fill_cache)
            .with_read_ahead_bytes(read_ahead)
            .with_order(order)
    }

    /// Opens `(lo, hi)` at the snapshot and lands on its first (or, `back`, last) entry.
    fn open(&mut self, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>, back: bool) -> Result<bool> {
        self.current = None;
        self.cursor = Cursor::None;
        if is_empty_range(&lo, &hi) {
            return Ok(false);
        }
        let order = if back {
            IterationOrder::Descending
        } else {
            IterationOrder::Ascending
        };
        let options = self.scan_options(order);
        let snapshot = self.snapshot.clone();
        let scan = self
            .engine
            .block_on(async move { snapshot.scan_with_options((lo, hi), &options).await })
            .map_err(|e| {
                self.engine
                    .map_err(e, &format!("scanning CF {:?}", self.cf))
            })?;
        self.cursor = if back {
            Cursor::Backward(scan)
        } else {
            Cursor::Forward(scan)
        };
        self.pull()
    }

    /// Takes the next entry of the open scan in its direction.
    fn pull(&mut self) -> Result<bool> {
        let next = match &mut self.cursor {
            Cursor::Forward(it) | Cursor::Backward(it) => self.engine.block_on(it.next()),
            Cursor::None => Ok(None),
        };
        match next {
            Ok(Some(kv)) => {
                self.current = Some((kv.key, kv.value));
                Ok(true)
            }
            Ok(None) => {
                self.current = None;
                self.cursor = Cursor::None;
                Ok(false)
            }
            Err(e) => {
                self.current = None;
                self.cursor = Cursor::None;
                Err(self
                    .engine
                    .map_err(e, &format!("iterating CF {:?}", self.cf)))
            }
        }
    }

    fn current_stored_key(&self) -> Result<Vec<u8>> {
        match &self.current {
            Some((k, _)) => Ok(k.to_vec()),
            None => Err(Error::invalid(
                "next()/prev() called on an invalid iterator",
            )),
        }
    }
}

impl EngineIterator for SlatedbIterator<'_> {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        let old_prefix = self.prefix.clone();
        self.set_prefix(key);
        let target = keys::encode(self.tag, key);
        let (lo, hi) = self.bounds();
        // Forward within the open ascending scan: its own seek, no new merge.
        let ahead = match (&self.cursor, &self.current) {
            (Cursor::Forward(_), Some((cur, _))) => target[..] > cur[..],
            _ => false,
        };
        let in_bounds = match &hi {
            Bound::Excluded(h) => &target < h,
            Bound::Included(h) => &target <= h,
            Bound::Unbounded => true,
        };
        // The current key is inside the bounds and the target past it, so the target is
        // above the lower bound too.
        if ahead
            && in_bounds
            && old_prefix == self.prefix
            && let Cursor::Forward(it) = &mut self.cursor
            && self.engine.block_on(it.seek(&target)).is_ok()
        {
            return self.pull();
        }
        let lo = max_lower(lo, Bound::Included(target));
        self.open(lo, hi, false)
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let (lo, hi) = self.bounds();
        let hi = min_upper(hi, Bound::Included(keys::encode(self.tag, key)));
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
        let cur = self.current_stored_key()?;
        if matches!(self.cursor, Cursor::Forward(_)) {
            return self.pull();
        }
        let (_, hi) = self.bounds();
        self.open(Bound::Excluded(cur), hi, false)
    }

    fn prev(&mut self) -> Result<bool> {
        let cur = self.current_stored_key()?;
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
