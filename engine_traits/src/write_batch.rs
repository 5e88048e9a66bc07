//! Atomic write batches with save points.

use crate::Result;

/// Writes collected in order and applied atomically by [`crate::KvEngine::write`].
///
/// Operations on an unknown CF fail at once with `UnknownCf` and leave the batch unchanged;
/// `delete_range` with `start > end` fails with `InvalidArgument`, likewise.
pub trait WriteBatch {
    /// Adds `key = value` in `cf`.
    fn put(&mut self, cf: &str, key: &[u8], value: &[u8]) -> Result<()>;
    /// Adds a delete of `key` in `cf`.
    fn delete(&mut self, cf: &str, key: &[u8]) -> Result<()>;
    /// Adds a delete of `[start, end)` in `cf`; `start == end` adds a no-op entry.
    fn delete_range(&mut self, cf: &str, start: &[u8], end: &[u8]) -> Result<()>;
    /// Number of operations added.
    fn count(&self) -> usize;
    /// Whether no operation was added.
    fn is_empty(&self) -> bool {
        self.count() == 0
    }
    /// Bytes of keys and values added (the engine may add its own overhead on top).
    fn data_size(&self) -> usize;
    /// Removes every operation and every save point.
    fn clear(&mut self);
    /// Marks the current end of the batch; save points nest.
    fn set_save_point(&mut self);
    /// Drops every operation added since the most recent save point, and that save point.
    /// `InvalidArgument` when there is none; the batch is then unchanged.
    fn rollback_to_save_point(&mut self) -> Result<()>;
    /// Forgets the most recent save point, keeping its operations.
    /// `InvalidArgument` when there is none.
    fn pop_save_point(&mut self) -> Result<()>;
}
