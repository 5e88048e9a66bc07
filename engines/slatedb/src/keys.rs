//! How column families live in SlateDB's one keyspace: a tag byte in front of every key.
//!
//! A stored key is `tag ++ user_key`. Tag 0 is the wrapper's own metadata (the CF catalog and
//! a format marker); CFs get tags 1 to 255, recorded in the catalog (`0x00 "cf/" name` ->
//! `[tag]`) the first time an open lists them, so a CF keeps its tag across reopens whatever
//! the order of the CF list. All keys of a CF share one byte of prefix and keep their order
//! behind it, so a CF is the contiguous range `[tag, tag + 1)` and a bounded iterator stays
//! inside it by construction. A batch across CFs is one SlateDB batch, atomic as any other.
//!
//! Cost: one byte per stored key, and at most 255 CFs per database. The empty user key
//! becomes the one-byte key `[tag]`, which SlateDB accepts (it rejects the empty key).

use std::ops::Bound;

/// The tag of the wrapper's metadata keys.
pub(crate) const META_TAG: u8 = 0;

/// The most CFs a database can hold (tags 1 to 255).
pub(crate) const MAX_CFS: usize = 255;

/// The catalog key of CF `name`.
pub(crate) fn catalog_key(name: &str) -> Vec<u8> {
    let mut k = vec![META_TAG];
    k.extend_from_slice(b"cf/");
    k.extend_from_slice(name.as_bytes());
    k
}

/// The prefix of every catalog key.
pub(crate) fn catalog_prefix() -> Vec<u8> {
    catalog_key("")
}

/// The key of the format marker, written when the database is created.
pub(crate) fn format_key() -> Vec<u8> {
    let mut k = vec![META_TAG];
    k.extend_from_slice(b"format");
    k
}

/// The format marker's value.
pub(crate) const FORMAT: &[u8] = b"engine_slatedb/1";

/// The stored key of `key` in the CF with `tag`.
pub(crate) fn encode(tag: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(tag);
    k.extend_from_slice(key);
    k
}

/// The user key of a stored key.
pub(crate) fn decode(stored: &[u8]) -> &[u8] {
    &stored[1..]
}

/// A user-key lower bound as a stored-key bound inside the CF with `tag`.
pub(crate) fn lower(tag: u8, bound: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(encode(tag, k)),
        Bound::Excluded(k) => Bound::Excluded(encode(tag, k)),
        Bound::Unbounded => Bound::Included(vec![tag]),
    }
}

/// A user-key upper bound as a stored-key bound inside the CF with `tag`.
pub(crate) fn upper(tag: u8, bound: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(encode(tag, k)),
        Bound::Excluded(k) => Bound::Excluded(encode(tag, k)),
        Bound::Unbounded if tag == u8::MAX => Bound::Unbounded,
        Bound::Unbounded => Bound::Excluded(vec![tag + 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_keys_keep_order_inside_a_cf_and_stay_inside_its_range() {
        let keys: [&[u8]; 4] = [b"", b"\x00", b"a", b"\xff\xff"];
        let stored: Vec<Vec<u8>> = keys.iter().map(|k| encode(7, k)).collect();
        assert!(stored.windows(2).all(|w| w[0] < w[1]));
        let (lo, hi) = (lower(7, Bound::Unbounded), upper(7, Bound::Unbounded));
        for s in &stored {
            assert!(matches!(&lo, Bound::Included(l) if s >= l));
            assert!(matches!(&hi, Bound::Excluded(h) if s < h));
            assert_eq!(encode(7, decode(s)), *s);
        }
        assert_eq!(upper(255, Bound::Unbounded), Bound::Unbounded);
    }

    #[test]
    fn catalog_keys_are_metadata_not_cf_keys() {
        assert_eq!(catalog_key("lock")[0], META_TAG);
        assert!(catalog_key("lock").starts_with(&catalog_prefix()));
        assert!(!format_key().starts_with(&catalog_prefix()));
    }
}
