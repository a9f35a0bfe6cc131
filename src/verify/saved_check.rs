//! A check set aside: what it found, kept so it can be reinstated later without reading the
//! target again.
//!
//! The runner's final samples describe each wrong target as its last check saw it. The oracle
//! is shared by every lane, so by then it holds the last lane's check; reading each wrong
//! target back once more to redo its own cost a whole read of every lossy target per scenario
//! (a million rows each in the standard study). Only the keys that were not right are kept:
//! a key that was right is known without being stored (held once and exactly when the source
//! has it, not held when it does not), so the set aside is as small as what was wrong.

use std::collections::BTreeMap;

use super::Oracle;

/// What one check found for every key that was not right, and for keys the history never had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCheck {
    /// The history position the oracle had replayed to: a check is reinstated only there.
    applied: usize,
    matched: bool,
    /// (key slot, rows held, whether one of them was exact), for every key not right.
    not_right: Vec<(u32, u32, bool)>,
    foreign: BTreeMap<i64, u32>,
}

impl Oracle {
    /// The last check's findings, set aside.
    pub fn save_check(&self) -> SavedCheck {
        let not_right = if self.matched {
            Vec::new()
        } else {
            (1..self.held.len())
                .filter(|&slot| (self.held[slot], self.exact[slot]) != self.right_at(slot))
                .map(|slot| (slot as u32, self.held[slot], self.exact[slot]))
                .collect()
        };
        SavedCheck {
            applied: self.applied,
            matched: self.matched,
            not_right,
            foreign: self.foreign.clone(),
        }
    }

    /// Makes `saved` the last check again, as if its target had just been fed. The oracle
    /// must stand where it stood when the check was saved: the keys not stored are right
    /// against the source as of then.
    pub fn restore_check(&mut self, saved: &SavedCheck) -> crate::error::Result<()> {
        if saved.applied != self.applied {
            return Err(crate::error::Error::Invariant(format!(
                "a check saved at history position {} reinstated at {}",
                saved.applied, self.applied
            )));
        }
        self.matched = saved.matched;
        self.foreign = saved.foreign.clone();
        if saved.matched {
            // A settled check reads no per-key finding (`finding`), as after a matching print.
            return Ok(());
        }
        // Every slot is written (slot 0 is no key, and no check ever counts it), so nothing
        // of the check in between survives.
        for slot in 1..self.held.len() {
            (self.held[slot], self.exact[slot]) = self.right_at(slot);
        }
        for &(slot, held, exact) in &saved.not_right {
            self.held[slot as usize] = held;
            self.exact[slot as usize] = exact;
        }
        Ok(())
    }

    /// What a right target holds for key slot `slot`: the key once and exactly when the source
    /// has it, nothing when it does not (`feed` never marks a key the source lacks exact).
    fn right_at(&self, slot: usize) -> (u32, bool) {
        let expected = self.expected_lsn[slot] != 0;
        (u32::from(expected), expected)
    }
}
