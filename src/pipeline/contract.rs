//! What a pipeline is told at every attempt, through its environment (docs/pipelines.md):
//! which run, the run's true time, where the source, its target, its state and the landing
//! directory are, and how to announce a point.

use std::path::Path;

use crate::row::EPOCH_US;

/// Where things are for one pipeline.
pub struct ContractPaths<'a> {
    pub source: &'a Path,
    pub target: &'a Path,
    pub target_table: &'a str,
    pub state_dir: &'a Path,
    pub landing_dir: Option<&'a Path>,
    /// The fifo points may be announced on (`INCRLAB_POINTS`).
    pub points_fifo: Option<&'a Path>,
}

/// Simulated microseconds as an RFC 3339 UTC timestamp from the contract's epoch
/// (`2026-01-01T00:00:00Z` is time 0); fractions of a second only where there are any.
pub fn rfc3339(time_us: i64) -> String {
    let instant = chrono::DateTime::from_timestamp_micros(EPOCH_US + time_us)
        .expect("simulated times lie within chrono's range");
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The `INCRLAB_*` variables of one attempt.
pub fn contract_env(
    paths: &ContractPaths<'_>,
    run: u32,
    attempt: u32,
    time_us: i64,
    drain: bool,
) -> Vec<(String, String)> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut env = vec![
        ("INCRLAB_RUN".to_string(), run.to_string()),
        ("INCRLAB_ATTEMPT".to_string(), attempt.to_string()),
        ("INCRLAB_NOW".to_string(), rfc3339(time_us)),
        ("INCRLAB_EPOCH".to_string(), rfc3339(0)),
        ("INCRLAB_DRAIN".to_string(), u8::from(drain).to_string()),
        ("INCRLAB_SOURCE".to_string(), path(paths.source)),
        ("INCRLAB_TARGET".to_string(), path(paths.target)),
        (
            "INCRLAB_TARGET_TABLE".to_string(),
            paths.target_table.to_string(),
        ),
        ("INCRLAB_STATE_DIR".to_string(), path(paths.state_dir)),
        // After `INCRLAB_POINT <name>` on stderr, a pipeline may read one line from stdin:
        // incrlab answers `continue`, or kills it right there.
        ("INCRLAB_POINT_REPLY".to_string(), "stdin".to_string()),
    ];
    if let Some(dir) = paths.landing_dir {
        env.push(("INCRLAB_LANDING_DIR".to_string(), path(dir)));
    }
    if let Some(fifo) = paths.points_fifo {
        env.push(("INCRLAB_POINTS".to_string(), path(fifo)));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn simulated_time_zero_is_the_contract_epoch() {
        assert_eq!(rfc3339(0), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(90_000_000), "2026-01-01T00:01:30Z");
        assert_eq!(rfc3339(1_500), "2026-01-01T00:00:00.001500Z");
    }
}
