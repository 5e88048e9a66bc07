//! `rocks_engine_common`: what RocksDB means the same way under every engine built on it.
//!
//! # What it is for
//! The pieces of the trait mapping that do not depend on how an engine uses RocksDB, shared by
//! `engine_rocks` (RocksDB itself) and `engine_titan` (Titan, whose LSM is a RocksDB), so
//! neither engine depends on the other:
//! - [`map_status`]: RocksDB statuses to the trait layer's error kinds;
//! - [`RocksIterator`]: RocksDB's raw iterator as an `EngineIterator`, bounds in RocksDB's
//!   `ReadOptions`, with a [`ResolveValue`] hook for engines that store something other than
//!   the value ([`Plain`] for those that store the value itself);
//! - [`iter_read_opts`]: an `IterOptions` as RocksDB read options (bounds, prefix mode,
//!   total-order seek under a prefix extractor).
//!
//! # What it is not for
//! Opening, options profiles, write paths, snapshots or capabilities: those belong to each
//! engine. It is not an engine (no `[package.metadata.workbench]`, not under `engines/`), it
//! knows no engine crate, and it reaches RocksDB only through `rust-rocksdb`.
#![deny(missing_docs)]

mod error;
mod iterator;

use engine_traits::{Error, IterOptions, Result};
use rust_rocksdb::rocksdb;

pub use error::map_status;
pub use iterator::{Plain, ResolveValue, RocksIterator};

/// Read options for an iterator: bounds, prefix mode, and total-order seek when a prefix
/// extractor is configured (`prefix_len` is `Some`) but prefix mode is off (otherwise RocksDB
/// may skip keys). `InvalidArgument` for reversed bounds or prefix mode without a prefix
/// length.
pub fn iter_read_opts(
    opts: &IterOptions,
    prefix_len: Option<usize>,
) -> Result<rocksdb::ReadOptions> {
    opts.check()?;
    if opts.prefix_same_as_start && prefix_len.is_none() {
        return Err(Error::invalid(
            "prefix_same_as_start needs an engine opened with prefix_len",
        ));
    }
    let mut r = rocksdb::ReadOptions::default();
    r.fill_cache(opts.fill_cache);
    if let Some(l) = &opts.lower_bound {
        r.set_iterate_lower_bound(l.clone());
    }
    if let Some(u) = &opts.upper_bound {
        r.set_iterate_upper_bound(u.clone());
    }
    if opts.prefix_same_as_start {
        r.set_prefix_same_as_start(true);
    } else if prefix_len.is_some() {
        r.set_total_order_seek(true);
    }
    Ok(r)
}
