//! The command line as a user meets it.

use std::path::Path;
use std::process::Command;

fn incrlab(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn copy_quickstart(dir: &Path) {
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml"),
        dir.join("scenarios/quickstart.toml"),
    )
    .unwrap();
}

#[test]
fn no_subcommand_runs_the_built_in_quickstart_from_any_directory() {
    // No scenarios/ directory here: the quickstart is compiled into the binary.
    let dir = tempfile::tempdir().unwrap();
    let output = incrlab(dir.path(), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for label in ["full", "watermark_id", "updated_at>", "cdc"] {
        assert!(stdout.contains(label), "table lists {label}:\n{stdout}");
    }
    assert!(dir.path().join("reports/quickstart/results.json").is_file());
    // Its explain pointer runs as printed, from the same directory.
    let pointer = stdout
        .lines()
        .find(|l| l.starts_with("why a key is wrong: "))
        .expect("an explain pointer");
    let command = pointer
        .trim_start_matches("why a key is wrong: ")
        .split(" (")
        .next()
        .unwrap();
    let args: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|a| a.trim_matches('\'').to_string())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let explained = incrlab(dir.path(), &args);
    assert!(
        explained.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&explained.stderr)
    );
    assert!(String::from_utf8_lossy(&explained.stdout).contains("why: "));
}

#[test]
fn simulate_audits_the_history_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hot_keys.toml");
    let output = incrlab(
        dir.path(),
        &["simulate", scenario.to_str().unwrap(), "--out", "h.parquet"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("row locks: 0 keys with a change that ran before"),
        "{stdout}"
    );
    // 20 runs of 20 inserts, 200 updates and 5 deletes (counts, so no live-row arithmetic).
    assert!(
        stdout.contains("churn: asked for 400 inserts, 4000 updates, 100 deletes; the history holds 400, 4000, 100"),
        "{stdout}"
    );
}

#[test]
fn results_json_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    let output = incrlab(
        dir.path(),
        &[
            "run",
            "scenarios/quickstart.toml",
            "--out",
            "out",
            "--seed",
            "3",
            "--quiet",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "--quiet prints nothing");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/results.json")).unwrap())
            .unwrap();
    assert_eq!(json["scenario"], "quickstart");
    assert_eq!(json["seed"], 3);
    assert_eq!(json["runs"], 12);
    assert!(json["history_digest"].as_str().unwrap().len() == 64);
    let strategies = json["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 4);
    for s in strategies {
        for key in [
            "label",
            "strategy",
            "write",
            "rows_scanned",
            "rows_written",
            "wall_ms",
        ] {
            assert!(!s[key].is_null(), "{key} in {s}");
        }
        for group in ["permanent", "worst"] {
            for class in ["missing", "stale", "ghost", "duplicate"] {
                assert!(s[group][class].is_u64(), "{group}.{class}");
            }
        }
    }
    // The directory holds the results, the timeline and the report, and nothing half-written.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "charts",
            "index.html",
            "report.md",
            "results.json",
            "timeline.json"
        ]
    );
}

#[test]
fn simulate_exports_the_history_as_parquet() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    let output = incrlab(
        dir.path(),
        &[
            "simulate",
            "scenarios/quickstart.toml",
            "--out",
            "history.parquet",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(dir.path().join("history.parquet")).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn check_determinism_runs_twice_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    let output = incrlab(
        dir.path(),
        &[
            "run",
            "scenarios/quickstart.toml",
            "--out",
            "out",
            "--check-determinism",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("deterministic:"));
}

#[test]
fn bench_compares_full_reprocessing_with_a_bare_copy_in_the_same_engine() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/run.toml");
    let dir = tempfile::tempdir().unwrap();
    let output = incrlab(dir.path(), &["bench", scenario.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("full per run (median)"))
        .unwrap_or_else(|| panic!("no comparison line in:\n{stdout}"));
    let ratio: f64 = line
        .rsplit(": ")
        .next()
        .unwrap()
        .trim_end_matches('×')
        .parse()
        .unwrap();
    assert!(ratio > 0.0, "{line}");
}

#[test]
fn bench_measures_generating_and_loading_the_initial_table_on_fresh_engines() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/run.toml");
    let dir = tempfile::tempdir().unwrap();
    let output = incrlab(dir.path(), &["bench", scenario.to_str().unwrap()]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("generate + load initial table, 5 fresh engines"))
        .unwrap_or_else(|| panic!("no initial-load line in:\n{stdout}"));
    let rate = |label: &str| -> f64 {
        let after = line.split(label).nth(1).unwrap();
        after
            .trim_start()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (median, best) = (rate("= "), rate("(best "));
    assert!(median > 0.0 && best >= median, "{line}");
    // The floor: DuckDB building the same tables from range(), and the ratio of the two rates.
    let floor = stdout
        .lines()
        .find(|l| l.starts_with("the same tables built by the engine from range(): median "))
        .unwrap_or_else(|| panic!("no floor line in:\n{stdout}"));
    let number = |label: &str| -> f64 {
        let after = floor.split(label).nth(1).unwrap();
        after
            .trim_start()
            .split([' ', '×'])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (floor_rate, ratio) = (number("ms = "), number("runs at "));
    // Both rates are printed to one decimal and the ratio to two, so each printed figure is
    // within half a unit of its last digit of the value it was rounded from: the ratio must lie
    // in the interval those rounded rates allow.
    let (low, high) = (
        (median - 0.05) / (floor_rate + 0.05) - 0.005,
        (median + 0.05) / (floor_rate - 0.05).max(1e-9) + 0.005,
    );
    assert!(
        (low..=high).contains(&ratio),
        "{floor} against {line}: {ratio} outside [{low}, {high}]"
    );
}

#[test]
fn a_run_killed_with_sigkill_leaves_litter_the_next_run_removes() {
    let temp = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let long = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/bench_1m.toml");
    let mut victim = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["run", long.to_str().unwrap(), "--quiet", "--out", "out"])
        .current_dir(work.path())
        .env("TMPDIR", temp.path())
        .spawn()
        .unwrap();
    let litter = format!("incrlab-run-{}-", victim.id());
    let listed = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let started = std::time::Instant::now();
    while !listed(temp.path()).iter().any(|n| n.starts_with(&litter)) {
        assert!(
            started.elapsed().as_secs() < 60,
            "the run never made its directory"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    victim.kill().unwrap(); // SIGKILL: no destructor runs
    victim.wait().unwrap();
    assert!(listed(temp.path()).iter().any(|n| n.starts_with(&litter)));

    let next = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["run", "--quiet", "--out", "out2"])
        .current_dir(work.path())
        .env("TMPDIR", temp.path())
        .output()
        .unwrap();
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    let left = listed(temp.path());
    assert!(
        !left.iter().any(|n| n.starts_with("incrlab-run-")),
        "litter left: {left:?}"
    );
}

/// The verdict table without the columns each engine measures its own way (rows scanned and
/// wall ms), cell by cell.
fn verdicts_of(stdout: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = stdout
        .lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| {
            l.trim_matches('│')
                .split('┆')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let header = &rows[0];
    let skip: Vec<usize> = ["rows scanned", "wall ms"]
        .iter()
        .map(|name| header.iter().position(|h| h == name).expect(name))
        .collect();
    rows.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(i, _)| !skip.contains(i))
                .map(|(_, c)| c.clone())
                .collect()
        })
        .collect()
}

#[test]
fn the_quickstart_prints_the_same_verdicts_on_polars_as_on_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    let table = |engine: &str| {
        let out = incrlab(
            dir.path(),
            &[
                "run",
                "scenarios/quickstart.toml",
                "--engine",
                engine,
                "--out",
                engine,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (duckdb, polars) = (table("duckdb"), table("polars"));
    assert_eq!(verdicts_of(&duckdb), verdicts_of(&polars));
    // The premise: the table has verdicts of both kinds to agree on.
    assert!(
        duckdb.contains("loses data") && duckdb.contains("exact"),
        "{duckdb}"
    );
    // Each run says which engine it ran on, in its summary and in results.json.
    assert!(
        polars.contains("scenario quickstart · seed 42 · polars · "),
        "{polars}"
    );
    assert!(
        duckdb.contains("scenario quickstart · seed 42 · duckdb · "),
        "{duckdb}"
    );
    let results = std::fs::read_to_string(dir.path().join("polars/results.json")).unwrap();
    assert!(
        results.contains(r#""kind": "polars""#),
        "results.json names the engine"
    );
}

#[test]
fn an_unknown_engine_flag_is_bad_input_naming_the_engines() {
    let dir = tempfile::tempdir().unwrap();
    let out = incrlab(dir.path(), &["run", "--engine", "spark"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`spark` is not an engine; one of: duckdb, polars"),
        "{stderr}"
    );
    assert!(!dir.path().join("reports").exists(), "nothing written");
}
