//! The teaching view: true time across, one lane per writer with its transactions (begin to
//! commit), the runs as vertical lines, lost rows in red. For a timestamp watermark a second
//! panel plots every commit at (commit time, `updated_at`) under the read bound of the next
//! run: a point below the step was committed after a read had already passed its stamp —
//! that is *why* it was lost.

use plotters::prelude::*;

use super::style::{self, FONT, LABEL_PX, TITLE_PX};
use super::{draw_legend, draw_svg, Chart};
use crate::error::Result;
use crate::results::{RunResults, StrategyResult};
use crate::scenario::{Boundary, StrategyKind};
use crate::timeline::{Timeline, TimelineCommit};

const WIDTH: u32 = 960;
const LANE_PX: u32 = 46;
const STAMP_PANEL_PX: u32 = 380;

fn secs(us: i64) -> f64 {
    us as f64 / 1e6
}

/// One timeline chart for the strategy at `index` of the results.
pub fn timeline_chart(results: &RunResults, timeline: &Timeline, index: usize) -> Result<Chart> {
    let s: &StrategyResult = &results.strategies[index];
    let spec = results.scenario_as_run.strategies.get(index);
    let stamps_panel = s.strategy == StrategyKind::UpdatedAt.name();
    let lag_us = spec.and_then(|x| x.lag).map_or(0, |l| l.0);
    let inclusive = spec.is_some_and(|x| x.boundary == Some(Boundary::Inclusive));
    let lost: &[i64] = timeline.lost_for(&s.label).map_or(&[], |l| &l.lsns[..]);
    let is_lost = |c: &TimelineCommit| lost.binary_search(&c.lsn).is_ok();

    let run_times: Vec<i64> = s.per_run.iter().map(|r| r.time_us).collect();
    let t_end = run_times.last().copied().unwrap_or(0).max(1);
    let t_start = timeline
        .commits
        .iter()
        .map(|c| c.begin_us)
        .min()
        .unwrap_or(0)
        .min(0);
    let x_range = secs(t_start)..secs(t_end) * 1.01;

    let writers = timeline.writers.max(1);
    let lanes_px = 90 + LANE_PX * writers;
    let height = lanes_px + if stamps_panel { STAMP_PANEL_PX } else { 0 };
    let name = format!("timeline-{}-{}", index + 1, slug(&s.label));
    let title = format!("Timeline — {} ({})", s.label, s.write);
    let lost_count = timeline.lost_for(&s.label).map_or(0, |l| l.wrong_keys);

    let svg = draw_svg(&name, (WIDTH, height), |root| {
        let (top, bottom) = root.split_vertically(lanes_px);
        let mut lanes = ChartBuilder::on(&top)
            .caption(&title, (FONT, TITLE_PX))
            .margin(12)
            .x_label_area_size(if stamps_panel { 8 } else { 40 })
            .y_label_area_size(90)
            .build_cartesian_2d(x_range.clone(), -0.6f64..(writers as f64 - 0.4))?;
        let mut mesh = lanes.configure_mesh();
        mesh.y_labels(writers as usize + 1)
            .y_label_formatter(&|y| {
                let w = y.round();
                if (y - w).abs() < 0.01 && w >= 0.0 {
                    format!("writer {w:.0}")
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FONT, LABEL_PX))
            .light_line_style(WHITE.mix(0.0));
        if !stamps_panel {
            mesh.x_desc("true time (s)");
        }
        mesh.draw()?;
        for &t in &run_times {
            lanes.draw_series(std::iter::once(PathElement::new(
                vec![(secs(t), -0.6), (secs(t), writers as f64 - 0.4)],
                style::MUTED.stroke_width(1),
            )))?;
        }
        // Spread a lane's transactions over a little height so overlapping ones stay visible.
        let lane_y = |c: &TimelineCommit| c.writer as f64 + ((c.lsn % 7) as f64 - 3.0) * 0.08;
        for pass_lost in [false, true] {
            let colour = if pass_lost {
                style::LOST
            } else {
                style::series_color(0)
            };
            let drawn = timeline.commits.iter().filter(|c| is_lost(c) == pass_lost);
            lanes.draw_series(drawn.clone().map(|c| {
                PathElement::new(
                    vec![
                        (secs(c.begin_us), lane_y(c)),
                        (secs(c.commit_us), lane_y(c)),
                    ],
                    colour.stroke_width(if pass_lost { 2 } else { 1 }),
                )
            }))?;
            lanes.draw_series(drawn.map(|c| {
                Circle::new(
                    (secs(c.commit_us), lane_y(c)),
                    if pass_lost { 3 } else { 2 },
                    colour.filled(),
                )
            }))?;
        }

        if stamps_panel {
            let window = zoom_window(s, timeline, lost, lag_us);
            let in_window = |t: i64| window.is_none_or(|(from, to, _)| t >= from && t <= to);
            // Step segments clipped to the window, so none is drawn outside the plot.
            let bounds: Vec<(i64, i64, i64)> = read_bounds(s, lag_us)
                .into_iter()
                .filter_map(|(from, to, bound)| match window {
                    Some((lo, hi, _)) if to < lo || from > hi => None,
                    Some((lo, hi, _)) => Some((from.max(lo), to.min(hi), bound)),
                    None => Some((from, to, bound)),
                })
                .collect();
            let shown: Vec<&TimelineCommit> = timeline
                .commits
                .iter()
                .filter(|c| in_window(c.commit_us))
                .collect();
            let (lo, hi) = shown
                .iter()
                .map(|c| c.updated_at_us)
                .chain(bounds.iter().map(|b| b.2))
                .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let (lo, hi) = if lo <= hi {
                (secs(lo), secs(hi))
            } else {
                (0.0, 1.0)
            };
            let pad = ((hi - lo) * 0.05).max(0.1);
            let stamp_x = match window {
                Some((from, to, _)) => secs(from)..secs(to),
                None => x_range.clone(),
            };
            let zoom_caption = match window {
                Some((_, _, run)) => {
                    format!("zoom on run {run}, where the first lost row was skipped")
                }
                None => "every commit against the read bound of the run that first sees it".into(),
            };
            let mut stamps = ChartBuilder::on(&bottom)
                .caption(zoom_caption, (FONT, LABEL_PX + 2))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(90)
                .build_cartesian_2d(stamp_x, (lo - pad)..(hi + pad))?;
            let decimals = if window.is_some() { 1 } else { 0 };
            stamps
                .configure_mesh()
                .x_desc("true time (s)")
                .y_desc("updated_at (s)")
                .x_label_formatter(&|x| format!("{x:.decimals$}"))
                .y_label_formatter(&|y| format!("{y:.decimals$}"))
                .label_style((FONT, LABEL_PX))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for &t in run_times.iter().filter(|&&t| in_window(t)) {
                stamps.draw_series(std::iter::once(PathElement::new(
                    vec![(secs(t), lo - pad), (secs(t), hi + pad)],
                    style::MUTED.stroke_width(1),
                )))?;
            }
            stamps.draw_series(shown.iter().filter(|c| !is_lost(c)).map(|c| {
                Circle::new(
                    (secs(c.commit_us), secs(c.updated_at_us)),
                    2,
                    style::series_color(0).mix(0.6).filled(),
                )
            }))?;
            // Each run reads stamps above its bound: draw the bound over the interval whose
            // commits that run is the first to see.
            let step: Vec<(f64, f64)> = bounds
                .iter()
                .flat_map(|&(from, to, bound)| [(secs(from), secs(bound)), (secs(to), secs(bound))])
                .collect();
            stamps
                .draw_series(LineSeries::new(step, style::REFERENCE.stroke_width(2)))?
                .label(format!(
                    "read bound: watermark{} ({} rows at the bound {})",
                    if lag_us > 0 {
                        format!(" − lag {}", crate::scenario::Micros(lag_us))
                    } else {
                        String::new()
                    },
                    if inclusive { "read" } else { "skipped" },
                    if inclusive { "again" } else { "for good" },
                ))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], style::REFERENCE.stroke_width(2))
                });
            let lost_versions: Vec<&TimelineCommit> = shown
                .iter()
                .copied()
                .filter(|c| is_lost(c) && c.op != 'D')
                .collect();
            let lost_deletes: Vec<&TimelineCommit> = shown
                .iter()
                .copied()
                .filter(|c| is_lost(c) && c.op == 'D')
                .collect();
            // Legend entries only for what is on the chart: red means something was lost.
            if !lost_versions.is_empty() {
                stamps
                    .draw_series(lost_versions.iter().map(|c| {
                        Circle::new(
                            (secs(c.commit_us), secs(c.updated_at_us)),
                            4,
                            style::LOST.filled(),
                        )
                    }))?
                    .label("lost: committed below a bound already read past")
                    .legend(|(x, y)| Circle::new((x + 9, y), 4, style::LOST.filled()));
            }
            // A hard delete leaves no row to stamp or read: no bound could have caught it.
            if !lost_deletes.is_empty() {
                stamps
                    .draw_series(lost_deletes.iter().map(|c| {
                        Cross::new(
                            (secs(c.commit_us), secs(c.updated_at_us)),
                            5,
                            style::LOST.stroke_width(2),
                        )
                    }))?
                    .label("lost: a hard delete, invisible to a timestamp read")
                    .legend(|(x, y)| Cross::new((x + 9, y), 5, style::LOST.stroke_width(2)));
            }
            draw_legend(&mut stamps, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    })?;
    let sampling = if timeline.sampled_every > 1 {
        format!(
            " One commit in {} is drawn (of {}); every lost one is.",
            timeline.sampled_every, timeline.total_commits
        )
    } else {
        String::new()
    };
    Ok(Chart {
        name,
        title,
        caption: format!(
            "Each line is a transaction from begin to commit (dot) in its writer's lane; grey \
             verticals are runs; red marks the {lost_count} row(s) this strategy lost.{sampling}"
        ),
        svg,
    })
}

/// A window of true time around the run that skipped the first lost (non-delete) row: from a
/// little before the previous run to a little after the lost commit, wide enough to show how
/// far the watermark ran ahead. `None` when nothing was lost that a read bound explains.
/// Returns `(from_us, to_us, run number)`.
fn zoom_window(
    s: &StrategyResult,
    timeline: &Timeline,
    lost: &[i64],
    lag_us: i64,
) -> Option<(i64, i64, u32)> {
    let first = timeline
        .commits
        .iter()
        .find(|c| c.op != 'D' && lost.binary_search(&c.lsn).is_ok())?;
    let k = s
        .per_run
        .iter()
        .position(|r| r.time_us >= first.commit_us)?;
    let run = &s.per_run[k];
    let previous = k.checked_sub(1).map_or(0, |i| s.per_run[i].time_us);
    let bound = run.watermark_before.map_or(previous, |wm| wm - lag_us);
    // Everything the picture needs: the previous run, the bound, the lost row's stamp and commit.
    let lo = previous.min(bound).min(first.updated_at_us);
    let hi = first.commit_us.max(bound).max(previous);
    let margin = ((hi - lo) / 2).max(500_000);
    Some((lo - margin, hi + margin, run.run))
}

/// Per run after the first: (previous run time, run time, lowest stamp read). A commit in
/// `(previous, run]` is first visible to that run and is read only if stamped above the bound.
fn read_bounds(s: &StrategyResult, lag_us: i64) -> Vec<(i64, i64, i64)> {
    s.per_run
        .windows(2)
        .filter_map(|w| {
            let wm = w[1].watermark_before?;
            (!w[1].reconciled).then_some((w[0].time_us, w[1].time_us, wm.saturating_sub(lag_us)))
        })
        .collect()
}

/// A file-name-safe form of a strategy label: `updated_at>=lag2s` → `updated-at-gt-eq-lag2s`.
pub fn slug(label: &str) -> String {
    let mut out = String::new();
    for ch in label.chars() {
        let piece = match ch {
            'a'..='z' | 'A'..='Z' | '0'..='9' => {
                out.push(ch.to_ascii_lowercase());
                continue;
            }
            '>' => "-gt-",
            '<' => "-lt-",
            '=' => "-eq-",
            _ => "-",
        };
        for p in piece.chars() {
            if p != '-' || !(out.is_empty() || out.ends_with('-')) {
                out.push(p);
            }
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn labels_become_readable_file_names() {
        assert_eq!(slug("updated_at>=lag2s"), "updated-at-gt-eq-lag2s");
        assert_eq!(slug("updated_at>"), "updated-at-gt");
        assert_eq!(
            slug("watermark_id+delete_insert"),
            "watermark-id-delete-insert"
        );
    }
}
