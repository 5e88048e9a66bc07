//! Engine-agnostic fault scenarios, driven by the engine's published catalog.

use engine_traits::{
    CF_DEFAULT, CF_LOCK, EngineConfig, ErrorKind, KvEngine, WriteBatch, WriteOptions,
};

use crate::catalog;

/// For every catalog site that simulates an `io_error`: arm it with `return`, run a small
/// workload (synced batches with small and large values, flush, compaction where offered),
/// and require every failure to be an `Io` error; then disarm it, reopen, and require every
/// acknowledged batch to be there, whole. Returns one line per site, saying how many
/// operations the site failed.
///
/// Call it from a test in the engine crate, built with the engine's `failpoints` feature;
/// `manifest_dir` is `env!("CARGO_MANIFEST_DIR")`.
pub fn io_errors_are_io_and_lose_nothing_acknowledged<E: KvEngine>(
    manifest_dir: &str,
    configure: fn(EngineConfig) -> EngineConfig,
) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    let scenario = fail::FailScenario::setup();
    for site in catalog(manifest_dir)
        .into_iter()
        .filter(|s| s.simulates.iter().any(|x| x == "io_error"))
    {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let config = configure(EngineConfig::new(dir.path().join("db")));
        let e = E::open(&config).map_err(|err| format!("{}: open: {err}", site.name))?;
        fail::cfg(&site.name, "return").map_err(|err| format!("{}: {err}", site.name))?;
        let mut acked = Vec::new();
        let mut failed = 0;
        for i in 0..20u32 {
            let mut b = e.write_batch();
            let value = vec![i as u8; if i % 2 == 0 { 8000 } else { 10 }];
            b.put(CF_DEFAULT, format!("k{i:02}").as_bytes(), &value)
                .map_err(|err| err.to_string())?;
            b.put(CF_LOCK, format!("k{i:02}").as_bytes(), &value)
                .map_err(|err| err.to_string())?;
            match e.write(&WriteOptions::sync(), &b) {
                Ok(()) => acked.push((i, value)),
                Err(err) if err.kind() == ErrorKind::Io => failed += 1,
                Err(err) => {
                    return Err(format!(
                        "{}: a write failed with {} instead of Io: {err}",
                        site.name,
                        err.kind()
                    ));
                }
            }
        }
        for r in [
            e.flush(),
            e.as_manual_compaction()
                .map_or(Ok(()), |c| c.compact_range(CF_DEFAULT, None, None)),
        ] {
            match r {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::Io => failed += 1,
                Err(err) => {
                    return Err(format!(
                        "{}: flush/compaction failed with {} instead of Io: {err}",
                        site.name,
                        err.kind()
                    ));
                }
            }
        }
        fail::remove(&site.name);
        drop(e);
        let e = E::open(&config).map_err(|err| format!("{}: reopen: {err}", site.name))?;
        for (i, value) in &acked {
            for cf in [CF_DEFAULT, CF_LOCK] {
                let got = e
                    .get(cf, format!("k{i:02}").as_bytes())
                    .map_err(|err| format!("{}: read k{i:02}: {err}", site.name))?;
                if got.as_ref() != Some(value) {
                    return Err(format!(
                        "{}: acknowledged batch {i} is not whole after reopen ({cf})",
                        site.name
                    ));
                }
            }
        }
        report.push(format!(
            "{}: {failed} operations failed with Io, {} acknowledged batches intact",
            site.name,
            acked.len()
        ));
    }
    scenario.teardown();
    Ok(report)
}
