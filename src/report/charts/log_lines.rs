//! Line charts on log–log axes, shared by the crossover and table-size charts: one line per
//! strategy, full reprocessing drawn as the black reference.

use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{self, FONT, LABEL_PX, TITLE_PX};

type LogAxis = WithKeyPoints<LogCoord<f64>>;

pub type LogLogChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogAxis, LogAxis>>;

/// One line: a strategy's label (with its write mode) and its (x, ms) points, all positive.
pub struct Series {
    pub label: String,
    /// Full reprocessing: the line the others are measured against.
    pub reference: bool,
    pub points: Vec<(f64, f64)>,
}

pub struct Axes<'f> {
    pub title: &'f str,
    pub x_desc: &'f str,
    pub x_label: &'f dyn Fn(&f64) -> String,
    pub x_range: (f64, f64),
    /// Ticks on the x axis: the swept values themselves, so every point can be read off.
    pub x_ticks: Vec<f64>,
    pub y_desc: &'f str,
    pub y_label: &'f dyn Fn(&f64) -> String,
}

/// Sets up the chart with a log time axis covering every series, then draws them.
pub fn draw_log_lines<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    axes: &Axes<'_>,
    series: &[Series],
) -> Result<LogLogChart<'a, 'b>, Box<dyn std::error::Error + Send + Sync>> {
    let all = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi {
        (lo / 1.5, hi * 1.5)
    } else {
        (0.1, 10.0)
    };
    let mut chart = ChartBuilder::on(root)
        .caption(axes.title, (FONT, TITLE_PX))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (axes.x_range.0..axes.x_range.1)
                .log_scale()
                .with_key_points(axes.x_ticks.clone()),
            (lo..hi).log_scale().with_key_points(ticks_1_2_5(lo, hi)),
        )?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .x_label_formatter(axes.x_label)
        .y_label_formatter(axes.y_label)
        .label_style((FONT, LABEL_PX))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let mut colour = 0;
    for s in series {
        let swatch = if s.reference {
            style::REFERENCE
        } else {
            colour += 1;
            style::series_color(colour - 1)
        };
        let stroke = if s.reference {
            style::reference_line()
        } else {
            style::line(swatch, 2)
        };
        let label = if s.reference {
            format!("{} — reference", s.label)
        } else {
            s.label.clone()
        };
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), stroke))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], swatch.stroke_width(3))
            });
        chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, swatch.filled())))?;
    }
    Ok(chart)
}

/// Ticks at 1, 2 and 5 of every decade inside `[lo, hi]`: plotters' own log ticks are the
/// powers of ten alone, too few when a range spans less than two decades.
fn ticks_1_2_5(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powi(lo.log10().floor() as i32);
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let t = decade * m;
            if t >= lo && t <= hi {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::ticks_1_2_5;

    #[test]
    fn log_ticks_fall_on_1_2_5_inside_the_range() {
        assert_eq!(
            ticks_1_2_5(15.0, 600.0),
            vec![20.0, 50.0, 100.0, 200.0, 500.0]
        );
    }
}
