//! The DuckDB engine: source, change log and every target in one in-process database, so a
//! full reprocess is one `CREATE TABLE … AS SELECT` and incremental writes are set-based SQL.
//!
//! Files: this one holds the connection, its timed statement helpers and the trait
//! implementations; `sql.rs` the SQL text every statement is built from (from the one row
//! schema in `crate::row`); `write.rs` the write modes; `files.rs` reads of landed files;
//! `profiling.rs` the profiler's counters; `source_batch.rs` the history as Arrow batches;
//! `error.rs` DuckDB's errors as the engine-neutral error; `spill.rs` DuckDB's memory limit and
//! the directory it spills to.

#[cfg(test)]
pub(crate) mod broken;
mod dedup;
mod error;
mod files;
mod load;
pub(super) mod outside_target;
mod profiling;
pub(super) mod released;
mod source_batch;
mod spill;
mod sql;
mod write;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::arrow::array::{Array, Int32Array, Int64Array, StringArray, UInt64Array};
use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
use duckdb::Connection;

use error::DuckDbContext;
use profiling::{cpu_time_s, source_scan, ColumnWidths, SourceScan};
pub(crate) use source_batch::arrow_type;
pub(crate) use spill::memory_limit_bytes;
use sql::{batch_name, chunks_name, schema, select_for, OP_DELETE};

use super::{
    ChunkStats, Engine, KeyHashes, MirrorPrint, OpenTransaction, ReadRequest, ReadSpec, ReadStats,
    Source, TargetChanges, TargetContents, TargetId, TargetRows, TargetTotals, Targets, WriteStats,
};
use crate::error::{Error, Result};
use crate::row::{column_list, Column, MIRROR_ROW};
use crate::scenario::{TargetModel, WriteMode};
use crate::sim::{History, Op};

/// Rows of a target handed to the verifier at a time: a 100M-row target read whole would hold
/// 5 GB of arrays beside the history.
const SCAN_BATCH_ROWS: usize = 1 << 18;

#[derive(Debug, Clone)]
enum Pending {
    /// The batch is a temporary table (the read already ran and was profiled) of `rows` rows.
    Materialized { spec: ReadSpec, rows: u64 },
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
    open_transaction: OpenTransaction,
    /// What each target's staged batch currently is in the temp catalog (`"VIEW"` or
    /// `"TABLE"`), so a read of the other kind replaces it and a crash drops it.
    staged: BTreeMap<TargetId, &'static str>,
    /// What each target holds.
    models: BTreeMap<TargetId, TargetModel>,
    /// Where `file_listing` reads landed files from.
    landing_dir: Option<PathBuf>,
    /// The most rows of a batch that may repeat keys deduplicated in one statement; a larger
    /// batch is written in passes by id range (`dedup`). Set from DuckDB's memory limit.
    dedup_rows_per_pass: u64,
    /// Tests only: counts the writes made in more than one pass.
    #[cfg(test)]
    multi_pass_writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Tests only: counts the targets read back row by row (`scan_target`).
    #[cfg(test)]
    target_scans: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Tests only: counts the prints taken (`mirror_print`).
    #[cfg(test)]
    target_prints: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Where DuckDB writes blocks past its memory limit. Declared last: fields drop in order,
    /// so the connection is closed before the directory is removed.
    spill: spill::SpillDir,
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

    /// Lets this database's statements run on at most `threads` threads.
    pub fn limit_threads(&mut self, threads: usize) -> Result<()> {
        self.batch(&format!("SET threads = {threads}"), || {
            format!("limiting DuckDB to {threads} threads")
        })
    }

    /// A fresh in-memory database holding an empty source and change log.
    pub fn open_in_memory() -> Result<Self> {
        let conn =
            Connection::open_in_memory().context(|| "opening an in-memory database".into())?;
        conn.register_table_function::<ArrowVTab>("arrow")
            .context(|| "registering the Arrow table function".into())?;
        let spill = spill::SpillDir::create()?;
        let mut engine = DuckDbEngine {
            conn,
            sql_time: Duration::ZERO,
            cpu_time: Duration::ZERO,
            widths: ColumnWidths::default(),
            pending: BTreeMap::new(),
            target_dir: None,
            open_transaction: OpenTransaction::default(),
            staged: BTreeMap::new(),
            models: BTreeMap::new(),
            landing_dir: None,
            dedup_rows_per_pass: spill.limit_bytes() / dedup::DEDUP_BYTES_PER_KEY,
            #[cfg(test)]
            multi_pass_writes: Default::default(),
            #[cfg(test)]
            target_scans: Default::default(),
            #[cfg(test)]
            target_prints: Default::default(),
            spill,
        };
        engine.batch(&engine.spill.settings_sql(), || {
            "setting DuckDB's memory limit and spill directory".into()
        })?;
        engine.batch(&sql::source_tables(), || {
            "creating the source tables".into()
        })?;
        engine.widths = engine.column_widths()?;
        // 'no_output' keeps DuckDB from printing a profile after every statement; the counters
        // are read in-process after each statement that scans the source.
        engine.batch(
            "PRAGMA enable_profiling = 'no_output'; PRAGMA profiling_mode = 'detailed';",
            || "enabling the profiler".into(),
        )?;
        Ok(engine)
    }

    /// The same engine, deduplicating batches of more than `rows` rows in passes, counting
    /// the writes made in several passes into `multi_pass_writes`: for tests of the passes on
    /// batches small enough to check.
    #[cfg(test)]
    pub(crate) fn with_dedup_passes_of(
        mut self,
        rows: u64,
        multi_pass_writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        self.dedup_rows_per_pass = rows;
        self.multi_pass_writes = multi_pass_writes;
        self
    }

    /// The same engine, counting every target it reads back row by row into `scans`.
    #[cfg(test)]
    pub(crate) fn counting_target_scans(
        mut self,
        scans: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        self.target_scans = scans;
        self
    }

    /// The same engine, counting every print it takes of a mirror target into `prints`.
    #[cfg(test)]
    pub(crate) fn counting_target_prints(
        mut self,
        prints: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        self.target_prints = prints;
        self
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

    /// Every row of `table`'s non-null integer `columns`, column by column, streamed through
    /// Arrow and widened to 64 bits.
    fn int_columns<const N: usize>(&mut self, table: &str, columns: &str) -> Result<[Vec<i64>; N]> {
        let mut whole = None;
        self.scan_int_columns(table, columns, usize::MAX, &mut |batch| whole = Some(batch))?;
        Ok(whole.unwrap_or_else(|| std::array::from_fn(|_| Vec::new())))
    }

    /// Tests only: every row of `table` as the values of `columns` (integers), sorted, so
    /// contents compare as sets of rows whatever order DuckDB returns them in.
    #[cfg(test)]
    pub(super) fn sorted_rows<const N: usize>(
        &mut self,
        table: &str,
        columns: &str,
    ) -> Vec<[i64; N]> {
        let values: [Vec<i64>; N] = self.int_columns(table, columns).unwrap();
        let len = values.first().map_or(0, Vec::len);
        let mut rows: Vec<[i64; N]> = (0..len)
            .map(|row| std::array::from_fn(|column| values[column][row]))
            .collect();
        rows.sort_unstable();
        rows
    }

    /// [`int_columns`](Self::int_columns) handed to `visit` in batches of up to `batch_rows`
    /// rows (an empty table visits nothing), so a large table is never held whole.
    fn scan_int_columns<const N: usize>(
        &mut self,
        table: &str,
        columns: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut([Vec<i64>; N]),
    ) -> Result<()> {
        let started = Instant::now();
        let result = (|| -> duckdb::Result<()> {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT {columns} FROM {table}"))?;
            // Streamed, so DuckDB does not first materialize the whole result; sized once from
            // the table's row count, so a million-row target is not copied again as it grows.
            let rows: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            let capacity = (rows.max(0) as usize).min(batch_rows);
            let fresh =
                || -> [Vec<i64>; N] { std::array::from_fn(|_| Vec::with_capacity(capacity)) };
            let mut out = fresh();
            for batch in stmt.stream_arrow([])? {
                let batch = batch?;
                for (i, column) in out.iter_mut().enumerate() {
                    let array = batch.column(i).as_any();
                    // Integer columns of either width, widened here rather than cast in SQL; an
                    // unsigned 64-bit column (a hash) kept bit for bit.
                    let whole = array.downcast_ref::<Int64Array>();
                    let narrow = array.downcast_ref::<Int32Array>();
                    let unsigned = array.downcast_ref::<UInt64Array>();
                    match (whole, narrow, unsigned) {
                        (Some(values), _, _) if values.null_count() == 0 => {
                            column.extend_from_slice(values.values())
                        }
                        (_, Some(values), _) if values.null_count() == 0 => {
                            column.extend(values.values().iter().map(|&v| i64::from(v)))
                        }
                        (_, _, Some(values)) if values.null_count() == 0 => {
                            column.extend(values.values().iter().map(|&v| v as i64))
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
                if out[0].len() >= batch_rows {
                    visit(std::mem::replace(&mut out, fresh()));
                }
            }
            if !out[0].is_empty() {
                visit(out);
            }
            Ok(())
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
        let rows = rows.unwrap_or(0) as u64;
        self.pending
            .insert(target, Pending::Materialized { spec, rows });
        Ok(ReadStats {
            rows_read: rows,
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

impl DuckDbEngine {
    /// [`Targets::write`], with the columns an upsert sets on a matched key given (every
    /// non-key column in production).
    fn write_with_upsert_columns(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        upsert_sets: &[Column],
    ) -> Result<WriteStats> {
        let pending = self.pending(target)?;
        let spec = match &pending {
            Pending::Materialized { spec, .. } | Pending::Lazy { spec } => spec.clone(),
        };
        let batch = batch_name(target);
        let (changes, scan) =
            self.write_relation_setting(target, mode, &batch, &spec, true, upsert_sets)?;
        self.pending.remove(&target);
        // A fused (lazy) read happened inside this write: its scan is the read's. A lazy read
        // is a read of the whole source (`want_maxima` off: full reprocessing), which returns
        // every row its scan touched, so its rows read are its rows scanned — the same count
        // `count(*)` gives a staged read of the whole source.
        let (rows_read, scan) = match pending {
            Pending::Lazy {
                spec: ReadSpec::All,
            } => (scan.rows, scan),
            Pending::Lazy { spec } => {
                return Err(Error::Invariant(format!(
                    "a fused read must read the whole source, not {spec:?}"
                )))
            }
            Pending::Materialized { .. } => (0, SourceScan::default()),
        };
        Ok(WriteStats {
            changes,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            rows_read,
        })
    }
}

impl DuckDbEngine {
    /// Stages rows read from another system (a PostgreSQL source) as `target`'s pending batch:
    /// `rows` holds the mirror row's columns and `gone`, in that order and with the mirror
    /// table's types. It lands through the `arrow` table function as one bulk insert;
    /// `scanned` is what the other system's scans counted, reported as the read's.
    pub(crate) fn stage_rows(
        &mut self,
        target: TargetId,
        spec: ReadSpec,
        rows: duckdb::arrow::record_batch::RecordBatch,
        scanned: (u64, u64),
    ) -> Result<ReadStats> {
        let name = batch_name(target);
        self.restage(target, "TABLE")?;
        let started = Instant::now();
        let staged = if rows.num_rows() == 0 {
            // The shape of every staged batch, with no rows (and no scan).
            self.conn.execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE {name} AS {} LIMIT 0",
                select_for(&ReadSpec::All)
            ))
        } else {
            let registration = ArrowBatchRegistration::new(rows);
            self.conn
                .execute(
                    &format!("CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM arrow(?)"),
                    [&registration],
                )
                .map(|_| ())
        };
        self.sql_time += started.elapsed();
        staged.context(|| format!("staging the rows read for {name}"))?;
        let (rows, bytes) = scanned;
        self.summarise(target, spec, SourceScan { rows, bytes })
    }
}

impl Engine for DuckDbEngine {
    fn name(&self) -> &'static str {
        error::ENGINE
    }
}

impl Source for DuckDbEngine {
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let (first_lsn, last_lsn) = (history.lsn(range.start), history.lsn(range.end - 1));
        let only_inserts = history.op.slice(range.clone()).all(|op| op == Op::Insert);
        let started = Instant::now();
        let appended = load::append(&self.conn, history, range.clone(), only_inserts);
        self.sql_time += started.elapsed();
        appended?;
        if only_inserts {
            // Fresh ids only: the source took the same batches (one version per key).
            return Ok(());
        }

        let cols = crate::row::SOURCE_ROW
            .iter()
            .map(|c| format!("c.{}", c.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let in_range = format!("lsn BETWEEN {first_lsn} AND {last_lsn}");
        // Applying in commit order = keeping each key's last version in the range: the row
        // holding its key's highest lsn (a change log holds each lsn once), found by a hash
        // aggregate and a semi-join (a `row_number()` window sorted every key's versions:
        // 776 ms against 494 ms for 1.5M changes). The new versions are appended in commit
        // order, as a heap appends the rows it is written: without the ORDER BY they land in
        // whatever order DuckDB's threads finish, and the zone maps a later read prunes by
        // (so its rows scanned) change from run to run.
        let sql = format!(
            "BEGIN;
             DELETE FROM source WHERE id IN (SELECT id FROM change_log WHERE {in_range});
             INSERT INTO source SELECT {cols} FROM change_log AS c SEMI JOIN
                 (SELECT id, max(lsn) AS lsn FROM change_log WHERE {in_range} GROUP BY id) AS latest
                 ON c.id = latest.id AND c.lsn = latest.lsn
                 WHERE c.{in_range} AND c.op <> {OP_DELETE}
                 ORDER BY c.lsn;
             COMMIT;"
        );
        self.batch(&sql, || {
            format!("applying lsn {first_lsn}..={last_lsn} to the source")
        })
    }

    /// The time of a bare `CREATE TABLE … AS SELECT` of the live source rows: the floor under
    /// full reprocessing's per-run time. The copy is dropped again, untimed.
    fn bare_copy_time(&mut self) -> Result<Duration> {
        let cols = column_list(&MIRROR_ROW);
        let started = Instant::now();
        self.conn
            .execute_batch(&format!(
                "CREATE OR REPLACE TABLE main.bare_copy AS SELECT {cols} FROM source WHERE NOT is_deleted"
            ))
            .context(|| "copying the source with a bare CREATE TABLE AS SELECT".into())?;
        let took = started.elapsed();
        self.conn
            .execute_batch("DROP TABLE main.bare_copy")
            .context(|| "dropping the bare copy".into())?;
        Ok(took)
    }

    /// The two tables an initial load fills (the change log, then the source from it), built by
    /// DuckDB from `range(rows)` with the same columns and types, each column a cheap function
    /// of the row number: what DuckDB itself needs to produce and store those rows.
    fn generated_tables_time(&mut self, rows: u64) -> Result<Option<Duration>> {
        let sql = sql::generated_tables(rows);
        let started = Instant::now();
        self.conn
            .execute_batch(&sql)
            .context(|| format!("building {rows} rows from range()"))?;
        let took = started.elapsed();
        self.conn
            .execute_batch("DROP SCHEMA floor CASCADE")
            .context(|| "dropping the range() tables".into())?;
        Ok(Some(took))
    }
}

impl Targets for DuckDbEngine {
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
            TargetModel::Mirror => sql::mirror_table(&s),
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
        self.write_with_upsert_columns(target, mode, &MIRROR_ROW[1..])
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
        let Pending::Materialized { spec, .. } = self.pending(target)? else {
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
        self.open_transaction.ensure_none()?;
        self.batch("BEGIN", || {
            format!("opening a transaction on target {}", target.0)
        })?;
        self.open_transaction.opened(target);
        Ok(())
    }

    fn commit(&mut self, target: TargetId) -> Result<()> {
        self.open_transaction.close(target)?;
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

    fn batch_rows_at(&mut self, target: TargetId, updated_at_us: i64) -> Result<Vec<[i64; 2]>> {
        let name = batch_name(target);
        let started = Instant::now();
        let result = (|| -> duckdb::Result<Vec<[i64; 2]>> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id, lsn FROM {name} WHERE updated_at = ? ORDER BY id, lsn"
            ))?;
            let rows = stmt.query_map([updated_at_us], |r| Ok([r.get(0)?, r.get(1)?]))?;
            rows.collect()
        })()
        .context(|| format!("listing the rows of {name} at its watermark"));
        self.sql_time += started.elapsed();
        result
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
                // Every column the mirror carries, so the oracle compares whole rows.
                let columns: [Vec<i64>; MIRROR_ROW.len()] =
                    self.int_columns(&format!("{s}.mirror"), &column_list(&MIRROR_ROW))?;
                let mut columns = columns.into_iter();
                let id = columns.next().expect("MIRROR_ROW starts with the key");
                TargetContents::Mirror(TargetRows {
                    id,
                    columns: MIRROR_ROW[1..].iter().copied().zip(columns).collect(),
                })
            }
        })
    }

    fn scan_target(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&TargetRows),
    ) -> Result<Option<TargetTotals>> {
        if let Some(TargetModel::DailyTotals) = self.models.get(&target) {
            return match self.target_contents(target)? {
                TargetContents::Totals(totals) => Ok(Some(totals)),
                TargetContents::Mirror(_) => unreachable!("a daily_totals target holds totals"),
            };
        }
        #[cfg(test)]
        self.target_scans
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let table = format!("{}.mirror", schema(target));
        self.scan_int_columns(
            &table,
            &column_list(&MIRROR_ROW),
            SCAN_BATCH_ROWS,
            &mut |columns: [Vec<i64>; MIRROR_ROW.len()]| {
                let mut columns = columns.into_iter();
                let id = columns.next().expect("MIRROR_ROW starts with the key");
                visit(&TargetRows {
                    id,
                    columns: MIRROR_ROW[1..].iter().copied().zip(columns).collect(),
                });
            },
        )?;
        Ok(None)
    }

    fn scan_key_hashes(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&KeyHashes),
    ) -> Result<()> {
        // The same hash as the print's: DuckDB hashes on all cores, and two columns of eight
        // bytes cross over instead of six.
        #[cfg(test)]
        self.target_scans
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let table = format!("{}.mirror", schema(target));
        let columns = format!("id, hash({})", column_list(&MIRROR_ROW));
        self.scan_int_columns(
            &table,
            &columns,
            SCAN_BATCH_ROWS,
            &mut |[id, hash]: [Vec<i64>; 2]| {
                visit(&KeyHashes {
                    id,
                    hash: hash.into_iter().map(|h| h as u64).collect(),
                })
            },
        )
    }

    fn target_rows_of_keys(&mut self, target: TargetId, ids: &[i64]) -> Result<TargetRows> {
        let Some(&first) = ids.first() else {
            return Ok(TargetRows::default());
        };
        let list = std::iter::once(first)
            .chain(ids[1..].iter().copied())
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let table = format!(
            "(SELECT * FROM {}.mirror WHERE id IN ({list}))",
            schema(target)
        );
        let [id, rest @ ..]: [Vec<i64>; MIRROR_ROW.len()] =
            self.int_columns(&table, &column_list(&MIRROR_ROW))?;
        Ok(TargetRows {
            id,
            columns: MIRROR_ROW[1..].iter().copied().zip(rest).collect(),
        })
    }

    fn mirror_print(&mut self, target: TargetId) -> Result<Option<MirrorPrint>> {
        if let Some(TargetModel::DailyTotals) = self.models.get(&target) {
            return Ok(None);
        }
        #[cfg(test)]
        self.target_prints
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // DuckDB's hash() of the row is incrlab's `row_hash` (a test holds them together), so
        // the print is one parallel aggregate where the rows are: no row crosses over.
        let table = format!("{}.mirror", schema(target));
        let sql = format!(
            "SELECT count(*), COALESCE(sum(hash({})), 0)::HUGEINT FROM {table}",
            column_list(&MIRROR_ROW)
        );
        let started = Instant::now();
        let result = self
            .conn
            .query_row(&sql, [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i128>(1)?))
            })
            .context(|| format!("fingerprinting {table}"));
        self.sql_time += started.elapsed();
        let (rows, hash_sum) = result?;
        Ok(Some(MirrorPrint {
            rows: rows as u64,
            // The sum is exact; the print keeps it modulo 2^64, as a wrapping sum would.
            hash_sum: hash_sum as u64,
        }))
    }

    fn sql_time(&self) -> Duration {
        self.sql_time
    }

    fn cpu_time(&self) -> Duration {
        self.cpu_time
    }
}

#[cfg(test)]
mod tests {
    use super::DuckDbEngine;

    #[test]
    fn a_limited_engine_runs_its_statements_on_that_many_threads() {
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        for threads in [3, 1] {
            engine.limit_threads(threads).unwrap();
            let [set] = engine
                .query_ints::<1>("SELECT current_setting('threads')::BIGINT", String::new)
                .unwrap();
            assert_eq!(set, Some(threads as i64));
        }
    }

    #[test]
    fn a_table_scanned_in_batches_shows_every_row_once() {
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        engine
            .conn
            .execute_batch(
                "CREATE TABLE t AS SELECT i AS a, (i * 2)::INTEGER AS b FROM range(10000) r(i)",
            )
            .unwrap();
        let mut batches = Vec::new();
        engine
            .scan_int_columns("t", "a, b", 1000, &mut |[a, b]: [Vec<i64>; 2]| {
                batches.push((a, b))
            })
            .unwrap();
        // DuckDB hands over vectors of 2,048 rows: a batch closes at the first one past 1,000.
        assert!(batches.len() >= 4, "{} batches", batches.len());
        assert!(batches.iter().all(|(a, _)| a.len() < 1000 + 2048));
        let mut seen: Vec<i64> = batches
            .iter()
            .flat_map(|(a, _)| a.iter().copied())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10000).collect::<Vec<i64>>());
        assert!(batches
            .iter()
            .all(|(a, b)| a.iter().zip(b).all(|(x, y)| *y == 2 * x)));
        let whole: [Vec<i64>; 2] = engine.int_columns("t", "a, b").unwrap();
        assert_eq!(whole[0].len(), 10000);
    }

    #[test]
    fn an_empty_table_is_read_as_empty_columns_and_scanned_as_no_batch() {
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        engine
            .conn
            .execute_batch("CREATE TABLE t (a BIGINT)")
            .unwrap();
        let mut batches = 0;
        engine
            .scan_int_columns("t", "a", 1000, &mut |_: [Vec<i64>; 1]| batches += 1)
            .unwrap();
        assert_eq!(batches, 0);
        let [a]: [Vec<i64>; 1] = engine.int_columns("t", "a").unwrap();
        assert!(a.is_empty());
    }

    /// 5,000 mirror rows with negative values in every column (a 32-bit writer among them):
    /// more rows than one vector, so DuckDB works on several threads.
    const NEGATIVE_ROWS: &str = "INSERT INTO t1.mirror SELECT i - 2500, i * 7 - 9000, \
        -i * 1000003, (i % 7 - 3)::INTEGER, (i * 2654435761) % 1000000007 - 500000000, -i \
        FROM range(5000) r(i)";

    /// An engine whose target 1 is an empty mirror, then filled by `rows_sql` (if any).
    fn with_mirror(rows_sql: &str) -> (DuckDbEngine, crate::engine::TargetId) {
        use crate::engine::{TargetId, Targets};
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        let target = TargetId(1);
        engine
            .create_target(target, crate::scenario::TargetModel::Mirror)
            .unwrap();
        if !rows_sql.is_empty() {
            engine.conn.execute_batch(rows_sql).unwrap();
        }
        (engine, target)
    }

    #[test]
    fn a_mirror_print_summed_in_sql_equals_the_print_of_its_rows_read_back() {
        use crate::engine::{MirrorPrint, Targets};
        let (mut engine, target) = with_mirror("");
        let empty = engine.mirror_print(target).unwrap();
        assert_eq!(empty, Some(MirrorPrint::default()));
        // And a duplicated row.
        engine
            .conn
            .execute_batch(&format!(
                "{NEGATIVE_ROWS}; INSERT INTO t1.mirror SELECT * FROM t1.mirror WHERE id = 17"
            ))
            .unwrap();
        let mut read_back = MirrorPrint::default();
        engine
            .scan_target(target, &mut |rows| read_back.add(rows))
            .unwrap();
        assert_eq!(read_back.rows, 5001);
        assert_eq!(engine.mirror_print(target).unwrap(), Some(read_back));
    }

    #[test]
    fn keys_and_row_hashes_hashed_in_sql_are_those_of_the_rows_read_back() {
        use crate::engine::{KeyHashes, Targets};
        let (mut engine, target) = with_mirror(NEGATIVE_ROWS);
        let mut in_sql: Vec<(i64, u64)> = Vec::new();
        engine
            .scan_key_hashes(target, &mut |b: &KeyHashes| {
                in_sql.extend(b.id.iter().copied().zip(b.hash.iter().copied()))
            })
            .unwrap();
        let mut in_rust: Vec<(i64, u64)> = Vec::new();
        engine
            .scan_target(target, &mut |rows| {
                let b = KeyHashes::of(rows);
                in_rust.extend(b.id.into_iter().zip(b.hash));
            })
            .unwrap();
        in_sql.sort_unstable();
        in_rust.sort_unstable();
        assert_eq!(in_sql.len(), 5000);
        assert_eq!(in_sql, in_rust);
    }

    #[test]
    fn changed_rows_are_appended_to_the_source_in_commit_order() {
        use crate::engine::Source;
        // Enough changed keys in one apply that DuckDB deduplicates them on several threads.
        let text = "name = \"apply_order\"\nseed = 3\n[table]\nrows = 300_000\n\
                    [schedule]\nruns = 1\ninterval = \"1min\"\n\
                    [churn]\ninserts = \"10%\"\nupdates = \"60%\"\ndeletes = \"5%\"\n\
                    [[strategy]]\nkind = \"full\"\n";
        let scenario =
            crate::scenario::Scenario::parse(std::path::Path::new("apply_order.toml"), text)
                .unwrap();
        let history = crate::sim::generate(&scenario, 3);
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        let initial = history.committed_between(i64::MIN, 0);
        let initial_rows = initial.len() as i64;
        engine.apply_changes(&history, initial).unwrap();
        let run = history.run_times_us[0];
        engine
            .apply_changes(&history, history.committed_between(0, run))
            .unwrap();
        let [lsns]: [Vec<i64>; 1] = engine.int_columns("source", "lsn").unwrap();
        let appended: Vec<i64> = lsns.into_iter().filter(|&l| l > initial_rows).collect();
        assert!(appended.len() > 100_000, "{} rows appended", appended.len());
        assert!(
            appended.windows(2).all(|w| w[0] < w[1]),
            "the source's new versions are not in commit order"
        );
    }

    #[test]
    fn the_rows_of_some_keys_are_every_row_the_target_holds_for_them() {
        use crate::engine::{TargetRows, Targets};
        let (mut engine, target) = with_mirror(
            "INSERT INTO t1.mirror SELECT i, i + 1, i * 10, (i % 3)::INTEGER, -i, i * 7 \
             FROM range(1, 5000) r(i); \
             INSERT INTO t1.mirror VALUES (17, 5, 6, 1, 8, 9)",
        );
        let ids = [3, 17, 4999, 9999];
        let mut rows = engine.target_rows_of_keys(target, &ids).unwrap();
        let mut expected = TargetRows::default();
        engine
            .scan_target(target, &mut |batch| {
                expected.extend_from(batch, |id| ids.contains(&id))
            })
            .unwrap();
        let sorted = |t: &mut TargetRows| {
            let mut all: Vec<_> = (0..t.len()).map(|i| t.row(i)).collect();
            all.sort();
            all
        };
        assert_eq!(
            rows.len(),
            4,
            "key 17 twice, 3 and 4999 once, 9999 not at all"
        );
        assert_eq!(sorted(&mut rows), sorted(&mut expected));
        assert!(engine.target_rows_of_keys(target, &[]).unwrap().is_empty());
    }
}
