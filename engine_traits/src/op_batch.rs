//! A ready-made [`WriteBatch`]: an operation log with save points.
//!
//! Engines that apply batches themselves (memory, Titan's separation layer) keep the
//! operations as data instead of re-implementing save points and size accounting.

use std::sync::Arc;

use crate::{Error, Result, WriteBatch, check_range};

/// One operation in an [`OpBatch`]; `cf` indexes the batch's CF list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    /// `key = value`.
    Put {
        /// CF index.
        cf: usize,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete `key`.
    Delete {
        /// CF index.
        cf: usize,
        /// The key.
        key: Vec<u8>,
    },
    /// Delete `[start, end)`.
    DeleteRange {
        /// CF index.
        cf: usize,
        /// First key deleted.
        start: Vec<u8>,
        /// First key kept.
        end: Vec<u8>,
    },
}

impl BatchOp {
    fn data_size(&self) -> usize {
        match self {
            BatchOp::Put { key, value, .. } => key.len() + value.len(),
            BatchOp::Delete { key, .. } => key.len(),
            BatchOp::DeleteRange { start, end, .. } => start.len() + end.len(),
        }
    }
}

/// A [`WriteBatch`] that records operations against a fixed list of column families.
#[derive(Clone, Debug)]
pub struct OpBatch {
    cfs: Arc<[String]>,
    ops: Vec<BatchOp>,
    data_size: usize,
    /// (ops.len(), data_size) at each save point.
    save_points: Vec<(usize, usize)>,
}

impl OpBatch {
    /// An empty batch over `cfs`; operation CF indexes refer to this list.
    pub fn new(cfs: Arc<[String]>) -> Self {
        OpBatch {
            cfs,
            ops: Vec::new(),
            data_size: 0,
            save_points: Vec::new(),
        }
    }

    /// The operations, in the order they were added.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// The CF list the indexes refer to.
    pub fn cfs(&self) -> &[String] {
        &self.cfs
    }

    /// `InvalidArgument` unless this batch was made for an engine with exactly `cfs`: its
    /// CF indexes would point at the wrong column families otherwise.
    pub fn check_cfs(&self, cfs: &[String]) -> Result<()> {
        if &self.cfs[..] != cfs {
            return Err(Error::invalid(
                "write batch was made by an engine with other column families",
            ));
        }
        Ok(())
    }

    fn cf_index(&self, cf: &str) -> Result<usize> {
        self.cfs
            .iter()
            .position(|c| c == cf)
            .ok_or_else(|| Error::unknown_cf(cf))
    }

    fn push(&mut self, op: BatchOp) {
        self.data_size += op.data_size();
        self.ops.push(op);
    }
}

impl WriteBatch for OpBatch {
    fn put(&mut self, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let cf = self.cf_index(cf)?;
        self.push(BatchOp::Put {
            cf,
            key: key.to_vec(),
            value: value.to_vec(),
        });
        Ok(())
    }

    fn delete(&mut self, cf: &str, key: &[u8]) -> Result<()> {
        let cf = self.cf_index(cf)?;
        self.push(BatchOp::Delete {
            cf,
            key: key.to_vec(),
        });
        Ok(())
    }

    fn delete_range(&mut self, cf: &str, start: &[u8], end: &[u8]) -> Result<()> {
        let cf = self.cf_index(cf)?;
        check_range(start, end)?;
        self.push(BatchOp::DeleteRange {
            cf,
            start: start.to_vec(),
            end: end.to_vec(),
        });
        Ok(())
    }

    fn count(&self) -> usize {
        self.ops.len()
    }

    fn data_size(&self) -> usize {
        self.data_size
    }

    fn clear(&mut self) {
        self.ops.clear();
        self.data_size = 0;
        self.save_points.clear();
    }

    fn set_save_point(&mut self) {
        self.save_points.push((self.ops.len(), self.data_size));
    }

    fn rollback_to_save_point(&mut self) -> Result<()> {
        let (len, size) = self
            .save_points
            .pop()
            .ok_or_else(|| Error::invalid("rollback_to_save_point: no save point is set"))?;
        self.ops.truncate(len);
        self.data_size = size;
        Ok(())
    }

    fn pop_save_point(&mut self) -> Result<()> {
        self.save_points
            .pop()
            .map(|_| ())
            .ok_or_else(|| Error::invalid("pop_save_point: no save point is set"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn batch() -> OpBatch {
        OpBatch::new(vec!["default".to_owned(), "lock".to_owned()].into())
    }

    #[test]
    fn nested_save_points_roll_back_in_order() {
        let mut b = batch();
        b.put("default", b"a", b"1").unwrap();
        b.set_save_point();
        b.put("lock", b"b", b"22").unwrap();
        b.set_save_point();
        b.delete("default", b"a").unwrap();
        b.rollback_to_save_point().unwrap();
        assert_eq!(b.count(), 2);
        assert_eq!(b.data_size(), 5);
        b.rollback_to_save_point().unwrap();
        assert_eq!(b.count(), 1);
        assert_eq!(b.data_size(), 2);
        assert_eq!(
            b.rollback_to_save_point().unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(b.count(), 1);
    }

    #[test]
    fn unknown_cf_leaves_batch_unchanged() {
        let mut b = batch();
        let e = b.put("nope", b"k", b"v").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownCf);
        assert!(b.is_empty());
    }
}
