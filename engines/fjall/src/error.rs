//! fjall's errors mapped onto the trait layer's kinds, with the database path in each message.
//!
//! fjall has one error enum (`fjall::Error`) with lsm-tree's nested inside. I/O failures keep
//! their `std::io::Error` and name the database directory; everything that means "the files do
//! not hold what they should" (checksums, tags, trailers, journal recovery, unknown format
//! version, "unrecoverable") is `Corruption`; a database locked by another handle is `Closed`.

use std::path::Path;

use engine_traits::Error;

/// Maps `err` from an operation described by `what` on the database at `path`.
pub(crate) fn map(err: fjall::Error, what: &str, path: &Path) -> Error {
    use fjall::Error as F;
    match err {
        F::Io(source) => io(source, what, path),
        F::Storage(inner) => map_lsm(inner, what, path),
        F::Locked => Error::Closed(format!(
            "{what}: the fjall database at {} is held by another handle (its lock file is taken)",
            path.display()
        )),
        F::Poisoned => Error::Io {
            message: format!(
                "{what}: fjall refuses writes after an earlier journal write or fsync failed; \
                 reopen the database"
            ),
            path: Some(path.to_path_buf()),
            source: None,
        },
        F::JournalRecovery(e) => corruption(format!("{what}: journal recovery: {e:?}"), path),
        F::InvalidVersion(v) => corruption(
            format!("{what}: not a fjall 3 database (format version {v:?})"),
            path,
        ),
        F::Decompress(c) => corruption(format!("{what}: {c:?} decompression failed"), path),
        F::InvalidTrailer => corruption(format!("{what}: invalid journal trailer"), path),
        F::InvalidTag((what_tag, tag)) => {
            corruption(format!("{what}: invalid {what_tag} tag {tag}"), path)
        }
        F::Unrecoverable => corruption(
            format!("{what}: fjall reports the database as unrecoverable"),
            path,
        ),
        other => Error::Other(format!("{what}: {other} (database {})", path.display())),
    }
}

fn map_lsm(err: fjall::LsmError, what: &str, path: &Path) -> Error {
    use fjall::LsmError as L;
    match err {
        L::Io(source) => io(source, what, path),
        other => corruption(format!("{what}: {other}"), path),
    }
}

fn io(source: std::io::Error, what: &str, path: &Path) -> Error {
    Error::Io {
        message: format!("{what}: {source}"),
        path: Some(path.to_path_buf()),
        source: Some(source),
    }
}

fn corruption(message: String, path: &Path) -> Error {
    Error::corruption(message, Some(path.to_path_buf()), None)
}

/// The error of an injected failure at failpoint `site`.
#[cfg(feature = "failpoints")]
pub(crate) fn injected(site: &str) -> Error {
    Error::Io {
        message: format!("injected failure at failpoint {site}"),
        path: None,
        source: None,
    }
}
