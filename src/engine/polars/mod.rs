//! The polars engine: the source, its change log and every target held as polars frames,
//! every read a lazy plan, every write a join, filter or concatenation of whole frames.
//!
//! It answers to the same contract as DuckDB and must give the same answers: the same rows
//! read, the same target rows inserted, updated and deleted, the same target contents after
//! every run (`tests/engines.rs` holds the two to it). What differs is what a scan costs: an
//! in-memory frame has no zone maps, so a filter reads its predicate over every row.
//!
//! Files: this one holds the engine and the trait implementations; `frames.rs` the history as
//! polars columns and the column lists; `read.rs` the plan of each read and what it scans;
//! `write.rs` the write modes; `target.rs` a target's frames, transaction and staged batch;
//! `persist.rs` committed targets on disk under `[faults]`; `meter.rs` the time of its plans;
//! `error.rs` polars' errors as the engine-neutral error.

mod error;
mod frames;
mod meter;
mod persist;
mod read;
mod target;
#[cfg(test)]
mod tests;
mod write;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::*;

use error::{PolarsEngineContext, ENGINE};
use frames::{
    change_log_frame, empty_change_log, empty_source, int_values, max_of, mirror_exprs, OP_DELETE,
};
use meter::Meter;
use persist::TargetFiles;
use read::Scan;
use target::{Pending, Table, Target};
use write::{write_mirror, write_totals, Batch};

use super::{
    ChunkStats, Engine, OpenTransaction, ReadRequest, ReadSpec, ReadStats, Source, TargetChanges,
    TargetContents, TargetId, TargetRows, TargetStorage, TargetTotals, Targets, WriteStats,
};
use crate::error::{Error, Result};
use crate::row::{MIRROR_ROW, SOURCE_ROW};
use crate::scenario::{TargetModel, WriteMode};
use crate::sim::{History, Op};

pub struct PolarsEngine {
    source: DataFrame,
    change_log: DataFrame,
    targets: BTreeMap<TargetId, Target>,
    target_dir: Option<PathBuf>,
    landing_dir: Option<PathBuf>,
    open_transaction: OpenTransaction,
    meter: Meter,
}

impl PolarsEngine {
    pub fn open(storage: TargetStorage<'_>) -> Self {
        PolarsEngine {
            source: empty_source(),
            change_log: empty_change_log(),
            targets: BTreeMap::new(),
            target_dir: match storage {
                TargetStorage::Memory => None,
                TargetStorage::Files(dir) => Some(dir.to_path_buf()),
            },
            landing_dir: None,
            open_transaction: OpenTransaction::default(),
            meter: Meter::default(),
        }
    }

    fn target(&mut self, target: TargetId) -> Result<&mut Target> {
        self.targets
            .get_mut(&target)
            .ok_or_else(|| Error::Invariant(format!("target {} was never created", target.0)))
    }

    /// Writes `rows` (read with `spec`) into `target`.
    fn write_batch(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        rows: &DataFrame,
        spec: &ReadSpec,
        first_chunk: bool,
    ) -> Result<TargetChanges> {
        let batch = Batch {
            rows,
            spec,
            first_chunk,
        };
        let source = self.source.clone();
        let slot = self
            .targets
            .get(&target)
            .ok_or_else(|| Error::Invariant(format!("target {} was never created", target.0)))?;
        let held = slot.current().clone();
        let (frame, changes) = match slot.model {
            TargetModel::Mirror => write_mirror(&mut self.meter, &held.frame, &batch, mode)?,
            TargetModel::DailyTotals => {
                write_totals(&mut self.meter, &held.frame, &source, &batch, mode)?
            }
        };
        self.target(target)?.store(Table {
            frame,
            state: held.state,
        })?;
        Ok(changes)
    }

    fn pending(&mut self, target: TargetId) -> Result<Pending> {
        self.target(target)?
            .pending
            .clone()
            .ok_or_else(|| Error::Invariant(format!("write to target {} without a read", target.0)))
    }
}

impl Engine for PolarsEngine {
    fn name(&self) -> &'static str {
        ENGINE
    }
}

impl Source for PolarsEngine {
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let (first_lsn, last_lsn) = (history.lsn(range.start), history.lsn(range.end - 1));
        let what = || format!("applying lsn {first_lsn}..={last_lsn} to the source");
        let only_inserts = history.op.slice(range.clone()).all(|op| op == Op::Insert);
        let batch = change_log_frame(history, range)?;
        let source_columns: Vec<&str> = SOURCE_ROW.iter().map(|c| c.name()).collect();
        let change_log = &mut self.change_log;
        self.meter
            .timed(|| change_log.vstack_mut(&batch).map(|_| ()))
            .during(what)?;
        if only_inserts {
            // Fresh ids only: nothing to replace, one version per key.
            let rows = batch.select(source_columns).during(what)?;
            let source = &mut self.source;
            self.meter
                .timed(|| source.vstack_mut(&rows).map(|_| ()))
                .during(what)?;
        } else {
            // Applying in commit order = keeping each key's last version in the range; a hard
            // delete keeps none.
            let keys = batch.clone().lazy().select([col("id")]);
            let kept = self.source.clone().lazy().join(
                keys,
                [col("id")],
                [col("id")],
                JoinArgs::new(JoinType::Anti),
            );
            let latest = frames::latest_per_key(batch.lazy())
                .filter(col(OP_DELETE).not())
                .select(source_columns.iter().map(|&c| col(c)).collect::<Vec<_>>());
            let plan = concat([kept, latest], UnionArgs::default()).during(what)?;
            self.source = self.meter.collect(plan, what)?;
        }
        // Appends add one chunk each; a frame of many small chunks filters slower.
        for frame in [&mut self.source, &mut self.change_log] {
            if frame.first_col_n_chunks() > 16 {
                frame.rechunk_mut_par();
            }
        }
        Ok(())
    }

    /// The time of a bare copy of the live source rows in a plan: the floor under full
    /// reprocessing's per-run time.
    fn bare_copy_time(&mut self) -> Result<Duration> {
        let plan = self
            .source
            .clone()
            .lazy()
            .filter(col("is_deleted").not())
            .select(mirror_exprs());
        let mut meter = Meter::default();
        let started = Instant::now();
        meter.collect(plan, || "copying the live source rows".into())?;
        Ok(started.elapsed())
    }

    /// polars builds frames from columns it is given; the lazy row generator (`int_range`) is
    /// not in this build, so there is no engine-side floor to compare with.
    fn generated_tables_time(&mut self, _rows: u64) -> Result<Option<Duration>> {
        Ok(None)
    }
}

impl Targets for PolarsEngine {
    fn create_target(&mut self, target: TargetId, model: TargetModel) -> Result<()> {
        let mut slot = Target {
            model,
            committed: Table {
                frame: DataFrame::empty(),
                state: None,
            },
            open: None,
            pending: None,
            chunks: Vec::new(),
            files: self
                .target_dir
                .as_deref()
                .map(|d| TargetFiles::new(d, target)),
        };
        slot.committed.frame = slot.empty_frame();
        slot.persist()?;
        self.targets.insert(target, slot);
        Ok(())
    }

    fn set_landing_dir(&mut self, dir: &Path) {
        self.landing_dir = Some(dir.to_path_buf());
    }

    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats> {
        let (rows, scan) = match &request.spec {
            ReadSpec::Files(names) => self.read_files(names)?,
            spec if !request.want_maxima => {
                // Full reprocessing: the write reads the source itself (counted there).
                self.target(target)?.pending = Some(Pending::Fused { spec: spec.clone() });
                return Ok(ReadStats::default());
            }
            spec => {
                let (plan, scan) = self.plan_for(spec)?;
                let rows = self
                    .meter
                    .collect(plan, || format!("reading {spec:?} for target {}", target.0))?;
                (rows, scan)
            }
        };
        let stats = ReadStats {
            rows_read: rows.height() as u64,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            max_id: max_of(&rows, "id")?,
            max_updated_at_us: max_of(&rows, "updated_at")?,
            max_lsn: max_of(&rows, "lsn")?,
        };
        self.target(target)?.pending = Some(Pending::Batch {
            spec: request.spec,
            rows,
        });
        Ok(stats)
    }

    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats> {
        let (rows, spec, fused) = match self.pending(target)? {
            Pending::Batch { spec, rows } => (rows, spec, None),
            Pending::Fused { spec } => {
                if spec != ReadSpec::All {
                    return Err(Error::Invariant(format!(
                        "a fused read must read the whole source, not {spec:?}"
                    )));
                }
                let (plan, scan) = self.plan_for(&spec)?;
                let rows = self
                    .meter
                    .collect(plan, || "reading the whole source".into())?;
                (rows, spec, Some(scan))
            }
        };
        let changes = self.write_batch(target, mode, &rows, &spec, true)?;
        self.target(target)?.pending = None;
        // A fused read happened inside this write: its rows and scan are the read's.
        let (rows_read, scan) = match fused {
            Some(scan) => (rows.height() as u64, scan),
            None => (0, Scan::default()),
        };
        Ok(WriteStats {
            changes,
            rows_scanned: scan.rows,
            bytes_scanned: scan.bytes,
            rows_read,
        })
    }

    fn stage_chunks(&mut self, target: TargetId, chunks: u32) -> Result<Vec<ChunkStats>> {
        let Pending::Batch { rows, .. } = self.pending(target)? else {
            return Err(Error::Invariant(format!(
                "target {} staged a fused read; a chunked write needs the batch read first",
                target.0
            )));
        };
        let sorted = self.meter.collect(
            rows.lazy()
                .sort(["lsn", "id"], SortMultipleOptions::default()),
            || format!("ordering the batch of target {} for chunks", target.0),
        )?;
        let mut parts = Vec::with_capacity(chunks as usize);
        let mut stats = Vec::with_capacity(chunks as usize);
        for (offset, len) in ntile(sorted.height(), chunks as usize) {
            let part = sorted.slice(offset as i64, len);
            stats.push(ChunkStats {
                rows: len as u64,
                max_id: max_of(&part, "id")?,
                max_updated_at_us: max_of(&part, "updated_at")?,
                max_lsn: max_of(&part, "lsn")?,
            });
            parts.push(part);
        }
        self.target(target)?.chunks = parts;
        Ok(stats)
    }

    fn write_chunk(&mut self, target: TargetId, mode: WriteMode, chunk: u32) -> Result<WriteStats> {
        let (Pending::Batch { spec, .. }, Some(rows)) = (
            self.pending(target)?,
            self.target(target)?.chunks.get(chunk as usize - 1).cloned(),
        ) else {
            return Err(Error::Invariant(format!(
                "chunk {chunk} of target {} written without staged chunks",
                target.0
            )));
        };
        let changes = self.write_batch(target, mode, &rows, &spec, chunk == 1)?;
        Ok(WriteStats {
            changes,
            ..WriteStats::default()
        })
    }

    fn begin(&mut self, target: TargetId) -> Result<()> {
        self.open_transaction.ensure_none()?;
        let slot = self.target(target)?;
        slot.open = Some(slot.committed.clone());
        self.open_transaction.opened(target);
        Ok(())
    }

    fn commit(&mut self, target: TargetId) -> Result<()> {
        self.open_transaction.close(target)?;
        let slot = self.target(target)?;
        let open = slot.open.take().expect("begin opened it");
        slot.store(open)
    }

    fn save_state(&mut self, target: TargetId, state: &str) -> Result<()> {
        let slot = self.target(target)?;
        let mut table = slot.current().clone();
        table.state = Some(state.to_string());
        slot.store(table)
    }

    fn load_state(&mut self, target: TargetId) -> Result<Option<String>> {
        Ok(self.target(target)?.current().state.clone())
    }

    fn crash_and_reopen(&mut self, target: TargetId) -> Result<()> {
        if self.target_dir.is_none() {
            return Err(Error::Invariant(
                "a crash needs targets in files (a scenario with [faults])".into(),
            ));
        }
        // An open transaction dies with the process, whichever target it was writing.
        if let Some(open) = self.open_transaction.take() {
            self.target(open)?.open = None;
        }
        let slot = self.target(target)?;
        // What was never committed dies with the process, and so does everything it held in
        // memory; what is left is what the files hold.
        slot.open = None;
        slot.pending = None;
        slot.chunks.clear();
        let reopened = slot
            .files
            .as_mut()
            .expect("targets are files when the engine has a target directory")
            .reopen()?;
        slot.committed = match reopened {
            Some((frame, state)) => Table { frame, state },
            None => Table {
                frame: slot.empty_frame(),
                state: None,
            },
        };
        Ok(())
    }

    fn batch_rows_at(&mut self, target: TargetId, updated_at_us: i64) -> Result<Vec<[i64; 2]>> {
        let rows = match self.pending(target)? {
            Pending::Batch { rows, .. } => rows.lazy(),
            Pending::Fused { spec } => self.plan_for(&spec)?.0,
        };
        let at = self.meter.collect(
            rows.filter(col("updated_at").eq(lit(updated_at_us)))
                .select([col("id"), col("lsn")])
                .sort(["id", "lsn"], SortMultipleOptions::default()),
            || {
                format!(
                    "listing the rows of target {}'s batch at its watermark",
                    target.0
                )
            },
        )?;
        let ids = int_values(&at, "id")?;
        let lsns = int_values(&at, "lsn")?;
        Ok(ids
            .into_iter()
            .zip(lsns)
            .map(|(id, lsn)| [id, lsn])
            .collect())
    }

    fn target_contents(&mut self, target: TargetId) -> Result<TargetContents> {
        let slot = self.target(target)?;
        let frame = &slot.current().frame;
        Ok(match slot.model {
            TargetModel::DailyTotals => TargetContents::Totals(TargetTotals {
                day: int_values(frame, "day")?,
                total: int_values(frame, "total")?,
                rows: int_values(frame, "rows")?,
            }),
            TargetModel::Mirror => TargetContents::Mirror(TargetRows {
                id: int_values(frame, "id")?,
                columns: MIRROR_ROW[1..]
                    .iter()
                    .map(|&c| Ok((c, int_values(frame, c.name())?)))
                    .collect::<Result<_>>()?,
            }),
        })
    }

    fn sql_time(&self) -> Duration {
        self.meter.wall
    }

    fn cpu_time(&self) -> Duration {
        self.meter.operators
    }
}

/// The `(offset, len)` of each of `n` chunks of `rows` ordered rows, as SQL's `ntile(n)` deals
/// them: the first `rows % n` chunks one row larger, and chunks past the row count empty.
fn ntile(rows: usize, n: usize) -> Vec<(usize, usize)> {
    let buckets = n.min(rows);
    let mut out = Vec::with_capacity(n);
    let mut offset = 0;
    for bucket in 0..n {
        let len = if bucket < buckets {
            rows / buckets + usize::from(bucket < rows % buckets)
        } else {
            0
        };
        out.push((offset, len));
        offset += len;
    }
    out
}
