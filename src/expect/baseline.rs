//! Comparing a run with a stored one: exact counters and divergence may not get worse.

use super::Outcome;
use crate::results::RunResults;

/// One outcome per (strategy, counter) the baseline also has. A counter may exceed its
/// baseline value by at most `tolerance` (a fraction: 0.05 allows 5% more, 0 allows nothing).
pub fn compare_with_baseline(
    results: &RunResults,
    baseline: &RunResults,
    tolerance: f64,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let outcome = |strategy: &str, key: &str, expected: String, actual: String, passed: bool| {
        Outcome::judged(
            &results.scenario,
            strategy,
            &format!("baseline {key}"),
            expected,
            actual,
            passed,
        )
    };
    if results.history_digest != baseline.history_digest {
        out.push(outcome(
            "all",
            "history_digest",
            format!("= {}", &baseline.history_digest[..16]),
            results.history_digest[..16].to_string(),
            false,
        ));
        return out; // counters of different histories are not comparable
    }
    for s in &results.strategies {
        let Some(b) = baseline.strategies.iter().find(|b| b.label == s.label) else {
            continue;
        };
        let pairs = [
            ("missing", s.permanent.missing, b.permanent.missing),
            ("stale", s.permanent.stale, b.permanent.stale),
            ("ghost", s.permanent.ghost, b.permanent.ghost),
            ("duplicate", s.permanent.duplicate, b.permanent.duplicate),
            ("rows_scanned", s.rows_scanned, b.rows_scanned),
            ("rows_written", s.rows_written, b.rows_written),
        ];
        for (key, actual, before) in pairs {
            let allowed = before + (before as f64 * tolerance).floor() as u64;
            out.push(outcome(
                &s.label,
                key,
                format!("≤ {allowed} (baseline {before})"),
                actual.to_string(),
                actual <= allowed,
            ));
        }
    }
    out
}
