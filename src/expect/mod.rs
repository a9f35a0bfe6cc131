//! Expectations: what a scenario states must hold, checked against its results.
//!
//! A scenario's `[[expect]]` entries name a strategy label (or `all`) and bounds on what its
//! run measured. Each (strategy, key) pair becomes one [`Outcome`]: one JUnit testcase, one
//! line in the terminal. Invariant: evaluation reads [`RunResults`] only; the one expectation
//! that needs more than one run (`deterministic`) is given the second run's results.

mod baseline;
mod junit;

use serde::{Deserialize, Serialize};

pub use baseline::compare_with_baseline;
pub use junit::write_junit;

pub use crate::scenario::{Bound, Expectation, FractionRange, ALL};

use crate::results::{RunResults, StrategyResult};

/// The verdict on one expectation for one strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub scenario: String,
    /// Strategy label, or `all` for whole-run expectations.
    pub strategy: String,
    /// What was checked, e.g. `missing` or `deterministic`.
    pub key: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
    /// Where to look next when it failed (sample wrong keys).
    pub hint: Option<String>,
}

impl Outcome {
    /// An outcome without a hint.
    pub fn judged(
        scenario: &str,
        strategy: &str,
        key: &str,
        expected: String,
        actual: String,
        passed: bool,
    ) -> Self {
        Outcome {
            scenario: scenario.to_string(),
            strategy: strategy.to_string(),
            key: key.to_string(),
            expected,
            actual,
            passed,
            hint: None,
        }
    }

    pub fn name(&self) -> String {
        format!("{}: {} {}", self.strategy, self.key, self.expected)
    }
}

/// Evaluates the sweep expectations (crossover, recommended lag) against a sweep's results.
/// A strategy with several crossovers (several table sizes or lags) must satisfy each.
pub fn evaluate_sweep(
    expectations: &[Expectation],
    sweep: &crate::sweep::SweepResults,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let outcome = |strategy: &str, key: &str, expected: String, actual: String, passed: bool| {
        Outcome::judged(&sweep.scenario, strategy, key, expected, actual, passed)
    };
    for e in expectations {
        let applies = |label: &str| e.strategy == ALL || e.strategy == label;
        if let Some(range) = e.crossover_churn {
            // The churn at which per-run time meets full reprocessing's (the rows axis and the
            // cost measure have their own units).
            let churn_time = sweep
                .crossovers
                .iter()
                .filter(|c| c.axis == "churn" && c.measure == "time");
            for c in churn_time.filter(|c| applies(&c.label)) {
                let (actual, passed) = match c.value {
                    Some(v) => (format!("{v:.5} at {}", c.setting()), range.holds(v)),
                    None => (
                        format!("no crossover in the swept range at {}", c.setting()),
                        false,
                    ),
                };
                out.push(outcome(
                    &c.label,
                    "crossover_churn",
                    range.to_string(),
                    actual,
                    passed,
                ));
            }
        }
        if let Some(limit) = e.recommended_lag_at_most {
            for r in sweep
                .recommendations
                .lag
                .iter()
                .filter(|r| applies(&r.label))
            {
                let (actual, passed) = match r.recommended_lag_us {
                    Some(us) => (crate::scenario::Micros(us).to_string(), us <= limit.0),
                    None => ("no swept lag is safe".to_string(), false),
                };
                out.push(outcome(
                    &r.label,
                    "recommended_lag",
                    format!("≤ {limit}"),
                    actual,
                    passed,
                ));
            }
        }
        if let Some(wanted) = &e.recommended {
            out.extend(recommended_outcomes(wanted, sweep));
        }
    }
    out
}

/// One outcome per table size (and lag) swept at the expectation's churn: whether the
/// recommendation there is the strategy named.
fn recommended_outcomes(
    wanted: &crate::scenario::RecommendedAt,
    sweep: &crate::sweep::SweepResults,
) -> Vec<Outcome> {
    let measure = match wanted.measure {
        crate::scenario::RankedBy::Time => crate::sweep::Measure::Time,
        crate::scenario::RankedBy::Cost => crate::sweep::Measure::Cost,
    };
    let key = match measure {
        crate::sweep::Measure::Time => "recommended",
        crate::sweep::Measure::Cost => "recommended_by_cost",
    };
    let here: Vec<&crate::sweep::PointRecommendation> = sweep
        .recommendations
        .by_point
        .iter()
        .filter(|r| wanted.is_at(r.churn) && wanted.rows.is_none_or(|n| n == r.rows))
        .collect();
    // As the scenario file writes it: a fraction.
    let churn = wanted.at_churn;
    let expected = |rows: Option<u64>| match rows {
        Some(rows) => format!("= {} at {churn} churn, {rows} rows", wanted.strategy),
        None => format!("= {} at {churn} churn", wanted.strategy),
    };
    if here.is_empty() {
        return vec![Outcome::judged(
            &sweep.scenario,
            &wanted.strategy,
            key,
            expected(wanted.rows),
            "no point of this sweep ran there".into(),
            false,
        )];
    }
    here.iter()
        .map(|r| {
            let lag = r.lag_us.map_or(String::new(), |l| {
                format!(", lag {}", crate::scenario::Micros(l))
            });
            let (actual, passed) = match r.ranking(measure) {
                Some(k) => {
                    let mut actual = k.label.clone();
                    if let Some(m) = k.margin_over_runner_up {
                        let runner_up = k.runner_up.as_deref().unwrap_or("?");
                        actual.push_str(&format!(" ({m:.2}× ahead of {runner_up})"));
                    }
                    if !k.holds_at_every_seed {
                        actual.push_str("; the seeds disagree");
                    }
                    (actual, k.label == wanted.strategy)
                }
                None => ("no strategy lost nothing at every seed".to_string(), false),
            };
            let mut o = Outcome::judged(
                &sweep.scenario,
                &wanted.strategy,
                key,
                format!("{}{lag}", expected(Some(r.rows))),
                actual,
                passed,
            );
            if !passed && !r.is_eligible(&wanted.strategy) {
                o.hint = r
                    .not_eligible
                    .iter()
                    .find(|n| n.label == wanted.strategy)
                    .map(|n| {
                        format!(
                            "{} is not eligible there: it lost {} keys over {} seed(s)",
                            n.label,
                            n.permanent.total(),
                            n.seeds_losing_data
                        )
                    });
            }
            o
        })
        .collect()
}

/// Evaluates every expectation against `results`. `rerun` is a second run with the same seed,
/// given when any expectation asks for `deterministic`.
pub fn evaluate(
    expectations: &[Expectation],
    results: &RunResults,
    rerun: Option<&RunResults>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for e in expectations {
        let targets: Vec<&StrategyResult> = if e.strategy == ALL {
            results.strategies.iter().collect()
        } else {
            results
                .strategies
                .iter()
                .filter(|s| s.label == e.strategy)
                .collect()
        };
        for s in &targets {
            let counts = [
                ("missing", e.missing, s.permanent.missing),
                ("stale", e.stale, s.permanent.stale),
                ("ghost", e.ghost, s.permanent.ghost),
                ("duplicate", e.duplicate, s.permanent.duplicate),
                ("rows_scanned", e.rows_scanned, s.rows_scanned),
                ("rows_written", e.rows_written, s.rows_written),
            ];
            if let Some(wanted) = e.idempotent {
                let (passed, actual) = match (s.idempotent, s.first_non_idempotent_run) {
                    (Some(true), _) => (wanted, "idempotent".to_string()),
                    (Some(false), run) => (
                        !wanted,
                        format!(
                            "the retry of run {} changed the target or state",
                            run.map_or("?".into(), |r| r.to_string())
                        ),
                    ),
                    (None, _) => (false, "not checked (no idempotence check)".to_string()),
                };
                out.push(Outcome {
                    scenario: results.scenario.clone(),
                    strategy: s.label.clone(),
                    key: "idempotent".into(),
                    expected: format!("= {wanted}"),
                    actual,
                    passed,
                    hint: None,
                });
            }
            if let Some(wanted) = e.same_as_model {
                let comparison = s.pipeline.as_ref().and_then(|p| p.model.as_ref());
                let (passed, actual) = match comparison {
                    Some(c) if c.same => (wanted, format!("same as `{}`", c.model)),
                    Some(c) => (
                        !wanted,
                        format!(
                            "differs from `{}` on {} key(s){}",
                            c.model,
                            c.differing_keys,
                            c.differences
                                .first()
                                .map_or(String::new(), |d| format!(", first id {}", d.id))
                        ),
                    ),
                    None => (false, "no model to compare with".to_string()),
                };
                out.push(Outcome {
                    scenario: results.scenario.clone(),
                    strategy: s.label.clone(),
                    key: "same_as_model".into(),
                    expected: format!("= {wanted}"),
                    actual,
                    passed,
                    hint: None,
                });
            }
            if let Some(bound) = e.failed_runs {
                let actual = s.pipeline.as_ref().map_or(0, |p| u64::from(p.failed_runs));
                let passed = bound.holds(actual);
                let first_failure = s.per_run.iter().find_map(|r| r.failure.clone());
                out.push(Outcome {
                    scenario: results.scenario.clone(),
                    strategy: s.label.clone(),
                    key: "failed_runs".into(),
                    expected: bound.to_string(),
                    actual: actual.to_string(),
                    passed,
                    hint: (!passed).then_some(first_failure).flatten(),
                });
            }
            for (key, bound, actual) in counts {
                let Some(bound) = bound else { continue };
                let passed = bound.holds(actual);
                out.push(Outcome {
                    scenario: results.scenario.clone(),
                    strategy: s.label.clone(),
                    key: key.to_string(),
                    expected: bound.to_string(),
                    actual: actual.to_string(),
                    passed,
                    hint: (!passed).then(|| hint_for(s, key)).flatten(),
                });
            }
        }
        if let Some(wanted) = e.deterministic {
            let same = rerun.map(|r| results.first_difference(r));
            let (passed, actual) = match same {
                Some(None) => (wanted, "identical".to_string()),
                Some(Some(diff)) => (!wanted, format!("differs: {diff}")),
                None => (false, "not checked (no second run)".to_string()),
            };
            out.push(Outcome {
                scenario: results.scenario.clone(),
                strategy: e.strategy.clone(),
                key: "deterministic".into(),
                expected: format!("= {wanted}"),
                actual,
                passed,
                hint: None,
            });
        }
    }
    out
}

fn hint_for(s: &StrategyResult, key: &str) -> Option<String> {
    let class = match key {
        "missing" => crate::verify::DivergenceClass::Missing,
        "stale" => crate::verify::DivergenceClass::Stale,
        "ghost" => crate::verify::DivergenceClass::Ghost,
        "duplicate" => crate::verify::DivergenceClass::Duplicate,
        _ => return None,
    };
    let keys: Vec<String> = s
        .sample_wrong_keys
        .iter()
        .filter(|k| k.class == class)
        .take(5)
        .map(|k| k.id.to_string())
        .collect();
    (!keys.is_empty()).then(|| format!("sample {key} keys of {}: {}", s.label, keys.join(", ")))
}
