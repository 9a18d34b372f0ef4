//! Splitting `pmtr.conf` into lines of words (SPEC §2).
//!
//! The language is line-oriented, like the original pmtr:
//!
//! - A line's first word is its keyword; a keyword is recognised only there
//!   (after any indentation of spaces and tabs).
//! - A line whose first non-blank character is `#` is a comment. A `#`
//!   anywhere else is an ordinary character, so `cmd /bin/echo #1` passes
//!   `#1`.
//! - Words are separated by spaces and tabs.
//! - A word that *starts* with a double quote runs to the next unescaped
//!   double quote, which must be on the same line and be followed by a
//!   space, a tab or the end of the line. Inside it, `\"` stands for `"` and
//!   `\\` for `\`; every other backslash is kept as it is, so
//!   `"printf 'a\n'"` reaches the program unchanged. A quote in the middle
//!   of a word is an ordinary character (as in the original pmtr). There is
//!   no other processing: no `$VAR`, globs or backticks.
//! - Lines end with LF or CRLF; the last line needs no newline.
//! - Control characters other than tab are refused (outside comments): they
//!   cannot be passed to a program faithfully and are never intended.
//!
//! Positions are 1-based; columns count characters, a tab being one.

use super::error::{ErrorKind, Msg};
use super::model::Pos;
use crate::prelude::*;

/// One word of a line, after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub pos: Pos,
    /// Written in double quotes: never a keyword or a brace.
    pub quoted: bool,
}

impl Word {
    /// True if this is the bare word `w` (not quoted).
    pub fn is(&self, w: &str) -> bool {
        !self.quoted && self.text == w
    }

    /// [`Word::is`] the word of `t`: a number at each call, not a text's
    /// address and length (issue 18, bytes).
    #[inline(never)]
    pub(super) fn is_text(&self, t: super::parse::Text) -> bool {
        self.is(t.get())
    }
}

/// A line with at least one word. Blank and comment lines are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub words: Vec<Word>,
}

/// The lines of `src` with words, in order, or for a line with a lexical
/// error, where and what it is (for the tests: the parser calls [`line`]
/// in a plain loop, which is less code than this `filter_map`).
#[cfg(test)]
pub fn lines(src: &str) -> impl Iterator<Item = Result<Line, (Pos, ErrorKind)>> + '_ {
    crate::Split::new(src, b'\n')
        .enumerate()
        .filter_map(|(i, raw)| line(raw, i).transpose())
}

/// Line `i` (from 0) of the file, `raw` with its CR if it has one:
/// `None` for a blank or comment line. Lexing line by line, interleaved
/// with parsing, keeps errors in file order.
pub fn line(raw: &str, i: usize) -> Result<Option<Line>, (Pos, ErrorKind)> {
    let number = Pos::line_number(i);
    let text = crate::strip_last(raw, b'\r');
    lex_line(text, number)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Lexes one line (without its line ending). `Ok(None)` for a blank or
/// comment line. Out of line: inlined into the parser's loop (in
/// `parse_bytes`) it was larger (issue 18, bytes: armv6 -8, x86_64
/// -24).
#[inline(never)]
fn lex_line(text: &str, number: core::num::NonZeroU32) -> Result<Option<Line>, (Pos, ErrorKind)> {
    let at = |col: usize| Pos {
        line: number,
        col: Pos::number(col),
    };
    let chars = super::values::char_vec(text);
    // Chars read with `get` and iterators, not indexes: no bounds check
    // (and on stable no panic location) each (issue 18).
    let mut i = 0;
    while chars.get(i).is_some_and(|&c| is_blank(c)) {
        i += 1;
    }
    if matches!(chars.get(i), None | Some('#')) {
        return Ok(None);
    }
    // Each error leaves the block with its column, message and number,
    // made into an error at one place below (issue 18, bytes).
    let (col, msg, n) = 'fail: {
        // A plain loop, not an enumerate().skip() adapter (issue 18, bytes).
        let mut bad = i;
        while let Some(&c) = chars.get(bad) {
            if c.is_control() && c != '\t' {
                break 'fail (bad, Msg::ControlChar, u64::from(c));
            }
            bad += 1;
        }
        let mut words = Vec::new();
        while let Some(&first) = chars.get(i) {
            if is_blank(first) {
                i += 1;
                continue;
            }
            let start = i;
            let mut word = String::new();
            let quoted = first == '"';
            i += usize::from(quoted);
            // One loop and one push for quoted and bare words: one copy of
            // String::push's encoding (issue 18, bytes).
            loop {
                let (c, step) = match (quoted, chars.get(i), chars.get(i + 1)) {
                    (true, None, _) => break 'fail (start, Msg::UnclosedQuote, 0),
                    (true, Some('"'), _) => {
                        i += 1;
                        break;
                    }
                    (true, Some('\\'), Some(&c @ ('"' | '\\'))) => (c, 2),
                    (false, None, _) => break,
                    (false, Some(&c), _) if is_blank(c) => break,
                    (_, Some(&c), _) => (c, 1),
                };
                word.push(c);
                i += step;
            }
            if quoted && chars.get(i).is_some_and(|&c| !is_blank(c)) {
                break 'fail (i, Msg::TextAfterQuote, 0);
            }
            words.push(Word {
                text: word,
                pos: at(start),
                quoted,
            });
        }
        return Ok(Some(Line { words }));
    };
    Err((at(col), ErrorKind::plain(msg).num(n)))
}

#[cfg(test)]
mod tests {
    /// A word as (text, line, col, quoted).
    type Seen = (String, u32, u32, bool);
    /// An error as (line, col, message).
    type Problem = (u32, u32, String);

    /// Lexes `src` into each line's words and the errors.
    fn run(src: &str) -> (Vec<Vec<Seen>>, Vec<Problem>) {
        let mut errors = Vec::new();
        let mut lines = Vec::new();
        for item in super::lines(src) {
            match item {
                Ok(l) => lines.push(
                    l.words
                        .into_iter()
                        .map(|w| (w.text, w.pos.line.get(), w.pos.col, w.quoted))
                        .collect(),
                ),
                Err((p, k)) => errors.push((p.line.get(), p.col, k.to_string())),
            }
        }
        (lines, errors)
    }

    fn texts(src: &str) -> Vec<Vec<String>> {
        let (lines, errors) = run(src);
        assert!(errors.is_empty(), "{src:?}: {errors:?}");
        lines
            .into_iter()
            .map(|l| l.into_iter().map(|w| w.0).collect())
            .collect()
    }

    fn error(src: &str) -> (u32, u32, String) {
        let (_, mut errors) = run(src);
        assert_eq!(errors.len(), 1, "{src:?}: {errors:?}");
        errors.remove(0)
    }

    #[test]
    fn words_split_on_spaces_and_tabs() {
        assert_eq!(
            texts("  cmd\t/bin/echo   a  b\n"),
            vec![vec!["cmd", "/bin/echo", "a", "b"]]
        );
    }

    #[test]
    fn positions_are_one_based_characters() {
        let (lines, _) = run("\n\tname  wé x\n");
        assert_eq!(
            lines,
            vec![vec![
                ("name".into(), 2, 2, false),
                ("wé".into(), 2, 8, false),
                ("x".into(), 2, 11, false)
            ]]
        );
    }

    #[test]
    fn blank_and_comment_lines_are_dropped() {
        assert_eq!(
            texts("\n   \n# a comment\n\t# another\njob {\n"),
            vec![vec!["job", "{"]]
        );
    }

    #[test]
    fn hash_after_line_start_is_ordinary() {
        assert_eq!(
            texts("cmd /bin/echo #1 a#b\n"),
            vec![vec!["cmd", "/bin/echo", "#1", "a#b"]]
        );
    }

    #[test]
    fn quotes_group_words() {
        assert_eq!(
            texts("cmd /bin/sh -c \"sleep 1; echo hi\"\n"),
            vec![vec!["cmd", "/bin/sh", "-c", "sleep 1; echo hi"]]
        );
        let (lines, _) = run("x \"a b\"");
        assert_eq!(lines[0][1], ("a b".into(), 1, 3, true));
    }

    #[test]
    fn guide_backticks_and_dollars_pass_through() {
        assert_eq!(
            texts("cmd /bin/bash -c \"DATE=`date`; /bin/node -d $DATE\""),
            vec![vec![
                "cmd",
                "/bin/bash",
                "-c",
                "DATE=`date`; /bin/node -d $DATE"
            ]]
        );
    }

    #[test]
    fn escapes_inside_quotes() {
        let cases = [
            (r#"x "a\"b""#, r#"a"b"#),
            (r#"x "a\\b""#, r"a\b"),
            (r#"x "a\nb""#, r"a\nb"),
            (r#"x "\\""#, r"\"),
            (r#"x "it's""#, "it's"),
            (r#"x """#, ""),
        ];
        for (src, want) in cases {
            assert_eq!(texts(src)[0][1], want, "{src}");
        }
    }

    #[test]
    fn backslash_outside_quotes_is_literal() {
        assert_eq!(texts(r#"x a\b \""#)[0], vec!["x", r"a\b", r#"\""#]);
    }

    #[test]
    fn quote_inside_word_is_literal() {
        assert_eq!(texts(r#"env A="b c""#)[0], vec!["env", "A=\"b", "c\""]);
    }

    #[test]
    fn unclosed_quote_is_an_error_at_the_quote() {
        let (l, c, msg) = error("job {\n  cmd /bin/sh -c \"echo hi\n}\n");
        assert_eq!((l, c), (2, 18));
        assert!(msg.starts_with("unclosed quote"), "{msg}");
    }

    #[test]
    fn quote_does_not_continue_on_next_line() {
        // The second line's quote is inside a word, so an ordinary character.
        let (lines, errors) = run("x \"a\nb\"\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(lines, vec![vec![("b\"".into(), 2, 1, false)]]);
    }

    #[test]
    fn escaped_quote_does_not_close() {
        let (l, c, _) = error(r#"x "a\""#);
        assert_eq!((l, c), (1, 3));
    }

    #[test]
    fn text_after_closing_quote_is_an_error() {
        let (l, c, msg) = error(r#"x "a"b"#);
        assert_eq!((l, c), (1, 6));
        assert!(msg.starts_with("text right after a closing quote"), "{msg}");
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        assert_eq!(
            texts("job {\r\n  name a\r\n}"),
            vec![vec!["job", "{"], vec!["name", "a"], vec!["}"]]
        );
        let (lines, _) = run("a\r\nb \"c d\"\r\n");
        assert_eq!(lines[1][1], ("c d".into(), 2, 3, true));
    }

    #[test]
    fn control_characters_are_refused() {
        let (l, c, msg) = error("name a\u{0}b\n");
        assert_eq!((l, c), (1, 7));
        assert_eq!(msg, "control character U+0000 is not allowed");
        assert_eq!(error("x\ra\n").1, 2);
        assert_eq!(error("x \u{1b}[0m").1, 3);
    }

    #[test]
    fn control_characters_in_comments_are_ignored() {
        assert!(texts("# \u{7} bell\n").is_empty());
    }

    #[test]
    fn braces_are_ordinary_words() {
        assert_eq!(
            texts("depends { /a /b }")[0],
            vec!["depends", "{", "/a", "/b", "}"]
        );
        let (lines, _) = run("x \"{\"");
        assert!(lines[0][1].3);
    }
}
