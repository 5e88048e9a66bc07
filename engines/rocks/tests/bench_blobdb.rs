//! The benchmark binary for the registry's `rocks_blobdb` engine: RocksDB with the `blobdb`
//! profile (integrated BlobDB), the baseline the Titan work is measured against.

fn main() {
    engine_bench::Bench::new()
        .engine::<engine_rocks::RocksEngine>("rocks_blobdb", |c| c.with_profile("blobdb"))
        .run();
}
