//! One clock for every timestamp voiceperf writes (agent log lines, bench results): a
//! monotonic [`Instant`] anchored once to the wall clock, so unix times never jump mid-run
//! and intervals between them are exact.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local};

use crate::stats::round6;

/// Monotonic time expressed as unix seconds (µs resolution) from one wall-clock anchor.
#[derive(Debug, Clone, Copy)]
pub struct UnixClock {
    anchor: Instant,
    anchor_unix: f64,
}

impl UnixClock {
    /// Anchors a new clock to the wall clock now.
    pub fn new() -> Self {
        let anchor = Instant::now();
        let anchor_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        UnixClock {
            anchor,
            anchor_unix,
        }
    }

    /// The instant the clock was anchored.
    pub fn anchor(&self) -> Instant {
        self.anchor
    }

    /// Unix seconds of a monotonic instant, rounded to the microsecond.
    pub fn unix(&self, at: Instant) -> f64 {
        round6(self.anchor_unix + signed_secs(at, self.anchor))
    }

    /// Unix seconds now.
    pub fn now_unix(&self) -> f64 {
        self.unix(Instant::now())
    }

    /// The instant at unix time `unix` on this clock, in the past or the future.
    pub fn instant_at(&self, unix: f64) -> Instant {
        let offset = unix - self.anchor_unix;
        let distance = Duration::try_from_secs_f64(offset.abs()).unwrap_or(Duration::ZERO);
        if offset >= 0.0 {
            self.anchor.checked_add(distance).unwrap_or(self.anchor)
        } else {
            self.anchor.checked_sub(distance).unwrap_or(self.anchor)
        }
    }

    /// The system wall clock minus this clock, now (s): 0 unless the wall clock was stepped
    /// or slewed since the anchor (this clock is monotonic and does not follow it).
    pub fn wall_drift(&self) -> f64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        wall - (self.anchor_unix + self.anchor.elapsed().as_secs_f64())
    }

    /// Unix milliseconds now (for stream ids).
    pub fn now_unix_ms(&self) -> u64 {
        (self.now_unix() * 1000.0) as u64
    }

    /// Local time of an instant as loguru prints it: `2026-11-27 10:04:52.167`.
    pub fn local_string(&self, at: Instant) -> String {
        let unix = self.unix(at);
        // Whole microseconds: splitting the f64 into seconds and a fraction would sometimes
        // print the millisecond before the one `unix` is in.
        match DateTime::from_timestamp_micros((unix * 1e6).round() as i64) {
            Some(utc) => utc
                .with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string(),
            None => format!("{unix:.3}"),
        }
    }
}

impl Default for UnixClock {
    fn default() -> Self {
        Self::new()
    }
}

/// `later − earlier` in seconds, negative when `later` is before `earlier`.
pub fn signed_secs(later: Instant, earlier: Instant) -> f64 {
    match later.checked_duration_since(earlier) {
        Some(d) => d.as_secs_f64(),
        None => -(earlier - later).as_secs_f64(),
    }
}

/// The current local time as RFC 3339 with milliseconds (`2026-11-27T10:04:52.167+01:00`):
/// the `timestamp` of result files and `run.json`.
pub fn local_timestamp() -> String {
    Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// A unix time as RFC 3339 UTC with milliseconds (`2026-12-03T10:00:00.000Z`).
pub fn iso_utc(unix: f64) -> String {
    match DateTime::from_timestamp_micros((unix * 1e6).round() as i64) {
        Some(utc) => utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => format!("{unix:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_exact_to_the_microsecond_and_anchor_is_wall_time() {
        let clock = UnixClock::new();
        let t = clock.anchor() + Duration::from_micros(1_500_250);
        // Each unix time is rounded to 1 µs, so a difference can be off by up to 1 µs (plus
        // the f64 spacing of ~0.24 µs at today's unix times).
        let dt = clock.unix(t) - clock.unix(clock.anchor());
        assert!((dt - 1.500_250).abs() < 1.5e-6, "{dt}");
        assert!((signed_secs(clock.anchor(), t) + 1.500_25).abs() < 1e-9);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((clock.now_unix() - wall).abs() < 0.5);
        let text = clock.local_string(clock.anchor());
        assert_eq!(text.len(), "2026-11-27 10:04:52.167".len(), "{text}");
    }

    /// The millisecond printed is the one the unix time (as logged in truth lines) is in:
    /// loguru cuts, it does not round, and a log line's time must not precede its event.
    #[test]
    fn local_time_milliseconds_match_the_unix_time() {
        let clock = UnixClock::new();
        for i in 0..20_000u64 {
            let at = clock.anchor() + Duration::from_micros(i * 997);
            let micros = (clock.unix(at) * 1e6).round() as i64;
            let text = clock.local_string(at);
            let millis: i64 = text[20..].parse().unwrap();
            assert_eq!(
                millis,
                micros.rem_euclid(1_000_000) / 1000,
                "{text} at {micros} µs"
            );
        }
    }

    #[test]
    fn unix_times_map_back_to_instants() {
        let clock = UnixClock::new();
        for offset in [-3.25, 0.0, 0.000_5, 120.0] {
            let unix = clock.unix(clock.anchor()) + offset;
            let back = clock.unix(clock.instant_at(unix));
            assert!((back - unix).abs() < 2e-6, "{offset}: {back} vs {unix}");
        }
        assert!(clock.wall_drift().abs() < 0.05);
    }
}
