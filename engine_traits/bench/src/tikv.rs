//! The `tikv` workload: TiKV's MVCC layout (Percolator over three column families) driven
//! through [`Target`]'s multi-CF methods, so an engine is measured under the write and read
//! pattern TiKV gives it rather than under plain puts.
//!
//! Layout, as in TiKV's `txn_types`: a user key (here a TiDB row key, `t{table}_r{row}`) is
//! memcomparable-encoded (8-byte groups, each followed by a marker byte) and, in `default` and
//! `write`, followed by a timestamp stored as `!ts` big-endian, so newer versions sort first.
//! - `lock`: key -> lock record (type, primary, start_ts, TTL, the value itself when it is at
//!   most 255 bytes, the transaction size).
//! - `default`: key@start_ts -> the value, only when it is longer than 255 bytes.
//! - `write`: key@commit_ts -> write record (type, start_ts, the value inline when short).
//!
//! A transaction of N rows: prewrite (under latches on its rows: check each row has no lock
//! and no version committed at or after start_ts, else retry with a new start_ts; then one
//! atomic batch of the locks and the long values), then commit (under the latches again: read
//! each lock back, then one atomic batch of the write records and the lock deletions). A get
//! at read_ts checks the lock (waits while one at or below read_ts is pending), seeks `write`
//! for the newest version at or below read_ts, and reads `default` when the value is not
//! inline; a scan does the same over consecutive rows. A GC step takes the next rows of a
//! cursor and deletes every version older than the newest one at or below the safe point
//! (write records and their `default` values), in one batch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use engine_traits::{CF_DEFAULT, CF_LOCK, CF_WRITE, display_key};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::generators::{AcknowledgedCounter, KeyChooser};
use crate::run::{Cell, Tally, Values, baseline, err, figures, measured_phase, probe, settle};
use crate::spec::{Figures, Spec};
use crate::target::{CfWrite, Target};

/// TiKV's `SHORT_VALUE_MAX_LEN`: values up to this long live in the lock and write records.
pub const SHORT_VALUE_MAX_LEN: usize = 255;
const SHORT_VALUE_PREFIX: u8 = b'v';
const TXN_SIZE_PREFIX: u8 = b't';
/// Write and lock types (TiKV's `FLAG_PUT` ..).
const PUT: u8 = b'P';
const DELETE: u8 = b'D';
/// The TiDB table id of every row key.
const TABLE_ID: u64 = 1;
/// Bytes of a raw row key: `t`, the table id, `_r`, the row id.
pub const ROW_KEY_LEN: usize = 19;
/// TiKV's default lock TTL for small transactions, in milliseconds (stored, not enforced).
const LOCK_TTL_MS: u64 = 3000;
/// How long a read waits for a pending lock before the cell fails: locks here live for one
/// operation of another thread, so a longer wait means that thread died mid-transaction.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// TiKV's memcomparable bytes encoding (`codec::bytes::encode_bytes`, ascending): 8-byte
/// groups, the last padded with zeros, each followed by `0xff - padding`; a key whose length
/// is a multiple of 8 gets one more group of padding only. Order is preserved and no encoded
/// key is a prefix of another, so a timestamp can follow it.
pub fn encode_bytes(raw: &[u8], out: &mut Vec<u8>) {
    let mut rest = raw;
    loop {
        let take = rest.len().min(8);
        let pad = 8 - take;
        out.extend_from_slice(&rest[..take]);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.push(0xff - pad as u8);
        if pad > 0 {
            return;
        }
        rest = &rest[8..];
    }
}

/// TiDB's record key of row `row`: `t`, the table id and `_r`, then the row id, the ids as
/// memcomparable signed integers (big endian, sign bit flipped).
pub fn row_key(row: u64) -> [u8; ROW_KEY_LEN] {
    let mut k = [0u8; ROW_KEY_LEN];
    k[0] = b't';
    k[1..9].copy_from_slice(&(TABLE_ID ^ (1 << 63)).to_be_bytes());
    k[9..11].copy_from_slice(b"_r");
    k[11..19].copy_from_slice(&(row ^ (1 << 63)).to_be_bytes());
    k
}

/// The encoded user key of row `row` (TiKV's `Key::from_raw`): the `lock` CF's key.
pub fn encoded_row(row: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(36);
    encode_bytes(&row_key(row), &mut out);
    out
}

/// `user` followed by `ts` as TiKV's `append_ts` writes it (`!ts`, big endian).
pub fn with_ts(user: &[u8], ts: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(user.len() + 8);
    k.extend_from_slice(user);
    k.extend_from_slice(&(!ts).to_be_bytes());
    k
}

/// Splits a timestamped key into the encoded user key and the timestamp.
pub fn split_ts(key: &[u8]) -> Option<(&[u8], u64)> {
    let at = key.len().checked_sub(8)?;
    let ts = u64::from_be_bytes(key[at..].try_into().ok()?);
    Some((&key[..at], !ts))
}

fn put_var_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_var_u64(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// A decoded write or lock record: the fields the workload reads back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `P`ut, `D`elete, `L`ock, `R`ollback.
    pub kind: u8,
    /// The transaction's start timestamp.
    pub start_ts: u64,
    /// The value, when it is short enough to live in the record.
    pub short_value: Option<Vec<u8>>,
}

fn short_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    if let Some(v) = value {
        out.push(SHORT_VALUE_PREFIX);
        out.push(v.len() as u8);
        out.extend_from_slice(v);
    }
}

/// TiKV's write record: type, start_ts (varint), then `v`, length, value when short.
pub fn encode_write(kind: u8, start_ts: u64, value: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + value.map_or(0, |v| v.len()));
    out.push(kind);
    put_var_u64(&mut out, start_ts);
    short_value(&mut out, value);
    out
}

/// TiKV's lock record: type, primary (zigzag varint length, bytes), start_ts, TTL (varints),
/// the short value, and the transaction size (`t`, big-endian u64).
pub fn encode_lock(primary: &[u8], start_ts: u64, value: Option<&[u8]>, txn_size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + primary.len() + value.map_or(0, |v| v.len()));
    out.push(PUT);
    put_var_u64(&mut out, (primary.len() as u64) << 1);
    out.extend_from_slice(primary);
    put_var_u64(&mut out, start_ts);
    put_var_u64(&mut out, LOCK_TTL_MS);
    short_value(&mut out, value);
    out.push(TXN_SIZE_PREFIX);
    out.extend_from_slice(&txn_size.to_be_bytes());
    out
}

fn read_short_value(b: &mut &[u8]) -> Option<Option<Vec<u8>>> {
    if b.first() != Some(&SHORT_VALUE_PREFIX) {
        return Some(None);
    }
    let len = *b.get(1)? as usize;
    let v = b.get(2..2 + len)?.to_vec();
    *b = &b[2 + len..];
    Some(Some(v))
}

/// Decodes a write record.
pub fn decode_write(b: &[u8]) -> Result<Record, String> {
    let bad = || format!("bad write record {}", display_key(b));
    let mut rest = b;
    let (&kind, r) = rest.split_first().ok_or_else(bad)?;
    rest = r;
    let start_ts = get_var_u64(&mut rest).ok_or_else(bad)?;
    let short_value = read_short_value(&mut rest).ok_or_else(bad)?;
    Ok(Record {
        kind,
        start_ts,
        short_value,
    })
}

/// Decodes a lock record.
pub fn decode_lock(b: &[u8]) -> Result<Record, String> {
    let bad = || format!("bad lock record {}", display_key(b));
    let mut rest = b;
    let (&kind, r) = rest.split_first().ok_or_else(bad)?;
    rest = r;
    let primary_len = (get_var_u64(&mut rest).ok_or_else(bad)? >> 1) as usize;
    rest = rest.get(primary_len..).ok_or_else(bad)?;
    let start_ts = get_var_u64(&mut rest).ok_or_else(bad)?;
    let _ttl = get_var_u64(&mut rest).ok_or_else(bad)?;
    let short_value = read_short_value(&mut rest).ok_or_else(bad)?;
    Ok(Record {
        kind,
        start_ts,
        short_value,
    })
}

fn short(value: &[u8]) -> Option<&[u8]> {
    (value.len() <= SHORT_VALUE_MAX_LEN).then_some(value)
}

/// The shared state of one cell: the timestamp oracle, latches, in-flight reads, GC cursor.
struct Mvcc<'a> {
    target: &'a dyn Target,
    spec: &'a Spec,
    /// The last timestamp handed out (TiKV asks PD; a counter is the same contract).
    tso: AtomicU64,
    /// TiKV's scheduler latches: a transaction's rows map to slots, taken in slot order.
    latches: Vec<Mutex<()>>,
    /// Per thread, a timestamp at or below its in-flight read's (`u64::MAX` when idle): the
    /// safe point stays below every one, so GC never removes a version a read still needs.
    active: Vec<AtomicU64>,
    gc_cursor: AtomicU64,
}

fn tikv_err(what: &str) -> impl Fn(engine_traits::Error) -> String + '_ {
    move |e| err(what, e)
}

impl<'a> Mvcc<'a> {
    fn next_ts(&self) -> u64 {
        self.tso.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A read timestamp for thread `t`, published before it is taken.
    fn begin_read(&self, t: usize) -> u64 {
        self.active[t].store(self.tso.load(Ordering::SeqCst), Ordering::SeqCst);
        self.next_ts()
    }

    fn end_read(&self, t: usize) {
        self.active[t].store(u64::MAX, Ordering::SeqCst);
    }

    /// `gc_lag_ts` behind the newest timestamp, and below every in-flight read. (The newest
    /// timestamp is read first: a read published after that takes a larger timestamp.)
    fn safe_point(&self) -> u64 {
        let now = self.tso.load(Ordering::SeqCst);
        let oldest = self
            .active
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .min()
            .unwrap_or(u64::MAX);
        now.saturating_sub(self.spec.tikv.gc_lag_ts)
            .min(oldest.saturating_sub(1))
    }

    fn latch(&self, rows: &[u64]) -> Vec<MutexGuard<'_, ()>> {
        let mut slots: Vec<usize> = rows
            .iter()
            .map(|r| (*r % self.latches.len() as u64) as usize)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .map(|s| self.latches[s].lock().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }

    /// Every row committed once (start_ts 1, commit_ts 2), as an import would leave it.
    fn load(&self, cell: &Cell<'_>, values: &Values) -> Result<(), String> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed);
        let mut batch = Vec::new();
        for row in 0..self.spec.num {
            let user = encoded_row(row);
            let value = values.pick(&mut rng);
            if short(value).is_none() {
                batch.push(CfWrite::Put {
                    cf: CF_DEFAULT,
                    key: with_ts(&user, 1),
                    value: value.to_vec(),
                });
            }
            batch.push(CfWrite::Put {
                cf: CF_WRITE,
                key: with_ts(&user, 2),
                value: encode_write(PUT, 1, short(value)),
            });
            if batch.len() >= 256 || row + 1 == self.spec.num {
                self.target
                    .write_batch(&batch, false)
                    .map_err(tikv_err("tikv load"))?;
                batch.clear();
                (cell.progress)("load", row + 1, self.spec.num);
            }
        }
        self.tso.store(2, Ordering::SeqCst);
        Ok(())
    }

    /// The commit timestamp of `user`'s newest version, if any.
    fn newest_commit(&self, user: &[u8]) -> Result<Option<u64>, String> {
        let mut newest = None;
        self.target
            .seek_cf(CF_WRITE, &with_ts(user, u64::MAX), &mut |k, _| {
                newest = split_ts(k).filter(|(u, _)| *u == user).map(|(_, ts)| ts);
                false
            })
            .map_err(tikv_err("tikv prewrite: seeking the write CF"))?;
        Ok(newest)
    }

    /// The version of `user` a read at `read_ts` sees: (start_ts, inline value).
    fn visible(&self, user: &[u8], read_ts: u64) -> Result<Option<Record>, String> {
        let mut found = Ok(None);
        self.target
            .seek_cf(CF_WRITE, &with_ts(user, read_ts), &mut |k, v| {
                if split_ts(k).is_none_or(|(u, _)| u != user) {
                    return false;
                }
                match decode_write(v) {
                    Ok(w) if w.kind == PUT => found = Ok(Some(w)),
                    Ok(w) if w.kind == DELETE => {}
                    // Lock and rollback records carry no value: look further back.
                    Ok(_) => return true,
                    Err(e) => found = Err(e),
                }
                false
            })
            .map_err(tikv_err("tikv read: seeking the write CF"))?;
        found
    }

    /// The value a write record stands for: inline, or in `default` at key@start_ts.
    fn value_of(&self, user: &[u8], w: Record) -> Result<Vec<u8>, String> {
        if let Some(v) = w.short_value {
            return Ok(v);
        }
        self.target
            .get_cf(CF_DEFAULT, &with_ts(user, w.start_ts))
            .map_err(tikv_err("tikv read: the default CF"))?
            .ok_or_else(|| {
                format!(
                    "tikv: the write record of {} points at start_ts {} but the default CF has no value there",
                    display_key(user),
                    w.start_ts
                )
            })
    }

    /// Waits while `user` holds a lock at or below `read_ts` (its transaction may commit
    /// below read_ts, so the read cannot decide yet), as a TiKV client backs off on
    /// KeyIsLocked.
    fn wait_for_lock(&self, user: &[u8], read_ts: u64, tally: &mut Tally) -> Result<(), String> {
        let started = Instant::now();
        let mut counted = false;
        loop {
            let lock = self
                .target
                .get_cf(CF_LOCK, user)
                .map_err(tikv_err("tikv read: the lock CF"))?;
            match lock {
                Some(l) if decode_lock(&l)?.start_ts <= read_ts => {
                    if !counted {
                        tally.count("lock_waits", 1);
                        counted = true;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(format!(
                            "tikv: {} stayed locked for {LOCK_WAIT:?} (a transaction died between prewrite and commit)",
                            display_key(user)
                        ));
                    }
                    std::thread::yield_now();
                }
                _ => return Ok(()),
            }
        }
    }

    /// One transaction writing `rows` (distinct): prewrite, then commit.
    fn txn(
        &self,
        rows: &[u64],
        values: &Values,
        rng: &mut ChaCha8Rng,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let users: Vec<Vec<u8>> = rows.iter().map(|r| encoded_row(*r)).collect();
        let primary = row_key(rows[0]);
        let vals: Vec<&[u8]> = rows.iter().map(|_| values.pick(rng)).collect();
        let n = rows.len() as u64;
        let started = Instant::now();
        let start_ts = loop {
            let start_ts = self.next_ts();
            let guards = self.latch(rows);
            let mut conflict = false;
            for user in &users {
                let locked = self
                    .target
                    .get_cf(CF_LOCK, user)
                    .map_err(tikv_err("tikv prewrite: the lock CF"))?
                    .is_some();
                if locked || self.newest_commit(user)?.is_some_and(|c| c >= start_ts) {
                    conflict = true;
                    break;
                }
            }
            if !conflict {
                let mut batch = Vec::with_capacity(2 * users.len());
                for (user, value) in users.iter().zip(&vals) {
                    if short(value).is_none() {
                        batch.push(CfWrite::Put {
                            cf: CF_DEFAULT,
                            key: with_ts(user, start_ts),
                            value: value.to_vec(),
                        });
                    }
                    batch.push(CfWrite::Put {
                        cf: CF_LOCK,
                        key: user.clone(),
                        value: encode_lock(&primary, start_ts, short(value), n),
                    });
                }
                self.target
                    .write_batch(&batch, self.spec.sync)
                    .map_err(tikv_err("tikv prewrite"))?;
                break start_ts;
            }
            drop(guards);
            tally.count("write_conflicts", 1);
            if started.elapsed() > LOCK_WAIT {
                return Err(format!(
                    "tikv: a transaction over {} conflicted for {LOCK_WAIT:?}",
                    display_key(&users[0])
                ));
            }
            std::thread::yield_now();
        };

        let commit_ts = self.next_ts();
        let _guards = self.latch(rows);
        let mut batch = Vec::with_capacity(2 * users.len());
        for user in &users {
            let lock = self
                .target
                .get_cf(CF_LOCK, user)
                .map_err(tikv_err("tikv commit: the lock CF"))?;
            let lock = match lock {
                Some(l) => decode_lock(&l)?,
                None => {
                    return Err(format!(
                        "tikv commit: the lock of {} (start_ts {start_ts}) vanished",
                        display_key(user)
                    ));
                }
            };
            if lock.start_ts != start_ts {
                return Err(format!(
                    "tikv commit: {} is locked by start_ts {}, not ours ({start_ts})",
                    display_key(user),
                    lock.start_ts
                ));
            }
            batch.push(CfWrite::Put {
                cf: CF_WRITE,
                key: with_ts(user, commit_ts),
                value: encode_write(PUT, start_ts, lock.short_value.as_deref()),
            });
            batch.push(CfWrite::Delete {
                cf: CF_LOCK,
                key: user.clone(),
            });
        }
        self.target
            .write_batch(&batch, self.spec.sync)
            .map_err(tikv_err("tikv commit"))?;
        tally.record_op("txn", started);
        let logical = n * (ROW_KEY_LEN + self.spec.value_size) as u64;
        tally.user_written += logical;
        tally.bytes += logical;
        Ok(())
    }

    /// A point get of `row` at a fresh read timestamp, on thread `t`.
    fn get(&self, t: usize, row: u64, tally: &mut Tally) -> Result<(), String> {
        let user = encoded_row(row);
        let started = Instant::now();
        let read_ts = self.begin_read(t);
        let read = (|| -> Result<Option<Vec<u8>>, String> {
            self.wait_for_lock(&user, read_ts, tally)?;
            match self.visible(&user, read_ts)? {
                Some(w) => self.value_of(&user, w).map(Some),
                None => Ok(None),
            }
        })();
        self.end_read(t);
        let value = read?;
        tally.record_op("get", started);
        match value {
            Some(v) => tally.bytes += (ROW_KEY_LEN + v.len()) as u64,
            None => tally.not_found += 1,
        }
        Ok(())
    }

    /// A scan of `scan_rows` rows from `row` at a fresh read timestamp, on thread `t`.
    fn scan(&self, t: usize, row: u64, tally: &mut Tally) -> Result<(), String> {
        let from = encoded_row(row);
        let want = self.spec.tikv.scan_rows;
        let started = Instant::now();
        let read_ts = self.begin_read(t);
        let read = (|| -> Result<Vec<(Vec<u8>, Record)>, String> {
            loop {
                let mut rows: Vec<(Vec<u8>, Record)> = Vec::with_capacity(want);
                let mut skip: Vec<u8> = Vec::new();
                let mut bad = None;
                self.target
                    .seek_cf(CF_WRITE, &from, &mut |k, v| {
                        let Some((user, ts)) = split_ts(k) else {
                            bad = Some(format!(
                                "tikv scan: write CF key {} has no timestamp",
                                display_key(k)
                            ));
                            return false;
                        };
                        if user == skip.as_slice() || ts > read_ts {
                            return true;
                        }
                        match decode_write(v) {
                            Ok(w) if w.kind == PUT => {
                                skip = user.to_vec();
                                rows.push((skip.clone(), w));
                                rows.len() < want
                            }
                            Ok(w) => {
                                if w.kind == DELETE {
                                    skip = user.to_vec();
                                }
                                true
                            }
                            Err(e) => {
                                bad = Some(e);
                                false
                            }
                        }
                    })
                    .map_err(tikv_err("tikv scan: the write CF"))?;
                if let Some(e) = bad {
                    return Err(e);
                }
                // A pending lock in the scanned range at or below read_ts: wait, scan again.
                let last = rows.last().map_or(from.clone(), |r| r.0.clone());
                let mut blocking = Ok(None);
                self.target
                    .seek_cf(CF_LOCK, &from, &mut |k, v| {
                        if k > last.as_slice() {
                            return false;
                        }
                        match decode_lock(v) {
                            Ok(l) if l.start_ts <= read_ts => {
                                blocking = Ok(Some(k.to_vec()));
                                false
                            }
                            Ok(_) => true,
                            Err(e) => {
                                blocking = Err(e);
                                false
                            }
                        }
                    })
                    .map_err(tikv_err("tikv scan: the lock CF"))?;
                match blocking? {
                    None => return Ok(rows),
                    Some(user) => self.wait_for_lock(&user, read_ts, tally)?,
                }
            }
        })()
        .and_then(|rows| {
            rows.into_iter()
                .map(|(user, w)| self.value_of(&user, w).map(|v| (user, v)))
                .collect::<Result<Vec<_>, _>>()
        });
        self.end_read(t);
        let rows = read?;
        tally.record_op("scan", started);
        tally.count("scan_rows", rows.len() as u64);
        tally.bytes += rows
            .iter()
            .map(|(_, v)| (ROW_KEY_LEN + v.len()) as u64)
            .sum::<u64>();
        Ok(())
    }

    /// One GC step over the next `gc_rows` rows: per row, keep the newest version at or
    /// below the safe point (and everything above it), delete the older ones, in one batch.
    fn gc(&self, tally: &mut Tally) -> Result<(), String> {
        let started = Instant::now();
        let safe_point = self.safe_point();
        let num = self.spec.num;
        let first = self
            .gc_cursor
            .fetch_add(self.spec.tikv.gc_rows, Ordering::Relaxed)
            % num;
        let end = (first + self.spec.tikv.gc_rows).min(num);
        let (from, until) = (encoded_row(first), encoded_row(end));
        let mut deletes = Vec::new();
        let mut current: Vec<u8> = Vec::new();
        let mut kept = false;
        let mut scanned = 0u64;
        let mut bad = None;
        self.target
            .seek_cf(CF_WRITE, &from, &mut |k, v| {
                if k >= until.as_slice() {
                    return false;
                }
                let Some((user, ts)) = split_ts(k) else {
                    bad = Some(format!(
                        "tikv gc: write CF key {} has no timestamp",
                        display_key(k)
                    ));
                    return false;
                };
                if user != current.as_slice() {
                    current = user.to_vec();
                    kept = false;
                }
                if ts > safe_point {
                    return true;
                }
                scanned += 1;
                let w = match decode_write(v) {
                    Ok(w) => w,
                    Err(e) => {
                        bad = Some(e);
                        return false;
                    }
                };
                if !kept {
                    match w.kind {
                        // The version every read at or after the safe point sees: kept.
                        PUT => {
                            kept = true;
                            return true;
                        }
                        // Nothing older is visible after a delete; the delete goes too.
                        DELETE => kept = true,
                        // Lock and rollback records: garbage; look further back.
                        _ => {}
                    }
                }
                deletes.push(CfWrite::Delete {
                    cf: CF_WRITE,
                    key: k.to_vec(),
                });
                if w.kind == PUT && w.short_value.is_none() {
                    deletes.push(CfWrite::Delete {
                        cf: CF_DEFAULT,
                        key: with_ts(user, w.start_ts),
                    });
                }
                true
            })
            .map_err(tikv_err("tikv gc: the write CF"))?;
        if let Some(e) = bad {
            return Err(e);
        }
        let versions = deletes
            .iter()
            .filter(|d| matches!(d, CfWrite::Delete { cf, .. } if *cf == CF_WRITE))
            .count() as u64;
        if !deletes.is_empty() {
            self.target
                .write_batch(&deletes, false)
                .map_err(tikv_err("tikv gc"))?;
        }
        tally.record_op("gc", started);
        tally.count("gc_versions_scanned", scanned);
        tally.count("gc_versions_deleted", versions);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Op {
    Txn,
    Get,
    Scan,
}

/// Load (untimed), settle, run. `Err` inside `Ok` is the reason the target cannot run it.
pub(crate) fn run(cell: &Cell<'_>) -> Result<Result<Figures, String>, String> {
    let (target, spec) = (cell.target, cell.spec);
    let probes: [(&str, &dyn Fn() -> engine_traits::Result<()>); 3] = [
        ("probing write_batch", &|| target.write_batch(&[], false)),
        ("probing get_cf", &|| {
            target.get_cf(CF_LOCK, b"").map(|_| ())
        }),
        ("probing seek_cf", &|| {
            target.seek_cf(CF_WRITE, b"", &mut |_, _| false)
        }),
    ];
    for (what, p) in probes {
        if let Err(why) = probe(what, p)? {
            return Ok(Err(why));
        }
    }
    let mvcc = Mvcc {
        target,
        spec,
        tso: AtomicU64::new(0),
        latches: (0..1024).map(|_| Mutex::new(())).collect(),
        active: (0..spec.threads)
            .map(|_| AtomicU64::new(u64::MAX))
            .collect(),
        gc_cursor: AtomicU64::new(0),
    };
    let values = Values::new(spec.value_size, spec.seed);
    mvcc.load(cell, &values)?;
    let compaction_wait_secs = settle(cell)?;
    let before = baseline(target)?;
    let worker = |t: usize, count: u64, done: &AtomicU64, stop: &AtomicBool| {
        thread(&mvcc, &values, t, count, done, stop)
    };
    // Every row has one live version throughout: the load wrote them all, and the measured
    // phase only adds versions of them.
    let live = spec.num * (ROW_KEY_LEN + spec.value_size) as u64;
    let phase = measured_phase(cell, &worker, &|| live)?;
    figures(cell, phase, before, live, compaction_wait_secs).map(Ok)
}

fn thread(
    mvcc: &Mvcc<'_>,
    values: &Values,
    t: usize,
    count: u64,
    done: &AtomicU64,
    stop: &AtomicBool,
) -> Result<Tally, String> {
    let spec = mvcc.spec;
    let o = &spec.tikv;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(1 + t as u64));
    // No inserts: every row exists, the counter only bounds the chooser.
    let rows_exist = AcknowledgedCounter::new(spec.num);
    let mut chooser = KeyChooser::new(o.distribution, spec.num, 0);
    let total = o.txn_proportion + o.get_proportion + o.scan_proportion;
    let mut tally = Tally::new();
    let mut rows = Vec::with_capacity(o.keys_per_txn);
    for i in 0..count {
        if i.is_multiple_of(64) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            done.fetch_add(64.min(count - i), Ordering::Relaxed);
        }
        if (i + 1).is_multiple_of(o.gc_interval) {
            mvcc.gc(&mut tally)?;
            continue;
        }
        let u = rng.random::<f64>() * total;
        let op = if u < o.txn_proportion {
            Op::Txn
        } else if u < o.txn_proportion + o.get_proportion {
            Op::Get
        } else {
            Op::Scan
        };
        match op {
            Op::Txn => {
                rows.clear();
                // Distinct rows from the distribution; a skewed one may repeat a hot row
                // many times, so fall back to uniform rows after a while.
                let mut draws = 0;
                while rows.len() < o.keys_per_txn {
                    let r = if draws < 64 * o.keys_per_txn {
                        chooser.next(&rows_exist, &mut rng)
                    } else {
                        rng.random_range(0..spec.num)
                    };
                    draws += 1;
                    if !rows.contains(&r) {
                        rows.push(r);
                    }
                }
                rows.sort_unstable();
                mvcc.txn(&rows, values, &mut rng, &mut tally)?;
            }
            Op::Get => {
                let row = chooser.next(&rows_exist, &mut rng);
                mvcc.get(t, row, &mut tally)?;
            }
            Op::Scan => {
                let row = chooser.next(&rows_exist, &mut rng);
                mvcc.scan(t, row, &mut tally)?;
            }
        }
    }
    tally.finished = Some(Instant::now());
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::Workload;

    /// Three CFs in one ordered map, keyed by (CF, key): enough of a target to watch what
    /// the MVCC steps leave behind.
    /// (CF, key) -> value.
    type Entries = BTreeMap<(String, Vec<u8>), Vec<u8>>;

    #[derive(Default)]
    struct Cfs(Mutex<Entries>);

    impl Cfs {
        fn keys(&self, cf: &str) -> Vec<Vec<u8>> {
            let map = self.0.lock().unwrap();
            map.keys()
                .filter(|(c, _)| c == cf)
                .map(|(_, k)| k.clone())
                .collect()
        }
    }

    impl Target for Cfs {
        fn put(&self, _: &[u8], _: &[u8], _: bool) -> engine_traits::Result<()> {
            unreachable!("tikv writes batches")
        }
        fn get(&self, _: &[u8]) -> engine_traits::Result<Option<usize>> {
            unreachable!("tikv reads with get_cf")
        }
        fn seek(&self, _: &[u8], _: usize) -> engine_traits::Result<(u64, u64)> {
            unreachable!("tikv seeks with seek_cf")
        }
        fn scan(&self, _: &mut dyn FnMut(usize)) -> engine_traits::Result<()> {
            unreachable!("tikv does not scan everything")
        }
        fn flush(&self) -> engine_traits::Result<()> {
            Ok(())
        }
        fn bytes_written(&self) -> engine_traits::Result<Result<(u64, u64), String>> {
            Ok(Err("no statistics".into()))
        }
        fn dir(&self) -> Result<&Path, String> {
            Err("in memory".into())
        }
        fn get_cf(&self, cf: &str, key: &[u8]) -> engine_traits::Result<Option<Vec<u8>>> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(&(cf.to_owned(), key.to_vec()))
                .cloned())
        }
        fn seek_cf(
            &self,
            cf: &str,
            from: &[u8],
            each: &mut dyn FnMut(&[u8], &[u8]) -> bool,
        ) -> engine_traits::Result<()> {
            let map = self.0.lock().unwrap().clone();
            for ((c, k), v) in map.range((cf.to_owned(), from.to_vec())..) {
                if c != cf || !each(k, v) {
                    break;
                }
            }
            Ok(())
        }
        fn write_batch(&self, writes: &[CfWrite], _: bool) -> engine_traits::Result<()> {
            let mut map = self.0.lock().unwrap();
            for w in writes {
                match w {
                    CfWrite::Put { cf, key, value } => {
                        map.insert((cf.to_string(), key.clone()), value.clone());
                    }
                    CfWrite::Delete { cf, key } => {
                        map.remove(&(cf.to_string(), key.clone()));
                    }
                }
            }
            Ok(())
        }
    }

    fn quiet(_: &str, _: u64, _: u64) {}

    #[test]
    fn transactions_version_rows_and_gc_keeps_the_newest_below_the_safe_point() {
        let target = Cfs::default();
        let mut spec = crate::tiny_spec(Workload::Tikv);
        spec.num = 10;
        spec.tikv.keys_per_txn = 2;
        spec.tikv.gc_rows = 10;
        spec.tikv.gc_lag_ts = 1;
        let cell = Cell {
            engine: "cfs",
            target: &target,
            spec: &spec,
            progress: &quiet,
        };
        let mvcc = Mvcc {
            target: &target,
            spec: &spec,
            tso: AtomicU64::new(0),
            latches: (0..8).map(|_| Mutex::new(())).collect(),
            active: vec![AtomicU64::new(u64::MAX)],
            gc_cursor: AtomicU64::new(0),
        };
        let values = Values::new(spec.value_size, 1);
        mvcc.load(&cell, &values).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut tally = Tally::new();
        for _ in 0..5 {
            mvcc.txn(&[3, 7], &values, &mut rng, &mut tally).unwrap();
        }
        let row3 = encoded_row(3);
        let versions = |cf: &str| {
            target
                .keys(cf)
                .into_iter()
                .filter(|k| split_ts(k).is_some_and(|(u, _)| u == row3.as_slice()))
                .count()
        };
        assert_eq!(
            (versions(CF_WRITE), versions(CF_DEFAULT)),
            (6, 6),
            "load + 5 commits"
        );
        assert!(
            target.keys(CF_LOCK).is_empty(),
            "every lock is gone after its commit"
        );
        // A read at the load's commit sees the loaded version, a fresh one the newest.
        let loaded = mvcc.visible(&row3, 2).unwrap().unwrap();
        assert_eq!(loaded.start_ts, 1);
        let newest = mvcc.visible(&row3, u64::MAX).unwrap().unwrap();
        assert!(newest.start_ts > 1);

        // The safe point is one timestamp behind the newest, which is the last commit: that
        // commit is above it, and the one before is the newest at or below it; both stay.
        mvcc.gc(&mut tally).unwrap();
        assert_eq!(
            tally.counters["gc_versions_deleted"], 8,
            "4 old versions of rows 3 and 7"
        );
        assert_eq!((versions(CF_WRITE), versions(CF_DEFAULT)), (2, 2));
        // One more timestamp (a read's) and the last commit is at the safe point: it alone
        // stays.
        mvcc.next_ts();
        mvcc.gc(&mut tally).unwrap();
        assert_eq!(tally.counters["gc_versions_deleted"], 10);
        assert_eq!((versions(CF_WRITE), versions(CF_DEFAULT)), (1, 1));
        let after = mvcc.visible(&row3, u64::MAX).unwrap().unwrap();
        assert_eq!(after, newest, "GC kept the version reads see");
        mvcc.get(0, 3, &mut tally).unwrap();
        assert_eq!(tally.not_found, 0);
        // Untouched rows keep their one version.
        assert_eq!(target.keys(CF_WRITE).len(), 10);
    }

    #[test]
    fn memcomparable_groups_of_eight_with_markers() {
        let enc = |raw: &[u8]| {
            let mut out = Vec::new();
            encode_bytes(raw, &mut out);
            out
        };
        assert_eq!(enc(b""), [0, 0, 0, 0, 0, 0, 0, 0, 0xf7]);
        assert_eq!(enc(b"abc"), [b'a', b'b', b'c', 0, 0, 0, 0, 0, 0xfa]);
        let eight = enc(b"12345678");
        assert_eq!(&eight[..9], b"12345678\xff");
        assert_eq!(&eight[9..], [0, 0, 0, 0, 0, 0, 0, 0, 0xf7]);
        // Order is kept, and a shorter key's encoding sorts first even when it is a prefix.
        assert!(enc(b"ab") < enc(b"ab\0"));
        assert!(enc(b"abcdefgh") < enc(b"abcdefghi"));
        assert_eq!(encoded_row(7).len(), 27);
        assert!(encoded_row(255) < encoded_row(256));
    }

    #[test]
    fn newer_versions_sort_first_and_split_back() {
        let user = encoded_row(1);
        let (old, new) = (with_ts(&user, 10), with_ts(&user, 11));
        assert!(new < old, "descending timestamps");
        assert_eq!(split_ts(&new), Some((user.as_slice(), 11)));
        // Every version of row 1 sorts before row 2's user key.
        assert!(with_ts(&user, 0) < encoded_row(2));
    }

    #[test]
    fn records_round_trip() {
        let w = encode_write(PUT, 300, Some(b"hi"));
        assert_eq!(
            decode_write(&w).unwrap(),
            Record {
                kind: PUT,
                start_ts: 300,
                short_value: Some(b"hi".to_vec())
            }
        );
        assert_eq!(
            decode_write(&encode_write(PUT, 7, None))
                .unwrap()
                .short_value,
            None
        );
        let l = encode_lock(&row_key(3), 1 << 40, Some(&[9u8; 255]), 4);
        let lock = decode_lock(&l).unwrap();
        assert_eq!(lock.start_ts, 1 << 40);
        assert_eq!(lock.short_value.as_deref(), Some(&[9u8; 255][..]));
        assert!(decode_write(&[PUT, 0x80]).is_err(), "truncated varint");
    }
}
