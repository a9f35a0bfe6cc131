//! The landing directory `file_listing` reads: the source's changes exported as Parquet files,
//! run by run, the way an upstream system drops extracts into object storage.
//!
//! What lands, per run, for the changes committed since the previous landing:
//! - inserts go into new files of at most `rows_per_file` rows;
//! - each updated key (soft deletes included) either lands in a new file carrying its new
//!   version, or — with probability `rewrite_fraction`, drawn from the landing sub-seed — makes
//!   the file that holds the key be rewritten in place: same path, every row of the file
//!   re-exported at its current version;
//! - hard deletes land nowhere (an extract has no tombstones); a rewritten file just no longer
//!   holds the deleted key.
//!
//! Every file carries its rows at the version current at landing, so reading any file never
//! moves a key backwards. A file's modification stamp is the simulated landing time, so the
//! listing (and with it a run) is reproducible from the seed.
//!
//! Invariant: knows the history and the filesystem, nothing of engines or strategies.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use polars::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, PolarsContext, Result};
use crate::row::{ColumnType, SOURCE_ROW};
use crate::scenario::Landing as LandingSpec;
use crate::sim::{rng_for, Concern};
use crate::sim::{History, Op};

/// One file as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub name: String,
    pub size_bytes: u64,
    /// Modification stamp, microseconds since the epoch (the simulated landing time).
    pub mtime_us: i64,
}

/// A file the landing has written: its name and the keys it holds.
struct LandedFile {
    name: String,
    ids: Vec<i64>,
}

pub struct Landing {
    dir: PathBuf,
    rows_per_file: usize,
    rewrite_fraction: f64,
    rng: ChaCha8Rng,
    files: Vec<LandedFile>,
    /// Per key, the index of the file holding its latest landed version (`u32::MAX`: none).
    file_of: Vec<u32>,
    /// Per key, the lsn of its current version (0: deleted or not yet inserted).
    current_lsn: Vec<i64>,
    /// How much of the history has landed (an index into its lsn order).
    landed_up_to: usize,
}

const NO_FILE: u32 = u32::MAX;

impl Landing {
    /// An empty landing directory at `dir` (created).
    pub fn new(dir: &Path, spec: &LandingSpec, history: &History, seed: u64) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create the landing directory", dir, e))?;
        let keys = history.max_id as usize + 1;
        Ok(Landing {
            dir: dir.to_path_buf(),
            rows_per_file: spec.rows_per_file.max(1) as usize,
            rewrite_fraction: spec.rewrite_fraction,
            rng: rng_for(seed, Concern::Landing),
            files: Vec::new(),
            file_of: vec![NO_FILE; keys],
            current_lsn: vec![0; keys],
            landed_up_to: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files landed so far.
    pub fn files_landed(&self) -> usize {
        self.files.len()
    }

    /// Lands every change of `range` (committed up to `time_us`) that has not landed yet.
    pub fn land(&mut self, history: &History, range: Range<usize>, time_us: i64) -> Result<()> {
        let range = self.landed_up_to.max(range.start)..range.end;
        if range.is_empty() {
            return Ok(());
        }
        self.landed_up_to = range.end;
        let mut inserted = Vec::new();
        let mut updated = Vec::new();
        for i in range {
            let id = history.id[i];
            let slot = id as usize;
            match history.op[i] {
                Op::Insert => {
                    self.current_lsn[slot] = history.lsn(i);
                    inserted.push(id);
                }
                Op::Update => {
                    self.current_lsn[slot] = history.lsn(i);
                    updated.push(id);
                }
                Op::Delete => self.current_lsn[slot] = 0,
            }
        }
        // A key inserted this run lands once, in an insert file, at its current version.
        let first_new_file = self.files.len() as u32;
        let mut fresh = std::collections::BTreeSet::new();
        for chunk in inserted.chunks(self.rows_per_file) {
            let ids: Vec<i64> = chunk
                .iter()
                .copied()
                .filter(|&id| self.current_lsn[id as usize] != 0)
                .collect();
            fresh.extend(ids.iter().copied());
            self.add_file(ids);
        }
        let mut new_versions = Vec::new();
        let mut rewrite = std::collections::BTreeSet::new();
        let mut seen = std::collections::BTreeSet::new();
        for id in updated {
            if fresh.contains(&id) || !seen.insert(id) || self.current_lsn[id as usize] == 0 {
                continue;
            }
            let holder = self.file_of[id as usize];
            let in_place = self.rng.random_bool(self.rewrite_fraction);
            if in_place && holder != NO_FILE && holder < first_new_file {
                rewrite.insert(holder);
            } else {
                new_versions.push(id);
            }
        }
        for chunk in new_versions.chunks(self.rows_per_file) {
            self.add_file(chunk.to_vec());
        }
        for index in first_new_file..self.files.len() as u32 {
            self.write_file(history, index, time_us)?;
        }
        for index in rewrite {
            self.write_file(history, index, time_us)?;
        }
        Ok(())
    }

    fn add_file(&mut self, ids: Vec<i64>) {
        if ids.is_empty() {
            return;
        }
        let index = self.files.len() as u32;
        for &id in &ids {
            self.file_of[id as usize] = index;
        }
        self.files.push(LandedFile {
            name: format!("part-{:08}.parquet", index + 1),
            ids,
        });
    }

    /// Writes file `index` with every key it holds at its current version (deleted keys
    /// dropped), replacing the file atomically, and stamps it with `time_us`.
    fn write_file(&mut self, history: &History, index: u32, time_us: i64) -> Result<()> {
        let file = &mut self.files[index as usize];
        file.ids.retain(|&id| self.current_lsn[id as usize] != 0);
        let rows: Vec<usize> = file
            .ids
            .iter()
            .map(|&id| self.current_lsn[id as usize] as usize - 1)
            .collect();
        // A landed file holds source rows: the columns of the one row schema.
        let columns = SOURCE_ROW
            .iter()
            .map(|&c| {
                let name = c.name().into();
                match c.column_type() {
                    ColumnType::Int64 => Column::new(
                        name,
                        rows.iter().map(|&r| c.of(history, r)).collect::<Vec<i64>>(),
                    ),
                    ColumnType::Int32 => Column::new(
                        name,
                        rows.iter()
                            .map(|&r| c.of(history, r) as i32)
                            .collect::<Vec<i32>>(),
                    ),
                    ColumnType::Bool => Column::new(
                        name,
                        rows.iter()
                            .map(|&r| c.of(history, r) != 0)
                            .collect::<Vec<bool>>(),
                    ),
                }
            })
            .collect();
        let mut frame = DataFrame::new(rows.len(), columns)
            .context(|| format!("building landed file {}", file.name))?;
        let path = self.dir.join(&file.name);
        // Atomic (a listing never sees half a file) but not fsynced: the landing directory is
        // the simulation's scratch, not a result, and 10,000 fsyncs would dominate the run.
        let mut tmp = tempfile::Builder::new()
            .prefix(".landing-")
            .tempfile_in(&self.dir)
            .map_err(|e| Error::io("cannot create a landing file", &self.dir, e))?;
        ParquetWriter::new(tmp.as_file_mut())
            .finish(&mut frame)
            .context(|| format!("writing landed file {}", path.display()))?;
        let stamp = UNIX_EPOCH + Duration::from_micros(time_us.max(0) as u64);
        tmp.as_file()
            .set_modified(stamp)
            .map_err(|e| Error::io("cannot stamp landed file", &path, e))?;
        tmp.persist(&path)
            .map_err(|e| Error::io("cannot land file", &path, e.error))?;
        Ok(())
    }
}

/// Lists the landing directory as a pipeline would: every Parquet file with its size and
/// modification stamp, in name order (files being written are hidden behind a dot).
pub fn list(dir: &Path) -> Result<Vec<ListedFile>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot list the landing directory", dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot list the landing directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".parquet") {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("cannot stat a landed file", entry.path(), e))?;
        let mtime_us = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_micros() as i64);
        out.push(ListedFile {
            name,
            size_bytes: meta.len(),
            mtime_us,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
