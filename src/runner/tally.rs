//! The verdicts of one lane over a run: each run's divergence, the worst, the last (permanent
//! after the drain) and how long keys stayed wrong — all from the oracle's one rule.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{TargetContents, TargetRows, TargetTotals};
use crate::results::RunRecord;
use crate::sim::History;
use crate::verify::{check_totals, expected_totals, Divergence, Oracle};

/// What a run's target held, as the verifier saw it.
pub(super) enum Checked<'a> {
    /// A mirror, whose rows the oracle was fed since its `begin_check`; `watched` holds at
    /// least every row of the watched key.
    Mirror { watched: &'a TargetRows },
    /// A `daily_totals` target, whole.
    Totals(&'a TargetTotals),
}

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
    /// Checks whole contents (an outside pipeline's target, read back whole) against the
    /// oracle (advanced to the run): [`verify`](Self::verify) after feeding them.
    pub fn verify_contents(
        &mut self,
        oracle: &mut Oracle,
        history: &History,
        contents: &TargetContents,
        record: &mut RunRecord,
        watch_key: Option<i64>,
    ) {
        let checked = match contents {
            TargetContents::Mirror(rows) => {
                oracle.begin_check();
                oracle.feed(history, rows);
                Checked::Mirror { watched: rows }
            }
            TargetContents::Totals(totals) => Checked::Totals(totals),
        };
        self.verify(oracle, history, checked, record, watch_key);
    }

    /// Writes the verdict on what the target holds after a run into the run's record and adds
    /// it to the tally. With `watch_key`, the record also says what the target held for that
    /// key.
    pub fn verify(
        &mut self,
        oracle: &mut Oracle,
        history: &History,
        checked: Checked<'_>,
        record: &mut RunRecord,
        watch_key: Option<i64>,
    ) {
        let (verdict, oldest) = match checked {
            Checked::Mirror { watched } => {
                let verdict = oracle.verdict(history, watched, 0);
                if let Some(key) = watch_key {
                    record.watched = Some(oracle.watch(history, watched, key));
                }
                (verdict, oracle.age_wrong_keys(&mut self.wrong_for))
            }
            Checked::Totals(totals) => {
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
