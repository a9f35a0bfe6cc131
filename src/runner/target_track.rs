//! What an outside pipeline's target held per key, run by run. incrlab cannot see inside the
//! pipeline, so it learns what each run wrote by comparing the target with the one before
//! (exact insert/update/delete counts), and keeps, for every key whose rows changed, the
//! version held after that run — the "what the target held after each run" of a lost row's
//! reason.

use crate::engine::{TargetChanges, TargetRows};
use crate::explain::HeldAfterRun;
use crate::row::{digest, Column};

/// One key's rows changed in a run.
#[derive(Debug, Clone, Copy)]
struct Change {
    id: i64,
    run: u32,
    /// The newest version held after the run (0: none, or no version column).
    lsn: i64,
    rows: u32,
}

#[derive(Debug, Default)]
pub(super) struct TargetTrack {
    /// Per key slot: a sum of the digests of its rows (0: no row).
    digest: Vec<u64>,
    changes: Vec<Change>,
}

impl TargetTrack {
    pub fn new(max_id: i64) -> Self {
        let keys = max_id.max(0) as usize + 1;
        TargetTrack {
            digest: vec![0; keys],
            changes: Vec::new(),
        }
    }

    /// Takes in the target after `run`; returns what the run changed, by key: a key that
    /// appeared was inserted, one whose rows differ updated, one that vanished deleted.
    /// (Keys outside the history's ids are the oracle's ghosts; they are not tracked.)
    pub fn observe(&mut self, run: u32, target: &TargetRows) -> TargetChanges {
        let keys = self.digest.len();
        let mut digest_now = vec![0u64; keys];
        let mut rows_now = vec![0u32; keys];
        let mut lsn_now = vec![0i64; keys];
        let lsns = target.column(Column::Lsn);
        for row in 0..target.len() {
            let Some(slot) = usize::try_from(target.id[row])
                .ok()
                .filter(|&s| s > 0 && s < keys)
            else {
                continue;
            };
            let values =
                std::iter::once(target.id[row]).chain(target.columns.iter().map(|(_, v)| v[row]));
            // Never 0 for a held row, so 0 keeps meaning "no row".
            digest_now[slot] = digest_now[slot].wrapping_add(digest(values) | 1);
            rows_now[slot] += 1;
            if let Some(l) = lsns {
                lsn_now[slot] = lsn_now[slot].max(l[row]);
            }
        }
        let mut changes = TargetChanges::default();
        for slot in 1..keys {
            let (before, after) = (self.digest[slot], digest_now[slot]);
            if before == after {
                continue;
            }
            match (before, after) {
                (0, _) => changes.inserted += 1,
                (_, 0) => changes.deleted += 1,
                _ => changes.updated += 1,
            }
            self.changes.push(Change {
                id: slot as i64,
                run,
                lsn: lsn_now[slot],
                rows: rows_now[slot],
            });
        }
        self.digest = digest_now;
        changes
    }

    /// For each key of `ids` (in that order): what it held after every run that changed it.
    pub fn held_of(&self, ids: &[i64]) -> Vec<Vec<HeldAfterRun>> {
        let mut out = vec![Vec::new(); ids.len()];
        let mut slots: Vec<(i64, usize)> = ids.iter().copied().zip(0..).collect();
        slots.sort_unstable();
        for c in &self.changes {
            let from = slots.partition_point(|&(k, _)| k < c.id);
            for &(_, slot) in slots[from..].iter().take_while(|&&(k, _)| k == c.id) {
                out[slot].push(HeldAfterRun {
                    run: c.run,
                    lsn: (c.lsn != 0).then_some(c.lsn),
                    rows: c.rows,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// A target of `(id, lsn)` rows carrying only the version column.
    fn target(rows: &[(i64, i64)]) -> TargetRows {
        TargetRows {
            id: rows.iter().map(|r| r.0).collect(),
            columns: vec![(Column::Lsn, rows.iter().map(|r| r.1).collect())],
        }
    }

    /// Per key, the sorted rows it holds: the naive reading of a target.
    fn by_key(rows: &[(i64, i64)]) -> BTreeMap<i64, Vec<i64>> {
        let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &(id, lsn) in rows {
            out.entry(id).or_default().push(lsn);
        }
        out.values_mut().for_each(|v| v.sort_unstable());
        out
    }

    proptest! {
        #[test]
        fn write_counts_are_the_keys_that_appeared_changed_and_vanished(
            targets in prop::collection::vec(
                prop::collection::vec((1i64..20, 1i64..6), 0..25), 1..6)
        ) {
            let mut track = TargetTrack::new(20);
            let mut before = BTreeMap::new();
            for (run, rows) in targets.iter().enumerate() {
                let now = by_key(rows);
                let inserted = now.keys().filter(|k| !before.contains_key(*k)).count() as u64;
                let deleted = before.keys().filter(|k| !now.contains_key(*k)).count() as u64;
                let updated = now
                    .iter()
                    .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
                    .count() as u64;
                let changes = track.observe(run as u32 + 1, &target(rows));
                prop_assert_eq!(changes, TargetChanges { inserted, updated, deleted });
                before = now;
            }
        }
    }

    #[test]
    fn a_keys_history_is_what_it_held_after_each_run_that_changed_it() {
        let mut track = TargetTrack::new(10);
        track.observe(1, &target(&[(3, 1)]));
        track.observe(2, &target(&[(3, 1)]));
        track.observe(3, &target(&[(3, 7), (3, 9)]));
        track.observe(4, &target(&[]));
        let held = track.held_of(&[3, 5]);
        let steps: Vec<(u32, Option<i64>, u32)> =
            held[0].iter().map(|h| (h.run, h.lsn, h.rows)).collect();
        assert_eq!(steps, [(1, Some(1), 1), (3, Some(9), 2), (4, None, 0)]);
        assert!(held[1].is_empty());
    }
}
