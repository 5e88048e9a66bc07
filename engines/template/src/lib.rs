//! `engine_template`: the starting point of a new engine.
//!
//! # What it is for
//! `cargo xtask new-engine NAME` copies this crate and renames it. It compiles, opens, and
//! answers every core method with a `NotSupported` error naming the method, so the first
//! conformance run (`cargo test -p engine_NAME --test conformance`) is a checklist: each
//! failing case says which method to write next.
//!
//! # What it is not for
//! Storing anything. It is compiled in the workspace only so that it cannot rot.
//!
//! # Where to start
//! 1. Pick a data structure and hold it in [`TemplateEngine`].
//! 2. Implement `write` (or use [`engine_traits::OpBatch`] as the batch and apply its ops),
//!    then `get_opt`, then the iterator, then snapshots.
//! 3. Declare capabilities in `CAPABILITIES` only once their cases pass.
#![deny(missing_docs)]

use std::borrow::Cow;

use engine_traits::{
    Capabilities, EngineConfig, EngineIterator, Error, IterOptions, KvEngine, ReadOptions,
    Readable, Result, WriteBatch, WriteOptions,
};

/// The engine. Add your state here.
#[derive(Debug)]
pub struct TemplateEngine {
    cfs: Vec<String>,
}

/// A snapshot of the engine.
#[derive(Debug)]
pub struct TemplateSnapshot;

/// An iterator over one CF.
#[derive(Debug)]
pub struct TemplateIterator;

/// A write batch.
#[derive(Debug, Default)]
pub struct TemplateBatch;

impl KvEngine for TemplateEngine {
    const CAPABILITIES: Capabilities = Capabilities::NONE;

    type Snapshot<'a> = TemplateSnapshot;
    type WriteBatch = TemplateBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        if let Some(profile) = &config.profile {
            return Err(Error::invalid(format!(
                "engine template has no options profiles, got {profile:?}"
            )));
        }
        Ok(TemplateEngine {
            cfs: config.cf_list()?,
        })
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.clone()
    }

    fn write_batch(&self) -> TemplateBatch {
        TemplateBatch
    }

    fn write(&self, _opts: &WriteOptions, _batch: &TemplateBatch) -> Result<()> {
        Err(Error::not_supported("write"))
    }

    fn snapshot(&self) -> Result<TemplateSnapshot> {
        Err(Error::not_supported("snapshot"))
    }

    fn sync(&self) -> Result<()> {
        Err(Error::not_supported("sync"))
    }

    fn flush(&self) -> Result<()> {
        Err(Error::not_supported("flush"))
    }
}

impl Readable for TemplateEngine {
    type Iterator<'a> = TemplateIterator;

    fn get_opt(&self, _opts: &ReadOptions, _cf: &str, _key: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(Error::not_supported("get"))
    }

    fn iterator_opt(&self, _cf: &str, _opts: IterOptions) -> Result<TemplateIterator> {
        Err(Error::not_supported("iterator"))
    }
}

impl Readable for TemplateSnapshot {
    type Iterator<'a> = TemplateIterator;

    fn get_opt(&self, _opts: &ReadOptions, _cf: &str, _key: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(Error::not_supported("snapshot get"))
    }

    fn iterator_opt(&self, _cf: &str, _opts: IterOptions) -> Result<TemplateIterator> {
        Err(Error::not_supported("snapshot iterator"))
    }
}

impl EngineIterator for TemplateIterator {
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

impl WriteBatch for TemplateBatch {
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
