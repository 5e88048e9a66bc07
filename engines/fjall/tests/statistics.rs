//! Capability `statistics` checked against the kernel's own count: the engine bytes written
//! the wrapper reports must account for what the whole process wrote meanwhile (nothing else
//! in this test binary writes), neither more nor much less.

use engine_fjall::FjallEngine;
use engine_traits::{CF_DEFAULT, EngineConfig, KvEngine};

fn process_wchar() -> u64 {
    let text = std::fs::read_to_string("/proc/self/io").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn engine_bytes_written_match_what_the_process_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let e = FjallEngine::open(&EngineConfig::new(dir.path().join("db"))).unwrap();
    let stats = e.as_statistics().unwrap();
    let p0 = process_wchar();
    let s0 = stats.statistics().unwrap();
    for round in 0..3u32 {
        for i in 0..5_000u32 {
            let value: Vec<u8> = (0..300u32)
                .map(|j| (i.wrapping_mul(2_654_435_761) ^ j.wrapping_mul(round + 7)) as u8)
                .collect();
            e.put(CF_DEFAULT, format!("key{i:08}").as_bytes(), &value)
                .unwrap();
        }
        e.flush().unwrap();
    }
    e.as_manual_compaction()
        .unwrap()
        .compact_range(CF_DEFAULT, None, None)
        .unwrap();
    let s1 = stats.statistics().unwrap();
    let p1 = process_wchar();
    let engine = s1.engine_bytes_written - s0.engine_bytes_written;
    let process = p1 - p0;
    let user = s1.user_bytes_written - s0.user_bytes_written;
    eprintln!("user {user}, engine {engine}, whole process {process}");
    assert_eq!(user, 3 * 5_000 * (11 + 300));
    assert!(
        engine <= process,
        "the engine cannot have written more ({engine}) than the process ({process})"
    );
    assert!(
        engine as f64 >= 0.98 * process as f64,
        "the engine's count ({engine}) misses part of what the process wrote ({process})"
    );
    assert!(
        engine > user,
        "journal, flushes and a compaction write more than the user bytes"
    );
}
