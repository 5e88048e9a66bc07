//! The library half of `cargo xtask`, so integration tests can call the generators directly
//! (see `main.rs` for what xtask is and is not for).

pub mod bench;
pub mod board;
pub mod cargo;
pub mod docs;
pub mod doctor;
pub mod list;
pub mod new_engine;
pub mod registry;
pub mod scorecard;
pub mod test_all;
