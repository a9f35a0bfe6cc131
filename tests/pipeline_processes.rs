//! Outside pipelines as processes: timeouts, non-zero exits, kills after a drawn delay, an
//! interrupted or SIGKILLed incrlab — none leaves a process behind. Plain `sh` and `sleep`
//! stand in for a pipeline, so these need no Python.

mod common;

use std::path::Path;

use incrlab::results::AttemptEnding;

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
    let (loaded, results) = common::load_and_run_pipelines(&text);
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
        common::live_keys_at_the_end(&loaded),
        "an empty target misses every row"
    );
    assert!(
        !common::process_with_arg_exists(marker),
        "the sleeping child outlived its group's kill"
    );
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
    let (loaded, results) = common::load_and_run_pipelines(text);
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
    assert_eq!(p.permanent.missing, common::live_keys_at_the_end(&loaded));
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
    let (_, results) = common::load_and_run_pipelines(text);
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
    let (loaded, results) = common::load_and_run_pipelines(text);
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
    let again = common::run_pipelines(&loaded);
    let planned_again = common::strategy(&again, "sleeper")
        .pipeline
        .as_ref()
        .unwrap()
        .attempts[0]
        .planned_kill_after_us;
    assert_eq!(planned_again, Some(planned));
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
    while !common::process_with_arg_exists(marker) {
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
    while common::process_with_arg_exists(marker) {
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
