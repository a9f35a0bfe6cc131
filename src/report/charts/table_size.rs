//! Per-run time against table size at a fixed number of changed rows: work proportional to
//! change stays flat, work proportional to the table climbs.

use plotters::chart::SeriesLabelPosition;

use super::log_lines::{draw_legend, draw_log_lines, Axes, Series};
use super::style::WIDE;
use super::{draw_svg, Chart};
use crate::error::Result;
use crate::report::format;
use crate::scenario::StrategyKind;
use crate::sweep::{PointResult, SweepResults};

/// Changed rows per interval at a point (churn is a fraction of the table).
fn changed_rows(p: &PointResult) -> u64 {
    (p.point.rows as f64 * p.point.churn).round() as u64
}

/// The change count swept at the most table sizes, if at least two sizes share one.
/// Along a lag sweep, the first lag's points stand for all (lag does not change the work).
pub fn fixed_change_axis(sweep: &SweepResults) -> Option<(u64, Vec<u64>)> {
    let lag = sweep.points.first()?.point.lag_us;
    let mut best: Option<(u64, Vec<u64>)> = None;
    let mut counts: Vec<u64> = sweep.points.iter().map(changed_rows).collect();
    counts.sort_unstable();
    counts.dedup();
    for changed in counts {
        let mut sizes: Vec<u64> = sweep
            .points
            .iter()
            .filter(|p| changed_rows(p) == changed && p.point.lag_us == lag)
            .map(|p| p.point.rows)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.len() >= 2 && best.as_ref().is_none_or(|(_, b)| sizes.len() > b.len()) {
            best = Some((changed, sizes));
        }
    }
    best
}

/// `None` when the sweep has no change count shared by two table sizes.
pub fn table_size_chart(sweep: &SweepResults) -> Result<Option<Chart>> {
    let Some((changed, sizes)) = fixed_change_axis(sweep) else {
        return Ok(None);
    };
    let lag = sweep.points.first().and_then(|p| p.point.lag_us);
    let at: Vec<&PointResult> = sweep
        .points
        .iter()
        .filter(|p| changed_rows(p) == changed && p.point.lag_us == lag)
        .collect();
    let Some(first) = at.first() else {
        return Ok(None);
    };
    let series: Vec<Series> = first
        .strategies
        .iter()
        .map(|s| Series {
            label: format!("{} ({})", s.label, s.write),
            reference: s.strategy == StrategyKind::Full.name(),
            points: sizes
                .iter()
                .filter_map(|&rows| {
                    let times: Vec<f64> = at
                        .iter()
                        .filter(|p| p.point.rows == rows)
                        .filter_map(|p| p.strategies.iter().find(|x| x.label == s.label))
                        .map(|x| x.run_ms)
                        .collect();
                    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
                    (mean > 0.0).then_some((rows as f64, mean))
                })
                .collect(),
        })
        .collect();
    let title = format!(
        "Per-run time vs table size — {} changed rows per interval",
        format::count(changed as f64)
    );
    let axes = Axes {
        title: &title,
        x_desc: "table size (rows, log scale)",
        x_label: &|x| format::count(*x),
        x_range: (sizes[0] as f64 / 1.3, sizes[sizes.len() - 1] as f64 * 1.3),
        x_ticks: sizes.iter().map(|&r| r as f64).collect(),
        y_desc: "time per run (ms, log scale)",
        y_label: &|y| format::millis(*y),
    };
    let name = "table-size";
    let svg = draw_svg(name, WIDE, |root| {
        let mut chart = draw_log_lines(root, &axes, &series)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })?;
    Ok(Some(Chart {
        name: name.to_string(),
        title,
        caption: format!(
            "Mean steady per-run time with {changed} rows changed per interval at every size. \
             A strategy whose work follows the change stays flat; one that scans the table climbs \
             with it."
        ),
        svg,
    }))
}
