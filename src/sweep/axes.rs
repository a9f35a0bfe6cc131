//! The axes of a sweep: churn axes (one per table size, lag and engine) and rows axes (one per
//! number of changed rows swept at several sizes, per engine), and the seed-averaged measures
//! along them.

use super::{Measure, PointResult};
use crate::scenario::{EngineKind, Micros};

/// One churn axis: what a sweep holds fixed while churn varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChurnAxis {
    pub rows: u64,
    /// The lag of the `updated_at` strategies, when the sweep varies it.
    pub lag_us: Option<i64>,
    /// The engine, when the sweep runs several.
    pub engine: Option<EngineKind>,
}

impl ChurnAxis {
    pub fn of(p: &PointResult) -> ChurnAxis {
        ChurnAxis {
            rows: p.point.rows,
            lag_us: p.point.lag_us,
            engine: p.point.engine,
        }
    }

    /// Whether point `p` lies on this axis.
    pub fn holds(&self, p: &PointResult) -> bool {
        ChurnAxis::of(p) == *self
    }

    /// What besides the table size the axis holds fixed, for titles: `, lag 5s on polars`.
    pub fn note(&self) -> String {
        note(self.lag_us, self.engine)
    }
}

/// `, lag 5s` and ` on polars`, for whichever of the two a sweep varies.
pub fn note(lag_us: Option<i64>, engine: Option<EngineKind>) -> String {
    let lag = lag_us.map_or(String::new(), |l| format!(", lag {}", Micros(l)));
    let on = engine.map_or(String::new(), |k| format!(" on {}", k.name()));
    format!("{lag}{on}")
}

/// The churn axes of a sweep's points, in point order.
pub fn churn_axes(points: &[PointResult]) -> Vec<ChurnAxis> {
    let mut groups: Vec<ChurnAxis> = Vec::new();
    for p in points {
        let axis = ChurnAxis::of(p);
        if !groups.contains(&axis) {
            groups.push(axis);
        }
    }
    groups
}

/// The engines of a sweep's points, in point order (`[None]` without `engines`).
pub fn engines_of(points: &[PointResult]) -> Vec<Option<EngineKind>> {
    let mut engines = Vec::new();
    for p in points {
        if !engines.contains(&p.point.engine) {
            engines.push(p.point.engine);
        }
    }
    engines
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

/// Changed rows in a point's first interval: churn is a fraction of the rows live when an
/// interval starts, and the first starts with the table's `rows` (`Churn::rows_per_interval`).
pub fn changed_rows(p: &PointResult) -> u64 {
    (p.point.rows as f64 * p.point.churn).round() as u64
}

/// Rows axes on `engine`: for each number of changed rows swept at two or more table sizes (at
/// the first lag, which does not change the work), the sizes in ascending order.
pub fn rows_axes(points: &[PointResult], engine: Option<EngineKind>) -> Vec<(u64, Vec<u64>)> {
    let Some(lag) = points.first().map(|p| p.point.lag_us) else {
        return Vec::new();
    };
    let points: Vec<&PointResult> = points.iter().filter(|p| p.point.engine == engine).collect();
    let mut counts: Vec<u64> = points.iter().map(|p| changed_rows(p)).collect();
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

/// The points of one rows axis (one changed-row count, the first lag, one engine).
pub fn rows_axis_points(
    points: &[PointResult],
    changed: u64,
    engine: Option<EngineKind>,
) -> Vec<&PointResult> {
    let lag = points.first().and_then(|p| p.point.lag_us);
    points
        .iter()
        .filter(|p| changed_rows(p) == changed && p.point.lag_us == lag && p.point.engine == engine)
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

pub(super) fn seeds_of(points: &[&PointResult]) -> Vec<u64> {
    let mut seeds: Vec<u64> = points.iter().map(|p| p.point.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}
