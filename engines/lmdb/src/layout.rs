//! How user keys become LMDB keys, and the format of the group entries that hold long keys.
//!
//! LMDB refuses two kinds of keys the trait layer must store: the empty key (`mdb_cursor_set`
//! and `mdb_put` reject a zero-length key) and keys longer than its compile-time maximum (511
//! bytes; even `MDB_MAXKEYSIZE=0` only raises it to about 1,982 bytes on 4 KiB pages, short of
//! the 16 KiB the suite stores). So every LMDB key is [`KEY_TAG`] followed by the user key,
//! which makes the empty user key a one-byte LMDB key, and a user key of `group_prefix` bytes
//! or more is stored in a *group entry*:
//!
//! - a user key `k` shorter than `group_prefix` is the LMDB key `TAG ++ k` with its value as is;
//! - every user key starting with the same `group_prefix` bytes `P` lives in one LMDB entry,
//!   key `TAG ++ P` (exactly `group_prefix + 1` bytes long, which no short key can be), whose
//!   value lists `(rest, value)` pairs sorted by `rest`, where the user key is `P ++ rest`
//!   (`rest` empty for the key `P` itself).
//!
//! Byte order is kept: every user key in the group of `P` sorts after every user key below
//! `P` and before every user key above `P ++ anything`, because a short key can neither equal
//! nor extend `P` (see `docs/src/engines/lmdb.md` for the argument), so one ordered pass over
//! the LMDB keys visits user keys in order when each group is expanded in place.
//!
//! The cost falls on long keys only: a write to a key of `group_prefix` bytes or more rewrites
//! its whole group, O(bytes of every key and value sharing its first `group_prefix` bytes).

use std::collections::BTreeMap;

/// The byte every LMDB key starts with; it makes the empty user key a non-empty LMDB key.
pub(crate) const KEY_TAG: u8 = 0x00;

/// The first byte of a group entry's value: the format of what follows.
const GROUP_FORMAT: u8 = 0x01;

/// Where keys split between direct LMDB keys and group entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// User keys at least this long live in a group entry keyed by their first
    /// `group_prefix` bytes. LMDB's maximum key size minus the tag byte.
    pub(crate) group_prefix: usize,
}

impl Layout {
    /// Whether `key` lives in a group entry.
    pub(crate) fn is_grouped(&self, key: &[u8]) -> bool {
        key.len() >= self.group_prefix
    }

    /// Whether the LMDB key `lmdb_key` is a group entry.
    pub(crate) fn is_group_entry(&self, lmdb_key: &[u8]) -> bool {
        lmdb_key.len() == self.group_prefix + 1
    }

    /// The LMDB key holding `key`: `TAG ++ key`, or `TAG ++ key[..group_prefix]` for a key of
    /// a group. It is also where a seek for `key` starts (see `iter.rs`).
    pub(crate) fn lmdb_key(&self, key: &[u8]) -> Vec<u8> {
        let head = &key[..key.len().min(self.group_prefix)];
        let mut out = Vec::with_capacity(head.len() + 1);
        out.push(KEY_TAG);
        out.extend_from_slice(head);
        out
    }

    /// The part of a grouped `key` after its group prefix (empty for the prefix itself).
    pub(crate) fn rest<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        &key[self.group_prefix..]
    }

    /// The user key of a direct (non-group) LMDB key.
    pub(crate) fn user_key<'k>(&self, lmdb_key: &'k [u8]) -> Result<&'k [u8], String> {
        match lmdb_key.split_first() {
            Some((&KEY_TAG, key)) => Ok(key),
            _ => Err(format!(
                "LMDB key {} does not start with the key tag",
                engine_traits::display_key(lmdb_key)
            )),
        }
    }
}

/// Reads a little-endian u32 length at `*at`, advancing it.
fn read_len(raw: &[u8], at: &mut usize) -> Result<usize, String> {
    let bytes = raw
        .get(*at..*at + 4)
        .ok_or_else(|| format!("group entry truncated at byte {at}"))?;
    *at += 4;
    Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
}

fn read_bytes<'v>(raw: &'v [u8], at: &mut usize, len: usize) -> Result<&'v [u8], String> {
    let bytes = raw
        .get(*at..*at + len)
        .ok_or_else(|| format!("group entry truncated at byte {at} (wanted {len} bytes)"))?;
    *at += len;
    Ok(bytes)
}

/// A group entry's `(rest, value)` pairs, in order, borrowed from its value.
pub(crate) type GroupItems<'v> = Vec<(&'v [u8], &'v [u8])>;

/// The `(rest, value)` pairs of a group entry's value, in order, borrowed from it.
pub(crate) fn decode_group(raw: &[u8]) -> Result<GroupItems<'_>, String> {
    match raw.first() {
        Some(&GROUP_FORMAT) => {}
        Some(other) => return Err(format!("group entry has unknown format byte {other:#04x}")),
        None => return Err("group entry is empty".into()),
    }
    let mut at = 1;
    let mut items: GroupItems<'_> = Vec::new();
    while at < raw.len() {
        let rest_len = read_len(raw, &mut at)?;
        let rest = read_bytes(raw, &mut at, rest_len)?;
        let value_len = read_len(raw, &mut at)?;
        let value = read_bytes(raw, &mut at, value_len)?;
        if items.last().is_some_and(|(prev, _)| *prev >= rest) {
            return Err(format!(
                "group entry keys out of order at byte {at} (suffix {})",
                engine_traits::display_key(rest)
            ));
        }
        items.push((rest, value));
    }
    Ok(items)
}

/// A group entry being edited by a write transaction: suffix to value.
#[derive(Debug, Default)]
pub(crate) struct Group {
    items: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Group {
    /// The group stored as `raw`.
    pub(crate) fn decode(raw: &[u8]) -> Result<Group, String> {
        Ok(Group {
            items: decode_group(raw)?
                .into_iter()
                .map(|(r, v)| (r.to_vec(), v.to_vec()))
                .collect(),
        })
    }

    pub(crate) fn put(&mut self, rest: &[u8], value: &[u8]) {
        self.items.insert(rest.to_vec(), value.to_vec());
    }

    pub(crate) fn delete(&mut self, rest: &[u8]) {
        self.items.remove(rest);
    }

    /// Removes every key `prefix ++ rest` in `[start, end)`.
    pub(crate) fn delete_range(&mut self, prefix: &[u8], start: &[u8], end: &[u8]) {
        self.items.retain(|rest, _| {
            let key = [prefix, rest.as_slice()].concat();
            !(start <= key.as_slice() && key.as_slice() < end)
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The value to store; `None` when a length does not fit the format's u32.
    pub(crate) fn encode(&self) -> Option<Vec<u8>> {
        let size: usize = self.items.iter().map(|(r, v)| 8 + r.len() + v.len()).sum();
        let mut out = Vec::with_capacity(1 + size);
        out.push(GROUP_FORMAT);
        for (rest, value) in &self.items {
            out.extend_from_slice(&u32::try_from(rest.len()).ok()?.to_le_bytes());
            out.extend_from_slice(rest);
            out.extend_from_slice(&u32::try_from(value.len()).ok()?.to_le_bytes());
            out.extend_from_slice(value);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: Layout = Layout { group_prefix: 4 };

    #[test]
    fn short_keys_get_the_tag_and_long_keys_their_group_prefix() {
        assert_eq!(LAYOUT.lmdb_key(b""), vec![KEY_TAG]);
        assert_eq!(LAYOUT.lmdb_key(b"abc"), b"\0abc".to_vec());
        assert_eq!(LAYOUT.lmdb_key(b"abcd"), b"\0abcd".to_vec());
        assert_eq!(LAYOUT.lmdb_key(b"abcdefg"), b"\0abcd".to_vec());
        assert!(!LAYOUT.is_grouped(b"abc"));
        assert!(LAYOUT.is_grouped(b"abcd"));
        assert!(LAYOUT.is_group_entry(b"\0abcd"));
        assert!(!LAYOUT.is_group_entry(b"\0abc"));
    }

    #[test]
    fn a_group_roundtrips_in_suffix_order() {
        let mut g = Group::default();
        g.put(b"zz", b"2");
        g.put(b"", b"own");
        g.put(b"a", b"");
        let raw = g.encode().unwrap();
        let items = decode_group(&raw).unwrap();
        assert_eq!(
            items,
            vec![
                (&b""[..], &b"own"[..]),
                (&b"a"[..], &b""[..]),
                (&b"zz"[..], &b"2"[..])
            ]
        );
        g.delete_range(b"abcd", b"abcd", b"abcdb");
        assert_eq!(decode_group(&g.encode().unwrap()).unwrap().len(), 1);
    }

    #[test]
    fn damaged_groups_are_reported() {
        assert!(decode_group(b"").is_err());
        assert!(decode_group(b"\x02").is_err());
        assert!(decode_group(b"\x01\x05\0\0\0ab").is_err());
        let mut raw = vec![GROUP_FORMAT];
        for rest in [b"b", b"a"] {
            raw.extend_from_slice(&1u32.to_le_bytes());
            raw.extend_from_slice(rest);
            raw.extend_from_slice(&0u32.to_le_bytes());
        }
        assert!(decode_group(&raw).unwrap_err().contains("out of order"));
    }
}
