//! The simulated world: writer clocks, transactions, the ground-truth history.
//!
//! Invariant: this module knows nothing of engines, strategies or verification. It turns a
//! scenario and a seed into a [`History`] and nothing else.

mod audit;
mod clock;
mod column;
mod export;
mod generator;
mod history;
mod live_keys;
mod seeds;

pub use audit::{audit, Audit};
pub use clock::{truncate_to, WriterClocks};
pub use column::PrefixColumn;
pub use export::{history_frame, write_history_parquet};
pub use generator::{generate, generate_timed, GenerationTimes};
pub use history::{History, Op};
pub use seeds::{rng_for, rng_for_case, sub_seed, Concern};
