//! Bounded, bidirectional iterators.

use std::borrow::Cow;

use crate::Result;

/// A cursor over one column family of an engine or snapshot, within the bounds it was
/// created with (lower inclusive, upper exclusive). It sees the state at its creation.
///
/// Every movement returns whether the iterator is now valid (on a key). Positioning moves
/// (`seek*`) work from any state; `next`/`prev` on an invalid iterator are `InvalidArgument`.
/// Keys outside the bounds are never shown: `seek` below the lower bound lands on the first
/// key at or above it, `seek_for_prev` at or above the upper bound on the last key below it.
pub trait EngineIterator {
    /// Moves to the first key `>= key`.
    fn seek(&mut self, key: &[u8]) -> Result<bool>;
    /// Moves to the last key `<= key`.
    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool>;
    /// Moves to the first key in bounds.
    fn seek_to_first(&mut self) -> Result<bool>;
    /// Moves to the last key in bounds.
    fn seek_to_last(&mut self) -> Result<bool>;
    /// Moves to the next key. `InvalidArgument` when not valid.
    fn next(&mut self) -> Result<bool>;
    /// Moves to the previous key. `InvalidArgument` when not valid.
    fn prev(&mut self) -> Result<bool>;
    /// Whether the iterator is on a key.
    fn valid(&self) -> bool;
    /// The current key.
    ///
    /// # Panics
    /// When the iterator is not valid: that is a bug in the caller, like an index out of
    /// bounds, and a `Result` here would tax every scan. The suite pins this.
    fn key(&self) -> &[u8];
    /// The current value. It is a `Result` because an engine may read it lazily from
    /// another file (Titan's blob files) and that read can fail.
    ///
    /// # Panics
    /// When the iterator is not valid, as [`EngineIterator::key`].
    fn value(&self) -> Result<Cow<'_, [u8]>>;
}

/// The panic message engines use for `key()`/`value()` on an invalid iterator, so the
/// suite can recognise it.
pub const INVALID_ITERATOR_PANIC: &str = "key() or value() called on an invalid iterator";
