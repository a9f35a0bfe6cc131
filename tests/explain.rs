//! `incrlab explain` and the reasons attached to sample wrong keys: each names the mechanism
//! that lost the key, with the figures behind it.

mod common;

use std::process::Command;

use incrlab::explain_key::explain_key;

fn incrlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_sample_wrong_key_carries_a_reason_naming_its_class() {
    let results = common::run(&common::load("quickstart.toml"));
    let mut seen = 0;
    for s in &results.strategies {
        for k in &s.sample_wrong_keys {
            let class = format!("{:?}", k.class).to_lowercase();
            assert!(
                k.reason.starts_with(&format!("{class}:")),
                "{} key {}: {}",
                s.label,
                k.id,
                k.reason
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "the quickstart loses keys to explain");
}

#[test]
fn a_key_lost_to_a_fast_clock_is_explained_by_the_watermark_running_ahead() {
    let results = common::run(&common::load("clock_skew.toml"));
    let lost = common::strategy(&results, "updated_at>");
    let missing = lost
        .sample_wrong_keys
        .iter()
        .find(|k| k.reason.starts_with("missing"))
        .expect("clock skew loses inserts");
    assert!(
        missing.reason.contains("a writer's clock runs ahead"),
        "{}",
        missing.reason
    );
    assert!(
        missing.reason.contains("below the bound"),
        "{}",
        missing.reason
    );
}

#[test]
fn an_update_under_an_id_watermark_is_explained_as_invisible_to_id_reads() {
    let results = common::run(&common::load("quickstart.toml"));
    let wm = common::strategy(&results, "watermark_id");
    let stale = wm
        .sample_wrong_keys
        .iter()
        .find(|k| k.reason.starts_with("stale"))
        .expect("watermark_id misses updates");
    assert!(
        stale.reason.contains("never changes to old ones"),
        "{}",
        stale.reason
    );
}

#[test]
fn a_hard_delete_is_explained_as_leaving_nothing_to_read() {
    let results = common::run(&common::load("quickstart.toml"));
    let ts = common::strategy(&results, "updated_at>");
    let ghost = ts
        .sample_wrong_keys
        .iter()
        .find(|k| k.reason.starts_with("ghost"))
        .expect("quickstart hard-deletes rows");
    assert!(ghost.reason.contains("hard delete"), "{}", ghost.reason);
}

#[test]
fn the_story_ends_with_the_same_reason_and_follows_the_target_run_by_run() {
    let loaded = common::load("clock_skew.toml");
    let plain = common::run(&loaded);
    let lost = common::strategy(&plain, "updated_at>");
    let sample = &lost.sample_wrong_keys[0];
    let story = explain_key(&loaded, "updated_at>", sample.id, None).unwrap();
    assert_eq!(story.reason, sample.reason);
    assert_eq!(story.class, Some(sample.class));
    // One entry per run, each with what the oracle found in the target after it.
    assert_eq!(story.runs.len(), lost.per_run.len());
    assert!(story.runs.iter().all(|r| r.held.is_some()));
    let last = story.runs.last().unwrap().held.as_ref().unwrap();
    assert_eq!(last.held_lsns, sample.held_lsns);
}

#[test]
fn explain_json_carries_the_story_as_data() {
    let scenario = common::scenarios_dir().join("quickstart.toml");
    let out = incrlab(&[
        "explain",
        scenario.to_str().unwrap(),
        "--strategy",
        "watermark_id",
        "--key",
        "17",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let story: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(story["key"], 17);
    assert_eq!(story["label"], "watermark_id");
    let versions = story["versions"].as_array().unwrap();
    assert!(!versions.is_empty());
    let lsns: Vec<i64> = versions
        .iter()
        .map(|v| v["lsn"].as_i64().unwrap())
        .collect();
    assert!(
        lsns.windows(2).all(|w| w[0] < w[1]),
        "versions in lsn order: {lsns:?}"
    );
    assert!(story["runs"].as_array().unwrap().len() >= 12);
    assert!(story["reason"].is_string());
}

#[test]
fn derived_reads_agree_with_what_the_engine_wrote() {
    // For an upsert strategy, a run that read a version of the key leaves the target holding
    // it: the read derived from the strategy's plan matches what the engine actually did.
    let loaded = common::load("quickstart.toml");
    let labels: Vec<String> = loaded
        .scenario
        .strategies
        .iter()
        .map(|s| s.label())
        .collect();
    let mut checked = 0;
    for key in [3, 17, 250, 4_000, 9_999] {
        for label in &labels {
            let story = explain_key(&loaded, label, key, None).unwrap();
            for r in story.runs.iter().filter(|r| !r.read_lsns.is_empty()) {
                let last_read = *r.read_lsns.last().unwrap();
                let version = story.versions.iter().find(|v| v.lsn == last_read).unwrap();
                if version.op == incrlab::sim::Op::Delete || version.is_deleted {
                    continue; // a delete leaves nothing to hold
                }
                let held = &r.held.as_ref().unwrap().held_lsns;
                assert!(
                    held.contains(&last_read),
                    "{label} key {key} run {}: read {:?} but holds {held:?}",
                    r.run,
                    r.read_lsns
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} reads checked");
}

#[test]
fn explain_rejects_an_unknown_strategy_and_an_unknown_key() {
    let scenario = common::scenarios_dir().join("quickstart.toml");
    let scenario = scenario.to_str().unwrap();
    let out = incrlab(&["explain", scenario, "--strategy", "nope", "--key", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("watermark_id"));
    let out = incrlab(&["explain", scenario, "--strategy", "cdc", "--key", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_late_event_lost_by_an_interval_is_explained_by_its_window() {
    let results = common::run(&common::load("event_time_intervals.toml"));
    let interval = common::strategy(&results, "interval+lookback1");
    let late = interval
        .sample_wrong_keys
        .iter()
        .find(|k| k.reason.contains("behind its begin"))
        .expect("a sample key lost to event-time lateness");
    assert!(late.reason.starts_with("missing:"), "{}", late.reason);
    assert!(
        late.reason.contains("read event_time in [")
            && late.reason.contains("windows only move forward"),
        "{}",
        late.reason
    );
}

#[test]
fn a_file_listing_by_name_names_the_rewrite_it_never_read() {
    let results = common::run(&common::load("file_listing.toml"));
    let by_name = common::strategy(&results, "file_listing");
    let stale = by_name
        .sample_wrong_keys
        .iter()
        .find(|k| k.reason.starts_with("stale:"))
        .expect("a stale sample key");
    assert!(
        stale.reason.contains("rewriting a file in place"),
        "{}",
        stale.reason
    );
    let ghost = by_name
        .sample_wrong_keys
        .iter()
        .find(|k| k.reason.starts_with("ghost:"))
        .expect("a ghost sample key");
    assert!(ghost.reason.contains("no tombstone"), "{}", ghost.reason);
}

#[test]
fn explain_refuses_a_totals_strategy_with_a_pointer_to_its_wrong_days() {
    let scenario = common::scenarios_dir().join("daily_totals.toml");
    let out = incrlab(&[
        "explain",
        scenario.to_str().unwrap(),
        "--strategy",
        "cdc+daily_totals+append",
        "--key",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("daily totals"), "{stderr}");
}
