//! `rust-rocksdb`: the one place the workbench touches RocksDB.
//!
//! # What it is for
//! - **Build policy**: the only crate that depends on the `rocksdb` crate; its features are
//!   chosen in this crate's `Cargo.toml` and explained in its README, so RocksDB's C++ is
//!   compiled once, the same way, for tests, clippy and benchmarks.
//! - **Options profiles** ([`OptionsProfile`]): RocksDB options as YAML, built-in
//!   (`default`, `write-heavy`, `blobdb`) or from a file, with errors that name file, line
//!   and key.
//! - **Typed statistics** ([`RocksStats`]): tickers and properties as numbers, so write
//!   amplification is a division, not a string parse.
//! - **Raw extras** ([`raw`]): the bindgen C API of `librocksdb-sys` behind safe types, for
//!   what the safe crate lacks (write-batch save points today).
//!
//! # What it is not for
//! It knows nothing of `engine_traits`: mapping RocksDB onto the trait layer is
//! `engines/rocks`'s job. Other crates reach RocksDB types through the [`rocksdb`]
//! re-export, never through a dependency of their own.
#![deny(missing_docs)]

pub mod profile;
pub mod raw;
mod stats;

use std::fmt;

pub use profile::{ByteSize, Compression, OptionsProfile, ProfileError, TitanProfile};
pub use rocksdb;
pub use stats::RocksStats;

/// A RocksDB status: its kind and its message (`"Corruption: block checksum mismatch ..."`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// RocksDB's status code.
    pub kind: rocksdb::ErrorKind,
    /// The message as RocksDB wrote it.
    pub message: String,
}

impl Status {
    /// A status parsed from a RocksDB message, by its prefix (`"IO error: "`, ...).
    pub fn from_message(message: String) -> Status {
        use rocksdb::ErrorKind as K;
        const PREFIXES: [(&str, K); 13] = [
            ("NotFound", K::NotFound),
            ("Corruption", K::Corruption),
            ("Not implemented", K::NotSupported),
            ("Invalid argument", K::InvalidArgument),
            ("IO error", K::IOError),
            ("Merge in progress", K::MergeInProgress),
            ("Result incomplete", K::Incomplete),
            ("Shutdown in progress", K::ShutdownInProgress),
            ("Operation timed out", K::TimedOut),
            ("Operation aborted", K::Aborted),
            ("Resource busy", K::Busy),
            ("Operation expired", K::Expired),
            ("Operation failed. Try again.", K::TryAgain),
        ];
        let kind = PREFIXES
            .iter()
            .find(|(p, _)| message.starts_with(p))
            .map_or(K::Unknown, |(_, k)| k.clone());
        Status { kind, message }
    }

    /// An `InvalidArgument` status of our own making.
    pub fn invalid(message: String) -> Status {
        Status {
            kind: rocksdb::ErrorKind::InvalidArgument,
            message,
        }
    }
}

impl From<rocksdb::Error> for Status {
    fn from(e: rocksdb::Error) -> Self {
        Status {
            kind: e.kind(),
            message: e.into_string(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Status {}

/// Base DB options for a profile: statistics on (for [`RocksStats`]), the profile applied,
/// its table options set. Returns the options and the table options to give every CF.
pub fn open_options(profile: &OptionsProfile) -> (rocksdb::Options, rocksdb::BlockBasedOptions) {
    let mut opts = rocksdb::Options::default();
    opts.enable_statistics();
    let table = profile.apply(&mut opts);
    opts.set_block_based_table_factory(&table);
    (opts, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_kind_comes_from_the_message_prefix() {
        let s = Status::from_message("Corruption: bad block contents in file 000012.sst".into());
        assert_eq!(s.kind, rocksdb::ErrorKind::Corruption);
        assert_eq!(
            Status::from_message("IO error: While open: x".into()).kind,
            rocksdb::ErrorKind::IOError
        );
        assert_eq!(
            Status::from_message("weird".into()).kind,
            rocksdb::ErrorKind::Unknown
        );
    }

    #[test]
    fn statistics_count_flushed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut opts, _) = open_options(&OptionsProfile::load("default").unwrap());
        opts.create_if_missing(true);
        let db = rocksdb::DB::open_cf(&opts, dir.path(), ["default"]).unwrap();
        for i in 0..1000u32 {
            db.put(i.to_be_bytes(), [7u8; 1000]).unwrap();
        }
        db.flush().unwrap();
        let s = RocksStats::collect(&db, &opts, &["default"]).unwrap();
        assert!(s.user_bytes_written >= 1_004_000, "{s:?}");
        assert!(s.wal_bytes_written >= 1_004_000, "{s:?}");
        assert!(s.flush_bytes_written > 0 && s.live_sst_size > 0, "{s:?}");
        assert!(s.write_amplification().unwrap() > 1.0, "{s:?}");
    }
}
