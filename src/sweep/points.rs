//! The points of a sweep: every combination of the swept values, their shards, and the
//! scenario as run at one point.

use serde::{Deserialize, Serialize};

use super::Point;
use crate::scenario::{Amount, EngineKind, Scenario, StrategyKind};

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

/// Every point of the scenario's `[sweep]`, in a fixed order (rows, churn, lag, engine, seed).
pub fn points(scenario: &Scenario) -> Vec<Point> {
    let sweep = scenario
        .sweep
        .clone()
        .unwrap_or_else(|| crate::scenario::SweepSpec {
            churn: Vec::new(),
            rows: Vec::new(),
            seeds: Vec::new(),
            lag: Vec::new(),
            engines: Vec::new(),
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
    // Without `engines`, points carry no engine and run on the scenario's own.
    let engines: Vec<Option<EngineKind>> = if sweep.engines.is_empty() {
        vec![None]
    } else {
        sweep.engines.iter().map(|&k| Some(k)).collect()
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
                for &engine in &engines {
                    for &seed in &seeds {
                        out.push(Point {
                            rows: r,
                            churn: c,
                            seed,
                            lag_us,
                            engine,
                        });
                    }
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
    crate::machine::cores()
}

/// The scenario's own churn as one fraction of the table per interval.
fn base_churn(s: &Scenario) -> f64 {
    mix(s).iter().sum::<f64>()
}

/// Inserts, updates and deletes per interval as fractions of the table (see
/// [`crate::scenario::Churn::fraction_of`]).
fn mix(s: &Scenario) -> [f64; 3] {
    s.churn.fraction_of(s.table.rows)
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
    if let Some(kind) = point.engine {
        s.engine.kind = kind;
    }
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
