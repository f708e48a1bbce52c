//! One clock for every timestamp the agent writes: a monotonic [`Instant`] anchored once to
//! the wall clock, so unix times never jump mid-run and intervals are exact.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local};

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
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        UnixClock {
            anchor,
            anchor_unix: wall,
        }
    }

    /// Unix seconds of a monotonic instant.
    pub fn unix(&self, at: Instant) -> f64 {
        let secs = if at >= self.anchor {
            (at - self.anchor).as_secs_f64()
        } else {
            -(self.anchor - at).as_secs_f64()
        };
        self.anchor_unix + secs
    }

    /// Unix seconds now.
    pub fn now_unix(&self) -> f64 {
        self.unix(Instant::now())
    }

    /// Local time of an instant as loguru prints it: `2026-11-27 10:04:52.167`.
    pub fn local_string(&self, at: Instant) -> String {
        let unix = self.unix(at);
        let secs = unix.floor();
        let nanos = ((unix - secs) * 1e9) as u32;
        match DateTime::from_timestamp(secs as i64, nanos.min(999_999_999)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn intervals_are_exact_and_anchor_is_wall_time() {
        let clock = UnixClock::new();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_micros(1_234_567);
        assert!((clock.unix(t1) - clock.unix(t0) - 1.234567).abs() < 1e-6);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((clock.now_unix() - wall).abs() < 0.5);
        let text = clock.local_string(t0);
        assert_eq!(text.len(), "2026-11-27 10:04:52.167".len(), "{text}");
    }
}
