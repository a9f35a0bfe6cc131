//! Where two cost curves meet: the churn (or table size) at which an incremental strategy's
//! per-run cost reaches full reprocessing's.
//!
//! Both curves are sampled at the same sweep points. The crossing is found on the difference
//! `incremental - full` between the first pair of neighbouring points where it goes from below
//! zero to zero or above, interpolated linearly in `log(x)`: sweep axes are geometric
//! (0.1%, 1%, 10%), so a straight line in log space is the honest guess between two points.

/// The first `x` at which `incremental` reaches `full`, or `None` when it stays below (or
/// starts at or above) across the whole range. `xs` must be ascending and positive.
pub fn crossing(xs: &[f64], incremental: &[f64], full: &[f64]) -> Option<f64> {
    debug_assert_eq!(xs.len(), incremental.len());
    debug_assert_eq!(xs.len(), full.len());
    let diff: Vec<f64> = incremental.iter().zip(full).map(|(i, f)| i - f).collect();
    if diff.first().is_none_or(|&d| d >= 0.0) {
        // Incremental never pays in this range (or there is nothing to compare).
        return None;
    }
    for k in 1..xs.len() {
        let (d0, d1) = (diff[k - 1], diff[k]);
        if d0 < 0.0 && d1 >= 0.0 {
            let (l0, l1) = (xs[k - 1].ln(), xs[k].ln());
            let t = d0 / (d0 - d1);
            return Some((l0 + t * (l1 - l0)).exp());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_known_crossing_in_log_space() {
        // incremental - full = ln(x) - ln(0.05): zero exactly at x = 5%.
        let xs = [0.001, 0.01, 0.1, 1.0];
        let full = [10.0; 4];
        let incremental: Vec<f64> = xs
            .iter()
            .map(|x: &f64| 10.0 + x.ln() - 0.05f64.ln())
            .collect();
        let at = crossing(&xs, &incremental, &full).unwrap();
        assert!((at - 0.05).abs() < 1e-9, "{at}");
    }

    #[test]
    fn curves_that_never_meet_have_no_crossing() {
        let xs = [0.001, 0.01, 0.1, 1.0];
        assert_eq!(crossing(&xs, &[1.0, 2.0, 3.0, 4.0], &[10.0; 4]), None);
        // Already more expensive at the smallest churn: no crossing inside the range either.
        assert_eq!(crossing(&xs, &[11.0, 12.0, 13.0, 14.0], &[10.0; 4]), None);
    }

    #[test]
    fn a_point_exactly_on_the_reference_is_the_crossing() {
        let xs = [0.01, 0.1, 1.0];
        let at = crossing(&xs, &[5.0, 10.0, 20.0], &[10.0; 3]).unwrap();
        assert!((at - 0.1).abs() < 1e-12, "{at}");
    }
}
