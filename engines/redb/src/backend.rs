//! The storage backend under redb: its own `FileBackend`, wrapped to count what reaches the
//! file and, with the `failpoints` feature, to fail or abort at the file layer.
//!
//! redb has no write counters of its own, but every byte it stores goes through
//! `StorageBackend::write`, so counting there is exact: pages of every commit, both commit
//! slots of the header, the allocator state it records on close, compaction's moves. That is
//! the figure [`engine_traits::EngineStats::engine_bytes_written`] asks for.

use std::io;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// Failpoint before every `write` of file bytes (`return`: an I/O error; `return(abort)`: the
/// process dies with the write not done, in the middle of a commit).
pub const WRITE_SITE: &str = "redb::backend::write";
/// Failpoint before every `sync_data` (fsync) of the file.
pub const SYNC_SITE: &str = "redb::backend::sync";

/// What the backend has done since the engine opened the file.
#[derive(Debug, Default)]
pub(crate) struct IoCounters {
    pub(crate) bytes_written: AtomicU64,
    pub(crate) syncs: AtomicU64,
}

/// redb's `FileBackend` with counters (and failpoints). Every lock method is passed through:
/// they are how redb refuses a second handle on the same file.
#[derive(Debug)]
pub(crate) struct CountingBackend {
    inner: FileBackend,
    counters: Arc<IoCounters>,
}

impl CountingBackend {
    pub(crate) fn new(inner: FileBackend, counters: Arc<IoCounters>) -> Self {
        CountingBackend { inner, counters }
    }
}

/// Evaluates a file-layer failpoint: `return` is an I/O error, `return(abort)` kills the
/// process on the spot (a crash point for the crash harness). Nothing without the feature.
fn file_fault(site: &'static str) -> io::Result<()> {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(site, |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort();
        }
        Err(io::Error::other(format!(
            "injected I/O failure at failpoint {site}"
        )))
    });
    let _ = site;
    Ok(())
}

impl StorageBackend for CountingBackend {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        file_fault(SYNC_SITE)?;
        self.inner.sync_data()?;
        self.counters.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        file_fault(WRITE_SITE)?;
        self.inner.write(offset, data)?;
        self.counters
            .bytes_written
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}
