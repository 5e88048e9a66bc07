//! Several threads at once: writers, readers, snapshots and iterators.

use std::sync::atomic::{AtomicBool, Ordering};

use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineIterator, IterOptions, KvEngine, Readable, WriteBatch, WriteOptions,
};

use crate::{CaseResult, Ctx, Failure, ensure, show_kvs};

cases!("concurrent":
    concurrent_writers_on_disjoint_keys_lose_nothing,
    concurrent_writers_on_one_key_leave_one_written_value,
    batches_are_atomic_to_concurrent_readers,
    snapshot_is_stable_under_concurrent_writes,
    iterator_is_stable_under_concurrent_writes,
    concurrent_delete_range_and_puts_stay_consistent,
);

const THREADS: u32 = 4;

fn join_all(results: Vec<std::thread::Result<CaseResult>>) -> CaseResult {
    for r in results {
        match r {
            Ok(r) => r?,
            Err(_) => return Err(Failure("a worker thread panicked".into())),
        }
    }
    Ok(())
}

fn concurrent_writers_on_disjoint_keys_lose_nothing<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let results = std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || -> CaseResult {
                    for i in 0..500u32 {
                        e.put(
                            CF_DEFAULT,
                            format!("t{t}-{i:04}").as_bytes(),
                            &i.to_le_bytes(),
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    });
    join_all(results)?;
    let all = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    ensure!(
        all.len() == (THREADS * 500) as usize,
        "{THREADS} threads x 500 puts on disjoint keys leave {} keys, found {}",
        THREADS * 500,
        all.len()
    );
    Ok(())
}

fn concurrent_writers_on_one_key_leave_one_written_value<E: KvEngine>(
    ctx: &mut Ctx<E>,
) -> CaseResult {
    let e = ctx.engine();
    let results = std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || -> CaseResult {
                    for i in 0..300u32 {
                        e.put(CF_DEFAULT, b"hot", format!("t{t}-{i}").as_bytes())?;
                    }
                    Ok(())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    });
    join_all(results)?;
    let v = e.get(CF_DEFAULT, b"hot")?.unwrap_or_default();
    let last_ones: Vec<String> = (0..THREADS).map(|t| format!("t{t}-299")).collect();
    ensure!(
        last_ones.iter().any(|l| l.as_bytes() == v),
        "the hot key holds one thread's last write, got {:?}",
        String::from_utf8_lossy(&v)
    );
    Ok(())
}

fn batches_are_atomic_to_concurrent_readers<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let done = AtomicBool::new(false);
    let done = &done;
    let results = std::thread::scope(|s| {
        let writer = s.spawn(move || -> CaseResult {
            for i in 0..400u32 {
                let mut b = e.write_batch();
                let v = i.to_be_bytes();
                b.put(CF_DEFAULT, b"x", &v)?;
                b.put(CF_DEFAULT, b"y", &v)?;
                b.put(CF_LOCK, b"z", &v)?;
                e.write(&WriteOptions::default(), &b)?;
            }
            done.store(true, Ordering::Release);
            Ok(())
        });
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(move || -> CaseResult {
                    while !done.load(Ordering::Acquire) {
                        let snap = e.snapshot()?;
                        let x = snap.get(CF_DEFAULT, b"x")?;
                        let y = snap.get(CF_DEFAULT, b"y")?;
                        let z = snap.get(CF_LOCK, b"z")?;
                        ensure!(
                            x == y && y == z,
                            "a snapshot sees a batch all or nothing: x={x:?} y={y:?} z={z:?}"
                        );
                        let scan = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
                        ensure!(
                            scan.len() != 1,
                            "an iterator sees a batch all or nothing, got {}",
                            show_kvs(&scan)
                        );
                        if scan.len() == 2 {
                            ensure!(
                                scan[0].1 == scan[1].1,
                                "an iterator sees one batch's values together, got {}",
                                show_kvs(&scan)
                            );
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let mut out = vec![writer.join()];
        out.extend(readers.into_iter().map(|h| h.join()));
        out
    });
    join_all(results)
}

fn snapshot_is_stable_under_concurrent_writes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..100u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), b"before")?;
    }
    let snap = e.snapshot()?;
    let snap = &snap;
    let results = std::thread::scope(|s| {
        let writer = s.spawn(move || -> CaseResult {
            for i in 0..100u32 {
                e.put(CF_DEFAULT, &i.to_be_bytes(), b"after")?;
                e.delete(CF_DEFAULT, &(i + 1000).to_be_bytes())?;
            }
            e.delete_range(CF_DEFAULT, &0u32.to_be_bytes(), &50u32.to_be_bytes())?;
            Ok(())
        });
        let reader = s.spawn(move || -> CaseResult {
            for _ in 0..20 {
                let all = crate::scan(snap, CF_DEFAULT, IterOptions::default())?;
                ensure!(all.len() == 100 && all.iter().all(|(_, v)| v == b"before"), "a snapshot read during writes still shows its 100 original values, got {} entries", all.len());
            }
            Ok(())
        });
        vec![writer.join(), reader.join()]
    });
    join_all(results)
}

fn iterator_is_stable_under_concurrent_writes<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    for i in 0..300u32 {
        e.put(CF_DEFAULT, &i.to_be_bytes(), b"v")?;
    }
    let mut it = e.iterator(CF_DEFAULT)?;
    let results = std::thread::scope(|s| {
        let writer = s.spawn(move || -> CaseResult {
            for i in 0..300u32 {
                e.delete(CF_DEFAULT, &i.to_be_bytes())?;
                e.put(CF_DEFAULT, &(i + 10_000).to_be_bytes(), b"new")?;
            }
            Ok(())
        });
        let mut n = 0;
        let mut ok = it.seek_to_first();
        while let Ok(true) = ok {
            n += 1;
            ok = it.next();
        }
        let w = writer.join();
        let read = match ok {
            Err(err) => Err(Failure::from(err)),
            Ok(_) if n != 300 => Err(Failure(format!(
                "an iterator made before concurrent writes visits exactly the 300 keys of its creation, visited {n}"
            ))),
            Ok(_) => Ok(()),
        };
        vec![w, Ok(read)]
    });
    join_all(results)
}

fn concurrent_delete_range_and_puts_stay_consistent<E: KvEngine>(ctx: &mut Ctx<E>) -> CaseResult {
    let e = ctx.engine();
    let results = std::thread::scope(|s| {
        let putter = s.spawn(move || -> CaseResult {
            for i in 0..500u32 {
                e.put(
                    CF_DEFAULT,
                    format!("k{:03}", i % 100).as_bytes(),
                    &i.to_le_bytes(),
                )?;
            }
            Ok(())
        });
        let deleter = s.spawn(move || -> CaseResult {
            for _ in 0..50 {
                e.delete_range(CF_DEFAULT, b"k000", b"k050")?;
            }
            Ok(())
        });
        vec![putter.join(), deleter.join()]
    });
    join_all(results)?;
    // After both finish, gets and a scan must agree key by key.
    let all = crate::scan(e, CF_DEFAULT, IterOptions::default())?;
    for (k, v) in &all {
        let got = e.get(CF_DEFAULT, k)?;
        ensure!(
            got.as_deref() == Some(&v[..]),
            "after concurrent delete_range and puts, scan and get agree on {}",
            engine_traits::display_key(k)
        );
    }
    let mut it = e.iterator(CF_DEFAULT)?;
    ensure!(!it.seek(b"k100")?, "no key outside the written set appears");
    Ok(())
}
