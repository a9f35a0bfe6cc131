//! Rows inserted, updated and deleted in the target, per run, as each write reports them.
//!
//! The reference for how many rows the target should hold after a run is full reprocessing's
//! own count: its overwrite inserts every live row, so an exact incremental target changes by
//! as many rows as full's target does from one run to the next.

mod common;

use incrlab::engine::TargetChanges;
use incrlab::results::{RunResults, StrategyResult};
use incrlab::sim::Op;

const MIXED: &str = "[churn]\ninserts = 0.04\nupdates = 0.05\ndeletes = 0.02\n";
const UPDATES_ONLY: &str = "[churn]\ninserts = 0.0\nupdates = 0.05\n";
const HARD_DELETES_ONLY: &str = "[churn]\ninserts = 0.0\nupdates = 0.0\ndeletes = 0.03\n";

/// Runs full reprocessing and `strategies` (bodies of `[[strategy]]` tables) in `world`.
fn run(world: &str, strategies: &[&str]) -> RunResults {
    let mut text = format!(
        "name = \"write_counts\"\nseed = 11\n[table]\nrows = 800\n[schedule]\nruns = 6\ninterval = \"1min\"\n{world}\n[[strategy]]\nkind = \"full\"\n"
    );
    for s in strategies {
        text.push_str(&format!("[[strategy]]\n{s}\n"));
    }
    common::run(&common::from_toml(&text))
}

/// Live rows after each run, by full reprocessing's count of the rows it wrote.
fn live_rows_per_run(results: &RunResults) -> Vec<i64> {
    let full = common::strategy(results, "full");
    full.per_run
        .iter()
        .map(|r| r.written.inserted as i64)
        .collect()
}

/// Net rows each run added to `s`'s target by its own counts.
fn net_change_per_run(s: &StrategyResult) -> Vec<i64> {
    s.per_run
        .iter()
        .map(|r| r.written.inserted as i64 - r.written.deleted as i64)
        .collect()
}

fn assert_net_change_follows_the_source(results: &RunResults, label: &str) {
    let s = common::strategy(results, label);
    assert!(
        s.permanent.is_exact() && s.worst.is_exact(),
        "{label} is exact here"
    );
    let live = live_rows_per_run(results);
    let mut expected = vec![live[0]];
    expected.extend(live.windows(2).map(|w| w[1] - w[0]));
    assert_eq!(net_change_per_run(s), expected, "{label}");
}

#[test]
fn the_three_counts_add_up_to_rows_written() {
    let results = run(
        MIXED,
        &[
            "kind = \"cdc\"",
            "kind = \"cdc\"\nwrite = \"delete_insert\"",
        ],
    );
    for s in &results.strategies {
        for r in &s.per_run {
            assert_eq!(
                r.written.total(),
                r.rows_written,
                "{} run {}",
                s.label,
                r.run
            );
        }
        let summed: u64 = s.per_run.iter().map(|r| r.written.total()).sum();
        assert_eq!(s.written.total(), summed, "{}", s.label);
        assert_eq!(s.rows_written, summed, "{}", s.label);
    }
}

#[test]
fn full_overwrite_counts_every_live_row_as_inserted() {
    let results = run(MIXED, &[]);
    let full = common::strategy(&results, "full");
    for r in &full.per_run {
        assert_eq!(r.written.inserted, r.rows_read, "run {}", r.run);
        assert_eq!((r.written.updated, r.written.deleted), (0, 0));
    }
}

#[test]
fn upsert_inserts_minus_deletes_is_the_change_in_live_rows() {
    let results = run(MIXED, &["kind = \"cdc\""]);
    assert_net_change_follows_the_source(&results, "cdc");
    let cdc = common::strategy(&results, "cdc");
    let scheduled = cdc.per_run.iter().filter(|r| !r.drain && r.run > 1);
    assert!(scheduled
        .clone()
        .all(|r| r.written.updated > 0 && r.written.deleted > 0));
}

#[test]
fn delete_insert_never_updates_and_its_net_change_is_the_change_in_live_rows() {
    let label = "cdc+delete_insert";
    let results = run(MIXED, &["kind = \"cdc\"\nwrite = \"delete_insert\""]);
    assert_net_change_follows_the_source(&results, label);
    let s = common::strategy(&results, label);
    assert!(s.per_run.iter().all(|r| r.written.updated == 0));
    // Every updated key is deleted and inserted again.
    assert!(s.written.deleted > 0);
}

#[test]
fn upsert_of_updates_alone_counts_one_update_per_changed_key() {
    let results = run(UPDATES_ONLY, &["kind = \"cdc\""]);
    let cdc = common::strategy(&results, "cdc");
    let full = common::strategy(&results, "full");
    for r in cdc.per_run.iter().filter(|r| r.run > 1) {
        assert_eq!(
            (r.written.inserted, r.written.deleted),
            (0, 0),
            "run {}",
            r.run
        );
        // The log may hold several versions of one key; the target updates it once.
        assert!(r.written.updated <= r.rows_read, "run {}", r.run);
    }
    let first = &cdc.per_run[0];
    assert_eq!(first.written.inserted, full.per_run[0].written.inserted);
    assert!(cdc.written.updated > 0);
}

#[test]
fn hard_deletes_are_counted_as_deletes_under_upsert() {
    let results = run(HARD_DELETES_ONLY, &["kind = \"cdc\""]);
    let cdc = common::strategy(&results, "cdc");
    let live = live_rows_per_run(&results);
    let later: Vec<_> = cdc.per_run.iter().skip(1).collect();
    assert!(later
        .iter()
        .all(|r| r.written.inserted == 0 && r.written.updated == 0));
    let deleted: u64 = later.iter().map(|r| r.written.deleted).sum();
    assert_eq!(deleted as i64, live[0] - live[live.len() - 1]);
    assert!(deleted > 0);
}

#[test]
fn daily_totals_upsert_inserts_each_day_once_then_updates_it() {
    let results = run(
        MIXED,
        &["kind = \"cdc\"\nmodel = \"daily_totals\"\nwrite = \"upsert\""],
    );
    let totals = &results.strategies[1];
    assert!(totals.permanent.is_exact());
    let first = &totals.per_run[0];
    assert!(first.written.inserted > 0 && first.written.updated == 0);
    // The schedule stays within the days the first run created, so later runs only update.
    let later = totals.per_run.iter().skip(1).filter(|r| !r.drain);
    assert!(later
        .clone()
        .all(|r| r.written.updated > 0 && r.written.deleted == 0));
}

/// What each scheduled run of an exact log reader must do to its target, worked out from the
/// history alone: per key committed in the run's window, its last operation there against
/// whether the key was live before the window.
fn expected_changes_per_run(
    loaded: &incrlab::scenario::LoadedScenario,
    results: &RunResults,
) -> Vec<TargetChanges> {
    let history = incrlab::sim::generate(&loaded.scenario, results.seed);
    let mut live = std::collections::BTreeSet::new();
    let mut at = 0;
    let mut expected = Vec::new();
    let cdc = common::strategy(results, "cdc");
    for record in cdc.per_run.iter().filter(|r| !r.drain) {
        let mut last_in_window = std::collections::BTreeMap::new();
        while at < history.len() && history.commit_us[at] <= record.time_us {
            let gone = history.op[at] == Op::Delete || history.is_deleted[at];
            last_in_window.insert(history.id[at], gone);
            at += 1;
        }
        let mut changes = TargetChanges::default();
        for (&id, &gone) in &last_in_window {
            match (live.contains(&id), gone) {
                (true, true) => changes.deleted += 1,
                (true, false) => changes.updated += 1,
                (false, false) => changes.inserted += 1,
                (false, true) => {}
            }
            if gone {
                live.remove(&id);
            } else {
                live.insert(id);
            }
        }
        expected.push(changes);
    }
    expected
}

#[test]
fn upsert_counts_are_the_keys_each_run_inserted_updated_and_deleted() {
    let loaded = common::from_toml(&format!(
        "name = \"write_counts\"\nseed = 11\n[table]\nrows = 800\n[schedule]\nruns = 6\ninterval = \"1min\"\n{MIXED}\n[[strategy]]\nkind = \"cdc\"\n"
    ));
    let results = common::run(&loaded);
    let expected = expected_changes_per_run(&loaded, &results);
    let cdc = common::strategy(&results, "cdc");
    let measured: Vec<_> = cdc
        .per_run
        .iter()
        .filter(|r| !r.drain)
        .map(|r| r.written)
        .collect();
    assert_eq!(measured, expected);
    assert!(expected
        .iter()
        .skip(1)
        .all(|c| c.inserted > 0 && c.updated > 0 && c.deleted > 0));
}
