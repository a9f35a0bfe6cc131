//! Checks a history against the rules a real database imposes and against what its scenario
//! asked for, from the history's columns alone (`incrlab simulate` prints the result).
//!
//! - Row locks: per key, every change's statement runs at or after the key's previous change
//!   (of another transaction) committed, and statements, commits and lsns are in one order.
//! - Churn: each interval holds exactly the inserts, updates and deletes the scenario's churn
//!   asks for, given the rows live when it starts (inserts committed by then, minus deletes
//!   begun by then).

use super::history::{History, Op};
use crate::scenario::Scenario;

/// What [`audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Keys with a change whose statement ran before the key's previous change committed, or
    /// whose statements, commits and lsns disagree on their order.
    pub keys_overlapping: u64,
    /// Changes the scenario asked for (inserts, updates, deletes), summed over the intervals.
    pub asked: [u64; 3],
    /// Changes the history holds, by the same classes.
    pub present: [u64; 3],
    /// The first problem found, in words.
    pub first_problem: Option<String>,
}

impl Audit {
    pub fn is_clean(&self) -> bool {
        self.keys_overlapping == 0 && self.asked == self.present
    }
}

/// Audits `history`, generated from `scenario`.
pub fn audit(scenario: &Scenario, history: &History) -> Audit {
    let mut out = Audit::default();
    // Per key, the previous change: (statement, commit, lsn, xid). Two changes of one key in
    // one transaction hold the same lock and are exempt.
    let mut previous: Vec<Option<(i64, i64, i64, i64)>> = vec![None; history.max_id as usize + 1];
    let mut bad_key = vec![false; history.max_id as usize + 1];
    for i in 0..history.len() {
        let id = history.id[i] as usize;
        let now = (
            history.statement_us[i],
            history.commit_us[i],
            history.lsn(i),
            history.xid[i],
        );
        if let Some(before) = previous[id].filter(|b| b.3 != now.3) {
            let waited = now.0 >= before.1;
            let ordered = now.0 >= before.0 && now.1 >= before.1 && now.2 > before.2;
            let clean = waited && ordered;
            if !clean && !bad_key[id] {
                bad_key[id] = true;
                out.keys_overlapping += 1;
                out.first_problem.get_or_insert_with(|| {
                    format!(
                        "key {id}: lsn {} ran its statement at {} µs, before lsn {} committed at {} µs",
                        now.2, now.0, before.2, before.1
                    )
                });
            }
        }
        previous[id] = Some(now);
    }

    let interval = scenario.schedule.interval.0;
    let class_of = |i: usize| match (history.op[i], history.is_deleted[i]) {
        (Op::Insert, _) => 0,
        (Op::Update, false) => 1,
        _ => 2,
    };
    // Insert commits and delete begins, sorted, answer "how many by time t" by bisection; each
    // change falls in the interval its begin lies in.
    let mut insert_commits = Vec::new();
    let mut delete_begins = Vec::new();
    let runs = history.run_times_us.len();
    let mut found = vec![[0u64; 3]; runs];
    for i in 0..history.len() {
        let class = class_of(i);
        match class {
            0 => insert_commits.push(history.commit_us[i]),
            2 => delete_begins.push(history.begin_us[i]),
            _ => {}
        }
        let begin = history.begin_us[i];
        if begin > 0 {
            // Begins lie in (start, start + interval].
            let k = ((begin - 1) / interval) as usize;
            if k < runs {
                found[k][class] += 1;
            }
        }
    }
    insert_commits.sort_unstable();
    delete_begins.sort_unstable();
    for (k, &run_time) in history.run_times_us.iter().enumerate() {
        let start = run_time - interval;
        let inserted = insert_commits.partition_point(|&c| c <= start) as u64;
        let deleted = delete_begins.partition_point(|&b| b <= start) as u64;
        let live = inserted.saturating_sub(deleted);
        let (ins, upd, del) = scenario.churn.rows_per_interval(live);
        let asked = [ins, upd, del];
        for c in 0..3 {
            out.asked[c] += asked[c];
            out.present[c] += found[k][c];
        }
        if asked != found[k] {
            out.first_problem.get_or_insert_with(|| {
                format!(
                    "interval {} ({live} live rows): asked for {asked:?} inserts/updates/deletes, the history holds {:?}",
                    k + 1,
                    found[k]
                )
            });
        }
    }
    out
}
