//! What a benchmark drives: [`Target`], the handful of operations the workloads need. Every
//! engine is a target through [`EngineTarget`] (the trait layer, as users call it); a
//! baseline (`rocks_raw`: the `rocksdb` crate called directly) implements it by hand, so the
//! difference between the two is what the trait layer costs.

use std::path::{Path, PathBuf};

use engine_traits::{CF_DEFAULT, EngineConfig, EngineIterator, KvEngine, WriteOptions};

/// The operations the workloads need, on the default column family.
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
