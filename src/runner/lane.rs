//! Lanes: what the runner drives at every run tick. [`Lane`] is the seam; [`StrategyLane`] is
//! incrlab's own strategies: load state, plan, read, write, commit state — and, with
//! `[faults]`, the restart after a crash (the steps themselves are in `attempt.rs`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::engine::{
    Engine, MirrorPrint, ReadStats, TargetChanges, TargetContents, TargetId, TargetRows,
    TargetTotals,
};
use crate::error::Error;
use crate::error::Result;
use crate::faults::crash_for;
use crate::landing;
use crate::results::{ms, CrashRecord, RunRecord, StrategyResult};
use crate::row::{digest, mix};
use crate::scenario::{Faults, Restart, StrategySpec, WriteMode, MAX_ATTEMPTS};
use crate::sim::History;
use crate::state_store::StateStore;
use crate::strategy::{RunContext, Strategy, StrategyState};
use crate::verify::{Divergence, Oracle, WrongKey};

use super::attempt::attempt;
use super::tally::Tally;

/// The built-in lane: one of incrlab's strategies, its target, state store and records.
pub(super) struct StrategyLane {
    pub spec: StrategySpec,
    pub label: String,
    pub strategy: Box<dyn Strategy>,
    pub write: WriteMode,
    pub target: TargetId,
    pub store: StateStore,
    pub records: Vec<RunRecord>,
    pub crashes: Vec<CrashRecord>,
    pub fingerprint: Option<(u64, StrategyState)>,
    pub changed_last_run: bool,
    /// The landing directory a `file_listing` lane lists at the start of every run.
    pub landing_dir: Option<PathBuf>,
    /// Whether a full reconciliation ran during the drain (a reconciling strategy has not
    /// shown what it ends with until one has).
    pub reconciled_in_drain: bool,
    pub wall: Duration,
    pub sql: Duration,
    pub cpu: Duration,
    /// With the idempotence check: the first run whose rerun changed the target or state.
    pub first_non_idempotent_run: Option<u32>,
    /// Crashes to inject (`[faults]`), with the run's seed.
    pub faults: Option<(Faults, u64)>,
    /// Retry every run from the state persisted before it (`--check-idempotence`).
    pub check_idempotence: bool,
    /// The runner's hint for the next run: leave the print to the read of the target's keys
    /// and row hashes that will follow anyway ([`Lane::defer_print`]).
    pub defer_print: bool,
    /// The state a run without its print ended with, until [`Lane::printed`] completes it.
    pub unprinted_state: Option<StrategyState>,
}

impl StrategyLane {
    /// Notes what the target and state are after a run: whether the run changed either.
    fn note_fingerprint(&mut self, target_digest: u64, state: StrategyState) {
        let fingerprint = (target_digest, state);
        self.changed_last_run = self.fingerprint.as_ref() != Some(&fingerprint);
        self.fingerprint = Some(fingerprint);
    }
}

/// How crashes are injected into a lane's runs.
#[derive(Clone, Copy)]
struct FaultContext<'a> {
    pub faults: &'a Faults,
    pub seed: u64,
}

/// Sees a target's rows, a batch at a time, as a lane reads them back.
pub(super) type Observe<'a> = &'a mut dyn FnMut(&TargetRows);

/// Hands whole contents to `observe` as [`Lane::scan`] does.
pub(super) fn show(contents: &TargetContents, observe: Observe<'_>) -> Option<TargetTotals> {
    match contents {
        TargetContents::Mirror(rows) => {
            observe(rows);
            None
        }
        TargetContents::Totals(totals) => Some(totals.clone()),
    }
}

/// What a lane's run leaves for the verifier: a mirror target's print, whose rows the runner
/// reads back ([`Lane::scan`]) only when the print is not the one the oracle expects; a mirror
/// target left unprinted (the runner reads its keys and row hashes, and the print is summed
/// from them: [`Lane::printed`]); or a `daily_totals` target, whole (a row per day).
pub(super) enum Shown {
    Mirror(MirrorPrint),
    Unprinted,
    Totals(TargetTotals),
}

impl Shown {
    /// What whole contents show.
    pub(super) fn of(contents: &TargetContents) -> Shown {
        match contents {
            TargetContents::Mirror(rows) => Shown::Mirror(MirrorPrint::of(rows)),
            TargetContents::Totals(totals) => Shown::Totals(totals.clone()),
        }
    }

    /// The target's fingerprint: the drain stops when it stops moving. `None` for a target
    /// left unprinted.
    pub(super) fn fingerprint(&self) -> Option<u64> {
        match self {
            Shown::Mirror(print) => Some(print.value()),
            Shown::Unprinted => None,
            Shown::Totals(totals) => Some(totals_fingerprint(totals)),
        }
    }
}

/// A lane of a run: something that brings its own target up to date with the source at every
/// run tick, and whose target the oracle then checks. The runner drives every lane through
/// this trait and never looks inside one: incrlab's built-in strategies are one kind of lane
/// ([`StrategyLane`]); a team's own pipeline run as an outside command is another.
pub(super) trait Lane {
    /// The lane's name in results and reports.
    fn label(&self) -> &str;

    /// Does the lane's run at `ctx` — every attempt, with its crashes and restarts — records
    /// it, and shows what the target holds afterwards.
    fn run(&mut self, engine: &mut dyn Engine, ctx: &RunContext, drain: bool) -> Result<Shown>;

    /// What the lane's target holds now: a mirror's rows handed to `observe` a batch at a time
    /// (a large target is never held whole), a `daily_totals` target returned.
    fn scan(
        &mut self,
        engine: &mut dyn Engine,
        observe: Observe<'_>,
    ) -> Result<Option<TargetTotals>>;

    /// Shows a mirror target's rows to `oracle`, whose check the caller has begun, the
    /// cheapest way the lane can: all the verifier needs when no key is watched. Returns the
    /// print of the rows shown when it comes with them (keys and row hashes sum into it).
    fn feed_oracle(
        &mut self,
        engine: &mut dyn Engine,
        oracle: &mut Oracle,
        history: &History,
    ) -> Result<Option<MirrorPrint>>;

    /// The runner's hint before a run: the target was wrong at its last check, so its rows
    /// will be fed to the oracle whatever its print. A lane may then leave its print out
    /// (`Shown::Unprinted`) and take it from that read ([`Lane::printed`]): one pass over the
    /// target instead of two.
    fn defer_print(&mut self, _defer: bool) {}

    /// Completes a run shown as `Shown::Unprinted` with the print of its target.
    fn printed(&mut self, _print: MirrorPrint) {}

    /// Every row a mirror target holds for the keys `ids` (ascending).
    fn rows_of_keys(&mut self, engine: &mut dyn Engine, ids: &[i64]) -> Result<TargetRows>;

    /// The record of the run [`Lane::run`] just made, for the verdict to be written into.
    fn last_record(&mut self) -> &mut RunRecord;

    /// Whether the drain may stop as far as this lane goes: its last run changed neither the
    /// target nor the state, and anything it owes the drain (a reconciliation) has run.
    fn settled(&self) -> bool;

    /// The lane's results, given the verdicts the runner tallied over its runs.
    fn finish(self: Box<Self>, tally: &Tally, samples: Vec<WrongKey>) -> StrategyResult;
}

impl Lane for StrategyLane {
    fn label(&self) -> &str {
        &self.label
    }

    fn run(&mut self, engine: &mut dyn Engine, ctx: &RunContext, drain: bool) -> Result<Shown> {
        let faults = self.faults.take();
        let context = faults.as_ref().map(|(faults, seed)| FaultContext {
            faults,
            seed: *seed,
        });
        let outcome = if self.check_idempotence {
            run_lane_twice(engine, self, ctx, drain, context)
        } else {
            run_lane(engine, self, ctx, drain, context)
        };
        self.faults = faults;
        outcome
    }

    fn scan(
        &mut self,
        engine: &mut dyn Engine,
        observe: Observe<'_>,
    ) -> Result<Option<TargetTotals>> {
        engine.scan_target(self.target, observe)
    }

    fn rows_of_keys(&mut self, engine: &mut dyn Engine, ids: &[i64]) -> Result<TargetRows> {
        engine.target_rows_of_keys(self.target, ids)
    }

    /// The built-in targets carry every mirror column: their keys and row hashes suffice.
    fn feed_oracle(
        &mut self,
        engine: &mut dyn Engine,
        oracle: &mut Oracle,
        _history: &History,
    ) -> Result<Option<MirrorPrint>> {
        let mut print = MirrorPrint::default();
        engine.scan_key_hashes(self.target, &mut |batch| {
            oracle.feed_key_hashes(batch);
            batch.hash.iter().for_each(|&hash| print.add_row(hash));
        })?;
        Ok(Some(print))
    }

    fn defer_print(&mut self, defer: bool) {
        self.defer_print = defer;
    }

    fn printed(&mut self, print: MirrorPrint) {
        let state = self
            .unprinted_state
            .take()
            .expect("printed follows a run shown unprinted");
        let digest = print.value();
        self.note_fingerprint(digest, state);
        self.last_record().target_digest = format!("{digest:016x}");
    }

    fn last_record(&mut self) -> &mut RunRecord {
        self.records.last_mut().expect("run pushed a record")
    }

    fn settled(&self) -> bool {
        !self.changed_last_run && (self.spec.reconcile_every.is_none() || self.reconciled_in_drain)
    }

    fn finish(self: Box<Self>, tally: &Tally, samples: Vec<WrongKey>) -> StrategyResult {
        let lane = *self;
        StrategyResult {
            label: lane.label,
            strategy: lane.spec.kind.name().to_string(),
            write: lane.write.name().to_string(),
            permanent: tally.last,
            permanent_wrong_keys: tally.last_wrong_keys,
            worst: tally.worst,
            rows_scanned: lane.records.iter().map(|r| r.rows_scanned).sum(),
            bytes_scanned: lane.records.iter().map(|r| r.bytes_scanned).sum(),
            rows_read: lane.records.iter().map(|r| r.rows_read).sum(),
            rows_written: lane.records.iter().map(|r| r.rows_written).sum(),
            written: lane
                .records
                .iter()
                .fold(TargetChanges::default(), |sum, r| sum + r.written),
            settled: !lane.changed_last_run,
            longest_divergence_runs: tally.longest_divergence_runs,
            reconcile_every: lane.spec.reconcile_every,
            idempotent: lane
                .check_idempotence
                .then_some(lane.first_non_idempotent_run.is_none()),
            first_non_idempotent_run: lane.first_non_idempotent_run,
            crashes: lane.crashes,
            sample_wrong_keys: samples,
            pipeline: None,
            per_run: lane.records,
            wall_ms: ms(lane.wall),
            sql_ms: ms(lane.sql),
            cpu_ms: ms(lane.cpu),
        }
    }
}

/// One strategy's run (every attempt of it). After the timed part, takes the target's print
/// (for `daily_totals`, reads it whole) to show the verifier.
fn run_lane(
    engine: &mut dyn Engine,
    lane: &mut StrategyLane,
    ctx: &RunContext,
    drain: bool,
    faults: Option<FaultContext<'_>>,
) -> Result<Shown> {
    let started = Instant::now();
    let sql_before = engine.sql_time();
    let cpu_before = engine.cpu_time();
    // Listing the directory is part of a file_listing run's work, so it is timed with it.
    let listing = match &lane.landing_dir {
        Some(dir) => landing::list(dir)?,
        None => Vec::new(),
    };
    let ctx = &RunContext {
        landed: &listing,
        ..*ctx
    };

    let state = lane.store.load(engine)?;
    let reconcile = lane
        .spec
        .reconcile_every
        .is_some_and(|k| ctx.run.is_multiple_of(k));

    let mut total = ReadStats::default();
    let mut written = TargetChanges::default();
    let mut attempts = 0u32;
    let mut event_window_us = None;
    let crashed_at = loop {
        attempts += 1;
        // The drain is the recovery period: faults strike scheduled runs only.
        let crash = match faults {
            Some(f) if !drain => crash_for(f.faults, f.seed, &lane.label, ctx.run, attempts),
            _ => None,
        };
        let chunks = faults.map(|f| f.faults.write_chunks);
        // The first attempt starts from the state loaded above; a retry from what the crash
        // left persisted.
        let from = if attempts == 1 {
            state.clone()
        } else {
            lane.store.load(engine)?
        };
        let attempt = attempt(engine, lane, ctx, &from, reconcile, crash, chunks)?;
        total.rows_read += attempt.read.rows_read;
        total.rows_scanned += attempt.read.rows_scanned;
        total.bytes_scanned += attempt.read.bytes_scanned;
        written += attempt.written;
        event_window_us = attempt.event_window_us.or(event_window_us);
        let Some(record) = attempt.crash else {
            break None;
        };
        let point = record.point;
        lane.crashes.push(CrashRecord {
            attempt: attempts,
            ..record
        });
        let retry = faults.is_some_and(|f| f.faults.restart == Restart::Immediately);
        if !retry || attempts >= MAX_ATTEMPTS {
            break Some(point);
        }
    };
    // After a crash the persisted state is what the next run starts from.
    let next = lane.store.load(engine)?;
    if reconcile && drain {
        lane.reconciled_in_drain = true;
    }

    let wall = started.elapsed();
    lane.wall += wall;
    lane.sql += engine.sql_time() - sql_before;
    let cpu = engine.cpu_time() - cpu_before;
    lane.cpu += cpu;

    // The idempotence check compares the prints of a run and its retry, so it always prints.
    let unprinted = lane.defer_print
        && !lane.check_idempotence
        && lane.spec.model() == crate::scenario::TargetModel::Mirror;
    let shown = if unprinted {
        Shown::Unprinted
    } else {
        match engine.mirror_print(lane.target)? {
            Some(print) => Shown::Mirror(print),
            None => match engine.scan_target(lane.target, &mut |_| {})? {
                Some(totals) => Shown::Totals(totals),
                None => {
                    return Err(Error::Invariant(format!(
                        "{}: the target has neither a mirror print nor daily totals",
                        lane.label
                    )))
                }
            },
        }
    };
    let target_digest = match shown.fingerprint() {
        Some(digest) => {
            lane.note_fingerprint(digest, next.clone());
            format!("{digest:016x}")
        }
        // Written by `printed`, once the runner has summed the print.
        None => {
            lane.unprinted_state = Some(next.clone());
            String::new()
        }
    };

    lane.records.push(RunRecord {
        run: ctx.run,
        time_us: ctx.time_us,
        drain,
        reconciled: reconcile,
        watermark_before: state.watermark,
        watermark_after: next.watermark,
        seen_at_watermark_before: state.seen_at_watermark.clone(),
        rows_read: total.rows_read,
        rows_scanned: total.rows_scanned,
        bytes_scanned: total.bytes_scanned,
        rows_written: written.total(),
        written,
        divergence: Divergence::default(),
        target_digest,
        wall_ms: ms(wall),
        cpu_ms: ms(cpu),
        attempts,
        crashed_at,
        event_window_us,
        snapshot_xmin: (lane.spec.kind == crate::scenario::StrategyKind::Xmin)
            .then_some(ctx.snapshot_xmin)
            .flatten(),
        failure: None,
        watched: None,
    });
    Ok(shown)
}

/// Runs a lane's run, then reruns it from the state persisted before it — a retry — and notes
/// the first run whose retry left a different target or state. The retry's outcome is what
/// the lane continues with, as in production; its time is not counted twice. The retry itself
/// never crashes.
fn run_lane_twice(
    engine: &mut dyn Engine,
    lane: &mut StrategyLane,
    ctx: &RunContext,
    drain: bool,
    faults: Option<FaultContext<'_>>,
) -> Result<Shown> {
    let state_before = lane.store.load(engine)?;
    // Only the retry's target is verified: it is what the lane continues with.
    let first = run_lane(engine, lane, ctx, drain, faults)?
        .fingerprint()
        .expect("the idempotence check always prints");
    let after_first = (first, lane.store.load(engine)?);
    let kept = (
        lane.records.len(),
        lane.fingerprint.clone(),
        lane.changed_last_run,
        lane.wall,
        lane.sql,
        lane.cpu,
        lane.reconciled_in_drain,
    );
    lane.store.save(engine, &state_before)?;
    // The retry compares against the first attempt, not against the run before it.
    lane.fingerprint = Some(after_first.clone());
    let calm = faults.map(|f| Faults {
        crash_probability: 0.0,
        crashes: Vec::new(),
        ..f.faults.clone()
    });
    let no_crashes = faults.zip(calm.as_ref()).map(|(f, calm)| FaultContext {
        faults: calm,
        seed: f.seed,
    });
    let shown = run_lane(engine, lane, ctx, drain, no_crashes)?;
    let retried = shown
        .fingerprint()
        .expect("the idempotence check always prints");
    let after_retry = (retried, lane.store.load(engine)?);
    let retry_record = lane.records.pop().expect("run_lane pushed a record");
    if let Some(record) = lane.records.last_mut() {
        // The target now is the retry's; the record says what it holds.
        record.target_digest = retry_record.target_digest;
        record.watermark_after = retry_record.watermark_after;
    }
    debug_assert_eq!(lane.records.len(), kept.0);
    lane.fingerprint = kept.1;
    lane.changed_last_run = kept.2;
    lane.wall = kept.3;
    lane.sql = kept.4;
    lane.cpu = kept.5;
    lane.reconciled_in_drain = kept.6;
    // Whether the run changed anything is judged against the run before, as without a retry.
    let fingerprint_now = (after_retry.0, after_retry.1.clone());
    lane.changed_last_run = lane.fingerprint.as_ref() != Some(&fingerprint_now);
    lane.fingerprint = Some(fingerprint_now);
    if after_retry != after_first && lane.first_non_idempotent_run.is_none() {
        lane.first_non_idempotent_run = Some(ctx.run);
    }
    Ok(shown)
}

/// The fingerprint of a `daily_totals` target: the drain stops when it stops moving.
fn totals_fingerprint(t: &TargetTotals) -> u64 {
    let rows = t.day.iter().zip(&t.total).zip(&t.rows);
    let sum = rows.fold(0u64, |acc, ((&day, &total), &n)| {
        acc.wrapping_add(digest([day, total, n]))
    });
    sum ^ mix(t.day.len() as u64)
}
