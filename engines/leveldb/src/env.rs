//! The `Env` every rusty-leveldb handle of this engine runs on: the posix disk env plus the
//! fsync discipline, the failure tracking and the byte counter rusty-leveldb lacks.
//!
//! rusty-leveldb 4.0.2 never makes anything durable: its `Env` trait has no sync, and a
//! "synced" write or a finished table ends in `Write::flush`, which for a `std::fs::File` does
//! nothing. So the files this env hands out do the durable part themselves:
//! - `flush()` of a log, table or MANIFEST file is `fdatasync`, and the first one on a file
//!   also fsyncs its directory (strict POSIX: a new file's name is durable only then). A synced
//!   write, `sync()`, a finished table and every MANIFEST record end in exactly such a flush.
//! - `rename` (only CURRENT is renamed into place) fsyncs the new CURRENT's contents first and
//!   the directory after, so CURRENT never names a MANIFEST a power cut can take away, and is
//!   never empty.
//!
//! rusty-leveldb also swallows many failures: a table it cannot open or read looks like a
//! missing key, a compaction whose output failed still installs the deletion of its inputs
//! (see `tests/upstream.rs`). Every failure this env sees, and every compaction failure
//! rusty-leveldb reports only to its info log, is therefore recorded in [`Health`]: the first
//! one *poisons* the handle. From then on the env refuses every file mutation, so nothing
//! rusty-leveldb does after the failure reaches the disk (a half-installed compaction, the
//! tail of a failed batch), and the engine refuses every operation until it is reopened.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use engine_traits::Error;
use rusty_leveldb::env::{Env, FileLock, Logger, RandomAccess};
use rusty_leveldb::{PosixDiskEnv, Status, StatusCode};

use crate::error::fail_point;

/// The info log's file names (never synced, never counted, never failed on purpose).
const INFO_LOG: &str = "LOG";
const INFO_LOG_OLD: &str = "LOG.old";

/// What rusty-leveldb writes to its info log when a compaction failed: it goes on after
/// logging these (and, for the first, installs the broken result), so they poison the handle.
const COMPACTION_FAILURE_MARKERS: [&str; 5] = [
    "Compaction work failed",
    "compaction failed",
    "error while doing compaction",
    "trivial move failed",
    "not returned by cache",
];

/// The first failure a handle met.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// What was being done (`write`, `fsync`, `rename`, `read`, `compaction`, ...).
    pub(crate) op: String,
    /// The file it was done on.
    pub(crate) path: PathBuf,
    pub(crate) kind: io::ErrorKind,
    pub(crate) message: String,
}

impl Failure {
    /// The engine error for an operation refused because of this failure.
    pub(crate) fn to_error(&self, what: &str) -> Error {
        Error::Io {
            message: format!(
                "{what}: the engine met an I/O failure and refuses every operation until it is \
                 reopened; the failure: {} of {}: {}",
                self.op,
                self.path.display(),
                self.message
            ),
            path: Some(self.path.clone()),
            source: Some(io::Error::new(self.kind, self.message.clone())),
        }
    }
}

/// Shared by the env (which records) and the engine (which checks and counts).
#[derive(Debug, Default)]
pub(crate) struct Health {
    failure: Mutex<Option<Failure>>,
    /// Bytes handed to the log, table and MANIFEST files (and CURRENT) since open.
    bytes_written: AtomicU64,
    pins: Mutex<Pins>,
}

/// Tables that must outlive the compaction that made them obsolete.
///
/// A rusty-leveldb iterator opens the tables of levels 1 and up lazily, by file number, and
/// rusty-leveldb deletes a table as soon as the *current* version no longer lists it: an
/// iterator that outlives a compaction then finds its tables gone and silently skips them
/// (`tests/upstream.rs`). So while any iterator handed out by the engine lives, deleting a
/// table only records it; the last iterator to go deletes them. A crash leaves them behind,
/// and the next open deletes them as obsolete files.
#[derive(Debug, Default)]
struct Pins {
    iterators: usize,
    deferred: Vec<PathBuf>,
}

impl Health {
    /// The first failure, if any.
    pub(crate) fn failure(&self) -> Option<Failure> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, op: &str, path: &Path, kind: io::ErrorKind, message: String) {
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(Failure {
                op: op.to_owned(),
                path: path.to_path_buf(),
                kind,
                message,
            });
        }
    }

    fn record_io(&self, op: &str, path: &Path, e: &io::Error) {
        self.record(op, path, e.kind(), e.to_string());
    }

    /// Records a failure the env did not see (one of rusty-leveldb's own errors).
    pub(crate) fn poison(&self, op: &str, path: &Path, message: &str) {
        self.record(op, path, io::ErrorKind::Other, message.to_owned());
    }

    /// `Err` once a failure was recorded: file mutations stop there.
    fn refuse_if_failed(&self, op: &str, path: &Path) -> io::Result<()> {
        match self.failure() {
            None => Ok(()),
            Some(f) => Err(io::Error::other(format!(
                "{op} of {} refused: this handle is poisoned by an earlier failure ({} of {}: {})",
                path.display(),
                f.op,
                f.path.display(),
                f.message
            ))),
        }
    }

    /// An iterator is handed out: tables stay until it is released.
    pub(crate) fn pin(&self) {
        self.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iterators += 1;
    }

    /// An iterator is released; the last one deletes the tables deleted meanwhile.
    pub(crate) fn unpin(&self) {
        let deferred = {
            let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
            pins.iterators = pins.iterators.saturating_sub(1);
            if pins.iterators > 0 {
                return;
            }
            std::mem::take(&mut pins.deferred)
        };
        if self.failure().is_none() {
            for table in deferred {
                // Like rusty-leveldb's own deletes: a failure leaves a file the next open
                // deletes.
                let _ = fs::remove_file(table);
            }
        }
    }

    /// Whether the deletion of `p` must wait for the iterators; if so, it is recorded.
    fn defer_delete(&self, p: &Path) -> bool {
        if p.extension().is_none_or(|x| x != "ldb") {
            return false;
        }
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        if pins.iterators == 0 {
            return false;
        }
        pins.deferred.push(p.to_path_buf());
        true
    }

    /// Bytes written to the database's files since open.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.bytes_written.load(Ordering::Relaxed)
    }
}

/// Whether the env behaves as rusty-leveldb's own disk env, syncing nothing: a mutation
/// switch (`LEVELDB_MUTATION_NO_FSYNC=1`, builds with the `failpoints` feature only) that
/// shows what the power-loss suite finds without the fsyncs.
fn fsync_disabled() -> bool {
    #[cfg(feature = "failpoints")]
    {
        static DISABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DISABLED.get_or_init(|| std::env::var_os("LEVELDB_MUTATION_NO_FSYNC").is_some())
    }
    #[cfg(not(feature = "failpoints"))]
    false
}

fn is_info_log(p: &Path) -> bool {
    matches!(
        p.file_name().and_then(|n| n.to_str()),
        Some(INFO_LOG | INFO_LOG_OLD)
    )
}

/// fsyncs a directory, making the names created, renamed or removed in it durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn status(op: &str, path: &Path, e: &io::Error) -> Status {
    let code = match e.kind() {
        io::ErrorKind::NotFound => StatusCode::NotFound,
        io::ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
        io::ErrorKind::InvalidData => StatusCode::Corruption,
        _ => StatusCode::IOError,
    };
    Status::new(code, &format!("{op}: {e}: {}", path.display()))
}

/// The posix env with durable flushes and renames, failure tracking and a byte counter.
pub(crate) struct DurableEnv {
    disk: PosixDiskEnv,
    health: Arc<Health>,
}

impl DurableEnv {
    pub(crate) fn new(health: Arc<Health>) -> DurableEnv {
        DurableEnv {
            disk: PosixDiskEnv::new(),
            health,
        }
    }

    fn open_for_write(&self, p: &Path, append: bool) -> rusty_leveldb::Result<Box<dyn Write>> {
        let op = if append {
            "open (append)"
        } else {
            "open (write)"
        };
        if is_info_log(p) {
            return if append {
                self.disk.open_appendable_file(p)
            } else {
                self.disk.open_writable_file(p)
            };
        }
        self.health
            .refuse_if_failed(op, p)
            .map_err(|e| status(op, p, &e))?;
        let mut options = OpenOptions::new();
        options.create(true).write(true);
        if append {
            options.append(true);
        } else {
            options.truncate(true);
        }
        let file = options.open(p).map_err(|e| {
            self.health.record_io("open", p, &e);
            status(op, p, &e)
        })?;
        Ok(Box::new(DurableFile {
            file,
            path: p.to_path_buf(),
            // Even an existing file's name may not be durable yet (created by this handle):
            // the first flush syncs the directory either way.
            dir_entry_synced: false,
            health: self.health.clone(),
        }))
    }
}

impl Env for DurableEnv {
    fn open_sequential_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn Read>> {
        // Opening errors reach rusty-leveldb's caller (a missing CURRENT is how a new database
        // is recognised); read errors are recorded, because log recovery stops at the first
        // failed read as if the log ended there.
        let inner = self.disk.open_sequential_file(p)?;
        Ok(Box::new(CheckedRead {
            inner,
            path: p.to_path_buf(),
            health: self.health.clone(),
        }))
    }

    fn open_random_access_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn RandomAccess>> {
        // Tables: rusty-leveldb turns a table it cannot open into "key not found" (reads) or
        // skips it (compaction input), so a failure here is recorded.
        match File::open(p) {
            Ok(file) => Ok(Box::new(CheckedRandomAccess {
                file,
                path: p.to_path_buf(),
                health: self.health.clone(),
            })),
            Err(e) => {
                self.health.record_io("open (read)", p, &e);
                Err(status("open (randomaccess)", p, &e))
            }
        }
    }

    fn open_writable_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn Write>> {
        self.open_for_write(p, false)
    }

    fn open_appendable_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn Write>> {
        self.open_for_write(p, true)
    }

    fn exists(&self, p: &Path) -> rusty_leveldb::Result<bool> {
        self.disk.exists(p)
    }

    fn children(&self, p: &Path) -> rusty_leveldb::Result<Vec<PathBuf>> {
        self.disk.children(p)
    }

    fn size_of(&self, p: &Path) -> rusty_leveldb::Result<usize> {
        // Asked of files that must exist (a table about to be opened, one just written): a
        // table that is gone would otherwise read as missing keys.
        fs::metadata(p).map(|m| m.len() as usize).map_err(|e| {
            self.health.record_io("size_of", p, &e);
            status("size_of", p, &e)
        })
    }

    fn delete(&self, p: &Path) -> rusty_leveldb::Result<()> {
        // A poisoned handle deletes nothing: after a failed compaction rusty-leveldb would
        // delete inputs the on-disk MANIFEST still needs. Failed deletes are harmless (the
        // next open deletes obsolete files again) and not recorded.
        self.health
            .refuse_if_failed("delete", p)
            .map_err(|e| status("delete", p, &e))?;
        if self.health.defer_delete(p) {
            return Ok(());
        }
        self.disk.delete(p)
    }

    fn mkdir(&self, p: &Path) -> rusty_leveldb::Result<()> {
        self.disk.mkdir(p)
    }

    fn rmdir(&self, p: &Path) -> rusty_leveldb::Result<()> {
        self.health
            .refuse_if_failed("rmdir", p)
            .map_err(|e| status("rmdir", p, &e))?;
        self.disk.rmdir(p)
    }

    fn rename(&self, old: &Path, new: &Path) -> rusty_leveldb::Result<()> {
        if is_info_log(old) {
            return self.disk.rename(old, new);
        }
        self.health
            .refuse_if_failed("rename", old)
            .map_err(|e| status("rename", old, &e))?;
        // The file renamed into place (CURRENT's temporary) is written without a flush: make
        // its contents durable before its new name can be.
        if fsync_disabled() {
            return self.disk.rename(old, new);
        }
        let r = fail_point("leveldb::rename")
            .and_then(|()| File::open(old)?.sync_all())
            .and_then(|()| fs::rename(old, new))
            .and_then(|()| sync_dir(parent(new)));
        r.map_err(|e| {
            self.health.record_io("rename", old, &e);
            status("rename", old, &e)
        })
    }

    fn lock(&self, p: &Path) -> rusty_leveldb::Result<FileLock> {
        self.disk.lock(p)
    }

    fn unlock(&self, l: FileLock) -> rusty_leveldb::Result<()> {
        self.disk.unlock(l)
    }

    fn new_logger(&self, p: &Path) -> rusty_leveldb::Result<Logger> {
        self.disk.new_logger(p)
    }

    fn micros(&self) -> u64 {
        self.disk.micros()
    }

    fn sleep_for(&self, micros: u32) {
        self.disk.sleep_for(micros)
    }
}

/// A log, table, MANIFEST or CURRENT file being written.
struct DurableFile {
    file: File,
    path: PathBuf,
    dir_entry_synced: bool,
    health: Arc<Health>,
}

impl Write for DurableFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.health.refuse_if_failed("write", &self.path)?;
        // All or an error: rusty-leveldb's log writer adds up `write` results instead of
        // using `write_all`, so a short write would corrupt its record silently.
        if let Err(e) = self.file.write_all(buf) {
            self.health.record_io("write", &self.path, &e);
            return Err(e);
        }
        self.health
            .bytes_written
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.health.refuse_if_failed("fsync", &self.path)?;
        if fsync_disabled() {
            return Ok(());
        }
        let r = fail_point("leveldb::fsync").and_then(|()| self.file.sync_data());
        if let Err(e) = r {
            self.health.record_io("fsync", &self.path, &e);
            return Err(e);
        }
        if !self.dir_entry_synced {
            if let Err(e) = sync_dir(parent(&self.path)) {
                self.health.record_io("fsync (directory)", &self.path, &e);
                return Err(e);
            }
            self.dir_entry_synced = true;
        }
        Ok(())
    }
}

/// A file read front to back (CURRENT, MANIFEST, logs during recovery).
struct CheckedRead {
    inner: Box<dyn Read>,
    path: PathBuf,
    health: Arc<Health>,
}

impl Read for CheckedRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.health.record_io("read", &self.path, e);
        })
    }
}

/// A table file.
struct CheckedRandomAccess {
    file: File,
    path: PathBuf,
    health: Arc<Health>,
}

impl RandomAccess for CheckedRandomAccess {
    fn read_at(&self, off: usize, dst: &mut [u8]) -> rusty_leveldb::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, dst, off as u64).map_err(|e| {
            self.health.record_io("read", &self.path, &e);
            status("read", &self.path, &e)
        })
    }
}

/// The info log: rusty-leveldb's diagnostics, and the only place it reports some failures.
pub(crate) struct InfoLog {
    file: Option<File>,
    path: PathBuf,
    health: Arc<Health>,
}

impl InfoLog {
    /// Opens `dir/LOG` (the previous one becomes `LOG.old`); without a usable file the
    /// messages are still watched, and dropped.
    pub(crate) fn open(dir: &Path, health: Arc<Health>) -> InfoLog {
        let path = dir.join(INFO_LOG);
        if path.exists() {
            let _ = fs::rename(&path, dir.join(INFO_LOG_OLD));
        }
        InfoLog {
            file: File::create(&path).ok(),
            path,
            health,
        }
    }
}

impl Write for InfoLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        if let Some(marker) = COMPACTION_FAILURE_MARKERS
            .iter()
            .find(|m| text.contains(**m))
        {
            self.health.record(
                "compaction",
                &self.path,
                io::ErrorKind::Other,
                format!("rusty-leveldb reported \"{marker}\" (details in this info log)"),
            );
        }
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
