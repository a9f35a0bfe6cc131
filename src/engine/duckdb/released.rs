//! The source as an outside pipeline sees it: a DuckDB database file holding `orders` (one row
//! per key, latest version, soft-deleted rows flagged) and `orders_changes` (every committed
//! change in commit order), with timestamps as real `TIMESTAMPTZ` values from the contract's
//! epoch.
//!
//! DuckDB allows one writing process per file, so incrlab opens the file only to apply what
//! committed, checkpoints and closes it again: between two runs the pipeline has it to itself
//! (opened read-only, several pipelines can share it).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use duckdb::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
use duckdb::Connection;

use super::error::DuckDbContext;
use crate::engine::ReleasedSource;
use crate::error::Result;
use crate::row::EPOCH_US;
use crate::sim::{History, Op};

/// The change log's columns, in table order.
const CHANGE_COLUMNS: &str =
    "op, id, value, updated_at, event_time, is_deleted, version, committed_at";

pub struct ReleasedFile {
    path: PathBuf,
}

impl ReleasedFile {
    /// Creates the file with empty `orders` and `orders_changes` tables.
    pub fn create(path: &Path) -> Result<Self> {
        let conn = open(path)?;
        conn.execute_batch(
            "CREATE TABLE orders (id BIGINT NOT NULL, value BIGINT NOT NULL,
                 updated_at TIMESTAMPTZ NOT NULL, event_time TIMESTAMPTZ NOT NULL,
                 is_deleted BOOLEAN NOT NULL, version BIGINT NOT NULL);
             CREATE TABLE orders_changes (op VARCHAR NOT NULL, id BIGINT NOT NULL,
                 value BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                 event_time TIMESTAMPTZ NOT NULL, is_deleted BOOLEAN NOT NULL,
                 version BIGINT NOT NULL, committed_at TIMESTAMPTZ NOT NULL);
             CHECKPOINT;",
        )
        .context(|| format!("creating the released source {}", path.display()))?;
        Ok(ReleasedFile {
            path: path.to_path_buf(),
        })
    }
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .context(|| format!("opening the released source {}", path.display()))?;
    conn.register_table_function::<ArrowVTab>("arrow")
        .context(|| "registering the Arrow table function".into())?;
    Ok(conn)
}

/// Simulated microseconds as contract timestamps (UTC, from [`EPOCH_US`]).
fn timestamps(values: &[i64]) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter_values(values.iter().map(|&us| us + EPOCH_US))
            .with_timezone("UTC"),
    )
}

/// A slice of the history shaped like `orders_changes`.
fn changes_batch(h: &History, range: Range<usize>) -> RecordBatch {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Schema::new(vec![
        Field::new("op", DataType::Utf8, false),
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Int64, false),
        Field::new("updated_at", ts(), false),
        Field::new("event_time", ts(), false),
        Field::new("is_deleted", DataType::Boolean, false),
        Field::new("version", DataType::Int64, false),
        Field::new("committed_at", ts(), false),
    ]);
    let ints =
        |col: &[i64]| -> ArrayRef { Arc::new(Int64Array::from(col[range.clone()].to_vec())) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            h.op.slice(range.clone()).map(|o| o.as_str()),
        )),
        ints(&h.id),
        ints(&h.value),
        timestamps(&h.updated_at_us[range.clone()]),
        timestamps(&h.event_time_us.to_vec(range.clone())),
        Arc::new(BooleanArray::from(h.is_deleted.to_vec(range.clone()))),
        Arc::new(Int64Array::from_iter_values(h.lsns(range.clone()))),
        timestamps(&h.commit_us.to_vec(range)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).expect("columns match the schema")
}

impl ReleasedSource for ReleasedFile {
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let (first, last) = (history.lsn(range.start), history.lsn(range.end - 1));
        let only_inserts = history.op.slice(range.clone()).all(|op| op == Op::Insert);
        let conn = open(&self.path)?;
        let what = || format!("applying lsn {first}..={last} to the released source");
        let registration = ArrowBatchRegistration::new(changes_batch(history, range));
        conn.execute(
            &format!("INSERT INTO orders_changes ({CHANGE_COLUMNS}) SELECT * FROM arrow(?)"),
            [&registration],
        )
        .context(what)?;
        let in_range = format!("version BETWEEN {first} AND {last}");
        let live = "id, value, updated_at, event_time, is_deleted, version";
        // Only what committed is touched: the hand-over follows the changed rows, not the
        // table size. Applying in commit order = keeping each key's last version.
        let sql = if only_inserts {
            format!("INSERT INTO orders SELECT {live} FROM orders_changes WHERE {in_range};")
        } else {
            format!(
                "BEGIN;
                 DELETE FROM orders WHERE id IN (SELECT id FROM orders_changes WHERE {in_range});
                 INSERT INTO orders SELECT {live} FROM orders_changes WHERE {in_range}
                     QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1 AND op <> 'D';
                 COMMIT;"
            )
        };
        conn.execute_batch(&sql).context(what)?;
        // Released: everything is in the main file, and the connection closes on drop, so the
        // pipeline's own process can open it.
        conn.execute_batch("CHECKPOINT").context(what)?;
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::read_outside_target;
    use crate::row::Column;
    use crate::scenario::Scenario;

    /// The quickstart's history (inserts, updates and hard deletes).
    fn history() -> History {
        let loaded = Scenario::quickstart();
        crate::sim::generate(&loaded.scenario, loaded.scenario.seed)
    }

    /// Each live key's latest version as of history row `end`, replayed independently:
    /// id → (lsn, updated_at, value, event_time).
    fn live_rows(h: &History, end: usize) -> BTreeMap<i64, [i64; 4]> {
        let mut live = BTreeMap::new();
        for i in 0..end {
            if h.op[i] == Op::Delete || h.is_deleted[i] {
                live.remove(&h.id[i]);
            } else {
                live.insert(
                    h.id[i],
                    [h.lsn(i), h.updated_at_us[i], h.value[i], h.event_time_us[i]],
                );
            }
        }
        live
    }

    #[test]
    fn the_released_file_holds_exactly_the_committed_versions_run_by_run() {
        let h = history();
        let dir = tempfile::tempdir().unwrap();
        let mut file = ReleasedFile::create(&dir.path().join("source.duckdb")).unwrap();
        let mut applied = i64::MIN;
        for &run in h.run_times_us.iter().take(4) {
            file.apply_changes(&h, h.committed_between(applied, run))
                .unwrap();
            applied = run;
            let end = h.committed_between(i64::MIN, run).end;
            let rows = read_outside_target(file.path(), "orders").unwrap();
            let column = |c: Column| rows.column(c).unwrap();
            let got: BTreeMap<i64, [i64; 4]> = (0..rows.len())
                .map(|r| {
                    (
                        rows.id[r],
                        [
                            column(Column::Lsn)[r],
                            column(Column::UpdatedAt)[r],
                            column(Column::Value)[r],
                            column(Column::EventTime)[r],
                        ],
                    )
                })
                .collect();
            assert_eq!(got.len(), rows.len(), "one row per key");
            assert_eq!(got, live_rows(&h, end), "as of {run}");
        }
    }

    #[test]
    fn timestamps_are_real_instants_from_the_contract_epoch() {
        let h = history();
        let dir = tempfile::tempdir().unwrap();
        let mut file = ReleasedFile::create(&dir.path().join("source.duckdb")).unwrap();
        let first_run = h.run_times_us[0];
        file.apply_changes(&h, h.committed_between(i64::MIN, first_run))
            .unwrap();
        // Counted by DuckDB against a literal instant, not through incrlab's conversion:
        // 30 s after the epoch.
        let conn = Connection::open(file.path()).unwrap();
        let at_or_after: i64 = conn
            .query_row(
                "SELECT count(*) FROM orders_changes
                 WHERE committed_at >= TIMESTAMPTZ '2026-01-01 00:00:30+00'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let range = h.committed_between(i64::MIN, first_run);
        let expected = h
            .commit_us
            .slice(range)
            .filter(|&c| c >= 30_000_000)
            .count();
        assert!(expected > 0 && first_run > 30_000_000);
        assert_eq!(at_or_after as usize, expected);
    }
}
