//! The job table: every job of the configuration in force, in file order
//! and in start order, and the jobs a reload removed or replaced that are
//! still stopping. A [`Job`] is one record: its spec, what it takes to
//! start it, its state machine's state and memory, what the operator wants
//! of it, and the descriptors of its current run.

use crate::prelude::*;
use core::fmt;
use core::mem::MaybeUninit;

use rustix::fd::OwnedFd;
use rustix::process::Pid;

use super::after::Graph;
use super::health::Health;
use super::job::{self, History, JobState, QuickExits, Rules, Up};
use crate::config::{JobSpec, Output};
use crate::spawn::Launch;
use crate::syslog::{JobOutput, Severity};

/// What the operator wants of a job, over what the configuration says
/// (runit's "want"): set by UDP `enable`/`disable` and `pmtr stop|start|
/// restart`, until the configuration changes or pmtr restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    AsConfigured,
    Up,
    Down,
}

/// Why a job cannot be started: it stays down, the reason is logged with
/// its position and shown by `pmtr status`. A `depends` file pmtr does
/// not trust (SPEC §10); an `env file` that is missing, untrusted or has
/// a bad line (the first error; all are logged); what `ready` or `check`
/// needs that could not be set up (its notify socket, its command); launch
/// data that could not be built (an unknown user, a NUL byte). Only its
/// text is ever used, so the text is what is kept: an enum of the four
/// with a `Display` arm each, its drop glue and two copied names were
/// more code (issue 18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotStartable(pub String);

impl fmt::Display for NotStartable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job's output pipe to syslog and its line buffer.
/// Boxed in its job, and made when the job is configured: about a
/// kilobyte that only `out syslog`/`err syslog` jobs need, and no
/// allocation per run.
pub struct OutputPipe {
    /// The read end of the current run's pipe, while it is open.
    pub fd: Option<OwnedFd>,
    pub lines: JobOutput,
    pub pid: u32,
}

impl OutputPipe {
    fn for_output(out: &Output) -> Option<Box<OutputPipe>> {
        (*out == Output::Syslog).then(|| {
            Box::new(OutputPipe {
                fd: None,
                lines: JobOutput::default(),
                pid: 0,
            })
        })
    }

    /// When this stream's count of dropped lines is due in the log.
    pub fn report_due(&self) -> Option<crate::clock::Instant> {
        self.lines.report_due()
    }

    /// Takes the pipe of a new run; what is left of the previous run's
    /// last line is logged first.
    pub fn attach(&mut self, fd: OwnedFd, pid: u32, tag: &str, severity: Severity) {
        self.lines.flush(tag, self.pid, severity);
        self.fd = Some(fd);
        self.pid = pid;
    }
}

/// `repr(C)`: what the loop reads at every event first, the spec last
/// (issue 18, bytes).
#[repr(C)]
pub struct Job {
    pub state: JobState,
    /// Unique for pmtr's lifetime: epoll tokens name jobs by it.
    pub id: u32,
    /// Jobs restart with it (`after THIS restart`): its stop waits for
    /// theirs. Set by [`Jobs::apply`]: it depends on the other jobs.
    pub held: bool,
    pub want: Want,
    /// The exec-status pipe of a run whose exec has not been confirmed.
    pub status_pipe: Option<OwnedFd>,
    pub stdout: Option<Box<OutputPipe>>,
    pub stderr: Option<Box<OutputPipe>>,
    /// `ready`, `check`, `watchdog` (issue 16); `None` without them.
    pub health: Option<Box<Health>>,
    pub history: History,
    pub launch: Result<Launch, NotStartable>,
    pub spec: JobSpec,
}

impl Job {
    fn new(id: u32, spec: JobSpec, launch: Result<Launch, NotStartable>) -> Job {
        // The `give up` window, made now so that no restart allocates.
        let window = spec.extra().give_up.map_or(0, |g| g.after as usize);
        Job {
            id,
            history: History {
                quick_exits: QuickExits::new(window),
                ..History::default()
            },
            held: false,
            stdout: OutputPipe::for_output(&spec.out),
            stderr: OutputPipe::for_output(&spec.err),
            spec,
            launch,
            state: JobState::Pending,
            want: Want::AsConfigured,
            status_pipe: None,
            health: None,
        }
    }

    /// Whether it should run: what the operator wants, else what the
    /// configuration says.
    pub fn wanted(&self) -> bool {
        match self.want {
            Want::Up => true,
            Want::Down => false,
            Want::AsConfigured => !self.spec.disable,
        }
    }

    /// Whether the reconcile may have to act on it: stop it (up, but not
    /// wanted or not startable), or start it (wanted, startable, and
    /// neither started nor finished). Every other job it passes over.
    pub fn needs_reconcile(&self) -> bool {
        if self.wanted() && self.launch.is_ok() {
            matches!(self.state, JobState::Pending | JobState::Stopped)
        } else {
            self.state.is_up()
        }
    }

    /// What the state machine needs of its configuration, worked out
    /// from the spec when needed: a few field reads, where a copy kept in
    /// each job was 144 bytes of every job's record (issue 18). Out of
    /// line on aarch64, where inlined into its one caller,
    /// `step_job`, it was 32 bytes more (issue 18, bytes; elsewhere out
    /// of line was more).
    #[cfg_attr(target_arch = "aarch64", inline(never))]
    pub fn rules(&self) -> Rules {
        rules(&self.spec, self.held)
    }

    /// When its state machine next wants a tick. The loop asks this of
    /// every job at each wakeup, so only a running job's timers are
    /// worked out, not all its rules: those were a quarter of pmtr's own
    /// instructions per restart with 1000 jobs (issue 18).
    pub fn deadline(&self) -> Option<crate::clock::Instant> {
        let timers = match self.state {
            JobState::Running { .. } => timers(&self.spec),
            _ => job::Timers::default(),
        };
        job::deadline(&self.state, &timers)
    }

    pub fn pid(&self) -> Option<Pid> {
        self.state.pid()
    }

    /// Logs the counts of dropped output lines that are due at `now`.
    pub fn report_dropped_output(&mut self, now: crate::clock::Instant) {
        for out in [&mut self.stdout, &mut self.stderr] {
            if let Some(out) = out
                && out.report_due().is_some_and(|at| at <= now)
            {
                out.lines.report_dropped(&self.spec.name, out.pid);
            }
        }
    }

    /// Running or stopping: a process of it may still exist. Inlined: it
    /// only passes the call on (issue 18, bytes).
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.pid().is_some()
    }

    /// Ready, as jobs that start after it wait for (issue 16): running
    /// and ready (healthy or not), or a job not restarted that exited 0.
    pub fn ready(&self) -> bool {
        match self.state {
            JobState::Running { up, .. } => matches!(up, Up::Ready { .. } | Up::Unhealthy { .. }),
            // Not restarted after it exited 0: `once`, `restart never`,
            // or a `restart on-failure` job that succeeded.
            JobState::Done(job::DoneReason::Once | job::DoneReason::Succeeded) => {
                matches!(self.history.last_exit, Some((job::Ending::Status(0), _)))
            }
            _ => false,
        }
    }
}

fn rules(spec: &JobSpec, held: bool) -> Rules {
    use crate::config::{Restart, Signal};
    use core::time::Duration;
    let e = spec.extra();
    let delay = e.restart_delay;
    let r = spec.readiness.as_deref();
    let once = once(spec);
    let mut rules = Rules {
        once,
        timers: job::Timers::default(),
        kill_after: Duration::from_secs(e.kill_after_secs),
        on_failure: spec.restart == Restart::OnFailure,
        delay: delay.map_or(job::QUICK_EXIT, |d| Duration::from_secs(d.secs)),
        delay_max: delay.and_then(|d| d.max_secs).map(Duration::from_secs),
        give_up: e.give_up.map(|g| job::GiveUp {
            after: g.after,
            within: Duration::from_secs(g.within_secs),
            then_exit: g.then_exit,
        }),
        stop_signal: e.stop_signal.unwrap_or(Signal::TERM),
        // A job that is not restarted is ready when it exited 0.
        waits_ready: once || r.is_some_and(|r| r.how.is_some()),
        check_fails: r
            .filter(|r| r.check_every_ms.is_some())
            .map_or(0, |r| r.check_fails()),
        gated: r.is_some_and(|r| !r.after.is_empty()),
        held,
    };
    // Made where they stay, after the rest: as a field of the literal
    // they were made on the stack and copied in (issue 18, bytes).
    rules.timers = timers(spec);
    rules
}

/// `once` or `restart never` ([`Rules::once`]): read by the report
/// without the rest of the rules (issue 18, bytes).
pub fn once(spec: &JobSpec) -> bool {
    spec.once || spec.restart == crate::config::Restart::Never
}

/// What `pmtr reload` sends (SIGHUP unless `reload signal`), read by
/// the control socket from the spec: not one of the [`Rules`] (issue 18,
/// bytes).
pub fn reload_signal(spec: &JobSpec) -> crate::config::Signal {
    spec.extra()
        .reload_signal
        .unwrap_or(crate::config::Signal::HUP)
}

fn timers(spec: &JobSpec) -> job::Timers {
    use core::time::Duration;
    let r = spec.readiness.as_deref();
    job::Timers {
        bounce: spec.extra().bounce_secs.map(Duration::from_secs),
        ready_timeout: r.and_then(|r| r.timeout_ms).map(Duration::from_millis),
        watchdog: r.and_then(|r| r.watchdog_ms).map(Duration::from_millis),
    }
}

/// Which list a job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Job(usize),
    Retiring(usize),
}

/// What [`Jobs::apply`] did.
pub struct Applied {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub kept: usize,
    /// Removed jobs, and the old versions of changed ones, to be stopped:
    /// their places in the retiring list, where they are put at once,
    /// not moved there one by one from a list of their own (issue 18,
    /// bytes).
    pub retired: core::ops::Range<usize>,
}

/// `repr(C)`: the current jobs' list first, at the address of the
/// `Jobs` itself, which is the supervisor's (`Supervisor` has it first):
/// the loop's most frequent field reads take the shortest offset forms
/// (issue 18, bytes).
#[derive(Default)]
#[repr(C)]
pub struct Jobs {
    /// The jobs of the configuration in force, in file order.
    current: Vec<Job>,
    /// Indices into `current` in start order (`order`, then file order).
    start_order: Vec<usize>,
    /// Jobs removed or replaced by a reload, still stopping.
    retiring: Vec<Job>,
    next_id: u32,
    /// `after` between the current jobs.
    graph: Graph,
    /// Each current job's place in `start_order` (for `wait`).
    rank: Vec<u32>,
    /// The `wait` jobs, in start order: the reconcile looks at these,
    /// not at every job, for the first one still to finish.
    waits: Vec<usize>,
    /// The jobs changed through [`Jobs::get_mut`] since the loop last
    /// took them, for each of its two readers: the deadlines
    /// ([`Jobs::take_touched`]) and the reconcile
    /// ([`Jobs::take_touched_for_reconcile`]). Only these can have moved.
    touched: [Changed; 2],
    /// Each current job's pid, as its state has it (`note_pid`): a reap
    /// finds its job in these 4 bytes a job, not by reading every job
    /// (issue 18: the search is on the way to the restart).
    pids: Vec<Option<Pid>>,
}

/// The slots of [`Jobs::slots`]: one count over both lists, where a
/// chain of two mapped ranges was more code (issue 18, bytes).
struct Slots {
    next: usize,
    current: usize,
    all: usize,
}

impl Iterator for Slots {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        let i = self.next;
        if i >= self.all {
            return None;
        }
        self.next = i + 1;
        Some(match i.checked_sub(self.current) {
            None => Slot::Job(i),
            Some(k) => Slot::Retiring(k),
        })
    }
}

/// A few jobs changed in one wakeup: a restart changes one.
pub type Touched = heapless::Vec<Slot, 4>;

/// Which jobs changed since a reader last looked: `None` when more than
/// fit in [`Touched`], or the job lists themselves changed (slots moved).
#[derive(Default)]
struct Changed(Option<Touched>);

impl Changed {
    fn note(&mut self, slot: Slot) {
        if let Some(t) = &mut self.0
            && !t.contains(&slot)
            && t.push(slot).is_err()
        {
            self.0 = None;
        }
    }

    fn take(&mut self) -> Option<Touched> {
        self.0.replace(Touched::new())
    }
}

impl Jobs {
    pub fn current(&self) -> &[Job] {
        &self.current
    }

    /// The order to start jobs in: `start_order`, with each job after
    /// the jobs it names in `after`.
    pub fn launch_order(&self) -> &[usize] {
        self.graph.order().unwrap_or(&self.start_order)
    }

    /// The current jobs with `wait`, in start order.
    pub fn waits(&self) -> &[usize] {
        &self.waits
    }

    /// Job `i`'s place in `start_order`.
    pub fn rank(&self, i: usize) -> usize {
        self.rank[i] as usize
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Whether every job that current job `i` starts after is ready.
    pub fn after_ready(&self, i: usize) -> bool {
        self.graph
            .after(i)
            .iter()
            // Every edge is between current jobs (`Graph::build`): `get`
            // only spares a bounds check (issue 18).
            .all(|e| self.current.get(e.after as usize).is_some_and(Job::ready))
    }

    pub fn get(&self, slot: Slot) -> &Job {
        match slot {
            Slot::Job(i) => &self.current[i],
            Slot::Retiring(i) => &self.retiring[i],
        }
    }

    pub fn get_mut(&mut self, slot: Slot) -> &mut Job {
        for changed in &mut self.touched {
            changed.note(slot);
        }
        match slot {
            Slot::Job(i) => &mut self.current[i],
            Slot::Retiring(i) => &mut self.retiring[i],
        }
    }

    /// The jobs changed since the last call; `None` if any job may have.
    pub fn take_touched(&mut self) -> Option<Touched> {
        self.touched[0].take()
    }

    /// The same, for the reconcile.
    pub fn take_touched_for_reconcile(&mut self) -> Option<Touched> {
        self.touched[1].take()
    }

    /// Every slot may have changed (the lists did).
    fn touch_all(&mut self) {
        self.touched = Default::default();
    }

    /// Every job, current ones first.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + use<> {
        let current = self.current.len();
        Slots {
            next: 0,
            current,
            all: current + self.retiring.len(),
        }
    }

    /// Every job, as its two lists (current ones first): walked list by
    /// list, not by a chain of their iterators (issue 18, bytes).
    pub fn lists(&self) -> [&[Job]; 2] {
        [&self.current, &self.retiring]
    }

    pub fn by_name(&self, name: &str) -> Option<usize> {
        named(&self.current, name)
    }

    pub fn find_by_pid(&self, pid: Pid) -> Option<Slot> {
        let found = match self.pids.iter().position(|&p| p == Some(pid)) {
            Some(i) => Some(Slot::Job(i)),
            None => self
                .retiring
                .iter()
                .position(|j| j.pid() == Some(pid))
                .map(Slot::Retiring),
        };
        debug_assert_eq!(found, self.find(|j| j.pid() == Some(pid)));
        found
    }

    /// Records the pid of the job in `slot` after its state changed (only
    /// the loop's `step_job` changes a state).
    pub fn note_pid(&mut self, slot: Slot) {
        if let Slot::Job(i) = slot {
            self.pids[i] = self.current[i].pid();
        }
    }

    /// The job whose `ready when` or `check` command runs as `pid`.
    /// Out of the loop's code on 64-bit targets: a reap asks it only of
    /// a pid that is no job's, never on the way to a restart (issue 18,
    /// bytes: min x86_64 -40, aarch64 0; armv6 +16, so inlined there).
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    pub fn find_by_probe_pid(&self, pid: Pid) -> Option<Slot> {
        self.find(|j| j.health.as_ref().and_then(|h| h.probe.pid()) == Some(pid))
    }

    pub fn find_by_id(&self, id: u32) -> Option<Slot> {
        self.find(|j| j.id == id)
    }

    fn find(&self, matches: impl Fn(&Job) -> bool) -> Option<Slot> {
        if let Some(i) = self.current.iter().position(&matches) {
            return Some(Slot::Job(i));
        }
        self.retiring.iter().position(matches).map(Slot::Retiring)
    }

    pub fn any_active(&self) -> bool {
        // Each list by a loop of its own, not an array of the two
        // (issue 18, bytes).
        self.current.iter().any(Job::active) || self.retiring.iter().any(Job::active)
    }

    /// A changed job starts only when its old version is gone.
    pub fn replaced_still_stopping(&self, name: &str) -> bool {
        named(&self.retiring, name).is_some()
    }

    /// Keeps a removed or replaced job until its processes are gone (see
    /// [`Jobs::forget_retired`]); returns its slot, to stop it.
    #[cfg(test)]
    pub fn retire(&mut self, job: Job) -> Slot {
        self.touch_all();
        self.retiring.push(job);
        Slot::Retiring(self.retiring.len() - 1)
    }

    /// A job [`Jobs::apply`] retires, taken from its slot of the old list
    /// (none there: nothing) and said with `why`: stopped at once by the
    /// loop, so what restarts with it is judged against the new
    /// configuration.
    ///
    /// # Safety
    ///
    /// `old` holds a job not taken (as [`push_from`]).
    #[allow(unsafe_code)]
    unsafe fn keep_stopping(&mut self, old: &mut MaybeUninit<Job>, why: &'static [u8]) {
        // Changed where it lies, taken only into the push (issue 18,
        // bytes).
        // SAFETY: the caller's promise.
        let job = unsafe { old.assume_init_mut() };
        super::log_one(&job.spec.name, why);
        job.held = false;
        // SAFETY: as above.
        unsafe { push_from(&mut self.retiring, old) };
    }

    /// Forgets retired jobs whose processes are all gone; returns their
    /// ids (none, and no allocation, at a restart).
    pub fn forget_retired(&mut self) -> Vec<u32> {
        let mut gone = Vec::new();
        self.retiring.retain(|j| {
            let keep = j.active();
            if !keep {
                gone.push(j.id);
            }
            keep
        });
        if !gone.is_empty() {
            // Slots after a forgotten job now name another.
            self.touch_all();
        }
        gone
    }

    /// Replaces the job set with `specs`, keeping each unchanged job as it
    /// is (running, with its history); `prepare` builds the launch data of
    /// new and changed jobs (and of kept ones that could not start).
    /// Out of `Supervisor::apply` on x86_64: a frame of its own (issue
    /// 18, bytes: min x86_64 -24).
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    #[allow(unsafe_code)]
    pub fn apply(
        &mut self,
        specs: Vec<JobSpec>,
        mut prepare: impl FnMut(&JobSpec, u32) -> Result<Launch, NotStartable>,
    ) -> Applied {
        // The new list is built where it stays: no list of its own to
        // move in and an empty one to drop (issue 18, bytes).
        let fresh = Vec::with_capacity(specs.len());
        // The old list's jobs are moved out of it one by one, each slot
        // marked by an id of 0 once taken (ids start at 1): no list of
        // `Option`s rebuilt from it, and none of their drop code (issue
        // 18, bytes). What is left of it at the end is its buffer.
        let mut old = core::mem::ManuallyDrop::new(core::mem::replace(&mut self.current, fresh));
        // SAFETY: the parts of a `Vec<Job>` that is not used again;
        // `MaybeUninit<Job>` has the layout of `Job`.
        let mut old: Vec<MaybeUninit<Job>> =
            unsafe { Vec::from_raw_parts(old.as_mut_ptr().cast(), old.len(), old.capacity()) };
        // Counted in locals, the record made at the end: counted in the
        // returned record, each count was stored twice (issue 18, bytes).
        let (mut added, mut changed, mut removed, mut kept) = (0, 0, 0, 0);
        let retired = self.retiring.len();
        // The specs read out of their buffer one by one, each once: no
        // iterator's drop of specs left, there are none (issue 18, bytes).
        let mut specs = core::mem::ManuallyDrop::new(specs);
        // SAFETY: as for `old`.
        let mut specs: Vec<MaybeUninit<JobSpec>> = unsafe {
            Vec::from_raw_parts(specs.as_mut_ptr().cast(), specs.len(), specs.capacity())
        };
        let mut at = 0;
        for new in &mut specs {
            // Looked at where it lies, and read out of it (or dropped)
            // once, where it goes: no copy of it made first (issue 18,
            // bytes).
            let new = new.as_mut_ptr();
            // SAFETY: each slot a spec, not read out until the end of
            // this turn.
            let spec = unsafe { &*new };
            let found = super::find_from(&old, &mut at, |j| {
                // SAFETY: every slot of `old` holds a job or one taken
                // by `push_from`.
                unsafe { left(j) }.is_some_and(|j| j.spec.name == spec.name)
            });
            // Looked at in its slot and taken from there only where it
            // goes: no copy of the whole job to match on (issue 18,
            // bytes). `find_from` picks only a slot that holds a job.
            if let Some(k) = found {
                let slot = &mut old[k];
                // SAFETY: `find_from` picks a slot that holds a job; as
                // above, for the takes below.
                let job = unsafe { slot.assume_init_mut() };
                if job.spec == *spec {
                    kept += 1;
                    // The file changed: the operator's overrides end here
                    // (SPEC §8).
                    job.want = Want::AsConfigured;
                    // Keep the positions of the new text for messages.
                    job.spec.origin = spec.origin.clone();
                    // SAFETY: its last use; the turn's one drop or read.
                    unsafe { new.drop_in_place() };
                    if job.launch.is_err() {
                        job.launch = prepare(&job.spec, job.id);
                    }
                    unsafe { push_from(&mut self.current, slot) };
                    continue;
                }
                changed += 1;
                unsafe {
                    self.keep_stopping(
                        slot,
                        line_at!(Info, "job {} changed; restarting it with its new settings"),
                    )
                };
            } else {
                added += 1;
            }
            let id = self.next_id.max(1);
            self.next_id = id.wrapping_add(1);
            let launch = prepare(spec, id);
            // SAFETY: as above.
            add_job(&mut self.current, id, unsafe { new.read() }, launch);
        }
        for slot in &mut old {
            // SAFETY: as above.
            if unsafe { left(slot) }.is_some() {
                removed += 1;
                unsafe {
                    self.keep_stopping(
                        slot,
                        line_at!(Info, "job {} removed from the configuration; stopping it"),
                    )
                };
            }
        }
        let applied = Applied {
            added,
            changed,
            removed,
            kept,
            retired: retired..self.retiring.len(),
        };
        self.touch_all();
        let order = start_order(&self.current);
        self.rank = vec![0; order.len()];
        self.waits.clear();
        // `order` holds each index once: `get_mut` is always Some.
        for (k, &i) in order.iter().enumerate() {
            if let Some(rank) = self.rank.get_mut(i) {
                *rank = k as u32;
            }
            if self.current.get(i).is_some_and(|j| j.spec.wait) {
                self.waits.push(i);
            }
        }
        self.graph = Graph::build(&self.current, |j| &j.spec, &order);
        self.start_order = order;
        // The pid table, and `held` (some job restarts with it) cleared,
        // then set from one pass over the edges.
        self.pids.clear();
        for job in &mut self.current {
            job.held = false;
            self.pids.push(job.pid());
        }
        for e in self.graph.edges() {
            if let (true, Some(job)) = (e.restart, self.current.get_mut(e.after as usize)) {
                job.held = true;
            }
        }
        applied
    }
}

/// The place of the job named `name` in `list`: one search for
/// [`Jobs::by_name`] and [`Jobs::replaced_still_stopping`], where each
/// had its own (issue 18, bytes).
#[inline(never)]
fn named(list: &[Job], name: &str) -> Option<usize> {
    list.iter().position(|j| *j.spec.name == *name)
}

/// The job in `slot` moved to the end of `list`: one body for the kept
/// and the retired jobs of [`Jobs::apply`], each had its own take and
/// push (issue 18, bytes).
///
/// # Safety
///
/// `slot` holds a job not taken: by this, which marks it taken by an id
/// of 0 (ids start at 1).
#[inline(never)]
#[allow(unsafe_code)]
unsafe fn push_from(list: &mut Vec<Job>, slot: &mut MaybeUninit<Job>) {
    let p = slot.as_mut_ptr();
    // SAFETY: a job, moved out; its bytes stay, and the id marks it
    // taken. Only the id is read of it again (`left`).
    unsafe {
        list.push(p.read());
        (*p).id = 0;
    }
}

/// The job in `slot`, unless [`push_from`] took it.
///
/// # Safety
///
/// `slot` holds a job, or one [`push_from`] took.
#[allow(unsafe_code)]
unsafe fn left(slot: &MaybeUninit<Job>) -> Option<&Job> {
    let p = slot.as_ptr();
    // SAFETY: the id of a job, taken or not, is still there; a slot
    // whose id is not 0 holds a job.
    unsafe { ((*p).id != 0).then(|| &*p) }
}

/// A new job made at the end of `list`. Out of [`Jobs::apply`] on 32-bit
/// ARM: the record is built in this small frame, next to the push that
/// copies it (issue 18, bytes: -16 of armv6; out of line on x86_64 too
/// it was +16 there).
#[cfg_attr(target_arch = "arm", inline(never))]
fn add_job(list: &mut Vec<Job>, id: u32, spec: JobSpec, launch: Result<Launch, NotStartable>) {
    list.push(Job::new(id, spec, launch));
}

/// The indices of `jobs` in start order: by `order`, ties in file order
/// (SPEC §3). An insertion sort, each job put after the last one whose
/// order is not greater (binary search): core's sort was 4.3 KB of the
/// stable build's code for this one call (issue 18). Jobs in file order
/// cost no moves; the worst case, each job ordered before all above it,
/// moves n²/2 indices: 3000 jobs in 0.5 ms (x86_64), 6.5 ms (i686), once
/// per configuration read.
fn start_order(jobs: &[Job]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let o = job.spec.order;
        // Every j in `order` is below i: `get` is always Some.
        let at = order.partition_point(|&j| jobs.get(j).is_some_and(|job| job.spec.order <= o));
        order.insert(at, i);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use core::time::Duration;
    use rustix::process::Signal;

    /// A job's record is most of pmtr's memory with many jobs (issue 18:
    /// 1000 jobs of `/bin/sleep` are about 650 KB of heap, 472 bytes each
    /// plus their strings): what most jobs never use is boxed (the rarely
    /// set options, `user`, a log file's settings, output pipes, the
    /// `give up` ring) and nothing is kept twice. Growing the record is a
    /// decision: raise the bound here and say why. 64-bit sizes.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_job_record_stays_small() {
        use crate::supervisor::job::{History, JobState};
        // `Pos` keeps its line as a `NonZeroU32` beside the column, so each
        // `Option<Pos>` of a job's `Origin` takes 8 bytes with no tag.
        assert_eq!(size_of::<Option<crate::config::Pos>>(), 8);
        assert!(size_of::<Job>() <= 480, "{}", size_of::<Job>());
        assert!(size_of::<crate::spawn::Launch>() <= 136);
        assert!(size_of::<JobSpec>() <= 184, "{}", size_of::<JobSpec>());
        assert!(size_of::<History>() <= 64);
        assert!(size_of::<JobState>() <= 40);
    }

    fn spec(body: &str) -> JobSpec {
        let text = format!("job {{\n name t\n cmd /bin/true\n{body}\n}}\n");
        config::parse_bytes("t.conf", text.as_bytes())
            .unwrap()
            .jobs
            .remove(0)
    }

    #[test]
    fn default_rules_are_todays() {
        let s = spec("");
        let r = rules(&s, false);
        assert_eq!(r.delay, job::QUICK_EXIT);
        assert_eq!(r.delay_max, None);
        assert_eq!(job::quick_run(&r), job::QUICK_EXIT);
        assert_eq!(
            (r.stop_signal, reload_signal(&s)),
            (Signal::TERM, Signal::HUP)
        );
        assert!(!r.once && !r.on_failure && r.give_up.is_none());
    }

    #[test]
    fn issue_15_options_become_rules() {
        let s = spec(
            "restart on-failure\nrestart delay 1 max 8\ngive up after 5 in 1m then exit\nstop signal INT\nreload signal USR1",
        );
        let r = rules(&s, false);
        assert!(r.on_failure && !r.once);
        assert_eq!(r.delay, Duration::from_secs(1));
        assert_eq!(job::quick_run(&r), Duration::from_secs(8));
        assert_eq!(
            r.give_up,
            Some(job::GiveUp {
                after: 5,
                within: Duration::from_secs(60),
                then_exit: true
            })
        );
        assert_eq!(
            (r.stop_signal, reload_signal(&s)),
            (Signal::INT, Signal::USR1)
        );
        assert!(rules(&spec("restart never"), false).once);
    }

    /// `Job::deadline` works out only a running job's timers: it must
    /// agree with the state machine's deadline from all of its rules, in
    /// every kind of state, with and without timers.
    #[test]
    fn a_jobs_deadline_is_the_one_its_rules_give() {
        use crate::clock::Instant;
        use job::AfterStop;
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(1500);
        let pid = Pid::from_raw(7).unwrap();
        let states = [
            JobState::Pending,
            JobState::Running {
                pid,
                since: t0,
                up: Up::Starting,
            },
            JobState::Running {
                pid,
                since: t0,
                up: Up::Ready {
                    at: t1,
                    alive_at: t1,
                },
            },
            JobState::Running {
                pid,
                since: t0,
                up: Up::Leaving { at: t1 },
            },
            JobState::Stopping {
                pid,
                since: t0,
                kill_at: Some(t1),
                leader_gone: false,
                then: AfterStop::Restart,
            },
            JobState::Waiting { restart_at: t1 },
            JobState::Failed,
        ];
        let not_startable = || NotStartable(String::new());
        for body in [
            "",
            "bounce every 1h",
            "ready notify\nready timeout 5s\nwatchdog 2s",
            "ready notify\nwatchdog 3s\nbounce every 10s",
        ] {
            let mut job = Job::new(1, spec(body), Err(not_startable()));
            for state in states {
                job.state = state;
                let from_rules = job::deadline(&state, &job.rules().timers);
                assert_eq!(job.deadline(), from_rules, "{body:?} in {state:?}");
            }
        }
    }

    #[test]
    fn the_give_up_window_is_made_at_load() {
        let not_startable = || NotStartable(String::new());
        let job = Job::new(1, spec("give up after 5 in 1m"), Err(not_startable()));
        assert_eq!(job.history.quick_exits.capacity(), 5);
        let job = Job::new(2, spec(""), Err(not_startable()));
        assert_eq!(job.history.quick_exits.capacity(), 0);
    }

    /// What the loop relies on to skip its walks of every job: each job
    /// changed through `get_mut` is noted, for each reader once; too many,
    /// or a load, note them all; a pid is found in the table once noted.
    #[test]
    fn changed_jobs_are_noted_and_pids_found() {
        let not_startable = || NotStartable(String::new());
        let text = "job {\n name a\n cmd /x\n}\njob {\n name b\n cmd /x\n wait\n}\n\
                    job {\n name c\n cmd /x\n}\njob {\n name d\n cmd /x\n}\n\
                    job {\n name e\n cmd /x\n wait\n}\n";
        let specs = config::parse_bytes("t.conf", text.as_bytes()).unwrap().jobs;
        let mut jobs = Jobs::default();
        jobs.apply(specs, |_, _| Err(not_startable()));
        assert_eq!(jobs.waits(), [1, 4]);
        // A load changed every job, for both readers.
        assert!(jobs.take_touched().is_none());
        assert!(jobs.take_touched_for_reconcile().is_none());
        assert_eq!(jobs.take_touched().as_deref(), Some(&[][..]));
        jobs.get_mut(Slot::Job(2));
        jobs.get_mut(Slot::Job(2));
        jobs.get_mut(Slot::Job(0));
        assert_eq!(
            jobs.take_touched().as_deref(),
            Some(&[Slot::Job(2), Slot::Job(0)][..])
        );
        // The other reader still has them; taken, they are gone.
        assert_eq!(jobs.take_touched_for_reconcile().map(|t| t.len()), Some(2));
        assert_eq!(jobs.take_touched().as_deref(), Some(&[][..]));
        for i in 0..5 {
            jobs.get_mut(Slot::Job(i));
        }
        assert!(jobs.take_touched().is_none(), "five do not fit in four");

        // Every slot, current jobs first.
        let slots: Vec<Slot> = jobs.slots().collect();
        assert_eq!(slots, (0..5).map(Slot::Job).collect::<Vec<_>>());
        let first = Job::new(9, jobs.current()[0].spec.clone(), Err(not_startable()));
        assert_eq!(jobs.retire(first), Slot::Retiring(0));
        assert_eq!(jobs.slots().nth(5), Some(Slot::Retiring(0)));
        assert_eq!(jobs.slots().count(), 6);

        let pid = Pid::from_raw(4242).unwrap();
        assert_eq!(jobs.find_by_pid(pid), None);
        jobs.get_mut(Slot::Job(3)).state = JobState::Running {
            pid,
            since: crate::clock::Instant::now(),
            up: job::Up::Ready {
                at: crate::clock::Instant::now(),
                alive_at: crate::clock::Instant::now(),
            },
        };
        jobs.note_pid(Slot::Job(3));
        assert_eq!(jobs.find_by_pid(pid), Some(Slot::Job(3)));
        jobs.get_mut(Slot::Job(3)).state = JobState::Stopped;
        jobs.note_pid(Slot::Job(3));
        assert_eq!(jobs.find_by_pid(pid), None);
    }

    #[test]
    fn start_order_is_by_order_then_file_order() {
        let not_startable = || NotStartable(String::new());
        // Every length up to 12 with a few patterns of orders: equal,
        // ascending, descending, and mixed with negative ones.
        for n in 0..12usize {
            for pattern in 0..4 {
                let orders: Vec<i32> = (0..n as i32)
                    .map(|i| match pattern {
                        0 => 0,
                        1 => i,
                        2 => -i,
                        _ => (i * 7919) % 5 - 2,
                    })
                    .collect();
                let jobs: Vec<Job> = orders
                    .iter()
                    .map(|o| Job::new(1, spec(&format!("order {o}")), Err(not_startable())))
                    .collect();
                let mut expected: Vec<usize> = (0..n).collect();
                expected.sort_by_key(|&i| (orders[i], i));
                assert_eq!(start_order(&jobs), expected, "{orders:?}");
            }
        }
    }
}
