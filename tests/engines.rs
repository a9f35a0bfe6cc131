//! The two engines checked against each other. DuckDB and polars run every shipped scenario in
//! lockstep (every call to both, every exact answer compared: rows read, batch maxima, target
//! rows inserted/updated/deleted, chunks, state, whole target contents after every run), and
//! on their own, where every run's exact record, the permanent divergence and the wrong keys
//! must come out identical. A difference is a bug in one engine: the failure names the first
//! run, strategy and key where they part.

mod common;

use std::path::PathBuf;

use incrlab::engine::open_differential;
use incrlab::results::{RunRecord, RunResults};
use incrlab::runner::{self, RunOptions};
use incrlab::scenario::{EngineKind, LoadedScenario, Scenario};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Shipped scenarios are run at no more than this many initial rows: the differential is
/// about behaviour, and every behaviour a scenario teaches shows at this size.
const MAX_ROWS: u64 = 20_000;

/// Every shipped scenario (scenarios/ and scenarios/bench/) with a built-in strategy, at most
/// [`MAX_ROWS`] rows, with outside pipelines removed (they read a released file, not an
/// engine).
fn shipped() -> Vec<LoadedScenario> {
    let mut out = Vec::new();
    for dir in [
        common::scenarios_dir(),
        common::scenarios_dir().join("bench"),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for path in files {
            let mut loaded = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let table = &mut loaded.scenario.table;
            table.rows = table.rows.min(MAX_ROWS);
            loaded.scenario.pipelines.clear();
            if !loaded.scenario.strategies.is_empty() {
                out.push(loaded);
            }
        }
    }
    assert!(out.len() >= 16, "found only {} scenarios", out.len());
    out
}

fn on(loaded: &LoadedScenario, kind: EngineKind) -> LoadedScenario {
    let mut on = loaded.clone();
    on.scenario.engine.kind = kind;
    on
}

fn name(loaded: &LoadedScenario) -> String {
    loaded
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A run record without what each engine measures its own way (time, and what its scans
/// touched).
fn exact(record: &RunRecord) -> RunRecord {
    RunRecord {
        wall_ms: 0.0,
        cpu_ms: 0.0,
        rows_scanned: 0,
        bytes_scanned: 0,
        ..record.clone()
    }
}

/// The first place two engines' results part: run, strategy, and what differs.
fn first_difference(a: &RunResults, b: &RunResults) -> Option<String> {
    if a.history_digest != b.history_digest {
        return Some("the histories differ".into());
    }
    for (x, y) in a.strategies.iter().zip(&b.strategies) {
        let runs = x.per_run.len().max(y.per_run.len());
        for i in 0..runs {
            match (x.per_run.get(i), y.per_run.get(i)) {
                (Some(r), Some(s)) if exact(r) == exact(s) => {}
                (Some(r), Some(s)) => {
                    return Some(format!(
                        "run {} of `{}`: {:?} vs {:?}",
                        r.run,
                        x.label,
                        exact(r),
                        exact(s)
                    ))
                }
                _ => return Some(format!("`{}` ran a different number of runs", x.label)),
            }
        }
        if x.permanent != y.permanent {
            return Some(format!(
                "`{}` permanent divergence {:?} vs {:?}",
                x.label, x.permanent, y.permanent
            ));
        }
        let keys = |s: &incrlab::results::StrategyResult| -> Vec<(i64, String)> {
            s.sample_wrong_keys
                .iter()
                .map(|k| (k.id, format!("{:?}", k.class)))
                .collect()
        };
        if keys(x) != keys(y) {
            return Some(format!(
                "`{}` wrong keys {:?} vs {:?}",
                x.label,
                keys(x),
                keys(y)
            ));
        }
        if x.crashes != y.crashes {
            return Some(format!("`{}` crashes differ", x.label));
        }
    }
    None
}

fn lockstep(loaded: &LoadedScenario) -> incrlab::Result<RunResults> {
    runner::run_with(loaded, &RunOptions::default(), |storage| {
        open_differential(EngineKind::Duckdb, EngineKind::Polars, storage)
    })
}

#[test]
fn every_shipped_scenario_gives_duckdb_and_polars_the_same_answer_to_every_call() {
    for loaded in shipped() {
        if let Err(e) = lockstep(&loaded) {
            panic!("{}: {e}", name(&loaded));
        }
    }
}

#[test]
fn every_shipped_scenario_ends_the_same_on_duckdb_and_on_polars() {
    for loaded in shipped() {
        let duckdb = common::run(&on(&loaded, EngineKind::Duckdb));
        let polars = common::run(&on(&loaded, EngineKind::Polars));
        if let Some(d) = first_difference(&duckdb, &polars) {
            panic!("{}: {d}", name(&loaded));
        }
        // The premise: the scenario exercised the engines (something was read and written).
        let written: u64 = duckdb
            .strategies
            .iter()
            .flat_map(|s| &s.per_run)
            .map(|r| r.rows_written)
            .sum();
        assert!(written > 0, "{}: nothing was written", name(&loaded));
    }
}

/// The knobs a generated workload varies, crashes included.
#[derive(Debug, Clone)]
struct Workload {
    rows: u64,
    runs: u32,
    inserts: u64,
    updates: u64,
    deletes: u64,
    soft_deletes: bool,
    late_fraction: f64,
    granularity_ms: u64,
    crash_probability: f64,
    chunks: u32,
    restart_immediately: bool,
    seed: u64,
}

prop_compose! {
    fn workload()(
        rows in 0u64..80,
        runs in 1u32..6,
        inserts in 0u64..20,
        updates in 0u64..20,
        deletes in 0u64..6,
        soft_deletes in any::<bool>(),
        late_fraction in 0.0f64..0.5,
        granularity_ms in 1u64..3000,
        crash_probability in prop_oneof![Just(0.0), 0.1f64..0.6],
        chunks in 1u32..5,
        restart_immediately in any::<bool>(),
        seed in any::<u64>(),
    ) -> Workload {
        let deletes = deletes.min(rows);
        Workload { rows, runs, inserts, updates, deletes, soft_deletes, late_fraction, granularity_ms, crash_probability, chunks, restart_immediately, seed }
    }
}

impl Workload {
    /// Every strategy kind, every write mode and model, both state stores and both commit
    /// orders, so a generated case can reach every engine path.
    fn scenario(&self) -> String {
        format!(
            r#"
name = "engines_prop"
seed = {seed}
[table]
rows = {rows}
[schedule]
runs = {runs}
interval = "10s"
[churn]
inserts = {inserts}
updates = {updates}
deletes = {deletes}
delete_mode = "{mode}"
[transactions]
commit_delay = {{ dist = "exponential", mean = "800ms" }}
late_fraction = {late:.2}
late_delay = {{ dist = "uniform", low = "5s", high = "40s" }}
[timestamps]
granularity = "{granularity}ms"
[faults]
crash_probability = {crash:.2}
points = ["before_read", "after_read", "mid_write", "after_write", "after_state_commit"]
restart = "{restart}"
write_chunks = {chunks}
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
[[strategy]]
kind = "updated_at"
boundary = ">="
boundary_dedupe = "key"
[[strategy]]
kind = "cdc"
[[strategy]]
kind = "cdc"
write = "delete_insert"
state_store = "target_table"
[[strategy]]
kind = "cdc"
write = "append"
offset_flush_every = 3
[[strategy]]
kind = "cdc"
commit_order = "before_write"
[[strategy]]
kind = "interval"
lookback = 1
[[strategy]]
kind = "file_listing"
[[strategy]]
kind = "cdc"
model = "daily_totals"
[[strategy]]
kind = "updated_at"
model = "daily_totals"
[[strategy]]
kind = "interval"
model = "daily_totals"
[[strategy]]
kind = "cdc"
model = "daily_totals"
write = "append"
"#,
            seed = self.seed,
            rows = self.rows,
            runs = self.runs,
            inserts = self.inserts,
            updates = self.updates,
            deletes = self.deletes,
            mode = if self.soft_deletes { "soft" } else { "hard" },
            late = self.late_fraction,
            granularity = self.granularity_ms,
            crash = self.crash_probability,
            restart = if self.restart_immediately {
                "immediately"
            } else {
                "next_run"
            },
            chunks = self.chunks,
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/engines.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_workloads_with_crashes_give_both_engines_the_same_answers(w in workload()) {
        let loaded = common::from_toml(&w.scenario());
        if let Err(e) = lockstep(&loaded) {
            prop_assert!(false, "{e}");
        }
    }
}
