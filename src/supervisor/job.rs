//! One job's state machine (SPEC §4–5): every state change of a job goes
//! through [`step`].
//!
//! `step` is pure: given the state, what the job remembers across runs
//! ([`History`]), an event, the time and the job's rules, it returns the
//! next state and the one action the event loop must perform. Every
//! (state, event) pair is written out — no `_` arm — so the compiler
//! checks the table, each rule is unit-tested without forking, and a pair
//! that cannot happen is answered with [`Action::CantHappen`], which the
//! loop logs, instead of being dropped silently.
//!
//! Adding a state means editing this file (the enum, `step`, [`deadline`]
//! and their tests) and the one arm of the loop's `perform` that carries
//! out any new action.

use crate::clock::Instant;
use crate::packed::msg;
use crate::prelude::*;
use core::time::Duration;

use rustix::process::{Pid, Signal};

/// A job that ran less than this is restarted only this long after it
/// exited (anti-spin, SPEC §4), unless `restart delay` says otherwise.
pub const QUICK_EXIT: Duration = Duration::from_secs(10);

/// Exit status by which a job asks not to be restarted (SPEC §4).
pub const DO_NOT_RESTART: i32 = 33;

/// First wait after a failed spawn (fork or pipe); doubles per failure in
/// a row up to [`SPAWN_RETRY_MAX`].
pub const SPAWN_RETRY_MIN: Duration = Duration::from_secs(1);
pub const SPAWN_RETRY_MAX: Duration = Duration::from_secs(60);

/// Where a job stands.
///
/// `repr(u32)`: each variant laid out as a C struct after the tag, so
/// the three with a process have `pid` and `since` at the same offsets,
/// read without a match on the variant; the size stays 40 bytes on
/// 64-bit targets (issue 18, bytes: min x86_64 -272, most of it `step`,
/// `write_status`, `on_signals` and `Job::pid`, now a load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum JobState {
    /// Not started since it was configured: its turn has not come (`order`,
    /// `wait`, its old version still stopping) or it is not wanted.
    Pending,
    /// Stopped on purpose (disabled, `pmtr stop`, removed, pmtr exiting)
    /// and not restarted until it is wanted again.
    Stopped,
    /// The loop is starting it: between [`Action::Spawn`] and the
    /// [`JobEvent::Spawned`] or [`JobEvent::SpawnFailed`] that says how it
    /// went, both within the same turn.
    Spawning,
    /// Its process runs; `up` says whether it is ready and healthy.
    Running { pid: Pid, since: Instant, up: Up },
    /// Asked to stop, but jobs that restart with it (`after NAME
    /// restart`) are still up: it is signalled once they are gone
    /// ([`JobEvent::DependentsGone`], issue 16).
    Holding {
        pid: Pid,
        since: Instant,
        then: AfterStop,
    },
    /// The stop signal was sent to the process group; SIGKILL follows at
    /// `kill_at` (`None` once sent). `leader_gone` once the job's own
    /// process has been reaped; the stop is over when its whole group is
    /// gone. `since` is when the process started, for the exit log line.
    Stopping {
        pid: Pid,
        since: Instant,
        kill_at: Option<Instant>,
        leader_gone: bool,
        then: AfterStop,
    },
    /// Exited quickly, or could not be spawned: started again at
    /// `restart_at`. (`waiting` in `pmtr status`.)
    Waiting { restart_at: Instant },
    /// Exited and not restarted.
    Done(DoneReason),
    /// Gave up after `give up after N in T` quick exits (issue 15): not
    /// restarted until `pmtr start`, a change of the job or pmtr's restart.
    Failed,
}

/// The state's name, looked up only when a line is written: `step_job`'s
/// debug line is formatted only with `-v`, and every step passes it.
impl core::fmt::Display for JobState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl crate::packed::Show for JobState {}

impl JobState {
    /// Whether `self` and `other` differ: the derived `!=`, kept out of
    /// line. `step_job` asks it once per step; inlined there it was 408
    /// bytes of armv7 where the call is one (issue 18, bytes).
    #[inline(never)]
    pub fn differs(&self, other: &JobState) -> bool {
        self != other
    }

    /// The state's name, for debug logging (as its `Display`); a running
    /// job's says how it is up. By place in one word list: a pointer and
    /// a length per name at each arm were more code (issue 18, bytes).
    /// Each name at its variant's place (Running's, 3, left empty), a
    /// running job's four after them: the index is the tag, plus an
    /// offset for a running job (issue 18, bytes: min x86_64 -64; one
    /// match, its running arm computed, was a chain of compares).
    pub fn name(&self) -> &'static str {
        const NAMES: &str = "pending\0stopped\0spawning\0\0holding\0stopping\0waiting\0\
            done\0failed\0starting\0running\0unhealthy\0leaving\0";
        // Two matches, each of constants only, which LLVM folds into a
        // read of the tag and a select: see above.
        let tag = match self {
            JobState::Pending => 0,
            JobState::Stopped => 1,
            JobState::Spawning => 2,
            JobState::Running { .. } => 3,
            JobState::Holding { .. } => 4,
            JobState::Stopping { .. } => 5,
            JobState::Waiting { .. } => 6,
            JobState::Done(_) => 7,
            JobState::Failed => 8,
        };
        let up = match self {
            JobState::Running { up, .. } => match up {
                Up::Starting => 6,
                Up::Ready { .. } => 7,
                Up::Unhealthy { .. } => 8,
                Up::Leaving { .. } => 9,
            },
            _ => 0,
        };
        let i = tag + up;
        crate::config::nth_word(NAMES, i)
    }

    /// The job's process, while it has one.
    pub fn pid(&self) -> Option<Pid> {
        match *self {
            JobState::Running { pid, .. }
            | JobState::Holding { pid, .. }
            | JobState::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Running, or scheduled to run again: what a job that is no longer
    /// wanted must be stopped from.
    pub fn is_up(&self) -> bool {
        matches!(self, JobState::Running { .. } | JobState::Waiting { .. })
    }
}

/// Whether a running job is ready and healthy (issue 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    /// Started, not ready yet: it has a `ready` option, or is a `once`
    /// job (ready when it exited 0).
    Starting,
    /// Ready since `at`. `alive_at`: its last sign of life, from which
    /// the `watchdog` counts (readiness, then each WATCHDOG=1).
    Ready { at: Instant, alive_at: Instant },
    /// `fails` checks in a row failed, the first at `at`.
    Unhealthy {
        at: Instant,
        alive_at: Instant,
        fails: u32,
    },
    /// It said STOPPING=1 at `at`: it is shutting down by itself.
    Leaving { at: Instant },
}

/// What follows a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStop {
    /// Stay down (disabled, removed, pmtr exiting).
    Down,
    /// Start again at once (changed `depends`, `bounce`, `pmtr restart`,
    /// failed checks, watchdog).
    Restart,
    /// Start again as after a quick exit (`ready timeout`, issue 16).
    Retry,
}

/// Why pmtr stops a job that is running (issue 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Not ready within its `ready timeout`.
    NotReady(Duration),
    /// No WATCHDOG=1 for its `watchdog` time.
    Watchdog(Duration),
    /// This many checks failed in a row (`check fails`).
    Unhealthy(u32),
}

/// A change of readiness or health worth a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Ready,
    /// The n-th check in a row failed (fewer than `check fails`).
    CheckFailed(u32),
    Recovered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneReason {
    /// A `once` job exited.
    Once,
    /// The job exited with status 33.
    Exit33,
    /// A `restart on-failure` job exited with status 0.
    Succeeded,
}

/// How a job's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Status(i32),
    Signal(i32),
}

/// `exit status 1` or `signal 9`, as the log says it (SPEC §4).
impl core::fmt::Display for Ending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The word, then the number: no format of two pieces per arm
        // (issue 18, bytes). Never formatted with a width or fill.
        let (word, n) = match *self {
            Ending::Status(n) => ("exit status ", n),
            Ending::Signal(n) => ("signal ", n),
        };
        f.write_str(word)?;
        crate::packed::show(&n, f)
    }
}

impl crate::packed::Show for Ending {}

/// What a job remembers across its runs, since it was (re)configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Processes started.
    pub starts: u32,
    /// When the last process started.
    pub last_start: Option<Instant>,
    /// How the last process ended, and when.
    pub last_exit: Option<(Ending, Instant)>,
    /// Failed spawns in a row: the retry wait doubles with each.
    pub spawn_failures: u32,
    /// The wait the last quick exit got; doubles with each further one
    /// under `restart delay T max T2`; `None` again after a long run.
    pub delay: Option<Duration>,
    /// When the latest quick exits happened, for `give up`.
    pub quick_exits: QuickExits,
    /// Quick exits since the job was (re)configured (the metrics'
    /// `pmtr_job_quick_exits_total`).
    pub quick_exit_count: u32,
}

/// The times of a job's latest quick exits, for `give up after N in T`
/// (issue 15): a ring of N made when the job is loaded, so that counting
/// a quick exit allocates nothing. Boxed: one pointer in the many jobs
/// without `give up` (issue 18).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuickExits(Option<Box<Ring>>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ring {
    /// The quick exits recorded, at most `size`: made with room for
    /// `size` and filled by pushes, then overwritten, so that no
    /// recording allocates. Empty when made: no `vec![now; N]` filled
    /// with times never read (issue 18, bytes).
    at: Vec<Instant>,
    /// Where the next one goes once the ring is full: the oldest. (At
    /// most 100: `give up after N`, N <= 100.)
    next: u32,
    size: u32,
}

impl QuickExits {
    /// A ring for `capacity` quick exits (`give up after N`; 0 without).
    /// Out of line but on aarch64: not in `Jobs::apply`'s frame (issue
    /// 18, bytes: min armv6 -8, x86_64 -16; aarch64 +32, so inlined
    /// there).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    pub fn new(capacity: usize) -> QuickExits {
        QuickExits((capacity > 0).then(|| {
            Box::new(Ring {
                at: Vec::with_capacity(capacity),
                next: 0,
                size: capacity as u32,
            })
        }))
    }

    fn record(&mut self, now: Instant) {
        let Some(r) = &mut self.0 else { return };
        if r.at.len() < r.size as usize {
            // Within the room `new` made: no allocation.
            r.at.push(now);
        } else if let Some(slot) = r.at.get_mut(r.next as usize) {
            *slot = now;
            // Wrapped by a compare: no division (issue 18, bytes).
            r.next += 1;
            if r.next == r.size {
                r.next = 0;
            }
        }
    }

    /// How many of them are at most `window` old at `now`.
    pub fn within(&self, window: Duration, now: Instant) -> u32 {
        let Some(r) = &self.0 else { return 0 };
        r.at.iter().filter(|&&at| now <= at + window).count() as u32
    }

    fn clear(&mut self) {
        if let Some(r) = &mut self.0 {
            r.at.clear();
            r.next = 0;
        }
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.0.as_ref().map_or(0, |r| r.size as usize)
    }
}

impl History {
    /// Whether a process of the job has exited since it was configured
    /// (what `wait` waits for).
    pub fn exited(&self) -> bool {
        self.last_exit.is_some()
    }
}

/// `repr(u8)`: the tag a byte and each variant's fields after it as in
/// a C struct, so `step`'s tests of the event read it at fixed places
/// (issue 18, bytes: min x86_64 -128; `step` -239, its callers +8 to
/// +19 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum JobEvent {
    /// The job is wanted and its turn has come (the loop's reconcile).
    Start,
    /// The operator asks for it now (`pmtr start`): skips the wait before
    /// a restart, runs a finished job again, restarts once a stop is over.
    StartNow,
    /// UDP `enable`: a finished job runs again, but no sooner than the
    /// anti-spin rule allows after its last start (SPEC §4, §8).
    Wake,
    /// The loop spawned the job's process. (A `Stop(Down)` instead means
    /// it did not, and will not: pmtr is exiting.)
    Spawned {
        pid: Pid,
    },
    /// The spawn failed (fork or pipe: passing conditions); retried later.
    SpawnFailed,
    /// The job's own process was reaped.
    Exited(Ending),
    /// The process group of a stopping job has no member left.
    GroupGone,
    /// The job's deadline may have passed.
    Tick,
    /// Stop the job, then stay down or restart (`pmtr restart` is
    /// `Stop(Restart)`).
    Stop(AfterStop),
    /// pmtr got a second SIGTERM/SIGINT while stopping: SIGKILL now.
    KillNow,
    /// The configuration changed and this job is unchanged in it: "do
    /// not restart me" (exit 33) ends here (SPEC §4).
    ConfigChanged,
    /// `pmtr reload` (with the job's reload signal) or `pmtr signal`:
    /// send this signal to the job's process group, if it has one.
    Signal(Signal),
    // Issue 16.
    /// The job is ready: READY=1, a newline on its ready fd, or its
    /// `ready when` command passed.
    Ready,
    /// WATCHDOG=1.
    Alive,
    /// STOPPING=1.
    Leaving,
    /// Its `check` command passed, or failed (or timed out).
    CheckPassed,
    CheckFailed,
    /// The jobs that restart with a holding job are all gone.
    DependentsGone,
}

/// What the event loop does after a step. `repr(u8)`, as [`JobEvent`]
/// (issue 18, bytes: with the probe machine's three, min x86_64 -32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Action {
    Nothing,
    /// Spawn the job's process; report the result with
    /// [`JobEvent::Spawned`] or [`JobEvent::SpawnFailed`].
    Spawn,
    /// Send this signal to the process group: the job's stop signal
    /// (SIGTERM unless `stop signal` says otherwise) when stopping it, or
    /// what `pmtr reload|signal` asked for.
    Signal(Pid, Signal),
    /// SIGKILL to the process group.
    Kill(Pid),
    /// Log that the job exited quickly and waits this long before its
    /// restart.
    WaitBeforeRestart(Duration),
    /// Log that the spawn failed and is retried after this long.
    RetrySpawn(Duration),
    /// Log at ERR, once, that the job gave up (`give up`, issue 15), with
    /// its last exit; with `then exit`, stop every job and exit 1.
    GiveUp,
    /// Log why the job is stopped, then its stop signal to the group.
    Fault(Pid, Fault),
    /// Log why, if there is a reason, and stop the jobs that restart with
    /// this one; [`JobEvent::DependentsGone`] follows once they are gone.
    StopDependents(Option<Fault>),
    /// Log a change of readiness or health.
    Note(Note),
    /// The event makes no sense in the state: a bug to log, not to act on;
    /// what happened, packed by [`msg!`] (issue 18, bytes).
    CantHappen(&'static [u8]),
}

/// The parts of a job's configuration the state machine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// `once` or `restart never`.
    pub once: bool,
    /// What [`deadline`] reads.
    pub timers: Timers,
    pub kill_after: Duration,
    // Issue 15.
    /// `restart on-failure`: exit status 0 ends the job.
    pub on_failure: bool,
    /// The wait after a quick exit: 10 s, or `restart delay T`.
    pub delay: Duration,
    /// `restart delay T max T2`: each further quick exit doubles the wait
    /// up to T2, and a run of T2 is not quick. Without it the wait stays
    /// T, and a run of 10 s is not quick.
    pub delay_max: Option<Duration>,
    pub give_up: Option<GiveUp>,
    /// Sent first by every stop (SIGTERM unless `stop signal`). (What
    /// `pmtr reload` sends is not a rule of the machine's: the control
    /// socket reads it from the spec, `jobs::reload_signal`, and no step
    /// works it out; issue 18, bytes.)
    pub stop_signal: Signal,
    // Issue 16.
    /// Not ready when started (a `ready` option, or `once`).
    pub waits_ready: bool,
    /// `check fails N`; 0 without a check.
    pub check_fails: u32,
    /// It has `after`: it is started again only through the reconcile,
    /// which waits for its dependencies, never straight by its own timer.
    pub gated: bool,
    /// Jobs restart with it (`after THIS restart`): its stop waits for
    /// theirs.
    pub held: bool,
}

/// The timers of a running job: all of its rules that [`deadline`]
/// reads. Apart, so the loop can find each job's next deadline at every
/// wakeup without working out all its [`Rules`] (issue 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timers {
    /// `bounce every T`: a planned restart.
    pub bounce: Option<Duration>,
    /// `ready ... timeout T`: stopped if not ready by then.
    pub ready_timeout: Option<Duration>,
    /// `ready notify watchdog T`: restarted if silent that long.
    pub watchdog: Option<Duration>,
}

/// `give up after N in T [then exit]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUp {
    pub after: u32,
    pub within: Duration,
    pub then_exit: bool,
}

/// A run shorter than this is a quick exit: it waits before its restart
/// and counts towards `give up`.
pub fn quick_run(rules: &Rules) -> Duration {
    rules.delay_max.unwrap_or(QUICK_EXIT)
}

/// After a quick exit: give up when the window holds N of them, else wait
/// the delay, doubled for each quick exit since the last long run up to
/// the max (issue 15).
fn after_quick_exit(history: &mut History, now: Instant, rules: &Rules) -> (JobState, Action) {
    history.quick_exit_count = history.quick_exit_count.wrapping_add(1);
    if let Some(give_up) = rules.give_up {
        history.quick_exits.record(now);
        if history.quick_exits.within(give_up.within, now) >= give_up.after {
            return (JobState::Failed, Action::GiveUp);
        }
    }
    let wait = match (history.delay, rules.delay_max) {
        (Some(last), Some(max)) => last.saturating_mul(2).min(max),
        _ => rules.delay,
    };
    history.delay = Some(wait);
    (
        JobState::Waiting {
            restart_at: now + wait,
        },
        Action::WaitBeforeRestart(wait),
    )
}

/// The wait before retrying after `failures` failed spawns in a row.
fn spawn_retry(failures: u32) -> Duration {
    SPAWN_RETRY_MIN
        .saturating_mul(1 << failures.min(6))
        .min(SPAWN_RETRY_MAX)
}

/// A job whose stop signal is sent at `now`: SIGKILL follows `kill
/// after` later.
fn stopping(pid: Pid, since: Instant, then: AfterStop, now: Instant, rules: &Rules) -> JobState {
    JobState::Stopping {
        pid,
        since,
        kill_at: Some(now + rules.kill_after),
        leader_gone: false,
        then,
    }
}

/// Every stop of a running job: signalled now, or held until the jobs
/// that restart with it are gone (issue 16). A function, not a closure
/// of `step`'s: its arguments in registers, not read through the
/// closures' references (issue 18, bytes).
fn stop(
    pid: Pid,
    since: Instant,
    then: AfterStop,
    why: Option<Fault>,
    now: Instant,
    rules: &Rules,
) -> (JobState, Action) {
    match (rules.held, why) {
        (true, why) => (
            JobState::Holding { pid, since, then },
            Action::StopDependents(why),
        ),
        (false, Some(fault)) => (
            stopping(pid, since, then, now, rules),
            Action::Fault(pid, fault),
        ),
        (false, None) => (
            stopping(pid, since, then, now, rules),
            Action::Signal(pid, rules.stop_signal),
        ),
    }
}

/// The next state and action for `event` at `now`; updates `history`.
#[inline(never)]
pub fn step(
    state: JobState,
    history: &mut History,
    event: JobEvent,
    now: Instant,
    rules: &Rules,
) -> (JobState, Action) {
    use Action as A;
    use JobEvent as E;
    use JobState as S;
    let stopping = |pid, since, then| stopping(pid, since, then, now, rules);
    let stop_signal = |pid| A::Signal(pid, rules.stop_signal);
    let stop = |pid, since, then, why| stop(pid, since, then, why, now, rules);
    // A start pmtr makes by itself (not the operator's): a job with
    // `after` goes back to the reconcile, which starts it once its
    // dependencies are ready (issue 16).
    let restart = || {
        if rules.gated {
            (S::Pending, A::Nothing)
        } else {
            (S::Spawning, A::Spawn)
        }
    };
    let running = |pid, since, up| S::Running { pid, since, up };
    // An explicit start of a job that is stopping: its stop ends in a
    // restart (a stop that restarts, not a call of `step` by itself;
    // issue 18, bytes).
    let event = match (state, event) {
        (S::Holding { .. } | S::Stopping { .. }, E::StartNow) => E::Stop(AfterStop::Restart),
        _ => event,
    };
    // The pairs that cannot happen name what happened, and leave the
    // state as it was, at one place: not a copy of the state and the
    // action's stores in each of their arms (issue 18, bytes).
    let what = 'cant: {
        let next = match (state, event) {
            (S::Pending | S::Stopped, E::Start | E::StartNow) => (S::Spawning, A::Spawn),
            // Its turn came long ago: the reconcile's Start changes nothing.
            (
                S::Running { .. }
                | S::Holding { .. }
                | S::Stopping { .. }
                | S::Waiting { .. }
                | S::Done(_),
                E::Start,
            ) => (state, A::Nothing),
            // (A stopping job's StartNow is its Stop(Restart), made above.)
            (S::Running { .. } | S::Holding { .. } | S::Stopping { .. }, E::StartNow) => {
                (state, A::Nothing)
            }
            // An explicit start skips the anti-spin wait and wakes a finished job.
            (S::Waiting { .. } | S::Done(_), E::StartNow) => (S::Spawning, A::Spawn),

            (S::Done(_), E::Wake) => match history.last_start {
                Some(at) if now < at + QUICK_EXIT => (
                    S::Waiting {
                        restart_at: at + QUICK_EXIT,
                    },
                    A::Nothing,
                ),
                _ => restart(),
            },
            // Not finished: wanting it is enough (the reconcile starts it).
            (
                S::Pending
                | S::Stopped
                | S::Running { .. }
                | S::Holding { .. }
                | S::Stopping { .. }
                | S::Waiting { .. },
                E::Wake,
            ) => (state, A::Nothing),

            (S::Spawning, E::Spawned { pid }) => {
                history.starts = history.starts.wrapping_add(1);
                history.last_start = Some(now);
                history.spawn_failures = 0;
                let up = if rules.waits_ready {
                    Up::Starting
                } else {
                    Up::Ready {
                        at: now,
                        alive_at: now,
                    }
                };
                (running(pid, now, up), A::Nothing)
            }
            (S::Spawning, E::SpawnFailed) => {
                let retry_in = spawn_retry(history.spawn_failures);
                history.spawn_failures = history.spawn_failures.saturating_add(1);
                (
                    S::Waiting {
                        restart_at: now + retry_in,
                    },
                    A::RetrySpawn(retry_in),
                )
            }
            (
                S::Pending
                | S::Stopped
                | S::Running { .. }
                | S::Holding { .. }
                | S::Stopping { .. }
                | S::Waiting { .. }
                | S::Done(_),
                E::Spawned { .. } | E::SpawnFailed,
            ) => break 'cant msg!(0, "a spawn result for a job that was not spawning"),
            // The loop may not spawn after all (pmtr is exiting).
            (S::Spawning, E::Stop(AfterStop::Down)) => (S::Stopped, A::Nothing),
            (
                S::Spawning,
                E::Start
                | E::StartNow
                | E::Wake
                | E::Exited(_)
                | E::GroupGone
                | E::Tick
                | E::Stop(AfterStop::Restart | AfterStop::Retry)
                | E::KillNow
                | E::ConfigChanged
                | E::Signal(_)
                | E::Ready
                | E::Alive
                | E::Leaving
                | E::CheckPassed
                | E::CheckFailed
                | E::DependentsGone,
            ) => break 'cant msg!(0, "an event between a spawn and its result"),

            (S::Running { since, .. }, E::Exited(ending)) => {
                history.last_exit = Some((ending, now));
                if ending == Ending::Status(DO_NOT_RESTART) {
                    (S::Done(DoneReason::Exit33), A::Nothing)
                } else if rules.once {
                    (S::Done(DoneReason::Once), A::Nothing)
                } else if rules.on_failure && ending == Ending::Status(0) {
                    (S::Done(DoneReason::Succeeded), A::Nothing)
                } else if now >= since + quick_run(rules) {
                    // A long run: the backoff starts over.
                    history.delay = None;
                    restart()
                } else {
                    after_quick_exit(history, now, rules)
                }
            }
            // It exited while its dependents stop: what is left of its group
            // is stopped now.
            (S::Holding { pid, since, then }, E::Exited(ending)) => {
                history.last_exit = Some((ending, now));
                (
                    S::Stopping {
                        pid,
                        since,
                        kill_at: Some(now + rules.kill_after),
                        leader_gone: true,
                        then,
                    },
                    stop_signal(pid),
                )
            }
            (
                S::Stopping {
                    pid,
                    since,
                    kill_at,
                    then,
                    ..
                },
                E::Exited(ending),
            ) => {
                history.last_exit = Some((ending, now));
                (
                    S::Stopping {
                        pid,
                        since,
                        kill_at,
                        leader_gone: true,
                        then,
                    },
                    A::Nothing,
                )
            }
            // The loop finds jobs by the pid of their process.
            (S::Pending | S::Stopped | S::Waiting { .. } | S::Done(_), E::Exited(_)) => {
                break 'cant msg!(0, "an exit of a job without a process");
            }

            (
                S::Stopping {
                    leader_gone: true,
                    then,
                    ..
                },
                E::GroupGone,
            ) => match then {
                AfterStop::Down => (S::Stopped, A::Nothing),
                AfterStop::Restart => restart(),
                // Not ready in time (issue 16): as after a quick exit.
                AfterStop::Retry => after_quick_exit(history, now, rules),
            },
            // The leader still runs, so its group cannot be empty.
            (
                S::Stopping {
                    leader_gone: false, ..
                }
                | S::Running { .. }
                | S::Holding { .. },
                E::GroupGone,
            ) => break 'cant msg!(0, "an empty group while its leader runs"),
            (S::Pending | S::Stopped | S::Waiting { .. } | S::Done(_), E::GroupGone) => {
                break 'cant msg!(0, "a stop ended for a job that was not stopping");
            }

            (S::Running { pid, since, up }, E::Tick) => {
                let past = |d: Option<Duration>, from: Instant| d.is_some_and(|d| now >= from + d);
                // The stop and its fault picked first, then one call of
                // `stop` (issue 18, bytes).
                let (then, why) = match (up, rules.timers.ready_timeout, rules.timers.watchdog) {
                    (Up::Starting, Some(t), _) if past(Some(t), since) => {
                        (AfterStop::Retry, Some(Fault::NotReady(t)))
                    }
                    (Up::Ready { alive_at, .. } | Up::Unhealthy { alive_at, .. }, _, Some(w))
                        if past(Some(w), alive_at) =>
                    {
                        (AfterStop::Restart, Some(Fault::Watchdog(w)))
                    }
                    _ if past(rules.timers.bounce, since) => (AfterStop::Restart, None),
                    _ => return (state, A::Nothing),
                };
                stop(pid, since, then, why)
            }
            (
                S::Stopping {
                    pid,
                    since,
                    kill_at: Some(at),
                    leader_gone,
                    then,
                },
                E::Tick,
            ) if now >= at => (
                S::Stopping {
                    pid,
                    since,
                    kill_at: None,
                    leader_gone,
                    then,
                },
                A::Kill(pid),
            ),
            (S::Stopping { .. }, E::Tick) => (state, A::Nothing),
            (S::Waiting { restart_at }, E::Tick) if now >= restart_at => restart(),
            (S::Waiting { .. }, E::Tick) => (state, A::Nothing),
            (S::Pending | S::Stopped | S::Holding { .. } | S::Done(_), E::Tick) => {
                (state, A::Nothing)
            }

            (S::Running { pid, since, .. }, E::Stop(then)) => stop(pid, since, then, None),
            (S::Holding { pid, since, .. }, E::Stop(then)) => {
                (S::Holding { pid, since, then }, A::Nothing)
            }
            (
                S::Stopping {
                    pid,
                    since,
                    kill_at,
                    leader_gone,
                    ..
                },
                E::Stop(then),
            ) => (
                S::Stopping {
                    pid,
                    since,
                    kill_at,
                    leader_gone,
                    then,
                },
                A::Nothing,
            ),
            (
                S::Pending | S::Stopped | S::Waiting { .. } | S::Done(_),
                E::Stop(AfterStop::Restart | AfterStop::Retry),
            ) => (S::Spawning, A::Spawn),
            (S::Pending | S::Stopped | S::Waiting { .. }, E::Stop(AfterStop::Down)) => {
                (S::Stopped, A::Nothing)
            }
            // Finished stays finished: `pmtr status` still says how it ended.
            (S::Done(_), E::Stop(AfterStop::Down)) => (state, A::Nothing),

            (
                S::Stopping {
                    pid,
                    since,
                    kill_at: Some(_),
                    leader_gone,
                    then,
                },
                E::KillNow,
            ) => (
                S::Stopping {
                    pid,
                    since,
                    kill_at: None,
                    leader_gone,
                    then,
                },
                A::Kill(pid),
            ),
            // pmtr is exiting for good: its dependents are being killed too.
            (S::Holding { pid, since, then }, E::KillNow) => (
                S::Stopping {
                    pid,
                    since,
                    kill_at: None,
                    leader_gone: false,
                    then,
                },
                A::Kill(pid),
            ),
            // Killed already, or nothing running to kill.
            (
                S::Stopping { kill_at: None, .. }
                | S::Pending
                | S::Stopped
                | S::Running { .. }
                | S::Waiting { .. }
                | S::Done(_),
                E::KillNow,
            ) => (state, A::Nothing),

            (S::Done(DoneReason::Exit33), E::ConfigChanged) => (S::Pending, A::Nothing),
            (
                S::Pending
                | S::Stopped
                | S::Running { .. }
                | S::Holding { .. }
                | S::Stopping { .. }
                | S::Waiting { .. }
                | S::Done(DoneReason::Once | DoneReason::Succeeded),
                E::ConfigChanged,
            ) => (state, A::Nothing),

            // `pmtr reload|signal` (issue 15): to the group while it has one.
            (
                S::Running { pid, .. } | S::Holding { pid, .. } | S::Stopping { pid, .. },
                E::Signal(sig),
            ) => (state, A::Signal(pid, sig)),
            (S::Pending | S::Stopped | S::Waiting { .. } | S::Done(_), E::Signal(_)) => {
                (state, A::Nothing)
            }

            // Gave up (issue 15): only an explicit start or restart runs it
            // again, with a fresh window and delay; a change of the job makes
            // a new one, and pmtr's restart forgets it.
            (S::Failed, E::StartNow | E::Stop(AfterStop::Restart | AfterStop::Retry)) => {
                history.quick_exits.clear();
                history.delay = None;
                (S::Spawning, A::Spawn)
            }
            (
                S::Failed,
                E::Start
                | E::Wake
                | E::Tick
                | E::Stop(AfterStop::Down)
                | E::KillNow
                | E::ConfigChanged
                | E::Signal(_)
                | E::Ready
                | E::Alive
                | E::Leaving,
            ) => (state, A::Nothing),
            (S::Failed, E::Spawned { .. } | E::SpawnFailed) => {
                break 'cant msg!(0, "a spawn result for a job that was not spawning");
            }
            (S::Failed, E::Exited(_)) => break 'cant msg!(0, "an exit of a job without a process"),
            (S::Failed, E::GroupGone) => {
                break 'cant msg!(0, "a stop ended for a job that was not stopping");
            }

            // Readiness and health (issue 16). What a job says about itself
            // counts only while it runs; anything else is a late message.
            (
                S::Running {
                    pid,
                    since,
                    up: Up::Starting,
                },
                E::Ready,
            ) => (
                running(
                    pid,
                    since,
                    Up::Ready {
                        at: now,
                        alive_at: now,
                    },
                ),
                A::Note(Note::Ready),
            ),
            (
                S::Running {
                    pid,
                    since,
                    up: Up::Ready { at, .. },
                },
                E::Alive,
            ) => (
                running(pid, since, Up::Ready { at, alive_at: now }),
                A::Nothing,
            ),
            (
                S::Running {
                    pid,
                    since,
                    up: Up::Unhealthy { at, fails, .. },
                },
                E::Alive,
            ) => (
                running(
                    pid,
                    since,
                    Up::Unhealthy {
                        at,
                        alive_at: now,
                        fails,
                    },
                ),
                A::Nothing,
            ),
            (S::Running { pid, since, up }, E::Leaving) if !matches!(up, Up::Leaving { .. }) => {
                (running(pid, since, Up::Leaving { at: now }), A::Nothing)
            }
            (
                S::Running {
                    pid,
                    since,
                    up: Up::Unhealthy { alive_at, .. },
                },
                E::CheckPassed,
            ) => (
                running(pid, since, Up::Ready { at: now, alive_at }),
                A::Note(Note::Recovered),
            ),
            (
                S::Running {
                    pid,
                    since,
                    up: Up::Ready { alive_at, .. } | Up::Unhealthy { alive_at, .. },
                },
                E::CheckFailed,
            ) => {
                let (at, fails) = match state {
                    S::Running {
                        up: Up::Unhealthy { at, fails, .. },
                        ..
                    } => (at, fails + 1),
                    _ => (now, 1),
                };
                if fails >= rules.check_fails {
                    stop(
                        pid,
                        since,
                        AfterStop::Restart,
                        Some(Fault::Unhealthy(fails)),
                    )
                } else {
                    (
                        running(
                            pid,
                            since,
                            Up::Unhealthy {
                                at,
                                alive_at,
                                fails,
                            },
                        ),
                        A::Note(Note::CheckFailed(fails)),
                    )
                }
            }
            // Said again, or not what counts in this state: a repeated
            // READY=1, WATCHDOG=1 before readiness, a check result that came
            // after STOPPING=1.
            (
                S::Running { .. },
                E::Ready | E::Alive | E::Leaving | E::CheckPassed | E::CheckFailed,
            ) => (state, A::Nothing),
            (
                S::Pending
                | S::Stopped
                | S::Holding { .. }
                | S::Stopping { .. }
                | S::Waiting { .. }
                | S::Done(_),
                E::Ready | E::Alive | E::Leaving,
            ) => (state, A::Nothing),
            // Checks run only while the job runs: their results are dropped
            // once it stops (the probe's own machine sees to that).
            (
                S::Pending
                | S::Stopped
                | S::Holding { .. }
                | S::Stopping { .. }
                | S::Waiting { .. }
                | S::Done(_)
                | S::Failed,
                E::CheckPassed | E::CheckFailed,
            ) => break 'cant msg!(0, "a check result for a job that is not running"),

            (S::Holding { pid, since, then }, E::DependentsGone) => {
                (stopping(pid, since, then), stop_signal(pid))
            }
            (
                S::Pending
                | S::Stopped
                | S::Running { .. }
                | S::Stopping { .. }
                | S::Waiting { .. }
                | S::Done(_)
                | S::Failed,
                E::DependentsGone,
            ) => break 'cant msg!(0, "dependents gone for a job that was not holding"),
        };
        return next;
    };
    (state, A::CantHappen(what))
}

/// Keeps in `next` the earlier of it and `at`: the one comparison of
/// instants the loop's deadlines share (not inlined: an `Instant` is a
/// `Duration`, and each inlined comparison costs its own code).
#[inline(never)]
pub fn earliest(next: &mut Option<Instant>, at: Option<Instant>) {
    if let Some(at) = at
        && next.is_none_or(|n| at < n)
    {
        *next = Some(at);
    }
}

/// When `state` next needs a [`JobEvent::Tick`], if ever.
pub fn deadline(state: &JobState, timers: &Timers) -> Option<Instant> {
    match *state {
        JobState::Running { since, up, .. } => {
            let due = match up {
                Up::Starting => timers.ready_timeout.map(|t| since + t),
                Up::Ready { alive_at, .. } | Up::Unhealthy { alive_at, .. } => {
                    timers.watchdog.map(|w| alive_at + w)
                }
                Up::Leaving { .. } => None,
            };
            let mut next = due;
            earliest(&mut next, timers.bounce.map(|every| since + every));
            next
        }
        JobState::Stopping { kill_at, .. } => kill_at,
        JobState::Waiting { restart_at } => Some(restart_at),
        JobState::Pending
        | JobState::Stopped
        | JobState::Spawning
        | JobState::Holding { .. }
        | JobState::Done(_)
        | JobState::Failed => None,
    }
}

/// Which command a job's probe runs (issue 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// `ready when CMD…`, while the job is starting.
    Ready,
    /// `check every T CMD…`, while it is ready.
    Check,
}

/// A job's `ready when` or `check` process: a second, smaller machine
/// beside the job's. The loop tells it which kind the job's state calls
/// for ([`probe_aim`]), so a probe never runs while its job does not.
/// `repr(u8)`, as [`JobEvent`] (issue 18, bytes). 24 bytes, not 16:
/// `Running`'s fields in their order of declaration (the order that
/// packs them into 16 was +24 bytes of code), in a box only jobs with
/// `ready` or `check` have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Probe {
    /// Nothing to run.
    Off,
    /// `kind` runs at `at`.
    Due { kind: ProbeKind, at: Instant },
    /// Runs as `pid`, the leader of its own process group; SIGKILL at
    /// `kill_at` (`None` once sent). `aim` is what the job calls for now:
    /// the result counts only if that is still `kind`.
    Running {
        kind: ProbeKind,
        pid: Pid,
        kill_at: Option<Instant>,
        aim: Option<ProbeKind>,
    },
}

impl Probe {
    /// The kind the job last called for.
    pub fn aim(&self) -> Option<ProbeKind> {
        match *self {
            Probe::Off => None,
            Probe::Due { kind, .. } => Some(kind),
            Probe::Running { aim, .. } => aim,
        }
    }

    pub fn pid(&self) -> Option<Pid> {
        match *self {
            Probe::Running { pid, .. } => Some(pid),
            Probe::Off | Probe::Due { .. } => None,
        }
    }

    /// When it next needs a [`ProbeEvent::Tick`].
    pub fn deadline(&self) -> Option<Instant> {
        match *self {
            Probe::Off => None,
            Probe::Due { at, .. } => Some(at),
            Probe::Running { kill_at, .. } => kill_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProbeEvent {
    /// The job's state calls for this kind (or none) now.
    Aim(Option<ProbeKind>),
    Tick,
    Spawned(Pid),
    SpawnFailed,
    /// The probe's process was reaped; `passed`: it exited 0.
    Exited {
        passed: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProbeAction {
    Nothing,
    /// Spawn the command; report with `Spawned` or `SpawnFailed`.
    Spawn(ProbeKind),
    /// SIGKILL to the probe's process group.
    Kill(Pid),
    /// The result, for the job: `Ready`/`CheckPassed`/`CheckFailed`.
    Passed(ProbeKind),
    Failed(ProbeKind),
    /// Killed at its timeout: a failure.
    TimedOut(ProbeKind),
    /// As [`Action::CantHappen`].
    CantHappen(&'static [u8]),
}

/// How often each kind runs and how long it may take, in milliseconds
/// as the configuration has them: made into a `Duration` where one is
/// read, one division for the pick of each kind, not three when the job
/// is loaded (issue 18, bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRules {
    /// `ready every`: both the interval and the time a run may take.
    pub ready_every_ms: u64,
    pub check_every_ms: u64,
    pub check_timeout_ms: u64,
}

impl ProbeRules {
    fn every(&self, kind: ProbeKind) -> Duration {
        Duration::from_millis(match kind {
            ProbeKind::Ready => self.ready_every_ms,
            ProbeKind::Check => self.check_every_ms,
        })
    }

    pub(crate) fn timeout(&self, kind: ProbeKind) -> Duration {
        Duration::from_millis(match kind {
            ProbeKind::Ready => self.ready_every_ms,
            ProbeKind::Check => self.check_timeout_ms,
        })
    }
}

/// The probe a job in `state` calls for: `ready when` while it is
/// starting, `check` while it is ready or unhealthy, none otherwise.
/// `has`: whether the job has a `ready when` / a `check` command.
pub fn probe_aim(state: &JobState, has_ready: bool, has_check: bool) -> Option<ProbeKind> {
    match state {
        JobState::Running {
            up: Up::Starting, ..
        } if has_ready => Some(ProbeKind::Ready),
        JobState::Running {
            up: Up::Ready { .. } | Up::Unhealthy { .. },
            ..
        } if has_check => Some(ProbeKind::Check),
        _ => None,
    }
}

/// The probe's next state and action for `event` at `now`.
pub fn probe_step(
    probe: Probe,
    event: ProbeEvent,
    now: Instant,
    rules: &ProbeRules,
) -> (Probe, ProbeAction) {
    use ProbeAction as A;
    use ProbeEvent as E;
    let due = |aim: Option<ProbeKind>| match aim {
        Some(kind) => Probe::Due {
            kind,
            at: now + rules.every(kind),
        },
        None => Probe::Off,
    };
    // As in `step`: the pairs that cannot happen at one place.
    let what = 'cant: {
        let next = match (probe, event) {
            (Probe::Off, E::Aim(aim)) => (due(aim), A::Nothing),
            (Probe::Due { kind, .. }, E::Aim(aim)) if aim == Some(kind) => (probe, A::Nothing),
            (Probe::Due { .. }, E::Aim(aim)) => (due(aim), A::Nothing),
            (
                Probe::Running {
                    kind, pid, kill_at, ..
                },
                E::Aim(aim),
            ) => {
                let running = |kill_at| Probe::Running {
                    kind,
                    pid,
                    kill_at,
                    aim,
                };
                match kill_at {
                    // No longer wanted: killed now, its result dropped.
                    Some(_) if aim != Some(kind) => (running(None), A::Kill(pid)),
                    _ => (running(kill_at), A::Nothing),
                }
            }

            (Probe::Due { kind, at }, E::Tick) if now >= at => (probe, A::Spawn(kind)),
            (
                Probe::Running {
                    kind,
                    pid,
                    kill_at: Some(at),
                    aim,
                },
                E::Tick,
            ) if now >= at => (
                Probe::Running {
                    kind,
                    pid,
                    kill_at: None,
                    aim,
                },
                A::Kill(pid),
            ),
            (Probe::Off | Probe::Due { .. } | Probe::Running { .. }, E::Tick) => {
                (probe, A::Nothing)
            }

            (Probe::Due { kind, .. }, E::Spawned(pid)) => (
                Probe::Running {
                    kind,
                    pid,
                    kill_at: Some(now + rules.timeout(kind)),
                    aim: Some(kind),
                },
                A::Nothing,
            ),
            // A passing condition (fork or pipe): tried again next time.
            (Probe::Due { kind, .. }, E::SpawnFailed) => (due(Some(kind)), A::Nothing),
            (Probe::Off | Probe::Running { .. }, E::Spawned(_) | E::SpawnFailed) => {
                break 'cant msg!(0, "a spawn result for a probe that was not due");
            }

            (
                Probe::Running {
                    kind, kill_at, aim, ..
                },
                E::Exited { passed },
            ) => {
                let result = match (aim == Some(kind), kill_at, passed) {
                    (false, _, _) => A::Nothing,
                    (true, None, _) => A::TimedOut(kind),
                    (true, Some(_), true) => A::Passed(kind),
                    (true, Some(_), false) => A::Failed(kind),
                };
                (due(aim), result)
            }
            (Probe::Off | Probe::Due { .. }, E::Exited { .. }) => {
                break 'cant msg!(0, "an exit of a probe that was not running");
            }
        };
        return next;
    };
    (probe, A::CantHappen(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        once: false,
        timers: Timers {
            bounce: None,
            ready_timeout: None,
            watchdog: None,
        },
        kill_after: Duration::from_secs(10),
        on_failure: false,
        delay: QUICK_EXIT,
        delay_max: None,
        give_up: None,
        stop_signal: Signal::TERM,
        waits_ready: false,
        check_fails: 0,
        gated: false,
        held: false,
    };

    fn pid() -> Pid {
        Pid::from_raw(1234).unwrap()
    }

    /// Running and ready since `since`.
    fn running(since: Instant) -> JobState {
        let up = Up::Ready {
            at: since,
            alive_at: since,
        };
        JobState::Running {
            pid: pid(),
            since,
            up,
        }
    }

    /// Steps with a fresh history.
    fn step0(state: JobState, event: JobEvent, now: Instant, rules: &Rules) -> (JobState, Action) {
        step(state, &mut History::default(), event, now, rules)
    }

    #[test]
    fn start_spawns_and_spawned_runs() {
        let t0 = Instant::now();
        let mut h = History::default();
        assert_eq!(
            step(JobState::Pending, &mut h, JobEvent::Start, t0, &RULES),
            (JobState::Spawning, Action::Spawn)
        );
        let (state, action) = step(
            JobState::Spawning,
            &mut h,
            JobEvent::Spawned { pid: pid() },
            t0,
            &RULES,
        );
        assert_eq!((state, action), (running(t0), Action::Nothing));
        assert_eq!(h.starts, 1);
        assert_eq!(h.last_start, Some(t0));
    }

    #[test]
    fn reconcile_start_leaves_a_waiting_or_finished_job_alone() {
        let t0 = Instant::now();
        let waiting = JobState::Waiting {
            restart_at: t0 + QUICK_EXIT,
        };
        for state in [waiting, JobState::Done(DoneReason::Once), running(t0)] {
            assert_eq!(
                step0(state, JobEvent::Start, t0, &RULES),
                (state, Action::Nothing)
            );
        }
    }

    #[test]
    fn long_run_restarts_at_once() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(10);
        let mut h = History::default();
        assert_eq!(
            step(
                running(t0),
                &mut h,
                JobEvent::Exited(Ending::Status(1)),
                now,
                &RULES
            ),
            (JobState::Spawning, Action::Spawn)
        );
        assert_eq!(h.last_exit, Some((Ending::Status(1), now)));
        assert!(h.exited());
    }

    #[test]
    fn quick_exits_are_counted_for_the_metrics() {
        let t0 = Instant::now();
        let mut h = History::default();
        let exit = JobEvent::Exited(Ending::Status(1));
        step(
            running(t0),
            &mut h,
            exit,
            t0 + Duration::from_secs(3),
            &RULES,
        );
        assert_eq!(h.quick_exit_count, 1);
        step(running(t0), &mut h, exit, t0 + QUICK_EXIT, &RULES);
        assert_eq!(h.quick_exit_count, 1, "a long run is not quick");
    }

    #[test]
    fn quick_exit_waits_ten_seconds() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(3);
        let (state, action) = step0(
            running(t0),
            JobEvent::Exited(Ending::Signal(9)),
            now,
            &RULES,
        );
        assert_eq!(
            state,
            JobState::Waiting {
                restart_at: now + QUICK_EXIT
            }
        );
        assert_eq!(action, Action::WaitBeforeRestart(QUICK_EXIT));
        assert_eq!(
            step0(state, JobEvent::Tick, now + Duration::from_secs(9), &RULES).1,
            Action::Nothing
        );
        assert_eq!(
            step0(state, JobEvent::Tick, now + QUICK_EXIT, &RULES),
            (JobState::Spawning, Action::Spawn)
        );
    }

    #[test]
    fn exit_33_is_not_restarted_until_the_config_changes() {
        let t0 = Instant::now();
        let (state, action) = step0(
            running(t0),
            JobEvent::Exited(Ending::Status(33)),
            t0,
            &RULES,
        );
        assert_eq!(
            (state, action),
            (JobState::Done(DoneReason::Exit33), Action::Nothing)
        );
        assert_eq!(deadline(&state, &RULES.timers), None);
        assert_eq!(
            step0(state, JobEvent::ConfigChanged, t0, &RULES),
            (JobState::Pending, Action::Nothing)
        );
    }

    #[test]
    fn once_is_not_restarted_and_a_config_change_does_not_rerun_it() {
        let rules = Rules {
            once: true,
            ..RULES
        };
        let t0 = Instant::now();
        let (state, _) = step0(
            running(t0),
            JobEvent::Exited(Ending::Status(0)),
            t0 + Duration::from_secs(60),
            &rules,
        );
        assert_eq!(state, JobState::Done(DoneReason::Once));
        assert_eq!(step0(state, JobEvent::ConfigChanged, t0, &rules).0, state);
    }

    #[test]
    fn stop_sends_term_then_kill() {
        let t0 = Instant::now();
        let (state, action) = step0(running(t0), JobEvent::Stop(AfterStop::Down), t0, &RULES);
        assert_eq!(action, Action::Signal(pid(), Signal::TERM));
        assert_eq!(deadline(&state, &RULES.timers), Some(t0 + RULES.kill_after));
        assert_eq!(
            step0(state, JobEvent::Tick, t0 + Duration::from_secs(5), &RULES).1,
            Action::Nothing
        );
        let (state, action) = step0(state, JobEvent::Tick, t0 + RULES.kill_after, &RULES);
        assert_eq!(action, Action::Kill(pid()));
        assert_eq!(deadline(&state, &RULES.timers), None);
    }

    #[test]
    fn kill_now_sends_sigkill_once() {
        let t0 = Instant::now();
        let (state, _) = step0(running(t0), JobEvent::Stop(AfterStop::Down), t0, &RULES);
        let (state, action) = step0(state, JobEvent::KillNow, t0, &RULES);
        assert_eq!(action, Action::Kill(pid()));
        assert_eq!(deadline(&state, &RULES.timers), None);
        assert_eq!(
            step0(state, JobEvent::KillNow, t0, &RULES).1,
            Action::Nothing
        );
    }

    #[test]
    fn stop_ends_when_group_is_gone() {
        let t0 = Instant::now();
        let mut h = History::default();
        let (state, _) = step(
            running(t0),
            &mut h,
            JobEvent::Stop(AfterStop::Down),
            t0,
            &RULES,
        );
        // The group can't be gone while the leader runs.
        let (same, action) = step(state, &mut h, JobEvent::GroupGone, t0, &RULES);
        assert_eq!(same, state);
        let Action::CantHappen(what) = action else {
            panic!("{action:?}")
        };
        // What the log says, packed where it is written.
        assert_eq!(
            crate::packed::Filled::text(what).to_string(),
            "an empty group while its leader runs"
        );
        let (state, _) = step(
            state,
            &mut h,
            JobEvent::Exited(Ending::Signal(15)),
            t0,
            &RULES,
        );
        assert_eq!(h.last_exit, Some((Ending::Signal(15), t0)));
        assert_eq!(
            step(state, &mut h, JobEvent::GroupGone, t0, &RULES),
            (JobState::Stopped, Action::Nothing)
        );
    }

    #[test]
    fn restart_after_stop_spawns() {
        let t0 = Instant::now();
        let (state, _) = step0(running(t0), JobEvent::Stop(AfterStop::Restart), t0, &RULES);
        let (state, _) = step0(state, JobEvent::Exited(Ending::Signal(15)), t0, &RULES);
        assert_eq!(
            step0(state, JobEvent::GroupGone, t0, &RULES),
            (JobState::Spawning, Action::Spawn)
        );
    }

    #[test]
    fn start_now_while_stopping_restarts_after_the_stop() {
        let t0 = Instant::now();
        let (state, _) = step0(running(t0), JobEvent::Stop(AfterStop::Down), t0, &RULES);
        let (state, action) = step0(state, JobEvent::StartNow, t0, &RULES);
        assert_eq!(action, Action::Nothing);
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Restart,
                ..
            }
        ));
    }

    #[test]
    fn bounce_stops_and_restarts() {
        let rules = Rules {
            timers: Timers {
                bounce: Some(Duration::from_secs(60)),
                ..Timers::default()
            },
            ..RULES
        };
        let t0 = Instant::now();
        assert_eq!(
            deadline(&running(t0), &rules.timers),
            Some(t0 + Duration::from_secs(60))
        );
        assert_eq!(
            step0(
                running(t0),
                JobEvent::Tick,
                t0 + Duration::from_secs(59),
                &rules
            )
            .1,
            Action::Nothing
        );
        let (state, action) = step0(
            running(t0),
            JobEvent::Tick,
            t0 + Duration::from_secs(60),
            &rules,
        );
        assert_eq!(action, Action::Signal(pid(), Signal::TERM));
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Restart,
                ..
            }
        ));
    }

    #[test]
    fn spawn_failure_retries_with_a_growing_wait() {
        let t0 = Instant::now();
        let mut h = History::default();
        let mut waits = Vec::new();
        for _ in 0..8 {
            let (state, action) = step(
                JobState::Spawning,
                &mut h,
                JobEvent::SpawnFailed,
                t0,
                &RULES,
            );
            let Action::RetrySpawn(wait) = action else {
                panic!("{action:?}")
            };
            assert_eq!(
                state,
                JobState::Waiting {
                    restart_at: t0 + wait
                }
            );
            waits.push(wait.as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        step(
            JobState::Spawning,
            &mut h,
            JobEvent::Spawned { pid: pid() },
            t0,
            &RULES,
        );
        assert_eq!(h.spawn_failures, 0);
    }

    #[test]
    fn explicit_start_skips_the_wait() {
        let t0 = Instant::now();
        let state = JobState::Waiting {
            restart_at: t0 + QUICK_EXIT,
        };
        assert_eq!(
            step0(state, JobEvent::StartNow, t0, &RULES),
            (JobState::Spawning, Action::Spawn)
        );
        assert_eq!(
            step0(
                JobState::Done(DoneReason::Once),
                JobEvent::StartNow,
                t0,
                &RULES
            ),
            (JobState::Spawning, Action::Spawn)
        );
    }

    #[test]
    fn wake_reruns_a_finished_job_no_sooner_than_anti_spin_allows() {
        let t0 = Instant::now();
        let done = JobState::Done(DoneReason::Once);
        let mut h = History {
            last_start: Some(t0),
            ..History::default()
        };
        let soon = t0 + Duration::from_secs(2);
        assert_eq!(
            step(done, &mut h, JobEvent::Wake, soon, &RULES),
            (
                JobState::Waiting {
                    restart_at: t0 + QUICK_EXIT
                },
                Action::Nothing
            )
        );
        assert_eq!(
            step(done, &mut h, JobEvent::Wake, t0 + QUICK_EXIT, &RULES),
            (JobState::Spawning, Action::Spawn)
        );
        // Anything but a finished job: wanting it is all enable does.
        assert_eq!(
            step(running(t0), &mut h, JobEvent::Wake, soon, &RULES),
            (running(t0), Action::Nothing)
        );
    }

    #[test]
    fn stop_of_a_waiting_job_cancels_its_restart() {
        let t0 = Instant::now();
        let state = JobState::Waiting {
            restart_at: t0 + QUICK_EXIT,
        };
        assert_eq!(
            step0(state, JobEvent::Stop(AfterStop::Down), t0, &RULES),
            (JobState::Stopped, Action::Nothing)
        );
    }

    #[test]
    fn events_between_spawn_and_result_cant_happen() {
        let t0 = Instant::now();
        for event in [
            JobEvent::Tick,
            JobEvent::Exited(Ending::Status(0)),
            JobEvent::Start,
        ] {
            let (state, action) = step0(JobState::Spawning, event, t0, &RULES);
            assert_eq!(state, JobState::Spawning);
            assert!(matches!(action, Action::CantHappen(_)), "{event:?}");
        }
        let (_, action) = step0(running(t0), JobEvent::Spawned { pid: pid() }, t0, &RULES);
        assert!(matches!(action, Action::CantHappen(_)));
    }

    // ---- issue 15: restart policy, backoff, give up, stop signal ----------

    /// Starts a job at `at` and lets it exit after `ran` with `ending`.
    fn run_and_exit(
        h: &mut History,
        at: Instant,
        ran: Duration,
        ending: Ending,
        rules: &Rules,
    ) -> (JobState, Action) {
        let (state, _) = step(
            JobState::Spawning,
            h,
            JobEvent::Spawned { pid: pid() },
            at,
            rules,
        );
        step(state, h, JobEvent::Exited(ending), at + ran, rules)
    }

    fn backoff(max: u64) -> Rules {
        Rules {
            delay: Duration::from_secs(1),
            delay_max: Some(Duration::from_secs(max)),
            ..RULES
        }
    }

    #[test]
    fn crash_loop_backs_off_1_2_4_8_and_resets_after_a_long_run() {
        let rules = backoff(8);
        let mut h = History::default();
        let mut t = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..6 {
            let (state, action) =
                run_and_exit(&mut h, t, Duration::from_secs(1), Ending::Status(1), &rules);
            let Action::WaitBeforeRestart(wait) = action else {
                panic!("{action:?}")
            };
            assert_eq!(
                state,
                JobState::Waiting {
                    restart_at: t + Duration::from_secs(1) + wait
                }
            );
            waits.push(wait.as_secs());
            t = t + Duration::from_secs(1) + wait;
        }
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert_eq!(h.delay, Some(Duration::from_secs(8)));
        // A run as long as the max is not quick: restarted at once, and
        // the next quick exit waits the first delay again.
        let (state, action) =
            run_and_exit(&mut h, t, Duration::from_secs(8), Ending::Signal(9), &rules);
        assert_eq!((state, action), (JobState::Spawning, Action::Spawn));
        assert_eq!(h.delay, None);
        let (_, action) =
            run_and_exit(&mut h, t, Duration::from_secs(7), Ending::Status(1), &rules);
        assert_eq!(action, Action::WaitBeforeRestart(Duration::from_secs(1)));
    }

    #[test]
    fn restart_delay_without_max_stays_fixed_and_10_s_is_long() {
        let rules = Rules {
            delay: Duration::from_secs(3),
            ..RULES
        };
        let mut h = History::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            let (_, action) = run_and_exit(
                &mut h,
                t0,
                Duration::from_secs(9),
                Ending::Status(1),
                &rules,
            );
            assert_eq!(action, Action::WaitBeforeRestart(Duration::from_secs(3)));
        }
        let (_, action) = run_and_exit(&mut h, t0, QUICK_EXIT, Ending::Status(1), &rules);
        assert_eq!(action, Action::Spawn);
        // `restart delay 0`: back at the next turn of the loop.
        let now_rules = Rules {
            delay: Duration::ZERO,
            ..RULES
        };
        let (state, action) =
            run_and_exit(&mut h, t0, Duration::ZERO, Ending::Status(1), &now_rules);
        assert_eq!(state, JobState::Waiting { restart_at: t0 });
        assert_eq!(action, Action::WaitBeforeRestart(Duration::ZERO));
    }

    #[test]
    fn default_rules_keep_the_fixed_ten_second_wait() {
        let mut h = History::default();
        let t0 = Instant::now();
        for _ in 0..4 {
            let (_, action) = run_and_exit(
                &mut h,
                t0,
                Duration::from_secs(1),
                Ending::Status(1),
                &RULES,
            );
            assert_eq!(action, Action::WaitBeforeRestart(QUICK_EXIT));
        }
    }

    fn give_up(after: u32, within: u64) -> Rules {
        Rules {
            delay: Duration::from_secs(1),
            give_up: Some(GiveUp {
                after,
                within: Duration::from_secs(within),
                then_exit: false,
            }),
            ..RULES
        }
    }

    fn history_for(rules: &Rules) -> History {
        History {
            quick_exits: QuickExits::new(rules.give_up.map_or(0, |g| g.after as usize)),
            ..History::default()
        }
    }

    #[test]
    fn give_up_after_n_quick_exits_within_the_window() {
        let rules = give_up(3, 60);
        let mut h = history_for(&rules);
        let t0 = Instant::now();
        let quick = Duration::from_secs(1);
        for k in 0..2u64 {
            let (state, _) = run_and_exit(
                &mut h,
                t0 + Duration::from_secs(k * 5),
                quick,
                Ending::Status(1),
                &rules,
            );
            assert!(matches!(state, JobState::Waiting { .. }), "{state:?}");
        }
        assert_eq!(
            h.quick_exits
                .within(Duration::from_secs(60), t0 + Duration::from_secs(10)),
            2
        );
        let (state, action) = run_and_exit(
            &mut h,
            t0 + Duration::from_secs(10),
            quick,
            Ending::Status(2),
            &rules,
        );
        assert_eq!((state, action), (JobState::Failed, Action::GiveUp));
        assert_eq!(h.last_exit.map(|(e, _)| e), Some(Ending::Status(2)));
        assert_eq!(deadline(&state, &rules.timers), None);
    }

    #[test]
    fn the_quick_exit_ring_keeps_the_latest_n_in_its_first_room() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut q = QuickExits::new(3);
        let room = q.0.as_ref().map(|r| (r.at.as_ptr(), r.at.capacity()));
        for k in 0..7 {
            q.record(t0 + s(k));
            assert_eq!(q.within(s(100), t0 + s(k)), (k as u32 + 1).min(3));
        }
        // The latest three (4, 5, 6 s), each where the ring first put one.
        assert_eq!(q.within(s(2), t0 + s(6)), 3);
        assert_eq!(q.within(s(1), t0 + s(6)), 2);
        assert_eq!(room, q.0.as_ref().map(|r| (r.at.as_ptr(), r.at.capacity())));
        q.clear();
        assert_eq!(q.within(s(100), t0 + s(6)), 0);
        assert_eq!(q.capacity(), 3);
    }

    #[test]
    fn quick_exits_older_than_the_window_do_not_count() {
        let rules = give_up(3, 60);
        let mut h = history_for(&rules);
        let t0 = Instant::now();
        let quick = Duration::from_secs(1);
        // Two, then a long pause, then two more: never three in a minute.
        for at in [0u64, 5, 100, 105, 200, 205] {
            let (state, _) = run_and_exit(
                &mut h,
                t0 + Duration::from_secs(at),
                quick,
                Ending::Status(1),
                &rules,
            );
            assert!(
                matches!(state, JobState::Waiting { .. }),
                "at {at}: {state:?}"
            );
        }
        // Long runs do not count at all.
        let mut h = history_for(&rules);
        for k in 0..5u64 {
            let (state, _) = run_and_exit(
                &mut h,
                t0 + Duration::from_secs(k * 11),
                QUICK_EXIT,
                Ending::Status(1),
                &rules,
            );
            assert_eq!(state, JobState::Spawning);
        }
    }

    #[test]
    fn failed_is_left_by_start_or_restart_only() {
        let rules = give_up(1, 60);
        let t0 = Instant::now();
        let mut h = history_for(&rules);
        let (state, _) = run_and_exit(
            &mut h,
            t0,
            Duration::from_secs(1),
            Ending::Status(1),
            &rules,
        );
        assert_eq!(state, JobState::Failed);
        for event in [
            JobEvent::Start,
            JobEvent::Wake,
            JobEvent::Tick,
            JobEvent::Stop(AfterStop::Down),
            JobEvent::KillNow,
            JobEvent::ConfigChanged,
            JobEvent::Signal(Signal::HUP),
        ] {
            assert_eq!(
                step(state, &mut h, event, t0, &rules),
                (JobState::Failed, Action::Nothing),
                "{event:?}"
            );
        }
        for event in [JobEvent::StartNow, JobEvent::Stop(AfterStop::Restart)] {
            let mut h2 = h.clone();
            assert_eq!(
                step(state, &mut h2, event, t0, &rules),
                (JobState::Spawning, Action::Spawn)
            );
            // A fresh window and delay: the next quick exit waits again.
            assert_eq!(h2.quick_exits.within(Duration::from_secs(60), t0), 0);
            assert_eq!(h2.delay, None);
        }
        let (_, action) = step(
            state,
            &mut h,
            JobEvent::Exited(Ending::Status(0)),
            t0,
            &rules,
        );
        assert!(matches!(action, Action::CantHappen(_)));
    }

    #[test]
    fn on_failure_ends_at_exit_0_and_restarts_on_anything_else() {
        let rules = Rules {
            on_failure: true,
            ..RULES
        };
        let t0 = Instant::now();
        let long = Duration::from_secs(60);
        let mut h = History::default();
        assert_eq!(
            run_and_exit(&mut h, t0, long, Ending::Status(0), &rules),
            (JobState::Done(DoneReason::Succeeded), Action::Nothing)
        );
        assert_eq!(
            run_and_exit(&mut h, t0, long, Ending::Status(1), &rules).1,
            Action::Spawn
        );
        assert_eq!(
            run_and_exit(&mut h, t0, long, Ending::Signal(15), &rules).1,
            Action::Spawn
        );
        // Done like a `once` job: a config change leaves it, start reruns it.
        let done = JobState::Done(DoneReason::Succeeded);
        assert_eq!(
            step(done, &mut h, JobEvent::ConfigChanged, t0, &rules).0,
            done
        );
        assert_eq!(
            step(done, &mut h, JobEvent::StartNow, t0, &rules).1,
            Action::Spawn
        );
        // `restart always` (the default) restarts after exit 0 too.
        assert_eq!(
            run_and_exit(&mut h, t0, long, Ending::Status(0), &RULES).1,
            Action::Spawn
        );
    }

    #[test]
    fn exit_33_means_do_not_restart_under_every_policy() {
        let t0 = Instant::now();
        let policies = [
            RULES,
            Rules {
                on_failure: true,
                ..RULES
            },
            Rules {
                once: true,
                ..RULES
            },
            give_up(1, 60),
            backoff(8),
        ];
        for rules in policies {
            let mut h = history_for(&rules);
            for ran in [Duration::from_secs(1), Duration::from_secs(60)] {
                assert_eq!(
                    run_and_exit(&mut h, t0, ran, Ending::Status(33), &rules),
                    (JobState::Done(DoneReason::Exit33), Action::Nothing),
                    "{rules:?}"
                );
            }
        }
    }

    #[test]
    fn every_stop_sends_the_stop_signal() {
        let rules = Rules {
            stop_signal: Signal::INT,
            timers: Timers {
                bounce: Some(Duration::from_secs(60)),
                ..Timers::default()
            },
            ..RULES
        };
        let t0 = Instant::now();
        let int = Action::Signal(pid(), Signal::INT);
        for event in [
            JobEvent::Stop(AfterStop::Down),
            JobEvent::Stop(AfterStop::Restart),
        ] {
            assert_eq!(step0(running(t0), event, t0, &rules).1, int, "{event:?}");
        }
        // bounce
        assert_eq!(
            step0(
                running(t0),
                JobEvent::Tick,
                t0 + Duration::from_secs(60),
                &rules
            )
            .1,
            int
        );
        // pmtr start while stopping only changes what follows the stop.
        let (stopping, _) = step0(running(t0), JobEvent::Stop(AfterStop::Down), t0, &rules);
        assert_eq!(
            step0(stopping, JobEvent::StartNow, t0, &rules).1,
            Action::Nothing
        );
        // SIGKILL still follows after `kill after`.
        assert_eq!(
            step0(stopping, JobEvent::Tick, t0 + rules.kill_after, &rules).1,
            Action::Kill(pid())
        );
    }

    #[test]
    fn signal_reaches_a_job_only_while_it_has_a_process() {
        let t0 = Instant::now();
        let usr1 = JobEvent::Signal(Signal::USR1);
        assert_eq!(
            step0(running(t0), usr1, t0, &RULES),
            (running(t0), Action::Signal(pid(), Signal::USR1))
        );
        let (stopping, _) = step0(running(t0), JobEvent::Stop(AfterStop::Down), t0, &RULES);
        assert_eq!(
            step0(stopping, usr1, t0, &RULES),
            (stopping, Action::Signal(pid(), Signal::USR1))
        );
        let waiting = JobState::Waiting { restart_at: t0 };
        for state in [
            JobState::Pending,
            JobState::Stopped,
            waiting,
            JobState::Done(DoneReason::Once),
            JobState::Failed,
        ] {
            assert_eq!(
                step0(state, usr1, t0, &RULES),
                (state, Action::Nothing),
                "{state:?}"
            );
        }
        assert!(matches!(
            step0(JobState::Spawning, usr1, t0, &RULES).1,
            Action::CantHappen(_)
        ));
    }

    #[test]
    fn quick_exit_ring_keeps_the_latest_n() {
        let mut ring = QuickExits::new(3);
        let t0 = Instant::now();
        for k in 0..10u64 {
            ring.record(t0 + Duration::from_secs(k));
        }
        let now = t0 + Duration::from_secs(9);
        assert_eq!(ring.within(Duration::from_secs(100), now), 3);
        assert_eq!(ring.within(Duration::from_secs(1), now), 2);
        let mut none = QuickExits::new(0);
        none.record(t0);
        assert_eq!(none.within(Duration::from_secs(100), t0), 0);
    }

    // ---- readiness, dependencies and health (issue 16) --------------------

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn starting(since: Instant) -> JobState {
        JobState::Running {
            pid: pid(),
            since,
            up: Up::Starting,
        }
    }

    fn up_of(state: JobState) -> Up {
        match state {
            JobState::Running { up, .. } => up,
            other => panic!("not running: {other:?}"),
        }
    }

    #[test]
    fn a_job_without_ready_is_ready_when_started_one_with_it_is_starting() {
        let t0 = Instant::now();
        let spawned = |rules: &Rules| {
            step0(
                JobState::Spawning,
                JobEvent::Spawned { pid: pid() },
                t0,
                rules,
            )
            .0
        };
        assert_eq!(spawned(&RULES), running(t0));
        let rules = Rules {
            waits_ready: true,
            ..RULES
        };
        assert_eq!(spawned(&rules), starting(t0));
        // READY=1 (or a newline, or `ready when` passing) makes it ready.
        let t1 = t0 + MS(700);
        let (state, action) = step0(starting(t0), JobEvent::Ready, t1, &rules);
        assert_eq!(
            up_of(state),
            Up::Ready {
                at: t1,
                alive_at: t1
            }
        );
        assert_eq!(action, Action::Note(Note::Ready));
        // Said twice, it changes nothing.
        assert_eq!(
            step0(state, JobEvent::Ready, t1 + MS(5), &rules),
            (state, Action::Nothing)
        );
    }

    #[test]
    fn ready_timeout_stops_the_job_and_counts_as_a_quick_exit() {
        let t0 = Instant::now();
        let rules = Rules {
            waits_ready: true,
            timers: Timers {
                ready_timeout: Some(MS(500)),
                ..Timers::default()
            },
            ..RULES
        };
        assert_eq!(deadline(&starting(t0), &rules.timers), Some(t0 + MS(500)));
        assert_eq!(
            step0(starting(t0), JobEvent::Tick, t0 + MS(499), &rules).1,
            Action::Nothing
        );
        let mut h = History::default();
        let now = t0 + MS(500);
        let (state, action) = step(starting(t0), &mut h, JobEvent::Tick, now, &rules);
        assert_eq!(action, Action::Fault(pid(), Fault::NotReady(MS(500))));
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Retry,
                ..
            }
        ));
        let (state, _) = step(
            state,
            &mut h,
            JobEvent::Exited(Ending::Signal(15)),
            now,
            &rules,
        );
        assert_eq!(
            step(state, &mut h, JobEvent::GroupGone, now, &rules),
            (
                JobState::Waiting {
                    restart_at: now + QUICK_EXIT
                },
                Action::WaitBeforeRestart(QUICK_EXIT)
            )
        );
        // Ready in time: no deadline for it any more.
        let (ready, _) = step0(starting(t0), JobEvent::Ready, t0 + MS(100), &rules);
        assert_eq!(deadline(&ready, &rules.timers), None);
    }

    #[test]
    fn watchdog_counts_from_readiness_and_each_sign_of_life() {
        let t0 = Instant::now();
        let w = MS(300);
        let rules = Rules {
            waits_ready: true,
            timers: Timers {
                watchdog: Some(w),
                ..Timers::default()
            },
            ..RULES
        };
        // Not armed before readiness (systemd's WatchdogSec likewise).
        assert_eq!(deadline(&starting(t0), &rules.timers), None);
        let t1 = t0 + MS(1000);
        let (state, _) = step0(starting(t0), JobEvent::Ready, t1, &rules);
        assert_eq!(deadline(&state, &rules.timers), Some(t1 + w));
        let t2 = t1 + MS(200);
        let (state, action) = step0(state, JobEvent::Alive, t2, &rules);
        assert_eq!(action, Action::Nothing);
        assert_eq!(deadline(&state, &rules.timers), Some(t2 + w));
        assert_eq!(
            step0(state, JobEvent::Tick, t2 + MS(299), &rules).1,
            Action::Nothing
        );
        let (state, action) = step0(state, JobEvent::Tick, t2 + w, &rules);
        assert_eq!(action, Action::Fault(pid(), Fault::Watchdog(w)));
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Restart,
                ..
            }
        ));
    }

    #[test]
    fn failed_checks_in_a_row_make_it_unhealthy_then_restart_it() {
        let t0 = Instant::now();
        let rules = Rules {
            check_fails: 3,
            ..RULES
        };
        let t1 = t0 + MS(100);
        let (state, action) = step0(running(t0), JobEvent::CheckFailed, t1, &rules);
        assert_eq!(action, Action::Note(Note::CheckFailed(1)));
        assert_eq!(
            up_of(state),
            Up::Unhealthy {
                at: t1,
                alive_at: t0,
                fails: 1
            }
        );
        // A pass in between starts the count over.
        let t2 = t1 + MS(100);
        let (state, action) = step0(state, JobEvent::CheckPassed, t2, &rules);
        assert_eq!(action, Action::Note(Note::Recovered));
        assert_eq!(
            up_of(state),
            Up::Ready {
                at: t2,
                alive_at: t0
            }
        );
        let mut state = state;
        for n in 1..3 {
            let (next, action) = step0(state, JobEvent::CheckFailed, t2, &rules);
            assert_eq!(action, Action::Note(Note::CheckFailed(n)));
            state = next;
        }
        // Unhealthy since the first of the three.
        assert!(matches!(up_of(state), Up::Unhealthy { at, fails: 2, .. } if at == t2));
        let (state, action) = step0(state, JobEvent::CheckFailed, t2, &rules);
        assert_eq!(action, Action::Fault(pid(), Fault::Unhealthy(3)));
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Restart,
                ..
            }
        ));
    }

    /// Every state's name for the debug line: read from a word list by
    /// place (issue 18), so a slip of one index is caught here.
    #[test]
    fn each_state_has_its_name() {
        let t0 = Instant::now();
        let up = |up| JobState::Running {
            pid: pid(),
            since: t0,
            up,
        };
        let names = [
            (JobState::Pending, "pending"),
            (JobState::Stopped, "stopped"),
            (JobState::Spawning, "spawning"),
            (up(Up::Starting), "starting"),
            (running(t0), "running"),
            (
                up(Up::Unhealthy {
                    at: t0,
                    alive_at: t0,
                    fails: 1,
                }),
                "unhealthy",
            ),
            (up(Up::Leaving { at: t0 }), "leaving"),
            (
                JobState::Holding {
                    pid: pid(),
                    since: t0,
                    then: AfterStop::Down,
                },
                "holding",
            ),
            (
                JobState::Stopping {
                    pid: pid(),
                    since: t0,
                    kill_at: None,
                    leader_gone: false,
                    then: AfterStop::Down,
                },
                "stopping",
            ),
            (JobState::Waiting { restart_at: t0 }, "waiting"),
            (JobState::Done(DoneReason::Exit33), "done"),
            (JobState::Failed, "failed"),
        ];
        for (state, name) in names {
            assert_eq!(state.name(), name);
        }
    }

    #[test]
    fn stopping_1_suspends_the_watchdog() {
        let t0 = Instant::now();
        let rules = Rules {
            timers: Timers {
                watchdog: Some(MS(100)),
                ..Timers::default()
            },
            ..RULES
        };
        let (state, _) = step0(running(t0), JobEvent::Leaving, t0, &rules);
        assert_eq!(up_of(state), Up::Leaving { at: t0 });
        assert_eq!(deadline(&state, &rules.timers), None);
        assert_eq!(state.name(), "leaving");
        for event in [JobEvent::Ready, JobEvent::Alive, JobEvent::Leaving] {
            assert_eq!(step0(state, event, t0, &rules), (state, Action::Nothing));
        }
    }

    #[test]
    fn what_a_job_says_after_it_stopped_is_ignored() {
        let t0 = Instant::now();
        let waiting = JobState::Waiting {
            restart_at: t0 + QUICK_EXIT,
        };
        for state in [JobState::Stopped, waiting, JobState::Done(DoneReason::Once)] {
            for event in [JobEvent::Ready, JobEvent::Alive, JobEvent::Leaving] {
                assert_eq!(step0(state, event, t0, &RULES), (state, Action::Nothing));
            }
            // A check never runs then: its result can't happen.
            let (_, action) = step0(state, JobEvent::CheckFailed, t0, &RULES);
            assert!(matches!(action, Action::CantHappen(_)));
        }
    }

    #[test]
    fn a_job_with_after_restarts_only_through_the_reconcile() {
        let t0 = Instant::now();
        let rules = Rules {
            gated: true,
            ..RULES
        };
        // Its own timer, a long run's exit, the end of a restart's stop:
        // back to Pending, which the reconcile starts once the jobs it
        // starts after are ready.
        let waiting = JobState::Waiting { restart_at: t0 };
        assert_eq!(
            step0(waiting, JobEvent::Tick, t0, &rules),
            (JobState::Pending, Action::Nothing)
        );
        let long = t0 + QUICK_EXIT;
        assert_eq!(
            step0(
                running(t0),
                JobEvent::Exited(Ending::Status(1)),
                long,
                &rules
            ),
            (JobState::Pending, Action::Nothing)
        );
        let (state, _) = step0(running(t0), JobEvent::Stop(AfterStop::Restart), t0, &rules);
        let (state, _) = step0(state, JobEvent::Exited(Ending::Signal(15)), t0, &rules);
        assert_eq!(
            step0(state, JobEvent::GroupGone, t0, &rules),
            (JobState::Pending, Action::Nothing)
        );
        // The operator's start does not wait.
        assert_eq!(
            step0(waiting, JobEvent::StartNow, t0, &rules),
            (JobState::Spawning, Action::Spawn)
        );
    }

    #[test]
    fn a_job_others_restart_with_stops_after_them() {
        let t0 = Instant::now();
        let rules = Rules {
            held: true,
            check_fails: 1,
            ..RULES
        };
        let holding = JobState::Holding {
            pid: pid(),
            since: t0,
            then: AfterStop::Restart,
        };
        assert_eq!(
            step0(running(t0), JobEvent::Stop(AfterStop::Restart), t0, &rules),
            (holding, Action::StopDependents(None))
        );
        assert_eq!(
            step0(running(t0), JobEvent::CheckFailed, t0, &rules),
            (holding, Action::StopDependents(Some(Fault::Unhealthy(1))))
        );
        assert_eq!(holding.pid(), Some(pid()));
        assert_eq!(deadline(&holding, &rules.timers), None);
        assert_eq!(
            step0(holding, JobEvent::Tick, t0, &rules),
            (holding, Action::Nothing)
        );
        // A later stop only changes what follows.
        let (down, _) = step0(holding, JobEvent::Stop(AfterStop::Down), t0, &rules);
        assert!(matches!(
            down,
            JobState::Holding {
                then: AfterStop::Down,
                ..
            }
        ));
        // Its dependents are gone: now it is signalled.
        let (state, action) = step0(holding, JobEvent::DependentsGone, t0, &rules);
        assert_eq!(action, Action::Signal(pid(), Signal::TERM));
        assert!(matches!(
            state,
            JobState::Stopping {
                then: AfterStop::Restart,
                leader_gone: false,
                ..
            }
        ));
        // It exited meanwhile: the rest of its group is stopped.
        let (state, action) = step0(holding, JobEvent::Exited(Ending::Status(0)), t0, &rules);
        assert_eq!(action, Action::Signal(pid(), Signal::TERM));
        assert!(matches!(
            state,
            JobState::Stopping {
                leader_gone: true,
                ..
            }
        ));
        // A second SIGTERM to pmtr: no more waiting.
        assert_eq!(
            step0(holding, JobEvent::KillNow, t0, &rules).1,
            Action::Kill(pid())
        );
        for event in [JobEvent::GroupGone, JobEvent::Spawned { pid: pid() }] {
            let (_, action) = step0(holding, event, t0, &rules);
            assert!(matches!(action, Action::CantHappen(_)), "{event:?}");
        }
        let (_, action) = step0(running(t0), JobEvent::DependentsGone, t0, &rules);
        assert!(matches!(action, Action::CantHappen(_)));
    }

    const PROBES: ProbeRules = ProbeRules {
        ready_every_ms: 200,
        check_every_ms: 1000,
        check_timeout_ms: 500,
    };

    fn probe_pid() -> Pid {
        Pid::from_raw(4321).unwrap()
    }

    #[test]
    fn the_probe_follows_the_jobs_state() {
        let t0 = Instant::now();
        let aim = |state: &JobState| probe_aim(state, true, true);
        assert_eq!(aim(&starting(t0)), Some(ProbeKind::Ready));
        assert_eq!(aim(&running(t0)), Some(ProbeKind::Check));
        assert_eq!(probe_aim(&running(t0), true, false), None);
        assert_eq!(probe_aim(&starting(t0), false, true), None);
        let leaving = JobState::Running {
            pid: pid(),
            since: t0,
            up: Up::Leaving { at: t0 },
        };
        for state in [
            leaving,
            JobState::Pending,
            JobState::Stopped,
            JobState::Holding {
                pid: pid(),
                since: t0,
                then: AfterStop::Down,
            },
            JobState::Waiting { restart_at: t0 },
        ] {
            assert_eq!(aim(&state), None, "{state:?}");
        }
    }

    #[test]
    fn a_check_runs_every_t_and_reports_its_result() {
        let t0 = Instant::now();
        let (probe, action) = probe_step(
            Probe::Off,
            ProbeEvent::Aim(Some(ProbeKind::Check)),
            t0,
            &PROBES,
        );
        assert_eq!(action, ProbeAction::Nothing);
        assert_eq!(probe.deadline(), Some(t0 + MS(1000)));
        assert_eq!(
            probe_step(probe, ProbeEvent::Tick, t0 + MS(999), &PROBES).1,
            ProbeAction::Nothing
        );
        let t1 = t0 + MS(1000);
        let (probe, action) = probe_step(probe, ProbeEvent::Tick, t1, &PROBES);
        assert_eq!(action, ProbeAction::Spawn(ProbeKind::Check));
        let (probe, _) = probe_step(probe, ProbeEvent::Spawned(probe_pid()), t1, &PROBES);
        assert_eq!(probe.pid(), Some(probe_pid()));
        assert_eq!(probe.deadline(), Some(t1 + MS(500)));
        let t2 = t1 + MS(30);
        let (next, action) = probe_step(probe, ProbeEvent::Exited { passed: true }, t2, &PROBES);
        assert_eq!(action, ProbeAction::Passed(ProbeKind::Check));
        assert_eq!(next.deadline(), Some(t2 + MS(1000)));
        let (_, action) = probe_step(probe, ProbeEvent::Exited { passed: false }, t2, &PROBES);
        assert_eq!(action, ProbeAction::Failed(ProbeKind::Check));
    }

    #[test]
    fn a_probe_that_overruns_is_killed_and_fails() {
        let t0 = Instant::now();
        let probe = Probe::Running {
            kind: ProbeKind::Ready,
            pid: probe_pid(),
            kill_at: Some(t0 + MS(200)),
            aim: Some(ProbeKind::Ready),
        };
        let (probe, action) = probe_step(probe, ProbeEvent::Tick, t0 + MS(200), &PROBES);
        assert_eq!(action, ProbeAction::Kill(probe_pid()));
        assert_eq!(probe.deadline(), None);
        let (probe, action) = probe_step(
            probe,
            ProbeEvent::Exited { passed: false },
            t0 + MS(201),
            &PROBES,
        );
        assert_eq!(action, ProbeAction::TimedOut(ProbeKind::Ready));
        assert!(matches!(
            probe,
            Probe::Due {
                kind: ProbeKind::Ready,
                ..
            }
        ));
    }

    #[test]
    fn a_probe_the_job_no_longer_calls_for_is_killed_and_its_result_dropped() {
        let t0 = Instant::now();
        let probe = Probe::Running {
            kind: ProbeKind::Check,
            pid: probe_pid(),
            kill_at: Some(t0 + MS(500)),
            aim: Some(ProbeKind::Check),
        };
        let (probe, action) = probe_step(probe, ProbeEvent::Aim(None), t0, &PROBES);
        assert_eq!(action, ProbeAction::Kill(probe_pid()));
        assert_eq!(probe.aim(), None);
        let (probe, action) = probe_step(probe, ProbeEvent::Exited { passed: true }, t0, &PROBES);
        assert_eq!((probe, action), (Probe::Off, ProbeAction::Nothing));
        // A due probe is simply called off, or switched.
        let due = Probe::Due {
            kind: ProbeKind::Ready,
            at: t0,
        };
        assert_eq!(
            probe_step(due, ProbeEvent::Aim(None), t0, &PROBES).0,
            Probe::Off
        );
        assert_eq!(
            probe_step(due, ProbeEvent::Aim(Some(ProbeKind::Check)), t0, &PROBES).0,
            Probe::Due {
                kind: ProbeKind::Check,
                at: t0 + MS(1000)
            }
        );
        let (_, action) = probe_step(Probe::Off, ProbeEvent::Exited { passed: true }, t0, &PROBES);
        assert!(matches!(action, ProbeAction::CantHappen(_)));
    }
}
