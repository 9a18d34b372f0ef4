//! One job's state machine (SPEC §4–5).
//!
//! [`step`] is pure: given the state, an event and the time, it returns the
//! next state and the one action the event loop must perform. Every
//! (state, event) pair is written out, so the compiler checks the table and
//! each rule is unit-tested without forking.

use crate::clock::Instant;
use core::time::Duration;

use rustix::process::Pid;

/// A job that ran less than this is restarted only this long after it
/// exited (anti-spin, SPEC §4).
pub const QUICK_EXIT: Duration = Duration::from_secs(10);

/// Exit status by which a job asks not to be restarted (SPEC §4).
pub const DO_NOT_RESTART: i32 = 33;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Not running and nothing scheduled: waiting for its turn (`order`,
    /// `wait`), disabled, or not startable.
    Down,
    Running {
        pid: Pid,
        since: Instant,
    },
    /// SIGTERM sent to the process group; SIGKILL follows at `kill_at`
    /// (`None` once sent). `leader_gone` once the job's own process has
    /// been reaped; the stop is over when its whole group is gone.
    Stopping {
        pid: Pid,
        kill_at: Option<Instant>,
        leader_gone: bool,
        then: AfterStop,
    },
    /// Exited; restarted at `restart_at`.
    Backoff {
        restart_at: Instant,
    },
    /// Exited and not restarted.
    Done(DoneReason),
}

impl JobState {
    /// The state's name, for debug logging.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Down => "down",
            JobState::Running { .. } => "running",
            JobState::Stopping { .. } => "stopping",
            JobState::Backoff { .. } => "backoff",
            JobState::Done(_) => "done",
        }
    }
}

/// What follows a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStop {
    /// Stay down (disabled, removed, pmtr exiting).
    Down,
    /// Start again at once (changed `depends`, `bounce`).
    Restart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneReason {
    /// A `once` job exited.
    Once,
    /// The job exited with status 33.
    Exit33,
}

/// How a job's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Status(i32),
    Signal(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    /// The loop wants the job running now (its turn has come).
    Start,
    /// The job's own process was reaped.
    Exited(Ending),
    /// The process group of a stopping job has no member left.
    GroupGone,
    /// The job's deadline may have passed.
    Tick,
    /// Stop the job, then stay down or restart.
    Stop(AfterStop),
    /// `fork` failed; retry after `retry_in`.
    ForkFailed { retry_in: Duration },
}

/// What the event loop does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Fork and exec the job; on success the loop sets `Running`.
    Spawn,
    /// SIGTERM to the process group.
    Term(Pid),
    /// SIGKILL to the process group.
    Kill(Pid),
    /// Log that the job exited quickly and waits before its restart.
    WaitBeforeRestart,
}

/// The parts of a job's configuration the state machine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub once: bool,
    pub bounce: Option<Duration>,
    pub kill_after: Duration,
}

/// The next state and action for `event` at `now`.
pub fn step(state: JobState, event: JobEvent, now: Instant, rules: &Rules) -> (JobState, Action) {
    use Action as A;
    use JobEvent as E;
    use JobState as S;
    match (state, event) {
        (S::Down, E::Start) => (S::Down, A::Spawn),
        (S::Running { .. }, E::Start) => (state, A::Nothing),
        (
            S::Stopping {
                pid,
                kill_at,
                leader_gone,
                ..
            },
            E::Start,
        ) => (
            S::Stopping {
                pid,
                kill_at,
                leader_gone,
                then: AfterStop::Restart,
            },
            A::Nothing,
        ),
        // An explicit start (enable, restart) skips the anti-spin wait.
        (S::Backoff { .. }, E::Start) => (S::Down, A::Spawn),
        (S::Done(_), E::Start) => (S::Down, A::Spawn),

        (S::Running { since, .. }, E::Exited(ending)) => {
            if ending == Ending::Status(DO_NOT_RESTART) {
                (S::Done(DoneReason::Exit33), A::Nothing)
            } else if rules.once {
                (S::Done(DoneReason::Once), A::Nothing)
            } else if now.saturating_duration_since(since) >= QUICK_EXIT {
                (S::Down, A::Spawn)
            } else {
                (
                    S::Backoff {
                        restart_at: now + QUICK_EXIT,
                    },
                    A::WaitBeforeRestart,
                )
            }
        }
        (
            S::Stopping {
                pid, kill_at, then, ..
            },
            E::Exited(_),
        ) => (
            S::Stopping {
                pid,
                kill_at,
                leader_gone: true,
                then,
            },
            A::Nothing,
        ),
        // Not this job's process: can't happen, the loop looks jobs up by pid.
        (S::Down | S::Backoff { .. } | S::Done(_), E::Exited(_)) => (state, A::Nothing),

        (
            S::Stopping {
                leader_gone: true,
                then,
                ..
            },
            E::GroupGone,
        ) => match then {
            AfterStop::Down => (S::Down, A::Nothing),
            AfterStop::Restart => (S::Down, A::Spawn),
        },
        // The leader still runs, so its group cannot be empty.
        (
            S::Stopping {
                leader_gone: false, ..
            },
            E::GroupGone,
        ) => (state, A::Nothing),
        (S::Down | S::Running { .. } | S::Backoff { .. } | S::Done(_), E::GroupGone) => {
            (state, A::Nothing)
        }

        (S::Running { pid, since }, E::Tick) => match rules.bounce {
            Some(every) if now.saturating_duration_since(since) >= every => (
                S::Stopping {
                    pid,
                    kill_at: Some(now + rules.kill_after),
                    leader_gone: false,
                    then: AfterStop::Restart,
                },
                A::Term(pid),
            ),
            _ => (state, A::Nothing),
        },
        (
            S::Stopping {
                pid,
                kill_at: Some(at),
                leader_gone,
                then,
            },
            E::Tick,
        ) if now >= at => (
            S::Stopping {
                pid,
                kill_at: None,
                leader_gone,
                then,
            },
            A::Kill(pid),
        ),
        (S::Stopping { .. }, E::Tick) => (state, A::Nothing),
        (S::Backoff { restart_at }, E::Tick) if now >= restart_at => (S::Down, A::Spawn),
        (S::Backoff { .. }, E::Tick) => (state, A::Nothing),
        (S::Down | S::Done(_), E::Tick) => (state, A::Nothing),

        (S::Running { pid, .. }, E::Stop(then)) => (
            S::Stopping {
                pid,
                kill_at: Some(now + rules.kill_after),
                leader_gone: false,
                then,
            },
            A::Term(pid),
        ),
        (
            S::Stopping {
                pid,
                kill_at,
                leader_gone,
                ..
            },
            E::Stop(then),
        ) => (
            S::Stopping {
                pid,
                kill_at,
                leader_gone,
                then,
            },
            A::Nothing,
        ),
        (S::Down | S::Backoff { .. } | S::Done(_), E::Stop(AfterStop::Restart)) => {
            (S::Down, A::Spawn)
        }
        (S::Down | S::Backoff { .. }, E::Stop(AfterStop::Down)) => (S::Down, A::Nothing),
        (S::Done(_), E::Stop(AfterStop::Down)) => (state, A::Nothing),

        (
            S::Down | S::Backoff { .. } | S::Done(_) | S::Running { .. } | S::Stopping { .. },
            E::ForkFailed { retry_in },
        ) => (
            S::Backoff {
                restart_at: now + retry_in,
            },
            A::Nothing,
        ),
    }
}

/// When `state` next needs a [`JobEvent::Tick`], if ever.
pub fn deadline(state: &JobState, rules: &Rules) -> Option<Instant> {
    match *state {
        JobState::Running { since, .. } => rules.bounce.map(|every| since + every),
        JobState::Stopping { kill_at, .. } => kill_at,
        JobState::Backoff { restart_at } => Some(restart_at),
        JobState::Down | JobState::Done(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        once: false,
        bounce: None,
        kill_after: Duration::from_secs(10),
    };

    fn pid() -> Pid {
        Pid::from_raw(1234).unwrap()
    }

    fn running(since: Instant) -> JobState {
        JobState::Running { pid: pid(), since }
    }

    #[test]
    fn start_spawns() {
        assert_eq!(
            step(JobState::Down, JobEvent::Start, Instant::now(), &RULES),
            (JobState::Down, Action::Spawn)
        );
    }

    #[test]
    fn long_run_restarts_at_once() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(10);
        assert_eq!(
            step(
                running(t0),
                JobEvent::Exited(Ending::Status(1)),
                now,
                &RULES
            ),
            (JobState::Down, Action::Spawn)
        );
    }

    #[test]
    fn quick_exit_waits_ten_seconds() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(3);
        let (state, action) = step(
            running(t0),
            JobEvent::Exited(Ending::Signal(9)),
            now,
            &RULES,
        );
        assert_eq!(
            state,
            JobState::Backoff {
                restart_at: now + QUICK_EXIT
            }
        );
        assert_eq!(action, Action::WaitBeforeRestart);
        assert_eq!(
            step(state, JobEvent::Tick, now + Duration::from_secs(9), &RULES).1,
            Action::Nothing
        );
        assert_eq!(
            step(state, JobEvent::Tick, now + QUICK_EXIT, &RULES),
            (JobState::Down, Action::Spawn)
        );
    }

    #[test]
    fn exit_33_is_not_restarted() {
        let t0 = Instant::now();
        let (state, action) = step(
            running(t0),
            JobEvent::Exited(Ending::Status(33)),
            t0,
            &RULES,
        );
        assert_eq!(
            (state, action),
            (JobState::Done(DoneReason::Exit33), Action::Nothing)
        );
        assert_eq!(deadline(&state, &RULES), None);
    }

    #[test]
    fn once_is_not_restarted() {
        let rules = Rules {
            once: true,
            ..RULES
        };
        let t0 = Instant::now();
        let (state, _) = step(
            running(t0),
            JobEvent::Exited(Ending::Status(0)),
            t0 + Duration::from_secs(60),
            &rules,
        );
        assert_eq!(state, JobState::Done(DoneReason::Once));
    }

    #[test]
    fn stop_sends_term_then_kill() {
        let t0 = Instant::now();
        let (state, action) = step(running(t0), JobEvent::Stop(AfterStop::Down), t0, &RULES);
        assert_eq!(action, Action::Term(pid()));
        assert_eq!(deadline(&state, &RULES), Some(t0 + RULES.kill_after));
        assert_eq!(
            step(state, JobEvent::Tick, t0 + Duration::from_secs(5), &RULES).1,
            Action::Nothing
        );
        let (state, action) = step(state, JobEvent::Tick, t0 + RULES.kill_after, &RULES);
        assert_eq!(action, Action::Kill(pid()));
        assert_eq!(deadline(&state, &RULES), None);
    }

    #[test]
    fn stop_ends_when_group_is_gone() {
        let t0 = Instant::now();
        let (state, _) = step(running(t0), JobEvent::Stop(AfterStop::Down), t0, &RULES);
        // The group can't be gone while the leader runs.
        assert_eq!(step(state, JobEvent::GroupGone, t0, &RULES).0, state);
        let (state, _) = step(state, JobEvent::Exited(Ending::Signal(15)), t0, &RULES);
        assert_eq!(
            step(state, JobEvent::GroupGone, t0, &RULES),
            (JobState::Down, Action::Nothing)
        );
    }

    #[test]
    fn restart_after_stop_spawns() {
        let t0 = Instant::now();
        let (state, _) = step(running(t0), JobEvent::Stop(AfterStop::Restart), t0, &RULES);
        let (state, _) = step(state, JobEvent::Exited(Ending::Signal(15)), t0, &RULES);
        assert_eq!(
            step(state, JobEvent::GroupGone, t0, &RULES),
            (JobState::Down, Action::Spawn)
        );
    }

    #[test]
    fn bounce_stops_and_restarts() {
        let rules = Rules {
            bounce: Some(Duration::from_secs(60)),
            ..RULES
        };
        let t0 = Instant::now();
        assert_eq!(
            deadline(&running(t0), &rules),
            Some(t0 + Duration::from_secs(60))
        );
        assert_eq!(
            step(
                running(t0),
                JobEvent::Tick,
                t0 + Duration::from_secs(59),
                &rules
            )
            .1,
            Action::Nothing
        );
        let (state, action) = step(
            running(t0),
            JobEvent::Tick,
            t0 + Duration::from_secs(60),
            &rules,
        );
        assert_eq!(action, Action::Term(pid()));
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Restart,
                ..
            }
        ));
    }

    #[test]
    fn fork_failure_backs_off() {
        let t0 = Instant::now();
        let retry_in = Duration::from_secs(2);
        let (state, _) = step(
            JobState::Down,
            JobEvent::ForkFailed { retry_in },
            t0,
            &RULES,
        );
        assert_eq!(
            state,
            JobState::Backoff {
                restart_at: t0 + retry_in
            }
        );
    }

    #[test]
    fn explicit_start_skips_backoff() {
        let t0 = Instant::now();
        let state = JobState::Backoff {
            restart_at: t0 + QUICK_EXIT,
        };
        assert_eq!(
            step(state, JobEvent::Start, t0, &RULES),
            (JobState::Down, Action::Spawn)
        );
    }

    #[test]
    fn stop_of_a_waiting_job_cancels_its_restart() {
        let t0 = Instant::now();
        let state = JobState::Backoff {
            restart_at: t0 + QUICK_EXIT,
        };
        assert_eq!(
            step(state, JobEvent::Stop(AfterStop::Down), t0, &RULES),
            (JobState::Down, Action::Nothing)
        );
    }
}
