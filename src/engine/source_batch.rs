//! A slice of the history as an Arrow batch shaped like the `change_log` table, for the
//! `arrow` table function's bulk path (no row-by-row statements anywhere between the simulator
//! and DuckDB).

use std::ops::Range;
use std::sync::Arc;

use duckdb::arrow::array::{ArrayRef, BooleanArray, Int32Array, Int64Array, UInt8Array};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;

use crate::sim::History;

/// Column order of `change_log`; the DDL in `duckdb_engine` must list them the same way.
/// `op` is the ASCII code of the operation letter ('I', 'U', 'D'): a one-byte column loads
/// several times faster than a text column, and loading is on the critical path of every run.
pub const CHANGE_LOG_COLUMNS: [(&str, DataType); 9] = [
    ("lsn", DataType::Int64),
    ("op", DataType::UInt8),
    ("id", DataType::Int64),
    ("updated_at", DataType::Int64),
    ("writer", DataType::Int32),
    ("value", DataType::Int64),
    ("event_time", DataType::Int64),
    ("is_deleted", DataType::Boolean),
    ("commit_us", DataType::Int64),
];

pub fn change_log_batch(h: &History, range: Range<usize>) -> RecordBatch {
    let schema = Arc::new(Schema::new(
        CHANGE_LOG_COLUMNS
            .iter()
            .map(|(name, ty)| Field::new(*name, ty.clone(), false))
            .collect::<Vec<_>>(),
    ));
    let ints =
        |col: &[i64]| -> ArrayRef { Arc::new(Int64Array::from(col[range.clone()].to_vec())) };
    let columns: Vec<ArrayRef> = vec![
        ints(&h.lsn),
        Arc::new(UInt8Array::from_iter_values(
            h.op[range.clone()].iter().map(|&o| o as u8),
        )),
        ints(&h.id),
        ints(&h.updated_at_us),
        Arc::new(Int32Array::from_iter_values(
            h.writer[range.clone()].iter().map(|&w| w as i32),
        )),
        ints(&h.value),
        ints(&h.event_time_us),
        Arc::new(BooleanArray::from(h.is_deleted[range.clone()].to_vec())),
        ints(&h.commit_us),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the schema by construction")
}
