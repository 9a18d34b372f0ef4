//! What the standard library's runtime did before `main`, for a `no_std`
//! pmtr: the C entry point, the heap, the panic handler, the environment.
//!
//! Why `no_std`: std's panic machinery (backtrace capture, symbol
//! demangling, DWARF reading) is linked into every stable build whatever the
//! panic strategy, and it was more than half of the file (657 KB of a static
//! x86_64 binary; the budget is 512 KB). Without std, pmtr is its own code,
//! `core`, `alloc`, rustix, and the C library for what rustix leaves out.
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

/// `argv[0]`, null before `main` or when there is none.
#[cfg(not(test))]
static ARGV0: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());

/// What each program's C `main` (`src/main.rs`, `src/bin/`) calls: collects
/// argv, prepares the process the way std's runtime did, and runs `program`
/// with the arguments after the program name; returns its exit status.
///
/// # Safety
///
/// `argc`, `argv` and `envp` must be what the C runtime passed to `main`.
#[cfg(not(test))]
pub unsafe fn enter(
    argc: c_int,
    argv: *const *const c_char,
    envp: *const *const c_char,
    program: fn(Vec<String>) -> u8,
) -> c_int {
    ENVP.store(envp.cast_mut(), Ordering::Relaxed);
    if argc > 0 {
        // SAFETY: argv holds argc valid pointers.
        ARGV0.store(unsafe { *argv }.cast_mut(), Ordering::Relaxed);
    }
    let mut args = Vec::with_capacity(argc.max(0) as usize);
    // argv[0], the program's name, is not an argument.
    for i in 1..argc.max(0) as usize {
        // SAFETY: the C runtime passes argc valid C strings in argv.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
        args.push(crate::utf8::lossy(arg.to_bytes()));
    }
    prepare_process();
    let code = program(args);
    #[cfg(feature = "alloc-count")]
    super::heap::write_count();
    c_int::from(code)
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
        // SAFETY: only asks whether the descriptor number is open; the
        // borrow ends with the call.
        let open =
            rustix::io::fcntl_getfd(unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) }).is_ok();
        if !open {
            // Opening takes the lowest free number, which is `fd`.
            let null = rustix::fs::open(c"/dev/null", OFlags::RDWR, Mode::empty());
            core::mem::forget(null);
        }
    }
    crate::sys::ignore(libc::SIGPIPE);
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

/// The name the program was started by (`argv[0]`), if UTF-8.
#[cfg(not(test))]
pub fn argv0() -> Option<&'static str> {
    let p = ARGV0.load(Ordering::Relaxed);
    // SAFETY: set once from argv, whose strings live as long as the
    // process (see the module's safety note).
    (!p.is_null()).then(|| crate::utf8::str(unsafe { CStr::from_ptr(p) }.to_bytes()))?
}

#[cfg(test)]
pub fn argv0() -> Option<&'static str> {
    None
}

/// `getauxval(kind)`—The value of the auxiliary vector's entry `kind`
/// (`AT_PHDR`, `AT_SYSINFO_EHDR`, ...), 0 if it has none. The kernel puts
/// the vector right after the environment block's null entry; read here,
/// not through the C library's `getauxval` (issue 18, bytes: 108 bytes of
/// armv7, ARM code).
#[cfg(not(test))]
pub fn auxv(kind: usize) -> usize {
    let mut at = ENVP.load(Ordering::Relaxed).cast_const();
    if at.is_null() {
        return 0;
    }
    // SAFETY: envp is the null-terminated array the kernel built, followed
    // by the auxiliary vector, pairs of words ended by AT_NULL (0); both
    // live as long as the process, and pmtr never replaces `environ`.
    unsafe {
        while !(*at).is_null() {
            at = at.add(1);
        }
        let mut entry = at.add(1).cast::<usize>();
        while *entry != 0 {
            if *entry == kind {
                return *entry.add(1);
            }
            entry = entry.add(2);
        }
    }
    0
}

/// Test builds run under std's harness: the C library's `getauxval`.
#[cfg(test)]
pub fn auxv(kind: usize) -> usize {
    // SAFETY: getauxval only reads the auxiliary vector.
    unsafe { libc::getauxval(kind as libc::c_ulong) as usize }
}

/// `getenv(name)`—The value of an environment variable, if set and UTF-8.
pub fn var(name: &str) -> Option<&'static str> {
    environ().find_map(|entry| {
        let entry = crate::utf8::str(entry.to_bytes())?;
        let value = crate::strip_ascii(entry.strip_prefix(name)?, b'=')?;
        Some(value)
    })
}

/// The heap (`sys/heap.rs`). Not in the fuzz targets (`--cfg fuzzing`):
/// they are std programs, and std's allocator is the one a sanitizer
/// watches.
#[cfg(not(any(test, fuzzing)))]
#[global_allocator]
static HEAP: super::heap::Heap = super::heap::Heap::new();

/// A panic is a bug in pmtr: say so, then abort (SIGABRT, a core dump if
/// enabled), as when pmtr is killed: each job gets its PDEATHSIG. In the
/// size-optimised build panics abort at once, without this message.
/// Tests and fuzz targets have std's handler instead.
///
/// Where the panic was (`FILE:LINE`) is said by debug builds and by a
/// release build with the `panic-location` feature, not by the default
/// release build: naming it keeps every panic site's location and file
/// name in the binary, 8.6 KB of the stable x86_64 build (issue 18).
#[cfg(not(any(test, fuzzing)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(any(debug_assertions, feature = "panic-location"))]
    if let Some(at) = info.location() {
        crate::eprintln!("pmtr: internal error at {}:{}", at.file(), at.line());
    }
    #[cfg(not(any(debug_assertions, feature = "panic-location")))]
    {
        let _ = info;
        crate::eprintln!(
            "pmtr: internal error (a build with --features panic-location names where)"
        );
    }
    crate::sys::abort()
}

// The prebuilt `core` and `alloc` of a stable toolchain are compiled for
// unwinding, so their code names the unwinder's personality routine and
// `_Unwind_Resume` even though pmtr is built with panic=abort and nothing
// ever unwinds. These two satisfy the linker; neither can be reached.
// With std linked (tests, fuzz targets) std's own would clash with them.
#[cfg(not(any(test, fuzzing)))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[cfg(not(any(test, fuzzing)))]
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    crate::sys::abort()
}

// On 32-bit ARM the unwind tables of the prebuilt core and alloc name the
// EHABI personality routines too; with no unwinder linked (std brought
// one), they would be undefined under a gcc link. Never called either.
#[cfg(all(not(any(test, fuzzing)), target_arch = "arm"))]
#[unsafe(no_mangle)]
extern "C" fn __aeabi_unwind_cpp_pr0() -> ! {
    crate::sys::abort()
}

#[cfg(all(not(any(test, fuzzing)), target_arch = "arm"))]
#[unsafe(no_mangle)]
extern "C" fn __aeabi_unwind_cpp_pr1() -> ! {
    crate::sys::abort()
}

// The C library, linked explicitly: without std nothing else asks for it
// on musl (the `libc` crate leaves that to std).
#[cfg(all(not(test), target_env = "musl"))]
#[link(name = "c")]
unsafe extern "C" {}

/// The C library's start-up, replaced in pmtr's static musl builds
/// (issue 18, bytes: musl's `__libc_start_main`, its TLS set-up and, on
/// 32-bit ARM, its run-time choice of atomics; min armv6 -1816 bytes,
/// armv7 -988, aarch64 -1436, x86_64 -1236; stable x86_64 -1268, aarch64
/// -1604). The C library's `crt1.o` still holds `_start`, which calls
/// `__libc_start_main(main, argc, argv, ...)`: this one is found first,
/// so the linker takes nothing of musl's start-up from its archive.
/// (Unit tests and fuzz targets run on std's runtime, a glibc host build
/// on glibc's.)
///
/// What musl's start-up did that pmtr needs is one thing: a thread
/// pointer, for `errno`. The few C library functions pmtr calls
/// (`syscall`, `clone`, `_exit`, `__errno_location`) read nothing else
/// musl sets up: not the auxiliary vector (pmtr reads it itself,
/// [`auxv`]), not the page size, `environ` or program name; and pmtr has
/// no constructors, no `atexit` handlers and no C stdio to flush. What it
/// did for a set-uid start (fds 0-2 opened on /dev/null), pmtr's
/// [`enter`] does for every start.
///
/// For the four targets pmtr ships; another keeps musl's start-up.
#[cfg(all(
    target_env = "musl",
    not(test),
    not(fuzzing),
    any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")
))]
mod entry {
    use core::ffi::{c_char, c_int};

    /// Each program's C `main` (`src/main.rs`, `src/bin/`).
    type Main = unsafe extern "C" fn(c_int, *const *const c_char, *const *const c_char) -> c_int;

    /// What musl's `struct pthread` is to its `errno`: the block the
    /// thread pointer points into. musl's is 200 bytes on 64-bit targets,
    /// 120 on 32-bit; `errno` lies within it. Zeroed memory, not in the
    /// file.
    static mut THREAD: [usize; 64] = [0; 64];

    /// Sets the thread pointer as musl's `__init_tls` does for a program
    /// without thread-local variables: on x86_64 at the block, whose first
    /// word points to itself (musl reads `%fs:0` for its thread); on ARM
    /// and aarch64 at the block's end (musl's thread lies below it).
    ///
    /// # Safety
    ///
    /// Called once, before anything reads `errno`.
    unsafe fn set_thread_pointer() {
        let block = (&raw mut THREAD).cast::<usize>();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the block is static and larger than musl's thread;
        // arch_prctl(ARCH_SET_FS) only sets this thread's %fs base.
        unsafe {
            *block = block as usize;
            libc::syscall(libc::SYS_arch_prctl, 0x1002, block);
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: one past the end of the static block, which musl only
        // reads below.
        let end = unsafe { block.add(64) };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: writes this thread's TPIDR_EL0, which nothing read yet.
        unsafe {
            core::arch::asm!("msr tpidr_el0, {}", in(reg) end, options(nostack));
        }
        #[cfg(target_arch = "arm")]
        // SAFETY: ARM Linux's set_tls (0xf0005) sets this thread's
        // TPIDRURO, which musl reads with `mrc` on ARMv6K and later (the
        // ARM1176 of a Pi Zero is ARMv6KZ).
        unsafe {
            libc::syscall(0xf0005, end);
        }
    }

    /// Called by `crt1.o`'s `_start` with `main` and the kernel's
    /// arguments: sets the thread pointer, runs `main` with the
    /// environment block that follows `argv`'s null, and ends the process
    /// with its status. The last three arguments (init and fini functions,
    /// the dynamic linker's) do not apply to pmtr's static binary.
    ///
    /// # Safety
    ///
    /// `argv` holds `argc` pointers and a null, followed by `envp`'s.
    #[unsafe(no_mangle)]
    unsafe extern "C" fn __libc_start_main(
        main: Main,
        argc: c_int,
        argv: *const *const c_char,
    ) -> ! {
        // SAFETY: the kernel's layout, as described above.
        unsafe {
            set_thread_pointer();
            let envp = argv.add(argc as usize + 1);
            libc::_exit(main(argc, argv, envp))
        }
    }
}
