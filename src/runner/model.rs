//! A pipeline against the built-in strategy it claims to behave like: the same permanent
//! wrong keys, each in the same class, or the keys where they part.

use crate::results::{KeyDifference, ModelComparison};
use crate::verify::DivergenceClass;

/// Differing keys listed in results; the count covers them all.
pub const MAX_DIFFERENCES: usize = 50;

/// Compares two lists of wrong keys, each sorted by id.
pub(super) fn compare(
    model: &str,
    pipeline: &[(i64, DivergenceClass)],
    of_model: &[(i64, DivergenceClass)],
) -> ModelComparison {
    let (mut i, mut j) = (0, 0);
    let mut differing = 0u64;
    let mut differences = Vec::new();
    let mut note = |id, pipeline, model| {
        differing += 1;
        if differences.len() < MAX_DIFFERENCES {
            differences.push(KeyDifference {
                id,
                pipeline,
                model,
            });
        }
    };
    while i < pipeline.len() || j < of_model.len() {
        match (pipeline.get(i), of_model.get(j)) {
            (Some(&(a, ca)), Some(&(b, cb))) if a == b => {
                if ca != cb {
                    note(a, Some(ca), Some(cb));
                }
                i += 1;
                j += 1;
            }
            (Some(&(a, ca)), Some(&(b, _))) if a < b => {
                note(a, Some(ca), None);
                i += 1;
            }
            (Some(&(a, ca)), None) => {
                note(a, Some(ca), None);
                i += 1;
            }
            (_, Some(&(b, cb))) => {
                note(b, None, Some(cb));
                j += 1;
            }
            (None, None) => unreachable!("the loop condition"),
        }
    }
    ModelComparison {
        model: model.to_string(),
        same: differing == 0,
        pipeline_wrong_keys: pipeline.len() as u64,
        model_wrong_keys: of_model.len() as u64,
        differing_keys: differing,
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DivergenceClass::{Missing, Stale};

    #[test]
    fn the_same_keys_in_the_same_classes_are_the_same() {
        let keys = [(3, Missing), (9, Stale)];
        let c = compare("m", &keys, &keys);
        assert!(c.same);
        assert_eq!((c.differing_keys, c.pipeline_wrong_keys), (0, 2));
    }

    #[test]
    fn a_key_wrong_in_one_only_or_in_another_class_differs() {
        let pipeline = [(1, Missing), (4, Stale), (7, Missing)];
        let model = [(4, Missing), (7, Missing), (8, Stale)];
        let c = compare("m", &pipeline, &model);
        assert!(!c.same);
        let ids: Vec<i64> = c.differences.iter().map(|d| d.id).collect();
        assert_eq!(ids, [1, 4, 8]);
        assert_eq!(c.differences[1].pipeline, Some(Stale));
        assert_eq!(c.differences[1].model, Some(Missing));
        assert_eq!(c.differences[2].pipeline, None);
    }
}
