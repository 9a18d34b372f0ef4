//! The parsed configuration: plain data, compared job by job on reload.
//!
//! Two configurations that differ only in whitespace, comments or where a
//! job stands in the file compare equal job by job, so a reload restarts
//! exactly the jobs whose meaning changed (SPEC §6).

use crate::prelude::*;
use core::net::IpAddr;

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
    /// load, printed by `pmtr -t`.
    pub warnings: Vec<String>,
}

/// One `job { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// `name`: unique within the file.
    pub name: Box<str>,
    /// `cmd`: argv; `cmd[0]` is an absolute path.
    pub cmd: Box<[Box<str>]>,
    /// `dir`: absolute working directory; `None` means `/`.
    pub dir: Option<Box<str>>,
    /// `out`: where stdout goes.
    pub out: Output,
    /// `err`: where stderr goes.
    pub err: Output,
    /// `env` lines as written, each `VAR=VALUE`, in file order.
    pub env: Vec<String>,
    /// `user`: run as this user; `None` means the user pmtr runs as.
    pub user: Option<Box<str>>,
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
    /// The options most jobs never set; see [`JobSpec::extra`].
    extra: Extras,
    /// `ready`, `after`, `check` and `watchdog` (issue 16); `None` for the
    /// many jobs that use none of them, so they cost one pointer.
    pub readiness: Option<Box<Readiness>>,
    /// Where the job was written. Always compares equal (see [`Origin`]).
    pub origin: Origin,
}

/// The options of a job that most jobs never set: boxed, so that a job
/// without any costs one pointer where they took 260 bytes of every
/// job's record (issue 18). Read with [`JobSpec::extra`], set with
/// [`JobSpec::extra_mut`]; [`Extra::NONE`] holds every default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    /// `in`: stdin file (relative to `dir`); `None` means `/dev/null`.
    pub input: Option<String>,
    /// `nice`: -20..=19.
    pub nice: Option<i32>,
    /// `cpu`: the CPU numbers the job may run on, sorted, without
    /// duplicates. Numbers beyond the machine's CPUs are kept here and
    /// ignored at run time.
    pub cpu: Option<Vec<u32>>,
    /// `ulimit` settings in file order; a later setting of the same
    /// resource is an error, so each resource appears at most once.
    pub ulimits: Vec<Ulimit>,
    /// `bounce every T`: restart after the job has run this many seconds.
    pub bounce_secs: Option<u64>,
    /// `depends { … }`: files whose content change restarts the job.
    pub depends: Vec<String>,
    /// `kill after T` (beyond the original): seconds between SIGTERM and
    /// SIGKILL when stopping the job; default 10.
    pub kill_after_secs: u64,
    // Issue 15: restart backoff, crash-loop budget, signals, env files and
    // credentials. Each default keeps today's behaviour.
    /// `restart delay T [max T2]`; `None`: the fixed 10 s anti-spin wait.
    pub restart_delay: Option<RestartDelay>,
    /// `give up after N in T [then exit]`.
    pub give_up: Option<GiveUp>,
    /// `stop signal SIG`: sent first when stopping the job; `None` is TERM.
    pub stop_signal: Option<Signal>,
    /// `reload signal SIG`: what `pmtr reload` sends; `None` is HUP.
    pub reload_signal: Option<Signal>,
    /// `env file [-]PATH` lines in file order, made absolute (relative to
    /// `dir`, like `depends`).
    pub env_files: Vec<EnvFile>,
    /// `group`: primary group (name or gid) instead of the user's.
    pub group: Option<String>,
    /// `groups`: supplementary groups (names or gids) added to the user's.
    pub groups: Vec<String>,
    /// `umask`: 0..=0o777; `None` keeps pmtr's.
    pub umask: Option<u32>,
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

    /// The job's rarely set options, to set one: made on first use.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.0.get_or_insert_with(|| Box::new(Extra::NONE))
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    /// `ready notify`, `ready fd N` or `ready when CMD…`.
    pub how: Option<ReadyHow>,
    /// `ready every T`: how often `ready when` runs (default 1 s).
    pub every_ms: Option<u64>,
    /// `ready timeout T`: not ready by then, the job is stopped.
    pub timeout_ms: Option<u64>,
    /// `after NAME… [restart]` lines, in file order.
    pub after: Vec<After>,
    /// `check every T CMD…`: the command; empty without one.
    pub check_cmd: Vec<String>,
    pub check_every_ms: Option<u64>,
    /// `check timeout T`; default half of `check every`.
    pub check_timeout_ms: Option<u64>,
    /// `check fails N`: failures in a row that restart the job.
    pub check_fails: Option<u32>,
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

/// Default for [`JobSpec::kill_after_secs`] (SPEC §5).
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Where a job and its `user` option were written, for messages that only
/// the supervisor can give (an unknown user is found when the job is
/// prepared, SPEC §3).
///
/// It always compares equal: moving a job within the file, or editing a
/// comment above it, must not restart it.
#[derive(Debug, Clone, Default)]
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
    /// by a NUL (see `values::nth_word`).
    pub const RLIMIT_NAMES: &str = "RLIMIT_CORE\0RLIMIT_DATA\0RLIMIT_NICE\0RLIMIT_FSIZE\0\
        RLIMIT_SIGPENDING\0RLIMIT_MEMLOCK\0RLIMIT_RSS\0RLIMIT_NOFILE\0RLIMIT_MSGQUEUE\0\
        RLIMIT_RTPRIO\0RLIMIT_STACK\0RLIMIT_CPU\0RLIMIT_NPROC\0RLIMIT_AS\0RLIMIT_LOCKS\0";

    /// The `RLIMIT_` name, as in setrlimit(2) and log messages.
    pub fn rlimit_name(self) -> &'static str {
        super::values::nth_word(Self::RLIMIT_NAMES, self as usize).unwrap_or("")
    }
}
