//! The verdict table printed after a run.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Color, Table};

use crate::results::{RunResults, StrategyResult};

/// One word for a strategy's outcome.
pub fn verdict(s: &StrategyResult) -> &'static str {
    if s.permanent.total() > 0 {
        "loses data"
    } else if s.worst.total() > 0 {
        "heals"
    } else {
        "exact"
    }
}

pub fn verdict_table(results: &RunResults, color: bool) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec![
        "strategy",
        "write",
        "missing",
        "stale",
        "ghost",
        "duplicate",
        "worst transient",
        "rows scanned",
        "wall ms",
        "verdict",
    ]);
    for s in &results.strategies {
        let num = |n: u64| Cell::new(n).set_alignment(CellAlignment::Right);
        let mut verdict_cell = Cell::new(verdict(s));
        if color {
            verdict_cell = verdict_cell.fg(match verdict(s) {
                "exact" => Color::Green,
                "heals" => Color::Yellow,
                _ => Color::Red,
            });
        }
        table.add_row(vec![
            Cell::new(&s.label),
            Cell::new(&s.write),
            num(s.permanent.missing),
            num(s.permanent.stale),
            num(s.permanent.ghost),
            num(s.permanent.duplicate),
            num(s.worst.total()),
            num(s.rows_scanned),
            Cell::new(format!("{:.1}", s.wall_ms)).set_alignment(CellAlignment::Right),
            verdict_cell,
        ]);
    }
    table
}

/// The lines printed under the table: what the columns mean and how the run can be repeated.
pub fn summary_lines(results: &RunResults) -> Vec<String> {
    let mut lines = vec![format!(
        "scenario {} · seed {} · {} runs + {} drain · history {} changes · digest {}",
        results.scenario,
        results.seed,
        results.runs,
        results.drain_runs,
        results.history_rows,
        &results.history_digest[..16],
    )];
    lines.push(
        "missing/stale/ghost/duplicate: permanent divergence after the drain; worst transient: largest total during the runs"
            .to_string(),
    );
    for s in results.strategies.iter().filter(|s| !s.settled) {
        lines.push(format!(
            "note: {} still changed its target on the last drain run (it re-writes the same rows every run)",
            s.label
        ));
    }
    lines
}
