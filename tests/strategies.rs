//! What each first strategy loses, checked against facts computed from the history alone.

mod common;

use std::collections::BTreeSet;

use incrlab::scenario::Micros;
use incrlab::sim::{History, Op, WriterClocks};

/// A workload with long transactions and no deletes, so every loss is a late arrival.
const LATE_INSERTS: &str = r#"
name = "late_inserts"
seed = 9
[table]
rows = 500
[schedule]
runs = 25
interval = "10s"
[churn]
inserts = 40
updates = 10
[transactions]
commit_delay = { dist = "exponential", mean = "300ms" }
late_fraction = 0.1
late_delay = { dist = "uniform", low = "5s", high = "45s" }
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
[[strategy]]
kind = "cdc"
"#;

/// Inserts whose id becomes visible only after a run has already seen a higher id, computed
/// from commit times and the run schedule alone.
fn inserts_overtaken_by_a_higher_id(history: &History, run_times: &[i64]) -> BTreeSet<i64> {
    let inserts: Vec<usize> = (0..history.len())
        .filter(|&i| history.op[i] == Op::Insert)
        .collect();
    // Highest insert id visible at each run.
    let max_visible: Vec<i64> = run_times
        .iter()
        .map(|&r| {
            inserts
                .iter()
                .filter(|&&i| history.commit_us[i] <= r)
                .map(|&i| history.id[i])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut overtaken = BTreeSet::new();
    for &i in &inserts {
        let first_visible = run_times
            .iter()
            .position(|&r| history.commit_us[i] <= r)
            .expect("drain commits all");
        if first_visible > 0 && max_visible[first_visible - 1] > history.id[i] {
            overtaken.insert(history.id[i]);
        }
    }
    overtaken
}

#[test]
fn watermark_id_misses_exactly_the_inserts_overtaken_by_a_higher_id() {
    let loaded = common::from_toml(LATE_INSERTS);
    let history = incrlab::runner::simulate(&loaded, None);
    let results = common::run(&loaded);
    let wm = common::strategy(&results, "watermark_id");
    let run_times: Vec<i64> = wm.per_run.iter().map(|r| r.time_us).collect();

    let expected = inserts_overtaken_by_a_higher_id(&history, &run_times);
    assert!(
        !expected.is_empty(),
        "the workload must produce late inserts"
    );
    assert_eq!(wm.permanent.missing, expected.len() as u64);
    // Updates are invisible to an id watermark: every updated key read before its update is stale.
    assert!(wm.permanent.stale > 0);
    let sampled_missing: BTreeSet<i64> = wm
        .sample_wrong_keys
        .iter()
        .filter(|k| k.class == incrlab::verify::DivergenceClass::Missing)
        .map(|k| k.id)
        .collect();
    assert!(sampled_missing.is_subset(&expected));
}

#[test]
fn full_and_cdc_are_exact_under_late_arrivals() {
    let results = common::run(&common::from_toml(LATE_INSERTS));
    for label in ["full", "cdc"] {
        let s = common::strategy(&results, label);
        assert_eq!(s.permanent.total(), 0, "{label}: {:?}", s.permanent);
        assert_eq!(
            s.worst.total(),
            0,
            "{label} reads everything committed: {:?}",
            s.worst
        );
    }
}

#[test]
fn updated_at_exclusive_loses_rows_that_tie_with_the_watermark() {
    let results = common::run(&common::load("ties.toml"));
    let exclusive = common::strategy(&results, "updated_at>");
    assert!(
        exclusive.permanent.missing + exclusive.permanent.stale > 0,
        "coarse ticks split across runs lose rows under `>`: {:?}",
        exclusive.permanent
    );
}

#[test]
fn updated_at_inclusive_keeps_rows_that_tie_with_the_watermark() {
    let results = common::run(&common::load("ties.toml"));
    let inclusive = common::strategy(&results, "updated_at>=");
    assert_eq!(inclusive.permanent.total(), 0, "{:?}", inclusive.permanent);
    assert!(inclusive.settled);
}

/// The smallest lag the time model says is safe: the largest commit delay in the history, plus
/// the spread of writer clocks, plus one granularity step.
fn safe_lag_us(loaded: &incrlab::scenario::LoadedScenario, history: &History) -> i64 {
    let max_delay = (0..history.len())
        .map(|i| history.commit_us[i] - history.begin_us[i])
        .max()
        .unwrap_or(0);
    let mut rng = incrlab::sim::rng_for(loaded.scenario.seed, incrlab::sim::Concern::Clocks);
    let clocks = WriterClocks::new(&loaded.scenario.writers, &mut rng);
    let horizon = history.last_commit_us();
    let spread = clocks.offset_spread_us(horizon).expect("bounded jitter");
    max_delay + spread + loaded.scenario.timestamps.granularity.0
}

fn with_updated_at_lag(name: &str, lag_us: i64) -> incrlab::scenario::LoadedScenario {
    let mut loaded = common::load(name);
    loaded
        .scenario
        .strategies
        .retain(|s| s.kind == incrlab::scenario::StrategyKind::UpdatedAt);
    loaded.scenario.strategies.truncate(1);
    loaded.scenario.strategies[0].lag = Some(Micros(lag_us));
    loaded.scenario.strategies[0].label = Some("under_test".into());
    loaded
}

#[test]
fn updated_at_with_the_safe_lag_loses_nothing_under_late_arrivals() {
    let base = common::load("late_arrivals.toml");
    let history = incrlab::runner::simulate(&base, None);
    let results = common::run(&with_updated_at_lag(
        "late_arrivals.toml",
        safe_lag_us(&base, &history),
    ));
    assert_eq!(
        common::strategy(&results, "under_test").permanent.total(),
        0
    );
}

#[test]
fn updated_at_with_the_safe_lag_loses_nothing_under_clock_skew() {
    let base = common::load("clock_skew.toml");
    let history = incrlab::runner::simulate(&base, None);
    let results = common::run(&with_updated_at_lag(
        "clock_skew.toml",
        safe_lag_us(&base, &history),
    ));
    assert_eq!(
        common::strategy(&results, "under_test").permanent.total(),
        0
    );
}

/// A world built so the lag bound is tight: microsecond runs (every begin can fall exactly on
/// a run), inserts only (no row-lock waits), one writer's clock 5 µs ahead (the spread, a whole
/// granularity step), half the transactions committing 20 µs after they begin, 5 µs stamps. A
/// run at R can then read a row stamped R + 5 µs that began and committed at R, while a row
/// stamped R − 20 µs is still in flight: the watermark minus a lag of 25 µs (delay + spread,
/// one granularity below the bound) does not reach below it.
fn tight_lag(lag: &str) -> incrlab::scenario::LoadedScenario {
    common::from_toml(&format!(
        r#"
name = "tight_lag"
seed = 5
[table]
rows = 10
[schedule]
runs = 300
interval = "10us"
[churn]
inserts = 6
updates = 0
[writers]
count = 2
offsets = ["0us", "5us"]
[transactions]
commit_delay = {{ dist = "constant", value = "0us" }}
late_fraction = 0.5
late_delay = {{ dist = "constant", value = "20us" }}
[timestamps]
granularity = "5us"
[[strategy]]
kind = "updated_at"
label = "under_test"
boundary = ">"
lag = "{lag}"
"#
    ))
}

#[test]
fn the_safe_lag_is_tight_one_granularity_below_it_loses_rows() {
    let base = tight_lag("0us");
    let history = incrlab::runner::simulate(&base, None);
    let safe = safe_lag_us(&base, &history);
    let granularity = base.scenario.timestamps.granularity.0;
    // The bound is what the time model says: 20 µs delay + 5 µs spread + 5 µs granularity.
    assert_eq!(safe, 30);
    let at_bound = common::run(&tight_lag(&format!("{safe}us")));
    assert_eq!(
        common::strategy(&at_bound, "under_test").permanent.total(),
        0,
        "the safe lag lost rows"
    );
    let below = common::run(&tight_lag(&format!("{}us", safe - granularity)));
    let lost = common::strategy(&below, "under_test").permanent;
    assert!(
        lost.missing > 0,
        "a lag one granularity below the bound lost nothing: {lost:?}"
    );
}

#[test]
fn updated_at_without_lag_loses_rows_under_late_arrivals() {
    let results = common::run(&with_updated_at_lag("late_arrivals.toml", 0));
    let s = common::strategy(&results, "under_test");
    assert!(
        s.permanent.missing + s.permanent.stale > 0,
        "{:?}",
        s.permanent
    );
}

#[test]
fn updated_at_without_lag_loses_rows_under_clock_skew() {
    let results = common::run(&with_updated_at_lag("clock_skew.toml", 0));
    let s = common::strategy(&results, "under_test");
    assert!(
        s.permanent.missing + s.permanent.stale > 0,
        "{:?}",
        s.permanent
    );
}

#[test]
fn hard_deletes_leave_ghosts_under_watermarks_but_not_under_cdc() {
    let results = common::run(&common::load("quickstart.toml"));
    assert!(common::strategy(&results, "watermark_id").permanent.ghost > 0);
    assert!(common::strategy(&results, "updated_at>").permanent.ghost > 0);
    assert_eq!(common::strategy(&results, "cdc").permanent.total(), 0);
    assert_eq!(common::strategy(&results, "full").permanent.total(), 0);
}

#[test]
fn reconciliation_heals_and_bounds_how_long_a_divergence_lives() {
    let mut loaded = with_updated_at_lag("clock_skew.toml", 0);
    let mut reconciling = loaded.scenario.strategies[0].clone();
    reconciling.reconcile_every = Some(4);
    reconciling.label = Some("reconciling".into());
    loaded.scenario.strategies.push(reconciling);
    let results = common::run(&loaded);

    let plain = common::strategy(&results, "under_test");
    assert!(
        plain.permanent.total() > 0,
        "without reconciliation the skew loses rows"
    );
    let healed = common::strategy(&results, "reconciling");
    assert_eq!(healed.permanent.total(), 0, "{:?}", healed.permanent);
    assert!(
        healed.worst.total() > 0,
        "it diverges between reconciliations"
    );
    assert!(
        healed.longest_divergence_runs <= 4,
        "a key stays wrong at most k runs, got {}",
        healed.longest_divergence_runs
    );
    assert!(plain.longest_divergence_runs > healed.longest_divergence_runs);
    let reconciled: Vec<u32> = healed
        .per_run
        .iter()
        .filter(|r| r.reconciled)
        .map(|r| r.run)
        .collect();
    assert!(reconciled.iter().all(|run| run % 4 == 0) && !reconciled.is_empty());
}

#[test]
fn soft_deletes_reach_updated_at_targets_but_hard_deletes_leave_ghosts() {
    let text = |mode: &str| {
        format!(
            r#"
name = "deletes_{mode}"
seed = 2
[table]
rows = 400
[schedule]
runs = 10
interval = "10s"
[churn]
inserts = 10
updates = 10
deletes = 15
delete_mode = "{mode}"
[[strategy]]
kind = "updated_at"
boundary = ">="
[[strategy]]
kind = "cdc"
"#
        )
    };
    let soft = common::run(&common::from_toml(&text("soft")));
    assert_eq!(common::strategy(&soft, "updated_at>=").permanent.total(), 0);
    let hard_scenario = common::from_toml(&text("hard"));
    let history = incrlab::runner::simulate(&hard_scenario, None);
    let first_run = history.run_times_us[0];
    // Every key hard-deleted after the first run had read it stays behind as a ghost.
    let deleted_after_first_read = (0..history.len())
        .filter(|&i| history.op[i] == Op::Delete && history.commit_us[i] > first_run)
        .count();
    assert!(deleted_after_first_read > 0);
    let hard = common::run(&hard_scenario);
    let ghosts = common::strategy(&hard, "updated_at>=").permanent.ghost;
    assert_eq!(ghosts, deleted_after_first_read as u64);
    assert_eq!(common::strategy(&hard, "cdc").permanent.total(), 0);
}
