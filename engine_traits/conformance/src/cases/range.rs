//! `delete_range`: bounds, empty and reversed ranges, binary keys.

use engine_traits::{CF_DEFAULT, ErrorKind, IterOptions, KvEngine};

use crate::{CaseResult, Ctx, expect_err, expect_get, expect_scan, kvs};

cases!("range":
    delete_range_deletes_start_and_keeps_end,
    delete_range_with_equal_bounds_deletes_nothing,
    delete_range_reversed_is_invalid_and_deletes_nothing,
    delete_range_over_no_keys_is_ok,
    delete_range_covers_keys_extending_start,
    delete_range_from_empty_key_deletes_from_the_first_key,
    delete_range_with_binary_bounds,
    put_inside_deleted_range_is_visible,
    overlapping_delete_ranges_compose,
    delete_range_is_seen_by_new_iterators,
    delete_range_of_many_keys,
);

fn fill<E: KvEngine>(e: &E, keys: &[&str]) -> engine_traits::Result<()> {
    for k in keys {
        e.put(CF_DEFAULT, k.as_bytes(), k.as_bytes())?;
    }
    Ok(())
}

fn delete_range_deletes_start_and_keeps_end<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c", "d"])?;
    e.delete_range(CF_DEFAULT, b"b", b"d")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"b",
        None,
        "delete_range deletes its start key (inclusive)",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"c",
        None,
        "delete_range deletes keys inside",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"d",
        Some(b"d"),
        "delete_range keeps its end key (exclusive)",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"a",
        Some(b"a"),
        "delete_range keeps keys before start",
    )
}

fn delete_range_with_equal_bounds_deletes_nothing<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b"])?;
    e.delete_range(CF_DEFAULT, b"a", b"a")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "a"), ("b", "b")]),
        "delete_range(k, k) is an empty range and deletes nothing",
    )
}

fn delete_range_reversed_is_invalid_and_deletes_nothing<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    expect_err(
        e.delete_range(CF_DEFAULT, b"c", b"a"),
        ErrorKind::InvalidArgument,
        "delete_range with start > end",
    )?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "a"), ("b", "b"), ("c", "c")]),
        "a rejected delete_range deletes nothing",
    )
}

fn delete_range_over_no_keys_is_ok<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "z"])?;
    e.delete_range(CF_DEFAULT, b"m", b"n")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "a"), ("z", "z")]),
        "delete_range over a gap changes nothing",
    )
}

fn delete_range_covers_keys_extending_start<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "ab", "abc", "b", "b0"])?;
    e.delete_range(CF_DEFAULT, b"a", b"b")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("b", "b"), ("b0", "b0")]),
        "delete_range [a, b) covers every key starting with a, keeps b and b0",
    )
}

fn delete_range_from_empty_key_deletes_from_the_first_key<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"", b"empty")?;
    fill(e, &["a", "m"])?;
    e.delete_range(CF_DEFAULT, b"", b"m")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("m", "m")]),
        "delete_range from the empty key deletes the empty key too",
    )
}

fn delete_range_with_binary_bounds<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for k in [
        &b"\x00"[..],
        b"\x00\x00",
        b"\x01",
        b"\xfe",
        b"\xff",
        b"\xff\x00",
    ] {
        e.put(CF_DEFAULT, k, b"v")?;
    }
    e.delete_range(CF_DEFAULT, b"\x00\x00", b"\xff")?;
    let expected = vec![
        (b"\x00".to_vec(), b"v".to_vec()),
        (b"\xff".to_vec(), b"v".to_vec()),
        (b"\xff\x00".to_vec(), b"v".to_vec()),
    ];
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &expected,
        "delete_range compares bounds bytewise, 0x00 and 0xFF included",
    )
}

fn put_inside_deleted_range_is_visible<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    e.delete_range(CF_DEFAULT, b"a", b"z")?;
    e.put(CF_DEFAULT, b"b", b"new")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("b", "new")]),
        "a put after delete_range is visible inside the range",
    )
}

fn overlapping_delete_ranges_compose<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c", "d", "e", "f"])?;
    e.delete_range(CF_DEFAULT, b"b", b"d")?;
    e.delete_range(CF_DEFAULT, b"c", b"f")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "a"), ("f", "f")]),
        "overlapping delete_ranges delete their union",
    )
}

fn delete_range_is_seen_by_new_iterators<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    e.delete_range(CF_DEFAULT, b"a", b"c")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::bounded(Some(b"a"), None),
        &kvs(&[("c", "c")]),
        "an iterator made after delete_range skips the deleted keys",
    )
}

fn delete_range_of_many_keys<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..2000u32 {
        e.put(CF_DEFAULT, format!("k{i:05}").as_bytes(), b"v")?;
    }
    e.delete_range(CF_DEFAULT, b"k00100", b"k01900")?;
    let left = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    crate::ensure!(
        left.len() == 200,
        "delete_range of 1800 of 2000 keys leaves 200, found {}",
        left.len()
    );
    expect_get(
        e,
        CF_DEFAULT,
        b"k00099",
        Some(b"v"),
        "the key before the range stays",
    )?;
    expect_get(e, CF_DEFAULT, b"k01900", Some(b"v"), "the end key stays")
}
