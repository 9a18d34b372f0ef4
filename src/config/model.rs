//! The parsed configuration: plain data, compared job by job on reload.
//!
//! Two configurations that differ only in whitespace, comments or where a
//! job stands in the file compare equal job by job, so a reload restarts
//! exactly the jobs whose meaning changed (SPEC §6).

use crate::prelude::*;
use core::net::IpAddr;
use core::num::NonZeroU32;

/// Everything one `pmtr.conf` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Jobs in file order (the supervisor sorts by `order`, stably).
    pub jobs: Vec<JobSpec>,
    /// `report to udp://HOST:PORT[@IFACE]` lines, in file order.
    pub report: Vec<UdpUrl>,
    /// `listen on udp://ADDR:PORT` lines, in file order.
    pub listen: Vec<UdpUrl>,
    /// `metrics to FILE`: where the Prometheus text is kept (absolute).
    pub metrics: Option<String>,
    /// `FILE:LINE:COL: message` for what does not stop the file from
    /// applying but deserves a word (`restart delay 0`): logged at every
    /// load, printed by `pmtr -t`. Kept as errors, displayed where they
    /// are written: no `to_string` of an error in the binary (issue 18,
    /// bytes).
    pub warnings: Vec<super::Error>,
}

/// One `job { … }` block. Compared by what it means (see
/// [`JobSpec::meaning`]).
///
/// In this order (`repr(C)`): the lists and the one-pointer fields first,
/// the flags, then the two outputs and `origin`, so that most fields are
/// within a byte's displacement of the spec, and within the parser's
/// (`parse::Parser`), whose test of a job being read is one of `env`'s
/// words. Laid out by the compiler, `name` to `once` lay from 0x70 on
/// (issue 18, bytes: min x86_64 -144).
#[derive(Debug, Clone)]
#[repr(C)]
pub struct JobSpec {
    /// `env` lines as written, each `VAR=VALUE`, in file order.
    pub env: Vec<String>,
    /// `name`: unique within the file.
    pub name: Box<str>,
    /// `cmd`: argv; `cmd[0]` is an absolute path.
    pub cmd: Box<[Box<str>]>,
    /// `dir`: absolute working directory; `None` means `/`.
    pub dir: Option<Box<str>>,
    /// `user`: run as this user; `None` means the user pmtr runs as.
    pub user: Option<Box<str>>,
    /// The options most jobs never set; see [`JobSpec::extra`].
    extra: Extras,
    /// `ready`, `after`, `check` and `watchdog` (issue 16); `None` for the
    /// many jobs that use none of them, so they cost one pointer.
    pub readiness: Option<Box<Readiness>>,
    /// `order`: lower starts first; default 0.
    pub order: i32,
    /// `restart always|on-failure|never` (issue 15).
    pub restart: Restart,
    /// `disable`
    pub disable: bool,
    /// `wait`: later jobs start only after this one exits.
    pub wait: bool,
    /// `once`: never restarted.
    pub once: bool,
    /// `out`: where stdout goes.
    pub out: Output,
    /// `err`: where stderr goes.
    pub err: Output,
    /// Where the job was written. Always compares equal (see [`Origin`]).
    pub origin: Origin,
}

/// The options of a job that most jobs never set: boxed, so that a job
/// without any costs one pointer where they took 260 bytes of every
/// job's record (issue 18). Read with [`JobSpec::extra`], set with
/// [`JobSpec::extra_mut`]; [`Extra::NONE`] holds every default.
///
/// In this order (`repr(C)`): the lists first, then the small values,
/// the optional texts last, so that the fields read most are within a
/// byte's displacement (issue 18, bytes: min x86_64 -16). Issue 15's
/// options (restart backoff, crash-loop budget, signals, env files and
/// credentials) each default to what the original pmtr did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub struct Extra {
    /// `depends { … }`: files whose content change restarts the job.
    pub depends: Vec<String>,
    /// `env file [-]PATH` lines in file order, made absolute (relative to
    /// `dir`, like `depends`).
    pub env_files: Vec<EnvFile>,
    /// `ulimit` settings in file order; a later setting of the same
    /// resource is an error, so each resource appears at most once.
    pub ulimits: Vec<Ulimit>,
    /// `groups`: supplementary groups (names or gids) added to the user's.
    pub groups: Vec<String>,
    /// `nice`: -20..=19.
    pub nice: Option<i32>,
    /// `umask`: 0..=0o777; `None` keeps pmtr's.
    pub umask: Option<u32>,
    /// `stop signal SIG`: sent first when stopping the job; `None` is TERM.
    pub stop_signal: Option<Signal>,
    /// `reload signal SIG`: what `pmtr reload` sends; `None` is HUP.
    pub reload_signal: Option<Signal>,
    /// `kill after T` (beyond the original): seconds between SIGTERM and
    /// SIGKILL when stopping the job; default 10.
    pub kill_after_secs: u64,
    /// `bounce every T`: restart after the job has run this many seconds.
    pub bounce_secs: Option<u64>,
    /// `give up after N in T [then exit]`.
    pub give_up: Option<GiveUp>,
    /// `restart delay T [max T2]`; `None`: the fixed 10 s anti-spin wait.
    pub restart_delay: Option<RestartDelay>,
    /// `cpu`: the CPU numbers the job may run on, sorted, without
    /// duplicates. Numbers beyond the machine's CPUs are kept here and
    /// ignored at run time.
    pub cpu: Option<Vec<u32>>,
    /// `in`: stdin file (relative to `dir`); `None` means `/dev/null`.
    pub input: Option<String>,
    /// `group`: primary group (name or gid) instead of the user's.
    pub group: Option<String>,
}

impl Extra {
    /// Every default: what a job without these options has.
    pub const NONE: Extra = Extra {
        input: None,
        nice: None,
        cpu: None,
        ulimits: Vec::new(),
        bounce_secs: None,
        depends: Vec::new(),
        kill_after_secs: DEFAULT_KILL_AFTER_SECS,
        restart_delay: None,
        give_up: None,
        stop_signal: None,
        reload_signal: None,
        env_files: Vec::new(),
        group: None,
        groups: Vec::new(),
        umask: None,
    };
}

static NO_EXTRA: Extra = Extra::NONE;

impl JobSpec {
    /// A job named by nothing yet, every option at its default, written
    /// at `pos`: what the parser fills in.
    pub fn new(pos: Pos) -> JobSpec {
        JobSpec {
            name: Box::default(),
            cmd: Box::default(),
            dir: None,
            out: Output::Null,
            err: Output::Null,
            env: Vec::new(),
            user: None,
            order: 0,
            restart: Restart::Always,
            disable: false,
            wait: false,
            once: false,
            extra: Extras(None),
            readiness: None,
            origin: Origin {
                job: pos,
                user: None,
                group: None,
            },
        }
    }

    /// The job's rarely set options, or their defaults.
    pub fn extra(&self) -> &Extra {
        self.extra.get()
    }

    /// The job's `dir`, and its rarely set options if any was set: both
    /// at once, borrowed apart (the parser resolves relative paths).
    pub(crate) fn dir_and_extra(&mut self) -> (Option<&str>, Option<&mut Extra>) {
        (self.dir.as_deref(), self.extra.0.as_deref_mut())
    }

    /// The job's rarely set options, to set one: made on first use.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.0.get_or_insert_with(|| Box::new(Extra::NONE))
    }
}

/// Two jobs are the same when their meaning is: every option, not where
/// they were written (their [`Origin`], an `after` line's place) nor
/// whether their rarely set options were boxed (see [`Extras`]).
impl PartialEq for JobSpec {
    fn eq(&self, other: &JobSpec) -> bool {
        Meaning::same(Of::Job(self), Of::Job(other))
    }
}

/// What a [`Meaning`] is written of: a job, or one of its outputs.
#[derive(Clone, Copy)]
enum Of<'a> {
    Job(&'a JobSpec),
    Out(&'a Output),
}

impl Eq for JobSpec {}

/// A job's meaning as bytes (see [`JobSpec::meaning`]): each number as
/// its bytes, each text as its length and bytes, each list as its length
/// and items, each optional value as a flag and the value. Only the
/// writers are functions, and a `u64` is passed by reference (one register
/// on 32-bit): the comparison a derive made of every field was about
/// 1.2 KB of code on armv7 (issue 18).
struct Meaning(Vec<u8>);

impl Meaning {
    /// Whether `a` and `b` mean the same: their meanings written and
    /// compared by one body for jobs and outputs, not a copy of it in
    /// each comparison (issue 18, bytes).
    #[inline(never)]
    fn same(a: Of<'_>, b: Of<'_>) -> bool {
        let (mut x, mut y) = (Meaning(Vec::new()), Meaning(Vec::new()));
        match (a, b) {
            (Of::Job(a), Of::Job(b)) => {
                a.meaning(&mut x);
                b.meaning(&mut y);
            }
            (Of::Out(a), Of::Out(b)) => {
                x.output(a);
                y.output(b);
            }
            // A job is never the same as an output.
            _ => return false,
        }
        x.0 == y.0
    }

    /// A small number (a length, a flag, a variant).
    #[inline(never)]
    fn num(&mut self, n: usize) {
        self.0.extend_from_slice(&n.to_ne_bytes());
    }

    #[inline(never)]
    fn opt(&mut self, n: &Option<u64>) {
        self.num(usize::from(n.is_some()));
        // Where a `usize` holds a `u64`, the value is a `num` as the flag
        // is: `opt` and `opt32` one body there (issue 18, bytes).
        #[cfg(target_pointer_width = "64")]
        self.num(n.unwrap_or(0) as usize);
        #[cfg(not(target_pointer_width = "64"))]
        self.0.extend_from_slice(&n.unwrap_or(0).to_ne_bytes());
    }

    /// [`Meaning::opt`] of a `u32`, widened: on 64-bit targets the same
    /// bytes as a flag and a `usize`, by the one body (issue 18, min
    /// x86_64 bytes).
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn opt32(&mut self, n: Option<u32>) {
        self.opt(&n.map(u64::from));
    }

    /// A flag and the value as a `usize` (a `u32` fits), not widened to
    /// a `u64` on the stack for [`Meaning::opt`] (issue 18, bytes).
    #[cfg(not(target_pointer_width = "64"))]
    #[inline(never)]
    fn opt32(&mut self, n: Option<u32>) {
        self.num(usize::from(n.is_some()));
        self.num(n.unwrap_or(0) as usize);
    }

    #[inline(never)]
    fn text(&mut self, s: &str) {
        self.num(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    #[inline(never)]
    fn opt_text(&mut self, s: Option<&str>) {
        self.num(usize::from(s.is_some()));
        self.text(s.unwrap_or(""));
    }

    #[inline(never)]
    fn texts(&mut self, list: &[String]) {
        self.num(list.len());
        for s in list {
            self.text(s);
        }
    }

    fn output(&mut self, out: &Output) {
        // The variant's number and its path written at one place each
        // (issue 18, bytes).
        let (n, path) = match out {
            Output::Null => (0, None),
            Output::File(path) => (1, Some(path)),
            Output::Syslog => (2, None),
            Output::Log(log) => (3, Some(&log.path)),
        };
        self.num(n);
        if let Some(path) = path {
            self.text(path);
        }
        if let Output::Log(log) = out {
            self.opt(&log.max);
            self.num(log.keep as usize);
            self.num(usize::from(log.stamp));
        }
    }
}

impl JobSpec {
    /// What the job means, as bytes that are equal exactly when two jobs
    /// mean the same (see [`Meaning`]). Every field is named here, so a
    /// new one cannot be left out unnoticed.
    /// Written onto `m`, the caller's: not built in a frame of its own
    /// and moved out (issue 18, bytes). Out of line: inlined into
    /// [`Meaning::same`], its one caller, each write was given its
    /// `Meaning` as a stack address, not a register (min x86_64 +144).
    #[inline(never)]
    fn meaning(&self, m: &mut Meaning) {
        let JobSpec {
            name,
            cmd,
            dir,
            out,
            err,
            env,
            user,
            order,
            restart,
            disable,
            wait,
            once,
            extra: _,
            readiness,
            origin: _,
        } = self;
        let Extra {
            input,
            nice,
            cpu,
            ulimits,
            bounce_secs,
            depends,
            kill_after_secs,
            restart_delay,
            give_up,
            stop_signal,
            reload_signal,
            env_files,
            group,
            groups,
            umask,
        } = self.extra();
        m.text(name);
        m.num(cmd.len());
        for word in cmd {
            m.text(word);
        }
        m.opt_text(dir.as_deref());
        m.output(out);
        m.output(err);
        m.texts(env);
        m.opt_text(user.as_deref());
        m.num(*order as usize);
        m.num(
            *restart as usize
                | usize::from(*disable) << 2
                | usize::from(*wait) << 3
                | usize::from(*once) << 4,
        );
        m.opt_text(input.as_deref());
        m.opt32(nice.map(|n| n as u32));
        let cpu = cpu.as_deref();
        m.opt32(cpu.map(|c| c.len() as u32));
        for &c in cpu.unwrap_or_default() {
            m.num(c as usize);
        }
        m.num(ulimits.len());
        for u in ulimits {
            m.num(u.resource as usize);
            m.opt(&u.value);
        }
        m.opt(bounce_secs);
        m.texts(depends);
        m.opt(&Some(*kill_after_secs));
        // A set option's flag and its values, an unset one's flag alone:
        // one test of each, not one a value (issue 18, bytes).
        match restart_delay {
            Some(d) => {
                m.opt(&Some(d.secs));
                m.opt(&d.max_secs);
            }
            None => m.num(0),
        }
        match give_up {
            Some(g) => {
                m.opt32(Some(g.after));
                m.opt(&Some(g.within_secs));
                m.num(usize::from(g.then_exit));
            }
            None => m.num(0),
        }
        m.opt32(stop_signal.map(|s| s.as_raw() as u32));
        m.opt32(reload_signal.map(|s| s.as_raw() as u32));
        m.num(env_files.len());
        for f in env_files {
            m.text(&f.path);
            m.num(usize::from(f.optional));
        }
        m.opt_text(group.as_deref());
        m.texts(groups);
        m.opt32(*umask);
        // Without `ready`, `after`, `check` or `watchdog` the bytes end
        // here; with them, more follow.
        let Some(r) = readiness.as_deref() else {
            return;
        };
        let Readiness {
            how,
            every_ms,
            timeout_ms,
            after,
            check_cmd,
            check_every_ms,
            check_timeout_ms,
            check_fails,
            watchdog_ms,
        } = r;
        match how {
            None => m.num(0),
            Some(ReadyHow::Notify) => m.num(1),
            Some(ReadyHow::Fd(n)) => {
                m.num(2);
                m.num(*n as usize);
            }
            Some(ReadyHow::When(cmd)) => {
                m.num(3);
                m.texts(cmd);
            }
        }
        m.opt(every_ms);
        m.opt(timeout_ms);
        // An `after` line's name and flag, not its place (see [`After`]).
        m.num(after.len());
        for a in after {
            m.text(&a.name);
            m.num(usize::from(a.restart));
        }
        m.texts(check_cmd);
        m.opt(check_every_ms);
        m.opt(check_timeout_ms);
        m.opt32(*check_fails);
        m.opt(watchdog_ms);
    }
}

/// A job's [`Extra`] options, boxed only when one is set. Compares by
/// the options, however they are stored: a job whose rarely set options
/// were all set to their defaults equals one without (SPEC §6).
#[derive(Debug, Clone, Default)]
struct Extras(Option<Box<Extra>>);

impl PartialEq for Extras {
    fn eq(&self, other: &Extras) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Extras {}

impl Extras {
    fn get(&self) -> &Extra {
        self.0.as_deref().unwrap_or(&NO_EXTRA)
    }
}

/// How a job says it is ready, what it starts after, and how its health
/// is checked (issue 16). Times are in milliseconds.
///
/// In this order (`repr(C)`): the lists first, the times last (issue
/// 18, bytes: min x86_64 -40).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Readiness {
    /// `after NAME… [restart]` lines, in file order.
    pub after: Vec<After>,
    /// `check every T CMD…`: the command; empty without one.
    pub check_cmd: Vec<String>,
    /// `ready notify`, `ready fd N` or `ready when CMD…`.
    pub how: Option<ReadyHow>,
    /// `check fails N`: failures in a row that restart the job.
    pub check_fails: Option<u32>,
    /// `ready every T`: how often `ready when` runs (default 1 s).
    pub every_ms: Option<u64>,
    /// `ready timeout T`: not ready by then, the job is stopped.
    pub timeout_ms: Option<u64>,
    pub check_every_ms: Option<u64>,
    /// `check timeout T`; default half of `check every`.
    pub check_timeout_ms: Option<u64>,
    /// `watchdog T` (with `ready notify`): restarted when no
    /// `WATCHDOG=1` came for this long.
    pub watchdog_ms: Option<u64>,
}

/// Default for [`Readiness::every_ms`].
pub const DEFAULT_READY_EVERY_MS: u64 = 1000;

/// Default for [`Readiness::check_fails`].
pub const DEFAULT_CHECK_FAILS: u32 = 3;

impl Readiness {
    /// How often `ready when` runs.
    pub fn every_ms(&self) -> u64 {
        self.every_ms.unwrap_or(DEFAULT_READY_EVERY_MS)
    }

    /// How long a check may run before it is killed and counts as failed.
    pub fn check_timeout_ms(&self) -> u64 {
        self.check_timeout_ms
            .unwrap_or(self.check_every_ms.unwrap_or(0) / 2)
            .max(1)
    }

    pub fn check_fails(&self) -> u32 {
        self.check_fails.unwrap_or(DEFAULT_CHECK_FAILS)
    }
}

/// How a job says it is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyHow {
    /// The sd_notify protocol: `READY=1` on `$NOTIFY_SOCKET`.
    Notify,
    /// A newline written to this descriptor (s6 style).
    Fd(u32),
    /// This command (argv, absolute path first) exits 0.
    When(Vec<String>),
}

/// One job named by `after`.
#[derive(Debug, Clone)]
pub struct After {
    pub name: Box<str>,
    /// `after NAME restart`: stopped before it and started again after it.
    pub restart: bool,
    /// Where the name is written.
    pub pos: Pos,
    /// The index (in file order) of the job it names, resolved once the
    /// whole file is read; `u32::MAX` until then. Like the position, not
    /// part of the job's meaning: a job added above another does not
    /// change it.
    pub index: u32,
}

/// The name and the flag: what the line means (see [`After::index`]).
impl PartialEq for After {
    fn eq(&self, other: &After) -> bool {
        self.name == other.name && self.restart == other.restart
    }
}

impl Eq for After {}

/// Default for `JobSpec::kill_after_secs` (SPEC §5).
pub const DEFAULT_KILL_AFTER_SECS: u64 = 10;

/// A signal, as `stop signal`, `reload signal` and `pmtr signal` name it.
pub use rustix::process::Signal;

/// `restart always|on-failure|never` (issue 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Restarted whenever it exits (the original pmtr's only way).
    #[default]
    Always,
    /// Not restarted after exit status 0.
    OnFailure,
    /// Never restarted: `once`.
    Never,
}

impl Restart {
    pub fn word(self) -> &'static str {
        match self {
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "never",
        }
    }
}

/// `restart delay T [max T2]`: the wait after a quick exit is `secs`,
/// doubling with each further quick exit up to `max_secs`; a run of
/// `max_secs` (10 s without `max`) is not quick and resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartDelay {
    pub secs: u64,
    pub max_secs: Option<u64>,
}

/// `give up after N in T [then exit]`: after `after` quick exits within
/// `within_secs` the job is not restarted; `then_exit`: pmtr exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUp {
    pub after: u32,
    pub within_secs: u64,
    pub then_exit: bool,
}

/// `env file [-]PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    pub path: String,
    /// Written with a leading `-`: a missing file is no error.
    pub optional: bool,
}

/// Where a stdout/stderr stream goes.
#[derive(Debug, Clone, Eq, Default)]
pub enum Output {
    /// `/dev/null` (the default).
    #[default]
    Null,
    /// A file, relative to the job's `dir`, opened for append, created 0644.
    File(String),
    /// The word `syslog`: each line is logged, tagged with the job name.
    Syslog,
    /// A file with `max`, `keep` or `stamp`: written by a logger process
    /// between the job's pipe and the files.
    Log(Box<LogFile>),
}

/// Two outputs are the same when their meaning is, as two jobs are
/// (see [`Meaning::output`]): not a derived comparison of each variant
/// and of a log file's every field, 180 bytes of min x86_64 (issue 18,
/// bytes). The supervisor compares outputs when it applies a
/// configuration (`out` and `err` to one logger, a stream to syslog),
/// never when it restarts a job: the two small `Vec`s are made there.
impl PartialEq for Output {
    fn eq(&self, other: &Output) -> bool {
        Meaning::same(Of::Out(self), Of::Out(other))
    }
}

/// `out FILE [max SIZE [keep N]] [stamp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Relative to the job's `dir`.
    pub path: String,
    /// `max`: bytes a file may reach before it is rotated.
    pub max: Option<u64>,
    /// `keep`: rotated files kept (FILE.1 … FILE.N); 1 unless given.
    pub keep: u32,
    /// `stamp`: each line starts with its ISO 8601 local time.
    pub stamp: bool,
}

/// One `ulimit` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ulimit {
    pub resource: Resource,
    /// `None` is `infinity`.
    pub value: Option<u64>,
}

/// The resources `ulimit` knows, by shell flag and `RLIMIT_` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// `-c`, `RLIMIT_CORE`
    Core,
    /// `-d`, `RLIMIT_DATA`
    Data,
    /// `-e`, `RLIMIT_NICE`
    Nice,
    /// `-f`, `RLIMIT_FSIZE`
    Fsize,
    /// `-i`, `RLIMIT_SIGPENDING`
    Sigpending,
    /// `-l`, `RLIMIT_MEMLOCK`
    Memlock,
    /// `-m`, `RLIMIT_RSS`
    Rss,
    /// `-n`, `RLIMIT_NOFILE` (cannot be infinity)
    Nofile,
    /// `-q`, `RLIMIT_MSGQUEUE`
    Msgqueue,
    /// `-r`, `RLIMIT_RTPRIO`
    Rtprio,
    /// `-s`, `RLIMIT_STACK`
    Stack,
    /// `-t`, `RLIMIT_CPU`
    Cpu,
    /// `-u`, `RLIMIT_NPROC`
    Nproc,
    /// `-v`, `RLIMIT_AS`
    As,
    /// `-x`, `RLIMIT_LOCKS`
    Locks,
}

/// A `udp://HOST:PORT[@IFACE]` URL as written. The config layer does no
/// I/O: a host name is looked up by the networking part, without blocking,
/// after the file is loaded (SPEC §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpUrl {
    /// The text as written, for log messages.
    pub text: String,
    pub host: Host,
    /// 1 to 65535.
    pub port: u16,
    /// `@IFACE`: egress interface for multicast reports.
    pub iface: Option<String>,
}

/// The host of a [`UdpUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A numeric IPv4 address, or an IPv6 address written in brackets.
    Ip(IpAddr),
    /// A host name as written (a trailing dot kept): syntactically valid
    /// for DNS, not looked up.
    Name(String),
}

/// A 1-based position in the configuration file.
///
/// Aligned to 8 bytes on 64-bit targets: there a `Pos` is passed and
/// returned in one register, not as two `u32`s, and its callers in the
/// parser shed their register shuffling (issue 18, bytes: min x86_64
/// -392, aarch64 -368). The line is never 0: an `Option<Pos>` takes 8
/// bytes, as a `Pos` does, and goes in one register too (issue 18,
/// bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(target_pointer_width = "64", repr(align(8)))]
pub struct Pos {
    pub line: NonZeroU32,
    pub col: u32,
}

impl Pos {
    /// Line `line`, column `col`, for tests.
    #[cfg(test)]
    pub(crate) fn at(line: u32, col: u32) -> Pos {
        Pos {
            line: NonZeroU32::new(line).expect("lines count from 1"),
            col,
        }
    }

    /// [`Pos::number`] for a line: 1 at least, so never 0.
    #[inline(always)]
    pub(crate) fn line_number(n: usize) -> NonZeroU32 {
        NonZeroU32::MIN.saturating_add(n.min(u32::MAX as usize) as u32)
    }

    /// The 1-based number of a line or column counted from 0 as `n`, at
    /// most `u32::MAX`: a compare, not `u32::try_from` and its `Result`
    /// (issue 18, bytes).
    #[inline(always)]
    pub(crate) fn number(n: usize) -> u32 {
        (n + 1).min(u32::MAX as usize) as u32
    }
}

/// Where a job and its `user` option were written, for messages that only
/// the supervisor can give (an unknown user is found when the job is
/// prepared, SPEC §3).
///
/// It always compares equal: moving a job within the file, or editing a
/// comment above it, must not restart it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The `job` keyword.
    pub job: Pos,
    /// The `user` option, when there is one.
    pub user: Option<Pos>,
    /// The first `group` or `groups` option, when there is one.
    pub group: Option<Pos>,
}

impl PartialEq for Origin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Origin {}

impl Resource {
    /// Every resource, in the order of their shell flags.
    pub const ALL: [Resource; 15] = [
        Resource::Core,
        Resource::Data,
        Resource::Nice,
        Resource::Fsize,
        Resource::Sigpending,
        Resource::Memlock,
        Resource::Rss,
        Resource::Nofile,
        Resource::Msgqueue,
        Resource::Rtprio,
        Resource::Stack,
        Resource::Cpu,
        Resource::Nproc,
        Resource::As,
        Resource::Locks,
    ];

    /// The shell's `ulimit` flag letters (`n` for `-n`), in the order of
    /// [`Resource::ALL`]: bytes, not a `match` to `char` (a table of four
    /// bytes a letter).
    pub const FLAGS: &[u8; 15] = b"cdefilmnqrstuvx";

    /// The `RLIMIT_` names in the order of [`Resource::ALL`], each ended
    /// by a NUL (see `values::nth_word`), read as [`Resource::RLIMIT_NAMES`].
    pub(crate) const RLIMIT_WORDS: &str = "RLIMIT_CORE\0RLIMIT_DATA\0RLIMIT_NICE\0RLIMIT_FSIZE\0\
        RLIMIT_SIGPENDING\0RLIMIT_MEMLOCK\0RLIMIT_RSS\0RLIMIT_NOFILE\0RLIMIT_MSGQUEUE\0\
        RLIMIT_RTPRIO\0RLIMIT_STACK\0RLIMIT_CPU\0RLIMIT_NPROC\0RLIMIT_AS\0RLIMIT_LOCKS\0";

    /// [`Resource::RLIMIT_WORDS`] where the parser's one string of words
    /// holds them: not a second copy (issue 18, bytes).
    pub const RLIMIT_NAMES: &str = super::parse::list(7);

    /// The `RLIMIT_` name, as in setrlimit(2). The parser's repeated
    /// ulimit error reads it from the list by itself (`parse::Text`).
    #[cfg(test)]
    pub fn rlimit_name(self) -> &'static str {
        super::values::nth_word(Self::RLIMIT_NAMES, self as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(body: &str) -> JobSpec {
        let cmd = if body.starts_with("cmd") {
            ""
        } else {
            "cmd /bin/true"
        };
        let text = format!("job {{\n name a\n {cmd}\n{body}\n}}\n");
        match crate::config::parse_bytes("t.conf", text.as_bytes()) {
            Ok(mut c) => c.jobs.remove(0),
            Err(e) => panic!("{body:?}: {e:?}"),
        }
    }

    /// `JobSpec`'s comparison is by its meaning's bytes: each option, and
    /// each value of it, must make a job differ from every other one, and
    /// from the same job without it; the same options written otherwise
    /// (another order, quoted, a default spelt out) must not.
    #[test]
    fn every_option_and_value_makes_a_job_differ() {
        let bodies = [
            "",
            "cmd /bin/true x",
            "cmd /bin/true \"\" x",
            "cmd /bin/true x \"\"",
            "dir /tmp",
            "dir /",
            "out /tmp/o",
            "err /tmp/o",
            "out syslog",
            "err syslog",
            "out /tmp/o max 1M",
            "out /tmp/o max 2M",
            "out /tmp/o max 1M keep 2",
            "out /tmp/o stamp",
            "err /tmp/o stamp",
            "env A=1",
            "env A=2",
            "env A=1\nenv B=1",
            "user nobody",
            "user root",
            "order 1",
            "order -1",
            "restart on-failure",
            "restart never",
            "disable",
            "wait",
            "once",
            "in /tmp/i",
            "nice 1",
            "nice -1",
            "nice 0",
            "cpu 0",
            "cpu 1",
            "cpu 0,1",
            "ulimit -n 100",
            "ulimit -n 101",
            "ulimit -c 100",
            "ulimit -c infinity",
            "bounce every 1h",
            "bounce every 2h",
            "depends { /tmp/d }",
            "depends { /tmp/d /tmp/e }",
            "kill after 3",
            "restart delay 2s",
            "restart delay 2s max 1m",
            "restart delay 3s",
            "give up after 3 in 1m",
            "give up after 3 in 2m",
            "give up after 4 in 1m",
            "give up after 3 in 1m then exit",
            "stop signal INT",
            "stop signal HUP",
            "reload signal USR1",
            "env file /tmp/env",
            "env file -/tmp/env",
            "group root",
            "groups root",
            "umask 027",
            "umask 0",
            "ready notify",
            "ready fd 3",
            "ready fd 4",
            "ready when /bin/true",
            "ready when /bin/true x",
            "ready when /bin/true\nready every 2s",
            "ready notify\nready timeout 1s",
            "ready notify\nwatchdog 2s",
            "check every 2s /bin/true",
            "check every 3s /bin/true",
            "check every 2s /bin/true\ncheck timeout 1s",
            "check every 2s /bin/true\ncheck fails 2",
        ];
        let jobs: Vec<JobSpec> = bodies.iter().map(|b| job(b)).collect();
        for (i, a) in jobs.iter().enumerate() {
            for (j, b) in jobs.iter().enumerate() {
                assert_eq!(a == b, i == j, "{:?} against {:?}", bodies[i], bodies[j]);
            }
        }
        let text =
            "job {\n name a\n cmd /bin/true\n}\njob {\n name b\n cmd /bin/true\n after a\n}\n";
        let after = crate::config::parse_bytes("t.conf", text.as_bytes())
            .unwrap()
            .jobs;
        let text = "job {\n name a\n cmd /bin/true\n}\njob {\n name b\n cmd /bin/true\n after a restart\n}\n";
        let restart = crate::config::parse_bytes("t.conf", text.as_bytes())
            .unwrap()
            .jobs;
        assert_ne!(after[1], restart[1]);
        for (a, b) in [
            ("env A=1\nnice 1", "nice 1\n  env \"A=1\""),
            ("kill after 10", ""),
            (
                "ready fd 3\nready timeout 2s",
                "ready timeout 2s\nready fd 3",
            ),
        ] {
            assert_eq!(job(a), job(b), "{a:?} against {b:?}");
        }
    }
}
