//! Optional capabilities: declared ones must work, undeclared ones must be absent.

use engine_traits::{
    CF_DEFAULT, Capability, EngineIterator, ErrorKind, IterOptions, KvEngine, Readable,
};

use crate::{
    CaseResult, Ctx, Failure, ensure, expect_at, expect_err, expect_get, expect_scan, kvs,
};

cases!("capability":
    declared_capabilities_match_accessors,
    checkpoint_is_an_openable_copy needs [Checkpoint, Persistence],
    checkpoint_excludes_later_writes needs [Checkpoint, Persistence],
    checkpoint_into_existing_dir_is_invalid needs [Checkpoint],
    bulk_ingest_loads_entries needs [BulkIngest],
    bulk_ingest_overrides_older_values needs [BulkIngest],
    bulk_ingest_of_unsorted_keys_is_invalid_and_loads_nothing needs [BulkIngest],
    bulk_ingest_of_nothing_is_noop needs [BulkIngest],
    compact_range_keeps_every_value needs [ManualCompaction],
    compact_after_deletes_keeps_them_deleted needs [ManualCompaction],
    statistics_count_user_bytes_written needs [Statistics],
    statistics_report_engine_bytes_and_disk_after_flush needs [Statistics],
    prefix_seek_stops_at_end_of_prefix needs [PrefixSeek],
    prefix_seek_for_prev_stays_in_prefix needs [PrefixSeek],
    prefix_mode_rejects_seek_to_first needs [PrefixSeek],
);

fn declared_capabilities_match_accessors<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let caps = E::CAPABILITIES;
    let pairs = [
        (Capability::Checkpoint, e.as_checkpoint().is_some()),
        (Capability::BulkIngest, e.as_bulk_ingest().is_some()),
        (
            Capability::ManualCompaction,
            e.as_manual_compaction().is_some(),
        ),
        (Capability::Statistics, e.as_statistics().is_some()),
    ];
    for (cap, offered) in pairs {
        ensure!(
            caps.has(cap) == offered,
            "capability {cap}: declared {} but accessor returns {}",
            caps.has(cap),
            if offered { "Some" } else { "None" }
        );
    }
    Ok(())
}

fn checkpoint_is_an_openable_copy<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"a", b"1")?;
    e.put(engine_traits::CF_LOCK, b"b", b"2")?;
    let dir = ctx.scratch("checkpoint");
    e.as_checkpoint()
        .ok_or_else(|| Failure("checkpoint declared but absent".into()))?
        .checkpoint(&dir)?;
    let copy = ctx.open_at(&dir, |c| c)?;
    expect_get(
        &copy,
        CF_DEFAULT,
        b"a",
        Some(b"1"),
        "a checkpoint opens with the data of default",
    )?;
    expect_get(
        &copy,
        engine_traits::CF_LOCK,
        b"b",
        Some(b"2"),
        "a checkpoint holds every CF",
    )
}

fn checkpoint_excludes_later_writes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"a", b"before")?;
    let dir = ctx.scratch("checkpoint");
    e.as_checkpoint()
        .ok_or_else(|| Failure("checkpoint declared but absent".into()))?
        .checkpoint(&dir)?;
    e.put(CF_DEFAULT, b"a", b"after")?;
    e.put(CF_DEFAULT, b"b", b"after")?;
    let copy = ctx.open_at(&dir, |c| c)?;
    expect_get(
        &copy,
        CF_DEFAULT,
        b"a",
        Some(b"before"),
        "a checkpoint keeps the value at its time",
    )?;
    expect_get(
        &copy,
        CF_DEFAULT,
        b"b",
        None,
        "a checkpoint misses later writes",
    )
}

fn checkpoint_into_existing_dir_is_invalid<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let dir = ctx.scratch("exists");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
    let cp = ctx
        .engine()
        .as_checkpoint()
        .ok_or_else(|| Failure("checkpoint declared but absent".into()))?;
    let r = cp.checkpoint(&dir);
    match r {
        Err(e) if matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::Io) => Ok(()),
        other => Err(Failure(format!(
            "a checkpoint into an existing directory is InvalidArgument or Io, got {other:?}"
        ))),
    }
}

fn sorted(n: u32, tag: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("k{i:04}").into_bytes(),
                format!("{tag}{i}").into_bytes(),
            )
        })
        .collect()
}

fn bulk_ingest_loads_entries<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let entries = sorted(100, "ing");
    e.as_bulk_ingest()
        .ok_or_else(|| Failure("bulk_ingest declared but absent".into()))?
        .ingest(CF_DEFAULT, &entries)?;
    let all = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        all == entries,
        "every ingested entry is readable in order ({} of 100 found)",
        all.len()
    );
    Ok(())
}

fn bulk_ingest_overrides_older_values<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"k0001", b"old")?;
    e.put(CF_DEFAULT, b"zzz", b"untouched")?;
    e.as_bulk_ingest()
        .ok_or_else(|| Failure("bulk_ingest declared but absent".into()))?
        .ingest(CF_DEFAULT, &sorted(3, "new"))?;
    expect_get(
        e,
        CF_DEFAULT,
        b"k0001",
        Some(b"new1"),
        "ingested values are newer than earlier writes",
    )?;
    expect_get(
        e,
        CF_DEFAULT,
        b"zzz",
        Some(b"untouched"),
        "keys outside the ingested set are unchanged",
    )
}

fn bulk_ingest_of_unsorted_keys_is_invalid_and_loads_nothing<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    let entries = vec![
        (b"b".to_vec(), b"1".to_vec()),
        (b"a".to_vec(), b"2".to_vec()),
    ];
    let ing = e
        .as_bulk_ingest()
        .ok_or_else(|| Failure("bulk_ingest declared but absent".into()))?;
    expect_err(
        ing.ingest(CF_DEFAULT, &entries),
        ErrorKind::InvalidArgument,
        "ingesting unsorted keys",
    )?;
    expect_get(e, CF_DEFAULT, b"b", None, "a rejected ingest loads nothing")
}

fn bulk_ingest_of_nothing_is_noop<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    e.put(CF_DEFAULT, b"a", b"1")?;
    e.as_bulk_ingest()
        .ok_or_else(|| Failure("bulk_ingest declared but absent".into()))?
        .ingest(CF_DEFAULT, &[])?;
    expect_scan(
        e,
        CF_DEFAULT,
        IterOptions::default(),
        &kvs(&[("a", "1")]),
        "an empty ingest changes nothing",
    )
}

fn compact_range_keeps_every_value<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for round in 0..3u8 {
        for i in 0..300u32 {
            e.put(CF_DEFAULT, &i.to_be_bytes(), &[round; 64])?;
        }
        e.flush()?;
    }
    let c = e
        .as_manual_compaction()
        .ok_or_else(|| Failure("manual_compaction declared but absent".into()))?;
    c.compact_range(
        CF_DEFAULT,
        Some(&10u32.to_be_bytes()),
        Some(&200u32.to_be_bytes()),
    )?;
    c.compact_range(CF_DEFAULT, None, None)?;
    let all = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        all.len() == 300 && all.iter().all(|(_, v)| v == &[2u8; 64]),
        "compaction keeps the newest of every key ({} keys)",
        all.len()
    );
    Ok(())
}

fn compact_after_deletes_keeps_them_deleted<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..100u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), b"v")?;
    }
    e.flush()?;
    e.delete_range(CF_DEFAULT, &0u32.to_be_bytes(), &50u32.to_be_bytes())?;
    e.delete(CF_DEFAULT, &99u32.to_be_bytes())?;
    e.flush()?;
    e.as_manual_compaction()
        .ok_or_else(|| Failure("manual_compaction declared but absent".into()))?
        .compact_range(CF_DEFAULT, None, None)?;
    let all = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        all.len() == 49,
        "deleted keys stay deleted after compaction: 49 expected, found {}",
        all.len()
    );
    Ok(())
}

fn statistics_count_user_bytes_written<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let stats = e
        .as_statistics()
        .ok_or_else(|| Failure("statistics declared but absent".into()))?;
    let before = stats.statistics()?;
    for i in 0..100u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), &[1u8; 996])?;
    }
    let after = stats.statistics()?;
    let grew = after.user_bytes_written - before.user_bytes_written;
    ensure!(
        (100_000..=110_000).contains(&grew),
        "user_bytes_written grows by the key+value bytes written (100000), grew by {grew}"
    );
    Ok(())
}

fn statistics_report_engine_bytes_and_disk_after_flush<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    for i in 0..200u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), &[(i % 251) as u8; 1000])?;
    }
    e.flush()?;
    let s = e
        .as_statistics()
        .ok_or_else(|| Failure("statistics declared but absent".into()))?
        .statistics()?;
    ensure!(
        s.engine_bytes_written >= s.user_bytes_written / 2,
        "engine_bytes_written counts what reached storage: {} for {} user bytes",
        s.engine_bytes_written,
        s.user_bytes_written
    );
    ensure!(
        s.disk_size > 0,
        "disk_size is positive after a flush, got {}",
        s.disk_size
    );
    ensure!(
        s.live_data_size > 0,
        "live_data_size is positive with 200 KB stored, got {}",
        s.live_data_size
    );
    Ok(())
}

fn open_prefixed<E: KvEngine>(ctx: &Ctx<E>) -> Result<E, Failure> {
    let e = ctx.open_at(&ctx.scratch("prefixed"), |c| c.with_prefix_len(3))?;
    for k in ["aaa1", "aaa2", "aab1", "aab2", "abc1"] {
        e.put(CF_DEFAULT, k.as_bytes(), b"v")?;
    }
    Ok(e)
}

fn prefix_opts() -> IterOptions {
    IterOptions {
        prefix_same_as_start: true,
        ..IterOptions::default()
    }
}

fn prefix_seek_stops_at_end_of_prefix<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = open_prefixed(ctx)?;
    let mut it = e.iterator_opt(CF_DEFAULT, prefix_opts())?;
    it.seek(b"aaa")?;
    expect_at(
        &it,
        Some("aaa1"),
        "prefix seek lands on the first key of the prefix",
    )?;
    it.next()?;
    expect_at(&it, Some("aaa2"), "prefix seek moves within the prefix")?;
    ensure!(
        !it.next()?,
        "prefix seek stops at the end of the prefix instead of showing aab1"
    );
    Ok(())
}

fn prefix_seek_for_prev_stays_in_prefix<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = open_prefixed(ctx)?;
    let mut it = e.iterator_opt(CF_DEFAULT, prefix_opts())?;
    it.seek_for_prev(b"aab9")?;
    expect_at(
        &it,
        Some("aab2"),
        "prefix seek_for_prev lands on the last key of the prefix",
    )?;
    it.prev()?;
    expect_at(&it, Some("aab1"), "prefix prev moves within the prefix")?;
    ensure!(
        !it.prev()?,
        "prefix prev stops at the start of the prefix instead of showing aaa2"
    );
    Ok(())
}

fn prefix_mode_rejects_seek_to_first<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = open_prefixed(ctx)?;
    let mut it = e.iterator_opt(CF_DEFAULT, prefix_opts())?;
    expect_err(
        it.seek_to_first(),
        ErrorKind::InvalidArgument,
        "seek_to_first in prefix mode (no prefix to keep)",
    )?;
    let snap = e.snapshot()?;
    let mut it = snap.iterator_opt(CF_DEFAULT, prefix_opts())?;
    expect_err(
        it.seek_to_last(),
        ErrorKind::InvalidArgument,
        "seek_to_last in prefix mode on a snapshot",
    )
}
