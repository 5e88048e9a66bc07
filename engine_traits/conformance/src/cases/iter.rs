//! Iterators: order, bounds (lower inclusive, upper exclusive), seeks, direction changes,
//! invalid states, and isolation from later writes.

use engine_traits::{CF_DEFAULT, EngineIterator, ErrorKind, IterOptions, KvEngine, Readable};

use crate::{CaseResult, Ctx, ensure, expect_at, expect_err, expect_scan, kvs, show_kvs};

cases!("iter":
    new_iterator_is_not_valid,
    seek_to_first_on_empty_cf_is_not_valid,
    forward_scan_is_in_key_order,
    backward_scan_is_in_reverse_key_order,
    keys_order_bytewise_not_by_length,
    seek_lands_on_exact_key,
    seek_between_keys_lands_on_next_key,
    seek_past_last_key_is_not_valid,
    seek_to_empty_key_lands_on_first_key,
    seek_for_prev_lands_on_exact_key,
    seek_for_prev_between_keys_lands_on_previous_key,
    seek_for_prev_before_first_key_is_not_valid,
    lower_bound_is_inclusive,
    upper_bound_is_exclusive,
    only_lower_bound,
    only_upper_bound,
    seek_below_lower_bound_lands_on_first_key_in_bounds,
    seek_at_or_above_upper_bound_is_not_valid,
    seek_for_prev_at_upper_bound_lands_on_last_key_below_it,
    seek_for_prev_below_lower_bound_is_not_valid,
    equal_bounds_are_an_empty_range,
    reversed_bounds_are_invalid_argument,
    next_past_last_key_is_not_valid_and_seek_recovers,
    prev_before_first_key_is_not_valid,
    next_then_prev_returns_to_same_key,
    prev_then_next_returns_to_same_key,
    next_on_invalid_iterator_is_invalid_argument,
    prev_on_invalid_iterator_is_invalid_argument,
    key_on_invalid_iterator_panics,
    iterator_does_not_see_later_puts,
    iterator_does_not_see_later_deletes,
    iterator_skips_deleted_keys,
    iterator_values_match_gets,
    binary_keys_iterate_in_byte_order,
    scan_of_thousand_keys_both_ways,
    reseek_moves_freely,
);

fn fill<E: KvEngine>(e: &E, keys: &[&str]) -> engine_traits::Result<()> {
    for k in keys {
        e.put(CF_DEFAULT, k.as_bytes(), format!("v-{k}").as_bytes())?;
    }
    Ok(())
}

fn keys_of(kvs: &[crate::Kv]) -> Vec<String> {
    kvs.iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

fn bounded(l: Option<&str>, u: Option<&str>) -> IterOptions {
    IterOptions::bounded(l.map(str::as_bytes), u.map(str::as_bytes))
}

fn new_iterator_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a"])?;
    let it = e.iterator(CF_DEFAULT)?;
    ensure!(
        !it.valid(),
        "an iterator is not valid before its first seek"
    );
    Ok(())
}

fn seek_to_first_on_empty_cf_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let mut it = ctx.engine().iterator(CF_DEFAULT)?;
    ensure!(
        !it.seek_to_first()?,
        "seek_to_first on an empty CF returns false"
    );
    ensure!(
        !it.seek_to_last()?,
        "seek_to_last on an empty CF returns false"
    );
    ensure!(!it.valid(), "the iterator is not valid on an empty CF");
    Ok(())
}

fn forward_scan_is_in_key_order<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["c", "a", "d", "b"])?;
    let got = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        keys_of(&got) == ["a", "b", "c", "d"],
        "a forward scan visits keys in ascending order, got {}",
        show_kvs(&got)
    );
    Ok(())
}

fn backward_scan_is_in_reverse_key_order<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["c", "a", "d", "b"])?;
    let got = crate::scan_back(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        keys_of(&got) == ["d", "c", "b", "a"],
        "a backward scan visits keys in descending order, got {}",
        show_kvs(&got)
    );
    Ok(())
}

fn keys_order_bytewise_not_by_length<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["b", "aaa", "a", "ab", "aa"])?;
    let got = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        keys_of(&got) == ["a", "aa", "aaa", "ab", "b"],
        "keys compare bytewise (shorter prefix first), got {}",
        show_kvs(&got)
    );
    Ok(())
}

fn seek_lands_on_exact_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "c", "e"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"c")?;
    expect_at(&it, Some("c"), "seek(k) on a stored key lands on it")?;
    ensure!(
        it.value()?.as_ref() == b"v-c",
        "value() after seek is the key's value"
    );
    Ok(())
}

fn seek_between_keys_lands_on_next_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "c", "e"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"b")?;
    expect_at(&it, Some("c"), "seek between keys lands on the next key")?;
    it.seek(b"c\x00")?;
    expect_at(&it, Some("e"), "seek just past a key lands on the next key")
}

fn seek_past_last_key_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    ensure!(!it.seek(b"d")?, "seek past the last key returns false");
    expect_at(
        &it,
        None,
        "seek past the last key leaves the iterator invalid",
    )
}

fn seek_to_empty_key_lands_on_first_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["b", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"")?;
    expect_at(
        &it,
        Some("b"),
        "seek to the empty key lands on the first key",
    )
}

fn seek_for_prev_lands_on_exact_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "c", "e"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek_for_prev(b"c")?;
    expect_at(
        &it,
        Some("c"),
        "seek_for_prev(k) on a stored key lands on it",
    )
}

fn seek_for_prev_between_keys_lands_on_previous_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "c", "e"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek_for_prev(b"d")?;
    expect_at(
        &it,
        Some("c"),
        "seek_for_prev between keys lands on the previous key",
    )?;
    it.seek_for_prev(b"zzz")?;
    expect_at(
        &it,
        Some("e"),
        "seek_for_prev past the end lands on the last key",
    )
}

fn seek_for_prev_before_first_key_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["b", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    ensure!(
        !it.seek_for_prev(b"a")?,
        "seek_for_prev before the first key returns false"
    );
    expect_at(
        &it,
        None,
        "seek_for_prev before the first key leaves the iterator invalid",
    )
}

fn lower_bound_is_inclusive<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    expect_scan(
        e,
        CF_DEFAULT,
        bounded(Some("b"), None),
        &kvs(&[("b", "v-b"), ("c", "v-c")]),
        "the lower bound is inclusive",
    )
}

fn upper_bound_is_exclusive<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c", "d"])?;
    expect_scan(
        e,
        CF_DEFAULT,
        bounded(Some("a"), Some("c")),
        &kvs(&[("a", "v-a"), ("b", "v-b")]),
        "the upper bound is exclusive",
    )
}

fn only_lower_bound<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    expect_scan(
        e,
        CF_DEFAULT,
        bounded(Some("bb"), None),
        &kvs(&[("c", "v-c")]),
        "a lower bound between keys starts at the next key",
    )
}

fn only_upper_bound<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    expect_scan(
        e,
        CF_DEFAULT,
        bounded(None, Some("bb")),
        &kvs(&[("a", "v-a"), ("b", "v-b")]),
        "an upper bound between keys ends at the previous key",
    )
}

fn seek_below_lower_bound_lands_on_first_key_in_bounds<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator_opt(CF_DEFAULT, bounded(Some("b"), None))?;
    it.seek(b"a")?;
    expect_at(
        &it,
        Some("b"),
        "seek below the lower bound lands on the first key in bounds, never below it",
    )
}

fn seek_at_or_above_upper_bound_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator_opt(CF_DEFAULT, bounded(None, Some("b")))?;
    ensure!(
        !it.seek(b"b")?,
        "seek to the upper bound finds nothing (the bound is exclusive)"
    );
    expect_at(
        &it,
        None,
        "seek at the upper bound leaves the iterator invalid",
    )
}

fn seek_for_prev_at_upper_bound_lands_on_last_key_below_it<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator_opt(CF_DEFAULT, bounded(None, Some("c")))?;
    it.seek_for_prev(b"c")?;
    expect_at(
        &it,
        Some("b"),
        "seek_for_prev at the upper bound lands on the last key below it",
    )?;
    it.seek_for_prev(b"zzz")?;
    expect_at(
        &it,
        Some("b"),
        "seek_for_prev above the upper bound lands on the last key below it",
    )
}

fn seek_for_prev_below_lower_bound_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator_opt(CF_DEFAULT, bounded(Some("b"), None))?;
    ensure!(
        !it.seek_for_prev(b"a")?,
        "seek_for_prev below the lower bound finds nothing"
    );
    expect_at(
        &it,
        None,
        "seek_for_prev below the lower bound leaves the iterator invalid",
    )
}

fn equal_bounds_are_an_empty_range<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    expect_scan(
        e,
        CF_DEFAULT,
        bounded(Some("b"), Some("b")),
        &[],
        "lower == upper is an empty range",
    )?;
    let mut it = e.iterator_opt(CF_DEFAULT, bounded(Some("b"), Some("b")))?;
    ensure!(
        !it.seek(b"b")? && !it.seek_for_prev(b"b")?,
        "no seek finds a key in an empty range"
    );
    Ok(())
}

fn reversed_bounds_are_invalid_argument<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let r = e
        .iterator_opt(CF_DEFAULT, bounded(Some("c"), Some("a")))
        .map(|_| ());
    expect_err(
        r,
        ErrorKind::InvalidArgument,
        "an iterator with lower > upper",
    )?;
    let snap = e.snapshot()?;
    let r = snap
        .iterator_opt(CF_DEFAULT, bounded(Some("c"), Some("a")))
        .map(|_| ());
    expect_err(
        r,
        ErrorKind::InvalidArgument,
        "a snapshot iterator with lower > upper",
    )
}

fn next_past_last_key_is_not_valid_and_seek_recovers<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"b")?;
    ensure!(!it.next()?, "next() from the last key returns false");
    expect_at(
        &it,
        None,
        "next() from the last key leaves the iterator invalid",
    )?;
    it.seek_to_first()?;
    expect_at(
        &it,
        Some("a"),
        "a seek revives an iterator that ran off the end",
    )
}

fn prev_before_first_key_is_not_valid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"a")?;
    ensure!(!it.prev()?, "prev() from the first key returns false");
    expect_at(
        &it,
        None,
        "prev() from the first key leaves the iterator invalid",
    )
}

fn next_then_prev_returns_to_same_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"b")?;
    it.next()?;
    expect_at(&it, Some("c"), "next() from b lands on c")?;
    it.prev()?;
    expect_at(
        &it,
        Some("b"),
        "prev() after next() returns to b (direction change)",
    )
}

fn prev_then_next_returns_to_same_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek_for_prev(b"b")?;
    it.prev()?;
    expect_at(&it, Some("a"), "prev() from b lands on a")?;
    it.next()?;
    expect_at(
        &it,
        Some("b"),
        "next() after prev() returns to b (direction change)",
    )
}

fn next_on_invalid_iterator_is_invalid_argument<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    expect_err(
        it.next(),
        ErrorKind::InvalidArgument,
        "next() on an unpositioned iterator",
    )
}

fn prev_on_invalid_iterator_is_invalid_argument<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek(b"z")?;
    expect_err(
        it.prev(),
        ErrorKind::InvalidArgument,
        "prev() on an iterator that ran off the end",
    )
}

fn key_on_invalid_iterator_panics<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let it = e.iterator(CF_DEFAULT)?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let key = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| it.key().to_vec()));
    let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        it.value().map(|v| v.into_owned())
    }));
    std::panic::set_hook(hook);
    ensure!(
        key.is_err(),
        "key() on an invalid iterator panics (the documented contract), but it returned {:?}",
        key.ok()
    );
    ensure!(
        value.is_err(),
        "value() on an invalid iterator panics (the documented contract), but it returned"
    );
    Ok(())
}

fn iterator_does_not_see_later_puts<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    e.put(CF_DEFAULT, b"b", b"late")?;
    e.put(CF_DEFAULT, b"c", b"changed")?;
    it.seek_to_first()?;
    let mut seen = Vec::new();
    while it.valid() {
        seen.push((it.key().to_vec(), it.value()?.into_owned()));
        it.next()?;
    }
    ensure!(
        seen == kvs(&[("a", "v-a"), ("c", "v-c")]),
        "an iterator sees the state at its creation, not later puts: got {}",
        show_kvs(&seen)
    );
    Ok(())
}

fn iterator_does_not_see_later_deletes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    e.delete(CF_DEFAULT, b"b")?;
    e.delete_range(CF_DEFAULT, b"c", b"d")?;
    it.seek(b"b")?;
    expect_at(
        &it,
        Some("b"),
        "an iterator still shows a key deleted after its creation",
    )?;
    it.next()?;
    expect_at(
        &it,
        Some("c"),
        "an iterator still shows a key range-deleted after its creation",
    )
}

fn iterator_skips_deleted_keys<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c", "d"])?;
    e.delete(CF_DEFAULT, b"b")?;
    e.delete(CF_DEFAULT, b"c")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "v-a"), ("d", "v-d")]),
        "scans skip deleted keys both ways",
    )
}

fn iterator_values_match_gets<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..50u32 {
        e.put(
            CF_DEFAULT,
            &i.to_be_bytes(),
            &vec![i as u8; (i * 37 % 500) as usize],
        )?;
    }
    for (k, v) in crate::scan(e, CF_DEFAULT, IterOptions::default())? {
        let got = e.get(CF_DEFAULT, &k)?;
        ensure!(
            got.as_deref() == Some(&v[..]),
            "the iterator's value equals get() for key {}",
            engine_traits::display_key(&k)
        );
    }
    Ok(())
}

fn binary_keys_iterate_in_byte_order<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let keys: [&[u8]; 5] = [b"\xff", b"\x00", b"\x7f", b"\x80", b"\x00\xff"];
    for k in keys {
        e.put(CF_DEFAULT, k, b"v")?;
    }
    let got: Vec<Vec<u8>> = crate::scan(e, CF_DEFAULT, IterOptions::default())?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let want: Vec<Vec<u8>> = vec![
        b"\x00".to_vec(),
        b"\x00\xff".to_vec(),
        b"\x7f".to_vec(),
        b"\x80".to_vec(),
        b"\xff".to_vec(),
    ];
    ensure!(
        got == want,
        "keys iterate in unsigned byte order (0x80 after 0x7f), got {got:?}"
    );
    Ok(())
}

fn scan_of_thousand_keys_both_ways<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..1000u32 {
        e.put(CF_DEFAULT, format!("{i:04}").as_bytes(), b"v")?;
    }
    let fwd = crate::scan(e, CF_DEFAULT, bounded(Some("0100"), Some("0900")))?;
    let back = crate::scan_back(e, CF_DEFAULT, bounded(Some("0100"), Some("0900")))?;
    ensure!(
        fwd.len() == 800 && back.len() == 800,
        "a bounded scan of 800 keys visits 800 both ways, got {} and {}",
        fwd.len(),
        back.len()
    );
    ensure!(
        fwd.first().map(|kv| &kv.0[..]) == Some(b"0100")
            && back.first().map(|kv| &kv.0[..]) == Some(b"0899"),
        "bounded scans start at the bounds"
    );
    Ok(())
}

fn reseek_moves_freely<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    fill(e, &["a", "b", "c", "d"])?;
    let mut it = e.iterator(CF_DEFAULT)?;
    it.seek_to_last()?;
    expect_at(&it, Some("d"), "seek_to_last lands on the last key")?;
    it.seek(b"b")?;
    expect_at(&it, Some("b"), "seek after seek_to_last repositions")?;
    it.seek_for_prev(b"c")?;
    expect_at(&it, Some("c"), "seek_for_prev repositions")?;
    it.seek_to_first()?;
    expect_at(&it, Some("a"), "seek_to_first repositions")
}
