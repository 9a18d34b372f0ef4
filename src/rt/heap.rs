//! pmtr's heap: size classes carved from anonymous mappings.
//!
//! Why not the C library's malloc: pmtr allocates when it loads a
//! configuration and hardly ever otherwise (the restart loop allocates
//! nothing), so a general-purpose allocator buys nothing, and the one the
//! size-optimised build links (zig's) was about 4 KB of a 128 KB budget.
//!
//! - A block of up to 4 KiB gets the smallest class that holds it: 16 and
//!   32 bytes, then each power of two from 64 and three quarters of it (48,
//!   64, 96, 128, 192, ... 3072, 4096), so at most a third of a block is
//!   unused. Blocks are cut one after the other from a bump region of 256
//!   KiB of address space (pages cost memory only once touched); every
//!   class is a multiple of 16, so each block is 16-aligned with no gap
//!   between them. Freed blocks go on a free list per class and are
//!   reused. (Powers of two alone, each block aligned to its size, left a
//!   quarter to a third of the heap of 1000 jobs unused: issue 18.)
//! - Anything larger, or aligned to more than 16, is its own mapping:
//!   `mremap` grows it without a copy (reading a file, the
//!   configuration's job table), `munmap` returns it.
//!
//! # Safety
//!
//! A free block holds the pointer to the next free block of its class in
//! its first word; every block is at least 16 bytes and 16-aligned, so
//! that word is in bounds and aligned. The state sits behind
//! [`Lock`], so concurrent callers (there are none in pmtr) would still be
//! serialised. A forked child does not allocate (see `sys::fork`).

#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;

use rustix::mm::{MapFlags, MremapFlags, ProtFlags};

use super::lock::Lock;

/// Blocks handed out (alloc and realloc calls), with the `alloc-count`
/// feature: what `make bench` reports as allocations per restart.
#[cfg(feature = "alloc-count")]
static ALLOCATIONS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Writes the allocation count to `$ALLOCCOUNT_DIR/allocs.PID`, if that is
/// set; called when pmtr exits.
#[cfg(feature = "alloc-count")]
pub fn write_count() {
    use core::sync::atomic::Ordering;
    if let Some(dir) = super::start::var("ALLOCCOUNT_DIR") {
        let count = ALLOCATIONS.load(Ordering::Relaxed);
        let path = alloc::format!(
            "{dir}/allocs.{}",
            rustix::process::getpid().as_raw_nonzero()
        );
        let _ = crate::files::write_file(&path, alloc::format!("{count}\n").as_bytes(), 0o644);
    }
}

fn count_allocation() {
    #[cfg(feature = "alloc-count")]
    ALLOCATIONS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
}

const PAGE: usize = 4096;
/// The smallest block, and the alignment of every block (two pointers,
/// any malloc alignment).
const MIN: usize = 16;
/// Size classes: 16, 32, 48, 64, 96, 128, ..., 3072, 4096 bytes.
const CLASSES: usize = 16;
/// Address space reserved at a time for small blocks.
const REGION: usize = 256 * 1024;

struct State {
    /// Head of each class's free list (null: empty).
    free: [*mut u8; CLASSES],
    /// The unused part of the current region.
    next: usize,
    end: usize,
}

// SAFETY: the pointers are to memory this allocator owns; moving the state
// between threads moves that ownership with it.
unsafe impl Send for State {}

pub struct Heap(Lock<State>);

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

impl Heap {
    pub const fn new() -> Heap {
        Heap(Lock::new(State {
            free: [null_mut(); CLASSES],
            next: 0,
            end: 0,
        }))
    }
}

/// The class index for `layout`, or `None` for a large block.
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(MIN);
    if size > PAGE || layout.align() > MIN {
        return None;
    }
    // The power of two that holds it: 2^shift.
    let shift = usize::BITS - (size - 1).leading_zeros();
    Some(match shift {
        0..=4 => 0,
        5 => 1,
        // 3 × 2^(shift-2) is the class just below 2^shift.
        _ => 2 * (shift as usize - 6) + 2 + usize::from(size > 3 << (shift - 2)),
    })
}

fn class_size(class: usize) -> usize {
    match class {
        0 => 16,
        1 => 32,
        // Even: three quarters of the power of two that follows.
        c if c % 2 == 0 => 3 << (c / 2 + 3),
        c => 1 << (c / 2 + 5),
    }
}

fn pages(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

/// `mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)`;
/// null on failure.
fn map(size: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous mapping aliases nothing.
    let mapped = unsafe {
        rustix::mm::mmap_anonymous(
            null_mut(),
            size,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    };
    mapped.map_or(null_mut(), |p| p.cast())
}

impl Heap {
    /// A block for `layout`, uncounted.
    fn block(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            Some(c) => self.0.lock().alloc_small(c),
            None if layout.align() <= PAGE => map(pages(layout.size())),
            None => null_mut(),
        }
    }
}

impl State {
    fn alloc_small(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: a free block's first word is the next free block.
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = class_size(class);
        // Every class is a multiple of 16, so `next` stays 16-aligned.
        let mut at = self.next;
        if self.end == 0 || at + size > self.end {
            let region = map(REGION);
            if region.is_null() {
                return null_mut();
            }
            // The rest of the old region stays unused address space.
            self.next = region as usize;
            self.end = self.next + REGION;
            at = self.next;
        }
        self.next = at + size;
        at as *mut u8
    }

    fn free_small(&mut self, ptr: *mut u8, class: usize) {
        // SAFETY: the block is ours, at least 16 bytes and aligned.
        unsafe { ptr.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = ptr;
    }
}

// SAFETY: blocks are disjoint: a small block is handed out once until it is
// freed, a large one is its own mapping; each is at least `layout.size()`
// bytes and aligned to `layout.align()` (small blocks are 16-aligned and
// only serve alignments up to 16; mappings are page-aligned).
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        self.block(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(layout) {
            Some(c) => self.0.lock().free_small(ptr, c),
            // SAFETY: a large block is a whole mapping of this length.
            None => unsafe {
                let _ = rustix::mm::munmap(ptr.cast(), pages(layout.size()));
            },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller guarantees a valid layout for the new size.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            (Some(old), Some(c)) if old == c => return ptr,
            (None, None) => {
                // SAFETY: `ptr` is a whole mapping of the old length; the
                // kernel moves it if it cannot grow in place.
                let moved = unsafe {
                    rustix::mm::mremap(
                        ptr.cast(),
                        pages(layout.size()),
                        pages(new_size),
                        MremapFlags::MAYMOVE,
                    )
                };
                return moved.map_or(null_mut(), |p| p.cast());
            }
            _ => {}
        }
        // SAFETY: as for alloc; then both blocks are live and at least
        // `min(old, new)` long, and the old one is freed once.
        unsafe {
            let fresh = self.block(new);
            if !fresh.is_null() {
                core::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn classes_are_powers_of_two_and_three_quarters_from_16_to_4096() {
        let sizes: Vec<usize> = (0..CLASSES).map(class_size).collect();
        assert_eq!(
            sizes,
            [
                16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096
            ]
        );
        // Each size gets the smallest class that holds it.
        for size in 1..=PAGE {
            let c = class(layout(size, 8)).unwrap();
            assert!(class_size(c) >= size, "{size}");
            assert!(c == 0 || class_size(c - 1) < size, "{size}");
        }
        assert_eq!(class(layout(4097, 8)), None);
        // More than 16-aligned: a mapping of its own.
        assert_eq!(class(layout(8, 64)), None);
        assert_eq!(class(layout(8, 16)), Some(0));
    }

    #[test]
    fn blocks_are_aligned_disjoint_reused_and_grow() {
        let heap = Heap::new();
        // SAFETY: every block is used within its layout and freed once.
        unsafe {
            let a = heap.alloc(layout(24, 8));
            let b = heap.alloc(layout(24, 8));
            assert_eq!(a as usize % 16, 0);
            assert!(b as usize >= a as usize + 32 || a as usize >= b as usize + 32);
            a.write_bytes(0xaa, 24);
            b.write_bytes(0xbb, 24);
            assert_eq!(a.add(23).read(), 0xaa);
            heap.dealloc(a, layout(24, 8));
            assert_eq!(heap.alloc(layout(30, 8)), a, "a freed block is reused");

            // Small to large and large to larger keep the content.
            let grown = heap.realloc(b, layout(24, 8), 10_000);
            assert_eq!(grown as usize % PAGE, 0);
            assert_eq!(grown.add(23).read(), 0xbb);
            grown.add(9_999).write(7);
            let larger = heap.realloc(grown, layout(10_000, 8), 300_000);
            assert_eq!(larger.add(23).read(), 0xbb);
            assert_eq!(larger.add(9_999).read(), 7);
            larger.add(299_999).write(1);
            let small = heap.realloc(larger, layout(300_000, 8), 20);
            assert_eq!(small.add(19).read(), 0xbb);
            heap.dealloc(small, layout(20, 8));

            // Many blocks span regions, each 16-aligned and apart from
            // the next.
            let blocks: Vec<*mut u8> = (0..200).map(|_| heap.alloc(layout(4000, 8))).collect();
            assert!(
                blocks
                    .iter()
                    .all(|p| !p.is_null() && (*p as usize).is_multiple_of(16))
            );
            for pair in blocks.windows(2) {
                assert!((pair[0] as usize).abs_diff(pair[1] as usize) >= 4000);
            }
            for p in blocks {
                heap.dealloc(p, layout(4000, 8));
            }

            // Mixed sizes are cut with no gap: a 48 after a 16.
            let fresh = Heap::new();
            let x = fresh.alloc(layout(16, 8));
            let y = fresh.alloc(layout(40, 8));
            assert_eq!(y as usize, x as usize + 16);
            fresh.dealloc(x, layout(16, 8));
            fresh.dealloc(y, layout(40, 8));
            // More than 16-aligned: its own page.
            let z = fresh.alloc(layout(8, 64));
            assert_eq!(z as usize % PAGE, 0);
            fresh.dealloc(z, layout(8, 64));
        }
    }
}
