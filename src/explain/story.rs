//! The story of one key for one strategy, as data (`incrlab explain --json`) and as lines.

use serde::Serialize;

use super::{
    class_name, describe, last_watched, planned_read, s, signed_ms, versions_of, versions_read,
    Explainer, Version,
};
use crate::scenario::{CrashPoint, StrategyKind};
use crate::sim::History;
use crate::verify::{DivergenceClass, WatchedKey};

impl Explainer<'_> {
    /// The whole story of `key`, as data (`incrlab explain --json`). `result` must come from a
    /// run that watched the key (`watched` filled in).
    pub fn story(&self, history: &History, key: i64) -> Story {
        let versions = versions_of(history, key);
        let runs = self
            .result
            .per_run
            .iter()
            .map(|r| {
                let read = planned_read(self.strategy.as_ref(), r);
                StoryRun {
                    run: r.run,
                    time_us: r.time_us,
                    drain: r.drain,
                    read: describe(&read, r),
                    watermark_before: r.watermark_before,
                    watermark_after: r.watermark_after,
                    read_lsns: versions_read(&read, key, &versions, r.time_us),
                    held: r.watched.clone(),
                    crashed_at: r.crashed_at,
                    attempts: r.attempts,
                }
            })
            .collect();
        let held = last_watched(self.result);
        Story {
            key,
            label: self.result.label.clone(),
            strategy: self.result.strategy.clone(),
            write: self.result.write.clone(),
            class: held.class,
            reason: self.reason(&versions, key, &held),
            versions,
            runs,
        }
    }
}

/// The story of one key for one strategy: its versions, each run's read and what the target
/// held after it, and why it ended as it did.
#[derive(Debug, Clone, Serialize)]
pub struct Story {
    pub key: i64,
    pub label: String,
    pub strategy: String,
    pub write: String,
    pub versions: Vec<Version>,
    pub runs: Vec<StoryRun>,
    /// How the key ended (`None`: right).
    pub class: Option<DivergenceClass>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoryRun {
    pub run: u32,
    pub time_us: i64,
    pub drain: bool,
    /// The read the strategy planned, in words.
    pub read: String,
    pub watermark_before: Option<i64>,
    pub watermark_after: Option<i64>,
    /// The versions of the key that read returned.
    pub read_lsns: Vec<i64>,
    /// What the target held for the key after the run (`None` when not watched).
    pub held: Option<WatchedKey>,
    pub crashed_at: Option<CrashPoint>,
    pub attempts: u32,
}

impl Story {
    /// The story as lines of text, for the terminal. An `updated_at` watermark prints as a time,
    /// an id or lsn as a number.
    pub fn lines(&self) -> Vec<String> {
        let timestamp_watermark = self.strategy == StrategyKind::UpdatedAt.name();
        let mut lines = vec![format!(
            "key {} — strategy {} ({}, write {})",
            self.key, self.label, self.strategy, self.write
        )];
        lines.push("versions (from the history):".into());
        for v in &self.versions {
            let waited = if v.statement_us > v.begin_us {
                format!("  waited for its row lock until {}", s(v.statement_us))
            } else {
                String::new()
            };
            lines.push(format!(
                "  lsn {:>8}  {:<11}  begin {:>10}  commit {:>10}  writer {} (clock {})  updated_at {}{waited}",
                v.lsn,
                v.kind(),
                s(v.begin_us),
                s(v.commit_us),
                v.writer,
                signed_ms(v.clock_offset_us),
                s(v.updated_at_us)
            ));
        }
        lines.push("runs:".into());
        let lsns = |l: &[i64]| {
            l.iter()
                .map(|l| format!("lsn {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for r in &self.runs {
            let wm = |w: Option<i64>| match w {
                None => "—".to_string(),
                Some(w) if timestamp_watermark => s(w),
                Some(w) => w.to_string(),
            };
            let held = r.held.as_ref().map_or("?".to_string(), |h| {
                let mut text = if h.held_lsns.is_empty() {
                    "nothing".to_string()
                } else {
                    lsns(&h.held_lsns)
                };
                if let Some(class) = h.class {
                    text.push_str(&format!(" ({})", class_name(Some(class))));
                }
                text
            });
            let saw = if r.read_lsns.is_empty() {
                "not this key".to_string()
            } else {
                lsns(&r.read_lsns)
            };
            let crashed = r.crashed_at.map_or(String::new(), |point| {
                format!(
                    " — crashed at {} (attempt {} of the run)",
                    point.name(),
                    r.attempts
                )
            });
            if self.strategy == super::PIPELINE_KIND {
                // incrlab cannot see an outside pipeline's reads or state: only its target.
                lines.push(format!(
                    "  run {:>3} at {:>10}{}: {}; target holds {held}",
                    r.run,
                    s(r.time_us),
                    if r.drain { " (drain)" } else { "" },
                    r.read,
                ));
                continue;
            }
            lines.push(format!(
                "  run {:>3} at {:>10}{}: {}; watermark {} → {}; got {saw}; target holds {held}{crashed}",
                r.run,
                s(r.time_us),
                if r.drain { " (drain)" } else { "" },
                r.read,
                wm(r.watermark_before),
                wm(r.watermark_after),
            ));
        }
        lines.push(format!("why: {}", self.reason));
        lines
    }
}
