//! Charts drawn with plotters into SVG text, one chart per file.
//!
//! Invariant: a chart is a pure function of results data. Nothing here reads a clock, a random
//! source or a hash map's order, so the same results give byte-identical SVG.

mod correctness;
mod crossover;
mod decision_map;
mod lag;
mod log_lines;
mod style;
mod table_size;
mod timeline;

pub use correctness::correctness_chart;
pub use crossover::crossover_chart;
pub use decision_map::decision_map;
pub use lag::lag_chart;
pub use table_size::table_size_chart;
pub use timeline::timeline_chart;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::error::{Error, Result};

/// A drawn chart: its file stem (`charts/<name>.svg`), title, the SVG and a caption saying
/// how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub name: String,
    pub title: String,
    pub caption: String,
    pub svg: String,
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The legend every chart uses, in the corner given, drawn last so it sits above the series.
fn draw_legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    corner: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(corner)
        .background_style(WHITE.mix(0.9))
        .border_style(style::MUTED)
        .label_font((style::FONT, style::LABEL_PX))
        .draw()?;
    Ok(())
}

/// Draws into an SVG string of `size` pixels; a plotters failure becomes an error naming the chart.
fn draw_svg(
    name: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> DrawResult,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root));
        drawn
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|e| Error::Chart {
                chart: name.to_string(),
                message: e.to_string(),
            })?;
    }
    Ok(svg)
}
