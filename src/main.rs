//! The `incrlab` command line. It parses arguments and calls the library; no logic lives here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use incrlab::report::{self, terminal};
use incrlab::runner::{self, RunOptions};
use incrlab::scenario::{EngineKind, LoadedScenario, Scenario, SourceKind};
use incrlab::{check, sim, sweep, Error};

/// How many times `bench` generates and loads the initial table on a fresh engine.
const INITIAL_LOAD_REPEATS: usize = 5;

#[derive(Parser)]
#[command(
    name = "incrlab",
    version,
    about = "Simulate sources, run change-detection strategies, verify them against full reprocessing."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario, run every strategy it lists, verify after every run, write results.json.
    Run {
        /// The scenario file [default: the built-in quickstart]
        scenario: Option<PathBuf>,
        /// Output directory [default: reports/<scenario name>/]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Run the whole scenario twice and fail unless history and every target agree.
        #[arg(long)]
        check_determinism: bool,
        /// Retry every run from the state persisted before it and report, per strategy, whether
        /// the retry left the same target and state.
        #[arg(long)]
        check_idempotence: bool,
        /// Outside pipelines of one run tick started side by side, at most this many
        /// [default: number of cores]
        #[arg(long)]
        jobs: Option<usize>,
        /// Refuse the scenario up front when its memory estimate exceeds this (e.g. `12GiB`)
        /// [default: the memory available]
        #[arg(long, value_parser = parse_memory_limit)]
        memory_limit: Option<u64>,
        /// The engine that holds the source and the targets, overriding `[engine] kind`:
        /// duckdb or polars.
        #[arg(long, value_parser = parse_engine)]
        engine: Option<EngineKind>,
        /// Where the source lives, overriding `[engine] source`: `engine` (simulated in the
        /// engine) or `postgres` (played into a real PostgreSQL; DuckDB holds the targets).
        #[arg(long, value_parser = parse_source)]
        source: Option<SourceKind>,
        /// Run the scenario on two sources and compare them run by run, key for key, e.g.
        /// `duckdb,postgres` (`duckdb` or `engine`: the source simulated in the engine).
        #[arg(long, value_parser = parse_source_pair)]
        compare_sources: Option<[SourceKind; 2]>,
        /// Leave the throwaway PostgreSQL cluster running at the end and print how to connect.
        #[arg(long)]
        keep_postgres: bool,
    },
    /// Export a scenario's ground-truth history (every row version) as Parquet.
    Simulate {
        scenario: PathBuf,
        /// The Parquet file to write.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run scenarios and check their [[expect]] entries: exit 0 when all hold, 1 when any fails, 2 on bad input.
    Check {
        /// Scenario files, or directories whose *.toml files are all checked.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Also write a JUnit XML report (one testcase per expectation).
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Compare exact counters and divergence with stored results (DIR/<scenario name>/results.json).
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// How much worse than the baseline a counter may get, as a fraction (0.05 = 5%).
        #[arg(long, default_value_t = 0.0)]
        tolerance: f64,
        /// Keep each scenario's results in DIR/<scenario name>/ (to make a baseline).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Refuse the scenario up front when its memory estimate exceeds this (e.g. `12GiB`)
        /// [default: the memory available]
        #[arg(long, value_parser = parse_memory_limit)]
        memory_limit: Option<u64>,
        /// The engine that holds the source and the targets, overriding `[engine] kind`:
        /// duckdb or polars.
        #[arg(long, value_parser = parse_engine)]
        engine: Option<EngineKind>,
        /// Where the source lives, overriding `[engine] source`: `engine` (simulated in the
        /// engine) or `postgres` (played into a real PostgreSQL; DuckDB holds the targets).
        #[arg(long, value_parser = parse_source)]
        source: Option<SourceKind>,
    },
    /// Run a scenario at every point of its [sweep] (churn × rows × seeds) and find the crossover points.
    Sweep {
        scenario: PathBuf,
        /// Output directory [default: reports/<scenario name>/]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Points run in parallel, each on its own engine [default: number of cores]
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only shard i of n (a deterministic slice of the points), e.g. 2/3.
        #[arg(long)]
        shard: Option<String>,
        /// Retry every run from the state before it; a strategy that is not idempotent at a
        /// point is not recommended there [default: when an [[expect]] states idempotent]
        #[arg(long)]
        check_idempotence: bool,
        /// Refuse the scenario up front when its memory estimate exceeds this (e.g. `12GiB`)
        /// [default: the memory available]
        #[arg(long, value_parser = parse_memory_limit)]
        memory_limit: Option<u64>,
        /// The engine that holds the source and the targets, overriding `[engine] kind`:
        /// duckdb or polars.
        #[arg(long, value_parser = parse_engine)]
        engine: Option<EngineKind>,
        /// Where the source lives, overriding `[engine] source`: `engine` (simulated in the
        /// engine) or `postgres` (played into a real PostgreSQL; DuckDB holds the targets).
        #[arg(long, value_parser = parse_source)]
        source: Option<SourceKind>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Join sweep shards (directories written by `sweep --shard`) into one sweep.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged sweep goes.
        #[arg(long)]
        out: PathBuf,
    },
    /// Tell the story of one key: its versions, what each run read of it, why it ended wrong (or right).
    Explain {
        /// The scenario file [default: the built-in quickstart]
        scenario: Option<PathBuf>,
        /// The strategy's label, as in the verdict table.
        #[arg(long)]
        strategy: String,
        /// The key (id) to follow.
        #[arg(long)]
        key: i64,
        #[arg(long)]
        seed: Option<u64>,
        /// Print the story as JSON (versions, each run's read and what the target held, the class and reason).
        #[arg(long)]
        json: bool,
    },
    /// Re-render a results directory's report (index.html, report.md, charts/) from its results files alone.
    Report {
        /// A directory written by `run`, `sweep` or `merge`.
        dir: PathBuf,
    },
    /// Run the detection battery and print which strategy detects which kind of change (matrix.md, matrix.json).
    Matrix {
        /// Output directory [default: reports/matrix/]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of every battery scenario.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run a scenario and print where the time went (generation, loading, SQL, incrlab).
    Bench {
        scenario: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
        /// Also run the scenario with `[faults]` armed but nothing striking, and print each
        /// strategy's per-run time with and without it.
        #[arg(long)]
        faults_overhead: bool,
        /// Refuse the scenario up front when its memory estimate exceeds this (e.g. `12GiB`)
        /// [default: the memory available]
        #[arg(long, value_parser = parse_memory_limit)]
        memory_limit: Option<u64>,
        /// The engine that holds the source and the targets, overriding `[engine] kind`:
        /// duckdb or polars.
        #[arg(long, value_parser = parse_engine)]
        engine: Option<EngineKind>,
        /// Where the source lives, overriding `[engine] source`: `engine` (simulated in the
        /// engine) or `postgres` (played into a real PostgreSQL; DuckDB holds the targets).
        #[arg(long, value_parser = parse_source)]
        source: Option<SourceKind>,
    },
}

/// `12GiB`, `500 MB`, `1.5GB`: a byte count for `--memory-limit`.
fn parse_memory_limit(text: &str) -> std::result::Result<u64, String> {
    text.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("`{text}` is not a size like 12GiB or 500MB: {e}"))
}

/// `duckdb` or `polars`: the engine for `--engine`.
fn parse_engine(text: &str) -> std::result::Result<EngineKind, String> {
    EngineKind::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = EngineKind::ALL.iter().map(|k| k.name()).collect();
        format!("`{text}` is not an engine; one of: {}", names.join(", "))
    })
}

/// Two sources for `--compare-sources`: `duckdb,postgres`.
fn parse_source_pair(text: &str) -> std::result::Result<[SourceKind; 2], String> {
    let names: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = names.as_slice() else {
        return Err(format!("`{text}` is not two sources like duckdb,postgres"));
    };
    // The simulated source is named after the engine that simulates it, or `engine`.
    let one = |name: &str| match EngineKind::from_name(name) {
        Some(_) => Ok(SourceKind::Engine),
        None => parse_source(name),
    };
    let pair = [one(a)?, one(b)?];
    if pair[0] == pair[1] {
        return Err(format!("`{text}` names the same source twice"));
    }
    Ok(pair)
}

/// `incrlab run --compare-sources`: both runs, the comparison table, `fidelity.json`; exit 1
/// when a strategy's runs differ.
fn compare_sources_command(
    loaded: &LoadedScenario,
    sources: [SourceKind; 2],
    options: &RunOptions,
    out: &Path,
    quiet: bool,
) -> Result<(), Error> {
    let comparison = incrlab::fidelity::compare_sources(loaded, sources, options)?;
    let json = serde_json::to_vec_pretty(&comparison)
        .map_err(|e| Error::Invariant(format!("serializing the comparison: {e}")))?;
    std::fs::create_dir_all(out).map_err(|e| Error::io("cannot create", out, e))?;
    let file = out.join("fidelity.json");
    incrlab::fs_atomic::write_atomic(&file, &json)?;
    if !quiet {
        println!("{}", terminal::fidelity_table(&comparison));
        println!("comparison: {}", file.display());
    }
    if comparison.all_same() {
        Ok(())
    } else {
        Err(Error::SourcesDisagree {
            strategies: comparison
                .strategies
                .iter()
                .filter(|s| !s.same())
                .map(|s| s.label.clone())
                .collect(),
        })
    }
}

/// `engine` or `postgres`: where the source lives, for `--source`.
fn parse_source(text: &str) -> std::result::Result<SourceKind, String> {
    SourceKind::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = SourceKind::ALL.iter().map(|k| k.name()).collect();
        format!("`{text}` is not a source; one of: {}", names.join(", "))
    })
}

/// The scenario on the engine `--engine` and the source `--source` named, when they named
/// one; refuses a pair that cannot run together.
fn on_engine(
    mut loaded: LoadedScenario,
    engine: Option<EngineKind>,
    source: Option<SourceKind>,
) -> Result<LoadedScenario, Error> {
    if let Some(kind) = engine {
        loaded.scenario.engine.kind = kind;
    }
    if let Some(source) = source {
        loaded.scenario.engine.source = source;
    }
    let spec = &loaded.scenario.engine;
    if spec.source == SourceKind::Postgres && spec.kind != EngineKind::Duckdb {
        return Err(Error::Argument {
            flag: "--source".into(),
            message: format!(
                "a PostgreSQL source stages its reads into DuckDB targets; the engine `{}` cannot hold them yet",
                spec.kind.name()
            ),
        });
    }
    Ok(loaded)
}

fn budget(limit: Option<u64>) -> incrlab::footprint::MemoryBudget {
    limit.map_or(
        incrlab::footprint::MemoryBudget::Available,
        incrlab::footprint::MemoryBudget::Limit,
    )
}

/// mimalloc serves every allocation of the binary, DuckDB's included (`incrlab::allocator`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    incrlab::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run {
        scenario: None,
        out: None,
        seed: None,
        quiet: false,
        check_determinism: false,
        check_idempotence: false,
        jobs: None,
        memory_limit: None,
        engine: None,
        source: None,
        compare_sources: None,
        keep_postgres: false,
    });
    // An interrupted run kills the pipelines it started before it exits.
    incrlab::pipeline::install_interrupt_handler();
    match execute(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn execute(command: Command) -> Result<(), Error> {
    match command {
        Command::Run {
            scenario,
            out,
            seed,
            quiet,
            check_determinism,
            check_idempotence,
            jobs,
            memory_limit,
            engine,
            source,
            compare_sources,
            keep_postgres,
        } => {
            if keep_postgres {
                incrlab::engine::postgres::keep_clusters();
            }
            let loaded = on_engine(
                Scenario::load_or_quickstart(scenario.as_deref())?,
                engine,
                source,
            )?;
            let out = out.unwrap_or_else(|| Path::new("reports").join(&loaded.scenario.name));
            check_out_dir(&out)?;
            if let Some(sources) = compare_sources {
                let options = RunOptions {
                    seed,
                    jobs,
                    memory: budget(memory_limit),
                    ..RunOptions::default()
                };
                return compare_sources_command(&loaded, sources, &options, &out, quiet);
            }
            let progress = Progress::new(u64::from(loaded.scenario.schedule.runs), quiet, "runs");
            let options = RunOptions {
                seed,
                progress: Some(progress.run_hook()),
                check_idempotence,
                jobs,
                pipeline_logs: Some(out.clone()),
                memory: budget(memory_limit),
                ..RunOptions::default()
            };
            let results = runner::run(&loaded, &options)?;
            if check_determinism {
                progress.restart();
                let again = runner::run(&loaded, &options)?;
                if let Some(difference) = results.first_difference(&again) {
                    return Err(Error::NotDeterministic { difference });
                }
            }
            progress.finish();
            results.write(&out)?;
            let report = report::write_report(&out)?;
            if !quiet {
                let color = std::io::stdout().is_terminal();
                println!("{}", terminal::verdict_table(&results, color));
                for line in terminal::summary_lines(&results, scenario.as_deref()) {
                    println!("{line}");
                }
                if check_determinism {
                    println!("deterministic: a second run gave the same history and the same targets after every run");
                }
                println!(
                    "results: {}",
                    out.join(incrlab::results::RESULTS_FILE).display()
                );
                print_report_path(&report);
            }
            if keep_postgres && loaded.scenario.engine.source == SourceKind::Postgres {
                // The server is incrlab's child and goes down with it (a parent-death signal),
                // so incrlab stays in the foreground while it is kept.
                eprintln!("keeping PostgreSQL up until Ctrl-C");
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
            Ok(())
        }
        Command::Simulate {
            scenario,
            out,
            seed,
        } => {
            let loaded = Scenario::load(&scenario)?;
            let history = runner::simulate(&loaded, seed);
            sim::write_history_parquet(&history, &out)?;
            println!(
                "{} changes, history digest {}, written to {}",
                history.len(),
                history.digest(),
                out.display()
            );
            let audit = sim::audit(&loaded.scenario, &history);
            for line in terminal::audit_lines(&audit) {
                println!("{line}");
            }
            match audit.first_problem {
                None => Ok(()),
                Some(problem) => Err(Error::Invariant(format!(
                    "the history breaks the simulator's own rules: {problem}"
                ))),
            }
        }
        Command::Check {
            scenarios,
            junit,
            baseline,
            tolerance,
            out,
            memory_limit,
            engine,
            source,
        } => {
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                return Err(Error::Argument {
                    flag: "--tolerance".into(),
                    message: format!("must be a fraction ≥ 0, got {tolerance}"),
                });
            }
            let files = check::scenario_files(&scenarios)?;
            let loaded: Vec<LoadedScenario> = check::load_all(&files)?
                .into_iter()
                .map(|l| on_engine(l, engine, source))
                .collect::<Result<_, _>>()?;
            let options = check::CheckOptions {
                baseline,
                tolerance,
                out,
                memory: budget(memory_limit),
            };
            let mut all = Vec::new();
            for scenario in &loaded {
                let outcomes = check::check_scenario(scenario, &options)?;
                for line in check::summary(&outcomes, &scenario.path) {
                    println!("{line}");
                }
                all.extend(outcomes);
            }
            if let Some(path) = junit {
                incrlab::expect::write_junit(&all, &path)?;
            }
            if all.iter().any(|o| !o.passed) {
                return Err(Error::ExpectationsFailed {
                    failed: all.iter().filter(|o| !o.passed).count(),
                    total: all.len(),
                });
            }
            Ok(())
        }
        Command::Sweep {
            scenario,
            out,
            jobs,
            shard,
            check_idempotence,
            memory_limit,
            engine,
            source,
            quiet,
        } => {
            let loaded = on_engine(Scenario::load(&scenario)?, engine, source)?;
            let shard = shard
                .map(|text| sweep::Shard::parse(&text))
                .transpose()
                .map_err(|message| Error::Argument {
                    flag: "--shard".into(),
                    message,
                })?;
            let out = out.unwrap_or_else(|| Path::new("reports").join(&loaded.scenario.name));
            check_out_dir(&out)?;
            let jobs = jobs.unwrap_or_else(sweep::default_jobs);
            // The bar counts the points this shard runs, not the whole sweep's.
            let total = sweep::shard_points(&loaded.scenario, shard).len() as u64;
            let progress = Progress::new(total, quiet, "points");
            let options = sweep::SweepOptions {
                jobs,
                shard,
                check_idempotence: check_idempotence
                    || loaded
                        .scenario
                        .expectations
                        .iter()
                        .any(|e| e.idempotent.is_some()),
                memory: budget(memory_limit),
            };
            let results = sweep::run_sweep(&loaded, &options, &|| progress.inc())?;
            progress.finish();
            results.write(&out)?;
            let report = report::write_report(&out)?;
            if !quiet {
                print_sweep(&results, &out);
                print_report_path(&report);
            }
            Ok(())
        }
        Command::Merge { dirs, out } => {
            check_out_dir(&out)?;
            let merged = sweep::SweepResults::merge(&dirs)?;
            merged.write(&out)?;
            let report = report::write_report(&out)?;
            print_sweep(&merged, &out);
            print_report_path(&report);
            Ok(())
        }
        Command::Explain {
            scenario,
            strategy,
            key,
            seed,
            json,
        } => {
            let loaded = Scenario::load_or_quickstart(scenario.as_deref())?;
            let story = incrlab::explain_key::explain_key(&loaded, &strategy, key, seed)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&story).expect("a story serializes")
                );
            } else {
                for line in story.lines() {
                    println!("{line}");
                }
            }
            Ok(())
        }
        Command::Report { dir } => {
            if !dir.is_dir() {
                return Err(Error::Argument {
                    flag: "DIR".into(),
                    message: format!("{} is not a directory", dir.display()),
                });
            }
            let written = report::write_report(&dir)?;
            for path in &written {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Matrix { out, seed } => {
            let cells = incrlab::matrix::run_matrix(seed)?;
            let dir = out.unwrap_or_else(|| PathBuf::from("reports/matrix"));
            let written = incrlab::report::matrix::write_matrix(&dir, &cells, seed)?;
            println!("{}", report::matrix::matrix_table(&cells));
            for file in written.iter().rev().take(2).rev() {
                println!("written: {}", file.display());
            }
            Ok(())
        }
        Command::Bench {
            scenario,
            seed,
            faults_overhead,
            memory_limit,
            engine,
            source,
        } => {
            let loaded = on_engine(Scenario::load(&scenario)?, engine, source)?;
            let results = runner::run(
                &loaded,
                &RunOptions {
                    seed,
                    measure_bare_copy: true,
                    memory: budget(memory_limit),
                    ..RunOptions::default()
                },
            )?;
            for line in incrlab::report::bench::lines(&results) {
                println!("{line}");
            }
            if let Some(peak) = incrlab::machine::peak_resident_bytes() {
                let rows = loaded.scenario.table.rows.max(1);
                println!(
                    "peak resident memory: {:.2} GB ({:.0} bytes per source row; estimated before the run: {:.2} GB)",
                    peak as f64 / 1e9,
                    peak as f64 / rows as f64,
                    incrlab::footprint::estimate(&loaded, u64::MAX).bytes as f64 / 1e9
                );
            }
            let loads = (0..INITIAL_LOAD_REPEATS)
                .map(|_| runner::time_initial_load(&loaded, seed))
                .collect::<incrlab::error::Result<Vec<_>>>()?;
            let initial_rows = loaded.scenario.table.rows;
            for line in incrlab::report::bench::initial_load_lines(initial_rows, &loads) {
                println!("{line}");
            }
            if faults_overhead {
                let mut armed = loaded.clone();
                armed.scenario.faults = Some(incrlab::scenario::Faults::default());
                let plain = RunOptions {
                    seed,
                    ..RunOptions::default()
                };
                let with_faults = runner::run(&armed, &plain)?;
                for line in incrlab::report::bench::faults_overhead_lines(&results, &with_faults) {
                    println!("{line}");
                }
            }
            Ok(())
        }
    }
}

/// Where the report went: the HTML page is the last file written.
fn print_report_path(written: &[PathBuf]) {
    if let Some(page) = written.last() {
        println!("report: {}", page.display());
    }
}

/// The crossover table, the lag recommendations, which strategy to run, and where the results
/// went.
fn print_sweep(results: &sweep::SweepResults, out: &Path) {
    println!("{}", terminal::crossover_table(results));
    for line in terminal::recommendation_lines(results) {
        println!("{line}");
    }
    // The answer the study was run for, last, where the eye lands.
    for line in report::decision::decision_sentences(results) {
        println!("{line}");
    }
    println!("results: {}", out.join(sweep::SWEEP_FILE).display());
}

/// A progress bar with ETA on stderr. Silent with `--quiet` or when either output is not a
/// terminal, and drawn only once the work has taken a second, so short commands never flash
/// one.
#[derive(Clone)]
struct Progress {
    bar: indicatif::ProgressBar,
    enabled: bool,
}

impl Progress {
    fn new(total: u64, quiet: bool, unit: &str) -> Progress {
        let enabled = !quiet && std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::hidden(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{bar:40}} {{pos}}/{{len}} {unit} · {{elapsed}} elapsed · eta {{eta}}"
            ))
            .expect("a valid template"),
        );
        Progress { bar, enabled }
    }

    fn reveal_after_a_second(&self) {
        if self.enabled && self.bar.is_hidden() && self.bar.elapsed().as_secs_f64() >= 1.0 {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn inc(&self) {
        self.bar.inc(1);
        self.reveal_after_a_second();
    }

    /// A hook for the runner: drain runs stretch the bar past the scheduled count.
    fn run_hook(&self) -> runner::ProgressHook {
        let progress = self.clone();
        runner::ProgressHook(std::sync::Arc::new(move |done, scheduled| {
            progress.bar.set_length(u64::from(done.max(scheduled)));
            progress.bar.set_position(u64::from(done));
            progress.reveal_after_a_second();
        }))
    }

    fn restart(&self) {
        self.bar.set_position(0);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Refuses an output path that exists and is not a directory, before anything runs.
fn check_out_dir(out: &Path) -> Result<(), Error> {
    if out.exists() && !out.is_dir() {
        return Err(Error::Argument {
            flag: "--out".into(),
            message: format!("{} exists and is not a directory", out.display()),
        });
    }
    Ok(())
}
