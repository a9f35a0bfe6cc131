//! The keys updates and deletes may pick from: committed, not deleted.
//!
//! A vector for O(1) sampling by position plus a position index for O(1) removal. Removal swaps
//! the last key into the hole, so positions (and with them the Zipf "hot" ranks) move in a way
//! fixed by the history alone: deterministic, never dependent on hashing.

use rand::Rng;
use rand_distr::{Distribution, Zipf};

#[derive(Debug, Default)]
pub struct LiveKeys {
    keys: Vec<i64>,
    /// `position[id]` = index in `keys`, or `u32::MAX` when the key is not live.
    position: Vec<u32>,
}

const ABSENT: u32 = u32::MAX;

impl LiveKeys {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    #[cfg(test)]
    pub fn contains(&self, id: i64) -> bool {
        self.position.get(id as usize).is_some_and(|&p| p != ABSENT)
    }

    /// A set holding `ids`, in that order (the order fixes the Zipf ranks).
    pub fn with_keys(ids: impl IntoIterator<Item = i64>) -> Self {
        let keys: Vec<i64> = ids.into_iter().collect();
        let max = keys.iter().copied().max().unwrap_or(0) as usize;
        let mut position = vec![ABSENT; max + 1];
        for (pos, &id) in keys.iter().enumerate() {
            position[id as usize] = pos as u32;
        }
        LiveKeys { keys, position }
    }

    pub fn insert(&mut self, id: i64) {
        let slot = id as usize;
        if slot >= self.position.len() {
            self.position.resize(slot + 1, ABSENT);
        }
        debug_assert_eq!(self.position[slot], ABSENT, "key {id} inserted twice");
        self.position[slot] = self.keys.len() as u32;
        self.keys.push(id);
    }

    pub fn remove(&mut self, id: i64) {
        let pos = self.position[id as usize];
        debug_assert_ne!(pos, ABSENT, "key {id} removed but not live");
        let last = *self.keys.last().expect("non-empty");
        self.keys.swap_remove(pos as usize);
        if last != id {
            self.position[last as usize] = pos;
        }
        self.position[id as usize] = ABSENT;
    }
}

/// Picks keys uniformly (skew 0) or by Zipf rank over the live positions (skew > 0).
pub struct KeyChooser {
    zipf: Option<Zipf<f64>>,
}

impl KeyChooser {
    pub fn new(live: &LiveKeys, skew: f64) -> Self {
        let zipf = (skew > 0.0 && !live.is_empty())
            .then(|| Zipf::new(live.len() as f64, skew).expect("validated: skew > 0, n ≥ 1"));
        KeyChooser { zipf }
    }

    /// A live key, or `None` when there is none. The chooser must be rebuilt when the live
    /// set shrinks (ranks beyond the end are clamped, so it stays in range meanwhile).
    pub fn pick(&self, live: &LiveKeys, rng: &mut impl Rng) -> Option<i64> {
        if live.is_empty() {
            return None;
        }
        let pos = match &self.zipf {
            Some(zipf) => (zipf.sample(rng) as usize - 1).min(live.len() - 1),
            None => rng.random_range(0..live.len()),
        };
        Some(live.keys[pos])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn remove_keeps_positions_consistent() {
        let mut live = LiveKeys::default();
        for id in 1..=5 {
            live.insert(id);
        }
        live.remove(2);
        live.remove(5);
        assert!(!live.contains(2) && !live.contains(5));
        for id in [1, 3, 4] {
            assert!(live.contains(id));
        }
        assert_eq!(live.len(), 3);
        live.insert(2);
        assert!(live.contains(2));
    }

    #[test]
    fn zipf_prefers_low_positions() {
        let mut live = LiveKeys::default();
        for id in 1..=1000 {
            live.insert(id);
        }
        let chooser = KeyChooser::new(&live, 1.5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let hot = (0..1000)
            .filter(|_| chooser.pick(&live, &mut rng) == Some(1))
            .count();
        assert!(hot > 200, "rank 1 drawn {hot} times of 1000");
    }
}
