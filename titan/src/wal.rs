//! Prefix recovery: the WAL filter Titan installs in RocksDB.
//!
//! An unsynced write appends its large values to the active blob file and then writes its
//! batch (with their blob indexes) to RocksDB's WAL, neither fsynced. A power cut may keep the
//! WAL's unsynced tail and drop the blob file's: the WAL then holds batches whose indexes
//! point past where the blob file now ends. Deleting those keys after the fact tears their
//! batches and loses the keys' earlier values. Instead, RocksDB's replay of the WAL is stopped
//! at the *first* batch holding such an index ([`check_batch`] answers
//! [`WalDecision::StopReplay`]): RocksDB discards it and every later batch, so the LSM holds a
//! prefix of the write history.
//!
//! Only files the previous process was appending to (`truncated`, from
//! [`crate::storage::BlobStorage::open_recording`], opened before RocksDB) are checked: a
//! sealed file was fsynced whole, and an index into a file not on disk at all may be
//! legitimate (a WAL can hold old indexes into files GC has since deleted, overwritten later).
//!
//! Batches are RocksDB's WriteBatch representation (`db/write_batch.cc`): a 12-byte header
//! (sequence number, count), then records, each a tag byte (`ValueType`, `db/dbformat.h`),
//! for the `ColumnFamily*` tags a varint32 CF id, then the tag's fields. Every tag
//! `ReadRecordFromWriteBatch` accepts is parsed; only puts (plain and timed) can carry a Titan
//! index. A batch this parser cannot read to its end (an unknown tag, a malformed record)
//! cannot be verified: it is replayed ([`WalDecision::Continue`]), and
//! `drop_dangling_indexes` after open stays the last line of defence.

use std::collections::BTreeMap;

use rust_rocksdb::raw::WalDecision;

use crate::format::{self, BlobIndex, LsmValue};

const HEADER: usize = 12;

// ValueType tags that can appear in a WriteBatch (db/dbformat.h).
const DELETION: u8 = 0x0;
const VALUE: u8 = 0x1;
const MERGE: u8 = 0x2;
const LOG_DATA: u8 = 0x3;
const CF_DELETION: u8 = 0x4;
const CF_VALUE: u8 = 0x5;
const CF_MERGE: u8 = 0x6;
const SINGLE_DELETION: u8 = 0x7;
const CF_SINGLE_DELETION: u8 = 0x8;
const BEGIN_PREPARE_XID: u8 = 0x9;
const END_PREPARE_XID: u8 = 0xA;
const COMMIT_XID: u8 = 0xB;
const ROLLBACK_XID: u8 = 0xC;
const NOOP: u8 = 0xD;
const CF_RANGE_DELETION: u8 = 0xE;
const RANGE_DELETION: u8 = 0xF;
const CF_BLOB_INDEX: u8 = 0x10;
const BLOB_INDEX: u8 = 0x11;
const BEGIN_PERSISTED_PREPARE_XID: u8 = 0x12;
const BEGIN_UNPREPARE_XID: u8 = 0x13;
const COMMIT_XID_AND_TIMESTAMP: u8 = 0x15;
const WIDE_COLUMN_ENTITY: u8 = 0x16;
const CF_WIDE_COLUMN_ENTITY: u8 = 0x17;
const VALUE_PREFERRED_SEQNO: u8 = 0x18;
const CF_VALUE_PREFERRED_SEQNO: u8 = 0x19;

/// Why a batch could not be verified.
#[derive(Debug, PartialEq, Eq)]
pub enum Unverifiable {
    /// Shorter than the 12-byte header.
    NoHeader,
    /// A tag RocksDB 11.8's WriteBatch does not have: its record's length is unknown.
    UnknownTag(u8),
    /// A record runs past the end of the batch, or a varint is bad.
    Malformed,
}

fn varint32(data: &[u8], at: &mut usize) -> Result<u32, Unverifiable> {
    let mut v = 0u32;
    for shift in (0..35).step_by(7) {
        let b = *data.get(*at).ok_or(Unverifiable::Malformed)?;
        *at += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Unverifiable::Malformed)
}

fn slice<'a>(data: &'a [u8], at: &mut usize) -> Result<&'a [u8], Unverifiable> {
    let len = varint32(data, at)? as usize;
    let end = at.checked_add(len).ok_or(Unverifiable::Malformed)?;
    let s = data.get(*at..end).ok_or(Unverifiable::Malformed)?;
    *at = end;
    Ok(s)
}

/// The put values of a batch, in order (parsing every record to find them).
pub fn put_values(data: &[u8]) -> Result<Vec<&[u8]>, Unverifiable> {
    if data.len() < HEADER {
        return Err(Unverifiable::NoHeader);
    }
    let mut out = Vec::new();
    let mut at = HEADER;
    while at < data.len() {
        let tag = data[at];
        at += 1;
        match tag {
            CF_VALUE
            | CF_DELETION
            | CF_SINGLE_DELETION
            | CF_RANGE_DELETION
            | CF_MERGE
            | CF_BLOB_INDEX
            | CF_WIDE_COLUMN_ENTITY
            | CF_VALUE_PREFERRED_SEQNO => {
                varint32(data, &mut at)?;
            }
            _ => {}
        }
        match tag {
            VALUE | CF_VALUE => {
                slice(data, &mut at)?;
                out.push(slice(data, &mut at)?);
            }
            VALUE_PREFERRED_SEQNO | CF_VALUE_PREFERRED_SEQNO => {
                // A timed put: the value packed with an 8-byte write time after it.
                slice(data, &mut at)?;
                let packed = slice(data, &mut at)?;
                let value = packed
                    .len()
                    .checked_sub(8)
                    .map(|n| &packed[..n])
                    .ok_or(Unverifiable::Malformed)?;
                out.push(value);
            }
            DELETION | CF_DELETION | SINGLE_DELETION | CF_SINGLE_DELETION => {
                slice(data, &mut at)?;
            }
            // Key and a second slice: range end, merge operand, RocksDB's own blob index,
            // wide-column entity. None of them is a Titan index (Titan writes plain puts).
            RANGE_DELETION
            | CF_RANGE_DELETION
            | MERGE
            | CF_MERGE
            | BLOB_INDEX
            | CF_BLOB_INDEX
            | WIDE_COLUMN_ENTITY
            | CF_WIDE_COLUMN_ENTITY => {
                slice(data, &mut at)?;
                slice(data, &mut at)?;
            }
            LOG_DATA | END_PREPARE_XID | COMMIT_XID | ROLLBACK_XID => {
                slice(data, &mut at)?;
            }
            COMMIT_XID_AND_TIMESTAMP => {
                slice(data, &mut at)?; // the commit timestamp
                slice(data, &mut at)?; // the xid
            }
            NOOP | BEGIN_PREPARE_XID | BEGIN_PERSISTED_PREPARE_XID | BEGIN_UNPREPARE_XID => {}
            other => return Err(Unverifiable::UnknownTag(other)),
        }
    }
    Ok(out)
}

/// The first index in the batch that points past where its file's records end, if any.
/// `truncated` maps a file the previous process was appending to to that end.
pub fn first_dangling(
    data: &[u8],
    truncated: &BTreeMap<u64, u64>,
) -> Result<Option<BlobIndex>, Unverifiable> {
    Ok(put_values(data)?
        .into_iter()
        .find_map(|v| match format::decode_lsm(v) {
            Some(LsmValue::Blob(idx))
                if truncated
                    .get(&idx.file)
                    .is_some_and(|&end| idx.offset + u64::from(idx.len) > end) =>
            {
                Some(idx)
            }
            _ => None,
        }))
}

/// The filter's decision for one batch: stop at a dangling index, else replay (also when the
/// batch cannot be verified: see the module docs).
pub fn check_batch(data: &[u8], truncated: &BTreeMap<u64, u64>) -> WalDecision {
    match first_dangling(data, truncated) {
        Ok(Some(_)) => WalDecision::StopReplay,
        Ok(None) | Err(_) => WalDecision::Continue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        vec![0u8; HEADER]
    }

    fn put_slice(b: &mut Vec<u8>, s: &[u8]) {
        let mut n = s.len() as u32;
        while n >= 0x80 {
            b.push((n as u8) | 0x80);
            n >>= 7;
        }
        b.push(n as u8);
        b.extend_from_slice(s);
    }

    fn idx(file: u64, offset: u64, len: u32) -> Vec<u8> {
        format::encode_index(BlobIndex { file, offset, len })
    }

    #[test]
    fn every_record_type_is_parsed_and_only_puts_are_checked() {
        let mut b = header();
        // Every tag, with and without a CF id where it has one.
        b.push(DELETION);
        put_slice(&mut b, b"k");
        b.push(CF_DELETION);
        b.push(3);
        put_slice(&mut b, b"k");
        b.push(SINGLE_DELETION);
        put_slice(&mut b, b"k");
        b.push(CF_SINGLE_DELETION);
        b.push(3);
        put_slice(&mut b, b"k");
        for (plain, cf) in [
            (RANGE_DELETION, CF_RANGE_DELETION),
            (MERGE, CF_MERGE),
            (BLOB_INDEX, CF_BLOB_INDEX),
            (WIDE_COLUMN_ENTITY, CF_WIDE_COLUMN_ENTITY),
        ] {
            // Second slices that look like dangling Titan indexes are not puts: ignored.
            b.push(plain);
            put_slice(&mut b, b"k");
            put_slice(&mut b, &idx(9, 0, 100));
            b.push(cf);
            b.push(0x81); // a two-byte varint CF id (129)
            b.push(0x01);
            put_slice(&mut b, b"k");
            put_slice(&mut b, &idx(9, 0, 100));
        }
        b.push(LOG_DATA);
        put_slice(&mut b, b"blob");
        for t in [
            NOOP,
            BEGIN_PREPARE_XID,
            BEGIN_PERSISTED_PREPARE_XID,
            BEGIN_UNPREPARE_XID,
        ] {
            b.push(t);
        }
        for t in [END_PREPARE_XID, COMMIT_XID, ROLLBACK_XID] {
            b.push(t);
            put_slice(&mut b, b"xid");
        }
        b.push(COMMIT_XID_AND_TIMESTAMP);
        put_slice(&mut b, b"ts");
        put_slice(&mut b, b"xid");
        // The puts.
        b.push(VALUE);
        put_slice(&mut b, b"a");
        put_slice(&mut b, &format::encode_inline(b"small"));
        b.push(CF_VALUE);
        b.push(2);
        put_slice(&mut b, b"b");
        put_slice(&mut b, &idx(9, 12, 100));
        b.push(VALUE_PREFERRED_SEQNO);
        put_slice(&mut b, b"c");
        let mut packed = idx(9, 200, 100);
        packed.extend_from_slice(&[0u8; 8]);
        put_slice(&mut b, &packed);
        b.push(CF_VALUE_PREFERRED_SEQNO);
        b.push(1);
        put_slice(&mut b, b"d");
        put_slice(&mut b, &packed);

        let values = put_values(&b).unwrap();
        assert_eq!(values.len(), 4);
        let t = |end| BTreeMap::from([(9u64, end)]);
        // File 9 kept up to 112: b's record (12..112) is whole, c's (200..300) is not.
        assert_eq!(
            first_dangling(&b, &t(112)).unwrap(),
            Some(BlobIndex {
                file: 9,
                offset: 200,
                len: 100
            })
        );
        assert_eq!(check_batch(&b, &t(112)), WalDecision::StopReplay);
        assert_eq!(check_batch(&b, &t(300)), WalDecision::Continue);
        assert_eq!(check_batch(&b, &t(111)), WalDecision::StopReplay);
        // Files not in `truncated` are not checked.
        assert_eq!(
            check_batch(&b, &BTreeMap::from([(8, 0)])),
            WalDecision::Continue
        );
    }

    #[test]
    fn a_batch_that_cannot_be_read_is_replayed() {
        let t = BTreeMap::from([(9u64, 0u64)]);
        assert_eq!(put_values(&[0u8; 5]), Err(Unverifiable::NoHeader));
        let mut b = header();
        b.push(0x14); // DeletionWithTimestamp: never in a WriteBatch
        put_slice(&mut b, b"k");
        assert_eq!(put_values(&b), Err(Unverifiable::UnknownTag(0x14)));
        assert_eq!(check_batch(&b, &t), WalDecision::Continue);
        let mut b = header();
        b.push(VALUE);
        put_slice(&mut b, b"k");
        b.push(50); // a value length past the end
        assert_eq!(put_values(&b), Err(Unverifiable::Malformed));
        assert_eq!(check_batch(&b, &t), WalDecision::Continue);
        assert_eq!(put_values(&header()).unwrap(), Vec::<&[u8]>::new());
    }
}
