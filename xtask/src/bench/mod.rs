//! `cargo xtask bench`: builds every engine's `bench` target in the `bench` profile, runs one
//! process per cell (engine x workload x value size), and writes the run to
//! `<target>/bench/<timestamp>/`: `results.json`, `table.md` and SVG charts. Cells of the same
//! workload and value size run back to back, so their ratios are measured side by side.
//! db_bench's workloads and `tikv` run at the value sizes; YCSB's at the record sizes
//! `--field-count` x each `--field-length`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use engine_bench::{Distribution, Family, Figures, Job, Measured, NotRun, Outcome, Spec, Workload};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::registry::{Status, Workspace};

pub mod chart;
pub mod db_bench;
pub mod db_bench_build;

/// What to run: the command line of `cargo xtask bench`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Options {
    /// Bench targets: engines and baselines such as rocks_raw (default: all).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub engines: Vec<String>,
    /// Workloads: db_bench's (fillseq, fillrandom, overwrite, readrandom, seekrandom, readseq,
    /// readwhilewriting), YCSB's ycsb-a .. ycsb-f, and tikv (default: db_bench's seven).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub workloads: Vec<String>,
    /// Value sizes of db_bench's workloads and tikv, such as 100,1KiB,16KiB (default: 100 B
    /// to 64 KiB; --quick: 1 and 16 KiB).
    #[arg(long, value_delimiter = ',', value_name = "SIZES", value_parser = parse_size)]
    pub value_sizes: Vec<usize>,
    /// YCSB: fields per record (YCSB's fieldcount).
    #[arg(long, default_value_t = 10)]
    pub field_count: usize,
    /// YCSB: bytes per field (YCSB's fieldlength); a list gives one record size each, e.g.
    /// 100,400,1600 with 10 fields: 1 KB, 4 KB, 16 KB records (default: 100).
    #[arg(long, value_delimiter = ',', value_name = "BYTES", value_parser = parse_field_length)]
    pub field_length: Vec<usize>,
    /// YCSB and tikv: how records are picked, uniform, zipfian or latest (YCSB's
    /// requestdistribution; default: the workload's own, zipfian and latest for ycsb-d).
    #[arg(long, value_name = "NAME", value_parser = parse_distribution)]
    pub distribution: Option<Distribution>,
    /// Wait for compactions after the fill, before the measured phase (settled reads):
    /// targets that cannot wait say so in the figures.
    #[arg(long)]
    pub wait_for_compaction: bool,
    /// Unmeasured random overwrites after the fill and before the measured phase, so reads
    /// meet an aged engine (db_bench workloads with a fill; not with --db-bench).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub age_ops: u64,
    /// Key count (default: by value size, about 256 MiB of data; --quick: 64 MiB).
    #[arg(long)]
    pub num: Option<u64>,
    /// Measured operations per cell (default: the key count; readseq always scans all).
    #[arg(long)]
    pub ops: Option<u64>,
    /// Key size in bytes, at least 16 (default 16).
    #[arg(long)]
    pub key_size: Option<usize>,
    /// Seconds each measured phase may take at most (default 5; --quick: 1).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Threads of the measured phase.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Synced writes.
    #[arg(long)]
    pub sync: bool,
    /// Seed of keys and values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A small run that finishes in a few minutes.
    #[arg(long)]
    pub quick: bool,
    /// An earlier run's results.json: print new/old ratios.
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
    /// Also run RocksDB's db_bench with the same workloads and options: the same-version build
    /// of `cargo xtask db-bench build` when there is one, else the system's (Debian's).
    #[arg(long)]
    pub db_bench: bool,
    /// Runs of each cell, engine order rotated; the median by ops/s is reported
    /// (default 3; --quick: 1).
    #[arg(long)]
    pub repeat: Option<usize>,
    /// Cargo profile to build the bench binaries in (default `bench`). `dev` reuses the test
    /// build: a smoke run of the whole pipeline, not figures to quote.
    #[arg(long)]
    pub profile: Option<String>,
}

/// What a run wrote: `results.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// When and where.
    pub meta: Meta,
    /// One entry per cell: the median run by ops/s.
    pub figures: Vec<Figures>,
    /// Every run of every cell, in run order.
    #[serde(default)]
    pub runs: Vec<Figures>,
    /// Cells a target cannot run (a baseline without multi-CF batches asked for tikv): the
    /// reason, no figures.
    #[serde(default)]
    pub not_run: Vec<NotRun>,
}

/// The run's circumstances, for the docs page and for `--compare`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// UTC, RFC 3339.
    pub date: String,
    /// CPU count the OS reports.
    pub cpus: usize,
    /// Physical memory, GiB.
    pub memory_gib: f64,
    /// `git rev-parse --short HEAD`, when available.
    pub git_rev: Option<String>,
    /// Quick mode.
    pub quick: bool,
    /// The bench targets, in run order.
    pub engines: Vec<String>,
    /// Runs per cell.
    #[serde(default)]
    pub repeat: usize,
    /// The db_bench of `--db-bench`: which build, which version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_bench: Option<db_bench_build::DbBenchInfo>,
}

/// One runnable bench target: a name its binary offers.
#[derive(Clone, Debug)]
struct BenchTarget {
    name: String,
    exe: PathBuf,
    baseline: bool,
}

/// Parses a size such as `100`, `4KiB`, `4k`, `1MiB`.
pub fn parse_size(s: &str) -> Result<usize> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let (digits, mult) = [
        ("kib", 1 << 10),
        ("k", 1 << 10),
        ("mib", 1 << 20),
        ("m", 1 << 20),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|d| (d.to_owned(), *m)))
    .unwrap_or((lower.clone(), 1));
    let n: usize = digits
        .trim()
        .parse()
        .with_context(|| format!("value size {t:?} is not a size like 100, 4KiB or 1MiB"))?;
    if n == 0 {
        bail!("value size {t:?} must be positive");
    }
    Ok(n * mult)
}

/// Parses one `--field-length`: a size like `--value-sizes` takes, named as a field length.
pub fn parse_field_length(s: &str) -> Result<usize> {
    parse_size(s)
        .map_err(|_| anyhow::anyhow!("field length {s:?} is not a positive size like 100 or 1KiB"))
}

/// Parses `--distribution`.
pub fn parse_distribution(s: &str) -> Result<Distribution> {
    Distribution::parse(s.trim()).with_context(|| {
        format!(
            "distribution {s:?} is not one of uniform, zipfian, latest (YCSB's requestdistribution)"
        )
    })
}

/// A size for people: `16 KiB`.
pub fn show_size(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

/// The value column of a cell: the value size, or for YCSB the record's fields.
pub fn show_value(spec: &Spec) -> String {
    if spec.workload.family() == Family::Ycsb {
        format!("{}x{} B", spec.ycsb.field_count, spec.ycsb.field_length)
    } else {
        show_size(spec.value_size)
    }
}

/// The spec of one cell, from the options. `value_size` is the value of db_bench's workloads
/// and tikv, and the record size (`field_count` x a field length) of YCSB's.
pub fn spec_for(opts: &Options, workload: Workload, value_size: usize) -> Spec {
    let family = workload.family();
    // db_bench keys are `key_size` bytes; YCSB's are "user" and about 19 digits, tikv's are
    // 19-byte row keys: for the key count, count them as 24.
    let key_size = match family {
        Family::DbBench => opts.key_size.unwrap_or(16),
        _ => 24,
    };
    let kv = (key_size + value_size) as u64;
    // About 64 MiB of data per cell in quick mode (the whole run stays within minutes),
    // 256 MiB otherwise: four memtables' worth, and a 5 s overwrite writes several times that,
    // so flushes and compactions are part of the figures.
    let num = opts.num.unwrap_or_else(|| {
        let (bytes, most) = if opts.quick {
            (64u64 << 20, 50_000)
        } else {
            (256u64 << 20, 500_000)
        };
        (bytes / kv).clamp(1000, most)
    });
    let mut spec = match family {
        Family::DbBench => {
            let mut spec = Spec::new(workload, num, value_size);
            spec.key_size = key_size;
            spec
        }
        Family::Ycsb => {
            let fields = opts.field_count;
            // A field count of 0 gives an empty record, which the spec's check refuses.
            let length = value_size.checked_div(fields).unwrap_or(0);
            Spec::ycsb(workload, num, fields, length)
        }
        Family::Tikv => Spec::tikv(num, value_size),
    };
    if family != Family::DbBench {
        // Kept when given, so the spec's check says it does not apply.
        spec.key_size = opts.key_size.unwrap_or(0);
        if let Some(d) = opts.distribution {
            spec.ycsb.request_distribution = Some(d);
            spec.tikv.distribution = d;
        }
    }
    spec.wait_for_compaction = opts.wait_for_compaction;
    spec.age_ops = opts.age_ops;
    spec.ops = opts.ops.unwrap_or(0);
    spec.duration_secs = Some(opts.duration.unwrap_or(if opts.quick { 1.0 } else { 5.0 }));
    spec.threads = opts.threads.max(1);
    spec.sync = opts.sync;
    spec.seed = opts.seed;
    spec
}

/// The workloads asked for, in order.
pub fn workloads(opts: &Options) -> Result<Vec<Workload>> {
    if opts.workloads.is_empty() {
        return Ok(Workload::ALL.to_vec());
    }
    opts.workloads
        .iter()
        .map(|w| {
            Workload::parse(w.trim()).with_context(|| {
                let all: Vec<&str> = Workload::EVERY.iter().map(|w| w.name()).collect();
                format!("unknown workload {w:?}; known: {}", all.join(", "))
            })
        })
        .collect()
}

/// The value sizes of db_bench's workloads and tikv.
pub fn value_sizes(opts: &Options) -> Vec<usize> {
    if !opts.value_sizes.is_empty() {
        opts.value_sizes.clone()
    } else if opts.quick {
        vec![1 << 10, 16 << 10]
    } else {
        vec![100, 1 << 10, 4 << 10, 16 << 10, 64 << 10]
    }
}

/// Every cell's spec, in run order (before the engines are multiplied in): per value size
/// its db_bench and tikv workloads, then per YCSB record size its YCSB workloads. Each spec
/// is checked, so bad parameters fail before the build and an hour of benchmarking.
pub fn plan(opts: &Options) -> Result<Vec<Spec>> {
    let workloads = workloads(opts)?;
    let mut specs = Vec::new();
    for v in value_sizes(opts) {
        for &w in workloads.iter().filter(|w| w.family() != Family::Ycsb) {
            specs.push(spec_for(opts, w, v));
        }
    }
    let field_lengths = if opts.field_length.is_empty() {
        vec![100]
    } else {
        opts.field_length.clone()
    };
    for l in field_lengths {
        for &w in workloads.iter().filter(|w| w.family() == Family::Ycsb) {
            specs.push(spec_for(opts, w, opts.field_count * l));
        }
    }
    for spec in &specs {
        spec.check()
            .map_err(|e| anyhow::anyhow!("bench parameters: {e}"))?;
    }
    Ok(specs)
}

/// Runs the benchmark; returns whether every cell ran (a cell a target cannot run is
/// reported, not a failure).
pub fn run(ws: &Workspace, opts: &Options) -> Result<bool> {
    if opts.db_bench && opts.age_ops > 0 {
        bail!("--age-ops has no db_bench counterpart here: run it without --db-bench");
    }
    let workloads = workloads(opts)?;
    let value_sizes = value_sizes(opts);
    let specs = plan(opts)?;
    if let Some(old) = &opts.compare {
        load_results(old)?;
    }

    let profile = opts.profile.as_deref().unwrap_or("bench");
    let targets = build_and_list(ws, &opts.engines, profile)?;
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    eprintln!("==> bench targets: {}", names.join(", "));

    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let out = ws.target_dir.join("bench").join(date.replace(':', "-"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    // Same workload and value size back to back, repeated with the engine order rotated, so
    // no engine always runs first (on a cold page cache) or right after a heavy neighbour.
    let repeat = opts.repeat.unwrap_or(if opts.quick { 1 } else { 3 }).max(1);
    let mut cells: Vec<(&Spec, &BenchTarget)> = Vec::new();
    for spec in &specs {
        for r in 0..repeat {
            let n = targets.len();
            cells.extend((0..n).map(|i| (spec, &targets[(i + r) % n])));
        }
    }
    let multi = MultiProgress::new();
    let overall = multi.add(ProgressBar::new(cells.len() as u64));
    overall.set_style(
        ProgressStyle::with_template(
            "{prefix:>8} [{bar:30}] {pos}/{len} cells, {elapsed} ({eta} left)",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    overall.set_prefix("bench");
    let cell_bar = multi.add(ProgressBar::new(1));
    cell_bar.set_style(
        ProgressStyle::with_template("{prefix:>8} [{bar:30}] {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    cell_bar.set_prefix("cell");

    let started = Instant::now();
    let mut figures = Vec::new();
    let mut not_run: Vec<NotRun> = Vec::new();
    let mut failures = Vec::new();
    for (i, (spec, target)) in cells.iter().enumerate() {
        let label = format!(
            "{} {} {}",
            target.name,
            spec.workload.name(),
            show_value(spec)
        );
        cell_bar.set_message(label.clone());
        let cell_dir = out.join("cells").join(format!("{i:03}"));
        match run_cell(target, spec, &cell_dir, &cell_bar) {
            Ok(Outcome::Unavailable(n)) => {
                multi.suspend(|| eprintln!("NOT RUN {label}: {}", n.unavailable));
                if !not_run
                    .iter()
                    .any(|o| o.engine == n.engine && o.spec == n.spec)
                {
                    not_run.push(*n);
                }
            }
            Ok(Outcome::Measured(f)) => {
                let f = *f;
                if overall.is_hidden() {
                    eprintln!(
                        "[{}/{}] {label}: {:.0} ops/s",
                        i + 1,
                        cells.len(),
                        f.ops_per_sec
                    );
                }
                figures.push(f);
            }
            Err(e) => {
                multi.suspend(|| eprintln!("FAILED {label}: {e:#}"));
                failures.push(format!("{label}: {e:#}"));
            }
        }
        overall.inc(1);
    }
    overall.finish_and_clear();
    cell_bar.finish_and_clear();

    let mut db_bench_info = None;
    if opts.db_bench {
        // db_bench has no YCSB or tikv workload to put beside ours.
        let ours: Vec<Workload> = workloads
            .iter()
            .copied()
            .filter(|w| w.family() == Family::DbBench)
            .collect();
        match db_bench::run_all(ws, opts, &ours, &value_sizes, &out) {
            Ok((more, info)) => {
                figures.extend(more);
                db_bench_info = Some(info);
            }
            Err(e) => failures.push(format!("db_bench: {e:#}")),
        }
    }

    let runs = figures;
    let mut figures = median_runs(&runs);
    figures.sort_by(|a, b| (cell_key(a), &a.engine).cmp(&(cell_key(b), &b.engine)));
    let results = Results {
        meta: Meta {
            date,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_gib(),
            git_rev: git_rev(&ws.root),
            quick: opts.quick,
            engines: names,
            repeat,
            db_bench: db_bench_info,
        },
        figures,
        runs,
        not_run,
    };
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let table = table_markdown(&results);
    std::fs::write(out.join("table.md"), &table)?;
    let charts = chart::write_charts(&results, &out)?;

    println!();
    print!("{table}");
    if let Some(old) = &opts.compare {
        println!();
        print!("{}", compare_markdown(&load_results(old)?, &results));
    }
    println!();
    println!(
        "bench: {} cells in {:.0} s; results in {}",
        results.figures.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    for c in &charts {
        println!("  chart {}", c.display());
    }
    for n in &results.not_run {
        println!(
            "NOT RUN {} {} {}: {}",
            n.engine,
            n.spec.workload.name(),
            show_value(&n.spec),
            n.unavailable
        );
    }
    for f in &failures {
        println!("FAILED {f}");
    }
    Ok(failures.is_empty())
}

/// Builds every bench binary in one cargo call (one dependency graph, so RocksDB's build
/// script runs once) and asks each for the targets it offers.
fn build_and_list(ws: &Workspace, only: &[String], profile: &str) -> Result<Vec<BenchTarget>> {
    // (crate, test target) -> registered engine name, for engines with a bench suite.
    let mut wanted: BTreeMap<(String, String), String> = BTreeMap::new();
    for e in &ws.engines {
        let explicitly = only.contains(&e.name);
        if e.status == Status::Template && !explicitly {
            continue;
        }
        if let Some((_, t)) = e.suites.iter().find(|(s, _)| s == "bench") {
            wanted.insert((e.krate.clone(), t.clone()), e.name.clone());
        }
    }
    if wanted.is_empty() {
        bail!("no engine has a bench target (tests/bench.rs)");
    }
    let mut args: Vec<String> = vec!["--profile".into(), profile.into()];
    let mut crates: Vec<&String> = wanted.keys().map(|(c, _)| c).collect();
    crates.dedup();
    for c in crates {
        args.extend(["-p".into(), c.clone()]);
    }
    let mut tests: Vec<&String> = wanted.keys().map(|(_, t)| t).collect();
    tests.sort();
    tests.dedup();
    for t in tests {
        args.extend(["--test".into(), t.clone()]);
    }
    eprintln!(
        "bench: the first build of the {profile} profile compiles RocksDB's C++ again, from ccache when it is installed"
    );
    let exes: BTreeMap<(String, String), PathBuf> = crate::cargo::build_tests(ws, &args)?
        .into_iter()
        .map(|b| ((b.package, b.target), b.executable))
        .collect();

    let mut targets = Vec::new();
    for ((krate, test), engine) in &wanted {
        let exe = exes
            .get(&(krate.clone(), test.clone()))
            .with_context(|| format!("cargo built no executable for {krate} --test {test}"))?;
        let listed = duct::cmd(exe, std::iter::empty::<&str>())
            .env(engine_bench::LIST_ENV, "1")
            .stdout_capture()
            .read()
            .with_context(|| format!("asking {} for its bench targets", exe.display()))?;
        for name in listed.lines().map(str::trim).filter(|l| !l.is_empty()) {
            targets.push(BenchTarget {
                name: name.to_owned(),
                exe: exe.clone(),
                baseline: name != engine && ws.engines.iter().all(|e| e.name != name),
            });
        }
    }
    // Engines first, baselines after, each sorted: a stable order for tables and charts.
    targets.sort_by(|a, b| (a.baseline, &a.name).cmp(&(b.baseline, &b.name)));
    if !only.is_empty() {
        for name in only {
            if !targets.iter().any(|t| &t.name == name) {
                let all: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                bail!("unknown bench target {name:?}; known: {}", all.join(", "));
            }
        }
        targets.retain(|t| only.contains(&t.name));
    }
    Ok(targets)
}

/// Runs one cell in its own process and reads its figures (or why it has none).
fn run_cell(target: &BenchTarget, spec: &Spec, dir: &Path, bar: &ProgressBar) -> Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let job = Job {
        engine: target.name.clone(),
        spec: spec.clone(),
        dir: dir.join("db"),
        out: dir.join("figures.json"),
    };
    let job_file = dir.join("job.json");
    std::fs::write(&job_file, serde_json::to_string_pretty(&job)?)?;
    let mut child = Command::new(&target.exe)
        .env(engine_bench::JOB_ENV, &job_file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", target.exe.display()))?;
    let mut other = Vec::new();
    let stderr = child.stderr.take().expect("piped");
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let ["progress", phase, done, total] = parts[..]
            && let (Ok(done), Ok(total)) = (done.parse::<u64>(), total.parse::<u64>())
        {
            bar.set_length(total.max(1));
            bar.set_position(done);
            bar.set_prefix(phase.to_owned());
            continue;
        }
        other.push(line);
    }
    let status = child.wait()?;
    // The engine's files are not needed once measured; a full run would fill the disk.
    let _ = std::fs::remove_dir_all(&job.dir);
    if !status.success() {
        bail!("{} ({status}): {}", job_file.display(), other.join("\n"));
    }
    let text = std::fs::read_to_string(&job.out)
        .with_context(|| format!("reading {}", job.out.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", job.out.display()))
}

/// One figure per (engine, workload, value size): the run with the median ops/s.
pub fn median_runs(runs: &[Figures]) -> Vec<Figures> {
    let mut groups: BTreeMap<(String, CellKey), Vec<&Figures>> = BTreeMap::new();
    for f in runs {
        groups
            .entry((f.engine.clone(), cell_key(f)))
            .or_default()
            .push(f);
    }
    groups
        .into_values()
        .map(|mut g| {
            g.sort_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec));
            g[g.len() / 2].clone()
        })
        .collect()
}

/// Reads a results.json, naming it on error.
pub fn load_results(path: &Path) -> Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bench results.json", path.display()))
}

fn fmt_measured(m: &Measured, scale: f64, digits: usize) -> String {
    match m {
        Measured::Value(v) => format!("{:.digits$}", v / scale),
        Measured::Unavailable { .. } => "n/a".into(),
    }
}

/// What makes cells comparable: workload, value size, and for YCSB the field length (10 x
/// 100 and 5 x 200 are both 1000-byte records, not the same cell).
type CellKey = (Workload, usize, usize);

/// The cell key of a figure.
fn cell_key(f: &Figures) -> CellKey {
    let fields = if f.spec.workload.family() == Family::Ycsb {
        f.spec.ycsb.field_length
    } else {
        0
    };
    (f.spec.workload, f.spec.value_size, fields)
}

/// The run as a markdown table, grouped by workload and value size, with each engine's
/// throughput as a ratio to `rocks` in the same group.
pub fn table_markdown(r: &Results) -> String {
    let mut s = String::new();
    // The engines' own counters (object-store requests, for one) get a column only when some
    // engine reports any, so runs without them keep their old shape.
    let with_counters = r.figures.iter().any(|f| !f.engine_counters.is_empty());
    let _ = writeln!(
        s,
        "| workload | value | engine | ops/s | MB/s | p50 µs | p99 µs | p99.9 µs | write amp | space amp | peak RSS MiB | ops/s vs rocks |{}",
        if with_counters {
            " engine counters per 1000 ops |"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|{}",
        if with_counters { "---|" } else { "" }
    );
    let mut sorted: Vec<&Figures> = r.figures.iter().collect();
    sorted.sort_by_key(|f| cell_key(f));
    for f in sorted {
        let rocks = r
            .figures
            .iter()
            .find(|g| g.engine == "rocks" && cell_key(g) == cell_key(f));
        let ratio = rocks.map_or("".into(), |g| {
            format!("{:.2}x", f.ops_per_sec / g.ops_per_sec)
        });
        let counters = if with_counters {
            format!(" {} |", fmt_counters(f))
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |{counters}",
            f.spec.workload.name(),
            show_value(&f.spec),
            f.engine,
            f.ops_per_sec,
            f.mb_per_sec,
            f.latency_us.p50,
            f.latency_us.p99,
            f.latency_us.p999,
            fmt_measured(&f.write_amp, 1.0, 2),
            fmt_measured(&f.space_amp, 1.0, 2),
            fmt_measured(&f.peak_rss_bytes, (1 << 20) as f64, 0),
            ratio
        );
    }
    for n in &r.not_run {
        let _ = writeln!(
            s,
            "| {} | {} | {} | not supported | | | | | | | | |",
            n.spec.workload.name(),
            show_value(&n.spec),
            n.engine
        );
    }
    let mixed: Vec<&Figures> = r.figures.iter().filter(|f| !f.by_op.is_empty()).collect();
    if !mixed.is_empty() {
        // YCSB's and tikv's operation types: tikv's txn row is transactions/s.
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| workload | value | engine | operation | ops/s | p50 µs | p99 µs | p99.9 µs |"
        );
        let _ = writeln!(s, "|---|---|---|---|---:|---:|---:|---:|");
        let mut mixed = mixed;
        mixed.sort_by_key(|f| (cell_key(f), f.engine.clone()));
        for f in mixed {
            for (op, o) in &f.by_op {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {op} | {:.0} | {:.1} | {:.1} | {:.1} |",
                    f.spec.workload.name(),
                    show_value(&f.spec),
                    f.engine,
                    o.ops_per_sec,
                    o.latency_us.p50,
                    o.latency_us.p99,
                    o.latency_us.p999
                );
            }
        }
    }
    let mut timed: Vec<&Figures> = r.figures.iter().filter(|f| f.timeline.len() > 1).collect();
    if !timed.is_empty() {
        // Each measured phase over time (Figures::timeline): a GC or compaction that falls
        // behind shows as space amplification rising, or ops/s falling, along the row.
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| workload | value | engine | space amp at each ~10 % of the run | ops/s in each ~10 % of the run |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        timed.sort_by_key(|f| (cell_key(f), f.engine.clone()));
        for f in timed {
            let space: Vec<String> = f
                .timeline
                .iter()
                .map(|p| fmt_measured(&p.space_amp, 1.0, 2))
                .collect();
            let ops: Vec<String> = f.timeline.iter().map(|p| fmt_rate(p.ops_per_sec)).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                f.spec.workload.name(),
                show_value(&f.spec),
                f.engine,
                space.join(" "),
                ops.join(" ")
            );
        }
    }
    if !r.not_run.is_empty() {
        let _ = writeln!(s);
        for n in &r.not_run {
            let _ = writeln!(
                s,
                "- not run: {} {} {}: {}",
                n.engine,
                n.spec.workload.name(),
                show_value(&n.spec),
                n.unavailable
            );
        }
    }
    s
}

/// A rate in three significant digits or so: 950, 12.3k, 1.25M.
fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// An engine's counters that grew, `name per-1000` each, the largest first; "n/a" when the
/// engine reports none.
fn fmt_counters(f: &Figures) -> String {
    if f.engine_counters.is_empty() {
        return "n/a".into();
    }
    let mut grew: Vec<(&String, f64)> = f
        .engine_counters
        .iter()
        .filter(|(_, c)| c.delta > 0)
        .map(|(n, c)| (n, c.per_1000_ops))
        .collect();
    if grew.is_empty() {
        return "none grew".into();
    }
    grew.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = grew.iter().map(|(n, v)| format!("{n} {v:.1}")).collect();
    parts.join(", ")
}

/// New against old, cell by cell: throughput and p99 ratios.
pub fn compare_markdown(old: &Results, new: &Results) -> String {
    let mut s = format!(
        "Compared with the run of {} ({}):\n\n| workload | value | engine | ops/s new/old | p99 new/old |\n|---|---|---|---:|---:|\n",
        old.meta.date,
        old.meta.git_rev.as_deref().unwrap_or("unknown revision")
    );
    let mut matched = 0;
    for f in &new.figures {
        let Some(o) = old
            .figures
            .iter()
            .find(|o| o.engine == f.engine && cell_key(o) == cell_key(f))
        else {
            continue;
        };
        matched += 1;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2}x | {:.2}x |",
            f.spec.workload.name(),
            show_value(&f.spec),
            f.engine,
            f.ops_per_sec / o.ops_per_sec,
            f.latency_us.p99 / o.latency_us.p99.max(1e-9)
        );
    }
    if matched == 0 {
        s.push_str("\n(no cell of this run matches a cell of the old one)\n");
    }
    s
}

fn memory_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / (1 << 20) as f64 * 10.0).round() / 10.0)
}

fn git_rev(root: &Path) -> Option<String> {
    duct::cmd!("git", "rev-parse", "--short", "HEAD")
        .dir(root)
        .stderr_null()
        .read()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("16k").unwrap(), 16384);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        let e = parse_size("lots").unwrap_err().to_string();
        assert!(e.contains("\"lots\""), "{e}");
        assert!(parse_size("0").is_err());
        assert_eq!(show_size(16384), "16 KiB");
        assert_eq!(show_size(100), "100 B");
    }

    fn file_names(paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    fn figure(engine: &str, w: Workload, value_size: usize, ops_per_sec: f64) -> Figures {
        Figures {
            engine: engine.into(),
            spec: Spec::new(w, 1000, value_size),
            ops: 1000,
            seconds: 1000.0 / ops_per_sec,
            ops_per_sec,
            mb_per_sec: ops_per_sec * (16 + value_size) as f64 / 1e6,
            latency_us: engine_bench::Latency {
                p50: 1.0,
                p99: 2.0,
                p999: 3.0,
                max: 4.0,
            },
            write_amp: if w.writes() {
                Measured::Value(1.5)
            } else {
                Measured::unavailable("no writes")
            },
            space_amp: Measured::Value(1.1),
            peak_rss_bytes: Measured::Value(64e6),
            user_bytes_written: 0,
            engine_bytes_written: None,
            disk_bytes: None,
            live_bytes: 0,
            not_found: 0,
            by_op: BTreeMap::new(),
            counters: BTreeMap::new(),
            compaction_wait_secs: None,
            engine_counters: BTreeMap::new(),
            timeline: Vec::new(),
        }
    }

    fn results(figures: Vec<Figures>) -> Results {
        Results {
            meta: Meta {
                date: "2026-11-24T00:00:00Z".into(),
                cpus: 2,
                memory_gib: 24.0,
                git_rev: Some("abc1234".into()),
                quick: true,
                engines: vec!["rocks".into(), "titan".into()],
                repeat: 1,
                db_bench: None,
            },
            runs: figures.clone(),
            figures,
            not_run: Vec::new(),
        }
    }

    #[test]
    fn the_median_run_is_reported() {
        let runs = vec![
            figure("rocks", Workload::FillRandom, 100, 300.0),
            figure("rocks", Workload::FillRandom, 100, 100.0),
            figure("rocks", Workload::FillRandom, 100, 200.0),
            figure("titan", Workload::FillRandom, 100, 50.0),
        ];
        let m = median_runs(&runs);
        assert_eq!(m.len(), 2);
        let rocks = m.iter().find(|f| f.engine == "rocks").unwrap();
        assert_eq!(rocks.ops_per_sec, 200.0);
    }

    #[test]
    fn the_table_shows_ratios_to_rocks_and_unavailable_figures() {
        let r = results(vec![
            figure("rocks", Workload::ReadRandom, 1024, 100.0),
            figure("titan", Workload::ReadRandom, 1024, 250.0),
        ]);
        let t = table_markdown(&r);
        let titan = t.lines().find(|l| l.contains("| titan |")).unwrap();
        assert!(titan.ends_with("| 2.50x |"), "{titan}");
        assert!(
            titan.contains("| n/a |"),
            "readrandom has no write amp: {titan}"
        );
    }

    #[test]
    fn engine_counters_get_a_column_only_when_some_engine_has_them() {
        let mut slate = figure("slatedb", Workload::Overwrite, 100, 50.0);
        for (name, delta) in [
            ("requests", 1010),
            ("put_requests", 1000),
            ("list_requests", 0),
        ] {
            slate.engine_counters.insert(
                name.into(),
                engine_bench::Counter {
                    delta,
                    per_1000_ops: delta as f64,
                },
            );
        }
        let plain = results(vec![figure("rocks", Workload::Overwrite, 100, 100.0)]);
        assert!(!table_markdown(&plain).contains("engine counters"));
        let t = table_markdown(&results(vec![
            figure("rocks", Workload::Overwrite, 100, 100.0),
            slate,
        ]));
        let header = t.lines().next().unwrap();
        assert!(
            header.ends_with("| engine counters per 1000 ops |"),
            "{header}"
        );
        let row = t.lines().find(|l| l.contains("| slatedb |")).unwrap();
        assert!(
            row.ends_with("| 0.50x | requests 1010.0, put_requests 1000.0 |"),
            "{row}"
        );
        let rocks = t.lines().find(|l| l.contains("| rocks |")).unwrap();
        assert!(rocks.ends_with("| n/a |"), "{rocks}");
    }

    #[test]
    fn compare_prints_new_over_old_per_matching_cell() {
        let old = results(vec![figure("rocks", Workload::Overwrite, 4096, 100.0)]);
        let new = results(vec![
            figure("rocks", Workload::Overwrite, 4096, 150.0),
            figure("titan", Workload::Overwrite, 4096, 400.0),
        ]);
        let c = compare_markdown(&old, &new);
        assert!(
            c.contains("| overwrite | 4 KiB | rocks | 1.50x | 1.00x |"),
            "{c}"
        );
        assert!(
            !c.contains("titan"),
            "no old titan cell to compare with: {c}"
        );
        let none = compare_markdown(&new, &results(vec![]));
        assert!(none.contains("no cell"), "{none}");
    }

    #[test]
    fn charts_have_a_line_per_engine() {
        let dir = tempfile::tempdir().unwrap();
        let mut fs = Vec::new();
        for v in [1024, 16384] {
            fs.push(figure("rocks", Workload::Overwrite, v, 100.0));
            fs.push(figure("titan", Workload::Overwrite, v, 300.0));
        }
        let paths = chart::write_charts(&results(fs), dir.path()).unwrap();
        let names = file_names(&paths);
        assert_eq!(
            names,
            ["throughput-overwrite.svg", "write-amp-overwrite.svg"]
        );
        let svg = std::fs::read_to_string(&paths[0]).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for engine in ["rocks", "titan"] {
            assert!(svg.contains(engine), "legend names {engine}");
        }
        // A line per engine, and its sample in the legend.
        assert_eq!(
            svg.matches(r#"stroke-width="2""#).count(),
            4,
            "one line per engine"
        );
    }

    /// A timeline of one point per `amps` entry, evenly over the run, at `ops_per_sec`; `None`
    /// is a space amplification the engine could not measure.
    fn timeline(amps: &[Option<f64>], ops_per_sec: f64) -> Vec<engine_bench::TimelinePoint> {
        let n = amps.len() as f64;
        amps.iter()
            .enumerate()
            .map(|(i, a)| engine_bench::TimelinePoint {
                fraction: (i + 1) as f64 / n,
                seconds: (i + 1) as f64,
                ops: ops_per_sec as u64,
                ops_per_sec,
                space_amp: a
                    .map_or_else(|| Measured::unavailable("not persistent"), Measured::Value),
            })
            .collect()
    }

    /// Titan's GC falling behind beside a flat rocks, an engine without space amplification
    /// alone in a cell, and a cell whose phase was too short for more than its end.
    fn timed_results() -> Results {
        let mut rocks = figure("rocks", Workload::Overwrite, 16384, 100.0);
        rocks.timeline = timeline(&[Some(1.5); 4], 100.0);
        let mut titan = figure("titan", Workload::Overwrite, 16384, 300.0);
        titan.timeline = timeline(&[Some(1.1), Some(1.5), Some(2.0), Some(2.6)], 300.0);
        titan.timeline[3].ops_per_sec = 150.0;
        let mut memory = figure("memory", Workload::Overwrite, 1024, 1000.0);
        memory.timeline = timeline(&[None, None, None], 1000.0);
        let mut short = figure("rocks", Workload::ReadRandom, 16384, 5000.0);
        short.timeline = timeline(&[Some(1.0)], 5000.0);
        results(vec![rocks, titan, memory, short])
    }

    #[test]
    fn timelines_get_a_chart_per_cell_with_a_line_per_engine() {
        let dir = tempfile::tempdir().unwrap();
        let paths = chart::write_timelines(&timed_results(), dir.path()).unwrap();
        let names = file_names(&paths);
        assert_eq!(
            names,
            [
                "timeline-overwrite-1024.svg",
                "timeline-overwrite-16384.svg"
            ],
            "no chart for a cell with only the end of its phase"
        );
        let svg = std::fs::read_to_string(dir.path().join("timeline-overwrite-16384.svg")).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for text in [
            "rocks",
            "titan",
            "space amplification over the run",
            "ops/s over the run",
        ] {
            assert!(svg.contains(text), "the chart says {text:?}");
        }
        // Two panels, each with a line per engine and its sample in the legend.
        assert_eq!(svg.matches(r#"stroke-width="2""#).count(), 2 * 2 * 2);
        let memory =
            std::fs::read_to_string(dir.path().join("timeline-overwrite-1024.svg")).unwrap();
        assert!(memory.contains("no engine measured it"), "{memory}");
        assert_eq!(
            memory.matches(r#"stroke-width="2""#).count(),
            2,
            "only the ops/s panel has a line"
        );
        // And write_charts writes them beside the others.
        let all = chart::write_charts(&timed_results(), dir.path()).unwrap();
        assert!(all.ends_with(&paths), "{all:?}");
    }

    #[test]
    fn the_table_lists_each_timeline_without_widening_the_main_table() {
        let t = table_markdown(&timed_results());
        let header = t.lines().next().unwrap();
        assert!(!header.contains("10 %"), "{header}");
        let titan = t
            .lines()
            .find(|l| l.starts_with("| overwrite | 16 KiB | titan | 1.10 "))
            .unwrap_or_else(|| panic!("no timeline row for titan in:\n{t}"));
        assert_eq!(
            titan,
            "| overwrite | 16 KiB | titan | 1.10 1.50 2.00 2.60 | 300 300 300 150 |"
        );
        assert!(
            t.contains("| overwrite | 1 KiB | memory | n/a n/a n/a | 1.0k 1.0k 1.0k |"),
            "{t}"
        );
        assert!(
            !t.lines()
                .any(|l| l.starts_with("| readrandom | 16 KiB | rocks | 1.00")),
            "a phase with only its end has no timeline row: {t}"
        );
        let plain = results(vec![figure("rocks", Workload::Overwrite, 100, 100.0)]);
        assert!(!table_markdown(&plain).contains("each ~10 %"));
        assert_eq!(fmt_rate(1_250_000.0), "1.25M");
        assert_eq!(fmt_rate(12_345.0), "12k");
        assert_eq!(fmt_rate(950.4), "950");
    }

    #[test]
    fn bad_parameters_fail_before_anything_runs() {
        let opts = Options {
            key_size: Some(8),
            workloads: vec!["fillseq".into()],
            ..Options::default()
        };
        let ws = Workspace {
            root: PathBuf::from("/nonexistent"),
            target_dir: PathBuf::from("/nonexistent/target"),
            engines: Vec::new(),
            members: BTreeMap::new(),
            test_targets: Default::default(),
        };
        let e = run(&ws, &opts).unwrap_err().to_string();
        assert!(e.contains("key_size 8"), "{e}");
        let opts = Options {
            workloads: vec!["fillsequential".into()],
            ..Options::default()
        };
        let e = run(&ws, &opts).unwrap_err().to_string();
        assert!(e.contains("fillsequential") && e.contains("fillseq"), "{e}");
    }

    /// The command line as `cargo xtask bench` parses it.
    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            bench: Options,
        }
        let argv = std::iter::once("bench").chain(args.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv).map(|c| c.bench)
    }

    #[test]
    fn ycsb_and_tikv_workloads_parse_and_plan() {
        let opts = parse(&["--workloads", "ycsb-a,ycsb-e,tikv", "--quick"]).unwrap();
        let specs = plan(&opts).unwrap();
        let cells: Vec<(&str, String)> = specs
            .iter()
            .map(|s| (s.workload.name(), show_value(s)))
            .collect();
        assert_eq!(
            cells,
            [
                ("tikv", "1 KiB".to_owned()),
                ("tikv", "16 KiB".to_owned()),
                ("ycsb-a", "10x100 B".to_owned()),
                ("ycsb-e", "10x100 B".to_owned()),
            ],
            "tikv at the value sizes, YCSB at YCSB's default record"
        );
        let e = specs
            .iter()
            .find(|s| s.workload == Workload::YcsbE)
            .unwrap();
        assert_eq!(
            (e.value_size, e.key_size, e.max_scan_length()),
            (1000, 0, 100)
        );
        assert_eq!(e.request_distribution(), Distribution::Zipfian);
        assert_eq!(e.duration_secs, Some(1.0));
        assert!(!e.wait_for_compaction);
    }

    #[test]
    fn record_size_distribution_and_settling_flags_reach_the_spec() {
        let opts = parse(&[
            "--workloads",
            "ycsb-c,ycsb-d,tikv",
            "--field-count",
            "4",
            "--field-length",
            "256,1KiB",
            "--value-sizes",
            "100",
            "--distribution",
            "uniform",
            "--wait-for-compaction",
        ])
        .unwrap();
        let specs = plan(&opts).unwrap();
        let ycsb: Vec<(Workload, usize, usize)> = specs
            .iter()
            .filter(|s| s.workload.family() == Family::Ycsb)
            .map(|s| (s.workload, s.ycsb.field_count, s.ycsb.field_length))
            .collect();
        assert_eq!(
            ycsb,
            [
                (Workload::YcsbC, 4, 256),
                (Workload::YcsbD, 4, 256),
                (Workload::YcsbC, 4, 1024),
                (Workload::YcsbD, 4, 1024),
            ]
        );
        assert!(specs.iter().all(|s| s.wait_for_compaction));
        let d = specs
            .iter()
            .find(|s| s.workload == Workload::YcsbD)
            .unwrap();
        assert_eq!(
            d.request_distribution(),
            Distribution::Uniform,
            "overrides latest"
        );
        let tikv = specs.iter().find(|s| s.workload == Workload::Tikv).unwrap();
        assert_eq!(
            (tikv.value_size, tikv.tikv.distribution),
            (100, Distribution::Uniform)
        );
    }

    #[test]
    fn bad_ycsb_parameters_name_the_input() {
        let e = parse(&["--field-length", "wide"]).unwrap_err().to_string();
        assert!(e.contains("field length \"wide\""), "{e}");
        let e = parse(&["--distribution", "gaussian"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("gaussian") && e.contains("zipfian"), "{e}");
        let opts = parse(&["--workloads", "ycsb-b", "--key-size", "32"]).unwrap();
        let e = plan(&opts).unwrap_err().to_string();
        assert!(e.contains("key_size 32") && e.contains("ycsb-b"), "{e}");
        let opts = parse(&["--workloads", "ycsb-z"]).unwrap();
        let e = plan(&opts).unwrap_err().to_string();
        assert!(
            e.contains("ycsb-z") && e.contains("ycsb-f") && e.contains("tikv"),
            "{e}"
        );
        let opts = parse(&["--workloads", "ycsb-a", "--field-count", "0"]).unwrap();
        let e = plan(&opts).unwrap_err().to_string();
        assert!(e.contains("field_count 0"), "{e}");
    }

    #[test]
    fn the_table_shows_transactions_per_second_and_cells_not_run() {
        let mut tikv = figure("rocks", Workload::Tikv, 1024, 500.0);
        tikv.spec = Spec::tikv(1000, 1024);
        for (op, rate) in [("txn", 200.0), ("get", 300.0)] {
            tikv.by_op.insert(
                op.to_owned(),
                engine_bench::OpFigures {
                    ops: (rate * tikv.seconds) as u64,
                    ops_per_sec: rate,
                    latency_us: tikv.latency_us.clone(),
                },
            );
        }
        let mut r = results(vec![tikv]);
        r.not_run.push(NotRun {
            engine: "rocks_raw".into(),
            spec: Spec::tikv(1000, 1024),
            unavailable:
                "not supported: write_batch (atomic multi-CF batches) on bench target rocks_raw"
                    .into(),
        });
        let t = table_markdown(&r);
        assert!(t.contains("| tikv | 1 KiB | rocks | txn | 200 |"), "{t}");
        assert!(t.contains("| tikv | 1 KiB | rocks | get | 300 |"), "{t}");
        assert!(
            t.contains("| tikv | 1 KiB | rocks_raw | not supported |"),
            "{t}"
        );
        assert!(
            t.contains("- not run: rocks_raw tikv 1 KiB: not supported: write_batch"),
            "{t}"
        );
        // And results.json keeps both, readable back.
        let back: Results = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.not_run, r.not_run);
        assert_eq!(back.figures[0].by_op, r.figures[0].by_op);
    }

    #[test]
    fn quick_specs_stay_small() {
        let opts = Options {
            quick: true,
            ..Options::default()
        };
        let s = spec_for(&opts, Workload::Overwrite, 16 << 10);
        assert!(s.num * (16 + (16 << 10)) as u64 <= 64 << 20, "{}", s.num);
        assert_eq!(s.duration_secs, Some(1.0));
        assert_eq!(spec_for(&opts, Workload::FillSeq, 100).num, 50_000);
    }
}
