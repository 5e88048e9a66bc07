//! Capability `persistence`: what survives a clean close and reopen.

use engine_traits::{
    CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE, EngineConfig, IterOptions, KvEngine, WriteBatch,
    WriteOptions,
};

use crate::{CaseResult, Ctx, ensure, expect_get, expect_scan, kvs};

cases!("persistence":
    reopen_keeps_puts needs [Persistence],
    reopen_keeps_deletes needs [Persistence],
    reopen_keeps_delete_range needs [Persistence],
    reopen_keeps_batches needs [Persistence],
    reopen_keeps_every_cf needs [Persistence],
    reopen_after_flush_keeps_data needs [Persistence],
    reopen_keeps_synced_writes needs [Persistence],
    reopen_keeps_writes_without_wal_after_clean_close needs [Persistence],
    reopen_with_an_extra_cf_keeps_data needs [Persistence],
    reopen_twice_keeps_large_values needs [Persistence],
    open_without_create_if_missing_fails_on_empty_dir needs [Persistence],
);

fn reopen_keeps_puts<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    ctx.engine().put(CF_DEFAULT, b"k", b"v")?;
    let e = ctx.reopen()?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "a put survives close and reopen",
    )
}

fn reopen_keeps_deletes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    e.flush()?;
    e.delete(CF_DEFAULT, b"k")?;
    let e = ctx.reopen()?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        None,
        "a delete of a flushed key survives reopen",
    )
}

fn reopen_keeps_delete_range<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for k in ["a", "b", "c"] {
        e.put(CF_DEFAULT, k.as_bytes(), b"v")?;
    }
    e.flush()?;
    e.delete_range(CF_DEFAULT, b"a", b"c")?;
    let e = ctx.reopen()?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("c", "v")]),
        "a delete_range survives reopen",
    )
}

fn reopen_keeps_batches<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let mut b = e.write_batch();
    b.put(CF_DEFAULT, b"a", b"1")?;
    b.put(CF_LOCK, b"b", b"2")?;
    e.write(&WriteOptions::default(), &b)?;
    let e = ctx.reopen()?;
    expect_get(e, CF_DEFAULT, b"a", Some(b"1"), "a batch survives reopen")?;
    expect_get(
        e,
        CF_LOCK,
        b"b",
        Some(b"2"),
        "a batch survives reopen in every CF it touched",
    )
}

fn reopen_keeps_every_cf<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for cf in [CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT] {
        e.put(cf, b"k", cf.as_bytes())?;
    }
    let e = ctx.reopen()?;
    for cf in [CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT] {
        expect_get(
            e,
            cf,
            b"k",
            Some(cf.as_bytes()),
            "each CF keeps its data across reopen",
        )?;
    }
    Ok(())
}

fn reopen_after_flush_keeps_data<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..500u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), &[7u8; 100])?;
    }
    e.flush()?;
    let e = ctx.reopen()?;
    let all = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        all.len() == 500,
        "500 flushed keys survive reopen, found {}",
        all.len()
    );
    Ok(())
}

fn reopen_keeps_synced_writes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    ctx.engine()
        .put_opt(&WriteOptions::sync(), CF_DEFAULT, b"k", b"synced")?;
    let e = ctx.reopen()?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"synced"),
        "a synced put survives reopen",
    )
}

fn reopen_keeps_writes_without_wal_after_clean_close<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let opts = WriteOptions {
        sync: false,
        disable_wal: true,
    };
    ctx.engine().put_opt(&opts, CF_DEFAULT, b"k", b"no-wal")?;
    let e = ctx.reopen()?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"no-wal"),
        "a write without WAL survives a clean close (the engine flushes on close)",
    )
}

fn reopen_with_an_extra_cf_keeps_data<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    ctx.engine().put(CF_DEFAULT, b"k", b"v")?;
    ctx.close();
    let path = ctx.config().path.clone();
    let e = ctx.open_at(&path, |c| c.with_cf("added-later"))?;
    expect_get(
        &e,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "reopening with one more CF keeps the old data",
    )?;
    e.put("added-later", b"k", b"new-cf")?;
    expect_get(
        &e,
        "added-later",
        b"k",
        Some(b"new-cf"),
        "the CF added on reopen is usable",
    )
}

fn reopen_twice_keeps_large_values<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let big = vec![0xabu8; 256 << 10];
    ctx.engine().put(CF_DEFAULT, b"big", &big)?;
    ctx.reopen()?;
    let e = ctx.reopen()?;
    expect_get(
        e,
        CF_DEFAULT,
        b"big",
        Some(&big),
        "a 256 KiB value survives two reopens",
    )
}

fn open_without_create_if_missing_fails_on_empty_dir<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let path = ctx.scratch("missing");
    let r = ctx.open_at(&path, |c| EngineConfig {
        create_if_missing: false,
        ..c
    });
    match r {
        Err(e)
            if matches!(
                e.kind(),
                engine_traits::ErrorKind::InvalidArgument | engine_traits::ErrorKind::Io
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(crate::Failure(format!(
            "opening a missing database without create_if_missing is InvalidArgument or Io, got {}: {e}",
            e.kind()
        ))),
        Ok(_) => Err(crate::Failure(
            "opening a missing database without create_if_missing must fail".into(),
        )),
    }
}
