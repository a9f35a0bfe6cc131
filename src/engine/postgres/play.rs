//! Plays the history into PostgreSQL as real transactions, in true-time order.
//!
//! At each run tick `at`, the player brings the database to what a real OLTP database would
//! hold at that instant:
//! - a transaction that began by `at` and commits after it is *really open*: `BEGIN` on its
//!   own connection at its begin (taking a real xid), each statement at its statement time
//!   (its begin, or when the row lock it waited for was released), `COMMIT` at its commit;
//!   a statement whose lock is granted after `at` runs just before that commit;
//! - transactions that begin and commit between two ticks are applied in bulk, in commit
//!   order, one PostgreSQL transaction per run of them that no open transaction's event
//!   interrupts: no reader can tell the difference, and the cost follows the transactions
//!   that span a tick.
//!
//! Ids come from the table's sequence: every id the simulator drew by `at` is drawn from the
//! real sequence in begin order, and the run fails naming the first id that differs.
//!
//! Invariant: events run in (time, commits first, then begins, then statements) order, so a
//! statement never waits on a lock in PostgreSQL: the simulator already made it wait (per key
//! the statement times, commits and lsns are in one order). `lock_timeout` turns a violation
//! into an error instead of a hang.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::Client;

use super::sql::{self, TABLE};
use super::statements::pg_error;
use super::statements::{apply_rows, run_statement, source_types, RowParams};
use crate::error::{Error, Result};
use crate::row::EPOCH_US;
use crate::sim::{History, Op};

/// Opens a new connection to the source's database, set up for the player.
pub(super) type Connect = Box<dyn Fn() -> Result<Client> + Send>;

/// A simulated time as the instant PostgreSQL stores.
pub(super) fn system_time(us: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros((EPOCH_US + us) as u64)
}

/// An instant PostgreSQL returned, in simulated microseconds.
pub(super) fn simulated_us(t: SystemTime) -> i64 {
    let since = t
        .duration_since(UNIX_EPOCH)
        .expect("source times lie after 1970");
    since.as_micros() as i64 - EPOCH_US
}

/// The values of a hard delete, which a decoded `DELETE` (the key only) stands for.
#[derive(Debug, Clone, Copy)]
pub(super) struct DeleteRow {
    pub lsn: i64,
    pub updated_at_us: i64,
    pub writer: i32,
    pub value: i64,
    pub event_time_us: i64,
}

/// What the player did, for the bench and for explaining a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayStats {
    /// Transactions played as real open transactions (they spanned a tick).
    pub spanning_transactions: u64,
    /// The most transactions held open at once, at any tick.
    pub max_open_at_once: u64,
    /// Transactions applied in bulk between ticks.
    pub bulk_transactions: u64,
    /// PostgreSQL transactions the bulk ones were applied in.
    pub bulk_groups: u64,
    /// Statements run one by one (those of spanning transactions).
    pub single_statements: u64,
    /// Wall time spent in PostgreSQL applying the history, the initial load included.
    pub apply_time: Duration,
    /// Of `apply_time`, the initial load (its COPY, indexes and statistics).
    pub load_time: Duration,
}

/// One simulated transaction: its rows in lsn order.
#[derive(Debug)]
struct Tx {
    xid: i64,
    begin_us: i64,
    commit_us: i64,
    rows: Vec<usize>,
}

/// A transaction really open in PostgreSQL, on its own connection.
struct OpenTx {
    client: Client,
    /// Index into the plan's transactions.
    tx: usize,
    /// Which of its rows' statements have run.
    done: Vec<bool>,
    /// PostgreSQL's own id for it (`pg_current_xact_id()` at its begin).
    real_xid: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// Commit of a transaction applied in bulk (index into the plan).
    Apply(usize),
    /// Commit of an open transaction (its sim xid).
    Commit(i64),
    /// Begin of a transaction that spans the tick (index into the plan).
    Begin(usize),
    /// Begin of a transaction applied in bulk (index into the plan): it joins a bulk group.
    BulkBegin(usize),
    /// A statement of an open transaction: (sim xid, history row).
    Statement(i64, usize),
}

impl Event {
    /// At one instant: commits first (a lock released is granted at that instant), then
    /// begins, then statements.
    fn priority(&self) -> u8 {
        match self {
            Event::Apply(_) | Event::Commit(_) => 0,
            Event::Begin(_) | Event::BulkBegin(_) => 1,
            Event::Statement(..) => 2,
        }
    }
}

/// Transactions applied in bulk together: one PostgreSQL transaction, begun (and given its
/// xid) when its first member began, so its xid sorts among the open transactions' as its
/// members' simulated xids do. Its members' changes wait in `pending` until it is flushed.
struct BulkGroup {
    client: Client,
    /// Spanning begins seen when it opened: a bulk transaction begun after another spanning
    /// begin needs a later xid, so a group of its own.
    opened_after: u64,
    /// History rows of members that committed, to apply at the flush.
    pending: Vec<usize>,
    keys: std::collections::BTreeSet<i64>,
}

pub(super) struct Player {
    schema: String,
    main: Client,
    connect: Connect,
    idle: Vec<Client>,
    open: BTreeMap<i64, OpenTx>,
    /// Bulk groups open now, by the order they opened in.
    groups: BTreeMap<u64, BulkGroup>,
    next_group: u64,
    /// Which group each bulk transaction begun so far joined (plan index → group).
    group_of: BTreeMap<usize, u64>,
    spanning_begins: u64,
    /// Every transaction after the initial load, in (begin, xid) order.
    txs: Vec<Tx>,
    /// The first transaction of `txs` not yet begun.
    next_tx: usize,
    loaded: bool,
    /// Hard deletes played so far, by key (a key is deleted at most once).
    deletes: BTreeMap<i64, DeleteRow>,
    pub stats: PlayStats,
}

impl Player {
    /// Creates the schema and its table on `main`.
    pub fn create(schema: &str, mut main: Client, connect: Connect) -> Result<Player> {
        main.batch_execute(&sql::create_schema(schema))
            .map_err(|e| pg_error(&format!("creating schema {schema}"), e))?;
        Ok(Player {
            schema: schema.to_string(),
            main,
            connect,
            idle: Vec::new(),
            open: BTreeMap::new(),
            groups: BTreeMap::new(),
            next_group: 0,
            group_of: BTreeMap::new(),
            spanning_begins: 0,
            txs: Vec::new(),
            next_tx: 0,
            loaded: false,
            deletes: BTreeMap::new(),
            stats: PlayStats::default(),
        })
    }

    /// Whether the initial load has been played.
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// The connection reads run on (never inside a played transaction between calls).
    pub fn main(&mut self) -> &mut Client {
        &mut self.main
    }

    /// The reading connection and the deletes played so far (a decoded delete's values).
    pub fn main_and_deletes(&mut self) -> (&mut Client, &BTreeMap<i64, DeleteRow>) {
        (&mut self.main, &self.deletes)
    }

    /// Transactions open right now, with PostgreSQL's xid of each.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.open.iter().map(|(&x, o)| (x, o.real_xid)).collect()
    }

    /// Brings the database to "as of `at_us`": `range` is what committed since the last call
    /// (the first call's is the initial load).
    pub fn advance_to(&mut self, history: &History, range: Range<usize>, at_us: i64) -> Result<()> {
        let started = std::time::Instant::now();
        if !self.loaded {
            self.load(history, range)?;
            self.stats.load_time = started.elapsed();
            self.plan(history);
            self.loaded = true;
        }
        self.play_until(history, at_us)?;
        self.stats.apply_time += started.elapsed();
        Ok(())
    }

    /// The initial load: one `COPY` of fresh rows (the bulk path), the sequence moved past
    /// them, then the indexes and statistics.
    fn load(&mut self, history: &History, range: Range<usize>) -> Result<()> {
        let only_fresh_inserts = history.op.slice(range.clone()).all(|o| o == Op::Insert);
        if only_fresh_inserts {
            let copy = format!(
                "COPY {}.{TABLE} ({}) FROM STDIN (FORMAT binary)",
                self.schema,
                sql::column_list()
            );
            let writer = self
                .main
                .copy_in(&copy)
                .map_err(|e| pg_error("starting the initial COPY", e))?;
            let mut writer = BinaryCopyInWriter::new(writer, &source_types());
            for i in range.clone() {
                let row = RowParams::of(history, i);
                writer
                    .write(&row.params())
                    .map_err(|e| pg_error("copying the initial rows", e))?;
            }
            writer
                .finish()
                .map_err(|e| pg_error("finishing the initial COPY", e))?;
        } else {
            let rows: Vec<usize> = range.clone().collect();
            self.main
                .batch_execute("BEGIN")
                .map_err(|e| pg_error("beginning the initial load", e))?;
            apply_rows(&mut self.main, &self.schema, history, &rows)?;
            self.main
                .batch_execute("COMMIT")
                .map_err(|e| pg_error("committing the initial load", e))?;
            for &i in &rows {
                if history.op[i] == Op::Delete {
                    self.deletes
                        .insert(history.id[i], DeleteRow::of(history, i));
                }
            }
        }
        if let Some(max_id) = history.id[range.clone()].iter().copied().max() {
            self.main
                .execute(
                    &format!("SELECT setval('{}.{TABLE}_id_seq', $1)", self.schema),
                    &[&max_id],
                )
                .map_err(|e| pg_error("moving the sequence past the initial rows", e))?;
        }
        self.main
            .batch_execute(&sql::indexes(&self.schema))
            .map_err(|e| pg_error("indexing the source", e))?;
        Ok(())
    }

    /// Every transaction after the initial load, grouped by xid, in (begin, xid) order.
    fn plan(&mut self, history: &History) {
        let initial_end = history.committed_between(i64::MIN, 0).end;
        let mut rows: Vec<usize> = (initial_end..history.len()).collect();
        rows.sort_by_key(|&i| (history.begin_us[i], history.xid[i], history.lsn(i)));
        let mut txs: Vec<Tx> = Vec::new();
        for i in rows {
            match txs.last_mut() {
                Some(tx) if tx.xid == history.xid[i] => tx.rows.push(i),
                _ => txs.push(Tx {
                    xid: history.xid[i],
                    begin_us: history.begin_us[i],
                    commit_us: history.commit_us[i],
                    rows: vec![i],
                }),
            }
        }
        self.txs = txs;
    }

    /// Plays every event up to `at_us` in true-time order.
    fn play_until(&mut self, history: &History, at_us: i64) -> Result<()> {
        let mut events: Vec<(i64, Event)> = Vec::new();
        let first_new = self.next_tx;
        while self.next_tx < self.txs.len() && self.txs[self.next_tx].begin_us <= at_us {
            let t = self.next_tx;
            let tx = &self.txs[t];
            if tx.commit_us <= at_us {
                events.push((tx.begin_us, Event::BulkBegin(t)));
                events.push((tx.commit_us, Event::Apply(t)));
            } else {
                events.push((tx.begin_us, Event::Begin(t)));
                for &i in &tx.rows {
                    if history.statement_us[i] <= at_us {
                        events.push((history.statement_us[i], Event::Statement(tx.xid, i)));
                    }
                }
            }
            self.next_tx += 1;
        }
        for (&xid, open) in &self.open {
            let tx = &self.txs[open.tx];
            for (k, &i) in tx.rows.iter().enumerate() {
                if !open.done[k] && history.statement_us[i] <= at_us {
                    events.push((history.statement_us[i], Event::Statement(xid, i)));
                }
            }
            if tx.commit_us <= at_us {
                events.push((tx.commit_us, Event::Commit(xid)));
            }
        }
        // Ties keep the simulator's orders: commits by xid (lsn order), begins by xid (the
        // order ids and locks were taken in), a transaction's statements by lsn.
        let txs = &self.txs;
        events.sort_by_key(|&(time, event)| {
            let (xid, lsn) = match event {
                Event::Apply(t) | Event::Begin(t) | Event::BulkBegin(t) => (txs[t].xid, 0),
                Event::Commit(xid) => (xid, 0),
                Event::Statement(xid, i) => (xid, history.lsn(i)),
            };
            (time, event.priority(), xid, lsn)
        });
        self.draw_ids(history, first_new..self.next_tx)?;

        for (_, event) in events {
            match event {
                // A statement granted at its transaction's commit instant already ran with
                // the commit (which runs what is left before it commits).
                Event::Statement(xid, _) if !self.open.contains_key(&xid) => {}
                Event::BulkBegin(t) => self.bulk_begin(t)?,
                Event::Apply(t) => self.bulk_commit(history, t)?,
                Event::Begin(t) => self.begin(t)?,
                Event::Statement(xid, i) => self.statement(history, xid, i)?,
                Event::Commit(xid) => self.commit(history, xid)?,
            }
        }
        // Every bulk member begun by the tick committed by it: no group outlives the tick.
        let open_groups: Vec<u64> = self.groups.keys().copied().collect();
        for g in open_groups {
            self.flush_group(history, g)?;
        }
        self.group_of.clear();
        self.stats.max_open_at_once = self.stats.max_open_at_once.max(self.open.len() as u64);
        Ok(())
    }

    /// A bulk transaction begins: it joins the newest group if no spanning transaction began
    /// since that group opened, or opens a group (taking a real xid now).
    fn bulk_begin(&mut self, t: usize) -> Result<()> {
        let joinable = self
            .groups
            .iter()
            .next_back()
            .filter(|(_, g)| g.opened_after == self.spanning_begins)
            .map(|(&id, _)| id);
        let group = match joinable {
            Some(id) => id,
            None => {
                let mut client = self.client()?;
                client
                    .batch_execute("BEGIN; SELECT pg_current_xact_id();")
                    .map_err(|e| pg_error("beginning a bulk apply", e))?;
                let id = self.next_group;
                self.next_group += 1;
                self.groups.insert(
                    id,
                    BulkGroup {
                        client,
                        opened_after: self.spanning_begins,
                        pending: Vec::new(),
                        keys: Default::default(),
                    },
                );
                self.stats.bulk_groups += 1;
                id
            }
        };
        self.group_of.insert(t, group);
        Ok(())
    }

    /// A bulk transaction commits: its changes join its group's pending ones, after any other
    /// group holding one of its keys is flushed (per key, changes apply in commit order).
    fn bulk_commit(&mut self, history: &History, t: usize) -> Result<()> {
        self.stats.bulk_transactions += 1;
        let rows = self.txs[t].rows.clone();
        let mine = match self.group_of.get(&t) {
            Some(&g) if self.groups.contains_key(&g) => g,
            // Its group was flushed early (a lock another transaction waited on): a fresh one.
            _ => {
                self.bulk_begin(t)?;
                self.group_of[&t]
            }
        };
        for &i in &rows {
            self.flush_groups_holding(history, history.id[i], Some(mine))?;
        }
        let group = self.groups.get_mut(&mine).expect("open");
        for &i in &rows {
            group.pending.push(i);
            group.keys.insert(history.id[i]);
        }
        Ok(())
    }

    /// Flushes every open group (but `except`) holding a pending change of `key`.
    fn flush_groups_holding(
        &mut self,
        history: &History,
        key: i64,
        except: Option<u64>,
    ) -> Result<()> {
        let holding: Vec<u64> = self
            .groups
            .iter()
            .filter(|(g, group)| Some(**g) != except && group.keys.contains(&key))
            .map(|(g, _)| *g)
            .collect();
        for g in holding {
            self.flush_group(history, g)?;
        }
        Ok(())
    }

    /// Applies a group's pending changes and commits it.
    fn flush_group(&mut self, history: &History, g: u64) -> Result<()> {
        let Some(mut group) = self.groups.remove(&g) else {
            return Ok(());
        };
        group.pending.sort_by_key(|&i| history.lsn(i));
        apply_rows(&mut group.client, &self.schema, history, &group.pending)?;
        group
            .client
            .batch_execute("COMMIT")
            .map_err(|e| pg_error("committing a bulk apply", e))?;
        for &i in &group.pending {
            if history.op[i] == Op::Delete {
                self.deletes
                    .insert(history.id[i], DeleteRow::of(history, i));
            }
        }
        self.idle.push(group.client);
        Ok(())
    }

    /// Draws from the real sequence the ids the simulator drew for the inserts of the
    /// transactions `txs` (in begin order), and checks they are the same.
    fn draw_ids(&mut self, history: &History, txs: Range<usize>) -> Result<()> {
        let expected: Vec<i64> = self.txs[txs]
            .iter()
            .flat_map(|tx| tx.rows.iter())
            .filter(|&&i| history.op[i] == Op::Insert)
            .map(|&i| history.id[i])
            .collect();
        if expected.is_empty() {
            return Ok(());
        }
        let drawn: Vec<i64> = self
            .main
            .query(
                &format!(
                    "SELECT nextval('{}.{TABLE}_id_seq') FROM generate_series(1, $1::bigint)",
                    self.schema
                ),
                &[&(expected.len() as i64)],
            )
            .map_err(|e| pg_error("drawing ids from the sequence", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(k) = (0..expected.len()).find(|&k| drawn.get(k) != Some(&expected[k])) {
            return Err(Error::Postgres(format!(
                "the sequence gave id {} where the simulator drew id {} (the {}th insert begun by this tick, in begin order): the simulated id allocation does not match PostgreSQL's",
                drawn.get(k).map_or("none".to_string(), |d| d.to_string()),
                expected[k],
                k + 1
            )));
        }
        Ok(())
    }

    fn client(&mut self) -> Result<Client> {
        match self.idle.pop() {
            Some(c) => Ok(c),
            None => (self.connect)(),
        }
    }

    fn begin(&mut self, t: usize) -> Result<()> {
        let mut client = self.client()?;
        let xid = self.txs[t].xid;
        client
            .batch_execute("BEGIN")
            .map_err(|e| pg_error(&format!("beginning transaction {xid}"), e))?;
        let real_xid: i64 = client
            .query_one("SELECT pg_current_xact_id()::text::bigint", &[])
            .map_err(|e| pg_error(&format!("taking transaction {xid}'s id"), e))?
            .get(0);
        self.stats.spanning_transactions += 1;
        self.spanning_begins += 1;
        let done = vec![false; self.txs[t].rows.len()];
        self.open.insert(
            xid,
            OpenTx {
                client,
                tx: t,
                done,
                real_xid,
            },
        );
        Ok(())
    }

    fn statement(&mut self, history: &History, xid: i64, i: usize) -> Result<()> {
        let schema = self.schema.clone();
        let open = self
            .open
            .get_mut(&xid)
            .ok_or_else(|| Error::Invariant(format!("statement of transaction {xid}, not open")))?;
        let k = self.txs[open.tx]
            .rows
            .iter()
            .position(|&r| r == i)
            .expect("a statement of the transaction's own rows");
        if open.done[k] {
            return Ok(());
        }
        // A bulk change this statement waited for must be committed first.
        if self
            .groups
            .values()
            .any(|g| g.keys.contains(&history.id[i]))
        {
            self.flush_groups_holding(history, history.id[i], None)?;
        }
        let open = self.open.get_mut(&xid).expect("still open");
        run_statement(&mut open.client, &schema, history, i)?;
        open.done[k] = true;
        self.stats.single_statements += 1;
        if history.op[i] == Op::Delete {
            self.deletes
                .insert(history.id[i], DeleteRow::of(history, i));
        }
        Ok(())
    }

    fn commit(&mut self, history: &History, xid: i64) -> Result<()> {
        let rows = {
            let open = &self.open[&xid];
            self.txs[open.tx].rows.clone()
        };
        // Statements whose row lock was granted after the tick run now, before the commit.
        for i in rows {
            self.statement(history, xid, i)?;
        }
        let mut open = self.open.remove(&xid).expect("open");
        open.client
            .batch_execute("COMMIT")
            .map_err(|e| pg_error(&format!("committing transaction {xid}"), e))?;
        self.idle.push(open.client);
        Ok(())
    }
}

impl DeleteRow {
    fn of(history: &History, i: usize) -> DeleteRow {
        DeleteRow {
            lsn: history.lsn(i),
            updated_at_us: history.updated_at_us[i],
            writer: history.writer[i] as i32,
            value: history.value[i],
            event_time_us: history.event_time_us[i],
        }
    }
}
