//! The outside lane: a team's own pipeline, started as a command at every run tick against the
//! released source, killed when the fault plan says so, retried as `restart` says, and judged
//! by reading its target back. It needs no engine, so the runner runs the pipelines of one tick
//! side by side.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::lane::{show, Lane, Observe, Shown};
use super::tally::Tally;
use super::target_track::TargetTrack;
use crate::engine::{
    read_outside_target, Engine, MirrorPrint, TargetChanges, TargetContents, TargetRows,
    TargetTotals,
};
use crate::error::{Error, Result};
use crate::explain::PIPELINE_KIND;
use crate::faults::{kill_for, Kill};
use crate::pipeline::{contract_env, create_points_fifo, launch, ContractPaths, Ending, Launch};
use crate::results::{
    ms, AttemptEnding, PipelineAttempt, PipelineResult, RunRecord, StrategyResult, TargetMaxima,
};
use crate::row::Column;
use crate::scenario::{Faults, PipelineSource, PipelineSpec, Restart, MAX_ATTEMPTS};
use crate::sim::History;
use crate::strategy::RunContext;
use crate::verify::{Divergence, Oracle, WrongKey};

pub(super) struct PipelineLane {
    pub spec: PipelineSpec,
    /// The command with its placeholders filled in.
    pub argv: Vec<String>,
    /// Its working directory, kept across runs: the target file lives here.
    pub work_dir: PathBuf,
    pub state_dir: PathBuf,
    pub source: PathBuf,
    pub landing_dir: Option<PathBuf>,
    /// Where its logs go, and that directory relative to the output directory (for results).
    pub log_dir: PathBuf,
    pub log_dir_name: String,
    /// The extra environment, placeholders filled in.
    pub env: Vec<(String, String)>,
    /// Where the pipeline may announce its points instead of stderr.
    pub points_fifo: PathBuf,
    pub faults: Option<(Faults, u64)>,
    pub records: Vec<RunRecord>,
    pub attempts: Vec<PipelineAttempt>,
    pub track: TargetTrack,
    pub maxima: Vec<TargetMaxima>,
    pub fingerprint: Option<u64>,
    pub changed_last_run: bool,
    pub wall: Duration,
    pub read_back: Duration,
    pub failed_runs: u32,
    /// What the target held after the last run (kept once, not copied per run: at a million
    /// rows a copy costs as much as the read).
    pub contents: TargetContents,
}

impl PipelineLane {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: &PipelineSpec,
        scenario_dir: &Path,
        lanes_dir: &Path,
        log_root: &Path,
        source: &Path,
        landing_dir: Option<&Path>,
        faults: Option<(Faults, u64)>,
        max_id: i64,
    ) -> Result<Self> {
        let work_dir = lanes_dir.join(&spec.label);
        let state_dir = work_dir.join("state");
        let log_dir_name = format!("pipelines/{}", spec.label);
        let log_dir = log_root.join(&log_dir_name);
        for dir in [&state_dir, &log_dir] {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io("cannot create a pipeline directory", dir, e))?;
        }
        let points_fifo = work_dir.join("points.fifo");
        create_points_fifo(&points_fifo)
            .map_err(|e| Error::io("cannot create the points fifo", &points_fifo, e))?;
        let env = spec.env_filled(scenario_dir, Some(&work_dir));
        let mut argv = spec.argv(scenario_dir, Some(&work_dir));
        // A relative program path is incrlab's, not the work directory's.
        if argv[0].contains('/') && Path::new(&argv[0]).is_relative() {
            if let Ok(absolute) = std::path::absolute(&argv[0]) {
                argv[0] = absolute.to_string_lossy().into_owned();
            }
        }
        Ok(PipelineLane {
            spec: spec.clone(),
            argv,
            work_dir,
            state_dir,
            source: source.to_path_buf(),
            landing_dir: match spec.source {
                PipelineSource::LandingDir => landing_dir.map(Path::to_path_buf),
                PipelineSource::DuckdbFile => None,
            },
            log_dir,
            log_dir_name,
            env,
            points_fifo,
            faults,
            records: Vec::new(),
            attempts: Vec::new(),
            track: TargetTrack::new(max_id),
            maxima: Vec::new(),
            fingerprint: None,
            changed_last_run: false,
            wall: Duration::ZERO,
            read_back: Duration::ZERO,
            failed_runs: 0,
            contents: TargetContents::Mirror(TargetRows::default()),
        })
    }

    fn target_file(&self) -> PathBuf {
        self.work_dir.join(&self.spec.target.duckdb)
    }

    /// The run at `ctx`: every attempt (kills and restarts included), then the target read
    /// back into [`PipelineLane::contents`]. What the pipeline does wrong is recorded, never an
    /// error of incrlab's.
    pub fn run_outside(&mut self, ctx: &RunContext, drain: bool) {
        let started = Instant::now();
        let target = self.target_file();
        let mut attempt = 0u32;
        let (failure, crashed_at) = loop {
            attempt += 1;
            // The drain is the recovery period: kills strike scheduled runs only.
            let kill = match &self.faults {
                Some((faults, seed)) if !drain => {
                    kill_for(faults, *seed, &self.spec.label, ctx.run, attempt)
                }
                _ => None,
            };
            let log_name = format!("run-{:03}-attempt-{attempt}.log", ctx.run);
            let paths = ContractPaths {
                source: &self.source,
                target: &target,
                target_table: &self.spec.target.table,
                state_dir: &self.state_dir,
                landing_dir: self.landing_dir.as_deref(),
                points_fifo: Some(&self.points_fifo),
            };
            let mut env = contract_env(&paths, ctx.run, attempt, ctx.time_us, drain);
            env.extend(self.env.iter().cloned());
            let outcome = launch(Launch {
                argv: &self.argv,
                cwd: &self.work_dir,
                env,
                log: self.log_dir.join(&log_name),
                timeout: Duration::from_micros(self.spec.timeout.0 as u64),
                kill,
                points_fifo: Some(self.points_fifo.clone()),
            });
            let ending = match outcome.ending {
                Ending::Exited(code) => AttemptEnding::Exited { code },
                Ending::Signaled(signal) => AttemptEnding::Signaled { signal },
                Ending::KilledAtPoint(point) => AttemptEnding::Killed { point: Some(point) },
                Ending::KilledAfter => AttemptEnding::Killed { point: None },
                Ending::TimedOut => AttemptEnding::TimedOut,
                Ending::FailedToStart(message) => AttemptEnding::FailedToStart { message },
            };
            let point = match &ending {
                AttemptEnding::Killed { point } => *point,
                _ => None,
            };
            let succeeded = ending.succeeded();
            let description = ending.describe();
            self.attempts.push(PipelineAttempt {
                run: ctx.run,
                attempt,
                ending,
                planned_kill_after_us: match kill {
                    Some(Kill::AfterUs(us)) => Some(us),
                    _ => None,
                },
                points: outcome.points,
                elapsed_ms: ms(outcome.elapsed),
                log: format!("{}/{log_name}", self.log_dir_name),
            });
            if succeeded {
                break (None, None);
            }
            let failure = format!(
                "pipeline `{}`: run {} attempt {attempt} {description} (log: {}/{log_name})",
                self.spec.label, ctx.run, self.log_dir_name
            );
            let retry = self
                .faults
                .as_ref()
                .is_some_and(|(f, _)| f.restart == Restart::Immediately);
            if !retry || attempt >= MAX_ATTEMPTS {
                break (Some(failure), point);
            }
        };
        let read_started = Instant::now();
        let read = read_outside_target(&target, &self.spec.target.table);
        self.read_back += read_started.elapsed();
        let (rows, failure) = match read {
            Ok(rows) => (rows, failure),
            Err(problem) => {
                let problem = format!("pipeline `{}`: {problem}", self.spec.label);
                let why = match failure {
                    Some(f) => format!("{f}; {problem}"),
                    None => problem,
                };
                // The oracle sees an empty target: every live key is missing.
                (TargetRows::default(), Some(why))
            }
        };
        self.failed_runs += u32::from(failure.is_some());
        let written = self.track.observe(ctx.run, &rows);
        self.maxima.push(TargetMaxima {
            run: ctx.run,
            max_id: rows.id.iter().copied().max(),
            max_updated_at_us: rows
                .column(Column::UpdatedAt)
                .and_then(|v| v.iter().copied().max()),
        });
        self.contents = TargetContents::Mirror(rows);
        let digest = Shown::of(&self.contents)
            .fingerprint()
            .expect("whole contents are printed");
        self.changed_last_run = self.fingerprint != Some(digest);
        self.fingerprint = Some(digest);
        let wall = started.elapsed();
        self.wall += wall;
        self.records.push(RunRecord {
            run: ctx.run,
            time_us: ctx.time_us,
            drain,
            reconciled: false,
            watermark_before: None,
            watermark_after: None,
            seen_at_watermark_before: Vec::new(),
            rows_read: 0,
            rows_scanned: 0,
            bytes_scanned: 0,
            rows_written: written.total(),
            written,
            divergence: Divergence::default(),
            target_digest: format!("{digest:016x}"),
            wall_ms: ms(wall),
            cpu_ms: 0.0,
            attempts: attempt,
            crashed_at,
            event_window_us: None,
            snapshot_xmin: None,
            failure,
            watched: None,
        });
    }
}

impl Lane for PipelineLane {
    fn label(&self) -> &str {
        &self.spec.label
    }

    fn run(&mut self, _engine: &mut dyn Engine, ctx: &RunContext, drain: bool) -> Result<Shown> {
        self.run_outside(ctx, drain);
        Ok(Shown::of(&self.contents))
    }

    fn scan(
        &mut self,
        _engine: &mut dyn Engine,
        observe: Observe<'_>,
    ) -> Result<Option<TargetTotals>> {
        Ok(show(&self.contents, observe))
    }

    /// The target was read back whole after the run, with whatever columns it carries: they
    /// are compared one by one.
    fn feed_oracle(
        &mut self,
        _engine: &mut dyn Engine,
        oracle: &mut Oracle,
        history: &History,
    ) -> Result<Option<MirrorPrint>> {
        if let TargetContents::Mirror(rows) = &self.contents {
            oracle.feed(history, rows);
        }
        // Its print was taken with the contents (`Lane::run`); none comes with the feed.
        Ok(None)
    }

    fn rows_of_keys(&mut self, _engine: &mut dyn Engine, ids: &[i64]) -> Result<TargetRows> {
        let mut kept = TargetRows::default();
        if let TargetContents::Mirror(rows) = &self.contents {
            kept.extend_from(rows, |id| ids.binary_search(&id).is_ok());
        }
        Ok(kept)
    }

    fn last_record(&mut self) -> &mut RunRecord {
        self.records.last_mut().expect("run pushed a record")
    }

    fn settled(&self) -> bool {
        !self.changed_last_run
    }

    fn finish(self: Box<Self>, tally: &Tally, samples: Vec<WrongKey>) -> StrategyResult {
        let lane = *self;
        let written = lane
            .records
            .iter()
            .fold(TargetChanges::default(), |sum, r| sum + r.written);
        StrategyResult {
            label: lane.spec.label.clone(),
            strategy: PIPELINE_KIND.to_string(),
            write: PIPELINE_KIND.to_string(),
            permanent: tally.last,
            permanent_wrong_keys: tally.last_wrong_keys,
            worst: tally.worst,
            rows_scanned: 0,
            bytes_scanned: 0,
            rows_read: 0,
            rows_written: lane.records.iter().map(|r| r.rows_written).sum(),
            written,
            settled: !lane.changed_last_run,
            longest_divergence_runs: tally.longest_divergence_runs,
            reconcile_every: None,
            idempotent: None,
            first_non_idempotent_run: None,
            crashes: Vec::new(),
            sample_wrong_keys: samples,
            pipeline: Some(PipelineResult {
                command: lane.argv,
                attempts: lane.attempts,
                failed_runs: lane.failed_runs,
                model: None,
                read_back_ms: ms(lane.read_back),
                target_maxima: lane.maxima,
            }),
            per_run: lane.records,
            wall_ms: ms(lane.wall),
            sql_ms: 0.0,
            cpu_ms: 0.0,
        }
    }
}
