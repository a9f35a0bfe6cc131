//! What a strategy-selection study answers, in words: one sentence per table size (and lag,
//! and measure) saying which strategy to run over which range of churn, and the table of
//! recommendations per setting. The terminal and the report say the same sentences.

use super::document::TextTable;
use super::format::{count, money, percent};
use crate::scenario::Micros;
use crate::sweep::{AxisDecision, Measure, PassedOver, Segment, SweepResults};
use crate::verify::Divergence;

/// One sentence per churn axis and measure, time first:
/// "At 1M rows: `cdc+delete_insert` below 2.5% churn, `full` above; `watermark_id` is faster
/// but loses updates."
pub fn decision_sentences(sweep: &SweepResults) -> Vec<String> {
    sweep
        .recommendations
        .by_axis
        .iter()
        .map(decision_sentence)
        .collect()
}

pub fn decision_sentence(d: &AxisDecision) -> String {
    let cost = d.measure == Measure::Cost.name();
    let lag = crate::sweep::note(d.lag_us, d.engine);
    let head = if cost {
        format!("By cost, at {} rows{lag}", count(d.rows as f64))
    } else {
        format!("At {} rows{lag}", count(d.rows as f64))
    };
    let mut parts = vec![ranges(&d.segments)];
    let faster = if cost { "cheaper" } else { "faster" };
    parts.extend(passed_over_clauses(&d.passed_over, faster));
    if !d.seeds_disagree_at.is_empty() {
        let at: Vec<String> = d.seeds_disagree_at.iter().map(|&c| percent(c)).collect();
        parts.push(format!(
            "the seeds rank differently at {} churn",
            join_and(&at)
        ));
    }
    format!("{head}: {}.", parts.join("; "))
}

fn name(s: &Segment) -> String {
    s.label
        .as_ref()
        .map_or("no strategy that loses nothing".to_string(), |l| {
            format!("`{l}`")
        })
}

/// The recommendation over the churn axis, segment by segment.
fn ranges(segments: &[Segment]) -> String {
    if let [only] = segments {
        return format!(
            "{} at every swept churn ({} to {})",
            name(only),
            percent(only.first_churn),
            percent(only.last_churn)
        );
    }
    let mut out = Vec::new();
    let mut first_number = true;
    let mut churn = |v: f64| {
        let text = if first_number {
            format!("{} churn", percent(v))
        } else {
            percent(v)
        };
        first_number = false;
        text
    };
    for (i, s) in segments.iter().enumerate() {
        let before = (i > 0).then(|| segments[i - 1].ends_at).flatten();
        let last = i + 1 == segments.len();
        let text = match (i, last) {
            (0, _) => match s.ends_at {
                Some(v) => format!("{} below {}", name(s), churn(v)),
                None => format!("{} up to {}", name(s), churn(s.last_churn)),
            },
            (_, true) => match before {
                Some(_) => format!("{} above", name(s)),
                None => format!("{} from {}", name(s), churn(s.first_churn)),
            },
            _ => {
                let from = before.unwrap_or(s.first_churn);
                let to = s.ends_at.unwrap_or(s.last_churn);
                if before.is_none() && s.ends_at.is_none() && s.first_churn == s.last_churn {
                    format!("{} at {}", name(s), churn(s.first_churn))
                } else {
                    let from = churn(from);
                    format!("{} from {from} to {}", name(s), churn(to))
                }
            }
        };
        out.push(text);
    }
    out.join(", ")
}

/// "`watermark_id` is faster but loses updates and deletes", strategies with the same fault
/// named together.
fn passed_over_clauses(passed: &[PassedOver], faster: &str) -> Vec<String> {
    let mut groups: Vec<(Fault, Vec<String>)> = Vec::new();
    for p in passed {
        let fault = fault(p);
        match groups.iter_mut().find(|(f, _)| *f == fault) {
            Some((_, labels)) => labels.push(format!("`{}`", p.label)),
            None => groups.push((fault, vec![format!("`{}`", p.label)])),
        }
    }
    groups
        .into_iter()
        .map(|(fault, labels)| {
            let (is, verb) = if labels.len() == 1 {
                ("is", fault.singular)
            } else {
                ("are", fault.plural)
            };
            format!("{} {is} {faster} but {verb}", join_and(&labels))
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Fault {
    singular: String,
    plural: String,
}

/// What a passed-over strategy gets wrong, from its permanent divergence per class.
fn fault(p: &PassedOver) -> Fault {
    let Divergence {
        missing,
        stale,
        ghost,
        duplicate,
    } = p.permanent;
    let lost: Vec<String> = [(missing, "rows"), (stale, "updates"), (ghost, "deletes")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, what)| what.to_string())
        .collect();
    let mut singular = Vec::new();
    let mut plural = Vec::new();
    if !lost.is_empty() {
        singular.push(format!("loses {}", join_and(&lost)));
        plural.push(format!("lose {}", join_and(&lost)));
    }
    if duplicate > 0 {
        singular.push("writes duplicates".to_string());
        plural.push("write duplicates".to_string());
    }
    if p.not_idempotent {
        singular.push("is not idempotent".to_string());
        plural.push("are not idempotent".to_string());
    }
    if singular.is_empty() {
        // Stored before divergence was kept per class.
        singular.push("loses data".to_string());
        plural.push("lose data".to_string());
    }
    Fault {
        singular: join_and(&singular),
        plural: join_and(&plural),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The recommendation at every setting: the winner, its margins, whether the seeds agree, and
/// who was passed over for losing data.
pub fn recommendations_table(sweep: &SweepResults) -> TextTable {
    let recs = &sweep.recommendations.by_point;
    let lagged = recs.iter().any(|r| r.lag_us.is_some());
    let engines = recs.iter().any(|r| r.engine.is_some());
    let costed = recs.iter().any(|r| r.by_cost.is_some());
    let mut header = vec!["rows", "churn"];
    let mut numeric = vec![true, true];
    if lagged {
        header.push("lag");
        numeric.push(false);
    }
    if engines {
        header.push("engine");
        numeric.push(false);
    }
    header.extend([
        "fastest correct",
        "ahead of runner-up",
        "ahead of full",
        "seeds agree",
    ]);
    numeric.extend([false, true, true, false]);
    if costed {
        header.extend([
            "cheapest correct",
            "cost per run",
            "ahead of runner-up (cost)",
        ]);
        numeric.extend([false, true, true]);
    }
    header.push("not eligible (keys lost, over the seeds)");
    numeric.push(false);
    let mut table = TextTable::new(&header, &numeric);
    let margin = |m: Option<f64>, other: Option<&str>| match (m, other) {
        (Some(m), Some(o)) => format!("{m:.2}× ({o})"),
        (Some(m), None) => format!("{m:.2}×"),
        _ => "—".into(),
    };
    for r in recs {
        let mut row = vec![r.rows.to_string(), percent(r.churn)];
        if lagged {
            row.push(r.lag_us.map_or("—".into(), |l| Micros(l).to_string()));
        }
        if engines {
            row.push(r.engine.map_or("—".into(), |k| k.name().to_string()));
        }
        match &r.by_time {
            Some(k) => row.extend([
                k.label.clone(),
                margin(k.margin_over_runner_up, k.runner_up.as_deref()),
                margin(k.margin_over_full, None),
                if k.holds_at_every_seed {
                    "yes".into()
                } else {
                    let winners: Vec<String> = k
                        .per_seed
                        .iter()
                        .map(|w| format!("{}: {}", w.seed, w.label))
                        .collect();
                    format!("no ({})", winners.join(", "))
                },
            ]),
            None => row.extend(["none is exact".into(), "—".into(), "—".into(), "—".into()]),
        }
        if costed {
            match &r.by_cost {
                Some(k) => row.extend([
                    k.label.clone(),
                    money(k.value),
                    margin(k.margin_over_runner_up, k.runner_up.as_deref()),
                ]),
                None => row.extend(["—".into(), "—".into(), "—".into()]),
            }
        }
        let lossy: Vec<String> = r
            .not_eligible
            .iter()
            .map(|n| {
                let idem = if n.seeds_not_idempotent > 0 {
                    ", not idempotent"
                } else {
                    ""
                };
                format!("{} ({}{idem})", n.label, n.permanent.total())
            })
            .collect();
        row.push(if lossy.is_empty() {
            "—".into()
        } else {
            lossy.join(", ")
        });
        table.push(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(label: &str, first: f64, last: f64, ends_at: Option<f64>) -> Segment {
        Segment {
            label: Some(label.into()),
            full: label == "full",
            first_churn: first,
            last_churn: last,
            ends_at,
        }
    }

    fn decision(segments: Vec<Segment>, passed_over: Vec<PassedOver>) -> AxisDecision {
        AxisDecision {
            engine: None,
            rows: 1_000_000,
            lag_us: None,
            measure: "time".into(),
            segments,
            passed_over,
            seeds_disagree_at: Vec::new(),
        }
    }

    fn lossy(label: &str, stale: u64, ghost: u64) -> PassedOver {
        PassedOver {
            label: label.into(),
            at_churns: vec![0.01],
            permanent: Divergence {
                stale,
                ghost,
                ..Divergence::default()
            },
            not_idempotent: false,
        }
    }

    #[test]
    fn one_sentence_says_which_strategy_below_and_above_the_crossing_and_who_loses_data() {
        let d = decision(
            vec![
                segment("cdc+delete_insert", 0.001, 0.02, Some(0.025)),
                segment("full", 0.05, 1.0, None),
            ],
            vec![lossy("watermark_id", 40, 0)],
        );
        assert_eq!(
            decision_sentence(&d),
            "At 1M rows: `cdc+delete_insert` below 2.5% churn, `full` above; `watermark_id` is faster but loses updates."
        );
    }

    #[test]
    fn strategies_with_the_same_fault_are_named_together() {
        let d = decision(
            vec![segment("full", 0.001, 1.0, None)],
            vec![
                lossy("watermark_id", 5, 2),
                lossy("watermark_id+delete_insert", 5, 2),
            ],
        );
        assert_eq!(
            decision_sentence(&d),
            "At 1M rows: `full` at every swept churn (0.1% to 100%); `watermark_id` and `watermark_id+delete_insert` are faster but lose updates and deletes."
        );
    }

    #[test]
    fn a_middle_range_reads_from_to_and_a_change_without_crossing_names_the_swept_churns() {
        let mut d = decision(
            vec![
                segment("cdc", 0.001, 0.01, Some(0.015)),
                segment("updated_at>=", 0.02, 0.05, None),
                segment("full", 0.1, 1.0, None),
            ],
            Vec::new(),
        );
        d.measure = "cost".into();
        d.seeds_disagree_at = vec![0.05];
        assert_eq!(
            decision_sentence(&d),
            "By cost, at 1M rows: `cdc` below 1.5% churn, `updated_at>=` from 1.5% to 5%, `full` from 10%; the seeds rank differently at 5% churn."
        );
    }
}
