//! The story of one key: its versions, what each run read of it, what the target held after
//! each run, and the exact reason it ended wrong (or right).
//!
//! Invariant: computed from the history, the strategy's per-run records and what the oracle
//! said the target held (the runner's `watch_key`). Each run's read is the strategy's own
//! [`Strategy::plan`] from the state the run started with, never a second copy of its rule;
//! which versions of the key that read returned is the engine-neutral meaning of the
//! [`ReadSpec`]. The class of a wrong key is the oracle's, never re-derived here.

use serde::Serialize;

mod pipeline;
mod reason;
mod story;

pub use pipeline::{HeldAfterRun, PipelineExplainer, PIPELINE_KIND};
pub use story::{Story, StoryRun};

use crate::engine::ReadSpec;
use crate::results::{RunRecord, StrategyResult};
use crate::scenario::StrategySpec;
use crate::sim::{History, Op};
use crate::strategy::{from_spec, RunContext, Strategy, StrategyState};
use crate::verify::{DivergenceClass, WatchedKey};

/// One version of the key, from the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub lsn: i64,
    /// The transaction that wrote it.
    pub xid: i64,
    pub op: Op,
    pub begin_us: i64,
    pub statement_us: i64,
    pub commit_us: i64,
    pub writer: u32,
    pub clock_offset_us: i64,
    pub updated_at_us: i64,
    pub event_time_us: i64,
    pub is_deleted: bool,
}

impl Version {
    /// What the version did, as the stories name it.
    fn kind(&self) -> &'static str {
        match (self.op, self.is_deleted) {
            (Op::Delete, _) => "hard delete",
            (_, true) => "soft delete",
            (Op::Insert, _) => "insert",
            (Op::Update, _) => "update",
        }
    }

    /// Whether this version leaves the key absent from a correct target.
    fn removes(&self) -> bool {
        self.op == Op::Delete || self.is_deleted
    }

    /// `, waited on the row lock until …` when the version's statement waited for a row lock;
    /// empty otherwise.
    fn lock_wait(&self) -> String {
        if self.statement_us > self.begin_us {
            format!(", waited on the row lock until {}", s(self.statement_us))
        } else {
            String::new()
        }
    }
}

/// Every version of `key`, in lsn order.
pub fn versions_of(history: &History, key: i64) -> Vec<Version> {
    versions_of_keys(history, &[key]).pop().unwrap_or_default()
}

/// Every version of each key in `keys` (in that order), in lsn order, from one pass over the
/// history: explaining twenty sample keys must not scan a million-row history twenty times.
pub fn versions_of_keys(history: &History, keys: &[i64]) -> Vec<Vec<Version>> {
    let mut out = vec![Vec::new(); keys.len()];
    // (key, slot) sorted by key: each history row finds its slots by binary search.
    let mut slots: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
    slots.sort_unstable();
    for i in 0..history.len() {
        let id = history.id[i];
        let from = slots.partition_point(|&(k, _)| k < id);
        for &(_, slot) in slots[from..].iter().take_while(|&&(k, _)| k == id) {
            out[slot].push(Version {
                lsn: history.lsn(i),
                xid: history.xid[i],
                op: history.op[i],
                begin_us: history.begin_us[i],
                statement_us: history.statement_us[i],
                commit_us: history.commit_us[i],
                writer: history.writer[i],
                clock_offset_us: history.clock_offset_us[i],
                updated_at_us: history.updated_at_us[i],
                event_time_us: history.event_time_us[i],
                is_deleted: history.is_deleted[i],
            });
        }
    }
    out
}

/// Seconds with millisecond precision, the resolution the stories need.
fn s(us: i64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

fn signed_ms(us: i64) -> String {
    format!("{:+}ms", us / 1000)
}

/// The read a run made, as its strategy planned it from the state the run started with: a
/// reconciliation reads everything.
fn planned_read(strategy: &dyn Strategy, r: &RunRecord) -> ReadSpec {
    if r.reconciled {
        return ReadSpec::All;
    }
    let state = StrategyState {
        watermark: r.watermark_before,
        seen_at_watermark: r.seen_at_watermark_before.clone(),
        ..StrategyState::default()
    };
    let ctx = RunContext {
        run: r.run,
        time_us: r.time_us,
        landed: &[],
        snapshot_xmin: r.snapshot_xmin,
    };
    strategy.plan(&state, &ctx).spec
}

/// A read in words.
fn describe(read: &ReadSpec, r: &RunRecord) -> String {
    match read {
        ReadSpec::All => "read the whole source".into(),
        ReadSpec::IdAbove(wm) => format!("read id > {wm}"),
        &ReadSpec::UpdatedAtFrom { from_us, inclusive } => {
            let op = if inclusive { ">=" } else { ">" };
            let below = r
                .watermark_before
                .filter(|&wm| wm != from_us)
                .map_or(String::new(), |wm| format!(" (watermark {} − lag)", s(wm)));
            format!("read updated_at {op} {}{below}", s(from_us))
        }
        ReadSpec::UpdatedAtSkippingSeen { from_us, seen, .. } => format!(
            "read updated_at >= {}, skipping the {} row(s) already taken at it",
            s(*from_us),
            seen.len()
        ),
        ReadSpec::LogAfter(offset) => format!("read log entries lsn > {offset}"),
        &ReadSpec::EventTimeWindow { from_us, to_us } => {
            format!("read event_time in [{}, {})", s(from_us), s(to_us))
        }
        &ReadSpec::XidRange { from, to } => {
            format!("read rows last written by transactions {from} to {} (the oldest still in flight: {to})", to - 1)
        }
        ReadSpec::Files(_) => format!(
            "read the landed files not processed yet ({} rows)",
            r.rows_read
        ),
    }
}

/// The version of the key a read at `time_us` could see in the source: its latest committed
/// version, unless a hard delete removed the row.
fn in_source_at(versions: &[Version], time_us: i64) -> Option<&Version> {
    versions
        .iter()
        .rev()
        .find(|v| v.commit_us <= time_us)
        .filter(|v| v.op != Op::Delete)
}

/// The versions of `key` a read returned at `time_us`: what the [`ReadSpec`] means on a
/// source that holds `versions`.
fn versions_read(read: &ReadSpec, key: i64, versions: &[Version], time_us: i64) -> Vec<i64> {
    if let &ReadSpec::LogAfter(offset) = read {
        return versions
            .iter()
            .filter(|v| v.lsn > offset && v.commit_us <= time_us)
            .map(|v| v.lsn)
            .collect();
    }
    let Some(v) = in_source_at(versions, time_us) else {
        return Vec::new();
    };
    let selected = match *read {
        ReadSpec::All => true,
        ReadSpec::IdAbove(wm) => key > wm,
        ReadSpec::UpdatedAtFrom {
            from_us,
            inclusive: true,
        } => v.updated_at_us >= from_us,
        ReadSpec::UpdatedAtFrom {
            from_us,
            inclusive: false,
        } => v.updated_at_us > from_us,
        ReadSpec::UpdatedAtSkippingSeen {
            from_us,
            ref seen,
            by_row,
        } => {
            let skipped = v.updated_at_us == from_us
                && seen
                    .iter()
                    .any(|&[id, lsn]| id == key && (!by_row || lsn == v.lsn));
            v.updated_at_us >= from_us && !skipped
        }
        ReadSpec::EventTimeWindow { from_us, to_us } => (from_us..to_us).contains(&v.event_time_us),
        ReadSpec::XidRange { from, to } => (from..to).contains(&v.xid),
        // Which files held which version is the landing's business; the story does not guess.
        ReadSpec::Files(_) | ReadSpec::LogAfter(_) => false,
    };
    if selected {
        vec![v.lsn]
    } else {
        Vec::new()
    }
}

/// What a correct target holds for the key at the end: its last version, unless deleted.
fn expected(versions: &[Version]) -> Option<&Version> {
    versions.last().filter(|v| !v.removes())
}

/// What the target held for the watched key after the last run (a story's ending).
fn last_watched(result: &StrategyResult) -> WatchedKey {
    result
        .per_run
        .last()
        .and_then(|r| r.watched.clone())
        .unwrap_or_default()
}

/// The class's name as reasons start with it.
fn class_name(class: Option<DivergenceClass>) -> &'static str {
    match class {
        None => "right",
        Some(DivergenceClass::Missing) => "missing",
        Some(DivergenceClass::Stale) => "stale",
        Some(DivergenceClass::Ghost) => "ghost",
        Some(DivergenceClass::Duplicate) => "duplicate",
    }
}

/// Explains keys of one strategy's run: its spec, its results, and the strategy itself (whose
/// plan says what each run read).
pub struct Explainer<'a> {
    spec: &'a StrategySpec,
    result: &'a StrategyResult,
    strategy: Box<dyn Strategy>,
}

impl<'a> Explainer<'a> {
    /// `interval_us` is the scenario's schedule interval (interval windows depend on it).
    pub fn new(spec: &'a StrategySpec, result: &'a StrategyResult, interval_us: i64) -> Self {
        Explainer {
            spec,
            result,
            strategy: from_spec(spec, interval_us),
        }
    }

    /// The versions of `key` run `r` read.
    fn read_by_run(&self, r: &RunRecord, key: i64, versions: &[Version]) -> Vec<i64> {
        versions_read(
            &planned_read(self.strategy.as_ref(), r),
            key,
            versions,
            r.time_us,
        )
    }
}
