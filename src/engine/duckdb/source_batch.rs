//! A slice of the history as an Arrow batch shaped like the `change_log` table, for the
//! `arrow` table function's bulk path (no row-by-row statements anywhere between the simulator
//! and DuckDB).

use std::ops::Range;
use std::sync::Arc;

use duckdb::arrow::array::{ArrayRef, BooleanArray, Int32Array, Int64Array, UInt8Array};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::row::{Column, ColumnType, SOURCE_ROW};
use crate::sim::History;

/// Arrow's type for a row column.
pub(crate) fn arrow_type(column: Column) -> DataType {
    match column.column_type() {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Bool => DataType::Boolean,
    }
}

/// The schema of `change_log` (its DDL in `sql::source_tables` lists the same columns in the
/// same order): `op`, the source row, `commit_us`. `op` is the ASCII code of the operation
/// letter ('I', 'U', 'D'): a one-byte column loads several times faster than a text column,
/// and loading is on the critical path of every run.
fn change_log_schema() -> Schema {
    let mut fields = vec![Field::new("op", DataType::UInt8, false)];
    fields.extend(
        SOURCE_ROW
            .iter()
            .map(|&c| Field::new(c.name(), arrow_type(c), false)),
    );
    fields.push(Field::new("commit_us", DataType::Int64, false));
    Schema::new(fields)
}

/// The history column of a source row column, as an Arrow array over `range`.
fn column_array(h: &History, column: Column, range: Range<usize>) -> ArrayRef {
    let ints =
        |col: &[i64]| -> ArrayRef { Arc::new(Int64Array::from(col[range.clone()].to_vec())) };
    match column {
        Column::Id => ints(&h.id),
        Column::Lsn => Arc::new(Int64Array::from_iter_values(h.lsns(range.clone()))),
        Column::UpdatedAt => ints(&h.updated_at_us),
        Column::Value => ints(&h.value),
        Column::EventTime => Arc::new(Int64Array::from(h.event_time_us.to_vec(range.clone()))),
        Column::Writer => Arc::new(Int32Array::from_iter_values(
            h.writer[range].iter().map(|&w| w as i32),
        )),
        Column::IsDeleted => Arc::new(BooleanArray::from(h.is_deleted.to_vec(range.clone()))),
        Column::Xid => Arc::new(Int64Array::from(h.xid.to_vec(range.clone()))),
    }
}

/// Batches of at least this many rows build their columns in parallel.
const PARALLEL_FROM_ROWS: usize = 65_536;

pub fn change_log_batch(h: &History, range: Range<usize>) -> RecordBatch {
    // One array per column, built side by side: a load of 1M rows spends most of this step
    // faulting in the arrays' fresh pages (29 ms on one thread), and columns share nothing.
    let op = || -> ArrayRef {
        Arc::new(UInt8Array::from_iter_values(
            h.op.slice(range.clone()).map(|o| o as u8),
        ))
    };
    let commit = || -> ArrayRef { Arc::new(Int64Array::from(h.commit_us.to_vec(range.clone()))) };
    let array = |i: usize| match i {
        0 => op(),
        i if i <= SOURCE_ROW.len() => column_array(h, SOURCE_ROW[i - 1], range.clone()),
        _ => commit(),
    };
    let count = SOURCE_ROW.len() + 2;
    // A run's few thousand changes are not worth handing to other threads.
    let columns: Vec<ArrayRef> = if range.len() >= PARALLEL_FROM_ROWS {
        (0..count).into_par_iter().map(array).collect()
    } else {
        (0..count).map(array).collect()
    };
    RecordBatch::try_new(Arc::new(change_log_schema()), columns)
        .expect("columns match the schema by construction")
}
