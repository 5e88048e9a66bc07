//! The conformance suite on RocksDB with the `blobdb` profile (integrated BlobDB): the
//! registry's `rocks_blobdb` engine.

fn main() {
    engine_conformance::Suite::<engine_rocks::RocksEngine>::new("rocks_blobdb")
        .configure(|c| c.with_profile("blobdb"))
        .run();
}
