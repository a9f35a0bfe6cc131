//! The DuckDB engine: source, change log and every target in one in-process database, so a
//! full reprocess is one `CREATE TABLE … AS SELECT` and incremental writes are set-based SQL.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use duckdb::arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, Int64Array, StringArray};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
use duckdb::Connection;
use polars::prelude::{LazyFrame, PlRefPath, ScanArgsParquet};

use super::profiling::{cpu_time_s, source_scan, ColumnWidths, SourceScan};
use super::source_batch::change_log_batch;
use super::{
    ChunkStats, Engine, ReadRequest, ReadSpec, ReadStats, TargetChanges, TargetContents, TargetId,
    TargetTotals, TargetVersions, WriteStats, DAY_US,
};
use crate::error::{DuckDbContext, Error, PolarsContext, Result};
use crate::scenario::{TargetModel, WriteMode};
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

#[derive(Debug, Clone)]
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
    /// Where target databases are files (attached one per target) so a crash can close and
    /// reopen them; `None`: targets are schemas of the in-memory database.
    target_dir: Option<PathBuf>,
    /// The target whose transaction is open (opened by `begin`).
    open_transaction: Option<TargetId>,
    /// What each target's staged batch currently is in the temp catalog (`"VIEW"` or
    /// `"TABLE"`), so a read of the other kind replaces it and a crash drops it.
    staged: BTreeMap<TargetId, &'static str>,
    /// What each target holds.
    models: BTreeMap<TargetId, TargetModel>,
    /// Where `file_listing` reads landed files from.
    landing_dir: Option<PathBuf>,
}

impl DuckDbEngine {
    /// Like [`DuckDbEngine::open_in_memory`], but every target is its own database file in
    /// `dir`, attached to the connection, so a crash can close and reopen it as a restarted
    /// process would.
    pub fn open_with_target_files(dir: &Path) -> Result<Self> {
        let mut engine = Self::open_in_memory()?;
        engine.target_dir = Some(dir.to_path_buf());
        Ok(engine)
    }

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
            target_dir: None,
            open_transaction: None,
            staged: BTreeMap::new(),
            models: BTreeMap::new(),
            landing_dir: None,
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
        Ok((changed, self.last_statement_profile()))
    }

    /// Runs a MERGE ending in `RETURNING merge_action` and counts the rows it changed by
    /// action, with what it scanned of the source.
    fn merged(
        &mut self,
        sql: &str,
        what: impl FnOnce() -> String,
    ) -> Result<(TargetChanges, SourceScan)> {
        let started = Instant::now();
        let result = (|| -> duckdb::Result<TargetChanges> {
            let mut stmt = self.conn.prepare(sql)?;
            let mut changes = TargetChanges::default();
            for batch in stmt.query_arrow([])? {
                let actions = batch.column(0);
                let Some(actions) = actions.as_any().downcast_ref::<StringArray>() else {
                    return Err(duckdb::Error::InvalidColumnType(
                        0,
                        "merge_action".into(),
                        duckdb::types::Type::Text,
                    ));
                };
                for action in actions.iter() {
                    match action {
                        Some("INSERT") => changes.inserted += 1,
                        Some("UPDATE") => changes.updated += 1,
                        Some("DELETE") => changes.deleted += 1,
                        other => {
                            return Err(duckdb::Error::InvalidParameterName(format!(
                                "unexpected merge_action {other:?}"
                            )))
                        }
                    }
                }
            }
            Ok(changes)
        })()
        .context(what);
        self.sql_time += started.elapsed();
        let changes = result?;
        Ok((changes, self.last_statement_profile()))
    }

    /// What the last statement scanned of the source, and its CPU time added to the engine's.
    fn last_statement_profile(&mut self) -> SourceScan {
        let Some(info) = self.conn.get_profiling_info() else {
            return SourceScan::default();
        };
        self.cpu_time += Duration::from_secs_f64(cpu_time_s(&info).max(0.0));
        source_scan(&info, &self.widths)
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

    /// Attaches a target's database file under its schema name.
    fn attach(&mut self, target: TargetId) -> Result<()> {
        let dir = self
            .target_dir
            .as_ref()
            .expect("only called for file-backed targets");
        let file = dir.join(format!("{}.duckdb", schema(target)));
        let quoted = file.to_string_lossy().replace('\'', "''");
        let s = schema(target);
        // Checkpointing after every commit (DuckDB's default once the WAL passes 16 MB) cost
        // more than the writes themselves; committed data is durable in the WAL, which a
        // reopen replays, exactly as a restarted process would.
        self.batch(
            &format!("SET checkpoint_threshold = '4GB'; ATTACH '{quoted}' AS {s}"),
            || format!("opening the database of target {s}"),
        )
    }

    /// Writes `relation` (the batch, or one chunk of it) into the target, read with `spec`.
    /// `first_chunk` says whether an overwrite replaces the target or adds to what earlier
    /// chunks of the same write put there.
    fn write_relation(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        relation: &str,
        spec: &ReadSpec,
        first_chunk: bool,
    ) -> Result<(TargetChanges, SourceScan)> {
        // One version per key: the latest. Source reads already are; a log batch is not.
        let latest = if spec.may_repeat_keys() {
            format!("(SELECT * FROM {relation} QUALIFY row_number() OVER (PARTITION BY id ORDER BY lsn DESC) = 1)")
        } else {
            relation.to_string()
        };
        if self.models.get(&target) == Some(&TargetModel::DailyTotals) {
            return self.write_totals(target, mode, relation, &latest, first_chunk);
        }
        let s = schema(target);
        let what = || format!("writing {relation} into {s}.mirror ({})", mode.name());
        let insert_live =
            format!("INSERT INTO {s}.mirror SELECT {TARGET_COLUMNS} FROM {latest} WHERE NOT gone");
        Ok(match mode {
            // Replacing the table is one bulk insert; the rows it drops are not deletes.
            WriteMode::Overwrite if first_chunk => inserted_only(self.profiled(
                &format!("CREATE OR REPLACE TABLE {s}.mirror AS SELECT {TARGET_COLUMNS} FROM {latest} WHERE NOT gone"),
                what,
            )?),
            WriteMode::Overwrite => inserted_only(self.profiled(&insert_live, what)?),
            WriteMode::Upsert => self.merged(
                &format!(
                    "MERGE INTO {s}.mirror AS t USING {latest} AS b ON t.id = b.id
                     WHEN MATCHED AND b.gone THEN DELETE
                     WHEN MATCHED THEN UPDATE SET lsn = b.lsn, updated_at = b.updated_at, writer = b.writer,
                                                  value = b.value, event_time = b.event_time
                     WHEN NOT MATCHED AND NOT b.gone THEN
                         INSERT (id, lsn, updated_at, writer, value, event_time)
                         VALUES (b.id, b.lsn, b.updated_at, b.writer, b.value, b.event_time)
                     RETURNING merge_action"
                ),
                what,
            )?,
            WriteMode::DeleteInsert => {
                // Bounding the delete by the batch's id range lets its scan of the target skip
                // row groups by their zone maps. A batch of new ids (watermark_id) then touches
                // the target's tail only: without the bound, its delete scanned every id of a
                // 20M-row target each run, tripling the per-run time from 1M rows.
                let [low, high] = self.query_ints::<2>(
                    &format!("SELECT min(id), max(id) FROM {relation}"),
                    || format!("reading the id range of {relation}"),
                )?;
                let delete = match (low, high) {
                    (Some(low), Some(high)) => format!(
                        "DELETE FROM {s}.mirror WHERE id BETWEEN {low} AND {high} AND id IN (SELECT id FROM {relation})"
                    ),
                    // An empty batch deletes nothing.
                    _ => String::new(),
                };
                self.delete_then_insert(&delete, &insert_live, what)?
            }
            WriteMode::PartitionOverwrite => {
                let ReadSpec::EventTimeWindow { from_us, to_us } = *spec else {
                    return Err(Error::Invariant(format!(
                        "partition_overwrite of {s}.mirror needs an event-time window, not {spec:?}"
                    )));
                };
                // The window is the partition: a key it no longer holds (deleted) goes too.
                // Later chunks only add to what chunk 1 replaced.
                let clear = if first_chunk {
                    format!("DELETE FROM {s}.mirror WHERE event_time >= {from_us} AND event_time < {to_us}")
                } else {
                    String::new()
                };
                self.delete_then_insert(&clear, &insert_live, what)?
            }
            WriteMode::Append => inserted_only(self.profiled(
                &format!("INSERT INTO {s}.mirror SELECT {TARGET_COLUMNS} FROM {relation} WHERE NOT gone"),
                what,
            )?),
        })
    }

    /// Runs a delete (skipped when empty) and an insert as one unit of work: in the caller's
    /// transaction if one is open, else in their own.
    fn delete_then_insert(
        &mut self,
        delete: &str,
        insert: &str,
        what: impl Fn() -> String + Copy,
    ) -> Result<(TargetChanges, SourceScan)> {
        let own_transaction = self.open_transaction.is_none();
        if own_transaction {
            self.batch("BEGIN", what)?;
        }
        let result = (|| {
            let (deleted, scan_deletes) = if delete.is_empty() {
                (0, SourceScan::default())
            } else {
                self.profiled(delete, what)?
            };
            let (inserted, scan_inserts) = self.profiled(insert, what)?;
            let changes = TargetChanges {
                inserted,
                updated: 0,
                deleted,
            };
            Ok((changes, scan_deletes + scan_inserts))
        })();
        match result {
            Ok(done) => {
                if own_transaction {
                    self.batch("COMMIT", what)?;
                }
                Ok(done)
            }
            Err(e) => {
                if own_transaction {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(e)
            }
        }
    }

    /// Writes `relation` (`latest`: the same rows, one version per key) into a `daily_totals`
    /// target. Every incremental write recomputes the days the batch touches from the source
    /// (a batch holds changed rows, not a day's rows), except `append`, which adds the batch's
    /// own partial totals: the naive pipeline.
    fn write_totals(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        relation: &str,
        latest: &str,
        first_chunk: bool,
    ) -> Result<(TargetChanges, SourceScan)> {
        let s = schema(target);
        let what = || format!("writing {relation} into {s}.totals ({})", mode.name());
        let day = day_of("event_time");
        let totals_of = |rows: &str, filter: &str| {
            format!(
                "SELECT {day} AS day, sum(value)::BIGINT AS total, count(*) AS rows FROM {rows} WHERE {filter} GROUP BY ALL"
            )
        };
        // Each day merged in from `days`, with `set` saying how a matched day changes.
        let merge = |days: &str, set: &str| {
            format!(
                "MERGE INTO {s}.totals AS t USING ({days}) AS b ON t.day = b.day
                 WHEN MATCHED THEN UPDATE SET {set}
                 WHEN NOT MATCHED THEN INSERT (day, total, rows) VALUES (b.day, b.total, b.rows)
                 RETURNING merge_action"
            )
        };
        let partial = totals_of(latest, "NOT gone");
        // A row's event_time never changes, so the days a batch touches are the days of its
        // rows, deleted ones included (their day loses them).
        let affected = format!("SELECT DISTINCT {day} FROM {relation}");
        let recomputed = totals_of(
            "source",
            &format!("NOT is_deleted AND {day} IN ({affected})"),
        );
        Ok(match mode {
            WriteMode::Overwrite if first_chunk => inserted_only(self.profiled(
                &format!("CREATE OR REPLACE TABLE {s}.totals AS {partial}"),
                what,
            )?),
            // A full read holds each live key once, so chunk totals add up to day totals.
            WriteMode::Overwrite => self.merged(
                &merge(
                    &partial,
                    "total = t.total + b.total, rows = t.rows + b.rows",
                ),
                what,
            )?,
            WriteMode::PartitionOverwrite => self.delete_then_insert(
                &format!("DELETE FROM {s}.totals WHERE day IN ({affected})"),
                &format!("INSERT INTO {s}.totals {recomputed}"),
                what,
            )?,
            // A day that lost its last row recomputes to nothing, and MERGE leaves it standing.
            WriteMode::Upsert => {
                self.merged(&merge(&recomputed, "total = b.total, rows = b.rows"), what)?
            }
            WriteMode::Append => {
                inserted_only(self.profiled(&format!("INSERT INTO {s}.totals {partial}"), what)?)
            }
            WriteMode::DeleteInsert => {
                return Err(Error::Invariant(format!(
                    "delete_insert on {s}.totals (rejected by scenario validation)"
                )))
            }
        })
    }

    /// Reads landed files with a lazy polars scan of exactly `names` and stages their rows as
    /// the target's batch. Scan counters are the files' rows and bytes.
    fn read_files(&mut self, target: TargetId, names: &[String]) -> Result<SourceScan> {
        let dir = self
            .landing_dir
            .clone()
            .ok_or_else(|| Error::Invariant("a file read without a landing directory".into()))?;
        let name = batch_name(target);
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
                     SELECT {TARGET_COLUMNS}, is_deleted AS gone FROM arrow(?)"
                ),
                [&registration],
            )
            .context(|| format!("staging {} landed files as {name}", names.len()));
        self.sql_time += started.elapsed();
        staged?;
        Ok(SourceScan { rows, bytes })
    }

    /// Every row of `table`'s non-null BIGINT `columns`, column by column, through Arrow.
    fn int_columns<const N: usize>(&mut self, table: &str, columns: &str) -> Result<[Vec<i64>; N]> {
        let started = Instant::now();
        let result = (|| -> duckdb::Result<[Vec<i64>; N]> {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT {columns} FROM {table}"))?;
            let mut out: [Vec<i64>; N] = std::array::from_fn(|_| Vec::new());
            for batch in stmt.query_arrow([])? {
                for (i, column) in out.iter_mut().enumerate() {
                    match batch.column(i).as_any().downcast_ref::<Int64Array>() {
                        Some(values) if values.null_count() == 0 => {
                            column.extend_from_slice(values.values())
                        }
                        _ => {
                            return Err(duckdb::Error::InvalidColumnType(
                                i,
                                columns.into(),
                                duckdb::types::Type::BigInt,
                            ))
                        }
                    }
                }
            }
            Ok(out)
        })()
        .context(|| format!("reading the contents of {table}"));
        self.sql_time += started.elapsed();
        result
    }

    /// Counts and maxima of a staged batch; the batch becomes the target's pending write.
    fn summarise(
        &mut self,
        target: TargetId,
        spec: ReadSpec,
        scan: SourceScan,
    ) -> Result<ReadStats> {
        let name = batch_name(target);
        let [rows, max_id, max_updated_at, max_lsn] = self.query_ints::<4>(
            &format!("SELECT count(*), max(id), max(updated_at), max(lsn) FROM {name}"),
            || format!("summarising {name}"),
        )?;
        self.pending.insert(target, Pending::Materialized { spec });
        Ok(ReadStats {
            rows_read: rows.unwrap_or(0) as u64,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            max_id,
            max_updated_at_us: max_updated_at,
            max_lsn,
        })
    }

    /// Makes room for a staged batch of `kind`: an object of the other kind under the same
    /// name cannot be replaced in place.
    fn restage(&mut self, target: TargetId, kind: &'static str) -> Result<()> {
        let previous = self.staged.insert(target, kind);
        match previous {
            Some(other) if other != kind => {
                let name = batch_name(target);
                self.batch(&format!("DROP {other} temp.{name}"), || {
                    format!("replacing the staged {name}")
                })
            }
            _ => Ok(()),
        }
    }

    fn pending(&self, target: TargetId) -> Result<Pending> {
        self.pending
            .get(&target)
            .cloned()
            .ok_or_else(|| Error::Invariant(format!("write to target {} without a read", target.0)))
    }
}

/// The counts of a statement that only inserts.
fn inserted_only((rows, scan): (u64, SourceScan)) -> (TargetChanges, SourceScan) {
    let changes = TargetChanges {
        inserted: rows,
        ..TargetChanges::default()
    };
    (changes, scan)
}

fn schema(target: TargetId) -> String {
    format!("t{}", target.0)
}

fn batch_name(target: TargetId) -> String {
    format!("batch_t{}", target.0)
}

fn chunks_name(target: TargetId) -> String {
    format!("chunks_t{}", target.0)
}

/// The SELECT a read spec stands for, with a `gone` column: the key must not be in the target.
fn select_for(spec: &ReadSpec) -> String {
    let source_cols = format!("{TARGET_COLUMNS}, is_deleted AS gone");
    match spec {
        ReadSpec::All => format!("SELECT {source_cols} FROM source"),
        &ReadSpec::IdAbove(wm) => format!("SELECT {source_cols} FROM source WHERE id > {wm}"),
        &ReadSpec::UpdatedAtFrom { from_us, inclusive } => {
            let op = if inclusive { ">=" } else { ">" };
            format!("SELECT {source_cols} FROM source WHERE updated_at {op} {from_us}")
        }
        &ReadSpec::LogAfter(offset) => format!(
            "SELECT {TARGET_COLUMNS}, (op = {OP_DELETE} OR is_deleted) AS gone FROM change_log WHERE lsn > {offset}"
        ),
        &ReadSpec::EventTimeWindow { from_us, to_us } => format!(
            "SELECT {source_cols} FROM source WHERE event_time >= {from_us} AND event_time < {to_us}"
        ),
        ReadSpec::Files(_) => unreachable!("file reads are staged from polars, not from SQL"),
    }
}

/// The SQL for the `daily_totals` day of a microsecond column (floor, so negative times too).
fn day_of(column: &str) -> String {
    format!("CAST(floor({column} / {DAY_US}.0) AS BIGINT)")
}

/// The rows of landed files as one Arrow batch: a lazy polars scan of exactly these files,
/// handed to DuckDB column by column.
fn landed_rows(dir: &Path, names: &[String]) -> Result<RecordBatch> {
    let columns: [(&str, DataType); 7] = [
        ("id", DataType::Int64),
        ("lsn", DataType::Int64),
        ("updated_at", DataType::Int64),
        ("writer", DataType::Int32),
        ("value", DataType::Int64),
        ("event_time", DataType::Int64),
        ("is_deleted", DataType::Boolean),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), false))
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
    let ints = |name: &str| -> Result<ArrayRef> {
        let values: Vec<i64> = frame
            .column(name)
            .and_then(|c| c.i64().map(|ca| ca.into_no_null_iter().collect()))
            .context(what)?;
        Ok(Arc::new(Int64Array::from(values)))
    };
    let writer: Vec<i32> = frame
        .column("writer")
        .and_then(|c| c.i32().map(|ca| ca.into_no_null_iter().collect()))
        .context(what)?;
    let deleted: Vec<bool> = frame
        .column("is_deleted")
        .and_then(|c| {
            c.bool()
                .map(|ca| (0..ca.len()).map(|i| ca.get(i).unwrap_or(false)).collect())
        })
        .context(what)?;
    let arrays: Vec<ArrayRef> = vec![
        ints("id")?,
        ints("lsn")?,
        ints("updated_at")?,
        Arc::new(Int32Array::from(writer)),
        ints("value")?,
        ints("event_time")?,
        Arc::new(BooleanArray::from(deleted)),
    ];
    RecordBatch::try_new(schema, arrays)
        .map_err(|e| Error::Invariant(format!("landed files do not match their schema: {e}")))
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

    fn create_target(&mut self, target: TargetId, model: TargetModel) -> Result<()> {
        self.models.insert(target, model);
        let s = schema(target);
        if self.target_dir.is_some() {
            self.attach(target)?;
        } else {
            self.batch(&format!("CREATE SCHEMA {s}"), || {
                format!("creating target {s}")
            })?;
        }
        let table = match model {
            TargetModel::Mirror => format!(
                "CREATE TABLE {s}.mirror (id BIGINT, lsn BIGINT, updated_at BIGINT, writer INTEGER,
                                          value BIGINT, event_time BIGINT);"
            ),
            TargetModel::DailyTotals => {
                format!("CREATE TABLE {s}.totals (day BIGINT, total BIGINT, rows BIGINT);")
            }
        };
        self.batch(
            &format!("{table} CREATE TABLE {s}.incrlab_state (state VARCHAR);"),
            || format!("creating target {s}"),
        )
    }

    fn set_landing_dir(&mut self, dir: &Path) {
        self.landing_dir = Some(dir.to_path_buf());
    }

    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats> {
        let name = batch_name(target);
        if let ReadSpec::Files(names) = &request.spec {
            self.restage(target, "TABLE")?;
            let scan = self.read_files(target, names)?;
            return self.summarise(target, request.spec, scan);
        }
        let select = select_for(&request.spec);
        if !request.want_maxima {
            self.restage(target, "VIEW")?;
            self.batch(
                &format!("CREATE OR REPLACE TEMP VIEW {name} AS {select}"),
                || format!("staging the read of {name}"),
            )?;
            self.pending
                .insert(target, Pending::Lazy { spec: request.spec });
            return Ok(ReadStats::default());
        }
        self.restage(target, "TABLE")?;
        let (_, scan) = self.profiled(
            &format!("CREATE OR REPLACE TEMP TABLE {name} AS {select}"),
            || format!("reading {:?} into {name}", request.spec),
        )?;
        self.summarise(target, request.spec, scan)
    }

    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats> {
        let pending = self.pending(target)?;
        let spec = match &pending {
            Pending::Materialized { spec } | Pending::Lazy { spec } => spec.clone(),
        };
        let batch = batch_name(target);
        let (changes, scan) = self.write_relation(target, mode, &batch, &spec, true)?;
        self.pending.remove(&target);
        // A fused (lazy) read happened inside this write: its rows and scans are the read's.
        let (rows_read, scan) = match pending {
            Pending::Lazy { .. } => (changes.total(), scan),
            Pending::Materialized { .. } => (0, SourceScan::default()),
        };
        Ok(WriteStats {
            changes,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            rows_read,
        })
    }

    fn stage_chunks(&mut self, target: TargetId, chunks: u32) -> Result<Vec<ChunkStats>> {
        let Pending::Materialized { .. } = self.pending(target)? else {
            return Err(Error::Invariant(format!(
                "target {} staged a fused read; a chunked write needs the batch read first",
                target.0
            )));
        };
        let batch = batch_name(target);
        let chunked = chunks_name(target);
        self.batch(
            &format!(
                "CREATE OR REPLACE TEMP TABLE {chunked} AS
                 SELECT *, ntile({chunks}) OVER (ORDER BY lsn, id) AS chunk FROM {batch}"
            ),
            || format!("splitting {batch} into {chunks} chunks"),
        )?;
        let what = || format!("summarising the chunks of {batch}");
        let started = Instant::now();
        let result = (|| -> duckdb::Result<Vec<ChunkStats>> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT chunk, count(*), max(id), max(updated_at), max(lsn) FROM {chunked}
                 GROUP BY chunk ORDER BY chunk"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ChunkStats {
                        rows: r.get::<_, i64>(1)? as u64,
                        max_id: r.get(2)?,
                        max_updated_at_us: r.get(3)?,
                        max_lsn: r.get(4)?,
                    },
                ))
            })?;
            let mut out = vec![ChunkStats::default(); chunks as usize];
            for row in rows {
                let (chunk, stats) = row?;
                out[chunk as usize - 1] = stats;
            }
            Ok(out)
        })()
        .context(what);
        self.sql_time += started.elapsed();
        result
    }

    fn write_chunk(&mut self, target: TargetId, mode: WriteMode, chunk: u32) -> Result<WriteStats> {
        let Pending::Materialized { spec } = self.pending(target)? else {
            return Err(Error::Invariant(format!(
                "chunk {chunk} of target {} written without staged chunks",
                target.0
            )));
        };
        let relation = format!(
            "(SELECT * FROM {} WHERE chunk = {chunk})",
            chunks_name(target)
        );
        let (changes, scan) = self.write_relation(target, mode, &relation, &spec, chunk == 1)?;
        Ok(WriteStats {
            changes,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            rows_read: 0,
        })
    }

    fn begin(&mut self, target: TargetId) -> Result<()> {
        if let Some(open) = self.open_transaction {
            return Err(Error::Invariant(format!(
                "a transaction on target {} is already open",
                open.0
            )));
        }
        self.batch("BEGIN", || {
            format!("opening a transaction on target {}", target.0)
        })?;
        self.open_transaction = Some(target);
        Ok(())
    }

    fn commit(&mut self, target: TargetId) -> Result<()> {
        if self.open_transaction != Some(target) {
            return Err(Error::Invariant(format!(
                "commit on target {} without its transaction",
                target.0
            )));
        }
        self.open_transaction = None;
        self.batch("COMMIT", || format!("committing target {}", target.0))
    }

    fn save_state(&mut self, target: TargetId, state: &str) -> Result<()> {
        let s = schema(target);
        let what = || format!("saving the strategy state in {s}.incrlab_state");
        let started = Instant::now();
        let result = (|| {
            self.conn
                .execute_batch(&format!("DELETE FROM {s}.incrlab_state"))?;
            self.conn.execute(
                &format!("INSERT INTO {s}.incrlab_state VALUES (?)"),
                [state],
            )
        })()
        .context(what);
        self.sql_time += started.elapsed();
        result.map(|_| ())
    }

    fn load_state(&mut self, target: TargetId) -> Result<Option<String>> {
        let s = schema(target);
        let started = Instant::now();
        let result = (|| {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT state FROM {s}.incrlab_state"))?;
            let mut rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.next().transpose()
        })()
        .context(|| format!("loading the strategy state from {s}.incrlab_state"));
        self.sql_time += started.elapsed();
        result
    }

    fn crash_and_reopen(&mut self, target: TargetId) -> Result<()> {
        if self.target_dir.is_none() {
            return Err(Error::Invariant(
                "a crash needs targets in database files (a scenario with [faults])".into(),
            ));
        }
        // What was never committed dies with the process...
        if self.open_transaction.take().is_some() {
            self.batch("ROLLBACK", || {
                format!("abandoning target {}'s transaction", target.0)
            })?;
        }
        // ...and so does everything the process held in memory.
        let (batch, chunked, s) = (batch_name(target), chunks_name(target), schema(target));
        self.pending.remove(&target);
        let drop_staged = self
            .staged
            .remove(&target)
            .map_or(String::new(), |kind| format!("DROP {kind} temp.{batch};"));
        self.batch(
            &format!("{drop_staged} DROP TABLE IF EXISTS temp.{chunked}; DETACH {s};"),
            || format!("closing target {s}"),
        )?;
        self.attach(target)
    }

    fn target_contents(&mut self, target: TargetId) -> Result<TargetContents> {
        let s = schema(target);
        Ok(match self.models.get(&target) {
            Some(TargetModel::DailyTotals) => {
                let [day, total, rows] =
                    self.int_columns(&format!("{s}.totals"), "day, total, rows")?;
                TargetContents::Totals(TargetTotals { day, total, rows })
            }
            _ => {
                let [id, lsn] = self.int_columns(&format!("{s}.mirror"), "id, lsn")?;
                TargetContents::Mirror(TargetVersions { id, lsn })
            }
        })
    }

    fn sql_time(&self) -> Duration {
        self.sql_time
    }

    fn cpu_time(&self) -> Duration {
        self.cpu_time
    }
}
