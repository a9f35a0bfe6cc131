//! Reads of the PostgreSQL source's table: the read's SELECT run as a binary `COPY … TO
//! STDOUT` in a repeatable-read transaction, straight into Arrow columns, with what
//! PostgreSQL's own statistics say its scans touched.
//!
//! Rows scanned are what the table's `pg_stat_get_xact_tuples_returned` (live rows sequential
//! scans read) plus `pg_stat_get_xact_tuples_fetched` of the table and of each of its indexes
//! (rows index scans fetched from the heap, counted against the index) grew by
//! across the COPY, both read inside the reading transaction: PostgreSQL's instrumentation,
//! exact and repeatable with autovacuum off. A difference, because PostgreSQL 15 reports the
//! backend's counts not yet flushed to the statistics system, which can span several earlier
//! transactions of the connection. Bytes scanned are those rows times the widths of the
//! columns read.

use std::sync::Arc;
use std::time::SystemTime;

use duckdb::arrow::array::{ArrayRef, BooleanArray, Int32Array, Int64Array};
use duckdb::arrow::datatypes::{Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use postgres::binary_copy::{BinaryCopyOutIter, BinaryCopyOutRow};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use postgres::{Client, IsolationLevel};

use super::play::simulated_us;
use super::sql::{self, TABLE};
use super::statements::pg_error;
use crate::engine::duckdb::arrow_type;
use crate::engine::ReadSpec;
use crate::error::Result;
use crate::row::{Column, ColumnType, MIRROR_ROW};

/// A batch of read rows in the columns every staged batch has: the mirror row, then `gone`.
#[derive(Debug, Default)]
pub(super) struct ReadRows {
    pub id: Vec<i64>,
    pub lsn: Vec<i64>,
    pub updated_at: Vec<i64>,
    pub writer: Vec<i32>,
    pub value: Vec<i64>,
    pub event_time: Vec<i64>,
    pub gone: Vec<bool>,
}

/// One read row: the mirror row and `gone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ReadRow {
    pub id: i64,
    pub lsn: i64,
    pub updated_at: i64,
    pub writer: i32,
    pub value: i64,
    pub event_time: i64,
    pub gone: bool,
}

impl ReadRows {
    pub fn push(&mut self, row: ReadRow) {
        self.id.push(row.id);
        self.lsn.push(row.lsn);
        self.updated_at.push(row.updated_at);
        self.writer.push(row.writer);
        self.value.push(row.value);
        self.event_time.push(row.event_time);
        self.gone.push(row.gone);
    }

    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// The rows as the Arrow batch the DuckDB targets stage (the mirror table's types).
    pub fn into_batch(self) -> RecordBatch {
        let mut fields: Vec<Field> = MIRROR_ROW
            .iter()
            .map(|&c| Field::new(c.name(), arrow_type(c), false))
            .collect();
        fields.push(Field::new("gone", arrow_type(Column::IsDeleted), false));
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
        let mut ints = [
            Some(self.id),
            Some(self.lsn),
            Some(self.updated_at),
            Some(self.value),
            Some(self.event_time),
        ];
        let mut writer = Some(self.writer);
        for &c in &MIRROR_ROW {
            let slot = match c {
                Column::Id => 0,
                Column::Lsn => 1,
                Column::UpdatedAt => 2,
                Column::Value => 3,
                Column::EventTime => 4,
                Column::Writer => {
                    columns.push(Arc::new(Int32Array::from(
                        writer.take().expect("one writer column"),
                    )));
                    continue;
                }
                Column::IsDeleted | Column::Xid => unreachable!("a mirror row carries neither"),
            };
            columns.push(Arc::new(Int64Array::from(
                ints[slot].take().expect("each column once"),
            )));
        }
        columns.push(Arc::new(BooleanArray::from(self.gone)));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .expect("columns match the schema by construction")
    }

    /// Sorts the rows by lsn (a change stream's order).
    pub fn sort_by_lsn(self) -> ReadRows {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&k| (self.lsn[k], self.id[k]));
        let pick_i64 = |v: &[i64]| order.iter().map(|&k| v[k]).collect();
        ReadRows {
            id: pick_i64(&self.id),
            lsn: pick_i64(&self.lsn),
            updated_at: pick_i64(&self.updated_at),
            writer: order.iter().map(|&k| self.writer[k]).collect(),
            value: pick_i64(&self.value),
            event_time: pick_i64(&self.event_time),
            gone: order.iter().map(|&k| self.gone[k]).collect(),
        }
    }
}

/// The byte width of the columns a read returns (a mirror row and its flag).
pub(super) fn row_width() -> u64 {
    MIRROR_ROW
        .iter()
        .chain(std::iter::once(&Column::IsDeleted))
        .map(|c| match c.column_type() {
            ColumnType::Int64 => 8,
            ColumnType::Int32 => 4,
            ColumnType::Bool => 1,
        })
        .sum()
}

/// What one read of the table returned.
pub(super) struct TableRead {
    pub rows: ReadRows,
    /// Rows PostgreSQL's scans touched (its statistics for the reading transaction).
    pub scanned: u64,
    /// The reading snapshot's `pg_snapshot_xmin`: the oldest transaction in flight.
    pub snapshot_xmin: i64,
}

/// Runs `select` (a read's SELECT, see `sql`) in a repeatable-read transaction.
pub(super) fn read_table(
    client: &mut Client,
    schema: &str,
    select: &str,
    spec: &ReadSpec,
) -> Result<TableRead> {
    let what = || format!("reading {spec:?} from the PostgreSQL source");
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| pg_error(&what(), e))?;
    // The first statement takes the transaction's snapshot: the one the COPY reads from.
    let snapshot_xmin: i64 = tx
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            &[],
        )
        .map_err(|e| pg_error(&what(), e))?
        .get(0);
    let table = format!("'{schema}.{TABLE}'::regclass");
    // Index scans count their heap fetches against the index, not the table (the
    // `pg_stat_all_tables` view sums them the same way).
    let counted = format!(
        "SELECT pg_stat_get_xact_tuples_returned({table}) + pg_stat_get_xact_tuples_fetched({table})
              + coalesce((SELECT sum(pg_stat_get_xact_tuples_fetched(indexrelid)) FROM pg_index
                          WHERE indrelid = {table}), 0)::bigint"
    );
    let counter = |tx: &mut postgres::Transaction<'_>| -> Result<i64> {
        Ok(tx
            .query_one(&counted, &[])
            .map_err(|e| pg_error("reading the scan statistics", e))?
            .get(0))
    };
    let before = counter(&mut tx)?;
    let mut rows = ReadRows::default();
    {
        let reader = tx
            .copy_out(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
            .map_err(|e| pg_error(&what(), e))?;
        let types = [
            Type::INT8,
            Type::INT8,
            Type::TIMESTAMPTZ,
            Type::INT4,
            Type::INT8,
            Type::TIMESTAMPTZ,
            Type::BOOL,
        ];
        debug_assert_eq!(
            MIRROR_ROW.map(sql::pg_type),
            [
                "bigint",
                "bigint",
                "timestamptz",
                "integer",
                "bigint",
                "timestamptz"
            ]
        );
        let decode = |row: &BinaryCopyOutRow| -> std::result::Result<ReadRow, postgres::Error> {
            Ok(ReadRow {
                id: row.try_get(0)?,
                lsn: row.try_get(1)?,
                updated_at: simulated_us(row.try_get::<SystemTime>(2)?),
                writer: row.try_get(3)?,
                value: row.try_get(4)?,
                event_time: simulated_us(row.try_get::<SystemTime>(5)?),
                gone: row.try_get(6)?,
            })
        };
        let mut iter = BinaryCopyOutIter::new(reader, &types);
        while let Some(row) = iter.next().map_err(|e| pg_error(&what(), e))? {
            rows.push(decode(&row).map_err(|e| pg_error(&what(), e))?);
        }
    }
    let scanned = counter(&mut tx)? - before;
    tx.commit().map_err(|e| pg_error(&what(), e))?;
    Ok(TableRead {
        rows,
        scanned: scanned.max(0) as u64,
        snapshot_xmin,
    })
}
