//! Behaviour of SlateDB 0.18.0 itself that the wrapper works around, pinned so an upgrade
//! that changes it is noticed. None of these is a durability bug; each names the wrapper code
//! that depends on it.

use std::sync::Arc;

use slatedb::Db;
use slatedb::object_store::ObjectStore;
use slatedb::object_store::memory::InMemory;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `WriteBatch::put` panics on the empty key, which the trait layer allows: the wrapper's
/// tag byte (`keys::encode`) makes every stored key at least one byte long.
#[test]
fn slatedb_0_18_panics_on_the_empty_key() {
    let r = std::panic::catch_unwind(|| {
        let mut b = slatedb::WriteBatch::new();
        b.put(b"", b"v");
    });
    assert!(r.is_err(), "an empty key panics in WriteBatch::put");
}

/// A second `Db::open` of the same path succeeds and fences the first writer, whose next
/// write fails as closed: the wrapper keeps a registry of open paths (and a lock file on the
/// local store) so that a second open is refused instead, as the trait contract asks.
#[test]
fn slatedb_0_18_fences_the_older_writer_on_a_second_open() {
    let rt = runtime();
    rt.block_on(async {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let first = Db::open("db", store.clone()).await.unwrap();
        first.put(b"k", b"1").await.unwrap();
        first.flush().await.unwrap();
        let second = Db::open("db", store.clone()).await.unwrap();
        let err = match first.put(b"k", b"2").await {
            Ok(h) => h.await_durable().await.unwrap_err(),
            Err(e) => e,
        };
        assert!(
            matches!(
                err.kind(),
                slatedb::ErrorKind::Closed(slatedb::CloseReason::Fenced)
            ),
            "the first writer is fenced: {err}"
        );
        second.close().await.unwrap();
    });
}

/// A scan of an empty range whose bounds are both inclusive or half-open, e.g. `b..a`, panics
/// ("Range must be non-empty") instead of returning nothing or an error: the wrapper checks
/// every range for emptiness before it reaches SlateDB (`keys::is_empty`).
#[test]
fn slatedb_0_18_panics_on_a_reversed_scan_range() {
    let rt = runtime();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
            let db = Db::open("db", store).await.unwrap();
            let _ = db.scan(b"b".to_vec()..b"a".to_vec()).await;
        })
    }));
    assert!(r.is_err(), "a reversed scan range panics");
}

/// Keys beyond 64 KiB: SST block format V2 (0.18's default) stores key lengths as varints,
/// so a 1 MiB key goes through the WAL, an L0 flush and a reopen. (Block format V1 and
/// `SstRowEntry` assert `u16` lengths; the wrapper relies on V2 being what 0.18 writes.)
#[test]
fn slatedb_0_18_stores_a_mebibyte_key_through_an_l0_flush() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let key = vec![b'k'; 1 << 20];
    runtime().block_on(async {
        let db = Db::open("db", store.clone()).await.unwrap();
        db.put(&key, b"v").await.unwrap();
        db.flush_with_options(slatedb::config::FlushOptions {
            flush_type: slatedb::config::FlushType::MemTable,
        })
        .await
        .unwrap();
        db.close().await.unwrap();
    });
    runtime().block_on(async {
        let db = Db::open("db", store).await.unwrap();
        assert_eq!(db.get(&key).await.unwrap().as_deref(), Some(&b"v"[..]));
        db.close().await.unwrap();
    });
}
