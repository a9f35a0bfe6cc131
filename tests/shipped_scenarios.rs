//! Every scenario shipped in scenarios/ (and scenarios/bench/) loads and validates: a typo in
//! one would otherwise surface only when a user runs it.

mod common;

use incrlab::scenario::Scenario;

#[test]
fn every_shipped_scenario_loads() {
    let mut loaded = 0;
    for dir in [
        common::scenarios_dir(),
        common::scenarios_dir().join("bench"),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
                loaded += 1;
            }
        }
    }
    assert!(loaded >= 7, "found only {loaded} scenarios");
}
