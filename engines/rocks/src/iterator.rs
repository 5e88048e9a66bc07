//! RocksDB's raw iterator as an [`EngineIterator`].

use std::borrow::Cow;
use std::path::PathBuf;

use engine_traits::{EngineIterator, Error, INVALID_ITERATOR_PANIC, Result};
use rust_rocksdb::rocksdb::{DB, DBRawIteratorWithThreadMode};

use crate::map_status;

/// A bounded RocksDB iterator over one CF of an engine or snapshot. Bounds live in RocksDB's
/// `ReadOptions`, so RocksDB itself stops at them.
pub struct RocksIterator<'a> {
    it: DBRawIteratorWithThreadMode<'a, DB>,
    prefix_mode: bool,
    path: PathBuf,
}

impl<'a> RocksIterator<'a> {
    pub(crate) fn new(
        it: DBRawIteratorWithThreadMode<'a, DB>,
        prefix_mode: bool,
        path: PathBuf,
    ) -> Self {
        RocksIterator {
            it,
            prefix_mode,
            path,
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

impl EngineIterator for RocksIterator<'_> {
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
        Ok(Cow::Borrowed(
            self.it.value().expect(INVALID_ITERATOR_PANIC),
        ))
    }
}
