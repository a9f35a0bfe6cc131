//! The simulator follows the time model of DESIGN.md.

mod common;

use incrlab::sim::Op;

#[test]
fn lsn_follows_commit_order() {
    let history = incrlab::runner::simulate(&common::load("late_arrivals.toml"), None);
    // Row i is lsn i + 1 (`History::lsn`), so rows in commit order are lsns in commit order.
    assert!(history
        .commit_us
        .iter()
        .zip(history.commit_us.iter().skip(1))
        .all(|(a, b)| a <= b));
}

#[test]
fn ids_are_drawn_at_begin_so_they_become_visible_out_of_order() {
    let history = incrlab::runner::simulate(&common::load("late_arrivals.toml"), None);
    let mut inserts: Vec<(i64, i64, i64)> = (0..history.len())
        .filter(|&i| history.op[i] == Op::Insert)
        .map(|i| (history.begin_us[i], history.id[i], history.commit_us[i]))
        .collect();
    inserts.sort();
    // In begin order ids ascend…
    assert!(inserts.windows(2).all(|w| w[0].1 < w[1].1));
    // …but in commit order they do not.
    let ids_in_commit_order: Vec<i64> = (0..history.len())
        .filter(|&i| history.op[i] == Op::Insert)
        .map(|i| history.id[i])
        .collect();
    assert!(ids_in_commit_order.windows(2).any(|w| w[0] > w[1]));
}

#[test]
fn updated_at_is_the_writer_clock_truncated_to_the_granularity() {
    let loaded = common::load("clock_skew.toml");
    let history = incrlab::runner::simulate(&loaded, None);
    let g = loaded.scenario.timestamps.granularity.0;
    for i in 0..history.len() {
        let clock = history.begin_us[i] + history.clock_offset_us[i];
        assert_eq!(history.updated_at_us[i], clock.div_euclid(g) * g, "row {i}");
    }
    // Writer 2's clock runs 5 s ahead.
    let fast = (0..history.len())
        .find(|&i| history.writer[i] == 2 && history.begin_us[i] > 0)
        .unwrap();
    assert_eq!(history.clock_offset_us[fast], 5_000_000);
}

#[test]
fn no_change_touches_a_key_that_is_not_live_when_it_commits() {
    let loaded = common::from_toml(
        r#"
        name = "churny"
        seed = 3
        [table]
        rows = 200
        [schedule]
        runs = 20
        interval = "10s"
        [churn]
        inserts = 30
        updates = 40
        deletes = 20
        key_skew = 1.2
        [transactions]
        commit_delay = { dist = "exponential", mean = "2s" }
        late_fraction = 0.2
        late_delay = { dist = "uniform", low = "10s", high = "40s" }
        [[strategy]]
        kind = "cdc"
        "#,
    );
    let history = incrlab::runner::simulate(&loaded, None);
    let mut live = vec![false; history.max_id as usize + 1];
    for i in 0..history.len() {
        let id = history.id[i] as usize;
        match history.op[i] {
            Op::Insert => {
                assert!(!live[id], "id {id} inserted twice");
                live[id] = true;
            }
            Op::Update => {
                assert!(
                    live[id],
                    "update of id {id} which is not live at lsn {}",
                    history.lsn(i)
                );
                if history.is_deleted[i] {
                    live[id] = false;
                }
            }
            Op::Delete => {
                assert!(live[id], "delete of id {id} which is not live");
                live[id] = false;
            }
        }
    }
}

#[test]
fn parquet_export_holds_every_change() {
    let loaded = common::load("quickstart.toml");
    let history = incrlab::runner::simulate(&loaded, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.parquet");
    incrlab::sim::write_history_parquet(&history, &path).unwrap();
    let frame = incrlab::sim::history_frame(&history).unwrap();
    assert_eq!(frame.height(), history.len());
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
}
