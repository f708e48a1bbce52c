//! Query WAV files: writing 16 kHz mono 16-bit PCM with hound (atomically), and reading one
//! back into samples (structure checked with [`super::riff`]).

use std::io::Cursor;
use std::path::Path;

use anyhow::Context;
use thiserror::Error;

use super::TARGET_RATE;
use super::riff::{self, RiffError, StructureIssue};
use crate::fsutil;

/// The bytes of a 16 kHz mono 16-bit PCM WAV file holding `samples` (canonical 44-byte
/// header, written by hound).
pub fn encode_pcm16_mono(samples: &[i16]) -> anyhow::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: TARGET_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::with_capacity(44 + 2 * samples.len()));
    {
        let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
        let mut samples_writer = writer.get_i16_writer(samples.len() as u32);
        for &sample in samples {
            samples_writer.write_sample(sample);
        }
        samples_writer.flush()?;
        writer.finalize()?;
    }
    Ok(bytes.into_inner())
}

/// Writes `samples` as a 16 kHz mono 16-bit WAV file at `path` through a temp file that is
/// renamed into place; returns the file's bytes (for hashing).
pub fn write_pcm16_mono(path: &Path, samples: &[i16]) -> anyhow::Result<Vec<u8>> {
    let bytes =
        encode_pcm16_mono(samples).with_context(|| format!("encoding {}", path.display()))?;
    fsutil::write_atomic(path, &bytes)?;
    Ok(bytes)
}

/// Why a file is not a readable 16 kHz mono 16-bit WAV.
#[derive(Debug, Error)]
pub enum QueryWavError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The RIFF structure is unusable.
    #[error("{0}")]
    Riff(#[from] RiffError),
    /// A valid WAV in another sample format.
    #[error(
        "{channels} channel(s) at {sample_rate} Hz, {bits} bits, {block_align}-byte frames \
         (format tag {tag:#06x}); queries must be 16 kHz mono 16-bit PCM (run `voiceperf prep`)"
    )]
    WrongFormat {
        /// Channels in the file.
        channels: u16,
        /// Sample rate in the file.
        sample_rate: u32,
        /// Bits per sample.
        bits: u16,
        /// Bytes per sample frame.
        block_align: u16,
        /// Effective format tag.
        tag: u16,
    },
}

/// The samples of a 16 kHz mono 16-bit WAV and any structural inconsistencies found.
#[derive(Debug, Clone)]
pub struct QueryWav {
    /// The samples.
    pub samples: Vec<i16>,
    /// Inconsistencies that did not prevent reading (truncated chunk, bad sizes, …).
    pub issues: Vec<StructureIssue>,
}

/// Parses WAV bytes that must hold 16 kHz mono 16-bit PCM.
pub fn parse_pcm16_mono(bytes: &[u8]) -> Result<QueryWav, QueryWavError> {
    let layout = riff::parse(bytes)?;
    if !layout.fmt.is_16k_mono_s16() {
        return Err(QueryWavError::WrongFormat {
            channels: layout.fmt.channels,
            sample_rate: layout.fmt.sample_rate,
            bits: layout.fmt.bits_per_sample,
            block_align: layout.fmt.block_align,
            tag: layout.fmt.effective_format(),
        });
    }
    Ok(QueryWav {
        samples: riff::pcm16_from_bytes(&bytes[layout.data.clone()]),
        issues: layout.issues,
    })
}

/// Reads a 16 kHz mono 16-bit WAV file (a regular file of at most
/// [`super::decode::MAX_RECORDING_BYTES`]).
pub fn read_pcm16_mono(path: &Path) -> Result<QueryWav, QueryWavError> {
    parse_pcm16_mono(&fsutil::read_regular(
        path,
        super::decode::MAX_RECORDING_BYTES,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.wav");
        let samples: Vec<i16> = (0..1000)
            .map(|i| ((i * 37) % 65536 - 32768) as i16)
            .collect();
        let bytes = write_pcm16_mono(&path, &samples).unwrap();
        assert_eq!(bytes.len(), 44 + 2000);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let back = read_pcm16_mono(&path).unwrap();
        assert_eq!(back.samples, samples);
        assert!(back.issues.is_empty());
        // hound writes the canonical 44-byte header.
        assert_eq!(
            bytes,
            riff::wrap_pcm16(&riff::pcm16_to_bytes(&samples), 16_000, 1)
        );
    }

    #[test]
    fn rejects_other_formats() {
        let stereo = riff::wrap_pcm16(&[0; 8], 16_000, 2);
        let err = parse_pcm16_mono(&stereo).unwrap_err();
        assert!(
            matches!(err, QueryWavError::WrongFormat { channels: 2, .. }),
            "{err}"
        );
        assert!(matches!(
            parse_pcm16_mono(b"hello"),
            Err(QueryWavError::Riff(RiffError::TooShort(5)))
        ));
    }
}
