//! Numbers as a person would write them, for axes, tables and sentences.

/// A percentage with as many decimals as small values need (0.1%, 2%, 50%).
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p >= 10.0 || p == p.round() {
        format!("{p:.0}%")
    } else if p >= 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{}%", trim(format!("{p:.3}")))
    }
}

/// A price in currency units, with the precision small per-run prices need ($0.0042).
pub fn money(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        let digits = (-v.log10()).ceil() as usize + 1;
        trim(format!("{v:.digits$}"))
    }
}

/// Milliseconds on a log axis: 0.5 ms, 20 ms, 1.5 s.
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", trim(format!("{:.2}", ms / 1000.0)))
    } else if ms >= 1.0 {
        format!("{} ms", trim(format!("{ms:.1}")))
    } else {
        format!("{} ms", trim(format!("{ms:.3}")))
    }
}

/// A count with SI suffixes: 100K, 1M, 1.5M.
pub fn count(n: f64) -> String {
    let (v, suffix) = if n >= 1e9 {
        (n / 1e9, "G")
    } else if n >= 1e6 {
        (n / 1e6, "M")
    } else if n >= 1e3 {
        (n / 1e3, "K")
    } else {
        (n, "")
    };
    format!("{}{suffix}", trim(format!("{v:.1}")))
}

/// Seconds for a time axis: 90 s, 12.5 s.
pub fn seconds(us: f64) -> String {
    format!("{} s", trim(format!("{:.1}", us / 1e6)))
}

fn trim(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A crossover's crossing as text, or its verdict when the curves do not cross.
pub fn crossover_value(c: &crate::sweep::Crossover) -> String {
    c.value
        .map_or(c.verdict.name().to_string(), |v| crossing_value(c, v))
}

/// The range of a crossover's per-seed crossings as text (`None` when no seed crosses).
pub fn crossover_spread(c: &crate::sweep::Crossover) -> Option<String> {
    match (c.low, c.high) {
        (Some(lo), Some(hi)) => Some(format!(
            "{} – {}",
            crossing_value(c, lo),
            crossing_value(c, hi)
        )),
        _ => None,
    }
}

/// Whether a crossover's strategy may be recommended on its axis: `yes`, or what it loses.
pub fn eligibility(c: &crate::sweep::Crossover) -> String {
    if c.is_eligible() {
        "yes".to_string()
    } else {
        format!(
            "loses data: not eligible (at {} of {} settings; up to {} keys)",
            c.settings - c.eligible_settings,
            c.settings,
            count(c.worst_permanent_total as f64)
        )
    }
}

/// A crossing value as a reader wants it: a percentage of churn, or a row count.
pub fn crossing_value(c: &crate::sweep::Crossover, v: f64) -> String {
    if c.axis == "rows" {
        format!("{v:.0} rows")
    } else {
        percent(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_the_decimals_small_values_need() {
        assert_eq!(percent(0.001), "0.1%");
        assert_eq!(percent(0.005), "0.5%");
        assert_eq!(percent(0.02), "2%");
        assert_eq!(percent(0.0133), "1.3%");
        assert_eq!(percent(1.0), "100%");
    }

    #[test]
    fn counts_and_times_read_like_a_person_wrote_them() {
        assert_eq!(count(100_000.0), "100K");
        assert_eq!(count(1_500_000.0), "1.5M");
        assert_eq!(millis(1500.0), "1.5 s");
        assert_eq!(millis(20.0), "20 ms");
        assert_eq!(seconds(90_000_000.0), "90 s");
        assert_eq!(money(0.0042), "0.0042");
        assert_eq!(money(12.345), "12.35");
    }
}
