//! The job options of issue 15: how a job is restarted (`restart`, `give
//! up`), stopped and signalled (`stop signal`, `reload signal`), and what
//! it runs with (`env file`, `group`, `groups`, `umask`). Each default
//! keeps what an existing `pmtr.conf` does; each mistake is reported at
//! its word, like every other option's.

use crate::prelude::*;

use super::super::error::ErrorKind;
use super::super::lex::Word;
use super::super::model::{EnvFile, GiveUp, Pos, Restart, RestartDelay};
use super::super::values::{parse_duration, parse_signal};
use super::Parser;

/// `give up after N`: the most quick exits a job's window remembers. The
/// window is a ring of N times made when the job is loaded, so N is
/// bounded; a crash loop is plain long before a hundred.
pub const MAX_GIVE_UP: u32 = 100;

impl Parser<'_> {
    /// Reads `option` when it is one of issue 15's (`env` only in its
    /// `env file PATH` form); returns false for every other option.
    pub(super) fn restart_option(&mut self, option: &'static str, pos: Pos, args: &[Word]) -> bool {
        match option {
            "restart" => self.restart(pos, args),
            "give" => self.give_up(pos, args),
            "stop" | "reload" => self.signal_option(option, pos, args),
            "env" if args.first().is_some_and(|w| w.is("file")) => self.env_file(pos, args),
            "group" | "groups" | "umask" => {
                if !self.first_time(option, pos) {
                    return true;
                }
                let expected = match option {
                    "group" => "a group name or number",
                    "groups" => "group names or numbers separated by commas",
                    _ => "an octal mode like 022",
                };
                let Some(arg) = self.one(option, pos, args, expected, "") else {
                    return true;
                };
                let text = arg.text.clone();
                match option {
                    "group" => {
                        let spec = self.spec();
                        spec.group = Some(text);
                        spec.origin.group.get_or_insert(pos);
                    }
                    "groups" => {
                        if text.split(',').any(str::is_empty) {
                            self.err(arg.pos, ErrorKind::EmptyArg("groups"));
                            return true;
                        }
                        let spec = self.spec();
                        spec.groups = text.split(',').map(String::from).collect();
                        spec.origin.group.get_or_insert(pos);
                    }
                    _ => match parse_umask(&text) {
                        Some(mask) => self.spec().umask = Some(mask),
                        None => self.err(
                            arg.pos,
                            ErrorKind::BadNumber {
                                text,
                                expected: "an octal mode from 000 to 777, like 022",
                            },
                        ),
                    },
                }
            }
            _ => return false,
        }
        true
    }

    /// `restart always|on-failure|never` or `restart delay T [max T2]`:
    /// one of each per job.
    fn restart(&mut self, pos: Pos, args: &[Word]) {
        let Some(first) = args.first() else {
            self.err(
                pos,
                ErrorKind::MissingArg {
                    option: "restart",
                    expected: "always, on-failure, never, or delay and a time",
                },
            );
            return;
        };
        if first.is("delay") {
            if self.first_time("restart delay", pos) {
                self.restart_delay(pos, &args[1..]);
            }
            return;
        }
        if !self.first_time("restart", pos) {
            return;
        }
        let policy = [Restart::Always, Restart::OnFailure, Restart::Never]
            .into_iter()
            .find(|p| first.is(p.word()));
        let Some(policy) = policy else {
            self.err(
                first.pos,
                ErrorKind::Expected {
                    // Inside the message's quotes: 'always', 'on-failure', ...
                    expected: "always', 'on-failure', 'never' or 'delay",
                    after: "restart",
                    found: Some(first.text.clone()),
                },
            );
            return;
        };
        if let Some(extra) = args.get(1) {
            self.err(
                extra.pos,
                ErrorKind::ExtraArg {
                    option: "restart",
                    hint: "",
                },
            );
            return;
        }
        self.spec().restart = policy;
    }

    /// After `restart delay`: `T [max T2]`.
    fn restart_delay(&mut self, pos: Pos, args: &[Word]) {
        const OPTION: &str = "restart delay";
        let Some(first) = args.first() else {
            self.err(
                pos,
                ErrorKind::MissingArg {
                    option: OPTION,
                    expected: "a time like 1s or 5m, then optionally max and a time",
                },
            );
            return;
        };
        let Some(secs) = self.time(first) else { return };
        let max_secs = match args.get(1) {
            None => None,
            Some(w) if w.is("max") => {
                let Some(max) = args.get(2) else {
                    self.err(
                        w.pos,
                        ErrorKind::MissingArg {
                            option: "max",
                            expected: "a time like 1m",
                        },
                    );
                    return;
                };
                let Some(max_secs) = self.time(max) else {
                    return;
                };
                if max_secs == 0 || max_secs < secs {
                    self.err(
                        max.pos,
                        ErrorKind::BadDuration {
                            text: max.text.clone(),
                            reason: "max must be at least the delay, and 1 s",
                        },
                    );
                    return;
                }
                if let Some(extra) = args.get(3) {
                    self.err(
                        extra.pos,
                        ErrorKind::ExtraArg {
                            option: OPTION,
                            hint: "",
                        },
                    );
                    return;
                }
                Some(max_secs)
            }
            Some(other) => {
                self.err(
                    other.pos,
                    ErrorKind::Expected {
                        expected: "max",
                        after: OPTION,
                        found: Some(other.text.clone()),
                    },
                );
                return;
            }
        };
        if secs == 0 {
            // Allowed, for jobs that must come back at once; but the
            // anti-spin wait protects the device from a crash loop, so
            // say so (pmtr -t and every load print it).
            let warning = format!(
                "{}:{}:{}: restart delay 0: a crash loop restarts without pause",
                self.diags.file, pos.line, pos.col
            );
            self.config.warnings.push(warning);
        }
        self.spec().restart_delay = Some(RestartDelay { secs, max_secs });
    }

    /// `give up after N in T [then exit]`.
    fn give_up(&mut self, pos: Pos, args: &[Word]) {
        const OPTION: &str = "give up";
        if !self.first_time(OPTION, pos) {
            return;
        }
        // The words in order; `None` stands for a value.
        let shape = [
            Some("up"),
            Some("after"),
            None,
            Some("in"),
            None,
            Some("then"),
            Some("exit"),
        ];
        for (i, want) in shape.iter().enumerate() {
            let word = args.get(i);
            // `then exit` is optional: the line may end before it.
            if i == 5 && word.is_none() {
                break;
            }
            let at = word.map_or(pos, |w| w.pos);
            match (want, word) {
                (Some(w), Some(found)) if found.is(w) => {}
                (None, Some(_)) => {}
                (Some(w), found) => {
                    let after = ["give", "up", "", "N", "", "TIME", "then"][i];
                    self.err(
                        at,
                        ErrorKind::Expected {
                            expected: w,
                            after,
                            found: found.map(|f| f.text.clone()),
                        },
                    );
                    return;
                }
                (None, None) => {
                    self.err(
                        pos,
                        ErrorKind::MissingArg {
                            option: OPTION,
                            expected: "after N in TIME, like give up after 5 in 1m",
                        },
                    );
                    return;
                }
            }
        }
        if let Some(extra) = args.get(shape.len()) {
            self.err(
                extra.pos,
                ErrorKind::ExtraArg {
                    option: OPTION,
                    hint: "",
                },
            );
            return;
        }
        let n = &args[2];
        let after = match n.text.parse::<u32>() {
            Ok(after) if (1..=MAX_GIVE_UP).contains(&after) && !n.text.starts_with('+') => after,
            _ => {
                self.err(
                    n.pos,
                    ErrorKind::BadNumber {
                        text: n.text.clone(),
                        expected: "a whole number of quick exits from 1 to 100",
                    },
                );
                return;
            }
        };
        let Some(within_secs) = self.time(&args[4]) else {
            return;
        };
        if within_secs == 0 {
            self.err(
                args[4].pos,
                ErrorKind::BadDuration {
                    text: args[4].text.clone(),
                    reason: "it must be at least 1 second",
                },
            );
            return;
        }
        self.spec().give_up = Some(GiveUp {
            after,
            within_secs,
            then_exit: args.len() > 5,
        });
    }

    /// `stop signal SIG` / `reload signal SIG`.
    fn signal_option(&mut self, option: &'static str, pos: Pos, args: &[Word]) {
        let key = if option == "stop" {
            "stop signal"
        } else {
            "reload signal"
        };
        if !self.first_time(key, pos) {
            return;
        }
        match args.first() {
            Some(w) if w.is("signal") => {}
            other => {
                self.err(
                    other.map_or(pos, |w| w.pos),
                    ErrorKind::Expected {
                        expected: "signal",
                        after: option,
                        found: other.map(|w| w.text.clone()),
                    },
                );
                return;
            }
        }
        let Some(arg) = self.one(key, pos, &args[1..], "a signal like TERM, INT or 2", "") else {
            return;
        };
        let Some(sig) = parse_signal(&arg.text) else {
            self.err(arg.pos, ErrorKind::UnknownSignal(arg.text.clone()));
            return;
        };
        let spec = self.spec();
        if option == "stop" {
            spec.stop_signal = Some(sig);
        } else {
            spec.reload_signal = Some(sig);
        }
    }

    /// `env file [-]PATH`, repeatable.
    fn env_file(&mut self, pos: Pos, args: &[Word]) {
        let Some(arg) = self.one(
            "env file",
            pos,
            &args[1..],
            "a path (a leading - makes the file optional)",
            " (quote a path that contains spaces)",
        ) else {
            return;
        };
        let (optional, path) = match arg.text.strip_prefix('-') {
            Some(path) => (true, path),
            None => (false, arg.text.as_str()),
        };
        if path.is_empty() {
            self.err(arg.pos, ErrorKind::EmptyArg("env file"));
            return;
        }
        let file = EnvFile {
            path: path.to_string(),
            optional,
        };
        self.spec().env_files.push(file);
    }

    /// A time word (`90`, `30s`, `5m`); reports a bad one.
    fn time(&mut self, word: &Word) -> Option<u64> {
        match parse_duration(&word.text) {
            Ok(secs) => Some(secs),
            Err(reason) => {
                self.err(
                    word.pos,
                    ErrorKind::BadDuration {
                        text: word.text.clone(),
                        reason,
                    },
                );
                None
            }
        }
    }
}

/// `022`, `0027`, `7`: octal, at most 0o777.
fn parse_umask(text: &str) -> Option<u32> {
    if text.len() > 4 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    // At most 4 digits: no overflow.
    let mask = text.bytes().fold(0, |m, b| m * 8 + u32::from(b - b'0'));
    (mask <= 0o777).then_some(mask)
}
