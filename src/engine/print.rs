//! A mirror target's fingerprint: how many rows it holds and the wrapping sum of their row
//! hashes ([`crate::row::row_hash`]). A sum does not care in which order rows come back or where
//! batches are cut, and it can be kept up to date one row at a time: the oracle keeps the
//! print a right target has as it replays the history, so a target whose print matches it
//! needs no row handed over to be found right (`Targets::mirror_print`).
//!
//! Invariant: the print of a set of rows is the same however it was computed (in Rust from
//! rows, incrementally, or by an engine where the rows live); a test per engine holds each
//! engine's own computation to the one here.

use super::TargetRows;
use crate::row::{mix, row_hash, Column};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MirrorPrint {
    pub rows: u64,
    /// The wrapping sum of every row's [`row_hash`].
    pub hash_sum: u64,
}

impl MirrorPrint {
    /// The print of `rows`.
    pub fn of(rows: &TargetRows) -> MirrorPrint {
        let mut print = MirrorPrint::default();
        print.add(rows);
        print
    }

    /// Adds every row of `batch`.
    pub fn add(&mut self, batch: &TargetRows) {
        for row in 0..batch.len() {
            self.add_row(hash_of_row(batch, row));
        }
    }

    /// Adds one row, given its hash.
    pub fn add_row(&mut self, hash: u64) {
        self.rows += 1;
        self.hash_sum = self.hash_sum.wrapping_add(hash);
    }

    /// Takes away one row added before, given its hash.
    pub fn remove_row(&mut self, hash: u64) {
        self.rows -= 1;
        self.hash_sum = self.hash_sum.wrapping_sub(hash);
    }

    /// The print as one number (a run record's `target_digest`).
    pub fn value(&self) -> u64 {
        self.hash_sum ^ mix(self.rows)
    }
}

/// A batch of a mirror target's rows as the verifier classifies them: each row's key and its
/// [`row_hash`] (`hash[i]` is the hash of the row keyed `id[i]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHashes {
    pub id: Vec<i64>,
    pub hash: Vec<u64>,
}

impl KeyHashes {
    /// The keys and row hashes of `rows`.
    pub fn of(rows: &TargetRows) -> KeyHashes {
        KeyHashes {
            id: rows.id.clone(),
            hash: (0..rows.len()).map(|row| hash_of_row(rows, row)).collect(),
        }
    }
}

/// The [`row_hash`] of row `row` of `batch`, its key first, each value hashed as its column's
/// type.
pub fn hash_of_row(batch: &TargetRows, row: usize) -> u64 {
    let id = (Column::Id.column_type(), batch.id[row]);
    row_hash(
        std::iter::once(id).chain(
            batch
                .columns
                .iter()
                .map(|(c, values)| (c.column_type(), values[row])),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[(i64, i64)]) -> TargetRows {
        TargetRows {
            id: values.iter().map(|&(id, _)| id).collect(),
            columns: vec![(Column::Writer, values.iter().map(|&(_, w)| w).collect())],
        }
    }

    #[test]
    fn the_print_does_not_depend_on_row_order_or_batches() {
        let whole = MirrorPrint::of(&rows(&[(1, 3), (2, 4), (3, 5)]));
        let mut batched = MirrorPrint::of(&rows(&[(3, 5)]));
        batched.add(&rows(&[(2, 4), (1, 3)]));
        assert_eq!(whole, batched);
        assert_eq!(whole.rows, 3);
    }

    #[test]
    fn a_duplicated_or_changed_row_changes_the_print() {
        let right = MirrorPrint::of(&rows(&[(1, 3), (2, 4)]));
        assert_ne!(right, MirrorPrint::of(&rows(&[(1, 3), (2, 4), (2, 4)])));
        assert_ne!(right, MirrorPrint::of(&rows(&[(1, 3), (2, 5)])));
        // The same values under swapped keys are other rows.
        assert_ne!(right, MirrorPrint::of(&rows(&[(1, 4), (2, 3)])));
    }

    #[test]
    fn removing_a_row_undoes_adding_it() {
        let mut print = MirrorPrint::of(&rows(&[(1, 3)]));
        let before = print;
        let extra = rows(&[(9, 9)]);
        let hash = hash_of_row(&extra, 0);
        print.add_row(hash);
        assert_ne!(print, before);
        print.remove_row(hash);
        assert_eq!(print, before);
    }
}
