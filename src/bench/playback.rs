//! A simulated playback buffer: what a client's speaker would do with the bot audio as it
//! arrives. Each frame plays as soon as it arrives and the previous audio has finished; when
//! a frame arrives after the buffer ran dry, the speaker was starved for the gap.

use std::time::{Duration, Instant};

/// Where a received frame lands on the playback clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// When its first sample plays.
    pub starts_at: Instant,
    /// How long the buffer had been empty when it arrived (`None` if audio was still
    /// playing, or for the very first frame).
    pub underrun: Option<Duration>,
    /// The first frame after a flush: the bot dropped what it was saying, so this frame
    /// starts a new reply.
    pub after_flush: bool,
}

/// One client's playback buffer.
#[derive(Debug, Clone, Default)]
pub struct Playback {
    play_end: Option<Instant>,
    /// Flushed since the last frame: the next frame starts afresh (no underrun).
    flushed: bool,
}

impl Playback {
    /// An empty buffer that has never played.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `duration` of audio that arrived at `arrival`.
    pub fn push(&mut self, arrival: Instant, duration: Duration) -> Played {
        let after_flush = std::mem::take(&mut self.flushed);
        let play_end = if after_flush { None } else { self.play_end };
        let played = match play_end {
            Some(end) if end > arrival => Played {
                starts_at: end,
                underrun: None,
                after_flush,
            },
            Some(end) => Played {
                starts_at: arrival,
                underrun: Some(arrival - end),
                after_flush,
            },
            None => Played {
                starts_at: arrival,
                underrun: None,
                after_flush,
            },
        };
        self.play_end = Some(played.starts_at + duration);
        played
    }

    /// Drops the audio still queued at `at` (a telephony `clear`): playing stops at `at` and
    /// the next frame starts afresh — the silence before it is no underrun.
    pub fn flush(&mut self, at: Instant) {
        if let Some(end) = self.play_end
            && end > at
        {
            self.play_end = Some(at);
        }
        self.flushed = true;
    }

    /// When everything queued so far has finished playing (`None` before any audio).
    pub fn play_end(&self) -> Option<Instant> {
        self.play_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_flush_stops_playing_and_the_next_frame_starts_afresh() {
        let t0 = Instant::now();
        let mut playback = Playback::new();
        // 1 s of audio arrives at once, then is cleared 100 ms in.
        playback.push(t0, 1000 * MS);
        playback.flush(t0 + 100 * MS);
        assert_eq!(playback.play_end(), Some(t0 + 100 * MS));
        let next = playback.push(t0 + 600 * MS, 20 * MS);
        assert_eq!(next.starts_at, t0 + 600 * MS);
        assert_eq!(next.underrun, None);
        assert!(next.after_flush);
        assert_eq!(playback.play_end(), Some(t0 + 620 * MS));
        assert!(!playback.push(t0 + 620 * MS, 20 * MS).after_flush);
    }

    #[test]
    fn real_time_stream_with_a_head_start_never_underruns() {
        let t0 = Instant::now();
        let mut playback = Playback::new();
        // pipecat: the first two 40 ms chunks back to back, then one every 40 ms (±2 ms).
        assert_eq!(playback.push(t0, 40 * MS).underrun, None);
        assert_eq!(playback.push(t0, 40 * MS).starts_at, t0 + 40 * MS);
        for (k, jitter) in [(1u32, 2u32), (2, 0), (3, 1)] {
            let played = playback.push(t0 + MS * (40 * k + jitter), 40 * MS);
            assert_eq!(played.underrun, None);
        }
        assert_eq!(playback.play_end(), Some(t0 + 200 * MS));
    }

    #[test]
    fn a_stall_is_an_underrun_of_the_gap() {
        let t0 = Instant::now();
        let mut playback = Playback::new();
        playback.push(t0, 40 * MS);
        let played = playback.push(t0 + 100 * MS, 40 * MS);
        assert_eq!(played.underrun, Some(60 * MS));
        assert_eq!(played.starts_at, t0 + 100 * MS);
        assert_eq!(playback.play_end(), Some(t0 + 140 * MS));
    }
}
