//! RocksDB statuses to engine error kinds.

use std::path::{Path, PathBuf};

use engine_traits::Error;
use rust_rocksdb::Status;
use rust_rocksdb::rocksdb::ErrorKind as K;

/// Maps a RocksDB status onto the trait layer's error kinds, keeping RocksDB's message.
/// `path` is the engine directory (or file) the operation concerned, for `Io` errors.
///
/// - `Corruption` keeps the file RocksDB names in its message (an `.sst`, `.log`, `.blob` or
///   `MANIFEST-` path) and the offset when it gives one.
/// - `IO error` on the `LOCK` file means another handle holds the database: `Closed`.
/// - `Shutdown in progress` is `Closed`; `Not implemented` is `NotSupported`.
pub fn map_status(s: Status, path: Option<&Path>) -> Error {
    let msg = s.message;
    match s.kind {
        K::Corruption => {
            let file = file_in(&msg);
            let offset = offset_in(&msg);
            Error::Corruption {
                message: msg,
                file,
                offset,
            }
        }
        K::InvalidArgument => Error::InvalidArgument(msg),
        K::NotSupported => Error::NotSupported { what: msg },
        K::ShutdownInProgress => Error::Closed(msg),
        K::IOError if msg.contains("lock") || msg.contains("LOCK") => Error::Closed(msg),
        K::IOError | K::NotFound => Error::Io {
            message: msg,
            path: path.map(Path::to_path_buf),
            source: None,
        },
        _ => Error::Other(msg),
    }
}

/// The first token of `msg` that looks like a RocksDB file path.
fn file_in(msg: &str) -> Option<PathBuf> {
    msg.split(|c: char| c.is_whitespace() || c == ',' || c == ':' || c == '\'' || c == '"')
        .find(|t| {
            t.ends_with(".sst")
                || t.ends_with(".log")
                || t.ends_with(".blob")
                || t.contains("MANIFEST-")
        })
        .map(PathBuf::from)
}

/// The number after "offset" in `msg`, when RocksDB gives one.
fn offset_in(msg: &str) -> Option<u64> {
    let rest = &msg[msg.find("offset ")? + "offset ".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_traits::ErrorKind;

    #[test]
    fn corruption_keeps_file_and_offset() {
        let s = Status::from_message(
            "Corruption: block checksum mismatch: stored = 1, computed = 2  in /tmp/db/000009.sst offset 4096 size 3000".into(),
        );
        match map_status(s, None) {
            Error::Corruption { file, offset, .. } => {
                assert_eq!(file, Some(PathBuf::from("/tmp/db/000009.sst")));
                assert_eq!(offset, Some(4096));
            }
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn lock_errors_are_closed_and_io_keeps_path() {
        let s = Status::from_message(
            "IO error: While lock file: /db/LOCK: Resource temporarily unavailable".into(),
        );
        assert_eq!(map_status(s, None).kind(), ErrorKind::Closed);
        let s = Status::from_message("IO error: While mkdir if missing: /x: File exists".into());
        let e = map_status(s, Some(Path::new("/x")));
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.to_string().contains("(path /x)"), "{e}");
    }
}
