//! The job options of issue 15: how a job is restarted (`restart`, `give
//! up`), stopped and signalled (`stop signal`, `reload signal`), and what
//! it runs with (`env file`, `group`, `groups`, `umask`). Each default
//! keeps what an existing `pmtr.conf` does; each mistake is reported at
//! its word, like every other option's.
//!
//! Most of them are fixed words with values between (`give up after N in
//! T`): one checker, [`Parser::shape`], reads all of those, so that each
//! option costs the binary little more than its values' checks.

use crate::prelude::*;

use super::super::error::{Error, ErrorKind, Msg};
use super::super::lex::Word;
use super::super::model::{EnvFile, GiveUp, Pos, Restart, RestartDelay};
use super::super::values::{number, parse_duration, parse_signal, word_index};
use super::{Kw, Parser, Text, put, texts};

/// `give up after N`: the most quick exits a job's window remembers. The
/// window is a ring of N times made when the job is loaded, so N is
/// bounded; a crash loop is plain long before a hundred.
pub const MAX_GIVE_UP: u32 = 100;

/// In a shape, a value's place is named in capitals (`N`, `TIME`).
/// The first byte: an upper-case ASCII letter is never part of a longer
/// char, and a char predicate brought core's char searcher (issue 18).
fn is_value(word: &str) -> bool {
    word.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
}

/// For each option, by [`Kw`] from `restart` on, then `restart delay`
/// and `env file`: the key for "given twice", the words after the
/// keyword, and what to write there. Lists of words (as for
/// `values::nth_word`), not an array of tuples and slices of strs: no
/// pointers in .data.rel.ro (issue 18), and each word a [`Text`].
pub(super) const KEYS: &str = "restart\0give up\0stop signal\0reload signal\0group\0groups\0umask\0\
    restart delay\0env file\0";

/// The words after the keyword of every option, one row after another
/// (values named in capitals): `POLICY`; `up after N in TIME then exit`;
/// `signal SIGNAL` for both `stop` and `reload`; `GROUP`; `GROUPS`;
/// `MASK`; `delay TIME max TIME`; `file PATH`. Each row's first word is
/// at [`SHAPE_AT`], and it has [`SHAPE_LEN`] words.
pub(super) const SHAPES: &str = "POLICY\0up\0after\0N\0in\0TIME\0then\0exit\0signal\0SIGNAL\0\
    GROUP\0GROUPS\0MASK\0delay\0TIME\0max\0TIME\0file\0PATH\0";
/// `delay` after `restart`, and `file` after `env`, in SHAPES.
pub(super) const DELAY: Text = Text::of(13, 13);
pub(super) const FILE: Text = Text::of(13, 17);
const SHAPE_AT: &[u8; 9] = &[0, 1, 8, 8, 10, 11, 12, 13, 17];
const SHAPE_LEN: &[u8; 9] = &[1, 7, 2, 2, 1, 1, 1, 4, 2];

pub(super) const USAGES: &str = "always, on-failure, never, or delay TIME [max TIME]\0\
    up after N in TIME [then exit]\0signal SIGNAL\0signal SIGNAL\0a group name or number\0\
    group names or numbers, like a,b,20\0an octal mode like 022\0delay TIME [max TIME]\0\
    file PATH\0";

/// The last of [`KEYS`], the highest [`Text`] a job records as given.
pub(super) const LAST_KEY: Text = Text::of(9, 8);

texts! { 10;
    POLICIES = "always', 'on-failure', 'never' or 'delay",
    QUICK_EXITS = "a whole number of quick exits from 1 to 100",
    OCTAL_MODE = "an octal mode from 000 to 777, like 022",
    AT_LEAST_1S = "it must be at least 1 second",
    MAX_BELOW_DELAY = "max must not be less than the delay",
}

const _: () = assert!(Kw::Umask as usize - Kw::Restart as usize == 6);

impl Parser<'_> {
    /// Reads `option`, one of issue 15's (`env` only in its `env file
    /// PATH` form).
    pub(super) fn restart_option(&mut self, kw: Kw, pos: Pos, args: &[Word]) {
        let delay = kw == Kw::Restart && args.first().is_some_and(|w| w.is_text(DELAY));
        let row = match kw {
            Kw::Env => 8,
            _ if delay => 7,
            _ => kw as usize - Kw::Restart as usize,
        };
        let key = Text::of(9, row);
        let usage = Text::of(12, row);
        // `env file` may be repeated; the others are once per job.
        if kw != Kw::Env && !self.first_time(key, pos) {
            return;
        }
        // Words needed at least (all of a shorter shape).
        let need = if kw == Kw::Give { 5 } else { 2 };
        if self.shape(Text::kw(kw), key, pos, args, row, need, usage) {
            self.restart_values(kw, key, pos, args);
        }
    }

    /// Checks `args` word by word against the shape of `row` (fixed
    /// words, and values named in capitals): `need` words at least, then
    /// all of the rest or none. Reports the first mismatch for `key` (the
    /// option's name, after its `keyword`); false after one.
    #[allow(clippy::too_many_arguments)]
    fn shape(
        &mut self,
        keyword: Text,
        key: Text,
        pos: Pos,
        args: &[Word],
        row: usize,
        need: usize,
        usage: Text,
    ) -> bool {
        let len = args.len();
        let at = |table: &[u8; 9]| usize::from(table.get(row).copied().unwrap_or(0));
        let (first, n) = (at(SHAPE_AT), at(SHAPE_LEN));
        // Parts after the first `need` words are optional, as a whole.
        let need = need.min(n);
        if let Some(extra) = args.get(n) {
            self.fail(extra.pos, Msg::ExtraArg, key, Text::NONE);
            return false;
        }
        // The word before `want`.
        let mut before = keyword;
        for i in 0..n {
            let want = Text::of(13, first + i);
            let want_word = want.get();
            let word = args.get(i);
            let value = is_value(want_word);
            let (msg, a, b) = match word {
                None if i >= need && len <= need => return true,
                Some(w) if value && w.text.is_empty() => (Msg::EmptyArg, key, Text::NONE),
                Some(w) if value || w.is(want_word) => {
                    before = want;
                    continue;
                }
                None if i == 0 || value => (Msg::MissingArg, keyword, usage),
                _ => (Msg::Expected, want, before),
            };
            // At the word, or at the last one there when it is missing.
            let at = word.or(i.checked_sub(1).and_then(|j| args.get(j)));
            let at = at.map_or(pos, |w| w.pos);
            let found = if msg == Msg::Expected { word } else { None };
            self.report(msg, at, found, a, b);
            return false;
        }
        true
    }

    /// The values of an option whose shape is right. Its words are read
    /// by slice patterns, as many as its shape has for sure (one, two
    /// after `delay`, `signal` and `file`, five for `give up`): one
    /// length check an option, not a bounds check at each word (issue
    /// 18, bytes).
    fn restart_values(&mut self, kw: Kw, key: Text, pos: Pos, args: &[Word]) {
        match (kw, args) {
            // `restart POLICY` has no other word (`restart delay` has
            // two at least).
            (Kw::Restart, [policy]) => {
                // By place in a word list, not an array of the policies
                // searched through their words (issue 18, bytes).
                let i = word_index("always\0on-failure\0never\0", &policy.text);
                match i.filter(|_| !policy.quoted) {
                    Some(i) => {
                        self.spec().restart = match i {
                            0 => Restart::Always,
                            1 => Restart::OnFailure,
                            _ => Restart::Never,
                        }
                    }
                    // POLICIES is inside the message's quotes: 'always', ...
                    None => {
                        let restart = Text::kw(Kw::Restart);
                        self.report(Msg::Expected, pos, Some(policy), POLICIES, restart);
                    }
                }
            }
            (Kw::Restart, [_, delay, rest @ ..]) => {
                let Some(secs) = self.time(delay, false) else {
                    return;
                };
                // `max TIME`, if given.
                let max_secs = match rest.get(1) {
                    Some(w) => match self.time(w, true) {
                        Some(max) if max >= secs => Some(max),
                        Some(_) => {
                            self.bad_time(w, MAX_BELOW_DELAY);
                            return;
                        }
                        None => return,
                    },
                    None => None,
                };
                if secs == 0 {
                    // Allowed, for jobs that must come back at once, but
                    // the anti-spin wait protects the device: say so at
                    // every load and in pmtr -t.
                    let warning = ErrorKind::plain(Msg::RestartDelayZero);
                    let warning = Error::at(self.diags.file, pos, warning);
                    self.config.warnings.push(warning);
                }
                self.extra().restart_delay = Some(RestartDelay { secs, max_secs });
            }
            (Kw::Give, [_, _, n, _, within, then_exit @ ..]) => {
                let after = match number(&n.text) {
                    Some(after) if (1..=u64::from(MAX_GIVE_UP)).contains(&after) => after as u32,
                    _ => {
                        self.bad(n, Msg::BadNumber, QUICK_EXITS);
                        return;
                    }
                };
                if let Some(within_secs) = self.time(within, true) {
                    let then_exit = !then_exit.is_empty();
                    self.extra().give_up = Some(GiveUp {
                        after,
                        within_secs,
                        then_exit,
                    });
                }
            }
            (Kw::Stop | Kw::Reload, [_, sig, ..]) => match parse_signal(&sig.text) {
                Some(sig) => {
                    // One store, to the signal chosen (issue 18, bytes).
                    let extra = self.extra();
                    let place = if kw == Kw::Stop {
                        &mut extra.stop_signal
                    } else {
                        &mut extra.reload_signal
                    };
                    *place = Some(sig);
                }
                None => self.bad_plain(sig, Msg::UnknownSignal),
            },
            (Kw::Env, [_, file, ..]) => {
                let text = &file.text;
                let (optional, path) = match crate::strip_ascii(text, b'-') {
                    Some(path) => (true, path),
                    None => (false, text.as_str()),
                };
                if path.is_empty() {
                    self.fail(file.pos, Msg::EmptyArg, key, Text::NONE);
                    return;
                }
                let path = path.to_string();
                self.extra().env_files.push(EnvFile { path, optional });
            }
            // `group`, `groups` and `umask`, of one word.
            (_, [arg, ..]) => {
                // Borrowed from the word: copied only where it is kept
                // (issue 18, bytes).
                let text = arg.text.as_str();
                let spec = self.extra();
                match kw {
                    Kw::Umask => match parse_umask(text) {
                        Some(mask) => spec.umask = Some(mask),
                        None => {
                            self.bad(arg, Msg::BadNumber, OCTAL_MODE);
                        }
                    },
                    _ if crate::Split::new(text, b',').any(str::is_empty) => {
                        self.fail(arg.pos, Msg::EmptyArg, key, Text::NONE);
                    }
                    Kw::Group => put(&mut spec.group, Some(String::from(text))),
                    _ => {
                        // A loop, not map().collect(): no adapter code.
                        for g in crate::Split::new(text, b',') {
                            spec.groups.push(String::from(g));
                        }
                    }
                }
                if kw != Kw::Umask {
                    self.spec().origin.group.get_or_insert(pos);
                }
            }
            // The shape has a word at least.
            _ => {}
        }
    }

    /// A time word (`90`, `30s`, `5m`); reports a bad one, and 0 when
    /// `nonzero`.
    pub(super) fn time(&mut self, word: &Word, nonzero: bool) -> Option<u64> {
        match parse_duration(&word.text) {
            Ok(0) if nonzero => {
                self.bad_time(word, AT_LEAST_1S);
                None
            }
            Ok(secs) => Some(secs),
            Err(reason) => {
                self.bad_time(word, reason);
                None
            }
        }
    }

    #[inline(always)]
    pub(super) fn bad_time(&mut self, word: &Word, reason: Text) {
        self.bad(word, Msg::BadDuration, reason);
    }
}

/// `022`, `0027`, `7`: octal, at most 0o777.
fn parse_umask(text: &str) -> Option<u32> {
    if text.len() > 4 {
        return None;
    }
    // The digits checked and added up in one walk (issue 18, bytes). At
    // most 4 digits: no overflow.
    let mut mask = 0;
    for &b in text.as_bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 7 {
            return None;
        }
        mask = mask * 8 + u32::from(digit);
    }
    (mask <= 0o777).then_some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::nth_word;

    #[test]
    fn parse_umask_reads_as_its_two_walks_did() {
        let before = |text: &str| {
            if text.len() > 4 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let mask = text.bytes().fold(0, |m, b| m * 8 + u32::from(b - b'0'));
            (mask <= 0o777).then_some(mask)
        };
        for text in [
            "", "0", "7", "8", "022", "0022", "00022", "777", "0777", "1000", "778", "-1", "+7",
            "0x7", "é", "07é", "7/", ":",
        ] {
            assert_eq!(parse_umask(text), before(text), "{text:?}");
        }
    }

    #[test]
    fn each_row_of_shapes_reads_its_words() {
        let row = |r: usize| {
            let (at, n) = (usize::from(SHAPE_AT[r]), usize::from(SHAPE_LEN[r]));
            let words: Vec<&str> = (at..at + n).map(|i| nth_word(SHAPES, i)).collect();
            words.join(" ")
        };
        let rows = [
            "POLICY",
            "up after N in TIME then exit",
            "signal SIGNAL",
            "signal SIGNAL",
            "GROUP",
            "GROUPS",
            "MASK",
            "delay TIME max TIME",
            "file PATH",
        ];
        for (r, want) in rows.iter().enumerate() {
            assert_eq!(row(r), *want);
        }
        assert_eq!(SHAPES.split_terminator('\0').count(), 19);
        assert_eq!((DELAY.get(), FILE.get()), ("delay", "file"));
    }
}
