//! SlateDB's error kinds onto the trait layer's.
//!
//! SlateDB reports a kind ([`slatedb::ErrorKind`]) and a message. An object store that keeps
//! failing (after SlateDB's retries) is `Unavailable`; the database then closes itself with
//! that error and every later call returns it, so it maps to `Io` here: the caller sees the
//! same kind for the write that failed and for everything after it, until a reopen.

use engine_traits::Error;
use slatedb::{CloseReason, ErrorKind};

/// Maps `e`, met while doing `what` on the database at `location`.
pub(crate) fn map(e: slatedb::Error, what: &str, location: &str) -> Error {
    let message = format!("{what} (SlateDB database {location}): {e}");
    match e.kind() {
        ErrorKind::Unavailable => Error::Io {
            message,
            path: Some(location.into()),
            source: None,
        },
        ErrorKind::Data => Error::corruption(message, None, None),
        ErrorKind::Invalid => Error::invalid(message),
        ErrorKind::Closed(CloseReason::Clean) => Error::Closed(message),
        ErrorKind::Closed(CloseReason::Fenced) => Error::Closed(format!(
            "{message}; another writer opened this database and fenced this handle out"
        )),
        _ => Error::Other(message),
    }
}

/// The error a failpoint injects at `site`.
#[cfg(feature = "failpoints")]
pub(crate) fn injected(site: &str) -> Error {
    Error::Io {
        message: format!("injected failure at failpoint {site}"),
        path: None,
        source: None,
    }
}

/// An object-store error as an `Io` error naming the object.
pub(crate) fn store(e: object_store::Error, what: &str) -> Error {
    Error::Io {
        message: format!("{what}: {e}"),
        path: None,
        source: None,
    }
}
