//! PostgreSQL as a source: a throwaway cluster that starts and stops itself (`server`).
//!
//! The source that plays the history into it as real transactions builds on this (issue
//! "A real PostgreSQL source"); today the cluster is what exists.

pub mod server;

pub use server::{stop_all, Binaries, Cluster};
