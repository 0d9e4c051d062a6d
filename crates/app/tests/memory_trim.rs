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

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn freed_heap_in_the_middle_of_an_arena_goes_back_after_a_trim() {
    // 32 MiB in 4 KiB blocks (below glibc's mmap threshold: they come from the arena), each
    // written so that its pages are resident, then a small block after them that stays alive,
    // so the freed blocks sit in the middle of the arena where free() alone never returns them.
    let blocks: Vec<Vec<u8>> = (0..8192).map(|i| vec![(i % 251) as u8; 4096]).collect();
    let pin = std::hint::black_box(Box::new([1u8; 64]));
    let filled = rss_kib();
    drop(blocks);
    let freed = rss_kib();
    assert!(memory::trim(), "malloc_trim released nothing");
    let trimmed = rss_kib();
    println!("VmRSS: {filled} KiB filled, {freed} KiB after free, {trimmed} KiB after trim");
    assert!(
        freed.saturating_sub(trimmed) >= 16 * 1024,
        "the trim gave back {} KiB of the 32 MiB freed ({freed} -> {trimmed} KiB)",
        freed.saturating_sub(trimmed)
    );
    assert_eq!(pin[0], 1);
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
