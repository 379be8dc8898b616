//! Giving freed memory back to the system.
//!
//! The binary once put every allocation of 16 MiB and more on transparent huge pages
//! (`madvise(MADV_HUGEPAGE)`). Measured on the machine the product is tested on (a virtual
//! machine whose freed memory goes back to its host within seconds), a huge page's first
//! touch cost 8-11 s per GB against 0.6-0.7 s for 4 KiB pages, and the whole city-cluster run
//! took 570.7 s with the advice against 503.7 s without (back to back, identical outputs;
//! README, "Huge pages dropped"), so large allocations now go to the system allocator as they
//! are.

/// Hands the free memory inside the allocator's heap back to the system (glibc's
/// `malloc_trim`; nothing elsewhere). Blocks below the mapping threshold (1 MiB, see
/// `main`) come from the heap, and when many are freed at once (the corridor zones' cells:
/// 3,379 vectors, 0.8 GB on the city cluster) the process keeps their pages until this is
/// called. The heap's contents are untouched.
pub fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases pages of free chunks; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
