//! `cargo xtask new-engine NAME`: copies `engines/template` with every identifier renamed.
//!
//! [`scaffold`] renders the new crate in memory from the template as it is on disk, so the
//! snapshot test of its output fails the moment the template changes without the scaffold
//! (or its snapshot) following.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::registry::Workspace;

/// Names an engine may not take: Rust keywords, and words the workbench itself uses.
const RESERVED: [&str; 54] = [
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "try",
    "test",
    "tests",
    "template",
    "core",
    "std",
    "alloc",
    "xtask",
    "all",
    "traits",
    "conformance",
];

/// Checks `name` is a usable engine name: snake_case, not reserved, not taken.
pub fn validate(name: &str, ws: &Workspace) -> Result<()> {
    let snake = !name.is_empty()
        && name.len() <= 40
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.ends_with('_')
        && !name.contains("__");
    if !snake {
        bail!(
            "invalid engine name {name:?}: use snake_case (lowercase letters, digits and single underscores, starting with a letter), e.g. `my_engine`"
        );
    }
    if RESERVED.contains(&name) {
        bail!(
            "invalid engine name {name:?}: it is reserved (a Rust keyword or a name the workbench uses)"
        );
    }
    if ws
        .engines
        .iter()
        .any(|e| e.name == name || e.krate == format!("engine_{name}"))
    {
        bail!("engine name {name:?} is taken: an engine of that name is already registered");
    }
    if ws.root.join("engines").join(name).exists() {
        bail!("engine name {name:?} is taken: engines/{name} already exists");
    }
    Ok(())
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn header(name: &str, description: &str) -> String {
    format!(
        "//! `engine_{name}`: {description}\n\
         //!\n\
         //! # What it is for\n\
         //! Say what hardware or data structure this engine serves, and why the SIG wants it.\n\
         //!\n\
         //! # What it is not for\n\
         //! Say what it does not try to do (durability? concurrency? huge values?).\n\
         //!\n\
         //! # Status\n\
         //! Incubating: scaffolded by `cargo xtask new-engine`. Every core method returns\n\
         //! `NotSupported`; `cargo test -p engine_{name} --test conformance` is the checklist.\n"
    )
}

/// Renames one template file's text for engine `name`.
fn rename(text: &str, name: &str) -> String {
    text.replace("engine_template", &format!("engine_{name}"))
        .replace("Template", &camel(name))
        .replace("engine template", &format!("engine {name}"))
        .replace("\"template\"", &format!("\"{name}\""))
}

/// The files of the new crate, relative to the workspace root, rendered from the template.
pub fn scaffold(root: &Path, name: &str, description: &str) -> Result<Vec<(PathBuf, String)>> {
    let template = root.join("engines/template");
    let mut files = Vec::new();
    // Every test target the template has (conformance, bench, ...), so a suite added to the
    // template reaches new engines without touching this list.
    let mut rels = vec!["Cargo.toml".to_owned(), "src/lib.rs".to_owned()];
    let tests_dir = template.join("tests");
    let mut tests: Vec<String> = std::fs::read_dir(&tests_dir)
        .with_context(|| format!("reading {}", tests_dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rs"))
        .map(|n| format!("tests/{n}"))
        .collect();
    tests.sort();
    rels.extend(tests);
    for rel in rels.iter().map(String::as_str) {
        let path = template.join(rel);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let out = match rel {
            "Cargo.toml" => {
                let mut out = String::new();
                let mut in_metadata = false;
                for line in text.lines() {
                    let line = if line.starts_with('[') {
                        in_metadata = line.trim() == "[package.metadata.workbench]";
                        line.to_owned()
                    } else if line.starts_with("description = ") {
                        format!("description = {description:?}")
                    } else if in_metadata && line.starts_with("status = ") {
                        "status = \"incubating\"".to_owned()
                    } else {
                        rename(line, name)
                    };
                    out.push_str(&line);
                    out.push('\n');
                }
                out
            }
            "src/lib.rs" => {
                // Replace the template's own doc header with one for the new engine.
                let body: String = text
                    .lines()
                    .skip_while(|l| l.starts_with("//!"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                format!("{}{}", header(name, description), rename(&body, name))
            }
            _ => rename(&text, name),
        };
        files.push((PathBuf::from("engines").join(name).join(rel), out));
    }
    let page = format!(
        "# {name}\n\n{description}\n\n- Crate: `engines/{name}` (`engine_{name}`)\n- Status: incubating\n\n\
         ## Checklist\n\nRun `cargo test -p engine_{name} --test conformance`: every failing case names the method\n\
         to implement next. See [Writing a new engine](../new-engine.md).\n"
    );
    files.push((
        PathBuf::from("docs/src/engines").join(format!("{name}.md")),
        page,
    ));
    Ok(files)
}

/// Writes the scaffold (or, with `dry_run`, lists it) and links the docs page.
pub fn run(ws: &Workspace, name: &str, description: Option<&str>, dry_run: bool) -> Result<()> {
    validate(name, ws)?;
    let description = description
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the {name} engine (incubating)"));
    let files = scaffold(&ws.root, name, &description)?;
    let summary = ws.root.join("docs/src/SUMMARY.md");
    let summary_line = format!("  - [{name}](engines/{name}.md)");
    if dry_run {
        println!("new-engine {name} (dry run): would write");
        for (path, text) in &files {
            println!("  {} ({} lines)", path.display(), text.lines().count());
        }
        if summary.exists() {
            println!("  docs/src/SUMMARY.md: add `{}`", summary_line.trim());
        }
        return Ok(());
    }
    for (rel, text) in &files {
        let path = ws.root.join(rel);
        std::fs::create_dir_all(path.parent().context("file has a parent")?)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("  wrote {}", rel.display());
    }
    if summary.exists() {
        let text = std::fs::read_to_string(&summary)?;
        std::fs::write(&summary, add_to_summary(&text, &summary_line))?;
        println!("  linked docs/src/SUMMARY.md");
    }
    println!(
        "\nNext steps:\n  cargo test -p engine_{name} --test conformance   # the checklist: every case fails with `not supported`\n  \
         cargo xtask test-all --engine {name}              # the same, in the matrix (incubating: does not fail the run)\n  \
         $EDITOR engines/{name}/src/lib.rs                 # implement the core methods, case by case"
    );
    Ok(())
}

/// Inserts `line` after the last engine page in SUMMARY.md (or at the end).
fn add_to_summary(text: &str, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.contains("](engines/"))
        .map_or(lines.len(), |i| i + 1);
    lines.insert(at, line);
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case() {
        assert_eq!(camel("demo_kv"), "DemoKv");
        assert_eq!(camel("lsm2"), "Lsm2");
    }

    #[test]
    fn summary_insertion_follows_engine_pages() {
        let s = "# Summary\n- [Engines](engines.md)\n  - [memory](engines/memory.md)\n- [Other](other.md)\n";
        let out = add_to_summary(s, "  - [x](engines/x.md)");
        assert_eq!(
            out,
            "# Summary\n- [Engines](engines.md)\n  - [memory](engines/memory.md)\n  - [x](engines/x.md)\n- [Other](other.md)\n"
        );
    }
}
