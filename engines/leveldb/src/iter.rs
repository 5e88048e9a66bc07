//! Bounded iterators over one CF: a rusty-leveldb `DBIterator` kept in the engine's state,
//! moved under the engine's lock, its current entry copied out.

use std::borrow::Cow;

use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, IterOptions, Result};
use rusty_leveldb::{DBIterator, LdbIterator};

use crate::LeveldbEngine;
use crate::keys::{decode, encode};

/// A cursor over one CF of the engine or of a snapshot.
///
/// Each movement takes the engine's lock once and copies the entry it lands on (so `key()`
/// and `value()` borrow from `self`, without the lock). `seek`, `seek_to_first` and `next`
/// cost what rusty-leveldb's seek and advance cost. `prev`, `seek_to_last` and
/// `seek_for_prev` never use rusty-leveldb's backward movement, which is broken: they find
/// the predecessor with forward seeks ([`last_before`]), up to 9 seeks per byte of the key.
pub struct LeveldbIterator<'a> {
    engine: &'a LeveldbEngine,
    id: u64,
    tag: u8,
    /// The stored form of `lower_bound` (inclusive); `[tag]` when unbounded.
    lower: Vec<u8>,
    /// The stored form of `upper_bound` (exclusive); `[tag + 1]` when unbounded.
    upper: Vec<u8>,
    /// `Some(len)` in prefix mode.
    prefix_len: Option<usize>,
    /// The (user key) prefix fixed by the last seek in prefix mode.
    prefix: Option<Vec<u8>>,
    /// The user key (tag removed) and value the iterator is on.
    current: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for LeveldbIterator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeveldbIterator")
            .field("id", &self.id)
            .field("tag", &self.tag)
            .field("valid", &self.current.is_some())
            .finish_non_exhaustive()
    }
}

/// The entry the rusty-leveldb iterator is on, if it is valid and below `upper`.
fn below(it: &DBIterator, upper: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if !it.valid() {
        return None;
    }
    let (k, v) = it.current()?;
    (k.as_ref() < upper).then(|| (k.to_vec(), v.to_vec()))
}

/// The first entry at or after `x`.
fn first_from(it: &mut DBIterator, x: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    it.seek(x);
    if !it.valid() {
        return None;
    }
    it.current().map(|(k, v)| (k.to_vec(), v.to_vec()))
}

/// The smallest key above every key that starts with `p`; `None` when there is none (`p` is
/// empty or all `0xFF`).
fn prefix_end(p: &[u8]) -> Option<Vec<u8>> {
    let mut end = p.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The last entry in `[lower, key)`, found with forward seeks only, and the iterator left on
/// it.
///
/// rusty-leveldb's backward movement is broken in three ways (`tests/upstream.rs`): the
/// memtable iterator's `prev` skips tombstones, so deleted keys reappear; the merging
/// iterator, turning backwards, drops every source whose entries all lie below the current
/// key; and `seek` does not reset its direction, so a `prev` after a seek that follows a
/// `prev` merges from the wrong positions. Forward movement is sound, so the predecessor is
/// found by descending the key bytes: with the answer's first bytes `p` known, a binary
/// search over the next byte (each probe one seek, jumping to the byte the seek landed on)
/// finds the largest byte some key in range continues `p` with. Cost: at most 9 seeks per
/// byte of the key found, independent of how many keys the store holds.
fn last_before(it: &mut DBIterator, key: &[u8], lower: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let first = first_from(it, lower)?;
    if first.0.as_slice() >= key {
        return None;
    }
    // Every key in [lower, key) starts with their common prefix.
    let mut p: Vec<u8> = lower
        .iter()
        .zip(key)
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| *a)
        .collect();
    loop {
        // Keys that continue `p` within range lie in [max(lower, p ++ [b]), bound).
        let bound = match prefix_end(&p) {
            Some(end) if end.as_slice() < key => end,
            _ => key.to_vec(),
        };
        let from = |b: u8| {
            let mut x = p.clone();
            x.push(b);
            x.max(lower.to_vec())
        };
        let in_range = |y: &Option<(Vec<u8>, Vec<u8>)>| {
            y.as_ref()
                .filter(|(k, _)| k.as_slice() < bound.as_slice() && k.len() > p.len())
                .map(|(k, _)| k[p.len()])
        };
        let Some(mut lo) = in_range(&first_from(it, &from(0))) else {
            // Nothing continues `p`: `p` itself is the last key.
            let hit = first_from(it, &p);
            debug_assert!(hit.as_ref().is_some_and(|(k, _)| *k == p));
            return hit.filter(|(k, _)| k.as_slice() >= lower && k.as_slice() < key);
        };
        // No key in range continues `p` with a byte above `key`'s next byte.
        let mut hi = if key.starts_with(&p) && key.len() > p.len() {
            key[p.len()]
        } else {
            0xFF
        };
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            match in_range(&first_from(it, &from(mid))) {
                Some(b) => lo = b,
                None => hi = mid - 1,
            }
        }
        p.push(lo);
    }
}

impl<'a> LeveldbIterator<'a> {
    pub(crate) fn new(
        engine: &'a LeveldbEngine,
        id: u64,
        tag: u8,
        opts: &IterOptions,
        prefix_len: Option<usize>,
    ) -> Self {
        let lower = match &opts.lower_bound {
            Some(l) => encode(tag, l),
            None => vec![tag],
        };
        let upper = match &opts.upper_bound {
            Some(u) => encode(tag, u),
            None => vec![tag + 1],
        };
        LeveldbIterator {
            engine,
            id,
            tag,
            lower,
            upper,
            prefix_len: opts.prefix_same_as_start.then_some(prefix_len).flatten(),
            prefix: None,
            current: None,
        }
    }

    /// Runs `f` on the rusty-leveldb iterator under the engine's lock and lands on what it
    /// returns (filtered by the prefix in prefix mode).
    fn moved(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut DBIterator, &[u8], &[u8]) -> Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<bool> {
        let hit = self.engine.shielded(what, || {
            let mut st = self.engine.lock(what)?;
            let hit = f(st.iter_mut(self.id), &self.lower, &self.upper);
            self.engine.checked(what, hit)
        })?;
        self.current = hit
            .map(|(k, v)| (decode(&k), v))
            .filter(|(k, _)| self.prefix.as_ref().is_none_or(|p| k.starts_with(p)));
        Ok(self.current.is_some())
    }

    fn set_prefix(&mut self, key: &[u8]) {
        if let Some(len) = self.prefix_len {
            self.prefix = Some(key[..len.min(key.len())].to_vec());
        }
    }

    fn not_in_prefix_mode(&self, what: &str) -> Result<()> {
        if self.prefix_len.is_some() {
            return Err(Error::invalid(format!(
                "{what} is undefined with prefix_same_as_start"
            )));
        }
        Ok(())
    }

    fn require_valid(&self, what: &str) -> Result<()> {
        if self.current.is_none() {
            return Err(Error::invalid(format!(
                "{what}() called on an invalid iterator"
            )));
        }
        Ok(())
    }
}

impl EngineIterator for LeveldbIterator<'_> {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let target = encode(self.tag, key);
        self.moved("seek", |it, lower, upper| {
            it.seek(target.as_slice().max(lower));
            below(it, upper)
        })
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let target = encode(self.tag, key);
        self.moved("seek_for_prev", |it, lower, upper| {
            if target.as_slice() >= upper {
                return last_before(it, upper, lower);
            }
            if target.as_slice() < lower {
                return None;
            }
            match first_from(it, &target) {
                Some(hit) if hit.0 == target => Some(hit),
                _ => last_before(it, &target, lower),
            }
        })
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_first")?;
        self.moved("seek_to_first", |it, lower, upper| {
            it.seek(lower);
            below(it, upper)
        })
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_last")?;
        self.moved("seek_to_last", |it, lower, upper| {
            last_before(it, upper, lower)
        })
    }

    fn next(&mut self) -> Result<bool> {
        self.require_valid("next")?;
        // Every movement leaves the rusty-leveldb iterator on the entry it landed on, moving
        // forward only, so one `advance` is the next entry.
        self.moved("next", |it, _, upper| {
            it.advance();
            below(it, upper)
        })
    }

    fn prev(&mut self) -> Result<bool> {
        self.require_valid("prev")?;
        let here = encode(self.tag, self.key());
        self.moved("prev", |it, lower, _| last_before(it, &here, lower))
    }

    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        &self.current.as_ref().expect(INVALID_ITERATOR_PANIC).0
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(
            &self.current.as_ref().expect(INVALID_ITERATOR_PANIC).1,
        ))
    }
}

impl Drop for LeveldbIterator<'_> {
    fn drop(&mut self) {
        self.engine.release_iter(self.id);
    }
}
