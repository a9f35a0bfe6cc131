//! The ground truth: every row version the source ever had, as columns, in commit (lsn) order.
//!
//! Row `i` of every column describes one committed change; `lsn[i] == i + 1`. Because the
//! columns are in commit order, "what committed in `(a, b]`" is one contiguous slice, which is
//! how the source is advanced run by run without searching.

/// What a change did to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Op {
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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub lsn: Vec<i64>,
    pub op: Vec<Op>,
    pub id: Vec<i64>,
    /// The transaction's id, drawn at begin (PostgreSQL's xid): rows of one transaction share it.
    pub xid: Vec<i64>,
    /// True time the transaction began.
    pub begin_us: Vec<i64>,
    /// True time the change's statement ran: its begin, or, when it waited on a row lock, the
    /// commit of the change it waited for.
    pub statement_us: Vec<i64>,
    /// True time it committed; visible to readers from here on.
    pub commit_us: Vec<i64>,
    pub writer: Vec<u32>,
    /// The writer's clock offset at begin (jitter included): `updated_at ≈ begin + offset`.
    pub clock_offset_us: Vec<i64>,
    /// Writer clock at begin, truncated to the granularity.
    pub updated_at_us: Vec<i64>,
    /// Business time of the row.
    pub event_time_us: Vec<i64>,
    pub value: Vec<i64>,
    pub is_deleted: Vec<bool>,
    /// Scheduled run times `R_1 < … < R_n` (the drain adds more, the runner decides how many).
    pub run_times_us: Vec<i64>,
    /// Largest id ever allocated (ids are dense: `1..=max_id`).
    pub max_id: i64,
}

impl History {
    pub fn len(&self) -> usize {
        self.lsn.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lsn.is_empty()
    }

    /// Index range of the changes committed in `(after_us, up_to_us]`.
    pub fn committed_between(&self, after_us: i64, up_to_us: i64) -> std::ops::Range<usize> {
        let lo = self.commit_us.partition_point(|&c| c <= after_us);
        let hi = self.commit_us.partition_point(|&c| c <= up_to_us);
        lo..hi.max(lo)
    }

    /// The last commit time in the history (0 when empty).
    pub fn last_commit_us(&self) -> i64 {
        self.commit_us.last().copied().unwrap_or(0)
    }

    /// A hash over every column: two histories with the same digest are the same history.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"incrlab/history/v2");
        fn ints(h: &mut blake3::Hasher, name: &str, col: impl Iterator<Item = i64>) {
            h.update(name.as_bytes());
            for v in col {
                h.update(&v.to_le_bytes());
            }
        }
        ints(&mut h, "lsn", self.lsn.iter().copied());
        ints(&mut h, "op", self.op.iter().map(|o| *o as u8 as i64));
        ints(&mut h, "id", self.id.iter().copied());
        ints(&mut h, "xid", self.xid.iter().copied());
        ints(&mut h, "begin", self.begin_us.iter().copied());
        ints(&mut h, "statement", self.statement_us.iter().copied());
        ints(&mut h, "commit", self.commit_us.iter().copied());
        ints(&mut h, "writer", self.writer.iter().map(|&w| w as i64));
        ints(&mut h, "offset", self.clock_offset_us.iter().copied());
        ints(&mut h, "updated_at", self.updated_at_us.iter().copied());
        ints(&mut h, "event_time", self.event_time_us.iter().copied());
        ints(&mut h, "value", self.value.iter().copied());
        ints(
            &mut h,
            "is_deleted",
            self.is_deleted.iter().map(|&d| d as i64),
        );
        ints(&mut h, "runs", self.run_times_us.iter().copied());
        h.finalize().to_hex().to_string()
    }
}
