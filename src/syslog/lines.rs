//! A job's output (`out syslog` / `err syslog`) cut into lines: bytes as
//! read from the job's pipe go in, one record per line comes out.

use super::{RECORD_MAX, Severity, log_job_piece};

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
pub(super) fn incomplete_utf8_tail(b: &[u8]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

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
