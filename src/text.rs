//! How numbers and names are written for people, the same way in the console, Markdown and
//! HTML: seconds with three decimals or a dash for "not measured", counts with their noun, and
//! names from outside (file names, chunk ids, run-file strings) with anything that could act
//! on a terminal or forge a line escaped.

use std::borrow::Cow;

/// What a table shows for a value that was not measured.
pub const DASH: &str = "–";

/// Seconds with three decimals (`1.234`), or a dash.
pub fn secs(v: Option<f64>) -> String {
    v.map_or(DASH.into(), |v| format!("{v:.3}"))
}

/// Seconds with three decimals and the unit (`1.234 s`), or a dash.
pub fn secs_unit(v: Option<f64>) -> String {
    v.map_or(DASH.into(), |v| format!("{v:.3} s"))
}

/// Seconds shown as whole milliseconds with the unit (`123 ms`), or a dash.
pub fn ms_unit(v: Option<f64>) -> String {
    v.map_or(DASH.into(), |v| format!("{:.0} ms", v * 1000.0))
}

/// A fraction as a percentage with one decimal (`2.5 %`).
pub fn percent(fraction: f64) -> String {
    format!("{:.1} %", fraction * 100.0)
}

/// `1 user`, `2 users`: a count with its noun (plural with an `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `text` safe to print: control characters (newlines, escape sequences, NUL, DEL, C1) and
/// bidirectional overrides are written as Rust escapes (`\n`, `\u{1b}`), so a file name can
/// neither start a forged line nor drive the terminal. Borrowed when there is nothing to escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_dashes() {
        assert_eq!(secs(Some(1.23449)), "1.234");
        assert_eq!(secs(None), "–");
        assert_eq!(secs_unit(Some(0.5)), "0.500 s");
        assert_eq!(ms_unit(Some(0.0124)), "12 ms");
        assert_eq!(percent(0.025), "2.5 %");
        assert_eq!(count(1, "user"), "1 user");
        assert_eq!(count(0, "turn"), "0 turns");
    }

    #[test]
    fn names_are_printable() {
        assert!(matches!(printable("query_1.wav"), Cow::Borrowed(_)));
        assert_eq!(printable("été/q.wav"), "été/q.wav");
        assert_eq!(
            printable("a\nerror: forged\u{1b}[31m\0\u{7f}\u{202e}"),
            "a\\nerror: forged\\u{1b}[31m\\u{0}\\u{7f}\\u{202e}"
        );
    }
}

/// The mark after a percentile that too few samples support (see
/// [`crate::stats::min_samples_for`]).
pub const THIN_MARK: &str = "*";

/// The one-line legend of [`THIN_MARK`].
pub const THIN_LEGEND: &str = "* too few turns support this percentile (p50 needs ≥ 2, p90 ≥ 10, p95 ≥ 20, p99 ≥ 100): it says little about the tail it names";

/// `cell` with [`THIN_MARK`] appended when `count` samples do not support percentile `p`.
pub fn mark_thin(cell: String, count: usize, p: f64) -> String {
    if crate::stats::supports(count, p) {
        cell
    } else {
        cell + THIN_MARK
    }
}

/// Whether a table of summaries with these counts needs the [`THIN_LEGEND`]: some count
/// does not support p99.
pub fn needs_thin_legend(counts: impl IntoIterator<Item = usize>) -> bool {
    counts
        .into_iter()
        .any(|n| n > 0 && !crate::stats::supports(n, 99.0))
}

/// "95 % CI: p50 1.080–1.130 · p90 …" of `cis`, each bound formatted by `f`; `None` when
/// no interval could be drawn (fewer than 2 samples).
pub fn ci_line(cis: &crate::stats::PercentileCis, f: fn(f64) -> String) -> Option<String> {
    let parts: Vec<String> = crate::stats::REPORTED_PERCENTILES
        .iter()
        .filter_map(|(name, _)| {
            cis.get(name).map(|i| {
                let mark = if cis.is_unsupported(name) {
                    THIN_MARK
                } else {
                    ""
                };
                format!("{name}{mark} {}–{}", f(i.low), f(i.high))
            })
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "{:.0} % CI (bootstrap, {} resamples): {}",
            cis.level * 100.0,
            cis.resamples,
            parts.join(" · ")
        )
    })
}

#[cfg(test)]
mod thin_tests {
    use super::*;

    #[test]
    fn thin_percentiles_are_marked() {
        assert_eq!(mark_thin("1.120".into(), 5, 95.0), "1.120*");
        assert_eq!(mark_thin("1.120".into(), 20, 95.0), "1.120");
        assert_eq!(mark_thin("1.120".into(), 99, 99.0), "1.120*");
        assert!(needs_thin_legend([150, 30]));
        assert!(!needs_thin_legend([150, 0]));
    }
}
