//! A scenario this machine cannot hold is refused before anything is generated: exit 2, the
//! file, the key that drives the estimate and the estimate itself, and nothing written.

use std::process::Command;

fn scenario(rows: &str, runs: &str, interval: &str, churn: &str) -> String {
    format!(
        r#"
name = "memory_case"
seed = 1
[table]
rows = {rows}
[schedule]
runs = {runs}
interval = "{interval}"
[churn]
{churn}
[[strategy]]
kind = "full"
[[strategy]]
kind = "cdc"
"#
    )
}

struct Outcome {
    code: Option<i32>,
    stderr: String,
    wrote: bool,
}

fn incrlab(command: &str, text: &str, extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.toml"), text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args([command, "big.toml", "--out", "out"])
        .args(extra)
        .current_dir(dir.path())
        .output()
        .unwrap();
    Outcome {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        wrote: dir.path().join("out").exists() || dir.path().join("reports").exists(),
    }
}

fn assert_refused(o: &Outcome, key: &str) {
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(
        o.stderr.contains("big.toml"),
        "names the file: {}",
        o.stderr
    );
    assert!(o.stderr.contains(key), "names {key}: {}", o.stderr);
    assert!(
        o.stderr.contains("this scenario needs about") || o.stderr.contains("needs at least"),
        "gives the estimate: {}",
        o.stderr
    );
    assert!(!o.stderr.contains("memory allocation"), "{}", o.stderr);
    assert!(!o.wrote, "nothing written");
}

#[test]
fn a_table_larger_than_memory_is_refused_naming_table_rows() {
    let text = scenario("3_000_000_000", "3", "5min", "updates = \"0.1%\"");
    assert_refused(&incrlab("run", &text, &[]), "table.rows");
}

#[test]
fn many_runs_of_churn_are_refused_naming_the_churn() {
    let text = scenario("10_000", "100_000_000", "1us", "updates = \"1%\"");
    assert_refused(&incrlab("run", &text, &[]), "churn.updates");
}

#[test]
fn many_runs_without_churn_are_refused_naming_the_runs() {
    let text = scenario("1_000", "100_000_000", "1us", "updates = 0");
    assert_refused(&incrlab("run", &text, &[]), "schedule.runs");
}

#[test]
fn inserts_that_outgrow_memory_are_refused_naming_the_inserts() {
    let text = scenario("1_000", "1_000", "1min", "inserts = 10_000_000");
    assert_refused(&incrlab("run", &text, &[]), "churn.inserts");
}

#[test]
fn a_memory_limit_refuses_what_fits_the_machine_and_admits_what_fits_the_limit() {
    let text = scenario("2_000_000", "3", "5min", "updates = \"0.1%\"");
    let refused = incrlab("run", &text, &["--memory-limit", "200MB", "--quiet"]);
    assert_refused(&refused, "table.rows");
    assert!(
        refused.stderr.contains("--memory-limit"),
        "{}",
        refused.stderr
    );
    let small = scenario("2_000", "3", "5min", "updates = \"0.1%\"");
    let ran = incrlab("run", &small, &["--memory-limit", "200MB", "--quiet"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
}

#[test]
fn a_sweep_with_one_impossible_point_is_refused_before_any_point_runs() {
    let text = scenario("2_000", "3", "5min", "updates = \"0.1%\"")
        + "[sweep]\nrows = [2_000, 3_000_000_000]\n";
    assert_refused(&incrlab("sweep", &text, &["--quiet"]), "table.rows");
}

#[test]
fn a_memory_limit_that_is_not_a_size_is_bad_input() {
    let text = scenario("2_000", "3", "5min", "updates = \"0.1%\"");
    let o = incrlab("run", &text, &["--memory-limit", "lots"]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("--memory-limit"), "{}", o.stderr);
}
