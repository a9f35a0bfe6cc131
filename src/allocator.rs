//! How the binary allocates: mimalloc, replacing malloc and free for DuckDB's C++ as well
//! (the `override` feature), told to keep the memory a program frees for its next allocation.
//!
//! Why: a study runs point after point, each building and dropping tables of a million rows.
//! Under glibc's malloc, DuckDB's freed blocks went back to the kernel and every new table
//! faulted its pages in again, zeroed: the standard study (`sweep scenarios/crossover.toml`)
//! took 16.1M page faults and 69 s of kernel time in 276 s. With mimalloc keeping freed
//! memory: 6.7K faults, 24 s of kernel time, 220 s. With mimalloc's own default (memory
//! returned after 1 s): 2.6M faults, 61 s, 253 s. What it costs: freed memory stays resident
//! until it is used again, so the study's peak rose from 5.5 GB to 7.0–7.8 GB (two workers
//! whose points' working sets differ); the peak of a single run is its largest working set
//! either way.
//!
//! Invariant: this is a property of the process, so only the binary (`main`) calls it; the
//! library never depends on which allocator serves it.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// mimalloc's `mi_option_purge_delay` (the 16th option of `mi_option_e`, v2 and v3 alike;
/// the bindings name only some of them): milliseconds before freed memory goes back to the
/// OS, `-1` for never.
const PURGE_DELAY: mi_option_t = 15;

/// Keeps memory freed by the process for its own later allocations instead of returning it
/// to the kernel. Call first thing in `main`.
pub fn keep_freed_memory() {
    // SAFETY: setting an option is a plain store in mimalloc's option table, valid at any
    // time; the option only changes when freed memory is purged.
    unsafe { mi_option_set(PURGE_DELAY, -1) };
}

/// mimalloc's current purge delay in milliseconds (`-1`: never).
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reading an option has no precondition.
    unsafe { mi_option_get(PURGE_DELAY) as i64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_mimallocs_purge_delay_and_ends_as_never() {
        // Option 15 reads 1000, mimalloc v3's default purge delay; its neighbours read 1
        // (14) and 0 (16), so a wrong index shows. (Unless MIMALLOC_PURGE_DELAY overrides it.)
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), 1000);
        }
        keep_freed_memory();
        assert_eq!(purge_delay_ms(), -1);
    }
}
