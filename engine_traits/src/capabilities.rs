//! Opt-in capabilities: what an engine may do beyond the core.
//!
//! An engine declares them in [`crate::KvEngine::CAPABILITIES`] and, for those with methods,
//! hands out a trait object from the matching accessor (`as_checkpoint`, ...). The suite
//! checks that the two agree, and reports every case needing a missing capability as ignored.

use std::fmt;
use std::path::Path;

use crate::Result;

/// One optional capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// Data survives dropping the engine and opening it again at the same path.
    Persistence,
    /// [`Checkpoint`]: an openable copy of the engine in another directory.
    Checkpoint,
    /// [`BulkIngest`]: sorted entries loaded as a unit, bypassing the write path.
    BulkIngest,
    /// [`ManualCompaction`]: compact a key range on request.
    ManualCompaction,
    /// [`Statistics`]: disk size, live data and bytes written.
    Statistics,
    /// Prefix seek through [`crate::IterOptions::prefix_same_as_start`].
    PrefixSeek,
}

impl Capability {
    /// Every capability, in report order.
    pub const ALL: [Capability; 6] = [
        Capability::Persistence,
        Capability::Checkpoint,
        Capability::BulkIngest,
        Capability::ManualCompaction,
        Capability::Statistics,
        Capability::PrefixSeek,
    ];

    /// The snake_case name used in reports and `NotSupported` errors.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Persistence => "persistence",
            Capability::Checkpoint => "checkpoint",
            Capability::BulkIngest => "bulk_ingest",
            Capability::ManualCompaction => "manual_compaction",
            Capability::Statistics => "statistics",
            Capability::PrefixSeek => "prefix_seek",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of capabilities an engine declares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// See [`Capability::Persistence`].
    pub persistence: bool,
    /// See [`Capability::Checkpoint`].
    pub checkpoint: bool,
    /// See [`Capability::BulkIngest`].
    pub bulk_ingest: bool,
    /// See [`Capability::ManualCompaction`].
    pub manual_compaction: bool,
    /// See [`Capability::Statistics`].
    pub statistics: bool,
    /// See [`Capability::PrefixSeek`].
    pub prefix_seek: bool,
}

impl Capabilities {
    /// No capability at all: the core only.
    pub const NONE: Capabilities = Capabilities {
        persistence: false,
        checkpoint: false,
        bulk_ingest: false,
        manual_compaction: false,
        statistics: false,
        prefix_seek: false,
    };

    /// Whether `cap` is declared.
    pub fn has(&self, cap: Capability) -> bool {
        match cap {
            Capability::Persistence => self.persistence,
            Capability::Checkpoint => self.checkpoint,
            Capability::BulkIngest => self.bulk_ingest,
            Capability::ManualCompaction => self.manual_compaction,
            Capability::Statistics => self.statistics,
            Capability::PrefixSeek => self.prefix_seek,
        }
    }

    /// The declared capabilities, in report order.
    pub fn list(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.has(*c))
            .collect()
    }
}

/// Capability [`Capability::Checkpoint`].
pub trait Checkpoint {
    /// Writes a consistent, openable copy of the whole engine into `dir`, which must not
    /// exist yet (`InvalidArgument` otherwise). Writes after the call are not in the copy.
    fn checkpoint(&self, dir: &Path) -> Result<()>;
}

/// Capability [`Capability::BulkIngest`].
pub trait BulkIngest {
    /// Loads `entries` into `cf` as one unit: afterwards every key reads its ingested value,
    /// newer than anything written before. Keys must be strictly ascending
    /// (`InvalidArgument` otherwise, and nothing is loaded). An empty slice is a no-op.
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()>;
}

/// Capability [`Capability::ManualCompaction`].
pub trait ManualCompaction {
    /// Compacts `[start, end)` of `cf` (`None`: unbounded on that side). Never changes what
    /// reads return.
    fn compact_range(&self, cf: &str, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()>;
}

/// Figures reported by capability [`Capability::Statistics`], all in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Bytes the engine's files take on disk now.
    pub disk_size: u64,
    /// The engine's estimate of live (reachable) key and value bytes.
    pub live_data_size: u64,
    /// Key and value bytes callers handed to writes since open.
    pub user_bytes_written: u64,
    /// Bytes the engine wrote to storage since open: WAL, flushes, compactions, blob files.
    /// `engine_bytes_written / user_bytes_written` is the write amplification.
    pub engine_bytes_written: u64,
}

/// Capability [`Capability::Statistics`].
pub trait Statistics {
    /// The current figures.
    fn statistics(&self) -> Result<EngineStats>;

    /// Counters of this engine's own design since open, each named for what it counts
    /// (`requests`, `put_requests`, `gc_bytes_written`): what the common figures cannot say,
    /// such as what an object store charges for. They only grow. The bench reports how much
    /// each grew in a measured phase, per 1000 operations. None by default.
    fn counters(&self) -> Result<Vec<(&'static str, u64)>> {
        Ok(Vec::new())
    }
}
