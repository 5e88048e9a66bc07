//! `powerloss`: a FUSE pass-through file system that forgets what was not made durable.
//!
//! # What it is for
//! A process kill keeps the page cache, so it never tests an engine's fsync discipline; a
//! power loss does. A crash harness mounts this file system over a backing directory, runs
//! any engine on the mount (C++ RocksDB included, unchanged: it only sees a directory), kills
//! the writer, and calls [`Mount::cut`]: the backing directory then holds what a machine would
//! find after the power came back, and the engine is reopened on it, directly or through a
//! fresh [`Mount`]. The idea is Jepsen's LazyFS; this is a separate implementation in Rust.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use powerloss::{CutMode, Mount};
//! let (backing, mnt) = (std::path::Path::new("/tmp/db"), std::path::Path::new("/tmp/mnt"));
//! let mount = Mount::new(backing, mnt)?;
//! // ... run the engine on `mount.mountpoint()`, then kill it ...
//! mount.freeze();
//! println!("{}", mount.cut(CutMode::TornWrite { seed: 7 })?);
//! mount.unmount()?;
//! // ... reopen the engine on `backing` and check what it recovers ...
//! # Ok(()) }
//! ```
//!
//! # What it is not for
//! - Not a file system to keep data on: the cut rewrites the backing directory.
//! - Not a model of any particular file system's crash behaviour (ext4, xfs, btrfs): it is
//!   the strict POSIX model below, which allows more outcomes than those do.
//! - Not for I/O errors, full disks or latency (libfiu and failpoints do those), and it does
//!   not know any engine.
//!
//! # The durability model
//! Strict POSIX, the model LazyFS and ALICE call "safe"; stricter than ext4's journal.
//! - **File data and size** become durable only on `fsync` or `fdatasync` of that file (both
//!   treated the same: data and size). `close`, `sync_file_range`, `msync` without `MS_SYNC`,
//!   `sync` and `syncfs` make nothing durable. `sync_file_range` never reaches a FUSE daemon
//!   (it only starts the kernel's own writeback of its page cache), so it cannot, even by
//!   accident; `sync`/`syncfs` would need `FUSE_SYNCFS`, which fuser does not implement.
//! - **A directory entry** (create, mknod, mkdir, symlink, unlink, rmdir, rename, link)
//!   becomes durable only on `fsync` of the directory holding it (FUSE `fsyncdir`). A rename
//!   becomes durable when its *destination* directory is fsynced, as one unit with its
//!   source-side removal (ext4 also journals a rename atomically); a rename not yet durable is
//!   taken back whole. A file whose data was fsynced but whose creating entry was not is gone
//!   after the cut; an unlinked file whose directory was not fsynced comes back, with its
//!   durable content.
//! - **Attributes** other than size (mode, owner, times) are applied and never taken back.
//! - What the backing directory holds at mount time is durable.
//!
//! How ext4 (`data=ordered`) differs: its journal commits metadata in order, and an fsync of
//! a file normally commits the whole running journal transaction, so the file's creation, earlier renames and
//! other namespace operations become durable with it, and data of a new file is written before
//! the metadata that points at it. Some bugs this model finds (a new file fsynced but its
//! directory never, a rename whose directory is never fsynced) would therefore not bite on
//! ext4 today, but they are bugs under POSIX and on other file systems, and after the next
//! change to ext4's journaling.
//!
//! # How it works
//! Pass-through with undo logs. Every operation is applied to the backing directory at once,
//! so reads are plain reads and memory stays small. Beside it:
//! - per file, the ordered list of unsynced writes, truncates and fallocates, each with the
//!   bytes it overwrote (appends need none) and the size before it; an fsync clears the list;
//! - per namespace operation, an undo record, tagged with the directory whose fsync makes it
//!   durable; unlink, rmdir and rename over an existing entry move the victim into a hidden
//!   graveyard directory inside the backing directory instead of deleting it, so it can come
//!   back. Victims whose removal is durable are deleted once the kernel forgets their inode.
//!
//! [`Mount::cut`] rolls the file lists back (wholly, up to a torn write, or page by page,
//! see [`CutMode`]), undoes the namespace records newest first, and wipes the graveyard.
//! Inode numbers are the backing files' own, stable across renames and remounts.
//!
//! The kernel must not hold anything back: the writeback cache is not enabled, so every
//! `write(2)` reaches the daemon before it returns, and attributes and entries are not cached
//! (timeouts of zero), so sizes and names are always current. Reads go through the page
//! cache (no direct I/O), so shared read-only `mmap`, as LMDB uses, works; writes through a
//! shared writable mapping reach the daemon when the kernel writes the pages back (on `msync`
//! with `MS_SYNC`, which also fsyncs, or at its leisure) and are logged then.
//!
//! # Operations
//! Supported: lookup, getattr/setattr (size, mode, owner, times), open/create (`O_EXCL`,
//! `O_TRUNC`, `O_APPEND` honoured; the kernel turns `O_APPEND` into end-of-file offsets),
//! read/write at any offset, fallocate (plain, `KEEP_SIZE`, `PUNCH_HOLE`, `ZERO_RANGE`; the
//! others, which shift data, get `EOPNOTSUPP`), fsync, fdatasync, flush, release,
//! opendir/readdir/releasedir, fsyncdir, mkdir, rmdir, mknod, symlink, readlink, unlink,
//! rename (`RENAME_NOREPLACE` and `RENAME_EXCHANGE`; any other flag `EINVAL`), link, statfs,
//! access.
//!
//! - `O_DIRECT` is accepted: the kernel sends such I/O straight to the daemon, bypassing its
//!   page cache, and the daemon writes it to the backing file without `O_DIRECT`. It makes
//!   nothing durable by itself, as on a drive with a volatile cache.
//! - `O_SYNC`/`O_DSYNC`: each write makes the *whole file* durable when it returns (the kernel
//!   follows such a write with an fsync of the file, which cannot be told apart from an
//!   explicit one). POSIX asks only for that write, so an engine relying on an `O_DSYNC`
//!   write to leave other unsynced writes of the same file behind is not tested.
//! - File locks (`fcntl`, OFD and `flock`) are kept by the kernel itself, as for a local file
//!   system: the daemon never sees them. That is right for processes on one machine.
//! - Not supported (the daemon answers `ENOSYS`; the kernel then answers `EOPNOTSUPP` or
//!   `ENOTTY` itself, or falls back): extended attributes, ioctl, `O_TMPFILE`, and
//!   copy_file_range (the fallback is read and write, which are logged).
//!
//! # Limits
//! - A "write" in the torn and reordered modes is one write request as the kernel sends it:
//!   the kernel splits a large or unaligned `write(2)` at page boundaries, so one system call
//!   may also tear at those boundaries, as it could on a disk.
//! - Pre-images of overwritten bytes are kept in memory until the next fsync of their file
//!   (appends cost nothing; an engine that rewrites a large file without fsync costs its size).
//! - The backing directory must be one file system (no mounts inside it) and must not be
//!   changed behind the mount's back while mounted; one mount per backing directory (an
//!   `flock` on it says so). Only one cut per mount.
//! - Requests are served by one thread, in order. Fine for correctness tests; a throughput
//!   benchmark through the mount measures the daemon, not the engine.
//! - If the process holding a [`Mount`] dies without unwinding (SIGKILL), the mount is left
//!   with no daemon (`ENOTCONN`); [`Mount::new`] on the same mountpoint detaches it first.
//!
//! # Why fuser
//! [`fuser`](https://crates.io/crates/fuser) (0.18) is the maintained Rust implementation of
//! the FUSE protocol. Built without its `libfuse` feature it is pure Rust: as root it mounts
//! `/dev/fuse` with mount(2) itself, otherwise it runs `fusermount3`, so neither building nor
//! running needs libfuse3-dev.
#![deny(missing_docs)]

mod cut;
mod fs;
mod mount;
mod rng;
mod state;
mod table;
mod undo;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub use cut::{CutMode, CutReport, PAGE};
pub use mount::{Mount, Stats};

/// Why FUSE cannot be used here (no /dev/fuse, no fusermount3, not permitted), or Ok.
///
/// Decided once per process, by a trial mount in a temporary directory.
pub fn available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

fn probe() -> Result<(), String> {
    let dev = Path::new("/dev/fuse");
    if !dev.exists() {
        return Err("no /dev/fuse (modprobe fuse; in a container, pass --device /dev/fuse)".into());
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dev)
        .map_err(|e| format!("cannot open /dev/fuse: {e}"))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let has_fusermount = ["fusermount3", "fusermount"]
        .iter()
        .any(|tool| Command::new(tool).arg("-V").output().is_ok());
    if !root && !has_fusermount {
        return Err("not root and no fusermount3 on PATH (apt-get install fuse3)".into());
    }
    let dir = std::env::temp_dir().join(format!("powerloss-probe-{}", std::process::id()));
    let (backing, mnt) = (dir.join("backing"), dir.join("mnt"));
    let made = std::fs::create_dir_all(&backing).and_then(|()| std::fs::create_dir_all(&mnt));
    let result = match made {
        Err(e) => Err(format!("cannot make {}: {e}", dir.display())),
        Ok(()) => match Mount::new(&backing, &mnt) {
            Err(e) => Err(format!("a trial FUSE mount failed: {e}")),
            Ok(mount) => {
                let seen = std::fs::read_dir(mount.mountpoint()).map(|d| d.count());
                let unmounted = mount.unmount();
                match (seen, unmounted) {
                    (Ok(0), Ok(())) => Ok(()),
                    (Ok(n), Ok(())) => Err(format!("a trial FUSE mount listed {n} entries, not 0")),
                    (Err(e), _) => Err(format!("a trial FUSE mount could not be listed: {e}")),
                    (_, Err(e)) => Err(format!("a trial FUSE mount did not unmount: {e}")),
                }
            }
        },
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}
