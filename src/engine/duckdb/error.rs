//! DuckDB's errors leave the engine as the engine-neutral [`Error::Engine`], carrying what
//! incrlab was doing and DuckDB's own message.

use crate::error::{Error, Result};

/// The name engine errors carry.
pub(super) const ENGINE: &str = "duckdb";

/// Attaches "what incrlab was doing" to DuckDB errors at the call site.
pub(super) trait DuckDbContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> DuckDbContext<T> for std::result::Result<T, duckdb::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Engine {
            engine: ENGINE,
            context: what(),
            message: source.to_string(),
        })
    }
}
