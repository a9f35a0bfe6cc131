//! The verdict in words: one word per strategy for tables, one sentence per strategy for
//! reports, and the sentences a sweep's crossovers and lag recommendations come down to.

use super::document::VerdictLine;
use crate::results::{RunResults, StrategyResult};
use crate::scenario::Micros;
use crate::sweep::{
    churn_values, Crossover, CrossoverVerdict, LagRecommendation, PointResult, SweepResults,
};

use super::format::percent;

/// One word for a strategy's outcome.
pub fn verdict(s: &StrategyResult) -> &'static str {
    if s.permanent.total() > 0 {
        "loses data"
    } else if s.worst.total() > 0 {
        "heals"
    } else {
        "exact"
    }
}

pub fn verdict_line(s: &StrategyResult, table_rows: u64) -> VerdictLine {
    let p = &s.permanent;
    let text = match verdict(s) {
        "exact" => format!(
            "({}) is exact: its target equalled full reprocessing after every run.",
            s.write
        ),
        "heals" => format!(
            "({}) heals: wrong during the runs (at most {} keys at once, a key for up to {} runs), exact after the drain.",
            s.write,
            s.worst.total(),
            s.longest_divergence_runs
        ),
        _ => format!(
            "({}) loses data: {} keys wrong for good ({} missing, {} stale, {} ghost, {} duplicate rows), {} of the {}-row table.",
            s.write,
            p.total(),
            p.missing,
            p.stale,
            p.ghost,
            p.duplicate,
            percent(p.total() as f64 / table_rows.max(1) as f64),
            table_rows
        ),
    };
    VerdictLine {
        label: s.label.clone(),
        verdict: verdict(s).to_string(),
        text,
    }
}

/// The opening sentence: which strategies are safe here and which are not.
pub fn run_summary(results: &RunResults) -> String {
    let names = |want: &str| -> Vec<String> {
        results
            .strategies
            .iter()
            .filter(|s| verdict(s) == want)
            .map(|s| s.label.clone())
            .collect()
    };
    let (exact, heals, loses) = (names("exact"), names("heals"), names("loses data"));
    let mut parts = vec![format!(
        "Scenario {}, seed {}: {} strategies checked against full reprocessing after each of {} runs and {} drain runs.",
        results.scenario,
        results.seed,
        results.strategies.len(),
        results.runs,
        results.drain_runs
    )];
    let safe: Vec<String> = exact.iter().chain(&heals).cloned().collect();
    parts.push(if safe.is_empty() {
        "No strategy is safe for this scenario.".to_string()
    } else {
        format!("Safe for this scenario: {}.", safe.join(", "))
    });
    if !loses.is_empty() {
        parts.push(format!("Not safe: {}.", loses.join(", ")));
    }
    parts.join(" ")
}

/// A crossover as a sentence: where incremental stops paying, or that it never does (or
/// never starts to) in the swept range.
pub fn crossover_sentence(sweep: &SweepResults, c: &Crossover) -> String {
    let measure = if c.measure == "cost" {
        "cheaper"
    } else {
        "faster"
    };
    let unmeasure = if c.measure == "cost" {
        "dearer"
    } else {
        "slower"
    };
    let head = if c.is_eligible() {
        format!("{} ({}) at {}", c.label, c.write, c.setting())
    } else {
        format!(
            "{} ({}) at {} — {}",
            c.label,
            c.write,
            c.setting(),
            super::format::eligibility(c)
        )
    };
    let spread =
        super::format::crossover_spread(c).map_or(String::new(), |s| format!(" (per seed {s})"));
    if let Some(value) = c.value {
        return if c.axis == "rows" {
            format!(
                "{head}: {measure} than full reprocessing on tables above {}{spread}; {unmeasure} below.",
                super::format::crossing_value(c, value)
            )
        } else {
            format!(
                "{head}: {measure} than full reprocessing below {} churn per interval{spread}; {unmeasure} above.",
                super::format::crossing_value(c, value)
            )
        };
    }
    let verdict = match c.verdict {
        CrossoverVerdict::PaysThroughout => format!("{measure} than full reprocessing"),
        _ => format!("never {measure} than full reprocessing"),
    };
    let range = match c.rows {
        Some(rows) => {
            let axis: Vec<&PointResult> = sweep
                .points
                .iter()
                .filter(|p| p.point.rows == rows && p.point.lag_us == c.lag_us)
                .collect();
            let churns = churn_values(&axis);
            match (churns.first(), churns.last()) {
                (Some(&lo), Some(&hi)) => {
                    format!(" from {} to {} churn", percent(lo), percent(hi))
                }
                _ => String::new(),
            }
        }
        None => " across the swept table sizes".to_string(),
    };
    format!("{head}: no crossover in the swept range — {verdict}{range}.")
}

pub fn lag_sentence(r: &LagRecommendation) -> String {
    match r.recommended_lag_us {
        Some(us) => format!(
            "{} at {} rows, churn {}: recommended lag {} (the smallest swept lag that lost nothing).",
            r.label,
            r.rows,
            percent(r.churn),
            Micros(us)
        ),
        None => format!(
            "{} at {} rows, churn {}: every swept lag lost rows; sweep larger lags.",
            r.label,
            r.rows,
            percent(r.churn)
        ),
    }
}
