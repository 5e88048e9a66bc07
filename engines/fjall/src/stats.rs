//! Engine bytes written, counted honestly although fjall keeps no write counters.
//!
//! fjall writes from two kinds of threads, and each part is counted where it happens:
//! - **The caller's thread** writes the journal inside every commit (the batch is handed to
//!   the OS before `commit` returns: `PersistMode::Buffer` or a sync). Its size is computed
//!   exactly from the batch ([`crate::plan::journal_bytes`], journal compression off).
//!   Flushes requested by `flush()`, manual compactions and bulk ingestion also run on the
//!   caller's thread in part; those calls are bracketed with the thread's own `wchar`
//!   (`/proc/thread-self/io`).
//! - **fjall's worker threads** (`fjall:worker`, spawned by `Database::open`) flush memtables
//!   and compact. Their `wchar` (bytes passed to `write`/`pwrite`, from
//!   `/proc/self/task/<tid>/io`) since open is counted. They are told apart from other
//!   databases' workers by opening every database under one process-wide lock and taking the
//!   worker threads that appeared during the open.
//!
//! `wchar` counts bytes handed to the kernel (page cache included), as RocksDB's
//! `BytesWritten` counts bytes handed to its files. Linux only.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine_traits::{Error, Result};

/// The name fjall 3.1 gives its worker threads.
const WORKER_THREAD_NAME: &str = "fjall:worker";

/// Serialises database opens in this process, so the worker threads that appear during one
/// open belong to that database.
pub(crate) static OPEN_LOCK: Mutex<()> = Mutex::new(());

/// The tids of this process's threads named like fjall's workers.
pub(crate) fn worker_tids() -> BTreeSet<u32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return BTreeSet::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|c| c.trim_end() == WORKER_THREAD_NAME)
        })
        .collect()
}

fn wchar_in(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}

fn wchar_of(path: &str) -> std::io::Result<u64> {
    let text = std::fs::read_to_string(path)?;
    wchar_in(&text)
        .ok_or_else(|| std::io::Error::other(format!("{path} has no wchar line: {text:?}")))
}

/// Bytes this thread has passed to `write`-family calls so far.
pub(crate) fn own_wchar() -> std::io::Result<u64> {
    wchar_of("/proc/thread-self/io")
}

#[derive(Debug)]
struct WorkerThread {
    tid: u32,
    at_open: u64,
    /// The last reading: a worker that has exited (fjall stops one on a fatal error) keeps
    /// counting what it wrote.
    last: u64,
}

/// The counters behind capability `statistics`.
#[derive(Debug)]
pub(crate) struct WriteAccounting {
    user_bytes: AtomicU64,
    journal_bytes: AtomicU64,
    caller_bytes: AtomicU64,
    workers: Mutex<Vec<WorkerThread>>,
    /// Why the worker threads could not be found, when they could not.
    workers_unknown: Option<String>,
}

impl WriteAccounting {
    /// Finds the `expected` worker threads that appeared since `before` (call it under
    /// [`OPEN_LOCK`], right after the open). Threads name themselves when they start, so this
    /// waits for them a little.
    pub(crate) fn after_open(before: &BTreeSet<u32>, expected: usize) -> WriteAccounting {
        let deadline = Instant::now() + Duration::from_secs(2);
        let new = loop {
            let new: Vec<u32> = worker_tids().difference(before).copied().collect();
            if new.len() >= expected || Instant::now() >= deadline {
                break new;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let workers: Vec<WorkerThread> = new
            .into_iter()
            .filter_map(|tid| {
                let at_open = wchar_of(&format!("/proc/self/task/{tid}/io")).ok()?;
                Some(WorkerThread {
                    tid,
                    at_open,
                    last: at_open,
                })
            })
            .collect();
        let workers_unknown = (workers.len() != expected).then(|| {
            format!(
                "found {} of fjall's {expected} worker threads in /proc/self/task, so their \
                 flush and compaction writes cannot be counted",
                workers.len()
            )
        });
        WriteAccounting {
            user_bytes: AtomicU64::new(0),
            journal_bytes: AtomicU64::new(0),
            caller_bytes: AtomicU64::new(0),
            workers: Mutex::new(workers),
            workers_unknown,
        }
    }

    /// A committed batch: `user` key and value bytes, `journal` bytes in fjall's journal.
    pub(crate) fn committed(&self, user: u64, journal: u64) {
        self.user_bytes.fetch_add(user, Ordering::Relaxed);
        self.journal_bytes.fetch_add(journal, Ordering::Relaxed);
    }

    /// Key and value bytes written around the journal (bulk ingestion).
    pub(crate) fn user_bytes_ingested(&self, user: u64) {
        self.user_bytes.fetch_add(user, Ordering::Relaxed);
    }

    /// Runs `f` on this thread, counting what it writes (a flush, compaction or ingestion
    /// fjall runs on the caller's thread).
    pub(crate) fn on_caller_thread<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = own_wchar().ok();
        let out = f();
        if let (Some(b), Ok(a)) = (before, own_wchar()) {
            self.caller_bytes
                .fetch_add(a.saturating_sub(b), Ordering::Relaxed);
        }
        out
    }

    /// (user bytes, engine bytes) written since open.
    pub(crate) fn bytes_written(&self, path: &Path) -> Result<(u64, u64)> {
        if let Some(why) = &self.workers_unknown {
            return Err(Error::Other(format!(
                "statistics of the fjall database at {}: {why}",
                path.display()
            )));
        }
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        let mut worker_bytes = 0;
        for w in workers.iter_mut() {
            if let Ok(now) = wchar_of(&format!("/proc/self/task/{}/io", w.tid)) {
                w.last = w.last.max(now);
            }
            worker_bytes += w.last - w.at_open;
        }
        let engine = self.journal_bytes.load(Ordering::Relaxed)
            + self.caller_bytes.load(Ordering::Relaxed)
            + worker_bytes;
        Ok((self.user_bytes.load(Ordering::Relaxed), engine))
    }
}

/// Bytes the files under `dir` take on disk: allocated blocks, so the journal's 64 MiB
/// preallocation (a sparse file) counts only where it holds data.
pub(crate) fn allocated_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = match entry.metadata() {
            Ok(m) => m,
            // Compaction deletes files while we walk.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            match allocated_bytes(&entry.path()) {
                Ok(n) => total += n,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else {
            total += meta.blocks() * 512;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wchar_is_read_from_proc_io_text() {
        let text = "rchar: 10\nwchar: 4242\nsyscr: 1\nsyscw: 2\n";
        assert_eq!(wchar_in(text), Some(4242));
        assert_eq!(wchar_in("rchar: 1\n"), None);
    }

    #[test]
    fn own_wchar_grows_with_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let before = own_wchar().unwrap();
        std::fs::write(dir.path().join("f"), vec![0u8; 10_000]).unwrap();
        assert!(own_wchar().unwrap() >= before + 10_000);
    }
}
