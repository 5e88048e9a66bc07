//! How a user key is stored in fjall: behind one tag byte.
//!
//! The trait layer has an empty key; fjall's write batches assert that keys are not empty
//! (`fjall::batch::item::Item::new`). Storing every key as `0x00 ++ key` makes every stored key
//! non-empty while keeping bytewise order (and so bounds, seeks and prefixes) unchanged: the
//! map is strictly monotonic. Cost: one byte per key in the journal and the tables, and the
//! longest user key is one byte shorter than fjall's limit.

use std::ops::Bound;

use fjall::Slice;

/// The byte in front of every stored key.
const TAG: u8 = 0;

/// The stored form of `key`.
pub(crate) fn encode(key: &[u8]) -> Slice {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(TAG);
    out.extend_from_slice(key);
    Slice::from(out)
}

/// The user key of a stored key.
pub(crate) fn decode(stored: &[u8]) -> &[u8] {
    debug_assert_eq!(
        stored.first(),
        Some(&TAG),
        "every stored key carries the tag"
    );
    &stored[1..]
}

/// A bound on user keys as a bound on stored keys.
pub(crate) fn encode_bound(b: Bound<Vec<u8>>) -> Bound<Slice> {
    match b {
        Bound::Included(k) => Bound::Included(encode(&k)),
        Bound::Excluded(k) => Bound::Excluded(encode(&k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_order_and_round_trips() {
        let keys: [&[u8]; 5] = [b"", b"\x00", b"\x00\x00", b"a", b"\xff"];
        for w in keys.windows(2) {
            assert!(encode(w[0]) < encode(w[1]));
        }
        for k in keys {
            assert_eq!(decode(&encode(k)), k);
        }
    }
}
