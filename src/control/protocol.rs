//! What travels over the control socket. One request line from the client,
//! then lines from pmtr, then pmtr closes the connection:
//!
//! ```text
//! > status web cron
//! < pmtr␉1234
//! < job␉web␉running␉1301␉73␉2␉signal 9␉75␉-␉0␉-
//! < end
//! > stop web
//! < ok␉web␉stopping
//! < end
//! > signal web USR1            (reload web: its reload signal)
//! < ok␉web␉sent SIGUSR1
//! > metrics web
//! < # HELP pmtr_build_info …  the Prometheus text, as in `metrics to`
//! < end
//! < unknown␉nosuch␉other    no job has these names; nothing done
//! < refused␉TEXT            the peer's uid may not ask
//! < error␉TEXT              a bad request
//! ```
//!
//! (␉ is a tab.) A job line's fields: name, state, pid, uptime, starts,
//! last exit, its age, seconds to the restart, disabled in the file (1/0),
//! why it can't start; `-` for none. Any further fields are `KEY=VALUE`
//! ([`JobStatus::extra`]), values escaped like the reason: a client skips
//! keys it does not know, so pmtr can tell more without breaking older
//! clients, and a newer client reads an older pmtr's lines.
//!
//! Extra fields of issue 16: `in_state=SECS` (how long in this state,
//! for starting, running and unhealthy), `fails=N` (checks failed in a
//! row), `check=ok|failed`, `check_ago=SECS` and `check_text=TEXT` (the
//! last check), `status_text=TEXT` (the last STATUS= of a `ready notify` job),
//! `waits=NAME,…` (the jobs it starts after that are not
//! ready). The states `starting` and `unhealthy` are new words: a client
//! older than them reports such a line as unreadable.
//!
//! Fields are separated by tabs. Job names have no whitespace or control
//! characters (the parser rejects them); the one free-text field, a
//! not-startable job's reason, is escaped (`\\`, `\t`, `\n`). Times are
//! whole seconds relative to the moment of the answer, since pmtr keeps
//! monotonic time. Formatting for people or JSON happens in the client.

use crate::prelude::*;

use rustix::process::Signal;

/// Longest request line pmtr accepts, newline included: a verb and a few
/// dozen names. Anything longer is refused, so a client costs pmtr at most
/// this much memory.
pub const MAX_REQUEST: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Status,
    Stop,
    Start,
    Restart,
    /// Send the job's reload signal (issue 15).
    Reload,
    /// Send the signal named last in the request (issue 15).
    Signal,
    /// The Prometheus text (`pmtr status --prometheus`), then `end`.
    Metrics,
}

/// The verbs' words, in the order of [`Verb`] (a list as for
/// `config::nth_word`): one lookup for both ways, not a `match` and a
/// search of its own (issue 18, bytes).
const VERBS: &str = "status\0stop\0start\0restart\0reload\0signal\0metrics\0";

impl Verb {
    const ALL: [Verb; 7] = [
        Verb::Status,
        Verb::Stop,
        Verb::Start,
        Verb::Restart,
        Verb::Reload,
        Verb::Signal,
        Verb::Metrics,
    ];

    pub fn word(self) -> &'static str {
        crate::config::nth_word(VERBS, self as usize)
    }

    pub fn from_word(word: &str) -> Option<Verb> {
        Verb::ALL
            .get(crate::config::word_index(VERBS, word)?)
            .copied()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub verb: Verb,
    pub names: Vec<String>,
    /// `signal NAME... SIG`: the signal, last on the line.
    pub signal: Option<Signal>,
}

impl Request {
    /// Parses one request line (without its newline). A refusal is the
    /// whole answer line, `error\tTEXT\n`, made here: the server sends it
    /// as it is, with no `format!` of its own (issue 18, bytes). Out of
    /// line but on aarch64: inlined into the loop's handler it cost more
    /// elsewhere, and is 56 bytes less on aarch64 min (issue 18).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    pub fn parse(line: &[u8]) -> Result<Request, String> {
        // Text that is not UTF-8 has no words here: the two fixed
        // refusals made into a String at one place (issue 18, bytes).
        let text = crate::utf8::str(line);
        let mut words = crate::Words(text.unwrap_or_default());
        let Some(word) = words.next() else {
            return Err(String::from(if text.is_some() {
                "error\tempty request\n"
            } else {
                "error\trequest is not UTF-8\n"
            }));
        };
        // Each refusal leaves the block with its three parts: one call
        // makes the answer line, one drop frees the names (issue 18,
        // bytes).
        let mut names = Vec::new();
        let (before, word, after) = 'refused: {
            let Some(verb) = Verb::from_word(word) else {
                break 'refused ("unknown request '", word, "'");
            };
            // A loop, not `map(String::from).collect()`: that instantiated
            // collect's machinery for this one use (issue 18, bytes).
            for word in words {
                names.push(String::from(word));
            }
            let mut signal = None;
            if verb == Verb::Signal {
                // Only signals known by name or number (SPEC §10).
                // Read where it is, then cut off: no String moved out and
                // dropped (issue 18, bytes).
                let word = names.last().map_or("", String::as_str);
                let Some(sig) = crate::config::parse_signal(word) else {
                    break 'refused ("unknown signal '", word, "'");
                };
                signal = Some(sig);
                names.truncate(names.len().saturating_sub(1));
            }
            if !matches!(verb, Verb::Status | Verb::Metrics) && names.is_empty() {
                // A verb's word needs no escaping: it stays as it is.
                break 'refused ("'", verb.word(), "' needs at least one job name");
            }
            return Ok(Request {
                verb,
                names,
                signal,
            });
        };
        Err(refusal(before, word, after))
    }

    /// The request line, newline included. The client writes its own
    /// from the words it borrows (issue 18, bytes).
    #[cfg(any(test, fuzzing))]
    pub fn line(&self) -> String {
        let mut s = String::from(self.verb.word());
        for name in &self.names {
            s.push(' ');
            s.push_str(name);
        }
        if let Some(sig) = self.signal {
            crate::packed::append(&mut s, format_args!(" {}", sig.as_raw()));
        }
        s.push('\n');
        s
    }
}

/// The states' words, in the order of [`State`] (see [`VERBS`]); after
/// them, from place [`STATE_TEXTS`] on, the client's fixed texts of the
/// STATE column: one list and a place for every text `state_text`
/// writes, no list per arm (issue 18, bytes); those of `exit33` to
/// `pending` in the states' order, so that `state_text` finds each by
/// its state's place. `from_keyword` reads only the states' places: a
/// word of the texts is no state.
pub(super) const STATES: &str = "running\0starting\0unhealthy\0stopping\0waiting\0exit33\0done\0disabled\0not-startable\0pending\0failed\0stopped by exit 33\0done (once)\0disabled until the config changes\0not startable\0not started yet\0done (exited 0; restart on-failure)\0";

/// Where the client's STATE texts start in [`STATES`].
pub(super) const STATE_TEXTS: usize = State::ALL.len();

/// Where a job stands, as `pmtr status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Ready (issue 16: a job without `ready` is ready when started).
    Running,
    /// Running, not ready yet.
    Starting,
    /// Ready, but its last checks failed.
    Unhealthy,
    /// SIGTERM sent; SIGKILL follows if it does not leave.
    Stopping,
    /// Exited quickly (or fork failed); restarts when the wait is over.
    Waiting,
    /// Exited with status 33: not restarted until the config changes.
    Exit33,
    /// A `once` job that has run.
    Done,
    /// Disabled in the configuration, or stopped by `pmtr stop` / UDP.
    Disabled,
    /// Can't be started (unknown user, untrusted `depends` file, …).
    NotStartable,
    /// Enabled but not started yet: behind an unfinished `wait` job, or
    /// its old version is still stopping.
    Pending,
    /// Gave up after `give up after N in T` quick exits (issue 15).
    Failed,
}

impl State {
    /// The word on the wire and in JSON.
    pub fn keyword(self) -> &'static str {
        crate::config::nth_word(STATES, self as usize)
    }

    /// Every state, in the order `pmtr status --prometheus` lists them.
    pub const ALL: [State; 11] = [
        State::Running,
        State::Starting,
        State::Unhealthy,
        State::Stopping,
        State::Waiting,
        State::Exit33,
        State::Done,
        State::Disabled,
        State::NotStartable,
        State::Pending,
        State::Failed,
    ];

    fn from_keyword(word: &str) -> Option<State> {
        State::ALL
            .get(crate::config::word_index(STATES, word)?)
            .copied()
    }
}

/// How a job's last process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Status(i32),
    Signal(i32),
}

/// One job in a status answer. `S` is `String` where the line was read
/// (the client), `&str` where it is written (pmtr borrows its job's texts:
/// no copies to make and free per job, issue 18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus<S = String> {
    pub name: S,
    pub state: State,
    /// Running or stopping.
    pub pid: Option<u32>,
    /// Seconds since it started, while running.
    pub uptime: Option<u64>,
    /// Seconds until the restart, while waiting.
    pub restart_in: Option<u64>,
    /// How often pmtr started it since it was (re)configured.
    pub starts: u32,
    /// How the last process ended, and how many seconds ago.
    pub last_exit: Option<(Exit, u64)>,
    /// The configuration file has `disable` for it (as opposed to a
    /// runtime stop).
    pub disabled_in_config: bool,
    /// Why it can't start.
    pub reason: Option<S>,
    /// The `KEY=VALUE` fields after the fixed ones, in order, each one
    /// String with its value unescaped (`Vec<String>`, a type the binary
    /// has anyway, not one of pairs: issue 18, bytes). A key has no `=`.
    pub extra: Vec<S>,
}

impl<S: AsRef<str>> JobStatus<S> {
    /// Appends the `job` line's fixed fields, by the pieces pmtr's
    /// `write_status` writes them with, in the same order (see
    /// [`write_head`]). pmtr writes its `extra` fields straight after
    /// them ([`write_extra`]), then the newline, instead of collecting
    /// them as strings first (issue 18, bytes).
    #[cfg(test)]
    pub fn write_fields(&self, out: &mut String) {
        write_head(out, self.name.as_ref(), self.state);
        write_opt(out, self.pid.map(u64::from));
        write_opt(out, self.uptime);
        write_opt(out, Some(self.starts.into()));
        write_last_exit(out, self.last_exit);
        write_opt(out, self.restart_in);
        write_opt(out, Some(self.disabled_in_config.into()));
        write_reason(out, self.reason.as_ref().map(AsRef::as_ref));
    }
}

/// Appends a `job` line's first fields, `job\tNAME\tSTATE`. The pieces
/// of a job line are written one after the other as pmtr reads each
/// off its job (`supervisor::control::write_status`), not first
/// gathered into a [`JobStatus`] to be read back: its values were
/// computed ahead and kept in the stack frame (issue 18, bytes). Texts
/// pushed, not `write!` (issue 18, bytes).
pub fn write_head(out: &mut String, name: &str, state: State) {
    out.push_str("job\t");
    out.push_str(name);
    out.push('\t');
    out.push_str(state.keyword());
}

/// Appends a number field of a `job` line, `-` for none. Numbers by
/// `itoa`, not `write!` (issue 18, bytes).
pub fn write_opt(out: &mut String, v: Option<u64>) {
    out.push('\t');
    match v {
        Some(n) => crate::logger::push_itoa(out, n),
        None => out.push('-'),
    }
}

/// Appends a `job` line's last exit and its age, `-` for each without
/// one. The two kinds through one format (issue 18, bytes).
pub fn write_last_exit(out: &mut String, last_exit: Option<(Exit, u64)>) {
    match last_exit {
        Some((exit, ago)) => {
            let (kind, n) = match exit {
                Exit::Status(n) => ("\tstatus ", n),
                Exit::Signal(n) => ("\tsignal ", n),
            };
            // The number by the client's `push_i32`, the age by
            // `write_opt`: no `write!` (issue 18, bytes).
            super::client::push_i32(out, kind, n);
            write_opt(out, Some(ago));
        }
        None => out.push_str("\t-\t-"),
    }
}

/// Appends a `job` line's reason it can't start, escaped, `-` for none.
pub fn write_reason(out: &mut String, reason: Option<&str>) {
    match reason {
        Some(r) => {
            out.push('\t');
            escape_into(out, r);
        }
        None => out.push_str("\t-"),
    }
}

impl JobStatus {
    /// The value of extra field `key`, if pmtr sent it.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find_map(|kv| crate::strip_ascii(kv.strip_prefix(key)?, b'='))
    }

    /// Restarts since it was (re)configured: every start after the first.
    pub fn restarts(&self) -> u32 {
        self.starts.saturating_sub(1)
    }

    /// Appends the `job` line (pmtr's side writes it in parts:
    /// `supervisor::control`).
    #[cfg(test)]
    pub fn write_line(&self, out: &mut String) {
        self.write_fields(out);
        for kv in &self.extra {
            let (key, value) = crate::split_once(kv, b'=').unwrap_or_default();
            write_extra(out, key, value);
        }
        out.push('\n');
    }

    /// Parses the fields after `job\t`.
    #[cfg(any(test, fuzzing))]
    pub fn parse_fields(fields: &str) -> Option<JobStatus> {
        let mut jobs = Vec::new();
        Self::push_parsed(fields, &mut jobs)?;
        jobs.pop()
    }

    /// Parses the fields after `job\t` and pushes the job onto `jobs`:
    /// no `Option<JobStatus>` moved out to the caller (issue 18, bytes).
    /// `None` refuses the line. Out of line but on 64-bit: inlined into
    /// the client's `main` on aarch64 it is 80 bytes less, into
    /// `Answer::read` on x86_64 (with `parse_args` inlined into `main`)
    /// 48 less (issue 18).
    #[cfg_attr(
        not(any(target_arch = "aarch64", target_arch = "x86_64")),
        inline(never)
    )]
    pub fn push_parsed(fields: &str, jobs: &mut Vec<JobStatus>) -> Option<()> {
        // Ten fields into an array, not a Vec (issue 18, bytes); the
        // extra `key=value` fields after them.
        let mut f = [""; 10];
        let (10, rest) = crate::split_fields(fields, b'\t', &mut f) else {
            return None;
        };
        // Named by reference: each field read from the array where it
        // is used, not the ten copied to other stack slots first (issue
        // 18, bytes).
        let [
            name,
            state,
            pid,
            uptime,
            starts,
            exit,
            ago,
            restart_in,
            in_config,
            reason,
        ] = &f;
        let mut extra = Vec::new();
        if let Some(mut rest) = rest {
            loop {
                // Cut by the client's `next_field`, as its answer's
                // fields are: the last one took all that was left (issue
                // 18, bytes).
                let left = rest.len();
                let kv = super::client::next_field(&mut rest, b'\t');
                // `KEY=` as it is, then the value unescaped: split after
                // the `=`, not split at it and the key cut again (issue
                // 18, bytes).
                let (k, v) = crate::split_after(kv, b'=')?;
                extra.push(unescape(k, v));
                if kv.len() == left {
                    break;
                }
            }
        }
        // The pid read as a u32 by the same parser: one that does not fit
        // refuses the line (issue 18, bytes).
        fn opt<T: TryFrom<u64>>(s: &str) -> Option<Option<T>> {
            if is(s, b'-') {
                Some(None)
            } else {
                crate::parse_unsigned(s).map(Some)
            }
        }
        // The two kinds read by one path (issue 18, bytes).
        let last_exit = if is(exit, b'-') {
            None
        } else {
            // Cut by `next_field`: without a space the number is empty,
            // which refuses the line (issue 18, bytes).
            let mut n = *exit;
            let kind = super::client::next_field(&mut n, b' ');
            let n = crate::parse_i32(n)?;
            // By place in a word list, through the one search (issue 18,
            // bytes).
            let exit = match crate::config::word_index("status\0signal\0", kind)? {
                0 => Exit::Status(n),
                _ => Exit::Signal(n),
            };
            Some((exit, crate::parse_unsigned(ago)?))
        };
        // The fields that can refuse the line first, the name's copy
        // after them: a refusal has only the extra fields to free (issue
        // 18, bytes).
        jobs.push(JobStatus {
            state: State::from_keyword(state)?,
            // A pid that does not fit refuses the line, as any bad field
            // does: `as u32` would show 4294967297 as pid 1.
            pid: opt(pid)?,
            uptime: opt(uptime)?,
            restart_in: opt(restart_in)?,
            starts: crate::parse_unsigned(starts)?,
            name: name.to_string(),
            last_exit,
            disabled_in_config: is(in_config, b'1'),
            reason: (!is(reason, b'-')).then(|| unescape("", reason)),
            extra,
        });
        Some(())
    }
}

/// Whether `field` is the one byte `b` (`-` for none, `1`): the length
/// and the byte compared in place, no slice comparison called (issue
/// 18, bytes).
fn is(field: &str, b: u8) -> bool {
    field.as_bytes() == [b]
}

/// Appends a `KEY=VALUE` field of a job line, the value escaped.
pub fn write_extra(out: &mut String, key: &str, value: &str) {
    out.push('\t');
    out.push_str(key);
    out.push('=');
    escape_into(out, value);
}

/// Makes free text safe for one tab-separated field.
/// `error\t`, `before`, `word` escaped, `after` and a newline: a
/// refused request's answer line, built without `format!` (issue 18,
/// bytes).
fn refusal(before: &str, word: &str, after: &str) -> String {
    let mut out = String::from("error\t");
    out.push_str(before);
    escape_into(&mut out, word);
    out.push_str(after);
    out.push('\n');
    out
}

/// Appends `text` made safe for one tab-separated field.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        // A backslash and the letter that stands for the character: one
        // pair of pushes for the three, not a text each (issue 18, bytes).
        let short = match c {
            '\\' => '\\',
            '\t' => 't',
            '\n' => 'n',
            _ => '\0',
        };
        match c {
            _ if short != '\0' => {
                out.push('\\');
                out.push(short);
            }
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
}

/// `prefix`, then `field` unescaped.
pub fn unescape(prefix: &str, field: &str) -> String {
    let mut out = String::from(prefix);
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JobStatus {
        JobStatus {
            name: "web".into(),
            state: State::Running,
            pid: Some(1301),
            uptime: Some(73),
            restart_in: None,
            starts: 2,
            last_exit: Some((Exit::Signal(9), 75)),
            disabled_in_config: false,
            reason: None,
            extra: Vec::new(),
        }
    }

    /// The numbers as `write!` wrote them before they went through
    /// `itoa` (issue 18): every field, at its edges.
    #[test]
    fn job_line_numbers_read_as_display_wrote_them() {
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
        for pid in [None, Some(0), Some(1), Some(1301), Some(u32::MAX)] {
            for uptime in [None, Some(0), Some(59), Some(u64::MAX)] {
                for starts in [0, 1, 10, u32::MAX] {
                    let job = JobStatus {
                        pid,
                        uptime,
                        restart_in: uptime.map(|n| n / 2),
                        starts,
                        ..sample()
                    };
                    let mut line = String::new();
                    job.write_fields(&mut line);
                    let want = format!(
                        "job\tweb\trunning\t{}\t{}\t{starts}\tsignal 9\t75\t{}\t0\t-",
                        opt(pid.map(u64::from)),
                        opt(uptime),
                        opt(uptime.map(|n| n / 2)),
                    );
                    assert_eq!(line, want);
                }
            }
        }
    }

    /// The last exit as `write!` wrote it before it went through
    /// `push_i32` (issue 18): both kinds, negative numbers, every age.
    #[test]
    fn last_exit_reads_as_display_wrote_it() {
        for n in [0, 1, 9, 255, -1, i32::MAX, i32::MIN] {
            for ago in [0, 75, u64::MAX] {
                for (exit, kind) in [(Exit::Status(n), "status"), (Exit::Signal(n), "signal")] {
                    let job = JobStatus {
                        last_exit: Some((exit, ago)),
                        ..sample()
                    };
                    let mut line = String::new();
                    job.write_fields(&mut line);
                    let want = format!("\t{kind} {n}\t{ago}\t");
                    assert!(line.contains(&want), "{line:?} {want:?}");
                    let parsed = JobStatus::parse_fields(line.strip_prefix("job\t").unwrap());
                    assert_eq!(parsed.map(|j| j.last_exit), Some(Some((exit, ago))));
                }
            }
        }
    }

    /// `disabled_in_config` as `1` or `0`, as the two texts wrote it.
    #[test]
    fn disabled_in_config_is_one_or_zero() {
        for (disabled, want) in [(true, "\t1\t-"), (false, "\t0\t-")] {
            let job = JobStatus {
                disabled_in_config: disabled,
                ..sample()
            };
            let mut line = String::new();
            job.write_fields(&mut line);
            assert!(line.ends_with(want), "{line:?}");
            let parsed = JobStatus::parse_fields(line.strip_prefix("job\t").unwrap());
            assert_eq!(parsed.map(|j| j.disabled_in_config), Some(disabled));
        }
    }

    #[test]
    fn a_pid_too_large_refuses_the_line() {
        let mut line = String::new();
        sample().write_fields(&mut line);
        let fields = line.strip_prefix("job\t").unwrap();
        assert!(JobStatus::parse_fields(fields).is_some());
        for pid in ["4294967296", "4294967297", "18446744073709551615"] {
            let bad = fields.replacen("1301", pid, 1);
            assert_eq!(JobStatus::parse_fields(&bad), None, "{pid}");
        }
        let max = fields.replacen("1301", "4294967295", 1);
        assert_eq!(JobStatus::parse_fields(&max).unwrap().pid, Some(u32::MAX));
    }

    /// The cuts by the client's `next_field` refuse what `split_once`
    /// refused: a last exit without its number, an extra field without
    /// `=` or empty; a value keeps any `=` after the first.
    #[test]
    fn malformed_fields_refuse_the_line() {
        let mut line = String::new();
        sample().write_fields(&mut line);
        let fields = line.strip_prefix("job\t").unwrap();
        for bad in [
            fields.replacen("signal 9", "signal", 1),
            fields.replacen("signal 9", "signal ", 1),
            fields.replacen("signal 9", "kill 9", 1),
            format!("{fields}\t"),
            format!("{fields}\tkey"),
            format!("{fields}\ta=1\t"),
        ] {
            assert_eq!(JobStatus::parse_fields(&bad), None, "{bad:?}");
        }
        let job = JobStatus::parse_fields(&format!("{fields}\ta=1\tb=x=y")).unwrap();
        assert_eq!(job.extra, ["a=1", "b=x=y"]);
        assert_eq!(job.extra("b"), Some("x=y"));
    }

    #[test]
    fn words_are_the_wire_words() {
        let verbs = [
            "status", "stop", "start", "restart", "reload", "signal", "metrics",
        ];
        assert_eq!(Verb::ALL.len(), verbs.len());
        for (&verb, word) in Verb::ALL.iter().zip(verbs) {
            assert_eq!(verb.word(), word);
            assert_eq!(Verb::from_word(word), Some(verb));
        }
        let states = [
            "running",
            "starting",
            "unhealthy",
            "stopping",
            "waiting",
            "exit33",
            "done",
            "disabled",
            "not-startable",
            "pending",
            "failed",
        ];
        for (&state, word) in State::ALL.iter().zip(states) {
            assert_eq!(state.keyword(), word);
            assert_eq!(State::from_keyword(word), Some(state));
        }
        for word in ["", "Status", "stat", "runningx", "\0"] {
            assert_eq!(Verb::from_word(word), None);
            assert_eq!(State::from_keyword(word), None);
        }
    }

    #[test]
    fn extra_fields_round_trip() {
        let job = JobStatus {
            extra: vec!["delay=4".into(), "status_text=up\tand ready".into()],
            ..sample()
        };
        let mut line = String::new();
        job.write_line(&mut line);
        assert!(
            line.ends_with("\t-\tdelay=4\tstatus_text=up\\tand ready\n"),
            "{line}"
        );
        let fields = line.trim_end().strip_prefix("job\t").unwrap();
        assert_eq!(JobStatus::parse_fields(fields), Some(job));
    }

    #[test]
    fn job_line_round_trips() {
        let mut line = String::new();
        sample().write_line(&mut line);
        assert_eq!(
            line,
            "job\tweb\trunning\t1301\t73\t2\tsignal 9\t75\t-\t0\t-\n"
        );
        let fields = line.trim_end().strip_prefix("job\t").unwrap();
        assert_eq!(JobStatus::parse_fields(fields), Some(sample()));
    }

    #[test]
    fn reason_with_tabs_round_trips() {
        let job = JobStatus {
            state: State::NotStartable,
            pid: None,
            uptime: None,
            reason: Some("a\tb\\c\nd".into()),
            ..sample()
        };
        let mut line = String::new();
        job.write_line(&mut line);
        assert_eq!(line.matches('\t').count(), 10);
        let fields = line.trim_end().strip_prefix("job\t").unwrap();
        assert_eq!(JobStatus::parse_fields(fields), Some(job));
    }

    #[test]
    fn request_parses() {
        assert_eq!(
            Request::parse(b"stop a  b"),
            Ok(Request {
                verb: Verb::Stop,
                names: vec!["a".into(), "b".into()],
                signal: None,
            })
        );
        assert_eq!(
            Request::parse(b"status"),
            Ok(Request {
                verb: Verb::Status,
                names: vec![],
                signal: None,
            })
        );
    }

    #[test]
    fn signal_request_takes_a_known_signal_last() {
        let req = Request::parse(b"signal web db SIGUSR1").unwrap();
        assert_eq!(req.names, ["web", "db"]);
        assert_eq!(req.signal, Some(Signal::USR1));
        assert_eq!(req.line(), "signal web db 10\n");
        assert_eq!(Request::parse(req.line().trim_end().as_bytes()), Ok(req));
        assert_eq!(
            Request::parse(b"signal web NOPE"),
            Err("error\tunknown signal 'NOPE'\n".into())
        );
        assert!(Request::parse(b"signal web 0").is_err());
        assert!(Request::parse(b"signal web 64").is_err());
        assert!(Request::parse(b"signal HUP").is_err());
        assert!(Request::parse(b"signal").is_err());
        let reload = Request::parse(b"reload web").unwrap();
        assert_eq!((reload.verb, reload.signal), (Verb::Reload, None));
    }

    #[test]
    fn refusals_quote_the_word_escaped() {
        assert_eq!(
            Request::parse(b"bo\x01g\\us x"),
            Err("error\tunknown request 'bo?g\\\\us'\n".into())
        );
        assert_eq!(
            Request::parse(b"signal web S\x7fG"),
            Err("error\tunknown signal 'S?G'\n".into())
        );
        assert_eq!(
            Request::parse(b"stop"),
            Err("error\t'stop' needs at least one job name\n".into())
        );
    }

    #[test]
    fn requests_without_words_are_refused_by_why() {
        assert_eq!(Request::parse(b""), Err("error\tempty request\n".into()));
        assert_eq!(
            Request::parse(b" \t "),
            Err("error\tempty request\n".into())
        );
        assert_eq!(
            Request::parse(b"\xff"),
            Err("error\trequest is not UTF-8\n".into())
        );
        assert_eq!(
            Request::parse(b"status \xc3"),
            Err("error\trequest is not UTF-8\n".into())
        );
    }

    #[test]
    fn control_request_needs_a_name() {
        assert!(Request::parse(b"restart").is_err());
        assert!(Request::parse(b"").is_err());
        assert!(Request::parse(b"reboot now").is_err());
    }

    #[test]
    fn restarts_do_not_count_the_first_start() {
        assert_eq!(sample().restarts(), 1);
        let never = JobStatus {
            starts: 0,
            ..sample()
        };
        assert_eq!(never.restarts(), 0);
    }
}
