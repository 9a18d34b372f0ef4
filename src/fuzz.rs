//! Entry points for the fuzz targets (`fuzz/fuzz_targets/`): one for each
//! reader of bytes pmtr does not trust (SPEC §10), each taking arbitrary
//! bytes the way pmtr receives them and asserting what the rest of pmtr
//! relies on. A panic is a finding.
//!
//! Compiled only into the fuzz targets (`--cfg fuzzing`) and the unit
//! tests; the three programs never carry it. The tests below replay every
//! file of every fuzz corpus through these functions, so `make test`'s
//! 32-bit run (the unit tests on i686) sees each input the fuzzer kept,
//! and a few mutations of each: length arithmetic that only overflows in a
//! 32-bit `usize` (issue 13, item 7) cannot hide behind a 64-bit fuzzer.

use crate::prelude::*;

/// `parse` target: the bytes of a `pmtr.conf` (`config::parse_bytes`)
/// give a configuration the supervisor can run, or errors that each fit
/// on one log line.
pub fn config(data: &[u8]) {
    match crate::config::parse_bytes("fuzz.conf", data) {
        Ok(cfg) => {
            assert!(cfg.jobs.len() <= 10_000);
            for job in &cfg.jobs {
                assert!(job.cmd.first().is_some_and(|c| c.starts_with('/')));
                assert!(!job.name.is_empty());
                if let Some(cpus) = &job.extra().cpu {
                    assert!(cpus.windows(2).all(|w| w[0] < w[1]));
                }
                // Every `after` name resolved to a job of the file, as the
                // supervisor indexes its table with it (issue 16).
                if let Some(r) = &job.readiness {
                    for a in &r.after {
                        assert_eq!(cfg.jobs[a.index as usize].name, a.name);
                    }
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!(!e.to_string().contains('\n'));
            }
        }
    }
}

/// `dns` target: a reply to pmtr's resolver (`net::resolve`), as it
/// reaches `parse_answers`: at most the 512 bytes of its buffer, of any
/// length (`parse_answers` checks every offset itself).
pub fn dns_reply(data: &[u8]) {
    use crate::net::dns::{parse_answers, skip_name};
    let reply = &data[..data.len().min(512)];
    let mut ips = 0usize;
    parse_answers(reply, |_| ips += 1);
    // An address record is at least 15 bytes (a 1-byte name, the 10-byte
    // record head, 4 bytes of address): no byte is read twice.
    if reply.len() >= 12 {
        assert!(ips * 15 <= reply.len() - 12);
        assert!(ips <= usize::from(u16::from_be_bytes([reply[6], reply[7]])));
    } else {
        assert_eq!(ips, 0);
    }
    for pos in 0..reply.len() {
        if let Some(end) = skip_name(reply, pos) {
            assert!(pos < end && end <= reply.len(), "{pos} -> {end}");
        }
    }
}

/// `tzif` target: a zone file (`/etc/localtime`, or `TZ=:PATH`) read by
/// `syslog::tz`, then used as a record's timestamp uses it; and the same
/// bytes as the POSIX rule of a zone file's footer. Times are those the
/// kernel's clock can hold (0 to 2^33 s, KTIME_SEC_MAX), with room on
/// both sides: pmtr asks a zone only for the clock's time.
pub fn tzif(data: &[u8]) {
    use crate::syslog::tz::{Rule, Zone, civil_from_days};
    const SPAN: i64 = 1 << 35;
    let fixed = [
        -SPAN,
        i64::from(i32::MIN),
        -1,
        0,
        1_767_225_600,
        i64::from(i32::MAX),
        i64::from(i32::MAX) + 1,
        1 << 33,
        SPAN,
    ];
    if let Ok(zone) = Zone::from_tzif(data) {
        // Times the fuzzer chose: the file's 8-byte words (its 64-bit
        // transition times among them), clamped into the span; at each,
        // and on either side of it, a different offset may hold.
        let chosen = data
            .chunks_exact(8)
            .map(|b| i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .take(64)
            .flat_map(|t| [t.saturating_sub(1), t, t.saturating_add(1)]);
        for now in fixed.into_iter().chain(chosen) {
            let now = now.clamp(-SPAN, SPAN);
            // As `Record::header` formats it.
            let local = now + i64::from(zone.offset_at(now));
            let (_, month, day) = civil_from_days(local.div_euclid(86400));
            assert!((1..=12).contains(&month) && (1..=31).contains(&day));
        }
    }
    if let Ok(rule) = Rule::parse(data) {
        for now in fixed {
            // RFC 8536 §3.2: UTC offsets from -24:59:59 to +25:59:59.
            let offset = rule.offset_at(now);
            assert!((-89_999..=93_599).contains(&offset), "{offset}");
        }
    }
}

/// `udp` target: a datagram at a `listen on` socket (`net::parse_control`)
/// is an `enable`/`disable` with job names, or a reason that fits on the
/// one log line it gets.
pub fn udp_control(data: &[u8]) {
    match crate::net::wire::parse_control(data) {
        Ok((control, names)) => {
            assert!(data.len() <= crate::net::wire::DATAGRAM_MAX);
            let mut count = 0;
            for name in names.split_ascii_whitespace() {
                assert!(!name.chars().any(char::is_control), "{name:?}");
                count += 1;
            }
            assert!(count >= 1);
            // The debug line pmtr logs for it.
            let _ = format!("{control} {}", names.trim());
        }
        Err(why) => {
            let line = why.to_string();
            assert!(!line.contains('\n'), "{line:?}");
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}

/// `control` target: bytes from a client of the control socket, framed as
/// `control::Server` frames them (at most `MAX_REQUEST` bytes, up to the
/// first newline, a CR before it dropped), give a request that reads back
/// the same from its own line, or an error that is the one `error\t…`
/// line of the answer. The client's reader of job lines never panics.
pub fn control_request(data: &[u8]) {
    use crate::control::protocol::{JobStatus, MAX_REQUEST, Request, Verb};
    let buf = &data[..data.len().min(MAX_REQUEST)];
    let line = buf
        .iter()
        .position(|&b| b == b'\n')
        .map_or(buf, |end| &buf[..end]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match Request::parse(line) {
        Ok(req) => {
            assert!(matches!(req.verb, Verb::Status | Verb::Metrics) || !req.names.is_empty());
            for name in &req.names {
                assert!(!name.is_empty() && !name.contains(|c: char| c.is_ascii_whitespace()));
            }
            let again = req.line();
            assert_eq!(again.matches('\n').count(), 1);
            let again = again
                .strip_suffix('\n')
                .expect("a request line ends in \\n");
            assert_eq!(Request::parse(again.as_bytes()), Ok(req));
        }
        Err(line) => assert!(
            line.starts_with("error\t") && line.find('\n') == Some(line.len() - 1),
            "{line:?}"
        ),
    }
    if let Ok(text) = core::str::from_utf8(data) {
        for line in text.lines() {
            if let Some(fields) = line.strip_prefix("job\t") {
                let _ = JobStatus::parse_fields(fields);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The files of `fuzz/corpus/TARGET/`, sorted (so a failure repeats).
    fn corpus(target: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// Runs `entry` on `data`; a panic names `what` (the file, and the
    /// mutation if any) instead of leaving only the assertion.
    fn check(entry: fn(&[u8]), data: &[u8], what: &dyn Fn() -> String) {
        if std::panic::catch_unwind(|| entry(data)).is_err() {
            panic!("{} panics: {:?}", what(), data.escape_ascii().to_string());
        }
    }

    /// xorshift64: the same mutations on every run and every target.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// `data` with a few changes of the kinds that find length bugs:
    /// a 32-bit field set to a boundary value, a byte flipped, a byte set
    /// to 0x00/0xff, a piece cut out or doubled.
    fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
        const WORDS: [u32; 8] = [
            0,
            1,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x4000_0000,
            0x3333_3334,
            0xffff_ffd4,
        ];
        let mut out = data.to_vec();
        for _ in 0..1 + rng.below(3) {
            if out.is_empty() {
                out.push(rng.next() as u8);
                continue;
            }
            let at = rng.below(out.len());
            match rng.below(5) {
                0 if out.len() >= 4 => {
                    // Half of them in the first 64 bytes, where headers
                    // and their counts are.
                    let room = out.len() - 3;
                    let near_start = rng.below(2) == 0;
                    let at = rng.below(if near_start { room.min(61) } else { room });
                    let word = WORDS[rng.below(WORDS.len())].to_be_bytes();
                    out[at..at + 4].copy_from_slice(&word);
                }
                1 => out[at] ^= 1 << rng.below(8),
                2 => out[at] = [0x00, 0xff, b'\n', b' '][rng.below(4)],
                3 => {
                    let end = (at + 1 + rng.below(16)).min(out.len());
                    out.drain(at..end);
                }
                _ => {
                    let end = (at + 1 + rng.below(16)).min(out.len());
                    let piece = out[at..end].to_vec();
                    out.splice(at..at, piece);
                }
            }
        }
        out
    }

    /// Every corpus file of `target` through `entry`, then about
    /// `mutations` mutations spread over them (at least one each).
    fn replay(target: &str, entry: fn(&[u8]), mutations: usize, at_least: usize) {
        let files = corpus(target);
        assert!(
            files.len() >= at_least,
            "fuzz/corpus/{target}: {} files, expected at least {at_least}",
            files.len()
        );
        let mutants = (mutations / files.len()).max(1);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for path in &files {
            let data = std::fs::read(path).unwrap();
            check(entry, &data, &|| path.display().to_string());
            for i in 0..mutants {
                let mutant = mutate(&data, &mut rng);
                check(entry, &mutant, &|| {
                    format!("{} (mutation {i})", path.display())
                });
            }
        }
    }

    /// The seeds reach the code past the first checks: a corpus of
    /// inputs rejected at the door would replay without testing much.
    #[test]
    fn seeds_are_what_their_names_say() {
        use crate::control::protocol::Request;
        use crate::syslog::tz::{Rule, Zone};
        let seed = |path: &str| {
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/corpus")
                .join(path);
            std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        };
        for zone in ["Europe_Berlin", "right_UTC", "America_Nuuk", "v1_two_types"] {
            let zone = Zone::from_tzif(&seed(&format!("tzif/{zone}")));
            assert!(zone.is_ok(), "{zone:?}");
        }
        assert!(Rule::parse(&seed("tzif/rule_israel")).is_ok());
        let answers = |name: &str| {
            let mut ips = Vec::new();
            crate::net::dns::parse_answers(&seed(&format!("dns/{name}")), |ip| ips.push(ip));
            ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(answers("a_one"), ["192.0.2.80"]);
        assert_eq!(answers("aaaa_one"), ["2001:db8::80"]);
        assert_eq!(answers("cname_compressed"), ["192.0.2.81"]);
        assert_eq!(answers("truncated_tc"), ["192.0.2.1"]);
        assert_eq!(answers("mixed_types"), ["5.6.7.8"]);
        assert!(crate::net::wire::parse_control(&seed("udp/disable_many")).is_ok());
        assert!(crate::net::wire::parse_control(&seed("udp/utf8_names")).is_ok());
        let status = seed("control/status_names");
        assert!(Request::parse(status.strip_suffix(b"\n").unwrap()).is_ok());
    }

    #[test]
    fn parse_corpus_replays() {
        replay("parse", super::config, 2_500, 2_000);
    }

    #[test]
    fn dns_corpus_replays() {
        replay("dns", super::dns_reply, 5_000, 9);
    }

    #[test]
    fn tzif_corpus_replays() {
        replay("tzif", super::tzif, 20_000, 19);
    }

    #[test]
    fn udp_corpus_replays() {
        replay("udp", super::udp_control, 10_000, 11);
    }

    #[test]
    fn control_corpus_replays() {
        replay("control", super::control_request, 10_000, 12);
    }
}
