//! A polars target: its committed frame and state, the open transaction's copy, the staged
//! batch and chunks, and where the committed table lives on disk.

use polars::prelude::*;

use super::frames::{empty_mirror, empty_totals};
use super::persist::TargetFiles;
use crate::engine::ReadSpec;
use crate::error::Result;
use crate::scenario::TargetModel;

/// What a target holds: its frame and the strategy state stored with it.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub frame: DataFrame,
    pub state: Option<String>,
}

/// A target's staged batch.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    /// The read ran; its rows are here.
    Batch { spec: ReadSpec, rows: DataFrame },
    /// Full reprocessing: the write reads the whole source itself.
    Fused { spec: ReadSpec },
}

pub(super) struct Target {
    pub model: TargetModel,
    pub committed: Table,
    /// The open transaction's copy (opened by `begin`): writes and state land here until
    /// `commit`.
    pub open: Option<Table>,
    pub pending: Option<Pending>,
    pub chunks: Vec<DataFrame>,
    /// Where the committed table lives on disk (`[faults]`).
    pub files: Option<TargetFiles>,
}

impl Target {
    pub fn current(&self) -> &Table {
        self.open.as_ref().unwrap_or(&self.committed)
    }

    pub fn empty_frame(&self) -> DataFrame {
        match self.model {
            TargetModel::Mirror => empty_mirror(),
            TargetModel::DailyTotals => empty_totals(),
        }
    }

    /// Replaces what the target holds: in the open transaction, or committed at once (and
    /// made durable when the target lives on disk).
    pub fn store(&mut self, table: Table) -> Result<()> {
        match &mut self.open {
            Some(open) => *open = table,
            None => {
                self.committed = table;
                self.persist()?;
            }
        }
        Ok(())
    }

    pub fn persist(&mut self) -> Result<()> {
        if let Some(files) = &mut self.files {
            files.commit(&mut self.committed.frame, self.committed.state.as_deref())?;
        }
        Ok(())
    }
}
