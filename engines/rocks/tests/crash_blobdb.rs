//! The crash-recovery suite on RocksDB with the `blobdb` profile: the registry's
//! `rocks_blobdb` engine, whose large values live in blob files with their own syncs.

fn main() {
    failpoints::crash::main::<engine_rocks::RocksEngine>(
        "rocks_blobdb",
        env!("CARGO_MANIFEST_DIR"),
        |c| c.with_profile("blobdb"),
    );
}
