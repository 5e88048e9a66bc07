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
    let engine = E::open(&configure(EngineConfig::new(dir.join("db")))).expect("child: open");
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

fn cycles<E: KvEngine>(
    engine: &str,
    cfg: &CrashConfig,
    configure: fn(EngineConfig) -> EngineConfig,
    dir: &Path,
) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x00C0_FFEE);
    let mut model = State::new();
    let mut applied: u64 = 0; // batches in the recovered state
    let mut acked_synced = 0usize;
    let mut aborted = 0usize;
    let started = Instant::now();
    let replay = |cycle: usize| {
        format!(
            "replay: cargo xtask crash --engine {engine} --cycles {} --seed {}  (failed in cycle {cycle})",
            cycle + 1,
            cfg.seed
        )
    };
    for cycle in 0..cfg.cycles {
        let _ = std::fs::remove_file(dir.join("acked"));
        let mut child = Command::new(&exe)
            .env("CRASH_CHILD_DIR", dir)
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
        } else {
            child.kill().map_err(|e| format!("SIGKILL: {e}"))?;
            child.wait().map_err(|e| e.to_string())?;
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

        let e = E::open(&configure(EngineConfig::new(dir.join("db"))))
            .map_err(|err| format!("cycle {cycle}: reopen failed: {err}\n{}", replay(cycle)))?;
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
        e.delete(CFS[0], b"zz-probe")
            .map_err(|err| err.to_string())?;
        if (cycle + 1) % (cfg.cycles / 10).max(1) == 0 {
            eprintln!(
                "  {engine} crash: cycle {}/{}, {applied} batches recovered",
                cycle + 1,
                cfg.cycles
            );
        }
    }
    Ok(format!(
        "{} cycles in {:.1}s: {} batches recovered, {} acknowledged synced batches checked, {} cycles ended at the failpoint{}",
        cfg.cycles,
        started.elapsed().as_secs_f64(),
        applied,
        acked_synced,
        aborted,
        cfg.abort_at
            .as_ref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default()
    ))
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
    if let Some(dir) = std::env::var_os("CRASH_CHILD_DIR") {
        child::<E>(&PathBuf::from(dir), configure);
    }
    let args = Arguments::from_args();
    let cfg = CrashConfig::from_env();
    let name = format!("crash::kill_reopen_{}_cycles", cfg.cycles);
    let quick = std::env::var_os("WORKBENCH_QUICK").is_some();
    let mut trials = Vec::new();
    let kill_cfg = cfg.clone();
    trials.push(
        Trial::test(name, move || {
            let summary = run_cycles::<E>(engine, &kill_cfg, configure).map_err(Failed::from)?;
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
