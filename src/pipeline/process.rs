//! One attempt of an outside pipeline as a process: started in its own process group, its
//! output logged, its announced points answered (or killed right there), killed as a group at
//! its timeout or its planned kill, and never left behind.
//!
//! Killing the whole group (not just the child) matters: `dbt` and `python -m` wrappers start
//! children of their own, and a kill that spares them leaves a writer behind on the target.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::live::LiveGroups;
use crate::faults::Kill;
use crate::scenario::CrashPoint;

/// What a pipeline prints on stderr to announce a point of its run.
pub const POINT_PREFIX: &str = "INCRLAB_POINT ";

/// What incrlab answers on the pipeline's stdin when an announced point is not where it dies.
pub const CONTINUE: &str = "continue";

/// Everything one attempt needs.
pub struct Launch<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr go (created, or appended to).
    pub log: PathBuf,
    pub timeout: Duration,
    pub kill: Option<Kill>,
    /// A fifo the pipeline may announce its points on instead of stderr (`INCRLAB_POINTS`).
    pub points_fifo: Option<PathBuf>,
}

/// What ends the fifo reader when the attempt is over (a pipeline never writes a NUL).
const FIFO_STOP: &str = "\u{0}incrlab-stop";

/// Creates the fifo pipelines may announce their points on.
pub fn create_points_fifo(path: &Path) -> std::io::Result<()> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).map_err(std::io::Error::from)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The process exited by itself with this code (0: success).
    Exited(i32),
    /// A signal from elsewhere ended it (not incrlab's kill).
    Signaled(i32),
    /// incrlab killed the group when it announced this point.
    KilledAtPoint(CrashPoint),
    /// incrlab killed the group after the planned delay.
    KilledAfter,
    /// incrlab killed the group at the timeout.
    TimedOut,
    /// The program could not be started.
    FailedToStart(String),
}

/// What happened in one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ending: Ending,
    /// From the start to the end (or the kill).
    pub elapsed: Duration,
    /// The points the pipeline announced, in order.
    pub points: Vec<String>,
}

enum Event {
    Point(String),
    StderrClosed,
}

/// Runs one attempt to its end.
pub fn launch(l: Launch<'_>) -> Outcome {
    let started = Instant::now();
    let failed = |message: String| Outcome {
        ending: Ending::FailedToStart(message),
        elapsed: started.elapsed(),
        points: Vec::new(),
    };
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&l.log)
    {
        Ok(f) => f,
        Err(e) => return failed(format!("cannot open its log {}: {e}", l.log.display())),
    };
    let stdout = match log.try_clone() {
        Ok(f) => f,
        Err(e) => return failed(format!("cannot share its log: {e}")),
    };
    let (tx, rx) = mpsc::channel();
    let tx_fifo = tx.clone();
    // Opened read-write, so the open never blocks and the reader never sees an end of file
    // between a pipeline's writes; the stop line ends it.
    let fifo = l.points_fifo.as_ref().and_then(|path| {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .ok()?;
        let stopper = file.try_clone().ok()?;
        let tx = tx_fifo.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                // A killed writer may leave half a line in front of it.
                if line.ends_with(FIFO_STOP) {
                    break;
                }
                let point = line.strip_prefix(POINT_PREFIX).unwrap_or(&line).trim();
                if !point.is_empty() {
                    let _ = tx.send(Event::Point(point.to_string()));
                }
            }
        });
        Some((stopper, reader))
    });
    drop(tx_fifo);
    let mut command = Command::new(&l.argv[0]);
    command
        .args(&l.argv[1..])
        .current_dir(l.cwd)
        .envs(l.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .process_group(0);
    // If incrlab itself dies (even by SIGKILL), the kernel kills the pipeline with it.
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
    let groups = LiveGroups::global();
    // Registered before the spawn returns, so an interrupt never misses a group.
    let mut guard = groups.lock();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            stop_fifo_reader(fifo);
            return failed(format!("cannot start `{}`: {e}", l.argv[0]));
        }
    };
    let pgid = Pid::from_raw(child.id() as i32);
    guard.insert(pgid);
    drop(guard);

    let stderr = child.stderr.take().expect("stderr is piped");
    let mut log_for_stderr = log;
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(log_for_stderr, "{line}");
            if let Some(point) = line.strip_prefix(POINT_PREFIX) {
                let _ = tx.send(Event::Point(point.trim().to_string()));
            }
        }
        let _ = tx.send(Event::StderrClosed);
    });

    let deadline = started + l.timeout;
    let kill_at = match l.kill {
        Some(Kill::AfterUs(us)) => Some(started + Duration::from_micros(us as u64)),
        _ => None,
    };
    let mut points = Vec::new();
    let mut stdin = child.stdin.take();
    let ending = loop {
        if let Some(ending) = exited(&mut child) {
            break ending;
        }
        let now = Instant::now();
        if now >= deadline {
            break kill_group(pgid, &mut child, Ending::TimedOut);
        }
        if kill_at.is_some_and(|at| now >= at) {
            break kill_group(pgid, &mut child, Ending::KilledAfter);
        }
        let next = kill_at.map_or(deadline, |at| at.min(deadline));
        let wait = next
            .saturating_duration_since(now)
            .min(Duration::from_millis(5));
        match rx.recv_timeout(wait) {
            Ok(Event::Point(name)) => {
                points.push(name.clone());
                if let Some(Kill::AtPoint(point)) = l.kill {
                    if point.name() == name {
                        break kill_group(pgid, &mut child, Ending::KilledAtPoint(point));
                    }
                }
                if let Some(input) = stdin.as_mut() {
                    // A pipeline that does not wait for the answer never reads it: fine.
                    if writeln!(input, "{CONTINUE}")
                        .and_then(|()| input.flush())
                        .is_err()
                    {
                        stdin = None;
                    }
                }
            }
            // Stderr closed: the process is exiting; wait for it (with the same deadlines).
            // (The fifo reader keeps the channel open, so this is only the stderr side.)
            Ok(Event::StderrClosed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(wait.min(Duration::from_millis(1)));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    let elapsed = started.elapsed();
    drop(stdin);
    // Whatever the child started is killed with its group, so nothing outlives the attempt.
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = reader.join();
    stop_fifo_reader(fifo);
    // Points announced just before the process exited by itself were never answered, but
    // they were announced: the record keeps them.
    points.extend(rx.try_iter().filter_map(|event| match event {
        Event::Point(name) => Some(name),
        Event::StderrClosed => None,
    }));
    LiveGroups::global().lock().remove(pgid);
    Outcome {
        ending,
        elapsed,
        points,
    }
}

/// Ends the fifo's reader thread (with the stop line) and waits for it.
fn stop_fifo_reader(fifo: Option<(std::fs::File, std::thread::JoinHandle<()>)>) {
    if let Some((mut stopper, reader)) = fifo {
        let _ = writeln!(stopper, "{FIFO_STOP}");
        let _ = reader.join();
    }
}

/// The child's ending, if it has exited.
fn exited(child: &mut Child) -> Option<Ending> {
    use std::os::unix::process::ExitStatusExt;
    let status = child.try_wait().ok().flatten()?;
    Some(match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(signal)) => Ending::Signaled(signal),
        (None, None) => Ending::Exited(-1),
    })
}

/// SIGKILLs the process group and reaps the child.
fn kill_group(pgid: Pid, child: &mut Child, ending: Ending) -> Ending {
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait();
    ending
}
