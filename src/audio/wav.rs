//! Query WAV files: writing 16 kHz mono 16-bit PCM (atomically, through [`super::riff`]), and reading one
//! back into samples (structure checked with [`super::riff`]).

use std::path::Path;

use anyhow::Context;
use thiserror::Error;

use super::TARGET_RATE;
use super::riff::{self, RiffError, StructureIssue};
use crate::fsutil;

/// The bytes of a 16 kHz mono 16-bit PCM WAV file holding `samples` (canonical 44-byte
/// header).
pub fn encode_pcm16_mono(samples: &[i16]) -> Vec<u8> {
    riff::wrap_pcm16(&riff::pcm16_to_bytes(samples), TARGET_RATE, 1)
}

/// Writes `samples` as a 16 kHz mono 16-bit WAV file at `path` through a temp file that is
/// renamed into place; returns the file's bytes (for hashing).
pub fn write_pcm16_mono(path: &Path, samples: &[i16]) -> anyhow::Result<Vec<u8>> {
    let bytes = encode_pcm16_mono(samples);
    fsutil::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
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
        // An independent reader (hound) sees the same format and samples.
        let reader = hound::WavReader::new(std::io::Cursor::new(&bytes)).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        let read: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        assert_eq!(read, samples);
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
