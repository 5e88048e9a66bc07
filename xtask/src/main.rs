//! `cargo xtask`: the workbench's commands.
//!
//! # What it is for
//! Driving `cargo` for contributors and CI: checking the machine (`doctor`), listing engines
//! (`list`), running every suite on every engine as a matrix (`test-all`), benchmarking engines
//! side by side (`bench`), and scaffolding a new engine (`new-engine`). It learns the engines from `cargo metadata`.
//!
//! # What it is not for
//! It never links an engine or RocksDB, so it compiles in seconds; anything that needs an
//! engine runs as a `cargo test` child process whose output xtask reads.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{board, doctor, list, new_engine, registry, test_all};

/// The Engine SIG Workbench's commands.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the toolchain and the system packages the suites need.
    #[command(after_help = "Example:\n  cargo xtask doctor --fix")]
    Doctor {
        /// Install missing Debian packages with apt-get (as root). Implied by CI=true.
        #[arg(long)]
        fix: bool,
    },
    /// List the registered engines, their status and capabilities.
    #[command(after_help = "Examples:\n  cargo xtask list\n  cargo xtask list --json --no-build")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Do not build the engines' suites to ask for their capabilities.
        #[arg(long)]
        no_build: bool,
    },
    /// Run fmt, clippy, unit tests, then every suite for every engine; print the matrix.
    #[command(
        after_help = "Examples:\n  cargo xtask test-all\n  cargo xtask test-all --engine memory --suite conformance --quick\n\n\
Reports go to <target>/xtask/report.md, report.json and junit.xml. The run fails when a\n\
stable engine fails a case; incubating engines are shown but cannot fail it."
    )]
    TestAll {
        /// Only this engine (repeatable): its suites, and its crate's unit and doc tests.
        #[arg(long = "engine", value_name = "NAME")]
        engines: Vec<String>,
        /// Only this suite (repeatable).
        #[arg(long = "suite", value_name = "NAME")]
        suites: Vec<String>,
        /// Skip doctor, fmt, clippy and unit tests; run the suites only.
        #[arg(long)]
        quick: bool,
        /// Keep going after a failed lint step.
        #[arg(long)]
        keep_going: bool,
    },
    /// Failpoint plugins: list every engine's catalog, or run the fault scenarios.
    #[command(
        after_help = "Examples:\n  cargo xtask failpoints list\n  cargo xtask failpoints run --engine titan"
    )]
    Failpoints {
        #[command(subcommand)]
        action: FailpointsAction,
    },
    /// The SIG task board (docs/board.yaml): validate it, or render docs/board.md.
    #[command(after_help = "Examples:\n  cargo xtask board check\n  cargo xtask board render")]
    Board {
        #[command(subcommand)]
        action: BoardAction,
    },
    /// Kill/reopen cycles on one engine: SIGKILL a writer, reopen, check every acknowledged
    /// synced write and batch atomicity.
    #[command(
        after_help = "Examples:\n  cargo xtask crash --engine titan --cycles 200 --seed 7\n  cargo xtask crash --engine rocks --power-loss --cycles 200 --seed 1\n  cargo xtask crash --engine titan --power-loss --cut torn --cycles 50"
    )]
    Crash {
        /// The engine (it needs a `crash` suite: `cargo xtask list` shows which have one).
        #[arg(long)]
        engine: String,
        /// Number of kill/reopen cycles.
        #[arg(long, default_value_t = 200)]
        cycles: usize,
        /// Seed of the history and the kill times; a failure prints the one to replay.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cut the power at each kill: the engine runs on a FUSE file system that drops
        /// what was not made durable (needs /dev/fuse and fuse3; see docs/src/crash-recovery.md).
        #[arg(long)]
        power_loss: bool,
        /// With --power-loss: drop (every unsynced byte and entry), torn (unsynced writes
        /// survive up to a point, torn at 4 KiB) or reorder (dirty pages survive at random).
        #[arg(long, default_value = "drop", value_parser = ["drop", "torn", "reorder"])]
        cut: String,
    },
    /// Benchmark engines side by side: db_bench, YCSB and TiKV-shaped workloads, figures,
    /// table, JSON and SVG.
    #[command(
        after_help = "Examples:\n  cargo xtask bench --quick\n  cargo xtask bench --engines rocks,rocks_raw --workloads fillrandom,readrandom\n  cargo xtask bench --engines titan,rocks,rocks_blobdb --workloads overwrite --value-sizes 1KiB,4KiB,16KiB\n  cargo xtask bench --quick --db-bench --compare OLD/results.json\n  cargo xtask bench --workloads ycsb-a,ycsb-e,tikv --quick\n  cargo xtask bench --workloads ycsb-b,ycsb-c --field-length 100,400,1600 --wait-for-compaction\n\n\
Builds in the `bench` profile (optimised), runs one process per engine x workload x value\n\
size, and writes <target>/bench/<timestamp>/: results.json, table.md and SVG charts.\n\
The default workloads are db_bench's seven; ycsb-a .. ycsb-f and tikv are selected by name.\n\
YCSB records are --field-count x --field-length bytes (10 x 100 = YCSB's 1 KB record);\n\
tikv values are --value-sizes (up to 255 bytes inline in the write CF, as in TiKV).\n\
Figures are for comparing engines measured in the same run, not for absolute claims."
    )]
    Bench(xtask::bench::Options),
    /// RocksDB's db_bench built from the source our binding links (same version as `rocks`).
    #[command(
        after_help = "Examples:\n  cargo xtask db-bench build\n  cargo xtask db-bench info\n\n\
`build` compiles tools/db_bench_tool.cc and RocksDB from librocksdb-sys's source (release,\n\
portable, LZ4 + Zstandard) into ~/.cache/engine-sig-workbench/db_bench/<version>/; then\n\
`cargo xtask bench --db-bench` runs it instead of the system's db_bench."
    )]
    DbBench {
        #[command(subcommand)]
        action: DbBenchAction,
    },
    /// Build the contributor guide (mdbook build docs) and check every link of the built book.
    #[command(after_help = "Example:\n  cargo xtask docs --out /tmp/book")]
    Docs {
        /// Where the book goes (default: <target>/book).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// The engine scorecard: docs/src/engines.md from the last test-all report and a bench run.
    #[command(
        after_help = "Example:\n  cargo xtask test-all && cargo xtask bench --quick && cargo xtask scorecard\n\n\
Reads <target>/xtask/report.json and the latest <target>/bench/*/results.json (or the paths\n\
given), writes docs/src/scorecard.json and docs/src/engines.md, and prints the page."
    )]
    Scorecard {
        /// A test-all report.json (default: <target>/xtask/report.json).
        #[arg(long)]
        report: Option<std::path::PathBuf>,
        /// A bench results.json (default: the latest run under <target>/bench/).
        #[arg(long)]
        bench: Option<std::path::PathBuf>,
    },
    /// Scaffold a new engine from engines/template.
    #[command(
        after_help = "Example:\n  cargo xtask new-engine my_engine --description \"B-tree on a single file\""
    )]
    NewEngine {
        /// snake_case engine name; the crate becomes engine_NAME under engines/NAME.
        name: String,
        /// One line saying what the engine is.
        #[arg(long)]
        description: Option<String>,
        /// Print the files that would be written, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum BoardAction {
    /// Validate docs/board.yaml: errors name the line and the task.
    Check,
    /// Write docs/board.md from docs/board.yaml.
    Render,
    /// Plan (and with --apply, make) GitHub's issues and labels match docs/board.yaml.
    /// Needs GITHUB_TOKEN. Dry run by default.
    Sync {
        /// The repository, OWNER/NAME.
        #[arg(long)]
        repo: String,
        /// Make the changes (without it, only the plan is printed).
        #[arg(long)]
        apply: bool,
        /// Write issues closed on GitHub back into docs/board.yaml as done.
        #[arg(long)]
        pull: bool,
        /// The GitHub API URL (for GitHub Enterprise, or a mock).
        #[arg(long, default_value = "https://api.github.com")]
        api_url: String,
    },
}

#[derive(Subcommand)]
enum DbBenchAction {
    /// Build it (once; kept in the cache directory).
    Build {
        /// Parallel compile jobs (default: the CPU count).
        #[arg(long)]
        jobs: Option<usize>,
        /// Rebuild even if a build exists.
        #[arg(long)]
        force: bool,
    },
    /// Which db_bench `bench --db-bench` would run, and its version.
    Info,
}

#[derive(Subcommand)]
enum FailpointsAction {
    /// Every engine's failpoint catalog: name, where it sits, what it simulates.
    List,
    /// The fault scenarios (each engine's `faults` suite), as a matrix.
    Run {
        /// Only this engine (repeatable).
        #[arg(long = "engine", value_name = "NAME")]
        engines: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Doctor { fix } => doctor::run(fix),
        Command::List { json, no_build } => {
            let ws = registry::Workspace::load()?;
            list::run(&ws, json, no_build)?;
            Ok(true)
        }
        Command::TestAll {
            engines,
            suites,
            quick,
            keep_going,
        } => {
            if !quick && !doctor::run(false)? {
                anyhow::bail!("doctor found missing requirements (see above)");
            }
            let ws = registry::Workspace::load()?;
            test_all::run(
                &ws,
                &test_all::Options {
                    engines,
                    suites,
                    quick,
                    keep_going,
                },
            )
        }
        Command::Board { action } => {
            let ws = registry::Workspace::load()?;
            let board = board::load(&ws.root)?;
            match action {
                BoardAction::Check => {
                    println!("docs/board.yaml: {} tasks, valid", board.tasks.len())
                }
                BoardAction::Render => {
                    std::fs::write(ws.root.join("docs/board.md"), board::render(&board))?;
                    println!("wrote docs/board.md ({} tasks)", board.tasks.len());
                }
                BoardAction::Sync {
                    repo,
                    apply,
                    pull,
                    api_url,
                } => {
                    let token = std::env::var("GITHUB_TOKEN").map_err(|_| {
                        anyhow::anyhow!("board sync needs GITHUB_TOKEN in the environment")
                    })?;
                    let github = xtask::board::github::GitHub::new(&api_url, &token, &repo)?;
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let outcome = runtime
                        .block_on(xtask::board::github::sync(&ws.root, &github, apply, pull))?;
                    print!("{}", outcome.table);
                    if !apply && !outcome.plan.is_empty() {
                        println!("(dry run: nothing changed; pass --apply to make these changes)");
                    }
                    for t in &outcome.pulled {
                        println!(
                            "pulled: task {t} marked done in docs/board.yaml (closed on GitHub)"
                        );
                    }
                }
            }
            Ok(true)
        }
        Command::Failpoints { action } => {
            let ws = registry::Workspace::load()?;
            match action {
                FailpointsAction::List => {
                    println!(
                        "{:<14} {:<28} {:<26} location",
                        "engine", "failpoint", "simulates"
                    );
                    for e in &ws.engines {
                        if e.failpoints.is_empty() {
                            println!("{:<14} (none published)", e.name);
                        }
                        for f in &e.failpoints {
                            println!(
                                "{:<14} {:<28} {:<26} {}",
                                e.name,
                                f.name,
                                f.simulates.join(","),
                                f.location
                            );
                        }
                    }
                    Ok(true)
                }
                FailpointsAction::Run { engines } => test_all::run(
                    &ws,
                    &test_all::Options {
                        engines,
                        suites: vec!["faults".into()],
                        quick: true,
                        keep_going: true,
                    },
                ),
            }
        }
        Command::Docs { out } => {
            let ws = registry::Workspace::load()?;
            anyhow::ensure!(
                xtask::docs::has_mdbook(),
                "mdbook is not installed: `cargo xtask doctor --fix` or `cargo install --locked mdbook`"
            );
            let out = out.unwrap_or_else(|| ws.target_dir.join("book"));
            let pages = xtask::docs::build_and_check(&ws.root.join("docs"), &out)?;
            println!(
                "docs: {pages} pages in {}, every link resolves",
                out.display()
            );
            Ok(true)
        }
        Command::Scorecard { report, bench } => {
            let ws = registry::Workspace::load()?;
            let page = xtask::scorecard::run(&ws, report.as_deref(), bench.as_deref())?;
            print!("{page}");
            Ok(true)
        }
        Command::DbBench { action } => {
            let ws = registry::Workspace::load()?;
            let info = match action {
                DbBenchAction::Build { jobs, force } => {
                    let jobs = jobs.unwrap_or_else(|| {
                        std::thread::available_parallelism().map_or(1, |n| n.get())
                    });
                    xtask::bench::db_bench_build::build(&ws, jobs, force)?
                }
                DbBenchAction::Info => xtask::bench::db_bench::choose(&ws)?,
            };
            println!(
                "{}\n  {}\n  {}",
                info.path.display(),
                info.version,
                info.origin
            );
            Ok(true)
        }
        Command::Bench(opts) => {
            let ws = registry::Workspace::load()?;
            xtask::bench::run(&ws, &opts)
        }
        Command::Crash {
            engine,
            cycles,
            seed,
            power_loss,
            cut,
        } => {
            let ws = registry::Workspace::load()?;
            let e = ws.engine(&engine)?;
            let target = e
                .suites
                .iter()
                .find(|(s, _)| s == "crash")
                .map(|(_, t)| t.clone())
                .ok_or_else(|| {
                    anyhow::anyhow!("engine {engine} has no crash suite (tests/crash.rs)")
                })?;
            let status = xtask::cargo::cmd(
                &ws.root,
                [
                    "test",
                    "-p",
                    &e.krate,
                    "--test",
                    &target,
                    "--",
                    "--nocapture",
                ],
            )
            .env("CRASH_CYCLES", cycles.to_string())
            .env("CRASH_SEED", seed.to_string())
            .env("CRASH_MODE", if power_loss { "power-loss" } else { "kill" })
            .env("CRASH_CUT", cut)
            .unchecked()
            .run()?
            .status;
            Ok(status.success())
        }
        Command::NewEngine {
            name,
            description,
            dry_run,
        } => {
            let ws = registry::Workspace::load()?;
            new_engine::run(&ws, &name, description.as_deref(), dry_run)?;
            Ok(true)
        }
    }
}
