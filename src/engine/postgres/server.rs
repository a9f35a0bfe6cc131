//! A throwaway PostgreSQL cluster that starts itself and never outlives incrlab.
//!
//! [`Cluster::start`] finds the PostgreSQL binaries ([`Binaries::find`]), runs `initdb` into a
//! fresh directory of the system temp dir named after incrlab's process
//! (`incrlab-pg-<pid>-…`), and starts `postgres` on a Unix socket in that directory and a
//! free loopback port, with `wal_level = logical` (for the replication slot `cdc` reads).
//! PostgreSQL refuses to run as root, so when incrlab runs as root the server runs as the
//! `postgres` OS user.
//!
//! How the cluster goes away, whatever happens to incrlab:
//! - dropping the [`Cluster`] (a normal end, or an error unwinding) stops the server and
//!   removes the directory;
//! - Ctrl-C and SIGTERM: the interrupt handler calls [`stop_all`], which does the same for
//!   every cluster still running;
//! - SIGKILL: the server was started with a parent-death signal (SIGQUIT, PostgreSQL's
//!   immediate shutdown), so it goes down with the thread that started it; its directory is
//!   left behind, and the next cluster started by any incrlab removes it
//!   ([`remove_orphans`]), stopping a server still running in it first.
//!
//! Invariant: the server process is always a direct child of incrlab (never daemonized by
//! `pg_ctl`), so the kernel can tie its life to incrlab's. The kernel ties it to the *thread*
//! that started it: start a cluster from a thread that outlives it (the main thread, or the
//! one that drops it), never from a short-lived worker, or the server goes down when that
//! thread ends.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, User};

use crate::error::{Error, Result};
use crate::owned_dir;
pub use crate::owned_dir::is_running;

const PREFIX: &str = "incrlab-pg-";
/// The role `initdb` creates and incrlab connects as (trust authentication on the socket).
pub const ROLE: &str = "incrlab";
/// How long a server may take to accept connections before the start counts as failed.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before the server is told to stop immediately.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The directory holding `initdb` and `postgres`, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub bindir: PathBuf,
}

impl Binaries {
    /// Looks for the binaries where a user's PostgreSQL lives: `pg_config --bindir`, the
    /// `PATH`, then the distributions' versioned directories (`/usr/lib/postgresql/*/bin`,
    /// newest first). A miss names every place it looked.
    pub fn find() -> Result<Binaries> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            if out.status.success() {
                let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
                candidates.push(PathBuf::from(dir));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        candidates.extend(versioned_dirs(Path::new("/usr/lib/postgresql")));
        Self::find_in(&candidates)
    }

    /// The first of `candidates` that holds both `initdb` and `postgres`.
    pub fn find_in(candidates: &[PathBuf]) -> Result<Binaries> {
        candidates
            .iter()
            .find(|dir| is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres")))
            .map(|dir| Binaries {
                bindir: dir.clone(),
            })
            .ok_or_else(|| {
                let tried: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
                Error::Postgres(format!(
                    "no PostgreSQL binaries (`initdb` and `postgres`) found; looked in `pg_config --bindir`, \
                     PATH and /usr/lib/postgresql/*/bin: {}. Install PostgreSQL (Debian: `postgresql`), or \
                     point `[engine] url` (or INCRLAB_POSTGRES_URL) at a running server",
                    if tried.is_empty() { "nothing".to_string() } else { tried.join(", ") }
                ))
            })
    }

    fn tool(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// `base/*/bin` directories, the highest version first (`15` before `9`).
fn versioned_dirs(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            version.map(|v| (v, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.into_iter().rev().map(|(_, dir)| dir).collect()
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The OS user the server runs as: incrlab's own, or `postgres` when incrlab is root.
#[derive(Debug, Clone)]
struct ServerUser {
    /// `None`: incrlab's own user.
    as_user: Option<User>,
}

impl ServerUser {
    fn choose() -> Result<ServerUser> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(ServerUser { as_user: None });
        }
        match User::from_name("postgres") {
            Ok(Some(user)) => Ok(ServerUser {
                as_user: Some(user),
            }),
            _ => Err(Error::Postgres(
                "incrlab runs as root, and PostgreSQL refuses to run as root, so incrlab runs the \
                 server as the `postgres` OS user, which does not exist on this machine; create it \
                 (`useradd --system postgres`, or install the `postgresql` package), or run \
                 incrlab as another user"
                    .to_string(),
            )),
        }
    }

    /// Hands `path` to the server's user (the data directory must be its own).
    fn own(&self, path: &Path) -> Result<()> {
        if let Some(user) = &self.as_user {
            nix::unistd::chown(path, Some(user.uid), Some(user.gid)).map_err(|e| {
                Error::io(
                    "cannot hand the cluster directory to the `postgres` user",
                    path,
                    std::io::Error::from(e),
                )
            })?;
        }
        Ok(())
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        if let Some(user) = &self.as_user {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
            command.env("HOME", &user.dir).env("USER", &user.name);
        }
        command
    }
}

/// A running throwaway cluster. Dropping it stops the server and removes its directory.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
    /// Set by [`Cluster::keep`]: leave the server running and its directory in place.
    kept: bool,
}

/// The clusters this process has running, for [`stop_all`] on interrupt: (server pid, dir).
static RUNNING: Mutex<Vec<(i32, PathBuf)>> = Mutex::new(Vec::new());

impl Cluster {
    /// Starts a fresh cluster (after removing the litter of killed incrlabs' clusters).
    pub fn start() -> Result<Cluster> {
        let binaries = Binaries::find()?;
        Self::start_with(&binaries)
    }

    pub fn start_with(binaries: &Binaries) -> Result<Cluster> {
        remove_orphans(&std::env::temp_dir());
        let user = ServerUser::choose()?;
        let dir = owned_dir::create(PREFIX, "the PostgreSQL cluster directory")?.keep();
        // From here on the directory is ours to remove, whatever fails.
        let mut cluster = Cluster {
            dir,
            port: 0,
            server: None,
            kept: false,
        };
        cluster.init(binaries, &user)?;
        cluster.launch(binaries, &user)?;
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn init(&mut self, binaries: &Binaries, user: &ServerUser) -> Result<()> {
        user.own(&self.dir)?;
        let initdb = binaries.tool("initdb");
        let out = user
            .command(&initdb)
            .arg("--pgdata")
            .arg(self.data_dir())
            .args(["--username", ROLE, "--auth", "trust", "--encoding", "UTF8"])
            .args(["--no-sync", "--no-instructions"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io("cannot run initdb", &initdb, e))?;
        if !out.status.success() {
            return Err(Error::Postgres(format!(
                "`{} --pgdata {}` failed ({}): {}",
                initdb.display(),
                self.data_dir().display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    fn launch(&mut self, binaries: &Binaries, user: &ServerUser) -> Result<()> {
        let postgres = binaries.tool("postgres");
        // A port is free when we can bind it; the server binds it a moment later. Another
        // process taking it in between makes the server fail to start, which is reported.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| {
                Error::io(
                    "cannot find a free loopback port",
                    Path::new("127.0.0.1"),
                    e,
                )
            })?
            .port();
        self.port = port;
        let log = std::fs::File::create(self.log_file())
            .map_err(|e| Error::io("cannot create the server log", self.log_file(), e))?;
        user.own(&self.log_file())?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io("cannot open the server log", self.log_file(), e))?;
        let parent = std::process::id() as i32;
        let mut command = user.command(&postgres);
        command
            .arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(&self.dir)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            // Logical decoding for `cdc`; no autovacuum, so scans and counters are repeatable;
            // no fsync, because the cluster is thrown away. `synchronous_commit` stays on:
            // logical decoding reads WAL only up to the flushed position, so an asynchronous
            // commit could be missing from a slot read right after it.
            // Every transaction open across a tick holds a connection of its own: room for a
            // scenario's long transactions.
            .args(["-c", "wal_level=logical", "-c", "max_replication_slots=64"])
            .args(["-c", "max_wal_senders=8", "-c", "max_connections=1000"])
            .args([
                "-c",
                "autovacuum=off",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and
        // exec. std runs this after switching to the server's user, and a change of user
        // clears the parent-death signal, so it has to be set here.
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(Signal::SIGQUIT).map_err(std::io::Error::from)?;
                // incrlab died before the signal was armed: do not start at all.
                if nix::unistd::getppid().as_raw() != parent {
                    return Err(std::io::Error::other(
                        "incrlab exited while starting the server",
                    ));
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| Error::io("cannot start the PostgreSQL server", &postgres, e))?;
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((child.id() as i32, self.dir.clone()));
        self.server = Some(child);
        self.wait_ready(&postgres)
    }

    /// Waits until the server accepts a connection on its socket; a server that exits or
    /// does not answer in time is an error carrying the end of its log.
    fn wait_ready(&mut self, postgres: &Path) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .server
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(Error::Postgres(format!(
                    "the PostgreSQL server ({} on port {}) exited while starting ({status}): {}",
                    postgres.display(),
                    self.port,
                    self.log_tail()
                )));
            }
            if self.connect().is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(Error::Postgres(format!(
                    "the PostgreSQL server ({} on port {}) did not accept connections within {} s: {}",
                    postgres.display(),
                    self.port,
                    READY_TIMEOUT.as_secs(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// The connection parameters of the `postgres` database, over the Unix socket.
    pub fn conninfo(&self) -> String {
        format!(
            "host={} port={} user={ROLE} dbname=postgres",
            self.dir.display(),
            self.port
        )
    }

    /// A new connection to the cluster's `postgres` database.
    pub fn connect(&self) -> Result<postgres::Client> {
        postgres::Client::connect(&self.conninfo(), postgres::NoTls).map_err(|e| {
            let reason = e
                .as_db_error()
                .map_or(e.to_string(), |db| db.message().to_string());
            Error::Postgres(format!("cannot connect to {}: {reason}", self.conninfo()))
        })
    }

    /// The loopback TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (socket, data directory and server log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's pid.
    pub fn server_pid(&self) -> Option<u32> {
        self.server.as_ref().map(|c| c.id())
    }

    /// Leaves the server running and its directory in place when this drops, and says how to
    /// connect (`--keep-postgres`). The server still goes down if incrlab is killed.
    pub fn keep(&mut self) -> String {
        self.kept = true;
        format!(
            "PostgreSQL left running: psql \"{}\"  (stop it: kill -INT {}; then remove {})",
            self.conninfo(),
            self.server_pid().unwrap_or(0),
            self.dir.display()
        )
    }

    /// Stops the server (fast shutdown, then immediate) and removes the directory.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(mut child) = self.server.take() {
            let pid = child.id() as i32;
            stop_server(pid, &mut child);
            RUNNING
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|(p, _)| *p != pid);
        }
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(|e| {
                Error::io(
                    "cannot remove the PostgreSQL cluster directory",
                    &self.dir,
                    e,
                )
            })?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.kept {
            let _ = self.shutdown();
        }
    }
}

/// Fast shutdown (SIGINT: roll back open transactions, disconnect, checkpoint), then
/// immediate (SIGQUIT), then SIGKILL, each given [`STOP_TIMEOUT`] to end the server; reaps it.
fn stop_server(pid: i32, child: &mut Child) {
    escalate(pid, || matches!(child.try_wait(), Ok(Some(_))));
    let _ = child.wait();
}

/// Sends `pid` SIGINT, SIGQUIT, then SIGKILL, each time waiting up to [`STOP_TIMEOUT`] for
/// `gone` to say it ended; stops early once a signal cannot be delivered (no such process).
fn escalate(pid: i32, mut gone: impl FnMut() -> bool) {
    for signal in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGKILL] {
        if kill(Pid::from_raw(pid), signal).is_err() {
            return;
        }
        let asked = Instant::now();
        while asked.elapsed() < STOP_TIMEOUT {
            if gone() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Stops every cluster this process still runs and removes their directories: for the
/// interrupt handler, which exits without running destructors. Returns how many there were.
pub fn stop_all() -> usize {
    let running = std::mem::take(&mut *RUNNING.lock().unwrap_or_else(|e| e.into_inner()));
    for (pid, dir) in &running {
        stop_by_pid(*pid);
        let _ = std::fs::remove_dir_all(dir);
    }
    running.len()
}

/// Stops a server that is not our child (we cannot reap it): it is gone when its pid is.
fn stop_by_pid(pid: i32) {
    escalate(pid, || !is_running(pid as u32));
}

/// Removes `dir`'s `incrlab-pg-<pid>-…` cluster directories whose incrlab `pid` is gone,
/// stopping the server still running in one first (its `postmaster.pid` names it). Best
/// effort: what cannot be removed is left for a later run. Returns what it removed.
pub fn remove_orphans(dir: &Path) -> Vec<PathBuf> {
    owned_dir::remove_orphans(dir, PREFIX, |cluster| {
        if let Some(server) = postmaster_pid(&cluster.join("data")) {
            if is_postgres(server) {
                stop_by_pid(server as i32);
            }
        }
    })
}

/// The server pid a data directory's `postmaster.pid` names (its first line).
fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is a running `postgres` (so a reused pid is never signalled).
fn is_postgres(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| comm.trim() == "postgres")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_names_every_directory_it_looked_in() {
        let empty = tempfile::tempdir().unwrap();
        let only_initdb = tempfile::tempdir().unwrap();
        let initdb = only_initdb.path().join("initdb");
        std::fs::write(&initdb, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&initdb, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dirs = vec![empty.path().to_path_buf(), only_initdb.path().to_path_buf()];
        let message = Binaries::find_in(&dirs).unwrap_err().to_string();
        for dir in &dirs {
            assert!(message.contains(&dir.display().to_string()), "{message}");
        }
        assert!(
            message.contains("initdb") && message.contains("postgres"),
            "{message}"
        );
    }

    #[test]
    fn the_first_directory_holding_both_binaries_wins() {
        let partial = tempfile::tempdir().unwrap();
        let full = tempfile::tempdir().unwrap();
        let later = tempfile::tempdir().unwrap();
        let make = |dir: &Path, name: &str| {
            let path = dir.join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        make(partial.path(), "postgres");
        for dir in [full.path(), later.path()] {
            make(dir, "initdb");
            make(dir, "postgres");
        }
        let dirs = [partial.path(), full.path(), later.path()].map(Path::to_path_buf);
        assert_eq!(Binaries::find_in(&dirs).unwrap().bindir, full.path());
    }

    #[test]
    fn versioned_directories_are_tried_newest_first() {
        let base = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "13", "notes"] {
            std::fs::create_dir_all(base.path().join(v).join("bin")).unwrap();
        }
        let names: Vec<String> = versioned_dirs(base.path())
            .iter()
            .map(|d| {
                d.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }
}
