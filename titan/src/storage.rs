//! Blob files on disk: the active writer, sealed files, recovery, and checked reads.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::format::{self, BlobIndex, RecordError};
use crate::{Error, Result};

/// One blob file, open for reading (pread).
#[derive(Debug)]
pub struct BlobFile {
    /// File number.
    pub number: u64,
    /// Path.
    pub path: PathBuf,
    file: File,
    /// The storage's count of read calls into blob files (see [`BlobStorage::reads`]).
    reads: Arc<AtomicU64>,
}

impl BlobFile {
    /// Reads the record at `idx` and returns its value, checking checksum, CF and key.
    pub fn read(&self, idx: BlobIndex, cf: &str, key: &[u8]) -> Result<Vec<u8>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let mut buf = vec![0u8; idx.len as usize];
        self.file.read_exact_at(&mut buf, idx.offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::corruption(
                    format!(
                        "blob record of {} bytes runs past the end of the file",
                        idx.len
                    ),
                    &self.path,
                    idx.offset,
                )
            } else {
                Error::io(e, &self.path)
            }
        })?;
        let (rec, _) = format::decode_record(&buf).map_err(|e| {
            let what = match e {
                RecordError::Short => "blob record is shorter than its index says",
                RecordError::Checksum => "blob record checksum mismatch",
            };
            Error::corruption(what, &self.path, idx.offset)
        })?;
        if rec.cf != cf || rec.key != key {
            return Err(Error::corruption(
                "blob record belongs to another key",
                &self.path,
                idx.offset,
            ));
        }
        Ok(rec.value.to_vec())
    }

    /// Every record of the file, in order, reading only each record's fixed part, column
    /// family and key (two `pread`s a record), never its value: what GC needs to look each
    /// record up in the LSM. Values are not checksummed here; [`Self::read`] checks each
    /// value it returns. Stops at the footer.
    pub fn scan_keys(&self) -> Result<Vec<ScannedRecord>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(e, &self.path))?
            .len();
        let end = self.data_end_at(len)?;
        let mut out = Vec::new();
        let mut at = format::HEADER_LEN;
        let mut fixed = [0u8; format::RECORD_HEADER_LEN];
        while at < end {
            let bad = || Error::corruption("bad blob record while scanning", &self.path, at);
            if end - at < fixed.len() as u64 {
                return Err(bad());
            }
            self.file
                .read_exact_at(&mut fixed, at)
                .map_err(|e| Error::io(e, &self.path))?;
            let rec_len = format::record_len(&fixed).ok_or_else(bad)? as u64;
            let cf_len = usize::from(fixed[4]);
            let key_len = u32::from_le_bytes(fixed[5..9].try_into().expect("4 bytes")) as usize;
            if at + rec_len > end {
                return Err(bad());
            }
            let mut names = vec![0u8; cf_len + key_len];
            self.file
                .read_exact_at(&mut names, at + fixed.len() as u64)
                .map_err(|e| Error::io(e, &self.path))?;
            let key = names.split_off(cf_len);
            let cf = String::from_utf8(names).map_err(|_| bad())?;
            out.push(ScannedRecord {
                index: BlobIndex {
                    file: self.number,
                    offset: at,
                    len: rec_len as u32,
                },
                cf,
                key,
            });
            at += rec_len;
        }
        Ok(out)
    }

    /// Where the records of this file end when it is `len` bytes long: before a valid footer,
    /// or at `len` (one 20-byte `pread`).
    fn data_end_at(&self, len: u64) -> Result<u64> {
        if len < format::HEADER_LEN + format::FOOTER_LEN {
            return Ok(len.max(format::HEADER_LEN));
        }
        let mut f = [0u8; format::FOOTER_LEN as usize];
        self.file
            .read_exact_at(&mut f, len - format::FOOTER_LEN)
            .map_err(|e| Error::io(e, &self.path))?;
        Ok(if format::parse_footer(&f).is_some() {
            len - format::FOOTER_LEN
        } else {
            len
        })
    }

    /// Record bytes in the file (its length less header and footer), from its metadata and
    /// footer: what garbage accounting counts as the file's total.
    pub fn record_bytes(&self) -> Result<u64> {
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(e, &self.path))?
            .len();
        Ok(self.data_end_at(len)? - format::HEADER_LEN)
    }
}

/// One record found by [`BlobFile::scan_keys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedRecord {
    /// Where it is (what a blob index pointing at it holds).
    pub index: BlobIndex,
    /// Its column family.
    pub cf: String,
    /// Its key.
    pub key: Vec<u8>,
}

/// Where the records of a file's bytes end: before a valid footer, or at the end.
fn data_end(data: &[u8]) -> usize {
    let n = data.len();
    if n >= (format::HEADER_LEN + format::FOOTER_LEN) as usize
        && format::parse_footer(&data[n - format::FOOTER_LEN as usize..]).is_some()
    {
        n - format::FOOTER_LEN as usize
    } else {
        n
    }
}

/// What a file being appended to shares with those who sync it without appending: the
/// flush listener, which runs on a RocksDB thread and must not take the write lock (a writer
/// holding it may be stalled on that very flush) nor `BlobStorage::active`.
#[derive(Debug)]
struct SyncShared {
    number: u64,
    path: PathBuf,
    file: File,
    /// Bytes written (header and whole records): what an fsync now makes durable.
    written: AtomicU64,
    /// Bytes known durable (the largest length an fsync covered).
    synced: AtomicU64,
}

impl SyncShared {
    fn unsynced(&self) -> bool {
        self.synced.load(Ordering::Acquire) < self.written.load(Ordering::Acquire)
    }
}

/// The file being appended to.
#[derive(Debug)]
pub struct ActiveFile {
    /// Its file number.
    pub number: u64,
    shared: Arc<SyncShared>,
    offset: u64,
    records: u64,
}

impl ActiveFile {
    /// Bytes written to it so far (header and records).
    pub fn len(&self) -> u64 {
        self.offset
    }

    /// Whether no record has been appended yet.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }
}

/// All blob files of one database.
#[derive(Debug)]
pub struct BlobStorage {
    dir: PathBuf,
    files: RwLock<BTreeMap<u64, Arc<BlobFile>>>,
    active: Mutex<Option<ActiveFile>>,
    /// The active file's sync handle, under its own short lock (see [`SyncShared`]). It is
    /// replaced when a new file becomes active, before any record is appended to it, and kept
    /// when the file is sealed: a sync racing with a seal or a rotation syncs the file being
    /// sealed, which is harmless (the seal fsyncs it anyway, and then there is nothing left
    /// to sync).
    active_sync: Mutex<Option<Arc<SyncShared>>>,
    /// A sync by [`BlobStorage::sync_for_flush`] failed: the next write must sync itself.
    flush_sync_failed: AtomicBool,
    next_number: Mutex<u64>,
    target_file_size: u64,
    /// Append "number length" to `SYNCED` after every fsync (for the power-loss simulation).
    record_synced: bool,
    /// Read calls into blob files (record reads and scans), shared with every [`BlobFile`].
    reads: Arc<AtomicU64>,
}

/// The log of synced lengths kept when recording is on.
pub const SYNCED_LOG: &str = "SYNCED";

/// The log of files opened for appending (`+N`, fsynced at creation) and sealed (`-N`). On
/// open it tells a file the previous process was still writing (no footer is expected: a
/// crash) from a sealed file that lost its footer (damage: left as it is, reads report it).
pub const OPEN_LOG: &str = "OPEN";

/// Appends `line` to the log at `path` (created if missing), fsynced with `sync`. Both logs,
/// OPEN and SYNCED, go through here, and so through the file layer's fault site.
fn append_line(path: &Path, line: &str, sync: bool) -> Result<()> {
    crate::io_fault("write", path).map_err(|e| Error::io(e, path))?;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(e, path))?;
    // One `write` call per line: the flush listener and GC may append beside a writer, and
    // O_APPEND keeps a single small write whole.
    log.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| Error::io(e, path))?;
    if sync {
        crate::io_fault("sync", path).map_err(|e| Error::io(e, path))?;
        log.sync_data().map_err(|e| Error::io(e, path))?;
    }
    Ok(())
}

/// Makes the entries of directory `dir` durable: a new file's name survives a power loss only
/// once its directory is fsynced (the power-loss suite found blob files vanishing without).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    crate::io_fault("sync", dir).map_err(|e| Error::io(e, dir))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(e, dir))
}

fn read_open_log(dir: &Path) -> std::collections::BTreeSet<u64> {
    let mut open = std::collections::BTreeSet::new();
    for line in std::fs::read_to_string(dir.join(OPEN_LOG))
        .unwrap_or_default()
        .lines()
    {
        if let Some(n) = line.strip_prefix('+').and_then(|n| n.parse().ok()) {
            open.insert(n);
        } else if let Some(n) = line.strip_prefix('-').and_then(|n| n.parse::<u64>().ok()) {
            open.remove(&n);
        }
    }
    open
}

/// Simulates a power loss on the blob files of `dir`: every file is cut back to the length it
/// had at its last fsync (from the `SYNCED` log, which exists when the database was opened
/// with `record_synced_lengths`); a file never synced loses everything. Run it on a closed
/// (killed) database only.
pub fn simulate_power_loss(dir: &Path) -> std::io::Result<Vec<(u64, u64, u64)>> {
    let mut synced: BTreeMap<u64, u64> = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join(SYNCED_LOG))
        .unwrap_or_default()
        .lines()
    {
        if let Some((n, l)) = line.split_once(' ')
            && let (Ok(n), Ok(l)) = (n.parse::<u64>(), l.parse::<u64>())
        {
            let e = synced.entry(n).or_insert(0);
            *e = (*e).max(l);
        }
    }
    let mut cut = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(number) = blob_number(&path) else {
            continue;
        };
        let len = std::fs::metadata(&path)?.len();
        let keep = synced.get(&number).copied().unwrap_or(0).min(len);
        if keep < len {
            OpenOptions::new().write(true).open(&path)?.set_len(keep)?;
            cut.push((number, len, keep));
        }
    }
    Ok(cut)
}

/// The number of a blob file from its path (`000042.blob` -> 42), `None` for other files.
fn blob_number(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_suffix(".blob")?
        .parse()
        .ok()
}

fn file_name(number: u64) -> String {
    format!("{number:06}.blob")
}

impl BlobStorage {
    /// Opens `dir` (creating it), recovering every file: a file without a footer has its torn
    /// tail truncated and is sealed. Appends go to a new file.
    pub fn open(dir: &Path, target_file_size: u64) -> Result<BlobStorage> {
        let (s, _) = Self::open_recording(dir, target_file_size, false)?;
        s.finish_recovery()?;
        Ok(s)
    }

    /// [`BlobStorage::open`], optionally recording synced lengths; also returns the files the
    /// previous process was appending to, with where their records now end (a torn tail is
    /// truncated there). The OPEN log keeps naming them until [`Self::finish_recovery`], so
    /// a crash before the caller has dealt with them (Titan: before RocksDB's recovery with
    /// its WAL filter is complete) finds the same list again.
    pub fn open_recording(
        dir: &Path,
        target_file_size: u64,
        record_synced: bool,
    ) -> Result<(BlobStorage, Vec<(u64, u64)>)> {
        let created = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
        if created && let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        let mut files = BTreeMap::new();
        let mut truncated = Vec::new();
        let mut max = 0;
        let reads = Arc::new(AtomicU64::new(0));
        let was_open = read_open_log(dir);
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(e, dir))? {
            let path = entry.map_err(|e| Error::io(e, dir))?.path();
            let Some(number) = blob_number(&path) else {
                continue;
            };
            max = max.max(number);
            if let Some(at) = recover(&path, was_open.contains(&number))? {
                truncated.push((number, at));
            }
            let file = File::open(&path).map_err(|e| Error::io(e, &path))?;
            let reads = reads.clone();
            files.insert(
                number,
                Arc::new(BlobFile {
                    number,
                    path,
                    file,
                    reads,
                }),
            );
        }
        let storage = BlobStorage {
            dir: dir.to_path_buf(),
            files: RwLock::new(files),
            active: Mutex::new(None),
            active_sync: Mutex::new(None),
            flush_sync_failed: AtomicBool::new(false),
            next_number: Mutex::new(max + 1),
            target_file_size,
            record_synced,
            reads,
        };
        Ok((storage, truncated))
    }

    /// Every file is sealed (or left damaged) and the caller is done with the list
    /// [`Self::open_recording`] returned: starts the OPEN log afresh.
    pub fn finish_recovery(&self) -> Result<()> {
        let log = self.dir.join(OPEN_LOG);
        std::fs::write(&log, b"").map_err(|e| Error::io(e, &log))
    }

    fn new_number(&self) -> u64 {
        let mut n = self.next_number.lock().unwrap_or_else(|e| e.into_inner());
        let number = *n;
        *n += 1;
        number
    }

    /// Creates a new, empty blob file with its header written; returns it for appending.
    pub fn create_file(&self) -> Result<ActiveFile> {
        let number = self.new_number();
        let path = self.dir.join(file_name(number));
        crate::io_fault("create", &path).map_err(|e| Error::io(e, &path))?;
        // Logged (and fsynced) before the file exists: whatever state a crash leaves this
        // file in, recovery knows it was being written, not damaged.
        self.log_open(&format!("+{number}"), true)?;
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(e, &path))?;
        (&file)
            .write_all(&format::header())
            .map_err(|e| Error::io(e, &path))?;
        // The name (and the OPEN log's, when this created it) must outlive a power loss before
        // any index into the file is written to the LSM.
        sync_dir(&self.dir)?;
        let reader = File::open(&path).map_err(|e| Error::io(e, &path))?;
        self.files
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                number,
                Arc::new(BlobFile {
                    number,
                    path: path.clone(),
                    file: reader,
                    reads: self.reads.clone(),
                }),
            );
        Ok(ActiveFile {
            number,
            shared: Arc::new(SyncShared {
                number,
                path,
                file,
                written: AtomicU64::new(format::HEADER_LEN),
                synced: AtomicU64::new(0),
            }),
            offset: format::HEADER_LEN,
            records: 0,
        })
    }

    /// Appends records to `file`; returns their indexes. One `write` call for all of them.
    pub fn append_to(&self, file: &mut ActiveFile, records: &[Vec<u8>]) -> Result<Vec<BlobIndex>> {
        let mut buf = Vec::with_capacity(records.iter().map(Vec::len).sum());
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(BlobIndex {
                file: file.number,
                offset: file.offset + buf.len() as u64,
                len: r.len() as u32,
            });
            buf.extend_from_slice(r);
        }
        let path = self.dir.join(file_name(file.number));
        crate::io_fault("write", &path).map_err(|e| Error::io(e, &path))?;
        let written = if crate::fail_point_hit("titan::blob::short_write") {
            // A short write: half the bytes reach the file, then the device fails.
            (&file.shared.file)
                .write_all(&buf[..buf.len() / 2])
                .and(Err(std::io::Error::other("injected short write")))
        } else {
            (&file.shared.file).write_all(&buf)
        };
        if let Err(e) = written {
            // Part of the buffer may be in the file. Cut it back to the last whole record, or
            // every later index would point `written` bytes early; if even that fails, the
            // caller gets this error and the next write starts a new file.
            if file.shared.file.set_len(file.offset).is_err() {
                file.offset = u64::MAX;
            }
            return Err(Error::io(e, &path));
        }
        file.offset += buf.len() as u64;
        file.shared.written.store(file.offset, Ordering::Release);
        file.records += records.len() as u64;
        Ok(out)
    }

    /// Appends records to the active file (rotating it at the target size); with `sync`,
    /// fsyncs before returning. Callers serialise writes (the engine's write lock).
    pub fn append(&self, records: &[Vec<u8>], sync: bool) -> Result<Vec<BlobIndex>> {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if active
            .as_ref()
            .is_some_and(|a| a.offset >= self.target_file_size)
        {
            let full = active.take().expect("checked above");
            self.seal(full)?;
        }
        if active.is_none() {
            let file = self.create_file()?;
            *self.active_sync.lock().unwrap_or_else(|e| e.into_inner()) = Some(file.shared.clone());
            *active = Some(file);
        }
        let file = active.as_mut().expect("set above");
        let idx = self.append_to(file, records)?;
        if sync {
            self.sync_shared(&file.shared)?;
        }
        Ok(idx)
    }

    /// fsyncs an appended file.
    pub fn sync_file(&self, file: &ActiveFile) -> Result<()> {
        self.sync_shared(&file.shared)
    }

    /// fsyncs what has been written to a file so far, when some of it is not known durable.
    /// Safe to call from any thread, concurrently with appends: the length is read before the
    /// fsync, so the fsync covers at least that much.
    fn sync_shared(&self, f: &SyncShared) -> Result<()> {
        let len = f.written.load(Ordering::Acquire);
        if f.synced.load(Ordering::Acquire) >= len {
            return Ok(());
        }
        crate::io_fault("sync", &f.path).map_err(|e| Error::io(e, &f.path))?;
        f.file.sync_data().map_err(|e| Error::io(e, &f.path))?;
        f.synced.fetch_max(len, Ordering::AcqRel);
        self.record_synced_len(f.number, len)
    }

    /// Makes every record appended so far durable, for RocksDB's flush-begin listener: the
    /// memtable about to become an SST holds indexes into the active file, and an SST must
    /// never point at a record a power loss can take. Runs on a RocksDB background thread
    /// while a writer may hold the engine's write lock (stalled on this flush) or this
    /// storage's `active` lock, so it takes neither: only `active_sync`, for a clone of the
    /// handle. A file sealed since was fsynced by its seal. A failure is remembered: the next
    /// write syncs the file itself ([`BlobStorage::take_flush_sync_failure`]).
    pub fn sync_for_flush(&self) {
        let shared = self
            .active_sync
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(f) = shared
            && self.sync_shared(&f).is_err()
        {
            self.note_flush_sync_failure();
        }
    }

    /// [`Self::sync_for_flush`] for callers that can report a failure (GC making a commit
    /// durable): takes neither the write lock nor the append lock.
    pub fn sync_active_unlocked(&self) -> Result<()> {
        let shared = self
            .active_sync
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match shared {
            Some(f) => self.sync_shared(&f),
            None => Ok(()),
        }
    }

    /// Records that the records appended so far may not be durable although a flush needed
    /// them to be: the next write with large values syncs them.
    pub fn note_flush_sync_failure(&self) {
        self.flush_sync_failed.store(true, Ordering::Release);
    }

    /// Holds the append lock (for a test that the flush listener does not need it).
    #[cfg(test)]
    pub(crate) fn lock_active_for_test(&self) -> std::sync::MutexGuard<'_, Option<ActiveFile>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a sync for a flush failed since the last call (see [`Self::sync_for_flush`]).
    pub fn take_flush_sync_failure(&self) -> bool {
        self.flush_sync_failed.swap(false, Ordering::AcqRel)
    }

    fn record_synced_len(&self, number: u64, len: u64) -> Result<()> {
        if !self.record_synced {
            return Ok(());
        }
        append_line(
            &self.dir.join(SYNCED_LOG),
            &format!("{number} {len}"),
            false,
        )
    }

    /// Writes the footer and fsyncs: the file is complete.
    pub fn seal(&self, file: ActiveFile) -> Result<()> {
        let path = self.dir.join(file_name(file.number));
        if file.offset == u64::MAX {
            // A failed append could not cut its partial bytes back: the file's end is unknown.
            return Err(Error::corruption(
                "cannot seal a blob file whose last append could not be undone",
                &path,
                0,
            ));
        }
        crate::io_fault("write", &path).map_err(|e| Error::io(e, &path))?;
        (&file.shared.file)
            .write_all(&format::footer(file.records))
            .map_err(|e| Error::io(e, &path))?;
        crate::io_fault("sync", &path).map_err(|e| Error::io(e, &path))?;
        file.shared
            .file
            .sync_all()
            .map_err(|e| Error::io(e, &path))?;
        let len = file.offset + format::FOOTER_LEN;
        file.shared.written.store(len, Ordering::Release);
        file.shared.synced.fetch_max(len, Ordering::AcqRel);
        self.log_open(&format!("-{}", file.number), false)?;
        self.record_synced_len(file.number, len)
    }

    fn log_open(&self, line: &str, sync: bool) -> Result<()> {
        append_line(&self.dir.join(OPEN_LOG), line, sync)
    }

    /// Seals the active file, if any (on close, and before GC so every file is a candidate).
    pub fn seal_active(&self) -> Result<()> {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        // `active_sync` keeps the file: a flush listener that takes it before the seal's fsync
        // is done syncs it itself (clearing it first would let that flush skip the sync).
        match active.take() {
            Some(f) => self.seal(f),
            None => Ok(()),
        }
    }

    /// fsyncs the active file, if any.
    pub fn sync_active(&self) -> Result<()> {
        match self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some(f) => self.sync_file(f),
            None => Ok(()),
        }
    }

    /// fsyncs the active file when it holds records appended since its last fsync. Before
    /// anything makes an LSM entry durable (a synced write, even one with only small values;
    /// a flush), the records earlier entries point at must be durable first: else a power
    /// loss keeps a later write and drops an earlier one (found by the powerloss suite).
    pub fn sync_active_if_unsynced(&self) -> Result<()> {
        match self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some(f) if f.shared.unsynced() => self.sync_file(f),
            _ => Ok(()),
        }
    }

    /// The number of the file currently appended to.
    pub fn active_number(&self) -> Option<u64> {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|a| a.number)
    }

    /// The file `number`, or a `Corruption` naming it when it is missing.
    pub fn file(&self, number: u64) -> Result<Arc<BlobFile>> {
        self.files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&number)
            .cloned()
            .ok_or_else(|| {
                let path = self.dir.join(file_name(number));
                Error::corruption("blob file is missing", &path, 0)
            })
    }

    /// Every file, sorted by number.
    pub fn files(&self) -> Vec<Arc<BlobFile>> {
        self.files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Forgets and deletes file `number`.
    pub fn delete(&self, number: u64) -> Result<()> {
        let path = self.dir.join(file_name(number));
        crate::io_fault("delete", &path).map_err(|e| Error::io(e, &path))?;
        let removed = self
            .files
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&number);
        if let Some(f) = removed {
            std::fs::remove_file(&f.path).map_err(|e| Error::io(e, &f.path))?;
        }
        Ok(())
    }

    /// Read calls into blob files since open: record reads and scans (a test counts them to
    /// show a GC decision reads none).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Bytes of all blob files on disk.
    pub fn disk_size(&self) -> u64 {
        self.files()
            .iter()
            .filter_map(|f| std::fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum()
    }

    /// The blob directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Checks a file found on open: a bad header is corruption; a missing footer means the
/// process stopped while appending, so the records are scanned, a torn tail truncated, and
/// the file sealed. Returns where the records of such an unsealed file now end.
fn recover(path: &Path, was_open: bool) -> Result<Option<u64>> {
    let data = std::fs::read(path).map_err(|e| Error::io(e, path))?;
    if data.len() < format::HEADER_LEN as usize && was_open {
        // The header itself never made it: nothing can point into this file.
        std::fs::write(path, format::header()).map_err(|e| Error::io(e, path))?;
        let mut f = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(e, path))?;
        f.write_all(&format::footer(0))
            .map_err(|e| Error::io(e, path))?;
        f.sync_all().map_err(|e| Error::io(e, path))?;
        return Ok(Some(0));
    }
    if data.len() < format::HEADER_LEN as usize
        || &data[..8] != format::MAGIC
        || data[8..12] != format::VERSION.to_le_bytes()
    {
        if was_open {
            return Err(Error::corruption(
                "blob file being written has a bad header",
                path,
                0,
            ));
        }
        // A sealed file damaged down to its header: leave it; reads into it report
        // corruption naming it, and the rest of the database stays usable.
        return Ok(None);
    }
    if data_end(&data) != data.len() {
        // Sealed. When the OPEN log still names it, its seal's `-N` line was lost or an
        // earlier recovery sealed it and stopped before the caller finished: report where its
        // records end, as for a file recovered now (nothing valid points past that).
        return Ok(was_open.then_some(data_end(&data) as u64));
    }
    if !was_open {
        // A sealed file that lost its footer (truncated, overwritten): damage, not a crash.
        // Leave it as it is; reads past its end report corruption naming it.
        return Ok(None);
    }
    let mut at = format::HEADER_LEN as usize;
    let mut count = 0u64;
    while at < data.len() {
        match format::decode_record(&data[at..]) {
            Ok((_, len)) => {
                at += len;
                count += 1;
            }
            Err(_) => break, // torn tail: everything from here was never acknowledged as synced
        }
    }
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(e, path))?;
    f.set_len(at as u64).map_err(|e| Error::io(e, path))?;
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(e, path))?;
    f.write_all(&format::footer(count))
        .map_err(|e| Error::io(e, path))?;
    f.sync_all().map_err(|e| Error::io(e, path))?;
    // The file was being appended to when the process stopped. Even when it ends cleanly on
    // a record boundary, a power loss may have cut records the LSM already points at, so the
    // caller checks indexes against this end either way.
    Ok(Some(at as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_truncated_on_open_and_earlier_records_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobStorage::open(dir.path(), 1 << 20).unwrap();
        let recs = vec![
            format::encode_record("default", b"a", &[1; 100]),
            format::encode_record("default", b"b", &[2; 100]),
        ];
        let idx = s.append(&recs, true).unwrap();
        let path = s.file(idx[0].file).unwrap().path.clone();
        drop(s);
        // Tear the second record.
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let s = BlobStorage::open(dir.path(), 1 << 20).unwrap();
        let f = s.file(idx[0].file).unwrap();
        assert_eq!(f.read(idx[0], "default", b"a").unwrap(), vec![1; 100]);
        let err = f.read(idx[1], "default", b"b").unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }), "{err}");
        assert_eq!(
            f.scan_keys().unwrap().len(),
            1,
            "the torn record is gone and the file sealed"
        );
    }

    #[test]
    fn files_rotate_at_the_target_size() {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobStorage::open(dir.path(), 1000).unwrap();
        let a = s
            .append(&[format::encode_record("default", b"a", &[0; 2000])], false)
            .unwrap();
        let b = s
            .append(&[format::encode_record("default", b"b", &[0; 10])], false)
            .unwrap();
        assert_ne!(a[0].file, b[0].file);
        assert_eq!(
            s.file(a[0].file).unwrap().scan_keys().unwrap().len(),
            1,
            "the full file was sealed"
        );
    }
}

#[cfg(test)]
mod recovery_tests {
    use super::*;

    #[test]
    fn an_empty_file_being_created_at_a_crash_is_recovered_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OPEN_LOG), "+7\n").unwrap();
        std::fs::write(dir.path().join("000007.blob"), b"").unwrap();
        let (s, truncated) = BlobStorage::open_recording(dir.path(), 1 << 20, false).unwrap();
        assert_eq!(truncated, vec![(7, 0)]);
        assert!(s.file(7).unwrap().scan_keys().unwrap().is_empty());
    }

    #[test]
    fn a_sealed_file_damaged_below_its_header_does_not_stop_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000003.blob"), b"TTN").unwrap();
        let (s, truncated) = BlobStorage::open_recording(dir.path(), 1 << 20, false).unwrap();
        assert!(
            truncated.is_empty(),
            "a damaged sealed file is not treated as a crash"
        );
        let err = s
            .file(3)
            .unwrap()
            .read(
                BlobIndex {
                    file: 3,
                    offset: 12,
                    len: 30,
                },
                "default",
                b"k",
            )
            .unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }), "{err}");
    }
}
