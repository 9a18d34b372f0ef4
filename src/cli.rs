//! Command-line flags, getopt style (SPEC §1): `pmtr -tc FILE` works.

use crate::prelude::*;

use crate::packed::{MAX_TEXT, Packed, packed};

/// Where the configuration lives unless `-c` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/pmtr.conf";

/// Where pmtr answers `pmtr status|stop|start|restart` unless `-s` says
/// otherwise.
pub const DEFAULT_SOCKET: &str = "/run/pmtr.sock";

/// The verbs' lines, in `pmtr -h` and in `pmtr status -h`: written once
/// here, a macro so that [`USAGE_TEXTS`] can `concat!` them.
macro_rules! verb_lines {
    () => {
        "\
pmtr status [-s SOCKET] [--json | --prometheus] [NAME...]
       pmtr stop|start|restart|reload [-s SOCKET] NAME...
       pmtr signal [-s SOCKET] NAME... SIGNAL
"
    };
}

/// Which usage text [`write_usage`] writes.
#[derive(Clone, Copy)]
pub enum Usage {
    /// `pmtr VERB -h`.
    Verb = 0,
    /// `pmtr -h`.
    Pmtr = 1,
}

/// The two usage texts, in the order of [`Usage`], each ended by a NUL.
/// `pmtr VERB -h` comes first, so that
/// `pmtr -h`'s copy of the verbs' lines is within reach of the packer's
/// copies of the first one.
pub(crate) const USAGE_TEXTS: &str = concat!(
    // pmtr VERB -h
    "usage: ",
    verb_lines!(),
    "
Asks the running pmtr about its jobs, or stops, starts or restarts them.
A stop lasts until the configuration changes or pmtr restarts. reload
sends each job's reload signal (HUP unless its `reload signal` says
otherwise), signal sends SIGNAL (a name like USR1, or a number), to the
job's process group.

  -s SOCKET   pmtr's control socket (default /run/pmtr.sock)
  --json      status as one JSON document
  --prometheus
              the metrics, in Prometheus' text format (as `metrics to`)

Exit status: 0 all jobs asked about are running, ready and healthy (or
done, for `once` jobs), 3 some are not, 1 some failed (gave up), pmtr
not reachable or unknown job name, 2 usage, 4 permission denied.
",
    "\0",
    // pmtr -h
    "\
usage: pmtr [-F] [-t] [-v]... [-c FILE] [-p PIDFILE] [-s SOCKET]
       ",
    verb_lines!(),
    "
Starts the jobs in FILE, restarts them when they exit, and applies edits to
FILE as soon as it is saved.

  -c FILE     configuration file (default /etc/pmtr.conf)
  -F          stay in the foreground, log to stderr too (implied as PID 1)
  -t          check the configuration: print each error as FILE:LINE:COL,
              exit 0 if valid, 1 if not; runs no job
  -v          more verbose logging (repeat for more)
  -p PIDFILE  write pmtr's PID to PIDFILE; removed on exit
  -s SOCKET   answer status and control requests on this unix socket
              (default /run/pmtr.sock); the commands take the same flag.
              `ready notify` jobs' sockets go in SOCKET.notify/ (.sock cut)
  -h, --help  this text
  -V, --version
              pmtr's version

Companion programs: pmtr-ctl (enable/disable jobs over UDP) and
pmtr-rptserver (collect the UDP reports of many pmtr); each takes -h.

Environment:
  PMTR_LOG_SOCKET=PATH      send syslog records to PATH instead of /dev/log
  PMTR_LOG_RECORD_MAX=N     largest syslog record in bytes (128-1024,
                            default 1023), for syslog daemons with small buffers
  TZ                        time zone of log timestamps (default /etc/localtime)
",
    "\0",
);
/// [`USAGE_TEXTS`], packed (see [`crate::packed`]).
const USAGES: Packed = packed!(USAGE_TEXTS);

/// Writes usage text `which` to `fd`.
pub fn write_usage(fd: rustix::fd::BorrowedFd<'_>, which: Usage) {
    // Not zeroed first: `word` hands back only what it wrote (issue
    // 18, bytes).
    let mut buf = crate::packed::room::<MAX_TEXT>();
    let text = USAGES.word(&mut buf, which as usize);
    let _ = crate::files::write_all(fd, text.as_bytes());
}

/// What the daemon was asked to do. The paths are borrowed from the
/// command line: nothing copied, nothing to drop (issue 18, bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options<'a> {
    pub config: &'a str,
    pub foreground: bool,
    pub test: bool,
    pub verbose: u8,
    pub pidfile: Option<&'a str>,
    pub socket: &'a str,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            config: DEFAULT_CONFIG,
            foreground: false,
            test: false,
            verbose: 0,
            pidfile: None,
            socket: DEFAULT_SOCKET,
        }
    }
}

/// What the command line asks for; with `Run`, the options [`parse`]
/// filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Run,
    Help,
    Version,
}

/// A command line pmtr cannot follow; printed before the usage text:
/// its message, packed where it is made ([`msg!`](crate::packed::msg!)),
/// whose `{}` is the word, borrowed from the command line. The text
/// itself, not a kind that the daemon then matched to its text (issue
/// 18, bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError<'a>(&'static [u8], &'a str);

impl<'a> UsageError<'a> {
    pub fn unknown_flag(flag: &'a str) -> Self {
        UsageError(crate::packed::msg!(0, "unknown option '{}'"), flag)
    }

    /// An unknown letter in a word of flags (`x` of `-Fx`).
    pub fn unknown_letter(letter: &'a str) -> Self {
        UsageError(crate::packed::msg!(0, "unknown option '-{}'"), letter)
    }

    /// The letter of `-c`, `-p` or `-s`.
    pub fn missing_argument(letter: &'a str) -> Self {
        UsageError(
            crate::packed::msg!(0, "option '-{}' needs an argument"),
            letter,
        )
    }

    pub fn unexpected_argument(arg: &'a str) -> Self {
        UsageError(crate::packed::msg!(0, "unexpected argument '{}'"), arg)
    }

    /// The message and its word, written by the daemon's one
    /// `eprintln!` through [`crate::packed::Filled`], with no `Display`
    /// of its own.
    pub fn message(&self) -> (&'static [u8], &'a str) {
        (self.0, self.1)
    }
}

/// Parses the daemon's flags (everything after `argv[0]`) into `opts`,
/// which the caller made (the defaults): filled in place, not returned
/// inside the `Result` (issue 18, bytes).
#[inline(never)]
pub fn parse<'a>(args: &'a [String], opts: &mut Options<'a>) -> Result<Command, UsageError<'a>> {
    let mut args = args.iter();
    // Each refusal leaves the block with its error, made the `Err` at
    // one place below, not at each (issue 18, bytes).
    let refused = 'refused: {
        while let Some(arg) = args.next() {
            let text = arg.as_str();
            // Matched by place in one list (issue 18, bytes).
            match crate::config::word_index("--help\0--version\0--\0", text) {
                Some(0) => return Ok(Command::Help),
                Some(1) => return Ok(Command::Version),
                Some(_) => {
                    if let Some(extra) = args.next() {
                        break 'refused UsageError::unexpected_argument(extra);
                    }
                    break;
                }
                None => {}
            }
            // A word of flags is `-` and a letter on: its first two bytes
            // say which it is, with no char pattern (issue 18, bytes).
            let flags = match text.as_bytes() {
                [b'-', b'-', ..] => break 'refused UsageError::unknown_flag(text),
                [b'-', _, ..] => text.get(1..).unwrap_or_default(),
                _ => break 'refused UsageError::unexpected_argument(text),
            };
            // Letter by letter, as bytes: a letter is its first byte and
            // those that continue its char, cut from the word as its own
            // slice (an error names it), with no char decoded (issue 18,
            // bytes).
            let mut word = flags;
            while let Some(&flag) = word.as_bytes().first() {
                let mut len = 1;
                while word.as_bytes().get(len).is_some_and(|b| b & 0xc0 == 0x80) {
                    len += 1;
                }
                // Cut between chars: never None.
                let (letter, rest) = word.split_at_checked(len).unwrap_or((word, ""));
                word = rest;
                match flag {
                    b'F' => opts.foreground = true,
                    b't' => opts.test = true,
                    b'v' => opts.verbose = opts.verbose.saturating_add(1),
                    b'h' => return Ok(Command::Help),
                    b'V' => return Ok(Command::Version),
                    b'c' | b'p' | b's' => {
                        // getopt: the rest of this word is the argument, or else
                        // the next word is.
                        let value = if rest.is_empty() {
                            match args.next() {
                                Some(next) => next,
                                None => break 'refused UsageError::missing_argument(letter),
                            }
                        } else {
                            rest
                        };
                        match flag {
                            b'c' => opts.config = value,
                            b'p' => opts.pidfile = Some(value),
                            _ => opts.socket = value,
                        }
                        break;
                    }
                    _ => break 'refused UsageError::unknown_letter(letter),
                }
            }
        }
        return Ok(Command::Run);
    };
    Err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_usages_unpack_with_the_verb_lines() {
        let mut buf = [0; MAX_TEXT];
        let all = USAGES.unpack(&mut buf);
        let verb = crate::config::nth_word(all, Usage::Verb as usize);
        let pmtr = crate::config::nth_word(all, Usage::Pmtr as usize);
        assert!(verb.starts_with(concat!("usage: ", verb_lines!(), "\nAsks the running pmtr")));
        assert!(pmtr.starts_with("usage: pmtr [-F] [-t] [-v]... [-c FILE]"));
        assert!(pmtr.contains(concat!("\n       ", verb_lines!(), "\nStarts the jobs")));
        assert!(pmtr.ends_with("(default /etc/localtime)\n"));
        assert_eq!(all.matches('\0').count(), 2);
    }

    /// What `parse` answers, and the options it filled in.
    fn parsed(args: &[&str]) -> (Result<Command, UsageError<'static>>, Options<'static>) {
        let mut opts = Options::default();
        let args = args
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .leak();
        (parse(args, &mut opts), opts)
    }

    fn run(args: &[&str]) -> Result<Command, UsageError<'static>> {
        parsed(args).0
    }

    fn opts(args: &[&str]) -> Options<'static> {
        match parsed(args) {
            (Ok(Command::Run), o) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(opts(&[]), Options::default());
    }

    #[test]
    fn combined_test_and_config() {
        let o = opts(&["-tc", "/etc/x.conf"]);
        assert!(o.test);
        assert_eq!(o.config, "/etc/x.conf");
    }

    #[test]
    fn attached_argument() {
        let o = opts(&["-Fc/tmp/a.conf", "-p", "/run/p.pid"]);
        assert!(o.foreground);
        assert_eq!(o.config, "/tmp/a.conf");
        assert_eq!(o.pidfile, Some("/run/p.pid"));
    }

    #[test]
    fn socket_flag() {
        assert_eq!(opts(&[]).socket, DEFAULT_SOCKET);
        assert_eq!(opts(&["-Fs/tmp/p.sock"]).socket, "/tmp/p.sock");
        assert_eq!(run(&["-s"]), Err(UsageError::missing_argument("s")));
    }

    #[test]
    fn verbose_repeats() {
        assert_eq!(opts(&["-vv", "-v"]).verbose, 3);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["-h"]), Ok(Command::Help));
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(run(&["-V"]), Ok(Command::Version));
        assert_eq!(run(&["--version"]), Ok(Command::Version));
    }

    #[test]
    fn unknown_flag() {
        assert_eq!(run(&["-x"]), Err(UsageError::unknown_letter("x")));
        assert_eq!(run(&["-Fx"]), Err(UsageError::unknown_letter("x")));
        assert_eq!(run(&["-Fé"]), Err(UsageError::unknown_letter("é")));
        assert_eq!(run(&["--nope"]), Err(UsageError::unknown_flag("--nope")));
        assert_eq!(run(&["---"]), Err(UsageError::unknown_flag("---")));
        assert_eq!(run(&["-é"]), Err(UsageError::unknown_letter("é")));
        // A word that is not flags: `-` alone, empty, plain.
        for word in ["-", "", "x", "x-"] {
            assert_eq!(run(&[word]), Err(UsageError::unexpected_argument(word)));
        }
        assert_eq!(
            text(&UsageError::unknown_letter("x")),
            text(&UsageError::unknown_flag("-x"))
        );
    }

    /// `e`'s message as the daemon writes it.
    fn text(e: &UsageError<'_>) -> String {
        let (msg, word) = e.message();
        crate::packed::Filled {
            msg,
            args: &[crate::packed::Arg::new(&word)],
        }
        .to_string()
    }

    #[test]
    fn usage_errors_say_what_they_said() {
        for (e, text) in [
            (
                UsageError::unknown_flag("--nope"),
                "unknown option '--nope'",
            ),
            (UsageError::unknown_letter("x"), "unknown option '-x'"),
            (
                UsageError::missing_argument("c"),
                "option '-c' needs an argument",
            ),
            (
                UsageError::unexpected_argument("x"),
                "unexpected argument 'x'",
            ),
        ] {
            assert_eq!(self::text(&e), text);
        }
    }

    #[test]
    fn missing_argument() {
        assert_eq!(run(&["-c"]), Err(UsageError::missing_argument("c")));
        assert_eq!(run(&["-Fp"]), Err(UsageError::missing_argument("p")));
    }

    #[test]
    fn stray_word() {
        assert_eq!(run(&["conf"]), Err(UsageError::unexpected_argument("conf")));
    }
}
