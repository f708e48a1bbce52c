//! Audio building blocks shared by `prep`, `validate`, `bench` and `agent`, in pipeline order:
//! decoding any recording, mixing to mono, resampling to 16 kHz, converting to 16-bit,
//! finding where speech is (WebRTC VAD + energy), and reading/writing query WAV files.

pub mod decode;
pub mod g711;
pub mod mix;
pub mod pcm;
pub mod resample;
pub mod riff;
pub mod speech;
pub mod vad;
pub mod voice;
pub mod wav;

/// The sample rate of every prepared query and of the audio sent to an agent.
pub const TARGET_RATE: u32 = 16_000;
