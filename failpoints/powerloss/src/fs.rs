//! The FUSE side: decodes each request, runs it on [`State`] under the lock, replies.
//!
//! Operations not listed here get fuser's default reply, `ENOSYS`: extended attributes (the
//! kernel then answers `EOPNOTSUPP` itself and stops asking), ioctl, poll, bmap, lseek (the
//! kernel's generic lseek serves `SEEK_SET`/`SEEK_CUR`/`SEEK_END`, and treats the whole file as
//! data for `SEEK_DATA`/`SEEK_HOLE`), copy_file_range (the kernel or libc falls back to read
//! and write, which are logged), and `O_TMPFILE` (`EOPNOTSUPP`). File locks are not
//! implemented on purpose: without the `POSIX_LOCKS`/`FLOCK_LOCKS` capabilities the kernel
//! keeps `fcntl` and `flock` locks itself, which is right for processes on one machine.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

use crate::state::{AttrChanges, Caller, State};

/// Attributes and entries are not cached: every stat and lookup reaches the daemon, so a size
/// or a name is never stale, including after a truncate the kernel did not see coming.
const TTL: Duration = Duration::ZERO;

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) fsyncs: AtomicU64,
    pub(crate) fsyncdirs: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
}

/// What the FUSE threads and the [`crate::Mount`] handle share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) frozen: AtomicBool,
    pub(crate) counters: Counters,
}

impl Shared {
    pub(crate) fn new(state: State) -> Shared {
        Shared {
            state: Mutex::new(state),
            frozen: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    /// The state, whatever a panicking request left behind (a panic is a bug, but the mount
    /// must still unmount and cut).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state for a request that only reads: refused once the cut rewrote the backing
    /// directory under the kernel's feet, or once the mount let go of it.
    fn reading(&self) -> Result<MutexGuard<'_, State>, Errno> {
        let state = self.lock();
        if state.cut_done || state.retired {
            Err(Errno::EIO)
        } else {
            Ok(state)
        }
    }

    /// The state for a request that changes something: refused after a freeze. Checked under
    /// the lock, so nothing slips in between a freeze and the cut that follows it.
    fn changing(&self) -> Result<MutexGuard<'_, State>, Errno> {
        let state = self.reading()?;
        if self.frozen.load(Ordering::SeqCst) {
            Err(Errno::EIO)
        } else {
            Ok(state)
        }
    }
}

pub(crate) struct PowerLossFs {
    pub(crate) shared: std::sync::Arc<Shared>,
}

fn caller(req: &Request) -> Caller {
    Caller {
        uid: req.uid(),
        gid: req.gid(),
    }
}

fn reply_entry(reply: ReplyEntry, result: Result<fuser::FileAttr, Errno>) {
    match result {
        Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
        Err(e) => reply.error(e),
    }
}

fn reply_empty(reply: ReplyEmpty, result: Result<(), Errno>) {
    match result {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

fn reply_attr(reply: ReplyAttr, result: Result<fuser::FileAttr, Errno>) {
    match result {
        Ok(attr) => reply.attr(&TTL, &attr),
        Err(e) => reply.error(e),
    }
}

impl Filesystem for PowerLossFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        reply_entry(
            reply,
            self.shared
                .reading()
                .and_then(|mut s| s.lookup(parent.0, name)),
        );
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.shared.lock().forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        reply_attr(
            reply,
            self.shared
                .reading()
                .and_then(|s| s.getattr(ino.0, fh.map(|f| f.0))),
        );
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let changes = AttrChanges {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
        };
        reply_attr(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.setattr(ino.0, fh.map(|f| f.0), changes)),
        );
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.shared.reading().and_then(|s| s.readlink(ino.0)) {
            Ok(target) => reply.data(&target),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        reply_entry(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.mknod(parent.0, name, mode, rdev, caller(req))),
        );
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply_entry(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.mkdir(parent.0, name, mode, caller(req))),
        );
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.unlink(parent.0, name)),
        );
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.rmdir(parent.0, name)),
        );
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        reply_entry(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.symlink(parent.0, link_name, target, caller(req))),
        );
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.rename(parent.0, name, newparent.0, newname, flags.bits())),
        );
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply_entry(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.link(ino.0, newparent.0, newname)),
        );
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let truncates = flags.0 & libc::O_TRUNC != 0;
        let state = if truncates {
            self.shared.changing()
        } else {
            self.shared.reading()
        };
        // No FOPEN_DIRECT_IO: the page cache must stay in play for mmap (LMDB maps its data
        // file). Without the writeback cache it is write-through, so every write still
        // reaches us before write(2) returns.
        match state.and_then(|mut s| s.open(ino.0, flags.0)) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self
            .shared
            .reading()
            .and_then(|s| s.read(fh.0, offset, size))
        {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self
            .shared
            .changing()
            .and_then(|mut s| s.write(fh.0, offset, data))
        {
            Ok(n) => {
                let c = &self.shared.counters;
                c.writes.fetch_add(1, Ordering::Relaxed);
                c.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
                reply.written(n as u32);
            }
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close(2) makes nothing durable.
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.shared.lock().release(fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let result = self.shared.changing().and_then(|mut s| s.fsync(ino.0));
        if result.is_ok() {
            self.shared.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        reply_empty(reply, result);
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.shared.reading().and_then(|mut s| s.opendir(ino.0)) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let state = match self.shared.reading() {
            Ok(s) => s,
            Err(e) => return reply.error(e),
        };
        match state.readdir(fh.0) {
            Ok(entries) => {
                for (i, e) in entries.iter().enumerate().skip(offset as usize) {
                    // The offset handed back is where the next call resumes.
                    if reply.add(INodeNo(e.ino), i as u64 + 1, e.kind, &e.name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.shared.lock().release(fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let result = self.shared.changing().and_then(|mut s| s.fsyncdir(ino.0));
        if result.is_ok() {
            self.shared
                .counters
                .fsyncdirs
                .fetch_add(1, Ordering::Relaxed);
        }
        reply_empty(reply, result);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.shared.reading().and_then(|s| s.statfs()) {
            Ok(st) => reply.statfs(
                st.f_blocks,
                st.f_bfree,
                st.f_bavail,
                st.f_files,
                st.f_ffree,
                st.f_bsize as u32,
                st.f_namemax as u32,
                st.f_frsize as u32,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn access(&self, _req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        reply_empty(
            reply,
            self.shared
                .reading()
                .and_then(|s| s.access(ino.0, mask.bits())),
        );
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self
            .shared
            .changing()
            .and_then(|mut s| s.create(parent.0, name, mode, flags, caller(req)))
        {
            Ok((attr, fh)) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            self.shared
                .changing()
                .and_then(|mut s| s.fallocate(fh.0, offset, length, mode)),
        );
    }
}
