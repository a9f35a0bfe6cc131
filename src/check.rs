//! `incrlab check`: run scenarios, evaluate their expectations (and a baseline), report.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::expect::{compare_with_baseline, evaluate, Outcome};
use crate::results::RunResults;
use crate::runner::{self, RunOptions};
use crate::scenario::{LoadedScenario, Scenario};

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// A directory of stored results (`<dir>/<scenario name>/results.json`) to compare with.
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline a counter may get, as a fraction.
    pub tolerance: f64,
    /// Where to keep each scenario's results (`<dir>/<scenario name>/results.json`).
    pub out: Option<PathBuf>,
    /// What each scenario's memory estimate must fit in.
    pub memory: crate::footprint::MemoryBudget,
}

/// The scenario files named by `paths`: files as given, directories expanded to their `*.toml`
/// files in name order.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::io("cannot list scenarios", path, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Loads every scenario first, so bad input stops the check before anything runs.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<LoadedScenario>> {
    files.iter().map(|f| Scenario::load(f)).collect()
}

/// Runs one scenario and evaluates its expectations and, if asked, the baseline.
/// A scenario without `[[expect]]` entries (and no baseline to compare with) has nothing to
/// check and is not run.
pub fn check_scenario(loaded: &LoadedScenario, options: &CheckOptions) -> Result<Vec<Outcome>> {
    let expectations = &loaded.scenario.expectations;
    if expectations.is_empty() && options.baseline.is_none() && options.out.is_none() {
        return Ok(Vec::new());
    }
    let options_for_run = RunOptions {
        check_idempotence: expectations.iter().any(|e| e.idempotent.is_some()),
        pipeline_logs: options
            .out
            .as_ref()
            .map(|out| out.join(&loaded.scenario.name)),
        memory: options.memory,
        ..RunOptions::default()
    };
    let results = runner::run(loaded, &options_for_run)?;
    let rerun = if expectations.iter().any(|e| e.deterministic.is_some()) {
        // The same options: scan counts depend on the engine's physical layout, which depends
        // on every statement run on it (retries included).
        Some(runner::run(loaded, &options_for_run)?)
    } else {
        None
    };
    let mut outcomes = evaluate(expectations, &results, rerun.as_ref());
    if expectations.iter().any(|e| e.needs_sweep()) {
        let sweep_options = crate::sweep::SweepOptions {
            jobs: crate::sweep::default_jobs(),
            shard: None,
            // A strategy found not idempotent is not eligible: check it where the scenario
            // states idempotence at all.
            check_idempotence: options_for_run.check_idempotence,
            memory: options.memory,
        };
        let sweep = crate::sweep::run_sweep(loaded, &sweep_options, &|| {})?;
        outcomes.extend(crate::expect::evaluate_sweep(expectations, &sweep));
    }
    if let Some(dir) = &options.baseline {
        let baseline = RunResults::read(&dir.join(&results.scenario))?;
        outcomes.extend(compare_with_baseline(
            &results,
            &baseline,
            options.tolerance,
        ));
    }
    if let Some(out) = &options.out {
        results.write(&out.join(&results.scenario))?;
    }
    Ok(outcomes)
}

/// The terminal lines for a set of outcomes: failures in full, passes counted.
pub fn summary(outcomes: &[Outcome], scenario_path: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for o in outcomes.iter().filter(|o| !o.passed) {
        lines.push(format!(
            "FAIL {} · {} · {}: expected {}, got {}",
            scenario_path.display(),
            o.strategy,
            o.key,
            o.expected,
            o.actual
        ));
        if let Some(hint) = &o.hint {
            lines.push(format!("     {hint}"));
        }
    }
    if outcomes.is_empty() {
        lines.push(format!(
            "{}: no expectations, not run",
            scenario_path.display()
        ));
        return lines;
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    lines.push(format!(
        "{}: {passed} of {} expectations hold",
        scenario_path.display(),
        outcomes.len()
    ));
    lines
}
