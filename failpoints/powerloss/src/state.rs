//! The file system's state and operations: pass-through to the backing directory, with an undo
//! record kept for everything not yet durable. Every method runs under the one state lock, so
//! records are in the order the operations took effect.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirEntryExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{Errno, FileAttr, FileType, INodeNo, TimeOrNow};

use crate::table::{GRAVEYARD, GRAVEYARD_NAME, Kind, ROOT, Table};
use crate::undo::{self, EntryChange, EntryRecord, Link};

pub(crate) struct DirEntry {
    pub(crate) ino: u64,
    pub(crate) kind: FileType,
    pub(crate) name: OsString,
}

enum Handle {
    File {
        ino: u64,
        file: Arc<File>,
        writable: bool,
        /// Opened with `O_SYNC`/`O_DSYNC`: each write is durable when it returns.
        sync: bool,
    },
    /// A directory listing taken at opendir, so offsets stay valid while entries change.
    Dir { ino: u64, entries: Vec<DirEntry> },
}

/// Attribute changes a setattr asks for (ctime and BSD flags are not settable here).
pub(crate) struct AttrChanges {
    pub(crate) mode: Option<u32>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) size: Option<u64>,
    pub(crate) atime: Option<TimeOrNow>,
    pub(crate) mtime: Option<TimeOrNow>,
}

/// Who asked, so new entries belong to the caller rather than to the daemon.
#[derive(Clone, Copy)]
pub(crate) struct Caller {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

pub(crate) struct State {
    pub(crate) table: Table,
    /// Unsynced directory-entry changes, oldest first.
    pub(crate) entries: Vec<EntryRecord>,
    handles: HashMap<u64, Handle>,
    next_fh: u64,
    next_grave: u64,
    /// Graveyard names whose removal is durable, by inode, waiting for the kernel to forget
    /// the inode before they are deleted (deleting earlier could let the backing file system
    /// hand the inode number to a new file while the kernel still holds the old one).
    reapable: HashMap<u64, Vec<OsString>>,
    pub(crate) cut_done: bool,
    /// Set when the [`crate::Mount`] lets go (unmount or drop): a daemon a lazy unmount left
    /// running must not touch a backing directory that a new mount may already serve.
    pub(crate) retired: bool,
    daemon_uid: u32,
}

type Res<T> = Result<T, Errno>;

fn errno(e: io::Error) -> Errno {
    Errno::from(e)
}

fn lstat(path: &Path) -> Res<Metadata> {
    fs::symlink_metadata(path).map_err(errno)
}

/// `Ok(None)` when nothing is there.
fn lstat_opt(path: &Path) -> io::Result<Option<Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(md) => Ok(Some(md)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub(crate) fn renameat2(from: &Path, to: &Path, flags: u32) -> io::Result<()> {
    let (from, to) = (cstring(from)?, cstring(to)?);
    // SAFETY: both strings are NUL-terminated and outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn system_time(secs: i64, nsecs: i64) -> SystemTime {
    let nsecs = nsecs.clamp(0, 999_999_999) as u32;
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs)
    } else {
        UNIX_EPOCH - Duration::new(secs.unsigned_abs(), 0) + Duration::new(0, nsecs)
    }
}

fn timespec(t: Option<TimeOrNow>) -> libc::timespec {
    let (tv_sec, tv_nsec) = match t {
        None => (0, libc::UTIME_OMIT),
        Some(TimeOrNow::Now) => (0, libc::UTIME_NOW),
        Some(TimeOrNow::SpecificTime(t)) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as libc::time_t, i64::from(d.subsec_nanos())),
            Err(before) => (-(before.duration().as_secs() as libc::time_t), 0),
        },
    };
    libc::timespec { tv_sec, tv_nsec }
}

/// The name the graveyard hides behind, which nobody may create, see or remove.
fn hidden(parent: u64, name: &OsStr) -> bool {
    parent == ROOT && name == GRAVEYARD_NAME
}

impl State {
    pub(crate) fn new(table: Table) -> State {
        State {
            table,
            entries: Vec::new(),
            handles: HashMap::new(),
            next_fh: 1,
            next_grave: 0,
            reapable: HashMap::new(),
            cut_done: false,
            retired: false,
            // SAFETY: geteuid has no preconditions and cannot fail.
            daemon_uid: unsafe { libc::geteuid() },
        }
    }

    fn path(&self, ino: u64) -> Res<PathBuf> {
        self.table.path(ino).ok_or(Errno::ESTALE)
    }

    fn link_path(&self, link: &Link) -> Res<PathBuf> {
        self.table.link_path(link).ok_or(Errno::ESTALE)
    }

    pub(crate) fn attr(&self, ino: u64, md: &Metadata) -> FileAttr {
        let in_graveyard = self
            .table
            .nodes
            .get(&ino)
            .map_or(0, |n| n.graveyard_links());
        FileAttr {
            ino: INodeNo(ino),
            size: md.size(),
            blocks: md.blocks(),
            atime: system_time(md.atime(), md.atime_nsec()),
            mtime: system_time(md.mtime(), md.mtime_nsec()),
            ctime: system_time(md.ctime(), md.ctime_nsec()),
            crtime: UNIX_EPOCH,
            kind: FileType::from_std(md.file_type()).unwrap_or(FileType::RegularFile),
            perm: (md.mode() & 0o7777) as u16,
            // Names waiting in the graveyard are gone as far as the mount is concerned.
            nlink: (md.nlink() as u32).saturating_sub(in_graveyard),
            uid: md.uid(),
            gid: md.gid(),
            rdev: md.rdev() as u32,
            blksize: md.blksize() as u32,
            flags: 0,
        }
    }

    /// Stats an entry, learns it and counts the lookup the reply hands to the kernel.
    fn entry_attr(&mut self, link: Link) -> Res<FileAttr> {
        let md = lstat(&self.link_path(&link)?)?;
        let ino = self.table.ino_of(md.ino());
        self.table.learn(ino, Kind::of(&md), link).lookups += 1;
        Ok(self.attr(ino, &md))
    }

    fn record(&mut self, durable_with: u64, change: EntryChange) {
        self.entries.push(EntryRecord {
            durable_with,
            change,
        });
    }

    fn new_handle(&mut self, handle: Handle) -> u64 {
        let fh = self.next_fh;
        self.next_fh += 1;
        self.handles.insert(fh, handle);
        fh
    }

    /// New entries belong to the caller, as on a local file system.
    fn give_to(&self, path: &Path, caller: Caller) -> Res<()> {
        if caller.uid != self.daemon_uid {
            std::os::unix::fs::lchown(path, Some(caller.uid), Some(caller.gid)).map_err(errno)?;
        }
        Ok(())
    }

    /// Moves the entry at `path` into the graveyard and returns its name there.
    fn bury(&mut self, path: &Path) -> io::Result<OsString> {
        let name = OsString::from(format!("g{}", self.next_grave));
        self.next_grave += 1;
        fs::rename(path, self.table.graveyard().join(&name))?;
        Ok(name)
    }

    // ---- lookups and attributes ----

    pub(crate) fn lookup(&mut self, parent: u64, name: &OsStr) -> Res<FileAttr> {
        if hidden(parent, name) {
            return Err(Errno::ENOENT);
        }
        self.entry_attr(Link::new(parent, name))
    }

    pub(crate) fn forget(&mut self, ino: u64, nlookup: u64) {
        if let Some(node) = self.table.nodes.get_mut(&ino) {
            node.lookups = node.lookups.saturating_sub(nlookup);
            self.try_reap(ino);
        }
    }

    pub(crate) fn getattr(&self, ino: u64, fh: Option<u64>) -> Res<FileAttr> {
        let md = match fh.and_then(|fh| self.handles.get(&fh)) {
            Some(Handle::File { file, .. }) => file.metadata().map_err(errno)?,
            _ => lstat(&self.path(ino)?)?,
        };
        Ok(self.attr(ino, &md))
    }

    pub(crate) fn setattr(
        &mut self,
        ino: u64,
        fh: Option<u64>,
        changes: AttrChanges,
    ) -> Res<FileAttr> {
        let path = self.path(ino)?;
        if let Some(size) = changes.size {
            let file = match fh.and_then(|fh| self.handles.get(&fh)) {
                Some(Handle::File {
                    file,
                    writable: true,
                    ..
                }) => Arc::clone(file),
                _ => Arc::new(
                    OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(errno)?,
                ),
            };
            if let Some(change) = undo::truncate_logged(&file, size).map_err(errno)?
                && let Some(node) = self.table.nodes.get_mut(&ino)
            {
                node.changes.push(change);
            }
        }
        let md = lstat(&path)?;
        // chmod on a symlink would follow it; Linux symlinks have no mode of their own.
        if let Some(mode) = changes.mode
            && !md.file_type().is_symlink()
        {
            fs::set_permissions(&path, Permissions::from_mode(mode & 0o7777)).map_err(errno)?;
        }
        if changes.uid.is_some() || changes.gid.is_some() {
            std::os::unix::fs::lchown(&path, changes.uid, changes.gid).map_err(errno)?;
        }
        if changes.atime.is_some() || changes.mtime.is_some() {
            let times = [timespec(changes.atime), timespec(changes.mtime)];
            let c = cstring(&path).map_err(errno)?;
            // SAFETY: a NUL-terminated path and a two-element timespec array, as utimensat wants.
            let rc = unsafe {
                libc::utimensat(
                    libc::AT_FDCWD,
                    c.as_ptr(),
                    times.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            };
            if rc != 0 {
                return Err(errno(io::Error::last_os_error()));
            }
        }
        self.getattr(ino, fh)
    }

    pub(crate) fn readlink(&self, ino: u64) -> Res<Vec<u8>> {
        let target = fs::read_link(self.path(ino)?).map_err(errno)?;
        Ok(target.into_os_string().into_vec())
    }

    pub(crate) fn access(&self, ino: u64, mask: i32) -> Res<()> {
        let c = cstring(&self.path(ino)?).map_err(errno)?;
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::access(c.as_ptr(), mask) } == 0 {
            Ok(())
        } else {
            Err(errno(io::Error::last_os_error()))
        }
    }

    pub(crate) fn statfs(&self) -> Res<libc::statvfs> {
        let c = cstring(&self.table.backing).map_err(errno)?;
        // SAFETY: statvfs fills the zeroed struct we pass; the path is NUL-terminated.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0 {
            Ok(st)
        } else {
            Err(errno(io::Error::last_os_error()))
        }
    }

    // ---- creating entries ----

    pub(crate) fn create(
        &mut self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
        caller: Caller,
    ) -> Res<(FileAttr, u64)> {
        if hidden(parent, name) {
            return Err(Errno::EPERM);
        }
        let at = Link::new(parent, name);
        let path = self.link_path(&at)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .open(&path)
            .map_err(errno)?;
        // The kernel already applied the caller's umask; the daemon's must not apply again.
        file.set_permissions(Permissions::from_mode(mode & 0o7777))
            .map_err(errno)?;
        self.give_to(&path, caller)?;
        let md = file.metadata().map_err(errno)?;
        let ino = self.table.ino_of(md.ino());
        self.record(
            parent,
            EntryChange::Created {
                at: at.clone(),
                ino,
            },
        );
        let node = self.table.learn(ino, Kind::File, at);
        node.lookups += 1;
        node.open += 1;
        let fh = self.new_handle(Handle::File {
            ino,
            file: Arc::new(file),
            writable: flags & libc::O_ACCMODE != libc::O_RDONLY,
            sync: flags & (libc::O_SYNC | libc::O_DSYNC) != 0,
        });
        Ok((self.attr(ino, &md), fh))
    }

    pub(crate) fn mknod(
        &mut self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        rdev: u32,
        caller: Caller,
    ) -> Res<FileAttr> {
        if hidden(parent, name) {
            return Err(Errno::EPERM);
        }
        let at = Link::new(parent, name);
        let path = self.link_path(&at)?;
        let c = cstring(&path).map_err(errno)?;
        // SAFETY: a NUL-terminated path; mknod reads nothing else of ours.
        if unsafe { libc::mknod(c.as_ptr(), mode, libc::dev_t::from(rdev)) } != 0 {
            return Err(errno(io::Error::last_os_error()));
        }
        fs::set_permissions(&path, Permissions::from_mode(mode & 0o7777)).map_err(errno)?;
        self.created(parent, at, &path, caller)
    }

    pub(crate) fn mkdir(
        &mut self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        caller: Caller,
    ) -> Res<FileAttr> {
        if hidden(parent, name) {
            return Err(Errno::EPERM);
        }
        let at = Link::new(parent, name);
        let path = self.link_path(&at)?;
        fs::create_dir(&path).map_err(errno)?;
        fs::set_permissions(&path, Permissions::from_mode(mode & 0o7777)).map_err(errno)?;
        self.created(parent, at, &path, caller)
    }

    pub(crate) fn symlink(
        &mut self,
        parent: u64,
        name: &OsStr,
        target: &Path,
        caller: Caller,
    ) -> Res<FileAttr> {
        if hidden(parent, name) {
            return Err(Errno::EPERM);
        }
        let at = Link::new(parent, name);
        let path = self.link_path(&at)?;
        std::os::unix::fs::symlink(target, &path).map_err(errno)?;
        self.created(parent, at, &path, caller)
    }

    /// Records a new entry (created by the caller at `path`) and replies with it.
    fn created(&mut self, parent: u64, at: Link, path: &Path, caller: Caller) -> Res<FileAttr> {
        self.give_to(path, caller)?;
        let ino = self.table.ino_of(lstat(path)?.ino());
        self.record(
            parent,
            EntryChange::Created {
                at: at.clone(),
                ino,
            },
        );
        self.entry_attr(at)
    }

    pub(crate) fn link(&mut self, ino: u64, newparent: u64, newname: &OsStr) -> Res<FileAttr> {
        if hidden(newparent, newname) {
            return Err(Errno::EPERM);
        }
        let at = Link::new(newparent, newname);
        let from = self.path(ino)?;
        fs::hard_link(&from, self.link_path(&at)?).map_err(errno)?;
        self.record(
            newparent,
            EntryChange::Created {
                at: at.clone(),
                ino,
            },
        );
        self.entry_attr(at)
    }

    // ---- removing and renaming entries ----

    pub(crate) fn unlink(&mut self, parent: u64, name: &OsStr) -> Res<()> {
        self.remove(parent, name, false)
    }

    pub(crate) fn rmdir(&mut self, parent: u64, name: &OsStr) -> Res<()> {
        self.remove(parent, name, true)
    }

    fn remove(&mut self, parent: u64, name: &OsStr, dir: bool) -> Res<()> {
        if hidden(parent, name) {
            return Err(Errno::ENOENT);
        }
        let at = Link::new(parent, name);
        let path = self.link_path(&at)?;
        let md = lstat(&path)?;
        match (dir, md.is_dir()) {
            (false, true) => return Err(Errno::EISDIR),
            (true, false) => return Err(Errno::ENOTDIR),
            (true, true) if fs::read_dir(&path).map_err(errno)?.next().is_some() => {
                return Err(Errno::ENOTEMPTY);
            }
            _ => {}
        }
        let ino = self.table.ino_of(md.ino());
        let grave = self.bury(&path).map_err(errno)?;
        self.table.learn(ino, Kind::of(&md), at.clone());
        self.table
            .move_link(ino, &at, Link::new(GRAVEYARD, grave.clone()));
        self.record(parent, EntryChange::Removed { at, ino, grave });
        Ok(())
    }

    pub(crate) fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
    ) -> Res<()> {
        let known = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE;
        // RENAME_WHITEOUT (overlayfs) and anything newer: refused, as the kernel does for
        // file systems that do not support a flag.
        if flags & !known != 0 || flags == known {
            return Err(Errno::EINVAL);
        }
        if hidden(parent, name) {
            return Err(Errno::ENOENT);
        }
        if hidden(newparent, newname) {
            return Err(Errno::EPERM);
        }
        let from = Link::new(parent, name);
        let to = Link::new(newparent, newname);
        let from_path = self.link_path(&from)?;
        let to_path = self.link_path(&to)?;
        let src = lstat(&from_path)?;
        let ino = self.table.ino_of(src.ino());
        self.table.learn(ino, Kind::of(&src), from.clone());
        let dst = lstat_opt(&to_path).map_err(errno)?;

        if flags & libc::RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            let dst_ino = self.table.ino_of(dst.ino());
            self.table.learn(dst_ino, Kind::of(&dst), to.clone());
            renameat2(&from_path, &to_path, libc::RENAME_EXCHANGE).map_err(errno)?;
            if dst_ino != ino {
                self.table.move_link(ino, &from, to.clone());
                self.table.move_link(dst_ino, &to, from.clone());
            }
            self.record(
                newparent,
                EntryChange::Exchanged {
                    a: from,
                    a_ino: ino,
                    b: to,
                    b_ino: dst_ino,
                },
            );
            return Ok(());
        }

        let victim = match dst {
            None => {
                renameat2(&from_path, &to_path, flags).map_err(errno)?;
                None
            }
            Some(dst) => {
                if flags & libc::RENAME_NOREPLACE != 0 {
                    return Err(Errno::EEXIST);
                }
                let dst_ino = self.table.ino_of(dst.ino());
                if dst_ino == ino {
                    // Two names of one file: POSIX says rename does nothing and succeeds.
                    return Ok(());
                }
                // The victim leaves first, so these checks are the ones rename(2) would make.
                match (src.is_dir(), dst.is_dir()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    (true, true) if fs::read_dir(&to_path).map_err(errno)?.next().is_some() => {
                        return Err(Errno::ENOTEMPTY);
                    }
                    _ => {}
                }
                self.table.learn(dst_ino, Kind::of(&dst), to.clone());
                let grave = self.bury(&to_path).map_err(errno)?;
                if let Err(e) = fs::rename(&from_path, &to_path) {
                    // Put the victim back: the failed rename must change nothing.
                    let _ = fs::rename(self.table.graveyard().join(&grave), &to_path);
                    return Err(errno(e));
                }
                self.table
                    .move_link(dst_ino, &to, Link::new(GRAVEYARD, grave.clone()));
                Some((dst_ino, grave))
            }
        };
        self.table.move_link(ino, &from, to.clone());
        self.record(
            newparent,
            EntryChange::Renamed {
                from,
                to,
                ino,
                victim,
            },
        );
        Ok(())
    }

    // ---- file handles and data ----

    pub(crate) fn open(&mut self, ino: u64, flags: i32) -> Res<u64> {
        let path = self.path(ino)?;
        let writable = flags & libc::O_ACCMODE != libc::O_RDONLY;
        // Always readable, so overwrites can save what they overwrite. O_APPEND is left out:
        // the kernel already turns it into the end-of-file offset it sends, and an O_APPEND
        // descriptor would make pwrite ignore that offset. O_DIRECT is left out too: the I/O
        // reaches us through the kernel's direct path already, and our buffers are not aligned.
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(errno)?;
        let file = Arc::new(file);
        if writable && flags & libc::O_TRUNC != 0 {
            // Only with FUSE_ATOMIC_O_TRUNC (not negotiated) would the kernel send O_TRUNC
            // here instead of a setattr; handled anyway so a truncation is never unlogged.
            if let Some(change) = undo::truncate_logged(&file, 0).map_err(errno)?
                && let Some(node) = self.table.nodes.get_mut(&ino)
            {
                node.changes.push(change);
            }
        }
        if let Some(node) = self.table.nodes.get_mut(&ino) {
            node.open += 1;
        }
        Ok(self.new_handle(Handle::File {
            ino,
            file,
            writable,
            sync: flags & (libc::O_SYNC | libc::O_DSYNC) != 0,
        }))
    }

    fn file(&self, fh: u64) -> Res<(u64, Arc<File>, bool, bool)> {
        match self.handles.get(&fh) {
            Some(Handle::File {
                ino,
                file,
                writable,
                sync,
            }) => Ok((*ino, Arc::clone(file), *writable, *sync)),
            _ => Err(Errno::EBADF),
        }
    }

    pub(crate) fn read(&self, fh: u64, offset: u64, size: u32) -> Res<Vec<u8>> {
        let (_, file, _, _) = self.file(fh)?;
        let mut buf = vec![0; size as usize];
        let mut got = 0;
        while got < buf.len() {
            match file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(errno(e)),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    /// Returns the bytes written; the caller counts them.
    pub(crate) fn write(&mut self, fh: u64, offset: u64, data: &[u8]) -> Res<usize> {
        let (ino, file, writable, sync) = self.file(fh)?;
        if !writable {
            return Err(Errno::EBADF);
        }
        let (written, change) = undo::write_logged(&file, offset, data).map_err(errno)?;
        if let Some(node) = self.table.nodes.get_mut(&ino) {
            if sync {
                // The kernel follows an O_SYNC/O_DSYNC write with an fsync anyway; clearing
                // here keeps that true whatever the kernel does.
                node.changes.clear();
            } else if let Some(change) = change {
                node.changes.push(change);
            }
        }
        Ok(written)
    }

    pub(crate) fn fallocate(&mut self, fh: u64, offset: u64, len: u64, mode: i32) -> Res<()> {
        let (ino, file, writable, _) = self.file(fh)?;
        if !writable {
            return Err(Errno::EBADF);
        }
        if let Some(change) = undo::fallocate_logged(&file, mode, offset, len).map_err(errno)?
            && let Some(node) = self.table.nodes.get_mut(&ino)
        {
            node.changes.push(change);
        }
        Ok(())
    }

    /// fsync and fdatasync alike: the file's bytes and size are durable.
    pub(crate) fn fsync(&mut self, ino: u64) -> Res<()> {
        let node = self.table.nodes.get_mut(&ino).ok_or(Errno::ESTALE)?;
        node.changes.clear();
        Ok(())
    }

    pub(crate) fn release(&mut self, fh: u64) {
        let ino = match self.handles.remove(&fh) {
            Some(Handle::File { ino, .. } | Handle::Dir { ino, .. }) => ino,
            None => return,
        };
        if let Some(node) = self.table.nodes.get_mut(&ino) {
            node.open = node.open.saturating_sub(1);
            self.try_reap(ino);
        }
    }

    // ---- directories ----

    pub(crate) fn opendir(&mut self, ino: u64) -> Res<u64> {
        let path = self.path(ino)?;
        let parent = match self.table.nodes.get(&ino).and_then(|n| n.links.first()) {
            Some(link) if link.parent != GRAVEYARD => link.parent,
            _ => ROOT,
        };
        let mut entries = vec![
            DirEntry {
                ino,
                kind: FileType::Directory,
                name: ".".into(),
            },
            DirEntry {
                ino: parent,
                kind: FileType::Directory,
                name: "..".into(),
            },
        ];
        for entry in fs::read_dir(&path).map_err(errno)? {
            let entry = entry.map_err(errno)?;
            if hidden(ino, &entry.file_name()) {
                continue;
            }
            let kind = entry.file_type().map_err(errno)?;
            entries.push(DirEntry {
                ino: self.table.ino_of(entry.ino()),
                kind: FileType::from_std(kind).unwrap_or(FileType::RegularFile),
                name: entry.file_name(),
            });
        }
        if let Some(node) = self.table.nodes.get_mut(&ino) {
            node.open += 1;
        }
        Ok(self.new_handle(Handle::Dir { ino, entries }))
    }

    pub(crate) fn readdir(&self, fh: u64) -> Res<&[DirEntry]> {
        match self.handles.get(&fh) {
            Some(Handle::Dir { entries, .. }) => Ok(entries),
            _ => Err(Errno::EBADF),
        }
    }

    /// Every entry change in this directory is durable from now on.
    pub(crate) fn fsyncdir(&mut self, ino: u64) -> Res<()> {
        let (durable, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|r| r.durable_with == ino);
        self.entries = pending;
        for record in durable {
            for (ino, grave) in record.change.graves() {
                self.reapable.entry(ino).or_default().push(grave);
                self.try_reap(ino);
            }
        }
        Ok(())
    }

    /// Deletes the durable graveyard names of `ino` once the kernel no longer holds it.
    fn try_reap(&mut self, ino: u64) {
        if self.cut_done || self.retired {
            return;
        }
        let Some(node) = self.table.nodes.get(&ino) else {
            return;
        };
        if node.lookups > 0 || node.open > 0 || !self.reapable.contains_key(&ino) {
            return;
        }
        for grave in self.reapable.remove(&ino).unwrap_or_default() {
            let path = self.table.graveyard().join(&grave);
            // Best effort: whatever is left is wiped with the graveyard at cut or unmount.
            let _ = match lstat_opt(&path) {
                Ok(Some(md)) if md.is_dir() => fs::remove_dir_all(&path),
                Ok(Some(_)) => fs::remove_file(&path),
                _ => Ok(()),
            };
            self.table.forget_link(ino, &Link::new(GRAVEYARD, grave));
        }
        if self
            .table
            .nodes
            .get(&ino)
            .is_some_and(|n| n.links.is_empty())
        {
            self.table.nodes.remove(&ino);
        }
    }

    // ---- used by the cut ----

    /// The inode at an entry now, or None if nothing is there or its directory is gone.
    pub(crate) fn entry_ino(&self, link: &Link) -> io::Result<Option<u64>> {
        match self.table.link_path(link) {
            None => Ok(None),
            Some(path) => Ok(lstat_opt(&path)?.map(|md| self.table.ino_of(md.ino()))),
        }
    }

    /// Moves an entry (backing file and table alike).
    pub(crate) fn move_entry(&mut self, from: &Link, to: &Link, ino: u64) -> io::Result<()> {
        let (Some(from_path), Some(to_path)) =
            (self.table.link_path(from), self.table.link_path(to))
        else {
            return Err(io::Error::from_raw_os_error(libc::ESTALE));
        };
        fs::rename(&from_path, &to_path).map_err(|e| at_path(&from_path, e))?;
        self.table.move_link(ino, from, to.clone());
        Ok(())
    }

    /// Moves an entry into the graveyard (backing file and table alike).
    pub(crate) fn bury_entry(&mut self, at: &Link, ino: u64) -> io::Result<()> {
        let Some(path) = self.table.link_path(at) else {
            return Err(io::Error::from_raw_os_error(libc::ESTALE));
        };
        let grave = self.bury(&path).map_err(|e| at_path(&path, e))?;
        self.table.move_link(ino, at, Link::new(GRAVEYARD, grave));
        Ok(())
    }

    /// An entry for messages: its path relative to the backing root.
    pub(crate) fn shown(&self, link: &Link) -> String {
        match self.table.link_path(link) {
            Some(p) => self.table.shown(&p).display().to_string(),
            None => format!("{:?} in a directory that is gone", link.name),
        }
    }
}

/// An I/O error that names the path it happened on.
pub(crate) fn at_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
