//! The SQL text of the DuckDB engine: table definitions built from the one row schema
//! (`crate::row`), object names per target, and the SELECT each read stands for.

use super::profiling::SourceScan;
use crate::engine::{ReadSpec, TargetChanges, TargetId, DAY_US};
use crate::row::{column_list, Column, ColumnType, MIRROR_ROW, SOURCE_ROW};
use crate::sim::Op;

/// `change_log.op` of a hard delete (the ASCII code of 'D', see `source_batch`).
pub(super) const OP_DELETE: u8 = Op::Delete as u8;

/// DuckDB's type for a column.
pub(super) fn sql_type(column: Column) -> &'static str {
    match column.column_type() {
        ColumnType::Int64 => "BIGINT",
        ColumnType::Int32 => "INTEGER",
        ColumnType::Bool => "BOOLEAN",
    }
}

/// Columns a mirror target keeps, as a SELECT list: the row as the source has it, minus
/// deletion state.
pub(super) fn target_columns() -> String {
    column_list(&MIRROR_ROW)
}

fn definitions(columns: &[Column], not_null: bool) -> String {
    columns
        .iter()
        .map(|&c| {
            let null = if not_null { " NOT NULL" } else { "" };
            format!("{} {}{null}", c.name(), sql_type(c))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The source table and its change log. The change log's columns are in the order of
/// `source_batch::change_log_schema`: `op`, the source row, `commit_us`.
pub(super) fn source_tables() -> String {
    format!(
        "CREATE TABLE source ({});
         CREATE TABLE change_log (op UTINYINT NOT NULL, {}, commit_us BIGINT NOT NULL);",
        definitions(&SOURCE_ROW, true),
        definitions(&SOURCE_ROW, true),
    )
}

/// A mirror target's table.
pub(super) fn mirror_table(schema: &str) -> String {
    format!(
        "CREATE TABLE {schema}.mirror ({});",
        definitions(&MIRROR_ROW, false)
    )
}

/// The counts of a statement that only inserts.
pub(super) fn inserted_only((rows, scan): (u64, SourceScan)) -> (TargetChanges, SourceScan) {
    let changes = TargetChanges {
        inserted: rows,
        ..TargetChanges::default()
    };
    (changes, scan)
}

pub(super) fn schema(target: TargetId) -> String {
    format!("t{}", target.0)
}

pub(super) fn batch_name(target: TargetId) -> String {
    format!("batch_t{}", target.0)
}

pub(super) fn chunks_name(target: TargetId) -> String {
    format!("chunks_t{}", target.0)
}

/// The SELECT a read spec stands for, with a `gone` column: the key must not be in the target.
pub(super) fn select_for(spec: &ReadSpec) -> String {
    let cols = target_columns();
    let source_cols = format!("{cols}, is_deleted AS gone");
    match spec {
        ReadSpec::All => format!("SELECT {source_cols} FROM source"),
        &ReadSpec::IdAbove(wm) => format!("SELECT {source_cols} FROM source WHERE id > {wm}"),
        &ReadSpec::UpdatedAtFrom { from_us, inclusive } => {
            let op = if inclusive { ">=" } else { ">" };
            format!("SELECT {source_cols} FROM source WHERE updated_at {op} {from_us}")
        }
        ReadSpec::UpdatedAtSkippingSeen {
            from_us,
            seen,
            by_row,
        } => {
            let skip = crate::engine::skipping_seen_sql(&from_us.to_string(), seen, *by_row);
            format!("SELECT {source_cols} FROM source WHERE updated_at >= {from_us}{skip}")
        }
        &ReadSpec::LogAfter(offset) => format!(
            "SELECT {cols}, (op = {OP_DELETE} OR is_deleted) AS gone FROM change_log WHERE lsn > {offset}"
        ),
        &ReadSpec::EventTimeWindow { from_us, to_us } => format!(
            "SELECT {source_cols} FROM source WHERE event_time >= {from_us} AND event_time < {to_us}"
        ),
        &ReadSpec::XidRange { from, to } => {
            format!("SELECT {source_cols} FROM source WHERE xid >= {from} AND xid < {to}")
        }
        ReadSpec::Files(_) => unreachable!("file reads are staged from polars, not from SQL"),
    }
}

/// The change log and the source built from `range(rows)` in schema `floor`, with the columns
/// and types of the real tables (`source_tables`): the change log's `op`, every source column
/// and `commit_us`, each a cheap function of the row number `i`; then the source from it, as
/// an initial load fills it.
pub(super) fn generated_tables(rows: u64) -> String {
    let value_of = |c: Column| -> String {
        let expr = match c {
            Column::Id | Column::Lsn => "i".to_string(),
            Column::UpdatedAt => "i * 1000".to_string(),
            Column::Writer => "i % 4".to_string(),
            Column::Value => "(i * 2654435761) % 1000000".to_string(),
            Column::EventTime => "i * 997".to_string(),
            Column::IsDeleted => "false".to_string(),
            Column::Xid => "i".to_string(),
        };
        format!("CAST({expr} AS {}) AS {}", sql_type(c), c.name())
    };
    let log_columns: Vec<String> =
        std::iter::once(format!("CAST({} AS UTINYINT) AS op", Op::Insert as u8))
            .chain(SOURCE_ROW.iter().map(|&c| value_of(c)))
            .chain(std::iter::once(
                "CAST(0 AS BIGINT) AS commit_us".to_string(),
            ))
            .collect();
    format!(
        "CREATE SCHEMA floor;
         CREATE TABLE floor.change_log AS SELECT {} FROM range({rows}) t(i);
         CREATE TABLE floor.source AS SELECT {} FROM floor.change_log;",
        log_columns.join(", "),
        column_list(&SOURCE_ROW)
    )
}

/// The SQL for the `daily_totals` day of a microsecond column (floor, so negative times too).
pub(super) fn day_of(column: &str) -> String {
    format!("CAST(floor({column} / {DAY_US}.0) AS BIGINT)")
}

#[cfg(test)]
mod tests {
    use super::super::DuckDbEngine;
    use super::generated_tables;
    use crate::engine::Source;

    fn columns_of(engine: &DuckDbEngine, schema: &str, table: &str) -> Vec<(String, String)> {
        let mut stmt = engine
            .conn
            .prepare(
                "SELECT column_name, data_type FROM duckdb_columns()
                 WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            )
            .unwrap();
        stmt.query_map([schema, table], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn the_range_floor_builds_the_real_tables_columns_and_rows_and_leaves_nothing() {
        let engine = DuckDbEngine::open_in_memory().unwrap();
        engine.conn.execute_batch(&generated_tables(1_000)).unwrap();
        for table in ["change_log", "source"] {
            assert_eq!(
                columns_of(&engine, "floor", table),
                columns_of(&engine, "main", table),
                "{table}"
            );
            let rows: i64 = engine
                .conn
                .query_row(&format!("SELECT count(*) FROM floor.{table}"), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(rows, 1_000, "{table}");
        }
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        assert!(engine.generated_tables_time(1_000).unwrap().is_some());
        assert!(columns_of(&engine, "floor", "source").is_empty(), "dropped");
    }
}
