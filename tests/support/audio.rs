//! Test audio: the committed recorded voices, deterministic noise and hum, scenes of a voice
//! with silence around it, synthesized speech, 16 kHz query WAVs (through the library's
//! writer and reader) and WAV files of any format built byte by byte.

use std::path::Path;

use voiceperf::audio::riff;
use voiceperf::audio::voice::{VoiceParams, synthesize_speech};
use voiceperf::audio::wav;

/// The rate of queries and of the committed voices.
pub const RATE: usize = 16_000;

/// The four committed recorded voices (alsa-utils' channel names).
pub const VOICES: [&str; 4] = ["front_center", "front_left", "rear_left", "side_right"];

/// A real recorded voice (`tests/fixtures/audio/voice_<name>.wav`), 16 kHz mono, speech to
/// its last sample.
pub fn voice(name: &str) -> Vec<i16> {
    read_query(&super::fixture(&format!("audio/voice_{name}.wav")))
}

/// A recorded voice at full scale ±1.
pub fn voice_unit(name: &str) -> Vec<f32> {
    voice(name)
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect()
}

/// A signal at full scale ±1 → 16-bit samples (rounded, clipped).
pub fn to_pcm16<T: Copy + Into<f64>>(signal: &[T]) -> Vec<i16> {
    signal
        .iter()
        .map(|&x| (x.into() * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Deterministic noise (xorshift64) from a raw state.
pub struct Noise(pub u64);

impl Noise {
    /// A generator whose sequence is well mixed even for small seeds.
    pub fn seeded(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub fn symmetric(&mut self) -> f64 {
        self.uniform() * 2.0 - 1.0
    }

    /// Standard normal (Box-Muller).
    pub fn gaussian(&mut self) -> f64 {
        let a = self.uniform().max(1e-300);
        let b = self.uniform();
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
}

/// `len` samples of uniform white noise of RMS `rms_dbfs` (full scale ±1).
pub fn white_noise(len: usize, rms_dbfs: f64, noise: &mut Noise) -> Vec<f64> {
    let amplitude = 10f64.powf(rms_dbfs / 20.0) * 3f64.sqrt();
    (0..len).map(|_| amplitude * noise.symmetric()).collect()
}

/// 50 Hz mains hum with its 3rd and 5th harmonics, RMS `rms` (full scale ±1), at sample `i`
/// of a 16 kHz signal.
pub fn hum(rms: f64, i: usize) -> f64 {
    let w = 2.0 * std::f64::consts::PI * 50.0 * i as f64 / RATE as f64;
    rms / 0.648 * (0.8 * w.sin() + 0.4 * (3.0 * w).sin() + 0.2 * (5.0 * w).sin())
}

/// `lead` s of silence, the voice, `tail` s of silence, all over white noise of RMS
/// `noise_dbfs`, at 16 kHz. Returns the samples and where the voice ends (seconds).
pub fn scene(voice: &[f32], lead: f64, tail: f64, noise_dbfs: f64) -> (Vec<f32>, f64) {
    let lead_n = (lead * RATE as f64).round() as usize;
    let mut out = vec![0.0f32; lead_n];
    out.extend_from_slice(voice);
    out.resize(out.len() + (tail * RATE as f64).round() as usize, 0.0);
    let background = white_noise(out.len(), noise_dbfs, &mut Noise(0x5EED));
    for (x, n) in out.iter_mut().zip(background) {
        *x += n as f32;
    }
    (out, (lead_n + voice.len()) as f64 / RATE as f64)
}

/// `seconds` of synthesized speech-like signal (a low voice peaking at 0.4), 16 kHz.
pub fn speech(seconds: f64, seed: u64) -> Vec<i16> {
    synthesize_speech(
        RATE as u32,
        VoiceParams {
            seconds,
            f0_hz: 120.0,
            seed,
            peak: 0.4,
        },
    )
}

/// A synthesized query: `lead` s of silence, `voice` s of speech, `trail` s of silence.
/// Returns the samples and the index one past the last voiced sample.
pub fn synth_query(lead: f64, voice: f64, trail: f64, seed: u64) -> (Vec<i16>, usize) {
    let mut samples = vec![0i16; (lead * RATE as f64) as usize];
    samples.extend(speech(voice, seed));
    let voice_end = samples.len();
    samples.extend(vec![0i16; (trail * RATE as f64) as usize]);
    (samples, voice_end)
}

/// Writes `seconds` of a synthesized reply voice (higher than the queries') to `path`.
pub fn write_reply(path: &Path, seconds: f64) {
    let samples = synthesize_speech(
        RATE as u32,
        VoiceParams {
            seconds,
            seed: 77,
            ..VoiceParams::default()
        },
    );
    write_wav(path, &samples);
}

/// The bytes of a 16 kHz mono 16-bit WAV holding `samples` (the library's writer).
pub fn wav(samples: &[i16]) -> Vec<u8> {
    wav::encode_pcm16_mono(samples)
}

/// Writes `samples` as a 16 kHz mono 16-bit WAV file (the library's writer).
pub fn write_wav(path: &Path, samples: &[i16]) {
    wav::write_pcm16_mono(path, samples).unwrap();
}

/// The samples of a query WAV, checking it is 16 kHz mono 16-bit PCM with a sound structure.
pub fn read_query(path: &Path) -> Vec<i16> {
    let query = wav::read_pcm16_mono(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        query.issues.is_empty(),
        "{}: {:?}",
        path.display(),
        query.issues
    );
    query.samples
}

/// `samples` (16 kHz) resampled to `rate` with voiceperf's own resampler.
pub fn at_rate(samples: &[f32], rate: u32) -> Vec<f32> {
    voiceperf::audio::resample::resample(samples, RATE as u32, rate).unwrap()
}

/// The `fmt ` fields of a WAV built by [`wav_file`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WavFormat {
    /// The sample format (`riff::WAVE_FORMAT_PCM` or `WAVE_FORMAT_IEEE_FLOAT`); with
    /// `extensible`, the sub-format.
    pub tag: u16,
    /// Channels.
    pub channels: u16,
    /// Sample rate, Hz.
    pub rate: u32,
    /// Bits per sample.
    pub bits: u16,
    /// Whether the `fmt ` chunk is WAVE_FORMAT_EXTENSIBLE.
    pub extensible: bool,
}

/// A RIFF/WAVE file byte by byte: a `fmt ` chunk for `format`, the `extra` chunks, then a
/// `data` chunk holding `data` as given.
pub fn wav_file(format: WavFormat, extra: &[(&[u8; 4], &[u8])], data: &[u8]) -> Vec<u8> {
    let WavFormat {
        tag,
        channels,
        rate,
        bits,
        extensible,
    } = format;
    let block = channels * bits.div_ceil(8);
    let mut fmt = Vec::new();
    let written_tag = if extensible {
        riff::WAVE_FORMAT_EXTENSIBLE
    } else {
        tag
    };
    fmt.extend_from_slice(&written_tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        let mask: u32 = if channels == 2 { 3 } else { 4 };
        fmt.extend_from_slice(&mask.to_le_bytes());
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    } else if tag != riff::WAVE_FORMAT_PCM {
        fmt.extend_from_slice(&0u16.to_le_bytes());
    }
    let mut body = b"WAVE".to_vec();
    let mut chunk = |id: &[u8; 4], bytes: &[u8]| {
        body.extend_from_slice(id);
        body.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        body.extend_from_slice(bytes);
        if bytes.len() % 2 == 1 {
            body.push(0);
        }
    };
    chunk(b"fmt ", &fmt);
    for (id, bytes) in extra {
        chunk(id, bytes);
    }
    chunk(b"data", data);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// Sample encoding of a WAV built by [`wav_bytes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    /// Unsigned 8-bit.
    U8,
    /// Signed integer of 16, 24 or 32 bits.
    Int(u16),
    /// IEEE float of 32 or 64 bits.
    Float(u16),
}

/// A WAV file of planar `channels` (full scale ±1, clamped) at `rate`: `extensible` writes a
/// WAVE_FORMAT_EXTENSIBLE `fmt ` chunk, `extra` chunks go between `fmt ` and `data`.
pub fn wav_bytes(
    channels: &[Vec<f32>],
    rate: u32,
    encoding: Encoding,
    extensible: bool,
    extra: &[(&[u8; 4], &[u8])],
) -> Vec<u8> {
    let (tag, bits) = match encoding {
        Encoding::U8 => (riff::WAVE_FORMAT_PCM, 8u16),
        Encoding::Int(bits) => (riff::WAVE_FORMAT_PCM, bits),
        Encoding::Float(bits) => (riff::WAVE_FORMAT_IEEE_FLOAT, bits),
    };
    let mut data = Vec::new();
    for i in 0..channels[0].len() {
        for channel in channels {
            let x = f64::from(channel[i]).clamp(-1.0, 1.0);
            match encoding {
                Encoding::U8 => data.push((x * 127.0 + 128.0).round() as u8),
                Encoding::Int(16) => {
                    data.extend_from_slice(&((x * 32767.0).round() as i16).to_le_bytes())
                }
                Encoding::Int(24) => {
                    let v = (x * 8_388_607.0).round() as i32;
                    data.extend_from_slice(&v.to_le_bytes()[..3]);
                }
                Encoding::Int(32) => {
                    data.extend_from_slice(&((x * 2_147_483_647.0).round() as i32).to_le_bytes())
                }
                Encoding::Float(32) => data.extend_from_slice(&(x as f32).to_le_bytes()),
                Encoding::Float(64) => data.extend_from_slice(&x.to_le_bytes()),
                other => panic!("unsupported {other:?}"),
            }
        }
    }
    let format = WavFormat {
        tag,
        channels: channels.len() as u16,
        rate,
        bits,
        extensible,
    };
    wav_file(format, extra, &data)
}
