//! The crash plan: whether and where one attempt of one strategy's run crashes.
//!
//! Invariant: a pure function of the seed, the scenario's `[faults]`, the strategy's label,
//! the run and the attempt. Each (label, run, attempt) has its own random stream derived from
//! the fault sub-seed, so adding a strategy or a run never moves another's crashes.

use rand::Rng;

use crate::scenario::{CrashPoint, Faults};
use crate::sim::{rng_for_case, Concern};

/// A crash that will strike one attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crash {
    pub point: CrashPoint,
    /// For `mid_write`: which share of the chunks is committed first, when the crash was
    /// drawn rather than listed.
    pub mid_write_share: f64,
    /// For `mid_write`: chunks committed first, when the crash was listed with `after_chunks`.
    pub after_chunks: Option<u32>,
    /// Listed in `[faults] crashes` rather than drawn.
    pub listed: bool,
}

impl Crash {
    /// Chunks committed before a `mid_write` crash out of `chunks`: a listed count (capped at
    /// `chunks`), else the drawn share, at least one and fewer than all when there are two
    /// or more (a crash after none or after all would be `after_read` or `after_write`).
    pub fn chunks_before(&self, chunks: u32) -> u32 {
        if let Some(k) = self.after_chunks {
            return k.min(chunks);
        }
        if chunks < 2 {
            return 0;
        }
        ((self.mid_write_share * chunks as f64) as u32).clamp(1, chunks - 1)
    }
}

/// The crash, if any, of `attempt` (1-based) of `run` for the strategy labelled `label`.
/// Listed crashes strike the first attempt; drawn ones any attempt of a scheduled run.
pub fn crash_for(faults: &Faults, seed: u64, label: &str, run: u32, attempt: u32) -> Option<Crash> {
    if attempt == 1 {
        let listed = faults
            .crashes
            .iter()
            .find(|c| c.run == run && c.strategy.as_deref().is_none_or(|s| s == label));
        if let Some(c) = listed {
            return Some(Crash {
                point: c.point,
                mid_write_share: 0.5,
                after_chunks: c.after_chunks,
                listed: true,
            });
        }
    }
    if faults.crash_probability <= 0.0 || faults.points.is_empty() {
        return None;
    }
    let mut rng = rng_for_case(seed, Concern::Faults, &case_bytes(b"", label, run, attempt));
    // Three draws every time, so each decision has a fixed place in the stream.
    let strikes = rng.random::<f64>() < faults.crash_probability;
    let point = faults.points[rng.random_range(0..faults.points.len())];
    let mid_write_share = rng.random::<f64>();
    strikes.then_some(Crash {
        point,
        mid_write_share,
        after_chunks: None,
        listed: false,
    })
}

/// How an outside pipeline's attempt is killed, if it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kill {
    /// SIGKILL when the pipeline announces this point (`INCRLAB_POINT <name>`).
    AtPoint(CrashPoint),
    /// SIGKILL this long after the start (`[faults] kill_after`).
    AfterUs(i64),
}

/// The kill, if any, of `attempt` of `run` of the pipeline labelled `label`: the crash
/// [`crash_for`] plans, at its point — or, with `kill_after`, a drawn crash strikes after a
/// delay drawn from it instead (listed crashes keep their point). The delay has its own stream,
/// so `kill_after` never moves which attempts crash.
pub fn kill_for(faults: &Faults, seed: u64, label: &str, run: u32, attempt: u32) -> Option<Kill> {
    let crash = crash_for(faults, seed, label, run, attempt)?;
    match (&faults.kill_after, crash.listed) {
        (Some(delay), false) => {
            let case = case_bytes(b"kill_after/", label, run, attempt);
            let mut rng = rng_for_case(seed, Concern::Faults, &case);
            Some(Kill::AfterUs(delay.sample(&mut rng).max(0)))
        }
        _ => Some(Kill::AtPoint(crash.point)),
    }
}

/// The bytes naming one (label, run, attempt) case of a fault stream, after `prefix` (which
/// tells apart streams of different decisions about the same case).
fn case_bytes(prefix: &[u8], label: &str, run: u32, attempt: u32) -> Vec<u8> {
    let mut case = Vec::with_capacity(prefix.len() + label.len() + 16);
    case.extend_from_slice(prefix);
    case.extend_from_slice(&(label.len() as u64).to_le_bytes());
    case.extend_from_slice(label.as_bytes());
    case.extend_from_slice(&run.to_le_bytes());
    case.extend_from_slice(&attempt.to_le_bytes());
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PlannedCrash;

    fn faults(p: f64) -> Faults {
        Faults {
            crash_probability: p,
            ..Faults::default()
        }
    }

    #[test]
    fn the_same_case_draws_the_same_crash() {
        let f = faults(0.5);
        for run in 1..50 {
            assert_eq!(
                crash_for(&f, 9, "cdc", run, 1),
                crash_for(&f, 9, "cdc", run, 1)
            );
        }
    }

    #[test]
    fn crash_rate_follows_the_probability() {
        let f = faults(0.3);
        let crashes = (1..=2000)
            .filter(|&run| crash_for(&f, 1, "cdc", run, 1).is_some())
            .count();
        assert!((500..700).contains(&crashes), "{crashes} of 2000");
    }

    #[test]
    fn drawn_points_come_from_the_eligible_list() {
        let f = Faults {
            crash_probability: 1.0,
            points: vec![CrashPoint::MidWrite, CrashPoint::AfterRead],
            ..Faults::default()
        };
        for run in 1..200 {
            let point = crash_for(&f, 3, "x", run, 1).unwrap().point;
            assert!(matches!(
                point,
                CrashPoint::MidWrite | CrashPoint::AfterRead
            ));
        }
    }

    #[test]
    fn a_listed_crash_strikes_only_its_strategy_and_first_attempt() {
        let f = Faults {
            crashes: vec![PlannedCrash {
                run: 7,
                point: CrashPoint::MidWrite,
                strategy: Some("cdc".into()),
                after_chunks: Some(2),
            }],
            ..Faults::default()
        };
        let crash = crash_for(&f, 1, "cdc", 7, 1).unwrap();
        assert_eq!(crash.point, CrashPoint::MidWrite);
        assert_eq!(crash.chunks_before(4), 2);
        assert_eq!(crash_for(&f, 1, "cdc", 7, 2), None);
        assert_eq!(crash_for(&f, 1, "full", 7, 1), None);
        assert_eq!(crash_for(&f, 1, "cdc", 6, 1), None);
    }

    #[test]
    fn a_drawn_mid_write_commits_some_but_not_all_chunks() {
        for share in [0.0, 0.3, 0.99] {
            let crash = Crash {
                point: CrashPoint::MidWrite,
                mid_write_share: share,
                after_chunks: None,
                listed: false,
            };
            let k = crash.chunks_before(4);
            assert!((1..4).contains(&k), "share {share}: {k}");
            assert_eq!(crash.chunks_before(1), 0);
        }
    }
}
