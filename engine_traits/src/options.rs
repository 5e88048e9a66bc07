//! What a caller can ask of an open, a read, a write and an iterator.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The column family every engine has, whether or not it was asked for.
pub const CF_DEFAULT: &str = "default";
/// Well-known CF for transaction locks (TiKV's layout).
pub const CF_LOCK: &str = "lock";
/// Well-known CF for committed versions (TiKV's layout).
pub const CF_WRITE: &str = "write";
/// Well-known CF for the Raft log (TiKV's layout).
pub const CF_RAFT: &str = "raft";
/// The well-known CFs, in the order [`EngineConfig::new`] opens them.
pub const WELL_KNOWN_CFS: [&str; 4] = [CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT];

/// How to open an engine.
///
/// The engine exposes exactly the listed column families plus `default`, creating those that
/// do not exist yet. Column families an earlier open created but this one does not list stay
/// untouched on disk and are not reachable through this handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// The directory the engine owns. Engines without persistence may ignore it.
    pub path: PathBuf,
    /// Column families to open; `default` is added when missing.
    pub cfs: Vec<String>,
    /// Create the database when the directory holds none; with `false`, opening a missing
    /// database is an `InvalidArgument` or `Io` error naming the path.
    pub create_if_missing: bool,
    /// Length of the fixed key prefix used for prefix seek (capability `prefix_seek`);
    /// `None` means no prefix extractor.
    pub prefix_len: Option<usize>,
    /// An engine-specific options profile: a name the engine knows or a path to a file.
    /// An engine that has no profiles rejects `Some` with `InvalidArgument`.
    pub profile: Option<String>,
}

impl EngineConfig {
    /// The well-known CFs at `path`, created if missing, no prefix extractor, no profile.
    pub fn new(path: impl AsRef<Path>) -> Self {
        EngineConfig {
            path: path.as_ref().to_path_buf(),
            cfs: WELL_KNOWN_CFS.iter().map(|s| s.to_string()).collect(),
            create_if_missing: true,
            prefix_len: None,
            profile: None,
        }
    }

    /// Adds a column family to open.
    pub fn with_cf(mut self, cf: &str) -> Self {
        if !self.cfs.iter().any(|c| c == cf) {
            self.cfs.push(cf.to_owned());
        }
        self
    }

    /// Sets the prefix length for prefix seek.
    pub fn with_prefix_len(mut self, len: usize) -> Self {
        self.prefix_len = Some(len);
        self
    }

    /// Sets the engine-specific options profile.
    pub fn with_profile(mut self, profile: &str) -> Self {
        self.profile = Some(profile.to_owned());
        self
    }

    /// The CFs to open: `default` first, then the listed ones without duplicates.
    /// An empty name is an `InvalidArgument` error.
    pub fn cf_list(&self) -> Result<Vec<String>> {
        let mut out = vec![CF_DEFAULT.to_owned()];
        for cf in &self.cfs {
            if cf.is_empty() {
                return Err(Error::invalid("column family name is empty"));
            }
            if !out.contains(cf) {
                out.push(cf.clone());
            }
        }
        Ok(out)
    }
}

/// Options for a point read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Whether blocks read for this call may be added to the engine's cache.
    pub fill_cache: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { fill_cache: true }
    }
}

/// Options for a write or a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Make the write durable (fsync or equivalent) before acknowledging it. A synced write
    /// that returned `Ok` survives a process crash and a power loss.
    pub sync: bool,
    /// Skip the write-ahead log. The write survives a clean close (the engine flushes on
    /// close) but may be lost in a crash. Incompatible with `sync`: both is `InvalidArgument`.
    pub disable_wal: bool,
}

impl WriteOptions {
    /// A synced write.
    pub fn sync() -> Self {
        WriteOptions {
            sync: true,
            disable_wal: false,
        }
    }

    /// Rejects the combination `sync` + `disable_wal`, which cannot be honoured.
    pub fn check(&self) -> Result<()> {
        if self.sync && self.disable_wal {
            return Err(Error::invalid(
                "write options: sync and disable_wal together",
            ));
        }
        Ok(())
    }
}

/// Options for an iterator.
///
/// Bounds: `lower_bound` is inclusive, `upper_bound` exclusive. `lower > upper` is an
/// `InvalidArgument` error when the iterator is created; `lower == upper` is an empty range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IterOptions {
    /// Smallest key the iterator may show (inclusive).
    pub lower_bound: Option<Vec<u8>>,
    /// The iterator shows only keys strictly below this one (exclusive).
    pub upper_bound: Option<Vec<u8>>,
    /// Whether blocks read may be added to the engine's cache.
    pub fill_cache: bool,
    /// Prefix seek (capability `prefix_seek`): after a seek, the iterator shows only keys
    /// whose first `prefix_len` bytes equal the seek key's. Requires
    /// [`EngineConfig::prefix_len`]; `seek_to_first`/`seek_to_last` are then `InvalidArgument`.
    pub prefix_same_as_start: bool,
}

impl Default for IterOptions {
    fn default() -> Self {
        IterOptions {
            lower_bound: None,
            upper_bound: None,
            fill_cache: true,
            prefix_same_as_start: false,
        }
    }
}

impl IterOptions {
    /// An iterator over `[lower, upper)`.
    pub fn bounded(lower: Option<&[u8]>, upper: Option<&[u8]>) -> Self {
        IterOptions {
            lower_bound: lower.map(<[u8]>::to_vec),
            upper_bound: upper.map(<[u8]>::to_vec),
            ..IterOptions::default()
        }
    }

    /// `InvalidArgument` when `lower > upper`.
    pub fn check(&self) -> Result<()> {
        if let (Some(l), Some(u)) = (&self.lower_bound, &self.upper_bound)
            && l > u
        {
            return Err(Error::invalid(format!(
                "iterator lower bound {} is above upper bound {}",
                crate::display_key(l),
                crate::display_key(u)
            )));
        }
        Ok(())
    }

    /// Whether `key` lies inside the bounds.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.lower_bound.as_deref().is_none_or(|l| key >= l)
            && self.upper_bound.as_deref().is_none_or(|u| key < u)
    }
}

/// Checks a `[start, end)` range for `delete_range`: `start > end` is `InvalidArgument`;
/// returns `false` when the range is empty (`start == end`), meaning "nothing to do".
pub fn check_range(start: &[u8], end: &[u8]) -> Result<bool> {
    if start > end {
        return Err(Error::invalid(format!(
            "range start {} is above its end {}",
            crate::display_key(start),
            crate::display_key(end)
        )));
    }
    Ok(start < end)
}
