//! The write modes on polars: how a staged batch (or one chunk of it) lands in a mirror or a
//! `daily_totals` target, as lazy plans over whole frames — joins, filters and concatenations,
//! never a loop over rows.
//!
//! Each write is a pure function of the target's frame and the batch: it returns the new frame
//! and the target rows it inserted, updated and deleted, counted the way DuckDB's statements
//! count them (a MERGE's actions, a DELETE's and an INSERT's changed rows), so both engines
//! report the same `TargetChanges` for the same write.

use polars::prelude::*;

use super::error::PolarsEngineContext;
use super::frames::{latest_per_key, mirror_exprs, with_day, GONE};
use super::meter::Meter;
use crate::engine::{ReadSpec, TargetChanges};
use crate::error::{Error, Result};
use crate::scenario::WriteMode;

/// A write's inputs: the batch (or chunk), how it was read, and whether it is the first chunk
/// of its write (an overwrite replaces the target only then).
pub(super) struct Batch<'a> {
    pub rows: &'a DataFrame,
    pub spec: &'a ReadSpec,
    pub first_chunk: bool,
}

impl Batch<'_> {
    /// One version per key, the latest. Source reads already are; a log or file batch is not.
    fn latest(&self) -> LazyFrame {
        match self.spec.may_repeat_keys() {
            true => latest_per_key(self.rows.clone().lazy()),
            false => self.rows.clone().lazy(),
        }
    }
}

fn keys_of(frame: LazyFrame) -> LazyFrame {
    frame.select([col("id")])
}

fn on(frame: LazyFrame, other: LazyFrame, key: &str, how: JoinType) -> LazyFrame {
    frame.join(other, [col(key)], [col(key)], JoinArgs::new(how))
}

fn concat2(a: LazyFrame, b: LazyFrame) -> Result<LazyFrame> {
    concat([a, b], UnionArgs::default()).during(|| "concatenating frames".into())
}

fn live(batch: LazyFrame) -> LazyFrame {
    batch.filter(col(GONE).not()).select(mirror_exprs())
}

fn inserted(rows: usize) -> TargetChanges {
    TargetChanges {
        inserted: rows as u64,
        ..TargetChanges::default()
    }
}

/// Writes `batch` into a mirror target holding `target`; returns the new target and what
/// changed.
pub(super) fn write_mirror(
    meter: &mut Meter,
    target: &DataFrame,
    batch: &Batch<'_>,
    mode: WriteMode,
) -> Result<(DataFrame, TargetChanges)> {
    let what = || format!("writing a batch into a mirror ({})", mode.name());
    let held = || target.clone().lazy();
    Ok(match mode {
        WriteMode::Overwrite if batch.first_chunk => {
            let new = meter.collect(live(batch.latest()), what)?;
            let changes = inserted(new.height());
            (new, changes)
        }
        WriteMode::Overwrite => {
            let rows = meter.collect(live(batch.latest()), what)?;
            let changes = inserted(rows.height());
            (meter.collect(concat2(held(), rows.lazy())?, what)?, changes)
        }
        WriteMode::Append => {
            // The naive append: every row of the batch, repeated keys and all.
            let rows = meter.collect(live(batch.rows.clone().lazy()), what)?;
            let changes = inserted(rows.height());
            (meter.collect(concat2(held(), rows.lazy())?, what)?, changes)
        }
        WriteMode::Upsert => {
            let latest = meter.collect(batch.latest(), what)?;
            // Every target row whose key the batch holds is matched, as MERGE matches it:
            // deleted when the batch's version is gone, updated otherwise.
            let matched = meter.collect(
                held()
                    .select([col("id")])
                    .join(
                        latest.clone().lazy().select([col("id"), col(GONE)]),
                        [col("id")],
                        [col("id")],
                        JoinArgs::new(JoinType::Inner),
                    )
                    .select([col(GONE)]),
                what,
            )?;
            let deleted = count_true(&matched, GONE)?;
            let rows = meter.collect(
                on(
                    live_keep_id(latest.clone().lazy()),
                    keys_of(held()),
                    "id",
                    JoinType::Anti,
                ),
                what,
            )?;
            let changes = TargetChanges {
                inserted: rows.height() as u64,
                updated: matched.height() as u64 - deleted,
                deleted,
            };
            let kept = on(held(), keys_of(latest.clone().lazy()), "id", JoinType::Anti);
            let new = meter.collect(concat2(kept, live(latest.lazy()))?, what)?;
            (new, changes)
        }
        WriteMode::DeleteInsert => {
            let keys = keys_of(batch.rows.clone().lazy());
            let deleted = meter
                .collect(on(held(), keys.clone(), "id", JoinType::Semi), what)?
                .height();
            let rows = meter.collect(live(batch.latest()), what)?;
            let changes = TargetChanges {
                inserted: rows.height() as u64,
                updated: 0,
                deleted: deleted as u64,
            };
            let kept = on(held(), keys, "id", JoinType::Anti);
            (meter.collect(concat2(kept, rows.lazy())?, what)?, changes)
        }
        WriteMode::PartitionOverwrite => {
            let ReadSpec::EventTimeWindow { from_us, to_us } = *batch.spec else {
                return Err(Error::Invariant(format!(
                    "partition_overwrite of a mirror needs an event-time window, not {:?}",
                    batch.spec
                )));
            };
            let rows = meter.collect(live(batch.latest()), what)?;
            // The window is the partition: a key it no longer holds (deleted) goes too. Later
            // chunks only add to what chunk 1 replaced.
            let (kept, deleted) = if batch.first_chunk {
                let in_window = col("event_time")
                    .gt_eq(lit(from_us))
                    .and(col("event_time").lt(lit(to_us)));
                let deleted = meter
                    .collect(held().filter(in_window.clone()), what)?
                    .height();
                (held().filter(in_window.not()), deleted)
            } else {
                (held(), 0)
            };
            let changes = TargetChanges {
                inserted: rows.height() as u64,
                updated: 0,
                deleted: deleted as u64,
            };
            (meter.collect(concat2(kept, rows.lazy())?, what)?, changes)
        }
    })
}

/// The batch's live rows, keeping every column (for a join that needs only their keys).
fn live_keep_id(batch: LazyFrame) -> LazyFrame {
    batch.filter(col(GONE).not()).select([col("id")])
}

fn count_true(frame: &DataFrame, name: &str) -> Result<u64> {
    let what = || format!("counting {name}");
    let column = frame.column(name).during(what)?;
    Ok(column.bool().during(what)?.sum().unwrap_or(0) as u64)
}

/// Each day's total and row count of `rows` (live rows only).
fn totals_of(rows: LazyFrame, live: Expr) -> LazyFrame {
    rows.filter(live).group_by([col("day")]).agg([
        col("value").sum().alias("total"),
        len().cast(DataType::Int64).alias("rows"),
    ])
}

/// Writes `batch` into a `daily_totals` target holding `target`, with `source` the source's
/// rows as of the run. Every incremental write recomputes the days the batch touches from the
/// source (a batch holds changed rows, not a day's rows), except `append`, which adds the
/// batch's own partial totals: the naive pipeline.
pub(super) fn write_totals(
    meter: &mut Meter,
    target: &DataFrame,
    source: &DataFrame,
    batch: &Batch<'_>,
    mode: WriteMode,
) -> Result<(DataFrame, TargetChanges)> {
    let what = || format!("writing a batch into daily totals ({})", mode.name());
    let held = || target.clone().lazy();
    // Every row's day: on the batch always, on the source only for the modes that recompute
    // from it (a day column over every source row is work `overwrite` and `append` skip).
    let rows = with_day(batch.rows)?;
    let batch = Batch {
        rows: &rows,
        spec: batch.spec,
        first_chunk: batch.first_chunk,
    };
    let partial = || totals_of(batch.latest(), col(GONE).not());
    // A row's event_time never changes, so the days a batch touches are the days of its rows,
    // deleted ones included (their day loses them).
    let affected = || {
        batch
            .rows
            .clone()
            .lazy()
            .select([col("day")])
            .unique(None, UniqueKeepStrategy::Any)
    };
    let recomputed = || -> Result<LazyFrame> {
        Ok(totals_of(
            on(with_day(source)?.lazy(), affected(), "day", JoinType::Semi),
            col("is_deleted").not(),
        ))
    };
    // Rows of `days` that the target already holds, and those it does not.
    let split = |meter: &mut Meter, days: &DataFrame| -> Result<(u64, u64)> {
        let matched = meter
            .collect(on(held(), days.clone().lazy(), "day", JoinType::Semi), what)?
            .height() as u64;
        let new = meter
            .collect(on(days.clone().lazy(), held(), "day", JoinType::Anti), what)?
            .height() as u64;
        Ok((matched, new))
    };
    Ok(match mode {
        WriteMode::Overwrite if batch.first_chunk => {
            let new = meter.collect(partial(), what)?;
            let changes = inserted(new.height());
            (new, changes)
        }
        // A full read holds each live key once, so chunk totals add up to day totals.
        WriteMode::Overwrite => {
            let days = meter.collect(partial(), what)?;
            let (updated, inserted) = split(meter, &days)?;
            let summed = concat2(held(), days.lazy())?
                .group_by([col("day")])
                .agg([col("total").sum(), col("rows").sum()]);
            let changes = TargetChanges {
                inserted,
                updated,
                deleted: 0,
            };
            (meter.collect(summed, what)?, changes)
        }
        WriteMode::PartitionOverwrite => {
            let days = meter.collect(recomputed()?, what)?;
            let gone = meter
                .collect(on(held(), affected(), "day", JoinType::Semi), what)?
                .height() as u64;
            let kept = on(held(), affected(), "day", JoinType::Anti);
            let changes = TargetChanges {
                inserted: days.height() as u64,
                updated: 0,
                deleted: gone,
            };
            (meter.collect(concat2(kept, days.lazy())?, what)?, changes)
        }
        // A day that lost its last row recomputes to nothing, and a MERGE leaves it standing.
        WriteMode::Upsert => {
            let days = meter.collect(recomputed()?, what)?;
            let (updated, inserted) = split(meter, &days)?;
            let kept = on(
                held(),
                days.clone().lazy().select([col("day")]),
                "day",
                JoinType::Anti,
            );
            let changes = TargetChanges {
                inserted,
                updated,
                deleted: 0,
            };
            (meter.collect(concat2(kept, days.lazy())?, what)?, changes)
        }
        WriteMode::Append => {
            let days = meter.collect(partial(), what)?;
            let changes = inserted(days.height());
            (meter.collect(concat2(held(), days.lazy())?, what)?, changes)
        }
        WriteMode::DeleteInsert => {
            return Err(Error::Invariant(
                "delete_insert on daily totals (rejected by scenario validation)".into(),
            ))
        }
    })
}
