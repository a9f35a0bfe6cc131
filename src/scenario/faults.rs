//! `[faults]` and the per-strategy durability knobs: where a run may crash, how the pipeline
//! restarts, where a strategy keeps its state and in which order it commits it.

use serde::{Deserialize, Serialize};

/// The instants of a run at which the process can die. Their order within a run depends on
/// the strategy's [`CommitOrder`]: with `after_write` it is the order listed here; with
/// `before_write` the state commit (and so `after_state_commit`) comes before the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    /// Before anything was read.
    BeforeRead,
    /// The batch was read (and is lost with the process); nothing was written.
    AfterRead,
    /// After k of the write's n chunks; the chunks before the crash are committed unless the
    /// state store shares the data's transaction.
    MidWrite,
    /// Every chunk of the data is written; the state (in `after_write` order) is not.
    AfterWrite,
    /// The state is committed.
    AfterStateCommit,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 5] = [
        CrashPoint::BeforeRead,
        CrashPoint::AfterRead,
        CrashPoint::MidWrite,
        CrashPoint::AfterWrite,
        CrashPoint::AfterStateCommit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::BeforeRead => "before_read",
            CrashPoint::AfterRead => "after_read",
            CrashPoint::MidWrite => "mid_write",
            CrashPoint::AfterWrite => "after_write",
            CrashPoint::AfterStateCommit => "after_state_commit",
        }
    }
}

/// When a crashed run is attempted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// The orchestrator retries at once, on the same source (up to [`MAX_ATTEMPTS`] attempts).
    Immediately,
    /// The run is lost; the next scheduled run starts from what was persisted.
    #[default]
    NextRun,
}

/// Attempts of one run with `restart = "immediately"` before the run is given up (each
/// attempt may crash again with the scenario's probability).
pub const MAX_ATTEMPTS: u32 = 10;

/// `[faults]`: crashes drawn from the fault sub-seed, and crashes listed by hand. Faults
/// strike scheduled runs only: the drain is the recovery period that shows what was lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Chance that one attempt of one strategy's run crashes (at one of `points`).
    #[serde(default)]
    pub crash_probability: f64,
    /// The points a random crash may strike, equally likely.
    #[serde(default = "Faults::default_points")]
    pub points: Vec<CrashPoint>,
    /// Crashes that happen whatever the draw: `{ run = 7, point = "mid_write" }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crashes: Vec<PlannedCrash>,
    #[serde(default)]
    pub restart: Restart,
    /// Chunks every write is split into (each its own transaction, unless the state store
    /// shares the data's transaction).
    #[serde(default = "Faults::default_write_chunks")]
    pub write_chunks: u32,
    /// Outside pipelines: a drawn crash is a SIGKILL of the pipeline's process group this long
    /// after its start (drawn from the fault sub-seed) instead of at a point it announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_after: Option<super::DurationDist>,
}

impl Faults {
    fn default_points() -> Vec<CrashPoint> {
        CrashPoint::ALL.to_vec()
    }

    fn default_write_chunks() -> u32 {
        4
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            crash_probability: 0.0,
            points: Self::default_points(),
            crashes: Vec::new(),
            restart: Restart::default(),
            write_chunks: Self::default_write_chunks(),
            kill_after: None,
        }
    }
}

/// One crash listed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedCrash {
    /// The scheduled run (1-based) whose first attempt crashes.
    pub run: u32,
    pub point: CrashPoint,
    /// The strategy label it strikes; absent: every strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// For `mid_write`: chunks committed before the crash (default: half, at least one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_chunks: Option<u32>,
}

/// Where a strategy persists its watermark or offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateStoreKind {
    /// A JSON file beside the target, replaced atomically (temp file, fsync, rename).
    #[default]
    JsonFile,
    /// A one-row table in the target database, written in the same transaction as the data.
    TargetTable,
}

impl StateStoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StateStoreKind::JsonFile => "json_file",
            StateStoreKind::TargetTable => "target_table",
        }
    }
}

/// When the state is committed relative to the data (for a state store with its own commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitOrder {
    /// Data first: a crash in between re-reads the batch (at-least-once).
    #[default]
    AfterWrite,
    /// State first, the classic bug: a crash in between loses the batch silently.
    BeforeWrite,
}

impl CommitOrder {
    pub fn name(self) -> &'static str {
        match self {
            CommitOrder::AfterWrite => "after_write",
            CommitOrder::BeforeWrite => "before_write",
        }
    }
}
