//! The raw escape hatch: the bindgen-generated C API of `librocksdb-sys`, for what the safe
//! `rocksdb` crate does not wrap, each behind a safe type.
//!
//! Today: write-batch save points, a WAL filter and a flush-begin listener (see
//! [`set_wal_filter`] and [`add_flush_begin_listener`]), neither of which the crate wraps.
//!
//! Write-batch save points. `rocksdb::WriteBatch` has no `SetSavePoint` /
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

use std::ffi::{CStr, c_char, c_int, c_uchar, c_ulonglong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use librocksdb_sys as ffi;
use rocksdb::{AsColumnFamilyRef, AsRawPtr, DB, Options};

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

/// What a WAL filter wants done with the batch it was shown (and what follows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalDecision {
    /// Replay this batch and go on.
    Continue,
    /// Do not replay this batch, nor anything after it: RocksDB stops replaying and discards
    /// the rest of the logs (`WalFilter::kStopReplay`). The database then holds the batches
    /// before this one.
    StopReplay,
}

/// The callback of a WAL filter: shown each WAL batch's raw representation (RocksDB's
/// WriteBatch format: 12-byte header, then tagged records), in log order, during `DB::open`.
pub type WalFilterFn = Box<dyn FnMut(&[u8]) -> WalDecision + Send>;

struct WalFilterState {
    f: WalFilterFn,
    /// Set when `f` panicked: from then on every batch is replayed (the callback's state may
    /// be broken), and the caller's own later checks are the defence.
    panicked: bool,
}

/// A WAL filter installed in an `Options` by [`set_wal_filter`]. The options hold a plain
/// pointer to it (RocksDB's `DBOptions::wal_filter` is not owned), so this handle must outlive
/// every `DB::open` with those options or their clones; keep it as long as the DB. Dropping
/// it frees the filter and its callback.
pub struct WalFilter {
    raw: NonNull<ffi::rocksdb_walfilter_t>,
}

// SAFETY: the handle only owns the filter object; RocksDB calls the filter from the thread
// running `DB::open`, and the callback it holds is `Send`.
unsafe impl Send for WalFilter {}
// SAFETY: `&WalFilter` gives no access to anything.
unsafe impl Sync for WalFilter {}

impl std::fmt::Debug for WalFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalFilter").finish_non_exhaustive()
    }
}

impl Drop for WalFilter {
    fn drop(&mut self) {
        // SAFETY: we own the filter and destroy it once; its destructor frees the state
        // (`wal_filter_destroy_state`).
        unsafe { ffi::rocksdb_walfilter_destroy(self.raw.as_ptr()) }
    }
}

unsafe extern "C" fn wal_filter_destroy_state(state: *mut c_void) {
    // SAFETY: `state` is the `Box<WalFilterState>` leaked in `set_wal_filter`, freed only here
    // (RocksDB calls the destructor once, from the filter's destructor).
    drop(unsafe { Box::from_raw(state.cast::<WalFilterState>()) });
}

unsafe extern "C" fn wal_filter_name(_state: *mut c_void) -> *const c_char {
    c"rust_rocksdb::raw::WalFilter".as_ptr()
}

unsafe extern "C" fn wal_filter_record_found(
    state: *mut c_void,
    _log_number: c_ulonglong,
    _log_file_name: *const c_char,
    _log_file_name_len: usize,
    batch: *const ffi::rocksdb_writebatch_t,
    _new_batch: *mut ffi::rocksdb_writebatch_t,
    batch_changed: *mut c_uchar,
) -> c_int {
    // SAFETY: `batch_changed` points at a flag RocksDB owns for this call; the batch is never
    // changed here.
    unsafe { *batch_changed = 0 };
    // SAFETY: `state` is our live `WalFilterState` (freed only by the filter's destructor,
    // after the last call); RocksDB calls the filter from one thread, one batch at a time, so
    // this is the only reference.
    let state = unsafe { &mut *state.cast::<WalFilterState>() };
    if state.panicked {
        return ffi::rocksdb_wal_filter_continue_processing as c_int;
    }
    let mut size = 0usize;
    // SAFETY: `batch` is a live batch for the duration of the call; `rocksdb_writebatch_data`
    // only reads it (the C API takes a non-const pointer for no reason), and the bytes it
    // points at stay valid and unchanged until we return.
    let data = unsafe {
        let ptr = ffi::rocksdb_writebatch_data(batch.cast_mut(), &mut size);
        if ptr.is_null() || size == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(ptr.cast::<u8>(), size)
        }
    };
    // Never unwind into C++: a panicking callback replays the batch and everything after.
    match catch_unwind(AssertUnwindSafe(|| (state.f)(data))) {
        Ok(WalDecision::Continue) => ffi::rocksdb_wal_filter_continue_processing as c_int,
        Ok(WalDecision::StopReplay) => ffi::rocksdb_wal_filter_stop_replay as c_int,
        Err(_) => {
            state.panicked = true;
            ffi::rocksdb_wal_filter_continue_processing as c_int
        }
    }
}

/// Installs `filter` as `opts`' WAL filter: during `DB::open`, RocksDB shows it every batch it
/// is about to replay from the WAL, in order, and stops replaying (discarding the rest of the
/// logs) at the first one it answers [`WalDecision::StopReplay`]. A panic in `filter` is
/// caught: that batch and every later one are replayed. Returns the handle that owns the
/// filter: keep it alive as long as the DB (see [`WalFilter`]).
pub fn set_wal_filter(opts: &mut Options, filter: WalFilterFn) -> WalFilter {
    let state = Box::into_raw(Box::new(WalFilterState {
        f: filter,
        panicked: false,
    }));
    // SAFETY: the callbacks match the C API's signatures; `state` is freed by the destructor
    // callback when the filter is destroyed (`WalFilter::drop`), never before. The options
    // pointer is live for the call; they only store the filter pointer.
    unsafe {
        let raw = ffi::rocksdb_walfilter_create(
            state.cast(),
            Some(wal_filter_destroy_state),
            None,
            Some(wal_filter_record_found),
            Some(wal_filter_name),
        );
        let raw = NonNull::new(raw).expect("rocksdb_walfilter_create returned null");
        ffi::rocksdb_options_set_wal_filter(opts.as_raw_ptr(), raw.as_ptr());
        WalFilter { raw }
    }
}

type FlushBeginFn = Box<dyn Fn() + Send + Sync>;

unsafe extern "C" fn listener_destroy_state(state: *mut c_void) {
    // SAFETY: `state` is the `Box<FlushBeginFn>` leaked in `add_flush_begin_listener`; RocksDB
    // calls the destructor once, when the last options or DB holding the listener lets go.
    drop(unsafe { Box::from_raw(state.cast::<FlushBeginFn>()) });
}

unsafe extern "C" fn listener_flush_begin(
    state: *mut c_void,
    _db: *mut ffi::rocksdb_t,
    _info: *const ffi::rocksdb_flushjobinfo_t,
) {
    // SAFETY: `state` is our live `FlushBeginFn` (freed only by the listener's destructor);
    // it is `Sync`, so shared calls from several flush threads are fine.
    let f = unsafe { &*state.cast::<FlushBeginFn>() };
    // Never unwind into C++; the callback reports its own failures.
    let _ = catch_unwind(AssertUnwindSafe(f));
}

// The C listener calls every callback unconditionally: each one needs a function.
unsafe extern "C" fn listener_noop_db<T>(_: *mut c_void, _: *mut ffi::rocksdb_t, _: *const T) {}
unsafe extern "C" fn listener_noop<T>(_: *mut c_void, _: *const T) {}
unsafe extern "C" fn listener_noop_error(
    _: *mut c_void,
    _: u32,
    _: *mut ffi::rocksdb_status_ptr_t,
) {
}

/// Adds an event listener to `opts` whose `OnFlushBegin` calls `f`: on a RocksDB background
/// thread, after the memtable to flush is sealed and before its SST is written, with the DB
/// mutex released. `f` must not wait for anything a writer stalled on that flush may hold.
/// RocksDB skips the call while the DB is shutting down. A panic in `f` is caught and
/// ignored. The listener belongs to the options (and the DB and clones): RocksDB frees `f`
/// when the last of them is dropped.
pub fn add_flush_begin_listener(opts: &mut Options, f: Box<dyn Fn() + Send + Sync>) {
    let state: *mut FlushBeginFn = Box::into_raw(Box::new(f));
    // SAFETY: the callbacks match the C API's signatures (each no-op ignores its arguments);
    // `state` is freed by the destructor callback when RocksDB destroys the listener. The
    // options pointer is live; `add_eventlistener` takes ownership of the listener.
    unsafe {
        let l = ffi::rocksdb_eventlistener_create(
            state.cast(),
            Some(listener_destroy_state),
            Some(listener_flush_begin),
            Some(listener_noop_db::<ffi::rocksdb_flushjobinfo_t>),
            Some(listener_noop_db::<ffi::rocksdb_compactionjobinfo_t>),
            Some(listener_noop_db::<ffi::rocksdb_compactionjobinfo_t>),
            Some(listener_noop::<ffi::rocksdb_subcompactionjobinfo_t>),
            Some(listener_noop::<ffi::rocksdb_subcompactionjobinfo_t>),
            Some(listener_noop_db::<ffi::rocksdb_externalfileingestioninfo_t>),
            Some(listener_noop_error),
            Some(listener_noop::<ffi::rocksdb_writestallinfo_t>),
            Some(listener_noop::<ffi::rocksdb_memtableinfo_t>),
        );
        assert!(!l.is_null(), "rocksdb_eventlistener_create returned null");
        ffi::rocksdb_options_add_eventlistener(opts.as_raw_ptr(), l);
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

    #[test]
    fn a_wal_filter_sees_every_batch_and_stops_replay_where_told() {
        use std::sync::{Arc, Mutex};
        let dir = tempfile::tempdir().unwrap();
        {
            let db = db(dir.path());
            for k in [&b"a"[..], b"b", b"stop", b"c"] {
                db.put(k, b"v").unwrap();
            }
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut opts = Options::default();
        let s = seen.clone();
        let filter = set_wal_filter(
            &mut opts,
            Box::new(move |data: &[u8]| {
                s.lock().unwrap().push(data.to_vec());
                // A put in the default CF: header, tag 1, key length 4, "stop".
                if data.windows(5).any(|w| w == b"\x04stop") {
                    WalDecision::StopReplay
                } else {
                    WalDecision::Continue
                }
            }),
        );
        let db = DB::open_cf(&opts, dir.path(), ["default"]).unwrap();
        assert_eq!(db.get(b"a").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(db.get(b"b").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(
            db.get(b"stop").unwrap(),
            None,
            "the batch told to stop is not replayed"
        );
        assert_eq!(db.get(b"c").unwrap(), None, "nor anything after it");
        assert_eq!(seen.lock().unwrap().len(), 3);
        assert!(
            seen.lock().unwrap()[0].len() > 12,
            "the raw batch with its header"
        );
        drop(db);
        drop(filter);
    }

    #[test]
    fn a_panicking_wal_filter_replays_everything() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = db(dir.path());
            db.put(b"a", b"v").unwrap();
            db.put(b"b", b"v").unwrap();
        }
        let mut opts = Options::default();
        let _filter = set_wal_filter(&mut opts, Box::new(|_: &[u8]| panic!("a buggy filter")));
        let db = DB::open_cf(&opts, dir.path(), ["default"]).unwrap();
        assert_eq!(db.get(b"b").unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn the_flush_begin_listener_runs_before_each_flush() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut opts = Options::default();
        opts.create_if_missing(true);
        let c = calls.clone();
        add_flush_begin_listener(
            &mut opts,
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let db = DB::open_cf(&opts, dir.path(), ["default"]).unwrap();
        db.put(b"a", b"v").unwrap();
        db.flush().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        db.put(b"b", b"v").unwrap();
        db.flush().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        drop(db);
        drop(opts);
        assert_eq!(Arc::strong_count(&calls), 1, "RocksDB freed the callback");
    }
}
