//! Typed statistics and properties, so callers compute write amplification without parsing
//! strings.

use rocksdb::statistics::Ticker;
use rocksdb::{DB, Options};

use crate::Status;

/// RocksDB's counters since open (tickers) and current sizes (properties), in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RocksStats {
    /// `rocksdb.bytes.written`: bytes of write batches accepted (keys, values and a few bytes
    /// of record headers each).
    pub user_bytes_written: u64,
    /// `rocksdb.wal.bytes`: bytes appended to the write-ahead log.
    pub wal_bytes_written: u64,
    /// `rocksdb.flush.write.bytes`: bytes written by flushes (SSTs, and blob files when
    /// BlobDB is on: the counter comes from the flush thread's I/O statistics).
    pub flush_bytes_written: u64,
    /// `rocksdb.compact.write.bytes`: bytes written by compactions (blob files included).
    pub compaction_bytes_written: u64,
    /// `rocksdb.compact.read.bytes`: bytes read by compactions.
    pub compaction_bytes_read: u64,
    /// `rocksdb.blobdb.blob.file.bytes.written`: the blob-file part of the flush and
    /// compaction figures above (a breakdown, already counted there).
    pub blob_bytes_written: u64,
    /// `rocksdb.live-sst-files-size`, summed over the column families asked for.
    pub live_sst_size: u64,
    /// `rocksdb.total-sst-files-size`: live plus obsolete-but-not-deleted SSTs.
    pub total_sst_size: u64,
    /// `rocksdb.live-blob-file-size`, summed over the column families.
    pub live_blob_size: u64,
    /// `rocksdb.estimate-live-data-size`, summed over the column families.
    pub estimate_live_data_size: u64,
}

impl RocksStats {
    /// Bytes RocksDB wrote to storage: WAL, flushes and compactions (blob files included).
    pub fn engine_bytes_written(&self) -> u64 {
        self.wal_bytes_written + self.flush_bytes_written + self.compaction_bytes_written
    }

    /// Engine bytes written per user byte written; `None` before any write.
    pub fn write_amplification(&self) -> Option<f64> {
        (self.user_bytes_written > 0)
            .then(|| self.engine_bytes_written() as f64 / self.user_bytes_written as f64)
    }

    /// Reads the figures. `opts` must be the `Options` the DB was opened with, with
    /// statistics enabled ([`crate::open_options`] does that); `cfs` are summed for the
    /// per-CF properties.
    pub fn collect(db: &DB, opts: &Options, cfs: &[&str]) -> Result<RocksStats, Status> {
        let mut s = RocksStats {
            user_bytes_written: opts.get_ticker_count(Ticker::BytesWritten),
            wal_bytes_written: opts.get_ticker_count(Ticker::WalFileBytes),
            flush_bytes_written: opts.get_ticker_count(Ticker::FlushWriteBytes),
            compaction_bytes_written: opts.get_ticker_count(Ticker::CompactWriteBytes),
            compaction_bytes_read: opts.get_ticker_count(Ticker::CompactReadBytes),
            blob_bytes_written: opts.get_ticker_count(Ticker::BlobDbBlobFileBytesWritten),
            ..RocksStats::default()
        };
        for name in cfs {
            let cf = db
                .cf_handle(name)
                .ok_or_else(|| Status::invalid(format!("no column family {name:?}")))?;
            let prop = |p: &str| db.property_int_value_cf(cf, p).map(|v| v.unwrap_or(0));
            s.live_sst_size += prop("rocksdb.live-sst-files-size")?;
            s.total_sst_size += prop("rocksdb.total-sst-files-size")?;
            s.live_blob_size += prop("rocksdb.live-blob-file-size")?;
            s.estimate_live_data_size += prop("rocksdb.estimate-live-data-size")?;
        }
        Ok(s)
    }
}
