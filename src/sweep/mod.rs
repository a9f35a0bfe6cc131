//! Parameter sweeps: one scenario run at every combination of table size, churn and seed, in
//! parallel, and the crossover points where incremental stops paying.
//!
//! Invariant: a sweep point is an ordinary scenario run (`runner::run`) on its own engine, so
//! points share nothing and can run on any worker in any order; results are sorted by point
//! before anything is computed from them, so thread timing never reaches a result.

mod axes;
mod crossover;
mod decision;
mod lag;
mod points;
mod recommend;
mod runs_table;
mod schedule;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use axes::{
    changed_rows, churn_axes, churn_values, engines_of, mean_at_churn, mean_at_rows, mean_run_ms,
    note, rows_axes, rows_axis_points, ChurnAxis,
};
pub use crossover::{crossing, crossovers, Crossover, CrossoverVerdict};
pub use decision::{decisions, AxisDecision, PassedOver, Segment};
pub use lag::{recommendations as lag_recommendations, LagLoss, LagRecommendation};
pub use points::{default_jobs, points, scenario_at, shard_points, Shard};
pub use recommend::{
    by_point, exact_and_idempotent, settings, NotEligible, PointRecommendation, Ranking,
    SeedWinner, Setting,
};
pub use runs_table::{write_runs_csv, RunsTable};

use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::median::median;
use crate::results::RunResults;
use crate::runner::{self, RunOptions};
use crate::scenario::{CostSpec, LoadedScenario, Scenario};

pub const SWEEP_FILE: &str = "sweep.json";

/// One combination of the swept values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub rows: u64,
    pub churn: f64,
    pub seed: u64,
    /// The lag every `updated_at` strategy runs with here (`None`: as the scenario says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_us: Option<i64>,
    /// The engine the point ran on, when the sweep lists `engines` (`None`: the scenario's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::scenario::EngineKind>,
}

/// What one strategy measured at one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointStrategy {
    pub label: String,
    pub strategy: String,
    pub write: String,
    /// Mean source rows scanned per steady run (exact: the same point gives the same count).
    pub rows_scanned_per_run: f64,
    pub rows_written_per_run: f64,
    /// `rows_written_per_run` by operation (exact, like the rows).
    #[serde(default)]
    pub rows_inserted_per_run: f64,
    #[serde(default)]
    pub rows_updated_per_run: f64,
    #[serde(default)]
    pub rows_deleted_per_run: f64,
    /// Permanent divergence (all classes) after the drain.
    pub permanent_total: u64,
    /// The same, per class.
    #[serde(default)]
    pub permanent: crate::verify::Divergence,
    /// With the idempotence check: whether every run, retried from the state before it, left
    /// the same target and state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// Median wall time of a steady run: scheduled runs after the first (which loads everything).
    pub run_ms: f64,
    /// Mean source bytes scanned per steady run (exact, like the rows).
    #[serde(default)]
    pub bytes_scanned_per_run: f64,
    /// Mean engine CPU time per steady run (DuckDB's profiler).
    #[serde(default)]
    pub cpu_ms_per_run: f64,
    /// With a `[cost]` model: the mean price of a steady run (bytes scanned + CPU time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_run: Option<f64>,
    /// With a remote source (`cost.source_read_mb_per_s`): `run_ms` plus the modelled transfer
    /// time of the bytes scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modelled_run_ms: Option<f64>,
}

/// What a crossover compares: measured per-run time, or the cost model's price per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Time,
    Cost,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Time => "time",
            Measure::Cost => "cost",
        }
    }

    /// This measure of one strategy at one point (`None`: cost without a `[cost]` model).
    pub fn of(self, s: &PointStrategy) -> Option<f64> {
        match self {
            Measure::Time => Some(s.run_ms),
            Measure::Cost => s.cost_per_run,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub point: Point,
    pub history_digest: String,
    pub strategies: Vec<PointStrategy>,
}

/// What a sweep recommends: per setting, per churn axis, and (from a lag sweep) per lag.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recommendations {
    /// At every setting (table size, churn, lag): the fastest (and cheapest) strategy among
    /// those that lost nothing at any seed.
    pub by_point: Vec<PointRecommendation>,
    /// Along every churn axis: which strategy over which range of churn.
    pub by_axis: Vec<AxisDecision>,
    /// From a lag sweep: the smallest safe lag per `updated_at` strategy, with its loss curve.
    pub lag: Vec<LagRecommendation>,
}

impl Recommendations {
    /// Everything a sweep recommends, computed from its points alone.
    pub fn of(points: &[PointResult]) -> Recommendations {
        let by_point = by_point(points);
        Recommendations {
            by_axis: decisions(points, &by_point),
            by_point,
            lag: lag_recommendations(points),
        }
    }
}

impl<'de> Deserialize<'de> for Recommendations {
    /// Sweeps written before per-point recommendations stored only the lag list here.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Full {
            #[serde(default)]
            by_point: Vec<PointRecommendation>,
            #[serde(default)]
            by_axis: Vec<AxisDecision>,
            #[serde(default)]
            lag: Vec<LagRecommendation>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Full(Full),
            LagOnly(Vec<LagRecommendation>),
        }
        Ok(match Stored::deserialize(d)? {
            Stored::Full(f) => Recommendations {
                by_point: f.by_point,
                by_axis: f.by_axis,
                lag: f.lag,
            },
            Stored::LagOnly(lag) => Recommendations {
                lag,
                ..Recommendations::default()
            },
        })
    }
}

/// How a sweep runs: on how many workers, which shard, with which checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions {
    /// Points run at once, each on its own engine (0 or 1: one at a time).
    pub jobs: usize,
    pub shard: Option<Shard>,
    /// Retry every run of every point from the state before it: a strategy found not
    /// idempotent at a setting is not eligible there.
    pub check_idempotence: bool,
    /// What every point's memory estimate, times the points run at once, must fit in.
    pub memory: crate::footprint::MemoryBudget,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResults {
    pub scenario: String,
    #[serde(default)]
    pub recommendations: Recommendations,
    /// Points that ran (all of them, or this shard's slice).
    pub shard: Option<Shard>,
    pub points: Vec<PointResult>,
    pub crossovers: Vec<Crossover>,
    pub scenario_as_run: Scenario,
    /// Every run of every point; written as runs.csv / runs.parquet, not into sweep.json.
    #[serde(skip)]
    pub runs: RunsTable,
}

/// Runs every point on `options.jobs` workers; `on_point_done` is called once per finished
/// point (from any worker), for progress reporting.
pub fn run_sweep(
    loaded: &LoadedScenario,
    options: &SweepOptions,
    on_point_done: &(dyn Fn() + Sync),
) -> Result<SweepResults> {
    let SweepOptions {
        jobs,
        shard,
        check_idempotence,
        memory,
    } = *options;
    let points = shard_points(&loaded.scenario, shard);
    // Every point is checked up front, as if the largest ran on every worker at once; the
    // points then skip their own check (the memory free while others run says nothing).
    let at_once = jobs.max(1).min(points.len().max(1)) as u64;
    for &(_, point) in &points {
        let at = LoadedScenario {
            path: loaded.path.clone(),
            scenario: scenario_at(&loaded.scenario, point),
        };
        crate::footprint::check(&at, memory, at_once)?;
    }
    // Each point's engine gets its share of the cores: engines on every core each, side by
    // side, spend the difference on contention (`Threads`).
    let engine_threads = crate::engine::Threads::share(crate::machine::cores(), at_once as usize);
    // The largest points start first, so the sweep does not end on one of them alone.
    let order = schedule::largest_first(&points, loaded.scenario.schedule.runs);
    let results: Vec<(usize, RunResults)> = schedule::run_in_order(&order, jobs, |i| {
        let at = LoadedScenario {
            path: loaded.path.clone(),
            scenario: scenario_at(&loaded.scenario, points[i].1),
        };
        let run_options = RunOptions {
            check_idempotence,
            memory: crate::footprint::MemoryBudget::Unchecked,
            engine_threads,
            ..RunOptions::default()
        };
        let result = runner::run(&at, &run_options);
        on_point_done();
        result
    })?;

    let point_results: Vec<PointResult> = results
        .iter()
        .map(|(i, r)| PointResult {
            point: points[*i].1,
            history_digest: r.history_digest.clone(),
            strategies: r
                .strategies
                .iter()
                .map(|s| summarise(s, loaded.scenario.cost.as_ref()))
                .collect(),
        })
        .collect();
    let mut runs = RunsTable::default();
    for (i, r) in &results {
        let (position, point) = points[*i];
        runs.push(position as u32, point, r);
    }
    let crossovers = crossovers(&point_results);
    Ok(SweepResults {
        scenario: loaded.scenario.name.clone(),
        recommendations: Recommendations::of(&point_results),
        shard,
        points: point_results,
        crossovers,
        scenario_as_run: loaded.scenario.clone(),
        runs,
    })
}

fn summarise(s: &crate::results::StrategyResult, cost: Option<&CostSpec>) -> PointStrategy {
    // The first run reads the whole table into an empty target; drain runs see no new
    // changes. The steady state is the scheduled runs in between.
    let steady: Vec<_> = s.per_run.iter().filter(|r| !r.drain && r.run > 1).collect();
    let n = steady.len().max(1) as f64;
    let mean = |f: &dyn Fn(&crate::results::RunRecord) -> f64| {
        steady.iter().map(|r| f(r)).sum::<f64>() / n
    };
    // The median, not the mean: on a shared machine one run in ten can stall ~100 ms on the
    // fsync of its state file while the work itself takes ~15 ms, and a single stall moves a
    // mean of a few runs further than the effect being measured.
    let run_ms = median(steady.iter().map(|r| r.wall_ms).collect()).unwrap_or(0.0);
    let bytes = mean(&|r| r.bytes_scanned as f64);
    let cpu_ms = mean(&|r| r.cpu_ms);
    PointStrategy {
        label: s.label.clone(),
        strategy: s.strategy.clone(),
        write: s.write.clone(),
        rows_scanned_per_run: mean(&|r| r.rows_scanned as f64),
        rows_written_per_run: mean(&|r| r.rows_written as f64),
        rows_inserted_per_run: mean(&|r| r.written.inserted as f64),
        rows_updated_per_run: mean(&|r| r.written.updated as f64),
        rows_deleted_per_run: mean(&|r| r.written.deleted as f64),
        permanent_total: s.permanent.total(),
        permanent: s.permanent,
        idempotent: s.idempotent,
        run_ms,
        bytes_scanned_per_run: bytes,
        cpu_ms_per_run: cpu_ms,
        cost_per_run: cost.map(|c| crate::cost::run_cost(c, bytes, cpu_ms)),
        modelled_run_ms: cost
            .filter(|c| c.source_read_mb_per_s.is_some())
            .map(|c| run_ms + crate::cost::transfer_ms(c, bytes)),
    }
}

impl SweepResults {
    /// Writes sweep.json, runs.csv and runs.parquet into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("sweep results always serialize");
        write_atomic(&dir.join(SWEEP_FILE), &json)?;
        write_runs_csv(&self.runs, &self.recommendations.by_point, dir)
    }

    pub fn read(dir: &Path) -> Result<SweepResults> {
        let path = dir.join(SWEEP_FILE);
        let bytes =
            std::fs::read(&path).map_err(|e| Error::io("cannot read sweep results", &path, e))?;
        let mut sweep: SweepResults =
            serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                context: "cannot parse sweep results".into(),
                path,
                source,
            })?;
        if sweep.recommendations.by_point.is_empty() && !sweep.points.is_empty() {
            // Written before recommendations per point existed: they are a pure function of
            // the points, so a stored sweep gets them on reading.
            let lag = std::mem::take(&mut sweep.recommendations.lag);
            sweep.recommendations = Recommendations {
                lag,
                ..Recommendations::of(&sweep.points)
            };
            sweep.crossovers = crossovers(&sweep.points);
        }
        Ok(sweep)
    }

    /// Joins the sweeps stored in `dirs` (shards of one scenario) into one: points in their
    /// full-sweep order, crossovers recomputed over all of them, runs tables concatenated.
    pub fn merge(dirs: &[std::path::PathBuf]) -> Result<SweepResults> {
        let mut parts = Vec::new();
        for dir in dirs {
            parts.push((SweepResults::read(dir)?, RunsTable::read(dir)?));
        }
        let mut parts = parts.into_iter();
        let (first, mut runs) = parts.next().ok_or_else(|| Error::Argument {
            flag: "DIR".into(),
            message: "give at least one sweep directory".into(),
        })?;
        let order = points(&first.scenario_as_run);
        let mut shards: Vec<Option<Shard>> = vec![first.shard];
        let mut all = first.points;
        for (part, part_runs) in parts {
            shards.push(part.shard);
            if part.scenario_as_run != first.scenario_as_run {
                return Err(Error::Argument {
                    flag: "DIR".into(),
                    message: format!(
                        "sweeps of different scenarios cannot be merged ({} vs {})",
                        first.scenario, part.scenario
                    ),
                });
            }
            all.extend(part.points);
            runs.append(part_runs)?;
        }
        let position = |p: &PointResult| {
            order
                .iter()
                .position(|q| *q == p.point)
                .unwrap_or(usize::MAX)
        };
        all.sort_by_key(position);
        all.dedup_by(|a, b| a.point == b.point);
        // A merge with a shard missing would report a sweep with holes as if it were whole.
        if all.len() < order.len() {
            return Err(Error::Argument {
                flag: "DIR".into(),
                message: missing_shards_message(&shards, all.len(), order.len()),
            });
        }
        runs.sort_by_point()?;
        let crossovers = crossovers(&all);
        Ok(SweepResults {
            scenario: first.scenario,
            recommendations: Recommendations::of(&all),
            shard: None,
            points: all,
            crossovers,
            scenario_as_run: first.scenario_as_run,
            runs,
        })
    }
}

/// What a merge that does not cover the sweep lacks: the points, and the shards not given.
fn missing_shards_message(given: &[Option<Shard>], held: usize, points: usize) -> String {
    let mut message = format!("the directories hold {held} of the sweep's {points} points");
    let counts: std::collections::BTreeSet<u32> = given.iter().flatten().map(|s| s.count).collect();
    if let (Some(&count), 1) = (counts.iter().next(), counts.len()) {
        let missing: Vec<String> = (1..=count)
            .filter(|i| !given.iter().flatten().any(|s| s.index == *i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            message.push_str(&format!("; shard {} is missing", missing.join(", ")));
        }
    }
    message
}
