//! The docs step of test-all on a scratch copy of the book: it passes as the book is, and a
//! deliberately broken link fails it, naming the page and the link.

use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn the_book_builds_and_a_broken_link_fails_the_docs_step() {
    if !xtask::docs::has_mdbook() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have mdbook (`cargo xtask doctor --fix` installs it)"
        );
        eprintln!("skipped: mdbook is not installed (`cargo xtask doctor --fix` installs it)");
        return;
    }
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let scratch = tempfile::tempdir().unwrap();
    let book = scratch.path().join("docs");
    copy_dir(&docs, &book);
    let out = scratch.path().join("out");
    let pages = xtask::docs::build_and_check(&book, &out).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(pages > 5, "the book has its pages ({pages})");

    let page = book.join("src/getting-started.md");
    let mut text = std::fs::read_to_string(&page).unwrap();
    text.push_str("\nSee [the missing page](no-such-page.md) and [a lost anchor](conformance.md#no-such-heading).\n");
    std::fs::write(&page, text).unwrap();
    let err = xtask::docs::build_and_check(&book, &out)
        .expect_err("a broken link fails the docs step")
        .to_string();
    assert!(
        err.contains("getting-started.html: no-such-page.html (no such file)"),
        "{err}"
    );
    assert!(err.contains("conformance.html#no-such-heading"), "{err}");
}
