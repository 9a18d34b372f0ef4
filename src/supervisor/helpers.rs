//! pmtr's helper processes (issue 17): the log writer of each job stream
//! with `out FILE max …` or `stamp`, and the writer of the `metrics to`
//! file — pmtr's own binary in another mode (`src/logger.rs`). This table
//! starts them, starts them again when they die, and ends them.
//!
//! A helper reads a pipe that pmtr makes at its first start and keeps,
//! both ends, for the helper's lifetime: the write end becomes the job's
//! stdout at every start of the job (or carries the metrics), the read end
//! the helper's stdin at every start of the helper. So the helper outlives
//! the job's restarts, and a helper that died is replaced without losing
//! what waits in the pipe; while none runs, the job's writes wait in its
//! pipe. pmtr never reads or polls these pipes: an idle helper costs pmtr
//! nothing.
//!
//! The rules here are few, and kept apart from the loop in [`after_exit`]
//! so they are tested without forking: a helper that dies is started again
//! at once, or after 1, 2, 4 … 60 s when it keeps dying within
//! [`QUICK_EXIT`] of its start (anti-spin); when pmtr exits, or the job
//! is gone, its pipe is closed, the helper writes what it has and exits,
//! and is killed if it is still there [`CLOSE_WAIT`] later.

use crate::clock::Instant;
use crate::prelude::*;
use core::time::Duration;

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{Pid, Signal};

use super::job::{Ending, QUICK_EXIT};
use crate::spawn::{self, Launch, SpawnError, StartResult};

/// How long a helper has to write what it holds and exit once its pipe
/// is closed, before SIGKILL.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);
// The kill's warning says CLOSE_WAIT's seconds as text (see `tick`).
const _: () = assert!(CLOSE_WAIT.as_secs() == 5);

/// The longest wait before a dying helper is started again.
const RESTART_MAX: Duration = Duration::from_secs(60);

/// Which helpers [`Helpers::close`] closes: a choice, not a `dyn Fn`
/// (its three closures and their vtables were more code; issue 18).
#[derive(Clone, Copy)]
pub enum Close<'a> {
    All,
    /// The metrics writer.
    Metrics,
    /// The loggers of these jobs.
    Jobs(&'a [u32]),
}

/// Whose helper it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Job `id`'s logger, for its stdout (`out`), stderr (`err`) or both.
    Job {
        id: u32,
        stdout: bool,
        stderr: bool,
    },
    Metrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started yet.
    Down,
    Running {
        pid: Pid,
        since: Instant,
    },
    /// Died; started again at `restart_at`.
    Waiting {
        restart_at: Instant,
    },
    /// Its pipe is closed; SIGKILL at `kill_at` if it has not exited.
    Closing {
        pid: Pid,
        kill_at: Option<Instant>,
    },
}

pub struct Helper {
    pub owner: Owner,
    /// `log writer of job web` or `metrics writer`, for messages.
    label: String,
    launch: Launch,
    /// (read end, write end), from the first start on.
    pipe: Option<(OwnedFd, OwnedFd)>,
    state: State,
    /// Quick exits in a row: the restart wait doubles with each.
    quick_exits: u32,
    /// The exec-status pipe of the current run (see `spawn::spawn`),
    /// read when it is reaped: it says why an exec failed.
    status: Option<spawn::Exec>,
}

/// When a helper that started at `since` and exited at `now`, after
/// `quick_exits` quick exits in a row, starts again, and the new count.
pub fn after_exit(since: Instant, now: Instant, quick_exits: u32) -> (Instant, u32) {
    if now.saturating_duration_since(since) >= QUICK_EXIT {
        return (now, 0);
    }
    let wait = Duration::from_secs(1 << quick_exits.min(6)).min(RESTART_MAX);
    (now + wait, quick_exits.saturating_add(1))
}

#[derive(Default)]
pub struct Helpers {
    list: Vec<Helper>,
    /// No helper's deadline (a restart, a kill after its close) is before
    /// this: `tick` walks the list only once it has passed, and
    /// `deadline` answers without a walk (issue 18: with a logger per job,
    /// two walks of every logger at every wakeup). Brought forward by
    /// every change that sets a deadline; exact after a walk.
    due: Option<Instant>,
}

impl Helpers {
    /// `launch` is a [`Launch::logger`]'s: `Helper::spawn` counts on it
    /// leaving spawn no pipe of its own to hand back (stdout /dev/null,
    /// stderr pmtr's, no ready fd).
    pub fn add(&mut self, owner: Owner, label: String, launch: Launch) {
        self.list.push(Helper {
            owner,
            label,
            launch,
            pipe: None,
            state: State::Down,
            quick_exits: 0,
            status: None,
        });
    }

    /// Whether job `id` has loggers; the search starts at `*at` (see
    /// `find_from`: a load asks for every job in file order).
    pub fn has_job(&self, id: u32, at: &mut usize) -> bool {
        let of_job = |h: &Helper| matches!(h.owner, Owner::Job { id: j, .. } if j == id);
        super::find_from(&self.list, at, of_job).is_some()
    }

    /// Makes job `id`'s log pipes and starts its loggers that are not
    /// running (and not waiting out a restart), before the job starts;
    /// returns the pipes for its stdout and stderr. Only a pipe that can't
    /// be made fails the job's start: a logger that can't start now is
    /// retried, and the job's output waits in its pipe meanwhile.
    pub fn for_job_start(
        &mut self,
        id: u32,
        parent: Pid,
        now: Instant,
    ) -> Result<[Option<BorrowedFd<'_>>; 3], SpawnError> {
        let mut fds = [None; 3];
        // One pass: the job's loggers are started and their pipes taken.
        for h in self.list.iter_mut() {
            let Owner::Job {
                id: j,
                stdout,
                stderr,
            } = h.owner
            else {
                continue;
            };
            if j != id || matches!(h.state, State::Closing { .. }) {
                continue;
            }
            h.make_pipe(false).map_err(SpawnError::Pipe)?;
            if h.state == State::Down {
                h.start(parent, now, &mut self.due);
            }
            let h: &Helper = h;
            if let Some((_, w)) = &h.pipe {
                if stdout {
                    fds[1] = Some(crate::sys::lend(w));
                }
                if stderr {
                    fds[2] = Some(crate::sys::lend(w));
                }
            }
        }
        Ok(fds)
    }

    /// Starts the metrics writer if it is not running; returns its pipe's
    /// write end (non-blocking: pmtr never waits on it).
    pub fn metrics_pipe(&mut self, parent: Pid, now: Instant) -> Option<BorrowedFd<'_>> {
        let h = self
            .list
            .iter_mut()
            .find(|h| h.owner == Owner::Metrics && !matches!(h.state, State::Closing { .. }))?;
        if let Err(e) = h.make_pipe(true) {
            error!(
                "can't start the {}: can't create a pipe: {}",
                h.label,
                crate::sys::strerror(e)
            );
            return None;
        }
        if h.state == State::Down {
            h.start(parent, now, &mut self.due);
        }
        h.pipe.as_ref().map(|(_, w)| crate::sys::lend(w))
    }

    /// Takes the exit of `pid` if it is a helper's; returns whether it was.
    pub fn reaped(&mut self, pid: Pid, ending: Ending, now: Instant) -> bool {
        let Some(i) = self.list.iter().position(|h| h.pid() == Some(pid)) else {
            return false;
        };
        let h = &mut self.list[i];
        if let Some(StartResult::Failed(e)) = h.status.take().as_ref().map(spawn::Exec::result) {
            error!(
                "can't run pmtr for the {}: {}",
                h.label,
                crate::sys::strerror(e.errno)
            );
        }
        match h.state {
            State::Running { since, .. } => {
                let wait = h.wait_restart(since, now);
                super::job::earliest(&mut self.due, h.deadline());
                // `exit status N` or `signal N`, as `Ending` says it.
                notice!(
                    "the {} [{}] ended ({}); starting it again in {} sec",
                    h.label,
                    pid.as_raw_nonzero(),
                    ending,
                    wait,
                );
            }
            _ => {
                debug!("the {} [{}] exited", h.label, pid.as_raw_nonzero());
                forget(&mut self.list, i);
            }
        }
        true
    }

    /// Starts the helpers whose restart is due, kills those that overstay
    /// their close.
    pub fn tick(&mut self, parent: Pid, now: Instant) {
        if self.due.is_none_or(|at| at > now) {
            return;
        }
        let mut due = None;
        for h in &mut self.list {
            match h.state {
                State::Waiting { restart_at } if restart_at <= now => {
                    h.start(parent, now, &mut due);
                }
                State::Closing {
                    pid,
                    kill_at: Some(at),
                } if at <= now => {
                    // CLOSE_WAIT's seconds written into the text, not
                    // formatted (issue 18, bytes; asserted at CLOSE_WAIT).
                    warn!(
                        "the {} [{}] did not exit within 5 sec of its close; sending SIGKILL",
                        h.label,
                        pid.as_raw_nonzero()
                    );
                    let _ = rustix::process::kill_process_group(pid, Signal::KILL);
                    h.state = State::Closing { pid, kill_at: None };
                }
                _ => {}
            }
            super::job::earliest(&mut due, h.deadline());
        }
        self.due = due;
    }

    pub fn deadline(&self) -> Option<Instant> {
        #[cfg(debug_assertions)]
        {
            let mut all = None;
            for h in &self.list {
                super::job::earliest(&mut all, h.deadline());
            }
            debug_assert!(
                all.is_none_or(|at| self.due.is_some_and(|d| d <= at)),
                "a helper's deadline {all:?} is before its due {:?}",
                self.due
            );
        }
        self.due
    }

    /// Closes the pipes of the helpers `which` picks: each writes what it
    /// has and exits; those not running are forgotten.
    pub fn close(&mut self, which: Close<'_>, now: Instant) {
        // A plain loop that swaps a forgotten helper out, as `reaped`
        // does, not `retain_mut` and its closure: the list's order does
        // not matter (issue 18, bytes).
        let mut i = 0;
        while let Some(h) = self.list.get_mut(i) {
            let picked = match which {
                Close::All => true,
                Close::Metrics => h.owner == Owner::Metrics,
                Close::Jobs(gone) => matches!(h.owner, Owner::Job { id, .. } if gone.contains(&id)),
            };
            if picked {
                h.pipe = None;
                match h.state {
                    State::Running { pid, .. } => {
                        h.state = State::Closing {
                            pid,
                            kill_at: Some(now + CLOSE_WAIT),
                        };
                        super::job::earliest(&mut self.due, h.deadline());
                    }
                    State::Closing { .. } => {}
                    State::Down | State::Waiting { .. } => {
                        forget(&mut self.list, i);
                        continue;
                    }
                }
            }
            i += 1;
        }
    }

    /// A helper still has a process.
    pub fn any_running(&self) -> bool {
        self.list.iter().any(|h| h.pid().is_some())
    }
}

impl Helper {
    /// When `tick` has something to do for it.
    fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { restart_at } => Some(restart_at),
            State::Closing { kill_at, .. } => kill_at,
            State::Down | State::Running { .. } => None,
        }
    }

    fn pid(&self) -> Option<Pid> {
        match self.state {
            State::Running { pid, .. } | State::Closing { pid, .. } => Some(pid),
            State::Down | State::Waiting { .. } => None,
        }
    }

    /// The pipe, made once. Only pmtr's end of the metrics pipe is
    /// non-blocking: a job's end must block, as a job's stdout does (the
    /// flag belongs to the open file, which the job shares).
    fn make_pipe(&mut self, nonblocking_write: bool) -> Result<(), Errno> {
        if self.pipe.is_none() {
            use rustix::pipe::{PipeFlags, pipe_with};
            let (r, w) = pipe_with(PipeFlags::CLOEXEC)?;
            if nonblocking_write {
                rustix::fs::fcntl_setfl(crate::sys::lend(&w), rustix::fs::OFlags::NONBLOCK)?;
            }
            // In place of the None just tested: nothing to drop (issue
            // 18, bytes).
            crate::fill(&mut self.pipe, Some((r, w)));
        }
        Ok(())
    }

    /// Starts it (or sets its retry when it can't start) and brings `due`
    /// forward to its new deadline: one place for the three callers
    /// (issue 18, bytes).
    fn start(&mut self, parent: Pid, now: Instant, due: &mut Option<Instant>) {
        self.spawn(parent, now);
        super::job::earliest(due, self.deadline());
    }

    fn spawn(&mut self, parent: Pid, now: Instant) {
        let Some((r, _)) = &self.pipe else { return };
        match spawn::spawn(
            &self.launch,
            parent,
            [Some(crate::sys::lend(r)), None, None],
        ) {
            Ok(started) => {
                // A helper's launch is a `Launch::logger` (see
                // `add_logger`): stdin the pipe given, stdout /dev/null,
                // stderr pmtr's, no ready fd, so spawn made no pipe of
                // its own and there is nothing to close (no close code
                // for three Nones; issue 18, bytes).
                let (pid, exec, stdout) = started.merged();
                debug_assert!(stdout.is_none());
                core::mem::forget(stdout);
                debug!("started the {} [{}]", self.label, pid.as_raw_nonzero());
                // In place of the None its reap (or its making) left: no
                // drop of an earlier one (issue 18, bytes).
                crate::fill(&mut self.status, Some(exec));
                self.state = State::Running { pid, since: now };
            }
            Err(e) => {
                let wait = self.wait_restart(now, now);
                error!(
                    "can't start the {}: {}; retrying in {} sec",
                    self.label, e, wait,
                );
            }
        }
    }

    /// Waits out its restart after a run from `since` that ended `now`
    /// (see [`after_exit`]); returns the wait in seconds, for the log.
    /// One body for an exit and a failed start (issue 18, bytes).
    fn wait_restart(&mut self, since: Instant, now: Instant) -> u64 {
        let (restart_at, quick_exits) = after_exit(since, now, self.quick_exits);
        self.quick_exits = quick_exits;
        self.state = State::Waiting { restart_at };
        restart_at.secs_since(now)
    }
}

/// Helper `i` taken out of `list` (swapped with the last) and dropped:
/// one function for `reaped` and `close`, each of which had the removed
/// helper copied out to it and dropped there (issue 18, bytes).
#[inline(never)]
fn forget(list: &mut Vec<Helper>, i: usize) {
    list.swap_remove(i);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helper_that_ran_long_enough_starts_again_at_once() {
        let t0 = Instant::now();
        let t1 = t0 + QUICK_EXIT;
        assert_eq!(after_exit(t0, t1, 3), (t1, 0));
    }

    #[test]
    fn quick_exits_in_a_row_wait_longer_up_to_a_minute() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(after_exit(t0, t1, 0), (t1 + Duration::from_secs(1), 1));
        assert_eq!(after_exit(t0, t1, 1), (t1 + Duration::from_secs(2), 2));
        assert_eq!(after_exit(t0, t1, 5), (t1 + Duration::from_secs(32), 6));
        assert_eq!(after_exit(t0, t1, 6), (t1 + RESTART_MAX, 7));
        assert_eq!(after_exit(t0, t1, 60), (t1 + RESTART_MAX, 61));
    }
}
