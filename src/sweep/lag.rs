//! Lag recommendations: the smallest swept lag at which an `updated_at` strategy loses nothing.

use serde::{Deserialize, Serialize};

use super::PointResult;
use crate::scenario::StrategyKind;

/// The smallest lag at which an `updated_at` strategy loses nothing, for one table size and
/// churn, over every seed swept; `None` when every lag swept loses rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagRecommendation {
    pub label: String,
    pub strategy: String,
    pub rows: u64,
    pub churn: f64,
    pub recommended_lag_us: Option<i64>,
    /// Permanent divergence summed over the seeds, per lag in ascending order.
    pub loss_curve: Vec<LagLoss>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagLoss {
    pub lag_us: i64,
    pub permanent_total: u64,
}

/// Lag recommendations for every (rows, churn) of a lag sweep; empty without one.
pub fn recommendations(points: &[PointResult]) -> Vec<LagRecommendation> {
    let mut out = Vec::new();
    // Loss does not depend on the engine (the engines' differential test holds them to the
    // same results), so a sweep over several engines takes the first one's points.
    let engine = points.first().and_then(|p| p.point.engine);
    let points: Vec<&PointResult> = points.iter().filter(|p| p.point.engine == engine).collect();
    let mut groups: Vec<(u64, f64)> = Vec::new();
    for p in points.iter().filter(|p| p.point.lag_us.is_some()) {
        if !groups.contains(&(p.point.rows, p.point.churn)) {
            groups.push((p.point.rows, p.point.churn));
        }
    }
    for (rows, churn) in groups {
        let here: Vec<&PointResult> = points
            .iter()
            .copied()
            .filter(|p| p.point.rows == rows && p.point.churn == churn && p.point.lag_us.is_some())
            .collect();
        let mut lags: Vec<i64> = here.iter().filter_map(|p| p.point.lag_us).collect();
        lags.sort_unstable();
        lags.dedup();
        let Some(first) = here.first() else { continue };
        for s in first
            .strategies
            .iter()
            .filter(|s| s.strategy == StrategyKind::UpdatedAt.name())
        {
            let loss_curve: Vec<LagLoss> = lags
                .iter()
                .map(|&lag_us| LagLoss {
                    lag_us,
                    permanent_total: here
                        .iter()
                        .filter(|p| p.point.lag_us == Some(lag_us))
                        .filter_map(|p| p.strategies.iter().find(|x| x.label == s.label))
                        .map(|x| x.permanent_total)
                        .sum(),
                })
                .collect();
            out.push(LagRecommendation {
                label: s.label.clone(),
                strategy: s.strategy.clone(),
                rows,
                churn,
                recommended_lag_us: loss_curve
                    .iter()
                    .find(|l| l.permanent_total == 0)
                    .map(|l| l.lag_us),
                loss_curve,
            });
        }
    }
    out
}
