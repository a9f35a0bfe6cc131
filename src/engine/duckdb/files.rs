//! Reads of landed files: a lazy polars scan of exactly the listed files, handed to DuckDB as
//! one Arrow batch and staged as the target's batch.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use duckdb::arrow::array::{ArrayRef, BooleanArray, Int32Array, Int64Array};
use duckdb::arrow::datatypes::{Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::vtab::arrow::ArrowBatchRegistration;
use polars::prelude::{LazyFrame, PlRefPath, ScanArgsParquet};

use super::error::DuckDbContext;
use super::profiling::SourceScan;
use super::source_batch::arrow_type;
use super::sql::{batch_name, target_columns};
use super::DuckDbEngine;
use crate::engine::TargetId;
use crate::error::{Error, PolarsContext, Result};
use crate::row::{Column, ColumnType, SOURCE_ROW};

impl DuckDbEngine {
    /// Reads landed files with a lazy polars scan of exactly `names` and stages their rows as
    /// the target's batch. Scan counters are the files' rows and bytes.
    pub(super) fn read_files(&mut self, target: TargetId, names: &[String]) -> Result<SourceScan> {
        let dir = self
            .landing_dir
            .clone()
            .ok_or_else(|| Error::Invariant("a file read without a landing directory".into()))?;
        let name = batch_name(target);
        let cols = target_columns();
        let mut bytes = 0u64;
        for file in names {
            let path = dir.join(file);
            bytes += std::fs::metadata(&path)
                .map_err(|e| Error::io("cannot stat a landed file", &path, e))?
                .len();
        }
        let batch = landed_rows(&dir, names)?;
        let rows = batch.num_rows() as u64;
        let registration = ArrowBatchRegistration::new(batch);
        let started = Instant::now();
        let staged = self
            .conn
            .execute(
                &format!(
                    "CREATE OR REPLACE TEMP TABLE {name} AS
                     SELECT {cols}, is_deleted AS gone FROM arrow(?)"
                ),
                [&registration],
            )
            .context(|| format!("staging {} landed files as {name}", names.len()));
        self.sql_time += started.elapsed();
        staged?;
        Ok(SourceScan { rows, bytes })
    }
}

/// The rows of landed files as one Arrow batch of the source row's columns: a lazy polars
/// scan of exactly these files, handed to DuckDB column by column.
fn landed_rows(dir: &Path, names: &[String]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(
        SOURCE_ROW
            .iter()
            .map(|&c| Field::new(c.name(), arrow_type(c), false))
            .collect::<Vec<_>>(),
    ));
    if names.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    let paths = names
        .iter()
        .map(|n| PlRefPath::new(dir.join(n).to_string_lossy().as_ref()))
        .collect();
    let what = || format!("scanning {} landed files", names.len());
    let frame = LazyFrame::scan_parquet_files(paths, ScanArgsParquet::default())
        .and_then(|lazy| lazy.collect())
        .context(what)?;
    let array = |column: Column| -> Result<ArrayRef> {
        let values = frame.column(column.name()).context(what)?;
        let array: ArrayRef = match column.column_type() {
            ColumnType::Int64 => Arc::new(Int64Array::from(
                values
                    .i64()
                    .map(|ca| ca.into_no_null_iter().collect::<Vec<_>>())
                    .context(what)?,
            )),
            ColumnType::Int32 => Arc::new(Int32Array::from(
                values
                    .i32()
                    .map(|ca| ca.into_no_null_iter().collect::<Vec<_>>())
                    .context(what)?,
            )),
            ColumnType::Bool => Arc::new(BooleanArray::from(
                values
                    .bool()
                    .map(|ca| {
                        (0..ca.len())
                            .map(|i| ca.get(i).unwrap_or(false))
                            .collect::<Vec<_>>()
                    })
                    .context(what)?,
            )),
        };
        Ok(array)
    };
    let arrays = SOURCE_ROW
        .iter()
        .map(|&c| array(c))
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema, arrays)
        .map_err(|e| Error::Invariant(format!("landed files do not match their schema: {e}")))
}
