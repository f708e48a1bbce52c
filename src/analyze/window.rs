//! Which lines of the log count.
//!
//! The default is the seed analyzer's: only what follows the *last* client-start line, so
//! earlier runs in the same log are skipped. The seed read the file twice to find that line;
//! voiceperf reads once, in constant memory, and gets the same result by dropping everything
//! it has accumulated whenever a client-start line appears (what is left at the end is exactly
//! what followed the last one) and by not accumulating anything before the first one. This
//! works on stdin and gzip streams too, where a first pass is impossible or costly.

use std::collections::HashSet;

use anyhow::{Result, bail};
use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::serverlog::parse::LogTime;

/// How the analysis window is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowSpec {
    /// Only lines after the last `Accepting WebSocket connection for stream ID client_<n>_<d>`
    /// line (the seed's rule).
    LastClientStart,
    /// Every line, optionally only those whose own timestamp is within `[since, until]`.
    Range {
        /// Lines before this log time are skipped.
        since: Option<LogTime>,
        /// Lines after this log time are skipped.
        until: Option<LogTime>,
    },
    /// Only the given streams, within a window of log times (a bench run's).
    Streams {
        /// Stream ids that count.
        stream_ids: HashSet<String>,
        /// Lines before this log time are skipped.
        since: Option<LogTime>,
        /// Lines after this log time are skipped.
        until: Option<LogTime>,
    },
}

impl WindowSpec {
    /// Short machine-readable name.
    pub fn mode(&self) -> &'static str {
        match self {
            WindowSpec::LastClientStart => "last_client_start",
            WindowSpec::Range {
                since: None,
                until: None,
            } => "all",
            WindowSpec::Range { .. } => "time_range",
            WindowSpec::Streams { .. } => "run",
        }
    }

    /// The time bounds, if any.
    pub fn bounds(&self) -> (Option<LogTime>, Option<LogTime>) {
        match self {
            WindowSpec::LastClientStart => (None, None),
            WindowSpec::Range { since, until } | WindowSpec::Streams { since, until, .. } => {
                (*since, *until)
            }
        }
    }

    /// Whether lines need their timestamps to be judged.
    pub fn needs_time(&self) -> bool {
        self.bounds() != (None, None)
    }

    /// Whether a line of `stream` at `time` is inside, for the explicit windows. (The default
    /// window is decided by position; see the module documentation.) A line without a stream
    /// id (`stream` empty) cannot be told apart by stream: it is judged by time only, and a run's
    /// join attributes it by time later.
    pub fn admits(&self, stream: &[u8], time: Option<LogTime>) -> bool {
        if let WindowSpec::Streams { stream_ids, .. } = self {
            let known = std::str::from_utf8(stream).is_ok_and(|id| stream_ids.contains(id));
            if !known && !stream.is_empty() {
                return false;
            }
        }
        match self.bounds() {
            (None, None) => true,
            (since, until) => match time {
                None => false,
                Some(t) => since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u),
            },
        }
    }
}

/// Where a client-start line was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStartLine {
    /// Input it was in.
    pub file: String,
    /// 1-based line number in that input.
    pub line: u64,
    /// The client's stream id.
    pub stream_id: String,
    /// The line's own timestamp, as logged.
    pub log_time: Option<String>,
}

/// The window that was applied, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// `last_client_start`, `all`, `time_range` or `run`.
    pub mode: String,
    /// One sentence for people.
    pub description: String,
    /// The last client-start line (the window's start in `last_client_start` mode).
    pub last_client_start: Option<ClientStartLine>,
    /// Lower bound on log times, as logged.
    pub since: Option<String>,
    /// Upper bound on log times, as logged.
    pub until: Option<String>,
    /// Number of streams the window is restricted to (`run` mode).
    pub stream_ids: Option<usize>,
}

/// Reads a `--since/--until` time: the log's own format `YYYY-MM-DD HH:MM:SS[.fff]` (also with
/// `T`), compared with the log's timestamps as they are; or RFC 3339 with a zone / unix
/// seconds, converted to this machine's local time first.
pub fn parse_user_time(text: &str) -> Result<LogTime> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(LogTime::from_naive(time));
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Ok(LogTime::from_naive(midnight));
        }
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(LogTime::from_naive(
            time.with_timezone(&Local).naive_local(),
        ));
    }
    if let Ok(unix) = text.parse::<f64>() {
        if unix.is_finite() && unix >= 0.0 {
            if let Some(local) = Local
                .timestamp_millis_opt((unix * 1000.0).round() as i64)
                .single()
            {
                return Ok(LogTime::from_naive(local.naive_local()));
            }
        }
    }
    bail!(
        "`{text}` is not a time: use the log's format `YYYY-MM-DD HH:MM:SS[.fff]`, RFC 3339 \
         (`2026-11-27T10:04:52+01:00`) or unix seconds"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_times_in_the_log_format() {
        let t = parse_user_time("2026-11-27 10:04:52.167").unwrap();
        assert_eq!(t.to_string(), "2026-11-27 10:04:52.167");
        assert_eq!(parse_user_time("2026-11-27T10:04:52.167").unwrap(), t);
        assert_eq!(
            parse_user_time("2026-11-27 10:04").unwrap().to_string(),
            "2026-11-27 10:04:00.000"
        );
        assert_eq!(
            parse_user_time("2026-11-27").unwrap().to_string(),
            "2026-11-27 00:00:00.000"
        );
        assert!(parse_user_time("yesterday").is_err());
        assert!(parse_user_time("-5").is_err());
    }

    #[test]
    fn zoned_and_unix_times_become_local() {
        let zoned = parse_user_time("2026-11-27T10:04:52Z").unwrap();
        let unix = parse_user_time("1795773892").unwrap();
        assert_eq!(zoned, unix);
    }

    #[test]
    fn explicit_windows_admit_by_stream_and_time() {
        let t = |s| parse_user_time(s).unwrap();
        let range = WindowSpec::Range {
            since: Some(t("2026-11-27 10:00:00")),
            until: Some(t("2026-11-27 11:00:00")),
        };
        assert!(range.admits(b"x", Some(t("2026-11-27 10:00:00"))));
        assert!(range.admits(b"x", Some(t("2026-11-27 11:00:00"))));
        assert!(!range.admits(b"x", Some(t("2026-11-27 11:00:00.001"))));
        assert!(!range.admits(b"x", None));
        let all = WindowSpec::Range {
            since: None,
            until: None,
        };
        assert!(all.admits(b"x", None));
        assert_eq!(all.mode(), "all");
        let run = WindowSpec::Streams {
            stream_ids: ["client_1_5".to_string()].into_iter().collect(),
            since: None,
            until: None,
        };
        assert!(run.admits(b"client_1_5", None));
        assert!(!run.admits(b"client_2_5", None));
        assert!(run.admits(b"", None));
    }
}
