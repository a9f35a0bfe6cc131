//! The story of one key: its versions, what each run read of it, what the target held after
//! each run, and the exact reason it ended wrong (or right).
//!
//! Invariant: computed from the history, the strategy's per-run records and what the engine
//! reported the target held; it re-derives each run's read from the strategy's own rule
//! (`id > watermark`, `updated_at > watermark - lag`, `lsn > offset`), never from timing.

use crate::results::{RunRecord, StrategyResult};
use crate::scenario::{Boundary, FileIdentity, StrategyKind, StrategySpec};
use crate::sim::{History, Op};

/// One version of the key, from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub lsn: i64,
    pub op: Op,
    pub begin_us: i64,
    pub commit_us: i64,
    pub writer: u32,
    pub clock_offset_us: i64,
    pub updated_at_us: i64,
    pub event_time_us: i64,
    pub is_deleted: bool,
}

impl Version {
    /// What the version did, as the stories name it.
    fn kind(&self) -> &'static str {
        match (self.op, self.is_deleted) {
            (Op::Delete, _) => "hard delete",
            (_, true) => "soft delete",
            (Op::Insert, _) => "insert",
            (Op::Update, _) => "update",
        }
    }

    /// Whether this version leaves the key absent from a correct target.
    fn removes(&self) -> bool {
        self.op == Op::Delete || self.is_deleted
    }
}

/// Every version of `key`, in lsn order.
pub fn versions_of(history: &History, key: i64) -> Vec<Version> {
    versions_of_keys(history, &[key]).pop().unwrap_or_default()
}

/// Every version of each key in `keys` (in that order), in lsn order, from one pass over the
/// history: explaining twenty sample keys must not scan a million-row history twenty times.
pub fn versions_of_keys(history: &History, keys: &[i64]) -> Vec<Vec<Version>> {
    let mut out = vec![Vec::new(); keys.len()];
    // (key, slot) sorted by key: each history row finds its slots by binary search.
    let mut slots: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
    slots.sort_unstable();
    for i in 0..history.len() {
        let id = history.id[i];
        let from = slots.partition_point(|&(k, _)| k < id);
        for &(_, slot) in slots[from..].iter().take_while(|&&(k, _)| k == id) {
            out[slot].push(Version {
                lsn: history.lsn[i],
                op: history.op[i],
                begin_us: history.begin_us[i],
                commit_us: history.commit_us[i],
                writer: history.writer[i],
                clock_offset_us: history.clock_offset_us[i],
                updated_at_us: history.updated_at_us[i],
                event_time_us: history.event_time_us[i],
                is_deleted: history.is_deleted[i],
            });
        }
    }
    out
}

/// Seconds with millisecond precision, the resolution the stories need.
fn s(us: i64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

fn signed_ms(us: i64) -> String {
    format!("{:+}ms", us / 1000)
}

/// How the strategy read in one run, in its own terms.
fn read_rule(spec: &StrategySpec, r: &RunRecord) -> String {
    if r.reconciled || spec.kind == StrategyKind::Full {
        return "read the whole source".into();
    }
    if let Some([from, to]) = r.event_window_us {
        return format!("read event_time in [{}, {})", s(from), s(to));
    }
    if spec.kind == StrategyKind::FileListing {
        return format!(
            "read the landed files not processed yet ({} rows)",
            r.rows_read
        );
    }
    let Some(wm) = r.watermark_before else {
        return "read the whole source (no watermark yet)".into();
    };
    match spec.kind {
        StrategyKind::WatermarkId => format!("read id > {wm}"),
        StrategyKind::UpdatedAt => {
            let op = if spec.boundary == Some(Boundary::Inclusive) {
                ">="
            } else {
                ">"
            };
            let lag = spec.lag.map_or(0, |l| l.0);
            if lag > 0 {
                format!(
                    "read updated_at {op} {} (watermark {} − lag)",
                    s(wm - lag),
                    s(wm)
                )
            } else {
                format!("read updated_at {op} {}", s(wm))
            }
        }
        StrategyKind::Cdc => format!("read log entries lsn > {wm}"),
        StrategyKind::Full | StrategyKind::Interval | StrategyKind::FileListing => {
            unreachable!("handled above")
        }
    }
}

/// The version of the key a read at `time_us` could see in the source: its latest committed
/// version, unless a hard delete removed the row.
fn in_source_at(versions: &[Version], time_us: i64) -> Option<&Version> {
    versions
        .iter()
        .rev()
        .find(|v| v.commit_us <= time_us)
        .filter(|v| v.op != Op::Delete)
}

/// The key's versions the run's read returned, by the strategy's rule.
fn read_by_run(spec: &StrategySpec, r: &RunRecord, key: i64, versions: &[Version]) -> Vec<i64> {
    let everything =
        r.reconciled || spec.kind == StrategyKind::Full || r.watermark_before.is_none();
    if spec.kind == StrategyKind::Cdc && !everything {
        let offset = r.watermark_before.unwrap_or(i64::MIN);
        return versions
            .iter()
            .filter(|v| v.lsn > offset && v.commit_us <= r.time_us)
            .map(|v| v.lsn)
            .collect();
    }
    // Which files held which version is the landing's business; the story does not guess.
    if spec.kind == StrategyKind::FileListing && !r.reconciled {
        return Vec::new();
    }
    let Some(v) = in_source_at(versions, r.time_us) else {
        return Vec::new();
    };
    if let (Some([from, to]), false) = (r.event_window_us, r.reconciled) {
        return if (from..to).contains(&v.event_time_us) {
            vec![v.lsn]
        } else {
            Vec::new()
        };
    }
    let wm = r.watermark_before.unwrap_or(i64::MIN);
    let passes = everything
        || match spec.kind {
            StrategyKind::WatermarkId => key > wm,
            StrategyKind::UpdatedAt => {
                let bound = wm.saturating_sub(spec.lag.map_or(0, |l| l.0));
                if spec.boundary == Some(Boundary::Inclusive) {
                    v.updated_at_us >= bound
                } else {
                    v.updated_at_us > bound
                }
            }
            _ => true,
        };
    if passes {
        vec![v.lsn]
    } else {
        Vec::new()
    }
}

/// What a correct target holds for the key at the end: its last version, unless deleted.
fn expected(versions: &[Version]) -> Option<&Version> {
    versions.last().filter(|v| !v.removes())
}

/// The class of divergence of `held` against the expected version, or "right".
pub fn classify(expected_lsn: Option<i64>, held: &[i64]) -> &'static str {
    match (expected_lsn, held) {
        (_, [_, _, ..]) => "duplicate",
        (Some(e), [x]) if *x == e => "right",
        (None, []) => "right",
        (Some(_), []) => "missing",
        (Some(_), [_]) => "stale",
        (None, [_]) => "ghost",
    }
}

/// One line saying why `key` ended as it did for this strategy: the exact mechanism, with the
/// times and values behind it. `versions` are the key's, from [`versions_of_keys`].
pub fn reason(
    versions: &[Version],
    result: &StrategyResult,
    spec: &StrategySpec,
    key: i64,
    held: &[i64],
) -> String {
    let Some(last) = versions.last() else {
        return format!("key {key} never existed in the history");
    };
    let expected_lsn = expected(versions).map(|v| v.lsn);
    let class = classify(expected_lsn, held);
    if class == "right" {
        return format!(
            "right: the target holds {}, as full reprocessing does",
            held.first()
                .map_or("nothing (the key is deleted)".into(), |l| format!(
                    "lsn {l}"
                ))
        );
    }
    if class == "duplicate" {
        let runs: Vec<String> = result
            .per_run
            .windows(2)
            .filter(|w| {
                let count = |r: &RunRecord| r.watched_lsns.as_ref().map_or(0, Vec::len);
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
            held.len()
        );
    }
    // The version the target should reflect and lacks: the last one (for a ghost, the delete).
    let first_run = result.per_run.iter().find(|r| r.time_us >= last.commit_us);
    let held_text = held
        .first()
        .map_or("nothing".into(), |l| format!("lsn {l}"));
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
        read_by_run(spec, r, key, versions)
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
    match spec.kind {
        StrategyKind::UpdatedAt => {
            let wm = run.watermark_before.unwrap_or(i64::MIN);
            let bound = wm.saturating_sub(spec.lag.map_or(0, |l| l.0));
            let tie = last.updated_at_us == bound && spec.boundary != Some(Boundary::Inclusive);
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
                "{class}: the {op_name} lsn {} was stamped {} by writer {} (clock {}), began at {} and committed at {}; run {} at {} read updated_at above {}{ahead} — the stamp {how}, and the bound only rises after that; the target keeps {held_text}",
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
        StrategyKind::WatermarkId => {
            let wm = run.watermark_before.unwrap_or(i64::MIN);
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
        StrategyKind::Interval => {
            let window = run
                .event_window_us
                .map_or("?".into(), |[from, to]| format!("[{}, {})", s(from), s(to)));
            format!(
                "{class}: the {op_name} lsn {} has event_time {} ({} behind its begin at {}) and committed at {}; the first run after it, run {} at {}, read event_time in {window}, already past it, and windows only move forward; the target keeps {held_text}",
                last.lsn,
                s(last.event_time_us),
                s(last.begin_us - last.event_time_us),
                s(last.begin_us),
                s(last.commit_us),
                run.run,
                s(run.time_us),
            )
        }
        StrategyKind::FileListing if spec.file_identity() == FileIdentity::Name => format!(
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

/// The whole story of `key` for one strategy, as lines of text. `result` must come from a run
/// that watched the key (`watched_lsns` filled in).
pub fn story(
    history: &History,
    result: &StrategyResult,
    spec: &StrategySpec,
    key: i64,
) -> Vec<String> {
    let versions = versions_of(history, key);
    let mut lines = vec![format!(
        "key {key} — strategy {} ({}, write {})",
        result.label, result.strategy, result.write
    )];
    lines.push("versions (from the history):".into());
    for v in &versions {
        let op = v.kind();
        lines.push(format!(
            "  lsn {:>8}  {op:<11}  begin {:>10}  commit {:>10}  writer {} (clock {})  updated_at {}",
            v.lsn,
            s(v.begin_us),
            s(v.commit_us),
            v.writer,
            signed_ms(v.clock_offset_us),
            s(v.updated_at_us)
        ));
    }
    lines.push("runs:".into());
    for r in &result.per_run {
        let read = read_by_run(spec, r, key, &versions);
        // A timestamp watermark reads best as a time; ids and lsns as numbers.
        let wm = |w: Option<i64>| match w {
            None => "—".to_string(),
            Some(w) if spec.kind == StrategyKind::UpdatedAt => s(w),
            Some(w) => w.to_string(),
        };
        let held = r.watched_lsns.as_ref().map_or("?".to_string(), |h| {
            if h.is_empty() {
                "nothing".into()
            } else {
                h.iter()
                    .map(|l| format!("lsn {l}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        });
        let saw = if read.is_empty() {
            "not this key".to_string()
        } else {
            read.iter()
                .map(|l| format!("lsn {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let crashed = r.crashed_at.map_or(String::new(), |point| {
            format!(
                " — crashed at {} (attempt {} of the run)",
                point.name(),
                r.attempts
            )
        });
        lines.push(format!(
            "  run {:>3} at {:>10}{}: {}; watermark {} → {}; got {saw}; target holds {held}{crashed}",
            r.run,
            s(r.time_us),
            if r.drain { " (drain)" } else { "" },
            read_rule(spec, r),
            wm(r.watermark_before),
            wm(r.watermark_after),
        ));
    }
    let held = result
        .per_run
        .last()
        .and_then(|r| r.watched_lsns.clone())
        .unwrap_or_default();
    lines.push(format!(
        "why: {}",
        reason(&versions, result, spec, key, &held)
    ));
    lines
}
