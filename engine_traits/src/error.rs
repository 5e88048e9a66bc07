//! The one error type of the trait layer.
//!
//! Every engine maps its own failures onto these variants, so a caller (and the conformance
//! suite) can match on [`ErrorKind`] without knowing which engine it talks to. Nothing
//! engine-specific lives here: a RocksDB status string becomes `Corruption`, `Io`, ... in the
//! engine crate, with the original text kept in the message.

use std::fmt;
use std::path::PathBuf;

/// The result type of every fallible trait method.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong, without the details: the thing tests and callers match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A column family the engine was not opened with.
    UnknownCf,
    /// The caller broke a documented precondition (reversed range, no save point, ...).
    InvalidArgument,
    /// Stored data failed a check (checksum, format, missing file).
    Corruption,
    /// The operating system refused an I/O operation.
    Io,
    /// The engine does not implement this method or capability.
    NotSupported,
    /// The engine was closed, or is held by another process.
    Closed,
    /// Anything the other kinds do not describe; the message says what.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ErrorKind::UnknownCf => "unknown column family",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Corruption => "corruption",
            ErrorKind::Io => "I/O error",
            ErrorKind::NotSupported => "not supported",
            ErrorKind::Closed => "closed",
            ErrorKind::Other => "other",
        };
        f.write_str(name)
    }
}

/// An engine error. Each variant carries what a person needs to find the cause: the column
/// family, the file and offset, the path, or the capability that is missing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The column family named was not among those the engine was opened with.
    #[error("unknown column family {cf:?}")]
    UnknownCf {
        /// The name the caller passed.
        cf: String,
    },
    /// A documented precondition was broken; the message names the argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Stored data failed a check.
    #[error("corruption: {message}{}{}", file.as_ref().map(|p| format!(" (file {})", p.display())).unwrap_or_default(), offset.map(|o| format!(" at offset {o}")).unwrap_or_default())]
    Corruption {
        /// What failed, in the engine's words.
        message: String,
        /// The file the bad data was read from, when the engine knows it.
        file: Option<PathBuf>,
        /// The byte offset in `file`, when the engine knows it.
        offset: Option<u64>,
    },
    /// An I/O operation failed.
    #[error("I/O error: {message}{}", path.as_ref().map(|p| format!(" (path {})", p.display())).unwrap_or_default())]
    Io {
        /// What was being done, and the system's answer.
        message: String,
        /// The path involved, when known.
        path: Option<PathBuf>,
        /// The underlying error, when the engine had a `std::io::Error`.
        #[source]
        source: Option<std::io::Error>,
    },
    /// The engine lacks a method or capability. `what` names it: a method (`"put"`), or a
    /// capability (`"checkpoint"`).
    #[error("not supported: {what}")]
    NotSupported {
        /// The missing method or capability.
        what: String,
    },
    /// The engine is closed, or another process holds it.
    #[error("closed: {0}")]
    Closed(String),
    /// Anything else; the message says what.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The kind of this error, for matching.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownCf { .. } => ErrorKind::UnknownCf,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Corruption { .. } => ErrorKind::Corruption,
            Error::Io { .. } => ErrorKind::Io,
            Error::NotSupported { .. } => ErrorKind::NotSupported,
            Error::Closed(_) => ErrorKind::Closed,
            Error::Other(_) => ErrorKind::Other,
        }
    }

    /// `UnknownCf` for `cf`.
    pub fn unknown_cf(cf: &str) -> Self {
        Error::UnknownCf { cf: cf.to_owned() }
    }

    /// `InvalidArgument` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// `NotSupported` naming a method or capability.
    pub fn not_supported(what: impl Into<String>) -> Self {
        Error::NotSupported { what: what.into() }
    }

    /// `Corruption` with a message and, where known, the file and offset.
    pub fn corruption(
        message: impl Into<String>,
        file: Option<PathBuf>,
        offset: Option<u64>,
    ) -> Self {
        Error::Corruption {
            message: message.into(),
            file,
            offset,
        }
    }

    /// `Io` from a `std::io::Error`, naming the path it happened on.
    pub fn io(source: std::io::Error, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Error::Io {
            message: source.to_string(),
            path: Some(path),
            source: Some(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_message_names_file_and_offset() {
        let e = Error::corruption("bad checksum", Some("/db/000001.blob".into()), Some(4096));
        assert_eq!(
            e.to_string(),
            "corruption: bad checksum (file /db/000001.blob) at offset 4096"
        );
        assert_eq!(e.kind(), ErrorKind::Corruption);
    }

    #[test]
    fn io_error_names_path_and_keeps_source() {
        let e = Error::io(std::io::Error::other("disk on fire"), "/db/LOCK");
        assert_eq!(e.to_string(), "I/O error: disk on fire (path /db/LOCK)");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn not_supported_names_what() {
        assert_eq!(
            Error::not_supported("checkpoint").to_string(),
            "not supported: checkpoint"
        );
    }
}
