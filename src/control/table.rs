//! Text tables for terminals: `pmtr status` and the rptserver summary.

use crate::prelude::*;

/// Cells written one after the other into one String, the end of each
/// noted, `N` to a row: no String per cell (issue 18, bytes).
pub struct Cells<const N: usize> {
    pub text: String,
    ends: Vec<usize>,
}

impl<const N: usize> Cells<N> {
    /// A table whose first row is the `N` words of `header`,
    /// tab-separated: one text, not a list of `N` texts, each a pointer
    /// and a length (issue 18, bytes); one loop for every table, not an
    /// array iterator nor unrolled. Out of line but on aarch64, where
    /// the pmtr binary's one table takes it inlined: 40 bytes less
    /// (issue 18).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    pub fn new(header: &str) -> Self {
        let mut cells = Cells {
            text: String::new(),
            ends: Vec::new(),
        };
        for name in crate::Split::new(header, b'\t') {
            cells.push(name);
        }
        debug_assert_eq!(cells.ends.len(), N, "{header:?}");
        cells
    }

    /// Ends the cell written into `text` since the last one ended.
    pub fn end(&mut self) {
        self.ends.push(self.text.len());
    }

    /// Writes `text` as a cell of its own.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.end();
    }

    /// Lays the cells out in columns two spaces apart, each as wide as its
    /// widest cell; the last column is not padded and, with `trim`, lines
    /// carry no trailing blanks. Without it, a line ends as its last cell
    /// does: for a table whose last cells never end blank, the same text
    /// with no trimming code (issue 18, bytes).
    pub fn aligned(&self, trim: bool) -> String {
        // `get`, not `[..]`: the ends are char boundaries, and an index
        // brings str's slice panic into the stable build (6 KB).
        let cell = |i: usize| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            self.text.get(start..self.ends[i]).unwrap_or_default()
        };
        let mut widths = [0usize; N];
        for i in 0..self.ends.len() {
            widths[i % N] = widths[i % N].max(cell(i).chars().count());
        }
        let mut out = String::new();
        let mut line = 0;
        for i in 0..self.ends.len() {
            let text = cell(i);
            out.push_str(text);
            if i % N + 1 < N {
                // Padded by hand, not with `{:<w$}` (issue 18, bytes).
                for _ in text.chars().count()..widths[i % N] + 2 {
                    out.push(' ');
                }
            } else {
                if trim {
                    // `trim_end`, by pmtr's whitespace test (no Unicode
                    // map of core's: issue 18, bytes).
                    let mut kept = 0;
                    for (at, c) in out.get(line..).unwrap_or_default().char_indices() {
                        if !crate::utf8::is_space(c) {
                            kept = at + c.len_utf8();
                        }
                    }
                    out.truncate(line + kept);
                }
                out.push('\n');
                line = out.len();
            }
        }
        out
    }
}

/// Appends `45s`, `3m07s`, `2h05m`, `4d03h`: short enough for a column,
/// precise enough to tell a fresh restart from an old one.
pub fn duration(out: &mut String, secs: u64) {
    // One path for every form, under a minute without the big unit
    // (`\0`): one push of the small unit's digits for all four; digits by
    // `itoa`, not `write!` (issue 18, bytes).
    // Under a day in `u32`: on 32-bit ARM one 64-bit division (a call
    // to a helper), not one per unit (issue 18, bytes).
    let (big, big_unit, small, small_unit) = if secs >= 86400 {
        (secs / 86400, 'd', (secs % 86400) as u32 / 3600, 'h')
    } else {
        let secs = secs as u32;
        match secs {
            0..60 => (0, '\0', secs, 's'),
            60..3600 => (u64::from(secs / 60), 'm', secs % 60, 's'),
            _ => (u64::from(secs / 3600), 'h', secs % 3600 / 60, 'm'),
        }
    };
    if big_unit != '\0' {
        crate::logger::push_itoa(out, big);
        out.push(big_unit);
        if small < 10 {
            out.push('0');
        }
    }
    crate::logger::push_itoa(out, small.into());
    out.push(small_unit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(secs: u64) -> String {
        let mut text = String::new();
        super::duration(&mut text, secs);
        text
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(192), "3m12s");
        assert_eq!(duration(7500), "2h05m");
        assert_eq!(duration(273600), "3d04h");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(60), "1m00s");
        assert_eq!(duration(3599), "59m59s");
        assert_eq!(duration(3600), "1h00m");
        assert_eq!(duration(86399), "23h59m");
        assert_eq!(duration(86400), "1d00h");
        assert_eq!(duration(u64::MAX), "213503982334601d07h");
    }

    #[test]
    fn columns_align_and_last_is_unpadded() {
        let mut cells = Cells::<3>::new("NAME\tPID\tCMD");
        for cell in ["web", "12345", "/bin/sleep 1"] {
            cells.push(cell);
        }
        assert_eq!(
            cells.aligned(true),
            "NAME  PID    CMD\nweb   12345  /bin/sleep 1\n"
        );
    }

    /// Whitespace at a line's end goes, Unicode's too, as `trim_end` cuts
    /// it; inside a cell it stays.
    #[test]
    fn blank_ends_are_cut_from_their_line_only() {
        for (row, want) in [
            (["", " ", "é", ""], "A  B\n\né\n"),
            (
                ["x", "ok\u{a0}\u{3000}", "y", "a\u{2003}b"],
                "A  B\nx  ok\ny  a\u{2003}b\n",
            ),
        ] {
            let mut cells = Cells::<2>::new("A\tB");
            for cell in row {
                cells.push(cell);
            }
            assert_eq!(cells.aligned(true), want);
        }
    }
}
