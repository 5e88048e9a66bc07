//! YCSB's number generators, re-derived from their definitions so our request streams have
//! the same shape as YCSB's: the zipfian generator of Gray et al. ("Quickly Generating
//! Billion-Record Synthetic Databases", SIGMOD 1994) with YCSB's constant 0.99, the scrambled
//! zipfian (FNV-1a 64 over a 10^10-item zipfian, folded onto the record space), skewed latest,
//! the acknowledged insert counter, and YCSB's key names. `tikv` reuses the choosers for rows.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// YCSB's zipfian constant (`ZipfianGenerator.ZIPFIAN_CONSTANT`).
pub const ZIPFIAN_CONSTANT: f64 = 0.99;

/// The item space the scrambled zipfian draws from before hashing, and zeta(10^10, 0.99)
/// precomputed for it, as YCSB and go-ycsb fix them. (A later YCSB raised the item count to
/// 10^16 without recomputing this zeta; go-ycsb kept 10^10, whose zeta this is.)
const SCRAMBLED_ITEMS: u64 = 10_000_000_000;
const SCRAMBLED_ZETAN: f64 = 26.469_028_201_783_02;

/// YCSB's `Utils.fnvhash64`: FNV-1a 64 over the 8 bytes of `val`, lowest first, then the
/// absolute value as a signed 64-bit number (as Java's `Math.abs` leaves it).
pub fn fnv_hash64(val: u64) -> i64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    let mut v = val;
    for _ in 0..8 {
        hash ^= v & 0xff;
        hash = hash.wrapping_mul(1_099_511_628_211);
        v >>= 8;
    }
    (hash as i64).wrapping_abs()
}

/// YCSB's `CoreWorkload.buildKeyName`: `user`, zeros up to `zero_padding` digits, and the
/// record number (hashed unless `ordered`) in decimal.
pub fn build_key_name(keynum: u64, zero_padding: usize, ordered: bool) -> Vec<u8> {
    let n = if ordered {
        keynum as i64
    } else {
        fnv_hash64(keynum)
    };
    let digits = n.to_string();
    let mut key = Vec::with_capacity(4 + zero_padding.max(digits.len()));
    key.extend_from_slice(b"user");
    key.resize(4 + zero_padding.saturating_sub(digits.len()), b'0');
    key.extend_from_slice(digits.as_bytes());
    key
}

/// zeta(n, theta) continued from `from` items (whose sum is `initial`) to `to` items.
fn zeta(from: u64, to: u64, theta: f64, initial: f64) -> f64 {
    let mut sum = initial;
    for i in from..to {
        sum += 1.0 / ((i + 1) as f64).powf(theta);
    }
    sum
}

/// Items `min..=max`, item `min` the most popular, `min + 1` the next, and so on: P(i) is
/// close to 1 / ((i - min + 1)^theta * zeta(n, theta)) (exact for the first two items; Gray's
/// method approximates the tail within a few percent).
#[derive(Clone, Debug)]
pub struct Zipfian {
    /// The item count at construction. YCSB keeps computing `eta` from it even after the item
    /// count grows (`nextLong(itemcount)`), and so do we, to draw the same stream.
    items: u64,
    base: u64,
    theta: f64,
    alpha: f64,
    zeta2theta: f64,
    zetan: f64,
    eta: f64,
    count_for_zeta: u64,
}

impl Zipfian {
    /// Items `min..=max` with YCSB's constant; computes zeta over them (O(items)).
    pub fn new(min: u64, max: u64) -> Zipfian {
        let n = max - min + 1;
        Zipfian::with_zetan(
            min,
            max,
            ZIPFIAN_CONSTANT,
            zeta(0, n, ZIPFIAN_CONSTANT, 0.0),
        )
    }

    /// Items `min..=max` with a precomputed zeta (the scrambled generator's 10^10 items).
    fn with_zetan(min: u64, max: u64, theta: f64, zetan: f64) -> Zipfian {
        let items = max - min + 1;
        let zeta2theta = zeta(0, 2, theta, 0.0);
        let mut z = Zipfian {
            items,
            base: min,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zeta2theta,
            zetan,
            eta: 0.0,
            count_for_zeta: items,
        };
        z.eta = z.eta_for(zetan);
        z
    }

    fn eta_for(&self, zetan: f64) -> f64 {
        (1.0 - (2.0 / self.items as f64).powf(1.0 - self.theta)) / (1.0 - self.zeta2theta / zetan)
    }

    /// The next item of `min..=max`.
    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        self.next_of(self.items, rng)
    }

    /// The next item of `min..min + itemcount`. A larger count than before extends zeta
    /// incrementally (YCSB's skewed latest grows it with every insert); a smaller one is used
    /// with the larger count's zeta, as YCSB does by default (`allowitemcountdecrease=false`).
    pub fn next_of(&mut self, itemcount: u64, rng: &mut ChaCha8Rng) -> u64 {
        if itemcount > self.count_for_zeta {
            self.zetan = zeta(self.count_for_zeta, itemcount, self.theta, self.zetan);
            self.count_for_zeta = itemcount;
            self.eta = self.eta_for(self.zetan);
        }
        let u: f64 = rng.random();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return self.base;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return self.base + 1;
        }
        let spread = (self.eta * u - self.eta + 1.0).powf(self.alpha);
        let offset = (itemcount as f64 * spread) as u64;
        self.base + offset.min(itemcount.saturating_sub(1))
    }
}

/// YCSB's scrambled zipfian over `min..=max`: a zipfian over 10^10 items, each hashed with
/// FNV-1a 64 and folded onto the range, so popular records are scattered, not clustered at
/// the low numbers.
#[derive(Clone, Debug)]
pub struct ScrambledZipfian {
    zipfian: Zipfian,
    min: u64,
    itemcount: u64,
}

impl ScrambledZipfian {
    /// Records `min..=max`.
    pub fn new(min: u64, max: u64) -> ScrambledZipfian {
        ScrambledZipfian {
            zipfian: Zipfian::with_zetan(0, SCRAMBLED_ITEMS, ZIPFIAN_CONSTANT, SCRAMBLED_ZETAN),
            min,
            itemcount: max - min + 1,
        }
    }

    /// The next record number.
    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        let hashed = fnv_hash64(self.zipfian.next(rng));
        // `rem_euclid`: Java's `%` would go negative for the one hash `abs` cannot fold.
        self.min + hashed.rem_euclid(self.itemcount as i64) as u64
    }
}

/// YCSB's skewed latest: the newest acknowledged record is the most popular, the one before
/// it the next, and so on (a zipfian over the records counted back from the newest).
#[derive(Clone, Debug)]
pub struct SkewedLatest {
    zipfian: Zipfian,
}

impl SkewedLatest {
    /// `last` is the newest record number at the start (at least 1), as YCSB builds its
    /// zipfian over `lastValue()` items.
    pub fn new(last: u64) -> SkewedLatest {
        SkewedLatest {
            zipfian: Zipfian::new(0, last.max(1) - 1),
        }
    }

    /// The next record number, `last` being the newest now. As in YCSB, this is
    /// `last - zipfian(last)`, so it lies in `1..=last`.
    pub fn next(&mut self, last: u64, rng: &mut ChaCha8Rng) -> u64 {
        last - self.zipfian.next_of(last, rng)
    }
}

/// YCSB's transaction insert key sequence (`AcknowledgedCounterGenerator`): inserts take
/// numbers from `next`, and a number becomes choosable (`last`) only once it and every number
/// before it were acknowledged, i.e. written. So a read never asks for a record that is not
/// there yet, and reads reach new records as soon as they exist.
#[derive(Debug)]
pub struct AcknowledgedCounter {
    next: AtomicU64,
    /// The highest number below which every number is acknowledged.
    limit: AtomicU64,
    pending: Mutex<BTreeSet<u64>>,
}

impl AcknowledgedCounter {
    /// Numbers from `start` on; `start - 1` is the last one already there (the load's).
    pub fn new(start: u64) -> AcknowledgedCounter {
        assert!(start >= 1, "the load phase inserts at least one record");
        AcknowledgedCounter {
            next: AtomicU64::new(start),
            limit: AtomicU64::new(start - 1),
            pending: Mutex::new(BTreeSet::new()),
        }
    }

    /// A fresh number to insert.
    pub fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The highest number that may be read.
    pub fn last(&self) -> u64 {
        self.limit.load(Ordering::Acquire)
    }

    /// `n` is written: advance `last` over every contiguous acknowledged number.
    pub fn acknowledge(&self, n: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(n);
        let mut limit = self.limit.load(Ordering::Acquire);
        while pending.remove(&(limit + 1)) {
            limit += 1;
        }
        self.limit.store(limit, Ordering::Release);
    }
}

/// How a thread picks records: YCSB's `keychooser` for one request distribution.
#[derive(Clone, Debug)]
pub enum KeyChooser {
    /// `0..count`, never the inserted ones (YCSB's uniform generator is fixed at the load).
    Uniform {
        /// The record count of the load.
        count: u64,
    },
    /// Scrambled zipfian over the loaded records plus twice the inserts expected.
    Zipfian(ScrambledZipfian),
    /// Skewed latest over the acknowledged records.
    Latest(SkewedLatest),
}

impl KeyChooser {
    /// YCSB's chooser for `distribution` over `recordcount` loaded records, with
    /// `expected_inserts` inserts to come (`operationcount * insertproportion`).
    pub fn new(
        distribution: crate::spec::Distribution,
        recordcount: u64,
        expected_inserts: u64,
    ) -> KeyChooser {
        use crate::spec::Distribution;
        match distribution {
            Distribution::Uniform => KeyChooser::Uniform { count: recordcount },
            // YCSB: `ScrambledZipfianGenerator(insertstart, insertstart + insertcount +
            // expectednewkeys)`, expectednewkeys being twice the expected inserts ("fudge
            // factor"), so the popular records do not move as the key space grows.
            Distribution::Zipfian => {
                KeyChooser::Zipfian(ScrambledZipfian::new(0, recordcount + 2 * expected_inserts))
            }
            Distribution::Latest => KeyChooser::Latest(SkewedLatest::new(recordcount - 1)),
        }
    }

    /// YCSB's `nextKeynum`: a record number that exists (at most `counter.last()`), drawing
    /// again when the zipfian picks one not inserted yet.
    pub fn next(&mut self, counter: &AcknowledgedCounter, rng: &mut ChaCha8Rng) -> u64 {
        loop {
            let last = counter.last();
            let n = match self {
                KeyChooser::Uniform { count } => rng.random_range(0..*count),
                KeyChooser::Zipfian(z) => z.next(rng),
                KeyChooser::Latest(l) => l.next(last, rng),
            };
            if n <= last {
                return n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// The exact distribution of Gray's method for `n` items: P(item k) from inverting the
    /// generator's formula (u is uniform in [0, 1)). What the generator must reproduce.
    fn generator_pmf(n: u64) -> Vec<f64> {
        let z = Zipfian::new(0, n - 1);
        let mut p = vec![0.0; n as usize];
        let u0 = 1.0 / z.zetan;
        let u1 = (1.0 + 0.5f64.powf(z.theta)) / z.zetan;
        p[0] = u0;
        p[1] = u1 - u0;
        let mut prev = u1;
        for k in 2..n {
            // item <= k  <=>  n * (eta*u - eta + 1)^alpha < k + 1
            let bound = (((k + 1) as f64 / n as f64).powf(1.0 / z.alpha) - 1.0 + z.eta) / z.eta;
            let upto = bound.clamp(prev, 1.0);
            p[k as usize] = upto - prev;
            prev = upto;
        }
        p
    }

    fn zipf_pmf(n: u64) -> Vec<f64> {
        let zetan = zeta(0, n, ZIPFIAN_CONSTANT, 0.0);
        (1..=n)
            .map(|i| 1.0 / ((i as f64).powf(ZIPFIAN_CONSTANT) * zetan))
            .collect()
    }

    /// Frequencies of `samples` draws from a fixed seed.
    fn observed(n: u64, samples: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(20_26);
        let mut z = Zipfian::new(0, n - 1);
        let mut counts = vec![0u64; n as usize];
        for _ in 0..samples {
            counts[z.next(&mut rng) as usize] += 1;
        }
        counts.iter().map(|&c| c as f64 / samples as f64).collect()
    }

    #[test]
    fn zipfian_frequencies_match_the_zipf_pmf() {
        const SAMPLES: u64 = 400_000;
        for n in [10u64, 37, 100] {
            let seen = observed(n, SAMPLES);
            let exact = generator_pmf(n);
            let zipf = zipf_pmf(n);
            // 5 standard deviations of a binomial frequency: a fixed seed cannot flake, and a
            // wrong constant, zeta or formula moves the head items by far more than this.
            let sigma = |p: f64| (p * (1.0 - p) / SAMPLES as f64).sqrt();
            for k in 0..n as usize {
                assert!(
                    (seen[k] - exact[k]).abs() <= 5.0 * sigma(exact[k]) + 1e-9,
                    "n={n} item {k}: observed {} but Gray's method gives {}",
                    seen[k],
                    exact[k]
                );
            }
            // Items 0 and 1 are drawn exactly as the zipf pmf says.
            for k in 0..2 {
                assert!(
                    (seen[k] - zipf[k]).abs() <= 5.0 * sigma(zipf[k]),
                    "n={n} item {k}: observed {} but the zipf pmf is {}",
                    seen[k],
                    zipf[k]
                );
            }
            // The tail is Gray's approximation: each item within 16% of the pmf (its worst
            // deviation is 8% at n=10 and 15% at n=100, for item 2) and the whole
            // distribution within total variation distance 0.03 of it (0.011 to 0.017).
            let mut tv = 0.0;
            for k in 0..n as usize {
                let rel = (seen[k] - zipf[k]).abs() / zipf[k];
                assert!(
                    rel < 0.16,
                    "n={n} item {k}: observed {} is {:.0}% off the zipf pmf {}",
                    seen[k],
                    rel * 100.0,
                    zipf[k]
                );
                tv += (seen[k] - zipf[k]).abs() / 2.0;
            }
            assert!(tv < 0.03, "n={n}: total variation distance {tv}");
        }
    }

    #[test]
    fn fnv_hash_is_ycsbs() {
        // FNV-1a 64 of eight zero bytes, folded to a non-negative i64 as Math.abs does.
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for _ in 0..8 {
            h = h.wrapping_mul(1_099_511_628_211);
        }
        assert_eq!(fnv_hash64(0), (h as i64).wrapping_abs());
        assert!(fnv_hash64(1) >= 0 && fnv_hash64(1) != fnv_hash64(0));
    }

    #[test]
    fn key_names_are_user_and_a_number() {
        assert_eq!(build_key_name(5, 1, true), b"user5");
        assert_eq!(build_key_name(5, 8, true), b"user00000005");
        let hashed = build_key_name(5, 1, false);
        assert_eq!(hashed, format!("user{}", fnv_hash64(5)).into_bytes());
    }

    #[test]
    fn scrambled_zipfian_stays_in_range_and_spreads_the_head() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut z = ScrambledZipfian::new(0, 999);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[z.next(&mut rng) as usize] += 1;
        }
        let hottest = (0..1000).max_by_key(|&i| counts[i]).unwrap();
        // The most popular item of the 10^10 zipfian is item 0; scrambled, it is
        // fnv(0) mod 1000, not record 0.
        assert_eq!(hottest as i64, fnv_hash64(0).rem_euclid(1000));
        assert_ne!(hottest, 0);
    }

    #[test]
    fn latest_favours_the_newest_records_and_follows_inserts() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let counter = AcknowledgedCounter::new(1000);
        let mut chooser = KeyChooser::new(crate::spec::Distribution::Latest, 1000, 0);
        let newest = (0..10_000)
            .filter(|_| chooser.next(&counter, &mut rng) == 999)
            .count();
        assert!(newest > 1000, "record 999 drawn {newest} times in 10000");
        // Insert 1000 and 1001 (acknowledged out of order): both become the hottest.
        let (a, b) = (counter.next(), counter.next());
        counter.acknowledge(b);
        assert_eq!(
            counter.last(),
            999,
            "1001 is not readable before 1000 is written"
        );
        counter.acknowledge(a);
        assert_eq!(counter.last(), 1001);
        let drawn: Vec<u64> = (0..1000)
            .map(|_| chooser.next(&counter, &mut rng))
            .collect();
        assert!(drawn.contains(&1001) && drawn.iter().all(|&n| n <= 1001));
    }

    #[test]
    fn zipfian_chooser_never_returns_records_not_yet_inserted() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let counter = AcknowledgedCounter::new(100);
        let mut chooser = KeyChooser::new(crate::spec::Distribution::Zipfian, 100, 50);
        assert!((0..10_000).all(|_| chooser.next(&counter, &mut rng) < 100));
        let n = counter.next();
        counter.acknowledge(n);
        assert!((0..10_000).any(|_| chooser.next(&counter, &mut rng) == 100));
    }
}
