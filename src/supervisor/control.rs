//! The supervisor's side of `pmtr status|stop|start|restart` (issue 9) and
//! `pmtr reload|signal` (issue 15): a request from the control socket is answered with the jobs' state, or
//! turned into what the operator wants of a job (until the configuration
//! changes or pmtr restarts) and an event for its state machine; the reply
//! says what happened, read off the state before and after and the action.

use crate::prelude::*;

use crate::clock::Instant;
use rustix::process::Pid;

use super::job::{Action, AfterStop, DoneReason, Ending, JobEvent, JobState, Up};
use super::jobs::{Job, Jobs, Slot, Want};
use crate::control::protocol::{
    Exit, Request, State, Verb, escape_into, write_extra, write_head, write_last_exit, write_opt,
    write_reason,
};

/// What answering a request needs of the loop: its job table, and feeding
/// an event to a job (the loop performs the action that comes back).
pub(super) trait Loop {
    fn jobs(&self) -> &Jobs;
    fn jobs_mut(&mut self) -> &mut Jobs;
    fn shutting_down(&self) -> bool;
    fn step_job(&mut self, slot: Slot, event: JobEvent, now: Instant) -> Action;
    fn counts(&self) -> &super::metrics::Counts;
}

/// The reply to `request`, from the peer with `uid`, as the bytes to send.
pub(super) fn answer(sup: &mut impl Loop, request: &Request, uid: u32, now: Instant) -> Vec<u8> {
    let mut out = String::new();
    let mut indices = Vec::new();
    if request.names.is_empty() {
        // A loop: extend() from a range was larger (issue 18, bytes).
        for i in 0..sup.jobs().current().len() {
            indices.push(i);
        }
    }
    // Unknown names go straight into the `unknown` line, not into a list
    // first (issue 18, bytes).
    for name in &request.names {
        match sup.jobs().by_name(name) {
            Some(i) => indices.push(i),
            None => {
                if out.is_empty() {
                    out.push_str("unknown");
                }
                out.push('\t');
                out.push_str(name);
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
        return out.into_bytes();
    }
    // Every verb's text as bytes, `end` after it at one place (issue
    // 18, bytes).
    let mut text = match request.verb {
        // The same text as the `metrics to` file, then `end`.
        Verb::Metrics => {
            // Rendered as bytes and sent as they are: no String, so no
            // UTF-8 check of the whole text (issue 18, bytes).
            // `out` is empty here: its buffer (none yet) is the page's
            // (issue 18, bytes).
            let mut text = out.into_bytes();
            let include = (!request.names.is_empty()).then_some(&indices[..]);
            super::metrics::render(&mut text, sup.jobs(), include, sup.counts(), now);
            text
        }
        Verb::Status => {
            // Pushed, not formatted: no `fmt::Arguments` (issue 18,
            // bytes).
            out.push_str("pmtr\t");
            let pid = rustix::process::getpid().as_raw_nonzero().get();
            crate::logger::push_itoa(&mut out, pid as u64);
            // As a `str`, the form measured (a `char` push was not).
            #[allow(clippy::single_char_add_str)]
            out.push_str("\n");
            // By reference: no `vec::IntoIter` of its own (issue 18,
            // bytes).
            for &i in &indices {
                write_status(sup.jobs(), i, now, &mut out);
            }
            out.into_bytes()
        }
        _ => {
            for &i in &indices {
                let outcome = control_job(sup, i, request, uid, now);
                // `i` is a current job's (`indices`): `get` spares a
                // bounds check (issue 18).
                let Some(job) = sup.jobs().current().get(i) else {
                    continue;
                };
                // One line for every outcome: `{tag}\tNAME\t{text}{more}`,
                // its pieces pushed (issue 18, bytes).
                // Not zeroed first: `word` hands back only what it
                // wrote (issue 18, bytes).
                let mut buf = crate::packed::room();
                let (ok, text, more): (bool, &str, &str) = match outcome {
                    // One unpacking for both kinds (issue 18, bytes).
                    Outcome::Said(ok, i) => (ok, reply_text(&mut buf, i), ""),
                    Outcome::Sent(name) => (true, "sent SIG", name),
                    Outcome::CantStart => match &job.launch {
                        Err(reason) => (false, "can't start: ", &reason.0),
                        Ok(_) => (false, "can't start", ""),
                    },
                };
                for &piece in &[
                    if ok { "ok\t" } else { "fail\t" },
                    &job.spec.name,
                    "\t",
                    text,
                    more,
                    "\n",
                ] {
                    out.push_str(piece);
                }
            }
            out.into_bytes()
        }
    };
    text.extend_from_slice(b"end\n");
    text
}

/// What a control verb did to one job, for the operator: a text by its
/// place in [`REPLIES`].
enum Outcome {
    /// Done (`true`) or refused, and the text's place.
    Said(bool, usize),
    /// The signal of `reload` or `signal` went out (its name).
    Sent(&'static str),
    /// Not startable: the reason is the job's.
    CantStart,
}

/// Applies stop/start/restart/reload/signal to job `i` for the peer with
/// `uid`; returns whether it could, and what happens, for the operator.
/// Out of line on x86_64, as `write_status` (issue 18, bytes: there
/// -64; armv6 +96, aarch64 +72).
#[cfg_attr(target_arch = "x86_64", inline(never))]
fn control_job(
    sup: &mut impl Loop,
    i: usize,
    request: &Request,
    uid: u32,
    now: Instant,
) -> Outcome {
    let verb = request.verb;
    if sup.shutting_down() {
        // Every job is stopping and none may start.
        return Outcome::Said(false, EXITING);
    }
    let job = &sup.jobs().current()[i];
    if matches!(verb, Verb::Start | Verb::Restart) && job.launch.is_err() {
        return Outcome::CantStart;
    }
    let old = job.state;
    let slot = Slot::Job(i);
    // Issue 15: reload and signal send a signal to the job's process
    // group and change nothing else; the log says who asked.
    let signal = match verb {
        Verb::Reload => Some(super::jobs::reload_signal(&job.spec)),
        Verb::Signal => request.signal,
        _ => None,
    };
    let name = &job.spec.name;
    // One line for both kinds, ` with SIGNAME` only with a signal: one
    // format site (issue 18, bytes).
    let sig_name = signal.map(crate::config::signal_name);
    let (with, sig_word) = match sig_name {
        Some(word) => (" with SIG", word),
        None => ("", ""),
    };
    info!(
        "control socket: {} job {}{}{} (uid {})",
        verb.word(),
        name,
        with,
        sig_word,
        uid,
    );
    if let (Some(sig), Some(sig_name)) = (signal, sig_name) {
        return match sup.step_job(slot, JobEvent::Signal(sig), now) {
            Action::Signal(..) => Outcome::Sent(sig_name),
            _ => Outcome::Said(false, NOT_SIGNALLED),
        };
    }
    let waits_for_old_version = sup.jobs().replaced_still_stopping(name);
    sup.jobs_mut().get_mut(slot).want = if verb == Verb::Stop {
        Want::Down
    } else {
        Want::Up
    };
    let event = match verb {
        Verb::Stop => JobEvent::Stop(AfterStop::Down),
        Verb::Start => JobEvent::StartNow,
        Verb::Restart => JobEvent::Stop(AfterStop::Restart),
        Verb::Status | Verb::Reload | Verb::Signal | Verb::Metrics => {
            return Outcome::Said(true, NONE);
        }
    };
    if event != JobEvent::Stop(AfterStop::Down) && waits_for_old_version {
        // Its old version is still stopping: the reconcile starts it then.
        return Outcome::Said(true, AFTER_OLD_VERSION);
    }
    let action = sup.step_job(slot, event, now);
    let new = sup.jobs().current()[i].state;
    Outcome::Said(true, reply(verb, old, new, action))
}

/// The texts of what a control verb did, by place (as [`Outcome`] has
/// them), packed (issue 18, bytes); past the last, "".
const REPLIES: &str = "not done (an internal error; see the log)\0stopping\0\
    stopped (its restart is cancelled)\0stopped (it was not running)\0already running\0\
    restarting\0starting once its stop completes\0started\0\
    can't start now; retrying (see the log)\0starting once its old version has stopped\0\
    pmtr is exiting\0not running; no signal sent\0";
/// Places in [`REPLIES`] beside [`reply`]'s.
const AFTER_OLD_VERSION: usize = 9;
const EXITING: usize = 10;
const NOT_SIGNALLED: usize = 11;
/// No text.
const NONE: usize = 12;

/// Text `i` of [`REPLIES`], unpacked into `buf`.
fn reply_text(buf: &mut [core::mem::MaybeUninit<u8>; REPLIES.len()], i: usize) -> &str {
    const PACKED: crate::packed::Packed = crate::packed::packed!(REPLIES);
    PACKED.word(buf, i)
}

/// What a control verb did, from the job's state before and after and
/// the action its state machine chose: its place in [`REPLIES`].
fn reply(verb: Verb, old: JobState, new: JobState, action: Action) -> usize {
    match (verb, old, action) {
        (_, _, Action::CantHappen(_)) => 0,
        (Verb::Stop, JobState::Running { .. }, _) => 1,
        (Verb::Stop, JobState::Stopping { .. } | JobState::Holding { .. }, _) => 1,
        (Verb::Stop, JobState::Waiting { .. }, _) => 2,
        (Verb::Stop, _, _) => 3,
        (Verb::Start, JobState::Running { .. }, _) => 4,
        (Verb::Restart, JobState::Running { .. }, _) => 5,
        (Verb::Start | Verb::Restart, JobState::Stopping { .. } | JobState::Holding { .. }, _) => 6,
        (Verb::Start | Verb::Restart, _, _) if matches!(new, JobState::Running { .. }) => 7,
        (Verb::Start | Verb::Restart, _, Action::Spawn) => 8,
        (Verb::Start | Verb::Restart, _, _) => 7,
        (Verb::Status | Verb::Reload | Verb::Signal | Verb::Metrics, _, _) => NONE,
    }
}

/// Where a job stands, as `pmtr status` and the metrics name it.
pub(super) struct Seen {
    pub state: State,
    pid: Option<Pid>,
    /// Seconds since it started, while running.
    uptime: Option<u64>,
    /// Seconds to its restart, while waiting.
    restart_in: Option<u64>,
    /// While running: since when it is in its state (issue 16), and the
    /// checks that failed in a row when unhealthy.
    in_state: Option<(Instant, Option<u32>)>,
}

/// Where a job stands; allocates nothing (the metrics ask on every
/// state change).
pub(super) fn state_of(job: &Job, now: Instant) -> Seen {
    let secs = |at: Instant| now.secs_since(at);
    let (state, pid, uptime, restart_in) = match job.state {
        JobState::Running { pid, since, up } => {
            let (state, at, fails) = match up {
                Up::Starting => (State::Starting, since, None),
                Up::Ready { at, .. } => (State::Running, at, None),
                Up::Unhealthy { at, fails, .. } => (State::Unhealthy, at, Some(fails)),
                Up::Leaving { at } => (State::Stopping, at, None),
            };
            return Seen {
                state,
                pid: Some(pid),
                uptime: Some(secs(since)),
                restart_in: None,
                in_state: Some((at, fails)),
            };
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
    Seen {
        state,
        pid,
        uptime,
        restart_in,
        in_state: None,
    }
}

/// Appends `\tKEY=N`: the digits pushed by `push_itoa`, not escaped
/// (they need no escape), one call for every number (issue 18, bytes).
#[inline(never)]
fn write_num(out: &mut String, key: &str, n: u64) {
    write_extra(out, key, "");
    crate::logger::push_itoa(out, n);
}

/// Appends job `i`'s line of a `pmtr status` answer: the fixed fields,
/// then the `KEY=VALUE` ones that apply, written as they are found.
/// Out of line but on aarch64: a frame of its own, not `answer`'s
/// (issue 18, bytes: min armv6 -24, x86_64 -80; aarch64 +88).
#[cfg_attr(not(target_arch = "aarch64"), inline(never))]
fn write_status(jobs: &Jobs, i: usize, now: Instant, out: &mut String) {
    // `i` is a current job's: `get` spares a bounds check (issue 18).
    let Some(job) = jobs.current().get(i) else {
        return;
    };
    let secs = |at: Instant| now.secs_since(at);
    // Named by reference: each field read where it is written, not all
    // copied to other stack slots first (issue 18, bytes).
    let Seen {
        state,
        pid,
        uptime,
        restart_in,
        in_state,
    } = &state_of(job, now);
    // Each field written as it is read off the job, not gathered into a
    // `JobStatus` first (see `protocol::write_head`; issue 18, bytes).
    write_head(out, &job.spec.name, *state);
    write_opt(out, pid.map(|p| u64::from(p.as_raw_nonzero().get() as u32)));
    write_opt(out, *uptime);
    write_opt(out, Some(job.history.starts.into()));
    write_last_exit(
        out,
        job.history.last_exit.map(|(ending, at)| {
            let exit = match ending {
                Ending::Status(n) => Exit::Status(n),
                Ending::Signal(n) => Exit::Signal(n),
            };
            (exit, secs(at))
        }),
    );
    write_opt(out, *restart_in);
    write_opt(out, Some(job.spec.disable.into()));
    write_reason(out, job.launch.as_ref().err().map(|e| e.0.as_str()));
    // Issue 16: how long in this state, and failed checks in a row.
    if let Some((at, fails)) = *in_state {
        if let Some(fails) = fails {
            write_num(out, "fails", fails.into());
        }
        write_num(out, "in_state", secs(at));
    }
    // Issue 15, each only where it applies: the policy when it is not
    // `always`, the current backoff delay, and the quick exits in the
    // `give up` window with its limit.
    if job.spec.restart != crate::config::Restart::Always {
        write_extra(out, "restart", job.spec.restart.word());
    }
    // The rarely set options looked up once for both (issue 18, bytes).
    let extra = job.spec.extra();
    if let (Some(_), Some(delay)) = (extra.restart_delay, job.history.delay) {
        write_num(out, "delay_secs", delay.as_secs());
    }
    // Read from the spec, not from all of the job's rules (issue 18,
    // bytes).
    if let Some(give_up) = extra.give_up {
        let within = core::time::Duration::from_secs(give_up.within_secs);
        let n = job.history.quick_exits.within(within, now);
        write_num(out, "quick_exits", n.into());
        write_num(out, "give_up_after", give_up.after.into());
    }
    // Issue 16 (see `control::protocol`): the last check, the last
    // STATUS=, and the jobs it starts after that are not ready.
    if let Some(h) = &job.health {
        if let Some(c) = &h.last_check {
            write_extra(out, "check", if c.passed { "ok" } else { "failed" });
            write_num(out, "check_ago", secs(c.at));
            write_extra(out, "check_text", c.text.as_str());
        }
        if !h.status.is_empty() {
            write_extra(out, "status_text", h.status.as_str());
        }
    }
    if matches!(job.state, JobState::Pending | JobState::Stopped) {
        let mut first = true;
        for e in jobs.graph().after(i) {
            // Edges are between current jobs (`Graph::build`).
            let Some(d) = jobs.current().get(e.after as usize) else {
                continue;
            };
            if d.ready() {
                continue;
            }
            out.push_str(if first { "\twaits=" } else { "," });
            escape_into(out, &d.spec.name);
            first = false;
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::job::DoneReason;

    /// Every reply, as the operator reads it: the texts come from a word
    /// list by place (issue 18), so a slip of one index is caught here.
    #[test]
    fn each_reply_says_what_happened() {
        let now = Instant::now();
        let pid = Pid::from_raw(1234).unwrap();
        let running = JobState::Running {
            pid,
            since: now,
            up: Up::Starting,
        };
        let stopping = JobState::Stopping {
            pid,
            since: now,
            kill_at: None,
            leader_gone: false,
            then: AfterStop::Down,
        };
        let holding = JobState::Holding {
            pid,
            since: now,
            then: AfterStop::Down,
        };
        let waiting = JobState::Waiting { restart_at: now };
        let done = JobState::Done(DoneReason::Once);
        let stopped = JobState::Stopped;
        let (n, sp) = (Action::Nothing, Action::Spawn);
        let cases = [
            (
                Verb::Stop,
                running,
                stopped,
                Action::CantHappen(crate::packed::msg!(0, "x")),
                "not done (an internal error; see the log)",
            ),
            (Verb::Stop, running, stopping, n, "stopping"),
            (Verb::Stop, stopping, stopping, n, "stopping"),
            (Verb::Stop, holding, holding, n, "stopping"),
            (
                Verb::Stop,
                waiting,
                stopped,
                n,
                "stopped (its restart is cancelled)",
            ),
            (Verb::Stop, done, done, n, "stopped (it was not running)"),
            (Verb::Start, running, running, n, "already running"),
            (Verb::Restart, running, stopping, n, "restarting"),
            (
                Verb::Start,
                stopping,
                stopping,
                n,
                "starting once its stop completes",
            ),
            (
                Verb::Restart,
                holding,
                holding,
                n,
                "starting once its stop completes",
            ),
            (Verb::Start, stopped, running, sp, "started"),
            (
                Verb::Start,
                stopped,
                waiting,
                sp,
                "can't start now; retrying (see the log)",
            ),
            (Verb::Restart, done, stopped, n, "started"),
            (Verb::Status, running, running, n, ""),
            (Verb::Reload, running, running, n, ""),
            (Verb::Signal, running, running, n, ""),
            (Verb::Metrics, running, running, n, ""),
        ];
        let mut buf = crate::packed::room();
        for (verb, old, new, action, text) in cases {
            assert_eq!(
                reply_text(&mut buf, reply(verb, old, new, action)),
                text,
                "{verb:?} {old:?} {action:?}"
            );
        }
        for (i, text) in [
            (
                AFTER_OLD_VERSION,
                "starting once its old version has stopped",
            ),
            (EXITING, "pmtr is exiting"),
            (NOT_SIGNALLED, "not running; no signal sent"),
            (NONE, ""),
        ] {
            assert_eq!(reply_text(&mut buf, i), text);
        }
    }
}
