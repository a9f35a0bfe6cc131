//! The commits behind a run's timeline chart, saved as `timeline.json` beside `results.json`
//! so a report can draw *why* rows were lost without simulating again.
//!
//! Invariant: built from the history and the final wrong keys only; which commits it keeps is
//! a function of the lsn, never of timing, so the same seed gives the same file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::sim::History;

pub const TIMELINE_FILE: &str = "timeline.json";

/// Commits drawn per chart at most, lost ones aside: beyond this a lane is a solid smear.
pub const MAX_DRAWN_COMMITS: usize = 1_500;

/// Lost versions kept per strategy: every one of them is drawn, whatever the sampling.
pub const MAX_LOST_PER_STRATEGY: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub writers: u32,
    /// Transactions committed after the initial load, the initial rows excluded.
    pub total_commits: u64,
    /// One commit in every `sampled_every` is kept (by lsn), plus every lost version.
    pub sampled_every: u64,
    /// The kept commits, in lsn order.
    pub commits: Vec<TimelineCommit>,
    /// Per strategy (in the order of `results.json`), the lsns of the versions its target
    /// ended without: for each key still wrong after the drain, the key's last version.
    pub lost: Vec<LostVersions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineCommit {
    pub lsn: i64,
    pub id: i64,
    pub op: char,
    pub writer: u32,
    pub begin_us: i64,
    pub commit_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostVersions {
    pub label: String,
    /// Keys wrong after the drain; `lsns` holds at most [`MAX_LOST_PER_STRATEGY`] of them.
    pub wrong_keys: u64,
    pub lsns: Vec<i64>,
}

impl Timeline {
    /// `wrong_ids` per strategy label: the ids still wrong after the drain.
    pub fn build(history: &History, writers: u32, wrong_ids: &[(String, u64, Vec<i64>)]) -> Self {
        // The last version of every id: the one a lost key's target should hold (or, for a
        // ghost, the delete it never saw).
        let mut last_lsn = vec![0i64; history.max_id as usize + 1];
        for (&id, lsn) in history.id.iter().zip(history.lsns(0..history.len())) {
            last_lsn[id as usize] = lsn;
        }
        let lost: Vec<LostVersions> = wrong_ids
            .iter()
            .map(|(label, wrong_keys, ids)| {
                let mut lsns: Vec<i64> = ids
                    .iter()
                    .take(MAX_LOST_PER_STRATEGY)
                    .map(|&id| last_lsn[id as usize])
                    .filter(|&lsn| lsn > 0)
                    .collect();
                lsns.sort_unstable();
                LostVersions {
                    label: label.clone(),
                    wrong_keys: *wrong_keys,
                    lsns,
                }
            })
            .collect();
        let mut all_lost: Vec<i64> = lost.iter().flat_map(|l| l.lsns.iter().copied()).collect();
        all_lost.sort_unstable();
        all_lost.dedup();

        let first_change = history.commit_us.partition_point(|&c| c <= 0);
        let total_commits = (history.len() - first_change) as u64;
        let sampled_every = total_commits.div_ceil(MAX_DRAWN_COMMITS as u64).max(1);
        let commits = (first_change..history.len())
            .filter(|&i| {
                let lsn = history.lsn(i);
                (lsn as u64).is_multiple_of(sampled_every) || all_lost.binary_search(&lsn).is_ok()
            })
            .map(|i| TimelineCommit {
                lsn: history.lsn(i),
                id: history.id[i],
                op: history.op[i].as_char(),
                writer: history.writer[i],
                begin_us: history.begin_us[i],
                commit_us: history.commit_us[i],
                updated_at_us: history.updated_at_us[i],
            })
            .collect();
        Timeline {
            writers,
            total_commits,
            sampled_every,
            commits,
            lost,
        }
    }

    pub fn lost_for(&self, label: &str) -> Option<&LostVersions> {
        self.lost.iter().find(|l| l.label == label)
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec(self).expect("a timeline always serializes");
        write_atomic(&dir.join(TIMELINE_FILE), &json)
    }

    /// The timeline in `dir`, or `None` when the run wrote none.
    pub fn read(dir: &Path) -> Result<Option<Timeline>> {
        let path = dir.join(TIMELINE_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Json {
                context: "cannot parse the timeline".into(),
                path,
                source,
            })
    }
}
