//! What the standard library's runtime did before `main`, for a `no_std`
//! pmtr: the C entry point, the heap, the panic handler, the environment.
//!
//! Why `no_std`: std's panic machinery (backtrace capture, symbol
//! demangling, DWARF reading) is linked into every stable build whatever the
//! panic strategy, and it was more than half of the file (657 KB of a static
//! x86_64 binary; the budget is 512 KB). Without std, pmtr is its own code,
//! `core`, `alloc`, rustix and the C library's malloc.
//!
//! Unit tests (`cfg(test)`) are built with std and its test harness, so
//! everything here that std also defines is left out of them.
//!
//! # Safety
//!
//! `main` receives argv and envp from the C runtime: NUL-terminated arrays
//! of NUL-terminated strings that live as long as the process. pmtr never
//! calls `setenv`, so envp stays as it was at start.

#![allow(unsafe_code)]

use core::ffi::CStr;
#[cfg(not(test))]
use core::{
    ffi::{c_char, c_int},
    sync::atomic::{AtomicPtr, Ordering},
};

use crate::prelude::*;

/// The environment block the process started with (envp), null before
/// `main`.
#[cfg(not(test))]
static ENVP: AtomicPtr<*const c_char> = AtomicPtr::new(core::ptr::null_mut());

/// The C entry point: collects argv, prepares the process the way std's
/// runtime did, and runs pmtr.
#[cfg(not(test))]
#[unsafe(export_name = "main")]
extern "C" fn c_main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    ENVP.store(envp.cast_mut(), Ordering::Relaxed);
    let mut args = Vec::with_capacity(argc.max(0) as usize);
    for i in 0..argc.max(0) as usize {
        // SAFETY: the C runtime passes argc valid C strings in argv.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
        args.push(String::from_utf8_lossy(arg.to_bytes()).into_owned());
    }
    prepare_process();
    c_int::from(crate::run(args))
}

/// What std's runtime does before `main`, and pmtr relies on:
/// - fds 0-2 open (on /dev/null if pmtr was started without them), so a
///   file pmtr opens never lands on 0-2 and gets written to by mistake;
/// - SIGPIPE ignored, so writing to a closed pipe or socket (stderr of a
///   gone terminal, a restarted syslog daemon) is an EPIPE error, not
///   death. Jobs get the default back before exec (`sys::reset_signal_dispositions`).
#[cfg(not(test))]
fn prepare_process() {
    use rustix::fs::{Mode, OFlags};
    for fd in 0..3 {
        // SAFETY: only asks whether the descriptor number is open.
        let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1;
        if !open {
            // Opening takes the lowest free number, which is `fd`.
            let null = rustix::fs::open("/dev/null", OFlags::RDWR, Mode::empty());
            core::mem::forget(null);
        }
    }
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE; the rest of the
    // struct is zeroed (no flags, empty mask).
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = libc::SIG_IGN;
        libc::sigaction(libc::SIGPIPE, &action, core::ptr::null_mut());
    }
}

/// The environment entries (`NAME=value`) the process started with.
#[cfg(not(test))]
pub fn environ() -> impl Iterator<Item = &'static CStr> {
    let mut at = ENVP.load(Ordering::Relaxed).cast_const();
    core::iter::from_fn(move || {
        // SAFETY: envp is a null-terminated array of C strings that lives
        // as long as the process (see the module's safety note); `at` stops
        // on the null entry and never moves past it.
        unsafe {
            if at.is_null() || (*at).is_null() {
                return None;
            }
            let entry = CStr::from_ptr(*at);
            at = at.add(1);
            Some(entry)
        }
    })
}

/// Test builds run under std's harness: its environment is the process's.
#[cfg(test)]
pub fn environ() -> impl Iterator<Item = &'static CStr> {
    extern crate std;
    use std::os::unix::ffi::OsStrExt;
    let entries: Vec<&'static CStr> = std::env::vars_os()
        .map(|(name, value)| {
            let mut bytes = name.as_bytes().to_vec();
            bytes.push(b'=');
            bytes.extend_from_slice(value.as_bytes());
            let entry: &'static CStr =
                Box::leak(alloc::ffi::CString::new(bytes).unwrap().into_boxed_c_str());
            entry
        })
        .collect();
    entries.into_iter()
}

/// `getenv(name)`—The value of an environment variable, if set and UTF-8.
pub fn var(name: &str) -> Option<&'static str> {
    environ().find_map(|entry| {
        let entry = entry.to_str().ok()?;
        let value = entry.strip_prefix(name)?.strip_prefix('=')?;
        Some(value)
    })
}

/// The heap is the C library's malloc, as it was under std.
#[cfg(not(test))]
#[global_allocator]
static HEAP: Malloc = Malloc;

#[cfg(not(test))]
struct Malloc;

/// The alignment malloc guarantees (`alignof(max_align_t)`).
#[cfg(not(test))]
const MALLOC_ALIGN: usize = if cfg!(target_pointer_width = "64") {
    16
} else {
    8
};

// SAFETY: malloc, calloc, realloc and free are the C allocator's contract;
// larger alignments go through posix_memalign.
#[cfg(not(test))]
unsafe impl core::alloc::GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: any size is valid; null signals failure.
            unsafe { libc::malloc(layout.size()).cast() }
        } else {
            aligned(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: as for malloc.
            unsafe { libc::calloc(1, layout.size()).cast() }
        } else {
            let p = aligned(layout);
            if !p.is_null() {
                // SAFETY: `p` points at `layout.size()` writable bytes.
                unsafe { p.write_bytes(0, layout.size()) };
            }
            p
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _: core::alloc::Layout) {
        // SAFETY: `ptr` came from malloc, calloc, realloc or posix_memalign.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: core::alloc::Layout, size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from malloc with this alignment.
            unsafe { libc::realloc(ptr.cast(), size).cast() }
        } else {
            let new = aligned(core::alloc::Layout::from_size_align(size, layout.align()).unwrap());
            if !new.is_null() {
                // SAFETY: both blocks are live and at least this long.
                unsafe {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(size));
                    libc::free(ptr.cast());
                }
            }
            new
        }
    }
}

#[cfg(not(test))]
fn aligned(layout: core::alloc::Layout) -> *mut u8 {
    let mut out = core::ptr::null_mut();
    // SAFETY: the alignment is a power of two and a multiple of the pointer
    // size (it is above MALLOC_ALIGN); `out` is written only on success.
    let rc = unsafe { libc::posix_memalign(&mut out, layout.align(), layout.size()) };
    if rc == 0 {
        out.cast()
    } else {
        core::ptr::null_mut()
    }
}

/// A panic is a bug in pmtr: say where, then abort (SIGABRT, a core dump
/// if enabled), as when pmtr is killed: each job gets its PDEATHSIG. In the
/// size-optimised build panics abort at once, without this message.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if let Some(at) = info.location() {
        crate::eprintln!("pmtr: internal error at {}:{}", at.file(), at.line());
    }
    // SAFETY: abort never returns and is async-signal-safe.
    unsafe { libc::abort() }
}

// The prebuilt `core` and `alloc` of a stable toolchain are compiled for
// unwinding, so their code names the unwinder's personality routine and
// `_Unwind_Resume` even though pmtr is built with panic=abort and nothing
// ever unwinds. These two satisfy the linker; neither can be reached.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: as in the panic handler.
    unsafe { libc::abort() }
}

// The C library, linked explicitly: without std nothing else asks for it
// on musl (the `libc` crate leaves that to std).
#[cfg(all(not(test), target_env = "musl"))]
#[link(name = "c")]
unsafe extern "C" {}
