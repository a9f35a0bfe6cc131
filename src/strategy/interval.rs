use super::{RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::StrategyKind;

/// Event-time data intervals, as an orchestrator schedules them: the run at `R` owns
/// `[R − size, R)` by `event_time` and reads it again together with the `lookback` intervals
/// before it. Nothing persists: the schedule, not a watermark, says what a run owns, so a
/// skipped run's interval is only read if a later run's lookback reaches back to it. A row
/// whose event time is already behind every window open when it commits is never read.
pub struct Interval {
    pub size_us: i64,
    pub lookback: u32,
}

impl Interval {
    /// The event-time window `[from, to)` the run at `time_us` reads.
    pub fn window(&self, time_us: i64) -> (i64, i64) {
        let to = time_us.div_euclid(self.size_us) * self.size_us;
        (to - (1 + self.lookback as i64) * self.size_us, to)
    }
}

impl Strategy for Interval {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Interval
    }

    fn plan(&self, _state: &StrategyState, run: &RunContext) -> ReadRequest {
        let (from_us, to_us) = self.window(run.time_us);
        ReadRequest {
            spec: ReadSpec::EventTimeWindow { from_us, to_us },
            want_maxima: true,
        }
    }

    fn advance(
        &self,
        state: &StrategyState,
        _read: &ReadStats,
        _run: &RunContext,
    ) -> StrategyState {
        state.clone()
    }
}
