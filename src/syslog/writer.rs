//! Where records go: the `/dev/log` socket (datagram, or stream with NUL
//! framing), connected lazily and never blocking, and the fallbacks when
//! it is not there: stderr, or as PID 1 without one, /dev/kmsg or
//! /dev/console.

use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

use crate::clock::Instant;
use crate::files::Stat;

use super::record::Record;
use super::{RECORD_MAX, RETRY_AFTER, Severity, Zone};

/// Who a record is from, for the echo on stderr.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Own,
    Job,
}

/// The process-wide writer state.
///
/// On 32-bit ARM in the order written (`repr(C)`): the zone apart from
/// the pending buffer, so that `init` writes the fields into the static
/// one by one and leaves the buffer alone, not a writer made on the
/// stack and copied in (1080 bytes, the buffer's uninitialised bytes
/// with them); the small fields first. x86_64 keeps Rust's own layout,
/// which the order of fields of one alignment also moves: this order
/// keeps theirs, and so the layout (other orders tried were 24 to 40
/// bytes larger there; issue 18, bytes).
#[cfg_attr(target_arch = "arm", repr(C))]
pub(super) struct Writer {
    pub(super) foreground: bool,
    pub(super) verbose: u8,
    /// The socket is a stream: records end with NUL.
    pub(super) stream: bool,
    /// The socket's path (`PMTR_LOG_SOCKET`, else /dev/log), from the
    /// environment: its address made at each connect, not a 110-byte
    /// `Option<SocketAddrUnix>` kept, compared and copied by `init`
    /// (issue 18, bytes). One that cannot be a socket address (too long)
    /// never connects.
    pub(super) path: &'static str,
    pub(super) sock: Option<OwnedFd>,
    /// Records dropped because the socket was full.
    pub(super) lost: u32,
    /// PID 1 without stderr: /dev/kmsg or /dev/console.
    pub(super) console: Option<Console>,
    /// Lines stderr (or the console) did not take at once.
    pub(super) echo_lost: u32,
    /// Record length limit.
    pub(super) limit: usize,
    pub(super) zone: Zone,
    /// No connect before this.
    pub(super) retry_at: Option<Instant>,
    /// The unsent end of a record on a stream socket: it must go out
    /// before anything else or the framing breaks.
    pub(super) pending: heapless::Vec<u8, { RECORD_MAX + 1 }>,
}

/// Where PID 1 writes when there is neither syslog nor stderr.
pub(super) struct Console {
    pub(super) fd: OwnedFd,
    /// /dev/kmsg takes `<PRI>TAG[PID]: text`; the console a plain line.
    pub(super) kmsg: bool,
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
    pub(super) fn deliver(&mut self, rec: &Record, source: Source) {
        // Without syslog the line must reach a person somehow: stderr,
        // or as PID 1 without one, the kernel log or console. One call
        // of `echo` for both cases (issue 18, bytes).
        let fallback = matches!(self.send(rec), Sent::NoSocket);
        if fallback || self.foreground {
            self.echo(rec, source, fallback);
        }
    }

    /// Writes the record for a person: `pmtr: text` or `TAG[PID]: text`.
    /// Never waits: a line the terminal or pipe does not take at once is
    /// dropped and counted, and the count is written before the next line
    /// that goes through.
    fn echo(&mut self, rec: &Record, source: Source, fallback: bool) {
        let parts: [&[u8]; 3] = match source {
            Source::Own => [b"pmtr: ", rec.text(), b"\n"],
            Source::Job => [b"", rec.tagged(), b"\n"],
        };
        let (fd, parts) = match &self.console {
            Some(console) if fallback && console.kmsg => (
                crate::sys::lend(&console.fd),
                [rec.pri(), rec.tagged(), b"\n"],
            ),
            Some(console) if fallback => (crate::sys::lend(&console.fd), parts),
            _ => (crate::rt::print::stderr(), parts),
        };
        // A line not written, the count's or the record's, counted at
        // one place (issue 18, bytes).
        let written = 'written: {
            if self.echo_lost > 0 {
                // The count as parts of the line, through `itoa`: no
                // `fmt::Write` for a heapless buffer (issue 18, bytes).
                let count = crate::logger::itoa(self.echo_lost.into());
                let notice: [&[u8]; 3] = [
                    b"pmtr: ",
                    count.as_bytes(),
                    b" lines not echoed (output was not taking them)\n",
                ];
                if !write_line(fd, &notice) {
                    break 'written false;
                }
                self.echo_lost = 0;
            }
            write_line(fd, &parts)
        };
        if !written {
            self.echo_lost = self.echo_lost.saturating_add(1);
        }
    }

    fn send(&mut self, rec: &Record) -> Sent {
        if self.sock.is_none() && !self.connect() {
            return Sent::NoSocket;
        }
        if self.lost > 0 {
            let mut notice = Record::new();
            notice.header(Severity::Warning, now_utc(), &self.zone, "pmtr", own_pid());
            notice.format_text(
                format_args!("{} messages lost", crate::packed::Int(self.lost)),
                self.limit,
            );
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
            // Through the buffers' view: the copy every capacity shares,
            // not one of this capacity's own (issue 18, bytes).
            let _ = framed.as_mut_view().extend_from_slice(bytes);
            let _ = framed.push(0);
            return match send_retrying(sock, &framed, flags) {
                Ok(n) => {
                    // The kernel took at most all of it.
                    if let Some(rest) = framed.get(n..) {
                        let _ = self.pending.as_mut_view().extend_from_slice(rest);
                    }
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
    pub(super) fn connect(&mut self) -> bool {
        let now = Instant::now();
        if self.retry_at.is_some_and(|at| now < at) {
            return false;
        }
        let Ok(addr) = &crate::files::unix_addr(self.path) else {
            return false;
        };
        // The kind tried second only after EPROTOTYPE: one match, no
        // closures (issue 18, bytes).
        let mut stream = false;
        let result = match connect_as(addr, SocketType::DGRAM) {
            Err(Errno::PROTOTYPE) => {
                stream = true;
                connect_as(addr, SocketType::STREAM)
            }
            result => result,
        };
        match result {
            Ok(fd) => {
                // Put where the None is, not assigned over it: `send`
                // connects only without a socket (none yet, or
                // `send_once` found none or closed it), so there is
                // nothing to drop (issue 18, bytes).
                crate::fill(&mut self.sock, Some(fd));
                self.stream = stream;
                self.pending.clear();
                self.retry_at = None;
                true
            }
            Err(_) => {
                self.retry_at = Some(now + RETRY_AFTER);
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
    rustix::net::connect(crate::sys::lend(&fd), addr)?;
    Ok(fd)
}

fn send_retrying(fd: &OwnedFd, bytes: &[u8], flags: SendFlags) -> rustix::io::Result<usize> {
    loop {
        match rustix::net::send(crate::sys::lend(fd), bytes, flags) {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Writes the parts as one line, only as far as `fd` takes them at once:
/// a stalled terminal, or a pipe nobody reads, must never stop pmtr's
/// loop (SPEC §10: the bytes may be a job's). Returns whether the whole
/// line went out. The parts are copied into one buffer so that a line is
/// one write and lines from pmtr and its jobs do not interleave.
pub(super) fn write_line(fd: rustix::fd::BorrowedFd<'_>, parts: &[&[u8]]) -> bool {
    use rustix::event::{PollFd, PollFlags};
    let mut line: heapless::Vec<u8, { RECORD_MAX + 16 }> = heapless::Vec::new();
    for part in parts {
        let room = line.capacity() - line.len();
        let _ = line.extend_from_slice(&part[..part.len().min(room)]);
    }
    // The console and /dev/kmsg are opened non-blocking (and /dev/kmsg
    // does not poll for writing); only stderr, shared with whoever started
    // pmtr, may block, so only it is asked first.
    let ask = rustix::fd::AsRawFd::as_raw_fd(&fd) == 2;
    let mut rest = &line[..];
    while !rest.is_empty() {
        if ask {
            let mut poll = [PollFd::new(&fd, PollFlags::OUT)];
            let zero = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            match rustix::event::poll(&mut poll, Some(&zero)) {
                Ok(1) if poll[0].revents().contains(PollFlags::OUT) => {}
                Err(Errno::INTR) => continue,
                _ => return false,
            }
        }
        match rustix::io::write(fd, rest) {
            Ok(n) if n > 0 => rest = &rest[n..],
            Err(Errno::INTR) => {}
            _ => return false,
        }
    }
    true
}

/// Whether fd 2 is open and not /dev/null: `stat` is its `fstat`.
pub(super) fn stderr_usable(stat: &Result<Stat, Errno>) -> bool {
    match stat {
        Ok(st) => {
            let is_char = rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::CharacterDevice;
            // /dev/null, 1:3, as one device number: `makedev` puts the
            // major's and the minor's bits where the other's are not, so
            // this is `major == 1 && minor == 3` (issue 18, bytes).
            !(is_char && st.st_rdev == rustix::fs::makedev(1, 3))
        }
        Err(_) => false,
    }
}

pub(super) fn open_console() -> Option<Console> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    if let Ok(fd) = rustix::fs::open(c"/dev/kmsg", flags, Mode::empty()) {
        return Some(Console { fd, kmsg: true });
    }
    rustix::fs::open(c"/dev/console", flags, Mode::empty())
        .ok()
        .map(|fd| Console { fd, kmsg: false })
}

/// Asked each time, not kept: `init` runs before pmtr detaches (forks).
pub(super) fn own_pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

pub(super) fn now_utc() -> i64 {
    crate::clock::wall().0
}

/// True when fd 2, whose `fstat` is `stat`, is the journal stream
/// systemd named in `JOURNAL_STREAM` (`DEVICE:INODE`, see
/// systemd.exec(5)).
pub(super) fn stderr_is_journal(stat: &Result<Stat, Errno>) -> bool {
    let Some(stream) = crate::rt::start::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = crate::split_once(stream, b':') else {
        return false;
    };
    // The `Stat` read where the call put it, not copied out of its
    // `Result` (issue 18, bytes).
    let Ok(stat) = stat else {
        return false;
    };
    crate::parse_unsigned::<u64>(dev) == Some(stat.st_dev)
        && crate::parse_unsigned::<u64>(ino) == Some(stat.st_ino)
}
