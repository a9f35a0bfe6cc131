//! A deliberately broken engine, for tests only: DuckDB whose upsert forgets one column when it
//! updates a matched key. The oracle must notice (`runner`'s broken-write test); remove the
//! wrapper and the same run is exact.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::DuckDbEngine;
use crate::engine::{
    ChunkStats, Engine, MirrorPrint, ReadRequest, ReadStats, Source, TargetContents, TargetId,
    Targets, WriteStats,
};
use crate::error::Result;
use crate::row::{Column, MIRROR_ROW};
use crate::scenario::{TargetModel, WriteMode};
use crate::sim::History;

pub(crate) struct DropsColumnOnUpsert {
    pub(crate) inner: DuckDbEngine,
    pub(crate) dropped: Column,
}

impl DropsColumnOnUpsert {
    fn set_columns(&self) -> Vec<Column> {
        MIRROR_ROW[1..]
            .iter()
            .copied()
            .filter(|&c| c != self.dropped)
            .collect()
    }
}

impl Engine for DropsColumnOnUpsert {
    fn name(&self) -> &'static str {
        "duckdb (broken upsert)"
    }
}

impl Source for DropsColumnOnUpsert {
    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        self.inner.apply_changes(history, range)
    }

    fn bare_copy_time(&mut self) -> Result<Duration> {
        self.inner.bare_copy_time()
    }

    fn generated_tables_time(&mut self, rows: u64) -> Result<Option<Duration>> {
        self.inner.generated_tables_time(rows)
    }
}

impl Targets for DropsColumnOnUpsert {
    fn create_target(&mut self, target: TargetId, model: TargetModel) -> Result<()> {
        self.inner.create_target(target, model)
    }

    fn set_landing_dir(&mut self, dir: &Path) {
        self.inner.set_landing_dir(dir)
    }

    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats> {
        self.inner.read(target, request)
    }

    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats> {
        if mode != WriteMode::Upsert {
            return self.inner.write(target, mode);
        }
        let set = self.set_columns();
        self.inner.write_with_upsert_columns(target, mode, &set)
    }

    fn stage_chunks(&mut self, target: TargetId, chunks: u32) -> Result<Vec<ChunkStats>> {
        self.inner.stage_chunks(target, chunks)
    }

    fn write_chunk(&mut self, target: TargetId, mode: WriteMode, chunk: u32) -> Result<WriteStats> {
        self.inner.write_chunk(target, mode, chunk)
    }

    fn begin(&mut self, target: TargetId) -> Result<()> {
        self.inner.begin(target)
    }

    fn commit(&mut self, target: TargetId) -> Result<()> {
        self.inner.commit(target)
    }

    fn save_state(&mut self, target: TargetId, state: &str) -> Result<()> {
        self.inner.save_state(target, state)
    }

    fn load_state(&mut self, target: TargetId) -> Result<Option<String>> {
        self.inner.load_state(target)
    }

    fn crash_and_reopen(&mut self, target: TargetId) -> Result<()> {
        self.inner.crash_and_reopen(target)
    }

    fn batch_rows_at(&mut self, target: TargetId, updated_at_us: i64) -> Result<Vec<[i64; 2]>> {
        self.inner.batch_rows_at(target, updated_at_us)
    }

    fn target_contents(&mut self, target: TargetId) -> Result<TargetContents> {
        self.inner.target_contents(target)
    }

    fn mirror_print(&mut self, target: TargetId) -> Result<Option<MirrorPrint>> {
        self.inner.mirror_print(target)
    }

    fn sql_time(&self) -> Duration {
        self.inner.sql_time()
    }

    fn cpu_time(&self) -> Duration {
        self.inner.cpu_time()
    }
}
