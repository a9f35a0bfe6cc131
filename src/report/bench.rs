//! The `bench` command's figures: where a run's time went.

use crate::median::median;
use crate::results::{InitialLoadTime, RunResults, StrategyResult};

/// Generating and loading the initial table, measured `loads.len()` times on fresh engines:
/// the median and the best rate. Only the initial table counts, a bulk load; the runs'
/// changes are generated transaction by transaction and reported with the run.
pub fn initial_load_lines(initial_rows: u64, loads: &[InitialLoadTime]) -> Vec<String> {
    let secs = |f: fn(&InitialLoadTime) -> f64| loads.iter().map(f).collect::<Vec<f64>>();
    let generate = median(secs(|l| l.generate.as_secs_f64()));
    let load = median(secs(|l| l.load.as_secs_f64()));
    let total = secs(|l| (l.generate + l.load).as_secs_f64());
    let best = total.iter().copied().reduce(f64::min);
    let (Some(generate), Some(load), Some(total), Some(best)) =
        (generate, load, median(total), best)
    else {
        return Vec::new();
    };
    let rate = |seconds: f64| initial_rows as f64 / seconds.max(1e-9) / 1e6;
    let mut out = vec![format!(
        "generate + load initial table, {} fresh engines: median {:.1} + {:.1} ms = {:.1} M rows/s (best {:.1} M rows/s)",
        loads.len(),
        generate * 1e3,
        load * 1e3,
        rate(total),
        rate(best)
    )];
    let floors: Vec<f64> = loads
        .iter()
        .filter_map(|l| l.engine_floor.map(|f| f.as_secs_f64()))
        .collect();
    if let (Some(floor), true) = (median(floors.clone()), floors.len() == loads.len()) {
        out.push(format!(
            "the same tables built by the engine from range(): median {:.1} ms = {:.1} M rows/s; generate + load runs at {:.2}× of it",
            floor * 1e3,
            rate(floor),
            floor / total.max(1e-9)
        ));
    }
    out
}

/// The median wall time of a strategy's steady runs (scheduled, after the first).
fn steady_median_ms(s: &StrategyResult) -> Option<f64> {
    median(
        s.per_run
            .iter()
            .filter(|x| !x.drain && x.run > 1)
            .map(|x| x.wall_ms)
            .collect(),
    )
}

/// Per strategy, the steady per-run time without `[faults]` and with it armed but nothing
/// striking (targets in database files that a crash could reopen).
pub fn faults_overhead_lines(plain: &RunResults, armed: &RunResults) -> Vec<String> {
    let mut out = vec![
        "[faults] armed, nothing striking (targets in database files) vs no [faults]:".to_string(),
    ];
    for (a, b) in plain.strategies.iter().zip(&armed.strategies) {
        if let (Some(x), Some(y)) = (steady_median_ms(a), steady_median_ms(b)) {
            out.push(format!(
                "  {:<24} {x:>9.1} ms/run → {y:>9.1} ms/run: {:+.1}%",
                a.label,
                100.0 * (y / x.max(1e-9) - 1.0)
            ));
        }
    }
    out
}

pub fn lines(r: &RunResults) -> Vec<String> {
    let t = &r.timings;
    let strategy_ms: f64 = r.strategies.iter().map(|s| s.wall_ms).sum();
    let strategy_sql_ms: f64 = r.strategies.iter().map(|s| s.sql_ms).sum();
    let mut out = vec![
        format!(
            "scenario {} · {} · {} initial rows · {} runs + {} drain · {} strategies",
            r.scenario,
            super::terminal::engine_and_source(&r.scenario_as_run.engine),
            r.scenario_as_run.table.rows,
            r.runs,
            r.drain_runs,
            r.strategies.len()
        ),
        format!("total wall            {:>10.1} ms", t.total_ms),
        format!(
            "  of which engine SQL {:>10.1} ms ({:.0}%)",
            t.sql_ms,
            100.0 * t.sql_ms / t.total_ms.max(1e-9)
        ),
        format!(
            "  of which incrlab    {:>10.1} ms ({:.0}%)",
            t.total_ms - t.sql_ms,
            100.0 * (t.total_ms - t.sql_ms) / t.total_ms.max(1e-9)
        ),
        format!("generate history      {:>10.1} ms", t.generate_ms),
        format!("  of which initial    {:>10.1} ms", t.generate_initial_ms),
        format!(
            "  of which changes    {:>10.1} ms",
            t.generate_ms - t.generate_initial_ms
        ),
        format!("load initial table    {:>10.1} ms", t.load_ms),
        format!("advance source        {:>10.1} ms", t.advance_ms),
        format!(
            "strategies            {:>10.1} ms (SQL {:.1} ms)",
            strategy_ms, strategy_sql_ms
        ),
        format!("verification          {:>10.1} ms", t.verify_ms),
    ];
    if let (Some(bare), Some(full)) = (
        t.bare_copy_ms,
        r.strategies.iter().find(|s| s.strategy == "full"),
    ) {
        // Steady runs: after the first, scheduled only, as the sweeps measure them.
        if let Some(median) = steady_median_ms(full) {
            out.push(format!(
                "full per run (median) {median:>10.1} ms vs bare CREATE TABLE AS SELECT {bare:.1} ms: {:.2}×",
                median / bare.max(1e-9)
            ));
        }
    }
    for s in &r.strategies {
        let runs = s.per_run.len().max(1) as f64;
        // The first run reads everything; the steady median is what a run costs after it.
        let steady = steady_median_ms(s).map_or(String::new(), |m| {
            format!(", steady median {m:>8.1} ms/run")
        });
        out.push(format!(
            "  {:<24} {:>9.1} ms total, {:>7.2} ms/run, SQL {:>9.1} ms{steady}",
            s.label,
            s.wall_ms,
            s.wall_ms / runs,
            s.sql_ms
        ));
    }
    out.extend(source_lines(r, strategy_ms));
    out.extend(pipeline_overhead_lines(r));
    out
}

/// What a real source (PostgreSQL) took: the initial load and its rate, playing the runs'
/// transactions, the strategies' reads as a share of their time, and the transactions held
/// open.
fn source_lines(r: &RunResults, strategy_ms: f64) -> Vec<String> {
    let Some(a) = &r.source_activity else {
        return Vec::new();
    };
    let rows = r.scenario_as_run.table.rows as f64;
    vec![
        format!(
            "source: initial load {:.1} ms ({:.0} rows/s, COPY + indexes + ANALYZE), runs' transactions {:.1} ms",
            a.load_ms,
            rows / (a.load_ms / 1e3).max(1e-9),
            a.apply_ms - a.load_ms
        ),
        format!(
            "source: strategies' reads {:.1} ms, {:.0}% of the strategies' {:.1} ms",
            a.read_ms,
            100.0 * a.read_ms / strategy_ms.max(1e-9),
            strategy_ms
        ),
        format!(
            "source: {} transactions held open across a tick (at most {} at once), {} statements one by one; {} transactions applied in bulk in {} groups",
            a.spanning_transactions,
            a.max_open_at_once,
            a.single_statements,
            a.bulk_transactions,
            a.bulk_groups
        ),
    ]
}

/// incrlab's own work per outside pipeline run, apart from the pipeline's process: bringing
/// the source file forward (once per run for all pipelines), reading each target back, and
/// verification (all lanes).
fn pipeline_overhead_lines(r: &RunResults) -> Vec<String> {
    let pipelines: Vec<&StrategyResult> = r
        .strategies
        .iter()
        .filter(|s| s.pipeline.is_some())
        .collect();
    if pipelines.is_empty() {
        return Vec::new();
    }
    let runs = (r.runs + r.drain_runs).max(1) as f64;
    let t = &r.timings;
    let mut out = vec![format!(
        "pipelines: hand-over of the source {:.2} ms/run, verification {:.2} ms/run (all lanes)",
        t.handover_ms / runs,
        t.verify_ms / runs
    )];
    for s in pipelines {
        let p = s.pipeline.as_ref().expect("filtered");
        let process: f64 = p.attempts.iter().map(|a| a.elapsed_ms).sum();
        let runs = s.per_run.len().max(1) as f64;
        out.push(format!(
            "  {:<24} {:>9.2} ms/run: process {:.2} ms/run, reading the target back {:.2} ms/run; incrlab's overhead (hand-over + read-back + verification) {:.2} ms/run",
            s.label,
            s.wall_ms / runs,
            process / runs,
            p.read_back_ms / runs,
            (t.handover_ms + t.verify_ms) / runs + p.read_back_ms / runs,
        ));
    }
    out
}
