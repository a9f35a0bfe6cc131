//! The real PostgreSQL source: the shipped scenarios played into PostgreSQL as real
//! transactions give, strategy by strategy and run by run, the same targets as the simulated
//! source (the same wrong keys, in the same classes), and the same divergence.
//!
//! These tests need the PostgreSQL binaries. Without them they skip with a message, unless
//! `INCRLAB_REQUIRE_POSTGRES` is set (CI), where a missing binary is a failure.

use incrlab::engine::postgres::Binaries;
use incrlab::fidelity::compare_sources;
use incrlab::runner::{self, RunOptions};
use incrlab::scenario::{LoadedScenario, Scenario, SourceKind};

fn postgres_here() -> bool {
    match Binaries::find() {
        Ok(_) => true,
        Err(e) if std::env::var_os("INCRLAB_REQUIRE_POSTGRES").is_some() => {
            panic!("INCRLAB_REQUIRE_POSTGRES is set: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

/// A shipped scenario, shrunk to at most `rows` rows and `runs` runs so the suite stays fast.
fn shipped(name: &str, rows: u64, runs: u32) -> LoadedScenario {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let mut loaded = Scenario::load(std::path::Path::new(&path)).unwrap();
    let s = &mut loaded.scenario;
    s.table.rows = s.table.rows.min(rows);
    s.schedule.runs = s.schedule.runs.min(runs);
    s.schedule.skip_runs.retain(|&r| r <= s.schedule.runs);
    s.expectations.clear();
    loaded
}

fn assert_same_on_both_sources(loaded: &LoadedScenario) {
    let comparison = compare_sources(
        loaded,
        [SourceKind::Engine, SourceKind::Postgres],
        &RunOptions::default(),
    )
    .unwrap();
    for s in &comparison.strategies {
        assert!(
            s.same(),
            "{} `{}`: {}",
            loaded.scenario.name,
            s.label,
            s.first_difference.as_deref().unwrap_or("")
        );
        assert!(s.runs > 0);
    }
    assert_eq!(
        comparison.strategies.len(),
        loaded.scenario.strategies.len()
    );
}

#[test]
fn quickstart_on_postgres_matches_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("quickstart", 2_000, 12));
}

#[test]
fn late_arrivals_on_postgres_matches_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("late_arrivals", 2_000, 15));
}

#[test]
fn clock_skew_on_postgres_matches_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("clock_skew", 2_000, 12));
}

#[test]
fn ties_on_postgres_matches_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("ties", 2_000, 20));
}

#[test]
fn crash_recovery_on_postgres_matches_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("crash_recovery", 2_000, 10));
}

#[test]
fn hot_keys_with_long_transactions_on_postgres_match_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("hot_keys", 2_000, 12));
}

/// A `daily_totals` write recomputes its days from DuckDB's copy of the source, which a
/// PostgreSQL source keeps only for such targets: without it every day would come out wrong.
#[test]
fn daily_totals_on_postgres_match_the_simulator_key_for_key() {
    if !postgres_here() {
        return;
    }
    assert_same_on_both_sources(&shipped("daily_totals", 2_000, 12));
}

/// The premise of the comparison: these scenarios do lose rows on the strategies they teach
/// about, so "the same" is a statement about wrong keys, not about empty sets.
#[test]
fn late_arrivals_loses_rows_on_postgres_as_it_teaches() {
    if !postgres_here() {
        return;
    }
    let mut loaded = shipped("late_arrivals", 2_000, 15);
    loaded.scenario.engine.source = SourceKind::Postgres;
    let results = runner::run(&loaded, &RunOptions::default()).unwrap();
    let lost = |label: &str| {
        results
            .strategies
            .iter()
            .find(|s| s.label == label)
            .unwrap()
            .permanent
            .missing
    };
    assert!(
        lost("watermark_id") > 0,
        "late inserts overtaken by higher ids"
    );
    assert!(
        lost("updated_at>") > 0,
        "late rows stamped below the watermark"
    );
    assert_eq!(lost("cdc"), 0, "the slot sees every commit");
    assert_eq!(lost("updated_at>lag11m"), 0);
    assert!(
        lost("updated_at>=") > 0,
        ">= does not reach a row stamped long ago"
    );
    assert_eq!(
        lost("xmin"),
        0,
        "PostgreSQL's own xids and snapshot lose nothing"
    );
}

/// Transactions that span a tick are really open in PostgreSQL at that tick: exactly the
/// simulated transactions begun at or before it and committed after it (computed here from
/// the history), each with a real xid, the oldest of which is what PostgreSQL reports as a
/// new reader's `pg_snapshot_xmin`.
#[test]
fn the_transactions_in_flight_at_each_tick_are_really_open_in_postgres() {
    if !postgres_here() {
        return;
    }
    use incrlab::engine::{Source, Targets};
    let loaded = shipped("late_arrivals", 2_000, 15);
    let history = runner::simulate(&loaded, None);
    let mut source = incrlab::engine::postgres::PostgresSourced::start(None).unwrap();
    source
        .create_target(
            incrlab::engine::TargetId(1),
            incrlab::scenario::TargetModel::Mirror,
        )
        .unwrap();
    let mut applied_up_to = i64::MIN;
    let mut ticks = vec![0];
    ticks.extend(history.run_times_us.iter().copied());
    let mut most_open = 0;
    for &tick in &ticks {
        let range = history.committed_between(applied_up_to, tick);
        source.advance_to(&history, range, tick).unwrap();
        applied_up_to = tick;
        let mut expected: Vec<i64> = (0..history.len())
            .filter(|&i| history.begin_us[i] <= tick && history.commit_us[i] > tick)
            .map(|i| history.xid[i])
            .collect();
        expected.sort();
        expected.dedup();
        let open = source.open_transactions();
        let simulated: Vec<i64> = open.iter().map(|&(sim, _)| sim).collect();
        assert_eq!(simulated, expected, "open at tick {tick}");
        let oldest_real = open.iter().map(|&(_, real)| real).min();
        let snapshot_xmin = source.snapshot_xmin().unwrap();
        match oldest_real {
            Some(real) => assert_eq!(snapshot_xmin, real, "tick {tick}"),
            None => assert!(snapshot_xmin > 0),
        }
        most_open = most_open.max(open.len());
    }
    assert!(
        most_open >= 2,
        "the scenario holds transactions open across ticks"
    );
    assert_eq!(source.play_stats().max_open_at_once as usize, most_open);
}

fn load_text(text: &str) -> incrlab::Result<LoadedScenario> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    Scenario::load(&path)
}

#[test]
fn a_scenario_refuses_a_postgres_source_with_polars_targets() {
    let err = load_text(
        "name = \"x\"\n[schedule]\nruns = 1\ninterval = \"1min\"\n[engine]\nkind = \"polars\"\nsource = \"postgres\"\n[[strategy]]\nkind = \"full\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("engine.source"), "{err}");
}

#[test]
fn a_url_is_refused_without_a_postgres_source_and_when_it_is_not_one() {
    let err = load_text("name = \"x\"\n[schedule]\nruns = 1\ninterval = \"1min\"\n[engine]\nurl = \"postgres://me@db/x\"\n[[strategy]]\nkind = \"full\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("engine.url"), "{err}");
    let err = load_text(
        "name = \"x\"\n[schedule]\nruns = 1\ninterval = \"1min\"\n[engine]\nsource = \"postgres\"\nurl = \"mysql://db\"\n[[strategy]]\nkind = \"full\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("engine.url") && err.contains("mysql://db"),
        "{err}"
    );
}

/// A small scenario with long transactions, as a file the command line can run.
const SMALL: &str = r#"
name = "small_late"
seed = 3
[table]
rows = 500
[schedule]
runs = 6
interval = "1min"
[churn]
inserts = 30
updates = 30
deletes = 3
[transactions]
late_fraction = 0.2
late_delay = { dist = "uniform", low = "30s", high = "3min" }
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
[[strategy]]
kind = "cdc"
[[strategy]]
kind = "xmin"
"#;

/// The `incrlab-pg-<pid>-…` directories the process `pid` left in the temp dir.
fn clusters_of(pid: u32) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("incrlab-pg-{pid}-")))
        })
        .collect()
}

#[test]
fn the_command_line_compares_the_sources_and_leaves_no_server_behind() {
    if !postgres_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("small.toml");
    std::fs::write(&scenario, SMALL).unwrap();
    let out = dir.path().join("out");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["run", "--compare-sources", "duckdb,postgres", "--out"])
        .arg(&out)
        .arg(&scenario)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for label in ["full", "watermark_id", "cdc", "xmin"] {
        assert!(stdout.contains(label), "{stdout}");
    }
    assert_eq!(
        stdout.matches("same key for key, every run").count(),
        4,
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("fidelity.json")).unwrap()).unwrap();
    assert_eq!(json["sources"], serde_json::json!(["engine", "postgres"]));
    assert!(clusters_of(pid).is_empty(), "the cluster was removed");
}

#[test]
fn a_run_on_postgres_prints_the_source_and_the_same_verdicts_as_the_simulator() {
    if !postgres_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("small.toml");
    std::fs::write(&scenario, SMALL).unwrap();
    let run = |extra: &[&str], out: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_incrlab"))
            .args(["run", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .arg(&scenario)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        incrlab::results::RunResults::read(&dir.path().join(out)).unwrap()
    };
    let simulated = run(&[], "sim");
    let real = run(&["--source", "postgres"], "pg");
    assert_eq!(
        real.scenario_as_run.engine.source,
        SourceKind::Postgres,
        "results say where the source lived"
    );
    for (a, b) in simulated.strategies.iter().zip(&real.strategies) {
        assert_eq!(a.permanent, b.permanent, "{}", a.label);
        assert_eq!(a.sample_wrong_keys, b.sample_wrong_keys, "{}", a.label);
    }
}

#[test]
fn a_bad_pair_of_sources_is_refused_before_anything_runs() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["run", "--compare-sources", "duckdb,engine", "--out"])
        .arg(tempfile::tempdir().unwrap().path().join("never"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("same source twice"), "{stderr}");
}

/// Rows scanned are PostgreSQL's own statistics: a sequential scan of the whole table counts
/// every row it returns, an indexed `id > wm` read counts the heap rows its index scan fetched
/// (about what it returns, far fewer than the table), and a second run counts the same.
#[test]
fn rows_scanned_are_postgres_statistics_and_repeat_exactly() {
    if !postgres_here() {
        return;
    }
    let mut loaded = load_text(SMALL).unwrap();
    loaded.scenario.table.rows = 5_000;
    loaded.scenario.engine.source = SourceKind::Postgres;
    let first = runner::run(&loaded, &RunOptions::default()).unwrap();
    let again = runner::run(&loaded, &RunOptions::default()).unwrap();
    let scans = |r: &incrlab::results::RunResults| -> Vec<Vec<u64>> {
        r.strategies
            .iter()
            .map(|s| s.per_run.iter().map(|p| p.rows_scanned).collect())
            .collect()
    };
    assert_eq!(scans(&first), scans(&again));
    let by_label = |label: &str| first.strategies.iter().find(|s| s.label == label).unwrap();
    for run in &by_label("full").per_run {
        assert_eq!(
            run.rows_scanned, run.rows_read,
            "a full read scans what it returns"
        );
    }
    for run in &by_label("watermark_id").per_run[1..] {
        assert!(
            run.rows_scanned >= run.rows_read && run.rows_scanned < 500,
            "an indexed read fetches about what it returns: {} scanned, {} read",
            run.rows_scanned,
            run.rows_read
        );
    }
}

/// `[engine] url`: an existing server is used in a schema of its own, with slots of its own,
/// and both are gone afterwards; what was there before is untouched.
#[test]
fn a_source_on_an_existing_server_leaves_nothing_of_its_own_behind() {
    if !postgres_here() {
        return;
    }
    let cluster = incrlab::engine::postgres::Cluster::start().unwrap();
    let url = format!("postgres://incrlab@127.0.0.1:{}/postgres", cluster.port());
    let mut client = cluster.connect().unwrap();
    client
        .batch_execute("CREATE SCHEMA theirs; CREATE TABLE theirs.keep (x int)")
        .unwrap();
    let mut loaded = load_text(SMALL).unwrap();
    loaded.scenario.engine.source = SourceKind::Postgres;
    loaded.scenario.engine.url = Some(url);
    let on_server = runner::run(&loaded, &RunOptions::default()).unwrap();
    let mut simulated = loaded.clone();
    simulated.scenario.engine.source = SourceKind::Engine;
    simulated.scenario.engine.url = None;
    let simulated = runner::run(&simulated, &RunOptions::default()).unwrap();
    for (a, b) in on_server.strategies.iter().zip(&simulated.strategies) {
        assert_eq!(a.permanent, b.permanent, "{}", a.label);
    }
    let schemas: Vec<String> = client
        .query(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'incrlab%' OR nspname = 'theirs'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(schemas, ["theirs"]);
    let slots: i64 = client
        .query_one("SELECT count(*) FROM pg_replication_slots", &[])
        .unwrap()
        .get(0);
    assert_eq!(slots, 0, "its replication slots were dropped");
}

#[test]
fn check_holds_a_scenario_to_its_expectations_on_postgres() {
    if !postgres_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("small.toml");
    let expectations = "\n[[expect]]\nstrategy = \"xmin\"\nmissing = 0\nstale = 0\n\n[[expect]]\nstrategy = \"xmin\"\nghost = { at_least = 1 }   # blind to hard deletes\n\n[[expect]]\nstrategy = \"cdc\"\nmissing = 0\nstale = 0\nghost = 0\nduplicate = 0\n";
    std::fs::write(&scenario, format!("{SMALL}{expectations}")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["check", "--source", "postgres"])
        .arg(&scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("7 of 7 expectations hold"), "{stdout}");
}
