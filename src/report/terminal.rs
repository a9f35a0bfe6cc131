//! The verdict table printed after a run.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Color, Table};

use super::verdict::verdict;
use crate::results::RunResults;

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
/// The engine, and where the source lived when it was not in the engine: `duckdb`, or
/// `duckdb · source postgres`.
pub fn engine_and_source(spec: &crate::scenario::EngineSpec) -> String {
    match spec.source {
        crate::scenario::SourceKind::Engine => spec.kind.name().to_string(),
        source => format!("{} · source {}", spec.kind.name(), source.name()),
    }
}

/// `scenario` is the file the run came from, so the `explain` line can be run as printed.
/// `scenario` is the file the run read (`None`: the built-in quickstart, which `explain`
/// runs when given no file).
pub fn summary_lines(results: &RunResults, scenario: Option<&std::path::Path>) -> Vec<String> {
    let mut lines = vec![format!(
        "scenario {} · seed {} · {} · {} runs + {} drain · history {} changes · digest {}",
        results.scenario,
        results.seed,
        engine_and_source(&results.scenario_as_run.engine),
        results.runs,
        results.drain_runs,
        results.history_rows,
        &results.history_digest[..16],
    )];
    lines.push(
        "missing/stale/ghost/duplicate: permanent divergence after the drain; worst transient: largest total during the runs"
            .to_string(),
    );
    // `explain` follows one key of a mirror; a totals target's wrong days carry their reasons.
    let specs = &results.scenario_as_run.strategies;
    let mirrors = results.strategies.iter().enumerate().filter(|(i, _)| {
        // Lanes past the strategies are pipelines, whose targets are mirrors.
        specs
            .get(*i)
            .is_none_or(|spec| spec.model() == crate::scenario::TargetModel::Mirror)
    });
    if let Some((s, key)) = mirrors
        .map(|(_, s)| s)
        .find_map(|s| s.sample_wrong_keys.first().map(|k| (s, k)))
    {
        lines.push(format!(
            "why a key is wrong: incrlab explain {}--strategy '{}' --key {} (sample keys and reasons are in results.json)",
            scenario.map_or(String::new(), |p| format!("{} ", p.display())),
            s.label,
            key.id
        ));
    }
    for s in results.strategies.iter().filter(|s| !s.crashes.is_empty()) {
        let replayed: u64 = s.crashes.iter().map(|c| c.rows_replayed).sum();
        let skipped: u64 = s.crashes.iter().map(|c| c.rows_skipped).sum();
        lines.push(format!(
            "crashes: {} — {} injected; {replayed} rows replayed, {skipped} rows skipped (results.json `crashes`)",
            s.label,
            s.crashes.len()
        ));
    }
    for s in &results.strategies {
        match (s.idempotent, s.first_non_idempotent_run) {
            (Some(true), _) => lines.push(format!(
                "idempotent: {} — every run, retried from the state before it, left the same target and state",
                s.label
            )),
            (Some(false), run) => lines.push(format!(
                "NOT idempotent: {} — the retry of run {} left a different target or state",
                s.label,
                run.map_or("?".into(), |r| r.to_string())
            )),
            (None, _) => {}
        }
    }
    for s in &results.strategies {
        lines.extend(super::pipeline_lines::pipeline_lines(s));
        // A pipeline's losses, one told in full: its code is not incrlab's to read.
        if let (Some(_), Some(k)) = (&s.pipeline, s.sample_wrong_keys.first()) {
            lines.push(format!(
                "why {} lost key {}: {} (the story: incrlab explain {}--strategy '{}' --key {})",
                s.label,
                k.id,
                k.reason,
                scenario.map_or(String::new(), |p| format!("{} ", p.display())),
                s.label,
                k.id
            ));
        }
    }
    for s in results.strategies.iter().filter(|s| !s.settled) {
        lines.push(format!(
            "note: {} still changed its target on the last drain run (it re-writes the same rows every run)",
            s.label
        ));
    }
    lines
}

/// The crossover points of a sweep, one row per strategy, axis and measure.
pub fn crossover_table(results: &crate::sweep::SweepResults) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec![
        "strategy",
        "write",
        "along",
        "at",
        "measure",
        "crossover",
        "spread over seeds",
        "eligible",
    ]);
    for c in &results.crossovers {
        table.add_row(vec![
            Cell::new(&c.label),
            Cell::new(&c.write),
            Cell::new(&c.axis),
            Cell::new(c.setting()),
            Cell::new(&c.measure),
            Cell::new(super::format::crossover_value(c)).set_alignment(CellAlignment::Right),
            Cell::new(super::format::crossover_spread(c).unwrap_or_else(|| "—".into())),
            Cell::new(super::format::eligibility(c)),
        ]);
    }
    table
}

/// Lines stating the recommended lag of each `updated_at` strategy in a lag sweep.
pub fn recommendation_lines(results: &crate::sweep::SweepResults) -> Vec<String> {
    results
        .recommendations
        .lag
        .iter()
        .map(|r| {
            let lag = |us: i64| crate::scenario::Micros(us).to_string();
            let curve: Vec<String> = r
                .loss_curve
                .iter()
                .map(|l| format!("{} → {}", lag(l.lag_us), l.permanent_total))
                .collect();
            let verdict = match r.recommended_lag_us {
                Some(us) => format!("recommended lag {}", lag(us)),
                None => "no swept lag is safe".to_string(),
            };
            format!(
                "{} at {} rows, churn {:.3}%: {verdict} (permanent loss per lag: {})",
                r.label,
                r.rows,
                r.churn * 100.0,
                curve.join(", ")
            )
        })
        .collect()
}

/// What `incrlab simulate` says of a history's audit.
pub fn audit_lines(audit: &crate::sim::Audit) -> Vec<String> {
    let [ai, au, ad] = audit.asked;
    let [pi, pu, pd] = audit.present;
    vec![
        format!(
            "row locks: {} keys with a change that ran before the key's previous change committed",
            audit.keys_overlapping
        ),
        format!(
            "churn: asked for {ai} inserts, {au} updates, {ad} deletes; the history holds {pi}, {pu}, {pd}"
        ),
    ]
}

/// The `--compare-sources` table: per strategy, the permanent divergence on each source and
/// whether every run agreed key for key.
pub fn fidelity_table(c: &crate::fidelity::SourceComparison) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["strategy".to_string()];
    for source in &c.sources {
        header.push(format!("permanent on {}", source.name()));
        header.push(format!("worst on {}", source.name()));
    }
    header.push("runs".into());
    header.push("verdict".into());
    table.set_header(header);
    let class = |d: &crate::verify::Divergence| {
        format!(
            "{} missing, {} stale, {} ghost, {} dup",
            d.missing, d.stale, d.ghost, d.duplicate
        )
    };
    for s in &c.strategies {
        let mut row = vec![Cell::new(&s.label)];
        for (p, w) in s.permanent.iter().zip(&s.worst) {
            row.push(Cell::new(class(p)));
            row.push(Cell::new(w.total()).set_alignment(CellAlignment::Right));
        }
        row.push(Cell::new(s.runs).set_alignment(CellAlignment::Right));
        row.push(Cell::new(match &s.first_difference {
            None => "same key for key, every run".to_string(),
            Some(d) => format!("differs: {d}"),
        }));
        table.add_row(row);
    }
    table
}
