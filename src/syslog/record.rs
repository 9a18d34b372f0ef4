//! One syslog record: `<PRI>Mmm dd hh:mm:ss TAG[PID]: text` formatted into
//! a fixed buffer, text made safe (`#ooo` for control characters and bytes
//! that are not UTF-8), a line over the limit split into marked pieces.

use core::fmt;

use super::tz::Zone;
use super::{FACILITY_DAEMON, RECORD_MAX, SPLIT_MARK, Severity, TAG_MAX};

/// One record being formatted.
pub(super) struct Record {
    pub(super) buf: heapless::Vec<u8, RECORD_MAX>,
    /// Where the text starts.
    pub(super) text_at: usize,
    /// The longest prefix of the text, in (record bytes, input bytes), that
    /// still leaves room for [`SPLIT_MARK`]. The input bytes are those of
    /// the last [`Record::push_escaped`]: a job line's piece is one call
    /// (`split_line`), and pmtr's own text, written by several, does not
    /// ask for them (issue 18, bytes: no count of its own in the record).
    pub(super) mark: (usize, usize),
}

impl Record {
    pub(super) fn new() -> Record {
        Record {
            buf: heapless::Vec::new(),
            text_at: 0,
            mark: (0, 0),
        }
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// `<PRI>`, of a record with its [`Record::header`]: the header's
    /// first four bytes, its two digits between `<` and `>` (issue 18,
    /// bytes: not searched for).
    pub(super) fn pri(&self) -> &[u8] {
        self.buf.get(..4).unwrap_or_default()
    }

    /// `TAG[PID]: text`, of a record with its [`Record::header`]: after
    /// the header's template, which is where `TAG` starts (issue 18,
    /// bytes: no field that says so).
    pub(super) fn tagged(&self) -> &[u8] {
        &self.buf[HEAD.len()..]
    }

    pub(super) fn text(&self) -> &[u8] {
        &self.buf[self.text_at..]
    }

    /// Starts the record, new from [`Record::new`]: `<PRI>Mmm dd
    /// hh:mm:ss TAG[PID]: `. Its buffer empty, as `new` left it: not
    /// emptied again here (issue 18, bytes).
    pub(super) fn header(
        &mut self,
        severity: Severity,
        now: i64,
        zone: &Zone,
        tag: &str,
        pid: u32,
    ) {
        const MONTHS: [[u8; 3]; 12] = [
            *b"Jan", *b"Feb", *b"Mar", *b"Apr", *b"May", *b"Jun", *b"Jul", *b"Aug", *b"Sep",
            *b"Oct", *b"Nov", *b"Dec",
        ];
        debug_assert!(self.buf.is_empty());
        let ((_, month, day), secs, _) = zone.local_time(now);
        // `<PRI>Mmm dd hh:mm:ss `, the day padded with a space, the rest
        // with zeros, filled in as bytes: not through `write!` and core's
        // padding (issue 18, bytes). PRI is daemon (24) plus a severity
        // (3 to 7): two digits.
        // The numbers over a template's zeros by the log file stamp's
        // loop (a day under 10 keeps the template's space before it).
        let pri = u32::from(FACILITY_DAEMON | severity as u8);
        let mut head = HEAD;
        head[4..7].copy_from_slice(&MONTHS[(month as usize).wrapping_sub(1) % 12]);
        crate::logger::fill_digits(
            &mut head,
            &[pri, day, secs / 3600, secs / 60 % 60, secs % 60],
            &[3, 10, 13, 16, 19],
        );
        let _ = self.buf.extend_from_slice(&head);
        // RFC 3164's TAG is ASCII alphanumeric; job names are freer, so
        // anything that would end the tag early (space, `[`, `:`), is not
        // printable or not ASCII (syslog daemons differ on UTF-8 in the
        // header) becomes `_`.
        // Walked as bytes, one `_` per character: a character's later
        // bytes (10xxxxxx) are skipped, its first is not ASCII. No `Chars`
        // decoding (issue 18, bytes).
        let mut chars = 0;
        for &b in tag.as_bytes() {
            if b & 0xC0 == 0x80 {
                continue;
            }
            if chars == TAG_MAX {
                break;
            }
            chars += 1;
            let keep =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@' | b'+');
            let _ = self.buf.push(if keep { b } else { b'_' });
        }
        // By the out-of-line call the header's other texts take, not an
        // inlined `push` (issue 18, bytes).
        let _ = self.buf.extend_from_slice(b"[");
        crate::logger::extend_itoa(self.buf.as_mut_view(), pid.into());
        let _ = self.buf.extend_from_slice(b"]: ");
        self.text_at = self.buf.len();
        self.mark = (self.buf.len(), 0);
    }

    /// Appends pmtr's own message, truncated to `limit` with `...` when
    /// it is longer.
    pub(super) fn format_text(&mut self, args: fmt::Arguments<'_>, limit: usize) {
        // The text did not fit when a write failed: `Escaper` fails only
        // then, and pmtr's values' Display only passes its failure on.
        // Told by the result, not by a flag in the record (issue 18,
        // bytes).
        if fmt::write(&mut Escaper { rec: self, limit }, args).is_err() {
            self.cut_at_mark();
        }
    }

    /// Appends `text` escaped, as far as it fits in `limit` bytes; returns
    /// how many input bytes were taken.
    pub(super) fn push_escaped(&mut self, text: &[u8], limit: usize) -> usize {
        let limit = limit.min(RECORD_MAX);
        let mut i = 0;
        while i < text.len() {
            let (len, escape) = unit(&text[i..]);
            // What goes out for the unit, appended by one call for both
            // kinds (issue 18, bytes).
            let escaped;
            let out = if escape {
                let b = text[i];
                escaped = [b'#', b'0' + (b >> 6), b'0' + (b >> 3 & 7), b'0' + (b & 7)];
                &escaped[..]
            } else {
                &text[i..i + len]
            };
            if self.buf.len() + out.len() > limit {
                break;
            }
            let _ = self.buf.extend_from_slice(out);
            i += len;
            if self.buf.len() + SPLIT_MARK.len() <= limit {
                self.mark = (self.buf.len(), i);
            }
        }
        i
    }

    /// Ends the record at the mark with `...`; returns the input bytes it
    /// holds.
    pub(super) fn cut_at_mark(&mut self) -> usize {
        self.buf.truncate(self.mark.0);
        let _ = self.buf.extend_from_slice(SPLIT_MARK);
        self.mark.1
    }
}

/// What [`Record::header`] fills in: `<PRI>Mmm dd hh:mm:ss `, a record's
/// start before its `TAG`.
const HEAD: [u8; 20] = *b"<00>Mmm  0 00:00:00 ";

/// The length of the character at the start of `b` and whether it must
/// be escaped (a control character or a byte that is not UTF-8).
fn unit(b: &[u8]) -> (usize, bool) {
    let c = b[0];
    if c < 0x20 || c == 0x7f {
        return (1, true);
    }
    if c < 0x80 {
        return (1, false);
    }
    let len = match c {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (1, true),
    };
    match b.get(..len).and_then(crate::utf8::str) {
        // The only control characters past ASCII are C1's, U+0080 to
        // U+009F: C2 80 to C2 9F. Checked as bytes, not decoded.
        Some(s) if !matches!(s.as_bytes(), [0xC2, 0x80..=0x9F]) => (len, false),
        _ => (1, true),
    }
}

/// Formats into a record, escaping, up to a limit.
struct Escaper<'a> {
    rec: &'a mut Record,
    limit: usize,
}

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.rec.push_escaped(s.as_bytes(), self.limit) < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Formats `line` into as many records as it takes and hands each to
/// `emit`: pieces are marked with `...` at a cut (`continued`: the line
/// began in an earlier record; `unfinished`: it goes on in a later one).
/// `rec` holds the header ([`Record::header`]), which every piece
/// repeats: each piece starts again after it, as `header` leaves a
/// record.
pub(super) fn split_line(
    rec: &mut Record,
    line: &[u8],
    continued: bool,
    unfinished: bool,
    limit: usize,
    mut emit: impl FnMut(&Record),
) {
    let text_at = rec.text_at;
    let mut rest = line;
    let mut first = true;
    loop {
        rec.buf.truncate(text_at);
        if continued || !first {
            let _ = rec.buf.extend_from_slice(SPLIT_MARK);
        }
        // The mark after the text's start, `...` or not: set once (issue
        // 18, bytes).
        rec.mark = (rec.buf.len(), 0);
        first = false;
        let taken = rec.push_escaped(rest, limit);
        // A piece of an unfinished line ends at the mark too: when all of
        // `rest` went in with room left for `...`, the mark is at its end
        // and holds all it took (`push_escaped` moved it after each
        // unit), so the cut only adds the `...` (issue 18, bytes: one
        // way to end a piece, not a test of the room and a push of its
        // own).
        let taken = if taken < rest.len() || unfinished {
            rec.cut_at_mark()
        } else {
            taken
        };
        emit(rec);
        rest = &rest[taken..];
        if rest.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::syslog::RECORD_LIMIT;

    /// 2026-11-05 09:07:03 UTC
    const NOV_5: i64 = 1_793_869_623;

    fn own(zone: &Zone, text: &str, limit: usize) -> String {
        let mut rec = Record::new();
        rec.header(Severity::Notice, NOV_5, zone, "pmtr", 42);
        rec.format_text(format_args!("{text}"), limit);
        String::from_utf8(rec.bytes().to_vec()).unwrap()
    }

    fn job(line: &[u8], limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut rec = Record::new();
        rec.header(Severity::Err, NOV_5, &Zone::UTC, "web", 7);
        split_line(&mut rec, line, false, false, limit, |r| {
            out.push(String::from_utf8(r.bytes().to_vec()).unwrap())
        });
        out
    }

    /// The header as `write!` made it before it was filled in as bytes.
    #[test]
    fn header_reads_as_the_format_string_wrote_it() {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let severities = [
            Severity::Err,
            Severity::Warning,
            Severity::Notice,
            Severity::Info,
            Severity::Debug,
        ];
        // Every day of four years (a leap year among them), at a time
        // that moves through the hours, minutes and seconds.
        for (i, day) in (19_000..19_000 + 4 * 366).enumerate() {
            let now = day * 86400 + (i as i64 * 3767) % 86400;
            let severity = severities[i % severities.len()];
            let pid = [1, 42, 4_294_967_295][i % 3];
            let mut rec = Record::new();
            rec.header(severity, now, &Zone::UTC, "web", pid);
            let (_, month, mday) = crate::syslog::tz::civil_from_days(now.div_euclid(86400));
            let secs = now.rem_euclid(86400);
            let want = format!(
                "<{}>{} {:2} {:02}:{:02}:{:02} web[{pid}]: ",
                FACILITY_DAEMON | severity as u8,
                MONTHS[(month as usize - 1) % 12],
                mday,
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            );
            assert_eq!(String::from_utf8_lossy(rec.bytes()), want);
        }
    }

    #[test]
    fn record_has_pri_timestamp_tag_pid() {
        assert_eq!(
            own(&Zone::UTC, "started job web [7]", RECORD_LIMIT),
            "<29>Nov  5 09:07:03 pmtr[42]: started job web [7]"
        );
    }

    #[test]
    fn pri_is_daemon_facility_plus_severity() {
        for (sev, pri) in [
            (Severity::Err, 27),
            (Severity::Warning, 28),
            (Severity::Info, 30),
            (Severity::Debug, 31),
        ] {
            let mut rec = Record::new();
            rec.header(sev, 0, &Zone::UTC, "pmtr", 1);
            assert_eq!(rec.pri(), format!("<{pri}>").as_bytes());
        }
    }

    #[test]
    fn timestamp_is_local_time() {
        let zone = Zone::from_env(Some("<+0530>-5:30"));
        assert!(own(&zone, "x", RECORD_LIMIT).starts_with("<29>Nov  5 14:37:03 pmtr[42]: "));
        let day = Zone::from_env(Some("<-10>10"));
        assert!(own(&day, "x", RECORD_LIMIT).starts_with("<29>Nov  4 23:07:03 "));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            own(&Zone::UTC, "a\nb\tc\x1b[2Jd\x7f", RECORD_LIMIT),
            "<29>Nov  5 09:07:03 pmtr[42]: a#012b#011c#033[2Jd#177"
        );
        let lines = job(b"caf\xc3\xa9 \xff\xc3", RECORD_LIMIT);
        assert_eq!(lines, ["<27>Nov  5 09:07:03 web[7]: caf\u{e9} #377#303"]);
        // C1 controls are control characters too.
        assert_eq!(
            job("x\u{9b}y".as_bytes(), RECORD_LIMIT),
            ["<27>Nov  5 09:07:03 web[7]: x#302#233y"]
        );
    }

    /// `unit` escapes exactly the control characters, checked as bytes.
    #[test]
    fn unit_escapes_what_is_control() {
        for ch in (0..=0x10FFFF).filter_map(char::from_u32) {
            let mut utf8 = [0; 4];
            let bytes = ch.encode_utf8(&mut utf8).as_bytes();
            // An escaped character goes byte by byte.
            let len = if ch.is_control() { 1 } else { bytes.len() };
            assert_eq!(unit(bytes), (len, ch.is_control()), "{ch:?}");
        }
    }

    #[test]
    fn own_message_over_limit_is_truncated_with_mark() {
        let long = "é".repeat(600);
        let rec = own(&Zone::UTC, &long, RECORD_LIMIT);
        assert!(rec.len() <= RECORD_LIMIT, "{}", rec.len());
        assert!(rec.len() >= RECORD_LIMIT - 4, "{}", rec.len());
        assert!(rec.ends_with("é..."));
        let exact = "x".repeat(RECORD_LIMIT - "<29>Nov  5 09:07:03 pmtr[42]: ".len());
        assert_eq!(
            own(&Zone::UTC, &exact, RECORD_LIMIT).len(),
            RECORD_LIMIT,
            "a message that fits is not cut"
        );
        assert!(!own(&Zone::UTC, &exact, RECORD_LIMIT).ends_with("..."));
    }

    #[test]
    fn escapes_are_never_cut() {
        let text = "\n".repeat(400);
        let rec = own(&Zone::UTC, &text, 200);
        assert!(rec.ends_with("#012..."), "{rec}");
        assert!(rec.len() <= 200);
    }

    #[test]
    fn long_job_line_is_split_and_marked() {
        let line: Vec<u8> = (0..2500).map(|i| b'a' + (i % 26) as u8).collect();
        let records = job(&line, 300);
        assert!(records.len() > 1);
        let mut joined = Vec::new();
        for (i, r) in records.iter().enumerate() {
            assert!(r.len() <= 300, "record {i} has {} bytes", r.len());
            let text = r.strip_prefix("<27>Nov  5 09:07:03 web[7]: ").unwrap();
            let text = if i > 0 {
                text.strip_prefix("...").unwrap()
            } else {
                text
            };
            let text = if i + 1 < records.len() {
                text.strip_suffix("...").unwrap()
            } else {
                text
            };
            joined.extend_from_slice(text.as_bytes());
        }
        assert_eq!(joined, line, "nothing lost or repeated");
    }

    /// An unfinished line's pieces cut at the mark are what the room test
    /// and push made before: for every length of text around a limit,
    /// with and without an earlier piece, plain and escaped.
    #[test]
    fn unfinished_pieces_end_as_the_room_test_made_them() {
        let old = |line: &[u8], continued: bool, limit: usize| {
            let mut out = Vec::new();
            let mut rec = Record::new();
            rec.header(Severity::Err, NOV_5, &Zone::UTC, "web", 7);
            let text_at = rec.text_at;
            let mut rest = line;
            let mut first = true;
            loop {
                rec.buf.truncate(text_at);
                rec.mark = (text_at, 0);
                if continued || !first {
                    let _ = rec.buf.extend_from_slice(SPLIT_MARK);
                    rec.mark.0 = rec.buf.len();
                }
                first = false;
                let taken = rec.push_escaped(rest, limit);
                let taken = if taken < rest.len() || rec.buf.len() + SPLIT_MARK.len() > limit {
                    rec.cut_at_mark()
                } else {
                    let _ = rec.buf.extend_from_slice(SPLIT_MARK);
                    taken
                };
                out.push(rec.bytes().to_vec());
                rest = &rest[taken..];
                if rest.is_empty() {
                    return out;
                }
            }
        };
        for unit in [&b"x"[..], b"\n", "é".as_bytes()] {
            for n in 0..140 {
                let line = unit.repeat(n);
                for continued in [false, true] {
                    let mut new = Vec::new();
                    let mut rec = Record::new();
                    rec.header(Severity::Err, NOV_5, &Zone::UTC, "web", 7);
                    split_line(&mut rec, &line, continued, true, 128, |r| {
                        new.push(r.bytes().to_vec())
                    });
                    assert_eq!(new, old(&line, continued, 128), "{n} {continued}");
                }
            }
        }
    }

    #[test]
    fn tag_is_at_most_32_chars_and_safe() {
        let mut rec = Record::new();
        rec.header(Severity::Info, 0, &Zone::UTC, &"n".repeat(40), 1);
        assert_eq!(rec.tagged(), format!("{}[1]: ", "n".repeat(32)).as_bytes());
        let mut rec = Record::new();
        rec.header(Severity::Info, 0, &Zone::UTC, "a b:c[d", 1);
        assert_eq!(rec.tagged(), b"a_b_c_d[1]: ");
        let mut rec = Record::new();
        rec.header(Severity::Info, NOV_5, &Zone::UTC, "café", 1);
        assert_eq!(rec.tagged(), b"caf_[1]: ");
    }

    /// The tag walked as bytes gives what `chars().take(32)` gave: one `_`
    /// per character that is not kept, whatever its length in UTF-8.
    #[test]
    fn tag_as_bytes_reads_as_chars_did() {
        let by_chars = |tag: &str| -> Vec<u8> {
            let mut out: Vec<u8> = tag
                .chars()
                .take(TAG_MAX)
                .map(|c| {
                    let keep =
                        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@' | '+');
                    if keep { c as u8 } else { b'_' }
                })
                .collect();
            out.extend_from_slice(b"[1]: ");
            out
        };
        let long = "é".repeat(40);
        let mixed = "aé€😀".repeat(12);
        for tag in [
            "",
            "web",
            "a b:c[d",
            "café",
            "€uro",
            "😀x",
            "x😀",
            "ÿ",
            "\u{80}\u{7f}\t",
            &long,
            &mixed,
            "-_./@+=,~",
        ] {
            let mut rec = Record::new();
            rec.header(Severity::Info, 0, &Zone::UTC, tag, 1);
            assert_eq!(rec.tagged(), &by_chars(tag)[..], "{tag:?}");
        }
    }
}
