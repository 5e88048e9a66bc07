//! The crash-recovery suite: SIGKILL a writer, reopen, check (see `failpoints::crash`). The
//! catalog's crash sites (`fjall::before_commit`) get abort trials of their own.

fn main() {
    failpoints::crash::main::<engine_fjall::FjallEngine>(
        "fjall",
        env!("CARGO_MANIFEST_DIR"),
        |c| c,
    );
}
