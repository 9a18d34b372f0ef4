//! Local time for syslog timestamps, without libc's `localtime` (SPEC §7).
//!
//! pmtr is a static musl binary, and its records must carry local time the
//! way the rest of the system's log does. So this reads the zone itself:
//! `TZ` when set (`:PATH`, `:NAME`, a zone name under /usr/share/zoneinfo,
//! or a POSIX rule such as `CET-1CEST,M3.5.0,M10.5.0/3`), otherwise
//! /etc/localtime. Zone files are TZif (RFC 8536) versions 1 to 4; after
//! the last transition in the file the POSIX rule in its footer applies,
//! daylight saving included. Anything unreadable means UTC: a log with UTC
//! times beats no log.
//!
//! The zone is loaded once (at `syslog::init`); `offset_at` then only
//! searches a table, so formatting a record allocates nothing.

use crate::prelude::*;
use core::fmt;

/// Zone files bigger than this are not zone files.
const TZIF_MAX: usize = 256 * 1024;

/// Where zone names are looked up unless `TZDIR` says otherwise.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// A time zone: UTC offsets by time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Zone {
    /// Transition instants (seconds since the epoch, UTC), ascending.
    times: Vec<i64>,
    /// `offsets[i]`: seconds east of UTC from `times[i]` on.
    offsets: Vec<i32>,
    /// The offset before the first transition (or always, without any).
    initial: i32,
    /// The rule after the last transition (the TZif footer, or `TZ`).
    rule: Option<Rule>,
}

/// Why a zone file or TZ string was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TzError {
    /// Not starting with `TZif`.
    NotTzif,
    /// Shorter than its header says.
    Truncated,
    /// A transition names a local time type that does not exist, or
    /// there is no type at all.
    BadType,
    /// A POSIX TZ string that does not parse: [`Rule::parse`]'s, which
    /// only tests and fuzzing call (pmtr's own reads of a rule pass no
    /// error kind along).
    #[cfg(any(test, fuzzing))]
    BadRule,
}

impl fmt::Display for TzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TzError::NotTzif => "not a TZif file",
            TzError::Truncated => "TZif file is truncated",
            TzError::BadType => "TZif file has a bad local time type",
            #[cfg(any(test, fuzzing))]
            TzError::BadRule => "not a POSIX TZ rule",
        })
    }
}

/// What a failed TZif read carries: its kind where tests and fuzzing
/// check it; nothing in pmtr, which only asks whether a read worked
/// ([`Zone::read_file`]): no kind chosen at each failure (issue 18,
/// bytes).
#[cfg(any(test, fuzzing))]
type Failed = TzError;
#[cfg(not(any(test, fuzzing)))]
struct Failed;

/// `kind` as a failed TZif read carries it (see [`Failed`]).
#[inline(always)]
fn failed(kind: TzError) -> Failed {
    #[cfg(any(test, fuzzing))]
    return kind;
    #[cfg(not(any(test, fuzzing)))]
    {
        let _ = kind;
        Failed
    }
}

impl Zone {
    /// Coordinated Universal Time.
    pub const UTC: Zone = Zone {
        times: Vec::new(),
        offsets: Vec::new(),
        initial: 0,
        rule: None,
    };

    /// The zone the environment asks for: `tz` is the value of `TZ`.
    #[cfg(test)]
    pub fn from_env(tz: Option<&str>) -> Zone {
        let mut zone = Zone::UTC;
        zone.set_from_env(tz);
        zone
    }

    /// [`Zone::set_from_env`] with this process's `TZ`: read here, not
    /// at each caller (issue 18, bytes).
    pub fn set_from_tz(&mut self) {
        self.set_from_env(crate::rt::start::var("TZ"));
    }

    /// Makes this the zone the environment asks for (`tz` is the value
    /// of `TZ`), in place: the writer's and a log helper's zone, not one
    /// made and moved there (issue 18, bytes).
    pub fn set_from_env(&mut self, tz: Option<&str>) {
        // UTC for every failure: each step fills this zone only when it
        // succeeds, and no zone is moved out through an Option at each
        // step (issue 18, bytes).
        // Emptied where it is: no UTC zone copied over it and the old
        // one's drop (issue 18, bytes). The same zone as Zone::UTC.
        self.times.clear();
        self.offsets.clear();
        self.initial = 0;
        self.rule = None;
        self.find(tz);
    }

    /// Makes this the zone `TZ` names, if it names one that can be read;
    /// else leaves it as it is.
    fn find(&mut self, tz: Option<&str>) {
        let zoneinfo = crate::rt::start::var("TZDIR").unwrap_or(ZONEINFO);
        let Some(tz) = tz else {
            self.read_file("/etc/localtime");
            return;
        };
        if let Some(name) = crate::strip_ascii(tz, b':') {
            // `:NAME` is implementation-defined; like glibc, a file.
            self.read_named_file(zoneinfo, name);
            return;
        }
        if tz.is_empty() {
            return;
        }
        // A name such as `Europe/Berlin` or `UTC` is a file; only when there
        // is no such file is it a rule (busybox images often have no
        // zoneinfo but set `TZ=CET-1CEST,...`).
        if self.read_named_file(zoneinfo, tz) {
            return;
        }
        let _ = Rule::parse_into(&mut self.rule, tz.as_bytes());
    }

    fn read_named_file(&mut self, zoneinfo: &str, name: &str) -> bool {
        !name.is_empty() && self.read_file(&crate::files::join(zoneinfo, name))
    }

    /// Reads a TZif file into this zone; false (the zone as it was) when
    /// it cannot be read or parsed.
    fn read_file(&mut self, path: &str) -> bool {
        match crate::files::read_file(path, TZIF_MAX) {
            Ok(data) => self.read_tzif(&data).is_ok(),
            Err(_) => false,
        }
    }

    /// Parses TZif data (RFC 8536). For version 2 and later the 64-bit
    /// block and the footer are used, the 32-bit block is skipped.
    ///
    /// The header's counts are 32-bit and untrusted: lengths made of them
    /// are computed in `u64` (where they cannot overflow, while in a 32-bit
    /// `usize` they did) and checked against the data before anything is
    /// read or reserved.
    #[cfg(any(test, fuzzing))]
    pub fn from_tzif(data: &[u8]) -> Result<Zone, TzError> {
        let mut zone = Zone::UTC;
        zone.read_tzif(data)?;
        Ok(zone)
    }

    /// `Zone::from_tzif` into this zone (UTC before), which an error
    /// leaves as it was: read in place, not moved out through a tuple and
    /// Results (issue 18, bytes).
    fn read_tzif(&mut self, data: &[u8]) -> Result<(), Failed> {
        // Both headers read into one, in place: no Result of a header
        // moved out (issue 18, bytes).
        let mut header = Header {
            version: 0,
            isutcnt: 0,
            isstdcnt: 0,
            leapcnt: 0,
            timecnt: 0,
            typecnt: 0,
            charcnt: 0,
        };
        header.read(data, 0)?;
        // Version 1's block, or the second header's: one call of
        // `read_block` for both (issue 18, bytes).
        let (mut start, mut time_size) = (HEADER_LEN, 4);
        if header.version != 0 {
            let second = HEADER_LEN as u64 + header.block_len(4);
            let second = usize::try_from(second).map_err(|_| failed(TzError::Truncated))?;
            header.read(data, second)?;
            (start, time_size) = (second.saturating_add(HEADER_LEN), 8);
        }
        let end = Zone::read_block(self, data, &header, start, time_size)?;
        // The footer (version 2 on): "\n" POSIX-TZ "\n". An empty or
        // unparsable one leaves the last transition's offset in force.
        if time_size == 8
            && let Some(rest) = data.get(end..)
            && let Some(rest) = rest.strip_prefix(b"\n")
            && let Some(nl) = rest.iter().position(|&b| b == b'\n')
        {
            // The zone has no rule yet (UTC before): a bad one leaves none.
            let _ = Rule::parse_into(&mut self.rule, &rest[..nl]);
        }
        Ok(())
    }

    /// Reads the data block at `start` into `zone` (its transitions and
    /// initial offset); returns where the block ends. The whole block must
    /// be there before anything is reserved, so a count is never larger
    /// than the file.
    fn read_block(
        zone: &mut Zone,
        data: &[u8],
        h: &Header,
        start: usize,
        time_size: usize,
    ) -> Result<usize, Failed> {
        let mut rest = data.get(start..).ok_or(failed(TzError::Truncated))?;
        let mut block = take(&mut rest, h.block_len(time_size as u64))?;
        let end = data.len() - rest.len();
        if h.typecnt == 0 {
            return Err(failed(TzError::BadType));
        }
        let raw_times = take(&mut block, u64::from(h.timecnt) * time_size as u64)?;
        let indices = take(&mut block, u64::from(h.timecnt))?;
        let types = take(&mut block, u64::from(h.typecnt) * 6)?;
        // Each type is utoff (4 bytes), isdst, desigidx: a type's offset
        // read where it is, not from a list of them made first (issue
        // 18, bytes). A type past the last is not there.
        // The zone's own lists filled where they are, not lists made here
        // and moved in, with drop code for them at each error (issue 18,
        // bytes). They are empty here (set_from_env empties them; UTC's
        // are), and an error leaves them empty.
        let initial = type_offset(types, 0).ok_or(failed(TzError::BadType))?;
        // Reserved in the empty lists, not new ones put over them: no
        // drop code for the old ones (issue 18, bytes). The exact count
        // whenever it is 4 or more, as the lists have no room yet.
        zone.times.reserve(indices.len());
        zone.offsets.reserve(indices.len());
        for (raw, &ty) in raw_times.chunks_exact(time_size).zip(indices) {
            // Big-endian and signed, of 4 or 8 bytes: one loop for both
            // sizes, the sign carried in from the first byte (for 8 bytes
            // it is shifted out again), not a decoder per size (issue 18,
            // bytes).
            let mut t = -i64::from(raw.first().is_some_and(|&b| b >= 0x80));
            for &b in raw {
                t = t << 8 | i64::from(b);
            }
            let Some(off) = type_offset(types, usize::from(ty)) else {
                zone.times.clear();
                zone.offsets.clear();
                return Err(failed(TzError::BadType));
            };
            zone.times.push(t);
            zone.offsets.push(off);
        }
        zone.initial = initial;
        Ok(end)
    }

    /// The local time at `t` (seconds since the epoch): the date (year,
    /// month, day), the seconds since local midnight and the UTC offset.
    /// One copy for the syslog header and the log file stamp (issue 18,
    /// bytes).
    pub fn local_time(&self, t: i64) -> ((i64, u32, u32), u32, i32) {
        let offset = self.offset_at(t);
        let (days, secs) = div_rem(t + i64::from(offset), 86400);
        (civil_from_days(days), secs, offset)
    }

    /// Seconds east of UTC in force at `t` (seconds since the epoch).
    pub fn offset_at(&self, t: i64) -> i32 {
        // How many transitions are at or before `t`: after the last one
        // (or with none at all) the rule applies, if there is one; before
        // the first, the initial offset (issue 18, bytes: no case of its
        // own for a zone without transitions).
        let n = self.times.partition_point(|&x| x <= t);
        if n == self.times.len()
            && let Some(rule) = &self.rule
        {
            return rule.offset_at(t);
        }
        if n == 0 {
            self.initial
        } else {
            self.offsets[n - 1]
        }
    }
}

/// The size of a TZif header.
const HEADER_LEN: usize = 44;

/// A TZif header's counts, as the file gives them.
struct Header {
    /// 0 for version 1, else the version digit.
    version: u8,
    isutcnt: u32,
    isstdcnt: u32,
    leapcnt: u32,
    timecnt: u32,
    typecnt: u32,
    charcnt: u32,
}

impl Header {
    /// Reads the header at `at` into this one.
    fn read(&mut self, data: &[u8], at: usize) -> Result<(), Failed> {
        let h = data
            .get(at..)
            .and_then(|rest| rest.get(..HEADER_LEN))
            .ok_or(failed(TzError::Truncated))?;
        if &h[..4] != b"TZif" {
            return Err(failed(TzError::NotTzif));
        }
        let count = |i: usize| be_u32(&h[20 + 4 * i..24 + 4 * i]);
        *self = Header {
            version: if h[4] == 0 {
                0
            } else {
                h[4].wrapping_sub(b'0')
            },
            isutcnt: count(0),
            isstdcnt: count(1),
            leapcnt: count(2),
            timecnt: count(3),
            typecnt: count(4),
            charcnt: count(5),
        };
        Ok(())
    }

    /// The length of the data block after this header. Each count is at
    /// most 2^32 - 1 and `time_size` 8, so the sum is below 2^37: no `u64`
    /// overflow, whatever the file says.
    fn block_len(&self, time_size: u64) -> u64 {
        let n = u64::from;
        // timecnt * time_size + typecnt * 6 + leapcnt * (time_size + 4)
        // by one multiplication and shifts: on Thumb-1 each 64-bit one is
        // a helper call (issue 18, bytes).
        (n(self.timecnt) + n(self.leapcnt)) * time_size
            + n(self.timecnt)
            + (n(self.typecnt) + n(self.leapcnt)) * 4
            + n(self.typecnt) * 2
            + n(self.charcnt)
            + n(self.isstdcnt)
            + n(self.isutcnt)
    }
}

/// Splits `len` bytes off the front of `rest`; `Truncated` if there are
/// fewer (or `len` does not even fit a `usize`).
fn take<'a>(rest: &mut &'a [u8], len: u64) -> Result<&'a [u8], Failed> {
    let len = usize::try_from(len).map_err(|_| failed(TzError::Truncated))?;
    let (head, tail) = rest
        .split_at_checked(len)
        .ok_or(failed(TzError::Truncated))?;
    *rest = tail;
    Ok(head)
}

/// The UTC offset of local time type `ty` in a TZif block's `types`
/// (6 bytes each, the offset first); `None` past the last type.
fn type_offset(types: &[u8], ty: usize) -> Option<i32> {
    let at = types.get(ty * 6..ty * 6 + 4)?;
    Some(i32::from_be_bytes(at.try_into().ok()?))
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A POSIX TZ rule: `std offset [dst [offset] [,start[/time],end[/time]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Standard time, seconds east of UTC.
    std: i32,
    dst: Option<Dst>,
}

/// The daylight-saving part of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dst {
    /// Seconds east of UTC while in effect.
    offset: i32,
    start: Day,
    /// Local (standard) time of day the switch happens, in seconds; may be
    /// negative or past 24 h (RFC 8536 §3.3.1).
    start_time: i32,
    end: Day,
    /// Local (daylight) time of day the switch back happens.
    end_time: i32,
}

/// The day of a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: 1..=365, February 29 never counted.
    Julian1(u16),
    /// `n`: 0..=365, February 29 counted in leap years.
    Julian0(u16),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { month: u8, week: u8, weekday: u8 },
}

impl Rule {
    /// Parses a POSIX TZ string (without a leading `:`).
    #[cfg(any(test, fuzzing))]
    pub fn parse(s: &[u8]) -> Result<Rule, TzError> {
        let mut rule = None;
        Rule::parse_into(&mut rule, s);
        rule.ok_or(TzError::BadRule)
    }

    /// `Rule::parse` into `out`, which a bad rule leaves as it was: the
    /// rule made where the zone keeps it, not moved out through a Result
    /// (issue 18, bytes). `None` for a bad rule: every failure is
    /// `TzError::BadRule` (a variant of tests and fuzzing only), so the
    /// parser's steps pass no error kind along, and the one caller that
    /// wants it (`Rule::parse`) makes it (issue 18, bytes).
    fn parse_into(out: &mut Option<Rule>, s: &[u8]) -> Option<()> {
        let mut p = Parser { s, at: 0 };
        p.name()?;
        let std = -p.offset(24)?;
        if p.done() {
            *out = Some(Rule { std, dst: None });
            return Some(());
        }
        p.name()?;
        let offset = if p.peek().is_some_and(|c| c != b',') {
            -p.offset(24)?
        } else {
            std + 3600
        };
        // Without a date rule, POSIX leaves the switch dates to the
        // implementation; the US rules are what glibc and musl use.
        let (start, start_time, end, end_time) = if p.done() {
            (
                Day::Month {
                    month: 3,
                    week: 2,
                    weekday: 0,
                },
                7200,
                Day::Month {
                    month: 11,
                    week: 1,
                    weekday: 0,
                },
                7200,
            )
        } else {
            let (start, start_time) = p.switch()?;
            let (end, end_time) = p.switch()?;
            (start, start_time, end, end_time)
        };
        if !p.done() {
            return None;
        }
        *out = Some(Rule {
            std,
            dst: Some(Dst {
                offset,
                start,
                start_time,
                end,
                end_time,
            }),
        });
        Some(())
    }

    /// Seconds east of UTC at `t`. Out of line: `Zone::offset_at`'s one
    /// call would take it in (issue 18, bytes).
    #[inline(never)]
    pub fn offset_at(&self, t: i64) -> i32 {
        let Some(dst) = &self.dst else {
            return self.std;
        };
        let (year, _, _) = civil_from_days(div_rem(t + i64::from(self.std), 86400).0);
        // Each time of day less its offset in i32 (under 168 hours and
        // under 25 hours as parsed: no overflow), then widened once
        // (issue 18, bytes).
        let start = dst.start.days(year) * 86400 + i64::from(dst.start_time - self.std);
        let end = dst.end.days(year) * 86400 + i64::from(dst.end_time - dst.offset);
        // From `start` to `end`; in the southern hemisphere, where
        // daylight saving spans the new year (`end` not after `start`),
        // outside `end` to `start`: `t` after the start and before the
        // end, both or (spanning) either. Counted, not branched (issue
        // 18, bytes).
        let in_dst = u8::from(start <= t) + u8::from(t < end) + u8::from(end <= start) >= 2;
        if in_dst { dst.offset } else { self.std }
    }
}

impl Day {
    /// Days since the epoch of this day in `year`.
    fn days(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        match self {
            // February 29 never counted: J60 on is counted from March 1,
            // so no leap test at all, neither `is_leap` (whose `% 100` and
            // `% 400` are 64-bit divisions on 32-bit targets) nor a day
            // count of February (issue 18, bytes).
            Day::Julian1(n @ 60..) => days_from_civil(year, 3, 1) + i64::from(n - 60),
            Day::Julian1(n) => jan1 + i64::from(n) - 1,
            Day::Julian0(n) => jan1 + i64::from(n),
            Day::Month {
                month,
                week,
                weekday,
            } => {
                let first = days_from_civil(year, u32::from(month), 1);
                let first_wd = div_rem(first + 4, 7).1; // 1970-01-01 was a Thursday
                let mut day = first
                    + i64::from(
                        (u32::from(weekday) + 7 - first_wd) % 7 + 7 * (u32::from(week) - 1),
                    );
                // Month 13 is January of the next year: the formula counts
                // years from March, so one call for every month (issue 18,
                // bytes).
                let next_month = days_from_civil(year, u32::from(month) + 1, 1);
                while day >= next_month {
                    day -= 7;
                }
                day
            }
        }
    }
}

/// A cursor over a TZ string.
struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    /// The next byte, if any. Inlined into each of its few callers: as
    /// a call, each kept its cursor in saved registers around it (issue
    /// 18, bytes).
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    /// Steps over `c` if it is next. The byte compared where it is and
    /// the step added, no branch and no call of `peek`: a leaf function
    /// with no frame of its own (issue 18, bytes).
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.at) == Some(&c);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        if self.eat(c) { Some(()) } else { None }
    }

    /// A zone abbreviation: letters, or anything but `>` inside `<…>`.
    fn name(&mut self) -> Option<()> {
        let start = self.at;
        if self.eat(b'<') {
            while self.peek().is_some_and(|c| c != b'>') {
                self.at += 1;
            }
            self.expect(b'>')?;
            return if self.at - start > 2 { Some(()) } else { None };
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.at += 1;
        }
        if self.at - start >= 3 { Some(()) } else { None }
    }

    fn number(&mut self, max: u32) -> Option<u32> {
        let start = self.at;
        let mut n: u32 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            n = n.saturating_mul(10).saturating_add(u32::from(c - b'0'));
            self.at += 1;
        }
        if self.at == start || n > max {
            None
        } else {
            Some(n)
        }
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, as written (positive is west for
    /// zone offsets, later for switch times).
    fn offset(&mut self, max_hours: u32) -> Option<i32> {
        let sign = if self.eat(b'-') {
            -1
        } else {
            self.eat(b'+');
            1
        };
        let mut secs = self.number(max_hours)? * 3600;
        if self.eat(b':') {
            secs += self.number(59)? * 60;
            if self.eat(b':') {
                secs += self.number(59)?;
            }
        }
        Some(sign * secs as i32)
    }

    /// `,DAY[/TIME]`: a switch's day and local time of day (2:00 when
    /// not given). One copy for the start and the end (issue 18, bytes).
    #[inline(never)]
    fn switch(&mut self) -> Option<(Day, i32)> {
        self.expect(b',')?;
        let day = self.day()?;
        let time = if self.eat(b'/') {
            self.offset(167)?
        } else {
            7200
        };
        Some((day, time))
    }

    fn day(&mut self) -> Option<Day> {
        if self.eat(b'J') {
            let n = self.number(365)?;
            return if n >= 1 {
                Some(Day::Julian1(n as u16))
            } else {
                None
            };
        }
        if self.eat(b'M') {
            let month = self.number(12)?;
            self.expect(b'.')?;
            let week = self.number(5)?;
            self.expect(b'.')?;
            let weekday = self.number(6)?;
            if month == 0 || week == 0 {
                return None;
            }
            return Some(Day::Month {
                month: month as u8,
                week: week as u8,
                weekday: weekday as u8,
            });
        }
        Some(Day::Julian0(self.number(365)? as u16))
    }
}

/// `a.div_euclid(b)` and `a.rem_euclid(b)` by one division, for `b > 0`:
/// on 32-bit ARM one call of the 64-bit divide helper, which gives both,
/// and no multiplication to get the remainder back (issue 18, bytes).
#[inline(never)]
fn div_rem(a: i64, b: u32) -> (i64, u32) {
    let b64 = i64::from(b);
    let q = a / b64;
    // On 32-bit ARM, above -b and below b from the low words alone, as
    // in `logger::div_rem_u64`: the same value.
    let r = if cfg!(target_arch = "arm") {
        i64::from((a as u32).wrapping_sub((q as u32).wrapping_mul(b)) as i32)
    } else {
        a % b64
    };
    if r < 0 {
        (q - 1, (r + b64) as u32)
    } else {
        (q, r as u32)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    // Within an era every value is small and not negative: u32, no
    // 64-bit division on 32-bit targets (issue 18, bytes).
    let (era, yoe) = div_rem(y, 400);
    // Neri and Schneider's `(979 * mp + 18) / 32` for `(153 * mp + 2) / 5`
    // (the day of the year from March, mp 0..=11) and, below 400,
    // `yoe * 41 / 4096` for `yoe / 100`: a multiplication and a shift,
    // not a division call on 32-bit ARM (issue 18, bytes). Both checked
    // for every value in `division_free_forms`.
    let doy = ((979 * (if month > 2 { month - 3 } else { month + 9 }) + 18) >> 5) + day - 1;
    let doe = yoe * 365 + yoe / 4 - ((yoe * 41) >> 12) + doy;
    era * 146097 + i64::from(doe) - 719468
}

/// The date of a day count since 1970-01-01: (year, month 1..=12, day 1..=31).
///
/// Within the era, C. Neri and L. Schneider's Euclidean affine functions
/// ("Euclidean affine functions and their application to calendar
/// algorithms", 2022): the century, the year of the century and the day
/// of the year each by one division with its remainder, the month and
/// the day from one multiplication, all in u32. Three division calls on
/// 32-bit ARM where Hinnant's formulas made eight (issue 18, bytes);
/// the same dates (`u32_arithmetic_matches_the_i64_one`, every day of an
/// era).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    // The day of the era (from 1 March of its year 0), 0..=146096.
    let (era, doe) = div_rem(z, 146097);
    let n1 = 4 * doe + 3;
    let (century, doc) = (n1 / 146097, n1 % 146097 / 4);
    let n2 = 4 * doc + 3;
    let (yoc, doy) = (n2 / 1461, n2 % 1461 / 4);
    // The month from March (3..=14) in the high half, the day of the
    // month times 2141 in the low one.
    let n3 = 2141 * doy + 197913;
    let (mp, day) = (n3 >> 16, (n3 & 0xFFFF) / 2141 + 1);
    let jan_feb = doy >= 306;
    let month = if jan_feb { mp - 12 } else { mp };
    let year = i64::from(100 * century + yoc) + era * 400 + i64::from(jan_feb);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a TZif file: `version` 0 (v1) or b'2'/b'3'; transitions as
    /// (time, type index); types as UTC offsets.
    fn tzif(version: u8, transitions: &[(i64, u8)], types: &[i32], footer: &str) -> Vec<u8> {
        fn header(out: &mut Vec<u8>, version: u8, timecnt: usize, typecnt: usize) {
            out.extend_from_slice(b"TZif");
            out.push(version);
            out.extend_from_slice(&[0; 15]);
            // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
            for n in [0, 0, 0, timecnt, typecnt, 4] {
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
        }
        fn block(out: &mut Vec<u8>, transitions: &[(i64, u8)], types: &[i32], wide: bool) {
            for &(t, _) in transitions {
                if wide {
                    out.extend_from_slice(&t.to_be_bytes());
                } else {
                    out.extend_from_slice(&(t as i32).to_be_bytes());
                }
            }
            out.extend(transitions.iter().map(|&(_, i)| i));
            for &off in types {
                out.extend_from_slice(&off.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            out.extend_from_slice(b"ABC\0");
        }
        let mut out = Vec::new();
        header(&mut out, version, transitions.len(), types.len());
        block(&mut out, transitions, types, false);
        if version != 0 {
            header(&mut out, version, transitions.len(), types.len());
            block(&mut out, transitions, types, true);
            out.push(b'\n');
            out.extend_from_slice(footer.as_bytes());
            out.push(b'\n');
        }
        out
    }

    fn utc(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
    }

    #[test]
    fn division_free_forms() {
        for mp in 0..12u32 {
            assert_eq!((153 * mp + 2) / 5, (979 * mp + 18) >> 5, "{mp}");
        }
        for yoe in 0..400u32 {
            assert_eq!(yoe / 100, (yoe * 41) >> 12, "{yoe}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 59, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    /// The dates, leap years and switch days as the all-`i64` arithmetic
    /// gave them before the values within an era went to u32 (issue 18):
    /// the same far before and after the epoch.
    #[test]
    fn u32_arithmetic_matches_the_i64_one() {
        fn civil_i64(z: i64) -> (i64, u32, u32) {
            let z = z + 719468;
            let era = z.div_euclid(146097);
            let doe = z - era * 146097;
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
            let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
            (yoe + era * 400 + i64::from(month <= 2), month, day)
        }
        fn days_i64(year: i64, month: u32, day: u32) -> i64 {
            let y = if month <= 2 { year - 1 } else { year };
            let era = y.div_euclid(400);
            let yoe = y - era * 400;
            let m = i64::from(month);
            let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
            era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
        }
        fn leap_i64(year: i64) -> bool {
            year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        }
        fn month_day_i64(year: i64, month: u8, week: u8, weekday: u8) -> i64 {
            let first = days_i64(year, u32::from(month), 1);
            let first_wd = (first + 4).rem_euclid(7);
            let mut day =
                first + (i64::from(weekday) - first_wd).rem_euclid(7) + 7 * (i64::from(week) - 1);
            let next_month = if month == 12 {
                days_i64(year + 1, 1, 1)
            } else {
                days_i64(year, u32::from(month) + 1, 1)
            };
            while day >= next_month {
                day -= 7;
            }
            day
        }
        let far = (-1_000_000_000_000..1_000_000_000_000).step_by(999_999_937);
        for z in (-300_000..300_000).chain(far) {
            assert_eq!(civil_from_days(z), civil_i64(z), "{z}");
        }
        for year in -2_000..3_000 {
            assert_eq!(
                days_from_civil(year, 13, 1),
                days_i64(year + 1, 1, 1),
                "{year}"
            );
            for n in [1, 59, 60, 365] {
                let n0 = i64::from(n) - 1;
                let old = days_i64(year, 1, 1) + n0 + i64::from(leap_i64(year) && n0 >= 59);
                assert_eq!(Day::Julian1(n).days(year), old, "{year} J{n}");
            }
            for month in 1..=12u8 {
                for day in [1, 15, 28, 31] {
                    let (m, d) = (u32::from(month), day);
                    assert_eq!(days_from_civil(year, m, d), days_i64(year, m, d));
                }
                for week in 1..=5 {
                    for weekday in 0..=6 {
                        let rule = Day::Month {
                            month,
                            week,
                            weekday,
                        };
                        assert_eq!(
                            rule.days(year),
                            month_day_i64(year, month, week, weekday),
                            "{year}-{month} w{week} d{weekday}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tzif_v1_picks_offset_of_last_transition() {
        let data = tzif(0, &[(1000, 1), (2000, 0)], &[3600, 7200], "");
        let zone = Zone::from_tzif(&data).unwrap();
        assert_eq!(
            zone.offset_at(999),
            3600,
            "before the first transition: type 0"
        );
        assert_eq!(zone.offset_at(1000), 7200);
        assert_eq!(zone.offset_at(1999), 7200);
        assert_eq!(zone.offset_at(5_000_000_000), 3600);
    }

    #[test]
    fn tzif_v2_uses_64_bit_block_and_footer_after_last_transition() {
        let data = tzif(
            b'2',
            &[(-5_000_000_000, 1)],
            &[0, 3600],
            "CET-1CEST,M3.5.0,M10.5.0/3",
        );
        let zone = Zone::from_tzif(&data).unwrap();
        assert_eq!(zone.offset_at(-6_000_000_000), 0);
        assert_eq!(zone.offset_at(utc(2026, 1, 15, 12, 0)), 3600);
        assert_eq!(zone.offset_at(utc(2026, 7, 15, 12, 0)), 7200);
        // 2026: last Sunday of March is the 29th, 01:00 UTC; last Sunday
        // of October is the 25th, 01:00 UTC.
        assert_eq!(zone.offset_at(utc(2026, 3, 29, 0, 59)), 3600);
        assert_eq!(zone.offset_at(utc(2026, 3, 29, 1, 0)), 7200);
        assert_eq!(zone.offset_at(utc(2026, 10, 25, 0, 59)), 7200);
        assert_eq!(zone.offset_at(utc(2026, 10, 25, 1, 0)), 3600);
    }

    /// Transition times read as signed big-endian numbers of 4 bytes
    /// (v1) and 8 bytes (v2), the sign of each size kept.
    #[test]
    fn tzif_times_keep_their_sign_in_both_sizes() {
        let v1 = [
            i64::from(i32::MIN),
            -1,
            0,
            1,
            0x1234_5678,
            i64::from(i32::MAX),
        ];
        let transitions: Vec<(i64, u8)> = v1.iter().map(|&t| (t, 0)).collect();
        let zone = Zone::from_tzif(&tzif(0, &transitions, &[0], "")).unwrap();
        assert_eq!(zone.times, v1);
        let v2 = [
            i64::MIN,
            -5_000_000_000,
            -1,
            0,
            0x0123_4567_89ab_cdef,
            i64::MAX,
        ];
        let transitions: Vec<(i64, u8)> = v2.iter().map(|&t| (t, 0)).collect();
        let zone = Zone::from_tzif(&tzif(b'2', &transitions, &[0], "")).unwrap();
        assert_eq!(zone.times, v2);
    }

    #[test]
    fn tzif_with_empty_footer_keeps_last_offset() {
        let data = tzif(b'3', &[(0, 1)], &[0, -18000], "");
        let zone = Zone::from_tzif(&data).unwrap();
        assert_eq!(zone.offset_at(4_000_000_000), -18000);
    }

    #[test]
    fn tzif_rejects_garbage_and_truncation() {
        assert_eq!(
            Zone::from_tzif(b"not a zone file at all, really not at all...."),
            Err(TzError::NotTzif)
        );
        let data = tzif(b'2', &[(0, 1)], &[0, 3600], "CET-1");
        assert_eq!(
            Zone::from_tzif(&data[..data.len() / 2]),
            Err(TzError::Truncated)
        );
        let bad_index = tzif(0, &[(0, 7)], &[0], "");
        assert_eq!(Zone::from_tzif(&bad_index), Err(TzError::BadType));
    }

    /// A TZif header with these counts (isutcnt, isstdcnt, leapcnt,
    /// timecnt, typecnt, charcnt), then `pad` zero bytes of "data".
    fn header_only(version: u8, counts: [u32; 6], pad: usize) -> Vec<u8> {
        let mut out = b"TZif".to_vec();
        out.push(version);
        out.extend_from_slice(&[0; 15]);
        for n in counts {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.resize(out.len() + pad, 0);
        out
    }

    /// Issue 13, item 7: the header's counts were multiplied and added in
    /// `usize`, which on the 32-bit builds (armv6/armv7) overflowed: a
    /// panic where overflow checks are on, and where they are off a block
    /// length wrapped to a few bytes, so the reader went on to reserve
    /// 0x33333334 transitions (a capacity-overflow panic). Either way, a
    /// corrupt /etc/localtime aborted pmtr at startup, as PID 1 a boot
    /// loop. Each of these is now just a truncated file, on every target.
    #[test]
    fn tzif_counts_that_overflow_32_bit_lengths_are_truncated() {
        let cases: [(&str, u8, [u32; 6]); 6] = [
            // timecnt * 4 overflows.
            ("timecnt * 4", 0, [0, 0, 0, 0x4000_0000, 1, 0]),
            // 5 * timecnt + 6 is 0x1_0000_000a: wraps to 10 bytes.
            ("timecnt * 5 wraps small", 0, [0, 0, 0, 0x3333_3334, 1, 0]),
            // leapcnt * (4 + 4) overflows.
            ("leapcnt * 8", 0, [0, 0, 0x2000_0000, 0, 1, 0]),
            // typecnt * 6 overflows.
            ("typecnt * 6", 0, [0, 0, 0, 0, 0x3000_0000, 0]),
            // 44 + the v1 block length is 2^32: the second header would
            // be read at offset 0 again.
            ("second header at 2^32", b'2', [0, 0, 0, 0, 0, 0xffff_ffd4]),
            ("every count at its maximum", b'3', [u32::MAX; 6]),
        ];
        for (what, version, counts) in cases {
            let data = header_only(version, counts, 64);
            assert_eq!(Zone::from_tzif(&data), Err(TzError::Truncated), "{what}");
        }
    }

    #[test]
    fn rule_southern_hemisphere_spans_new_year() {
        let rule = Rule::parse(b"AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(rule.offset_at(utc(2026, 1, 10, 0, 0)), 39600);
        assert_eq!(rule.offset_at(utc(2026, 6, 10, 0, 0)), 36000);
        assert_eq!(rule.offset_at(utc(2026, 12, 10, 0, 0)), 39600);
    }

    #[test]
    fn rule_forms() {
        assert_eq!(Rule::parse(b"UTC0").unwrap().offset_at(0), 0);
        assert_eq!(Rule::parse(b"<+0530>-5:30").unwrap().offset_at(0), 19800);
        assert_eq!(
            Rule::parse(b"EST5EDT")
                .unwrap()
                .offset_at(utc(2026, 7, 1, 0, 0)),
            -14400
        );
        // Israel: Friday before the last Sunday of March, "26:00" local.
        let il = Rule::parse(b"IST-2IDT,M3.4.4/26,M10.5.0").unwrap();
        assert_eq!(il.offset_at(utc(2026, 7, 1, 0, 0)), 10800);
        assert_eq!(
            Rule::parse(b"XXX3YYY,J60,300")
                .unwrap()
                .offset_at(utc(2026, 6, 1, 0, 0)),
            -7200
        );
        for bad in [
            &b"UTC"[..],
            b"",
            b"CET-1CEST,M13.1.0,M10.5.0",
            b"CET-1CEST,M3.5.0",
            b"C-1",
        ] {
            assert_eq!(
                Rule::parse(bad),
                Err(TzError::BadRule),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn env_forms() {
        assert_eq!(Zone::from_env(Some("")), Zone::UTC);
        assert_eq!(Zone::from_env(Some("UTC0")).offset_at(0), 0);
        let fixed = Zone::from_env(Some("<+03>-3"));
        assert_eq!(fixed.offset_at(utc(2026, 1, 1, 0, 0)), 10800);
        assert_eq!(Zone::from_env(Some(":/nonexistent/zone")), Zone::UTC);
    }

    #[test]
    fn env_path_reads_tzif_file() {
        let dir = std::env::temp_dir().join(format!("pmtr-tz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Test_Zone");
        std::fs::write(
            &path,
            tzif(b'2', &[(0, 1)], &[0, 3600], "CET-1CEST,M3.5.0,M10.5.0/3"),
        )
        .unwrap();
        let arg = format!(":{}", path.display());
        let zone = Zone::from_env(Some(arg.as_str()));
        assert_eq!(zone.offset_at(utc(2026, 7, 1, 0, 0)), 7200);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The system's own zone files, when tzdata is installed (tests/setup.sh
    /// installs it).
    #[test]
    fn system_zoneinfo_berlin_and_new_york() {
        let file = |path: &str| {
            let mut zone = Zone::UTC;
            assert!(zone.read_file(path), "tzdata installed: {path}");
            zone
        };
        let berlin = file("/usr/share/zoneinfo/Europe/Berlin");
        assert_eq!(berlin.offset_at(utc(2026, 1, 15, 12, 0)), 3600);
        assert_eq!(berlin.offset_at(utc(2026, 7, 15, 12, 0)), 7200);
        assert_eq!(
            berlin.offset_at(utc(2060, 7, 15, 12, 0)),
            7200,
            "after the table: footer rule"
        );
        let ny = file("/usr/share/zoneinfo/America/New_York");
        assert_eq!(ny.offset_at(utc(2026, 1, 15, 12, 0)), -18000);
        assert_eq!(ny.offset_at(utc(2026, 7, 15, 12, 0)), -14400);
    }
}
