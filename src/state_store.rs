//! Where a strategy's state lives between runs: a JSON file, replaced atomically, so a crash
//! at any instant leaves either the previous state or the new one.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::strategy::StrategyState;

pub struct JsonFileStore {
    path: PathBuf,
}

impl JsonFileStore {
    pub fn new(path: PathBuf) -> Self {
        JsonFileStore { path }
    }

    /// The persisted state, or the initial state when nothing was persisted yet.
    pub fn load(&self) -> Result<StrategyState> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                context: "cannot parse strategy state".into(),
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StrategyState::default()),
            Err(e) => Err(Error::io("cannot read strategy state", &self.path, e)),
        }
    }

    pub fn save(&self, state: &StrategyState) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(state).expect("state always serializes");
        write_atomic(&self.path, &bytes)
    }
}
