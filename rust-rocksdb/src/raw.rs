//! The raw escape hatch: the bindgen-generated C API of `librocksdb-sys`, for what the safe
//! `rocksdb` crate does not wrap, each behind a safe type.
//!
//! Today: write-batch save points. `rocksdb::WriteBatch` has no `SetSavePoint` /
//! `RollbackToSavePoint` / `PopSavePoint`, and its `write_opt` consumes the batch, while our
//! engine trait needs both (nested save points; a batch written twice). [`RawWriteBatch`]
//! owns a `rocksdb_writebatch_t` and writes it with `rocksdb_write` by pointer.
//!
//! # Adding the next one
//! 1. Find the function in `librocksdb-sys`'s `rocksdb/include/rocksdb/c.h` (bindgen exposes
//!    every function there as `librocksdb_sys::rocksdb_*`).
//! 2. Get the handles it needs: `rocksdb::AsRawPtr` (feature `raw-ptr`) gives `rocksdb_t*`
//!    and `rocksdb_options_t*`; `rocksdb::AsColumnFamilyRef::inner` gives CF handles.
//! 3. Wrap it in a type or function here whose signature is safe: own what you create, free
//!    it in `Drop`, turn `char** errptr` into a [`Status`] with [`take_error`], and write
//!    a `// SAFETY:` line per `unsafe` block.
//! 4. Add a test in this file that fails without the call having its effect.

use std::ffi::{CStr, c_char};
use std::ptr::NonNull;

use librocksdb_sys as ffi;
use rocksdb::{AsColumnFamilyRef, AsRawPtr, DB};

use crate::Status;

/// Turns a C API error pointer into a `Status`, freeing the C string.
///
/// # Safety
/// `err` is null or a string the C API allocated, not freed yet.
unsafe fn take_error(err: *mut c_char) -> Result<(), Status> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: the C API hands out a NUL-terminated malloc'd string; we copy it, then free it
    // with the allocator that made it.
    let message = unsafe { CStr::from_ptr(err) }
        .to_string_lossy()
        .into_owned();
    unsafe { ffi::rocksdb_free(err.cast()) };
    Err(Status::from_message(message))
}

/// A RocksDB write batch with save points, owned through the C API.
pub struct RawWriteBatch {
    inner: NonNull<ffi::rocksdb_writebatch_t>,
}

// SAFETY: a rocksdb_writebatch_t is plain data owned by this value; moving it between threads
// is fine, and every mutation goes through `&mut self`.
unsafe impl Send for RawWriteBatch {}
// SAFETY: `&self` methods only read (count, data size, and rocksdb_write, which reads the
// batch's representation without changing it).
unsafe impl Sync for RawWriteBatch {}

impl Default for RawWriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RawWriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawWriteBatch")
            .field("count", &self.count())
            .finish()
    }
}

impl RawWriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        // SAFETY: creates a fresh batch; it is never null (RocksDB aborts on OOM).
        let ptr = unsafe { ffi::rocksdb_writebatch_create() };
        RawWriteBatch {
            inner: NonNull::new(ptr).expect("rocksdb_writebatch_create returned null"),
        }
    }

    fn ptr(&self) -> *mut ffi::rocksdb_writebatch_t {
        self.inner.as_ptr()
    }

    /// Adds `key = value` in `cf`.
    pub fn put_cf(&mut self, cf: &impl AsColumnFamilyRef, key: &[u8], value: &[u8]) {
        // SAFETY: the batch and CF handle are live; RocksDB copies key and value.
        unsafe {
            ffi::rocksdb_writebatch_put_cf(
                self.ptr(),
                cf.inner(),
                key.as_ptr().cast(),
                key.len(),
                value.as_ptr().cast(),
                value.len(),
            )
        }
    }

    /// Adds a delete of `key` in `cf`.
    pub fn delete_cf(&mut self, cf: &impl AsColumnFamilyRef, key: &[u8]) {
        // SAFETY: as in put_cf.
        unsafe {
            ffi::rocksdb_writebatch_delete_cf(
                self.ptr(),
                cf.inner(),
                key.as_ptr().cast(),
                key.len(),
            )
        }
    }

    /// Adds a delete of `[start, end)` in `cf`.
    pub fn delete_range_cf(&mut self, cf: &impl AsColumnFamilyRef, start: &[u8], end: &[u8]) {
        // SAFETY: as in put_cf.
        unsafe {
            ffi::rocksdb_writebatch_delete_range_cf(
                self.ptr(),
                cf.inner(),
                start.as_ptr().cast(),
                start.len(),
                end.as_ptr().cast(),
                end.len(),
            )
        }
    }

    /// Number of operations.
    pub fn count(&self) -> usize {
        // SAFETY: reads a live batch.
        unsafe { ffi::rocksdb_writebatch_count(self.ptr()) as usize }
    }

    /// Size of the batch's representation: keys, values, and RocksDB's record headers.
    pub fn data_size(&self) -> usize {
        let mut size = 0usize;
        // SAFETY: reads a live batch; the returned pointer is not kept.
        unsafe { ffi::rocksdb_writebatch_data(self.ptr(), &mut size) };
        size
    }

    /// Removes every operation and save point.
    pub fn clear(&mut self) {
        // SAFETY: mutates a live batch we own exclusively.
        unsafe { ffi::rocksdb_writebatch_clear(self.ptr()) }
    }

    /// Marks the current end of the batch.
    pub fn set_save_point(&mut self) {
        // SAFETY: as in clear.
        unsafe { ffi::rocksdb_writebatch_set_save_point(self.ptr()) }
    }

    /// Drops operations since the last save point; a `NotFound` status when there is none.
    pub fn rollback_to_save_point(&mut self) -> Result<(), Status> {
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: as in clear; `err` receives a C string or stays null.
        unsafe {
            ffi::rocksdb_writebatch_rollback_to_save_point(self.ptr(), &mut err);
            take_error(err)
        }
    }

    /// Forgets the last save point; a `NotFound` status when there is none.
    pub fn pop_save_point(&mut self) -> Result<(), Status> {
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: as in rollback_to_save_point.
        unsafe {
            ffi::rocksdb_writebatch_pop_save_point(self.ptr(), &mut err);
            take_error(err)
        }
    }

    /// Applies the batch to `db` atomically, without consuming it.
    pub fn write(&self, db: &DB, sync: bool, disable_wal: bool) -> Result<(), Status> {
        // SAFETY: write options are created, used once and destroyed here; `db` outlives the
        // call; the CF handles inside the batch belong to `db` (the engine builds batches only
        // from its own handles).
        unsafe {
            let opts = ffi::rocksdb_writeoptions_create();
            ffi::rocksdb_writeoptions_set_sync(opts, u8::from(sync));
            ffi::rocksdb_writeoptions_disable_WAL(opts, i32::from(disable_wal));
            let mut err: *mut c_char = std::ptr::null_mut();
            ffi::rocksdb_write(db.as_raw_ptr(), opts, self.ptr(), &mut err);
            ffi::rocksdb_writeoptions_destroy(opts);
            take_error(err)
        }
    }
}

impl Drop for RawWriteBatch {
    fn drop(&mut self) {
        // SAFETY: we own the batch and drop it once.
        unsafe { ffi::rocksdb_writebatch_destroy(self.ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocksdb::{ErrorKind, Options};

    fn db(dir: &std::path::Path) -> DB {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        // Named, so the crate's CF map has a handle for "default".
        DB::open_cf(&opts, dir, ["default"]).unwrap()
    }

    #[test]
    fn rollback_drops_operations_after_save_point() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let cf = db.cf_handle("default").unwrap();
        let mut b = RawWriteBatch::new();
        b.put_cf(cf, b"kept", b"1");
        b.set_save_point();
        b.put_cf(cf, b"dropped", b"2");
        b.delete_cf(cf, b"kept");
        b.rollback_to_save_point().unwrap();
        assert_eq!(b.count(), 1);
        b.write(&db, false, false).unwrap();
        assert_eq!(db.get(b"kept").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(db.get(b"dropped").unwrap(), None);
    }

    #[test]
    fn rollback_without_save_point_is_not_found() {
        let mut b = RawWriteBatch::new();
        let err = b.rollback_to_save_point().unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
        assert!(b.pop_save_point().is_err());
    }

    #[test]
    fn a_batch_can_be_written_twice() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let cf = db.cf_handle("default").unwrap();
        let mut b = RawWriteBatch::new();
        b.delete_cf(cf, b"a");
        b.write(&db, true, false).unwrap();
        db.put(b"a", b"between").unwrap();
        b.write(&db, false, false).unwrap();
        assert_eq!(db.get(b"a").unwrap(), None);
        assert!(b.data_size() > 12, "header plus one record");
    }
}
