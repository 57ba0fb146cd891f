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

//!
//! It also counts the bytes it holds for the program ([`live`]) and the most it held since
//! [`reset_peak`] ([`peak`]): the web tier bounds its cache of prepared dashboards by what is
//! really held rather than by an estimate, and the benchmarks measure what preparing a user
//! costs. Two relaxed atomic additions an allocation; the counts are of the sizes asked for,
//! not of the allocator's own overhead.

// The one place the workspace allows `unsafe`: an allocator cannot be written without it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

/// Bytes the program holds now, when [`HugeWhenLarge`] is the global allocator (else `None`).
pub fn live() -> Option<usize> {
    COUNTING
        .load(Ordering::Relaxed)
        .then(|| LIVE.load(Ordering::Relaxed))
}

/// The most bytes held at once since the last [`reset_peak`] (or the start).
pub fn peak() -> Option<usize> {
    COUNTING
        .load(Ordering::Relaxed)
        .then(|| PEAK.load(Ordering::Relaxed))
}

/// Starts a new [`peak`] from what is held now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
}

/// Counts `ptr`'s block of `size` bytes when the allocator gave one.
fn counted(ptr: *mut u8, size: usize) -> *mut u8 {
    if !ptr.is_null() {
        if !COUNTING.load(Ordering::Relaxed) {
            COUNTING.store(true, Ordering::Relaxed);
        }
        grew(size);
    }
    ptr
}

/// The system allocator, advising huge pages for blocks of at least 4 MiB, and counting what
/// it holds.
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
        counted(ptr, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if layout.size() >= LARGE && !ptr.is_null() {
            advise(ptr, layout.size());
        }
        counted(ptr, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size >= LARGE && !ptr.is_null() {
            advise(ptr, new_size);
        }
        if !ptr.is_null() {
            // The old block is gone, the new one held (a failed realloc keeps the old).
            shrank(layout.size());
            grew(new_size);
        }
        ptr
    }
}

/// Gives the memory the allocator keeps free back to the system (glibc's `malloc_trim`):
/// called after the web tier drops prepared dashboards, so that what it evicted leaves the
/// process's resident memory too. Does nothing elsewhere.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's arenas to the system;
    // it touches no block the program holds.
    unsafe {
        libc::malloc_trim(0);
    }
}
