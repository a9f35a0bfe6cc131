use super::{raise, RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::{Boundary, BoundaryDedupe, StrategyKind};

/// Reads rows modified since the watermark (`updated_at > wm - lag`, or `>=`), where the
/// watermark is the largest `updated_at` seen. Loses rows stamped at or below the read bound
/// that commit after the read: long transactions, writers whose clocks run behind, and (with
/// `>`) rows that tie with the watermark. `lag` trades re-reading for safety.
///
/// With `>=` and a deduplicated boundary (dlt's `incremental`), the rows taken at the watermark
/// are remembered and skipped next time: by key, a later version of a key that ties with the
/// watermark is skipped too, and lost.
pub struct UpdatedAt {
    pub boundary: Boundary,
    pub lag_us: i64,
    pub dedupe: BoundaryDedupe,
}

impl Strategy for UpdatedAt {
    fn kind(&self) -> StrategyKind {
        StrategyKind::UpdatedAt
    }

    fn plan(&self, state: &StrategyState, _run: &RunContext) -> ReadRequest {
        let inclusive = self.boundary == Boundary::Inclusive;
        ReadRequest {
            spec: match state.watermark {
                Some(wm) if self.dedupe != BoundaryDedupe::None && inclusive => {
                    ReadSpec::UpdatedAtSkippingSeen {
                        from_us: wm,
                        seen: state.seen_at_watermark.clone(),
                        by_row: self.dedupe == BoundaryDedupe::Row,
                    }
                }
                Some(wm) => ReadSpec::UpdatedAtFrom {
                    from_us: wm.saturating_sub(self.lag_us),
                    inclusive,
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

    fn remembers_boundary(&self) -> bool {
        self.dedupe != BoundaryDedupe::None && self.boundary == Boundary::Inclusive
    }

    /// The rows remembered are those at the new watermark: a batch that moved the watermark
    /// starts a new set; one whose maximum is the old watermark adds to the old set (dlt keeps
    /// the union of its hashes while the cursor stands still).
    fn advance_seeing(
        &self,
        state: &StrategyState,
        read: &ReadStats,
        at_max: &[[i64; 2]],
        _run: &RunContext,
    ) -> StrategyState {
        let watermark = raise(state.watermark, read.max_updated_at_us);
        let mut seen = match (watermark, state.watermark) {
            (Some(new), Some(old)) if new == old => state.seen_at_watermark.clone(),
            _ => Vec::new(),
        };
        if read.max_updated_at_us == watermark {
            seen.extend_from_slice(at_max);
        }
        seen.sort_unstable();
        seen.dedup();
        StrategyState {
            watermark,
            seen_at_watermark: seen,
            ..StrategyState::default()
        }
    }
}
