//! The `incrlab` command line. It parses arguments and calls the library; no logic lives here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use incrlab::report::terminal;
use incrlab::runner::{self, RunOptions};
use incrlab::scenario::Scenario;
use incrlab::{check, sim, Error};

/// The scenario `incrlab` runs when given no command.
const QUICKSTART: &str = "scenarios/quickstart.toml";

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
        scenario: PathBuf,
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
    },
    /// Run a scenario and print where the time went (generation, loading, SQL, incrlab).
    Bench {
        scenario: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run {
        scenario: PathBuf::from(QUICKSTART),
        out: None,
        seed: None,
        quiet: false,
        check_determinism: false,
    });
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
        } => {
            let loaded = Scenario::load(&scenario)?;
            let out = out.unwrap_or_else(|| Path::new("reports").join(&loaded.scenario.name));
            check_out_dir(&out)?;
            let results = runner::run(&loaded, &RunOptions { seed })?;
            if check_determinism {
                let again = runner::run(&loaded, &RunOptions { seed })?;
                if let Some(difference) = results.first_difference(&again) {
                    return Err(Error::NotDeterministic { difference });
                }
            }
            results.write(&out)?;
            if !quiet {
                let color = std::io::stdout().is_terminal();
                println!("{}", terminal::verdict_table(&results, color));
                for line in terminal::summary_lines(&results) {
                    println!("{line}");
                }
                if check_determinism {
                    println!("deterministic: a second run gave the same history and the same targets after every run");
                }
                println!(
                    "results: {}",
                    out.join(incrlab::results::RESULTS_FILE).display()
                );
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
            Ok(())
        }
        Command::Check {
            scenarios,
            junit,
            baseline,
            tolerance,
            out,
        } => {
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                return Err(Error::Argument {
                    flag: "--tolerance".into(),
                    message: format!("must be a fraction ≥ 0, got {tolerance}"),
                });
            }
            let files = check::scenario_files(&scenarios)?;
            let loaded = check::load_all(&files)?;
            let options = check::CheckOptions {
                baseline,
                tolerance,
                out,
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
        Command::Bench { scenario, seed } => {
            let loaded = Scenario::load(&scenario)?;
            let results = runner::run(&loaded, &RunOptions { seed })?;
            for line in incrlab::report::bench::lines(&results) {
                println!("{line}");
            }
            Ok(())
        }
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
