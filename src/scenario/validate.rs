//! Checks a parsed scenario for values that parse but cannot be simulated: zero runs, a zero
//! granularity, more deletes than rows, knobs given to a strategy they do not apply to.
//! The first problem found is reported with the key path it belongs to.

use std::collections::BTreeSet;

use super::{
    Amount, CommitOrder, CrashPoint, DurationDist, Expectation, Scenario, StateStoreKind,
    StrategyKind, TargetModel, WriteMode,
};

pub struct Problem {
    pub key: String,
    pub message: String,
}

fn problem(key: impl Into<String>, message: impl Into<String>) -> Result<(), Problem> {
    Err(Problem {
        key: key.into(),
        message: message.into(),
    })
}

pub fn validate(s: &Scenario) -> Result<(), Problem> {
    if s.name.trim().is_empty() {
        return problem("name", "must not be empty");
    }
    if s.name.contains(['/', '\\']) || s.name.starts_with('.') {
        return problem(
            "name",
            "names the output directory: no path separators and no leading dot",
        );
    }
    if s.schedule.runs == 0 {
        return problem("schedule.runs", "must be at least 1 (zero runs)");
    }
    if s.schedule.interval.0 <= 0 {
        return problem(
            "schedule.interval",
            format!("must be positive, got {}", s.schedule.interval),
        );
    }
    if s.timestamps.granularity.0 <= 0 {
        return problem(
            "timestamps.granularity",
            format!("must be positive, got {}", s.timestamps.granularity),
        );
    }
    let mut skipped = BTreeSet::new();
    for (i, &run) in s.schedule.skip_runs.iter().enumerate() {
        let key = format!("schedule.skip_runs[{}]", i + 1);
        if run == 0 || run > s.schedule.runs {
            return problem(
                key,
                format!("run {run} is not a scheduled run (1..={})", s.schedule.runs),
            );
        }
        if !skipped.insert(run) {
            return problem(key, format!("run {run} is listed twice"));
        }
    }
    validate_engine(s)?;
    validate_churn(s)?;
    validate_writers(s)?;
    validate_transactions(s)?;
    validate_event_time_and_landing(s)?;
    validate_strategies(s)?;
    validate_sweep(s)?;
    validate_cost(s)?;
    validate_faults(s)?;
    super::validate_pipeline::validate_pipelines(s)?;
    super::validate_pipeline::validate_pipeline_expectations(s)?;
    validate_expectations(s)
}

fn validate_engine(s: &Scenario) -> Result<(), Problem> {
    use super::{EngineKind, SourceKind};
    let engine = &s.engine;
    if engine.source == SourceKind::Postgres && engine.kind != EngineKind::Duckdb {
        return problem(
            "engine.source",
            format!(
                "a PostgreSQL source stages its reads into DuckDB targets; `kind = \"{}\"` cannot hold them yet (use kind = \"duckdb\")",
                engine.kind.name()
            ),
        );
    }
    if let Some(url) = &engine.url {
        if engine.source != SourceKind::Postgres {
            return problem("engine.url", "applies only with source = \"postgres\"");
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return problem(
                "engine.url",
                format!("`{url}` is not a PostgreSQL URL (postgres://user@host:port/db)"),
            );
        }
    }
    Ok(())
}

fn validate_faults(s: &Scenario) -> Result<(), Problem> {
    let Some(faults) = &s.faults else {
        return Ok(());
    };
    let p = faults.crash_probability;
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        return problem(
            "faults.crash_probability",
            format!("must be between 0 and 1, got {p}"),
        );
    }
    if p > 0.0 && faults.points.is_empty() {
        return problem(
            "faults.points",
            "a crash probability needs at least one eligible point",
        );
    }
    if faults.write_chunks == 0 {
        return problem("faults.write_chunks", "must be at least 1");
    }
    let labels: BTreeSet<String> = s.lane_labels().into_iter().collect();
    for (i, crash) in faults.crashes.iter().enumerate() {
        let at = |key: &str| format!("faults.crashes[{}].{key}", i + 1);
        if crash.run == 0 || crash.run > s.schedule.runs {
            return problem(
                at("run"),
                format!(
                    "run {} is not a scheduled run (1..={}); the drain never crashes",
                    crash.run, s.schedule.runs
                ),
            );
        }
        if let Some(label) = &crash.strategy {
            if !labels.contains(label) {
                let known: Vec<&str> = labels.iter().map(String::as_str).collect();
                return problem(
                    at("strategy"),
                    format!(
                        "no strategy is labelled `{label}` (labels: {})",
                        known.join(", ")
                    ),
                );
            }
        }
        if crash.after_chunks.is_some() && crash.point != CrashPoint::MidWrite {
            return problem(
                at("after_chunks"),
                format!("applies to mid_write, not {}", crash.point.name()),
            );
        }
        if crash.after_chunks.is_some_and(|k| k > faults.write_chunks) {
            return problem(
                at("after_chunks"),
                format!(
                    "a write has only {} chunks (faults.write_chunks)",
                    faults.write_chunks
                ),
            );
        }
    }
    Ok(())
}

fn validate_cost(s: &Scenario) -> Result<(), Problem> {
    let Some(cost) = &s.cost else { return Ok(()) };
    for (key, value) in [
        ("cost.price_per_tb_scanned", cost.price_per_tb_scanned),
        ("cost.price_per_cpu_hour", cost.price_per_cpu_hour),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return problem(key, format!("must be a price ≥ 0, got {value}"));
        }
    }
    if let Some(mb) = cost.source_read_mb_per_s {
        if !(mb.is_finite() && mb > 0.0) {
            return problem(
                "cost.source_read_mb_per_s",
                format!("must be a bandwidth > 0 MB/s, got {mb}"),
            );
        }
    }
    Ok(())
}

fn validate_sweep(s: &Scenario) -> Result<(), Problem> {
    let Some(sweep) = &s.sweep else { return Ok(()) };
    for (i, &c) in sweep.churn.iter().enumerate() {
        if !(c.is_finite() && c > 0.0 && c <= 1.0) {
            return problem(
                "sweep.churn",
                format!("value {} ({c}) must be a fraction in (0, 1]", i + 1),
            );
        }
    }
    if sweep.churn.windows(2).any(|w| w[0] >= w[1]) {
        return problem(
            "sweep.churn",
            "list the values in ascending order, each once",
        );
    }
    if sweep.rows.windows(2).any(|w| w[0] >= w[1]) {
        return problem(
            "sweep.rows",
            "list the values in ascending order, each once",
        );
    }
    if sweep.lag.windows(2).any(|w| w[0] >= w[1]) || sweep.lag.iter().any(|l| l.0 < 0) {
        return problem("sweep.lag", "list lags ≥ 0 in ascending order, each once");
    }
    if !sweep.lag.is_empty()
        && !s
            .strategies
            .iter()
            .any(|st| st.kind == StrategyKind::UpdatedAt)
    {
        return problem(
            "sweep.lag",
            "lags apply to updated_at strategies, and this scenario has none",
        );
    }
    if sweep.rows.contains(&0) {
        return problem("sweep.rows", "a table size must be at least 1 row");
    }
    for (i, kind) in sweep.engines.iter().enumerate() {
        if sweep.engines[..i].contains(kind) {
            return problem(
                "sweep.engines",
                format!("`{}` is listed twice; list each engine once", kind.name()),
            );
        }
    }
    Ok(())
}

fn validate_expectations(s: &Scenario) -> Result<(), Problem> {
    let labels: Vec<String> = s.lane_labels();
    for (i, e) in s.expectations.iter().enumerate() {
        let at = |key: &str| format!("expect[{}].{key}", i + 1);
        if let Some(r) = &e.recommended {
            validate_recommended(s, r, &labels, &at("recommended"))?;
        }
        let only_recommended = Expectation {
            strategy: String::new(),
            recommended: None,
            ..e.clone()
        }
        .is_empty();
        if e.strategy.is_empty() {
            if e.recommended.is_some() && only_recommended {
                continue;
            }
            return problem(
                at("strategy"),
                format!(
                    "missing: name the strategy this expectation is about ({}, or `all`)",
                    labels.join(", ")
                ),
            );
        }
        if e.strategy != super::ALL && !labels.contains(&e.strategy) {
            return problem(
                at("strategy"),
                format!(
                    "no strategy is labelled `{}`; labels here: {}, or `all`",
                    e.strategy,
                    labels.join(", ")
                ),
            );
        }
        if e.needs_sweep() && s.sweep.is_none() {
            return problem(
                at("strategy"),
                "crossover and lag expectations need a [sweep] section",
            );
        }
        if e.recommended_lag_at_most.is_some()
            && s.sweep.as_ref().is_some_and(|sw| sw.lag.is_empty())
        {
            return problem(
                at("recommended_lag_at_most"),
                "a recommended lag needs `lag` values in [sweep]",
            );
        }
        if e.is_empty() {
            return problem(at("strategy"), "this expectation states nothing: add missing, stale, ghost, duplicate, rows_scanned, rows_written, deterministic, idempotent, same_as_model, failed_runs, crossover_churn, recommended_lag_at_most or recommended");
        }
    }
    Ok(())
}

/// `recommended` names a strategy of the file, a churn and a table size the sweep runs, and
/// a measure the scenario takes.
fn validate_recommended(
    s: &Scenario,
    r: &super::RecommendedAt,
    labels: &[String],
    at: &str,
) -> Result<(), Problem> {
    let Some(sweep) = &s.sweep else {
        return problem(at, "a recommendation needs a [sweep] section");
    };
    if !labels.contains(&r.strategy) {
        return problem(
            format!("{at}.strategy"),
            format!(
                "no strategy is labelled `{}`; labels here: {}",
                r.strategy,
                labels.join(", ")
            ),
        );
    }
    // Recommendations exist at swept churns only; between them the answer is not measured.
    if !sweep.churn.iter().any(|&c| r.is_at(c)) {
        let swept: Vec<String> = sweep.churn.iter().map(|c| c.to_string()).collect();
        return problem(
            format!("{at}.at_churn"),
            format!(
                "{} is not a swept churn; [sweep] churn = [{}]",
                r.at_churn,
                swept.join(", ")
            ),
        );
    }
    if let Some(rows) = r.rows {
        let sizes = if sweep.rows.is_empty() {
            vec![s.table.rows]
        } else {
            sweep.rows.clone()
        };
        if !sizes.contains(&rows) {
            let sizes: Vec<String> = sizes.iter().map(|n| n.to_string()).collect();
            return problem(
                format!("{at}.rows"),
                format!(
                    "{rows} is not a swept table size; sizes here: {}",
                    sizes.join(", ")
                ),
            );
        }
    }
    if r.measure == super::RankedBy::Cost && s.cost.is_none() {
        return problem(
            format!("{at}.measure"),
            "a recommendation by cost needs a [cost] section",
        );
    }
    Ok(())
}

fn validate_churn(s: &Scenario) -> Result<(), Problem> {
    let churn = &s.churn;
    for (key, amount) in [("updates", churn.updates), ("deletes", churn.deletes)] {
        if let Amount::Fraction(f) = amount {
            if f > 1.0 {
                return problem(
                    format!("churn.{key}"),
                    format!("a fraction of live rows cannot exceed 100%, got {}", amount),
                );
            }
        }
    }
    if let Amount::Count(deletes) = churn.deletes {
        if deletes > s.table.rows {
            return problem(
                "churn.deletes",
                format!(
                    "{deletes} deletes per interval but the table starts with {} rows: more deletes than rows",
                    s.table.rows
                ),
            );
        }
    }
    if !churn.key_skew.is_finite() || churn.key_skew < 0.0 {
        return problem(
            "churn.key_skew",
            format!("must be a Zipf exponent ≥ 0, got {}", churn.key_skew),
        );
    }
    Ok(())
}

fn validate_dist(key: &str, dist: &DurationDist, non_negative: bool) -> Result<(), Problem> {
    if let Some(message) = dist.problem() {
        return problem(key, message);
    }
    if non_negative && dist.lower_bound().is_some_and(|low| low < 0) {
        return problem(key, "a delay cannot be negative");
    }
    Ok(())
}

fn validate_writers(s: &Scenario) -> Result<(), Problem> {
    let w = &s.writers;
    if w.count == 0 {
        return problem("writers.count", "must be at least 1");
    }
    validate_dist("writers.offset", &w.offset, false)?;
    validate_dist("writers.jitter", &w.jitter, false)?;
    if let Some(offsets) = &w.offsets {
        if offsets.len() != w.count as usize {
            return problem(
                "writers.offsets",
                format!("lists {} offsets for {} writers", offsets.len(), w.count),
            );
        }
        if w.offset != DurationDist::default() {
            return problem(
                "writers.offsets",
                "give either `offset` (a distribution) or `offsets` (a list), not both",
            );
        }
    }
    if !w.drift_ppm.is_finite() || w.drift_ppm.abs() >= 1e6 {
        return problem(
            "writers.drift_ppm",
            format!("must be a finite rate below 1e6 ppm, got {}", w.drift_ppm),
        );
    }
    if let Some(step) = &w.step {
        if step.writer >= w.count {
            return problem(
                "writers.step.writer",
                format!(
                    "writer {} does not exist (writers are 0..{})",
                    step.writer, w.count
                ),
            );
        }
        if step.at.0 < 0 {
            return problem("writers.step.at", "must not be negative");
        }
    }
    Ok(())
}

fn validate_transactions(s: &Scenario) -> Result<(), Problem> {
    let t = &s.transactions;
    validate_dist("transactions.commit_delay", &t.commit_delay, true)?;
    validate_dist("transactions.late_delay", &t.late_delay, true)?;
    if !(0.0..=1.0).contains(&t.late_fraction) {
        return problem(
            "transactions.late_fraction",
            format!("must be between 0 and 1, got {}", t.late_fraction),
        );
    }
    if let Some(message) = t.rows.problem() {
        return problem("transactions.rows", message);
    }
    Ok(())
}

fn validate_event_time_and_landing(s: &Scenario) -> Result<(), Problem> {
    let e = &s.event_time;
    if !(0.0..=1.0).contains(&e.late_fraction) {
        return problem(
            "event_time.late_fraction",
            format!("must be between 0 and 1, got {}", e.late_fraction),
        );
    }
    validate_dist("event_time.lateness", &e.lateness, true)?;
    let l = &s.landing;
    if l.rows_per_file == 0 {
        return problem("landing.rows_per_file", "must be at least 1 row");
    }
    if !(0.0..=1.0).contains(&l.rewrite_fraction) {
        return problem(
            "landing.rewrite_fraction",
            format!("must be between 0 and 1, got {}", l.rewrite_fraction),
        );
    }
    Ok(())
}

/// Whether a strategy, a write mode and a target model make sense together; the reason when not.
fn combination_problem(kind: StrategyKind, write: WriteMode, model: TargetModel) -> Option<String> {
    let k = kind.name();
    let w = write.name();
    match (kind, write, model) {
        (StrategyKind::Full, WriteMode::Overwrite, _) => None,
        (StrategyKind::Full, _, _) => Some(format!(
            "full reprocessing replaces the target: write `overwrite`, not `{w}`"
        )),
        (_, WriteMode::Overwrite, _) => Some(format!(
            "`overwrite` would replace the target with one increment; {k} needs upsert, delete_insert, append or partition_overwrite"
        )),
        (StrategyKind::FileListing, _, TargetModel::DailyTotals) => Some(
            "daily_totals recomputes each affected day from the source table, which file_listing never reads (it reads files): use a mirror".into(),
        ),
        (StrategyKind::Interval, WriteMode::PartitionOverwrite, TargetModel::Mirror) => None,
        (_, WriteMode::PartitionOverwrite, TargetModel::Mirror) => Some(format!(
            "on a mirror a partition is the event-time window an `interval` run owns; {k} owns none (use upsert or delete_insert, or model = \"daily_totals\")"
        )),
        (_, WriteMode::DeleteInsert, TargetModel::DailyTotals) => Some(
            "a day of totals is one row, not a set of keys: recompute affected days with partition_overwrite (or upsert)".into(),
        ),
        _ => None,
    }
}

fn validate_strategies(s: &Scenario) -> Result<(), Problem> {
    if s.strategies.is_empty() && s.pipelines.is_empty() {
        return problem("strategy", "list at least one [[strategy]] or [[pipeline]]");
    }
    let mut labels = BTreeSet::new();
    for (i, spec) in s.strategies.iter().enumerate() {
        let at = |key: &str| format!("strategy[{}].{key}", i + 1);
        let kind = spec.kind.name();
        if spec.kind != StrategyKind::UpdatedAt {
            if spec.boundary.is_some() {
                return problem(
                    at("boundary"),
                    format!("`boundary` applies to updated_at, not {kind}"),
                );
            }
            if spec.lag.is_some() {
                return problem(
                    at("lag"),
                    format!("`lag` applies to updated_at, not {kind}"),
                );
            }
        }
        if spec
            .boundary_dedupe
            .is_some_and(|d| d != super::BoundaryDedupe::None)
        {
            if spec.kind != StrategyKind::UpdatedAt || spec.boundary() != super::Boundary::Inclusive
            {
                return problem(
                    at("boundary_dedupe"),
                    "applies to updated_at with boundary \">=\" (a `>` read never re-reads its boundary)",
                );
            }
            if spec.lag() != super::Micros::ZERO {
                return problem(
                    at("boundary_dedupe"),
                    "a lag re-reads a window below the watermark, and cursors that deduplicate their boundary turn it off with a lag (as dlt does): drop one of the two",
                );
            }
        }
        match (spec.kind, spec.reconcile_every) {
            (StrategyKind::Full, Some(_)) => {
                return problem(
                    at("reconcile_every"),
                    "full reprocessing reconciles every run already",
                )
            }
            (_, Some(0)) => return problem(at("reconcile_every"), "must be at least 1"),
            _ => {}
        }
        if spec.state_store() == StateStoreKind::TargetTable
            && spec.commit_order() == CommitOrder::BeforeWrite
        {
            return problem(
                at("commit_order"),
                "a target_table store commits with the data in one transaction: there is no order to choose (use json_file for before_write)",
            );
        }
        if let Some(k) = spec.offset_flush_every {
            if spec.kind != StrategyKind::Cdc {
                return problem(
                    at("offset_flush_every"),
                    format!("`offset_flush_every` applies to cdc, not {kind}"),
                );
            }
            if k == 0 {
                return problem(at("offset_flush_every"), "must be at least 1 event");
            }
            if spec.state_store() == StateStoreKind::TargetTable
                || spec.commit_order() == CommitOrder::BeforeWrite
            {
                return problem(
                    at("offset_flush_every"),
                    "flushing the offset during the write needs a json_file store committed after_write",
                );
            }
        }
        if spec.lag.is_some_and(|lag| lag.0 < 0) {
            return problem(at("lag"), "must not be negative");
        }
        if let Some(why) = combination_problem(spec.kind, spec.write_mode(), spec.model()) {
            let key = if spec.write.is_some() || spec.model.is_none() {
                "write"
            } else {
                "model"
            };
            return problem(at(key), why);
        }
        if spec.lookback.is_some() && spec.kind != StrategyKind::Interval {
            return problem(
                at("lookback"),
                format!("`lookback` applies to interval, not {kind}"),
            );
        }
        if spec.file_identity.is_some() && spec.kind != StrategyKind::FileListing {
            return problem(
                at("file_identity"),
                format!("`file_identity` applies to file_listing, not {kind}"),
            );
        }
        if let Some(label) = &spec.label {
            if label.trim().is_empty() {
                return problem(at("label"), "must not be empty");
            }
        }
        let label = spec.label();
        if !labels.insert(label.clone()) {
            return problem(
                at("label"),
                format!("label `{label}` is used by two strategies; give one a `label`"),
            );
        }
    }
    Ok(())
}
