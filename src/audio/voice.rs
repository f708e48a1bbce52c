//! A synthesized speech-like voice, so that tests, the built-in agent and benchmarks need no
//! model and no recording: WebRTC's VAD and level meters take it for speech.

use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

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
