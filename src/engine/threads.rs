//! How many threads one engine's statements may run on.

/// The threads one engine's statements may run on.
///
/// A sweep runs several engines at once, one per worker. Each DuckDB on every core means
/// twice as many busy threads as cores on a 2-core machine: the standard study then took
/// 207 s and 404 CPU seconds, against 154 s and 301 CPU seconds with one thread per engine,
/// the same exact figures either way (a statement's result and what its scans read do not
/// depend on how many threads ran it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Threads {
    /// The engine's own default: every core.
    #[default]
    EveryCore,
    /// At most this many (DuckDB's `threads` setting). Polars keeps one thread pool per
    /// process, sized by `POLARS_MAX_THREADS`, so a polars engine runs on it regardless.
    AtMost(std::num::NonZeroUsize),
}

impl Threads {
    /// Each engine's share when `engines` run at once on `cores`: every core for one engine
    /// alone, else the cores divided among them (at least one each).
    pub fn share(cores: usize, engines: usize) -> Threads {
        if engines <= 1 {
            return Threads::EveryCore;
        }
        Threads::AtMost(std::num::NonZeroUsize::new((cores / engines).max(1)).expect("at least 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_most(n: usize) -> Threads {
        Threads::AtMost(std::num::NonZeroUsize::new(n).unwrap())
    }

    #[test]
    fn an_engine_alone_runs_on_every_core() {
        assert_eq!(Threads::share(2, 1), Threads::EveryCore);
        assert_eq!(Threads::share(8, 0), Threads::EveryCore);
    }

    #[test]
    fn engines_side_by_side_divide_the_cores_among_them() {
        assert_eq!(Threads::share(2, 2), at_most(1));
        assert_eq!(Threads::share(8, 2), at_most(4));
        assert_eq!(Threads::share(8, 3), at_most(2));
    }

    #[test]
    fn more_engines_than_cores_still_get_one_thread_each() {
        assert_eq!(Threads::share(2, 5), at_most(1));
    }
}
