//! Tidy: checks of the repository itself, run by `cargo test` (no extra CI step).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && !name.starts_with('.') && name != "target" {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// `cargo metadata --no-deps` of the workspace, parsed.
fn metadata() -> serde_json::Value {
    let out = duct::cmd!(
        env!("CARGO"),
        "metadata",
        "--format-version",
        "1",
        "--no-deps"
    )
    .dir(root())
    .read()
    .unwrap();
    serde_json::from_str(&out).unwrap()
}

fn workspace() -> xtask::registry::Workspace {
    xtask::registry::Workspace::load().expect("cargo metadata works")
}

#[test]
fn every_crate_root_opens_with_a_doc_comment() {
    let meta = metadata();
    for pkg in meta["packages"].as_array().unwrap() {
        for t in pkg["targets"].as_array().unwrap() {
            let kinds = t["kind"].as_array().unwrap();
            if !kinds.iter().any(|k| k == "lib" || k == "bin") {
                continue;
            }
            let src = PathBuf::from(t["src_path"].as_str().unwrap());
            let text = std::fs::read_to_string(&src).unwrap();
            assert!(
                text.starts_with("//!"),
                "{} must open with a //! doc comment saying what the crate is for",
                src.display()
            );
        }
    }
}

#[test]
fn no_todo_or_unimplemented_outside_the_template() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let (todo, unimpl) = (concat!("todo", "!("), concat!("unimplemented", "!("));
    for f in files {
        if f.starts_with(root().join("engines/template")) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            assert!(
                !line.contains(todo) && !line.contains(unimpl),
                "{}:{}: a stub is not done; return a NotSupported error or finish it",
                f.display(),
                i + 1
            );
        }
    }
}

#[test]
fn every_engine_has_a_conformance_suite_and_a_docs_page() {
    let ws = workspace();
    assert!(
        ws.engines.iter().any(|e| e.name == "memory"),
        "the registry finds engines"
    );
    let summary = std::fs::read_to_string(root().join("docs/src/SUMMARY.md")).unwrap();
    for e in &ws.engines {
        assert!(
            e.suites.iter().any(|(s, _)| s == "conformance"),
            "engine {} has a conformance test target",
            e.name
        );
        let page = root()
            .join("docs/src/engines")
            .join(format!("{}.md", e.name));
        assert!(
            page.exists(),
            "engine {} has a page at {}",
            e.name,
            page.display()
        );
        assert!(
            summary.contains(&format!("(engines/{}.md)", e.name)),
            "docs/src/SUMMARY.md links engine {}",
            e.name
        );
    }
}

#[test]
fn relative_links_in_docs_resolve() {
    let mut md = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    walk(&root().join("docs/src"), &mut md);
    md.push(root().join("README.md"));
    md.push(root().join("ARCHITECTURE.md"));
    for file in md {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            let target = &rest[..end];
            let target = target.split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = file.parent().unwrap().join(target);
            assert!(
                resolved.exists(),
                "{}: link to {target} does not resolve",
                file.display()
            );
        }
    }
}

#[test]
fn only_rust_rocksdb_depends_on_rocksdb() {
    let meta = metadata();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap();
        for dep in pkg["dependencies"].as_array().unwrap() {
            let dep = dep["name"].as_str().unwrap();
            if dep == "rocksdb" || dep == "librocksdb-sys" {
                assert_eq!(
                    name, "rust-rocksdb",
                    "{name} depends on {dep}: only rust-rocksdb may"
                );
            }
            if name == "engine_traits" {
                assert!(
                    !dep.starts_with("engine_") && dep != "rust-rocksdb",
                    "engine_traits depends on {dep}: it must stay engine-agnostic"
                );
            }
        }
    }
    // xtask may link the engine-agnostic libraries (engine_bench, for its JSON types) but no
    // engine (a package with [package.metadata.workbench]) and no RocksDB, not even through
    // one of those libraries.
    let packages = meta["packages"].as_array().unwrap();
    let engines = engine_packages(packages);
    let deps_of = |name: &str| -> Vec<String> {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| {
                p["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["kind"].is_null())
                    .map(|d| d["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut seen = vec!["xtask".to_owned()];
    let mut queue = vec!["xtask".to_owned()];
    while let Some(name) = queue.pop() {
        for dep in deps_of(&name) {
            assert!(
                !engines.contains(&dep.as_str()) && dep != "rust-rocksdb" && dep != "rocksdb",
                "xtask links {dep} (through {name}): it must never link an engine or RocksDB"
            );
            if !seen.contains(&dep) {
                seen.push(dep.clone());
                queue.push(dep);
            }
        }
    }
    assert!(
        seen.iter().any(|d| d == "engine_bench"),
        "the walk follows workspace libraries"
    );
}

/// The names of the packages that are engines (they carry `[package.metadata.workbench]`).
fn engine_packages(packages: &[serde_json::Value]) -> Vec<&str> {
    packages
        .iter()
        .filter(|p| !p["metadata"]["workbench"].is_null())
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

/// One engine never links another: what two engines share lives in a library (such as
/// `rocks-engine-common`). Dev-dependencies are fine: differential tests compare an engine
/// with `engine_rocks`.
#[test]
fn no_engine_depends_on_another_engine() {
    let meta = metadata();
    let packages = meta["packages"].as_array().unwrap();
    let engines = engine_packages(packages);
    assert!(engines.contains(&"engine_rocks"), "{engines:?}");
    for pkg in packages {
        let name = pkg["name"].as_str().unwrap();
        if !engines.contains(&name) {
            continue;
        }
        for dep in pkg["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            assert!(
                dep["kind"] == "dev" || dep_name == name || !engines.contains(&dep_name),
                "engine {name} depends on engine {dep_name}: move what both need into a shared library crate (as rocks-engine-common does)"
            );
        }
    }
}

/// actionlint cannot be installed on every machine (its PyPI package downloads a binary from
/// GitHub at install time), so this checks the structure it would check first: the YAML
/// parses, every job runs somewhere and has steps, and every `needs` names a job.
#[test]
fn workflows_are_well_formed() {
    let dir = root().join(".github/workflows");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert!(
            doc.get("on").is_some(),
            "{}: no `on` trigger",
            path.display()
        );
        let jobs = doc
            .get("jobs")
            .and_then(|j| j.as_mapping())
            .unwrap_or_else(|| panic!("{}: no jobs", path.display()));
        for (name, job) in jobs {
            let name = name.as_str().unwrap();
            assert!(
                job.get("runs-on").is_some(),
                "{}: job {name} has no runs-on",
                path.display()
            );
            assert!(
                job.get("steps")
                    .and_then(|s| s.as_sequence())
                    .is_some_and(|s| !s.is_empty()),
                "{}: job {name} has no steps",
                path.display()
            );
            let needs: Vec<&str> = match job.get("needs") {
                Some(serde_yaml::Value::String(s)) => vec![s.as_str()],
                Some(serde_yaml::Value::Sequence(v)) => {
                    v.iter().filter_map(|x| x.as_str()).collect()
                }
                _ => vec![],
            };
            for n in needs {
                assert!(
                    jobs.contains_key(n),
                    "{}: job {name} needs unknown job {n}",
                    path.display()
                );
            }
        }
        seen += 1;
    }
    assert!(seen > 0, "no workflows found");
}

/// docs/board.md is generated; it must match docs/board.yaml.
#[test]
fn board_md_is_current() {
    let board = xtask::board::load(&root()).unwrap_or_else(|e| panic!("{e}"));
    let rendered = xtask::board::render(&board);
    let on_disk = std::fs::read_to_string(root().join("docs/board.md")).unwrap_or_default();
    assert!(
        rendered == on_disk,
        "docs/board.md is stale: run `cargo xtask board render`"
    );
}

/// The Debian packages `.ci/run` installs (its `packages=(...)` line).
fn ci_run_packages() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("packages=("))
        .expect(".ci/run has a `packages=(...)` line");
    let mut out: Vec<String> = line
        .trim_end_matches(')')
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

/// GitHub's runners must install what `.ci/run` installs, or a suite that works here (the rocks
/// faults suite needs libfiu) does something else there.
#[test]
fn workflows_install_the_packages_ci_run_installs() {
    let expected = ci_run_packages();
    let mut seen = 0;
    for e in std::fs::read_dir(root().join(".github/workflows"))
        .unwrap()
        .flatten()
    {
        let path = e.path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some((_, rest)) = line.split_once("apt-get install -y ") else {
                continue;
            };
            let mut got: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
            got.sort();
            assert_eq!(
                got,
                expected,
                "{}:{}: installs other packages than .ci/run",
                path.display(),
                n + 1
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no workflow installs system packages");
    for pkg in xtask::doctor::debian_packages() {
        assert!(
            expected.iter().any(|p| p == pkg) || xtask::doctor::BENCH_ONLY_PACKAGES.contains(&pkg),
            "doctor knows {pkg}, which .ci/run does not install"
        );
    }
}

/// `.ci/run` installs the Python requirement doctor would: the s3 suite fails under CI=true
/// without its server, so the two must not drift.
#[test]
fn ci_run_installs_the_python_requirements_doctor_knows() {
    let text = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("python_requirements=("))
        .expect(".ci/run has a `python_requirements=(...)` line");
    let got: Vec<&str> = line
        .trim_end_matches(')')
        .split_whitespace()
        .map(|r| r.trim_matches('\''))
        .collect();
    assert_eq!(got, [xtask::doctor::MOTO_REQUIREMENT], ".ci/run: {line}");
    // The workflows too: a GitHub runner's python3 has no moto, and the s3 suite fails under
    // CI=true without it. Every workflow that installs system packages installs this.
    for e in std::fs::read_dir(root().join(".github/workflows"))
        .unwrap()
        .flatten()
    {
        let path = e.path();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("apt-get install -y ") {
            continue;
        }
        let apt = text.matches("apt-get install -y ").count();
        let pip: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("pip install ").map(|(_, r)| r.trim()))
            .collect();
        assert_eq!(
            pip.len(),
            apt,
            "{}: each job that installs system packages installs the Python requirement too",
            path.display()
        );
        for req in pip {
            assert_eq!(
                req.trim_matches('\''),
                xtask::doctor::MOTO_REQUIREMENT,
                "{}: pip installs another requirement than .ci/run",
                path.display()
            );
        }
    }
}

/// Every member depends on the workspace-hack crate, and its contents are what `cargo hakari`
/// computes now: a stale hack brings back one RocksDB build per package selection.
#[test]
fn workspace_hack_is_current() {
    let meta = metadata();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap();
        if name == "workbench-hack" {
            continue;
        }
        assert!(
            pkg["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == "workbench-hack" && d["kind"].is_null()),
            "{name} does not depend on workbench-hack: run `cargo hakari manage-deps`"
        );
    }
    let hakari = |args: &[&str]| {
        std::process::Command::new(env!("CARGO"))
            .arg("hakari")
            .args(args)
            .current_dir(root())
            .output()
    };
    match hakari(&["--version"]) {
        Ok(o) if o.status.success() => {}
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must have cargo-hakari (`cargo xtask doctor --fix` installs it)"
            );
            eprintln!("skipped: cargo-hakari is not installed (`cargo xtask doctor --fix`)");
            return;
        }
    }
    for args in [&["generate", "--diff"][..], &["manage-deps", "--dry-run"]] {
        let out = hakari(args).unwrap();
        assert!(
            out.status.success(),
            "the workspace-hack is stale (`cargo hakari {}` differs): run `cargo hakari generate && cargo hakari manage-deps`\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// How many distinct builds of librocksdb-sys's build script (RocksDB's C++) the given cargo
/// commands would run together, from cargo's unit graphs (`--unit-graph`, read with
/// `RUSTC_BOOTSTRAP=1`: nothing is compiled). Two units are one build when their package,
/// target, mode, profile (but its name), features and dependencies (recursively) agree.
fn rocksdb_builds(commands: &[&[&str]]) -> (usize, Vec<String>) {
    use std::collections::{BTreeMap, BTreeSet};
    fn key(units: &[serde_json::Value], i: usize, memo: &mut BTreeMap<usize, String>) -> String {
        if let Some(k) = memo.get(&i) {
            return k.clone();
        }
        let u = &units[i];
        let mut profile = u["profile"].clone();
        profile.as_object_mut().unwrap().remove("name");
        let mut deps: Vec<String> = u["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| key(units, d["index"].as_u64().unwrap() as usize, memo))
            .collect();
        deps.sort();
        let k = format!(
            "{}|{}|{}|{}|{}|[{}]",
            u["pkg_id"],
            u["target"],
            u["mode"],
            profile,
            u["features"],
            deps.join(",")
        );
        // Keep keys short: hash the long description.
        let k = format!("{:016x}", {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            k.hash(&mut h);
            h.finish()
        });
        memo.insert(i, k.clone());
        k
    }
    let mut all = BTreeSet::new();
    let mut per_command = Vec::new();
    for args in commands {
        let out = std::process::Command::new(env!("CARGO"))
            .args(*args)
            .args(["--unit-graph", "-Z", "unstable-options"])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let units = graph["units"].as_array().unwrap();
        let mut memo = BTreeMap::new();
        let keys: BTreeSet<String> = units
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u["pkg_id"].as_str().unwrap().contains("librocksdb-sys")
                    && u["mode"] == "run-custom-build"
            })
            .map(|(i, _)| key(units, i, &mut memo))
            .collect();
        per_command.push(format!("cargo {}: {:?}", args.join(" "), keys));
        all.extend(keys);
    }
    (all.len(), per_command)
}

/// The commands a contributor and test-all run share one RocksDB build: clippy's check mode,
/// test-all's one build, each engine's suites by hand, the crash and bench commands, doc
/// tests. (`cargo xtask bench`'s own `bench` profile is the one allowed second build.)
#[test]
fn rocksdb_is_built_once_whatever_the_command() {
    let ws = workspace();
    let mut commands: Vec<Vec<String>> = vec![
        "clippy --workspace --all-targets",
        "test --workspace --doc",
        "test --no-run -p engine_rocks --test conformance",
        "test --no-run -p engine_titan --test crash",
        "test --no-run -p xtask --test bench",
        "test --no-run -p rust-rocksdb",
    ]
    .into_iter()
    .map(|c| c.split(' ').map(str::to_owned).collect())
    .collect();
    // test-all's one build: every test target of the workspace, by name.
    let mut all = ["test", "--no-run", "--workspace", "--lib", "--bins"]
        .map(str::to_owned)
        .to_vec();
    for t in &ws.test_targets {
        all.extend(["--test".to_owned(), t.clone()]);
    }
    commands.push(all);
    // Every engine's suites, one crate at a time, as `cargo test -p <crate> --test <suite>`.
    for e in &ws.engines {
        for (_, target) in &e.suites {
            commands.push(
                ["test", "--no-run", "-p", &e.krate, "--test", target]
                    .map(str::to_owned)
                    .to_vec(),
            );
        }
    }
    // xtask's bench in the dev profile builds every bench target in one call.
    let mut bench = vec!["test".to_owned(), "--no-run".to_owned()];
    for e in ws.engines.iter().filter(|e| e.status.gates()) {
        bench.extend(["-p".to_owned(), e.krate.clone()]);
    }
    bench.extend(["--test".to_owned(), "bench".to_owned()]);
    commands.push(bench);
    commands.sort();
    commands.dedup();
    let refs: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    let (builds, detail) = rocksdb_builds(&refs);
    assert_eq!(
        builds,
        1,
        "these commands would compile RocksDB's C++ {builds} times (one per distinct build-script unit):\n{}",
        detail.join("\n")
    );
}

/// docs/src/engines.md is generated from docs/src/scorecard.json and the registry; it must be
/// current, and every registered engine (but the template) must have a measured row.
#[test]
fn engines_md_is_current_and_every_engine_has_a_row() {
    let ws = workspace();
    let card = xtask::scorecard::load(&root()).unwrap_or_else(|e| panic!("{e:#}"));
    for e in ws
        .engines
        .iter()
        .filter(|e| e.status != xtask::registry::Status::Template)
    {
        assert!(
            card.rows.iter().any(|r| r.engine == e.name),
            "engine {} has no row in docs/src/scorecard.json: run `cargo xtask test-all && cargo xtask bench --quick && cargo xtask scorecard`",
            e.name
        );
    }
    let on_disk = std::fs::read_to_string(root().join(xtask::scorecard::ENGINES_MD)).unwrap();
    assert!(
        xtask::scorecard::render(&card, &ws) == on_disk,
        "docs/src/engines.md is stale: run `cargo xtask scorecard` (it re-renders from docs/src/scorecard.json)"
    );
}
