//! Decoding any supported recording to planar `f32` samples with symphonia: WAV (8–32-bit
//! integer, 32/64-bit float, `WAVE_FORMAT_EXTENSIBLE`), AIFF, CAF, FLAC, MP3, Ogg Vorbis,
//! AAC and ALAC in MP4/M4A, and Opus in Ogg or WebM/Matroska (libopus through
//! `symphonia-adapter-libopus`).
//!
//! Errors are per file and one line. A packet the codec cannot decode is skipped, its
//! duration filled with silence so the timeline stays right, and a warning says so; too many
//! of them and the file is rejected as corrupt. Known limit: symphonia ignores MP4 edit
//! lists, so AAC keeps its 1024 priming frames (~21 ms of near-silence at the start).

use std::io::Cursor;
use std::path::Path;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::TimeBase;
use thiserror::Error;

use super::riff::{self, StructureIssue};

/// File extensions `prep` treats as audio when walking a folder (lower case, no dot).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "bwf", "flac", "mp3", "mp2", "mpga", "ogg", "oga", "opus", "m4a", "mp4", "m4b",
    "aac", "alac", "caf", "aif", "aiff", "aifc", "webm", "weba", "mka", "mkv",
];

/// Whether `path`'s extension is one of [`AUDIO_EXTENSIONS`] (case-insensitive).
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Symphonia's decoders plus libopus for Opus, which symphonia does not decode natively.
static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
    registry
});

/// Share of packets that may fail to decode before the whole file is rejected as corrupt.
const MAX_BAD_PACKET_SHARE: f64 = 0.05;

/// Most silence (seconds) filled in for lost audio regardless of how much audio decoded; beyond
/// it (and beyond the length of the audio decoded so far) the container's timestamps are taken
/// for broken rather than the audio for lost — a damaged timestamp must not make a small file
/// allocate terabytes.
const MAX_LOST_S: usize = 30;

/// Sample frames one byte of a recording can plausibly decode to, for reserving memory.
const MAX_FRAMES_PER_BYTE: u64 = 64;

/// What a recording was, as found while decoding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFormat {
    /// Container, e.g. `wave`, `ogg`, `isomp4`, `mkv`, `mp3`.
    pub container: String,
    /// Codec, e.g. `pcm_s24le`, `flac`, `mp3`, `vorbis`, `aac`, `alac`, `opus`.
    pub codec: String,
    /// Sample rate of the decoded audio in Hz.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: usize,
    /// Bits per coded sample when the container says (PCM, FLAC, ALAC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_sample: Option<u32>,
    /// Duration of the decoded audio in seconds.
    pub duration_s: f64,
}

impl SourceFormat {
    /// A short human description, e.g. `mp3 44.1k stereo` or `wave/pcm_s24le 48k mono`.
    pub fn describe(&self) -> String {
        let codec = if self.container == self.codec {
            self.codec.clone()
        } else {
            format!("{}/{}", self.container, self.codec)
        };
        let rate = format!("{}k", f64::from(self.sample_rate) / 1000.0);
        let layout = match self.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n}ch"),
        };
        format!("{codec} {rate} {layout}")
    }
}

/// A decoded recording: one `f32` vector per channel, all the same length, full scale ±1.0.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    /// Planar samples, one vector per channel.
    pub channels: Vec<Vec<f32>>,
    /// What the recording was.
    pub format: SourceFormat,
    /// Packets that failed to decode and were skipped (their audio is missing).
    pub skipped_packets: usize,
    /// Packets read in total.
    pub packets: usize,
    /// Things worth telling the user that did not stop decoding.
    pub warnings: Vec<String>,
}

impl DecodedAudio {
    /// Sample frames per channel.
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.format.sample_rate
    }
}

/// Why a recording could not be decoded. Each message is one line meant to follow the file
/// name.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// Reading the file failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file has no bytes at all.
    #[error("empty file (0 bytes)")]
    Empty,
    /// No container format recognised the bytes.
    #[error("not a recognised audio format{0}")]
    UnknownFormat(String),
    /// The file starts like a known container but could not be opened.
    #[error("damaged or truncated {kind} file: {reason}")]
    Damaged {
        /// The container its first bytes announce.
        kind: &'static str,
        /// What went wrong opening it.
        reason: String,
    },
    /// The container holds no audio track.
    #[error("no audio track in the {0} container")]
    NoAudioTrack(String),
    /// The audio track's codec has no decoder here.
    #[error("cannot decode this audio codec ({0})")]
    UnsupportedCodec(String),
    /// The container could not be read past some point.
    #[error("malformed {container} data after {at_s:.2} s: {reason}")]
    Malformed {
        /// Container name.
        container: String,
        /// Seconds decoded before the failure.
        at_s: f64,
        /// What symphonia reported.
        reason: String,
    },
    /// The data stops before the length the container declares.
    #[error(
        "truncated: audio stops at {} s (frame {decoded_frames}) but the header declares {} s \
         ({declared_frames} frames)",
        distinct_seconds(*.decoded_s, *.declared_s).0,
        distinct_seconds(*.decoded_s, *.declared_s).1
    )]
    Truncated {
        /// Seconds actually decoded.
        decoded_s: f64,
        /// Seconds the container declares.
        declared_s: f64,
        /// Sample frames actually decoded.
        decoded_frames: u64,
        /// Sample frames the container declares.
        declared_frames: u64,
    },
    /// The data stops in the middle of a packet.
    #[error("truncated: the data ends in the middle of a packet at {decoded_s:.2} s")]
    EndsMidPacket {
        /// Seconds decoded before the end.
        decoded_s: f64,
    },
    /// Too many packets failed to decode for the result to be trusted.
    #[error("corrupt audio: {bad} of {total} packets could not be decoded ({first_error})")]
    CorruptPackets {
        /// Packets that failed.
        bad: usize,
        /// Packets read.
        total: usize,
        /// The first decoder error.
        first_error: String,
    },
    /// The stream decodes to zero sample frames.
    #[error("no audio frames (the {0} stream is empty)")]
    NoFrames(String),
    /// The stream changes sample rate or channel count part-way.
    #[error("the stream changes from {from} to {to} part-way through")]
    SpecChanged {
        /// Format before.
        from: String,
        /// Format after.
        to: String,
    },
    /// The demuxer or decoder panicked on the data (caught: the other files go on).
    #[error("malformed data made the {0} decoder fail")]
    DecoderPanicked(&'static str),
}

/// Largest recording read (1 GiB, hours of audio): a query recording is seconds long, and a
/// larger file would need many times its size in memory once decoded.
pub const MAX_RECORDING_BYTES: u64 = 1 << 30;

/// Reads and decodes the recording at `path` (a regular file of at most
/// [`MAX_RECORDING_BYTES`]).
pub fn decode_file(path: &Path) -> Result<DecodedAudio, DecodeError> {
    let bytes = crate::fsutil::read_regular(path, MAX_RECORDING_BYTES)?;
    let extension = path.extension().and_then(|e| e.to_str());
    decode_bytes(&bytes, extension)
}

/// Decodes a whole recording held in memory; `extension` (without the dot) helps the probe.
///
/// A WAV file symphonia cannot open but whose audio is all there is read through a canonical
/// copy (chunks found with [`riff`]): with a warning when its header sizes are wrong (a
/// streaming writer that left them at 0 or 0xFFFFFFFF, a stale RIFF size), silently when it is
/// RF64/BW64 or has its `data` chunk before `fmt `. One cut short stays an error.
pub fn decode_bytes(bytes: &[u8], extension: Option<&str>) -> Result<DecodedAudio, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    match decode_container(bytes, extension) {
        Err(error) if sniff_container(bytes) == Some("WAV") => match repaired_wav(bytes) {
            Some((fixed, what)) => {
                let mut audio = decode_container(&fixed, Some("wav")).map_err(|_| error)?;
                if let Some(what) = what {
                    audio.warnings.insert(
                        0,
                        format!("inconsistent WAV header ({what}): read the audio present"),
                    );
                }
                Ok(audio)
            }
            None => Err(error),
        },
        result => result,
    }
}

/// A canonical RIFF copy (`fmt ` then `data`) of a WAV file, and what was wrong with its
/// header sizes if anything; `None` when it cannot be parsed or its data chunk is cut short.
fn repaired_wav(bytes: &[u8]) -> Option<(Vec<u8>, Option<String>)> {
    let layout = riff::parse(bytes).ok()?;
    let cut_short = layout
        .issues
        .iter()
        .any(|issue| matches!(issue, StructureIssue::ChunkTruncated { id, .. } if id == "data"));
    if cut_short {
        return None;
    }
    let fmt = layout.chunks.iter().find(|c| c.id == "fmt ")?;
    let data = &bytes[layout.data.clone()];
    if riff::canonical_len(fmt.body.len(), data.len()) > u32::MAX as usize {
        return None;
    }
    let fixed = riff::canonical_wav(&bytes[fmt.body.clone()], data);
    let what: Vec<String> = layout.issues.iter().map(ToString::to_string).collect();
    Some((fixed, (!what.is_empty()).then(|| what.join("; "))))
}

/// Probes and decodes `bytes` with symphonia. A panic in symphonia (its integer arithmetic on
/// header fields overflows in builds with overflow checks, e.g. `fmt ` chunk channels × bytes)
/// becomes this file's error instead of ending the whole run.
fn decode_container(bytes: &[u8], extension: Option<&str>) -> Result<DecodedAudio, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_container_unguarded(bytes, extension)
    }))
    .unwrap_or_else(|_| {
        Err(DecodeError::DecoderPanicked(
            sniff_container(bytes).unwrap_or("audio"),
        ))
    })
}

fn decode_container_unguarded(
    bytes: &[u8],
    extension: Option<&str>,
) -> Result<DecodedAudio, DecodeError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| probe_error(bytes, &e))?;
    let container = reader.format_info().short_name.to_string();

    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(|| DecodeError::NoAudioTrack(container.clone()))?
        .clone();
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| DecodeError::NoAudioTrack(container.clone()))?
        .clone();
    let mut decoder = CODECS
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::UnsupportedCodec(format!("{}: {e}", params.codec)))?;
    let codec = decoder.codec_info().short_name.to_string();

    let channel_count = params.channels.as_ref().map_or(1, Channels::count);
    let mut state = DecodeState::new(
        params.sample_rate.unwrap_or(0),
        track.time_base,
        frames_to_reserve(track.num_frames, bytes.len(), channel_count),
    );
    let outcome = state.run(reader.as_mut(), decoder.as_mut(), track.id, &container);
    let frames = state.frames();
    let rate = state.sample_rate;
    let seconds = |frames: u64| {
        if rate == 0 {
            0.0
        } else {
            frames as f64 / f64::from(rate)
        }
    };
    match outcome {
        Ok(()) => {}
        Err(StreamEnd::UnexpectedEof) if frames > 0 => {
            let decoded_s = seconds(frames as u64);
            return Err(match track.num_frames.filter(|&n| n > frames as u64) {
                Some(declared) => DecodeError::Truncated {
                    decoded_s,
                    declared_s: seconds(declared),
                    decoded_frames: frames as u64,
                    declared_frames: declared,
                },
                None => DecodeError::EndsMidPacket { decoded_s },
            });
        }
        Err(StreamEnd::UnexpectedEof) => return Err(DecodeError::NoFrames(codec)),
        Err(StreamEnd::Malformed(reason)) => {
            return Err(DecodeError::Malformed {
                container,
                at_s: seconds(frames as u64),
                reason,
            });
        }
        Err(StreamEnd::SpecChanged { from, to }) => {
            return Err(DecodeError::SpecChanged { from, to });
        }
    }

    let share = state.bad_packets as f64 / state.packets.max(1) as f64;
    if state.bad_packets > 0 && (share > MAX_BAD_PACKET_SHARE || frames == 0) {
        return Err(DecodeError::CorruptPackets {
            bad: state.bad_packets,
            total: state.packets,
            first_error: state.first_error.clone().unwrap_or_default(),
        });
    }
    if state.bad_packets > 0 || !state.gaps.is_empty() {
        let lost: usize = state.gaps.iter().map(|&(_, n)| n).sum();
        let mut message = String::from("damaged data: ");
        if state.bad_packets > 0 {
            message.push_str(&format!(
                "{} of {} packets undecodable ({}), ",
                state.bad_packets,
                state.packets,
                state.first_error.as_deref().unwrap_or("unknown error")
            ));
        }
        match state.gaps.first() {
            Some(&(at, _)) => message.push_str(&format!(
                "{:.0} ms of audio replaced by silence from {at:.2} s",
                seconds(lost as u64) * 1000.0
            )),
            None => message.push_str("their audio is missing"),
        }
        state.warnings.push(message);
    }
    if frames == 0 {
        return Err(DecodeError::NoFrames(codec));
    }
    // A container that declares more frames than the data holds was cut short. Lossy codecs
    // may legitimately differ by a packet or so, hence the tolerance.
    if let Some(declared) = track.num_frames {
        // Ogg Opus declares its length including the encoder's pre-skip, which the decoder
        // drops.
        let declared = declared.saturating_sub(opus_pre_skip(&params, rate));
        let tolerance = (u64::from(rate) / 10).max(4096);
        let decoded = frames as u64;
        if declared > decoded + tolerance {
            return Err(DecodeError::Truncated {
                decoded_s: seconds(decoded),
                declared_s: seconds(declared),
                decoded_frames: decoded,
                declared_frames: declared,
            });
        }
        // Less than the tolerance but more than a few ms: a damaged frame was dropped
        // silently somewhere (MP3 resynchronises without a timestamp gap). A dropped packet
        // takes all its frames; less than one packet missing is a container that counted
        // whole packets where the last one is short (ffmpeg's ALAC in CAF declares 4096 per
        // packet), not damage.
        let missing = declared.saturating_sub(decoded);
        let packet = params.max_frames_per_packet.unwrap_or(0);
        if missing > u64::from(rate) / 200 && missing >= packet {
            state.warnings.push(format!(
                "damaged data: decoded {:.0} ms less audio than the header declares",
                seconds(declared - decoded) * 1000.0
            ));
        }
    }

    let format = SourceFormat {
        container,
        codec,
        sample_rate: rate,
        channels: state.channels.len(),
        bits_per_sample: params.bits_per_sample.or(params.bits_per_coded_sample),
        duration_s: seconds(frames as u64),
    };
    Ok(DecodedAudio {
        channels: state.channels,
        format,
        skipped_packets: state.bad_packets,
        packets: state.packets,
        warnings: state.warnings,
    })
}

/// Frames per channel worth reserving for a recording of `file_bytes` bytes whose container
/// declares `declared` frames: what it declares, but never more than the file could hold
/// (even Opus at its lowest bitrate makes ~64 frames of a byte), so a lying header cannot make
/// a small file reserve gigabytes (which aborts the process under a memory limit).
/// Two durations in seconds, each with the fewest decimals (2 to 6) that tell them apart: a
/// WAV missing its last 7 bytes must not read "stops at 3.59 s but declares 3.59 s".
fn distinct_seconds(a: f64, b: f64) -> (String, String) {
    let mut shown = (String::new(), String::new());
    for decimals in 2..=6 {
        shown = (format!("{a:.decimals$}"), format!("{b:.decimals$}"));
        if shown.0 != shown.1 {
            break;
        }
    }
    shown
}

fn frames_to_reserve(declared: Option<u64>, file_bytes: usize, channels: usize) -> usize {
    let plausible = file_bytes as u64 * MAX_FRAMES_PER_BYTE / channels.max(1) as u64;
    declared.map_or(0, |n| n.min(plausible).min(1 << 28) as usize + 8192)
}

/// Frames of Opus pre-skip (from the `OpusHead` in the codec's extra data) at `rate`; 0 for
/// other codecs.
fn opus_pre_skip(params: &AudioCodecParameters, rate: u32) -> u64 {
    match params.extra_data.as_deref() {
        Some(head) if head.len() >= 12 && head.starts_with(b"OpusHead") => {
            u64::from(u16::from_le_bytes([head[10], head[11]])) * u64::from(rate) / 48_000
        }
        _ => 0,
    }
}

/// Why the packet loop stopped early.
enum StreamEnd {
    UnexpectedEof,
    Malformed(String),
    SpecChanged { from: String, to: String },
}

/// Accumulates decoded audio and counts what went wrong.
struct DecodeState {
    channels: Vec<Vec<f32>>,
    sample_rate: u32,
    time_base: Option<TimeBase>,
    scratch: Vec<Vec<f32>>,
    packets: usize,
    bad_packets: usize,
    first_error: Option<String>,
    /// Presentation time the next packet should have if none is missing.
    next_pts: Option<i64>,
    /// Frames the container announces (capacity to reserve), or 0.
    expected_frames: usize,
    /// Silence owed for audio lost before the first packet decoded (frames).
    pending_silence: usize,
    /// Stretches of lost audio filled with silence: (position in s, length in frames).
    gaps: Vec<(f64, usize)>,
    warnings: Vec<String>,
}

impl DecodeState {
    fn new(sample_rate: u32, time_base: Option<TimeBase>, expected_frames: usize) -> Self {
        DecodeState {
            // Reserving avoids re-copying long recordings as they grow.
            expected_frames,
            channels: Vec::new(),
            sample_rate,
            time_base,
            scratch: Vec::new(),
            packets: 0,
            bad_packets: 0,
            first_error: None,
            next_pts: None,
            pending_silence: 0,
            gaps: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Converts a span in time-base ticks to sample frames.
    fn ticks_to_frames(&self, ticks: u64) -> usize {
        match self.time_base {
            Some(tb) if self.sample_rate > 0 => {
                let frames =
                    u128::from(ticks) * u128::from(tb.numer.get()) * u128::from(self.sample_rate)
                        / u128::from(tb.denom.get());
                usize::try_from(frames).unwrap_or(usize::MAX)
            }
            _ => 0,
        }
    }

    /// Keeps the timeline intact where audio was lost: appends `frames` of silence. Refuses
    /// (as malformed) more silence in all than [`MAX_LOST_S`] or the audio decoded so far,
    /// whichever is longer.
    fn fill_gap(&mut self, frames: usize) -> Result<(), StreamEnd> {
        if frames == 0 {
            return Ok(());
        }
        let rate = f64::from(self.sample_rate.max(1));
        let at = self.frames() as f64 / rate;
        let lost: usize = self.gaps.iter().map(|&(_, n)| n).sum();
        // Silence owed before the first packet decoded is in `lost` but not yet in a channel.
        let decoded = if self.channels.is_empty() {
            0
        } else {
            self.frames() - lost
        };
        let allowed = decoded.max(MAX_LOST_S * self.sample_rate as usize);
        if lost.saturating_add(frames) > allowed {
            return Err(StreamEnd::Malformed(format!(
                "the timestamps jump {:.1} s ahead, more audio than could have been lost",
                frames as f64 / rate
            )));
        }
        self.gaps.push((at, frames));
        if self.channels.is_empty() {
            self.pending_silence += frames;
        } else {
            for channel in &mut self.channels {
                channel.resize(channel.len() + frames, 0.0);
            }
        }
        Ok(())
    }

    fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    fn run(
        &mut self,
        reader: &mut dyn FormatReader,
        decoder: &mut dyn AudioDecoder,
        track_id: u32,
        container: &str,
    ) -> Result<(), StreamEnd> {
        loop {
            let packet = match reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(()),
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Err(StreamEnd::UnexpectedEof);
                }
                Err(SymphoniaError::ResetRequired) => {
                    // A chained Ogg stream starts a new logical stream; what came before is the
                    // recording.
                    self.warnings.push(format!(
                        "the {container} stream is chained; decoded only its first part"
                    ));
                    return Ok(());
                }
                Err(e) => return Err(StreamEnd::Malformed(e.to_string())),
            };
            if packet.track_id != track_id {
                continue;
            }
            self.packets += 1;
            let pts = packet.pts.get();
            if let Some(expected) = self.next_pts
                && pts > expected
            {
                // The demuxer skipped damaged data and resynchronised further on.
                let lost = self.ticks_to_frames((pts - expected) as u64);
                if lost > 1 {
                    self.fill_gap(lost)?;
                }
            }
            // Only a packet that states its duration predicts where the next one starts
            // (Matroska leaves it 0; Vorbis's first packet is all pre-roll).
            self.next_pts =
                (packet.dur.get() > 0).then(|| pts.saturating_add_unsigned(packet.dur.get()));
            match decoder.decode(&packet) {
                Ok(buffer) => {
                    if buffer.frames() == 0 {
                        continue;
                    }
                    let rate = buffer.spec().rate();
                    let count = buffer.spec().channels().count();
                    if self.channels.is_empty() {
                        self.sample_rate = rate;
                        // (Not `vec![channel; count]`: clones drop the reserved capacity.)
                        self.channels = (0..count)
                            .map(|_| {
                                let mut channel = Vec::with_capacity(self.expected_frames);
                                channel.resize(self.pending_silence, 0.0);
                                channel
                            })
                            .collect();
                    } else if rate != self.sample_rate || count != self.channels.len() {
                        return Err(StreamEnd::SpecChanged {
                            from: format!("{} Hz × {}", self.sample_rate, self.channels.len()),
                            to: format!("{rate} Hz × {count}"),
                        });
                    }
                    buffer.copy_to_vecs_planar::<f32>(&mut self.scratch);
                    for (all, part) in self.channels.iter_mut().zip(&self.scratch) {
                        all.extend_from_slice(part);
                    }
                }
                // symphonia documents both as "this packet is bad; the next may decode".
                Err(e @ (SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_))) => {
                    self.bad_packets += 1;
                    self.first_error.get_or_insert_with(|| e.to_string());
                    let lost = self.ticks_to_frames(packet.dur.get());
                    self.fill_gap(lost)?;
                }
                Err(e) => return Err(StreamEnd::Malformed(e.to_string())),
            }
        }
    }
}

/// The one-line error for bytes no format reader accepted: a damaged file of a known kind
/// (judged by its magic bytes) says so, text says it is text, anything else is unknown.
fn probe_error(bytes: &[u8], err: &SymphoniaError) -> DecodeError {
    let reason = match err {
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the file ends early".to_string()
        }
        SymphoniaError::Unsupported(_) => "no readable stream found".to_string(),
        other => other.to_string(),
    };
    if let Some(kind) = sniff_container(bytes) {
        return DecodeError::Damaged { kind, reason };
    }
    if looks_like_text(bytes) {
        return DecodeError::UnknownFormat(" (the file looks like text)".to_string());
    }
    DecodeError::UnknownFormat(String::new())
}

/// The container a file claims to be by its first bytes, if any known one.
fn sniff_container(bytes: &[u8]) -> Option<&'static str> {
    let at = |range: std::ops::Range<usize>| bytes.get(range);
    match (at(0..4), at(4..8), at(8..12)) {
        (Some(b"RIFF" | b"RF64"), _, Some(b"WAVE")) => Some("WAV"),
        (Some(b"FORM"), _, Some(b"AIFF" | b"AIFC")) => Some("AIFF"),
        (Some(b"fLaC"), _, _) => Some("FLAC"),
        (Some(b"OggS"), _, _) => Some("Ogg"),
        (Some(b"caff"), _, _) => Some("CAF"),
        (Some(b"\x1a\x45\xdf\xa3"), _, _) => Some("Matroska/WebM"),
        (_, Some(b"ftyp"), _) => Some("MP4/M4A"),
        (Some([b'I', b'D', b'3', _]), _, _) => Some("MP3"),
        (Some([0xFF, second, _, _]), _, _) if second & 0xE0 == 0xE0 => Some("MPEG audio"),
        _ => None,
    }
}

/// Whether the start of the file is (nearly) all printable text.
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let printable = head
        .iter()
        .filter(|&&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
        .count();
    printable * 10 >= head.len() * 9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    #[test]
    fn decodes_every_fixture_format() {
        // (file, container, codec, rate, channels); each holds the same 2.863 s scene.
        let cases = [
            ("speech.flac", "flac", "flac", 22_050, 1),
            ("speech.mp3", "mp3", "mp3", 44_100, 2),
            ("speech.ogg", "ogg", "vorbis", 48_000, 1),
            ("speech.m4a", "isomp4", "aac", 48_000, 1),
            ("speech_alac.m4a", "isomp4", "alac", 22_050, 1),
            ("speech_alac.caf", "caf", "alac", 22_050, 1),
            ("speech.opus", "ogg", "opus", 48_000, 1),
            ("speech.webm", "matroska", "opus", 48_000, 2),
            ("speech.aiff", "aiff", "pcm_s16be", 11_025, 1),
            ("speech.caf", "caf", "pcm_s16le", 8_000, 1),
            ("voice_rear_left.wav", "wave", "pcm_s16le", 16_000, 1),
        ];
        for (name, container, codec, rate, channels) in cases {
            let extension = name.rsplit('.').next();
            let audio =
                decode_bytes(&fixture(name), extension).unwrap_or_else(|e| panic!("{name}: {e}"));
            let f = &audio.format;
            assert_eq!(
                (f.container.as_str(), f.codec.as_str()),
                (container, codec),
                "{name}"
            );
            assert_eq!((f.sample_rate, f.channels), (rate, channels), "{name}");
            assert_eq!(audio.channels.len(), channels, "{name}");
            assert!(audio.warnings.is_empty(), "{name}: {:?}", audio.warnings);
            let expected = if name.starts_with("voice") {
                1.263
            } else {
                2.863
            };
            // Lossy codecs may add priming or padding: symphonia ignores MP4 edit lists, so
            // AAC keeps its 1024 priming frames and last-frame padding (~40 ms).
            assert!(
                (f.duration_s - expected).abs() < 0.05,
                "{name}: {} s",
                f.duration_s
            );
            let peak = audio
                .channels
                .iter()
                .flatten()
                .fold(0f32, |m, x| m.max(x.abs()));
            assert!(peak > 0.1 && peak <= 1.0, "{name}: peak {peak}");
        }
    }

    #[test]
    fn the_extension_is_only_a_hint() {
        let audio = decode_bytes(&fixture("speech.flac"), Some("mp3")).unwrap();
        assert_eq!(audio.format.codec, "flac");
        let audio = decode_bytes(&fixture("speech.ogg"), None).unwrap();
        assert_eq!(audio.format.codec, "vorbis");
    }

    #[test]
    fn a_wav_a_few_bytes_short_shows_two_different_lengths() {
        // 7 bytes short: 3.5 frames, which two decimals of seconds cannot show.
        let wav = fixture("voice_rear_left.wav");
        let err = decode_bytes(&wav[..wav.len() - 7], Some("wav"))
            .unwrap_err()
            .to_string();
        let number_after = |marker: &str| -> String {
            let rest = &err[err.find(marker).unwrap_or_else(|| panic!("{err}")) + marker.len()..];
            rest.split(' ').next().unwrap().to_string()
        };
        let (stops, declares) = (number_after("stops at "), number_after("declares "));
        assert_ne!(stops, declares, "{err}");
        let declared_frames = (wav.len() - 44) / 2;
        assert!(
            err.contains("(frame ") && err.contains(&format!("({declared_frames} frames)")),
            "{err}"
        );
        assert!(
            stops.parse::<f64>().unwrap() < declares.parse::<f64>().unwrap(),
            "{err}"
        );
        assert_eq!(distinct_seconds(1.0, 2.0), ("1.00".into(), "2.00".into()));
        assert_eq!(
            distinct_seconds(3.589_375, 3.589_625),
            ("3.589".into(), "3.590".into())
        );
        assert_eq!(
            distinct_seconds(3.589_412, 3.589_437),
            ("3.58941".into(), "3.58944".into())
        );
    }

    #[test]
    fn bad_inputs_get_one_line_reasons() {
        let text = b"this is not audio, just words\n".repeat(50);
        let mut random = vec![0u8; 20_000];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for byte in &mut random {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *byte = (seed >> 32) as u8;
        }
        let flac = fixture("speech.flac");
        let wav = fixture("voice_rear_left.wav");
        let cases: [(&[u8], &str, &str); 7] = [
            (b"", "wav", "empty file (0 bytes)"),
            (
                &text,
                "mp3",
                "not a recognised audio format (the file looks like text)",
            ),
            (&random, "mp3", "not a recognised audio format"),
            (&flac[..flac.len() / 3], "flac", "truncated: audio stops at"),
            (&wav[..wav.len() / 2], "wav", "truncated: audio stops at"),
            (&wav[..44], "wav", "no audio frames"),
            (&flac[..30], "flac", "damaged or truncated FLAC file"),
        ];
        for (bytes, extension, reason) in cases {
            let err = decode_bytes(bytes, Some(extension))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(reason), "{reason:?}: got {err:?}");
            assert!(!err.contains('\n'), "{err:?}");
        }
    }

    #[test]
    fn a_damaged_packet_is_skipped_with_a_warning() {
        let mut flac = fixture("speech.flac");
        let middle = flac.len() / 2;
        for byte in &mut flac[middle..middle + 200] {
            *byte = !*byte;
        }
        let audio = decode_bytes(&flac, Some("flac")).unwrap();
        assert!(
            (audio.format.duration_s - 2.863).abs() < 0.01,
            "{}",
            audio.format.duration_s
        );
        assert!(
            audio.warnings.iter().any(|w| w.starts_with("damaged data")),
            "{:?}",
            audio.warnings
        );
    }

    /// `ogg` with the granule position (timestamp) of page `page` moved `jump` frames ahead
    /// and its CRC made right again, as a damaged or hostile muxer could write it.
    fn ogg_with_granule_jump(ogg: &[u8], page: usize, jump: i64) -> Vec<u8> {
        fn crc(bytes: &[u8]) -> u32 {
            bytes.iter().fold(0u32, |crc, &b| {
                (0..8).fold(crc ^ (u32::from(b) << 24), |c, _| {
                    if c & 0x8000_0000 != 0 {
                        (c << 1) ^ 0x04c1_1db7
                    } else {
                        c << 1
                    }
                })
            })
        }
        let mut out = ogg.to_vec();
        let mut at = 0;
        for _ in 0..page {
            let segments = usize::from(out[at + 26]);
            let body: usize = out[at + 27..at + 27 + segments]
                .iter()
                .map(|&n| usize::from(n))
                .sum();
            at += 27 + segments + body;
        }
        let segments = usize::from(out[at + 26]);
        let body: usize = out[at + 27..at + 27 + segments]
            .iter()
            .map(|&n| usize::from(n))
            .sum();
        let end = at + 27 + segments + body;
        let granule = i64::from_le_bytes(out[at + 6..at + 14].try_into().unwrap());
        out[at + 6..at + 14].copy_from_slice(&(granule + jump).to_le_bytes());
        out[at + 22..at + 26].fill(0);
        let sum = crc(&out[at..end]);
        out[at + 22..at + 26].copy_from_slice(&sum.to_le_bytes());
        out
    }

    #[test]
    fn a_timestamp_jump_is_an_error_not_terabytes_of_silence() {
        let opus = fixture("speech.opus");
        // 2^40 frames at 48 kHz: 23 million seconds; filling it used to abort the process.
        for jump in [1i64 << 40, 48_000 * 600] {
            let damaged = ogg_with_granule_jump(&opus, 3, jump);
            let err = decode_bytes(&damaged, Some("opus"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("malformed ogg data after") && err.contains("timestamps jump"),
                "{err}"
            );
        }
        // A small jump is lost audio: filled with silence, with a warning.
        let damaged = ogg_with_granule_jump(&opus, 3, 48_000 / 2);
        let audio = decode_bytes(&damaged, Some("opus")).unwrap();
        assert!(
            audio
                .warnings
                .iter()
                .any(|w| w.starts_with("damaged data: 510 ms of audio replaced by silence")),
            "{:?}",
            audio.warnings
        );
    }

    #[test]
    fn streamed_wav_without_sizes_is_read_with_a_warning() {
        let wav = fixture("voice_rear_left.wav");
        let data = 36; // canonical header: data chunk id at 36, size at 40
        assert_eq!(&wav[data..data + 4], b"data");
        for size in [0u32, u32::MAX] {
            let mut streamed = wav.clone();
            streamed[4..8].copy_from_slice(&size.to_le_bytes());
            streamed[data + 4..data + 8].copy_from_slice(&size.to_le_bytes());
            let audio = decode_bytes(&streamed, Some("wav")).unwrap();
            assert_eq!(audio.frames(), (wav.len() - 44) / 2);
            assert!(
                audio.warnings[0].starts_with("inconsistent WAV header"),
                "{:?}",
                audio.warnings
            );
        }
        // A data chunk longer than the file is a truncated file, not a header slip.
        let mut cut = wav.clone();
        cut.truncate(wav.len() - 1000);
        let err = decode_bytes(&cut, Some("wav")).unwrap_err().to_string();
        assert!(err.starts_with("truncated"), "{err}");
    }

    #[test]
    fn memory_reserved_follows_the_header_only_as_far_as_the_file_size_allows() {
        // A true header: 10 minutes of 44.1 kHz stereo MP3 (128 kb/s, 9.6 MB).
        assert_eq!(
            frames_to_reserve(Some(26_460_000), 9_600_000, 2),
            26_460_000 + 8192
        );
        // A 64 KB WAV whose data chunk claims 4 GB in 16 channels: ~1 MB per channel, not
        // 1 GiB (16 GiB in all, which aborted prep under `ulimit -v 4000000`).
        let reserved = frames_to_reserve(Some(u64::from(u32::MAX) / 16), 64_044, 16);
        assert!(reserved <= 300_000, "{reserved} frames");
        assert_eq!(frames_to_reserve(None, 1_000, 1), 0);
        assert_eq!(frames_to_reserve(Some(100), 1_000, 0), 100 + 8192);
    }

    #[test]
    fn rf64_is_read_like_the_plain_wav_it_holds() {
        // RF64 as ffmpeg -rf64 always writes it: sizes 0xFFFFFFFF, the real ones in `ds64`.
        let wav = fixture("voice_rear_left.wav");
        let data_len = (wav.len() - 44) as u64;
        let mut rf64 = b"RF64\xff\xff\xff\xffWAVEds64".to_vec();
        rf64.extend_from_slice(&28u32.to_le_bytes());
        let riff_len = (wav.len() - 8 + 36) as u64;
        for field in [riff_len, data_len, data_len / 2] {
            rf64.extend_from_slice(&field.to_le_bytes());
        }
        rf64.extend_from_slice(&0u32.to_le_bytes());
        rf64.extend_from_slice(&wav[12..40]);
        rf64.extend_from_slice(&u32::MAX.to_le_bytes());
        rf64.extend_from_slice(&wav[44..]);
        let layout = riff::parse(&rf64).unwrap();
        assert!(layout.issues.is_empty(), "{:?}", layout.issues);
        assert_eq!(layout.frames() as u64, data_len / 2);
        let audio = decode_bytes(&rf64, Some("wav")).unwrap();
        let plain = decode_bytes(&wav, Some("wav")).unwrap();
        assert_eq!(audio.channels, plain.channels);
        assert!(audio.warnings.is_empty(), "{:?}", audio.warnings);
        // Cut short, it is truncated like a plain WAV.
        let err = decode_bytes(&rf64[..rf64.len() - 1000], Some("wav"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("damaged or truncated WAV file"), "{err}");
    }

    #[test]
    fn data_before_fmt_is_read() {
        let wav = fixture("voice_rear_left.wav");
        let mut reordered = wav[..12].to_vec();
        reordered.extend_from_slice(&wav[36..]);
        reordered.extend_from_slice(&wav[12..36]);
        let audio = decode_bytes(&reordered, Some("wav")).unwrap();
        let plain = decode_bytes(&wav, Some("wav")).unwrap();
        assert_eq!(audio.channels, plain.channels);
        assert!(audio.warnings.is_empty(), "{:?}", audio.warnings);
    }

    #[test]
    fn header_arithmetic_that_overflows_is_a_one_line_error() {
        // 32768 channels of 32 bits: symphonia's block-align check multiplies them in u16,
        // which panicked (and ended the whole prep run) wherever overflow checks are on.
        let mut wav = fixture("voice_rear_left.wav");
        wav[22..24].copy_from_slice(&0x8000u16.to_le_bytes());
        wav[34..36].copy_from_slice(&32u16.to_le_bytes());
        let err = decode_bytes(&wav, Some("wav")).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.starts_with("malformed data made the WAV decoder fail")
                || err.contains("invalid channel count"),
            "{err}"
        );
    }

    #[test]
    fn audio_extensions() {
        assert!(has_audio_extension(Path::new("a/b/Query.WAV")));
        assert!(has_audio_extension(Path::new("x.opus")));
        assert!(!has_audio_extension(Path::new("notes.txt")));
        assert!(!has_audio_extension(Path::new("README")));
    }
}
