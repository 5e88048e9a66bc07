//! The conformance suite on fjall with its default profile.

fn main() {
    engine_conformance::Suite::<engine_fjall::FjallEngine>::new("fjall").run();
}
