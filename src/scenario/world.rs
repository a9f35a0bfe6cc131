//! The simulated world of a scenario: the engine, the table, the schedule, churn, writers and
//! their clocks, transactions, timestamps, event time and the landing directory.

use serde::{Deserialize, Serialize};

use super::{Amount, CountDist, DurationDist, Micros};

/// `[engine]`: the engine a scenario runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    /// The engine that holds the targets (and, unless `source` says otherwise, the source).
    #[serde(default)]
    pub kind: EngineKind,
    /// Where the source lives: in the engine itself (`engine`, the default), or in a real
    /// PostgreSQL that the history is played into as real transactions (`postgres`).
    #[serde(default, skip_serializing_if = "SourceKind::is_engine")]
    pub source: SourceKind,
    /// An existing PostgreSQL server to use for `source = "postgres"` (in a schema of its own,
    /// dropped afterwards) instead of a throwaway cluster; `INCRLAB_POSTGRES_URL` also sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Where a scenario's source lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// In the engine that holds the targets: the simulated source.
    #[default]
    Engine,
    /// A real PostgreSQL: transactions held open across run ticks, ids from a real sequence,
    /// change data from a real logical replication slot.
    Postgres,
}

impl SourceKind {
    pub const ALL: [SourceKind; 2] = [SourceKind::Engine, SourceKind::Postgres];

    pub fn is_engine(&self) -> bool {
        *self == SourceKind::Engine
    }

    /// The source `name` spells, as `[engine] source` and `--source` spell it.
    pub fn from_name(name: &str) -> Option<SourceKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Engine => "engine",
            SourceKind::Postgres => "postgres",
        }
    }
}

/// The engines incrlab can run a scenario on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// DuckDB, embedded: source, change log and targets in one in-process database.
    #[default]
    Duckdb,
    /// polars, in memory: source, change log and targets as frames, reads as lazy plans.
    Polars,
}

impl EngineKind {
    /// Every engine, in the order reports list them.
    pub const ALL: [EngineKind; 2] = [EngineKind::Duckdb, EngineKind::Polars];

    /// The engine `name` spells, as `[engine] kind` and `--engine` spell it.
    pub fn from_name(name: &str) -> Option<EngineKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Duckdb => "duckdb",
            EngineKind::Polars => "polars",
        }
    }
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

impl Churn {
    /// Inserts, updates and deletes in an interval that starts with `live_rows` committed,
    /// live rows: the one definition of churn (fractions are of the rows live at the start of
    /// the interval). Deletes cannot exceed the live rows, and updates pick among the keys
    /// the deletes leave, so with none left there is nothing to update.
    pub fn rows_per_interval(&self, live_rows: u64) -> (u64, u64, u64) {
        let inserts = self.inserts.rows(live_rows);
        let deletes = self.deletes.rows(live_rows).min(live_rows);
        let updates = if live_rows > deletes {
            self.updates.rows(live_rows)
        } else {
            0
        };
        (inserts, updates, deletes)
    }

    /// Changes per interval as one fraction of a table of `rows` rows (a count is divided by
    /// it): how sweeps and reports state churn.
    pub fn fraction_of(&self, rows: u64) -> [f64; 3] {
        let rows = rows.max(1) as f64;
        let fraction = |a: Amount| match a {
            Amount::Count(n) => n as f64 / rows,
            Amount::Fraction(f) => f,
        };
        [
            fraction(self.inserts),
            fraction(self.updates),
            fraction(self.deletes),
        ]
    }
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
    /// Rows changed per transaction (default 1). A transaction's rows share its begin, commit,
    /// writer and `updated_at`, take consecutive lsns and become visible together.
    #[serde(default, skip_serializing_if = "CountDist::is_one")]
    pub rows: CountDist,
}

impl Default for Transactions {
    fn default() -> Self {
        Transactions {
            commit_delay: DurationDist::default(),
            late_fraction: 0.0,
            late_delay: DurationDist::default(),
            rows: CountDist::default(),
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
