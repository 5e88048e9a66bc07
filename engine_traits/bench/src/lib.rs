//! `engine_bench`: db_bench-style workloads over `engine_traits`, the benchmark behind
//! `cargo xtask bench`.
//!
//! # What it is for
//! Measuring every engine the same way, in the figures engine people read: ops/s, MB/s,
//! latency percentiles (HDR histogram), write amplification from the engine's own statistics,
//! space amplification from the bytes on disk, and peak RSS. Each engine crate has a test
//! target `bench` (`harness = false`) whose `main` registers its engines, and baselines such as
//! `rocks_raw`, with [`Bench`]. That binary has three modes:
//! - run as a test (by `cargo test` and `test-all`'s `bench` suite): every workload with a
//!   tiny op count, through the same job path `xtask` uses, checking every figure of the JSON;
//! - `WORKBENCH_BENCH_LIST=1`: prints the names of the targets it offers;
//! - `WORKBENCH_BENCH_JOB=job.json` ([`Job`]): runs one cell and writes its [`Figures`] as
//!   JSON, with `progress <phase> <done> <total>` lines on stderr.
//!
//! # What it is not for
//! Deciding anything about speed in a test: the test mode checks that figures exist and are
//! consistent, never that they are fast (timed assertions on a shared machine are noise).
//! Driving runs, tables, charts and comparisons is `xtask`'s job; this crate measures one cell
//! per process, so peak RSS and caches belong to that cell alone.
#![deny(missing_docs)]

mod check;
mod run;
mod spec;
mod target;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use engine_traits::{EngineConfig, KvEngine};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::{Deserialize, Serialize};

pub use check::check_figures;
pub use run::{dir_bytes, format_key, run};
pub use spec::{Counter, Figures, Latency, Measured, Spec, Workload};
pub use target::{EngineTarget, Target};

/// The environment variable that names a job file: run one cell.
pub const JOB_ENV: &str = "WORKBENCH_BENCH_JOB";
/// The environment variable that asks for the target list.
pub const LIST_ENV: &str = "WORKBENCH_BENCH_LIST";

/// One cell for a bench binary, as `xtask` writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// The target to run (one of the binary's registered names).
    pub engine: String,
    /// What to run.
    pub spec: Spec,
    /// An empty directory for the engine's files.
    pub dir: PathBuf,
    /// Where to write the figures (JSON).
    pub out: PathBuf,
}

type Opener = Box<dyn Fn(&Path) -> engine_traits::Result<Box<dyn Target>>>;

struct Registered {
    name: String,
    open: Opener,
    persistent: bool,
    statistics: bool,
}

/// The bench targets one binary offers.
#[derive(Default)]
pub struct Bench {
    targets: Vec<Registered>,
}

impl Bench {
    /// No targets yet.
    pub fn new() -> Bench {
        Bench::default()
    }

    /// Registers engine `E` under `name`; `configure` adjusts its config (a profile, say).
    pub fn engine<E: KvEngine>(
        mut self,
        name: &str,
        configure: impl Fn(EngineConfig) -> EngineConfig + 'static,
    ) -> Bench {
        let owned = name.to_owned();
        self.targets.push(Registered {
            name: name.to_owned(),
            open: Box::new(move |dir| {
                let config = configure(EngineConfig::new(dir));
                Ok(Box::new(EngineTarget::<E>::open(&owned, &config)?) as Box<dyn Target>)
            }),
            persistent: E::CAPABILITIES.persistence,
            statistics: E::CAPABILITIES.statistics,
        });
        self
    }

    /// Registers a target that is not an engine (a baseline). `persistent` and `statistics`
    /// say which figures the test mode must find measured.
    pub fn target(
        mut self,
        name: &str,
        persistent: bool,
        statistics: bool,
        open: impl Fn(&Path) -> engine_traits::Result<Box<dyn Target>> + 'static,
    ) -> Bench {
        self.targets.push(Registered {
            name: name.to_owned(),
            open: Box::new(open),
            persistent,
            statistics,
        });
        self
    }

    /// The binary's `main`: list, one job, or the test mode (see the crate docs).
    pub fn run(self) {
        if std::env::var_os(LIST_ENV).is_some() {
            for t in &self.targets {
                println!("{}", t.name);
            }
            return;
        }
        if let Some(job) = std::env::var_os(JOB_ENV) {
            if let Err(e) = self.run_job(Path::new(&job)) {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            return;
        }
        self.run_tests();
    }

    fn run_job(&self, job_file: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(job_file)
            .map_err(|e| format!("reading job {}: {e}", job_file.display()))?;
        let job: Job =
            serde_json::from_str(&text).map_err(|e| format!("job {}: {e}", job_file.display()))?;
        let registered = self
            .targets
            .iter()
            .find(|t| t.name == job.engine)
            .ok_or_else(|| {
                let names: Vec<&str> = self.targets.iter().map(|t| t.name.as_str()).collect();
                format!(
                    "job {}: no bench target {:?} here; this binary offers {}",
                    job_file.display(),
                    job.engine,
                    names.join(", ")
                )
            })?;
        std::fs::create_dir_all(&job.dir)
            .map_err(|e| format!("creating {}: {e}", job.dir.display()))?;
        let target = (registered.open)(&job.dir)
            .map_err(|e| format!("opening {} in {}: {e}", job.engine, job.dir.display()))?;
        let last = Mutex::new(Instant::now());
        let progress = |phase: &str, done: u64, total: u64| {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed().as_millis() >= 100 || done >= total {
                *last = Instant::now();
                eprintln!("progress {phase} {done} {total}");
            }
        };
        let figures = run(&job.engine, target.as_ref(), &job.spec, &progress)
            .map_err(|e| format!("{} {}: {e}", job.engine, job.spec.workload.name()))?;
        drop(target);
        let json = serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())?;
        std::fs::write(&job.out, json).map_err(|e| format!("writing {}: {e}", job.out.display()))
    }

    /// Every target x workload with a tiny op count, each through a child process running the
    /// job path, its JSON checked figure by figure.
    fn run_tests(self) {
        let args = Arguments::from_args();
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("error: cannot find this test binary: {e}");
                std::process::exit(101);
            }
        };
        let mut trials = Vec::new();
        for t in &self.targets {
            for workload in Workload::ALL {
                let (name, exe) = (t.name.clone(), exe.clone());
                let (persistent, statistics) = (t.persistent, t.statistics);
                trials.push(
                    Trial::test(
                        format!("[{}] bench::{}", t.name, workload.name()),
                        move || tiny_cell(&exe, &name, workload, persistent, statistics),
                    )
                    .with_kind("bench"),
                );
            }
        }
        libtest_mimic::run(&args, trials).exit();
    }
}

/// The test mode's spec: small enough for a debug build, large enough that the engines flush
/// and (for Titan) values go to blob files.
pub fn tiny_spec(workload: Workload) -> Spec {
    let mut spec = Spec::new(workload, 600, 5000);
    spec.ops = 400;
    spec.threads = if workload.writes() { 1 } else { 2 };
    spec.seed = 7;
    spec
}

fn tiny_cell(
    exe: &Path,
    engine: &str,
    workload: Workload,
    persistent: bool,
    statistics: bool,
) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let job = Job {
        engine: engine.to_owned(),
        spec: tiny_spec(workload),
        dir: dir.path().join("db"),
        out: dir.path().join("figures.json"),
    };
    let job_file = dir.path().join("job.json");
    std::fs::write(
        &job_file,
        serde_json::to_string(&job).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("writing the job: {e}"))?;
    let out = Command::new(exe)
        .env(JOB_ENV, &job_file)
        .output()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the job failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let text =
        std::fs::read_to_string(&job.out).map_err(|e| format!("the job wrote no figures: {e}"))?;
    check_figures(&text, &job.spec, persistent, statistics).map_err(Failed::from)
}
