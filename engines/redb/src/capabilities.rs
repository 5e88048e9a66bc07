//! The capabilities beyond the core that redb can back honestly: checkpoint, manual
//! compaction and bulk ingest (statistics live with the engine, they need its counters).
//!
//! - **Checkpoint** is a logical copy: a redb read transaction (MVCC, so writers are not
//!   blocked) copied table by table into a new redb file in one durable write transaction.
//!   Every table in the file is copied, also those of CFs this handle did not open. Cost:
//!   O(live data) read and written; the copy is compact (no free pages, no history).
//! - **Manual compaction** is redb's `Database::compact`, which relocates pages towards the
//!   start of the file and truncates it. It works on the whole file (redb has no range
//!   compaction), so the range is ignored; it needs exclusive use of the database, so it
//!   waits for the writer, blocks new operations while it runs, and fails when a snapshot or
//!   iterator is alive (redb refuses to move pages a reader may hold). Cost: O(file).
//! - **Bulk ingest** has no redb primitive (no SST-style file to link in): it is one durable
//!   write transaction inserting the sorted entries. Cost: O(n log n), the same path as a
//!   batch; its only gain is one commit for the whole load.

use std::path::Path;

use engine_traits::{BulkIngest, Checkpoint, Error, ManualCompaction, Result, display_key};
use redb::{Durability, TableDefinition, TableHandle};

use crate::iterator::Bytes;
use crate::{DATA_FILE, RedbEngine, cf_index, error, table};

impl Checkpoint for RedbEngine {
    fn checkpoint(&self, dir: &Path) -> Result<()> {
        if std::fs::symlink_metadata(dir).is_ok() {
            return Err(Error::invalid(format!(
                "checkpoint directory {} already exists",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(e, dir))?;
        let result = self.copy_into(&dir.join(DATA_FILE));
        if result.is_err() {
            // A half-written copy is of no use to anyone; a retry needs the directory gone.
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }
}

impl RedbEngine {
    fn copy_into(&self, target: &Path) -> Result<()> {
        let (source, _live) = self.begin_read()?;
        let copy = redb::Database::create(target)
            .map_err(|e| error::map(e, "creating the checkpoint", target))?;
        let txn = copy
            .begin_write()
            .map_err(|e| error::map(e, "writing the checkpoint", target))?;
        let names: Vec<String> = source
            .list_tables()
            .map_err(|e| error::map(e, "listing the tables to checkpoint", &self.file))?
            .map(|t| t.name().to_owned())
            .collect();
        for name in &names {
            let what = format!("checkpoint of CF {name:?}");
            let from = source
                .open_table(TableDefinition::<Bytes, Bytes>::new(name))
                .map_err(|e| error::map(e, &what, &self.file))?;
            let mut to = txn
                .open_table(TableDefinition::<Bytes, Bytes>::new(name))
                .map_err(|e| error::map(e, &what, target))?;
            for entry in from
                .range::<&[u8]>(..)
                .map_err(|e| error::map(e, &what, &self.file))?
            {
                let (k, v) = entry.map_err(|e| error::map(e, &what, &self.file))?;
                to.insert(k.value(), v.value())
                    .map_err(|e| error::map(e, &what, target))?;
            }
        }
        txn.commit()
            .map_err(|e| error::map(e, "committing the checkpoint", target))?;
        copy.close()
            .map_err(|e| error::map(e, "closing the checkpoint", target))?;
        if let Some(dir) = target.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(e, dir))?;
        }
        Ok(())
    }
}

impl ManualCompaction for RedbEngine {
    fn compact_range(&self, cf: &str, _start: Option<&[u8]>, _end: Option<&[u8]>) -> Result<()> {
        cf_index(&self.cfs, cf)?;
        // Writer first, then the database: the order `write` takes them in.
        let mut writer = self.writer();
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        match db.compact() {
            Ok(_) => {
                // Compaction commits durably, which makes every earlier commit durable.
                writer.unsynced = false;
                Ok(())
            }
            Err(redb::CompactionError::TransactionInProgress) => Err(Error::Other(format!(
                "compaction of {}: redb compacts only while no snapshot or iterator is open",
                self.file.display()
            ))),
            Err(e) => Err(error::map(e, "compaction", &self.file)),
        }
    }
}

impl BulkIngest for RedbEngine {
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let i = cf_index(&self.cfs, cf)?;
        if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(Error::invalid(format!(
                "ingest into {cf:?}: keys not strictly ascending at {}",
                display_key(&w[1].0)
            )));
        }
        if entries.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer();
        let txn = self.begin_write(Durability::Immediate)?;
        {
            let mut t = txn
                .open_table(table(&self.cfs[i]))
                .map_err(self.err(&format!("opening CF {cf:?} for ingest")))?;
            for (k, v) in entries {
                t.insert(k.as_slice(), v.as_slice())
                    .map_err(self.err(&format!("ingest into {cf:?} of {}", display_key(k))))?;
            }
        }
        txn.commit().map_err(self.err(&format!(
            "ingest into {cf:?}: the commit failed, so the entries may or may not be present \
             after a reopen"
        )))?;
        writer.unsynced = false;
        let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.user_bytes_written
            .fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
