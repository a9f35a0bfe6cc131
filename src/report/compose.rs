//! Builds the report [`Document`] from results files: the verdict in words first, then the
//! tables and charts, then the scenario as run so a reader can reproduce it.

use super::charts::{
    correctness_chart, crossover_chart, lag_chart, table_size_chart, timeline_chart,
};
use super::document::{Block, Document, TextTable};
use super::format;
use super::verdict::{crossover_sentence, lag_sentence, run_summary, verdict, verdict_line};
use crate::error::Result;
use crate::results::RunResults;
use crate::scenario::{Micros, Scenario, StrategyKind};
use crate::sweep::{churn_axes, LagRecommendation, SweepResults};
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
        let sentences: Vec<String> = sweep
            .crossovers
            .iter()
            .map(|c| crossover_sentence(sweep, c))
            .collect();
        if !sentences.is_empty() {
            blocks.push(Block::Paragraph(
                "Where incremental stops paying (per-run time against full reprocessing):".into(),
            ));
            blocks.push(Block::Bullets(sentences));
        }
        if !sweep.recommendations.is_empty() {
            blocks.push(Block::Paragraph("Recommended lag:".into()));
            blocks.push(Block::Bullets(
                sweep.recommendations.iter().map(lag_sentence).collect(),
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
            "wall ms",
            "verdict",
        ],
        &[
            false, false, true, true, true, true, true, true, true, true, true, false,
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

fn sweep_sections(sweep: &SweepResults, blocks: &mut Vec<Block>) -> Result<()> {
    blocks.push(Block::Heading("Sweep".into()));
    let mut seeds: Vec<u64> = sweep.points.iter().map(|p| p.point.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let shard = sweep.shard.map_or(String::new(), |s| {
        format!(" (shard {}/{})", s.index, s.count)
    });
    blocks.push(Block::Paragraph(format!(
        "{} points{shard}, {} seed(s) each; times are the mean of the steady runs (the first run, which loads the table, and the drain are left out).",
        sweep.points.len(),
        seeds.len()
    )));
    let mut table = TextTable::new(
        &[
            "strategy",
            "write",
            "rows",
            "lag",
            "crossover churn (time)",
            "spread over seeds",
        ],
        &[false, false, true, false, true, false],
    );
    for c in &sweep.crossovers {
        table.push(vec![
            c.label.clone(),
            c.write.clone(),
            c.rows.to_string(),
            c.lag_us.map_or("—".into(), |l| Micros(l).to_string()),
            c.value
                .map_or("none in the swept range".into(), format::percent),
            match (c.low, c.high) {
                (Some(lo), Some(hi)) => {
                    format!("{} – {}", format::percent(lo), format::percent(hi))
                }
                _ => "—".into(),
            },
        ]);
    }
    if !table.rows.is_empty() {
        blocks.push(Block::Table(table));
    }
    let axes = churn_axes(&sweep.points);
    for (k, &(rows, lag_us)) in axes.iter().enumerate() {
        let name = if k == 0 {
            "crossover".to_string()
        } else {
            format!("crossover-{}", k + 1)
        };
        if let Some(chart) = crossover_chart(sweep, rows, lag_us, &name)? {
            blocks.push(Block::Chart(chart));
        }
    }
    if let Some(chart) = table_size_chart(sweep)? {
        blocks.push(Block::Chart(chart));
    }
    // One lag chart per table size, one line per strategy and churn.
    let mut sizes: Vec<u64> = sweep.recommendations.iter().map(|r| r.rows).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for (k, rows) in sizes.into_iter().enumerate() {
        let here: Vec<&LagRecommendation> = sweep
            .recommendations
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
