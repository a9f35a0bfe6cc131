//! The look shared by every chart: sizes, fonts, series colours, axis number formats.

use plotters::style::{Color, RGBColor, ShapeStyle};

pub const WIDE: (u32, u32) = (960, 540);
pub const FONT: &str = "sans-serif";
pub const TITLE_PX: u32 = 22;
pub const LABEL_PX: u32 = 14;

/// Full reprocessing, the reference every incremental strategy is measured against.
pub const REFERENCE: RGBColor = RGBColor(30, 30, 30);
pub const LOST: RGBColor = RGBColor(214, 39, 40);
pub const MUTED: RGBColor = RGBColor(170, 170, 170);

/// Series colours, chosen to stay apart for the colour-blind (Okabe–Ito, black dropped: it
/// is the reference line's).
const SERIES: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
];

pub fn series_color(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

pub fn line(color: RGBColor, width: u32) -> ShapeStyle {
    color.stroke_width(width)
}

/// Dashed lines are not in plotters 0.3's SVG backend; the reference is told apart by being
/// black and thicker, and is named in the legend.
pub fn reference_line() -> ShapeStyle {
    REFERENCE.stroke_width(3)
}
