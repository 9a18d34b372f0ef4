//! Prometheus metrics (issue 17): one formatter, [`render`], for the
//! `metrics to FILE` file and for `pmtr status --prometheus`, and the
//! pacing of the file ([`MetricsFile`]).
//!
//! The file is written on every job state change and configuration
//! reload, at most once a second: the first change after a quiet second
//! is written at once, later ones are merged into one write a second
//! after the last. There is a deadline only while a write is pending, so
//! an idle pmtr still makes no system call. pmtr does not write the file
//! itself — a stalled SD card would stop the loop in `write` or `rename` —
//! but hands each snapshot to the metrics writer (`src/logger.rs`) over a
//! pipe it never waits on: if the writer is stuck, the pipe fills, pmtr
//! keeps the rest of the snapshot and sends it when the pipe has room
//! (EPOLLOUT), and changes meanwhile make one newer snapshot after it.
//! Rendering reuses one buffer, which grows only with the number of jobs.

use crate::clock::Instant;
use crate::packed::{Packed, packed};
use crate::prelude::*;
use core::time::Duration;

use rustix::event::epoll;
use rustix::fd::BorrowedFd;
use rustix::io::Errno;

use super::control::state_of;
use super::job::{Ending, JobState, Up};
use super::jobs::{Job, Jobs};
use crate::control::protocol::State;

/// At most one write of the file per this.
pub const EVERY: Duration = Duration::from_secs(1);

/// What pmtr counts about its configuration.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Times a configuration with new content was read, applied or not
    /// (the first one included).
    pub reloads: u64,
    /// Of those, the ones with errors (or that could not be read).
    pub failures: u64,
    /// When a configuration was last applied (seconds since the epoch).
    pub last_good: Option<i64>,
}

/// The wall clock, seconds since the epoch.
pub fn wall_now() -> i64 {
    crate::clock::wall().0
}

/// The families' names, types and helps, three words a row (each ended
/// by a NUL): pmtr's own ([`OWN_ROWS`] of them), then the per-job ones
/// of [`JOB_METRICS`], in its order, then `pmtr_build_info` and
/// `pmtr_job_state`. One list, not an array of `&str`s: a pointer and a
/// length a word (issue 18, bytes).
pub(crate) const METRIC_FAMILY_TEXTS: &str = concat!(
    "pmtr_jobs_configured\0gauge\0Jobs in the configuration in force.\0",
    "pmtr_config_reloads_total\0counter\0Configurations read with new content, applied or rejected.\0",
    "pmtr_config_reload_failures_total\0counter\0Configurations rejected for errors, or that could not be read.\0",
    "pmtr_config_last_reload_success_timestamp_seconds\0gauge\0When a configuration was last applied, in seconds since the epoch.\0",
    "pmtr_job_up\0gauge\01 while the job's process runs, else 0.\0",
    "pmtr_job_starts_total\0counter\0Processes of the job started since it was (re)configured.\0",
    "pmtr_job_quick_exits_total\0counter\0Exits of the job's process before its quick-exit time (10 s by default), since it was (re)configured.\0",
    "pmtr_job_ready\0gauge\01 while the job runs and is ready (at once without a ready option), else 0.\0",
    "pmtr_job_healthy\0gauge\0For a job with a check: 1 while it runs and its checks pass, else 0.\0",
    "pmtr_job_last_exit_status\0gauge\0Exit status of the job's last process, when it exited rather than was killed.\0",
    "pmtr_job_last_exit_signal\0gauge\0Signal that ended the job's last process, 0 when it exited.\0",
    "pmtr_job_start_time_seconds\0gauge\0When the job's last process started, in seconds since the epoch.\0",
    "pmtr_build_info\0gauge\0pmtr's version, in the label.\0",
    "pmtr_job_state\0gauge\01 for the state the job is in (as pmtr status names it), 0 for the others.\0",
);
/// [`METRIC_FAMILY_TEXTS`], packed (see [`crate::packed`]), unpacked
/// once per [`render`].
const FAMILIES: Packed = packed!(METRIC_FAMILY_TEXTS);

/// The rows of [`FAMILIES`] after the per-job ones: families whose
/// samples are not a value each (a version label, one sample a state).
const BUILD_ROW: usize = OWN_ROWS + JOB_METRICS;
const STATE_ROW: usize = BUILD_ROW + 1;

/// The rows of [`FAMILIES`] that are pmtr's own; each has a sample once
/// it has a value (see [`render`]).
const OWN_ROWS: usize = 4;

/// Word `k` (0 name, 1 type, 2 help) of row `row` of `families`, the
/// unpacked [`FAMILIES`]. Inlined: it only passes the call on (issue
/// 18, bytes).
#[inline(always)]
fn word(families: &str, row: usize, k: usize) -> &str {
    crate::config::nth_word(families, 3 * row + k)
}

/// The per-job metrics, in the order of their rows in [`FAMILIES`]
/// (`pmtr_job_state` follows the first, see [`render`]).
const JOB_METRICS: usize = 8;

/// The value of per-job metric `row` for job `j`, if any. One `match`,
/// not a table of functions: one function, no pointer per row (issue
/// 18, bytes).
fn job_metric(row: usize, j: &Job, wall: i64, now: Instant) -> Option<i64> {
    let value = match row {
        // pmtr_job_up
        0 => i64::from(matches!(j.state, JobState::Running { .. })),
        // pmtr_job_starts_total
        1 => i64::from(j.history.starts),
        // pmtr_job_quick_exits_total
        2 => i64::from(j.history.quick_exit_count),
        // pmtr_job_ready
        3 => i64::from(matches!(
            j.state,
            JobState::Running {
                up: Up::Ready { .. } | Up::Unhealthy { .. },
                ..
            }
        )),
        // pmtr_job_healthy: for a job with a check.
        4 => {
            j.health.as_ref().filter(|h| h.has_check())?;
            i64::from(matches!(
                j.state,
                JobState::Running {
                    up: Up::Ready { .. },
                    ..
                }
            ))
        }
        // pmtr_job_last_exit_status
        5 => match j.history.last_exit? {
            (Ending::Status(n), _) => i64::from(n),
            (Ending::Signal(_), _) => return None,
        },
        // pmtr_job_last_exit_signal
        6 => match j.history.last_exit? {
            (Ending::Status(_), _) => 0,
            (Ending::Signal(n), _) => i64::from(n),
        },
        // pmtr_job_start_time_seconds
        _ => wall - now.secs_since(j.history.last_start?) as i64,
    };
    Some(value)
}

/// Appends the Prometheus text exposition format (version 0.0.4) for the
/// jobs `include` lists (by index; `None`: every job) and pmtr itself to
/// `out`. A family with no sample (no job has exited yet) is left out
/// whole. A list, not a `&dyn Fn`: no closures and vtables (issue 18).
/// The job table by reference, its list read here: one register, not
/// two, so `now` is not passed on the stack (issue 18, bytes).
pub fn render(
    out: &mut Vec<u8>,
    jobs: &Jobs,
    include: Option<&[usize]>,
    counts: &Counts,
    now: Instant,
) {
    let jobs = jobs.current();
    let wall = wall_now();
    // As long as the text, not `MAX_TEXT`: a frame under a page needs
    // no stack probe; not zeroed first, `unpack` hands back only what
    // it wrote (issue 18, bytes).
    let mut buf = crate::packed::room::<{ FAMILIES.unpacked_len() }>();
    let families = FAMILIES.unpack(&mut buf);
    // Whether job `i` is in the page: asked in plain loops over the
    // jobs, not through an iterator adapter of its own (issue 18, bytes).
    let picked = |i: usize| include.is_none_or(|picked| picked.contains(&i));
    family(out, families, BUILD_ROW);
    out.extend_from_slice(
        concat!(
            "pmtr_build_info{version=\"",
            env!("CARGO_PKG_VERSION"),
            "\"} 1\n"
        )
        .as_bytes(),
    );
    // pmtr's own families: their text a constant table, only the values
    // built here, one for each row (issue 18, bytes).
    // Each value picked by a `match` on its row, not an array of
    // `Option`s built first (issue 18, bytes).
    for row in 0..OWN_ROWS {
        let v = match row {
            0 => jobs.len() as i64,
            1 => counts.reloads as i64,
            2 => counts.failures as i64,
            _ => match counts.last_good {
                Some(v) => v,
                None => continue,
            },
        };
        let name = family(out, families, row);
        sample(out, name, None, None, v);
    }
    // No job in the page: only without jobs, since `include`, when
    // given, lists the current jobs a request named, at least one (an
    // unknown name is answered before the page is rendered). No loop
    // asking each job (issue 18, bytes).
    debug_assert!(include.is_none_or(|p| !p.is_empty() && p.iter().all(|&i| i < jobs.len())));
    if jobs.is_empty() {
        return;
    }
    for row in 0..JOB_METRICS {
        // pmtr_job_state has a second label, so its samples are not
        // job_metric's values; it comes second, after pmtr_job_up.
        if row == 1 {
            family(out, families, STATE_ROW);
            for (i, j) in jobs.iter().enumerate() {
                if !picked(i) {
                    continue;
                }
                let current = state_of(j, now).state;
                for &state in &State::ALL {
                    let value = i64::from(state == current);
                    sample(
                        out,
                        "pmtr_job_state",
                        Some(&j.spec.name),
                        Some(state),
                        value,
                    );
                }
            }
        }
        // The family's name as its head gave it, empty until then: no
        // lookup of its own, no flag (issue 18, bytes).
        let mut name = "";
        for (i, j) in jobs.iter().enumerate() {
            if !picked(i) {
                continue;
            }
            if let Some(v) = job_metric(row, j, wall, now) {
                if name.is_empty() {
                    name = family(out, families, OWN_ROWS + row);
                }
                sample(out, name, Some(&j.spec.name), None, v);
            }
        }
    }
}

/// `# HELP` and `# TYPE` of the family of row `row` of [`FAMILIES`]:
/// its words read here, not at each call (issue 18, bytes). Returns
/// its name, for its samples.
fn family<'f>(out: &mut Vec<u8>, families: &'f str, row: usize) -> &'f str {
    let name = word(families, row, 0);
    // The two lines by one loop over their tags and words, not a list of
    // nine pieces built on the stack (issue 18, bytes).
    for &(tag, k) in &[("# HELP ", 2), ("\n# TYPE ", 1)] {
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(word(families, row, k).as_bytes());
    }
    out.push(b'\n');
    name
}

/// `name{job="…",state="…"} value`. The state by its value, its word
/// looked up here: one register less at each call (issue 18, bytes).
fn sample(out: &mut Vec<u8>, name: &str, job: Option<&str>, state: Option<State>, value: i64) {
    out.extend_from_slice(name.as_bytes());
    if let Some(job) = job {
        out.extend_from_slice(b"{job=\"");
        // Label values escape `\`, `"` and newline; a job name has no
        // control characters (the parser refuses them), so nothing else.
        for &b in job.as_bytes() {
            if b == b'\\' || b == b'"' {
                out.push(b'\\');
            }
            out.push(b);
        }
        // The closing quote joined with what follows it: fewer calls
        // (issue 18, bytes).
        if let Some(state) = state {
            out.extend_from_slice(b"\",state=\"");
            out.extend_from_slice(state.keyword().as_bytes());
        }
        out.extend_from_slice(b"\"}");
    }
    // The space, and the minus sign when negative: one copy of a
    // length picked, not a branch between two (issue 18, bytes).
    out.extend_from_slice(b" -".get(..1 + usize::from(value < 0)).unwrap_or_default());
    out.extend_from_slice(crate::logger::itoa(value.unsigned_abs()).as_bytes());
    out.push(b'\n');
}

/// The `metrics to` file: when its next snapshot is due, and the snapshot
/// on its way to the writer.
pub struct MetricsFile {
    pub path: String,
    /// The snapshot being sent, framed `\x01TEXT\0` (see `logger.rs`).
    buf: Vec<u8>,
    /// Bytes of `buf` already in the pipe.
    sent: usize,
    /// A change waits to be written then.
    due: Option<Instant>,
    /// When the last snapshot was made.
    last: Option<Instant>,
    /// The pipe is in the epoll set for EPOLLOUT.
    watching: bool,
}

impl MetricsFile {
    pub fn new(path: String, now: Instant) -> MetricsFile {
        MetricsFile {
            path,
            buf: Vec::new(),
            sent: 0,
            due: Some(now),
            last: None,
            watching: false,
        }
    }

    /// Something the file shows changed at `now`.
    pub fn changed(&mut self, now: Instant) {
        if self.due.is_none() {
            self.due = Some(self.last.map_or(now, |at| now.max(at + EVERY)));
        }
    }

    /// A change that waits is written now, not a second after the last
    /// (pmtr is exiting: this is the last snapshot).
    pub fn hurry(&mut self, now: Instant) {
        self.due = self.due.map(|at| at.min(now));
    }

    /// When the loop must wake for this file: while a change waits and no
    /// snapshot is still on its way.
    pub fn deadline(&self) -> Option<Instant> {
        self.due.filter(|_| !self.sending())
    }

    fn sending(&self) -> bool {
        self.sent < self.buf.len()
    }

    /// The buffer for a new snapshot when one is due at `now` (the caller
    /// renders into it, then calls [`MetricsFile::send`]).
    pub fn take_due(&mut self, now: Instant) -> Option<&mut Vec<u8>> {
        if self.deadline().is_none_or(|at| at > now) {
            return None;
        }
        self.due = None;
        self.last = Some(now);
        self.buf.clear();
        self.buf.push(1);
        self.sent = 0;
        Some(&mut self.buf)
    }

    /// Sends what the pipe takes of the snapshot (ending it first if it
    /// was just rendered); the rest waits for EPOLLOUT on `pipe`, which is
    /// in the epoll set only while something waits.
    pub fn send(&mut self, pipe: BorrowedFd<'_>, epoll: BorrowedFd<'_>, token: u64) {
        if self.buf.last() != Some(&0) {
            self.buf.push(0);
        }
        while self.sending() {
            // `sent` is within `buf`: `get` only spares a bounds check.
            let Some(rest) = self.buf.get(self.sent..) else {
                break;
            };
            match rustix::io::write(pipe, rest) {
                Ok(n) => self.sent += n,
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(e) => {
                    error!(
                        "can't hand the metrics to their writer: {}",
                        crate::sys::strerror(e)
                    );
                    self.sent = self.buf.len();
                }
            }
        }
        let waiting = self.sending();
        if waiting != self.watching {
            let _ = if waiting {
                epoll::add(
                    epoll,
                    pipe,
                    epoll::EventData::new_u64(token),
                    epoll::EventFlags::OUT,
                )
            } else {
                epoll::delete(epoll, pipe)
            };
            self.watching = waiting;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_job_names_and_print_negative_numbers() {
        let mut out = Vec::new();
        sample(&mut out, "m", Some("a\"b\\c"), Some(State::Running), -127);
        sample(&mut out, "n", None, None, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "m{job=\"a\\\"b\\\\c\",state=\"running\"} -127\nn 0\n"
        );
    }

    #[test]
    fn families_are_headed_from_their_rows() {
        let mut out = Vec::new();
        let counts = Counts {
            reloads: 2,
            failures: 1,
            last_good: None,
        };
        render(&mut out, &Jobs::default(), None, &counts, Instant::now());
        let expected = concat!(
            "# HELP pmtr_build_info pmtr's version, in the label.\n",
            "# TYPE pmtr_build_info gauge\n",
            "pmtr_build_info{version=\"",
            env!("CARGO_PKG_VERSION"),
            "\"} 1\n",
            "# HELP pmtr_jobs_configured Jobs in the configuration in force.\n",
            "# TYPE pmtr_jobs_configured gauge\n",
            "pmtr_jobs_configured 0\n",
            "# HELP pmtr_config_reloads_total Configurations read with new content, applied or rejected.\n",
            "# TYPE pmtr_config_reloads_total counter\n",
            "pmtr_config_reloads_total 2\n",
            "# HELP pmtr_config_reload_failures_total Configurations rejected for errors, or that could not be read.\n",
            "# TYPE pmtr_config_reload_failures_total counter\n",
            "pmtr_config_reload_failures_total 1\n",
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let mut buf = [0; FAMILIES.unpacked_len()];
        let families = FAMILIES.unpack(&mut buf);
        assert_eq!(word(families, STATE_ROW, 0), "pmtr_job_state");
        assert_eq!(
            word(families, STATE_ROW, 2),
            "1 for the state the job is in (as pmtr status names it), 0 for the others."
        );
    }

    #[test]
    fn changes_are_written_at_once_then_at_most_once_a_second() {
        let t0 = Instant::now();
        let mut m = MetricsFile::new("/x".into(), t0);
        assert_eq!(m.deadline(), Some(t0));
        let sent = |m: &mut MetricsFile| m.sent = m.buf.len();
        assert!(m.take_due(t0).is_some());
        assert_eq!(
            m.deadline(),
            None,
            "no deadline while the snapshot is on its way"
        );
        sent(&mut m);
        assert_eq!(m.deadline(), None, "no deadline while nothing changed");
        let t1 = t0 + Duration::from_millis(300);
        m.changed(t1);
        m.changed(t1 + Duration::from_millis(100));
        assert_eq!(m.deadline(), Some(t0 + EVERY));
        assert!(m.take_due(t1).is_none());
        assert!(m.take_due(t0 + EVERY).is_some());
        sent(&mut m);
        let t2 = t0 + Duration::from_secs(5);
        m.changed(t2);
        assert_eq!(
            m.deadline(),
            Some(t2),
            "a change after a quiet second goes at once"
        );
    }
}
