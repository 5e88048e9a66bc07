//! `engine_memory`: a pure in-memory engine.
//!
//! # What it is for
//! The pure-memory hardware case of the SIG, and the fast reference engine of the workbench:
//! it passes every non-persistence case of the conformance suite in a fraction of a second,
//! so a failing case on another engine can be compared with a known-good run.
//!
//! # What it is not for
//! Durability: nothing survives the process, `sync` and `flush` do nothing, and the engine
//! declares no `persistence`. Nor is it tuned for speed; it is built to be obviously right.
//!
//! # Design
//! Each column family is an `imbl::OrdMap`, a persistent B-tree whose clone is O(1) and
//! shares structure with the original. A snapshot or an iterator clones the maps under a read
//! lock and then reads without any lock; a write (single or batch) takes the write lock for
//! the whole batch, which makes it atomic, and copies only the tree paths it touches while a
//! snapshot still shares them.
#![deny(missing_docs)]

use std::borrow::Cow;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use engine_traits::bounds::{max_lower, min_upper};
use engine_traits::{
    BatchOp, BulkIngest, Capabilities, EngineConfig, EngineIterator, Error, INVALID_ITERATOR_PANIC,
    IterOptions, KvEngine, OpBatch, ReadOptions, Readable, Result, WriteBatch, WriteOptions,
};
use imbl::OrdMap;

type Map = OrdMap<Vec<u8>, Vec<u8>>;

/// The in-memory engine. Cheap to share: wrap it in an `Arc` or borrow it across threads.
#[derive(Debug)]
pub struct MemoryEngine {
    cfs: Arc<[String]>,
    /// One map per CF, in `cfs` order.
    maps: RwLock<Vec<Map>>,
    prefix_len: Option<usize>,
}

/// A point-in-time view of every CF; owns O(1) clones of the maps.
#[derive(Clone, Debug)]
pub struct MemorySnapshot {
    cfs: Arc<[String]>,
    maps: Vec<Map>,
    prefix_len: Option<usize>,
}

fn cf_index(cfs: &[String], cf: &str) -> Result<usize> {
    cfs.iter()
        .position(|c| c == cf)
        .ok_or_else(|| Error::unknown_cf(cf))
}

impl MemoryEngine {
    fn read_maps(&self) -> std::sync::RwLockReadGuard<'_, Vec<Map>> {
        // A panic while holding the lock cannot leave a half-applied batch: `apply` builds
        // nothing partially visible (see there), so a poisoned lock is still consistent.
        self.maps.read().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&self, ops: &[BatchOp]) {
        let mut maps = self.maps.write().unwrap_or_else(|e| e.into_inner());
        // Work on clones (O(1) each) and publish at the end, so a panic midway leaves the
        // previous state in place: a batch is all or nothing even then.
        let mut next = maps.clone();
        for op in ops {
            match op {
                BatchOp::Put { cf, key, value } => {
                    next[*cf].insert(key.clone(), value.clone());
                }
                BatchOp::Delete { cf, key } => {
                    next[*cf].remove(key);
                }
                BatchOp::DeleteRange { cf, start, end } => {
                    if start < end {
                        let doomed: Vec<Vec<u8>> = next[*cf]
                            .range::<_, [u8]>((
                                Bound::Included(&start[..]),
                                Bound::Excluded(&end[..]),
                            ))
                            .map(|(k, _)| k.clone())
                            .collect();
                        for k in doomed {
                            next[*cf].remove(&k);
                        }
                    }
                }
            }
        }
        *maps = next;
    }
}

impl Readable for MemoryEngine {
    type Iterator<'a> = MemoryIterator;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = cf_index(&self.cfs, cf)?;
        Ok(self.read_maps()[i].get(key).cloned())
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<MemoryIterator> {
        let i = cf_index(&self.cfs, cf)?;
        let map = self.read_maps()[i].clone();
        MemoryIterator::new(map, opts, self.prefix_len)
    }
}

impl Readable for MemorySnapshot {
    type Iterator<'a> = MemoryIterator;

    fn get_opt(&self, _opts: &ReadOptions, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = cf_index(&self.cfs, cf)?;
        Ok(self.maps[i].get(key).cloned())
    }

    fn iterator_opt(&self, cf: &str, opts: IterOptions) -> Result<MemoryIterator> {
        let i = cf_index(&self.cfs, cf)?;
        MemoryIterator::new(self.maps[i].clone(), opts, self.prefix_len)
    }
}

impl KvEngine for MemoryEngine {
    const CAPABILITIES: Capabilities = Capabilities {
        prefix_seek: true,
        bulk_ingest: true,
        ..Capabilities::NONE
    };

    type Snapshot<'a> = MemorySnapshot;
    type WriteBatch = OpBatch;

    fn open(config: &EngineConfig) -> Result<Self> {
        if let Some(profile) = &config.profile {
            return Err(Error::invalid(format!(
                "engine memory has no options profiles, got profile {profile:?}"
            )));
        }
        if config.prefix_len == Some(0) {
            return Err(Error::invalid("prefix_len must be at least 1"));
        }
        let cfs: Arc<[String]> = config.cf_list()?.into();
        let maps = vec![Map::new(); cfs.len()];
        Ok(MemoryEngine {
            cfs,
            maps: RwLock::new(maps),
            prefix_len: config.prefix_len,
        })
    }

    fn cf_names(&self) -> Vec<String> {
        self.cfs.to_vec()
    }

    fn write_batch(&self) -> OpBatch {
        OpBatch::new(self.cfs.clone())
    }

    fn write(&self, opts: &WriteOptions, batch: &OpBatch) -> Result<()> {
        opts.check()?;
        #[cfg(feature = "failpoints")]
        fail::fail_point!("memory::write", |_| Err(Error::Io {
            message: "injected failure at failpoint memory::write".into(),
            path: None,
            source: None,
        }));
        batch.check_cfs(&self.cfs)?;
        if !batch.is_empty() {
            self.apply(batch.ops());
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<MemorySnapshot> {
        Ok(MemorySnapshot {
            cfs: self.cfs.clone(),
            maps: self.read_maps().clone(),
            prefix_len: self.prefix_len,
        })
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn as_bulk_ingest(&self) -> Option<&dyn BulkIngest> {
        Some(self)
    }
}

impl BulkIngest for MemoryEngine {
    fn ingest(&self, cf: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let i = cf_index(&self.cfs, cf)?;
        if let Some(w) = entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(Error::invalid(format!(
                "ingest into {cf:?}: keys not strictly ascending at {}",
                engine_traits::display_key(&w[1].0)
            )));
        }
        let ops: Vec<BatchOp> = entries
            .iter()
            .map(|(k, v)| BatchOp::Put {
                cf: i,
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        self.apply(&ops);
        Ok(())
    }
}

/// An iterator over an O(1) clone of one CF's map.
#[derive(Debug)]
pub struct MemoryIterator {
    map: Map,
    opts: IterOptions,
    prefix_len: Option<usize>,
    /// The prefix fixed by the last seek in prefix mode.
    prefix: Option<Vec<u8>>,
    current: Option<(Vec<u8>, Vec<u8>)>,
}

/// The first (or, with `back`, last) entry of `map` in `(lo, hi)`, or `None` for an empty
/// range. Checked here because `range` panics on a reversed range.
fn edge(map: &Map, lo: Bound<&[u8]>, hi: Bound<&[u8]>, back: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let empty = match (lo, hi) {
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) => {
            l >= h
        }
        _ => false,
    };
    if empty {
        return None;
    }
    let mut range = map.range::<_, [u8]>((lo, hi));
    let hit = if back {
        range.next_back()
    } else {
        range.next()
    };
    hit.map(|(k, v)| (k.clone(), v.clone()))
}

impl MemoryIterator {
    fn new(map: Map, opts: IterOptions, prefix_len: Option<usize>) -> Result<Self> {
        opts.check()?;
        if opts.prefix_same_as_start && prefix_len.is_none() {
            return Err(Error::invalid(
                "prefix_same_as_start needs an engine opened with prefix_len",
            ));
        }
        Ok(MemoryIterator {
            map,
            opts,
            prefix_len,
            prefix: None,
            current: None,
        })
    }

    fn lower(&self) -> Bound<&[u8]> {
        self.opts
            .lower_bound
            .as_deref()
            .map_or(Bound::Unbounded, Bound::Included)
    }

    fn upper(&self) -> Bound<&[u8]> {
        self.opts
            .upper_bound
            .as_deref()
            .map_or(Bound::Unbounded, Bound::Excluded)
    }

    fn set_prefix(&mut self, key: &[u8]) {
        if self.opts.prefix_same_as_start {
            let n = self.prefix_len.unwrap_or(0).min(key.len());
            self.prefix = Some(key[..n].to_vec());
        }
    }

    fn land(&mut self, hit: Option<(Vec<u8>, Vec<u8>)>) -> bool {
        self.current = hit.filter(|(k, _)| self.prefix.as_ref().is_none_or(|p| k.starts_with(p)));
        self.current.is_some()
    }

    fn not_in_prefix_mode(&self, what: &str) -> Result<()> {
        if self.opts.prefix_same_as_start {
            return Err(Error::invalid(format!(
                "{what} is undefined with prefix_same_as_start"
            )));
        }
        Ok(())
    }

    fn current_key(&self) -> Result<Vec<u8>> {
        match &self.current {
            Some((k, _)) => Ok(k.clone()),
            None => Err(Error::invalid(
                "next()/prev() called on an invalid iterator",
            )),
        }
    }
}

impl EngineIterator for MemoryIterator {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let lo = max_lower(Bound::Included(key), self.lower());
        let hit = edge(&self.map, lo, self.upper(), false);
        Ok(self.land(hit))
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.set_prefix(key);
        let hi = min_upper(Bound::Included(key), self.upper());
        let hit = edge(&self.map, self.lower(), hi, true);
        Ok(self.land(hit))
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_first")?;
        let hit = edge(&self.map, self.lower(), self.upper(), false);
        Ok(self.land(hit))
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.not_in_prefix_mode("seek_to_last")?;
        let hit = edge(&self.map, self.lower(), self.upper(), true);
        Ok(self.land(hit))
    }

    fn next(&mut self) -> Result<bool> {
        let cur = self.current_key()?;
        let hit = edge(&self.map, Bound::Excluded(&cur), self.upper(), false);
        Ok(self.land(hit))
    }

    fn prev(&mut self) -> Result<bool> {
        let cur = self.current_key()?;
        let hit = edge(&self.map, self.lower(), Bound::Excluded(&cur), true);
        Ok(self.land(hit))
    }

    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        &self.current.as_ref().expect(INVALID_ITERATOR_PANIC).0
    }

    fn value(&self) -> Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(
            &self.current.as_ref().expect(INVALID_ITERATOR_PANIC).1,
        ))
    }
}
