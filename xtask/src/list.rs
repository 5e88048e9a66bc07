//! `cargo xtask list`: the engines, their status and capabilities.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::registry::{Engine, Workspace};

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    engine: &'a Engine,
    /// `None` when not asked (`--no-build`) or when the suite did not build.
    capabilities: Option<Vec<String>>,
}

/// Asks an engine's conformance binary for its declared capabilities (`WORKBENCH_DESCRIBE`).
fn capabilities(ws: &Workspace, e: &Engine) -> Result<Vec<String>> {
    let (_, target) = e
        .suites
        .iter()
        .find(|(s, _)| s == "conformance")
        .context("no conformance suite")?;
    let out = crate::cargo::cmd(
        &ws.root,
        ["test", "--quiet", "-p", &e.krate, "--test", target],
    )
    .env("WORKBENCH_DESCRIBE", "1")
    .stderr_null()
    .read()
    .with_context(|| format!("building {}'s conformance suite", e.krate))?;
    let line = out
        .lines()
        .find(|l| l.starts_with("capabilities:"))
        .context("the suite printed no capabilities line")?;
    Ok(line["capabilities:".len()..]
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// Prints the registry.
pub fn run(ws: &Workspace, json: bool, no_build: bool) -> Result<()> {
    let rows: Vec<Row> = ws
        .engines
        .iter()
        .map(|e| Row {
            engine: e,
            capabilities: if no_build {
                None
            } else {
                capabilities(ws, e).ok()
            },
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let caps: Vec<String> = rows
        .iter()
        .map(|r| match &r.capabilities {
            Some(c) if c.is_empty() => "(core only)".to_owned(),
            Some(c) => c.join(","),
            None => "-".to_owned(),
        })
        .collect();
    // Columns as wide as their widest cell, so a long capability list stays aligned.
    let width = |header: &str, cells: &mut dyn Iterator<Item = usize>| {
        cells.chain([header.len()]).max().unwrap_or(0)
    };
    let wn = width("engine", &mut rows.iter().map(|r| r.engine.name.len()));
    let wk = width("crate", &mut rows.iter().map(|r| r.engine.krate.len()));
    let wc = width("capabilities", &mut caps.iter().map(String::len));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<wn$}  {:<11} {:<wk$}  {:<wc$}  description",
        "engine", "status", "crate", "capabilities"
    );
    for (r, caps) in rows.iter().zip(&caps) {
        let _ = writeln!(
            out,
            "{:<wn$}  {:<11} {:<wk$}  {:<wc$}  {}",
            r.engine.name,
            r.engine.status.name(),
            r.engine.krate,
            caps,
            r.engine.description
        );
    }
    print!("{out}");
    Ok(())
}
