//! redb's errors mapped onto the trait layer's kinds.
//!
//! Every redb error type converts into `redb::Error`, so one function sorts them all. The
//! message keeps redb's own words and says what the wrapper was doing, and the database file
//! is named where the failure concerns it (I/O, corruption, a lock held elsewhere).

use std::path::Path;

use engine_traits::Error;

/// Maps a redb error raised while doing `what` on the database file `file`.
pub(crate) fn map(err: impl Into<redb::Error>, what: &str, file: &Path) -> Error {
    let err: redb::Error = err.into();
    let file_shown = file.display();
    match err {
        redb::Error::DatabaseAlreadyOpen => Error::Closed(format!(
            "{what}: database {file_shown} is held by another handle (redb: {err})"
        )),
        redb::Error::LockProtocolMismatch => Error::Closed(format!(
            "{what}: database {file_shown} is held by a process running another redb version \
             (redb: {err})"
        )),
        redb::Error::DatabaseClosed => Error::Closed(format!(
            "{what}: database {file_shown} is closed (redb: {err})"
        )),
        // redb reports a file that is not a redb database ("magic number mismatch") as an I/O
        // error of kind InvalidData; an operating system never does. It is a failed format
        // check of stored data.
        redb::Error::Io(source) if source.kind() == std::io::ErrorKind::InvalidData => {
            Error::corruption(format!("{what}: {source}"), Some(file.to_path_buf()), None)
        }
        redb::Error::Io(source) => Error::Io {
            message: format!("{what}: {source}"),
            path: Some(file.to_path_buf()),
            source: Some(source),
        },
        redb::Error::Backend(_) => Error::Io {
            message: format!("{what}: storage backend failed: {err}"),
            path: Some(file.to_path_buf()),
            source: None,
        },
        // redb latches the first I/O failure and refuses every later operation until the
        // database is reopened, because its in-memory state may no longer match the file.
        redb::Error::PreviousIo => Error::Io {
            message: format!(
                "{what}: an earlier I/O error left the database unusable until it is reopened \
                 (redb: {err})"
            ),
            path: Some(file.to_path_buf()),
            source: None,
        },
        redb::Error::Corrupted(_)
        | redb::Error::TableTypeMismatch { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableDoesNotExist(_)
        | redb::Error::RepairAborted => {
            Error::corruption(format!("{what}: {err}"), Some(file.to_path_buf()), None)
        }
        redb::Error::ValueTooLarge(len) => Error::invalid(format!(
            "{what}: a key or value of {len} bytes is larger than redb stores (about 3 GiB)"
        )),
        redb::Error::UpgradeRequired(_) => Error::not_supported(format!(
            "{what}: {file_shown} has an older redb file format that must be upgraded first \
             ({err})"
        )),
        redb::Error::Unsupported => Error::not_supported(format!("{what}: {err}")),
        other => Error::Other(format!("{what} on {file_shown}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_traits::ErrorKind;

    #[test]
    fn a_lock_held_elsewhere_is_closed_and_names_the_file() {
        let e = map(
            redb::DatabaseError::DatabaseAlreadyOpen,
            "open",
            Path::new("/db/x"),
        );
        assert_eq!(e.kind(), ErrorKind::Closed);
        assert!(e.to_string().contains("/db/x"), "{e}");
    }

    #[test]
    fn io_keeps_its_source_and_path() {
        let e = map(
            redb::StorageError::Io(std::io::Error::other("disk on fire")),
            "commit",
            Path::new("/db/x"),
        );
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.to_string(),
            "I/O error: commit: disk on fire (path /db/x)"
        );
    }

    #[test]
    fn corruption_names_the_file() {
        let e = map(
            redb::StorageError::Corrupted("bad checksum".into()),
            "read",
            Path::new("/db/x"),
        );
        assert_eq!(e.kind(), ErrorKind::Corruption);
        assert!(e.to_string().contains("(file /db/x)"), "{e}");
    }
}
