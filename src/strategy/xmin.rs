use super::{RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::scenario::StrategyKind;

/// Reads the rows whose last writer's transaction id lies in `[watermark, snapshot_xmin)` and
/// moves the watermark to `snapshot_xmin`, the oldest transaction still in flight: every row
/// written below it is committed and read, every transaction that commits later has an id at
/// or above it. Lossless for inserts and updates under any commit delay, blind to hard deletes
/// (a deleted row has no `xmin` left), and it reads through an unindexed column (Airbyte's
/// xmin replication, PostHog's `pg_snapshot_xmin(pg_current_snapshot())`).
pub struct Xmin;

impl Xmin {
    fn snapshot(run: &RunContext) -> i64 {
        run.snapshot_xmin
            .expect("the runner computes snapshot_xmin for an xmin strategy")
    }
}

impl Strategy for Xmin {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Xmin
    }

    fn plan(&self, state: &StrategyState, run: &RunContext) -> ReadRequest {
        let to = Self::snapshot(run);
        ReadRequest {
            spec: ReadSpec::XidRange {
                // Never past the snapshot: a run planned from an older state reads again.
                from: state.watermark.unwrap_or(0).min(to),
                to,
            },
            want_maxima: true,
        }
    }

    fn advance(&self, state: &StrategyState, _read: &ReadStats, run: &RunContext) -> StrategyState {
        let to = Self::snapshot(run);
        StrategyState {
            watermark: Some(state.watermark.map_or(to, |wm| wm.max(to))),
            ..StrategyState::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(snapshot_xmin: i64) -> RunContext<'static> {
        RunContext {
            run: 1,
            time_us: 0,
            landed: &[],
            snapshot_xmin: Some(snapshot_xmin),
        }
    }

    #[test]
    fn the_first_run_reads_every_committed_id_below_the_snapshot() {
        let read = Xmin.plan(&StrategyState::default(), &at(40)).spec;
        assert_eq!(read, ReadSpec::XidRange { from: 0, to: 40 });
    }

    #[test]
    fn the_watermark_moves_to_the_snapshot_and_the_next_run_starts_there() {
        let state = Xmin.advance(&StrategyState::default(), &ReadStats::default(), &at(40));
        assert_eq!(state.watermark, Some(40));
        let read = Xmin.plan(&state, &at(55)).spec;
        assert_eq!(read, ReadSpec::XidRange { from: 40, to: 55 });
    }

    #[test]
    fn a_transaction_in_flight_holds_the_watermark_back() {
        // Transaction 40 is still open at both runs: the snapshot stays, nothing is skipped.
        let state = Xmin.advance(&StrategyState::default(), &ReadStats::default(), &at(40));
        let state = Xmin.advance(&state, &ReadStats::default(), &at(40));
        assert_eq!(state.watermark, Some(40));
    }
}
