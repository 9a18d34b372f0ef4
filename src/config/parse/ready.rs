//! The options of issue 16 — `ready`, `after`, `check`, `watchdog` — and
//! the checks that need the whole file: every `after` names a job, and no
//! `after` lines make a cycle.
//!
//! ```text
//! ready notify | ready fd N | ready when CMD…
//! ready every T            ready timeout T
//! after NAME… [restart]    (repeatable)
//! check every T CMD…       check timeout T      check fails N
//! watchdog T
//! ```
//!
//! Times take `ms` besides `s`, `m`, `h` and `d`.

use super::{Kw, Parser, Text, find_name, put, texts};
use crate::config::error::Msg;
use crate::config::lex::Word;
use crate::config::model::{After, JobSpec, Pos, Readiness, ReadyHow};
use crate::config::values::{distance, is_job_name, parse_duration_ms, signed, word_index};
use crate::prelude::*;

/// The times of [`Parser::timed`]: `ready every`, `ready timeout` (in
/// that order, as in `ready`'s words), `check timeout`, `watchdog`.
const EVERY_MS: u8 = 0;
const TIMEOUT_MS: u8 = 1;
const CHECK_TIMEOUT: u8 = 2;
const WATCHDOG: u8 = 3;

texts! { 6;
    READY_ONE_OF = "'notify', 'fd N', 'when CMD', 'every T' or 'timeout T'",
    READY_EVERY = "ready every",
    READY_TIMEOUT = "ready timeout",
    READY_NOTIFY = "ready notify",
    READY_FD = "ready fd",
    A_DESCRIPTOR = "a descriptor number",
    READY_WHEN = "ready when",
    JOB_NAMES = "the names of the jobs it starts after",
    CHECK_ONE_OF = "'every T CMD', 'timeout T' or 'fails N'",
    CHECK_EVERY = "check every",
    CHECK_TIMEOUT_WORDS = "check timeout",
    CHECK_FAILS = "check fails",
    FAILURES = "a number of failures",
    FAILS_NUMBER = "a whole number from 1 to 1000",
    A_TIME = "a time like 500ms, 30s or 5m",
    A_PROGRAM = "the absolute path of a program, then its arguments",
    MORE_THAN_0 = "it must be more than 0",
    // The rules of finish_readiness, in this order.
    NOT_ONCE = "does not apply to a 'once' job: it is ready when it exits with status 0",
    NEEDS_WHEN = "needs 'ready when CMD': it is how often CMD runs",
    NEEDS_NOTIFY = "needs 'ready notify': the job sends WATCHDOG=1 on its notify socket",
    NEEDS_CHECK = "needs 'check every T CMD'",
}

// `ready`'s option by place: READY_TIMEOUT right after READY_EVERY.
const _: () = assert!(READY_TIMEOUT.0 == READY_EVERY.0 + 1);

/// Longest cycle named in full; a longer one ends in `…`.
const CYCLE_NAMES: usize = 8;

impl Parser<'_> {
    fn readiness(&mut self) -> &mut Readiness {
        self.spec().readiness.get_or_insert_with(Default::default)
    }

    /// Out of line on ARM only: see [`Parser::global`].
    #[cfg_attr(target_arch = "arm", inline(never))]
    pub(super) fn readiness_option(&mut self, kw: Kw, pos: Pos, args: &[Word]) {
        match kw {
            Kw::Ready => self.ready(pos, args),
            Kw::After => self.after(pos, args),
            Kw::Check => self.check(pos, args),
            _ => self.timed(Text::kw(Kw::Watchdog), pos, args, WATCHDOG),
        }
    }

    /// The one time of `option`, in milliseconds, stored in the
    /// readiness time `slot`: one body for the four options that are
    /// only a time (issue 18, bytes).
    fn timed(&mut self, option: Text, pos: Pos, args: &[Word], slot: u8) {
        let Some(ms) = self.time_ms(option, pos, args) else {
            return;
        };
        let r = self.readiness();
        let slot = match slot {
            EVERY_MS => &mut r.every_ms,
            TIMEOUT_MS => &mut r.timeout_ms,
            CHECK_TIMEOUT => &mut r.check_timeout_ms,
            _ => &mut r.watchdog_ms,
        };
        *slot = Some(ms);
    }

    /// The sub-keyword after `ready` or `check`, as its place in `words`
    /// (a list as for `values::nth_word`: matched once, then the callers
    /// match on the number, not on strings again), or an error naming
    /// the ones it may be.
    fn sub<'w>(
        &mut self,
        option: Text,
        pos: Pos,
        args: &'w [Word],
        words: &'static str,
        one_of: Text,
    ) -> Option<(usize, &'w [Word])> {
        if let [first, rest @ ..] = args
            && !first.quoted
            && let Some(i) = word_index(words, &first.text)
        {
            return Some((i, rest));
        }
        self.report(Msg::ExpectedOneOf, pos, args.first(), option, one_of);
        None
    }

    fn ready(&mut self, pos: Pos, args: &[Word]) {
        const WORDS: &str = "notify\0fd\0when\0every\0timeout\0";
        // Places in WORDS.
        const NOTIFY: usize = 0;
        const FD: usize = 1;
        const EVERY: usize = 3;
        let ready = Text::kw(Kw::Ready);
        let Some((word, rest)) = self.sub(ready, pos, args, WORDS, READY_ONE_OF) else {
            return;
        };
        match word {
            EVERY.. => {
                // By place in WORDS: READY_EVERY or READY_TIMEOUT, as
                // `check` picks its option (issue 18, bytes).
                let option = Text(READY_EVERY.0 + (word - EVERY) as u16);
                if self.first_time(option, pos) {
                    // EVERY_MS or TIMEOUT_MS, as `every` and `timeout`.
                    self.timed(option, pos, rest, (word - EVERY) as u8);
                }
            }
            _ => {
                // One way of telling readiness per job.
                if !self.first_time(Text::kw(Kw::Ready), pos) {
                    return;
                }
                let how = match word {
                    NOTIFY => {
                        if let Some(extra) = rest.first() {
                            self.fail(extra.pos, Msg::NoArgs, READY_NOTIFY, Text::NONE);
                            return;
                        }
                        ReadyHow::Notify
                    }
                    FD => {
                        let Some(arg) = self.one(READY_FD, pos, rest, A_DESCRIPTOR, Text::NONE)
                        else {
                            return;
                        };
                        // A `+` as Rust's `parse` takes it (and a `-`,
                        // out of range anyway).
                        match signed(&arg.text) {
                            Some(n @ 3..=1023) => ReadyHow::Fd(n as u32),
                            _ => {
                                self.bad_plain(arg, Msg::BadFd);
                                return;
                            }
                        }
                    }
                    // Put where it is kept: no `ReadyHow` of a command
                    // made here and moved there (issue 18, bytes).
                    _ => {
                        if let Some(cmd) = self.command(READY_WHEN, pos, rest) {
                            put(&mut self.readiness().how, Some(ReadyHow::When(cmd)));
                        }
                        return;
                    }
                };
                put(&mut self.readiness().how, Some(how));
            }
        }
    }

    fn after(&mut self, pos: Pos, args: &[Word]) {
        // A last bare `restart` is the flag; a job named restart is
        // written "restart", as a file named syslog is `out "syslog"`.
        let (names, restart) = match args.split_last() {
            Some((last, names)) if last.is_text(Text::kw(Kw::Restart)) && !names.is_empty() => {
                (names, true)
            }
            _ => (args, false),
        };
        if names.is_empty() {
            self.fail(pos, Msg::MissingArg, Text::kw(Kw::After), JOB_NAMES);
            return;
        }
        for w in names {
            if !is_job_name(&w.text) {
                self.bad_plain(w, Msg::BadName);
                continue;
            }
            let name = Box::from(w.text.as_str());
            self.readiness().after.push(After {
                name,
                restart,
                pos: w.pos,
                index: u32::MAX,
            });
        }
    }

    fn check(&mut self, pos: Pos, args: &[Word]) {
        const WORDS: &str = "every\0timeout\0fails\0";
        // Places in WORDS.
        const EVERY: usize = 0;
        const TIMEOUT: usize = 1;
        let check = Text::kw(Kw::Check);
        let Some((word, rest)) = self.sub(check, pos, args, WORDS, CHECK_ONE_OF) else {
            return;
        };
        // By place in WORDS: CHECK_EVERY, CHECK_TIMEOUT_WORDS, CHECK_FAILS.
        let option = Text(CHECK_EVERY.0 + word as u16);
        if !self.first_time(option, pos) {
            return;
        }
        match word {
            EVERY => {
                let (time, cmd) = rest.split_at_checked(1).unwrap_or((rest, &[]));
                let Some(ms) = self.time_ms(option, pos, time) else {
                    return;
                };
                if let Some(cmd) = self.command(option, pos, cmd) {
                    let r = self.readiness();
                    put(&mut r.check_cmd, cmd);
                    r.check_every_ms = Some(ms);
                }
            }
            TIMEOUT => self.timed(option, pos, rest, CHECK_TIMEOUT),
            _ => {
                let Some(arg) = self.one(option, pos, rest, FAILURES, Text::NONE) else {
                    return;
                };
                match signed(&arg.text) {
                    Some(n @ 1..=1000) => self.readiness().check_fails = Some(n as u32),
                    _ => self.bad(arg, Msg::BadNumber, FAILS_NUMBER),
                }
            }
        }
    }

    /// The one time argument of `option`, in milliseconds, more than 0.
    fn time_ms(&mut self, option: Text, pos: Pos, args: &[Word]) -> Option<u64> {
        let arg = self.one(option, pos, args, A_TIME, Text::NONE)?;
        match parse_duration_ms(&arg.text) {
            Ok(0) => self.bad_time(arg, MORE_THAN_0),
            Ok(ms) => return Some(ms),
            Err(reason) => self.bad_time(arg, reason),
        }
        None
    }

    /// Whether `args` start with an absolute program path; reports
    /// what is wrong if not.
    pub(super) fn program(&mut self, option: Text, pos: Pos, args: &[Word]) -> bool {
        let Some(program) = args.first() else {
            self.fail(pos, Msg::MissingArg, option, A_PROGRAM);
            return false;
        };
        if program.text.as_bytes().first() != Some(&b'/') {
            self.bad(program, Msg::Relative, option);
            return false;
        }
        true
    }

    /// A command line: an absolute program path, then its arguments.
    pub(super) fn command(&mut self, option: Text, pos: Pos, args: &[Word]) -> Option<Vec<String>> {
        if !self.program(option, pos, args) {
            return None;
        }
        // A loop, not map().collect(): no adapter code.
        let mut cmd = Vec::with_capacity(args.len());
        for w in args {
            cmd.push(w.text.clone());
        }
        Some(cmd)
    }

    /// Options that mean nothing without another, checked once the whole
    /// job is read (options may come in any order).
    pub(super) fn finish_readiness(&mut self, spec: &JobSpec) {
        let Some(r) = &spec.readiness else { return };
        // The rule broken, for each option it concerns: each row the
        // option's text and the rule's, a byte each (every Text is below
        // 256, checked here): one table of 14 bytes, not two of Texts
        // (issue 18, bytes), nor an array of strs built on the stack.
        const fn byte(t: Text) -> u8 {
            assert!(t.0 < 256);
            t.0 as u8
        }
        const ROWS: &[[u8; 2]; 7] = &[
            [byte(Text::kw(Kw::Ready)), byte(NOT_ONCE)],
            [byte(READY_EVERY), byte(NOT_ONCE)],
            [byte(READY_TIMEOUT), byte(NOT_ONCE)],
            [byte(READY_EVERY), byte(NEEDS_WHEN)],
            [byte(Text::kw(Kw::Watchdog)), byte(NEEDS_NOTIFY)],
            [byte(CHECK_TIMEOUT_WORDS), byte(NEEDS_CHECK)],
            [byte(CHECK_FAILS), byte(NEEDS_CHECK)],
        ];
        let (once, no_check) = (spec.once, r.check_every_ms.is_none());
        let when = matches!(r.how, Some(ReadyHow::When(_)));
        let notify = matches!(r.how, Some(ReadyHow::Notify));
        // Bit k: row k's rule is broken.
        let broken = (u32::from(once) * 0b111)
            | (u32::from(!once && !when) << 3)
            | (u32::from(!notify) << 4)
            | (u32::from(no_check) * 0b110_0000);
        for (k, &[option, rule]) in ROWS.iter().enumerate() {
            if broken >> k & 1 == 0 {
                continue;
            }
            let option = Text(option.into());
            if let Some(pos) = self.seen(option) {
                self.fail(pos, Msg::Needs, option, Text(rule.into()));
            }
        }
    }

    /// Every `after` names a job of the file (each name is resolved to
    /// the job's index, for the supervisor), and the `after` lines make
    /// no cycle (each cycle is reported once, at the `after` word that
    /// closes it). Out of line: inlined into `parse_bytes`, whose frame
    /// holds the whole parser, its walk's locals took long stack
    /// displacements (issue 18, bytes: min x86_64 -24). Inlined on ARM
    /// and aarch64, where out of line it was 48 bytes larger.
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    pub(super) fn check_after(&mut self) {
        let Parser {
            config,
            diags,
            names,
            ..
        } = self;
        let jobs = &mut config.jobs;
        // No shortcut for a file without `after` lines: the walks below
        // find no names and no edges (issue 18, bytes).
        let count = jobs.len();
        // Each name to its job's index; u32::MAX stays where there is none.
        for job in jobs.iter_mut() {
            let Some(r) = &mut job.readiness else {
                continue;
            };
            for after in r.after.iter_mut() {
                let (pos, index) = (&after.pos, &mut after.index);
                match find_name(names, &after.name) {
                    Ok(&(_, _, k)) if (k as usize) < count => *index = k,
                    _ if diags.full() => {}
                    _ => {
                        // The first of the closest names, 2 edits at most;
                        // a loop, not an iterator chain (less code).
                        let (mut suggestion, mut best) = (None, 2);
                        for (n, ..) in names.iter() {
                            let d = distance(&after.name, n);
                            if d < best || (d == best && suggestion.is_none()) {
                                (suggestion, best) = (Some(n.as_str()), d);
                            }
                        }
                        diags.unknown(*pos, Msg::UnknownAfter, &after.name, suggestion);
                    }
                }
            }
        }
        // Depth-first along those indexes, without recursion (a chain may
        // be thousands long): 0 unseen, 1 on the current path, 2 done.
        // Marks and jobs are reached with `get`: every index on the path
        // is a job's, checked when it was marked (no bounds checks).
        let jobs = &*jobs;
        let name = |u: usize| jobs.get(u).map_or("", |j| &*j.name);
        let mut mark = vec![0u8; count];
        let mut path: Vec<(usize, usize)> = Vec::new();
        for start in 0..count {
            match mark.get_mut(start) {
                Some(m) if *m == 0 => *m = 1,
                _ => continue,
            }
            path.push((start, 0));
            while let Some(top) = path.last_mut() {
                let (v, next) = *top;
                let job = jobs.get(v).and_then(|j| j.readiness.as_ref());
                let Some(&After { pos, index: w, .. }) = job.and_then(|r| r.after.get(next)) else {
                    if let Some(m) = mark.get_mut(v) {
                        *m = 2;
                    }
                    path.pop();
                    continue;
                };
                top.1 += 1;
                let w = w as usize;
                // An index of u32::MAX, a name of no job, is no edge.
                match mark.get_mut(w) {
                    Some(m) if *m == 0 => {
                        *m = 1;
                        path.push((w, 0));
                    }
                    Some(m) if *m == 1 => {
                        let from = path.iter().position(|&(u, _)| u == w).unwrap_or(0);
                        let cycle = path.get(from..).unwrap_or_default();
                        let mut text = String::new();
                        for &(u, _) in cycle.get(..CYCLE_NAMES).unwrap_or(cycle) {
                            text.push_str(name(u));
                            text.push_str(" -> ");
                        }
                        if cycle.len() > CYCLE_NAMES {
                            text.push_str("… -> ");
                        }
                        text.push_str(name(w));
                        diags.say(pos, Some(&text), Msg::AfterCycle as u32, None);
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::model::*;
    use crate::config::parse_bytes;

    /// A file holding one job with `body` from line 4 on.
    fn with_job(body: &str) -> String {
        format!("job {{\n  name t\n  cmd /bin/true\n{body}\n}}\n")
    }

    fn readiness(body: &str) -> Readiness {
        let mut c = parse_bytes("t.conf", with_job(body).as_bytes()).unwrap();
        *c.jobs.remove(0).readiness.unwrap()
    }

    fn errors(src: &str) -> Vec<String> {
        match parse_bytes("t.conf", src.as_bytes()) {
            Ok(c) => panic!("{src:?} was accepted: {c:?}"),
            Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn job_error(body: &str) -> String {
        let e = errors(&with_job(body));
        assert_eq!(e.len(), 1, "{body:?}: {e:#?}");
        e[0].clone()
    }

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn a_job_without_these_options_has_none() {
        let c = parse_bytes("t.conf", with_job("").as_bytes()).unwrap();
        assert_eq!(c.jobs[0].readiness, None);
    }

    #[test]
    fn ready_forms() {
        assert_eq!(readiness("ready notify").how, Some(ReadyHow::Notify));
        assert_eq!(readiness("ready fd 3").how, Some(ReadyHow::Fd(3)));
        let r = readiness(
            "ready when /usr/bin/nc -z 127.0.0.1 8080\nready every 250ms\nready timeout 1m",
        );
        assert_eq!(
            r.how,
            Some(ReadyHow::When(cmd(&[
                "/usr/bin/nc",
                "-z",
                "127.0.0.1",
                "8080"
            ])))
        );
        assert_eq!((r.every_ms, r.every_ms()), (Some(250), 250));
        assert_eq!(r.timeout_ms, Some(60_000));
        assert_eq!(readiness("ready when /bin/true").every_ms(), 1000);
    }

    #[test]
    fn checks_and_watchdog() {
        let r = readiness("check every 2s /bin/sh -c \"test -e /x\"");
        assert_eq!(r.check_cmd, cmd(&["/bin/sh", "-c", "test -e /x"]));
        assert_eq!(r.check_every_ms, Some(2000));
        assert_eq!((r.check_timeout_ms(), r.check_fails()), (1000, 3));
        let r = readiness("check fails 5\ncheck timeout 300ms\ncheck every 1s /bin/true");
        assert_eq!((r.check_timeout_ms(), r.check_fails()), (300, 5));
        let r = readiness("ready notify\nwatchdog 500ms");
        assert_eq!(r.watchdog_ms, Some(500));
    }

    #[test]
    fn after_lines_add_up_and_restart_is_a_flag() {
        let src = "job {\n name a\n cmd /bin/true\n}\njob {\n name restart\n cmd /bin/true\n}\n\
                   job {\n name t\n cmd /bin/true\n after a\n after \"restart\" a restart\n}\n";
        let c = parse_bytes("t.conf", src.as_bytes()).unwrap();
        let t = &c.jobs[2];
        let after = &t.readiness.as_ref().unwrap().after;
        let got: Vec<(&str, bool)> = after.iter().map(|a| (&*a.name, a.restart)).collect();
        assert_eq!(got, [("a", false), ("restart", true), ("a", true)]);
        assert_eq!(
            after.iter().map(|a| (a.pos, a.index)).collect::<Vec<_>>(),
            [
                (Pos::at(12, 8), 0),
                (Pos::at(13, 8), 1),
                (Pos::at(13, 18), 0)
            ]
        );
    }

    #[test]
    fn rejected_forms() {
        for (body, want) in [
            (
                "ready",
                "t.conf:4:1: expected 'notify', 'fd N', 'when CMD', 'every T' or 'timeout T' after 'ready'",
            ),
            (
                "ready notfy",
                "t.conf:4:7: expected 'notify', 'fd N', 'when CMD', 'every T' or 'timeout T' after 'ready', found 'notfy'",
            ),
            (
                "ready notify now",
                "t.conf:4:14: 'ready notify' takes no argument",
            ),
            (
                "ready fd 1",
                "t.conf:4:10: bad descriptor '1' for 'ready fd': expected a number from 3 to 1023 (0, 1 and 2 are stdin, stdout and stderr)",
            ),
            (
                "ready when nc -z x",
                "t.conf:4:12: 'ready when' must be an absolute path (starting with '/'), not 'nc'",
            ),
            (
                "ready timeout 0",
                "t.conf:4:15: bad time '0': it must be more than 0; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)",
            ),
            (
                "ready notify\nready fd 3",
                "t.conf:5:1: 'ready' given twice in this job (first at line 4:1)",
            ),
            (
                "check every 1s",
                "t.conf:4:1: 'check every' needs the absolute path of a program, then its arguments",
            ),
            (
                "check fails 0\ncheck every 1s /bin/true",
                "t.conf:4:13: bad number '0': expected a whole number from 1 to 1000",
            ),
            (
                "check often",
                "t.conf:4:7: expected 'every T CMD', 'timeout T' or 'fails N' after 'check', found 'often'",
            ),
            (
                "after",
                "t.conf:4:1: 'after' needs the names of the jobs it starts after",
            ),
        ] {
            assert_eq!(job_error(body), want, "{body:?}");
        }
    }

    #[test]
    fn options_that_need_another() {
        for (body, want) in [
            (
                "watchdog 5s",
                "t.conf:4:1: 'watchdog' needs 'ready notify': the job sends WATCHDOG=1 on its notify socket",
            ),
            (
                "ready fd 3\nwatchdog 5s",
                "t.conf:5:1: 'watchdog' needs 'ready notify': the job sends WATCHDOG=1 on its notify socket",
            ),
            (
                "ready every 1s\nready notify",
                "t.conf:4:1: 'ready every' needs 'ready when CMD': it is how often CMD runs",
            ),
            (
                "check fails 2",
                "t.conf:4:1: 'check fails' needs 'check every T CMD'",
            ),
            (
                "once\nready notify",
                "t.conf:5:1: 'ready' does not apply to a 'once' job: it is ready when it exits with status 0",
            ),
        ] {
            assert_eq!(job_error(body), want, "{body:?}");
        }
    }

    fn jobs(specs: &[(&str, &str)]) -> String {
        specs
            .iter()
            .map(|(name, extra)| format!("job {{\n name {name}\n cmd /bin/true\n{extra}}}\n"))
            .collect()
    }

    #[test]
    fn after_an_unknown_job_is_an_error_with_a_suggestion() {
        let e = errors(&jobs(&[("db", ""), ("web", " after dbb cache\n")]));
        assert_eq!(
            e,
            [
                "t.conf:8:8: 'after dbb': no job is named 'dbb' (did you mean 'db'?)",
                "t.conf:8:12: 'after cache': no job is named 'cache'",
            ]
        );
    }

    #[test]
    fn cycles_are_named() {
        let e = errors(&jobs(&[("web", " after db\n"), ("db", " after web\n")]));
        assert_eq!(
            e,
            [
                "t.conf:9:8: 'after' makes a cycle: web -> db -> web; none of these jobs could ever start"
            ]
        );
        let e = errors(&jobs(&[("a", " after a\n")]));
        assert_eq!(
            e,
            ["t.conf:4:8: 'after' makes a cycle: a -> a; none of these jobs could ever start"]
        );
        // A tree and a diamond are fine.
        let ok = jobs(&[
            ("a", ""),
            ("b", " after a\n"),
            ("c", " after a\n"),
            ("d", " after b c restart\n"),
        ]);
        assert!(parse_bytes("t.conf", ok.as_bytes()).is_ok());
    }

    #[test]
    fn a_long_cycle_is_shortened_and_a_long_chain_is_fine() {
        let mut specs: Vec<(String, String)> = (0..2000)
            .map(|i| (format!("j{i}"), format!(" after j{}\n", i + 1)))
            .collect();
        specs.push(("j2000".into(), String::new()));
        let refs: Vec<(&str, &str)> = specs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert!(parse_bytes("t.conf", jobs(&refs).as_bytes()).is_ok());
        specs.last_mut().unwrap().1 = " after j0\n".into();
        let refs: Vec<(&str, &str)> = specs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let e = errors(&jobs(&refs));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].contains("cycle: j0 -> j1 -> j2 -> j3 -> j4 -> j5 -> j6 -> j7 -> … -> j0;"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn readiness_is_part_of_the_meaning() {
        let spec = |body: &str| {
            parse_bytes("t.conf", with_job(body).as_bytes())
                .unwrap()
                .jobs
                .remove(0)
        };
        assert_eq!(spec("ready notify"), spec("ready   notify"));
        assert_ne!(spec("ready notify"), spec(""));
        assert_ne!(
            spec("check every 1s /bin/true"),
            spec("check every 2s /bin/true")
        );
    }
}
