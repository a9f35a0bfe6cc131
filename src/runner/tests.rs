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
