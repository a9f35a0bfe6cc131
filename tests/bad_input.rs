//! Bad scenario input: one clear message naming the file, the key and what is wrong; exit
//! code 2; nothing written.

use std::path::Path;
use std::process::Command;

const GOOD: &str = r#"
name = "bad_input_case"
seed = 1
[table]
rows = 100
[schedule]
runs = 3
interval = "1min"
[churn]
deletes = 10
[timestamps]
granularity = "1ms"
[[strategy]]
kind = "cdc"
"#;

struct Outcome {
    code: Option<i32>,
    stderr: String,
    out_dir_exists: bool,
}

fn run_with(file_name: &str, text: Option<&str>) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join(file_name);
    if let Some(text) = text {
        std::fs::write(&scenario, text).unwrap();
    }
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .current_dir(dir.path())
        .output()
        .unwrap();
    Outcome {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        out_dir_exists: out.exists() || Path::new(&dir.path().join("reports")).exists(),
    }
}

fn assert_rejected(outcome: &Outcome, file: &str, needles: &[&str]) {
    assert_eq!(outcome.code, Some(2), "stderr: {}", outcome.stderr);
    assert!(
        outcome.stderr.contains(file),
        "names the file: {}",
        outcome.stderr
    );
    for needle in needles {
        assert!(
            outcome.stderr.contains(needle),
            "mentions {needle:?}: {}",
            outcome.stderr
        );
    }
    assert_eq!(
        outcome.stderr.trim().lines().count(),
        1,
        "one message: {}",
        outcome.stderr
    );
    assert!(!outcome.out_dir_exists, "nothing written");
}

#[test]
fn the_good_baseline_runs() {
    let outcome = run_with("good.toml", Some(GOOD));
    assert_eq!(outcome.code, Some(0), "stderr: {}", outcome.stderr);
}

#[test]
fn an_engine_kind_incrlab_does_not_have_is_named() {
    let text = GOOD.replace("[table]", "[engine]\nkind = \"spark\"\n[table]");
    let outcome = run_with("engine.toml", Some(&text));
    assert_rejected(
        &outcome,
        "engine.toml",
        &["engine.kind", "spark", "duckdb", "polars"],
    );
}

#[test]
fn both_engine_kinds_are_accepted() {
    for kind in ["duckdb", "polars"] {
        let text = GOOD.replace("[table]", &format!("[engine]\nkind = \"{kind}\"\n[table]"));
        let outcome = run_with(&format!("{kind}.toml"), Some(&text));
        assert_eq!(outcome.code, Some(0), "{kind}: stderr: {}", outcome.stderr);
    }
}

#[test]
fn zero_rows_per_transaction_is_named() {
    let text = GOOD.replace("[timestamps]", "[transactions]\nrows = 0\n[timestamps]");
    let outcome = run_with("rows.toml", Some(&text));
    assert_rejected(&outcome, "rows.toml", &["transactions.rows", "at least 1"]);
}

#[test]
fn missing_file_is_bad_input() {
    let outcome = run_with("nowhere.toml", None);
    assert_rejected(&outcome, "nowhere.toml", &["file not found"]);
}

#[test]
fn toml_syntax_error_names_the_line() {
    let text = GOOD.replace("runs = 3", "runs = = 3");
    let outcome = run_with("syntax.toml", Some(&text));
    assert_rejected(&outcome, "syntax.toml", &["line 7"]);
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = GOOD.replace("kind = \"cdc\"", "kind = \"cdc\"\nlagg = \"5s\"");
    let outcome = run_with("unknown.toml", Some(&text));
    assert_rejected(
        &outcome,
        "unknown.toml",
        &["`strategy.lagg`", "line 15", "unknown field"],
    );
}

#[test]
fn negative_value_is_named() {
    let text = GOOD.replace("rows = 100", "rows = -5");
    let outcome = run_with("negative.toml", Some(&text));
    assert_rejected(&outcome, "negative.toml", &["`table.rows`", "line 5", "-5"]);
}

#[test]
fn negative_churn_is_named() {
    let text = GOOD.replace("deletes = 10", "deletes = -10");
    let outcome = run_with("negative_churn.toml", Some(&text));
    assert_rejected(
        &outcome,
        "negative_churn.toml",
        &["`churn.deletes`", "must not be negative"],
    );
}

#[test]
fn more_deletes_than_rows_is_contradictory() {
    let text = GOOD.replace("deletes = 10", "deletes = 500");
    let outcome = run_with("deletes.toml", Some(&text));
    assert_rejected(
        &outcome,
        "deletes.toml",
        &["`churn.deletes`", "line 10", "more deletes than rows"],
    );
}

#[test]
fn zero_granularity_is_rejected() {
    let text = GOOD.replace("granularity = \"1ms\"", "granularity = \"0s\"");
    let outcome = run_with("granularity.toml", Some(&text));
    assert_rejected(
        &outcome,
        "granularity.toml",
        &["`timestamps.granularity`", "line 12", "must be positive"],
    );
}

#[test]
fn zero_runs_is_rejected() {
    let text = GOOD.replace("runs = 3", "runs = 0");
    let outcome = run_with("runs.toml", Some(&text));
    assert_rejected(
        &outcome,
        "runs.toml",
        &["`schedule.runs`", "line 7", "zero runs"],
    );
}

#[test]
fn knob_on_the_wrong_strategy_is_rejected() {
    let text = GOOD.replace("kind = \"cdc\"", "kind = \"cdc\"\nlag = \"5s\"");
    let outcome = run_with("knob.toml", Some(&text));
    assert_rejected(
        &outcome,
        "knob.toml",
        &["`strategy[1].lag`", "line 15", "applies to updated_at"],
    );
}

#[test]
fn unparseable_duration_is_named() {
    let text = GOOD.replace("interval = \"1min\"", "interval = \"soon\"");
    let outcome = run_with("duration.toml", Some(&text));
    assert_rejected(
        &outcome,
        "duration.toml",
        &["`schedule.interval`", "line 8", "invalid duration"],
    );
}

#[test]
fn a_negative_price_is_named() {
    let text = format!("{GOOD}\n[cost]\nprice_per_tb_scanned = -1.0\n");
    let outcome = run_with("price.toml", Some(&text));
    assert_rejected(
        &outcome,
        "price.toml",
        &["`cost.price_per_tb_scanned`", "must be a price"],
    );
}

#[test]
fn a_zero_source_bandwidth_is_rejected() {
    let text = format!("{GOOD}\n[cost]\nsource_read_mb_per_s = 0\n");
    let outcome = run_with("bandwidth.toml", Some(&text));
    assert_rejected(
        &outcome,
        "bandwidth.toml",
        &["`cost.source_read_mb_per_s`", "bandwidth > 0"],
    );
}

#[test]
fn a_crash_listed_outside_the_schedule_is_named() {
    let text = format!("{GOOD}\n[faults]\ncrashes = [{{ run = 9, point = \"mid_write\" }}]\n");
    let outcome = run_with("crash_run.toml", Some(&text));
    assert_rejected(
        &outcome,
        "crash_run.toml",
        &["`faults.crashes[1].run`", "run 9 is not a scheduled run"],
    );
}

#[test]
fn an_unknown_crash_point_is_named() {
    let text = format!("{GOOD}\n[faults]\npoints = [\"during_lunch\"]\n");
    let outcome = run_with("point.toml", Some(&text));
    assert_rejected(&outcome, "point.toml", &["during_lunch", "mid_write"]);
}

#[test]
fn a_crash_probability_above_one_is_rejected() {
    let text = format!("{GOOD}\n[faults]\ncrash_probability = 1.5\n");
    let outcome = run_with("probability.toml", Some(&text));
    assert_rejected(
        &outcome,
        "probability.toml",
        &["`faults.crash_probability`", "between 0 and 1"],
    );
}

#[test]
fn state_before_write_in_a_target_table_is_contradictory() {
    let text = format!("{GOOD}state_store = \"target_table\"\ncommit_order = \"before_write\"\n");
    let outcome = run_with("order.toml", Some(&text));
    assert_rejected(
        &outcome,
        "order.toml",
        &["`strategy[1].commit_order`", "one transaction"],
    );
}

#[test]
fn an_offset_flush_on_a_strategy_without_offsets_is_rejected() {
    let text = GOOD.replace(
        "kind = \"cdc\"",
        "kind = \"watermark_id\"\noffset_flush_every = 10",
    );
    let outcome = run_with("flush.toml", Some(&text));
    assert_rejected(
        &outcome,
        "flush.toml",
        &["`strategy[1].offset_flush_every`", "applies to cdc"],
    );
}

#[test]
fn a_skipped_run_outside_the_schedule_is_named() {
    let text = GOOD.replace("runs = 3", "runs = 3\nskip_runs = [2, 4]");
    let outcome = run_with("skip.toml", Some(&text));
    assert_rejected(
        &outcome,
        "skip.toml",
        &["`schedule.skip_runs[2]`", "run 4 is not a scheduled run"],
    );
}

#[test]
fn partition_overwrite_of_a_mirror_needs_an_interval() {
    let text = GOOD.replace(
        "kind = \"cdc\"",
        "kind = \"cdc\"\nwrite = \"partition_overwrite\"",
    );
    let outcome = run_with("partition.toml", Some(&text));
    assert_rejected(
        &outcome,
        "partition.toml",
        &["`strategy[1].write`", "line 15", "owns none"],
    );
}

#[test]
fn delete_insert_into_daily_totals_is_rejected() {
    let text = GOOD.replace(
        "kind = \"cdc\"",
        "kind = \"cdc\"\nmodel = \"daily_totals\"\nwrite = \"delete_insert\"",
    );
    let outcome = run_with("totals.toml", Some(&text));
    assert_rejected(
        &outcome,
        "totals.toml",
        &["`strategy[1].write`", "partition_overwrite"],
    );
}

#[test]
fn file_listing_into_daily_totals_is_rejected() {
    let text = GOOD.replace(
        "kind = \"cdc\"",
        "kind = \"file_listing\"\nmodel = \"daily_totals\"",
    );
    let outcome = run_with("listing.toml", Some(&text));
    assert_rejected(
        &outcome,
        "listing.toml",
        &["`strategy[1].model`", "line 15", "reads files"],
    );
}

#[test]
fn lookback_on_a_strategy_without_intervals_is_rejected() {
    let text = GOOD.replace("kind = \"cdc\"", "kind = \"cdc\"\nlookback = 2");
    let outcome = run_with("lookback.toml", Some(&text));
    assert_rejected(
        &outcome,
        "lookback.toml",
        &["`strategy[1].lookback`", "line 15", "applies to interval"],
    );
}

#[test]
fn a_rewrite_fraction_above_one_is_rejected() {
    let text = format!("{GOOD}\n[landing]\nrewrite_fraction = 1.5\n");
    let outcome = run_with("landing.toml", Some(&text));
    assert_rejected(
        &outcome,
        "landing.toml",
        &["`landing.rewrite_fraction`", "between 0 and 1"],
    );
}

#[test]
fn an_event_time_late_fraction_above_one_is_rejected() {
    let text = format!("{GOOD}\n[event_time]\nlate_fraction = 2.0\n");
    let outcome = run_with("event_time.toml", Some(&text));
    assert_rejected(
        &outcome,
        "event_time.toml",
        &["`event_time.late_fraction`", "between 0 and 1"],
    );
}

const PIPELINE: &str = r#"
[[pipeline]]
label = "mine"
command = ["true"]
target = { duckdb = "target.duckdb", table = "orders" }
"#;

#[test]
fn a_pipeline_program_that_does_not_exist_is_named_before_anything_runs() {
    let text = format!(
        "{GOOD}{}",
        PIPELINE.replace("[\"true\"]", "[\"no-such-program-xyz\"]")
    );
    let outcome = run_with("program.toml", Some(&text));
    assert_rejected(
        &outcome,
        "program.toml",
        &[
            "pipeline[1].command",
            "no-such-program-xyz",
            "`mine`",
            "not found",
        ],
    );
}

#[test]
fn a_pipeline_model_that_is_not_a_strategy_of_the_scenario_is_named() {
    let text = format!("{GOOD}{PIPELINE}model = \"updated_at>\"\n");
    let outcome = run_with("model.toml", Some(&text));
    assert_rejected(
        &outcome,
        "model.toml",
        &["pipeline[1].model", "updated_at>", "cdc"],
    );
}

#[test]
fn a_pipeline_target_outside_its_work_directory_is_refused() {
    let text = format!(
        "{GOOD}{}",
        PIPELINE.replace("target.duckdb", "../elsewhere.duckdb")
    );
    let outcome = run_with("escape.toml", Some(&text));
    assert_rejected(
        &outcome,
        "escape.toml",
        &["pipeline[1].target.duckdb", ".."],
    );
}

#[test]
fn a_pipeline_label_taken_by_a_strategy_is_refused() {
    let text = format!("{GOOD}{}", PIPELINE.replace("\"mine\"", "\"cdc\""));
    let outcome = run_with("label.toml", Some(&text));
    assert_rejected(
        &outcome,
        "label.toml",
        &["pipeline[1].label", "`cdc`", "already used"],
    );
}

#[test]
fn a_negative_kill_after_is_named() {
    let text = format!(
        "{GOOD}[faults]\nkill_after = {{ dist = \"normal\", mean = \"1s\", std = \"1s\" }}\n{PIPELINE}"
    );
    let outcome = run_with("kill_after.toml", Some(&text));
    assert_rejected(
        &outcome,
        "kill_after.toml",
        &["faults.kill_after", "negative"],
    );
}

#[test]
fn same_as_model_on_a_pipeline_without_a_model_is_named() {
    let text = format!("{GOOD}{PIPELINE}\n[[expect]]\nstrategy = \"mine\"\nsame_as_model = true\n");
    let outcome = run_with("same.toml", Some(&text));
    assert_rejected(
        &outcome,
        "same.toml",
        &["expect[1].same_as_model", "`mine`"],
    );
}

#[test]
fn boundary_dedupe_needs_an_inclusive_updated_at_without_lag() {
    let text = GOOD.replace(
        "kind = \"cdc\"",
        "kind = \"updated_at\"\nboundary = \">\"\nboundary_dedupe = \"key\"",
    );
    let outcome = run_with("dedupe.toml", Some(&text));
    assert_rejected(
        &outcome,
        "dedupe.toml",
        &["strategy[1].boundary_dedupe", ">="],
    );
    let text = GOOD.replace(
        "kind = \"cdc\"",
        "kind = \"updated_at\"\nboundary = \">=\"\nlag = \"5s\"\nboundary_dedupe = \"key\"",
    );
    let outcome = run_with("dedupe_lag.toml", Some(&text));
    assert_rejected(
        &outcome,
        "dedupe_lag.toml",
        &["strategy[1].boundary_dedupe", "lag"],
    );
}
