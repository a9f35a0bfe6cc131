//! Per-run time against churn, log–log: one line per strategy + write mode, full reprocessing
//! as the reference, every crossover point marked with its value.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::log_lines::{draw_log_lines, Axes, Series};
use super::style::{self, FONT, LABEL_PX, WIDE};
use super::{draw_legend, draw_svg, Chart};
use crate::error::Result;
use crate::report::format;
use crate::scenario::StrategyKind;
use crate::sweep::{
    churn_values, mean_at_churn, ChurnAxis, Crossover, Measure, PointResult, PointStrategy,
    SweepResults,
};

/// The crossover chart of one churn axis (one table size, one lag) for one measure (time, or
/// the cost model's price); `None` when the axis has fewer than two churn values or the
/// measure was not taken.
pub fn crossover_chart(
    sweep: &SweepResults,
    on: ChurnAxis,
    measure: Measure,
    name: &str,
) -> Result<Option<Chart>> {
    let rows = on.rows;
    let axis: Vec<&PointResult> = sweep.points.iter().filter(|p| on.holds(p)).collect();
    let churns = churn_values(&axis);
    let Some(first) = axis.first() else {
        return Ok(None);
    };
    if churns.len() < 2 {
        return Ok(None);
    }
    let series: Vec<Series> = first
        .strategies
        .iter()
        .map(|s| Series {
            label: series_label(sweep, s, on, measure),
            reference: s.strategy == StrategyKind::Full.name(),
            points: churns
                .iter()
                .filter_map(|&c| mean_at_churn(&axis, &s.label, c, None, measure).map(|v| (c, v)))
                // A log axis has no place for zero; a zero time is a run that did nothing.
                .filter(|&(_, ms)| ms > 0.0)
                .collect(),
        })
        .collect();
    let marks: Vec<(String, f64, f64)> = sweep
        .crossovers
        .iter()
        .filter(|c| on_axis(c, on) && c.measure == measure.name())
        .filter_map(|c| {
            let value = c.value?;
            let full = series.iter().find(|s| s.reference)?;
            Some((c.label.clone(), value, interpolate_log(&full.points, value)))
        })
        .collect();

    let lag_note = on.note();
    if series.iter().all(|s| s.points.is_empty()) {
        return Ok(None);
    }
    let what = match measure {
        Measure::Time => "Per-run time",
        Measure::Cost => "Per-run cost",
    };
    let title = format!(
        "{what} vs churn — {} rows{lag_note}",
        format::count(rows as f64)
    );
    let axes = Axes {
        title: &title,
        x_desc: "churn per interval (fraction of rows changed, log scale)",
        x_label: &|x| format::percent(*x),
        x_range: (churns[0] / 1.3, churns[churns.len() - 1] * 1.3),
        x_ticks: churns.clone(),
        y_desc: match measure {
            Measure::Time => "time per run (ms, log scale)",
            Measure::Cost => "cost per run (price units, log scale)",
        },
        y_label: match measure {
            Measure::Time => &|y| format::millis(*y),
            Measure::Cost => &|y| format::money(*y),
        },
    };
    let svg = draw_svg(name, WIDE, |root| {
        let mut chart = draw_log_lines(root, &axes, &series)?;
        let x_mid = (churns[0] * churns[churns.len() - 1]).sqrt();
        for (i, (label, churn, ms)) in marks.iter().enumerate() {
            chart.draw_series(std::iter::once(Cross::new(
                (*churn, *ms),
                7,
                style::LOST.stroke_width(3),
            )))?;
            // Labels of nearby crossings would overlap: stagger them in height, alternately
            // below and above the mark, and keep them inside the plot on the right.
            let step = 1.35f64.powi(1 + (i / 2) as i32);
            let y = if i % 2 == 0 { *ms / step } else { *ms * step };
            let anchor = if *churn > x_mid {
                HPos::Right
            } else {
                HPos::Left
            };
            let font = TextStyle::from((FONT, LABEL_PX).into_font())
                .color(&style::LOST)
                .pos(Pos::new(anchor, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(
                format!(" {label}: {} ", format::percent(*churn)),
                (*churn, y),
                font,
            )))?;
        }
        // The time curves rise to the upper right, the cost curves start low on the left: the
        // legend goes where the lines are not.
        let corner = match measure {
            Measure::Time => SeriesLabelPosition::UpperLeft,
            Measure::Cost => SeriesLabelPosition::LowerRight,
        };
        draw_legend(&mut chart, corner)
    })?;
    let measured = match measure {
        Measure::Time => "per-run time",
        Measure::Cost => {
            "per-run cost (the scenario's [cost] model: bytes scanned and CPU time, priced)"
        }
    };
    let caption = format!(
        "Mean steady {measured} over {} seed(s) at each churn. Where an incremental line meets the black \
         reference line (full reprocessing), incremental stops paying; × marks each crossover, \
         interpolated on a log scale between sweep points.",
        seeds_in(&axis)
    );
    Ok(Some(Chart {
        name: name.to_string(),
        title,
        caption,
        svg,
    }))
}

/// A line's legend: the strategy and its write mode, and, when it loses data anywhere on the
/// axis, that it is not eligible and how much it lost.
fn series_label(
    sweep: &SweepResults,
    s: &PointStrategy,
    on: ChurnAxis,
    measure: Measure,
) -> String {
    let name = format!("{} ({})", s.label, s.write);
    let lossy = sweep.crossovers.iter().find(|c| {
        c.label == s.label && on_axis(c, on) && c.measure == measure.name() && !c.is_eligible()
    });
    match lossy {
        Some(c) => format!(
            "{name} — loses data: not eligible (up to {} keys)",
            format::count(c.worst_permanent_total as f64)
        ),
        None => name,
    }
}

/// Whether crossover `c` was found along churn axis `on`.
fn on_axis(c: &Crossover, on: ChurnAxis) -> bool {
    c.rows == Some(on.rows) && c.lag_us == on.lag_us && c.engine == on.engine
}

fn seeds_in(points: &[&PointResult]) -> usize {
    let mut seeds: Vec<u64> = points.iter().map(|p| p.point.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds.len()
}

/// The value of a log–log polyline at `x` (clamped to its ends), to place a crossover mark on
/// the reference line.
fn interpolate_log(line: &[(f64, f64)], x: f64) -> f64 {
    let Some(&(x0, y0)) = line.first() else {
        return 1.0;
    };
    if x <= x0 {
        return y0;
    }
    for w in line.windows(2) {
        let ((xa, ya), (xb, yb)) = (w[0], w[1]);
        if x <= xb {
            let t = (x.ln() - xa.ln()) / (xb.ln() - xa.ln());
            return (ya.ln() + t * (yb.ln() - ya.ln())).exp();
        }
    }
    line[line.len() - 1].1
}
