//! The oracle against a deliberately broken write: an engine whose upsert forgets `value` on
//! matched keys. With the wrapper the verdict is red; without it the same run is exact.

use super::*;
use crate::engine::open_broken_upsert;
use crate::row::Column;
use crate::scenario::Scenario;
use crate::verify::DivergenceClass;

fn scenario() -> LoadedScenario {
    let text = r#"
name = "broken_write"
seed = 5
[table]
rows = 500
[schedule]
runs = 4
interval = "1min"
[churn]
inserts = 10
updates = 40
[[strategy]]
kind = "cdc"
"#;
    let path = std::path::PathBuf::from("broken_write.toml");
    let scenario = Scenario::parse(&path, text).unwrap();
    LoadedScenario { path, scenario }
}

#[test]
fn an_upsert_that_forgets_a_column_is_caught_as_stale() {
    let loaded = scenario();
    let broken = run_with(&loaded, &RunOptions::default(), |storage| {
        open_broken_upsert(storage, Column::Value)
    })
    .unwrap();
    let cdc = &broken.strategies[0];
    assert!(
        cdc.permanent.stale > 0,
        "the broken upsert passed: {:?}",
        cdc.permanent
    );
    assert_eq!(cdc.permanent.missing + cdc.permanent.ghost, 0);
    let sample = &cdc.sample_wrong_keys[0];
    assert_eq!(sample.class, DivergenceClass::Stale);
    // The right version, with the wrong value.
    assert_eq!(sample.found_lsn, sample.expected_lsn);
    assert_eq!(sample.wrong_columns, vec!["value".to_string()]);
    assert!(sample.reason.contains("value"), "{}", sample.reason);
}

#[test]
fn the_same_run_without_the_broken_wrapper_is_exact() {
    let results = run(&scenario(), &RunOptions::default()).unwrap();
    assert!(results.strategies[0].permanent.is_exact());
    assert!(results.strategies[0].worst.is_exact());
}

#[test]
fn the_lockstep_engine_names_the_run_strategy_and_key_where_two_engines_part() {
    // A correct engine against one whose upsert forgets `value`. Run 1 only inserts into the
    // empty target; run 2 is the first whose upsert updates a key, and where they part.
    let loaded = scenario();
    let e = run_with(&loaded, &RunOptions::default(), |storage| {
        Ok(Box::new(crate::engine::Differential {
            primary: crate::engine::open(crate::scenario::EngineKind::Polars, storage)?,
            secondary: open_broken_upsert(storage, Column::Value)?,
        }))
    })
    .expect_err("a broken upsert disagrees with a correct one");
    // From the history: the smallest key an update committed between runs 1 and 2.
    let history = simulate(&loaded, None);
    let (run1, run2) = (history.run_times_us[0], history.run_times_us[1]);
    let first_updated = history
        .committed_between(run1, run2)
        .filter(|&i| history.op[i] == crate::sim::Op::Update)
        .map(|i| history.id[i])
        .min()
        .expect("the scenario updates keys before run 2");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "engines disagree at run 2 of `cdc`: target_contents on target 1: key {first_updated} holds "
        )),
        "{text}"
    );
    assert!(
        text.ends_with("(polars first, duckdb (broken upsert) second)"),
        "{text}"
    );
}
