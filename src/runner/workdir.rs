//! A run's working directory in the system temp dir, named after the process that owns it
//! (`incrlab-run-<pid>-…`), so a run killed with SIGKILL — which cannot clean up after itself —
//! leaves litter that the next run recognises and removes: a directory whose owner process is
//! gone.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const PREFIX: &str = "incrlab-run-";

/// Creates this run's working directory (removed when the returned guard drops), after
/// removing the ones whose owner process no longer exists.
pub(super) fn create() -> Result<tempfile::TempDir> {
    let temp = std::env::temp_dir();
    remove_orphans(&temp);
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| Error::io("cannot create a working directory", temp, e))
}

/// Removes `dir`'s `incrlab-run-<pid>-…` directories whose process `pid` is not running.
/// Best effort: a directory it cannot read or remove is left for a later run.
pub fn remove_orphans(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        let orphan = pid != std::process::id() && !is_running(pid) && entry.path().is_dir();
        if orphan && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

/// The owner's pid in a working directory's name, if the name is one.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, _random) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether a process with this pid exists (Linux: its `/proc` entry). Where `/proc` is not
/// mounted, every owner counts as running and nothing is removed.
fn is_running(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    !proc_dir.join("self").exists() || proc_dir.join(pid.to_string()).exists()
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

    #[test]
    fn only_names_of_working_directories_carry_an_owner() {
        assert_eq!(owner_pid("incrlab-run-4242-Xyz"), Some(4242));
        assert_eq!(owner_pid("incrlab-run-Xyz"), None);
        assert_eq!(owner_pid("other-4242-x"), None);
    }
}
