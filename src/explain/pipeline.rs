//! Why a key ended wrong in an outside pipeline's target, told without any knowledge of the
//! pipeline's code: which version is missing, when it committed, which run first could see
//! it, what the target held after each run, and whether a kill struck in between.

use serde::Serialize;

use super::{
    class_name, expected, last_watched, s, signed_ms, versions_of, Story, StoryRun, Version,
};
use crate::results::{AttemptEnding, StrategyResult};
use crate::sim::History;
use crate::verify::{DivergenceClass, WatchedKey};

/// The kind of lane a pipeline's results name as their `strategy`.
pub const PIPELINE_KIND: &str = "pipeline";

/// What a key held after a run in which its rows changed (the runner tracks it per key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeldAfterRun {
    pub run: u32,
    /// The newest version held (`None`: no row, or the target keeps no version column).
    pub lsn: Option<i64>,
    pub rows: u32,
}

/// Explains keys of one pipeline's run from its results.
pub struct PipelineExplainer<'a> {
    pub result: &'a StrategyResult,
}

impl PipelineExplainer<'_> {
    /// One line saying why `key` ended as it did. `held` is what the oracle found after the last
    /// run; `history_of_key` what the key held after each run that changed it.
    pub fn reason(
        &self,
        versions: &[Version],
        key: i64,
        held: &WatchedKey,
        history_of_key: &[HeldAfterRun],
    ) -> String {
        let class = class_name(held.class);
        let Some(last) = versions.last() else {
            return format!(
                "{class}: key {key} never existed in the history; the pipeline wrote it"
            );
        };
        let held_text = held_story(history_of_key);
        let first_run = self
            .result
            .per_run
            .iter()
            .find(|r| r.time_us >= last.commit_us);
        let visible = match first_run {
            Some(r) => format!("first visible to run {} at {}", r.run, s(r.time_us)),
            None => "committed after the last run".to_string(),
        };
        let from_run = first_run.map_or(u32::MAX, |r| r.run);
        let passed = self.passed_by(last, key);
        let kills = self.kills_from(from_run);
        let failures: Vec<String> = self
            .result
            .per_run
            .iter()
            .filter(|r| r.run >= from_run && r.failure.is_some())
            .map(|r| r.run.to_string())
            .collect();
        let after = match (kills.is_empty(), failures.is_empty()) {
            (true, true) => "no kill or failure struck from then on".to_string(),
            (false, _) => format!("kills from then on: {}", kills.join("; ")),
            (true, false) => format!("failed runs from then on: {}", failures.join(", ")),
        };
        match held.class {
            None => format!("right: {held_text}"),
            Some(DivergenceClass::Ghost) => format!(
                "ghost: the {} lsn {} (committed at {}) removed the key, {visible}; {held_text}; {after}",
                last.kind(),
                last.lsn,
                s(last.commit_us)
            ),
            Some(DivergenceClass::Duplicate) => format!(
                "duplicate: the target holds {} rows for the key ({}); {held_text}; {after}",
                held.held_lsns.len(),
                lsns(&held.held_lsns)
            ),
            Some(DivergenceClass::Stale) if !held.wrong_columns.is_empty() => format!(
                "stale: the target holds lsn {}, the right version, but its {} differ from the source's; {after}",
                last.lsn,
                held.wrong_columns.join(", ")
            ),
            Some(_) => {
                let wanted = expected(versions).unwrap_or(last);
                // A held version stamped the same as the one it lacks: the mark of a cursor
                // that skips keys it has already seen at its last value.
                let tie = held
                    .held_lsns
                    .last()
                    .and_then(|&l| versions.iter().find(|v| v.lsn == l))
                    .filter(|v| v.updated_at_us == wanted.updated_at_us)
                    .map_or(String::new(), |v| {
                        format!(
                            "; the lsn {} it holds is stamped the same {}: a cursor that skips the keys it has seen at its last value drops a later version that ties",
                            v.lsn,
                            s(v.updated_at_us)
                        )
                    });
                let waited = wanted.lock_wait();
                format!(
                    "{class}: the {} lsn {} (stamped updated_at {} by writer {} (clock {}), began at {}{waited}, committed at {}) was {visible}{passed}; {held_text}{tie}; {after}",
                    wanted.kind(),
                    wanted.lsn,
                    s(wanted.updated_at_us),
                    wanted.writer,
                    signed_ms(wanted.clock_offset_us),
                    s(wanted.begin_us),
                    s(wanted.commit_us),
                )
            }
        }
    }

    /// Where the target already stood when `version` committed, if it stood past it: the ids
    /// and stamps held after the last run before the commit. A cursor on id or `updated_at`
    /// that had reached them never reads the version.
    fn passed_by(&self, version: &Version, key: i64) -> String {
        let Some(p) = &self.result.pipeline else {
            return String::new();
        };
        let before = self
            .result
            .per_run
            .iter()
            .rev()
            .find(|r| r.time_us < version.commit_us);
        let Some(m) = before.and_then(|r| p.target_maxima.iter().find(|m| m.run == r.run)) else {
            return String::new();
        };
        let mut above = Vec::new();
        if version.op == crate::sim::Op::Insert {
            if let Some(id) = m.max_id.filter(|&id| id > key) {
                above.push(format!("ids up to {id}"));
            }
        }
        if let Some(t) = m.max_updated_at_us.filter(|&t| t > version.updated_at_us) {
            above.push(format!("updated_at up to {}", s(t)));
        }
        match above.is_empty() {
            true => String::new(),
            false => format!(
                ", when the target already held {} (after run {}) — past this row's",
                above.join(" and "),
                m.run
            ),
        }
    }

    /// The kills of runs from `run` on, in words.
    fn kills_from(&self, run: u32) -> Vec<String> {
        let Some(p) = &self.result.pipeline else {
            return Vec::new();
        };
        p.attempts
            .iter()
            .filter(|a| a.run >= run)
            .filter_map(|a| match &a.ending {
                AttemptEnding::Killed { point: Some(point) } => Some(format!(
                    "run {} attempt {} killed at {}",
                    a.run,
                    a.attempt,
                    point.name()
                )),
                AttemptEnding::Killed { point: None } => Some(format!(
                    "run {} attempt {} killed {} after its start",
                    a.run,
                    a.attempt,
                    s(a.planned_kill_after_us.unwrap_or(0))
                )),
                AttemptEnding::TimedOut => Some(format!(
                    "run {} attempt {} killed at its timeout",
                    a.run, a.attempt
                )),
                _ => None,
            })
            .collect()
    }

    /// The whole story of `key`, from a run that watched it (`watched` filled in per run).
    pub fn story(&self, history: &History, key: i64) -> Story {
        let versions = versions_of(history, key);
        let attempts = self.result.pipeline.as_ref().map(|p| p.attempts.as_slice());
        let runs: Vec<StoryRun> = self
            .result
            .per_run
            .iter()
            .map(|r| {
                let of_run: Vec<String> = attempts
                    .unwrap_or_default()
                    .iter()
                    .filter(|a| a.run == r.run)
                    .map(|a| format!("attempt {} {}", a.attempt, a.ending.describe()))
                    .collect();
                StoryRun {
                    run: r.run,
                    time_us: r.time_us,
                    drain: r.drain,
                    read: format!("ran the pipeline ({})", of_run.join(", ")),
                    watermark_before: None,
                    watermark_after: None,
                    read_lsns: Vec::new(),
                    held: r.watched.clone(),
                    crashed_at: r.crashed_at,
                    attempts: r.attempts,
                }
            })
            .collect();
        // What the key held after each run that changed it, from the watched records; before
        // the first run the target held nothing (as the runner's own tracking counts it).
        let mut history_of_key = Vec::new();
        let mut previous: &[i64] = &[];
        for r in &self.result.per_run {
            let Some(w) = &r.watched else { continue };
            if previous != w.held_lsns.as_slice() {
                history_of_key.push(HeldAfterRun {
                    run: r.run,
                    lsn: w.held_lsns.last().copied(),
                    rows: w.held_lsns.len() as u32,
                });
            }
            previous = &w.held_lsns;
        }
        let held = last_watched(self.result);
        Story {
            key,
            label: self.result.label.clone(),
            strategy: self.result.strategy.clone(),
            write: self.result.write.clone(),
            class: held.class,
            reason: self.reason(&versions, key, &held, &history_of_key),
            versions,
            runs,
        }
    }
}

fn lsns(l: &[i64]) -> String {
    l.iter()
        .map(|l| format!("lsn {l}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Changes of a key's rows a reason names (the latest ones); `explain` shows them all.
const HELD_STEPS: usize = 3;

/// What the key held after each run that changed it, in words: the last few changes.
fn held_story(history: &[HeldAfterRun]) -> String {
    if history.is_empty() {
        return "the target never held the key".to_string();
    }
    let earlier = history.len().saturating_sub(HELD_STEPS);
    let steps: Vec<String> = history[earlier..]
        .iter()
        .map(|h| {
            let what = match (h.rows, h.lsn) {
                (0, _) => "nothing".to_string(),
                (1, Some(l)) => format!("lsn {l}"),
                (n, Some(l)) => format!("{n} rows (newest lsn {l})"),
                (n, None) => format!("{n} row(s)"),
            };
            format!("{what} after run {}", h.run)
        })
        .collect();
    let before = match earlier {
        0 => String::new(),
        n => format!(" ({n} earlier change(s) before)"),
    };
    format!("the target held {}{before}", steps.join(", then "))
}
