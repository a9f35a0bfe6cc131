//! What the terminal and the report say about an outside pipeline beyond its verdict: whether
//! it behaves like its model, what killed it, which runs failed.

use crate::results::{AttemptEnding, StrategyResult};

/// The lines about one lane if it is a pipeline (none for a built-in strategy).
pub fn pipeline_lines(s: &StrategyResult) -> Vec<String> {
    let Some(p) = &s.pipeline else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    if let Some(m) = &p.model {
        let keys = |n: u64| {
            if n == 1 {
                "1 row".to_string()
            } else {
                format!("{n} rows")
            }
        };
        lines.push(if m.same {
            match m.pipeline_wrong_keys {
                0 => format!(
                    "model: {} behaves exactly like `{}`: neither loses a row",
                    s.label, m.model
                ),
                n => format!(
                    "model: {} behaves exactly like `{}`: it loses the same {} (same keys, same classes)",
                    s.label,
                    m.model,
                    keys(n)
                ),
            }
        } else {
            let first: Vec<String> = m
                .differences
                .iter()
                .take(5)
                .map(|d| {
                    let class = |c: Option<crate::verify::DivergenceClass>| {
                        c.map_or("right".to_string(), |c| format!("{c:?}").to_lowercase())
                    };
                    format!("{} ({} vs {})", d.id, class(d.pipeline), class(d.model))
                })
                .collect();
            format!(
                "model: {} does NOT behave like `{}`: {} wrong vs {} wrong, {} key(s) differ — {} (pipeline vs model; all in results.json)",
                s.label,
                m.model,
                m.pipeline_wrong_keys,
                m.model_wrong_keys,
                m.differing_keys,
                first.join(", ")
            )
        });
    }
    let kills: Vec<String> = p
        .attempts
        .iter()
        .filter(|a| {
            matches!(
                a.ending,
                AttemptEnding::Killed { .. } | AttemptEnding::TimedOut
            )
        })
        .map(|a| {
            format!(
                "run {} attempt {} {} ({:.0} ms after its start)",
                a.run,
                a.attempt,
                a.ending.describe(),
                a.elapsed_ms
            )
        })
        .collect();
    if !kills.is_empty() {
        lines.push(format!("kills: {} — {}", s.label, kills.join("; ")));
    }
    if p.failed_runs > 0 {
        let first = s.per_run.iter().find_map(|r| r.failure.as_deref());
        lines.push(format!(
            "failed runs: {} — {} run(s); first: {}",
            s.label,
            p.failed_runs,
            first.unwrap_or("?")
        ));
    }
    lines
}
