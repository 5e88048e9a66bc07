//! The conformance suite on LMDB: every core case, and the capabilities it declares
//! (persistence, checkpoint, bulk_ingest, prefix_seek).

fn main() {
    engine_conformance::Suite::<engine_lmdb::LmdbEngine>::new("lmdb").run();
}
