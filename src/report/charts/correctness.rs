//! Strategy × divergence class as a coloured grid with the counts in the cells: permanent
//! divergence after the drain on the left, the worst seen during the runs on the right.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{FONT, LABEL_PX, TITLE_PX};
use super::{draw_svg, Chart};
use crate::error::Result;
use crate::results::RunResults;
use crate::verify::Divergence;

const CLASSES: [&str; 4] = ["missing", "stale", "ghost", "duplicate"];
const LABEL_W: i32 = 300;
const CELL_W: i32 = 84;
const CELL_H: i32 = 34;
const TOP: i32 = 96;

const EXACT: RGBColor = RGBColor(220, 240, 220);
const HEALED: RGBColor = RGBColor(253, 220, 150);

fn counts(d: &Divergence) -> [u64; 4] {
    [d.missing, d.stale, d.ghost, d.duplicate]
}

/// Red, deeper as the count grows (log scale up to a million).
fn lost_colour(n: u64) -> RGBColor {
    let t = ((n as f64).log10() / 6.0).clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(250.0, 165.0), lerp(170.0, 15.0), lerp(160.0, 21.0))
}

pub fn correctness_chart(results: &RunResults) -> Result<Chart> {
    let name = "correctness";
    let title = "Divergence from full reprocessing, per strategy and class".to_string();
    let n = results.strategies.len() as i32;
    let width = LABEL_W + 8 * CELL_W + 24;
    let height = TOP + n * CELL_H + 24;
    let svg = draw_svg(name, (width as u32, height as u32), |root| {
        let centred = |px: u32| {
            TextStyle::from((FONT, px).into_font()).pos(Pos::new(HPos::Center, VPos::Center))
        };
        let left =
            TextStyle::from((FONT, LABEL_PX).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(
            title.clone(),
            (width / 2, 20),
            centred(TITLE_PX),
        ))?;
        for (group, heading) in ["permanent (after the drain)", "worst during the runs"]
            .iter()
            .enumerate()
        {
            let x = LABEL_W + group as i32 * 4 * CELL_W + 2 * CELL_W;
            root.draw(&Text::new(heading.to_string(), (x, 50), centred(LABEL_PX)))?;
            for (k, class) in CLASSES.iter().enumerate() {
                let x = LABEL_W + (group as i32 * 4 + k as i32) * CELL_W + CELL_W / 2;
                root.draw(&Text::new(class.to_string(), (x, 76), centred(LABEL_PX)))?;
            }
        }
        for (row, s) in results.strategies.iter().enumerate() {
            let y = TOP + row as i32 * CELL_H;
            root.draw(&Text::new(
                format!("{} ({})", s.label, s.write),
                (12, y + CELL_H / 2),
                left.clone(),
            ))?;
            let permanent = counts(&s.permanent);
            let worst = counts(&s.worst);
            for col in 0..8 {
                let (n, fill) = if col < 4 {
                    let n = permanent[col];
                    (n, if n == 0 { EXACT } else { lost_colour(n) })
                } else {
                    let n = worst[col - 4];
                    (n, if n == 0 { EXACT } else { HEALED })
                };
                let x = LABEL_W + col as i32 * CELL_W;
                root.draw(&Rectangle::new(
                    [(x + 1, y + 1), (x + CELL_W - 1, y + CELL_H - 1)],
                    fill.filled(),
                ))?;
                root.draw(&Text::new(
                    n.to_string(),
                    (x + CELL_W / 2, y + CELL_H / 2),
                    centred(LABEL_PX),
                ))?;
            }
        }
        Ok(())
    })?;
    Ok(Chart {
        name: name.to_string(),
        title,
        caption: "Keys per class (duplicate: surplus rows). Green: none. Red, deeper with the \
                  count: lost for good. Amber: wrong during the runs, healed by the end."
            .to_string(),
        svg,
    })
}
