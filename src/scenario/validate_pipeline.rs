//! Checks `[[pipeline]]` entries and the faults that apply to them: labels, commands, targets,
//! models, timeouts and `kill_after`. A pipeline whose program cannot be found is refused
//! here, before anything runs.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use super::validate::Problem;
use super::{resolve_program, Scenario, PYTHON_ENV};

fn problem(key: impl Into<String>, message: impl Into<String>) -> Result<(), Problem> {
    Err(Problem {
        key: key.into(),
        message: message.into(),
    })
}

/// Everything about the pipelines that the scenario text alone decides.
pub fn validate_pipelines(s: &Scenario) -> Result<(), Problem> {
    if let Some(faults) = &s.faults {
        if let Some(dist) = &faults.kill_after {
            if let Some(why) = dist.problem() {
                return problem("faults.kill_after", why);
            }
            if dist.lower_bound().is_none_or(|low| low < 0) {
                return problem(
                    "faults.kill_after",
                    "a delay after the start must not be negative: use a distribution bounded below by 0",
                );
            }
        }
    }
    if s.pipelines.is_empty() {
        return Ok(());
    }
    if s.sweep.is_some() {
        return problem(
            "pipeline",
            "outside pipelines run in `incrlab run` and `incrlab check`, not in sweeps: drop [sweep] or the [[pipeline]] entries",
        );
    }
    let strategies: BTreeSet<String> = s.strategies.iter().map(|spec| spec.label()).collect();
    let mut labels = BTreeSet::new();
    for (i, p) in s.pipelines.iter().enumerate() {
        let at = |key: &str| format!("pipeline[{}].{key}", i + 1);
        if p.label.trim().is_empty() {
            return problem(at("label"), "must not be empty");
        }
        if p.label.contains(['/', '\\']) || p.label.starts_with('.') {
            return problem(
                at("label"),
                "names the pipeline's log directory: no path separators and no leading dot",
            );
        }
        if strategies.contains(&p.label) || !labels.insert(p.label.clone()) {
            return problem(
                at("label"),
                format!("label `{}` is already used by another lane", p.label),
            );
        }
        if p.command.is_empty() || p.command[0].trim().is_empty() {
            return problem(
                at("command"),
                "give the program and its arguments, e.g. [\"python3\", \"{scenario_dir}/my_pipeline.py\"]",
            );
        }
        if p.timeout.0 <= 0 {
            return problem(
                at("timeout"),
                format!("must be positive, got {}", p.timeout),
            );
        }
        let file = Path::new(&p.target.duckdb);
        let escapes = file.is_absolute()
            || file
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)));
        if p.target.duckdb.trim().is_empty() || escapes {
            return problem(
                at("target.duckdb"),
                format!(
                    "`{}` must be a file name inside the pipeline's work directory (relative, no `..`)",
                    p.target.duckdb
                ),
            );
        }
        let table_ok = !p.target.table.is_empty()
            && p.target.table.split('.').count() <= 2
            && p.target.table.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !table_ok {
            return problem(
                at("target.table"),
                format!(
                    "`{}` is not a table name: letters, digits and `_`, optionally `schema.table`",
                    p.target.table
                ),
            );
        }
        if let Some(model) = &p.model {
            if !strategies.contains(model) {
                let known: Vec<&str> = strategies.iter().map(String::as_str).collect();
                return problem(
                    at("model"),
                    format!(
                        "no built-in strategy is labelled `{model}` in this scenario (labels: {})",
                        known.join(", ")
                    ),
                );
            }
        }
        if let Some(name) = p.env.keys().find(|k| k.starts_with("INCRLAB_")) {
            return problem(
                at(&format!("env.{name}")),
                "INCRLAB_* variables are set by incrlab for every run: choose another name",
            );
        }
    }
    Ok(())
}

/// Expectations that only make sense on a pipeline, and the ones that do not apply to one.
pub fn validate_pipeline_expectations(s: &Scenario) -> Result<(), Problem> {
    for (i, e) in s.expectations.iter().enumerate() {
        let pipeline = s.pipelines.iter().find(|p| p.label == e.strategy);
        let is_pipeline = pipeline.is_some();
        if e.same_as_model.is_some() && pipeline.is_none_or(|p| p.model.is_none()) {
            return problem(
                format!("expect[{}].same_as_model", i + 1),
                format!(
                    "applies to a [[pipeline]] with a `model`; `{}` is not one",
                    e.strategy
                ),
            );
        }
        if e.failed_runs.is_some() && !is_pipeline {
            return problem(
                format!("expect[{}].failed_runs", i + 1),
                format!("applies to a [[pipeline]]; `{}` is not one", e.strategy),
            );
        }
        if is_pipeline && e.idempotent.is_some() {
            return problem(
                format!("expect[{}].idempotent", i + 1),
                "the idempotence check restores a built-in strategy's state; for a pipeline, use [faults] kills instead",
            );
        }
        if is_pipeline && e.rows_scanned.is_some() {
            return problem(
                format!("expect[{}].rows_scanned", i + 1),
                "incrlab cannot see what an outside pipeline scans; rows_written (from its target) can be checked",
            );
        }
    }
    Ok(())
}

/// Every pipeline's program can be found (on `PATH`, or as a path), with the placeholders of a
/// scenario file in `scenario_dir` filled in.
pub fn validate_commands(s: &Scenario, scenario_dir: &Path) -> Result<(), Problem> {
    let cwd = std::env::current_dir().unwrap_or_default();
    for (i, p) in s.pipelines.iter().enumerate() {
        let argv = p.argv(scenario_dir, None);
        if resolve_program(&argv[0], &cwd).is_none() {
            let hint = if p.command[0].contains("{python}") {
                format!(" ({{python}} is ${PYTHON_ENV}, else python3)")
            } else {
                String::new()
            };
            return problem(
                format!("pipeline[{}].command", i + 1),
                format!(
                    "program `{}` of pipeline `{}` was not found{hint}",
                    argv[0], p.label
                ),
            );
        }
    }
    Ok(())
}
