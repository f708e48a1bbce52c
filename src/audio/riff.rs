//! RIFF/WAVE parsing by chunks (never by assuming a 44-byte header) and canonical header
//! writing. Used for WAV-wrapped protocol payloads and for dataset validation. RF64/BW64 files
//! (64-bit sizes in a `ds64` chunk, as broadcast recorders write) are read too.

use std::ops::Range;

use thiserror::Error;

/// `wFormatTag` of integer PCM.
pub const WAVE_FORMAT_PCM: u16 = 0x0001;
/// `wFormatTag` of IEEE float samples.
pub const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
/// `wFormatTag` announcing a `WAVEFORMATEXTENSIBLE` sub-format GUID.
pub const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Bytes 2..16 shared by the standard `KSDATAFORMAT_SUBTYPE_*` GUIDs (PCM, IEEE float, …).
const KSDATAFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Why bytes could not be read as a WAVE file at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RiffError {
    /// Shorter than the 12-byte RIFF/WAVE preamble.
    #[error("only {0} bytes, too short for a RIFF/WAVE header")]
    TooShort(usize),
    /// The file does not start with `RIFF….WAVE` (or `RF64`/`BW64`).
    #[error("not a RIFF/WAVE file")]
    NotWave,
    /// No `fmt ` chunk before the end of the file.
    #[error("no `fmt ` chunk")]
    MissingFmt,
    /// The `fmt ` chunk is shorter than the 16 bytes every format needs.
    #[error("`fmt ` chunk is {0} bytes, needs at least 16")]
    ShortFmt(u32),
    /// No `data` chunk before the end of the file.
    #[error("no `data` chunk")]
    MissingData,
    /// More chunks than any recording has.
    #[error("more than {0} chunks")]
    TooManyChunks(usize),
    /// Reading the file failed part-way.
    #[error("cannot read the file: {0}")]
    Io(String),
}

/// Something inconsistent in a WAVE file that still allows its samples to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StructureIssue {
    /// The RIFF size field (an RF64 file's `ds64` one) disagrees with the number of bytes
    /// present.
    RiffSizeMismatch {
        /// Bytes the RIFF header announces after its first 8 bytes.
        declared: u64,
        /// Bytes actually present after the first 8 bytes.
        actual: u64,
    },
    /// A chunk announces more bytes than the file holds; it was cut at the end of the file.
    ChunkTruncated {
        /// Four-character chunk id.
        id: String,
        /// Size the chunk header (for an RF64 data chunk, the `ds64` chunk) announces.
        declared: u64,
        /// Bytes actually available.
        available: u64,
    },
    /// The `data` chunk length is not a whole number of sample frames.
    PartialFrame {
        /// Length of the data chunk in bytes.
        data_len: u64,
        /// Bytes per sample frame.
        block_align: u16,
    },
    /// Streaming writers leave the data size as 0 or 0xFFFFFFFF; the rest of the file was used.
    UnsizedData {
        /// The size field as written.
        declared: u32,
    },
}

impl std::fmt::Display for StructureIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StructureIssue::RiffSizeMismatch { declared, actual } => write!(
                f,
                "RIFF size field says {declared} bytes but {actual} bytes follow it"
            ),
            StructureIssue::ChunkTruncated {
                id,
                declared,
                available,
            } => write!(
                f,
                "chunk `{id}` declares {declared} bytes but only {available} are present"
            ),
            StructureIssue::PartialFrame {
                data_len,
                block_align,
            } => write!(
                f,
                "data chunk of {data_len} bytes is not a multiple of the {block_align}-byte frame"
            ),
            StructureIssue::UnsizedData { declared } => write!(
                f,
                "data chunk size field is {declared:#x} (unsized stream); used the rest of the file"
            ),
        }
    }
}

/// The `fmt ` chunk's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FmtChunk {
    /// `wFormatTag` as written (may be [`WAVE_FORMAT_EXTENSIBLE`]).
    pub format_tag: u16,
    /// For extensible files with a standard sub-format GUID: the format tag it stands for.
    pub sub_format: Option<u16>,
    /// Interleaved channels.
    pub channels: u16,
    /// Sample frames per second.
    pub sample_rate: u32,
    /// Average bytes per second.
    pub byte_rate: u32,
    /// Bytes per sample frame (all channels).
    pub block_align: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
}

impl FmtChunk {
    /// The sample encoding: the sub-format for extensible files, else the format tag.
    pub fn effective_format(&self) -> u16 {
        match (self.format_tag, self.sub_format) {
            (WAVE_FORMAT_EXTENSIBLE, Some(sub)) => sub,
            (tag, _) => tag,
        }
    }

    /// Whether samples are integer PCM of any width.
    pub fn is_integer_pcm(&self) -> bool {
        self.effective_format() == WAVE_FORMAT_PCM
    }

    /// Whether this is voiceperf's query format: 16 kHz mono 16-bit integer PCM (with the
    /// 2-byte frames that implies: another block align would make the frame count disagree
    /// with the samples read).
    pub fn is_16k_mono_s16(&self) -> bool {
        self.is_integer_pcm()
            && self.channels == 1
            && self.sample_rate == 16_000
            && self.bits_per_sample == 16
            && self.block_align == 2
    }
}

/// A chunk found while walking the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Four-character chunk id (lossy UTF-8, control characters escaped).
    pub id: String,
    /// Byte offset of the chunk header.
    pub offset: usize,
    /// Size from the chunk header.
    pub declared_size: u32,
    /// Byte range of the body actually present in the file.
    pub body: Range<usize>,
}

/// Layout of a WAVE file: its format, where the samples are, and any inconsistencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavLayout {
    /// The `fmt ` chunk.
    pub fmt: FmtChunk,
    /// Byte range of the sample data (whole frames only).
    pub data: Range<usize>,
    /// Every chunk in file order.
    pub chunks: Vec<ChunkInfo>,
    /// Inconsistencies that did not stop parsing.
    pub issues: Vec<StructureIssue>,
}

impl WavLayout {
    /// Number of whole sample frames in the data chunk.
    pub fn frames(&self) -> usize {
        match self.fmt.block_align {
            0 => 0,
            align => self.data.len() / align as usize,
        }
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u32_at(bytes, at)) | (u64::from(u32_at(bytes, at + 4)) << 32)
}

/// Most chunks walked: a file of millions of tiny chunks is hostile, not a recording.
pub const MAX_CHUNKS: usize = 4096;

/// Most bytes of a `fmt ` chunk read (every format fits in 40; the rest is extension data).
const FMT_READ: usize = 64;

/// Random access to the bytes being parsed: a file on disk or bytes in memory. The walk reads
/// only chunk headers and the `fmt ` body, never the samples.
pub trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether it holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills as much of `buf` as the source holds from `offset`; returns the bytes read.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// A file, read with positioned reads.
#[derive(Debug)]
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

impl FileSource {
    /// Walks `file` of `len` bytes (its length when opened).
    pub fn new(file: std::fs::File, len: u64) -> Self {
        FileSource { file, len }
    }

    /// The file back, for reading on.
    pub fn into_file(self) -> std::fs::File {
        self.file
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Read, Seek, SeekFrom};
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.len - offset).unwrap_or(usize::MAX));
        self.file.seek(SeekFrom::Start(offset))?;
        let mut filled = 0;
        while filled < want {
            match self.file.read(&mut buf[filled..want]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

/// Reads up to `N` bytes at `offset`; returns them and how many the source held.
fn read_array<const N: usize, S: Source>(
    source: &mut S,
    offset: u64,
) -> Result<([u8; N], usize), RiffError> {
    let mut buf = [0u8; N];
    let n = source
        .read_at(offset, &mut buf)
        .map_err(|e| RiffError::Io(e.to_string()))?;
    Ok((buf, n))
}

/// Parses a WAVE file held in memory by walking its chunks.
pub fn parse(bytes: &[u8]) -> Result<WavLayout, RiffError> {
    let mut source = bytes;
    parse_source(&mut source)
}

/// Parses a WAVE file by walking its chunks, reading only their headers (and the `fmt ` body)
/// from `source`: the time and memory it takes do not depend on how many samples it holds.
pub fn parse_source<S: Source>(source: &mut S) -> Result<WavLayout, RiffError> {
    let total = source.len();
    let (head, n) = read_array::<36, _>(source, 0)?;
    if n < 12 {
        return Err(RiffError::TooShort(n));
    }
    let rf64 = match &head[0..4] {
        b"RIFF" => false,
        b"RF64" | b"BW64" => true,
        _ => return Err(RiffError::NotWave),
    };
    if &head[8..12] != b"WAVE" {
        return Err(RiffError::NotWave);
    }
    // RF64 keeps the real RIFF and data sizes in a `ds64` chunk right after `WAVE`; the 32-bit
    // fields that overflowed say 0xFFFFFFFF.
    let ds64 = (rf64 && n >= 36 && &head[12..16] == b"ds64")
        .then(|| (u64_at(&head, 20), u64_at(&head, 28)));
    let mut issues = Vec::new();
    let riff_declared = match ds64 {
        Some((riff_size, _)) if u32_at(&head, 4) == u32::MAX => riff_size,
        _ => u64::from(u32_at(&head, 4)),
    };
    let riff_actual = total - 8;
    if riff_declared != riff_actual {
        issues.push(StructureIssue::RiffSizeMismatch {
            declared: riff_declared,
            actual: riff_actual,
        });
    }

    let mut chunks = Vec::new();
    let mut fmt = None;
    let mut data = None;
    let mut at = 12u64;
    while at + 8 <= total {
        if chunks.len() == MAX_CHUNKS {
            return Err(RiffError::TooManyChunks(MAX_CHUNKS));
        }
        let (header, _) = read_array::<8, _>(source, at)?;
        let raw_id: [u8; 4] = [header[0], header[1], header[2], header[3]];
        let id = chunk_id(&raw_id);
        let declared = u32_at(&header, 4);
        let body_start = at + 8;
        let available = total - body_start;
        let is_data = &raw_id == b"data";
        let declared_len = match ds64 {
            Some((_, data_size)) if is_data && declared == u32::MAX => data_size,
            _ => u64::from(declared),
        };
        // A size of 0 followed by another chunk (LIST, id3 written after the samples) is an
        // empty data chunk, not a streamed one whose samples fill the rest of the file.
        let streamed = declared_len == u64::from(u32::MAX)
            || (declared_len == 0 && !starts_with_chunk(source, body_start)?);
        let body_len = if is_data && streamed && available > 0 {
            issues.push(StructureIssue::UnsizedData { declared });
            available
        } else if declared_len > available {
            issues.push(StructureIssue::ChunkTruncated {
                id: id.clone(),
                declared: declared_len,
                available,
            });
            available
        } else {
            declared_len
        };
        let body = to_usize(body_start)?..to_usize(body_start + body_len)?;
        match &raw_id {
            b"fmt " if fmt.is_none() => {
                let (fmt_bytes, _) = read_array::<FMT_READ, _>(source, body_start)?;
                let read = body.len().min(FMT_READ);
                fmt = Some(parse_fmt(&fmt_bytes[..read], declared)?);
            }
            b"data" if data.is_none() => data = Some(body.clone()),
            _ => {}
        }
        chunks.push(ChunkInfo {
            id,
            offset: to_usize(at)?,
            declared_size: declared,
            body,
        });
        // Chunks are padded to an even length.
        at = body_start + body_len + (body_len & 1);
    }

    let fmt = fmt.ok_or(RiffError::MissingFmt)?;
    let mut data = data.ok_or(RiffError::MissingData)?;
    if fmt.block_align > 0 {
        let align = fmt.block_align as usize;
        let whole = data.len() / align * align;
        if whole != data.len() {
            issues.push(StructureIssue::PartialFrame {
                data_len: data.len() as u64,
                block_align: fmt.block_align,
            });
            data.end = data.start + whole;
        }
    }
    Ok(WavLayout {
        fmt,
        data,
        chunks,
        issues,
    })
}

fn to_usize(offset: u64) -> Result<usize, RiffError> {
    usize::try_from(offset).map_err(|_| {
        RiffError::Io(format!(
            "offset {offset} is beyond what this machine can address"
        ))
    })
}

/// A chunk id as it may be shown: its four bytes, control characters and non-ASCII escaped
/// (a hostile id must not reach a terminal raw).
fn chunk_id(raw: &[u8; 4]) -> String {
    crate::text::printable(&String::from_utf8_lossy(raw)).into_owned()
}

/// Whether the bytes at `offset` begin a plausible chunk header: a four-character id of
/// printable ASCII and a size that fits in what follows.
fn starts_with_chunk<S: Source>(source: &mut S, offset: u64) -> Result<bool, RiffError> {
    let (header, n) = read_array::<8, _>(source, offset)?;
    let remaining = source.len().saturating_sub(offset);
    Ok(n == 8
        && header[..4].iter().all(|b| (0x20..0x7f).contains(b))
        && u64::from(u32_at(&header, 4)) <= remaining - 8)
}

fn parse_fmt(body: &[u8], declared: u32) -> Result<FmtChunk, RiffError> {
    if body.len() < 16 {
        return Err(RiffError::ShortFmt(declared.min(body.len() as u32)));
    }
    let format_tag = u16_at(body, 0);
    // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) GUID(16) after the 16 bytes.
    let sub_format = (format_tag == WAVE_FORMAT_EXTENSIBLE && body.len() >= 40)
        .then(|| &body[24..40])
        .filter(|guid| guid[2..] == KSDATAFORMAT_GUID_TAIL)
        .map(|guid| u16_at(guid, 0));
    Ok(FmtChunk {
        format_tag,
        sub_format,
        channels: u16_at(body, 2),
        sample_rate: u32_at(body, 4),
        byte_rate: u32_at(body, 8),
        block_align: u16_at(body, 12),
        bits_per_sample: u16_at(body, 14),
    })
}

/// The RIFF size field of [`canonical_wav`] for chunk bodies of these lengths (it must fit
/// in 32 bits: larger data needs RF64, which voiceperf reads but never writes).
pub fn canonical_len(fmt_len: usize, data_len: usize) -> usize {
    let padded = |n: usize| n + (n & 1);
    4 + 8 + padded(fmt_len) + 8 + padded(data_len)
}

/// A canonical RIFF/WAVE file: the `fmt ` chunk holding `fmt_body`, then the `data` chunk
/// holding `data`, each padded to an even length. The one WAVE writer of the crate: query
/// files, repaired headers and test fixtures all come from here. Sizes beyond 4 GiB are the
/// caller's to refuse ([`canonical_len`]).
pub fn canonical_wav(fmt_body: &[u8], data: &[u8]) -> Vec<u8> {
    let padded = |n: usize| n + (n & 1);
    let riff_len = canonical_len(fmt_body.len(), data.len());
    let mut out = Vec::with_capacity(8 + riff_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(riff_len as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt_body.len() as u32).to_le_bytes());
    out.extend_from_slice(fmt_body);
    out.resize(8 + 4 + 8 + padded(fmt_body.len()), 0);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out.resize(8 + riff_len, 0);
    out
}

/// The 16-byte `fmt ` body of integer PCM with 16-bit samples.
fn pcm16_fmt_body(sample_rate: u32, channels: u16) -> [u8; 16] {
    let block_align = channels * 2;
    let mut body = [0u8; 16];
    body[0..2].copy_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
    body[2..4].copy_from_slice(&channels.to_le_bytes());
    body[4..8].copy_from_slice(&sample_rate.to_le_bytes());
    body[8..12].copy_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    body[12..14].copy_from_slice(&block_align.to_le_bytes());
    body[14..16].copy_from_slice(&16u16.to_le_bytes());
    body
}

/// A complete WAVE file holding `pcm` (16-bit little-endian interleaved samples) behind the
/// canonical 44-byte header — the header Python's `wave` module (and so pipecat's
/// `add_wav_header`) writes.
pub fn wrap_pcm16(pcm: &[u8], sample_rate: u32, channels: u16) -> Vec<u8> {
    canonical_wav(&pcm16_fmt_body(sample_rate, channels), pcm)
}

/// The canonical 44-byte header of a 16-bit PCM WAVE file whose `data` chunk holds
/// `data_len` bytes (even, at most `u32::MAX - 36`): for writers that stream the samples
/// and fill the header in at the end.
pub fn pcm16_header(data_len: usize, sample_rate: u32, channels: u16) -> Vec<u8> {
    let mut header = wrap_pcm16(&[], sample_rate, channels);
    let riff_len = canonical_len(16, data_len) as u32;
    header[4..8].copy_from_slice(&riff_len.to_le_bytes());
    header[40..44].copy_from_slice(&(data_len as u32).to_le_bytes());
    header
}

/// Little-endian 16-bit sample bytes → samples (a trailing odd byte is ignored).
pub fn pcm16_from_bytes(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Samples → little-endian 16-bit sample bytes.
pub fn pcm16_to_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_header_matches_the_whole_file() {
        let pcm = pcm16_to_bytes(&[1, -2, 3, -4, 5, -6]);
        let wav = wrap_pcm16(&pcm, 24_000, 2);
        assert_eq!(pcm16_header(pcm.len(), 24_000, 2), &wav[..44]);
    }

    #[test]
    fn canonical_header_round_trips() {
        let pcm = pcm16_to_bytes(&[1, -2, 3, -4]);
        let wav = wrap_pcm16(&pcm, 16_000, 1);
        assert_eq!(wav.len(), 44 + 8);
        let layout = parse(&wav).unwrap();
        assert!(layout.issues.is_empty());
        assert!(layout.fmt.is_16k_mono_s16());
        assert_eq!(&wav[layout.data.clone()], &pcm[..]);
        assert_eq!(layout.frames(), 4);
    }

    #[test]
    fn extra_chunks_and_extensible_format() {
        // LIST chunk (odd length, padded) before fmt; extensible fmt with PCM GUID.
        let mut wav = b"RIFF\0\0\0\0WAVE".to_vec();
        wav.extend_from_slice(b"LIST");
        wav.extend_from_slice(&3u32.to_le_bytes());
        wav.extend_from_slice(b"abc\0");
        wav.extend_from_slice(b"fmt ");
        wav.extend_from_slice(&40u32.to_le_bytes());
        wav.extend_from_slice(&WAVE_FORMAT_EXTENSIBLE.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&48_000u32.to_le_bytes());
        wav.extend_from_slice(&(48_000u32 * 6).to_le_bytes());
        wav.extend_from_slice(&6u16.to_le_bytes());
        wav.extend_from_slice(&24u16.to_le_bytes());
        wav.extend_from_slice(&22u16.to_le_bytes());
        wav.extend_from_slice(&24u16.to_le_bytes());
        wav.extend_from_slice(&3u32.to_le_bytes());
        wav.extend_from_slice(&[0x01, 0x00]);
        wav.extend_from_slice(&KSDATAFORMAT_GUID_TAIL);
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&12u32.to_le_bytes());
        wav.extend_from_slice(&[0; 12]);
        let riff_len = (wav.len() - 8) as u32;
        wav[4..8].copy_from_slice(&riff_len.to_le_bytes());

        let layout = parse(&wav).unwrap();
        assert!(layout.issues.is_empty(), "{:?}", layout.issues);
        assert_eq!(layout.fmt.effective_format(), WAVE_FORMAT_PCM);
        assert_eq!(layout.fmt.channels, 2);
        assert_eq!(layout.frames(), 2);
        let ids: Vec<_> = layout.chunks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["LIST", "fmt ", "data"]);
    }

    #[test]
    fn truncated_and_inconsistent_files() {
        let mut wav = wrap_pcm16(&pcm16_to_bytes(&[0; 100]), 16_000, 1);
        wav.truncate(44 + 51);
        let layout = parse(&wav).unwrap();
        assert_eq!(layout.frames(), 25);
        assert!(
            layout
                .issues
                .iter()
                .any(|i| matches!(i, StructureIssue::ChunkTruncated { .. }))
        );
        assert!(
            layout
                .issues
                .iter()
                .any(|i| matches!(i, StructureIssue::RiffSizeMismatch { .. }))
        );
        assert!(
            layout
                .issues
                .iter()
                .any(|i| matches!(i, StructureIssue::PartialFrame { .. }))
        );
    }

    #[test]
    fn rejects_non_wave() {
        assert_eq!(parse(b"RIFF"), Err(RiffError::TooShort(4)));
        assert_eq!(
            parse(b"ID3\x04\0\0\0\0\0\0\0\0\0\0"),
            Err(RiffError::NotWave)
        );
        let header_only = b"RIFF\x04\0\0\0WAVE";
        assert_eq!(parse(header_only), Err(RiffError::MissingFmt));
        let mut no_data = wrap_pcm16(&[], 16_000, 1);
        no_data.truncate(36);
        assert_eq!(parse(&no_data), Err(RiffError::MissingData));
    }

    #[test]
    fn unsized_streaming_data_uses_rest_of_file() {
        let mut wav = wrap_pcm16(&pcm16_to_bytes(&[5; 10]), 16_000, 1);
        wav[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        let layout = parse(&wav).unwrap();
        assert_eq!(layout.frames(), 10);
        assert!(matches!(
            layout.issues[..],
            [StructureIssue::UnsizedData { .. }]
        ));
        for size in [0u32, u32::MAX] {
            let mut streamed = wrap_pcm16(&pcm16_to_bytes(&[0, 0, 0, 0, 9, -9]), 16_000, 1);
            streamed[40..44].copy_from_slice(&size.to_le_bytes());
            assert_eq!(parse(&streamed).unwrap().frames(), 6, "{size}");
        }
    }

    #[test]
    fn an_empty_data_chunk_before_metadata_holds_no_frames() {
        let mut wav = wrap_pcm16(&[], 16_000, 1);
        wav.extend_from_slice(b"LIST");
        wav.extend_from_slice(&12u32.to_le_bytes());
        wav.extend_from_slice(b"INFOISFT\0\0\0\0");
        let riff_len = (wav.len() - 8) as u32;
        wav[4..8].copy_from_slice(&riff_len.to_le_bytes());
        let layout = parse(&wav).unwrap();
        assert_eq!(layout.frames(), 0);
        assert!(layout.issues.is_empty(), "{:?}", layout.issues);
        let ids: Vec<_> = layout.chunks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["fmt ", "data", "LIST"]);
    }
}
