//! The contributor guide as readers get it: `mdbook build docs`, then every link of the built
//! HTML checked.
//!
//! mdBook itself fails on a chapter missing from `SUMMARY.md` but renders a link to a missing
//! page, a missing anchor, or a file outside the book without a word. So the check reads the
//! output, the pages as published: every relative `href` and `src` must name a file of the
//! book, and every `#anchor` an `id` on that page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Whether `mdbook` is on `PATH`.
pub fn has_mdbook() -> bool {
    duct::cmd!("mdbook", "--version")
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run()
        .is_ok_and(|o| o.status.success())
}

/// Builds the book in `book_dir` into `out` and checks its links; returns how many pages it
/// has. The error names every broken link, by page.
pub fn build_and_check(book_dir: &Path, out: &Path) -> Result<usize> {
    let output = duct::cmd!("mdbook", "build", book_dir, "--dest-dir", out)
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .context("running mdbook")?;
    let log = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("mdbook build {} failed:\n{log}", book_dir.display());
    }
    // mdBook reports some problems (a chapter file it could not read) as warnings only.
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    if !warnings.is_empty() {
        bail!("mdbook warned:\n{}", warnings.join("\n"));
    }
    let broken = broken_links(out)?;
    if !broken.is_empty() {
        bail!(
            "{} broken link(s) in the built book ({}):\n  {}",
            broken.len(),
            out.display(),
            broken.join("\n  ")
        );
    }
    Ok(html_files(out)?.len())
}

fn html_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The values of `attr="..."` in `html`.
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        if let Some(end) = rest.find('"') {
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}

/// Every broken relative link of the HTML under `root`, as `page: link (why)`.
pub fn broken_links(root: &Path) -> Result<Vec<String>> {
    let pages = html_files(root)?;
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for p in &pages {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        ids.insert(
            p.clone(),
            attr_values(&text, "id")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
        texts.push((p, text));
    }
    let mut broken = Vec::new();
    for (page, text) in &texts {
        let shown = page
            .strip_prefix(root)
            .unwrap_or(page)
            .display()
            .to_string();
        for link in attr_values(text, "href")
            .into_iter()
            .chain(attr_values(text, "src"))
        {
            let link = link.replace("&amp;", "&");
            let external = link.contains("://")
                || link.starts_with("//")
                || link.starts_with("mailto:")
                || link.starts_with("javascript:")
                || link.starts_with("data:");
            if external || link.is_empty() {
                continue;
            }
            let (path, anchor) = match link.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (link.as_str(), None),
            };
            let path = path.split('?').next().unwrap_or_default();
            let target = if path.is_empty() {
                (*page).clone()
            } else if let Some(abs) = path.strip_prefix('/') {
                root.join(abs)
            } else {
                page.parent().unwrap_or(root).join(path)
            };
            let target = if path.ends_with('/') || target.is_dir() {
                target.join("index.html")
            } else {
                target
            };
            let target = normalize(&target);
            if !target.starts_with(root) {
                broken.push(format!("{shown}: {link} (outside the book)"));
            } else if !target.exists() {
                broken.push(format!("{shown}: {link} (no such file)"));
            } else if let Some(a) = anchor.filter(|a| !a.is_empty())
                && ids
                    .get(&target)
                    .is_some_and(|page_ids| !page_ids.contains(a))
            {
                broken.push(format!("{shown}: {link} (no #{a} on that page)"));
            }
        }
    }
    Ok(broken)
}

/// `a/b/../c` -> `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_pages_anchors_and_escapes_from_the_book_are_broken() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("engines")).unwrap();
        std::fs::write(
            root.join("index.html"),
            r##"<a href="engines/rocks.html#options">x</a> <a href="engines/gone.html">y</a>
<a href="https://example.org/x">ext</a> <img src="../outside.png"> <a href="#top">t</a><h1 id="top">T</h1>"##,
        )
        .unwrap();
        std::fs::write(
            root.join("engines/rocks.html"),
            r##"<h2 id="profiles">P</h2><a href="../index.html#top">up</a> <a href="rocks.html#nope">n</a>"##,
        )
        .unwrap();
        let broken = broken_links(root).unwrap();
        assert_eq!(
            broken,
            [
                "engines/rocks.html: rocks.html#nope (no #nope on that page)",
                "index.html: engines/rocks.html#options (no #options on that page)",
                "index.html: engines/gone.html (no such file)",
                "index.html: ../outside.png (outside the book)",
            ]
        );
    }
}
