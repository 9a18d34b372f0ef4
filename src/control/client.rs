//! `pmtr status [NAME…] [--json]`, `pmtr stop|start|restart|reload NAME…`
//! and `pmtr signal NAME… SIGNAL`: one request to the running pmtr over its control socket.
//!
//! Exit codes follow the LSB `status` convention, so an init script's
//! `status` can run `pmtr status` as it is:
//! - 0: every job asked about is fine: running, or a `once` job that has
//!   run (`done`); without names, jobs disabled in the configuration file
//!   count as fine too. For stop/start/restart: done.
//! - 3: some job asked about is not fine (status only).
//! - 1: some job asked about has failed (`give up`, issue 15: dead, not
//!   merely down), pmtr could not be reached (the message names the socket
//!   tried), a name is not a job (the message names it; nothing is done),
//!   or a job can't be started.
//! - 2: usage error.
//! - 4: permission denied (the socket's mode, or pmtr refused the uid).

use crate::prelude::*;
use core::mem::ManuallyDrop;
use core::time::Duration;

use rustix::io::Errno;
use rustix::net::{self, AddressFamily, SocketFlags};

use super::protocol::{Exit, JobStatus, MAX_REQUEST, STATE_TEXTS, STATES, State, Verb};
use crate::cli::DEFAULT_SOCKET;
use crate::control::table::{Cells, duration};
use crate::packed::{Arg, Filled, Str, msg};
use crate::rt::print::{out, stderr, stdout};

const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NOT_RUNNING: u8 = 3;
const EXIT_DENIED: u8 = 4;

/// How long to wait for pmtr's answer; it answers at once unless it is
/// stuck, and a script must not hang on a stuck pmtr.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// The socket path and the names are borrowed from the command line
/// (issue 18, bytes).
struct Args<'a> {
    socket: &'a str,
    /// `--json` and `--prometheus`, by their flags' places less 3: one
    /// store for both (issue 18, bytes).
    flags: [bool; 2],
    names: Vec<&'a str>,
    /// `pmtr signal NAME... SIGNAL`.
    signal: Option<rustix::process::Signal>,
}

/// A usage error: its text packed where it is written ([`msg!`], `{}`
/// marking the word, if any) and the word from the command line. No
/// String made, no plain text (issue 18, bytes).
type UsageError<'a> = (&'static [u8], &'a str);

/// Reads `args` into `out`, made with the defaults: filled in place, not
/// moved out of a Result (issue 18, bytes). `Ok(true)` asks for help.
/// Left to the inliner, which puts it into `main`: smaller than out of
/// line on every target pmtr ships for (issue 18, bytes: aarch64 -136;
/// x86_64, with `JobStatus::push_parsed` inlined too, -48).
fn parse_args<'a>(
    verb: Verb,
    word: &'static str,
    args: &'a [String],
    out: &mut Args<'a>,
) -> Result<bool, UsageError<'a>> {
    // Each usage error leaves the block with its text and word: the
    // error made at one place (issue 18, bytes).
    let failed = 'usage: {
        let mut args = args.iter();
        let mut only_names = false;
        while let Some(arg) = args.next() {
            let text = arg.as_str();
            // `-` and a byte on is a flag: told by the bytes, with no char
            // pattern (issue 18, bytes).
            if only_names || !matches!(text.as_bytes(), [b'-', _, ..]) {
                out.names.push(text);
                continue;
            }
            // Matched by place in one list (issue 18, bytes).
            match crate::config::word_index("--\0-h\0--help\0--json\0--prometheus\0-s\0", text) {
                Some(0) => only_names = true,
                Some(1 | 2) => return Ok(true),
                Some(n @ (3 | 4)) if verb == Verb::Status => {
                    if let Some(flag) = out.flags.get_mut(n - 3) {
                        *flag = true;
                    }
                }
                // `-s PATH` or `-sPATH`: the socket stored at one place
                // (issue 18, bytes).
                n => {
                    let path = if n == Some(5) {
                        args.next().map(String::as_str)
                    } else {
                        text.strip_prefix("-s")
                    };
                    match path {
                        Some(path) => out.socket = path,
                        // The daemon's text for a flag's missing argument,
                        // its letter the value: one packed text for both
                        // (issue 18, bytes).
                        None if n == Some(5) => {
                            break 'usage (msg!(0, "option '-{}' needs an argument"), "s");
                        }
                        None => break 'usage (msg!(0, "unknown option '{}'"), text),
                    }
                }
            }
        }
        if out.flags == [true; 2] {
            break 'usage (msg!(0, "--json and --prometheus exclude each other"), "");
        }
        if verb == Verb::Signal {
            let Some(word) = out.names.pop() else {
                break 'usage (
                    msg!(
                        0,
                        "'signal' needs job names and a signal, like: pmtr signal web USR1"
                    ),
                    "",
                );
            };
            let Some(sig) = crate::config::parse_signal(word) else {
                break 'usage (
                    msg!(
                        0,
                        "unknown signal '{}': give a name like HUP, USR1 or TERM, or a number from 1 to 31"
                    ),
                    word,
                );
            };
            out.signal = Some(sig);
        }
        if verb != Verb::Status && out.names.is_empty() {
            // The verb's word as `main` looked it up: no second lookup
            // (issue 18, bytes).
            break 'usage (msg!(0, "'{}' needs at least one job name"), word);
        }
        return Ok(false);
    };
    Err(failed)
}

/// Runs `pmtr VERB ARGS…`; returns the exit code.
#[inline(never)]
pub fn main(verb: Verb, args: &[String]) -> u8 {
    // What this makes lives until pmtr exits, which is when this
    // returns: never dropped, no drop code on the way out (issue 18,
    // bytes).
    let mut parsed = ManuallyDrop::new(Args {
        socket: DEFAULT_SOCKET,
        flags: [false; 2],
        names: Vec::new(),
        signal: None,
    });
    // The verb's word looked up once for its three uses (issue 18,
    // bytes).
    let word = verb.word();
    // The request line written here from the borrowed names: no String
    // per name (issue 18, bytes). `Request::line` writes the same.
    let mut line = ManuallyDrop::new(String::new());
    // The request's length in digits, for the one usage error that
    // gives a number.
    let len;
    // Each usage error leaves the block with its text, its word and
    // whether the usage text follows: one message printed for them all
    // (issue 18, bytes).
    let failed = 'usage: {
        match parse_args(verb, word, args, &mut parsed) {
            Ok(false) => {}
            Ok(true) => {
                crate::cli::write_usage(stdout(), crate::cli::Usage::Verb);
                return EXIT_OK;
            }
            Err((msg, value)) => break 'usage Some((msg, value, true)),
        }
        // `metrics` written out: no lookup (issue 18, bytes).
        line.push_str(if parsed.flags[1] { "metrics" } else { word });
        for name in &parsed.names {
            line.push(' ');
            line.push_str(name);
        }
        if let Some(sig) = parsed.signal {
            // A signal's number is positive: by `itoa`, not `write!` (issue
            // 18, bytes).
            line.push(' ');
            crate::logger::push_itoa(&mut line, sig.as_raw().unsigned_abs().into());
        }
        line.push('\n');
        if line.len() > MAX_REQUEST {
            // The limit written out, not formatted: one value less (issue
            // 18, bytes).
            const _: () = assert!(MAX_REQUEST == 1024, "the text says 1024");
            len = crate::logger::itoa(line.len() as u64);
            break 'usage Some((
                msg!(
                    0,
                    "too many names for one request ({} bytes, at most 1024); split them"
                ),
                len.as_str(),
                false,
            ));
        }
        None
    };
    if let Some((msg, value, usage)) = failed {
        let text = Filled {
            msg,
            args: &[Arg::new(&value)],
        };
        eprintln!("pmtr {}: {text}", Str(word));
        if usage {
            crate::cli::write_usage(stderr(), crate::cli::Usage::Verb);
        }
        return EXIT_USAGE;
    }
    let Args {
        socket,
        flags: [as_json, prometheus],
        ref names,
        ..
    } = *parsed;
    let all = names.is_empty();
    // Read into a Vec main makes, not moved out of a Result (issue 18,
    // bytes).
    let mut bytes = ManuallyDrop::new(Vec::new());
    if let Err(code) = ask(socket, &line, &mut bytes) {
        return code;
    }
    // As text, U+FFFD for what is not UTF-8 (it is, unless pmtr is not
    // pmtr): one path, no test for the copy (issue 18, bytes).
    let lossy = ManuallyDrop::new(crate::utf8::lossy(&bytes));
    let answer = lossy.as_str();
    // The metrics are printed as pmtr wrote them; anything else (a
    // refusal, an unknown name, a cut answer) is read as usual.
    // `end` and the newline cut off the bytes, the text written as
    // bytes: no `str` call; the four bytes compared as one word, not
    // one by one as a slice pattern does (issue 18, bytes: -24).
    if prometheus
        && let Some(text) = answer.as_bytes().strip_suffix(b"end\n")
        && !crate::has_byte(text, b'\t')
    {
        let _ = crate::files::write_all(stdout(), text);
        return EXIT_OK;
    }
    // Read into a record made here, not moved out of a Result (issue
    // 18, bytes).
    let text = answer;
    let mut answer = ManuallyDrop::new(Answer {
        pmtr_pid: None,
        jobs: Vec::new(),
        results: Vec::new(),
    });
    if let Err(code) = answer.read(text, socket) {
        return code;
    }
    if verb == Verb::Status {
        let text = ManuallyDrop::new(if as_json {
            json(&answer, all)
        } else {
            table(&answer.jobs)
        });
        out(&text);
        // One walk over the jobs, not an `any` and an `all` (issue 18,
        // bytes).
        let mut code = EXIT_OK;
        for j in &answer.jobs {
            if j.state == State::Failed {
                // A job that gave up is dead, not merely down (LSB's 1).
                return EXIT_FAILED;
            }
            if !fine(j, all) {
                code = EXIT_NOT_RUNNING;
            }
        }
        code
    } else {
        // One print for both: done to stdout, failed to stderr after
        // "pmtr: " (issue 18, bytes).
        let mut code = EXIT_OK;
        for &(name, ok, what) in &answer.results {
            let (fd, head) = if ok {
                (stdout(), "")
            } else {
                code = EXIT_FAILED;
                (stderr(), "pmtr: ")
            };
            crate::rt::print::print_to(
                fd,
                format_args!("{}{}: {}\n", Str(head), Str(name), Str(what)),
            );
        }
        code
    }
}

/// Whether `job` counts as healthy for the exit code. A `once` job that
/// has run did what it should; without names, a job the configuration
/// disables is as configured.
fn fine(job: &JobStatus, all: bool) -> bool {
    match job.state {
        State::Running | State::Done => true,
        State::Disabled => all && job.disabled_in_config,
        _ => false,
    }
}

/// Why there is no answer: the call that failed on the socket at `path`
/// (borrowed, not copied: issue 18, bytes), and why.
#[derive(Debug)]
struct AskError<'a> {
    path: &'a str,
    errno: Errno,
    /// The answer could not be read (else: no connection).
    read: bool,
}

impl AskError<'_> {
    /// Prints why, with a hint for the usual causes of a failed connect,
    /// and returns the exit code. One `eprintln!`, no `Display` impl
    /// (issue 18, bytes).
    fn report(&self) -> u8 {
        let AskError { path, errno, read } = *self;
        let head = if read {
            msg!(0, "no answer from pmtr at {}: read: ")
        } else {
            msg!(0, "can't reach pmtr at {}: connect: ")
        };
        // The hint by place in one list (issue 18, bytes).
        let i = match errno {
            _ if read => 0,
            Errno::ACCESS | Errno::PERM => 1,
            Errno::NOENT | Errno::CONNREFUSED | Errno::NOTDIR => 2,
            _ => 0,
        };
        // Packed where it is written (issue 18, bytes).
        let hint = match i {
            0 => msg!(0, ""),
            1 => msg!(0, " (only root and the user pmtr runs as may use it)"),
            _ => msg!(0, " (is pmtr running? -s SOCKET picks its socket)"),
        };
        let code = if i == 1 { EXIT_DENIED } else { EXIT_FAILED };
        let head = Filled {
            msg: head,
            args: &[Arg::new(&path)],
        };
        eprintln!(
            "pmtr: {head}{}{}",
            crate::sys::strerror(errno),
            Filled::text(hint)
        );
        code
    }
}

/// Sends `line` and reads the answer to the end into `answer`, its bytes
/// as they came: a Vec main makes, not one moved out of a `Result`
/// (issue 18, bytes). Out of line but on aarch64: inlined, it made
/// client::main larger by 152 bytes on armv7, and 80 bytes smaller on
/// aarch64 (issue 18).
/// A failure is reported here; its exit code is the error: no
/// `AskError` moved out to `main` (issue 18, bytes).
#[cfg_attr(not(target_arch = "aarch64"), inline(never))]
fn ask(path: &str, line: &str, answer: &mut Vec<u8>) -> Result<(), u8> {
    // A failed call leaves the block with its errno and whether it was
    // the read: one place makes the error (issue 18, bytes).
    let (errno, read) = 'failed: {
        // Borrowed where the Result holds it, not moved out (issue 18,
        // bytes).
        let addr = crate::files::unix_addr(path);
        let addr = match &addr {
            Ok(addr) => addr,
            Err(e) => break 'failed (*e, false),
        };
        // Never closed: the client exits once the answer is read, and
        // the exit closes it; no `close` on each way out (issue 18,
        // bytes).
        let fd = match net::socket_with(
            AddressFamily::UNIX,
            net::SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        ) {
            Ok(fd) => ManuallyDrop::new(fd),
            Err(e) => break 'failed (e, false),
        };
        if let Err(e) = net::connect(crate::sys::lend(&fd), addr) {
            break 'failed (e, false);
        }
        for which in [net::sockopt::Timeout::Recv, net::sockopt::Timeout::Send] {
            let _ = net::sockopt::set_socket_timeout(&*fd, which, Some(ANSWER_WITHIN));
        }
        // A refusal may close the connection before the request is read; the
        // answer still waits to be read, so a failed write is not the end.
        let _ = crate::files::write_all(crate::sys::lend(&fd), line.as_bytes());
        loop {
            // Read straight into `answer`, as `logger::metrics` does: no
            // buffer on the stack, no copy (issue 18, bytes).
            answer.reserve(1024);
            match rustix::io::read(&*fd, rustix::buffer::spare_capacity(&mut *answer)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(Errno::INTR) => {}
                // The answer came before pmtr closed a connection it had not
                // read to the end (a refusal): keep what arrived.
                Err(Errno::CONNRESET) if !answer.is_empty() => break,
                Err(err) => break 'failed (err, true),
            }
        }
        return Ok(());
    };
    Err(AskError { path, errno, read }.report())
}

/// pmtr's answer, parsed.
/// Borrowing the answer's text (issue 18, bytes).
struct Answer<'a> {
    pmtr_pid: Option<u32>,
    jobs: Vec<JobStatus>,
    /// stop/start/restart: (name, done, what happened).
    results: Vec<(&'a str, bool, &'a str)>,
}

impl<'a> Answer<'a> {
    /// Reads `text` into this answer, made empty. A failure is reported
    /// here, naming `socket`; its exit code is the error: no error moved
    /// out to `main` (issue 18, bytes). Out of line but on ARM: inlined
    /// into `main`, it is 152 bytes less on 32-bit ARM and 176 less on
    /// aarch64 min, 192 / 56 bytes more on x86_64 min / stable (issue
    /// 18, bytes).
    #[cfg_attr(not(any(target_arch = "arm", target_arch = "aarch64")), inline(never))]
    fn read(&mut self, text: &'a str, socket: &str) -> Result<(), u8> {
        let answer = self;
        let mut ended = false;
        // The unknown names, quoted. Never dropped: the client exits next
        // (issue 18, bytes).
        let mut list = ManuallyDrop::new(String::new());
        // Each failure leaves the block with its text, value and exit
        // code: one message printed for them all, the socket's name
        // within the texts that give it (issue 18, bytes).
        let (msg, value, code) = 'failed: {
            for line in crate::Lines(text) {
                let mut rest = line;
                let kind = next_field(&mut rest, b'\t');
                let read = match crate::config::word_index(
                    "refused\0error\0unknown\0pmtr\0job\0ok\0fail\0end\0",
                    kind,
                ) {
                    // A refusal (permission) or an error: pmtr's text as
                    // it is.
                    Some(n @ (0 | 1)) => {
                        let code = if n == 0 { EXIT_DENIED } else { EXIT_FAILED };
                        break 'failed (msg!(0, "{} (socket {})"), rest, code);
                    }
                    Some(2) => {
                        // The names as pmtr sent them, tab-separated, each
                        // quoted, `', '` between them: cut by `next_field`,
                        // the last one the field that took all that was left
                        // (issue 18, bytes: no `Split` nor a cut of the last
                        // `, `).
                        list.push('\'');
                        loop {
                            let left = rest.len();
                            let n = next_field(&mut rest, b'\t');
                            list.push_str(n);
                            if n.len() == left {
                                break;
                            }
                            list.push_str("', '");
                        }
                        list.push('\'');
                        break 'failed (
                            msg!(
                                0,
                                "no job named {} in the running configuration; nothing done"
                            ),
                            list.as_str(),
                            EXIT_FAILED,
                        );
                    }
                    Some(3) => {
                        answer.pmtr_pid = crate::parse_unsigned(rest);
                        true
                    }
                    Some(4) => JobStatus::push_parsed(rest, &mut answer.jobs).is_some(),
                    Some(n @ (5 | 6)) => {
                        let name = next_field(&mut rest, b'\t');
                        answer.results.push((name, n == 5, rest));
                        true
                    }
                    Some(_) => {
                        ended = true;
                        true
                    }
                    None => false,
                };
                // One message for an unknown line and a job line that does
                // not read (issue 18, bytes).
                if !read {
                    break 'failed (
                        msg!(0, "can't read pmtr's answer line '{}' (socket {})"),
                        line,
                        EXIT_FAILED,
                    );
                }
            }
            if ended {
                return Ok(());
            }
            // No value but the socket's name.
            let text = if text.is_empty() {
                msg!(
                    0,
                    "pmtr closed the connection without an answer (socket {})"
                )
            } else {
                msg!(0, "pmtr's answer was cut short (socket {})")
            };
            (text, socket, EXIT_FAILED)
        };
        // The socket's name fills the second `{}`, or the first of a
        // text without a value; the unknown names' text leaves it.
        let text = Filled {
            msg,
            args: &[Arg::new(&value), Arg::new(&socket)],
        };
        eprintln!("pmtr: {text}");
        Err(code)
    }
}

/// The text before the first `sep` of `rest`, `rest` then left after it
/// (empty without one): one cut out of line for all of
/// [`Answer::read`]'s (tabs), `state_text`'s list of the jobs waited
/// for (commas) and `json`'s `KEY=VALUE` fields, answered in registers
/// (issue 18, bytes).
#[inline(never)]
pub(super) fn next_field<'a>(rest: &mut &'a str, sep: u8) -> &'a str {
    match crate::split_once(rest, sep) {
        Some((field, after)) => {
            *rest = after;
            field
        }
        // The last field, all that was left: taken, `rest` left empty
        // (issue 18, bytes).
        None => core::mem::take(rest),
    }
}

/// Appends the STATE column's text for `job`.
fn state_text(text: &mut String, job: &JobStatus) {
    // A word of the states' list: a state's own (said as on the wire) or
    // one of the texts after them, by place: one `nth_word` of one list,
    // no text or list per arm (issue 18, bytes).
    // The `give up` window looked up once for the two states that show
    // it (issue 18, bytes).
    let give_up = job.extra("give_up_after");
    let i = match job.state {
        State::Running | State::Starting | State::Unhealthy | State::Stopping => job.state as usize,
        State::Waiting => {
            text.push_str("waiting to restart");
            if let Some(n) = job.restart_in {
                crate::packed::append(text, format_args!(" in {} s", crate::packed::Int(n)));
            }
            // Issue 15: the backoff and the `give up` window, if any.
            if let Some(d) = job.extra("delay_secs") {
                crate::packed::append(text, format_args!(", delay {} s", Str(d)));
            }
            if let (Some(n), Some(of)) = (job.extra("quick_exits"), give_up) {
                crate::packed::append(
                    text,
                    format_args!(", {} of {} quick exits", Str(n), Str(of)),
                );
            }
            return;
        }
        State::Failed => {
            text.push_str("failed");
            if let Some(n) = give_up {
                crate::packed::append(text, format_args!(": gave up after {} quick exits", Str(n)));
            }
            return;
        }
        State::Done if job.extra("restart") == Some("on-failure") => STATE_TEXTS + 5,
        // The state's own word.
        State::Disabled if job.disabled_in_config => State::Disabled as usize,
        // The texts of `exit33` to `pending` are in the states' order:
        // each one's place is its state's plus one sum, not one per arm
        // (issue 18, bytes).
        State::Exit33 | State::Done | State::Disabled | State::NotStartable => {
            job.state as usize - State::Exit33 as usize + STATE_TEXTS
        }
        State::Pending => match job.extra("waits") {
            Some(names) => {
                text.push_str("waiting for ");
                // The names, `, ` between them, cut as `Answer::read`
                // cuts its unknown names (issue 18, bytes).
                let mut rest = names;
                loop {
                    let left = rest.len();
                    let name = next_field(&mut rest, b',');
                    text.push_str(name);
                    if name.len() == left {
                        return;
                    }
                    text.push_str(", ");
                }
            }
            None => State::Pending as usize - State::Exit33 as usize + STATE_TEXTS,
        },
    };
    text.push_str(crate::config::nth_word(STATES, i));
    // Issue 16: how long in this state; for `running`, only when it
    // became ready after it started (else UPTIME says it).
    if matches!(
        job.state,
        State::Running | State::Starting | State::Unhealthy
    ) && let Some(secs) = job.extra("in_state").and_then(crate::parse_unsigned::<u64>)
        && (job.state != State::Running || Some(secs) != job.uptime)
    {
        text.push(' ');
        duration(text, secs);
    }
}

/// One aligned line per job, headed; reasons a job can't start follow.
fn table(jobs: &[JobStatus]) -> String {
    // Never dropped: the client exits after printing (issue 18, bytes).
    let mut cells: ManuallyDrop<Cells<6>> =
        ManuallyDrop::new(Cells::new("NAME\tSTATE\tPID\tUPTIME\tRESTARTS\tLAST EXIT"));
    for j in jobs {
        cells.push(&j.name);
        state_text(&mut cells.text, j);
        cells.end();
        // The four cells after STATE by one loop over their places: a
        // blank one is `-`, pushed at one place, and each cell ended at
        // one (issue 18, bytes).
        for col in 0..4 {
            let text = &mut cells.text;
            let shown = match col {
                0 => j.pid.map(|p| crate::logger::push_itoa(text, p.into())),
                1 => j.uptime.map(|secs| duration(text, secs)),
                2 => {
                    crate::logger::push_itoa(text, j.restarts().into());
                    Some(())
                }
                _ => j.last_exit.map(|(exit, ago)| {
                    let (word, n) = match exit {
                        Exit::Status(n) => ("exit status ", n),
                        Exit::Signal(n) => ("signal ", n),
                    };
                    push_i32(text, word, n);
                    text.push_str(", ");
                    duration(text, ago);
                    text.push_str(" ago");
                }),
            };
            if shown.is_none() {
                text.push('-');
            }
            cells.end();
        }
    }
    // Not trimmed: a line's last cell (LAST EXIT) is `-`, the header's
    // word or ends in ` ago`, never blank (issue 18, bytes).
    let mut out = cells.aligned(false);
    for j in jobs {
        if let Some(reason) = &j.reason {
            // Pushed, not formatted (issue 18, bytes).
            out.push_str(&j.name);
            out.push_str(": can't start: ");
            out.push_str(reason);
            out.push('\n');
        }
    }
    out
}

/// Appends `head`, then `n` in decimal, `-` first if it is negative: by
/// `itoa`, not `write!`, for the exit's number in the table and in JSON
/// (issue 18, bytes).
#[inline(never)]
pub(crate) fn push_i32(out: &mut String, head: &str, n: i32) {
    out.push_str(head);
    if n < 0 {
        out.push('-');
    }
    crate::logger::push_itoa(out, n.unsigned_abs().into());
}

/// Appends `key` (the text before the value: `,"name":`), then `text`
/// as a JSON string. One call for both (issue 18, bytes).
pub fn json_string(out: &mut String, key: &str, text: &str) {
    out.push_str(key);
    out.push('"');
    for c in text.chars() {
        // A backslash and the letter that stands for the character: one
        // pair of pushes for the five, not a text each (issue 18, bytes).
        let short = match c {
            '"' | '\\' => c,
            '\n' => 'n',
            '\r' => 'r',
            '\t' => 't',
            _ => '\0',
        };
        match c {
            _ if short != '\0' => {
                out.push('\\');
                out.push(short);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                // `\u00XX`, the two digits by hand: nothing else uses
                // u32's LowerHex (issue 18, bytes).
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u8;
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `key` (the text before the value: `,"pid":`), then `v` or
/// `null`. One call for both (issue 18, bytes).
fn json_opt(out: &mut String, key: &str, v: Option<u64>) {
    out.push_str(key);
    match v {
        // itoa, not write! (issue 18, bytes).
        Some(n) => crate::logger::push_itoa(out, n),
        None => out.push_str("null"),
    }
}

/// Appends `key`, then `true` or `false`: one text of each for every
/// key, no bool Display (issue 18, bytes).
fn json_bool(out: &mut String, key: &str, v: bool) {
    out.push_str(key);
    out.push_str(if v { "true" } else { "false" });
}

/// The status answer as one JSON document (schema in the README).
/// Out of line: inlined into `main`, whose frame holds much else, it
/// was 64 bytes more on x86_64 min (issue 18).
#[inline(never)]
fn json(answer: &Answer<'_>, all: bool) -> String {
    let mut out = String::new();
    json_opt(&mut out, "{\"pid\":", answer.pmtr_pid.map(u64::from));
    out.push_str(",\"jobs\":[");
    // One state text for every job, cleared for each, never dropped:
    // the client exits after this (issue 18, bytes).
    let mut text = ManuallyDrop::new(String::new());
    for j in &answer.jobs {
        // Every job but the first follows another's `}`: told by the
        // text's last byte, no count kept (issue 18, bytes).
        if out.as_bytes().last() != Some(&b'[') {
            out.push(',');
        }
        json_string(&mut out, "{\"name\":", &j.name);
        json_string(&mut out, ",\"state\":", j.state.keyword());
        text.clear();
        state_text(&mut text, j);
        json_string(&mut out, ",\"text\":", &text);
        json_bool(&mut out, ",\"ok\":", fine(j, all));
        json_opt(&mut out, ",\"pid\":", j.pid.map(u64::from));
        json_opt(&mut out, ",\"uptime_secs\":", j.uptime);
        json_opt(&mut out, ",\"restarts\":", Some(j.restarts().into()));
        json_opt(&mut out, ",\"restart_in_secs\":", j.restart_in);
        out.push_str(",\"last_exit\":");
        match j.last_exit {
            Some((exit, ago)) => {
                // The object's opening and key as the number's head: one
                // call, the key needs no escape (issue 18, bytes).
                let (head, n) = match exit {
                    Exit::Status(n) => ("{\"status\":", n),
                    Exit::Signal(n) => ("{\"signal\":", n),
                };
                // The age by the call every field uses; only the signed
                // number formatted (issue 18, bytes).
                push_i32(&mut out, head, n);
                json_opt(&mut out, ",\"secs_ago\":", Some(ago));
                out.push('}');
            }
            None => out.push_str("null"),
        }
        json_bool(&mut out, ",\"disabled_in_config\":", j.disabled_in_config);
        match &j.reason {
            Some(r) => json_string(&mut out, ",\"reason\":", r),
            // `null` after the key by `json_opt`: no text of its own
            // (issue 18, bytes).
            None => json_opt(&mut out, ",\"reason\":", None),
        }
        // The KEY=VALUE fields pmtr added (`restart`, `delay_secs`,
        // `quick_exits`, `give_up_after`, …): numbers as numbers.
        for kv in &j.extra {
            // Cut by the tabs' cut: every field has its `=` (issue 18,
            // bytes).
            let mut value = kv.as_str();
            let key = next_field(&mut value, b'=');
            // The `:` as the value's key text: no push of its own (issue
            // 18, bytes).
            json_string(&mut out, ",", key);
            match crate::parse_unsigned::<u64>(value) {
                Some(n) => json_opt(&mut out, ":", Some(n)),
                None => json_string(&mut out, ":", value),
            }
        }
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: State) -> JobStatus {
        JobStatus {
            name: "web".into(),
            state,
            pid: None,
            uptime: None,
            restart_in: None,
            starts: 1,
            last_exit: None,
            disabled_in_config: false,
            reason: None,
            extra: Vec::new(),
        }
    }

    #[test]
    fn json_escapes_quotes_backslashes_and_controls() {
        let mut s = String::new();
        json_string(&mut s, "", "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
        s.clear();
        json_string(&mut s, "", "\u{1f}\u{7f}\u{80}");
        assert_eq!(s, "\"\\u001f\\u007f\u{80}\"");
    }

    #[test]
    fn next_field_takes_the_last_field_whole() {
        let mut rest = "a\tb\t";
        assert_eq!(next_field(&mut rest, b'\t'), "a");
        assert_eq!(next_field(&mut rest, b'\t'), "b");
        assert_eq!(rest, "");
        assert_eq!(next_field(&mut rest, b'\t'), "");
        let mut rest = "last";
        assert_eq!(next_field(&mut rest, b'\t'), "last");
        assert_eq!(rest, "");
    }

    #[test]
    fn signed_numbers_as_write_makes_them() {
        for n in [0, 7, -1, -255, i32::MAX, i32::MIN] {
            let mut text = String::new();
            push_i32(&mut text, "", n);
            assert_eq!(text, n.to_string());
        }
    }

    #[test]
    fn metrics_is_the_verbs_word() {
        assert_eq!(Verb::Metrics.word(), "metrics");
    }

    #[test]
    fn once_job_that_ran_is_fine() {
        assert!(fine(&job(State::Done), false));
        assert!(fine(&job(State::Running), false));
        assert!(!fine(&job(State::Waiting), true));
        assert!(!fine(&job(State::Exit33), true));
    }

    #[test]
    fn config_disabled_is_fine_only_without_names() {
        let mut j = job(State::Disabled);
        j.disabled_in_config = true;
        assert!(fine(&j, true));
        assert!(!fine(&j, false));
        j.disabled_in_config = false;
        assert!(!fine(&j, true));
    }

    #[test]
    fn table_aligns_columns() {
        let mut a = job(State::Running);
        a.pid = Some(12);
        a.uptime = Some(5);
        let mut b = job(State::Waiting);
        b.name = "longer-name".into();
        b.restart_in = Some(7);
        b.last_exit = Some((Exit::Status(1), 3));
        let text = table(&[a, b]);
        let lines: Vec<&str> = text.lines().collect();
        let col = lines[0].find("STATE").unwrap();
        assert_eq!(lines[1].find("running"), Some(col));
        assert_eq!(lines[2].find("waiting to restart in 7 s"), Some(col));
        assert!(lines[2].ends_with("exit status 1, 3s ago"), "{text}");
    }

    fn with(mut j: JobStatus, fields: &[(&str, &str)]) -> JobStatus {
        j.extra = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        j
    }

    fn state_text(job: &JobStatus) -> String {
        let mut text = String::new();
        super::state_text(&mut text, job);
        text
    }

    #[test]
    fn backoff_and_give_up_show_in_the_state() {
        let mut w = job(State::Waiting);
        w.restart_in = Some(3);
        assert_eq!(
            state_text(&with(w.clone(), &[("delay_secs", "4")])),
            "waiting to restart in 3 s, delay 4 s"
        );
        assert_eq!(
            state_text(&with(
                w.clone(),
                &[
                    ("delay_secs", "4"),
                    ("quick_exits", "2"),
                    ("give_up_after", "5")
                ]
            )),
            "waiting to restart in 3 s, delay 4 s, 2 of 5 quick exits"
        );
        assert_eq!(state_text(&w), "waiting to restart in 3 s");
        let failed = with(job(State::Failed), &[("give_up_after", "5")]);
        assert_eq!(state_text(&failed), "failed: gave up after 5 quick exits");
        assert!(!fine(&failed, true));
        let done = with(job(State::Done), &[("restart", "on-failure")]);
        assert_eq!(state_text(&done), "done (exited 0; restart on-failure)");
        assert!(fine(&done, false));
        // The fixed texts, each by its state's place.
        assert_eq!(state_text(&job(State::Exit33)), "stopped by exit 33");
        assert_eq!(state_text(&job(State::Done)), "done (once)");
        assert_eq!(
            state_text(&job(State::Disabled)),
            "disabled until the config changes"
        );
        let mut in_config = job(State::Disabled);
        in_config.disabled_in_config = true;
        assert_eq!(state_text(&in_config), "disabled");
        assert_eq!(state_text(&job(State::NotStartable)), "not startable");
    }

    #[test]
    fn pending_lists_the_jobs_it_waits_for() {
        let one = with(job(State::Pending), &[("waits", "db")]);
        assert_eq!(state_text(&one), "waiting for db");
        let two = with(job(State::Pending), &[("waits", "db,cache")]);
        assert_eq!(state_text(&two), "waiting for db, cache");
        assert_eq!(state_text(&job(State::Pending)), "not started yet");
    }

    #[test]
    fn json_carries_the_extra_fields_numbers_as_numbers() {
        let j = with(
            job(State::Failed),
            &[("restart", "on-failure"), ("quick_exits", "5")],
        );
        let answer = Answer {
            pmtr_pid: Some(1),
            jobs: vec![j],
            results: Vec::new(),
        };
        let text = json(&answer, true);
        assert!(
            text.contains(r#""state":"failed""#)
                && text.contains(r#","restart":"on-failure","quick_exits":5}"#),
            "{text}"
        );
        // A value's own `=` stays in it: the field is cut at its first.
        let answer = Answer {
            pmtr_pid: None,
            jobs: vec![with(job(State::Running), &[("status_text", "a=b")])],
            results: Vec::new(),
        };
        let text = json(&answer, true);
        assert!(text.contains(r#","status_text":"a=b"}"#), "{text}");
        // The last exit as an object keyed by its kind, as before its
        // key became the number's head (issue 18).
        for (exit, want) in [
            (
                Exit::Status(-1),
                r#""last_exit":{"status":-1,"secs_ago":3},"#,
            ),
            (Exit::Signal(9), r#""last_exit":{"signal":9,"secs_ago":3},"#),
        ] {
            let mut answer = Answer {
                pmtr_pid: None,
                jobs: vec![job(State::Waiting)],
                results: Vec::new(),
            };
            answer.jobs[0].last_exit = Some((exit, 3));
            let text = json(&answer, true);
            assert!(text.contains(want), "{text}");
        }
    }

    /// `parse_args` from the defaults: the arguments, or `None` for help.
    fn parse(verb: Verb, args: &[String]) -> Result<Option<Args<'_>>, UsageError<'_>> {
        let mut out = Args {
            socket: DEFAULT_SOCKET,
            flags: [false; 2],
            names: Vec::new(),
            signal: None,
        };
        Ok((!parse_args(verb, verb.word(), args, &mut out)?).then_some(out))
    }

    #[test]
    fn signal_takes_names_then_a_known_signal() {
        let args = |a: &[&str]| -> Vec<String> { a.iter().map(|s| s.to_string()).collect() };
        match parse(Verb::Signal, &args(&["web", "db", "usr1"])) {
            Ok(Some(a)) => {
                assert_eq!(a.names, ["web", "db"]);
                assert_eq!(a.signal, Some(rustix::process::Signal::USR1));
            }
            _ => panic!(),
        }
        assert!(parse(Verb::Signal, &args(&["web", "BOGUS"])).is_err());
        assert!(parse(Verb::Signal, &args(&["USR1"])).is_err());
        assert!(parse(Verb::Signal, &args(&[])).is_err());
        assert!(parse(Verb::Reload, &args(&[])).is_err());
    }

    #[test]
    fn control_command_needs_names() {
        assert!(parse(Verb::Stop, &[]).is_err());
        assert!(parse(Verb::Status, &[]).is_ok());
        assert!(parse(Verb::Stop, &["--json".into(), "a".into()]).is_err());
    }

    /// `-` alone and words not starting with `-` are names; `-` and
    /// more is a flag, unless after `--`.
    #[test]
    fn a_name_is_a_word_that_is_not_a_flag() {
        let args = |a: &[&str]| -> Vec<String> { a.iter().map(|s| s.to_string()).collect() };
        match parse(Verb::Stop, &args(&["-", "a-b", "", "--", "-x"])) {
            Ok(Some(a)) => assert_eq!(a.names, ["-", "a-b", "", "-x"]),
            _ => panic!(),
        }
        assert!(parse(Verb::Stop, &args(&["a", "-x"])).is_err());
        assert!(parse(Verb::Stop, &args(&["a", "-é"])).is_err());
    }

    #[test]
    fn socket_flag_attached_or_separate() {
        for args in [vec!["-s", "/x.sock", "a"], vec!["a", "-s/x.sock"]] {
            let args: Vec<String> = args.into_iter().map(String::from).collect();
            match parse(Verb::Start, &args) {
                Ok(Some(a)) => {
                    assert_eq!(a.socket, String::from("/x.sock"));
                    assert_eq!(a.names, ["a"]);
                }
                _ => panic!("{args:?}"),
            }
        }
    }
}
