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

#[cfg(test)]
mod tests {
    use super::*;

    fn dedupe(by: BoundaryDedupe) -> UpdatedAt {
        UpdatedAt {
            boundary: Boundary::Inclusive,
            lag_us: 0,
            dedupe: by,
        }
    }

    const RUN: RunContext<'static> = RunContext {
        run: 2,
        time_us: 0,
        landed: &[],
        snapshot_xmin: None,
    };

    fn read_with_max(max: i64) -> ReadStats {
        ReadStats {
            max_updated_at_us: Some(max),
            ..ReadStats::default()
        }
    }

    #[test]
    fn a_watermark_that_moves_remembers_only_the_rows_at_the_new_one() {
        let s = dedupe(BoundaryDedupe::Key);
        let before = StrategyState {
            watermark: Some(10),
            seen_at_watermark: vec![[1, 5]],
            ..StrategyState::default()
        };
        let next = s.advance_seeing(&before, &read_with_max(20), &[[3, 9], [2, 8]], &RUN);
        assert_eq!(next.watermark, Some(20));
        assert_eq!(next.seen_at_watermark, [[2, 8], [3, 9]]);
    }

    #[test]
    fn a_watermark_that_stands_still_adds_the_new_rows_at_it() {
        let s = dedupe(BoundaryDedupe::Key);
        let before = StrategyState {
            watermark: Some(10),
            seen_at_watermark: vec![[1, 5]],
            ..StrategyState::default()
        };
        let next = s.advance_seeing(&before, &read_with_max(10), &[[4, 7]], &RUN);
        assert_eq!(next.seen_at_watermark, [[1, 5], [4, 7]]);
        // Nothing new read: the set stays as it was.
        let empty = s.advance_seeing(&next, &ReadStats::default(), &[], &RUN);
        assert_eq!(empty, next);
    }

    #[test]
    fn the_plan_skips_seen_keys_or_seen_rows_at_the_watermark() {
        let state = StrategyState {
            watermark: Some(10),
            seen_at_watermark: vec![[1, 5]],
            ..StrategyState::default()
        };
        for (by, by_row) in [(BoundaryDedupe::Key, false), (BoundaryDedupe::Row, true)] {
            assert_eq!(
                dedupe(by).plan(&state, &RUN).spec,
                ReadSpec::UpdatedAtSkippingSeen {
                    from_us: 10,
                    seen: vec![[1, 5]],
                    by_row,
                }
            );
        }
        assert_eq!(
            dedupe(BoundaryDedupe::None).plan(&state, &RUN).spec,
            ReadSpec::UpdatedAtFrom {
                from_us: 10,
                inclusive: true
            }
        );
    }
}
