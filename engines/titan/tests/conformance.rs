//! The conformance suite on Titan (values of 4 KiB and more go to blob files; the metamorphic
//! layer generates values on both sides of that).

fn main() {
    engine_conformance::Suite::<engine_titan::TitanEngine>::new("titan").run();
}
