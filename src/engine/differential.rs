//! Two engines in lockstep: every call goes to both, every answer is compared, and the first
//! disagreement stops the run naming the call, the target and (for contents) the first key
//! where they part. The runner adds the run and the strategy.
//!
//! What is compared is what the contract says is exact and engine-independent: rows read and
//! the batch's maxima, target rows inserted, updated and deleted, chunk sizes and maxima, the
//! rows at a watermark, stored state, and whole target contents (as multisets: engines return
//! rows in their own order). Scans are not compared: each engine counts what its own scans
//! touch (DuckDB prunes by zone maps; a frame filter reads the whole column). The primary's
//! answers are the ones the run continues with.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::{
    ChunkStats, Engine, KeyHashes, MirrorPrint, ReadRequest, ReadStats, Source, TargetContents,
    TargetId, Targets, WriteStats,
};
use crate::error::{Error, Result};
use crate::row::Column;
use crate::scenario::{TargetModel, WriteMode};
use crate::sim::History;

pub struct Differential {
    pub primary: Box<dyn Engine>,
    pub secondary: Box<dyn Engine>,
}

impl Differential {
    fn disagree(&self, target: Option<TargetId>, call: &str, detail: String) -> Error {
        let on = target.map_or(String::new(), |t| format!(" on target {}", t.0));
        Error::EnginesDisagree {
            run: None,
            strategy: None,
            detail: format!(
                "{call}{on}: {detail} ({} first, {} second)",
                self.primary.name(),
                self.secondary.name()
            ),
        }
    }

    /// Both engines' outcomes of one call: the same answer (by `same`), or both failing.
    fn both<T: std::fmt::Debug>(
        &self,
        target: Option<TargetId>,
        call: &str,
        a: Result<T>,
        b: Result<T>,
        same: impl FnOnce(&T, &T) -> Option<String>,
    ) -> Result<T> {
        match (a, b) {
            (Ok(a), Ok(b)) => match same(&a, &b) {
                None => Ok(a),
                Some(detail) => Err(self.disagree(target, call, detail)),
            },
            (Err(a), Err(_)) => Err(a),
            (Ok(_), Err(e)) => {
                Err(self.disagree(target, call, format!("only the second failed: {e}")))
            }
            (Err(e), Ok(_)) => {
                Err(self.disagree(target, call, format!("only the first failed: {e}")))
            }
        }
    }
}

fn equal<T: PartialEq + std::fmt::Debug>(a: &T, b: &T) -> Option<String> {
    (a != b).then(|| format!("{a:?} vs {b:?}"))
}

/// The exact parts of a read's answer (scans are each engine's own).
fn read_answer(s: &ReadStats) -> [Option<i64>; 4] {
    [
        Some(s.rows_read as i64),
        s.max_id,
        s.max_updated_at_us,
        s.max_lsn,
    ]
}

/// The first difference between two targets' contents, compared as multisets of whole rows:
/// the first key (in key order) whose rows differ, with each side's rows.
pub fn contents_difference(a: &TargetContents, b: &TargetContents) -> Option<String> {
    match (a, b) {
        (TargetContents::Mirror(a), TargetContents::Mirror(b)) => {
            let names: Vec<Column> = a.columns.iter().map(|(c, _)| *c).collect();
            if names != b.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>() {
                return Some("the targets carry different columns".into());
            }
            let rows = |t: &super::TargetRows| {
                let mut rows: Vec<Vec<i64>> = (0..t.len())
                    .map(|i| t.row(i).into_iter().map(|(_, v)| v).collect())
                    .collect();
                rows.sort_unstable();
                rows
            };
            first_key_difference(&rows(a), &rows(b), "key")
        }
        (TargetContents::Totals(a), TargetContents::Totals(b)) => {
            let rows = |t: &super::TargetTotals| {
                let mut rows: Vec<Vec<i64>> = (0..t.day.len())
                    .map(|i| vec![t.day[i], t.total[i], t.rows[i]])
                    .collect();
                rows.sort_unstable();
                rows
            };
            first_key_difference(&rows(a), &rows(b), "day")
        }
        _ => Some("the targets have different models".into()),
    }
}

/// Sorted rows whose first value is the key: the first key whose rows differ.
fn first_key_difference(a: &[Vec<i64>], b: &[Vec<i64>], key: &str) -> Option<String> {
    if a == b {
        return None;
    }
    // The rows of the smallest key not yet passed, on each side.
    let group = |rows: &[Vec<i64>], at: usize, k: i64| -> usize {
        rows[at..].iter().take_while(|r| r[0] == k).count()
    };
    let (mut i, mut j) = (0, 0);
    loop {
        let k = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x[0].min(y[0]),
            (Some(x), None) => x[0],
            (None, Some(y)) => y[0],
            (None, None) => return None,
        };
        let (n, m) = (group(a, i, k), group(b, j, k));
        if a[i..i + n] != b[j..j + m] {
            return Some(format!(
                "{key} {k} holds {:?} vs {:?}",
                &a[i..i + n],
                &b[j..j + m]
            ));
        }
        i += n;
        j += m;
    }
}

impl Engine for Differential {
    fn name(&self) -> &'static str {
        self.primary.name()
    }
}

impl Source for Differential {
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        let a = self.primary.apply_changes(history, range.clone());
        let b = self.secondary.apply_changes(history, range);
        self.both(None, "applying changes", a, b, |_, _| None)
    }

    fn bare_copy_time(&mut self) -> Result<Duration> {
        self.primary.bare_copy_time()
    }

    fn generated_tables_time(&mut self, rows: u64) -> Result<Option<Duration>> {
        self.primary.generated_tables_time(rows)
    }
}

impl Targets for Differential {
    fn create_target(&mut self, target: TargetId, model: TargetModel) -> Result<()> {
        let a = self.primary.create_target(target, model);
        let b = self.secondary.create_target(target, model);
        self.both(Some(target), "create_target", a, b, |_, _| None)
    }

    fn set_landing_dir(&mut self, dir: &Path) {
        self.primary.set_landing_dir(dir);
        self.secondary.set_landing_dir(dir);
    }

    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats> {
        let call = format!("read {:?}", request.spec);
        let a = self.primary.read(target, request.clone());
        let b = self.secondary.read(target, request);
        self.both(Some(target), &call, a, b, |a, b| {
            equal(&read_answer(a), &read_answer(b))
                .map(|d| format!("rows read and maxima (id, updated_at, lsn) {d}"))
        })
    }

    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats> {
        let a = self.primary.write(target, mode);
        let b = self.secondary.write(target, mode);
        self.both(Some(target), "write", a, b, |a, b| {
            equal(&(a.changes, a.rows_read), &(b.changes, b.rows_read))
                .map(|d| format!("target changes and fused rows read {d}"))
        })
    }

    fn stage_chunks(&mut self, target: TargetId, chunks: u32) -> Result<Vec<ChunkStats>> {
        let a = self.primary.stage_chunks(target, chunks);
        let b = self.secondary.stage_chunks(target, chunks);
        self.both(Some(target), "stage_chunks", a, b, equal)
    }

    fn write_chunk(&mut self, target: TargetId, mode: WriteMode, chunk: u32) -> Result<WriteStats> {
        let a = self.primary.write_chunk(target, mode, chunk);
        let b = self.secondary.write_chunk(target, mode, chunk);
        self.both(
            Some(target),
            &format!("write_chunk {chunk}"),
            a,
            b,
            |a, b| equal(&a.changes, &b.changes),
        )
    }

    fn begin(&mut self, target: TargetId) -> Result<()> {
        let a = self.primary.begin(target);
        let b = self.secondary.begin(target);
        self.both(Some(target), "begin", a, b, |_, _| None)
    }

    fn commit(&mut self, target: TargetId) -> Result<()> {
        let a = self.primary.commit(target);
        let b = self.secondary.commit(target);
        self.both(Some(target), "commit", a, b, |_, _| None)
    }

    fn save_state(&mut self, target: TargetId, state: &str) -> Result<()> {
        let a = self.primary.save_state(target, state);
        let b = self.secondary.save_state(target, state);
        self.both(Some(target), "save_state", a, b, |_, _| None)
    }

    fn load_state(&mut self, target: TargetId) -> Result<Option<String>> {
        let a = self.primary.load_state(target);
        let b = self.secondary.load_state(target);
        self.both(Some(target), "load_state", a, b, equal)
    }

    fn crash_and_reopen(&mut self, target: TargetId) -> Result<()> {
        let a = self.primary.crash_and_reopen(target);
        let b = self.secondary.crash_and_reopen(target);
        self.both(Some(target), "crash_and_reopen", a, b, |_, _| None)
    }

    fn batch_rows_at(&mut self, target: TargetId, updated_at_us: i64) -> Result<Vec<[i64; 2]>> {
        let a = self.primary.batch_rows_at(target, updated_at_us);
        let b = self.secondary.batch_rows_at(target, updated_at_us);
        self.both(Some(target), "batch_rows_at", a, b, equal)
    }

    fn target_contents(&mut self, target: TargetId) -> Result<TargetContents> {
        let a = self.primary.target_contents(target);
        let b = self.secondary.target_contents(target);
        self.both(Some(target), "target_contents", a, b, contents_difference)
    }

    /// A read-back, like `scan_target`: the primary's (contents are compared through
    /// `target_contents` and the prints).
    fn scan_key_hashes(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&KeyHashes),
    ) -> Result<()> {
        // A lane whose target was wrong at its last check reads its keys instead of taking
        // its print: the engines' prints are compared here too, so no run's target goes
        // uncompared.
        self.mirror_print(target)?;
        self.primary.scan_key_hashes(target, visit)
    }

    fn mirror_print(&mut self, target: TargetId) -> Result<Option<MirrorPrint>> {
        let a = self.primary.mirror_print(target);
        let b = self.secondary.mirror_print(target);
        if matches!((&a, &b), (Ok(p), Ok(q)) if p != q) {
            // Prints that differ say only that the contents do: the contents name the key.
            self.target_contents(target)?;
        }
        self.both(Some(target), "mirror_print", a, b, equal)
    }

    fn sql_time(&self) -> Duration {
        self.primary.sql_time()
    }

    fn cpu_time(&self) -> Duration {
        self.primary.cpu_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TargetRows;

    fn mirror(ids: &[i64], values: &[i64]) -> TargetContents {
        TargetContents::Mirror(TargetRows {
            id: ids.to_vec(),
            columns: vec![(Column::Value, values.to_vec())],
        })
    }

    #[test]
    fn row_order_is_not_a_difference() {
        assert_eq!(
            contents_difference(
                &mirror(&[1, 2, 3], &[10, 20, 30]),
                &mirror(&[3, 1, 2], &[30, 10, 20])
            ),
            None
        );
    }

    #[test]
    fn the_first_key_whose_rows_differ_is_named() {
        let d = contents_difference(
            &mirror(&[1, 2, 3, 4], &[10, 20, 30, 40]),
            &mirror(&[1, 2, 3, 4], &[10, 21, 30, 41]),
        );
        assert_eq!(d.as_deref(), Some("key 2 holds [[2, 20]] vs [[2, 21]]"));
    }

    #[test]
    fn a_duplicated_row_is_a_difference() {
        let d = contents_difference(&mirror(&[1, 1], &[10, 10]), &mirror(&[1], &[10]));
        assert_eq!(
            d.as_deref(),
            Some("key 1 holds [[1, 10], [1, 10]] vs [[1, 10]]")
        );
    }
}
