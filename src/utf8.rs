//! UTF-8 checks without core's tables (issue 18, bytes): [`str()`] for
//! `core::str::from_utf8(..).ok()`, [`check`] for where it stops, and
//! [`lossy`] for `String::from_utf8_lossy(..).into_owned()`.
//!
//! core's validator reads a word at a time over ASCII and classifies
//! other bytes by a 256-byte table; with `from_utf8_lossy`'s chunk
//! iterator they made about 1.1 KB of every build. These walk a byte at a
//! time, with the ranges of RFC 3629 (Unicode 15, table 3-7) written out:
//! what pmtr checks is a configuration file, a datagram, a line of a
//! notify message or a record, at most a MiB once per load.
//!
//! The answers are core's, byte for byte: the same valid prefix, the same
//! length of a bad sequence (Unicode's "maximal subpart"), the same
//! U+FFFD for each in [`lossy`]. The unit tests compare them with core's
//! over every sequence of up to two bytes and over many longer ones.
//!
//! [`is_space`] is `char::is_whitespace` without core's 256-byte map of
//! the Unicode property, for the same reason.

use alloc::string::String;

/// Where `bytes` stops being UTF-8: the length of its longest valid
/// prefix, and the length of the bad sequence there (1 to 3), or of the
/// bytes left when they end inside a sequence that was good so far (1 to
/// 3 too), or 0 when all are valid (then the prefix is `bytes.len()`).
/// As core's `Utf8Error::valid_up_to` and `error_len`, the latter `None`
/// where this is the bytes left. Two numbers, not an `Option` in a
/// tuple: returned in two registers on 64-bit, not through memory
/// (issue 18, bytes).
pub fn check(bytes: &[u8]) -> (usize, usize) {
    let mut i = 0;
    while let Some(&first) = bytes.get(i) {
        // The sequence's length (2 from C2, 3 from E0, 4 from F0 to F4),
        // and the range of its next byte: 0x80..=0xbf, but for the second
        // byte after E0, ED, F0 and F4 (no overlong forms, no surrogates,
        // nothing above U+10FFFF). The length by two compares and the
        // range by its four exceptions, not a range and a length for
        // each of seven arms (issue 18, bytes).
        let len = match first {
            0x00..=0x7f => {
                i += 1;
                continue;
            }
            0xc2..=0xf4 => 2 + usize::from(first >= 0xe0) + usize::from(first >= 0xf0),
            _ => return (i, 1),
        };
        let (mut low, mut high) = (0x80, 0xbf);
        match first {
            0xe0 => low = 0xa0,
            0xed => high = 0x9f,
            0xf0 => low = 0x90,
            0xf4 => high = 0x8f,
            _ => {}
        }
        let mut k = 1;
        while k < len {
            let Some(&next) = bytes.get(i + k) else {
                return (i, bytes.len() - i);
            };
            if next < low || next > high {
                return (i, k);
            }
            // The bytes after the second: any continuation byte.
            (low, high) = (0x80, 0xbf);
            k += 1;
        }
        i += len;
    }
    (i, 0)
}

/// `bytes` as text if all of it is UTF-8 (`core::str::from_utf8(bytes).ok()`).
pub fn str(bytes: &[u8]) -> Option<&str> {
    if check(bytes).0 < bytes.len() {
        return None;
    }
    #[allow(unsafe_code)]
    // SAFETY: `check` found all of `bytes` valid UTF-8.
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// The longest valid prefix of `bytes` as text (what a reader keeps of
/// text cut short).
pub fn prefix(bytes: &[u8]) -> &str {
    let n = check(bytes).0;
    #[allow(unsafe_code)]
    // SAFETY: `check` found the first `n` bytes valid UTF-8.
    unsafe {
        core::str::from_utf8_unchecked(bytes.get(..n).unwrap_or_default())
    }
}

/// `bytes` as text with each bad sequence replaced by U+FFFD
/// (`String::from_utf8_lossy(bytes).into_owned()`).
pub fn lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        let (good, bad) = check(bytes);
        #[allow(unsafe_code)]
        // SAFETY: `check` found the first `good` bytes valid UTF-8.
        out.push_str(unsafe {
            core::str::from_utf8_unchecked(bytes.get(..good).unwrap_or_default())
        });
        if good == bytes.len() {
            return out;
        }
        out.push('\u{fffd}');
        // A sequence cut short by the end is one bad sequence.
        bytes = bytes.get(good + bad..).unwrap_or_default();
    }
}

/// Whether `a` and `b` are the same bytes but for the case of ASCII
/// letters: `<[u8]>::eq_ignore_ascii_case`, which on x86_64 compares 16
/// bytes at a time (SSE2) beside its simple loop: 270 bytes of min
/// x86_64 for names of a few bytes. There one byte at a time, the same
/// answers (issue 18, bytes); elsewhere core's simple loop is this one.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Core's: its simple loop (see above).
#[cfg(not(target_arch = "x86_64"))]
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether `c` is whitespace: Unicode's White_Space property, as
/// `char::is_whitespace` says, its 25 characters written out.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `eq_ignore_case` answers as core's `eq_ignore_ascii_case`, on both
    /// sides of its 16-byte chunks and for every pair of bytes.
    #[test]
    fn eq_ignore_case_is_cores() {
        let words: [&[u8]; 9] = [
            b"",
            b"SIG",
            b"sig",
            b"SiGhUp",
            b"Example.COM",
            b"example.com.",
            b"a-very-long-host-name.example.org",
            b"A-VERY-LONG-HOST-NAME.EXAMPLE.ORG",
            "caf\u{e9}".as_bytes(),
        ];
        for a in words {
            for b in words {
                assert_eq!(eq_ignore_case(a, b), a.eq_ignore_ascii_case(b));
            }
        }
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                assert_eq!(eq_ignore_case(&[x], &[y]), [x].eq_ignore_ascii_case(&[y]));
            }
        }
    }

    /// Compares with core for one input.
    fn same(bytes: &[u8]) {
        let core = core::str::from_utf8(bytes);
        let want = match core {
            Ok(_) => (bytes.len(), 0),
            Err(e) => (
                e.valid_up_to(),
                e.error_len().unwrap_or(bytes.len() - e.valid_up_to()),
            ),
        };
        assert_eq!(check(bytes), want, "{bytes:x?}");
        assert_eq!(str(bytes), core.ok(), "{bytes:x?}");
        assert_eq!(
            prefix(bytes),
            core::str::from_utf8(&bytes[..want.0]).unwrap(),
            "{bytes:x?}"
        );
        assert_eq!(lossy(bytes), String::from_utf8_lossy(bytes), "{bytes:x?}");
    }

    #[test]
    fn every_sequence_of_up_to_two_bytes() {
        same(b"");
        for a in 0..=255u8 {
            same(&[a]);
            for b in 0..=255u8 {
                same(&[a, b]);
            }
        }
    }

    /// Every lead byte from C0 up with every second byte, then the
    /// boundary values of the third and fourth, and text around them.
    #[test]
    fn longer_sequences_at_their_boundaries() {
        let edges = [
            0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf4, 0xff,
        ];
        for a in 0xc0..=0xffu8 {
            for b in 0x70..=0xcfu8 {
                for c in edges {
                    same(&[a, b, c]);
                    for d in edges {
                        same(&[a, b, c, d]);
                        same(&[b'x', a, b, c, d, b'y']);
                    }
                }
            }
        }
    }

    #[test]
    fn text_with_bad_bytes() {
        for text in [
            &b"job \xe2\x9c\x93 ready"[..],
            b"caf\xc3\xa9 \xff\xfe end",
            b"cut short \xf0\x9f\x98",
            b"\xed\xa0\x80 surrogate",
            b"\xf4\x90\x80\x80 above U+10FFFF",
            b"\xc0\xaf overlong",
            b"plain ASCII only",
        ] {
            same(text);
        }
    }

    #[test]
    fn is_space_is_char_is_whitespace() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(is_space(c), c.is_whitespace(), "U+{:04X}", u32::from(c));
        }
    }
}
