//! Outside pipelines: a command run at every tick against the released source, killed from
//! outside, and judged by its target. The SQL example (Python's `duckdb` package) stands in for
//! a team's pipeline; expected counts come from the history, not from the pipeline.
//!
//! Tests that need Python with `duckdb` skip with a message where it is missing, unless
//! `INCRLAB_REQUIRE_PYTHON=1` (set by `.ci/run`) makes the missing interpreter a failure.

mod common;

use std::path::{Path, PathBuf};

use incrlab::results::{AttemptEnding, RunResults};
use incrlab::runner::{self, RunOptions};
use incrlab::scenario::{CrashPoint, LoadedScenario, Scenario};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipelines")
}

/// The Python that runs the examples, if it has `duckdb`.
fn python_or_skip() -> Option<String> {
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
fn scenario(text: &str) -> LoadedScenario {
    let path = examples_dir().join("test-scenario.toml");
    let scenario = Scenario::parse(&path, text).unwrap_or_else(|e| panic!("{e}"));
    LoadedScenario { path, scenario }
}

fn run(loaded: &LoadedScenario) -> RunResults {
    runner::run(
        loaded,
        &RunOptions {
            jobs: Some(2),
            ..RunOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

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
    let Some(python) = python_or_skip() else {
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
    let loaded = scenario(&text);
    let results = run(&loaded);
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
    let Some(python) = python_or_skip() else {
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
    let loaded = scenario(&text);
    let results = run(&loaded);
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
    let Some(python) = python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline("state_first", r#""--state", "file-before""#),
        r#"[faults]
crashes = [{ run = 3, point = "after_state_commit", strategy = "state_first" }]
restart = "immediately""#,
    );
    let loaded = scenario(&text);
    let results = run(&loaded);
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
    let Some(python) = python_or_skip() else {
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
    let results = run(&scenario(&text));
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
    let Some(python) = python_or_skip() else {
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
    let results = run(&scenario(&text));
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
    let Some(python) = python_or_skip() else {
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
    let results = run(&scenario(&text));
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
fn a_hung_pipeline_is_killed_as_a_group_at_its_timeout() {
    // A shell whose child sleeps: the group kill must take the child too.
    let marker = "31.4159";
    let text = format!(
        r#"
name = "hung"
[table]
rows = 50
[schedule]
runs = 1
interval = "1min"
[[pipeline]]
label = "hung"
command = ["sh", "-c", "sleep {marker}; true"]
timeout = "300ms"
target = {{ duckdb = "target.duckdb", table = "orders" }}
"#
    );
    let results = run(&scenario(&text));
    let p = common::strategy(&results, "hung");
    let first = &p.pipeline.as_ref().unwrap().attempts[0];
    assert_eq!(first.ending, AttemptEnding::TimedOut);
    assert!(first.elapsed_ms < 5_000.0, "{}", first.elapsed_ms);
    let failure = p.per_run[0].failure.as_deref().unwrap();
    assert!(
        failure.contains("pipeline `hung`") && failure.contains("timeout"),
        "{failure}"
    );
    assert_eq!(
        p.permanent.missing,
        live_keys_at_the_end(&scenario(&text)),
        "an empty target misses every row"
    );
    assert!(
        !process_with_arg_exists(marker),
        "the sleeping child outlived its group's kill"
    );
}

/// Whether any process has `arg` among its arguments.
fn process_with_arg_exists(arg: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmdline| cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
}

#[test]
fn a_target_that_never_appears_is_a_failed_run_not_an_error() {
    let text = r#"
name = "no_target"
[table]
rows = 30
[schedule]
runs = 2
interval = "1min"
[[pipeline]]
label = "does_nothing"
command = ["true"]
target = { duckdb = "target.duckdb", table = "orders" }
"#;
    let results = run(&scenario(text));
    let p = common::strategy(&results, "does_nothing");
    let failure = p.per_run[0].failure.as_deref().unwrap();
    assert!(
        failure.contains("does_nothing")
            && failure.contains("target.duckdb")
            && failure.contains("does not exist"),
        "{failure}"
    );
    assert_eq!(
        p.pipeline.as_ref().unwrap().failed_runs,
        p.per_run.len() as u32
    );
    assert_eq!(p.permanent.missing, live_keys_at_the_end(&scenario(text)));
}

/// Keys live once every transaction has committed, replayed from the history.
fn live_keys_at_the_end(loaded: &LoadedScenario) -> u64 {
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

#[test]
fn a_non_zero_exit_is_a_failed_attempt_retried_like_a_crash() {
    let text = r#"
name = "exits"
[table]
rows = 10
[schedule]
runs = 1
interval = "1min"
[faults]
restart = "immediately"
[[pipeline]]
label = "exits"
command = ["sh", "-c", "echo broken >&2; exit 3"]
target = { duckdb = "target.duckdb", table = "orders" }
"#;
    let results = run(&scenario(text));
    let p = common::strategy(&results, "exits");
    let attempts = &p.pipeline.as_ref().unwrap().attempts;
    let of_run_1: Vec<_> = attempts.iter().filter(|a| a.run == 1).collect();
    assert_eq!(of_run_1.len() as u32, incrlab::scenario::MAX_ATTEMPTS);
    assert!(of_run_1
        .iter()
        .all(|a| a.ending == AttemptEnding::Exited { code: 3 }));
    assert_eq!(p.per_run[0].attempts, incrlab::scenario::MAX_ATTEMPTS);
}

#[test]
fn kill_after_strikes_after_the_delay_drawn_from_the_fault_seed() {
    let text = r#"
name = "kill_after"
[table]
rows = 10
[schedule]
runs = 1
interval = "1min"
[faults]
crash_probability = 1.0
kill_after = { dist = "uniform", low = "100ms", high = "300ms" }
[[pipeline]]
label = "sleeper"
command = ["sh", "-c", "[ \"$INCRLAB_DRAIN\" = 1 ] || sleep 20"]
target = { duckdb = "target.duckdb", table = "orders" }
"#;
    let loaded = scenario(text);
    let results = run(&loaded);
    let p = common::strategy(&results, "sleeper");
    let attempt = &p.pipeline.as_ref().unwrap().attempts[0];
    assert_eq!(attempt.ending, AttemptEnding::Killed { point: None });
    let planned = attempt.planned_kill_after_us.unwrap();
    assert!((100_000..=300_000).contains(&planned), "{planned}");
    assert!(
        attempt.elapsed_ms >= planned as f64 / 1e3,
        "{}",
        attempt.elapsed_ms
    );
    assert!(attempt.elapsed_ms < 5_000.0);
    // The same seed plans the same delay.
    let again = run(&loaded);
    let planned_again = common::strategy(&again, "sleeper")
        .pipeline
        .as_ref()
        .unwrap()
        .attempts[0]
        .planned_kill_after_us;
    assert_eq!(planned_again, Some(planned));
}

#[test]
fn explain_tells_a_pipeline_keys_story_with_its_kill() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let text = sql_scenario(
        &python,
        &sql_pipeline("state_first", r#""--state", "file-before""#),
        r#"[faults]
crashes = [{ run = 3, point = "after_state_commit", strategy = "state_first" }]"#,
    );
    let loaded = scenario(&text);
    let results = run(&loaded);
    let lost = common::strategy(&results, "state_first").sample_wrong_keys[0].id;
    let story = incrlab::explain_key::explain_key(&loaded, "state_first", lost, None).unwrap();
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

/// Starts `incrlab run` on a scenario whose pipeline sleeps (its argument `marker`), and waits
/// until the sleeping process exists.
fn start_sleeping_run(dir: &Path, marker: &str) -> std::process::Child {
    let file = dir.join("sleepy.toml");
    std::fs::write(
        &file,
        format!(
            r#"
name = "sleepy"
[table]
rows = 10
[schedule]
runs = 1
interval = "1min"
[[pipeline]]
label = "sleepy"
command = ["sleep", "{marker}"]
target = {{ duckdb = "target.duckdb", table = "orders" }}
"#
        ),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["run", "--quiet", "--out"])
        .arg(dir.join("out"))
        .arg(&file)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !process_with_arg_exists(marker) {
        assert!(
            started.elapsed().as_secs() < 20,
            "the pipeline never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

fn wait_until_gone(marker: &str) -> bool {
    let started = std::time::Instant::now();
    while process_with_arg_exists(marker) {
        if started.elapsed().as_secs() > 5 {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

#[test]
fn an_interrupted_run_kills_its_pipelines_and_keeps_the_previous_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("results.json"), "previous").unwrap();
    let marker = "61.2718";
    let mut child = start_sleeping_run(dir.path(), marker);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130));
    assert!(
        wait_until_gone(marker),
        "the pipeline outlived the interrupted run"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("results.json")).unwrap(),
        "previous"
    );
}

#[test]
fn a_killed_incrlab_takes_its_pipeline_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = "62.5772";
    let mut child = start_sleeping_run(dir.path(), marker);
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    assert!(
        wait_until_gone(marker),
        "the pipeline outlived a SIGKILLed incrlab"
    );
}

#[test]
fn every_pipeline_example_loads_and_names_its_pipelines_in_expectations() {
    if python_or_skip().is_none() {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
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
