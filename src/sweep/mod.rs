//! Parameter sweeps: one scenario run at every combination of table size, churn and seed, in
//! parallel, and the crossover points where incremental stops paying.
//!
//! Invariant: a sweep point is an ordinary scenario run (`runner::run`) on its own engine, so
//! points share nothing and can run on any worker in any order; results are sorted by point
//! before anything is computed from them, so thread timing never reaches a result.

mod crossover;
mod runs_table;

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use crossover::crossing;
pub use runs_table::{write_runs_csv, RunsTable};

use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::results::RunResults;
use crate::runner::{self, RunOptions};
use crate::scenario::{Amount, CostSpec, LoadedScenario, Scenario, StrategyKind};

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

/// Where a strategy's per-run time (or cost) meets full reprocessing's: along the churn axis
/// for one table size, or along the rows axis for one number of changed rows. `value` is the
/// crossing of the seed-averaged curves, `low`/`high` the range of the per-seed crossings; all
/// `None` when the curves do not meet in the swept range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crossover {
    pub label: String,
    pub strategy: String,
    pub write: String,
    pub axis: String,
    pub measure: String,
    /// The table size of a churn axis (`None` on the rows axis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The changed rows per interval held fixed along a rows axis (`None` on a churn axis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_rows: Option<u64>,
    /// The lag of the `updated_at` strategies in these points, when the sweep varies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_us: Option<i64>,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Crossover {
    /// Where the axis sits: `1000000 rows` (churn axis) or `10000 changed rows per interval`
    /// (rows axis), with the lag when the sweep varies it.
    pub fn setting(&self) -> String {
        let lag = self.lag_us.map_or(String::new(), |l| {
            format!(", lag {}", crate::scenario::Micros(l))
        });
        match (self.rows, self.changed_rows) {
            (Some(rows), _) => format!("{rows} rows{lag}"),
            (None, Some(changed)) => format!("{changed} changed rows per interval{lag}"),
            (None, None) => lag.trim_start_matches(", ").to_string(),
        }
    }

    /// The crossing as text, or that there is none in the swept range.
    pub fn value_text(&self) -> String {
        self.value
            .map_or("none in the swept range".to_string(), |v| {
                self.format_value(v)
            })
    }

    /// The range of the per-seed crossings as text (`—` when no seed crosses).
    pub fn spread_text(&self) -> Option<String> {
        match (self.low, self.high) {
            (Some(lo), Some(hi)) => Some(format!(
                "{} – {}",
                self.format_value(lo),
                self.format_value(hi)
            )),
            _ => None,
        }
    }

    /// A crossing value as a reader wants it: a percentage of churn, or a row count.
    pub fn format_value(&self, v: f64) -> String {
        if self.axis == "rows" {
            format!("{v:.0} rows")
        } else {
            crate::report::format::percent(v)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResults {
    pub scenario: String,
    /// From a lag sweep: the smallest safe lag per `updated_at` strategy, with its loss curve.
    #[serde(default)]
    pub recommendations: Vec<LagRecommendation>,
    /// Points that ran (all of them, or this shard's slice).
    pub shard: Option<Shard>,
    pub points: Vec<PointResult>,
    pub crossovers: Vec<Crossover>,
    pub scenario_as_run: Scenario,
    /// Every run of every point; written as runs.csv / runs.parquet, not into sweep.json.
    #[serde(skip)]
    pub runs: RunsTable,
}

/// The smallest lag at which an `updated_at` strategy loses nothing, for one table size and
/// churn, over every seed swept; `None` when every lag swept loses rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagRecommendation {
    pub label: String,
    pub strategy: String,
    pub rows: u64,
    pub churn: f64,
    pub recommended_lag_us: Option<i64>,
    /// Permanent divergence summed over the seeds, per lag in ascending order.
    pub loss_curve: Vec<LagLoss>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagLoss {
    pub lag_us: i64,
    pub permanent_total: u64,
}

/// Lag recommendations for every (rows, churn) of a lag sweep; empty without one.
pub fn recommendations(points: &[PointResult]) -> Vec<LagRecommendation> {
    let mut out = Vec::new();
    let mut groups: Vec<(u64, f64)> = Vec::new();
    for p in points.iter().filter(|p| p.point.lag_us.is_some()) {
        if !groups.contains(&(p.point.rows, p.point.churn)) {
            groups.push((p.point.rows, p.point.churn));
        }
    }
    for (rows, churn) in groups {
        let here: Vec<&PointResult> = points
            .iter()
            .filter(|p| p.point.rows == rows && p.point.churn == churn && p.point.lag_us.is_some())
            .collect();
        let mut lags: Vec<i64> = here.iter().filter_map(|p| p.point.lag_us).collect();
        lags.sort_unstable();
        lags.dedup();
        let Some(first) = here.first() else { continue };
        for s in first
            .strategies
            .iter()
            .filter(|s| s.strategy == StrategyKind::UpdatedAt.name())
        {
            let loss_curve: Vec<LagLoss> = lags
                .iter()
                .map(|&lag_us| LagLoss {
                    lag_us,
                    permanent_total: here
                        .iter()
                        .filter(|p| p.point.lag_us == Some(lag_us))
                        .filter_map(|p| p.strategies.iter().find(|x| x.label == s.label))
                        .map(|x| x.permanent_total)
                        .sum(),
                })
                .collect();
            out.push(LagRecommendation {
                label: s.label.clone(),
                strategy: s.strategy.clone(),
                rows,
                churn,
                recommended_lag_us: loss_curve
                    .iter()
                    .find(|l| l.permanent_total == 0)
                    .map(|l| l.lag_us),
                loss_curve,
            });
        }
    }
    out
}

/// A deterministic slice of the points: shard `index` of `count` (1-based) takes every point
/// whose position is congruent to `index - 1` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: write a shard as i/n, like 2/3"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{i}` is not a shard number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a shard count"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {index}/{count}: i must be between 1 and n"));
        }
        Ok(Shard { index, count })
    }

    fn takes(self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }
}

/// Every point of the scenario's `[sweep]`, in a fixed order (rows, churn, lag, seed).
pub fn points(scenario: &Scenario) -> Vec<Point> {
    let sweep = scenario
        .sweep
        .clone()
        .unwrap_or_else(|| crate::scenario::SweepSpec {
            churn: Vec::new(),
            rows: Vec::new(),
            seeds: Vec::new(),
            lag: Vec::new(),
        });
    let lags: Vec<Option<i64>> = if sweep.lag.is_empty() {
        vec![None]
    } else {
        sweep.lag.iter().map(|l| Some(l.0)).collect()
    };
    let rows = if sweep.rows.is_empty() {
        vec![scenario.table.rows]
    } else {
        sweep.rows
    };
    let churn = if sweep.churn.is_empty() {
        vec![base_churn(scenario)]
    } else {
        sweep.churn
    };
    let seeds = if sweep.seeds.is_empty() {
        vec![scenario.seed]
    } else {
        sweep.seeds
    };
    let mut out = Vec::new();
    for &r in &rows {
        for &c in &churn {
            for &lag_us in &lags {
                for &seed in &seeds {
                    out.push(Point {
                        rows: r,
                        churn: c,
                        seed,
                        lag_us,
                    });
                }
            }
        }
    }
    out
}

/// The points a shard runs (all of them without one), each with its position in the full
/// sweep: the position survives sharding so merged shards line up with an unsharded sweep.
pub fn shard_points(scenario: &Scenario, shard: Option<Shard>) -> Vec<(usize, Point)> {
    points(scenario)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.takes(*i)))
        .collect()
}

/// Workers a sweep uses when not told: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The scenario's own churn as one fraction of the table per interval.
fn base_churn(s: &Scenario) -> f64 {
    mix(s).iter().sum::<f64>()
}

/// Inserts, updates and deletes per interval as fractions of the initial table.
fn mix(s: &Scenario) -> [f64; 3] {
    let rows = s.table.rows.max(1) as f64;
    let fraction = |a: Amount| match a {
        Amount::Count(n) => n as f64 / rows,
        Amount::Fraction(f) => f,
    };
    [
        fraction(s.churn.inserts),
        fraction(s.churn.updates),
        fraction(s.churn.deletes),
    ]
}

/// The scenario as run at one point: its size, its churn (the mix scaled to the point's
/// total), its seed.
pub fn scenario_at(base: &Scenario, point: Point) -> Scenario {
    let mut s = base.clone();
    let [ins, upd, del] = mix(base);
    let total = ins + upd + del;
    let (ins, upd, del) = if total > 0.0 {
        (ins / total, upd / total, del / total)
    } else {
        (0.0, 1.0, 0.0)
    };
    s.table.rows = point.rows;
    s.churn.inserts = Amount::Fraction(ins * point.churn);
    s.churn.updates = Amount::Fraction(upd * point.churn);
    s.churn.deletes = Amount::Fraction(del * point.churn);
    s.seed = point.seed;
    s.sweep = None;
    if let Some(lag_us) = point.lag_us {
        for spec in s
            .strategies
            .iter_mut()
            .filter(|spec| spec.kind == StrategyKind::UpdatedAt)
        {
            // Keep the label of the scenario's entry, so one strategy has one name across
            // the lag axis.
            spec.label = Some(spec.label());
            spec.lag = Some(crate::scenario::Micros(lag_us));
        }
    }
    s
}

/// Runs every point on `jobs` workers; `on_point_done` is called once per finished point (from
/// any worker), for progress reporting.
pub fn run_sweep(
    loaded: &LoadedScenario,
    jobs: usize,
    shard: Option<Shard>,
    on_point_done: &(dyn Fn() + Sync),
) -> Result<SweepResults> {
    let points = shard_points(&loaded.scenario, shard);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::Invariant(format!("cannot start {jobs} workers: {e}")))?;
    let mut results: Vec<(usize, RunResults)> = pool.install(|| {
        points
            .par_iter()
            .enumerate()
            .map(|(i, &(_, point))| {
                let at = LoadedScenario {
                    path: loaded.path.clone(),
                    scenario: scenario_at(&loaded.scenario, point),
                };
                let result = runner::run(&at, &RunOptions::default());
                on_point_done();
                result.map(|r| (i, r))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    results.sort_by_key(|(i, _)| *i);

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
        recommendations: recommendations(&point_results),
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
    let run_ms = median(steady.iter().map(|r| r.wall_ms).collect());
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
        run_ms,
        bytes_scanned_per_run: bytes,
        cpu_ms_per_run: cpu_ms,
        cost_per_run: cost.map(|c| crate::cost::run_cost(c, bytes, cpu_ms)),
        modelled_run_ms: cost
            .filter(|c| c.source_read_mb_per_s.is_some())
            .map(|c| run_ms + crate::cost::transfer_ms(c, bytes)),
    }
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The (rows, lag) groups of a sweep's points, in point order: each group is one churn axis.
pub fn churn_axes(points: &[PointResult]) -> Vec<(u64, Option<i64>)> {
    let mut groups: Vec<(u64, Option<i64>)> = Vec::new();
    for p in points {
        if !groups.contains(&(p.point.rows, p.point.lag_us)) {
            groups.push((p.point.rows, p.point.lag_us));
        }
    }
    groups
}

/// The mean of `measure` for `label` over the points at `churn`, over one seed or all;
/// `None` when no point there measured it.
pub fn mean_at_churn(
    points: &[&PointResult],
    label: &str,
    churn: f64,
    seed: Option<u64>,
    measure: Measure,
) -> Option<f64> {
    mean_where(points, label, measure, |p| {
        p.point.churn == churn && seed.is_none_or(|sd| p.point.seed == sd)
    })
}

/// The mean steady per-run time of `label` at `churn` (see [`mean_at_churn`]).
pub fn mean_run_ms(
    points: &[&PointResult],
    label: &str,
    churn: f64,
    seed: Option<u64>,
) -> Option<f64> {
    mean_at_churn(points, label, churn, seed, Measure::Time)
}

fn mean_where(
    points: &[&PointResult],
    label: &str,
    measure: Measure,
    keep: impl Fn(&PointResult) -> bool,
) -> Option<f64> {
    let values: Vec<f64> = points
        .iter()
        .filter(|p| keep(p))
        .filter_map(|p| p.strategies.iter().find(|x| x.label == label))
        .filter_map(|x| measure.of(x))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Changed rows per interval at a point (churn is a fraction of the table).
pub fn changed_rows(p: &PointResult) -> u64 {
    (p.point.rows as f64 * p.point.churn).round() as u64
}

/// Rows axes: for each number of changed rows swept at two or more table sizes (at the first
/// lag, which does not change the work), the sizes in ascending order.
pub fn rows_axes(points: &[PointResult]) -> Vec<(u64, Vec<u64>)> {
    let Some(lag) = points.first().map(|p| p.point.lag_us) else {
        return Vec::new();
    };
    let mut counts: Vec<u64> = points.iter().map(changed_rows).collect();
    counts.sort_unstable();
    counts.dedup();
    counts
        .into_iter()
        .filter_map(|changed| {
            let mut sizes: Vec<u64> = points
                .iter()
                .filter(|p| changed_rows(p) == changed && p.point.lag_us == lag)
                .map(|p| p.point.rows)
                .collect();
            sizes.sort_unstable();
            sizes.dedup();
            (sizes.len() >= 2).then_some((changed, sizes))
        })
        .collect()
}

/// The points of one rows axis (one changed-row count, the first lag).
pub fn rows_axis_points(points: &[PointResult], changed: u64) -> Vec<&PointResult> {
    let lag = points.first().and_then(|p| p.point.lag_us);
    points
        .iter()
        .filter(|p| changed_rows(p) == changed && p.point.lag_us == lag)
        .collect()
}

/// The mean of `measure` for `label` over the points of a rows axis at table size `rows`.
pub fn mean_at_rows(
    points: &[&PointResult],
    label: &str,
    rows: u64,
    seed: Option<u64>,
    measure: Measure,
) -> Option<f64> {
    mean_where(points, label, measure, |p| {
        p.point.rows == rows && seed.is_none_or(|sd| p.point.seed == sd)
    })
}

/// The churn values of `points`, in sweep order (ascending, as the scenario lists them).
pub fn churn_values(points: &[&PointResult]) -> Vec<f64> {
    let mut churns: Vec<f64> = points.iter().map(|p| p.point.churn).collect();
    churns.dedup();
    churns
}

fn seeds_of(points: &[&PointResult]) -> Vec<u64> {
    let mut seeds: Vec<u64> = points.iter().map(|p| p.point.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}

/// The measures a sweep's points carry: time always, cost when the scenario has a `[cost]`.
fn measures(points: &[PointResult]) -> Vec<Measure> {
    let costed = points
        .iter()
        .flat_map(|p| &p.strategies)
        .any(|s| s.cost_per_run.is_some());
    if costed {
        vec![Measure::Time, Measure::Cost]
    } else {
        vec![Measure::Time]
    }
}

/// Every crossover of a sweep: per churn axis (table size, lag) and per rows axis (changed
/// rows), for each incremental strategy and measure.
pub fn crossovers(points: &[PointResult]) -> Vec<Crossover> {
    let mut out = Vec::new();
    for measure in measures(points) {
        for (rows, lag_us) in churn_axes(points) {
            let axis: Vec<&PointResult> = points
                .iter()
                .filter(|p| p.point.rows == rows && p.point.lag_us == lag_us)
                .collect();
            let churns = churn_values(&axis);
            let curve = |label: &str, seed: Option<u64>| -> Vec<f64> {
                churns
                    .iter()
                    .map(|&c| mean_at_churn(&axis, label, c, seed, measure).unwrap_or(0.0))
                    .collect()
            };
            // Along churn, incremental starts cheaper and meets full as changes grow.
            let found = |label: &str, full: &str, seed: Option<u64>| {
                crossing(&churns, &curve(label, seed), &curve(full, seed))
            };
            for (s, value, low, high) in crossings_on(&axis, found) {
                out.push(Crossover {
                    label: s.label.clone(),
                    strategy: s.strategy.clone(),
                    write: s.write.clone(),
                    axis: "churn".into(),
                    measure: measure.name().into(),
                    rows: Some(rows),
                    changed_rows: None,
                    lag_us,
                    value,
                    low,
                    high,
                });
            }
        }
        for (changed, sizes) in rows_axes(points) {
            let axis = rows_axis_points(points, changed);
            let xs: Vec<f64> = sizes.iter().map(|&r| r as f64).collect();
            let curve = |label: &str, seed: Option<u64>| -> Vec<f64> {
                sizes
                    .iter()
                    .map(|&r| mean_at_rows(&axis, label, r, seed, measure).unwrap_or(0.0))
                    .collect()
            };
            // Along table size at fixed change, full grows and meets incremental from below:
            // above the crossing, incremental pays.
            let found = |label: &str, full: &str, seed: Option<u64>| {
                crossing(&xs, &curve(full, seed), &curve(label, seed))
            };
            for (s, value, low, high) in crossings_on(&axis, found) {
                out.push(Crossover {
                    label: s.label.clone(),
                    strategy: s.strategy.clone(),
                    write: s.write.clone(),
                    axis: "rows".into(),
                    measure: measure.name().into(),
                    rows: None,
                    changed_rows: Some(changed),
                    lag_us: axis.first().and_then(|p| p.point.lag_us),
                    value,
                    low,
                    high,
                });
            }
        }
    }
    out
}

type Found<'a> = (&'a PointStrategy, Option<f64>, Option<f64>, Option<f64>);

/// For each incremental strategy of an axis: the crossing of the seed-averaged curves and the
/// range of the per-seed crossings, as `found(label, full label, seed)` computes them.
fn crossings_on<'a>(
    axis: &[&'a PointResult],
    found: impl Fn(&str, &str, Option<u64>) -> Option<f64>,
) -> Vec<Found<'a>> {
    let Some(first) = axis.first() else {
        return Vec::new();
    };
    let Some(full) = first
        .strategies
        .iter()
        .find(|s| s.strategy == StrategyKind::Full.name())
    else {
        return Vec::new();
    };
    let seeds = seeds_of(axis);
    first
        .strategies
        .iter()
        .filter(|s| s.strategy != StrategyKind::Full.name())
        .map(|s| {
            let value = found(&s.label, &full.label, None);
            let per_seed: Vec<f64> = seeds
                .iter()
                .filter_map(|&seed| found(&s.label, &full.label, Some(seed)))
                .collect();
            let low = per_seed.iter().copied().reduce(f64::min);
            let high = per_seed.iter().copied().reduce(f64::max);
            (s, value, low, high)
        })
        .collect()
}

impl SweepResults {
    /// Writes sweep.json, runs.csv and runs.parquet into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("sweep results always serialize");
        write_atomic(&dir.join(SWEEP_FILE), &json)?;
        write_runs_csv(&self.runs, dir)
    }

    pub fn read(dir: &Path) -> Result<SweepResults> {
        let path = dir.join(SWEEP_FILE);
        let bytes =
            std::fs::read(&path).map_err(|e| Error::io("cannot read sweep results", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            context: "cannot parse sweep results".into(),
            path,
            source,
        })
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
        let mut all = first.points;
        for (part, part_runs) in parts {
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
        runs.sort_by_point()?;
        let crossovers = crossovers(&all);
        Ok(SweepResults {
            scenario: first.scenario,
            recommendations: recommendations(&all),
            shard: None,
            points: all,
            crossovers,
            scenario_as_run: first.scenario_as_run,
            runs,
        })
    }
}
