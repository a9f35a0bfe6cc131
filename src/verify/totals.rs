//! The oracle of a `daily_totals` target: per day of `event_time`, the sum of `value` and the
//! count of live rows, computed from the source as of the run (the mirror oracle's live
//! versions). A day is the key and `(total, rows)` its row, classified by the one rule
//! ([`KeyFinding`]): missing, stale (no row with the right sum and count), ghost (a day with no
//! live rows still in the target) and duplicate (each surplus row of a day).

use std::collections::BTreeMap;

use super::{Divergence, KeyFinding, Oracle, Verdict, WrongKey};
use crate::engine::{TargetTotals, DAY_US};
use crate::sim::History;

/// A day's sum of `value` and count of live rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTotal {
    pub total: i64,
    pub rows: i64,
}

/// The totals the oracle expects, per day, from the live versions it holds.
pub fn expected_totals(oracle: &Oracle, history: &History) -> BTreeMap<i64, DayTotal> {
    let mut days: BTreeMap<i64, DayTotal> = BTreeMap::new();
    for lsn in oracle.live_lsns() {
        let row = lsn as usize - 1;
        let day = days
            .entry(history.event_time_us[row].div_euclid(DAY_US))
            .or_default();
        day.total += history.value[row];
        day.rows += 1;
    }
    days
}

/// Classifies every day of `found` against `expected`; keeps up to `max_samples` wrong days
/// (by day) and returns every wrong day too, for ageing.
pub fn check_totals(
    expected: &BTreeMap<i64, DayTotal>,
    found: &TargetTotals,
    max_samples: usize,
) -> (Verdict, Vec<i64>) {
    let mut held: BTreeMap<i64, Vec<DayTotal>> = BTreeMap::new();
    for ((&day, &total), &rows) in found.day.iter().zip(&found.total).zip(&found.rows) {
        held.entry(day).or_default().push(DayTotal { total, rows });
    }
    let mut d = Divergence::default();
    let mut wrong = Vec::new();
    let mut samples = Vec::new();
    let days: std::collections::BTreeSet<i64> =
        expected.keys().chain(held.keys()).copied().collect();
    for day in days {
        let want = expected.get(&day);
        let have = held.get(&day).map(Vec::as_slice).unwrap_or(&[]);
        // The one rule: a day is a key, its (total, rows) the row to match.
        let finding = KeyFinding {
            expected: want.is_some(),
            held: have.len() as u32,
            exact: want.is_some_and(|w| have.contains(w)),
        };
        finding.count_into(&mut d);
        let Some(class) = finding.class() else {
            continue;
        };
        wrong.push(day);
        if samples.len() < max_samples {
            samples.push(WrongKey {
                id: day,
                class,
                expected_lsn: None,
                found_lsn: None,
                held_lsns: Vec::new(),
                wrong_columns: Vec::new(),
                reason: day_reason(day, want, have),
            });
        }
    }
    (
        Verdict {
            divergence: d,
            wrong_keys: wrong.len() as u64,
            samples,
        },
        wrong,
    )
}

fn day_reason(day: i64, want: Option<&DayTotal>, have: &[DayTotal]) -> String {
    let expected = match want {
        Some(w) => format!("{} over {} rows", w.total, w.rows),
        None => "no live rows".to_string(),
    };
    let held = match have {
        [] => "nothing".to_string(),
        rows => rows
            .iter()
            .map(|h| format!("{} over {} rows", h.total, h.rows))
            .collect::<Vec<_>>()
            .join(" and "),
    };
    format!("day {day}: the source has {expected}, the target holds {held}")
}
