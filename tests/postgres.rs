//! The throwaway PostgreSQL cluster: it starts itself with logical decoding, runs as a user
//! PostgreSQL accepts, and never outlives incrlab — stopped, dropped, kept on request, or
//! orphaned by a SIGKILL and then cleaned up by the next start.
//!
//! These tests need the PostgreSQL binaries. Without them they skip with a message, unless
//! `INCRLAB_REQUIRE_POSTGRES` is set (CI), where a missing binary is a failure.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use incrlab::engine::postgres::{server, Binaries, Cluster};

/// One cluster test at a time: `stop_all` (the interrupt handler's call) stops every cluster
/// of the process, so a test calling it would stop the clusters of tests running beside it.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn binaries() -> Option<Binaries> {
    match Binaries::find() {
        Ok(b) => Some(b),
        Err(e) if std::env::var_os("INCRLAB_REQUIRE_POSTGRES").is_some() => {
            panic!("INCRLAB_REQUIRE_POSTGRES is set: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The uid a process runs as (`/proc/<pid>/status`, the real uid).
fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_cluster_starts_with_logical_decoding_and_is_gone_once_stopped() {
    let _serial = serial();
    let Some(binaries) = binaries() else { return };
    let cluster = Cluster::start_with(&binaries).unwrap();
    let mut client = cluster.connect().unwrap();
    let wal_level: String = client.query_one("SHOW wal_level", &[]).unwrap().get(0);
    assert_eq!(wal_level, "logical");
    // test_decoding (postgresql-contrib) is there: a logical slot can be created and read.
    // Each its own transaction: a slot cannot be created in one that has written.
    for statement in [
        "CREATE TABLE t (id bigint PRIMARY KEY)",
        "SELECT pg_create_logical_replication_slot('s', 'test_decoding')",
        "INSERT INTO t VALUES (7)",
    ] {
        client.batch_execute(statement).unwrap();
    }
    let changes: Vec<String> = client
        .query(
            "SELECT data FROM pg_logical_slot_get_changes('s', NULL, NULL) WHERE data LIKE 'table%'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(changes, ["table public.t: INSERT: id[bigint]:7"]);
    let pid = cluster.server_pid().unwrap();
    // PostgreSQL refuses root; as root incrlab hands the server to another user.
    assert_ne!(uid_of(pid), 0, "the server must not run as root");
    let dir = cluster.dir().to_path_buf();
    assert!(dir.join("data").join("PG_VERSION").exists());
    drop(client);
    cluster.stop().unwrap();
    assert!(!server::is_running(pid), "the server {pid} still runs");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn dropping_a_cluster_stops_its_server_and_removes_its_directory() {
    let _serial = serial();
    let Some(binaries) = binaries() else { return };
    let cluster = Cluster::start_with(&binaries).unwrap();
    let (pid, dir) = (cluster.server_pid().unwrap(), cluster.dir().to_path_buf());
    assert!(server::is_running(pid));
    drop(cluster);
    assert!(!server::is_running(pid));
    assert!(!dir.exists());
}

#[test]
fn a_kept_cluster_stays_up_says_how_to_connect_and_stops_with_stop_all() {
    let _serial = serial();
    let Some(binaries) = binaries() else { return };
    let mut cluster = Cluster::start_with(&binaries).unwrap();
    let message = cluster.keep();
    let (pid, dir, conninfo) = (
        cluster.server_pid().unwrap(),
        cluster.dir().to_path_buf(),
        cluster.conninfo(),
    );
    assert!(message.contains(&conninfo), "{message}");
    drop(cluster);
    let mut client = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    drop(client);
    // What the interrupt handler calls: every cluster this process runs, kept ones included.
    assert!(server::stop_all() >= 1);
    assert!(!server::is_running(pid));
    assert!(!dir.exists());
}

/// Run by `a_killed_incrlab_takes_its_server_down…` in a child process: starts a cluster,
/// says where it is, and waits to be killed.
#[test]
#[ignore = "a helper process for the SIGKILL test"]
fn helper_start_a_cluster_and_wait_to_be_killed() {
    let Some(out) = std::env::var_os("INCRLAB_PG_HELPER_OUT") else {
        return;
    };
    let cluster = Cluster::start().unwrap();
    let note = format!(
        "{} {}\n",
        cluster.server_pid().unwrap(),
        cluster.dir().display()
    );
    let tmp = PathBuf::from(&out).with_extension("tmp");
    std::fs::write(&tmp, note).unwrap();
    std::fs::rename(&tmp, &out).unwrap();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn a_killed_incrlab_takes_its_server_down_and_the_next_start_removes_its_directory() {
    let _serial = serial();
    let Some(_) = binaries() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("cluster");
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "helper_start_a_cluster_and_wait_to_be_killed",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("INCRLAB_PG_HELPER_OUT", &out)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the helper starts its cluster", || {
        out.exists() || helper.try_wait().unwrap().is_some()
    });
    let note = std::fs::read_to_string(&out).expect("the helper exited without a cluster");
    let (pid, dir) = note.trim().split_once(' ').unwrap();
    let (pid, dir): (u32, PathBuf) = (pid.parse().unwrap(), PathBuf::from(dir));
    assert!(server::is_running(pid));

    helper.kill().unwrap(); // SIGKILL: no destructor, no handler runs
    helper.wait().unwrap();
    wait_until("the orphaned server goes down", || !server::is_running(pid));
    assert!(
        dir.exists(),
        "a SIGKILLed owner cannot remove its directory"
    );

    // The next start (any incrlab) finds the directory by its dead owner and removes it.
    let removed = server::remove_orphans(&std::env::temp_dir());
    assert!(
        removed.contains(&dir),
        "{removed:?} lacks {}",
        dir.display()
    );
    assert!(!dir.exists());
}

/// The simulator's snapshot rule (`History::snapshot_xmin_at`) against PostgreSQL's own
/// `pg_snapshot_xmin(pg_current_snapshot())`: the same transactions, each taking its id at its
/// begin on its own connection, played in time order; at each tick the reader's horizon must
/// be the transaction the simulator names (or, with none in flight, the next id).
#[test]
fn the_simulated_snapshot_xmin_is_the_one_postgresql_reports() {
    let _serial = serial();
    let Some(binaries) = binaries() else { return };
    // (xid, begin, commit): the load at 0, then three overlapping transactions.
    let txs = [(0i64, 0i64, 0i64), (1, 1, 10), (2, 2, 5), (3, 3, 20)];
    let mut history = incrlab::sim::History::default();
    for (row, &(xid, begin, commit)) in txs.iter().enumerate() {
        history.op.push(incrlab::sim::Op::Insert);
        history.id.push(row as i64 + 1);
        history.xid.push(xid);
        history.begin_us.push(begin);
        history.statement_us.push(begin);
        history.commit_us.push(commit);
        history.writer.push(0);
        history.clock_offset_us.push(0);
        history.updated_at_us.push(begin);
        history.event_time_us.push(begin);
        history.value.push(1);
        history.is_deleted.push(false);
    }

    let cluster = Cluster::start_with(&binaries).unwrap();
    let mut reader = cluster.connect().unwrap();
    reader
        .batch_execute("CREATE TABLE orders (id bigint PRIMARY KEY)")
        .unwrap();
    let mut writers: Vec<postgres::Client> =
        txs.iter().map(|_| cluster.connect().unwrap()).collect();
    let mut pg_xid = vec![0i64; txs.len()];
    // Events in time order: a begin before a commit at the same instant, as the simulator's
    // "begun at or before, committed after" rule reads.
    let mut events: Vec<(i64, u8, usize)> = Vec::new();
    for (k, &(_, begin, commit)) in txs.iter().enumerate() {
        events.push((begin, 0, k));
        events.push((commit, 1, k));
    }
    events.sort();
    let mut next = events.iter().peekable();
    for tick in [0i64, 4, 6, 10, 12, 25] {
        while let Some(&&(at, kind, k)) = next.peek() {
            if at > tick {
                break;
            }
            next.next();
            let client = &mut writers[k];
            if kind == 0 {
                client.batch_execute("BEGIN").unwrap();
                pg_xid[k] = client
                    .query_one("SELECT pg_current_xact_id()::text::bigint", &[])
                    .unwrap()
                    .get(0);
                client
                    .execute("INSERT INTO orders VALUES ($1)", &[&(k as i64 + 1)])
                    .unwrap();
            } else {
                client.batch_execute("COMMIT").unwrap();
            }
        }
        let real: i64 = reader
            .query_one(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
                &[],
            )
            .unwrap()
            .get(0);
        let simulated = history.snapshot_xmin_at(tick);
        // A simulated xid names its transaction's real one; one past the last begun is the
        // real next id.
        let expected = match txs.iter().position(|&(xid, _, _)| xid == simulated) {
            Some(k) if txs[k].1 <= tick => pg_xid[k],
            _ => pg_xid[simulated as usize - 1] + 1,
        };
        assert_eq!(real, expected, "at t = {tick}: simulated xid {simulated}");
    }
}
