//! pmtr's log (SPEC §7): RFC 3164 records written straight to `/dev/log`.
//!
//! A record is `<PRI>Mmm dd hh:mm:ss TAG[PID]: text`, facility daemon, no
//! hostname (the syslog daemon adds it), local time (see [`tz`]), at most
//! [`RECORD_LIMIT`] bytes. It is formatted into a fixed buffer on the
//! stack, so logging allocates nothing; the one writer lives in a static
//! behind `rt::lock` (pmtr is single-threaded, the lock is never
//! contended).
//!
//! The socket is connected lazily and never blocks pmtr: sends are
//! non-blocking, a full socket drops the record and counts it (the next
//! record that gets through is preceded by `N messages lost`), a vanished
//! or restarted daemon is reconnected at most once a second. While there
//! is no socket, records go to stderr; as PID 1 without a usable stderr,
//! to /dev/kmsg or /dev/console. In the foreground every record is also
//! echoed to stderr, as `pmtr: text` (or `TAG[PID]: text` for job output).
//!
//! Text is made safe: control characters and bytes that are not UTF-8
//! become `#ooo` (octal, as rsyslog writes them), so a job cannot forge
//! records or drive the console with escape sequences.
//!
//! Job output (`out syslog` / `err syslog`) is fed through [`JobOutput`],
//! one record per line; a line longer than a record is split, every piece
//! but the last ending in `...` and every piece but the first starting
//! with `...`.
//!
//! The parts: [`record`] formats, [`writer`] delivers, [`lines`] cuts a
//! job's output into lines, [`tz`] gives local time.

// Before the submodules, which log too. A message's text is packed
// where it is written (`packed::msg!`, issue 18: about half the bytes);
// `{}` marks its values, which follow in order.
macro_rules! log_at {
    ($severity:ident, $text:literal $(, $arg:expr)* $(,)?) => {{
        $crate::packed::check_marks!($text $(, $arg)*);
        $crate::syslog::log_msg(line_at!($severity, $text), &[$($crate::packed::Arg::new(&$arg)),*])
    }};
}
/// A line's text packed with its severity, as `log_at!` packs it: for a
/// line picked among several by a `match` and said by one
/// `syslog::log_msg` call with its values (issue 18, bytes). Its `{}`
/// marks are not counted against the values: `check_marks!` does that
/// where a caller wants it.
macro_rules! line_at {
    ($severity:ident, $text:literal) => {
        $crate::packed::msg!($crate::syslog::Severity::$severity as u8, $text)
    };
}
macro_rules! error {
    ($($arg:tt)*) => { log_at!(Err, $($arg)*) };
}
macro_rules! warn {
    ($($arg:tt)*) => { log_at!(Warning, $($arg)*) };
}
macro_rules! notice {
    ($($arg:tt)*) => { log_at!(Notice, $($arg)*) };
}
macro_rules! info {
    ($($arg:tt)*) => { log_at!(Info, $($arg)*) };
}
macro_rules! debug {
    ($($arg:tt)*) => { log_at!(Debug, $($arg)*) };
}

mod lines;
mod record;
pub(crate) mod tz;
mod writer;

use crate::rt::lock::{Guard, Lock, Slot};
use core::fmt;

pub use lines::JobOutput;
pub use tz::Zone;

use record::{Record, split_line};
use writer::{
    Source, Writer, now_utc, open_console, own_pid, stderr_is_journal, stderr_usable, write_line,
};

/// Syslog severities pmtr uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// The syslog facility of every record: daemon (3).
const FACILITY_DAEMON: u8 = 3 << 3;

/// The buffer size of a record (RFC 3164's limit).
pub const RECORD_MAX: usize = 1024;

/// The default record length: one byte under RFC 3164's 1024 because
/// busybox syslogd reads one byte less than its buffer, and Debian builds
/// it with a 1024-byte buffer. Over a stream socket the NUL terminator
/// makes it 1024.
pub const RECORD_LIMIT: usize = 1023;

/// The smallest record length `PMTR_LOG_RECORD_MAX` may ask for: room for
/// the header (up to 75 bytes) and some text.
const RECORD_MIN: usize = 128;

/// RFC 3164: the TAG is at most 32 characters.
const TAG_MAX: usize = 32;

/// How long after a failed connect the socket is tried again.
const RETRY_AFTER: core::time::Duration = core::time::Duration::from_secs(1);

/// Where records go unless `PMTR_LOG_SOCKET` says otherwise.
const DEV_LOG: &str = "/dev/log";

/// Marks a line split over several records.
const SPLIT_MARK: &[u8] = b"...";

/// The writer: one per process, set up by [`init`]. A [`Slot`], not an
/// `Option`, so that it is in .bss, not in the file.
static WRITER: Lock<Slot<Writer>> = Lock::new(Slot::EMPTY);

/// The writer's `foreground`, kept apart for [`foreground`]: read
/// without taking the lock, which cost two calls of the lock's atomic
/// helper on armv6 to read one bool (issue 18, bytes). Set only by
/// [`init`].
static FOREGROUND: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Sets up logging once, before the first message: `foreground` echoes
/// every line to stderr; `verbose` (count of `-v`) lets debug lines through.
///
/// Reads `PMTR_LOG_SOCKET` (socket path, default /dev/log),
/// `PMTR_LOG_RECORD_MAX` (record length, 128..=1024, default 1023) and the
/// time zone (`TZ`, else /etc/localtime). Calling it again re-reads them
/// (the time zone, after an update of /etc/localtime) and keeps the socket.
pub fn init(foreground: bool, verbose: u8) {
    // Everything set in the one writer, made empty the first time: one
    // place that writes each field, not a whole record made for the
    // first call and fields set for the others (issue 18, bytes).
    let mut guard = lock();
    if guard.as_ref().is_none() {
        guard.insert(Writer {
            foreground: false,
            verbose: 0,
            path: "",
            limit: RECORD_LIMIT,
            zone: Zone::UTC,
            sock: None,
            stream: false,
            retry_at: None,
            lost: 0,
            pending: heapless::Vec::new(),
            console: None,
            echo_lost: 0,
        });
    }
    let Some(w) = guard.as_mut() else {
        return;
    };
    // Under systemd stderr is the journal, which also reads /dev/log:
    // echoing would log every line twice.
    // fd 2's `stat` read once for both questions about it, not by each
    // (issue 18, bytes).
    let stderr = crate::files::fstat(crate::rt::print::stderr());
    w.foreground = foreground && !stderr_is_journal(&stderr);
    FOREGROUND.store(w.foreground, core::sync::atomic::Ordering::Relaxed);
    w.verbose = verbose;
    let path = crate::rt::start::var("PMTR_LOG_SOCKET").unwrap_or(DEV_LOG);
    // A path that cannot be a socket address (too long) never connects
    // (`Writer::connect`): every record then goes to the fallback, which
    // is what an operator can see and fix.
    if w.path != path {
        w.sock = None;
        w.retry_at = None;
    }
    w.path = path;
    w.limit = crate::rt::start::var("PMTR_LOG_RECORD_MAX")
        .and_then(|v| crate::parse_unsigned::<usize>(crate::trim(v)))
        .map_or(RECORD_LIMIT, |n| n.clamp(RECORD_MIN, RECORD_MAX));
    w.zone.set_from_tz();
    w.console = if rustix::process::getpid().is_init() && !stderr_usable(&stderr) {
        open_console()
    } else {
        None
    };
}

/// Whether lines are echoed to stderr (`-F`): pmtr's helpers are told.
pub fn foreground() -> bool {
    FOREGROUND.load(core::sync::atomic::Ordering::Relaxed)
}

/// Logs one of pmtr's own messages.
pub fn log(severity: Severity, args: fmt::Arguments<'_>) {
    let mut guard = lock();
    let Some(w) = guard.as_mut() else {
        // Before init (flag errors): stderr is all there is.
        if severity != Severity::Debug {
            // No header: the text starts at 0, where `new` puts it (not
            // set again, issue 18, bytes).
            let mut rec = Record::new();
            rec.format_text(args, RECORD_LIMIT);
            let _ = write_line(crate::rt::print::stderr(), &[b"pmtr: ", rec.text(), b"\n"]);
        }
        return;
    };
    if severity == Severity::Debug && w.verbose == 0 {
        return;
    }
    let mut rec = Record::new();
    rec.header(severity, now_utc(), &w.zone, "pmtr", own_pid());
    rec.format_text(args, w.limit);
    w.deliver(&rec, Source::Own);
}

/// Logs one of pmtr's own messages: `msg` made by `packed::msg!` after
/// its severity, its marks filled with `args` in order.
#[inline(never)]
pub fn log_msg(msg: &'static [u8], args: &[crate::packed::Arg<'_>]) {
    let severity = match msg.first() {
        Some(3) => Severity::Err,
        Some(4) => Severity::Warning,
        Some(5) => Severity::Notice,
        Some(6) => Severity::Info,
        _ => Severity::Debug,
    };
    log(
        severity,
        format_args!("{}", crate::packed::Filled { msg, args }),
    );
}

/// Logs a line or a piece of one: `continued` when an earlier piece was
/// logged, `unfinished` when more of the line follows.
fn log_job_piece(
    tag: &str,
    pid: u32,
    severity: Severity,
    line: &[u8],
    continued: bool,
    unfinished: bool,
) {
    let mut guard = lock();
    let mut w = guard.as_mut();
    // One `split_line` for both cases: each call is a copy of it (issue
    // 18, bytes). Before init (tests, flag errors) stderr is all there is,
    // in UTC. The header, the same for every piece, is made here once,
    // so that `emit` may borrow the writer (and not its zone) while the
    // pieces are formatted: no zone taken out and put back (issue 18,
    // bytes).
    // Never dropped: UTC's lists are empty, there is nothing to free, and
    // Zone's drop code then has no caller left (issue 18, bytes).
    let utc = core::mem::ManuallyDrop::new(Zone::UTC);
    let (now, limit, zone) = match &w {
        Some(w) => (now_utc(), w.limit, &w.zone),
        None => (0, RECORD_LIMIT, &*utc),
    };
    let mut rec = Record::new();
    rec.header(severity, now, zone, tag, pid);
    split_line(
        &mut rec,
        line,
        continued,
        unfinished,
        limit,
        |rec| match &mut w {
            Some(w) => w.deliver(rec, Source::Job),
            None => {
                let _ = write_line(crate::rt::print::stderr(), &[rec.tagged(), b"\n"]);
            }
        },
    );
}

/// The writer's lock.
fn lock() -> Guard<'static, Slot<Writer>> {
    WRITER.lock()
}

/// Keeps one kind of log line that outsiders can cause (UDP control
/// commands) to at most `max` lines per [`Quota::EVERY`]: the rest are
/// counted, and the count is due in the log when the window ends
/// ([`Quota::deadline`], [`Quota::take_due`]), so a flood costs a few
/// lines, not one per datagram.
#[derive(Debug)]
pub struct Quota {
    max: u32,
    window_end: Option<crate::clock::Instant>,
    lines: u32,
    suppressed: u32,
}

impl Quota {
    pub const EVERY: core::time::Duration = core::time::Duration::from_secs(10);

    pub const fn new(max: u32) -> Quota {
        Quota {
            max,
            window_end: None,
            lines: 0,
            suppressed: 0,
        }
    }

    /// Whether a line may be logged at `now`; if not, it is counted.
    pub fn allow(&mut self, now: crate::clock::Instant) -> bool {
        if self.window_end.is_none_or(|end| now >= end) && self.suppressed == 0 {
            self.window_end = Some(now + Self::EVERY);
            self.lines = 0;
        }
        if self.lines < self.max && self.suppressed == 0 {
            self.lines += 1;
            true
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            false
        }
    }

    /// When the count of lines not logged is due.
    pub fn deadline(&self) -> Option<crate::clock::Instant> {
        self.window_end.filter(|_| self.suppressed > 0)
    }

    /// The count of lines not logged, once its window is over.
    pub fn take_due(&mut self, now: crate::clock::Instant) -> Option<u32> {
        let due = self.deadline().is_some_and(|at| at <= now);
        due.then(|| {
            self.window_end = None;
            core::mem::take(&mut self.suppressed)
        })
    }
}

#[cfg(test)]
mod msg_tests {
    use super::Severity;
    use crate::packed::{Arg, Filled};
    use alloc::string::ToString;

    #[test]
    fn a_message_is_filled_with_its_values_in_order() {
        let name = "web";
        let pid = 4321u32;
        let secs: i64 = -7;
        let msg = line_at!(Notice, "job {} [{}] exited after {} sec: {}");
        let args = [
            Arg::new(&name),
            Arg::new(&pid),
            Arg::new(&secs),
            Arg::new(&'x'),
        ];
        let text = Filled { msg, args: &args }.to_string();
        assert_eq!(text, "job web [4321] exited after -7 sec: x");
        assert_eq!(msg[0], Severity::Notice as u8);
    }

    #[test]
    fn a_value_is_written_as_it_is_not_read_for_marks() {
        // A value holding `%` (a job's name, a path) is not taken for a
        // mark: only the message's own text is split.
        let name = "100%%{}";
        let msg = line_at!(Err, "job {}: {}");
        let args = [Arg::new(&name), Arg::new(&"50%")];
        assert_eq!(Filled { msg, args: &args }.to_string(), "job 100%%{}: 50%");
    }
}

#[cfg(test)]
mod quota_tests {
    use super::Quota;
    use crate::clock::Instant;

    #[test]
    fn a_flood_costs_ten_lines_and_a_count_per_window() {
        let t0 = Instant::now();
        let mut q = Quota::new(10);
        let allowed = (0..1000).filter(|_| q.allow(t0)).count();
        assert_eq!(allowed, 10);
        assert_eq!(q.deadline(), Some(t0 + Quota::EVERY));
        assert_eq!(q.take_due(t0), None);
        assert_eq!(q.take_due(t0 + Quota::EVERY), Some(990));
        assert_eq!(q.deadline(), None);
        assert!(q.allow(t0 + Quota::EVERY));
    }
}
