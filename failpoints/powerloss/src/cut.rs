//! The cut: turning the backing directory into what a machine finds after the power returns.
//!
//! File contents go first, while every inode is still where the table says; then directory
//! entries, newest first, so each undo finds the names as they were just after its operation;
//! then the graveyard is wiped.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;

use crate::rng::SplitMix64;
use crate::state::{State, at_path, renameat2};
use crate::table::{GRAVEYARD, Kind};
use crate::undo::{Change, ChangeKind, EntryChange, Link, read_range};

/// The unit a disk writes atomically, or not at all, in the torn and reordered modes.
pub const PAGE: u64 = 4096;

/// What survives of the changes that were not made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutMode {
    /// Every non-durable byte and directory entry is dropped.
    DropUnsynced,
    /// Per file, the unsynced writes survive in order up to a seeded point; the write at that
    /// point survives only up to a 4 KiB boundary (a torn write); the rest is dropped.
    /// Directory entries: as [`CutMode::DropUnsynced`].
    ///
    /// Truncates and fallocates count as writes for the order but never tear; a write inside
    /// one page cannot tear either (it survives or not). The point may also fall after the
    /// last write: everything landed, only the fsync was missing.
    TornWrite {
        /// Replays the same cut for the same history.
        seed: u64,
    },
    /// Per file, each dirty 4 KiB page independently keeps its new content or reverts to its
    /// durable content (seeded): a disk that reorders writeback. Directory entries: as
    /// [`CutMode::DropUnsynced`].
    ///
    /// The file's size becomes the longest prefix in which every byte exists in the version
    /// its page took, so no byte is invented: when a file grew, it keeps the appended pages up
    /// to the first one that reverted; when it shrank, it keeps the durable bytes past the new
    /// end up to the first page that took the new (absent) version.
    Reorder {
        /// Replays the same cut for the same history.
        seed: u64,
    },
}

impl fmt::Display for CutMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CutMode::DropUnsynced => write!(f, "drop unsynced"),
            CutMode::TornWrite { seed } => write!(f, "torn write, seed {seed}"),
            CutMode::Reorder { seed } => write!(f, "reorder, seed {seed}"),
        }
    }
}

/// What a cut took back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutReport {
    /// The mode the cut ran in.
    pub mode: CutMode,
    /// Files that had unsynced changes to their bytes or size.
    pub files_rolled_back: usize,
    /// Unsynced writes, truncates and fallocates that did not survive (not counted in the
    /// reorder mode, which works on pages).
    pub changes_dropped: usize,
    /// Unsynced changes that survived whole (torn-write mode).
    pub changes_kept: usize,
    /// Writes cut at a 4 KiB boundary (torn-write mode).
    pub writes_torn: usize,
    /// Dirty pages that went back to their durable content (reorder mode).
    pub pages_reverted: usize,
    /// Dirty pages that kept their new content (reorder mode).
    pub pages_kept: usize,
    /// Bytes of unsynced changes that did not survive (overlapping changes count each time).
    pub bytes_dropped: u64,
    /// Directory-entry changes taken back.
    pub entries_undone: usize,
    /// Entry changes that could not be taken back as recorded, because a later change that is
    /// durable took the name or removed the directory (see `notes`).
    pub entries_conflicting: usize,
    /// One line per conflict, naming the paths.
    pub notes: Vec<String>,
}

impl CutReport {
    fn new(mode: CutMode) -> CutReport {
        CutReport {
            mode,
            files_rolled_back: 0,
            changes_dropped: 0,
            changes_kept: 0,
            writes_torn: 0,
            pages_reverted: 0,
            pages_kept: 0,
            bytes_dropped: 0,
            entries_undone: 0,
            entries_conflicting: 0,
            notes: Vec::new(),
        }
    }

    fn conflict(&mut self, note: String) {
        self.entries_conflicting += 1;
        self.notes.push(note);
    }
}

impl fmt::Display for CutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "power cut ({}): {} files rolled back, {} bytes dropped",
            self.mode, self.files_rolled_back, self.bytes_dropped
        )?;
        match self.mode {
            CutMode::DropUnsynced => write!(f, " ({} changes)", self.changes_dropped)?,
            CutMode::TornWrite { .. } => write!(
                f,
                " ({} changes kept, {} torn, {} dropped)",
                self.changes_kept, self.writes_torn, self.changes_dropped
            )?,
            CutMode::Reorder { .. } => write!(
                f,
                " ({} pages kept, {} reverted)",
                self.pages_kept, self.pages_reverted
            )?,
        }
        write!(f, "; {} directory entries undone", self.entries_undone)?;
        if self.entries_conflicting > 0 {
            write!(f, ", {} conflicting", self.entries_conflicting)?;
        }
        for note in &self.notes {
            write!(f, "\n  {note}")?;
        }
        Ok(())
    }
}

impl State {
    pub(crate) fn cut(&mut self, mode: CutMode) -> io::Result<CutReport> {
        if self.cut_done {
            return Err(io::Error::other(format!(
                "{}: already cut; the power goes out once per mount",
                self.table.backing.display()
            )));
        }
        // Whatever happens below, the mount must not serve this state again.
        self.cut_done = true;
        let mut report = CutReport::new(mode);

        let mut dirty: Vec<(std::path::PathBuf, u64)> = Vec::new();
        for (&ino, node) in &self.table.nodes {
            if node.kind == Kind::File && !node.changes.is_empty() {
                match self.table.path(ino) {
                    Some(path) => dirty.push((path, ino)),
                    None => report.notes.push(format!(
                        "inode {ino}: unsynced changes, but no known path; left as written"
                    )),
                }
            }
        }
        // Sorted, so a seed replays the same way whatever order the hash map iterates in.
        dirty.sort();
        for (path, ino) in dirty {
            let changes = std::mem::take(
                &mut self
                    .table
                    .nodes
                    .get_mut(&ino)
                    .expect("collected above")
                    .changes,
            );
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| at_path(&path, e))?;
            let name = self.table.shown(&path);
            roll_back(
                &file,
                &changes,
                mode,
                name.as_os_str().as_bytes(),
                &mut report,
            )
            .map_err(|e| at_path(&path, e))?;
            report.files_rolled_back += 1;
        }

        for record in std::mem::take(&mut self.entries).iter().rev() {
            self.undo_entry(&record.change, &mut report)?;
        }

        let graveyard = self.table.graveyard();
        match fs::remove_dir_all(&graveyard) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(at_path(&graveyard, e)),
            _ => {}
        }
        Ok(report)
    }

    fn undo_entry(&mut self, change: &EntryChange, report: &mut CutReport) -> io::Result<()> {
        match change {
            EntryChange::Created { at, ino } => {
                if self.entry_ino(at)? == Some(*ino) {
                    self.bury_entry(at, *ino)?;
                    report.entries_undone += 1;
                } else {
                    report.conflict(format!(
                        "cannot undo the creation of {}: a durable change moved it",
                        self.shown(at)
                    ));
                }
            }
            EntryChange::Removed { at, ino, grave } => {
                let buried = Link::new(GRAVEYARD, grave.clone());
                if self.entry_ino(&buried)?.is_none() {
                    report.conflict(format!(
                        "cannot bring back {}: it is no longer in the graveyard",
                        self.shown(at)
                    ));
                } else if self.entry_ino(at)?.is_some() || self.table.link_path(at).is_none() {
                    report.conflict(format!(
                        "cannot bring back {}: the name is taken or its directory is gone",
                        self.shown(at)
                    ));
                } else {
                    self.move_entry(&buried, at, *ino)?;
                    report.entries_undone += 1;
                }
            }
            EntryChange::Renamed {
                from,
                to,
                ino,
                victim,
            } => {
                if self.entry_ino(to)? == Some(*ino) {
                    if self.entry_ino(from)?.is_none() && self.table.link_path(from).is_some() {
                        self.move_entry(to, from, *ino)?;
                    } else {
                        // Neither name is durable for this inode: it is lost, as POSIX allows.
                        report.conflict(format!(
                            "cannot move {} back to {}: that name is taken or its directory \
                             is gone; the file is dropped",
                            self.shown(to),
                            self.shown(from)
                        ));
                        self.bury_entry(to, *ino)?;
                    }
                    report.entries_undone += 1;
                } else {
                    report.conflict(format!(
                        "cannot undo the rename of {} to {}: a durable change moved it",
                        self.shown(from),
                        self.shown(to)
                    ));
                }
                if let Some((victim_ino, grave)) = victim {
                    let buried = Link::new(GRAVEYARD, grave.clone());
                    if self.entry_ino(&buried)?.is_none() {
                        report.conflict(format!(
                            "cannot bring back the file {} replaced: it is no longer in the \
                             graveyard",
                            self.shown(to)
                        ));
                    } else if self.entry_ino(to)?.is_none() && self.table.link_path(to).is_some() {
                        self.move_entry(&buried, to, *victim_ino)?;
                    } else {
                        report.conflict(format!(
                            "cannot bring back the file {} replaced: the name is taken",
                            self.shown(to)
                        ));
                    }
                }
            }
            EntryChange::Exchanged { a, a_ino, b, b_ino } => {
                if self.entry_ino(a)? == Some(*b_ino) && self.entry_ino(b)? == Some(*a_ino) {
                    let (pa, pb) = (self.table.link_path(a), self.table.link_path(b));
                    if let (Some(pa), Some(pb)) = (pa, pb) {
                        renameat2(&pa, &pb, libc::RENAME_EXCHANGE).map_err(|e| at_path(&pa, e))?;
                        if a_ino != b_ino {
                            self.table.move_link(*a_ino, b, a.clone());
                            self.table.move_link(*b_ino, a, b.clone());
                        }
                        report.entries_undone += 1;
                    }
                } else {
                    report.conflict(format!(
                        "cannot undo the exchange of {} and {}: a durable change moved them",
                        self.shown(a),
                        self.shown(b)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Rolls one file back from its current (final) state, given its unsynced changes.
fn roll_back(
    file: &File,
    changes: &[Change],
    mode: CutMode,
    name: &[u8],
    report: &mut CutReport,
) -> io::Result<()> {
    match mode {
        CutMode::DropUnsynced => {
            for change in changes.iter().rev() {
                change.undo(file)?;
                report.bytes_dropped += change.len();
            }
            report.changes_dropped += changes.len();
        }
        CutMode::TornWrite { seed } => {
            let mut rng = SplitMix64::for_file(seed, name);
            // `survivors == changes.len()`: every write landed, only the fsync was missing.
            let survivors = rng.below(changes.len() as u64 + 1) as usize;
            for change in changes.get(survivors + 1..).unwrap_or(&[]).iter().rev() {
                change.undo(file)?;
                report.bytes_dropped += change.len();
                report.changes_dropped += 1;
            }
            if let Some(torn) = changes.get(survivors) {
                match tear_point(torn, &mut rng) {
                    Some(boundary) => {
                        torn.undo_from(file, boundary)?;
                        report.bytes_dropped += torn.dirty.end - boundary;
                        report.writes_torn += 1;
                    }
                    None => {
                        torn.undo(file)?;
                        report.bytes_dropped += torn.len();
                        report.changes_dropped += 1;
                    }
                }
            }
            report.changes_kept += survivors.min(changes.len());
        }
        CutMode::Reorder { seed } => {
            reorder(file, changes, &mut SplitMix64::for_file(seed, name), report)?;
        }
    }
    Ok(())
}

/// A 4 KiB boundary strictly inside a write, or None when the write fits in one page (then
/// it cannot tear: it survives or not).
fn tear_point(change: &Change, rng: &mut SplitMix64) -> Option<u64> {
    let ChangeKind::Write { offset, len } = change.kind else {
        return None;
    };
    let end = offset + len;
    let first = (offset / PAGE + 1) * PAGE;
    if first >= end {
        return None;
    }
    let boundaries = (end - 1 - first) / PAGE + 1;
    Some(first + rng.below(boundaries) * PAGE)
}

fn reorder(
    file: &File,
    changes: &[Change],
    rng: &mut SplitMix64,
    report: &mut CutReport,
) -> io::Result<()> {
    let Some(first) = changes.first() else {
        return Ok(());
    };
    let durable_size = first.size_before;
    let final_size = file.metadata()?.len();
    let limit = durable_size.max(final_size);
    // Page -> keeps its new content? Ascending, so a seed replays the same way.
    let mut keep: BTreeMap<u64, bool> = BTreeMap::new();
    for change in changes {
        for page in change.dirty.start / PAGE..change.dirty.end.div_ceil(PAGE) {
            if page * PAGE < limit {
                keep.insert(page, false);
            }
        }
    }
    for kept in keep.values_mut() {
        *kept = rng.coin();
    }
    // The new content of the pages that keep it, read before the rollback overwrites it.
    let mut new_pages = Vec::new();
    for (&page, &kept) in &keep {
        if kept {
            let start = page * PAGE;
            new_pages.push((
                start,
                read_range(file, start..(start + PAGE).min(final_size))?,
            ));
        }
    }
    for change in changes.iter().rev() {
        change.undo(file)?;
    }
    let size = reordered_size(durable_size, final_size, &keep);
    for (start, bytes) in &new_pages {
        if *start < size {
            let n = bytes.len().min((size - start) as usize);
            file.write_all_at(&bytes[..n], *start)?;
        }
    }
    file.set_len(size)?;
    for (&page, &kept) in &keep {
        if kept {
            report.pages_kept += 1;
        } else {
            report.pages_reverted += 1;
            let start = page * PAGE;
            report.bytes_dropped += (start + PAGE).min(limit) - start;
        }
    }
    Ok(())
}

/// The longest prefix in which every byte exists in the version its page took.
fn reordered_size(durable_size: u64, final_size: u64, keep: &BTreeMap<u64, bool>) -> u64 {
    let limit = durable_size.max(final_size);
    let mut size = durable_size.min(final_size);
    while size < limit {
        let page = size / PAGE;
        let exists_to = if keep.get(&page) == Some(&true) {
            final_size
        } else {
            durable_size
        };
        let page_end = ((page + 1) * PAGE).min(limit);
        if exists_to >= page_end {
            size = page_end;
        } else {
            size = size.max(exists_to);
            break;
        }
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(pages: &[(u64, bool)]) -> BTreeMap<u64, bool> {
        pages.iter().copied().collect()
    }

    #[test]
    fn grown_file_keeps_appended_pages_up_to_the_first_reverted_one() {
        let k = keep(&[(1, true), (2, true), (3, false), (4, true)]);
        assert_eq!(reordered_size(PAGE, 5 * PAGE, &k), 3 * PAGE);
    }

    #[test]
    fn grown_file_whose_first_new_page_reverted_keeps_its_durable_size() {
        // The page holding the durable end of file (byte 100 on) reverted.
        let k = keep(&[(0, false), (1, true)]);
        assert_eq!(reordered_size(100, 2 * PAGE, &k), 100);
    }

    #[test]
    fn grown_file_with_the_last_page_kept_ends_at_the_final_size() {
        let k = keep(&[(0, true), (1, true)]);
        assert_eq!(reordered_size(100, PAGE + 10, &k), PAGE + 10);
    }

    #[test]
    fn shrunk_file_keeps_durable_pages_up_to_the_first_truncated_one() {
        let k = keep(&[(1, false), (2, true), (3, false)]);
        assert_eq!(reordered_size(4 * PAGE, PAGE, &k), 2 * PAGE);
    }

    #[test]
    fn tear_points_are_page_boundaries_inside_the_write() {
        let change = Change {
            kind: ChangeKind::Write {
                offset: 100,
                len: 3 * PAGE,
            },
            dirty: 100..100 + 3 * PAGE,
            pre_image_at: 100,
            pre_image: Vec::new(),
            size_before: 100,
            size_after: 100 + 3 * PAGE,
        };
        let mut rng = SplitMix64::new(9);
        for _ in 0..100 {
            let b = tear_point(&change, &mut rng).unwrap();
            assert!(
                b.is_multiple_of(PAGE) && b > 100 && b < 100 + 3 * PAGE,
                "{b}"
            );
        }
        let small = Change {
            kind: ChangeKind::Write {
                offset: 10,
                len: 100,
            },
            dirty: 10..110,
            ..change
        };
        assert_eq!(tear_point(&small, &mut rng), None);
    }
}
