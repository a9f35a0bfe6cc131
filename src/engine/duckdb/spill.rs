//! Where DuckDB's tables go when they outgrow their share of memory.
//!
//! DuckDB's default `memory_limit` is 80% of the machine's memory, for DuckDB alone. Beside
//! incrlab's own arrays (the history, the oracle) a large scenario then grows until the kernel
//! kills the process. With a limit and a temp directory, DuckDB's buffer manager writes blocks
//! to the directory instead — the blocks of in-memory tables included (measured: two 30M-row
//! tables peak at 4.4 GB resident without a limit, at 1.1 GB with a 1 GB one, 2.5 GB written
//! to the directory, and no slower). The directory is named after this process, so one left by
//! a process killed with SIGKILL is removed by the next engine that opens.

use crate::error::Result;
use crate::owned_dir;

/// Name prefix of the spill directories in the system temp dir.
pub(super) const PREFIX: &str = "incrlab-duckdb-";

/// DuckDB's share when the memory available is unknown (not Linux).
const DEFAULT_LIMIT_BYTES: u64 = 2 << 30;
/// Never less: DuckDB needs room for a query's working set (hash tables, sort runs) on top of
/// the blocks it is reading.
const MIN_LIMIT_BYTES: u64 = 512 << 20;
/// Never more: past this, a table's blocks spill. Measured on bench_1m, whose tables (source,
/// change log, four targets) take about 0.5 GB, nothing spills; a 100M-row scenario keeps 3 GB
/// of DuckDB in memory and the rest on disk, so incrlab's arrays get the remainder.
const MAX_LIMIT_BYTES: u64 = 3 << 30;

/// Overrides DuckDB's share (a size, `1GiB`, `800MB`): for a machine shared with other work,
/// or to see how a scenario runs when DuckDB spills more.
pub(crate) const LIMIT_ENV: &str = "INCRLAB_DUCKDB_MEMORY_LIMIT";

/// DuckDB's memory limit given the memory available to the process and
/// `INCRLAB_DUCKDB_MEMORY_LIMIT`: the variable's size when set (at least 512 MiB), else a
/// quarter of what is available, within [512 MiB, 3 GiB]. A variable that is not a size is
/// ignored, with a warning.
pub(crate) fn memory_limit_bytes(available_bytes: Option<u64>) -> u64 {
    let set = std::env::var(LIMIT_ENV).ok().and_then(|text| {
        let parsed = size_of(&text);
        if parsed.is_none() {
            tracing::warn!("{LIMIT_ENV}={text:?} is not a size; DuckDB gets its default share");
        }
        parsed
    });
    limit_for(available_bytes, set)
}

/// The bytes `INCRLAB_DUCKDB_MEMORY_LIMIT`'s text names, if it is a size.
fn size_of(text: &str) -> Option<u64> {
    text.parse::<bytesize::ByteSize>().ok().map(|b| b.as_u64())
}

fn limit_for(available_bytes: Option<u64>, set_bytes: Option<u64>) -> u64 {
    match set_bytes {
        Some(bytes) => bytes.max(MIN_LIMIT_BYTES),
        None => available_bytes
            .map_or(DEFAULT_LIMIT_BYTES, |a| a / 4)
            .clamp(MIN_LIMIT_BYTES, MAX_LIMIT_BYTES),
    }
}

/// A spill directory of this process, removed when dropped (after the connection that wrote
/// into it is closed: the engine declares it last).
pub(super) struct SpillDir {
    dir: tempfile::TempDir,
    limit_bytes: u64,
}

impl SpillDir {
    /// Creates the directory (removing those of dead processes first) and picks the limit.
    pub(super) fn create() -> Result<SpillDir> {
        owned_dir::remove_orphans(&std::env::temp_dir(), PREFIX, |_| {});
        let dir = owned_dir::create(PREFIX, "DuckDB's spill directory")?;
        Ok(SpillDir {
            dir,
            limit_bytes: crate::engine::duckdb_memory_limit_bytes(),
        })
    }

    /// The settings that point DuckDB at the directory and the limit.
    pub(super) fn settings_sql(&self) -> String {
        format!(
            "SET temp_directory = '{}'; SET memory_limit = '{}B';",
            self.dir.path().display().to_string().replace('\'', "''"),
            self.limit_bytes
        )
    }

    #[cfg(test)]
    pub(super) fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// DuckDB's memory limit, in bytes.
    pub(super) fn limit_bytes(&self) -> u64 {
        self.limit_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::duckdb::DuckDbEngine;

    fn setting(engine: &DuckDbEngine, name: &str) -> String {
        engine
            .conn
            .query_row(&format!("SELECT current_setting('{name}')"), [], |r| {
                r.get(0)
            })
            .unwrap()
    }

    #[test]
    fn an_engine_spills_into_its_own_directory_and_removes_it_when_dropped() {
        let engine = DuckDbEngine::open_in_memory().unwrap();
        let dir = engine.spill.path().to_path_buf();
        assert_eq!(
            setting(&engine, "temp_directory"),
            dir.display().to_string()
        );
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&format!("{PREFIX}{}-", std::process::id())));
        // A table four times the limit: its blocks must go to the directory.
        engine
            .conn
            .execute_batch(
                "SET memory_limit = '64MB';
                 CREATE TABLE big AS SELECT i AS a, i * 3 AS b FROM range(16000000) t(i);",
            )
            .unwrap();
        let spilled: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(spilled > 64 << 20, "only {spilled} bytes spilled");
        drop(engine);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }

    #[test]
    fn an_engine_removes_the_spill_directory_of_a_process_that_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let orphan = std::env::temp_dir().join(format!("{PREFIX}{dead}-orphan-test"));
        std::fs::create_dir_all(&orphan).unwrap();
        std::fs::write(
            orphan.join("duckdb_temp_block-1.block"),
            b"left by a SIGKILL",
        )
        .unwrap();
        let _engine = DuckDbEngine::open_in_memory().unwrap();
        assert!(!orphan.exists(), "{} left behind", orphan.display());
    }

    #[test]
    fn the_limit_is_set_on_the_connection() {
        let engine = DuckDbEngine::open_in_memory().unwrap();
        let limit = engine.spill.limit_bytes();
        assert!((MIN_LIMIT_BYTES..=MAX_LIMIT_BYTES).contains(&limit));
        // DuckDB prints the limit in its own units (GiB or MiB, two decimals).
        let shown = setting(&engine, "memory_limit");
        let (number, unit) = shown.split_once(' ').unwrap();
        let scale = match unit {
            "GiB" => (1u64 << 30) as f64,
            "MiB" => (1u64 << 20) as f64,
            other => panic!("unit {other}"),
        };
        let read = number.parse::<f64>().unwrap() * scale;
        assert!(
            (read - limit as f64).abs() < 0.01 * limit as f64,
            "{shown} vs {limit}"
        );
    }

    #[test]
    fn duckdb_gets_a_quarter_of_the_memory_within_its_bounds() {
        assert_eq!(limit_for(Some(8 << 30), None), 2 << 30);
        assert_eq!(limit_for(Some(24 << 30), None), MAX_LIMIT_BYTES);
        assert_eq!(limit_for(Some(1 << 30), None), MIN_LIMIT_BYTES);
        assert_eq!(limit_for(None, None), DEFAULT_LIMIT_BYTES);
    }

    #[test]
    fn a_limit_set_by_the_user_wins_above_the_floor() {
        assert_eq!(limit_for(Some(24 << 30), Some(6 << 30)), 6 << 30);
        assert_eq!(limit_for(Some(24 << 30), Some(1 << 20)), MIN_LIMIT_BYTES);
        assert_eq!(size_of("1GiB"), Some(1 << 30));
        assert_eq!(size_of("800MB"), Some(800_000_000));
        assert_eq!(size_of("lots"), None);
    }
}
