//! Results as data: what a run measured, serialized to `results.json`.
//!
//! Exact counters (rows, divergence counts, digests) and timings are kept in separate fields —
//! every timing field name ends in `_ms` — so regression checks can compare the former exactly
//! and ignore the latter.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::TargetChanges;
use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::scenario::{CrashPoint, Scenario};
use crate::timeline::Timeline;
use crate::verify::{Divergence, WatchedKey, WrongKey};

pub const RESULTS_FILE: &str = "results.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub incrlab_version: String,
    /// The scenario's name.
    pub scenario: String,
    pub seed: u64,
    pub history_digest: String,
    /// Committed changes in the history, the initial rows included.
    pub history_rows: u64,
    /// Scheduled runs.
    pub runs: u32,
    /// Runs after the schedule, with every transaction committed, until no target changed.
    pub drain_runs: u32,
    pub strategies: Vec<StrategyResult>,
    pub timings: RunTimings,
    /// Every parameter as run (the seed included), so the run can be reproduced from here.
    pub scenario_as_run: Scenario,
    /// The commits behind the timeline chart; saved as its own file (`timeline.json`).
    #[serde(skip)]
    pub timeline: Option<Timeline>,
    /// What a real source (PostgreSQL) did to play the history, when the source was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_activity: Option<crate::engine::SourceActivity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyResult {
    pub label: String,
    /// The strategy kind (`full`, `watermark_id`, `updated_at`, `cdc`).
    pub strategy: String,
    pub write: String,
    /// Divergence left after the drain: data the strategy lost for good.
    pub permanent: Divergence,
    /// Keys wrong after the drain (a duplicated key counts once, however many surplus rows).
    #[serde(default)]
    pub permanent_wrong_keys: u64,
    /// The worst divergence per class over every run, drain included.
    pub worst: Divergence,
    /// Source rows scanned over all runs (engine profiler, after pruning).
    pub rows_scanned: u64,
    /// Bytes of source column data those scans read (exact: rows × widths of the columns read).
    #[serde(default)]
    pub bytes_scanned: u64,
    /// Rows (or log entries) read over all runs.
    pub rows_read: u64,
    /// Target rows inserted, updated or deleted over all runs.
    pub rows_written: u64,
    /// `rows_written` by operation.
    #[serde(default)]
    pub written: TargetChanges,
    /// Whether the target stopped changing within the drain.
    pub settled: bool,
    /// The longest any key stayed wrong, in consecutive runs (healed or not). A full
    /// reconciliation every k runs bounds it by k.
    pub longest_divergence_runs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_every: Option<u32>,
    /// With `--check-idempotence`: whether every run, retried from the state persisted before
    /// it, left the same target and state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// With `--check-idempotence`: the first run whose retry changed the target or state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_non_idempotent_run: Option<u32>,
    /// Every crash injected into this strategy's runs, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crashes: Vec<CrashRecord>,
    /// Up to 20 keys still wrong after the drain, by id.
    pub sample_wrong_keys: Vec<WrongKey>,
    /// An outside pipeline's lane: its command, every attempt and its comparison with a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineResult>,
    pub per_run: Vec<RunRecord>,
    /// Time spent reading, writing and persisting state over all runs (verification excluded).
    pub wall_ms: f64,
    /// The part of `wall_ms` spent inside the engine's statements.
    pub sql_ms: f64,
    /// CPU time of the engine's statements (DuckDB's profiler), over all runs.
    #[serde(default)]
    pub cpu_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: u32,
    pub time_us: i64,
    pub drain: bool,
    /// This run was a full reconciliation.
    #[serde(default)]
    pub reconciled: bool,
    pub watermark_before: Option<i64>,
    pub watermark_after: Option<i64>,
    /// `updated_at` with a deduplicated boundary: the `[id, lsn]` of the rows at the
    /// watermark the run started with, which its read skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_at_watermark_before: Vec<[i64; 2]>,
    pub rows_read: u64,
    pub rows_scanned: u64,
    #[serde(default)]
    pub bytes_scanned: u64,
    /// Target rows inserted, updated or deleted by this run.
    pub rows_written: u64,
    /// `rows_written` by operation.
    #[serde(default)]
    pub written: TargetChanges,
    pub divergence: Divergence,
    /// An order-independent hash of the target's rows (every column) after this run, in hex.
    pub target_digest: String,
    pub wall_ms: f64,
    #[serde(default)]
    pub cpu_ms: f64,
    /// Attempts this run took (more than one after a crash with `restart = "immediately"`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
    /// Where the run's last attempt crashed, when it did (the run then left its target as the
    /// crash did, and the next run starts from what was persisted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashed_at: Option<CrashPoint>,
    /// `interval`: the event-time window `[from, to)` the run read (microseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_window_us: Option<[i64; 2]>,
    /// `xmin`: the snapshot's oldest transaction in flight at the run, the read's upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_xmin: Option<i64>,
    /// An outside pipeline's run that did not end well: why (a failed or killed last attempt,
    /// or a target that could not be read), naming the pipeline and what was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// With `watch_key` (`incrlab explain`): what the target held for that key after this run,
    /// as the oracle classified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watched: Option<WatchedKey>,
}

/// What an outside pipeline did over the run, beyond what every lane records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineResult {
    /// The command as started (placeholders filled in).
    pub command: Vec<String>,
    /// Every attempt, in order: how it ended, the points it announced, its log.
    pub attempts: Vec<PipelineAttempt>,
    /// Runs whose last attempt failed or whose target could not be read.
    pub failed_runs: u32,
    /// With `model`: whether the pipeline's permanent wrong keys are the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelComparison>,
    /// Time incrlab spent reading the target back, over all runs (part of `wall_ms`).
    #[serde(default)]
    pub read_back_ms: f64,
    /// The largest id and `updated_at` the target held after each run: where a cursor on
    /// either had got to, seen from outside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_maxima: Vec<TargetMaxima>,
}

/// The largest id and `updated_at` an outside target held after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetMaxima {
    pub run: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_id: Option<i64>,
    /// Absent when the target keeps no `updated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_updated_at_us: Option<i64>,
}

/// How one attempt of an outside pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ended", rename_all = "snake_case")]
pub enum AttemptEnding {
    /// Exited by itself (0: success).
    Exited { code: i32 },
    /// Ended by a signal incrlab did not send.
    Signaled { signal: i32 },
    /// Killed (SIGKILL to its process group) by the fault plan: at an announced point, or
    /// after a drawn delay (`point` absent).
    Killed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        point: Option<CrashPoint>,
    },
    /// Killed at the pipeline's `timeout`.
    TimedOut,
    /// Could not be started.
    FailedToStart { message: String },
}

impl AttemptEnding {
    pub fn succeeded(&self) -> bool {
        *self == AttemptEnding::Exited { code: 0 }
    }

    /// In words, for failures and reasons.
    pub fn describe(&self) -> String {
        match self {
            AttemptEnding::Exited { code } => format!("exited with code {code}"),
            AttemptEnding::Signaled { signal } => format!("ended by signal {signal}"),
            AttemptEnding::Killed { point: Some(p) } => format!("killed at {}", p.name()),
            AttemptEnding::Killed { point: None } => "killed after a drawn delay".into(),
            AttemptEnding::TimedOut => "killed at its timeout".into(),
            AttemptEnding::FailedToStart { message } => format!("failed to start: {message}"),
        }
    }
}

/// One attempt of an outside pipeline's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineAttempt {
    pub run: u32,
    /// 1-based attempt of the run.
    pub attempt: u32,
    #[serde(flatten)]
    pub ending: AttemptEnding,
    /// For a kill after a drawn delay: the delay planned, in microseconds (exact, from the
    /// fault sub-seed; when the kill landed is `elapsed_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_kill_after_us: Option<i64>,
    /// Points the pipeline announced (`INCRLAB_POINT <name>`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<String>,
    /// From the start to the exit or the kill.
    pub elapsed_ms: f64,
    /// The attempt's log (stdout and stderr), relative to the output directory.
    pub log: String,
}

/// A pipeline's permanent wrong keys against those of the built-in strategy it claims to
/// behave like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelComparison {
    /// The built-in strategy's label.
    pub model: String,
    /// Exactly the same wrong keys, each in the same class.
    pub same: bool,
    pub pipeline_wrong_keys: u64,
    pub model_wrong_keys: u64,
    /// Keys wrong in one and not the other, or in different classes.
    pub differing_keys: u64,
    /// The first differing keys, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<KeyDifference>,
}

/// One key on which a pipeline and its model disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDifference {
    pub id: i64,
    /// The pipeline's class for it (absent: right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<crate::verify::DivergenceClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::verify::DivergenceClass>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// One injected crash and what it left behind. Every count is exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashRecord {
    pub run: u32,
    /// 1-based attempt of the run.
    pub attempt: u32,
    pub point: CrashPoint,
    /// Chunks of the write committed before the crash, of `chunks`.
    pub chunks_committed: u32,
    pub chunks: u32,
    /// Batch rows (log events for cdc) committed to the target before the crash.
    pub rows_committed: u64,
    /// Of those, the ones beyond the persisted state: the next attempt reads (replays) them
    /// again, and a write that does not absorb repeats duplicates them.
    pub rows_replayed: u64,
    /// Batch rows the persisted state already counts as done but that never reached the
    /// target: lost silently (state committed before the write).
    pub rows_skipped: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTimings {
    pub generate_ms: f64,
    /// Of `generate_ms`, generating the initial table (the rest is the runs' changes).
    #[serde(default)]
    pub generate_initial_ms: f64,
    /// Loading the initial table into the engine.
    pub load_ms: f64,
    /// Advancing the source run by run (after the initial load).
    pub advance_ms: f64,
    /// Of `advance_ms`, bringing the released source file forward for outside pipelines.
    #[serde(default)]
    pub handover_ms: f64,
    /// Reading targets back and comparing them with the oracle.
    pub verify_ms: f64,
    /// Everything, from generation to the last verification.
    pub total_ms: f64,
    /// Of `total_ms`, the time inside the engine's statements (all strategies, source, reads of targets).
    pub sql_ms: f64,
    /// `incrlab bench` only: a bare `CREATE TABLE … AS SELECT` of the live source, timed after
    /// every steady scheduled run (median), the floor under full reprocessing's per-run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bare_copy_ms: Option<f64>,
}

impl RunResults {
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("results always serialize");
        if let Some(timeline) = &self.timeline {
            timeline.write(dir)?;
        }
        write_atomic(&dir.join(RESULTS_FILE), &json)
    }

    /// The first thing two runs disagree on, timings aside: the history, then run by run (in
    /// time order, across strategies) the counters, watermarks and target digests, then the
    /// final tallies. `None` when they agree.
    pub fn first_difference(&self, other: &RunResults) -> Option<String> {
        if self.history_digest != other.history_digest {
            return Some(format!(
                "history digest differs: {} vs {}",
                self.history_digest, other.history_digest
            ));
        }
        if self.strategies.len() != other.strategies.len() {
            return Some("the runs have different strategies".into());
        }
        let untimed = |r: &RunRecord| RunRecord {
            wall_ms: 0.0,
            cpu_ms: 0.0,
            ..r.clone()
        };
        let runs = self
            .strategies
            .iter()
            .map(|s| s.per_run.len())
            .max()
            .unwrap_or(0);
        for i in 0..runs {
            for (a, b) in self.strategies.iter().zip(&other.strategies) {
                match (a.per_run.get(i), b.per_run.get(i)) {
                    (Some(x), Some(y)) if untimed(x) == untimed(y) => {}
                    (None, None) => {}
                    (Some(x), Some(y)) => {
                        return Some(format!(
                            "run {} of {}: target digest {} vs {}, watermark {:?} vs {:?}",
                            x.run,
                            a.label,
                            x.target_digest,
                            y.target_digest,
                            x.watermark_after,
                            y.watermark_after
                        ))
                    }
                    _ => return Some(format!("{}: one run has more runs than the other", a.label)),
                }
            }
        }
        for (a, b) in self.strategies.iter().zip(&other.strategies) {
            let untimed = |s: &StrategyResult| StrategyResult {
                per_run: Vec::new(),
                wall_ms: 0.0,
                sql_ms: 0.0,
                cpu_ms: 0.0,
                pipeline: s.pipeline.clone().map(|mut p| {
                    for a in &mut p.attempts {
                        a.elapsed_ms = 0.0;
                    }
                    p.read_back_ms = 0.0;
                    p
                }),
                ..s.clone()
            };
            if untimed(a) != untimed(b) {
                return Some(format!("{}: final tallies differ", a.label));
            }
        }
        None
    }

    pub fn read(dir: &Path) -> Result<RunResults> {
        let path = dir.join(RESULTS_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("cannot read results", &path, e))?;
        let mut results: RunResults =
            serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                context: "cannot parse results".into(),
                path,
                source,
            })?;
        results.timeline = Timeline::read(dir)?;
        Ok(results)
    }
}

pub fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One fresh generation and load of a scenario's initial table (`runner::time_initial_load`).
#[derive(Debug, Clone, Copy)]
pub struct InitialLoadTime {
    pub generate: std::time::Duration,
    pub load: std::time::Duration,
    /// The same tables built by a fresh engine from its own row generator, when it has one:
    /// the floor the two figures above are compared with.
    pub engine_floor: Option<std::time::Duration>,
}
