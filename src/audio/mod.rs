//! Audio building blocks shared by `prep`, `validate`, `bench` and `agent`: RIFF/WAVE
//! parsing and writing, and the WebRTC voice-activity detector.

pub mod riff;
pub mod vad;

/// The sample rate of every prepared query and of the audio sent to an agent.
pub const TARGET_RATE: u32 = 16_000;
