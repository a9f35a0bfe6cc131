//! The oracle against a deliberately broken write: an engine whose upsert forgets `value` on
//! matched keys. With the wrapper the verdict is red; without it the same run is exact. And a
//! write split into passes by id range against the same run written whole. And when the
//! verifier reads a target back: only when its print is not the oracle's, or a key is watched.

use super::*;
use crate::engine::{
    open_broken_upsert, open_counting_target_reads, open_counting_target_scans,
    open_with_dedup_passes_of,
};
use crate::row::Column;
use crate::scenario::Scenario;
use crate::verify::DivergenceClass;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn scenario() -> LoadedScenario {
    let text = r#"
name = "broken_write"
seed = 5
[table]
rows = 500
[schedule]
runs = 4
interval = "1min"
[churn]
inserts = 10
updates = 40
[[strategy]]
kind = "cdc"
"#;
    loaded("broken_write.toml", text)
}

/// A scenario parsed from `text` as if read from the file `name`.
fn loaded(name: &str, text: &str) -> LoadedScenario {
    let path = std::path::PathBuf::from(name);
    let scenario = Scenario::parse(&path, text).unwrap();
    LoadedScenario { path, scenario }
}

#[test]
fn an_upsert_that_forgets_a_column_is_caught_as_stale() {
    let loaded = scenario();
    let broken = run_with(&loaded, &RunOptions::default(), |storage| {
        open_broken_upsert(storage, Column::Value)
    })
    .unwrap();
    let cdc = &broken.strategies[0];
    assert!(
        cdc.permanent.stale > 0,
        "the broken upsert passed: {:?}",
        cdc.permanent
    );
    assert_eq!(cdc.permanent.missing + cdc.permanent.ghost, 0);
    let sample = &cdc.sample_wrong_keys[0];
    assert_eq!(sample.class, DivergenceClass::Stale);
    // The right version, with the wrong value.
    assert_eq!(sample.found_lsn, sample.expected_lsn);
    assert_eq!(sample.wrong_columns, vec!["value".to_string()]);
    assert!(sample.reason.contains("value"), "{}", sample.reason);
}

#[test]
fn the_same_run_without_the_broken_wrapper_is_exact() {
    let results = run(&scenario(), &RunOptions::default()).unwrap();
    assert!(results.strategies[0].permanent.is_exact());
    assert!(results.strategies[0].worst.is_exact());
}

#[test]
fn the_lockstep_engine_names_the_run_strategy_and_key_where_two_engines_part() {
    // A correct engine against one whose upsert forgets `value`. Run 1 only inserts into the
    // empty target; run 2 is the first whose upsert updates a key, and where they part.
    let loaded = scenario();
    let e = run_with(&loaded, &RunOptions::default(), |storage| {
        Ok(Box::new(crate::engine::Differential {
            primary: crate::engine::open(crate::scenario::EngineKind::Polars, storage)?,
            secondary: open_broken_upsert(storage, Column::Value)?,
        }))
    })
    .expect_err("a broken upsert disagrees with a correct one");
    // From the history: the smallest key an update committed between runs 1 and 2.
    let history = simulate(&loaded, None);
    let (run1, run2) = (history.run_times_us[0], history.run_times_us[1]);
    let first_updated = history
        .committed_between(run1, run2)
        .filter(|&i| history.op[i] == crate::sim::Op::Update)
        .map(|i| history.id[i])
        .min()
        .expect("the scenario updates keys before run 2");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "engines disagree at run 2 of `cdc`: target_contents on target 1: key {first_updated} holds "
        )),
        "{text}"
    );
    assert!(
        text.ends_with("(polars first, duckdb (broken upsert) second)"),
        "{text}"
    );
}

// A log batch deduplicated and written in passes by id range (the engine splits it).

/// Every strategy whose reads repeat keys (a change log, landed files), with each write
/// mode that deduplicates, over runs with inserts, updates and deletes.
fn log_reading_scenario() -> LoadedScenario {
    let text = r#"
name = "dedup_passes"
seed = 11
[table]
rows = 2_000
[schedule]
runs = 4
interval = "1min"
[churn]
inserts = 60
updates = 300
deletes = 40
[[strategy]]
kind = "cdc"
[[strategy]]
kind = "cdc"
write = "delete_insert"
[[strategy]]
kind = "file_listing"
"#;
    loaded("dedup_passes.toml", text)
}

#[test]
fn a_batch_written_in_passes_by_id_range_lands_as_one_write_would() {
    let loaded = log_reading_scenario();
    let whole = run(&loaded, &RunOptions::default()).unwrap();
    let multi_pass_writes = Arc::new(AtomicU64::new(0));
    let counter = multi_pass_writes.clone();
    // 150 rows per pass: the first read (2,000 rows) takes 14 passes; a run's changes
    // (a few hundred versions) two or three.
    let passes = run_with(&loaded, &RunOptions::default(), move |_| {
        open_with_dedup_passes_of(150, counter)
    })
    .unwrap();
    assert!(multi_pass_writes.load(Ordering::Relaxed) >= 3 * 4);
    for (one, split) in whole.strategies.iter().zip(&passes.strategies) {
        // The same verdict after every run (exact for cdc; landed files trail the source,
        // so file_listing is left with ghosts, in both).
        assert_eq!(split.worst, one.worst, "{}", split.label);
        assert_eq!(split.permanent, one.permanent, "{}", split.label);
        // Each key written once per read, whatever pass it fell in.
        assert_eq!(
            split.written, one.written,
            "{}: {:?} vs {:?}",
            split.label, split.written, one.written
        );
    }
    assert!(whole.strategies[..2].iter().all(|s| s.worst.is_exact()));
    // The upsert met every action a pass can take on a key.
    let cdc = &whole.strategies[0].written;
    assert!(
        cdc.inserted > 0 && cdc.updated > 0 && cdc.deleted > 0,
        "{cdc:?}"
    );
}

#[test]
fn a_target_whose_print_is_the_oracles_is_never_read_back() {
    let scans = Arc::new(AtomicU64::new(0));
    let results = run_with(&scenario(), &RunOptions::default(), |_| {
        open_counting_target_scans(scans.clone())
    })
    .unwrap();
    assert!(results.strategies[0].worst.is_exact());
    assert_eq!(scans.load(Ordering::Relaxed), 0);
}

#[test]
fn a_watched_key_has_every_target_read_back() {
    let scans = Arc::new(AtomicU64::new(0));
    let options = RunOptions {
        watch_key: Some(3),
        ..RunOptions::default()
    };
    let results = run_with(&scenario(), &options, |_| {
        open_counting_target_scans(scans.clone())
    })
    .unwrap();
    let cdc = &results.strategies[0];
    // One read back per run, scheduled and drain: the watched key's rows are the story.
    assert_eq!(scans.load(Ordering::Relaxed), cdc.per_run.len() as u64);
    assert!(cdc.per_run.iter().all(|r| r.watched.is_some()));
}

#[test]
fn a_target_wrong_at_its_last_check_is_printed_by_the_read_of_its_keys() {
    // watermark_id never sees an update: its target is wrong from the first run with one.
    let scenario = loaded(
        "wrong_target.toml",
        "name = \"wrong_target\"\nseed = 5\n[table]\nrows = 500\n[schedule]\nruns = 5\n\
         interval = \"1min\"\n[churn]\ninserts = 10\nupdates = 40\n\
         [[strategy]]\nkind = \"watermark_id\"\n",
    );
    let (scans, prints) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let results = run_with(&scenario, &RunOptions::default(), |_| {
        open_counting_target_reads(scans.clone(), prints.clone())
    })
    .unwrap();
    let runs = &results.strategies[0].per_run;
    let wrong: Vec<bool> = runs.iter().map(|r| !r.divergence.is_exact()).collect();
    assert!(wrong.iter().filter(|&&w| w).count() >= 3, "{wrong:?}");
    // A run after a right check is printed, and read back if the print is not the oracle's;
    // a run after a wrong check is only read back; the final samples reinstate the last
    // (drain) run's check and read the target no more.
    assert!(*wrong.last().unwrap() && runs.last().unwrap().drain);
    let after_right = |r: usize| r == 0 || !wrong[r - 1];
    let expected_prints = (0..runs.len()).filter(|&r| after_right(r)).count() as u64;
    let expected_scans = (0..runs.len())
        .filter(|&r| !after_right(r) || wrong[r])
        .count() as u64;
    assert_eq!(prints.load(Ordering::Relaxed), expected_prints);
    assert_eq!(scans.load(Ordering::Relaxed), expected_scans);

    // The print summed from the keys' read is the one DuckDB sums: watching a key makes every
    // run print, and each run's target digest is the same.
    let watched = RunOptions {
        watch_key: Some(3),
        ..RunOptions::default()
    };
    let printed = run_with(&scenario, &watched, |_| {
        open_counting_target_scans(Arc::new(AtomicU64::new(0)))
    })
    .unwrap();
    let digests = |r: &crate::results::RunResults| -> Vec<String> {
        r.strategies[0]
            .per_run
            .iter()
            .map(|run| run.target_digest.clone())
            .collect()
    };
    assert_eq!(digests(&results), digests(&printed));
    assert!(digests(&results).iter().all(|d| d.len() == 16));
}
