//! A history column that stores a leading run of one value once.
//!
//! The initial table is one bulk load: every one of its rows is an insert by transaction 0 that
//! began, ran and committed at t = 0, with no business-time lateness and no soft delete. Stored
//! row by row, those constants are most of a large history's memory (seven of its columns,
//! 43 bytes a row); a 100M-row table would spend 4.3 GB on copies of one value. A
//! `PrefixColumn` keeps the leading run as (length, value) and stores only what follows.
//!
//! Reading is unchanged for callers that index (`column[i]`) and iterate (`iter()` yields
//! values). Equality is by content, never by where the run was cut.

use std::ops::{Index, Range};

#[derive(Debug, Clone, Default)]
pub struct PrefixColumn<T> {
    /// How many leading rows hold `prefix`.
    prefix_len: usize,
    prefix: T,
    /// Rows `prefix_len..`, stored.
    rest: Vec<T>,
}

impl<T: Copy + PartialEq> PrefixColumn<T> {
    pub fn len(&self) -> usize {
        self.prefix_len + self.rest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a value: it joins the leading run while nothing has been stored after it.
    pub fn push(&mut self, value: T) {
        self.push_n(1, value);
    }

    /// Appends `n` copies of `value` (the leading run grows without storing anything).
    pub fn push_n(&mut self, n: usize, value: T) {
        if n == 0 {
            return;
        }
        if self.rest.is_empty() && (self.prefix_len == 0 || self.prefix == value) {
            self.prefix = value;
            self.prefix_len += n;
        } else {
            self.rest.extend(std::iter::repeat_n(value, n));
        }
    }

    /// Room for `additional` stored rows.
    pub fn reserve(&mut self, additional: usize) {
        self.rest.reserve(additional);
    }

    pub fn last(&self) -> Option<T> {
        self.rest
            .last()
            .copied()
            .or((self.prefix_len > 0).then_some(self.prefix))
    }

    /// The values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T> + '_ {
        self.slice(0..self.len())
    }

    /// The values of rows `range`, in order.
    pub fn slice(&self, range: Range<usize>) -> impl ExactSizeIterator<Item = T> + '_ {
        let (leading, stored) = self.split(range);
        Run {
            value: self.prefix,
            left: leading,
            then: stored.iter(),
        }
    }

    /// The values of rows `range`, collected.
    pub fn to_vec(&self, range: Range<usize>) -> Vec<T> {
        let (leading, stored) = self.split(range);
        // A fill and a copy: a million-row load builds several of these.
        let mut out = Vec::with_capacity(leading + stored.len());
        out.resize(leading, self.prefix);
        out.extend_from_slice(stored);
        out
    }

    /// Rows `range` as how many of them lie in the leading run, then the stored rows.
    fn split(&self, range: Range<usize>) -> (usize, &[T]) {
        assert!(
            range.end <= self.len(),
            "{range:?} out of {} rows",
            self.len()
        );
        let leading = range.end.min(self.prefix_len).saturating_sub(range.start);
        let stored = range.start.max(self.prefix_len) - self.prefix_len
            ..range.end.max(self.prefix_len) - self.prefix_len;
        (leading, &self.rest[stored])
    }

    /// The first row for which `pred` is false, the column being partitioned by it (as
    /// `slice::partition_point`).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        if self.prefix_len > 0 && !pred(&self.prefix) {
            return 0;
        }
        self.prefix_len + self.rest.partition_point(pred)
    }
}

/// A run of one value, then stored values: what `slice` yields.
struct Run<'a, T> {
    value: T,
    left: usize,
    then: std::slice::Iter<'a, T>,
}

impl<T: Copy> Iterator for Run<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.left > 0 {
            self.left -= 1;
            return Some(self.value);
        }
        self.then.next().copied()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.left + self.then.len();
        (n, Some(n))
    }
}

impl<T: Copy> ExactSizeIterator for Run<'_, T> {}

impl<T> Index<usize> for PrefixColumn<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        if i < self.prefix_len {
            &self.prefix
        } else {
            &self.rest[i - self.prefix_len]
        }
    }
}

impl<T: Copy + PartialEq> PartialEq for PrefixColumn<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[i64]) -> PrefixColumn<i64> {
        let mut c = PrefixColumn::default();
        values.iter().for_each(|&v| c.push(v));
        c
    }

    #[test]
    fn a_leading_run_is_stored_once_and_reads_back_row_by_row() {
        let c = column(&[0, 0, 0, 5, 0, 7]);
        assert_eq!(c.prefix_len, 3);
        assert_eq!(c.rest, vec![5, 0, 7]);
        assert_eq!((0..6).map(|i| c[i]).collect::<Vec<_>>(), [0, 0, 0, 5, 0, 7]);
        assert_eq!(c.iter().collect::<Vec<_>>(), [0, 0, 0, 5, 0, 7]);
        assert_eq!(c.last(), Some(7));
    }

    #[test]
    fn a_slice_crossing_the_run_yields_both_parts() {
        let c = column(&[1, 1, 2, 3]);
        assert_eq!(c.slice(1..3).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(c.slice(2..4).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(c.slice(0..1).len(), 1);
        assert_eq!(c.slice(4..4).count(), 0);
        for range in [0..4, 1..3, 2..4, 0..2, 3..3] {
            assert_eq!(c.to_vec(range.clone()), c.slice(range).collect::<Vec<_>>());
        }
    }

    #[test]
    fn partition_point_matches_the_slice_method() {
        let values = [0, 0, 0, 4, 4, 9, 12];
        let c = column(&values);
        for bound in [-1, 0, 3, 4, 8, 9, 12, 13] {
            assert_eq!(
                c.partition_point(|&v| v <= bound),
                values.partition_point(|&v| v <= bound),
                "bound {bound}"
            );
        }
    }

    #[test]
    fn equal_contents_are_equal_wherever_the_run_was_cut() {
        let mut cut_late = PrefixColumn::default();
        cut_late.push_n(3, 0i64);
        cut_late.push(1);
        let mut cut_early = PrefixColumn::default();
        cut_early.push(0i64);
        cut_early.rest = vec![0, 0, 1];
        assert_eq!(cut_late, cut_early);
        assert_ne!(cut_late, column(&[0, 0, 1]));
    }

    #[test]
    fn push_n_after_stored_values_stores_them() {
        let mut c = column(&[1, 2]);
        c.push_n(2, 1);
        assert_eq!(c.iter().collect::<Vec<_>>(), [1, 2, 1, 1]);
        assert_eq!(c.len(), 4);
    }
}
