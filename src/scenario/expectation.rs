//! `[[expect]]` entries as written in a scenario file: what must hold after the run. The
//! `expect` module evaluates them; this one only says what they are.

use serde::{Deserialize, Serialize};

use super::bound::Bound;

/// One `[[expect]]` entry as written in a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A strategy label from the same file, or `all` (may be left out of an entry that only
    /// states `recommended`, which names its own strategy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    /// Permanent divergence after the drain, per class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ghost: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Bound>,
    /// Exact counters summed over all runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_scanned: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_written: Option<Bound>,
    /// The whole run, repeated with the same seed, gives the same history and results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deterministic: Option<bool>,
    /// Every run, retried from the state persisted before it, leaves the same target and state
    /// (checked with the runner's idempotence check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// A pipeline with a `model`: whether its permanent wrong keys are exactly the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as_model: Option<bool>,
    /// A pipeline: runs that failed (last attempt failed, or the target could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_runs: Option<Bound>,
    /// From the scenario's `[sweep]`: the churn (a fraction) at which the strategy's run time
    /// meets full reprocessing's must lie in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossover_churn: Option<FractionRange>,
    /// From a lag sweep: the recommended lag must be at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_lag_at_most: Option<super::Micros>,
    /// From the scenario's `[sweep]`: the strategy recommended at a swept churn (the fastest,
    /// or with `measure = "cost"` the cheapest, of those that lost nothing at any seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended: Option<RecommendedAt>,
}

/// `{ at_churn = 0.01, strategy = "cdc+delete_insert" }`: the answer a study must keep giving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendedAt {
    /// A churn from `[sweep] churn`.
    pub at_churn: f64,
    /// The label that must be recommended there.
    pub strategy: String,
    /// At this swept table size only (default: at every table size swept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// `time` (the default) or `cost` (needs a `[cost]` model).
    #[serde(default, skip_serializing_if = "RankedBy::is_time")]
    pub measure: RankedBy,
}

impl RecommendedAt {
    /// Whether `churn` is this expectation's churn (a swept value, read back from results as
    /// the same float, up to rounding).
    pub fn is_at(&self, churn: f64) -> bool {
        (churn - self.at_churn).abs() <= 1e-12 * churn.abs().max(self.at_churn.abs())
    }
}

/// What a recommendation ranks eligible strategies by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankedBy {
    #[default]
    Time,
    Cost,
}

impl RankedBy {
    fn is_time(&self) -> bool {
        *self == RankedBy::Time
    }

    pub fn name(self) -> &'static str {
        match self {
            RankedBy::Time => "time",
            RankedBy::Cost => "cost",
        }
    }
}

/// `{ at_least = 0.01, at_most = 0.2 }`: a closed range of fractions (either end optional).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FractionRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
}

impl FractionRange {
    pub fn holds(&self, x: f64) -> bool {
        self.at_least.is_none_or(|lo| x >= lo) && self.at_most.is_none_or(|hi| x <= hi)
    }
}

impl std::fmt::Display for FractionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.at_least, self.at_most) {
            (Some(lo), Some(hi)) => write!(f, "between {lo} and {hi}"),
            (Some(lo), None) => write!(f, "≥ {lo}"),
            (None, Some(hi)) => write!(f, "≤ {hi}"),
            (None, None) => write!(f, "anywhere in the swept range"),
        }
    }
}

pub const ALL: &str = "all";

impl Expectation {
    /// The keys this entry sets, for validation and reporting.
    pub fn is_empty(&self) -> bool {
        self.missing.is_none()
            && self.stale.is_none()
            && self.ghost.is_none()
            && self.duplicate.is_none()
            && self.rows_scanned.is_none()
            && self.rows_written.is_none()
            && self.deterministic.is_none()
            && self.idempotent.is_none()
            && self.same_as_model.is_none()
            && self.failed_runs.is_none()
            && !self.needs_sweep()
    }

    /// Whether checking this expectation needs the scenario's sweep to run.
    pub fn needs_sweep(&self) -> bool {
        self.crossover_churn.is_some()
            || self.recommended_lag_at_most.is_some()
            || self.recommended.is_some()
    }
}
