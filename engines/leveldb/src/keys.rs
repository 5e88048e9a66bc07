//! The one LevelDB keyspace, divided: a tag byte per column family before every user key.
//!
//! - Tag `0x00`: the wrapper's own records (the format, the CF catalog, the sequence padding).
//! - Tags `0x01..=0xFE`: column families, assigned at first use and kept in the catalog, so a
//!   CF keeps its tag across opens whether or not a later open lists it. (`0xFF` is left
//!   free, so `tag + 1` always exists as a CF's end.)
//!
//! A user key is stored escaped: each `0x00` byte becomes `0x00 0xFF`, and `0x00 0x01` ends
//! the key. The escaping keeps bytewise order (so a CF's keys, in order, are exactly the range
//! `[tag, tag + 1)`, and bounds and ranges compare as the user keys do), and no stored key
//! ever ends in `0x00`. That last property sidesteps a bug of rusty-leveldb 4.0.2: its
//! separator between adjacent table blocks whose keys are `k` and `k ++ [0x00]` is
//! `k ++ [0x00]` itself, and `DB::get` of the second key then looks in the wrong block and
//! reports it missing (`tests/upstream.rs`). Cost: two bytes per key, one per `0x00` byte.

use engine_traits::{Error, Result, display_key};

/// The wrapper's own records.
pub(crate) const META_TAG: u8 = 0x00;
/// The first and last tags a column family can get.
const FIRST_CF_TAG: u8 = 0x01;
const LAST_CF_TAG: u8 = 0xFE;

/// The key of the format record.
pub(crate) const FORMAT_KEY: &[u8] = b"\x00format";
/// Its value: a database written by another layout is refused.
pub(crate) const FORMAT_VERSION: &[u8] = b"engine_leveldb/1";
/// The key of the CF catalog.
pub(crate) const CATALOG_KEY: &[u8] = b"\x00cfs";
/// The key the sequence padding deletes (see `State::take_snapshot`).
pub(crate) const PAD_KEY: &[u8] = b"\x00pad";

/// What ends every stored user key.
const TERMINATOR: [u8; 2] = [0x00, 0x01];
/// What a `0x00` byte of a user key is stored as.
const ESCAPED_ZERO: [u8; 2] = [0x00, 0xFF];

/// `tag ++ escaped(key) ++ 0x00 0x01`: the stored form of `key` in the CF tagged `tag`.
pub(crate) fn encode(tag: u8, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 3);
    out.push(tag);
    for &b in key {
        if b == 0 {
            out.extend_from_slice(&ESCAPED_ZERO);
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&TERMINATOR);
    out
}

/// The user key of a stored key made by [`encode`].
pub(crate) fn decode(stored: &[u8]) -> Vec<u8> {
    let body = &stored[1..stored.len().saturating_sub(TERMINATOR.len()).max(1)];
    let mut out = Vec::with_capacity(body.len());
    let mut bytes = body.iter();
    while let Some(&b) = bytes.next() {
        out.push(b);
        if b == 0 {
            // The escape's second byte.
            bytes.next();
        }
    }
    out
}

/// The CF catalog: which tag each CF name has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Catalog {
    entries: Vec<(String, u8)>,
}

impl Catalog {
    /// Decodes the catalog record: entries of `tag, u32 name length (big-endian), name`.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Catalog> {
        let bad = |why: &str| {
            Error::corruption(
                format!("the column family catalog record is damaged: {why}"),
                None,
                None,
            )
        };
        let mut entries = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if rest.len() < 5 {
                return Err(bad("truncated entry"));
            }
            let tag = rest[0];
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            let name = rest.get(5..5 + len).ok_or_else(|| bad("truncated name"))?;
            let name = String::from_utf8(name.to_vec()).map_err(|_| bad("name is not UTF-8"))?;
            if !(FIRST_CF_TAG..=LAST_CF_TAG).contains(&tag) {
                return Err(bad(&format!("CF {name:?} has reserved tag {tag:#04x}")));
            }
            entries.push((name, tag));
            rest = &rest[5 + len..];
        }
        Ok(Catalog { entries })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, tag) in &self.entries {
            out.push(*tag);
            out.extend_from_slice(&(name.len() as u32).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        out
    }

    /// The tag of `cf`, assigning the next free one when `cf` is new. Errors when every tag is
    /// taken (LevelDB keeps at most 254 CFs in one database this way).
    pub(crate) fn tag_for(&mut self, cf: &str) -> Result<u8> {
        if let Some((_, tag)) = self.entries.iter().find(|(n, _)| n == cf) {
            return Ok(*tag);
        }
        let next = self
            .entries
            .iter()
            .map(|(_, t)| *t)
            .max()
            .map_or(Some(FIRST_CF_TAG), |t| t.checked_add(1))
            .filter(|t| *t <= LAST_CF_TAG)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "cannot create column family {}: this database already holds the {} column \
                     families one LevelDB keyspace can tag",
                    display_key(cf.as_bytes()),
                    LAST_CF_TAG - FIRST_CF_TAG + 1
                ))
            })?;
        self.entries.push((cf.to_owned(), next));
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_round_trips_and_keeps_tags() {
        let mut c = Catalog::default();
        assert_eq!(c.tag_for("default").unwrap(), 1);
        assert_eq!(c.tag_for("lock").unwrap(), 2);
        assert_eq!(c.tag_for("default").unwrap(), 1);
        let back = Catalog::decode(&c.encode()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn a_damaged_catalog_is_corruption() {
        let e = Catalog::decode(&[1, 0, 0, 0, 9, b'a']).unwrap_err();
        assert_eq!(e.kind(), engine_traits::ErrorKind::Corruption);
    }

    #[test]
    fn tags_run_out_with_a_clear_error() {
        let mut c = Catalog::default();
        for i in 0..254 {
            c.tag_for(&format!("cf{i}")).unwrap();
        }
        let e = c.tag_for("one-too-many").unwrap_err();
        assert_eq!(e.kind(), engine_traits::ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("one-too-many"), "{e}");
    }

    #[test]
    fn tags_order_cfs_and_keys_within_them() {
        assert!(encode(1, b"zzz") < encode(2, b""));
        assert!(encode(1, b"a") < encode(1, b"b"));
        assert!(vec![1u8] < encode(1, b""));
    }

    #[test]
    fn encoding_keeps_order_round_trips_and_never_ends_in_zero() {
        let keys: Vec<&[u8]> = vec![
            b"",
            b"\x00",
            b"\x00\x00",
            b"\x00\x01",
            b"\x00\xff",
            b"\x01",
            b"a",
            b"a\x00",
            b"a\x00\x00",
            b"a\x00b",
            b"a\x01",
            b"ab",
            b"b",
            b"\xff",
            b"\xff\x00",
            b"\xff\xff",
        ];
        for w in keys.windows(2) {
            assert!(w[0] < w[1], "the list is sorted");
            assert!(
                encode(3, w[0]) < encode(3, w[1]),
                "{:?} < {:?} after encoding",
                w[0],
                w[1]
            );
        }
        for k in &keys {
            let e = encode(3, k);
            assert_eq!(decode(&e), *k);
            assert_ne!(e.last(), Some(&0));
        }
    }
}
