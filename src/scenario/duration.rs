//! Durations written as text in scenario files ("250ms", "5min", "2h", "-3s").
//!
//! Simulated time is integer microseconds everywhere in incrlab, so a duration is parsed once,
//! here, into microseconds. A leading `-` is allowed because clock offsets can be negative.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A signed span of simulated time, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub i64);

impl Micros {
    pub const ZERO: Micros = Micros(0);

    pub fn as_us(self) -> i64 {
        self.0
    }

    pub fn parse(text: &str) -> Result<Micros, String> {
        let trimmed = text.trim();
        let (negative, magnitude) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (
                false,
                trimmed.strip_prefix('+').unwrap_or(trimmed).trim_start(),
            ),
        };
        let parsed = humantime::parse_duration(magnitude).map_err(|e| {
            format!("invalid duration `{text}` ({e}); write it like \"250ms\", \"5min\", \"2h\" or \"-3s\"")
        })?;
        let us = i64::try_from(parsed.as_micros())
            .map_err(|_| format!("duration `{text}` is too large"))?;
        Ok(Micros(if negative { -us } else { us }))
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = std::time::Duration::from_micros(self.0.unsigned_abs());
        write!(f, "{sign}{}", humantime::format_duration(magnitude))
    }
}

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MicrosVisitor;
        impl Visitor<'_> for MicrosVisitor {
            type Value = Micros;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration as text, like \"250ms\", \"5min\" or \"-3s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Micros, E> {
                Micros::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(MicrosVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_signs() {
        assert_eq!(Micros::parse("250ms").unwrap(), Micros(250_000));
        assert_eq!(Micros::parse("5min").unwrap(), Micros(300_000_000));
        assert_eq!(Micros::parse("-3s").unwrap(), Micros(-3_000_000));
        assert_eq!(Micros::parse("+2h").unwrap(), Micros(7_200_000_000));
        assert_eq!(Micros::parse("7us").unwrap(), Micros(7));
    }

    #[test]
    fn rejects_text_without_unit() {
        assert!(Micros::parse("12").is_err());
        assert!(Micros::parse("soon").is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["0s", "250ms", "-3s", "1h 30m"] {
            let parsed = Micros::parse(text).unwrap();
            assert_eq!(Micros::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
