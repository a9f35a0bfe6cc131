//! Writer clocks: what a writer's `now()` returns at true time `t`.
//!
//! `offset_w(t) = base_w + drift·t + step_w(t) + jitter`. `updated_at` is the writer's clock at
//! the transaction's begin, so a writer whose clock runs ahead stamps rows "in the future" and a
//! writer behind stamps them in the past: the source of clock-skew loss under `updated_at`.

use rand::Rng;

use crate::scenario::Writers;

#[derive(Debug, Clone)]
pub struct WriterClocks {
    base_us: Vec<i64>,
    drift_ppm: f64,
    step: Option<(u32, i64, i64)>,
    jitter: crate::scenario::DurationDist,
}

impl WriterClocks {
    /// Draws every writer's base offset from the clocks stream.
    pub fn new(spec: &Writers, rng: &mut impl Rng) -> Self {
        let base_us = match &spec.offsets {
            Some(list) => list.iter().map(|m| m.0).collect(),
            None => (0..spec.count).map(|_| spec.offset.sample(rng)).collect(),
        };
        WriterClocks {
            base_us,
            drift_ppm: spec.drift_ppm,
            step: spec.step.as_ref().map(|s| (s.writer, s.at.0, s.by.0)),
            jitter: spec.jitter.clone(),
        }
    }

    pub fn writers(&self) -> u32 {
        self.base_us.len() as u32
    }

    pub fn base_offset_us(&self, writer: u32) -> i64 {
        self.base_us[writer as usize]
    }

    /// The writer's clock offset at true time `t_us`, without jitter.
    pub fn offset_us(&self, writer: u32, t_us: i64) -> i64 {
        let mut offset =
            self.base_us[writer as usize] + (self.drift_ppm * t_us as f64 / 1e6).round() as i64;
        if let Some((w, at, by)) = self.step {
            if w == writer && t_us >= at {
                offset += by;
            }
        }
        offset
    }

    /// The offset one clock reading has, jitter included (drawn from the clocks stream).
    pub fn reading_offset_us(&self, writer: u32, t_us: i64, rng: &mut impl Rng) -> i64 {
        self.offset_us(writer, t_us) + self.jitter.sample(rng)
    }

    /// Smallest and largest offset any writer can show over `[0, horizon_us]`, jitter bounds
    /// included where they are finite. Used to state how large a safe `lag` is.
    pub fn offset_spread_us(&self, horizon_us: i64) -> Option<i64> {
        let (jlow, jhigh) = (self.jitter.lower_bound()?, self.jitter.upper_bound()?);
        let mut low = i64::MAX;
        let mut high = i64::MIN;
        for w in 0..self.writers() {
            let mut points = vec![0, horizon_us];
            if let Some((_, at, _)) = self.step {
                points.extend([at.saturating_sub(1).max(0), at]);
            }
            for t in points {
                let o = self.offset_us(w, t);
                low = low.min(o + jlow);
                high = high.max(o + jhigh);
            }
        }
        Some(high - low)
    }
}

/// Truncates a clock reading to the timestamp granularity (floor, also for negative readings).
pub fn truncate_to(t_us: i64, granularity_us: i64) -> i64 {
    t_us.div_euclid(granularity_us) * granularity_us
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ClockStep, Micros, Writers};
    use rand::SeedableRng;

    #[test]
    fn truncation_floors_negative_readings() {
        assert_eq!(truncate_to(1_999_999, 1_000_000), 1_000_000);
        assert_eq!(truncate_to(-1, 1_000_000), -1_000_000);
    }

    #[test]
    fn step_applies_from_its_time_on() {
        let spec = Writers {
            count: 2,
            offsets: Some(vec![Micros(0), Micros(5_000_000)]),
            step: Some(ClockStep {
                writer: 1,
                at: Micros(60_000_000),
                by: Micros(-5_000_000),
            }),
            ..Writers::default()
        };
        let clocks = WriterClocks::new(&spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
        assert_eq!(clocks.offset_us(1, 59_999_999), 5_000_000);
        assert_eq!(clocks.offset_us(1, 60_000_000), 0);
        assert_eq!(clocks.offset_us(0, 60_000_000), 0);
        assert_eq!(clocks.offset_spread_us(120_000_000), Some(5_000_000));
    }

    #[test]
    fn drift_grows_with_true_time() {
        let spec = Writers {
            drift_ppm: 100.0,
            ..Writers::default()
        };
        let clocks = WriterClocks::new(&spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
        assert_eq!(clocks.offset_us(0, 10_000_000), 1_000);
    }
}
