//! Crash anywhere: properties over generated workloads and crash schedules. A failing
//! property leaves its shrunk case as a scenario file (`common::keep_counterexample`).

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use incrlab::results::{CrashRecord, RunResults, StrategyResult};
use incrlab::scenario::{CrashPoint, Scenario};

/// The knobs a generated workload varies.
#[derive(Debug, Clone)]
struct Workload {
    rows: u64,
    runs: u32,
    inserts: u64,
    updates: u64,
    deletes: u64,
    late_fraction: f64,
    writers: u32,
    /// Whether transactions commit the instant they begin (so ids commit in order).
    instant_commits: bool,
    seed: u64,
}

impl Workload {
    fn toml(&self) -> String {
        format!(
            r#"name = "crash_case"
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
[writers]
count = {writers}
[transactions]
commit_delay = {commit_delay}
late_fraction = {late:.2}
late_delay = {{ dist = "uniform", low = "5s", high = "30s" }}
"#,
            seed = self.seed,
            rows = self.rows,
            runs = self.runs,
            inserts = self.inserts,
            updates = self.updates,
            deletes = self.deletes,
            writers = self.writers,
            late = self.late_fraction,
            commit_delay = if self.instant_commits {
                r#"{ dist = "constant", value = "0s" }"#
            } else {
                r#"{ dist = "exponential", mean = "500ms" }"#
            },
        )
    }
}

prop_compose! {
    /// Any mix of changes, late commits and writers.
    fn any_workload()(
        rows in 20u64..120,
        runs in 2u32..6,
        inserts in 0u64..20,
        updates in 0u64..20,
        deletes in 0u64..6,
        late_fraction in 0.0f64..0.3,
        writers in 1u32..3,
        seed in any::<u64>(),
    ) -> Workload {
        Workload { rows, runs, inserts, updates, deletes, late_fraction, writers, instant_commits: false, seed }
    }
}

prop_compose! {
    /// Inserts only, one writer, commits in id order: `watermark_id` is exact without crashes,
    /// so every row a crash loses or repeats is the crash's doing.
    fn insert_only_workload()(
        rows in 1u64..80,
        runs in 2u32..6,
        inserts in 1u64..20,
        seed in any::<u64>(),
    ) -> Workload {
        Workload { rows, runs, inserts, updates: 0, deletes: 0, late_fraction: 0.0, writers: 1, instant_commits: true, seed }
    }
}

/// A `[faults]` section: a random crash rate over some points, crashes listed by hand, and
/// how the pipeline restarts.
#[derive(Debug, Clone)]
struct Schedule {
    probability: f64,
    points: Vec<CrashPoint>,
    listed: Vec<(u32, CrashPoint)>,
    immediately: bool,
    chunks: u32,
}

impl Schedule {
    fn toml(&self) -> String {
        let names = |points: &[CrashPoint]| {
            points
                .iter()
                .map(|p| format!("\"{}\"", p.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let listed: Vec<String> = self
            .listed
            .iter()
            .map(|(run, p)| format!("{{ run = {run}, point = \"{}\" }}", p.name()))
            .collect();
        format!(
            "[faults]\ncrash_probability = {:.2}\npoints = [{}]\ncrashes = [{}]\nrestart = \"{}\"\nwrite_chunks = {}\n",
            self.probability,
            names(&self.points),
            listed.join(", "),
            if self.immediately { "immediately" } else { "next_run" },
            self.chunks,
        )
    }
}

fn point() -> impl Strategy<Value = CrashPoint> + Clone {
    prop::sample::select(CrashPoint::ALL.to_vec())
}

/// Crashes listed at distinct runs (at most 5 runs are generated), run 1 always among them: a
/// property must be tested under crashes, and the first run (which reads everything) too.
fn listed(
    points: impl Strategy<Value = CrashPoint> + Clone,
) -> impl Strategy<Value = Vec<(u32, CrashPoint)>> {
    (
        points.clone(),
        prop::collection::btree_map(2u32..6, points, 0..3),
    )
        .prop_map(|(first, m)| std::iter::once((1, first)).chain(m).collect())
}

/// Every crash the schedule lists struck its run, for every strategy: a property that passes
/// must have passed under those crashes, never vacuously without them.
fn listed_crashes_struck(results: &RunResults, s: &Schedule) -> Result<(), TestCaseError> {
    prop_assert!(
        s.listed.iter().any(|(run, _)| *run == 1),
        "run 1 is not listed"
    );
    for strategy in &results.strategies {
        for (run, point) in &s.listed {
            prop_assert!(
                strategy
                    .crashes
                    .iter()
                    .any(|c| c.run == *run && c.point == *point && c.attempt == 1),
                "{}: the crash listed at run {run} ({}) did not strike: {:?}",
                strategy.label,
                point.name(),
                strategy.crashes
            );
        }
    }
    Ok(())
}

prop_compose! {
    fn any_schedule()(
        probability in prop_oneof![Just(0.0), 0.0f64..0.6],
        points in prop::sample::subsequence(CrashPoint::ALL.to_vec(), 1..=5),
        listed in listed(point()),
        immediately in any::<bool>(),
        chunks in 1u32..5,
    ) -> Schedule {
        Schedule { probability, points, listed, immediately, chunks }
    }
}

/// Keeps only the crashes at runs that exist.
fn within(mut schedule: Schedule, runs: u32) -> Schedule {
    schedule.listed.retain(|(run, _)| *run <= runs);
    schedule
}

fn run(toml: &str) -> RunResults {
    common::run(&common::from_toml(toml))
}

fn final_digest(s: &StrategyResult) -> &str {
    &s.per_run.last().expect("at least one run").target_digest
}

fn crashes_at(s: &StrategyResult, point: CrashPoint) -> impl Iterator<Item = &CrashRecord> {
    s.crashes.iter().filter(move |c| c.point == point)
}

const IDEMPOTENT_AFTER_WRITE: &str = r#"
[[strategy]]
kind = "full"
[[strategy]]
kind = "cdc"
[[strategy]]
kind = "cdc"
state_store = "target_table"
[[strategy]]
kind = "cdc"
write = "delete_insert"
state_store = "target_table"
"#;

/// The same strategies with the state flush every few events (json_file only).
const FLUSHING: &str = r#"
[[strategy]]
kind = "cdc"
offset_flush_every = 7
[[strategy]]
kind = "cdc"
write = "delete_insert"
offset_flush_every = 7
"#;

fn idempotent_writes_survive(
    w: &Workload,
    s: &Schedule,
    strategies: &str,
) -> Result<(), TestCaseError> {
    let calm = run(&format!("{}{strategies}", w.toml()));
    let crashed = run(&format!("{}{}{strategies}", w.toml(), s.toml()));
    listed_crashes_struck(&crashed, s)?;
    for (c, k) in crashed.strategies.iter().zip(&calm.strategies) {
        prop_assert_eq!(
            c.permanent.total(),
            0,
            "{} diverged after {:?}: {:?}",
            c.label,
            c.crashes,
            c.permanent
        );
        prop_assert!(c.settled, "{} did not settle", c.label);
        prop_assert_eq!(
            final_digest(c),
            final_digest(k),
            "{} ends unlike its crash-free run",
            c.label
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/crashes.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn upsert_and_delete_insert_committed_after_write_survive_any_crash_schedule(
        w in any_workload(), s in any_schedule()
    ) {
        let s = within(s, w.runs);
        let strategies = IDEMPOTENT_AFTER_WRITE;
        let scenario = format!("{}{}{strategies}", w.toml(), s.toml());
        common::keep_counterexample(
            "upsert_and_delete_insert_committed_after_write_survive_any_crash_schedule",
            &scenario,
            idempotent_writes_survive(&w, &s, strategies),
        )?;
    }

    #[test]
    fn cdc_replays_events_after_its_last_flushed_offset_and_upsert_absorbs_them(
        w in any_workload(), chunks in 2u32..5, after in 1u32..4, immediately in any::<bool>()
    ) {
        // A crash after some chunks of the first run, which reads at least the initial rows.
        let after = after.min(chunks - 1);
        let s = Schedule { probability: 0.0, points: vec![], listed: vec![], immediately, chunks };
        let faults = format!("{}crashes = [{{ run = 1, point = \"mid_write\", after_chunks = {after} }}]\n",
            s.toml().replace("crashes = []\n", ""));
        let scenario = format!("{}{faults}{FLUSHING}", w.toml());
        let outcome = (|| {
            let results = run(&scenario);
            for c in &results.strategies {
                let crash = &c.crashes[0];
                prop_assert!(crash.rows_committed > 0, "{}: {:?}", c.label, crash);
                prop_assert!(crash.rows_replayed > 0, "{}: nothing replayed: {:?}", c.label, crash);
                prop_assert!(crash.rows_replayed <= crash.rows_committed);
                prop_assert_eq!(c.permanent.total(), 0, "{}: {:?}", c.label, c.permanent);
            }
            let calm = run(&format!("{}{FLUSHING}", w.toml()));
            for (c, k) in results.strategies.iter().zip(&calm.strategies) {
                prop_assert_eq!(final_digest(c), final_digest(k), "{}", c.label);
            }
            Ok(())
        })();
        common::keep_counterexample("cdc_replays_events_after_its_last_flushed_offset", &scenario, outcome)?;
    }

    #[test]
    fn append_with_a_crash_between_write_and_state_duplicates_exactly_the_replayed_rows(
        w in insert_only_workload(), runs in listed(Just(CrashPoint::AfterWrite)), immediately in any::<bool>()
    ) {
        // Under next_run, a crash in the run after another would append the same rows a third
        // time; keep crashed runs apart so each replay is counted once.
        let mut runs = runs;
        runs.retain(|(r, _)| *r <= w.runs);
        if !immediately {
            let mut last: Option<u32> = None;
            runs.retain(|(r, _)| {
                let keep = last.is_none_or(|l| *r > l + 1);
                if keep {
                    last = Some(*r);
                }
                keep
            });
        }
        let s = Schedule { probability: 0.0, points: vec![], listed: runs, immediately, chunks: 3 };
        let scenario = format!("{}{}[[strategy]]\nkind = \"watermark_id\"\nwrite = \"append\"\n", w.toml(), s.toml());
        let outcome = (|| {
            let results = run(&scenario);
            listed_crashes_struck(&results, &s)?;
            let a = &results.strategies[0];
            let replayed: u64 = crashes_at(a, CrashPoint::AfterWrite).map(|c| c.rows_replayed).sum();
            prop_assert_eq!(a.permanent.duplicate, replayed, "{:?}", a.crashes);
            prop_assert_eq!(a.permanent.missing + a.permanent.stale + a.permanent.ghost, 0);
            // Run 1 reads the initial rows and at least one insert: its replay is never empty.
            prop_assert!(replayed > 0, "a crash after the first run's write replays rows");
            Ok(())
        })();
        common::keep_counterexample("append_with_a_crash_between_write_and_state", &scenario, outcome)?;
    }

    #[test]
    fn state_committed_before_the_write_loses_exactly_the_skipped_rows_and_explain_names_the_crash(
        w in insert_only_workload(),
        runs in listed(prop::sample::select(vec![CrashPoint::AfterStateCommit, CrashPoint::MidWrite])),
        immediately in any::<bool>(),
    ) {
        let s = within(Schedule { probability: 0.0, points: vec![], listed: runs, immediately, chunks: 3 }, w.runs);
        let scenario = format!("{}{}{BEFORE_WRITE}", w.toml(), s.toml());
        let outcome = before_write_loses_the_skipped_rows(&scenario, &s);
        common::keep_counterexample("state_committed_before_the_write", &scenario, outcome)?;
    }

    #[test]
    fn a_target_table_store_never_lets_data_and_state_disagree(
        w in any_workload(), s in any_schedule()
    ) {
        let s = Schedule { immediately: false, ..within(s, w.runs) };
        let scenario = format!("{}{}{TARGET_TABLE}", w.toml(), s.toml());
        let outcome = (|| {
            let results = run(&scenario);
            listed_crashes_struck(&results, &s)?;
            for strategy in &results.strategies {
                for pair in strategy.per_run.windows(2) {
                    let (before, after) = (&pair[0], &pair[1]);
                    if matches!(after.crashed_at, Some(p) if p != CrashPoint::AfterStateCommit) {
                        // Rolled back whole: neither the data nor the state moved.
                        prop_assert_eq!(&after.target_digest, &before.target_digest, "{} run {}", strategy.label, after.run);
                        prop_assert_eq!(after.watermark_after, after.watermark_before);
                    }
                }
            }
            Ok(())
        })();
        common::keep_counterexample("a_target_table_store_never_lets_data_and_state_disagree", &scenario, outcome)?;
    }
}

const BEFORE_WRITE: &str =
    "[[strategy]]\nkind = \"watermark_id\"\ncommit_order = \"before_write\"\n";

const TARGET_TABLE: &str = r#"
[[strategy]]
kind = "cdc"
state_store = "target_table"
[[strategy]]
kind = "watermark_id"
write = "append"
state_store = "target_table"
[[strategy]]
kind = "updated_at"
write = "delete_insert"
state_store = "target_table"
"#;

/// Missing rows = the rows crashes skipped, exactly; every sample reason names the crash.
fn before_write_loses_the_skipped_rows(
    scenario: &str,
    schedule: &Schedule,
) -> Result<(), TestCaseError> {
    let results = run(scenario);
    listed_crashes_struck(&results, schedule)?;
    let s = &results.strategies[0];
    let skipped: u64 = s.crashes.iter().map(|c| c.rows_skipped).sum();
    // A crash right after run 1's state commit skips everything run 1 read (at least one row).
    let first = s
        .crashes
        .iter()
        .find(|c| c.run == 1)
        .expect("run 1 crashed");
    if first.point == CrashPoint::AfterStateCommit {
        prop_assert!(
            first.rows_skipped > 0,
            "run 1's crash skipped nothing: {:?}",
            first
        );
    }
    prop_assert_eq!(s.permanent.missing, skipped, "{:?}", s.crashes);
    for key in &s.sample_wrong_keys {
        prop_assert!(
            key.reason.contains("crashed at"),
            "key {}: {}",
            key.id,
            key.reason
        );
    }
    Ok(())
}

#[test]
fn a_json_file_store_lets_a_mid_write_crash_leave_data_ahead_of_the_state() {
    // The contrast to the target_table property: chunks committed on their own, state not.
    let w = Workload {
        rows: 100,
        runs: 3,
        inserts: 10,
        updates: 10,
        deletes: 0,
        late_fraction: 0.0,
        writers: 1,
        instant_commits: false,
        seed: 1,
    };
    let faults = "[faults]\ncrashes = [{ run = 2, point = \"mid_write\", after_chunks = 2 }]\n";
    let results = run(&format!(
        "{}{faults}[[strategy]]\nkind = \"cdc\"\n",
        w.toml()
    ));
    let s = &results.strategies[0];
    let (before, crashed) = (&s.per_run[0], &s.per_run[1]);
    assert_eq!(crashed.crashed_at, Some(CrashPoint::MidWrite));
    assert_ne!(
        crashed.target_digest, before.target_digest,
        "the committed chunks landed"
    );
    assert_eq!(
        crashed.watermark_after, crashed.watermark_before,
        "the state did not move"
    );
    assert_eq!(s.crashes[0].chunks_committed, 2);
    assert_eq!(s.permanent.total(), 0, "the next run replays and heals");
}

#[test]
fn the_same_seed_crashes_at_the_same_places() {
    let w = Workload {
        rows: 60,
        runs: 5,
        inserts: 8,
        updates: 8,
        deletes: 2,
        late_fraction: 0.1,
        writers: 2,
        instant_commits: false,
        seed: 7,
    };
    let s = Schedule {
        probability: 0.5,
        points: CrashPoint::ALL.to_vec(),
        listed: vec![],
        immediately: true,
        chunks: 3,
    };
    let scenario = format!("{}{}{IDEMPOTENT_AFTER_WRITE}", w.toml(), s.toml());
    let (a, b) = (run(&scenario), run(&scenario));
    assert_eq!(a.first_difference(&b), None);
    let crashes: usize = a.strategies.iter().map(|s| s.crashes.len()).sum();
    assert!(crashes > 0, "a 50% crash rate crashes somewhere");
    let other_seed = run(&scenario.replace("seed = 7", "seed = 8"));
    let places = |r: &RunResults| -> Vec<Vec<(u32, u32, CrashPoint)>> {
        r.strategies
            .iter()
            .map(|s| {
                s.crashes
                    .iter()
                    .map(|c| (c.run, c.attempt, c.point))
                    .collect()
            })
            .collect()
    };
    assert_ne!(places(&a), places(&other_seed));
}

#[test]
fn a_crash_every_attempt_gives_the_run_up_after_the_attempt_limit() {
    let w = Workload {
        rows: 30,
        runs: 2,
        inserts: 5,
        updates: 0,
        deletes: 0,
        late_fraction: 0.0,
        writers: 1,
        instant_commits: false,
        seed: 2,
    };
    let faults =
        "[faults]\ncrash_probability = 1.0\npoints = [\"after_read\"]\nrestart = \"immediately\"\n";
    let results = run(&format!(
        "{}{faults}[[strategy]]\nkind = \"cdc\"\n",
        w.toml()
    ));
    let s = &results.strategies[0];
    assert_eq!(s.per_run[0].attempts, incrlab::scenario::MAX_ATTEMPTS);
    assert_eq!(s.per_run[0].crashed_at, Some(CrashPoint::AfterRead));
    assert_eq!(s.crashes.len() as u32, 2 * incrlab::scenario::MAX_ATTEMPTS);
    assert_eq!(
        s.permanent.total(),
        0,
        "the drain, free of faults, catches up"
    );
}

#[test]
fn a_failing_property_leaves_its_shrunk_case_as_a_scenario_that_reproduces_it() {
    // A false property — "state committed before the write never loses a row" — run by
    // hand: proptest must fail it, shrink it, and leave the scenario behind.
    let property = "demo_before_write_never_loses_a_row";
    let path = common::counterexample_path(property);
    let _ = std::fs::remove_file(&path);
    // A fixed RNG and room to shrink: with a random seed and the default budget, shrinking
    // sometimes stopped at two crashes and the test failed by chance.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 16,
            failure_persistence: None,
            max_shrink_iters: 4096,
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = (
        insert_only_workload(),
        listed(Just(CrashPoint::AfterStateCommit)),
    );
    let outcome = runner.run(&strategy, |(w, runs)| {
        let s = within(
            Schedule {
                probability: 0.0,
                points: vec![],
                listed: runs,
                immediately: false,
                chunks: 2,
            },
            w.runs,
        );
        let scenario = format!("{}{}{BEFORE_WRITE}", w.toml(), s.toml());
        let outcome = (|| {
            let results = run(&scenario);
            prop_assert_eq!(results.strategies[0].permanent.missing, 0);
            Ok(())
        })();
        common::keep_counterexample(property, &scenario, outcome)
    });
    assert!(
        matches!(outcome, Err(TestError::Fail(..))),
        "the property is false: {outcome:?}"
    );

    let loaded = Scenario::load(&path).expect("the counterexample is a valid scenario");
    let faults = loaded.scenario.faults.as_ref().unwrap();
    assert_eq!(
        faults.crashes.len(),
        1,
        "shrunk to a single crash: {faults:?}"
    );
    let results = common::run(&loaded);
    assert!(
        results.strategies[0].permanent.missing > 0,
        "running it reproduces the loss"
    );
}

#[test]
fn skipped_runs_leave_no_record_and_the_next_run_catches_up() {
    let w = Workload {
        rows: 100,
        runs: 6,
        inserts: 10,
        updates: 10,
        deletes: 2,
        late_fraction: 0.0,
        writers: 1,
        instant_commits: true,
        seed: 3,
    };
    let text = w.toml().replace("runs = 6", "runs = 6\nskip_runs = [3, 4]");
    let results = run(&format!("{text}[[strategy]]\nkind = \"cdc\"\n"));
    let s = &results.strategies[0];
    let runs: Vec<u32> = s
        .per_run
        .iter()
        .filter(|r| !r.drain)
        .map(|r| r.run)
        .collect();
    assert_eq!(runs, vec![1, 2, 5, 6]);
    // Run 5 reads what runs 3, 4 and 5 would have read: three intervals of changes.
    let run5 = s.per_run.iter().find(|r| r.run == 5).unwrap();
    let run2 = s.per_run.iter().find(|r| r.run == 2).unwrap();
    assert!(
        run5.rows_read >= 3 * run2.rows_read / 2,
        "run 5 read {}, run 2 {}",
        run5.rows_read,
        run2.rows_read
    );
    assert_eq!(s.permanent.total(), 0);
}
