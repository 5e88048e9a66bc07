//! rusty-leveldb's `Status` mapped onto the trait layer's error kinds, and the failpoint
//! helpers.

use std::path::Path;

use engine_traits::Error;
use rusty_leveldb::{Status, StatusCode};

/// The error kind a `Status` means, with its text kept and, for I/O, the database path.
///
/// rusty-leveldb's file errors carry the file in their text (`open (write): ...: <path>`); the
/// path attached here is the database directory, which is what a caller can act on.
pub(crate) fn map_status(status: Status, what: &str, db: &Path) -> Error {
    let message = format!("{what}: {}", status.err);
    match status.code {
        StatusCode::LockError | StatusCode::AlreadyExists => Error::Closed(format!(
            "{message} (the database at {} is held by another handle)",
            db.display()
        )),
        StatusCode::Corruption | StatusCode::InvalidData | StatusCode::CompressionError => {
            Error::corruption(message, Some(db.to_path_buf()), None)
        }
        StatusCode::InvalidArgument => Error::invalid(format!("{message} ({})", db.display())),
        StatusCode::NotSupported => Error::not_supported(message),
        StatusCode::IOError
        | StatusCode::NotFound
        | StatusCode::PermissionDenied
        | StatusCode::Errno(_) => Error::Io {
            message,
            path: Some(db.to_path_buf()),
            source: None,
        },
        StatusCode::OK | StatusCode::AsyncError | StatusCode::Unknown => Error::Other(message),
    }
}

/// A failpoint that fails with `Io` (`return`) or aborts the process (`return(abort)`).
pub(crate) fn fail_point(name: &str) -> std::io::Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
        Err(std::io::Error::other(format!(
            "injected failure at failpoint {name}"
        )))
    });
    let _ = name;
    Ok(())
}

/// A failpoint that can only crash: `return(abort)` aborts the process there; any other action
/// is ignored, because the site sits after the write reached rusty-leveldb, where an error
/// would report a write that is in fact applied.
pub(crate) fn crash_point(name: &str) {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
    });
    let _ = name;
}
