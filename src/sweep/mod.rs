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
use crate::scenario::{Amount, LoadedScenario, Scenario, StrategyKind};

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
    /// Permanent divergence (all classes) after the drain.
    pub permanent_total: u64,
    /// Mean wall time of a steady run: scheduled runs after the first (which loads everything).
    pub run_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub point: Point,
    pub history_digest: String,
    pub strategies: Vec<PointStrategy>,
}

/// Where a strategy's per-run time meets full reprocessing's along the churn axis, for one
/// table size. `value` is the crossing of the seed-averaged curves, `low`/`high` the range of
/// the per-seed crossings; all `None` when the curves do not meet in the swept range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crossover {
    pub label: String,
    pub strategy: String,
    pub write: String,
    pub axis: String,
    pub measure: String,
    pub rows: u64,
    /// The lag of the `updated_at` strategies in these points, when the sweep varies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_us: Option<i64>,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
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
            strategies: r.strategies.iter().map(summarise).collect(),
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

fn summarise(s: &crate::results::StrategyResult) -> PointStrategy {
    // The first run reads the whole table into an empty target; drain runs see no new
    // changes. The steady state is the scheduled runs in between.
    let steady: Vec<_> = s.per_run.iter().filter(|r| !r.drain && r.run > 1).collect();
    let n = steady.len().max(1) as f64;
    PointStrategy {
        label: s.label.clone(),
        strategy: s.strategy.clone(),
        write: s.write.clone(),
        rows_scanned_per_run: steady.iter().map(|r| r.rows_scanned as f64).sum::<f64>() / n,
        rows_written_per_run: steady.iter().map(|r| r.rows_written as f64).sum::<f64>() / n,
        permanent_total: s.permanent.total(),
        run_ms: steady.iter().map(|r| r.wall_ms).sum::<f64>() / n,
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

/// The mean steady per-run time of `label` over `points` at `churn`, over one seed or all;
/// `None` when no point there measured it.
pub fn mean_run_ms(
    points: &[&PointResult],
    label: &str,
    churn: f64,
    seed: Option<u64>,
) -> Option<f64> {
    let times: Vec<f64> = points
        .iter()
        .filter(|p| p.point.churn == churn && seed.is_none_or(|sd| p.point.seed == sd))
        .filter_map(|p| p.strategies.iter().find(|x| x.label == label))
        .map(|x| x.run_ms)
        .collect();
    (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64)
}

/// The churn values of `points`, in sweep order (ascending, as the scenario lists them).
pub fn churn_values(points: &[&PointResult]) -> Vec<f64> {
    let mut churns: Vec<f64> = points.iter().map(|p| p.point.churn).collect();
    churns.dedup();
    churns
}

/// Per table size and incremental strategy, the churn where its run time meets `full`'s.
pub fn crossovers(points: &[PointResult]) -> Vec<Crossover> {
    let mut out = Vec::new();
    for (rows, lag_us) in churn_axes(points) {
        let at_size: Vec<&PointResult> = points
            .iter()
            .filter(|p| p.point.rows == rows && p.point.lag_us == lag_us)
            .collect();
        let churns = churn_values(&at_size);
        let mut seeds: Vec<u64> = at_size.iter().map(|p| p.point.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let Some(first) = at_size.first() else {
            continue;
        };
        let Some(full) = first
            .strategies
            .iter()
            .find(|s| s.strategy == StrategyKind::Full.name())
        else {
            continue;
        };
        for s in first
            .strategies
            .iter()
            .filter(|s| s.strategy != StrategyKind::Full.name())
        {
            // The mean curve over seeds, and one curve per seed for the spread.
            let curve = |label: &str, seed: Option<u64>| -> Vec<f64> {
                churns
                    .iter()
                    .map(|&c| mean_run_ms(&at_size, label, c, seed).unwrap_or(0.0))
                    .collect()
            };
            let value = crossing(&churns, &curve(&s.label, None), &curve(&full.label, None));
            let per_seed: Vec<f64> = seeds
                .iter()
                .filter_map(|&seed| {
                    crossing(
                        &churns,
                        &curve(&s.label, Some(seed)),
                        &curve(&full.label, Some(seed)),
                    )
                })
                .collect();
            let low = per_seed.iter().copied().reduce(f64::min);
            let high = per_seed.iter().copied().reduce(f64::max);
            out.push(Crossover {
                label: s.label.clone(),
                strategy: s.strategy.clone(),
                write: s.write.clone(),
                axis: "churn".into(),
                measure: "time".into(),
                rows,
                lag_us,
                value,
                low,
                high,
            });
        }
    }
    out
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
