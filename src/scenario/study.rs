//! What a study adds to a scenario: the `[sweep]` grid and the `[cost]` price model.

use serde::{Deserialize, Serialize};

use super::Micros;

/// The price and environment model: what a run would cost on a warehouse that bills bytes
/// scanned and CPU time, and how long it would take if the source were remote.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// Currency units per terabyte (10^12 bytes) of source data scanned.
    #[serde(default)]
    pub price_per_tb_scanned: f64,
    /// Currency units per hour of engine CPU time.
    #[serde(default)]
    pub price_per_cpu_hour: f64,
    /// Bandwidth of a remote source in MB/s (10^6 bytes): every byte scanned adds transfer
    /// time to the modelled run time. Absent: the source is local, no transfer time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_read_mb_per_s: Option<f64>,
}

/// `[sweep]`: every combination of the listed values is one sweep point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Fractions of the table changed per interval; the scenario's insert/update/delete mix is
    /// scaled to each total.
    #[serde(default)]
    pub churn: Vec<f64>,
    /// Table sizes (initial rows).
    #[serde(default)]
    pub rows: Vec<u64>,
    /// Seeds each point is run with; the spread over them is reported.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Lags given to every `updated_at` strategy; the smallest lag without permanent loss is
    /// recommended.
    #[serde(default)]
    pub lag: Vec<Micros>,
    /// Engines every point is run on, each with its own curves, crossovers and
    /// recommendations (empty: the scenario's `[engine]` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<super::EngineKind>,
}
