//! Where a strategy's state lives between runs.
//!
//! - `json_file`: a JSON file replaced atomically (temp file, fsync, rename), so a crash at
//!   any instant leaves either the previous state or the new one. It commits on its own, so
//!   the order of data and state commits matters (see `CommitOrder`).
//! - `target_table`: a one-row table in the target's own database, written in the data's
//!   transaction: data and state cannot disagree after any crash.

use std::path::PathBuf;

use crate::engine::{TargetId, Targets};
use crate::error::{Error, Result};
use crate::fs_atomic::write_atomic;
use crate::scenario::StateStoreKind;
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
            Ok(bytes) => parse(&bytes, || self.path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StrategyState::default()),
            Err(e) => Err(Error::io("cannot read strategy state", &self.path, e)),
        }
    }

    pub fn save(&self, state: &StrategyState) -> Result<()> {
        write_atomic(&self.path, &serialize(state))
    }
}

/// A strategy's state store, of either kind.
pub enum StateStore {
    JsonFile(JsonFileStore),
    /// The state lives in `incrlab_state` of this target's database.
    TargetTable(TargetId),
}

impl StateStore {
    /// The store a strategy asked for; a JSON file goes to `json_path`.
    pub fn new(kind: StateStoreKind, target: TargetId, json_path: PathBuf) -> Self {
        match kind {
            StateStoreKind::JsonFile => StateStore::JsonFile(JsonFileStore::new(json_path)),
            StateStoreKind::TargetTable => StateStore::TargetTable(target),
        }
    }

    /// Whether the state commits in the data's transaction (rather than on its own).
    pub fn shares_data_transaction(&self) -> bool {
        matches!(self, StateStore::TargetTable(_))
    }

    pub fn load(&self, engine: &mut (impl Targets + ?Sized)) -> Result<StrategyState> {
        match self {
            StateStore::JsonFile(store) => store.load(),
            StateStore::TargetTable(target) => match engine.load_state(*target)? {
                Some(text) => parse(text.as_bytes(), || {
                    PathBuf::from(format!("t{}.incrlab_state", target.0))
                }),
                None => Ok(StrategyState::default()),
            },
        }
    }

    /// Persists `state`. For `target_table` it becomes durable with the open transaction's
    /// commit (or at once when none is open).
    pub fn save(&self, engine: &mut (impl Targets + ?Sized), state: &StrategyState) -> Result<()> {
        match self {
            StateStore::JsonFile(store) => store.save(state),
            StateStore::TargetTable(target) => {
                let text = String::from_utf8(serialize(state)).expect("JSON is UTF-8");
                engine.save_state(*target, &text)
            }
        }
    }
}

fn serialize(state: &StrategyState) -> Vec<u8> {
    serde_json::to_vec_pretty(state).expect("state always serializes")
}

fn parse(bytes: &[u8], path: impl FnOnce() -> PathBuf) -> Result<StrategyState> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        context: "cannot parse strategy state".into(),
        path: path(),
        source,
    })
}
