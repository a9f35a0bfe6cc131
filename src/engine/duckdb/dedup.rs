//! One version per key out of a batch that can hold several (a change log's, a set of files'),
//! and how a batch too large to deduplicate at once is cut into passes by id range.
//!
//! Invariant: passes split the batch by key, never a key across two passes, so each pass's
//! deduplication and write see every version of the keys they touch and the passes together
//! write what one pass over the whole batch would.

use crate::row::MIRROR_ROW;

/// DuckDB's memory per key for one pass of [`latest_per_key`] and the write that takes its
/// rows, as the pass size is derived from it (a pass takes at most limit / this many rows).
/// Measured on `scenarios/bench/rows_100m.toml` (cdc's first read: 100M keys, DuckDB given
/// 3 GiB, its other tables spilled): one pass failed with DuckDB's out-of-memory error, so did
/// passes of 25M keys (128 bytes here); passes of 4M keys ran through (peak 10.75 GB resident).
/// (The aggregate alone keeps nine `arg_max` states per key; what else a pass holds beside
/// the spilled tables was not broken down.)
pub(super) const DEDUP_BYTES_PER_KEY: u64 = 768;

/// One row per key of a batch in which no two rows share an lsn (a change log's: one row per
/// change), its latest version: the rows whose lsn is their key's highest. A hash aggregate
/// keeping one `max` per key finds them and a semi-join picks them out, where
/// [`latest_per_key`] keeps an `arg_max` state per column and key: on a million changes, 193 ms against
/// 302 ms. Both spill past DuckDB's memory limit (an aggregate and a hash join).
pub(super) fn latest_per_key_of_log(relation: &str) -> String {
    let columns: Vec<String> = MIRROR_ROW
        .iter()
        .map(|c| c.name())
        .chain(["gone"])
        .map(|c| format!("b.{c}"))
        .collect();
    format!(
        "(SELECT {} FROM {relation} AS b SEMI JOIN \
         (SELECT id, max(lsn) AS lsn FROM {relation} GROUP BY id) AS latest \
         ON b.id = latest.id AND b.lsn = latest.lsn)",
        columns.join(", ")
    )
}

/// One row per key of `relation`, its latest version (the highest lsn): a hash aggregate,
/// which DuckDB spills past its memory limit. (A `row_number()` window partitioned by key
/// did the same but could not spill: a first `cdc` read of 30M rows failed with DuckDB given
/// 900 MiB, and of 100M rows with 3 GiB.) Each non-key column is taken from the row with the
/// highest lsn, which is unique per key.
pub(super) fn latest_per_key(relation: &str) -> String {
    let picked: Vec<String> = MIRROR_ROW[2..]
        .iter()
        .map(|c| c.name())
        .chain(["gone"])
        .map(|c| format!("arg_max({c}, lsn) AS {c}"))
        .collect();
    format!(
        "(SELECT id, max(lsn) AS lsn, {} FROM {relation} GROUP BY id)",
        picked.join(", ")
    )
}

/// The id ranges (inclusive) a batch of `rows` rows with ids in `low..=high` is written in,
/// at most `rows_per_pass` rows each if its ids are spread evenly: one range (the whole batch)
/// when it fits, else equal slices of the id range, covering it without gaps or overlaps.
pub(super) fn id_ranges(rows: u64, low: i64, high: i64, rows_per_pass: u64) -> Vec<(i64, i64)> {
    let passes = rows.div_ceil(rows_per_pass.max(1)).max(1);
    let span = (high as i128 - low as i128 + 1).max(1);
    let passes = (passes as i128).min(span);
    let mut ranges = Vec::with_capacity(passes as usize);
    let mut start = low as i128;
    for pass in 1..=passes {
        // The end of pass p is low + p·span/p_total − 1, so the slices differ by at most one id.
        let end = low as i128 + span * pass / passes - 1;
        ranges.push((start as i64, end as i64));
        start = end + 1;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_deduplicated_by_its_lsns_keeps_what_the_aggregate_keeps() {
        let mut engine = super::super::DuckDbEngine::open_in_memory().unwrap();
        // 20,000 changes of 3,000 keys, in a shuffled order, each with its own lsn; a key's
        // latest change is sometimes a delete.
        engine
            .conn
            .execute_batch(
                "CREATE TABLE batch AS SELECT (i * 7919) % 3000 AS id, i AS lsn, i * 10 AS updated_at, \
                 (i % 4)::INTEGER AS writer, (i * 31) % 1000 AS value, i % 97 AS event_time, \
                 i % 5 = 0 AS gone FROM range(20000) r(i) ORDER BY hash(i)",
            )
            .unwrap();
        let columns = "id, lsn, updated_at, writer, value, event_time, gone::BIGINT";
        let by_lsn: Vec<[i64; 7]> = engine.sorted_rows(&latest_per_key_of_log("batch"), columns);
        assert_eq!(by_lsn.len(), 3000, "one row per key");
        assert!(by_lsn.iter().any(|r| r[6] == 1) && by_lsn.iter().any(|r| r[6] == 0));
        assert_eq!(
            by_lsn,
            engine.sorted_rows(&latest_per_key("batch"), columns)
        );
    }

    #[test]
    fn a_batch_that_fits_is_one_range_over_all_its_ids() {
        assert_eq!(id_ranges(1_000, 5, 900, 1_000), vec![(5, 900)]);
        assert_eq!(id_ranges(0, 0, 0, 1_000), vec![(0, 0)]);
    }

    #[test]
    fn a_larger_batch_is_cut_into_adjacent_equal_id_ranges() {
        // 10 rows at 4 per pass: 3 passes over ids 1..=10.
        assert_eq!(id_ranges(10, 1, 10, 4), vec![(1, 3), (4, 6), (7, 10)]);
    }

    #[test]
    fn ranges_never_outnumber_the_ids() {
        // Many versions of two keys: two passes, one key each.
        assert_eq!(id_ranges(1_000, 7, 8, 10), vec![(7, 7), (8, 8)]);
    }

    #[test]
    fn ranges_cover_extreme_ids_without_overflow() {
        let ranges = id_ranges(u64::MAX, i64::MIN, i64::MAX, 1 << 62);
        assert_eq!(ranges.first().unwrap().0, i64::MIN);
        assert_eq!(ranges.last().unwrap().1, i64::MAX);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1 + 1, pair[1].0);
        }
    }
}
