//! The conformance suite on fjall with the `kv_separation` profile: every keyspace is a blob
//! tree (values of 1 KiB and more in fjall's blob files). Not yet registered as a variant of
//! its own in `[package.metadata.workbench]`; this target keeps the profile honest meanwhile.

fn main() {
    engine_conformance::Suite::<engine_fjall::FjallEngine>::new("fjall_kv_separation")
        .configure(|c| c.with_profile("kv_separation"))
        .run();
}
