//! From an [`OpBatch`] to the one fjall batch that commits it: the batch's net effect.
//!
//! fjall commits every item of a batch under one sequence number, so two items for the same
//! key would compete on equal footing; and fjall has no range tombstone. So the operations are
//! replayed in order into a map from (CF, key) to "put this value" or "delete": a later
//! operation on a key replaces an earlier one, and `delete_range` marks deleted every key in
//! its range that the batch wrote so far *and* every key the database holds there at the
//! caller's snapshot (the `scan` callback). The map, in key order, becomes the fjall batch.
//! Keys in the map are stored keys (see [`crate::keys`]).
//!
//! Cost: `O(n log n)` for `n` operations, plus `O(keys in range)` reads and tombstones for each
//! `delete_range`. The scan is only consistent with the commit if no other write lands in
//! between, which the engine guarantees by taking its write gate exclusively for batches with a
//! `delete_range` (see `FjallEngine::write`).

use std::collections::BTreeMap;
use std::ops::Bound;

use engine_traits::{BatchOp, Result};
use fjall::Slice;

use crate::keys;

/// The net effect of a batch, by (CF number, stored key): `Some(value)` puts, `None` deletes.
pub(crate) type NetEffect<'b> = BTreeMap<(usize, Slice), Option<&'b [u8]>>;

/// Replays `ops` into their net effect. `scan(cf, start, end)` returns the stored keys the
/// database holds in the user-key range `[start, end)` of CF number `cf`, at the snapshot the
/// batch is planned against.
pub(crate) fn net_effect<'b>(
    ops: &'b [BatchOp],
    mut scan: impl FnMut(usize, &[u8], &[u8]) -> Result<Vec<Slice>>,
) -> Result<NetEffect<'b>> {
    let mut out = NetEffect::new();
    for op in ops {
        match op {
            BatchOp::Put { cf, key, value } => {
                out.insert((*cf, keys::encode(key)), Some(&value[..]));
            }
            BatchOp::Delete { cf, key } => {
                out.insert((*cf, keys::encode(key)), None);
            }
            BatchOp::DeleteRange { cf, start, end } => {
                if start >= end {
                    continue;
                }
                let lo = (*cf, keys::encode(start));
                let hi = (*cf, keys::encode(end));
                let written: Vec<(usize, Slice)> = out
                    .range((Bound::Included(lo), Bound::Excluded(hi)))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in written {
                    out.insert(k, None);
                }
                for key in scan(*cf, start, end)? {
                    out.insert((*cf, key), None);
                }
            }
        }
    }
    Ok(out)
}

/// Bytes fjall's journal takes for a batch of `items` (key length, value length) with journal
/// compression off: a start marker (tag, item count, seqno: 13 bytes), each item (tag, value
/// type, compression, keyspace id, key length, value length, stored length: 21 bytes, then
/// key and value), and an end marker (tag, checksum, the 4-byte trailer: 13 bytes). This is
/// `fjall::journal::writer::Writer::write_batch` of fjall 3.1.13 byte for byte; the test
/// `journal_bytes_match_the_recovered_journal` pins it against a real journal.
pub(crate) fn journal_bytes(items: impl Iterator<Item = (usize, usize)>) -> u64 {
    const START: u64 = 1 + 4 + 8;
    const ITEM: u64 = 1 + 1 + 1 + 8 + 2 + 4 + 4;
    const END: u64 = 1 + 8 + 4;
    START + END + items.map(|(k, v)| ITEM + (k + v) as u64).sum::<u64>()
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
        let plan = net_effect(&ops, |_, _, _| Ok(vec![])).unwrap();
        assert_eq!(plan[&(0, keys::encode(b"x"))], None);
        assert_eq!(plan[&(0, keys::encode(b"y"))], Some(&b"2"[..]));
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
        let plan = net_effect(&ops, |cf, s, e| {
            assert_eq!((cf, s, e), (0, &b"b"[..], &b"d"[..]));
            Ok(vec![keys::encode(b"b"), keys::encode(b"c")])
        })
        .unwrap();
        assert_eq!(plan[&(0, keys::encode(b"b"))], None);
        assert_eq!(plan[&(0, keys::encode(b"bb"))], None);
        assert_eq!(plan[&(0, keys::encode(b"c"))], Some(&b"again"[..]));
        assert_eq!(plan[&(1, keys::encode(b"bc"))], Some(&b"other cf"[..]));
    }
}
