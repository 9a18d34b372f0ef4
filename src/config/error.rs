//! Errors in a configuration file, each naming file, line and column.
//!
//! [`Error`] is the public face; what went wrong is a private
//! [`ErrorKind`] whose `Display` says what was expected and, where one
//! helps, a hint (`unknown option 'cmdd' (did you mean 'cmd'?)`).

use crate::prelude::*;
use core::fmt;

use super::model::Pos;

/// One thing wrong with a configuration file.
///
/// Displays as `FILE:LINE:COL: message`, or `FILE: message` for what
/// concerns the whole file (unreadable, too big, unsafe permissions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    file: String,
    pos: Option<Pos>,
    kind: ErrorKind,
}

impl Error {
    pub(crate) fn at(file: &str, pos: Pos, kind: ErrorKind) -> Error {
        Error {
            file: file.to_string(),
            pos: Some(pos),
            kind,
        }
    }

    pub(crate) fn whole(file: &str, kind: ErrorKind) -> Error {
        Error {
            file: file.to_string(),
            pos: None,
            kind,
        }
    }

    /// `FILE: can't read: <strerror>`.
    pub(crate) fn from_io(path: &str, err: rustix::io::Errno) -> Error {
        Error::whole(path, ErrorKind::Io(crate::sys::strerror(err).to_string()))
    }

    /// Where in the file, when the error is about one place in it.
    pub fn pos(&self) -> Option<Pos> {
        self.pos
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.col)?,
            None => write!(f, "{}: ", self.file)?,
        }
        match &self.kind {
            // These tell the operator which command fixes the file, so they
            // need its name again.
            ErrorKind::NotOwnedByRoot { uid, dir: None } => write!(
                f,
                "owned by uid {uid}, not root: whoever owns it could run commands as root \
                 through pmtr; run `chown root {}`",
                self.file
            ),
            ErrorKind::NotOwnedByRoot {
                uid,
                dir: Some(dir),
            } => write!(
                f,
                "its directory {dir} is owned by uid {uid}, not root: whoever owns it could \
                 swap the file and run commands as root through pmtr; run `chown root {dir}`",
            ),
            ErrorKind::WritableByOthers { mode, dir } => {
                let who = if mode & 0o020 != 0 && mode & 0o002 != 0 {
                    "group and others"
                } else if mode & 0o020 != 0 {
                    "group"
                } else {
                    "others"
                };
                let mode = mode & 0o7777;
                match dir {
                    None => write!(
                        f,
                        "writable by {who} (mode {mode:04o}): anyone who can edit it could run \
                         commands as root through pmtr; run `chmod go-w {}`",
                        self.file
                    ),
                    Some(dir) => write!(
                        f,
                        "its directory {dir} is writable by {who} (mode {mode:04o}): anyone who \
                         can write there could swap the file and run commands as root through \
                         pmtr; run `chmod go-w {dir}`",
                    ),
                }
            }
            kind => kind.fmt(f),
        }
    }
}

impl core::error::Error for Error {}

/// What is wrong; private so that new cases do not break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// open/read failed; the strerror text.
    Io(String),
    NotRegular,
    TooBig(u64),
    NotUtf8(u8),
    ControlChar(char),
    UnclosedQuote,
    TextAfterQuote,
    TooManyErrors(usize),
    TooManyJobs(usize),
    /// Owner of a file pmtr (as root) would trust, or of `dir`, a
    /// directory on its path.
    NotOwnedByRoot {
        uid: u32,
        dir: Option<String>,
    },
    /// Mode of a file pmtr (as root) would trust, or of `dir`.
    WritableByOthers {
        mode: u32,
        dir: Option<String>,
    },
    UnknownKeyword {
        word: String,
        suggestion: Option<&'static str>,
        in_job: bool,
    },
    QuotedKeyword(String),
    OptionOutsideJob(String),
    GlobalInsideJob(&'static str),
    StrayClose,
    StrayOpen,
    /// `what` is `job`, `depends` or `ulimit`.
    UnclosedBrace(&'static str),
    TextAfterOpen,
    TextAfterClose,
    ExpectedOpen(&'static str),
    Expected {
        expected: &'static str,
        after: &'static str,
        found: Option<String>,
    },
    MissingOption {
        option: &'static str,
        name: Option<String>,
    },
    DuplicateName {
        name: String,
        first: Pos,
    },
    Repeated {
        option: &'static str,
        first: Pos,
    },
    MissingArg {
        option: &'static str,
        expected: &'static str,
    },
    ExtraArg {
        option: &'static str,
        hint: &'static str,
    },
    NoArgs(&'static str),
    Relative {
        option: &'static str,
        path: String,
    },
    EmptyArg(&'static str),
    BadName(String),
    EnvNoEquals(String),
    EnvBadName(String),
    BadNumber {
        text: String,
        expected: &'static str,
    },
    NiceRange(String),
    BadDuration {
        text: String,
        reason: &'static str,
    },
    UnknownUlimit {
        text: String,
        suggestion: Option<&'static str>,
    },
    UlimitNoValue(String),
    BadUlimitValue(String),
    NofileInfinity,
    UlimitRepeated {
        name: &'static str,
        first: Pos,
    },
    EmptyBlock(&'static str),
    BadCpu {
        text: String,
        reason: &'static str,
    },
    CpuTooBig(String),
    CpuReversed {
        text: String,
    },
    BadUrl {
        text: String,
        reason: &'static str,
    },
    ListenIface,
    UnknownSignal(String),
    /// A bad line of an env file; never quotes the line (secrets).
    EnvLine(&'static str),
    /// A word after `ready` or `check` that is none of `one_of`.
    ExpectedOneOf {
        after: &'static str,
        one_of: &'static str,
        found: Option<String>,
    },
    /// `ready fd N` outside 3..=1023.
    BadFd(String),
    /// An option that means nothing without another (`watchdog` without
    /// `ready notify`), or with this job's kind (`ready` on a `once` job).
    Needs {
        option: &'static str,
        needs: &'static str,
    },
    UnknownAfter {
        name: String,
        suggestion: Option<String>,
    },
    /// `after` lines that make a cycle: the names, `web -> db -> web`.
    AfterCycle(String),
}

fn did_you_mean(f: &mut fmt::Formatter<'_>, suggestion: Option<&str>) -> fmt::Result {
    match suggestion {
        Some(s) => write!(f, " (did you mean '{s}'?)"),
        None => Ok(()),
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            Io(e) => write!(f, "can't read: {e}"),
            NotRegular => f.write_str("can't read: not a regular file"),
            TooBig(n) => write!(f, "file is {n} bytes, over the 1 MiB limit"),
            NotUtf8(b) => write!(f, "not valid UTF-8 (byte 0x{b:02x}); save the file as UTF-8"),
            ControlChar(c) => write!(f, "control character U+{:04X} is not allowed", *c as u32),
            UnclosedQuote => f.write_str("unclosed quote: a quoted argument must end on the same line"),
            TextAfterQuote => {
                f.write_str("text right after a closing quote; put a space after the quote or quote the whole argument")
            }
            TooManyErrors(n) => write!(f, "too many errors; stopped reporting after {n}"),
            TooManyJobs(n) => write!(f, "too many jobs: at most {n} are allowed"),
            NotOwnedByRoot { uid, .. } => write!(f, "owned by uid {uid}, not root"),
            WritableByOthers { mode, .. } => write!(f, "writable by group or others (mode {:04o})", mode & 0o7777),
            UnknownKeyword { word, suggestion, in_job } => {
                if *in_job {
                    write!(f, "unknown option '{word}'")?;
                } else {
                    write!(f, "unknown keyword '{word}'")?;
                }
                did_you_mean(f, *suggestion)?;
                if !in_job && suggestion.is_none() {
                    f.write_str(": expected 'job {', 'report to' or 'listen on'")?;
                }
                Ok(())
            }
            QuotedKeyword(w) => write!(f, "a line must start with an option name, not the quoted text \"{w}\""),
            OptionOutsideJob(w) => write!(f, "option '{w}' outside a job: put it inside 'job {{ ... }}'"),
            GlobalInsideJob(w) => {
                write!(f, "'{w}' inside a job: it is a global setting; put it outside every 'job {{ ... }}'")
            }
            StrayClose => f.write_str("'}' without a matching '{'"),
            StrayOpen => f.write_str("'{' without 'job' before it"),
            UnclosedBrace(what) => write!(f, "unclosed '{{' of this {what}: no matching '}}'"),
            TextAfterOpen => f.write_str("text after '{': put each option on a line of its own"),
            TextAfterClose => f.write_str("text after '}': put it on a line of its own"),
            ExpectedOpen(after) => write!(f, "expected '{{' after '{after}'"),
            Expected { expected, after, found } => {
                write!(f, "expected '{expected}' after '{after}'")?;
                match found {
                    Some(w) => write!(f, ", found '{w}'"),
                    None => Ok(()),
                }
            }
            MissingOption { option, name } => match name {
                Some(n) => write!(f, "job '{n}' has no '{option}'; it is required"),
                None => write!(f, "job has no '{option}'; it is required"),
            },
            DuplicateName { name, first } => {
                write!(f, "duplicate job name '{name}' (first used at line {}:{})", first.line, first.col)
            }
            Repeated { option, first } => {
                write!(f, "'{option}' given twice in this job (first at line {}:{})", first.line, first.col)
            }
            MissingArg { option, expected } => write!(f, "'{option}' needs {expected}"),
            ExtraArg { option, hint } => write!(f, "too many arguments for '{option}'{hint}"),
            NoArgs(option) => write!(f, "'{option}' takes no argument"),
            Relative { option, path } => write!(f, "'{option}' must be an absolute path (starting with '/'), not '{path}'"),
            EmptyArg(option) => write!(f, "'{option}' must not be empty"),
            BadName(n) => write!(f, "bad job name '{n}': use no spaces or control characters"),
            EnvNoEquals(t) => write!(f, "'env' needs VAR=VALUE, got '{t}' without '='"),
            EnvBadName(t) => write!(f, "'env' needs VAR=VALUE with a non-empty VAR, got '{t}'"),
            BadNumber { text, expected } => write!(f, "bad number '{text}': expected {expected}"),
            NiceRange(t) => write!(f, "nice {t} is out of range: expected -20 (highest priority) to 19 (lowest)"),
            BadDuration { text, reason } => write!(
                f,
                "bad time '{text}': {reason}; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)"
            ),
            UnknownUlimit { text, suggestion } => {
                write!(f, "unknown ulimit '{text}'")?;
                did_you_mean(f, *suggestion)?;
                if suggestion.is_none() {
                    f.write_str(": expected one of -c -d -e -f -i -l -m -n -q -r -s -t -u -v -x or an RLIMIT_ name")?;
                }
                Ok(())
            }
            UlimitNoValue(flag) => write!(f, "ulimit '{flag}' needs a value: a number, 'infinity' or 'unlimited'"),
            BadUlimitValue(t) => write!(f, "bad ulimit value '{t}': expected a number, 'infinity' or 'unlimited'"),
            NofileInfinity => f.write_str(
                "the open files limit (-n, RLIMIT_NOFILE) cannot be infinity (the kernel refuses it); give a number such as 65536",
            ),
            UlimitRepeated { name, first } => {
                write!(f, "ulimit {name} given twice in this job (first at line {}:{})", first.line, first.col)
            }
            EmptyBlock(what) => write!(f, "empty '{what} {{ }}' block: list at least one entry"),
            BadCpu { text, reason } => write!(
                f,
                "bad cpu list '{text}': {reason}; expected CPU numbers and ranges like 0,2-3 or a hex mask like 0x0d"
            ),
            CpuTooBig(n) => write!(f, "cpu {n} is too large: CPU numbers go up to 1023"),
            CpuReversed { text } => write!(f, "bad cpu range '{text}': the first number must not exceed the second"),
            BadUrl { text, reason } => write!(f, "bad URL '{text}': {reason}; expected udp://HOST:PORT"),
            ListenIface => f.write_str("'@IFACE' applies only to 'report to', not to 'listen on'"),
            EnvLine(why) => f.write_str(why),
            UnknownSignal(t) => write!(f, "unknown signal '{t}': expected a name like TERM, INT, HUP or USR1, or a number from 1 to 31"),
            ExpectedOneOf { after, one_of, found } => {
                write!(f, "expected {one_of} after '{after}'")?;
                match found {
                    Some(w) => write!(f, ", found '{w}'"),
                    None => Ok(()),
                }
            }
            BadFd(t) => write!(
                f,
                "bad descriptor '{t}' for 'ready fd': expected a number from 3 to 1023 (0, 1 and 2 are stdin, stdout and stderr)"
            ),
            Needs { option, needs } => write!(f, "'{option}' {needs}"),
            UnknownAfter { name, suggestion } => {
                write!(f, "'after {name}': no job is named '{name}'")?;
                did_you_mean(f, suggestion.as_deref())
            }
            AfterCycle(cycle) => write!(
                f,
                "'after' makes a cycle: {cycle}; none of these jobs could ever start"
            ),
        }
    }
}
