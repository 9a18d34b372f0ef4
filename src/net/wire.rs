//! What travels over UDP (SPEC §8), both ways, for pmtr and its companion
//! tools: the report pmtr sends every 10 seconds (built here, parsed by
//! `pmtr-rptserver`), and the control datagram `pmtr-ctl` sends (built
//! here, parsed by pmtr). Sockets are in `net/mod.rs`; this file only
//! turns values into bytes and bytes into values.
//!
//! ```text
//! report pi-kitchen                          first line: `report HOSTNAME`
//! web e 3605 815 /usr/bin/node server.js     NAME e|d SECONDS_RUNNING PID CMD
//! backup d 0 0 /usr/local/bin/backup --daily
//!
//! enable web backup                          a control datagram
//! disable web
//! ```
//!
//! Neither is authenticated (see the README's "UDP report and control").

use crate::prelude::*;
use core::fmt;

/// The largest control datagram accepted (SPEC §7's record size: a
/// control line is logged).
pub const DATAGRAM_MAX: usize = 1024;

/// Reports are split to stay under a typical Ethernet MTU, so that no
/// datagram is fragmented.
pub const REPORT_MAX: usize = 1400;

/// A control datagram's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Enable,
    Disable,
}

/// The verbs' words, in the order of [`Control`] (a list as for
/// `config::nth_word`): one lookup each way, as for the control socket's
/// verbs, not a `match` of strings (issue 18, bytes).
const CONTROLS: &str = "enable\0disable\0";

impl Control {
    pub fn from_word(word: &str) -> Option<Control> {
        match crate::config::word_index(CONTROLS, word)? {
            0 => Some(Control::Enable),
            _ => Some(Control::Disable),
        }
    }
}

impl Control {
    /// `enable` or `disable`: in pmtr's log line as a `&str`, no
    /// `Display` of its own in the binary (issue 18, bytes).
    pub fn word(self) -> &'static str {
        crate::config::nth_word(CONTROLS, self as usize)
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Why a control datagram was dropped. The plain reasons first, in the
/// order of their words in `Display`'s list: a reason's place there is
/// its discriminant, not one picked by a chain of compares (issue 18,
/// bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadDatagram<'a> {
    NotText,
    ControlCharacter,
    Empty,
    NoJobNames,
    UnknownVerb(&'a str),
    Oversized(usize),
}

impl fmt::Display for BadDatagram<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The plain reasons by place in one word list, through one
        // `write_str`, and the text after the count with them (issue 18,
        // bytes).
        let i = match self {
            BadDatagram::Oversized(n) => {
                // The limit written out, not formatted (issue 18, bytes).
                const _: () = assert!(DATAGRAM_MAX == 1024, "the text says 1024");
                crate::packed::show(n, f)?;
                4
            }
            BadDatagram::NotText => 0,
            BadDatagram::ControlCharacter => 1,
            BadDatagram::Empty => 2,
            BadDatagram::UnknownVerb(verb) => {
                // At most 32 characters of it: the rest is the sender's.
                // Where the 33rd character starts: counted as the bytes
                // that start one, not decoded (issue 18, bytes).
                let mut starts = 0;
                let end = verb
                    .bytes()
                    .position(|b| {
                        starts += usize::from(b & 0xC0 != 0x80);
                        starts > 32
                    })
                    .unwrap_or(verb.len());
                let shown = verb.get(..end).unwrap_or(verb);
                return write!(
                    f,
                    "'{}' is not enable or disable",
                    crate::packed::Str(shown)
                );
            }
            BadDatagram::NoJobNames => 3,
        };
        f.write_str(crate::config::nth_word(
            "not UTF-8 text\0contains control characters\0empty\0names no job\0 bytes, more than 1024\0",
            i,
        ))
    }
}

impl crate::packed::Show for BadDatagram<'_> {}

/// Parses `enable NAME...` / `disable NAME...` (whitespace-separated, a
/// trailing newline is fine) into the verb and the text holding the names.
pub fn parse_control(datagram: &[u8]) -> Result<(Control, &str), BadDatagram<'_>> {
    if datagram.len() > DATAGRAM_MAX {
        return Err(BadDatagram::Oversized(datagram.len()));
    }
    let text = crate::utf8::str(datagram).ok_or(BadDatagram::NotText)?;
    // Control characters (Unicode's Cc) other than ASCII whitespace,
    // found as bytes in text that is UTF-8: C0 and DEL are single bytes,
    // C1 (U+0080 to U+009F) is C2 80 to C2 9F. No `Chars` decoding
    // (issue 18, bytes).
    let mut bytes = text.as_bytes().iter();
    while let Some(&b) = bytes.next() {
        let c1 = b == 0xC2 && matches!(bytes.as_slice().first(), Some(0x80..=0x9F));
        if (b < 0x20 && !b.is_ascii_whitespace()) || b == 0x7F || c1 {
            return Err(BadDatagram::ControlCharacter);
        }
    }
    // The verb is the first word and the names what follows it, cut as
    // `Words` cuts (ASCII whitespace, never part of a longer character):
    // its one out-of-line copy, not a cut of its own here (issue 18,
    // bytes).
    let mut words = crate::Words(text);
    let control = match words.next() {
        None => return Err(BadDatagram::Empty),
        Some(verb) => Control::from_word(verb).ok_or(BadDatagram::UnknownVerb(verb))?,
    };
    let names = words.0;
    // The same `Words`, now at the names.
    if words.next().is_none() {
        return Err(BadDatagram::NoJobNames);
    }
    Ok((control, names))
}

/// Why [`control_datagram`] could not build a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadControl<'a> {
    NoJobNames,
    /// Empty, or with whitespace or control characters: pmtr would read
    /// it as other names, or refuse it.
    BadName(&'a str),
    /// The datagram would be this long, over [`DATAGRAM_MAX`].
    TooLong(usize),
}

/// `VERB NAME...\n`, the datagram pmtr's `listen on` takes.
pub fn control_datagram<'a>(
    control: Control,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<String, BadControl<'a>> {
    let mut datagram = control.to_string();
    for name in names {
        if name.is_empty()
            || name
                .chars()
                .any(|c| crate::utf8::is_space(c) || c.is_control())
        {
            return Err(BadControl::BadName(name));
        }
        datagram.push(' ');
        datagram.push_str(name);
    }
    if !crate::has_byte(datagram.as_bytes(), b' ') {
        return Err(BadControl::NoJobNames);
    }
    datagram.push('\n');
    if datagram.len() > DATAGRAM_MAX {
        return Err(BadControl::TooLong(datagram.len()));
    }
    Ok(datagram)
}

/// One job of a report, as pmtr has it: `NAME e|d|f SECONDS_RUNNING PID
/// CMD`.
#[derive(Clone, Copy)]
pub struct ReportLine<'a> {
    pub name: &'a str,
    pub enabled: bool,
    /// Gave up (`give up`, issue 15): `f` instead of `e`/`d`.
    pub failed: bool,
    pub secs_running: u64,
    /// 0 when the job is not running.
    pub pid: u32,
    pub cmd: &'a [Box<str>],
    /// Issue 16: `starting` or `unhealthy` and the seconds in that state,
    /// for a job that runs but is not ready or not healthy. Sent after a
    /// tab at the end of the line, where the original C pmtr-rptserver,
    /// which reads the first three words, does not look.
    pub up: Option<(&'static str, u64)>,
}

/// Calls `send` with each datagram of the report: `report HOSTNAME`, then
/// one line per job. A report too big for [`REPORT_MAX`] is split into
/// several datagrams, each starting with its own `report` line, rather
/// than cut; one line too long on its own has its command cut with `...`.
/// Built in fixed buffers: nothing is allocated.
pub fn build_report<'a>(
    hostname: &str,
    jobs: impl Iterator<Item = ReportLine<'a>>,
    mut send: impl FnMut(&[u8]),
) {
    // The `report` line made where each datagram starts, not in a buffer
    // of its own copied in (issue 18, bytes).
    let mut dgram: heapless::Vec<u8, REPORT_MAX> = heapless::Vec::new();
    let _ = dgram.extend_from_slice(b"report ");
    push_word(dgram.as_mut_view(), hostname, 255);
    let _ = dgram.push(b'\n');
    let header = dgram.len();
    for job in jobs {
        let mut line: heapless::Vec<u8, REPORT_MAX> = heapless::Vec::new();
        format_line(&mut line, &job, REPORT_MAX - header);
        if dgram.len() + line.len() > REPORT_MAX {
            send(&dgram);
            // Back to the `report` line it starts with: not emptied and
            // the line copied in again (issue 18, bytes).
            dgram.truncate(header);
        }
        let _ = dgram.extend_from_slice(&line);
    }
    // Sent even without jobs: the report says the host is alive.
    send(&dgram);
}

/// `NAME e|d|f SECONDS PID CMD\n`, the command cut with `...` if the line
/// would not fit in `max` bytes. Out of line: inlined into the
/// supervisor's `send_report` with the job iterator, it was larger
/// (issue 18, min x86_64 -88; min armv6 +48, so not there).
#[cfg_attr(target_arch = "x86_64", inline(never))]
fn format_line(line: &mut heapless::Vec<u8, REPORT_MAX>, job: &ReportLine<'_>, max: usize) {
    use crate::logger::extend_itoa;
    push_word(line.as_mut_view(), job.name, 100);
    // The numbers through `itoa`, the line as bytes: no `fmt::Write` for
    // a heapless buffer in the binary (issue 18, bytes).
    let state = match (job.failed, job.enabled) {
        (true, _) => b'f',
        (false, true) => b'e',
        (false, false) => b'd',
    };
    let _ = line.extend_from_slice(&[b' ', state, b' ']);
    extend_itoa(line.as_mut_view(), job.secs_running);
    // One byte by the out-of-line `extend_from_slice`, not an inlined
    // `push` (issue 18, bytes).
    let _ = line.extend_from_slice(b" ");
    extend_itoa(line.as_mut_view(), job.pid.into());
    let mut tail: heapless::Vec<u8, 40> = heapless::Vec::new();
    if let Some((word, secs)) = job.up {
        // Three calls, no array of the parts on the stack (issue 18,
        // bytes).
        let _ = tail.extend_from_slice(b"\t");
        let _ = tail.extend_from_slice(word.as_bytes());
        let _ = tail.extend_from_slice(b" ");
        extend_itoa(tail.as_mut_view(), secs);
    }
    // The newline, and the readiness after the command.
    let budget = max.min(REPORT_MAX) - 1 - tail.len();
    // A cut command leaves the loop for the one ending both lines share
    // (issue 18, bytes).
    'args: for arg in job.cmd {
        // The space, then the argument's chars: one loop, not a chain of
        // `once` and `Chars` (issue 18, bytes).
        let (mut chars, mut c) = (arg.chars(), ' ');
        loop {
            // A newline in an argument would start a fake job line.
            let shown = if c.is_control() { '?' } else { c };
            let mut utf8 = [0; 4];
            let bytes = shown.encode_utf8(&mut utf8).as_bytes();
            if line.len() + bytes.len() > budget {
                // Room for the mark: cut in one step, not popped byte by
                // byte (issue 18, bytes).
                line.truncate(budget.saturating_sub(3));
                // Do not leave half a UTF-8 character before the mark.
                while line.last().is_some_and(|&b| b & 0xC0 == 0x80) {
                    line.pop();
                }
                if line.last().is_some_and(|&b| b >= 0xC0) {
                    line.pop();
                }
                let _ = line.extend_from_slice(b"...");
                break 'args;
            }
            let _ = line.extend_from_slice(bytes);
            let Some(next) = chars.next() else {
                break;
            };
            c = next;
        }
    }
    let _ = line.extend_from_slice(&tail);
    let _ = line.extend_from_slice(b"\n");
}

/// Up to `max_chars` of `word`, whitespace and control characters made
/// `_`: a job name cannot hold them (the config language has no way to
/// write them) and a host name should not, but a report must stay
/// parseable whatever it gets.
fn push_word(out: &mut heapless::VecView<u8>, word: &str, max_chars: usize) {
    for c in word.chars().take(max_chars) {
        let c = if crate::utf8::is_space(c) || c.is_control() {
            '_'
        } else {
            c
        };
        let mut utf8 = [0; 4];
        let _ = out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// A report as `pmtr-rptserver` reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    pub host: String,
    /// Each job's name and what the line says of it, in report order.
    pub jobs: Vec<(String, ReportJob)>,
}

/// One job line of a [`Report`], its name aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportJob {
    pub enabled: bool,
    /// `f`: the job gave up (pmtr's `give up`).
    pub failed: bool,
    pub secs_running: u64,
    /// 0 when the job is not running.
    pub pid: u32,
    pub cmd: String,
    /// `starting` or `unhealthy` and the seconds in it (issue 16), from
    /// the end of the line after a tab; `None` for a running job that is
    /// ready, one that is not running, or an older pmtr.
    pub up: Option<(String, u64)>,
}

/// Why a datagram is not a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadReport {
    NotText,
    NoHeader,
    ControlInHost,
    /// This line (1-based) is not `NAME e|d|f SECONDS PID CMD`.
    BadLine(usize),
}

impl fmt::Display for BadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadReport::NotText => f.write_str("not UTF-8 text"),
            BadReport::NoHeader => f.write_str("does not start with 'report HOST'"),
            BadReport::ControlInHost => f.write_str("control characters in the host name"),
            BadReport::BadLine(n) => write!(f, "line {n} is not 'NAME e|d|f SECONDS PID CMD'"),
        }
    }
}

/// Parses `report HOST\nNAME e|d|f SECONDS PID CMD\n...` (empty lines are
/// skipped; a missing command is empty).
pub fn parse_report(datagram: &[u8]) -> Result<Report, BadReport> {
    let text = crate::utf8::str(datagram).ok_or(BadReport::NotText)?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let host = first
        .strip_prefix("report ")
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or(BadReport::NoHeader)?;
    if host.chars().any(char::is_control) {
        return Err(BadReport::ControlInHost);
    }
    let mut jobs = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = BadReport::BadLine(i + 2);
        // The command has its control characters made `?`, so a tab
        // starts the readiness part (issue 16).
        let (line, up) = match line.split_once('\t') {
            Some((line, up)) => {
                let (word, secs) = up.split_once(' ').ok_or(bad)?;
                (
                    line,
                    Some((word.to_string(), crate::parse_unsigned(secs).ok_or(bad)?)),
                )
            }
            None => (line, None),
        };
        if line.chars().any(char::is_control) {
            return Err(bad);
        }
        let mut fields = line.splitn(5, ' ');
        let name = fields.next().filter(|n| !n.is_empty()).ok_or(bad)?;
        let (enabled, failed) = match fields.next() {
            Some("e") => (true, false),
            Some("d") => (false, false),
            Some("f") => (true, true),
            _ => return Err(bad),
        };
        let secs_running = fields.next().and_then(crate::parse_unsigned).ok_or(bad)?;
        let pid = fields.next().and_then(crate::parse_unsigned).ok_or(bad)?;
        let cmd = fields.next().unwrap_or("").to_string();
        jobs.push((
            name.to_string(),
            ReportJob {
                enabled,
                failed,
                secs_running,
                pid,
                cmd,
                up,
            },
        ));
    }
    Ok(Report {
        host: host.to_string(),
        jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_words_both_ways() {
        for (control, word) in [(Control::Enable, "enable"), (Control::Disable, "disable")] {
            assert_eq!(control.word(), word);
            assert_eq!(Control::from_word(word), Some(control));
        }
        for word in ["", "Enable", "enabled", "disable\0", "stop"] {
            assert_eq!(Control::from_word(word), None, "{word}");
        }
    }

    #[test]
    fn control_datagrams_parse() {
        assert_eq!(
            parse_control(b"enable web\n"),
            Ok((Control::Enable, " web\n"))
        );
        let (c, names) = parse_control(b"  disable a\tb  c\r\n").unwrap();
        assert_eq!(c, Control::Disable);
        assert_eq!(
            names.split_ascii_whitespace().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    /// The control characters found as bytes are the ones `char` calls
    /// control (less ASCII whitespace), wherever they stand.
    #[test]
    fn control_characters_as_bytes_are_chars_is_control() {
        let chars = (0..=0x2FFu32)
            .chain([0x2028, 0x200B, 0xFEFF, 0xFFFD, 0x1F600])
            .filter_map(char::from_u32);
        for c in chars {
            let want = c.is_control() && !c.is_ascii_whitespace();
            for text in [
                format!("enable a{c}b"),
                format!("enable a{c}"),
                format!("{c}"),
            ] {
                let got = parse_control(text.as_bytes()) == Err(BadDatagram::ControlCharacter);
                assert_eq!(got, want, "{c:?} in {text:?}");
            }
        }
    }

    #[test]
    fn malformed_datagrams_are_rejected() {
        assert_eq!(parse_control(b""), Err(BadDatagram::Empty));
        assert_eq!(parse_control(b" \n"), Err(BadDatagram::Empty));
        assert_eq!(parse_control(b"enable"), Err(BadDatagram::NoJobNames));
        assert_eq!(parse_control(b"enable \n"), Err(BadDatagram::NoJobNames));
        assert_eq!(
            parse_control(b"start web"),
            Err(BadDatagram::UnknownVerb("start"))
        );
        assert_eq!(
            parse_control(b"ENABLE web"),
            Err(BadDatagram::UnknownVerb("ENABLE"))
        );
        assert_eq!(
            parse_control(b"enable w\x00eb"),
            Err(BadDatagram::ControlCharacter)
        );
        assert_eq!(parse_control(b"enable \xff"), Err(BadDatagram::NotText));
        let big = [b'a'; DATAGRAM_MAX + 1];
        assert_eq!(
            parse_control(&big),
            Err(BadDatagram::Oversized(DATAGRAM_MAX + 1))
        );
        let verb = "é".repeat(40);
        let shown = BadDatagram::UnknownVerb(&verb).to_string();
        assert_eq!(
            shown,
            format!("'{}' is not enable or disable", "é".repeat(32))
        );
    }

    #[test]
    fn control_datagram_round_trips() {
        let d = control_datagram(Control::Disable, ["web", "db"]).unwrap();
        assert_eq!(d, "disable web db\n");
        let (c, names) = parse_control(d.as_bytes()).unwrap();
        assert_eq!(c, Control::Disable);
        assert_eq!(
            names.split_ascii_whitespace().collect::<Vec<_>>(),
            ["web", "db"]
        );
        assert_eq!(
            control_datagram(Control::Enable, []),
            Err(BadControl::NoJobNames)
        );
        for bad in ["", "a b", "a\nb", "x\u{7f}"] {
            assert_eq!(
                control_datagram(Control::Enable, ["ok", bad]),
                Err(BadControl::BadName(bad))
            );
        }
        let long = "n".repeat(DATAGRAM_MAX);
        assert_eq!(
            control_datagram(Control::Enable, [long.as_str()]),
            Err(BadControl::TooLong(DATAGRAM_MAX + 8))
        );
        assert_eq!(Control::from_word("enable"), Some(Control::Enable));
        assert_eq!(Control::from_word("Enable"), None);
    }

    fn report(hostname: &str, jobs: &[ReportLine<'_>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let lines = jobs.iter().copied();
        build_report(hostname, lines, |d| out.push(d.to_vec()));
        out
    }

    #[test]
    fn report_round_trips_through_the_parser() {
        let web: Vec<Box<str>> = vec!["/usr/bin/node".into(), "server.js".into()];
        let backup: Vec<Box<str>> = vec!["/bin/backup".into()];
        let sent = report(
            "pi-1",
            &[
                ReportLine {
                    name: "web",
                    enabled: true,
                    failed: false,
                    secs_running: 12,
                    pid: 345,
                    cmd: &web,
                    up: None,
                },
                ReportLine {
                    name: "backup",
                    enabled: false,
                    failed: false,
                    secs_running: 0,
                    pid: 0,
                    cmd: &backup,
                    up: None,
                },
            ],
        );
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0],
            b"report pi-1\nweb e 12 345 /usr/bin/node server.js\nbackup d 0 0 /bin/backup\n"
        );
        let r = parse_report(&sent[0]).unwrap();
        assert_eq!(r.host, "pi-1");
        assert_eq!(
            r.jobs[0],
            (
                "web".into(),
                ReportJob {
                    enabled: true,
                    failed: false,
                    secs_running: 12,
                    pid: 345,
                    cmd: "/usr/bin/node server.js".into(),
                    up: None,
                }
            )
        );
        assert!(!r.jobs[1].1.enabled);
        // No jobs: still a report, saying the host is alive.
        assert_eq!(report("h", &[]), [b"report h\n".to_vec()]);
        assert_eq!(parse_report(b"report h\n").unwrap().jobs, vec![]);
    }

    #[test]
    fn report_is_split_across_datagrams_not_cut() {
        let cmd: Vec<Box<str>> = vec!["/bin/sleep".into(), "x".repeat(100).into()];
        let names: Vec<String> = (0..40).map(|i| format!("job{i}")).collect();
        let jobs: Vec<ReportLine> = names
            .iter()
            .map(|n| ReportLine {
                name: n,
                enabled: n != "job3",
                failed: n == "job4",
                secs_running: 12,
                pid: 99,
                cmd: &cmd,
                up: None,
            })
            .collect();
        let mut seen = Vec::new();
        for d in report("host 1", &jobs) {
            assert!(d.len() <= REPORT_MAX, "datagram of {} bytes", d.len());
            let r = parse_report(&d).unwrap();
            assert_eq!(r.host, "host_1", "whitespace in the host name made _");
            for (name, job) in r.jobs {
                assert_eq!(job.cmd, cmd.join(" "));
                seen.push((name, job.enabled));
            }
        }
        assert_eq!(seen.len(), 40);
        assert_eq!(seen[0], ("job0".to_string(), true));
        assert_eq!(seen[3], ("job3".to_string(), false));
    }

    #[test]
    fn overlong_command_is_cut_with_mark() {
        let cmd: Vec<Box<str>> = vec!["/bin/echo".into(), "é".repeat(2000).into()];
        let mut line = heapless::Vec::new();
        let job = ReportLine {
            name: "a",
            enabled: true,
            failed: false,
            secs_running: 1,
            pid: 2,
            cmd: &cmd,
            up: None,
        };
        format_line(&mut line, &job, 1000);
        assert!(line.len() <= 1000);
        let text = core::str::from_utf8(&line).unwrap();
        assert!(text.starts_with("a e 1 2 /bin/echo éé"));
        assert!(text.ends_with("...\n"));
        // A newline in an argument cannot forge a job line.
        let cmd: Vec<Box<str>> = vec!["/bin/echo".into(), "x\nevil e 1 1 /bin/sh".into()];
        let sent = report(
            "h",
            &[ReportLine {
                name: "a b",
                enabled: true,
                failed: false,
                secs_running: 1,
                pid: 2,
                cmd: &cmd,
                up: None,
            }],
        );
        let r = parse_report(&sent[0]).unwrap();
        assert_eq!(r.jobs.len(), 1);
        assert_eq!(r.jobs[0].0, "a_b");
        assert_eq!(r.jobs[0].1.cmd, "/bin/echo x?evil e 1 1 /bin/sh");
    }

    #[test]
    fn bad_reports_are_rejected() {
        assert_eq!(parse_report(b"hello"), Err(BadReport::NoHeader));
        assert_eq!(parse_report(b"report \n"), Err(BadReport::NoHeader));
        assert_eq!(
            parse_report(b"report h\nweb x 1 2 /bin/a\n"),
            Err(BadReport::BadLine(2))
        );
        assert_eq!(
            parse_report(b"report h\n\nweb e one 2 /bin/a\n"),
            Err(BadReport::BadLine(3))
        );
        assert_eq!(
            parse_report(b"report h\nweb e 1 2 /bin/\x07\n"),
            Err(BadReport::BadLine(2))
        );
        assert_eq!(parse_report(b"report h\xff\n"), Err(BadReport::NotText));
        assert_eq!(
            BadReport::BadLine(4).to_string(),
            "line 4 is not 'NAME e|d|f SECONDS PID CMD'"
        );
    }

    #[test]
    fn readiness_follows_a_tab_where_the_original_reader_does_not_look() {
        let cmd: Vec<Box<str>> = vec!["/usr/bin/node".into(), "server.js".into()];
        let line = |up| ReportLine {
            name: "web",
            enabled: true,
            failed: false,
            secs_running: 12,
            pid: 345,
            cmd: &cmd,
            up,
        };
        let sent = report("h", &[line(Some(("starting", 3))), line(None)]);
        assert_eq!(
            sent[0],
            b"report h\nweb e 12 345 /usr/bin/node server.js\tstarting 3\nweb e 12 345 /usr/bin/node server.js\n"
        );
        // The original C pmtr-rptserver splits on whitespace and keeps the
        // first three words: name, e|d, seconds. Those are unchanged.
        let text = core::str::from_utf8(&sent[0]).unwrap();
        let words: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .take(3)
            .collect();
        assert_eq!(words, ["web", "e", "12"]);
        let r = parse_report(&sent[0]).unwrap();
        assert_eq!(r.jobs[0].1.up, Some(("starting".into(), 3)));
        assert_eq!(r.jobs[0].1.cmd, "/usr/bin/node server.js");
        assert_eq!(r.jobs[1].1.up, None);
        // A command cut to fit keeps its readiness.
        let long: Vec<Box<str>> = vec!["/bin/echo".into(), "x".repeat(2000).into()];
        let mut out = heapless::Vec::new();
        format_line(
            &mut out,
            &ReportLine {
                cmd: &long,
                up: Some(("unhealthy", 40)),
                ..line(None)
            },
            1000,
        );
        assert!(out.len() <= 1000);
        assert!(out.ends_with(b"...\tunhealthy 40\n"));
        assert_eq!(
            parse_report(b"report h\nweb e 1 2 /bin/a\tstarting\n"),
            Err(BadReport::BadLine(2))
        );
    }
}
