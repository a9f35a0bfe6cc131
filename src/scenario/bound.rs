//! A numeric expectation: `0` (exactly), `{ at_most = 5 }`, `{ at_least = 1 }`, or both bounds.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub at_least: Option<u64>,
    pub at_most: Option<u64>,
}

impl Bound {
    pub fn exactly(n: u64) -> Self {
        Bound {
            at_least: Some(n),
            at_most: Some(n),
        }
    }

    pub fn holds(&self, actual: u64) -> bool {
        self.at_least.is_none_or(|lo| actual >= lo) && self.at_most.is_none_or(|hi| actual <= hi)
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.at_least, self.at_most) {
            (Some(lo), Some(hi)) if lo == hi => write!(f, "= {lo}"),
            (Some(lo), Some(hi)) => write!(f, "between {lo} and {hi}"),
            (Some(lo), None) => write!(f, "≥ {lo}"),
            (None, Some(hi)) => write!(f, "≤ {hi}"),
            (None, None) => write!(f, "anything"),
        }
    }
}

impl Serialize for Bound {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if let (Some(lo), Some(hi)) = (self.at_least, self.at_most) {
            if lo == hi {
                return serializer.serialize_u64(lo);
            }
        }
        let mut map = serializer.serialize_map(None)?;
        if let Some(lo) = self.at_least {
            map.serialize_entry("at_least", &lo)?;
        }
        if let Some(hi) = self.at_most {
            map.serialize_entry("at_most", &hi)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Bound {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundVisitor;
        impl<'de> Visitor<'de> for BoundVisitor {
            type Value = Bound;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count (0) or a table like { at_most = 5 } / { at_least = 1 }")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bound, E> {
                Ok(Bound::exactly(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bound, E> {
                u64::try_from(v)
                    .map(Bound::exactly)
                    .map_err(|_| E::custom(format!("a count cannot be negative, got {v}")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bound, A::Error> {
                let mut bound = Bound {
                    at_least: None,
                    at_most: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    let value: i64 = map.next_value()?;
                    let value = u64::try_from(value).map_err(|_| {
                        de::Error::custom(format!("`{key}` cannot be negative, got {value}"))
                    })?;
                    match key.as_str() {
                        "at_least" => bound.at_least = Some(value),
                        "at_most" => bound.at_most = Some(value),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown bound `{other}`, expected `at_least` or `at_most`"
                            )))
                        }
                    }
                }
                if bound.at_least.is_none() && bound.at_most.is_none() {
                    return Err(de::Error::custom("give `at_least`, `at_most` or both"));
                }
                if let (Some(lo), Some(hi)) = (bound.at_least, bound.at_most) {
                    if lo > hi {
                        return Err(de::Error::custom(format!(
                            "at_least ({lo}) is greater than at_most ({hi})"
                        )));
                    }
                }
                Ok(bound)
            }
        }
        deserializer.deserialize_any(BoundVisitor)
    }
}
