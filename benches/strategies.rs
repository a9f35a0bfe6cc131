//! One steady run of each strategy, and the verifier's diff, at 100K and 1M rows with 1% churn
//! (10M too with `INCRLAB_BENCH_10M=1`): performance changes show up run to run.
//!
//! Each measured iteration repeats run 2 of the scenario from the state run 1 left: the plan,
//! the read and the write (upsert). Repeating a run is valid because upsert is idempotent (the
//! `--check-idempotence` tests hold it to that), so every iteration does the same work.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use incrlab::engine::{self, TargetContents, TargetId, TargetStorage};
use incrlab::scenario::EngineKind;
use incrlab::scenario::Scenario;
use incrlab::sim::generate;
use incrlab::strategy::{from_spec, RunContext, StrategyState};
use incrlab::verify::Oracle;

fn scenario(rows: u64) -> Scenario {
    let text = format!(
        r#"
name = "bench_strategies"
seed = 1
[table]
rows = {rows}
[schedule]
runs = 2
interval = "5min"
[churn]
inserts = "0.3%"
updates = "0.6%"
deletes = "0.1%"
[writers]
count = 4
[transactions]
commit_delay = {{ dist = "exponential", mean = "20ms" }}
[[strategy]]
kind = "full"
[[strategy]]
kind = "watermark_id"
[[strategy]]
kind = "updated_at"
boundary = ">="
lag = "2s"
[[strategy]]
kind = "cdc"
"#
    );
    Scenario::parse(Path::new("bench_strategies.toml"), &text).expect("a valid scenario")
}

fn sizes() -> Vec<u64> {
    let mut sizes = vec![100_000, 1_000_000];
    if std::env::var_os("INCRLAB_BENCH_10M").is_some() {
        sizes.push(10_000_000);
    }
    sizes
}

fn strategies(c: &mut Criterion) {
    let mut group = c.benchmark_group("steady run at 1% churn");
    group.sample_size(10);
    for rows in sizes() {
        let s = scenario(rows);
        let history = generate(&s, s.seed);
        let mut engine =
            engine::open(EngineKind::Duckdb, TargetStorage::Memory).expect("an engine");
        engine
            .apply_changes(&history, history.committed_between(i64::MIN, 0))
            .expect("the initial load");
        let [r1, r2] = [history.run_times_us[0], history.run_times_us[1]];
        engine
            .apply_changes(&history, history.committed_between(0, r1))
            .expect("changes up to run 1");
        // Run 1 everywhere: the targets and states run 2 starts from.
        let mut lanes = Vec::new();
        for (i, spec) in s.strategies.iter().enumerate() {
            let target = TargetId(i as u32 + 1);
            engine
                .create_target(target, spec.model())
                .expect("a target");
            let strategy = from_spec(spec, s.schedule.interval.0);
            let ctx = RunContext {
                run: 1,
                time_us: r1,
                landed: &[],
                snapshot_xmin: None,
            };
            let read = engine
                .read(target, strategy.plan(&StrategyState::default(), &ctx))
                .expect("run 1 reads");
            engine
                .write(target, spec.write_mode())
                .expect("run 1 writes");
            let state = strategy.advance(&StrategyState::default(), &read, &ctx);
            lanes.push((spec.clone(), strategy, target, state));
        }
        engine
            .apply_changes(&history, history.committed_between(r1, r2))
            .expect("changes up to run 2");
        let ctx = RunContext {
            run: 2,
            time_us: r2,
            landed: &[],
            snapshot_xmin: None,
        };
        for (spec, strategy, target, state) in &lanes {
            group.bench_with_input(BenchmarkId::new(spec.label(), rows), &rows, |b, _| {
                b.iter(|| {
                    engine
                        .read(*target, strategy.plan(state, &ctx))
                        .expect("a read");
                    engine.write(*target, spec.write_mode()).expect("a write")
                })
            });
        }
    }
    group.finish();
}

fn verifier(c: &mut Criterion) {
    let mut group = c.benchmark_group("verifier diff");
    group.sample_size(10);
    for rows in sizes() {
        let s = scenario(rows);
        let history = generate(&s, s.seed);
        let r1 = history.run_times_us[0];
        let mut engine =
            engine::open(EngineKind::Duckdb, TargetStorage::Memory).expect("an engine");
        engine
            .apply_changes(&history, history.committed_between(i64::MIN, r1))
            .expect("the source up to run 1");
        let target = TargetId(1);
        engine
            .create_target(target, s.strategies[0].model())
            .expect("a target");
        let full = from_spec(&s.strategies[0], s.schedule.interval.0);
        let ctx = RunContext {
            run: 1,
            time_us: r1,
            landed: &[],
            snapshot_xmin: None,
        };
        engine
            .read(target, full.plan(&StrategyState::default(), &ctx))
            .expect("a read");
        engine
            .write(target, s.strategies[0].write_mode())
            .expect("a write");
        let TargetContents::Mirror(versions) = engine.target_contents(target).expect("the target")
        else {
            unreachable!("full reprocessing into a mirror")
        };
        let mut oracle = Oracle::new(&history);
        oracle.advance_to(&history, r1);
        group.throughput(Throughput::Elements(versions.len() as u64));
        group.bench_with_input(BenchmarkId::new("check", rows), &rows, |b, _| {
            b.iter(|| oracle.check(&history, &versions, 0))
        });
    }
    group.finish();
}

criterion_group!(benches, strategies, verifier);
criterion_main!(benches);
