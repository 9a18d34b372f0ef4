//! pmtr's log (SPEC §7): RFC 3164 records written straight to `/dev/log`.
//!
//! A record is `<PRI>Mmm dd hh:mm:ss TAG[PID]: text`, facility daemon, no
//! hostname (the syslog daemon adds it), local time (see [`tz`]), at most
//! [`RECORD_LIMIT`] bytes. It is formatted into a fixed buffer on the
//! stack, so logging allocates nothing; the one writer lives in a static
//! `Mutex` (pmtr is single-threaded, the lock is never contended).
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

mod tz;

use crate::sys::lock::{Guard, Lock};
use core::fmt;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};
use rustix::time::{ClockId, Timespec};

pub use tz::Zone;

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
const RETRY_NANOS: i128 = 1_000_000_000;

/// Where records go unless `PMTR_LOG_SOCKET` says otherwise.
const DEV_LOG: &str = "/dev/log";

/// Marks a line split over several records.
const SPLIT_MARK: &[u8] = b"...";

/// The writer: one per process, set up by [`init`].
static WRITER: Lock<Option<Writer>> = Lock::new(None);

/// Sets up logging once, before the first message: `foreground` echoes
/// every line to stderr; `verbose` (count of `-v`) lets debug lines through.
///
/// Reads `PMTR_LOG_SOCKET` (socket path, default /dev/log),
/// `PMTR_LOG_RECORD_MAX` (record length, 128..=1024, default 1023) and the
/// time zone (`TZ`, else /etc/localtime). Calling it again re-reads them
/// (the time zone, after an update of /etc/localtime) and keeps the socket.
pub fn init(foreground: bool, verbose: u8) {
    // Under systemd stderr is the journal, which also reads /dev/log:
    // echoing would log every line twice.
    let foreground = foreground && !stderr_is_journal();
    let path = crate::sys::start::var("PMTR_LOG_SOCKET").unwrap_or(DEV_LOG);
    // A path that cannot be a socket address (too long) never connects:
    // every record then goes to the fallback, which is what an operator
    // can see and fix.
    let addr = SocketAddrUnix::new(path).ok();
    let limit = crate::sys::start::var("PMTR_LOG_RECORD_MAX")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(RECORD_LIMIT, |n| n.clamp(RECORD_MIN, RECORD_MAX));
    let zone = Zone::from_env(crate::sys::start::var("TZ"));
    let console = if rustix::process::getpid().is_init() && !stderr_usable() {
        open_console()
    } else {
        None
    };
    let mut guard = lock();
    match guard.as_mut() {
        Some(w) => {
            if w.addr != addr {
                w.sock = None;
                w.retry_at = None;
            }
            w.foreground = foreground;
            w.verbose = verbose;
            w.addr = addr;
            w.limit = limit;
            w.zone = zone;
            w.console = console;
        }
        None => {
            *guard = Some(Writer {
                foreground,
                verbose,
                addr,
                limit,
                zone,
                sock: None,
                stream: false,
                retry_at: None,
                lost: 0,
                pending: heapless::Vec::new(),
                console,
            })
        }
    }
}

/// Logs one of pmtr's own messages.
pub fn log(severity: Severity, args: fmt::Arguments<'_>) {
    let mut guard = lock();
    let Some(w) = guard.as_mut() else {
        // Before init (flag errors): stderr is all there is.
        if severity != Severity::Debug {
            let mut rec = Record::new();
            rec.text_at = 0;
            rec.format_text(args, RECORD_LIMIT);
            write_line(crate::os::stderr(), &[b"pmtr: ", rec.text(), b"\n"]);
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

/// Logs one line of a job's output (`out syslog` / `err syslog`), tagged
/// with the job's name and PID; a line over the record limit becomes
/// several records. (The event loop goes through [`JobOutput`]; this is
/// for a line that is already whole.)
#[allow(dead_code)]
pub fn log_job_line(tag: &str, pid: u32, severity: Severity, line: &[u8]) {
    log_job_piece(tag, pid, severity, line, false, false);
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
    let Some(w) = guard.as_mut() else {
        let mut rec = Record::new();
        rec.tag_at = 0;
        split_line(
            &mut rec,
            severity,
            0,
            &Zone::UTC,
            tag,
            pid,
            line,
            continued,
            unfinished,
            RECORD_LIMIT,
            |rec| {
                write_line(crate::os::stderr(), &[rec.tagged(), b"\n"]);
            },
        );
        return;
    };
    let now = now_utc();
    let limit = w.limit;
    let mut rec = Record::new();
    let zone = core::mem::take(&mut w.zone);
    split_line(
        &mut rec,
        severity,
        now,
        &zone,
        tag,
        pid,
        line,
        continued,
        unfinished,
        limit,
        |rec| {
            w.deliver(rec, Source::Job);
        },
    );
    w.zone = zone;
}

/// The writer's lock.
fn lock() -> Guard<'static, Option<Writer>> {
    WRITER.lock()
}

macro_rules! error {
    ($($arg:tt)*) => { $crate::syslog::log($crate::syslog::Severity::Err, format_args!($($arg)*)) };
}
macro_rules! warn {
    ($($arg:tt)*) => { $crate::syslog::log($crate::syslog::Severity::Warning, format_args!($($arg)*)) };
}
macro_rules! notice {
    ($($arg:tt)*) => { $crate::syslog::log($crate::syslog::Severity::Notice, format_args!($($arg)*)) };
}
macro_rules! info {
    ($($arg:tt)*) => { $crate::syslog::log($crate::syslog::Severity::Info, format_args!($($arg)*)) };
}
macro_rules! debug {
    ($($arg:tt)*) => { $crate::syslog::log($crate::syslog::Severity::Debug, format_args!($($arg)*)) };
}

/// One job output stream (`out syslog` or `err syslog`) on its way to
/// syslog: bytes as read from the job's pipe go in, one record per line
/// comes out. Lines are joined across reads; a line longer than the buffer
/// is logged in pieces marked `...`. The buffer is inline: a job's output
/// never allocates.
pub struct JobOutput {
    line: heapless::Vec<u8, RECORD_MAX>,
    /// Part of the current line has already been logged.
    continued: bool,
}

impl Default for JobOutput {
    fn default() -> Self {
        JobOutput::new()
    }
}

impl JobOutput {
    pub const fn new() -> JobOutput {
        JobOutput {
            line: heapless::Vec::new(),
            continued: false,
        }
    }

    /// Takes `data` as read from the job's pipe and logs every line it
    /// completes, tagged `tag[pid]`, at `severity` (Info for stdout, Err for
    /// stderr, SPEC §7).
    pub fn feed(&mut self, mut data: &[u8], tag: &str, pid: u32, severity: Severity) {
        while !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            let segment = &data[..newline.unwrap_or(data.len())];
            let room = self.line.capacity() - self.line.len();
            let take = segment.len().min(room);
            // Cannot fail: `take` fits.
            let _ = self.line.extend_from_slice(&segment[..take]);
            if take < segment.len() || (newline.is_none() && self.line.is_full()) {
                self.log_full_buffer(tag, pid, severity);
                data = &data[take..];
                continue;
            }
            match newline {
                Some(at) => {
                    self.log_line(tag, pid, severity);
                    data = &data[at + 1..];
                }
                None => break,
            }
        }
    }

    /// Logs what is left of the last line at end of file.
    pub fn flush(&mut self, tag: &str, pid: u32, severity: Severity) {
        if !self.line.is_empty() {
            self.log_line(tag, pid, severity);
        }
        self.continued = false;
    }

    /// Logs the buffered line, which ended with a newline (or end of file).
    fn log_line(&mut self, tag: &str, pid: u32, severity: Severity) {
        let mut line = &self.line[..];
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        // Blank lines carry nothing; a blank end of a split line does.
        if !line.is_empty() || self.continued {
            log_job_piece(tag, pid, severity, line, self.continued, false);
        }
        self.line.clear();
        self.continued = false;
    }

    /// Logs a buffer full of one unfinished line, keeping a UTF-8
    /// character cut by the buffer's end for the next piece.
    fn log_full_buffer(&mut self, tag: &str, pid: u32, severity: Severity) {
        let keep = incomplete_utf8_tail(&self.line);
        let cut = self.line.len() - keep;
        log_job_piece(tag, pid, severity, &self.line[..cut], self.continued, true);
        self.line.copy_within(cut.., 0);
        self.line.truncate(keep);
        self.continued = true;
    }
}

/// The number of bytes at the end of `b` that start a UTF-8 character
/// whose remaining bytes have not arrived yet.
fn incomplete_utf8_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let c = b[b.len() - back];
        if c & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back
        }
        let need = match c {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

/// Who a record is from, for the echo on stderr.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Own,
    Job,
}

/// The process-wide writer state.
struct Writer {
    foreground: bool,
    verbose: u8,
    /// The socket path; `None` when it cannot be a socket address.
    addr: Option<SocketAddrUnix>,
    /// Record length limit.
    limit: usize,
    zone: Zone,
    sock: Option<OwnedFd>,
    /// The socket is a stream: records end with NUL.
    stream: bool,
    /// No connect before this monotonic time.
    retry_at: Option<i128>,
    /// Records dropped because the socket was full.
    lost: u32,
    /// The unsent end of a record on a stream socket: it must go out
    /// before anything else or the framing breaks.
    pending: heapless::Vec<u8, { RECORD_MAX + 1 }>,
    /// PID 1 without stderr: /dev/kmsg or /dev/console.
    console: Option<Console>,
}

/// Where PID 1 writes when there is neither syslog nor stderr.
struct Console {
    fd: OwnedFd,
    /// /dev/kmsg takes `<PRI>TAG[PID]: text`; the console a plain line.
    kmsg: bool,
}

/// What became of a record at the socket.
enum Sent {
    Yes,
    /// The socket was full: dropped and counted.
    Dropped,
    /// No socket, or it broke.
    NoSocket,
}

impl Writer {
    /// Sends a formatted record to syslog and, in the foreground or when
    /// syslog is not there, to stderr.
    fn deliver(&mut self, rec: &Record, source: Source) {
        match self.send(rec) {
            // Without syslog the line must reach a person somehow: stderr,
            // or as PID 1 without one, the kernel log or console.
            Sent::NoSocket => self.echo(rec, source, true),
            Sent::Yes | Sent::Dropped if self.foreground => self.echo(rec, source, false),
            Sent::Yes | Sent::Dropped => {}
        }
    }

    /// Writes the record for a person: `pmtr: text` or `TAG[PID]: text`.
    fn echo(&self, rec: &Record, source: Source, fallback: bool) {
        let parts: [&[u8]; 3] = match source {
            Source::Own => [b"pmtr: ", rec.text(), b"\n"],
            Source::Job => [b"", rec.tagged(), b"\n"],
        };
        if fallback && let Some(console) = &self.console {
            if console.kmsg {
                write_line(console.fd.as_fd(), &[rec.pri(), rec.tagged(), b"\n"]);
            } else {
                write_line(console.fd.as_fd(), &parts);
            }
            return;
        }
        write_line(crate::os::stderr(), &parts);
    }

    fn send(&mut self, rec: &Record) -> Sent {
        if self.sock.is_none() && !self.connect() {
            return Sent::NoSocket;
        }
        if self.lost > 0 {
            let mut notice = Record::new();
            notice.header(Severity::Warning, now_utc(), &self.zone, "pmtr", own_pid());
            notice.format_text(format_args!("{} messages lost", self.lost), self.limit);
            if let Sent::Yes = self.send_once(notice.bytes()) {
                self.lost = 0;
            }
        }
        let sent = match self.send_once(rec.bytes()) {
            Sent::NoSocket if self.connect() => self.send_once(rec.bytes()),
            sent => sent,
        };
        // Only the record counts: a notice that did not get through is
        // simply tried again with the next record.
        if let Sent::Dropped = sent {
            self.lost = self.lost.saturating_add(1);
        }
        sent
    }

    /// One attempt on the current socket; closes it when it broke.
    fn send_once(&mut self, bytes: &[u8]) -> Sent {
        let Some(sock) = &self.sock else {
            return Sent::NoSocket;
        };
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        if self.stream {
            // Finish the previous record before starting this one.
            while !self.pending.is_empty() {
                match send_retrying(sock, &self.pending, flags) {
                    Ok(n) => {
                        self.pending.copy_within(n.., 0);
                        self.pending.truncate(self.pending.len() - n);
                    }
                    Err(e) => return self.failed(e),
                }
            }
            let mut framed: heapless::Vec<u8, { RECORD_MAX + 1 }> = heapless::Vec::new();
            let _ = framed.extend_from_slice(bytes);
            let _ = framed.push(0);
            return match send_retrying(sock, &framed, flags) {
                Ok(n) => {
                    let _ = self.pending.extend_from_slice(&framed[n..]);
                    Sent::Yes
                }
                Err(e) => self.failed(e),
            };
        }
        match send_retrying(sock, bytes, flags) {
            Ok(_) => Sent::Yes,
            Err(e) => self.failed(e),
        }
    }

    fn failed(&mut self, e: Errno) -> Sent {
        match e {
            Errno::AGAIN | Errno::NOBUFS | Errno::MSGSIZE => Sent::Dropped,
            // The daemon went away or was restarted (ECONNREFUSED,
            // ENOTCONN, ENOENT, EPIPE, ECONNRESET, ...): reconnect.
            _ => {
                self.sock = None;
                self.pending.clear();
                Sent::NoSocket
            }
        }
    }

    /// Connects to the socket unless a connect failed less than a second
    /// ago. Datagram first; a stream socket when the path is one
    /// (EPROTOTYPE), as syslog-ng may offer.
    fn connect(&mut self) -> bool {
        let now = monotonic_nanos();
        if self.retry_at.is_some_and(|at| now < at) {
            return false;
        }
        let Some(addr) = &self.addr else {
            return false;
        };
        let result = connect_as(addr, SocketType::DGRAM)
            .map(|fd| (fd, false))
            .or_else(|e| {
                if e == Errno::PROTOTYPE {
                    connect_as(addr, SocketType::STREAM).map(|fd| (fd, true))
                } else {
                    Err(e)
                }
            });
        match result {
            Ok((fd, stream)) => {
                self.sock = Some(fd);
                self.stream = stream;
                self.pending.clear();
                self.retry_at = None;
                true
            }
            Err(_) => {
                self.retry_at = Some(now + RETRY_NANOS);
                false
            }
        }
    }
}

fn connect_as(addr: &SocketAddrUnix, kind: SocketType) -> rustix::io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        kind,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    rustix::net::connect(&fd, addr)?;
    Ok(fd)
}

fn send_retrying(fd: &OwnedFd, bytes: &[u8], flags: SendFlags) -> rustix::io::Result<usize> {
    loop {
        match rustix::net::send(fd, bytes, flags) {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Writes the parts as one line; gives up on any error (a log must not
/// stop pmtr). The parts are copied into one buffer so that a line is
/// one write and lines from pmtr and its jobs do not interleave.
fn write_line(fd: rustix::fd::BorrowedFd<'_>, parts: &[&[u8]]) {
    let mut line: heapless::Vec<u8, { RECORD_MAX + 16 }> = heapless::Vec::new();
    for part in parts {
        let room = line.capacity() - line.len();
        let _ = line.extend_from_slice(&part[..part.len().min(room)]);
    }
    let _ = crate::os::write_all(fd, &line);
}

/// Whether fd 2 is open and not /dev/null.
fn stderr_usable() -> bool {
    match rustix::fs::fstat(crate::os::stderr()) {
        Ok(st) => {
            let is_char = rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::CharacterDevice;
            !(is_char && rustix::fs::major(st.st_rdev) == 1 && rustix::fs::minor(st.st_rdev) == 3)
        }
        Err(_) => false,
    }
}

fn open_console() -> Option<Console> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    if let Ok(fd) = rustix::fs::open("/dev/kmsg", flags, Mode::empty()) {
        return Some(Console { fd, kmsg: true });
    }
    rustix::fs::open("/dev/console", flags, Mode::empty())
        .ok()
        .map(|fd| Console { fd, kmsg: false })
}

/// Asked each time, not kept: `init` runs before pmtr detaches (forks).
fn own_pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

fn now_utc() -> i64 {
    rustix::time::clock_gettime(ClockId::Realtime).tv_sec
}

fn monotonic_nanos() -> i128 {
    let Timespec { tv_sec, tv_nsec } = rustix::time::clock_gettime(ClockId::Monotonic);
    i128::from(tv_sec) * 1_000_000_000 + i128::from(tv_nsec)
}

/// One record being formatted.
struct Record {
    buf: heapless::Vec<u8, RECORD_MAX>,
    /// Where `TAG[PID]: ` starts.
    tag_at: usize,
    /// Where the text starts.
    text_at: usize,
    /// The longest prefix of the text, in (record bytes, input bytes), that
    /// still leaves room for [`SPLIT_MARK`].
    mark: (usize, usize),
    /// Input bytes taken so far.
    taken: usize,
    /// Text did not fit.
    full: bool,
}

impl Record {
    fn new() -> Record {
        Record {
            buf: heapless::Vec::new(),
            tag_at: 0,
            text_at: 0,
            mark: (0, 0),
            taken: 0,
            full: false,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// `<PRI>`
    fn pri(&self) -> &[u8] {
        let end = self
            .buf
            .iter()
            .position(|&b| b == b'>')
            .map_or(0, |i| i + 1);
        &self.buf[..end]
    }

    /// `TAG[PID]: text`
    fn tagged(&self) -> &[u8] {
        &self.buf[self.tag_at..]
    }

    fn text(&self) -> &[u8] {
        &self.buf[self.text_at..]
    }

    /// Starts the record: `<PRI>Mmm dd hh:mm:ss TAG[PID]: `.
    fn header(&mut self, severity: Severity, now: i64, zone: &Zone, tag: &str, pid: u32) {
        use fmt::Write;
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        self.buf.clear();
        let local = now + i64::from(zone.offset_at(now));
        let (_, month, day) = tz::civil_from_days(local.div_euclid(86400));
        let secs = local.rem_euclid(86400);
        let mut w = Raw(&mut self.buf);
        let _ = write!(
            w,
            "<{}>{} {:2} {:02}:{:02}:{:02} ",
            FACILITY_DAEMON | severity as u8,
            MONTHS[(month as usize - 1) % 12],
            day,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        self.tag_at = self.buf.len();
        // RFC 3164's TAG is ASCII alphanumeric; job names are freer, so
        // anything that would end the tag early (space, `[`, `:`), is not
        // printable or not ASCII (syslog daemons differ on UTF-8 in the
        // header) becomes `_`.
        for c in tag.chars().take(TAG_MAX) {
            let keep = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@' | '+');
            let _ = self.buf.push(if keep { c as u8 } else { b'_' });
        }
        let _ = write!(Raw(&mut self.buf), "[{pid}]: ");
        self.text_at = self.buf.len();
        self.mark = (self.buf.len(), 0);
        self.taken = 0;
        self.full = false;
    }

    /// Appends pmtr's own message, truncated to `limit` with `...` when
    /// it is longer.
    fn format_text(&mut self, args: fmt::Arguments<'_>, limit: usize) {
        let _ = fmt::write(&mut Escaper { rec: self, limit }, args);
        if self.full {
            self.cut_at_mark();
        }
    }

    /// Appends `text` escaped, as far as it fits in `limit` bytes; returns
    /// how many input bytes were taken.
    fn push_escaped(&mut self, text: &[u8], limit: usize) -> usize {
        let limit = limit.min(RECORD_MAX);
        let mut i = 0;
        while i < text.len() {
            let (len, escape) = unit(&text[i..]);
            let out_len = if escape { 4 } else { len };
            if self.buf.len() + out_len > limit {
                self.full = true;
                break;
            }
            if escape {
                let b = text[i];
                let _ = self.buf.extend_from_slice(&[
                    b'#',
                    b'0' + (b >> 6),
                    b'0' + (b >> 3 & 7),
                    b'0' + (b & 7),
                ]);
            } else {
                let _ = self.buf.extend_from_slice(&text[i..i + len]);
            }
            i += len;
            self.taken += len;
            if self.buf.len() + SPLIT_MARK.len() <= limit {
                self.mark = (self.buf.len(), self.taken);
            }
        }
        i
    }

    /// Ends the record at the mark with `...`; returns the input bytes it
    /// holds.
    fn cut_at_mark(&mut self) -> usize {
        self.buf.truncate(self.mark.0);
        let _ = self.buf.extend_from_slice(SPLIT_MARK);
        self.mark.1
    }
}

/// The length of the character at the start of `b` and whether it must
/// be escaped (a control character or a byte that is not UTF-8).
fn unit(b: &[u8]) -> (usize, bool) {
    let c = b[0];
    if c < 0x20 || c == 0x7f {
        return (1, true);
    }
    if c < 0x80 {
        return (1, false);
    }
    let len = match c {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (1, true),
    };
    match b.get(..len).map(core::str::from_utf8) {
        Some(Ok(s)) if !s.chars().any(|ch| ch.is_control()) => (len, false),
        _ => (1, true),
    }
}

/// Formats into a record, escaping, up to a limit.
struct Escaper<'a> {
    rec: &'a mut Record,
    limit: usize,
}

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.rec.push_escaped(s.as_bytes(), self.limit) < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Formats into a buffer as is (the header), dropping what does not fit.
struct Raw<'a>(&'a mut heapless::Vec<u8, RECORD_MAX>);

impl fmt::Write for Raw<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes())
            .map_err(|_| fmt::Error)
    }
}

/// Formats `line` into as many records as it takes and hands each to
/// `emit`: pieces are marked with `...` at a cut (`continued`: the line
/// began in an earlier record; `unfinished`: it goes on in a later one).
#[allow(clippy::too_many_arguments)]
fn split_line(
    rec: &mut Record,
    severity: Severity,
    now: i64,
    zone: &Zone,
    tag: &str,
    pid: u32,
    line: &[u8],
    continued: bool,
    unfinished: bool,
    limit: usize,
    mut emit: impl FnMut(&Record),
) {
    let mut rest = line;
    let mut first = true;
    loop {
        rec.header(severity, now, zone, tag, pid);
        if continued || !first {
            let _ = rec.buf.extend_from_slice(SPLIT_MARK);
            rec.mark.0 = rec.buf.len();
        }
        first = false;
        let taken = rec.push_escaped(rest, limit);
        let taken = if taken < rest.len() {
            rec.cut_at_mark()
        } else if unfinished {
            if rec.buf.len() + SPLIT_MARK.len() > limit {
                rec.cut_at_mark()
            } else {
                let _ = rec.buf.extend_from_slice(SPLIT_MARK);
                taken
            }
        } else {
            taken
        };
        emit(rec);
        rest = &rest[taken..];
        if rest.is_empty() {
            return;
        }
    }
}

/// True when fd 2 is the journal stream systemd named in `JOURNAL_STREAM`
/// (`DEVICE:INODE`, see systemd.exec(5)).
fn stderr_is_journal() -> bool {
    let Some(stream) = crate::sys::start::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let Ok(stat) = rustix::fs::fstat(crate::os::stderr()) else {
        return false;
    };
    dev.parse::<u64>() == Ok(stat.st_dev) && ino.parse::<u64>() == Ok(stat.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-05 09:07:03 UTC
    const NOV_5: i64 = 1_793_869_623;

    fn own(zone: &Zone, text: &str, limit: usize) -> String {
        let mut rec = Record::new();
        rec.header(Severity::Notice, NOV_5, zone, "pmtr", 42);
        rec.format_text(format_args!("{text}"), limit);
        String::from_utf8(rec.bytes().to_vec()).unwrap()
    }

    fn job(line: &[u8], limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut rec = Record::new();
        split_line(
            &mut rec,
            Severity::Err,
            NOV_5,
            &Zone::UTC,
            "web",
            7,
            line,
            false,
            false,
            limit,
            |r| out.push(String::from_utf8(r.bytes().to_vec()).unwrap()),
        );
        out
    }

    #[test]
    fn record_has_pri_timestamp_tag_pid() {
        assert_eq!(
            own(&Zone::UTC, "started job web [7]", RECORD_LIMIT),
            "<29>Nov  5 09:07:03 pmtr[42]: started job web [7]"
        );
    }

    #[test]
    fn pri_is_daemon_facility_plus_severity() {
        for (sev, pri) in [
            (Severity::Err, 27),
            (Severity::Warning, 28),
            (Severity::Info, 30),
            (Severity::Debug, 31),
        ] {
            let mut rec = Record::new();
            rec.header(sev, 0, &Zone::UTC, "pmtr", 1);
            assert_eq!(rec.pri(), format!("<{pri}>").as_bytes());
        }
    }

    #[test]
    fn timestamp_is_local_time() {
        let zone = Zone::from_env(Some("<+0530>-5:30"));
        assert!(own(&zone, "x", RECORD_LIMIT).starts_with("<29>Nov  5 14:37:03 pmtr[42]: "));
        let day = Zone::from_env(Some("<-10>10"));
        assert!(own(&day, "x", RECORD_LIMIT).starts_with("<29>Nov  4 23:07:03 "));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            own(&Zone::UTC, "a\nb\tc\x1b[2Jd\x7f", RECORD_LIMIT),
            "<29>Nov  5 09:07:03 pmtr[42]: a#012b#011c#033[2Jd#177"
        );
        let lines = job(b"caf\xc3\xa9 \xff\xc3", RECORD_LIMIT);
        assert_eq!(lines, ["<27>Nov  5 09:07:03 web[7]: caf\u{e9} #377#303"]);
        // C1 controls are control characters too.
        assert_eq!(
            job("x\u{9b}y".as_bytes(), RECORD_LIMIT),
            ["<27>Nov  5 09:07:03 web[7]: x#302#233y"]
        );
    }

    #[test]
    fn own_message_over_limit_is_truncated_with_mark() {
        let long = "é".repeat(600);
        let rec = own(&Zone::UTC, &long, RECORD_LIMIT);
        assert!(rec.len() <= RECORD_LIMIT, "{}", rec.len());
        assert!(rec.len() >= RECORD_LIMIT - 4, "{}", rec.len());
        assert!(rec.ends_with("é..."));
        let exact = "x".repeat(RECORD_LIMIT - "<29>Nov  5 09:07:03 pmtr[42]: ".len());
        assert_eq!(
            own(&Zone::UTC, &exact, RECORD_LIMIT).len(),
            RECORD_LIMIT,
            "a message that fits is not cut"
        );
        assert!(!own(&Zone::UTC, &exact, RECORD_LIMIT).ends_with("..."));
    }

    #[test]
    fn escapes_are_never_cut() {
        let text = "\n".repeat(400);
        let rec = own(&Zone::UTC, &text, 200);
        assert!(rec.ends_with("#012..."), "{rec}");
        assert!(rec.len() <= 200);
    }

    #[test]
    fn long_job_line_is_split_and_marked() {
        let line: Vec<u8> = (0..2500).map(|i| b'a' + (i % 26) as u8).collect();
        let records = job(&line, 300);
        assert!(records.len() > 1);
        let mut joined = Vec::new();
        for (i, r) in records.iter().enumerate() {
            assert!(r.len() <= 300, "record {i} has {} bytes", r.len());
            let text = r.strip_prefix("<27>Nov  5 09:07:03 web[7]: ").unwrap();
            let text = if i > 0 {
                text.strip_prefix("...").unwrap()
            } else {
                text
            };
            let text = if i + 1 < records.len() {
                text.strip_suffix("...").unwrap()
            } else {
                text
            };
            joined.extend_from_slice(text.as_bytes());
        }
        assert_eq!(joined, line, "nothing lost or repeated");
    }

    #[test]
    fn tag_is_at_most_32_chars_and_safe() {
        let mut rec = Record::new();
        rec.header(Severity::Info, 0, &Zone::UTC, &"n".repeat(40), 1);
        assert_eq!(rec.tagged(), format!("{}[1]: ", "n".repeat(32)).as_bytes());
        rec.header(Severity::Info, 0, &Zone::UTC, "a b:c[d", 1);
        assert_eq!(rec.tagged(), b"a_b_c_d[1]: ");
        rec.header(Severity::Info, NOV_5, &Zone::UTC, "café", 1);
        assert_eq!(rec.tagged(), b"caf_[1]: ");
    }

    #[test]
    fn utf8_tail_is_kept_for_next_piece() {
        assert_eq!(incomplete_utf8_tail(b"ab"), 0);
        assert_eq!(incomplete_utf8_tail(b"a\xc3"), 1);
        assert_eq!(incomplete_utf8_tail(b"a\xe2\x82"), 2);
        assert_eq!(incomplete_utf8_tail(b"a\xe2\x82\xac"), 0);
        assert_eq!(incomplete_utf8_tail(b"\xf0\x9f\x98"), 3);
    }

    #[test]
    fn job_output_joins_reads_and_splits_lines() {
        // Without init, job lines go to stderr; check the line assembly
        // through what JobOutput hands on.
        let mut out = JobOutput::new();
        out.feed(b"hel", "j", 1, Severity::Info);
        assert_eq!(&out.line[..], b"hel");
        out.feed(b"lo\r\nwor", "j", 1, Severity::Info);
        assert_eq!(&out.line[..], b"wor");
        out.flush("j", 1, Severity::Info);
        assert!(out.line.is_empty());
        let big = vec![b'x'; RECORD_MAX + 10];
        out.feed(&big, "j", 1, Severity::Info);
        assert!(out.continued);
        assert_eq!(out.line.len(), 10);
        out.feed(b"\n", "j", 1, Severity::Info);
        assert!(!out.continued && out.line.is_empty());
    }
}
