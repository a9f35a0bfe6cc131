//! Writing polars frames to files (Parquet, CSV), atomically like every file incrlab writes.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::fs_atomic::write_atomic_with;

pub fn write_parquet(frame: &mut DataFrame, path: &Path) -> Result<()> {
    write_atomic_with(path, |file| {
        ParquetWriter::new(file)
            .finish(frame)
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

pub fn write_csv(frame: &mut DataFrame, path: &Path) -> Result<()> {
    write_atomic_with(path, |file| {
        CsvWriter::new(file)
            .finish(frame)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}
