//! The agent's voice: a built-in synthesized speech-like clip (so no model or recording is
//! needed), or a WAV file given with `--reply`; cut into the 40 ms chunks the agent streams.

use std::f64::consts::TAU;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::audio::riff;

/// How to synthesize a speech-like signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceParams {
    /// Length of the signal in seconds.
    pub seconds: f64,
    /// Mean pitch in Hz (about 120 for a low voice, 200 for a high one).
    pub f0_hz: f64,
    /// Seed choosing the sequence of syllables and pauses.
    pub seed: u64,
    /// Peak level as a fraction of full scale.
    pub peak: f64,
}

impl Default for VoiceParams {
    fn default() -> Self {
        VoiceParams {
            seconds: 2.43,
            f0_hz: 185.0,
            seed: 1,
            peak: 0.5,
        }
    }
}

/// First three formants (Hz) of the vowels the synthesizer cycles through.
const VOWELS: [[f64; 3]; 6] = [
    [730.0, 1090.0, 2440.0], // a
    [270.0, 2290.0, 3010.0], // i
    [300.0, 870.0, 2240.0],  // u
    [530.0, 1840.0, 2480.0], // e
    [570.0, 840.0, 2410.0],  // o
    [660.0, 1720.0, 2410.0], // ae
];

/// A speech-like signal: words of one to three syllables, each a voiced vowel (harmonics of
/// a gliding pitch shaped by three formants) with an optional noisy consonant onset, short
/// gaps between words and a longer pause between phrases. WebRTC's VAD and level meters take
/// it for speech; nobody would take it for words.
pub fn synthesize_speech(sample_rate: u32, params: VoiceParams) -> Vec<i16> {
    let sr = f64::from(sample_rate.max(8000));
    let total = (params.seconds.max(0.0) * sr).round() as usize;
    let mut rng = StdRng::seed_from_u64(params.seed);
    let mut out = vec![0.0f64; total];
    let lead_in = (0.02 * sr) as usize;
    let mut at = lead_in;
    let mut words_in_phrase = 0;
    let mut phrase_start = at;
    let max_harmonic_hz = (0.45 * sr).min(5000.0);
    let mut phases = [0.0f64; 64];
    while at < total {
        let syllables = rng.random_range(1..=3);
        for s in 0..syllables {
            // Consonant onset: a short burst of differentiated noise (fricative-like).
            if rng.random_bool(0.6) {
                let len = (rng.random_range(0.03..0.07) * sr) as usize;
                let mut prev = 0.0;
                for i in 0..len {
                    if at + i >= total {
                        break;
                    }
                    let white: f64 = rng.random_range(-1.0..1.0);
                    let hiss = white - prev;
                    prev = white;
                    let env = (std::f64::consts::PI * i as f64 / len as f64).sin();
                    out[at + i] += 0.12 * hiss * env;
                }
                at += len;
            }
            let vowel = VOWELS[rng.random_range(0..VOWELS.len())];
            let len = (rng.random_range(0.14..0.24) * sr) as usize;
            let accent = if s == 0 { 1.12 } else { 1.0 };
            let attack = (0.025 * sr) as usize;
            let release = (0.045 * sr) as usize;
            for i in 0..len {
                let n = at + i;
                if n >= total {
                    break;
                }
                // Pitch: declines over the phrase, rises on accented syllables.
                let phrase_t = (n - phrase_start) as f64 / sr;
                let syll_t = i as f64 / len as f64;
                let f0 = params.f0_hz
                    * accent
                    * (1.08 - 0.12 * (phrase_t / 2.0).min(1.0))
                    * (1.0 + 0.04 * (TAU * syll_t).sin() * 0.5);
                let mut sample = 0.0;
                for (h, phase) in phases.iter_mut().enumerate() {
                    let hz = f0 * (h + 1) as f64;
                    if hz > max_harmonic_hz {
                        break;
                    }
                    *phase = (*phase + TAU * hz / sr) % TAU;
                    let gain = formant_gain(hz, &vowel) / (h + 1) as f64;
                    sample += gain * phase.sin();
                }
                let env = if i < attack {
                    0.5 - 0.5 * (std::f64::consts::PI * i as f64 / attack as f64).cos()
                } else if i + release > len {
                    let k = (len - i) as f64 / release as f64;
                    0.5 - 0.5 * (std::f64::consts::PI * k).cos()
                } else {
                    1.0
                };
                out[n] += sample * env;
            }
            at += len;
        }
        words_in_phrase += 1;
        let phrase_end = words_in_phrase >= 4 && rng.random_bool(0.5);
        let gap = if phrase_end {
            words_in_phrase = 0;
            rng.random_range(0.22..0.32)
        } else {
            rng.random_range(0.03..0.09)
        };
        at += (gap * sr) as usize;
        if phrase_end {
            phrase_start = at.min(total);
        }
    }
    // End in silence: fade the last 20 ms.
    let fade = ((0.02 * sr) as usize).min(total);
    for i in 0..fade {
        out[total - fade + i] *= 1.0 - i as f64 / fade as f64;
    }
    let peak = out.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    let scale = if peak > 0.0 {
        params.peak.clamp(0.0, 1.0) * 32767.0 / peak
    } else {
        0.0
    };
    out.iter()
        .map(|s| (s * scale).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn formant_gain(hz: f64, formants: &[f64; 3]) -> f64 {
    const BANDWIDTHS: [f64; 3] = [90.0, 110.0, 170.0];
    const WEIGHTS: [f64; 3] = [1.0, 0.6, 0.3];
    formants
        .iter()
        .zip(BANDWIDTHS)
        .zip(WEIGHTS)
        .map(|((f, bw), w)| w / (1.0 + ((hz - f) / bw).powi(2)))
        .sum::<f64>()
        + 0.02
}

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
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
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
