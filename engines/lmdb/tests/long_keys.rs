//! Keys around and beyond LMDB's 511-byte limit, against the memory engine.
//!
//! The wrapper stores user keys of 510 bytes or more in group entries (`src/layout.rs`); the
//! conformance suite's random layer uses keys of at most three bytes, so this test drives the
//! same random operations over keys straddling the boundary (505 to 515 bytes sharing long
//! prefixes, plus short and empty keys) and requires every observation to match the memory
//! engine: gets, every iterator movement within random bounds, snapshots, delete_range.

use engine_lmdb::LmdbEngine;
use engine_memory::MemoryEngine;
use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, EngineIterator, IterOptions, KvEngine, Readable, WriteBatch,
    WriteOptions,
};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CFS: [&str; 2] = [CF_DEFAULT, CF_LOCK];

fn key(rng: &mut impl Rng) -> Vec<u8> {
    const ALPHABET: [u8; 4] = [0x00, b'a', b'b', 0xff];
    if rng.random_bool(0.15) {
        let len = rng.random_range(0..3);
        return (0..len).map(|_| ALPHABET[rng.random_range(0..4)]).collect();
    }
    // Two long prefixes that differ early, so there are several groups with short keys
    // between them; the bytes up to the group boundary (510) come from two letters only, so
    // groups hold several keys, and the ones after it from the whole alphabet.
    let mut k = vec![b'a'; 507];
    if rng.random_bool(0.3) {
        k[200] = b'b';
    }
    let extra = rng.random_range(0..=7);
    for _ in 0..extra {
        k.push(if k.len() < 510 {
            [b'a', b'b'][rng.random_range(0..2)]
        } else {
            ALPHABET[rng.random_range(0..4)]
        });
    }
    k
}

fn value(rng: &mut impl Rng) -> Vec<u8> {
    let len = if rng.random_bool(0.1) {
        rng.random_range(0..6000)
    } else {
        rng.random_range(0..12)
    };
    (0..len).map(|_| rng.random()).collect()
}

/// What one iterator movement observed: the key and value it stands on, or an error kind.
type Seen = Result<Option<(Vec<u8>, Vec<u8>)>, engine_traits::ErrorKind>;

fn observe(it: &impl EngineIterator, moved: engine_traits::Result<bool>) -> Seen {
    match moved {
        Err(e) => Err(e.kind()),
        Ok(valid) => {
            assert_eq!(
                valid,
                it.valid(),
                "a movement's result is the iterator's validity"
            );
            Ok(valid.then(|| (it.key().to_vec(), it.value().unwrap().into_owned())))
        }
    }
}

#[derive(Clone, Debug)]
enum Move {
    First,
    Last,
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    Next,
    Prev,
}

fn moves(rng: &mut impl Rng) -> Vec<Move> {
    (0..rng.random_range(1..12))
        .map(|_| match rng.random_range(0..8) {
            0 => Move::First,
            1 => Move::Last,
            2 => Move::Seek(key(rng)),
            3 => Move::SeekForPrev(key(rng)),
            4 | 5 => Move::Next,
            _ => Move::Prev,
        })
        .collect()
}

fn run_moves<R: Readable>(r: &R, cf: &str, opts: IterOptions, moves: &[Move]) -> Vec<Seen> {
    let mut it = match r.iterator_opt(cf, opts) {
        Ok(it) => it,
        Err(e) => return vec![Err(e.kind())],
    };
    moves
        .iter()
        .map(|m| {
            let moved = match m {
                Move::First => it.seek_to_first(),
                Move::Last => it.seek_to_last(),
                Move::Seek(k) => it.seek(k),
                Move::SeekForPrev(k) => it.seek_for_prev(k),
                Move::Next => it.next(),
                Move::Prev => it.prev(),
            };
            observe(&it, moved)
        })
        .collect()
}

fn full_scan<R: Readable>(r: &R, cf: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = r.iterator(cf).unwrap();
    let mut out = Vec::new();
    let mut ok = it.seek_to_first().unwrap();
    while ok {
        out.push((it.key().to_vec(), it.value().unwrap().into_owned()));
        ok = it.next().unwrap();
    }
    out
}

fn opts(rng: &mut impl Rng) -> IterOptions {
    let bound = |rng: &mut ChaCha8Rng| rng.random_bool(0.5).then(|| key(rng));
    let mut r = ChaCha8Rng::seed_from_u64(rng.random());
    let (mut lo, mut hi) = (bound(&mut r), bound(&mut r));
    if let (Some(l), Some(h)) = (&lo, &hi)
        && l > h
    {
        std::mem::swap(&mut lo, &mut hi);
    }
    IterOptions {
        lower_bound: lo,
        upper_bound: hi,
        ..IterOptions::default()
    }
}

fn check_seed(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let lmdb = LmdbEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    let memory = MemoryEngine::open(&EngineConfig::new("unused")).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut snapshots = Vec::new();
    for step in 0..400 {
        let cf = CFS[rng.random_range(0..CFS.len())];
        let what = rng.random_range(0..100);
        let ctx = format!("seed {seed}, step {step}");
        match what {
            0..30 => {
                let (k, v) = (key(&mut rng), value(&mut rng));
                lmdb.put(cf, &k, &v).unwrap();
                memory.put(cf, &k, &v).unwrap();
            }
            30..40 => {
                let k = key(&mut rng);
                lmdb.delete(cf, &k).unwrap();
                memory.delete(cf, &k).unwrap();
            }
            40..46 => {
                let (mut a, mut b) = (key(&mut rng), key(&mut rng));
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                lmdb.delete_range(cf, &a, &b).unwrap();
                memory.delete_range(cf, &a, &b).unwrap();
            }
            46..54 => {
                let mut bl = lmdb.write_batch();
                let mut bm = memory.write_batch();
                for _ in 0..rng.random_range(1..6) {
                    let cf = CFS[rng.random_range(0..CFS.len())];
                    let k = key(&mut rng);
                    if rng.random_bool(0.7) {
                        let v = value(&mut rng);
                        bl.put(cf, &k, &v).unwrap();
                        bm.put(cf, &k, &v).unwrap();
                    } else {
                        bl.delete(cf, &k).unwrap();
                        bm.delete(cf, &k).unwrap();
                    }
                }
                let sync = WriteOptions {
                    sync: rng.random_bool(0.2),
                    disable_wal: false,
                };
                lmdb.write(&sync, &bl).unwrap();
                memory.write(&sync, &bm).unwrap();
            }
            54..70 => {
                let k = key(&mut rng);
                assert_eq!(
                    lmdb.get(cf, &k).unwrap(),
                    memory.get(cf, &k).unwrap(),
                    "{ctx}: get {cf} of a {}-byte key",
                    k.len()
                );
            }
            70..90 => {
                let (o, m) = (opts(&mut rng), moves(&mut rng));
                assert_eq!(
                    run_moves(&lmdb, cf, o.clone(), &m),
                    run_moves(&memory, cf, o.clone(), &m),
                    "{ctx}: iterator on {cf} with {o:?} moving {m:?}"
                );
            }
            90..94 => {
                snapshots.push((lmdb.snapshot().unwrap(), memory.snapshot().unwrap()));
            }
            94..97 if !snapshots.is_empty() => {
                let (sl, sm) = &snapshots[rng.random_range(0..snapshots.len())];
                let (o, m) = (opts(&mut rng), moves(&mut rng));
                assert_eq!(
                    run_moves(sl, cf, o.clone(), &m),
                    run_moves(sm, cf, o.clone(), &m),
                    "{ctx}: snapshot iterator on {cf} with {o:?} moving {m:?}"
                );
            }
            _ => {
                if !snapshots.is_empty() {
                    snapshots.remove(rng.random_range(0..snapshots.len()));
                }
            }
        }
    }
    for cf in CFS {
        assert_eq!(
            full_scan(&lmdb, cf),
            full_scan(&memory, cf),
            "seed {seed}: final scan of {cf}"
        );
    }
}

#[test]
fn long_keys_behave_like_the_memory_engine() {
    for seed in 1..=6 {
        check_seed(seed);
    }
}

#[test]
fn long_keys_survive_reopen_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut keys: Vec<Vec<u8>> = (0..200).map(|_| key(&mut rng)).collect();
    {
        let e = LmdbEngine::open(&config).unwrap();
        for k in &keys {
            e.put(CF_DEFAULT, k, k).unwrap();
        }
    }
    keys.sort();
    keys.dedup();
    let e = LmdbEngine::open(&config).unwrap();
    let got: Vec<Vec<u8>> = full_scan(&e, CF_DEFAULT)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(got, keys, "keys of every length come back in byte order");
}
