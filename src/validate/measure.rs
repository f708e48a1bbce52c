//! Measuring one WAV file: its RIFF structure and format (through [`crate::audio::riff`]), its
//! level statistics, and where its speech is (through prep's detector,
//! [`crate::audio::speech::find_speech`]). No verdicts here: the rules judge the facts.

use std::io::{Read, Seek};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::audio::riff::{self, RiffError, WavLayout};
use crate::audio::speech::{SpeechBounds, SpeechConfig, find_speech};
use crate::fsutil;

/// Longest audio analysed for speech and levels, in samples (its samples are held in memory
/// for the analysis): an hour at 16 kHz. Longer files are still walked, hashed and timed.
pub const MAX_ANALYSED_SAMPLES: usize = 3600 * 16_000;

/// Everything measured in one file, before any rule is applied.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// File size in bytes (0 when unreadable).
    pub bytes: u64,
    /// SHA-256 of the file's bytes, when it could be read (not for files that are not
    /// RIFF/WAVE at all: nothing about them is worth reading further).
    pub sha256: Option<String>,
    /// The file could not be read at all.
    pub read_error: Option<String>,
    /// The RIFF layout, or why the bytes are not a usable WAVE file.
    pub layout: Option<Result<WavLayout, RiffError>>,
    /// SHA-256 of the sample data, when there is at least one frame.
    pub audio_sha256: Option<String>,
    /// Statistics of the samples, for 16 kHz mono 16-bit files with at least one frame.
    pub audio: Option<AudioFacts>,
    /// Why a 16 kHz mono 16-bit file's samples were not analysed, when they were not.
    pub not_analysed: Option<String>,
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

impl FileFacts {
    fn unreadable(error: String) -> Self {
        FileFacts {
            bytes: 0,
            sha256: None,
            read_error: Some(error),
            layout: None,
            audio_sha256: None,
            audio: None,
            not_analysed: None,
        }
    }
}

/// Reads and measures the file at `path`: its header first (a file that is not RIFF/WAVE is
/// read no further), then its bytes in one streaming pass. Only a regular file is read.
pub fn measure_file(path: &Path, speech_config: &SpeechConfig) -> FileFacts {
    let (file, len) = match fsutil::open_regular(path) {
        Ok(opened) => opened,
        Err(e) => return FileFacts::unreadable(e.to_string()),
    };
    let mut source = riff::FileSource::new(file, len);
    let layout = riff::parse_source(&mut source);
    let mut file = source.into_file();
    if let Err(e) = file.rewind() {
        return FileFacts::unreadable(e.to_string());
    }
    measure_stream(layout, &mut file, len, speech_config)
}

/// Measures a WAV file held in memory.
pub fn measure_bytes(bytes: &[u8], speech_config: &SpeechConfig) -> FileFacts {
    let layout = riff::parse(bytes);
    measure_stream(layout, &mut &bytes[..], bytes.len() as u64, speech_config)
}

/// The facts of a file of `len` bytes whose `layout` is known, reading it once from `reader`
/// (positioned at its start) in blocks.
fn measure_stream(
    layout: Result<WavLayout, RiffError>,
    reader: &mut impl Read,
    len: u64,
    speech_config: &SpeechConfig,
) -> FileFacts {
    let worth_reading = !matches!(layout, Err(RiffError::NotWave | RiffError::TooShort(_)));
    let mut facts = FileFacts {
        bytes: len,
        sha256: None,
        read_error: None,
        layout: None,
        audio_sha256: None,
        audio: None,
        not_analysed: None,
    };
    if !worth_reading {
        facts.layout = Some(layout);
        return facts;
    }
    let data = match &layout {
        Ok(layout) if layout.frames() > 0 => Some(layout.data.clone()),
        _ => None,
    };
    let analyse = match &layout {
        Ok(layout) if layout.frames() > 0 && layout.fmt.is_16k_mono_s16() => {
            if layout.frames() <= MAX_ANALYSED_SAMPLES {
                true
            } else {
                facts.not_analysed = Some(format!(
                    "longer than {} s: too long to analyse",
                    MAX_ANALYSED_SAMPLES / 16_000
                ));
                false
            }
        }
        _ => false,
    };
    let mut file_hash = Sha256::new();
    let mut data_hash = Sha256::new();
    let mut samples: Vec<i16> = Vec::new();
    if analyse && let Some(range) = &data {
        samples.reserve_exact(range.len() / 2);
    }
    let mut carry: Option<u8> = None;
    let mut buf = vec![0u8; 1 << 16];
    let mut at = 0usize;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                facts.read_error = Some(e.to_string());
                facts.layout = Some(layout);
                return facts;
            }
        };
        // Bytes beyond the length first seen (a file still growing) are not this file's.
        let n = n.min(usize::try_from(len).unwrap_or(usize::MAX) - at);
        let block = &buf[..n];
        file_hash.update(block);
        if let Some(range) = &data {
            let start = range.start.max(at);
            let end = range.end.min(at + n);
            if start < end {
                let part = &block[start - at..end - at];
                data_hash.update(part);
                if analyse {
                    let mut bytes = part;
                    if let Some(low) = carry.take() {
                        samples.push(i16::from_le_bytes([low, bytes[0]]));
                        bytes = &bytes[1..];
                    }
                    let pairs = bytes.chunks_exact(2);
                    carry = pairs.remainder().first().copied();
                    samples.extend(pairs.map(|b| i16::from_le_bytes([b[0], b[1]])));
                }
            }
        }
        at += n;
        if at as u64 >= len {
            break;
        }
    }
    facts.sha256 = Some(fsutil::hex(&file_hash.finalize()));
    if data.is_some() {
        facts.audio_sha256 = Some(fsutil::hex(&data_hash.finalize()));
    }
    if analyse {
        facts.audio = Some(audio_facts(&samples, speech_config));
    }
    facts.layout = Some(layout);
    facts
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
