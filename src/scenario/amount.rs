//! How much churn per interval: an absolute count of rows, or a fraction of the live rows.
//!
//! In a scenario file an integer is a count (`500`), a float is a fraction (`0.01`), and text
//! with a percent sign is a percentage (`"1%"`). Keeping the three apart in the type means the
//! generator never has to guess what `1` meant.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Count(u64),
    /// A fraction of the rows live at the start of the interval, `0.0..`.
    Fraction(f64),
}

impl Default for Amount {
    fn default() -> Self {
        Amount::Count(0)
    }
}

impl Amount {
    /// Resolves the amount against the number of live rows, rounding fractions to the nearest row.
    pub fn rows(self, live_rows: u64) -> u64 {
        match self {
            Amount::Count(n) => n,
            Amount::Fraction(f) => (f * live_rows as f64).round() as u64,
        }
    }

    pub fn is_zero(self) -> bool {
        match self {
            Amount::Count(n) => n == 0,
            Amount::Fraction(f) => f == 0.0,
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Count(n) => write!(f, "{n}"),
            Amount::Fraction(x) => write!(f, "{}%", x * 100.0),
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Amount::Count(n) => serializer.serialize_u64(*n),
            Amount::Fraction(x) => serializer.serialize_f64(*x),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a row count (500), a fraction of live rows (0.01) or a percentage (\"1%\")",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                if v < 0 {
                    return Err(E::custom(format!("must not be negative, got {v}")));
                }
                Ok(Amount::Count(v as u64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount::Count(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                if !v.is_finite() || v < 0.0 {
                    return Err(E::custom(format!(
                        "a fraction must be a finite number ≥ 0, got {v}"
                    )));
                }
                Ok(Amount::Fraction(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                let number = v.trim().strip_suffix('%').ok_or_else(|| {
                    E::custom(format!(
                        "`{v}`: text amounts are percentages and end with `%`, like \"1%\""
                    ))
                })?;
                let percent: f64 = number
                    .trim()
                    .parse()
                    .map_err(|_| E::custom(format!("`{v}` is not a percentage")))?;
                self.visit_f64(percent / 100.0)
            }
        }
        deserializer.deserialize_any(AmountVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        a: Amount,
    }

    fn parse(value: &str) -> Result<Amount, String> {
        toml::from_str::<Holder>(&format!("a = {value}"))
            .map(|h| h.a)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_are_counts_floats_are_fractions_text_is_percent() {
        assert_eq!(parse("500").unwrap(), Amount::Count(500));
        assert_eq!(parse("0.01").unwrap(), Amount::Fraction(0.01));
        assert_eq!(parse("\"2.5%\"").unwrap(), Amount::Fraction(0.025));
    }

    #[test]
    fn fractions_resolve_against_live_rows() {
        assert_eq!(Amount::Fraction(0.01).rows(1_000_000), 10_000);
        assert_eq!(Amount::Count(7).rows(1_000_000), 7);
    }

    #[test]
    fn negative_and_malformed_amounts_are_rejected() {
        assert!(parse("-3").unwrap_err().contains("must not be negative"));
        assert!(parse("-0.5").is_err());
        assert!(parse("\"ten\"").unwrap_err().contains("percentages"));
    }
}
