//! Scenario files: what world to simulate and which strategies to run in it.
//!
//! A scenario is TOML, read with serde. Unknown keys are rejected, every value is checked by
//! [`validate`] before anything runs, and every error names the file, the key and, where it
//! can be found, the line. Nothing in this module touches an engine or the filesystem beyond
//! reading the one file.

mod amount;
mod bound;
mod count;
mod distribution;
mod duration;
mod expectation;
mod faults;
mod locate;
mod pipeline_spec;
mod strategy_spec;
mod study;
mod validate;
mod validate_pipeline;
mod world;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use amount::Amount;
pub use bound::Bound;
pub use count::{CountDist, DrawnCount};
pub use distribution::DurationDist;
pub use duration::Micros;
pub use expectation::{Expectation, FractionRange, RankedBy, RecommendedAt, ALL};
pub use faults::{
    CommitOrder, CrashPoint, Faults, PlannedCrash, Restart, StateStoreKind, MAX_ATTEMPTS,
};

pub use pipeline_spec::{
    resolve_program, PipelineSource, PipelineSpec, PipelineTarget, PYTHON_ENV,
};
pub use strategy_spec::{
    Boundary, BoundaryDedupe, FileIdentity, StrategyKind, StrategySpec, TargetModel, WriteMode,
};
pub use study::{CostSpec, SweepSpec};
pub use world::{
    Churn, ClockStep, DeleteMode, EngineKind, EngineSpec, EventTime, Landing, Schedule, SourceKind,
    Table, Timestamps, Transactions, Writers,
};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the default output directory `reports/<name>/`.
    pub name: String,
    /// One seed reproduces the whole run; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Which engine holds the source and the targets (`[engine] kind`, default DuckDB).
    #[serde(default)]
    pub engine: EngineSpec,
    #[serde(default)]
    pub table: Table,
    pub schedule: Schedule,
    #[serde(default)]
    pub churn: Churn,
    #[serde(default)]
    pub writers: Writers,
    #[serde(default)]
    pub transactions: Transactions,
    #[serde(default)]
    pub timestamps: Timestamps,
    /// Business time of inserted rows, and how far behind their commit some of them arrive.
    #[serde(default)]
    pub event_time: EventTime,
    /// How changes land as Parquet files for `file_listing` (only landed when a strategy lists).
    #[serde(default)]
    pub landing: Landing,
    #[serde(rename = "strategy", default)]
    pub strategies: Vec<StrategySpec>,
    /// Outside pipelines (a team's own commands) run beside the strategies and judged alike.
    #[serde(rename = "pipeline", default, skip_serializing_if = "Vec::is_empty")]
    pub pipelines: Vec<PipelineSpec>,
    /// The parameter grid `incrlab sweep` runs (ignored by `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
    /// Prices and source bandwidth that turn measured counters into money and modelled time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostSpec>,
    /// Crashes injected into scheduled runs. Present (even with no crash drawn): targets live
    /// in database files that a crash closes and reopens, and writes go in chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
    /// What must hold after the run, checked by `incrlab check`.
    #[serde(default, rename = "expect", skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<Expectation>,
}

/// A scenario read from a file, with the file name kept for error messages.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub scenario: Scenario,
}

/// The quickstart scenario, compiled into the binary: `incrlab` with no arguments runs it
/// from any directory.
pub const QUICKSTART_TOML: &str = include_str!("../../scenarios/quickstart.toml");

/// The name the built-in quickstart goes by in messages.
pub const QUICKSTART_NAME: &str = "quickstart.toml (built in)";

impl Scenario {
    /// The built-in quickstart scenario.
    pub fn quickstart() -> LoadedScenario {
        let path = PathBuf::from(QUICKSTART_NAME);
        let scenario =
            Self::parse(&path, QUICKSTART_TOML).expect("the built-in quickstart is valid");
        LoadedScenario { path, scenario }
    }

    /// Reads the scenario file at `path`, or the built-in quickstart when there is none.
    pub fn load_or_quickstart(path: Option<&Path>) -> Result<LoadedScenario> {
        match path {
            Some(path) => Self::load(path),
            None => Ok(Self::quickstart()),
        }
    }

    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<LoadedScenario> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Scenario {
            file: path.to_path_buf(),
            key: None,
            line: None,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => "file not found".to_string(),
                _ => format!("cannot read: {e}"),
            },
        })?;
        let scenario = Self::parse(path, &text)?;
        Ok(LoadedScenario {
            path: path.to_path_buf(),
            scenario,
        })
    }

    /// Parses and validates scenario text; `path` is only used to name the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| locate::line_of_offset(text, span.start));
            let (key, message) = locate::split_toml_message(e.message());
            // The line's own `section.key` is the most precise name, except for a missing
            // field, whose span covers the table that lacks it.
            let at_span = e
                .span()
                .and_then(|span| locate::key_at_offset(text, span.start));
            let key = if message.starts_with("missing field") {
                key.or(at_span)
            } else {
                at_span.or(key)
            };
            Error::Scenario {
                file: path.to_path_buf(),
                key,
                line,
                message,
            }
        })?;
        let scenario_dir = path.parent().unwrap_or(Path::new("."));
        validate::validate(&scenario)
            .and_then(|()| validate_pipeline::validate_commands(&scenario, scenario_dir))
            .map_err(|problem| Error::Scenario {
                file: path.to_path_buf(),
                line: locate::line_of_key(text, &problem.key),
                key: Some(problem.key),
                message: problem.message,
            })?;
        Ok(scenario)
    }

    /// Every lane's label: the strategies', then the pipelines', in file order.
    pub fn lane_labels(&self) -> Vec<String> {
        self.strategies
            .iter()
            .map(|s| s.label())
            .chain(self.pipelines.iter().map(|p| p.label.clone()))
            .collect()
    }

    /// The scenario as TOML, for reports and reproductions.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a scenario always serializes")
    }
}
