//! pmtr's log (SPEC §7). Interim version: stderr only. The full RFC 3164
//! writer to /dev/log keeps this API.

use std::fmt;
use std::io::Write;

/// Syslog severities pmtr uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// Sets up logging once, before the first message: `foreground` echoes
/// every line to stderr; `verbose` (count of `-v`) lets debug lines through.
pub fn init(foreground: bool, verbose: u8) {
    let _ = (foreground, verbose);
}

/// Logs one of pmtr's own messages.
pub fn log(severity: Severity, args: fmt::Arguments<'_>) {
    if severity == Severity::Debug {
        return;
    }
    let _ = writeln!(std::io::stderr(), "pmtr: {args}");
}

/// Logs one line of a job's output (`out syslog` / `err syslog`), tagged
/// with the job's name and PID.
pub fn log_job_line(tag: &str, pid: u32, severity: Severity, line: &[u8]) {
    let _ = writeln!(
        std::io::stderr(),
        "{tag}[{pid}]<{}>: {}",
        severity as u8,
        String::from_utf8_lossy(line)
    );
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

/// Interim: joins a job's output into lines for [`log_job_line`].
#[derive(Default)]
pub struct JobOutput {
    buf: heapless::Vec<u8, 1024>,
}

impl JobOutput {
    pub fn feed(&mut self, data: &[u8], tag: &str, pid: u32, severity: Severity) {
        for &b in data {
            if b == b'\n' || self.buf.is_full() {
                log_job_line(tag, pid, severity, &self.buf);
                self.buf.clear();
            }
            if b != b'\n' {
                let _ = self.buf.push(b);
            }
        }
    }

    pub fn flush(&mut self, tag: &str, pid: u32, severity: Severity) {
        if !self.buf.is_empty() {
            log_job_line(tag, pid, severity, &self.buf);
            self.buf.clear();
        }
    }
}
