//! PostgreSQL as a source: a throwaway cluster that starts and stops itself (`server`), the
//! history played into it as real transactions (`play`), reads over binary `COPY` (`read`)
//! and from a logical replication slot (`slot`), the SQL they speak (`sql`) and the statements
//! the player sends (`statements`), and the engine
//! that puts them in front of DuckDB targets (`sourced`).

mod play;
mod read;
pub mod server;
mod slot;
mod sourced;
mod sql;
mod statements;

pub use play::PlayStats;
pub use server::{stop_all, Binaries, Cluster};
pub use sourced::{keep_clusters, PostgresSourced};
