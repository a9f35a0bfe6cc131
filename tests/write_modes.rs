//! Every strategy with every write mode it makes sense with: a world where it is exact and one
//! where it diverges, the divergence asserted by class.

mod common;

use incrlab::results::RunResults;
use incrlab::verify::Divergence;

const INSERTS: &str = "[churn]\ninserts = 0.05\nupdates = 0.0\n";
const UPDATES: &str = "[churn]\ninserts = 0.02\nupdates = 0.05\n";
const HARD_DELETES: &str = "[churn]\ninserts = 0.0\nupdates = 0.0\ndeletes = 0.03\n";
const SOFT_DELETES: &str =
    "[churn]\ninserts = 0.0\nupdates = 0.0\ndeletes = 0.03\ndelete_mode = \"soft\"\n";
/// Updates, half of them landing by rewriting a file in place.
const REWRITTEN_UPDATES: &str =
    "[churn]\ninserts = 0.02\nupdates = 0.05\n[landing]\nrows_per_file = 50\nrewrite_fraction = 0.5\n";
/// Inserts, 30% of them with an event_time 150 s (two and a half intervals) behind.
const LATE_EVENTS: &str = "[churn]\ninserts = 0.05\nupdates = 0.0\n[event_time]\nlate_fraction = 0.3\nlateness = { dist = \"constant\", value = \"150s\" }\n";

/// Runs one strategy (given as the body of its `[[strategy]]` table) in `world`.
fn run(world: &str, strategy: &str) -> RunResults {
    common::run(&common::from_toml(&format!(
        "name = \"write_modes\"\nseed = 5\n[table]\nrows = 600\n[schedule]\nruns = 6\ninterval = \"1min\"\n{world}\n[[strategy]]\n{strategy}\n"
    )))
}

fn permanent(world: &str, strategy: &str) -> Divergence {
    run(world, strategy).strategies[0].permanent
}

fn only(class: &str, d: Divergence) -> bool {
    let (m, s, g, dup) = (d.missing, d.stale, d.ghost, d.duplicate);
    match class {
        "missing" => m > 0 && s == 0 && g == 0 && dup == 0,
        "stale" => s > 0 && m == 0 && g == 0 && dup == 0,
        "ghost" => g > 0 && m == 0 && s == 0 && dup == 0,
        _ => unreachable!(),
    }
}

// --- watermark_id ---

#[test]
fn watermark_id_with_upsert_is_exact_on_inserts() {
    assert!(permanent(INSERTS, "kind = \"watermark_id\"").is_exact());
}

#[test]
fn watermark_id_with_upsert_leaves_updates_stale() {
    let d = permanent(UPDATES, "kind = \"watermark_id\"");
    assert!(only("stale", d), "{d:?}");
}

#[test]
fn watermark_id_with_delete_insert_is_exact_on_inserts_and_stale_on_updates() {
    let s = "kind = \"watermark_id\"\nwrite = \"delete_insert\"";
    assert!(permanent(INSERTS, s).is_exact());
    assert!(only("stale", permanent(UPDATES, s)));
}

#[test]
fn watermark_id_with_append_is_exact_on_inserts_alone() {
    // Every id is read once, so appending never duplicates.
    let d = permanent(INSERTS, "kind = \"watermark_id\"\nwrite = \"append\"");
    assert!(d.is_exact(), "{d:?}");
}

// --- updated_at ---

#[test]
fn updated_at_with_upsert_is_exact_on_updates() {
    assert!(permanent(UPDATES, "kind = \"updated_at\"").is_exact());
}

#[test]
fn hard_deletes_under_updated_at_leave_ghosts() {
    let d = permanent(HARD_DELETES, "kind = \"updated_at\"");
    assert!(only("ghost", d), "{d:?}");
}

#[test]
fn soft_deletes_under_updated_at_leave_no_ghosts() {
    let d = permanent(SOFT_DELETES, "kind = \"updated_at\"");
    assert!(d.is_exact(), "{d:?}");
}

#[test]
fn updated_at_with_delete_insert_is_exact_on_updates_and_soft_deletes() {
    let s = "kind = \"updated_at\"\nwrite = \"delete_insert\"";
    assert!(permanent(UPDATES, s).is_exact());
    assert!(permanent(SOFT_DELETES, s).is_exact());
    assert!(only("ghost", permanent(HARD_DELETES, s)));
}

#[test]
fn append_with_an_overlapping_inclusive_read_duplicates() {
    let d = permanent(
        INSERTS,
        "kind = \"updated_at\"\nboundary = \">=\"\nwrite = \"append\"",
    );
    assert!(d.duplicate > 0, "{d:?}");
}

#[test]
fn append_with_an_exclusive_read_of_inserts_is_exact() {
    let d = permanent(INSERTS, "kind = \"updated_at\"\nwrite = \"append\"");
    assert!(d.is_exact(), "{d:?}");
}

// --- cdc ---

#[test]
fn cdc_with_upsert_or_delete_insert_is_exact_on_hard_deletes_and_updates() {
    for write in ["upsert", "delete_insert"] {
        let s = format!("kind = \"cdc\"\nwrite = \"{write}\"");
        assert!(permanent(HARD_DELETES, &s).is_exact(), "{write}");
        assert!(permanent(UPDATES, &s).is_exact(), "{write}");
    }
}

#[test]
fn cdc_with_append_duplicates_updated_keys() {
    let d = permanent(UPDATES, "kind = \"cdc\"\nwrite = \"append\"");
    assert!(d.duplicate > 0, "{d:?}");
}

// --- file_listing ---

#[test]
fn file_listing_by_name_misses_files_rewritten_in_place() {
    let d = permanent(REWRITTEN_UPDATES, "kind = \"file_listing\"");
    assert!(only("stale", d), "{d:?}");
}

#[test]
fn file_listing_by_name_size_and_mtime_reads_rewritten_files() {
    for write in ["upsert", "delete_insert"] {
        let s = format!(
            "kind = \"file_listing\"\nfile_identity = \"name_size_mtime\"\nwrite = \"{write}\""
        );
        assert!(permanent(REWRITTEN_UPDATES, &s).is_exact(), "{write}");
    }
}

#[test]
fn file_listing_is_exact_when_updates_land_as_new_files() {
    let d = permanent(UPDATES, "kind = \"file_listing\"");
    assert!(d.is_exact(), "{d:?}");
}

#[test]
fn hard_deletes_never_land_so_file_listing_leaves_ghosts() {
    let d = permanent(
        HARD_DELETES,
        "kind = \"file_listing\"\nfile_identity = \"name_size_mtime\"",
    );
    assert!(only("ghost", d), "{d:?}");
}

#[test]
fn file_listing_with_append_duplicates_updated_keys() {
    let d = permanent(UPDATES, "kind = \"file_listing\"\nwrite = \"append\"");
    assert!(d.duplicate > 0, "{d:?}");
}

#[test]
fn file_listing_reads_only_new_files() {
    // Inserts only, one file per 50 rows: each run reads exactly the rows that landed since
    // the run before, never a processed file again.
    let results = run(
        "[churn]\ninserts = 0.05\nupdates = 0.0\n[landing]\nrows_per_file = 50\n",
        "kind = \"file_listing\"",
    );
    let s = &results.strategies[0];
    assert!(s.permanent.is_exact());
    let read: u64 = s.per_run.iter().map(|r| r.rows_read).sum();
    let history =
        incrlab::runner::simulate(&common::from_toml(&results.scenario_as_run.to_toml()), None);
    assert_eq!(read, history.len() as u64);
}

// --- interval ---

#[test]
fn interval_with_partition_overwrite_is_exact_without_late_events() {
    assert!(permanent(INSERTS, "kind = \"interval\"").is_exact());
}

#[test]
fn events_later_than_the_lookback_are_missing() {
    let d = permanent(LATE_EVENTS, "kind = \"interval\"\nlookback = 1");
    assert!(only("missing", d), "{d:?}");
}

#[test]
fn a_lookback_that_covers_the_lateness_loses_nothing() {
    // 150 s late is inside a window of the interval and three before it (240 s).
    let d = permanent(LATE_EVENTS, "kind = \"interval\"\nlookback = 3");
    assert!(d.is_exact(), "{d:?}");
}

#[test]
fn interval_with_upsert_is_exact_on_inserts() {
    let d = permanent(INSERTS, "kind = \"interval\"\nwrite = \"upsert\"");
    assert!(d.is_exact(), "{d:?}");
}

#[test]
fn interval_with_append_and_a_lookback_duplicates() {
    let d = permanent(
        INSERTS,
        "kind = \"interval\"\nlookback = 1\nwrite = \"append\"",
    );
    assert!(d.duplicate > 0, "{d:?}");
}

// --- daily_totals ---

/// Six-hour runs over two days; 30% of inserts carry an event_time 20 hours behind (the
/// previous day), and updates and hard deletes change old days too.
const LATE_DAYS: &str = "[churn]\ninserts = 0.05\nupdates = 0.03\ndeletes = 0.01\n[event_time]\nlate_fraction = 0.3\nlateness = { dist = \"constant\", value = \"20h\" }\n";

fn run_days(strategy: &str) -> Divergence {
    run_days_in(LATE_DAYS, strategy)
}

fn run_days_in(world: &str, strategy: &str) -> Divergence {
    common::run(&common::from_toml(&format!(
        "name = \"daily_totals\"\nseed = 5\n[table]\nrows = 600\n[schedule]\nruns = 8\ninterval = \"6h\"\n{world}\n[[strategy]]\n{strategy}\nmodel = \"daily_totals\"\n"
    )))
    .strategies[0]
        .permanent
}

#[test]
fn partition_overwrite_of_the_affected_days_equals_the_oracle_after_late_events() {
    assert!(run_days("kind = \"cdc\"").is_exact());
    // updated_at sees deletes only when they are soft.
    let soft = LATE_DAYS.replace("deletes = 0.01", "deletes = 0.01\ndelete_mode = \"soft\"");
    assert!(run_days_in(&soft, "kind = \"updated_at\"\nboundary = \">=\"").is_exact());
}

#[test]
fn appending_partial_totals_does_not_equal_the_oracle() {
    let d = run_days("kind = \"cdc\"\nwrite = \"append\"");
    assert!(d.duplicate > 0, "{d:?}");
}

#[test]
fn interval_totals_miss_days_whose_late_events_fall_behind_the_lookback() {
    let d = run_days("kind = \"interval\"");
    assert!(!d.is_exact(), "{d:?}");
}

// --- reconciliation and run gaps ---

#[test]
fn reconciliation_bounds_how_long_a_ghost_lives() {
    let plain = run(HARD_DELETES, "kind = \"updated_at\"").strategies[0].clone();
    let reconciled =
        run(HARD_DELETES, "kind = \"updated_at\"\nreconcile_every = 3").strategies[0].clone();
    assert!(plain.permanent.ghost > 0);
    assert!(
        reconciled.permanent.is_exact(),
        "{:?}",
        reconciled.permanent
    );
    assert!(
        (1..=3).contains(&reconciled.longest_divergence_runs),
        "{}",
        reconciled.longest_divergence_runs
    );
}

/// Runs 3 and 4 never happen: the orchestrator was down for two intervals.
const GAP: &str = "[churn]\ninserts = 0.05\nupdates = 0.0\n";

fn run_gap(strategy: &str) -> Divergence {
    common::run(&common::from_toml(&format!(
        "name = \"gap\"\nseed = 5\n[table]\nrows = 600\n[schedule]\nruns = 8\ninterval = \"1min\"\nskip_runs = [3, 4]\n{GAP}\n[[strategy]]\n{strategy}\n"
    )))
    .strategies[0]
        .permanent
}

#[test]
fn a_gap_longer_than_the_lookback_loses_the_skipped_intervals() {
    assert!(only(
        "missing",
        run_gap("kind = \"interval\"\nlookback = 1")
    ));
}

#[test]
fn a_lookback_as_long_as_the_gap_loses_nothing() {
    assert!(run_gap("kind = \"interval\"\nlookback = 2").is_exact());
}

#[test]
fn reconciliation_heals_what_a_gap_lost() {
    assert!(run_gap("kind = \"interval\"\nlookback = 1\nreconcile_every = 4").is_exact());
}
