//! The event loop: epoll over a signalfd (child exits, SIGTERM/SIGINT,
//! SIGHUP), an inotify descriptor (config and `depends` saves), each
//! started job's exec-status pipe, job output pipes (`out syslog`) and the
//! UDP sockets. Its timeout is the nearest job deadline (anti-spin restart,
//! SIGKILL escalation, `bounce`) or report, so with nothing due pmtr sleeps
//! in `epoll_wait` and makes no system call at all.
//!
//! Steady state allocates nothing: a restart forks with argv/envp built at
//! load time, logging formats into fixed buffers, and the event and read
//! buffers are allocated once.

use crate::clock::Instant;
use crate::prelude::*;
use core::time::Duration;

use rustix::event::epoll;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

use super::job::{self, Action, AfterStop, Ending, JobEvent, JobState, Rules};
use super::watch::Watcher;
use crate::config::{self, JobSpec};
use crate::net::{Control, Net, ReportLine};
use crate::spawn::{self, Launch, StartResult};
use crate::sys;
use crate::syslog::{JobOutput, Severity};

/// Reports go out this often when `report to` is configured (SPEC §8).
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// First wait after `fork` fails; doubles per failure up to the maximum.
const FORK_RETRY_MIN: Duration = Duration::from_secs(1);
const FORK_RETRY_MAX: Duration = Duration::from_secs(60);

// Epoll tokens: kind in the high 32 bits, a job id or socket index below.
const TOKEN_SIGNAL: u64 = 1 << 32;
const TOKEN_INOTIFY: u64 = 2 << 32;
const TOKEN_STATUS: u64 = 3 << 32;
const TOKEN_STDOUT: u64 = 4 << 32;
const TOKEN_STDERR: u64 = 5 << 32;
const TOKEN_NET: u64 = 6 << 32;
/// The control socket's listener, and its clients (table slot below).
pub(super) const TOKEN_CONTROL: u64 = 7 << 32;
const TOKEN_CONTROL_CLIENT: u64 = 8 << 32;
const KIND_MASK: u64 = !0xffff_ffff;

/// A job's output pipe to syslog and its line buffer.
struct OutputPipe {
    /// The read end of the current run's pipe, while it is open.
    fd: Option<OwnedFd>,
    /// Boxed and made when the job is configured: about a kilobyte that
    /// only `out syslog`/`err syslog` jobs need, and no allocation per run.
    lines: Box<JobOutput>,
    pid: u32,
}

impl OutputPipe {
    fn for_output(out: &crate::config::Output) -> Option<OutputPipe> {
        (*out == crate::config::Output::Syslog).then(|| OutputPipe {
            fd: None,
            lines: Box::default(),
            pid: 0,
        })
    }

    /// Takes the pipe of a new run; what is left of the previous run's
    /// last line is logged first.
    fn attach(&mut self, fd: OwnedFd, pid: u32, tag: &str, severity: Severity) {
        self.lines.flush(tag, self.pid, severity);
        self.fd = Some(fd);
        self.pid = pid;
    }
}

/// A job as the loop keeps it: its spec, what it takes to start it, and
/// its state.
pub struct Job {
    id: u32,
    pub spec: JobSpec,
    rules: Rules,
    /// `Err` holds why the job can't start (unknown user, …).
    pub(super) launch: Result<Launch, String>,
    pub state: JobState,
    /// UDP `enable`/`disable`, until the configuration changes.
    pub override_enabled: Option<bool>,
    /// For `wait`: it has exited since it was (re)configured.
    exited_once: bool,
    depends_hash: u64,
    /// When a `depends` file of it was first seen empty (see
    /// `check_depends`).
    depends_empty_since: Option<Instant>,
    status_pipe: Option<OwnedFd>,
    stdout: Option<OutputPipe>,
    stderr: Option<OutputPipe>,
    fork_failures: u32,
    /// When the current (or last) process was started: its runtime is
    /// logged at exit, also when it exits while being stopped.
    started_at: Instant,
    pub restarts: u32,
    pub last_exit: Option<(Ending, Instant)>,
}

impl Job {
    /// What the configuration and UDP control ask for.
    pub fn enabled(&self) -> bool {
        self.override_enabled.unwrap_or(!self.spec.disable)
    }

    fn pid(&self) -> Option<Pid> {
        match self.state {
            JobState::Running { pid, .. } | JobState::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Running or stopping: a process of it may still exist.
    pub(super) fn active(&self) -> bool {
        self.pid().is_some()
    }
}

pub struct Supervisor {
    pub(super) epoll: OwnedFd,
    signals: OwnedFd,
    pub(super) watcher: Watcher,
    /// A save completed while pmtr was reading: rescan without waiting.
    pub(super) pending_rescan: bool,
    pub(super) config_path: String,
    /// Jobs of the configuration in force, in file order.
    pub(super) jobs: Vec<Job>,
    /// Indices into `jobs` in start order (`order`, then file order).
    pub(super) start_order: Vec<usize>,
    /// Jobs removed or replaced by a reload, still stopping.
    pub(super) retiring: Vec<Job>,
    /// Hash of the configuration content last read, good or bad.
    pub(super) config_hash: Option<u64>,
    pub(super) last_read_error: Option<String>,
    pub(super) have_config: bool,
    /// The file is there but could not be read (EMFILE, ENOMEM, EIO):
    /// read it again then, since no inotify event will come for a save
    /// that already happened.
    pub(super) reread_at: Option<Instant>,
    /// When the file was first read empty while jobs run (see `rescan`).
    pub(super) empty_since: Option<Instant>,
    pub(super) environ: alloc::rc::Rc<spawn::Env>,
    pub(super) net: Net,
    /// `pmtr status|stop|start|restart` (issue 9), when its socket opened.
    pub(super) control: Option<crate::control::Server>,
    next_report: Option<Instant>,
    pub(super) shutting_down: bool,
    self_pid: Pid,
    next_id: u32,
    hostname: String,
    events: Vec<epoll::Event>,
}

fn rules(spec: &JobSpec) -> Rules {
    Rules {
        once: spec.once,
        bounce: spec.bounce_secs.map(Duration::from_secs),
        kill_after: Duration::from_secs(spec.kill_after_secs),
    }
}

/// Hash of `depends` files' contents; a missing file hashes as missing, so
/// its appearance counts as a change.
pub(super) fn depends_hash(paths: &[String]) -> u64 {
    paths.iter().fold(0, |h: u64, p| {
        let file = match crate::files::read_file(p, usize::MAX) {
            Ok(bytes) => crate::files::content_hash(&bytes) | 1,
            Err(_) => 0,
        };
        h.rotate_left(5) ^ file
    })
}

impl Supervisor {
    pub fn new(config_path: &str, signals: &sys::SigSet) -> Result<Supervisor, String> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)
            .map_err(|e| format!("can't create epoll: {}", sys::strerror(e)))?;
        let signals = sys::signalfd(signals)
            .map_err(|e| format!("can't create signalfd: {}", sys::strerror(e)))?;
        let watcher =
            Watcher::new().map_err(|e| format!("can't create inotify: {}", sys::strerror(e)))?;
        epoll::add(
            &epoll,
            &signals,
            epoll::EventData::new_u64(TOKEN_SIGNAL),
            epoll::EventFlags::IN,
        )
        .map_err(|e| format!("can't watch signalfd: {}", sys::strerror(e)))?;
        epoll::add(
            &epoll,
            watcher.fd(),
            epoll::EventData::new_u64(TOKEN_INOTIFY),
            epoll::EventFlags::IN,
        )
        .map_err(|e| format!("can't watch inotify: {}", sys::strerror(e)))?;
        let hostname = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        Ok(Supervisor {
            epoll,
            signals,
            watcher,
            pending_rescan: false,
            config_path: config_path.to_string(),
            jobs: Vec::new(),
            start_order: Vec::new(),
            retiring: Vec::new(),
            config_hash: None,
            last_read_error: None,
            reread_at: None,
            empty_since: None,
            have_config: false,
            environ: spawn::Env::inherited(),
            net: Net::default(),
            control: None,
            next_report: None,
            shutting_down: false,
            self_pid: rustix::process::getpid(),
            next_id: 1,
            hostname,
            events: Vec::with_capacity(64),
        })
    }

    pub(super) fn new_job(&mut self, spec: JobSpec, launch: Result<Launch, String>) -> Job {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let (stdout, stderr) = (
            OutputPipe::for_output(&spec.out),
            OutputPipe::for_output(&spec.err),
        );
        Job {
            id,
            rules: rules(&spec),
            depends_hash: depends_hash(&spec.depends),
            depends_empty_since: None,
            spec,
            launch,
            state: JobState::Down,
            override_enabled: None,
            exited_once: false,
            status_pipe: None,
            stdout,
            stderr,
            fork_failures: 0,
            started_at: Instant::now(),
            restarts: 0,
            last_exit: None,
        }
    }

    /// Loads the configuration, then serves events until every job is down
    /// after SIGTERM/SIGINT.
    pub fn run(&mut self) {
        info!("starting (pid {})", self.self_pid.as_raw_nonzero());
        self.rescan(true);
        loop {
            let now = Instant::now();
            self.tick(now);
            self.reconcile(now);
            if self.shutting_down && !self.jobs.iter().chain(&self.retiring).any(Job::active) {
                break;
            }
            // A save landed while pmtr was reading: look again at once.
            let due = if self.pending_rescan {
                Some(Instant::now())
            } else {
                self.next_deadline()
            };
            let timeout = due.map(|at| {
                let d = at.saturating_duration_since(Instant::now());
                // Round up so the deadline has passed when we wake.
                rustix::time::Timespec {
                    tv_sec: d.as_secs() as _,
                    tv_nsec: (d.subsec_nanos() + 999_999) as _,
                }
            });
            self.events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut self.events),
                timeout.as_ref(),
            ) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => {
                    error!("epoll_wait failed: {}; exiting", sys::strerror(e));
                    break;
                }
            }
            let mut rescan = false;
            for i in 0..self.events.len() {
                let token = self.events[i].data.u64();
                match token & KIND_MASK {
                    TOKEN_SIGNAL => self.on_signals(&mut rescan),
                    TOKEN_INOTIFY => rescan |= self.watcher.drain().settled,
                    TOKEN_STATUS => self.on_status_pipe(token as u32),
                    TOKEN_STDOUT => self.on_output(token as u32, false),
                    TOKEN_STDERR => self.on_output(token as u32, true),
                    TOKEN_NET => self.on_datagram(token as u32),
                    TOKEN_CONTROL => self.on_control_accept(TOKEN_CONTROL_CLIENT),
                    TOKEN_CONTROL_CLIENT => self.on_control_client(token as u32 as usize),
                    _ => error!("can't happen: unknown epoll token {token:#x}"),
                }
            }
            if (rescan || self.pending_rescan) && !self.shutting_down {
                self.pending_rescan = false;
                self.rescan(false);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let jobs = self.jobs.iter().chain(&self.retiring);
        let job_deadline = jobs.filter_map(|j| job::deadline(&j.state, &j.rules)).min();
        let own = [self.next_report, self.reread_at, self.net.deadline()]
            .into_iter()
            .flatten()
            .filter(|_| !self.shutting_down)
            .min();
        match (job_deadline, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_signals(&mut self, rescan: &mut bool) {
        while let Some(sig) = sys::read_signal(&self.signals) {
            match sig {
                libc::SIGCHLD => self.reap(),
                libc::SIGHUP => {
                    info!("rescanning configuration (SIGHUP)");
                    self.rescan(true);
                    *rescan = false;
                }
                libc::SIGTERM | libc::SIGINT => self.shut_down(sig),
                other => debug!("ignoring signal {other}"),
            }
        }
    }

    /// SIGTERM/SIGINT: stop every job in parallel; the loop ends once the
    /// last is gone. A second one sends SIGKILL at once.
    fn shut_down(&mut self, sig: i32) {
        let name = if sig == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        let now = Instant::now();
        if self.shutting_down {
            notice!("received {name} again; sending SIGKILL to all jobs");
            for j in self.jobs.iter_mut().chain(self.retiring.iter_mut()) {
                if let JobState::Stopping {
                    pid,
                    leader_gone,
                    then,
                    ..
                } = j.state
                {
                    j.state = JobState::Stopping {
                        pid,
                        kill_at: Some(now),
                        leader_gone,
                        then,
                    };
                }
            }
            return;
        }
        notice!("received {name}; stopping all jobs");
        self.shutting_down = true;
        for i in 0..self.jobs.len() {
            self.step_job(Slot::Job(i), JobEvent::Stop(AfterStop::Down), now);
        }
        for i in 0..self.retiring.len() {
            self.step_job(Slot::Retiring(i), JobEvent::Stop(AfterStop::Down), now);
        }
    }

    /// Collects every exited child: jobs, and orphans reparented to pmtr
    /// (as PID 1 or subreaper), which need no more than reaping.
    fn reap(&mut self) {
        let now = Instant::now();
        loop {
            let (pid, status) = match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some(x)) => x,
                Ok(None) | Err(Errno::CHILD) => break,
                Err(Errno::INTR) => continue,
                Err(e) => {
                    error!("waitpid failed: {}", sys::strerror(e));
                    break;
                }
            };
            let ending = match (status.exit_status(), status.terminating_signal()) {
                (Some(code), _) => Ending::Status(code),
                (None, Some(sig)) => Ending::Signal(sig),
                (None, None) => continue,
            };
            match self.find_by_pid(pid) {
                Some(slot) => {
                    let job = self.job_mut(slot);
                    let ran = now.saturating_duration_since(job.started_at).as_secs();
                    let name = &job.spec.name;
                    let pid = pid.as_raw_nonzero();
                    match ending {
                        Ending::Status(code) => {
                            info!("job {name} [{pid}] exited after {ran} sec: exit status {code}")
                        }
                        Ending::Signal(sig) => {
                            info!("job {name} [{pid}] exited after {ran} sec: signal {sig}")
                        }
                    }
                    job.last_exit = Some((ending, now));
                    job.exited_once = true;
                    self.step_job(slot, JobEvent::Exited(ending), now);
                }
                // Normal as PID 1 or subreaper: not an error (SPEC §7).
                None => debug!("reaped orphan [{}]", pid.as_raw_nonzero()),
            }
        }
        // A stop is over when the job's whole process group is gone.
        for slot in self.slots() {
            let job = self.job_mut(slot);
            if let JobState::Stopping {
                pid,
                leader_gone: true,
                ..
            } = job.state
                && rustix::process::test_kill_process_group(pid) == Err(Errno::SRCH)
            {
                self.step_job(slot, JobEvent::GroupGone, now);
            }
        }
        self.retiring.retain(Job::active);
    }

    fn slots(&self) -> impl Iterator<Item = Slot> + use<> {
        (0..self.jobs.len())
            .map(Slot::Job)
            .chain((0..self.retiring.len()).map(Slot::Retiring))
    }

    fn find_by_pid(&self, pid: Pid) -> Option<Slot> {
        if let Some(i) = self.jobs.iter().position(|j| j.pid() == Some(pid)) {
            return Some(Slot::Job(i));
        }
        self.retiring
            .iter()
            .position(|j| j.pid() == Some(pid))
            .map(Slot::Retiring)
    }

    fn find_by_id(&self, id: u32) -> Option<Slot> {
        if let Some(i) = self.jobs.iter().position(|j| j.id == id) {
            return Some(Slot::Job(i));
        }
        self.retiring
            .iter()
            .position(|j| j.id == id)
            .map(Slot::Retiring)
    }

    fn job_mut(&mut self, slot: Slot) -> &mut Job {
        match slot {
            Slot::Job(i) => &mut self.jobs[i],
            Slot::Retiring(i) => &mut self.retiring[i],
        }
    }

    /// Feeds `event` to a job's state machine and performs the action.
    pub(super) fn step_job(&mut self, slot: Slot, event: JobEvent, now: Instant) {
        let job = self.job_mut(slot);
        let (state, action) = job::step(job.state, event, now, &job.rules);
        if state != job.state {
            debug!(
                "job {}: {} -> {}",
                job.spec.name,
                job.state.name(),
                state.name()
            );
        }
        job.state = state;
        self.perform(slot, action, now);
    }

    fn perform(&mut self, slot: Slot, action: Action, now: Instant) {
        match action {
            Action::Nothing => {}
            Action::Spawn => self.start(slot, now),
            Action::Term(pid) => {
                let job = self.job_mut(slot);
                info!(
                    "sending SIGTERM to job {} [{}]",
                    job.spec.name,
                    pid.as_raw_nonzero()
                );
                signal_group(pid, Signal::TERM);
            }
            Action::Kill(pid) => {
                let job = self.job_mut(slot);
                notice!(
                    "sending SIGKILL to job {} [{}]",
                    job.spec.name,
                    pid.as_raw_nonzero()
                );
                signal_group(pid, Signal::KILL);
            }
            Action::WaitBeforeRestart => {
                let job = self.job_mut(slot);
                notice!(
                    "job {} ran less than {} sec; restarting it in {} sec",
                    job.spec.name,
                    job::QUICK_EXIT.as_secs(),
                    job::QUICK_EXIT.as_secs()
                );
            }
        }
    }

    /// Forks the job; on failure, retries later with a growing wait.
    fn start(&mut self, slot: Slot, now: Instant) {
        if self.shutting_down {
            return;
        }
        let parent = self.self_pid;
        let epoll = self.epoll.as_fd();
        let job = match slot {
            Slot::Job(i) => &mut self.jobs[i],
            Slot::Retiring(i) => &mut self.retiring[i],
        };
        let Ok(launch) = &job.launch else {
            return;
        };
        match spawn::spawn(launch, parent) {
            Ok(started) => {
                let pid = started.pid;
                let raw = pid.as_raw_nonzero().get() as u32;
                info!("started job {} [{raw}]", job.spec.name);
                job.state = JobState::Running { pid, since: now };
                job.started_at = now;
                job.fork_failures = 0;
                job.restarts = job.restarts.wrapping_add(1);
                let id = job.id as u64;
                let _ = epoll::add(
                    epoll,
                    &started.status_pipe,
                    epoll::EventData::new_u64(TOKEN_STATUS | id),
                    epoll::EventFlags::IN,
                );
                job.status_pipe = Some(started.status_pipe);
                if let Some(fd) = started.stdout {
                    let _ = epoll::add(
                        epoll,
                        &fd,
                        epoll::EventData::new_u64(TOKEN_STDOUT | id),
                        epoll::EventFlags::IN,
                    );
                    if let Some(out) = &mut job.stdout {
                        out.attach(fd, raw, &job.spec.name, Severity::Info);
                    }
                }
                if let Some(fd) = started.stderr {
                    let _ = epoll::add(
                        epoll,
                        &fd,
                        epoll::EventData::new_u64(TOKEN_STDERR | id),
                        epoll::EventFlags::IN,
                    );
                    if let Some(out) = &mut job.stderr {
                        out.attach(fd, raw, &job.spec.name, Severity::Err);
                    }
                }
            }
            Err(e) => {
                let retry_in = FORK_RETRY_MIN
                    .saturating_mul(1 << job.fork_failures.min(6))
                    .min(FORK_RETRY_MAX);
                job.fork_failures = job.fork_failures.saturating_add(1);
                error!(
                    "can't start job {}: {e}; retrying in {} sec",
                    job.spec.name,
                    retry_in.as_secs()
                );
                let (state, _) = job::step(
                    job.state,
                    JobEvent::ForkFailed { retry_in },
                    now,
                    &job.rules,
                );
                job.state = state;
            }
        }
    }

    fn on_status_pipe(&mut self, id: u32) {
        let Some(slot) = self.find_by_id(id) else {
            return;
        };
        let job = self.job_mut(slot);
        let Some(pipe) = &job.status_pipe else { return };
        match spawn::read_start_result(pipe) {
            StartResult::Pending => return,
            StartResult::Running => {}
            StartResult::Failed(e) => error!("job {}: {}", job.spec.name, e.describe(&job.spec)),
        }
        // Closing the pipe also takes it out of the epoll set.
        job.status_pipe = None;
    }

    fn on_output(&mut self, id: u32, is_stderr: bool) {
        let Some(slot) = self.find_by_id(id) else {
            return;
        };
        let job = self.job_mut(slot);
        let (pipe, severity) = if is_stderr {
            (&mut job.stderr, Severity::Err)
        } else {
            (&mut job.stdout, Severity::Info)
        };
        let Some(out) = pipe else { return };
        let mut buf = [0u8; 4096];
        while let Some(fd) = &out.fd {
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => {
                    out.lines.flush(&job.spec.name, out.pid, severity);
                    // Closing the pipe also takes it out of the epoll set.
                    out.fd = None;
                }
                Ok(n) => out.lines.feed(&buf[..n], &job.spec.name, out.pid, severity),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return,
                Err(_) => out.fd = None,
            }
        }
    }

    /// Acts on each name as it is read. Collecting them first (into 32
    /// slots) silently dropped every command after the 32nd name of a
    /// burst, so one datagram of unknown names hid a real `disable`.
    /// (`n`, the token's low 32 bits, may also be a resolver socket's:
    /// Net then moves its lookups on and calls no command.)
    fn on_datagram(&mut self, n: u32) {
        let now = Instant::now();
        let jobs = &mut self.jobs;
        let (mut commands, mut unknown) = (0u32, 0u32);
        // Enabled jobs that had finished (exit 33, `once`) need a start;
        // every other change is carried out by `reconcile`.
        let mut wake = Vec::new();
        self.net.on_event(n, now, |control, name| {
            commands += 1;
            let Some(i) = jobs.iter().position(|j| j.spec.name == name) else {
                // The first per batch in full, the rest counted: a flood
                // of names must not flood the log.
                if unknown == 0 {
                    warn!("control: no job named '{name}'");
                }
                unknown += 1;
                return;
            };
            let enable = control == Control::Enable;
            info!(
                "control: {} job {name}",
                if enable { "enabling" } else { "disabling" }
            );
            jobs[i].override_enabled = Some(enable);
            if enable && matches!(jobs[i].state, JobState::Done(_)) && !wake.contains(&i) {
                wake.push(i);
            }
        });
        if unknown > 1 {
            warn!("control: {} more unknown job names ignored", unknown - 1);
        }
        for i in wake {
            self.step_job(Slot::Job(i), JobEvent::Start, now);
        }
        if commands > 0 && self.net.reporting() {
            // Report the change soon rather than in up to 10 s.
            self.next_report = Some(now);
        }
    }

    /// Feeds a tick to every job whose deadline has passed, and sends the
    /// report when due.
    fn tick(&mut self, now: Instant) {
        for slot in self.slots() {
            let job = self.job_mut(slot);
            if job::deadline(&job.state, &job.rules).is_some_and(|at| at <= now) {
                self.step_job(slot, JobEvent::Tick, now);
            }
        }
        if let Some(at) = self.next_report
            && at <= now
            && !self.shutting_down
        {
            self.send_report(now);
            self.next_report = Some(now + REPORT_EVERY);
        }
        if self.reread_at.is_some_and(|at| at <= now) && !self.shutting_down {
            self.reread_at = None;
            self.rescan(false);
        }
        // Name lookups: resends, timeouts, retries (src/net).
        self.net.tick(now);
    }

    fn send_report(&mut self, now: Instant) {
        let lines = self
            .jobs
            .iter()
            .filter(|j| !j.spec.once)
            .map(|j| ReportLine {
                name: &j.spec.name,
                enabled: j.enabled(),
                secs_running: match j.state {
                    JobState::Running { since, .. } => {
                        now.saturating_duration_since(since).as_secs()
                    }
                    _ => 0,
                },
                pid: j
                    .pid()
                    .map(|p| p.as_raw_nonzero().get() as u32)
                    .unwrap_or(0),
                cmd: &j.spec.cmd,
            });
        self.net.send_report(&self.hostname, lines);
    }

    /// Starts the jobs whose turn has come and stops the ones no longer
    /// wanted: config and UDP set what is wanted; this makes it so.
    pub(super) fn reconcile(&mut self, now: Instant) {
        if self.shutting_down {
            return;
        }
        // Jobs after an unfinished `wait` job start only once it exits.
        let mut gate_open = true;
        for k in 0..self.start_order.len() {
            let i = self.start_order[k];
            let job = &self.jobs[i];
            let wanted = job.enabled() && job.launch.is_ok();
            if !wanted {
                if matches!(
                    job.state,
                    JobState::Running { .. } | JobState::Backoff { .. }
                ) {
                    self.step_job(Slot::Job(i), JobEvent::Stop(AfterStop::Down), now);
                }
                continue;
            }
            if gate_open
                && job.state == JobState::Down
                && !self.replaced_still_stopping(&job.spec.name)
            {
                self.step_job(Slot::Job(i), JobEvent::Start, now);
            }
            let job = &self.jobs[i];
            if job.spec.wait && !job.exited_once {
                gate_open = false;
            }
        }
    }

    /// A changed job starts only when its old version is gone.
    pub(super) fn replaced_still_stopping(&self, name: &str) -> bool {
        !self.retiring.is_empty() && self.retiring.iter().any(|j| j.spec.name == name)
    }

    /// Re-registers the UDP sockets for the configuration now in force.
    pub(super) fn configure_net(
        &mut self,
        report: &[config::UdpUrl],
        listen: &[config::UdpUrl],
        now: Instant,
    ) {
        self.net
            .configure(self.epoll.as_fd(), TOKEN_NET, report, listen, now);
        self.next_report = self.net.reporting().then_some(now);
    }

    /// Everything whose change pmtr must notice.
    pub(super) fn rewatch(&mut self) {
        let config = self.config_path.clone();
        let depends: Vec<String> = self
            .jobs
            .iter()
            .flat_map(|j| j.spec.depends.iter().cloned())
            .collect();
        let paths = core::iter::once(config.as_str()).chain(depends.iter().map(String::as_str));
        // A directory created on the way to the file (`mkdir -p` then a
        // write) may have had the file written before its watch was added:
        // read once more, with the watch in place.
        if self.watcher.watch(paths) {
            self.pending_rescan = true;
        }
    }

    /// Restarts running jobs whose `depends` files changed content.
    pub(super) fn check_depends(&mut self, now: Instant) {
        let hashes: Vec<(usize, u64)> = (0..self.jobs.len())
            .filter(|&i| !self.jobs[i].spec.depends.is_empty())
            .map(|i| (i, depends_hash(&self.jobs[i].spec.depends)))
            .collect();
        // As for the configuration: a write under way makes what was read
        // suspect (an empty file mid-save is no change to act on).
        let changes = self.watcher.drain();
        self.pending_rescan |= changes.settled;
        if changes.depends_in_flux {
            return;
        }
        for (i, hash) in hashes {
            if hash == self.jobs[i].depends_hash {
                self.jobs[i].depends_empty_since = None;
                continue;
            }
            // Saved in place, a file is empty between its truncate and
            // its write: that is its new content only once it stays so.
            let empty = self.jobs[i]
                .spec
                .depends
                .iter()
                .any(|p| crate::files::file_size(p) == Some(0));
            if empty {
                let settled = *self.jobs[i].depends_empty_since.get_or_insert(now)
                    + super::reload::EMPTY_SETTLE;
                if now < settled {
                    self.reread_at = Some(self.reread_at.map_or(settled, |at| at.min(settled)));
                    continue;
                }
            }
            self.jobs[i].depends_empty_since = None;
            self.jobs[i].depends_hash = hash;
            if matches!(self.jobs[i].state, JobState::Running { .. }) {
                info!(
                    "job {}: a depends file changed; restarting it",
                    self.jobs[i].spec.name
                );
                self.step_job(Slot::Job(i), JobEvent::Stop(AfterStop::Restart), now);
            }
        }
    }

    pub(super) fn retire(&mut self, mut job: Job, now: Instant) {
        let (state, action) =
            job::step(job.state, JobEvent::Stop(AfterStop::Down), now, &job.rules);
        job.state = state;
        if job.active() {
            self.retiring.push(job);
            let i = self.retiring.len() - 1;
            self.perform(Slot::Retiring(i), action, now);
        }
    }
}

/// Which list a job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Job(usize),
    Retiring(usize),
}

/// `kill(-pgid, sig)`: the job and everything it started in its group.
/// ESRCH means the group is already gone, which is fine.
fn signal_group(pid: Pid, sig: Signal) {
    match rustix::process::kill_process_group(pid, sig) {
        Ok(()) | Err(Errno::SRCH) => {}
        Err(e) => error!(
            "can't signal process group {}: {}",
            pid.as_raw_nonzero(),
            sys::strerror(e)
        ),
    }
}
