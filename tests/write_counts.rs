//! Rows inserted, updated and deleted in the target, per run, as each write reports them —
//! checked against counts worked out from the history alone: which keys were live before and
//! after each run, and which keys changed in between.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use incrlab::engine::TargetChanges;
use incrlab::results::RunResults;
use incrlab::scenario::LoadedScenario;
use incrlab::sim::Op;

const MIXED: &str = "[churn]\ninserts = 0.04\nupdates = 0.05\ndeletes = 0.02\n";
const UPDATES_ONLY: &str = "[churn]\ninserts = 0.0\nupdates = 0.05\n";
const HARD_DELETES_ONLY: &str = "[churn]\ninserts = 0.0\nupdates = 0.0\ndeletes = 0.03\n";

/// A scenario of `world` with full reprocessing and `strategies` (bodies of `[[strategy]]`).
fn scenario(world: &str, strategies: &[&str]) -> LoadedScenario {
    let mut text = format!(
        "name = \"write_counts\"\nseed = 11\n[table]\nrows = 800\n[schedule]\nruns = 6\ninterval = \"1min\"\n{world}\n[[strategy]]\nkind = \"full\"\n"
    );
    for s in strategies {
        text.push_str(&format!("[[strategy]]\n{s}\n"));
    }
    common::from_toml(&text)
}

/// One run as the history sees it: the keys live before it, the keys changed since the run
/// before (with whether their last change there removed them), and the keys live after it.
struct Window {
    live_before: BTreeSet<i64>,
    changed: BTreeMap<i64, bool>,
    live_after: BTreeSet<i64>,
}

/// The windows of every scheduled run of `label`, from the history alone.
fn windows(loaded: &LoadedScenario, results: &RunResults, label: &str) -> Vec<Window> {
    let history = incrlab::sim::generate(&loaded.scenario, results.seed);
    let mut live = BTreeSet::new();
    let mut at = 0;
    let mut out = Vec::new();
    for record in common::strategy(results, label)
        .per_run
        .iter()
        .filter(|r| !r.drain)
    {
        let live_before = live.clone();
        let mut changed = BTreeMap::new();
        while at < history.len() && history.commit_us[at] <= record.time_us {
            let gone = history.op[at] == Op::Delete || history.is_deleted[at];
            changed.insert(history.id[at], gone);
            if gone {
                live.remove(&history.id[at]);
            } else {
                live.insert(history.id[at]);
            }
            at += 1;
        }
        out.push(Window {
            live_before,
            changed,
            live_after: live.clone(),
        });
    }
    out
}

/// What an exact upsert of the changed keys does: insert the new, update the live, delete the
/// removed ones that were there.
fn upsert_of(w: &Window) -> TargetChanges {
    let mut c = TargetChanges::default();
    for (id, &gone) in &w.changed {
        match (w.live_before.contains(id), gone) {
            (true, true) => c.deleted += 1,
            (true, false) => c.updated += 1,
            (false, false) => c.inserted += 1,
            (false, true) => {}
        }
    }
    c
}

/// What an exact delete+insert of the changed keys does: delete every changed key the target
/// held, insert every changed key that is live.
fn delete_insert_of(w: &Window) -> TargetChanges {
    TargetChanges {
        inserted: w
            .changed
            .keys()
            .filter(|id| w.live_after.contains(id))
            .count() as u64,
        updated: 0,
        deleted: w
            .changed
            .keys()
            .filter(|id| w.live_before.contains(id))
            .count() as u64,
    }
}

fn measured(results: &RunResults, label: &str) -> Vec<TargetChanges> {
    common::strategy(results, label)
        .per_run
        .iter()
        .filter(|r| !r.drain)
        .map(|r| r.written)
        .collect()
}

#[test]
fn full_overwrite_inserts_every_live_row_of_the_history() {
    let loaded = scenario(MIXED, &[]);
    let results = common::run(&loaded);
    let expected: Vec<TargetChanges> = windows(&loaded, &results, "full")
        .iter()
        .map(|w| TargetChanges {
            inserted: w.live_after.len() as u64,
            ..TargetChanges::default()
        })
        .collect();
    assert_eq!(measured(&results, "full"), expected);
}

#[test]
fn full_reads_every_source_row_in_its_fused_read() {
    // Hard deletes only: every source row is live, so rows read = live rows.
    let loaded = scenario(MIXED, &[]);
    let results = common::run(&loaded);
    let full = common::strategy(&results, "full");
    let live: Vec<u64> = windows(&loaded, &results, "full")
        .iter()
        .map(|w| w.live_after.len() as u64)
        .collect();
    let read: Vec<u64> = full
        .per_run
        .iter()
        .filter(|r| !r.drain)
        .map(|r| r.rows_read)
        .collect();
    assert_eq!(read, live);
}

#[test]
fn upsert_counts_are_the_keys_each_run_inserted_updated_and_deleted() {
    let loaded = scenario(MIXED, &["kind = \"cdc\""]);
    let results = common::run(&loaded);
    let expected: Vec<TargetChanges> = windows(&loaded, &results, "cdc")
        .iter()
        .map(upsert_of)
        .collect();
    assert_eq!(measured(&results, "cdc"), expected);
    assert!(expected
        .iter()
        .skip(1)
        .all(|c| c.inserted > 0 && c.updated > 0 && c.deleted > 0));
}

#[test]
fn delete_insert_deletes_the_changed_keys_it_held_and_inserts_the_live_ones() {
    let label = "cdc+delete_insert";
    let loaded = scenario(MIXED, &["kind = \"cdc\"\nwrite = \"delete_insert\""]);
    let results = common::run(&loaded);
    let expected: Vec<TargetChanges> = windows(&loaded, &results, label)
        .iter()
        .map(delete_insert_of)
        .collect();
    assert_eq!(measured(&results, label), expected);
    assert!(expected
        .iter()
        .skip(1)
        .all(|c| c.deleted > 0 && c.inserted > 0));
}

#[test]
fn upsert_of_updates_alone_updates_each_changed_key_once() {
    let loaded = scenario(UPDATES_ONLY, &["kind = \"cdc\""]);
    let results = common::run(&loaded);
    let w = windows(&loaded, &results, "cdc");
    let expected: Vec<TargetChanges> = w.iter().map(upsert_of).collect();
    assert_eq!(measured(&results, "cdc"), expected);
    // After the first run, updates only: as many as keys changed in the window.
    for (c, w) in expected.iter().zip(&w).skip(1) {
        assert_eq!(
            (c.inserted, c.updated, c.deleted),
            (0, w.changed.len() as u64, 0)
        );
    }
}

#[test]
fn hard_deletes_are_counted_as_deletes_under_upsert() {
    let loaded = scenario(HARD_DELETES_ONLY, &["kind = \"cdc\""]);
    let results = common::run(&loaded);
    let w = windows(&loaded, &results, "cdc");
    let expected: Vec<TargetChanges> = w.iter().map(upsert_of).collect();
    assert_eq!(measured(&results, "cdc"), expected);
    let deleted: u64 = expected.iter().skip(1).map(|c| c.deleted).sum();
    let first = w.first().unwrap().live_after.len();
    let last = w.last().unwrap().live_after.len();
    assert_eq!(deleted as usize, first - last);
    assert!(deleted > 0);
}

#[test]
fn daily_totals_upsert_inserts_each_day_once_then_updates_it() {
    let loaded = scenario(
        MIXED,
        &["kind = \"cdc\"\nmodel = \"daily_totals\"\nwrite = \"upsert\""],
    );
    let results = common::run(&loaded);
    let totals = &results.strategies[1];
    assert!(totals.permanent.is_exact());
    // Every row's event_time is its insert's begin, within the first day of simulated time:
    // one day, inserted by run 1 and updated by every later run that changed a row.
    let first = &totals.per_run[0];
    assert_eq!((first.written.inserted, first.written.updated), (1, 0));
    let later = totals.per_run.iter().skip(1).filter(|r| !r.drain);
    assert!(later
        .clone()
        .all(|r| r.written.updated == 1 && r.written.deleted == 0 && r.written.inserted == 0));
}
