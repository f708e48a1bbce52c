//! Flag value types shared by several commands.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration flag: a bare number is seconds (`30`, `0.5`); units are accepted too (`30s`,
/// `2m`, `1m30s`, `500ms`, `1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub Duration);

impl FromStr for DurationArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(secs) = text.parse::<f64>() {
            return Duration::try_from_secs_f64(secs)
                .map(DurationArg)
                .map_err(|_| format!("{text} is not a number of seconds ≥ 0"));
        }
        humantime::parse_duration(text)
            .map(DurationArg)
            .map_err(|e| {
                format!("{text}: {e} (give seconds, or a number with a unit: 30s, 2m, 500ms)")
            })
    }
}

impl fmt::Display for DurationArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl From<Duration> for DurationArg {
    fn from(duration: Duration) -> Self {
        DurationArg(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, String> {
        text.parse::<DurationArg>().map(|d| d.0)
    }

    #[test]
    fn bare_numbers_are_seconds_and_units_are_accepted() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse("-1").is_err());
        assert!(parse("soon").unwrap_err().contains("30s, 2m"));
    }

    #[test]
    fn defaults_print_with_units_and_parse_back() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_secs(150),
        ] {
            let shown = DurationArg(d).to_string();
            assert_eq!(parse(&shown), Ok(d), "{shown}");
        }
        assert_eq!(DurationArg(Duration::from_secs(30)).to_string(), "30s");
    }
}
