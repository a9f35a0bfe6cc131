//! Every run of every point as one table (`runs.csv`, `runs.parquet`), for analysis in polars,
//! pandas or DuckDB.

use std::path::Path;

use polars::prelude::*;

use super::{Measure, Point, PointRecommendation};
use crate::error::{PolarsContext, Result};
use crate::frame_files::{write_csv, write_parquet};
use crate::results::RunResults;

/// The runs table, one row per (point, strategy, run), in full-sweep point order.
#[derive(Debug, Default, Clone)]
pub struct RunsTable {
    frame: Option<DataFrame>,
    columns: Columns,
}

/// Rows pushed since the frame was last built.
#[derive(Debug, Default, Clone, PartialEq)]
struct Columns {
    point: Vec<u32>,
    rows: Vec<u64>,
    churn: Vec<f64>,
    seed: Vec<u64>,
    lag_us: Vec<Option<i64>>,
    /// The engine the point ran on (the scenario's, unless the sweep lists `engines`).
    engine: Vec<String>,
    label: Vec<String>,
    strategy: Vec<String>,
    write: Vec<String>,
    run: Vec<u32>,
    drain: Vec<bool>,
    rows_read: Vec<u64>,
    rows_scanned: Vec<u64>,
    bytes_scanned: Vec<u64>,
    rows_written: Vec<u64>,
    rows_inserted: Vec<u64>,
    rows_updated: Vec<u64>,
    rows_deleted: Vec<u64>,
    missing: Vec<u64>,
    stale: Vec<u64>,
    ghost: Vec<u64>,
    duplicate: Vec<u64>,
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
}

impl Columns {
    fn push(&mut self, position: u32, point: Point, results: &RunResults) {
        for s in &results.strategies {
            for r in &s.per_run {
                self.point.push(position);
                self.rows.push(point.rows);
                self.churn.push(point.churn);
                self.seed.push(point.seed);
                self.lag_us.push(point.lag_us);
                self.engine
                    .push(results.scenario_as_run.engine.kind.name().to_string());
                self.label.push(s.label.clone());
                self.strategy.push(s.strategy.clone());
                self.write.push(s.write.clone());
                self.run.push(r.run);
                self.drain.push(r.drain);
                self.rows_read.push(r.rows_read);
                self.rows_scanned.push(r.rows_scanned);
                self.bytes_scanned.push(r.bytes_scanned);
                self.rows_written.push(r.rows_written);
                self.rows_inserted.push(r.written.inserted);
                self.rows_updated.push(r.written.updated);
                self.rows_deleted.push(r.written.deleted);
                self.missing.push(r.divergence.missing);
                self.stale.push(r.divergence.stale);
                self.ghost.push(r.divergence.ghost);
                self.duplicate.push(r.divergence.duplicate);
                self.wall_ms.push(r.wall_ms);
                self.cpu_ms.push(r.cpu_ms);
            }
        }
    }

    fn frame(&self) -> Result<DataFrame> {
        DataFrame::new(
            self.run.len(),
            vec![
                Column::new("point".into(), &self.point),
                Column::new("rows".into(), &self.rows),
                Column::new("churn".into(), &self.churn),
                Column::new("seed".into(), &self.seed),
                Column::new("lag_us".into(), &self.lag_us),
                Column::new("engine".into(), &self.engine),
                Column::new("label".into(), &self.label),
                Column::new("strategy".into(), &self.strategy),
                Column::new("write".into(), &self.write),
                Column::new("run".into(), &self.run),
                Column::new("drain".into(), &self.drain),
                Column::new("rows_read".into(), &self.rows_read),
                Column::new("rows_scanned".into(), &self.rows_scanned),
                Column::new("bytes_scanned".into(), &self.bytes_scanned),
                Column::new("rows_written".into(), &self.rows_written),
                Column::new("rows_inserted".into(), &self.rows_inserted),
                Column::new("rows_updated".into(), &self.rows_updated),
                Column::new("rows_deleted".into(), &self.rows_deleted),
                Column::new("missing".into(), &self.missing),
                Column::new("stale".into(), &self.stale),
                Column::new("ghost".into(), &self.ghost),
                Column::new("duplicate".into(), &self.duplicate),
                Column::new("wall_ms".into(), &self.wall_ms),
                Column::new("cpu_ms".into(), &self.cpu_ms),
            ],
        )
        .context(|| "building the runs table".to_string())
    }
}

impl RunsTable {
    /// Adds every run of one point; `position` is the point's place in the full sweep.
    pub fn push(&mut self, position: u32, point: Point, results: &RunResults) {
        self.columns.push(position, point, results);
    }

    /// The table as a DataFrame.
    pub fn frame(&self) -> Result<DataFrame> {
        let pushed = self.columns.frame()?;
        match &self.frame {
            Some(stored) if pushed.height() == 0 => Ok(stored.clone()),
            Some(stored) => stored
                .vstack(&pushed)
                .context(|| "joining runs tables".to_string()),
            None => Ok(pushed),
        }
    }

    /// Reads `runs.parquet` from a sweep directory.
    pub fn read(dir: &Path) -> Result<RunsTable> {
        let path = dir.join("runs.parquet");
        let file = std::fs::File::open(&path)
            .map_err(|e| crate::error::Error::io("cannot read runs", &path, e))?;
        let frame = ParquetReader::new(file)
            .finish()
            .context(|| format!("reading {}", path.display()))?;
        Ok(RunsTable {
            frame: Some(frame),
            columns: Columns::default(),
        })
    }

    /// Appends another table's rows.
    pub fn append(&mut self, other: RunsTable) -> Result<()> {
        let joined = self
            .frame()?
            .vstack(&other.frame()?)
            .context(|| "joining runs tables".to_string())?;
        self.frame = Some(joined);
        self.columns = Columns::default();
        Ok(())
    }

    /// Orders rows by point position, keeping each point's own order (strategy, run).
    pub fn sort_by_point(&mut self) -> Result<()> {
        let sorted = self
            .frame()?
            .sort(
                ["point"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .context(|| "sorting the runs table".to_string())?;
        self.frame = Some(sorted);
        self.columns = Columns::default();
        Ok(())
    }
}

/// Columns derived from the recommendations, replaced whenever the table is written (a merge
/// recomputes them over every shard's seeds).
const DERIVED: [&str; 3] = ["eligible", "recommended", "recommended_by_cost"];

/// Writes `runs.csv` and `runs.parquet` into `dir`, each atomically, with each row marked
/// `eligible` (its strategy lost nothing at any seed of its setting) and `recommended` (its
/// strategy is the setting's recommendation by time; `recommended_by_cost` by cost).
pub fn write_runs_csv(
    table: &RunsTable,
    recommendations: &[PointRecommendation],
    dir: &Path,
) -> Result<()> {
    let mut frame = annotate(table.frame()?, recommendations)?;
    write_csv(&mut frame, &dir.join("runs.csv"))?;
    write_parquet(&mut frame, &dir.join("runs.parquet"))
}

fn annotate(mut frame: DataFrame, recommendations: &[PointRecommendation]) -> Result<DataFrame> {
    for name in DERIVED {
        if frame.column(name).is_ok() {
            frame = frame
                .drop(name)
                .context(|| format!("replacing the runs table's {name} column"))?;
        }
    }
    let read = |name: &str| format!("reading the runs table's {name} column");
    let rows = frame
        .column("rows")
        .context(|| read("rows"))?
        .u64()
        .context(|| read("rows"))?;
    let churn = frame
        .column("churn")
        .context(|| read("churn"))?
        .f64()
        .context(|| read("churn"))?;
    let lag = frame
        .column("lag_us")
        .context(|| read("lag_us"))?
        .i64()
        .context(|| read("lag_us"))?;
    let label = frame
        .column("label")
        .context(|| read("label"))?
        .str()
        .context(|| read("label"))?;
    let engine = frame
        .column("engine")
        .context(|| read("engine"))?
        .str()
        .context(|| read("engine"))?;
    let mut eligible = Vec::with_capacity(frame.height());
    let mut by_time = Vec::with_capacity(frame.height());
    let mut by_cost = Vec::with_capacity(frame.height());
    for ((((rows, churn), lag_us), label), engine) in rows
        .iter()
        .zip(churn.iter())
        .zip(lag.iter())
        .zip(label.iter())
        .zip(engine.iter())
    {
        let rec = recommendations.iter().find(|r| {
            Some(r.rows) == rows
                && Some(r.churn) == churn
                && r.lag_us == lag_us
                && r.engine.is_none_or(|k| Some(k.name()) == engine)
        });
        let label = label.unwrap_or_default();
        let is = |m: Measure| rec.and_then(|r| r.ranking(m)).map(|k| k.label == label);
        eligible.push(rec.map(|r| r.is_eligible(label)));
        by_time.push(is(Measure::Time));
        by_cost.push(is(Measure::Cost));
    }
    // `eligible` is exact and sits with the divergence it comes from; the recommendations
    // depend on measured times and go last, beside them.
    let before_timings = frame.get_column_index("wall_ms").unwrap_or(frame.width());
    frame
        .insert_column(before_timings, Column::new(DERIVED[0].into(), eligible))
        .context(|| "adding the runs table's eligible column".to_string())?;
    for (name, values) in DERIVED[1..].iter().zip([by_time, by_cost]) {
        frame
            .with_column(Column::new((*name).into(), values))
            .context(|| format!("adding the runs table's {name} column"))?;
    }
    Ok(frame)
}
