//! Sweeps: exact counters, sharding, merging, crossovers.

mod common;

use std::process::Command;

use incrlab::sweep::{self, SweepResults};

const SMALL: &str = r#"
name = "sweep_case"
seed = 1
[table]
rows = 2_000
[schedule]
runs = 3
interval = "1min"
[churn]
inserts = "0.2%"
updates = "0.8%"
[sweep]
churn = [0.001, 0.01, 0.1]
seeds = [1, 2]
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
[[strategy]]
kind = "cdc"
write = "delete_insert"
"#;

/// A strategy's exact figures at one point: label, scanned and written per run (scaled to
/// integers), permanent divergence.
type ExactStrategy = (String, u64, u64, u64);

/// The exact (non-timing) part of a sweep.
fn exact(results: &SweepResults) -> Vec<(sweep::Point, String, Vec<ExactStrategy>)> {
    results
        .points
        .iter()
        .map(|p| {
            (
                p.point,
                p.history_digest.clone(),
                p.strategies
                    .iter()
                    .map(|s| {
                        (
                            s.label.clone(),
                            (s.rows_scanned_per_run * 1e6) as u64,
                            (s.rows_written_per_run * 1e6) as u64,
                            s.permanent_total,
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn every_combination_of_churn_and_seed_is_a_point() {
    let loaded = common::from_toml(SMALL);
    let points = sweep::points(&loaded.scenario);
    assert_eq!(points.len(), 6);
    assert_eq!(
        points[0],
        sweep::Point {
            rows: 2_000,
            churn: 0.001,
            seed: 1,
            lag_us: None,
        }
    );
    assert_eq!(
        points[5],
        sweep::Point {
            rows: 2_000,
            churn: 0.1,
            seed: 2,
            lag_us: None,
        }
    );
}

#[test]
fn a_point_scales_the_churn_mix_to_its_total() {
    let loaded = common::from_toml(SMALL);
    let at = sweep::scenario_at(
        &loaded.scenario,
        sweep::Point {
            rows: 5_000,
            churn: 0.1,
            seed: 9,
            lag_us: None,
        },
    );
    assert_eq!(at.table.rows, 5_000);
    assert_eq!(at.seed, 9);
    let fraction = |a: incrlab::scenario::Amount| match a {
        incrlab::scenario::Amount::Fraction(f) => f,
        other => panic!("{other:?}"),
    };
    assert!((fraction(at.churn.inserts) - 0.02).abs() < 1e-12);
    assert!((fraction(at.churn.updates) - 0.08).abs() < 1e-12);
}

#[test]
fn the_same_point_twice_gives_identical_counters() {
    let loaded = common::from_toml(SMALL);
    let a = sweep::run_sweep(&loaded, 2, None, &|| {}).unwrap();
    let b = sweep::run_sweep(&loaded, 1, None, &|| {}).unwrap();
    assert_eq!(exact(&a), exact(&b));
}

#[test]
fn merged_shards_equal_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("sweep_case.toml");
    std::fs::write(&scenario, SMALL).unwrap();
    let incrlab = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_incrlab"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    incrlab(&["sweep", "sweep_case.toml", "--out", "all", "--quiet"]);
    for shard in ["1/3", "2/3", "3/3"] {
        let out = format!("shard{}", &shard[..1]);
        incrlab(&[
            "sweep",
            "sweep_case.toml",
            "--out",
            &out,
            "--shard",
            shard,
            "--quiet",
        ]);
    }
    incrlab(&["merge", "shard1", "shard2", "shard3", "--out", "merged"]);

    let all = SweepResults::read(&dir.path().join("all")).unwrap();
    let merged = SweepResults::read(&dir.path().join("merged")).unwrap();
    assert_eq!(exact(&all), exact(&merged));
    let crossings = |r: &SweepResults| {
        r.crossovers
            .iter()
            .map(|c| (c.label.clone(), c.rows))
            .collect::<Vec<_>>()
    };
    assert_eq!(crossings(&all), crossings(&merged));

    // The runs tables agree on every exact column.
    let runs = |name: &str| {
        let text = std::fs::read_to_string(dir.path().join(name).join("runs.csv")).unwrap();
        text.lines()
            .map(|line| {
                let mut cells: Vec<&str> = line.split(',').collect();
                cells.pop(); // wall_ms, the only timing column
                cells.join(",")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(runs("all"), runs("merged"));
}

#[test]
fn a_bad_shard_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["sweep", "s.toml", "--shard", "4/3", "--out", "x"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("x").exists());
}

#[test]
fn a_lag_sweep_recommends_the_smallest_lag_without_loss() {
    let loaded = common::from_toml(&common::lag_sweep_scenario(
        r#"["0s", "1s", "6s", "8s"]"#,
        "[1, 2]",
    ));
    let results = sweep::run_sweep(&loaded, 2, None, &|| {}).unwrap();
    assert_eq!(results.recommendations.len(), 1);
    let r = &results.recommendations[0];
    assert_eq!(r.label, "updated_at>");
    let losses: Vec<u64> = r.loss_curve.iter().map(|l| l.permanent_total).collect();
    assert!(
        losses[0] > 0 && losses[1] > 0,
        "too small a lag loses rows: {losses:?}"
    );
    assert_eq!(&losses[2..], &[0, 0]);
    assert_eq!(r.recommended_lag_us, Some(6_000_000));
}
