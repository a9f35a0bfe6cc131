//! The oracle: what a correct target holds after each run, and how a real target differs.
//!
//! Invariant: the verifier depends only on the source history and the target's contents. It
//! replays the history up to the run time itself (it never asks the engine's source table), so
//! a bug in how the engine applies changes shows up as divergence instead of hiding in both.
//!
//! Whole rows: a target row is right only when it equals the source's version on every column
//! the target carries (key, version, `updated_at`, writer, `value`, `event_time`); a row with
//! the right version and a wrong value is stale. Every key is classified by one rule
//! ([`KeyFinding`]), whatever the order the rows came back in, and counts, samples, ages and
//! the `daily_totals` check all use it.

mod classify;
mod saved_check;
#[cfg(test)]
mod tests;
mod totals;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use classify::{DivergenceClass, KeyFinding};
pub use saved_check::SavedCheck;
pub use totals::{check_totals, expected_totals, DayTotal};

use crate::engine::{hash_of_row, KeyHashes, MirrorPrint, TargetRows};
use crate::row::{row_hash, Column, MIRROR_ROW};
use crate::sim::{History, Op};

/// How far a target is from the oracle, per class of divergence. Counts of keys, except
/// `duplicate`, which counts surplus rows (a key present three times adds 2). See
/// [`KeyFinding`] for the rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    /// Live in the source, absent from the target.
    pub missing: u64,
    /// Present in both, but the target holds an older version.
    pub stale: u64,
    /// Deleted in the source (or never there), present in the target.
    pub ghost: u64,
    /// Surplus rows for keys the target holds more than once.
    pub duplicate: u64,
}

impl Divergence {
    pub fn total(&self) -> u64 {
        self.missing + self.stale + self.ghost + self.duplicate
    }

    pub fn is_exact(&self) -> bool {
        self.total() == 0
    }

    /// Per-class sum of two divergences (over seeds or points of a sweep).
    pub fn plus(self, other: Divergence) -> Divergence {
        Divergence {
            missing: self.missing + other.missing,
            stale: self.stale + other.stale,
            ghost: self.ghost + other.ghost,
            duplicate: self.duplicate + other.duplicate,
        }
    }

    /// Per-class maximum of two divergences.
    pub fn max(self, other: Divergence) -> Divergence {
        Divergence {
            missing: self.missing.max(other.missing),
            stale: self.stale.max(other.stale),
            ghost: self.ghost.max(other.ghost),
            duplicate: self.duplicate.max(other.duplicate),
        }
    }
}

/// One wrong key, for samples and explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrongKey {
    pub id: i64,
    pub class: DivergenceClass,
    /// The version the oracle expects (`None` when the key should be absent).
    pub expected_lsn: Option<i64>,
    /// The newest version the target holds (`None` when absent, or when the target keeps no
    /// version column).
    pub found_lsn: Option<i64>,
    /// Every version the target holds for the key, ascending (one entry per row).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_lsns: Vec<i64>,
    /// For a row that carries the expected version but is still wrong: the columns whose
    /// values differ from the source's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrong_columns: Vec<String>,
    /// Why the key ended wrong, in one line (filled in by the runner from `explain`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// What a target held for one watched key after a run (`incrlab explain`), as the oracle
/// classified it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedKey {
    /// `None` when the key is right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<DivergenceClass>,
    /// Every version the target holds for the key, ascending (one entry per row).
    pub held_lsns: Vec<i64>,
    /// Columns of the row carrying the expected version whose values differ from the source's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrong_columns: Vec<String>,
}

impl From<&WrongKey> for WatchedKey {
    /// What a sample wrong key says the target held, as a watch would have seen it.
    fn from(k: &WrongKey) -> Self {
        WatchedKey {
            class: Some(k.class),
            held_lsns: k.held_lsns.clone(),
            wrong_columns: k.wrong_columns.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub divergence: Divergence,
    /// Keys wrong in any way (a duplicated key counts once, however many surplus rows).
    pub wrong_keys: u64,
    /// The first wrong keys by id, at most the number asked for.
    pub samples: Vec<WrongKey>,
}

/// The source as of a point in time, replayed from the history: per key, the lsn of its live
/// version (0 = not live), whose full row is history row `lsn − 1`.
#[derive(Debug, Clone, Default)]
pub struct Oracle {
    /// An lsn fits in 32 bits: a history of four billion versions could not be held anyway
    /// (`Oracle::new` checks), and 4 bytes a key are 400 MB at 100M keys.
    expected_lsn: Vec<u32>,
    /// Per key, the [`row_hash`] of its live version's mirror row, kept beside the lsn so a
    /// check reads per-key arrays in the order target rows come back instead of jumping around
    /// the history for every row.
    expected_hash: Vec<u64>,
    /// The print of a right mirror target: every live key's row once. Kept up to date as the
    /// history is replayed, so a target whose own print matches it is right without a row of
    /// it read back ([`accept_matching_print`](Self::accept_matching_print)).
    expected_print: MirrorPrint,
    applied: usize,
    /// Scratch of the last check, per key: how many target rows carry it, and whether one of
    /// them is exactly the expected row. Reused between checks to keep verification
    /// allocation-free.
    held: Vec<u32>,
    exact: Vec<bool>,
    /// Whether the last check was settled by a matching print: every live key held once,
    /// exactly, and nothing else (`held` and `exact` are then left as they were: O(1) a check).
    matched: bool,
    /// Keys the target holds that the history never had, with their row counts.
    foreign: BTreeMap<i64, u32>,
}

impl Oracle {
    pub fn new(history: &History) -> Self {
        let keys = history.max_id as usize + 1;
        assert!(
            history.len() < u32::MAX as usize,
            "a history of {} versions: lsns past 32 bits",
            history.len()
        );
        Oracle {
            expected_lsn: vec![0; keys],
            expected_hash: vec![0; keys],
            expected_print: MirrorPrint::default(),
            applied: 0,
            held: vec![0; keys],
            exact: vec![false; keys],
            matched: false,
            foreign: BTreeMap::new(),
        }
    }

    /// Applies every change committed at or before `time_us` (time only moves forward).
    pub fn advance_to(&mut self, history: &History, time_us: i64) {
        let range = history.committed_between(i64::MIN, time_us);
        for i in self.applied.max(range.start)..range.end {
            let id = history.id[i] as usize;
            if self.expected_lsn[id] != 0 {
                self.expected_print.remove_row(self.expected_hash[id]);
            }
            self.expected_lsn[id] = match history.op[i] {
                Op::Delete => 0,
                _ if history.is_deleted[i] => 0,
                _ => history.lsn(i) as u32,
            };
            let hash = row_hash(
                MIRROR_ROW
                    .iter()
                    .map(|c| (c.column_type(), c.of(history, i))),
            );
            self.expected_hash[id] = hash;
            if self.expected_lsn[id] != 0 {
                self.expected_print.add_row(hash);
            }
        }
        self.applied = self.applied.max(range.end);
    }

    /// The print a right mirror target has now: every live key's row, once.
    pub fn expected_print(&self) -> MirrorPrint {
        self.expected_print
    }

    /// Starts a check of a mirror target whose print is `print`. When it equals the
    /// [`expected_print`](Self::expected_print) the target holds every live key's row once and
    /// nothing else (barring a collision of 64-bit sums, about 2⁻⁶⁴), so the check is complete
    /// as if every row had been fed and `true` is returned; otherwise it is begun as
    /// [`begin_check`](Self::begin_check) does and the rows must be [`feed`](Self::feed)-ed.
    pub fn accept_matching_print(&mut self, print: MirrorPrint) -> bool {
        if print != self.expected_print {
            self.begin_check();
            return false;
        }
        self.foreign.clear();
        self.matched = true;
        true
    }

    /// The lsn of every live version, by key.
    pub fn live_lsns(&self) -> impl Iterator<Item = i64> + '_ {
        self.expected_lsn
            .iter()
            .filter(|&&l| l != 0)
            .map(|&l| i64::from(l))
    }

    /// The lsn of the key's live version, if the key is live.
    pub fn expected(&self, id: i64) -> Option<i64> {
        usize::try_from(id)
            .ok()
            .and_then(|slot| self.expected_lsn.get(slot))
            .filter(|&&l| l != 0)
            .map(|&l| i64::from(l))
    }

    /// Whether target row `row` equals the expected version `lsn` on every column it carries.
    fn row_is_exact(history: &History, target: &TargetRows, row: usize, lsn: i64) -> bool {
        let at = lsn as usize - 1;
        target
            .columns
            .iter()
            .all(|(column, values)| values[row] == column.of(history, at))
    }

    /// Classifies every key of `target` against the oracle; keeps up to `max_samples` wrong
    /// keys. For a target held whole; a large one is checked batch by batch with
    /// [`begin_check`](Self::begin_check), [`feed`](Self::feed) and [`verdict`](Self::verdict).
    pub fn check(&mut self, history: &History, target: &TargetRows, max_samples: usize) -> Verdict {
        self.begin_check();
        self.feed(history, target);
        self.verdict(history, target, max_samples)
    }

    /// Starts a check: forgets what the last one saw.
    pub fn begin_check(&mut self) {
        self.matched = false;
        self.held.fill(0);
        self.exact.fill(false);
        self.foreign.clear();
    }

    /// Notes what one batch of the target's rows holds. Batches may come in any order and cut
    /// anywhere, even between two rows of one key: a key's finding depends only on how many
    /// rows carry it and whether one of them is exact.
    pub fn feed(&mut self, history: &History, target: &TargetRows) {
        debug_assert!(!self.matched, "a check settled by its print is fed no rows");
        // A mirror with every column (the built-in targets) is compared through the per-key
        // lsn and row hash; a target with other columns (an outside pipeline's) column by column
        // against the history.
        let carried: Vec<Column> = target.columns.iter().map(|(c, _)| *c).collect();
        let full_mirror = carried == MIRROR_ROW[1..];
        let lsns: &[i64] = if full_mirror {
            &target.columns[0].1
        } else {
            &[]
        };
        for (row, &id) in target.id.iter().enumerate() {
            let Some(slot) = self.count_held(id) else {
                continue;
            };
            let expected = i64::from(self.expected_lsn[slot]);
            if expected != 0 && !self.exact[slot] {
                self.exact[slot] = if full_mirror {
                    lsns[row] == expected && hash_of_row(target, row) == self.expected_hash[slot]
                } else {
                    Self::row_is_exact(history, target, row, expected)
                };
            }
        }
    }

    /// [`feed`](Self::feed) for a target that carries every mirror column, given as each row's
    /// key and row hash: a row is the expected one when its hash is the expected row's.
    pub fn feed_key_hashes(&mut self, batch: &KeyHashes) {
        debug_assert!(!self.matched, "a check settled by its print is fed no rows");
        for (&id, &hash) in batch.id.iter().zip(&batch.hash) {
            let Some(slot) = self.count_held(id) else {
                continue;
            };
            if self.expected_lsn[slot] != 0 && hash == self.expected_hash[slot] {
                self.exact[slot] = true;
            }
        }
    }

    /// The slot of key `id` (1..=max id), or `None` for a key the history never had.
    fn slot(&self, id: i64) -> Option<usize> {
        usize::try_from(id)
            .ok()
            .filter(|&s| s > 0 && s < self.held.len())
    }

    /// Counts one target row of key `id`; returns the key's slot, or `None` for a key the
    /// history never had (counted among the foreign keys).
    fn count_held(&mut self, id: i64) -> Option<usize> {
        let slot = self.slot(id);
        match slot {
            Some(slot) => self.held[slot] += 1,
            None => *self.foreign.entry(id).or_default() += 1,
        }
        slot
    }

    /// The verdict on everything fed since [`begin_check`](Self::begin_check), with up to
    /// `max_samples` wrong keys described from `rows`: the target's rows, or any part of them
    /// that holds every row of the sampled keys ([`sample_ids`](Self::sample_ids) names them).
    pub fn verdict(&self, history: &History, rows: &TargetRows, max_samples: usize) -> Verdict {
        if self.matched {
            return Verdict::default();
        }
        let mut d = Divergence::default();
        let mut wrong_keys = 0;
        for id in 1..self.held.len() {
            let finding = self.finding(id);
            finding.count_into(&mut d);
            wrong_keys += finding.is_wrong() as u64;
        }
        for &held in self.foreign.values() {
            KeyFinding {
                expected: false,
                held,
                exact: false,
            }
            .count_into(&mut d);
            wrong_keys += 1;
        }
        let samples = if d.is_exact() || max_samples == 0 {
            Vec::new()
        } else {
            self.samples(history, rows, max_samples)
        };
        Verdict {
            divergence: d,
            wrong_keys,
            samples,
        }
    }

    /// Every key the last [`check`](Self::check) found wrong, with its class, by id: what a
    /// pipeline and its model are compared on.
    pub fn wrong_keys(&self) -> Vec<(i64, DivergenceClass)> {
        let below = self.foreign.keys().copied().filter(|&id| id < 1);
        let above = self.foreign.keys().copied().filter(|&id| id >= 1);
        below
            .chain(1..self.held.len() as i64)
            .chain(above)
            .filter_map(|id| self.finding_for(id).class().map(|c| (id, c)))
            .collect()
    }

    /// What the last [`check`](Self::check) found for key slot `id` (1..=max id).
    fn finding(&self, id: usize) -> KeyFinding {
        if self.matched {
            let expected = self.expected_lsn[id] != 0;
            return KeyFinding {
                expected,
                held: u32::from(expected),
                exact: expected,
            };
        }
        KeyFinding {
            expected: self.expected_lsn[id] != 0,
            held: self.held[id],
            exact: self.exact[id],
        }
    }

    /// What the last [`check`](Self::check) found for `id`, whatever the id.
    pub fn finding_for(&self, id: i64) -> KeyFinding {
        match self.slot(id) {
            Some(slot) => self.finding(slot),
            None => KeyFinding {
                expected: false,
                held: self.foreign.get(&id).copied().unwrap_or(0),
                exact: false,
            },
        }
    }

    /// Up to `max_samples` wrong keys, shared fairly between the classes present (the lowest
    /// ids of each), so a few stale keys never hide the missing ones. Ordered by class, then id.
    fn samples(&self, history: &History, target: &TargetRows, max_samples: usize) -> Vec<WrongKey> {
        let chosen = self.sample_ids(max_samples);
        // One pass over the target collects what it holds for the chosen keys.
        let mut rows_of: BTreeMap<i64, Vec<usize>> =
            chosen.iter().map(|&id| (id, Vec::new())).collect();
        for (row, id) in target.id.iter().enumerate() {
            if let Some(rows) = rows_of.get_mut(id) {
                rows.push(row);
            }
        }
        chosen
            .into_iter()
            .map(|id| self.wrong_key(history, target, id, &rows_of[&id]))
            .collect()
    }

    /// The keys [`verdict`](Self::verdict) describes when asked for `max_samples`, in its order.
    pub fn sample_ids(&self, max_samples: usize) -> Vec<i64> {
        let mut by_class: [Vec<i64>; 4] = Default::default();
        let wrong_ids = self
            .foreign
            .keys()
            .copied()
            .filter(|&id| id < 1)
            .chain(1..self.held.len() as i64)
            .chain(self.foreign.keys().copied().filter(|&id| id >= 1));
        for id in wrong_ids {
            if let Some(class) = self.finding_for(id).class() {
                let bucket = &mut by_class[class as usize];
                if bucket.len() < max_samples {
                    bucket.push(id);
                }
            }
        }
        let mut taken = [0usize; 4];
        let mut total = 0;
        while total < max_samples {
            let before = total;
            for (class, bucket) in by_class.iter().enumerate() {
                if total < max_samples && taken[class] < bucket.len() {
                    taken[class] += 1;
                    total += 1;
                }
            }
            if total == before {
                break;
            }
        }
        by_class
            .into_iter()
            .zip(taken)
            .flat_map(|(bucket, n)| bucket.into_iter().take(n))
            .collect()
    }

    /// What the target (the one the last check saw) holds for `id`, classified. `target` may be
    /// any part of the target that holds every row of `id`.
    pub fn watch(&self, history: &History, target: &TargetRows, id: i64) -> WatchedKey {
        let rows: Vec<usize> = (0..target.len()).filter(|&r| target.id[r] == id).collect();
        let (held_lsns, wrong_columns) = self.held_versions(history, target, id, &rows);
        WatchedKey {
            class: self.finding_for(id).class(),
            held_lsns,
            wrong_columns,
        }
    }

    /// The versions `rows` hold (ascending), and the columns in which a row carrying the
    /// expected version differs from the source's.
    fn held_versions(
        &self,
        history: &History,
        target: &TargetRows,
        id: i64,
        rows: &[usize],
    ) -> (Vec<i64>, Vec<String>) {
        let expected = self.expected(id);
        let lsns = target.column(Column::Lsn);
        let mut held_lsns: Vec<i64> = lsns
            .map(|l| rows.iter().map(|&r| l[r]).collect())
            .unwrap_or_default();
        held_lsns.sort_unstable();
        let mut wrong_columns = Vec::new();
        if let (Some(e), Some(l)) = (expected, lsns) {
            for &r in rows.iter().filter(|&&r| l[r] == e) {
                for (column, values) in &target.columns {
                    let name = column.name().to_string();
                    if values[r] != column.of(history, e as usize - 1)
                        && !wrong_columns.contains(&name)
                    {
                        wrong_columns.push(name);
                    }
                }
            }
        }
        (held_lsns, wrong_columns)
    }

    /// The sample entry for a wrong key whose target rows are `rows`.
    fn wrong_key(
        &self,
        history: &History,
        target: &TargetRows,
        id: i64,
        rows: &[usize],
    ) -> WrongKey {
        let expected = self.expected(id);
        let (held_lsns, wrong_columns) = self.held_versions(history, target, id, rows);
        WrongKey {
            id,
            class: self
                .finding_for(id)
                .class()
                .expect("only wrong keys are sampled"),
            expected_lsn: expected,
            found_lsn: held_lsns.last().copied(),
            held_lsns,
            wrong_columns,
            reason: String::new(),
        }
    }

    /// Ages every key by one run if it is wrong after the last [`check`](Self::check) and resets
    /// it otherwise; returns the age of the oldest wrong key, in runs. `ages` is the caller's,
    /// one per target, so the verifier can say how long a divergence lived. (Keys the history
    /// never had are not aged: they have no slot.) While no key is wrong, every age is zero and
    /// `ages` is kept empty: an exact target costs no memory per key.
    pub fn age_wrong_keys(&self, ages: &mut Vec<u32>) -> u32 {
        if self.matched {
            *ages = Vec::new();
            return 0;
        }
        let mut oldest = 0;
        for id in 1..self.expected_lsn.len() {
            let wrong = self.finding(id).is_wrong();
            if ages.is_empty() {
                if !wrong {
                    continue;
                }
                ages.resize(self.expected_lsn.len(), 0);
            }
            let age = &mut ages[id];
            if wrong {
                *age += 1;
                oldest = oldest.max(*age);
            } else {
                *age = 0;
            }
        }
        if oldest == 0 {
            *ages = Vec::new();
        }
        oldest
    }
}
