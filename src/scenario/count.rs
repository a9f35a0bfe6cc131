//! Distributions of counts (rows per transaction) as written in scenario files: a plain
//! integer (`rows = 500`) or a table (`rows = { dist = "uniform", low = 1, high = 500 }`).

use rand::Rng;
use rand_distr::{Distribution as _, Geometric};
use serde::{Deserialize, Serialize};

/// A count of at least one, drawn per transaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CountDist {
    /// Always this many.
    Fixed(u64),
    Drawn(DrawnCount),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DrawnCount {
    Constant {
        value: u64,
    },
    /// Every count in `low..=high` equally likely.
    Uniform {
        low: u64,
        high: u64,
    },
    /// 1 + a geometric number of further rows, with this mean (≥ 1): most transactions are
    /// small, a few are large, as in an OLTP workload with an occasional batch.
    Geometric {
        mean: f64,
    },
}

impl Default for CountDist {
    fn default() -> Self {
        CountDist::Fixed(1)
    }
}

impl CountDist {
    /// Why the parameters cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        match *self {
            CountDist::Fixed(0) | CountDist::Drawn(DrawnCount::Constant { value: 0 }) => {
                Some("a transaction changes at least 1 row, got 0".into())
            }
            CountDist::Drawn(DrawnCount::Uniform { low, high }) if low == 0 || low > high => Some(
                format!("uniform: needs 1 ≤ low ≤ high, got low = {low}, high = {high}"),
            ),
            CountDist::Drawn(DrawnCount::Geometric { mean })
                if !(mean >= 1.0 && mean.is_finite()) =>
            {
                Some(format!("geometric: mean must be ≥ 1, got {mean}"))
            }
            _ => None,
        }
    }

    /// Whether every draw is 1 (and draws consume no randomness).
    pub fn is_one(&self) -> bool {
        matches!(
            self,
            CountDist::Fixed(1) | CountDist::Drawn(DrawnCount::Constant { value: 1 })
        )
    }

    /// Draws one count (≥ 1). A fixed count draws nothing from `rng`.
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            CountDist::Fixed(n) | CountDist::Drawn(DrawnCount::Constant { value: n }) => n.max(1),
            CountDist::Drawn(DrawnCount::Uniform { low, high }) => rng.random_range(low..=high),
            CountDist::Drawn(DrawnCount::Geometric { mean }) => {
                if mean <= 1.0 {
                    return 1;
                }
                // Failures before the first success with p = 1/mean have mean mean − 1.
                let geometric = Geometric::new(1.0 / mean).expect("validated: mean ≥ 1");
                1 + geometric.sample(rng)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn geometric_draws_have_the_asked_mean() {
        let dist = CountDist::Drawn(DrawnCount::Geometric { mean: 20.0 });
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let total: u64 = (0..n).map(|_| dist.sample(&mut rng)).sum();
        let mean = total as f64 / n as f64;
        assert!((mean - 20.0).abs() < 1.0, "mean {mean}");
    }

    #[test]
    fn uniform_draws_stay_in_range() {
        let dist = CountDist::Drawn(DrawnCount::Uniform { low: 3, high: 5 });
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let draws: Vec<u64> = (0..200).map(|_| dist.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&d| (3..=5).contains(&d)));
        assert!(draws.contains(&3) && draws.contains(&5));
    }

    #[test]
    fn zero_rows_is_refused() {
        assert!(CountDist::Fixed(0).problem().is_some());
        assert!(CountDist::Drawn(DrawnCount::Uniform { low: 0, high: 2 })
            .problem()
            .is_some());
        assert!(CountDist::Fixed(1).problem().is_none());
    }
}
