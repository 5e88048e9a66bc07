//! YCSB's core workloads A to F (YCSB's `CoreWorkload` with the properties of
//! `workloads/workloada` .. `workloadf`), driven through the default column family.
//!
//! A record is one key-value pair: the key is YCSB's (`user` + the hashed record number), the
//! value is the record's fields concatenated in field order, each `fieldlength` bytes, no
//! field names (the schema is fixed, so they would only add the same bytes to every value).
//! A binding to a key-value store cannot write one field in place, so an update of one field
//! (`writeallfields=false`, YCSB's default) reads the record, replaces that field and writes
//! the whole record back, as go-ycsb's raw TiKV binding and YCSB's RocksDB binding do. With
//! `writeallfields=true` an update is a blind put of a fresh record.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use engine_traits::CF_DEFAULT;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::generators::{AcknowledgedCounter, KeyChooser, Zipfian, build_key_name};
use crate::run::{Cell, Tally, Values, baseline, err, figures, measured_phase, probe, settle};
use crate::spec::{Figures, InsertOrder, ScanLength, Spec, Workload};

/// YCSB's operation types, named as YCSB's measurements name them (lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Update,
    Insert,
    Scan,
    ReadModifyWrite,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Update => "update",
            Op::Insert => "insert",
            Op::Scan => "scan",
            Op::ReadModifyWrite => "read-modify-write",
        }
    }
}

/// The operation proportions of a core workload (`readproportion`, `updateproportion`,
/// `insertproportion`, `scanproportion`, `readmodifywriteproportion` of its workload file).
pub(crate) fn mix(workload: Workload) -> &'static [(Op, f64)] {
    match workload {
        Workload::YcsbA => &[(Op::Read, 0.5), (Op::Update, 0.5)],
        Workload::YcsbB => &[(Op::Read, 0.95), (Op::Update, 0.05)],
        Workload::YcsbC => &[(Op::Read, 1.0)],
        Workload::YcsbD => &[(Op::Read, 0.95), (Op::Insert, 0.05)],
        Workload::YcsbE => &[(Op::Scan, 0.95), (Op::Insert, 0.05)],
        Workload::YcsbF => &[(Op::Read, 0.5), (Op::ReadModifyWrite, 0.5)],
        other => panic!("{} is not a YCSB workload", other.name()),
    }
}

/// YCSB's `operationchooser` (a discrete distribution over the proportions).
fn choose(mix: &[(Op, f64)], rng: &mut ChaCha8Rng) -> Op {
    let total: f64 = mix.iter().map(|m| m.1).sum();
    let mut u = rng.random::<f64>() * total;
    for &(op, p) in mix {
        if u < p {
            return op;
        }
        u -= p;
    }
    mix[mix.len() - 1].0
}

/// The key of record `n` under the spec's `insertorder` and `zeropadding`.
pub(crate) fn key(spec: &Spec, n: u64) -> Vec<u8> {
    build_key_name(
        n,
        spec.ycsb.zero_padding,
        spec.ycsb.insert_order == InsertOrder::Ordered,
    )
}

/// Key and value bytes of records `0..records`: what a YCSB run leaves live (keys differ in
/// length, so each is counted; two record numbers hashing to one key, odds about 10^-8 at a
/// million records, would be counted twice).
pub(crate) fn live_bytes(spec: &Spec, records: u64) -> u64 {
    live_bytes_of(spec, 0..records)
}

/// Key and value bytes of the records numbered `range`.
fn live_bytes_of(spec: &Spec, range: std::ops::Range<u64>) -> u64 {
    range
        .map(|n| (key(spec, n).len() + spec.value_size) as u64)
        .sum()
}

/// YCSB's `scanlength` generator.
enum ScanLen {
    Uniform(u64, u64),
    Zipfian(Zipfian),
}

impl ScanLen {
    fn next(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        match self {
            ScanLen::Uniform(lo, hi) => rng.random_range(*lo..=*hi),
            ScanLen::Zipfian(z) => z.next(rng),
        }
    }
}

/// Load (untimed), settle, run: YCSB's `-load` then `-t` phases against one target. `Err`
/// inside `Ok` is the reason the target cannot run the workload.
pub(crate) fn run(cell: &Cell<'_>) -> Result<Result<Figures, String>, String> {
    let (target, spec) = (cell.target, cell.spec);
    let mix = mix(spec.workload);
    let merges = !spec.ycsb.write_all_fields
        && mix
            .iter()
            .any(|m| matches!(m.0, Op::Update | Op::ReadModifyWrite));
    if merges && let Err(why) = probe("probing get_cf", || target.get_cf(CF_DEFAULT, b"user"))? {
        return Ok(Err(why));
    }

    // Load phase: YCSB's `doInsert` for record numbers 0..recordcount, in order.
    let values = Values::new(spec.value_size, spec.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    for n in 0..spec.num {
        target
            .put(&key(spec, n), values.pick(&mut rng), false)
            .map_err(|e| err("ycsb load", e))?;
        if n.is_multiple_of(4096) {
            (cell.progress)("load", n, spec.num);
        }
    }
    let compaction_wait_secs = settle(cell)?;
    let before = baseline(target)?;

    let total = spec.op_count();
    let insert_share: f64 = {
        let all: f64 = mix.iter().map(|m| m.1).sum();
        mix.iter()
            .filter(|m| m.0 == Op::Insert)
            .map(|m| m.1)
            .sum::<f64>()
            / all
    };
    // YCSB: `expectednewkeys = (int) (opcount * insertproportion * 2.0)`; KeyChooser doubles.
    let expected_inserts = (total as f64 * insert_share) as u64;
    let counter = AcknowledgedCounter::new(spec.num);
    let worker = |t: usize, count: u64, done: &AtomicU64, stop: &AtomicBool| {
        thread(
            spec,
            target,
            mix,
            &values,
            &counter,
            expected_inserts,
            t,
            count,
            done,
            stop,
        )
    };
    // Live bytes of the records so far, each key measured once however often the timeline
    // asks: (records counted, their bytes).
    let counted = std::cell::Cell::new((0, 0));
    let live = || {
        let (mut records, mut bytes) = counted.get();
        let now = counter.last() + 1;
        if records < now {
            bytes += live_bytes_of(spec, records..now);
            records = now;
            counted.set((records, bytes));
        }
        bytes
    };
    let phase = measured_phase(cell, &worker, &live)?;
    figures(cell, phase, before, live(), compaction_wait_secs).map(Ok)
}

/// One YCSB client thread: `count` operations (YCSB's `doTransaction`).
#[allow(clippy::too_many_arguments)]
fn thread(
    spec: &Spec,
    target: &dyn crate::Target,
    mix: &[(Op, f64)],
    values: &Values,
    counter: &AcknowledgedCounter,
    expected_inserts: u64,
    t: usize,
    count: u64,
    done: &AtomicU64,
    stop: &AtomicBool,
) -> Result<Tally, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(1 + t as u64));
    let mut chooser = KeyChooser::new(spec.request_distribution(), spec.num, expected_inserts);
    let (lo, hi) = (spec.ycsb.min_scan_length, spec.max_scan_length());
    let mut scan_len = match spec.ycsb.scan_length_distribution {
        ScanLength::Uniform => ScanLen::Uniform(lo, hi),
        ScanLength::Zipfian => ScanLen::Zipfian(Zipfian::new(lo, hi)),
    };
    let field_length = spec.ycsb.field_length;
    let mut tally = Tally::new();
    for i in 0..count {
        if i.is_multiple_of(64) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            done.fetch_add(64.min(count - i), Ordering::Relaxed);
        }
        let op = choose(mix, &mut rng);
        let phase = op.name();
        match op {
            Op::Read => {
                let k = key(spec, chooser.next(counter, &mut rng));
                let started = Instant::now();
                let found = target.get(&k).map_err(|e| err(phase, e))?;
                tally.record_op(phase, started);
                match found {
                    Some(len) => tally.bytes += (k.len() + len) as u64,
                    None => tally.not_found += 1,
                }
            }
            Op::Update | Op::ReadModifyWrite => {
                let k = key(spec, chooser.next(counter, &mut rng));
                let field = rng.random_range(0..spec.ycsb.field_count);
                let started = Instant::now();
                // A read-modify-write always reads (YCSB's `db.read` before `db.update`); an
                // update reads only to merge one field into the record.
                let record = if op == Op::ReadModifyWrite || !spec.ycsb.write_all_fields {
                    let old = target.get_cf(CF_DEFAULT, &k).map_err(|e| err(phase, e))?;
                    let Some(mut old) = old else {
                        tally.record_op(phase, started);
                        tally.not_found += 1;
                        continue;
                    };
                    tally.bytes += (k.len() + old.len()) as u64;
                    if spec.ycsb.write_all_fields {
                        values.pick(&mut rng).to_vec()
                    } else {
                        if old.len() != spec.value_size {
                            return Err(format!(
                                "{phase}: record {} is {} bytes, not the {} its fields make",
                                engine_traits::display_key(&k),
                                old.len(),
                                spec.value_size
                            ));
                        }
                        let at = field * field_length;
                        old[at..at + field_length]
                            .copy_from_slice(values.pick_len(&mut rng, field_length));
                        old
                    }
                } else {
                    values.pick(&mut rng).to_vec()
                };
                target
                    .put(&k, &record, spec.sync)
                    .map_err(|e| err(phase, e))?;
                tally.record_op(phase, started);
                let kv = (k.len() + record.len()) as u64;
                tally.bytes += kv;
                tally.user_written += kv;
            }
            Op::Insert => {
                let n = counter.next();
                let k = key(spec, n);
                let started = Instant::now();
                let value = values.pick(&mut rng);
                target
                    .put(&k, value, spec.sync)
                    .map_err(|e| err(phase, e))?;
                tally.record_op(phase, started);
                counter.acknowledge(n);
                let kv = (k.len() + value.len()) as u64;
                tally.bytes += kv;
                tally.user_written += kv;
            }
            Op::Scan => {
                let k = key(spec, chooser.next(counter, &mut rng));
                let len = scan_len.next(&mut rng);
                let started = Instant::now();
                let (records, bytes) = target
                    .seek(&k, (len - 1) as usize)
                    .map_err(|e| err(phase, e))?;
                tally.record_op(phase, started);
                tally.bytes += bytes;
                tally.count("scan_records", records);
            }
        }
    }
    tally.finished = Some(Instant::now());
    Ok(tally)
}
