//! The ground truth: every row version the source ever had, as columns, in commit (lsn) order.
//!
//! Row `i` of every column describes one committed change, the change with lsn `i + 1`. Because the
//! columns are in commit order, "what committed in `(a, b]`" is one contiguous slice, which is
//! how the source is advanced run by run without searching.

use super::column::PrefixColumn;

/// What a change did to its row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Op {
    #[default]
    Insert = b'I',
    /// A new version of an existing row; a soft delete is an update with `is_deleted = true`.
    Update = b'U',
    /// A hard delete: the row leaves the table, only the change log keeps a trace.
    Delete = b'D',
}

impl Op {
    pub fn as_char(self) -> char {
        self as u8 as char
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "I",
            Op::Update => "U",
            Op::Delete => "D",
        }
    }
}

/// Columns that hold one value over the whole initial table (a bulk load by transaction 0 at
/// t = 0) are [`PrefixColumn`]s, which store that run once: they index and iterate like the
/// others. The rest are plain vectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub op: PrefixColumn<Op>,
    pub id: Vec<i64>,
    /// The transaction's id, drawn at begin (PostgreSQL's xid): rows of one transaction share it.
    pub xid: PrefixColumn<i64>,
    /// True time the transaction began.
    pub begin_us: PrefixColumn<i64>,
    /// True time the change's statement ran: its begin, or, when it waited on a row lock, the
    /// commit of the change it waited for.
    pub statement_us: PrefixColumn<i64>,
    /// True time it committed; visible to readers from here on.
    pub commit_us: PrefixColumn<i64>,
    pub writer: Vec<u32>,
    /// The writer's clock offset at begin (jitter included): `updated_at ≈ begin + offset`.
    pub clock_offset_us: Vec<i64>,
    /// Writer clock at begin, truncated to the granularity.
    pub updated_at_us: Vec<i64>,
    /// Business time of the row.
    pub event_time_us: PrefixColumn<i64>,
    pub value: Vec<i64>,
    pub is_deleted: PrefixColumn<bool>,
    /// Scheduled run times `R_1 < … < R_n` (the drain adds more, the runner decides how many).
    pub run_times_us: Vec<i64>,
    /// Largest id ever allocated (ids are dense: `1..=max_id`).
    pub max_id: i64,
}

impl History {
    /// The lsn of row `i`. The history is in commit order without gaps, so it is `i + 1`: a
    /// column of it would cost 8 bytes a row and say nothing.
    pub fn lsn(&self, i: usize) -> i64 {
        i as i64 + 1
    }

    /// The lsns of rows `range`, in order.
    pub fn lsns(&self, range: std::ops::Range<usize>) -> impl ExactSizeIterator<Item = i64> {
        range.map(|i| i as i64 + 1)
    }

    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Index range of the changes committed in `(after_us, up_to_us]`.
    pub fn committed_between(&self, after_us: i64, up_to_us: i64) -> std::ops::Range<usize> {
        let lo = self.commit_us.partition_point(|&c| c <= after_us);
        let hi = self.commit_us.partition_point(|&c| c <= up_to_us);
        lo..hi.max(lo)
    }

    /// The last commit time in the history (0 when empty).
    pub fn last_commit_us(&self) -> i64 {
        self.commit_us.last().unwrap_or(0)
    }

    /// The oldest transaction id still in flight at `at_us` (begun at or before it, committed
    /// after it), or, when none is, the next id to be handed out: PostgreSQL's
    /// `pg_snapshot_xmin(pg_current_snapshot())` for a reader at that instant, given that every
    /// transaction takes its id at its begin. Rows written by ids below it are all committed;
    /// rows of ids from it on may still appear. One pass over the history.
    pub fn snapshot_xmin_at(&self, at_us: i64) -> i64 {
        let mut oldest_in_flight: Option<i64> = None;
        let mut last_begun = -1i64;
        for i in 0..self.len() {
            if self.begin_us[i] > at_us {
                continue;
            }
            last_begun = last_begun.max(self.xid[i]);
            if self.commit_us[i] > at_us {
                oldest_in_flight =
                    Some(oldest_in_flight.map_or(self.xid[i], |x| x.min(self.xid[i])));
            }
        }
        oldest_in_flight.unwrap_or(last_begun + 1)
    }

    /// A hash over every column: two histories with the same digest are the same history.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"incrlab/history/v2");
        // The hash depends only on the bytes, not on how they are handed over: values go in
        // through a buffer, because one `update` call per 8-byte value cost more than the
        // hashing itself (2.5 s of a 6M-row history).
        fn ints(h: &mut blake3::Hasher, name: &str, col: impl Iterator<Item = i64>) {
            const BUFFER_BYTES: usize = 1 << 16;
            h.update(name.as_bytes());
            let mut buffer = Vec::with_capacity(BUFFER_BYTES);
            for v in col {
                buffer.extend_from_slice(&v.to_le_bytes());
                if buffer.len() == BUFFER_BYTES {
                    h.update(&buffer);
                    buffer.clear();
                }
            }
            h.update(&buffer);
        }
        ints(&mut h, "lsn", (0..self.len()).map(|i| self.lsn(i)));
        ints(&mut h, "op", self.op.iter().map(|o| o as u8 as i64));
        ints(&mut h, "id", self.id.iter().copied());
        ints(&mut h, "xid", self.xid.iter());
        ints(&mut h, "begin", self.begin_us.iter());
        ints(&mut h, "statement", self.statement_us.iter());
        ints(&mut h, "commit", self.commit_us.iter());
        ints(&mut h, "writer", self.writer.iter().map(|&w| w as i64));
        ints(&mut h, "offset", self.clock_offset_us.iter().copied());
        ints(&mut h, "updated_at", self.updated_at_us.iter().copied());
        ints(&mut h, "event_time", self.event_time_us.iter());
        ints(&mut h, "value", self.value.iter().copied());
        ints(
            &mut h,
            "is_deleted",
            self.is_deleted.iter().map(|d| d as i64),
        );
        ints(&mut h, "runs", self.run_times_us.iter().copied());
        h.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Transactions as (xid, begin, commit), one row each.
    fn transactions(txs: &[(i64, i64, i64)]) -> History {
        let mut h = History::default();
        let mut by_commit = txs.to_vec();
        by_commit.sort_by_key(|&(xid, _, commit)| (commit, xid));
        for (i, &(xid, begin, commit)) in by_commit.iter().enumerate() {
            h.op.push(Op::Insert);
            h.id.push(i as i64 + 1);
            h.xid.push(xid);
            h.begin_us.push(begin);
            h.statement_us.push(begin);
            h.commit_us.push(commit);
            h.writer.push(0);
            h.clock_offset_us.push(0);
            h.updated_at_us.push(begin);
            h.event_time_us.push(begin);
            h.value.push(1);
            h.is_deleted.push(false);
        }
        h
    }

    #[test]
    fn the_snapshot_xmin_is_the_oldest_transaction_in_flight_or_the_next_id() {
        // 0: the initial load; 1 begins at 1 and commits at 10; 2 runs from 2 to 5; 3 from 3
        // to 20.
        let h = transactions(&[(0, 0, 0), (1, 1, 10), (2, 2, 5), (3, 3, 20)]);
        assert_eq!(
            h.snapshot_xmin_at(0),
            1,
            "only the load has begun, and it committed"
        );
        assert_eq!(h.snapshot_xmin_at(4), 1, "1, 2 and 3 in flight");
        assert_eq!(
            h.snapshot_xmin_at(6),
            1,
            "2 committed; 1 still holds the horizon"
        );
        assert_eq!(
            h.snapshot_xmin_at(10),
            3,
            "a commit at the instant counts as done"
        );
        assert_eq!(h.snapshot_xmin_at(25), 4, "none in flight: the next id");
    }
}
