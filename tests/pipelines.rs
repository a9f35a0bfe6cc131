//! Outside pipelines: a command run at every tick against the released source, killed from
//! outside, and judged by its target. The SQL example (Python's `duckdb` package) stands in for
//! a team's pipeline; expected counts come from the history, not from the pipeline.
//!
//! Tests that need Python with `duckdb` skip with a message where it is missing, unless
//! `INCRLAB_REQUIRE_PYTHON=1` (set by `.ci/run`) makes the missing interpreter a failure.

mod common;

use std::path::PathBuf;

use incrlab::results::AttemptEnding;
use incrlab::runner;
use incrlab::scenario::{CrashPoint, LoadedScenario, Scenario};

/// Inserts only, committed at once: `watermark_id` loses nothing, so whatever a pipeline loses
/// or duplicates is what its kills did.
fn sql_scenario(python: &str, pipelines: &str, faults: &str) -> String {
    format!(
        r#"
name = "pipeline_case"
seed = 4
[table]
rows = 500
[schedule]
runs = 5
interval = "1min"
[churn]
inserts = 40
[transactions]
commit_delay = {{ dist = "constant", value = "0s" }}
{faults}
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
{pipelines}
"#
    )
    .replace("{python}", python)
}

fn sql_pipeline(label: &str, args: &str) -> String {
    format!(
        r#"
[[pipeline]]
label = "{label}"
command = ["{{python}}", "{{scenario_dir}}/sql_orders.py", {args}]
timeout = "60s"
target = {{ duckdb = "target.duckdb", table = "orders" }}
"#
    )
}

/// The rows run `run` (1-based) reads with an id watermark on an insert-only history whose
/// commits are instant: the ids visible at its time above the largest id visible at the run
/// before.
fn batch_of_run(loaded: &LoadedScenario, run: usize) -> u64 {
    let history = runner::simulate(loaded, None);
    let visible_max = |time_us: i64| {
        let range = history.committed_between(i64::MIN, time_us);
        history.id[range].iter().copied().max().unwrap_or(0)
    };
    let before = visible_max(history.run_times_us[run - 2]);
    let range = history.committed_between(i64::MIN, history.run_times_us[run - 1]);
    history.id[range].iter().filter(|&&id| id > before).count() as u64
}

#[test]
fn a_pipeline_killed_after_its_write_and_before_saving_its_state_replays_the_batch() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline(
            "append_state_after",
            r#""--state", "file-after", "--write", "append""#,
        ),
        r#"[faults]
crashes = [{ run = 3, point = "after_write", strategy = "append_state_after" }]
restart = "immediately""#,
    );
    let (loaded, results) = common::load_and_run_pipelines(&text);
    let p = common::strategy(&results, "append_state_after");
    let batch = batch_of_run(&loaded, 3);
    assert!(batch > 0);
    // The write landed, the watermark did not: the retry appends the same batch again.
    assert_eq!(p.permanent.duplicate, batch);
    assert_eq!(p.permanent.missing, 0);
    let attempts = &p.pipeline.as_ref().unwrap().attempts;
    let killed: Vec<_> = attempts
        .iter()
        .filter(|a| matches!(a.ending, AttemptEnding::Killed { .. }))
        .collect();
    assert_eq!(killed.len(), 1);
    assert_eq!((killed[0].run, killed[0].attempt), (3, 1));
    assert_eq!(
        killed[0].ending,
        AttemptEnding::Killed {
            point: Some(CrashPoint::AfterWrite)
        }
    );
    assert_eq!(
        killed[0].points,
        ["before_read", "after_read", "after_write"],
        "killed right at the point it announced, nothing after"
    );
}

#[test]
fn points_announced_on_the_fifo_are_killed_at_exactly_as_on_stderr() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline(
            "fifo",
            r#""--state", "file-after", "--write", "append", "--points", "fifo""#,
        ),
        r#"[faults]
crashes = [{ run = 3, point = "after_write", strategy = "fifo" }]
restart = "immediately""#,
    );
    let (loaded, results) = common::load_and_run_pipelines(&text);
    let p = common::strategy(&results, "fifo");
    assert_eq!(p.permanent.duplicate, batch_of_run(&loaded, 3));
    let first_of_run_3 = p
        .pipeline
        .as_ref()
        .unwrap()
        .attempts
        .iter()
        .find(|a| a.run == 3);
    assert_eq!(
        first_of_run_3.unwrap().points,
        ["before_read", "after_read", "after_write"]
    );
}

#[test]
fn a_pipeline_killed_after_saving_its_state_and_before_its_write_loses_the_batch() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline("state_first", r#""--state", "file-before""#),
        r#"[faults]
crashes = [{ run = 3, point = "after_state_commit", strategy = "state_first" }]
restart = "immediately""#,
    );
    let (loaded, results) = common::load_and_run_pipelines(&text);
    let p = common::strategy(&results, "state_first");
    let batch = batch_of_run(&loaded, 3);
    assert!(batch > 0);
    assert_eq!(p.permanent.missing, batch);
    assert_eq!(
        p.permanent.duplicate + p.permanent.stale + p.permanent.ghost,
        0
    );
    assert_eq!(p.per_run[2].attempts, 2, "killed once, retried once");
    let reason = &p.sample_wrong_keys[0].reason;
    assert!(reason.starts_with("missing:"), "{reason}");
    assert!(
        reason.contains("run 3 attempt 1 killed at after_state_commit"),
        "{reason}"
    );
    // The built-in strategy in the same world is exact: the loss is the kill's.
    assert!(common::strategy(&results, "watermark_id")
        .permanent
        .is_exact());
}

#[test]
fn a_watermark_committed_with_the_data_survives_kills_at_every_point() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline("in_target", r#""--state", "target""#),
        r#"[faults]
crash_probability = 0.6
points = ["before_read", "after_read", "after_write"]
restart = "immediately""#,
    );
    let (_, results) = common::load_and_run_pipelines(&text);
    let p = common::strategy(&results, "in_target");
    let kills = p
        .pipeline
        .as_ref()
        .unwrap()
        .attempts
        .iter()
        .filter(|a| matches!(a.ending, AttemptEnding::Killed { .. }))
        .count();
    assert!(kills >= 2, "the plan must strike: {kills} kills");
    assert!(p.permanent.is_exact(), "{:?}", p.permanent);
    assert_eq!(p.pipeline.as_ref().unwrap().failed_runs, 0);
}

#[test]
fn a_pipeline_that_behaves_like_its_model_loses_the_same_keys() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    // Late inserts: an id watermark overtakes them, in the pipeline as in `watermark_id`.
    let mut text = sql_scenario(
        &python,
        &format!(
            "{}model = \"watermark_id\"\n",
            sql_pipeline("sql", r#""--state", "target""#)
        ),
        "",
    );
    text = text.replace(
        r#"commit_delay = { dist = "constant", value = "0s" }"#,
        r#"commit_delay = { dist = "constant", value = "0s" }
late_fraction = 0.1
late_delay = { dist = "uniform", low = "1min", high = "2min" }"#,
    );
    let (_, results) = common::load_and_run_pipelines(&text);
    let p = common::strategy(&results, "sql");
    let model = p.pipeline.as_ref().unwrap().model.as_ref().unwrap();
    let builtin = common::strategy(&results, "watermark_id");
    assert!(builtin.permanent.missing > 0, "the scenario must lose rows");
    assert!(model.same, "{model:?}");
    assert_eq!(model.pipeline_wrong_keys, builtin.permanent_wrong_keys);
    assert_eq!(p.permanent, builtin.permanent);
    // Seen from outside: the target already held higher ids when the late insert committed.
    let lost = &p.sample_wrong_keys[0];
    let held_up_to: i64 = lost
        .reason
        .split("the target already held ids up to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", lost.reason));
    assert!(held_up_to > lost.id, "{}", lost.reason);
}

#[test]
fn a_pipeline_unlike_its_model_is_told_the_keys_where_they_part() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &format!(
            "{}model = \"full\"\n",
            sql_pipeline("state_first", r#""--state", "file-before""#)
        ),
        r#"[faults]
crashes = [{ run = 2, point = "after_state_commit", strategy = "state_first" }]"#,
    );
    let (_, results) = common::load_and_run_pipelines(&text);
    let p = common::strategy(&results, "state_first");
    let model = p.pipeline.as_ref().unwrap().model.as_ref().unwrap();
    assert!(!model.same);
    assert_eq!(model.model_wrong_keys, 0);
    assert_eq!(model.differing_keys, p.permanent_wrong_keys);
    assert!(model.differing_keys > 0);
    assert!(model
        .differences
        .iter()
        .all(|d| d.model.is_none() && d.pipeline.is_some()));
}

#[test]
fn explain_tells_a_pipeline_keys_story_with_its_kill() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline("state_first", r#""--state", "file-before""#),
        r#"[faults]
crashes = [{ run = 3, point = "after_state_commit", strategy = "state_first" }]"#,
    );
    let (loaded, results) = common::load_and_run_pipelines(&text);
    let sample = &common::strategy(&results, "state_first").sample_wrong_keys[0];
    let lost = sample.id;
    let story = incrlab::explain_key::explain_key(&loaded, "state_first", lost, None).unwrap();
    // The run's own reason (from what it tracked per key) and the story's (from watching the
    // key) are told from the same facts.
    assert_eq!(story.reason, sample.reason);
    assert!(
        story.reason.contains("the target never held the key"),
        "{}",
        story.reason
    );
    assert_eq!(story.class, Some(incrlab::verify::DivergenceClass::Missing));
    assert_eq!(story.strategy, "pipeline");
    assert!(
        story.reason.contains("killed at after_state_commit"),
        "{}",
        story.reason
    );
    let lines = story.lines().join("\n");
    assert!(
        lines.contains("ran the pipeline (attempt 1 killed at after_state_commit)"),
        "{lines}"
    );
}

#[test]
fn every_pipeline_example_loads_and_names_its_pipelines_in_expectations() {
    if common::python_or_skip().is_none() {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let loaded = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let s = &loaded.scenario;
        assert!(!s.pipelines.is_empty(), "{}", file.display());
        for p in &s.pipelines {
            assert!(
                s.expectations.iter().any(|e| e.strategy == p.label),
                "{}: pipeline {} has no [[expect]]",
                file.display(),
                p.label
            );
        }
    }
}
