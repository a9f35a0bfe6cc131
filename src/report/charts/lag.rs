//! Permanent loss against lag for every `updated_at` strategy of a lag sweep, with the
//! recommended lag (the smallest that lost nothing) marked.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FONT, LABEL_PX, TITLE_PX, WIDE};
use super::{draw_legend, draw_svg, Chart};
use crate::error::Result;
use crate::report::format;
use crate::scenario::Micros;
use crate::sweep::LagRecommendation;

/// One chart for the recommendations of one table size (a line per strategy and churn);
/// `None` without any.
pub fn lag_chart(recommendations: &[&LagRecommendation], name: &str) -> Result<Option<Chart>> {
    let Some(first) = recommendations.first() else {
        return Ok(None);
    };
    let lags: Vec<i64> = first.loss_curve.iter().map(|l| l.lag_us).collect();
    if lags.is_empty() {
        return Ok(None);
    }
    let x_hi = *lags.last().expect("not empty") as f64 / 1e6;
    let x_lo = lags[0] as f64 / 1e6;
    let pad = ((x_hi - x_lo) * 0.05).max(0.1);
    let y_hi = recommendations
        .iter()
        .flat_map(|r| r.loss_curve.iter().map(|l| l.permanent_total))
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.15;
    let title = format!(
        "Permanent loss vs lag — {} rows",
        format::count(first.rows as f64)
    );
    let svg = draw_svg(name, WIDE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, (FONT, TITLE_PX))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((x_lo - pad)..(x_hi + pad), 0f64..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("lag (s)")
            .y_desc("rows lost for good (keys, summed over seeds)")
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, LABEL_PX))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, r) in recommendations.iter().enumerate() {
            let colour = style::series_color(i);
            let points: Vec<(f64, f64)> = r
                .loss_curve
                .iter()
                .map(|l| (l.lag_us as f64 / 1e6, l.permanent_total as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    style::line(colour, 2),
                ))?
                .label(format!("{} · churn {}", r.label, format::percent(r.churn)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                });
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
            if let Some(lag_us) = r.recommended_lag_us {
                let x = lag_us as f64 / 1e6;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, y_hi)],
                    colour.stroke_width(1),
                )))?;
                // Labels stay inside the plot: left of the line in the right half.
                let anchor = if x > (x_lo + x_hi) / 2.0 {
                    HPos::Right
                } else {
                    HPos::Left
                };
                let font = TextStyle::from((FONT, LABEL_PX).into_font())
                    .color(&colour)
                    .pos(Pos::new(anchor, VPos::Center));
                chart.draw_series(std::iter::once(Text::new(
                    format!(
                        " {} · {}: {} ",
                        r.label,
                        format::percent(r.churn),
                        Micros(lag_us)
                    ),
                    (x, y_hi * (0.6 - 0.06 * i as f64)),
                    font,
                )))?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Some(Chart {
        name: name.to_string(),
        title,
        caption: "Keys still wrong after the drain at each swept lag. The vertical line marks the \
                  recommended lag: the smallest swept lag that lost nothing, over every seed."
            .to_string(),
        svg,
    }))
}
