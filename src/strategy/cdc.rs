use super::{raise, RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::StrategyKind;

/// Reads the change log past the last lsn consumed. The log is in commit order, so nothing
/// committed can hide below the offset: inserts, updates and hard deletes all arrive.
pub struct Cdc;

impl Strategy for Cdc {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Cdc
    }

    fn plan(&self, state: &StrategyState, _run: &RunContext) -> ReadRequest {
        ReadRequest {
            spec: ReadSpec::LogAfter(state.watermark.unwrap_or(0)),
            want_maxima: true,
        }
    }

    fn advance(&self, state: &StrategyState, read: &ReadStats, _run: &RunContext) -> StrategyState {
        StrategyState {
            watermark: raise(state.watermark, read.max_lsn),
            ..StrategyState::default()
        }
    }
}
