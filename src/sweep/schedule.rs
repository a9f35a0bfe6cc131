//! The order a sweep's points start in, and the workers that take them.
//!
//! A sweep's points differ in size by an order of magnitude (a 100%-churn point of the standard
//! study writes seven times the rows of a 0.1% one), and its wall time is set by the worker
//! that finishes last. Started in sweep order, the largest points come last and one of them
//! ends up running alone while the other workers idle. Started largest first (the LPT rule),
//! the last points to start are the smallest, so the workers finish close together.
//!
//! Invariant: the order only decides which worker runs a point and when; every result comes
//! back with its point's position, so nothing downstream depends on it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::Point;
use crate::error::Result;

/// A point's work, in rows touched: the table loaded once, then each run's changed rows.
/// Only the order of these figures matters (which point is larger), not their scale.
fn work_rows(point: &Point, runs: u32) -> f64 {
    point.rows as f64 * (1.0 + point.churn * runs as f64)
}

/// The indices of `points` in the order they start: most work first, ties in sweep order.
pub(super) fn largest_first(points: &[(usize, Point)], runs: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    // A stable sort keeps equal points (the seeds of one setting) in sweep order.
    order.sort_by(|&a, &b| work_rows(&points[b].1, runs).total_cmp(&work_rows(&points[a].1, runs)));
    order
}

/// Runs `work` on every index of `order` with `jobs` workers, each taking the next index of
/// `order` when it is free. Returns every result with its index, sorted by index. After a
/// failure no further index is started; the error returned is that of the lowest failed index.
pub(super) fn run_in_order<T: Send>(
    order: &[usize],
    jobs: usize,
    work: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<(usize, T)>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let done: Mutex<Vec<(usize, Result<T>)>> = Mutex::new(Vec::with_capacity(order.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(order.len().max(1)) {
            scope.spawn(|| loop {
                if failed.load(Ordering::SeqCst) {
                    break;
                }
                let Some(&index) = order.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    break;
                };
                let result = work(index);
                if result.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                done.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((index, result));
            });
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    done.sort_by_key(|(index, _)| *index);
    done.into_iter()
        .map(|(index, result)| result.map(|r| (index, r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn point(rows: u64, churn: f64, seed: u64) -> Point {
        Point {
            rows,
            churn,
            seed,
            lag_us: None,
            engine: None,
        }
    }

    #[test]
    fn the_most_churned_and_largest_points_start_first_and_seeds_keep_their_order() {
        let points: Vec<(usize, Point)> = [
            point(1_000, 0.001, 1),
            point(1_000, 0.001, 2),
            point(1_000, 1.0, 1),
            point(1_000, 1.0, 2),
            point(100_000, 0.001, 1),
            point(1_000, 0.5, 1),
        ]
        .into_iter()
        .enumerate()
        .collect();
        assert_eq!(largest_first(&points, 5), vec![4, 2, 3, 5, 0, 1]);
    }

    #[test]
    fn one_worker_runs_the_points_in_the_order_given_and_results_come_back_by_index() {
        let ran = Mutex::new(Vec::new());
        let results = run_in_order(&[2, 0, 1], 1, |i| {
            ran.lock().unwrap().push(i);
            Ok(i * 10)
        })
        .unwrap();
        assert_eq!(*ran.lock().unwrap(), vec![2, 0, 1]);
        assert_eq!(results, vec![(0, 0), (1, 10), (2, 20)]);
    }

    #[test]
    fn every_point_runs_once_on_several_workers() {
        let order: Vec<usize> = (0..40).rev().collect();
        let results = run_in_order(&order, 3, Ok).unwrap();
        assert_eq!(results, (0..40).map(|i| (i, i)).collect::<Vec<_>>());
    }

    #[test]
    fn after_a_failure_no_further_point_starts() {
        let ran = Mutex::new(Vec::new());
        let result = run_in_order(&[0, 1, 2, 3], 1, |i| {
            ran.lock().unwrap().push(i);
            if i == 1 {
                Err(Error::Invariant(format!("point {i} failed")))
            } else {
                Ok(i)
            }
        });
        assert!(matches!(result, Err(Error::Invariant(m)) if m == "point 1 failed"));
        assert_eq!(*ran.lock().unwrap(), vec![0, 1]);
    }
}
