//! The pipecat WebSocket protocol: every WebSocket message is one binary protobuf
//! `pipecat.Frame` (see pipecat's `frames.proto`). Shared by `bench` (client) and `agent`
//! (server). Unknown fields and frame kinds decode as "nothing to do", never as errors.

use thiserror::Error;

use crate::audio::riff;

pub mod pyjson;
pub mod rtvi;
pub mod telephony;

/// The host a pipecat agent is reached at by default (`voiceperf agent` listens here).
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The port pipecat's example servers (and `voiceperf agent`) listen on by default.
pub const DEFAULT_PORT: u16 = 8100;

/// The WebSocket URL template of a pipecat server at `host:port`: pipecat's `/ws/{stream_id}`
/// route, `{stream_id}` replaced per connection.
pub fn url_template(host: &str, port: u16) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("ws://{host}:{port}/ws/{{stream_id}}")
}

/// The wire protocol spoken between bench and an agent: pipecat's protobuf frames, or a
/// telephony provider's media-stream protocol (bench plays the provider, the agent the bot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// pipecat's protobuf `Frame` messages, 16 kHz audio.
    #[default]
    Pipecat,
    /// A telephony provider's media stream (8 kHz, or 16 kHz for Vonage).
    Telephony(telephony::Provider),
}

impl Protocol {
    /// Every protocol, in the order they are listed to users.
    pub const ALL: [Protocol; 6] = [
        Protocol::Pipecat,
        Protocol::Telephony(telephony::Provider::Twilio),
        Protocol::Telephony(telephony::Provider::Telnyx),
        Protocol::Telephony(telephony::Provider::Plivo),
        Protocol::Telephony(telephony::Provider::Exotel),
        Protocol::Telephony(telephony::Provider::Vonage),
    ];

    /// The name on the command line and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Pipecat => "pipecat",
            Protocol::Telephony(p) => p.name(),
        }
    }

    /// The telephony provider, if any.
    pub fn provider(self) -> Option<telephony::Provider> {
        match self {
            Protocol::Pipecat => None,
            Protocol::Telephony(p) => Some(p),
        }
    }

    /// Sample rate of the caller's audio on the wire.
    pub fn input_rate(self) -> u32 {
        match self {
            Protocol::Pipecat => crate::audio::TARGET_RATE,
            Protocol::Telephony(p) => p.wire_rate(),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown protocol {s:?} (expected pipecat, twilio, telnyx, plivo, exotel or vonage)"
                )
            })
    }
}

impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// `pipecat.TextFrame`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TextFrame {
    /// Frame id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Frame name, e.g. `TextFrame#3`.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The text.
    #[prost(string, tag = "3")]
    pub text: String,
}

/// `pipecat.AudioRawFrame`: interleaved int16 little-endian PCM, or a WAV file when the
/// server wraps chunks (`add_wav_header`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AudioRawFrame {
    /// Frame id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Frame name, e.g. `OutputAudioRawFrame#12`.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Raw PCM bytes or a complete WAV file.
    #[prost(bytes = "vec", tag = "3")]
    pub audio: Vec<u8>,
    /// Sample rate in Hz.
    #[prost(uint32, tag = "4")]
    pub sample_rate: u32,
    /// Interleaved channels.
    #[prost(uint32, tag = "5")]
    pub num_channels: u32,
    /// Presentation timestamp, when the sender sets one.
    #[prost(uint64, optional, tag = "6")]
    pub pts: Option<u64>,
}

/// `pipecat.TranscriptionFrame`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TranscriptionFrame {
    /// Frame id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Frame name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Transcribed text.
    #[prost(string, tag = "3")]
    pub text: String,
    /// Speaker id.
    #[prost(string, tag = "4")]
    pub user_id: String,
    /// ISO-8601 timestamp as a string.
    #[prost(string, tag = "5")]
    pub timestamp: String,
}

/// `pipecat.MessageFrame`: a JSON document, e.g. an RTVI message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageFrame {
    /// JSON text.
    #[prost(string, tag = "1")]
    pub data: String,
}

/// `pipecat.InterruptionFrame`: the user spoke over the bot; its audio stops short.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptionFrame {
    /// Frame id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Frame name.
    #[prost(string, tag = "2")]
    pub name: String,
}

/// `pipecat.Frame`: the envelope of every WebSocket message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Frame {
    /// The frame carried; `None` for kinds this version does not know.
    #[prost(oneof = "FrameKind", tags = "1, 2, 3, 4, 5")]
    pub frame: Option<FrameKind>,
}

/// The kinds of frame a `pipecat.Frame` can carry.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FrameKind {
    /// Text.
    #[prost(message, tag = "1")]
    Text(TextFrame),
    /// Audio.
    #[prost(message, tag = "2")]
    Audio(AudioRawFrame),
    /// Transcription.
    #[prost(message, tag = "3")]
    Transcription(TranscriptionFrame),
    /// JSON message (RTVI).
    #[prost(message, tag = "4")]
    Message(MessageFrame),
    /// Interruption.
    #[prost(message, tag = "5")]
    Interruption(InterruptionFrame),
}

/// Why a WebSocket message or an audio payload could not be used.
#[derive(Debug, Error)]
pub enum ProtocolError {
    /// The bytes are not a protobuf `pipecat.Frame`.
    #[error("undecodable frame ({len} bytes): {source}")]
    Undecodable {
        /// Message length in bytes.
        len: usize,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// An audio payload starting with `RIFF` that is not a readable WAV file.
    #[error("audio frame carries a broken WAV payload: {0}")]
    BadWav(#[from] riff::RiffError),
    /// A WAV payload that is not 16-bit integer PCM.
    #[error("audio frame WAV payload is format {format:#06x}, {bits}-bit; expected 16-bit PCM")]
    UnsupportedWav {
        /// Effective WAVE format tag.
        format: u16,
        /// Bits per sample.
        bits: u16,
    },
    /// Sample rate or channel count of zero.
    #[error("audio frame with sample_rate {sample_rate} and {channels} channels")]
    BadAudioParams {
        /// Declared sample rate.
        sample_rate: u32,
        /// Declared channels.
        channels: u32,
    },
}

/// Encodes a frame into the bytes of one binary WebSocket message.
pub fn encode(frame: &Frame) -> Vec<u8> {
    prost::Message::encode_to_vec(frame)
}

/// Decodes one binary WebSocket message. Unknown kinds give `Frame { frame: None }`.
pub fn decode(bytes: &[u8]) -> Result<Frame, ProtocolError> {
    <Frame as prost::Message>::decode(bytes).map_err(|source| ProtocolError::Undecodable {
        len: bytes.len(),
        source,
    })
}

/// A frame carrying raw int16 PCM audio.
pub fn audio_frame(id: u64, name: String, pcm: Vec<u8>, sample_rate: u32, channels: u32) -> Frame {
    Frame {
        frame: Some(FrameKind::Audio(AudioRawFrame {
            id,
            name,
            audio: pcm,
            sample_rate,
            num_channels: channels,
            pts: None,
        })),
    }
}

/// The PCM carried by an audio frame, whether raw or WAV-wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pcm<'a> {
    /// Interleaved int16 little-endian sample bytes (whole frames).
    pub bytes: &'a [u8],
    /// Sample rate in Hz (from the WAV header when wrapped).
    pub sample_rate: u32,
    /// Channels (from the WAV header when wrapped).
    pub channels: u16,
    /// Whether the payload was a WAV file.
    pub wav_wrapped: bool,
}

impl Pcm<'_> {
    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.bytes.len() / (2 * self.channels.max(1) as usize)
    }

    /// Duration of the audio in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }
}

impl AudioRawFrame {
    /// The PCM in this frame: a payload starting with `RIFF` is parsed as a WAV file by its
    /// chunks (its header wins over the frame's fields); anything else is raw int16 PCM.
    pub fn pcm(&self) -> Result<Pcm<'_>, ProtocolError> {
        if self.audio.starts_with(b"RIFF") {
            let layout = riff::parse(&self.audio)?;
            let fmt = &layout.fmt;
            if !fmt.is_integer_pcm() || fmt.bits_per_sample != 16 {
                return Err(ProtocolError::UnsupportedWav {
                    format: fmt.effective_format(),
                    bits: fmt.bits_per_sample,
                });
            }
            if fmt.sample_rate == 0 || fmt.channels == 0 {
                return Err(ProtocolError::BadAudioParams {
                    sample_rate: fmt.sample_rate,
                    channels: u32::from(fmt.channels),
                });
            }
            return Ok(Pcm {
                bytes: &self.audio[layout.data],
                sample_rate: fmt.sample_rate,
                channels: fmt.channels,
                wav_wrapped: true,
            });
        }
        if self.sample_rate == 0 || self.num_channels == 0 || self.num_channels > 64 {
            return Err(ProtocolError::BadAudioParams {
                sample_rate: self.sample_rate,
                channels: self.num_channels,
            });
        }
        let channels = self.num_channels as u16;
        let frame_bytes = 2 * channels as usize;
        let whole = self.audio.len() / frame_bytes * frame_bytes;
        Ok(Pcm {
            bytes: &self.audio[..whole],
            sample_rate: self.sample_rate,
            channels,
            wav_wrapped: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_frame_round_trips() {
        let frame = audio_frame(
            7,
            "OutputAudioRawFrame#7".into(),
            vec![1, 0, 2, 0],
            16_000,
            1,
        );
        let bytes = encode(&frame);
        let back = decode(&bytes).unwrap();
        assert_eq!(back, frame);
        let Some(FrameKind::Audio(audio)) = back.frame else {
            panic!("not audio")
        };
        let pcm = audio.pcm().unwrap();
        assert_eq!(pcm.frames(), 2);
        assert!(!pcm.wav_wrapped);
    }

    #[test]
    fn unknown_kind_and_fields_are_skipped() {
        // Field 9 (unknown oneof member, length-delimited, 2 bytes).
        let unknown_kind = [0x4a, 0x02, 0x08, 0x01];
        assert_eq!(decode(&unknown_kind).unwrap().frame, None);
        // A TextFrame with an extra unknown varint field 15 inside it.
        let text = [0x0a, 0x06, 0x1a, 0x02, b'h', b'i', 0x78, 0x2a];
        let frame = decode(&text).unwrap();
        assert!(matches!(frame.frame, Some(FrameKind::Text(ref t)) if t.text == "hi"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn wav_wrapped_audio_uses_header() {
        let pcm = riff::pcm16_to_bytes(&[1, 2, 3, 4, 5, 6]);
        let frame = AudioRawFrame {
            audio: riff::wrap_pcm16(&pcm, 24_000, 1),
            sample_rate: 16_000,
            num_channels: 1,
            ..Default::default()
        };
        let got = frame.pcm().unwrap();
        assert!(got.wav_wrapped);
        assert_eq!(got.sample_rate, 24_000);
        assert_eq!(got.bytes, &pcm[..]);
        assert!((got.duration_secs() - 6.0 / 24_000.0).abs() < 1e-12);
    }

    #[test]
    fn bad_audio_parameters_are_errors() {
        let frame = AudioRawFrame {
            audio: vec![0; 4],
            sample_rate: 0,
            num_channels: 1,
            ..Default::default()
        };
        assert!(matches!(
            frame.pcm(),
            Err(ProtocolError::BadAudioParams { .. })
        ));
    }
}
