//! Change-detection strategies: what to read this run, and how the persisted state advances.
//!
//! Invariant: a strategy knows nothing of any engine. It sees its persisted [`StrategyState`],
//! the run's [`RunContext`], and the engine-neutral [`ReadStats`] of its last read; it answers
//! with a [`ReadRequest`] and a new state. Which SQL (or polars plan) executes the read is the
//! engine's business.

mod cdc;
mod file_listing;
mod full;
mod interval;
mod updated_at;
mod watermark_id;
mod xmin;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use cdc::Cdc;
pub use file_listing::FileListing;
pub use full::Full;
pub use interval::Interval;
pub use updated_at::UpdatedAt;
pub use watermark_id::WatermarkId;
pub use xmin::Xmin;

use crate::engine::{ReadRequest, ReadStats};
use crate::landing::ListedFile;
use crate::scenario::{StrategyKind, StrategySpec};

/// What a strategy persists between runs. `watermark` means what the strategy says it means:
/// an id, an `updated_at` in microseconds, or a change-log lsn; `files` is what
/// `file_listing` has processed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyState {
    pub watermark: Option<i64>,
    /// Processed files by name, with the size and stamp each had when it was read. A map, not
    /// a list: a run checks each listed file in O(log n), however many have landed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileStamp>,
    /// `updated_at` with a deduplicated boundary: the `[id, lsn]` of the rows taken at the
    /// watermark, which the next run skips if they are still there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_at_watermark: Vec<[i64; 2]>,
}

/// A file's version as a listing shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size_bytes: u64,
    pub mtime_us: i64,
}

impl FileStamp {
    pub fn of(file: &ListedFile) -> Self {
        FileStamp {
            size_bytes: file.size_bytes,
            mtime_us: file.mtime_us,
        }
    }
}

/// The run a strategy is planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunContext<'a> {
    /// 1-based run number (drain runs continue the count).
    pub run: u32,
    /// True time of the run.
    pub time_us: i64,
    /// The landing directory's listing at the run (empty unless a strategy lists files).
    pub landed: &'a [ListedFile],
    /// The oldest transaction id in flight at the run, or the next one to be handed out
    /// (`History::snapshot_xmin_at`): what an `xmin` reader's snapshot says. Computed only
    /// when a strategy reads by transaction id.
    pub snapshot_xmin: Option<i64>,
}

pub trait Strategy: Send + Sync {
    fn kind(&self) -> StrategyKind;

    /// What to read, given the state persisted by the previous run.
    fn plan(&self, state: &StrategyState, run: &RunContext) -> ReadRequest;

    /// The state to persist once the batch is written.
    fn advance(&self, state: &StrategyState, read: &ReadStats, run: &RunContext) -> StrategyState;

    /// Whether [`Strategy::advance_seeing`] needs the batch's rows at its new watermark.
    fn remembers_boundary(&self) -> bool {
        false
    }

    /// [`Strategy::advance`] for a strategy that remembers its boundary: `at_max` are the
    /// `[id, lsn]` of the batch's rows whose `updated_at` is the batch's maximum.
    fn advance_seeing(
        &self,
        state: &StrategyState,
        read: &ReadStats,
        _at_max: &[[i64; 2]],
        run: &RunContext,
    ) -> StrategyState {
        self.advance(state, read, run)
    }
}

/// Builds the strategy a scenario entry describes, in a schedule of `interval_us` between
/// runs. Knobs were validated with the scenario.
pub fn from_spec(spec: &StrategySpec, interval_us: i64) -> Box<dyn Strategy> {
    match spec.kind {
        StrategyKind::Full => Box::new(Full),
        StrategyKind::WatermarkId => Box::new(WatermarkId),
        StrategyKind::UpdatedAt => Box::new(UpdatedAt {
            boundary: spec.boundary(),
            lag_us: spec.lag().0,
            dedupe: spec.boundary_dedupe(),
        }),
        StrategyKind::Cdc => Box::new(Cdc),
        StrategyKind::FileListing => Box::new(FileListing {
            identity: spec.file_identity(),
        }),
        StrategyKind::Interval => Box::new(Interval {
            size_us: interval_us,
            lookback: spec.lookback(),
        }),
        StrategyKind::Xmin => Box::new(Xmin),
    }
}

/// Moves a watermark forward to `seen`, never backwards: a batch with nothing new (or an
/// older maximum) keeps the old watermark.
fn raise(current: Option<i64>, seen: Option<i64>) -> Option<i64> {
    match (current, seen) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
