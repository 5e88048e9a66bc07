//! The engine trait layer of the Engine SIG Workbench.
//!
//! # What this crate is for
//! One abstraction every key-value storage engine in the workbench implements, so that the
//! same conformance suite, fault scenarios and benchmarks run on all of them. It holds the
//! traits, the option types, the one error type, and nothing engine-specific: no RocksDB
//! type, no file format, no dependency on any engine crate.
//!
//! # What it is not for
//! It is not an engine and not a test suite: the cases that say what "correct" means live in
//! `engine_conformance` (`engine_traits/conformance/`), and engines live under `engines/`.
//!
//! # The design: a small required core, opt-in capabilities
//! TiKV's `engine_traits` makes every feature a mandatory supertrait of `KvEngine`, so its
//! template engine stubs about 240 methods. Here the core is short:
//!
//! - [`KvEngine`] (open with a list of CFs, single writes, atomic [`WriteBatch`]es with save
//!   points, snapshots, `sync`, `flush`) and [`Readable`] (`get`, bounded [`EngineIterator`]s)
//!   which both the engine and its snapshots implement. Iterators and snapshots are generic
//!   associated types, so they may borrow their engine: no `Arc` cloning is forced on anyone.
//! - Everything else is a [`Capability`]: declared in [`KvEngine::CAPABILITIES`] and, where it
//!   has methods, reached through an accessor returning a trait object
//!   ([`KvEngine::as_checkpoint`], ...). The accessors default to `None`, so a new engine
//!   compiles without mentioning them, and the suite reports their cases as *ignored, with
//!   reason*, never as passed.
//! - One [`Error`] with kinds ([`ErrorKind`]): unknown CF, invalid argument, corruption (file,
//!   offset), I/O (path), not supported (what), closed.
//!
//! # The contract, in brief (each method's rustdoc has the details)
//! - Iterator bounds: lower inclusive, upper exclusive; `lower > upper` is `InvalidArgument`.
//! - `delete_range(start, end)` deletes `start`, keeps `end`; `start == end` is a no-op;
//!   `start > end` is `InvalidArgument`.
//! - A batch is atomic; writing it twice applies it twice; rolling back with no save point
//!   is `InvalidArgument` and leaves the batch as it was.
//! - Snapshots and iterators see the state at their creation, `delete_range` included.
//! - `key()`/`value()` on an invalid iterator panic; `next()`/`prev()` there return
//!   `InvalidArgument`.
//!
//! # Adding an engine
//! Run `cargo xtask new-engine NAME`: it copies `engines/template` (every core method returns
//! `NotSupported`), and `cargo test -p engine_NAME --test conformance` becomes your checklist.
//! Implement the core methods until the core cases pass, then declare capabilities one by one.
//! [`OpBatch`] is a ready [`WriteBatch`] if your engine applies batches itself.
#![deny(missing_docs)]

pub mod bounds;
mod capabilities;
mod engine;
mod error;
mod iterator;
mod op_batch;
mod options;
mod write_batch;

pub use capabilities::{
    BulkIngest, Capabilities, Capability, Checkpoint, EngineStats, ManualCompaction, Statistics,
};
pub use engine::{KvEngine, Readable};
pub use error::{Error, ErrorKind, Result};
pub use iterator::{EngineIterator, INVALID_ITERATOR_PANIC};
pub use op_batch::{BatchOp, OpBatch};
pub use options::{
    CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE, EngineConfig, IterOptions, ReadOptions, WELL_KNOWN_CFS,
    WriteOptions, check_range,
};
pub use write_batch::WriteBatch;

/// Renders a key for an error message: printable ASCII as is, anything else as hex, and long
/// keys cut, so a message stays one readable line.
pub fn display_key(key: &[u8]) -> String {
    const MAX: usize = 64;
    let shown = &key[..key.len().min(MAX)];
    let mut out = if shown.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(shown))
    } else {
        let hex: String = shown.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{hex}")
    };
    if key.len() > MAX {
        out.push_str(&format!("...({} bytes)", key.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_key_shows_text_or_hex() {
        assert_eq!(display_key(b"user1"), "\"user1\"");
        assert_eq!(display_key(&[0, 255]), "0x00ff");
        assert!(display_key(&[b'a'; 100]).ends_with("...(100 bytes)"));
    }

    #[test]
    fn reversed_iterator_bounds_are_invalid() {
        let opts = IterOptions::bounded(Some(b"b"), Some(b"a"));
        assert_eq!(opts.check().unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert!(IterOptions::bounded(Some(b"a"), Some(b"a")).check().is_ok());
    }
}
