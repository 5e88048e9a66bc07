//! `engine_bench`: db_bench-style workloads over `engine_traits`, the benchmark behind
//! `cargo xtask bench`.
//!
//! # What it is for
//! Measuring every engine the same way, in the figures engine people read: ops/s, MB/s,
//! latency percentiles (HDR histogram), write amplification from the engine's own statistics,
//! space amplification from the bytes on disk, and peak RSS. The workloads are db_bench's
//! seven (the default run), YCSB's core workloads A to F (`ycsb`, with YCSB's generators in
//! `generators`), and `tikv`, TiKV's MVCC layout over three column families. Each engine crate has a test
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
pub mod generators;
mod run;
mod spec;
mod target;
pub mod tikv;
mod ycsb;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use engine_traits::{EngineConfig, KvEngine};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::{Deserialize, Serialize};

pub use check::{check_figures, check_outcome};
pub use run::{dir_bytes, format_key, run};
pub use spec::{
    Counter, Distribution, Family, Figures, InsertOrder, Latency, Measured, NotRun, OpFigures,
    Outcome, ScanLength, Spec, TikvOptions, TimelinePoint, Workload, YcsbOptions,
};
pub use target::{CfWrite, EngineTarget, Target};

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
    declares: Declares,
}

/// What a target offers, so the test mode knows which figures must be measured and which
/// must say why they are not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Declares {
    /// Keeps its data in files under its directory (space amplification is measured).
    pub persistent: bool,
    /// Reports engine bytes written (write amplification is measured).
    pub statistics: bool,
    /// Can wait for its compactions ([`Target::wait_for_compaction`] succeeds).
    pub settles: bool,
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
            declares: Declares {
                persistent: E::CAPABILITIES.persistence,
                statistics: E::CAPABILITIES.statistics,
                // EngineTarget settles through manual compaction (see its wait_for_compaction).
                settles: E::CAPABILITIES.manual_compaction,
            },
        });
        self
    }

    /// Registers a target that is not an engine (a baseline). `declares` says which figures
    /// the test mode must find measured.
    pub fn target(
        mut self,
        name: &str,
        declares: Declares,
        open: impl Fn(&Path) -> engine_traits::Result<Box<dyn Target>> + 'static,
    ) -> Bench {
        self.targets.push(Registered {
            name: name.to_owned(),
            open: Box::new(open),
            declares,
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
        let outcome = run(&job.engine, target.as_ref(), &job.spec, &progress)
            .map_err(|e| format!("{} {}: {e}", job.engine, job.spec.workload.name()))?;
        drop(target);
        let json = serde_json::to_string_pretty(&outcome).map_err(|e| e.to_string())?;
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
            for (label, spec) in tiny_specs() {
                let (name, exe, declares) = (t.name.clone(), exe.clone(), t.declares);
                trials.push(
                    Trial::test(format!("[{}] bench::{label}", t.name), move || {
                        tiny_cell(&exe, &name, spec, declares)
                    })
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
    let mut spec = match workload.family() {
        Family::DbBench => Spec::new(workload, 600, 5000),
        // 10 fields of 100 bytes, YCSB's default record (1000 bytes).
        Family::Ycsb => Spec::ycsb(workload, 600, 10, 100),
        // Long values (in the default CF); `tiny_specs` adds a short-value cell.
        Family::Tikv => Spec::tikv(600, 5000),
    };
    spec.ops = 400;
    spec.threads = if workload.writes() { 1 } else { 2 };
    spec.seed = 7;
    if workload == Workload::Tikv {
        // A GC step every 50 operations, with little history kept, so the cell's GC deletes
        // versions its own transactions made; two threads, so locks and latches are shared.
        spec.threads = 2;
        spec.tikv.gc_interval = 50;
        spec.tikv.gc_rows = 150;
        spec.tikv.gc_lag_ts = 20;
    }
    if workload == Workload::YcsbC {
        // Settled reads (`wait_for_compaction`) on every engine: measured or said unavailable.
        spec.wait_for_compaction = true;
    }
    spec
}

/// Every cell the test mode runs, with its trial name: every workload of
/// [`Workload::EVERY`] at [`tiny_spec`], and `tikv` once more with short values (inline in
/// the write CF, no default CF).
pub fn tiny_specs() -> Vec<(String, Spec)> {
    let mut specs: Vec<(String, Spec)> = Workload::EVERY
        .into_iter()
        .map(|w| (w.name().to_owned(), tiny_spec(w)))
        .collect();
    let mut short = tiny_spec(Workload::Tikv);
    short.value_size = 100;
    specs.push(("tikv-short-values".to_owned(), short));
    specs
}

fn tiny_cell(exe: &Path, engine: &str, spec: Spec, declares: Declares) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let job = Job {
        engine: engine.to_owned(),
        spec,
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
    check_outcome(&text, &job.spec, declares)?;
    if job.spec.workload == Workload::Tikv {
        // The tiny spec keeps 20 timestamps of history and runs GC steps over all rows: they
        // must find old versions to delete, or GC is not being exercised at all.
        let f: Figures = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let deleted = f.counters.get("gc_versions_deleted").copied().unwrap_or(0);
        if deleted == 0 {
            return Err(format!("tikv's GC deleted nothing: {:?}", f.counters).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;

    /// A baseline with only the default-CF methods, as `rocks_raw` was before the CF-aware
    /// methods existed: what a target that implements none of the optional methods gets.
    #[derive(Default)]
    struct DefaultCfOnly(Mutex<BTreeMap<Vec<u8>, Vec<u8>>>, Mutex<Vec<Vec<u8>>>);

    impl Target for DefaultCfOnly {
        fn put(&self, key: &[u8], value: &[u8], _sync: bool) -> engine_traits::Result<()> {
            self.0.lock().unwrap().insert(key.to_vec(), value.to_vec());
            Ok(())
        }

        fn get(&self, key: &[u8]) -> engine_traits::Result<Option<usize>> {
            self.1.lock().unwrap().push(key.to_vec());
            Ok(self.0.lock().unwrap().get(key).map(Vec::len))
        }

        fn seek(&self, key: &[u8], nexts: usize) -> engine_traits::Result<(u64, u64)> {
            let map = self.0.lock().unwrap();
            let seen = map.range(key.to_vec()..).take(nexts + 1);
            Ok(seen.fold((0, 0), |(n, b), (k, v)| {
                (n + 1, b + (k.len() + v.len()) as u64)
            }))
        }

        fn scan(&self, each: &mut dyn FnMut(usize)) -> engine_traits::Result<()> {
            for (k, v) in self.0.lock().unwrap().iter() {
                each(k.len() + v.len());
            }
            Ok(())
        }

        fn flush(&self) -> engine_traits::Result<()> {
            Ok(())
        }

        fn bytes_written(&self) -> engine_traits::Result<Result<(u64, u64), String>> {
            Ok(Err("DefaultCfOnly keeps no statistics".into()))
        }

        fn dir(&self) -> Result<&Path, String> {
            Err("DefaultCfOnly keeps nothing on disk".into())
        }
    }

    fn quiet(_: &str, _: u64, _: u64) {}

    #[test]
    fn a_workload_the_target_cannot_run_is_unavailable_not_figures() {
        let target = DefaultCfOnly::default();
        for w in [Workload::Tikv, Workload::YcsbA, Workload::YcsbF] {
            let spec = tiny_spec(w);
            let outcome = run("bare", &target, &spec, &quiet).unwrap();
            let Outcome::Unavailable(not_run) = &outcome else {
                panic!("{} ran on a target without CF methods", w.name());
            };
            assert!(
                not_run.unavailable.contains("not supported")
                    && not_run.unavailable.contains("DefaultCfOnly"),
                "the reason names the target: {}",
                not_run.unavailable
            );
            let json = serde_json::to_string(&outcome).unwrap();
            let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert!(
                raw["unavailable"].is_string() && raw.get("ops").is_none(),
                "{json}"
            );
            let e = check_outcome(&json, &spec, Declares::default()).unwrap_err();
            assert!(e.contains("cannot run"), "never a pass: {e}");
        }
    }

    #[test]
    fn ycsb_reads_scans_and_inserts_need_only_the_default_cf() {
        let target = DefaultCfOnly::default();
        for w in [Workload::YcsbC, Workload::YcsbD, Workload::YcsbE] {
            let spec = tiny_spec(w);
            let outcome = run("bare", &target, &spec, &quiet).unwrap();
            let json = serde_json::to_string(&outcome).unwrap();
            // No wait_for_compaction either: settled reads (ycsb-c) say why not.
            check_outcome(&json, &spec, Declares::default()).unwrap();
            if w == Workload::YcsbC {
                let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
                let why = raw["compaction_wait_secs"]["unavailable"].as_str().unwrap();
                assert!(why.contains("DefaultCfOnly"), "{why}");
            }
            target.0.lock().unwrap().clear();
        }
    }

    #[test]
    fn inserts_extend_the_key_space_that_later_reads_hit() {
        // YCSB D reads the latest records most: with inserts acknowledged, reads reach the
        // inserted keys, and none of them misses.
        let target = DefaultCfOnly::default();
        let mut spec = tiny_spec(Workload::YcsbD);
        spec.ops = 4000;
        spec.threads = 1;
        let Outcome::Measured(f) = run("bare", &target, &spec, &quiet).unwrap() else {
            panic!("ycsb-d needs only the default CF");
        };
        let inserts = f.by_op["insert"].ops;
        assert!(inserts > 100, "{inserts} inserts");
        assert_eq!(f.not_found, 0);
        let map = target.0.lock().unwrap();
        assert_eq!(
            map.len() as u64,
            spec.num + inserts,
            "every insert is a new key"
        );
        let inserted: std::collections::HashSet<Vec<u8>> = (spec.num..spec.num + inserts)
            .map(|n| ycsb_key(&spec, n))
            .collect();
        let reads = target.1.lock().unwrap();
        let of_inserted = reads.iter().filter(|k| inserted.contains(*k)).count();
        assert!(
            of_inserted * 4 > reads.len(),
            "latest reads favour new records: {of_inserted} of {} reads hit inserted keys",
            reads.len()
        );
    }

    fn ycsb_key(spec: &Spec, n: u64) -> Vec<u8> {
        crate::ycsb::key(spec, n)
    }

    /// A target that never reclaims space, as an engine whose GC never keeps up: every put
    /// appends its value to a log in its directory, after a pause (so the phase lasts long
    /// enough for the clock to sample it). Its space amplification can only rise.
    struct AppendOnly {
        dir: tempfile::TempDir,
        log: Mutex<std::fs::File>,
        pause: std::time::Duration,
    }

    impl AppendOnly {
        fn new(pause_us: u64) -> AppendOnly {
            let dir = tempfile::tempdir().unwrap();
            let log = std::fs::File::create(dir.path().join("log")).unwrap();
            AppendOnly {
                dir,
                log: Mutex::new(log),
                pause: std::time::Duration::from_micros(pause_us),
            }
        }
    }

    impl Target for AppendOnly {
        fn put(&self, _key: &[u8], value: &[u8], _sync: bool) -> engine_traits::Result<()> {
            use std::io::Write;
            std::thread::sleep(self.pause);
            self.log.lock().unwrap().write_all(value).unwrap();
            Ok(())
        }

        fn get(&self, _key: &[u8]) -> engine_traits::Result<Option<usize>> {
            Ok(None)
        }

        fn seek(&self, _key: &[u8], _nexts: usize) -> engine_traits::Result<(u64, u64)> {
            Ok((0, 0))
        }

        fn scan(&self, _each: &mut dyn FnMut(usize)) -> engine_traits::Result<()> {
            Ok(())
        }

        fn flush(&self) -> engine_traits::Result<()> {
            Ok(())
        }

        fn bytes_written(&self) -> engine_traits::Result<Result<(u64, u64), String>> {
            Ok(Err("AppendOnly keeps no statistics".into()))
        }

        fn dir(&self) -> Result<&Path, String> {
            Ok(self.dir.path())
        }
    }

    fn measured(target: &dyn Target, spec: &Spec) -> Figures {
        match run("append-only", target, spec, &quiet).unwrap() {
            Outcome::Measured(f) => *f,
            Outcome::Unavailable(n) => panic!("{}", n.unavailable),
        }
    }

    const ON_DISK: Declares = Declares {
        persistent: true,
        statistics: false,
        settles: false,
    };

    #[test]
    fn the_timeline_shows_space_amplification_rising_when_nothing_is_reclaimed() {
        // 2000 overwrites of 100 keys, about a second: the clock passes every tenth.
        let mut spec = Spec::new(Workload::Overwrite, 100, 1000);
        spec.ops = 2000;
        let f = measured(&AppendOnly::new(500), &spec);
        let json = serde_json::to_string(&f).unwrap();
        check_figures(&json, &spec, ON_DISK).unwrap();
        let t = &f.timeline;
        assert!(t.len() >= 6, "a point about every 10 %: {t:#?}");
        let tenths: Vec<u32> = t.iter().map(|p| (p.fraction * 10.0) as u32).collect();
        assert!(
            tenths.windows(2).all(|w| w[0] < w[1]),
            "one point per tenth at most: {tenths:?}"
        );
        let amps: Vec<f64> = t.iter().map(|p| p.space_amp.value().unwrap()).collect();
        assert!(
            amps.windows(2).all(|w| w[0] < w[1]),
            "an append-only log's space amplification rises: {amps:?}"
        );
        // 100 live values of 1016 bytes against 100 + 2000 appended ones.
        let end = amps[amps.len() - 1];
        assert!((end - 2100.0 * 1000.0 / 101600.0).abs() < 1e-9, "{end}");
        assert!(t.iter().all(|p| p.ops > 0 && p.ops_per_sec > 0.0), "{t:#?}");
    }

    #[test]
    fn aging_overwrites_before_the_measured_phase_and_is_not_measured() {
        let mut spec = Spec::new(Workload::ReadRandom, 100, 1000);
        spec.ops = 50;
        let plain = measured(&AppendOnly::new(0), &spec);
        spec.age_ops = 300;
        let target = AppendOnly::new(0);
        let aged = measured(&target, &spec);
        let log = std::fs::metadata(target.dir.path().join("log"))
            .unwrap()
            .len();
        assert_eq!(
            log,
            400 * 1000,
            "the fill's 100 values and the 300 aging overwrites"
        );
        assert_eq!(
            (plain.ops, aged.ops),
            (50, 50),
            "aging is not in the figures"
        );
        assert!(
            aged.space_amp.value().unwrap() > 3.0 * plain.space_amp.value().unwrap(),
            "the measured phase met the aged engine"
        );
        let mut bad = Spec::new(Workload::FillRandom, 100, 1000);
        bad.age_ops = 1;
        let e = bad.check().unwrap_err();
        assert!(e.contains("age_ops") && e.contains("fillrandom"), "{e}");
    }

    #[test]
    fn a_deadline_slices_the_timeline_by_time() {
        // Far more operations than the deadline allows: the phase is sliced by its clock.
        let mut spec = Spec::new(Workload::Overwrite, 100, 100);
        spec.ops = 100_000_000;
        spec.duration_secs = Some(0.6);
        let f = measured(&AppendOnly::new(200), &spec);
        assert!(f.ops < spec.ops, "the deadline stopped it: {} ops", f.ops);
        let t = &f.timeline;
        assert!(t.len() >= 6, "{t:#?}");
        let (end, during) = t.split_last().unwrap();
        for p in during {
            assert!(
                (p.fraction - p.seconds / 0.6).abs() < 1e-9,
                "the fraction is the deadline's: {p:?}"
            );
        }
        assert_eq!((end.fraction, end.seconds), (1.0, f.seconds));
        assert_eq!(t.iter().map(|p| p.ops).sum::<u64>(), f.ops);
    }

    #[test]
    fn the_check_refuses_a_timeline_that_does_not_add_up() {
        let mut spec = Spec::new(Workload::Overwrite, 100, 1000);
        spec.ops = 1000;
        let f = measured(&AppendOnly::new(500), &spec);
        let good: serde_json::Value = serde_json::to_value(&f).unwrap();
        assert!(good["timeline"].as_array().unwrap().len() >= 3, "{good}");
        let broken = |what: &str, edit: &dyn Fn(&mut Vec<serde_json::Value>)| {
            let mut v = good.clone();
            edit(v["timeline"].as_array_mut().unwrap());
            let e = check_figures(&v.to_string(), &spec, ON_DISK).unwrap_err();
            assert!(e.contains("timeline"), "{what}: {e}");
        };
        broken("no points", &|t| t.clear());
        broken("out of order", &|t| t.swap(0, 1));
        broken("a point dropped", &|t| {
            t.remove(1);
        });
        broken("a made-up rate", &|t| {
            t[0]["ops_per_sec"] = (t[0]["ops_per_sec"].as_f64().unwrap() * 2.0).into();
        });
        broken("a slice without operations", &|t| {
            let ops = t[0]["ops"].as_u64().unwrap();
            t[1]["ops"] = (t[1]["ops"].as_u64().unwrap() + ops).into();
            t[0]["ops"] = 0.into();
            t[0]["ops_per_sec"] = 0.0.into();
        });
        broken("a zero space amplification", &|t| {
            t[0]["space_amp"] = 0.0.into()
        });
        broken("the end missing", &|t| {
            t.pop();
        });
        // And on a target with nothing on disk, a number is made up.
        let e = {
            let mut f = measured(&DefaultCfOnly::default(), &spec);
            f.timeline[0].space_amp = Measured::Value(1.0);
            check_figures(
                &serde_json::to_string(&f).unwrap(),
                &spec,
                Declares::default(),
            )
            .unwrap_err()
        };
        assert!(
            e.contains("timeline") && e.contains("non-persistent"),
            "{e}"
        );
    }
}
