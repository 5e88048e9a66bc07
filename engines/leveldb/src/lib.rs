//! `engine_leveldb`: LevelDB through rusty-leveldb: RocksDB's ancestor, pure Rust
//!
//! # What it is for
//! Say what hardware or data structure this engine serves, and why the SIG wants it.
//!
//! # What it is not for
//! Say what it does not try to do (durability? concurrency? huge values?).
//!
//! # Status
//! Incubating: scaffolded by `cargo xtask new-engine`. Every core method returns
//! `NotSupported`; `cargo test -p engine_leveldb --test conformance` is the checklist.
#![deny(missing_docs)]

use std::borrow::Cow;

use engine_traits::{
    Capabilities, EngineConfig, EngineIterator, Error, IterOptions, KvEngine, ReadOptions,
    Readable, Result, WriteBatch, WriteOptions,
};

/// The engine. Add your state here.
#[derive(Debug)]
pub struct LeveldbEngine {
    cfs: Vec<String>,
}

/// A snapshot of the engine.
#[derive(Debug)]
pub struct LeveldbSnapshot;

/// An iterator over one CF.
#[derive(Debug)]
pub struct LeveldbIterator;

/// A write batch.
#[derive(Debug, Default)]
pub struct LeveldbBatch;

impl KvEngine for LeveldbEngine {
    const CAPABILITIES: Capabilities = Capabilities::NONE;

    type Snapshot<'a> = LeveldbSnapshot;
    type WriteBatch = LeveldbBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        if let Some(profile) = &config.profile {
            return Err(Error::invalid(format!(
                "engine leveldb has no options profiles, got {profile:?}"
            )));
        }
        Ok(LeveldbEngine {
            cfs: config.cf_list()?,
        })
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.clone()
    }

    fn write_batch(&self) -> LeveldbBatch {
        LeveldbBatch
    }

    fn write(&self, _opts: &WriteOptions, _batch: &LeveldbBatch) -> Result<()> {
        Err(Error::not_supported("write"))
    }

    fn snapshot(&self) -> Result<LeveldbSnapshot> {
        Err(Error::not_supported("snapshot"))
    }

    fn sync(&self) -> Result<()> {
        Err(Error::not_supported("sync"))
    }

    fn flush(&self) -> Result<()> {
        Err(Error::not_supported("flush"))
    }
}

impl Readable for LeveldbEngine {
    type Iterator<'a> = LeveldbIterator;

    fn get_opt(&self, _opts: &ReadOptions, _cf: &str, _key: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(Error::not_supported("get"))
    }

    fn iterator_opt(&self, _cf: &str, _opts: IterOptions) -> Result<LeveldbIterator> {
        Err(Error::not_supported("iterator"))
    }
}

impl Readable for LeveldbSnapshot {
    type Iterator<'a> = LeveldbIterator;

    fn get_opt(&self, _opts: &ReadOptions, _cf: &str, _key: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(Error::not_supported("snapshot get"))
    }

    fn iterator_opt(&self, _cf: &str, _opts: IterOptions) -> Result<LeveldbIterator> {
        Err(Error::not_supported("snapshot iterator"))
    }
}

impl EngineIterator for LeveldbIterator {
    fn seek(&mut self, _key: &[u8]) -> Result<bool> {
        Err(Error::not_supported("seek"))
    }

    fn seek_for_prev(&mut self, _key: &[u8]) -> Result<bool> {
        Err(Error::not_supported("seek_for_prev"))
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        Err(Error::not_supported("seek_to_first"))
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        Err(Error::not_supported("seek_to_last"))
    }

    fn next(&mut self) -> Result<bool> {
        Err(Error::not_supported("next"))
    }

    fn prev(&mut self) -> Result<bool> {
        Err(Error::not_supported("prev"))
    }

    fn valid(&self) -> bool {
        false
    }

    fn key(&self) -> &[u8] {
        panic!("{}", engine_traits::INVALID_ITERATOR_PANIC)
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        panic!("{}", engine_traits::INVALID_ITERATOR_PANIC)
    }
}

impl WriteBatch for LeveldbBatch {
    fn put(&mut self, _cf: &str, _key: &[u8], _value: &[u8]) -> Result<()> {
        Err(Error::not_supported("write batch put"))
    }

    fn delete(&mut self, _cf: &str, _key: &[u8]) -> Result<()> {
        Err(Error::not_supported("write batch delete"))
    }

    fn delete_range(&mut self, _cf: &str, _start: &[u8], _end: &[u8]) -> Result<()> {
        Err(Error::not_supported("write batch delete_range"))
    }

    fn count(&self) -> usize {
        0
    }

    fn data_size(&self) -> usize {
        0
    }

    fn clear(&mut self) {}

    fn set_save_point(&mut self) {}

    fn rollback_to_save_point(&mut self) -> Result<()> {
        Err(Error::not_supported("write batch rollback_to_save_point"))
    }

    fn pop_save_point(&mut self) -> Result<()> {
        Err(Error::not_supported("write batch pop_save_point"))
    }
}
