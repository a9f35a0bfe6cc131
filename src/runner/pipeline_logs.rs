//! Pipeline logs are written into the run's working directory while it runs and published to
//! the output directory's `pipelines/` only at the end, replacing the previous run's whole: an
//! interrupted run leaves the previous logs (and report) as they were.

use std::path::Path;

use crate::error::{Error, Result};

/// The folder logs are published to, inside the output directory.
pub const PIPELINES_DIR: &str = "pipelines";

/// Replaces `out/pipelines/` with the logs under `logs/pipelines/`.
pub(super) fn publish(logs: &Path, out: &Path) -> Result<()> {
    let from = logs.join(PIPELINES_DIR);
    if !from.is_dir() {
        return Ok(());
    }
    let staged = out.join(format!(".{PIPELINES_DIR}-{}.tmp", std::process::id()));
    let target = out.join(PIPELINES_DIR);
    std::fs::create_dir_all(out).map_err(|e| Error::io("cannot create", out, e))?;
    let _ = std::fs::remove_dir_all(&staged);
    copy_tree(&from, &staged)?;
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .map_err(|e| Error::io("cannot replace the previous logs", &target, e))?;
    }
    std::fs::rename(&staged, &target).map_err(|e| Error::io("cannot publish logs", &target, e))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("cannot create", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| Error::io("cannot read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", from, e))?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).map_err(|e| Error::io("cannot copy a log", &path, e))?;
        }
    }
    Ok(())
}
