//! Where two cost curves meet: the churn (or table size) at which an incremental strategy's
//! per-run cost reaches full reprocessing's.
//!
//! Both curves are sampled at the same sweep points. The crossing is found on the difference
//! `incremental - full` between the first pair of neighbouring points where it goes from below
//! zero to zero or above, interpolated linearly in `log(x)`: sweep axes are geometric
//! (0.1%, 1%, 10%), so a straight line in log space is the honest guess between two points.

use serde::{Deserialize, Serialize};

use super::axes::{
    churn_axes, churn_values, engines_of, mean_at_churn, mean_at_rows, note, rows_axes,
    rows_axis_points, seeds_of,
};
use super::recommend::{exact_and_idempotent, settings, Setting};
use super::{Measure, PointResult, PointStrategy};
use crate::scenario::{EngineKind, StrategyKind};

/// What a crossover search found along an axis: a crossing, or which side the incremental
/// strategy stayed on across the whole swept range. (`null` alone could not tell "never pays"
/// from "pays at every swept point".)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossoverVerdict {
    /// The curves meet inside the swept range (`value` says where).
    Crosses,
    /// Incremental is cheaper (or faster) at every swept point.
    PaysThroughout,
    /// Incremental is never cheaper (or faster) than full reprocessing in the swept range.
    NeverPays,
}

impl CrossoverVerdict {
    /// The verdict of a search that found `crossing`, where `pays_at_start` says whether
    /// incremental beat full at the first swept point.
    pub fn of(crossing: Option<f64>, pays_at_start: bool) -> Self {
        match (crossing, pays_at_start) {
            (Some(_), _) => CrossoverVerdict::Crosses,
            (None, true) => CrossoverVerdict::PaysThroughout,
            (None, false) => CrossoverVerdict::NeverPays,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CrossoverVerdict::Crosses => "crosses",
            CrossoverVerdict::PaysThroughout => "pays throughout",
            CrossoverVerdict::NeverPays => "never pays",
        }
    }
}

/// The first `x` at which `incremental` reaches `full`, or `None` when it stays below (or
/// starts at or above) across the whole range. `xs` must be ascending and positive.
pub fn crossing(xs: &[f64], incremental: &[f64], full: &[f64]) -> Option<f64> {
    debug_assert_eq!(xs.len(), incremental.len());
    debug_assert_eq!(xs.len(), full.len());
    let diff: Vec<f64> = incremental.iter().zip(full).map(|(i, f)| i - f).collect();
    if diff.first().is_none_or(|&d| d >= 0.0) {
        // Incremental never pays in this range (or there is nothing to compare).
        return None;
    }
    for k in 1..xs.len() {
        let (d0, d1) = (diff[k - 1], diff[k]);
        if d0 < 0.0 && d1 >= 0.0 {
            let (l0, l1) = (xs[k - 1].ln(), xs[k].ln());
            let t = d0 / (d0 - d1);
            return Some((l0 + t * (l1 - l0)).exp());
        }
    }
    None
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
    /// The engine these points ran on, when the sweep runs several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    /// Whether the curves cross in the swept range, and if not, which side incremental stayed
    /// on.
    pub verdict: CrossoverVerdict,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The settings of this axis (table size, churn, lag) at which the strategy lost nothing
    /// at any seed, out of `settings`: a strategy that loses data anywhere on the axis is
    /// not eligible, and its crossover is no reason to run it.
    #[serde(default)]
    pub eligible_settings: u32,
    #[serde(default)]
    pub settings: u32,
    /// Its largest permanent divergence at one point of the axis.
    #[serde(default)]
    pub worst_permanent_total: u64,
}

impl Crossover {
    /// Whether the strategy lost nothing (and was idempotent where checked) at every setting
    /// of the axis.
    pub fn is_eligible(&self) -> bool {
        self.eligible_settings == self.settings
    }
}

impl Crossover {
    /// Where the axis sits: `1000000 rows` (churn axis) or `10000 changed rows per interval`
    /// (rows axis), with the lag and the engine when the sweep varies them.
    pub fn setting(&self) -> String {
        let note = note(self.lag_us, self.engine);
        match (self.rows, self.changed_rows) {
            (Some(rows), _) => format!("{rows} rows{note}"),
            (None, Some(changed)) => format!("{changed} changed rows per interval{note}"),
            (None, None) => note.trim_start_matches(", ").trim().to_string(),
        }
    }
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
        for churn_axis in churn_axes(points) {
            let axis: Vec<&PointResult> = points.iter().filter(|p| churn_axis.holds(p)).collect();
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
            // At the smallest churn, incremental pays when it is below full.
            let pays_at_start =
                |label: &str, full: &str| curve(label, None).first() < curve(full, None).first();
            let at = Place {
                axis: "churn",
                rows: Some(churn_axis.rows),
                changed_rows: None,
                lag_us: churn_axis.lag_us,
                engine: churn_axis.engine,
            };
            for found in crossings_on(&axis, found, pays_at_start) {
                out.push(at.crossover(found, measure, &axis));
            }
        }
        for (engine, (changed, sizes)) in engines_of(points)
            .into_iter()
            .flat_map(|e| rows_axes(points, e).into_iter().map(move |a| (e, a)))
        {
            let axis = rows_axis_points(points, changed, engine);
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
            // At the smallest table, incremental pays when full is not below it.
            let pays_at_start =
                |label: &str, full: &str| curve(full, None).first() >= curve(label, None).first();
            let at = Place {
                axis: "rows",
                rows: None,
                changed_rows: Some(changed),
                lag_us: axis.first().and_then(|p| p.point.lag_us),
                engine,
            };
            for found in crossings_on(&axis, found, pays_at_start) {
                out.push(at.crossover(found, measure, &axis));
            }
        }
    }
    out
}

/// Where a crossover was searched: the axis, and what it holds fixed.
struct Place {
    axis: &'static str,
    rows: Option<u64>,
    changed_rows: Option<u64>,
    lag_us: Option<i64>,
    engine: Option<EngineKind>,
}

impl Place {
    /// The crossover of one strategy found here, with its eligibility along the axis' points.
    fn crossover(
        &self,
        (s, value, low, high, verdict): Found<'_>,
        measure: Measure,
        axis: &[&PointResult],
    ) -> Crossover {
        Crossover {
            label: s.label.clone(),
            strategy: s.strategy.clone(),
            write: s.write.clone(),
            axis: self.axis.into(),
            measure: measure.name().into(),
            rows: self.rows,
            changed_rows: self.changed_rows,
            lag_us: self.lag_us,
            engine: self.engine,
            verdict,
            value,
            low,
            high,
            eligible_settings: 0,
            settings: 0,
            worst_permanent_total: 0,
        }
        .with_eligibility(axis)
    }
}

impl Crossover {
    fn with_eligibility(mut self, axis: &[&PointResult]) -> Crossover {
        let all = settings(axis.iter().copied());
        let eligible = all
            .iter()
            .filter(|setting| {
                axis.iter()
                    .filter(|p| Setting::of(p) == **setting)
                    .filter_map(|p| strategy_of(p, &self.label))
                    .all(exact_and_idempotent)
            })
            .count();
        let worst = axis
            .iter()
            .filter_map(|p| strategy_of(p, &self.label))
            .map(|s| s.permanent_total)
            .max()
            .unwrap_or(0);
        self.settings = all.len() as u32;
        self.eligible_settings = eligible as u32;
        self.worst_permanent_total = worst;
        self
    }
}

fn strategy_of<'a>(p: &'a PointResult, label: &str) -> Option<&'a PointStrategy> {
    p.strategies.iter().find(|s| s.label == label)
}

type Found<'a> = (
    &'a PointStrategy,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    CrossoverVerdict,
);

/// For each incremental strategy of an axis: the crossing of the seed-averaged curves and the
/// range of the per-seed crossings, as `found(label, full label, seed)` computes them.
fn crossings_on<'a>(
    axis: &[&'a PointResult],
    found: impl Fn(&str, &str, Option<u64>) -> Option<f64>,
    pays_at_start: impl Fn(&str, &str) -> bool,
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
            let verdict = CrossoverVerdict::of(value, pays_at_start(&s.label, &full.label));
            (s, value, low, high, verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_says_which_side_a_curve_without_a_crossing_stayed_on() {
        assert_eq!(
            CrossoverVerdict::of(Some(0.05), true),
            CrossoverVerdict::Crosses
        );
        assert_eq!(
            CrossoverVerdict::of(None, true),
            CrossoverVerdict::PaysThroughout
        );
        assert_eq!(
            CrossoverVerdict::of(None, false),
            CrossoverVerdict::NeverPays
        );
    }

    #[test]
    fn finds_a_known_crossing_in_log_space() {
        // incremental - full = ln(x) - ln(0.05): zero exactly at x = 5%.
        let xs = [0.001, 0.01, 0.1, 1.0];
        let full = [10.0; 4];
        let incremental: Vec<f64> = xs
            .iter()
            .map(|x: &f64| 10.0 + x.ln() - 0.05f64.ln())
            .collect();
        let at = crossing(&xs, &incremental, &full).unwrap();
        assert!((at - 0.05).abs() < 1e-9, "{at}");
    }

    #[test]
    fn curves_that_never_meet_have_no_crossing() {
        let xs = [0.001, 0.01, 0.1, 1.0];
        assert_eq!(crossing(&xs, &[1.0, 2.0, 3.0, 4.0], &[10.0; 4]), None);
        // Already more expensive at the smallest churn: no crossing inside the range either.
        assert_eq!(crossing(&xs, &[11.0, 12.0, 13.0, 14.0], &[10.0; 4]), None);
    }

    #[test]
    fn a_point_exactly_on_the_reference_is_the_crossing() {
        let xs = [0.01, 0.1, 1.0];
        let at = crossing(&xs, &[5.0, 10.0, 20.0], &[10.0; 3]).unwrap();
        assert!((at - 0.1).abs() < 1e-12, "{at}");
    }
}
