use super::{raise, RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::StrategyKind;

/// Reads `id > max id seen`. Sees inserts only, and misses an insert whose id was drawn before
/// a higher id became visible (a long transaction): the watermark has already passed it.
pub struct WatermarkId;

impl Strategy for WatermarkId {
    fn kind(&self) -> StrategyKind {
        StrategyKind::WatermarkId
    }

    fn plan(&self, state: &StrategyState, _run: &RunContext) -> ReadRequest {
        ReadRequest {
            spec: match state.watermark {
                Some(wm) => ReadSpec::IdAbove(wm),
                None => ReadSpec::All,
            },
            want_maxima: true,
        }
    }

    fn advance(&self, state: &StrategyState, read: &ReadStats, _run: &RunContext) -> StrategyState {
        StrategyState {
            watermark: raise(state.watermark, read.max_id),
            ..StrategyState::default()
        }
    }
}
