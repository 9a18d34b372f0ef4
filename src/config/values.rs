//! The values options take, each parsed by one function: durations
//! (`1d`), CPU lists (`0,2-3`, `0x0d`), ulimit resources, `udp://` URLs,
//! and the "did you mean" suggestion for a misspelt word.

use crate::prelude::*;
use core::net::IpAddr;

use super::error::Msg;
use super::model::{Host, Resource, Signal, UdpUrl};
use super::parse::{Text, said, texts};

/// `bounce every` and `kill after` stop at ten years, so that adding them
/// to a clock can never overflow.
pub const MAX_DURATION_SECS: u64 = 3650 * 86_400;

// Lists of words (keywords, signal and resource names, messages) are one
// string each, every word ended by a NUL, rather than an array of `&str`:
// an array holds a pointer and a length per word (8 or 16 bytes, in
// .data.rel.ro) on top of the text, and each list had its own search loop
// (issue 18).

/// The `i`th word of `list` (words each ended by a NUL), or `""` past
/// its end: what every caller wants then, so not an `Option` each
/// unwraps (issue 18, bytes).
#[inline(never)]
pub(crate) fn nth_word(list: &str, i: usize) -> &str {
    let mut rest = list;
    let mut n = 0;
    while let Some(word) = next_word(&mut rest) {
        if n == i {
            return word;
        }
        n += 1;
    }
    ""
}

/// The first word of `list` (as for [`nth_word`]; the last may lack its
/// NUL), `list` then left at the next; None at its end. What
/// `split_terminator('\0')` gave, without its char searcher (issue 18,
/// bytes).
#[inline(never)]
pub(crate) fn next_word<'a>(list: &mut &'a str) -> Option<&'a str> {
    if list.is_empty() {
        return None;
    }
    let (word, rest) = crate::split_once(list, 0).unwrap_or((list, ""));
    *list = rest;
    Some(word)
}

/// Where `word` is in `list` (as for [`nth_word`]). A word with a NUL in
/// it is in no list.
#[inline]
pub(crate) fn word_index(list: &str, word: &str) -> Option<usize> {
    find_word(list, word, false)
}

/// [`word_index`] ignoring ASCII case, for the upper-case lists of
/// signal and RLIMIT_ names: `usr1` finds `USR1` without an upper-case
/// copy of the word (issue 18, bytes).
#[inline]
pub(crate) fn word_index_any_case(list: &str, word: &str) -> Option<usize> {
    find_word(list, word, true)
}

/// Both searches of a list in one loop (issue 18, bytes).
#[inline(never)]
fn find_word(list: &str, word: &str, any_case: bool) -> Option<usize> {
    let mut rest = list;
    let mut n = 0;
    while let Some(w) = next_word(&mut rest) {
        let same = if any_case {
            crate::utf8::eq_ignore_case(w.as_bytes(), word.as_bytes())
        } else {
            w == word
        };
        if same {
            return Some(n);
        }
        n += 1;
    }
    None
}

/// `list` (as for [`nth_word`]) cut before its `n`th word, at compile
/// time: the parts of one list that are lists of their own.
pub(crate) const fn split_words(list: &'static str, n: usize) -> (&'static str, &'static str) {
    let bytes = list.as_bytes();
    let (mut i, mut seen) = (0, 0);
    while seen < n {
        if bytes[i] == 0 {
            seen += 1;
        }
        i += 1;
    }
    list.split_at(i)
}

/// An optional sign, then digits.
pub(super) fn is_integer(text: &str) -> bool {
    // The sign as a byte: a pattern of two chars brought core's char
    // searcher for this one test (issue 18, bytes).
    // After the sign by a slice pattern, as bytes: no `get(1..)` (issue
    // 18, bytes).
    let digits = match text.as_bytes() {
        [b'-' | b'+', digits @ ..] => digits,
        digits => digits,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// One decimal digit or more, and nothing else.
pub(super) fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Digits as a number; `None` when `text` is something else or the
/// number does not fit in 64 bits. Every number of the file is read by
/// this one function (or [`signed`]), then checked against its range:
/// one copy of core's `parse` for every width (issue 18).
pub(super) fn number(text: &str) -> Option<u64> {
    // core's parse would also take a `+`; at least one digit and no
    // other byte, parse_unsigned checks (issue 18, bytes).
    match text.as_bytes() {
        [b'+', ..] => None,
        _ => crate::parse_unsigned(text),
    }
}

/// [`number`] with an optional sign (`+` or `-`), as Rust's `parse`
/// reads a signed number; `None` beyond the range of i64.
pub(super) fn signed(text: &str) -> Option<i64> {
    // The `-` cut by the crate's `strip_ascii` (a byte compare, not a
    // slice pattern and a `get(1..)` here: issue 18, bytes), and a `+`
    // left to parse_unsigned, which takes one (after a `-`, number does
    // not).
    match crate::strip_ascii(text, b'-') {
        Some(digits) => {
            let n = i64::try_from(number(digits)?).ok()?;
            Some(-n)
        }
        None => crate::parse_unsigned(text),
    }
}

/// The resource a `ulimit` flag (`-n`) or name (`RLIMIT_NOFILE`, any case)
/// stands for.
pub(super) fn resource(text: &str) -> Option<Resource> {
    // The dash as a byte, not a char pattern (issue 18, bytes).
    let i = match text.as_bytes() {
        &[b'-', c] => Resource::FLAGS.iter().position(|&f| f == c)?,
        [b'-', ..] => return None,
        _ => word_index_any_case(Resource::RLIMIT_NAMES, text)?,
    };
    Resource::ALL.get(i).copied()
}

/// For an unknown `ulimit` name: `NOFILE` -> `RLIMIT_NOFILE`, typos by
/// edit distance. Unknown flags get the list of flags instead.
pub(super) fn suggest_resource(text: &str) -> Option<&'static str> {
    if text.as_bytes().first() == Some(&b'-') {
        return None;
    }
    // The names are upper case, and `distance` ignores ASCII case: no
    // upper-case copy of `text` (issue 18, bytes).
    let names = Resource::RLIMIT_NAMES;
    let mut rest = names;
    while let Some(n) = next_word(&mut rest) {
        if n.get(7..)
            .is_some_and(|short| crate::utf8::eq_ignore_case(short.as_bytes(), text.as_bytes()))
        {
            return Some(n);
        }
    }
    suggest(text, names)
}

/// `N`, `Ns`, `Nm`, `Nh` or `Nd` in seconds (a plain number is seconds),
/// or why not.
pub fn parse_duration(text: &str) -> Result<u64, Text> {
    // The last byte, not the last char: a unit is ASCII, and the last
    // byte of any other char is no unit either (nor a digit), so the
    // answer is the same without decoding the text.
    let (digits, unit) = match text.as_bytes().last() {
        None => return Err(IS_EMPTY),
        Some(b) if b.is_ascii_digit() => (text, 1),
        Some(b) => {
            let unit = match b {
                b's' => 1,
                b'm' => 60,
                b'h' => 3600,
                b'd' => 86_400,
                _ => return Err(UNKNOWN_UNIT),
            };
            // By the crate's `strip_last`, the unit a byte known to be
            // there: no `get` here, nor `[..i]` and str's slicing panic
            // (issue 18, bytes).
            (crate::strip_last(text, *b), unit)
        }
    };
    if digits.is_empty() {
        return Err(NO_NUMBER);
    }
    if !is_digits(digits) {
        return Err(NOT_WHOLE);
    }
    // All digits: parse_unsigned, not number's test of a '+' again.
    let secs = crate::parse_unsigned::<u64>(digits)
        .and_then(|n| n.checked_mul(unit))
        .ok_or(TOO_LARGE)?;
    if secs > MAX_DURATION_SECS {
        return Err(OVER_3650D);
    }
    Ok(secs)
}

/// The smallest `max` a log file takes: a line is never split over two
/// files, and lines are cut at this length at most (src/logger.rs).
pub const MIN_LOG_SIZE: u64 = 4096;

/// `keep` goes up to this many rotated files.
pub const MAX_KEEP: u32 = 100;

/// `4096`, `64K`, `1M`, `1G` (powers of 1024, any case) in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    // The unit in either case by one `| 0x20` (only `K` and `k` give
    // `k`, and so on), then cut off by `strip_last`, the one cut of
    // the three units (issue 18, bytes).
    let last = *text.as_bytes().last()?;
    let unit: u64 = match last | 0x20 {
        b'k' => 1 << 10,
        b'm' => 1 << 20,
        b'g' => 1 << 30,
        _ => 1,
    };
    let digits = if unit == 1 {
        text
    } else {
        crate::strip_last(text, last)
    };
    let n = number(digits)?;
    // In Thumb-1 a shift: a checked 64-bit multiplication is two calls
    // of `__aeabi_lmul` there (issue 18, bytes: armv6 -32). Thumb-2
    // multiplies in line, x86_64 with one `mul`: the shift was 56 bytes
    // more on armv7, 24 on x86_64.
    if cfg!(all(target_arch = "arm", not(target_feature = "thumb2"))) {
        shifted(n, unit.trailing_zeros())
    } else {
        n.checked_mul(unit)
    }
}

/// `n << shift`, or None when that shifts out a bit: undone to test.
pub(super) fn shifted(n: u64, shift: u32) -> Option<u64> {
    let m = n << shift;
    (m >> shift == n).then_some(m)
}

/// Signal names without `SIG`, by number (the place in the list, as for
/// [`nth_word`]; 0 names none), as Linux numbers them on every target
/// pmtr is built for (ARM, AArch64, x86; the assertion below and the
/// tests hold the list to the kernel's numbers). Real-time signals have
/// no name.
const SIGNALS: &str = "\0HUP\0INT\0QUIT\0ILL\0TRAP\0ABRT\0BUS\0FPE\0KILL\0USR1\0SEGV\0USR2\0\
    PIPE\0ALRM\0TERM\0STKFLT\0CHLD\0CONT\0STOP\0TSTP\0TTIN\0TTOU\0URG\0\
    XCPU\0XFSZ\0VTALRM\0PROF\0WINCH\0IO\0PWR\0SYS\0";

/// How many numbers [`SIGNALS`] names (0, which names none, included).
const SIGNAL_COUNT: u64 = 32;

const _: () = {
    use rustix::process::Signal as S;
    assert!(S::HUP.as_raw() == 1 && S::KILL.as_raw() == 9 && S::USR1.as_raw() == 10);
    assert!(S::TERM.as_raw() == 15 && S::CHILD.as_raw() == 17 && S::STOP.as_raw() == 19);
    assert!(S::WINCH.as_raw() == 28 && S::POWER.as_raw() == 30 && S::SYS.as_raw() == 31);
};

/// A signal by name (`TERM`, `SIGTERM`, any case) or number (1 to 31):
/// what `stop signal`, `reload signal` and `pmtr signal` accept.
pub fn parse_signal(text: &str) -> Option<Signal> {
    let n = if is_digits(text) {
        crate::parse_unsigned::<u64>(text)?
    } else {
        // Any case, without an upper-case copy (issue 18, bytes).
        // The prefix read as bytes: one `str` cut, after it (issue 18,
        // bytes).
        let name = match text.as_bytes().get(..3) {
            Some(sig) if crate::utf8::eq_ignore_case(sig, b"SIG") => text.get(3..).unwrap_or(text),
            _ => text,
        };
        word_index_any_case(SIGNALS, name)? as u64
    };
    if !(1..SIGNAL_COUNT).contains(&n) {
        return None;
    }
    Signal::from_named_raw(n as i32)
}

/// `TERM` for SIGTERM; `?` for a signal without a name.
pub fn signal_name(sig: Signal) -> &'static str {
    // Past the list and 0 (which no `Signal` is) alike: no name.
    // `is_empty`, not a match on `""`: that called `[u8]`'s `eq`
    // (issue 18, bytes).
    let name = nth_word(SIGNALS, sig.as_raw() as usize);
    if name.is_empty() { "?" } else { name }
}

// Why a time, a CPU list or a URL is bad.
texts! { 14;
    IS_EMPTY = "it is empty",
    UNKNOWN_UNIT = "unknown unit",
    NO_NUMBER = "the number is missing",
    NOT_WHOLE = "not a whole number",
    TOO_LARGE = "too large",
    OVER_3650D = "too large (at most 3650d)",
    NO_HEX_DIGITS = "no hex digits after 0x",
    NOT_HEX = "not a hex number",
    BEYOND_1023 = "the mask has bits beyond CPU 1023",
    NOT_A_CPU = "not a CPU number",
    EMPTY_ITEM = "an empty item",
    NO_CPU = "the mask selects no CPU",
    NOT_UDP = "it must start with udp://",
    BAD_IFACE = "bad interface name after '@'",
    NO_BRACKET = "missing ']' after the IPv6 address",
    NO_PORT = "missing :PORT",
    IPV6_BRACKETS = "put an IPv6 address in brackets, like udp://[::1]:9999",
    NO_HOST = "missing host",
    BAD_PORT = "the port must be a number from 1 to 65535",
    BAD_IPV6 = "bad IPv6 address in brackets",
    BAD_IPV4 = "bad IPv4 address",
    BAD_HOST = "bad host name",
}

/// Highest CPU number `cpu` accepts (the kernel's default CONFIG_NR_CPUS
/// range tops out at 1024 CPUs on the boards pmtr is for).
pub const MAX_CPU: u32 = 1023;

/// `0,2-3` or `0x0d` as sorted CPU numbers without duplicates. An error
/// is its message and reason as one number (see `parse::said`) and the
/// part of `text` it names: the caller makes the `ErrorKind`, at one
/// place (issue 18, bytes).
pub fn parse_cpu(text: &str) -> Result<Vec<u32>, (u32, &str)> {
    let bad = |reason| (said(Msg::BadCpu, reason, Text::NONE), text);
    // Words of 32 bits: no 64-bit shifts on 32-bit targets (issue 18,
    // bytes).
    let mut set = [0u32; (MAX_CPU as usize + 1) / 32];
    // By `get_mut`: `n` is at most MAX_CPU, but that is not known here,
    // and an index brought a check that panics (issue 18, bytes).
    let mut add = |n: u32| {
        if let Some(word) = set.get_mut(n as usize / 32) {
            *word |= 1 << (n % 32);
        }
    };
    // The prefix as bytes: one test, not two strip_prefix calls (issue
    // 18, bytes).
    let hex = match text.as_bytes() {
        [b'0', b'x' | b'X', ..] => text.get(2..),
        _ => None,
    };
    if let Some(hex) = hex {
        if hex.is_empty() {
            return Err(bad(NO_HEX_DIGITS));
        }
        // Digit k (from the right) is CPUs 4k to 4k+3: four bits of word
        // k / 8, set at once (issue 18, bytes). One walk checks the
        // digits and sets them: a digit other than 0 past the last word
        // is a CPU beyond 1023, reported once every digit is known to be
        // hex, as when the digits were checked first.
        let mut beyond = false;
        for (k, digit) in hex.bytes().rev().enumerate() {
            let Some(v) = hex_digit(digit) else {
                return Err(bad(NOT_HEX));
            };
            match set.get_mut(k / 8) {
                Some(word) => *word |= v << (k % 8 * 4),
                None => beyond |= v != 0,
            }
        }
        if beyond {
            return Err(bad(BEYOND_1023));
        }
    } else {
        let number = |s| -> Result<u32, (u32, &str)> {
            if !is_digits(s) {
                return Err(bad(NOT_A_CPU));
            }
            match crate::parse_unsigned::<u64>(s) {
                Some(n) if n <= u64::from(MAX_CPU) => Ok(n as u32),
                _ => Err((Msg::CpuTooBig as u32, s)),
            }
        };
        for item in crate::Split::new(text, b',') {
            if item.is_empty() {
                return Err(bad(EMPTY_ITEM));
            }
            // A single CPU is the range from it to it: two reads of a
            // number and one loop of `add` for both (issue 18, bytes).
            let (a, b) = match crate::split_once(item, b'-') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let a = number(a)?;
            let b = match b {
                Some(b) => number(b)?,
                None => a,
            };
            if a > b {
                return Err((Msg::CpuReversed as u32, item));
            }
            let mut n = a;
            loop {
                add(n);
                if n == b {
                    break;
                }
                n += 1;
            }
        }
    }
    // A loop, not filter().collect(): no iterator adapter code for it.
    let mut cpus = Vec::new();
    for n in 0..MAX_CPU + 1 {
        if set[n as usize / 32] & (1 << (n % 32)) != 0 {
            cpus.push(n);
        }
    }
    if cpus.is_empty() {
        // Never pushed to, so never allocated: nothing to free (issue 18,
        // bytes).
        core::mem::forget(cpus);
        return Err(bad(NO_CPU));
    }
    Ok(cpus)
}

/// `udp://HOST:PORT[@IFACE]`; the host is a numeric IPv4 address, an IPv6
/// address in brackets, or a host name, checked for syntax only: it is
/// looked up later, by src/net, never while the file is read. Pushed
/// onto `list`: made there, not returned in a `Result` and moved (issue
/// 18, bytes). An error is its message and reason as one number (see
/// `parse::said`), reported about the URL's word: no `ErrorKind` made
/// here (issue 18, bytes).
pub fn parse_url(text: &str, listen: bool, list: &mut Vec<UdpUrl>) -> Result<(), u32> {
    let bad = |reason| said(Msg::BadUrl, reason, Text::NONE);
    let Some(rest) = text.strip_prefix("udp://") else {
        return Err(bad(NOT_UDP));
    };
    let (host_port, iface) = match crate::files::rsplit_at(rest, b'@') {
        Some((hp, iface)) => (hp, Some(iface)),
        None => (rest, None),
    };
    if let Some(iface) = iface {
        if listen {
            return Err(Msg::ListenIface as u32);
        }
        // IFNAMSIZ is 16 with the NUL.
        // As bytes, not `contains` with a char array: no char searcher
        // for this one test (issue 18, bytes).
        if iface.is_empty()
            || iface.len() > 15
            || iface.bytes().any(|b| matches!(b, b'/' | b':' | b'@'))
        {
            return Err(bad(BAD_IFACE));
        }
    }
    let (host, port, bracketed) = if let Some(inner) = crate::strip_ascii(host_port, b'[') {
        let Some((host, after)) = crate::split_once(inner, b']') else {
            return Err(bad(NO_BRACKET));
        };
        let Some(port) = crate::strip_ascii(after, b':') else {
            return Err(bad(NO_PORT));
        };
        (host, port, true)
    } else {
        let Some((host, port)) = crate::files::rsplit_at(host_port, b':') else {
            return Err(bad(NO_PORT));
        };
        if crate::has_byte(host.as_bytes(), b':') {
            return Err(bad(IPV6_BRACKETS));
        }
        (host, port, false)
    };
    if host.is_empty() {
        return Err(bad(NO_HOST));
    }
    let port = match number(port) {
        Some(p @ 1..=65535) => p as u16,
        _ => return Err(bad(BAD_PORT)),
    };
    // Both through `IpAddr`'s parse, which src/net has anyway: not the
    // v4 and v6 ones inlined here besides (issue 18, bytes). Without
    // brackets there is no ':', so no IPv6 address.
    let ip = parse_ip(host);
    let host = if bracketed {
        match ip {
            Some(ip @ IpAddr::V6(_)) => Host::Ip(ip),
            _ => return Err(bad(BAD_IPV6)),
        }
    } else if let Some(ip) = ip {
        Host::Ip(ip)
    } else if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // `10.0.0.256`, `10.1`: a mistyped address, not a name to look up.
        return Err(bad(BAD_IPV4));
    } else if is_host_name(host) {
        Host::Name(host.to_string())
    } else {
        return Err(bad(BAD_HOST));
    };
    list.push(UdpUrl {
        text: text.to_string(),
        host,
        port,
        iface: iface.map(str::to_string),
    });
    Ok(())
}

/// `text` as `IpAddr`'s `from_str` reads it: IPv4 as four decimal
/// octets (no leading zeros), IPv6 as RFC 4291 text (one `::`, an IPv4
/// address as its last 32 bits), no zone. Written here, not core's
/// parser (about 600 bytes on armv7 for the three address types, issue
/// 18); a test compares the two on many inputs.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let bytes = text.as_bytes();
    if let Some(v4) = parse_v4(bytes) {
        return Some(IpAddr::V4(v4.into()));
    }
    // Groups before the first `::`, then those after it, at the end;
    // each as its two bytes in network order, where the address keeps
    // them: no swap of each of eight groups at the end (issue 18, bytes).
    let mut groups = [[0u8; 2]; 8];
    // Found by the first ':' of each pair: no windows() iterator (issue
    // 18, bytes).
    let gap = (0..bytes.len()).find(|&i| bytes.get(i..i + 2) == Some(b"::"));
    let (n, v4) = parse_groups(bytes.get(..gap.unwrap_or(bytes.len()))?, &mut groups)?;
    match gap {
        // Without `::` all eight groups; with it, at most seven, and an
        // IPv4 part only after it.
        None if n == 8 => {}
        Some(at) if n < 8 && !v4 => {
            let mut tail = [[0u8; 2]; 7];
            let (t, _) = parse_groups(bytes.get(at + 2..)?, tail.get_mut(..7 - n)?)?;
            groups.get_mut(8 - t..)?.copy_from_slice(tail.get(..t)?);
        }
        _ => return None,
    }
    let octets: [u8; 16] = groups.as_flattened().try_into().ok()?;
    Some(IpAddr::V6(octets.into()))
}

/// `bytes` cut at its first `sep`: what is before, and what is after if
/// there was one. One loop for both address families, not a slice
/// `split` per separator (issue 18, bytes).
fn cut(bytes: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match bytes.iter().position(|&b| b == sep) {
        Some(i) => (bytes.get(..i).unwrap_or_default(), bytes.get(i + 1..)),
        None => (bytes, None),
    }
}

/// The value of an ASCII hex digit, either case: as `char::to_digit(16)`
/// without its radix code (issue 18, bytes).
fn hex_digit(b: u8) -> Option<u32> {
    let v = if b.is_ascii_digit() {
        b - b'0'
    } else {
        // Either case by one compare: `| 0x20` makes `A`-`F` `a`-`f`,
        // and no other byte lands there (issue 18, bytes).
        let letter = (b | 0x20).wrapping_sub(b'a');
        if letter >= 6 {
            return None;
        }
        letter + 10
    };
    Some(u32::from(v))
}

/// Four decimal octets, 1 to 3 digits each, no leading zero.
fn parse_v4(bytes: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut rest = Some(bytes);
    for octet in &mut octets {
        let part;
        (part, rest) = cut(rest?, b'.');
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        let mut n = 0u32;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(b - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    rest.is_none().then_some(octets)
}

/// Hex groups separated by `:` into `groups` (none for an empty text),
/// each as its two bytes in network order; the last may be an IPv4
/// address (two groups). How many, and whether that was an IPv4 address.
fn parse_groups(bytes: &[u8], groups: &mut [[u8; 2]]) -> Option<(usize, bool)> {
    let (mut n, mut rest) = (0, (!bytes.is_empty()).then_some(bytes));
    while let Some(text) = rest {
        let part;
        (part, rest) = cut(text, b':');
        if crate::has_byte(part, b'.') {
            // Room for two groups, and nothing after it.
            let [a, b, c, d] = parse_v4(part).filter(|_| rest.is_none())?;
            groups.get_mut(n..n + 2)?.copy_from_slice(&[[a, b], [c, d]]);
            return Some((n + 2, true));
        }
        if part.is_empty() || part.len() > 4 {
            return None;
        }
        let mut g = 0u16;
        for &b in part {
            g = g << 4 | hex_digit(b)? as u16;
        }
        *groups.get_mut(n)? = g.to_be_bytes();
        n += 1;
    }
    Some((n, false))
}

/// Whether `text` may name a job (`name`, `after`): not empty, no
/// whitespace or control characters. One function for both (issue 18).
#[inline(never)]
pub(super) fn is_job_name(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| crate::utf8::is_space(c) || c.is_control())
}

/// Whether `name` is a host name DNS can carry: labels of 1 to 63
/// letters, digits, `-` or `_` (service-style hosts exist), separated by
/// dots, 253 bytes in all, one trailing dot allowed (an absolute name).
pub fn is_host_name(name: &str) -> bool {
    let name = crate::strip_last(name, b'.');
    if name.len() > 253 {
        return false;
    }
    // One pass over the bytes, not a split into labels (less code).
    let mut label = 0;
    for b in name.bytes() {
        if b == b'.' {
            if !(1..=63).contains(&label) {
                return false;
            }
            label = 0;
        } else if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            label += 1;
        } else {
            return false;
        }
    }
    (1..=63).contains(&label)
}

/// Like [`parse_duration`], in milliseconds, and also `Nms`: the times
/// of `ready`, `check` and `watchdog` (issue 16) may be below a second.
pub fn parse_duration_ms(text: &str) -> Result<u64, Text> {
    // The unit as bytes, by a slice pattern: no `&str` pattern's
    // `strip_suffix` (issue 18, bytes).
    let digits = match text.as_bytes() {
        [.., b'm', b's'] => text.get(..text.len() - 2),
        _ => None,
    };
    match digits {
        Some(digits) if is_digits(digits) => match number(digits) {
            Some(ms) if ms <= MAX_DURATION_SECS * 1000 => Ok(ms),
            _ => Err(OVER_3650D),
        },
        _ => parse_duration(text).map(|secs| secs * 1000),
    }
}

/// The candidate closest to `word` by edit distance, if it is close
/// enough to be a typo (1 edit for words up to 3 letters, else 2).
/// The candidates are a list of words as for [`nth_word`].
pub fn suggest(word: &str, candidates: &'static str) -> Option<&'static str> {
    let len = word.chars().count();
    if len > 24 {
        return None;
    }
    let limit = if len <= 3 { 1 } else { 2 };
    // The first of the closest; a loop, not an iterator chain (less code).
    let mut best = None;
    let mut best_d = limit.min(len.max(1) - 1);
    let mut rest = candidates;
    while let Some(c) = next_word(&mut rest) {
        // Lengths alone rule most candidates out, cheaply.
        if c.len().abs_diff(len) > limit {
            continue;
        }
        let d = distance(word, c);
        if d < best_d || (d == best_d && best.is_none()) {
            (best, best_d) = (Some(c), d);
        }
    }
    best
}

/// Optimal string alignment distance: insertions, deletions,
/// substitutions and swaps of two neighbours each cost 1 (`nmae` is one
/// edit from `name`), ignoring ASCII case.
pub(super) fn distance(a: &str, b: &str) -> usize {
    // `a` is walked once, so read as it comes; `b` once a row.
    let b = folded(b);
    // Rows i-2, i-1 and i of the table (cell j: the distance between
    // a[..i] and b[..j]), the recurrence looks no further back; walked
    // with iterators, which need no bounds checks (issue 18).
    // Cut in three, not `chunks_exact_mut`: no division by the row's
    // length (a call on 32-bit ARM; issue 18, bytes).
    let w = b.len() + 1;
    let mut d = vec![0; 3 * w];
    let Some((mut up2, rest)) = d.split_at_mut_checked(w) else {
        return 0; // three rows of b.len() + 1 cells: not reached
    };
    let Some((mut up, mut row)) = rest.split_at_mut_checked(w) else {
        return 0;
    };
    for (j, cell) in up.iter_mut().enumerate() {
        *cell = j;
    }
    let mut last_x = None; // a[i-2]
    for (i, x) in a.chars().map(|c| c.to_ascii_lowercase()).enumerate() {
        let mut cells = row.iter_mut();
        let mut left = i + 1; // row[j-1]
        if let Some(cell) = cells.next() {
            *cell = left;
        }
        // b[j-2] and up2[j-2]
        let (mut last_y, mut corner) = (None, 0);
        for (((cell, &y), above), &u2) in cells.zip(&b).zip(up.windows(2)).zip(up2.iter()) {
            let cost = usize::from(x != y);
            let mut best = (above[1] + 1).min(left + 1).min(above[0] + cost);
            if last_x == Some(y) && last_y == Some(x) {
                best = best.min(corner + 1);
            }
            (*cell, left, last_y, corner) = (best, best, Some(y), u2);
        }
        last_x = Some(x);
        // Row i becomes row i-1, row i-1 row i-2; the oldest is reused.
        (up2, up, row) = (up, row, up2);
    }
    // The last cell of row a.len(); a row is never empty.
    up.last().copied().unwrap_or(0)
}

/// The chars of `s` in ASCII lower case: for [`distance`], case does not
/// count (`CMD` is `cmd`, `nofile` is `NOFILE`).
fn folded(s: &str) -> Vec<char> {
    // The lexer's chars, then lower case in place (issue 18).
    let mut chars = char_vec(s);
    chars.iter_mut().for_each(char::make_ascii_lowercase);
    chars
}

/// The chars of `s`, for the lexer (which looks ahead) and [`distance`].
/// Pushed into room for `s.len()` of them (never fewer bytes than
/// chars), not `collect()`ed: core's collect from `Chars` was 168 bytes
/// on armv7 and 307 on x86_64 (issue 18).
#[inline(never)]
pub(super) fn char_vec(s: &str) -> Vec<char> {
    let mut chars = Vec::with_capacity(s.len());
    for c in s.chars() {
        chars.push(c);
    }
    chars
}

#[cfg(test)]
mod ip_tests {
    use super::parse_ip;
    use core::net::IpAddr;

    fn same(text: &str) {
        assert_eq!(parse_ip(text), text.parse::<IpAddr>().ok(), "{text:?}");
    }

    #[test]
    fn hex_digits_as_to_digit() {
        for b in 0..=255u8 {
            assert_eq!(super::hex_digit(b), char::from(b).to_digit(16), "{b}");
        }
    }

    #[test]
    fn reads_addresses_as_core_does() {
        for text in [
            "",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "0.0.0.0",
            "00.1.2.3",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1..2.3",
            "1.2.3.4:5",
            "1.2.3.4::",
            "1234.1.1.1",
            "::",
            ":::",
            "::1",
            "1::",
            "1::2::3",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1.2.3.4::1",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3.4:1",
            "::1.2.3.04",
            "::1.2.3",
            "ffff::",
            "FFFF::abcd",
            "12345::",
            "0000::00000",
            "1:",
            ":1",
            "1:::2",
            "::2:",
            "fe80::1%2",
            "[::1]",
            "::g",
            "1.2.3.4.",
            "::1.2.3.4.",
            "2001:db8::8a2e:370:7334",
            "1::1.2.3.4",
            "1:1.2.3.4",
            "::0.0.0.0",
            "é",
            "::é",
        ] {
            same(text);
        }
    }

    #[test]
    fn random_texts_read_as_core_reads_them() {
        // xorshift: the same texts every run.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789abcdefABF:.:.:0";
        for _ in 0..400_000 {
            let len = (next() % 24) as usize;
            let text: String = (0..len)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            same(&text);
        }
        // Near-valid ones: groups and octets joined at random.
        for _ in 0..400_000 {
            let mut text = String::new();
            for _ in 0..(next() % 10) {
                match next() % 8 {
                    0 => text.push_str("::"),
                    1 | 2 => text.push(':'),
                    3 => text.push('.'),
                    4 => text.push_str(&format!("{}", next() % 300)),
                    5 => text.push_str(&format!("{:x}", next() % 0x1_ffff)),
                    6 => text.push_str(&format!(
                        "{}.{}.{}.{}",
                        next() % 260,
                        next() % 260,
                        next() % 260,
                        next() % 260
                    )),
                    _ => text.push('0'),
                }
            }
            same(&text);
        }
        // Addresses built as RFC 4291 writes them, some one group off.
        let mut valid = 0;
        for _ in 0..200_000 {
            let groups = (next() % 10) as usize;
            let gap = (next() % 2 == 0).then(|| (next() % (groups as u64 + 1)) as usize);
            let v4 = next() % 3 == 0;
            let mut parts: Vec<String> = (0..groups)
                .map(|_| {
                    format!(
                        "{:x}",
                        next() % [0x10, 0x1000, 0x10000, 0x100000][(next() % 4) as usize]
                    )
                })
                .collect();
            if v4 && groups > 0 {
                parts[groups - 1] = format!(
                    "{}.{}.{}.{}",
                    next() % 256,
                    next() % 256,
                    next() % 300,
                    next() % 256
                );
            }
            let text = match gap {
                Some(at) => format!("{}::{}", parts[..at].join(":"), parts[at..].join(":")),
                None => parts.join(":"),
            };
            valid += usize::from(parse_ip(&text).is_some());
            same(&text);
        }
        assert!(valid > 20_000, "{valid}");
    }
}

#[cfg(test)]
mod number_tests {
    use super::{number, signed};

    /// `number` is core's u64 parse without its `+`; `signed` is core's
    /// i64 parse, but for i64::MIN (a `-` before a number above
    /// i64::MAX).
    #[test]
    fn numbers_read_as_core_reads_them() {
        let texts = [
            "",
            "+",
            "-",
            "0",
            "7",
            "+7",
            "-7",
            "++7",
            "+-7",
            "-+7",
            "--7",
            "007",
            "-0",
            "1 ",
            " 1",
            "1a",
            "a1",
            "x",
            "١",
            "7١",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "-9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "+9223372036854775807",
        ];
        for t in texts {
            let core_u64 = t.parse::<u64>().ok().filter(|_| !t.starts_with('+'));
            assert_eq!(number(t), core_u64, "{t:?}");
            let core_i64 = t.parse::<i64>().ok().filter(|&n| n != i64::MIN);
            assert_eq!(signed(t), core_i64, "{t:?}");
        }
    }
}
