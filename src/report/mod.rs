//! Presenting results. Invariant: reports read [`RunResults`](crate::results::RunResults)
//! (or the files they were saved to), never live engines or simulations.

pub mod bench;
pub mod terminal;
