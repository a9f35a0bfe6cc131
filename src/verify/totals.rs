//! The oracle of a `daily_totals` target: per day of `event_time`, the sum of `value` and the
//! count of live rows, computed from the source as of the run (the mirror oracle's live
//! versions). A day is the key: it can be missing, stale (wrong sum or count), ghost (a day
//! with no live rows still in the target) or duplicate (the day held more than once).

use std::collections::BTreeMap;

use super::{Divergence, DivergenceClass, Oracle, Verdict, WrongKey};
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
        let class = match (want, have) {
            (Some(_), []) => DivergenceClass::Missing,
            (_, [_, rest @ ..]) if !rest.is_empty() => {
                d.duplicate += rest.len() as u64;
                DivergenceClass::Duplicate
            }
            (None, [_]) => DivergenceClass::Ghost,
            (Some(w), [h]) if w != h => DivergenceClass::Stale,
            _ => continue,
        };
        match class {
            DivergenceClass::Missing => d.missing += 1,
            DivergenceClass::Stale => d.stale += 1,
            DivergenceClass::Ghost => d.ghost += 1,
            DivergenceClass::Duplicate => {}
        }
        wrong.push(day);
        if samples.len() < max_samples {
            samples.push(WrongKey {
                id: day,
                class,
                expected_lsn: None,
                found_lsn: None,
                reason: day_reason(day, want, have),
            });
        }
    }
    (
        Verdict {
            divergence: d,
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
