//! `incrlab explain`: run a scenario watching one key, and tell that key's story for one
//! strategy. Above the runner (which uses `explain` for its sample reasons), so the two never
//! import each other.

use crate::error::{Error, Result};
use crate::explain::{Explainer, PipelineExplainer, Story};
use crate::runner::{self, RunOptions};
use crate::scenario::{LoadedScenario, TargetModel};

/// The story of `key` for the strategy labelled `label`, from a run of the scenario (with
/// `seed`, when given) that watched the key.
pub fn explain_key(
    loaded: &LoadedScenario,
    label: &str,
    key: i64,
    seed: Option<u64>,
) -> Result<Story> {
    let labels = loaded.scenario.lane_labels();
    let Some(index) = labels.iter().position(|l| l == label) else {
        return Err(Error::Argument {
            flag: "--strategy".into(),
            message: format!(
                "`{label}` is not a strategy of {}; its labels: {}",
                loaded.path.display(),
                labels.join(", ")
            ),
        });
    };
    let is_pipeline = index >= loaded.scenario.strategies.len();
    if !is_pipeline && loaded.scenario.strategies[index].model() == TargetModel::DailyTotals {
        return Err(Error::Argument {
            flag: "--strategy".into(),
            message: format!(
                "`{label}` keeps daily totals, not keys: its wrong days, with the totals expected and held, are in results.json (sample_wrong_keys)"
            ),
        });
    }
    let history = runner::simulate(loaded, seed);
    if key < 1 || key > history.max_id {
        return Err(Error::Argument {
            flag: "--key".into(),
            message: format!("ids in this history run from 1 to {}", history.max_id),
        });
    }
    let results = runner::run(
        loaded,
        &RunOptions {
            seed,
            watch_key: Some(key),
            ..RunOptions::default()
        },
    )?;
    if is_pipeline {
        let result = &results.strategies[index];
        return Ok(PipelineExplainer { result }.story(&history, key));
    }
    let spec = &results.scenario_as_run.strategies[index];
    let interval_us = results.scenario_as_run.schedule.interval.0;
    let explainer = Explainer::new(spec, &results.strategies[index], interval_us);
    Ok(explainer.story(&history, key))
}
