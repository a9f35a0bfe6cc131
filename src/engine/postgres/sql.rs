//! The SQL the PostgreSQL source speaks: its schema (a sequence, the `orders` table, its
//! indexes), the SELECT each read stands for, and simulated times as `timestamptz` literals.
//!
//! The table is what an application's OLTP table looks like: `id` from a sequence as the
//! primary key, `updated_at` and `event_time` as `timestamptz` (microseconds, so every
//! simulated time is exact), `id` and `updated_at` indexed.

use crate::engine::ReadSpec;
use crate::row::{Column, ColumnType, EPOCH_US, MIRROR_ROW, SOURCE_ROW};

/// The source table's name inside the run's schema.
pub(super) const TABLE: &str = "orders";

/// The source row's columns as PostgreSQL stores them: all but `xid`, which PostgreSQL keeps
/// itself (the `xmin` system column holds the last writer's transaction id).
pub(super) fn pg_row() -> Vec<Column> {
    SOURCE_ROW
        .iter()
        .copied()
        .filter(|&c| c != Column::Xid)
        .collect()
}

/// [`pg_row`] as a column list.
pub(super) fn column_list() -> String {
    crate::row::column_list(&pg_row())
}

/// PostgreSQL's type for a row column: the times are `timestamptz`, as an application keeps
/// them.
pub(super) fn pg_type(column: Column) -> &'static str {
    match column {
        Column::UpdatedAt | Column::EventTime => "timestamptz",
        _ => match column.column_type() {
            ColumnType::Int64 => "bigint",
            ColumnType::Int32 => "integer",
            ColumnType::Bool => "boolean",
        },
    }
}

/// A simulated time as an exact `timestamptz` literal (UTC, to the microsecond).
pub(super) fn timestamp(us: i64) -> String {
    let instant = chrono::DateTime::from_timestamp_micros(EPOCH_US + us)
        .expect("simulated times lie within chrono's range");
    format!(
        "'{}'::timestamptz",
        instant.format("%Y-%m-%d %H:%M:%S%.6f+00")
    )
}

/// The schema, the sequence and the table. Secondary indexes come after the initial load
/// ([`indexes`]), as a bulk load into a real database is done.
pub(super) fn create_schema(schema: &str) -> String {
    let columns: Vec<String> = pg_row()
        .into_iter()
        .map(|c| match c {
            Column::Id => {
                format!("id bigint PRIMARY KEY DEFAULT nextval('{schema}.{TABLE}_id_seq')")
            }
            c => format!("{} {} NOT NULL", c.name(), pg_type(c)),
        })
        .collect();
    format!(
        "CREATE SCHEMA {schema};
         CREATE SEQUENCE {schema}.{TABLE}_id_seq;
         CREATE TABLE {schema}.{TABLE} ({});
         ALTER SEQUENCE {schema}.{TABLE}_id_seq OWNED BY {schema}.{TABLE}.id;",
        columns.join(", ")
    )
}

/// The indexes a real source has on its cursor columns, and fresh planner statistics.
pub(super) fn indexes(schema: &str) -> String {
    format!(
        "CREATE INDEX ON {schema}.{TABLE} (updated_at);
         CREATE INDEX ON {schema}.{TABLE} (event_time);
         ANALYZE {schema}.{TABLE};"
    )
}

/// The staging table a bulk apply copies its changes into (temporary: never WAL-logged, so
/// never decoded): the change's layer (its rank among its key's changes in the group), op
/// and the source row.
pub(super) fn incoming_table() -> String {
    let columns: Vec<String> = pg_row()
        .into_iter()
        .map(|c| format!("{} {}", c.name(), pg_type(c)))
        .collect();
    format!(
        "CREATE TEMP TABLE IF NOT EXISTS incoming (layer integer, op smallint, {})",
        columns.join(", ")
    )
}

/// The SELECT list of a read: the mirror row's columns, then `gone`.
pub(super) fn read_columns() -> String {
    let columns: Vec<&str> = MIRROR_ROW.iter().map(|c| c.name()).collect();
    format!("{}, is_deleted AS gone", columns.join(", "))
}

/// The SELECT a read of the table stands for (every spec but the change log and files).
pub(super) fn select_for(schema: &str, spec: &ReadSpec) -> Option<String> {
    let from = format!("SELECT {} FROM {schema}.{TABLE}", read_columns());
    Some(match spec {
        ReadSpec::All => from,
        ReadSpec::IdAbove(wm) => format!("{from} WHERE id > {wm}"),
        &ReadSpec::UpdatedAtFrom { from_us, inclusive } => {
            let op = if inclusive { ">=" } else { ">" };
            format!("{from} WHERE updated_at {op} {}", timestamp(from_us))
        }
        ReadSpec::UpdatedAtSkippingSeen {
            from_us,
            seen,
            by_row,
        } => {
            let from_ts = timestamp(*from_us);
            let skip = crate::engine::skipping_seen_sql(&from_ts, seen, *by_row);
            format!("{from} WHERE updated_at >= {from_ts}{skip}")
        }
        &ReadSpec::EventTimeWindow { from_us, to_us } => format!(
            "{from} WHERE event_time >= {} AND event_time < {}",
            timestamp(from_us),
            timestamp(to_us)
        ),
        ReadSpec::LogAfter(_) | ReadSpec::Files(_) | ReadSpec::XidRange { .. } => return None,
    })
}

/// The SELECT of an `xmin` read in PostgreSQL's own transaction ids: rows whose `xmin` (the
/// last writer's xid, 32 bits) lies in `[from, to)`. Exact while the cluster's xids stay
/// below 2³², as a throwaway cluster's do.
pub(super) fn select_xid_range(schema: &str, from: i64, to: i64) -> String {
    format!(
        "SELECT {} FROM {schema}.{TABLE} WHERE xmin::text::bigint >= {from} AND xmin::text::bigint < {to}",
        read_columns()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_literal_keeps_every_microsecond_and_negative_times() {
        assert_eq!(timestamp(0), "'2026-01-01 00:00:00.000000+00'::timestamptz");
        assert_eq!(
            timestamp(1_500_001),
            "'2026-01-01 00:00:01.500001+00'::timestamptz"
        );
        assert_eq!(
            timestamp(-1),
            "'2025-12-31 23:59:59.999999+00'::timestamptz"
        );
    }

    #[test]
    fn the_change_log_and_files_are_not_read_with_a_select() {
        assert!(select_for("s", &ReadSpec::LogAfter(3)).is_none());
        assert!(select_for("s", &ReadSpec::Files(vec![])).is_none());
        assert_eq!(
            select_for("s", &ReadSpec::IdAbove(7)).unwrap(),
            "SELECT id, lsn, updated_at, writer, value, event_time, is_deleted AS gone FROM s.orders WHERE id > 7"
        );
    }
}
