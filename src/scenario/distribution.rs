//! Distributions of durations (commit delays, clock offsets, jitter) as written in scenario files:
//! `{ dist = "normal", mean = "0s", std = "2s" }`.

use rand::Rng;
use rand_distr::{Distribution as _, Exp, Normal};
use serde::{Deserialize, Serialize};

use super::duration::Micros;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DurationDist {
    Constant { value: Micros },
    Uniform { low: Micros, high: Micros },
    Normal { mean: Micros, std: Micros },
    Exponential { mean: Micros },
}

impl Default for DurationDist {
    fn default() -> Self {
        DurationDist::Constant {
            value: Micros::ZERO,
        }
    }
}

impl DurationDist {
    pub fn constant(value: Micros) -> Self {
        DurationDist::Constant { value }
    }

    /// Why the parameters cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        match *self {
            DurationDist::Uniform { low, high } if low > high => Some(format!(
                "uniform: low ({low}) is greater than high ({high})"
            )),
            DurationDist::Normal { std, .. } if std.0 < 0 => {
                Some(format!("normal: std ({std}) is negative"))
            }
            DurationDist::Exponential { mean } if mean.0 < 0 => {
                Some(format!("exponential: mean ({mean}) is negative"))
            }
            _ => None,
        }
    }

    /// The smallest value a sample can take (`None` when unbounded below).
    pub fn lower_bound(&self) -> Option<i64> {
        match *self {
            DurationDist::Constant { value } => Some(value.0),
            DurationDist::Uniform { low, .. } => Some(low.0),
            DurationDist::Normal { mean, std } => (std.0 == 0).then_some(mean.0),
            DurationDist::Exponential { .. } => Some(0),
        }
    }

    /// The largest value a sample can take (`None` when unbounded above).
    pub fn upper_bound(&self) -> Option<i64> {
        match *self {
            DurationDist::Constant { value } => Some(value.0),
            DurationDist::Uniform { high, .. } => Some(high.0),
            DurationDist::Normal { mean, std } => (std.0 == 0).then_some(mean.0),
            DurationDist::Exponential { mean } => (mean.0 == 0).then_some(0),
        }
    }

    /// Draws one value in microseconds.
    pub fn sample(&self, rng: &mut impl Rng) -> i64 {
        match *self {
            DurationDist::Constant { value } => value.0,
            DurationDist::Uniform { low, high } => {
                if low == high {
                    low.0
                } else {
                    rng.random_range(low.0..=high.0)
                }
            }
            DurationDist::Normal { mean, std } => {
                if std.0 == 0 {
                    return mean.0;
                }
                let normal = Normal::new(mean.0 as f64, std.0 as f64).expect("validated: std ≥ 0");
                normal.sample(rng).round() as i64
            }
            DurationDist::Exponential { mean } => {
                if mean.0 == 0 {
                    return 0;
                }
                let exp = Exp::new(1.0 / mean.0 as f64).expect("validated: mean > 0");
                exp.sample(rng).round() as i64
            }
        }
    }
}
