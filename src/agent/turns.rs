//! Turn detection like a pipecat VAD analyzer: speech starts after `start` of consecutive
//! speech and stops after `stop` of consecutive non-speech, judged by the WebRTC VAD on 20 ms
//! frames of the incoming 16 kHz audio. It remembers which incoming message carried the last
//! speech, so the agent can say exactly what its latency is measured from.
//!
//! Speech only *starts* on frames at least as loud as [`MIN_SPEECH_DBFS`], whatever the WebRTC
//! VAD says — the role of pipecat's `VADParams.min_volume`. Without it the WebRTC VAD, after its
//! noise model has settled on digital silence between turns, takes the −58…−70 dBFS room tone a
//! prepared file keeps before its speech for speech, and the agent would detect a turn (or an
//! interruption) up to the kept lead-in before the speech begins. Once speaking, the VAD alone
//! decides, so quiet syllables and short pauses inside an utterance end no turn (pipecat
//! smooths its volume for the same reason).

use std::time::{Duration, Instant};

use crate::audio::vad::{UnsupportedVadRate, Vad, VadMode, frame_samples_at};

/// Length of one VAD decision.
pub const VAD_FRAME_MS: u32 = 20;

/// RMS level (dBFS) below which a frame cannot start speech.
pub const MIN_SPEECH_DBFS: f64 = -50.0;

/// Whether a frame's RMS level reaches [`MIN_SPEECH_DBFS`].
fn loud_enough(frame: &[i16]) -> bool {
    if frame.is_empty() {
        return false;
    }
    let power = frame
        .iter()
        .map(|&s| {
            let x = f64::from(s) / 32768.0;
            x * x
        })
        .sum::<f64>()
        / frame.len() as f64;
    10.0 * power.log10() >= MIN_SPEECH_DBFS
}

/// An incoming audio message the VAD counted as speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechFrame {
    /// The message's `AudioRawFrame.id` (bench's per-connection sequence number).
    pub id: u64,
    /// When the message was read from the socket.
    pub arrived: Instant,
}

/// What one incoming message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEvent {
    /// The user started speaking (after `start` of speech).
    SpeechStarted {
        /// The first message of the speech run that confirmed the start.
        first: SpeechFrame,
    },
    /// The user stopped speaking (after `stop` of non-speech).
    SpeechStopped {
        /// The last message that held speech.
        last: SpeechFrame,
        /// From the first speech message of this turn to the last one.
        speech: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Quiet,
    Starting { frames: u32, first: SpeechFrame },
    Speaking,
    Stopping { frames: u32 },
}

/// Per-connection VAD turn detector.
#[derive(Debug)]
pub struct TurnDetector {
    vad: Vad,
    start_frames: u32,
    stop_frames: u32,
    pending: Vec<i16>,
    frame_len: usize,
    state: State,
    last_speech: Option<SpeechFrame>,
    turn_first: Option<SpeechFrame>,
}

impl TurnDetector {
    /// A detector of 16 kHz audio confirming speech after `start` and its end after `stop`.
    pub fn new(mode: VadMode, start: Duration, stop: Duration) -> Self {
        Self::with_vad(Vad::new(mode), start, stop)
    }

    /// The same for audio at `rate` Hz (8 kHz for telephony).
    pub fn with_rate(
        mode: VadMode,
        rate: u32,
        start: Duration,
        stop: Duration,
    ) -> Result<Self, UnsupportedVadRate> {
        Ok(Self::with_vad(Vad::with_rate(mode, rate)?, start, stop))
    }

    fn with_vad(vad: Vad, start: Duration, stop: Duration) -> Self {
        let frames =
            |d: Duration| ((d.as_millis() as f64 / f64::from(VAD_FRAME_MS)).round() as u32).max(1);
        let frame_len = frame_samples_at(vad.rate(), VAD_FRAME_MS);
        TurnDetector {
            vad,
            start_frames: frames(start),
            stop_frames: frames(stop),
            pending: Vec::with_capacity(frame_len * 2),
            frame_len,
            state: State::Quiet,
            last_speech: None,
            turn_first: None,
        }
    }

    /// Whether the user is speaking now (started and not yet stopped).
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speaking | State::Stopping { .. })
    }

    /// The last message that held speech so far.
    pub fn last_speech(&self) -> Option<SpeechFrame> {
        self.last_speech
    }

    /// Feeds the samples of one incoming message (mono, at the detector's rate) and returns what changed,
    /// in order (a long message can both end one turn and start another).
    pub fn push(&mut self, samples: &[i16], id: u64, arrived: Instant) -> Vec<TurnEvent> {
        let mut events = Vec::new();
        let frame_len = self.frame_len;
        let this = SpeechFrame { id, arrived };
        self.pending.extend_from_slice(samples);
        let mut consumed = 0;
        while self.pending.len() - consumed >= frame_len {
            let frame = &self.pending[consumed..consumed + frame_len];
            consumed += frame_len;
            // A 20 ms frame is always a valid length, so this cannot fail.
            let speech = (self.in_speech() || loud_enough(frame))
                && self.vad.is_speech(frame).unwrap_or(false);
            if speech {
                self.last_speech = Some(this);
            }
            self.step(speech, this, &mut events);
        }
        self.pending.drain(..consumed);
        events
    }

    fn step(&mut self, speech: bool, this: SpeechFrame, events: &mut Vec<TurnEvent>) {
        self.state = match (self.state, speech) {
            (State::Quiet, false) => State::Quiet,
            (State::Quiet, true) => self.starting(1, this, events),
            (State::Starting { frames, first }, true) => self.starting(frames + 1, first, events),
            (State::Starting { .. }, false) => State::Quiet,
            (State::Speaking, true) => State::Speaking,
            (State::Speaking, false) => self.stopping(1, events),
            (State::Stopping { frames }, false) => self.stopping(frames + 1, events),
            (State::Stopping { .. }, true) => State::Speaking,
        };
    }

    fn starting(&mut self, frames: u32, first: SpeechFrame, events: &mut Vec<TurnEvent>) -> State {
        if frames >= self.start_frames {
            self.turn_first = Some(first);
            events.push(TurnEvent::SpeechStarted { first });
            State::Speaking
        } else {
            State::Starting { frames, first }
        }
    }

    fn stopping(&mut self, frames: u32, events: &mut Vec<TurnEvent>) -> State {
        if frames < self.stop_frames {
            return State::Stopping { frames };
        }
        if let Some(last) = self.last_speech {
            let speech = self
                .turn_first
                .map(|first| last.arrived.saturating_duration_since(first.arrived))
                .unwrap_or_default();
            events.push(TurnEvent::SpeechStopped { last, speech });
        }
        State::Quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::voice::{VoiceParams, synthesize_speech};

    fn feed(
        det: &mut TurnDetector,
        samples: &[i16],
        first_id: u64,
        t0: Instant,
    ) -> Vec<(u64, TurnEvent)> {
        let mut out = Vec::new();
        for (i, chunk) in samples.chunks(640).enumerate() {
            let id = first_id + i as u64;
            let at = t0 + Duration::from_millis(40 * i as u64);
            out.extend(det.push(chunk, id, at).into_iter().map(|e| (id, e)));
        }
        out
    }

    #[test]
    fn one_utterance_is_one_turn_ending_at_its_last_speech_frame() {
        let mut det = TurnDetector::new(
            VadMode::Aggressive,
            Duration::from_millis(200),
            Duration::from_millis(400),
        );
        let mut audio = vec![0i16; 16_000 / 2];
        let voice = synthesize_speech(
            16_000,
            VoiceParams {
                seconds: 1.5,
                f0_hz: 120.0,
                seed: 9,
                peak: 0.4,
            },
        );
        audio.extend_from_slice(&voice);
        audio.extend(vec![0i16; 16_000]);
        let t0 = Instant::now();
        let events = feed(&mut det, &audio, 1, t0);
        assert_eq!(events.len(), 2, "{events:?}");
        let (start_id, TurnEvent::SpeechStarted { first }) = events[0] else {
            panic!("{events:?}")
        };
        // Speech begins in message 13 or 14 (0.5 s of silence = 12.5 messages).
        assert!((13..=15).contains(&first.id), "{first:?}");
        assert!(
            start_id >= first.id + 4,
            "start confirmed after 200 ms: {start_id}"
        );
        let (stop_id, TurnEvent::SpeechStopped { last, speech }) = events[1] else {
            panic!("{events:?}")
        };
        // The voice ends at 2.0 s = end of message 50; the WebRTC VAD holds speech a few
        // frames longer (hangover).
        assert!((46..=54).contains(&last.id), "{last:?}");
        assert!(
            stop_id >= last.id + 9 && stop_id <= last.id + 12,
            "stop at {stop_id}"
        );
        assert!(speech > Duration::from_millis(1200), "{speech:?}");
        assert!(!det.in_speech());
    }

    #[test]
    fn silence_and_short_clicks_are_not_turns() {
        let mut det = TurnDetector::new(
            VadMode::Aggressive,
            Duration::from_millis(200),
            Duration::from_millis(300),
        );
        let mut audio = vec![0i16; 16_000];
        let click = synthesize_speech(
            16_000,
            VoiceParams {
                seconds: 0.06,
                ..Default::default()
            },
        );
        audio.extend_from_slice(&click);
        audio.extend(vec![0i16; 16_000]);
        assert!(feed(&mut det, &audio, 1, Instant::now()).is_empty());
    }
}

#[cfg(test)]
mod level_gate_tests {
    use super::*;
    use crate::audio::wav::read_pcm16_mono;

    /// The repository's prepared queries keep 200 ms of room tone before their speech. Spoken
    /// one after another with digital silence between them, as bench speaks them, every turn
    /// must start at the speech, not at the room tone.
    #[test]
    fn room_tone_before_the_speech_is_not_speech() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("audio_files");
        let mut det = TurnDetector::new(
            VadMode::Aggressive,
            Duration::from_millis(200),
            Duration::from_millis(500),
        );
        let t0 = Instant::now();
        let chunk = 320; // 20 ms messages
        let mut id = 0u64;
        let mut feed = |samples: &[i16]| {
            let mut starts = Vec::new();
            for part in samples.chunks(chunk) {
                id += 1;
                for event in det.push(part, id, t0 + Duration::from_millis(20 * id)) {
                    if let TurnEvent::SpeechStarted { first } = event {
                        starts.push(first.id);
                    }
                }
            }
            (id, starts)
        };
        for name in ["query_1.wav", "query_2.wav", "query_3.wav", "query_4.wav"] {
            let wav = read_pcm16_mono(&dir.join(name)).unwrap();
            let (before, _) = feed(&vec![0; 16_000 * 3]);
            let (_, starts) = feed(&wav.samples);
            // Prep keeps 200 ms (10 messages) of lead-in before the speech.
            let first = *starts
                .first()
                .unwrap_or_else(|| panic!("{name}: no speech"));
            assert!(
                first > before + 9,
                "{name}: speech detected from message {} of the file, inside its lead-in",
                first - before
            );
        }
    }
}
