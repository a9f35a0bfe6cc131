//! polars errors inside the polars engine leave it as the engine-neutral [`Error::Engine`],
//! like every engine's, carrying what incrlab was doing and polars' own message.

use crate::error::{Error, Result};

/// The name engine errors carry (and `[engine] kind` spells).
pub(super) const ENGINE: &str = "polars";

/// Attaches "what incrlab was doing" to polars errors at the call site.
pub(super) trait PolarsEngineContext<T> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PolarsEngineContext<T> for std::result::Result<T, polars::error::PolarsError> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Engine {
            engine: ENGINE,
            context: what(),
            message: source.to_string(),
        })
    }
}
