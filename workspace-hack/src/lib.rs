//! `workbench-hack`: the workspace-hack crate, managed by `cargo hakari`.
//!
//! # What it is for
//! Every workspace member depends on it, and it depends on each third-party crate with the
//! union of the features the whole workspace uses. So any `cargo` command, whatever packages
//! it selects, builds each dependency with one feature set, and RocksDB's C++ (under
//! `librocksdb-sys`) is compiled once per target directory instead of once per selection.
//! The settings and the reasons are in `.config/hakari.toml`.
//!
//! # What it is not for
//! Code: it has none. Its `Cargo.toml` is generated (`cargo hakari generate`); never edit the
//! section between the HAKARI markers by hand.
