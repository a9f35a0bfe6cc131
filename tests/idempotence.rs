//! `--check-idempotence`: every run is retried from the state persisted before it, as an
//! orchestrator retries a failed task; idempotent writes come out the same, append does not.

mod common;

use incrlab::expect::{evaluate, Expectation};
use incrlab::runner::{self, RunOptions};

const SCENARIO: &str = r#"
name = "idempotence_case"
seed = 4
[table]
rows = 2_000
[schedule]
runs = 6
interval = "1min"
[churn]
inserts = 40
updates = 40
deletes = 5
[[strategy]]
kind = "full"
[[strategy]]
kind = "updated_at"
boundary = ">="
lag = "2s"
[[strategy]]
kind = "updated_at"
boundary = ">="
lag = "2s"
write = "append"
[[strategy]]
kind = "cdc"
write = "delete_insert"
"#;

fn checked() -> incrlab::results::RunResults {
    runner::run(
        &common::from_toml(SCENARIO),
        &RunOptions {
            check_idempotence: true,
            ..RunOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn overwrite_upsert_and_delete_insert_survive_a_retry_of_every_run() {
    let results = checked();
    for label in ["full", "updated_at>=lag2s", "cdc+delete_insert"] {
        let s = common::strategy(&results, label);
        assert_eq!(s.idempotent, Some(true), "{label}");
        assert_eq!(s.first_non_idempotent_run, None, "{label}");
    }
}

#[test]
fn append_is_not_idempotent_from_its_first_run_and_the_retry_duplicates_are_counted() {
    let results = checked();
    let append = common::strategy(&results, "updated_at>=lag2s+append");
    assert_eq!(append.idempotent, Some(false));
    assert_eq!(append.first_non_idempotent_run, Some(1));
    // Run 1 appends the whole table, and its retry appends it again: every row is duplicated.
    let first = &append.per_run[0];
    assert!(
        first.divergence.duplicate >= 2_000,
        "run 1 holds {} surplus rows",
        first.divergence.duplicate
    );
}

#[test]
fn a_retry_of_an_idempotent_strategy_changes_nothing_it_reports() {
    let plain = common::run(&common::from_toml(SCENARIO));
    let retried = checked();
    for label in ["full", "updated_at>=lag2s", "cdc+delete_insert"] {
        let (a, b) = (
            common::strategy(&plain, label),
            common::strategy(&retried, label),
        );
        let digests = |s: &incrlab::results::StrategyResult| {
            s.per_run
                .iter()
                .map(|r| (r.target_digest.clone(), r.watermark_after, r.divergence))
                .collect::<Vec<_>>()
        };
        assert_eq!(digests(a), digests(b), "{label}");
    }
}

#[test]
fn without_the_check_idempotence_is_not_claimed() {
    let results = common::run(&common::from_toml(SCENARIO));
    assert!(results.strategies.iter().all(|s| s.idempotent.is_none()));
}

#[test]
fn the_idempotent_expectation_passes_for_upsert_and_fails_for_append() {
    let results = checked();
    let expect = |strategy: &str| Expectation {
        strategy: strategy.into(),
        idempotent: Some(true),
        ..Expectation::default()
    };
    let outcomes = evaluate(
        &[
            expect("updated_at>=lag2s"),
            expect("updated_at>=lag2s+append"),
        ],
        &results,
        None,
    );
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].passed, "{:?}", outcomes[0]);
    assert!(!outcomes[1].passed);
    assert!(
        outcomes[1].actual.contains("run 1"),
        "{}",
        outcomes[1].actual
    );
}
