//! Per-run time against table size at a fixed number of changed rows: work proportional to
//! change stays flat, work proportional to the table climbs.

use plotters::chart::SeriesLabelPosition;

use super::log_lines::{draw_log_lines, Axes, Series};
use super::style::WIDE;
use super::{draw_legend, draw_svg, Chart};
use crate::error::Result;
use crate::report::format;
use crate::scenario::StrategyKind;
use crate::sweep::{
    engines_of, mean_at_rows, note, rows_axes, rows_axis_points, Measure, SweepResults,
};

/// `None` when the sweep has no change count shared by two table sizes. With several, the one
/// swept at the most sizes is drawn (the first such, in ascending change count), on the
/// sweep's first engine.
pub fn table_size_chart(sweep: &SweepResults) -> Result<Option<Chart>> {
    let engine = engines_of(&sweep.points).into_iter().next().flatten();
    let mut best: Option<(u64, Vec<u64>)> = None;
    for (changed, sizes) in rows_axes(&sweep.points, engine) {
        if best.as_ref().is_none_or(|(_, b)| sizes.len() > b.len()) {
            best = Some((changed, sizes));
        }
    }
    let Some((changed, sizes)) = best else {
        return Ok(None);
    };
    let at = rows_axis_points(&sweep.points, changed, engine);
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
                    mean_at_rows(&at, &s.label, rows, None, Measure::Time)
                        .filter(|&ms| ms > 0.0)
                        .map(|ms| (rows as f64, ms))
                })
                .collect(),
        })
        .collect();
    let title = format!(
        "Per-run time vs table size — {} changed rows per interval{}",
        format::count(changed as f64),
        note(None, engine)
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
