//! Gives back the pages of pmtr's own file that loading a configuration
//! touched and the loop does not use (issue 18: memory at or under the C
//! pmtr's).
//!
//! Why: PSS charges pmtr for every page of its file mapped in its page
//! table, and the kernel maps file pages in blocks of 64 KiB around each
//! fault ("fault-around"), so after start-up the whole file is mapped
//! although the loop runs a fraction of it. `madvise(MADV_DONTNEED)` alone
//! changes nothing: the next faults map the same blocks again, because the
//! code the loop runs is spread over all of them. Fault-around never
//! crosses a VMA, though, so the first call cuts each read-only segment
//! into one-page VMAs (`MADV_RANDOM` on every other page: its flag keeps
//! neighbours from merging), and from then on a fault maps one page.
//!
//! Measured with `cross/pss.sh --respawns 1` (1 job, x86_64, sum of PSS):
//! stable 268 -> 184 KB, min 236 -> 160 KB (text 162 -> 88 KB);
//! `bench.py --only respawn` median 0.49 to 0.52 ms with and without. The
//! costs: one kernel VMA per page of text and rodata (about 200 bytes of
//! kernel memory each, not counted in PSS: 9 KB for the 45 pages of the
//! x86_64 min build), a minor fault the
//! first time a page is used again, and no read-ahead for these pages if
//! the kernel ever evicts them (a fault then reads the one page). A
//! debugger's breakpoints in the text are dropped by each call.
//!
//! # Safety
//!
//! Only segments without write permission are touched: their pages are
//! the file's bytes, never written (text relocations are not used, and the
//! relocated read-only data of a static-pie build sits in the writable
//! RELRO segment), so dropping them only makes the next access read the
//! same bytes back from the page cache. Those bytes cannot change: the
//! kernel refuses writes to a running executable (ETXTBSY), and a package
//! upgrade that renames a new file over it leaves pmtr's mapping on the
//! old inode.

#![allow(unsafe_code)]

use core::sync::atomic::{AtomicBool, Ordering};

use rustix::mm::Advice;

const PAGE: usize = 4096;

// What stays touched after a trim is the steady state's code, which the
// min builds link first, in a few pages (cross/hot-text.ld, made by
// cross/hot-trace.sh). Naming the script here makes cargo relink when it
// changes; the string itself is not kept in the binary.
const _: &str = include_str!("../../cross/hot-text.ld");

/// Set once the segments are cut into one-page VMAs.
static SPLIT: AtomicBool = AtomicBool::new(false);

/// Drops pmtr's file pages from its page table (they stay in the page
/// cache), and the stack below the caller's frame: called when the loop
/// is about to sleep after reading a configuration, when the parser's
/// pages have become cold. Four system calls after the first time.
pub fn release_startup_pages() {
    release_stack_below_here();
    let split = !SPLIT.swap(true, Ordering::Relaxed);
    for_each_read_only_segment(|start, end| {
        // SAFETY: see the module's safety note; the range is whole pages
        // of one of pmtr's own read-only segments. Errors (an old kernel,
        // qemu-user) leave the pages mapped, as before.
        unsafe {
            if split {
                let mut at = start + PAGE;
                while at < end {
                    let _ = rustix::mm::madvise(at as *mut _, PAGE, Advice::Random);
                    at += 2 * PAGE;
                }
            }
            let _ = rustix::mm::madvise(start as *mut _, end - start, Advice::LinuxDontNeed);
        }
    });
}

/// How far below this function's frame the stack is given back: start-up
/// and a configuration's read (the parser, the checks of each file) go
/// deeper than the loop (tens of KB), and each page they wrote stays in
/// pmtr's memory unless given back. Nothing else can be mapped there: the
/// kernel keeps at least 128 MiB between the top of the main thread's
/// stack and the mappings below it (`mmap_base`), and pmtr maps nothing
/// at a fixed address.
const STACK_DROP: usize = 256 << 10;

/// `MADV_DONTNEED` on the stack below the caller's frame, less two pages:
/// it is dead (nothing is kept below the stack pointer but the x86_64 red
/// zone, 128 bytes, and the kernel's signal frames, which pmtr's blocked
/// signals never push), and a page used again is a zeroed one.
#[inline(never)]
fn release_stack_below_here() {
    let here = 0u8;
    let sp = core::hint::black_box(core::ptr::addr_of!(here)) as usize;
    let top = (sp & !(PAGE - 1)).saturating_sub(2 * PAGE);
    let bottom = top.saturating_sub(STACK_DROP);
    // SAFETY: whole pages below the stack pointer, which hold nothing
    // (above). The range runs past the lowest page the stack ever had:
    // madvise then drops the mapped part and returns ENOMEM, ignored.
    unsafe {
        let _ = rustix::mm::madvise(bottom as *mut _, top - bottom, Advice::LinuxDontNeed);
    }
}

/// Calls `f(start, end)` with the page-aligned bounds of each loaded
/// segment of the executable that is not writable.
fn for_each_read_only_segment(mut f: impl FnMut(usize, usize)) {
    #[cfg(target_pointer_width = "64")]
    type Phdr = libc::Elf64_Phdr;
    #[cfg(target_pointer_width = "32")]
    type Phdr = libc::Elf32_Phdr;
    let phdr = super::start::auxv(libc::AT_PHDR as usize);
    let phnum = super::start::auxv(libc::AT_PHNUM as usize);
    if phdr == 0 {
        return;
    }
    // SAFETY: the kernel's AT_PHDR points at the executable's program
    // headers, AT_PHNUM of them, mapped for the life of the process.
    let phdrs = unsafe { core::slice::from_raw_parts(phdr as *const Phdr, phnum) };
    // A static-pie build is loaded at an offset from its link addresses.
    let bias = phdrs
        .iter()
        .find(|p| p.p_type == libc::PT_PHDR)
        .map_or(0, |p| phdr.wrapping_sub(p.p_vaddr as usize));
    for p in phdrs {
        if p.p_type != libc::PT_LOAD || p.p_flags & libc::PF_W != 0 {
            continue;
        }
        let start = bias.wrapping_add(p.p_vaddr as usize);
        let end = start + p.p_memsz as usize;
        f(start & !(PAGE - 1), end.next_multiple_of(PAGE));
    }
}

#[cfg(test)]
mod tests {
    /// Mappings of the test executable's own file in /proc/self/maps.
    fn own_mappings() -> usize {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_str().unwrap();
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|line| line.ends_with(exe))
            .count()
    }

    #[test]
    fn read_only_segments_are_cut_into_pages_and_still_run() {
        let before = own_mappings();
        super::release_startup_pages();
        let after = own_mappings();
        assert!(
            after > before + 2,
            "{before} mappings before, {after} after"
        );
        // Again, as after each configuration read: the code that runs
        // here is dropped under its feet and comes back.
        super::release_startup_pages();
        assert_eq!(own_mappings(), after);
    }
}
