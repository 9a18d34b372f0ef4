//! `print!`, `println!`, `eprint!` and `eprintln!` for a `no_std` pmtr,
//! formatted on the stack (test builds use std's).

use core::fmt;

use rustix::fd::BorrowedFd;

use crate::files::write_all;

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

/// Writes `text` to standard output as it is: no formatting to do, so
/// not through print! (issue 18, bytes).
pub fn out(text: &str) {
    let _ = write_all(stdout(), text.as_bytes());
}

/// Standard output (fd 1), which `rt::start` makes sure is open.
#[cfg_attr(test, allow(dead_code))]
pub fn stdout() -> BorrowedFd<'static> {
    #[allow(unsafe_code)]
    // SAFETY: fd 1 is open for the whole run, and pmtr never closes it.
    unsafe {
        rustix::stdio::stdout()
    }
}

/// Standard error (fd 2), which `rt::start` makes sure is open.
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
    ($($arg:tt)*) => { $crate::rt::print::print_to($crate::rt::print::stdout(), format_args!($($arg)*)) };
}

#[cfg(not(test))]
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => { $crate::rt::print::print_to($crate::rt::print::stdout(), format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(not(test))]
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::rt::print::print_to($crate::rt::print::stderr(), format_args!($($arg)*)) };
}

#[cfg(not(test))]
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::rt::print::print_to($crate::rt::print::stderr(), format_args!("{}\n", format_args!($($arg)*))) };
}
