//! Proof that the power-loss mode bites, and why it exists: a small log-structured test engine
//! (the memory engine plus a write-ahead log of segment files) with two classic fsync bugs
//! switched on, one at a time:
//! - `skip-fsync`: a synced write returns without `fdatasync` of its log record;
//! - `skip-dir-fsync`: a new log segment is created without `fsync` of the directory, so the
//!   segment's name may not survive a power cut even though its data was synced.
//!
//! Each must be reported as lost synced writes under power loss, and each must pass under
//! plain SIGKILL (the page cache survives a kill, so a kill cannot see fsync bugs). The
//! correct engine passes both.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use engine_memory::{MemoryEngine, MemoryIterator, MemorySnapshot};
use engine_traits::{
    BatchOp, Capabilities, EngineConfig, Error, IterOptions, KvEngine, OpBatch, ReadOptions,
    Readable, Result, WriteBatch, WriteOptions,
};
use failpoints::crash::{CrashConfig, Cut, Fault, run_cycles};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Batches per log segment: small, so most cycles create a segment.
const SEGMENT_BATCHES: u32 = 8;
const MUTATION_ENV: &str = "WALKV_MUTATION";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mutation {
    None,
    SkipFsync,
    SkipDirFsync,
}

impl Mutation {
    fn from_env() -> Mutation {
        match std::env::var(MUTATION_ENV).as_deref() {
            Ok("skip-fsync") => Mutation::SkipFsync,
            Ok("skip-dir-fsync") => Mutation::SkipDirFsync,
            _ => Mutation::None,
        }
    }
}

struct Log {
    file: File,
    segment: u64,
    batches: u32,
}

/// The test engine: reads from the memory engine, durability from the log.
struct WalKv {
    mem: MemoryEngine,
    log: Mutex<Log>,
    dir: PathBuf,
    mutation: Mutation,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        message: format!("{}: {e}", path.display()),
        path: Some(path.to_path_buf()),
        source: Some(e),
    }
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("wal-{n:08}.log"))
}

fn encode(batch: &OpBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let field = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    };
    for op in batch.ops() {
        match op {
            BatchOp::Put { cf, key, value } => {
                out.extend_from_slice(&[0, *cf as u8]);
                field(&mut out, key);
                field(&mut out, value);
            }
            BatchOp::Delete { cf, key } => {
                out.extend_from_slice(&[1, *cf as u8]);
                field(&mut out, key);
            }
            BatchOp::DeleteRange { cf, start, end } => {
                out.extend_from_slice(&[2, *cf as u8]);
                field(&mut out, start);
                field(&mut out, end);
            }
        }
    }
    out
}

/// Decodes one record's payload into `batch`; `None` when it does not parse.
fn decode(mut p: &[u8], cfs: &[String], batch: &mut OpBatch) -> Option<()> {
    fn field<'a>(p: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(p.get(..4)?.try_into().ok()?) as usize;
        let v = p.get(4..4 + len)?;
        *p = &p[4 + len..];
        Some(v)
    }
    while !p.is_empty() {
        let (tag, cf) = (p[0], cfs.get(*p.get(1)? as usize)?);
        p = &p[2..];
        match tag {
            0 => {
                let (k, v) = (field(&mut p)?, field(&mut p)?);
                batch.put(cf, k, v).ok()?;
            }
            1 => batch.delete(cf, field(&mut p)?).ok()?,
            2 => {
                let (s, e) = (field(&mut p)?, field(&mut p)?);
                batch.delete_range(cf, s, e).ok()?;
            }
            _ => return None,
        }
    }
    Some(())
}

impl WalKv {
    fn sync_dir(&self) -> Result<()> {
        if self.mutation == Mutation::SkipDirFsync {
            return Ok(()); // the bug under test
        }
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&self.dir, e))
    }

    fn new_segment(&self, n: u64) -> Result<File> {
        let path = segment_path(&self.dir, n);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        self.sync_dir()?;
        Ok(file)
    }
}

impl Readable for WalKv {
    type Iterator<'a> = MemoryIterator;

    fn get_opt(&self, opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.mem.get_opt(opts, cf, key)
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<MemoryIterator> {
        self.mem.iterator_opt(cf, opts)
    }
}

impl KvEngine for WalKv {
    const CAPABILITIES: Capabilities = Capabilities {
        persistence: true,
        ..Capabilities::NONE
    };
    type Snapshot<'a> = MemorySnapshot;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        let dir = config.path.clone();
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let mem = MemoryEngine::open(&EngineConfig {
            path: dir.clone(),
            ..config.clone()
        })?;
        let cfs = mem.cf_names();
        let mut segments: Vec<u64> = std::fs::read_dir(&dir)
            .map_err(|e| io(&dir, e))?
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_prefix("wal-")?
                    .strip_suffix(".log")?
                    .parse()
                    .ok()
            })
            .collect();
        segments.sort_unstable();
        // Replay in order, stopping at the first record that is short or fails its checksum:
        // a torn tail, only ever in the last segment (earlier ones are synced before rotation).
        // It is cut off, so the records this open appends after it are replayed next time.
        'replay: for &n in &segments {
            let path = segment_path(&dir, n);
            let mut data = Vec::new();
            File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut data))
                .map_err(|e| io(&path, e))?;
            let mut good = 0;
            while data.len() - good >= 8 {
                let p = &data[good..];
                let len = u32::from_le_bytes(p[..4].try_into().unwrap()) as usize;
                let crc = u32::from_le_bytes(p[4..8].try_into().unwrap());
                let mut batch = mem.write_batch();
                let whole = p
                    .get(8..8 + len)
                    .filter(|payload| crc32fast::hash(payload) == crc)
                    .and_then(|payload| decode(payload, &cfs, &mut batch));
                if whole.is_none() {
                    break;
                }
                mem.write(&WriteOptions::default(), &batch)?;
                good += 8 + len;
            }
            if good < data.len() {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| io(&path, e))?;
                f.set_len(good as u64).map_err(|e| io(&path, e))?;
                f.sync_all().map_err(|e| io(&path, e))?;
                // Anything after a torn record is after it in history too: not replayed now,
                // so it must not be replayed by a later open either.
                for &later in segments.iter().filter(|&&m| m > n) {
                    let p = segment_path(&dir, later);
                    std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
                }
                break 'replay;
            }
        }
        let next = segments.last().map_or(0, |n| n + 1);
        let mut engine = WalKv {
            mem,
            log: Mutex::new(Log {
                // Replaced below; a placeholder keeps construction in one place.
                file: File::open(&dir).map_err(|e| io(&dir, e))?,
                segment: next,
                batches: 0,
            }),
            dir,
            mutation: Mutation::from_env(),
        };
        let file = engine.new_segment(next)?;
        engine.log.get_mut().unwrap().file = file;
        Ok(engine)
    }

    fn cf_names(&self) -> Vec<String> {
        self.mem.cf_names()
    }

    fn write_batch(&self) -> OpBatch {
        self.mem.write_batch()
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        opts.check()?;
        if batch.is_empty() {
            return Ok(());
        }
        let payload = encode(batch);
        let mut log = self.log.lock().unwrap();
        if log.batches >= SEGMENT_BATCHES {
            // Rotation: the old segment is made durable before the next one exists, so only
            // the last segment can have a torn tail.
            let old = segment_path(&self.dir, log.segment);
            log.file.sync_data().map_err(|e| io(&old, e))?;
            log.segment += 1;
            log.file = self.new_segment(log.segment)?;
            log.batches = 0;
        }
        let path = segment_path(&self.dir, log.segment);
        let mut record = Vec::with_capacity(8 + payload.len());
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        record.extend_from_slice(&payload);
        log.file.write_all(&record).map_err(|e| io(&path, e))?;
        if opts.sync && self.mutation != Mutation::SkipFsync {
            log.file.sync_data().map_err(|e| io(&path, e))?;
        }
        log.batches += 1;
        self.mem.write(opts, batch)
    }

    fn snapshot(&self) -> Result<MemorySnapshot> {
        self.mem.snapshot()
    }

    fn sync(&self) -> Result<()> {
        let log = self.log.lock().unwrap();
        let path = segment_path(&self.dir, log.segment);
        log.file.sync_data().map_err(|e| io(&path, e))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

fn trial(name: &str, mutation: &'static str, fault: Fault, expect_loss: bool) -> Trial {
    let unavailable = match fault {
        Fault::PowerLoss(_) => powerloss::available().err(),
        Fault::Kill => None,
    };
    Trial::ignorable_test(name, move || {
        if let Some(why) = unavailable {
            if std::env::var("CI").as_deref() == Ok("true") {
                return Err(Failed::from(format!("CI must have FUSE: {why}")));
            }
            return Ok(Completion::ignored_with(format!(
                "skipped: needs FUSE: {why}"
            )));
        }
        let cfg = CrashConfig {
            cycles: 30,
            seed: 11,
            kill_after_ms: (60, 250),
            fault,
            child_env: vec![(MUTATION_ENV.into(), mutation.into())],
            ..CrashConfig::from_env()
        };
        let engine = format!("walkv-{mutation}");
        let result = run_cycles::<WalKv>(&engine, &cfg, |c| c);
        match (expect_loss, result) {
            (false, Ok(summary)) => {
                eprintln!("{engine}: {summary}");
                Ok(Completion::Completed)
            }
            (false, Err(e)) => Err(Failed::from(format!("unexpected failure: {e}"))),
            (true, Err(e)) if e.contains("lost acknowledged synced writes") => {
                eprintln!(
                    "{engine}: caught, as it must be: {}",
                    e.lines().next().unwrap_or("")
                );
                // The harness keeps a failed run's directory for inspection; this failure is
                // the expected one.
                let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!(
                    "crash-{engine}-{}-{}",
                    std::process::id(),
                    cfg.seed
                )));
                Ok(Completion::Completed)
            }
            (true, Err(e)) => Err(Failed::from(format!(
                "the mutation failed, but not as lost synced writes: {e}"
            ))),
            (true, Ok(summary)) => Err(Failed::from(format!(
                "the {mutation} mutation went unnoticed under {fault:?}: {summary}"
            ))),
        }
    })
}

fn main() {
    failpoints::crash::child_if_asked::<WalKv>(|c| c);
    let power = Fault::PowerLoss(Cut::Drop);
    let trials = vec![
        trial("correct_engine_survives_power_loss", "none", power, false),
        trial(
            "skip_fsync_is_lost_synced_writes_under_power_loss",
            "skip-fsync",
            power,
            true,
        ),
        trial(
            "skip_fsync_passes_under_kill",
            "skip-fsync",
            Fault::Kill,
            false,
        ),
        trial(
            "skip_dir_fsync_is_lost_synced_writes_under_power_loss",
            "skip-dir-fsync",
            power,
            true,
        ),
        trial(
            "skip_dir_fsync_passes_under_kill",
            "skip-dir-fsync",
            Fault::Kill,
            false,
        ),
    ];
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    libtest_mimic::run(&args, trials).exit();
}
