//! Generates the history of a scenario: the initial table, then each interval's transactions
//! with their begin, statement and commit times, writers, clock readings, ids and lsns.
//!
//! The time model (DESIGN.md, docs/scenarios.md): ids are drawn from a global sequence at
//! *begin*, lsns at *commit*; `updated_at` is the writer's clock at begin truncated to the
//! granularity; `event_time` is fixed at insert (the begin, or `lateness` behind it for late
//! rows) and kept by every later version of the row.
//!
//! What a real OLTP database does under READ COMMITTED, the generator does too:
//! - **Row locks.** A transaction asks for the locks of the rows it changes at its begin, and a
//!   lock is granted when the key's previous change commits (waiters in the order they asked).
//!   Its statement runs once it holds every lock (`statement_us`), it commits its own delay
//!   after that, and its `updated_at` stays the writer's clock at its *begin* — so a
//!   transaction that waited can stamp an older time than the version it replaces. Per key,
//!   statement times, commits and lsns are therefore in one order.
//! - **Transactions of several rows** (`[transactions] rows`) share begin, statement, commit,
//!   writer, `updated_at` and xid, take consecutive lsns and become visible together.
//! - Updates and deletes only touch keys whose insert committed before the interval started,
//!   and a deleted key is never picked again, so applying the history in commit order never
//!   updates or resurrects a row that does not exist. No change asked for is dropped: the
//!   counts per interval are [`crate::scenario::Churn::rows_per_interval`], exactly.

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;

use super::clock::{truncate_to, WriterClocks};
use super::history::{History, Op};
use super::live_keys::{KeyChooser, LiveKeys};
use super::seeds::{rng_for, Concern};
use crate::scenario::{DeleteMode, Scenario};

/// One transaction before lsns are assigned: what its rows share.
struct Tx {
    xid: i64,
    /// Its rows, in `rows`.
    rows: std::ops::Range<usize>,
    begin_us: i64,
    statement_us: i64,
    commit_us: i64,
    writer: u32,
    clock_offset_us: i64,
    updated_at_us: i64,
}

/// One row a transaction changes.
struct Row {
    op: Op,
    id: i64,
    event_time_us: i64,
    value: i64,
    is_deleted: bool,
}

/// Simulates the scenario with `seed`; the same inputs give the same history, bit for bit.
pub fn generate(scenario: &Scenario, seed: u64) -> History {
    generate_timed(scenario, seed).0
}

/// How long generation took, by phase. Timings never reach the history.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerationTimes {
    /// The initial table (its columns and the live-key set).
    pub initial_table: Duration,
    /// Every interval's transactions, ordered into lsns.
    pub changes: Duration,
}

/// [`generate`], also saying how long the initial table and the changes took: the initial table
/// is a bulk load whose speed is measured on its own.
pub fn generate_timed(scenario: &Scenario, seed: u64) -> (History, GenerationTimes) {
    let started = Instant::now();
    let mut data = rng_for(seed, Concern::Data);
    let mut begins = rng_for(seed, Concern::BeginTimes);
    let mut clock_rng = rng_for(seed, Concern::Clocks);
    let mut delays = rng_for(seed, Concern::Delays);
    let mut event_times = rng_for(seed, Concern::EventTimes);
    let lateness = &scenario.event_time;

    let clocks = WriterClocks::new(&scenario.writers, &mut clock_rng);
    let granularity = scenario.timestamps.granularity.0;
    let interval = scenario.schedule.interval.0;
    let runs = scenario.schedule.runs as i64;
    let writers = clocks.writers();

    let initial = scenario.table.rows as usize;
    let mut h = History {
        run_times_us: (1..=runs).map(|i| i * interval).collect(),
        ..History::default()
    };
    // Growing eleven columns of a million rows by reallocation would copy them all; reserve
    // for the churn too (`reserve` below tops it up if the estimate falls short).
    let (expected_changes, expected_inserts) = expected_churn(scenario);
    reserve(&mut h, initial + expected_changes, expected_changes);

    // The initial table: one bulk load committed at t = 0, before the first run. Built column
    // by column: this is the bulk of a large history and must generate at memory speed. Its
    // random columns come from two streams (values from `data`, clock readings from
    // `clocks`), so they are drawn side by side, each stream in its own order: the history is
    // the one a single thread draws.
    let n = initial as i64;
    h.op.push_n(initial, Op::Insert);
    // The initial load is one transaction (xid 0) that began, ran and committed at t = 0.
    h.xid.push_n(initial, 0);
    h.begin_us.push_n(initial, 0);
    h.statement_us.push_n(initial, 0);
    h.commit_us.push_n(initial, 0);
    h.event_time_us.push_n(initial, 0);
    h.is_deleted.push_n(initial, false);
    let History {
        id,
        writer,
        clock_offset_us,
        updated_at_us,
        value,
        ..
    } = &mut h;
    let (mut live, ()) = rayon::join(
        || {
            value.extend((0..initial).map(|_| data.random_range(1..=10_000)));
            id.extend(1..=n);
            LiveKeys::with_keys(1..=n)
        },
        || {
            writer.extend((0..initial).map(|i| (i as u32) % writers));
            clock_offset_us.extend(
                writer[..initial]
                    .iter()
                    .map(|&w| clocks.reading_offset_us(w, 0, &mut clock_rng)),
            );
            updated_at_us.extend(
                clock_offset_us[..initial]
                    .iter()
                    .map(|&offset| truncate_to(offset, granularity)),
            );
        },
    );
    // Inserts append to the per-key arrays and every change to the row and transaction
    // lists: sized for the expected churn up front, so they are not copied as they grow (at
    // 100% churn per run, seven million changes: every doubling copied and faulted in
    // hundreds of megabytes).
    let mut event_time_of: Vec<i64> = Vec::with_capacity(initial + 1 + expected_inserts);
    event_time_of.resize(initial + 1, 0); // ids start at 1
    let mut next_id = initial as i64 + 1;
    let initial_table = started.elapsed();

    // Row locks: per key, the commit of its last change so far. A change to a key whose
    // previous change has not committed waits for that commit (module docs).
    let mut locked_until: Vec<i64> = Vec::with_capacity(initial + 1 + expected_inserts);
    locked_until.resize(initial + 1, 0);
    // Inserts not yet committed, promoted to `live` when an interval starts after their commit.
    let mut pending_inserts: std::collections::BinaryHeap<std::cmp::Reverse<(i64, i64)>> =
        Default::default();
    let tx_rows = scenario.transactions.rows;
    let mut next_xid = 1i64;

    let mut txs: Vec<Tx> = Vec::with_capacity(expected_changes);
    let mut rows: Vec<Row> = Vec::with_capacity(expected_changes);
    for run in 1..=runs {
        let start = (run - 1) * interval;
        while let Some(&std::cmp::Reverse((commit, id))) = pending_inserts.peek() {
            if commit > start {
                break;
            }
            pending_inserts.pop();
            live.insert(id);
        }

        let live_rows = live.len() as u64;
        let (n_ins, n_upd, n_del) = scenario.churn.rows_per_interval(live_rows);

        let mut ops: Vec<Op> = Vec::with_capacity((n_ins + n_upd + n_del) as usize);
        ops.extend(std::iter::repeat_n(Op::Insert, n_ins as usize));
        ops.extend(std::iter::repeat_n(Op::Update, n_upd as usize));
        ops.extend(std::iter::repeat_n(Op::Delete, n_del as usize));
        ops.shuffle(&mut data);

        // Cut the interval's changes into transactions (one row each unless `rows` says more).
        let mut sizes: Vec<usize> = Vec::new();
        let mut left = ops.len();
        while left > 0 {
            let size = (tx_rows.sample(&mut data) as usize).min(left);
            sizes.push(size);
            left -= size;
        }

        let mut begin_times: Vec<i64> = (0..sizes.len())
            .map(|_| start + 1 + begins.random_range(0..interval))
            .collect();
        begin_times.sort_unstable();

        // Deletes first (they remove keys from `live`), then updates from what is left, so no
        // key is both updated and deleted within one interval. A key with a change in flight
        // can be picked: its change waits on the row lock instead.
        let mut chooser = KeyChooser::new(&live, scenario.churn.key_skew);
        let mut delete_keys = Vec::with_capacity(n_del as usize);
        for _ in 0..n_del {
            let id = chooser
                .pick(&live, &mut data)
                .expect("n_del ≤ live rows: a live key remains");
            live.remove(id);
            delete_keys.push(id);
            // The chooser's ranks cover the shrinking set (it clamps), so picks stay live.
        }
        if !delete_keys.is_empty() {
            chooser = KeyChooser::new(&live, scenario.churn.key_skew);
        }
        let mut delete_keys = delete_keys.into_iter();

        let mut ops = ops.into_iter();
        for (size, begin) in sizes.into_iter().zip(begin_times) {
            let writer = data.random_range(0..writers);
            let offset = clocks.reading_offset_us(writer, begin, &mut clock_rng);
            let delay = if delays.random_bool(scenario.transactions.late_fraction) {
                scenario.transactions.late_delay.sample(&mut delays)
            } else {
                scenario.transactions.commit_delay.sample(&mut delays)
            }
            .max(0);
            let first_row = rows.len();
            for op in ops.by_ref().take(size) {
                let (op, id, is_deleted) = match op {
                    Op::Insert => {
                        let id = next_id;
                        next_id += 1;
                        // Business time is the begin, unless the row was created elsewhere and
                        // synced late: then it lies `lateness` behind.
                        let late = event_times.random_bool(lateness.late_fraction);
                        let behind = if late {
                            lateness.lateness.sample(&mut event_times).max(0)
                        } else {
                            0
                        };
                        event_time_of.push(begin - behind);
                        locked_until.push(0);
                        (Op::Insert, id, false)
                    }
                    Op::Update => {
                        let id = chooser
                            .pick(&live, &mut data)
                            .expect("updates are only asked for while keys are live");
                        (Op::Update, id, false)
                    }
                    Op::Delete => {
                        let id = delete_keys.next().expect("one key was picked per delete");
                        match scenario.churn.delete_mode {
                            DeleteMode::Hard => (Op::Delete, id, false),
                            DeleteMode::Soft => (Op::Update, id, true),
                        }
                    }
                };
                rows.push(Row {
                    op,
                    id,
                    event_time_us: event_time_of[id as usize],
                    value: data.random_range(1..=10_000),
                    is_deleted,
                });
            }
            // The transaction asks for its rows' locks at its begin; each is granted when the
            // key's previous change commits (waiters are served in the order they asked, and
            // transactions are taken here in begin order). Its statement runs once it holds
            // them all, and it commits its own delay later.
            let tx_rows = &rows[first_row..];
            let statement = tx_rows
                .iter()
                .map(|r| locked_until[r.id as usize])
                .fold(begin, i64::max);
            let commit = statement + delay;
            for r in tx_rows {
                locked_until[r.id as usize] = commit;
                if r.op == Op::Insert {
                    pending_inserts.push(std::cmp::Reverse((commit, r.id)));
                }
            }
            txs.push(Tx {
                xid: next_xid,
                rows: first_row..rows.len(),
                begin_us: begin,
                statement_us: statement,
                commit_us: commit,
                writer,
                clock_offset_us: offset,
                updated_at_us: truncate_to(begin + offset, granularity),
            });
            next_xid += 1;
        }
    }

    // Commit order defines lsn. Ties in commit time are broken by the order transactions took
    // their locks (their xid: begin order), so two changes of one key that commit at the same
    // instant keep their lock order, and a transaction's rows take consecutive lsns.
    let mut order: Vec<(i64, i64, u32)> = txs
        .iter()
        .enumerate()
        .map(|(i, t)| (t.commit_us, t.xid, i as u32))
        .collect();
    order.sort_unstable();
    reserve(&mut h, rows.len(), rows.len());
    // Rows are pushed in commit order: row i is lsn i + 1 (`History::lsn`).
    for &(_, _, at) in &order {
        let tx = &txs[at as usize];
        for row in &rows[tx.rows.clone()] {
            h.op.push(row.op);
            h.id.push(row.id);
            h.xid.push(tx.xid);
            h.begin_us.push(tx.begin_us);
            h.statement_us.push(tx.statement_us);
            h.commit_us.push(tx.commit_us);
            h.writer.push(tx.writer);
            h.clock_offset_us.push(tx.clock_offset_us);
            h.updated_at_us.push(tx.updated_at_us);
            h.event_time_us.push(row.event_time_us);
            h.value.push(row.value);
            h.is_deleted.push(row.is_deleted);
        }
    }
    h.max_id = next_id - 1;
    let times = GenerationTimes {
        initial_table,
        changes: started.elapsed() - initial_table,
    };
    (h, times)
}

/// The most changes reserved for up front (at about 120 bytes a change across the history's
/// columns and the generator's lists: 8 GB).
const MAX_RESERVED_CHANGES: u64 = 1 << 26;

/// The changes and the inserts the schedule's churn will ask for, with 5% to spare: each
/// interval's counts from the table size the previous ones leave (inserts grow it, deletes
/// shrink it; an insert still in flight at an interval's start counts as live, so the
/// estimate errs high).
fn expected_churn(scenario: &Scenario) -> (usize, usize) {
    let mut live = scenario.table.rows;
    let (mut changes, mut inserts) = (0u64, 0u64);
    for _ in 0..scenario.schedule.runs {
        let (ins, upd, del) = scenario.churn.rows_per_interval(live);
        changes = changes.saturating_add(ins + upd + del);
        inserts = inserts.saturating_add(ins);
        live = live.saturating_add(ins).saturating_sub(del);
    }
    // Reserved memory is claimed up front, so a scenario of more changes than this grows its
    // lists as it goes instead of asking for tens of gigabytes it may never reach.
    let spare = |n: u64| n.saturating_add(n / 20).min(MAX_RESERVED_CHANGES) as usize;
    (spare(changes), spare(inserts))
}

/// Room for `plain` more rows in the stored columns and `prefixed` more in the columns that
/// keep the initial table's constants once (those never store the initial table's rows).
fn reserve(h: &mut History, plain: usize, prefixed: usize) {
    h.id.reserve(plain);
    h.writer.reserve(plain);
    h.clock_offset_us.reserve(plain);
    h.updated_at_us.reserve(plain);
    h.value.reserve(plain);
    h.xid.reserve(prefixed);
    h.statement_us.reserve(prefixed);
    h.op.reserve(prefixed);
    h.begin_us.reserve(prefixed);
    h.commit_us.reserve(prefixed);
    h.event_time_us.reserve(prefixed);
    h.is_deleted.reserve(prefixed);
}
