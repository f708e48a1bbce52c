//! Measuring one WAV file: its RIFF structure and format (through [`crate::audio::riff`]), its
//! level statistics, and where its speech is (through prep's detector,
//! [`crate::audio::speech::find_speech`]). No verdicts here: the rules judge the facts.

use std::path::Path;

use crate::audio::riff::{self, RiffError, WavLayout};
use crate::audio::speech::{SpeechBounds, SpeechConfig, find_speech};
use crate::fsutil;

/// Everything measured in one file, before any rule is applied.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// File size in bytes (0 when unreadable).
    pub bytes: u64,
    /// SHA-256 of the file's bytes, when it could be read.
    pub sha256: Option<String>,
    /// The file could not be read at all.
    pub read_error: Option<String>,
    /// The RIFF layout, or why the bytes are not a usable WAVE file.
    pub layout: Option<Result<WavLayout, RiffError>>,
    /// SHA-256 of the sample data, when there is at least one frame.
    pub audio_sha256: Option<String>,
    /// Statistics of the samples, for 16 kHz mono 16-bit files with at least one frame.
    pub audio: Option<AudioFacts>,
}

/// Statistics of the samples of a 16 kHz mono 16-bit file.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFacts {
    /// Number of samples.
    pub samples: usize,
    /// Largest absolute sample value (32768 for −32768).
    pub peak: u32,
    /// Samples at full scale (±32767 or −32768).
    pub clipped: usize,
    /// Mean sample value (DC offset), in sample units.
    pub mean: f64,
    /// Where the speech detector finds speech in this file.
    pub speech: Option<SpeechBounds>,
}

/// Reads and measures the file at `path`.
pub fn measure_file(path: &Path, speech_config: &SpeechConfig) -> FileFacts {
    match std::fs::read(path) {
        Ok(bytes) => measure_bytes(&bytes, speech_config),
        Err(e) => FileFacts {
            bytes: 0,
            sha256: None,
            read_error: Some(e.to_string()),
            layout: None,
            audio_sha256: None,
            audio: None,
        },
    }
}

/// Measures a WAV file held in memory.
pub fn measure_bytes(bytes: &[u8], speech_config: &SpeechConfig) -> FileFacts {
    let layout = riff::parse(bytes);
    let (audio_sha256, audio) = match &layout {
        Ok(layout) if layout.frames() > 0 => {
            let data = &bytes[layout.data.clone()];
            let audio = layout
                .fmt
                .is_16k_mono_s16()
                .then(|| audio_facts(&riff::pcm16_from_bytes(data), speech_config));
            (Some(fsutil::sha256_hex(data)), audio)
        }
        _ => (None, None),
    };
    FileFacts {
        bytes: bytes.len() as u64,
        sha256: Some(fsutil::sha256_hex(bytes)),
        read_error: None,
        layout: Some(layout),
        audio_sha256,
        audio,
    }
}

/// Level statistics and speech bounds of 16 kHz mono samples.
pub fn audio_facts(samples: &[i16], speech_config: &SpeechConfig) -> AudioFacts {
    let mut peak = 0u32;
    let mut clipped = 0usize;
    let mut sum = 0i64;
    for &s in samples {
        let magnitude = u32::from(s.unsigned_abs());
        peak = peak.max(magnitude);
        if s == i16::MAX || s <= -i16::MAX {
            clipped += 1;
        }
        sum += i64::from(s);
    }
    let mean = if samples.is_empty() {
        0.0
    } else {
        sum as f64 / samples.len() as f64
    };
    AudioFacts {
        samples: samples.len(),
        peak,
        clipped,
        mean,
        speech: find_speech(samples, speech_config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_known_samples() {
        let samples = [0i16, 100, -32768, 32767, 200, -32767, 300, 0];
        let facts = audio_facts(&samples, &SpeechConfig::default());
        assert_eq!(facts.samples, 8);
        assert_eq!(facts.peak, 32768);
        assert_eq!(facts.clipped, 3);
        assert!((facts.mean - (600.0 - 32768.0) / 8.0).abs() < 1e-9);
        assert_eq!(facts.speech, None);
    }

    #[test]
    fn unreadable_and_non_wave_files() {
        let facts = measure_file(Path::new("/nonexistent/x.wav"), &SpeechConfig::default());
        assert!(facts.read_error.is_some());
        let facts = measure_bytes(b"hello, I am not audio", &SpeechConfig::default());
        assert_eq!(facts.bytes, 21);
        assert!(matches!(facts.layout, Some(Err(RiffError::NotWave))));
        assert!(facts.audio.is_none() && facts.audio_sha256.is_none());
    }

    #[test]
    fn other_formats_are_hashed_but_not_analysed() {
        let stereo = riff::wrap_pcm16(&riff::pcm16_to_bytes(&[1, 2, 3, 4]), 16_000, 2);
        let facts = measure_bytes(&stereo, &SpeechConfig::default());
        assert!(facts.audio.is_none());
        assert!(facts.audio_sha256.is_some());
        let mono = riff::wrap_pcm16(&riff::pcm16_to_bytes(&[1, 2, 3, 4]), 16_000, 1);
        let facts = measure_bytes(&mono, &SpeechConfig::default());
        assert_eq!(facts.audio.unwrap().samples, 4);
    }
}
