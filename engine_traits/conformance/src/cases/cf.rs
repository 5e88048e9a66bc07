//! Column families: isolation, unknown names, and how the CF list is opened.

use engine_traits::{
    CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE, EngineConfig, ErrorKind, IterOptions, KvEngine,
    Readable, WriteBatch,
};

use crate::{CaseResult, Ctx, ensure, expect_err, expect_get, expect_scan, kvs};

cases!("cf":
    well_known_cfs_are_opened_default_first,
    default_cf_is_added_when_not_listed,
    duplicate_cf_in_config_is_opened_once,
    extra_cf_is_usable,
    same_key_in_two_cfs_is_independent,
    delete_in_one_cf_keeps_other_cfs,
    delete_range_in_one_cf_keeps_other_cfs,
    scan_of_one_cf_shows_only_its_keys,
    unknown_cf_get_is_unknown_cf_error,
    unknown_cf_put_is_unknown_cf_error,
    unknown_cf_delete_is_unknown_cf_error,
    unknown_cf_delete_range_is_unknown_cf_error,
    unknown_cf_iterator_is_unknown_cf_error,
    unknown_cf_in_batch_fails_and_leaves_batch_unchanged,
    unknown_cf_snapshot_get_is_unknown_cf_error,
    empty_cf_name_in_config_is_invalid,
    unknown_profile_is_invalid,
);

fn well_known_cfs_are_opened_default_first<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let names = ctx.engine().cf_names();
    ensure!(
        names.first().map(String::as_str) == Some(CF_DEFAULT),
        "cf_names() lists default first, got {names:?}"
    );
    for cf in [CF_LOCK, CF_WRITE, CF_RAFT] {
        ensure!(
            names.iter().any(|n| n == cf),
            "cf_names() includes well-known CF {cf:?}, got {names:?}"
        );
    }
    Ok(())
}

fn default_cf_is_added_when_not_listed<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.open_at(&ctx.scratch("only-lock"), |c| EngineConfig {
        cfs: vec![CF_LOCK.into()],
        ..c
    })?;
    ensure!(
        e.cf_names() == vec![CF_DEFAULT.to_owned(), CF_LOCK.to_owned()],
        "opening with [lock] exposes exactly [default, lock], got {:?}",
        e.cf_names()
    );
    e.put(CF_DEFAULT, b"k", b"v")?;
    expect_get(
        &e,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "default is usable though not listed",
    )?;
    expect_err(
        e.get(CF_WRITE, b"k"),
        ErrorKind::UnknownCf,
        "a CF not listed is unknown",
    )
}

fn duplicate_cf_in_config_is_opened_once<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.open_at(&ctx.scratch("dup"), |c| EngineConfig {
        cfs: vec!["x".into(), "x".into(), CF_DEFAULT.into()],
        ..c
    })?;
    ensure!(
        e.cf_names() == vec![CF_DEFAULT.to_owned(), "x".to_owned()],
        "duplicates in the CF list are opened once, got {:?}",
        e.cf_names()
    );
    Ok(())
}

fn extra_cf_is_usable<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.open_at(&ctx.scratch("extra"), |c| c.with_cf("extra"))?;
    ensure!(
        e.cf_names().iter().any(|n| n == "extra"),
        "a CF asked for is listed, got {:?}",
        e.cf_names()
    );
    e.put("extra", b"k", b"v")?;
    expect_get(
        &e,
        "extra",
        b"k",
        Some(b"v"),
        "a CF asked for stores values",
    )?;
    expect_get(
        &e,
        CF_DEFAULT,
        b"k",
        None,
        "the extra CF is separate from default",
    )
}

fn same_key_in_two_cfs_is_independent<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"in-default")?;
    e.put(CF_WRITE, b"k", b"in-write")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"in-default"),
        "each CF keeps its own value for a key",
    )?;
    expect_get(
        e,
        CF_WRITE,
        b"k",
        Some(b"in-write"),
        "each CF keeps its own value for a key",
    )?;
    expect_get(
        e,
        CF_LOCK,
        b"k",
        None,
        "a key written elsewhere is absent from this CF",
    )
}

fn delete_in_one_cf_keeps_other_cfs<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"1")?;
    e.put(CF_LOCK, b"k", b"2")?;
    e.delete(CF_DEFAULT, b"k")?;
    expect_get(
        e,
        CF_LOCK,
        b"k",
        Some(b"2"),
        "a delete in default leaves lock alone",
    )
}

fn delete_range_in_one_cf_keeps_other_cfs<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for cf in [CF_DEFAULT, CF_RAFT] {
        e.put(cf, b"a", b"1")?;
        e.put(cf, b"b", b"2")?;
    }
    e.delete_range(CF_DEFAULT, b"a", b"z")?;
    expect_scan(
        e,
        CF_RAFT,
        IterOptions::default(),
        &kvs(&[("a", "1"), ("b", "2")]),
        "delete_range in default leaves raft alone",
    )?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &[],
        "delete_range empties its own CF",
    )
}

fn scan_of_one_cf_shows_only_its_keys<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"a", b"d")?;
    e.put(CF_WRITE, b"b", b"w")?;
    e.put(CF_DEFAULT, b"c", b"d")?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "d"), ("c", "d")]),
        "an iterator shows only its CF's keys",
    )
}

fn unknown_cf_get_is_unknown_cf_error<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    expect_err(
        ctx.engine().get("no-such-cf", b"k"),
        ErrorKind::UnknownCf,
        "get on an unknown CF",
    )
}

fn unknown_cf_put_is_unknown_cf_error<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    expect_err(
        ctx.engine().put("no-such-cf", b"k", b"v"),
        ErrorKind::UnknownCf,
        "put on an unknown CF",
    )
}

fn unknown_cf_delete_is_unknown_cf_error<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    expect_err(
        ctx.engine().delete("no-such-cf", b"k"),
        ErrorKind::UnknownCf,
        "delete on an unknown CF",
    )
}

fn unknown_cf_delete_range_is_unknown_cf_error<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    expect_err(
        ctx.engine().delete_range("no-such-cf", b"a", b"b"),
        ErrorKind::UnknownCf,
        "delete_range on an unknown CF",
    )
}

fn unknown_cf_iterator_is_unknown_cf_error<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    expect_err(
        ctx.engine().iterator("no-such-cf").map(|_| ()),
        ErrorKind::UnknownCf,
        "iterator on an unknown CF",
    )
}

fn unknown_cf_in_batch_fails_and_leaves_batch_unchanged<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    expect_err(
        b.put("no-such-cf", b"k", b"v"),
        ErrorKind::UnknownCf,
        "a batch put on an unknown CF",
    )?;
    expect_err(
        b.delete("no-such-cf", b"k"),
        ErrorKind::UnknownCf,
        "a batch delete on an unknown CF",
    )?;
    ensure!(
        b.count() == 1,
        "a failed batch operation adds nothing: count is {}, expected 1",
        b.count()
    );
    e.write(&Default::default(), &b)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"a",
        Some(b"1"),
        "the rest of the batch still applies",
    )
}

fn unknown_cf_snapshot_get_is_unknown_cf_error<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let snap = ctx.engine().snapshot()?;
    expect_err(
        snap.get("no-such-cf", b"k"),
        ErrorKind::UnknownCf,
        "snapshot get on an unknown CF",
    )
}

fn empty_cf_name_in_config_is_invalid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let r = ctx.open_at(&ctx.scratch("empty-cf"), |c| c.with_cf(""));
    expect_err(
        r.map(|_| ()),
        ErrorKind::InvalidArgument,
        "opening with an empty CF name",
    )
}

fn unknown_profile_is_invalid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let r = ctx.open_at(&ctx.scratch("bad-profile"), |c| {
        c.with_profile("no-such-profile-xyz")
    });
    expect_err(
        r.map(|_| ()),
        ErrorKind::InvalidArgument,
        "opening with an unknown options profile",
    )
}
