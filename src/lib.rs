//! incrlab: a lab for incremental data processing.
//!
//! Simulates a source with churn, late transactions and skewed clocks ([`sim`]); runs
//! change-detection strategies ([`strategy`]) on a real engine ([`engine`]); verifies every
//! target against full reprocessing ([`verify`]); reports what was lost and what it cost
//! ([`results`], [`report`]). See ARCHITECTURE.md for the map and its invariants.

pub mod allocator;
pub mod check;
pub mod cost;
pub mod engine;
pub mod error;
pub mod expect;
pub mod explain;
pub mod explain_key;
pub mod faults;
pub mod fidelity;
pub mod footprint;
pub mod frame_files;
pub mod fs_atomic;
pub mod landing;
pub mod machine;
pub mod matrix;
pub mod median;
pub mod owned_dir;
pub mod pipeline;
pub mod report;
pub mod results;
pub mod row;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod state_store;
pub mod strategy;
pub mod sweep;
pub mod timeline;
pub mod verify;

pub use error::{Error, Result};
