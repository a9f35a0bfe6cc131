//! Directories in the system temp dir named after the process that owns them
//! (`<prefix><pid>-…`), so an owner killed with SIGKILL — which cannot clean up after itself —
//! leaves litter that a later process recognises and removes: a directory whose owner process
//! is gone. A run's working directory (`incrlab-run-`) and a throwaway PostgreSQL cluster
//! (`incrlab-pg-`) are both such directories.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Creates a directory `<prefix><this pid>-…` in the system temp dir, removed when the
/// returned guard drops; `what` names it in an error.
pub fn create(prefix: &str, what: &str) -> Result<tempfile::TempDir> {
    let temp = std::env::temp_dir();
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(&temp)
        .map_err(|e| Error::io(format!("cannot create {what}"), temp, e))
}

/// Removes `dir`'s `<prefix><pid>-…` directories whose process `pid` is not running, calling
/// `before_removing` on each first (to stop what may still run in it). Best effort: a
/// directory it cannot read or remove is left for a later run. Returns what it removed.
pub fn remove_orphans(
    dir: &Path,
    prefix: &str,
    mut before_removing: impl FnMut(&Path),
) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = owner_pid(&name, prefix) else {
            continue;
        };
        if owner == std::process::id() || is_running(owner) || !entry.path().is_dir() {
            continue;
        }
        before_removing(&entry.path());
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

/// The owner's pid in a directory's name, if the name is one of `prefix`'s.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, _random) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether a process with this pid runs (Linux: its `/proc` entry, not a zombie waiting to be
/// reaped). Where `/proc` is not mounted, every process counts as running and nothing is
/// removed.
pub fn is_running(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return true;
    }
    match std::fs::read_to_string(proc_dir.join(pid.to_string()).join("stat")) {
        // The state follows the command name in parentheses, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_the_prefix_and_a_pid_carry_an_owner() {
        assert_eq!(
            owner_pid("incrlab-run-4242-Xyz", "incrlab-run-"),
            Some(4242)
        );
        assert_eq!(owner_pid("incrlab-pg-4242-Xyz", "incrlab-run-"), None);
        assert_eq!(owner_pid("incrlab-run-Xyz", "incrlab-run-"), None);
        assert_eq!(owner_pid("other-4242-x", "incrlab-run-"), None);
    }

    #[test]
    fn a_reaped_process_is_not_running_and_this_one_is() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_running(pid));
        assert!(is_running(std::process::id()));
    }

    #[test]
    fn a_zombie_is_not_running() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped: once it exits it stays a zombie until `child` is waited for.
        let started = std::time::Instant::now();
        while is_running(pid) {
            assert!(started.elapsed().as_secs() < 10, "{pid} never exited");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "a zombie keeps its entry"
        );
        drop(child);
    }

    #[test]
    fn only_orphans_are_handed_to_the_hook_and_removed() {
        let temp = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let orphan = temp.path().join(format!("p-{dead}-abc"));
        let live = temp.path().join(format!("p-{}-def", std::process::id()));
        let other = temp.path().join(format!("q-{dead}-ghi"));
        for dir in [&orphan, &live, &other] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut hooked = Vec::new();
        let removed = remove_orphans(temp.path(), "p-", |d| hooked.push(d.to_path_buf()));
        assert_eq!(hooked, vec![orphan.clone()]);
        assert_eq!(removed, vec![orphan.clone()]);
        assert!(!orphan.exists() && live.exists() && other.exists());
    }
}
