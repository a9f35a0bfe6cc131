//! The answer a strategy-selection study exists for: at each setting of the swept values,
//! which strategy to run — correct first, then fastest (or, with a `[cost]` model, cheapest).
//!
//! Invariant: a strategy that lost data (permanent divergence) at any seed of a setting, or was
//! found not idempotent there, is never recommended at that setting, however fast it was. Its
//! figures stay in the results (`not_eligible`), so the price of correctness can be read off.
//! Everything here is a pure function of the points, in point order: the same points give the
//! same recommendations.

use serde::{Deserialize, Serialize};

use super::axes::seeds_of;
use super::{Measure, PointResult, PointStrategy};
use crate::scenario::{EngineKind, StrategyKind};
use crate::verify::Divergence;

/// One setting of the swept values (table size, churn, lag, engine): a sweep point without its
/// seed. The seeds of a setting are judged together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    pub rows: u64,
    pub churn: f64,
    pub lag_us: Option<i64>,
    pub engine: Option<EngineKind>,
}

impl Setting {
    pub fn of(p: &PointResult) -> Setting {
        Setting {
            rows: p.point.rows,
            churn: p.point.churn,
            lag_us: p.point.lag_us,
            engine: p.point.engine,
        }
    }

    fn holds(&self, p: &PointResult) -> bool {
        Setting::of(p) == *self
    }
}

/// The settings of a sweep in point order (rows, churn, lag as the scenario lists them).
pub fn settings<'a>(points: impl IntoIterator<Item = &'a PointResult>) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    for p in points {
        let s = Setting::of(p);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Why a strategy may not be recommended at a setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotEligible {
    pub label: String,
    pub write: String,
    /// Permanent divergence per class, summed over the setting's seeds.
    pub permanent: Divergence,
    /// Seeds at which it ended with permanent divergence.
    pub seeds_losing_data: u32,
    /// Seeds at which the idempotence check found a retry that changed the target or state.
    #[serde(default)]
    pub seeds_not_idempotent: u32,
    /// Its mean time (and cost) here: what it would have offered had it been correct.
    pub run_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_run: Option<f64>,
}

/// The winner of one seed of a setting, among the strategies eligible there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedWinner {
    pub seed: u64,
    pub label: String,
}

/// The eligible strategies of a setting ranked by one measure (mean over its seeds), and how
/// far the winner is ahead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub measure: String,
    /// The recommended strategy's label, and its write mode and mean measure.
    pub label: String,
    pub write: String,
    pub value: f64,
    /// The second-best eligible strategy, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_up: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_up_value: Option<f64>,
    /// `runner_up_value / value`: 1.8 means the runner-up takes 1.8× as long (or costs 1.8×).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_over_runner_up: Option<f64>,
    /// Full reprocessing's mean measure here (`None` when the sweep has no `full` strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_value: Option<f64>,
    /// `full_value / value`; 1 when the recommendation is `full` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_over_full: Option<f64>,
    /// Whether each seed on its own ranks the same strategy first.
    pub holds_at_every_seed: bool,
    pub per_seed: Vec<SeedWinner>,
    /// Strategies that lost data here yet were faster (cheaper) than the recommendation.
    #[serde(default)]
    pub faster_but_not_eligible: Vec<String>,
}

impl Ranking {
    /// Whether the recommendation is full reprocessing: nothing incremental was faster.
    pub fn is_full(&self, strategies: &[PointStrategy]) -> bool {
        strategies
            .iter()
            .any(|s| s.label == self.label && s.strategy == StrategyKind::Full.name())
    }
}

/// The recommendation at one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecommendation {
    pub rows: u64,
    pub churn: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_us: Option<i64>,
    /// The engine, when the sweep runs several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    pub seeds: Vec<u64>,
    /// The labels that may be recommended here, in scenario order.
    pub eligible: Vec<String>,
    pub not_eligible: Vec<NotEligible>,
    /// The fastest eligible strategy (`None` when none is eligible).
    pub by_time: Option<Ranking>,
    /// With a `[cost]` model: the cheapest eligible strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_cost: Option<Ranking>,
}

impl PointRecommendation {
    pub fn setting(&self) -> Setting {
        Setting {
            rows: self.rows,
            churn: self.churn,
            lag_us: self.lag_us,
            engine: self.engine,
        }
    }

    pub fn ranking(&self, measure: Measure) -> Option<&Ranking> {
        match measure {
            Measure::Time => self.by_time.as_ref(),
            Measure::Cost => self.by_cost.as_ref(),
        }
    }

    pub fn is_eligible(&self, label: &str) -> bool {
        self.eligible.iter().any(|l| l == label)
    }
}

/// Whether a strategy's figures at one seed allow it to be recommended: it ended exact and,
/// where idempotence was checked, was idempotent.
pub fn exact_and_idempotent(s: &PointStrategy) -> bool {
    s.permanent_total == 0 && s.idempotent != Some(false)
}

/// The recommendation at every setting of a sweep, in point order.
pub fn by_point(points: &[PointResult]) -> Vec<PointRecommendation> {
    settings(points)
        .into_iter()
        .filter_map(|setting| {
            let here: Vec<&PointResult> = points.iter().filter(|p| setting.holds(p)).collect();
            recommend_at(setting, &here)
        })
        .collect()
}

fn recommend_at(setting: Setting, here: &[&PointResult]) -> Option<PointRecommendation> {
    let first = here.first()?;
    let seeds = seeds_of(here);
    let at_every_seed = |label: &str| across_seeds(here, label);
    let mut eligible = Vec::new();
    let mut not_eligible = Vec::new();
    for s in &first.strategies {
        let runs = at_every_seed(&s.label);
        let losing = runs.iter().filter(|r| r.permanent_total > 0).count() as u32;
        let not_idempotent = runs.iter().filter(|r| r.idempotent == Some(false)).count() as u32;
        if runs.iter().all(|r| exact_and_idempotent(r)) {
            eligible.push(s.label.clone());
        } else {
            let permanent = runs
                .iter()
                .map(|r| r.permanent)
                .fold(Divergence::default(), Divergence::plus);
            not_eligible.push(NotEligible {
                label: s.label.clone(),
                write: s.write.clone(),
                permanent,
                seeds_losing_data: losing,
                seeds_not_idempotent: not_idempotent,
                run_ms: mean(&runs, Measure::Time).unwrap_or(0.0),
                cost_per_run: mean(&runs, Measure::Cost),
            });
        }
    }
    let costed = first.strategies.iter().any(|s| s.cost_per_run.is_some());
    let rank = |measure| {
        rank(
            here,
            &seeds,
            &first.strategies,
            &eligible,
            &not_eligible,
            measure,
        )
    };
    let by_time = rank(Measure::Time);
    let by_cost = if costed { rank(Measure::Cost) } else { None };
    Some(PointRecommendation {
        rows: setting.rows,
        churn: setting.churn,
        lag_us: setting.lag_us,
        engine: setting.engine,
        seeds,
        by_time,
        by_cost,
        eligible,
        not_eligible,
    })
}

fn mean(runs: &[&PointStrategy], measure: Measure) -> Option<f64> {
    let values: Vec<f64> = runs.iter().filter_map(|r| measure.of(r)).collect();
    (!values.is_empty() && values.len() == runs.len())
        .then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The eligible labels ordered by `value_of` (lowest first); ties keep scenario order, so the
/// ranking never depends on anything but the figures.
fn ordered(eligible: &[String], value_of: impl Fn(&str) -> Option<f64>) -> Vec<(&str, f64)> {
    let mut ranked: Vec<(&str, f64)> = eligible
        .iter()
        .filter_map(|l| value_of(l).map(|v| (l.as_str(), v)))
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    ranked
}

/// The figures of `label` at every seed of a setting.
fn across_seeds<'a>(here: &[&'a PointResult], label: &str) -> Vec<&'a PointStrategy> {
    here.iter()
        .filter_map(|p| p.strategies.iter().find(|s| s.label == label))
        .collect()
}

fn rank(
    here: &[&PointResult],
    seeds: &[u64],
    strategies: &[PointStrategy],
    eligible: &[String],
    not_eligible: &[NotEligible],
    measure: Measure,
) -> Option<Ranking> {
    let mean_of = |label: &str| mean(&across_seeds(here, label), measure);
    let ranked = ordered(eligible, mean_of);
    let &(label, value) = ranked.first()?;
    let runner_up = ranked.get(1).copied();
    let full_value = strategies
        .iter()
        .find(|s| s.strategy == StrategyKind::Full.name())
        .and_then(|s| mean_of(&s.label));
    let ratio = |other: f64| (value > 0.0).then(|| other / value);
    let per_seed: Vec<SeedWinner> = seeds
        .iter()
        .filter_map(|&seed| {
            let at_seed = here.iter().find(|p| p.point.seed == seed)?;
            let winner = ordered(eligible, |l| {
                at_seed
                    .strategies
                    .iter()
                    .find(|s| s.label == l)
                    .and_then(|s| measure.of(s))
            });
            winner.first().map(|&(l, _)| SeedWinner {
                seed,
                label: l.to_string(),
            })
        })
        .collect();
    let write = strategies
        .iter()
        .find(|s| s.label == label)
        .map_or(String::new(), |s| s.write.clone());
    let faster_but_not_eligible = not_eligible
        .iter()
        .filter(|n| {
            let theirs = match measure {
                Measure::Time => Some(n.run_ms),
                Measure::Cost => n.cost_per_run,
            };
            theirs.is_some_and(|v| v < value)
        })
        .map(|n| n.label.clone())
        .collect();
    Some(Ranking {
        measure: measure.name().into(),
        label: label.to_string(),
        write,
        value,
        runner_up: runner_up.map(|(l, _)| l.to_string()),
        runner_up_value: runner_up.map(|(_, v)| v),
        margin_over_runner_up: runner_up.and_then(|(_, v)| ratio(v)),
        full_value,
        margin_over_full: full_value.and_then(ratio),
        holds_at_every_seed: per_seed.iter().all(|w| w.label == label),
        per_seed,
        faster_but_not_eligible,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::sweep::Point;

    /// A strategy's figures at one point, by hand: label, time, permanent stale keys.
    pub fn strategy(label: &str, run_ms: f64, stale: u64) -> PointStrategy {
        let kind = if label == "full" { "full" } else { "cdc" };
        PointStrategy {
            label: label.into(),
            strategy: kind.into(),
            write: "upsert".into(),
            rows_scanned_per_run: 0.0,
            rows_written_per_run: 0.0,
            rows_inserted_per_run: 0.0,
            rows_updated_per_run: 0.0,
            rows_deleted_per_run: 0.0,
            permanent_total: stale,
            permanent: Divergence {
                stale,
                ..Divergence::default()
            },
            idempotent: None,
            run_ms,
            bytes_scanned_per_run: 0.0,
            cpu_ms_per_run: 0.0,
            cost_per_run: None,
            modelled_run_ms: None,
        }
    }

    pub fn point(churn: f64, seed: u64, strategies: Vec<PointStrategy>) -> PointResult {
        PointResult {
            point: Point {
                rows: 1_000,
                churn,
                seed,
                lag_us: None,
                engine: None,
            },
            history_digest: String::new(),
            strategies,
        }
    }

    #[test]
    fn the_fastest_strategy_is_passed_over_when_it_loses_rows() {
        let points = [point(
            0.01,
            1,
            vec![
                strategy("full", 50.0, 0),
                strategy("watermark_id", 2.0, 7),
                strategy("cdc", 10.0, 0),
            ],
        )];
        let rec = &by_point(&points)[0];
        let k = rec.by_time.as_ref().unwrap();
        assert_eq!(k.label, "cdc");
        assert_eq!(k.faster_but_not_eligible, vec!["watermark_id".to_string()]);
        assert_eq!(rec.eligible, vec!["full".to_string(), "cdc".to_string()]);
        assert_eq!(rec.not_eligible[0].label, "watermark_id");
        assert_eq!(rec.not_eligible[0].permanent.stale, 7);
    }

    #[test]
    fn losing_rows_at_one_seed_makes_a_strategy_ineligible_at_every_seed_of_the_setting() {
        let points = [
            point(
                0.01,
                1,
                vec![strategy("full", 50.0, 0), strategy("cdc", 10.0, 0)],
            ),
            point(
                0.01,
                2,
                vec![strategy("full", 50.0, 0), strategy("cdc", 10.0, 3)],
            ),
        ];
        let rec = &by_point(&points)[0];
        assert_eq!(rec.seeds, vec![1, 2]);
        assert_eq!(rec.by_time.as_ref().unwrap().label, "full");
        assert_eq!(rec.not_eligible[0].seeds_losing_data, 1);
        assert_eq!(rec.not_eligible[0].permanent.stale, 3);
    }

    #[test]
    fn a_strategy_found_not_idempotent_is_not_eligible() {
        let mut cdc = strategy("cdc", 10.0, 0);
        cdc.idempotent = Some(false);
        let points = [point(0.01, 1, vec![strategy("full", 50.0, 0), cdc])];
        let rec = &by_point(&points)[0];
        assert_eq!(rec.by_time.as_ref().unwrap().label, "full");
        assert_eq!(rec.not_eligible[0].seeds_not_idempotent, 1);
    }

    #[test]
    fn margins_are_the_runner_up_and_full_over_the_winner_on_the_mean_over_seeds() {
        let points = [
            point(
                0.01,
                1,
                vec![
                    strategy("full", 40.0, 0),
                    strategy("a", 8.0, 0),
                    strategy("b", 16.0, 0),
                ],
            ),
            point(
                0.01,
                2,
                vec![
                    strategy("full", 60.0, 0),
                    strategy("a", 12.0, 0),
                    strategy("b", 20.0, 0),
                ],
            ),
        ];
        let k = by_point(&points)[0].by_time.clone().unwrap();
        // Means: full 50, a 10, b 18.
        assert_eq!((k.label.as_str(), k.value), ("a", 10.0));
        assert_eq!(k.runner_up.as_deref(), Some("b"));
        assert_eq!(k.margin_over_runner_up, Some(1.8));
        assert_eq!(k.margin_over_full, Some(5.0));
        assert!(k.holds_at_every_seed);
    }

    #[test]
    fn seeds_that_rank_another_strategy_first_are_recorded() {
        let points = [
            point(
                0.01,
                1,
                vec![strategy("a", 10.0, 0), strategy("b", 14.0, 0)],
            ),
            point(
                0.01,
                2,
                vec![strategy("a", 12.0, 0), strategy("b", 11.0, 0)],
            ),
        ];
        let k = by_point(&points)[0].by_time.clone().unwrap();
        // Means: a 11, b 12.5; seed 2 alone prefers b.
        assert_eq!(k.label, "a");
        assert!(!k.holds_at_every_seed);
        let winners: Vec<(u64, &str)> = k
            .per_seed
            .iter()
            .map(|w| (w.seed, w.label.as_str()))
            .collect();
        assert_eq!(winners, vec![(1, "a"), (2, "b")]);
    }

    #[test]
    fn full_is_recommended_where_nothing_incremental_is_faster() {
        let points = [point(
            1.0,
            1,
            vec![strategy("full", 20.0, 0), strategy("cdc", 90.0, 0)],
        )];
        let rec = &by_point(&points)[0];
        let k = rec.by_time.as_ref().unwrap();
        assert!(k.is_full(&points[0].strategies));
        assert_eq!(k.margin_over_full, Some(1.0));
        assert_eq!(k.margin_over_runner_up, Some(4.5));
    }

    #[test]
    fn a_setting_where_every_strategy_loses_rows_has_no_recommendation() {
        let points = [point(
            0.5,
            1,
            vec![strategy("full", 20.0, 1), strategy("cdc", 9.0, 2)],
        )];
        let rec = &by_point(&points)[0];
        assert!(rec.by_time.is_none());
        assert!(rec.eligible.is_empty());
        assert_eq!(rec.not_eligible.len(), 2);
    }

    #[test]
    fn cost_ranks_by_price_where_time_ranks_by_time() {
        let mut a = strategy("a", 10.0, 0);
        a.cost_per_run = Some(3.0);
        let mut b = strategy("b", 20.0, 0);
        b.cost_per_run = Some(1.0);
        let points = [point(0.01, 1, vec![a, b])];
        let rec = &by_point(&points)[0];
        assert_eq!(rec.by_time.as_ref().unwrap().label, "a");
        assert_eq!(rec.by_cost.as_ref().unwrap().label, "b");
        assert_eq!(
            rec.by_cost.as_ref().unwrap().margin_over_runner_up,
            Some(3.0)
        );
    }
}
