//! `memory::trim` really gives freed heap back to the system. A test binary of its own: other
//! tests allocating at the same time would blur the resident-memory figures.

use federation_app::memory;

/// `VmRSS` of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resident memory (KiB) around one try: filled, after free(), after the trim.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[derive(Debug, Clone, Copy)]
struct Figures {
    filled: u64,
    freed: u64,
    trimmed: u64,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
const BLOCK: usize = 4096;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const BLOCKS: usize = 8192;
/// Blocks kept alive at the end: the last ones allocated, which came from the top of the arena.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEPT: usize = 64;

/// 32 MiB in 4 KiB blocks (below glibc's mmap threshold: they come from the arena), each
/// written so that its pages are resident. The last [`KEPT`] blocks stay alive while the others
/// are freed: they pin the top of the arena, so the freed blocks sit in its middle, where
/// free() alone never returns them (it shrinks an arena only from its top). Then the trim.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_try() -> (Figures, bool) {
    let mut blocks: Vec<Vec<u8>> = (0..BLOCKS).map(|i| vec![(i % 251) as u8; BLOCK]).collect();
    let top = std::hint::black_box(blocks.split_off(BLOCKS - KEPT));
    let filled = rss_kib();
    drop(blocks);
    let freed = rss_kib();
    let released = memory::trim();
    let trimmed = rss_kib();
    assert!(top.iter().all(|b| b.len() == BLOCK));
    drop(top);
    (
        Figures {
            filled,
            freed,
            trimmed,
        },
        released,
    )
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn freed_heap_in_the_middle_of_an_arena_goes_back_after_a_trim() {
    // The set-up holds when free() gave (almost) nothing back by itself: the freed memory is
    // still resident, waiting for the trim. Should the allocator still have placed things so
    // that it did not hold, try again; a try whose set-up held decides.
    let mut tries = Vec::new();
    for _ in 0..5 {
        let (figures, released) = one_try();
        println!(
            "VmRSS: {} KiB filled, {} KiB after free, {} KiB after trim",
            figures.filled, figures.freed, figures.trimmed
        );
        tries.push(figures);
        let held = figures.filled.saturating_sub(figures.freed) < 8 * 1024;
        if held {
            assert!(released, "malloc_trim released nothing");
            assert!(
                figures.freed.saturating_sub(figures.trimmed) >= 16 * 1024,
                "the trim gave back {} KiB of the 32 MiB freed ({} -> {} KiB)",
                figures.freed.saturating_sub(figures.trimmed),
                figures.freed,
                figures.trimmed
            );
            return;
        }
    }
    panic!("free() alone gave the memory back in every try, the set-up never held: {tries:?}");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
#[test]
fn trim_is_a_no_op_without_glibc() {
    assert!(!memory::trim());
    assert!(rss_kib() < u64::MAX);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn glibc_accepts_the_one_arena_setting() {
    assert!(memory::one_arena());
}
