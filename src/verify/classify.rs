//! The one classification rule, for every kind of target: what a key's rows say about it.
//!
//! The rule (docs/verification.md) looks only at whether the key should be present, how many
//! rows the target holds for it and whether any of them equals the expected row on every
//! column, so it cannot depend on the order the engine returned the rows in:
//!
//! | the source says | the target holds | counted |
//! |---|---|---|
//! | absent (deleted, or never there) | n ≥ 1 rows | 1 ghost, n − 1 duplicate |
//! | present | no row | 1 missing |
//! | present | n ≥ 1 rows, one of them exact | n − 1 duplicate |
//! | present | n ≥ 1 rows, none exact | 1 stale, n − 1 duplicate |

use serde::{Deserialize, Serialize};

use super::Divergence;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivergenceClass {
    Missing,
    Stale,
    Ghost,
    Duplicate,
}

/// What a target holds for one key, reduced to what the rule needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyFinding {
    /// Whether the source holds the key (a live row, or a day with live rows).
    pub expected: bool,
    /// How many rows the target holds for it.
    pub held: u32,
    /// Whether one of those rows equals the expected row on every column the target carries.
    pub exact: bool,
}

impl KeyFinding {
    /// Adds this key's divergence to `d`.
    pub fn count_into(&self, d: &mut Divergence) {
        let surplus = self.held.saturating_sub(1) as u64;
        match (self.expected, self.held) {
            (false, 0) => {}
            (false, _) => {
                d.ghost += 1;
                d.duplicate += surplus;
            }
            (true, 0) => d.missing += 1,
            (true, _) => {
                d.duplicate += surplus;
                if !self.exact {
                    d.stale += 1;
                }
            }
        }
    }

    /// Whether the key is wrong in any way.
    pub fn is_wrong(&self) -> bool {
        self.class().is_some()
    }

    /// The key's class in samples and explanations: the first of ghost, missing, stale,
    /// duplicate that applies (a stale key held twice is stale first).
    pub fn class(&self) -> Option<DivergenceClass> {
        match (self.expected, self.held) {
            (false, 0) => None,
            (false, _) => Some(DivergenceClass::Ghost),
            (true, 0) => Some(DivergenceClass::Missing),
            (true, _) if !self.exact => Some(DivergenceClass::Stale),
            (true, n) if n > 1 => Some(DivergenceClass::Duplicate),
            (true, _) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(f: KeyFinding) -> Divergence {
        let mut d = Divergence::default();
        f.count_into(&mut d);
        d
    }

    fn finding(expected: bool, held: u32, exact: bool) -> KeyFinding {
        KeyFinding {
            expected,
            held,
            exact,
        }
    }

    #[test]
    fn an_absent_key_held_three_times_is_one_ghost_and_two_duplicates() {
        let d = counted(finding(false, 3, false));
        assert_eq!((d.ghost, d.duplicate, d.total()), (1, 2, 3));
        assert_eq!(
            finding(false, 3, false).class(),
            Some(DivergenceClass::Ghost)
        );
    }

    #[test]
    fn a_present_key_held_by_no_row_is_missing() {
        let d = counted(finding(true, 0, false));
        assert_eq!((d.missing, d.total()), (1, 1));
    }

    #[test]
    fn a_present_key_held_three_times_with_one_exact_row_is_two_duplicates() {
        let d = counted(finding(true, 3, true));
        assert_eq!((d.duplicate, d.stale, d.total()), (2, 0, 2));
        assert_eq!(
            finding(true, 3, true).class(),
            Some(DivergenceClass::Duplicate)
        );
    }

    #[test]
    fn a_present_key_with_no_exact_row_is_stale_plus_its_surplus() {
        let d = counted(finding(true, 2, false));
        assert_eq!((d.stale, d.duplicate, d.total()), (1, 1, 2));
        assert_eq!(
            finding(true, 2, false).class(),
            Some(DivergenceClass::Stale)
        );
    }

    #[test]
    fn an_exact_single_row_and_an_absent_unheld_key_are_right() {
        assert!(counted(finding(true, 1, true)).is_exact());
        assert!(counted(finding(false, 0, false)).is_exact());
        assert!(!finding(true, 1, true).is_wrong());
    }
}
