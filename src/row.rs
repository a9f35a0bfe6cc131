//! The row schema, defined once: the columns a source row and a mirror target row carry, their
//! names and types. The engines build their tables, Arrow batches and column lists from here,
//! and the oracle compares a target row with the history column by column from here.
//!
//! Invariant: no other module spells the list of row columns out.

use crate::sim::History;

/// Simulated time 0 as a real instant: 2026-01-01T00:00:00Z in microseconds since the Unix
/// epoch. Where incrlab hands the source to an outside pipeline, simulated microseconds `t`
/// become the timestamp `EPOCH_US + t`, so tools see ordinary datetimes.
pub const EPOCH_US: i64 = 1_767_225_600_000_000;

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
    /// The id of the transaction that wrote the version (PostgreSQL's `xmin`).
    Xid,
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
            Column::Xid => "xid",
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
            Column::Lsn => history.lsn(i),
            Column::UpdatedAt => history.updated_at_us[i],
            Column::Writer => history.writer[i] as i64,
            Column::Value => history.value[i],
            Column::EventTime => history.event_time_us[i],
            Column::IsDeleted => history.is_deleted[i] as i64,
            Column::Xid => history.xid[i],
        }
    }
}

/// A source row: one per key, its latest version, soft-deleted rows flagged, with the id of
/// the transaction that wrote it (what an `xmin` reader filters on).
pub const SOURCE_ROW: [Column; 8] = [
    Column::Id,
    Column::Lsn,
    Column::UpdatedAt,
    Column::Writer,
    Column::Value,
    Column::EventTime,
    Column::IsDeleted,
    Column::Xid,
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

/// Spreads every input bit over the output (splitmix64's finaliser). A bijection, so folding
/// it over a row's values ([`digest`]) tells apart any two rows that differ in one column.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit digest of a row's values, in order. Each step (xor the value, multiply by an odd
/// constant) is a bijection both of the running state and of the value, and the final [`mix`]
/// is one too, so rows that differ in exactly one value always differ here; rows that differ in
/// several collide with a chance of about 2⁻⁶⁴. One multiply per value (a `daily_totals`
/// target's fingerprint, the per-key versions an outside pipeline's target held).
pub fn digest(values: impl IntoIterator<Item = i64>) -> u64 {
    mix(values.into_iter().fold(0x5851_f42d_4c95_7f2d, |h, v| {
        (h ^ v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }))
}

/// One value's hash as it is hashed in a column of its type: the 64-bit finaliser of
/// MurmurHash3 over the value's bits, a 32-bit column's value zero-extended from its own 32
/// bits. A bijection of the bits, so two values of one column never share a hash.
pub fn value_hash(column_type: ColumnType, value: i64) -> u64 {
    let bits = match column_type {
        ColumnType::Int64 => value as u64,
        ColumnType::Int32 | ColumnType::Bool => u64::from(value as u32),
    };
    murmur64(bits)
}

const MURMUR_MULTIPLIER: u64 = 0xd6e8_feb8_6659_fd93;

fn murmur64(mut x: u64) -> u64 {
    x ^= x >> 32;
    x = x.wrapping_mul(MURMUR_MULTIPLIER);
    x ^= x >> 32;
    x = x.wrapping_mul(MURMUR_MULTIPLIER);
    x ^ (x >> 32)
}

/// The hash of a row, its values in column order: the first value's hash, then for each next
/// value the running hash stirred (xor-shift, odd multiply) and xored with the value's hash.
/// Each step is a bijection of the running hash and of the value, so rows that differ in one
/// column always differ here. It is exactly DuckDB's `hash(c1, c2, …)` over columns of these
/// types, which is why it, and not [`digest`], fingerprints targets: an engine that has it
/// built in sums a target's row hashes where the rows live, without handing them over
/// (`Targets::mirror_print`).
pub fn row_hash(values: impl IntoIterator<Item = (ColumnType, i64)>) -> u64 {
    let mut values = values.into_iter().map(|(t, v)| value_hash(t, v));
    let first = values.next().unwrap_or(0);
    values.fold(first, |h, v| {
        (h ^ (h >> 32)).wrapping_mul(MURMUR_MULTIPLIER) ^ v
    })
}

#[cfg(test)]
mod tests {
    use super::{digest, row_hash, value_hash, ColumnType};

    #[test]
    fn rows_that_differ_in_one_value_have_different_digests() {
        let row = [7i64, 1_000, -3, 42, 0];
        for column in 0..row.len() {
            for delta in [1i64, -1, 1 << 40, i64::MIN] {
                let mut other = row;
                other[column] = other[column].wrapping_add(delta);
                assert_ne!(digest(row), digest(other), "column {column} {delta}");
            }
        }
        assert_eq!(digest(row), digest(row));
    }

    #[test]
    fn rows_that_differ_in_one_value_have_different_row_hashes() {
        let types = [ColumnType::Int64, ColumnType::Int32, ColumnType::Int64];
        let row = [7i64, 3, -1_000];
        let hash = |r: [i64; 3]| row_hash(types.into_iter().zip(r));
        for column in 0..row.len() {
            for delta in [1i64, -1, 1 << 20, -(1 << 30)] {
                let mut other = row;
                other[column] = other[column].wrapping_add(delta);
                assert_ne!(hash(row), hash(other), "column {column} {delta}");
            }
        }
    }

    #[test]
    fn a_32_bit_value_is_hashed_from_its_own_32_bits() {
        // -1 in a 32-bit column is the bits 0xffff_ffff, not 64 ones.
        assert_eq!(
            value_hash(ColumnType::Int32, -1),
            value_hash(ColumnType::Int64, 0xffff_ffff)
        );
        assert_ne!(
            value_hash(ColumnType::Int32, -1),
            value_hash(ColumnType::Int64, -1)
        );
    }
}
