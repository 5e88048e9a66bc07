//! LMDB's errors as the trait layer's kinds, and the failpoint helper.

use std::path::Path;

use engine_traits::Error;
use heed::MdbError;

/// Reader slots in LMDB's lock table: every open snapshot and iterator holds one, and so does
/// every engine-level `get` while it runs.
pub(crate) const MAX_READERS: u32 = 1024;

/// Maps a heed/LMDB error met while doing `what` on the environment whose data file is
/// `data_file`.
pub(crate) fn map_heed(err: heed::Error, what: &str, data_file: &Path) -> Error {
    match err {
        heed::Error::Io(source) => Error::Io {
            message: format!("{what}: {source}"),
            path: Some(data_file.to_path_buf()),
            source: Some(source),
        },
        heed::Error::Mdb(mdb) => map_mdb(mdb, what, data_file),
        heed::Error::EnvAlreadyOpened => Error::Closed(format!(
            "{what}: the LMDB environment in {} is already open in this process",
            data_file.parent().unwrap_or(data_file).display()
        )),
        heed::Error::Encoding(e) | heed::Error::Decoding(e) => Error::Other(format!("{what}: {e}")),
    }
}

fn map_mdb(mdb: MdbError, what: &str, data_file: &Path) -> Error {
    match mdb {
        MdbError::Corrupted
        | MdbError::PageNotFound
        | MdbError::Invalid
        | MdbError::VersionMismatch
        | MdbError::Incompatible => Error::corruption(
            format!("{what}: {mdb}"),
            Some(data_file.to_path_buf()),
            None,
        ),
        MdbError::Panic => Error::Io {
            message: format!(
                "{what}: LMDB stopped after a fatal error (a commit could not write its meta \
                 page); reopen the engine: {mdb}"
            ),
            path: Some(data_file.to_path_buf()),
            source: None,
        },
        MdbError::MapFull => Error::Other(format!(
            "{what}: the LMDB map is full and could not grow ({mdb}); close snapshots and \
             iterators so the engine can resize the map"
        )),
        MdbError::ReadersFull => Error::Other(format!(
            "{what}: too many snapshots and iterators open at once (LMDB's reader table has \
             {MAX_READERS} slots)"
        )),
        MdbError::TxnFull => Error::Other(format!(
            "{what}: the batch dirties more pages than one LMDB transaction can hold ({mdb}); \
             split it"
        )),
        MdbError::BadValSize => Error::invalid(format!("{what}: {mdb}")),
        other => Error::Other(format!("{what}: {other}")),
    }
}

/// Evaluates failpoint `name` (feature `failpoints`; nothing otherwise): `return` makes it an
/// injected I/O error, `return(abort)` aborts the process there (a crash point for the crash
/// harness).
pub(crate) fn fail_point(name: &str) -> engine_traits::Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
        Err(Error::Io {
            message: format!("injected failure at failpoint {name}"),
            path: None,
            source: None,
        })
    });
    let _ = name;
    Ok(())
}

/// A failpoint that can only crash: `return(abort)` aborts the process there; any other
/// action is ignored, because the sites using it sit after a commit, where an error would
/// report a write that is in fact durable.
pub(crate) fn crash_point(name: &str) {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
    });
    let _ = name;
}
