//! Key-range arithmetic for engines that implement bounded iterators by reopening ranges
//! (fjall, slatedb, redb, memory): the tighter of two bounds, whether a range is empty, and
//! the end of a prefix. One copy, so every engine answers the edge cases (equal keys with one
//! side excluded, the empty key, a prefix of 0xff bytes) the same way.

use std::ops::Bound;

fn key<K>(b: &Bound<K>) -> Option<&K> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k),
        Bound::Unbounded => None,
    }
}

/// The tighter of two lower bounds (at equal keys, the excluded one).
pub fn max_lower<K: Ord>(a: Bound<K>, b: Bound<K>) -> Bound<K> {
    let a_tighter = match (key(&a), key(&b)) {
        (None, _) => false,
        (_, None) => true,
        (Some(x), Some(y)) => x > y || (x == y && matches!(a, Bound::Excluded(_))),
    };
    if a_tighter { a } else { b }
}

/// The tighter of two upper bounds (at equal keys, the excluded one).
pub fn min_upper<K: Ord>(a: Bound<K>, b: Bound<K>) -> Bound<K> {
    let a_tighter = match (key(&a), key(&b)) {
        (None, _) => false,
        (_, None) => true,
        (Some(x), Some(y)) => x < y || (x == y && matches!(a, Bound::Excluded(_))),
    };
    if a_tighter { a } else { b }
}

/// Whether `(lo, hi)` holds no key at all: a reversed or touching range, or one below the
/// empty key. Engines check it before asking their library, some of which assert on such
/// ranges.
pub fn is_empty_range<K: Ord + AsRef<[u8]>>(lo: &Bound<K>, hi: &Bound<K>) -> bool {
    match (lo, hi) {
        (_, Bound::Excluded(h)) if h.as_ref().is_empty() => true,
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) => {
            l >= h
        }
        _ => false,
    }
}

/// The smallest key above every key starting with `prefix`, or `None` when there is none
/// (the prefix is empty or all 0xff).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn the_tighter_bound_wins() {
        assert_eq!(
            max_lower(Bound::Included(k("a")), Bound::Included(k("b"))),
            Bound::Included(k("b"))
        );
        assert_eq!(
            max_lower(Bound::Excluded(k("b")), Bound::Included(k("b"))),
            Bound::Excluded(k("b"))
        );
        assert_eq!(
            max_lower(Bound::Included(k("b")), Bound::Excluded(k("b"))),
            Bound::Excluded(k("b"))
        );
        assert_eq!(
            max_lower(Bound::Unbounded, Bound::Included(k("a"))),
            Bound::Included(k("a"))
        );
        assert_eq!(
            min_upper(Bound::Included(k("a")), Bound::Included(k("b"))),
            Bound::Included(k("a"))
        );
        assert_eq!(
            min_upper(Bound::Included(k("b")), Bound::Excluded(k("b"))),
            Bound::Excluded(k("b"))
        );
        assert_eq!(
            min_upper(Bound::Excluded(k("c")), Bound::Included(k("c"))),
            Bound::Excluded(k("c"))
        );
        assert_eq!(
            min_upper(Bound::Unbounded, Bound::Included(k("c"))),
            Bound::Included(k("c"))
        );
        assert_eq!(
            min_upper(Bound::Included(k("b")), Bound::Unbounded),
            Bound::Included(k("b"))
        );
        assert_eq!(
            min_upper::<&[u8]>(Bound::Unbounded, Bound::Unbounded),
            Bound::Unbounded
        );
    }

    #[test]
    fn reversed_and_touching_ranges_are_empty() {
        assert!(is_empty_range(
            &Bound::Included(k("b")),
            &Bound::Excluded(k("b"))
        ));
        assert!(!is_empty_range(
            &Bound::Included(k("b")),
            &Bound::Included(k("b"))
        ));
        assert!(is_empty_range(
            &Bound::Excluded(k("b")),
            &Bound::Included(k("b"))
        ));
        assert!(is_empty_range(&Bound::Unbounded, &Bound::Excluded(k(""))));
        assert!(!is_empty_range(&Bound::Unbounded, &Bound::Included(k(""))));
        assert!(!is_empty_range(&Bound::Included(k("a")), &Bound::Unbounded));
        assert!(is_empty_range(
            &Bound::Included(&b"c"[..]),
            &Bound::Included(&b"b"[..])
        ));
    }

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
