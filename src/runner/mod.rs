//! Runs a scenario end to end: simulate, load the source, run every strategy at every
//! scheduled tick and through the drain, verify each target after each run.
//!
//! The drain follows the last scheduled run: no new transactions, every open one committed,
//! then further runs on the same grid until no strategy's target or state changes. Whatever
//! is still wrong then is permanent.

mod attempt;
mod lane;
mod model;
mod pipeline_lane;
mod pipeline_logs;
mod tally;
mod target_track;
#[cfg(test)]
mod tests;
mod workdir;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lane::{Lane, Shown, StrategyLane};
use pipeline_lane::PipelineLane;
use tally::{Checked, Tally};
pub use workdir::remove_orphans;

use crate::engine::{
    self, Engine, ReleasedSource, TargetContents, TargetId, TargetRows, TargetStorage,
};
use crate::error::{Error, Result};
use crate::explain;
use crate::landing::Landing;
use crate::median::median;
use crate::results::{ms, InitialLoadTime, RunResults, RunTimings};
use crate::scenario::{LoadedScenario, StrategyKind, TargetModel};
use crate::sim::{generate_timed, History};
use crate::state_store::StateStore;
use crate::strategy::{from_spec, RunContext};
use crate::timeline::{Timeline, MAX_LOST_PER_STRATEGY};
use crate::verify::{
    check_totals, expected_totals, DivergenceClass, Oracle, SavedCheck, Verdict, WatchedKey,
};

/// Drain runs after which a target that still changes is reported as not settled (raised to
/// k + 2 for a strategy reconciling every k runs). A strategy that re-appends the same rows
/// every run (append with an overlapping read) never settles.
pub const MAX_DRAIN_RUNS: u32 = 10;

/// Wrong keys kept per strategy in the results.
pub const SAMPLE_WRONG_KEYS: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Told after every run (scheduled or drain), for a progress bar.
    pub progress: Option<ProgressHook>,
    /// Record, after every run, the versions each target holds for this key (`incrlab
    /// explain`): the engine's own answer, not a reconstruction.
    pub watch_key: Option<i64>,
    /// Run every run a second time from the state persisted before it, as a retry after a
    /// failure would, and record where the target or state came out different.
    pub check_idempotence: bool,
    /// After every steady scheduled run, time a bare copy of the source in the same engine
    /// (`incrlab bench` compares full reprocessing with it).
    pub measure_bare_copy: bool,
    /// Outside pipelines of one run tick started side by side, at most this many at once
    /// (default: the number of cores).
    pub jobs: Option<usize>,
    /// The output directory: pipeline logs end up in its `pipelines/<label>/` once the run is
    /// over (replacing the previous run's). Without it the logs go with the working directory.
    pub pipeline_logs: Option<std::path::PathBuf>,
    /// What the scenario's memory estimate must fit in before anything is generated.
    pub memory: crate::footprint::MemoryBudget,
    /// The threads the engine's statements may run on (a sweep's workers share the cores).
    pub engine_threads: engine::Threads,
}

/// A callback given `(runs done, scheduled runs)` after every run; drain runs count past the
/// scheduled ones. Never reaches results: it only reports.
#[derive(Clone)]
pub struct ProgressHook(pub std::sync::Arc<dyn Fn(u32, u32) + Send + Sync>);

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// Runs the scenario on the engine its `[engine]` section names.
pub fn run(loaded: &LoadedScenario, options: &RunOptions) -> Result<RunResults> {
    let spec = loaded.scenario.engine.clone();
    run_with(loaded, options, |storage| {
        engine::open_for(&spec, storage, options.engine_threads)
    })
}

/// Runs the scenario on the engine `open` returns for the target storage the scenario needs
/// (database files under `[faults]`, memory otherwise).
pub fn run_with(
    loaded: &LoadedScenario,
    options: &RunOptions,
    open: impl FnOnce(TargetStorage<'_>) -> Result<Box<dyn Engine>>,
) -> Result<RunResults> {
    // Refuse what cannot fit before any work is done (exit 2, naming the keys).
    crate::footprint::check(loaded, options.memory, 1)?;
    let started = Instant::now();
    let mut scenario = loaded.scenario.clone();
    let seed = options.seed.unwrap_or(scenario.seed);
    scenario.seed = seed;

    let (history, generation) = generate_timed(&scenario, seed);
    let generate_time = started.elapsed();

    // Named after this process, so a later run can tell our litter from a live run's if we are
    // killed before we clean up.
    let work = workdir::create()?;

    // A crash closes and reopens a target's database, so under [faults] targets are files.
    let storage = match &scenario.faults {
        Some(_) => TargetStorage::Files(work.path()),
        None => TargetStorage::Memory,
    };
    let mut engine = open(storage)?;
    // Files land only when a strategy lists them: landing costs a Parquet write per file.
    let mut landing = match scenario
        .strategies
        .iter()
        .any(|s| s.kind == StrategyKind::FileListing)
        || scenario
            .pipelines
            .iter()
            .any(|p| p.source == crate::scenario::PipelineSource::LandingDir)
    {
        true => {
            let landing = Landing::new(
                &work.path().join("landing"),
                &scenario.landing,
                &history,
                seed,
            )?;
            engine.set_landing_dir(landing.dir());
            Some(landing)
        }
        false => None,
    };
    let mut lanes: Vec<Box<dyn Lane>> = Vec::with_capacity(scenario.strategies.len());
    for (i, spec) in scenario.strategies.iter().enumerate() {
        let target = TargetId(i as u32 + 1);
        engine.create_target(target, spec.model())?;
        let json_path = work.path().join(format!("state-t{}.json", target.0));
        lanes.push(Box::new(StrategyLane {
            spec: spec.clone(),
            label: spec.label(),
            strategy: from_spec(spec, scenario.schedule.interval.0),
            write: spec.write_mode(),
            target,
            store: StateStore::new(spec.state_store(), target, json_path),
            records: Vec::new(),
            crashes: Vec::new(),
            fingerprint: None,
            changed_last_run: false,
            landing_dir: (spec.kind == StrategyKind::FileListing)
                .then(|| landing.as_ref().map(|l| l.dir().to_path_buf()))
                .flatten(),
            reconciled_in_drain: false,
            wall: Duration::ZERO,
            sql: Duration::ZERO,
            cpu: Duration::ZERO,
            first_non_idempotent_run: None,
            faults: scenario.faults.clone().map(|f| (f, seed)),
            check_idempotence: options.check_idempotence,
            defer_print: false,
            unprinted_state: None,
        }));
    }
    let mut tallies: Vec<Tally> = lanes.iter().map(|_| Tally::default()).collect();

    // Outside pipelines read a released copy of the source; their logs are published to the
    // output directory only once the run is over.
    let logs_dir = work.path().join("logs");
    let mut released: Option<Box<dyn ReleasedSource>> = None;
    let mut pipelines: Vec<PipelineLane> = Vec::with_capacity(scenario.pipelines.len());
    if !scenario.pipelines.is_empty() {
        let source = released.insert(engine::create_released_source(
            &work.path().join("source.duckdb"),
        )?);
        let scenario_dir = loaded.path.parent().unwrap_or(std::path::Path::new("."));
        for spec in &scenario.pipelines {
            pipelines.push(PipelineLane::new(
                spec,
                scenario_dir,
                &work.path().join("pipelines"),
                &logs_dir,
                source.path(),
                landing.as_ref().map(|l| l.dir()),
                scenario.faults.clone().map(|f| (f, seed)),
                history.max_id,
            )?);
        }
    }
    let mut pipeline_tallies: Vec<Tally> = pipelines.iter().map(|_| Tally::default()).collect();
    let jobs = options.jobs.unwrap_or_else(crate::machine::cores).max(1);

    let load_started = Instant::now();
    let initial = history.committed_between(i64::MIN, 0);
    engine.advance_to(&history, initial.clone(), 0)?;
    if let Some(source) = &mut released {
        source.apply_changes(&history, initial.clone())?;
    }
    if let Some(landing) = &mut landing {
        landing.land(&history, initial, 0)?;
    }
    let load_time = load_started.elapsed();

    let mut oracle = Oracle::new(&history);
    // Per lane, its check in the latest drain run when that found the target wrong: the run
    // loop ends on a drain run, so the final samples reinstate it instead of reading the
    // target a last time.
    let mut last_checks: Vec<Option<SavedCheck>> = lanes.iter().map(|_| None).collect();
    let mut timings = RunTimings::default();
    let mut advance_time = Duration::ZERO;
    let mut verify_time = Duration::ZERO;
    let mut handover_time = Duration::ZERO;
    let mut applied_up_to = 0i64;
    let mut run_number = 0u32;

    let interval = scenario.schedule.interval.0;
    let last_scheduled = *history.run_times_us.last().expect("validated: runs ≥ 1");
    let first_drain =
        (last_scheduled + interval).max(ceil_to_multiple(history.last_commit_us(), interval));

    let mut drain_runs = 0u32;
    let reads_xids = scenario
        .strategies
        .iter()
        .any(|s| s.kind == StrategyKind::Xmin);
    let mut bare_copies: Vec<Duration> = Vec::new();
    // A reconciling strategy needs room for one reconciliation inside the drain.
    let max_drain_runs = scenario
        .strategies
        .iter()
        .filter_map(|s| s.reconcile_every)
        .map(|k| k + 2)
        .fold(MAX_DRAIN_RUNS, u32::max);
    let mut time_us;
    loop {
        let drain = run_number as usize >= history.run_times_us.len();
        time_us = if drain {
            first_drain + drain_runs as i64 * interval
        } else {
            history.run_times_us[run_number as usize]
        };
        run_number += 1;
        if drain {
            drain_runs += 1;
        } else if scenario.schedule.skip_runs.contains(&run_number) {
            // The orchestrator was down: nothing runs; the next run finds the changes waiting.
            if let Some(hook) = &options.progress {
                (hook.0)(run_number, history.run_times_us.len() as u32);
            }
            continue;
        }
        let ctx = RunContext {
            run: run_number,
            time_us,
            landed: &[],
            // One pass over the history per run, so only when a strategy reads by xid.
            snapshot_xmin: reads_xids.then(|| history.snapshot_xmin_at(time_us)),
        };

        let advance_started = Instant::now();
        let committed = history.committed_between(applied_up_to, time_us);
        engine.advance_to(&history, committed.clone(), time_us)?;
        if let Some(source) = &mut released {
            let handover_started = Instant::now();
            source.apply_changes(&history, committed.clone())?;
            handover_time += handover_started.elapsed();
        }
        if let Some(landing) = &mut landing {
            landing.land(&history, committed, time_us)?;
        }
        applied_up_to = time_us;
        advance_time += advance_started.elapsed();

        oracle.advance_to(&history, time_us);
        for ((lane, tally), last_check) in lanes.iter_mut().zip(&mut tallies).zip(&mut last_checks)
        {
            // A target wrong at its last check is read back whatever its print says, so the
            // print can come from that read (when no key is watched: that read is different).
            lane.defer_print(options.watch_key.is_none() && !tally.last.is_exact());
            let shown = lane
                .run(engine.as_mut(), &ctx, drain)
                .map_err(|e| e.at_run(run_number, lane.label()))?;
            let verify_started = Instant::now();
            let mut watched = TargetRows::default();
            let checked = match &shown {
                Shown::Totals(totals) => Checked::Totals(totals),
                Shown::Unprinted => {
                    oracle.begin_check();
                    let print = lane
                        .feed_oracle(engine.as_mut(), &mut oracle, &history)
                        .map_err(|e| e.at_run(run_number, lane.label()))?
                        .ok_or_else(|| {
                            Error::Invariant(format!(
                                "{}: a lane that left its print out fed no print",
                                lane.label()
                            ))
                        })?;
                    lane.printed(print);
                    Checked::Mirror { watched: &watched }
                }
                Shown::Mirror(print) => {
                    // A target whose print is the oracle's is right, and none of its rows
                    // need reading back — unless a key is watched: its rows are the story.
                    let matched =
                        options.watch_key.is_none() && oracle.accept_matching_print(*print);
                    // Otherwise checked batch by batch as the lane reads the target back, so a
                    // large target is never held whole; only the watched key's rows are kept.
                    let fed = match (matched, options.watch_key) {
                        (true, _) => Ok(()),
                        (false, None) => lane
                            .feed_oracle(engine.as_mut(), &mut oracle, &history)
                            .map(|_| ()),
                        (false, Some(key)) => {
                            oracle.begin_check();
                            lane.scan(engine.as_mut(), &mut |rows| {
                                oracle.feed(&history, rows);
                                watched.extend_from(rows, |id| id == key);
                            })
                            .map(|_| ())
                        }
                    };
                    fed.map_err(|e| e.at_run(run_number, lane.label()))?;
                    Checked::Mirror { watched: &watched }
                }
            };
            let mirror = matches!(checked, Checked::Mirror { .. });
            let record = lane.last_record();
            tally.verify(&mut oracle, &history, checked, record, options.watch_key);
            *last_check = (drain && mirror && !tally.last.is_exact()).then(|| oracle.save_check());
            verify_time += verify_started.elapsed();
        }
        // The pipelines of this tick read the same released source and write their own
        // targets, so they run side by side: `dbt run` alone takes seconds to start.
        run_pipelines(&mut pipelines, &ctx, drain, jobs);
        for (lane, tally) in pipelines.iter_mut().zip(&mut pipeline_tallies) {
            let verify_started = Instant::now();
            let record = lane
                .records
                .last_mut()
                .expect("run_outside pushed a record");
            tally.verify_contents(
                &mut oracle,
                &history,
                &lane.contents,
                record,
                options.watch_key,
            );
            verify_time += verify_started.elapsed();
        }

        // The floor under full reprocessing, timed on the same table as this run's strategies
        // saw; steady runs only (after the first), as the per-run figures are.
        if options.measure_bare_copy && !drain && run_number > 1 {
            bare_copies.push(engine.bare_copy_time()?);
        }
        if let Some(hook) = &options.progress {
            (hook.0)(run_number, history.run_times_us.len() as u32);
        }
        if drain {
            let settled =
                lanes.iter().all(|l| l.settled()) && pipelines.iter().all(|l| l.settled());
            if (settled && drain_runs >= 2) || drain_runs >= max_drain_runs {
                break;
            }
        }
    }

    // The final samples: each wrong target as its last check saw it, keeping the first wrong
    // keys.
    let mut strategies = Vec::with_capacity(lanes.len() + pipelines.len());
    let mut wrong_ids = Vec::with_capacity(lanes.len() + pipelines.len());
    // Every wrong key of the strategies pipelines name as their model.
    let models: BTreeSet<&str> = scenario
        .pipelines
        .iter()
        .filter_map(|p| p.model.as_deref())
        .collect();
    let mut model_keys: BTreeMap<String, Vec<(i64, DivergenceClass)>> = BTreeMap::new();
    for (i, (mut lane, tally)) in lanes.into_iter().zip(&tallies).enumerate() {
        let (samples, lost_ids, has_keys) = if tally.last.is_exact() {
            (Vec::new(), Vec::new(), false)
        } else {
            oracle.begin_check();
            let totals = match scenario.strategies[i].model() {
                TargetModel::DailyTotals => lane.scan(engine.as_mut(), &mut |_| {})?,
                TargetModel::Mirror => {
                    match &last_checks[i] {
                        Some(saved) => oracle.restore_check(saved)?,
                        None => {
                            lane.feed_oracle(engine.as_mut(), &mut oracle, &history)?;
                        }
                    }
                    None
                }
            };
            match totals {
                None => {
                    // Then only the rows of the keys the samples describe are read.
                    let ids: Vec<i64> = oracle
                        .sample_ids(SAMPLE_WRONG_KEYS)
                        .into_iter()
                        .chain(oracle.sample_ids(MAX_LOST_PER_STRATEGY))
                        .collect::<BTreeSet<i64>>()
                        .into_iter()
                        .collect();
                    let kept = lane.rows_of_keys(engine.as_mut(), &ids)?;
                    let samples = oracle.verdict(&history, &kept, SAMPLE_WRONG_KEYS).samples;
                    if models.contains(lane.label()) {
                        model_keys.insert(lane.label().to_string(), oracle.wrong_keys());
                    }
                    let lost = oracle
                        .verdict(&history, &kept, MAX_LOST_PER_STRATEGY)
                        .samples;
                    (samples, lost.iter().map(|k| k.id).collect(), true)
                }
                // Days, not keys: their reasons are the totals themselves, and the timeline
                // (which follows keys) has nothing to mark.
                Some(totals) => {
                    let expected = expected_totals(&oracle, &history);
                    let Verdict { samples, .. } =
                        check_totals(&expected, &totals, SAMPLE_WRONG_KEYS).0;
                    (samples, Vec::new(), false)
                }
            }
        };
        wrong_ids.push((lane.label().to_string(), tally.last.total(), lost_ids));
        let mut result = lane.finish(tally, samples);
        if has_keys {
            let spec = &scenario.strategies[i];
            let explainer = explain::Explainer::new(spec, &result, interval);
            let reasons: Vec<String> = explain::versions_of_keys(
                &history,
                &result
                    .sample_wrong_keys
                    .iter()
                    .map(|k| k.id)
                    .collect::<Vec<_>>(),
            )
            .iter()
            .zip(&result.sample_wrong_keys)
            .map(|(key_versions, k)| explainer.reason(key_versions, k.id, &WatchedKey::from(k)))
            .collect();
            for (k, why) in result.sample_wrong_keys.iter_mut().zip(reasons) {
                k.reason = why;
            }
        }
        strategies.push(result);
    }
    for (lane, tally) in pipelines.into_iter().zip(&pipeline_tallies) {
        let (samples, wrong) = match &lane.contents {
            TargetContents::Mirror(rows) if !tally.last.is_exact() => {
                let samples = oracle.check(&history, rows, SAMPLE_WRONG_KEYS).samples;
                (samples, oracle.wrong_keys())
            }
            _ => (Vec::new(), Vec::new()),
        };
        let lost_ids = wrong
            .iter()
            .take(MAX_LOST_PER_STRATEGY)
            .map(|&(id, _)| id)
            .collect();
        wrong_ids.push((lane.spec.label.clone(), tally.last.total(), lost_ids));
        let ids: Vec<i64> = samples.iter().map(|k| k.id).collect();
        let held = lane.track.held_of(&ids);
        let model = lane.spec.model.clone();
        let mut result = Box::new(lane).finish(tally, samples);
        let explainer = explain::PipelineExplainer { result: &result };
        let reasons: Vec<String> = explain::versions_of_keys(&history, &ids)
            .iter()
            .zip(&result.sample_wrong_keys)
            .zip(&held)
            .map(|((versions, k), held)| {
                explainer.reason(versions, k.id, &WatchedKey::from(k), held)
            })
            .collect();
        for (k, why) in result.sample_wrong_keys.iter_mut().zip(reasons) {
            k.reason = why;
        }
        if let (Some(model), Some(p)) = (model, result.pipeline.as_mut()) {
            let of_model = model_keys.get(&model).map_or(&[][..], Vec::as_slice);
            p.model = Some(model::compare(&model, &wrong, of_model));
        }
        strategies.push(result);
    }
    if let (Some(out), false) = (&options.pipeline_logs, scenario.pipelines.is_empty()) {
        pipeline_logs::publish(&logs_dir, out)?;
    }

    timings.bare_copy_ms = median(bare_copies.iter().map(|&d| ms(d)).collect());
    timings.sql_ms = ms(engine.sql_time());
    let source_activity = engine.activity();
    // The timeline needs only the history: the engine's tables and the verifier's per-key
    // arrays go first, or a large run peaks here.
    drop(engine);
    drop((oracle, tallies, pipeline_tallies));
    let timeline = Timeline::build(&history, scenario.writers.count, &wrong_ids);
    timings.generate_ms = ms(generate_time);
    timings.generate_initial_ms = ms(generation.initial_table);
    timings.load_ms = ms(load_time);
    timings.advance_ms = ms(advance_time);
    timings.handover_ms = ms(handover_time);
    timings.verify_ms = ms(verify_time);
    timings.total_ms = ms(started.elapsed());
    Ok(RunResults {
        incrlab_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed,
        history_digest: history.digest(),
        history_rows: history.len() as u64,
        runs: scenario.schedule.runs,
        drain_runs,
        strategies,
        timings,
        scenario_as_run: scenario,
        timeline: Some(timeline),
        source_activity,
    })
}

/// Runs this tick's pipelines, at most `jobs` at a time, each on its own thread; each keeps
/// what its target holds afterwards.
fn run_pipelines(pipelines: &mut [PipelineLane], ctx: &RunContext, drain: bool, jobs: usize) {
    for group in pipelines.chunks_mut(jobs) {
        if let [lane] = group {
            lane.run_outside(ctx, drain);
            continue;
        }
        std::thread::scope(|scope| {
            for lane in group.iter_mut() {
                scope.spawn(move || lane.run_outside(ctx, drain));
            }
        });
    }
}

fn ceil_to_multiple(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step + if t.rem_euclid(step) == 0 { 0 } else { step }
}

/// One fresh generation and load of the scenario's initial table into a new engine: how long
/// generating the initial table took, and how long loading it did. `incrlab bench` repeats it
/// and reports the median, because a single cold load swings with the page faults of fresh
/// memory.
pub fn time_initial_load(loaded: &LoadedScenario, seed: Option<u64>) -> Result<InitialLoadTime> {
    let seed = seed.unwrap_or(loaded.scenario.seed);
    let (history, generation) = generate_timed(&loaded.scenario, seed);
    let mut engine = engine::open_for(
        &loaded.scenario.engine,
        TargetStorage::Memory,
        engine::Threads::EveryCore,
    )?;
    let initial = history.committed_between(i64::MIN, 0);
    let rows = initial.len() as u64;
    let started = Instant::now();
    engine.advance_to(&history, initial, 0)?;
    let load = started.elapsed();
    drop(engine);
    // The floor, on a fresh engine as well, so both start from the same empty state.
    let engine_floor = engine::open(loaded.scenario.engine.kind, TargetStorage::Memory)?
        .generated_tables_time(rows)?;
    Ok(InitialLoadTime {
        generate: generation.initial_table,
        load,
        engine_floor,
    })
}

/// The history a scenario produces, for `simulate` and for tests that reason about it.
pub fn simulate(loaded: &LoadedScenario, seed: Option<u64>) -> History {
    crate::sim::generate(&loaded.scenario, seed.unwrap_or(loaded.scenario.seed))
}
