//! Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one.
//!
//! The bytes go to a temporary file in the destination's own directory (a rename is only atomic
//! within one filesystem), are fsynced, and the temporary file is renamed over the destination.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically, creating the parent directory if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], for writers that stream into the file (Parquet, CSV).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".incrlab-").suffix(".tmp");
    // A temporary file is private (0600) by default; results and reports are meant to be
    // read by others, like any file the user writes (the umask still applies).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot create temporary file", dir, e))?;
    fill(tmp.as_file_mut()).map_err(|e| Error::io("cannot write", path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot fsync", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("cannot rename into place", path, e.error))?;
    Ok(())
}
