//! Reads on polars: the plan each read spec stands for (a filter of the source or the change
//! log, with the mirror columns and `gone`), landed files scanned lazily, and what each scan
//! counts.

use polars::prelude::*;

use super::error::PolarsEngineContext;
use super::frames::{batch_exprs, empty_source, OP_DELETE};
use super::PolarsEngine;
use crate::engine::ReadSpec;
use crate::error::{Error, Result};
use crate::row::SOURCE_ROW;

/// What a read scanned, counted as polars executes it: every row of the frame its filter runs
/// over, and the in-memory bytes of the columns the plan reads.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scan {
    pub rows: u64,
    pub bytes: u64,
}

impl PolarsEngine {
    /// What a scan of `frame`'s `columns` reads.
    fn scan_of(frame: &DataFrame, columns: &[&str]) -> Result<Scan> {
        let read = frame
            .select(columns.iter().copied())
            .during(|| "selecting the columns a read scans".into())?;
        Ok(Scan {
            rows: frame.height() as u64,
            bytes: read.estimated_size() as u64,
        })
    }

    /// The plan a read spec stands for (mirror columns and `gone`), and what it scans.
    pub(super) fn plan_for(&self, spec: &ReadSpec) -> Result<(LazyFrame, Scan)> {
        let source_columns: Vec<&str> = SOURCE_ROW.iter().map(|c| c.name()).collect();
        let source = || self.source.clone().lazy();
        let of_source = |lazy: LazyFrame| lazy.select(batch_exprs(col("is_deleted")));
        let updated_at = || col("updated_at");
        let plan = match spec {
            ReadSpec::All => of_source(source()),
            &ReadSpec::IdAbove(wm) => of_source(source().filter(col("id").gt(lit(wm)))),
            &ReadSpec::UpdatedAtFrom { from_us, inclusive } => {
                let keep = match inclusive {
                    true => updated_at().gt_eq(lit(from_us)),
                    false => updated_at().gt(lit(from_us)),
                };
                of_source(source().filter(keep))
            }
            ReadSpec::UpdatedAtSkippingSeen {
                from_us,
                seen,
                by_row,
            } => {
                let above = source().filter(updated_at().gt(lit(*from_us)));
                let at = source().filter(updated_at().eq(lit(*from_us)));
                let at = if seen.is_empty() {
                    at
                } else {
                    // The rows at the boundary a previous run took: by key, or by key and
                    // version.
                    let ids: Vec<i64> = seen.iter().map(|[id, _]| *id).collect();
                    let lsns: Vec<i64> = seen.iter().map(|[_, lsn]| *lsn).collect();
                    let mut columns = vec![Column::new("id".into(), ids)];
                    let mut keys = vec![col("id")];
                    if *by_row {
                        columns.push(Column::new("lsn".into(), lsns));
                        keys.push(col("lsn"));
                    }
                    let seen = DataFrame::new(seen.len(), columns)
                        .during(|| "building the rows seen at the watermark".into())?;
                    at.join(
                        seen.lazy(),
                        keys.clone(),
                        keys,
                        JoinArgs::new(JoinType::Anti),
                    )
                };
                of_source(
                    concat([above, at], UnionArgs::default())
                        .during(|| "combining a boundary read".into())?,
                )
            }
            &ReadSpec::LogAfter(offset) => {
                let mut columns = source_columns.clone();
                columns.push(OP_DELETE);
                let plan = self
                    .change_log
                    .clone()
                    .lazy()
                    .filter(col("lsn").gt(lit(offset)))
                    .select(batch_exprs(col(OP_DELETE).or(col("is_deleted"))));
                return Ok((plan, Self::scan_of(&self.change_log, &columns)?));
            }
            &ReadSpec::EventTimeWindow { from_us, to_us } => of_source(
                source().filter(
                    col("event_time")
                        .gt_eq(lit(from_us))
                        .and(col("event_time").lt(lit(to_us))),
                ),
            ),
            &ReadSpec::XidRange { from, to } => {
                of_source(source().filter(col("xid").gt_eq(lit(from)).and(col("xid").lt(lit(to)))))
            }
            ReadSpec::Files(_) => {
                return Err(Error::Invariant(
                    "file reads are scans of the landed files, not of the source".into(),
                ))
            }
        };
        Ok((plan, Self::scan_of(&self.source, &source_columns)?))
    }

    /// Landed files scanned lazily, exactly the listed ones; the scan counts the files' rows
    /// and bytes on disk (what DuckDB's file read counts too).
    pub(super) fn read_files(&mut self, names: &[String]) -> Result<(DataFrame, Scan)> {
        let dir = self
            .landing_dir
            .clone()
            .ok_or_else(|| Error::Invariant("a file read without a landing directory".into()))?;
        if names.is_empty() {
            let empty = self.meter.collect(
                empty_source().lazy().select(batch_exprs(col("is_deleted"))),
                || "staging no files".into(),
            )?;
            return Ok((empty, Scan::default()));
        }
        let mut bytes = 0u64;
        for file in names {
            let path = dir.join(file);
            bytes += std::fs::metadata(&path)
                .map_err(|e| Error::io("cannot stat a landed file", &path, e))?
                .len();
        }
        let paths = names
            .iter()
            .map(|n| PlRefPath::new(dir.join(n).to_string_lossy().as_ref()))
            .collect();
        let what = || format!("scanning {} landed files", names.len());
        let plan = LazyFrame::scan_parquet_files(paths, ScanArgsParquet::default()).during(what)?;
        let rows = self
            .meter
            .collect(plan.select(batch_exprs(col("is_deleted"))), what)?;
        let scan = Scan {
            rows: rows.height() as u64,
            bytes,
        };
        Ok((rows, scan))
    }
}
