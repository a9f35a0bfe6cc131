//! Helpers shared by the integration tests: building scenarios in code and running them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use incrlab::results::RunResults;
use incrlab::runner::{self, RunOptions};
use incrlab::scenario::{LoadedScenario, Scenario};

/// The repository's own scenarios directory.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

pub fn load(name: &str) -> LoadedScenario {
    Scenario::load(&scenarios_dir().join(name)).expect("shipped scenario loads")
}

/// Parses scenario text (validation included) into a loaded scenario.
pub fn from_toml(text: &str) -> LoadedScenario {
    let path = PathBuf::from("test.toml");
    let scenario = Scenario::parse(&path, text).unwrap_or_else(|e| panic!("{e}"));
    LoadedScenario { path, scenario }
}

pub fn run(loaded: &LoadedScenario) -> RunResults {
    runner::run(loaded, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn strategy<'a>(results: &'a RunResults, label: &str) -> &'a incrlab::results::StrategyResult {
    results
        .strategies
        .iter()
        .find(|s| s.label == label)
        .unwrap_or_else(|| panic!("no strategy labelled {label}"))
}

/// A lag sweep where one writer's clock runs 5 s ahead and commits take up to 500 ms, so
/// `updated_at` needs 5.5 s of lag: `lags` and `seeds` are TOML arrays.
pub fn lag_sweep_scenario(lags: &str, seeds: &str) -> String {
    format!(
        r#"
name = "lag_case"
seed = 3
[table]
rows = 2_000
[schedule]
runs = 8
interval = "30s"
[churn]
inserts = 60
updates = 60
[writers]
count = 3
offsets = ["0s", "0s", "5s"]
[transactions]
commit_delay = {{ dist = "uniform", low = "0ms", high = "500ms" }}
[sweep]
lag = {lags}
seeds = {seeds}
[[strategy]]
kind = "full"
[[strategy]]
kind = "updated_at"
"#
    )
}

/// Copies the stored report fixtures (a run's results.json + timeline.json, and a sweep's
/// sweep.json) into `dir/run` and `dir/sweep`: reports are rendered from these files alone.
pub fn copy_report_fixtures(dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    for (kind, files) in [
        ("run", &["results.json", "timeline.json"][..]),
        ("sweep", &["sweep.json"][..]),
    ] {
        std::fs::create_dir_all(dir.join(kind)).unwrap();
        for file in files {
            std::fs::copy(fixtures.join(kind).join(file), dir.join(kind).join(file)).unwrap();
        }
    }
}

/// Every file under `dir`, relative path → bytes, in path order.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// Where a failing property leaves its (shrunk) counterexample as a scenario file.
pub fn counterexample_path(property: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("counterexamples")
        .join(format!("{property}.toml"))
}

/// Passes a property's outcome through, writing the scenario of a failing case to
/// [`counterexample_path`]. proptest re-runs ever smaller failing cases while it shrinks, so
/// the file left at the end is the shrunk one; `incrlab run FILE` reproduces it.
pub fn keep_counterexample(
    property: &str,
    scenario: &str,
    outcome: Result<(), proptest::test_runner::TestCaseError>,
) -> Result<(), proptest::test_runner::TestCaseError> {
    let Err(failure) = outcome else {
        return Ok(());
    };
    let path = counterexample_path(property);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = format!(
        "# Counterexample to the property `{property}` (shrunk by proptest).\n# Reproduce: incrlab run {}\n{scenario}",
        path.display()
    );
    std::fs::write(&path, text).unwrap();
    Err(proptest::test_runner::TestCaseError::fail(format!(
        "{failure}\n  counterexample scenario: {} (incrlab run it)",
        path.display()
    )))
}
