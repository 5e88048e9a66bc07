//! `engine_conformance`: the suite that says what a correct engine is.
//!
//! # What it is for
//! Every engine crate, in-tree or out-of-tree, runs the same cases with one file,
//! `tests/conformance.rs` (with `harness = false` in its `Cargo.toml`):
//!
//! ```no_run
//! # type MyEngine = engine_template_doc::Engine;
//! # mod engine_template_doc { pub type Engine = (); }
//! fn main() {
//!     # #[cfg(any())]
//!     engine_conformance::Suite::<MyEngine>::new("my_engine").run();
//! }
//! ```
//!
//! Every case is registered for every engine. A case that needs a capability the engine does
//! not declare is reported as *ignored, with the reason*, so the summary line counts it and
//! nobody mistakes it for a pass.
//!
//! The suite has two layers:
//! - hand-written cases ([`cases`]), one behaviour each, named after it;
//! - a metamorphic layer ([`metamorphic`]): seeded random operation sequences run on the
//!   engine and on a trivially correct model, every observation compared; a mismatch prints
//!   the seed and a shrunk sequence.
//!
//! # What it is not for
//! Speed (that is `cargo xtask bench`), crash recovery and fault injection (the `failpoints`
//! crate). The cases run in temporary directories and never touch anything else.
//!
//! # Environment
//! - `CONFORMANCE_SOAK=N`: multiply the metamorphic layer's seeds and lengths by `N`.
//! - `CONFORMANCE_SEED=S`: run the metamorphic layer for seed `S` only (to replay a failure).
#![deny(missing_docs)]

pub mod cases;
mod harness;
pub mod metamorphic;

use std::sync::Arc;

pub use harness::{
    CaseResult, Ctx, Failure, Kv, at, expect_at, expect_err, expect_get, expect_scan, kvs, scan,
    scan_back, show, show_bounds, show_kvs,
};

use engine_traits::{Capability, EngineConfig, KvEngine};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// One hand-written case.
pub struct Case<E: KvEngine> {
    /// The behaviour it checks, snake_case.
    pub name: &'static str,
    /// The area: `basic`, `cf`, `batch`, `range`, `iter`, `snapshot`, `concurrent`,
    /// `persistence`, `capability`, `open`.
    pub group: &'static str,
    /// Capabilities it needs; missing ones make it ignored.
    pub needs: &'static [Capability],
    /// The case itself.
    pub run: fn(&mut Ctx<E>) -> CaseResult,
}

type Configure = Arc<dyn Fn(EngineConfig) -> EngineConfig + Send + Sync>;

/// The conformance suite for engine type `E`.
pub struct Suite<E: KvEngine> {
    engine: String,
    configure: Configure,
    _engine: std::marker::PhantomData<fn() -> E>,
}

impl<E: KvEngine> Suite<E> {
    /// The suite for the engine registered as `engine` (the name shown in reports).
    pub fn new(engine: &str) -> Self {
        Suite {
            engine: engine.to_owned(),
            configure: Arc::new(|c| c),
            _engine: std::marker::PhantomData,
        }
    }

    /// Adjusts the config every engine is opened with, e.g. to pick an options profile.
    pub fn configure(
        mut self,
        f: impl Fn(EngineConfig) -> EngineConfig + Send + Sync + 'static,
    ) -> Self {
        self.configure = Arc::new(f);
        self
    }

    fn base_config(&self) -> EngineConfig {
        (self.configure)(EngineConfig::new("unused"))
    }

    /// Every trial: hand-written cases, then the metamorphic seeds.
    pub fn trials(&self) -> Vec<Trial> {
        let mut trials = Vec::new();
        for case in cases::all::<E>() {
            let missing: Vec<&str> = case
                .needs
                .iter()
                .filter(|c| !E::CAPABILITIES.has(**c))
                .map(|c| c.name())
                .collect();
            let reason = (!missing.is_empty()).then(|| {
                format!(
                    "needs capability {}, which engine {} does not declare",
                    missing.join(", "),
                    self.engine
                )
            });
            let config = self.base_config();
            let run = case.run;
            let name = format!("{}::{}", case.group, case.name);
            trials.push(
                Trial::ignorable_test(name, move || {
                    if let Some(reason) = reason {
                        return Ok(Completion::ignored_with(reason));
                    }
                    let mut ctx = Ctx::<E>::open(config).map_err(|f| Failed::from(f.0))?;
                    run(&mut ctx).map_err(|f| Failed::from(f.0))?;
                    Ok(Completion::Completed)
                })
                .with_kind(self.engine.clone()),
            );
        }
        let plan = metamorphic::Plan::from_env(E::CAPABILITIES.persistence);
        for seed in plan.seeds() {
            let config = self.base_config();
            let plan = plan.clone();
            trials.push(
                Trial::test(format!("metamorphic::seed_{seed}"), move || {
                    metamorphic::check_seed::<E>(&config, &plan, seed)
                        .map_err(|f| Failed::from(f.0))
                })
                .with_kind(self.engine.clone()),
            );
        }
        trials
    }

    /// Parses the test binary's arguments, runs every trial, and exits.
    ///
    /// With `WORKBENCH_DESCRIBE` set, prints `capabilities: <names>` and exits instead: that
    /// is how `cargo xtask list` learns capabilities without linking any engine itself.
    pub fn run(self) -> ! {
        if std::env::var_os("WORKBENCH_DESCRIBE").is_some() {
            let names: Vec<&str> = E::CAPABILITIES
                .list()
                .into_iter()
                .map(|c| c.name())
                .collect();
            println!("capabilities: {}", names.join(" "));
            std::process::exit(0);
        }
        let args = Arguments::from_args();
        libtest_mimic::run(&args, self.trials()).exit()
    }
}
