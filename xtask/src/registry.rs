//! The engine registry, read from `cargo metadata`: every workspace package with a
//! `[package.metadata.workbench]` table is an engine, and each of its `variants` is another.
//! Nobody keeps a list by hand.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

/// The suites the workbench knows, in matrix order. A suite runs for an engine when the
/// engine's crate has a test target named `<suite>` (or `<suite>_<variant>` for a variant),
/// except the derived suites below.
pub const SUITES: [&str; 5] = ["conformance", "crash", "powerloss", "faults", "bench"];

/// A suite that runs another suite's target with more environment: (suite, the target's
/// suite, environment).
pub type DerivedSuite = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// `powerloss` is the `crash` binary under `CRASH_MODE=power-loss`, so every engine with a
/// crash suite gets it.
pub const DERIVED_SUITES: [DerivedSuite; 1] =
    [("powerloss", "crash", &[("CRASH_MODE", "power-loss")])];

/// The environment a suite's binary runs with (empty but for the derived suites).
pub fn suite_env(suite: &str) -> &'static [(&'static str, &'static str)] {
    DERIVED_SUITES
        .iter()
        .find(|(s, _, _)| *s == suite)
        .map_or(&[], |(_, _, env)| env)
}

/// An engine's maturity, from its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Must pass everything; a failure fails `test-all`.
    Stable,
    /// Shown in the matrix; failures are reported but do not fail the run.
    Incubating,
    /// The new-engine template: its failures are the expected checklist.
    Template,
}

impl Status {
    fn parse(s: &str, krate: &str) -> Result<Status> {
        Ok(match s {
            "stable" => Status::Stable,
            "incubating" => Status::Incubating,
            "template" => Status::Template,
            other => bail!(
                "{krate}: [package.metadata.workbench] status {other:?} is not stable, incubating or template"
            ),
        })
    }

    /// Whether a failure of this engine fails the run.
    pub fn gates(self) -> bool {
        self == Status::Stable
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Incubating => "incubating",
            Status::Template => "template",
        }
    }
}

/// One failpoint of an engine's plugin catalog (`[[package.metadata.workbench.failpoints]]`).
#[derive(Clone, Debug, Serialize)]
pub struct Failpoint {
    /// The site's name (a `fail_point!` name, or a libfiu point).
    pub name: String,
    /// Where it sits.
    pub location: String,
    /// What configuring it simulates (`io_error`, `crash`, `delay`, `skipped_step`).
    pub simulates: Vec<String>,
}

/// One registered engine.
#[derive(Clone, Debug, Serialize)]
pub struct Engine {
    /// Engine name (`rocks`, `rocks_blobdb`).
    pub name: String,
    /// The crate that implements it.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Maturity.
    pub status: Status,
    /// One line.
    pub description: String,
    /// Options profile, for variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Suite name -> test target name, for the suites this engine has.
    pub suites: Vec<(String, String)>,
    /// The crate's failpoint catalog.
    pub failpoints: Vec<Failpoint>,
    /// One line on the design (`design` in the metadata), for the scorecard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design: Option<String>,
    /// What the wrapper emulates that the engine lacks, with its cost (`emulates`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emulates: Vec<String>,
    /// The crate's directory.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The workspace as xtask sees it.
#[derive(Debug)]
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
    /// Every engine, sorted by name.
    pub engines: Vec<Engine>,
    /// Every workspace member: manifest path -> package name.
    pub members: BTreeMap<PathBuf, String>,
    /// The names of every integration-test target of every member (`test = false` ones too).
    pub test_targets: std::collections::BTreeSet<String>,
}

impl Workspace {
    /// Runs `cargo metadata` in the current workspace.
    pub fn load() -> Result<Workspace> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = duct::cmd!(cargo, "metadata", "--format-version", "1", "--no-deps")
            .stdout_capture()
            .read()
            .context("running cargo metadata")?;
        Self::from_metadata(&serde_json::from_str(&out).context("parsing cargo metadata")?)
    }

    /// Builds the registry from `cargo metadata` JSON.
    pub fn from_metadata(meta: &Value) -> Result<Workspace> {
        let root = PathBuf::from(meta["workspace_root"].as_str().context("workspace_root")?);
        let target_dir = PathBuf::from(
            meta["target_directory"]
                .as_str()
                .context("target_directory")?,
        );
        let mut engines = Vec::new();
        let mut members = BTreeMap::new();
        let mut test_targets = std::collections::BTreeSet::new();
        for pkg in meta["packages"].as_array().context("packages")? {
            if let (Some(manifest), Some(name)) =
                (pkg["manifest_path"].as_str(), pkg["name"].as_str())
            {
                members.insert(PathBuf::from(manifest), name.to_owned());
            }
            for t in pkg["targets"].as_array().into_iter().flatten() {
                if t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"))
                    && let Some(name) = t["name"].as_str()
                {
                    test_targets.insert(name.to_owned());
                }
            }
            let wb = &pkg["metadata"]["workbench"];
            if wb.is_null() {
                continue;
            }
            let krate = pkg["name"].as_str().context("package name")?.to_owned();
            let field = |v: &Value, key: &str| -> Result<String> {
                v[key].as_str().map(str::to_owned).with_context(|| {
                    format!("{krate}: [package.metadata.workbench] has no string `{key}`")
                })
            };
            let tests: Vec<String> = pkg["targets"]
                .as_array()
                .context("targets")?
                .iter()
                .filter(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "test"))
                })
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect();
            let dir = PathBuf::from(pkg["manifest_path"].as_str().context("manifest_path")?)
                .parent()
                .context("manifest dir")?
                .to_path_buf();
            let base = field(wb, "engine")?;
            let failpoints: Vec<Failpoint> = wb["failpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    Ok(Failpoint {
                        name: field(f, "name")?,
                        location: field(f, "location")?,
                        simulates: f["simulates"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                    })
                })
                .collect::<Result<_>>()?;
            let suites_for = |suffix: &str| -> Vec<(String, String)> {
                SUITES
                    .iter()
                    .map(|s| {
                        let base = DERIVED_SUITES
                            .iter()
                            .find(|(d, _, _)| d == s)
                            .map_or(*s, |(_, of, _)| *of);
                        (s.to_string(), format!("{base}{suffix}"))
                    })
                    .filter(|(_, t)| tests.contains(t))
                    .collect()
            };
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            };
            engines.push(Engine {
                name: base.clone(),
                krate: krate.clone(),
                status: Status::parse(&field(wb, "status")?, &krate)?,
                description: field(wb, "description")?,
                profile: None,
                suites: suites_for(""),
                failpoints: failpoints.clone(),
                design: wb["design"].as_str().map(str::to_owned),
                emulates: strings(&wb["emulates"]),
                dir: dir.clone(),
            });
            for v in wb["variants"].as_array().into_iter().flatten() {
                let name = field(v, "name")?;
                engines.push(Engine {
                    name: format!("{base}_{name}"),
                    krate: krate.clone(),
                    status: Status::parse(&field(v, "status")?, &krate)?,
                    description: field(v, "description")?,
                    profile: v["profile"].as_str().map(str::to_owned),
                    suites: suites_for(&format!("_{name}")),
                    failpoints: failpoints.clone(),
                    design: v["design"]
                        .as_str()
                        .or(wb["design"].as_str())
                        .map(str::to_owned),
                    emulates: if v["emulates"].is_array() {
                        strings(&v["emulates"])
                    } else {
                        strings(&wb["emulates"])
                    },
                    dir: dir.clone(),
                });
            }
        }
        engines.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Workspace {
            root,
            target_dir,
            engines,
            members,
            test_targets,
        })
    }

    /// The engine called `name`, or an error listing the known ones.
    pub fn engine(&self, name: &str) -> Result<&Engine> {
        self.engines
            .iter()
            .find(|e| e.name == name)
            .with_context(|| {
                let known: Vec<&str> = self.engines.iter().map(|e| e.name.as_str()).collect();
                format!(
                    "no engine named {name:?}; known engines: {}",
                    known.join(", ")
                )
            })
    }
}
