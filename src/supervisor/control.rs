//! The supervisor's side of `pmtr status|stop|start|restart` (issue 9):
//! answers a request from the control socket with the jobs' state, or
//! changes what is wanted the way a UDP `enable`/`disable` does (until the
//! configuration changes or pmtr restarts) and acts at once.

use crate::prelude::*;
use core::fmt::Write;

use crate::clock::Instant;
use rustix::fd::AsFd;

use super::event_loop::{Job, Slot, Supervisor};
use super::job::{AfterStop, DoneReason, Ending, JobEvent, JobState};
use crate::control::protocol::{Exit, JobStatus, Request, State, Verb};
use crate::control::{Readiness, Server};

impl Supervisor {
    /// Opens the control socket; without it pmtr runs on, only
    /// unreachable for the commands.
    pub(super) fn open_control(&mut self, path: &str, token: u64) {
        match Server::open(path, self.epoll.as_fd(), token) {
            Ok(server) => {
                debug!("control socket {}", server.path());
                self.control = Some(server);
            }
            Err(e) => warn!("{e}; pmtr status/stop/start/restart can't reach this pmtr"),
        }
    }

    pub(super) fn on_control_accept(&mut self, client_token: u64) {
        let epoll = self.epoll.as_fd();
        if let Some(server) = &mut self.control {
            server.accept(epoll, client_token);
        }
    }

    pub(super) fn on_control_client(&mut self, slot: usize) {
        let Some(server) = &mut self.control else {
            return;
        };
        let Readiness::Request(request) = server.read(slot) else {
            return;
        };
        let reply = self.answer(&request, Instant::now());
        if let Some(server) = &mut self.control {
            server.answer(slot, reply.as_bytes());
        }
    }

    fn answer(&mut self, request: &Request, now: Instant) -> String {
        let found: Result<Vec<usize>, Vec<&str>> = if request.names.is_empty() {
            Ok((0..self.jobs.len()).collect())
        } else {
            let mut found = Vec::new();
            let mut unknown = Vec::new();
            for name in &request.names {
                match self.jobs.iter().position(|j| &j.spec.name == name) {
                    Some(i) => found.push(i),
                    None => unknown.push(name.as_str()),
                }
            }
            if unknown.is_empty() {
                Ok(found)
            } else {
                Err(unknown)
            }
        };
        let mut out = String::new();
        let indices = match found {
            Ok(i) => i,
            Err(unknown) => {
                out.push_str("unknown");
                for name in unknown {
                    out.push('\t');
                    out.push_str(name);
                }
                out.push('\n');
                return out;
            }
        };
        match request.verb {
            Verb::Status => {
                let _ = writeln!(out, "pmtr\t{}", rustix::process::getpid().as_raw_nonzero());
                for i in indices {
                    status_of(&self.jobs[i], now).write_line(&mut out);
                }
            }
            verb => {
                for i in indices {
                    let (ok, what) = self.control_job(i, verb, now);
                    let tag = if ok { "ok" } else { "fail" };
                    let _ = writeln!(out, "{tag}\t{}\t{what}", self.jobs[i].spec.name);
                }
            }
        }
        out.push_str("end\n");
        out
    }

    /// Applies stop/start/restart to job `i`; returns whether it could,
    /// and what happens, for the operator.
    fn control_job(&mut self, i: usize, verb: Verb, now: Instant) -> (bool, String) {
        let name = self.jobs[i].spec.name.clone();
        if self.shutting_down {
            // Every job is stopping and none may start.
            return (false, "pmtr is exiting".into());
        }
        if verb != Verb::Stop
            && let Err(reason) = &self.jobs[i].launch
        {
            return (false, format!("can't start: {reason}"));
        }
        let slot = Slot::Job(i);
        let state = self.jobs[i].state;
        let enable = verb != Verb::Stop;
        self.jobs[i].override_enabled = Some(enable);
        info!("control socket: {} job {name}", verb.word());
        let what = match (verb, state) {
            (Verb::Stop, JobState::Running { .. } | JobState::Stopping { .. }) => {
                self.step_job(slot, JobEvent::Stop(AfterStop::Down), now);
                "stopping"
            }
            (Verb::Stop, JobState::Backoff { .. }) => {
                self.step_job(slot, JobEvent::Stop(AfterStop::Down), now);
                "stopped (its restart is cancelled)"
            }
            (Verb::Stop, JobState::Down | JobState::Done(_)) => "stopped (it was not running)",
            (Verb::Start, JobState::Running { .. }) => "already running",
            (Verb::Restart, JobState::Running { .. }) => {
                self.step_job(slot, JobEvent::Stop(AfterStop::Restart), now);
                "restarting"
            }
            (Verb::Start | Verb::Restart, JobState::Stopping { .. }) => {
                // Its stop completes first, then it starts again.
                self.step_job(slot, JobEvent::Start, now);
                "starting once its stop completes"
            }
            (Verb::Start | Verb::Restart, JobState::Backoff { .. } | JobState::Done(_)) => {
                self.step_job(slot, JobEvent::Start, now);
                "started"
            }
            (Verb::Start | Verb::Restart, JobState::Down) => {
                if self.replaced_still_stopping(&name) {
                    "starting once its old version has stopped"
                } else {
                    // Even behind an unfinished `wait` job: asked for by name.
                    self.step_job(slot, JobEvent::Start, now);
                    "started"
                }
            }
            (Verb::Status, _) => "",
        };
        (true, what.to_string())
    }
}

/// A job's state as `pmtr status` reports it.
fn status_of(job: &Job, now: Instant) -> JobStatus {
    let secs = |at: Instant| now.saturating_duration_since(at).as_secs();
    let (state, pid, uptime, restart_in) = match job.state {
        JobState::Running { pid, since } => (State::Running, Some(pid), Some(secs(since)), None),
        JobState::Stopping { pid, .. } => (State::Stopping, Some(pid), None, None),
        _ if job.launch.is_err() => (State::NotStartable, None, None, None),
        _ if !job.enabled() => (State::Disabled, None, None, None),
        JobState::Backoff { restart_at } => {
            let left = restart_at.saturating_duration_since(now);
            // Rounded up: "in 0 s" would read as "now, but it didn't".
            let left = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            (State::Waiting, None, None, Some(left))
        }
        JobState::Done(DoneReason::Exit33) => (State::Exit33, None, None, None),
        JobState::Done(DoneReason::Once) => (State::Done, None, None, None),
        JobState::Down => (State::Pending, None, None, None),
    };
    JobStatus {
        name: job.spec.name.clone(),
        state,
        pid: pid.map(|p| p.as_raw_nonzero().get() as u32),
        uptime,
        restart_in,
        starts: job.restarts,
        last_exit: job.last_exit.map(|(ending, at)| {
            let exit = match ending {
                Ending::Status(n) => Exit::Status(n),
                Ending::Signal(n) => Exit::Signal(n),
            };
            (exit, secs(at))
        }),
        disabled_in_config: job.spec.disable,
        reason: job.launch.as_ref().err().cloned(),
    }
}
