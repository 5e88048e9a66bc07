//! Undo records: what it takes to take back a change that has not been made durable.
//!
//! Every change is applied to the backing directory at once (so reads are plain reads), and an
//! undo record is kept beside it until an fsync makes it durable. A cut replays the records
//! backwards.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

/// A directory entry as the inode table names it: the directory's inode and the name in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Link {
    pub(crate) parent: u64,
    pub(crate) name: OsString,
}

impl Link {
    pub(crate) fn new(parent: u64, name: impl Into<OsString>) -> Link {
        Link {
            parent,
            name: name.into(),
        }
    }
}

/// What kind of call made a [`Change`]; only writes can be torn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Write { offset: u64, len: u64 },
    Truncate,
    Fallocate,
}

/// One unsynced change to a file's bytes or size.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) kind: ChangeKind,
    /// The bytes whose content or existence this change altered (a hole a write leaves past
    /// the old end of file included), for the 4 KiB pages [`crate::CutMode::Reorder`] flips.
    pub(crate) dirty: Range<u64>,
    /// Where `pre_image` goes back.
    pub(crate) pre_image_at: u64,
    /// The bytes this change overwrote or cut off, as they were just before it. Bytes that did
    /// not exist before it (appends) need none: restoring the size removes them.
    pub(crate) pre_image: Vec<u8>,
    pub(crate) size_before: u64,
    pub(crate) size_after: u64,
}

impl Change {
    /// Puts the file back as it was just before this change.
    pub(crate) fn undo(&self, file: &File) -> io::Result<()> {
        if !self.pre_image.is_empty() {
            file.write_all_at(&self.pre_image, self.pre_image_at)?;
        }
        file.set_len(self.size_before)
    }

    /// Undoes a write from `boundary` on, keeping its bytes before `boundary`: a torn write.
    pub(crate) fn undo_from(&self, file: &File, boundary: u64) -> io::Result<()> {
        let ChangeKind::Write { offset, .. } = self.kind else {
            return self.undo(file);
        };
        let kept = (boundary - offset) as usize;
        if kept < self.pre_image.len() {
            file.write_all_at(&self.pre_image[kept..], boundary)?;
        }
        let size = if self.size_after > self.size_before {
            self.size_before.max(boundary)
        } else {
            self.size_before
        };
        file.set_len(size)
    }

    /// The number of bytes this change put in place (what dropping it loses).
    pub(crate) fn len(&self) -> u64 {
        self.dirty.end - self.dirty.start
    }
}

/// Writes `data` at `offset` and returns the undo record (None when nothing was written).
pub(crate) fn write_logged(
    file: &File,
    offset: u64,
    data: &[u8],
) -> io::Result<(usize, Option<Change>)> {
    let size_before = file.metadata()?.len();
    let pre_end = (offset + data.len() as u64).min(size_before);
    let mut pre_image = read_range(file, offset..pre_end)?;
    let mut written = 0;
    while written < data.len() {
        match file.write_at(&data[written..], offset + written as u64) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A short write is reported as such; the part that landed is logged below.
            Err(_) if written > 0 => break,
            Err(e) => return Err(e),
        }
    }
    if written == 0 {
        return Ok((0, None));
    }
    let end = offset + written as u64;
    pre_image.truncate(end.min(size_before).saturating_sub(offset) as usize);
    let change = Change {
        kind: ChangeKind::Write {
            offset,
            len: written as u64,
        },
        dirty: offset.min(size_before)..end,
        pre_image_at: offset,
        pre_image,
        size_before,
        size_after: size_before.max(end),
    };
    Ok((written, Some(change)))
}

/// Sets the file's size and returns the undo record (None when the size did not change).
pub(crate) fn truncate_logged(file: &File, size: u64) -> io::Result<Option<Change>> {
    let size_before = file.metadata()?.len();
    if size == size_before {
        return Ok(None);
    }
    let pre_image = read_range(file, size..size_before)?;
    file.set_len(size)?;
    Ok(Some(Change {
        kind: ChangeKind::Truncate,
        dirty: size.min(size_before)..size.max(size_before),
        pre_image_at: size,
        pre_image,
        size_before,
        size_after: size,
    }))
}

/// The fallocate modes a cut knows how to take back. `COLLAPSE_RANGE` and `INSERT_RANGE`
/// shift the rest of the file and `UNSHARE_RANGE` only concerns extents shared between files;
/// they are refused with `EOPNOTSUPP`, which engines treat as "not supported here".
const FALLOCATE_MODES: i32 =
    libc::FALLOC_FL_KEEP_SIZE | libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE;

/// Runs fallocate(2) and returns the undo record (None when nothing visible changed, as for a
/// `KEEP_SIZE` preallocation: blocks past the end of file hold no bytes a reader can see).
pub(crate) fn fallocate_logged(
    file: &File,
    mode: i32,
    offset: u64,
    len: u64,
) -> io::Result<Option<Change>> {
    if mode & !FALLOCATE_MODES != 0 {
        return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    }
    let end = offset
        .checked_add(len)
        .filter(|&e| i64::try_from(e).is_ok())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EFBIG))?;
    let size_before = file.metadata()?.len();
    let rewrites = mode & (libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE) != 0;
    let size_after = if mode & libc::FALLOC_FL_KEEP_SIZE != 0 {
        size_before
    } else {
        size_before.max(end)
    };
    let rewritten = if rewrites {
        offset..end.min(size_before)
    } else {
        offset..offset
    };
    let pre_image = read_range(file, rewritten.clone())?;
    // SAFETY: fallocate(2) on a descriptor we own; it reads no memory of ours.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), mode, offset as i64, len as i64) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let grown = size_before..size_after;
    let dirty = match (rewritten.is_empty(), grown.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => rewritten.clone(),
        (true, false) => grown,
        (false, false) => rewritten.start.min(grown.start)..rewritten.end.max(grown.end),
    };
    Ok(Some(Change {
        kind: ChangeKind::Fallocate,
        dirty,
        pre_image_at: rewritten.start,
        pre_image,
        size_before,
        size_after,
    }))
}

/// Reads `range` exactly (empty ranges read nothing).
pub(crate) fn read_range(file: &File, range: Range<u64>) -> io::Result<Vec<u8>> {
    if range.start >= range.end {
        return Ok(Vec::new());
    }
    let mut buf = vec![0; (range.end - range.start) as usize];
    file.read_exact_at(&mut buf, range.start)?;
    Ok(buf)
}

/// One unsynced change to a directory entry, with what it takes to undo it.
#[derive(Clone, Debug)]
pub(crate) enum EntryChange {
    /// create, mknod, mkdir, symlink, link: undone by moving the entry to the graveyard.
    Created { at: Link, ino: u64 },
    /// unlink, rmdir: the victim waits in the graveyard under `grave` until this is durable.
    Removed { at: Link, ino: u64, grave: OsString },
    /// rename, possibly over a victim that waits in the graveyard.
    Renamed {
        from: Link,
        to: Link,
        ino: u64,
        victim: Option<(u64, OsString)>,
    },
    /// rename with `RENAME_EXCHANGE`: undone by exchanging again.
    Exchanged {
        a: Link,
        a_ino: u64,
        b: Link,
        b_ino: u64,
    },
}

impl EntryChange {
    /// Graveyard names this record keeps alive, with their inodes: once the record is durable,
    /// nothing can bring them back and they may be deleted.
    pub(crate) fn graves(&self) -> Vec<(u64, OsString)> {
        match self {
            EntryChange::Removed { ino, grave, .. } => vec![(*ino, grave.clone())],
            EntryChange::Renamed {
                victim: Some(victim),
                ..
            } => vec![victim.clone()],
            _ => Vec::new(),
        }
    }
}

/// An [`EntryChange`] with the directory whose fsync makes it durable.
#[derive(Clone, Debug)]
pub(crate) struct EntryRecord {
    pub(crate) durable_with: u64,
    pub(crate) change: EntryChange,
}
