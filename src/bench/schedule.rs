//! Time on the send side: one monotonic clock anchored once to the wall clock, the absolute
//! chunk schedule of a simulated microphone, and the metrics window.
//!
//! **Sample ↔ time mapping.** A connection's microphone starts capturing at its *origin*
//! `o`. Stream sample `s` (0-based, counted over everything sent on the connection, speech
//! and silence) is captured during `[o + s/R, o + (s+1)/R)`, R the wire's sample rate
//! (16 000 for pipecat, 8000 for telephony). Chunk `id` (1, 2, 3…) holds samples
//! `[(id−1)·N, id·N)`; a live microphone can send it only once its last sample has been
//! captured, so it is scheduled at `o + id·T` (T = N/R s). A speech end at stream sample `E`
//! (exclusive: the first sample after speech) happens at `o + E/R`; measured at the socket it
//! is `sent(j) − (j·N − E)/R` where `j` is the chunk holding sample `E−1`, which equals
//! `o + E/R` whenever chunk `j` left on time.

use std::time::{Duration, Instant};

use crate::audio::TARGET_RATE;

/// Nanoseconds per sample at 16 kHz (exact).
pub const SAMPLE_NANOS: u64 = 1_000_000_000 / TARGET_RATE as u64;

/// Duration of `samples` samples at 16 kHz.
pub fn samples_duration(samples: u64) -> Duration {
    Duration::from_nanos(samples * SAMPLE_NANOS)
}

/// Duration of `samples` samples at `rate` Hz (exact to the nanosecond for 8 and 16 kHz).
pub fn samples_duration_at(samples: u64, rate: u32) -> Duration {
    let nanos = u128::from(samples) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The absolute send schedule of one connection's microphone (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ChunkSchedule {
    origin: Instant,
    chunk_samples: u64,
    rate: u32,
}

impl ChunkSchedule {
    /// A schedule whose microphone starts capturing at `origin`, sending `chunk_samples`
    /// samples per chunk.
    pub fn new(origin: Instant, chunk_samples: usize) -> Self {
        Self::with_rate(origin, chunk_samples, TARGET_RATE)
    }

    /// The same for a microphone sampling at `rate` Hz (the wire's rate).
    pub fn with_rate(origin: Instant, chunk_samples: usize, rate: u32) -> Self {
        ChunkSchedule {
            origin,
            chunk_samples: chunk_samples as u64,
            rate,
        }
    }

    /// The microphone's sample rate (R).
    pub fn rate(&self) -> u32 {
        self.rate
    }

    fn duration(&self, samples: u64) -> Duration {
        samples_duration_at(samples, self.rate)
    }

    /// The microphone origin.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Samples per chunk (N).
    pub fn chunk_samples(&self) -> usize {
        self.chunk_samples as usize
    }

    /// Duration of one chunk (T).
    pub fn chunk_duration(&self) -> Duration {
        self.duration(self.chunk_samples)
    }

    /// When chunk `id` (1-based) is due: the capture time of its last sample's end.
    pub fn due(&self, id: u64) -> Instant {
        self.origin + self.duration(id * self.chunk_samples)
    }

    /// First stream sample carried by chunk `id`.
    pub fn first_sample(&self, id: u64) -> u64 {
        (id - 1) * self.chunk_samples
    }

    /// Chunk carrying stream sample `s`.
    pub fn chunk_of_sample(&self, s: u64) -> u64 {
        s / self.chunk_samples + 1
    }

    /// The moment stream sample boundary `end` (exclusive end of a stretch of audio) was
    /// reached, anchored at the socket: chunk `id` (which must hold sample `end − 1`) left at
    /// `sent`, and the audio after `end` in that chunk is subtracted.
    pub fn boundary_at_socket(&self, end: u64, id: u64, sent: Instant) -> Instant {
        let after = (id * self.chunk_samples).saturating_sub(end);
        sent.checked_sub(self.duration(after)).unwrap_or(sent)
    }
}

/// The metrics window: only turns starting inside `[start, end)` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsWindow {
    /// When the last user is scheduled to start.
    pub start: Instant,
    /// `start + test_duration`.
    pub end: Instant,
}

impl MetricsWindow {
    /// Whether a turn scheduled to start at `t` counts.
    pub fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_the_absolute_schedule_without_drift() {
        let origin = Instant::now();
        let schedule = ChunkSchedule::new(origin, 512);
        assert_eq!(schedule.chunk_duration(), Duration::from_millis(32));
        assert_eq!(schedule.due(1) - origin, Duration::from_millis(32));
        // 10 000 chunks later the schedule is still exact to the nanosecond.
        assert_eq!(schedule.due(10_000) - origin, Duration::from_secs(320));
        assert_eq!(schedule.first_sample(1), 0);
        assert_eq!(schedule.first_sample(3), 1024);
        assert_eq!(schedule.chunk_of_sample(0), 1);
        assert_eq!(schedule.chunk_of_sample(511), 1);
        assert_eq!(schedule.chunk_of_sample(512), 2);
    }

    #[test]
    fn an_8khz_microphone_keeps_its_own_clock() {
        let origin = Instant::now();
        let schedule = ChunkSchedule::with_rate(origin, 160, 8000);
        assert_eq!(schedule.rate(), 8000);
        assert_eq!(schedule.chunk_duration(), Duration::from_millis(20));
        assert_eq!(schedule.due(50_000) - origin, Duration::from_secs(1000));
        // Speech ends at sample 400 (50 ms), inside chunk 3 (samples 320..480).
        assert_eq!(schedule.chunk_of_sample(399), 3);
        let sent = schedule.due(3);
        assert_eq!(
            schedule.boundary_at_socket(400, 3, sent) - origin,
            Duration::from_millis(50)
        );
    }

    #[test]
    fn speech_end_maps_to_the_capture_clock_when_on_time() {
        let origin = Instant::now();
        let schedule = ChunkSchedule::new(origin, 512);
        // Speech ends at stream sample 1000 (exclusive): sample 999 is in chunk 2.
        let end = 1000;
        let id = schedule.chunk_of_sample(end - 1);
        assert_eq!(id, 2);
        let at = schedule.boundary_at_socket(end, id, schedule.due(id));
        assert_eq!(at - origin, samples_duration(1000));
        // A chunk that left 3 ms late moves the speech end with it (socket-anchored).
        let late = schedule.due(id) + Duration::from_millis(3);
        let at_late = schedule.boundary_at_socket(end, id, late);
        assert_eq!(at_late - at, Duration::from_millis(3));
        // A speech end exactly on a chunk boundary is that chunk's send time.
        let id = schedule.chunk_of_sample(1024 - 1);
        assert_eq!(
            schedule.boundary_at_socket(1024, id, schedule.due(id)),
            schedule.due(2)
        );
    }

    #[test]
    fn window_is_half_open() {
        let start = Instant::now();
        let window = MetricsWindow {
            start,
            end: start + Duration::from_secs(10),
        };
        assert!(window.contains(start));
        assert!(!window.contains(start + Duration::from_secs(10)));
        assert!(!window.contains(start - Duration::from_millis(1)));
    }
}
