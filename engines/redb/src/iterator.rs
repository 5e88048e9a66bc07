//! The bounded, bidirectional iterator over one CF, built from redb ranges.
//!
//! redb offers double-ended ranges (`ReadOnlyTable::range`, which owns its pages and the read
//! transaction, so it can live inside our iterator) and cursors (which borrow the table, so
//! they cannot). A range walks from either end of fixed bounds; it cannot be repositioned. So:
//!
//! - every seek opens a new range: `[max(key, lower), upper)` walked forward for `seek`,
//!   `[lower, min(key, upper)]` walked backward for `seek_for_prev`; one B-tree descent,
//!   O(log n) page reads (cached pages, usually);
//! - `next` after `next` (or `prev` after `prev`) is one step of the open range, amortised
//!   O(1);
//! - a change of direction opens a range on the other side of the current key, one more
//!   descent. Scans that zigzag pay O(log n) per turn; scans that go one way pay it once.
//!
//! The iterator owns its `ReadOnlyTable` (and so its read transaction): it sees the state at
//! its creation whatever is written later, and outlives nothing it borrows. The current entry
//! is kept as redb's access guards, which pin the page holding it, so `key()` and `value()`
//! copy nothing.

use std::borrow::Cow;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use engine_traits::bounds::{is_empty_range, max_lower, min_upper};
use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, IterOptions, Result};
use redb::{AccessGuard, Range, ReadOnlyTable};

pub(crate) type Bytes = &'static [u8];
type Entry = (AccessGuard<'static, Bytes>, AccessGuard<'static, Bytes>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// An iterator over one CF of a redb read transaction (the engine's own, taken when the
/// iterator was created, or a snapshot's).
pub struct RedbIterator {
    table: ReadOnlyTable<Bytes, Bytes>,
    cf: String,
    file: Arc<Path>,
    opts: IterOptions,
    prefix_len: Option<usize>,
    /// The prefix fixed by the last seek in prefix mode.
    prefix: Option<Vec<u8>>,
    /// The range the last movement walked and its direction; `None` when invalid.
    range: Option<(Range<'static, Bytes, Bytes>, Direction)>,
    current: Option<Entry>,
    /// The count of the engine's read transaction this iterator holds (a snapshot's iterator
    /// has none: the snapshot holds it). Declared last: dropped after `table` and `range`.
    _live: Option<crate::LiveRead>,
}

impl std::fmt::Debug for RedbIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbIterator")
            .field("cf", &self.cf)
            .field("opts", &self.opts)
            .field(
                "key",
                &self.current.as_ref().map(|(k, _)| k.value().to_vec()),
            )
            .finish()
    }
}

impl RedbIterator {
    pub(crate) fn new(
        table: ReadOnlyTable<Bytes, Bytes>,
        cf: &str,
        file: Arc<Path>,
        opts: IterOptions,
        prefix_len: Option<usize>,
        live: Option<crate::LiveRead>,
    ) -> Result<Self> {
        opts.check()?;
        if opts.prefix_same_as_start && prefix_len.is_none() {
            return Err(Error::invalid(format!(
                "iterator over {cf:?}: prefix_same_as_start needs an engine opened with prefix_len"
            )));
        }
        Ok(RedbIterator {
            table,
            cf: cf.to_owned(),
            file,
            opts,
            prefix_len,
            prefix: None,
            range: None,
            current: None,
            _live: live,
        })
    }

    fn lower(&self) -> Bound<&[u8]> {
        self.opts
            .lower_bound
            .as_deref()
            .map_or(Bound::Unbounded, Bound::Included)
    }

    fn upper(&self) -> Bound<&[u8]> {
        self.opts
            .upper_bound
            .as_deref()
            .map_or(Bound::Unbounded, Bound::Excluded)
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
                "{what} on {:?} is undefined with prefix_same_as_start",
                self.cf
            )));
        }
        Ok(())
    }

    /// Opens `(lo, hi)` and takes its first entry walking in `direction`.
    fn open(&mut self, lo: Bound<&[u8]>, hi: Bound<&[u8]>, direction: Direction) -> Result<bool> {
        self.current = None;
        self.range = None;
        if is_empty_range(&lo, &hi) {
            return Ok(false);
        }
        let range = self
            .table
            .range::<&[u8]>((lo, hi))
            .map_err(|e| crate::error::map(e, &format!("iterating {:?}", self.cf), &self.file))?;
        self.range = Some((range, direction));
        self.step()
    }

    /// One more entry of the open range, in its direction; invalid at its end or when the
    /// entry leaves the seek's prefix.
    fn step(&mut self) -> Result<bool> {
        let Some((range, direction)) = self.range.as_mut() else {
            self.current = None;
            return Ok(false);
        };
        let hit = match direction {
            Direction::Forward => range.next(),
            Direction::Backward => range.next_back(),
        };
        let entry = match hit.transpose() {
            Ok(entry) => entry,
            Err(e) => {
                self.current = None;
                self.range = None;
                return Err(crate::error::map(
                    e,
                    &format!("iterating {:?}", self.cf),
                    &self.file,
                ));
            }
        };
        self.current = entry.filter(|(k, _)| {
            self.prefix
                .as_deref()
                .is_none_or(|p| k.value().starts_with(p))
        });
        if self.current.is_none() {
            self.range = None;
        }
        Ok(self.current.is_some())
    }

    /// Moves one entry in `direction`: a step of the open range when it walks that way, a new
    /// range on the far side of the current key when it does not.
    fn advance(&mut self, direction: Direction) -> Result<bool> {
        let Some((key, _)) = &self.current else {
            return Err(Error::invalid(format!(
                "next()/prev() called on an invalid iterator over {:?}",
                self.cf
            )));
        };
        if matches!(&self.range, Some((_, d)) if *d == direction) {
            return self.step();
        }
        let key = key.value().to_vec();
        match direction {
            Direction::Forward => {
                let hi = self.upper().map(<[u8]>::to_vec);
                self.open(Bound::Excluded(&key), as_ref(&hi), direction)
            }
            Direction::Backward => {
                let lo = self.lower().map(<[u8]>::to_vec);
                self.open(as_ref(&lo), Bound::Excluded(&key), direction)
            }
        }
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

impl EngineIterator for RedbIterator {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let lo = max_lower(Bound::Included(key), self.lower()).map(<[u8]>::to_vec);
        let hi = self.upper().map(<[u8]>::to_vec);
        self.open(as_ref(&lo), as_ref(&hi), Direction::Forward)
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let lo = self.lower().map(<[u8]>::to_vec);
        let hi = min_upper(Bound::Included(key), self.upper()).map(<[u8]>::to_vec);
        self.open(as_ref(&lo), as_ref(&hi), Direction::Backward)
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_first")?;
        let (lo, hi) = (
            self.lower().map(<[u8]>::to_vec),
            self.upper().map(<[u8]>::to_vec),
        );
        self.open(as_ref(&lo), as_ref(&hi), Direction::Forward)
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_last")?;
        let (lo, hi) = (
            self.lower().map(<[u8]>::to_vec),
            self.upper().map(<[u8]>::to_vec),
        );
        self.open(as_ref(&lo), as_ref(&hi), Direction::Backward)
    }

    fn next(&mut self) -> Result<bool> {
        self.advance(Direction::Forward)
    }

    fn prev(&mut self) -> Result<bool> {
        self.advance(Direction::Backward)
    }

    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        self.current
            .as_ref()
            .expect(INVALID_ITERATOR_PANIC)
            .0
            .value()
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(
            self.current
                .as_ref()
                .expect(INVALID_ITERATOR_PANIC)
                .1
                .value(),
        ))
    }
}
