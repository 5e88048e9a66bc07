//! The crash-recovery harness: SIGKILL a writer at random moments, reopen, verify.
//!
//! The history is a deterministic sequence of batches (from the seed): batch `i` writes one
//! to five puts or deletes across the `default`, `lock` and `write` CFs, synced or not. The
//! child writes batches in order from where the last recovery left off and, after each
//! `write` returns `Ok`, appends `"<i> <synced>"` to an acknowledgement file (through the page
//! cache, which survives SIGKILL). After each kill the parent reopens the engine and requires:
//! - the state equals the history applied up to some batch `n` (a prefix: no batch torn, none
//!   reordered, none invented);
//! - `n` covers every acknowledged synced batch;
//! - the engine accepts a write and reads it back.
//!
//! In power-loss mode ([`Fault::PowerLoss`]) the engine's directory is on a
//! [`powerloss::Mount`]: at the kill the parent freezes the file system, SIGKILLs the child,
//! and drops every byte and directory entry that was not made durable (or tears or reorders
//! them), unmounts, remounts, and runs the same checks. A kill keeps the page cache, so only
//! this mode tests an engine's fsync discipline. The acknowledgement file stays outside the
//! mount: it records what the engine promised, not what the disk kept.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine_traits::{
    EngineConfig, EngineIterator, KvEngine, WriteBatch, WriteOptions, display_key,
};
use libtest_mimic::{Arguments, Failed, Trial};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CFS: [&str; 3] = ["default", "lock", "write"];
const KEYS: u32 = 64;

/// How the harness runs.
#[derive(Clone, Debug)]
pub struct CrashConfig {
    /// Kill/reopen cycles.
    pub cycles: usize,
    /// Seed of the history and of the kill times.
    pub seed: u64,
    /// The child is killed this long after it starts, at random in this range.
    pub kill_after_ms: (u64, u64),
    /// Largest value written (engines that separate large values see both kinds).
    pub max_value: usize,
    /// A failpoint to arm in the child with `return(abort)` (2% of passes): the child dies
    /// there instead of, or before, the SIGKILL.
    pub abort_at: Option<String>,
    /// What ends each cycle: a kill, or a kill under a power cut.
    pub fault: Fault,
    /// More environment for the child (test engines read their mutation switches here).
    pub child_env: Vec<(String, String)>,
}

/// What ends a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL: the page cache survives, so unsynced writes usually do too.
    Kill,
    /// SIGKILL under a power cut on a power-loss file system.
    PowerLoss(Cut),
}

/// How the power cut treats what was not durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Everything not durable is dropped.
    Drop,
    /// Unsynced writes survive in order up to a point, the one there torn at 4 KiB.
    Torn,
    /// Each dirty 4 KiB page independently survives or not.
    Reorder,
}

impl Cut {
    /// The name in flags and trial names (`drop`, `torn`, `reorder`).
    pub fn name(self) -> &'static str {
        match self {
            Cut::Drop => "drop",
            Cut::Torn => "torn",
            Cut::Reorder => "reorder",
        }
    }

    /// The cut called `name`.
    pub fn parse(name: &str) -> Option<Cut> {
        [Cut::Drop, Cut::Torn, Cut::Reorder]
            .into_iter()
            .find(|c| c.name() == name)
    }

    fn mode(self, seed: u64) -> powerloss::CutMode {
        match self {
            Cut::Drop => powerloss::CutMode::DropUnsynced,
            Cut::Torn => powerloss::CutMode::TornWrite { seed },
            Cut::Reorder => powerloss::CutMode::Reorder { seed },
        }
    }
}

impl CrashConfig {
    /// From the environment: `CRASH_CYCLES` (default 200, or 20 with `WORKBENCH_QUICK`) and
    /// `CRASH_SEED` (default 1).
    pub fn from_env() -> CrashConfig {
        let quick = std::env::var_os("WORKBENCH_QUICK").is_some();
        let cycles = std::env::var("CRASH_CYCLES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if quick { 20 } else { 200 });
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        CrashConfig {
            cycles,
            seed,
            kill_after_ms: (40, 250),
            max_value: 8 << 10,
            abort_at: None,
            fault: Fault::Kill,
            child_env: Vec::new(),
        }
    }
}

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Put(usize, Vec<u8>, Vec<u8>),
    Delete(usize, Vec<u8>),
}

/// Batch `i` of the history of `seed`: its operations and whether it is written synced.
fn batch(seed: u64, i: u64, max_value: usize) -> (Vec<Op>, bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
    let n = rng.random_range(1..=5);
    let ops = (0..n)
        .map(|j| {
            let cf = rng.random_range(0..CFS.len());
            let key = format!("k{:03}", rng.random_range(0..KEYS)).into_bytes();
            if rng.random_bool(0.2) {
                Op::Delete(cf, key)
            } else {
                let len = if rng.random_bool(0.3) {
                    rng.random_range(0..=max_value)
                } else {
                    rng.random_range(0..64)
                };
                let tag = format!("{i}:{j}:");
                let value = tag.bytes().cycle().take(len.max(tag.len())).collect();
                Op::Put(cf, key, value)
            }
        })
        .collect();
    (ops, rng.random_bool(0.5))
}

type State = BTreeMap<(usize, Vec<u8>), Vec<u8>>;

fn apply(state: &mut State, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put(cf, k, v) => {
                state.insert((*cf, k.clone()), v.clone());
            }
            Op::Delete(cf, k) => {
                state.remove(&(*cf, k.clone()));
            }
        }
    }
}

fn dump<E: KvEngine>(e: &E) -> engine_traits::Result<State> {
    let mut out = State::new();
    for (cf_i, cf) in CFS.iter().enumerate() {
        let mut it = e.iterator_opt(
            cf,
            engine_traits::IterOptions::bounded(Some(b"k"), Some(b"l")),
        )?;
        let mut ok = it.seek_to_first()?;
        while ok {
            out.insert((cf_i, it.key().to_vec()), it.value()?.into_owned());
            ok = it.next()?;
        }
    }
    Ok(out)
}

fn describe_diff(got: &State, want: &State) -> String {
    let mut lines = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            None => lines.push(format!(
                "  {} {}: missing (expected {} bytes)",
                CFS[k.0],
                display_key(&k.1),
                v.len()
            )),
            Some(g) if g != v => lines.push(format!(
                "  {} {}: {} bytes, expected {} bytes",
                CFS[k.0],
                display_key(&k.1),
                g.len(),
                v.len()
            )),
            _ => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        lines.push(format!(
            "  {} {}: present, expected absent",
            CFS[k.0],
            display_key(&k.1)
        ));
    }
    lines.truncate(8);
    lines.join("\n")
}

/// The child: writes the history from `CRASH_START` until killed.
fn child<E: KvEngine>(dir: &Path, configure: fn(EngineConfig) -> EngineConfig) -> ! {
    // FAILPOINTS (e.g. "titan::lsm::before_write=2%return(abort)") arms crash points; the
    // child never returns, so the scenario stays armed until the process dies.
    std::mem::forget(fail::FailScenario::setup());
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let start: u64 = std::env::var("CRASH_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let max_value: usize = std::env::var("CRASH_MAX_VALUE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8192);
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acked"))
        .expect("ack file");
    let db = std::env::var_os("CRASH_DB").map_or_else(|| dir.join("db"), PathBuf::from);
    let engine = E::open(&configure(EngineConfig::new(db))).expect("child: open");
    for i in start.. {
        let (ops, sync) = batch(seed, i, max_value);
        let mut b = engine.write_batch();
        for op in &ops {
            match op {
                Op::Put(cf, k, v) => b.put(CFS[*cf], k, v),
                Op::Delete(cf, k) => b.delete(CFS[*cf], k),
            }
            .expect("child: batch");
        }
        engine
            .write(
                &WriteOptions {
                    sync,
                    disable_wal: false,
                },
                &b,
            )
            .expect("child: write");
        writeln!(acks, "{i} {}", u8::from(sync)).expect("child: ack");
        // Now and then, ask for space back where the engine offers it: that runs the engine's
        // compaction (and Titan's GC), so crash points there are reached too.
        if i % 64 == 63
            && let Some(c) = engine.as_manual_compaction()
        {
            c.compact_range(CFS[0], None, None)
                .expect("child: compaction");
        }
    }
    unreachable!("the history is endless; the parent kills the child")
}

/// Runs the cycles; `Err` describes the first violation.
pub fn run_cycles<E: KvEngine>(
    engine: &str,
    cfg: &CrashConfig,
    configure: fn(EngineConfig) -> EngineConfig,
) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!(
        "crash-{engine}-{}-{}",
        std::process::id(),
        cfg.seed
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let result = cycles::<E>(engine, cfg, configure, &dir);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// The power-loss file system of a run: the engine's directory is `mnt/db`, over `backing`.
struct PowerRig {
    backing: PathBuf,
    mnt: PathBuf,
    image: PathBuf,
    mount: Option<powerloss::Mount>,
    cut: Cut,
    /// Totals over the run, for the summary: cuts, bytes dropped, directory entries undone.
    cuts: usize,
    bytes_dropped: u64,
    entries_undone: usize,
}

impl PowerRig {
    fn new(dir: &Path, cut: Cut) -> Result<PowerRig, String> {
        powerloss::available().map_err(|why| format!("power-loss mode needs FUSE: {why}"))?;
        let backing = dir.join("backing");
        let mnt = dir.join("mnt");
        // The engine's own directory exists, durable, before the first cycle, as a deployment
        // creates its data directory: engines create files in it, not it (RocksDB never syncs
        // the parent of its directory), and everything in the backing directory at mount time
        // counts as durable.
        for d in [&backing.join("db"), &mnt] {
            std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        }
        let mut rig = PowerRig {
            image: dir.join("image-after-cut"),
            backing,
            mnt,
            mount: None,
            cut,
            cuts: 0,
            bytes_dropped: 0,
            entries_undone: 0,
        };
        rig.remount()?;
        Ok(rig)
    }

    fn remount(&mut self) -> Result<(), String> {
        if let Some(m) = self.mount.take() {
            m.unmount()
                .map_err(|e| format!("unmounting {}: {e}", self.mnt.display()))?;
        }
        self.mount = Some(
            powerloss::Mount::new(&self.backing, &self.mnt)
                .map_err(|e| format!("mounting {}: {e}", self.mnt.display()))?,
        );
        Ok(())
    }

    fn db(&self) -> PathBuf {
        self.mnt.join("db")
    }

    /// The cut: freeze, kill the writer, drop what was not durable, keep a copy of the image
    /// (the state a machine would find), then remount for recovery.
    fn cut(&mut self, child: &mut std::process::Child, seed: u64) -> Result<(), String> {
        let mount = self.mount.as_ref().expect("mounted");
        mount.freeze();
        let _ = child.kill();
        child.wait().map_err(|e| e.to_string())?;
        let report = mount
            .cut(self.cut.mode(seed))
            .map_err(|e| format!("cutting the power: {e}"))?;
        self.cuts += 1;
        self.bytes_dropped += report.bytes_dropped;
        self.entries_undone += report.entries_undone;
        self.mount
            .take()
            .expect("mounted")
            .unmount()
            .map_err(|e| format!("unmounting {}: {e}", self.mnt.display()))?;
        let _ = std::fs::remove_dir_all(&self.image);
        copy_dir(&self.backing, &self.image)?;
        self.remount()
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    for e in std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|err| format!("copying {}: {err}", src.display()))?;
        }
    }
    Ok(())
}

fn cycles<E: KvEngine>(
    engine: &str,
    cfg: &CrashConfig,
    configure: fn(EngineConfig) -> EngineConfig,
    dir: &Path,
) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x00C0_FFEE);
    let mut rig = match cfg.fault {
        Fault::Kill => None,
        Fault::PowerLoss(cut) => Some(PowerRig::new(dir, cut)?),
    };
    let db = rig.as_ref().map_or_else(|| dir.join("db"), PowerRig::db);
    let mut model = State::new();
    let mut applied: u64 = 0; // batches in the recovered state
    let mut acked_synced = 0usize;
    let mut aborted = 0usize;
    let mut corruption_reported = 0usize;
    let started = Instant::now();
    let replay = |cycle: usize| {
        let mode = match cfg.fault {
            Fault::Kill => String::new(),
            Fault::PowerLoss(cut) => format!(
                " --power-loss --cut {}  (the image after the cut is kept in {})",
                cut.name(),
                dir.join("image-after-cut").display()
            ),
        };
        format!(
            "replay: cargo xtask crash --engine {engine} --cycles {} --seed {}{mode}  (failed in cycle {cycle})",
            cycle + 1,
            cfg.seed
        )
    };
    for cycle in 0..cfg.cycles {
        let _ = std::fs::remove_file(dir.join("acked"));
        let mut child = Command::new(&exe)
            .env("CRASH_CHILD_DIR", dir)
            .env("CRASH_DB", &db)
            .env("CRASH_SEED", cfg.seed.to_string())
            .env("CRASH_START", applied.to_string())
            .env("CRASH_MAX_VALUE", cfg.max_value.to_string())
            .env(
                "FAILPOINTS",
                cfg.abort_at
                    .as_ref()
                    .map(|s| format!("{s}=2%return(abort)"))
                    .unwrap_or_default(),
            )
            .envs(cfg.child_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning the child: {e}"))?;
        let deadline = Instant::now()
            + Duration::from_millis(rng.random_range(cfg.kill_after_ms.0..=cfg.kill_after_ms.1));
        // Wait for the deadline, or for the child to die at its failpoint first.
        while Instant::now() < deadline && child.try_wait().map_err(|e| e.to_string())?.is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            aborted += 1;
        }
        match rig.as_mut() {
            Some(rig) => rig
                .cut(
                    &mut child,
                    cfg.seed ^ (cycle as u64).wrapping_mul(0x2545_F491),
                )
                .map_err(|e| format!("cycle {cycle}: {e}\n{}", replay(cycle)))?,
            None => {
                let _ = child.kill();
                child.wait().map_err(|e| e.to_string())?;
            }
        }

        let acks: Vec<(u64, bool)> = std::fs::read_to_string(dir.join("acked"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (i, s) = l.split_once(' ')?;
                Some((i.parse().ok()?, s == "1"))
            })
            .collect();
        acked_synced += acks.iter().filter(|a| a.1).count();
        let lo = acks
            .iter()
            .filter(|a| a.1)
            .map(|a| a.0 + 1)
            .max()
            .unwrap_or(applied)
            .max(applied);
        let hi = acks
            .iter()
            .map(|a| a.0 + 2)
            .max()
            .unwrap_or(applied + 1)
            .max(lo);

        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            E::open(&configure(EngineConfig::new(&db)))
        }))
        .map_err(|p| {
            format!(
                "cycle {cycle}: reopen panicked: {}\n{}",
                panic_message(&p),
                replay(cycle)
            )
        })?;
        let e = match opened {
            Ok(e) => e,
            // A torn or reordered write may damage what was never acknowledged as durable
            // in a way the engine can only report: Corruption is an honest answer there,
            // never a wrong value. The run starts a fresh history on an empty directory.
            Err(err)
                if err.kind() == engine_traits::ErrorKind::Corruption
                    && matches!(cfg.fault, Fault::PowerLoss(Cut::Torn | Cut::Reorder)) =>
            {
                corruption_reported += 1;
                eprintln!("  {engine} cycle {cycle}: recovery reported corruption: {err}");
                let rig = rig.as_mut().expect("power-loss mode");
                if let Some(m) = rig.mount.take() {
                    m.unmount().map_err(|e| format!("unmounting: {e}"))?;
                }
                let _ = std::fs::remove_dir_all(&rig.backing);
                std::fs::create_dir_all(&rig.backing).map_err(|e| e.to_string())?;
                rig.remount()?;
                model.clear();
                applied = 0;
                continue;
            }
            Err(err) => {
                return Err(format!(
                    "cycle {cycle}: reopen failed: {err}\n{}",
                    replay(cycle)
                ));
            }
        };
        let got = dump(&e).map_err(|err| {
            format!(
                "cycle {cycle}: reading the recovered state failed: {err}\n{}",
                replay(cycle)
            )
        })?;
        // Bring the model to `lo`, then look for the prefix the engine holds.
        for i in applied..lo {
            apply(&mut model, &batch(cfg.seed, i, cfg.max_value).0);
        }
        let mut candidate = model.clone();
        let mut found = None;
        for n in lo..=hi {
            if n > lo {
                apply(&mut candidate, &batch(cfg.seed, n - 1, cfg.max_value).0);
            }
            if candidate == got {
                found = Some(n);
                break;
            }
        }
        let Some(n) = found else {
            return Err(format!(
                "cycle {cycle}: the recovered state is no prefix of the history between batch {lo} (every acknowledged synced batch) and {hi}: \
                 lost acknowledged synced writes or a torn batch.\ndifferences from the state after batch {lo}:\n{}\n{}",
                describe_diff(&got, &model),
                replay(cycle)
            ));
        };
        model = candidate;
        applied = n;
        // The engine takes writes again (outside the history's key range).
        e.put_opt(&WriteOptions::sync(), CFS[0], b"zz-probe", b"alive")
            .map_err(|err| format!("cycle {cycle}: write after recovery failed: {err}"))?;
        let back = e
            .get(CFS[0], b"zz-probe")
            .map_err(|err| format!("cycle {cycle}: read after recovery failed: {err}"))?;
        if back.as_deref() != Some(&b"alive"[..]) {
            return Err(format!(
                "cycle {cycle}: a write after recovery did not read back\n{}",
                replay(cycle)
            ));
        }
        e.delete_opt(&WriteOptions::sync(), CFS[0], b"zz-probe")
            .map_err(|err| err.to_string())?;
        drop(e);
        if (cycle + 1) % (cfg.cycles / 10).max(1) == 0 {
            eprintln!(
                "  {engine} crash: cycle {}/{}, {applied} batches recovered",
                cycle + 1,
                cfg.cycles
            );
        }
    }
    let power = match (&cfg.fault, rig) {
        (Fault::PowerLoss(cut), Some(mut rig)) => {
            if let Some(m) = rig.mount.take() {
                m.unmount().map_err(|e| format!("unmounting: {e}"))?;
            }
            format!(
                "; power cut ({}) {} times, dropping {} unsynced bytes and undoing {} directory entries in all; recovery reported corruption {} times",
                cut.name(),
                rig.cuts,
                rig.bytes_dropped,
                rig.entries_undone,
                corruption_reported
            )
        }
        _ => String::new(),
    };
    let elapsed = started.elapsed().as_secs_f64();
    Ok(format!(
        "{} cycles in {:.1}s ({:.0} ms per cycle): {} batches recovered, {} acknowledged synced batches checked, {} cycles ended at the failpoint{}{power}",
        cfg.cycles,
        elapsed,
        elapsed * 1000.0 / cfg.cycles.max(1) as f64,
        applied,
        acked_synced,
        aborted,
        cfg.abort_at
            .as_ref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default()
    ))
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// For test binaries with trials of their own that call [`run_cycles`]: when this process is
/// the crash child (`CRASH_CHILD_DIR` is set), writes the history until killed and never
/// returns; otherwise returns at once. Call it first thing in `main`.
pub fn child_if_asked<E: KvEngine>(configure: fn(EngineConfig) -> EngineConfig) {
    if let Some(dir) = std::env::var_os("CRASH_CHILD_DIR") {
        child::<E>(&PathBuf::from(dir), configure);
    }
}

/// The power-loss trials (`CRASH_MODE=power-loss`): one per cut, `drop`, `torn` and `reorder`
/// (`CRASH_CUT` picks one), ignored with the reason where FUSE cannot be used. Cycles:
/// `CRASH_CYCLES`, else 20 for `drop` and 5 for each of the others (5 and 2 with
/// `WORKBENCH_QUICK`): `drop` is the common case, the other two cost test-all little.
fn power_loss_trials<E: KvEngine>(
    engine: &'static str,
    cfg: &CrashConfig,
    configure: fn(EngineConfig) -> EngineConfig,
    quick: bool,
) -> Vec<Trial> {
    let only = std::env::var("CRASH_CUT").ok();
    let explicit_cycles = std::env::var("CRASH_CYCLES").is_ok();
    let unavailable = powerloss::available().err();
    [Cut::Drop, Cut::Torn, Cut::Reorder]
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name()))
        .map(|cut| {
            let cycles = match (explicit_cycles, cut, quick) {
                (true, _, _) => cfg.cycles,
                (false, Cut::Drop, false) => 20,
                (false, Cut::Drop, true) => 5,
                (false, _, false) => 5,
                (false, _, true) => 2,
            };
            let cfg = CrashConfig {
                cycles,
                // Opening an engine through FUSE takes longer: give the child time to write.
                kill_after_ms: (150, 700),
                fault: Fault::PowerLoss(cut),
                ..cfg.clone()
            };
            let unavailable = unavailable.clone();
            Trial::ignorable_test(
                format!("power_loss::{}_{}_cycles", cut.name(), cfg.cycles),
                move || {
                    if let Some(why) = unavailable {
                        return Ok(libtest_mimic::Completion::ignored_with(format!(
                            "skipped: power-loss mode needs FUSE: {why}"
                        )));
                    }
                    let summary = run_cycles::<E>(engine, &cfg, configure).map_err(Failed::from)?;
                    eprintln!("{engine}: {summary}");
                    Ok(libtest_mimic::Completion::Completed)
                },
            )
            .with_kind(engine)
        })
        .collect()
}

/// The entry point of an engine's `tests/crash.rs`: the child when `CRASH_CHILD_DIR` is set,
/// otherwise one libtest trial running every cycle.
///
/// Besides the SIGKILL cycles, every site of the engine's catalog that simulates a `crash`
/// gets a trial of its own (`manifest_dir`: pass `env!("CARGO_MANIFEST_DIR")`): the child
/// aborts there, and the same checks run.
pub fn main<E: KvEngine>(
    engine: &'static str,
    manifest_dir: &'static str,
    configure: fn(EngineConfig) -> EngineConfig,
) -> ! {
    child_if_asked::<E>(configure);
    let args = Arguments::from_args();
    let cfg = CrashConfig::from_env();
    let quick = std::env::var_os("WORKBENCH_QUICK").is_some();
    let mut trials = Vec::new();
    if std::env::var("CRASH_MODE").as_deref() == Ok("power-loss") {
        trials = power_loss_trials::<E>(engine, &cfg, configure, quick);
    } else {
        let name = format!("crash::kill_reopen_{}_cycles", cfg.cycles);
        let kill_cfg = cfg.clone();
        trials.push(
            Trial::test(name, move || {
                let summary =
                    run_cycles::<E>(engine, &kill_cfg, configure).map_err(Failed::from)?;
                eprintln!("{engine}: {summary}");
                Ok(())
            })
            .with_kind(engine),
        );
        for site in crate::catalog(manifest_dir)
            .into_iter()
            .filter(|s| s.simulates.iter().any(|x| x == "crash"))
        {
            let cfg = CrashConfig {
                cycles: if quick { 3 } else { 10 },
                kill_after_ms: (300, 600),
                abort_at: Some(site.name.clone()),
                seed: cfg.seed + 1,
                ..cfg.clone()
            };
            trials.push(
                Trial::test(format!("crash::abort_at::{}", site.name), move || {
                    let summary = run_cycles::<E>(engine, &cfg, configure).map_err(Failed::from)?;
                    eprintln!("{engine}: {summary}");
                    Ok(())
                })
                .with_kind(engine),
            );
        }
    }
    let mut args = args;
    args.test_threads = Some(1); // the trials share nothing, but each already uses a core
    libtest_mimic::run(&args, trials).exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_deterministic() {
        assert_eq!(batch(3, 10, 100), batch(3, 10, 100));
        assert_ne!(batch(3, 10, 100), batch(3, 11, 100));
    }
}
