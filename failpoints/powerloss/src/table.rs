//! The inode table: which backing path each inode the kernel knows lives at.
//!
//! Inode numbers are the backing files' own (`st_ino`), so they are stable for the life of the
//! backing file, across renames and remounts; only the backing root and inode 1 trade places,
//! because FUSE calls its root 1. Records name entries by (directory inode, name), never by
//! path, so a directory renamed later (durably or not) does not invalidate them: a path is
//! computed from the table when needed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

use crate::undo::{Change, Link};

/// FUSE's root inode.
pub(crate) const ROOT: u64 = 1;
/// The graveyard's key in the table; the kernel never sees it.
pub(crate) const GRAVEYARD: u64 = u64::MAX;
/// Where unlinked and replaced entries wait, inside the backing root, hidden from the mount.
pub(crate) const GRAVEYARD_NAME: &str = ".powerloss-graveyard";

/// Deeper than this is a cycle in the table (a bug), not a real tree.
const MAX_DEPTH: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Other,
}

impl Kind {
    pub(crate) fn of(md: &Metadata) -> Kind {
        if md.is_dir() {
            Kind::Dir
        } else if md.is_file() {
            Kind::File
        } else {
            Kind::Other
        }
    }
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Every name of this inode we know of; names in the graveyard included.
    pub(crate) links: Vec<Link>,
    /// The kernel's lookup count (FUSE `forget` protocol).
    pub(crate) lookups: u64,
    /// Open handles on this inode.
    pub(crate) open: u32,
    /// Unsynced changes to the bytes and size, oldest first.
    pub(crate) changes: Vec<Change>,
}

impl Node {
    fn new(kind: Kind) -> Node {
        Node {
            kind,
            links: Vec::new(),
            lookups: 0,
            open: 0,
            changes: Vec::new(),
        }
    }

    /// A live name if there is one, else a graveyard name.
    fn primary_link(&self) -> Option<&Link> {
        self.links
            .iter()
            .find(|l| l.parent != GRAVEYARD)
            .or_else(|| self.links.first())
    }

    pub(crate) fn graveyard_links(&self) -> u32 {
        self.links.iter().filter(|l| l.parent == GRAVEYARD).count() as u32
    }
}

#[derive(Debug)]
pub(crate) struct Table {
    /// The backing root, canonical.
    pub(crate) backing: PathBuf,
    root_st_ino: u64,
    pub(crate) nodes: HashMap<u64, Node>,
}

impl Table {
    pub(crate) fn new(backing: PathBuf, root_st_ino: u64) -> Table {
        let mut nodes = HashMap::new();
        nodes.insert(ROOT, Node::new(Kind::Dir));
        Table {
            backing,
            root_st_ino,
            nodes,
        }
    }

    /// The inode number the kernel sees for a backing `st_ino`.
    pub(crate) fn ino_of(&self, st_ino: u64) -> u64 {
        match st_ino {
            i if i == self.root_st_ino => ROOT,
            ROOT => self.root_st_ino,
            i => i,
        }
    }

    /// The backing path of an inode, or None if the table has lost it.
    pub(crate) fn path(&self, ino: u64) -> Option<PathBuf> {
        let mut names: Vec<&OsStr> = Vec::new();
        let mut cur = ino;
        for _ in 0..MAX_DEPTH {
            match cur {
                ROOT => {
                    let mut p = self.backing.clone();
                    p.extend(names.iter().rev());
                    return Some(p);
                }
                GRAVEYARD => {
                    names.push(OsStr::new(GRAVEYARD_NAME));
                    cur = ROOT;
                }
                _ => {
                    let link = self.nodes.get(&cur)?.primary_link()?;
                    names.push(&link.name);
                    cur = link.parent;
                }
            }
        }
        None
    }

    /// The backing path of a directory entry.
    pub(crate) fn link_path(&self, link: &Link) -> Option<PathBuf> {
        Some(self.path(link.parent)?.join(&link.name))
    }

    pub(crate) fn graveyard(&self) -> PathBuf {
        self.backing.join(GRAVEYARD_NAME)
    }

    /// The path relative to the backing root, for messages and per-file seeds.
    pub(crate) fn shown(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.backing)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    /// Makes sure the table knows `ino` under `link` (lookups find names lazily).
    pub(crate) fn learn(&mut self, ino: u64, kind: Kind, link: Link) -> &mut Node {
        let node = self.nodes.entry(ino).or_insert_with(|| Node::new(kind));
        if ino != ROOT && !node.links.contains(&link) {
            node.links.push(link);
        }
        node
    }

    /// Renames one known name of `ino` (no-op for names the table never learned).
    pub(crate) fn move_link(&mut self, ino: u64, from: &Link, to: Link) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.links.retain(|l| l != from);
            if !node.links.contains(&to) {
                node.links.push(to);
            }
        }
    }

    pub(crate) fn forget_link(&mut self, ino: u64, link: &Link) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.links.retain(|l| l != link);
        }
    }
}
