//! The test mode's checks of a figures JSON: every figure present, each a number or an
//! explicit "unavailable" with its reason, and consistent with the spec and with each other.

use serde_json::Value;

use crate::spec::{Figures, Measured, Spec, Workload};

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

/// Checks one cell's JSON against its spec. `persistent` and `statistics` are the target's
/// capabilities: they decide which figures must be measured and which must say unavailable.
pub fn check_figures(
    json: &str,
    spec: &Spec,
    persistent: bool,
    statistics: bool,
) -> Result<(), String> {
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
    if matches!(
        spec.workload,
        Workload::ReadRandom | Workload::ReadWhileWriting
    ) {
        expect(
            f.not_found == 0,
            format!("{} reads of a filled engine found nothing", f.not_found),
        )?;
    }
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
    if spec.workload == Workload::ReadSeq || spec.workload.needs_fill() {
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
    for (name, c) in &f.counters {
        let computed = c.delta as f64 * 1000.0 / f.ops.max(1) as f64;
        expect(
            !name.is_empty() && (c.per_1000_ops - computed).abs() < 1e-6,
            format!(
                "counter {name:?}: {} per 1000 ops is not {} x 1000 / {} ops",
                c.per_1000_ops, c.delta, f.ops
            ),
        )?;
    }
    if cfg!(target_os = "linux") {
        expect(
            f.peak_rss_bytes.value().is_some_and(|b| b > 1e6),
            format!("peak_rss_bytes {:?}", f.peak_rss_bytes),
        )?;
    }
    Ok(())
}
