//! The agent's voice: a built-in synthesized speech-like clip (so no model or recording is
//! needed), or a WAV file given with `--reply`; cut into the 40 ms chunks the agent streams.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::audio::riff;
use crate::audio::voice::{VoiceParams, synthesize_speech};

/// The built-in reply: 2.43 s of a synthesized higher voice (61 frames of 40 ms, the last
/// one zero-padded).
pub fn builtin_reply(sample_rate: u32) -> Vec<i16> {
    synthesize_speech(sample_rate, VoiceParams::default())
}

/// The built-in greeting: about 1.2 s of the same voice.
pub fn builtin_greeting(sample_rate: u32) -> Vec<i16> {
    synthesize_speech(
        sample_rate,
        VoiceParams {
            seconds: 1.2,
            seed: 2,
            ..VoiceParams::default()
        },
    )
}

/// Reads a 16-bit PCM WAV file (any chunk layout), mixing several channels down to one.
/// Returns the samples and the sample rate.
pub fn load_wav(path: &Path) -> anyhow::Result<(Vec<i16>, u32)> {
    let bytes = crate::fsutil::read_regular(path, crate::audio::decode::MAX_RECORDING_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    let layout = riff::parse(&bytes).with_context(|| format!("reading {}", path.display()))?;
    let fmt = &layout.fmt;
    if !fmt.is_integer_pcm() || fmt.bits_per_sample != 16 {
        bail!(
            "{}: format {:#06x} with {}-bit samples; the reply must be 16-bit PCM WAV",
            path.display(),
            fmt.effective_format(),
            fmt.bits_per_sample
        );
    }
    if fmt.channels == 0 || !(8000..=192_000).contains(&fmt.sample_rate) {
        bail!(
            "{}: {} channels at {} Hz is not usable audio",
            path.display(),
            fmt.channels,
            fmt.sample_rate
        );
    }
    let samples = riff::pcm16_from_bytes(&bytes[layout.data.clone()]);
    let channels = usize::from(fmt.channels);
    let mono: Vec<i16> = samples
        .chunks_exact(channels)
        .map(|frame| {
            let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
            (sum / channels as i32) as i16
        })
        .collect();
    if mono.is_empty() {
        bail!("{}: no audio samples", path.display());
    }
    Ok((mono, fmt.sample_rate))
}

/// A reply cut into the payloads of consecutive audio frames.
#[derive(Debug, Clone)]
pub struct ReplyAudio {
    /// Sample rate of every chunk.
    pub sample_rate: u32,
    /// Duration of one chunk.
    pub chunk: Duration,
    /// Frame payloads in order: raw PCM, or complete WAV files with `--wav-header`.
    pub payloads: Vec<Vec<u8>>,
}

impl ReplyAudio {
    /// Cuts `samples` into chunks of `chunk_ms`; the last one is zero-padded to full length,
    /// as pipecat's output transport does.
    pub fn new(samples: &[i16], sample_rate: u32, chunk_ms: u32, wav_header: bool) -> Self {
        let chunk_samples =
            (u64::from(sample_rate) * u64::from(chunk_ms.max(1)) / 1000).max(1) as usize;
        let payloads = samples
            .chunks(chunk_samples)
            .map(|chunk| {
                let mut pcm = riff::pcm16_to_bytes(chunk);
                pcm.resize(chunk_samples * 2, 0);
                if wav_header {
                    riff::wrap_pcm16(&pcm, sample_rate, 1)
                } else {
                    pcm
                }
            })
            .collect();
        ReplyAudio {
            sample_rate,
            chunk: Duration::from_secs_f64(chunk_samples as f64 / f64::from(sample_rate)),
            payloads,
        }
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    /// Whether there is no audio at all.
    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }

    /// Playing time of the whole reply.
    pub fn duration(&self) -> Duration {
        self.chunk * self.payloads.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::vad::{Vad, VadMode, frame_samples};

    #[test]
    fn builtin_voice_is_speech_to_the_vad() {
        let samples = builtin_reply(16_000);
        assert_eq!(samples.len(), 38_880);
        let mut vad = Vad::new(VadMode::Aggressive);
        let frames: Vec<bool> = samples
            .chunks_exact(frame_samples(20))
            .map(|f| vad.is_speech(f).unwrap())
            .collect();
        let speech = frames.iter().filter(|&&s| s).count();
        assert!(
            speech * 10 >= frames.len() * 7,
            "{speech} of {} frames are speech",
            frames.len()
        );
        // A level meter sees speech-like dynamics: loud syllables and quieter gaps.
        let rms: Vec<f64> = samples
            .chunks_exact(320)
            .map(|f| (f.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 320.0).sqrt())
            .collect();
        let loud = rms.iter().filter(|&&r| r > 2000.0).count();
        let quiet = rms.iter().filter(|&&r| r < 300.0).count();
        assert!(loud > rms.len() / 2, "{loud} loud frames");
        assert!(quiet >= 3, "{quiet} quiet frames");
    }

    #[test]
    fn synthesis_is_deterministic_and_rate_aware() {
        assert_eq!(builtin_reply(24_000), builtin_reply(24_000));
        assert_eq!(builtin_reply(24_000).len(), 58_320);
        assert_ne!(
            synthesize_speech(
                16_000,
                VoiceParams {
                    seed: 5,
                    ..Default::default()
                }
            ),
            builtin_reply(16_000)
        );
    }

    #[test]
    fn chunks_are_full_length_and_last_is_zero_padded() {
        let samples: Vec<i16> = (1..=1000).collect();
        let reply = ReplyAudio::new(&samples, 16_000, 40, false);
        assert_eq!(reply.len(), 2);
        assert_eq!(reply.payloads[0].len(), 1280);
        assert_eq!(reply.payloads[1].len(), 1280);
        assert_eq!(&reply.payloads[1][..4], &[0x81, 0x02, 0x82, 0x02]);
        assert!(
            reply.payloads[1][(1000 - 640) * 2..]
                .iter()
                .all(|&b| b == 0)
        );
        assert_eq!(reply.chunk, Duration::from_millis(40));
        let wav = ReplyAudio::new(&samples, 24_000, 40, true);
        assert_eq!(wav.payloads[0].len(), 44 + 1920);
        let layout = riff::parse(&wav.payloads[0]).unwrap();
        assert_eq!(layout.fmt.sample_rate, 24_000);
        assert_eq!(layout.data.len(), 1920);
    }

    #[test]
    fn loads_and_downmixes_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.wav");
        let stereo = riff::pcm16_to_bytes(&[100, 300, -50, -150]);
        std::fs::write(&path, riff::wrap_pcm16(&stereo, 22_050, 2)).unwrap();
        let (mono, rate) = load_wav(&path).unwrap();
        assert_eq!((mono, rate), (vec![200, -100], 22_050));
        std::fs::write(&path, b"not a wav").unwrap();
        let err = load_wav(&path).unwrap_err();
        assert!(format!("{err:#}").contains("r.wav"), "{err:#}");
    }
}
