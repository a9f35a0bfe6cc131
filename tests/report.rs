//! Reports: rendered from results files alone, deterministic, verdict first, every chart
//! written and linked.

mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_report_fixtures, files_under};
use incrlab::report::{format::percent, write_report, HTML_FILE, MARKDOWN_FILE};
use incrlab::results::RunResults;
use incrlab::sweep::{churn_axes, SweepResults};
use incrlab::timeline::Timeline;

fn incrlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(args)
        .output()
        .unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The colour lost rows are drawn in, as plotters writes it into SVG.
const LOST_COLOUR: &str = "#D62728";

#[test]
fn a_run_report_renders_from_stored_results_alone() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let run = dir.path().join("run");
    let written = write_report(&run).unwrap();
    let results = RunResults::read(&run).unwrap();

    let html = read(&run.join(HTML_FILE));
    assert!(run.join(MARKDOWN_FILE).is_file());
    assert!(run.join("charts/correctness.svg").is_file());
    let incremental = results
        .strategies
        .iter()
        .filter(|s| s.strategy != "full")
        .count();
    let timelines = written
        .iter()
        .filter(|p| p.to_string_lossy().contains("timeline-"))
        .count();
    assert_eq!(
        timelines, incremental,
        "one timeline per incremental strategy"
    );
    assert_eq!(
        html.matches("<figure class=\"chart\"").count(),
        1 + incremental,
        "every chart is inline in the page"
    );
}

#[test]
fn a_sweep_report_has_crossover_table_size_and_lag_charts() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let sweep_dir = dir.path().join("sweep");
    write_report(&sweep_dir).unwrap();
    for chart in ["crossover", "table-size", "lag"] {
        assert!(
            sweep_dir.join(format!("charts/{chart}.svg")).is_file(),
            "{chart} chart written"
        );
    }
}

#[test]
fn a_stored_sweep_gets_its_recommendations_and_the_report_opens_with_the_decision_map() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let sweep_dir = dir.path().join("sweep");
    // The fixture predates recommendations: reading it derives them from its points.
    let sweep = SweepResults::read(&sweep_dir).unwrap();
    let recs = &sweep.recommendations.by_point;
    assert!(!recs.is_empty());
    for r in recs {
        assert!(
            !r.is_eligible("watermark_id+delete_insert"),
            "it loses rows at every point"
        );
        let k = r.by_time.as_ref().expect("full is always exact here");
        assert_ne!(k.label, "watermark_id+delete_insert");
    }
    write_report(&sweep_dir).unwrap();
    let html = read(&sweep_dir.join("index.html"));
    let first_chart = html.split("<figure class=\"chart\" id=\"").nth(1).unwrap();
    assert!(
        first_chart.starts_with("decision-map\""),
        "the map comes first"
    );
    let map = read(&sweep_dir.join("charts/decision-map.svg"));
    assert!(
        !map.contains("watermark_id+delete_insert"),
        "a strategy never recommended has no colour on the map"
    );
    let recommended_here: Vec<&str> = recs
        .iter()
        .filter(|r| r.lag_us == recs[0].lag_us)
        .filter_map(|r| r.by_time.as_ref().map(|k| k.label.as_str()))
        .collect();
    for label in recommended_here {
        let escaped = label.replace('>', "&gt;");
        assert!(
            map.contains(label) || map.contains(&escaped),
            "{label} is in the legend"
        );
    }
}

#[test]
fn the_crossover_chart_labels_each_crossover_with_its_value() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let sweep_dir = dir.path().join("sweep");
    write_report(&sweep_dir).unwrap();
    let sweep = SweepResults::read(&sweep_dir).unwrap();
    let axes = churn_axes(&sweep.points);
    let crossed = sweep
        .crossovers
        .iter()
        .find(|c| c.value.is_some() && c.axis == "churn" && c.measure == "time")
        .expect("the fixture has a crossover to mark");
    let k = axes
        .iter()
        .position(|a| (Some(a.rows), a.lag_us) == (crossed.rows, crossed.lag_us))
        .unwrap();
    let chart = if k == 0 {
        "crossover".to_string()
    } else {
        format!("crossover-{}", k + 1)
    };
    let crossing: Vec<_> = sweep
        .crossovers
        .iter()
        .filter(|c| c.axis == "churn" && c.measure == "time")
        .filter(|c| (c.rows, c.lag_us) == (Some(axes[k].rows), axes[k].lag_us))
        .filter_map(|c| c.value.map(|v| (c.label.clone(), v)))
        .collect();
    let svg = read(&sweep_dir.join(format!("charts/{chart}.svg")));
    for (label, value) in crossing {
        // SVG text escapes markup characters, as in `updated_at&gt;=`.
        let text = format!("{label}: {}", percent(value)).replace('>', "&gt;");
        assert!(svg.contains(&text), "crossover chart marks `{text}`");
    }
}

#[test]
fn rendering_the_same_results_twice_gives_identical_files() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    copy_report_fixtures(a.path());
    copy_report_fixtures(b.path());
    for kind in ["run", "sweep"] {
        write_report(&a.path().join(kind)).unwrap();
        write_report(&b.path().join(kind)).unwrap();
        // And a re-render over an existing report changes nothing either.
        write_report(&b.path().join(kind)).unwrap();
    }
    let (fa, fb) = (files_under(a.path()), files_under(b.path()));
    assert_eq!(
        fa.iter().map(|f| &f.0).collect::<Vec<_>>(),
        fb.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{} differs between two renders", path.display());
    }
}

#[test]
fn the_report_opens_with_the_verdict_and_ends_with_the_scenario_as_run() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let run = dir.path().join("run");
    write_report(&run).unwrap();
    let results = RunResults::read(&run).unwrap();
    let html = read(&run.join(HTML_FILE));
    let verdict = html.find("<h2>Verdict</h2>").expect("a verdict section");
    let first_chart = html.find("<figure").expect("charts");
    let scenario = html.find("<h2>Scenario as run</h2>").expect("the scenario");
    assert!(verdict < first_chart && first_chart < scenario);
    assert!(html[scenario..].contains(&results.history_digest));
    assert!(html[scenario..].contains(&format!("seed = {}", results.seed)));
}

#[test]
fn every_strategy_has_a_verdict_sentence_with_its_loss() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let run = dir.path().join("run");
    write_report(&run).unwrap();
    let results = RunResults::read(&run).unwrap();
    let md = read(&run.join(MARKDOWN_FILE));
    for s in &results.strategies {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("- **{}** ", s.label)))
            .unwrap_or_else(|| panic!("no verdict line for {}", s.label));
        let total = s.permanent.total();
        if total > 0 {
            assert!(line.contains("loses data"), "{line}");
            assert!(
                line.contains(&format!("{total} keys wrong for good")),
                "{line}"
            );
        } else {
            assert!(!line.contains("loses data"), "{line}");
        }
    }
}

#[test]
fn markdown_links_every_chart_written_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    for kind in ["run", "sweep"] {
        let d = dir.path().join(kind);
        write_report(&d).unwrap();
        let md = read(&d.join(MARKDOWN_FILE));
        let links: Vec<&str> = md
            .lines()
            .filter_map(|l| l.strip_prefix("!["))
            .filter_map(|l| l.split("](").nth(1))
            .map(|l| l.trim_end_matches(')'))
            .collect();
        let svgs = std::fs::read_dir(d.join("charts")).unwrap().count();
        assert_eq!(links.len(), svgs, "{kind}: one link per chart file");
        for link in links {
            assert!(d.join(link).is_file(), "{kind}: {link} exists");
        }
    }
}

#[test]
fn the_timeline_draws_lost_rows_in_red_and_nothing_red_for_an_exact_strategy() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let run = dir.path().join("run");
    write_report(&run).unwrap();
    let results = RunResults::read(&run).unwrap();
    let timeline = Timeline::read(&run)
        .unwrap()
        .expect("the fixture has a timeline");
    for (i, s) in results.strategies.iter().enumerate() {
        if s.strategy == "full" {
            continue;
        }
        let chart = std::fs::read_dir(run.join("charts"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("timeline-{}-", i + 1))
            })
            .unwrap_or_else(|| panic!("a timeline for {}", s.label));
        let red = read(&chart).matches(LOST_COLOUR).count();
        let lost = timeline.lost_for(&s.label).map_or(0, |l| l.lsns.len());
        if s.permanent.total() == 0 {
            assert_eq!(red, 0, "{}: nothing lost, nothing red", s.label);
        } else {
            assert!(
                lost > 0,
                "{}: the timeline keeps its lost versions",
                s.label
            );
            assert!(
                red >= lost,
                "{}: {red} red marks for {lost} lost versions",
                s.label
            );
        }
    }
}

#[test]
fn incrlab_report_rerenders_a_directory_without_touching_its_results() {
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let run = dir.path().join("run");
    let before = std::fs::read(run.join("results.json")).unwrap();
    let output = incrlab(&["report", run.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(run.join(HTML_FILE).is_file());
    assert_eq!(std::fs::read(run.join("results.json")).unwrap(), before);
}

#[test]
fn incrlab_report_on_a_directory_without_results_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = incrlab(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("results.json"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_run_writes_its_report_beside_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/run.toml");
    let out = dir.path().join("out");
    let output = incrlab(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in ["results.json", "timeline.json", HTML_FILE, MARKDOWN_FILE] {
        assert!(out.join(file).is_file(), "{file} written");
    }
}
