//! Runs one cell: fill (untimed) when the workload needs it, then the measured phase on
//! `spec.threads` threads, then the figures. db_bench's workloads live here; YCSB's and
//! tikv's in their own modules, sharing the tallies, the threads and the figures below.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_traits::ErrorKind;
use hdrhistogram::Histogram;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spec::{
    Counter, Family, Figures, Latency, Measured, NotRun, OpFigures, Outcome, Spec, TimelinePoint,
    Workload,
};
use crate::target::Target;

/// Progress callback: (phase, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Writes key number `n` into `buf` as zero-padded decimal of `buf.len()` bytes, so byte order
/// is numeric order (fillseq is then sequential for every engine).
pub fn format_key(buf: &mut [u8], mut n: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Incompressible value bytes, sliced at random offsets: no allocation per operation, and a
/// compressing engine cannot look better than it is (db_bench's `--compression_ratio=1`).
pub(crate) struct Values {
    pool: Vec<u8>,
    size: usize,
}

impl Values {
    pub(crate) fn new(size: usize, seed: u64) -> Values {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x76616c75);
        let mut pool = vec![0u8; (1 << 20) + size];
        rng.fill_bytes(&mut pool);
        Values { pool, size }
    }

    pub(crate) fn pick(&self, rng: &mut ChaCha8Rng) -> &[u8] {
        self.pick_len(rng, self.size)
    }

    /// `len` bytes (at most the value size), for one YCSB field.
    pub(crate) fn pick_len(&self, rng: &mut ChaCha8Rng, len: usize) -> &[u8] {
        let off = rng.random_range(0..=self.pool.len() - len);
        &self.pool[off..off + len]
    }
}

/// Which keys are live: one bit per key, set from any thread.
struct Live(Vec<AtomicU64>);

impl Live {
    fn new(num: u64) -> Live {
        Live((0..num.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }

    fn set(&self, n: u64) {
        self.0[(n / 64) as usize].fetch_or(1 << (n % 64), Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum()
    }
}

fn histogram() -> Histogram<u64> {
    // 1 ns to 1 hour, 3 significant digits: a few tens of KiB per thread.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// One measuring thread's tallies.
pub(crate) struct Tally {
    hist: Histogram<u64>,
    pub(crate) ops: u64,
    pub(crate) bytes: u64,
    pub(crate) user_written: u64,
    pub(crate) not_found: u64,
    /// Per operation type (the mixed workloads): its count and latency histogram.
    by_op: BTreeMap<&'static str, (u64, Histogram<u64>)>,
    /// Workload-specific counts ([`Figures::counters`]).
    pub(crate) counters: BTreeMap<&'static str, u64>,
    /// When this thread's last operation ended: the phase's clock stops at the latest one
    /// (not when the polling thread notices, which would quantise every figure).
    pub(crate) finished: Option<Instant>,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            hist: histogram(),
            ops: 0,
            bytes: 0,
            user_written: 0,
            not_found: 0,
            by_op: BTreeMap::new(),
            counters: BTreeMap::new(),
            finished: None,
        }
    }

    fn record(&mut self, started: Instant) {
        let ns = started.elapsed().as_nanos().max(1) as u64;
        self.hist.saturating_record(ns);
        self.ops += 1;
    }

    /// Records one operation of type `op` that started at `started`, in the cell's and the
    /// type's histograms alike.
    pub(crate) fn record_op(&mut self, op: &'static str, started: Instant) {
        let ns = started.elapsed().as_nanos().max(1) as u64;
        self.hist.saturating_record(ns);
        self.ops += 1;
        let (n, hist) = self.by_op.entry(op).or_insert_with(|| (0, histogram()));
        *n += 1;
        hist.saturating_record(ns);
    }

    /// Adds `n` to counter `what`.
    pub(crate) fn count(&mut self, what: &'static str, n: u64) {
        *self.counters.entry(what).or_default() += n;
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.hist.add(&other.hist).expect("same bounds");
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.user_written += other.user_written;
        self.not_found += other.not_found;
        for (op, (n, hist)) in other.by_op {
            let (mine, h) = self.by_op.entry(op).or_insert_with(|| (0, histogram()));
            *mine += n;
            h.add(&hist).expect("same bounds");
        }
        for (what, n) in other.counters {
            self.count(what, n);
        }
        self.finished = self.finished.max(other.finished);
    }
}

fn latency(hist: &Histogram<u64>) -> Latency {
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Latency {
        p50: us(0.5),
        p99: us(0.99),
        p999: us(0.999),
        max: hist.max() as f64 / 1000.0,
    }
}

pub(crate) fn err(phase: &str, e: engine_traits::Error) -> String {
    format!("{phase}: {e}")
}

/// Runs `spec` against `target` and measures it. A workload the target cannot run (one of
/// its methods answers NotSupported before anything is measured) is [`Outcome::Unavailable`]
/// with the target's reason, never a figure.
pub fn run(
    engine: &str,
    target: &dyn Target,
    spec: &Spec,
    progress: Progress<'_>,
) -> Result<Outcome, String> {
    spec.check()?;
    reset_peak_rss();
    let cell = Cell {
        engine,
        target,
        spec,
        progress,
    };
    let measured = match spec.workload.family() {
        Family::DbBench => db_bench(&cell).map(Ok),
        Family::Ycsb => crate::ycsb::run(&cell),
        Family::Tikv => crate::tikv::run(&cell),
    }?;
    Ok(match measured {
        Ok(figures) => Outcome::Measured(Box::new(figures)),
        Err(unavailable) => Outcome::Unavailable(Box::new(NotRun {
            engine: engine.to_owned(),
            spec: spec.clone(),
            unavailable,
        })),
    })
}

/// What every workload's runner gets.
pub(crate) struct Cell<'a> {
    pub(crate) engine: &'a str,
    pub(crate) target: &'a dyn Target,
    pub(crate) spec: &'a Spec,
    pub(crate) progress: Progress<'a>,
}

/// Calls `probe`; a NotSupported answer becomes the reason the cell is unavailable, any other
/// error fails the cell. The mixed workloads probe every optional [`Target`] method they use
/// before loading anything, so a target without them costs no time and shows no numbers.
pub(crate) fn probe<T>(
    what: &str,
    probe: impl FnOnce() -> engine_traits::Result<T>,
) -> Result<Result<(), String>, String> {
    match probe() {
        Ok(_) => Ok(Ok(())),
        Err(e) if e.kind() == ErrorKind::NotSupported => Ok(Err(e.to_string())),
        Err(e) => Err(err(what, e)),
    }
}

/// After the load: flush, then (when asked) wait for compactions. Returns the wait's figure.
pub(crate) fn settle(cell: &Cell<'_>) -> Result<Option<Measured>, String> {
    cell.target
        .flush()
        .map_err(|e| err("flush after the load", e))?;
    if !cell.spec.wait_for_compaction {
        return Ok(None);
    }
    (cell.progress)("compaction", 0, 1);
    let started = Instant::now();
    let figure = match cell.target.wait_for_compaction() {
        Ok(()) => Measured::Value(started.elapsed().as_secs_f64()),
        Err(e) if e.kind() == ErrorKind::NotSupported => Measured::unavailable(e.to_string()),
        Err(e) => return Err(err("waiting for compactions", e)),
    };
    (cell.progress)("compaction", 1, 1);
    Ok(Some(figure))
}

/// One measuring thread of a mixed workload: (thread, operations, done so far, stop).
pub(crate) type Worker<'a> =
    dyn Fn(usize, u64, &AtomicU64, &AtomicBool) -> Result<Tally, String> + Sync + 'a;

/// What a measured phase gives the figures: the merged tally, the phase's wall time (to the
/// end of its last operation) and its [`Figures::timeline`].
pub(crate) struct Phase {
    pub(crate) tally: Tally,
    pub(crate) elapsed: Duration,
    pub(crate) timeline: Vec<TimelinePoint>,
}

/// The workload's live key and value bytes now, for the timeline's space amplification: the
/// same bookkeeping as the `live_bytes` handed to [`figures`], read while the phase runs.
pub(crate) type LiveBytes<'a> = dyn Fn() -> u64 + 'a;

/// The measured phase of the mixed workloads: `work(thread, count, done, stop)` on
/// `spec.threads` threads, `op_count` split between them, while this thread reports progress,
/// enforces the duration and samples the timeline (`live` gives the live bytes at a sample).
pub(crate) fn measured_phase(
    cell: &Cell<'_>,
    work: &Worker<'_>,
    live: &LiveBytes<'_>,
) -> Result<Phase, String> {
    let spec = cell.spec;
    let total = spec.op_count();
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let deadline = spec.duration_secs.map(Duration::from_secs_f64);
    let per_thread = total.div_ceil(spec.threads as u64);
    let started = Instant::now();
    let phase = std::thread::scope(|s| -> Result<Phase, String> {
        let workers: Vec<_> = (0..spec.threads)
            .map(|t| {
                let (done, stop) = (&done, &stop);
                let count = per_thread.min(total.saturating_sub(per_thread * t as u64));
                s.spawn(move || work(t, count, done, stop))
            })
            .collect();
        let clock = PhaseClock {
            progress: cell.progress,
            name: spec.workload.name(),
            done: &done,
            total,
            deadline,
            started,
            stop: &stop,
            target: cell.target,
            live,
        };
        clock.join(workers)
    })?;
    (cell.progress)(spec.workload.name(), phase.tally.ops, total);
    Ok(phase)
}

/// The timeline's slices: a point each tenth of the measured phase.
const SLICES: f64 = 10.0;

/// The spawning thread's side of a measured phase: it keeps the clock (stopping the workers
/// at the deadline), reports progress and samples the timeline until every worker is done,
/// then merges their tallies.
struct PhaseClock<'a> {
    progress: Progress<'a>,
    name: &'a str,
    done: &'a AtomicU64,
    total: u64,
    deadline: Option<Duration>,
    started: Instant,
    stop: &'a AtomicBool,
    /// Whose directory the timeline measures.
    target: &'a dyn Target,
    live: &'a LiveBytes<'a>,
}

impl PhaseClock<'_> {
    fn join(
        &self,
        workers: Vec<std::thread::ScopedJoinHandle<'_, Result<Tally, String>>>,
    ) -> Result<Phase, String> {
        let mut timeline = Timeline::default();
        while !workers.iter().all(|w| w.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
            // The time before the count: operations not counted yet end after it, so the
            // phase's end (the last point) comes after every point taken here.
            let elapsed = self.started.elapsed();
            let done = self.done.load(Ordering::Relaxed);
            (self.progress)(self.name, done, self.total);
            if self.deadline.is_some_and(|d| elapsed >= d) {
                self.stop.store(true, Ordering::Relaxed);
            }
            let at = self.fraction(done, elapsed);
            // The end of the phase is the last point, taken from the tallies below.
            if at < 1.0 && (at * SLICES).floor() as u32 > timeline.slices {
                timeline.slices = (at * SLICES).floor() as u32;
                let space_amp = self.space_amp_now();
                timeline.sample(at, elapsed.as_secs_f64(), done, space_amp);
            }
        }
        self.stop.store(true, Ordering::Relaxed);
        let space_amp = self.space_amp_now();
        let mut tally = Tally::new();
        for w in workers {
            tally.merge(
                w.join()
                    .map_err(|_| "a benchmark thread panicked".to_owned())??,
            );
        }
        let elapsed = tally.finished.map_or(Duration::ZERO, |f| f - self.started);
        let timeline = timeline.finish(elapsed.as_secs_f64().max(1e-9), tally.ops, space_amp);
        Ok(Phase {
            tally,
            elapsed,
            timeline,
        })
    }

    /// How far the phase is: operations done of `total`, or time elapsed of the deadline,
    /// whichever is further (the phase ends when either reaches 1). A phase that runs to its
    /// deadline long before its operation count is so sliced by time.
    fn fraction(&self, done: u64, elapsed: Duration) -> f64 {
        let by_ops = done as f64 / self.total.max(1) as f64;
        let by_time = self
            .deadline
            .map_or(0.0, |d| elapsed.as_secs_f64() / d.as_secs_f64());
        by_ops.max(by_time)
    }

    /// Space amplification now, without a flush: bytes under the target's directory over the
    /// live bytes. No directory, nothing on disk yet or a failed walk: unavailable, saying why.
    fn space_amp_now(&self) -> Measured {
        let dir = match self.target.dir() {
            Ok(dir) => dir,
            Err(why) => return Measured::unavailable(why),
        };
        let live = (self.live)();
        match dir_bytes(dir) {
            Err(e) => Measured::unavailable(format!("measuring {}: {e}", dir.display())),
            Ok(0) => Measured::unavailable(format!("nothing on disk yet in {}", dir.display())),
            Ok(_) if live == 0 => Measured::unavailable("no live data"),
            Ok(disk) => Measured::Value(disk as f64 / live as f64),
        }
    }
}

/// The points of [`Figures::timeline`] as the clock takes them.
#[derive(Default)]
struct Timeline {
    points: Vec<TimelinePoint>,
    /// Tenths of the phase passed at the last point.
    slices: u32,
    /// Operations counted up to the last point.
    done: u64,
}

impl Timeline {
    /// A point at `fraction` of the phase, `seconds` into it, `done` operations counted.
    fn sample(&mut self, fraction: f64, seconds: f64, done: u64, space_amp: Measured) {
        let since = self.points.last().map_or(0.0, |p| p.seconds);
        let ops = done.saturating_sub(self.done);
        self.done += ops;
        self.points.push(TimelinePoint {
            fraction,
            seconds,
            ops,
            ops_per_sec: ops as f64 / (seconds - since).max(1e-9),
            space_amp,
        });
    }

    /// The last point, the phase's end: `seconds` and `ops` are the phase's own (from the
    /// tallies). A point the clock took no earlier than the last operation's end (a poll
    /// racing it) is folded into the last slice, so the seconds keep ascending.
    fn finish(mut self, seconds: f64, ops: u64, space_amp: Measured) -> Vec<TimelinePoint> {
        while let Some(p) = self.points.pop_if(|p| p.seconds >= seconds) {
            self.done -= p.ops;
        }
        self.sample(1.0, seconds, ops, space_amp);
        self.points
    }
}

/// What the figures of a measured phase are relative to, read just before it (after the
/// load and any settling): the target's statistics and its own counters.
pub(crate) struct Baseline {
    bytes: Result<(u64, u64), String>,
    engine_counters: Vec<(&'static str, u64)>,
}

/// Reads the [`Baseline`] of a measured phase about to start.
pub(crate) fn baseline(target: &dyn Target) -> Result<Baseline, String> {
    Ok(Baseline {
        bytes: target.bytes_written().map_err(|e| err("statistics", e))?,
        engine_counters: target.counters().map_err(|e| err("counters", e))?,
    })
}

/// The figures of a measured phase: throughput and latency from its tally, write
/// amplification from the target's statistics since `before` (read after the load), space
/// amplification from the bytes on disk against `live_bytes`, the engine's counters' growth,
/// and the phase's timeline.
pub(crate) fn figures(
    cell: &Cell<'_>,
    phase: Phase,
    before: Baseline,
    live_bytes: u64,
    compaction_wait_secs: Option<Measured>,
) -> Result<Figures, String> {
    let (spec, target) = (cell.spec, cell.target);
    let Phase {
        tally,
        elapsed,
        timeline,
    } = phase;
    let Baseline {
        bytes: before,
        engine_counters: counters_before,
    } = before;
    // What the measured phase made the engine write, flushed so memtables count too. One
    // reading of the statistics gives both figures: a second one could include background
    // work done in between, and write_amp would no longer be engine bytes / user bytes.
    let (write_amp, engine_bytes_written) = if !spec.workload.writes() {
        let why = format!(
            "{} writes nothing in its measured phase",
            spec.workload.name()
        );
        (Measured::unavailable(why), None)
    } else {
        target.flush().map_err(|e| err("flush after run", e))?;
        let after = target.bytes_written().map_err(|e| err("statistics", e))?;
        match (before, after) {
            (Ok((_, e0)), Ok((_, e1))) => {
                let engine = e1.saturating_sub(e0);
                let amp = if tally.user_written > 0 {
                    Measured::Value(engine as f64 / tally.user_written as f64)
                } else {
                    Measured::unavailable("no user bytes were written")
                };
                (amp, Some(engine))
            }
            (Err(why), _) | (_, Err(why)) => (Measured::unavailable(why), None),
        }
    };

    // After the flush above, so a writing workload's counters include making its writes
    // durable, as its write amplification does.
    let counters_after = target.counters().map_err(|e| err("counters", e))?;
    let engine_counters = counter_deltas(&counters_before, &counters_after, tally.ops)?;

    let (space_amp, disk_bytes) = match target.dir() {
        Ok(dir) => {
            let disk = dir_bytes(dir).map_err(|e| format!("measuring {}: {e}", dir.display()))?;
            let amp = if live_bytes > 0 {
                Measured::Value(disk as f64 / live_bytes as f64)
            } else {
                Measured::unavailable("no live data")
            };
            (amp, Some(disk))
        }
        Err(why) => (Measured::unavailable(why), None),
    };

    let secs = elapsed.as_secs_f64().max(1e-9);
    let by_op = tally
        .by_op
        .iter()
        .map(|(op, (n, hist))| {
            let f = OpFigures {
                ops: *n,
                ops_per_sec: *n as f64 / secs,
                latency_us: latency(hist),
            };
            ((*op).to_owned(), f)
        })
        .collect();
    Ok(Figures {
        engine: cell.engine.to_owned(),
        spec: spec.clone(),
        ops: tally.ops,
        seconds: secs,
        ops_per_sec: tally.ops as f64 / secs,
        mb_per_sec: tally.bytes as f64 / secs / 1e6,
        latency_us: latency(&tally.hist),
        write_amp,
        space_amp,
        peak_rss_bytes: peak_rss(),
        user_bytes_written: tally.user_written,
        engine_bytes_written,
        disk_bytes,
        live_bytes,
        not_found: tally.not_found,
        by_op,
        counters: tally
            .counters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        compaction_wait_secs,
        engine_counters,
        timeline,
    })
}

/// db_bench's seven workloads.
fn db_bench(cell: &Cell<'_>) -> Result<Figures, String> {
    let (target, spec, progress) = (cell.target, cell.spec, cell.progress);
    let values = Values::new(spec.value_size, spec.seed);
    let live = Live::new(spec.num);
    let kv = (spec.key_size + spec.value_size) as u64;

    if spec.workload.needs_fill() {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let mut key = vec![0u8; spec.key_size];
        for n in 0..spec.num {
            format_key(&mut key, n);
            target
                .put(&key, values.pick(&mut rng), false)
                .map_err(|e| err("fill", e))?;
            live.set(n);
            if n.is_multiple_of(4096) {
                progress("fill", n, spec.num);
            }
        }
    }
    if spec.age_ops > 0 {
        // Uniform random overwrites from their own stream, so the measured phase's choices
        // are the same with and without aging.
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0xa9e5);
        let mut key = vec![0u8; spec.key_size];
        for n in 0..spec.age_ops {
            format_key(&mut key, rng.random_range(0..spec.num));
            target
                .put(&key, values.pick(&mut rng), false)
                .map_err(|e| err("aging", e))?;
            if n.is_multiple_of(4096) {
                progress("age", n, spec.age_ops);
            }
        }
    }
    let compaction_wait_secs = if spec.workload.needs_fill() {
        settle(cell)?
    } else {
        None
    };

    let before = baseline(target)?;
    let total = spec.op_count();
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let deadline = spec.duration_secs.map(Duration::from_secs_f64);
    let threads = if spec.workload == Workload::ReadSeq {
        1
    } else {
        spec.threads
    };
    let per_thread = total.div_ceil(threads as u64);

    let kv_live = || live.count() * kv;
    let started = Instant::now();
    let phase = std::thread::scope(|s| -> Result<Phase, String> {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (values, live, done, stop) = (&values, &live, &done, &stop);
                s.spawn(move || {
                    let first = per_thread * t as u64;
                    let count = per_thread.min(total.saturating_sub(first));
                    measure(target, spec, t, first, count, values, live, done, stop)
                })
            })
            .collect();
        let writer = (spec.workload == Workload::ReadWhileWriting).then(|| {
            let (values, live, stop) = (&values, &live, &stop);
            s.spawn(move || background_writer(target, spec, values, live, stop))
        });
        let clock = PhaseClock {
            progress,
            name: spec.workload.name(),
            done: &done,
            total,
            deadline,
            started,
            stop: &stop,
            target,
            live: &kv_live,
        };
        let mut phase = clock.join(workers)?;
        if let Some(w) = writer {
            let written = w
                .join()
                .map_err(|_| "the writer thread panicked".to_owned())??;
            phase.tally.user_written += written;
        }
        Ok(phase)
    })?;
    progress(spec.workload.name(), phase.tally.ops, total);
    let live_bytes = kv_live();
    figures(cell, phase, before, live_bytes, compaction_wait_secs)
}

/// Each counter's growth between two readings, per 1000 of `ops`. A counter that shrinks or
/// vanishes is the engine's bug, reported as such rather than as a negative figure.
fn counter_deltas(
    before: &[(&'static str, u64)],
    after: &[(&'static str, u64)],
    ops: u64,
) -> Result<BTreeMap<String, Counter>, String> {
    let mut out = BTreeMap::new();
    for &(name, b) in before {
        let a = after
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
            .ok_or_else(|| format!("counter {name} disappeared during the run"))?;
        let delta = a
            .checked_sub(b)
            .ok_or_else(|| format!("counter {name} went down from {b} to {a}"))?;
        let per_1000_ops = if ops > 0 {
            delta as f64 * 1000.0 / ops as f64
        } else {
            0.0
        };
        out.insert(
            name.to_owned(),
            Counter {
                delta,
                per_1000_ops,
            },
        );
    }
    Ok(out)
}

/// One measuring thread: `count` operations starting at key `first` (fillseq) or at random.
#[allow(clippy::too_many_arguments)]
fn measure(
    target: &dyn Target,
    spec: &Spec,
    thread: usize,
    first: u64,
    count: u64,
    values: &Values,
    live: &Live,
    done: &AtomicU64,
    stop: &AtomicBool,
) -> Result<Tally, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(1 + thread as u64));
    let mut tally = Tally::new();
    let mut key = vec![0u8; spec.key_size];
    let kv = (spec.key_size + spec.value_size) as u64;
    let phase = spec.workload.name();
    if spec.workload == Workload::ReadSeq {
        let mut last = Instant::now();
        let mut each = |len: usize| {
            tally.record(last);
            tally.bytes += len as u64;
            if tally.ops.is_multiple_of(256) {
                done.store(tally.ops, Ordering::Relaxed);
            }
            last = Instant::now();
        };
        target.scan(&mut each).map_err(|e| err(phase, e))?;
        tally.finished = Some(Instant::now());
        return Ok(tally);
    }
    for i in 0..count {
        if i.is_multiple_of(64) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            done.fetch_add(64.min(count - i), Ordering::Relaxed);
        }
        let n = match spec.workload {
            Workload::FillSeq => first + i,
            _ => rng.random_range(0..spec.num),
        };
        format_key(&mut key, n);
        let t = Instant::now();
        match spec.workload {
            Workload::FillSeq | Workload::FillRandom | Workload::Overwrite => {
                let value = values.pick(&mut rng);
                target
                    .put(&key, value, spec.sync)
                    .map_err(|e| err(phase, e))?;
                tally.record(t);
                live.set(n);
                tally.bytes += kv;
                tally.user_written += kv;
            }
            Workload::ReadRandom | Workload::ReadWhileWriting => {
                let found = target.get(&key).map_err(|e| err(phase, e))?;
                tally.record(t);
                match found {
                    Some(len) => tally.bytes += (spec.key_size + len) as u64,
                    None => tally.not_found += 1,
                }
            }
            Workload::SeekRandom => {
                let (_, bytes) = target
                    .seek(&key, spec.seek_nexts)
                    .map_err(|e| err(phase, e))?;
                tally.record(t);
                tally.bytes += bytes;
            }
            Workload::ReadSeq => unreachable!("handled above"),
            other => unreachable!("{} is not a db_bench workload", other.name()),
        }
    }
    tally.finished = Some(Instant::now());
    Ok(tally)
}

/// readwhilewriting's writer: random overwrites until the readers are done. Returns the user
/// bytes it wrote.
fn background_writer(
    target: &dyn Target,
    spec: &Spec,
    values: &Values,
    live: &Live,
    stop: &AtomicBool,
) -> Result<u64, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(0x7772));
    let mut key = vec![0u8; spec.key_size];
    let mut written = 0;
    // At least one write, however short the readers' run: the figure is about reading while
    // writing, and write amplification needs something written.
    loop {
        let n = rng.random_range(0..spec.num);
        format_key(&mut key, n);
        target
            .put(&key, values.pick(&mut rng), spec.sync)
            .map_err(|e| err("readwhilewriting writer", e))?;
        live.set(n);
        written += (spec.key_size + spec.value_size) as u64;
        if stop.load(Ordering::Relaxed) {
            return Ok(written);
        }
    }
}

/// Bytes of every file under `dir`. A file or subdirectory that vanishes during the walk (an
/// engine deleting a compacted file meanwhile) counts as gone, not as an error: the walk runs
/// while the engine works, in the measured phase and after it.
pub fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    walk_bytes(dir, true)
}

fn walk_bytes(dir: &Path, root: bool) -> std::io::Result<u64> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let entries = match std::fs::read_dir(dir) {
        Err(e) if !root && gone(&e) => return Ok(0),
        entries => entries?,
    };
    let mut total = 0;
    for entry in entries {
        let entry = entry?;
        let meta = match entry.metadata() {
            Err(e) if gone(&e) => continue,
            meta => meta?,
        };
        if meta.is_dir() {
            total += walk_bytes(&entry.path(), false)?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

/// Resets the kernel's peak-RSS mark (VmHWM), so a cell's peak is its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss() -> Measured {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Measured::unavailable("no /proc/self/status on this system");
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| Measured::Value(kb * 1024.0))
        .unwrap_or_else(|| Measured::unavailable("VmHWM missing from /proc/self/status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_numerically() {
        let (mut a, mut b) = (vec![0u8; 16], vec![0u8; 16]);
        format_key(&mut a, 9);
        format_key(&mut b, 10);
        assert_eq!(&a, b"0000000000000009");
        assert!(a < b);
    }

    #[test]
    fn counters_report_growth_per_thousand_ops() {
        let got = counter_deltas(&[("requests", 10)], &[("requests", 60)], 2000).unwrap();
        assert_eq!(
            got["requests"],
            Counter {
                delta: 50,
                per_1000_ops: 25.0
            }
        );
        let e = counter_deltas(&[("requests", 10)], &[("requests", 9)], 1).unwrap_err();
        assert!(e.contains("requests went down from 10 to 9"), "{e}");
        let e = counter_deltas(&[("requests", 1)], &[], 1).unwrap_err();
        assert!(e.contains("requests disappeared"), "{e}");
    }

    #[test]
    fn a_poll_racing_the_end_is_folded_into_the_last_slice() {
        let mut t = Timeline::default();
        t.sample(0.1, 1.0, 100, Measured::Value(1.0));
        t.sample(0.2, 2.0, 250, Measured::Value(1.5));
        // The last operation ended at 1.5 s, before the second poll read its clock.
        let points = t.finish(1.5, 300, Measured::unavailable("gone"));
        let got: Vec<(f64, f64, u64)> = points
            .iter()
            .map(|p| (p.fraction, p.seconds, p.ops))
            .collect();
        assert_eq!(got, [(0.1, 1.0, 100), (1.0, 1.5, 200)]);
        assert_eq!(points[1].ops_per_sec, 400.0);
        assert_eq!(points[0].ops_per_sec, 100.0);
    }

    #[test]
    fn live_counts_distinct_keys() {
        let live = Live::new(130);
        for n in [0, 1, 1, 64, 129, 129] {
            live.set(n);
        }
        assert_eq!(live.count(), 4);
    }
}
