//! The decision along one churn axis: which strategy is recommended over which range of churn,
//! where the answer changes, and which faster strategies were passed over because they lose
//! data. The report's opening sentence and the decision map are drawn from it.

use serde::{Deserialize, Serialize};

use super::crossover::crossing;
use super::recommend::PointRecommendation;
use super::{mean_at_churn, Measure, PointResult};
use crate::verify::Divergence;

/// A run of neighbouring swept churns that share one recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The recommended label (`None`: no strategy was eligible at these churns).
    pub label: Option<String>,
    /// Whether the recommendation is full reprocessing.
    #[serde(default)]
    pub full: bool,
    /// The first and last swept churn of the run.
    pub first_churn: f64,
    pub last_churn: f64,
    /// Where this run ends: the churn at which its strategy's curve meets the next run's,
    /// interpolated on a log scale between the two swept churns (`None`: the last run, or the
    /// answer changes because of eligibility, not because the curves cross).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<f64>,
}

/// A strategy passed over on this axis although it was faster (or cheaper) at some churns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassedOver {
    pub label: String,
    /// The churns at which it beat the recommendation.
    pub at_churns: Vec<f64>,
    /// Its permanent divergence there, per class, summed over churns and seeds.
    pub permanent: Divergence,
    /// Whether it was found not idempotent there.
    #[serde(default)]
    pub not_idempotent: bool,
}

/// The decision along one churn axis (one table size and lag) for one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisDecision {
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_us: Option<i64>,
    /// The engine, when the sweep runs several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::scenario::EngineKind>,
    pub measure: String,
    pub segments: Vec<Segment>,
    pub passed_over: Vec<PassedOver>,
    /// The churns at which the seeds, each on its own, rank a different strategy first.
    pub seeds_disagree_at: Vec<f64>,
}

/// The decision along every churn axis, for each measure the recommendations carry.
pub fn decisions(points: &[PointResult], recs: &[PointRecommendation]) -> Vec<AxisDecision> {
    let mut out = Vec::new();
    for measure in [Measure::Time, Measure::Cost] {
        for on in super::churn_axes(points) {
            let axis: Vec<&PointRecommendation> = recs
                .iter()
                .filter(|r| r.rows == on.rows && r.lag_us == on.lag_us && r.engine == on.engine)
                .collect();
            if axis.iter().all(|r| r.ranking(measure).is_none()) {
                continue;
            }
            let axis_points: Vec<&PointResult> = points.iter().filter(|p| on.holds(p)).collect();
            out.push(AxisDecision {
                rows: on.rows,
                lag_us: on.lag_us,
                engine: on.engine,
                measure: measure.name().into(),
                segments: segments(&axis, &axis_points, measure),
                passed_over: passed_over(&axis, measure),
                seeds_disagree_at: axis
                    .iter()
                    .filter(|r| r.ranking(measure).is_some_and(|k| !k.holds_at_every_seed))
                    .map(|r| r.churn)
                    .collect(),
            });
        }
    }
    out
}

fn segments(
    axis: &[&PointRecommendation],
    points: &[&PointResult],
    measure: Measure,
) -> Vec<Segment> {
    let full_labels: Vec<&str> = points
        .first()
        .map(|p| {
            p.strategies
                .iter()
                .filter(|s| s.strategy == crate::scenario::StrategyKind::Full.name())
                .map(|s| s.label.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut out: Vec<Segment> = Vec::new();
    for r in axis {
        let label = r.ranking(measure).map(|k| k.label.clone());
        match out.last_mut() {
            Some(last) if last.label == label => last.last_churn = r.churn,
            _ => out.push(Segment {
                full: label.as_deref().is_some_and(|l| full_labels.contains(&l)),
                label,
                first_churn: r.churn,
                last_churn: r.churn,
                ends_at: None,
            }),
        }
    }
    for k in 1..out.len() {
        let (a, b) = (out[k - 1].last_churn, out[k].first_churn);
        let (Some(left), Some(right)) = (out[k - 1].label.clone(), out[k].label.clone()) else {
            continue;
        };
        let curve = |label: &str| -> Option<Vec<f64>> {
            [a, b]
                .iter()
                .map(|&c| mean_at_churn(points, label, c, None, measure))
                .collect()
        };
        // The left strategy is ahead at `a`; where its curve meets the right one's, the answer
        // changes. Without a crossing (the left one became ineligible), the change lies
        // somewhere between the two swept churns and no number is claimed for it.
        if let (Some(l), Some(r)) = (curve(&left), curve(&right)) {
            out[k - 1].ends_at = crossing(&[a, b], &l, &r);
        }
    }
    out
}

fn passed_over(axis: &[&PointRecommendation], measure: Measure) -> Vec<PassedOver> {
    let mut out: Vec<PassedOver> = Vec::new();
    for r in axis {
        let Some(ranking) = r.ranking(measure) else {
            continue;
        };
        for label in &ranking.faster_but_not_eligible {
            let Some(n) = r.not_eligible.iter().find(|n| &n.label == label) else {
                continue;
            };
            let entry = match out.iter_mut().position(|p| &p.label == label) {
                Some(i) => &mut out[i],
                None => {
                    out.push(PassedOver {
                        label: label.clone(),
                        at_churns: Vec::new(),
                        permanent: Divergence::default(),
                        not_idempotent: false,
                    });
                    out.last_mut().expect("just pushed")
                }
            };
            entry.at_churns.push(r.churn);
            entry.permanent = entry.permanent.plus(n.permanent);
            entry.not_idempotent |= n.seeds_not_idempotent > 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::recommend::by_point;
    use crate::sweep::recommend::tests::{point, strategy};

    /// cdc grows tenfold per decade of churn (1, 10, 100 ms), full stays at 20 ms, and
    /// watermark_id is fastest everywhere but loses updates.
    fn axis() -> Vec<PointResult> {
        [(0.01, 1.0), (0.1, 10.0), (1.0, 100.0)]
            .into_iter()
            .map(|(churn, cdc_ms)| {
                point(
                    churn,
                    1,
                    vec![
                        strategy("full", 20.0, 0),
                        strategy("watermark_id", 0.5, 4),
                        strategy("cdc", cdc_ms, 0),
                    ],
                )
            })
            .collect()
    }

    #[test]
    fn the_answer_changes_where_the_two_curves_cross_on_a_log_scale() {
        let points = axis();
        let d = &decisions(&points, &by_point(&points))[0];
        let labels: Vec<Option<&str>> = d.segments.iter().map(|s| s.label.as_deref()).collect();
        assert_eq!(labels, vec![Some("cdc"), Some("full")]);
        assert_eq!(
            (d.segments[0].first_churn, d.segments[0].last_churn),
            (0.01, 0.1)
        );
        assert!(d.segments[1].full);
        // cdc − full is −10 at 10% and +80 at 100%: zero a ninth of the way in log space.
        let expected = 0.1 * 10f64.powf(1.0 / 9.0);
        let at = d.segments[0].ends_at.unwrap();
        assert!((at - expected).abs() < 1e-12, "{at}");
    }

    #[test]
    fn a_lossy_strategy_faster_than_the_answer_is_named_with_what_it_loses() {
        let points = axis();
        let d = &decisions(&points, &by_point(&points))[0];
        assert_eq!(d.passed_over.len(), 1);
        let p = &d.passed_over[0];
        assert_eq!(p.label, "watermark_id");
        assert_eq!(p.at_churns, vec![0.01, 0.1, 1.0]);
        assert_eq!(p.permanent.stale, 12);
    }

    #[test]
    fn a_change_of_answer_caused_by_eligibility_claims_no_crossing() {
        // cdc is faster everywhere but loses rows at 100% churn: the answer turns to full
        // there although the curves never meet.
        let mut points = axis();
        points[2].strategies[2] = strategy("cdc", 5.0, 9);
        let d = &decisions(&points, &by_point(&points))[0];
        assert_eq!(d.segments.len(), 2);
        assert_eq!(d.segments[0].ends_at, None);
        assert_eq!(d.segments[1].first_churn, 1.0);
    }
}
