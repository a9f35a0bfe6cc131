//! Presenting results. Invariant: reports read [`RunResults`](crate::results::RunResults)
//! and [`SweepResults`](crate::sweep::SweepResults) (or the files they were saved to), never
//! live engines or simulations; the same files give byte-identical reports.

pub mod bench;
pub mod charts;
mod compose;
pub mod decision;
pub mod document;
pub mod format;
mod html;
mod markdown;
pub mod matrix;
mod pipeline_lines;
pub mod terminal;
pub mod verdict;

use std::path::{Path, PathBuf};

pub use compose::{compose, ReportInputs};
pub use html::render_html;
pub use markdown::{render_markdown, CHARTS_DIR};

use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::results::{RunResults, RESULTS_FILE};
use crate::sweep::{SweepResults, SWEEP_FILE};

pub const HTML_FILE: &str = "index.html";
pub const MARKDOWN_FILE: &str = "report.md";

/// Reads every results file in `dir` (results.json with its timeline, sweep.json).
pub fn read_inputs(dir: &Path) -> Result<ReportInputs> {
    let run = if dir.join(RESULTS_FILE).exists() {
        Some(RunResults::read(dir)?)
    } else {
        None
    };
    let sweep = if dir.join(SWEEP_FILE).exists() {
        Some(SweepResults::read(dir)?)
    } else {
        None
    };
    if run.is_none() && sweep.is_none() {
        return Err(Error::Argument {
            flag: "DIR".into(),
            message: format!(
                "{} holds no results: expected {RESULTS_FILE} (from `incrlab run`) or {SWEEP_FILE} (from `incrlab sweep`)",
                dir.display()
            ),
        });
    }
    let timeline = run.as_ref().and_then(|r| r.timeline.clone());
    Ok(ReportInputs {
        run,
        timeline,
        sweep,
    })
}

/// Renders the report of `dir` from its results files: `index.html`, `report.md` and
/// `charts/*.svg`, each written atomically. Returns the files written.
pub fn write_report(dir: &Path) -> Result<Vec<PathBuf>> {
    let doc = compose(&read_inputs(dir)?)?;
    let mut written = Vec::new();
    let charts = dir.join(CHARTS_DIR);
    if doc.charts().next().is_some() {
        std::fs::create_dir_all(&charts)
            .map_err(|e| Error::io("cannot create the charts directory", &charts, e))?;
    }
    for chart in doc.charts() {
        let path = charts.join(format!("{}.svg", chart.name));
        write_atomic(&path, chart.svg.as_bytes())?;
        written.push(path);
    }
    let md = dir.join(MARKDOWN_FILE);
    write_atomic(&md, render_markdown(&doc).as_bytes())?;
    written.push(md);
    // The page last: it is the file people open, and it is whole only when the rest is.
    let html = dir.join(HTML_FILE);
    write_atomic(&html, render_html(&doc).as_bytes())?;
    written.push(html);
    Ok(written)
}
