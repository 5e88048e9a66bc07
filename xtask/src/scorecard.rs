//! `cargo xtask scorecard`: one row per engine, the table the SIG reads to decide which engine
//! is worth bringing to TiKV.
//!
//! Two inputs, both measured: the last `test-all` report (conformance counts, crash and
//! power-loss outcomes, declared capabilities) and a bench run's `results.json` (headline
//! figures at 1 KiB and 16 KiB, as ratios to `rocks` measured side by side in that run). The
//! command condenses them into `docs/src/scorecard.json` and renders `docs/src/engines.md`
//! from that file plus each engine's registry metadata (`design`, `emulates`); a tidy test
//! renders it again and fails when the page is stale or an engine has no row.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::registry::{Status, Workspace};

/// Where the condensed inputs live, relative to the workspace root.
pub const SCORECARD_JSON: &str = "docs/src/scorecard.json";
/// The rendered page, relative to the workspace root.
pub const ENGINES_MD: &str = "docs/src/engines.md";
/// The headline cells: workload x value size.
pub const HEADLINE: [(&str, usize); 8] = [
    ("fillrandom", 1024),
    ("fillrandom", 16384),
    ("overwrite", 1024),
    ("overwrite", 16384),
    ("readrandom", 1024),
    ("readrandom", 16384),
    ("seekrandom", 1024),
    ("seekrandom", 16384),
];

/// Passed, failed and ignored cases of one suite.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Ignored (a capability the engine lacks, or a skip with its reason).
    pub ignored: usize,
    /// The distinct ignore reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// One engine's measured row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Engine name.
    pub engine: String,
    /// Declared capabilities, from the conformance binary.
    pub capabilities: Vec<String>,
    /// Suite name -> counts, for the suites the engine ran.
    pub suites: BTreeMap<String, Counts>,
    /// `workload/value size` -> ops/s, from the bench run.
    pub bench: BTreeMap<String, f64>,
}

/// The condensed inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// When and on what the test run and the bench run happened.
    pub provenance: Vec<String>,
    /// One row per engine.
    pub rows: Vec<Row>,
}

fn cell_key(workload: &str, value_size: usize) -> String {
    format!("{workload}/{}", crate::bench::show_size(value_size))
}

/// Rows from a `test-all` report (`report.json`).
pub fn rows_from_report(report: &Value) -> Result<BTreeMap<String, Row>> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for c in report["cells"]
        .as_array()
        .context("report.json has no cells")?
    {
        let engine = c["engine"]
            .as_str()
            .context("cell without engine")?
            .to_owned();
        let suite = c["suite"]
            .as_str()
            .context("cell without suite")?
            .to_owned();
        let n = |k: &str| c[k].as_u64().unwrap_or(0) as usize;
        let mut reasons: Vec<String> = c["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["outcome"] == "ignored")
            .filter_map(|x| x["detail"].as_str().map(str::to_owned))
            .collect();
        reasons.sort();
        reasons.dedup();
        let counts = Counts {
            passed: n("passed"),
            failed: if c["ran"] == false { 1 } else { n("failed") },
            ignored: n("ignored"),
            reasons,
        };
        let row = rows.entry(engine.clone()).or_insert_with(|| Row {
            engine,
            ..Row::default()
        });
        row.suites.insert(suite, counts);
    }
    for (engine, caps) in report["capabilities"].as_object().into_iter().flatten() {
        if let Some(row) = rows.get_mut(engine) {
            row.capabilities = caps
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
        }
    }
    Ok(rows)
}

/// Adds the headline bench figures of a `results.json` to `rows`.
pub fn add_bench(rows: &mut BTreeMap<String, Row>, results: &Value) -> Result<()> {
    for f in results["figures"]
        .as_array()
        .context("results.json has no figures")?
    {
        let (Some(engine), Some(workload), Some(size), Some(ops)) = (
            f["engine"].as_str(),
            f["spec"]["workload"].as_str(),
            f["spec"]["value_size"].as_u64(),
            f["ops_per_sec"].as_f64(),
        ) else {
            continue;
        };
        if !HEADLINE.contains(&(workload, size as usize)) {
            continue;
        }
        if let Some(row) = rows.get_mut(engine) {
            row.bench.insert(cell_key(workload, size as usize), ops);
        }
    }
    Ok(())
}

fn suite_cell(row: &Row, suite: &str) -> String {
    match row.suites.get(suite) {
        None => "—".into(),
        Some(c) if c.failed > 0 => format!("**{} failed**", c.failed),
        Some(c) if c.passed == 0 && c.ignored > 0 => {
            let why = c.reasons.first().map_or("", String::as_str);
            format!("skipped ({})", why.trim_start_matches("skipped: "))
        }
        Some(c) if c.ignored > 0 => format!("{} passed, {} ignored", c.passed, c.ignored),
        Some(c) => format!("{} passed", c.passed),
    }
}

/// The page, from the condensed inputs and the registry's metadata.
pub fn render(card: &Scorecard, ws: &Workspace) -> String {
    let mut out = String::from(
        "# Engines\n\n\
         <!-- Generated by `cargo xtask scorecard` from docs/src/scorecard.json and each engine's\n\
         [package.metadata.workbench]; a tidy test fails when it is stale. Do not edit. -->\n\n\
         Every registered engine, held to the same suites. Each has its own page (left); \
         `cargo xtask list` prints the registry with capabilities.\n\n",
    );
    for p in &card.provenance {
        let _ = writeln!(out, "- {p}");
    }
    out.push_str("\n## Correctness\n\n");
    out.push_str(
        "| engine | status | design | capabilities | conformance | crash | power loss | emulated in the wrapper |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let rows: BTreeMap<&str, &Row> = card.rows.iter().map(|r| (r.engine.as_str(), r)).collect();
    let engines: Vec<_> = ws
        .engines
        .iter()
        .filter(|e| e.status != Status::Template)
        .collect();
    let empty = Row::default();
    for e in &engines {
        let row = rows.get(e.name.as_str()).copied().unwrap_or(&empty);
        let caps = if row.capabilities.is_empty() {
            "—".to_owned()
        } else {
            row.capabilities.join(", ")
        };
        let emulates = if e.emulates.is_empty() {
            "nothing".to_owned()
        } else {
            e.emulates.join("; ")
        };
        let _ = writeln!(
            out,
            "| [{name}](engines/{name}.md) | {} | {} | {caps} | {} | {} | {} | {emulates} |",
            e.status.name(),
            e.design.as_deref().unwrap_or(&e.description),
            suite_cell(row, "conformance"),
            suite_cell(row, "crash"),
            suite_cell(row, "powerloss"),
            name = e.name,
        );
    }
    out.push_str(
        "\n## Speed, side by side\n\n\
         Operations per second relative to `rocks` in the same run (`rocks` itself in ops/s): \
         the machine is shared and noisy, so only ratios measured together mean anything.\n\n\
         | engine |",
    );
    for (w, s) in HEADLINE {
        let _ = write!(out, " {} |", cell_key(w, s));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(HEADLINE.len()));
    out.push('\n');
    let rocks = rows.get("rocks").map(|r| &r.bench);
    for e in &engines {
        let Some(row) = rows.get(e.name.as_str()) else {
            continue;
        };
        let _ = write!(out, "| {} |", e.name);
        for (w, s) in HEADLINE {
            let key = cell_key(w, s);
            let cell = match (row.bench.get(&key), rocks.and_then(|r| r.get(&key))) {
                (Some(v), _) if e.name == "rocks" => format!("{v:.0}/s"),
                (Some(v), Some(base)) if *base > 0.0 => format!("{:.2}x", v / base),
                (Some(v), _) => format!("{v:.0}/s"),
                (None, _) => "—".into(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// Reads `docs/src/scorecard.json`.
pub fn load(root: &Path) -> Result<Scorecard> {
    let path = root.join(SCORECARD_JSON);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn latest_bench(target: &Path) -> Option<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(target.join("bench"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("results.json"))
        .filter(|p| p.exists())
        .collect();
    runs.sort();
    runs.pop()
}

/// Condenses the inputs, writes `scorecard.json` and `engines.md`, and returns the page.
pub fn run(ws: &Workspace, report: Option<&Path>, bench: Option<&Path>) -> Result<String> {
    let report_path = report.map_or_else(
        || ws.target_dir.join("xtask/report.json"),
        Path::to_path_buf,
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).with_context(|| {
            format!(
                "reading {} (run `cargo xtask test-all` first)",
                report_path.display()
            )
        })?)
        .with_context(|| format!("parsing {}", report_path.display()))?;
    let mut rows = rows_from_report(&report)?;
    let mut provenance = vec![format!(
        "Tests: `cargo xtask test-all` at {}.",
        report["date"].as_str().unwrap_or("an unrecorded date")
    )];
    match bench
        .map(Path::to_path_buf)
        .or_else(|| latest_bench(&ws.target_dir))
    {
        Some(path) => {
            let results: Value = serde_json::from_str(
                &std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            )
            .with_context(|| format!("parsing {}", path.display()))?;
            add_bench(&mut rows, &results)?;
            let m = &results["meta"];
            provenance.push(format!(
                "Speed: `cargo xtask bench{}` at {}, {} CPUs, {:.0} GiB, commit {}.",
                if m["quick"] == true { " --quick" } else { "" },
                m["date"].as_str().unwrap_or("?"),
                m["cpus"],
                m["memory_gib"].as_f64().unwrap_or(0.0),
                m["git_rev"].as_str().unwrap_or("?")
            ));
        }
        None => provenance.push("Speed: no bench run found (`cargo xtask bench --quick`).".into()),
    }
    let missing: Vec<&str> = ws
        .engines
        .iter()
        .filter(|e| e.status != Status::Template && !rows.contains_key(&e.name))
        .map(|e| e.name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the test-all report has no cells for {}: run `cargo xtask test-all` (all engines) first",
            missing.join(", ")
        );
    }
    rows.retain(|name, _| {
        ws.engines
            .iter()
            .any(|e| &e.name == name && e.status != Status::Template)
    });
    let card = Scorecard {
        provenance,
        rows: rows.into_values().collect(),
    };
    std::fs::write(
        ws.root.join(SCORECARD_JSON),
        serde_json::to_string_pretty(&card)? + "\n",
    )?;
    let page = render(&card, ws);
    std::fs::write(ws.root.join(ENGINES_MD), &page)?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_cells_become_rows_with_reasons_and_capabilities() {
        let report = serde_json::json!({
            "cells": [
                {"engine": "lmdb", "suite": "conformance", "passed": 149, "failed": 0, "ignored": 4, "ran": true,
                 "cases": [{"name": "a", "outcome": "ignored", "detail": "needs capability statistics"}]},
                {"engine": "lmdb", "suite": "powerloss", "passed": 0, "failed": 0, "ignored": 3, "ran": true,
                 "cases": [{"name": "p", "outcome": "ignored", "detail": "skipped: power-loss mode needs FUSE: no /dev/fuse"}]},
                {"engine": "x", "suite": "crash", "passed": 0, "failed": 0, "ignored": 0, "ran": false, "cases": []}
            ],
            "capabilities": {"lmdb": ["persistence", "checkpoint"]}
        });
        let rows = rows_from_report(&report).unwrap();
        let lmdb = &rows["lmdb"];
        assert_eq!(lmdb.capabilities, ["persistence", "checkpoint"]);
        assert_eq!(suite_cell(lmdb, "conformance"), "149 passed, 4 ignored");
        assert_eq!(
            suite_cell(lmdb, "powerloss"),
            "skipped (power-loss mode needs FUSE: no /dev/fuse)"
        );
        assert_eq!(
            suite_cell(&rows["x"], "crash"),
            "**1 failed**",
            "a suite that did not run is a failure"
        );
        assert_eq!(suite_cell(lmdb, "crash"), "—");
    }
}
