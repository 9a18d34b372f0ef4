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
}

/// One `job { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// `name`: unique within the file.
    pub name: String,
    /// `cmd`: argv; `cmd[0]` is an absolute path.
    pub cmd: Vec<String>,
    /// `dir`: absolute working directory; `None` means `/`.
    pub dir: Option<String>,
    /// `out`: where stdout goes.
    pub out: Output,
    /// `err`: where stderr goes.
    pub err: Output,
    /// `in`: stdin file (relative to `dir`); `None` means `/dev/null`.
    pub input: Option<String>,
    /// `env` lines as written, each `VAR=VALUE`, in file order.
    pub env: Vec<String>,
    /// `user`: run as this user; `None` means the user pmtr runs as.
    pub user: Option<String>,
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
    /// `order`: lower starts first; default 0.
    pub order: i32,
    /// `kill after T` (beyond the original): seconds between SIGTERM and
    /// SIGKILL when stopping the job; default 10.
    pub kill_after_secs: u64,
    /// `disable`
    pub disable: bool,
    /// `wait`: later jobs start only after this one exits.
    pub wait: bool,
    /// `once`: never restarted.
    pub once: bool,
    /// Where the job was written. Always compares equal (see [`Origin`]).
    pub origin: Origin,
}

/// Default for [`JobSpec::kill_after_secs`] (SPEC §5).
pub const DEFAULT_KILL_AFTER_SECS: u64 = 10;

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

    /// The shell's `ulimit` flag letter (`n` for `-n`).
    pub fn flag(self) -> char {
        match self {
            Resource::Core => 'c',
            Resource::Data => 'd',
            Resource::Nice => 'e',
            Resource::Fsize => 'f',
            Resource::Sigpending => 'i',
            Resource::Memlock => 'l',
            Resource::Rss => 'm',
            Resource::Nofile => 'n',
            Resource::Msgqueue => 'q',
            Resource::Rtprio => 'r',
            Resource::Stack => 's',
            Resource::Cpu => 't',
            Resource::Nproc => 'u',
            Resource::As => 'v',
            Resource::Locks => 'x',
        }
    }

    /// The `RLIMIT_` name, as in setrlimit(2) and log messages.
    pub fn rlimit_name(self) -> &'static str {
        match self {
            Resource::Core => "RLIMIT_CORE",
            Resource::Data => "RLIMIT_DATA",
            Resource::Nice => "RLIMIT_NICE",
            Resource::Fsize => "RLIMIT_FSIZE",
            Resource::Sigpending => "RLIMIT_SIGPENDING",
            Resource::Memlock => "RLIMIT_MEMLOCK",
            Resource::Rss => "RLIMIT_RSS",
            Resource::Nofile => "RLIMIT_NOFILE",
            Resource::Msgqueue => "RLIMIT_MSGQUEUE",
            Resource::Rtprio => "RLIMIT_RTPRIO",
            Resource::Stack => "RLIMIT_STACK",
            Resource::Cpu => "RLIMIT_CPU",
            Resource::Nproc => "RLIMIT_NPROC",
            Resource::As => "RLIMIT_AS",
            Resource::Locks => "RLIMIT_LOCKS",
        }
    }
}
