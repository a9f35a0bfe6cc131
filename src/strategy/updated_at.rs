use super::{raise, RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::{Boundary, StrategyKind};

/// Reads rows modified since the watermark (`updated_at > wm - lag`, or `>=`), where the
/// watermark is the largest `updated_at` seen. Loses rows stamped at or below the read bound
/// that commit after the read: long transactions, writers whose clocks run behind, and (with
/// `>`) rows that tie with the watermark. `lag` trades re-reading for safety.
pub struct UpdatedAt {
    pub boundary: Boundary,
    pub lag_us: i64,
}

impl Strategy for UpdatedAt {
    fn kind(&self) -> StrategyKind {
        StrategyKind::UpdatedAt
    }

    fn plan(&self, state: &StrategyState, _run: &RunContext) -> ReadRequest {
        ReadRequest {
            spec: match state.watermark {
                Some(wm) => ReadSpec::UpdatedAtFrom {
                    from_us: wm.saturating_sub(self.lag_us),
                    inclusive: self.boundary == Boundary::Inclusive,
                },
                None => ReadSpec::All,
            },
            want_maxima: true,
        }
    }

    fn advance(&self, state: &StrategyState, read: &ReadStats, _run: &RunContext) -> StrategyState {
        StrategyState {
            watermark: raise(state.watermark, read.max_updated_at_us),
            ..StrategyState::default()
        }
    }
}
