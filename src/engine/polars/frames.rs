//! The polars engine's frames: the history as polars columns (bulk copies of the history's own
//! column slices, never a row loop), the empty tables, and the column lists every plan selects,
//! all built from the one row schema in `crate::row`.

use std::ops::Range;

use polars::prelude::*;

use super::error::PolarsEngineContext;
use crate::engine::DAY_US;
use crate::error::Result;
use crate::row::{Column as RowColumn, ColumnType, MIRROR_ROW, SOURCE_ROW};
use crate::sim::{History, Op};

/// A staged batch's deletion column: the key must not be in the target.
pub(super) const GONE: &str = "gone";
/// The change log's operation, reduced to what a reader needs of it: a hard delete.
pub(super) const OP_DELETE: &str = "op_delete";
pub(super) const COMMIT_US: &str = "commit_us";

/// polars' type for a row column.
fn dtype(column: RowColumn) -> DataType {
    match column.column_type() {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Bool => DataType::Boolean,
    }
}

/// History column `column` over `range`, as a polars column.
fn history_column(h: &History, column: RowColumn, range: Range<usize>) -> Column {
    let name = column.name().into();
    let ints = |values: &[i64]| Column::new(name, &values[range.clone()]);
    match column {
        RowColumn::Id => ints(&h.id),
        RowColumn::Lsn => Column::new(
            column.name().into(),
            h.lsns(range.clone()).collect::<Vec<i64>>(),
        ),
        RowColumn::UpdatedAt => ints(&h.updated_at_us),
        RowColumn::Value => ints(&h.value),
        RowColumn::EventTime => {
            Column::new(column.name().into(), h.event_time_us.to_vec(range.clone()))
        }
        RowColumn::Writer => Column::new(
            column.name().into(),
            h.writer[range.clone()]
                .iter()
                .map(|&w| w as i32)
                .collect::<Vec<_>>(),
        ),
        RowColumn::IsDeleted => {
            Column::new(column.name().into(), h.is_deleted.to_vec(range.clone()))
        }
        RowColumn::Xid => Column::new(column.name().into(), h.xid.to_vec(range.clone())),
    }
}

/// The change log's entries for history rows `range`: `op_delete`, the source row,
/// `commit_us`.
pub(super) fn change_log_frame(h: &History, range: Range<usize>) -> Result<DataFrame> {
    let mut columns = vec![Column::new(
        OP_DELETE.into(),
        h.op.slice(range.clone())
            .map(|op| op == Op::Delete)
            .collect::<Vec<_>>(),
    )];
    columns.extend(
        SOURCE_ROW
            .iter()
            .map(|&c| history_column(h, c, range.clone())),
    );
    columns.push(Column::new(
        COMMIT_US.into(),
        h.commit_us.to_vec(range.clone()),
    ));
    DataFrame::new(range.len(), columns).during(|| "building a change-log batch".into())
}

fn empty_of(columns: impl IntoIterator<Item = (PlSmallStr, DataType)>) -> DataFrame {
    DataFrame::empty_with_schema(&Schema::from_iter(columns))
}

pub(super) fn empty_source() -> DataFrame {
    empty_of(SOURCE_ROW.iter().map(|&c| (c.name().into(), dtype(c))))
}

pub(super) fn empty_change_log() -> DataFrame {
    empty_of(
        std::iter::once((OP_DELETE.into(), DataType::Boolean))
            .chain(SOURCE_ROW.iter().map(|&c| (c.name().into(), dtype(c))))
            .chain(std::iter::once((COMMIT_US.into(), DataType::Int64))),
    )
}

pub(super) fn empty_mirror() -> DataFrame {
    empty_of(MIRROR_ROW.iter().map(|&c| (c.name().into(), dtype(c))))
}

pub(super) fn empty_totals() -> DataFrame {
    empty_of(["day", "total", "rows"].map(|n| (n.into(), DataType::Int64)))
}

/// The columns of a mirror row, as a selection.
pub(super) fn mirror_exprs() -> Vec<Expr> {
    MIRROR_ROW.iter().map(|c| col(c.name())).collect()
}

/// A mirror row and the `gone` flag: what a staged batch holds.
pub(super) fn batch_exprs(gone: Expr) -> Vec<Expr> {
    let mut exprs = mirror_exprs();
    exprs.push(gone.alias(GONE));
    exprs
}

/// One version per key, the latest (highest lsn): a batch read from the change log or from
/// files can hold several.
pub(super) fn latest_per_key(batch: LazyFrame) -> LazyFrame {
    batch
        .sort(
            ["lsn"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .unique_stable_generic(Some(vec![col("id")]), UniqueKeepStrategy::Last)
}

/// `frame` with a `day` column: the `daily_totals` day of its `event_time`, by floor division,
/// so negative times fall on the day before the epoch, as DuckDB's `floor(t / day)` puts them.
/// (One kernel over the column; polars' own floor division needs a feature this build leaves
/// out.)
pub(super) fn with_day(frame: &DataFrame) -> Result<DataFrame> {
    let what = || "computing the day of event_time".to_string();
    let times = frame
        .column("event_time")
        .during(what)?
        .i64()
        .during(what)?;
    let day: Int64Chunked = times.apply_values(|t| t.div_euclid(DAY_US));
    let mut out = frame.clone();
    out.with_column(day.into_series().with_name("day".into()).into_column())
        .during(what)?;
    Ok(out)
}

/// Every value of an integer column (either width), widened to 64 bits.
pub(super) fn int_values(frame: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let what = || format!("reading column {name}");
    let column = frame.column(name).during(what)?;
    let widened = column.cast(&DataType::Int64).during(what)?;
    let values = widened.i64().during(what)?;
    Ok(values.into_no_null_iter().collect())
}

/// The maximum of an integer column, `None` for an empty frame.
pub(super) fn max_of(frame: &DataFrame, name: &str) -> Result<Option<i64>> {
    let what = || format!("reading the maximum of {name}");
    let column = frame.column(name).during(what)?;
    let widened = column.cast(&DataType::Int64).during(what)?;
    Ok(widened.i64().during(what)?.max())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_floor_towards_minus_infinity_like_duckdb() {
        let times = [
            -1,
            0,
            DAY_US - 1,
            DAY_US,
            -DAY_US,
            -DAY_US - 1,
            5 * DAY_US + 7,
        ];
        let frame = DataFrame::new(
            times.len(),
            vec![Column::new("event_time".into(), &times[..])],
        )
        .unwrap();
        let days = int_values(&with_day(&frame).unwrap(), "day").unwrap();
        // By hand: floor(t / day).
        assert_eq!(days, vec![-1, 0, 0, 1, -1, -2, 5]);
    }

    #[test]
    fn the_latest_version_of_each_key_is_the_one_with_the_highest_lsn() {
        let frame = DataFrame::new(
            4,
            vec![
                Column::new("id".into(), &[1i64, 2, 1, 1][..]),
                Column::new("lsn".into(), &[30i64, 10, 40, 20][..]),
            ],
        )
        .unwrap();
        let latest = latest_per_key(frame.lazy())
            .sort(["id"], SortMultipleOptions::default())
            .collect()
            .unwrap();
        assert_eq!(int_values(&latest, "id").unwrap(), vec![1, 2]);
        assert_eq!(int_values(&latest, "lsn").unwrap(), vec![40, 10]);
    }
}
