//! Errors in a configuration file, each naming file, line and column.
//!
//! [`Error`] is the public face; what went wrong is a private
//! [`ErrorKind`]: one of the messages below ([`Msg`]) and the values it
//! names. The messages are one table of text with `%` marks where the
//! values go, written out only when an error is displayed: one small
//! function formats them all, and the parser reports each error with one
//! call. Measured against a `write!` per message and an enum variant per
//! kind (issue 18): 2.3 KB smaller on armv7, 4 KB on x86_64.

use crate::prelude::*;
use core::fmt;

use super::model::Pos;
use super::parse::{ERROR_TEXTS, Text, said, unsaid};
use crate::packed::{Packed, packed};

/// One thing wrong with a configuration file.
///
/// Displays as `FILE:LINE:COL: message`, or `FILE: message` for what
/// concerns the whole file (unreadable, too big, unsafe permissions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Boxed, not a `String`: no capacity kept (issue 18, bytes).
    file: Box<str>,
    pos: Option<Pos>,
    kind: ErrorKind,
}

impl Error {
    #[inline(always)]
    pub(crate) fn at(file: &str, pos: Pos, kind: ErrorKind) -> Error {
        Error::new(file, Some(pos), kind)
    }

    #[inline(always)]
    pub(crate) fn whole(file: &str, kind: ErrorKind) -> Error {
        Error::new(file, None, kind)
    }

    /// An error at `pos`, or about the whole file: the one body of
    /// [`Error::at`] and [`Error::whole`], the file's copy made at one
    /// place, not at each of some ten callers (issue 18, bytes). An
    /// `Option<Pos>` is 8 bytes, one register on 64-bit targets.
    #[inline(never)]
    pub(crate) fn new(file: &str, pos: Option<Pos>, kind: ErrorKind) -> Error {
        Error {
            file: Box::from(file),
            pos,
            kind,
        }
    }

    /// `FILE: can't read: <strerror>`.
    pub(crate) fn from_io(path: &str, err: rustix::io::Errno) -> Error {
        let kind = ErrorKind::plain(Msg::Io).num(err.raw_os_error() as u64);
        Error::whole(path, kind)
    }

    /// Where in the file, when the error is about one place in it.
    pub fn pos(&self) -> Option<Pos> {
        self.pos
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(p) = self.pos {
            f.write_str(":")?;
            line_col(f, p.line.get(), p.col)?;
        }
        f.write_str(": ")?;
        self.kind.fmt(f)
    }
}

impl crate::packed::Show for Error {}

impl core::error::Error for Error {}

/// `LINE:COL`.
fn line_col(f: &mut fmt::Formatter<'_>, line: u32, col: u32) -> fmt::Result {
    crate::packed::show(&line, f)?;
    f.write_str(":")?;
    crate::packed::show(&col, f)
}

/// Defines [`Msg`] and [`MESSAGES`] from one list, so that the order of the
/// texts is the order of the names.
macro_rules! messages {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// Which message; its text is word `Msg as usize` of [`TEXT`]
        /// unpacked.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Msg {
            $($(#[$doc])* $name,)*
        }

        /// The text of every message in the order of [`Msg`], each ended
        /// by a NUL: one string, not a table of pointers to strings (which
        /// would cost 8 or 16 bytes a message), packed with the fixed
        /// texts that only errors write ([`ERROR_TEXTS`]).
        pub(super) const MESSAGES: &str = concat!($($text, "\0",)*);
    };
}

// The marks: %w the word of the file the message is about, %a and %b
// fixed texts the parser passes, %e the strerror text of the number, %n
// a number, %x / %X / %o a number as 2
// lower-case hex digits, 4 upper-case hex digits, 4 octal digits, %p a
// position LINE:COL; %F ", found '%w'" when there is a word; %? " (did you
// mean 'S'?)" when there is a suggestion S, and then the end of the
// message, or else nothing.
messages! {
    Io = "can't read: %e",
    NotRegular = "can't read: not a regular file",
    TooBig = "file is %n bytes, over the 1 MiB limit",
    NotUtf8 = "not valid UTF-8 (byte 0x%x); save the file as UTF-8",
    ControlChar = "control character U+%X is not allowed",
    UnclosedQuote = "unclosed quote: a quoted argument must end on the same line",
    TextAfterQuote = "text right after a closing quote; put a space after the quote or quote the whole argument",
    /// `MAX_ERRORS` written out, as `MAX_JOBS` below.
    TooManyErrors = "too many errors; stopped reporting after 100",
    /// `MAX_JOBS` written out: one report that names no value, not a
    /// number passed at its one call (issue 18, bytes); a test checks it.
    TooManyJobs = "too many jobs: at most 10000 are allowed",
    /// Owner of a file pmtr (as root) would trust; `%w` is the file.
    NotOwnedByRoot = "owned by uid %n, not root: whoever owns it could run commands as root through pmtr; run `chown root %w`",
    /// Owner of `%w`, a directory on such a file's path.
    DirNotOwnedByRoot = "its directory %w is owned by uid %n, not root: whoever owns it could swap the file and run commands as root through pmtr; run `chown root %w`",
    /// Mode of such a file; `%b` says who may write.
    WritableByOthers = "writable by %b (mode %o): anyone who can edit it could run commands as root through pmtr; run `chmod go-w %w`",
    DirWritableByOthers = "its directory %w is writable by %b (mode %o): anyone who can write there could swap the file and run commands as root through pmtr; run `chmod go-w %w`",
    /// In a job; `%v` a suggestion.
    UnknownOption = "unknown option '%w'%?",
    /// Outside every job.
    UnknownKeyword = "unknown keyword '%w'%?: expected 'job {', 'report to', 'listen on' or 'metrics to'",
    QuotedKeyword = "a line must start with an option name, not the quoted text \"%w\"",
    OptionOutsideJob = "option '%a' outside a job: put it inside 'job { ... }'",
    GlobalInsideJob = "'%a' inside a job: it is a global setting; put it outside every 'job { ... }'",
    StrayClose = "'}' without a matching '{'",
    StrayOpen = "'{' without 'job' before it",
    /// `%a` is `job`, `depends` or `ulimit`.
    UnclosedBrace = "unclosed '{' of this %a: no matching '}'",
    TextAfterOpen = "text after '{': put each option on a line of its own",
    TextAfterClose = "text after '}': put it on a line of its own",
    ExpectedOpen = "expected '{' after '%a'",
    Expected = "expected '%a' after '%b'%F",
    MissingOption = "job has no '%a'; it is required",
    /// Of a job with a name.
    MissingOptionOf = "job '%w' has no '%a'; it is required",
    DuplicateName = "duplicate job name '%w' (first used at line %p)",
    Repeated = "'%a' given twice in this job (first at line %p)",
    MissingArg = "'%a' needs %b",
    ExtraArg = "too many arguments for '%a'%b",
    NoArgs = "'%a' takes no argument",
    Relative = "'%a' must be an absolute path (starting with '/'), not '%w'",
    EmptyArg = "'%a' must not be empty",
    BadName = "bad job name '%w': use no spaces or control characters",
    EnvNoEquals = "'env' needs VAR=VALUE, got '%w' without '='",
    EnvBadName = "'env' needs VAR=VALUE with a non-empty VAR, got '%w'",
    BadNumber = "bad number '%w': expected %a",
    NiceRange = "nice %w is out of range: expected -20 (highest priority) to 19 (lowest)",
    BadDuration = "bad time '%w': %a; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)",
    UnknownUlimit = "unknown ulimit '%w'%?: expected one of -c -d -e -f -i -l -m -n -q -r -s -t -u -v -x or an RLIMIT_ name",
    UlimitNoValue = "ulimit '%w' needs a value: a number, 'infinity' or 'unlimited'",
    BadUlimitValue = "bad ulimit value '%w': expected a number, 'infinity' or 'unlimited'",
    NofileInfinity = "the open files limit (-n, RLIMIT_NOFILE) cannot be infinity (the kernel refuses it); give a number such as 65536",
    UlimitRepeated = "ulimit %a given twice in this job (first at line %p)",
    EmptyBlock = "empty '%a { }' block: list at least one entry",
    BadCpu = "bad cpu list '%w': %a; expected CPU numbers and ranges like 0,2-3 or a hex mask like 0x0d",
    CpuTooBig = "cpu %w is too large: CPU numbers go up to 1023",
    CpuReversed = "bad cpu range '%w': the first number must not exceed the second",
    BadUrl = "bad URL '%w': %a; expected udp://HOST:PORT",
    ListenIface = "'@IFACE' applies only to 'report to', not to 'listen on'",
    /// A word after the file of `out`/`err` that is not an option of it.
    LogWord = "unknown word '%w' after the file: expected max SIZE, keep N or stamp (quote a file name that contains spaces)",
    /// `max`, `keep` or `stamp` after `syslog`.
    LogSyslog = "'max', 'keep' and 'stamp' apply to a file, not to syslog",
    KeepWithoutMax = "'keep' needs 'max SIZE': files are rotated when they reach a size",
    RepeatedMetrics = "'metrics to' given twice (first at line %p): there is one metrics file",
    UnknownSignal = "unknown signal '%w': expected a name like TERM, INT, HUP or USR1, or a number from 1 to 31",
    /// A bad line of an env file; never quotes the line (secrets).
    EnvLine = "%a",
    /// A word after `ready` or `check` that is none of `%b`.
    ExpectedOneOf = "expected %b after '%a'%F",
    /// `ready fd N` outside 3..=1023.
    BadFd = "bad descriptor '%w' for 'ready fd': expected a number from 3 to 1023 (0, 1 and 2 are stdin, stdout and stderr)",
    /// An option that means nothing without another (`watchdog` without
    /// `ready notify`), or with this job's kind (`ready` on a `once` job).
    Needs = "'%a' %b",
    UnknownAfter = "'after %w': no job is named '%w'%?",
    /// `after` lines that make a cycle: the names, `web -> db -> web`.
    AfterCycle = "'after' makes a cycle: %w; none of these jobs could ever start",
    /// A warning, not an error: the file still applies.
    RestartDelayZero = "restart delay 0: a crash loop restarts without pause",
    /// `pmtr -t`'s last line (after `FILE: `): one job or error, or more,
    /// each plural the message after the singular (`config::check`
    /// adds 1); past the cap of errors, the message after the plural.
    CheckedOk = "OK, %n job",
    #[allow(dead_code)]
    CheckedOks = "OK, %n jobs",
    CheckFailed = "parse failed: %n error",
    CheckFaileds = "parse failed: %n errors",
    #[allow(dead_code)]
    CheckFailedOver = "parse failed: over %n errors",
}

impl Msg {
    /// The text, with its `%` marks, unpacked into `buf`.
    #[cfg(test)]
    fn text(self, buf: &mut [u8; TEXT.unpacked_len()]) -> &str {
        super::values::nth_word(unpack_all(buf), self as usize)
    }
}

/// The messages and the fixed texts that only errors write
/// ([`ERROR_TEXTS`]), packed (see [`crate::packed`]).
const TEXT: Packed = packed!(ERROR_TEXTS);

/// [`TEXT`] unpacked into `buf`: message `i` (`Msg as usize`) is its
/// word `i`, and a [`Text`] finds itself there ([`Text::text`]).
#[cfg(test)]
pub(super) fn unpack_all(buf: &mut [u8; TEXT.unpacked_len()]) -> &str {
    TEXT.unpack(buf)
}

/// What is wrong: a message and the values its marks name; private so
/// that new cases do not break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorKind {
    /// The message and its fixed texts `%a` and `%b` (see
    /// [`said`]): one number, not two pointers and lengths (issue 18,
    /// bytes).
    said: u32,
    /// `%w`, `%F`: a word of the file; `None` when there is none (after
    /// `expected ... after ...` that means the line ended).
    word: Option<Box<str>>,
    /// `%?`: a suggestion.
    more: Option<Box<str>>,
    /// `%n`, `%e`, `%x`, `%X`, `%o`; for `%p` a position, the line in the
    /// high 32 bits.
    n: u64,
}

impl ErrorKind {
    /// The message and fixed texts of `said` (see [`said`]; a message
    /// alone is `Msg as u32`), with its word.
    // Not inlined: the copy of the word was repeated at each of some 40
    // call sites (issue 18).
    #[inline(never)]
    pub(crate) fn new(said: u32, word: Option<&str>) -> Self {
        ErrorKind {
            said,
            word: word.map(Box::from),
            more: None,
            n: 0,
        }
    }

    /// `msg` with its texts `a` and `b` and its word: [`ErrorKind::new`]
    /// with one number (a constant where they are), not four arguments.
    #[inline(always)]
    pub(crate) fn with(msg: Msg, word: Option<&str>, a: Text, b: Text) -> Self {
        Self::new(said(msg, a, b), word)
    }

    /// `msg`, which names no value.
    pub(crate) fn plain(msg: Msg) -> Self {
        Self::new(msg as u32, None)
    }

    /// With the number of `%n`, `%x`, `%X`, `%o`.
    pub(crate) fn num(mut self, n: u64) -> Self {
        self.n = n;
        self
    }

    /// With the position of `%p`.
    pub(crate) fn first(self, p: Pos) -> Self {
        self.num(u64::from(p.line.get()) << 32 | u64::from(p.col))
    }

    /// With the suggestion of `%?`. [`ErrorKind::new`] has left None in
    /// its place: nothing to drop there (issue 18, bytes).
    pub(crate) fn suggest(mut self, s: Option<&str>) -> Self {
        crate::fill(&mut self.more, s.map(Box::from));
        self
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.as_deref().unwrap_or("");
        let (msg, a, b) = unsaid(self.said);
        // Not zeroed first: `unpack_words` hands back only what it wrote
        // (issue 18, bytes).
        let mut buf = crate::packed::room::<{ TEXT.unpacked_len() }>();
        // Only as far as the last word needed, or a few words past it: a
        // message is near the start, and most fixed texts are not packed
        // (issue 18: a whole unpack per error made 100 errors 4 times as
        // slow). As far as the texts' numbers, not their places: no
        // text's place is past its number (a test checks it), and the
        // numbers need no compare (issue 18, bytes).
        let words = msg.max(a.number()).max(b.number()) + 1;
        debug_assert!(words > a.packed_place().max(b.packed_place()));
        let all = TEXT.unpack_words(&mut buf, words);
        let mut rest = super::values::nth_word(all, msg);
        while let Some((text, marked)) = crate::split_once(rest, b'%') {
            f.write_str(text)?;
            // The mark and what follows it in one cut: one boundary check,
            // not a `get(1..)` LLVM copied into two paths (issue 18, bytes).
            // No cut (the text ends at `%`): no mark, and nothing after.
            let (mark, after) = marked.split_at_checked(1).unwrap_or(("", ""));
            let mark = mark.bytes().next().unwrap_or(0);
            rest = after;
            let n = self.n;
            // What a mark writes that is text: a word between two fixed
            // texts, written at one place for all of them (issue 18,
            // bytes).
            let (before, text, after) = match mark {
                b'w' => ("", word, ""),
                // One read of a fixed text for both (issue 18, bytes).
                b'a' | b'b' => ("", if mark == b'a' { a } else { b }.text(all), ""),
                // Through its own Display: no second buffer here (issue
                // 18, bytes).
                b'e' => {
                    let errno = rustix::io::Errno::from_raw_os_error(n as i32);
                    fmt::Display::fmt(&crate::sys::strerror(errno), f)?;
                    continue;
                }
                b'F' if self.word.is_some() => (", found '", word, "'"),
                b'?' => match &self.more {
                    // The end of the message.
                    Some(s) => {
                        rest = "";
                        (" (did you mean '", &**s, "'?)")
                    }
                    None => continue,
                },
                b'n' => {
                    crate::packed::show(&n, f)?;
                    continue;
                }
                b'p' => {
                    line_col(f, (n >> 32) as u32, n as u32)?;
                    continue;
                }
                // A byte, a char, a mode: each fits in 32 bits.
                b'x' | b'X' | b'o' => {
                    let (n, bits, width, case) = match mark {
                        b'x' => (n as u32, 4, 2, 0x20),
                        b'X' => (n as u32, 4, 4, 0),
                        _ => (n as u32 & 0o7777, 3, 4, 0),
                    };
                    digits(f, n, bits, width, case)?;
                    continue;
                }
                _ => continue,
            };
            f.write_str(before)?;
            f.write_str(text)?;
            f.write_str(after)?;
        }
        f.write_str(rest)
    }
}

/// `n` in digits of `bits` bits (3: octal, 4: hex), at least `width`
/// digits; `case` 0x20 makes hex digits lower case. Not core's `{:x}`,
/// `{:X}` and `{:o}`: three impls only these messages used. 32 bits: no
/// 64-bit division on 32-bit targets. Bits, not a radix: a division by
/// a radix LLVM cannot see is a power of two became a table lookup of
/// its shift (issue 18, bytes).
fn digits(f: &mut fmt::Formatter<'_>, n: u32, bits: u32, width: usize, case: u8) -> fmt::Result {
    // Not zeroed first: only the digits written are read (issue 18,
    // bytes).
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 11];
    let mut i = buf.len();
    let mut n = n;
    let mask = (1 << bits) - 1;
    while n > 0 || buf.len() - i < width {
        i -= 1;
        buf[i].write(b"0123456789ABCDEF"[(n & mask & 15) as usize] | case);
        n >>= bits;
    }
    let digits = &buf[i..];
    // SAFETY: `buf[i..]` is the digits written above, each as `i` came
    // down to it.
    #[allow(unsafe_code)]
    let digits = unsafe { crate::written(digits) };
    f.write_str(crate::utf8::str(digits).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::text_of;

    #[test]
    fn every_message_has_its_text() {
        let mut buf = [0; TEXT.unpacked_len()];
        assert_eq!(
            MESSAGES.split('\0').count(),
            Msg::CheckFailedOver as usize + 2
        );
        assert!(unpack_all(&mut buf).starts_with(MESSAGES));
        assert_eq!(Msg::Io.text(&mut buf), "can't read: %e");
        let max_jobs = crate::config::parse::MAX_JOBS;
        let jobs = format!("too many jobs: at most {max_jobs} are allowed");
        assert_eq!(Msg::TooManyJobs.text(&mut buf), jobs);
        let max_errors = crate::config::parse::MAX_ERRORS;
        let errors = format!("too many errors; stopped reporting after {max_errors}");
        assert_eq!(Msg::TooManyErrors.text(&mut buf), errors);
        let io = Error::from_io("/f", rustix::io::Errno::NOENT).to_string();
        assert_eq!(io, "/f: can't read: No such file or directory");
        assert_eq!(
            Msg::AfterCycle.text(&mut buf),
            "'after' makes a cycle: %w; none of these jobs could ever start"
        );
    }

    #[test]
    fn no_text_is_placed_past_its_number() {
        for t in 0..4096 {
            let (_, a, b) = unsaid(t << 8 | t << 20);
            assert_eq!(a.number(), t as usize);
            assert!(a.packed_place() <= a.number(), "{t}");
            assert_eq!(a, b);
        }
    }

    #[test]
    fn marks() {
        let show = |k: ErrorKind| k.to_string();
        assert_eq!(
            show(ErrorKind::plain(Msg::NotUtf8).num(0xfe)),
            "not valid UTF-8 (byte 0xfe); save the file as UTF-8"
        );
        assert_eq!(
            show(ErrorKind::plain(Msg::ControlChar).num(0x1b)),
            "control character U+001B is not allowed"
        );
        let group = text_of("group");
        let kind = ErrorKind::with(Msg::WritableByOthers, Some("/f"), Text::NONE, group);
        let kind = kind.num(0o100664);
        assert!(show(kind).starts_with("writable by group (mode 0664): "));
        let (open, job) = (text_of("{"), text_of("job"));
        let kind = ErrorKind::with(Msg::Expected, None, open, job);
        assert_eq!(show(kind), "expected '{' after 'job'");
        let kind = ErrorKind::with(Msg::Expected, Some(""), open, job);
        assert_eq!(show(kind), "expected '{' after 'job', found ''");
        let kind = ErrorKind::new(Msg::UnknownKeyword as u32, Some("jb"));
        assert_eq!(
            show(kind.clone().suggest(Some("job"))),
            "unknown keyword 'jb' (did you mean 'job'?)"
        );
        assert!(show(kind).starts_with("unknown keyword 'jb': expected 'job {'"));
        let kind = ErrorKind::plain(Msg::RepeatedMetrics).first(Pos::at(7, 3));
        assert!(show(kind).contains("(first at line 7:3)"));
        let kind = ErrorKind::plain(Msg::TooBig).num(1 << 40);
        assert_eq!(
            show(kind),
            "file is 1099511627776 bytes, over the 1 MiB limit"
        );
    }
}
