//! The few things pmtr took from std, over rustix (see `sys/start.rs` for
//! why pmtr is `no_std`): the monotonic clock, whole-file reads and
//! writes, paths as strings, and printing to stdout/stderr.

use core::fmt;
use core::time::Duration;

use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::prelude::*;

/// A point on the monotonic clock (`CLOCK_MONOTONIC`): what job deadlines
/// and uptimes are measured on, unaffected by changes to the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// `clock_gettime(CLOCK_MONOTONIC)` (through the vDSO: no system call).
    pub fn now() -> Instant {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        Instant(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d))
    }
}

/// FNV-1a, 64 bits: tells whether a file's content changed since it was
/// last read. Not for untrusted keys (no hash tables here).
pub fn content_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether `path` names a regular file, and its size (following symlinks).
pub fn file_size(path: &str) -> Option<u64> {
    let meta = rustix::fs::stat(path).ok()?;
    (rustix::fs::FileType::from_raw_mode(meta.st_mode) == rustix::fs::FileType::RegularFile)
        .then_some(meta.st_size as u64)
}

/// Reads a whole file of at most `limit` bytes; a longer one is `EFBIG`.
pub fn read_file(path: &str, limit: usize) -> Result<Vec<u8>, Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    read_all(fd.as_fd(), limit)
}

/// Reads `fd` to its end, at most `limit` bytes; more is `EFBIG`.
pub fn read_all(fd: BorrowedFd<'_>, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match rustix::io::read(fd, &mut chunk) {
            Ok(0) => return Ok(data),
            Ok(n) if data.len() + n > limit => return Err(Errno::FBIG),
            Ok(n) => data.extend_from_slice(&chunk[..n]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Creates (or truncates) `path` with `mode` and writes `data` to it.
pub fn write_file(path: &str, data: &[u8], mode: u32) -> Result<(), Errno> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(mode))?;
    write_all(fd.as_fd(), data)
}

/// Writes all of `data`, retrying after signals and short writes.
pub fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The directory part of a path (`/etc` for `/etc/pmtr.conf`, `.` for a
/// bare name, `/` for `/x`), like `dirname`.
pub fn parent(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => "/",
        Some(i) => trimmed[..i].trim_end_matches('/'),
        None if path.starts_with('/') => "/",
        None => ".",
    }
}

/// The last component of a path (`pmtr.conf` for `/etc/pmtr.conf`).
pub fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `dir/name`; just `name` if it is absolute.
pub fn join(dir: &str, name: &str) -> String {
    if name.starts_with('/') || dir.is_empty() {
        return name.to_string();
    }
    let mut out = String::with_capacity(dir.len() + 1 + name.len());
    out.push_str(dir);
    if !dir.ends_with('/') {
        out.push('/');
    }
    out.push_str(name);
    out
}

/// Formats into a buffer on the stack and writes it out whenever it fills
/// and at the end, so a line shorter than the buffer is one `write` and
/// does not interleave with the jobs' output mid-line. It never allocates:
/// the panic handler prints with it, also when the heap is exhausted.
#[cfg_attr(test, allow(dead_code))]
pub fn print_to(fd: BorrowedFd<'static>, args: fmt::Arguments<'_>) {
    let mut out = Buffered {
        fd,
        buf: heapless::Vec::new(),
    };
    let _ = fmt::write(&mut out, args);
    out.flush();
}

struct Buffered {
    fd: BorrowedFd<'static>,
    buf: heapless::Vec<u8, 1024>,
}

impl Buffered {
    fn flush(&mut self) {
        let _ = write_all(self.fd, &self.buf);
        self.buf.clear();
    }
}

impl fmt::Write for Buffered {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            if self.buf.is_full() {
                self.flush();
            }
            let n = rest.len().min(self.buf.capacity() - self.buf.len());
            let _ = self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        Ok(())
    }
}

/// Standard output (fd 1), which `sys::start` makes sure is open.
#[cfg_attr(test, allow(dead_code))]
pub fn stdout() -> BorrowedFd<'static> {
    #[allow(unsafe_code)]
    // SAFETY: fd 1 is open for the whole run, and pmtr never closes it.
    unsafe {
        rustix::stdio::stdout()
    }
}

/// Standard error (fd 2), which `sys::start` makes sure is open.
pub fn stderr() -> BorrowedFd<'static> {
    #[allow(unsafe_code)]
    // SAFETY: fd 2 is open for the whole run, and pmtr never closes it.
    unsafe {
        rustix::stdio::stderr()
    }
}

/// `print!` for a `no_std` pmtr; test builds use std's.
#[cfg(not(test))]
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::os::print_to($crate::os::stdout(), format_args!($($arg)*)) };
}

#[cfg(not(test))]
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => { $crate::os::print_to($crate::os::stdout(), format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(not(test))]
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::os::print_to($crate::os::stderr(), format_args!($($arg)*)) };
}

#[cfg(not(test))]
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::os::print_to($crate::os::stderr(), format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_and_file_name_split_like_dirname_and_basename() {
        assert_eq!(parent("/etc/pmtr.conf"), "/etc");
        assert_eq!(parent("/pmtr.conf"), "/");
        assert_eq!(parent("pmtr.conf"), ".");
        assert_eq!(parent("a/b/"), "a");
        assert_eq!(parent("a//b"), "a");
        assert_eq!(file_name("/etc/pmtr.conf"), "pmtr.conf");
        assert_eq!(file_name("pmtr.conf"), "pmtr.conf");
        assert_eq!(file_name("/etc/"), "etc");
    }

    #[test]
    fn join_keeps_absolute_names() {
        assert_eq!(join("/etc", "pmtr.conf"), "/etc/pmtr.conf");
        assert_eq!(join("/etc/", "pmtr.conf"), "/etc/pmtr.conf");
        assert_eq!(join("/etc", "/run/x"), "/run/x");
    }

    #[test]
    fn read_file_reads_whole_files_and_refuses_big_ones() {
        let dir = std::env::temp_dir().join(format!("pmtr-os-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let path = path.to_str().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        write_file(path, &data, 0o600).unwrap();
        assert_eq!(read_file(path, 5000).unwrap(), data);
        assert_eq!(read_file(path, 4999), Err(Errno::FBIG));
        assert_eq!(read_file("/nonexistent/x", 10), Err(Errno::NOENT));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(t1.saturating_duration_since(t0), Duration::from_secs(3));
        assert_eq!(t0.saturating_duration_since(t1), Duration::ZERO);
        assert!(t1 > t0);
    }
}
