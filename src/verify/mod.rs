//! The oracle: what a correct target holds after each run, and how a real target differs.
//!
//! Invariant: the verifier depends only on the source history and the target's contents. It
//! replays the history up to the run time itself (it never asks the engine's source table), so
//! a bug in how the engine applies changes shows up as divergence instead of hiding in both.

mod totals;

use serde::{Deserialize, Serialize};

pub use totals::{check_totals, expected_totals, DayTotal};

use crate::engine::TargetVersions;
use crate::sim::{History, Op};

/// How far a target is from the oracle, per class of divergence. Counts of keys, except
/// `duplicate`, which counts surplus rows (a key present three times adds 2).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivergenceClass {
    Missing,
    Stale,
    Ghost,
    Duplicate,
}

/// One wrong key, for samples and explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrongKey {
    pub id: i64,
    pub class: DivergenceClass,
    /// The version the oracle expects (`None` when the key should be absent).
    pub expected_lsn: Option<i64>,
    /// A version the target holds (`None` when absent).
    pub found_lsn: Option<i64>,
    /// Why the key ended wrong, in one line (filled in by the runner from `explain`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub divergence: Divergence,
    /// The first wrong keys by id, at most the number asked for.
    pub samples: Vec<WrongKey>,
}

/// The source as of a point in time, replayed from the history: per key, the lsn of its live
/// version (0 = not live). The mirror model's oracle is exactly this map.
#[derive(Debug, Clone, Default)]
pub struct Oracle {
    expected_lsn: Vec<i64>,
    applied: usize,
    /// Scratch of the last check: how many target rows carry each key, and the lsn of the
    /// first of them. Reused between checks to keep verification allocation-free.
    seen: Vec<u32>,
    found: Vec<i64>,
}

impl Oracle {
    pub fn new(history: &History) -> Self {
        Oracle {
            expected_lsn: vec![0; history.max_id as usize + 1],
            applied: 0,
            seen: vec![0; history.max_id as usize + 1],
            found: vec![0; history.max_id as usize + 1],
        }
    }

    /// Applies every change committed at or before `time_us` (time only moves forward).
    pub fn advance_to(&mut self, history: &History, time_us: i64) {
        let range = history.committed_between(i64::MIN, time_us);
        for i in self.applied.max(range.start)..range.end {
            let id = history.id[i] as usize;
            self.expected_lsn[id] = match history.op[i] {
                Op::Delete => 0,
                _ if history.is_deleted[i] => 0,
                _ => history.lsn[i],
            };
        }
        self.applied = self.applied.max(range.end);
    }

    /// The lsn of every live version, by key.
    pub fn live_lsns(&self) -> impl Iterator<Item = i64> + '_ {
        self.expected_lsn.iter().copied().filter(|&l| l != 0)
    }

    /// The lsn of the key's live version, if the key is live.
    pub fn expected(&self, id: i64) -> Option<i64> {
        self.expected_lsn
            .get(id as usize)
            .copied()
            .filter(|&l| l != 0)
    }

    /// Classifies every key of `target` against the oracle; keeps up to `max_samples` wrong keys.
    pub fn check(&mut self, target: &TargetVersions, max_samples: usize) -> Verdict {
        let mut d = Divergence::default();
        self.seen.fill(0);
        self.found.fill(0);
        for (&id, &lsn) in target.id.iter().zip(&target.lsn) {
            let Some(count) = usize::try_from(id)
                .ok()
                .and_then(|slot| self.seen.get_mut(slot))
            else {
                d.ghost += 1; // a key the source never had
                continue;
            };
            *count += 1;
            if *count > 1 {
                d.duplicate += 1;
                continue;
            }
            self.found[id as usize] = lsn;
            match self.expected(id) {
                None => d.ghost += 1,
                Some(expected) if expected != lsn => d.stale += 1,
                Some(_) => {}
            }
        }
        d.missing = (1..self.expected_lsn.len())
            .filter(|&id| self.expected_lsn[id] != 0 && self.seen[id] == 0)
            .count() as u64;

        let samples = if d.is_exact() {
            Vec::new()
        } else {
            self.samples(max_samples)
        };
        Verdict {
            divergence: d,
            samples,
        }
    }

    /// Up to `max_samples` wrong keys, shared fairly between the classes present (the lowest
    /// ids of each), so a few stale keys never hide the missing ones. Ordered by class, then id.
    fn samples(&self, max_samples: usize) -> Vec<WrongKey> {
        let mut by_class: [Vec<WrongKey>; 4] = Default::default();
        for id in 1..self.expected_lsn.len() {
            if let Some(wrong) = self.classify(id as i64) {
                let bucket = &mut by_class[wrong.class as usize];
                if bucket.len() < max_samples {
                    bucket.push(wrong);
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

    /// Ages every key by one run if it is wrong after the last [`check`](Self::check) and resets
    /// it otherwise; returns the age of the oldest wrong key, in runs. `ages` is the caller's,
    /// one per target, so the verifier can say how long a divergence lived.
    pub fn age_wrong_keys(&self, ages: &mut Vec<u32>) -> u32 {
        ages.resize(self.expected_lsn.len(), 0);
        let mut oldest = 0;
        let keys = self
            .expected_lsn
            .iter()
            .zip(&self.seen)
            .zip(&self.found)
            .zip(ages.iter_mut());
        for (((&expected, &seen), &found), age) in keys.skip(1) {
            let wrong =
                seen > 1 || (seen == 0 && expected != 0) || (seen == 1 && found != expected);
            if wrong {
                *age += 1;
                oldest = oldest.max(*age);
            } else {
                *age = 0;
            }
        }
        oldest
    }

    /// How one key is wrong after the last [`check`](Self::check), if it is.
    pub fn classify(&self, id: i64) -> Option<WrongKey> {
        let slot = id as usize;
        let seen = *self.seen.get(slot)?;
        let expected = self.expected(id);
        let found = (seen > 0).then(|| self.found[slot]);
        let class = match (expected, seen) {
            (Some(_), 0) => DivergenceClass::Missing,
            (_, n) if n > 1 => DivergenceClass::Duplicate,
            (None, n) if n >= 1 => DivergenceClass::Ghost,
            (Some(e), _) if found != Some(e) => DivergenceClass::Stale,
            _ => return None,
        };
        Some(WrongKey {
            reason: String::new(),
            id,
            class,
            expected_lsn: expected,
            found_lsn: found,
        })
    }
}
