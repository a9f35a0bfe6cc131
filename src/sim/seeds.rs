//! Sub-seeds: one scenario seed, one independent random stream per concern.
//!
//! Deriving each stream from `(seed, concern)` with a hash means adding draws to one concern
//! (say, a new fault) never shifts the numbers another concern sees, so histories stay
//! comparable across incrlab versions that only touched one part of the model.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random streams of the simulation. The names are part of the reproducibility contract:
/// renaming one changes every history generated from a seed.
#[derive(Debug, Clone, Copy)]
pub enum Concern {
    /// Which rows change, their operations, keys and values.
    Data,
    /// When transactions begin.
    BeginTimes,
    /// Writer clock offsets and per-transaction clock jitter.
    Clocks,
    /// Commit delays and which transactions run long.
    Delays,
    /// Where runs crash (`[faults]`).
    Faults,
    /// Which inserts carry a late `event_time`, and how late.
    EventTimes,
    /// Which updates land by rewriting a file in place (`[landing]`).
    Landing,
}

impl Concern {
    fn name(self) -> &'static str {
        match self {
            Concern::Data => "data",
            Concern::BeginTimes => "begin_times",
            Concern::Clocks => "clocks",
            Concern::Delays => "delays",
            Concern::Faults => "faults",
            Concern::EventTimes => "event_times",
            Concern::Landing => "landing",
        }
    }
}

/// The seed of one concern's stream.
pub fn sub_seed(seed: u64, concern: Concern) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"incrlab/sub-seed/v1/");
    hasher.update(concern.name().as_bytes());
    hasher.update(&seed.to_le_bytes());
    let digest = hasher.finalize();
    u64::from_le_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// A portable RNG for one concern and one named case within it (say, a strategy's run and
/// attempt), so a draw does not depend on how many draws came before it.
pub fn rng_for_case(seed: u64, concern: Concern, case: &[u8]) -> ChaCha8Rng {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"incrlab/case/v1/");
    hasher.update(&sub_seed(seed, concern).to_le_bytes());
    hasher.update(case);
    let digest = hasher.finalize();
    ChaCha8Rng::from_seed(*digest.as_bytes())
}

/// A portable RNG (same numbers on every platform) for one concern.
pub fn rng_for(seed: u64, concern: Concern) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(sub_seed(seed, concern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concerns_get_different_seeds() {
        assert_ne!(sub_seed(1, Concern::Data), sub_seed(1, Concern::Clocks));
        assert_ne!(sub_seed(1, Concern::Data), sub_seed(2, Concern::Data));
        assert_eq!(sub_seed(7, Concern::Delays), sub_seed(7, Concern::Delays));
    }
}
