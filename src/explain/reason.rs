//! The one-line reason a key ended as it did: the mechanism that lost it, with the times and
//! values behind it.

use super::{class_name, describe, expected, planned_read, s, signed_ms, Explainer, Version};
use crate::engine::ReadSpec;
use crate::results::RunRecord;
use crate::scenario::{FileIdentity, StrategyKind};
use crate::sim::Op;
use crate::verify::{DivergenceClass, WatchedKey};

impl Explainer<'_> {
    /// One line saying why `key` ended as it did: the exact mechanism, with the times and
    /// values behind it. `versions` are the key's, from [`versions_of_keys`]; `held` is what the
    /// oracle found in the target after the last run.
    pub fn reason(&self, versions: &[Version], key: i64, held: &WatchedKey) -> String {
        let (spec, result) = (self.spec, self.result);
        let Some(last) = versions.last() else {
            return format!("key {key} never existed in the history");
        };
        let expected_lsn = expected(versions).map(|v| v.lsn);
        let class = class_name(held.class);
        let held_text = match held.held_lsns.as_slice() {
            [] => "nothing".to_string(),
            lsns => lsns
                .iter()
                .map(|l| format!("lsn {l}"))
                .collect::<Vec<_>>()
                .join(" and "),
        };
        match held.class {
            None => {
                return format!(
                    "right: the target holds {}, as full reprocessing does",
                    if held.held_lsns.is_empty() {
                        "nothing (the key is deleted)".to_string()
                    } else {
                        held_text
                    }
                )
            }
            Some(DivergenceClass::Duplicate) => {
                let runs: Vec<String> = result
                    .per_run
                    .windows(2)
                    .filter(|w| {
                        let count =
                            |r: &RunRecord| r.watched.as_ref().map_or(0, |k| k.held_lsns.len());
                        count(&w[1]) > count(&w[0])
                    })
                    .map(|w| w[1].run.to_string())
                    .collect();
                let when = if runs.is_empty() {
                    String::new()
                } else {
                    format!(" (again in run {})", runs.join(", "))
                };
                return format!(
                    "duplicate: {} wrote the key again without removing the earlier row{when}; the target holds {} rows for it",
                    result.write,
                    held.held_lsns.len()
                );
            }
            Some(DivergenceClass::Stale) if !held.wrong_columns.is_empty() => {
                return format!(
                    "stale: the target holds lsn {}, the right version, but its {} differ from the source's: the write carried the version without every column",
                    expected_lsn.map_or("?".into(), |l| l.to_string()),
                    held.wrong_columns.join(", ")
                );
            }
            _ => {}
        }
        // The version the target should reflect and lacks: the last one (for a ghost, the
        // delete).
        let first_run = result.per_run.iter().find(|r| r.time_us >= last.commit_us);
        let op_name = last.kind();
        if last.op == Op::Delete && spec.kind == StrategyKind::FileListing {
            return format!(
                "{class}: lsn {} is a hard delete (committed at {}): a landed file carries no tombstone, so no listing ever sees it; the target keeps {held_text}",
                last.lsn,
                s(last.commit_us)
            );
        }
        if last.op == Op::Delete && spec.kind != StrategyKind::Cdc {
            return format!(
                "{class}: lsn {} is a hard delete (committed at {}): it removes the row from the source, so a read of the source has nothing left to see; the target keeps {held_text}",
                last.lsn,
                s(last.commit_us)
            );
        }
        // A run that read the key, committed its state first and crashed before its write
        // landed: no later run reads the key again.
        let skipped_by = result.per_run.iter().find_map(|r| {
            let crash = result
                .crashes
                .iter()
                .rev()
                .find(|c| c.run == r.run && c.rows_skipped > 0)?;
            self.read_by_run(r, key, versions)
                .contains(&last.lsn)
                .then_some((r, crash))
        });
        if let Some((r, crash)) = skipped_by {
            return format!(
                "{class}: run {} at {} read the {op_name} lsn {}, committed its state before writing (commit_order before_write) and crashed at {} with {} of {} write chunks committed: the state had moved past the row, so no later run reads it; the target keeps {held_text}",
                r.run,
                s(r.time_us),
                last.lsn,
                crash.point.name(),
                crash.chunks_committed,
                crash.chunks,
            );
        }
        let Some(run) = first_run else {
            return format!(
                "{class}: lsn {} committed at {}, after the last run",
                last.lsn,
                s(last.commit_us)
            );
        };
        let waited = last.lock_wait();
        match (spec.kind, planned_read(self.strategy.as_ref(), run)) {
            (
                StrategyKind::UpdatedAt,
                ReadSpec::UpdatedAtSkippingSeen {
                    from_us: bound,
                    seen,
                    by_row,
                },
            ) if last.updated_at_us == bound => {
                let taken = seen.iter().find(|[id, _]| *id == key).map(|[_, lsn]| *lsn);
                let identity = if by_row { "key and version" } else { "key" };
                format!(
                    "{class}: the {op_name} lsn {} was stamped {}, exactly the watermark, and committed at {}; run {} at {} skipped rows at the watermark already taken by {identity}{} — a cursor that deduplicates its boundary by key never reads a later version that ties; the target keeps {held_text}",
                    last.lsn,
                    s(last.updated_at_us),
                    s(last.commit_us),
                    run.run,
                    s(run.time_us),
                    taken.map_or(String::new(), |l| format!(" (it had taken key {key} at lsn {l})")),
                )
            }
            (StrategyKind::UpdatedAt, ReadSpec::UpdatedAtFrom { from_us: bound, inclusive }) => {
                let tie = last.updated_at_us == bound && !inclusive;
                let how = if tie {
                    format!("ties with the bound {} and `>` skips it", s(bound))
                } else {
                    format!(
                        "is {} below the bound {}",
                        s(bound - last.updated_at_us),
                        s(bound)
                    )
                };
                // Why the bound was where it was: a watermark ahead of the true time of the run
                // that set it means some writer's clock runs ahead.
                let wm = run.watermark_before.unwrap_or(bound);
                let previous = result
                    .per_run
                    .iter()
                    .rev()
                    .find(|r| r.time_us < run.time_us);
                let ahead = previous
                    .filter(|p| wm > p.time_us)
                    .map_or(String::new(), |p| {
                        format!(
                            " (the watermark was set {} ahead of the true time of run {}: a writer's clock runs ahead)",
                            s(wm - p.time_us),
                            p.run
                        )
                    });
                format!(
                    "{class}: the {op_name} lsn {} was stamped {} by writer {} (clock {}), began at {}{waited} and committed at {}; run {} at {} read updated_at above {}{ahead} — the stamp {how}, and the bound only rises after that; the target keeps {held_text}",
                    last.lsn,
                    s(last.updated_at_us),
                    last.writer,
                    signed_ms(last.clock_offset_us),
                    s(last.begin_us),
                    s(last.commit_us),
                    run.run,
                    s(run.time_us),
                    s(bound),
                )
            }
            (StrategyKind::WatermarkId, ReadSpec::IdAbove(wm)) => {
                if last.op == Op::Insert {
                    format!(
                        "{class}: id {key} was drawn when its transaction began at {} but committed at {}, after the watermark had reached {wm} (run {} at {} read id > {wm}); an id read never returns below its watermark; the target keeps {held_text}",
                        s(last.begin_us),
                        s(last.commit_us),
                        run.run,
                        s(run.time_us),
                    )
                } else {
                    format!(
                        "{class}: the {op_name} lsn {} (committed at {}) keeps id {key}, which is at or below the watermark {wm} from run {} on: an id read sees only new ids, never changes to old ones; the target keeps {held_text}",
                        last.lsn,
                        s(last.commit_us),
                        run.run,
                    )
                }
            }
            (StrategyKind::Interval, read @ ReadSpec::EventTimeWindow { .. }) => format!(
                "{class}: the {op_name} lsn {} has event_time {} ({} behind its begin at {}) and committed at {}; the first run after it, run {} at {}, {}, already past it, and windows only move forward; the target keeps {held_text}",
                last.lsn,
                s(last.event_time_us),
                s(last.begin_us - last.event_time_us),
                s(last.begin_us),
                s(last.commit_us),
                run.run,
                s(run.time_us),
                describe(&read, run),
            ),
            (StrategyKind::FileListing, _) if spec.file_identity() == FileIdentity::Name => format!(
                "{class}: the {op_name} lsn {} (committed at {}) never reached a file the listing had not processed: it landed by rewriting a file in place, and identity by name skips a name it has seen; the target keeps {held_text}",
                last.lsn,
                s(last.commit_us)
            ),
            _ => format!(
                "{class}: the target holds {held_text}; full reprocessing holds {}",
                expected_lsn.map_or("nothing".into(), |l| format!("lsn {l}"))
            ),
        }
    }
}
