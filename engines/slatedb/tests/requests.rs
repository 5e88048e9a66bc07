//! Object-store requests per 1000 operations, the cost that matters on a cloud disk, counted
//! by the engine's instrumented store (`SlatedbEngine::object_store_requests`). The bench
//! harness has no such figure, so this test measures it and prints a table (`--nocapture`);
//! the docs page quotes it. The assertions pin the orders of magnitude that follow from the
//! design: unsynced writes share WAL objects, each synced write is a PUT of its own, point
//! reads of a flushed database hit the block cache after the first fetch of a block.

use engine_slatedb::{RequestCounts, SlatedbEngine};
use engine_traits::{EngineConfig, EngineIterator, KvEngine, Readable, WriteOptions};

const KEYS: u64 = 20_000;
const VALUE: usize = 100;

fn key(i: u64) -> Vec<u8> {
    format!("{:016}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS).into_bytes()
}

fn per_1000(before: RequestCounts, after: RequestCounts, ops: u64) -> String {
    let f = |a: u64, b: u64| (b - a) as f64 * 1000.0 / ops as f64;
    format!(
        "{:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        f(before.total(), after.total()),
        f(before.puts, after.puts),
        f(before.gets, after.gets),
        f(before.heads, after.heads),
        f(before.lists, after.lists),
        f(before.deletes, after.deletes),
    )
}

#[test]
fn requests_per_thousand_operations() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::new(dir.path().join("db"));
    let e = SlatedbEngine::open(&config).unwrap();
    let value = vec![7u8; VALUE];
    let mut lines = vec![format!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "per 1000 operations", "requests", "PUT", "GET", "HEAD", "LIST", "DELETE"
    )];

    let stats_before = e.as_statistics().unwrap().statistics().unwrap();
    let before = e.object_store_requests();
    for i in 0..KEYS {
        e.put("default", &key(i), &value).unwrap();
    }
    e.sync().unwrap();
    let after = e.object_store_requests();
    let unsynced_puts = (after.puts - before.puts) as f64 * 1000.0 / KEYS as f64;
    lines.push(format!(
        "{:<34} {}",
        "fillrandom, unsynced (then sync)",
        per_1000(before, after, KEYS)
    ));
    e.flush().unwrap();
    let stats = e.as_statistics().unwrap().statistics().unwrap();
    let wa = (stats.engine_bytes_written - stats_before.engine_bytes_written) as f64
        / (stats.user_bytes_written - stats_before.user_bytes_written) as f64;

    let synced = 500;
    let before = e.object_store_requests();
    for i in 0..synced {
        e.put_opt(&WriteOptions::sync(), "default", &key(i), &value)
            .unwrap();
    }
    let after = e.object_store_requests();
    let synced_puts = (after.puts - before.puts) as f64 * 1000.0 / synced as f64;
    lines.push(format!(
        "{:<34} {}",
        "overwrite, synced",
        per_1000(before, after, synced)
    ));
    drop(e);

    // Reads of a reopened (cold-cache) database, everything flushed to SSTs on close.
    let e = SlatedbEngine::open(&config).unwrap();
    let before = e.object_store_requests();
    for i in 0..KEYS {
        assert!(
            e.get("default", &key((i * 7 + 1) % KEYS))
                .unwrap()
                .is_some()
        );
    }
    let after = e.object_store_requests();
    lines.push(format!(
        "{:<34} {}",
        "readrandom, cold cache",
        per_1000(before, after, KEYS)
    ));
    drop(e);
    let e = SlatedbEngine::open(&config).unwrap();
    let before = e.object_store_requests();
    let mut it = e.iterator("default").unwrap();
    let mut n = 0;
    let mut ok = it.seek_to_first().unwrap();
    while ok {
        n += 1;
        ok = it.next().unwrap();
    }
    let after = e.object_store_requests();
    lines.push(format!(
        "{:<34} {}",
        "readseq, cold cache (per 1000 keys)",
        per_1000(before, after, n)
    ));
    eprintln!(
        "{}\nwrite amplification of the fill (bytes PUT / user bytes, flush included): {wa:.2}",
        lines.join("\n")
    );
    assert!(
        unsynced_puts < 100.0,
        "unsynced writes share WAL objects: {unsynced_puts:.1} PUTs per 1000"
    );
    assert!(
        synced_puts >= 1000.0,
        "every synced write is a WAL PUT of its own: {synced_puts:.1} PUTs per 1000"
    );
    assert!(
        wa >= 1.0,
        "every user byte reaches the store at least once: {wa:.2}"
    );
}
