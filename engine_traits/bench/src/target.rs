//! What a benchmark drives: [`Target`], the handful of operations the workloads need. Every
//! engine is a target through [`EngineTarget`] (the trait layer, as users call it); a
//! baseline (`rocks_raw`: the `rocksdb` crate called directly) implements it by hand, so the
//! difference between the two is what the trait layer costs.
//!
//! The first seven methods (the default column family) are what db_bench's and YCSB's
//! workloads need and every target must have. The column-family methods below them are what
//! `tikv` needs, and `wait_for_compaction` is what settled reads need; they default to a
//! NotSupported error naming the target, so a baseline written before them still compiles and
//! its cells for those workloads say "unavailable" instead of failing to build.

use std::path::{Path, PathBuf};

use engine_traits::{
    CF_DEFAULT, EngineConfig, EngineIterator, Error, KvEngine, WriteBatch, WriteOptions,
};

/// One write of an atomic multi-CF batch ([`Target::write_batch`]). The CF is one of the
/// well-known names (`engine_traits::CF_*`), hence `'static`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CfWrite {
    /// `key = value` in `cf`.
    Put {
        /// The column family.
        cf: &'static str,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete `key` from `cf`.
    Delete {
        /// The column family.
        cf: &'static str,
        /// The key.
        key: Vec<u8>,
    },
}

/// The NotSupported error of a default method: names the method and the target, so the
/// figures say which target lacks what.
fn unsupported(target: &str, what: &str) -> Error {
    Error::not_supported(format!("{what} on bench target {target}"))
}

/// The operations the workloads need.
pub trait Target: Send + Sync {
    /// A put.
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> engine_traits::Result<()>;
    /// A point read; the value's length when found.
    fn get(&self, key: &[u8]) -> engine_traits::Result<Option<usize>>;
    /// Seeks to `key` and steps `nexts` times; returns (entries seen, key and value bytes).
    fn seek(&self, key: &[u8], nexts: usize) -> engine_traits::Result<(u64, u64)>;
    /// Calls `each(key_len + value_len)` for every entry in key order.
    fn scan(&self, each: &mut dyn FnMut(usize)) -> engine_traits::Result<()>;
    /// Makes memtables durable files (so reads hit the engine's on-disk structure and the
    /// statistics count the flush).
    fn flush(&self) -> engine_traits::Result<()>;
    /// (user bytes written, engine bytes written) since open, or why they are unknown.
    fn bytes_written(&self) -> engine_traits::Result<Result<(u64, u64), String>>;
    /// The directory the target keeps its files in, or why it has none.
    fn dir(&self) -> Result<&Path, String>;

    /// The target's name in error messages; the type name unless the target knows better.
    fn target_name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }

    /// A point read in `cf`, returning the value (YCSB's updates merge a field into it; tikv
    /// decodes lock and write records).
    fn get_cf(&self, cf: &str, key: &[u8]) -> engine_traits::Result<Option<Vec<u8>>> {
        let _ = (cf, key);
        Err(unsupported(
            &self.target_name(),
            "get_cf (point reads in a named column family)",
        ))
    }

    /// Seeks `cf` to the first key at or after `from` and calls `each(key, value)` on the
    /// entries in key order until it returns `false` or the CF ends.
    fn seek_cf(
        &self,
        cf: &str,
        from: &[u8],
        each: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> engine_traits::Result<()> {
        let _ = (cf, from, each);
        Err(unsupported(
            &self.target_name(),
            "seek_cf (iterators over a named column family)",
        ))
    }

    /// Applies `writes` (over any CFs) as one atomic batch.
    fn write_batch(&self, writes: &[CfWrite], sync: bool) -> engine_traits::Result<()> {
        let _ = (writes, sync);
        Err(unsupported(
            &self.target_name(),
            "write_batch (atomic multi-CF batches)",
        ))
    }

    /// Returns once the engine has no flush or compaction left to do, so what is measured
    /// next meets a settled structure (db_bench's `waitforcompaction`).
    fn wait_for_compaction(&self) -> engine_traits::Result<()> {
        Err(unsupported(&self.target_name(), "wait_for_compaction"))
    }

    /// The engine's own cumulative counters (see `engine_traits::Statistics::counters`);
    /// none unless the target has some.
    fn counters(&self) -> engine_traits::Result<Vec<(&'static str, u64)>> {
        Ok(Vec::new())
    }
}

/// An engine through `engine_traits`.
pub struct EngineTarget<E: KvEngine> {
    engine: E,
    name: String,
    path: PathBuf,
}

impl<E: KvEngine> EngineTarget<E> {
    /// Opens `E` with `config`.
    pub fn open(name: &str, config: &EngineConfig) -> engine_traits::Result<Self> {
        Ok(EngineTarget {
            engine: E::open(config)?,
            name: name.to_owned(),
            path: config.path.clone(),
        })
    }
}

impl<E: KvEngine> Target for EngineTarget<E> {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> engine_traits::Result<()> {
        let opts = WriteOptions {
            sync,
            ..WriteOptions::default()
        };
        self.engine.put_opt(&opts, CF_DEFAULT, key, value)
    }

    fn get(&self, key: &[u8]) -> engine_traits::Result<Option<usize>> {
        Ok(self.engine.get(CF_DEFAULT, key)?.map(|v| v.len()))
    }

    fn seek(&self, key: &[u8], nexts: usize) -> engine_traits::Result<(u64, u64)> {
        let mut it = self.engine.iterator(CF_DEFAULT)?;
        let (mut n, mut bytes) = (0, 0);
        if !it.seek(key)? {
            return Ok((0, 0));
        }
        loop {
            n += 1;
            bytes += (it.key().len() + it.value()?.len()) as u64;
            if n > nexts as u64 || !it.next()? {
                return Ok((n, bytes));
            }
        }
    }

    fn scan(&self, each: &mut dyn FnMut(usize)) -> engine_traits::Result<()> {
        let mut it = self.engine.iterator(CF_DEFAULT)?;
        let mut valid = it.seek_to_first()?;
        while valid {
            each(it.key().len() + it.value()?.len());
            valid = it.next()?;
        }
        Ok(())
    }

    fn flush(&self) -> engine_traits::Result<()> {
        self.engine.flush()
    }

    fn bytes_written(&self) -> engine_traits::Result<Result<(u64, u64), String>> {
        match self.engine.as_statistics() {
            Some(s) => {
                let st = s.statistics()?;
                Ok(Ok((st.user_bytes_written, st.engine_bytes_written)))
            }
            None => Ok(Err(format!(
                "engine {} does not declare statistics",
                self.name
            ))),
        }
    }

    fn target_name(&self) -> String {
        self.name.clone()
    }

    fn get_cf(&self, cf: &str, key: &[u8]) -> engine_traits::Result<Option<Vec<u8>>> {
        self.engine.get(cf, key)
    }

    fn seek_cf(
        &self,
        cf: &str,
        from: &[u8],
        each: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> engine_traits::Result<()> {
        let mut it = self.engine.iterator(cf)?;
        let mut valid = it.seek(from)?;
        while valid {
            let value = it.value()?;
            if !each(it.key(), &value) {
                return Ok(());
            }
            valid = it.next()?;
        }
        Ok(())
    }

    fn write_batch(&self, writes: &[CfWrite], sync: bool) -> engine_traits::Result<()> {
        let mut batch = self.engine.write_batch();
        for w in writes {
            match w {
                CfWrite::Put { cf, key, value } => batch.put(cf, key, value)?,
                CfWrite::Delete { cf, key } => batch.delete(cf, key)?,
            }
        }
        let opts = WriteOptions {
            sync,
            ..WriteOptions::default()
        };
        self.engine.write(&opts, &batch)
    }

    /// `engine_traits` has no "wait for background work" hook, so this is the nearest thing
    /// the trait layer offers: flush every CF, then a manual compaction of every CF over its
    /// whole key range (capability `manual_compaction`), which leaves nothing to compact.
    /// Without that capability the wait is NotSupported, and the figures say so.
    fn wait_for_compaction(&self) -> engine_traits::Result<()> {
        let Some(compaction) = self.engine.as_manual_compaction() else {
            return Err(Error::not_supported(format!(
                "wait_for_compaction on engine {}: it declares no manual_compaction, and engine_traits has no other way to settle background work",
                self.name
            )));
        };
        self.engine.flush()?;
        for cf in self.engine.cf_names() {
            compaction.compact_range(&cf, None, None)?;
        }
        Ok(())
    }

    fn counters(&self) -> engine_traits::Result<Vec<(&'static str, u64)>> {
        match self.engine.as_statistics() {
            Some(s) => s.counters(),
            None => Ok(Vec::new()),
        }
    }

    fn dir(&self) -> Result<&Path, String> {
        if E::CAPABILITIES.persistence {
            Ok(&self.path)
        } else {
            Err(format!(
                "engine {} is not persistent: it keeps nothing on disk",
                self.name
            ))
        }
    }
}
