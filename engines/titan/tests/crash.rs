//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`).

fn main() {
    failpoints::crash::main::<engine_titan::TitanEngine>(
        "titan",
        env!("CARGO_MANIFEST_DIR"),
        |c| c,
    );
}
