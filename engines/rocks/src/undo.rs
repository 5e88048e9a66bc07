//! Undo records: how a write that returned an error stays out of the database.
//!
//! When the WAL sync of a synced write fails (fdatasync EIO), RocksDB returns the error and
//! leaves the memtable untouched, but the WAL record already sits in the page cache. After a
//! process crash or a clean close, the next open replays it: the write the caller was told
//! had failed comes back. RocksDB cannot take a WAL record back, so the wrapper writes the
//! inverse instead. At the failure it reads the pre-images of every key the write touched
//! (still the live values, since the memtable never saw the write), and stores them in
//! `WORKBENCH-UNDO-<n>`, fsynced, in the database directory. The engine refuses further writes
//! until reopened. At the next read-write open, after RocksDB's own recovery, each record is
//! applied as a synced batch and deleted. The state is then exactly the acknowledged writes,
//! whether or not the failed record was replayed.
//!
//! Correctness rests on one fact: between the failure and the next open, no write reaches
//! RocksDB (the engine is poisoned), so the pre-images are still the right values at replay.
//! If the undo record itself cannot be made durable, the error says the write's presence is
//! unknown: the weaker contract every database offers after a failed fsync.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use engine_traits::{Error, Result};

/// File name prefix of undo records in the database directory.
pub const PREFIX: &str = "WORKBENCH-UNDO-";
const MAGIC: &[u8; 8] = b"WBUNDO1\n";

/// One key's value before the failed write: `None` if it did not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreImage {
    /// Column family name.
    pub cf: String,
    /// The key.
    pub key: Vec<u8>,
    /// The value before the failed write.
    pub value: Option<Vec<u8>>,
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// The record's bytes: magic, entries, and a CRC32 of everything before it.
pub fn encode(entries: &[PreImage]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        put_bytes(&mut out, e.cf.as_bytes());
        put_bytes(&mut out, &e.key);
        match &e.value {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                put_bytes(&mut out, v);
            }
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses a record; `Corruption` naming `file` and the offset where it went wrong.
pub fn decode(data: &[u8], file: &Path) -> Result<Vec<PreImage>> {
    let bad = |what: &str, at: usize| {
        Error::corruption(
            format!("undo record: {what}"),
            Some(file.to_path_buf()),
            Some(at as u64),
        )
    };
    if data.len() < MAGIC.len() + 8 || &data[..MAGIC.len()] != MAGIC {
        return Err(bad("not an undo record (bad magic or too short)", 0));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(bad("checksum mismatch", body.len()));
    }
    let mut at = MAGIC.len();
    let take = |n: usize, at: &mut usize| -> Result<&[u8]> {
        let s = body
            .get(*at..*at + n)
            .ok_or_else(|| bad("truncated entry", *at))?;
        *at += n;
        Ok(s)
    };
    let u32_at = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
    let count = u32_at(take(4, &mut at)?);
    let mut entries = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let n = u32_at(take(4, &mut at)?);
        let cf = String::from_utf8(take(n, &mut at)?.to_vec())
            .map_err(|_| bad("column family name is not UTF-8", at))?;
        let n = u32_at(take(4, &mut at)?);
        let key = take(n, &mut at)?.to_vec();
        let value = match take(1, &mut at)?[0] {
            0 => None,
            1 => {
                let n = u32_at(take(4, &mut at)?);
                Some(take(n, &mut at)?.to_vec())
            }
            other => return Err(bad(&format!("unknown value tag {other}"), at - 1)),
        };
        entries.push(PreImage { cf, key, value });
    }
    if at != body.len() {
        return Err(bad("trailing bytes", at));
    }
    Ok(entries)
}

/// Writes `entries` as a new record in `dir`, durably: a temporary file, fsync, rename, fsync
/// of the directory. Returns the record's path.
pub fn write(dir: &Path, entries: &[PreImage]) -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{PREFIX}{stamp:032}");
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(&name);
    let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    f.write_all(&encode(entries))?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    Ok(path)
}

/// The complete records in `dir`, oldest first; leftover temporary files (a crash while one
/// was being written, before the failed call returned) are removed.
pub fn pending(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(e, dir)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(e, dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(PREFIX) {
            continue;
        }
        if name.ends_with(".tmp") {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(e, entry.path()))?;
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<PreImage> {
        vec![
            PreImage {
                cf: "default".into(),
                key: b"a".to_vec(),
                value: Some(b"old".to_vec()),
            },
            PreImage {
                cf: "lock".into(),
                key: b"b".to_vec(),
                value: None,
            },
        ]
    }

    #[test]
    fn a_record_round_trips() {
        let p = Path::new("WORKBENCH-UNDO-1");
        assert_eq!(decode(&encode(&sample()), p).unwrap(), sample());
        assert_eq!(decode(&encode(&[]), p).unwrap(), vec![]);
    }

    #[test]
    fn a_damaged_record_is_corruption_naming_the_file() {
        let p = Path::new("/db/WORKBENCH-UNDO-7");
        let mut data = encode(&sample());
        data[14] ^= 1;
        let e = decode(&data, p).unwrap_err();
        assert_eq!(e.kind(), engine_traits::ErrorKind::Corruption);
        assert!(e.to_string().contains("WORKBENCH-UNDO-7"), "{e}");
        let e = decode(&data[..5], p).unwrap_err();
        assert_eq!(e.kind(), engine_traits::ErrorKind::Corruption);
    }

    #[test]
    fn written_records_are_pending_and_temporaries_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &sample()).unwrap();
        std::fs::write(dir.path().join(format!("{PREFIX}9.tmp")), b"half").unwrap();
        assert_eq!(pending(dir.path()).unwrap(), vec![path.clone()]);
        assert!(!dir.path().join(format!("{PREFIX}9.tmp")).exists());
        let data = std::fs::read(&path).unwrap();
        assert_eq!(decode(&data, &path).unwrap(), sample());
    }
}
