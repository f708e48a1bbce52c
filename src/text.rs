//! How numbers are written for people, the same way in the console, Markdown and HTML:
//! seconds with three decimals or a dash for "not measured", counts with their noun.

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
}
