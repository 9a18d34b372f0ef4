//! The supervisor: one process, one epoll loop that keeps every job as the
//! configuration wants it (SPEC §3–6).
//!
//! This file holds the process duties around the loop: detaching, the
//! pidfile, the signal mask.

use crate::prelude::*;
mod after;
mod config_source;
mod control;
mod event_loop;
mod health;
mod helpers;
mod job;
mod jobs;
mod metrics;
mod notify;
mod watch;

use core::mem::ManuallyDrop;

use crate::cli::Options;
use crate::packed::msg;
use crate::sys;

pub use event_loop::Supervisor;
pub(crate) use metrics::METRIC_FAMILY_TEXTS;

/// Logs `msg`, one of the supervisor's fixed lines of one text value (a
/// job's name, the config file's path, a signal's name), packed with its
/// severity by `line_at!`, with `value` at its one mark: one call, not a
/// format site each (issue 18, bytes).
fn log_one(value: &str, msg: &'static [u8]) {
    crate::syslog::log_msg(msg, &[crate::packed::Arg::new(&value)]);
}

/// The index of the first item from `*at` on (wrapping round) that `hit`
/// picks; `*at` moves past it. A config load looks up each job of the new
/// file among the old jobs (and among the loggers) in file order, so each
/// is found at once where a search from the start was n²/2 steps: 0.6 ms
/// more per load of 1000 jobs, 0.9 ms with loggers (issue 18).
fn find_from<T>(items: &[T], at: &mut usize, hit: impl Fn(&T) -> bool) -> Option<usize> {
    // The cursor wraps by a compare, not a division per item: `*at` is
    // never past the end (issue 18, bytes).
    let mut k = *at;
    for _ in 0..items.len() {
        if k >= items.len() {
            k = 0;
        }
        if hit(&items[k]) {
            *at = k + 1;
            return Some(k);
        }
        k += 1;
    }
    None
}

/// Runs pmtr until SIGTERM/SIGINT (or a `give up ... then exit`); returns
/// the exit code.
pub fn run(opts: &Options) -> u8 {
    // Used where `start` left it, not moved out of its `Result` first
    // (issue 18, bytes).
    let (mut pidfile, mut ready) = (None, None);
    let mut started = start(opts, &mut pidfile, &mut ready);
    let supervisor = match &mut started {
        Ok(supervisor) => supervisor,
        Err((what, e)) => {
            // As before, the pidfile goes (at this return) and the
            // parent hears (the pipe closes, as pmtr exits) only once the
            // line is said.
            exiting(what, *e);
            return 1;
        }
    };
    // The last of the start, here where the supervisor is: `start`
    // returns `Supervisor::new`'s result as it came, not copied out of
    // its own frame (issue 18, bytes).
    supervisor.open_control(opts.socket);
    if let Some(w) = ready {
        // The parent exits 0 once it reads this byte: the daemon runs.
        let _ = rustix::io::write(crate::sys::lend(&w), b"1");
        drop(ManuallyDrop::into_inner(w));
    }
    let code = supervisor.run();
    drop(pidfile.take());
    info!("exiting");
    supervisor.exit();
    // `exit` undid what outlives pmtr; the kernel takes back the rest.
    core::mem::forget(started);
    code
}

/// Everything before the loop: detach, signals, limits, the supervisor's
/// descriptors. Its own function, returned from before the loop runs, so
/// that its frames are not under the loop's for good (see `crate::run`).
/// The pidfile is put in the caller's `pidfile`, and a detached pmtr's
/// end of the pipe to its parent in `ready`: the caller opens the control
/// socket, then tells the parent. The result is `Supervisor::new`'s own,
/// returned as it came: where one moved out of it into a `Result` of
/// another type was copied twice, and one kept here to open the socket
/// was copied once (issue 18, bytes). A failure is the call that failed
/// and its errno, for the caller's one line.
#[inline(never)]
fn start<'a>(
    opts: &Options<'a>,
    pidfile: &mut Option<PidFile<'a>>,
    ready: &mut Option<ManuallyDrop<rustix::fd::OwnedFd>>,
) -> Result<Supervisor, (&'static [u8], rustix::io::Errno)> {
    let pid1 = rustix::process::getpid().is_init();
    let foreground = opts.foreground || pid1;
    crate::syslog::init(foreground, opts.verbose);
    // The failures that end pmtr leave by one way, said at the caller's
    // one call (issue 18, bytes).
    let failed = 'fatal: {
        // Detach before anything else exists: fork from a single-threaded
        // process with no descriptors of interest open.
        *ready = if foreground {
            None
        } else {
            match detach() {
                // Closed by hand once pmtr runs; on a failure below pmtr
                // exits, which closes it: no close of its own on each way
                // out (issue 18, bytes).
                Ok(ready) => Some(ready),
                Err(e) => break 'fatal (msg!(0, "can't detach"), e),
            }
        };

        // Block the signals pmtr handles so they queue for the signalfd; jobs
        // get an empty mask back before exec.
        let handled = sys::SigSet::of(&sys::HANDLED);
        if let Err(e) = sys::block_signals(&handled) {
            break 'fatal (msg!(0, "can't block signals (sigprocmask)"), e);
        }
        sys::install_noop_handlers(&sys::HANDLED);
        sys::record_dispositions();
        if !pid1 {
            // Orphans of a job (double-forking children) are reparented to
            // pmtr instead of init, so pmtr reaps them and sees a job's whole
            // process group leave.
            if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
                log_errno(
                    line_at!(
                        Warning,
                        "can't become child subreaper: {}; orphans of jobs go to init"
                    ),
                    e,
                );
            }
        }
        match crate::spawn::raise_fd_limit() {
            Ok(Some((old, new))) => debug!("raised the open file limit from {} to {}", old, new),
            Ok(None) => {}
            Err(e) => log_errno(
                line_at!(
                    Warning,
                    "can't raise the open file limit (setrlimit): {}; fewer jobs fit"
                ),
                e,
            ),
        }
        // Before anything can replace the binary: the loggers run this file.
        if let Err(e) = crate::spawn::open_self_exe() {
            log_errno(
                line_at!(
                    Warning,
                    "can't find pmtr's own binary (no /proc, and not in PATH): {}; logs with 'max' or 'stamp' and 'metrics to' can't be written"
                ),
                e,
            );
        }
        // Put in the caller's None: no drop of it (issue 18, bytes).
        crate::fill(pidfile, opts.pidfile.map(PidFile::write));
        return Supervisor::new(opts.config, &handled);
    };
    Err(failed)
}

/// Logs `msg` (packed with its severity by `line_at!`)
/// with `e`'s text at its mark: one call for `start`'s three warnings of
/// a failed call and the loop's failed `epoll_wait` and `waitpid`, each
/// of which built its own argument list (issue 18, bytes).
#[cold]
#[inline(never)]
fn log_errno(msg: &'static [u8], e: rustix::io::Errno) {
    crate::syslog::log_msg(msg, &[crate::packed::Arg::new(&sys::strerror(e))]);
}

/// Logs the failed call that ends pmtr, `WHAT: <strerror>; exiting`,
/// `what` packed by `msg!`, for any of `start`'s four failures. Out of
/// line and cold: when `start` said it itself, from three places, LLVM
/// copied the whole call to each (issue 18, bytes).
#[cold]
#[inline(never)]
fn exiting(what: &'static [u8], e: rustix::io::Errno) {
    error!(
        "{}: {}; exiting",
        crate::packed::Filled::text(what),
        sys::strerror(e)
    );
}

/// fork; the parent waits until the child says it runs, then exits 0.
/// The child starts a new session with stdio on /dev/null and returns the
/// write end of the readiness pipe.
fn detach() -> Result<ManuallyDrop<rustix::fd::OwnedFd>, rustix::io::Errno> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // Closed by hand where each must be; on a failure pmtr exits, which
    // closes them: no close of their own on each way out (issue 18,
    // bytes). The write end is closed by `run` once pmtr runs.
    let (r, w) = (ManuallyDrop::new(r), ManuallyDrop::new(w));
    // SAFETY: still single-threaded; the child goes on as the daemon and
    // the parent only reads one byte and exits.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::fork() }?;
    match forked {
        Some(_) => {
            drop(ManuallyDrop::into_inner(w));
            // The child writes one byte. A buffer of the type the probe
            // and ready pipes' reads use (uninitialised, PIPE_READ bytes):
            // rustix's `read` for it is there already, one for `[u8; 1]`
            // was 56 bytes more (issue 18).
            let mut byte = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
            let code = match rustix::io::read(&*r, &mut byte) {
                Ok((got, _)) if got.len() == 1 => 0,
                _ => 1,
            };
            sys::exit_now(code)
        }
        None => {
            drop(ManuallyDrop::into_inner(r));
            rustix::process::setsid()?;
            // Closed by hand once on 0, 1 and 2; on a failure pmtr exits
            // (as for the pipe's ends above).
            let null = ManuallyDrop::new(rustix::fs::open(
                c"/dev/null",
                rustix::fs::OFlags::RDWR,
                rustix::fs::Mode::empty(),
            )?);
            for target in 0..3 {
                sys::dup_onto(crate::sys::lend(&null), target)?;
            }
            drop(ManuallyDrop::into_inner(null));
            Ok(w)
        }
    }
}

/// `-p FILE`: written atomically (temp file, then rename) so a reader never
/// sees a half-written PID; removed when dropped. The path is the command
/// line's, borrowed: no copy of it to make and free (issue 18, bytes).
struct PidFile<'a>(&'a str);

impl<'a> PidFile<'a> {
    fn write(path: &'a str) -> PidFile<'a> {
        let mut tmp = String::from(path);
        tmp.push_str(".new");
        // The digits by `logger::itoa`, there anyway: no `format!`.
        let pid = rustix::process::getpid().as_raw_nonzero().get();
        let mut line = crate::logger::itoa(pid as u64);
        let _ = line.push('\n');
        let result = crate::files::write_file(&tmp, line.as_bytes(), 0o644)
            .and_then(|()| crate::files::rename(&tmp, path));
        if let Err(e) = result {
            error!("can't write pidfile {}: {}", path, sys::strerror(e));
            let _ = crate::files::unlink(&tmp);
        }
        PidFile(path)
    }
}

impl Drop for PidFile<'_> {
    fn drop(&mut self) {
        let _ = crate::files::unlink(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::find_from;

    #[test]
    fn find_from_starts_at_the_cursor_wraps_and_moves_it() {
        let items = [10, 20, 30, 20];
        let mut at = 0;
        assert_eq!(find_from(&items, &mut at, |&x| x == 20), Some(1));
        assert_eq!(at, 2);
        // From the cursor on first: the later 20.
        assert_eq!(find_from(&items, &mut at, |&x| x == 20), Some(3));
        assert_eq!(at, 4);
        // Past the end, it wraps round to the start.
        assert_eq!(find_from(&items, &mut at, |&x| x == 10), Some(0));
        assert_eq!(at, 1);
        // Not there: None, and the cursor stays.
        assert_eq!(find_from(&items, &mut at, |&x| x == 99), None);
        assert_eq!(at, 1);
        assert_eq!(find_from(&[] as &[u8], &mut at, |_| true), None);
    }
}
