//! Reading an outside pipeline's target back: a table in a DuckDB file the pipeline wrote,
//! opened read-only once the pipeline has exited, as the column-by-column rows the oracle
//! checks.
//!
//! The contract: key `id`, and whichever of `version`, `value`, `updated_at`, `event_time`
//! the target keeps (at least `version`, or `value` and `updated_at`). Timestamps come back as
//! simulated microseconds (contract epoch subtracted). A target with an `is_deleted` column
//! keeps tombstones: its flagged rows count as absent. Other columns (dlt's `_dlt_id`, …) are
//! ignored.

use std::path::Path;

use duckdb::arrow::array::{
    Array, BooleanArray, Int32Array, Int64Array, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use duckdb::arrow::datatypes::DataType;
use duckdb::{AccessMode, Config, Connection};

use crate::engine::TargetRows;
use crate::row::{Column, EPOCH_US};

/// The contract's target columns and what each means to the oracle.
const CARRIED: [(&str, Column); 4] = [
    ("version", Column::Lsn),
    ("updated_at", Column::UpdatedAt),
    ("value", Column::Value),
    ("event_time", Column::EventTime),
];

/// What the pipeline's target holds, or why it cannot be read (the message names the file,
/// the table and what is wrong with it).
pub fn read(file: &Path, table: &str) -> Result<TargetRows, String> {
    if !file.is_file() {
        return Err(format!("the target file {} does not exist", name(file)));
    }
    let config = Config::default()
        .access_mode(AccessMode::ReadOnly)
        .map_err(|e| e.to_string())?;
    let conn = Connection::open_with_flags(file, config)
        .map_err(|e| format!("cannot open the target file {}: {e}", name(file)))?;
    let (schema, bare) = match table.split_once('.') {
        Some((schema, bare)) => (Some(schema), bare),
        None => (None, table),
    };
    let columns = columns_of(&conn, schema, bare)
        .map_err(|e| format!("cannot list the columns of {table}: {e}"))?;
    if columns.is_empty() {
        let tables = tables_in(&conn).unwrap_or_default();
        return Err(format!(
            "table `{table}` does not exist in {} (tables there: {})",
            name(file),
            if tables.is_empty() {
                "none".to_string()
            } else {
                tables.join(", ")
            }
        ));
    }
    let has = |c: &str| columns.iter().any(|(n, _)| n == c);
    if !has("id") {
        return Err(format!("table `{table}` has no key column `id`"));
    }
    let tells_versions = has("version") || (has("value") && has("updated_at"));
    if !tells_versions {
        return Err(format!(
            "table `{table}` keeps neither `version` nor both `value` and `updated_at`: the oracle cannot tell which version a row is"
        ));
    }
    let carried: Vec<(&str, Column)> = CARRIED.iter().copied().filter(|(n, _)| has(n)).collect();
    let tombstones = has("is_deleted");
    let mut select: Vec<String> = std::iter::once("id")
        .chain(carried.iter().map(|(n, _)| *n))
        .map(|n| format!("\"{n}\""))
        .collect();
    if tombstones {
        select.push("\"is_deleted\"".into());
    }
    let qualified = match schema {
        Some(s) => format!("\"{s}\".\"{bare}\""),
        None => format!("\"{bare}\""),
    };
    let sql = format!("SELECT {} FROM {qualified}", select.join(", "));
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| format!("cannot read {table}: {e}"))?;
    let mut id = Vec::new();
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); carried.len()];
    let names: Vec<&str> = std::iter::once("id")
        .chain(carried.iter().map(|(n, _)| *n))
        .collect();
    for batch in stmt
        .stream_arrow([])
        .map_err(|e| format!("cannot read {table}: {e}"))?
    {
        let batch = batch.map_err(|e| format!("cannot read {table}: {e}"))?;
        let keep: Vec<bool> = match tombstones {
            true => {
                let flags = batch.column(names.len());
                let Some(flags) = flags.as_any().downcast_ref::<BooleanArray>() else {
                    return Err(format!(
                        "column `is_deleted` of {table} is {}, expected BOOLEAN",
                        flags.data_type()
                    ));
                };
                (0..flags.len())
                    .map(|i| !(flags.is_valid(i) && flags.value(i)))
                    .collect()
            }
            false => vec![true; batch.num_rows()],
        };
        for (i, column) in names.iter().enumerate() {
            let ints = integers(batch.column(i).as_ref(), column, table)?;
            let out = if i == 0 { &mut id } else { &mut values[i - 1] };
            out.extend(
                ints.into_iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| v),
            );
        }
    }
    Ok(TargetRows {
        id,
        columns: carried.iter().map(|(_, c)| *c).zip(values).collect(),
    })
}

/// A column's values as integers: integer columns as they are, timestamps (any unit, with or
/// without a time zone) as simulated microseconds. NULLs and other types are the pipeline's
/// error.
fn integers(array: &dyn Array, column: &str, table: &str) -> Result<Vec<i64>, String> {
    if array.null_count() > 0 {
        return Err(format!("column `{column}` of {table} holds NULLs"));
    }
    let any = array.as_any();
    let shifted = |v: &[i64], us_per_unit: i64| -> Vec<i64> {
        v.iter().map(|&x| x * us_per_unit - EPOCH_US).collect()
    };
    let timestamp = matches!(column, "updated_at" | "event_time");
    let out = match array.data_type() {
        DataType::Int64 if !timestamp => any
            .downcast_ref::<Int64Array>()
            .map(|a| a.values().to_vec()),
        DataType::Int32 if !timestamp => any
            .downcast_ref::<Int32Array>()
            .map(|a| a.values().iter().map(|&v| v as i64).collect()),
        DataType::Timestamp(_, _) if timestamp => {
            if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
                Some(a.values().iter().map(|&v| v - EPOCH_US).collect())
            } else if let Some(a) = any.downcast_ref::<TimestampNanosecondArray>() {
                Some(
                    a.values()
                        .iter()
                        .map(|&v| v.div_euclid(1000) - EPOCH_US)
                        .collect(),
                )
            } else if let Some(a) = any.downcast_ref::<TimestampMillisecondArray>() {
                Some(shifted(a.values(), 1_000))
            } else {
                any.downcast_ref::<TimestampSecondArray>()
                    .map(|a| shifted(a.values(), 1_000_000))
            }
        }
        _ => None,
    };
    out.ok_or_else(|| {
        let expected = if timestamp {
            "a TIMESTAMP"
        } else {
            "an integer"
        };
        format!(
            "column `{column}` of {table} is {}, expected {expected}",
            array.data_type()
        )
    })
}

fn columns_of(
    conn: &Connection,
    schema: Option<&str>,
    table: &str,
) -> duckdb::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        // DuckDB's own catalog function: the information_schema view over it costs more than
        // the read of a small target.
        "SELECT column_name, data_type FROM duckdb_columns()
         WHERE table_name = ? AND schema_name = ?
         ORDER BY column_index",
    )?;
    // An unqualified name is the main schema's, as in SQL.
    let schema = schema.unwrap_or("main");
    let rows = stmt.query_map(duckdb::params![table, schema], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.collect()
}

fn tables_in(conn: &Connection) -> duckdb::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables
         WHERE table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY 1",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

fn name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target file built by `sql`, read back as `table`.
    fn read_after(sql: &str, table: &str) -> Result<TargetRows, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("target.duckdb");
        Connection::open(&file).unwrap().execute_batch(sql).unwrap();
        read(&file, table)
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(&dir.path().join("target.duckdb"), "orders").unwrap_err();
        assert!(
            err.contains("target.duckdb") && err.contains("does not exist"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_table_is_named_with_the_tables_there() {
        let err = read_after("CREATE TABLE other (id BIGINT)", "orders").unwrap_err();
        assert!(
            err.contains("`orders` does not exist") && err.contains("main.other"),
            "{err}"
        );
    }

    #[test]
    fn a_target_without_the_key_column_is_refused() {
        let err =
            read_after("CREATE TABLE orders (key BIGINT, version BIGINT)", "orders").unwrap_err();
        assert!(err.contains("no key column `id`"), "{err}");
    }

    #[test]
    fn a_target_that_cannot_tell_versions_apart_is_refused() {
        let err =
            read_after("CREATE TABLE orders (id BIGINT, value BIGINT)", "orders").unwrap_err();
        assert!(err.contains("neither `version`"), "{err}");
    }

    #[test]
    fn a_column_of_the_wrong_type_is_named_with_its_type() {
        let err = read_after(
            "CREATE TABLE orders (id BIGINT, version VARCHAR); INSERT INTO orders VALUES (1, 'x')",
            "orders",
        )
        .unwrap_err();
        assert!(
            err.contains("column `version`") && err.contains("expected an integer"),
            "{err}"
        );
    }

    #[test]
    fn nulls_in_a_compared_column_are_named() {
        let err = read_after(
            "CREATE TABLE orders (id BIGINT, version BIGINT); INSERT INTO orders VALUES (1, NULL)",
            "orders",
        )
        .unwrap_err();
        assert!(err.contains("`version`") && err.contains("NULL"), "{err}");
    }

    #[test]
    fn timestamps_of_any_precision_come_back_as_simulated_microseconds() {
        let rows = read_after(
            "CREATE SCHEMA ds;
             CREATE TABLE ds.orders (id INTEGER, version BIGINT, updated_at TIMESTAMPTZ,
                 event_time TIMESTAMP_MS, value BIGINT, _dlt_id VARCHAR);
             INSERT INTO ds.orders VALUES
                 (7, 3, TIMESTAMPTZ '2026-01-01 00:00:01.000002+00', TIMESTAMP_MS '2025-12-31 23:59:59', 42, 'x')",
            "ds.orders",
        )
        .unwrap();
        assert_eq!(rows.id, [7]);
        assert_eq!(rows.column(Column::Lsn).unwrap(), [3]);
        assert_eq!(rows.column(Column::UpdatedAt).unwrap(), [1_000_002]);
        assert_eq!(rows.column(Column::EventTime).unwrap(), [-1_000_000]);
        assert_eq!(rows.column(Column::Value).unwrap(), [42]);
        assert_eq!(rows.columns.len(), 4, "_dlt_id is not compared");
    }

    #[test]
    fn rows_flagged_deleted_are_tombstones_not_rows() {
        let rows = read_after(
            "CREATE TABLE orders (id BIGINT, version BIGINT, is_deleted BOOLEAN);
             INSERT INTO orders VALUES (1, 1, false), (2, 2, true), (3, 3, NULL)",
            "orders",
        )
        .unwrap();
        assert_eq!(rows.id, [1, 3]);
    }
}
