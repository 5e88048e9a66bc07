//! The blob file format and the LSM value encoding.
//!
//! # Blob file
//! ```text
//! header  : magic "TTNBLOB1" (8) | version u32 LE (4)                         = 12 bytes
//! record  : crc32 u32 | cf_len u8 | key_len u32 | value_len u32 | cf | key | value
//!           (crc32 covers everything after itself; header part = 13 bytes)
//! footer  : magic "TTNBEND1" (8) | record count u64 LE (8) | crc32 of those 16 (4) = 20 bytes
//! ```
//! A file without a valid footer was being written when the process stopped: on open its
//! records are scanned, a torn tail (short record, bad checksum) is truncated, and the file is
//! sealed. Records keep the column family and key so garbage collection can check liveness
//! with one LSM lookup.
//!
//! # LSM value
//! The first byte is a tag: `0` = the value follows inline; `1` = a blob index follows:
//! file number u64 | record offset u64 | record length u32 (all LE) = 21 bytes.

/// Blob file header magic.
pub const MAGIC: &[u8; 8] = b"TTNBLOB1";
/// Blob file footer magic.
pub const FOOTER_MAGIC: &[u8; 8] = b"TTNBEND1";
/// Format version.
pub const VERSION: u32 = 1;
/// Header length.
pub const HEADER_LEN: u64 = 12;
/// Footer length.
pub const FOOTER_LEN: u64 = 20;
/// Length of a record's fixed part.
pub const RECORD_HEADER_LEN: usize = 13;

const TAG_INLINE: u8 = 0;
const TAG_BLOB: u8 = 1;

/// The file header.
pub fn header() -> [u8; 12] {
    let mut h = [0u8; 12];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// The footer for a file of `count` records.
pub fn footer(count: u64) -> [u8; 20] {
    let mut f = [0u8; 20];
    f[..8].copy_from_slice(FOOTER_MAGIC);
    f[8..16].copy_from_slice(&count.to_le_bytes());
    let crc = crc32fast::hash(&f[..16]);
    f[16..].copy_from_slice(&crc.to_le_bytes());
    f
}

/// The record count of a valid footer.
pub fn parse_footer(f: &[u8]) -> Option<u64> {
    if f.len() != FOOTER_LEN as usize || &f[..8] != FOOTER_MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(f[16..20].try_into().ok()?);
    (crc32fast::hash(&f[..16]) == crc).then(|| u64::from_le_bytes(f[8..16].try_into().unwrap()))
}

/// Encodes one record.
pub fn encode_record(cf: &str, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(RECORD_HEADER_LEN + cf.len() + key.len() + value.len());
    r.extend_from_slice(&[0; 4]);
    r.push(u8::try_from(cf.len()).expect("column family names are under 256 bytes"));
    r.extend_from_slice(&(key.len() as u32).to_le_bytes());
    r.extend_from_slice(&(value.len() as u32).to_le_bytes());
    r.extend_from_slice(cf.as_bytes());
    r.extend_from_slice(key);
    r.extend_from_slice(value);
    let crc = crc32fast::hash(&r[4..]);
    r[..4].copy_from_slice(&crc.to_le_bytes());
    r
}

/// A decoded record, borrowing its buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Column family name.
    pub cf: &'a str,
    /// Key.
    pub key: &'a [u8],
    /// Value.
    pub value: &'a [u8],
}

/// The total length of the record starting at `buf` (from its fixed part), or `None` if
/// `buf` is shorter than the fixed part.
pub fn record_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < RECORD_HEADER_LEN {
        return None;
    }
    let cf = buf[4] as usize;
    let key = u32::from_le_bytes(buf[5..9].try_into().unwrap()) as usize;
    let value = u32::from_le_bytes(buf[9..13].try_into().unwrap()) as usize;
    Some(RECORD_HEADER_LEN + cf + key + value)
}

/// Why a record did not decode.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The buffer ends before the record does.
    Short,
    /// The checksum does not match.
    Checksum,
}

/// Decodes the record at the start of `buf`, checking its checksum.
pub fn decode_record(buf: &[u8]) -> Result<(Record<'_>, usize), RecordError> {
    let len = record_len(buf).ok_or(RecordError::Short)?;
    if buf.len() < len {
        return Err(RecordError::Short);
    }
    let crc = u32::from_le_bytes(buf[..4].try_into().unwrap());
    if crc32fast::hash(&buf[4..len]) != crc {
        return Err(RecordError::Checksum);
    }
    let cf_len = buf[4] as usize;
    let key_len = u32::from_le_bytes(buf[5..9].try_into().unwrap()) as usize;
    let cf_end = RECORD_HEADER_LEN + cf_len;
    let cf =
        std::str::from_utf8(&buf[RECORD_HEADER_LEN..cf_end]).map_err(|_| RecordError::Checksum)?;
    let key = &buf[cf_end..cf_end + key_len];
    let value = &buf[cf_end + key_len..len];
    Ok((Record { cf, key, value }, len))
}

/// Where a value lives in a blob file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlobIndex {
    /// Blob file number.
    pub file: u64,
    /// Offset of the record in the file.
    pub offset: u64,
    /// Length of the whole record.
    pub len: u32,
}

/// A decoded LSM value.
#[derive(Debug, PartialEq, Eq)]
pub enum LsmValue<'a> {
    /// The value itself.
    Inline(&'a [u8]),
    /// A pointer into a blob file.
    Blob(BlobIndex),
}

/// Encodes an inline value.
pub fn encode_inline(value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + value.len());
    v.push(TAG_INLINE);
    v.extend_from_slice(value);
    v
}

/// Encodes a blob index.
pub fn encode_index(idx: BlobIndex) -> Vec<u8> {
    let mut v = Vec::with_capacity(21);
    v.push(TAG_BLOB);
    v.extend_from_slice(&idx.file.to_le_bytes());
    v.extend_from_slice(&idx.offset.to_le_bytes());
    v.extend_from_slice(&idx.len.to_le_bytes());
    v
}

/// Decodes an LSM value; `None` for an unknown tag or a short index.
pub fn decode_lsm(v: &[u8]) -> Option<LsmValue<'_>> {
    match *v.first()? {
        TAG_INLINE => Some(LsmValue::Inline(&v[1..])),
        TAG_BLOB if v.len() == 21 => Some(LsmValue::Blob(BlobIndex {
            file: u64::from_le_bytes(v[1..9].try_into().unwrap()),
            offset: u64::from_le_bytes(v[9..17].try_into().unwrap()),
            len: u32::from_le_bytes(v[17..21].try_into().unwrap()),
        })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_roundtrip_and_checksum() {
        let mut r = encode_record("lock", b"key", b"value");
        let (rec, len) = decode_record(&r).unwrap();
        assert_eq!(
            (rec.cf, rec.key, rec.value, len),
            ("lock", &b"key"[..], &b"value"[..], r.len())
        );
        *r.last_mut().unwrap() ^= 1;
        assert_eq!(decode_record(&r), Err(RecordError::Checksum));
        assert_eq!(decode_record(&r[..r.len() - 1]), Err(RecordError::Short));
    }

    #[test]
    fn lsm_values_roundtrip() {
        let idx = BlobIndex {
            file: 7,
            offset: 4096,
            len: 300,
        };
        assert_eq!(decode_lsm(&encode_index(idx)), Some(LsmValue::Blob(idx)));
        assert_eq!(decode_lsm(&encode_inline(b"")), Some(LsmValue::Inline(b"")));
        assert_eq!(decode_lsm(&[9, 1, 2]), None);
    }

    #[test]
    fn footer_roundtrip() {
        assert_eq!(parse_footer(&footer(42)), Some(42));
        let mut f = footer(42);
        f[9] ^= 1;
        assert_eq!(parse_footer(&f), None);
    }
}
