//! The process's memory allocator: the system's, with the memory of large blocks (the lists of
//! plays of `inspect` and the workers, the tables of a summary, the buffers of a file parsed
//! whole) backed by transparent huge pages where the kernel offers them (`madvise` mode, the
//! default of many distributions).
//!
//! Why: when files were read whole, reading a 242 MB export touched some 170 MB of fresh memory,
//! and with 4 KiB pages that was 43,000 page faults, a quarter of `inspect`'s CPU time in the
//! kernel. 2 MiB pages halved the faults and took 11 % off `inspect`'s wall time
//! (BENCHMARKS.md, "Session 4"). Files are now read in pieces of 256 KiB (session 5), and
//! what stays large is the plays and the tables built from them. The same as glibc's
//! `glibc.malloc.hugetlb=1` tunable, limited to large blocks and without an environment
//! variable. Small blocks are left alone, so a mostly empty huge page is never the price of a
//! small allocation.

// The one place the workspace allows `unsafe`: an allocator cannot be written without it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, advising huge pages for blocks of at least [`LARGE`] bytes.
#[derive(Debug)]
pub struct HugeWhenLarge;

/// Blocks this large get the advice: at least two huge pages, so that whole 2 MiB pages fit in
/// them wherever they start.
const LARGE: usize = 4 << 20;

#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Advises huge pages for the whole 2 MiB pages inside `[ptr, ptr + len)`. Advice changes
/// nothing a program can observe but speed and memory use; failure (a kernel without THP) is
/// ignored.
fn advise(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize).saturating_add(len) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: the range lies inside a block the allocator just handed out, and
            // MADV_HUGEPAGE only marks it; it does not change its contents or mapping.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

// SAFETY: every call is passed on to `System` unchanged; `advise` only adds advice to the
// memory `System` returned.
unsafe impl GlobalAlloc for HugeWhenLarge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if layout.size() >= LARGE && !ptr.is_null() {
            advise(ptr, layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if layout.size() >= LARGE && !ptr.is_null() {
            advise(ptr, layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size >= LARGE && !ptr.is_null() {
            advise(ptr, new_size);
        }
        ptr
    }
}
