//! Large allocations on transparent huge pages.
//!
//! The stages' grids are read at scattered cells (a Dijkstra front, a per-patch run's
//! neighbourhood): with 4 KiB pages nearly every such read also needs its page's address
//! translated afresh (a 10,000-column `f32` raster puts each row on its own pages, so a
//! 3 × 3 window touches three). [`HugePages`] asks the kernel for 2 MiB pages
//! (`madvise(MADV_HUGEPAGE)`, honoured where transparent huge pages are `madvise` or
//! `always`) for every allocation of at least [`HugePages::MIN_BYTES`], before its memory is
//! first touched. Smaller allocations, and every platform but Linux, go to the system
//! allocator unchanged. A hint only: results are the same bytes either way.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, with large allocations aligned to 2 MiB and advised onto huge pages.
#[derive(Debug, Default, Clone, Copy)]
pub struct HugePages;

/// The huge page size (x86-64 and most aarch64 kernels).
const HUGE_PAGE: usize = 2 << 20;

impl HugePages {
    /// Allocations from this size on are advised onto huge pages (8 huge pages: smaller ones
    /// would waste more to alignment than they gain).
    pub const MIN_BYTES: usize = 16 << 20;

    /// The layout actually asked of the system allocator for `layout` (the same for
    /// allocating and freeing, as `GlobalAlloc` requires).
    fn layout(layout: Layout) -> Layout {
        if cfg!(target_os = "linux") && layout.size() >= Self::MIN_BYTES {
            // A valid layout with a larger power-of-two alignment is valid too (the size is
            // far below isize::MAX - 2 MiB for any allocation that can succeed).
            Layout::from_size_align(layout.size(), layout.align().max(HUGE_PAGE)).unwrap_or(layout)
        } else {
            layout
        }
    }
}

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

#[cfg(target_os = "linux")]
fn advise(p: *mut u8, len: usize) {
    // SAFETY: `p` starts an allocation of `len` bytes that this process owns; MADV_HUGEPAGE
    // changes how its pages are backed, never their contents, and failing is harmless.
    unsafe {
        libc::madvise(p.cast(), len, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_p: *mut u8, _len: usize) {}

// SAFETY: every call is forwarded to `System` with a layout that depends only on the
// caller's layout (`HugePages::layout`), so each block is freed with the layout it was
// allocated with; the advice never changes memory contents.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let big = Self::layout(layout);
        let p = System.alloc(big);
        if !p.is_null() && big != layout {
            advise(p, big.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let big = Self::layout(layout);
        if big == layout {
            return System.alloc_zeroed(layout);
        }
        // Advise before the zeroing touches the pages, so they are huge from the start.
        let p = self.alloc(layout);
        if !p.is_null() {
            std::ptr::write_bytes(p, 0, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, Self::layout(layout))
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if Self::layout(layout) == layout && Self::layout(new_layout) == new_layout {
            return System.realloc(ptr, layout, new_size);
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `len` bytes at `p` with a pattern of `seed`.
    unsafe fn fill(p: *mut u8, len: usize, seed: u8) {
        for i in (0..len).step_by(4093) {
            *p.add(i) = seed.wrapping_add((i / 4093) as u8);
        }
        *p.add(len - 1) = seed ^ 0x5a;
    }

    unsafe fn check(p: *const u8, len: usize, seed: u8) {
        for i in (0..len).step_by(4093) {
            if i < len - 1 {
                assert_eq!(*p.add(i), seed.wrapping_add((i / 4093) as u8), "byte {i}");
            }
        }
    }

    #[test]
    fn large_blocks_are_aligned_to_huge_pages_and_keep_their_bytes_through_realloc() {
        let a = HugePages;
        let big = HugePages::MIN_BYTES + 12_345;
        unsafe {
            let l = Layout::from_size_align(big, 8).unwrap();
            let p = a.alloc(l);
            assert!(!p.is_null());
            if cfg!(target_os = "linux") {
                assert_eq!(
                    p as usize % HUGE_PAGE,
                    0,
                    "a large block starts on a huge page"
                );
            }
            fill(p, big, 7);
            // Larger, then below the threshold, then back above it: each move keeps the
            // bytes that fit.
            let p = a.realloc(p, l, 2 * big);
            check(p, big, 7);
            let l2 = Layout::from_size_align(2 * big, 8).unwrap();
            let p = a.realloc(p, l2, 100_000);
            check(p, 100_000, 7);
            let l3 = Layout::from_size_align(100_000, 8).unwrap();
            let p = a.realloc(p, l3, big);
            check(p, 100_000, 7);
            a.dealloc(p, l);
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_at_every_size() {
        let a = HugePages;
        for size in [
            1usize,
            4096,
            HugePages::MIN_BYTES - 1,
            HugePages::MIN_BYTES + 3,
        ] {
            unsafe {
                let l = Layout::from_size_align(size, 16).unwrap();
                let p = a.alloc_zeroed(l);
                assert!(!p.is_null());
                assert_eq!(p as usize % 16, 0);
                assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
                a.dealloc(p, l);
            }
        }
    }

    #[test]
    fn small_blocks_go_to_the_system_allocator_as_asked() {
        for size in [1usize, 64, 1 << 20, HugePages::MIN_BYTES - 1] {
            let l = Layout::from_size_align(size, 8).unwrap();
            assert_eq!(HugePages::layout(l), l);
        }
        let l = Layout::from_size_align(HugePages::MIN_BYTES, 8).unwrap();
        let expected = if cfg!(target_os = "linux") {
            HUGE_PAGE
        } else {
            8
        };
        assert_eq!(HugePages::layout(l).align(), expected);
        assert_eq!(HugePages::layout(l).size(), l.size());
    }
}
