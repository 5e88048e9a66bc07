//! Write batches: atomicity, order, save points, reuse.

use engine_traits::{
    CF_DEFAULT, CF_LOCK, CF_WRITE, ErrorKind, IterOptions, KvEngine, WriteBatch, WriteOptions,
};

use crate::{CaseResult, Ctx, ensure, expect_err, expect_get, expect_scan, kvs};

cases!("batch":
    batch_applies_every_operation,
    batch_operations_apply_in_order,
    batch_spans_column_families,
    batch_is_invisible_until_written,
    empty_batch_write_is_noop,
    count_and_data_size_track_operations,
    batch_written_twice_applies_twice,
    batch_can_grow_after_write_and_be_written_again,
    clear_empties_batch_and_save_points,
    rollback_drops_operations_after_save_point,
    nested_save_points_roll_back_one_at_a_time,
    pop_save_point_keeps_operations,
    rollback_without_save_point_is_invalid_and_keeps_batch,
    pop_without_save_point_is_invalid,
    rollback_to_save_point_at_start_empties_batch,
    batch_delete_range_applies,
    batch_delete_range_reversed_is_invalid,
    synced_batch_applies,
    invalid_write_options_write_nothing,
);

fn w<E: KvEngine>(e: &E, b: &E::WriteBatch) -> engine_traits::Result<()> {
    e.write(&WriteOptions::default(), b)
}

fn batch_applies_every_operation<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"gone", b"x")?;
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.put(CF_DEFAULT, b"b", b"2")?;
    b.delete(CF_DEFAULT, b"gone")?;
    w(e, &b)?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "1"), ("b", "2")]),
        "a written batch applies all its puts and deletes",
    )
}

fn batch_operations_apply_in_order<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"x", b"1")?;
    b.delete(CF_DEFAULT, b"x")?;
    b.delete(CF_DEFAULT, b"y")?;
    b.put(CF_DEFAULT, b"y", b"2")?;
    b.put(CF_DEFAULT, b"z", b"old")?;
    b.put(CF_DEFAULT, b"z", b"new")?;
    w(e, &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"x",
        None,
        "put then delete in one batch leaves the key deleted",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"y",
        Some(b"2"),
        "delete then put in one batch leaves the key present",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"z",
        Some(b"new"),
        "the later of two puts in one batch wins",
    )
}

fn batch_spans_column_families<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_LOCK, b"k", b"lock")?;
    b.put(CF_WRITE, b"k", b"write")?;
    w(e, &b)?;
    expect_get(e, CF_LOCK, b"k", Some(b"lock"), "a batch writes to lock")?;
    expect_get(
        e,
        CF_WRITE,
        b"k",
        Some(b"write"),
        "the same batch writes to write",
    )
}

fn batch_is_invisible_until_written<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"k", b"v")?;
    expect_get(e, CF_DEFAULT, b"k", None, "an unwritten batch is invisible")?;
    drop(b);
    expect_get(e, CF_DEFAULT, b"k", None, "a dropped batch writes nothing")
}

fn empty_batch_write_is_noop<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    let b = e.write_batch();
    ensure!(
        b.is_empty() && b.count() == 0,
        "a new batch is empty, count {}",
        b.count()
    );
    w(e, &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "writing an empty batch changes nothing",
    )
}

fn count_and_data_size_track_operations<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    let empty_size = b.data_size();
    b.put(CF_DEFAULT, b"key", b"value")?;
    let one = b.data_size();
    b.delete(CF_DEFAULT, b"key2")?;
    ensure!(
        b.count() == 2,
        "count() counts each operation: got {}, expected 2",
        b.count()
    );
    ensure!(
        one >= empty_size + 8,
        "data_size() grows by at least key+value bytes: {empty_size} -> {one}"
    );
    ensure!(
        b.data_size() >= one + 4,
        "data_size() grows by at least the deleted key's bytes: {one} -> {}",
        b.data_size()
    );
    Ok(())
}

fn batch_written_twice_applies_twice<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.delete(CF_DEFAULT, b"a")?;
    b.put(CF_DEFAULT, b"b", b"from-batch")?;
    w(e, &b)?;
    e.put(CF_DEFAULT, b"a", b"between")?;
    e.put(CF_DEFAULT, b"b", b"between")?;
    w(e, &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"a",
        None,
        "writing a batch again re-applies its delete",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"b",
        Some(b"from-batch"),
        "writing a batch again re-applies its put",
    )
}

fn batch_can_grow_after_write_and_be_written_again<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    w(e, &b)?;
    b.put(CF_DEFAULT, b"b", b"2")?;
    ensure!(
        b.count() == 2,
        "write() does not consume or clear the batch: count {}, expected 2",
        b.count()
    );
    w(e, &b)?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "1"), ("b", "2")]),
        "a batch grown after a write applies everything",
    )
}

fn clear_empties_batch_and_save_points<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.set_save_point();
    b.put(CF_DEFAULT, b"b", b"2")?;
    b.clear();
    ensure!(
        b.is_empty(),
        "clear() empties the batch, count {}",
        b.count()
    );
    expect_err(
        b.rollback_to_save_point(),
        ErrorKind::InvalidArgument,
        "clear() drops save points too",
    )?;
    w(e, &b)?;
    expect_get(e, CF_DEFAULT, b"a", None, "a cleared batch writes nothing")
}

fn rollback_drops_operations_after_save_point<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"kept", b"1")?;
    b.set_save_point();
    b.put(CF_DEFAULT, b"dropped", b"2")?;
    b.delete(CF_DEFAULT, b"kept")?;
    b.rollback_to_save_point()?;
    ensure!(
        b.count() == 1,
        "rollback leaves the operations before the save point: count {}, expected 1",
        b.count()
    );
    w(e, &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"kept",
        Some(b"1"),
        "operations before the save point apply",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"dropped",
        None,
        "operations after the save point are rolled back",
    )
}

fn nested_save_points_roll_back_one_at_a_time<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.set_save_point();
    b.put(CF_DEFAULT, b"b", b"2")?;
    b.set_save_point();
    b.put(CF_DEFAULT, b"c", b"3")?;
    b.rollback_to_save_point()?;
    w(e, &b)?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "1"), ("b", "2")]),
        "rollback undoes only the innermost save point",
    )?;
    b.rollback_to_save_point()?;
    ensure!(
        b.count() == 1,
        "the second rollback reaches the outer save point: count {}, expected 1",
        b.count()
    );
    expect_err(
        b.rollback_to_save_point(),
        ErrorKind::InvalidArgument,
        "a third rollback has no save point left",
    )
}

fn pop_save_point_keeps_operations<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.set_save_point();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.set_save_point();
    b.put(CF_DEFAULT, b"b", b"2")?;
    b.pop_save_point()?;
    b.rollback_to_save_point()?;
    ensure!(
        b.count() == 0,
        "after pop, rollback goes to the outer save point: count {}, expected 0",
        b.count()
    );
    let mut b = e.write_batch();
    b.set_save_point();
    b.put(CF_DEFAULT, b"c", b"3")?;
    b.pop_save_point()?;
    w(e, &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"c",
        Some(b"3"),
        "pop_save_point keeps the operations it covered",
    )
}

fn rollback_without_save_point_is_invalid_and_keeps_batch<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    expect_err(
        b.rollback_to_save_point(),
        ErrorKind::InvalidArgument,
        "rollback_to_save_point with no save point",
    )?;
    ensure!(
        b.count() == 1,
        "a failed rollback leaves the batch unchanged: count {}, expected 1",
        b.count()
    );
    w(e, &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"a",
        Some(b"1"),
        "the batch still writes after a failed rollback",
    )
}

fn pop_without_save_point_is_invalid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let mut b = ctx.engine().write_batch();
    expect_err(
        b.pop_save_point(),
        ErrorKind::InvalidArgument,
        "pop_save_point with no save point",
    )
}

fn rollback_to_save_point_at_start_empties_batch<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.set_save_point();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.delete_range(CF_DEFAULT, b"a", b"z")?;
    b.rollback_to_save_point()?;
    ensure!(
        b.is_empty(),
        "rollback to a save point set on an empty batch empties it: count {}",
        b.count()
    );
    Ok(())
}

fn batch_delete_range_applies<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for k in ["a", "b", "c", "d"] {
        e.put(CF_DEFAULT, k.as_bytes(), b"v")?;
    }
    let mut b = e.write_batch();
    b.delete_range(CF_DEFAULT, b"b", b"d")?;
    b.put(CF_DEFAULT, b"c", b"again")?;
    w(e, &b)?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "v"), ("c", "again"), ("d", "v")]),
        "a batch's delete_range applies before its later put",
    )
}

fn batch_delete_range_reversed_is_invalid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let mut b = ctx.engine().write_batch();
    expect_err(
        b.delete_range(CF_DEFAULT, b"z", b"a"),
        ErrorKind::InvalidArgument,
        "a batch delete_range with start > end",
    )?;
    ensure!(
        b.is_empty(),
        "the rejected delete_range is not added: count {}",
        b.count()
    );
    Ok(())
}

fn synced_batch_applies<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    e.write(&WriteOptions::sync(), &b)?;
    expect_get(e, CF_DEFAULT, b"a", Some(b"1"), "a synced batch is visible")
}

fn invalid_write_options_write_nothing<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    let bad = WriteOptions {
        sync: true,
        disable_wal: true,
    };
    expect_err(
        e.write(&bad, &b),
        ErrorKind::InvalidArgument,
        "a batch written with sync + disable_wal",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"a",
        None,
        "a rejected batch leaves nothing behind",
    )
}
