//! Fidelity: the same scenario, seed and strategies run once on the simulated source and
//! once on a real PostgreSQL source, compared run by run (`incrlab run --compare-sources`).
//!
//! Two runs agree on a strategy when, after every run, its target's digest is the same (so
//! the same keys are wrong, in the same classes, with the same rows), and so are its
//! divergence, rows read, rows written and watermark. The first run where anything differs
//! is named.

use serde::Serialize;

use crate::error::Result;
use crate::results::{RunRecord, RunResults};
use crate::runner::{self, RunOptions};
use crate::scenario::{LoadedScenario, SourceKind};
use crate::verify::Divergence;

/// One strategy on both sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrategyFidelity {
    pub label: String,
    /// Permanent divergence on each source, in the comparison's source order.
    pub permanent: Vec<Divergence>,
    /// Worst transient divergence on each source.
    pub worst: Vec<Divergence>,
    /// Runs compared (scheduled and drain).
    pub runs: u32,
    /// `None`: every run agreed key for key. Otherwise the first difference, in words.
    pub first_difference: Option<String>,
}

impl StrategyFidelity {
    pub fn same(&self) -> bool {
        self.first_difference.is_none()
    }
}

/// A scenario on two sources.
#[derive(Debug, Clone, Serialize)]
pub struct SourceComparison {
    pub scenario: String,
    pub seed: u64,
    pub sources: Vec<SourceKind>,
    pub strategies: Vec<StrategyFidelity>,
}

impl SourceComparison {
    pub fn all_same(&self) -> bool {
        self.strategies.iter().all(StrategyFidelity::same)
    }
}

/// Runs `loaded` on each of `sources` (the engine of `[engine] kind` holds the targets) and
/// compares the runs strategy by strategy.
pub fn compare_sources(
    loaded: &LoadedScenario,
    sources: [SourceKind; 2],
    options: &RunOptions,
) -> Result<SourceComparison> {
    let mut results = Vec::with_capacity(2);
    for source in sources {
        let mut on = loaded.clone();
        on.scenario.engine.source = source;
        results.push(runner::run(&on, options)?);
    }
    Ok(compare(&results[0], &results[1], sources))
}

/// Compares two runs of one scenario (same history) strategy by strategy.
pub fn compare(a: &RunResults, b: &RunResults, sources: [SourceKind; 2]) -> SourceComparison {
    let mut strategies = Vec::new();
    for (x, y) in a.strategies.iter().zip(&b.strategies) {
        let mut first_difference = None;
        if a.history_digest != b.history_digest {
            first_difference = Some("the two runs simulated different histories".to_string());
        }
        if first_difference.is_none() {
            first_difference = x
                .per_run
                .iter()
                .zip(&y.per_run)
                .find_map(|(p, q)| run_difference(p, q, sources));
        }
        if first_difference.is_none() && x.per_run.len() != y.per_run.len() {
            first_difference = Some(format!(
                "{} ran {} runs, {} ran {}",
                sources[0].name(),
                x.per_run.len(),
                sources[1].name(),
                y.per_run.len()
            ));
        }
        if first_difference.is_none() && x.permanent != y.permanent {
            first_difference = Some(format!(
                "permanent divergence {:?} vs {:?}",
                x.permanent, y.permanent
            ));
        }
        strategies.push(StrategyFidelity {
            label: x.label.clone(),
            permanent: vec![x.permanent, y.permanent],
            worst: vec![x.worst, y.worst],
            runs: x.per_run.len() as u32,
            first_difference,
        });
    }
    SourceComparison {
        scenario: a.scenario.clone(),
        seed: a.seed,
        sources: sources.to_vec(),
        strategies,
    }
}

/// What differs between one run on each source, if anything.
fn run_difference(p: &RunRecord, q: &RunRecord, sources: [SourceKind; 2]) -> Option<String> {
    let (a, b) = (sources[0].name(), sources[1].name());
    let differs = |what: &str, x: String, y: String| {
        Some(format!("run {}: {what} {x} on {a}, {y} on {b}", p.run))
    };
    if p.target_digest != q.target_digest {
        return differs(
            "the target differs:",
            format!("{:?}", p.divergence),
            format!("{:?}", q.divergence),
        );
    }
    if p.divergence != q.divergence {
        return differs(
            "divergence",
            format!("{:?}", p.divergence),
            format!("{:?}", q.divergence),
        );
    }
    if p.rows_read != q.rows_read {
        return differs(
            "rows read",
            p.rows_read.to_string(),
            q.rows_read.to_string(),
        );
    }
    if p.written != q.written {
        return differs(
            "rows written",
            format!("{:?}", p.written),
            format!("{:?}", q.written),
        );
    }
    if p.watermark_after != q.watermark_after {
        return differs(
            "watermark",
            format!("{:?}", p.watermark_after),
            format!("{:?}", q.watermark_after),
        );
    }
    None
}
