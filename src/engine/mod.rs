//! Engines execute reads and writes; strategies decide what to read.
//!
//! The contract between the two is small and engine-neutral: a [`ReadSpec`] says which rows a
//! run wants (in terms of the source's columns, not SQL), [`ReadStats`] says what came back,
//! and a [`WriteMode`] says how the batch lands in the target. An engine owns the source (the
//! table, its change log), every strategy's target and each strategy's staged batch.
//!
//! An engine has two sides ([`Source`] and [`Targets`]); [`open`] is the one factory that
//! turns a scenario's `[engine] kind` into one.
//!
//! Invariant: nothing outside `engine/` builds SQL or touches a DuckDB type (a test greps for
//! it); engine errors leave as the engine-neutral [`crate::Error::Engine`].

mod differential;
pub use differential::{contents_difference, Differential};
mod duckdb;
mod polars;
pub mod postgres;
mod print;
pub use print::{hash_of_row, KeyHashes, MirrorPrint};
mod threads;
pub use threads::Threads;

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::row::Column;
use crate::scenario::{EngineKind, EngineSpec, SourceKind, TargetModel, WriteMode};
use crate::sim::History;

/// Which rows a run reads. Bounds are exclusive unless the variant says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadSpec {
    /// Every row of the source table.
    All,
    /// Source rows with `id > above`.
    IdAbove(i64),
    /// Source rows with `updated_at > from_us` (or `>=` when `inclusive`).
    UpdatedAtFrom { from_us: i64, inclusive: bool },
    /// Source rows with `updated_at >= from_us`, except the rows at `from_us` a previous run
    /// already took: those whose key (or, `by_row`, whose key and version) is in `seen`, as
    /// `[id, lsn]`. A cursor that deduplicates its boundary, as dlt's does.
    UpdatedAtSkippingSeen {
        from_us: i64,
        seen: Vec<[i64; 2]>,
        by_row: bool,
    },
    /// Change-log entries with `lsn > after`. A key can appear several times.
    LogAfter(i64),
    /// Source rows with `event_time` in `[from_us, to_us)`: an interval and its lookback.
    EventTimeWindow { from_us: i64, to_us: i64 },
    /// Source rows whose last writer's transaction id lies in `[from, to)`, where `to` is the
    /// oldest transaction in flight at the read (`pg_snapshot_xmin`): every row below it is
    /// committed, every later commit lands at or above it. In the simulator's xids; a real
    /// source maps them onto its own.
    XidRange { from: i64, to: i64 },
    /// Every row of these files of the landing directory (names, in listing order). A key can
    /// appear in several of them.
    Files(Vec<String>),
}

impl ReadSpec {
    /// Whether one batch can hold several versions of a key (a change log and a set of files
    /// can).
    pub fn may_repeat_keys(&self) -> bool {
        matches!(self, ReadSpec::LogAfter(_) | ReadSpec::Files(_))
    }
}

/// The SQL condition that leaves out the rows a deduplicating cursor already took at its
/// bound (`ReadSpec::UpdatedAtSkippingSeen`): ` AND NOT (updated_at = <bound> AND (…))`, by key
/// or by key and version, or nothing when none were taken. `bound` is the bound as the
/// engine's SQL spells it. Both SQL engines (DuckDB, PostgreSQL) build the read with it.
fn skipping_seen_sql(bound: &str, seen: &[[i64; 2]], by_row: bool) -> String {
    if seen.is_empty() {
        return String::new();
    }
    let at_bound: Vec<String> = seen
        .iter()
        .map(|[id, lsn]| match by_row {
            true => format!("(id = {id} AND lsn = {lsn})"),
            false => format!("id = {id}"),
        })
        .collect();
    format!(
        " AND NOT (updated_at = {bound} AND ({}))",
        at_bound.join(" OR ")
    )
}

/// What a read asks for besides the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub spec: ReadSpec,
    /// Whether the strategy advances a watermark from the batch's maxima. A read that does not
    /// need them may be executed lazily, fused with the write (full reprocessing does this).
    pub want_maxima: bool,
}

/// What a read returned. Counters are exact and repeatable; timings live elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Rows (or log entries) in the batch.
    pub rows_read: u64,
    /// Rows the engine's scans touched after zone-map pruning, from the engine's own profiler.
    pub rows_scanned: u64,
    /// Bytes of column data those scans read (rows × widths of the columns read).
    pub bytes_scanned: u64,
    pub max_id: Option<i64>,
    pub max_updated_at_us: Option<i64>,
    pub max_lsn: Option<i64>,
}

/// What a real source did to play the history: exact counts (the same history plays the same
/// way) and the time it took (the `_ms` fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceActivity {
    /// Transactions really held open across a run tick, each on its own connection.
    pub spanning_transactions: u64,
    /// The most transactions held open at once, at any tick.
    pub max_open_at_once: u64,
    /// Transactions that began and committed between two ticks, applied in bulk.
    pub bulk_transactions: u64,
    /// Real transactions those were applied in.
    pub bulk_groups: u64,
    /// Statements run one at a time (those of the open transactions).
    pub single_statements: u64,
    /// Wall time applying the history, the initial load included.
    pub apply_ms: f64,
    /// Of `apply_ms`, the initial load.
    pub load_ms: f64,
    /// Wall time of the strategies' reads in the source.
    pub read_ms: f64,
}

/// Target rows one write (or a run's writes) changed, by operation, as the engine reports
/// them: exact and repeatable. A `delete_insert` rewrite of a key counts as one delete and one
/// insert, because that is the work the target did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetChanges {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl TargetChanges {
    /// Rows inserted, updated or deleted.
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

impl std::ops::AddAssign for TargetChanges {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
    }
}

impl std::ops::Add for TargetChanges {
    type Output = Self;
    fn add(mut self, other: Self) -> Self {
        self += other;
        self
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Rows inserted, updated and deleted in the target.
    pub changes: TargetChanges,
    /// Source rows scanned by the write itself (non-zero when the read was fused into it).
    pub rows_scanned: u64,
    pub bytes_scanned: u64,
    /// Rows in the batch when the read was fused into the write.
    pub rows_read: u64,
}

/// One chunk of a staged batch (chunks split the batch in lsn order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkStats {
    /// Rows (or log entries) in the chunk.
    pub rows: u64,
    pub max_id: Option<i64>,
    pub max_updated_at_us: Option<i64>,
    pub max_lsn: Option<i64>,
}

/// A mirror target's contents as the verifier sees them, column by column: one entry per row
/// (keys may repeat), in whatever order the engine returned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetRows {
    pub id: Vec<i64>,
    /// Every other column the target carries, each with one value per row. The oracle compares
    /// each of them with the version the source holds.
    pub columns: Vec<(Column, Vec<i64>)>,
}

impl TargetRows {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// The values of `column`, when the target carries it.
    pub fn column(&self, column: Column) -> Option<&[i64]> {
        self.columns
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, values)| values.as_slice())
    }

    /// Appends the rows of `batch` whose key `keep` accepts (a target read a batch at a time,
    /// kept only for the keys a caller describes). The first batch sets the columns.
    pub fn extend_from(&mut self, batch: &TargetRows, keep: impl Fn(i64) -> bool) {
        if self.columns.is_empty() && self.id.is_empty() {
            self.columns = batch
                .columns
                .iter()
                .map(|(c, _)| (*c, Vec::new()))
                .collect();
        }
        debug_assert!(self
            .columns
            .iter()
            .map(|(c, _)| c)
            .eq(batch.columns.iter().map(|(c, _)| c)));
        for (row, &id) in batch.id.iter().enumerate().filter(|(_, &id)| keep(id)) {
            self.id.push(id);
            for ((_, to), (_, from)) in self.columns.iter_mut().zip(&batch.columns) {
                to.push(from[row]);
            }
        }
    }

    /// Row `i` as (column, value) pairs, the key first.
    pub fn row(&self, i: usize) -> Vec<(Column, i64)> {
        std::iter::once((Column::Id, self.id[i]))
            .chain(self.columns.iter().map(|(c, values)| (*c, values[i])))
            .collect()
    }
}

/// A `daily_totals` target's contents: one entry per row (days may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetTotals {
    /// Day of `event_time` (days since the epoch of simulated time).
    pub day: Vec<i64>,
    pub total: Vec<i64>,
    pub rows: Vec<i64>,
}

/// What a target holds, in the shape of its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetContents {
    Mirror(TargetRows),
    Totals(TargetTotals),
}

/// Length of a `daily_totals` day in simulated microseconds.
pub const DAY_US: i64 = 86_400_000_000;

/// Identifies one strategy's target inside an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(pub u32);

/// Which target's transaction an engine has open (`Targets::begin`): at most one at a time,
/// committed only by its own target. Both engines keep their bookkeeping in this one type.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OpenTransaction(Option<TargetId>);

impl OpenTransaction {
    /// Refuses to open a transaction while one is open.
    pub(crate) fn ensure_none(&self) -> Result<()> {
        match self.0 {
            Some(open) => Err(crate::Error::Invariant(format!(
                "a transaction on target {} is already open",
                open.0
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn opened(&mut self, target: TargetId) {
        self.0 = Some(target);
    }

    /// Closes `target`'s transaction for its commit; refuses a commit without it.
    pub(crate) fn close(&mut self, target: TargetId) -> Result<()> {
        if self.0 != Some(target) {
            return Err(crate::Error::Invariant(format!(
                "commit on target {} without its transaction",
                target.0
            )));
        }
        self.0 = None;
        Ok(())
    }

    /// The open transaction's target, closing it (a crash ends it without a commit).
    pub(crate) fn take(&mut self) -> Option<TargetId> {
        self.0.take()
    }

    pub(crate) fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

/// The source side of an engine: it holds the simulated source (the table and its change
/// log) and brings it forward to "as of" a run by applying what committed.
pub trait Source {
    /// Applies the history's changes at `range` (a commit-ordered slice) to the source and its
    /// change log, as one bulk operation.
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()>;

    /// Brings the source to "as of `at_us`", where `range` is what committed since the last
    /// call. A source that holds transactions in flight (PostgreSQL) also begins, at their
    /// begin, the ones that started by `at_us` and commit later, and leaves them open on their
    /// own connections; a simulated source only applies `range`.
    fn advance_to(&mut self, history: &History, range: Range<usize>, at_us: i64) -> Result<()> {
        let _ = at_us;
        self.apply_changes(history, range)
    }

    /// What a real source did to play the history so far (`None` for a simulated one).
    fn activity(&self) -> Option<SourceActivity> {
        None
    }

    /// The time of a bare copy of the live source rows in the engine's own bulk path: the floor
    /// under full reprocessing's per-run time (`incrlab bench`).
    fn bare_copy_time(&mut self) -> Result<Duration>;

    /// The time the engine takes to build tables of the change log's and the source's columns
    /// holding `rows` rows from its own row generator (DuckDB: `CREATE TABLE … AS SELECT … FROM
    /// range(rows)`), in a scratch schema dropped afterwards: the floor under generating and
    /// loading the initial table (`incrlab bench`). `None` for an engine without one.
    fn generated_tables_time(&mut self, rows: u64) -> Result<Option<Duration>>;
}

/// Target sessions: each strategy's target, its staged batch, transactions and state, and
/// what a crash of the pipeline process does to them.
pub trait Targets {
    /// Creates an empty target of `model`.
    fn create_target(&mut self, target: TargetId, model: TargetModel) -> Result<()>;

    /// Where the landing directory is, for reads of [`ReadSpec::Files`].
    fn set_landing_dir(&mut self, dir: &Path);

    /// Stages the rows `request` selects as the target's pending batch.
    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats>;

    /// Writes the pending batch into the target, atomically.
    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats>;

    /// Splits the pending (read) batch into `chunks` chunks in lsn order, some possibly
    /// empty, so a write can land chunk by chunk; returns each chunk's size and maxima.
    fn stage_chunks(&mut self, target: TargetId, chunks: u32) -> Result<Vec<ChunkStats>>;

    /// Writes staged chunk `chunk` (1-based) into the target: its own transaction unless one
    /// was opened with [`Targets::begin`]. For `overwrite`, chunk 1 replaces the target.
    fn write_chunk(&mut self, target: TargetId, mode: WriteMode, chunk: u32) -> Result<WriteStats>;

    /// Opens a transaction on the target's database: later writes and state commit together.
    fn begin(&mut self, target: TargetId) -> Result<()>;
    fn commit(&mut self, target: TargetId) -> Result<()>;

    /// Stores a strategy's state (opaque text) in the target's own database, inside the open
    /// transaction if there is one.
    fn save_state(&mut self, target: TargetId, state: &str) -> Result<()>;
    /// The state stored with [`Targets::save_state`], if any.
    fn load_state(&mut self, target: TargetId) -> Result<Option<String>>;

    /// What a crash of the pipeline process does to the target: uncommitted work and staged
    /// batches are gone, and the target's database is closed and opened again.
    fn crash_and_reopen(&mut self, target: TargetId) -> Result<()>;

    /// The `[id, lsn]` of the staged batch's rows whose `updated_at` is `updated_at_us` (the
    /// rows at a new watermark, which a deduplicating cursor remembers).
    fn batch_rows_at(&mut self, target: TargetId, updated_at_us: i64) -> Result<Vec<[i64; 2]>>;

    /// Every row of the target, in the shape of its model, with every column it carries.
    fn target_contents(&mut self, target: TargetId) -> Result<TargetContents>;

    /// What the target holds, without holding a large one whole: a mirror's rows are handed to
    /// `visit` a batch at a time (every row once, batches in no particular order) and `None`
    /// returned; a `daily_totals` target (a row per day) is returned whole. The default reads
    /// the contents whole and hands them over as one batch.
    fn scan_target(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&TargetRows),
    ) -> Result<Option<TargetTotals>> {
        match self.target_contents(target)? {
            TargetContents::Mirror(rows) => {
                visit(&rows);
                Ok(None)
            }
            TargetContents::Totals(totals) => Ok(Some(totals)),
        }
    }

    /// A mirror target's rows as (key, [`row_hash`](crate::row::row_hash)) pairs, a batch at
    /// a time: all the verifier needs to classify every key. The default hashes the rows
    /// [`scan_target`](Self::scan_target) hands over; an engine that hashes where the rows live
    /// hands over two columns instead of every column.
    fn scan_key_hashes(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&KeyHashes),
    ) -> Result<()> {
        self.scan_target(target, &mut |rows| visit(&KeyHashes::of(rows)))
            .map(|_| ())
    }

    /// Every row a mirror target holds for the keys `ids` (ascending): the few keys a
    /// verdict's samples describe. The default reads the target back and keeps those rows.
    fn target_rows_of_keys(&mut self, target: TargetId, ids: &[i64]) -> Result<TargetRows> {
        let mut kept = TargetRows::default();
        self.scan_target(target, &mut |rows| {
            kept.extend_from(rows, |id| ids.binary_search(&id).is_ok())
        })?;
        Ok(kept)
    }

    /// The [`MirrorPrint`] of a mirror target (`None` for a `daily_totals` target). The
    /// default reads the rows back; an engine that can sum the row hashes where the rows live
    /// does so, and a right target then costs the verifier no rows (`verify::Oracle`).
    fn mirror_print(&mut self, target: TargetId) -> Result<Option<MirrorPrint>> {
        let mut print = MirrorPrint::default();
        Ok(
            match self.scan_target(target, &mut |rows| print.add(rows))? {
                None => Some(print),
                Some(_) => None,
            },
        )
    }

    /// Wall time spent inside the engine's statements so far.
    fn sql_time(&self) -> Duration;
    /// CPU time of the engine's profiled statements so far, as the engine measured it.
    fn cpu_time(&self) -> Duration;
}

/// An engine: a source and the target sessions that read it, in one process. The runner
/// holds one as `Box<dyn Engine>` from [`open`] and never names a concrete engine.
pub trait Engine: Source + Targets {
    /// The engine's name, as `[engine] kind` spells it and errors report it.
    fn name(&self) -> &'static str;
}

/// The source as an outside pipeline sees it: a database file brought to "as of" a run and
/// then released (closed) for the pipeline's own process to open.
pub trait ReleasedSource: Send {
    /// Applies the history's changes at `range` (a commit-ordered slice), then releases the
    /// file: nothing of incrlab's holds it open afterwards.
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()>;
    /// The file, as the pipeline is told it (`INCRLAB_SOURCE`).
    fn path(&self) -> &Path;
}

/// Creates the released source file at `path` (DuckDB, the one format pipelines read today).
pub fn create_released_source(path: &Path) -> Result<Box<dyn ReleasedSource>> {
    Ok(Box::new(duckdb::released::ReleasedFile::create(path)?))
}

/// Reads an outside pipeline's target (`table` in the DuckDB file `file`) as the oracle checks
/// it, or says what is wrong with it, naming the file, the table and the column.
pub fn read_outside_target(file: &Path, table: &str) -> std::result::Result<TargetRows, String> {
    duckdb::outside_target::read(file, table)
}

/// Where an engine keeps its targets.
#[derive(Debug, Clone, Copy)]
pub enum TargetStorage<'a> {
    /// In the engine's memory: nothing survives the process.
    Memory,
    /// One database file per target in this directory, so a crash can close and reopen it as a
    /// restarted process would (`[faults]`).
    Files(&'a Path),
}

/// A DuckDB engine whose upsert forgets `dropped` when it updates a matched key: the
/// broken write the oracle's tests must catch.
#[cfg(test)]
pub(crate) fn open_broken_upsert(
    storage: TargetStorage<'_>,
    dropped: crate::row::Column,
) -> Result<Box<dyn Engine>> {
    let inner = open_duckdb(storage, Threads::EveryCore)?;
    Ok(Box::new(duckdb::broken::DropsColumnOnUpsert {
        inner,
        dropped,
    }))
}

/// A DuckDB engine (targets in memory) that deduplicates a batch of more than `rows` rows in
/// passes by id range, counting the writes it split into `multi_pass_writes`: for tests of the
/// passes on batches small enough to check.
#[cfg(test)]
pub(crate) fn open_with_dedup_passes_of(
    rows: u64,
    multi_pass_writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<Box<dyn Engine>> {
    Ok(Box::new(
        duckdb::DuckDbEngine::open_in_memory()?.with_dedup_passes_of(rows, multi_pass_writes),
    ))
}

/// A DuckDB engine (targets in memory) that counts every target it reads back row by row
/// into `scans`: for tests of when the verifier needs the rows.
#[cfg(test)]
pub(crate) fn open_counting_target_scans(
    scans: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<Box<dyn Engine>> {
    Ok(Box::new(
        duckdb::DuckDbEngine::open_in_memory()?.counting_target_scans(scans),
    ))
}

/// [`open_counting_target_scans`], also counting every print of a mirror target into `prints`.
#[cfg(test)]
pub(crate) fn open_counting_target_reads(
    scans: std::sync::Arc<std::sync::atomic::AtomicU64>,
    prints: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<Box<dyn Engine>> {
    Ok(Box::new(
        duckdb::DuckDbEngine::open_in_memory()?
            .counting_target_scans(scans)
            .counting_target_prints(prints),
    ))
}

/// The memory DuckDB may hold before its tables spill to disk (its `memory_limit`), given
/// what this machine has available now: the share an engine opened now gets.
pub fn duckdb_memory_limit_bytes() -> u64 {
    duckdb::memory_limit_bytes(crate::machine::available_bytes().map(|(bytes, _)| bytes))
}

/// Opens a fresh engine of `kind` holding an empty source, on every core: the one place that
/// turns a kind into a concrete engine.
pub fn open(kind: EngineKind, storage: TargetStorage<'_>) -> Result<Box<dyn Engine>> {
    open_on(kind, storage, Threads::EveryCore)
}

/// [`open`], with the engine's statements limited to `threads`.
fn open_on(
    kind: EngineKind,
    storage: TargetStorage<'_>,
    threads: Threads,
) -> Result<Box<dyn Engine>> {
    Ok(match kind {
        EngineKind::Duckdb => Box::new(open_duckdb(storage, threads)?),
        EngineKind::Polars => Box::new(polars::PolarsEngine::open(storage)),
    })
}

/// Opens the engine a scenario's `[engine]` section describes: `kind` holds the targets, and
/// the source lives in it or, with `source = "postgres"`, in a real PostgreSQL (a throwaway
/// cluster, or the server `url` / `INCRLAB_POSTGRES_URL` names), stopped when the engine drops.
pub fn open_for(
    spec: &EngineSpec,
    storage: TargetStorage<'_>,
    threads: Threads,
) -> Result<Box<dyn Engine>> {
    match spec.source {
        SourceKind::Engine => open_on(spec.kind, storage, threads),
        SourceKind::Postgres => {
            let url = spec.url.clone().or_else(|| {
                std::env::var("INCRLAB_POSTGRES_URL")
                    .ok()
                    .filter(|u| !u.is_empty())
            });
            Ok(Box::new(postgres::PostgresSourced::open(
                url.as_deref(),
                open_duckdb(storage, threads)?,
            )?))
        }
    }
}

/// Two engines in lockstep (`first` answers, `second` is checked against it call by call):
/// the differential test of the engines. Under `[faults]` each keeps its files in its own
/// subdirectory.
pub fn open_differential(
    first: EngineKind,
    second: EngineKind,
    storage: TargetStorage<'_>,
) -> Result<Box<dyn Engine>> {
    let open_in = |kind: EngineKind| -> Result<Box<dyn Engine>> {
        match storage {
            TargetStorage::Memory => open(kind, storage),
            TargetStorage::Files(dir) => {
                let sub = dir.join(kind.name());
                std::fs::create_dir_all(&sub)
                    .map_err(|e| crate::Error::io("cannot create a target directory", &sub, e))?;
                open(kind, TargetStorage::Files(&sub))
            }
        }
    };
    Ok(Box::new(differential::Differential {
        primary: open_in(first)?,
        secondary: open_in(second)?,
    }))
}

fn open_duckdb(storage: TargetStorage<'_>, threads: Threads) -> Result<duckdb::DuckDbEngine> {
    let mut engine = match storage {
        TargetStorage::Memory => duckdb::DuckDbEngine::open_in_memory(),
        TargetStorage::Files(dir) => duckdb::DuckDbEngine::open_with_target_files(dir),
    }?;
    if let Threads::AtMost(n) = threads {
        engine.limit_threads(n.get())?;
    }
    Ok(engine)
}

#[cfg(test)]
mod tests {
    use super::skipping_seen_sql;

    #[test]
    fn the_rows_taken_at_the_bound_are_left_out_by_key_or_by_version() {
        assert_eq!(skipping_seen_sql("5", &[], false), "");
        assert_eq!(
            skipping_seen_sql("5", &[[1, 10], [2, 20]], false),
            " AND NOT (updated_at = 5 AND (id = 1 OR id = 2))"
        );
        assert_eq!(
            skipping_seen_sql("'t'", &[[1, 10]], true),
            " AND NOT (updated_at = 't' AND ((id = 1 AND lsn = 10)))"
        );
    }
}
