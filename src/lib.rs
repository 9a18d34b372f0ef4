//! pmtr: starts the jobs in /etc/pmtr.conf, restarts them when they exit,
//! and applies edits to the file as soon as it is saved.
//!
//! The library behind three programs (`src/main.rs`, `src/bin/`): `pmtr`
//! itself, and the companion tools `pmtr-ctl` and `pmtr-rptserver`, which
//! belong on the machine that watches the devices rather than on each
//! device, so the file copied onto a Pi carries none of their code. This
//! file picks pmtr's mode: a `status|stop|start|restart` command, `-t`, or
//! the supervisor itself.

#![deny(unsafe_code)]
// Without std (see `rt/start.rs` for why); unit tests run under std's
// harness.
#![cfg_attr(not(test), no_std)]

#[cfg_attr(not(test), macro_use)]
extern crate alloc;
#[cfg(test)]
#[macro_use]
extern crate std;

// First, so their macros are in scope in every module below.
#[macro_use]
pub mod rt;
#[macro_use]
mod syslog;

mod cli;
mod clock;
mod config;
mod control;
mod files;
mod logger;
// Entry points for fuzz/ (built with `--cfg fuzzing`) and the unit tests
// that replay its corpora; never in the programs.
#[cfg(any(test, fuzzing))]
pub mod fuzz;
mod net;
mod packed;
mod spawn;
mod supervisor;
pub mod sys;
pub mod tools;
mod users;
mod utf8;

use prelude::*;
use rt::prelude;

/// Writes `PARTS…: STRERROR(e)`: the call or object that failed, then why.
/// One function for the `Display` of every error that carries an errno
/// (issue 18: a `write!` per message built its own argument list; these
/// `write_str` calls are the same text for fewer bytes).
#[inline(never)]
pub(crate) fn write_failed(
    f: &mut core::fmt::Formatter<'_>,
    parts: &[&str],
    e: rustix::io::Errno,
) -> core::fmt::Result {
    for part in parts {
        f.write_str(part)?;
    }
    f.write_str(": ")?;
    core::fmt::Display::fmt(&sys::strerror(e), f)
}

/// `text` as `str::parse` reads an unsigned number (an optional `+`, then
/// digits, in range), through one u64 parser for every width (issue 18,
/// bytes).
pub(crate) fn parse_unsigned<T: TryFrom<u64>>(text: &str) -> Option<T> {
    T::try_from(parse_u64(text)?).ok()
}

/// `text.parse::<u64>().ok()`: an optional `+`, then at least one digit,
/// in range. One loop, not core's two (issue 18, bytes).
#[inline(never)]
fn parse_u64(text: &str) -> Option<u64> {
    // The sign as a byte, the digits as bytes: no char pattern's call,
    // and no frame (issue 18, bytes).
    let digits = match text.as_bytes() {
        [b'+', digits @ ..] => digits,
        digits => digits,
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(n)
}

/// `text` as `str::parse::<i32>` reads it (an optional `+` or `-`, then
/// digits, in range), through [`parse_unsigned`].
pub(crate) fn parse_i32(text: &str) -> Option<i32> {
    let (negative, digits) = match strip_ascii(text, b'-') {
        // parse::<u64> would take the `+` of `-+1`. The first byte, not
        // `starts_with` with a char pattern, a call (issue 18, bytes).
        Some(rest) if rest.as_bytes().first() == Some(&b'+') => return None,
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let n = parse_unsigned::<u32>(digits)?;
    // In range by 32-bit checks, not an i64 and a `try_from` whose
    // Result the inlined caller packed and unpacked (issue 18, bytes);
    // one bound for both signs, 2^31 with a minus, 2^31 - 1 without:
    // one path after the parse, not one per sign (issue 18, bytes).
    if n > i32::MAX as u32 + u32::from(negative) {
        return None;
    }
    Some(if negative { n.wrapping_neg() } else { n } as i32)
}

/// `text.strip_prefix(b as char)` for an ASCII `b`, by its first byte:
/// core's char pattern encoded the char and compared slices in a call
/// of its own (issue 18, bytes). An ASCII byte is a whole char, so the
/// answer is the same.
#[inline(never)]
pub(crate) fn strip_ascii(text: &str, b: u8) -> Option<&str> {
    match text.as_bytes() {
        [first, ..] if *first == b => text.get(1..),
        _ => None,
    }
}

/// Puts `value` where `place` holds None, as the caller's state
/// guarantees (checked in debug builds): the None is not dropped, so the
/// call site has no drop code for what was there (issue 18, bytes).
#[inline(always)]
pub(crate) fn fill<T>(place: &mut Option<T>, value: Option<T>) {
    debug_assert!(place.is_none());
    core::mem::forget(core::mem::replace(place, value));
}

/// `text.split_once(sep)` for an ASCII `sep`, found byte by byte: core's
/// char searcher (and the `memchr` under it) leaves the binary when no
/// char pattern is left (issue 18, bytes). An ASCII byte is never inside
/// a multi-byte char, so the answer is the same.
///
/// Inlined, over a search out of line that answers in registers: the
/// two `&str`s came back through memory (issue 18, bytes).
#[inline(always)]
pub(crate) fn split_once(text: &str, sep: u8) -> Option<(&str, &str)> {
    cut_at(text, sep, false)
}

/// `text` cut at its first `sep` (its last if `last`), an ASCII byte,
/// which goes: [`split_once`] and [`files::rsplit_at`], one cut for
/// both. Inlined with `last` a constant, over a search out of line
/// that answers in registers.
#[inline(always)]
pub(crate) fn cut_at(text: &str, sep: u8, last: bool) -> Option<(&str, &str)> {
    // Every caller's `sep` is a constant: this test goes at compile time.
    if !sep.is_ascii() {
        return None;
    }
    let i = if last {
        rfind(text.as_bytes(), sep)?
    } else {
        find(text.as_bytes(), sep)?
    };
    Some(cut(text, i, false))
}

/// `text` cut just after its first `sep` (an ASCII byte), which stays
/// with the first part: [`split_once`]'s search, with no char boundary
/// to check at the cut (issue 18, bytes).
#[inline(always)]
pub(crate) fn split_after(text: &str, sep: u8) -> Option<(&str, &str)> {
    // Every caller's `sep` is a constant: this test goes at compile time.
    if !sep.is_ascii() {
        return None;
    }
    let i = find(text.as_bytes(), sep)?;
    Some(cut(text, i, true))
}

/// `text` around the ASCII byte at `i`, which [`find`] or [`rfind`]
/// gave: `..i` and `i + 1..`, or with `keep` the byte ending the first
/// part. The one unchecked cut of the byte searches: the boundaries are
/// known, so no char boundary is tested again (issue 18, bytes).
#[inline(always)]
#[allow(unsafe_code)]
fn cut(text: &str, i: usize, keep: bool) -> (&str, &str) {
    debug_assert!(text.as_bytes().get(i).is_some_and(u8::is_ascii));
    let end = i + usize::from(keep);
    // SAFETY: `i < text.len()` is the place of an ASCII byte (the
    // callers found it there), which is never inside a multi-byte char:
    // `i` and `i + 1` are char boundaries of `text`, and `end` is one of
    // them.
    unsafe { (text.get_unchecked(..end), text.get_unchecked(i + 1..)) }
}

/// `bytes` as the bytes they hold: the one cast from a buffer filled
/// in place (a `recv`, an unpacked text) to what was written there.
///
/// # Safety
/// Every byte of `bytes` has been written.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) unsafe fn written(bytes: &[core::mem::MaybeUninit<u8>]) -> &[u8] {
    // SAFETY: initialised, as the caller promises; `u8` and
    // `MaybeUninit<u8>` have one layout.
    unsafe { &*(bytes as *const [core::mem::MaybeUninit<u8>] as *const [u8]) }
}

/// Where `bytes` first holds `byte`.
#[inline(never)]
fn find(bytes: &[u8], byte: u8) -> Option<usize> {
    bytes.iter().position(|&b| b == byte)
}

/// Where `bytes` last holds `byte`.
#[inline(never)]
fn rfind(bytes: &[u8], byte: u8) -> Option<usize> {
    bytes.iter().rposition(|&b| b == byte)
}

/// `text` without one last `byte` (an ASCII byte) if it ends in one:
/// `text.strip_suffix(char).unwrap_or(text)`, one byte's compare in
/// place of core's char pattern (issue 18, bytes).
#[inline(never)]
pub(crate) fn strip_last(text: &str, byte: u8) -> &str {
    match text.as_bytes() {
        [.., last] if *last == byte => text.get(..text.len() - 1).unwrap_or(text),
        _ => text,
    }
}

/// Whether `bytes` holds `byte`: `bytes.contains(&byte)`, or
/// `text.contains(char)` for an ASCII char, without core's `memchr`
/// (see [`split_once`]). By [`split_once`]'s search: one loop for both
/// (issue 18, bytes).
#[inline(always)]
pub(crate) fn has_byte(bytes: &[u8], byte: u8) -> bool {
    find(bytes, byte).is_some()
}

/// `text.split(sep)` for an ASCII `sep` (see [`split_once`]): every
/// piece, empty ones too, and always one after the last `sep`.
pub(crate) struct Split<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Split<'a> {
    pub(crate) fn new(text: &'a str, sep: u8) -> Split<'a> {
        Split {
            rest: Some(text),
            sep,
        }
    }
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest?;
        let (piece, rest) = match split_once(text, self.sep) {
            Some((piece, rest)) => (piece, Some(rest)),
            None => (text, None),
        };
        self.rest = rest;
        Some(piece)
    }
}

/// `text.lines()` (see [`split_once`]): lines ended by `\n` or `\r\n`;
/// no line after a last `\n`, and a last line's lone `\r` kept.
pub(crate) struct Lines<'a>(pub &'a str);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        match split_once(self.0, b'\n') {
            Some((line, rest)) => {
                self.0 = rest;
                Some(strip_last(line, b'\r'))
            }
            None => Some(core::mem::take(&mut self.0)),
        }
    }
}

/// Cuts the first `out.len()` fields of `text`, separated by `sep` (an
/// ASCII byte), into `out`; returns how many there were (at most
/// `out.len()`), and what follows the last one's separator when there is
/// more. The fields as `split(sep).collect::<Vec<_>>()` would give them,
/// without a `Vec` (issue 18, bytes: one loop instead of core's collect;
/// out of line, or it is inlined at each of its five calls).
#[inline(never)]
pub(crate) fn split_fields<'a>(
    mut text: &'a str,
    sep: u8,
    out: &mut [&'a str],
) -> (usize, Option<&'a str>) {
    for (n, field) in out.iter_mut().enumerate() {
        let Some((first, rest)) = split_once(text, sep) else {
            *field = text;
            return (n + 1, None);
        };
        (*field, text) = (first, rest);
    }
    (out.len(), Some(text))
}

/// `text.trim()`: without the whitespace (Unicode's, as
/// `char::is_whitespace` says: [`utf8::is_space`]) at either end. One
/// forward loop, not core's two-ended `trim_matches` (issue 18: 242 bytes
/// on armv7).
pub(crate) fn trim(text: &str) -> &str {
    // All whitespace leaves `start` past `end`: no slice, "".
    let (mut at, mut start, mut end) = (0, text.len(), 0);
    for c in text.chars() {
        let next = at + c.len_utf8();
        if !crate::utf8::is_space(c) {
            start = start.min(at);
            end = next;
        }
        at = next;
    }
    text.get(start..end).unwrap_or_default()
}

/// The words of a text split at ASCII whitespace, as
/// `split_ascii_whitespace` gives them: one small `next`, not core's
/// filter-over-split (issue 18, bytes).
pub(crate) struct Words<'a>(pub &'a str);

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.0.trim_ascii_start();
        let end = text
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(text.len());
        // Cut at an ASCII byte or the end: a char boundary.
        let (word, rest) = text.split_at_checked(end)?;
        self.0 = rest;
        (!word.is_empty()).then_some(word)
    }
}

/// Runs `pmtr` with its arguments (argv without the program name);
/// returns the exit status.
///
/// Each mode is a function of its own, never inlined here, and so is the
/// supervisor's start-up (`supervisor::run`): the frames that stay on
/// the stack under the loop are small, and what start-up used below them
/// is given back when the loop first sleeps (`rt::trim`). Inlined, this
/// function's frame was 18 KB, every page of it written (stack probes)
/// and kept for good (issue 18, PSS).
pub fn run(args: Vec<String>) -> u8 {
    // Lives until pmtr exits: never dropped, no drop code to run on the
    // way out (issue 18, bytes).
    let args = core::mem::ManuallyDrop::new(args);
    // The mode's word and what follows it, cut once for both modes that
    // take the rest, with no bounds check's panic (issue 18, bytes).
    let (first, rest) = match args.split_first() {
        Some((first, rest)) => (first.as_str(), rest),
        None => ("", &[][..]),
    };
    // The verb found once, here (issue 18, bytes); `metrics` is the
    // wire's word for `status --prometheus`, not a command.
    match control::protocol::Verb::from_word(first) {
        Some(verb) if verb != control::protocol::Verb::Metrics => control::client::main(verb, rest),
        // A helper pmtr starts from its own binary (src/logger.rs).
        _ if *first.as_bytes() == *b"log" => logger::main(rest),
        _ => daemon(&args),
    }
}

/// `pmtr [flags]`: validate with `-t`, or supervise.
#[inline(never)]
fn daemon(args: &[String]) -> u8 {
    // The usage text written at one place, for -h and for a usage error
    // (issue 18, bytes).
    // The options filled in place by `parse` (issue 18, bytes).
    let mut opts = cli::Options::default();
    let (fd, code) = match cli::parse(args, &mut opts) {
        Ok(cli::Command::Run) => {
            if opts.test {
                return config::check(opts.config);
            }
            return supervisor::run(&opts);
        }
        // Written as they are, not through print! (issue 18, bytes).
        Ok(cli::Command::Help) => (rt::print::stdout(), 0),
        Ok(cli::Command::Version) => {
            rt::print::out(concat!("pmtr ", env!("CARGO_PKG_VERSION"), "\n"));
            return 0;
        }
        Err(e) => {
            let (msg, word) = e.message();
            let text = packed::Filled {
                msg,
                args: &[packed::Arg::new(&word)],
            };
            eprintln!("pmtr: {text}");
            (rt::print::stderr(), 2)
        }
    };
    cli::write_usage(fd, cli::Usage::Pmtr);
    code
}

#[cfg(test)]
mod parse_tests {
    use super::{parse_i32, parse_unsigned, strip_ascii};

    const TEXTS: &[&str] = &[
        "",
        "+",
        "-",
        "0",
        "-0",
        "+0",
        "7",
        "+7",
        "-7",
        "+-7",
        "-+7",
        "--7",
        "++7",
        " 7",
        "7 ",
        "07",
        "1e3",
        "0x10",
        "255",
        "256",
        "65535",
        "65536",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "000000000000000000000000000042",
        "18446744073709551620",
        "\u{663}",
        "7\u{663}",
    ];

    /// The byte-wise split_once, Split and Lines against core's.
    #[test]
    fn byte_splits_cut_as_core_does() {
        for text in [
            "",
            ",",
            "a",
            "a,b",
            ",a,",
            "a,,b,",
            "é,ü",
            "x\n",
            "\n",
            "a\r\nb",
            "a\r",
            "a\n\r\n\n",
            "\r\n",
            "k=v=w",
            "é\r\né",
        ] {
            assert_eq!(
                super::split_once(text, b','),
                text.split_once(','),
                "{text:?}"
            );
            assert_eq!(
                super::split_once(text, b'='),
                text.split_once('='),
                "{text:?}"
            );
            assert_eq!(
                super::strip_last(text, b'\r'),
                text.strip_suffix('\r').unwrap_or(text),
                "{text:?}"
            );
            assert_eq!(
                super::split_after(text, b','),
                text.find(',').map(|i| text.split_at(i + 1)),
                "{text:?}"
            );
            // A byte of a multi-byte char is no ASCII `sep`: no cut.
            assert_eq!(super::split_once(text, 0xc3), None, "{text:?}");
            assert_eq!(super::split_after(text, 0xc3), None, "{text:?}");
            assert_eq!(
                super::Split::new(text, b',').collect::<Vec<_>>(),
                text.split(',').collect::<Vec<_>>(),
                "{text:?}"
            );
            assert_eq!(
                super::Lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn trim_cuts_as_str_trim_does() {
        for text in [
            "",
            " ",
            "a",
            " a ",
            "\u{a0}1024\u{3000}",
            "\t\n x y \r",
            "é",
            " \u{85}é \u{2028}",
        ] {
            assert_eq!(super::trim(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn words_split_as_split_ascii_whitespace_does() {
        for text in [
            "",
            " ",
            "a",
            " a ",
            "a b",
            "\ta\n\x0cb\r c  ",
            "é \u{a0}x",
            "a\x0bb",
        ] {
            let want: Vec<&str> = text.split_ascii_whitespace().collect();
            assert_eq!(super::Words(text).collect::<Vec<_>>(), want, "{text:?}");
        }
    }

    #[test]
    fn split_fields_cuts_as_split_does() {
        for text in [
            "",
            "a",
            "a:b",
            "a:b:",
            "a:b:c:d",
            ":::",
            "é:ü:x:y:z",
            "a::b:c:d:e:f",
        ] {
            let all: Vec<&str> = text.split(':').collect();
            let mut out = [""; 4];
            let (n, rest) = super::split_fields(text, b':', &mut out);
            assert_eq!(n, all.len().min(4), "{text:?}");
            assert_eq!(out[..n], all[..n], "{text:?}");
            let more: Option<Vec<&str>> = rest.map(|r| r.split(':').collect());
            assert_eq!(
                more.as_deref(),
                all.get(4..).filter(|m| !m.is_empty()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn parse_unsigned_reads_as_core_parse_does() {
        for text in TEXTS {
            assert_eq!(parse_unsigned::<u8>(text), text.parse().ok(), "{text}");
            assert_eq!(parse_unsigned::<u16>(text), text.parse().ok(), "{text}");
            assert_eq!(parse_unsigned::<u32>(text), text.parse().ok(), "{text}");
            assert_eq!(parse_unsigned::<u64>(text), text.parse().ok(), "{text}");
            assert_eq!(parse_unsigned::<usize>(text), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn parse_i32_reads_as_core_parse_does() {
        for text in TEXTS {
            assert_eq!(parse_i32(text), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn strip_ascii_strips_as_core_does() {
        for text in TEXTS.iter().copied().chain(["", "=", "=x", "é", ":é"]) {
            for b in [b'-', b'+', b'=', b':'] {
                assert_eq!(strip_ascii(text, b), text.strip_prefix(b as char), "{text}");
            }
        }
    }
}
