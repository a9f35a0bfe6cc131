//! Outside pipelines: a team's own command (dlt, dbt, a SQL script…) run against the simulated
//! source, one process per attempt. This module is the contract with that process — what it
//! is told (`contract.rs`), how it is started, answered and killed (`process.rs`), and the
//! registry that lets an interrupted incrlab kill what is still running (`live.rs`). The
//! runner's `PipelineLane` drives it run by run and the oracle judges its target.
//!
//! Invariant: a pipeline never outlives the attempt that started it (its whole process group
//! is killed when the attempt ends, at its timeout, on a planned kill and on Ctrl-C).

mod contract;
mod live;
mod process;

pub use contract::{contract_env, rfc3339, ContractPaths};
pub use live::install_interrupt_handler;
pub use process::{create_points_fifo, launch, Ending, Launch, Outcome, CONTINUE, POINT_PREFIX};
