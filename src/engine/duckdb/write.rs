//! The write modes on DuckDB: how a staged batch (or one chunk of it) lands in a mirror or a
//! `daily_totals` target, as set-based statements.

use super::dedup::{id_ranges, latest_per_key, latest_per_key_of_log};
use super::profiling::SourceScan;
use super::sql::{day_of, inserted_only, schema, target_columns};
use super::{DuckDbEngine, Pending};
use crate::engine::{ReadSpec, TargetChanges, TargetId};
use crate::error::{Error, Result};
use crate::row::{Column, MIRROR_ROW};
use crate::scenario::{TargetModel, WriteMode};

impl DuckDbEngine {
    /// Writes `relation` (the batch, or one chunk of it) into the target, read with `spec`.
    /// `first_chunk` says whether an overwrite replaces the target or adds to what earlier
    /// chunks of the same write put there.
    pub(super) fn write_relation(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        relation: &str,
        spec: &ReadSpec,
        first_chunk: bool,
    ) -> Result<(TargetChanges, SourceScan)> {
        self.write_relation_setting(target, mode, relation, spec, first_chunk, &MIRROR_ROW[1..])
    }

    /// [`Self::write_relation`], with the columns an upsert sets on a matched key given: every
    /// non-key column in production; the broken-write test drops one to prove the oracle
    /// notices.
    pub(super) fn write_relation_setting(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        relation: &str,
        spec: &ReadSpec,
        first_chunk: bool,
        upsert_sets: &[Column],
    ) -> Result<(TargetChanges, SourceScan)> {
        let mirror = self.models.get(&target) != Some(&TargetModel::DailyTotals);
        let into_empty = mirror && mode == WriteMode::Upsert && self.mirror_is_empty(target)?;
        // `relation` is the target's staged batch or a chunk of it, so no larger than the
        // batch `summarise` counted: a batch that fits in one pass is not sized again.
        let fits_one_pass = matches!(
            self.pending.get(&target),
            Some(Pending::Materialized { rows, .. }) if *rows <= self.dedup_rows_per_pass
        );
        // Deduplicating a batch takes memory per key, so a batch of more keys than DuckDB's
        // limit holds is written in passes by id range (a key never spans two). A daily_totals
        // write is left whole: its upsert recomputes every day a pass touches, and passes
        // sharing a day would count its update twice.
        let ranges = if mirror && spec.may_repeat_keys() && !fits_one_pass {
            self.pass_ranges(relation)?
        } else {
            Vec::new()
        };
        if ranges.len() < 2 {
            return self.write_pass(
                target,
                mode,
                relation,
                spec,
                first_chunk,
                upsert_sets,
                into_empty,
            );
        }
        #[cfg(test)]
        self.multi_pass_writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The passes are one write: in the caller's transaction, or in one of their own.
        let what = || format!("writing {relation} by id range");
        self.as_one_unit(target, what, |engine| {
            let mut total = (TargetChanges::default(), SourceScan::default());
            for (pass, (from, to)) in ranges.into_iter().enumerate() {
                let slice = format!("(SELECT * FROM {relation} WHERE id BETWEEN {from} AND {to})");
                let first = first_chunk && pass == 0;
                // Passes hold disjoint keys, so a target empty before the first holds none of
                // a later pass's keys either.
                let (changes, scan) = engine.write_pass(
                    target,
                    mode,
                    &slice,
                    spec,
                    first,
                    upsert_sets,
                    into_empty,
                )?;
                total.0 += changes;
                total.1 = total.1 + scan;
            }
            Ok(total)
        })
    }

    /// The id ranges a batch is deduplicated and written in, sized from its rows and ids
    /// (empty for an empty batch).
    fn pass_ranges(&mut self, relation: &str) -> Result<Vec<(i64, i64)>> {
        let [rows, low, high] = self.query_ints::<3>(
            &format!("SELECT count(*), min(id), max(id) FROM {relation}"),
            || format!("sizing {relation} for deduplication"),
        )?;
        Ok(match (rows, low, high) {
            (Some(rows), Some(low), Some(high)) => {
                id_ranges(rows as u64, low, high, self.dedup_rows_per_pass)
            }
            _ => Vec::new(),
        })
    }

    /// Whether a mirror target holds no row. The scan stops at the first row it finds
    /// (~0.3 ms); a `count(*)` of a million rows with deletes among them takes ~3 ms, which
    /// every upsert run would carry.
    fn mirror_is_empty(&mut self, target: TargetId) -> Result<bool> {
        let s = schema(target);
        let [rows] = self.query_ints::<1>(
            &format!("SELECT count(*) FROM (SELECT 1 FROM {s}.mirror LIMIT 1)"),
            || format!("looking for a row in {s}.mirror"),
        )?;
        Ok(rows == Some(0))
    }

    /// One write of `relation` (or of one id range of it) into the target. `into_empty`: the
    /// target held no row when the write began, and no key of `relation` was written since.
    #[allow(clippy::too_many_arguments)]
    fn write_pass(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        relation: &str,
        spec: &ReadSpec,
        first_chunk: bool,
        upsert_sets: &[Column],
        into_empty: bool,
    ) -> Result<(TargetChanges, SourceScan)> {
        // One version per key: the latest. Source reads already are; a log batch is not.
        let latest = match spec {
            // A log holds each change once, so a version is known by its lsn alone.
            ReadSpec::LogAfter(_) => latest_per_key_of_log(relation),
            // Files can hold one version twice (a file rewritten in place is listed again).
            _ if spec.may_repeat_keys() => latest_per_key(relation),
            _ => relation.to_string(),
        };
        if self.models.get(&target) == Some(&TargetModel::DailyTotals) {
            return self.write_totals(target, mode, relation, &latest, first_chunk);
        }
        let s = schema(target);
        let what = || format!("writing {relation} into {s}.mirror ({})", mode.name());
        let cols = target_columns();
        let set = upsert_sets
            .iter()
            .map(|c| format!("{0} = b.{0}", c.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let values = MIRROR_ROW
            .iter()
            .map(|c| format!("b.{}", c.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let insert_live =
            format!("INSERT INTO {s}.mirror SELECT {cols} FROM {latest} WHERE NOT gone");
        Ok(match mode {
            // Replacing the table is one bulk insert; the rows it drops are not deletes.
            WriteMode::Overwrite if first_chunk => inserted_only(self.profiled(
                &format!("CREATE OR REPLACE TABLE {s}.mirror AS SELECT {cols} FROM {latest} WHERE NOT gone"),
                what,
            )?),
            WriteMode::Overwrite => inserted_only(self.profiled(&insert_live, what)?),
            // Merged into an empty target, every live row of the batch is inserted and every
            // deleted one is skipped: what the MERGE below would do, as the plain insert a
            // first load is (dbt's first incremental run is a CREATE TABLE AS, too). DuckDB's
            // MERGE takes ~20 times the insert's time here (a million rows: 277 ms against
            // 15 ms), and every upsert strategy's first run is such a write.
            WriteMode::Upsert if into_empty => inserted_only(self.profiled(&insert_live, what)?),
            WriteMode::Upsert => self.merged(
                &format!(
                    "MERGE INTO {s}.mirror AS t USING {latest} AS b ON t.id = b.id
                     WHEN MATCHED AND b.gone THEN DELETE
                     WHEN MATCHED THEN UPDATE SET {set}
                     WHEN NOT MATCHED AND NOT b.gone THEN INSERT ({cols}) VALUES ({values})
                     RETURNING merge_action"
                ),
                what,
            )?,
            WriteMode::DeleteInsert => {
                // Bounding the delete by the batch's id range lets its scan of the target skip
                // row groups by their zone maps. A batch of new ids (watermark_id) then touches
                // the target's tail only: without the bound, its delete scanned every id of a
                // 20M-row target each run, tripling the per-run time from 1M rows.
                let [low, high] = self.query_ints::<2>(
                    &format!("SELECT min(id), max(id) FROM {relation}"),
                    || format!("reading the id range of {relation}"),
                )?;
                let delete = match (low, high) {
                    (Some(low), Some(high)) => format!(
                        "DELETE FROM {s}.mirror WHERE id BETWEEN {low} AND {high} AND id IN (SELECT id FROM {relation})"
                    ),
                    // An empty batch deletes nothing.
                    _ => String::new(),
                };
                self.delete_then_insert(target, &delete, &insert_live, what)?
            }
            WriteMode::PartitionOverwrite => {
                let ReadSpec::EventTimeWindow { from_us, to_us } = *spec else {
                    return Err(Error::Invariant(format!(
                        "partition_overwrite of {s}.mirror needs an event-time window, not {spec:?}"
                    )));
                };
                // The window is the partition: a key it no longer holds (deleted) goes too.
                // Later chunks only add to what chunk 1 replaced.
                let clear = if first_chunk {
                    format!("DELETE FROM {s}.mirror WHERE event_time >= {from_us} AND event_time < {to_us}")
                } else {
                    String::new()
                };
                self.delete_then_insert(target, &clear, &insert_live, what)?
            }
            WriteMode::Append => inserted_only(self.profiled(
                &format!("INSERT INTO {s}.mirror SELECT {cols} FROM {relation} WHERE NOT gone"),
                what,
            )?),
        })
    }

    /// Runs `work` as one unit: in the caller's transaction if one is open, else in one of its
    /// own, marked open for `target` so that work inside it opens no other.
    fn as_one_unit<T>(
        &mut self,
        target: TargetId,
        what: impl Fn() -> String + Copy,
        work: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let own_transaction = self.open_transaction.is_none();
        if own_transaction {
            self.batch("BEGIN", what)?;
            self.open_transaction.opened(target);
        }
        let result = work(self);
        if own_transaction {
            self.open_transaction.take();
            match &result {
                Ok(_) => self.batch("COMMIT", what)?,
                Err(_) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
            }
        }
        result
    }

    /// Runs a delete (skipped when empty) and an insert as one unit of work: in the caller's
    /// transaction if one is open, else in their own.
    pub(super) fn delete_then_insert(
        &mut self,
        target: TargetId,
        delete: &str,
        insert: &str,
        what: impl Fn() -> String + Copy,
    ) -> Result<(TargetChanges, SourceScan)> {
        self.as_one_unit(target, what, |engine| {
            let (deleted, scan_deletes) = if delete.is_empty() {
                (0, SourceScan::default())
            } else {
                engine.profiled(delete, what)?
            };
            let (inserted, scan_inserts) = engine.profiled(insert, what)?;
            let changes = TargetChanges {
                inserted,
                updated: 0,
                deleted,
            };
            Ok((changes, scan_deletes + scan_inserts))
        })
    }

    /// Writes `relation` (`latest`: the same rows, one version per key) into a `daily_totals`
    /// target. Every incremental write recomputes the days the batch touches from the source
    /// (a batch holds changed rows, not a day's rows), except `append`, which adds the batch's
    /// own partial totals: the naive pipeline.
    pub(super) fn write_totals(
        &mut self,
        target: TargetId,
        mode: WriteMode,
        relation: &str,
        latest: &str,
        first_chunk: bool,
    ) -> Result<(TargetChanges, SourceScan)> {
        let s = schema(target);
        let what = || format!("writing {relation} into {s}.totals ({})", mode.name());
        let day = day_of("event_time");
        let totals_of = |rows: &str, filter: &str| {
            format!(
                "SELECT {day} AS day, sum(value)::BIGINT AS total, count(*) AS rows FROM {rows} WHERE {filter} GROUP BY ALL"
            )
        };
        // Each day merged in from `days`, with `set` saying how a matched day changes.
        let merge = |days: &str, set: &str| {
            format!(
                "MERGE INTO {s}.totals AS t USING ({days}) AS b ON t.day = b.day
                 WHEN MATCHED THEN UPDATE SET {set}
                 WHEN NOT MATCHED THEN INSERT (day, total, rows) VALUES (b.day, b.total, b.rows)
                 RETURNING merge_action"
            )
        };
        let partial = totals_of(latest, "NOT gone");
        // A row's event_time never changes, so the days a batch touches are the days of its
        // rows, deleted ones included (their day loses them).
        let affected = format!("SELECT DISTINCT {day} FROM {relation}");
        let recomputed = totals_of(
            "source",
            &format!("NOT is_deleted AND {day} IN ({affected})"),
        );
        Ok(match mode {
            WriteMode::Overwrite if first_chunk => inserted_only(self.profiled(
                &format!("CREATE OR REPLACE TABLE {s}.totals AS {partial}"),
                what,
            )?),
            // A full read holds each live key once, so chunk totals add up to day totals.
            WriteMode::Overwrite => self.merged(
                &merge(
                    &partial,
                    "total = t.total + b.total, rows = t.rows + b.rows",
                ),
                what,
            )?,
            WriteMode::PartitionOverwrite => self.delete_then_insert(
                target,
                &format!("DELETE FROM {s}.totals WHERE day IN ({affected})"),
                &format!("INSERT INTO {s}.totals {recomputed}"),
                what,
            )?,
            // A day that lost its last row recomputes to nothing, and MERGE leaves it standing.
            WriteMode::Upsert => {
                self.merged(&merge(&recomputed, "total = b.total, rows = b.rows"), what)?
            }
            WriteMode::Append => {
                inserted_only(self.profiled(&format!("INSERT INTO {s}.totals {partial}"), what)?)
            }
            WriteMode::DeleteInsert => {
                return Err(Error::Invariant(format!(
                    "delete_insert on {s}.totals (rejected by scenario validation)"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::DuckDbEngine;
    use crate::engine::{ReadSpec, TargetChanges, TargetId, Targets};
    use crate::row::{column_list, MIRROR_ROW};
    use crate::scenario::{TargetModel, WriteMode};

    /// A log batch (keys may repeat; the highest lsn is a key's latest version): key 1 once,
    /// key 2 twice, key 3 inserted then deleted, key 4 deleted only, key 1000 updated.
    const LOG_BATCH: &str = "CREATE TABLE batch AS SELECT * FROM (VALUES
        (1, 11, 100, 1, 10, 5, false),
        (2, 12, 100, 1, 20, 5, false),
        (2, 15, 200, 2, 21, 5, false),
        (3, 13, 100, 1, 30, 5, false),
        (3, 16, 300, 1, 30, 5, true),
        (4, 14, 100, 1, 40, 5, true),
        (1000, 17, 400, 3, 99, 5, false)
    ) v(id, lsn, updated_at, writer, value, event_time, gone)";

    fn upsert_log_batch(engine: &mut DuckDbEngine, target: TargetId) -> TargetChanges {
        let (changes, _) = engine
            .write_relation(
                target,
                WriteMode::Upsert,
                "batch",
                &ReadSpec::LogAfter(0),
                true,
            )
            .unwrap();
        changes
    }

    /// The target's rows, sorted.
    fn rows_of(engine: &mut DuckDbEngine, target: TargetId) -> Vec<[i64; 6]> {
        let table = format!("t{}.mirror", target.0);
        engine.sorted_rows(&table, &column_list(&MIRROR_ROW))
    }

    #[test]
    fn an_upsert_into_an_empty_target_writes_what_a_merge_into_a_held_one_writes() {
        let mut engine = DuckDbEngine::open_in_memory().unwrap();
        let (empty, held) = (TargetId(1), TargetId(2));
        for target in [empty, held] {
            engine.create_target(target, TargetModel::Mirror).unwrap();
        }
        engine
            .conn
            .execute_batch(&format!(
                "{LOG_BATCH}; INSERT INTO t2.mirror VALUES (1000, 1, 1, 1, 1, 5)"
            ))
            .unwrap();

        // Into the empty target, every key's latest live version is inserted once.
        let inserted = upsert_log_batch(&mut engine, empty);
        assert_eq!(
            inserted,
            TargetChanges {
                inserted: 3,
                updated: 0,
                deleted: 0
            }
        );
        let latest = vec![
            [1, 11, 100, 1, 10, 5],
            [2, 15, 200, 2, 21, 5],
            [1000, 17, 400, 3, 99, 5],
        ];
        assert_eq!(rows_of(&mut engine, empty), latest);

        // Into a target holding key 1000, the same batch updates it: the MERGE.
        let merged = upsert_log_batch(&mut engine, held);
        assert_eq!(
            merged,
            TargetChanges {
                inserted: 2,
                updated: 1,
                deleted: 0
            }
        );
        assert_eq!(rows_of(&mut engine, held), latest);
    }
}
