//! Builds the report [`Document`] from results files: the verdict in words first, then the
//! tables and charts, then the scenario as run so a reader can reproduce it.

use super::charts::{
    correctness_chart, crossover_chart, decision_map, lag_chart, table_size_chart, timeline_chart,
};
use super::decision::{decision_sentences, recommendations_table};
use super::document::{Block, Document, TextTable};
use super::format;
use super::verdict::{crossover_sentence, lag_sentence, run_summary, verdict, verdict_line};
use crate::error::Result;
use crate::results::RunResults;
use crate::scenario::{Scenario, StrategyKind};
use crate::sweep::{churn_axes, churn_values, LagRecommendation, Measure, SweepResults};
use crate::timeline::Timeline;

/// Timeline charts drawn at most: one per incremental strategy, the first few.
const MAX_TIMELINES: usize = 6;

/// Whatever results a directory holds: a run, a sweep, or both (they share a default
/// directory, `reports/<scenario name>/`).
#[derive(Debug, Clone, Default)]
pub struct ReportInputs {
    pub run: Option<RunResults>,
    pub timeline: Option<Timeline>,
    pub sweep: Option<SweepResults>,
}

pub fn compose(inputs: &ReportInputs) -> Result<Document> {
    let name = inputs
        .run
        .as_ref()
        .map(|r| r.scenario.clone())
        .or_else(|| inputs.sweep.as_ref().map(|s| s.scenario.clone()))
        .unwrap_or_default();
    let mut blocks = vec![Block::Heading("Verdict".into())];
    if let Some(run) = &inputs.run {
        blocks.push(Block::Paragraph(run_summary(run)));
        let rows = run.scenario_as_run.table.rows;
        blocks.push(Block::Verdicts(
            run.strategies
                .iter()
                .map(|s| verdict_line(s, rows))
                .collect(),
        ));
    }
    if let Some(sweep) = &inputs.sweep {
        decision_blocks(sweep, &mut blocks)?;
        let (eligible, lossy): (Vec<_>, Vec<_>) =
            sweep.crossovers.iter().partition(|c| c.is_eligible());
        let sentences: Vec<String> = eligible
            .iter()
            .chain(&lossy)
            .map(|c| crossover_sentence(sweep, c))
            .collect();
        if !sentences.is_empty() {
            blocks.push(Block::Paragraph(
                "Where incremental stops paying (per-run time, and with a [cost] model per-run cost, against full reprocessing);                  a strategy that loses data is listed last, as not eligible, whatever its speed:"
                    .into(),
            ));
            blocks.push(Block::Bullets(sentences));
        }
        if !sweep.recommendations.lag.is_empty() {
            blocks.push(Block::Paragraph("Recommended lag:".into()));
            blocks.push(Block::Bullets(
                sweep.recommendations.lag.iter().map(lag_sentence).collect(),
            ));
        }
    }
    if let Some(run) = &inputs.run {
        run_sections(run, inputs.timeline.as_ref(), &mut blocks)?;
    }
    if let Some(sweep) = &inputs.sweep {
        sweep_sections(sweep, &mut blocks)?;
    }
    blocks.push(Block::Heading("Scenario as run".into()));
    if let Some(run) = &inputs.run {
        let mut facts = TextTable::new(&["fact", "value"], &[false, false]);
        facts.push(vec!["seed".into(), run.seed.to_string()]);
        facts.push(vec!["history digest".into(), run.history_digest.clone()]);
        facts.push(vec![
            "committed changes".into(),
            run.history_rows.to_string(),
        ]);
        facts.push(vec![
            "runs".into(),
            format!("{} scheduled + {} drain", run.runs, run.drain_runs),
        ]);
        facts.push(vec!["incrlab".into(), run.incrlab_version.clone()]);
        blocks.push(Block::Table(facts));
        blocks.push(scenario_block(&run.scenario_as_run));
    } else if let Some(sweep) = &inputs.sweep {
        blocks.push(scenario_block(&sweep.scenario_as_run));
    }
    Ok(Document {
        title: format!("incrlab report — {name}"),
        blocks,
    })
}

fn run_sections(
    run: &RunResults,
    timeline: Option<&Timeline>,
    blocks: &mut Vec<Block>,
) -> Result<()> {
    blocks.push(Block::Heading("Results".into()));
    let mut table = TextTable::new(
        &[
            "strategy",
            "write",
            "missing",
            "stale",
            "ghost",
            "duplicate",
            "worst transient",
            "longest divergence (runs)",
            "rows scanned",
            "rows written",
            "inserted / updated / deleted",
            "wall ms",
            "verdict",
        ],
        &[
            false, false, true, true, true, true, true, true, true, true, true, true, false,
        ],
    );
    for s in &run.strategies {
        table.push(vec![
            s.label.clone(),
            s.write.clone(),
            s.permanent.missing.to_string(),
            s.permanent.stale.to_string(),
            s.permanent.ghost.to_string(),
            s.permanent.duplicate.to_string(),
            s.worst.total().to_string(),
            s.longest_divergence_runs.to_string(),
            s.rows_scanned.to_string(),
            s.rows_written.to_string(),
            format!(
                "{} / {} / {}",
                s.written.inserted, s.written.updated, s.written.deleted
            ),
            format!("{:.1}", s.wall_ms),
            verdict(s).to_string(),
        ]);
    }
    blocks.push(Block::Table(table));
    blocks.push(Block::Paragraph(
        "missing/stale/ghost/duplicate: divergence left after the drain (keys; duplicate counts surplus rows). \
         Wall time covers reading, writing and saving state; verification is not included."
            .into(),
    ));
    if run.strategies.iter().any(|s| !s.crashes.is_empty()) {
        crash_section(run, blocks);
    }
    let pipelines: Vec<String> = run
        .strategies
        .iter()
        .flat_map(super::pipeline_lines::pipeline_lines)
        .collect();
    if run.strategies.iter().any(|s| s.pipeline.is_some()) {
        blocks.push(Block::Heading("Outside pipelines".into()));
        blocks.push(Block::Paragraph(
            "Each pipeline ran as its own command against the released source and was judged by reading its target back; \
             its attempts, kills and logs (under pipelines/) are in results.json."
                .into(),
        ));
        if !pipelines.is_empty() {
            blocks.push(Block::Bullets(pipelines));
        }
    }
    blocks.push(Block::Heading("Correctness".into()));
    blocks.push(Block::Chart(correctness_chart(run)?));
    if let Some(timeline) = timeline {
        blocks.push(Block::Heading("Timeline: why rows are lost".into()));
        let incremental = run
            .strategies
            .iter()
            .enumerate()
            .filter(|(_, s)| s.strategy != StrategyKind::Full.name())
            .take(MAX_TIMELINES);
        for (i, _) in incremental {
            blocks.push(Block::Chart(timeline_chart(run, timeline, i)?));
        }
    }
    Ok(())
}

/// The study's answer, first: the decision map (one per lag and measure) and one sentence per
/// table size.
fn decision_blocks(sweep: &SweepResults, blocks: &mut Vec<Block>) -> Result<()> {
    let sentences = decision_sentences(sweep);
    if sentences.is_empty() {
        return Ok(());
    }
    blocks.push(Block::Paragraph(
        "Which strategy to run: the fastest (and, with a [cost] model, the cheapest) of the strategies that lost nothing at any seed of a setting."
            .into(),
    ));
    blocks.push(Block::Bullets(sentences));
    // One map per lag and engine: table size up, churn across.
    let mut maps: Vec<(Option<i64>, Option<crate::scenario::EngineKind>)> = Vec::new();
    for r in &sweep.recommendations.by_point {
        if !maps.contains(&(r.lag_us, r.engine)) {
            maps.push((r.lag_us, r.engine));
        }
    }
    let mut k = 0;
    for measure in [Measure::Time, Measure::Cost] {
        for &(lag_us, engine) in &maps {
            k += 1;
            let name = if k == 1 {
                "decision-map".to_string()
            } else {
                format!("decision-map-{k}")
            };
            if let Some(chart) = decision_map(sweep, lag_us, engine, measure, &name)? {
                blocks.push(Block::Chart(chart));
            }
        }
    }
    Ok(())
}

fn sweep_sections(sweep: &SweepResults, blocks: &mut Vec<Block>) -> Result<()> {
    blocks.push(Block::Heading("Sweep".into()));
    let mut seeds: Vec<u64> = sweep.points.iter().map(|p| p.point.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let shard = sweep.shard.map_or(String::new(), |s| {
        format!(" (shard {}/{})", s.index, s.count)
    });
    blocks.push(Block::Paragraph(format!(
        "{} points{shard}, {} seed(s) each; times are the median of the steady runs (the first run, which loads the table, and the drain are left out).",
        sweep.points.len(),
        seeds.len()
    )));
    let mut table = TextTable::new(
        &[
            "strategy",
            "write",
            "along",
            "at",
            "measure",
            "crossover",
            "spread over seeds",
            "eligible",
        ],
        &[false, false, false, false, false, true, false, false],
    );
    for c in &sweep.crossovers {
        table.push(vec![
            c.label.clone(),
            c.write.clone(),
            c.axis.clone(),
            c.setting(),
            c.measure.clone(),
            super::format::crossover_value(c),
            super::format::crossover_spread(c).unwrap_or_else(|| "—".into()),
            super::format::eligibility(c),
        ]);
    }
    if !table.rows.is_empty() {
        blocks.push(Block::Table(table));
    }
    if !sweep.recommendations.by_point.is_empty() {
        blocks.push(Block::Subheading("Recommendation per setting".into()));
        blocks.push(Block::Paragraph(
            "Per table size and churn (mean over seeds): the fastest strategy that lost nothing at any seed,              how many times slower the runner-up and full reprocessing are, whether every seed on its own ranks it first,              and the strategies passed over because they lose data."
                .into(),
        ));
        blocks.push(Block::Table(recommendations_table(sweep)));
    }
    let axes = churn_axes(&sweep.points);
    if let (Some(cost), Some(&first_axis)) = (&sweep.scenario_as_run.cost, axes.first()) {
        blocks.push(Block::Subheading(format!(
            "Measured and modelled, at {} rows{}",
            first_axis.rows,
            first_axis.note()
        )));
        let bandwidth = cost
            .source_read_mb_per_s
            .map_or("a local source (no transfer time)".to_string(), |mb| {
                format!("a remote source read at {mb} MB/s")
            });
        blocks.push(Block::Paragraph(format!(
            "Per steady run, mean over seeds. Modelled: {} per TB scanned, {} per CPU-hour, {bandwidth}.",
            cost.price_per_tb_scanned, cost.price_per_cpu_hour
        )));
        blocks.push(Block::Table(measured_and_modelled(sweep, first_axis)));
    }
    for measure in [Measure::Time, Measure::Cost] {
        for (k, &axis) in axes.iter().enumerate() {
            let base = match measure {
                Measure::Time => "crossover",
                Measure::Cost => "crossover-cost",
            };
            let name = if k == 0 {
                base.to_string()
            } else {
                format!("{base}-{}", k + 1)
            };
            if let Some(chart) = crossover_chart(sweep, axis, measure, &name)? {
                blocks.push(Block::Chart(chart));
            }
        }
    }
    if let Some(chart) = table_size_chart(sweep)? {
        blocks.push(Block::Chart(chart));
    }
    // One lag chart per table size, one line per strategy and churn.
    let mut sizes: Vec<u64> = sweep.recommendations.lag.iter().map(|r| r.rows).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for (k, rows) in sizes.into_iter().enumerate() {
        let here: Vec<&LagRecommendation> = sweep
            .recommendations
            .lag
            .iter()
            .filter(|r| r.rows == rows)
            .collect();
        let name = if k == 0 {
            "lag".to_string()
        } else {
            format!("lag-{}", k + 1)
        };
        if let Some(chart) = lag_chart(&here, &name)? {
            blocks.push(Block::Chart(chart));
        }
    }
    Ok(())
}

/// Per strategy and churn on one axis: the exact counters, the measured times and the
/// modelled time and cost side by side.
/// Every injected crash, per strategy: where it struck and what it left for the next attempt.
fn crash_section(run: &RunResults, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Crashes".into()));
    let mut table = TextTable::new(
        &[
            "strategy",
            "run",
            "attempt",
            "point",
            "chunks committed",
            "rows committed",
            "rows replayed",
            "rows skipped",
        ],
        &[false, true, true, false, false, true, true, true],
    );
    for s in &run.strategies {
        for c in &s.crashes {
            table.push(vec![
                s.label.clone(),
                c.run.to_string(),
                c.attempt.to_string(),
                c.point.name().to_string(),
                format!("{} of {}", c.chunks_committed, c.chunks),
                c.rows_committed.to_string(),
                c.rows_replayed.to_string(),
                c.rows_skipped.to_string(),
            ]);
        }
    }
    blocks.push(Block::Table(table));
    blocks.push(Block::Paragraph(
        "Replayed rows were committed before the crash but lie beyond the persisted state: the next attempt \
         writes them again (an append duplicates them). Skipped rows are counted as done by a state committed \
         before the write, yet never reached the target: they are lost silently."
            .into(),
    ));
}

fn measured_and_modelled(sweep: &SweepResults, on: crate::sweep::ChurnAxis) -> TextTable {
    let axis: Vec<&crate::sweep::PointResult> =
        sweep.points.iter().filter(|p| on.holds(p)).collect();
    let mut table = TextTable::new(
        &[
            "strategy",
            "churn",
            "rows scanned",
            "MB scanned",
            "measured ms",
            "CPU ms",
            "modelled ms",
            "cost",
        ],
        &[false, true, true, true, true, true, true, true],
    );
    let Some(first) = axis.first() else {
        return table;
    };
    for s in &first.strategies {
        for churn in churn_values(&axis) {
            let here: Vec<&crate::sweep::PointStrategy> = axis
                .iter()
                .filter(|p| p.point.churn == churn)
                .filter_map(|p| p.strategies.iter().find(|x| x.label == s.label))
                .collect();
            let n = here.len().max(1) as f64;
            let mean = |f: &dyn Fn(&crate::sweep::PointStrategy) -> f64| {
                here.iter().map(|x| f(x)).sum::<f64>() / n
            };
            let modelled = here
                .iter()
                .all(|x| x.modelled_run_ms.is_some())
                .then(|| mean(&|x| x.modelled_run_ms.unwrap_or(0.0)));
            table.push(vec![
                format!("{} ({})", s.label, s.write),
                format::percent(churn),
                format!("{:.0}", mean(&|x| x.rows_scanned_per_run)),
                format!("{:.2}", mean(&|x| x.bytes_scanned_per_run) / 1e6),
                format!("{:.1}", mean(&|x| x.run_ms)),
                format!("{:.1}", mean(&|x| x.cpu_ms_per_run)),
                modelled.map_or("—".into(), |m| format!("{m:.1}")),
                format::money(mean(&|x| x.cost_per_run.unwrap_or(0.0))),
            ]);
        }
    }
    table
}

/// The scenario as TOML, the form a reader can save and run again.
fn scenario_block(scenario: &Scenario) -> Block {
    match toml::to_string_pretty(scenario) {
        Ok(text) => Block::Code {
            language: "toml".into(),
            text,
        },
        Err(_) => Block::Code {
            language: "json".into(),
            text: serde_json::to_string_pretty(scenario).expect("a scenario always serializes"),
        },
    }
}
