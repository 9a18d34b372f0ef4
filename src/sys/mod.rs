//! What rustix leaves out on purpose (see its `not_implemented.rs`): fork,
//! execve, sigprocmask, sigaction and signalfd, wrapped over `libc`.
//!
//! # Safety
//!
//! Each wrapper states what its caller must uphold. pmtr is single-threaded,
//! which is what makes `fork` sound here: the child has the one thread there
//! was, and every lock is in the state that thread left it in.

#![allow(unsafe_code)]

use core::ffi::{CStr, c_char};
use core::mem::MaybeUninit;

use rustix::fd::{FromRawFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::Pid;

mod strerror;
pub(crate) use strerror::ERRNO_TEXTS;
pub use strerror::Strerror;

/// `fd` lent as a [`BorrowedFd`], without the check rustix's no_std
/// `as_fd` makes at each call that the number is not -1 (issue 18,
/// bytes: a compare and a trap at some 25 places). An [`OwnedFd`] never
/// holds -1: rustix's own constructors check it once, when the
/// descriptor is made.
///
/// [`BorrowedFd`]: rustix::fd::BorrowedFd
#[inline(always)]
pub fn lend(fd: &OwnedFd) -> rustix::fd::BorrowedFd<'_> {
    use rustix::fd::AsRawFd;
    // SAFETY: `BorrowedFd` is `repr(transparent)` over a `RawFd` (rustix
    // documents it as having a host descriptor's representation), the
    // number is open and not -1 because `fd` owns it, and the result's
    // lifetime is `fd`'s borrow, so it cannot outlive the descriptor.
    unsafe { core::mem::transmute::<rustix::fd::RawFd, rustix::fd::BorrowedFd<'_>>(fd.as_raw_fd()) }
}

/// The signals pmtr handles through its signalfd.
pub const HANDLED: [i32; 4] = [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// `fork()`—Creates a child process; `Ok(None)` in the child.
///
/// # Safety
///
/// The process must be single-threaded, and the child may only make
/// async-signal-safe calls (no allocation, no locks) before `execve` or
/// `_exit`.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/fork.2.html)
pub unsafe fn fork() -> Result<Option<Pid>, Errno> {
    // The system call itself, `clone(SIGCHLD)` with no stack (the child
    // goes on on a copy of this one): the C library's `fork` also runs
    // atfork handlers and takes its internal locks, which a single-threaded
    // program without either does not need, and links 2 KB of lock code
    // (issue 18). All other arguments are zero, so their order, which
    // differs between architectures, does not matter. In the child, musl's
    // cached thread id is the parent's: only `raise` and `abort` read it,
    // and pmtr calls neither ([`abort`] signals by process id).
    // SAFETY: the caller upholds the single-thread and child-side rules.
    match unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) } {
        -1 => Err(last_errno()),
        0 => Ok(None),
        pid => Ok(Pid::from_raw(pid as _)),
    }
}

/// `abort()`—Ends pmtr with SIGABRT (a core dump if enabled), as the C
/// library's `abort` does, but signalling the process by its id: after
/// [`fork`] the C library's cached thread id is the parent's.
pub fn abort() -> ! {
    let abrt = rustix::process::Signal::ABORT;
    // SIGABRT is never blocked in pmtr; its default action is to end it.
    kernel_sigaction(abrt.as_raw(), Some(&[0; 4]), None);
    let _ = rustix::process::kill_process(rustix::process::getpid(), abrt);
    exit_now(127)
}

/// Stack bytes for a child between clone and exec (it needs about a
/// kilobyte: child_main's frames and the system call wrappers).
const CHILD_STACK_BYTES: usize = 8192;

/// The stack [`spawn_shared`]'s children run on: in .bss, so only the pages
/// a child touches cost memory, and pmtr's own stack stays small.
struct ChildStack(core::cell::UnsafeCell<[MaybeUninit<u8>; CHILD_STACK_BYTES]>);

// SAFETY: only a child uses it, and one at a time: pmtr (single-threaded)
// waits in clone until that child has exec'd or exited.
unsafe impl Sync for ChildStack {}

static CHILD_STACK: ChildStack = ChildStack(core::cell::UnsafeCell::new(
    [MaybeUninit::uninit(); CHILD_STACK_BYTES],
));

/// `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)`—Starts a child that shares
/// pmtr's memory and runs `child(arg)` on its own stack, while pmtr waits until
/// the child has called `execve` or `_exit`. This is how musl's
/// `posix_spawn` starts a program: nothing is copied, so a restart does not
/// pay for duplicating pmtr's page tables, nor pmtr for copy-on-write
/// faults afterwards. Returns the child's PID.
///
/// # Safety
///
/// The process must be single-threaded. `child` runs in pmtr's memory: it
/// may only make async-signal-safe calls that write nothing pmtr reads (no
/// allocation, no locks, no statics) but through `arg`, which pmtr reads only
/// after this returns; must not unwind, and must end in `execve` or `_exit`.
/// `arg` must stay valid until this returns (it does for the whole child,
/// which finishes before pmtr resumes).
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/clone.2.html)
#[doc(alias = "clone")]
#[doc(alias = "vfork")]
pub unsafe fn spawn_shared(
    child: extern "C" fn(*mut core::ffi::c_void) -> core::ffi::c_int,
    arg: *mut core::ffi::c_void,
) -> Result<Pid, Errno> {
    // The stack grows down from the end of the buffer, 16-byte aligned
    // as every ABI pmtr targets wants at a call.
    let top = (CHILD_STACK.0.get() as usize + CHILD_STACK_BYTES) & !15;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: `top` is the end of the child stack, which no one else uses
    // while the child runs; the caller upholds the rules for `child` and
    // `arg`.
    // SAFETY: as above.
    let pid = unsafe { clone_raw(child, top as *mut core::ffi::c_void, flags, arg) };
    if pid > 0
        && let Some(pid) = Pid::from_raw(pid)
    {
        return Ok(pid);
    }
    // A negated errno, or 0 (the child's return, never the caller's:
    // EINVAL were it to be). One `Errno` made for both (issue 18, bytes).
    Err(Errno::from_raw_os_error(if pid < 0 {
        -pid
    } else {
        libc::EINVAL
    }))
}

// musl's `clone` wrapper also handles clones without CLONE_VM, and that
// links its fork machinery (atfork locks, signal blocking: about 1 KB);
// `__clone`, the assembly it calls in the CLONE_VM case, is all pmtr
// needs. It returns the child's PID or the negated errno.
#[cfg(target_env = "musl")]
unsafe extern "C" {
    #[link_name = "__clone"]
    fn clone_raw(
        child: extern "C" fn(*mut core::ffi::c_void) -> core::ffi::c_int,
        stack: *mut core::ffi::c_void,
        flags: core::ffi::c_int,
        arg: *mut core::ffi::c_void,
    ) -> core::ffi::c_int;
}

/// The host's C library (the unit tests): its `clone` wrapper, with
/// `__clone`'s way of returning an error.
#[cfg(not(target_env = "musl"))]
unsafe fn clone_raw(
    child: extern "C" fn(*mut core::ffi::c_void) -> core::ffi::c_int,
    stack: *mut core::ffi::c_void,
    flags: core::ffi::c_int,
    arg: *mut core::ffi::c_void,
) -> core::ffi::c_int {
    // SAFETY: the caller's, passed on.
    match unsafe { libc::clone(child, stack, flags, arg) } {
        -1 => -last_errno().raw_os_error(),
        pid => pid,
    }
}

/// `execve(path, argv, envp)`—Replaces the process image; returns only on
/// failure, with the errno.
///
/// `argv` and `envp` are NULL-terminated arrays of pointers to C strings
/// that stay alive for the call (built when the configuration was loaded).
///
/// # Safety
///
/// `path` must point at a NUL-terminated string that stays alive for the
/// call (`argv[0]` of a block built at load time: no C string is made
/// again at each start; issue 18, bytes).
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/execve.2.html)
pub unsafe fn execve(path: *const c_char, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()));
    debug_assert!(envp.last().is_some_and(|p| p.is_null()));
    // The system call, as `execveat_empty` makes it: not the C library's
    // wrapper, a function of its own (issue 18, bytes).
    // SAFETY: all three point at NUL-terminated data that outlives the call,
    // and both arrays end in a null pointer (checked above in debug builds,
    // guaranteed by `spawn::Launch`, which builds them).
    unsafe { libc::syscall(libc::SYS_execve, path, argv.as_ptr(), envp.as_ptr()) };
    last_errno()
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`—Runs the program `fd`
/// refers to (an `O_PATH` descriptor of pmtr's own binary, opened at
/// startup); returns only on failure, with the errno. rustix has it only
/// in its unstable `runtime` module.
///
/// `fd` may be close-on-exec: that fails only for scripts, which need the
/// descriptor after the exec; pmtr's binary is not one. Async-signal-safe.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/execveat.2.html)
#[doc(alias = "execveat")]
#[doc(alias = "fexecve")]
pub fn execveat_empty(fd: i32, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()));
    debug_assert!(envp.last().is_some_and(|p| p.is_null()));
    // SAFETY: the path is an empty C string; both arrays end in a null
    // pointer and point at C strings that outlive the call (built with the
    // configuration, `spawn::Launch::logger`). A bad `fd` only fails.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    last_errno()
}

/// `_exit(code)`—Ends the process at once, without running atexit
/// handlers or flushing stdio: the only safe way out of a forked child.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// A set of signals, as the kernel takes it: bit `sig - 1` of 8 bytes
/// (the C library's `sigset_t` is 128, of which the kernel reads these
/// 8: none to zero, copy or return beyond them; issue 18, bytes).
#[derive(Clone, Copy)]
pub struct SigSet(u64);

impl SigSet {
    pub fn empty() -> SigSet {
        SigSet(0)
    }

    /// The set of `signals`, each 1..=64 (others are left out), by
    /// setting its bit as `sigaddset` does, without linking it (issue 18).
    pub fn of(signals: &[i32]) -> SigSet {
        let mut set = 0u64;
        for &sig in signals {
            let bit = sig.wrapping_sub(1) as u32;
            if bit < 64 {
                set |= 1 << bit;
            }
        }
        SigSet(set)
    }
}

/// `sigprocmask(SIG_BLOCK, set)`—Blocks `set` so its signals wait for the
/// signalfd; returns the mask that was in force before.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
#[doc(alias = "sigprocmask")]
pub fn block_signals(set: &SigSet) -> Result<SigSet, Errno> {
    let mut old = SigSet::empty();
    sigprocmask(libc::SIG_BLOCK, set, &raw mut old.0).map(|()| old)
}

/// `rt_sigprocmask(how, set, old)`: the system call itself, as the C
/// library's `sigprocmask` makes it (issue 18: its wrapper and
/// `pthread_sigmask`, 144 bytes of armv7), with the kernel's 8-byte set.
fn sigprocmask(how: i32, set: &SigSet, old: *mut u64) -> Result<(), Errno> {
    // SAFETY: `set` is initialised, `old` is null or a writable set of
    // the kernel's 8 bytes.
    match unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, &raw const set.0, old, 8usize) } {
        0 => Ok(()),
        _ => Err(last_errno()),
    }
}

/// `sigprocmask(SIG_SETMASK, set)`—Replaces the signal mask; in a forked
/// child, called with an empty set so the job starts with nothing blocked.
#[doc(alias = "sigprocmask")]
pub fn set_signal_mask(set: &SigSet) -> Result<(), Errno> {
    sigprocmask(libc::SIG_SETMASK, set, core::ptr::null_mut())
}

/// The words of [`NOT_DEFAULT`]: one on 64-bit targets, two on 32-bit.
const WORDS: usize = 64 / usize::BITS as usize;

/// The signals whose disposition in pmtr is not the default, 64 bits in
/// machine words (signal `sig` is bit `(sig - 1) % usize::BITS` of word
/// `(sig - 1) / usize::BITS`): found once by [`record_dispositions`], so
/// that a child resets only those, not all 64. Until then every signal
/// but SIGKILL and SIGSTOP, which no process can catch or ignore. Words,
/// not one 64-bit atomic: on 32-bit ARM that is an exclusive-access loop,
/// or on armv6 a call into the kernel's helper page (issue 18, bytes).
static NOT_DEFAULT: [AtomicUsize; WORDS] = {
    let mut words = [const { AtomicUsize::new(usize::MAX) }; WORDS];
    words[0] = AtomicUsize::new(!(1 << (libc::SIGKILL - 1) | 1 << (libc::SIGSTOP - 1)));
    words
};

/// `rt_sigaction(sig, new, old)` as the kernel takes it, for every signal
/// number including the ones the C library keeps for itself (32-34 in musl
/// and glibc, which its `sigaction` refuses, so they would stay ignored in
/// jobs if pmtr inherited them so). On every architecture pmtr targets the
/// kernel's struct fits in 32 bytes with the handler first: all zeros is
/// SIG_DFL, no flags, an empty mask.
fn kernel_sigaction(sig: i32, new: Option<&[u64; 4]>, old: Option<&mut [u64; 4]>) -> bool {
    let new = new.map_or(core::ptr::null(), |n| n.as_ptr());
    let old = old.map_or(core::ptr::null_mut(), |o| o.as_mut_ptr());
    // SAFETY: both pointers are null or point to 32 writable/readable
    // bytes, more than the kernel's struct; 8 is the kernel's sigset size.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, new, old, 8usize) == 0 }
}

/// `rt_sigaction(sig, NULL, &old)` for every signal—Records which ones
/// pmtr ignores: those it inherited as ignored (`nohup` ignores SIGHUP)
/// and SIGPIPE. Only these need resetting in a child: `execve` itself
/// resets every caught signal (pmtr's own handlers) to the default, but
/// keeps ignored ones ignored. Called once dispositions are final (after
/// [`install_noop_handlers`]); until then children reset every signal.
// An index loop, not an iterator over NOT_DEFAULT: that one stayed a
// loop over the one word of 64-bit targets (x86_64 min +88 bytes).
#[allow(clippy::needless_range_loop)]
pub fn record_dispositions() {
    // Signal numbers the kernel knows (1..=64), a word's bits at a time.
    let mut sig = 1;
    for w in 0..WORDS {
        let mut mask = 0;
        // Signal `sig`'s bit moved along with it, not a shift by its
        // place each time.
        let mut bit = 1;
        while bit != 0 {
            let mut old = [0u64; 4];
            // The handler is the first word; on 32-bit targets only its
            // low half (the rest is sa_flags).
            if kernel_sigaction(sig, None, Some(&mut old))
                && old[0] & usize::MAX as u64 == libc::SIG_IGN as u64
            {
                mask |= bit;
            }
            sig += 1;
            bit <<= 1;
        }
        NOT_DEFAULT[w].store(mask, Ordering::Relaxed);
    }
}

/// `rt_sigaction(sig, SIG_DFL)` for every signal pmtr ignores—Gives a
/// child default dispositions. Ignored signals survive `execve`, and pmtr
/// ignores SIGPIPE (`start::prepare_process`), so without this every job
/// would too. (Caught signals need nothing: `execve` resets them.)
///
/// Async-signal-safe, and writes nothing in pmtr's memory.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/rt_sigaction.2.html)
#[doc(alias = "sigaction")]
#[allow(clippy::needless_range_loop)] // As in record_dispositions.
pub fn reset_signal_dispositions() {
    // The masks' bits from the lowest: the same signals in the same
    // order as a walk of all 64. SIGKILL's and SIGSTOP's bits are never
    // set: they cannot be ignored, and the mask before
    // `record_dispositions` leaves them out.
    let mut first = 1;
    for w in 0..WORDS {
        let mut mask = NOT_DEFAULT[w].load(Ordering::Relaxed);
        while mask != 0 {
            let sig = first + mask.trailing_zeros() as i32;
            mask &= mask - 1;
            kernel_sigaction(sig, Some(&[0; 4]), None);
        }
        first += usize::BITS as i32;
    }
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// The kernel's flag for a handler that names its return trampoline.
#[cfg(target_arch = "x86_64")]
const SA_RESTORER: u64 = 0x0400_0000;

/// The return trampoline of a signal handler on x86_64: a handler returns
/// here, on the frame the kernel built, which `rt_sigreturn` (15) takes
/// down. What the C library's `__restore_rt` is.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    core::arch::naked_asm!("mov eax, 15", "syscall")
}

/// `rt_sigaction(sig, SIG_IGN)`—Ignores `sig` (pmtr ignores SIGPIPE,
/// `start::prepare_process`). The system call itself: no handler, so no
/// signal-return trampoline is needed.
pub fn ignore(sig: i32) {
    kernel_sigaction(sig, Some(&[libc::SIG_IGN as u64, 0, 0, 0]), None);
}

/// `sigaction(sig, no-op handler)` for each of `signals`—Needed as PID 1
/// of a PID namespace: the kernel discards a signal sent to a namespace's
/// init unless init has a handler for it, and a blocked signal with the
/// default disposition would never reach the signalfd. The handler never
/// runs, since the signals stay blocked.
///
/// The system call is made directly: the C library's `sigaction` brings
/// its lock for SIGABRT and the code to block signals around it (issue
/// 18: about 1 KB). On 32-bit ARM and aarch64 the kernel returns from a
/// handler through a trampoline of its own (the sigpage, the vDSO) when
/// none is given; on x86_64 a handler must name its return trampoline
/// (`SA_RESTORER`), which is `restore_rt`. Elsewhere (32-bit x86, the
/// unit tests' 32-bit target) pmtr calls the C library's `sigaction`.
///
/// # References
///  - [pid_namespaces(7)](https://man7.org/linux/man-pages/man7/pid_namespaces.7.html)
pub fn install_noop_handlers(signals: &[i32]) {
    for &sig in signals {
        #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
        kernel_sigaction(
            sig,
            Some(&[ignore_signal as *const () as usize as u64, 0, 0, 0]),
            None,
        );
        // The kernel's struct on x86_64: handler, flags, restorer, mask.
        #[cfg(target_arch = "x86_64")]
        kernel_sigaction(
            sig,
            Some(&[
                ignore_signal as *const () as u64,
                SA_RESTORER,
                restore_rt as *const () as u64,
                0,
            ]),
            None,
        );
        // SAFETY: the handler is a valid `extern "C" fn(c_int)` that does
        // nothing; the rest of the struct is zeroed (no flags, empty mask).
        #[cfg(not(any(target_arch = "arm", target_arch = "aarch64", target_arch = "x86_64")))]
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = ignore_signal as *const () as libc::sighandler_t;
            libc::sigaction(sig, &action, core::ptr::null_mut());
        }
    }
}

/// `signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)`—A file descriptor that
/// becomes readable when a signal in `set` (blocked beforehand) is pending,
/// so the event loop can sleep in epoll until one arrives.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub fn signalfd(set: &SigSet) -> Result<OwnedFd, Errno> {
    // The system call itself, as the C library's `signalfd` makes it
    // (`signalfd4`, with the kernel's 8-byte signal set).
    let flags = libc::SFD_NONBLOCK | libc::SFD_CLOEXEC;
    // SAFETY: `set` is initialised; -1 asks for a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_signalfd4, -1, &raw const set.0, 8usize, flags) };
    if fd < 0 {
        return Err(last_errno());
    }
    // SAFETY: the kernel just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Reads one pending signal number from a signalfd; `None` when none is
/// pending (EAGAIN).
pub fn read_signal(fd: &OwnedFd) -> Option<i32> {
    // One siginfo record, which is what a signalfd read fills; the signal
    // number is its first field (`ssi_signo`, a u32).
    // Not zeroed first: rustix hands back the part the kernel filled
    // (issue 18, bytes: eight 16-byte stores in `on_signals`).
    const SIZE: usize = size_of::<libc::signalfd_siginfo>();
    let mut info = [MaybeUninit::<u8>::uninit(); SIZE];
    match rustix::io::read(fd, &mut info) {
        Ok((got, _)) if got.len() == SIZE => {
            let signo = [got[0], got[1], got[2], got[3]];
            Some(u32::from_ne_bytes(signo) as i32)
        }
        _ => None,
    }
}

/// `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`—Marks every descriptor above
/// stderr close-on-exec, so a job gets only fds 0–2 even if pmtr inherited
/// others from whoever started it. Async-signal-safe, and allocates
/// nothing. Kernels before 5.11 lack the flag: then each descriptor listed
/// in /proc/self/fd is marked, and without /proc (early boot), every
/// number below the descriptor limit — pmtr raises its own limit, so 1024
/// would not be enough.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/close_range.2.html)
#[doc(alias = "close_range")]
pub fn cloexec_from_3() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return;
    }
    let cloexec = |fd: i32| {
        // SAFETY: fcntl on a closed descriptor only fails with EBADF; the
        // borrow ends with the call.
        let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
        let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC);
    };
    if let Ok(dir) = rustix::fs::open(
        c"/proc/self/fd",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 512];
        let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
        while let Some(Ok(entry)) = entries.next() {
            // Each entry but `.` and `..` is a descriptor's number: read
            // by the crate's one number parser, its UTF-8 checked by the
            // crate's own check, not core's `CStr::to_str` (issue 18,
            // bytes).
            let number = crate::utf8::str(entry.file_name().to_bytes());
            if let Some(fd) = number.and_then(crate::parse_unsigned::<u32>)
                && fd >= 3
            {
                cloexec(fd as i32);
            }
        }
        return;
    }
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .map_or(i32::MAX, |n| n.min(i32::MAX as u64) as i32);
    for fd in 3..limit {
        cloexec(fd);
    }
}

/// The uid of the process at the other end of a unix socket, from
/// `SO_PEERCRED`. Only the uid: the pid reads 0 for a peer outside pmtr's
/// PID namespace (a host-side client on a container's bind-mounted
/// socket), which rustix's `socket_peercred` refuses.
///
/// # References
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
pub fn peer_uid(fd: rustix::fd::BorrowedFd<'_>) -> Result<u32, Errno> {
    let mut cred = MaybeUninit::<libc::ucred>::zeroed();
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the buffer is one ucred, and `len` says so.
    // The system call itself: the C library's `getsockopt` adds a 32-bit
    // time compatibility path for socket timeouts (issue 18: 252 bytes).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_getsockopt,
            rustix::fd::AsRawFd::as_raw_fd(&fd),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            cred.as_mut_ptr(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(last_errno());
    }
    // SAFETY: zeroed, then filled by the kernel.
    Ok(unsafe { cred.assume_init() }.uid)
}

/// The text for an errno, as `strerror` gives it (`No such file or
/// directory`), without the `(os error 2)` that `io::Error` appends: a
/// value to format with `{}` (pmtr's own copy of the texts, [`Strerror`]'s
/// module).
pub fn strerror(errno: Errno) -> Strerror {
    Strerror(errno)
}

/// `dup2(fd, target)`—Puts `fd` at `target` (0, 1 or 2), without
/// close-on-exec. Async-signal-safe.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/dup2.2.html)
pub fn dup_onto(fd: rustix::fd::BorrowedFd<'_>, target: i32) -> Result<(), Errno> {
    let fd = rustix::fd::AsRawFd::as_raw_fd(&fd);
    // `dup3(fd, target, 0)`, the system call, which is `dup2` but for
    // `fd == target` (EINVAL, where `dup2` changes nothing): that case is
    // `dup2`'s here. Not the C library's `dup2`, a wrapper of its own
    // with a retry loop for other threads' opens (issue 18, bytes).
    if fd == target {
        return Ok(());
    }
    // SAFETY: dup3 only affects the descriptor table.
    if unsafe { libc::syscall(libc::SYS_dup3, fd, target, 0) } < 0 {
        return Err(last_errno());
    }
    Ok(())
}

/// The kernel's `struct stat64` on 32-bit ARM, which `fstatat64` fills:
/// pmtr's `Stat` there (`files::Stat`), with the field names and types of
/// rustix's, read where the kernel put them (no conversion).
#[cfg(target_arch = "arm")]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Stat {
    pub st_dev: u64,
    _pad0: u32,
    _st_ino32: u32,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    _pad3: u32,
    // (4 bytes of alignment: `u64`s are 8-aligned in the EABI, as in
    // the kernel's C.)
    pub st_size: i64,
    pub st_blksize: u32,
    pub st_blocks: u64,
    _times: [u32; 6],
    pub st_ino: u64,
}

// The layout of linux-raw-sys's `stat64` for arm, which is the kernel's.
#[cfg(target_arch = "arm")]
const _: () = {
    assert!(size_of::<Stat>() == 104);
    assert!(core::mem::offset_of!(Stat, st_mode) == 16);
    assert!(core::mem::offset_of!(Stat, st_uid) == 24);
    assert!(core::mem::offset_of!(Stat, st_rdev) == 32);
    assert!(core::mem::offset_of!(Stat, st_size) == 48);
    assert!(core::mem::offset_of!(Stat, st_blocks) == 64);
    assert!(core::mem::offset_of!(Stat, st_ino) == 96);
};

/// `fstatat64(dirfd, path, flags)`—The status of the file `path` names
/// relative to `dirfd` (with `AT_EMPTY_PATH`, of `dirfd` itself), on
/// 32-bit ARM.
///
/// The system call itself, into the kernel's `struct stat64`: rustix's
/// `statat` tries `statx` first (for times past 2038, which pmtr never
/// reads), converts its answer field by field with an overflow check
/// each, and falls back to this same call and a second conversion
/// (issue 18: 596 bytes of armv7). Every ARM kernel has `fstatat64`
/// (Linux 2.6.16; `AT_EMPTY_PATH` 2.6.39, as for rustix's fallback).
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/stat.2.html)
#[cfg(target_arch = "arm")]
#[doc(alias = "fstatat64")]
pub fn statat(
    dirfd: rustix::fd::BorrowedFd<'_>,
    path: &CStr,
    flags: rustix::fs::AtFlags,
) -> Result<Stat, Errno> {
    let mut st = MaybeUninit::<Stat>::uninit();
    // SAFETY: `path` is NUL-ended, and the buffer is one `struct stat64`
    // (its layout checked above), which the kernel writes whole on
    // success.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fstatat64,
            rustix::fd::AsRawFd::as_raw_fd(&dirfd),
            path.as_ptr(),
            st.as_mut_ptr(),
            flags.bits(),
        )
    };
    if rc != 0 {
        return Err(last_errno());
    }
    // SAFETY: filled by the kernel (above); every field is an integer.
    Ok(unsafe { st.assume_init() })
}

/// The clocks pmtr reads.
#[derive(Clone, Copy)]
pub enum Clock {
    /// `CLOCK_REALTIME`: the wall clock, for timestamps.
    Realtime,
    /// `CLOCK_MONOTONIC`: deadlines and uptimes, unaffected by changes to
    /// the wall clock.
    Monotonic,
}

/// `clock_gettime(clock)`—The time on `clock`, as seconds and nanoseconds.
///
/// Through the kernel's vDSO (no system call), found by `vdso_clock`
/// at the first read; the system call only where the kernel has no vDSO
/// clock or it fails. pmtr's own lookup, not the C library's
/// `clock_gettime`: musl's (its `__vdsosym`, its lookup and 32-bit
/// wrappers) was 1352 bytes of armv7 and linked for this one caller
/// (issue 18, bytes); rustix's vDSO parser was larger still.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/clock_gettime.2.html)
///  - [vdso(7)](https://man7.org/linux/man-pages/man7/vdso.7.html)
#[doc(alias = "clock_gettime")]
pub fn clock_now(clock: Clock) -> (i64, u32) {
    let id = match clock {
        Clock::Realtime => libc::CLOCK_REALTIME,
        Clock::Monotonic => libc::CLOCK_MONOTONIC,
    };
    let mut ts = Timespec64 {
        tv_sec: 0,
        tv_nsec: 0,
        #[cfg(target_pointer_width = "32")]
        _pad: 0,
    };
    let mut f = VDSO_CLOCK.load(Ordering::Relaxed);
    if f == 0 {
        f = vdso_clock();
        VDSO_CLOCK.store(f, Ordering::Relaxed);
    }
    // SAFETY: `f` is 1 or the address of the vDSO's function of that
    // type, found by `vdso_clock`; `ts` is a writable struct of the
    // kernel's layout. Both clocks exist on every Linux, so the system
    // call cannot fail and leaves `ts` filled.
    unsafe {
        if f == 1 || core::mem::transmute::<usize, VdsoClock>(f)(id, &mut ts) != 0 {
            clock_syscall(id, &mut ts);
        }
    }
    (ts.tv_sec, ts.tv_nsec as u32)
}

use core::sync::atomic::{AtomicUsize, Ordering};

/// The vDSO's `clock_gettime` (its address): 0 until the first clock
/// read looks it up, 1 if the kernel has none that pmtr may use.
static VDSO_CLOCK: AtomicUsize = AtomicUsize::new(0);

/// What the vDSO's `clock_gettime` is: the system call's arguments, 0 or
/// a negated errno.
type VdsoClock = unsafe extern "C" fn(libc::clockid_t, *mut Timespec64) -> libc::c_int;

/// The vDSO's `clock_gettime` with 64-bit seconds, or 1 for none: the
/// name the architecture gives it. A 32-bit kernel before 5.5 has only
/// `__vdso_clock_gettime`, with 32-bit seconds: read through
/// `vdso_clock32`. On 32-bit ARM neither is used unless
/// `__vdso_clock_gettime` is there: a kernel without a usable timer blanks
/// that name but, in some versions, not the 64-bit one (musl checks the
/// same).
fn vdso_clock() -> usize {
    #[cfg(target_arch = "aarch64")]
    let name = c"__kernel_clock_gettime";
    #[cfg(target_pointer_width = "32")]
    let name = c"__vdso_clock_gettime64";
    #[cfg(not(any(target_arch = "aarch64", target_pointer_width = "32")))]
    let name = c"__vdso_clock_gettime";
    #[cfg(target_pointer_width = "32")]
    let old = vdso_symbol(c"__vdso_clock_gettime");
    #[cfg(target_arch = "arm")]
    if old == 0 {
        return 1;
    }
    match vdso_symbol(name) {
        #[cfg(target_pointer_width = "32")]
        0 if old != 0 => {
            VDSO_CLOCK32.store(old, Ordering::Relaxed);
            vdso_clock32 as *const () as usize
        }
        0 => 1,
        f => f,
    }
}

/// The vDSO's `clock_gettime` with 32-bit seconds, where it is the only
/// one (see [`vdso_clock`]).
#[cfg(target_pointer_width = "32")]
static VDSO_CLOCK32: AtomicUsize = AtomicUsize::new(0);

/// [`VDSO_CLOCK32`]'s function with 64-bit seconds, as musl wraps it:
/// a time past 2038, which it cannot give, is a failure (then the system
/// call).
#[cfg(target_pointer_width = "32")]
unsafe extern "C" fn vdso_clock32(id: libc::clockid_t, ts: *mut Timespec64) -> libc::c_int {
    type Old = unsafe extern "C" fn(libc::clockid_t, *mut libc::c_long) -> libc::c_int;
    let mut old = [0 as libc::c_long; 2];
    // SAFETY: set to the vDSO's function of that type before this is
    // called; `old` is the 32-bit `timespec` it fills; the caller's `ts`
    // is writable.
    unsafe {
        let f = core::mem::transmute::<usize, Old>(VDSO_CLOCK32.load(Ordering::Relaxed));
        if f(id, old.as_mut_ptr()) != 0 || old[0] < 0 {
            return -1;
        }
        (*ts).tv_sec = i64::from(old[0]);
        (*ts).tv_nsec = old[1];
    }
    0
}

#[cfg(target_pointer_width = "32")]
use libc::{Elf32_Ehdr as Ehdr, Elf32_Phdr as Phdr, Elf32_Sym as Sym};
#[cfg(target_pointer_width = "64")]
use libc::{Elf64_Ehdr as Ehdr, Elf64_Phdr as Phdr, Elf64_Sym as Sym};

/// The address of the vDSO's symbol `name`, or 0: the kernel's ELF image
/// at `AT_SYSINFO_EHDR`, its dynamic symbols walked up to the count in its
/// `DT_HASH` table, as musl's `__vdsosym` walks them (without its version
/// check: a vDSO has one version of each name). A name the kernel blanked
/// (ARM without a usable timer) matches nothing.
fn vdso_symbol(name: &CStr) -> usize {
    // SAFETY: the auxiliary vector's AT_SYSINFO_EHDR is 0 or the address
    // of the vDSO, a complete ELF image the kernel mapped for the life of
    // the process; every offset read below is within it as the kernel
    // built it (its program headers, dynamic section, hash table, symbol
    // and string tables).
    unsafe {
        let eh = crate::rt::start::auxv(libc::AT_SYSINFO_EHDR as usize);
        if eh == 0 {
            return 0;
        }
        let ehdr = &*(eh as *const Ehdr);
        let (mut base, mut dynv) = (None, 0usize);
        for i in 0..usize::from(ehdr.e_phnum) {
            let at = eh + ehdr.e_phoff as usize + i * usize::from(ehdr.e_phentsize);
            let ph = &*(at as *const Phdr);
            match ph.p_type {
                libc::PT_LOAD => {
                    base = Some((eh + ph.p_offset as usize).wrapping_sub(ph.p_vaddr as usize));
                }
                libc::PT_DYNAMIC => dynv = eh + ph.p_offset as usize,
                _ => {}
            }
        }
        let Some(base) = base.filter(|_| dynv != 0) else {
            return 0;
        };
        // DT_HASH, DT_STRTAB, DT_SYMTAB: tags 4, 5, 6.
        let mut tables = [0usize; 3];
        let mut entry = dynv as *const usize;
        while *entry != 0 {
            if let Some(table) = (*entry).checked_sub(4).and_then(|t| tables.get_mut(t)) {
                *table = base.wrapping_add(*entry.add(1));
            }
            entry = entry.add(2);
        }
        let [hash, strings, syms] = tables;
        if hash == 0 || strings == 0 || syms == 0 {
            return 0;
        }
        // The hash table's second word is the number of symbols.
        let count = *(hash as *const u32).add(1) as usize;
        for i in 0..count {
            let sym = &*(syms as *const Sym).add(i);
            let text = CStr::from_ptr((strings + sym.st_name as usize) as *const c_char);
            if sym.st_shndx != 0 && text == name {
                return base.wrapping_add(sym.st_value as usize);
            }
        }
        0
    }
}

/// `clock_gettime` by the system call, for a kernel without a vDSO clock.
/// On 32-bit targets the 64-bit call (Linux 5.1), else the old one, whose
/// seconds end in 2038.
///
/// # Safety
///
/// `ts` must be writable.
unsafe fn clock_syscall(id: libc::clockid_t, ts: *mut Timespec64) {
    #[cfg(target_pointer_width = "64")]
    // SAFETY: the caller's `ts` has the kernel's `timespec` layout.
    unsafe {
        libc::syscall(libc::SYS_clock_gettime, id, ts);
    }
    #[cfg(target_pointer_width = "32")]
    // SAFETY: `ts` has the kernel's `__kernel_timespec` layout (two
    // 64-bit fields, little-endian); `old` its 32-bit `timespec`.
    unsafe {
        const SYS_CLOCK_GETTIME64: libc::c_long = 403;
        if libc::syscall(SYS_CLOCK_GETTIME64, id, ts) != 0 {
            let mut old = [0 as libc::c_long; 2];
            libc::syscall(libc::SYS_clock_gettime, id, old.as_mut_ptr());
            (*ts).tv_sec = i64::from(old[0]);
            (*ts).tv_nsec = old[1];
        }
    }
}

/// The kernel's `struct __kernel_timespec`: 64-bit seconds; on 32-bit
/// targets the nanoseconds are a 32-bit `long` followed by padding (every
/// target pmtr has is little-endian), 16 bytes everywhere (i686 aligns
/// `i64` to 4 only, hence the explicit padding).
#[repr(C)]
struct Timespec64 {
    tv_sec: i64,
    tv_nsec: libc::c_long,
    #[cfg(target_pointer_width = "32")]
    _pad: u32,
}

const _: () = assert!(size_of::<Timespec64>() == 16);

/// The C library's `errno`, as an `Errno`: made here, not at each of
/// the system calls that fail with it (issue 18, bytes).
fn last_errno() -> Errno {
    // SAFETY: errno is the calling thread's, always readable.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ignored signals on both sides of 32 (each word of `NOT_DEFAULT` on
    /// 32-bit targets) are recorded, and a child resets them to the
    /// default. In a forked child, so that the test process's own
    /// dispositions are left alone.
    #[test]
    fn ignored_signals_in_both_words_are_recorded_and_reset() {
        const SIGS: [i32; 3] = [libc::SIGUSR1, 33, 40];
        // SAFETY: the child makes only system calls, then `_exit`s.
        let child = match unsafe { fork() }.unwrap() {
            Some(pid) => pid,
            None => {
                let ignore = [libc::SIG_IGN as u64, 0, 0, 0];
                let mut ok = SIGS
                    .iter()
                    .all(|&sig| kernel_sigaction(sig, Some(&ignore), None));
                record_dispositions();
                for sig in SIGS {
                    let (w, bit) = (
                        (sig - 1) as u32 / usize::BITS,
                        (sig - 1) as u32 % usize::BITS,
                    );
                    ok &= NOT_DEFAULT[w as usize].load(Ordering::Relaxed) >> bit & 1 == 1;
                }
                reset_signal_dispositions();
                for sig in SIGS {
                    let mut old = [1u64; 4];
                    ok &= kernel_sigaction(sig, None, Some(&mut old))
                        && old[0] & usize::MAX as u64 == libc::SIG_DFL as u64;
                }
                exit_now(if ok { 0 } else { 1 });
            }
        };
        let status = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty())
            .unwrap()
            .unwrap()
            .1;
        assert_eq!(status.exit_status(), Some(0));
    }

    /// `dup_onto` puts a descriptor at the number asked, without
    /// close-on-exec, and a descriptor onto itself is left as it is.
    #[test]
    fn dup_onto_puts_a_descriptor_at_the_number_asked() {
        use rustix::fd::AsFd;
        let fd = rustix::fs::open(
            c"/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let target = 900;
        dup_onto(fd.as_fd(), target).unwrap();
        // SAFETY: `target` was just made a copy of `fd`, owned here.
        let copy = unsafe { OwnedFd::from_raw_fd(target) };
        assert_eq!(
            rustix::io::fcntl_getfd(&copy),
            Ok(rustix::io::FdFlags::empty())
        );
        let raw = rustix::fd::AsRawFd::as_raw_fd(&fd);
        assert_eq!(dup_onto(fd.as_fd(), raw), Ok(()));
        assert_eq!(
            rustix::io::fcntl_getfd(&fd),
            Ok(rustix::io::FdFlags::CLOEXEC)
        );
    }

    /// The vDSO is found (every kernel these tests run on has one), and
    /// its clock, the system call and the C library's agree.
    #[test]
    fn the_vdso_clock_reads_as_the_system_call_and_the_c_library() {
        assert!(vdso_clock() > 1, "no vDSO clock");
        for (clock, id) in [
            (Clock::Realtime, libc::CLOCK_REALTIME),
            (Clock::Monotonic, libc::CLOCK_MONOTONIC),
        ] {
            let mut sys = Timespec64 {
                tv_sec: 0,
                tv_nsec: 0,
                #[cfg(target_pointer_width = "32")]
                _pad: 0,
            };
            let before = clock_now(clock);
            // SAFETY: `sys` is writable; `c` is the C library's timespec.
            let c = unsafe {
                clock_syscall(id, &mut sys);
                let mut c: libc::timespec = core::mem::zeroed();
                libc::clock_gettime(id, &mut c);
                c
            };
            let after = clock_now(clock);
            let ns = |(s, n): (i64, u32)| i128::from(s) * 1_000_000_000 + i128::from(n);
            let sys = ns((sys.tv_sec, sys.tv_nsec as u32));
            // `time_t` is 32 bits in the libc crate's 32-bit musl.
            #[allow(clippy::useless_conversion)]
            let c = ns((i64::from(c.tv_sec), c.tv_nsec as u32));
            assert!(
                ns(before) <= sys && sys <= ns(after),
                "{before:?} {sys} {after:?}"
            );
            assert!(
                ns(before) <= c && c <= ns(after),
                "{before:?} {c} {after:?}"
            );
            assert!(ns(after) - ns(before) < 1_000_000_000);
        }
        assert_eq!(vdso_symbol(c"no_such_symbol"), 0);
    }

    /// A 32-bit vDSO's old clock, where a kernel has only that one.
    #[cfg(target_pointer_width = "32")]
    #[test]
    fn the_old_vdso_clock_reads_as_the_new_one() {
        let old = vdso_symbol(c"__vdso_clock_gettime");
        assert_ne!(old, 0);
        VDSO_CLOCK32.store(old, Ordering::Relaxed);
        let mut ts = Timespec64 {
            tv_sec: 0,
            tv_nsec: 0,
            _pad: 0,
        };
        let before = clock_now(Clock::Realtime);
        // SAFETY: `ts` is writable; VDSO_CLOCK32 is the vDSO's function.
        assert_eq!(unsafe { vdso_clock32(libc::CLOCK_REALTIME, &mut ts) }, 0);
        let after = clock_now(Clock::Realtime);
        assert!(before.0 <= ts.tv_sec && ts.tv_sec <= after.0);
    }

    #[test]
    fn strerror_has_no_suffix() {
        assert_eq!(
            strerror(Errno::NOENT).to_string(),
            "No such file or directory"
        );
    }

    /// `set` as the C library's `sigset_t`: its first 8 bytes are the
    /// kernel's set (every target is little-endian), the rest zero.
    fn c_set(set: &SigSet) -> libc::sigset_t {
        // SAFETY: all zeros is the empty set; the 8 bytes copied fit in
        // the larger sigset_t.
        unsafe {
            let mut c: libc::sigset_t = core::mem::zeroed();
            (&raw mut c).cast::<u64>().write_unaligned(set.0);
            c
        }
    }

    #[test]
    fn sigset_of_contains_members() {
        let set = c_set(&SigSet::of(&[libc::SIGHUP]));
        // SAFETY: the set is initialised.
        assert_eq!(unsafe { libc::sigismember(&set, libc::SIGHUP) }, 1);
        assert_eq!(unsafe { libc::sigismember(&set, libc::SIGTERM) }, 0);
        // Every number the kernel has, alone and together, as the C
        // library's own sigaddset would set it; nothing for 0 or 65.
        let all: Vec<i32> = (1..=64).collect();
        assert_eq!(SigSet::of(&[0, 65, -1]).0, 0);
        for sig in 1..=64 {
            // SAFETY: all zeros is the empty set.
            let mut expect: libc::sigset_t = unsafe { core::mem::zeroed() };
            // SAFETY: the set is initialised; sig is a valid number. The
            // C library refuses the ones it keeps for itself (32-34).
            if unsafe { libc::sigaddset(&mut expect, sig) } != 0 {
                continue;
            }
            let (one, every) = (c_set(&SigSet::of(&[sig])), c_set(&SigSet::of(&all)));
            for other in 1..=64 {
                // SAFETY: the sets are initialised.
                let member = |s: &libc::sigset_t| unsafe { libc::sigismember(s, other) };
                assert_eq!(member(&one), member(&expect), "{sig} {other}");
                assert_eq!(member(&every), 1, "{other}");
            }
        }
    }

    #[test]
    fn a_noop_handler_runs_and_returns() {
        install_noop_handlers(&[libc::SIGUSR1]);
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .unwrap();
        let caught = u64::from_str_radix(caught.trim(), 16).unwrap();
        assert_ne!(caught & 1 << (libc::SIGUSR1 - 1), 0, "{status}");
        // Not blocked: the handler runs, then returns through the
        // trampoline (x86_64: restore_rt). A bad one kills the process.
        for _ in 0..3 {
            // SAFETY: raise only sends a signal, which has a handler now.
            assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        }
        assert!(kernel_sigaction(libc::SIGUSR1, Some(&[0; 4]), None));
    }

    #[test]
    fn a_signalfd_read_gives_the_signal_number() {
        let set = SigSet::of(&[libc::SIGUSR2]);
        let old = block_signals(&set).unwrap();
        // The mask before a call comes back, the kernel's 8 bytes.
        let blocked = block_signals(&set).unwrap();
        // SAFETY: both are initialised sigsets.
        assert_eq!(
            unsafe { libc::sigismember(&c_set(&blocked), libc::SIGUSR2) },
            1
        );
        assert_eq!(unsafe { libc::sigismember(&c_set(&old), libc::SIGUSR2) }, 0);
        let fd = signalfd(&set).unwrap();
        assert_eq!(read_signal(&fd), None);
        // To this thread: the test harness's other threads don't block it.
        // SAFETY: raise only sends a signal, which is blocked here.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
        assert_eq!(read_signal(&fd), Some(libc::SIGUSR2));
        assert_eq!(read_signal(&fd), None);
        set_signal_mask(&old).unwrap();
    }
}
