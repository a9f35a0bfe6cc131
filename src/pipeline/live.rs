//! The process groups of the pipelines running right now, so an interrupted incrlab (Ctrl-C,
//! SIGTERM) kills them before it exits instead of leaving orphans writing to their targets.
//! (A SIGKILLed incrlab cannot run this; the kernel's parent-death signal covers that case.)

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, OnceLock};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// The registry of live process groups.
pub struct LiveGroups {
    groups: Mutex<BTreeSet<i32>>,
}

/// The registry, locked.
pub struct Locked<'a>(MutexGuard<'a, BTreeSet<i32>>);

impl Locked<'_> {
    pub fn insert(&mut self, pgid: Pid) {
        self.0.insert(pgid.as_raw());
    }

    pub fn remove(mut self, pgid: Pid) {
        self.0.remove(&pgid.as_raw());
    }
}

impl LiveGroups {
    pub fn global() -> &'static LiveGroups {
        static GROUPS: OnceLock<LiveGroups> = OnceLock::new();
        GROUPS.get_or_init(|| LiveGroups {
            groups: Mutex::new(BTreeSet::new()),
        })
    }

    pub fn lock(&self) -> Locked<'_> {
        Locked(self.groups.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// SIGKILLs every live group; returns how many there were.
    pub fn kill_all(&self) -> usize {
        let groups = self.lock();
        for &pgid in groups.0.iter() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        groups.0.len()
    }
}

/// Installs the handler for Ctrl-C and SIGTERM: kill every running pipeline's group, say so,
/// and exit with 130. Results are only ever written whole at the end, so the previous report
/// stays as it was. Installing twice is harmless (the second call is refused and ignored).
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let killed = LiveGroups::global().kill_all();
        // Throwaway PostgreSQL clusters: stopped and removed, since exit runs no destructors.
        let clusters = crate::engine::postgres::stop_all();
        if clusters > 0 {
            eprintln!("interrupted: stopped {clusters} PostgreSQL cluster(s)");
        }
        if killed > 0 {
            eprintln!("interrupted: killed {killed} running pipeline process group(s)");
        } else {
            eprintln!("interrupted");
        }
        std::process::exit(130);
    });
}
