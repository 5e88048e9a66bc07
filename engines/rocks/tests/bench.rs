//! The benchmark binary for `rocks` (see `engine_bench`), and the `rocks_raw` baseline: the
//! `rocksdb` crate called directly, opened with the very options `rocks` gets from its
//! `default` profile. `rocks` against `rocks_raw` in one run is what the trait layer costs.
//! `rocks_raw_pinned` reads values in place, as db_bench does: against `rocks_raw`, what
//! copying each value out costs.

use std::path::{Path, PathBuf};

use engine_bench::{Bench, Target};
use engine_rocks::{RocksEngine, map_status};
use engine_traits::{Error, Result};
use rust_rocksdb::rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteOptions};
use rust_rocksdb::{OptionsProfile, RocksStats};

/// RocksDB without the trait layer. Every call is the plain `rocksdb` crate call a user of
/// that crate would write.
struct RawRocks {
    db: DB,
    opts: Options,
    path: PathBuf,
    /// Read values in place (`get_pinned`) instead of copying them into a `Vec` as `get`
    /// does, like db_bench: `rocks_raw_pinned`, which shows what that copy costs.
    pinned: bool,
}

impl RawRocks {
    fn open(path: &Path, pinned: bool) -> Result<RawRocks> {
        let profile = OptionsProfile::load("default")
            .map_err(|e| Error::invalid(format!("rocks_raw: {e}")))?;
        let (mut opts, _) = rust_rocksdb::open_options(&profile);
        opts.create_if_missing(true);
        // The column family is named (so the statistics can find it) with the profile's options,
        // as `rocks` opens it. Not `DB::open_cf`: that gives every named CF `Options::default()`,
        // without the profile's block cache and bloom filters (it made this baseline's seeks
        // half as fast as the engine it is a baseline for).
        let cf = ColumnFamilyDescriptor::new("default", opts.clone());
        let db = DB::open_cf_descriptors(&opts, path, [cf])
            .map_err(|e| map_status(e.into(), Some(path)))?;
        Ok(RawRocks {
            db,
            opts,
            path: path.to_owned(),
            pinned,
        })
    }

    fn err(&self, e: rust_rocksdb::rocksdb::Error) -> Error {
        map_status(e.into(), Some(&self.path))
    }
}

impl Target for RawRocks {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let mut w = WriteOptions::default();
        w.set_sync(sync);
        self.db.put_opt(key, value, &w).map_err(|e| self.err(e))
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        if self.pinned {
            let v = self.db.get_pinned(key).map_err(|e| self.err(e))?;
            return Ok(v.map(|v| v.len()));
        }
        Ok(self.db.get(key).map_err(|e| self.err(e))?.map(|v| v.len()))
    }

    fn seek(&self, key: &[u8], nexts: usize) -> Result<(u64, u64)> {
        let mut it = self.db.raw_iterator();
        it.seek(key);
        let (mut n, mut bytes) = (0u64, 0u64);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            n += 1;
            bytes += (k.len() + v.len()) as u64;
            if n > nexts as u64 {
                break;
            }
            it.next();
        }
        it.status().map_err(|e| self.err(e))?;
        Ok((n, bytes))
    }

    fn scan(&self, each: &mut dyn FnMut(usize)) -> Result<()> {
        let mut it = self.db.raw_iterator();
        it.seek_to_first();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            each(k.len() + v.len());
            it.next();
        }
        it.status().map_err(|e| self.err(e))
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(|e| self.err(e))
    }

    fn bytes_written(&self) -> Result<std::result::Result<(u64, u64), String>> {
        let s = RocksStats::collect(&self.db, &self.opts, &["default"])
            .map_err(|s| map_status(s, Some(&self.path)))?;
        Ok(Ok((s.user_bytes_written, s.engine_bytes_written())))
    }

    fn dir(&self) -> std::result::Result<&Path, String> {
        Ok(&self.path)
    }
}

fn main() {
    Bench::new()
        .engine::<RocksEngine>("rocks", |c| c)
        .target("rocks_raw", true, true, |dir| {
            Ok(Box::new(RawRocks::open(dir, false)?) as Box<dyn Target>)
        })
        .target("rocks_raw_pinned", true, true, |dir| {
            Ok(Box::new(RawRocks::open(dir, true)?) as Box<dyn Target>)
        })
        .run();
}
