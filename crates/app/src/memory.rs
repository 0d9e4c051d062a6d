//! Giving freed heap memory back to the system.
//!
//! glibc's allocator keeps what a large command freed (a DISCOVER or an INGEST of a thousand
//! APIs builds and drops a few MiB): each worker thread has its own arena, an arena shrinks only
//! from its top, and after a large block is freed glibc raises its trimming threshold to that
//! block's size. An agent that then idles for hours keeps those pages resident. [`trim`] asks
//! glibc to hand every free page of every arena back (`malloc_trim(0)`), and [`trim_every`] does
//! so on a fixed period while the agent runs. [`one_arena`], called before the runtime starts,
//! makes the worker threads share one arena instead of one each: less memory held in
//! half-used pages, and the same figure from run to run. Measured with `cargo bench --bench
//! agent_footprint`: anonymous memory 10 s after a 1,000-API DISCOVER goes from about 4 to about
//! 2 MiB (docs/performance.md); the agent's work waits on the network, not on the allocator's
//! lock.
//!
//! This module holds the workspace's only `unsafe` calls (the lint is `deny`, not `forbid`, for
//! them). On other C libraries both functions do nothing.

use std::time::Duration;

/// Hands the free pages of every allocator arena back to the system. Returns whether any memory
/// was released; always `false` where the C library is not glibc.
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    {
        // SAFETY: `malloc_trim` takes a plain integer and touches only the allocator's own
        // state, under the allocator's locks; glibc documents it as safe to call from any thread
        // at any time (MT-Safe). It frees nothing that is in use.
        let released = unsafe { libc::malloc_trim(0) };
        released == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Makes every thread allocate from glibc's main arena (`mallopt(M_ARENA_MAX, 1)`). Call it
/// before any thread is started: arenas already created stay. Returns whether glibc took it.
pub fn one_arena() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    {
        // SAFETY: `mallopt` takes two plain integers and only sets a tunable of the allocator,
        // under its lock (MT-Safe in glibc's manual); `M_ARENA_MAX` with a positive value is a
        // documented parameter. No memory is read or written through a pointer of ours.
        let accepted = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        accepted == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// How often the agent binaries call [`trim`]. Short enough that the memory a command freed is
/// back within seconds; each call costs microseconds when there is nothing to give back.
pub const TRIM_PERIOD: Duration = Duration::from_secs(5);

/// Calls [`trim`] every `period`, forever: spawn it and abort the task at shutdown.
pub async fn trim_every(period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if trim() {
            tracing::trace!("Freed heap memory given back to the system.");
        }
    }
}
