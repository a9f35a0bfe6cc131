//! Handing a slice of the history to DuckDB: the change log always, the source too when the
//! slice only inserts fresh keys (the initial table, insert-only runs).
//!
//! Three threads share the work, because DuckDB's `arrow` scan of one batch runs on one
//! thread: one builds the next Arrow batch while this one is inserted; this thread appends the
//! batch to `change_log`; a second connection appends the same batch to `source` at the same
//! time. Each table still receives its batches in lsn order, from one thread. A batch is a
//! quarter of a million rows: a 100M-row table as one batch would hold a second copy of the
//! whole history while DuckDB copies it a third time.

use std::ops::Range;
use std::sync::mpsc::sync_channel;

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::vtab::arrow::ArrowBatchRegistration;
use duckdb::Connection;

use super::error::DuckDbContext;
use super::source_batch::change_log_batch;
use crate::error::Result;
use crate::row::{column_list, SOURCE_ROW};
use crate::sim::History;

/// Rows of the history in one Arrow batch.
pub(super) const LOAD_BATCH_ROWS: usize = 1 << 18;

/// Appends history rows `range` to `change_log`, and to `source` as well when `into_source`
/// (the caller has checked they are all inserts of fresh keys).
pub(super) fn append(
    conn: &Connection,
    history: &History,
    range: Range<usize>,
    into_source: bool,
) -> Result<()> {
    let chunks: Vec<Range<usize>> = range
        .clone()
        .step_by(LOAD_BATCH_ROWS)
        .map(|start| start..(start + LOAD_BATCH_ROWS).min(range.end))
        .collect();
    std::thread::scope(|scope| -> Result<()> {
        let (batches, built) = sync_channel::<RecordBatch>(1);
        let to_build = chunks.clone();
        scope.spawn(move || {
            for chunk in to_build {
                // A closed receiver means an insert failed: stop building.
                if batches.send(change_log_batch(history, chunk)).is_err() {
                    break;
                }
            }
        });
        let source_side = if into_source {
            let source_conn = conn
                .try_clone()
                .context(|| "opening a second connection for the source".into())?;
            let (to_source, for_source) = sync_channel::<(Range<usize>, RecordBatch)>(1);
            let appender = scope.spawn(move || -> Result<()> {
                let sql = format!(
                    "INSERT INTO source SELECT {} FROM arrow(?)",
                    column_list(&SOURCE_ROW)
                );
                for (chunk, batch) in for_source {
                    insert(&source_conn, &sql, batch, "source", history, chunk)?;
                }
                Ok(())
            });
            Some((to_source, appender))
        } else {
            None
        };
        let mut outcome = Ok(());
        for (chunk, batch) in chunks.iter().zip(built) {
            if let Some((to_source, _)) = &source_side {
                // A closed receiver means the source's insert failed: its error is below.
                if to_source.send((chunk.clone(), batch.clone())).is_err() {
                    break;
                }
            }
            let sql = "INSERT INTO change_log SELECT * FROM arrow(?)";
            outcome = insert(conn, sql, batch, "change log", history, chunk.clone());
            if outcome.is_err() {
                break;
            }
        }
        if let Some((to_source, appender)) = source_side {
            drop(to_source);
            let appended = appender
                .join()
                .expect("the source's appender does not panic");
            outcome = outcome.and(appended);
        }
        outcome
    })
}

/// Inserts one batch through the `arrow` table function: DuckDB's own INSERT pipeline,
/// measurably faster than the appender for wide batches.
fn insert(
    conn: &Connection,
    sql: &str,
    batch: RecordBatch,
    table: &str,
    history: &History,
    chunk: Range<usize>,
) -> Result<()> {
    let registration = ArrowBatchRegistration::new(batch);
    conn.execute(sql, [&registration]).context(|| {
        format!(
            "appending lsn {}..={} to the {table}",
            history.lsn(chunk.start),
            history.lsn(chunk.end - 1)
        )
    })?;
    Ok(())
}
