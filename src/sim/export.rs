//! The history as a polars DataFrame and as a Parquet file, so other tools can read it.

use std::path::Path;

use polars::prelude::*;

use super::history::History;
use crate::error::{PolarsContext, Result};
use crate::frame_files::write_parquet;

/// The history as a DataFrame, one row per committed change, in lsn order.
pub fn history_frame(h: &History) -> Result<DataFrame> {
    let op: Vec<&str> = h.op.iter().map(|o| o.as_str()).collect();
    let all = 0..h.len();
    let writer: Vec<u32> = h.writer.clone();
    DataFrame::new(
        h.len(),
        vec![
            Column::new("lsn".into(), h.lsns(all.clone()).collect::<Vec<i64>>()),
            Column::new("op".into(), op),
            Column::new("id".into(), &h.id),
            Column::new("xid".into(), h.xid.to_vec(all.clone())),
            Column::new("begin_us".into(), h.begin_us.to_vec(all.clone())),
            Column::new("statement_us".into(), h.statement_us.to_vec(all.clone())),
            Column::new("commit_us".into(), h.commit_us.to_vec(all.clone())),
            Column::new("writer".into(), writer),
            Column::new("clock_offset_us".into(), &h.clock_offset_us),
            Column::new("updated_at_us".into(), &h.updated_at_us),
            Column::new("event_time_us".into(), h.event_time_us.to_vec(all.clone())),
            Column::new("value".into(), &h.value),
            Column::new("is_deleted".into(), h.is_deleted.to_vec(all)),
        ],
    )
    .context(|| "building the history frame".to_string())
}

/// Writes the history to a Parquet file atomically.
pub fn write_history_parquet(h: &History, path: &Path) -> Result<()> {
    write_parquet(&mut history_frame(h)?, path)
}
