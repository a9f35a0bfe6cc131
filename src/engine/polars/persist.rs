//! A polars target's committed contents on disk (under `[faults]`), so a crash can drop the
//! process's memory and reopen the target as a restarted process would.
//!
//! A commit is one version: the frame goes to a new Parquet file (`t1.v7.parquet`, written
//! atomically), then the pointer file (`t1.current`: the version and the strategy state, as
//! JSON) is replaced atomically. The pointer's rename is the commit: a crash before it leaves
//! the previous version and its state, after it the new ones, so data and a `target_table`
//! state commit together or not at all.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::PolarsEngineContext;
use crate::engine::TargetId;
use crate::error::{Error, Result};
use crate::frame_files::write_parquet;
use crate::fs_atomic::write_atomic;

/// What the pointer file says.
#[derive(Debug, Serialize, Deserialize)]
struct Pointer {
    version: u64,
    state: Option<String>,
}

/// One target's files in the engine's target directory.
#[derive(Debug)]
pub(super) struct TargetFiles {
    dir: PathBuf,
    name: String,
    /// The last committed version (0: nothing committed yet).
    version: u64,
}

impl TargetFiles {
    pub fn new(dir: &Path, target: TargetId) -> Self {
        TargetFiles {
            dir: dir.to_path_buf(),
            name: format!("t{}", target.0),
            version: 0,
        }
    }

    fn data_file(&self, version: u64) -> PathBuf {
        self.dir.join(format!("{}.v{version}.parquet", self.name))
    }

    fn pointer_file(&self) -> PathBuf {
        self.dir.join(format!("{}.current", self.name))
    }

    /// Commits `frame` and `state` as the next version.
    pub fn commit(&mut self, frame: &mut DataFrame, state: Option<&str>) -> Result<()> {
        let next = self.version + 1;
        write_parquet(frame, &self.data_file(next))?;
        let pointer = Pointer {
            version: next,
            state: state.map(str::to_string),
        };
        let bytes = serde_json::to_vec(&pointer).expect("a pointer serializes");
        write_atomic(&self.pointer_file(), &bytes)?;
        // The previous version is unreachable now; removing it only saves disk.
        if self.version > 0 {
            let _ = std::fs::remove_file(self.data_file(self.version));
        }
        self.version = next;
        Ok(())
    }

    /// What the last commit left on disk (frame and state), `None` when nothing was committed.
    pub fn reopen(&mut self) -> Result<Option<(DataFrame, Option<String>)>> {
        let path = self.pointer_file();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read a target's commit pointer", &path, e)),
        };
        let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Invariant(format!(
                "the commit pointer {} is not what incrlab wrote: {e}",
                path.display()
            ))
        })?;
        let data = self.data_file(pointer.version);
        let file = File::open(&data).map_err(|e| Error::io("cannot open a target", &data, e))?;
        let frame = ParquetReader::new(file)
            .finish()
            .during(|| format!("reopening {}", data.display()))?;
        self.version = pointer.version;
        Ok(Some((frame, pointer.state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ids: &[i64]) -> DataFrame {
        DataFrame::new(ids.len(), vec![Column::new("id".into(), ids)]).unwrap()
    }

    #[test]
    fn a_reopened_target_holds_the_last_commit_and_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = TargetFiles::new(dir.path(), TargetId(3));
        assert!(files.reopen().unwrap().is_none(), "nothing committed yet");
        files.commit(&mut frame(&[1, 2]), Some("first")).unwrap();
        files
            .commit(&mut frame(&[1, 2, 3]), Some("second"))
            .unwrap();

        let mut reopened = TargetFiles::new(dir.path(), TargetId(3));
        let (held, state) = reopened.reopen().unwrap().unwrap();
        assert_eq!(held, frame(&[1, 2, 3]));
        assert_eq!(state.as_deref(), Some("second"));
        // Only the live version is kept.
        let parquet = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("parquet".as_ref()))
            .count();
        assert_eq!(parquet, 1);
    }

    #[test]
    fn a_data_file_without_its_pointer_is_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = TargetFiles::new(dir.path(), TargetId(1));
        files.commit(&mut frame(&[1]), None).unwrap();
        // A crash between the data file and the pointer: the next version's file exists.
        write_parquet(&mut frame(&[1, 2]), &files.data_file(2)).unwrap();
        let (held, state) = TargetFiles::new(dir.path(), TargetId(1))
            .reopen()
            .unwrap()
            .unwrap();
        assert_eq!(held, frame(&[1]));
        assert_eq!(state, None);
    }
}
