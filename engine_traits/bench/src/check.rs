//! The test mode's checks of a figures JSON: every figure present, each a number or an
//! explicit "unavailable" with its reason, and consistent with the spec and with each other.

use serde_json::Value;

use crate::Declares;
use crate::spec::{Family, Figures, Measured, Outcome, Spec, Workload};

/// Every figure a cell reports, as JSON keys.
pub const FIGURES: [&str; 9] = [
    "ops",
    "seconds",
    "ops_per_sec",
    "mb_per_sec",
    "latency_us",
    "write_amp",
    "space_amp",
    "peak_rss_bytes",
    "live_bytes",
];

/// Checks what one cell's job wrote. A cell the target could not run is an error here (the
/// test mode runs every workload on every target, so "unavailable" must never pass), but its
/// JSON must still be well formed: the spec it was asked for and a reason, no figures.
pub fn check_outcome(json: &str, spec: &Spec, declares: Declares) -> Result<(), String> {
    let outcome: Outcome = serde_json::from_str(json).map_err(|e| format!("cell JSON: {e}"))?;
    if let Outcome::Unavailable(not_run) = outcome {
        let raw: Value = serde_json::from_str(json).map_err(|e| format!("cell JSON: {e}"))?;
        if raw.get("ops").is_some() || raw.get("ops_per_sec").is_some() {
            return Err(format!("an unavailable cell carries figures: {json}"));
        }
        return Err(format!(
            "{} cannot run {}: {}",
            not_run.engine,
            spec.workload.name(),
            not_run.unavailable
        ));
    }
    check_figures(json, spec, declares)
}

/// Checks one cell's figures JSON against its spec. `declares` is what the target offers:
/// it decides which figures must be measured and which must say unavailable.
pub fn check_figures(json: &str, spec: &Spec, declares: Declares) -> Result<(), String> {
    let Declares {
        persistent,
        statistics,
        settles,
    } = declares;
    let raw: Value = serde_json::from_str(json).map_err(|e| format!("figures JSON: {e}"))?;
    for key in FIGURES {
        let v = &raw[key];
        let ok = v.is_number()
            || v["unavailable"].is_string()
            || (key == "latency_us"
                && ["p50", "p99", "p999", "max"]
                    .iter()
                    .all(|p| v[p].is_number()));
        if !ok {
            return Err(format!("figure {key} is missing or malformed: {v}"));
        }
    }
    let f: Figures = serde_json::from_str(json).map_err(|e| format!("figures JSON: {e}"))?;
    let expect = |cond: bool, what: String| if cond { Ok(()) } else { Err(what) };

    let ops = spec.op_count();
    expect(f.ops == ops, format!("ops {} != the spec's {ops}", f.ops))?;
    expect(
        f.seconds > 0.0 && f.ops_per_sec > 0.0 && f.ops_per_sec.is_finite(),
        format!("throughput {} ops/s over {} s", f.ops_per_sec, f.seconds),
    )?;
    expect(f.mb_per_sec > 0.0, format!("mb_per_sec {}", f.mb_per_sec))?;
    let l = &f.latency_us;
    expect(
        0.0 < l.p50 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max,
        format!("latency percentiles out of order: {l:?}"),
    )?;
    let family = spec.workload.family();
    if matches!(
        spec.workload,
        Workload::ReadRandom | Workload::ReadWhileWriting
    ) || family != Family::DbBench
    {
        expect(
            f.not_found == 0,
            format!(
                "{} reads found nothing, though they only ask for records that exist",
                f.not_found
            ),
        )?;
    }
    match family {
        Family::DbBench => expect(
            f.by_op.is_empty(),
            format!(
                "{} has one operation type, yet by_op is {:?}",
                spec.workload.name(),
                f.by_op
            ),
        )?,
        Family::Ycsb => check_ycsb(&f, spec)?,
        Family::Tikv => check_tikv(&f, spec)?,
    }
    check_compaction_wait(&f, spec, settles)?;
    let kv = (spec.key_size + spec.value_size) as u64;
    if matches!(
        spec.workload,
        Workload::FillSeq | Workload::FillRandom | Workload::Overwrite
    ) {
        expect(
            f.user_bytes_written == ops * kv,
            format!("user bytes {} != {ops} x {kv}", f.user_bytes_written),
        )?;
    }
    if family == Family::DbBench
        && (spec.workload == Workload::ReadSeq || spec.workload.needs_fill())
    {
        expect(
            f.live_bytes == spec.num * kv,
            format!("live bytes {} after a fill of {}", f.live_bytes, spec.num),
        )?;
    }

    // Write amplification comes from the engine's statistics, never from our own tally.
    match (&f.write_amp, spec.workload.writes(), statistics) {
        (Measured::Value(wa), true, true) => {
            let engine = f
                .engine_bytes_written
                .ok_or("write_amp measured but engine_bytes_written missing")?;
            expect(
                engine > 0 && f.user_bytes_written > 0,
                format!(
                    "engine wrote {engine} bytes for {} user bytes",
                    f.user_bytes_written
                ),
            )?;
            let computed = engine as f64 / f.user_bytes_written as f64;
            expect(
                (wa - computed).abs() < 1e-9,
                format!("write_amp {wa} is not engine bytes / user bytes ({computed})"),
            )?;
        }
        (Measured::Unavailable { unavailable }, true, false) => expect(
            unavailable.contains("statistics"),
            format!("write_amp unavailable for another reason: {unavailable}"),
        )?,
        (Measured::Unavailable { .. }, false, _) => {}
        (other, writes, stats) => {
            return Err(format!(
                "write_amp {other:?} for a workload that {} with an engine that {} statistics",
                if writes { "writes" } else { "does not write" },
                if stats {
                    "declares"
                } else {
                    "does not declare"
                }
            ));
        }
    }
    match (&f.space_amp, persistent) {
        (Measured::Value(sa), true) => expect(
            *sa > 0.0 && f.disk_bytes.is_some_and(|d| d > 0),
            format!("space_amp {sa} with {:?} bytes on disk", f.disk_bytes),
        )?,
        (Measured::Unavailable { .. }, false) => {}
        (other, _) => {
            return Err(format!(
                "space_amp {other:?} for a {}persistent engine",
                if persistent { "" } else { "non-" }
            ));
        }
    }
    for (name, c) in &f.engine_counters {
        let computed = c.delta as f64 * 1000.0 / f.ops.max(1) as f64;
        expect(
            !name.is_empty() && (c.per_1000_ops - computed).abs() < 1e-6,
            format!(
                "counter {name:?}: {} per 1000 ops is not {} x 1000 / {} ops",
                c.per_1000_ops, c.delta, f.ops
            ),
        )?;
    }
    check_timeline(&f, spec, persistent)?;
    if cfg!(target_os = "linux") {
        expect(
            f.peak_rss_bytes.value().is_some_and(|b| b > 1e6),
            format!("peak_rss_bytes {:?}", f.peak_rss_bytes),
        )?;
    }
    Ok(())
}

/// The per-operation figures: every type the workload mixes in (those expected at least ten
/// times), no other, adding up to the cell's operations, each with ordered latencies.
fn check_by_op(f: &Figures, expected: &[(&str, f64)]) -> Result<(), String> {
    let ops = f.ops as f64;
    for (name, share) in expected {
        if share * ops >= 10.0 && !f.by_op.contains_key(*name) {
            return Err(format!(
                "by_op has no {name} though {:.0}% of {} operations are",
                share * 100.0,
                f.ops
            ));
        }
    }
    let mut sum = 0;
    for (name, op) in &f.by_op {
        if !expected.iter().any(|(n, share)| n == name && *share > 0.0) {
            return Err(format!(
                "by_op has {name}, which {} does not do",
                f.spec.workload.name()
            ));
        }
        let l = &op.latency_us;
        if op.ops == 0 || !(0.0 < l.p50 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max) {
            return Err(format!("by_op {name}: {op:?}"));
        }
        let rate = op.ops as f64 / f.seconds;
        if (op.ops_per_sec - rate).abs() > 1e-6 * rate.max(1.0) {
            return Err(format!(
                "by_op {name}: {} ops/s is not {} ops over {} s",
                op.ops_per_sec, op.ops, f.seconds
            ));
        }
        sum += op.ops;
    }
    if sum != f.ops {
        return Err(format!("by_op adds up to {sum} operations, not {}", f.ops));
    }
    Ok(())
}

fn check_ycsb(f: &Figures, spec: &Spec) -> Result<(), String> {
    let mix = crate::ycsb::mix(spec.workload);
    let expected: Vec<(&str, f64)> = mix.iter().map(|(op, p)| (op.name(), *p)).collect();
    check_by_op(f, &expected)?;
    let count = |name: &str| f.by_op.get(name).map_or(0, |o| o.ops);
    let inserts = count("insert");
    let live = crate::ycsb::live_bytes(spec, spec.num + inserts);
    if f.live_bytes != live {
        return Err(format!(
            "live bytes {} are not those of {} loaded and {inserts} inserted records ({live})",
            f.live_bytes, spec.num
        ));
    }
    // Every write is one whole record under a key of "user" and at most 20 characters.
    let writes = count("update") + count("insert") + count("read-modify-write");
    let (lo, hi) = (
        writes * (spec.value_size as u64 + 5),
        writes * (spec.value_size as u64 + 4 + spec.ycsb.zero_padding.max(20) as u64),
    );
    if !(lo..=hi).contains(&f.user_bytes_written) {
        return Err(format!(
            "user bytes {} for {writes} record writes of {} bytes (expected {lo}..={hi})",
            f.user_bytes_written, spec.value_size
        ));
    }
    if count("scan") > 0 {
        let records = f.counters.get("scan_records").copied().unwrap_or(0);
        if records < count("scan") || records > count("scan") * spec.max_scan_length() {
            return Err(format!(
                "{records} records returned by {} scans of at most {}",
                count("scan"),
                spec.max_scan_length()
            ));
        }
    }
    Ok(())
}

fn check_tikv(f: &Figures, spec: &Spec) -> Result<(), String> {
    let t = &spec.tikv;
    let total = t.txn_proportion + t.get_proportion + t.scan_proportion;
    // Every gc_interval-th operation of a thread is a GC step, the others follow the mix.
    let per_thread = spec.op_count().div_ceil(spec.threads as u64);
    let gc_share = if per_thread >= t.gc_interval {
        1.0 / t.gc_interval as f64
    } else {
        0.0
    };
    let rest = 1.0 - gc_share;
    let expected = [
        ("txn", rest * t.txn_proportion / total),
        ("get", rest * t.get_proportion / total),
        ("scan", rest * t.scan_proportion / total),
        ("gc", gc_share),
    ];
    check_by_op(f, &expected)?;
    let count = |name: &str| f.by_op.get(name).map_or(0, |o| o.ops);
    let row = (crate::tikv::ROW_KEY_LEN + spec.value_size) as u64;
    let written = count("txn") * t.keys_per_txn as u64 * row;
    if f.user_bytes_written != written {
        return Err(format!(
            "user bytes {} are not {} transactions x {} rows x {row} bytes",
            f.user_bytes_written,
            count("txn"),
            t.keys_per_txn
        ));
    }
    if f.live_bytes != spec.num * row {
        return Err(format!(
            "live bytes {} are not {} rows x {row} bytes",
            f.live_bytes, spec.num
        ));
    }
    if count("gc") > 0 {
        let deleted = f.counters.get("gc_versions_deleted");
        let scanned = f.counters.get("gc_versions_scanned");
        match (deleted, scanned) {
            (Some(d), Some(s)) if d <= s => {}
            _ => {
                return Err(format!(
                    "GC ran {} times but its counters are {:?}",
                    count("gc"),
                    f.counters
                ));
            }
        }
    }
    if count("scan") > 0 {
        let rows = f.counters.get("scan_rows").copied().unwrap_or(0);
        if rows == 0 || rows > count("scan") * t.scan_rows as u64 {
            return Err(format!(
                "{rows} rows returned by {} scans of at most {}",
                count("scan"),
                t.scan_rows
            ));
        }
    }
    Ok(())
}

/// `compaction_wait_secs` is there exactly when asked for on a workload with a fill, and is a
/// number exactly for the targets that can wait.
fn check_compaction_wait(f: &Figures, spec: &Spec, settles: bool) -> Result<(), String> {
    let asked = spec.wait_for_compaction && spec.workload.needs_fill();
    match (&f.compaction_wait_secs, asked, settles) {
        (None, false, _) => Ok(()),
        (Some(Measured::Value(s)), true, true) if *s >= 0.0 && s.is_finite() => Ok(()),
        (Some(Measured::Unavailable { unavailable }), true, false)
            if unavailable.contains("wait_for_compaction") =>
        {
            Ok(())
        }
        (other, asked, settles) => Err(format!(
            "compaction_wait_secs {other:?} when the wait was {}asked for, for a target that {}",
            if asked { "" } else { "not " },
            if settles { "can wait" } else { "cannot wait" }
        )),
    }
}

/// The timeline: at least the phase's end; fractions ascending in (0, 1] and ending at 1;
/// seconds ascending and ending at the phase's; slices adding up to its operations, each's
/// ops/s its operations over its seconds (never 0 in a phase sliced by operations, where a
/// slice ends only once operations pass it); space amplification a positive number, or
/// unavailable, and unavailable whenever the target keeps nothing on disk.
fn check_timeline(f: &Figures, spec: &Spec, persistent: bool) -> Result<(), String> {
    let last = f
        .timeline
        .last()
        .ok_or("the timeline is empty: every measured phase has at least its end")?;
    if last.fraction != 1.0 || (last.seconds - f.seconds).abs() > 1e-9 * f.seconds.max(1.0) {
        return Err(format!(
            "the timeline ends at {} of the phase, {} s, not at 1, {} s",
            last.fraction, last.seconds, f.seconds
        ));
    }
    let (mut fraction, mut seconds, mut ops) = (0.0, 0.0, 0);
    for (i, p) in f.timeline.iter().enumerate() {
        let at = format!("timeline point {i} ({p:?})");
        if !(p.fraction > fraction && p.fraction <= 1.0) {
            return Err(format!("{at}: fraction not after {fraction} and within 1"));
        }
        if !(p.seconds > seconds && p.seconds.is_finite()) {
            return Err(format!("{at}: seconds not after {seconds}"));
        }
        let rate = p.ops as f64 / (p.seconds - seconds);
        let sliced_by_ops = spec.duration_secs.is_none();
        if !(p.ops_per_sec.is_finite() && p.ops_per_sec >= 0.0)
            || (sliced_by_ops && p.ops_per_sec <= 0.0)
            || (p.ops_per_sec - rate).abs() > 1e-6 * rate.max(1.0)
        {
            return Err(format!(
                "{at}: ops_per_sec is not its {} ops over {} s",
                p.ops,
                p.seconds - seconds
            ));
        }
        match (&p.space_amp, persistent) {
            (Measured::Value(sa), true) if *sa > 0.0 && sa.is_finite() => {}
            (Measured::Unavailable { unavailable }, _) if !unavailable.is_empty() => {}
            (other, _) => {
                return Err(format!(
                    "{at}: space_amp {other:?} for a {}persistent engine",
                    if persistent { "" } else { "non-" }
                ));
            }
        }
        (fraction, seconds, ops) = (p.fraction, p.seconds, ops + p.ops);
    }
    if ops != f.ops {
        return Err(format!(
            "the timeline's slices add up to {ops} operations, not {}",
            f.ops
        ));
    }
    Ok(())
}
