//! Counts the bytes the program holds on its heap, so the page can show the
//! memory a model really takes once built (dequantized tables, transposed
//! copies and all), measured rather than guessed from its file size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator with a running count of live bytes.
pub struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The largest single allocation asked for since [`reset_largest`].
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to `System` unchanged; the count is a side
// effect that does not touch the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Bytes allocated and not yet freed, program-wide. In the single-threaded
/// Web Worker the difference across a synchronous step is what that step
/// kept; natively other threads may allocate meanwhile.
pub fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed) as u64
}

/// Starts a new watch for the largest single allocation (the fuzz test
/// holds each input to a cap with it).
pub fn reset_largest() {
    LARGEST.store(0, Ordering::Relaxed);
}

/// The largest single allocation asked for since [`reset_largest`].
pub fn largest_allocation() -> usize {
    LARGEST.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_buffer_counts_until_it_is_dropped() {
        // Other test threads allocate and free meanwhile: a 64 MB buffer
        // stands out of their noise by half its size at least.
        let before = live_bytes();
        let buffer = std::hint::black_box(vec![1u8; 64 << 20]);
        let during = live_bytes();
        assert!(during >= before + (32 << 20), "{before} -> {during}");
        drop(buffer);
        let after = live_bytes();
        assert!(after + (32 << 20) <= during, "{during} -> {after}");
    }
}
