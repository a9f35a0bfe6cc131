//! `incrlab check`: expectations of every kind, exit codes, JUnit structure, baselines.

mod common;

use std::path::Path;
use std::process::Command;

use incrlab::expect::{evaluate, Bound, Expectation};

/// Late inserts and updates: `watermark_id` loses rows, `cdc` loses none, `cdc+append`
/// duplicates every key it sees twice.
const BASE: &str = r#"
name = "check_case"
seed = 4
[table]
rows = 300
[schedule]
runs = 8
interval = "10s"
[churn]
inserts = 30
updates = 20
[transactions]
commit_delay = { dist = "exponential", mean = "300ms" }
late_fraction = 0.15
late_delay = { dist = "uniform", low = "5s", high = "30s" }
[[strategy]]
kind = "watermark_id"
[[strategy]]
kind = "cdc"
[[strategy]]
kind = "cdc"
write = "append"
"#;

fn expectation(strategy: &str) -> Expectation {
    Expectation {
        strategy: strategy.into(),
        ..Expectation::default()
    }
}

/// Evaluates one expectation against a fresh run of BASE; returns whether each outcome held.
fn holds(e: Expectation) -> Vec<bool> {
    let loaded = common::from_toml(BASE);
    let results = common::run(&loaded);
    let rerun = e.deterministic.map(|_| common::run(&loaded));
    let outcomes = evaluate(&[e], &results, rerun.as_ref());
    assert!(!outcomes.is_empty());
    outcomes.iter().map(|o| o.passed).collect()
}

#[test]
fn permanent_missing_expectations_pass_and_fail() {
    assert_eq!(
        holds(Expectation {
            missing: Some(Bound::exactly(0)),
            ..expectation("cdc")
        }),
        [true]
    );
    assert_eq!(
        holds(Expectation {
            missing: Some(Bound::exactly(0)),
            ..expectation("watermark_id")
        }),
        [false]
    );
}

#[test]
fn stale_expectations_pass_and_fail() {
    let at_least_one = Bound {
        at_least: Some(1),
        at_most: None,
    };
    assert_eq!(
        holds(Expectation {
            stale: Some(at_least_one),
            ..expectation("watermark_id")
        }),
        [true]
    );
    assert_eq!(
        holds(Expectation {
            stale: Some(at_least_one),
            ..expectation("cdc")
        }),
        [false]
    );
}

#[test]
fn ghost_expectations_pass_and_fail() {
    // No deletes in BASE: nothing can be a ghost.
    assert_eq!(
        holds(Expectation {
            ghost: Some(Bound::exactly(0)),
            ..expectation("all")
        }),
        [true, true, true]
    );
    let some = Bound {
        at_least: Some(1),
        at_most: None,
    };
    assert_eq!(
        holds(Expectation {
            ghost: Some(some),
            ..expectation("cdc")
        }),
        [false]
    );
}

#[test]
fn duplicate_expectations_pass_and_fail() {
    let none = Bound {
        at_least: None,
        at_most: Some(0),
    };
    assert_eq!(
        holds(Expectation {
            duplicate: Some(none),
            ..expectation("cdc")
        }),
        [true]
    );
    assert_eq!(
        holds(Expectation {
            duplicate: Some(none),
            ..expectation("cdc+append")
        }),
        [false]
    );
}

#[test]
fn counter_expectations_pass_and_fail() {
    let loaded = common::from_toml(BASE);
    let results = common::run(&loaded);
    let cdc = common::strategy(&results, "cdc");
    let exact_scanned = Bound::exactly(cdc.rows_scanned);
    let too_few_written = Bound {
        at_least: None,
        at_most: Some(cdc.rows_written - 1),
    };
    let outcomes = evaluate(
        &[Expectation {
            rows_scanned: Some(exact_scanned),
            rows_written: Some(too_few_written),
            ..expectation("cdc")
        }],
        &results,
        None,
    );
    let passed: Vec<(String, bool)> = outcomes.iter().map(|o| (o.key.clone(), o.passed)).collect();
    assert_eq!(
        passed,
        [
            ("rows_scanned".to_string(), true),
            ("rows_written".to_string(), false)
        ]
    );
}

#[test]
fn deterministic_expectation_passes_on_a_rerun_and_fails_on_another_seed() {
    assert_eq!(
        holds(Expectation {
            deterministic: Some(true),
            ..expectation("all")
        }),
        [true]
    );
    let loaded = common::from_toml(BASE);
    let a = common::run(&loaded);
    let b = incrlab::runner::run(
        &loaded,
        &incrlab::runner::RunOptions {
            seed: Some(99),
            ..Default::default()
        },
    )
    .unwrap();
    let outcomes = evaluate(
        &[Expectation {
            deterministic: Some(true),
            ..expectation("all")
        }],
        &a,
        Some(&b),
    );
    assert!(!outcomes[0].passed);
    assert!(outcomes[0].actual.contains("history digest"));
}

#[test]
fn a_failure_points_at_sample_keys() {
    let loaded = common::from_toml(BASE);
    let results = common::run(&loaded);
    let outcomes = evaluate(
        &[Expectation {
            missing: Some(Bound::exactly(0)),
            ..expectation("watermark_id")
        }],
        &results,
        None,
    );
    assert!(outcomes[0]
        .hint
        .as_deref()
        .unwrap()
        .starts_with("sample missing keys of watermark_id: "));
}

// ---- the command line ----

fn write_scenario(dir: &Path, name: &str, expect: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{BASE}\n{expect}")).unwrap();
    path
}

fn check(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .arg("check")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

const PASSING: &str = "[[expect]]\nstrategy = \"cdc\"\nmissing = 0\nstale = 0\n";
const FAILING: &str = "[[expect]]\nstrategy = \"watermark_id\"\nmissing = 0\n";

#[test]
fn exit_code_is_0_when_every_expectation_holds() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(dir.path(), "pass.toml", PASSING);
    let out = check(dir.path(), &["pass.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn exit_code_is_1_when_one_fails_and_the_failure_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(dir.path(), "fail.toml", FAILING);
    let out = check(dir.path(), &["fail.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL")
            && stdout.contains("watermark_id")
            && stdout.contains("expected = 0"),
        "{stdout}"
    );
}

#[test]
fn exit_code_is_2_for_an_unknown_expectation_key() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(
        dir.path(),
        "bad.toml",
        "[[expect]]\nstrategy = \"cdc\"\nmisssing = 0\n",
    );
    let out = check(dir.path(), &["bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("misssing"));
}

#[test]
fn exit_code_is_2_for_an_ill_typed_expectation() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(
        dir.path(),
        "bad.toml",
        "[[expect]]\nstrategy = \"cdc\"\nmissing = \"none\"\n",
    );
    let out = check(dir.path(), &["bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expect.missing"));
}

#[test]
fn exit_code_is_2_for_an_expectation_on_an_unknown_strategy() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(
        dir.path(),
        "bad.toml",
        "[[expect]]\nstrategy = \"nope\"\nmissing = 0\n",
    );
    let out = check(dir.path(), &["bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`expect[1].strategy`"));
}

#[test]
fn junit_report_has_one_testcase_per_expectation_and_counts_failures() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(dir.path(), "a.toml", &format!("{PASSING}\n{FAILING}"));
    let out = check(dir.path(), &["a.toml", "--junit", "junit.xml"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("check_case"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        cases.len(),
        3,
        "cdc missing, cdc stale, watermark_id missing"
    );
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]
        .attribute("name")
        .unwrap()
        .starts_with("watermark_id: missing"));
}

#[test]
fn baseline_passes_on_identical_results_and_fails_on_a_worsened_counter() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(dir.path(), "a.toml", PASSING);
    let out = check(dir.path(), &["a.toml", "--out", "base"]);
    assert_eq!(out.status.code(), Some(0));

    let same = check(dir.path(), &["a.toml", "--baseline", "base"]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );

    // Pretend the baseline scanned fewer rows: the new run is now worse than it.
    let stored = dir.path().join("base/check_case/results.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stored).unwrap()).unwrap();
    let scanned = json["strategies"][1]["rows_scanned"].as_u64().unwrap();
    json["strategies"][1]["rows_scanned"] = (scanned / 2).into();
    std::fs::write(&stored, serde_json::to_vec(&json).unwrap()).unwrap();

    let worse = check(dir.path(), &["a.toml", "--baseline", "base"]);
    assert_eq!(worse.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&worse.stdout).contains("baseline rows_scanned"));

    let tolerant = check(
        dir.path(),
        &["a.toml", "--baseline", "base", "--tolerance", "1.5"],
    );
    assert_eq!(
        tolerant.status.code(),
        Some(0),
        "150% tolerance absorbs a doubling"
    );
}

// ---- expectations on sweep results ----

fn lag_sweep_text() -> String {
    common::lag_sweep_scenario(r#"["0s", "6s"]"#, "[1]")
}

fn lag_sweep() -> incrlab::sweep::SweepResults {
    incrlab::sweep::run_sweep(
        &common::from_toml(&lag_sweep_text()),
        &common::jobs(2),
        &|| {},
    )
    .unwrap()
}

#[test]
fn recommended_lag_expectations_pass_and_fail() {
    let sweep = lag_sweep();
    let at_most = |text: &str| Expectation {
        recommended_lag_at_most: Some(incrlab::scenario::Micros::parse(text).unwrap()),
        ..expectation("updated_at>")
    };
    let passed = |e: Expectation| {
        incrlab::expect::evaluate_sweep(&[e], &sweep)
            .iter()
            .map(|o| o.passed)
            .collect::<Vec<_>>()
    };
    assert_eq!(passed(at_most("10s")), [true]);
    assert_eq!(passed(at_most("5s")), [false], "the recommendation is 6 s");
}

#[test]
fn crossover_expectations_pass_and_fail() {
    let mut sweep = lag_sweep();
    let range = incrlab::expect::FractionRange {
        at_least: Some(0.01),
        at_most: Some(0.1),
    };
    let e = Expectation {
        crossover_churn: Some(range),
        ..expectation("updated_at>")
    };
    // Measured: a 2,000-row table is too small for incremental to pay anywhere.
    let outcomes = incrlab::expect::evaluate_sweep(std::slice::from_ref(&e), &sweep);
    assert!(!outcomes.is_empty() && outcomes.iter().all(|o| !o.passed));
    assert!(outcomes[0].actual.starts_with("no crossover"));
    // The same expectation against crossings inside and outside the range.
    for c in &mut sweep.crossovers {
        c.value = Some(0.05);
    }
    assert!(
        incrlab::expect::evaluate_sweep(std::slice::from_ref(&e), &sweep)
            .iter()
            .all(|o| o.passed)
    );
    for c in &mut sweep.crossovers {
        c.value = Some(0.5);
    }
    assert!(incrlab::expect::evaluate_sweep(&[e], &sweep)
        .iter()
        .all(|o| !o.passed));
}

#[test]
fn a_sweep_expectation_without_a_sweep_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(
        dir.path(),
        "bad.toml",
        "[[expect]]\nstrategy = \"cdc\"\ncrossover_churn = { at_most = 0.1 }\n",
    );
    let out = check(dir.path(), &["bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need a [sweep] section"));
}

#[test]
fn check_runs_the_sweep_for_a_lag_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[[expect]]\nstrategy = \"updated_at>\"\nrecommended_lag_at_most = \"6s\"\n",
        lag_sweep_text()
    );
    std::fs::write(dir.path().join("lag.toml"), text).unwrap();
    let out = check(dir.path(), &["lag.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 of 1 expectations hold"));
}

// ---- holding a study to its answer ----

/// Full reprocessing against `watermark_id`, which loses every update: whatever the timings,
/// only `full` can be recommended.
const STUDY: &str = r#"
name = "study"
seed = 1
[table]
rows = 20_000
[schedule]
runs = 3
interval = "1min"
[churn]
inserts = "0.2%"
updates = "0.8%"
[sweep]
churn = [0.001, 0.01]
seeds = [1, 2]
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
"#;

fn study_with(expect: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("study.toml"), format!("{STUDY}\n{expect}")).unwrap();
    let out = check(dir.path(), &["study.toml"]);
    (dir, out)
}

#[test]
fn a_recommended_expectation_holds_when_the_study_gives_that_answer() {
    let (_dir, out) =
        study_with("[[expect]]\nrecommended = { at_churn = 0.001, strategy = \"full\" }\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 of 1 expectations hold"), "{stdout}");
}

#[test]
fn a_recommended_expectation_fails_naming_the_answer_and_why_the_strategy_was_passed_over() {
    let (_dir, out) = study_with(
        "[[expect]]\nrecommended = { at_churn = 0.01, strategy = \"watermark_id\", rows = 20000 }\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("recommended: expected = watermark_id at 0.01 churn, 20000 rows, got full"),
        "{stdout}"
    );
    assert!(
        stdout.contains("watermark_id is not eligible there: it lost"),
        "{stdout}"
    );
}

#[test]
fn a_recommendation_at_a_churn_the_sweep_does_not_run_is_bad_input() {
    let (dir, out) =
        study_with("[[expect]]\nrecommended = { at_churn = 0.02, strategy = \"full\" }\n");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("study.toml"), "{stderr}");
    assert!(
        stderr.contains("expect[1].recommended.at_churn"),
        "{stderr}"
    );
    assert!(stderr.contains("0.02 is not a swept churn"), "{stderr}");
    assert!(!dir.path().join("reports").exists());
}

#[test]
fn a_recommendation_of_an_unknown_strategy_or_by_cost_without_a_cost_model_is_bad_input() {
    for (expect, key, says) in [
        (
            "recommended = { at_churn = 0.01, strategy = \"cdc\" }",
            "expect[1].recommended.strategy",
            "no strategy is labelled `cdc`",
        ),
        (
            "recommended = { at_churn = 0.01, strategy = \"full\", measure = \"cost\" }",
            "expect[1].recommended.measure",
            "needs a [cost] section",
        ),
        (
            "recommended = { at_churn = 0.01, strategy = \"full\", rows = 5 }",
            "expect[1].recommended.rows",
            "5 is not a swept table size",
        ),
        (
            "missing = 0",
            "expect[1].strategy",
            "missing: name the strategy",
        ),
    ] {
        let (_dir, out) = study_with(&format!("[[expect]]\n{expect}\n"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expect}: {stderr}");
        assert!(stderr.contains(key), "{expect}: {stderr}");
        assert!(stderr.contains(says), "{expect}: {stderr}");
    }
}
