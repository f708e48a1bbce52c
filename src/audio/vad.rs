//! The WebRTC voice-activity detector (libfvad through `webrtc-vad`) for 16 kHz mono int16
//! audio: the one frame classifier behind prep's trimming, validate's checks, the agent's
//! turn detection and bench's speech-end estimate.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::TARGET_RATE;

/// How hard the VAD rejects non-speech: `Quality` lets most sound through as speech,
/// `VeryAggressive` keeps only clear speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum VadMode {
    /// Mode 0.
    Quality,
    /// Mode 1.
    LowBitrate,
    /// Mode 2.
    Aggressive,
    /// Mode 3.
    VeryAggressive,
}

impl VadMode {
    fn to_webrtc(self) -> webrtc_vad::VadMode {
        match self {
            VadMode::Quality => webrtc_vad::VadMode::Quality,
            VadMode::LowBitrate => webrtc_vad::VadMode::LowBitrate,
            VadMode::Aggressive => webrtc_vad::VadMode::Aggressive,
            VadMode::VeryAggressive => webrtc_vad::VadMode::VeryAggressive,
        }
    }
}

/// Frame lengths the WebRTC VAD accepts, in milliseconds.
pub const FRAME_MS_CHOICES: [u32; 3] = [10, 20, 30];

/// Samples in a frame of `ms` milliseconds at 16 kHz.
pub const fn frame_samples(ms: u32) -> usize {
    (TARGET_RATE / 1000 * ms) as usize
}

/// Samples in a frame of `ms` milliseconds at `rate` Hz.
pub const fn frame_samples_at(rate: u32, ms: u32) -> usize {
    (rate / 1000 * ms) as usize
}

/// Sample rates the WebRTC VAD classifies (Hz).
pub const VAD_RATES: [u32; 4] = [8_000, 16_000, 32_000, 48_000];

/// A frame the VAD cannot classify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "VAD frame of {0} samples; it needs 10, 20 or 30 ms of audio (160, 320 or 480 samples at 16 kHz)"
)]
pub struct BadFrameLength(pub usize);

/// A sample rate the VAD cannot work at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the VAD works at 8000, 16000, 32000 or 48000 Hz, not {0} Hz")]
pub struct UnsupportedVadRate(pub u32);

/// A WebRTC VAD instance for mono int16 frames of 10, 20 or 30 ms (16 kHz unless made with
/// [`Vad::with_rate`]). It keeps state (noise estimates) from frame to frame, so use one per
/// stream.
pub struct Vad {
    inner: webrtc_vad::Vad,
    rate: u32,
}

// SAFETY: `webrtc_vad::Vad` owns a heap-allocated libfvad state reached only through `&mut
// self`; libfvad keeps no global or thread-local state, so moving it to another thread is
// sound. (It is !Send only because it holds a raw pointer.)
unsafe impl Send for Vad {}

impl Vad {
    /// A fresh detector in `mode` for 16 kHz audio.
    pub fn new(mode: VadMode) -> Self {
        Vad {
            inner: webrtc_vad::Vad::new_with_rate_and_mode(
                webrtc_vad::SampleRate::Rate16kHz,
                mode.to_webrtc(),
            ),
            rate: TARGET_RATE,
        }
    }

    /// A fresh detector in `mode` for audio at `rate` Hz (telephony audio is 8 kHz).
    pub fn with_rate(mode: VadMode, rate: u32) -> Result<Self, UnsupportedVadRate> {
        let webrtc_rate = match rate {
            8_000 => webrtc_vad::SampleRate::Rate8kHz,
            16_000 => webrtc_vad::SampleRate::Rate16kHz,
            32_000 => webrtc_vad::SampleRate::Rate32kHz,
            48_000 => webrtc_vad::SampleRate::Rate48kHz,
            other => return Err(UnsupportedVadRate(other)),
        };
        Ok(Vad {
            inner: webrtc_vad::Vad::new_with_rate_and_mode(webrtc_rate, mode.to_webrtc()),
            rate,
        })
    }

    /// The sample rate this detector classifies.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Whether the frame (10, 20 or 30 ms of samples at [`Vad::rate`]) holds speech.
    pub fn is_speech(&mut self, frame: &[i16]) -> Result<bool, BadFrameLength> {
        if !FRAME_MS_CHOICES
            .iter()
            .any(|&ms| frame_samples_at(self.rate, ms) == frame.len())
        {
            return Err(BadFrameLength(frame.len()));
        }
        self.inner
            .is_voice_segment(frame)
            .map_err(|()| BadFrameLength(frame.len()))
    }

    /// Forgets the state learned so far, as for a new stream.
    pub fn reset(&mut self, mode: VadMode) {
        let rate = self.rate;
        *self = Vad::with_rate(mode, rate).unwrap_or_else(|_| Vad::new(mode));
    }
}

impl std::fmt::Debug for Vad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vad").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crude voiced sound: 140 Hz pulse train through two formant-like resonances.
    fn voiced(samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|n| {
                let t = n as f64 / 16_000.0;
                let f0 = 140.0;
                let s: f64 = (1..30)
                    .map(|h| {
                        let f = f0 * h as f64;
                        let gain = (-(f - 700.0).powi(2) / 2e5).exp()
                            + 0.6 * (-(f - 1200.0).powi(2) / 3e5).exp()
                            + 0.05;
                        gain * (2.0 * std::f64::consts::PI * f * t).sin() / h as f64
                    })
                    .sum();
                (s * 6000.0) as i16
            })
            .collect()
    }

    #[test]
    fn silence_is_not_speech_and_voice_is() {
        let mut vad = Vad::new(VadMode::Aggressive);
        let silence = vec![0i16; frame_samples(30)];
        assert!(!vad.is_speech(&silence).unwrap());
        let voice = voiced(frame_samples(30) * 20);
        let speech_frames = voice
            .chunks_exact(frame_samples(30))
            .filter(|f| vad.is_speech(f).unwrap())
            .count();
        assert!(speech_frames >= 15, "{speech_frames} of 20 frames");
    }

    #[test]
    fn rejects_bad_frame_lengths() {
        let mut vad = Vad::new(VadMode::Quality);
        assert_eq!(vad.is_speech(&[0; 100]), Err(BadFrameLength(100)));
        assert!(vad.is_speech(&[0; 160]).is_ok());
        assert!(vad.is_speech(&[0; 320]).is_ok());
    }

    #[test]
    fn vad_moves_across_threads() {
        let mut vad = Vad::new(VadMode::Quality);
        let handle = std::thread::spawn(move || vad.is_speech(&[0; 480]).unwrap());
        assert!(!handle.join().unwrap());
    }
}
