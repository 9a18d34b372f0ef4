//! The loop's side of issue 16: readiness messages (notify socket, ready
//! fd), the `ready when` and `check` probes, and jobs that restart with
//! another (`after NAME restart`). Decisions are the state machines'
//! (`job::step`, `job::probe_step`); this reads what the job says, runs
//! probes, and carries out the actions.

use crate::prelude::*;
use core::fmt;

use core::time::Duration;

use rustix::process::{Pid, Signal};

use super::super::health::{self, CheckResult, Health, Text};
use super::super::job::{
    self, Ending, Fault, JobEvent, JobState, Note, ProbeAction, ProbeEvent, ProbeKind,
};
use super::super::jobs::{NotStartable, Slot};
use super::super::notify::{self, Notice, Recv};
use super::{DRAIN_READS, Supervisor, TOKEN_NOTIFY, TOKEN_PROBE, cant_happen, signal_group};
use crate::clock::Instant;
use crate::config::{JobSpec, ReadyHow};
use crate::spawn::{self, StartResult};

/// `500 ms`, `2 sec`: a time as the log says it.
struct Time(Duration);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The number, then the unit: no format of two pieces per arm
        // (issue 18, bytes). Never formatted with a width or fill.
        let (n, unit) = match self.0.subsec_millis() {
            0 => (self.0.as_secs(), " sec"),
            ms => (self.0.as_secs() * 1000 + u64::from(ms), " ms"),
        };
        crate::packed::show(&n, f)?;
        f.write_str(unit)
    }
}

impl crate::packed::Show for Time {}

/// Adds to `lines` what `ready notify` adds to a job's environment:
/// `NOTIFY_SOCKET`, and with `watchdog` the `WATCHDOG_USEC` that sd_notify
/// libraries read. Nothing for other jobs. Pushed onto the env file's
/// lines, not returned as a Vec of their own to append (issue 18, bytes).
pub(super) fn add_env_lines(lines: &mut Vec<String>, spec: &JobSpec, id: u32, notify_dir: &str) {
    let Some(r) = spec.readiness.as_deref() else {
        return;
    };
    if matches!(r.how, Some(ReadyHow::Notify)) {
        // `notify::path_in`'s path, pushed straight onto the line: no
        // String of its own made and dropped, and no `fmt::Arguments`,
        // as `WATCHDOG_USEC` below (issue 18, bytes).
        let mut line = String::from("NOTIFY_SOCKET=");
        line.push_str(notify_dir);
        line.push('/');
        crate::logger::push_itoa(&mut line, u64::from(id));
        debug_assert_eq!(line[14..], notify::path_in(notify_dir, id));
        lines.push(line);
        if let Some(ms) = r.watchdog_ms {
            // The digits by `logger::push_itoa`, there anyway: no
            // `format!` (issue 18, bytes).
            let mut line = String::from("WATCHDOG_USEC=");
            crate::logger::push_itoa(&mut line, ms * 1000);
            lines.push(line);
        }
    }
}

impl Supervisor {
    /// Gives each new job with `ready`/`check` what it needs (its notify
    /// socket, its probes); a job for which that fails can't start.
    pub(super) fn equip(&mut self) {
        for i in 0..self.jobs.current().len() {
            let job = &self.jobs.current()[i];
            if job.health.is_some() || job.launch.is_err() {
                continue;
            }
            let Some(r) = health::needed(&job.spec) else {
                continue;
            };
            let notify = matches!(r.how, Some(ReadyHow::Notify));
            // The launch taken with the one borrow of the job, before the
            // socket's path is made: no path or error to drop on the way
            // out (issue 18: 112 bytes of armv7, 512 of min x86_64).
            let Ok(launch) = &job.launch else { continue };
            // The socket's path made only for a notify socket whose
            // directory is there: no path to drop for the others, nor
            // after a failure. `Health::new`, called from two arms, is
            // then a function of its own, not inlined here (issue 18,
            // bytes: smaller on every build).
            let built = match notify {
                true => match self.notify_dir.make() {
                    Ok(()) => {
                        // The socket belongs to the job's user, so that
                        // only it (and root) may send to it: its owner,
                        // and pmtr's euid to compare, looked up here, not
                        // for every job (issue 18, bytes).
                        let euid = rustix::process::geteuid().as_raw();
                        let owner = launch.owner().filter(|&(uid, _)| uid != euid);
                        let path = socket_path(self.notify_dir.path(), job.id);
                        Health::new(r, launch, Some((path, owner)))
                    }
                    Err(e) => Err(super::super::config_source::failed(
                        &[
                            "can't make the notify directory ",
                            self.notify_dir.path(),
                            ": ",
                        ],
                        e,
                    )),
                },
                false => Health::new(r, launch, None),
            };
            let id = u64::from(job.id);
            let job = self.jobs.get_mut(Slot::Job(i));
            match built {
                Ok(health) => {
                    if let Some(sock) = &health.notify {
                        let _ = super::watch(
                            crate::sys::lend(&self.epoll),
                            sock.fd(),
                            TOKEN_NOTIFY | id,
                        );
                    }
                    // In place of the None the loop's first test saw:
                    // nothing to drop (issue 18, bytes), as
                    // `open_control` puts the control socket's server.
                    let none = job.health.replace(health);
                    debug_assert!(none.is_none());
                    core::mem::forget(none);
                }
                Err(why) => {
                    super::refuse(&job.spec, &why);
                    job.launch = Err(NotStartable(why));
                }
            }
        }
    }

    /// Datagrams on a job's notify socket: at most a few per wakeup.
    #[inline(never)] // cold: see Supervisor::dispatch
    pub(super) fn on_notify(&mut self, slot: Slot) {
        let now = Instant::now();
        // Not zeroed first: a datagram is only what the kernel wrote
        // (issue 18, bytes).
        let mut buf = [core::mem::MaybeUninit::uninit(); notify::DATAGRAM_MAX];
        for _ in 0..notify::READS_PER_WAKEUP {
            let job = self.jobs.get_mut(slot);
            let Some(health) = job.health.as_mut() else {
                return;
            };
            let Some(sock) = &health.notify else { return };
            let datagram = match sock.recv(&mut buf) {
                Ok(Recv::Datagram(datagram)) => datagram,
                Ok(Recv::Oversized(len)) => {
                    debug!(
                        "job {}: ignored a notify datagram of {} bytes",
                        job.spec.name, len,
                    );
                    continue;
                }
                Ok(Recv::Empty) => return,
                Err(e) => {
                    error!(
                        "job {}: notify socket: recv: {}",
                        job.spec.name,
                        crate::sys::strerror(e)
                    );
                    return;
                }
            };
            let (mut ready, mut alive, mut leaving) = (false, false, false);
            for notice in notify::notices(datagram) {
                match notice {
                    Notice::Ready => ready = true,
                    Notice::Watchdog => alive = true,
                    Notice::Stopping => leaving = true,
                    Notice::Status(text) => health::set_text(health.status.as_mut_view(), text),
                }
            }
            // Three calls, not a loop over an array of the events
            // (issue 18, bytes).
            if ready {
                self.step_job(slot, JobEvent::Ready, now);
            }
            if alive {
                self.step_job(slot, JobEvent::Alive, now);
            }
            if leaving {
                self.step_job(slot, JobEvent::Leaving, now);
            }
        }
    }

    /// The ready fd: a newline makes the job ready.
    #[inline(never)] // cold: see Supervisor::dispatch
    pub(super) fn on_ready_fd(&mut self, slot: Slot) {
        let said = self
            .jobs
            .get_mut(slot)
            .health
            .as_mut()
            .and_then(|h| h.read_ready_pipe());
        if said == Some(true) {
            self.step_job(slot, JobEvent::Ready, Instant::now());
        }
    }

    /// One read of a running probe's output. Only passes the call on:
    /// inlined (see `Supervisor::dispatch`).
    pub(super) fn on_probe_output(&mut self, slot: Slot) {
        if let Some(health) = self.jobs.get_mut(slot).health.as_mut() {
            health.read_probe();
        }
    }

    /// Tells the probe which kind the job's state calls for, if that
    /// changed (after every step of the job).
    pub(super) fn sync_probe(&mut self, slot: Slot, now: Instant) {
        let job = self.jobs.get(slot);
        let Some(h) = &job.health else { return };
        let aim = job::probe_aim(&job.state, h.has_ready_cmd(), h.has_check());
        if aim != h.probe.aim() {
            self.probe_event(slot, ProbeEvent::Aim(aim), now);
        }
    }

    /// Feeds `event` to the job's probe machine and performs its action.
    pub(super) fn probe_event(&mut self, slot: Slot, event: ProbeEvent, now: Instant) {
        let Some(h) = self.jobs.get_mut(slot).health.as_mut() else {
            return;
        };
        let (probe, action) = job::probe_step(h.probe, event, now, &h.probe_rules);
        h.probe = probe;
        match action {
            ProbeAction::Nothing => {}
            ProbeAction::Spawn(kind) => self.spawn_probe(slot, kind, now),
            ProbeAction::Kill(pid) => signal_group(pid, Signal::KILL),
            ProbeAction::CantHappen(what) => cant_happen(&self.jobs.get(slot).spec.name, what),
            // Results come only from an exit (`probe_exited`).
            ProbeAction::Passed(_) | ProbeAction::Failed(_) | ProbeAction::TimedOut(_) => {}
        }
    }

    /// Starts a probe the way jobs start (never blocking the loop).
    fn spawn_probe(&mut self, slot: Slot, kind: ProbeKind, now: Instant) {
        let parent = self.self_pid;
        let job = self.jobs.get_mut(slot);
        let id = u64::from(job.id);
        let Some(h) = job.health.as_mut() else { return };
        let Some(launch) = h.launch(kind) else { return };
        match spawn::spawn(launch, parent, [None; 3]) {
            Ok(started) => {
                // A probe's launch (`Launch::probe`) has its stderr merged
                // into its stdout and no ready fd.
                let (pid, exec, stdout) = started.merged();
                if let Some(fd) = &stdout {
                    let _ = super::watch(crate::sys::lend(&self.epoll), fd, TOKEN_PROBE | id);
                }
                h.probe_started(stdout, exec);
                self.probe_event(slot, ProbeEvent::Spawned(pid), now);
            }
            Err(e) => {
                // One of two fixed texts by the kind, not a third value
                // (issue 18, bytes).
                let msg = match kind {
                    ProbeKind::Ready => {
                        line_at!(Warning, "job {}: can't run its ready when command: {}")
                    }
                    ProbeKind::Check => {
                        line_at!(Warning, "job {}: can't run its check command: {}")
                    }
                };
                crate::syslog::log_msg(
                    msg,
                    &[
                        crate::packed::Arg::new(&job.spec.name),
                        crate::packed::Arg::new(&e),
                    ],
                );
                self.probe_event(slot, ProbeEvent::SpawnFailed, now);
            }
        }
    }

    /// A probe's process was reaped: its result goes to the job.
    #[inline(never)] // cold: see Supervisor::dispatch
    pub(super) fn probe_exited(&mut self, slot: Slot, pid: Pid, ending: Ending, now: Instant) {
        // What it left in its group goes with it.
        signal_group(pid, Signal::KILL);
        let job = self.jobs.get_mut(slot);
        let name = &job.spec.name;
        let Some(h) = job.health.as_mut() else { return };
        for _ in 0..DRAIN_READS {
            if !h.read_probe() {
                break;
            }
        }
        h.probe_out = None;
        let failed = h.probe_status.take().and_then(|p| match p.result() {
            StartResult::Failed(e) => Some(e),
            _ => None,
        });
        let (probe, action) = job::probe_step(
            h.probe,
            ProbeEvent::Exited {
                passed: ending == Ending::Status(0),
            },
            now,
            &h.probe_rules,
        );
        h.probe = probe;
        let line = h.probe_line();
        let mut text: Text<{ health::LINE_MAX }> = Text::new();
        let _ = match (action, failed) {
            (ProbeAction::TimedOut(kind), _) => {
                let limit = h.probe_rules.timeout(kind);
                fmt::write(&mut text, format_args!("timed out after {}", Time(limit)))
            }
            (_, Some(e)) => {
                // The step that failed is the probe's: its exec, or the
                // job's own dir or user, as for the job.
                let r = job.spec.readiness.as_deref();
                let cmd = match (action, r.and_then(|r| r.how.as_ref())) {
                    (ProbeAction::Failed(ProbeKind::Ready), Some(ReadyHow::When(cmd))) => Some(cmd),
                    _ => r.map(|r| &r.check_cmd),
                };
                // Never empty (the parser sees to it): `first` only
                // spares a bounds check.
                let program = cmd.and_then(|c| c.first()).map_or("", |s| s.as_str());
                fmt::write(
                    &mut text,
                    format_args!(
                        "can't run {}: {}",
                        crate::packed::Str(program),
                        crate::sys::strerror(e.errno)
                    ),
                )
            }
            // The line as it is, not through a format; `: {line}` after
            // the ending pushed, as `write!` would (issue 18, bytes).
            (ProbeAction::Passed(_), _) => {
                text = line;
                Ok(())
            }
            (_, None) => fmt::write(&mut text, format_args!("{ending}")).and_then(|()| {
                if line.is_empty() {
                    return Ok(());
                }
                let pushed = text.push_str(": ").and_then(|()| text.push_str(&line));
                pushed.map_err(|_| fmt::Error)
            }),
        };
        let event = match action {
            ProbeAction::Passed(ProbeKind::Ready) => Some(JobEvent::Ready),
            ProbeAction::Failed(ProbeKind::Ready) | ProbeAction::TimedOut(ProbeKind::Ready) => {
                debug!("job {}: not ready yet: {}", name, text);
                None
            }
            ProbeAction::Passed(ProbeKind::Check)
            | ProbeAction::Failed(ProbeKind::Check)
            | ProbeAction::TimedOut(ProbeKind::Check) => {
                let passed = matches!(action, ProbeAction::Passed(_));
                h.last_check = Some(CheckResult {
                    passed,
                    at: now,
                    text,
                });
                Some(if passed {
                    JobEvent::CheckPassed
                } else {
                    JobEvent::CheckFailed
                })
            }
            ProbeAction::CantHappen(what) => {
                cant_happen(name, what);
                None
            }
            ProbeAction::Nothing | ProbeAction::Spawn(_) | ProbeAction::Kill(_) => None,
        };
        // The probe is due again (or off): nothing to sync, but the job's
        // state may have changed the kind it calls for. A step syncs it
        // at its end: once, not again here (a second sync finds the aim
        // it set; issue 18, bytes).
        match event {
            Some(event) => self.step_job(slot, event, now),
            None => self.sync_probe(slot, now),
        }
    }

    /// Stops the jobs that restart with the one in `slot` (`after NAME
    /// restart`): the reconcile starts them again once it is ready.
    pub(super) fn stop_dependents(&mut self, slot: Slot, now: Instant) {
        // Exiting, every job is being stopped anyway.
        let (Slot::Job(i), false) = (slot, self.shutting_down) else {
            return;
        };
        let edges = self.jobs.graph().edges().len();
        for k in 0..edges {
            // Every edge is between current jobs (`Graph::build`): `get`
            // only spares the bounds checks (issue 18).
            let Some(&e) = self.jobs.graph().edges().get(k) else {
                break;
            };
            // The edge's own fields first: the jobs are looked up only
            // for an edge of `i`'s that restarts (issue 18, bytes).
            if !e.restart || e.after as usize != i {
                continue;
            }
            let j = e.job as usize;
            let current = self.jobs.current();
            let (Some(dependent), Some(job)) = (current.get(j), current.get(i)) else {
                continue;
            };
            if !matches!(dependent.state, JobState::Running { .. }) {
                continue;
            }
            info!(
                "job {} restarts with {}: stopping it",
                dependent.spec.name, job.spec.name
            );
            self.stop(Slot::Job(j), job::AfterStop::Down, now);
        }
    }

    /// Lets each holding job stop once the jobs that restart with it are
    /// all gone.
    pub(super) fn release_held(&mut self, now: Instant) {
        if !self.holding {
            return;
        }
        self.holding = false;
        for slot in self.jobs.slots() {
            if !matches!(self.jobs.get(slot).state, JobState::Holding { .. }) {
                continue;
            }
            let waiting = match slot {
                Slot::Job(i) => self
                    .jobs
                    .graph()
                    .restarting_with(i)
                    .any(|j| self.jobs.current()[j].active()),
                Slot::Retiring(_) => false,
            };
            if waiting {
                self.holding = true;
            } else {
                self.step_job(slot, JobEvent::DependentsGone, now);
            }
        }
    }

    pub(super) fn log_fault(&self, slot: Slot, fault: Fault) {
        let job = self.jobs.get(slot);
        let name = &job.spec.name;
        // The two faults of a time: one line of two fixed texts, not a
        // call each (issue 18, bytes).
        let (msg, t) = match fault {
            Fault::NotReady(t) => (
                line_at!(Notice, "job {} not ready after {}; stopping it"),
                t,
            ),
            Fault::Watchdog(t) => (
                line_at!(Notice, "job {}: no WATCHDOG=1 for {}; restarting it"),
                t,
            ),
            Fault::Unhealthy(n) => {
                let last = last_check_text(job);
                return notice!(
                    "job {}: {} checks failed in a row (last: {}); restarting it",
                    name,
                    n,
                    last
                );
            }
        };
        crate::syslog::log_msg(
            msg,
            &[
                crate::packed::Arg::new(name),
                crate::packed::Arg::new(&Time(t)),
            ],
        );
    }

    pub(super) fn log_note(&self, slot: Slot, note: Note, rules: &job::Rules) {
        let job = self.jobs.get(slot);
        let name = &job.spec.name;
        match note {
            Note::Ready => {
                let after = match job.state {
                    JobState::Running { since, .. } => {
                        Instant::now().saturating_duration_since(since)
                    }
                    _ => Duration::ZERO,
                };
                info!("job {} is ready (after {})", name, Time(after))
            }
            Note::CheckFailed(n) => {
                let last = last_check_text(job);
                warn!(
                    "job {}: check failed ({} of {}): {}",
                    name, n, rules.check_fails, last,
                )
            }
            Note::Recovered => {
                super::super::log_one(name, line_at!(Info, "job {}: check passed; healthy again"))
            }
        }
    }
}

/// The text of the job's last check, or nothing: one function for the
/// fault's and the note's lines (issue 18, bytes).
fn last_check_text(job: &super::super::jobs::Job) -> &str {
    job.health
        .as_ref()
        .and_then(|h| h.last_check.as_ref())
        .map_or("", |c| c.text.as_str())
}

/// `notify::path_in`, kept out of line: inlined into `equip`, then its
/// one caller, it made the x86_64 builds larger (issue 18, bytes).
#[inline(never)]
fn socket_path(dir: &str, id: u32) -> String {
    notify::path_in(dir, id)
}
