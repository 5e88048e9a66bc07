//! `cargo xtask bench` end to end, in the dev profile (the test build's artifacts, so no second
//! RocksDB build): build, list, one process per cell, results.json, table.md and the charts.

#[test]
fn bench_runs_end_to_end_and_writes_json_table_and_charts() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    // Without the variables cargo set for this test process (see `inner_command`).
    let mut cargo = xtask::cargo::inner_command(env!("CARGO"));
    let out = cargo
        .args([
            "run",
            "--quiet",
            "-p",
            "xtask",
            "--",
            "bench",
            "--profile",
            "dev",
        ])
        .args([
            "--engines",
            "memory,rocks_raw",
            "--workloads",
            "fillseq,readrandom",
        ])
        .args([
            "--value-sizes",
            "100,1KiB",
            "--num",
            "2000",
            "--repeat",
            "1",
        ])
        .current_dir(root)
        .env_remove("CI")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    let dir = stdout
        .lines()
        .find_map(|l| l.split("results in ").nth(1))
        .unwrap_or_else(|| panic!("no results directory in:\n{stdout}"));
    let dir = std::path::Path::new(dir.trim());

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let figures = results["figures"].as_array().unwrap();
    assert_eq!(
        figures.len(),
        2 * 2 * 2,
        "engines x workloads x value sizes"
    );
    for f in figures {
        assert!(f["ops_per_sec"].as_f64().unwrap() > 0.0, "{f}");
        let writes = f["spec"]["workload"] == "fillseq";
        let wa = &f["write_amp"];
        match (f["engine"].as_str().unwrap(), writes) {
            ("rocks_raw", true) => assert!(wa.as_f64().unwrap() > 0.0, "{f}"),
            ("memory", true) => assert!(
                wa["unavailable"].as_str().unwrap().contains("statistics"),
                "{f}"
            ),
            _ => assert!(wa["unavailable"].is_string(), "{f}"),
        }
    }
    for f in figures {
        let end = f["timeline"].as_array().and_then(|t| t.last());
        assert_eq!(
            end.map(|p| p["fraction"].as_f64()),
            Some(Some(1.0)),
            "every measured phase has a timeline ending at 1: {f}"
        );
    }
    assert_eq!(results["meta"]["cpus"].as_u64().map(|c| c > 0), Some(true));
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap();
    // The main table; a timeline table may follow it, for cells slow enough to be sampled.
    let main = table.lines().take_while(|l| !l.is_empty()).count();
    assert_eq!(main, 2 + 8, "{table}");
    for chart in ["throughput-fillseq.svg", "throughput-readrandom.svg"] {
        let svg = std::fs::read_to_string(dir.join(chart)).unwrap();
        assert!(
            svg.contains("memory") && svg.contains("rocks_raw"),
            "{chart}"
        );
    }
    let wa = std::fs::read_to_string(dir.join("write-amp-fillseq.svg")).unwrap();
    assert!(
        wa.contains("rocks_raw") && !wa.contains("memory"),
        "write amplification is drawn only for engines that measure it"
    );
    assert!(
        !dir.join("write-amp-readrandom.svg").exists(),
        "no write amplification chart for a workload that does not write"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
