//! `cargo xtask test-all`: lint, unit tests, then every suite for every engine, as a matrix.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cargo::TestBinary;
use crate::registry::{Engine, SUITES, Workspace};

/// Kill/reopen cycles per engine in a full test-all (`--quick`: the harness's 20; nightly and
/// `cargo xtask crash`: 200).
pub const TEST_ALL_CRASH_CYCLES: usize = 50;

/// One case's outcome, parsed from libtest's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseOutcome {
    /// `group::case`.
    pub name: String,
    /// `passed`, `failed` or `ignored`.
    pub outcome: &'static str,
    /// The ignore reason, or the failure message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One engine x suite cell.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Engine name.
    pub engine: String,
    /// Engine status.
    pub status: &'static str,
    /// Suite name.
    pub suite: String,
    /// Counts.
    pub passed: usize,
    /// Counts.
    pub failed: usize,
    /// Counts.
    pub ignored: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Whether the suite ran at all (it built and produced a summary line).
    pub ran: bool,
    /// Whether a failure here fails the run.
    pub gates: bool,
    /// Every case.
    pub cases: Vec<CaseOutcome>,
}

/// One step before the matrix (fmt, clippy, unit tests).
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// What ran.
    pub name: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// The whole run, as written to `report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// When the run started (UTC, RFC 3339).
    pub date: String,
    /// Engine -> the capabilities its conformance binary declares (for the scorecard).
    pub capabilities: std::collections::BTreeMap<String, Vec<String>>,
    /// Lint and unit-test steps.
    pub steps: Vec<Step>,
    /// The matrix.
    pub cells: Vec<Cell>,
    /// Whether the run passed.
    pub passed: bool,
}

/// Parses libtest / libtest-mimic "pretty" output into case outcomes, with failure messages
/// taken from the `---- name ----` sections.
pub fn parse_libtest(output: &str) -> (Vec<CaseOutcome>, bool) {
    let mut cases = Vec::new();
    let mut summary = false;
    for line in output.lines() {
        if line.starts_with("test result: ") {
            summary = true;
        }
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest
            .rsplit_once(" ... ")
            .or_else(|| rest.split_once(" ... "))
        else {
            continue;
        };
        // libtest-mimic prints "[kind] name"; drop the kind.
        let name = name.trim();
        let name = match name.strip_prefix('[') {
            Some(r) => r.split_once("] ").map_or(name, |(_, n)| n),
            None => name,
        }
        .trim()
        .to_owned();
        let result = result.trim();
        let (outcome, detail) = if result == "ok" {
            ("passed", None)
        } else if result.starts_with("FAILED") {
            ("failed", None)
        } else if let Some(reason) = result.strip_prefix("ignored") {
            let reason = reason
                .trim()
                .trim_start_matches(',')
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim();
            ("ignored", (!reason.is_empty()).then(|| reason.to_owned()))
        } else {
            continue;
        };
        cases.push(CaseOutcome {
            name,
            outcome,
            detail,
        });
    }
    // Attach failure messages.
    let mut current: Option<(String, String)> = None;
    let mut messages = Vec::new();
    for line in output.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" ----"))
        {
            if let Some(done) = current.take() {
                messages.push(done);
            }
            let name = name.split_once(' ').map_or(name, |(n, _)| n).to_owned();
            current = Some((name, String::new()));
        } else if line.starts_with("failures:") || line.starts_with("test result:") {
            if let Some(done) = current.take() {
                messages.push(done);
            }
        } else if let Some((_, msg)) = current.as_mut() {
            msg.push_str(line);
            msg.push('\n');
        }
    }
    for (name, msg) in messages {
        if let Some(c) = cases
            .iter_mut()
            .find(|c| c.name == name && c.outcome == "failed")
        {
            c.detail = Some(msg.trim().to_owned());
        }
    }
    (cases, summary)
}

fn has_actionlint() -> bool {
    duct::cmd!("actionlint", "-version")
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run()
        .is_ok_and(|o| o.status.success())
}

fn run_step(name: &str, args: &[&str], root: &Path) -> Step {
    eprintln!("==> {name}: cargo {}", args.join(" "));
    timed_step(name, || {
        crate::cargo::cmd(root, args)
            .unchecked()
            .run()
            .is_ok_and(|o| o.status.success())
    })
}

fn run_step_cmd(name: &str, program: &str, args: &[&str], root: &Path) -> Step {
    eprintln!("==> {name}: {program} {}", args.join(" "));
    timed_step(name, || {
        duct::cmd(program, args)
            .dir(root)
            .unchecked()
            .run()
            .is_ok_and(|o| o.status.success())
    })
}

fn timed_step(name: &str, f: impl FnOnce() -> bool) -> Step {
    let start = Instant::now();
    let ok = f();
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "    {name}: {} in {:.1}s",
        if ok { "ok" } else { "FAILED" },
        seconds
    );
    Step {
        name: name.to_owned(),
        ok,
        seconds,
    }
}

/// Whether `target` of a package is one of the suites the matrix runs.
fn is_suite_target(target: &str) -> bool {
    SUITES
        .iter()
        .any(|s| target == *s || target.starts_with(&format!("{s}_")))
}

/// The unit-test step: every test binary that is not a suite (libs' and bins' unit tests,
/// integration tests such as xtask's and rocks' error cases), run one after another as
/// `cargo test` would.
fn run_unit_tests(binaries: &[TestBinary]) -> Step {
    eprintln!("==> unit tests: {} test binaries", binaries.len());
    timed_step("unit tests", || {
        let mut ok = true;
        for bin in binaries {
            // libtest's lines are on stdout; a test's own eprintln! goes to stderr, kept apart
            // so it cannot split a "test name ... ok" line.
            let out = bin
                .cmd(["--color", "never"])
                .stdout_capture()
                .stderr_capture()
                .unchecked()
                .run();
            let (stdout, stderr, success) = match out {
                Ok(o) => (
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                    o.status.success(),
                ),
                Err(e) => (
                    String::new(),
                    format!("could not run {}: {e}", bin.executable.display()),
                    false,
                ),
            };
            let (cases, _) = parse_libtest(&stdout);
            let count = |o: &str| cases.iter().filter(|c| c.outcome == o).count();
            eprintln!(
                "    {}: {} passed, {} failed, {} ignored",
                bin.label(),
                count("passed"),
                count("failed"),
                count("ignored")
            );
            if !success {
                ok = false;
                for l in stdout.lines().chain(stderr.lines()) {
                    eprintln!("    | {l}");
                }
            }
        }
        ok
    })
}

/// Runs one engine's suite binary and parses its output.
fn run_suite(
    engine: &Engine,
    suite: &str,
    target: &str,
    binary: Option<&TestBinary>,
    quick: bool,
) -> Cell {
    eprintln!(
        "==> {} / {suite}: {} --test {target}",
        engine.name, engine.krate
    );
    let start = Instant::now();
    let output = match binary {
        // stdout (libtest's lines) is parsed; stderr (the suites' progress) streams live.
        Some(bin) => {
            let mut cmd = bin
                .cmd(["--test-threads=2", "--color", "never"])
                .stdout_capture()
                .unchecked();
            if quick {
                cmd = cmd.env("WORKBENCH_QUICK", "1");
            } else if suite == "crash" && std::env::var_os("CRASH_CYCLES").is_none() {
                // The short form: the 200-cycle long form runs nightly and with `cargo xtask
                // crash` (see .github/workflows/nightly.yml).
                cmd = cmd.env("CRASH_CYCLES", TEST_ALL_CRASH_CYCLES.to_string());
            }
            for (k, v) in crate::registry::suite_env(suite) {
                cmd = cmd.env(k, v);
            }
            match cmd.run() {
                Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
                Err(e) => format!("could not run {}: {e}", bin.executable.display()),
            }
        }
        None => format!("cargo built no binary for {} --test {target}", engine.krate),
    };
    let seconds = start.elapsed().as_secs_f64();
    let (cases, ran) = parse_libtest(&output);
    let count = |o: &str| cases.iter().filter(|c| c.outcome == o).count();
    let cell = Cell {
        engine: engine.name.clone(),
        status: engine.status.name(),
        suite: suite.to_owned(),
        passed: count("passed"),
        failed: count("failed"),
        ignored: count("ignored"),
        seconds,
        ran,
        gates: engine.status.gates(),
        cases,
    };
    if !ran {
        // Build errors and the like: show the tail so the cause is visible.
        let tail: Vec<&str> = output.lines().rev().take(30).collect();
        for l in tail.into_iter().rev() {
            eprintln!("    | {l}");
        }
    }
    eprintln!(
        "    {} / {suite}: {} passed, {} failed, {} ignored in {:.1}s{}",
        engine.name,
        cell.passed,
        cell.failed,
        cell.ignored,
        seconds,
        if ran { "" } else { " (did not run)" }
    );
    cell
}

/// The matrix as a Markdown table.
pub fn matrix_markdown(cells: &[Cell]) -> String {
    let mut out = String::from(
        "| engine | status | suite | passed | failed | ignored | time |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for c in cells {
        let failed = if c.ran {
            c.failed.to_string()
        } else {
            "did not run".into()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.1}s |",
            c.engine, c.status, c.suite, c.passed, failed, c.ignored, c.seconds
        );
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The matrix as JUnit XML: one test suite per cell.
pub fn junit(cells: &[Cell]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for c in cells {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}.{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml_escape(&c.engine),
            xml_escape(&c.suite),
            c.cases.len(),
            c.failed,
            c.ignored,
            c.seconds
        );
        for case in &c.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}.{}\" name=\"{}\"",
                xml_escape(&c.engine),
                xml_escape(&c.suite),
                xml_escape(&case.name)
            );
            match case.outcome {
                "failed" => {
                    let msg = case.detail.as_deref().unwrap_or("failed");
                    let _ = writeln!(
                        out,
                        "><failure message=\"{}\">{}</failure></testcase>",
                        xml_escape(msg.lines().next().unwrap_or("")),
                        xml_escape(msg)
                    );
                }
                "ignored" => {
                    let _ = writeln!(
                        out,
                        "><skipped message=\"{}\"/></testcase>",
                        xml_escape(case.detail.as_deref().unwrap_or(""))
                    );
                }
                _ => out.push_str("/>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Options of `test-all`.
pub struct Options {
    /// Only these engines (all when empty).
    pub engines: Vec<String>,
    /// Only these suites (all when empty).
    pub suites: Vec<String>,
    /// Skip fmt/clippy/unit tests; smaller suites.
    pub quick: bool,
    /// Keep going after a failed lint step.
    pub keep_going: bool,
}

/// Runs everything; returns whether the run passed.
pub fn run(ws: &Workspace, opts: &Options) -> Result<bool> {
    let total = Instant::now();
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    for s in &opts.suites {
        anyhow::ensure!(
            SUITES.contains(&s.as_str()),
            "unknown suite {s:?}; known suites: {}",
            SUITES.join(", ")
        );
    }
    let engines: Vec<&Engine> = if opts.engines.is_empty() {
        ws.engines.iter().collect()
    } else {
        opts.engines
            .iter()
            .map(|n| ws.engine(n))
            .collect::<Result<_>>()?
    };

    // (engine, suite, test target) cells of the matrix.
    let selected: Vec<(&Engine, &str, &str)> = engines
        .iter()
        .flat_map(|e| {
            e.suites
                .iter()
                .map(move |(s, t)| (*e, s.as_str(), t.as_str()))
        })
        .filter(|(_, s, _)| opts.suites.is_empty() || opts.suites.iter().any(|x| x == s))
        .collect();

    let mut steps = Vec::new();
    if !opts.quick {
        let lint: [(&str, &[&str]); 2] = [
            ("fmt", &["fmt", "--all", "--check"]),
            (
                "clippy",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
        ];
        for (name, args) in lint {
            let step = run_step(name, args, &ws.root);
            let failed = !step.ok;
            steps.push(step);
            if failed && !opts.keep_going {
                break;
            }
        }
        if has_actionlint() {
            steps.push(run_step_cmd("actionlint", "actionlint", &[], &ws.root));
        } else {
            eprintln!(
                "==> actionlint: skipped: not installed (the tidy test still checks the workflows' structure)"
            );
        }
        if crate::docs::has_mdbook() {
            eprintln!("==> docs: mdbook build docs, then every link of the built book");
            let out = ws.target_dir.join("book");
            steps.push(timed_step("docs", || {
                match crate::docs::build_and_check(&ws.root.join("docs"), &out) {
                    Ok(pages) => {
                        eprintln!(
                            "    docs: {pages} pages in {}, every link resolves",
                            out.display()
                        );
                        true
                    }
                    Err(e) => {
                        eprintln!("    docs: {e:#}");
                        false
                    }
                }
            }));
        } else {
            eprintln!(
                "==> docs: skipped: mdbook is not installed (`cargo xtask doctor --fix` installs it)"
            );
        }
    }

    // One build for everything that runs below: one cargo call, one dependency graph. The full
    // run builds every test target of the workspace; --quick only the selected suites.
    let mut binaries = Vec::new();
    if steps.iter().all(|s| s.ok) || opts.keep_going {
        let mut args: Vec<String> = Vec::new();
        if opts.quick {
            let mut crates: Vec<&str> = selected.iter().map(|(e, _, _)| e.krate.as_str()).collect();
            crates.sort();
            crates.dedup();
            for c in crates {
                args.extend(["-p".into(), c.into()]);
            }
            let mut targets: Vec<&str> = selected.iter().map(|(_, _, t)| *t).collect();
            targets.sort();
            targets.dedup();
            for t in targets {
                args.extend(["--test".into(), t.into()]);
            }
        } else {
            // Every test target by name, not `--tests`: cargo drops an explicitly named
            // `test = false` target (the template's, an incubating engine's checklist) when
            // `--tests` is also given.
            args.extend(["--workspace", "--lib", "--bins"].map(String::from));
            for t in &ws.test_targets {
                args.extend(["--test".into(), t.clone()]);
            }
        }
        let mut built = None;
        steps.push(timed_step("build", || {
            match crate::cargo::build_tests(ws, &args) {
                Ok(b) => {
                    built = Some(b);
                    true
                }
                Err(e) => {
                    eprintln!("    build: {e:#}");
                    false
                }
            }
        }));
        binaries = built.unwrap_or_default();
        if !opts.quick && steps.last().is_some_and(|s| s.ok) {
            // An engine crate's suite targets run in the matrix; everything else here. Only
            // engine crates: xtask's `bench` and powerloss's `powerloss` are ordinary tests.
            let is_engine = |p: &str| ws.engines.iter().any(|e| e.krate == p);
            // With --engine, the unit tests and doc tests of the selected engines' crates
            // only: a contributor iterating on one engine does not pay for the workspace's
            // (fmt and clippy still cover everything, from a warm build).
            let crates: Vec<&str> = engines.iter().map(|e| e.krate.as_str()).collect();
            let mine = |p: &str| opts.engines.is_empty() || crates.contains(&p);
            let unit: Vec<TestBinary> = binaries
                .iter()
                .filter(|b| mine(&b.package))
                .filter(|b| {
                    !(b.kind == "test" && is_engine(&b.package) && is_suite_target(&b.target))
                })
                .cloned()
                .collect();
            steps.push(run_unit_tests(&unit));
            let mut doc: Vec<&str> = vec!["test", "--doc"];
            if opts.engines.is_empty() {
                doc.push("--workspace");
            } else {
                for c in &crates {
                    doc.extend(["-p", c]);
                }
            }
            steps.push(run_step("doc tests", &doc, &ws.root));
        }
    }

    let mut cells = Vec::new();
    let lint_ok = steps.iter().all(|s| s.ok);
    if lint_ok || opts.keep_going {
        for (engine, suite, target) in &selected {
            let binary = binaries
                .iter()
                .find(|b| b.package == engine.krate && b.target == *target && b.kind == "test");
            cells.push(run_suite(engine, suite, target, binary, opts.quick));
        }
    }

    let gated_failure = |c: &Cell| c.gates && (c.failed > 0 || !c.ran);
    let passed = lint_ok && !cells.iter().any(gated_failure);
    // Each engine's declared capabilities, from its conformance binary (already built).
    let mut capabilities = std::collections::BTreeMap::new();
    for (engine, suite, target) in &selected {
        if *suite != "conformance" {
            continue;
        }
        let Some(bin) = binaries
            .iter()
            .find(|b| b.package == engine.krate && b.target == *target && b.kind == "test")
        else {
            continue;
        };
        if let Ok(out) = bin
            .cmd(std::iter::empty::<&str>())
            .env("WORKBENCH_DESCRIBE", "1")
            .stderr_null()
            .read()
            && let Some(line) = out.lines().find_map(|l| l.strip_prefix("capabilities:"))
        {
            capabilities.insert(
                engine.name.clone(),
                line.split_whitespace().map(str::to_owned).collect(),
            );
        }
    }
    let report = Report {
        date,
        capabilities,
        steps: steps.clone(),
        cells: cells.clone(),
        passed,
    };
    let dir = ws.target_dir.join("xtask");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = String::from("# test-all report\n\n");
    for s in &steps {
        let _ = writeln!(
            md,
            "- {}: {} ({:.1}s)",
            s.name,
            if s.ok { "ok" } else { "FAILED" },
            s.seconds
        );
    }
    md.push('\n');
    md.push_str(&matrix_markdown(&cells));
    std::fs::write(dir.join("report.md"), &md)?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(dir.join("junit.xml"), junit(&cells))?;

    println!();
    println!("{}", matrix_markdown(&cells));
    println!(
        "reports: {}/report.md, report.json, junit.xml",
        dir.display()
    );
    for s in steps.iter().filter(|s| !s.ok) {
        println!("FAILED step: {}", s.name);
    }
    for c in &cells {
        let tag = if c.gates { "FAILED" } else { "not gating" };
        if !c.ran {
            println!(
                "{tag}: {} / {} did not run (build error?)",
                c.engine, c.suite
            );
        }
        let failed: Vec<&CaseOutcome> = c.cases.iter().filter(|x| x.outcome == "failed").collect();
        if !failed.is_empty() {
            let shown: Vec<&str> = failed.iter().take(10).map(|x| x.name.as_str()).collect();
            let more = if failed.len() > 10 {
                format!(" and {} more", failed.len() - 10)
            } else {
                String::new()
            };
            println!(
                "{tag} ({}): {} / {}: {}{more}",
                c.status,
                c.engine,
                c.suite,
                shown.join(", ")
            );
        }
    }
    let (gating, rest): (Vec<&Cell>, Vec<&Cell>) = cells.iter().partition(|c| c.gates);
    let sum = |cs: &[&Cell], f: fn(&Cell) -> usize| cs.iter().map(|c| f(c)).sum::<usize>();
    for line in checklist_lines(&rest) {
        println!("{line}");
    }
    println!(
        "test-all: {} in {}",
        if passed { "passed" } else { "FAILED" },
        fmt_duration(total.elapsed())
    );
    // The plain closing line: gating cells only; non-gating cases count as skipped.
    println!(
        "test-all: {} passed, {} failed, {} skipped",
        sum(&gating, |c| c.passed),
        sum(&gating, |c| c.failed),
        sum(&gating, |c| c.ignored) + sum(&rest, |c| c.cases.len())
    );
    Ok(passed)
}

/// One line per non-gating engine (incubating, template): how far along its checklist is,
/// over every suite it ran. Its cases count as skipped in the closing line, which CI reads, so
/// this line is where the contributor sees progress.
pub fn checklist_lines(non_gating: &[&Cell]) -> Vec<String> {
    let mut engines: Vec<(&str, &str)> = non_gating
        .iter()
        .map(|c| (c.engine.as_str(), c.status))
        .collect();
    engines.dedup();
    engines
        .into_iter()
        .map(|(engine, status)| {
            let cells: Vec<&&Cell> = non_gating.iter().filter(|c| c.engine == engine).collect();
            let total: usize = cells.iter().map(|c| c.cases.len()).sum();
            let count = |f: fn(&Cell) -> usize| cells.iter().map(|c| f(c)).sum::<usize>();
            let not_run: Vec<&str> = cells
                .iter()
                .filter(|c| !c.ran)
                .map(|c| c.suite.as_str())
                .collect();
            let mut line = format!(
                "checklist: {engine} ({status}, not gating): {} of {total} cases pass, {} fail, {} ignored",
                count(|c| c.passed),
                count(|c| c.failed),
                count(|c| c.ignored)
            );
            if !not_run.is_empty() {
                line.push_str(&format!("; did not run: {}", not_run.join(", ")));
            }
            line
        })
        .collect()
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
running 4 tests
test [memory] basic::put_then_get                                ... ok
test [memory] persistence::reopen_keeps_puts                     ... ignored, needs capability persistence
test [memory] iter::upper_bound_is_exclusive                     ... FAILED
test [memory] metamorphic::seed_1                                ... ok

failures:

---- iter::upper_bound_is_exclusive ----
the upper bound is exclusive: forward scan returned [a, b, c]

failures:
    iter::upper_bound_is_exclusive

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
";

    #[test]
    fn parses_cases_reasons_and_failure_messages() {
        let (cases, ran) = parse_libtest(OUTPUT);
        assert!(ran);
        assert_eq!(cases.len(), 4);
        assert_eq!(cases[1].outcome, "ignored");
        assert_eq!(
            cases[1].detail.as_deref(),
            Some("needs capability persistence")
        );
        assert_eq!(cases[2].name, "iter::upper_bound_is_exclusive");
        assert_eq!(cases[2].outcome, "failed");
        assert!(
            cases[2]
                .detail
                .as_deref()
                .unwrap()
                .contains("upper bound is exclusive")
        );
    }

    #[test]
    fn an_incubating_engine_gets_a_checklist_line_with_what_ran() {
        let (cases, _) = parse_libtest(OUTPUT);
        let cell = |suite: &str, ran: bool| Cell {
            engine: "newcomer_kv".into(),
            status: "incubating",
            suite: suite.into(),
            passed: if ran { 2 } else { 0 },
            failed: if ran { 1 } else { 0 },
            ignored: if ran { 1 } else { 0 },
            seconds: 0.1,
            ran,
            gates: false,
            cases: if ran { cases.clone() } else { Vec::new() },
        };
        let (a, b) = (cell("conformance", true), cell("crash", false));
        let lines = checklist_lines(&[&a, &b]);
        assert_eq!(
            lines,
            [
                "checklist: newcomer_kv (incubating, not gating): 2 of 4 cases pass, 1 fail, 1 ignored; did not run: crash"
            ]
        );
    }

    #[test]
    fn junit_escapes_and_counts() {
        let (cases, _) = parse_libtest(OUTPUT);
        let cell = Cell {
            engine: "memory".into(),
            status: "stable",
            suite: "conformance".into(),
            passed: 2,
            failed: 1,
            ignored: 1,
            seconds: 0.5,
            ran: true,
            gates: true,
            cases,
        };
        let xml = junit(&[cell]);
        assert!(
            xml.contains("tests=\"4\" failures=\"1\" skipped=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"the upper bound is exclusive: forward scan returned [a, b, c]\">"), "{xml}");
    }
}
