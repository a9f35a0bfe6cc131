//! The polars engine's own crash semantics, against hand-counted expectations: what a commit
//! makes durable, what a crash takes with it.

use super::{ntile, PolarsEngine};
use crate::engine::{
    ReadRequest, ReadSpec, Source, TargetContents, TargetId, TargetStorage, Targets,
};
use crate::error::Error;
use crate::scenario::{Scenario, TargetModel, WriteMode};
use crate::sim::History;

const ROWS: usize = 20;

fn history() -> History {
    let text = format!(
        "name = \"crash\"\nseed = 3\n[table]\nrows = {ROWS}\n[schedule]\nruns = 1\ninterval = \"1min\"\n[[strategy]]\nkind = \"full\"\n"
    );
    let scenario = Scenario::parse(std::path::Path::new("crash.toml"), &text).unwrap();
    crate::sim::generate(&scenario, scenario.seed)
}

/// An engine with targets in `dir`, the initial table loaded, and an empty mirror target.
fn loaded_with_a_target_in(dir: &std::path::Path) -> (PolarsEngine, TargetId) {
    let mut engine = PolarsEngine::open(TargetStorage::Files(dir));
    let history = history();
    engine
        .apply_changes(&history, history.committed_between(i64::MIN, 0))
        .unwrap();
    let t = TargetId(1);
    engine.create_target(t, TargetModel::Mirror).unwrap();
    (engine, t)
}

fn rows_held(engine: &mut PolarsEngine, target: TargetId) -> usize {
    match engine.target_contents(target).unwrap() {
        TargetContents::Mirror(rows) => rows.len(),
        TargetContents::Totals(_) => unreachable!("a mirror"),
    }
}

fn read_all(engine: &mut PolarsEngine, target: TargetId) {
    let all = ReadRequest {
        spec: ReadSpec::All,
        want_maxima: true,
    };
    engine.read(target, all).unwrap();
}

#[test]
fn a_committed_target_survives_a_crash_and_an_open_transaction_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, t) = loaded_with_a_target_in(dir.path());
    // Committed on its own: the whole table and a state.
    read_all(&mut engine, t);
    engine.write(t, WriteMode::Overwrite).unwrap();
    engine.save_state(t, "first").unwrap();
    assert_eq!(rows_held(&mut engine, t), ROWS);

    // In a transaction: every row appended again, a new state, then the process dies.
    engine.begin(t).unwrap();
    read_all(&mut engine, t);
    engine.write(t, WriteMode::Append).unwrap();
    engine.save_state(t, "second").unwrap();
    assert_eq!(
        rows_held(&mut engine, t),
        2 * ROWS,
        "the transaction sees its own writes"
    );
    assert_eq!(engine.load_state(t).unwrap().as_deref(), Some("second"));
    engine.crash_and_reopen(t).unwrap();

    assert_eq!(rows_held(&mut engine, t), ROWS);
    assert_eq!(engine.load_state(t).unwrap().as_deref(), Some("first"));
    // The staged batch died with the process too.
    assert!(matches!(
        engine.write(t, WriteMode::Append),
        Err(Error::Invariant(_))
    ));
    // And a transaction can be opened again: the crash closed the old one.
    engine.begin(t).unwrap();
    engine.commit(t).unwrap();
}

#[test]
fn a_write_outside_a_transaction_is_durable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, t) = loaded_with_a_target_in(dir.path());
    read_all(&mut engine, t);
    engine.stage_chunks(t, 4).unwrap();
    // Two of four chunks land, each its own commit, then the crash.
    engine.write_chunk(t, WriteMode::Overwrite, 1).unwrap();
    engine.write_chunk(t, WriteMode::Overwrite, 2).unwrap();
    engine.crash_and_reopen(t).unwrap();
    // ntile(4) of 20 rows: 5 rows a chunk.
    assert_eq!(rows_held(&mut engine, t), 10);
}

#[test]
fn a_crash_needs_targets_in_files() {
    let mut engine = PolarsEngine::open(TargetStorage::Memory);
    engine
        .create_target(TargetId(1), TargetModel::Mirror)
        .unwrap();
    assert!(matches!(
        engine.crash_and_reopen(TargetId(1)),
        Err(Error::Invariant(_))
    ));
}

#[test]
fn chunks_are_dealt_as_ntile_deals_them() {
    // 10 rows in 4: 3, 3, 2, 2 (the first 10 % 4 = 2 chunks one larger).
    assert_eq!(ntile(10, 4), vec![(0, 3), (3, 3), (6, 2), (8, 2)]);
    // Fewer rows than chunks: one row each, then empty chunks.
    assert_eq!(ntile(2, 4), vec![(0, 1), (1, 1), (2, 0), (2, 0)]);
    assert_eq!(ntile(0, 3), vec![(0, 0); 3]);
}
