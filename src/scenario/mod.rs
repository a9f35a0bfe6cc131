//! Scenario files: what world to simulate and which strategies to run in it.
//!
//! A scenario is TOML, read with serde. Unknown keys are rejected, every value is checked by
//! [`validate`] before anything runs, and every error names the file, the key and, where it
//! can be found, the line. Nothing in this module touches an engine or the filesystem beyond
//! reading the one file.

mod amount;
mod distribution;
mod duration;
mod faults;
mod locate;
mod validate;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use amount::Amount;
pub use distribution::DurationDist;
pub use duration::Micros;
pub use faults::{
    CommitOrder, CrashPoint, Faults, PlannedCrash, Restart, StateStoreKind, MAX_ATTEMPTS,
};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the default output directory `reports/<name>/`.
    pub name: String,
    /// One seed reproduces the whole run; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub table: Table,
    pub schedule: Schedule,
    #[serde(default)]
    pub churn: Churn,
    #[serde(default)]
    pub writers: Writers,
    #[serde(default)]
    pub transactions: Transactions,
    #[serde(default)]
    pub timestamps: Timestamps,
    /// Business time of inserted rows, and how far behind their commit some of them arrive.
    #[serde(default)]
    pub event_time: EventTime,
    /// How changes land as Parquet files for `file_listing` (only landed when a strategy lists).
    #[serde(default)]
    pub landing: Landing,
    #[serde(rename = "strategy")]
    pub strategies: Vec<StrategySpec>,
    /// The parameter grid `incrlab sweep` runs (ignored by `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
    /// Prices and source bandwidth that turn measured counters into money and modelled time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostSpec>,
    /// Crashes injected into scheduled runs. Present (even with no crash drawn): targets live
    /// in database files that a crash closes and reopens, and writes go in chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
    /// What must hold after the run, checked by `incrlab check`.
    #[serde(default, rename = "expect", skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<crate::expect::Expectation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Rows in the source before the first run.
    #[serde(default = "Table::default_rows")]
    pub rows: u64,
}

impl Table {
    fn default_rows() -> u64 {
        1_000
    }
}

impl Default for Table {
    fn default() -> Self {
        Table {
            rows: Self::default_rows(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Scheduled pipeline runs (the drain adds more after them).
    pub runs: u32,
    /// True time between runs: run i happens at `i * interval`.
    pub interval: Micros,
    /// Scheduled runs (1-based) that do not happen: the orchestrator was down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_runs: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeleteMode {
    /// The row vanishes from the table; only the change log records the delete.
    #[default]
    Hard,
    /// The row stays with `is_deleted = true` and a fresh `updated_at`.
    Soft,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    #[serde(default)]
    pub inserts: Amount,
    #[serde(default)]
    pub updates: Amount,
    #[serde(default)]
    pub deletes: Amount,
    #[serde(default)]
    pub delete_mode: DeleteMode,
    /// Zipf exponent for choosing which keys are updated and deleted; 0 picks uniformly.
    #[serde(default)]
    pub key_skew: f64,
}

impl Default for Churn {
    fn default() -> Self {
        Churn {
            inserts: Amount::Fraction(0.01),
            updates: Amount::Fraction(0.01),
            deletes: Amount::Count(0),
            delete_mode: DeleteMode::Hard,
            key_skew: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writers {
    /// Application servers writing to the source, each with its own clock.
    #[serde(default = "Writers::default_count")]
    pub count: u32,
    /// Distribution the base clock offset of each writer is drawn from.
    #[serde(default)]
    pub offset: DurationDist,
    /// Explicit base offsets, one per writer; replaces `offset` when given.
    #[serde(default)]
    pub offsets: Option<Vec<Micros>>,
    /// Clock drift in microseconds per second of true time (ppm), the same for every writer.
    #[serde(default)]
    pub drift_ppm: f64,
    /// Per-transaction noise added to the writer's clock reading.
    #[serde(default)]
    pub jitter: DurationDist,
    /// A one-off clock correction (NTP step) of one writer.
    #[serde(default)]
    pub step: Option<ClockStep>,
}

impl Writers {
    fn default_count() -> u32 {
        1
    }
}

impl Default for Writers {
    fn default() -> Self {
        Writers {
            count: Self::default_count(),
            offset: DurationDist::default(),
            offsets: None,
            drift_ppm: 0.0,
            jitter: DurationDist::default(),
            step: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockStep {
    /// Which writer (0-based).
    pub writer: u32,
    /// True time at which the step happens.
    pub at: Micros,
    /// How far the clock jumps (negative: backwards).
    pub by: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transactions {
    /// Time from begin to commit for ordinary transactions. Negative samples count as 0.
    #[serde(default)]
    pub commit_delay: DurationDist,
    /// Fraction of transactions that are long-running and use `late_delay` instead.
    #[serde(default)]
    pub late_fraction: f64,
    #[serde(default)]
    pub late_delay: DurationDist,
}

impl Default for Transactions {
    fn default() -> Self {
        Transactions {
            commit_delay: DurationDist::default(),
            late_fraction: 0.0,
            late_delay: DurationDist::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timestamps {
    /// `updated_at` is truncated to a multiple of this.
    #[serde(default = "Timestamps::default_granularity")]
    pub granularity: Micros,
}

impl Timestamps {
    fn default_granularity() -> Micros {
        Micros(1)
    }
}

impl Default for Timestamps {
    fn default() -> Self {
        Timestamps {
            granularity: Self::default_granularity(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EventTime {
    /// Fraction of inserts whose `event_time` lies `lateness` behind their begin (orders placed
    /// offline, synced later); the others carry their begin time.
    #[serde(default)]
    pub late_fraction: f64,
    /// How far a late row's `event_time` lies behind its begin. Negative samples count as 0.
    #[serde(default)]
    pub lateness: DurationDist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Landing {
    /// Rows per landed file: the initial table and each run's inserts are cut into files of
    /// at most this many rows.
    #[serde(default = "Landing::default_rows_per_file")]
    pub rows_per_file: u64,
    /// Fraction of updated keys that land by rewriting, in place, the file that holds the key
    /// (same path, new content: every row of the file re-exported at its current version);
    /// the other updates land in new files carrying the new versions.
    #[serde(default)]
    pub rewrite_fraction: f64,
}

impl Landing {
    fn default_rows_per_file() -> u64 {
        1_000
    }
}

impl Default for Landing {
    fn default() -> Self {
        Landing {
            rows_per_file: Self::default_rows_per_file(),
            rewrite_fraction: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    Full,
    WatermarkId,
    UpdatedAt,
    Cdc,
    FileListing,
    Interval,
}

impl StrategyKind {
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Full => "full",
            StrategyKind::WatermarkId => "watermark_id",
            StrategyKind::UpdatedAt => "updated_at",
            StrategyKind::Cdc => "cdc",
            StrategyKind::FileListing => "file_listing",
            StrategyKind::Interval => "interval",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Replace the whole target with the batch (what full reprocessing does).
    Overwrite,
    /// MERGE on key: update matched keys, insert new ones, delete deleted ones.
    Upsert,
    /// Delete the batch's keys, then insert the batch's live rows.
    DeleteInsert,
    /// Insert every row of the batch as it is. Not idempotent: the baseline that shows why.
    Append,
    /// Replace whole partitions: on a mirror, every row whose `event_time` lies in the
    /// interval window the run read; on `daily_totals`, every day the batch touches.
    PartitionOverwrite,
}

impl WriteMode {
    pub fn name(self) -> &'static str {
        match self {
            WriteMode::Overwrite => "overwrite",
            WriteMode::Upsert => "upsert",
            WriteMode::DeleteInsert => "delete_insert",
            WriteMode::Append => "append",
            WriteMode::PartitionOverwrite => "partition_overwrite",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Boundary {
    /// `updated_at > watermark`: misses rows that tie with the watermark and commit later.
    #[serde(rename = ">")]
    #[default]
    Exclusive,
    /// `updated_at >= watermark`: re-reads the tie rows every run, so the write must absorb them.
    #[serde(rename = ">=")]
    Inclusive,
}

impl Boundary {
    pub fn symbol(self) -> &'static str {
        match self {
            Boundary::Exclusive => ">",
            Boundary::Inclusive => ">=",
        }
    }
}

/// What a target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TargetModel {
    /// One row per live key, at its latest version.
    #[default]
    Mirror,
    /// Sum of `value` and count of live rows per day of `event_time`.
    DailyTotals,
}

impl TargetModel {
    pub fn name(self) -> &'static str {
        match self {
            TargetModel::Mirror => "mirror",
            TargetModel::DailyTotals => "daily_totals",
        }
    }
}

/// How `file_listing` recognises a file it has already processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileIdentity {
    /// By path alone: a file rewritten in place is never read again.
    #[default]
    Name,
    /// By path, size and modification stamp: a rewritten file is a new file.
    NameSizeMtime,
}

impl FileIdentity {
    pub fn name(self) -> &'static str {
        match self {
            FileIdentity::Name => "name",
            FileIdentity::NameSizeMtime => "name_size_mtime",
        }
    }
}

/// One `[[strategy]]` entry as written. Knobs that do not apply to `kind` are rejected by
/// validation, so a typo such as `lag` on `watermark_id` never silently does nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySpec {
    pub kind: StrategyKind,
    /// Name in reports; defaults to the kind plus its knobs (`updated_at>=lag5s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Defaults to `overwrite` for `full`, `partition_overwrite` for `interval` and for
    /// `daily_totals`, and `upsert` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteMode>,
    /// `updated_at` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Boundary>,
    /// `updated_at` only: the read starts this far below the watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<Micros>,
    /// `interval` only: how many intervals before its own each run reads again (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback: Option<u32>,
    /// `file_listing` only: how a processed file is recognised (default `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_identity: Option<FileIdentity>,
    /// What the target holds (default `mirror`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<TargetModel>,
    /// Incremental strategies: every k-th run is a full reconciliation (read everything,
    /// replace the target, restart the watermark from what was read), like a weekly full refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_every: Option<u32>,
    /// Where the watermark or offset persists between runs (default `json_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_store: Option<StateStoreKind>,
    /// `json_file` only: whether the state is committed after the data (default) or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_order: Option<CommitOrder>,
    /// `cdc` only: flush the consumed offset after a write chunk once this many events were
    /// written since the last flush (default: once per run, after the whole write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_flush_every: Option<u64>,
}

impl StrategySpec {
    pub fn write_mode(&self) -> WriteMode {
        self.write.unwrap_or(match (self.kind, self.model()) {
            (StrategyKind::Full, _) => WriteMode::Overwrite,
            // Partitions are what an interval run and a day of totals own.
            (StrategyKind::Interval, _) | (_, TargetModel::DailyTotals) => {
                WriteMode::PartitionOverwrite
            }
            _ => WriteMode::Upsert,
        })
    }

    pub fn boundary(&self) -> Boundary {
        self.boundary.unwrap_or_default()
    }

    pub fn lag(&self) -> Micros {
        self.lag.unwrap_or(Micros::ZERO)
    }

    pub fn lookback(&self) -> u32 {
        self.lookback.unwrap_or(0)
    }

    pub fn file_identity(&self) -> FileIdentity {
        self.file_identity.unwrap_or_default()
    }

    pub fn model(&self) -> TargetModel {
        self.model.unwrap_or_default()
    }

    pub fn state_store(&self) -> StateStoreKind {
        self.state_store.unwrap_or_default()
    }

    pub fn commit_order(&self) -> CommitOrder {
        self.commit_order.unwrap_or_default()
    }

    /// The label reports use: the given one, or one built from the kind and its knobs.
    pub fn label(&self) -> String {
        if let Some(label) = &self.label {
            return label.clone();
        }
        let mut label = self.kind.name().to_string();
        if self.kind == StrategyKind::UpdatedAt {
            label.push_str(self.boundary().symbol());
            if self.lag() != Micros::ZERO {
                label.push_str(&format!("lag{}", self.lag()));
            }
        }
        if self.lookback() > 0 {
            label.push_str(&format!("+lookback{}", self.lookback()));
        }
        if self.file_identity() != FileIdentity::default() {
            label.push_str(&format!("+{}", self.file_identity().name()));
        }
        if self.model() != TargetModel::default() {
            label.push_str(&format!("+{}", self.model().name()));
        }
        if let Some(k) = self.reconcile_every {
            label.push_str(&format!("+reconcile{k}"));
        }
        if self.state_store() != StateStoreKind::default() {
            label.push_str(&format!("+{}", self.state_store().name()));
        }
        if self.commit_order() != CommitOrder::default() {
            label.push_str(&format!("+state_{}", self.commit_order().name()));
        }
        if let Some(k) = self.offset_flush_every {
            label.push_str(&format!("+flush{k}"));
        }
        let default_write = StrategySpec {
            write: None,
            ..self.clone()
        }
        .write_mode();
        if self.write_mode() != default_write {
            label.push('+');
            label.push_str(self.write_mode().name());
        }
        label
    }
}

/// `[sweep]`: every combination of the listed values is one sweep point.
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
}

/// A scenario read from a file, with the file name kept for error messages.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub scenario: Scenario,
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<LoadedScenario> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Scenario {
            file: path.to_path_buf(),
            key: None,
            line: None,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => "file not found".to_string(),
                _ => format!("cannot read: {e}"),
            },
        })?;
        let scenario = Self::parse(path, &text)?;
        Ok(LoadedScenario {
            path: path.to_path_buf(),
            scenario,
        })
    }

    /// Parses and validates scenario text; `path` is only used to name the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| locate::line_of_offset(text, span.start));
            let (key, message) = locate::split_toml_message(e.message());
            // The line's own `section.key` is the most precise name, except for a missing
            // field, whose span covers the table that lacks it.
            let at_span = e
                .span()
                .and_then(|span| locate::key_at_offset(text, span.start));
            let key = if message.starts_with("missing field") {
                key.or(at_span)
            } else {
                at_span.or(key)
            };
            Error::Scenario {
                file: path.to_path_buf(),
                key,
                line,
                message,
            }
        })?;
        validate::validate(&scenario).map_err(|problem| Error::Scenario {
            file: path.to_path_buf(),
            line: locate::line_of_key(text, &problem.key),
            key: Some(problem.key),
            message: problem.message,
        })?;
        Ok(scenario)
    }

    /// The scenario as TOML, for reports and reproductions.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a scenario always serializes")
    }
}
