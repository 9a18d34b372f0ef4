//! A job's output (`out syslog` / `err syslog`) cut into lines: bytes as
//! read from the job's pipe go in, one record per line comes out, at most
//! [`LINES_PER_SEC`] a second on average per stream (SPEC §10: every byte
//! a job prints is untrusted, and the syslog daemon, the SD card behind
//! it and pmtr's own loop are shared with every other job).

use super::{RECORD_MAX, Severity, log_job_piece};
use crate::clock::Instant;

/// Records a job's stream may log per second, on average: far beyond what
/// a job that logs for a person writes, far below what `yes` does.
pub const LINES_PER_SEC: u32 = 100;
// The log lines about it say "100" as text, not formatted at run time
// (issue 18, bytes).
const _: () = assert!(LINES_PER_SEC == 100, "the messages say 100");

/// A stream earns one token for a record every this many nanoseconds.
const NANOS_PER_TOKEN: u64 = 1_000_000_000 / LINES_PER_SEC as u64;

/// Records a stream may log at once after a quiet time: a job's start-up
/// banner or a stack trace goes through whole.
pub const LINE_BURST: u32 = 500;

/// A token bucket: [`LINES_PER_SEC`] tokens a second, [`LINE_BURST`] at
/// most, one per record. What finds it empty is dropped and counted; the
/// count is logged before the next record that gets through, when the
/// stream ends, or a second after the last drop (the loop's deadline,
/// [`JobOutput::report_due`]), whichever comes first.
struct Budget {
    tokens: u32,
    /// When tokens were last added.
    filled_at: Option<Instant>,
    dropped: u32,
}

impl Budget {
    const fn new() -> Budget {
        Budget {
            tokens: LINE_BURST,
            filled_at: None,
            dropped: 0,
        }
    }

    /// Takes a token for one record at `now`; false when there is none.
    fn take(&mut self, now: Instant) -> bool {
        // Whole tokens earned since the last fill (a second's worth at
        // first): one per 10 ms, what `ms * LINES_PER_SEC / 1000` gave
        // (whole milliseconds, then whole hundredths), worked out from
        // the nanoseconds in one division, not through a `Duration`'s
        // seconds and milliseconds (issue 18, bytes).
        // More than a full bucket's worth fills it as a full one does: the
        // time capped there, and halved first, fits in u32, so a 32-bit
        // division (floor(floor(n / 2) / d) is floor(n / 2d)), not a
        // 64-bit one, a helper call on 32-bit ARM (issue 18, bytes).
        const HALF: u64 = NANOS_PER_TOKEN / 2;
        let add = self.filled_at.map_or(LINES_PER_SEC, |at| {
            ((now.nanos_since(at) >> 1).min(u64::from(LINE_BURST) * HALF) as u32) / HALF as u32
        });
        if add > 0 {
            self.tokens = (self.tokens + add).min(LINE_BURST);
            self.filled_at = Some(now);
        } else if self.filled_at.is_none() {
            self.filled_at = Some(now);
        }
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            self.dropped = self.dropped.saturating_add(1);
            false
        }
    }

    /// When the dropped count must be logged even if the job goes quiet.
    fn report_due(&self) -> Option<Instant> {
        match (self.dropped, self.filled_at) {
            (0, _) | (_, None) => None,
            (_, Some(at)) => Some(at + core::time::Duration::from_secs(1)),
        }
    }

    /// Logs how many records were dropped, once there were any; with
    /// `starts`, that dropping starts, after the first drop (and the
    /// count stays). Both warnings through one call, the text chosen
    /// (issue 18, bytes).
    fn report(&mut self, tag: &str, pid: u32, starts: bool) {
        let n = self.dropped;
        if n == 0 || (starts && n != 1) {
            return;
        }
        // The first text has two marks: the count, third, is not written.
        crate::packed::check_marks!(
            "job {} [{}]: more than 100 lines of output a second; dropping lines until it slows down",
            tag,
            pid
        );
        crate::packed::check_marks!(
            "job {} [{}]: {} lines of output dropped (more than 100 a second)",
            tag,
            pid,
            n
        );
        let msg = if starts {
            line_at!(
                Warning,
                "job {} [{}]: more than 100 lines of output a second; dropping lines until it slows down"
            )
        } else {
            self.dropped = 0;
            line_at!(
                Warning,
                "job {} [{}]: {} lines of output dropped (more than 100 a second)"
            )
        };
        use crate::packed::Arg;
        super::log_msg(msg, &[Arg::new(&tag), Arg::new(&pid), Arg::new(&n)]);
    }
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
    budget: Budget,
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
            budget: Budget::new(),
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
                data = data.get(take..).unwrap_or_default();
                continue;
            }
            match newline {
                Some(at) => {
                    self.log_line(tag, pid, severity);
                    data = data.get(at + 1..).unwrap_or_default();
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
        self.budget.report(tag, pid, false);
    }

    /// When the count of dropped lines is due in the log, if any were.
    pub fn report_due(&self) -> Option<Instant> {
        self.budget.report_due()
    }

    /// Logs the count of dropped lines.
    pub fn report_dropped(&mut self, tag: &str, pid: u32) {
        self.budget.report(tag, pid, false);
    }

    /// Logs one record of the stream if its budget allows.
    fn emit(&mut self, tag: &str, pid: u32, severity: Severity, cut: usize, unfinished: bool) {
        if !self.budget.take(Instant::now()) {
            self.budget.report(tag, pid, true);
            return;
        }
        self.budget.report(tag, pid, false);
        let mut line = &self.line[..cut];
        // By a slice pattern, not core's `strip_suffix` (issue 18, bytes).
        if !unfinished && let [stripped @ .., b'\r'] = line {
            line = stripped;
        }
        log_job_piece(tag, pid, severity, line, self.continued, unfinished);
    }

    /// Logs the buffered line, which ended with a newline (or end of file).
    fn log_line(&mut self, tag: &str, pid: u32, severity: Severity) {
        let blank = self.line.is_empty() || &self.line[..] == b"\r";
        // Blank lines carry nothing; a blank end of a split line does.
        if !blank || self.continued {
            self.emit(tag, pid, severity, self.line.len(), false);
        }
        self.line.clear();
        self.continued = false;
    }

    /// Logs a buffer full of one unfinished line, keeping a UTF-8
    /// character cut by the buffer's end for the next piece.
    fn log_full_buffer(&mut self, tag: &str, pid: u32, severity: Severity) {
        let keep = incomplete_utf8_tail(&self.line);
        let cut = self.line.len() - keep;
        self.emit(tag, pid, severity, cut, true);
        self.line.copy_within(cut.., 0);
        self.line.truncate(keep);
        self.continued = true;
    }
}

/// The number of bytes at the end of `b` that start a UTF-8 character
/// whose remaining bytes have not arrived yet.
pub(super) fn incomplete_utf8_tail(b: &[u8]) -> usize {
    for (i, &c) in b.iter().rev().take(3).enumerate() {
        let back = i + 1;
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

    /// Tokens from nanoseconds in one division are what the seconds and
    /// whole milliseconds of a `Duration` gave.
    #[test]
    fn tokens_by_nanoseconds_are_tokens_by_milliseconds() {
        let by_ms = |n: u64| {
            let d = core::time::Duration::from_nanos(n);
            d.as_secs() * u64::from(LINES_PER_SEC)
                + u64::from(d.subsec_millis() * LINES_PER_SEC / 1_000)
        };
        for n in (0..3_000_000_000u64).step_by(999_983).chain([
            9_999_999,
            10_000_000,
            19_999_999,
            u64::MAX,
        ]) {
            assert_eq!(n / NANOS_PER_TOKEN, by_ms(n), "{n}");
        }
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
