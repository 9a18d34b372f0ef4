//! Reading `pmtr.conf` (SPEC §2): [`load`] it into a [`Config`], or
//! [`check`] it for `pmtr -t`.
//!
//! The language: [`lex`] splits lines into words (keywords at line start,
//! `#` comments at line start, double quotes with `\"` and `\\` as the only
//! escapes); [`parse`] turns them into jobs and reports every error as
//! `FILE:LINE:COL: message`.
//!
//! The `parse` fuzz target (`fuzz/`) and its corpus replay on 32 bits
//! reach it through [`parse_bytes`] (`src/fuzz.rs`).

use crate::prelude::*;
mod env_file;
mod error;
mod lex;
pub mod model;
mod parse;
#[cfg(test)]
mod tests;
pub mod trust;
mod values;

pub use env_file::read_env_files;
pub use error::Error;
pub use model::*;
pub(crate) use parse::ERROR_TEXTS;
pub use trust::check_trust;
pub use values::{is_host_name, parse_ip, parse_signal, signal_name};
/// NUL-ended word lists (the keywords', the client's options and answers).
pub(crate) use values::{nth_word, word_index};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use error::{ErrorKind, Msg};

/// A configuration file larger than this is refused unread: no real one
/// comes near it, and pmtr must not slurp a log file named by mistake.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a configuration file: at most [`MAX_FILE_BYTES`], a regular file,
/// and (when pmtr runs as root) one only root can change ([`check_trust`]).
///
/// Errors read `FILE: can't read: <strerror>`, `FILE: file is N bytes,
/// over the 1 MiB limit`, or the trust messages.
pub fn read(path: &str) -> Result<Vec<u8>, Error> {
    // What went wrong, a message with its number (`Io` with the errno),
    // made an `Error` at one place below, not at each call (issue 18,
    // bytes).
    let io = |e: Errno| (Msg::Io, e.raw_os_error() as u64);
    let (msg, n) = 'failed: {
        // O_NONBLOCK so that a FIFO put in the file's place cannot hang
        // pmtr in open(2); it changes nothing for a regular file.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match crate::files::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => break 'failed io(e),
        };
        // fstat on what was opened, not stat on the name: the check and
        // the read concern the same file even if the name is swapped
        // meanwhile.
        // The `Stat` read where the call put it, not copied out of its
        // `Result` (issue 18, bytes).
        let stat = crate::files::fstat(rustix::fd::AsFd::as_fd(&fd));
        let meta = match &stat {
            Ok(meta) => meta,
            Err(e) => break 'failed io(*e),
        };
        match FileType::from_raw_mode(meta.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => break 'failed io(Errno::ISDIR),
            _ => break 'failed (Msg::NotRegular, 0),
        }
        trust::check_opened(path, meta)?;
        if meta.st_size as u64 > MAX_FILE_BYTES {
            break 'failed (Msg::TooBig, meta.st_size as u64);
        }
        // The file may grow between fstat and read: never read past the
        // limit.
        match crate::files::read_all(rustix::fd::AsFd::as_fd(&fd), MAX_FILE_BYTES as usize) {
            Ok(bytes) => return Ok(bytes),
            Err(Errno::FBIG) => (Msg::TooBig, MAX_FILE_BYTES + 1),
            Err(e) => io(e),
        }
    };
    Err(Error::whole(path, ErrorKind::plain(msg).num(n)))
}

/// Parses the bytes of a file named `file` (used in messages only).
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Config, Vec<Error>> {
    // Too big or not UTF-8: the one error, made and returned at one
    // place from its position, message and number (issue 18, bytes).
    let (pos, msg, n) = if bytes.len() as u64 > MAX_FILE_BYTES {
        (None, Msg::TooBig, bytes.len() as u64)
    } else {
        // One check: the valid prefix is the whole text, or it ends at
        // the first bad byte.
        let text = crate::utf8::prefix(bytes);
        let Some(bad) = bytes.get(text.len()..).filter(|rest| !rest.is_empty()) else {
            // Editors on other systems may save a byte-order mark; it
            // means nothing.
            let text = text.strip_prefix("\u{feff}").unwrap_or(text);
            return parse::parse(file, text);
        };
        // Lines and the chars of the last one, in one pass: the prefix is
        // valid UTF-8, so its chars are its bytes that do not continue a
        // char.
        let (mut line, mut col) = (core::num::NonZeroU32::MIN, 1u32);
        for &b in text.as_bytes() {
            if b == b'\n' {
                (line, col) = (line.saturating_add(1), 1);
            } else if b & 0xc0 != 0x80 {
                col = col.saturating_add(1);
            }
        }
        let pos = Pos { line, col };
        let byte = u64::from(bad.first().copied().unwrap_or(0));
        (Some(pos), Msg::NotUtf8, byte)
    };
    Err(vec![Error::new(file, pos, ErrorKind::plain(msg).num(n))])
}

/// [`read`], then [`parse_bytes`].
pub fn load(path: &str) -> Result<Config, Vec<Error>> {
    let bytes = read(path).map_err(|e| vec![e])?;
    parse_bytes(path, &bytes)
}

/// `pmtr -t`: prints `FILE: OK, N jobs` to stdout and returns 0, or
/// prints every error to stderr, one a line, then `FILE: parse failed: N
/// errors`, and returns 1. The original pmtr printed `parse failed`, and
/// scripts written for it grep for those words (issue 15).
#[inline(never)]
pub fn check(path: &str) -> u8 {
    use crate::rt::print::{print_to, stderr, stdout};
    // Write errors (a closed pipe) are ignored: the exit code still tells.
    // Each line through `print_to` with its own newline, not `println!`'s
    // arguments within arguments; one last line for both outcomes (issue
    // 18, bytes).
    // The warnings or the errors, printed by one loop (issue 18, bytes).
    let loaded = load(path);
    // The last line is a message of its own, `FILE: message` as an
    // error's: its words packed with the others', not a format of six
    // pieces (issue 18, bytes).
    let (lines, fd, msg, n, code) = match &loaded {
        Ok(config) => (
            &config.warnings,
            stdout(),
            Msg::CheckedOk,
            config.jobs.len(),
            0,
        ),
        Err(errors) => {
            // Past the cap the last line says so; it is not an error more.
            let n = errors.len().min(parse::MAX_ERRORS);
            // The cap is never 1: its plural, plus 1, is the message
            // past it.
            let msg = if errors.len() > n {
                Msg::CheckFaileds
            } else {
                Msg::CheckFailed
            };
            (errors, stderr(), msg, n, 1)
        }
    };
    for e in lines {
        print_to(stderr(), format_args!("{}\n", *e));
    }
    // The plural is the message after the singular.
    let msg = msg as u32 + u32::from(n != 1);
    let last = Error::whole(path, ErrorKind::new(msg, None).num(n as u64));
    print_to(fd, format_args!("{last}\n"));
    // `pmtr -t` exits when this returns: what was read is left to the
    // kernel, not dropped (issue 18, bytes).
    core::mem::forget((loaded, last));
    code
}
