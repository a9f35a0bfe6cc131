//! The axes of a sweep: churn axes (one per table size and lag) and rows axes (one per number of
//! changed rows swept at several sizes), and the seed-averaged measures along them.

use super::{Measure, PointResult};

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

/// Changed rows in a point's first interval: churn is a fraction of the rows live when an
/// interval starts, and the first starts with the table's `rows` (`Churn::rows_per_interval`).
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

pub(super) fn seeds_of(points: &[&PointResult]) -> Vec<u64> {
    let mut seeds: Vec<u64> = points.iter().map(|p| p.point.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}
