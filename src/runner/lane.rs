//! One strategy's lane through a run: load state, plan, read, write, commit state — and, with
//! `[faults]`, the crash points between those steps and the restart after a crash.
//!
//! The order of a run's steps, and so of its crash points, depends on the commit order:
//!
//! ```text
//! after_write  (default):  before_read · read · after_read · chunk… mid_write …chunk · after_write · state · after_state_commit
//! before_write (the bug):  before_read · read · after_read · state · after_state_commit · chunk… mid_write …chunk · after_write
//! ```
//!
//! With a `target_table` store the data chunks and the state share one transaction, committed
//! after the state: a crash anywhere before `after_state_commit` rolls the whole run back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::engine::{
    ChunkStats, Engine, ReadRequest, ReadSpec, ReadStats, TargetChanges, TargetContents, TargetId,
};
use crate::error::Result;
use crate::faults::{crash_for, Crash};
use crate::landing;
use crate::results::{ms, CrashRecord, RunRecord};
use crate::scenario::{
    CommitOrder, CrashPoint, Faults, Restart, StrategySpec, WriteMode, MAX_ATTEMPTS,
};
use crate::state_store::StateStore;
use crate::strategy::{RunContext, Strategy, StrategyState};
use crate::verify::Divergence;

/// One strategy's lane through the run: its strategy, target, state store and tallies.
pub(super) struct Lane {
    pub spec: StrategySpec,
    pub label: String,
    pub strategy: Box<dyn Strategy>,
    pub write: WriteMode,
    pub target: TargetId,
    pub store: StateStore,
    pub records: Vec<RunRecord>,
    pub crashes: Vec<CrashRecord>,
    pub worst: Divergence,
    pub last: Divergence,
    pub fingerprint: Option<(u64, StrategyState)>,
    pub changed_last_run: bool,
    /// Per key, for how many consecutive runs it has been wrong.
    pub wrong_for: Vec<u32>,
    /// The same per day, for a `daily_totals` target.
    pub wrong_days_for: BTreeMap<i64, u32>,
    /// The landing directory a `file_listing` lane lists at the start of every run.
    pub landing_dir: Option<PathBuf>,
    pub longest_divergence_runs: u32,
    /// Whether a full reconciliation ran during the drain (a reconciling strategy has not
    /// shown what it ends with until one has).
    pub reconciled_in_drain: bool,
    pub wall: Duration,
    pub sql: Duration,
    pub cpu: Duration,
    /// With the idempotence check: the first run whose rerun changed the target or state.
    pub first_non_idempotent_run: Option<u32>,
}

/// How crashes are injected into a lane's runs.
#[derive(Clone, Copy)]
pub(super) struct FaultContext<'a> {
    pub faults: &'a Faults,
    pub seed: u64,
}

/// What one attempt did, counted exactly.
#[derive(Default)]
struct Attempt {
    read: ReadStats,
    /// The event-time window the attempt read, when its read was one (`interval`).
    event_window_us: Option<[i64; 2]>,
    written: TargetChanges,
    crash: Option<CrashRecord>,
}

/// One strategy's run (every attempt of it). Returns the target's contents for verification
/// (read after the timed part).
pub(super) fn run_lane<E: Engine>(
    engine: &mut E,
    lane: &mut Lane,
    ctx: &RunContext,
    drain: bool,
    faults: Option<FaultContext<'_>>,
) -> Result<TargetContents> {
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

    let versions = engine.target_contents(lane.target)?;
    let target_digest = fingerprint(&versions);
    let fingerprint = (target_digest, next.clone());
    lane.changed_last_run = lane.fingerprint.as_ref() != Some(&fingerprint);
    lane.fingerprint = Some(fingerprint);

    lane.records.push(RunRecord {
        run: ctx.run,
        time_us: ctx.time_us,
        drain,
        reconciled: reconcile,
        watermark_before: state.watermark,
        watermark_after: next.watermark,
        rows_read: total.rows_read,
        rows_scanned: total.rows_scanned,
        bytes_scanned: total.bytes_scanned,
        rows_written: written.total(),
        written,
        divergence: Divergence::default(),
        target_digest: format!("{target_digest:016x}"),
        wall_ms: ms(wall),
        cpu_ms: ms(cpu),
        attempts,
        crashed_at,
        event_window_us,
        watched_lsns: None,
    });
    Ok(versions)
}

/// One attempt of a run, with `crash` striking at its point. `chunks`: write in that many
/// chunks (with `[faults]`), else in one statement.
fn attempt<E: Engine>(
    engine: &mut E,
    lane: &mut Lane,
    ctx: &RunContext,
    state: &StrategyState,
    reconcile: bool,
    crash: Option<Crash>,
    chunks: Option<u32>,
) -> Result<Attempt> {
    let strikes = |point: CrashPoint| crash.is_some_and(|c| c.point == point);
    let mut out = Attempt::default();
    // Whatever this attempt does not commit is lost with the process; the record says how
    // much was committed and what the persisted state covers.
    let crashed = |engine: &mut E, out: &mut Attempt, record: CrashRecord| -> Result<()> {
        engine.crash_and_reopen(lane.target)?;
        out.crash = Some(record);
        Ok(())
    };
    let record = |point, chunks_committed, chunks, rows_committed, rows_replayed, rows_skipped| {
        CrashRecord {
            run: ctx.run,
            attempt: 1,
            point,
            chunks_committed,
            chunks,
            rows_committed,
            rows_replayed,
            rows_skipped,
        }
    };

    if strikes(CrashPoint::BeforeRead) {
        crashed(
            engine,
            &mut out,
            record(CrashPoint::BeforeRead, 0, 0, 0, 0, 0),
        )?;
        return Ok(out);
    }
    let (mut request, write_mode) = if reconcile {
        let everything = ReadRequest {
            spec: ReadSpec::All,
            want_maxima: true,
        };
        (everything, WriteMode::Overwrite)
    } else {
        (lane.strategy.plan(state, ctx), lane.write)
    };
    if let ReadSpec::EventTimeWindow { from_us, to_us } = request.spec {
        out.event_window_us = Some([from_us, to_us]);
    }
    // Only an attempt a crash will strike writes in chunks: a chunked write that completes
    // leaves the same target and state as one statement, so crash-free attempts keep the
    // one-statement path (and its speed).
    let chunks = chunks.filter(|_| crash.is_some());
    // A chunked write needs the batch read first (a fused read happens inside the write).
    request.want_maxima |= chunks.is_some();
    let read = engine.read(lane.target, request)?;
    out.read = read;
    if strikes(CrashPoint::AfterRead) {
        crashed(
            engine,
            &mut out,
            record(CrashPoint::AfterRead, 0, 0, 0, 0, 0),
        )?;
        return Ok(out);
    }
    // After a reconciliation the watermark restarts from what the full read saw, as if the
    // strategy had just been deployed on the current table.
    let base = if reconcile {
        StrategyState::default()
    } else {
        state.clone()
    };
    let next = lane.strategy.advance(&base, &read, ctx);
    let state_first = lane.spec.commit_order() == CommitOrder::BeforeWrite
        && !lane.store.shares_data_transaction();
    if state_first {
        lane.store.save(engine, &next)?;
        if strikes(CrashPoint::AfterStateCommit) {
            let rows = read.rows_read;
            crashed(
                engine,
                &mut out,
                record(CrashPoint::AfterStateCommit, 0, 0, 0, 0, rows),
            )?;
            return Ok(out);
        }
    }

    let in_transaction = lane.store.shares_data_transaction();
    let Some(n) = chunks else {
        // No crash this attempt: one statement, the read possibly fused into it.
        if in_transaction {
            engine.begin(lane.target)?;
        }
        let write = engine.write(lane.target, write_mode)?;
        out.read.rows_read += write.rows_read;
        out.read.rows_scanned += write.rows_scanned;
        out.read.bytes_scanned += write.bytes_scanned;
        out.written = write.changes;
        if !state_first {
            lane.store.save(engine, &next)?;
        }
        if in_transaction {
            engine.commit(lane.target)?;
        }
        return Ok(out);
    };

    if in_transaction {
        engine.begin(lane.target)?;
    }
    let stats = engine.stage_chunks(lane.target, n)?;
    let stop_after = crash
        .filter(|c| c.point == CrashPoint::MidWrite)
        .map(|c| c.chunks_before(n));
    let flush_every = lane.spec.offset_flush_every;
    // Rows committed so far, and how many of them the persisted state covers.
    let (mut committed_rows, mut covered_rows) = (0u64, if state_first { u64::MAX } else { 0 });
    let mut since_flush = 0u64;
    let mut written_maxima = ChunkStats::default();
    // The crash after k chunks strikes once chunk k is committed and before anything
    // acknowledges it (the offset flush below): the at-least-once window.
    let mid_write_crash = |engine: &mut E,
                           out: &mut Attempt,
                           chunks_done: u32,
                           committed_rows: u64,
                           covered_rows: u64| {
        let committed = if in_transaction { 0 } else { committed_rows };
        let (replayed, skipped) = if state_first {
            (0, read.rows_read - committed)
        } else {
            (committed - covered_rows.min(committed), 0)
        };
        let committed_chunks = if in_transaction { 0 } else { chunks_done };
        crashed(
            engine,
            out,
            record(
                CrashPoint::MidWrite,
                committed_chunks,
                n,
                committed,
                replayed,
                skipped,
            ),
        )
    };
    if stop_after == Some(0) {
        mid_write_crash(engine, &mut out, 0, 0, 0)?;
        return Ok(out);
    }
    for chunk in 1..=n {
        let write = engine.write_chunk(lane.target, write_mode, chunk)?;
        out.written += write.changes;
        let chunk_stats = stats[chunk as usize - 1];
        committed_rows += chunk_stats.rows;
        since_flush += chunk_stats.rows;
        written_maxima = ChunkStats {
            rows: committed_rows,
            max_id: written_maxima.max_id.max(chunk_stats.max_id),
            max_updated_at_us: written_maxima
                .max_updated_at_us
                .max(chunk_stats.max_updated_at_us),
            max_lsn: written_maxima.max_lsn.max(chunk_stats.max_lsn),
        };
        if stop_after == Some(chunk) {
            mid_write_crash(engine, &mut out, chunk, committed_rows, covered_rows)?;
            return Ok(out);
        }
        // At-least-once consumption: the offset follows the written events in steps of k.
        if let Some(k) = flush_every {
            if since_flush >= k && chunk < n {
                let so_far = ReadStats {
                    rows_read: committed_rows,
                    max_id: written_maxima.max_id,
                    max_updated_at_us: written_maxima.max_updated_at_us,
                    max_lsn: written_maxima.max_lsn,
                    ..ReadStats::default()
                };
                lane.store
                    .save(engine, &lane.strategy.advance(&base, &so_far, ctx))?;
                covered_rows = committed_rows;
                since_flush = 0;
            }
        }
    }
    if strikes(CrashPoint::AfterWrite) {
        let (committed, replayed) = if in_transaction {
            (0, 0)
        } else if state_first {
            (committed_rows, 0)
        } else {
            (
                committed_rows,
                committed_rows - covered_rows.min(committed_rows),
            )
        };
        crashed(
            engine,
            &mut out,
            record(
                CrashPoint::AfterWrite,
                if in_transaction { 0 } else { n },
                n,
                committed,
                replayed,
                0,
            ),
        )?;
        return Ok(out);
    }
    if !state_first {
        lane.store.save(engine, &next)?;
    }
    if in_transaction {
        engine.commit(lane.target)?;
    }
    if !state_first && strikes(CrashPoint::AfterStateCommit) {
        let rows = committed_rows;
        crashed(
            engine,
            &mut out,
            record(CrashPoint::AfterStateCommit, n, n, rows, 0, 0),
        )?;
        return Ok(out);
    }
    Ok(out)
}

/// Runs a lane's run, then reruns it from the state persisted before it — a retry — and notes
/// the first run whose retry left a different target or state. The retry's outcome is what
/// the lane continues with, as in production; its time is not counted twice. The retry itself
/// never crashes.
pub(super) fn run_lane_twice<E: Engine>(
    engine: &mut E,
    lane: &mut Lane,
    ctx: &RunContext,
    drain: bool,
    faults: Option<FaultContext<'_>>,
) -> Result<TargetContents> {
    let state_before = lane.store.load(engine)?;
    let first = run_lane(engine, lane, ctx, drain, faults)?;
    let after_first = (fingerprint(&first), lane.store.load(engine)?);
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
    let retry = run_lane(engine, lane, ctx, drain, no_crashes)?;
    let after_retry = (fingerprint(&retry), lane.store.load(engine)?);
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
    Ok(retry)
}

/// An order-independent fingerprint of a target's rows: the drain stops when it stops moving.
pub(super) fn fingerprint(contents: &TargetContents) -> u64 {
    fn mix(mut z: u64) -> u64 {
        // splitmix64 finaliser: spreads every input bit over the output.
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    match contents {
        TargetContents::Mirror(v) => {
            let sum = v.id.iter().zip(&v.lsn).fold(0u64, |acc, (&id, &lsn)| {
                acc.wrapping_add(mix(mix(id as u64) ^ lsn as u64))
            });
            sum ^ mix(v.id.len() as u64)
        }
        TargetContents::Totals(t) => {
            let rows = t.day.iter().zip(&t.total).zip(&t.rows);
            let sum = rows.fold(0u64, |acc, ((&day, &total), &n)| {
                acc.wrapping_add(mix(mix(mix(day as u64) ^ total as u64) ^ n as u64))
            });
            sum ^ mix(t.day.len() as u64)
        }
    }
}
