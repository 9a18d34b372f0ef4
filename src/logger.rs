//! The helper processes pmtr runs from its own binary (issue 17): a job's
//! log writer (`out FILE max SIZE keep N stamp`) and the writer of the
//! `metrics to` file.
//!
//! Each reads a pipe that pmtr keeps open (so a helper started again goes
//! on where the last one stopped) and writes files. Writing a file may
//! wait — a slow or stalled SD card, a full journal — and here only this
//! process waits: pmtr's loop never writes these files itself. A job that
//! prints faster than the card takes fills its pipe and waits in its own
//! `write`, which slows that job and nothing else. pmtr supervises the
//! helpers (`supervisor/helpers.rs`): one that dies is started again.
//!
//! ```text
//! pmtr log -F|- STREAM JOB PATH MAX KEEP STAMP
//! ```
//!
//! `-F` echoes the helper's own log lines to stderr, as pmtr's are in the
//! foreground (`-` does not). STREAM is `out`, `err`, `out+err` (both
//! streams to one file) or `metrics` (then JOB is `-` and MAX, KEEP and
//! STAMP are 0); MAX is 0 for no rotation; STAMP is 1 or 0. The helper
//! exits 0 when its pipe ends (pmtr closed it: the job is gone, or pmtr is
//! exiting).

use crate::prelude::*;

use core::mem::ManuallyDrop;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::files::write_all;
use crate::packed::MAX_TEXT;
use crate::sys::strerror;
use crate::syslog::Zone;

/// The longest line written whole: a longer one is cut into lines of this
/// length (the bytes go through unchanged, a newline is added at each cut),
/// so that no line is split over two files and a job that never prints a
/// newline cannot grow a file past its `max`.
pub const LINE_MAX: usize = 16 * 1024;

/// What a line may hold so that with its stamp (`stamp_len` bytes) and
/// newline it still fits in one file of `max` bytes (0: no limit). `max` is at least 4K, so
/// this stays positive; worked out in u64, as `max` may be over 4 GiB
/// where usize has 32 bits.
fn line_cap(max: u64, stamp_len: usize) -> usize {
    match max {
        0 => LINE_MAX,
        max => (max - stamp_len as u64 - 1).min(LINE_MAX as u64) as usize,
    }
}

/// `2025-11-30T16:37:05.123+01:00 `: the length of a `stamp`.
const STAMP_LEN: usize = 30;

/// A file that could not be opened or written is tried again this often
/// (seconds); meanwhile its lines are dropped and counted.
const RETRY_SECS: i64 = 1;

/// Runs `pmtr log ARGS`; returns the exit status.
#[inline(never)]
pub fn main(args: &[String]) -> u8 {
    let [echo, stream, job, path, max, keep, stamp] = args else {
        eprintln!("pmtr log: a helper pmtr starts itself (src/logger.rs)");
        return 2;
    };
    // The short words by their bytes, compared in place, not by a call
    // to the slice comparison (issue 18, bytes).
    crate::syslog::init(matches!(echo.as_bytes(), [b'-', b'F']), 0);
    if stream == "metrics" {
        return metrics(path);
    }
    // KEEP is at most 100 (the configuration's `keep`, a u32 there):
    // counted in a u32, no 64-bit count on 32-bit targets (issue 18,
    // bytes).
    let (Some(max), Some(keep)) = (
        crate::parse_unsigned::<u64>(max),
        crate::parse_unsigned::<u32>(keep),
    ) else {
        return 2;
    };
    // FILE, FILE.1 … FILE.KEEP (paths from pmtr's configuration: no NUL).
    // A loop, not `map().collect()`: that brought its iterator's fold
    // and size_hint (issue 18, bytes). Kept as `String`s: rustix's calls
    // for `&str` paths are there anyway, a `CString` each was more code.
    // Counted by hand, not over `0..=keep`: RangeInclusive's end flag
    // (issue 18, bytes).
    let mut names = Vec::new();
    let mut i = 0u32;
    loop {
        let mut name = path.clone();
        if i > 0 {
            name.push('.');
            push_itoa(&mut name, i.into());
        }
        names.push(name);
        if i == keep {
            break;
        }
        i += 1;
    }
    let mut log = Log::new(
        job,
        path,
        names,
        max,
        matches!(stamp.as_bytes(), [b'1']),
        Zone::UTC,
    );
    // Read into its place in the log (issue 18, bytes).
    log.zone.set_from_tz();
    let code = log.run(if stream == "err" { "stderr" } else { "output" });
    // Not dropped: the process exits when `run` returns, which closes
    // the file and frees the memory. Forgotten here, not made in a
    // `ManuallyDrop`: that moved the whole log into it (issue 18, bytes).
    core::mem::forget(log);
    code
}

/// `n` in decimal, without `core::fmt`.
pub fn itoa(mut n: u64) -> heapless::String<20> {
    let mut buf = [0; 20];
    let mut out = heapless::String::new();
    // Written from the end: no reverse (issue 18, bytes). u64::MAX has
    // 20 digits, so `at` never passes 0.
    let mut at = buf.len();
    while at > 0 {
        at -= 1;
        let (q, digit) = div_rem_u64(n, 10);
        buf[at] = b'0' + digit as u8;
        n = q;
        if n == 0 {
            break;
        }
    }
    let digits = buf.get(at..).unwrap_or_default();
    // Not checked again by `from_utf8` (issue 18, bytes).
    #[allow(unsafe_code)]
    // SAFETY: every byte is an ASCII digit, written just above.
    let digits = unsafe { core::str::from_utf8_unchecked(digits) };
    let _ = out.push_str(digits);
    out
}

/// `a / b` and `a % b` for a `b` below 2^31. On 32-bit ARM the remainder
/// from the low words alone, `a - q * b` by a 32-bit multiplication: LLVM
/// makes a 64-bit one there (a helper call on Thumb-1) rather than take
/// the remainder the divide helper gives; the remainder is below `b`, so
/// its low word is all of it. Elsewhere the plain `%` is the smaller
/// (issue 18, bytes).
#[inline(always)]
pub fn div_rem_u64(a: u64, b: u32) -> (u64, u32) {
    let q = a / u64::from(b);
    if cfg!(target_arch = "arm") {
        (q, (a as u32).wrapping_sub((q as u32).wrapping_mul(b)))
    } else {
        (q, (a % u64::from(b)) as u32)
    }
}

/// Appends `n` in decimal to `out`: [`itoa`] and the push as one call,
/// not the digits' buffer and their push at every caller (issue 18,
/// bytes).
#[inline(never)]
pub fn push_itoa(out: &mut String, n: u64) {
    out.push_str(&itoa(n));
}

/// Appends `n` in decimal to a heapless buffer, as much as fits: the
/// digits and their copy as one call for every such buffer, through the
/// view all capacities share (issue 18, bytes).
#[inline(never)]
pub fn extend_itoa(out: &mut heapless::vec::VecView<u8>, n: u64) {
    let _ = out.extend_from_slice(itoa(n).as_bytes());
}

/// A job's log files and the writing of its lines.
struct Log<'a> {
    job: &'a str,
    path: &'a str,
    /// FILE, FILE.1 … FILE.KEEP.
    names: Vec<String>,
    /// Bytes a file may hold; 0: never rotated.
    max: u64,
    stamp: bool,
    zone: Zone,
    fd: Option<OwnedFd>,
    /// Bytes in the open file; read only when it `rotates`.
    size: u64,
    /// The open file is a regular file: it is rotated at `max` (a
    /// character device such as /dev/console is not).
    rotates: bool,
    /// No open before this (seconds since the epoch).
    retry_at: i64,
    /// When the lines being written were read (seconds since the epoch).
    now: i64,
    /// Lines dropped since the last report.
    dropped: u64,
    /// A failure was logged and not yet followed by a success.
    failing: bool,
    /// A failed rotation was logged.
    cant_rotate: bool,
}

impl<'a> Log<'a> {
    /// A log with nothing open yet.
    fn new(
        job: &'a str,
        path: &'a str,
        names: Vec<String>,
        max: u64,
        stamp: bool,
        zone: Zone,
    ) -> Log<'a> {
        Log {
            job,
            path,
            names,
            max,
            stamp,
            zone,
            fd: None,
            size: 0,
            rotates: false,
            retry_at: i64::MIN,
            now: 0,
            dropped: 0,
            failing: false,
            cant_rotate: false,
        }
    }

    fn run(&mut self, stream: &str) -> u8 {
        let stamp_len = if self.stamp { STAMP_LEN } else { 0 };
        let cap = line_cap(self.max, stamp_len);
        // Not dropped: the process exits when this returns (issue 18,
        // bytes).
        let mut buf = ManuallyDrop::new(vec![0u8; cap]);
        let mut out = ManuallyDrop::new(Vec::with_capacity(2 * LINE_MAX));
        let mut len = 0;
        // The two endings' messages, each with its values, written by
        // one call after the loop (issue 18, bytes).
        use crate::packed::Arg;
        let errno;
        let dropped;
        let (msg, args, code) = loop {
            let n = match rustix::io::read(stdin(), &mut buf[len..]) {
                Ok(n) => n,
                Err(Errno::INTR) => continue,
                Err(e) => {
                    errno = strerror(e);
                    break (
                        line_at!(Err, "job {}: can't read its {}: {}"),
                        [Arg::new(&self.job), Arg::new(&stream), Arg::new(&errno)],
                        1,
                    );
                }
            };
            let eof = n == 0;
            len += n;
            let (secs, nanos) = crate::clock::wall();
            // The template, filled in by `iso8601`: not zeroed first and
            // then overwritten (issue 18, bytes).
            let mut stamp = STAMP_TEMPLATE;
            if self.stamp {
                iso8601(&mut stamp, secs, nanos, &self.zone);
            }
            let stamp = &stamp[..stamp_len];
            self.now = secs;
            self.open();
            // Line by line through `position`, not `split_inclusive`'s
            // iterator (issue 18, bytes).
            let mut start = 0;
            while let Some(rest) = buf.get(start..len)
                && !rest.is_empty()
            {
                let (line, cut) = match rest.iter().position(|&b| b == b'\n') {
                    Some(end) => (&rest[..=end], false),
                    None => (rest, true),
                };
                // A line as long as the buffer is cut here; so is the last
                // one when the pipe ends without a newline.
                if cut && line.len() < cap && !eof {
                    break;
                }
                self.line(&mut out, stamp, line, cut);
                start += line.len();
            }
            buf.copy_within(start..len, 0);
            len -= start;
            self.flush(&mut out);
            if eof {
                if self.dropped == 0 {
                    return 0;
                }
                dropped = self.dropped;
                break (
                    line_at!(Warning, "job {}: {} lines of its {} were dropped"),
                    [Arg::new(&self.job), Arg::new(&dropped), Arg::new(&stream)],
                    0,
                );
            }
        };
        crate::syslog::log_msg(msg, &args);
        code
    }

    /// Adds one line (with its newline, or `cut` to add one) to `out`,
    /// rotating first when it would not fit in the file. Not inlined
    /// into its one caller but on aarch64: 112 bytes less on x86_64 min,
    /// and inlined 104 less on aarch64 min (issue 18).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    fn line(&mut self, out: &mut Vec<u8>, stamp: &[u8], text: &[u8], cut: bool) {
        if self.fd.is_none() {
            self.dropped += 1;
            return;
        }
        let n = (stamp.len() + text.len() + usize::from(cut)) as u64;
        let held = self.size + out.len() as u64;
        if self.rotates && self.max > 0 && held > 0 && held + n > self.max {
            self.flush(out);
            self.rotate();
        }
        out.extend_from_slice(stamp);
        out.extend_from_slice(text);
        if cut {
            out.push(b'\n');
        }
        if out.len() >= LINE_MAX {
            self.flush(out);
        }
    }

    /// Writes `out` to the file; lines that cannot be written are dropped
    /// and counted.
    fn flush(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            return;
        }
        // The lines not written counted at one place for both ways
        // (issue 18, bytes).
        let failed = match self
            .fd
            .as_ref()
            .map(|fd| write_all(crate::sys::lend(fd), out))
        {
            Some(Ok(())) => {
                self.size += out.len() as u64;
                out.clear();
                return;
            }
            Some(Err(e)) => Some(e),
            None => None,
        };
        for &b in out.iter() {
            self.dropped += u64::from(b == b'\n');
        }
        if let Some(e) = failed {
            self.fd = None;
            self.failed("write", Err(e));
        }
        out.clear();
    }

    /// Opens FILE for appending when it is not open and a retry is due.
    /// Non-blocking and checked after the open, like a job's own `out`
    /// (spawn.rs): a FIFO or a socket put in its place is refused, never
    /// waited on. Which files this can reach at all is decided by who runs
    /// it: the job's user, when that user could redirect the path.
    fn open(&mut self) {
        if self.fd.is_some() || self.now < self.retry_at {
            return;
        }
        let flags = OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        // `names` always holds FILE, first.
        let Some(file) = self.names.first() else {
            return;
        };
        let opened = crate::files::open(file, flags, Mode::from_raw_mode(0o644)).and_then(|fd| {
            let meta = crate::files::fstat(rustix::fd::AsFd::as_fd(&fd))?;
            let kind = FileType::from_raw_mode(meta.st_mode);
            if !matches!(kind, FileType::RegularFile | FileType::CharacterDevice) {
                return Err(Errno::INVAL);
            }
            // The flags as opened, less NONBLOCK, as `spawn::open_onto`
            // clears it: F_SETFL takes only the status flags of them
            // (here APPEND) and ignores the access mode and creation
            // flags. Set, not read first with F_GETFL (issue 18, bytes).
            rustix::fs::fcntl_setfl(crate::sys::lend(&fd), flags - OFlags::NONBLOCK)?;
            Ok((fd, kind == FileType::RegularFile, meta.st_size as u64))
        });
        match opened {
            Ok((fd, regular, size)) => {
                if self.failing {
                    notice!(
                        "job {}: writing {} again; {} lines were dropped",
                        self.job,
                        self.path,
                        self.dropped
                    );
                    self.failing = false;
                    self.dropped = 0;
                }
                // Into the slot, empty as tested at the start: no drop
                // call (issue 18, bytes).
                crate::fill(&mut self.fd, Some(fd));
                self.rotates = regular;
                // Read only where the file rotates (a regular one): a
                // device's is kept as it is, not tested for (issue 18,
                // bytes).
                self.size = size;
            }
            // EINVAL here is (also) the check above: say what it means.
            Err(Errno::INVAL) => {
                self.failed("open", Ok("not a regular file or a character device"))
            }
            Err(e) => self.failed("open", Err(e)),
        }
    }

    /// `why`: a fixed reason, or the errno whose text says it: the text
    /// made here once, not at each caller (issue 18, bytes).
    fn failed(&mut self, call: &str, why: Result<&str, Errno>) {
        self.retry_at = self.now + RETRY_SECS;
        if !self.failing {
            let mut text = crate::packed::room::<MAX_TEXT>();
            let why = match why {
                Ok(why) => why,
                Err(e) => strerror(e).text(&mut text),
            };
            error!(
                "job {}: can't {} {}: {}; dropping its lines until it can (they are counted)",
                self.job, call, self.path, why,
            );
            self.failing = true;
        }
    }

    /// FILE → FILE.1 → … → FILE.KEEP, the oldest dropped, and a new FILE.
    /// Renames move whatever is at a name — a symlink or a FIFO the job's
    /// user put there is moved, never followed. If FILE cannot be renamed
    /// it is emptied instead, so the cap on disk holds.
    fn rotate(&mut self) {
        // What counts is FILE's own move, the last rename: the older
        // ones may be missing.
        let mut moved = Ok(());
        for pair in self.names.windows(2).rev() {
            moved = crate::files::rename(&pair[0], &pair[1]);
        }
        // `keep 0`: FILE alone.
        if let [file] = &self.names[..] {
            moved = crate::files::unlink(file);
        }
        match moved {
            Ok(()) | Err(Errno::NOENT) => {
                // The size is set by the open that gives a file again:
                // without one it is never read (issue 18, bytes).
                self.fd = None;
                self.retry_at = i64::MIN;
                self.open();
            }
            Err(e) => {
                if !self.cant_rotate {
                    error!(
                        "job {}: can't rotate {}: {}; emptying it instead",
                        self.job,
                        self.path,
                        strerror(e)
                    );
                    self.cant_rotate = true;
                }
                if let Some(fd) = &self.fd {
                    // Lent: no rustix `-1` check (issue 18, bytes).
                    let _ = rustix::fs::ftruncate(crate::sys::lend(fd), 0);
                }
                self.size = 0;
            }
        }
    }
}

/// The helper's stdin: the pipe pmtr gives it.
fn stdin() -> BorrowedFd<'static> {
    #[allow(unsafe_code)]
    // SAFETY: fd 0 is open for the whole run (rt::start makes sure).
    unsafe {
        rustix::stdio::stdin()
    }
}

/// What [`iso8601`] fills in.
const STAMP_TEMPLATE: [u8; STAMP_LEN] = *b"0000-00-00T00:00:00.000+00:00 ";

/// `2025-11-30T16:37:05.123+01:00 ` (ISO 8601, local time with its UTC
/// offset, milliseconds) into `out`, which holds [`STAMP_TEMPLATE`]: the
/// caller's buffer starts as the template (issue 18, bytes).
pub fn iso8601(out: &mut [u8; STAMP_LEN], secs: i64, nanos: u32, zone: &Zone) {
    let ((year, month, day), s, offset) = zone.local_time(secs);
    let off = offset.unsigned_abs() / 60;
    debug_assert!(*out == STAMP_TEMPLATE);
    if offset < 0 {
        out[23] = b'-';
    }
    // Each field's digits, right-aligned on the template's zeros: the
    // values in one array, where each ends in a constant table (issue 18,
    // bytes: not an array of pairs built on the stack).
    let values = [
        year.clamp(0, 9999) as u32,
        month,
        day,
        s / 3600,
        s / 60 % 60,
        s % 60,
        nanos / 1_000_000,
        off / 60,
        off % 60,
    ];
    fill_digits(out, &values, &[4, 7, 10, 13, 16, 19, 23, 26, 29]);
}

/// Writes each of `values` in decimal into `out`, right-aligned to end
/// before its place in `ends`, over a template's zeros (or spaces). One
/// loop for the file stamp and the syslog header (issue 18, bytes).
pub fn fill_digits(out: &mut [u8], values: &[u32], ends: &[u8]) {
    for (i, &end) in ends.iter().enumerate() {
        let (mut end, mut n) = (usize::from(end), values.get(i).copied().unwrap_or(0));
        while n > 0 && end > 0 {
            end -= 1;
            if let Some(b) = out.get_mut(end) {
                *b = b'0' + (n % 10) as u8;
            }
            n /= 10;
        }
    }
}

/// The `metrics to` writer: reads snapshots from pmtr, each framed as
/// `\x01TEXT\0` (the text has no control characters), and keeps PATH
/// holding the newest one, replaced atomically: written to `.NAME.tmp`
/// in the same directory — created anew with O_EXCL|O_NOFOLLOW, so a
/// link planted there is never followed — then renamed over PATH. A
/// reader (node_exporter) sees the old file or the new one, never half of
/// one; the temporary name does not end in `.prom`, so node_exporter skips
/// it. Snapshots that queued while a write waited are skipped but the
/// newest.
fn metrics(path: &str) -> u8 {
    // What this makes is not dropped: the process exits when this
    // returns (issue 18, bytes).
    // `DIR/.` and then the rest of the name pushed on: `join` makes the
    // same of any name that starts with `.`, and there is no second
    // String for the name alone (issue 18, bytes).
    let mut tmp = ManuallyDrop::new(crate::files::join(crate::files::parent(path), "."));
    tmp.push_str(crate::files::file_name(path));
    tmp.push_str(".tmp");
    let mut data: ManuallyDrop<Vec<u8>> = ManuallyDrop::new(Vec::with_capacity(64 * 1024));
    let mut failed: Option<Errno> = None;
    loop {
        // Read straight into `data`: a 16 KB buffer on the stack was 16
        // KB of this process's memory for good (issue 18).
        data.reserve(16 * 1024);
        match rustix::io::read(stdin(), rustix::buffer::spare_capacity(&mut *data)) {
            Ok(0) => return 0,
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(_) => return 1,
        }
        let Some(end) = data.iter().rposition(|&b| b == 0) else {
            continue;
        };
        if let Some(start) = data[..end].iter().rposition(|&b| b == 1) {
            let written = replace(&tmp, path, &data[start + 1..end]);
            // The message picked with its values, logged by one call
            // (issue 18, bytes).
            use crate::packed::Arg;
            let why;
            let said = match (written, failed) {
                (Ok(()), Some(_)) => Some((
                    line_at!(Notice, "metrics file {} written again"),
                    [Arg::new(&path), Arg::new(&path)],
                    None,
                )),
                (Err(e), last) if last != Some(e) => {
                    why = strerror(e);
                    Some((
                        line_at!(
                            Err,
                            "can't write metrics file {}: {}; trying again at the next change"
                        ),
                        [Arg::new(&path), Arg::new(&why)],
                        Some(e),
                    ))
                }
                _ => None,
            };
            if let Some((msg, args, now)) = said {
                crate::syslog::log_msg(msg, &args);
                failed = now;
            }
        }
        // What follows the NUL moves to the front: `copy_within` as in
        // `Log::run`, not a `Drain` of its own (issue 18, bytes).
        let rest = data.len() - (end + 1);
        data.copy_within(end + 1.., 0);
        data.truncate(rest);
    }
}

/// Writes `text` to `tmp`, then renames it over `path`.
fn replace(tmp: &str, path: &str, text: &[u8]) -> Result<(), Errno> {
    // Left by a writer that died mid-way (or planted: unlink removes a
    // link, not what it points to).
    let _ = crate::files::unlink(tmp);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = crate::files::open(tmp, flags, Mode::from_raw_mode(0o644))?;
    let written = write_all(crate::sys::lend(&fd), text);
    drop(fd);
    written
        .and_then(|()| crate::files::rename(tmp, path))
        .inspect_err(|_| {
            let _ = crate::files::unlink(tmp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itoa_writes_every_digit() {
        for n in [0, 7, 10, 4_096, 1_234_567_890, u64::MAX] {
            assert_eq!(itoa(n).as_str(), n.to_string());
        }
    }

    /// A line fits in one file with its stamp and newline, and never holds
    /// more than LINE_MAX; a `max` over 4 GiB (more than a 32-bit usize)
    /// is not cut to its low 32 bits first (it was: `max 4194305K` gave
    /// lines of 1023 bytes on ARM).
    #[test]
    fn line_cap_fits_a_file_for_every_max() {
        let rows: [(u64, usize, usize); 7] = [
            (0, STAMP_LEN, LINE_MAX),
            (4096, 0, 4095),
            (4096, STAMP_LEN, 4096 - STAMP_LEN - 1),
            (1 << 20, STAMP_LEN, LINE_MAX),
            (4 << 30, 0, LINE_MAX),
            ((4 << 30) + 1024, STAMP_LEN, LINE_MAX),
            (u64::MAX, STAMP_LEN, LINE_MAX),
        ];
        for (max, stamp_len, cap) in rows {
            assert_eq!(
                line_cap(max, stamp_len),
                cap,
                "max {max}, stamp {stamp_len}"
            );
        }
    }

    #[test]
    fn stamps_are_iso8601_local_time_with_offset() {
        let mut out = STAMP_TEMPLATE;
        // 2025-11-30T16:37:05Z
        iso8601(&mut out, 1_764_520_625, 123_456_789, &Zone::UTC);
        assert_eq!(&out, b"2025-11-30T16:37:05.123+00:00 ");
        let cet = Zone::from_env(Some("CET-1CEST,M3.5.0,M10.5.0/3"));
        out = STAMP_TEMPLATE;
        iso8601(&mut out, 1_764_520_625, 5_000_000, &cet);
        assert_eq!(&out, b"2025-11-30T17:37:05.005+01:00 ");
        let nyc = Zone::from_env(Some("EST5EDT,M3.2.0,M11.1.0"));
        out = STAMP_TEMPLATE;
        iso8601(&mut out, 1_751_328_000, 0, &nyc);
        assert_eq!(&out, b"2025-06-30T20:00:00.000-04:00 ");
    }

    /// `metrics`' temporary name: `DIR/.` and the rest pushed on is
    /// what `join` makes of the whole name.
    #[test]
    fn metrics_tmp_name_is_joined_as_the_whole_name() {
        use crate::files::{file_name, join, parent};
        for path in [
            "x.prom",
            "/x.prom",
            "d/x.prom",
            "/d/e/x.prom",
            "//x",
            "d//x/",
            "/",
        ] {
            let mut tmp = join(parent(path), ".");
            tmp.push_str(file_name(path));
            tmp.push_str(".tmp");
            let name = format!(".{}.tmp", file_name(path));
            assert_eq!(tmp, join(parent(path), &name), "{path}");
        }
    }

    #[test]
    fn lines_rotate_whole_and_the_oldest_is_dropped() {
        let dir = std::env::temp_dir().join(format!("pmtr-logger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.log").to_str().unwrap().to_string();
        let names = ["", ".1", ".2"]
            .map(|suffix| format!("{path}{suffix}"))
            .to_vec();
        let mut log = Log::new("t", &path, names, 4096, false, Zone::UTC);
        log.open();
        let mut out = Vec::new();
        // 10 lines of 1000 bytes: four fit in a 4096-byte file.
        for i in 0..10u8 {
            let mut line = vec![b'a' + i; 999];
            line.push(b'\n');
            log.line(&mut out, b"", &line, false);
        }
        log.flush(&mut out);
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        // Newest last: a b c d | e f g h | i j.
        assert_eq!(read("app.log").len(), 2000);
        assert_eq!(read("app.log")[0], b'i');
        assert_eq!(read("app.log.1").len(), 4000);
        assert_eq!(read("app.log.1")[0], b'e');
        assert_eq!(read("app.log.2")[0], b'a');
        for _ in 0..4 {
            log.line(&mut out, b"", &[b'z'; 1000], false);
        }
        log.flush(&mut out);
        // a..d dropped: e..h in .2, i j z z in .1, z z in FILE.
        assert_eq!(read("app.log.2")[0], b'e');
        assert_eq!(read("app.log.1")[0], b'i');
        assert_eq!(read("app.log"), [b'z'; 2000]);
        assert!(!dir.join("app.log.3").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
