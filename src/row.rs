//! The row schema, defined once: the columns a source row and a mirror target row carry, their
//! names and types. The engines build their tables, Arrow batches and column lists from here,
//! and the oracle compares a target row with the history column by column from here.
//!
//! Invariant: no other module spells the list of row columns out.

use crate::sim::History;

/// One column of a row as the source holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// The key.
    Id,
    /// The version: the lsn of the change that wrote it.
    Lsn,
    /// The writer's clock at the transaction's begin, microseconds.
    UpdatedAt,
    Writer,
    Value,
    /// Business time of the row, microseconds.
    EventTime,
    /// The deletion flag of a soft delete.
    IsDeleted,
}

/// The physical type of a column (every engine maps it to its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int64,
    Int32,
    Bool,
}

impl Column {
    pub const fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Lsn => "lsn",
            Column::UpdatedAt => "updated_at",
            Column::Writer => "writer",
            Column::Value => "value",
            Column::EventTime => "event_time",
            Column::IsDeleted => "is_deleted",
        }
    }

    pub const fn column_type(self) -> ColumnType {
        match self {
            Column::Writer => ColumnType::Int32,
            Column::IsDeleted => ColumnType::Bool,
            _ => ColumnType::Int64,
        }
    }

    /// The column's value in history row `i`, as an integer (a flag is 0 or 1).
    pub fn of(self, history: &History, i: usize) -> i64 {
        match self {
            Column::Id => history.id[i],
            Column::Lsn => history.lsn[i],
            Column::UpdatedAt => history.updated_at_us[i],
            Column::Writer => history.writer[i] as i64,
            Column::Value => history.value[i],
            Column::EventTime => history.event_time_us[i],
            Column::IsDeleted => history.is_deleted[i] as i64,
        }
    }
}

/// A source row: one per key, its latest version, soft-deleted rows flagged.
pub const SOURCE_ROW: [Column; 7] = [
    Column::Id,
    Column::Lsn,
    Column::UpdatedAt,
    Column::Writer,
    Column::Value,
    Column::EventTime,
    Column::IsDeleted,
];

/// A mirror target row: the source row of a live key, without deletion state (a deleted key
/// has no row).
pub const MIRROR_ROW: [Column; 6] = [
    Column::Id,
    Column::Lsn,
    Column::UpdatedAt,
    Column::Writer,
    Column::Value,
    Column::EventTime,
];

/// The comma-separated names of `columns`, for engines that speak SQL.
pub fn column_list(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}
