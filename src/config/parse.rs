//! From lines of words to a [`Config`], collecting every error (SPEC §2).
//!
//! The parser walks the lines once with a little state: the job being
//! read, a `depends { … }` or `ulimit { … }` block left open across lines,
//! and a `job` still waiting for its `{` on the next line. After a mistake
//! it reports it and carries on with the next line, so one run shows every
//! error in the file.

use crate::prelude::*;
use core::cmp::Ordering;

use super::error::{Error, ErrorKind, Msg};
use super::lex::{self, Line, Word};
use super::model::{Config, Extra, JobSpec, LogFile, Output, Pos, Resource, Ulimit};
use super::values::{
    MAX_KEEP, MIN_LOG_SIZE, is_digits, is_integer, is_job_name, nth_word, number, parse_cpu,
    parse_size, parse_url, resource, signed, split_words, suggest, suggest_resource, word_index,
    word_index_any_case,
};
use super::{env_file, trust, values};

mod ready;
mod restart;

/// More jobs than this is an error: far beyond any real file, it keeps a
/// hostile file from making pmtr hold and fork without bound.
pub const MAX_JOBS: usize = 10_000;

/// After this many errors the rest are not reported: a binary file read
/// by mistake would otherwise flood the log.
pub const MAX_ERRORS: usize = 100;

/// Defines [`Kw`] and its words from one list, in one order.
macro_rules! keywords {
    ($($name:ident = $text:literal,)*) => {
        /// What a line starts with, found once in [`KEYWORDS`]; the
        /// parser then matches on this, not on strings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Kw {
            $($name,)*
        }

        impl Kw {
            const ALL: &[Kw] = &[$(Kw::$name,)*];
        }

        /// The words of [`Kw`], in its order, each ended by a NUL (see
        /// `values::nth_word`); read as [`KEYWORDS`], where [`WORDS`]
        /// holds them.
        const KEYWORD_WORDS: &str = concat!($($text, "\0",)*);
    };
}

keywords! {
    // The keywords outside a job.
    Job = "job", Report = "report", Listen = "listen", Metrics = "metrics",
    // The options a job may contain.
    Name = "name", Cmd = "cmd", Dir = "dir", Out = "out", Err = "err", In = "in", Env = "env",
    User = "user", Nice = "nice", Cpu = "cpu", Ulimit = "ulimit", Bounce = "bounce",
    Depends = "depends", Order = "order", Disable = "disable", Wait = "wait", Once = "once",
    Kill = "kill",
    // Issue 15 (parse/restart.rs).
    Restart = "restart", Give = "give", Stop = "stop", Reload = "reload", Group = "group",
    Groups = "groups", Umask = "umask",
    // Issue 16 (parse/ready.rs).
    Ready = "ready", After = "after", Check = "check", Watchdog = "watchdog",
    // Braces, which are words of their own.
    Close = "}", Open = "{",
}

/// For each option from `name` on, by [`Kw`]: whether it takes one
/// word, and if so its hint in [`HINTS`] (`0` to `5`; `-` takes more).
const ONE_WORD: &str = "1-20023405---0";

/// What a one-word option expects, by [`Kw`] from `name` (empty for
/// the others; `err` uses `out`'s).
const EXPECTED: &str = "a job name\0\0an absolute path\0a file name or the word syslog\0\0\
    a file name\0VAR=VALUE\0a user name\0a number from -20 to 19\0\
    a CPU list like 0,2-3 or a hex mask like 0x0d\0\0\0\0a whole number\0";

/// The hints of [`ONE_WORD`] after "too many arguments for 'OPTION'".
const HINTS: &str = "\0; a job name has no spaces\0 (quote an argument that contains spaces)\0\
    ; one VAR=VALUE a line (quote a value with spaces: env \"VAR=a b\")\0\
    ; a user name has no spaces\0; write the list without spaces\0";

/// A fixed text of an error (`%a`, `%b` of its message): word `i` of
/// list `l` of [`LISTS`], as its place among all their words, in 12
/// bits: first those of the lists the parser matches words against, in
/// [`WORDS`], then those of the lists only errors write ([`PLACES`]),
/// which are packed after the messages ([`ERROR_TEXTS`]). Reports pass
/// and errors keep these, not a pointer and a length for each text: a
/// message and both its texts go in one register (issue 18, bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Text(u16);

impl Text {
    /// No text: the empty word before every list.
    pub(crate) const NONE: Text = Text(0);

    /// Word `i` of `LISTS[list]`; `i` is below the list's length (each
    /// list is checked as it is made, or by a test).
    pub(crate) const fn of(list: u16, i: usize) -> Text {
        Text(FIRST_WORD[list as usize] + i as u16)
    }

    /// The word of a keyword.
    const fn kw(kw: Kw) -> Text {
        Text::of(1, kw as usize)
    }

    /// The word of a list the parser matches words against (not packed).
    /// Inlined on x86_64, where its callers are smaller with the list's
    /// address at each call (-48 bytes); a call elsewhere (aarch64 +8
    /// inlined) (issue 18, bytes).
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    pub(crate) fn get(self) -> &'static str {
        debug_assert!(
            usize::from(self.0) < RAW_WORDS,
            "Text::get of a packed word"
        );
        nth_word(WORDS, usize::from(self.0))
    }

    /// Its number, the word's place among all the lists' words: never
    /// below [`Text::packed_place`] (a test checks it).
    pub(crate) fn number(self) -> usize {
        usize::from(self.0)
    }

    /// Its word's place in [`ERROR_TEXTS`] if its list is packed, else 0.
    pub(crate) fn packed_place(self) -> usize {
        usize::from(self.0)
            .checked_sub(RAW_WORDS)
            .map_or(0, |i| MESSAGE_WORDS + i)
    }

    /// The word, `all` being [`ERROR_TEXTS`] unpacked: from there if its
    /// list is packed, else from [`WORDS`].
    pub(crate) fn text(self, all: &str) -> &str {
        match usize::from(self.0).checked_sub(RAW_WORDS) {
            Some(i) => nth_word(all, MESSAGE_WORDS + i),
            None => self.get(),
        }
    }
}

/// The first [`Text`] that is `word`, for tests.
#[cfg(test)]
pub(crate) fn text_of(word: &str) -> Text {
    let mut buf = [0; ERROR_TEXTS.len()];
    let all = super::error::unpack_all(&mut buf);
    (0..4096)
        .map(Text)
        .find(|t| t.text(all) == word)
        .expect("a word of LISTS")
}

/// The lists of [`Text`], by number (see each list for its words), each
/// word ended by a NUL. List 0 is the one empty word, [`Text::NONE`].
/// Only read at compile time: the program reads them in [`WORDS`] and
/// [`ERROR_TEXTS`], not through a table of 16 pointers and lengths
/// (issue 18, bytes).
pub(super) const LISTS: [&str; 16] = [
    "\0",
    KEYWORD_WORDS,
    EXPECTED,
    HINTS,
    TEXTS,
    LOG_WORDS,
    ready::TEXTS,
    Resource::RLIMIT_WORDS,
    trust::WHO,
    restart::KEYS,
    restart::TEXTS,
    env_file::TEXTS,
    restart::USAGES,
    restart::SHAPES,
    values::TEXTS,
    MATCHED_WORDS,
];

/// The lists of [`LISTS`] in the order of their words' places. First
/// the [`RAW_LISTS`] the binary carries as they are ([`WORDS`]): those
/// whose words the parser matches (keywords, log options, resource
/// names, restart's shapes, [`MATCHED_WORDS`]). Then those only errors
/// write, packed after the messages (issue 18, bytes: 2.2 KB of text):
/// `ready`'s first, then the env file's (a file a job's user may write:
/// its errors unpack no further than they must, see `ErrorKind`'s
/// Display), then restart's keys (ready's words and the keys are
/// recorded in [`Seen`], which has places for the first [`SEEN`]; a
/// key is never matched, only written), then `trust`'s three.
const PLACES: [usize; LISTS.len()] = [0, 1, 5, 7, 13, 15, 6, 11, 9, 8, 2, 3, 4, 10, 12, 14];
/// How many lists of [`PLACES`] are not packed.
const RAW_LISTS: usize = 6;

/// The words of the messages, before the packed lists' in
/// [`ERROR_TEXTS`].
const MESSAGE_WORDS: usize = nuls(super::error::MESSAGES);
/// The words of the lists not packed, in [`WORDS`].
const RAW_WORDS: usize = places().2;

/// Whether list `l` of [`LISTS`] is packed.
const fn is_packed(l: usize) -> bool {
    let mut p = RAW_LISTS;
    while p < PLACES.len() {
        if PLACES[p] == l {
            return true;
        }
        p += 1;
    }
    false
}

/// For each list of [`LISTS`], the place of its first word among all
/// their words (see [`PLACES`]), and of its first byte in [`WORDS`] or
/// in the packed lists.
const FIRST_WORD: [u16; LISTS.len()] = places().0;
const FIRST_BYTE: [usize; LISTS.len()] = places().1;

/// [`FIRST_WORD`], [`FIRST_BYTE`], the words and bytes of the lists
/// not packed, and the bytes of the packed ones.
const fn places() -> (
    [u16; LISTS.len()],
    [usize; LISTS.len()],
    usize,
    usize,
    usize,
) {
    let (mut words, mut bytes) = ([0u16; LISTS.len()], [0usize; LISTS.len()]);
    let (mut w, mut b) = (0, 0);
    let (mut raw_words, mut raw_bytes) = (0, 0);
    let mut p = 0;
    while p < PLACES.len() {
        if p == RAW_LISTS {
            (raw_words, raw_bytes) = (w, b);
            b = 0;
        }
        let l = PLACES[p];
        (words[l], bytes[l]) = (w as u16, b);
        w += nuls(LISTS[l]);
        b += LISTS[l].len();
        p += 1;
    }
    // A place fits in the 12 bits of `said`.
    assert!(w <= 1 << 12);
    (words, bytes, raw_words, raw_bytes, b)
}

/// The words of a list: each ends in a NUL (checked here), the last one
/// too, so that one list's words end where the next one's begin.
const fn nuls(list: &str) -> usize {
    let list = list.as_bytes();
    assert!(!list.is_empty() && list[list.len() - 1] == 0);
    let mut n = 0;
    let mut i = 0;
    while i < list.len() {
        n += (list[i] == 0) as usize;
        i += 1;
    }
    n
}

/// `first`, then the lists of [`LISTS`] that are packed (`packed`) or
/// not, one after another in the order of [`PLACES`], in `N` bytes.
const fn join<const N: usize>(first: &str, packed: bool) -> [u8; N] {
    let mut all = [0u8; N];
    let mut n = 0;
    let mut p = 0;
    while p <= PLACES.len() {
        let part = match p {
            0 => first.as_bytes(),
            _ if (p > RAW_LISTS) == packed => LISTS[PLACES[p - 1]].as_bytes(),
            _ => b"",
        };
        let mut i = 0;
        while i < part.len() {
            all[n] = part[i];
            (n, i) = (n + 1, i + 1);
        }
        p += 1;
    }
    assert!(n == N);
    all
}

/// `bytes` as text (the lists and the messages are).
const fn text(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("the lists are text"),
    }
}

/// The lists not packed, one after another: [`Text`]s read their words
/// here by place.
const WORDS: &str = {
    const BYTES: [u8; places().3] = join("", false);
    text(&BYTES)
};

/// The messages, then the packed lists, one after another: one text,
/// packed by `config::error`, where a message is its word
/// `Msg as usize` and a packed [`Text`] finds itself ([`Text::text`]).
pub(crate) const ERROR_TEXTS: &str = {
    const LEN: usize = super::error::MESSAGES.len() + places().4;
    const BYTES: [u8; LEN] = join(super::error::MESSAGES, true);
    text(&BYTES)
};

/// List `l` of [`LISTS`] where [`WORDS`] holds it, for the lists also
/// searched by word: not a second copy of their text (issue 18, bytes).
/// Not a packed one.
pub(crate) const fn list(l: usize) -> &'static str {
    assert!(!is_packed(l));
    let (_, rest) = WORDS.split_at(FIRST_BYTE[l]);
    rest.split_at(LISTS[l].len()).0
}

/// The words of [`Kw`], in its order, each ended by a NUL (see
/// `values::nth_word`).
const KEYWORDS: &str = list(1);

/// `msg` and its two fixed texts in one number: the message in the low
/// 8 bits, then 12 bits each (see [`Text`]).
pub(crate) const fn said(msg: Msg, a: Text, b: Text) -> u32 {
    msg as u32 | (a.0 as u32) << 8 | (b.0 as u32) << 20
}

/// The message (its number, `Msg as usize`) and two texts of [`said`].
pub(crate) fn unsaid(said: u32) -> (usize, Text, Text) {
    let a = Text((said >> 8) as u16 & 0xfff);
    (usize::from(said as u8), a, Text((said >> 20) as u16))
}

/// Defines a list of fixed texts as `TEXTS`, with a [`Text`] constant
/// for each, named as given (for the list `LISTS[$list]`).
macro_rules! texts {
    ($list:literal; $($name:ident = $text:literal,)*) => {
        /// The places of the texts in `TEXTS`.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        enum Place {
            $($name,)*
        }

        /// The texts of this module's reports, each ended by a NUL.
        pub(super) const TEXTS: &str = concat!($($text, "\0",)*);

        // Some are reached by their place from another (`check`'s).
        $(#[allow(dead_code)]
        const $name: Text = Text::of($list, Place::$name as usize);)*
        // The list is one of LISTS.
        const _: () = assert!($list < $crate::config::parse::LISTS.len());
    };
}
pub(super) use texts;

texts! { 4;
    LISTEN_ON = "listen on",
    REPORT_TO = "report to",
    A_URL = "a URL like udp://127.0.0.1:9999",
    METRICS_TO = "metrics to",
    A_FILE_PATH = "an absolute file path",
    QUOTE_PATH = " (quote a path that contains spaces)",
    A_SIZE = "a size like 64K, 1M or 1G, at least 4K",
    A_KEEP = "a number of rotated files to keep, 0 to 100",
    NICE_NUMBER = "a whole number from -20 to 19",
    ORDER_NUMBER = "a whole number, negative allowed (lower starts first)",
    A_LIMIT = "a limit and a value, like -n 1024",
    BOUNCE_EVERY = "bounce every",
    KILL_AFTER = "kill after",
    A_TIME = "a time like 30s, 5m, 1h or 1d",
    TIME_HINT = "; write the time without spaces, like 30s",
}

/// The words of list 4 that the parser matches, in a list of their own
/// that is not packed.
const MATCHED_WORDS: &str = "on\0to\0every\0syslog\0";
const ON: Text = Text::of(15, 0);
const TO: Text = Text::of(15, 1);
const EVERY: Text = Text::of(15, 2);
const SYSLOG: Text = Text::of(15, 3);

/// The words after the file of `out` and `err`: [`LOG_OPTIONS`].
const LOG_WORDS: &str = "max\0keep\0stamp\0";

/// [`LOG_WORDS`] where [`WORDS`] holds them.
const LOG_OPTIONS: &str = list(5);

/// The values of an `order`, as the `i64` that [`signed`] reads.
const I32_MIN: i64 = i32::MIN as i64;
const I32_MAX: i64 = i32::MAX as i64;

/// The `arg` of an option that takes more than one word.
static NO_WORD: Word = Word {
    text: String::new(),
    pos: Pos {
        line: core::num::NonZeroU32::MIN,
        col: 0,
    },
    quoted: false,
};

/// The keywords outside a job.
const GLOBALS: &str = split_words(KEYWORDS, Kw::Name as usize).0;

/// The options a job may contain; with `}` after them, what a word in a
/// job may be a typo of.
const OPTIONS_AND_CLOSE: &str = split_words(
    split_words(KEYWORDS, Kw::Open as usize).0,
    Kw::Name as usize,
)
.1;

/// The options a job may contain.
const OPTIONS: &str = split_words(
    split_words(KEYWORDS, Kw::Close as usize).0,
    Kw::Name as usize,
)
.1;

impl Kw {
    /// The keyword `word` is, if it is one (and not quoted).
    fn of(word: &Word) -> Option<Kw> {
        if word.quoted {
            return None;
        }
        let i = word_index(KEYWORDS, &word.text)?;
        Kw::ALL.get(i).copied()
    }

    /// An option of a job (not a global keyword, not a brace).
    fn is_option(self) -> bool {
        (Kw::Name as usize..Kw::Close as usize).contains(&(self as usize))
    }
}

/// Parses the text of a configuration file named `file`.
pub fn parse(file: &str, src: &str) -> Result<Config, Vec<Error>> {
    let mut p = Parser {
        diags: Diags {
            file,
            errors: Vec::new(),
        },
        config: Config::default(),
        names: Vec::new(),
        job: None,
        awaiting_open: false,
        block: None,
        jobs_seen: 0,
        metrics_at: None,
        seen: Box::new(Seen::NONE),
    };
    // A plain loop, not an iterator of lines: less code (issue 18). The
    // lines counted by hand, not enumerate(): with env_file's, no
    // Enumerate<Split> in the binary (issue 18, bytes).
    let mut i = 0;
    #[allow(clippy::explicit_counter_loop)]
    for raw in crate::Split::new(src, b'\n') {
        let n = i;
        i += 1;
        match lex::line(raw, n) {
            Ok(None) => {}
            Ok(Some(line)) => p.line(&line),
            Err((pos, kind)) => {
                p.err(pos, kind);
                // The line may have been this job's `name` or `cmd`.
                if let Some(job) = &mut p.job {
                    job.excused = EXCUSED;
                }
            }
        }
    }
    p.finish();
    p.check_after();
    // Dropped here, once for both outcomes, not on each way out (issue
    // 18, bytes).
    drop(p.job);
    drop(p.seen);
    let mut errors = p.diags.errors;
    if errors.is_empty() {
        // Never pushed to, so never allocated: nothing to free (issue 18,
        // bytes).
        core::mem::forget(errors);
        return Ok(p.config);
    }
    // In file order; errors about the whole file last. An insertion sort:
    // stable, and there are at most MAX_ERRORS, nearly in order already
    // (and it keeps the general-purpose stable sort out of the binary).
    let key = |e: &Error| {
        e.pos().map_or(u64::MAX, |p| {
            u64::from(p.line.get()) << 32 | u64::from(p.col)
        })
    };
    for i in 1..errors.len() {
        // Error i moves down, one neighbour at a time, to its place.
        // Exclusive ranges: no inclusive range's checks (issue 18, bytes).
        let mut j = i;
        while j > 0 {
            match errors.get_mut(j - 1..j + 1) {
                Some([a, b]) if key(a) > key(b) => core::mem::swap(a, b),
                _ => break,
            }
            j -= 1;
        }
    }
    Err(errors)
}

/// The entry of `name` in `names` (sorted by name), or where it would
/// go. One search for both its users (issue 18); the entry, not its
/// index, so that they index nothing.
#[inline(never)]
fn find_name<'a>(
    names: &'a [(String, Pos, u32)],
    name: &str,
) -> Result<&'a (String, Pos, u32), usize> {
    // A plain binary search, not `binary_search_by`, which compares at
    // two places (its closure then out of line): the names are unique,
    // so where the search ends is the same (issue 18, bytes).
    let (mut lo, mut hi) = (0, names.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // Below `hi`: `get` is always Some.
        let Some(entry) = names.get(mid) else { break };
        // The order of `str`'s `cmp`, by the bytes' own: their memcmp,
        // which pmtr links anyway now (`rt::mem`), not a loop over the
        // bytes (issue 18, bytes).
        match entry.0.as_bytes().cmp(name.as_bytes()) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Ok(entry),
        }
    }
    Err(lo)
}

/// Sets an option of the job being read, whose `place` still holds its
/// default, which owns nothing: each option is set once a job
/// ([`Parser::first_time`]), so what was there is not dropped and no drop
/// glue is called at each place (issue 18, bytes).
#[inline(always)]
fn put<T>(place: &mut T, value: T) {
    core::mem::forget(core::mem::replace(place, value));
}

/// Collects errors, up to [`MAX_ERRORS`].
struct Diags<'f> {
    file: &'f str,
    errors: Vec<Error>,
}

impl Diags<'_> {
    /// No more errors are recorded: skip work done only for messages.
    fn full(&self) -> bool {
        self.errors.len() > MAX_ERRORS
    }

    /// `msg` about the unknown `word` at `pos`, with the word it may be a
    /// typo of: [`Diags::say`], as every report naming a word.
    #[inline(always)]
    fn unknown(&mut self, pos: Pos, msg: Msg, word: &str, suggestion: Option<&str>) {
        self.say(pos, Some(word), msg as u32, suggestion);
    }

    /// Reports the message and fixed texts of `said` at `pos`, naming
    /// `word` (`%w`) and the `suggestion` (`%?`) if any: one body for
    /// the parser's reports and the unknown words', not an `ErrorKind`
    /// made and pushed at each (issue 18, bytes).
    #[inline(never)]
    fn say(&mut self, pos: Pos, word: Option<&str>, said: u32, suggestion: Option<&str>) {
        let kind = ErrorKind::new(said, word).suggest(suggestion);
        self.push(pos, kind);
    }

    fn push(&mut self, pos: Pos, kind: ErrorKind) {
        // One push for both: one copy of its code (issue 18, bytes).
        // The error not kept dropped before the one said instead is
        // made: one way to the push, not two (issue 18, bytes).
        let (pos, kind) = match self.errors.len().cmp(&MAX_ERRORS) {
            Ordering::Less => (Some(pos), kind),
            Ordering::Equal => {
                drop(kind);
                (None, ErrorKind::plain(Msg::TooManyErrors))
            }
            Ordering::Greater => return,
        };
        self.errors.push(Error::new(self.file, pos, kind));
    }
}

/// A job being read.
/// In this order (`repr(C)`): the flags and positions first, the
/// parser's reads of them short displacements, the spec last (see
/// [`Parser`]).
#[repr(C)]
struct Draft {
    /// The `{` (or the `job` keyword when the brace is missing), where an
    /// unclosed job is reported.
    open: Pos,
    name_pos: Option<Pos>,
    /// False when `{` was missing: the error was given once already, so
    /// a missing `}` is not reported on top.
    braced: bool,
    /// Whose absence is not reported, bit 0 for `name`, bit 1 for `cmd`
    /// ([`EXCUSED`] both): a line of this job could not be read (and was
    /// reported), it may have been either; an unknown word was taken for
    /// one of them (`cmdd` for `cmd`), reported as a typo, not again as
    /// missing. Only those two are ever missing: two bits, not a Vec of
    /// options, in one byte, not three flags (issue 18, bytes).
    excused: u8,
    spec: JobSpec,
}

/// [`Draft::excused`] for both `name` and `cmd`: a line of the job could
/// not be read.
const EXCUSED: u8 = 0b11;

/// How many [`Text`]s [`Seen`] has a place for. What a job records is
/// a keyword's, `ready`'s and `check`'s words, an `RLIMIT_` name or
/// issue 15's keys, lists 1, 6, 7 and 9 of [`LISTS`], all placed below
/// it (checked here, on the `RLIMIT_` names, `ready`'s words and the
/// last of the keys, the highest).
const SEEN: usize = 128;
const _: () = assert!(
    FIRST_WORD[7] as usize + nuls(Resource::RLIMIT_WORDS) <= SEEN
        && FIRST_WORD[6] as usize + nuls(ready::TEXTS) <= SEEN
        && (restart::LAST_KEY.0 as usize) < SEEN
);

/// Where each single-valued option was given, and each ulimit resource
/// set (by its `RLIMIT_` name), by its [`Text`], with the number of the
/// job (its count from 1, [`Parser::jobs_seen`]): a place for each, not a
/// list searched and pushed to (issue 18, bytes), and nothing to clear
/// for the next job.
struct Seen([(usize, Option<Pos>); SEEN]);

impl Seen {
    /// All zero bits, so the box is made by a zeroed allocation, not
    /// copied from 2 KB of constant (issue 18, bytes).
    const NONE: Seen = Seen([(0, None); SEEN]);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Depends,
    Ulimit,
}

impl BlockKind {
    fn name(self) -> Text {
        Text::kw(match self {
            BlockKind::Depends => Kw::Depends,
            BlockKind::Ulimit => Kw::Ulimit,
        })
    }
}

/// A `depends {` or `ulimit {` whose `}` has not come yet.
struct Block {
    kind: BlockKind,
    open: Pos,
    entries: usize,
}

/// In this order (`repr(C)`): the fields read most first, so that their
/// offsets fit a byte in an instruction, and the job being read (its
/// own small fields first) before the file's `Config` and the names,
/// read only when a job ends or the file does. Laid out by the
/// compiler, the job came first and every other field was 0xf8 bytes
/// or more away (issue 18, bytes: min x86_64 -120).
#[repr(C)]
struct Parser<'f> {
    diags: Diags<'f>,
    /// The options given in each job. Boxed: 1.5 KB on the stack put
    /// the parser's other locals out of reach of ARM's short loads and
    /// stores (issue 18, bytes).
    seen: Box<Seen>,
    jobs_seen: usize,
    block: Option<Block>,
    /// `job` ended its line without `{`: the next line must bring it.
    awaiting_open: bool,
    job: Option<Draft>,
    /// Job names seen so far and where, for duplicate reports; sorted by
    /// name for binary search. A sorted Vec rather than a HashMap: no
    /// hasher, random seed or hash table code in the binary.
    /// With each, the job's index in the file's jobs (for `after`).
    config: Config,
    names: Vec<(String, Pos, u32)>,
    /// Where `metrics to` was given, to report a second one.
    metrics_at: Option<Pos>,
}

impl Parser<'_> {
    /// Where `option` was given in the job being read, if it was.
    fn seen(&self, option: Text) -> Option<Pos> {
        let (job, pos) = self.seen.0.get(usize::from(option.0))?;
        if *job == self.jobs_seen { *pos } else { None }
    }

    fn err(&mut self, pos: Pos, kind: ErrorKind) {
        self.diags.push(pos, kind);
    }

    /// Reports the message and fixed texts of `said` at `word`, which it
    /// names (`%w`), or at `pos` when the line has no such word.
    #[inline(never)]
    fn say(&mut self, pos: Pos, word: Option<&Word>, said: u32) {
        let at = word.map_or(pos, |w| w.pos);
        self.diags
            .say(at, word.map(|w| w.text.as_str()), said, None);
    }

    /// Reports `msg` at `word`, which it names (`%w`), or at `pos` when
    /// the line has no such word; `a` and `b` are its fixed texts.
    #[inline(always)]
    fn report(&mut self, msg: Msg, pos: Pos, word: Option<&Word>, a: Text, b: Text) {
        self.say(pos, word, said(msg, a, b));
    }

    /// [`Parser::say`] about `word`, at it: one argument fewer at each
    /// call (issue 18, bytes).
    #[inline(never)]
    fn say_about(&mut self, word: &Word, said: u32) {
        self.say(word.pos, Some(word), said);
    }

    /// [`Parser::say`] about no word, at `pos`.
    #[inline(never)]
    fn say_at(&mut self, pos: Pos, said: u32) {
        self.say(pos, None, said);
    }

    /// Reports `msg` at `pos`, about something given before at `first`
    /// (`%p`): one call for the five "given twice" errors (issue 18).
    #[inline(always)]
    fn again(&mut self, pos: Pos, msg: Msg, word: Option<&str>, a: Text, first: Pos) {
        self.again_said(pos, said(msg, a, Text::NONE), word, first);
    }

    /// [`Parser::again`] with its message and text as one number.
    #[inline(never)]
    fn again_said(&mut self, pos: Pos, said: u32, word: Option<&str>, first: Pos) {
        self.err(pos, ErrorKind::new(said, word).first(first));
    }

    /// Reports `msg`, which names only `word`, at it.
    #[inline(always)]
    fn bad_plain(&mut self, word: &Word, msg: Msg) {
        self.bad(word, msg, Text::NONE);
    }

    /// Reports `msg` about `word`, at it.
    #[inline(always)]
    fn bad(&mut self, word: &Word, msg: Msg, a: Text) {
        self.say_about(word, said(msg, a, Text::NONE));
    }

    /// Reports `msg`, which names nothing, at `pos`.
    #[inline(always)]
    fn fail_plain(&mut self, pos: Pos, msg: Msg) {
        self.fail(pos, msg, Text::NONE, Text::NONE);
    }

    /// Reports `msg`, which names no word of the file, at `pos`.
    #[inline(always)]
    fn fail(&mut self, pos: Pos, msg: Msg, a: Text, b: Text) {
        self.say_at(pos, said(msg, a, b));
    }

    /// Out of line: inlined into its one caller, `parse`, it came out 760
    /// bytes larger on aarch64 (issue 18, bytes: min aarch64 -576, armv7
    /// -8, armv6 +8, x86_64 0).
    #[inline(never)]
    fn line(&mut self, line: &Line) {
        let words = &line.words[..];
        // The lexer makes no line without words.
        let [first, args @ ..] = words else { return };
        let kw = Kw::of(first);
        if self.block.is_some() {
            // A job option (or a new job) while a block is open means its
            // `}` was forgotten: say so at the `{`, then read the line as
            // what it looks like instead of as block entries.
            let forgotten = kw.is_some_and(|k| k == Kw::Job || k.is_option());
            if !forgotten {
                self.block_words(words);
                return;
            }
            self.unclosed_block();
        }
        if self.awaiting_open {
            self.awaiting_open = false;
            if kw == Some(Kw::Open) {
                // The job looked at once, for both (issue 18, bytes).
                let extra = words.get(1);
                if let Some(job) = &mut self.job {
                    job.open = first.pos;
                    if extra.is_some() {
                        job.excused = EXCUSED;
                    }
                }
                if let Some(extra) = extra {
                    self.fail_plain(extra.pos, Msg::TextAfterOpen);
                }
                return;
            }
            let at = self.job.as_mut().map_or(first.pos, |j| {
                j.braced = false;
                j.open
            });
            self.fail(at, Msg::ExpectedOpen, Text::kw(Kw::Job), Text::NONE);
        }
        if first.quoted {
            self.bad_plain(first, Msg::QuotedKeyword);
            return;
        }
        let pos = first.pos;
        match kw {
            Some(Kw::Close) if self.job.is_some() => {
                self.finish_job();
                if let Some(extra) = args.first() {
                    self.fail_plain(extra.pos, Msg::TextAfterClose);
                }
            }
            Some(Kw::Close) => self.fail_plain(pos, Msg::StrayClose),
            Some(Kw::Open) => self.fail_plain(pos, Msg::StrayOpen),
            Some(Kw::Job) => self.start_job(pos, args),
            Some(kw @ (Kw::Report | Kw::Listen | Kw::Metrics)) => self.global(kw, pos, args),
            Some(option) => {
                if self.job.is_some() {
                    self.option(option, pos, args);
                } else {
                    self.fail(pos, Msg::OptionOutsideJob, Text::kw(option), Text::NONE);
                }
            }
            None => {
                if !self.diags.full() {
                    let kw = first.text.as_str();
                    let in_job = self.job.is_some();
                    // Options first: on a tie, an option is the likelier.
                    let suggestion = if in_job {
                        suggest(kw, OPTIONS_AND_CLOSE)
                    } else {
                        suggest(kw, GLOBALS).or_else(|| suggest(kw, OPTIONS))
                    };
                    if let (Some(job), Some(option)) = (&mut self.job, suggestion) {
                        job.excused |= u8::from(*option.as_bytes() == *b"name")
                            | u8::from(*option.as_bytes() == *b"cmd") << 1;
                    }
                    let msg = if in_job {
                        Msg::UnknownOption
                    } else {
                        Msg::UnknownKeyword
                    };
                    self.diags.unknown(first.pos, msg, kw, suggestion);
                }
            }
        }
    }

    fn finish(&mut self) {
        self.unclosed_block();
        // The last job, never closed, is reported; it is dropped with the
        // parser, never having joined the file's jobs.
        self.unclosed();
    }

    /// Reports the open block, if any, as never closed, and ends it: one
    /// body for a job option inside it and the end of the file (issue
    /// 18, bytes).
    #[inline(never)]
    fn unclosed_block(&mut self) {
        if let Some(block) = self.block.take() {
            let name = block.kind.name();
            self.fail(block.open, Msg::UnclosedBrace, name, Text::NONE);
        }
    }

    /// Reports the job being read, if any, as never closed: its `{`
    /// missing, or its `}`. One body for the end of the file and the
    /// next `job` (issue 18, bytes).
    fn unclosed(&mut self) {
        if let Some(job) = &self.job {
            let (open, braced) = (job.open, job.braced);
            // One report, of either message (issue 18, bytes).
            let msg = if self.awaiting_open {
                self.awaiting_open = false;
                Msg::ExpectedOpen
            } else if braced {
                Msg::UnclosedBrace
            } else {
                return;
            };
            self.fail(open, msg, Text::kw(Kw::Job), Text::NONE);
        }
    }

    fn start_job(&mut self, pos: Pos, args: &[Word]) {
        // The job before, unclosed, still counts.
        self.unclosed();
        self.finish_job();
        // Counts saturate instead of trusting the 1 MiB cap of
        // `parse_bytes` to keep them small (issue 13: no input may panic).
        self.jobs_seen = self.jobs_seen.saturating_add(1);
        if self.jobs_seen == MAX_JOBS + 1 {
            self.fail_plain(pos, Msg::TooManyJobs);
        }
        let mut open = pos;
        let mut braced = true;
        // Options written after the `{` are not read: their absence is
        // not reported on top.
        let mut excused = 0;
        let mut empty = false;
        match args {
            [] => self.awaiting_open = true,
            [brace, rest @ ..] if brace.is_text(Text::kw(Kw::Open)) => {
                open = brace.pos;
                // `job { }` is an empty job, closed at once below.
                empty = matches!(rest, [close] if close.is_text(Text::kw(Kw::Close)));
                if let Some(extra) = rest.first().filter(|_| !empty) {
                    self.fail_plain(extra.pos, Msg::TextAfterOpen);
                    excused = EXCUSED;
                }
            }
            [other, ..] => {
                braced = false;
                let (open, job) = (Text::kw(Kw::Open), Text::kw(Kw::Job));
                self.report(Msg::Expected, pos, Some(other), open, job);
            }
        }
        // finish_job has taken the job before: the place holds None.
        put(
            &mut self.job,
            Some(Draft {
                spec: JobSpec::new(pos),
                open,
                braced,
                excused,
                name_pos: None,
            }),
        );
        if empty {
            self.finish_job();
        }
    }

    /// Ends the job being read, if any: its checks, then it joins the
    /// file's jobs. It takes the job itself: one move of the Draft out
    /// of `self.job`, not one at each caller (issue 18, bytes).
    fn finish_job(&mut self) {
        let Some(job) = self.job.take() else { return };
        let Draft {
            mut spec,
            name_pos,
            excused,
            ..
        } = job;
        let at = spec.origin.job;
        // A `name` or `cmd` line that was there but wrong has had its
        // error; "has no name" on top would only mislead.
        let given = u8::from(self.seen(Text::kw(Kw::Name)).is_some())
            | u8::from(self.seen(Text::kw(Kw::Cmd)).is_some()) << 1;
        // Each missing option reported by one call, the job named when it
        // has a name (then only `cmd` can be missing): issue 18, bytes.
        // The message chosen once, then one number stepped from `name`'s
        // text to `cmd`'s, for each bit of what is missing: no array of
        // pairs on the stack (issue 18, bytes). The step is what `said`
        // makes of the two texts, whatever its layout (the message's
        // bits are the same in both).
        const STEP: u32 = said(Msg::MissingOption, Text::kw(Kw::Cmd), Text::NONE)
            - said(Msg::MissingOption, Text::kw(Kw::Name), Text::NONE);
        let (msg, word) = match name_pos {
            Some(_) => (Msg::MissingOptionOf, Some(&*spec.name)),
            None => (Msg::MissingOption, None),
        };
        let mut said = said(msg, Text::kw(Kw::Name), Text::NONE);
        let mut missing = !(excused | given) & EXCUSED;
        while missing != 0 {
            if missing & 1 != 0 {
                self.diags.say(at, word, said, None);
            }
            said += STEP;
            missing >>= 1;
        }
        if let Some(pos) = name_pos {
            match find_name(&self.names, &spec.name) {
                Ok(&(_, first, _)) => {
                    let name = Some(&*spec.name);
                    self.again(pos, Msg::DuplicateName, name, Text::NONE, first);
                }
                Err(i) => {
                    let index = self.config.jobs.len() as u32;
                    self.names
                        .insert(i, (String::from(&*spec.name), pos, index));
                }
            }
        }
        self.finish_readiness(&spec);
        // Relative `depends` paths are relative to the job's directory,
        // like `out` and `err`; resolve them here so the supervisor and
        // the equality of specs see one absolute path.
        // The directory borrowed beside the options: no copy of it
        // (issue 18, bytes).
        let (dir, extra) = spec.dir_and_extra();
        if let Some(extra) = extra
            && (!extra.depends.is_empty() || !extra.env_files.is_empty())
        {
            let base = crate::files::trim_slashes(dir.unwrap_or("/"));
            let base = if base.is_empty() { "/" } else { base };
            let absolute = |path: &mut String| {
                if path.as_bytes().first() != Some(&b'/') {
                    *path = crate::files::join(base, path);
                }
            };
            // Two plain loops, not a chain of iterators nor for_each:
            // less code (issue 18, bytes).
            for path in &mut extra.depends {
                absolute(path);
            }
            for f in &mut extra.env_files {
                absolute(&mut f.path);
            }
        }
        if self.jobs_seen <= MAX_JOBS {
            // Kept as long as the job: no room to grow (a `Vec` pushed to
            // holds four at least).
            spec.env.shrink_to_fit();
            self.config.jobs.push(spec);
        }
    }

    /// `report to URL`, `listen on URL` and `metrics to FILE`, outside
    /// every job: one body for the words they have in common (issue 18,
    /// bytes). Out of line on 32-bit ARM, as `option` and
    /// `readiness_option` are: with all three inlined into `line` (8 KB)
    /// min armv7 was 232 bytes larger; on x86_64 inlined, where out of
    /// line cost 144 (min) and 288 (stable) bytes (issue 18).
    #[cfg_attr(target_arch = "arm", inline(never))]
    fn global(&mut self, kw: Kw, pos: Pos, args: &[Word]) {
        let what = Text::kw(kw);
        let listen = kw == Kw::Listen;
        let preposition = if listen { ON } else { TO };
        if self.job.is_some() {
            self.fail(pos, Msg::GlobalInsideJob, what, Text::NONE);
            return;
        }
        match args.first() {
            Some(w) if w.is(preposition.get()) => {}
            other => {
                self.report(Msg::Expected, pos, other, preposition, what);
                return;
            }
        }
        if kw == Kw::Metrics {
            self.metrics(pos, args.get(1..).unwrap_or_default());
            return;
        }
        let option = if listen { LISTEN_ON } else { REPORT_TO };
        let Some(url) = args.get(1) else {
            self.fail(pos, Msg::MissingArg, option, A_URL);
            return;
        };
        if let Some(extra) = args.get(2) {
            self.fail(extra.pos, Msg::ExtraArg, option, Text::NONE);
        }
        // One push for both lists: one call site (issue 18, bytes).
        let list = if listen {
            &mut self.config.listen
        } else {
            &mut self.config.report
        };
        if let Err(said) = parse_url(&url.text, listen, list) {
            self.say(url.pos, Some(url), said);
        }
    }

    /// `metrics to FILE`, once: `rest` is what follows `to`.
    fn metrics(&mut self, pos: Pos, rest: &[Word]) {
        let Some(path) = self.one(METRICS_TO, pos, rest, A_FILE_PATH, QUOTE_PATH) else {
            return;
        };
        if path.text.as_bytes().first() != Some(&b'/') {
            let said = said(Msg::Relative, METRICS_TO, Text::NONE);
            self.diags.say(pos, Some(&path.text), said, None);
            return;
        }
        if let Some(first) = self.metrics_at {
            self.again(pos, Msg::RepeatedMetrics, None, Text::NONE, first);
            return;
        }
        self.metrics_at = Some(pos);
        put(&mut self.config.metrics, Some(path.text.clone()));
    }

    /// The `file` of `out`/`err` (or `syslog`) and what follows it: `max
    /// SIZE`, `keep N`, `stamp`, each at most once. None after an error.
    /// The output is made once all is read: no copy of the name made
    /// only to be dropped after an error (issue 18, bytes).
    fn log_file(&mut self, file: &Word, rest: &[Word]) -> Option<Output> {
        // A quoted "syslog" is a file of that name.
        if file.is_text(SYSLOG) {
            let Some(first) = rest.first() else {
                return Some(Output::Syslog);
            };
            self.fail_plain(first.pos, Msg::LogSyslog);
            return None;
        }
        // Where each of LOG_OPTIONS was given, and the values of max and keep.
        let mut seen: [Option<Pos>; 3] = [None; 3];
        let mut values = [0u64, 1];
        let mut words = rest.iter();
        while let Some(word) = words.next() {
            // Below 3 as LOG_OPTIONS' places are: `seen[i]` needs no
            // check that panics (issue 18, bytes).
            let found = word_index(LOG_OPTIONS, &word.text);
            let Some(i) = found.filter(|&i| !word.quoted && i < 3) else {
                self.bad_plain(word, Msg::LogWord);
                return None;
            };
            let option = Text::of(5, i);
            if let Some(first) = seen[i] {
                self.again(word.pos, Msg::Repeated, None, option, first);
                return None;
            }
            seen[i] = Some(word.pos);
            if i == 2 {
                continue;
            }
            let (expected, range) = if i == 0 {
                (A_SIZE, MIN_LOG_SIZE..=u64::MAX)
            } else {
                (A_KEEP, 0..=u64::from(MAX_KEEP))
            };
            let Some(value) = words.next() else {
                self.fail(word.pos, Msg::MissingArg, option, expected);
                return None;
            };
            // Sizes take K, M, G; a count is a plain number.
            match parse_size(&value.text).filter(|n| range.contains(n)) {
                Some(n) if i == 0 || is_digits(&value.text) => values[i] = n,
                _ => {
                    self.bad(value, Msg::BadNumber, expected);
                    return None;
                }
            }
        }
        if let (None, Some(at)) = (seen[0], seen[1]) {
            self.fail_plain(at, Msg::KeepWithoutMax);
            return None;
        }
        let path = file.text.clone();
        if rest.is_empty() {
            return Some(Output::File(path));
        }
        Some(Output::Log(Box::new(LogFile {
            path,
            max: seen[0].map(|_| values[0]),
            keep: values[1] as u32,
            stamp: seen[2].is_some(),
        })))
    }

    /// Records a single-valued option; false (and an error) if it was
    /// already given in this job.
    fn first_time(&mut self, option: Text, pos: Pos) -> bool {
        self.once(Msg::Repeated, option, pos)
    }

    /// Records `option` (an option's Text, or a ulimit's RLIMIT_ name)
    /// as given at `pos`; false, and `msg` reported, if it was already
    /// given in this job. One body for options and ulimits (issue 18,
    /// bytes).
    #[inline(never)]
    fn once(&mut self, msg: Msg, option: Text, pos: Pos) -> bool {
        if self.job.is_none() {
            return false;
        }
        if let Some(first) = self.seen(option) {
            self.again(pos, msg, None, option, first);
            return false;
        }
        if let Some(place) = self.seen.0.get_mut(usize::from(option.0)) {
            *place = (self.jobs_seen, Some(pos));
        }
        true
    }

    /// The one argument of `option`; reports a missing or extra one.
    fn one<'w>(
        &mut self,
        option: Text,
        pos: Pos,
        args: &'w [Word],
        expected: Text,
        hint: Text,
    ) -> Option<&'w Word> {
        // What is wrong, reported by one call (issue 18, bytes).
        let (at, msg, b) = match args {
            [] => (pos, Msg::MissingArg, expected),
            // The words were meant together; judging the first alone
            // would only add a second, misleading error.
            [_, extra, ..] => (extra.pos, Msg::ExtraArg, hint),
            [arg] if arg.text.is_empty() => (arg.pos, Msg::EmptyArg, Text::NONE),
            [arg] => return Some(arg),
        };
        self.fail(at, msg, option, b);
        None
    }

    /// The job being read; only called while there is one. Not inlined:
    /// it is called from some 25 places (with `extra` below, 200 bytes
    /// on armv7, 448 on x86_64; issue 18).
    #[inline(never)]
    fn spec(&mut self) -> &mut JobSpec {
        &mut self
            .job
            .as_mut()
            .expect("option() runs only inside a job")
            .spec
    }

    /// The rarely set options of the job being read ([`Parser::spec`]).
    #[inline(never)]
    fn extra(&mut self) -> &mut Extra {
        self.spec().extra_mut()
    }

    /// One option of the job being read. Out of line on ARM, as
    /// [`Parser::global`] is, and on x86_64 (min x86_64 -48 bytes; on
    /// aarch64 +96, so inlined there: issue 18).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    fn option(&mut self, kw: Kw, pos: Pos, args: &[Word]) {
        let env_file = kw == Kw::Env && args.first().is_some_and(|w| w.is_text(restart::FILE));
        if env_file
            || matches!(
                kw,
                Kw::Restart | Kw::Give | Kw::Stop | Kw::Reload | Kw::Group | Kw::Groups | Kw::Umask
            )
        {
            self.restart_option(kw, pos, args);
            return;
        }
        let option = Text::kw(kw);
        // `ready`, `after` and `check` lines check their own repeats.
        let repeatable = matches!(
            kw,
            Kw::Env | Kw::Ulimit | Kw::Depends | Kw::Ready | Kw::After | Kw::Check
        );
        if !repeatable && !self.first_time(option, pos) {
            return;
        }
        // The options of one word: that word read once, here, with what
        // each expects from a table (issue 18, bytes).
        let i = kw as usize - Kw::Name as usize;
        let hint = ONE_WORD
            .as_bytes()
            .get(i)
            .map_or(b'-', |&h| h)
            .wrapping_sub(b'0');
        let arg = if hint < 6 {
            // `out` and `err` are followed by their own words.
            let words = if matches!(kw, Kw::Out | Kw::Err) {
                args.get(..1).unwrap_or_default()
            } else {
                args
            };
            // `err` expects what `out` does.
            let which = if kw == Kw::Err { i - 1 } else { i };
            let expected = Text::of(2, which);
            let hint = Text::of(3, usize::from(hint));
            match self.one(option, pos, words, expected, hint) {
                Some(arg) => arg,
                None => return,
            }
        } else {
            // Not read by the options of more words.
            &NO_WORD
        };
        match kw {
            Kw::Name => {
                if !is_job_name(&arg.text) {
                    self.bad_plain(arg, Msg::BadName);
                    return;
                }
                if let Some(job) = &mut self.job {
                    put(&mut job.spec.name, Box::from(arg.text.as_str()));
                    job.name_pos = Some(arg.pos);
                }
            }
            Kw::Dir => {
                if arg.text.as_bytes().first() != Some(&b'/') {
                    self.bad(arg, Msg::Relative, option);
                }
                put(&mut self.spec().dir, Some(arg.text.as_str().into()));
            }
            Kw::Out | Kw::Err => {
                let Some(out) = self.log_file(arg, args.get(1..).unwrap_or_default()) else {
                    return;
                };
                // One move of the output, to the place chosen (issue 18,
                // bytes).
                let spec = self.spec();
                let place = if kw == Kw::Out {
                    &mut spec.out
                } else {
                    &mut spec.err
                };
                put(place, out);
            }
            Kw::In => {
                put(&mut self.extra().input, Some(arg.text.clone()));
            }
            // By the crate's one cut at a byte: no char searcher, nor a
            // search of its own here (issue 18, bytes).
            Kw::Env => match crate::split_once(&arg.text, b'=') {
                None => self.bad_plain(arg, Msg::EnvNoEquals),
                // `is_empty`, not a match on `""`: that called `[u8]`'s
                // `eq` (+32).
                Some((name, _)) => {
                    if name.is_empty() {
                        self.bad_plain(arg, Msg::EnvBadName);
                    } else {
                        let text = arg.text.clone();
                        self.spec().env.push(text);
                    }
                }
            },
            Kw::User => {
                let text = Box::from(arg.text.as_str());
                let spec = self.spec();
                put(&mut spec.user, Some(text));
                spec.origin.user = Some(pos);
            }
            Kw::Nice => match signed(&arg.text) {
                Some(n @ -20..=19) => self.extra().nice = Some(n as i32),
                _ if is_integer(&arg.text) => self.bad_plain(arg, Msg::NiceRange),
                _ => self.bad(arg, Msg::BadNumber, NICE_NUMBER),
            },
            Kw::Cpu => match parse_cpu(&arg.text) {
                Ok(cpus) => put(&mut self.extra().cpu, Some(cpus)),
                Err((said, word)) => self.diags.say(arg.pos, Some(word), said, None),
            },
            // An i32 by a range, as `nice`'s: no `try_from` and its
            // `Result` (issue 18, bytes).
            Kw::Order => match signed(&arg.text) {
                Some(n @ I32_MIN..=I32_MAX) => self.spec().order = n as i32,
                _ => self.bad(arg, Msg::BadNumber, ORDER_NUMBER),
            },
            Kw::Cmd => {
                // A relative program is reported, and the file refused:
                // whether the job keeps the command then makes no odds.
                if self.program(option, pos, args) {
                    // Boxed from the words, not from a Vec of Strings.
                    // A loop, not map().collect(): no adapter code.
                    let mut cmd = Vec::new();
                    for w in args {
                        cmd.push(Box::from(w.text.as_str()));
                    }
                    put(&mut self.spec().cmd, cmd.into_boxed_slice());
                }
            }
            Kw::Disable | Kw::Wait | Kw::Once => {
                if let Some(extra) = args.first() {
                    self.fail(extra.pos, Msg::NoArgs, option, Text::NONE);
                }
                let spec = self.spec();
                // One store, to the flag chosen (issue 18, bytes).
                let flag = match kw {
                    Kw::Disable => &mut spec.disable,
                    Kw::Wait => &mut spec.wait,
                    _ => &mut spec.once,
                };
                *flag = true;
            }
            Kw::Bounce | Kw::Kill => {
                let bounce = kw == Kw::Bounce;
                if let Some(secs) = self.duration(bounce, pos, args) {
                    let extra = self.extra();
                    if bounce {
                        extra.bounce_secs = Some(secs);
                    } else {
                        extra.kill_after_secs = secs;
                    }
                }
            }
            // One arm for the two blocks (issue 18, bytes).
            Kw::Ulimit | Kw::Depends => {
                let ulimit = kw == Kw::Ulimit;
                match args {
                    [brace, rest @ ..] if brace.is_text(Text::kw(Kw::Open)) => {
                        let kind = if ulimit {
                            BlockKind::Ulimit
                        } else {
                            BlockKind::Depends
                        };
                        self.open_block(kind, brace.pos, rest)
                    }
                    [] if ulimit => self.fail(pos, Msg::MissingArg, option, A_LIMIT),
                    _ if ulimit => self.ulimit_pairs(args),
                    _ => {
                        let (open, depends) = (Text::kw(Kw::Open), Text::kw(Kw::Depends));
                        self.report(Msg::Expected, pos, args.first(), open, depends);
                    }
                }
            }
            // `ready`, `after`, `check` and `watchdog`, the options left:
            // the last arm for them, not a check that panics for the
            // keywords that never come here (issue 18, bytes).
            _ => self.readiness_option(kw, pos, args),
        }
    }

    /// `bounce every T` (`bounce`) or `kill after T`: the seconds, or
    /// None after an error. Its words chosen here, not passed at each
    /// call (issue 18, bytes).
    fn duration(&mut self, bounce: bool, pos: Pos, args: &[Word]) -> Option<u64> {
        let (option, word, option_words) = if bounce {
            (Text::kw(Kw::Bounce), EVERY, BOUNCE_EVERY)
        } else {
            (Text::kw(Kw::Kill), Text::kw(Kw::After), KILL_AFTER)
        };
        match args.first() {
            Some(w) if w.is(word.get()) => {}
            other => {
                self.report(Msg::Expected, pos, other, word, option);
                return None;
            }
        }
        let Some(arg) = args.get(1) else {
            self.fail(pos, Msg::MissingArg, option_words, A_TIME);
            return None;
        };
        if let Some(extra) = args.get(2) {
            self.fail(extra.pos, Msg::ExtraArg, option_words, TIME_HINT);
        }
        // `bounce every 0` is refused ("it must be at least 1 second");
        // `kill after 0` is not.
        self.time(arg, bounce)
    }

    /// After `depends {` or `ulimit {`: reads the rest of the line as
    /// entries; the block stays open if its `}` is not on this line.
    fn open_block(&mut self, kind: BlockKind, open: Pos, rest: &[Word]) {
        self.block = Some(Block {
            kind,
            open,
            entries: 0,
        });
        self.block_words(rest);
    }

    /// Entries of the open block, up to and including its `}`.
    fn block_words(&mut self, words: &[Word]) {
        let Some(block) = &self.block else { return };
        let kind = block.kind;
        let close = words.iter().position(|w| w.is_text(Text::kw(Kw::Close)));
        // Split, not indexed: no bounds check (issue 18, bytes).
        let (entries, after) = words
            .split_at_checked(close.unwrap_or(words.len()))
            .unwrap_or((words, &[]));
        match kind {
            BlockKind::Depends => {
                for w in entries {
                    if w.is_text(Text::kw(Kw::Open)) {
                        self.fail_plain(w.pos, Msg::StrayOpen);
                    } else if w.text.is_empty() {
                        let depends = Text::kw(Kw::Depends);
                        self.fail(w.pos, Msg::EmptyArg, depends, Text::NONE);
                    } else {
                        let text = w.text.clone();
                        self.extra().depends.push(text);
                    }
                }
            }
            BlockKind::Ulimit => self.ulimit_pairs(entries),
        }
        if let Some(block) = &mut self.block {
            block.entries = block.entries.saturating_add(entries.len());
        }
        // At its `}` the block ends (it was open on entry, and is still).
        if close.is_some()
            && let Some(block) = self.block.take()
        {
            if block.entries == 0 {
                self.fail(block.open, Msg::EmptyBlock, kind.name(), Text::NONE);
            }
            // After the `}`.
            if let Some(extra) = after.get(1) {
                self.fail_plain(extra.pos, Msg::TextAfterClose);
            }
        }
    }

    /// `-n 1024 -c infinity …`: pairs of a limit and its value.
    fn ulimit_pairs(&mut self, words: &[Word]) {
        for pair in words.chunks(2) {
            // A chunk is never empty.
            let [flag, value @ ..] = pair else { continue };
            let Some(resource) = resource(&flag.text) else {
                if self.diags.full() {
                    continue;
                }
                let suggestion = suggest_resource(&flag.text);
                self.diags
                    .unknown(flag.pos, Msg::UnknownUlimit, &flag.text, suggestion);
                continue;
            };
            let Some(value) = value.first() else {
                self.bad_plain(flag, Msg::UlimitNoValue);
                continue;
            };
            let limit = if word_index_any_case("infinity\0unlimited\0", &value.text).is_some() {
                None
            } else if let Some(n) = number(&value.text) {
                Some(n)
            } else {
                self.bad_plain(value, Msg::BadUlimitValue);
                continue;
            };
            if resource == Resource::Nofile && limit.is_none() {
                self.fail_plain(value.pos, Msg::NofileInfinity);
                continue;
            }
            // Recorded with the options given once, by its RLIMIT_ name:
            // one list for both (issue 18, bytes).
            let name = Text::of(7, resource as usize);
            if !self.once(Msg::UlimitRepeated, name, flag.pos) {
                continue;
            }
            self.extra().ulimits.push(Ulimit {
                resource,
                value: limit,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_lists_are_cut_between_words() {
        assert_eq!(GLOBALS, "job\0report\0listen\0metrics\0");
        assert!(OPTIONS.starts_with("name\0cmd\0") && OPTIONS.ends_with("\0watchdog\0"));
        assert_eq!(OPTIONS_AND_CLOSE, format!("{OPTIONS}}}\0"));
        assert_eq!(Text::kw(Kw::Watchdog).get(), "watchdog");
        assert_eq!(Kw::ALL.len(), KEYWORDS.split_terminator('\0').count());
    }

    #[test]
    fn every_word_of_the_lists_is_a_text() {
        let mut buf = [0; ERROR_TEXTS.len()];
        let all = crate::config::error::unpack_all(&mut buf);
        let mut placed: Vec<usize> = PLACES.to_vec();
        placed.sort_unstable();
        assert_eq!(placed, (0..LISTS.len()).collect::<Vec<_>>());
        for (l, list) in LISTS.iter().enumerate() {
            let n = list.split_terminator('\0').count();
            assert!(n < 128, "list {l}");
            let packed = is_packed(l);
            for (i, word) in list.split_terminator('\0').enumerate() {
                let text = Text::of(l as u16, i);
                assert_eq!(text.text(all), word, "list {l}");
                assert_eq!(usize::from(text.0) >= RAW_WORDS, packed, "list {l}");
                if !packed {
                    assert_eq!(text.get(), word);
                }
            }
        }
        // What the parser matches is not packed.
        for text in [ON, TO, EVERY, SYSLOG, restart::DELAY, restart::FILE] {
            assert!(usize::from(text.0) < RAW_WORDS);
        }
        assert!(all.starts_with(crate::config::error::MESSAGES));
        let (msg, a, b) = unsaid(said(Msg::Expected, Text::kw(Kw::Open), Text::of(8, 2)));
        assert_eq!(
            (msg, a.get(), b.text(all)),
            (Msg::Expected as usize, "{", "others")
        );
        assert_eq!(Text::NONE.get(), "");
    }

    #[test]
    fn find_name_finds_as_binary_search_does() {
        for n in 0..6 {
            let names: Vec<(String, Pos, u32)> = ["b", "d", "dd", "f", "h", "é"][..n]
                .iter()
                .map(|s| (s.to_string(), Pos::at(1, 1), 0))
                .collect();
            for name in ["", "a", "b", "c", "d", "dd", "e", "f", "h", "z", "é", "ü"] {
                let before = names.binary_search_by(|(n, ..)| n.as_str().cmp(name));
                let found = find_name(&names, name).map(|e| e.0.as_str());
                match before {
                    Ok(i) => assert_eq!(found, Ok(names[i].0.as_str())),
                    Err(i) => assert_eq!(found, Err(i)),
                }
            }
        }
    }

    #[test]
    fn one_word_options_find_their_texts() {
        let at = |kw: Kw| kw as usize - Kw::Name as usize;
        assert_eq!(ONE_WORD.len(), at(Kw::Order) + 1);
        assert_eq!(nth_word(EXPECTED, at(Kw::Name)), "a job name");
        assert_eq!(
            nth_word(EXPECTED, at(Kw::Out)),
            "a file name or the word syslog"
        );
        assert_eq!(nth_word(EXPECTED, at(Kw::Order)), "a whole number");
        let hint = |kw: Kw| nth_word(HINTS, usize::from(ONE_WORD.as_bytes()[at(kw)] - b'0'));
        assert_eq!(hint(Kw::Cpu), "; write the list without spaces");
        assert_eq!(hint(Kw::In), hint(Kw::Dir));
        assert_eq!(hint(Kw::Nice), "");
    }
}
