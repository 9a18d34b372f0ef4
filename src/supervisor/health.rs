//! What a job with `ready`, `check` or `watchdog` carries besides its
//! state (issue 16): its notify socket, its ready-fd pipe, the commands
//! of its `ready when` and `check` (built at load, like the job's own),
//! the probe machine's state and the running probe's pipes, and what
//! `pmtr status --json` shows (the last STATUS= text, the last check).
//!
//! Boxed in the job record and made when the job is configured: a job
//! without these options has none of it, and a restart allocates nothing.

use crate::prelude::*;

use rustix::fd::OwnedFd;
use rustix::io::Errno;

use super::job::{Probe, ProbeKind, ProbeRules};
use super::notify::NotifySocket;
use crate::clock::Instant;
use crate::config::{JobSpec, Readiness, ReadyHow};
use crate::spawn::Launch;

/// Bytes of STATUS= text kept (it is shown, not interpreted).
pub const STATUS_MAX: usize = 128;

/// Bytes kept of a probe's last line of output.
pub const LINE_MAX: usize = 160;

/// What one wakeup reads from a probe's output or a ready fd.
pub const PIPE_READ: usize = 1024;

/// What pmtr reads of one probe run's output, or of a ready fd before
/// its newline; then the pipe is closed (the writer gets EPIPE). A check
/// that prints megabytes costs pmtr this much reading, no more.
pub const PIPE_TOTAL_MAX: usize = 64 * 1024;

/// Text from a job, made safe to show: valid UTF-8 only, control
/// characters as `?`, cut to `N` bytes.
pub type Text<const N: usize> = heapless::String<N>;

/// Replaces `dst` with the printable part of `bytes`. One copy for every
/// capacity, through heapless's view of the string (issue 18, bytes).
pub fn set_text(dst: &mut heapless::string::StringView, bytes: &[u8]) {
    dst.clear();
    let valid = crate::utf8::prefix(bytes);
    for c in valid.chars() {
        let c = if c.is_control() { '?' } else { c };
        if dst.push(c).is_err() {
            break;
        }
    }
}

/// The last check's outcome, for `pmtr status --json`.
pub struct CheckResult {
    pub passed: bool,
    pub at: Instant,
    /// `exit status 1: <last line>`, `timed out after 2 s`, or the line.
    pub text: Text<LINE_MAX>,
}

pub struct Health {
    /// `ready notify`.
    pub notify: Option<NotifySocket>,
    /// `ready fd N`: the read end during a run, until its newline.
    pub ready_pipe: Option<OwnedFd>,
    ready_pipe_read: usize,
    ready_cmd: Option<Launch>,
    check_cmd: Option<Launch>,
    pub probe: Probe,
    pub probe_rules: ProbeRules,
    /// The running probe's output (stdout and stderr) and exec-status pipe.
    pub probe_out: Option<OwnedFd>,
    pub probe_status: Option<crate::spawn::Exec>,
    captured: usize,
    /// The line being read and the last complete one.
    line: heapless::Vec<u8, LINE_MAX>,
    last_line: heapless::Vec<u8, LINE_MAX>,
    pub last_check: Option<CheckResult>,
    /// The last STATUS= text.
    pub status: Text<STATUS_MAX>,
}

/// The readiness options of `spec` when it needs a [`Health`]: what
/// `Health::new` is made from, looked up once (issue 18, bytes).
pub fn needed(spec: &JobSpec) -> Option<&Readiness> {
    spec.readiness
        .as_deref()
        .filter(|r| r.how.is_some() || r.check_every_ms.is_some())
}

impl Health {
    /// Builds what a job's readiness options `r` need (from [`needed`]:
    /// no way out of its own for a job without them; issue 18, bytes);
    /// `socket`: its notify socket path (when it has `ready notify`) and
    /// the owner to give it.
    pub fn new(
        r: &Readiness,
        job: &Launch,
        socket: Option<(String, Option<(u32, u32)>)>,
    ) -> Result<Box<Health>, String> {
        // Boxed here, where it is made: not moved into its box by the
        // caller (issue 18, bytes).
        let mut health = Box::new(Health {
            notify: None,
            ready_pipe: None,
            ready_pipe_read: 0,
            ready_cmd: None,
            check_cmd: None,
            probe: Probe::Off,
            probe_rules: ProbeRules {
                ready_every_ms: r.every_ms(),
                check_every_ms: r.check_every_ms.unwrap_or(1000),
                check_timeout_ms: r.check_timeout_ms(),
            },
            probe_out: None,
            probe_status: None,
            captured: 0,
            line: heapless::Vec::new(),
            last_line: heapless::Vec::new(),
            last_check: None,
            status: Text::new(),
        });
        // The notify socket put where its None is, not moved through an
        // `Option` into the box's literal (issue 18, bytes). A failure
        // drops the box, whose Nones hold nothing.
        if let Some((path, owner)) = socket {
            match NotifySocket::bind(path, owner) {
                Ok(n) => crate::fill(&mut health.notify, Some(n)),
                Err((e, path)) => {
                    return Err(super::config_source::failed(
                        &["can't create notify socket ", &path, ": "],
                        e,
                    ));
                }
            }
        }
        // The probes' launches made in their places in the box, where the
        // Nones just put there are (`get_or_insert_with` on a None: no
        // drop of it): not made on the stack and copied twice, into an
        // `Option` and then into the box (issue 18, bytes).
        if let Some(ReadyHow::When(cmd)) = &r.how {
            health.ready_cmd.get_or_insert_with(|| job.probe(cmd));
        }
        // The check's by `fill`: no test of its None, which the ready
        // probe's call left LLVM unsure of (issue 18, bytes: -8; the
        // ready probe's the same either way).
        if r.check_every_ms.is_some() {
            crate::fill(&mut health.check_cmd, Some(job.probe(&r.check_cmd)));
        }
        Ok(health)
    }

    pub fn has_ready_cmd(&self) -> bool {
        self.ready_cmd.is_some()
    }

    pub fn has_check(&self) -> bool {
        self.check_cmd.is_some()
    }

    /// The command of a probe of `kind`.
    pub fn launch(&self, kind: ProbeKind) -> Option<&Launch> {
        match kind {
            ProbeKind::Ready => self.ready_cmd.as_ref(),
            ProbeKind::Check => self.check_cmd.as_ref(),
        }
    }

    /// A new run of the job: what the last one said no longer holds.
    /// Called before the job's process is spawned: what an earlier run
    /// left queued on the notify socket is dropped now, not once the new
    /// process runs, which may have said READY=1 already (a job that
    /// notifies at once, on a busy machine).
    pub fn before_run(&self) {
        if let Some(n) = &self.notify {
            n.drain();
        }
    }

    pub fn new_run(&mut self, ready_pipe: Option<OwnedFd>) {
        self.ready_pipe = ready_pipe;
        self.ready_pipe_read = 0;
        self.status.clear();
    }

    /// A probe started: its output is captured from here.
    pub fn probe_started(&mut self, out: Option<OwnedFd>, status: crate::spawn::Exec) {
        // In place of the Nones the last probe's exit left (the loop
        // closes its output and takes its status then): no drops of
        // earlier ones (issue 18, bytes).
        crate::fill(&mut self.probe_out, out);
        crate::fill(&mut self.probe_status, Some(status));
        self.captured = 0;
        self.line.clear();
        self.last_line.clear();
    }

    /// One read of the probe's output; returns whether it read anything.
    /// Only the last line is kept; past [`PIPE_TOTAL_MAX`] the pipe is
    /// closed.
    pub fn read_probe(&mut self) -> bool {
        let Some(fd) = &self.probe_out else {
            return false;
        };
        // Not zeroed first: the read hands back only the bytes it
        // filled (issue 18, bytes).
        let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); PIPE_READ];
        // End of file, an error and the last byte allowed close the pipe
        // at one place (issue 18, bytes).
        let (read, done) = match rustix::io::read(fd, &mut buf) {
            Ok((got, _)) if !got.is_empty() => {
                for &b in &*got {
                    if b == b'\n' {
                        if !self.line.is_empty() {
                            // Copied over, not taken: no whole buffer
                            // moved through a temporary (issue 18,
                            // bytes). Both have the same capacity: it
                            // fits.
                            self.last_line.clear();
                            let _ = self.last_line.extend_from_slice(&self.line);
                            self.line.clear();
                        }
                    } else {
                        let _ = self.line.push(b);
                    }
                }
                self.captured += got.len();
                (true, self.captured >= PIPE_TOTAL_MAX)
            }
            Err(Errno::AGAIN | Errno::INTR) => return false,
            Ok(_) | Err(_) => (false, true),
        };
        if done {
            self.probe_out = None;
        }
        read
    }

    /// The probe's last line of output (one cut short counts).
    pub fn probe_line(&self) -> Text<LINE_MAX> {
        let mut text = Text::new();
        let line = if self.line.is_empty() {
            &self.last_line
        } else {
            &self.line
        };
        set_text(text.as_mut_view(), line);
        text
    }

    /// One read of the ready fd; `Some(true)` at the newline that makes
    /// the job ready. The pipe is closed then (as s6 does), at EOF, and
    /// after [`PIPE_TOTAL_MAX`] bytes without a newline.
    pub fn read_ready_pipe(&mut self) -> Option<bool> {
        let fd = self.ready_pipe.as_ref()?;
        let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); PIPE_READ];
        let (ready, done) = match rustix::io::read(fd, &mut buf) {
            Ok(([], _)) => (false, true),
            Ok((got, _)) => {
                self.ready_pipe_read += got.len();
                let ready = crate::has_byte(got, b'\n');
                (ready, ready || self.ready_pipe_read >= PIPE_TOTAL_MAX)
            }
            Err(Errno::AGAIN | Errno::INTR) => (false, false),
            Err(_) => (false, true),
        };
        if done {
            self.ready_pipe = None;
        }
        Some(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an earlier run left on the notify socket is dropped before
    /// the next process is spawned, never after: a new process that says
    /// READY=1 at once (before pmtr is back from the spawn, on a busy
    /// machine) is not made to wait for a readiness it already gave.
    #[test]
    fn a_runs_own_ready_survives_and_an_old_one_does_not() {
        use super::super::notify::{DATAGRAM_MAX, Recv};
        let dir = std::env::temp_dir().join(format!("pmtr-health-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("1");
        let path = path.to_str().unwrap();
        let text = "job {\n name t\n cmd /bin/true\n ready notify\n}\n";
        let spec = crate::config::parse_bytes("t", text.as_bytes())
            .unwrap()
            .jobs
            .remove(0);
        let env = alloc::rc::Rc::new(crate::spawn::Env::inherited());
        let launch = Launch::logger(&["/bin/true"], None, &env).unwrap();
        let mut h = Health::new(
            needed(&spec).unwrap(),
            &launch,
            Some((path.to_string(), None)),
        )
        .unwrap();
        let client = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let mut buf = [core::mem::MaybeUninit::uninit(); DATAGRAM_MAX];

        client.send_to(b"READY=1", path).unwrap();
        h.before_run();
        let sock = h.notify.as_ref().unwrap();
        assert!(matches!(sock.recv(&mut buf), Ok(Recv::Empty)));
        // Sent by the new process before the loop took its spawn in.
        client.send_to(b"READY=1", path).unwrap();
        h.new_run(None);
        let sock = h.notify.as_ref().unwrap();
        assert!(matches!(
            sock.recv(&mut buf),
            Ok(Recv::Datagram(b"READY=1"))
        ));
        drop(h);
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn text_is_made_safe_and_cut() {
        let mut t: Text<8> = Text::new();
        set_text(t.as_mut_view(), b"ok\x1b[1m\tz");
        assert_eq!(t.as_str(), "ok?[1m?z");
        set_text(t.as_mut_view(), "ééééé".as_bytes());
        assert_eq!(t.as_str(), "éééé");
        set_text(t.as_mut_view(), b"ab\xffcd");
        assert_eq!(t.as_str(), "ab");
        // A character cut off at the end goes too; nothing gives nothing.
        set_text(t.as_mut_view(), b"ab\xe2\x82");
        assert_eq!(t.as_str(), "ab");
        set_text(t.as_mut_view(), b"\xffab");
        assert_eq!(t.as_str(), "");
        set_text(t.as_mut_view(), b"");
        assert_eq!(t.as_str(), "");
    }
}
