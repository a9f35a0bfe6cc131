//! One seed reproduces a whole run; another seed gives another history.

mod common;

use serde_json::Value;

/// Results as JSON with every timing field (`*_ms`) removed.
fn without_timings(results: &incrlab::results::RunResults) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| !k.ends_with("_ms"));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(results).unwrap();
    strip(&mut v);
    v
}

#[test]
fn same_seed_gives_identical_history_and_results() {
    let loaded = common::load("quickstart.toml");
    let a = common::run(&loaded);
    let b = common::run(&loaded);
    assert_eq!(a.history_digest, b.history_digest);
    assert_eq!(without_timings(&a), without_timings(&b));
}

#[test]
fn another_seed_gives_another_history() {
    let loaded = common::load("quickstart.toml");
    let a = incrlab::runner::simulate(&loaded, Some(1));
    let b = incrlab::runner::simulate(&loaded, Some(2));
    assert_ne!(a.digest(), b.digest());
}

#[test]
fn digest_changes_when_any_value_changes() {
    let loaded = common::load("quickstart.toml");
    let history = incrlab::runner::simulate(&loaded, None);
    let mut changed = history.clone();
    let last = changed.len() - 1;
    changed.updated_at_us[last] += 1;
    assert_ne!(history.digest(), changed.digest());
}

#[test]
fn first_difference_names_the_first_run_that_differs() {
    let loaded = common::load("quickstart.toml");
    let a = common::run(&loaded);
    let mut b = a.clone();
    assert_eq!(a.first_difference(&b), None);
    b.strategies[2].per_run[4].target_digest = "0".into();
    let difference = a.first_difference(&b).expect("differs");
    assert!(
        difference.starts_with("run 5 of updated_at>"),
        "{difference}"
    );
}
