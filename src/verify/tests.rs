//! The oracle on hand-built histories and targets: every expected value here is read off the
//! small history below, not computed by the code under test.

use super::*;
use crate::engine::TargetRows;
use crate::row::{Column, MIRROR_ROW};

/// A change as the tests write it: (op, id, commit_us, value).
type Change = (Op, i64, i64, i64);

/// A history of `changes` in lsn order, every other column derived from the lsn so that no
/// two versions agree on any column by accident.
fn history(changes: &[Change]) -> History {
    history_with_soft_deletes(changes, &[])
}

/// [`history`], the changes at the lsns in `soft` being soft deletes (the row kept, flagged).
fn history_with_soft_deletes(changes: &[Change], soft: &[i64]) -> History {
    let mut h = History::default();
    for (i, &(op, id, commit, value)) in changes.iter().enumerate() {
        let lsn = i as i64 + 1;
        h.op.push(op);
        h.id.push(id);
        h.xid.push(lsn);
        h.begin_us.push(commit - 5);
        h.statement_us.push(commit - 5);
        h.commit_us.push(commit);
        h.writer.push(lsn as u32 % 3);
        h.clock_offset_us.push(0);
        h.updated_at_us.push(commit - 5 + lsn * 1000);
        h.event_time_us.push(id * 7_000);
        h.value.push(value);
        h.is_deleted.push(soft.contains(&lsn));
        h.max_id = h.max_id.max(id);
    }
    h
}

/// Keys 1–3 inserted at 0; key 2 updated and key 3 deleted at 10; key 4 inserted at 20.
/// As of t = 10: key 1 at lsn 1, key 2 at lsn 4, key 3 gone, key 4 not yet there.
fn world() -> History {
    history(&[
        (Op::Insert, 1, 0, 100),
        (Op::Insert, 2, 0, 200),
        (Op::Insert, 3, 0, 300),
        (Op::Update, 2, 10, 201),
        (Op::Delete, 3, 10, 0),
        (Op::Insert, 4, 20, 400),
    ])
}

/// The full mirror row of history version `lsn`.
fn row_of(h: &History, lsn: i64) -> Vec<i64> {
    MIRROR_ROW
        .iter()
        .map(|c| c.of(h, lsn as usize - 1))
        .collect()
}

fn target(rows: &[Vec<i64>]) -> TargetRows {
    TargetRows {
        id: rows.iter().map(|r| r[0]).collect(),
        columns: MIRROR_ROW[1..]
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, rows.iter().map(|r| r[i + 1]).collect()))
            .collect(),
    }
}

fn verdict_at(h: &History, time_us: i64, rows: &[Vec<i64>]) -> Verdict {
    let mut oracle = Oracle::new(h);
    oracle.advance_to(h, time_us);
    oracle.check(h, &target(rows), 10)
}

fn divergence(missing: u64, stale: u64, ghost: u64, duplicate: u64) -> Divergence {
    Divergence {
        missing,
        stale,
        ghost,
        duplicate,
    }
}

#[test]
fn the_full_reprocess_of_the_source_is_exact() {
    let h = world();
    let v = verdict_at(&h, 10, &[row_of(&h, 1), row_of(&h, 4)]);
    assert_eq!(v.divergence, Divergence::default());
    assert!(v.samples.is_empty());
}

#[test]
fn a_live_key_without_a_row_is_missing() {
    let h = world();
    let v = verdict_at(&h, 10, &[row_of(&h, 4)]);
    assert_eq!(v.divergence, divergence(1, 0, 0, 0));
    assert_eq!(v.samples[0].id, 1);
    assert_eq!(v.samples[0].class, DivergenceClass::Missing);
    assert_eq!(v.samples[0].found_lsn, None);
}

#[test]
fn an_older_version_is_stale() {
    let h = world();
    let v = verdict_at(&h, 10, &[row_of(&h, 1), row_of(&h, 2)]);
    assert_eq!(v.divergence, divergence(0, 1, 0, 0));
    let k = &v.samples[0];
    assert_eq!(
        (k.id, k.class, k.expected_lsn, k.found_lsn),
        (2, DivergenceClass::Stale, Some(4), Some(2))
    );
}

#[test]
fn the_right_version_with_a_wrong_value_is_stale_and_names_the_column() {
    let h = world();
    let mut wrong_value = row_of(&h, 4);
    wrong_value[4] = 999; // the value column of MIRROR_ROW
    assert_eq!(MIRROR_ROW[4], Column::Value);
    let v = verdict_at(&h, 10, &[row_of(&h, 1), wrong_value]);
    assert_eq!(v.divergence, divergence(0, 1, 0, 0));
    assert_eq!(v.samples[0].found_lsn, Some(4));
    assert_eq!(v.samples[0].wrong_columns, vec!["value".to_string()]);
}

#[test]
fn a_deleted_key_still_held_is_a_ghost() {
    let h = world();
    let v = verdict_at(&h, 10, &[row_of(&h, 1), row_of(&h, 4), row_of(&h, 3)]);
    assert_eq!(v.divergence, divergence(0, 0, 1, 0));
    assert_eq!(v.samples[0].class, DivergenceClass::Ghost);
}

#[test]
fn a_key_the_source_does_not_have_yet_is_a_ghost() {
    let h = world();
    let v = verdict_at(&h, 10, &[row_of(&h, 1), row_of(&h, 4), row_of(&h, 6)]);
    assert_eq!(v.divergence, divergence(0, 0, 1, 0));
}

#[test]
fn a_key_the_history_never_had_is_a_ghost_with_its_surplus() {
    let h = world();
    let mut stranger = row_of(&h, 1);
    stranger[0] = 77;
    let v = verdict_at(
        &h,
        10,
        &[row_of(&h, 1), row_of(&h, 4), stranger.clone(), stranger],
    );
    assert_eq!(v.divergence, divergence(0, 0, 1, 1));
    assert_eq!(v.samples[0].id, 77);
}

#[test]
fn a_key_present_three_times_adds_two_surplus() {
    let h = world();
    let r = row_of(&h, 1);
    let v = verdict_at(&h, 10, &[r.clone(), r.clone(), r, row_of(&h, 4)]);
    assert_eq!(v.divergence, divergence(0, 0, 0, 2));
    assert_eq!(v.samples[0].class, DivergenceClass::Duplicate);
}

#[test]
fn every_order_of_a_keys_rows_gives_the_same_verdict() {
    let h = world();
    // Key 2 held at its old and new versions; key 1 held twice at its only one.
    let rows = [row_of(&h, 2), row_of(&h, 4), row_of(&h, 1), row_of(&h, 1)];
    let expected = verdict_at(&h, 10, &rows);
    assert_eq!(expected.divergence, divergence(0, 0, 0, 2));
    let mut order = [0usize, 1, 2, 3];
    // Heap's algorithm: every permutation of the four rows.
    let mut c = [0usize; 4];
    let mut i = 0;
    let mut seen = 1;
    while i < 4 {
        if c[i] < i {
            order.swap(if i % 2 == 0 { 0 } else { c[i] }, i);
            let permuted: Vec<Vec<i64>> = order.iter().map(|&k| rows[k].clone()).collect();
            assert_eq!(verdict_at(&h, 10, &permuted), expected, "order {order:?}");
            seen += 1;
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    assert_eq!(seen, 24);
}

#[test]
fn a_stale_row_beside_the_right_one_is_a_duplicate_only() {
    let h = world();
    let v = verdict_at(&h, 10, &[row_of(&h, 2), row_of(&h, 4), row_of(&h, 1)]);
    assert_eq!(v.divergence, divergence(0, 0, 0, 1));
    assert_eq!(v.samples[0].held_lsns, vec![2, 4]);
}

#[test]
fn corrupting_any_single_column_of_any_row_is_caught() {
    let h = world();
    let good = [row_of(&h, 1), row_of(&h, 4)];
    for row in 0..good.len() {
        for column in 0..MIRROR_ROW.len() {
            let mut rows = good.to_vec();
            rows[row][column] += 1;
            let v = verdict_at(&h, 10, &rows);
            assert!(
                !v.divergence.is_exact(),
                "row {row} with {} off by one passed",
                MIRROR_ROW[column].name()
            );
        }
    }
}

#[test]
fn ages_count_consecutive_wrong_checks_and_reset_when_right() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    let mut ages = Vec::new();
    let stale = target(&[row_of(&h, 1), row_of(&h, 2)]);
    oracle.check(&h, &stale, 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 1);
    oracle.check(&h, &stale, 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 2);
    oracle.check(&h, &target(&[row_of(&h, 1), row_of(&h, 4)]), 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 0);
}

#[test]
fn an_exact_target_keeps_no_ages_and_a_key_wrong_again_starts_over() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    let mut ages = Vec::new();
    let exact = target(&[row_of(&h, 1), row_of(&h, 4)]);
    oracle.check(&h, &exact, 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 0);
    assert!(ages.is_empty());
    // Key 2 stale, key 1 right; then key 1 missing too, while key 2 stays stale.
    oracle.check(&h, &target(&[row_of(&h, 1), row_of(&h, 2)]), 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 1);
    oracle.check(&h, &target(&[row_of(&h, 2)]), 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 2);
    assert_eq!((ages[1], ages[2]), (1, 2));
    oracle.check(&h, &exact, 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 0);
    assert!(ages.is_empty());
    oracle.check(&h, &target(&[row_of(&h, 4)]), 0);
    assert_eq!(oracle.age_wrong_keys(&mut ages), 1, "key 1 starts over");
}

#[test]
fn samples_share_their_room_between_classes() {
    let h = world();
    // Key 1 missing, key 2 stale, key 3 ghost.
    let rows = [row_of(&h, 2), row_of(&h, 3)];
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    let v = oracle.check(&h, &target(&rows), 2);
    assert_eq!(v.divergence, divergence(1, 1, 1, 0));
    let classes: Vec<DivergenceClass> = v.samples.iter().map(|k| k.class).collect();
    assert_eq!(
        classes,
        vec![DivergenceClass::Missing, DivergenceClass::Stale]
    );
}

/// A target that keeps only some columns (an outside pipeline's may): `lsn` and `value`.
fn partial(h: &History, lsns: &[i64], value_of: impl Fn(i64) -> i64) -> TargetRows {
    TargetRows {
        id: lsns.iter().map(|&l| h.id[l as usize - 1]).collect(),
        columns: vec![
            (Column::Lsn, lsns.to_vec()),
            (Column::Value, lsns.iter().map(|&l| value_of(l)).collect()),
        ],
    }
}

#[test]
fn a_target_with_some_columns_is_compared_on_exactly_those() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    let right = partial(&h, &[1, 4], |l| h.value[l as usize - 1]);
    assert!(oracle.check(&h, &right, 0).divergence.is_exact());
    let wrong_value = partial(&h, &[1, 4], |l| h.value[l as usize - 1] + (l == 4) as i64);
    let v = oracle.check(&h, &wrong_value, 10);
    assert_eq!(v.divergence, divergence(0, 1, 0, 0));
    assert_eq!(v.samples[0].wrong_columns, vec!["value".to_string()]);
}

#[test]
fn a_target_fed_in_batches_gets_the_verdict_of_the_whole() {
    let h = world();
    // As of t = 10: key 1 exact (and duplicated by a stale copy), key 2 stale, key 3 a ghost,
    // key 4 not yet inserted (a ghost too), key 9 foreign. The batches cut between the two
    // rows of key 1, and the exact one comes second.
    let rows = [
        row_of(&h, 2),
        row_of(&h, 3),
        row_of(&h, 1),
        row_of(&h, 1),
        row_of(&h, 6),
        vec![9, 1, 1, 1, 1, 1],
    ];
    let mut stale_copy = rows[2].clone();
    stale_copy[4] += 1; // value
    let rows = [
        rows[0].clone(),
        rows[1].clone(),
        stale_copy,
        rows[3].clone(),
        rows[4].clone(),
        rows[5].clone(),
    ];
    let whole = verdict_at(&h, 10, &rows);
    assert_eq!(whole.divergence, divergence(0, 1, 3, 1));

    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    oracle.begin_check();
    for batch in rows.chunks(3) {
        oracle.feed(&h, &target(batch));
    }
    // Samples need only the rows of the sampled keys.
    let ids = oracle.sample_ids(10);
    let mut kept = TargetRows::default();
    for batch in rows.chunks(2) {
        kept.extend_from(&target(batch), |id| ids.contains(&id));
    }
    let batched = oracle.verdict(&h, &kept, 10);
    assert_eq!(batched, whole);
}

#[test]
fn a_new_check_forgets_the_batches_of_the_last() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    oracle.begin_check();
    oracle.feed(&h, &target(&[row_of(&h, 1), row_of(&h, 1)]));
    oracle.begin_check();
    oracle.feed(&h, &target(&[row_of(&h, 1), row_of(&h, 4)]));
    let v = oracle.verdict(&h, &TargetRows::default(), 0);
    assert!(v.divergence.is_exact(), "{:?}", v.divergence);
}

/// The print of the right target at each time of `world()`, from its rows as listed by hand.
fn right_print(h: &History, lsns: &[i64]) -> MirrorPrint {
    let rows: Vec<Vec<i64>> = lsns.iter().map(|&l| row_of(h, l)).collect();
    MirrorPrint::of(&target(&rows))
}

#[test]
fn the_expected_print_follows_inserts_updates_and_deletes() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    assert_eq!(oracle.expected_print(), MirrorPrint::default());
    oracle.advance_to(&h, 0);
    assert_eq!(oracle.expected_print(), right_print(&h, &[1, 2, 3]));
    oracle.advance_to(&h, 10);
    assert_eq!(oracle.expected_print(), right_print(&h, &[1, 4]));
    oracle.advance_to(&h, 20);
    assert_eq!(oracle.expected_print(), right_print(&h, &[1, 4, 6]));
}

#[test]
fn a_soft_deleted_version_leaves_the_expected_print() {
    // Key 1's update at 10 (lsn 3) is a soft delete: the key is gone from the right target.
    let h = history_with_soft_deletes(
        &[
            (Op::Insert, 1, 0, 100),
            (Op::Insert, 2, 0, 200),
            (Op::Update, 1, 10, 101),
        ],
        &[3],
    );
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    assert_eq!(oracle.expected_print(), right_print(&h, &[2]));
}

#[test]
fn a_matching_print_completes_the_check_as_the_rows_would() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    let mut ages = Vec::new();
    // A wrong check first, so the matching one must undo what it left.
    oracle.check(
        &h,
        &target(&[row_of(&h, 2), row_of(&h, 2), row_of(&h, 5)]),
        0,
    );
    assert_eq!(oracle.age_wrong_keys(&mut ages), 1);
    assert!(oracle.accept_matching_print(right_print(&h, &[1, 4])));
    let v = oracle.verdict(&h, &TargetRows::default(), 10);
    assert_eq!(v.divergence, Divergence::default());
    assert_eq!(v.wrong_keys, 0);
    assert!(oracle.wrong_keys().is_empty());
    assert_eq!(oracle.age_wrong_keys(&mut ages), 0);
    assert_eq!(oracle.finding_for(1).held, 1);
    // The next check starts from nothing again.
    let v = oracle.check(&h, &target(&[row_of(&h, 1), row_of(&h, 2)]), 10);
    assert_eq!(v.divergence, divergence(0, 1, 0, 0));
}

#[test]
fn a_print_that_differs_leaves_the_check_to_the_rows() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    // Key 2 stale: one column's worth of difference is enough to refuse the shortcut.
    let stale = target(&[row_of(&h, 1), row_of(&h, 2)]);
    assert!(!oracle.accept_matching_print(MirrorPrint::of(&stale)));
    oracle.feed(&h, &stale);
    let v = oracle.verdict(&h, &stale, 10);
    assert_eq!(v.divergence, divergence(0, 1, 0, 0));
}

#[test]
fn a_target_fed_as_keys_and_row_hashes_gets_the_verdict_of_its_rows() {
    let h = world();
    let targets = [
        vec![row_of(&h, 1), row_of(&h, 4)],
        vec![row_of(&h, 1), row_of(&h, 2)],
        vec![row_of(&h, 1), row_of(&h, 4), row_of(&h, 4), row_of(&h, 3)],
        vec![row_of(&h, 6)],
        vec![],
    ];
    for rows in targets {
        let rows = target(&rows);
        let mut oracle = Oracle::new(&h);
        oracle.advance_to(&h, 10);
        let by_rows = oracle.check(&h, &rows, 0);
        oracle.begin_check();
        oracle.feed_key_hashes(&crate::engine::KeyHashes::of(&rows));
        assert_eq!(oracle.verdict(&h, &rows, 0), by_rows, "{rows:?}");
    }
}

/// Targets wrong in every way the oracle knows, for the checks set aside below.
fn wrong_targets(h: &History) -> Vec<TargetRows> {
    let mut foreign = row_of(h, 1);
    foreign[0] = 9; // a key the history never had
    vec![
        target(&[row_of(h, 4)]),                                      // key 1 missing
        target(&[row_of(h, 1), row_of(h, 2)]),                        // key 2 stale
        target(&[row_of(h, 1), row_of(h, 4), row_of(h, 3)]),          // key 3 a ghost
        target(&[row_of(h, 1), row_of(h, 4), row_of(h, 4)]),          // key 2 twice
        target(&[row_of(h, 1), row_of(h, 4), row_of(h, 6)]),          // key 4 too early
        target(&[row_of(h, 1), row_of(h, 4), foreign.clone()]),       // key 9 foreign
        target(&[row_of(h, 2), row_of(h, 2), row_of(h, 5), foreign]), // all at once
    ]
}

#[test]
fn a_check_set_aside_and_reinstated_gives_the_verdict_it_gave() {
    let h = world();
    let right = target(&[row_of(&h, 1), row_of(&h, 4)]);
    for rows in wrong_targets(&h) {
        let mut oracle = Oracle::new(&h);
        oracle.advance_to(&h, 10);
        let first = oracle.check(&h, &rows, 10);
        let (wrong, samples) = (oracle.wrong_keys(), oracle.sample_ids(10));
        assert!(!first.divergence.is_exact(), "{rows:?}");
        let saved = oracle.save_check();
        // Another target's check in between, as the other lanes' are.
        assert!(oracle.check(&h, &right, 10).divergence.is_exact());
        oracle.restore_check(&saved).unwrap();
        assert_eq!(oracle.verdict(&h, &rows, 10), first, "{rows:?}");
        assert_eq!(oracle.wrong_keys(), wrong, "{rows:?}");
        assert_eq!(oracle.sample_ids(10), samples, "{rows:?}");
    }
}

#[test]
fn a_check_settled_by_its_print_is_reinstated_as_settled() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    assert!(oracle.accept_matching_print(right_print(&h, &[1, 4])));
    let saved = oracle.save_check();
    oracle.check(&h, &wrong_targets(&h)[6], 0);
    oracle.restore_check(&saved).unwrap();
    assert_eq!(
        oracle.verdict(&h, &TargetRows::default(), 10),
        Verdict::default()
    );
    assert_eq!(oracle.finding_for(1).held, 1);
    assert!(oracle.wrong_keys().is_empty());
}

#[test]
fn a_check_is_reinstated_only_where_the_source_stood_when_it_was_saved() {
    let h = world();
    let mut oracle = Oracle::new(&h);
    oracle.advance_to(&h, 10);
    oracle.check(&h, &wrong_targets(&h)[0], 0);
    let saved = oracle.save_check();
    oracle.advance_to(&h, 20);
    assert!(oracle.restore_check(&saved).is_err());
}
