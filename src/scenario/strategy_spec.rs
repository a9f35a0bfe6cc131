//! `[[strategy]]` entries: which change-detection strategy, how it writes, what its target
//! holds, and the knobs of each kind.

use serde::{Deserialize, Serialize};

use super::{CommitOrder, Micros, StateStoreKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    Full,
    WatermarkId,
    UpdatedAt,
    Cdc,
    FileListing,
    Interval,
    /// Rows whose last writer's transaction id lies in `[watermark, snapshot_xmin)`.
    Xmin,
}

impl StrategyKind {
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Full => "full",
            StrategyKind::WatermarkId => "watermark_id",
            StrategyKind::UpdatedAt => "updated_at",
            StrategyKind::Cdc => "cdc",
            StrategyKind::FileListing => "file_listing",
            StrategyKind::Interval => "interval",
            StrategyKind::Xmin => "xmin",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Replace the whole target with the batch (what full reprocessing does).
    Overwrite,
    /// MERGE on key: update matched keys, insert new ones, delete deleted ones.
    Upsert,
    /// Delete the batch's keys, then insert the batch's live rows.
    DeleteInsert,
    /// Insert every row of the batch as it is. Not idempotent: the baseline that shows why.
    Append,
    /// Replace whole partitions: on a mirror, every row whose `event_time` lies in the
    /// interval window the run read; on `daily_totals`, every day the batch touches.
    PartitionOverwrite,
}

impl WriteMode {
    pub fn name(self) -> &'static str {
        match self {
            WriteMode::Overwrite => "overwrite",
            WriteMode::Upsert => "upsert",
            WriteMode::DeleteInsert => "delete_insert",
            WriteMode::Append => "append",
            WriteMode::PartitionOverwrite => "partition_overwrite",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Boundary {
    /// `updated_at > watermark`: misses rows that tie with the watermark and commit later.
    #[serde(rename = ">")]
    #[default]
    Exclusive,
    /// `updated_at >= watermark`: re-reads the tie rows every run, so the write must absorb them.
    #[serde(rename = ">=")]
    Inclusive,
}

impl Boundary {
    pub fn symbol(self) -> &'static str {
        match self {
            Boundary::Exclusive => ">",
            Boundary::Inclusive => ">=",
        }
    }
}

/// `updated_at` with `>=`: which rows at the watermark a run skips because an earlier run
/// already took them, the way real cursors deduplicate their boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryDedupe {
    /// Re-read every row at the watermark (the write absorbs them).
    #[default]
    None,
    /// Skip a row at the watermark whose key was already seen there: dlt's
    /// `incremental(range_start="closed")` with a primary key. A second version of a key that
    /// ties with the watermark is never read.
    Key,
    /// Skip a row at the watermark only if that exact row (key and version) was seen: dlt's
    /// `incremental` without a primary key (it hashes the whole row).
    Row,
}

impl BoundaryDedupe {
    pub fn name(self) -> &'static str {
        match self {
            BoundaryDedupe::None => "none",
            BoundaryDedupe::Key => "key",
            BoundaryDedupe::Row => "row",
        }
    }
}

/// What a target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TargetModel {
    /// One row per live key, at its latest version.
    #[default]
    Mirror,
    /// Sum of `value` and count of live rows per day of `event_time`.
    DailyTotals,
}

impl TargetModel {
    pub fn name(self) -> &'static str {
        match self {
            TargetModel::Mirror => "mirror",
            TargetModel::DailyTotals => "daily_totals",
        }
    }
}

/// How `file_listing` recognises a file it has already processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileIdentity {
    /// By path alone: a file rewritten in place is never read again.
    #[default]
    Name,
    /// By path, size and modification stamp: a rewritten file is a new file.
    NameSizeMtime,
}

impl FileIdentity {
    pub fn name(self) -> &'static str {
        match self {
            FileIdentity::Name => "name",
            FileIdentity::NameSizeMtime => "name_size_mtime",
        }
    }
}

/// One `[[strategy]]` entry as written. Knobs that do not apply to `kind` are rejected by
/// validation, so a typo such as `lag` on `watermark_id` never silently does nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySpec {
    pub kind: StrategyKind,
    /// Name in reports; defaults to the kind plus its knobs (`updated_at>=lag5s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Defaults to `overwrite` for `full`, `partition_overwrite` for `interval` and for
    /// `daily_totals`, and `upsert` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteMode>,
    /// `updated_at` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Boundary>,
    /// `updated_at` with `>=` only: rows at the watermark already seen are skipped (default
    /// `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary_dedupe: Option<BoundaryDedupe>,
    /// `updated_at` only: the read starts this far below the watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<Micros>,
    /// `interval` only: how many intervals before its own each run reads again (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback: Option<u32>,
    /// `file_listing` only: how a processed file is recognised (default `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_identity: Option<FileIdentity>,
    /// What the target holds (default `mirror`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<TargetModel>,
    /// Incremental strategies: every k-th run is a full reconciliation (read everything,
    /// replace the target, restart the watermark from what was read), like a weekly full refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_every: Option<u32>,
    /// Where the watermark or offset persists between runs (default `json_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_store: Option<StateStoreKind>,
    /// `json_file` only: whether the state is committed after the data (default) or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_order: Option<CommitOrder>,
    /// `cdc` only: flush the consumed offset after a write chunk once this many events were
    /// written since the last flush (default: once per run, after the whole write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_flush_every: Option<u64>,
}

impl StrategySpec {
    pub fn write_mode(&self) -> WriteMode {
        self.write.unwrap_or(match (self.kind, self.model()) {
            (StrategyKind::Full, _) => WriteMode::Overwrite,
            // Partitions are what an interval run and a day of totals own.
            (StrategyKind::Interval, _) | (_, TargetModel::DailyTotals) => {
                WriteMode::PartitionOverwrite
            }
            _ => WriteMode::Upsert,
        })
    }

    pub fn boundary(&self) -> Boundary {
        self.boundary.unwrap_or_default()
    }

    pub fn boundary_dedupe(&self) -> BoundaryDedupe {
        self.boundary_dedupe.unwrap_or_default()
    }

    pub fn lag(&self) -> Micros {
        self.lag.unwrap_or(Micros::ZERO)
    }

    pub fn lookback(&self) -> u32 {
        self.lookback.unwrap_or(0)
    }

    pub fn file_identity(&self) -> FileIdentity {
        self.file_identity.unwrap_or_default()
    }

    pub fn model(&self) -> TargetModel {
        self.model.unwrap_or_default()
    }

    pub fn state_store(&self) -> StateStoreKind {
        self.state_store.unwrap_or_default()
    }

    pub fn commit_order(&self) -> CommitOrder {
        self.commit_order.unwrap_or_default()
    }

    /// The label reports use: the given one, or one built from the kind and its knobs.
    pub fn label(&self) -> String {
        if let Some(label) = &self.label {
            return label.clone();
        }
        let mut label = self.kind.name().to_string();
        if self.kind == StrategyKind::UpdatedAt {
            label.push_str(self.boundary().symbol());
            if self.lag() != Micros::ZERO {
                label.push_str(&format!("lag{}", self.lag()));
            }
            if self.boundary_dedupe() != BoundaryDedupe::None {
                label.push_str(&format!("+dedupe_{}", self.boundary_dedupe().name()));
            }
        }
        if self.lookback() > 0 {
            label.push_str(&format!("+lookback{}", self.lookback()));
        }
        if self.file_identity() != FileIdentity::default() {
            label.push_str(&format!("+{}", self.file_identity().name()));
        }
        if self.model() != TargetModel::default() {
            label.push_str(&format!("+{}", self.model().name()));
        }
        if let Some(k) = self.reconcile_every {
            label.push_str(&format!("+reconcile{k}"));
        }
        if self.state_store() != StateStoreKind::default() {
            label.push_str(&format!("+{}", self.state_store().name()));
        }
        if self.commit_order() != CommitOrder::default() {
            label.push_str(&format!("+state_{}", self.commit_order().name()));
        }
        if let Some(k) = self.offset_flush_every {
            label.push_str(&format!("+flush{k}"));
        }
        let default_write = StrategySpec {
            write: None,
            ..self.clone()
        }
        .write_mode();
        if self.write_mode() != default_write {
            label.push('+');
            label.push_str(self.write_mode().name());
        }
        label
    }
}
