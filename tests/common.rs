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

/// The outside pipeline examples.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipelines")
}

/// The Python that runs the examples, if it has `duckdb`.
pub fn python_or_skip() -> Option<String> {
    let python = std::env::var("INCRLAB_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("INCRLAB_REQUIRE_PYTHON").is_err(),
        "INCRLAB_REQUIRE_PYTHON is set but `{python}` cannot import duckdb"
    );
    eprintln!("skipped: `{python}` cannot import duckdb (set INCRLAB_PYTHON to a Python that can)");
    None
}

/// A scenario file in the examples directory (so `{scenario_dir}` finds the scripts).
pub fn pipeline_scenario(text: &str) -> LoadedScenario {
    let path = examples_dir().join("test-scenario.toml");
    let scenario = Scenario::parse(&path, text).unwrap_or_else(|e| panic!("{e}"));
    LoadedScenario { path, scenario }
}

/// Parses scenario text as a file of the examples directory and runs it.
pub fn load_and_run_pipelines(text: &str) -> (LoadedScenario, RunResults) {
    let loaded = pipeline_scenario(text);
    let results = run_pipelines(&loaded);
    (loaded, results)
}

pub fn run_pipelines(loaded: &LoadedScenario) -> RunResults {
    runner::run(
        loaded,
        &RunOptions {
            jobs: Some(2),
            ..RunOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Whether any process has `arg` among its arguments.
pub fn process_with_arg_exists(arg: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmdline| cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
}

/// Keys live once every transaction has committed, replayed from the history.
pub fn live_keys_at_the_end(loaded: &LoadedScenario) -> u64 {
    let history = runner::simulate(loaded, None);
    let mut live = std::collections::BTreeSet::new();
    for i in 0..history.len() {
        if history.op[i] == incrlab::sim::Op::Delete || history.is_deleted[i] {
            live.remove(&history.id[i]);
        } else {
            live.insert(history.id[i]);
        }
    }
    live.len() as u64
}

/// Sweep options with `jobs` workers, every point, no idempotence check.
pub fn jobs(jobs: usize) -> incrlab::sweep::SweepOptions {
    incrlab::sweep::SweepOptions {
        jobs,
        ..Default::default()
    }
}
