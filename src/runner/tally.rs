//! The verdicts of one lane over a run: each run's divergence, the worst, the last (permanent
//! after the drain) and how long keys stayed wrong — all from the oracle's one rule.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::TargetContents;
use crate::results::RunRecord;
use crate::sim::History;
use crate::verify::{check_totals, expected_totals, Divergence, Oracle};

#[derive(Debug, Default)]
pub(super) struct Tally {
    /// The worst divergence per class over every run.
    pub worst: Divergence,
    /// The divergence after the last run (after the drain: permanent).
    pub last: Divergence,
    /// Keys wrong after the last run (after the drain: keys lost for good).
    pub last_wrong_keys: u64,
    /// The longest any key stayed wrong, in consecutive runs.
    pub longest_divergence_runs: u32,
    /// Per key, for how many consecutive runs it has been wrong.
    wrong_for: Vec<u32>,
    /// The same per day, for a `daily_totals` target.
    wrong_days_for: BTreeMap<i64, u32>,
}

impl Tally {
    /// Checks what the target holds after a run against the oracle (advanced to the run),
    /// writes the verdict into the run's record and adds it to the tally. With `watch_key`,
    /// the record also says what the target held for that key.
    pub fn verify(
        &mut self,
        oracle: &mut Oracle,
        history: &History,
        contents: &TargetContents,
        record: &mut RunRecord,
        watch_key: Option<i64>,
    ) {
        let (verdict, oldest) = match contents {
            TargetContents::Mirror(rows) => {
                let verdict = oracle.check(history, rows, 0);
                if let Some(key) = watch_key {
                    record.watched = Some(oracle.watch(history, rows, key));
                }
                (verdict, oracle.age_wrong_keys(&mut self.wrong_for))
            }
            TargetContents::Totals(totals) => {
                let (verdict, wrong_days) =
                    check_totals(&expected_totals(oracle, history), totals, 0);
                let oldest = self.age_days(&wrong_days);
                (verdict, oldest)
            }
        };
        let divergence = verdict.divergence;
        self.last_wrong_keys = verdict.wrong_keys;
        record.divergence = divergence;
        self.worst = self.worst.max(divergence);
        self.last = divergence;
        self.longest_divergence_runs = self.longest_divergence_runs.max(oldest);
    }

    /// Ages every wrong day by one run and forgets the days that are right again; returns the
    /// age of the oldest wrong day, in runs.
    fn age_days(&mut self, wrong_days: &[i64]) -> u32 {
        let wrong: BTreeSet<i64> = wrong_days.iter().copied().collect();
        self.wrong_days_for.retain(|day, _| wrong.contains(day));
        let mut oldest = 0;
        for day in wrong {
            let age = self.wrong_days_for.entry(day).or_insert(0);
            *age += 1;
            oldest = oldest.max(*age);
        }
        oldest
    }
}
