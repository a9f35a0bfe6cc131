//! The DuckDB engine: source, change log and every target in one in-process database, so a
//! full reprocess is one `CREATE TABLE … AS SELECT` and incremental writes are set-based SQL.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use duckdb::arrow::array::{Array, Int64Array};
use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
use duckdb::Connection;

use super::profiling::{cpu_time_s, source_scan, ColumnWidths, SourceScan};
use super::source_batch::change_log_batch;
use super::{Engine, ReadRequest, ReadSpec, ReadStats, TargetId, TargetVersions, WriteStats};
use crate::error::{DuckDbContext, Error, Result};
use crate::scenario::WriteMode;
use crate::sim::{History, Op};

/// `change_log.op` of a hard delete (the ASCII code of 'D', see `source_batch`).
const OP_DELETE: u8 = Op::Delete as u8;

/// Columns a target (mirror model) keeps: the row as the source has it, minus deletion state.
const TARGET_COLUMNS: &str = "id, lsn, updated_at, writer, value, event_time";

const SCHEMA_SQL: &str = "
CREATE TABLE source (
    id BIGINT NOT NULL, lsn BIGINT NOT NULL, updated_at BIGINT NOT NULL, writer INTEGER NOT NULL,
    value BIGINT NOT NULL, event_time BIGINT NOT NULL, is_deleted BOOLEAN NOT NULL
);
CREATE TABLE change_log (
    lsn BIGINT NOT NULL, op UTINYINT NOT NULL, id BIGINT NOT NULL, updated_at BIGINT NOT NULL,
    writer INTEGER NOT NULL, value BIGINT NOT NULL, event_time BIGINT NOT NULL,
    is_deleted BOOLEAN NOT NULL, commit_us BIGINT NOT NULL
);
";

#[derive(Debug, Clone, Copy)]
enum Pending {
    /// The batch is a temporary table (the read already ran and was profiled).
    Materialized { spec: ReadSpec },
    /// The batch is a view; the write will run the read (and is profiled for it).
    Lazy { spec: ReadSpec },
}

pub struct DuckDbEngine {
    conn: Connection,
    sql_time: Duration,
    /// CPU time of the profiled statements, as DuckDB's profiler measured it.
    cpu_time: Duration,
    widths: ColumnWidths,
    pending: BTreeMap<TargetId, Pending>,
}

impl DuckDbEngine {
    /// A fresh in-memory database holding an empty source and change log.
    pub fn open_in_memory() -> Result<Self> {
        let conn =
            Connection::open_in_memory().context(|| "opening an in-memory database".into())?;
        conn.register_table_function::<ArrowVTab>("arrow")
            .context(|| "registering the Arrow table function".into())?;
        let mut engine = DuckDbEngine {
            conn,
            sql_time: Duration::ZERO,
            cpu_time: Duration::ZERO,
            widths: ColumnWidths::default(),
            pending: BTreeMap::new(),
        };
        engine.batch(SCHEMA_SQL, || "creating the source tables".into())?;
        engine.widths = engine.column_widths()?;
        // 'no_output' keeps DuckDB from printing a profile after every statement; the counters
        // are read in-process after each statement that scans the source.
        engine.batch(
            "PRAGMA enable_profiling = 'no_output'; PRAGMA profiling_mode = 'detailed';",
            || "enabling the profiler".into(),
        )?;
        Ok(engine)
    }

    /// Runs one SQL statement (or several separated by `;`) and times it.
    fn batch(&mut self, sql: &str, what: impl FnOnce() -> String) -> Result<()> {
        let started = Instant::now();
        let result = self.conn.execute_batch(sql).context(what);
        self.sql_time += started.elapsed();
        result
    }

    /// Runs one statement and returns the rows it changed and what it scanned of the source.
    fn profiled(&mut self, sql: &str, what: impl FnOnce() -> String) -> Result<(u64, SourceScan)> {
        let started = Instant::now();
        let result = self.conn.execute(sql, []).context(what);
        self.sql_time += started.elapsed();
        let changed = result? as u64;
        let Some(info) = self.conn.get_profiling_info() else {
            return Ok((changed, SourceScan::default()));
        };
        self.cpu_time += Duration::from_secs_f64(cpu_time_s(&info).max(0.0));
        Ok((changed, source_scan(&info, &self.widths)))
    }

    /// The time of a bare `CREATE TABLE … AS SELECT` of the live source rows: the floor under
    /// full reprocessing's per-run time. The copy is dropped again, untimed.
    pub fn bare_copy_time(&mut self) -> Result<Duration> {
        let started = Instant::now();
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TABLE main.bare_copy AS SELECT {TARGET_COLUMNS} FROM source WHERE NOT is_deleted"
            ))
            .context(|| "copying the source with a bare CREATE TABLE AS SELECT".into())?;
        let took = started.elapsed();
        self.conn
            .execute_batch("DROP TABLE main.bare_copy")
            .context(|| "dropping the bare copy".into())?;
        Ok(took)
    }

    /// The byte width of every column of the source tables, from the catalog (so the widths
    /// follow the schema, never a second copy of it).
    fn column_widths(&mut self) -> Result<ColumnWidths> {
        let what = || "reading the source tables' column types".to_string();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT table_name, column_name, data_type FROM duckdb_columns()
                 WHERE schema_name = 'main' AND table_name IN ('source', 'change_log')
                 ORDER BY table_name, column_index",
            )
            .context(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .context(what)?;
        let mut widths = ColumnWidths::default();
        for row in rows {
            let (table, column, data_type) = row.context(what)?;
            let width = ColumnWidths::type_width(&data_type).ok_or_else(|| {
                Error::Invariant(format!(
                    "source column {table}.{column} has variable-width type {data_type}: bytes scanned would not be exact"
                ))
            })?;
            widths
                .widths
                .entry(table)
                .or_default()
                .insert(column, width);
        }
        Ok(widths)
    }

    /// Runs a query returning one row of nullable BIGINTs.
    fn query_ints<const N: usize>(
        &mut self,
        sql: &str,
        what: impl FnOnce() -> String,
    ) -> Result<[Option<i64>; N]> {
        let started = Instant::now();
        let result = self
            .conn
            .query_row(sql, [], |row| {
                let mut out = [None; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = row.get::<_, Option<i64>>(i)?;
                }
                Ok(out)
            })
            .context(what);
        self.sql_time += started.elapsed();
        result
    }

    fn pending(&self, target: TargetId) -> Result<Pending> {
        self.pending
            .get(&target)
            .copied()
            .ok_or_else(|| Error::Invariant(format!("write to target {} without a read", target.0)))
    }
}

fn schema(target: TargetId) -> String {
    format!("t{}", target.0)
}

fn batch_name(target: TargetId) -> String {
    format!("batch_t{}", target.0)
}

/// The SELECT a read spec stands for, with a `gone` column: the key must not be in the target.
fn select_for(spec: ReadSpec) -> String {
    let source_cols = format!("{TARGET_COLUMNS}, is_deleted AS gone");
    match spec {
        ReadSpec::All => format!("SELECT {source_cols} FROM source"),
        ReadSpec::IdAbove(wm) => format!("SELECT {source_cols} FROM source WHERE id > {wm}"),
        ReadSpec::UpdatedAtFrom { from_us, inclusive } => {
            let op = if inclusive { ">=" } else { ">" };
            format!("SELECT {source_cols} FROM source WHERE updated_at {op} {from_us}")
        }
        ReadSpec::LogAfter(offset) => format!(
            "SELECT {TARGET_COLUMNS}, (op = {OP_DELETE} OR is_deleted) AS gone FROM change_log WHERE lsn > {offset}"
        ),
    }
}

impl Engine for DuckDbEngine {
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let (first_lsn, last_lsn) = (history.lsn[range.start], history.lsn[range.end - 1]);
        let only_inserts = history.op[range.clone()].iter().all(|&op| op == Op::Insert);
        let batch = change_log_batch(history, range);

        // The `arrow` table function feeds the batch through DuckDB's own INSERT pipeline,
        // measurably faster than the appender for wide batches.
        let registration = ArrowBatchRegistration::new(batch);
        let started = Instant::now();
        let appended = self
            .conn
            .execute(
                "INSERT INTO change_log SELECT * FROM arrow(?)",
                [&registration],
            )
            .context(|| format!("appending lsn {first_lsn}..={last_lsn} to the change log"));
        self.sql_time += started.elapsed();
        appended?;

        let in_range = format!("lsn BETWEEN {first_lsn} AND {last_lsn}");
        let sql = if only_inserts {
            // Fresh ids only: nothing to replace, one version per key.
            format!(
                "INSERT INTO source SELECT {TARGET_COLUMNS}, is_deleted FROM change_log WHERE {in_range};"
            )
        } else {
            // Applying in commit order = keeping each key's last version in the range.
            format!(
                "BEGIN;
                 DELETE FROM source WHERE id IN (SELECT id FROM change_log WHERE {in_range});
                 INSERT INTO source SELECT {TARGET_COLUMNS}, is_deleted FROM change_log WHERE {in_range}
                     QUALIFY row_number() OVER (PARTITION BY id ORDER BY lsn DESC) = 1 AND op <> {OP_DELETE};
                 COMMIT;"
            )
        };
        self.batch(&sql, || {
            format!("applying lsn {first_lsn}..={last_lsn} to the source")
        })
    }

    fn create_target(&mut self, target: TargetId) -> Result<()> {
        let s = schema(target);
        self.batch(
            &format!(
                "CREATE SCHEMA {s};
                 CREATE TABLE {s}.mirror (id BIGINT, lsn BIGINT, updated_at BIGINT, writer INTEGER,
                                          value BIGINT, event_time BIGINT);"
            ),
            || format!("creating target {s}"),
        )
    }

    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats> {
        let name = batch_name(target);
        let select = select_for(request.spec);
        if !request.want_maxima {
            self.batch(
                &format!("CREATE OR REPLACE TEMP VIEW {name} AS {select}"),
                || format!("staging the read of {name}"),
            )?;
            self.pending
                .insert(target, Pending::Lazy { spec: request.spec });
            return Ok(ReadStats::default());
        }
        let (_, scan) = self.profiled(
            &format!("CREATE OR REPLACE TEMP TABLE {name} AS {select}"),
            || format!("reading {:?} into {name}", request.spec),
        )?;
        let [rows, max_id, max_updated_at, max_lsn] = self.query_ints::<4>(
            &format!("SELECT count(*), max(id), max(updated_at), max(lsn) FROM {name}"),
            || format!("summarising {name}"),
        )?;
        self.pending
            .insert(target, Pending::Materialized { spec: request.spec });
        Ok(ReadStats {
            rows_read: rows.unwrap_or(0) as u64,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            max_id,
            max_updated_at_us: max_updated_at,
            max_lsn,
        })
    }

    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats> {
        let pending = self.pending(target)?;
        let spec = match pending {
            Pending::Materialized { spec } | Pending::Lazy { spec } => spec,
        };
        let s = schema(target);
        let batch = batch_name(target);
        // One version per key: the latest. Source reads already are; a log batch is not.
        let latest = if spec.may_repeat_keys() {
            format!("(SELECT * FROM {batch} QUALIFY row_number() OVER (PARTITION BY id ORDER BY lsn DESC) = 1)")
        } else {
            batch.clone()
        };
        let what = || format!("writing {batch} into {s}.mirror ({})", mode.name());
        let (rows_written, scan) = match mode {
            WriteMode::Overwrite => self.profiled(
                &format!("CREATE OR REPLACE TABLE {s}.mirror AS SELECT {TARGET_COLUMNS} FROM {latest} WHERE NOT gone"),
                what,
            )?,
            WriteMode::Upsert => self.profiled(
                &format!(
                    "MERGE INTO {s}.mirror AS t USING {latest} AS b ON t.id = b.id
                     WHEN MATCHED AND b.gone THEN DELETE
                     WHEN MATCHED THEN UPDATE SET lsn = b.lsn, updated_at = b.updated_at, writer = b.writer,
                                                  value = b.value, event_time = b.event_time
                     WHEN NOT MATCHED AND NOT b.gone THEN
                         INSERT (id, lsn, updated_at, writer, value, event_time)
                         VALUES (b.id, b.lsn, b.updated_at, b.writer, b.value, b.event_time)"
                ),
                what,
            )?,
            WriteMode::DeleteInsert => {
                self.batch("BEGIN", what)?;
                let result = (|| {
                    let (deleted, scanned_a) = self.profiled(
                        &format!("DELETE FROM {s}.mirror WHERE id IN (SELECT id FROM {batch})"),
                        what,
                    )?;
                    let (inserted, scanned_b) = self.profiled(
                        &format!("INSERT INTO {s}.mirror SELECT {TARGET_COLUMNS} FROM {latest} WHERE NOT gone"),
                        what,
                    )?;
                    Ok((
                        deleted + inserted,
                        SourceScan {
                            rows: scanned_a.rows + scanned_b.rows,
                            bytes: scanned_a.bytes + scanned_b.bytes,
                        },
                    ))
                })();
                match result {
                    Ok(counts) => {
                        self.batch("COMMIT", what)?;
                        counts
                    }
                    Err(e) => {
                        let _ = self.conn.execute_batch("ROLLBACK");
                        return Err(e);
                    }
                }
            }
            WriteMode::Append => self.profiled(
                &format!("INSERT INTO {s}.mirror SELECT {TARGET_COLUMNS} FROM {batch} WHERE NOT gone"),
                what,
            )?,
        };
        self.pending.remove(&target);
        // A fused (lazy) read happened inside this write: its rows and scans are the read's.
        let (rows_read, scan) = match pending {
            Pending::Lazy { .. } => (rows_written, scan),
            Pending::Materialized { .. } => (0, SourceScan::default()),
        };
        Ok(WriteStats {
            rows_written,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            rows_read,
        })
    }

    fn target_versions(&mut self, target: TargetId) -> Result<TargetVersions> {
        let s = schema(target);
        let started = Instant::now();
        let result = (|| {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT id, lsn FROM {s}.mirror"))?;
            let mut out = TargetVersions::default();
            for batch in stmt.query_arrow([])? {
                let ids = batch.column(0).as_any().downcast_ref::<Int64Array>();
                let lsns = batch.column(1).as_any().downcast_ref::<Int64Array>();
                if let (Some(ids), Some(lsns)) = (ids, lsns) {
                    if ids.null_count() == 0 && lsns.null_count() == 0 {
                        out.id.extend_from_slice(ids.values());
                        out.lsn.extend_from_slice(lsns.values());
                        continue;
                    }
                }
                return Err(duckdb::Error::InvalidColumnType(
                    0,
                    "id/lsn".into(),
                    duckdb::types::Type::BigInt,
                ));
            }
            Ok(out)
        })()
        .context(|| format!("reading the contents of {s}.mirror"));
        self.sql_time += started.elapsed();
        result
    }

    fn sql_time(&self) -> Duration {
        self.sql_time
    }

    fn cpu_time(&self) -> Duration {
        self.cpu_time
    }
}
