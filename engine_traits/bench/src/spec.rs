//! What one benchmark cell is asked to do ([`Spec`]) and what it reports ([`Figures`]). Both
//! are JSON: `cargo xtask bench` writes the first and reads the second.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A db_bench-style workload. The names are db_bench's, so a figure can be put beside the
/// same benchmark of RocksDB's own tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Puts in key order into an empty engine.
    FillSeq,
    /// Puts in random key order into an empty engine (keys may repeat).
    FillRandom,
    /// Random puts over a filled engine.
    Overwrite,
    /// Random point reads of a filled engine.
    ReadRandom,
    /// Random seeks of a filled engine, each followed by `seek_nexts` nexts.
    SeekRandom,
    /// One forward scan of a filled engine.
    ReadSeq,
    /// Random point reads of a filled engine while one more thread overwrites at full speed;
    /// the figures are the readers'.
    ReadWhileWriting,
}

impl Workload {
    /// Every workload, in db_bench's usual order.
    pub const ALL: [Workload; 7] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::Overwrite,
        Workload::ReadRandom,
        Workload::SeekRandom,
        Workload::ReadSeq,
        Workload::ReadWhileWriting,
    ];

    /// The db_bench name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::Overwrite => "overwrite",
            Workload::ReadRandom => "readrandom",
            Workload::SeekRandom => "seekrandom",
            Workload::ReadSeq => "readseq",
            Workload::ReadWhileWriting => "readwhilewriting",
        }
    }

    /// Parses a db_bench name.
    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Whether the engine is filled (untimed) before the measured phase.
    pub fn needs_fill(self) -> bool {
        !matches!(self, Workload::FillSeq | Workload::FillRandom)
    }

    /// Whether the measured phase writes, so write amplification means something.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Workload::FillSeq
                | Workload::FillRandom
                | Workload::Overwrite
                | Workload::ReadWhileWriting
        )
    }
}

/// One benchmark cell: a workload with its sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The workload.
    pub workload: Workload,
    /// Key count of the key space (and of the fill).
    pub num: u64,
    /// Measured operations; `0` means `num`. Split evenly between threads.
    #[serde(default)]
    pub ops: u64,
    /// Stop the measured phase after this many seconds even if `ops` are not done.
    #[serde(default)]
    pub duration_secs: Option<f64>,
    /// Key size in bytes (at least 16: a zero-padded decimal key number).
    pub key_size: usize,
    /// Value size in bytes.
    pub value_size: usize,
    /// Threads of the measured phase (readers, for readwhilewriting).
    #[serde(default = "one")]
    pub threads: usize,
    /// Synced writes.
    #[serde(default)]
    pub sync: bool,
    /// Nexts after each seek (seekrandom).
    #[serde(default = "ten")]
    pub seek_nexts: usize,
    /// Seed of every random choice.
    #[serde(default)]
    pub seed: u64,
}

fn one() -> usize {
    1
}

fn ten() -> usize {
    10
}

impl Spec {
    /// A spec with db_bench's defaults for the rest: 16-byte keys, one thread, no sync.
    pub fn new(workload: Workload, num: u64, value_size: usize) -> Spec {
        Spec {
            workload,
            num,
            ops: 0,
            duration_secs: None,
            key_size: 16,
            value_size,
            threads: 1,
            sync: false,
            seek_nexts: 10,
            seed: 0,
        }
    }

    /// The measured operation count.
    pub fn op_count(&self) -> u64 {
        match (self.workload, self.ops) {
            (Workload::ReadSeq, _) => self.num,
            (_, 0) => self.num,
            (_, n) => n,
        }
    }

    /// Rejects a spec that cannot run, naming the field.
    pub fn check(&self) -> Result<(), String> {
        if self.num == 0 {
            return Err("num must be at least 1".into());
        }
        let digits = self.num.to_string().len();
        if self.key_size < 16 || self.key_size < digits {
            return Err(format!(
                "key_size {} is too small: keys are zero-padded decimal numbers of at least 16 bytes",
                self.key_size
            ));
        }
        if self.threads == 0 {
            return Err("threads must be at least 1".into());
        }
        if let Some(d) = self.duration_secs
            && !(d > 0.0 && d.is_finite())
        {
            return Err(format!("duration_secs {d} is not a positive number"));
        }
        Ok(())
    }
}

/// A figure that could not be measured says why instead of pretending to be a number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Measured {
    /// The figure.
    Value(f64),
    /// Why there is none (`"engine memory does not declare statistics"`).
    Unavailable {
        /// The reason.
        unavailable: String,
    },
}

impl Measured {
    /// The value, if measured.
    pub fn value(&self) -> Option<f64> {
        match self {
            Measured::Value(v) => Some(*v),
            Measured::Unavailable { .. } => None,
        }
    }

    /// An unavailable figure with its reason.
    pub fn unavailable(reason: impl Into<String>) -> Measured {
        Measured::Unavailable {
            unavailable: reason.into(),
        }
    }
}

/// Latency percentiles of single operations, in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
}

/// What one cell measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The bench target (an engine name, or a baseline such as `rocks_raw`).
    pub engine: String,
    /// The spec it ran.
    pub spec: Spec,
    /// Operations measured.
    pub ops: u64,
    /// Wall time of the measured phase.
    pub seconds: f64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Key and value bytes moved per second (written for writes, returned for reads), in MB
    /// (10^6 bytes), as db_bench reports it.
    pub mb_per_sec: f64,
    /// Per-operation latency (a seek with its nexts is one operation; readseq has none).
    pub latency_us: Latency,
    /// Engine bytes written to storage / user bytes written, over the measured phase.
    pub write_amp: Measured,
    /// Bytes on disk / live key and value bytes, after the run.
    pub space_amp: Measured,
    /// The process's peak resident set (VmHWM) over the cell, in bytes.
    pub peak_rss_bytes: Measured,
    /// User (key + value) bytes written in the measured phase.
    pub user_bytes_written: u64,
    /// Engine bytes written in the measured phase, from the engine's statistics.
    pub engine_bytes_written: Option<u64>,
    /// Bytes on disk after the run.
    pub disk_bytes: Option<u64>,
    /// Live key and value bytes after the run, from the workload's own bookkeeping.
    pub live_bytes: u64,
    /// Point reads that found nothing (a bug for readrandom over a filled engine).
    pub not_found: u64,
    /// The engine's own counters over the measured phase (its flush included for writing
    /// workloads), by name; empty when the engine has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, Counter>,
}

/// How much one engine counter grew in the measured phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// The growth.
    pub delta: u64,
    /// `delta` per 1000 measured operations: the figure to compare between engines.
    pub per_1000_ops: f64,
}
