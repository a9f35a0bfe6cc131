//! Histories a real database could produce: row locks under READ COMMITTED, transactions of
//! several rows, and every change the scenario asked for. Each check is computed here from the
//! history's columns, independently of the generator and of `sim::audit`.

mod common;

use std::collections::BTreeMap;

use incrlab::sim::{History, Op};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// A hot-key scenario with long transactions: the case the row-lock rule changes most.
fn hot_keys(rows_per_tx: &str, seed: u64) -> String {
    format!(
        r#"
name = "hot"
seed = {seed}
[table]
rows = 300
[schedule]
runs = 12
interval = "30s"
[churn]
inserts = 20
updates = 120
deletes = 6
key_skew = 1.3
[writers]
count = 2
offset = {{ dist = "normal", mean = "0s", std = "1s" }}
[transactions]
commit_delay = {{ dist = "exponential", mean = "2s" }}
late_fraction = 0.15
late_delay = {{ dist = "uniform", low = "20s", high = "90s" }}
rows = {rows_per_tx}
[[strategy]]
kind = "cdc"
"#
    )
}

/// Per key, the index of each of its changes, in lsn order.
fn by_key(h: &History) -> BTreeMap<i64, Vec<usize>> {
    let mut out: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for i in 0..h.len() {
        out.entry(h.id[i]).or_default().push(i);
    }
    out
}

/// The first change whose statement ran before its key's previous change (by another
/// transaction) committed, or whose statement, commit and lsn are not in the same order as the
/// previous change's.
fn first_overlap(h: &History) -> Option<String> {
    for (id, changes) in by_key(h) {
        for w in changes.windows(2) {
            let (a, b) = (w[0], w[1]);
            if h.xid[a] == h.xid[b] {
                continue; // one transaction changing the key twice holds its lock throughout
            }
            let waited = h.statement_us[b] >= h.commit_us[a];
            let ordered = h.statement_us[b] >= h.statement_us[a]
                && h.commit_us[b] >= h.commit_us[a]
                && h.lsn(b) > h.lsn(a);
            if !(waited && ordered) {
                return Some(format!(
                    "key {id}: lsn {} (statement {}, commit {}) after lsn {} (statement {}, commit {})",
                    h.lsn(b), h.statement_us[b], h.commit_us[b], h.lsn(a), h.statement_us[a], h.commit_us[a]
                ));
            }
        }
    }
    None
}

#[test]
fn no_key_has_overlapping_transactions_on_hot_keys() {
    let h = incrlab::runner::simulate(&common::from_toml(&hot_keys("1", 4)), None);
    assert_eq!(first_overlap(&h), None);
}

#[test]
fn a_change_that_waited_keeps_the_updated_at_of_its_begin() {
    let loaded = common::from_toml(&hot_keys("1", 4));
    let h = incrlab::runner::simulate(&loaded, None);
    let waited: Vec<usize> = (0..h.len())
        .filter(|&i| h.statement_us[i] > h.begin_us[i])
        .collect();
    assert!(
        waited.len() > 20,
        "hot keys with long transactions make changes wait; {} did",
        waited.len()
    );
    for &i in &waited {
        // The clock reading is the one at begin, not at the statement.
        assert_eq!(h.updated_at_us[i], h.begin_us[i] + h.clock_offset_us[i]);
        // It commits its own delay after the lock was granted.
        assert!(h.commit_us[i] >= h.statement_us[i]);
    }
    // …so some waiting change stamps an older time than the version it replaced.
    let older = by_key(&h).values().any(|changes| {
        changes
            .windows(2)
            .any(|w| h.updated_at_us[w[1]] < h.updated_at_us[w[0]])
    });
    assert!(older, "no waiting change stamped below its predecessor");
}

#[test]
fn rows_of_one_transaction_share_begin_commit_writer_and_stamp_and_take_consecutive_lsns() {
    let loaded = common::from_toml(&hot_keys(r#"{ dist = "uniform", low = 1, high = 8 }"#, 9));
    let h = incrlab::runner::simulate(&loaded, None);
    let mut by_xid: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for i in 0..h.len() {
        by_xid.entry(h.xid[i]).or_default().push(i);
    }
    let multi = by_xid.values().filter(|rows| rows.len() > 1).count();
    assert!(multi > 50, "only {multi} transactions of several rows");
    for (xid, rows) in by_xid.iter().filter(|(&xid, _)| xid > 0) {
        let first = rows[0];
        for &i in rows {
            assert_eq!(
                (
                    h.begin_us[i],
                    h.statement_us[i],
                    h.commit_us[i],
                    h.writer[i],
                    h.updated_at_us[i]
                ),
                (
                    h.begin_us[first],
                    h.statement_us[first],
                    h.commit_us[first],
                    h.writer[first],
                    h.updated_at_us[first]
                ),
                "xid {xid}"
            );
        }
        assert!(
            rows.windows(2).all(|w| h.lsn(w[1]) == h.lsn(w[0]) + 1),
            "xid {xid} lsns are not consecutive"
        );
        assert!(rows.len() <= 8);
    }
    assert_eq!(first_overlap(&h), None);
}

#[test]
fn every_change_the_scenario_asked_for_is_in_the_history() {
    // Counts, so the expected totals are plain arithmetic: 12 intervals of 20 inserts, 120
    // updates and 6 deletes on a table that never runs out of live rows.
    let loaded = common::from_toml(&hot_keys("3", 2));
    let h = incrlab::runner::simulate(&loaded, None);
    let after_load = |op: Op, deleted: bool| {
        (0..h.len())
            .filter(|&i| h.commit_us[i] > 0 && h.op[i] == op && h.is_deleted[i] == deleted)
            .count()
    };
    assert_eq!(after_load(Op::Insert, false), 12 * 20);
    assert_eq!(after_load(Op::Update, false), 12 * 120);
    assert_eq!(after_load(Op::Delete, false), 12 * 6);
}

#[test]
fn deletes_of_busy_hot_keys_are_not_dropped() {
    // The hottest keys are nearly always in flight; before row locks a delete that found only
    // busy keys after 64 picks was silently dropped.
    let text = hot_keys("1", 8)
        .replace("deletes = 6", "deletes = 25")
        .replace("key_skew = 1.3", "key_skew = 3.0");
    let h = incrlab::runner::simulate(&common::from_toml(&text), None);
    let deletes = (0..h.len()).filter(|&i| h.op[i] == Op::Delete).count();
    assert_eq!(deletes, 12 * 25);
    assert_eq!(first_overlap(&h), None);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/row_locks.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn per_key_statements_commits_and_lsns_are_in_one_order(
        seed in any::<u64>(),
        skew in prop_oneof![Just(0.0), 0.5f64..3.0],
        updates in 0u64..200,
        deletes in 0u64..20,
        late in 0.0f64..0.5,
        max_rows in 1u64..20,
        soft in any::<bool>(),
    ) {
        let text = format!(
            r#"
name = "prop_locks"
seed = {seed}
[table]
rows = 100
[schedule]
runs = 6
interval = "10s"
[churn]
inserts = 10
updates = {updates}
deletes = {deletes}
delete_mode = "{mode}"
key_skew = {skew:.2}
[transactions]
commit_delay = {{ dist = "exponential", mean = "1s" }}
late_fraction = {late:.2}
late_delay = {{ dist = "uniform", low = "5s", high = "40s" }}
rows = {{ dist = "uniform", low = 1, high = {max_rows} }}
[[strategy]]
kind = "cdc"
"#,
            mode = if soft { "soft" } else { "hard" },
        );
        let h = incrlab::runner::simulate(&common::from_toml(&text), None);
        prop_assert_eq!(first_overlap(&h), None);
        prop_assert!(h.commit_us.iter().zip(h.commit_us.iter().skip(1)).all(|(a, b)| a <= b));
    }
}
