//! An engine whose source is a real PostgreSQL and whose targets are DuckDB's: the history is
//! played into PostgreSQL (`play`), every read goes to PostgreSQL (`read`, `slot`) and is
//! staged into the DuckDB target it feeds, and writes, state and crashes are DuckDB's.
//!
//! When a target is `daily_totals`, DuckDB keeps its own copy of the source as well, brought
//! forward with the same committed changes: such a write recomputes the days it touches from
//! it, as a warehouse recomputes from its replica. Reads never come from that copy, and
//! without such a target it is not kept (it would double the cost of every advance).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use super::play::{PlayStats, Player};
use super::read::{read_table, row_width};
use super::server::Cluster;
use super::statements::pg_error;
use super::{slot, sql};
use crate::engine::duckdb::DuckDbEngine;
use crate::engine::{
    ChunkStats, Engine, KeyHashes, MirrorPrint, ReadRequest, ReadSpec, ReadStats, Source,
    TargetContents, TargetId, TargetRows, TargetTotals, Targets, WriteStats,
};
use crate::error::{Error, Result};
use crate::scenario::{TargetModel, WriteMode};
use crate::sim::History;

/// Where the PostgreSQL server comes from.
enum Server {
    /// A throwaway cluster of incrlab's own, stopped and removed when this drops.
    Owned(Cluster),
    /// An existing server: incrlab works in a schema of its own and drops it afterwards.
    Url(String),
}

impl Server {
    fn connect(&self) -> Result<Client> {
        let mut client = match self {
            Server::Owned(cluster) => cluster.connect()?,
            Server::Url(url) => Client::connect(url, NoTls)
                .map_err(|e| pg_error(&format!("cannot connect to {}", redact(url)), e))?,
        };
        // UTC, so decoded timestamps read back exactly; a bounded lock wait, so a statement
        // that would wait (a bug in the player's order) fails instead of hanging.
        client
            .batch_execute("SET TimeZone = 'UTC'; SET lock_timeout = '10s';")
            .map_err(|e| pg_error("setting up a connection", e))?;
        Ok(client)
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Set by `--keep-postgres`: a throwaway cluster is left running when its source drops.
static KEEP_CLUSTER: AtomicBool = AtomicBool::new(false);

/// Leaves the throwaway clusters of this process running when their sources drop, and prints
/// how to connect to each (`--keep-postgres`).
pub fn keep_clusters() {
    KEEP_CLUSTER.store(true, Ordering::Relaxed);
}

/// Schemas of this process, so two sources in one process never share one.
static NEXT_SCHEMA: AtomicU32 = AtomicU32::new(1);

pub struct PostgresSourced {
    /// Declared first: its connections (and the transactions they hold open) close before
    /// the server goes.
    player: Option<Player>,
    schema: String,
    slots: BTreeMap<TargetId, String>,
    /// The simulator's snapshot xmins (xmin watermarks) and PostgreSQL's xid for each.
    xid_map: BTreeMap<i64, i64>,
    targets: DuckDbEngine,
    /// Whether DuckDB keeps a copy of the source (a `daily_totals` target recomputes from it).
    keeps_copy: bool,
    /// Wall time of reads in PostgreSQL.
    read_time: Duration,
    server: Option<Server>,
}

impl PostgresSourced {
    /// Starts (or connects to) the server and creates the source's schema; `targets` holds
    /// the targets.
    pub(crate) fn open(url: Option<&str>, targets: DuckDbEngine) -> Result<PostgresSourced> {
        let server = match url {
            Some(url) => Server::Url(url.to_string()),
            None => Server::Owned(Cluster::start()?),
        };
        let schema = format!(
            "incrlab_{}_{}",
            std::process::id(),
            NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed)
        );
        let main = server.connect()?;
        let connect: super::play::Connect = match &server {
            Server::Owned(cluster) => {
                let conninfo = cluster.conninfo();
                Box::new(move || Server::Url(conninfo.clone()).connect())
            }
            Server::Url(url) => {
                let url = url.clone();
                Box::new(move || Server::Url(url.clone()).connect())
            }
        };
        let player = Player::create(&schema, main, connect)?;
        Ok(PostgresSourced {
            player: Some(player),
            schema,
            slots: BTreeMap::new(),
            xid_map: BTreeMap::new(),
            targets,
            keeps_copy: false,
            read_time: Duration::ZERO,
            server: Some(server),
        })
    }

    /// A source on a throwaway cluster (or the server at `url`) in front of in-memory DuckDB
    /// targets.
    pub fn start(url: Option<&str>) -> Result<PostgresSourced> {
        Self::open(url, DuckDbEngine::open_in_memory()?)
    }

    /// The simulated transactions really open in PostgreSQL now, with PostgreSQL's xid of
    /// each, by simulated xid.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.player
            .as_ref()
            .map(|p| p.open_transactions())
            .unwrap_or_default()
    }

    /// `pg_snapshot_xmin(pg_current_snapshot())` for a new reader: the oldest transaction
    /// still in flight, or the next xid.
    pub fn snapshot_xmin(&mut self) -> Result<i64> {
        let row = self
            .player()
            .main()
            .query_one(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
                &[],
            )
            .map_err(|e| Error::Postgres(format!("reading the snapshot's xmin: {e}")))?;
        Ok(row.get(0))
    }

    fn player(&mut self) -> &mut Player {
        self.player.as_mut().expect("the player lives until drop")
    }

    /// What the player did so far.
    pub fn play_stats(&self) -> PlayStats {
        self.player.as_ref().map(|p| p.stats).unwrap_or_default()
    }

    /// Reads `spec` from PostgreSQL: the table, or the target's replication slot.
    fn read_source(
        &mut self,
        target: TargetId,
        spec: &ReadSpec,
    ) -> Result<(super::read::ReadRows, u64, u64)> {
        let schema = self.schema.clone();
        if let ReadSpec::LogAfter(after) = spec {
            let slot = self.slots.get(&target).cloned().ok_or_else(|| {
                Error::Invariant(format!("target {} has no replication slot", target.0))
            })?;
            let (client, deletes) = self.player().main_and_deletes();
            let read = slot::read_after(client, &slot, &schema, *after, deletes)?;
            return Ok((read.rows, read.decoded_changes, read.decoded_bytes));
        }
        if let &ReadSpec::XidRange { from, to } = spec {
            // The simulator's xids mapped onto PostgreSQL's: `from` is a snapshot an earlier
            // read mapped (or 0), `to` is this one's.
            let real_to = self.real_snapshot_xmin(to)?;
            let real_from = match from {
                0 => 0,
                from => *self.xid_map.get(&from).ok_or_else(|| {
                    Error::Invariant(format!(
                        "xid watermark {from} was never a snapshot read here"
                    ))
                })?,
            };
            let select = sql::select_xid_range(&schema, real_from, real_to);
            let read = read_table(self.player().main(), &schema, &select, spec)?;
            if read.snapshot_xmin != real_to {
                return Err(Error::Postgres(format!(
                    "the reading snapshot's xmin is {}, not {real_to} (the simulator's {to}): PostgreSQL has other transactions in flight than the simulator",
                    read.snapshot_xmin
                )));
            }
            return Ok((read.rows, read.scanned, read.scanned * row_width()));
        }
        let select = sql::select_for(&schema, spec)
            .ok_or_else(|| Error::Invariant(format!("{spec:?} is not a read of the table")))?;
        let read = read_table(self.player().main(), &schema, &select, spec)?;
        Ok((read.rows, read.scanned, read.scanned * row_width()))
    }

    /// PostgreSQL's xid for the simulator's snapshot xmin `sim`: the real xid of the open
    /// transaction the simulator says is the oldest in flight, or, with none in flight,
    /// PostgreSQL's own next xid. Remembered, so a later read can start from it.
    fn real_snapshot_xmin(&mut self, sim: i64) -> Result<i64> {
        let open = self.open_transactions();
        let real = match open.iter().find(|&&(s, _)| s == sim) {
            Some(&(_, real)) => real,
            None if open.is_empty() => self.snapshot_xmin()?,
            None => {
                return Err(Error::Postgres(format!(
                    "the simulator's oldest transaction in flight is {sim}, but PostgreSQL holds {:?} open (simulated ids)",
                    open.iter().map(|&(s, _)| s).collect::<Vec<_>>()
                )))
            }
        };
        match self.xid_map.insert(sim, real) {
            Some(before) if before != real => Err(Error::Postgres(format!(
                "the simulator's snapshot xmin {sim} was PostgreSQL's {before} before and is {real} now"
            ))),
            _ => Ok(real),
        }
    }
}

impl Drop for PostgresSourced {
    fn drop(&mut self) {
        // Open transactions roll back as their connections close.
        drop(self.player.take());
        if let Some(Server::Url(url)) = &self.server {
            // Someone else's server: leave nothing of ours behind (best effort).
            if let Ok(mut client) = Server::Url(url.clone()).connect() {
                for slot in self.slots.values() {
                    let _ = client.execute("SELECT pg_drop_replication_slot($1)", &[slot]);
                }
                let _ = client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
            }
        }
        if let Some(Server::Owned(cluster)) = &mut self.server {
            if KEEP_CLUSTER.load(Ordering::Relaxed) {
                // Left for the user, with the open transactions rolled back and the source's
                // schema in place.
                eprintln!("{} (schema {})", cluster.keep(), self.schema);
            }
        }
        drop(self.server.take());
    }
}

impl Engine for PostgresSourced {
    fn name(&self) -> &'static str {
        "postgres"
    }
}

impl Source for PostgresSourced {
    fn activity(&self) -> Option<crate::engine::SourceActivity> {
        let p = self.play_stats();
        Some(crate::engine::SourceActivity {
            spanning_transactions: p.spanning_transactions,
            max_open_at_once: p.max_open_at_once,
            bulk_transactions: p.bulk_transactions,
            bulk_groups: p.bulk_groups,
            single_statements: p.single_statements,
            apply_ms: p.apply_time.as_secs_f64() * 1e3,
            load_ms: p.load_time.as_secs_f64() * 1e3,
            read_ms: self.read_time.as_secs_f64() * 1e3,
        })
    }

    fn apply_changes(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        let at_us = range
            .clone()
            .last()
            .map_or(0, |i| history.commit_us[i])
            .max(0);
        self.advance_to(history, range, at_us)
    }

    fn advance_to(&mut self, history: &History, range: Range<usize>, at_us: i64) -> Result<()> {
        if self.keeps_copy {
            self.targets.apply_changes(history, range.clone())?;
        }
        self.player().advance_to(history, range, at_us)
    }

    fn bare_copy_time(&mut self) -> Result<Duration> {
        let started = Instant::now();
        let schema = self.schema.clone();
        let select = sql::select_for(&schema, &ReadSpec::All).expect("a read of the table");
        read_table(self.player().main(), &schema, &select, &ReadSpec::All)?;
        Ok(started.elapsed())
    }

    fn generated_tables_time(&mut self, rows: u64) -> Result<Option<Duration>> {
        self.targets.generated_tables_time(rows)
    }
}

impl Targets for PostgresSourced {
    fn create_target(&mut self, target: TargetId, model: TargetModel) -> Result<()> {
        if self.player.as_ref().is_some_and(|p| p.loaded()) && model == TargetModel::DailyTotals {
            return Err(Error::Invariant(
                "a daily_totals target needs DuckDB's copy of the source from the initial load on: create it before the first advance".into(),
            ));
        }
        self.keeps_copy |= model == TargetModel::DailyTotals;
        self.targets.create_target(target, model)?;
        // Every target gets a slot before any change is played, so a `cdc` read sees the
        // whole history from the initial load on.
        let name = format!("{}_t{}", self.schema, target.0);
        slot::create(self.player().main(), &name)?;
        self.slots.insert(target, name);
        Ok(())
    }

    fn set_landing_dir(&mut self, dir: &Path) {
        self.targets.set_landing_dir(dir)
    }

    fn read(&mut self, target: TargetId, request: ReadRequest) -> Result<ReadStats> {
        if let ReadSpec::Files(_) = request.spec {
            return self.targets.read(target, request);
        }
        let started = Instant::now();
        let (rows, scanned, bytes) = self.read_source(target, &request.spec)?;
        self.read_time += started.elapsed();
        self.targets
            .stage_rows(target, request.spec, rows.into_batch(), (scanned, bytes))
    }

    fn write(&mut self, target: TargetId, mode: WriteMode) -> Result<WriteStats> {
        self.targets.write(target, mode)
    }

    fn stage_chunks(&mut self, target: TargetId, chunks: u32) -> Result<Vec<ChunkStats>> {
        self.targets.stage_chunks(target, chunks)
    }

    fn write_chunk(&mut self, target: TargetId, mode: WriteMode, chunk: u32) -> Result<WriteStats> {
        self.targets.write_chunk(target, mode, chunk)
    }

    fn begin(&mut self, target: TargetId) -> Result<()> {
        self.targets.begin(target)
    }

    fn commit(&mut self, target: TargetId) -> Result<()> {
        self.targets.commit(target)
    }

    fn save_state(&mut self, target: TargetId, state: &str) -> Result<()> {
        self.targets.save_state(target, state)
    }

    fn load_state(&mut self, target: TargetId) -> Result<Option<String>> {
        self.targets.load_state(target)
    }

    fn crash_and_reopen(&mut self, target: TargetId) -> Result<()> {
        self.targets.crash_and_reopen(target)
    }

    fn batch_rows_at(&mut self, target: TargetId, updated_at_us: i64) -> Result<Vec<[i64; 2]>> {
        self.targets.batch_rows_at(target, updated_at_us)
    }

    fn target_contents(&mut self, target: TargetId) -> Result<TargetContents> {
        self.targets.target_contents(target)
    }

    fn scan_target(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&TargetRows),
    ) -> Result<Option<TargetTotals>> {
        self.targets.scan_target(target, visit)
    }

    fn scan_key_hashes(
        &mut self,
        target: TargetId,
        visit: &mut dyn FnMut(&KeyHashes),
    ) -> Result<()> {
        self.targets.scan_key_hashes(target, visit)
    }

    fn target_rows_of_keys(&mut self, target: TargetId, ids: &[i64]) -> Result<TargetRows> {
        self.targets.target_rows_of_keys(target, ids)
    }

    fn mirror_print(&mut self, target: TargetId) -> Result<Option<MirrorPrint>> {
        self.targets.mirror_print(target)
    }

    fn sql_time(&self) -> Duration {
        self.targets.sql_time() + self.read_time
    }

    fn cpu_time(&self) -> Duration {
        self.targets.cpu_time()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_url_in_a_message_hides_its_password() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
    }
}
