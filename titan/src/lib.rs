//! `titan`: key-value separation over RocksDB, WiscKey-style.
//!
//! # What it is for
//! Large values make an LSM rewrite the same bytes at every compaction. Titan keeps values of
//! `min_blob_size` and more in append-only blob files and stores a small blob index in
//! RocksDB instead, so compaction moves 21 bytes per large value, not the value.
//!
//! TiKV's Titan separates values inside RocksDB's flush (a table builder) and tracks garbage
//! with table-property collectors; the `rocksdb` crate exposes neither, so this crate
//! separates at write time: a large value is appended to a blob file *before* the RocksDB
//! batch that points at it, and the blob file is the value's only log (it is not also in the
//! WAL). The pieces:
//!
//! - [`format`]: blob file layout (header, checksummed records carrying CF and key, footer)
//!   and the LSM value encoding (inline or blob index).
//! - [`storage`]: the active file, rotation at `blob_file_size`, recovery (torn tails are
//!   truncated on open), checked `pread`s.
//! - [`TitanDb`]: the write path (blob append and fsync, then the LSM batch: a crash in
//!   between leaves garbage, never a dangling index), reads, snapshots and *pins* (a blob file
//!   made obsolete by GC is deleted only once no snapshot, iterator or read in flight can
//!   still reach it), greedy garbage collection (victims chosen from [`usage`]'s counters;
//!   each victim's keys looked up in the LSM, live records rewritten; indexes committed only
//!   where the key still points at the old record; background and on demand), checkpoint
//!   and bulk ingest.
//! - [`usage`]: every blob file's live and total record bytes, kept by the write path,
//!   persisted at a clean close, recounted from the LSM otherwise.
//!
//! # What it is not for
//! It knows nothing of `engine_traits`: `engines/titan` adapts it. It does not compress blob
//! records and does not separate inside flush or compaction.
#![deny(missing_docs)]

mod db;
pub mod format;
pub mod storage;
pub mod usage;
pub mod wal;

use std::path::{Path, PathBuf};

pub use db::{
    BlobFileStats, GcReport, Pin, TitanCounters, TitanDb, TitanOptions, TitanSnapshot, WriteOp,
};
pub use rust_rocksdb::Status;
pub use storage::simulate_power_loss;
pub use usage::{FileUsage, UsageSource};

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong in Titan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RocksDB returned a status.
    #[error("{0}")]
    Rocks(#[from] Status),
    /// Blob data failed a check.
    #[error("corruption: {message}{}{}", file.as_ref().map(|p| format!(" (file {})", p.display())).unwrap_or_default(), offset.map(|o| format!(" at offset {o}")).unwrap_or_default())]
    Corruption {
        /// What failed.
        message: String,
        /// The blob file.
        file: Option<PathBuf>,
        /// The record offset.
        offset: Option<u64>,
    },
    /// A blob file operation failed.
    #[error("I/O error: {source} (path {})", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// A failpoint injected this error (tests only).
    #[error("injected failure at failpoint {0}")]
    Injected(String),
}

impl Error {
    pub(crate) fn corruption(message: impl Into<String>, file: &Path, offset: u64) -> Error {
        Error::Corruption {
            message: message.into(),
            file: Some(file.to_path_buf()),
            offset: Some(offset),
        }
    }

    pub(crate) fn io(source: std::io::Error, path: impl AsRef<Path>) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

impl From<rust_rocksdb::rocksdb::Error> for Error {
    fn from(e: rust_rocksdb::rocksdb::Error) -> Self {
        Error::Rocks(e.into())
    }
}

/// The failpoint sites of Titan, for the failpoint plugin catalog: (name, where, what a test
/// may do there).
pub const FAILPOINTS: [(&str, &str, &str); 10] = [
    (
        "titan::blob::append",
        "before large values are appended to the active blob file",
        "return: I/O error; panic: crash before the append",
    ),
    (
        "titan::blob::fsync",
        "after the blob fsync of a synced write, before the LSM write",
        "return: error after the data is durable",
    ),
    (
        "titan::blob::short_write",
        "inside the blob append: half the bytes are written, then an error",
        "return: a short write",
    ),
    (
        "titan::blob::skip_fsync",
        "instead of the blob fsync of a synced write",
        "return: skip the fsync (a deliberate durability bug)",
    ),
    (
        "titan::lsm::before_write",
        "after blob records are written, before the RocksDB batch",
        "return/panic: blob records become garbage",
    ),
    (
        "titan::gc::rewrite",
        "before GC rewrites a file's live records",
        "return: GC fails, every key stays readable",
    ),
    (
        "titan::gc::commit",
        "after GC wrote new records, before it commits new indexes",
        "return/panic: new file is garbage, old stays",
    ),
    (
        "titan::gc::delete_obsolete",
        "before an obsolete blob file is deleted",
        "return: the file is kept for the next pass",
    ),
    (
        "titan::usage::persist",
        "at a clean close, after the garbage counters' temporary file is fsynced, before its rename",
        "return: no counters file (the next open recounts); return(abort): a crash there",
    ),
    (
        IO_SITE,
        "the file layer: before every create, write, sync and delete of a blob file or log",
        "return(op=..,path=..): an I/O error on the chosen operation and/or path",
    ),
];

/// Evaluates failpoint `name`: `Err(Injected)` when a test configured `return` there.
/// Compiled to nothing without the `failpoints` feature.
/// `return(abort)` aborts the process there (a crash point for the crash harness).
pub(crate) fn fail_point(name: &str) -> Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
        Err(Error::Injected(name.to_owned()))
    });
    let _ = name;
    Ok(())
}

/// The fault-injecting file layer: one site, `titan::io`, evaluated before every operation on
/// Titan's own files (blob files and their logs) with the operation and the path. Its
/// `return` argument chooses what fails: `return` fails every operation,
/// `return(op=sync)` one kind (`create`, `write`, `sync`, `delete`),
/// `return(path=000002.blob)` the files whose path contains the text, and
/// `return(op=write,path=.blob)` both at once. The failure is an I/O error naming the path.
pub(crate) fn io_fault(op: &str, path: &Path) -> std::io::Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(IO_SITE, |arg: Option<String>| {
        match io_fault_matches(arg.as_deref(), op, path) {
            Ok(true) => Err(std::io::Error::other(format!(
                "injected {op} failure at failpoint {IO_SITE}"
            ))),
            Ok(false) => Ok(()),
            Err(bad) => panic!("failpoint {IO_SITE}: {bad}"),
        }
    });
    let _ = (op, path);
    Ok(())
}

/// The name of the file layer's failpoint site.
pub const IO_SITE: &str = "titan::io";

/// Whether `titan::io`'s argument selects operation `op` on `path`; an error names a malformed
/// argument (a test's typo must not pass as "never matched").
pub fn io_fault_matches(
    arg: Option<&str>,
    op: &str,
    path: &Path,
) -> std::result::Result<bool, String> {
    let Some(arg) = arg.filter(|a| !a.trim().is_empty()) else {
        return Ok(true);
    };
    let mut selected = true;
    for part in arg.split(',') {
        match part.trim().split_once('=') {
            Some(("op", want)) => {
                if !["create", "write", "sync", "delete"].contains(&want) {
                    return Err(format!(
                        "unknown operation {want:?} in {arg:?} (create, write, sync or delete)"
                    ));
                }
                selected &= want == op;
            }
            Some(("path", text)) => selected &= path.to_string_lossy().contains(text),
            _ => {
                return Err(format!(
                    "cannot read {part:?} in {arg:?}: expected op=..., path=... or both"
                ));
            }
        }
    }
    Ok(selected)
}

/// Whether failpoint `name` is configured to `return` (for sites that skip a step).
pub(crate) fn fail_point_hit(name: &str) -> bool {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |_| true);
    let _ = name;
    false
}

#[cfg(test)]
mod io_fault_tests {
    use super::io_fault_matches;
    use std::path::Path;

    #[test]
    fn the_argument_selects_operation_and_path() {
        let blob = Path::new("/db/titan/000002.blob");
        assert_eq!(io_fault_matches(None, "sync", blob), Ok(true));
        assert_eq!(io_fault_matches(Some("op=sync"), "sync", blob), Ok(true));
        assert_eq!(io_fault_matches(Some("op=sync"), "write", blob), Ok(false));
        assert_eq!(
            io_fault_matches(Some("path=000002"), "write", blob),
            Ok(true)
        );
        assert_eq!(
            io_fault_matches(Some("path=000003"), "write", blob),
            Ok(false)
        );
        assert_eq!(
            io_fault_matches(Some("op=write, path=.blob"), "write", blob),
            Ok(true)
        );
        assert_eq!(
            io_fault_matches(Some("op=write,path=.blob"), "sync", blob),
            Ok(false)
        );
    }

    #[test]
    fn a_malformed_argument_is_an_error_not_a_silent_miss() {
        let blob = Path::new("000002.blob");
        let e = io_fault_matches(Some("op=fsync"), "sync", blob).unwrap_err();
        assert!(e.contains("fsync"), "{e}");
        let e = io_fault_matches(Some("file=x"), "sync", blob).unwrap_err();
        assert!(e.contains("file=x"), "{e}");
    }
}
