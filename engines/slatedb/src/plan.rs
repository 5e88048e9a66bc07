//! From an [`OpBatch`] to the one SlateDB batch that commits it: the batch's net effect.
//!
//! SlateDB gives every entry of a batch one sequence number and keeps one operation per key
//! (a later put or delete replaces an earlier one), and it has no range tombstone. So the
//! operations are replayed in order into a map from stored key to "put this value" or
//! "delete": a later operation on a key replaces an earlier one, and `delete_range` marks
//! deleted every key in its range that the batch wrote so far *and* every key the database
//! holds there (the `scan` callback, run by the caller under its exclusive write gate).
//!
//! Cost: `O(n log n)` for `n` operations, plus, per `delete_range`, a scan of the range (keys
//! and values are read: SlateDB has no key-only scan) and one tombstone per key found.

use std::collections::BTreeMap;
use std::ops::Bound;

use engine_traits::{BatchOp, Result};

use crate::keys;

/// The net effect of a batch by stored key: `Some(value)` puts, `None` deletes.
pub(crate) type NetEffect<'b> = BTreeMap<Vec<u8>, Option<&'b [u8]>>;

/// Replays `ops` into their net effect. `tags[cf]` is the tag of CF number `cf`;
/// `scan(cf, start, end)` returns the stored keys the database holds in the user-key range
/// `[start, end)` of CF number `cf`.
pub(crate) fn net_effect<'b>(
    ops: &'b [BatchOp],
    tags: &[u8],
    mut scan: impl FnMut(usize, &[u8], &[u8]) -> Result<Vec<Vec<u8>>>,
) -> Result<NetEffect<'b>> {
    let mut out = NetEffect::new();
    for op in ops {
        match op {
            BatchOp::Put { cf, key, value } => {
                out.insert(keys::encode(tags[*cf], key), Some(&value[..]));
            }
            BatchOp::Delete { cf, key } => {
                out.insert(keys::encode(tags[*cf], key), None);
            }
            BatchOp::DeleteRange { cf, start, end } => {
                if start >= end {
                    continue;
                }
                let lo = keys::encode(tags[*cf], start);
                let hi = keys::encode(tags[*cf], end);
                let written: Vec<Vec<u8>> = out
                    .range::<Vec<u8>, _>((Bound::Included(&lo), Bound::Excluded(&hi)))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in written {
                    out.insert(k, None);
                }
                for key in scan(*cf, start, end)? {
                    out.insert(key, None);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cf: usize, k: &str, v: &str) -> BatchOp {
        BatchOp::Put {
            cf,
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn later_operations_on_a_key_win() {
        let ops = vec![
            put(0, "x", "1"),
            BatchOp::Delete {
                cf: 0,
                key: b"x".to_vec(),
            },
            BatchOp::Delete {
                cf: 0,
                key: b"y".to_vec(),
            },
            put(0, "y", "2"),
        ];
        let plan = net_effect(&ops, &[1], |_, _, _| Ok(vec![])).unwrap();
        assert_eq!(plan[&keys::encode(1, b"x")], None);
        assert_eq!(plan[&keys::encode(1, b"y")], Some(&b"2"[..]));
    }

    #[test]
    fn delete_range_covers_stored_and_batched_keys_of_its_cf_only() {
        let ops = vec![
            put(0, "bb", "batched"),
            put(1, "bc", "other cf"),
            BatchOp::DeleteRange {
                cf: 0,
                start: b"b".to_vec(),
                end: b"d".to_vec(),
            },
            put(0, "c", "again"),
        ];
        let plan = net_effect(&ops, &[1, 2], |cf, s, e| {
            assert_eq!((cf, s, e), (0, &b"b"[..], &b"d"[..]));
            Ok(vec![keys::encode(1, b"b"), keys::encode(1, b"c")])
        })
        .unwrap();
        assert_eq!(plan[&keys::encode(1, b"b")], None);
        assert_eq!(plan[&keys::encode(1, b"bb")], None);
        assert_eq!(plan[&keys::encode(1, b"c")], Some(&b"again"[..]));
        assert_eq!(plan[&keys::encode(2, b"bc")], Some(&b"other cf"[..]));
    }
}
