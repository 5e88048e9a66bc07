//! Point reads and writes.

use engine_traits::{CF_DEFAULT, ErrorKind, KvEngine, ReadOptions, WriteOptions};

use crate::{CaseResult, Ctx, ensure, expect_err, expect_get};

cases!("basic":
    get_of_missing_key_is_none,
    put_then_get_returns_value,
    put_overwrites_previous_value,
    delete_removes_key,
    delete_of_missing_key_is_ok,
    put_after_delete_restores_key,
    empty_value_is_some_not_none,
    empty_key_is_a_valid_key,
    one_mib_value_roundtrips,
    sixteen_kib_key_roundtrips,
    binary_keys_with_nul_and_ff_are_distinct,
    value_with_every_byte_roundtrips,
    thousand_keys_roundtrip,
    sync_write_is_readable,
    disable_wal_write_is_readable,
    sync_with_disable_wal_is_invalid_and_writes_nothing,
    sync_call_keeps_data,
    flush_keeps_data,
    fill_cache_false_reads_the_same,
    delete_opt_with_sync_deletes,
    key_prefix_is_not_the_key,
);

fn get_of_missing_key_is_none<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    expect_get(
        ctx.engine(),
        CF_DEFAULT,
        b"nope",
        None,
        "a key never written reads as None",
    )
}

fn put_then_get_returns_value<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"v"),
        "a put is visible to the next get",
    )
}

fn put_overwrites_previous_value<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"old")?;
    e.put(CF_DEFAULT, b"k", b"new")?;
    expect_get(e, CF_DEFAULT, b"k", Some(b"new"), "the latest put wins")
}

fn delete_removes_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    e.delete(CF_DEFAULT, b"k")?;
    expect_get(e, CF_DEFAULT, b"k", None, "a deleted key reads as None")
}

fn delete_of_missing_key_is_ok<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.delete(CF_DEFAULT, b"never")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"never",
        None,
        "deleting a missing key creates nothing",
    )
}

fn put_after_delete_restores_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"1")?;
    e.delete(CF_DEFAULT, b"k")?;
    e.put(CF_DEFAULT, b"k", b"2")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"2"),
        "a put after a delete brings the key back",
    )
}

fn empty_value_is_some_not_none<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b""),
        "an empty value is Some(empty), not None",
    )
}

fn empty_key_is_a_valid_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"", b"empty-key")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"",
        Some(b"empty-key"),
        "the empty key stores a value",
    )?;
    e.delete(CF_DEFAULT, b"")?;
    expect_get(e, CF_DEFAULT, b"", None, "the empty key can be deleted")
}

fn one_mib_value_roundtrips<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let value: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    e.put(CF_DEFAULT, b"big", &value)?;
    let got = e.get(CF_DEFAULT, b"big")?;
    ensure!(
        got.as_deref() == Some(&value[..]),
        "a 1 MiB value reads back byte for byte (got {:?} bytes)",
        got.map(|v| v.len())
    );
    Ok(())
}

fn sixteen_kib_key_roundtrips<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let key = vec![b'k'; 16 << 10];
    let mut other = key.clone();
    *other.last_mut().unwrap() = b'l';
    e.put(CF_DEFAULT, &key, b"long")?;
    e.put(CF_DEFAULT, &other, b"other")?;
    expect_get(
        e,
        CF_DEFAULT,
        &key,
        Some(b"long"),
        "a 16 KiB key stores its value",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        &other,
        Some(b"other"),
        "long keys differing in the last byte are distinct",
    )
}

fn binary_keys_with_nul_and_ff_are_distinct<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let keys: [&[u8]; 6] = [b"a", b"a\x00", b"a\x00\x00", b"\x00", b"\xff", b"\xff\xff"];
    for (i, k) in keys.iter().enumerate() {
        e.put(CF_DEFAULT, k, format!("v{i}").as_bytes())?;
    }
    for (i, k) in keys.iter().enumerate() {
        expect_get(
            e,
            CF_DEFAULT,
            k,
            Some(format!("v{i}").as_bytes()),
            "keys with 0x00/0xFF bytes are distinct, not truncated",
        )?;
    }
    Ok(())
}

fn value_with_every_byte_roundtrips<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let value: Vec<u8> = (0..=255u8).collect();
    e.put(CF_DEFAULT, b"bytes", &value)?;
    expect_get(
        e,
        CF_DEFAULT,
        b"bytes",
        Some(&value),
        "a value holding all 256 byte values is stored unchanged",
    )
}

fn thousand_keys_roundtrip<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..1000u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), &(i * 7).to_le_bytes())?;
    }
    for i in 0..1000u32 {
        expect_get(
            e,
            CF_DEFAULT,
            &i.to_be_bytes(),
            Some(&(i * 7).to_le_bytes()),
            "every one of 1000 keys reads its own value",
        )?;
    }
    Ok(())
}

fn sync_write_is_readable<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put_opt(&WriteOptions::sync(), CF_DEFAULT, b"k", b"synced")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"synced"),
        "a synced put is visible",
    )
}

fn disable_wal_write_is_readable<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let opts = WriteOptions {
        sync: false,
        disable_wal: true,
    };
    e.put_opt(&opts, CF_DEFAULT, b"k", b"no-wal")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        Some(b"no-wal"),
        "a put without WAL is visible",
    )
}

fn sync_with_disable_wal_is_invalid_and_writes_nothing<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    let opts = WriteOptions {
        sync: true,
        disable_wal: true,
    };
    expect_err(
        e.put_opt(&opts, CF_DEFAULT, b"k", b"v"),
        ErrorKind::InvalidArgument,
        "sync together with disable_wal is rejected",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k",
        None,
        "a rejected write leaves nothing behind",
    )
}

fn sync_call_keeps_data<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    e.sync()?;
    expect_get(e, CF_DEFAULT, b"k", Some(b"v"), "sync() changes no data")
}

fn flush_keeps_data<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"a", b"1")?;
    e.put(CF_DEFAULT, b"b", b"2")?;
    e.delete(CF_DEFAULT, b"a")?;
    e.flush()?;
    expect_get(
        e,
        CF_DEFAULT,
        b"a",
        None,
        "a delete stays deleted after flush",
    )?;
    expect_get(e, CF_DEFAULT, b"b", Some(b"2"), "a put stays after flush")
}

fn fill_cache_false_reads_the_same<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    let got = e.get_opt(&ReadOptions { fill_cache: false }, CF_DEFAULT, b"k")?;
    ensure!(
        got.as_deref() == Some(&b"v"[..]),
        "fill_cache=false returns the same value, got {}",
        crate::show(got.as_deref())
    );
    Ok(())
}

fn delete_opt_with_sync_deletes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k", b"v")?;
    e.delete_opt(&WriteOptions::sync(), CF_DEFAULT, b"k")?;
    expect_get(e, CF_DEFAULT, b"k", None, "a synced delete removes the key")
}

fn key_prefix_is_not_the_key<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"abc", b"v")?;
    expect_get(
        e,
        CF_DEFAULT,
        b"ab",
        None,
        "a prefix of a stored key is not found",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"abcd",
        None,
        "an extension of a stored key is not found",
    )
}
