//! `cargo xtask bench --db-bench`: RocksDB's own `db_bench` (the same-version build of
//! `cargo xtask db-bench build`, else Debian's `rocksdb-tools`) on the same workloads, sizes and options as our cells, so our `rocks` figures can be checked
//! against a number nobody here wrote. Its figures join the results as engine `db_bench`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use engine_bench::{Figures, Latency, Measured, Workload};

use super::db_bench_build::{self, DbBenchInfo};
use super::{Options, parse_size, spec_for};
use crate::registry::Workspace;

/// The options profile the `rocks` engine uses by default, as db_bench flags. Keys db_bench
/// cannot express are returned apart, to be reported rather than silently dropped.
pub fn profile_flags(profile_yaml: &str) -> Result<(Vec<String>, Vec<String>)> {
    let map: std::collections::BTreeMap<String, serde_yaml::Value> =
        serde_yaml::from_str(profile_yaml).context("parsing the options profile")?;
    let mut flags = Vec::new();
    let mut unmapped = Vec::new();
    for (key, value) in &map {
        let text = match value {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            other => bail!("profile key {key}: unexpected value {other:?}"),
        };
        let size = || parse_size(&text).map(|n| n.to_string());
        let flag = match key.as_str() {
            "write_buffer_size" => format!("--write_buffer_size={}", size()?),
            "max_write_buffer_number" => format!("--max_write_buffer_number={text}"),
            "max_background_jobs" => format!("--max_background_jobs={text}"),
            "compression" => format!("--compression_type={text}"),
            "block_size" => format!("--block_size={}", size()?),
            "block_cache_size" => format!("--cache_size={}", size()?),
            "bloom_bits_per_key" => format!("--bloom_bits={text}"),
            "level_compaction_dynamic_level_bytes" => {
                format!("--level_compaction_dynamic_level_bytes={text}")
            }
            _ => {
                unmapped.push(format!("{key}: {text}"));
                continue;
            }
        };
        flags.push(flag);
    }
    Ok((flags, unmapped))
}

/// Parses db_bench's report of `name`: its summary line and the percentiles that follow it.
pub fn parse_report(output: &str, name: &str) -> Result<(f64, f64, u64, f64, Latency)> {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.split_whitespace().next() == Some(name) && l.contains("micros/op"))
        .with_context(|| format!("db_bench printed no result line for {name}"))?;
    let words: Vec<&str> = lines[at].split_whitespace().collect();
    let before = |unit: &str| -> Option<f64> {
        let i = words.iter().position(|w| w.starts_with(unit))?;
        words.get(i.checked_sub(1)?)?.parse().ok()
    };
    let ops_per_sec = before("ops/sec").context("no ops/sec")?;
    let seconds = before("seconds").context("no seconds")?;
    let ops = before("operations").context("no operations")? as u64;
    let mb = before("MB/s").unwrap_or(0.0);
    let pct = lines[at..]
        .iter()
        .find(|l| l.starts_with("Percentiles:"))
        .context("no percentiles (was --histogram=1 given?)")?;
    let pw: Vec<&str> = pct.split_whitespace().collect();
    let p = |label: &str| -> Result<f64> {
        let i = pw
            .iter()
            .position(|w| *w == label)
            .with_context(|| format!("no {label} in {pct:?}"))?;
        pw.get(i + 1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("bad {label} in {pct:?}"))
    };
    let max = lines[at..]
        .iter()
        .find(|l| l.starts_with("Min:"))
        .and_then(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|x| *x == "Max:")?;
            w.get(i + 1)?.parse().ok()
        })
        .unwrap_or(f64::NAN);
    Ok((
        ops_per_sec,
        seconds,
        ops,
        mb,
        Latency {
            p50: p("P50:")?,
            p99: p("P99:")?,
            p999: p("P99.9:")?,
            max,
        },
    ))
}

/// The db_bench to run: the same-version build of `cargo xtask db-bench build` when there is
/// one, else the system's (Debian's rocksdb-tools), labelled as such.
pub fn choose(ws: &Workspace) -> Result<DbBenchInfo> {
    match db_bench_build::find_built(ws) {
        Ok(Some(built)) => return Ok(built),
        Ok(None) => {}
        Err(e) => eprintln!("==> db_bench: no same-version build ({e:#}); trying the system's"),
    }
    let path = PathBuf::from("db_bench");
    let version = db_bench_build::version_of(&path).map_err(|_| {
        anyhow::anyhow!(
            "no db_bench: build the same-version one with `cargo xtask db-bench build`, or \
             install Debian's rocksdb-tools (`cargo xtask doctor --fix`)"
        )
    })?;
    eprintln!(
        "==> db_bench: using the system's ({version}), not the RocksDB version `rocks` links; \
         `cargo xtask db-bench build` builds that one"
    );
    Ok(DbBenchInfo {
        path,
        version,
        origin: "the system's db_bench on PATH (Debian rocksdb-tools: a different RocksDB \
                 version, built with assertions)"
            .into(),
    })
}

/// Runs db_bench for every workload x value size; returns its figures and which db_bench ran.
pub fn run_all(
    ws: &Workspace,
    opts: &Options,
    workloads: &[Workload],
    value_sizes: &[usize],
    out: &Path,
) -> Result<(Vec<Figures>, DbBenchInfo)> {
    let info = choose(ws)?;
    eprintln!("==> db_bench: {} ({})", info.path.display(), info.version);
    let profile = ws.root.join("rust-rocksdb/profiles/default.yaml");
    let yaml = std::fs::read_to_string(&profile)
        .with_context(|| format!("reading {}", profile.display()))?;
    let (flags, unmapped) =
        profile_flags(&yaml).with_context(|| format!("{}", profile.display()))?;
    if !unmapped.is_empty() {
        eprintln!(
            "==> db_bench: profile keys without a db_bench flag (db_bench keeps its default): {}",
            unmapped.join(", ")
        );
    }
    let mut figures = Vec::new();
    for &value_size in value_sizes {
        for &w in workloads {
            let spec = spec_for(opts, w, value_size);
            let dir = out.join("db_bench-db");
            let _ = std::fs::remove_dir_all(&dir);
            // Settled reads on both sides: our cells wait after their fill
            // (`--wait-for-compaction`), db_bench runs its `waitforcompaction` there.
            let benchmarks = if w.needs_fill() && spec.wait_for_compaction {
                format!("fillseq,flush,waitforcompaction,{}", w.name())
            } else if w.needs_fill() {
                format!("fillseq,flush,{}", w.name())
            } else {
                w.name().to_owned()
            };
            let ops = spec.op_count();
            let mut args = vec![
                format!("--benchmarks={benchmarks}"),
                format!("--db={}", dir.display()),
                format!("--num={}", spec.num),
                format!("--reads={ops}"),
                format!("--writes={}", if w.needs_fill() { ops } else { spec.num }),
                format!("--key_size={}", spec.key_size),
                format!("--value_size={}", spec.value_size),
                format!("--threads={}", spec.threads),
                format!("--sync={}", spec.sync),
                format!("--seek_nexts={}", spec.seek_nexts),
                format!("--seed={}", spec.seed.max(1)),
                "--compression_ratio=1".into(),
                "--histogram=1".into(),
                "--use_existing_db=0".into(),
            ];
            args.extend(flags.iter().cloned());
            eprintln!("==> db_bench {} {}", w.name(), super::show_size(value_size));
            let output = duct::cmd(&info.path, &args)
                .stderr_to_stdout()
                .stdout_capture()
                .unchecked()
                .run()
                .context("running db_bench")?;
            let text = String::from_utf8_lossy(&output.stdout);
            let _ = std::fs::remove_dir_all(&dir);
            if !output.status.success() {
                bail!(
                    "db_bench {} failed ({}): {}",
                    args.join(" "),
                    output.status,
                    text.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
                );
            }
            let (ops_per_sec, seconds, ops, mb_per_sec, latency_us) =
                parse_report(&text, w.name())?;
            let not_measured = || Measured::unavailable("not measured for db_bench");
            figures.push(Figures {
                engine: "db_bench".into(),
                spec,
                ops,
                seconds,
                ops_per_sec,
                mb_per_sec,
                latency_us,
                write_amp: not_measured(),
                space_amp: not_measured(),
                peak_rss_bytes: not_measured(),
                user_bytes_written: 0,
                engine_bytes_written: None,
                disk_bytes: None,
                live_bytes: 0,
                not_found: 0,
                by_op: Default::default(),
                counters: Default::default(),
                compaction_wait_secs: None,
                engine_counters: Default::default(),
                // db_bench reports its phase as a whole.
                timeline: Vec::new(),
            });
        }
    }
    Ok((figures, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
fillseq      :       9.264 micros/op 107756 ops/sec 0.046 seconds 5000 operations;  106.9 MB/s
Microseconds per write:
Count: 5000 Average: 9.2574  StdDev: 90.46
Min: 4  Median: 5.7808  Max: 6370
Percentiles: P50: 5.78 P75: 8.48 P99: 41.44 P99.9: 152.86 P99.99: 5500.00
readrandom   :       7.497 micros/op 132837 ops/sec 0.015 seconds 2000 operations;  131.8 MB/s (2000 of 2000 found)
Microseconds per read:
Count: 2000 Average: 7.5475  StdDev: 9.62
Min: 1  Median: 4.1088  Max: 317
Percentiles: P50: 4.11 P75: 11.72 P99: 21.90 P99.9: 98.67 P99.99: 317.00
";

    #[test]
    fn the_report_of_the_named_benchmark_is_read() {
        let (ops_s, secs, ops, mb, l) = parse_report(REPORT, "readrandom").unwrap();
        assert_eq!((ops_s, secs, ops, mb), (132837.0, 0.015, 2000, 131.8));
        assert_eq!((l.p50, l.p99, l.p999, l.max), (4.11, 21.90, 98.67, 317.0));
        let (ops_s, ..) = parse_report(REPORT, "fillseq").unwrap();
        assert_eq!(ops_s, 107756.0);
        let e = parse_report(REPORT, "overwrite").unwrap_err().to_string();
        assert!(e.contains("overwrite"), "{e}");
    }

    #[test]
    fn the_default_profile_becomes_flags_and_the_rest_is_reported() {
        let (flags, unmapped) = profile_flags(
            "write_buffer_size: 64MiB\ncompression: lz4\nbottommost_compression: zstd\nbloom_bits_per_key: 10\n",
        )
        .unwrap();
        assert!(
            flags.contains(&"--write_buffer_size=67108864".to_owned()),
            "{flags:?}"
        );
        assert!(flags.contains(&"--compression_type=lz4".to_owned()));
        assert!(flags.contains(&"--bloom_bits=10".to_owned()));
        assert_eq!(unmapped, vec!["bottommost_compression: zstd".to_owned()]);
    }
}
