//! The supervisor's side of `pmtr status|stop|start|restart` (issue 9) and
//! `pmtr reload|signal` (issue 15): a request from the control socket is answered with the jobs' state, or
//! turned into what the operator wants of a job (until the configuration
//! changes or pmtr restarts) and an event for its state machine; the reply
//! says what happened, read off the state before and after and the action.

use crate::prelude::*;
use core::fmt::Write;

use crate::clock::Instant;

use super::job::{Action, AfterStop, DoneReason, Ending, JobEvent, JobState, Up};
use super::jobs::{Job, Jobs, Slot, Want};
use crate::control::protocol::{Exit, JobStatus, Request, State, Verb};

/// What answering a request needs of the loop: its job table, and feeding
/// an event to a job (the loop performs the action that comes back).
pub(super) trait Loop {
    fn jobs(&self) -> &Jobs;
    fn jobs_mut(&mut self) -> &mut Jobs;
    fn shutting_down(&self) -> bool;
    fn step_job(&mut self, slot: Slot, event: JobEvent, now: Instant) -> Action;
}

/// The reply to `request`, from the peer with `uid`.
pub(super) fn answer(sup: &mut impl Loop, request: &Request, uid: u32, now: Instant) -> String {
    let mut out = String::new();
    let mut indices = Vec::new();
    let mut unknown = Vec::new();
    if request.names.is_empty() {
        indices.extend(0..sup.jobs().current().len());
    }
    for name in &request.names {
        match sup.jobs().by_name(name) {
            Some(i) => indices.push(i),
            None => unknown.push(name.as_str()),
        }
    }
    if !unknown.is_empty() {
        out.push_str("unknown");
        for name in unknown {
            out.push('\t');
            out.push_str(name);
        }
        out.push('\n');
        return out;
    }
    match request.verb {
        Verb::Status => {
            let _ = writeln!(out, "pmtr\t{}", rustix::process::getpid().as_raw_nonzero());
            for i in indices {
                status_of(sup.jobs(), i, now).write_line(&mut out);
            }
        }
        _ => {
            for i in indices {
                let (ok, what) = control_job(sup, i, request, uid, now);
                let tag = if ok { "ok" } else { "fail" };
                let _ = writeln!(out, "{tag}\t{}\t{what}", sup.jobs().current()[i].spec.name);
            }
        }
    }
    out.push_str("end\n");
    out
}

/// Applies stop/start/restart/reload/signal to job `i` for the peer with
/// `uid`; returns whether it could, and what happens, for the operator.
fn control_job(
    sup: &mut impl Loop,
    i: usize,
    request: &Request,
    uid: u32,
    now: Instant,
) -> (bool, String) {
    let verb = request.verb;
    if sup.shutting_down() {
        // Every job is stopping and none may start.
        return (false, "pmtr is exiting".into());
    }
    let job = &sup.jobs().current()[i];
    if matches!(verb, Verb::Start | Verb::Restart)
        && let Err(reason) = &job.launch
    {
        return (false, format!("can't start: {reason}"));
    }
    let name = job.spec.name.clone();
    let old = job.state;
    let slot = Slot::Job(i);
    // Issue 15: reload and signal send a signal to the job's process
    // group and change nothing else; the log says who asked.
    let signal = match verb {
        Verb::Reload => Some(job.rules.reload_signal),
        Verb::Signal => request.signal,
        _ => None,
    };
    if let Some(sig) = signal {
        let sig_name = crate::config::signal_name(sig);
        info!(
            "control socket: {} job {name} with SIG{sig_name} (uid {uid})",
            verb.word()
        );
        return match sup.step_job(slot, JobEvent::Signal(sig), now) {
            Action::Signal(..) => (true, format!("sent SIG{sig_name}")),
            _ => (false, "not running; no signal sent".into()),
        };
    }
    info!("control socket: {} job {name} (uid {uid})", verb.word());
    let waits_for_old_version = sup.jobs().replaced_still_stopping(&name);
    sup.jobs_mut().get_mut(slot).want = if verb == Verb::Stop {
        Want::Down
    } else {
        Want::Up
    };
    let event = match verb {
        Verb::Stop => JobEvent::Stop(AfterStop::Down),
        Verb::Start => JobEvent::StartNow,
        Verb::Restart => JobEvent::Stop(AfterStop::Restart),
        Verb::Status | Verb::Reload | Verb::Signal => return (true, String::new()),
    };
    if event != JobEvent::Stop(AfterStop::Down) && waits_for_old_version {
        // Its old version is still stopping: the reconcile starts it then.
        return (true, "starting once its old version has stopped".into());
    }
    let action = sup.step_job(slot, event, now);
    let new = sup.jobs().current()[i].state;
    (true, reply(verb, old, new, action).to_string())
}

/// What a control verb did, from the job's state before and after and
/// the action its state machine chose.
fn reply(verb: Verb, old: JobState, new: JobState, action: Action) -> &'static str {
    match (verb, old, action) {
        (_, _, Action::CantHappen(_)) => "not done (an internal error; see the log)",
        (Verb::Stop, JobState::Running { .. }, _) => "stopping",
        (Verb::Stop, JobState::Stopping { .. } | JobState::Holding { .. }, _) => "stopping",
        (Verb::Stop, JobState::Waiting { .. }, _) => "stopped (its restart is cancelled)",
        (Verb::Stop, _, _) => "stopped (it was not running)",
        (Verb::Start, JobState::Running { .. }, _) => "already running",
        (Verb::Restart, JobState::Running { .. }, _) => "restarting",
        (Verb::Start | Verb::Restart, JobState::Stopping { .. } | JobState::Holding { .. }, _) => {
            "starting once its stop completes"
        }
        (Verb::Start | Verb::Restart, _, _) if matches!(new, JobState::Running { .. }) => "started",
        (Verb::Start | Verb::Restart, _, Action::Spawn) => {
            "can't start now; retrying (see the log)"
        }
        (Verb::Start | Verb::Restart, _, _) => "started",
        (Verb::Status | Verb::Reload | Verb::Signal, _, _) => "",
    }
}

/// A job's state as `pmtr status` reports it.
fn status_of(jobs: &Jobs, i: usize, now: Instant) -> JobStatus {
    let job = &jobs.current()[i];
    let secs = |at: Instant| now.saturating_duration_since(at).as_secs();
    let mut extra = Vec::new();
    let (state, pid, uptime, restart_in) = match job.state {
        JobState::Running { pid, since, up } => {
            let (state, at) = match up {
                Up::Starting => (State::Starting, since),
                Up::Ready { at, .. } => (State::Running, at),
                Up::Unhealthy { at, fails, .. } => {
                    extra.push(("fails".into(), fails.to_string()));
                    (State::Unhealthy, at)
                }
                Up::Leaving { at } => (State::Stopping, at),
            };
            extra.push(("in_state".into(), secs(at).to_string()));
            (state, Some(pid), Some(secs(since)), None)
        }
        JobState::Stopping { pid, .. } | JobState::Holding { pid, .. } => {
            (State::Stopping, Some(pid), None, None)
        }
        _ if job.launch.is_err() => (State::NotStartable, None, None, None),
        _ if !job.wanted() => (State::Disabled, None, None, None),
        JobState::Waiting { restart_at } => {
            let left = restart_at.saturating_duration_since(now);
            // Rounded up: "in 0 s" would read as "now, but it didn't".
            let left = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            (State::Waiting, None, None, Some(left))
        }
        JobState::Done(DoneReason::Exit33) => (State::Exit33, None, None, None),
        JobState::Done(DoneReason::Once | DoneReason::Succeeded) => (State::Done, None, None, None),
        JobState::Failed => (State::Failed, None, None, None),
        JobState::Pending | JobState::Stopped | JobState::Spawning => {
            (State::Pending, None, None, None)
        }
    };
    JobStatus {
        name: job.spec.name.clone(),
        state,
        pid: pid.map(|p| p.as_raw_nonzero().get() as u32),
        uptime,
        restart_in,
        starts: job.history.starts,
        last_exit: job.history.last_exit.map(|(ending, at)| {
            let exit = match ending {
                Ending::Status(n) => Exit::Status(n),
                Ending::Signal(n) => Exit::Signal(n),
            };
            (exit, secs(at))
        }),
        disabled_in_config: job.spec.disable,
        reason: job.launch.as_ref().err().map(|e| e.to_string()),
        extra: {
            extra.extend(restart_fields(job, now));
            readiness_fields(jobs, i, now, extra)
        },
    }
}

/// The `KEY=VALUE` fields of issue 16 (see `control::protocol`).
fn readiness_fields(
    jobs: &Jobs,
    i: usize,
    now: Instant,
    mut extra: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let job = &jobs.current()[i];
    if let Some(h) = &job.health {
        if let Some(c) = &h.last_check {
            let ago = now.saturating_duration_since(c.at).as_secs();
            let ok = if c.passed { "ok" } else { "failed" };
            extra.push(("check".into(), ok.into()));
            extra.push(("check_ago".into(), ago.to_string()));
            extra.push(("check_text".into(), c.text.as_str().into()));
        }
        if !h.status.is_empty() {
            extra.push(("status_text".into(), h.status.as_str().into()));
        }
    }
    if matches!(job.state, JobState::Pending | JobState::Stopped) {
        let waits: Vec<&str> = jobs
            .graph()
            .after(i)
            .iter()
            .map(|e| &jobs.current()[e.after as usize])
            .filter(|d| !d.ready())
            .map(|d| d.spec.name.as_str())
            .collect();
        if !waits.is_empty() {
            extra.push(("waits".into(), waits.join(",")));
        }
    }
    extra
}

/// Issue 15's status fields, each only where it applies: the policy when
/// it is not `always`, the current backoff delay, and the quick exits in
/// the `give up` window with its limit.
fn restart_fields(job: &Job, now: Instant) -> Vec<(String, String)> {
    let mut extra = Vec::new();
    let mut add = |key: &str, value: String| extra.push((key.to_string(), value));
    if job.spec.restart != crate::config::Restart::Always {
        add("restart", job.spec.restart.word().to_string());
    }
    if let (Some(_), Some(delay)) = (job.spec.restart_delay, job.history.delay) {
        add("delay_secs", delay.as_secs().to_string());
    }
    if let Some(give_up) = job.rules.give_up {
        let n = job.history.quick_exits.within(give_up.within, now);
        add("quick_exits", n.to_string());
        add("give_up_after", give_up.after.to_string());
    }
    extra
}
