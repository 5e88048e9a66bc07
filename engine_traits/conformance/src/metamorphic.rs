//! The metamorphic layer, after Pebble's metamorphic test.
//!
//! A seed generates a sequence of operations (puts, deletes, delete_range, batches with save
//! points and rollbacks, snapshots, iterators moving both ways within bounds, iterators that
//! keep moving while writes land, flush, sync, and reopen where the engine persists). The
//! sequence runs on the engine and on [`Model`], a few `BTreeMap`s that are correct by
//! inspection; every operation's observation (a value, an iterator position, an error kind)
//! must be equal. On a mismatch the sequence is shrunk by removing chunks of operations while
//! the mismatch remains, and the failure prints the seed, the shrunk sequence and the command
//! that replays it.
//!
//! The key space is small (lengths 0 to 3 over `00 'a' 'b' 'c' ff`), so operations collide
//! often and edge keys (empty, 0x00, 0xFF, prefixes of each other) come up in every run.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use engine_traits::{
    EngineConfig, EngineIterator, ErrorKind, IterOptions, KvEngine, Readable, WriteBatch,
    WriteOptions, display_key,
};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Failure;

/// The column families the layer writes to (a subset of the well-known ones).
const CFS: [&str; 3] = ["default", "lock", "write"];

/// How much the layer runs: which seeds, how many operations each.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Seeds to run, one trial each.
    pub seeds: Vec<u64>,
    /// Operations per seed.
    pub ops: usize,
    /// Whether to generate reopen operations (the engine declares persistence).
    pub reopen: bool,
    /// The largest value generated; some values are larger than 4 KiB so engines that
    /// separate large values see both kinds.
    pub max_value: usize,
}

impl Plan {
    /// The default plan, scaled by `CONFORMANCE_SOAK` and narrowed by `CONFORMANCE_SEED`.
    pub fn from_env(persistent: bool) -> Plan {
        let soak: usize = std::env::var("CONFORMANCE_SOAK")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let seeds = match std::env::var("CONFORMANCE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(seed) => vec![seed],
            None => (1..=(6 * soak as u64)).collect(),
        };
        Plan {
            seeds,
            ops: 300 * soak,
            reopen: persistent,
            max_value: 8 << 10,
        }
    }

    /// The seeds to run.
    pub fn seeds(&self) -> Vec<u64> {
        self.seeds.clone()
    }
}

/// Where a read goes: the engine itself, or one of the open snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The engine's current state.
    Engine,
    /// Open snapshot number `n % open snapshots` (the engine when none is open).
    Snapshot(u8),
}

/// One iterator movement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// `seek_to_first`
    First,
    /// `seek_to_last`
    Last,
    /// `seek(key)`
    Seek(Vec<u8>),
    /// `seek_for_prev(key)`
    SeekForPrev(Vec<u8>),
    /// `next`
    Next,
    /// `prev`
    Prev,
    /// A put into the iterator's CF on the engine, between movements (iterator isolation).
    Put(Vec<u8>, Vec<u8>),
}

/// One step inside a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchStep {
    /// `put(cf, key, value)`
    Put(usize, Vec<u8>, Vec<u8>),
    /// `delete(cf, key)`
    Delete(usize, Vec<u8>),
    /// `delete_range(cf, start, end)`, possibly reversed.
    DeleteRange(usize, Vec<u8>, Vec<u8>),
    /// `set_save_point`
    SetSavePoint,
    /// `rollback_to_save_point`, possibly with none set.
    Rollback,
    /// `pop_save_point`, possibly with none set.
    Pop,
}

/// One operation of a sequence. Fields are named after the trait methods' parameters; `cf`
/// indexes [`CFS`].
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A single put.
    Put {
        cf: usize,
        key: Vec<u8>,
        value: Vec<u8>,
        sync: bool,
    },
    /// A single delete.
    Delete { cf: usize, key: Vec<u8> },
    /// A single delete_range, possibly reversed or empty.
    DeleteRange {
        cf: usize,
        start: Vec<u8>,
        end: Vec<u8>,
    },
    /// A batch, written once or twice.
    Batch {
        steps: Vec<BatchStep>,
        sync: bool,
        twice: bool,
    },
    /// A point read.
    Get {
        source: Source,
        cf: usize,
        key: Vec<u8>,
    },
    /// Take a snapshot and keep it open.
    TakeSnapshot,
    /// Drop open snapshot `n % open`.
    DropSnapshot(u8),
    /// An iterator with bounds, moved step by step.
    Iterate {
        source: Source,
        cf: usize,
        lower: Option<Vec<u8>>,
        upper: Option<Vec<u8>>,
        moves: Vec<Move>,
    },
    /// `flush`
    Flush,
    /// `sync`
    Sync,
    /// Close and reopen (only generated for persistent engines); drops every snapshot.
    Reopen,
}

fn k(key: &[u8]) -> String {
    display_key(key)
}

fn bound(b: &Option<Vec<u8>>) -> String {
    b.as_deref().map_or("none".into(), k)
}

fn val(v: &[u8]) -> String {
    if v.len() > 16 {
        format!("<{} bytes>", v.len())
    } else {
        k(v)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Put {
                cf,
                key,
                value,
                sync,
            } => write!(
                f,
                "put {} {} = {}{}",
                CFS[*cf],
                k(key),
                val(value),
                if *sync { " (sync)" } else { "" }
            ),
            Op::Delete { cf, key } => write!(f, "delete {} {}", CFS[*cf], k(key)),
            Op::DeleteRange { cf, start, end } => {
                write!(f, "delete_range {} [{}, {})", CFS[*cf], k(start), k(end))
            }
            Op::Batch { steps, sync, twice } => {
                write!(
                    f,
                    "batch{}{} {{",
                    if *sync { " (sync)" } else { "" },
                    if *twice { " written twice" } else { "" }
                )?;
                for s in steps {
                    match s {
                        BatchStep::Put(cf, key, v) => {
                            write!(f, " put {} {}={};", CFS[*cf], k(key), val(v))?
                        }
                        BatchStep::Delete(cf, key) => {
                            write!(f, " delete {} {};", CFS[*cf], k(key))?
                        }
                        BatchStep::DeleteRange(cf, s, e) => {
                            write!(f, " delete_range {} [{}, {});", CFS[*cf], k(s), k(e))?
                        }
                        BatchStep::SetSavePoint => write!(f, " save_point;")?,
                        BatchStep::Rollback => write!(f, " rollback;")?,
                        BatchStep::Pop => write!(f, " pop_save_point;")?,
                    }
                }
                write!(f, " }}")
            }
            Op::Get { source, cf, key } => write!(f, "get {source:?} {} {}", CFS[*cf], k(key)),
            Op::TakeSnapshot => write!(f, "take snapshot"),
            Op::DropSnapshot(n) => write!(f, "drop snapshot {n}"),
            Op::Iterate {
                source,
                cf,
                lower,
                upper,
                moves,
            } => {
                write!(
                    f,
                    "iterate {source:?} {} [{}, {}):",
                    CFS[*cf],
                    bound(lower),
                    bound(upper)
                )?;
                for m in moves {
                    match m {
                        Move::Seek(key) => write!(f, " seek({})", k(key))?,
                        Move::SeekForPrev(key) => write!(f, " seek_for_prev({})", k(key))?,
                        Move::Put(key, v) => write!(f, " [engine put {}={}]", k(key), val(v))?,
                        other => write!(f, " {other:?}")?,
                    }
                }
                Ok(())
            }
            Op::Flush => write!(f, "flush"),
            Op::Sync => write!(f, "sync"),
            Op::Reopen => write!(f, "reopen"),
        }
    }
}

/// Generates `plan.ops` operations from `seed`.
pub fn generate(seed: u64, plan: &Plan) -> Vec<Op> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..plan.ops).map(|_| gen_op(&mut rng, plan)).collect()
}

fn gen_key(rng: &mut impl Rng) -> Vec<u8> {
    const ALPHABET: [u8; 5] = [0x00, b'a', b'b', b'c', 0xff];
    let len = rng.random_range(0..=3);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn gen_value(rng: &mut impl Rng, plan: &Plan) -> Vec<u8> {
    // Sizes straddle 4 KiB on purpose: engines that separate large values (Titan, BlobDB)
    // switch storage at a threshold there, and the boundary itself must behave.
    let len = match rng.random_range(0..100) {
        0..5 => 0,
        5..75 => rng.random_range(1..24),
        75..88 => rng.random_range(4090..4103).min(plan.max_value),
        _ => rng.random_range(1..=plan.max_value.max(1)),
    };
    let fill: u8 = rng.random();
    (0..len).map(|i| fill.wrapping_add(i as u8)).collect()
}

fn gen_source(rng: &mut impl Rng) -> Source {
    if rng.random_bool(0.4) {
        Source::Snapshot(rng.random())
    } else {
        Source::Engine
    }
}

fn gen_bound(rng: &mut impl Rng) -> Option<Vec<u8>> {
    rng.random_bool(0.5).then(|| gen_key(rng))
}

fn gen_op(rng: &mut impl Rng, plan: &Plan) -> Op {
    let cf = rng.random_range(0..CFS.len());
    match rng.random_range(0..100) {
        0..25 => Op::Put {
            cf,
            key: gen_key(rng),
            value: gen_value(rng, plan),
            sync: rng.random_bool(0.1),
        },
        25..33 => Op::Delete {
            cf,
            key: gen_key(rng),
        },
        33..38 => Op::DeleteRange {
            cf,
            start: gen_key(rng),
            end: gen_key(rng),
        },
        38..50 => {
            let steps = (0..rng.random_range(0..8))
                .map(|_| {
                    let cf = rng.random_range(0..CFS.len());
                    match rng.random_range(0..100) {
                        0..45 => BatchStep::Put(cf, gen_key(rng), gen_value(rng, plan)),
                        45..60 => BatchStep::Delete(cf, gen_key(rng)),
                        60..70 => BatchStep::DeleteRange(cf, gen_key(rng), gen_key(rng)),
                        70..82 => BatchStep::SetSavePoint,
                        82..94 => BatchStep::Rollback,
                        _ => BatchStep::Pop,
                    }
                })
                .collect();
            Op::Batch {
                steps,
                sync: rng.random_bool(0.1),
                twice: rng.random_bool(0.1),
            }
        }
        50..66 => Op::Get {
            source: gen_source(rng),
            cf,
            key: gen_key(rng),
        },
        66..71 => Op::TakeSnapshot,
        71..74 => Op::DropSnapshot(rng.random()),
        74..94 => {
            let source = gen_source(rng);
            let moves = (0..rng.random_range(1..10))
                .map(|_| match rng.random_range(0..100) {
                    0..12 => Move::First,
                    12..22 => Move::Last,
                    22..37 => Move::Seek(gen_key(rng)),
                    37..50 => Move::SeekForPrev(gen_key(rng)),
                    50..70 => Move::Next,
                    70..88 => Move::Prev,
                    _ if source == Source::Engine => Move::Put(gen_key(rng), gen_value(rng, plan)),
                    _ => Move::Next,
                })
                .collect();
            Op::Iterate {
                source,
                cf,
                lower: gen_bound(rng),
                upper: gen_bound(rng),
                moves,
            }
        }
        94..97 => Op::Flush,
        97..98 => Op::Sync,
        _ if plan.reopen => Op::Reopen,
        _ => Op::Flush,
    }
}

/// One iterator move's outcome: the position (`None` when invalid) or the error kind.
pub type Step = Result<Option<crate::Kv>, ErrorKind>;

/// What one operation showed: the thing compared between engine and model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Obs {
    /// Nothing to see but success.
    Done,
    /// An error of this kind.
    Err(ErrorKind),
    /// A point read.
    Value(Option<Vec<u8>>),
    /// A batch: each step's error kind (if any) and the final count.
    Batch(Vec<Option<ErrorKind>>, usize),
    /// An iterator: the outcome of each move (position or error kind).
    Iter(Vec<Step>),
}

impl fmt::Display for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obs::Value(v) => write!(f, "value {}", v.as_deref().map_or("None".into(), val)),
            Obs::Iter(steps) => {
                write!(f, "positions [")?;
                for s in steps {
                    match s {
                        Ok(Some((key, v))) => write!(f, " {}={}", k(key), val(v))?,
                        Ok(None) => write!(f, " invalid")?,
                        Err(e) => write!(f, " error({e})")?,
                    }
                }
                write!(f, " ]")
            }
            other => write!(f, "{other:?}"),
        }
    }
}

type Cf = BTreeMap<Vec<u8>, Vec<u8>>;

/// The reference: one `BTreeMap` per CF, snapshots as clones. Correct by inspection.
#[derive(Clone, Debug, Default)]
pub struct Model {
    cfs: Vec<Cf>,
    snapshots: Vec<Vec<Cf>>,
}

fn model_delete_range(cf: &mut Cf, start: &[u8], end: &[u8]) {
    if start < end {
        let doomed: Vec<Vec<u8>> = cf
            .range(start.to_vec()..end.to_vec())
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            cf.remove(&k);
        }
    }
}

fn pick(n: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| n as usize % len)
}

impl Model {
    fn new() -> Model {
        Model {
            cfs: vec![Cf::new(); CFS.len()],
            snapshots: Vec::new(),
        }
    }

    fn source(&self, s: Source) -> &Vec<Cf> {
        match s {
            Source::Snapshot(n) => {
                pick(n, self.snapshots.len()).map_or(&self.cfs, |i| &self.snapshots[i])
            }
            Source::Engine => &self.cfs,
        }
    }

    fn apply(&mut self, op: &Op) -> Obs {
        match op {
            Op::Put { cf, key, value, .. } => {
                self.cfs[*cf].insert(key.clone(), value.clone());
                Obs::Done
            }
            Op::Delete { cf, key } => {
                self.cfs[*cf].remove(key);
                Obs::Done
            }
            Op::DeleteRange { cf, start, end } => {
                if start > end {
                    return Obs::Err(ErrorKind::InvalidArgument);
                }
                model_delete_range(&mut self.cfs[*cf], start, end);
                Obs::Done
            }
            Op::Batch { steps, twice, .. } => {
                let mut ops: Vec<&BatchStep> = Vec::new();
                let mut saves: Vec<usize> = Vec::new();
                let mut results = Vec::new();
                for s in steps {
                    let r = match s {
                        BatchStep::DeleteRange(_, a, b) if a > b => {
                            Some(ErrorKind::InvalidArgument)
                        }
                        BatchStep::Put(..) | BatchStep::Delete(..) | BatchStep::DeleteRange(..) => {
                            ops.push(s);
                            None
                        }
                        BatchStep::SetSavePoint => {
                            saves.push(ops.len());
                            None
                        }
                        BatchStep::Rollback => match saves.pop() {
                            Some(n) => {
                                ops.truncate(n);
                                None
                            }
                            None => Some(ErrorKind::InvalidArgument),
                        },
                        BatchStep::Pop => saves
                            .pop()
                            .map_or(Some(ErrorKind::InvalidArgument), |_| None),
                    };
                    results.push(r);
                }
                for _ in 0..(if *twice { 2 } else { 1 }) {
                    for s in &ops {
                        match s {
                            BatchStep::Put(cf, k, v) => {
                                self.cfs[*cf].insert(k.clone(), v.clone());
                            }
                            BatchStep::Delete(cf, k) => {
                                self.cfs[*cf].remove(k);
                            }
                            BatchStep::DeleteRange(cf, a, b) => {
                                model_delete_range(&mut self.cfs[*cf], a, b)
                            }
                            _ => {}
                        }
                    }
                }
                Obs::Batch(results, ops.len())
            }
            Op::Get { source, cf, key } => Obs::Value(self.source(*source)[*cf].get(key).cloned()),
            Op::TakeSnapshot => {
                self.snapshots.push(self.cfs.clone());
                Obs::Done
            }
            Op::DropSnapshot(n) => {
                if let Some(i) = pick(*n, self.snapshots.len()) {
                    self.snapshots.remove(i);
                }
                Obs::Done
            }
            Op::Iterate {
                source,
                cf,
                lower,
                upper,
                moves,
            } => {
                let opts = IterOptions::bounded(lower.as_deref(), upper.as_deref());
                if opts.check().is_err() {
                    return Obs::Err(ErrorKind::InvalidArgument);
                }
                let view: Vec<(Vec<u8>, Vec<u8>)> = self.source(*source)[*cf]
                    .iter()
                    .filter(|(k, _)| opts.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let mut pos: Option<usize> = None;
                let mut out = Vec::new();
                for m in moves {
                    let r = match m {
                        Move::First => Ok((!view.is_empty()).then_some(0)),
                        Move::Last => Ok(view.len().checked_sub(1)),
                        Move::Seek(key) => Ok(view.iter().position(|(k, _)| k >= key)),
                        Move::SeekForPrev(key) => Ok(view.iter().rposition(|(k, _)| k <= key)),
                        Move::Next => pos
                            .map(|p| (p + 1 < view.len()).then_some(p + 1))
                            .ok_or(ErrorKind::InvalidArgument),
                        Move::Prev => pos
                            .map(|p| p.checked_sub(1))
                            .ok_or(ErrorKind::InvalidArgument),
                        Move::Put(key, value) => {
                            self.cfs[*cf].insert(key.clone(), value.clone());
                            continue;
                        }
                    };
                    out.push(r.map(|p| {
                        pos = p;
                        p.map(|i| view[i].clone())
                    }));
                }
                Obs::Iter(out)
            }
            Op::Flush | Op::Sync => Obs::Done,
            Op::Reopen => {
                self.snapshots.clear();
                Obs::Done
            }
        }
    }
}

/// Runs `ops` on a fresh engine under `dir` and on a fresh model. Returns the index of the
/// first operation whose observations differ, with both observations; `Err` for a failure
/// that is not a mismatch (the engine would not open).
fn run_sequence<E: KvEngine>(
    config: &EngineConfig,
    ops: &[Op],
) -> Result<Option<(usize, Obs, Obs)>, Failure> {
    let dir = tempfile::Builder::new()
        .prefix("metamorphic-")
        .tempdir()
        .map_err(|e| Failure(format!("temporary directory: {e}")))?;
    let mut config = config.clone();
    config.path = dir.path().join("db");
    let mut model = Model::new();
    let mut i = 0;
    while i < ops.len() {
        let engine = E::open(&config)
            .map_err(|e| Failure(format!("metamorphic: opening the engine failed: {e}")))?;
        let mut snaps: Vec<E::Snapshot<'_>> = Vec::new();
        while i < ops.len() {
            let op = &ops[i];
            let want = model.apply(op);
            let got = apply_engine(&engine, &mut snaps, op);
            if got != want {
                return Ok(Some((i, got, want)));
            }
            i += 1;
            if *op == Op::Reopen {
                break;
            }
        }
    }
    Ok(None)
}

fn err(e: engine_traits::Error) -> Obs {
    Obs::Err(e.kind())
}

/// A read target: the engine or one open snapshot.
enum Target<'a, 'e, E: KvEngine + 'e> {
    Engine(&'a E),
    Snap(&'a E::Snapshot<'e>),
}

fn target<'a, 'e, E: KvEngine>(
    engine: &'a E,
    snaps: &'a [E::Snapshot<'e>],
    s: Source,
) -> Target<'a, 'e, E> {
    match s {
        Source::Snapshot(n) => {
            pick(n, snaps.len()).map_or(Target::Engine(engine), |i| Target::Snap(&snaps[i]))
        }
        Source::Engine => Target::Engine(engine),
    }
}

fn apply_engine<'e, E: KvEngine>(engine: &'e E, snaps: &mut Vec<E::Snapshot<'e>>, op: &Op) -> Obs {
    let wopts = |sync: bool| WriteOptions {
        sync,
        disable_wal: false,
    };
    let r = match op {
        Op::Put {
            cf,
            key,
            value,
            sync,
        } => engine.put_opt(&wopts(*sync), CFS[*cf], key, value),
        Op::Delete { cf, key } => engine.delete(CFS[*cf], key),
        Op::DeleteRange { cf, start, end } => engine.delete_range(CFS[*cf], start, end),
        Op::Batch { steps, sync, twice } => {
            let mut b = engine.write_batch();
            let results: Vec<Option<ErrorKind>> = steps
                .iter()
                .map(|s| {
                    let r = match s {
                        BatchStep::Put(cf, k, v) => b.put(CFS[*cf], k, v),
                        BatchStep::Delete(cf, k) => b.delete(CFS[*cf], k),
                        BatchStep::DeleteRange(cf, s, e) => b.delete_range(CFS[*cf], s, e),
                        BatchStep::SetSavePoint => {
                            b.set_save_point();
                            Ok(())
                        }
                        BatchStep::Rollback => b.rollback_to_save_point(),
                        BatchStep::Pop => b.pop_save_point(),
                    };
                    r.err().map(|e| e.kind())
                })
                .collect();
            for _ in 0..(if *twice { 2 } else { 1 }) {
                if let Err(e) = engine.write(&wopts(*sync), &b) {
                    return err(e);
                }
            }
            return Obs::Batch(results, b.count());
        }
        Op::Get { source, cf, key } => {
            let r = match target(engine, snaps, *source) {
                Target::Engine(e) => e.get(CFS[*cf], key),
                Target::Snap(s) => s.get(CFS[*cf], key),
            };
            return r.map_or_else(err, Obs::Value);
        }
        Op::TakeSnapshot => engine.snapshot().map(|s| snaps.push(s)),
        Op::DropSnapshot(n) => {
            if let Some(i) = pick(*n, snaps.len()) {
                snaps.remove(i);
            }
            Ok(())
        }
        Op::Iterate {
            source,
            cf,
            lower,
            upper,
            moves,
        } => {
            let opts = IterOptions::bounded(lower.as_deref(), upper.as_deref());
            return match target(engine, snaps, *source) {
                Target::Engine(e) => e
                    .iterator_opt(CFS[*cf], opts)
                    .map_or_else(err, |it| drive(it, engine, CFS[*cf], moves)),
                Target::Snap(s) => s
                    .iterator_opt(CFS[*cf], opts)
                    .map_or_else(err, |it| drive(it, engine, CFS[*cf], moves)),
            };
        }
        Op::Flush => engine.flush(),
        Op::Sync => engine.sync(),
        Op::Reopen => Ok(()),
    };
    r.map_or_else(err, |_| Obs::Done)
}

fn drive<E: KvEngine, I: EngineIterator>(mut it: I, engine: &E, cf: &str, moves: &[Move]) -> Obs {
    let mut out = Vec::new();
    for m in moves {
        let r = match m {
            Move::First => it.seek_to_first(),
            Move::Last => it.seek_to_last(),
            Move::Seek(k) => it.seek(k),
            Move::SeekForPrev(k) => it.seek_for_prev(k),
            Move::Next => it.next(),
            Move::Prev => it.prev(),
            Move::Put(k, v) => {
                if let Err(e) = engine.put(cf, k, v) {
                    return err(e);
                }
                continue;
            }
        };
        out.push(match r {
            Err(e) => Err(e.kind()),
            Ok(false) => Ok(None),
            Ok(true) => match it.value() {
                Ok(v) => Ok(Some((it.key().to_vec(), v.into_owned()))),
                Err(e) => Err(e.kind()),
            },
        });
    }
    Obs::Iter(out)
}

/// Removes chunks of `ops` while the sequence still shows a mismatch; bounded in time.
fn shrink<E: KvEngine>(config: &EngineConfig, mut ops: Vec<Op>) -> Vec<Op> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = ops.len() / 2;
    while chunk >= 1 && Instant::now() < deadline {
        let mut start = 0;
        let mut removed_any = false;
        while start < ops.len() && Instant::now() < deadline {
            let end = (start + chunk).min(ops.len());
            let candidate: Vec<Op> = ops[..start].iter().chain(&ops[end..]).cloned().collect();
            if let Ok(Some((at, _, _))) = run_sequence::<E>(config, &candidate) {
                ops = candidate[..=at].to_vec();
                removed_any = true;
            } else {
                start += chunk;
            }
        }
        if !removed_any {
            chunk /= 2;
        }
    }
    ops
}

/// Runs one seed; on a mismatch, shrinks and reports.
pub fn check_seed<E: KvEngine>(
    config: &EngineConfig,
    plan: &Plan,
    seed: u64,
) -> Result<(), Failure> {
    let ops = generate(seed, plan);
    let Some((at, got, want)) = run_sequence::<E>(config, &ops)? else {
        return Ok(());
    };
    let original = &ops[..=at];
    let shrunk = shrink::<E>(config, original.to_vec());
    let last = run_sequence::<E>(config, &shrunk).ok().flatten();
    let mut msg = format!(
        "metamorphic mismatch, seed {seed}: operation #{at} `{}`\n  engine observed: {got}\n  model expected:  {want}\n",
        ops[at]
    );
    msg.push_str(&format!(
        "shrunk from {} to {} operations:\n",
        original.len(),
        shrunk.len()
    ));
    for (i, op) in shrunk.iter().enumerate() {
        msg.push_str(&format!("  {i:>3}. {op}\n"));
    }
    if let Some((i, got, want)) = last {
        msg.push_str(&format!(
            "  shrunk sequence fails at #{i}: engine observed {got}, model expected {want}\n"
        ));
    }
    // Cargo sets CARGO_PKG_NAME for the test binary it runs: the engine crate under test.
    let krate = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<engine crate>".into());
    msg.push_str(&format!(
        "replay: CONFORMANCE_SEED={seed} cargo test -p {krate} --test conformance -- metamorphic\n"
    ));
    Err(Failure(msg))
}

/// Every observation of `ops` run on a fresh engine `E` (opened with `config`, path replaced).
pub fn observations<E: KvEngine>(config: &EngineConfig, ops: &[Op]) -> Result<Vec<Obs>, Failure> {
    let dir = tempfile::Builder::new()
        .prefix("differential-")
        .tempdir()
        .map_err(|e| Failure(format!("temporary directory: {e}")))?;
    let mut config = config.clone();
    config.path = dir.path().join("db");
    let mut out = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() {
        let engine = E::open(&config)
            .map_err(|e| Failure(format!("differential: opening the engine failed: {e}")))?;
        let mut snaps: Vec<E::Snapshot<'_>> = Vec::new();
        while i < ops.len() {
            out.push(apply_engine(&engine, &mut snaps, &ops[i]));
            i += 1;
            if ops[i - 1] == Op::Reopen {
                break;
            }
        }
    }
    Ok(out)
}

/// Runs the sequence of `seed` on engines `A` and `B` and requires identical observations.
/// Reopen operations are generated only when `plan.reopen` is set, so pass a plan without
/// them when either engine lacks persistence.
pub fn differential<A: KvEngine, B: KvEngine>(
    config_a: &EngineConfig,
    config_b: &EngineConfig,
    plan: &Plan,
    seed: u64,
) -> Result<(), Failure> {
    let ops = generate(seed, plan);
    let a = observations::<A>(config_a, &ops)?;
    let b = observations::<B>(config_b, &ops)?;
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        None => Ok(()),
        Some(i) => Err(Failure(format!(
            "differential mismatch, seed {seed}: operation #{i} `{}`\n  {}: {}\n  {}: {}",
            ops[i],
            std::any::type_name::<A>(),
            a[i],
            std::any::type_name::<B>(),
            b[i]
        ))),
    }
}

/// The differential test as an engine's `tests/differential.rs` runs it: `engine` against
/// `reference` on the same seeded sequences (seeds 100 to 103, 400 operations each, values up
/// to 8 KiB), with reopens exactly when both engines persist. Panics with the first mismatch.
/// Each engine runs in a temporary directory of its own.
pub fn assert_same_observations<Reference: KvEngine, Engine: KvEngine>() {
    let plan = Plan {
        seeds: (100..104).collect(),
        ops: 400,
        reopen: Reference::CAPABILITIES.persistence && Engine::CAPABILITIES.persistence,
        max_value: 8 << 10,
    };
    let config = EngineConfig::new("unused");
    for &seed in &plan.seeds {
        differential::<Reference, Engine>(&config, &config, &plan, seed)
            .unwrap_or_else(|f| panic!("{f}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_per_seed() {
        let plan = Plan {
            seeds: vec![1],
            ops: 200,
            reopen: true,
            max_value: 8192,
        };
        assert_eq!(generate(7, &plan), generate(7, &plan));
        assert_ne!(generate(7, &plan), generate(8, &plan));
    }

    #[test]
    fn model_iterator_respects_bounds_and_errors_on_invalid_next() {
        let mut m = Model::new();
        for key in [&b"a"[..], b"b", b"c"] {
            m.apply(&Op::Put {
                cf: 0,
                key: key.to_vec(),
                value: b"v".to_vec(),
                sync: false,
            });
        }
        let obs = m.apply(&Op::Iterate {
            source: Source::Engine,
            cf: 0,
            lower: Some(b"b".to_vec()),
            upper: Some(b"c".to_vec()),
            moves: vec![Move::First, Move::Next, Move::Next],
        });
        assert_eq!(
            obs,
            Obs::Iter(vec![
                Ok(Some((b"b".to_vec(), b"v".to_vec()))),
                Ok(None),
                Err(ErrorKind::InvalidArgument)
            ])
        );
    }
}
