//! RocksDB's raw iterator as an [`EngineIterator`].

use std::borrow::Cow;
use std::path::PathBuf;

use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, Result};
use rust_rocksdb::rocksdb::{DB, DBRawIteratorWithThreadMode};

use crate::map_status;

/// Turns the bytes RocksDB stores into the value callers see. Plain RocksDB stores values as
/// they are; an engine layered on RocksDB (Titan) stores an index and reads the value from
/// elsewhere, only when asked.
pub trait ResolveValue {
    /// The value for `key`, whose stored bytes are `raw`.
    fn resolve<'v>(&'v self, key: &[u8], raw: &'v [u8]) -> Result<Cow<'v, [u8]>>;
}

/// Values are stored as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plain;

impl ResolveValue for Plain {
    fn resolve<'v>(&'v self, _key: &[u8], raw: &'v [u8]) -> Result<Cow<'v, [u8]>> {
        Ok(Cow::Borrowed(raw))
    }
}

/// A bounded RocksDB iterator over one CF of an engine or snapshot. Bounds live in RocksDB's
/// `ReadOptions`, so RocksDB itself stops at them. `R` turns stored bytes into values.
pub struct RocksIterator<'a, R: ResolveValue = Plain> {
    it: DBRawIteratorWithThreadMode<'a, DB>,
    prefix_mode: bool,
    path: PathBuf,
    /// Declared after `it`, so whatever it keeps alive (Titan's pin) outlives the iterator.
    resolver: R,
}

impl<'a> RocksIterator<'a, Plain> {
    /// An iterator over values stored as they are; `prefix_mode` is the `IterOptions`'
    /// `prefix_same_as_start`, `path` names the engine in errors.
    pub fn new(it: DBRawIteratorWithThreadMode<'a, DB>, prefix_mode: bool, path: PathBuf) -> Self {
        Self::with_resolver(it, prefix_mode, path, Plain)
    }
}

impl<'a, R: ResolveValue> RocksIterator<'a, R> {
    /// An iterator whose values go through `resolver`; `path` names the engine in errors.
    pub fn with_resolver(
        it: DBRawIteratorWithThreadMode<'a, DB>,
        prefix_mode: bool,
        path: PathBuf,
        resolver: R,
    ) -> Self {
        RocksIterator {
            it,
            prefix_mode,
            path,
            resolver,
        }
    }

    /// After a move: valid, or invalid because of an error RocksDB recorded.
    fn settle(&self) -> Result<bool> {
        if self.it.valid() {
            return Ok(true);
        }
        self.it
            .status()
            .map_err(|e| map_status(e.into(), Some(&self.path)))?;
        Ok(false)
    }

    fn need_valid(&self, what: &str) -> Result<()> {
        if !self.it.valid() {
            return Err(Error::invalid(format!(
                "{what}() called on an invalid iterator"
            )));
        }
        Ok(())
    }

    fn not_in_prefix_mode(&self, what: &str) -> Result<()> {
        if self.prefix_mode {
            return Err(Error::invalid(format!(
                "{what} is undefined with prefix_same_as_start"
            )));
        }
        Ok(())
    }
}

impl<R: ResolveValue> EngineIterator for RocksIterator<'_, R> {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.it.seek(key);
        self.settle()
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.it.seek_for_prev(key);
        self.settle()
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_first")?;
        self.it.seek_to_first();
        self.settle()
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_last")?;
        self.it.seek_to_last();
        self.settle()
    }

    fn next(&mut self) -> Result<bool> {
        self.need_valid("next")?;
        self.it.next();
        self.settle()
    }

    fn prev(&mut self) -> Result<bool> {
        self.need_valid("prev")?;
        self.it.prev();
        self.settle()
    }

    fn valid(&self) -> bool {
        self.it.valid()
    }

    fn key(&self) -> &[u8] {
        self.it.key().expect(INVALID_ITERATOR_PANIC)
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        let key = self.it.key().expect(INVALID_ITERATOR_PANIC);
        let raw = self.it.value().expect(INVALID_ITERATOR_PANIC);
        self.resolver.resolve(key, raw)
    }
}
