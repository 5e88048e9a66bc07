//! Snapshots: a consistent view that later writes, deletes and delete_range cannot change.

use engine_traits::{
    CF_DEFAULT, CF_LOCK, CF_WRITE, IterOptions, KvEngine, WriteBatch, WriteOptions,
};

use crate::{CaseResult, Ctx, expect_get, expect_scan, kvs};

cases!("snapshot":
    snapshot_keeps_old_value_after_put,
    snapshot_does_not_see_new_key,
    snapshot_still_sees_deleted_key,
    snapshot_isolated_from_delete_range,
    snapshot_iterator_shows_snapshot_state,
    snapshot_iterator_respects_bounds,
    snapshot_is_consistent_across_cfs,
    snapshot_sees_none_of_a_later_batch,
    snapshot_taken_after_write_sees_it,
    two_snapshots_are_independent,
    snapshot_outlives_many_overwrites,
);

fn snapshot_keeps_old_value_after_put<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"old")?;
    let snap = e.snapshot()?;
    e.put(CF_DEFAULT, b"k", b"new")?;
    expect_get(
        &snap,
        CF_DEFAULT,
        b"k",
        Some(b"old"),
        "a snapshot keeps the value it saw",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"new"),
        "the engine shows the new value",
    )
}

fn snapshot_does_not_see_new_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let snap = e.snapshot()?;
    e.put(CF_DEFAULT, b"k", b"v")?;
    expect_get(
        &snap,
        CF_DEFAULT,
        b"k",
        None,
        "a snapshot does not see a key written after it",
    )
}

fn snapshot_still_sees_deleted_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    let snap = e.snapshot()?;
    e.delete(CF_DEFAULT, b"k")?;
    expect_get(
        &snap,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "a snapshot still sees a key deleted after it",
    )
}

fn snapshot_isolated_from_delete_range<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for k in ["a", "b", "c"] {
        e.put(CF_DEFAULT, k.as_bytes(), b"v")?;
    }
    let snap = e.snapshot()?;
    e.delete_range(CF_DEFAULT, b"a", b"z")?;
    expect_get(
        &snap,
        CF_DEFAULT,
        b"b",
        Some(b"v"),
        "a snapshot is isolated from a later delete_range (get)",
    )?;
    expect_scan(
        &snap,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "v"), ("b", "v"), ("c", "v")]),
        "a snapshot is isolated from a later delete_range (scan)",
    )?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &[],
        "the engine itself shows the range deleted",
    )
}

fn snapshot_iterator_shows_snapshot_state<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"a", b"1")?;
    e.put(CF_DEFAULT, b"b", b"2")?;
    let snap = e.snapshot()?;
    e.put(CF_DEFAULT, b"c", b"3")?;
    e.put(CF_DEFAULT, b"a", b"changed")?;
    e.delete(CF_DEFAULT, b"b")?;
    expect_scan(
        &snap,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "1"), ("b", "2")]),
        "a snapshot's iterator shows the snapshot's state",
    )
}

fn snapshot_iterator_respects_bounds<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for k in ["a", "b", "c", "d"] {
        e.put(CF_DEFAULT, k.as_bytes(), b"v")?;
    }
    let snap = e.snapshot()?;
    expect_scan(
        &snap,
        CF_DEFAULT,
        IterOptions::bounded(Some(b"b"), Some(b"d")),
        &kvs(&[("b", "v"), ("c", "v")]),
        "snapshot iterators honour [lower, upper)",
    )
}

fn snapshot_is_consistent_across_cfs<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_LOCK, b"k", b"1")?;
    e.put(CF_WRITE, b"k", b"1")?;
    let snap = e.snapshot()?;
    e.put(CF_LOCK, b"k", b"2")?;
    e.put(CF_WRITE, b"k", b"2")?;
    expect_get(&snap, CF_LOCK, b"k", Some(b"1"), "one snapshot covers lock")?;
    expect_get(
        &snap,
        CF_WRITE,
        b"k",
        Some(b"1"),
        "the same snapshot covers write at the same point",
    )
}

fn snapshot_sees_none_of_a_later_batch<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let snap = e.snapshot()?;
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.put(CF_LOCK, b"b", b"2")?;
    e.write(&WriteOptions::default(), &b)?;
    expect_get(
        &snap,
        CF_DEFAULT,
        b"a",
        None,
        "a snapshot sees nothing of a later batch",
    )?;
    expect_get(
        &snap,
        CF_LOCK,
        b"b",
        None,
        "a snapshot sees nothing of a later batch",
    )
}

fn snapshot_taken_after_write_sees_it<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    let snap = e.snapshot()?;
    expect_get(
        &snap,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "a snapshot sees writes made before it",
    )
}

fn two_snapshots_are_independent<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"1")?;
    let s1 = e.snapshot()?;
    e.put(CF_DEFAULT, b"k", b"2")?;
    let s2 = e.snapshot()?;
    e.put(CF_DEFAULT, b"k", b"3")?;
    expect_get(
        &s1,
        CF_DEFAULT,
        b"k",
        Some(b"1"),
        "the first snapshot keeps version 1",
    )?;
    expect_get(
        &s2,
        CF_DEFAULT,
        b"k",
        Some(b"2"),
        "the second snapshot keeps version 2",
    )?;
    drop(s1);
    expect_get(
        &s2,
        CF_DEFAULT,
        b"k",
        Some(b"2"),
        "dropping one snapshot leaves the other intact",
    )
}

fn snapshot_outlives_many_overwrites<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..200u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), b"original")?;
    }
    let snap = e.snapshot()?;
    for round in 0..5 {
        for i in 0..200u32 {
            e.put(
                CF_DEFAULT,
                &i.to_be_bytes(),
                format!("round{round}").as_bytes(),
            )?;
        }
        e.flush()?;
    }
    for i in (0..200u32).step_by(17) {
        expect_get(
            &snap,
            CF_DEFAULT,
            &i.to_be_bytes(),
            Some(b"original"),
            "a snapshot survives overwrites and flushes",
        )?;
    }
    Ok(())
}
