//! Text tables for terminals: `pmtr status` and the rptserver summary.

use crate::prelude::*;

/// Lays `rows` out in columns two spaces apart, each as wide as its widest
/// cell; the last column is not padded and lines carry no trailing blanks.
pub fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                // Padded by hand, not with `{:<w$}` (issue 18, bytes).
                for _ in cell.chars().count()..widths[i] + 2 {
                    line.push(' ');
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `45s`, `3m07s`, `2h05m`, `4d03h`: short enough for a column, precise
/// enough to tell a fresh restart from an old one.
pub fn duration(secs: u64) -> String {
    // One format for the three two-unit forms (issue 18, bytes).
    let (big, big_unit, small, small_unit) = match secs {
        0..60 => return format!("{secs}s"),
        60..3600 => (secs / 60, 'm', secs % 60, 's'),
        3600..86400 => (secs / 3600, 'h', secs % 3600 / 60, 'm'),
        _ => (secs / 86400, 'd', secs % 86400 / 3600, 'h'),
    };
    format!("{big}{big_unit}{small:02}{small_unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let rows = [
            ["NAME".to_string(), "PID".to_string(), "CMD".to_string()],
            [
                "web".to_string(),
                "12345".to_string(),
                "/bin/sleep 1".to_string(),
            ],
        ];
        assert_eq!(
            aligned(&rows),
            "NAME  PID    CMD\nweb   12345  /bin/sleep 1\n"
        );
    }
}
