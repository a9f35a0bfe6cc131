//! One attempt of a strategy's run: plan, read, write (in chunks when a crash will strike),
//! commit state — with `[faults]`' crash points between those steps.
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

use crate::engine::{ChunkStats, Engine, ReadRequest, ReadSpec, ReadStats, TargetChanges};
use crate::error::Result;
use crate::faults::Crash;
use crate::results::CrashRecord;
use crate::scenario::{CommitOrder, CrashPoint, WriteMode};
use crate::strategy::{RunContext, StrategyState};

use super::lane::StrategyLane;

/// What one attempt did, counted exactly.
#[derive(Default)]
pub(super) struct Attempt {
    pub read: ReadStats,
    /// The event-time window the attempt read, when its read was one (`interval`).
    pub event_window_us: Option<[i64; 2]>,
    pub written: TargetChanges,
    pub crash: Option<CrashRecord>,
}

/// One attempt of a run, with `crash` striking at its point. `chunks`: write in that many
/// chunks (with `[faults]`), else in one statement.
pub(super) fn attempt(
    engine: &mut dyn Engine,
    lane: &mut StrategyLane,
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
    let crashed = |engine: &mut dyn Engine, out: &mut Attempt, record: CrashRecord| -> Result<()> {
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
    let next = match (lane.strategy.remembers_boundary(), read.max_updated_at_us) {
        (true, Some(max)) => {
            let at_max = engine.batch_rows_at(lane.target, max)?;
            lane.strategy.advance_seeing(&base, &read, &at_max, ctx)
        }
        (true, None) => lane.strategy.advance_seeing(&base, &read, &[], ctx),
        (false, _) => lane.strategy.advance(&base, &read, ctx),
    };
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
    let mid_write_crash = |engine: &mut dyn Engine,
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
