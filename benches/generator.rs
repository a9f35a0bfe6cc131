//! History generation throughput: the simulator alone, no engine.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use incrlab::scenario::Scenario;

fn generation(c: &mut Criterion) {
    let text = r#"
name = "bench_generation"
seed = 1
[table]
rows = 1_000_000
[schedule]
runs = 24
interval = "5min"
[churn]
inserts = "0.3%"
updates = "0.6%"
deletes = "0.1%"
[writers]
count = 4
offset = { dist = "normal", mean = "0s", std = "100ms" }
[transactions]
commit_delay = { dist = "exponential", mean = "50ms" }
[[strategy]]
kind = "full"
"#;
    let scenario = Scenario::parse(Path::new("bench_generation.toml"), text).expect("valid");
    let rows = incrlab::sim::generate(&scenario, 1).len() as u64;
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function("1M rows + 24 runs at 1% churn", |b| {
        b.iter(|| incrlab::sim::generate(&scenario, 1))
    });
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
