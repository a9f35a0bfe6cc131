//! A run's working directory in the system temp dir, named after the process that owns it
//! (`incrlab-run-<pid>-…`), so a run killed with SIGKILL — which cannot clean up after itself —
//! leaves litter that the next run recognises and removes: a directory whose owner process is
//! gone.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::owned_dir;

const PREFIX: &str = "incrlab-run-";

/// Creates this run's working directory (removed when the returned guard drops), after
/// removing the ones whose owner process no longer exists.
pub(super) fn create() -> Result<tempfile::TempDir> {
    remove_orphans(&std::env::temp_dir());
    owned_dir::create(PREFIX, "a working directory")
}

/// Removes `dir`'s `incrlab-run-<pid>-…` directories whose process `pid` is not running.
/// Best effort: a directory it cannot read or remove is left for a later run.
pub fn remove_orphans(dir: &Path) -> Vec<PathBuf> {
    owned_dir::remove_orphans(dir, PREFIX, |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_whose_owner_is_gone_is_removed_and_a_live_ones_is_kept() {
        let temp = tempfile::tempdir().unwrap();
        // A child that has exited and been reaped: its pid names no process now.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let orphan = temp.path().join(format!("{PREFIX}{dead}-abc123"));
        let live = temp
            .path()
            .join(format!("{PREFIX}{}-def456", std::process::id()));
        let unrelated = temp.path().join("incrlab-runner-notes");
        for dir in [&orphan, &live, &unrelated] {
            std::fs::create_dir_all(dir.join("sub")).unwrap();
        }
        let removed = remove_orphans(temp.path());
        assert_eq!(removed, vec![orphan.clone()]);
        assert!(!orphan.exists());
        assert!(live.exists() && unrelated.exists());
    }
}
