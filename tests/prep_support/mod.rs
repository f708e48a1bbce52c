//! Shared helpers of the `prep` integration tests: fixtures, WAV files built byte by byte,
//! running the binary, reading its outputs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use voiceperf::audio::riff;
use voiceperf::dataset::manifest::{Manifest, ManifestEntry};

/// Folder of the committed audio fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio")
}

/// Real recorded voice at 16 kHz, full scale ±1; its speech ends at the last sample.
pub fn voice(name: &str) -> Vec<f32> {
    hound::WavReader::open(fixtures().join(format!("voice_{name}.wav")))
        .unwrap()
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// Deterministic noise in [-1, 1) (xorshift).
pub struct Noise(pub u64);

impl Noise {
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// `lead` s of silence, the voice, `tail` s of silence, all over uniform noise of RMS
/// `noise_dbfs`, at 16 kHz. Returns the samples and where the voice ends (seconds).
pub fn scene(voice: &[f32], lead: f64, tail: f64, noise_dbfs: f64) -> (Vec<f32>, f64) {
    let lead_n = (lead * 16_000.0) as usize;
    let mut out = vec![0.0f32; lead_n];
    out.extend_from_slice(voice);
    out.resize(out.len() + (tail * 16_000.0) as usize, 0.0);
    let amplitude = (10f64.powf(noise_dbfs / 20.0) * 3f64.sqrt()) as f32;
    let mut noise = Noise(0x5EED);
    for x in &mut out {
        *x += amplitude * noise.next();
    }
    (out, (lead_n + voice.len()) as f64 / 16_000.0)
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

/// A WAV file of planar `channels` at `rate`, byte by byte: `extensible` writes a
/// WAVE_FORMAT_EXTENSIBLE `fmt ` chunk, `extra` chunks go between `fmt ` and `data`.
pub fn wav_bytes(
    channels: &[Vec<f32>],
    rate: u32,
    encoding: Encoding,
    extensible: bool,
    extra: &[(&[u8; 4], &[u8])],
) -> Vec<u8> {
    let (tag, bits) = match encoding {
        Encoding::U8 => (1u16, 8u16),
        Encoding::Int(bits) => (1, bits),
        Encoding::Float(bits) => (3, bits),
    };
    let count = channels.len() as u16;
    let block = count * bits / 8;
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
    let mut fmt = Vec::new();
    fmt.extend_from_slice(
        &(if extensible {
            riff::WAVE_FORMAT_EXTENSIBLE
        } else {
            tag
        })
        .to_le_bytes(),
    );
    fmt.extend_from_slice(&count.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&(if count == 2 { 3u32 } else { 4u32 }).to_le_bytes());
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    } else if tag == 3 {
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
    chunk(b"data", &data);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// `samples` (16 kHz) resampled to `rate` with voiceperf's own resampler.
pub fn at_rate(samples: &[f32], rate: u32) -> Vec<f32> {
    voiceperf::audio::resample::resample(samples, 16_000, rate).unwrap()
}

/// Runs `voiceperf prep ARGS` in `dir`.
pub fn prep(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("voiceperf")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("prep")
        .args(args)
        .output()
        .unwrap()
}

/// Standard output and error of a run, as text.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The manifest of a dataset folder (which must exist).
pub fn manifest(dir: &Path) -> Manifest {
    Manifest::load(dir).unwrap().expect("manifest.json")
}

/// The samples of a prepared query, checking it is 16 kHz mono 16-bit PCM.
pub fn query_samples(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap();
    let layout = riff::parse(&bytes).unwrap();
    assert!(
        layout.fmt.is_16k_mono_s16(),
        "{}: {:?}",
        path.display(),
        layout.fmt
    );
    assert!(
        layout.issues.is_empty(),
        "{}: {:?}",
        path.display(),
        layout.issues
    );
    riff::pcm16_from_bytes(&bytes[layout.data])
}

/// Seconds of non-speech the query keeps after the known end of speech (`speech_end`,
/// seconds in the recording): its end in the recording's timeline minus the speech end.
pub fn trailing_residual(entry: &ManifestEntry, speech_end: f64) -> f64 {
    entry.trimmed_leading_ms / 1000.0 + entry.duration_s - speech_end
}

/// Checks a query made from a recording whose speech ends at `speech_end` s: right format,
/// manifest consistent with the file, and trailing residual within `residual` seconds.
pub fn check_query(
    dir: &Path,
    name: &str,
    speech_end: f64,
    residual: std::ops::RangeInclusive<f64>,
) {
    let entry = manifest(dir)
        .get(name)
        .unwrap_or_else(|| panic!("{name} not in manifest"))
        .clone();
    let path = dir.join(name);
    let samples = query_samples(&path);
    assert_eq!(samples.len(), entry.samples, "{name}");
    assert!(
        (entry.duration_s - samples.len() as f64 / 16_000.0).abs() < 1e-9,
        "{name}"
    );
    assert_eq!(
        voiceperf::fsutil::sha256_file(&path).unwrap(),
        entry.output_sha256,
        "{name}"
    );
    assert!(entry.speech_start_s < entry.speech_end_s && entry.speech_end_s <= entry.duration_s);
    let kept = trailing_residual(&entry, speech_end);
    assert!(
        residual.contains(&kept),
        "{name}: {:.1} ms kept after the end of speech, wanted {:.0}..={:.0} ms",
        kept * 1000.0,
        residual.start() * 1000.0,
        residual.end() * 1000.0
    );
    assert!(
        samples.iter().any(|&s| s.unsigned_abs() > 3000),
        "{name}: no speech left"
    );
}
