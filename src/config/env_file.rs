//! `env file PATH` (issue 15): variables for a job, one `KEY=VALUE` a
//! line, as systemd's `EnvironmentFile=` and Docker's `--env-file` read
//! them. Blank lines and lines starting with `#` are skipped; a line may
//! start with `export `; a value may be wrapped in single or double
//! quotes, which are removed; nothing is expanded (no `$VAR`, no escapes).
//!
//! Such a file may hold secrets: no message quotes a line of it, only
//! where it is (`FILE:LINE:COL`). It is read as the configuration is
//! ([`super::read`]): without blocking, a regular file only, at most 1 MiB,
//! and, when pmtr runs as root, only if no other user can change it.

use crate::prelude::*;

use super::error::{Error, ErrorKind, Msg};
use super::model::{EnvFile, Pos};
use super::parse::{Text, texts};

/// A file with more bad lines than this is not worth reading further.
const MAX_ERRORS: usize = 20;

/// The `KEY=VALUE` lines of `files`, in order, onto `lines`; a missing
/// optional file (`-PATH`) gives none. Every error of every file (none:
/// the lines are good). Filled in place, not returned in a `Result`
/// (issue 18, bytes).
pub fn read_env_files(files: &[EnvFile], lines: &mut Vec<String>) -> Vec<Error> {
    let mut errors = Vec::new();
    for file in files {
        let path = file.path.as_str();
        if file.optional && crate::files::exists(path) == Err(rustix::io::Errno::NOENT) {
            continue;
        }
        match super::read(path) {
            Ok(bytes) => parse_into(path, &bytes, lines, &mut errors),
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// The `KEY=VALUE` lines of an env file's content; `file` names it in
/// errors.
#[cfg(test)]
pub fn parse_env(file: &str, bytes: &[u8]) -> Result<Vec<String>, Vec<Error>> {
    let (mut lines, mut errors) = (Vec::new(), Vec::new());
    parse_into(file, bytes, &mut lines, &mut errors);
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

/// `parse_env` onto the lines and errors of the files before: no
/// vectors of its own to move over (issue 18, bytes). When there are
/// errors, the lines are not used. Out of line: `env_lines`, which
/// `read_env_files` is inlined into, is smaller (issue 18, min x86_64
/// -48; `read_env_files` out of line as well was +32). Not on armv6 (+16
/// there).
#[cfg_attr(target_arch = "x86_64", inline(never))]
fn parse_into(file: &str, bytes: &[u8], lines: &mut Vec<String>, errors: &mut Vec<Error>) {
    let Some(text) = crate::utf8::str(bytes) else {
        let kind = ErrorKind::with(Msg::EnvLine, None, NOT_UTF8, Text::NONE);
        errors.push(Error::whole(file, kind));
        return;
    };
    // This file's errors are counted from here.
    let before = errors.len();
    // Lines counted by hand, not enumerate(): see parse::parse.
    let mut n = 0;
    #[allow(clippy::explicit_counter_loop)]
    for raw in crate::Split::new(text, b'\n') {
        let i = n;
        n += 1;
        let line = crate::strip_last(raw, b'\r');
        let body = skip_blanks(line);
        // The first byte, not a char pattern (issue 18, bytes).
        if matches!(body.as_bytes().first(), None | Some(b'#')) {
            continue;
        }
        let body = match body.strip_prefix("export") {
            Some(rest) if skip_blanks(rest).len() < rest.len() => skip_blanks(rest),
            _ => body,
        };
        // `entry` pushes a good line itself: no `Result` of a `String`
        // made and taken apart here (issue 18, bytes).
        if let Err((at, why)) = entry(body, lines) {
            // Columns count characters, as in the configuration.
            let offset = line.len() - body.len() + at;
            let pos = Pos {
                line: Pos::line_number(i),
                col: Pos::number(line.get(..offset).unwrap_or(line).chars().count()),
            };
            errors.push(Error::at(
                file,
                pos,
                ErrorKind::with(Msg::EnvLine, None, why, Text::NONE),
            ));
            if errors.len() - before == MAX_ERRORS {
                break;
            }
        }
    }
}

// What is wrong with an env file or one of its lines.
texts! { 11;
    NOT_UTF8 = "not valid UTF-8",
    NO_EQUALS = "expected KEY=VALUE",
    BAD_NAME = "a variable name is letters, digits and _, not starting with a digit",
    UNCLOSED = "unclosed quote: a quoted value must end on its line",
    TEXT_AFTER = "text after the closing quote",
    NUL = "a NUL byte cannot be in the environment",
}

/// A space or a tab.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `text` without its leading spaces and tabs. Bytes, not a `char`
/// pattern: `str`'s trimming is generic over the pattern, a copy for each
/// kind (issue 18).
fn skip_blanks(text: &str) -> &str {
    let blanks = text.bytes().take_while(|&b| is_blank(b)).count();
    // Blanks are ASCII: `get` never fails here, and unlike `[blanks..]`
    // brings no slicing panic (issue 18, stable build).
    text.get(blanks..).unwrap_or("")
}

/// One `KEY=VALUE` (after any `export `) pushed onto `lines` as
/// `KEY=VALUE` with the quotes removed, or where in it (a byte offset)
/// and what is wrong.
fn entry(body: &str, lines: &mut Vec<String>) -> Result<(), (usize, Text)> {
    // `KEY=` kept whole, as the line made below begins: no second cut
    // of `body` for it (issue 18, bytes).
    let Some((head, value)) = crate::split_after(body, b'=') else {
        return Err((0, NO_EQUALS));
    };
    let key = head.as_bytes().split_last().map_or(&[][..], |(_, key)| key);
    let name_ok = key
        .iter()
        .enumerate()
        .all(|(i, &b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
    if key.is_empty() || !name_ok {
        return Err((0, BAD_NAME));
    }
    let at = head.len();
    // Bytes, not chars: the quotes are ASCII (no decoding, no char
    // searcher: issue 18).
    let value = match value.as_bytes().first() {
        Some(&quote @ (b'"' | b'\'')) => {
            let inner = crate::strip_ascii(value, quote).unwrap_or("");
            // The value and what follows its quote by one cut, not a
            // search and two `get`s (issue 18, bytes).
            let Some((quoted, rest)) = crate::split_once(inner, quote) else {
                return Err((at, UNCLOSED));
            };
            let text = skip_blanks(rest);
            if !text.is_empty() {
                let offset = at + 1 + quoted.len() + 1 + rest.len() - text.len();
                return Err((offset, TEXT_AFTER));
            }
            quoted
        }
        _ => {
            let blanks = value.bytes().rev().take_while(|&b| is_blank(b)).count();
            value.get(..value.len() - blanks).unwrap_or(value)
        }
    };
    if crate::has_byte(value.as_bytes(), 0) {
        return Err((at, NUL));
    }
    // `KEY=` as it stands in the line, then the value: one copy and one
    // append, not a reservation and three (issue 18, bytes).
    let mut kv = String::from(head);
    kv.push_str(value);
    lines.push(kv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<String> {
        parse_env("e.env", text.as_bytes()).unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        parse_env("e.env", text.as_bytes())
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn lines_comments_export_and_quotes() {
        let text = "# comment\n\n  A=1\r\nexport B=two words  \nC=\"quoted # not a comment\"\n\
                    D='single \"inner\"'\nE=\nF=a=b\n\t# indented comment\nexport\tG=\"\"\n";
        assert_eq!(
            ok(text),
            [
                "A=1",
                "B=two words",
                "C=quoted # not a comment",
                "D=single \"inner\"",
                "E=",
                "F=a=b",
                "G="
            ]
        );
    }

    #[test]
    fn nothing_is_expanded() {
        assert_eq!(
            ok("A=$HOME\nB=\"$(id)\"\nC='\\n'"),
            ["A=$HOME", "B=$(id)", "C=\\n"]
        );
    }

    #[test]
    fn bad_lines_are_reported_by_position_without_their_text() {
        let text = "GOOD=1\nsecret-without-equals\n1X=2\nexport\nK=\"unclosed\nQ='a' b\n  BAD KEY=1\nN=a\0b\n";
        assert_eq!(
            errors(text),
            [
                "e.env:2:1: expected KEY=VALUE",
                "e.env:3:1: a variable name is letters, digits and _, not starting with a digit",
                "e.env:4:1: expected KEY=VALUE",
                "e.env:5:3: unclosed quote: a quoted value must end on its line",
                "e.env:6:7: text after the closing quote",
                "e.env:7:3: a variable name is letters, digits and _, not starting with a digit",
                "e.env:8:3: a NUL byte cannot be in the environment",
            ]
        );
        for e in errors(text) {
            assert!(!e.contains("secret") && !e.contains("unclosed\""), "{e}");
        }
    }

    #[test]
    fn not_utf8_and_too_many_errors() {
        assert_eq!(
            parse_env("e.env", b"A=\xff\n").unwrap_err()[0].to_string(),
            "e.env: not valid UTF-8"
        );
        assert_eq!(errors(&"x\n".repeat(1000)).len(), MAX_ERRORS);
    }

    #[test]
    fn files_in_order_and_optional_missing_ones() {
        let dir = std::env::temp_dir().join(format!("pmtr-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.env");
        std::fs::write(&a, "A=1\nB=2\n").unwrap();
        let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
        let files = [
            EnvFile {
                path: path(&a),
                optional: false,
            },
            EnvFile {
                path: path(&dir.join("missing.env")),
                optional: true,
            },
        ];
        let mut lines = Vec::new();
        assert_eq!(read_env_files(&files, &mut lines), []);
        assert_eq!(lines, ["A=1", "B=2"]);
        let required = [EnvFile {
            path: path(&dir.join("missing.env")),
            optional: false,
        }];
        let e = read_env_files(&required, &mut Vec::new());
        assert!(
            e[0].to_string()
                .ends_with("missing.env: can't read: No such file or directory"),
            "{:?}",
            e
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
