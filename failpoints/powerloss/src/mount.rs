//! The handle a crash harness holds: mount, freeze, cut, unmount.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fuser::{BackgroundSession, Config, MountOption, SessionACL};

use crate::cut::{CutMode, CutReport};
use crate::fs::{PowerLossFs, Shared};
use crate::state::{State, at_path};
use crate::table::{GRAVEYARD_NAME, Table};

/// Counters since mount, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// fsync and fdatasync calls on files that succeeded.
    pub fsyncs: u64,
    /// fsync calls on directories that succeeded.
    pub fsyncdirs: u64,
    /// Write requests that reached the daemon (the kernel may split a large write).
    pub writes: u64,
    /// Bytes those writes wrote.
    pub bytes_written: u64,
}

/// A mounted power-loss file system. Dropping it unmounts it.
pub struct Mount {
    shared: Arc<Shared>,
    mountpoint: PathBuf,
    graveyard: PathBuf,
    session: Option<BackgroundSession>,
    /// Held (flock) while mounted; see [`Mount::new`].
    _backing_lock: fs::File,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("mountpoint", &self.mountpoint)
            .field("graveyard", &self.graveyard)
            .field("mounted", &self.session.is_some())
            .finish()
    }
}

fn invalid(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: {why}", path.display()),
    )
}

impl Mount {
    /// Mounts a fresh power-loss file system at `mountpoint` (an empty dir) over `backing` (an
    /// existing dir, whose current contents are taken as durable). Serves on background
    /// threads.
    pub fn new(backing: &Path, mountpoint: &Path) -> io::Result<Mount> {
        let backing = backing.canonicalize().map_err(|e| at_path(backing, e))?;
        if let Err(e) = fs::metadata(mountpoint)
            && e.raw_os_error() == Some(libc::ENOTCONN)
        {
            // A FUSE mount whose daemon died: an earlier harness was killed before it could
            // unmount. Detach it and use the directory beneath.
            unmount(mountpoint)?;
        }
        let mountpoint = mountpoint
            .canonicalize()
            .map_err(|e| at_path(mountpoint, e))?;
        let root = fs::metadata(&backing).map_err(|e| at_path(&backing, e))?;
        if !root.is_dir() {
            return Err(invalid(
                &backing,
                "the backing directory is not a directory",
            ));
        }
        if !fs::metadata(&mountpoint)
            .map_err(|e| at_path(&mountpoint, e))?
            .is_dir()
        {
            return Err(invalid(&mountpoint, "the mountpoint is not a directory"));
        }
        if fs::read_dir(&mountpoint)
            .map_err(|e| at_path(&mountpoint, e))?
            .next()
            .is_some()
        {
            return Err(invalid(&mountpoint, "the mountpoint is not empty"));
        }
        if mountpoint.starts_with(&backing) || backing.starts_with(&mountpoint) {
            return Err(invalid(
                &mountpoint,
                &format!(
                    "the mountpoint and the backing directory {} nest; the file system would \
                     serve itself",
                    backing.display()
                ),
            ));
        }
        // One mount per backing directory: a second would wipe the first one's graveyard. The
        // kernel drops the lock when the holder dies, however it dies.
        let backing_lock = fs::File::open(&backing).map_err(|e| at_path(&backing, e))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(backing_lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "{}: another powerloss mount serves this backing directory",
                    backing.display()
                ),
            ));
        }
        // A graveyard left by an earlier mount that was never cut nor unmounted holds only
        // entries that mount had removed: the backing directory as it stands is the truth.
        let graveyard = backing.join(GRAVEYARD_NAME);
        match fs::remove_dir_all(&graveyard) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(at_path(&graveyard, e)),
            _ => {}
        }
        fs::create_dir(&graveyard).map_err(|e| at_path(&graveyard, e))?;

        let table = Table::new(backing.clone(), root.ino());
        let shared = Arc::new(Shared::new(State::new(table)));
        let fs = PowerLossFs {
            shared: Arc::clone(&shared),
        };
        let mut config = Config::default();
        config.mount_options = vec![
            // Not the backing path: mount options are comma-separated and paths may hold commas.
            MountOption::FSName("powerloss".into()),
            MountOption::Subtype("powerloss".into()),
            // The kernel checks permissions from the modes we report; the daemon runs as the
            // mounting user and would otherwise let everyone do everything.
            MountOption::DefaultPermissions,
        ];
        // Root may let other users in (an engine run under another uid); anyone else would
        // need `user_allow_other` in /etc/fuse.conf.
        config.acl = if is_root() {
            SessionACL::All
        } else {
            SessionACL::Owner
        };
        // One thread: requests are serialised by the state lock anyway, and their order is the
        // order of the undo records.
        config.n_threads = Some(1);
        let session = fuser::spawn_mount(fs, &mountpoint, &config).map_err(|e| {
            let _ = fs::remove_dir_all(&graveyard);
            io::Error::new(
                e.kind(),
                format!(
                    "mounting powerloss at {} over {}: {e}",
                    mountpoint.display(),
                    backing.display()
                ),
            )
        })?;
        Ok(Mount {
            shared,
            mountpoint,
            graveyard,
            session: Some(session),
            _backing_lock: backing_lock,
        })
    }

    /// Freezes the file system: from now on every operation that would change anything fails
    /// with EIO (reads may still work), so nothing can become durable after the cut.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
    }

    /// After the writer is dead: makes the backing directory hold exactly what a machine would
    /// find after the power came back, under `mode`. Freezes first. A second call is an error.
    ///
    /// After it, every request that reaches the daemon fails with EIO, but pages the kernel
    /// still caches may be read without asking: unmount, then read the backing directory or a
    /// fresh mount over it.
    pub fn cut(&self, mode: CutMode) -> io::Result<CutReport> {
        self.freeze();
        self.shared.lock().cut(mode)
    }

    /// Unmounts (waits for the session to end; lazy unmount as a fallback when the mount is
    /// busy) and removes the graveyard from the backing dir. Without a cut before it, this is
    /// a clean shutdown: everything written stays.
    pub fn unmount(mut self) -> io::Result<()> {
        self.shut_down()
    }

    /// Where the file system is mounted (canonical).
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Counters since mount: fsyncs, fsyncdirs, writes, bytes written (for reports).
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            fsyncdirs: c.fsyncdirs.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
        }
    }

    fn shut_down(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        self.shared.lock().retired = true;
        let lazy = unmount(&self.mountpoint)?;
        // A plain unmount ends the session at once; a lazy one only when the last user of the
        // mount lets go, which may be never, so the wait is bounded and the thread left behind.
        let deadline = Instant::now()
            + if lazy {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(10)
            };
        while !session.guard.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if session.guard.is_finished() {
            // The session's own error (if any) says nothing about the backing directory.
            let _ = session.join();
        }
        match fs::remove_dir_all(&self.graveyard) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(at_path(&self.graveyard, e)),
            _ => Ok(()),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            eprintln!("powerloss: unmounting {}: {e}", self.mountpoint.display());
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Unmounts `mountpoint`; returns whether it had to be lazy (the mount was busy).
fn unmount(mountpoint: &Path) -> io::Result<bool> {
    let c = CString::new(mountpoint.as_os_str().as_bytes())
        .map_err(|_| invalid(mountpoint, "the path holds a NUL byte"))?;
    if !is_root() {
        return unmount_with_fusermount(mountpoint);
    }
    for (flags, lazy) in [(0, false), (libc::MNT_DETACH, true)] {
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::umount2(c.as_ptr(), flags) } == 0 {
            return Ok(lazy);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EBUSY) if !lazy => continue,
            // Not mounted any more (someone ran umount): nothing left to do.
            Some(libc::EINVAL) => return Ok(lazy),
            _ => return Err(at_path(mountpoint, e)),
        }
    }
    Ok(true)
}

fn unmount_with_fusermount(mountpoint: &Path) -> io::Result<bool> {
    for (args, lazy) in [(&["-u", "-q"][..], false), (&["-u", "-q", "-z"][..], true)] {
        for tool in ["fusermount3", "fusermount"] {
            if let Ok(out) = Command::new(tool).args(args).arg(mountpoint).output()
                && out.status.success()
            {
                return Ok(lazy);
            }
        }
    }
    Err(invalid(mountpoint, "fusermount3 -u failed, even lazily"))
}
