//! The event loop: epoll over a signalfd (child exits, SIGTERM/SIGINT,
//! SIGHUP), the configuration's inotify descriptor, each started job's
//! exec-status pipe, job output pipes (`out syslog`), the UDP sockets and
//! the control socket. Its timeout is the nearest deadline (a job's
//! restart, SIGKILL or `bounce`, the report, a configuration read), so with
//! nothing due pmtr sleeps in `epoll_wait` and makes no system call at all.
//!
//! Each turn: feed due deadlines to the jobs, make the jobs what is wanted
//! ([`Supervisor::reconcile`]), sleep, then dispatch what woke the loop.
//! Every source gets a bounded amount of work per wakeup (one read of a
//! pipe, a few datagrams or connections); epoll is level-triggered, so
//! what is left brings the loop straight back, after the other sources
//! had their turn (SPEC §10).
//!
//! The loop never writes a job's state: it feeds events to the job's
//! state machine (`job.rs`) and performs the action that comes back.
//!
//! Steady state allocates nothing: a restart spawns with argv/envp built
//! at load time, logging formats into fixed buffers, and the event and
//! read buffers are allocated once.

use crate::clock::Instant;
use crate::prelude::*;
use core::time::Duration;

use rustix::event::epoll;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

use super::config_source::ConfigSource;
use super::control;
use super::helpers::{Close, Helpers, Owner};
use super::job::{self, Action, AfterStop, Ending, JobEvent, JobState, Up};
use super::jobs::{Jobs, NotStartable, Slot, Want};
use super::metrics::{self, MetricsFile};
use super::notify;
use super::watch::Watcher;
use crate::config::{self, Config, JobSpec, Output};
use crate::net::{Control, Net, ReportLine};
use crate::spawn::{self, Exec, Launch, SpawnError, StartResult};
use crate::sys;
use crate::syslog::{Quota, Severity};
use crate::users::Users;

mod ready;

/// Reports go out this often when `report to` is configured (SPEC §8).
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// The longest the loop sleeps in one wait: 24 days, under the 24.8 days
/// of milliseconds an `int` holds. Past that, rustix waits through
/// `epoll_pwait2`, which kernels before 5.11 do not have (Raspberry Pi
/// OS's 5.10 among them): the wait failed and pmtr exited, for a
/// deadline as far off as `bounce every 30d`. Such a deadline is met
/// after a wakeup that finds nothing due.
const MAX_SLEEP: Duration = Duration::from_secs(24 * 24 * 3600);

/// What one wakeup reads at most from one job's output pipe: a busy job
/// gets this much per turn, like every other source.
const OUTPUT_READ: usize = 4096;

// The "in the last 10 sec" of `tick`'s quota lines says this.
const _: () = assert!(Quota::EVERY.as_secs() == 10);

/// Reads of [`OUTPUT_READ`] that drain a job's output pipes when its
/// process exits, so that what it printed is logged before its exit: a
/// default pipe's 64 KiB, and no more whatever the job left behind.
const DRAIN_READS: usize = 16;

// Epoll tokens: kind in the high 32 bits, a job id or socket index below.
const TOKEN_SIGNAL: u64 = 1 << 32;
const TOKEN_INOTIFY: u64 = 2 << 32;
const TOKEN_STATUS: u64 = 3 << 32;
const TOKEN_STDOUT: u64 = 4 << 32;
const TOKEN_STDERR: u64 = 5 << 32;
const TOKEN_NET: u64 = 6 << 32;
/// The control socket's listener, and its clients (table slot below).
pub(super) const TOKEN_CONTROL: u64 = 7 << 32;
pub(super) const TOKEN_CONTROL_CLIENT: u64 = 8 << 32;
/// Issue 16: a job's ready-fd pipe, notify socket, probe output.
const TOKEN_READY_FD: u64 = 9 << 32;
const TOKEN_NOTIFY: u64 = 10 << 32;
const TOKEN_PROBE: u64 = 11 << 32;
/// The metrics writer's pipe has room again.
const TOKEN_METRICS: u64 = 12 << 32;
const KIND_MASK: u64 = !0xffff_ffff;

/// `repr(C)`, the fields in this order: the job table first, then the
/// flags and descriptors the loop reads most, so that most of the
/// loop's field accesses take the short forms of an offset (the
/// table's address is the supervisor's own; Thumb's 16-bit loads,
/// x86's 8-bit displacements) (issue 18, bytes). Drops never run
/// (`Supervisor::exit`), and `jobs` still comes before `notify_dir` and
/// `control` as their drops would need.
#[repr(C)]
pub struct Supervisor {
    jobs: Jobs,
    shutting_down: bool,
    /// The last reconcile left no job it might act on (`needs_reconcile`):
    /// the next looks only at the jobs changed since, unless one of them
    /// needs it (issue 18: a walk of every job at every wakeup).
    settled: bool,
    /// Some job holds its stop until its dependents are gone
    /// (`Holding`): only then does the reconcile look for holds to
    /// release. Set by `step_job`, cleared by `release_held` when none is
    /// left (issue 18, as `group_waits`).
    holding: bool,
    /// Some job is stopping with its leader gone and its process group
    /// perhaps not (`Stopping { leader_gone: true }`): only then does a
    /// reap look for groups that have ended. Set by `step_job`, cleared by
    /// the reap that finds none left (issue 18: the look at every job was
    /// the largest part of pmtr's own work per restart among 1000 jobs).
    group_waits: bool,
    /// A configuration was read: pmtr's file pages are given back before
    /// the loop next sleeps (see `run`).
    trim_due: bool,
    /// What pmtr exits with: 1 once a `give up ... then exit` job gave up.
    exit_code: u8,
    epoll: OwnedFd,
    signals: OwnedFd,
    self_pid: Pid,
    source: ConfigSource,
    /// Where `ready notify` sockets go; after `jobs`, so that it is
    /// removed once their sockets are (fields drop in order).
    notify_dir: notify::Dir,
    /// pmtr's own environment, shared by every job that adds no `env`.
    environ: alloc::rc::Rc<spawn::Env>,
    net: Net,
    /// `pmtr status|stop|start|restart`, when its socket opened.
    control: Option<crate::control::Server>,
    next_report: Option<Instant>,
    /// No job has a deadline (of its state, its probe or a report of
    /// dropped output) before this: the tick walks the jobs only once it
    /// has passed, not at every wakeup (issue 18: with `Job::deadline`,
    /// half the instructions per restart among 1000 jobs). Set by
    /// `next_deadline` as the loop goes to sleep, from the jobs changed
    /// since it last did (every change goes through `Jobs::get_mut`):
    /// never later than a job's deadline, earlier once one went away.
    jobs_due: Option<Instant>,
    hostname: String,
    events: Vec<epoll::Event>,
    /// Why the last spawn failed, for the log line of its retry.
    spawn_error: Option<SpawnError>,
    /// A job's exit, logged after its restart's spawn (`reap`).
    exit_line: Option<ExitLine>,
    /// Log lines UDP control commands may cause: changes of what is
    /// wanted, and names of no job (the first, then a count).
    control_quota: Quota,
    unknown_quota: Quota,
    /// The log writers of `out FILE max …` and the metrics writer.
    helpers: Helpers,
    /// `metrics to FILE`, when configured.
    metrics: Option<MetricsFile>,
    /// The action of the last `step_job`, for the control socket's
    /// answers (`control::Loop::step_job`): the loop's own calls, which
    /// never look at it, then pass no place for it (issue 18, bytes).
    last_action: Action,
}

impl Supervisor {
    /// Sets up the loop's descriptors; a failure is the call that failed
    /// (`can't create epoll`, packed by `msg!`) and its errno, for the
    /// caller's one log line: no error type with a `Display` of its own
    /// (issue 18, bytes). Out of line: `start` returns its result as it
    /// is (on 64-bit targets, as `open_control`, min x86_64 -72 and with
    /// it aarch64 -24; on 32-bit ARM since `start` does, armv6 -64).
    #[inline(never)]
    pub fn new(
        config_path: &str,
        signals: &sys::SigSet,
    ) -> Result<Supervisor, (&'static [u8], Errno)> {
        // The call under way, named for its error: set before each, so
        // that the five ways out are one, not a text and errno stored at
        // each (issue 18, bytes). The descriptors are held without drops
        // until the supervisor owns them: on a failure pmtr exits, which
        // closes them, no close of their own on each way out.
        let mut doing = crate::packed::msg!(0, "can't create epoll");
        let made = (|| -> Result<_, Errno> {
            let epoll = core::mem::ManuallyDrop::new(epoll::create(epoll::CreateFlags::CLOEXEC)?);
            doing = crate::packed::msg!(0, "can't create signalfd");
            let signals = core::mem::ManuallyDrop::new(sys::signalfd(signals)?);
            doing = crate::packed::msg!(0, "can't create inotify");
            // Not dropped on a way out below: pmtr exits, the kernel
            // closes its descriptor, and nothing else of it outlives pmtr
            // (no drop glue of its own for those paths; issue 18, bytes).
            let watcher = core::mem::ManuallyDrop::new(Watcher::new()?);
            // Every epoll::add of the loop through `watch`, both
            // descriptors lent: one instance of rustix's generic function
            // (issue 18, bytes).
            doing = crate::packed::msg!(0, "can't watch signalfd");
            watch(crate::sys::lend(&epoll), &signals, TOKEN_SIGNAL)?;
            doing = crate::packed::msg!(0, "can't watch inotify");
            watch(crate::sys::lend(&epoll), watcher.fd(), TOKEN_INOTIFY)?;
            Ok((epoll, signals, watcher))
        })();
        let (epoll, signals, watcher) = made.map_err(|e| (doing, e))?;
        // Made once the watches are in place: no `ConfigSource` on the
        // ways out above (issue 18, bytes).
        let source = ConfigSource::new(config_path, core::mem::ManuallyDrop::into_inner(watcher));
        let hostname = crate::utf8::lossy(rustix::system::uname().nodename().to_bytes());
        // Made before the record, whose other fields are constants: made
        // in its literal, the list after it, the job table before it was
        // built on the stack and copied in (issue 18, bytes); the pid too
        // (aarch64 -8).
        let environ = spawn::Env::inherited();
        let events = Vec::with_capacity(64);
        let self_pid = rustix::process::getpid();
        Ok(Supervisor {
            epoll: core::mem::ManuallyDrop::into_inner(epoll),
            signals: core::mem::ManuallyDrop::into_inner(signals),
            source,
            jobs: Jobs::default(),
            notify_dir: notify::Dir::default(),
            environ,
            net: Net::default(),
            control: None,
            next_report: None,
            shutting_down: false,
            trim_due: false,
            exit_code: 0,
            self_pid,
            hostname,
            events,
            spawn_error: None,
            exit_line: None,
            control_quota: Quota::new(10),
            unknown_quota: Quota::new(1),
            helpers: Helpers::default(),
            jobs_due: None,
            group_waits: false,
            holding: false,
            settled: false,
            metrics: None,
            last_action: Action::Nothing,
        })
    }

    /// Ends the supervisor as pmtr exits: only what would outlive the
    /// process is undone, in the order the fields' drops undid it (each
    /// job's notify socket, their directory, then the control socket);
    /// the caller then forgets it: the descriptors and memory the kernel
    /// takes back at the exit are not closed and freed one by one first
    /// (issue 18, bytes).
    pub fn exit(&mut self) {
        // The notify sockets are in the jobs' `health`, dropped here in
        // the jobs' order; nothing else of a job outlives pmtr.
        for slot in self.jobs.slots() {
            self.jobs.get_mut(slot).health = None;
        }
        self.notify_dir = notify::Dir::default();
        self.control = None;
    }

    /// Loads the configuration, then serves events until every job is down
    /// after SIGTERM/SIGINT (or a `give up ... then exit`); returns pmtr's
    /// exit status.
    // Not inlined into start-up: the loop is then a function of its own
    // that cross/hot-text.ld can place among the hot ones (issue 18).
    #[inline(never)]
    pub fn run(&mut self) -> u8 {
        info!("starting (pid {})", self.self_pid.as_raw_nonzero());
        self.rescan(true);
        loop {
            let now = Instant::now();
            self.tick(now);
            self.reconcile(now);
            if self.shutting_down && !self.jobs.any_active() {
                // The jobs are gone: the last snapshot of the metrics goes
                // out, then each helper gets the end of its pipe, writes
                // what it holds and exits (or is killed after CLOSE_WAIT).
                if let Some(m) = &mut self.metrics {
                    m.hurry(now);
                }
                self.write_metrics(now);
                self.helpers.close(Close::All, now);
                if !self.helpers.any_running() {
                    break;
                }
            }
            let timeout = self
                .next_deadline(now)
                .map(|at| wait_for(at.saturating_duration_since(Instant::now())));
            if self.trim_due {
                // The parser's and start-up's pages are cold until the
                // next read: give them back (issue 18, PSS; rt/trim.rs
                // says what it costs). Here, as the loop goes to sleep,
                // rather than at the end of `rescan`: the code that runs
                // between the two (the rest of the read, the jobs'
                // starts, the first log lines) would be faulted in again
                // at once, and whatever of it the steady state never runs
                // would stay resident for good.
                self.trim_due = false;
                crate::rt::trim::release_startup_pages();
            }
            self.events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut self.events),
                timeout.as_ref(),
            ) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => {
                    super::log_errno(line_at!(Err, "epoll_wait failed: {}; exiting"), e);
                    break;
                }
            }
            for i in 0..self.events.len() {
                self.dispatch(self.events[i].data.u64());
            }
        }
        self.exit_code
    }

    /// The handlers of sources a respawn does not use (the config file,
    /// datagrams, the control socket, readiness and checks, metrics) are
    /// `#[inline(never)]`: inlined, they made this function 18 KB (min
    /// x86_64), and each of its pages was touched again after the trim.
    /// Out of line they stay cold, and the loop's code fits in fewer pages
    /// (issue 18, cross/hot-text.ld). Not those that only pass the call
    /// on (the inotify drain, a control connection's accept, a probe's
    /// output read): inlined they add 36 bytes to the loop's code (min
    /// armv7) and spare 104 of their own.
    fn dispatch(&mut self, token: u64) {
        let kind = token & KIND_MASK;
        match kind {
            TOKEN_SIGNAL => self.on_signals(),
            TOKEN_INOTIFY => self.source.on_inotify(),
            TOKEN_NET => self.on_datagram(token as u32),
            TOKEN_CONTROL => self.on_control_accept(),
            TOKEN_CONTROL_CLIENT => self.on_control_client(token as u32 as usize),
            TOKEN_METRICS => self.send_metrics(),
            // A job's pipe or socket: its job looked up here, once for
            // every kind, not by each handler (issue 18, bytes). A job
            // gone since is nothing to do.
            _ => {
                // Every token pmtr registers is one of the kinds named here
                // (the constants, or'ed with an index below 2³²): a check
                // that can never fail, and its line was the only user of
                // core's `LowerHex` for u64 (issue 18, bytes). Debug builds
                // (the tests) still stop on one, whether or not its low
                // bits name a job.
                debug_assert!(
                    matches!(
                        kind,
                        TOKEN_STATUS
                            | TOKEN_STDOUT
                            | TOKEN_STDERR
                            | TOKEN_READY_FD
                            | TOKEN_NOTIFY
                            | TOKEN_PROBE
                    ),
                    "can't happen: unknown epoll token {token:#x}"
                );
                let Some(slot) = self.jobs.find_by_id(token as u32) else {
                    return;
                };
                match kind {
                    TOKEN_STATUS => self.on_status_pipe(slot),
                    TOKEN_STDOUT | TOKEN_STDERR => {
                        self.on_output(slot, kind == TOKEN_STDERR);
                    }
                    TOKEN_READY_FD => self.on_ready_fd(slot),
                    TOKEN_NOTIFY => self.on_notify(slot),
                    TOKEN_PROBE => self.on_probe_output(slot),
                    _ => {}
                }
            }
        }
    }

    fn next_deadline(&mut self, now: Instant) -> Option<Instant> {
        // The other jobs' deadlines are where they were, none before
        // `jobs_due`: only the changed jobs are looked at, unless
        // `jobs_due` has passed (the tick served it; what comes next is
        // not known) or more jobs changed (issue 18: a walk of 1000 jobs
        // at every restart). A deadline that went away leaves `jobs_due`
        // early: one wakeup that finds nothing due, then a full walk.
        let mut next = None;
        // The list read where it was returned, not moved out of its
        // Option first (issue 18, bytes).
        match &self.jobs.take_touched() {
            Some(touched) if self.jobs_due.is_none_or(|at| at > now) => {
                next = self.jobs_due;
                for &slot in touched {
                    jobs_deadline(self.jobs.get(slot), &mut next);
                }
            }
            _ => {
                for &list in &self.jobs.lists() {
                    for j in list {
                        jobs_deadline(j, &mut next);
                    }
                }
            }
        }
        #[cfg(debug_assertions)]
        {
            let mut all = None;
            for list in self.jobs.lists() {
                for j in list {
                    jobs_deadline(j, &mut all);
                }
            }
            debug_assert!(
                all.is_none_or(|at| next.is_some_and(|n| n <= at)),
                "a job's deadline {all:?} is before jobs_due {next:?}"
            );
        }
        self.jobs_due = next;
        if !self.shutting_down {
            // A call for each, each deadline passed as it is returned: no
            // array of them built first to loop over (issue 18, bytes).
            job::earliest(&mut next, self.next_report);
            job::earliest(&mut next, self.source.deadline(now));
            job::earliest(&mut next, self.net.deadline());
            job::earliest(&mut next, self.control_quota.deadline());
            job::earliest(&mut next, self.unknown_quota.deadline());
        }
        job::earliest(&mut next, self.helpers.deadline());
        job::earliest(
            &mut next,
            self.metrics.as_ref().and_then(MetricsFile::deadline),
        );
        next
    }

    // Out of line on x86_64, as `tick`: inlined into `run`, the reap's
    // and the signal read's locals made the loop's frame 408 bytes, most
    // of its stack accesses long ones, and its registers spilled; apart,
    // `run` has a 168-byte frame (issue 18, bytes: min x86_64 -304; `run`
    // 4541 -> 2531, this 1672). It runs at every job exit: listed in
    // cross/hot-text.ld beside `run`.
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    fn on_signals(&mut self) {
        while let Some(sig) = sys::read_signal(&self.signals) {
            match sig {
                libc::SIGCHLD => self.reap(),
                libc::SIGHUP => {
                    info!("rescanning configuration (SIGHUP)");
                    self.rescan(true);
                }
                libc::SIGTERM | libc::SIGINT => self.shut_down(sig),
                // The signalfd is made for `sys::HANDLED`, the four above:
                // no other signal comes (issue 18, bytes; debug builds
                // still stop on one).
                other => debug_assert!(false, "signal {other} from the signalfd"),
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
        let again = self.shutting_down;
        // One line of two fixed texts, not a call each (issue 18, bytes).
        super::log_one(
            name,
            if again {
                line_at!(Notice, "received {} again; sending SIGKILL to all jobs")
            } else {
                line_at!(Notice, "received {}; stopping all jobs")
            },
        );
        if again {
            for slot in self.jobs.slots() {
                self.step_job(slot, JobEvent::KillNow, now);
            }
        } else {
            self.stop_all(now);
        }
    }

    /// Stops every job in parallel, each with its stop signal; the loop
    /// ends once the last is gone.
    fn stop_all(&mut self, now: Instant) {
        self.shutting_down = true;
        self.source.unwatch();
        for slot in self.jobs.slots() {
            self.stop(slot, AfterStop::Down, now);
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
                    super::log_errno(line_at!(Err, "waitpid failed: {}"), e);
                    break;
                }
            };
            let ending = match (status.exit_status(), status.terminating_signal()) {
                (Some(code), _) => Ending::Status(code),
                (None, Some(sig)) => Ending::Signal(sig),
                (None, None) => continue,
            };
            match self.jobs.find_by_pid(pid) {
                Some(slot) => {
                    for _ in 0..DRAIN_READS {
                        if !(self.on_output(slot, false) | self.on_output(slot, true)) {
                            break;
                        }
                    }
                    let job = self.jobs.get(slot);
                    // Logged once the replacement is spawned, if it is
                    // (see `spawn`): the restart does not wait on the log.
                    self.exit_line = Some(ExitLine::of(job, slot, pid, ending, now));
                    let ran = matches!(job.state, JobState::Running { .. }) && job.held;
                    self.step_job(slot, JobEvent::Exited(ending), now);
                    self.log_exit_line();
                    if ran {
                        // Its run ended by itself: those that restart
                        // with it follow (issue 16).
                        self.stop_dependents(slot, now);
                    }
                }
                None => match self.jobs.find_by_probe_pid(pid) {
                    Some(slot) => self.probe_exited(slot, pid, ending, now),
                    // Normal as PID 1 or subreaper: not an error (SPEC §7).
                    None if self.helpers.reaped(pid, ending, now) => {}
                    None => debug!("reaped orphan [{}]", pid.as_raw_nonzero()),
                },
            }
        }
        // A stop is over when the job's whole process group is gone.
        if self.group_waits {
            self.group_waits = false;
            for slot in self.jobs.slots() {
                if let JobState::Stopping {
                    pid,
                    leader_gone: true,
                    ..
                } = self.jobs.get(slot).state
                {
                    if rustix::process::test_kill_process_group(pid) == Err(Errno::SRCH) {
                        self.step_job(slot, JobEvent::GroupGone, now);
                    } else {
                        self.group_waits = true;
                    }
                }
            }
        }
        self.forget_retired(now);
    }

    /// Forgets retired jobs whose processes are gone, and closes their
    /// loggers' pipes: each logger writes what is left and exits.
    fn forget_retired(&mut self, now: Instant) {
        // Only the loggers of the jobs forgotten now: asking each logger
        // at every reap whether its job was still there was loggers x
        // jobs steps per restart (issue 18: 0.7 ms with 1000 `out ... max`
        // jobs).
        let gone = self.jobs.forget_retired();
        if !gone.is_empty() {
            self.helpers.close(Close::Jobs(&gone), now);
        }
    }

    /// Feeds `event` to a job's state machine and performs the action
    /// (kept in `last_action`).
    fn step_job(&mut self, slot: Slot, event: JobEvent, now: Instant) {
        let job = self.jobs.get_mut(slot);
        let rules = job.rules();
        let (state, action) = job::step(job.state, &mut job.history, event, now, &rules);
        // Compared once, for the log line and the metrics alike (issue
        // 18, bytes).
        if state.differs(&job.state) {
            debug!("job {}: {} -> {}", job.spec.name, job.state, state);
            if let Some(m) = &mut self.metrics {
                m.changed(now);
            }
        }
        job.state = state;
        match state {
            JobState::Stopping {
                leader_gone: true, ..
            } => self.group_waits = true,
            JobState::Holding { .. } => self.holding = true,
            _ => {}
        }
        self.jobs.note_pid(slot);
        self.last_action = action;
        // The step's rules, not worked out again by each arm that reads
        // them (issue 18, bytes): nothing between changes what they
        // come from (the spec and `held`).
        self.perform(slot, action, now, &rules);
        self.sync_probe(slot, now);
    }

    /// `step_job` with `JobEvent::Stop(after)`: one call for the eight
    /// places that stop a job, each of which built the event in memory
    /// to pass (issue 18, bytes). Not on the respawn path.
    #[inline(never)]
    fn stop(&mut self, slot: Slot, after: AfterStop, now: Instant) {
        self.step_job(slot, JobEvent::Stop(after), now);
    }

    // Out of `step_job` on x86_64, as `spawn` (issue 18, bytes: min
    // x86_64 -24 with `spawn` out of line; 0 before). On the respawn
    // path: listed in cross/hot-text.ld.
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    fn perform(&mut self, slot: Slot, action: Action, now: Instant, rules: &job::Rules) {
        // The respawn path's two first: the job's name, which they do not
        // say, is looked up only for the others (issue 18: a call at every
        // step).
        match action {
            Action::Nothing => return,
            Action::Spawn => return self.spawn(slot, now),
            _ => {}
        }
        let name = &self.jobs.get(slot).spec.name;
        match action {
            // Done above.
            Action::Nothing | Action::Spawn => {}
            // One line and one call for the three: SIGKILL is said at
            // NOTICE, any other signal at INFO; a fault is logged first,
            // then its stop signal sent (issue 18, bytes: no call of
            // perform by itself).
            Action::Signal(pid, _) | Action::Kill(pid) | Action::Fault(pid, _) => {
                let (sig, severity) = match action {
                    Action::Signal(_, sig) => (sig, Severity::Info),
                    Action::Fault(_, fault) => {
                        self.log_fault(slot, fault);
                        (rules.stop_signal, Severity::Info)
                    }
                    _ => (Signal::KILL, Severity::Notice),
                };
                let sig_name = config::signal_name(sig);
                crate::syslog::log(
                    severity,
                    format_args!(
                        "sending SIG{} to job {} [{}]",
                        crate::packed::Str(sig_name),
                        crate::packed::Str(name),
                        crate::packed::Int(pid.as_raw_nonzero())
                    ),
                );
                signal_group(pid, sig);
            }
            Action::StopDependents(why) => {
                if let Some(fault) = why {
                    self.log_fault(slot, fault);
                }
                self.stop_dependents(slot, now);
                self.release_held(now);
            }
            Action::Note(note) => self.log_note(slot, note, rules),
            Action::WaitBeforeRestart(wait) => notice!(
                "job {} ran less than {} sec; restarting it in {} sec",
                name,
                job::quick_run(rules).as_secs(),
                wait.as_secs(),
            ),
            Action::GiveUp => self.give_up(slot, now, rules),
            // Only a SpawnFailed brings this action, and `spawn` sets the
            // error just before it: there is always one (a line without
            // it could never be written; issue 18, bytes).
            Action::RetrySpawn(wait) => {
                let e = self.spawn_error.take();
                debug_assert!(e.is_some(), "a failed spawn without its error");
                if let Some(e) = e {
                    let secs = wait.as_secs();
                    error!("can't start job {}: {}; retrying in {} sec", name, e, secs);
                }
            }
            Action::CantHappen(what) => cant_happen(name, what),
        }
    }

    /// A job reached `give up after N in T` (issue 15): said once, at ERR,
    /// with its last exit; `then exit` stops every job and makes pmtr exit
    /// 1, so that a container's orchestrator restarts the whole pod.
    fn give_up(&mut self, slot: Slot, now: Instant, rules: &job::Rules) {
        let job = self.jobs.get(slot);
        let Some(rules) = rules.give_up else {
            return;
        };
        // A quick exit gets here: there is a last exit.
        let (Some((ending, _)), name) = (job.history.last_exit, &job.spec.name) else {
            return;
        };
        let (n, secs) = (rules.after, rules.within.as_secs());
        error!(
            "job {} failed: {} quick exits within {} sec, the last with {}; \
             not restarting it (pmtr start {} does)",
            name, n, secs, ending, name,
        );
        if rules.then_exit && !self.shutting_down {
            error!(
                "job {} failed and says 'then exit': stopping all jobs; exiting with status 1",
                name,
            );
            self.exit_code = 1;
            self.stop_all(now);
        }
    }

    /// Logs the exit `reap` left for after the restart, if any.
    fn log_exit_line(&mut self) {
        // Read where it is, then cleared: not copied out by `take`
        // (issue 18, bytes).
        if let Some(line) = &self.exit_line {
            let name = &self.jobs.get(line.slot).spec.name;
            let (pid, ran, ending) = (line.pid.as_raw_nonzero(), line.ran, line.ending);
            info!(
                "job {} [{}] exited after {} sec: {}",
                name, pid, ran, ending
            );
            self.exit_line = None;
        }
    }

    /// Spawns the job's process and feeds the result back to its state
    /// machine. Nothing starts once pmtr is exiting.
    // Out of line on x86_64, now that `on_signals` is (issue 18, bytes:
    // min x86_64 -56; it was +16 while the reap was inlined into `run`).
    // On the respawn path: listed in cross/hot-text.ld.
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    fn spawn(&mut self, slot: Slot, now: Instant) {
        if self.shutting_down {
            self.stop(slot, AfterStop::Down, now);
            return;
        }
        let job = self.jobs.get_mut(slot);
        let Ok(launch) = &job.launch else {
            // Not startable: the reconcile never starts such a job, and
            // an explicit start is refused before it gets here.
            self.stop(slot, AfterStop::Down, now);
            return;
        };
        if let Some(health) = &job.health {
            health.before_run();
        }
        // Its loggers' pipes (`out FILE max …`), and the loggers started.
        let started = self
            .helpers
            .for_job_start(job.id, self.self_pid, now)
            .and_then(|given| spawn::spawn(launch, self.self_pid, given));
        let started = match started {
            Ok(started) => started,
            Err(e) => {
                self.log_exit_line();
                self.spawn_error = Some(e);
                self.step_job(slot, JobEvent::SpawnFailed, now);
                return;
            }
        };
        let pid = started.pid;
        let raw = pid.as_raw_nonzero().get() as u32;
        self.log_exit_line();
        let job = self.jobs.get_mut(slot);
        info!("started job {} [{}]", job.spec.name, raw);
        let id = u64::from(job.id);
        let epoll = crate::sys::lend(&self.epoll);
        match started.exec {
            Exec::Running => {}
            Exec::Failed(e) => log_start_error(&job.spec, &e),
            Exec::Unknown(pipe) => {
                let _ = watch(epoll, &pipe, TOKEN_STATUS | id);
                job.status_pipe = Some(pipe);
            }
        }
        if let (Some(fd), Some(out)) = (started.stdout, &mut job.stdout) {
            let _ = watch(epoll, &fd, TOKEN_STDOUT | id);
            out.attach(fd, raw, &job.spec.name, Severity::Info);
        }
        if let (Some(fd), Some(out)) = (started.stderr, &mut job.stderr) {
            let _ = watch(epoll, &fd, TOKEN_STDERR | id);
            out.attach(fd, raw, &job.spec.name, Severity::Err);
        }
        if let Some(health) = &mut job.health {
            if let Some(fd) = &started.ready {
                let _ = watch(epoll, fd, TOKEN_READY_FD | id);
            }
            health.new_run(started.ready);
        }
        self.step_job(slot, JobEvent::Spawned { pid }, now);
    }

    fn on_status_pipe(&mut self, slot: Slot) {
        let job = self.jobs.get_mut(slot);
        let Some(pipe) = &job.status_pipe else { return };
        match spawn::read_start_result(pipe) {
            StartResult::Pending => return,
            StartResult::Running => {}
            StartResult::Failed(e) => log_start_error(&job.spec, &e),
        }
        // Closing the pipe also takes it out of the epoll set.
        job.status_pipe = None;
    }

    /// One read from a job's output pipe per wakeup: a job that prints
    /// without pause gets its share of the loop and no more. Returns
    /// whether it read anything.
    fn on_output(&mut self, slot: Slot, is_stderr: bool) -> bool {
        let job = self.jobs.get_mut(slot);
        let (pipe, severity) = if is_stderr {
            (&mut job.stderr, Severity::Err)
        } else {
            (&mut job.stdout, Severity::Info)
        };
        let Some(out) = pipe else { return false };
        let Some(fd) = &out.fd else { return false };
        // Not zeroed first: on ARM that is a 4 KiB memset twice per exit
        // of a job whose output pmtr reads (the drain in `reap`); the
        // read hands back only the bytes it filled.
        let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); OUTPUT_READ];
        match rustix::io::read(fd, &mut buf) {
            Ok((read, _)) if !read.is_empty() => {
                out.lines.feed(read, &job.spec.name, out.pid, severity);
                true
            }
            Err(Errno::INTR | Errno::AGAIN) => false,
            // End of file (its last line said) or an error: the pipe is
            // closed at one place (issue 18, bytes).
            read => {
                if read.is_ok() {
                    out.lines.flush(&job.spec.name, out.pid, severity);
                }
                // Closing the pipe also takes it out of the epoll set.
                out.fd = None;
                false
            }
        }
    }

    /// UDP `enable`/`disable` set what the operator wants; the reconcile
    /// carries it out. An enabled job that has finished runs again, no
    /// sooner than the anti-spin rule allows (SPEC §8, issue 13). (`n`,
    /// the token's low 32 bits, may also be a resolver socket's: Net then
    /// moves its lookups on and calls no command.)
    #[inline(never)] // cold: see Supervisor::dispatch
    fn on_datagram(&mut self, n: u32) {
        let now = Instant::now();
        let jobs = &mut self.jobs;
        let (changes, unknown) = (&mut self.control_quota, &mut self.unknown_quota);
        let mut commands = 0u32;
        let mut wake = Vec::new();
        self.net.on_event(n, now, |control, name| {
            commands += 1;
            // Anyone who can send a datagram causes these lines: a flood
            // gets a few and a count (SPEC §10).
            let Some(i) = jobs.by_name(name) else {
                if unknown.allow(now) {
                    super::log_one(name, line_at!(Warning, "control: no job named '{}'"));
                }
                return;
            };
            let enable = control == Control::Enable;
            let job = jobs.get_mut(Slot::Job(i));
            let want = if enable { Want::Up } else { Want::Down };
            // One line of two fixed texts, not a third value (issue 18,
            // bytes).
            if job.want != want && changes.allow(now) {
                super::log_one(
                    name,
                    if enable {
                        line_at!(Info, "control: enabling job {}")
                    } else {
                        line_at!(Info, "control: disabling job {}")
                    },
                );
            }
            job.want = want;
            if enable && matches!(job.state, JobState::Done(_)) && !wake.contains(&i) {
                wake.push(i);
            }
        });
        // By reference: no `vec::IntoIter` of its own (issue 18, bytes).
        for &i in &wake {
            self.step_job(Slot::Job(i), JobEvent::Wake, now);
        }
        if commands > 0 && self.net.reporting() {
            // Report the change soon rather than in up to 10 s.
            self.next_report = Some(now);
        }
    }

    /// Renders the metrics into the file's buffer when a snapshot is due,
    /// and hands it to the metrics writer.
    fn write_metrics(&mut self, now: Instant) {
        let Some(m) = &mut self.metrics else { return };
        let Some(buf) = m.take_due(now) else { return };
        metrics::render(buf, &self.jobs, None, &self.source.counts, now);
        self.send_metrics();
    }

    /// Sends what the metrics writer's pipe takes of the snapshot.
    #[inline(never)] // cold: see Supervisor::dispatch
    fn send_metrics(&mut self) {
        let now = Instant::now();
        let (Some(m), Some(pipe)) = (
            &mut self.metrics,
            self.helpers.metrics_pipe(self.self_pid, now),
        ) else {
            return;
        };
        m.send(pipe, crate::sys::lend(&self.epoll), TOKEN_METRICS);
    }

    /// Feeds a tick to every job whose deadline has passed (once one has:
    /// `jobs_due`), sends the report when due, and reads the configuration
    /// when a read is due.
    // Out of line, although it runs at every turn: inlined into `run`,
    // its one caller, the loop kept the addresses of the fields both use
    // in its frame, spilled, for the whole loop; apart, each is smaller
    // (issue 18, bytes: min x86_64 -80). Only there: min aarch64 +64,
    // armv6 +72 out of line. Listed in cross/hot-text.ld beside `run`.
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    fn tick(&mut self, now: Instant) {
        self.helpers.tick(self.self_pid, now);
        self.write_metrics(now);
        if self.jobs_due.is_some_and(|at| at <= now) {
            self.tick_jobs(now);
        }
        if self.shutting_down {
            return;
        }
        if let Some(at) = self.next_report
            && at <= now
        {
            self.send_report(now);
            self.next_report = Some(now + REPORT_EVERY);
        }
        if self.source.take_due(now) {
            self.rescan(false);
        }
        // Name lookups: resends, timeouts, retries (src/net).
        self.net.tick(now);
        // Quota::EVERY written into the lines (the assert below ties
        // the two): one argument less to format (issue 18, bytes).
        if let Some(n) = self.control_quota.take_due(now) {
            warn!(
                "control: {} more enable/disable lines not logged in the last 10 sec",
                n
            );
        }
        if let Some(n) = self.unknown_quota.take_due(now) {
            warn!(
                "control: {} more unknown job names ignored in the last 10 sec",
                n
            );
        }
    }

    /// Feeds a tick to each job (and probe) whose deadline has passed and
    /// logs the counts of dropped output lines that are due.
    fn tick_jobs(&mut self, now: Instant) {
        for slot in self.jobs.slots() {
            let job = self.jobs.get_mut(slot);
            job.report_dropped_output(now);
            let probe_due = job.health.as_ref().and_then(|h| h.probe.deadline());
            if job.deadline().is_some_and(|at| at <= now) {
                self.step_job(slot, JobEvent::Tick, now);
            }
            if probe_due.is_some_and(|at| at <= now) {
                self.probe_event(slot, job::ProbeEvent::Tick, now);
            }
        }
    }

    #[inline(never)] // cold: see Supervisor::dispatch
    fn send_report(&mut self, now: Instant) {
        let lines = self
            .jobs
            .current()
            .iter()
            .filter(|j| !super::jobs::once(&j.spec))
            .map(|j| {
                // The state looked at once: a starting job's seconds are
                // its running seconds (issue 18, bytes).
                let (mut secs_running, mut up) = (0, None);
                if let JobState::Running { since, up: how, .. } = j.state {
                    secs_running = now.secs_since(since);
                    // What the original format can't say (issue 16).
                    up = match how {
                        Up::Starting => Some(("starting", secs_running)),
                        Up::Unhealthy { at, .. } => Some(("unhealthy", now.secs_since(at))),
                        Up::Ready { .. } | Up::Leaving { .. } => None,
                    };
                }
                ReportLine {
                    name: &j.spec.name,
                    enabled: j.wanted(),
                    failed: matches!(j.state, JobState::Failed),
                    secs_running,
                    pid: j
                        .pid()
                        .map(|p| p.as_raw_nonzero().get() as u32)
                        .unwrap_or(0),
                    cmd: &j.spec.cmd,
                    up,
                }
            });
        self.net.send_report(&self.hostname, lines);
    }

    /// Starts the jobs whose turn has come and stops the ones no longer
    /// wanted: the configuration and the operator set what is wanted; this
    /// makes it so.
    fn reconcile(&mut self, now: Instant) {
        // Also while exiting: a job holding its stop for its dependents.
        self.release_held(now);
        if self.shutting_down {
            return;
        }
        let changed = self.jobs.take_touched_for_reconcile();
        let current = self.jobs.current();
        let needs = |slot: &Slot| match *slot {
            Slot::Job(i) => current[i].needs_reconcile(),
            Slot::Retiring(_) => false,
        };
        // By reference, as next_deadline's (issue 18, bytes).
        if self.settled && changed.as_ref().is_some_and(|c| !c.iter().any(needs)) {
            debug_assert!(!current.iter().any(|j| j.needs_reconcile()));
            return;
        }
        // Jobs after an unfinished `wait` job (in start order) start only
        // once it exits.
        let gate = self
            .jobs
            .waits()
            .iter()
            .find(|&&i| {
                let job = &current[i];
                job.wanted() && job.launch.is_ok() && !job.history.exited()
            })
            .map_or(usize::MAX, |&i| self.jobs.rank(i));
        // In an order that puts each job after those it names in `after`,
        // so a tree of jobs ready when started starts in one pass. Settled
        // if no job needed a look: one changed after its look is among
        // the changed ones next time.
        self.settled = true;
        for k in 0..current.len() {
            let i = self.jobs.launch_order()[k];
            let job = &self.jobs.current()[i];
            if !job.needs_reconcile() {
                continue;
            }
            self.settled = false;
            if !job.wanted() || job.launch.is_err() {
                if job.state.is_up() {
                    self.stop(Slot::Job(i), AfterStop::Down, now);
                }
                continue;
            }
            if self.jobs.rank(i) <= gate
                && matches!(job.state, JobState::Pending | JobState::Stopped)
                && !self.jobs.replaced_still_stopping(&job.spec.name)
                && self.jobs.after_ready(i)
            {
                self.step_job(Slot::Job(i), JobEvent::Start, now);
            }
        }
    }

    /// Reads the configuration (always, when `force`d by SIGHUP or at
    /// startup) and applies it when it changed; restarts jobs whose
    /// `depends` files changed; renews the file watches.
    fn rescan(&mut self, force: bool) {
        let now = Instant::now();
        // The counts change only with a read that counts as a reload:
        // comparing that number is enough (issue 18, bytes).
        let reloads = self.source.counts.reloads;
        // The configuration applied where `read` left it, dropped here
        // (issue 18, bytes).
        if let Ok(cfg) = &mut self.source.read(force, self.jobs.any_active(), now) {
            self.apply(cfg, now);
        }
        if let (true, Some(m)) = (reloads != self.source.counts.reloads, &mut self.metrics) {
            m.changed(now);
        }
        // The `depends` files, then (`env`) the `env file`s, by one loop
        // over the two (issue 18, bytes); each list walked by reference:
        // no `vec::IntoIter` of its own.
        for env in [false, true] {
            for &id in &self.source.changed_files(env, now) {
                let Some(slot) = self.jobs.find_by_id(id) else {
                    continue;
                };
                if env {
                    self.reload_env(slot, now);
                    continue;
                }
                let job = self.jobs.get(slot);
                if matches!(job.state, JobState::Running { .. }) {
                    super::log_one(
                        &job.spec.name,
                        line_at!(Info, "job {}: a depends file changed; restarting it"),
                    );
                    self.stop(slot, AfterStop::Restart, now);
                }
            }
        }
        // Not while exiting: `stop_all` removed the watches (a SIGHUP
        // then still rereads the files, but puts no watch back).
        if !self.shutting_down {
            self.source.rewatch();
        }
        self.trim_due = true;
    }

    /// A job's `env file` changed (issue 15): read it again and restart the
    /// job if it runs and its environment changed. A file that is now bad
    /// changes nothing (as for the configuration); one that is now good
    /// makes a job it kept from starting startable.
    // Out of `rescan`, as `apply`: a configuration read's frame holds
    // less at once (issue 18, bytes; measured with `apply`).
    #[inline(never)]
    fn reload_env(&mut self, slot: Slot, now: Instant) {
        let job = self.jobs.get_mut(slot);
        let spec = &job.spec;
        let notify_dir = self.notify_dir.path();
        let Ok(launch) = &mut job.launch else {
            let users = &Users::load();
            let mut cx = Prepare {
                label: self.source.path(),
                users,
                environ: &self.environ,
                notify_dir,
                envs: spawn::Envs::default(),
            };
            job.launch = prepare(spec, job.id, &mut cx);
            // Its notify socket or probes, now that it can start.
            self.equip();
            return;
        };
        let mut lines = Vec::new();
        let what_next = line_at!(
            Err,
            "job {}: bad env file; keeping its environment as it was"
        );
        if env_lines(spec, job.id, notify_dir, what_next, &mut lines).is_err() {
            return;
        }
        // Otherwise its next start has the new environment.
        if !launch.replace_env(spec, &self.environ, &lines) {
            super::log_one(
                &spec.name,
                line_at!(Info, "job {}: env file saved; environment unchanged"),
            );
        } else if matches!(job.state, JobState::Running { .. }) {
            super::log_one(
                &spec.name,
                line_at!(Info, "job {}: environment changed; restarting it"),
            );
            self.stop(slot, AfterStop::Restart, now);
        }
    }

    /// Replaces the job set with `cfg`'s: unchanged jobs are left as they
    /// are, removed and changed ones stopped (SPEC §6).
    // Not inlined into `rescan` (its one caller): there it shared one
    // frame and one set of registers with the depends and env-file
    // checks; apart, both are smaller (issue 18, bytes: 4.6 KB of
    // armv7 apart).
    #[inline(never)]
    fn apply(&mut self, cfg: &mut Config, now: Instant) {
        let users = Users::load();
        // The jobs and the metrics path taken out; the rest dropped
        // whole by the caller, Config's own drop, not field by field
        // (issue 18, bytes).
        let specs = core::mem::take(&mut cfg.jobs);
        let metrics = cfg.metrics.take();
        let mut cx = Prepare {
            label: self.source.path(),
            users: &users,
            environ: &self.environ,
            notify_dir: self.notify_dir.path(),
            envs: spawn::Envs::default(),
        };
        let applied = self
            .jobs
            .apply(specs, |spec, id| prepare(spec, id, &mut cx));
        for i in applied.retired.clone() {
            self.stop(Slot::Retiring(i), AfterStop::Down, now);
        }
        self.equip();
        self.forget_retired(now);
        self.add_helpers(metrics, now);
        for slot in self.jobs.slots() {
            self.step_job(slot, JobEvent::ConfigChanged, now);
        }
        self.source.track(self.jobs.current());
        self.net.configure(
            crate::sys::lend(&self.epoll),
            TOKEN_NET,
            &cfg.report,
            &cfg.listen,
            now,
        );
        self.next_report = self.net.reporting().then_some(now);
        info!(
            "configuration loaded: {} jobs ({} added, {} changed, {} removed, {} unchanged)",
            self.jobs.current().len(),
            applied.added,
            applied.changed,
            applied.removed,
            applied.kept
        );
    }

    /// Makes the loggers of new and changed jobs (and of kept ones that
    /// could not start before), and the metrics writer when `metrics to`
    /// changed. Jobs being replaced keep theirs until they are gone.
    /// Out of `apply`, its one caller, on aarch64 (issue 18, bytes: min
    /// aarch64 -48; x86_64 0).
    #[cfg_attr(target_arch = "aarch64", inline(never))]
    fn add_helpers(&mut self, metrics: Option<String>, now: Instant) {
        // `pmtr log -F|- STREAM JOB PATH MAX KEEP STAMP` (src/logger.rs);
        // `-F|-` put in by `add_logger`.
        let at = &mut 0;
        for job in self.jobs.current() {
            let (Ok(launch), false) = (&job.launch, self.helpers.has_job(job.id, at)) else {
                continue;
            };
            let spec = &job.spec;
            let both = spec.out == spec.err;
            for &(stderr, out) in &[(false, &spec.out), (true, &spec.err)] {
                let Output::Log(log) = out else { continue };
                if both && stderr {
                    break;
                }
                let helpers = &mut self.helpers;
                add_job_logger(helpers, &self.environ, job, launch, log, stderr, both);
            }
        }
        if self.metrics.as_ref().map(|m| &m.path) != metrics.as_ref() {
            self.helpers.close(Close::Metrics, now);
            // The new one (or none) put in place once: one drop of the
            // old, which holds only memory (issue 18, bytes).
            let file = metrics.map(|path| {
                let args = &mut ["pmtr", "log", "", "metrics", "-", &path, "0", "0", "0"];
                let label = "metrics writer".into();
                add_logger(
                    &mut self.helpers,
                    Owner::Metrics,
                    label,
                    args,
                    None,
                    &self.environ,
                );
                MetricsFile::new(path, now)
            });
            self.metrics = file;
        }
    }

    /// Opens the control socket; without it pmtr runs on, only
    /// unreachable for the commands.
    /// Out of line: its one caller keeps a smaller frame (issue 18,
    /// bytes: in `start`, min x86_64 -24, with `Supervisor::new` aarch64
    /// -24; in `supervisor::run`, where `start` leaves the supervisor
    /// now, armv6 -48 with that change).
    #[inline(never)]
    pub fn open_control(&mut self, path: &str) {
        let dir = notify::Dir::beside(path);
        // Over `new`'s default, which made no directory and holds no
        // memory. It is forgotten, not dropped: with no drop here, a Dir's
        // drop code is inlined into the one place left that needs it,
        // pmtr's exit (min armv6 -112 bytes, +8 when dropped; aarch64
        // -32). Not on x86_64 (+16 there; once +176, when `start`'s frame
        // took more long displacements); there the new Dir made first
        // and then put in place is -64 (measured, issue 18, bytes).
        #[cfg(not(target_arch = "x86_64"))]
        {
            let unmade = core::mem::replace(&mut self.notify_dir, dir);
            debug_assert!(unmade.path().is_empty());
            core::mem::forget(unmade);
        }
        #[cfg(target_arch = "x86_64")]
        {
            self.notify_dir = dir;
        }
        // Put in place of `Supervisor::new`'s None (issue 18, bytes); its
        // path is `path`.
        match crate::control::Server::open(
            path,
            crate::sys::lend(&self.epoll),
            TOKEN_CONTROL,
            &mut self.control,
        ) {
            // One value: through `log_one` (issue 18, bytes).
            Ok(()) => super::log_one(path, line_at!(Debug, "control socket {}")),
            Err(e) => warn!(
                "{}; pmtr status/stop/start/restart can't reach this pmtr",
                e
            ),
        }
    }

    /// Only passes the call on: inlined (see `dispatch`).
    fn on_control_accept(&mut self) {
        let epoll = crate::sys::lend(&self.epoll);
        if let Some(server) = &mut self.control {
            server.accept(epoll, TOKEN_CONTROL_CLIENT);
        }
    }

    #[inline(never)] // cold: see Supervisor::dispatch
    fn on_control_client(&mut self, slot: usize) {
        let Some(server) = &mut self.control else {
            return;
        };
        let epoll = crate::sys::lend(&self.epoll);
        let crate::control::Readiness::Request(request, uid) = server.read(epoll, slot) else {
            return;
        };
        let reply = control::answer(self, &request, uid, Instant::now());
        if let Some(server) = &mut self.control {
            server.answer(crate::sys::lend(&self.epoll), slot, &reply);
        }
    }
}

/// What the control socket's answers need of the loop.
impl control::Loop for Supervisor {
    fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    fn jobs_mut(&mut self) -> &mut Jobs {
        &mut self.jobs
    }

    fn shutting_down(&self) -> bool {
        self.shutting_down
    }

    fn step_job(&mut self, slot: Slot, event: JobEvent, now: Instant) -> Action {
        Supervisor::step_job(self, slot, event, now);
        self.last_action
    }

    fn counts(&self) -> &metrics::Counts {
        &self.source.counts
    }
}

/// Makes a log writer (`pmtr log ARGS`) and keeps it among the helpers:
/// one place for a job's and the metrics' (issue 18, bytes). Making one
/// can't fail ([`Launch::logger`]'s error is `Infallible`): no error line.
/// Cold: a configuration load only; without it the x86_64 builds grew.
#[cold]
fn add_logger(
    helpers: &mut Helpers,
    owner: Owner,
    label: String,
    args: &mut [&str; 9],
    ids: Option<Box<crate::users::Ids>>,
    environ: &alloc::rc::Rc<spawn::Env>,
) {
    // `-F` (echo to stderr) in the foreground, else `-`: chosen here,
    // once for both callers, which leave its place empty (issue 18,
    // bytes).
    args[2] = if crate::syslog::foreground() {
        "-F"
    } else {
        "-"
    };
    let Ok(l) = Launch::logger(args, ids, environ);
    helpers.add(owner, label, l);
}

/// Makes the log writer of a job's `out` or (`stderr`) `err` file, or of
/// both (`both`). Its own function, cold as `add_logger`: inlined into
/// `add_helpers`, and that into `Supervisor::apply`, its arguments, path
/// and label were built in `apply`'s large frame, each store a long one
/// (issue 18, bytes: min x86_64 -32, armv7 -16). Not on aarch64, where
/// `add_helpers` is already a function of its own: +64 there.
#[cold]
#[cfg_attr(not(target_arch = "aarch64"), inline(never))]
fn add_job_logger(
    helpers: &mut Helpers,
    environ: &alloc::rc::Rc<spawn::Env>,
    job: &super::jobs::Job,
    launch: &Launch,
    log: &config::LogFile,
    stderr: bool,
    both: bool,
) {
    let spec = &job.spec;
    let path = crate::files::join(spec.dir.as_deref().unwrap_or("/"), &log.path);
    let max = crate::logger::itoa(log.max.unwrap_or(0));
    let keep = crate::logger::itoa(u64::from(log.keep));
    let stream = [["out", "err"][usize::from(stderr)], "out+err"][usize::from(both)];
    let stamp = ["0", "1"][usize::from(log.stamp)];
    let args = &mut [
        "pmtr", "log", "", stream, &spec.name, &path, &max, &keep, stamp,
    ];
    let owner = Owner::Job {
        id: job.id,
        stdout: !stderr,
        stderr: both || stderr,
    };
    let which = ["", "stderr "][usize::from(stderr && !both)];
    let mut label = String::from(which);
    label.push_str("log writer of job ");
    label.push_str(&spec.name);
    let ids = launch.logger_ids(stderr);
    add_logger(helpers, owner, label, args, ids, environ);
}

/// `epoll_ctl(ADD)` of `fd` for reading, its events tagged `token`: one
/// call for every add of the loop's (issue 18, bytes).
fn watch(epoll: BorrowedFd<'_>, fd: &OwnedFd, token: u64) -> rustix::io::Result<()> {
    epoll::add(
        epoll,
        crate::sys::lend(fd),
        epoll::EventData::new_u64(token),
        epoll::EventFlags::IN,
    )
}

/// Brings `next` forward to the earliest of a job's deadlines: its
/// state's, its probe's and its outputs' reports of dropped lines. Plain
/// calls into the caller's accumulator, nothing returned to fold into it
/// (issue 18): iterator chains over arrays of `Option<Instant>` inlined a
/// comparison per source.
fn jobs_deadline(j: &super::jobs::Job, next: &mut Option<Instant>) {
    job::earliest(next, j.deadline());
    // Each pipe by an `if let`, no iterator over an array of the two
    // (issue 18, bytes).
    if let Some(out) = &j.stdout {
        job::earliest(next, out.report_due());
    }
    if let Some(out) = &j.stderr {
        job::earliest(next, out.report_due());
    }
    job::earliest(next, j.health.as_ref().and_then(|h| h.probe.deadline()));
}

/// `job web [1234] exited after 3 sec: exit status 1` (SPEC §4), to be
/// logged.
struct ExitLine {
    slot: Slot,
    pid: Pid,
    ending: Ending,
    ran: u64,
}

impl ExitLine {
    fn of(job: &super::jobs::Job, slot: Slot, pid: Pid, ending: Ending, now: Instant) -> ExitLine {
        let since = match job.state {
            JobState::Running { since, .. }
            | JobState::Holding { since, .. }
            | JobState::Stopping { since, .. } => since,
            _ => now,
        };
        ExitLine {
            slot,
            pid,
            ending,
            ran: now.secs_since(since),
        }
    }
}

/// What [`prepare`] needs besides the job, the same for every job of a
/// load: passed as one reference, not six arguments at each call (issue
/// 18, bytes).
struct Prepare<'a> {
    /// The configuration's path, for an error's position.
    label: &'a str,
    users: &'a Users,
    environ: &'a alloc::rc::Rc<spawn::Env>,
    notify_dir: &'a str,
    /// The environments made so far, shared by the jobs that make the
    /// same (`spawn::Envs`).
    envs: spawn::Envs,
}

/// Builds a job's launch data; a job that can't be prepared stays down
/// and the reason is logged with its position.
fn prepare(spec: &JobSpec, id: u32, cx: &mut Prepare<'_>) -> Result<Launch, NotStartable> {
    let Prepare {
        label,
        users,
        environ,
        notify_dir,
        ref mut envs,
    } = *cx;
    // A `depends` file that does not exist yet is fine: its appearance
    // counts as a change. One that exists must be trusted as root.
    for dep in &spec.extra().depends {
        // Checked only if it exists: no stat of a missing file after its
        // access(), and no error of it made to be dropped (issue 18,
        // bytes).
        let trusted = match crate::files::exists(dep) {
            Ok(_) => config::check_trust(dep),
            Err(_) => Ok(()),
        };
        if let Err(e) = trusted {
            return Err(untrusted(spec, &e));
        }
    }
    let mut env_files = Vec::new();
    env_lines(
        spec,
        id,
        notify_dir,
        line_at!(Err, "job {}: bad env file; the job will not start"),
        &mut env_files,
    )?;
    Launch::prepare(spec, users, environ, &env_files, envs).map_err(|error| {
        let at = match error {
            spawn::PrepareError::User(crate::users::LookupError::UnknownGroup(_)) => {
                spec.origin.group
            }
            _ => spec.origin.user,
        };
        let pos = at.unwrap_or(spec.origin.job);
        let why = crate::packed::text(format_args!(
            "{}:{}:{}: job '{}': {error}",
            crate::packed::Str(label),
            crate::packed::Int(pos.line.get()),
            crate::packed::Int(pos.col),
            crate::packed::Str(&spec.name)
        ));
        // One value: through `log_one` (issue 18, bytes).
        super::log_one(&why, line_at!(Err, "{}; the job will not start"));
        NotStartable(why)
    })
}

/// How long the loop waits for a deadline `d` away: at most
/// [`MAX_SLEEP`]. rustix rounds the nanoseconds up to the milliseconds
/// epoll counts in, so the deadline has passed when the loop wakes (a
/// rounding of its own made the field 1e9 or more, which the kernel
/// refuses).
#[inline]
fn wait_for(d: Duration) -> rustix::time::Timespec {
    let d = d.min(MAX_SLEEP);
    rustix::time::Timespec {
        tv_sec: d.as_secs() as _,
        tv_nsec: d.subsec_nanos() as _,
    }
}

/// Logs `job NAME: WHY; the job will not start`: one call for the trust
/// check and `equip` (issue 18, bytes). Cold: its callers' usual way,
/// the job prepared and equipped, is laid out straight (and smaller).
#[cold]
fn refuse(spec: &JobSpec, why: &str) {
    error!("job {}: {}; the job will not start", spec.name, why);
}

/// A `depends` file that can't be trusted: its error logged, with `; the
/// job will not start`, and its text. Cold, as `bad_env_file`: the
/// usual way, trusted files, is laid out straight (issue 18, bytes).
#[cold]
fn untrusted(spec: &JobSpec, e: &config::Error) -> NotStartable {
    let why = super::config_source::error_text(e);
    refuse(spec, &why);
    NotStartable(why)
}

/// The `KEY=VALUE` lines of a job's `env file`s (issue 15), then what
/// `ready notify` adds (`ready::add_env_lines`): one call for the two
/// places that make a job's environment (issue 18, bytes). Every bad
/// line of a file is logged by position (never its text: it may hold a
/// secret), then `what_next` (`job NAME: bad env file; …`, packed by
/// `msg!` with its severity: the whole line, not a value of one; issue
/// 18, bytes), and nothing is added. Filled into the caller's `lines`,
/// not returned through a `Result` (issue 18, bytes).
fn env_lines(
    spec: &JobSpec,
    id: u32,
    notify_dir: &str,
    what_next: &'static [u8],
    lines: &mut Vec<String>,
) -> Result<(), NotStartable> {
    let errors = config::read_env_files(&spec.extra().env_files, lines);
    if !errors.is_empty() {
        return Err(bad_env_file(spec, what_next, &errors));
    }
    // NOTIFY_SOCKET (issue 16) wins over an env file's, not over `env`.
    ready::add_env_lines(lines, spec, id, notify_dir);
    Ok(())
}

/// The errors of a job's env files logged, then `what_next`; the first
/// one's text. Cold: the usual way, good files, is laid out straight
/// (issue 18, bytes; `#[inline(never)]` as well, or neither, was larger).
#[cold]
fn bad_env_file(
    spec: &JobSpec,
    what_next: &'static [u8],
    errors: &[config::Error],
) -> NotStartable {
    for e in errors {
        error!("job {}: {}", spec.name, *e);
    }
    super::log_one(&spec.name, what_next);
    // The first error's text (there is one), without taking it out
    // of the list (issue 18, bytes).
    NotStartable(
        errors
            .first()
            .map_or_else(String::new, super::config_source::error_text),
    )
}

/// `can't happen: job NAME: WHAT`, an impossible (state, event) pair of
/// a job's or its probe's machine: one call for the three places that
/// learn one (issue 18, bytes).
#[cold]
fn cant_happen(name: &str, what: &'static [u8]) {
    error!(
        "can't happen: job {}: {}",
        name,
        crate::packed::Filled::text(what)
    );
}

/// A job's child could not set itself up or exec (one call for the two
/// places that learn it).
fn log_start_error(spec: &JobSpec, e: &spawn::StartError) {
    error!("job {}: {}", spec.name, e.describe(spec));
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

#[cfg(test)]
mod wait_tests {
    use super::*;

    /// Every wait is one `epoll_pwait` of whole milliseconds an `int`
    /// holds (no `epoll_pwait2`, which kernels before 5.11 lack), never
    /// shorter than the deadline it waits for, up to [`MAX_SLEEP`].
    #[test]
    fn every_wait_fits_an_int_of_milliseconds_and_wakes_no_earlier() {
        let day = 24 * 3600;
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(999_999_999),
            Duration::new(9, 999_000_001),
            Duration::new(30 * day - 1, 999_999_999),
            Duration::from_secs(24 * day),
            Duration::from_secs(25 * day),
            Duration::from_secs(3650 * day),
            Duration::MAX,
        ] {
            let t = wait_for(d);
            assert!((0..1_000_000_000).contains(&t.tv_nsec), "{d:?}");
            let ms = t.tv_sec * 1000 + (t.tv_nsec + 999_999) / 1_000_000;
            assert!(ms <= i64::from(i32::MAX), "{d:?}");
            assert!(u128::try_from(ms).unwrap() * 1_000_000 >= d.min(MAX_SLEEP).as_nanos());
        }
    }
}
