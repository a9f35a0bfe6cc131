//! The decision map: churn across, table size up, each cell coloured by the strategy to run
//! there (the fastest, or cheapest, of those that lost nothing at any seed), grey where full
//! reprocessing wins, hatched where the seeds on their own rank a different strategy first.
//!
//! Drawn in pixels on the root area rather than on a plotters coordinate system: the cells are
//! categories (the swept values), not positions on a numeric axis.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FONT, LABEL_PX, TITLE_PX};
use super::{draw_svg, Chart};
use crate::error::Result;
use crate::report::format;
use crate::scenario::{EngineKind, StrategyKind};
use crate::sweep::{note, Measure, PointRecommendation, SweepResults};

/// Full reprocessing's cells: light, so a map that is mostly `full` reads as "incremental
/// rarely pays" at a glance.
const FULL: RGBColor = RGBColor(205, 205, 205);
const NONE: RGBColor = RGBColor(255, 255, 255);

const WIDTH: u32 = 960;
const LEFT_PX: i32 = 110;
const RIGHT_PX: i32 = 24;
const TOP_PX: i32 = 56;
const AXIS_PX: i32 = 64;
const LEGEND_ROW_PX: i32 = 24;

/// The decision map of one lag (the scenario's, or one swept lag) and one engine (when the
/// sweep runs several) for one measure; `None` when no setting there has a recommendation by
/// that measure.
pub fn decision_map(
    sweep: &SweepResults,
    lag_us: Option<i64>,
    engine: Option<EngineKind>,
    measure: Measure,
    name: &str,
) -> Result<Option<Chart>> {
    let recs: Vec<&PointRecommendation> = sweep
        .recommendations
        .by_point
        .iter()
        .filter(|r| r.lag_us == lag_us && r.engine == engine)
        .collect();
    if recs.iter().all(|r| r.ranking(measure).is_none()) {
        return Ok(None);
    }
    let mut churns: Vec<f64> = recs.iter().map(|r| r.churn).collect();
    churns.sort_by(f64::total_cmp);
    churns.dedup();
    let mut sizes: Vec<u64> = recs.iter().map(|r| r.rows).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let palette = Palette::of(sweep);
    let mut shown: Vec<String> = Vec::new();
    for r in &recs {
        if let Some(k) = r.ranking(measure) {
            if !shown.contains(&k.label) {
                shown.push(k.label.clone());
            }
        }
    }
    shown.sort_by_key(|l| palette.order(l));
    let any_none = recs.iter().any(|r| r.ranking(measure).is_none());
    let any_hatched = recs
        .iter()
        .any(|r| r.ranking(measure).is_some_and(|k| !k.holds_at_every_seed));
    let legend_entries = shown.len() + usize::from(any_none) + usize::from(any_hatched);
    let legend_rows = legend_entries.div_ceil(2) as i32;
    let row_px: i32 = if sizes.len() == 1 { 110 } else { 70 };
    let grid_h = row_px * sizes.len() as i32;
    let height = TOP_PX + grid_h + AXIS_PX + legend_rows * LEGEND_ROW_PX + 16;
    let cell_w = (WIDTH as i32 - LEFT_PX - RIGHT_PX) / churns.len().max(1) as i32;

    let (lag_note, on) = (note(lag_us, None), note(None, engine));
    let (what, than) = match measure {
        Measure::Time => ("fastest", "faster"),
        Measure::Cost => ("cheapest", "cheaper"),
    };
    let title = format!("Which strategy to run{on}: the {what} one that loses nothing{lag_note}");
    let svg = draw_svg(name, (WIDTH, height as u32), |root| {
        let title_style =
            TextStyle::from((FONT, TITLE_PX).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(
            title.clone(),
            (WIDTH as i32 / 2, TOP_PX / 2),
            title_style,
        ))?;
        let label = TextStyle::from((FONT, LABEL_PX).into_font());
        for (j, &rows) in sizes.iter().enumerate() {
            // Table size goes up: the largest table is the top row.
            let y0 = TOP_PX + (sizes.len() - 1 - j) as i32 * row_px;
            root.draw(&Text::new(
                format!("{} rows", format::count(rows as f64)),
                (LEFT_PX - 8, y0 + row_px / 2),
                label.clone().pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            for (i, &churn) in churns.iter().enumerate() {
                let x0 = LEFT_PX + i as i32 * cell_w;
                let rec = recs.iter().find(|r| r.rows == rows && r.churn == churn);
                let ranking = rec.and_then(|r| r.ranking(measure));
                let colour = ranking.map_or(NONE, |k| palette.colour(&k.label));
                let (x1, y1) = (x0 + cell_w - 2, y0 + row_px - 2);
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.filled()))?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x1, y1)],
                    style::MUTED.stroke_width(1),
                ))?;
                let ink = ink_on(colour);
                if ranking.is_some_and(|k| !k.holds_at_every_seed) {
                    hatch(root, (x0, y0), (x1, y1), ink)?;
                }
                let text = match ranking {
                    Some(k) if palette.is_full(&k.label) => "full".to_string(),
                    Some(k) => k
                        .margin_over_full
                        .map_or(String::new(), |m| format!("{m:.1}× vs full")),
                    None => "none exact".to_string(),
                };
                if !text.is_empty() {
                    // A patch of the cell's own colour under the figure keeps it legible on
                    // hatching.
                    // About 0.6 em per character of a sans-serif face, kept inside the cell.
                    let text_w = text.chars().count() as f64 * f64::from(LABEL_PX - 2) * 0.6;
                    let half_w = ((text_w / 2.0) as i32 + 4).min((x1 - x0) / 2 - 3);
                    let (cx, cy) = ((x0 + x1) / 2, (y0 + y1) / 2);
                    root.draw(&Rectangle::new(
                        [(cx - half_w, cy - 9), (cx + half_w, cy + 9)],
                        colour.filled(),
                    ))?;
                }
                root.draw(&Text::new(
                    text,
                    ((x0 + x1) / 2, (y0 + y1) / 2),
                    TextStyle::from((FONT, LABEL_PX - 2).into_font())
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        let axis_y = TOP_PX + grid_h;
        for (i, &churn) in churns.iter().enumerate() {
            root.draw(&Text::new(
                format::percent(churn),
                (LEFT_PX + i as i32 * cell_w + cell_w / 2, axis_y + 14),
                label.clone().pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        root.draw(&Text::new(
            "churn per interval (fraction of rows changed)",
            (LEFT_PX + (cell_w * churns.len() as i32) / 2, axis_y + 40),
            label.clone().pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        let mut entries: Vec<(RGBColor, String, bool)> = shown
            .iter()
            .map(|l| {
                let text = if palette.is_full(l) {
                    format!("{l} (full reprocessing: nothing incremental is {than})")
                } else {
                    l.clone()
                };
                (palette.colour(l), text, false)
            })
            .collect();
        if any_none {
            entries.push((NONE, "no strategy lost nothing at every seed".into(), false));
        }
        if any_hatched {
            entries.push((NONE, "hatched: the seeds rank differently".into(), true));
        }
        let legend_y = axis_y + AXIS_PX;
        let column_px = (WIDTH as i32 - LEFT_PX) / 2;
        for (k, (colour, text, hatched)) in entries.iter().enumerate() {
            let x = LEFT_PX + (k as i32 % 2) * column_px;
            let y = legend_y + (k as i32 / 2) * LEGEND_ROW_PX;
            root.draw(&Rectangle::new([(x, y), (x + 18, y + 14)], colour.filled()))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + 18, y + 14)],
                style::MUTED.stroke_width(1),
            ))?;
            if *hatched {
                hatch(root, (x, y), (x + 18, y + 14), style::REFERENCE)?;
            }
            root.draw(&Text::new(
                text.clone(),
                (x + 26, y + 7),
                label.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        Ok(())
    })?;
    let sizes_note = if sizes.len() == 1 {
        "churn across".to_string()
    } else {
        "churn across, table size up".to_string()
    };
    let caption = format!(
        "{sizes_note}. Each cell is one setting of the sweep, coloured by the {what} strategy that ended with \
         no permanent divergence at every seed (strategies that lose data are never recommended). \
         Grey: full reprocessing, where nothing incremental is {than}. The figure in a cell is how many \
         times {} full reprocessing is than the recommendation; hatched cells are settings where the \
         seeds, each on its own, rank a different strategy first.",
        match measure {
            Measure::Time => "slower",
            Measure::Cost => "dearer",
        }
    );
    Ok(Some(Chart {
        name: name.to_string(),
        title,
        caption,
        svg,
    }))
}

/// Colours by strategy: the crossover chart's series colours (incremental strategies in
/// scenario order), light grey for full reprocessing.
struct Palette {
    labels: Vec<(String, bool)>,
}

impl Palette {
    fn of(sweep: &SweepResults) -> Palette {
        let labels = sweep
            .points
            .first()
            .map(|p| {
                p.strategies
                    .iter()
                    .map(|s| (s.label.clone(), s.strategy == StrategyKind::Full.name()))
                    .collect()
            })
            .unwrap_or_default();
        Palette { labels }
    }

    fn is_full(&self, label: &str) -> bool {
        self.labels.iter().any(|(l, full)| l == label && *full)
    }

    fn order(&self, label: &str) -> usize {
        self.labels
            .iter()
            .position(|(l, _)| l == label)
            .unwrap_or(usize::MAX)
    }

    fn colour(&self, label: &str) -> RGBColor {
        if self.is_full(label) {
            return FULL;
        }
        let incremental = self
            .labels
            .iter()
            .filter(|(_, full)| !full)
            .position(|(l, _)| l == label)
            .unwrap_or(0);
        style::series_color(incremental)
    }
}

/// Black or white, whichever reads on `c`.
fn ink_on(c: RGBColor) -> RGBColor {
    let RGBColor(r, g, b) = c;
    let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
    if luma > 140.0 {
        style::REFERENCE
    } else {
        WHITE
    }
}

/// Diagonal lines across a cell, clipped to it.
fn hatch(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    ink: RGBColor,
) -> super::DrawResult {
    let (w, h) = (x1 - x0, y1 - y0);
    let step = 10;
    let mut t = step;
    while t < w + h {
        // The line x + y = t in cell coordinates, from where it enters to where it leaves.
        let start = (x0 + t.min(w), y0 + (t - w).max(0));
        let end = (x0 + (t - h).max(0), y0 + t.min(h));
        root.draw(&PathElement::new(
            vec![start, end],
            ink.mix(0.45).stroke_width(2),
        ))?;
        t += step;
    }
    Ok(())
}
