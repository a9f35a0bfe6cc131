//! Sweeps: exact counters, sharding, merging, crossovers.

mod common;

use std::process::Command;

use incrlab::scenario::EngineKind;
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

/// A strategy's exact figures at one point: label, rows scanned, bytes scanned, rows written
/// and rows inserted, updated and deleted per run (scaled to integers), permanent divergence.
type ExactStrategy = (String, u64, u64, u64, [u64; 3], u64);

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
                            (s.bytes_scanned_per_run * 1e6) as u64,
                            (s.rows_written_per_run * 1e6) as u64,
                            [
                                s.rows_inserted_per_run,
                                s.rows_updated_per_run,
                                s.rows_deleted_per_run,
                            ]
                            .map(|n| (n * 1e6) as u64),
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
            engine: None,
        }
    );
    assert_eq!(
        points[5],
        sweep::Point {
            rows: 2_000,
            churn: 0.1,
            seed: 2,
            lag_us: None,
            engine: None,
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
            engine: None,
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
    let a = sweep::run_sweep(&loaded, &common::jobs(2), &|| {}).unwrap();
    let b = sweep::run_sweep(&loaded, &common::jobs(1), &|| {}).unwrap();
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
                // wall_ms and cpu_ms, the timing columns, come last, with the recommendations
                // (by time and by cost) drawn from them.
                cells.truncate(cells.len() - 4);
                cells.join(",")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(runs("all"), runs("merged"));
}

/// The shell command lines an example file runs: every line from one starting with `incrlab `
/// up to the line that ends it (a folded YAML block spans several).
fn example_commands(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let line = line
            .trim()
            .trim_start_matches("run: ")
            .trim_start_matches("- ");
        if line.starts_with("incrlab sweep") || line.starts_with("incrlab merge") {
            open = Some(line.to_string());
        } else if let Some(command) = &mut open {
            if line.starts_with("--") {
                command.push(' ');
                command.push_str(line);
            }
        }
        if open
            .as_ref()
            .is_some_and(|c| c.contains("--quiet") || c.starts_with("incrlab merge"))
        {
            out.push(open.take().unwrap());
        }
    }
    out
}

/// Runs an example's shard and merge commands as its machines would (one process per shard,
/// each with the environment its platform gives it), and checks the merged sweep equals the
/// unsharded one on every exact field.
fn example_sharding_matches_the_unsharded_sweep(
    file: &str,
    shards_in: &str,
    shard_env: impl Fn(u32) -> Vec<(String, String)>,
    expand: impl Fn(&str, u32) -> String,
) {
    let commands = example_commands(file);
    let [sweep_line, merge_line] = commands.as_slice() else {
        panic!("{file}: expected one sweep and one merge command, found {commands:?}");
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep_case.toml"), SMALL).unwrap();
    // `incrlab` on PATH, as the examples call it.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_incrlab"), bin.join("incrlab")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |line: &str, env: Vec<(String, String)>| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("SCENARIO", "sweep_case.toml")
            .env("SHARDS", "3")
            .envs(env)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: `{line}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for index in 0..3 {
        shell(&expand(sweep_line, index), shard_env(index));
    }
    // A merge with a shard missing is refused, naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .current_dir(dir.path())
        .arg("merge")
        .arg(format!("{shards_in}shard-1"))
        .arg(format!("{shards_in}shard-3"))
        .args(["--out", "holey"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("hold 4 of the sweep's 6 points; shard 2/3 is missing"),
        "{stderr}"
    );

    shell(&expand(merge_line, 0), Vec::new());
    let out = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .current_dir(dir.path())
        .args(["sweep", "sweep_case.toml", "--out", "all", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = SweepResults::read(&dir.path().join("all")).unwrap();
    let merged = SweepResults::read(&dir.path().join(format!("{shards_in}merged"))).unwrap();
    assert_eq!(exact(&all), exact(&merged), "{file}");
}

#[test]
fn the_github_actions_matrix_example_merges_into_the_unsharded_sweep() {
    // The matrix gives each job its index (the workflow's `${{ matrix.index }}`, substituted
    // by Actions). Shard directories land side by side, as download-artifact puts them.
    example_sharding_matches_the_unsharded_sweep(
        "examples/sharding/github-actions-sweep.yml",
        "",
        |_| Vec::new(),
        |line, index| line.replace("${{ matrix.index }}", &(index + 1).to_string()),
    );
}

#[test]
fn the_kubernetes_indexed_job_example_merges_into_the_unsharded_sweep() {
    // Kubernetes gives each pod its completion index; the shared volume is `shards/` here.
    example_sharding_matches_the_unsharded_sweep(
        "examples/sharding/kubernetes-indexed-job.yaml",
        "shards/",
        |index| vec![("JOB_COMPLETION_INDEX".into(), index.to_string())],
        |line, _| line.replace("/sweeps/", "shards/"),
    );
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
    let results = sweep::run_sweep(&loaded, &common::jobs(2), &|| {}).unwrap();
    assert_eq!(results.recommendations.lag.len(), 1);
    let r = &results.recommendations.lag[0];
    assert_eq!(r.label, "updated_at>");
    let losses: Vec<u64> = r.loss_curve.iter().map(|l| l.permanent_total).collect();
    assert!(
        losses[0] > 0 && losses[1] > 0,
        "too small a lag loses rows: {losses:?}"
    );
    assert_eq!(&losses[2..], &[0, 0]);
    assert_eq!(r.recommended_lag_us, Some(6_000_000));
}

/// The source columns full reprocessing reads: id, lsn, updated_at, value, event_time (BIGINT,
/// 8 bytes each) and writer (INTEGER, 4). Its filter on is_deleted (BOOLEAN, 1) is dropped by
/// DuckDB's statistics when no row is soft-deleted, as here, so that column is never read.
const SOURCE_ROW_BYTES: u64 = 5 * 8 + 4;

#[test]
fn full_reprocessing_bytes_are_rows_scanned_times_the_width_of_the_columns_it_reads() {
    let results = common::run(&common::from_toml(SMALL));
    let full = common::strategy(&results, "full");
    for r in &full.per_run {
        assert!(r.rows_scanned > 0);
        assert_eq!(
            r.bytes_scanned,
            r.rows_scanned * SOURCE_ROW_BYTES,
            "run {}",
            r.run
        );
    }
    // An incremental read scans fewer bytes per row scanned or fewer rows: never more bytes.
    let wm = common::strategy(&results, "watermark_id");
    assert!(wm.bytes_scanned < full.bytes_scanned);
}

const COSTED: &str = r#"
[cost]
price_per_tb_scanned = 6.25
price_per_cpu_hour = 0.05
source_read_mb_per_s = 100
"#;

fn costed_sweep() -> SweepResults {
    let text = SMALL.replace("[sweep]", &format!("{COSTED}\n[sweep]"));
    let loaded = common::from_toml(&text);
    sweep::run_sweep(&loaded, &common::jobs(2), &|| {}).unwrap()
}

#[test]
fn a_cost_model_prices_every_point_from_its_bytes_and_cpu_time() {
    let results = costed_sweep();
    for p in &results.points {
        for s in &p.strategies {
            let cost = s.cost_per_run.expect("priced");
            // By hand, from the prices in COSTED: 6.25 per 10^12 bytes scanned, 0.05 per hour
            // (3.6 million ms) of CPU.
            let expected = s.bytes_scanned_per_run * 6.25 / 1e12 + s.cpu_ms_per_run * 0.05 / 3.6e6;
            assert!(
                (cost - expected).abs() <= 1e-15 + expected * 1e-12,
                "{}",
                s.label
            );
            let modelled = s.modelled_run_ms.expect("a remote source is modelled");
            let transfer = s.bytes_scanned_per_run / 100e6 * 1e3;
            assert!(
                (modelled - (s.run_ms + transfer)).abs() < 1e-9,
                "{}",
                s.label
            );
        }
    }
}

#[test]
fn a_cost_model_adds_a_cost_crossover_per_strategy_and_axis() {
    let results = costed_sweep();
    let count = |measure: &str| {
        results
            .crossovers
            .iter()
            .filter(|c| c.measure == measure && c.axis == "churn")
            .count()
    };
    assert_eq!(count("cost"), count("time"));
    assert_eq!(
        count("time"),
        2,
        "two incremental strategies, one table size"
    );
}

#[test]
fn without_a_cost_model_there_is_no_cost_figure() {
    let loaded = common::from_toml(SMALL);
    let results = sweep::run_sweep(&loaded, &common::jobs(2), &|| {}).unwrap();
    assert!(results
        .points
        .iter()
        .flat_map(|p| &p.strategies)
        .all(|s| s.cost_per_run.is_none() && s.modelled_run_ms.is_none()));
    assert!(results.crossovers.iter().all(|c| c.measure == "time"));
}

fn synthetic(rows: u64, churn: f64, full_ms: f64, incremental_ms: f64) -> sweep::PointResult {
    let strategy = |label: &str, kind: &str, ms: f64| sweep::PointStrategy {
        label: label.into(),
        strategy: kind.into(),
        write: "upsert".into(),
        rows_scanned_per_run: 0.0,
        rows_written_per_run: 0.0,
        rows_inserted_per_run: 0.0,
        rows_updated_per_run: 0.0,
        rows_deleted_per_run: 0.0,
        permanent_total: 0,
        permanent: Default::default(),
        idempotent: None,
        run_ms: ms,
        bytes_scanned_per_run: 0.0,
        cpu_ms_per_run: 0.0,
        cost_per_run: None,
        modelled_run_ms: None,
    };
    sweep::PointResult {
        point: sweep::Point {
            rows,
            churn,
            seed: 1,
            lag_us: None,
            engine: None,
        },
        history_digest: String::new(),
        strategies: vec![
            strategy("full", "full", full_ms),
            strategy("cdc", "cdc", incremental_ms),
        ],
    }
}

#[test]
fn along_table_size_at_fixed_change_the_crossover_is_where_full_reaches_incremental() {
    // 1,000 changed rows per interval at every size; full grows with the table (10, 100,
    // 1000 ms), incremental stays at 50 ms. Full reaches 50 ms between 100K and 1M rows: in
    // log space at 10^(5 + 40/90) ≈ 278,256 rows.
    let points = vec![
        synthetic(100_000, 0.01, 10.0, 50.0),
        synthetic(1_000_000, 0.001, 100.0, 50.0),
        synthetic(10_000_000, 0.0001, 1000.0, 50.0),
    ];
    let rows_axis: Vec<_> = sweep::crossovers(&points)
        .into_iter()
        .filter(|c| c.axis == "rows")
        .collect();
    assert_eq!(rows_axis.len(), 1);
    let c = &rows_axis[0];
    assert_eq!(c.changed_rows, Some(1_000));
    assert_eq!(c.rows, None);
    let expected = 10f64.powf(5.0 + 40.0 / 90.0);
    let value = c.value.unwrap();
    assert!(
        (value - expected).abs() / expected < 1e-9,
        "{value} vs {expected}"
    );
}

#[test]
fn along_table_size_curves_that_never_meet_say_so() {
    let points = vec![
        synthetic(100_000, 0.01, 10.0, 5000.0),
        synthetic(1_000_000, 0.001, 100.0, 5000.0),
    ];
    let c = sweep::crossovers(&points)
        .into_iter()
        .find(|c| c.axis == "rows")
        .unwrap();
    assert_eq!(c.value, None);
    // Full stays below incremental at every size: incremental never pays.
    assert_eq!(c.verdict, sweep::CrossoverVerdict::NeverPays);
}

/// Points of one churn axis at 1M rows: full at `full_ms` and cdc at `cdc_ms`, per churn.
fn churn_axis(churns: &[f64], full_ms: &[f64], cdc_ms: &[f64]) -> Vec<sweep::PointResult> {
    churns
        .iter()
        .zip(full_ms.iter().zip(cdc_ms))
        .map(|(&c, (&f, &i))| synthetic(1_000_000, c, f, i))
        .collect()
}

fn churn_crossover(points: &[sweep::PointResult]) -> sweep::Crossover {
    sweep::crossovers(points)
        .into_iter()
        .find(|c| c.axis == "churn")
        .unwrap()
}

#[test]
fn a_churn_crossover_says_it_crosses_where_the_curves_meet() {
    let c = churn_crossover(&churn_axis(
        &[0.001, 0.01, 0.1],
        &[100.0; 3],
        &[10.0, 50.0, 300.0],
    ));
    assert_eq!(c.verdict, sweep::CrossoverVerdict::Crosses);
    assert!(c.value.is_some());
}

#[test]
fn an_incremental_curve_below_full_everywhere_pays_throughout() {
    let c = churn_crossover(&churn_axis(
        &[0.001, 0.01, 0.1],
        &[100.0; 3],
        &[10.0, 20.0, 90.0],
    ));
    assert_eq!(
        (c.verdict, c.value),
        (sweep::CrossoverVerdict::PaysThroughout, None)
    );
}

#[test]
fn an_incremental_curve_above_full_everywhere_never_pays() {
    let c = churn_crossover(&churn_axis(
        &[0.001, 0.01, 0.1],
        &[100.0; 3],
        &[150.0, 200.0, 900.0],
    ));
    assert_eq!(
        (c.verdict, c.value),
        (sweep::CrossoverVerdict::NeverPays, None)
    );
}

#[test]
fn sweep_json_carries_each_crossovers_verdict() {
    let c = churn_crossover(&churn_axis(&[0.001, 0.01], &[100.0; 2], &[10.0, 20.0]));
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["verdict"], "pays_throughout");
}

/// A sweep where the fastest strategy loses rows: `watermark_id` reads only new ids and
/// appends them, so on 1M rows it takes about a sixth of full reprocessing's time (which
/// rewrites the whole table every run), and it never sees an update. The margin is sized so
/// that timing noise cannot turn it: at 300K rows and 2 steady runs, one ~80 ms stall of a
/// watermark run (its state file's fsync on a shared machine) made it the slower one in CI.
/// With 4 steady runs the median ignores one stall, and two move it to ~55 ms against full's
/// ~65-90 ms.
const LOSSY_FASTEST: &str = r#"
name = "lossy_fastest"
seed = 1
[table]
rows = 1_000_000
[schedule]
runs = 5
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
write = "append"
"#;

#[test]
fn the_fastest_strategy_is_not_recommended_when_it_loses_rows() {
    let results =
        sweep::run_sweep(&common::from_toml(LOSSY_FASTEST), &common::jobs(2), &|| {}).unwrap();
    let recs = &results.recommendations.by_point;
    assert_eq!(recs.len(), 2, "one recommendation per churn");
    for r in recs {
        let lost: u64 = results
            .points
            .iter()
            .filter(|p| p.point.churn == r.churn)
            .flat_map(|p| {
                p.strategies
                    .iter()
                    .filter(|s| s.label == "watermark_id+append")
            })
            .map(|s| s.permanent.stale)
            .sum();
        assert!(lost > 0, "the premise: watermark_id+append loses updates");
        let k = r.by_time.as_ref().expect("full is exact");
        assert_eq!(k.label, "full", "at {}", r.churn);
        assert!(!r.is_eligible("watermark_id+append"));
        assert_eq!(r.not_eligible[0].permanent.stale, lost);
    }
    // The premise that makes the test bite: at the smallest churn watermark_id was faster.
    let smallest = &recs[0];
    assert!(
        smallest.not_eligible[0].run_ms < smallest.by_time.as_ref().unwrap().value,
        "{smallest:?}"
    );
    assert_eq!(
        smallest.by_time.as_ref().unwrap().faster_but_not_eligible,
        vec!["watermark_id+append".to_string()]
    );
}

#[test]
fn sweep_ends_with_the_recommendation_sentence_and_the_runs_table_marks_eligibility() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), LOSSY_FASTEST).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["sweep", "s.toml", "--out", "out"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("At 1M rows: `full` at every swept churn (0.1% to 1%); `watermark_id+append` is faster but loses updates."),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("out/runs.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (label, eligible, recommended) = (col("label"), col("eligible"), col("recommended"));
    let mut seen = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let is_full = cells[label] == "full";
        assert_eq!(
            cells[eligible],
            if is_full { "true" } else { "false" },
            "{line}"
        );
        assert_eq!(
            cells[recommended],
            if is_full { "true" } else { "false" },
            "{line}"
        );
        seen += 1;
    }
    assert!(seen > 0);
    let html = std::fs::read_to_string(dir.path().join("out/index.html")).unwrap();
    let first_chart = html
        .split("<figure class=\"chart\" id=\"")
        .nth(1)
        .expect("the report has charts");
    assert!(
        first_chart.starts_with("decision-map\""),
        "the report opens with the decision map"
    );
    let verdict = html.find("Which strategy to run").unwrap();
    let crossovers = html.find("Where incremental stops paying").unwrap();
    assert!(
        verdict < crossovers,
        "the answer comes before the crossovers"
    );
}

#[test]
fn a_sweep_over_engines_gives_each_engine_its_own_crossovers_with_the_same_exact_figures() {
    let text = SMALL.replace(
        "seeds = [1, 2]",
        "seeds = [1, 2]\nengines = [\"duckdb\", \"polars\"]",
    );
    let results = sweep::run_sweep(&common::from_toml(&text), &common::jobs(2), &|| {}).unwrap();
    // Every point of the plain sweep, once per engine.
    let plain = sweep::points(&common::from_toml(SMALL).scenario);
    assert_eq!(results.points.len(), 2 * plain.len());
    let on = |kind: EngineKind| -> Vec<_> {
        exact(&results)
            .into_iter()
            .filter(|(p, _, _)| p.engine == Some(kind))
            .map(|(p, digest, strategies)| {
                // Scans are each engine's own; everything else must agree.
                let strategies: Vec<_> = strategies
                    .into_iter()
                    .map(|(label, _, _, written, ops, permanent)| (label, written, ops, permanent))
                    .collect();
                (sweep::Point { engine: None, ..p }, digest, strategies)
            })
            .collect()
    };
    assert_eq!(on(EngineKind::Duckdb), on(EngineKind::Polars));
    assert_eq!(on(EngineKind::Duckdb).len(), plain.len());
    // One crossover per strategy, per engine, per measure, each naming its engine.
    for kind in [EngineKind::Duckdb, EngineKind::Polars] {
        let labels: Vec<&str> = results
            .crossovers
            .iter()
            .filter(|c| c.engine == Some(kind))
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(labels, ["watermark_id", "cdc+delete_insert"], "{kind:?}");
        for c in results.crossovers.iter().filter(|c| c.engine == Some(kind)) {
            assert!(
                c.setting().ends_with(&format!(" on {}", kind.name())),
                "{}",
                c.setting()
            );
        }
    }
    // The decision sentence of each engine names it.
    let sentences = incrlab::report::decision::decision_sentences(&results);
    for kind in ["duckdb", "polars"] {
        assert!(
            sentences
                .iter()
                .any(|s| s.starts_with(&format!("At 2K rows on {kind}:"))),
            "{sentences:?}"
        );
    }
}

#[test]
fn an_engine_listed_twice_in_a_sweep_is_bad_input() {
    let text = SMALL.replace(
        "seeds = [1, 2]",
        "seeds = [1, 2]\nengines = [\"polars\", \"polars\"]",
    );
    let path = std::path::PathBuf::from("twice.toml");
    let e = incrlab::scenario::Scenario::parse(&path, &text).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let message = e.to_string();
    assert!(
        message.contains("sweep.engines") && message.contains("`polars` is listed twice"),
        "{message}"
    );
}
