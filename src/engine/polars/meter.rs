//! Time spent in the polars engine's plans, measured the way DuckDB's is: wall time around each
//! statement, and the engine's own account of its operators (polars' profiler).

use std::time::{Duration, Instant};

use polars::prelude::*;

use super::error::PolarsEngineContext;
use crate::error::Result;

/// Time spent in the engine's plans: wall time around each, and the time polars' own profiler
/// gives its executed plan nodes (the polars counterpart of DuckDB's per-operator CPU time).
#[derive(Debug, Default)]
pub(super) struct Meter {
    pub wall: Duration,
    pub operators: Duration,
}

impl Meter {
    /// Executes `plan`, profiled.
    pub(super) fn collect(
        &mut self,
        plan: LazyFrame,
        what: impl FnOnce() -> String,
    ) -> Result<DataFrame> {
        let started = Instant::now();
        let result = plan.profile();
        self.wall += started.elapsed();
        let (frame, profile) = result.during(what)?;
        self.operators += node_time(&profile);
        Ok(frame)
    }

    /// Times work that is not a plan (appending chunks to a frame).
    pub(super) fn timed<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = work();
        let took = started.elapsed();
        self.wall += took;
        self.operators += took;
        out
    }
}

/// The summed time of a profile's nodes (`start` and `end` in microseconds).
fn node_time(profile: &DataFrame) -> Duration {
    let column = |name: &str| {
        profile
            .column(name)
            .ok()
            .and_then(|c| c.cast(&DataType::UInt64).ok())
    };
    let (Some(start), Some(end)) = (column("start"), column("end")) else {
        return Duration::ZERO;
    };
    let (Ok(start), Ok(end)) = (start.u64(), end.u64()) else {
        return Duration::ZERO;
    };
    let us: u64 = start
        .iter()
        .zip(end.iter())
        .map(|(s, e)| e.unwrap_or(0).saturating_sub(s.unwrap_or(0)))
        .sum();
    Duration::from_micros(us)
}
