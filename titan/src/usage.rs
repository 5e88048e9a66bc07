//! Exact, incremental garbage accounting: the live and total record bytes of every blob file,
//! known without reading any blob file.
//!
//! A record's bytes count in its file's `total` from the moment they are appended, and in its
//! `live` from the moment an LSM write that points a key at it commits. They leave `live`
//! when a later write (put, delete, delete_range, a batch, a GC commit, an ingest) replaces
//! that key's value: the write path reads the value it replaces under the write lock. A
//! record appended by a write that then failed is in `total` only: garbage from the start.
//!
//! The counters are kept in memory and written to `blob/USAGE` at a clean close (after the
//! WAL is synced, so the file describes a durable LSM). Open reads the file and deletes it
//! before the first write, so a crash later finds no file; without a valid file (missing,
//! torn, naming files that differ from the ones on disk), open recounts from the LSM: one
//! scan of every column family's current values, adding each blob index's length to its
//! file's `live`, with `total` taken from each file's size. The recount reads no blob file.
//!
//! Correctness never rests on these numbers: they choose which files GC rewrites, and GC
//! still looks every record of a victim up in the LSM before it moves or drops it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use crate::format::BlobIndex;
use crate::{Error, Result};

/// The persisted counters' file, in the blob directory.
pub const USAGE_FILE: &str = "USAGE";
const HEADER: &str = "titan blob usage v1";

/// Live and total record bytes of one blob file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileUsage {
    /// Bytes of records in the file.
    pub total: u64,
    /// Bytes of records some key's current value points at.
    pub live: u64,
    /// GC moved its live records away; the file waits for readers to let go of it.
    pub obsolete: bool,
}

impl FileUsage {
    /// Bytes of records nothing current points at.
    pub fn garbage(&self) -> u64 {
        self.total.saturating_sub(self.live)
    }
}

/// Where the counters of this open came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageSource {
    /// Read from `blob/USAGE`, written at the last clean close.
    Persisted,
    /// Recounted from the LSM at open, and why the persisted counters could not be used.
    Recounted(String),
}

/// The counters of every blob file on disk (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Usage {
    files: Mutex<BTreeMap<u64, FileUsage>>,
    /// Times a record left `live` bytes its file did not have: the accounting missed a
    /// change. Kept for tests and the counters; GC stays correct either way.
    drift: std::sync::atomic::AtomicU64,
}

impl Usage {
    pub(crate) fn new(files: BTreeMap<u64, FileUsage>) -> Usage {
        Usage {
            files: Mutex::new(files),
            drift: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, FileUsage>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new, empty file exists: counted from now on, so GC can drop it even if no record
    /// ever lands in it (a failed first append).
    pub(crate) fn created(&self, file: u64) {
        self.lock().entry(file).or_default();
    }

    /// Records were appended to their files (not yet pointed at).
    pub(crate) fn appended(&self, records: &[BlobIndex]) {
        let mut files = self.lock();
        for r in records {
            files.entry(r.file).or_default().total += u64::from(r.len);
        }
    }

    /// A committed LSM write pointed keys at `made_live` and away from `made_garbage`.
    pub(crate) fn commit(&self, made_live: &[BlobIndex], made_garbage: &[BlobIndex]) {
        let mut files = self.lock();
        for r in made_live {
            files.entry(r.file).or_default().live += u64::from(r.len);
        }
        for r in made_garbage {
            match files.get_mut(&r.file) {
                Some(f) if f.live >= u64::from(r.len) => f.live -= u64::from(r.len),
                Some(f) => {
                    f.live = 0;
                    self.drift
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                // An index into a file already deleted (a stale recount cannot produce one,
                // but a checkpoint copy opened elsewhere might): nothing to count.
                None => {}
            }
        }
    }

    /// GC moved `file`'s live records away.
    pub(crate) fn set_obsolete(&self, file: u64) {
        if let Some(f) = self.lock().get_mut(&file) {
            f.obsolete = true;
        }
    }

    /// GC could not release `file` after all: it counts again.
    pub(crate) fn clear_obsolete(&self, file: u64) {
        if let Some(f) = self.lock().get_mut(&file) {
            f.obsolete = false;
        }
    }

    /// `file` was deleted: its counters, if it had any.
    pub(crate) fn remove(&self, file: u64) -> Option<FileUsage> {
        self.lock().remove(&file)
    }

    /// Total and live record bytes of the files GC may still act on (obsolete ones excluded:
    /// they are deleted as soon as no reader needs them).
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.lock()
            .values()
            .filter(|f| !f.obsolete)
            .fold((0, 0), |(t, l), f| (t + f.total, l + f.live))
    }

    /// Whether any key's current value points at a blob record (else a write replaces no
    /// blob index, and the write path skips its lookups).
    pub(crate) fn any_live(&self) -> bool {
        self.lock().values().any(|f| f.live > 0)
    }

    /// A copy of every file's counters.
    pub(crate) fn snapshot(&self) -> BTreeMap<u64, FileUsage> {
        self.lock().clone()
    }

    pub(crate) fn drift(&self) -> u64 {
        self.drift.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes the counters to `dir/USAGE`: a temporary file, fsynced, renamed into place, the
    /// directory fsynced. A crash at any point leaves either no file or a whole one.
    pub(crate) fn persist(&self, dir: &Path) -> Result<()> {
        let mut text = format!("{HEADER}\n");
        let files = self.snapshot();
        for (n, f) in &files {
            if !f.obsolete {
                writeln!(text, "{n} {} {}", f.total, f.live).expect("writing to a String");
            }
        }
        let count = files.values().filter(|f| !f.obsolete).count();
        writeln!(text, "end {count}").expect("writing to a String");
        let tmp = dir.join(format!("{USAGE_FILE}.tmp"));
        crate::io_fault("write", &tmp).map_err(|e| Error::io(e, &tmp))?;
        let mut f = File::create(&tmp).map_err(|e| Error::io(e, &tmp))?;
        f.write_all(text.as_bytes())
            .map_err(|e| Error::io(e, &tmp))?;
        crate::io_fault("sync", &tmp).map_err(|e| Error::io(e, &tmp))?;
        f.sync_all().map_err(|e| Error::io(e, &tmp))?;
        crate::fail_point("titan::usage::persist")?;
        let path = dir.join(USAGE_FILE);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(e, &path))?;
        crate::storage::sync_dir(dir)
    }

    /// Reads `dir/USAGE` and deletes it (durably, before the caller's first write), checking
    /// it against `on_disk` (each blob file's record bytes). `Err(why)` when it cannot be used.
    pub(crate) fn take_persisted(
        dir: &Path,
        on_disk: &BTreeMap<u64, u64>,
    ) -> Result<std::result::Result<BTreeMap<u64, FileUsage>, String>> {
        let path = dir.join(USAGE_FILE);
        let _ = std::fs::remove_file(dir.join(format!("{USAGE_FILE}.tmp")));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Err(format!(
                    "no {USAGE_FILE} file (a first open, or the last process did not close cleanly)"
                )));
            }
            Err(e) => return Err(Error::io(e, &path)),
        };
        crate::io_fault("delete", &path).map_err(|e| Error::io(e, &path))?;
        std::fs::remove_file(&path).map_err(|e| Error::io(e, &path))?;
        crate::storage::sync_dir(dir)?;
        Ok(parse(&text, &path, on_disk))
    }
}

fn parse(
    text: &str,
    path: &Path,
    on_disk: &BTreeMap<u64, u64>,
) -> std::result::Result<BTreeMap<u64, FileUsage>, String> {
    let mut lines = text.lines().enumerate();
    let where_ = |i: usize| format!("{}, line {}", path.display(), i + 1);
    match lines.next() {
        Some((_, HEADER)) => {}
        _ => return Err(format!("{}: not a usage file", where_(0))),
    }
    let mut files = BTreeMap::new();
    for (i, line) in lines {
        if let Some(count) = line.strip_prefix("end ") {
            if count.parse::<usize>().ok() != Some(files.len()) {
                return Err(format!("{}: the count does not match", where_(i)));
            }
            let listed: Vec<u64> = files.keys().copied().collect();
            let present: Vec<u64> = on_disk.keys().copied().collect();
            if listed != present {
                return Err(format!(
                    "{} lists files {listed:?}, the blob directory holds {present:?}",
                    path.display()
                ));
            }
            return Ok(files);
        }
        let nums: Vec<u64> = line
            .split(' ')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| format!("{}: cannot read {line:?}", where_(i)))?;
        let [n, total, live] = nums[..] else {
            return Err(format!("{}: cannot read {line:?}", where_(i)));
        };
        if on_disk.get(&n) != Some(&total) || live > total {
            return Err(format!(
                "{}: file {n} has {total} record bytes ({live} live) here, {:?} on disk",
                where_(i),
                on_disk.get(&n)
            ));
        }
        files.insert(
            n,
            FileUsage {
                total,
                live,
                obsolete: false,
            },
        );
    }
    Err(format!("{}: no end line (torn)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(file: u64, len: u32) -> BlobIndex {
        BlobIndex {
            file,
            offset: 12,
            len,
        }
    }

    #[test]
    fn a_replaced_record_moves_from_live_to_garbage() {
        let u = Usage::default();
        u.appended(&[idx(1, 100), idx(1, 50)]);
        u.commit(&[idx(1, 100)], &[]);
        assert_eq!(
            u.totals(),
            (150, 100),
            "the failed write's 50 bytes are garbage"
        );
        u.commit(&[], &[idx(1, 100)]);
        assert_eq!(u.totals(), (150, 0));
        assert_eq!(u.drift(), 0);
        u.commit(&[], &[idx(1, 100)]);
        assert_eq!(u.drift(), 1, "a second removal is counted as drift");
    }

    #[test]
    fn persisted_counters_round_trip_and_are_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let u = Usage::default();
        u.appended(&[idx(3, 1000), idx(4, 500)]);
        u.commit(&[idx(3, 1000)], &[]);
        u.persist(dir.path()).unwrap();
        let on_disk = BTreeMap::from([(3, 1000), (4, 500)]);
        let got = Usage::take_persisted(dir.path(), &on_disk)
            .unwrap()
            .unwrap();
        assert_eq!(got, u.snapshot());
        let again = Usage::take_persisted(dir.path(), &on_disk).unwrap();
        assert!(
            again.unwrap_err().contains("no USAGE"),
            "open deletes the file, so a crash after it recounts"
        );
    }

    #[test]
    fn counters_that_disagree_with_the_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let u = Usage::default();
        u.appended(&[idx(3, 1000)]);
        u.persist(dir.path()).unwrap();
        let why = Usage::take_persisted(dir.path(), &BTreeMap::from([(3, 999)]))
            .unwrap()
            .unwrap_err();
        assert!(why.contains("file 3 has 1000"), "{why}");
        u.persist(dir.path()).unwrap();
        let why = Usage::take_persisted(dir.path(), &BTreeMap::from([(3, 1000), (5, 1)]))
            .unwrap()
            .unwrap_err();
        assert!(why.contains("[3]") && why.contains("[3, 5]"), "{why}");
        std::fs::write(dir.path().join(USAGE_FILE), format!("{HEADER}\n3 1000 0\n")).unwrap();
        let why = Usage::take_persisted(dir.path(), &BTreeMap::from([(3, 1000)]))
            .unwrap()
            .unwrap_err();
        assert!(why.contains("torn"), "{why}");
    }
}
