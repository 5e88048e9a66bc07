//! What one benchmark cell is asked to do ([`Spec`]) and what it reports ([`Figures`], or
//! [`NotRun`] when the target cannot run the workload). All are JSON: `cargo xtask bench` writes
//! the first and reads the others.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A workload. db_bench's seven keep db_bench's names, so a figure can be put beside the same
/// benchmark of RocksDB's own tool; YCSB's core workloads keep their letters (`ycsb-a` ..
/// `ycsb-f`, as in YCSB's `workloads/workloada` ..); `tikv` is TiKV's MVCC layout over the
/// `default`, `lock` and `write` column families.
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
    /// YCSB A, update heavy: 50% reads, 50% updates, zipfian.
    #[serde(rename = "ycsb-a")]
    YcsbA,
    /// YCSB B, read mostly: 95% reads, 5% updates, zipfian.
    #[serde(rename = "ycsb-b")]
    YcsbB,
    /// YCSB C, read only: 100% reads, zipfian.
    #[serde(rename = "ycsb-c")]
    YcsbC,
    /// YCSB D, read latest: 95% reads, 5% inserts, `latest` (the newest records are hottest).
    #[serde(rename = "ycsb-d")]
    YcsbD,
    /// YCSB E, short ranges: 95% scans of 1..=100 records (uniform), 5% inserts, zipfian.
    #[serde(rename = "ycsb-e")]
    YcsbE,
    /// YCSB F, read-modify-write: 50% reads, 50% read-modify-writes, zipfian.
    #[serde(rename = "ycsb-f")]
    YcsbF,
    /// TiKV's MVCC layout: percolator transactions (prewrite, commit), point gets and short
    /// scans at a read timestamp, and GC steps, over the `default`, `lock` and `write` CFs.
    Tikv,
}

/// Which benchmark a workload comes from: it decides the keys, the load and the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// db_bench's: zero-padded decimal keys of `key_size` bytes, values of `value_size`.
    DbBench,
    /// YCSB's core workloads: `user` + a hashed record number, records of fields.
    Ycsb,
    /// TiKV's MVCC key encoding over three column families.
    Tikv,
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

    /// YCSB's core workloads, A to F: selectable, not part of [`Workload::ALL`] (the default
    /// run stays db_bench's seven).
    pub const YCSB: [Workload; 6] = [
        Workload::YcsbA,
        Workload::YcsbB,
        Workload::YcsbC,
        Workload::YcsbD,
        Workload::YcsbE,
        Workload::YcsbF,
    ];

    /// Every workload that can be selected by name: db_bench's, YCSB's, then `tikv`. The test
    /// mode runs all of them.
    pub const EVERY: [Workload; 14] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::Overwrite,
        Workload::ReadRandom,
        Workload::SeekRandom,
        Workload::ReadSeq,
        Workload::ReadWhileWriting,
        Workload::YcsbA,
        Workload::YcsbB,
        Workload::YcsbC,
        Workload::YcsbD,
        Workload::YcsbE,
        Workload::YcsbF,
        Workload::Tikv,
    ];

    /// The benchmark the workload comes from.
    pub fn family(self) -> Family {
        match self {
            Workload::YcsbA
            | Workload::YcsbB
            | Workload::YcsbC
            | Workload::YcsbD
            | Workload::YcsbE
            | Workload::YcsbF => Family::Ycsb,
            Workload::Tikv => Family::Tikv,
            _ => Family::DbBench,
        }
    }

    /// The name on the command line and in the JSON (db_bench's, `ycsb-a`.., `tikv`).
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::Overwrite => "overwrite",
            Workload::ReadRandom => "readrandom",
            Workload::SeekRandom => "seekrandom",
            Workload::ReadSeq => "readseq",
            Workload::ReadWhileWriting => "readwhilewriting",
            Workload::YcsbA => "ycsb-a",
            Workload::YcsbB => "ycsb-b",
            Workload::YcsbC => "ycsb-c",
            Workload::YcsbD => "ycsb-d",
            Workload::YcsbE => "ycsb-e",
            Workload::YcsbF => "ycsb-f",
            Workload::Tikv => "tikv",
        }
    }

    /// Parses a workload name (any of [`Workload::EVERY`]).
    pub fn parse(s: &str) -> Option<Workload> {
        Workload::EVERY.into_iter().find(|w| w.name() == s)
    }

    /// Whether the engine is filled (untimed) before the measured phase: db_bench's fill,
    /// YCSB's load phase, tikv's committed initial version of every row.
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
                | Workload::YcsbA
                | Workload::YcsbB
                | Workload::YcsbD
                | Workload::YcsbE
                | Workload::YcsbF
                | Workload::Tikv
        )
    }
}

/// How YCSB picks the record an operation touches (`requestdistribution`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Every loaded record equally likely (inserted ones are never chosen, as in YCSB).
    Uniform,
    /// YCSB's scrambled zipfian (constant 0.99): popular records scattered over the key
    /// space by FNV-1a hashing.
    Zipfian,
    /// YCSB's skewed latest: zipfian over the records in insertion order, newest hottest.
    Latest,
}

impl Distribution {
    /// The YCSB property value.
    pub fn name(self) -> &'static str {
        match self {
            Distribution::Uniform => "uniform",
            Distribution::Zipfian => "zipfian",
            Distribution::Latest => "latest",
        }
    }

    /// Parses a YCSB property value.
    pub fn parse(s: &str) -> Option<Distribution> {
        [
            Distribution::Uniform,
            Distribution::Zipfian,
            Distribution::Latest,
        ]
        .into_iter()
        .find(|d| d.name() == s)
    }
}

/// How YCSB picks a scan's length (`scanlengthdistribution`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanLength {
    /// Uniform over `min_scan_length..=max_scan_length` (YCSB's default).
    #[default]
    Uniform,
    /// Zipfian over the same range, short scans most likely (unscrambled).
    Zipfian,
}

/// The order of record numbers in keys (`insertorder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InsertOrder {
    /// `user` + FNV-1a hash of the record number: inserts land all over the key space
    /// (YCSB's default).
    #[default]
    Hashed,
    /// `user` + the record number itself.
    Ordered,
}

/// YCSB's CoreWorkload properties that this crate implements (the rest are fixed at YCSB's
/// defaults; `docs/src/benchmarks.md` lists which). The record count is [`Spec::num`], the
/// operation count [`Spec::ops`], the threads [`Spec::threads`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct YcsbOptions {
    /// `fieldcount`: fields per record.
    pub field_count: usize,
    /// `fieldlength`: bytes per field (`fieldlengthdistribution=constant`). A record is one
    /// value of `field_count * field_length` bytes, so [`Spec::value_size`] must be that.
    pub field_length: usize,
    /// `requestdistribution`; `None` is the workload's own (zipfian; `latest` for D).
    pub request_distribution: Option<Distribution>,
    /// `minscanlength`.
    pub min_scan_length: u64,
    /// `maxscanlength`; `None` is the workload's own (100 for E, YCSB's default 1000 else).
    pub max_scan_length: Option<u64>,
    /// `scanlengthdistribution`.
    pub scan_length_distribution: ScanLength,
    /// `insertorder`.
    pub insert_order: InsertOrder,
    /// `writeallfields`: updates and read-modify-writes write every field (a blind put) instead
    /// of one (a get, the field replaced, a put of the whole record).
    pub write_all_fields: bool,
    /// `zeropadding`: record numbers are left-padded with zeros to this many digits.
    pub zero_padding: usize,
}

impl Default for YcsbOptions {
    /// YCSB's defaults: 10 fields of 100 bytes, one-field updates, hashed keys.
    fn default() -> Self {
        YcsbOptions {
            field_count: 10,
            field_length: 100,
            request_distribution: None,
            min_scan_length: 1,
            max_scan_length: None,
            scan_length_distribution: ScanLength::Uniform,
            insert_order: InsertOrder::Hashed,
            write_all_fields: false,
            zero_padding: 1,
        }
    }
}

/// The `tikv` workload's mix and sizes. Values are [`Spec::value_size`] bytes: up to 255
/// (TiKV's short value limit) they live inline in the `write` CF, above it in `default`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TikvOptions {
    /// Rows written by one transaction (prewrite + commit of this many keys).
    pub keys_per_txn: usize,
    /// Share of operations that are transactions.
    pub txn_proportion: f64,
    /// Share of operations that are point gets at a fresh read timestamp.
    pub get_proportion: f64,
    /// Share of operations that are scans at a fresh read timestamp.
    pub scan_proportion: f64,
    /// Rows one scan returns.
    pub scan_rows: usize,
    /// How rows are picked (for transactions, gets and scan starts).
    pub distribution: Distribution,
    /// Every this many operations of a thread, that operation is a GC step instead.
    pub gc_interval: u64,
    /// Rows one GC step covers (a cursor walks the row space, wrapping around).
    pub gc_rows: u64,
    /// The GC safe point trails the newest timestamp by this many timestamps (and never
    /// passes an in-flight read).
    pub gc_lag_ts: u64,
}

impl Default for TikvOptions {
    /// Half transactions of four rows, gets, a few scans of ten rows; a GC step every 1000
    /// operations of a thread over 256 rows, keeping the last 1000 timestamps of history.
    fn default() -> Self {
        TikvOptions {
            keys_per_txn: 4,
            txn_proportion: 0.5,
            get_proportion: 0.45,
            scan_proportion: 0.05,
            scan_rows: 10,
            distribution: Distribution::Zipfian,
            gc_interval: 1000,
            gc_rows: 256,
            gc_lag_ts: 1000,
        }
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
    /// After the fill (load) phase, wait for the engine's compactions ([`crate::Target::
    /// wait_for_compaction`]) before measuring, so reads meet a settled structure.
    #[serde(default)]
    pub wait_for_compaction: bool,
    /// Random overwrites after the fill, before settling and the measured phase, unmeasured
    /// (db_bench workloads with a fill; 0: none): the measured phase meets an aged engine,
    /// as reads after a sustained overwrite do.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub age_ops: u64,
    /// YCSB's properties (YCSB workloads only).
    #[serde(default)]
    pub ycsb: YcsbOptions,
    /// The `tikv` workload's mix (that workload only).
    #[serde(default)]
    pub tikv: TikvOptions,
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
            wait_for_compaction: false,
            age_ops: 0,
            ycsb: YcsbOptions::default(),
            tikv: TikvOptions::default(),
        }
    }

    /// A YCSB cell: `recordcount` records of `field_count` fields of `field_length` bytes,
    /// each record one value of `field_count * field_length` bytes. The key size is 0: YCSB's
    /// keys are `user` + a record number and their length varies.
    pub fn ycsb(
        workload: Workload,
        recordcount: u64,
        field_count: usize,
        field_length: usize,
    ) -> Spec {
        let mut spec = Spec::new(workload, recordcount, field_count * field_length);
        spec.key_size = 0;
        spec.ycsb.field_count = field_count;
        spec.ycsb.field_length = field_length;
        spec
    }

    /// A `tikv` cell over `rows` rows with values of `value_size` bytes. The key size is 0:
    /// keys are TiDB row keys (19 bytes), encoded as TiKV does.
    pub fn tikv(rows: u64, value_size: usize) -> Spec {
        let mut spec = Spec::new(Workload::Tikv, rows, value_size);
        spec.key_size = 0;
        spec
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
        if self.threads == 0 {
            return Err("threads must be at least 1".into());
        }
        if let Some(d) = self.duration_secs
            && !(d > 0.0 && d.is_finite())
        {
            return Err(format!("duration_secs {d} is not a positive number"));
        }
        if self.age_ops > 0
            && !(self.workload.needs_fill() && self.workload.family() == Family::DbBench)
        {
            return Err(format!(
                "age_ops {} does not apply to {}: only db_bench workloads that fill the engine first age it",
                self.age_ops,
                self.workload.name()
            ));
        }
        match self.workload.family() {
            Family::DbBench => {}
            Family::Ycsb => return self.check_ycsb(),
            Family::Tikv => return self.check_tikv(),
        }
        let digits = self.num.to_string().len();
        if self.key_size < 16 || self.key_size < digits {
            return Err(format!(
                "key_size {} is too small: keys are zero-padded decimal numbers of at least 16 bytes",
                self.key_size
            ));
        }
        Ok(())
    }

    fn check_ycsb(&self) -> Result<(), String> {
        let name = self.workload.name();
        let y = &self.ycsb;
        if self.key_size != 0 {
            return Err(format!(
                "key_size {} does not apply to {name}: YCSB keys are \"user\" + a record number; leave it 0",
                self.key_size
            ));
        }
        if y.field_count == 0 || y.field_length == 0 {
            return Err(format!(
                "{name}: field_count {} and field_length {} must both be at least 1",
                y.field_count, y.field_length
            ));
        }
        if self.value_size != y.field_count * y.field_length {
            return Err(format!(
                "{name}: value_size {} is not field_count {} x field_length {} (a record is one value of all its fields)",
                self.value_size, y.field_count, y.field_length
            ));
        }
        if self.num > i32::MAX as u64 {
            return Err(format!(
                "{name}: num (recordcount) {} is above YCSB's limit of {} (it chooses records as Java ints)",
                self.num,
                i32::MAX
            ));
        }
        let max = self.max_scan_length();
        if y.min_scan_length == 0 || y.min_scan_length > max {
            return Err(format!(
                "{name}: min_scan_length {} must be between 1 and max_scan_length {max}",
                y.min_scan_length
            ));
        }
        if self.request_distribution() == Distribution::Latest && self.num < 2 {
            return Err(format!(
                "{name}: requestdistribution latest needs num (recordcount) of at least 2, got {}",
                self.num
            ));
        }
        if y.zero_padding > 64 {
            return Err(format!(
                "{name}: zero_padding {} is more than 64 digits",
                y.zero_padding
            ));
        }
        Ok(())
    }

    fn check_tikv(&self) -> Result<(), String> {
        let t = &self.tikv;
        if self.key_size != 0 {
            return Err(format!(
                "key_size {} does not apply to tikv: its keys are 19-byte TiDB row keys; leave it 0",
                self.key_size
            ));
        }
        if t.keys_per_txn == 0 || t.keys_per_txn as u64 > self.num {
            return Err(format!(
                "tikv: keys_per_txn {} must be between 1 and num {} (a transaction writes distinct rows)",
                t.keys_per_txn, self.num
            ));
        }
        let shares = [
            ("txn_proportion", t.txn_proportion),
            ("get_proportion", t.get_proportion),
            ("scan_proportion", t.scan_proportion),
        ];
        for (what, p) in shares {
            if !(p >= 0.0 && p.is_finite()) {
                return Err(format!("tikv: {what} {p} is not a non-negative number"));
            }
        }
        if shares.iter().map(|s| s.1).sum::<f64>() <= 0.0 {
            return Err(
                "tikv: txn_proportion, get_proportion and scan_proportion are all 0".into(),
            );
        }
        for (what, v) in [
            ("scan_rows", t.scan_rows as u64),
            ("gc_interval", t.gc_interval),
            ("gc_rows", t.gc_rows),
            ("gc_lag_ts", t.gc_lag_ts),
        ] {
            if v == 0 {
                return Err(format!("tikv: {what} must be at least 1"));
            }
        }
        if t.distribution == Distribution::Latest && self.num < 2 {
            return Err(format!(
                "tikv: distribution latest needs num of at least 2, got {}",
                self.num
            ));
        }
        Ok(())
    }

    /// YCSB's `requestdistribution` for this cell: the spec's, else the workload's own.
    pub fn request_distribution(&self) -> Distribution {
        self.ycsb
            .request_distribution
            .unwrap_or(if self.workload == Workload::YcsbD {
                Distribution::Latest
            } else {
                Distribution::Zipfian
            })
    }

    /// YCSB's `maxscanlength` for this cell: the spec's, else the workload's own.
    pub fn max_scan_length(&self) -> u64 {
        self.ycsb
            .max_scan_length
            .unwrap_or(if self.workload == Workload::YcsbE {
                100
            } else {
                1000
            })
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
    /// Point reads that found nothing (a bug for readrandom over a filled engine, and for
    /// every YCSB and tikv read: they only ask for records that exist).
    pub not_found: u64,
    /// Figures per operation type, for the workloads that mix them: YCSB's `read`, `update`,
    /// `insert`, `scan`, `read-modify-write`; tikv's `txn` (so transactions/s), `get`,
    /// `scan`, `gc`. Empty for db_bench's workloads (one operation type each).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_op: BTreeMap<String, OpFigures>,
    /// Workload-specific counts that explain the figures: YCSB's `scan_records`; tikv's
    /// `write_conflicts` (transactions retried), `lock_waits`, `gc_versions_deleted`,
    /// `gc_versions_scanned`, `scan_rows`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    /// With [`Spec::wait_for_compaction`] on a workload with a fill: seconds the wait took,
    /// or why the target cannot wait (then the reads were measured unsettled). Absent when
    /// not asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction_wait_secs: Option<Measured>,
    /// The engine's own counters (`engine_traits::Statistics::counters`: object-store
    /// requests, say) over the measured phase, its flush included for writing workloads, by
    /// name; empty when the engine has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub engine_counters: BTreeMap<String, Counter>,
    /// The measured phase in slices of about a tenth: a point each time the phase's progress
    /// passes the next 10 % (progress is operations done of the spec's count, or time elapsed
    /// of `duration_secs`, whichever is further), and one at its end. So a GC or compaction
    /// that falls behind shows as space amplification rising, or throughput falling, over
    /// the run. Empty in results written before it existed and for db_bench's own figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelinePoint>,
}

/// One point of [`Figures::timeline`]: the slice of the measured phase since the point before
/// (or since its start).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// How far the phase was at the point, in (0, 1]; the last point is 1. Points are taken
    /// by a clock polling every 50 ms, so a fraction is the progress it saw (0.1003, say),
    /// and a phase shorter than a few polls has fewer points than ten.
    pub fraction: f64,
    /// Seconds since the phase started; the last point's is [`Figures::seconds`].
    pub seconds: f64,
    /// Operations in the slice. The workers count them in batches of 64 as they take them,
    /// so a slice's count is off by up to 64 per thread; the last slice takes the remainder,
    /// and the slices add up to [`Figures::ops`].
    pub ops: u64,
    /// `ops` over the slice's seconds.
    pub ops_per_sec: f64,
    /// Bytes under the target's directory at the point / the workload's live key and value
    /// bytes at that moment. Not flushed first (the phase is not paused for a sample), so the
    /// last point can differ from [`Figures::space_amp`], which is read after a flush.
    pub space_amp: Measured,
}

/// How much one engine counter grew in the measured phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// The growth.
    pub delta: u64,
    /// `delta` per 1000 measured operations: the figure to compare between engines.
    pub per_1000_ops: f64,
}

/// One operation type's share of a cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpFigures {
    /// Operations of this type measured.
    pub ops: u64,
    /// Of them per second of the measured phase (the whole phase's wall time).
    pub ops_per_sec: f64,
    /// Their latency.
    pub latency_us: Latency,
}

/// A cell the target cannot run (a baseline without multi-CF batches asked for `tikv`, say):
/// no numbers at all, only the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotRun {
    /// The bench target.
    pub engine: String,
    /// The spec it was asked to run.
    pub spec: Spec,
    /// Why not, in the target's words (an `engine_traits` NotSupported error).
    pub unavailable: String,
}

/// What one cell's job writes: its figures, or why it has none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    /// The cell ran.
    Measured(Box<Figures>),
    /// The target cannot run the workload.
    Unavailable(Box<NotRun>),
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
