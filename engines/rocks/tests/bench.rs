//! The benchmark binary for `rocks` (see `engine_bench`), and the `rocks_raw` baseline: the
//! `rocksdb` crate called directly, opened with the very options `rocks` gets from its
//! `default` profile. `rocks` against `rocks_raw` in one run is what the trait layer costs.
//! `rocks_raw_pinned` reads values in place, as db_bench does: against `rocks_raw`, what
//! copying each value out costs.

use std::path::{Path, PathBuf};

use engine_bench::{Bench, CfWrite, Declares, Target};
use engine_rocks::{RocksEngine, map_status};
use engine_traits::{Error, Result, WELL_KNOWN_CFS};
use rust_rocksdb::rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, Options, WaitForCompactOptions, WriteBatch,
    WriteOptions,
};
use rust_rocksdb::{OptionsProfile, RocksStats};

/// RocksDB without the trait layer. Every call is the plain `rocksdb` crate call a user of
/// that crate would write.
struct RawRocks {
    /// `rocks_raw` or `rocks_raw_pinned`, for error messages.
    name: &'static str,
    db: DB,
    opts: Options,
    path: PathBuf,
    /// Read values in place (`get_pinned`) instead of copying them into a `Vec` as `get`
    /// does, like db_bench: `rocks_raw_pinned`, which shows what that copy costs.
    pinned: bool,
}

impl RawRocks {
    fn open(name: &'static str, path: &Path, pinned: bool) -> Result<RawRocks> {
        let profile =
            OptionsProfile::load("default").map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        let (mut opts, _) = rust_rocksdb::open_options(&profile);
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // The column families `rocks` opens (the well-known ones: `tikv` needs `lock` and
        // `write`), each named (so the statistics can find it) with the profile's options, as
        // `rocks` opens them. Not `DB::open_cf`: that gives every named CF
        // `Options::default()`, without the profile's block cache and bloom filters (it made
        // this baseline's seeks half as fast as the engine it is a baseline for).
        let cfs = WELL_KNOWN_CFS
            .iter()
            .map(|cf| ColumnFamilyDescriptor::new(*cf, opts.clone()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)
            .map_err(|e| map_status(e.into(), Some(path)))?;
        Ok(RawRocks {
            name,
            db,
            opts,
            path: path.to_owned(),
            pinned,
        })
    }

    fn err(&self, e: rust_rocksdb::rocksdb::Error) -> Error {
        map_status(e.into(), Some(&self.path))
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::unknown_cf(name))
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

    /// Every column family, as `rocks` flushes (the other CFs are empty unless `tikv` runs).
    fn flush(&self) -> Result<()> {
        for name in WELL_KNOWN_CFS {
            self.db.flush_cf(self.cf(name)?).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn bytes_written(&self) -> Result<std::result::Result<(u64, u64), String>> {
        let s = RocksStats::collect(&self.db, &self.opts, &WELL_KNOWN_CFS)
            .map_err(|s| map_status(s, Some(&self.path)))?;
        Ok(Ok((s.user_bytes_written, s.engine_bytes_written())))
    }

    fn dir(&self) -> std::result::Result<&Path, String> {
        Ok(&self.path)
    }

    fn target_name(&self) -> String {
        self.name.to_owned()
    }

    fn get_cf(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = self.cf(cf)?;
        if self.pinned {
            let v = self
                .db
                .get_pinned_cf(handle, key)
                .map_err(|e| self.err(e))?;
            return Ok(v.map(|v| v.to_vec()));
        }
        self.db.get_cf(handle, key).map_err(|e| self.err(e))
    }

    fn seek_cf(
        &self,
        cf: &str,
        from: &[u8],
        each: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let mut it = self.db.raw_iterator_cf(self.cf(cf)?);
        it.seek(from);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !each(k, v) {
                break;
            }
            it.next();
        }
        it.status().map_err(|e| self.err(e))
    }

    fn write_batch(&self, writes: &[CfWrite], sync: bool) -> Result<()> {
        let mut batch = WriteBatch::default();
        for w in writes {
            match w {
                CfWrite::Put { cf, key, value } => batch.put_cf(self.cf(cf)?, key, value),
                CfWrite::Delete { cf, key } => batch.delete_cf(self.cf(cf)?, key),
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db.write_opt(batch, &opts).map_err(|e| self.err(e))
    }

    /// What `rocks` does through the trait layer (flush, then a manual compaction of every
    /// CF over its whole range), then RocksDB's own `WaitForCompact` for anything still
    /// queued, so the two settle the same way.
    fn wait_for_compaction(&self) -> Result<()> {
        self.flush()?;
        for name in WELL_KNOWN_CFS {
            self.db
                .compact_range_cf(self.cf(name)?, None::<&[u8]>, None::<&[u8]>);
        }
        self.db
            .wait_for_compact(&WaitForCompactOptions::default())
            .map_err(|e| self.err(e))
    }
}

fn main() {
    let declares = Declares {
        persistent: true,
        statistics: true,
        settles: true,
    };
    Bench::new()
        .engine::<RocksEngine>("rocks", |c| c)
        .target("rocks_raw", declares, |dir| {
            Ok(Box::new(RawRocks::open("rocks_raw", dir, false)?) as Box<dyn Target>)
        })
        .target("rocks_raw_pinned", declares, |dir| {
            Ok(Box::new(RawRocks::open("rocks_raw_pinned", dir, true)?) as Box<dyn Target>)
        })
        .run();
}
