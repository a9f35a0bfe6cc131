//! Properties over generated workloads (small sizes, no crashes).

mod common;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// The knobs a generated workload varies.
#[derive(Debug, Clone)]
struct Workload {
    rows: u64,
    runs: u32,
    inserts: u64,
    updates: u64,
    deletes: u64,
    soft_deletes: bool,
    key_skew: f64,
    late_fraction: f64,
    writers: u32,
    granularity_ms: u64,
    seed: u64,
}

prop_compose! {
    fn workload()(
        rows in 0u64..60,
        runs in 1u32..6,
        inserts in 0u64..15,
        updates in 0u64..15,
        deletes in 0u64..5,
        soft_deletes in any::<bool>(),
        key_skew in prop_oneof![Just(0.0), 0.5f64..2.0],
        late_fraction in 0.0f64..0.5,
        writers in 1u32..4,
        granularity_ms in 1u64..2000,
        seed in any::<u64>(),
    ) -> Workload {
        // Validation rejects more deletes per interval than initial rows.
        let deletes = deletes.min(rows);
        Workload { rows, runs, inserts, updates, deletes, soft_deletes, key_skew, late_fraction, writers, granularity_ms, seed }
    }
}

impl Workload {
    fn scenario(&self) -> String {
        format!(
            r#"
name = "prop"
seed = {seed}
[table]
rows = {rows}
[schedule]
runs = {runs}
interval = "10s"
[churn]
inserts = {inserts}
updates = {updates}
deletes = {deletes}
delete_mode = "{mode}"
key_skew = {skew:.2}
[writers]
count = {writers}
offset = {{ dist = "normal", mean = "0s", std = "2s" }}
[transactions]
commit_delay = {{ dist = "exponential", mean = "500ms" }}
late_fraction = {late:.2}
late_delay = {{ dist = "uniform", low = "5s", high = "60s" }}
[timestamps]
granularity = "{granularity}ms"
[[strategy]]
kind = "full"
[[strategy]]
kind = "cdc"
[[strategy]]
kind = "cdc"
write = "delete_insert"
"#,
            seed = self.seed,
            rows = self.rows,
            runs = self.runs,
            inserts = self.inserts,
            updates = self.updates,
            deletes = self.deletes,
            mode = if self.soft_deletes { "soft" } else { "hard" },
            skew = self.key_skew,
            writers = self.writers,
            late = self.late_fraction,
            granularity = self.granularity_ms,
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/properties.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn cdc_and_full_end_exact_on_any_workload(w in workload()) {
        let results = common::run(&common::from_toml(&w.scenario()));
        for s in &results.strategies {
            prop_assert_eq!(s.permanent.total(), 0, "{} diverged: {:?}", s.label, s.permanent);
            prop_assert!(s.settled, "{} did not settle", s.label);
        }
    }
}
