//! The price and environment model: turns a run's exact counters (bytes scanned) and measured
//! CPU time into money, and adds modelled transfer time for a remote source.
//!
//! Invariant: a pure function of counters and the scenario's `[cost]`; it measures nothing.

use crate::scenario::CostSpec;

const BYTES_PER_TB: f64 = 1e12;
const BYTES_PER_MB: f64 = 1e6;
const MS_PER_HOUR: f64 = 3_600_000.0;

/// What one run would cost: the price of the bytes it scanned plus the price of its CPU time.
pub fn run_cost(spec: &CostSpec, bytes_scanned: f64, cpu_ms: f64) -> f64 {
    bytes_scanned / BYTES_PER_TB * spec.price_per_tb_scanned
        + cpu_ms / MS_PER_HOUR * spec.price_per_cpu_hour
}

/// Transfer time for the bytes scanned at the source's bandwidth; zero for a local source.
pub fn transfer_ms(spec: &CostSpec, bytes_scanned: f64) -> f64 {
    spec.source_read_mb_per_s.map_or(0.0, |mb_per_s| {
        bytes_scanned / (mb_per_s * BYTES_PER_MB) * 1e3
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CostSpec {
        CostSpec {
            price_per_tb_scanned: 5.0,
            price_per_cpu_hour: 0.36,
            source_read_mb_per_s: Some(100.0),
        }
    }

    #[test]
    fn a_terabyte_scanned_costs_the_price_per_tb() {
        assert!((run_cost(&spec(), 1e12, 0.0) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn an_hour_of_cpu_costs_the_price_per_cpu_hour() {
        assert!((run_cost(&spec(), 0.0, 3_600_000.0) - 0.36).abs() < 1e-12);
    }

    #[test]
    fn transfer_time_is_bytes_over_bandwidth() {
        // 100 MB at 100 MB/s: one second.
        assert!((transfer_ms(&spec(), 1e8) - 1000.0).abs() < 1e-9);
        let local = CostSpec {
            source_read_mb_per_s: None,
            ..spec()
        };
        assert_eq!(transfer_ms(&local, 1e8), 0.0);
    }
}
