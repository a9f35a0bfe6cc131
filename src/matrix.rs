//! The detection matrix: which strategy (and knob setting) detects which kind of change,
//! measured by running a fixed battery of small scenarios, one per kind of change.
//!
//! Each column of the matrix is one scenario that isolates a kind of change (inserts only,
//! updates only, hard deletes, late commits, …) and lists every row's strategy. A cell is the
//! fraction of the keys the column's changes touched that the strategy's target reflects after
//! the drain: `1 − permanent wrong keys / changed keys`, both counted in keys (a duplicated key is
//! one wrong key), over every change committed after the first run (which reads everything for
//! every strategy) — late commits after the last scheduled run included, on both sides, since
//! the drain waits for them. `yes` is every one, `no` none, and
//! `partial` anything between. Nothing in a cell is typed in; `battery/<column>.toml` in the
//! output directory reproduces each column with `incrlab run`.
//!
//! Invariant: a column is an ordinary scenario run through `runner::run`; the matrix only
//! derives cells from its results.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::results::RunResults;
use crate::runner::{self, RunOptions};
use crate::scenario::{LoadedScenario, Scenario};

/// A matrix verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detection {
    Yes,
    No,
    Partial,
}

impl Detection {
    pub fn name(self) -> &'static str {
        match self {
            Detection::Yes => "yes",
            Detection::No => "no",
            Detection::Partial => "partial",
        }
    }

    /// The verdict for `wrong` of `changed` keys left wrong.
    pub fn of(wrong: u64, changed: u64) -> Detection {
        match wrong {
            0 => Detection::Yes,
            w if w >= changed => Detection::No,
            _ => Detection::Partial,
        }
    }
}

/// One cell: a strategy row against a change column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// The strategy kind (`watermark_id`, `updated_at`, …).
    pub strategy: String,
    /// The row: the strategy's label with its knobs.
    pub label: String,
    /// The column: the kind of change.
    pub change: String,
    pub verdict: Detection,
    /// Fraction of the changed keys the target reflects after the drain.
    pub fraction: f64,
    /// Keys the column's changes touched.
    pub changed_keys: u64,
    /// Keys still wrong after the drain (a duplicated key counts once).
    pub wrong_keys: u64,
    /// The longest any key stayed wrong, in runs (what reconciliation bounds).
    pub longest_divergence_runs: u32,
}

/// A column of the battery: the kind of change and the scenario lines that isolate it.
pub struct Column {
    pub change: &'static str,
    /// What the column isolates, for matrix.md.
    pub about: &'static str,
    /// TOML sections that make the column's world (the strategies are added to every column).
    pub world: &'static str,
}

/// The battery's columns, in matrix order.
pub const COLUMNS: &[Column] = &[
    Column {
        change: "inserts",
        about: "new rows only, committed at once",
        world: "[churn]\ninserts = 0.05\nupdates = 0.0\n",
    },
    Column {
        change: "updates",
        about: "updates of existing rows only, committed at once",
        world: "[churn]\ninserts = 0.0\nupdates = 0.05\n",
    },
    Column {
        change: "deletes",
        about: "hard deletes only: the row leaves the table",
        world: "[churn]\ninserts = 0.0\nupdates = 0.0\ndeletes = 0.02\ndelete_mode = \"hard\"\n",
    },
    Column {
        change: "soft_deletes",
        about: "soft deletes only: is_deleted set, updated_at bumped",
        world: "[churn]\ninserts = 0.0\nupdates = 0.0\ndeletes = 0.02\ndelete_mode = \"soft\"\n",
    },
    Column {
        change: "late_commits",
        about: "inserts and updates, 30% of them in transactions that commit 30 s after they begin",
        world: "[churn]\ninserts = 0.02\nupdates = 0.02\n\n[transactions]\nlate_fraction = 0.3\nlate_delay = { dist = \"constant\", value = \"30s\" }\n",
    },
    Column {
        change: "clock_skew",
        about: "inserts and updates from two writers, one clock 10 s behind",
        world: "[churn]\ninserts = 0.02\nupdates = 0.02\n\n[writers]\ncount = 2\noffsets = [\"0s\", \"-10s\"]\n",
    },
    Column {
        change: "ties",
        about: "inserts and updates stamped to the second, committing 500 ms after they begin",
        world: "[churn]\ninserts = 0.05\nupdates = 0.05\n\n[timestamps]\ngranularity = \"1s\"\n\n[transactions]\ncommit_delay = { dist = \"constant\", value = \"500ms\" }\n",
    },
    Column {
        change: "event_lateness",
        about: "inserts, 30% of them with an event_time 150 s behind their commit",
        world: "[churn]\ninserts = 0.05\nupdates = 0.0\n\n[event_time]\nlate_fraction = 0.3\nlateness = { dist = \"constant\", value = \"150s\" }\n",
    },
];

/// Every row of the matrix: the strategies and the knob settings that change a cell.
const ROWS: &str = r#"
[[strategy]]
kind = "watermark_id"

[[strategy]]
kind = "updated_at"
boundary = ">"

[[strategy]]
kind = "updated_at"
boundary = ">="

[[strategy]]
kind = "updated_at"
boundary = ">"
lag = "1min"

[[strategy]]
kind = "cdc"

[[strategy]]
kind = "xmin"

[[strategy]]
kind = "file_listing"
file_identity = "name"

[[strategy]]
kind = "file_listing"
file_identity = "name_size_mtime"

[[strategy]]
kind = "interval"

[[strategy]]
kind = "interval"
lookback = 2

[[strategy]]
kind = "updated_at"
boundary = ">"
reconcile_every = 3
"#;

/// The scenario file text of one column.
pub fn column_scenario(column: &Column, seed: u64) -> String {
    format!(
        "# incrlab matrix, column `{change}`: {about}.\n\
         name = \"matrix-{change}\"\nseed = {seed}\n\n\
         [table]\nrows = 2000\n\n[schedule]\nruns = 6\ninterval = \"1min\"\n\n\
         [landing]\nrows_per_file = 100\nrewrite_fraction = 0.5\n\n{world}{ROWS}",
        change = column.change,
        about = column.about,
        world = column.world,
    )
}

/// A column's scenario, parsed and validated like any file.
pub fn load_column(column: &Column, seed: u64) -> Result<LoadedScenario> {
    let path = std::path::PathBuf::from(format!("battery/{}.toml", column.change));
    let scenario = Scenario::parse(&path, &column_scenario(column, seed))?;
    Ok(LoadedScenario { path, scenario })
}

/// Keys the column's changes touched: every key with a version committed after the first run,
/// late commits after the last scheduled run included (the drain applies them, so a strategy's
/// wrong keys can be among them). The first run of every strategy reads its whole starting
/// point (no watermark, no processed file, the first interval holding the initial rows), so
/// only what changes after it tests detection.
fn changed_keys(results: &RunResults, loaded: &LoadedScenario) -> u64 {
    let history = runner::simulate(loaded, Some(results.seed));
    let first_run = history.run_times_us[0];
    let mut keys: Vec<i64> = history
        .committed_between(first_run, history.last_commit_us())
        .map(|i| history.id[i])
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len() as u64
}

/// The cells of one column's results.
fn cells(change: &str, results: &RunResults, changed: u64) -> Vec<MatrixCell> {
    results
        .strategies
        .iter()
        .map(|s| {
            let wrong = s.permanent_wrong_keys;
            let fraction = if changed == 0 {
                1.0
            } else {
                1.0 - (wrong.min(changed) as f64 / changed as f64)
            };
            MatrixCell {
                strategy: s.strategy.clone(),
                label: s.label.clone(),
                change: change.to_string(),
                verdict: Detection::of(wrong, changed),
                fraction,
                changed_keys: changed,
                wrong_keys: wrong,
                longest_divergence_runs: s.longest_divergence_runs,
            }
        })
        .collect()
}

/// Runs the battery (columns in parallel, each on its own engine) and returns every cell, by
/// column in matrix order, then by row.
pub fn run_matrix(seed: u64) -> Result<Vec<MatrixCell>> {
    let columns: Vec<Result<Vec<MatrixCell>>> = COLUMNS
        .par_iter()
        .map(|column| {
            let loaded = load_column(column, seed)?;
            let results = runner::run(&loaded, &RunOptions::default())?;
            let changed = changed_keys(&results, &loaded);
            Ok(cells(column.change, &results, changed))
        })
        .collect();
    let mut out = Vec::new();
    for column in columns {
        out.extend(column?);
    }
    Ok(out)
}

pub const MATRIX_JSON: &str = "matrix.json";
pub const MATRIX_MD: &str = "matrix.md";
