use super::{RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::StrategyKind;

/// Full reprocessing: read everything, replace the target. Stateless, the baseline.
pub struct Full;

impl Strategy for Full {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Full
    }

    fn plan(&self, _state: &StrategyState, _run: &RunContext) -> ReadRequest {
        ReadRequest {
            spec: ReadSpec::All,
            want_maxima: false,
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
