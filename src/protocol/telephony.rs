//! Telephony media-stream protocols (Twilio, Telnyx, Plivo, Exotel, Vonage) as pipecat 1.14's
//! serializers and runner speak them, both sides of the call:
//!
//! - the **provider's side** ([`ProviderSession`], what bench sends): the opening messages that
//!   pipecat's `parse_telephony_websocket` accepts, caller audio in the provider's encoding and
//!   framing, Twilio's mark echo and the end of the stream; and decoding the bot's messages
//!   into audio, clear (the interruption signal) and marks;
//! - the **bot's side** ([`BotSession`], what the agent sends): byte for byte what pipecat's
//!   `TwilioFrameSerializer` & co. put on the wire (Python `json.dumps` formatting), and
//!   decoding the provider's messages.
//!
//! On the wire, audio is 8 kHz (Vonage: 16 kHz) and mono: G.711 µ-law (Telnyx may use A-law)
//! in base64 JSON for Twilio, Telnyx and Plivo, 16-bit little-endian PCM in base64 JSON for
//! Exotel, raw binary 16-bit PCM for Vonage. tests/fixtures/telephony, written by
//! scripts/pipecat_telephony_fixtures.py with pipecat itself, is the reference.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use thiserror::Error;

use super::pyjson;
use crate::audio::g711::Law;
use crate::audio::pcm;
use crate::audio::resample::{self, ResampleError};

/// A telephony provider whose media-stream WebSocket protocol is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Twilio Media Streams.
    Twilio,
    /// Telnyx media streaming.
    Telnyx,
    /// Plivo audio streams.
    Plivo,
    /// Exotel Voicebot applet.
    Exotel,
    /// Vonage WebSocket audio connector.
    Vonage,
}

impl Provider {
    /// Every provider, in the order they are listed to users.
    pub const ALL: [Provider; 5] = [
        Provider::Twilio,
        Provider::Telnyx,
        Provider::Plivo,
        Provider::Exotel,
        Provider::Vonage,
    ];

    /// The name used on the command line and in pipecat's transport type.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::Telnyx => "telnyx",
            Provider::Plivo => "plivo",
            Provider::Exotel => "exotel",
            Provider::Vonage => "vonage",
        }
    }

    /// Sample rate of the audio on the wire in both directions (pipecat's serializer defaults).
    pub fn wire_rate(self) -> u32 {
        match self {
            Provider::Vonage => 16_000,
            _ => 8_000,
        }
    }

    /// Milliseconds of caller audio in one media message: 20 ms, but Exotel streams ~100 ms.
    pub fn frame_ms(self) -> u32 {
        match self {
            Provider::Exotel => 100,
            _ => 20,
        }
    }

    /// Samples of caller audio in one media message.
    pub fn frame_samples(self) -> usize {
        (self.wire_rate() * self.frame_ms() / 1000) as usize
    }

    /// The encoding of audio on the wire unless configured otherwise (only Telnyx can be).
    pub fn default_codec(self) -> Codec {
        match self {
            Provider::Twilio | Provider::Telnyx | Provider::Plivo => Codec::Pcmu,
            Provider::Exotel | Provider::Vonage => Codec::L16,
        }
    }

    /// Whether the provider echoes the bot's `mark` messages once their audio has played.
    pub fn echoes_marks(self) -> bool {
        self == Provider::Twilio
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = TelephonyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| TelephonyError::UnknownProvider(s.to_string()))
    }
}

/// How audio samples are encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, one byte per sample.
    Pcmu,
    /// G.711 A-law, one byte per sample.
    Pcma,
    /// 16-bit signed little-endian linear PCM.
    L16,
}

impl Codec {
    /// Encodes 16-bit samples.
    pub fn encode(self, samples: &[i16]) -> Vec<u8> {
        match self {
            Codec::Pcmu => Law::Mu.encode(samples),
            Codec::Pcma => Law::A.encode(samples),
            Codec::L16 => samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
        }
    }

    /// Decodes bytes to 16-bit samples; L16 needs an even number of bytes.
    pub fn decode(self, bytes: &[u8]) -> Result<Vec<i16>, TelephonyError> {
        match self {
            Codec::Pcmu => Ok(Law::Mu.decode(bytes)),
            Codec::Pcma => Ok(Law::A.decode(bytes)),
            Codec::L16 if bytes.len() % 2 != 0 => Err(TelephonyError::OddPcm(bytes.len())),
            Codec::L16 => Ok(bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect()),
        }
    }

    /// The name in Telnyx's `media_format.encoding` (what pipecat's Telnyx serializer accepts).
    fn telnyx_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::L16 => "L16",
        }
    }
}

/// Why a telephony message could not be built or understood.
#[derive(Debug, Error)]
pub enum TelephonyError {
    /// `--protocol` named no known provider.
    #[error("unknown telephony provider {0:?} (expected twilio, telnyx, plivo, exotel or vonage)")]
    UnknownProvider(String),
    /// A codec the provider cannot carry.
    #[error("{provider} cannot carry {codec:?} audio")]
    CodecNotSupported {
        /// The provider.
        provider: Provider,
        /// The codec asked for.
        codec: Codec,
    },
    /// A text message that is not JSON.
    #[error("{provider} message is not JSON: {reason}")]
    NotJson {
        /// The provider spoken.
        provider: Provider,
        /// serde_json's reason.
        reason: String,
    },
    /// A message lacking a field it cannot do without.
    #[error("{provider} {event:?} message has no {field}")]
    Missing {
        /// The provider spoken.
        provider: Provider,
        /// The message's event.
        event: String,
        /// The missing field's path.
        field: &'static str,
    },
    /// A media payload that is not base64.
    #[error("{provider} {event:?} payload is not base64: {reason}")]
    Base64 {
        /// The provider spoken.
        provider: Provider,
        /// The message's event.
        event: String,
        /// The base64 crate's reason.
        reason: String,
    },
    /// 16-bit PCM with an odd number of bytes.
    #[error("16-bit PCM audio of {0} bytes (an odd number)")]
    OddPcm(usize),
    /// A binary message from a provider that only sends text.
    #[error("{0} sent a binary message ({1} bytes); its protocol is JSON text")]
    UnexpectedBinary(Provider, usize),
    /// An audio format this module does not decode.
    #[error("{provider} audio format {format:?} is not supported")]
    UnsupportedFormat {
        /// The provider spoken.
        provider: Provider,
        /// The format as the message names it.
        format: String,
    },
    /// Resampling to or from the wire rate failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

/// A WebSocket message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message (JSON).
    Text(String),
    /// A binary message (Vonage audio).
    Binary(Vec<u8>),
}

impl WsMessage {
    /// The message borrowed, as the decoders take it.
    pub fn view(&self) -> WsRef<'_> {
        match self {
            WsMessage::Text(t) => WsRef::Text(t),
            WsMessage::Binary(b) => WsRef::Binary(b),
        }
    }
}

/// A received WebSocket message, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsRef<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// Decoded audio: mono 16-bit samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    /// The samples.
    pub samples: Vec<i16>,
    /// Their rate in Hz.
    pub sample_rate: u32,
}

/// The identity of one call, as the provider announces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallIds {
    /// Media stream id (Twilio `streamSid`, Telnyx `stream_id`, Plivo `streamId`, Exotel
    /// `stream_sid`).
    pub stream_id: String,
    /// Call id (Twilio `callSid`, Telnyx `call_control_id`, Plivo `callId`, Exotel `call_sid`).
    pub call_id: String,
    /// Account id (Twilio `accountSid`, Telnyx `user_id`, Plivo `accountId`, Exotel
    /// `account_sid`).
    pub account_id: String,
    /// Caller's number (Telnyx and Exotel announce it).
    pub from: String,
    /// Dialled number (Telnyx and Exotel announce it).
    pub to: String,
    /// Custom parameters, in order (Twilio `customParameters`, Plivo `extra_headers`, ...).
    pub custom_parameters: Vec<(String, String)>,
}

impl CallIds {
    /// Ids for connection `n` shaped like Twilio's (two letters and 32 hex digits), one
    /// account for every connection, and caller number `+1555` followed by `n` in 7 digits.
    pub fn numbered(n: u64, custom_parameters: Vec<(String, String)>) -> Self {
        CallIds {
            stream_id: format!("MZ{n:032x}"),
            call_id: format!("CA{n:032x}"),
            account_id: format!("AC{:032x}", 1),
            from: format!("+1555{:07}", n % 10_000_000),
            to: "+15559999999".to_string(),
            custom_parameters,
        }
    }
}

/// What the bot's message means to the caller's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotEvent {
    /// Audio to play.
    Audio(Audio),
    /// Stop playing and drop queued audio: the bot was interrupted.
    Clear,
    /// A named point in the bot's audio (Twilio `mark`, Telnyx/Exotel `mark`, Plivo
    /// `checkpoint`).
    Mark(String),
    /// Anything else (custom messages pipecat passes through).
    Ignored,
}

/// What the provider's message means to the bot's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerEvent {
    /// The provider's `connected` greeting (before `start`).
    Connected,
    /// The stream started (Vonage: `websocket:connected`).
    Start(StartInfo),
    /// Caller audio.
    Audio(Audio),
    /// The provider played the bot's audio up to this mark.
    Mark(String),
    /// The provider ended the stream.
    Stop,
    /// Anything else (DTMF, Vonage's `websocket:cleared`, ...).
    Ignored,
}

/// What a bot learns from the provider's start message (pipecat's `call_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    /// Media stream id; empty for Vonage.
    pub stream_id: String,
    /// Call id; empty for Vonage.
    pub call_id: String,
    /// The encoding of the caller's audio.
    pub codec: Codec,
    /// Caller's number, where announced (Twilio: the `from_number` custom parameter).
    pub from: Option<String>,
    /// Dialled number, where announced (Twilio: the `to_number` custom parameter).
    pub to: Option<String>,
    /// Custom parameters (JSON objects come back sorted by name).
    pub custom_parameters: Vec<(String, String)>,
}

/// The provider's side of one call: the messages a provider sends, numbered as it numbers
/// them, and the decoding of what the bot sends back.
#[derive(Debug, Clone)]
pub struct ProviderSession {
    provider: Provider,
    ids: CallIds,
    codec: Codec,
    bot_codec: Codec,
    timestamp_base_ms: u64,
    /// The last sequence number used.
    seq: u64,
    /// Media messages sent.
    chunks: u64,
}

impl ProviderSession {
    /// A call with `ids`, the provider's default codec, media timestamps from 0.
    pub fn new(provider: Provider, ids: CallIds) -> Self {
        ProviderSession {
            provider,
            ids,
            codec: provider.default_codec(),
            bot_codec: provider.default_codec(),
            timestamp_base_ms: 0,
            seq: 0,
            chunks: 0,
        }
    }

    /// Telnyx only: the caller's codec, PCMU or PCMA. The bot's audio is still expected in
    /// PCMU, which pipecat's runner always answers in (see [`Self::with_bot_codec`]).
    pub fn with_codec(mut self, codec: Codec) -> Result<Self, TelephonyError> {
        self.codec = check_codec(self.provider, codec)?;
        Ok(self)
    }

    /// Telnyx only: the codec of the bot's audio (PCMU unless the bot builds its serializer
    /// with another `inbound_encoding`).
    pub fn with_bot_codec(mut self, codec: Codec) -> Result<Self, TelephonyError> {
        self.bot_codec = check_codec(self.provider, codec)?;
        Ok(self)
    }

    /// Media timestamps count from `ms` (Plivo's are Unix milliseconds; the others' count
    /// from the start of the stream, 0).
    pub fn with_timestamp_base_ms(mut self, ms: u64) -> Self {
        self.timestamp_base_ms = ms;
        self
    }

    /// The provider spoken.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The call's ids.
    pub fn ids(&self) -> &CallIds {
        &self.ids
    }

    /// The caller audio's codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The provider's opening messages, in order. pipecat's `parse_telephony_websocket` reads
    /// two text messages before the bot runs: Twilio, Telnyx and Exotel send `connected` then
    /// `start`; Plivo sends only `start`, so its first media message is read (and dropped) by
    /// the parser; Vonage sends `websocket:connected`, which pipecat 1.14 does not detect.
    pub fn opening(&mut self) -> Vec<WsMessage> {
        let seq = self.next_seq();
        let seq_text = seq.to_string();
        let ids = &self.ids;
        let custom = Params(&ids.custom_parameters);
        match self.provider {
            Provider::Twilio => {
                vec![
                    compact(&TwilioConnected {
                        event: "connected",
                        protocol: "Call",
                        version: "1.0.0",
                    }),
                    compact(&TwilioStart {
                        event: "start",
                        sequence_number: &seq_text,
                        start: TwilioStartBody {
                            account_sid: &ids.account_id,
                            stream_sid: &ids.stream_id,
                            call_sid: &ids.call_id,
                            tracks: ["inbound"],
                            media_format: TwilioMediaFormat {
                                encoding: "audio/x-mulaw",
                                sample_rate: 8000,
                                channels: 1,
                            },
                            custom_parameters: custom,
                        },
                        stream_sid: &ids.stream_id,
                    }),
                ]
            }
            Provider::Telnyx => {
                vec![
                    compact(&TelnyxConnected {
                        event: "connected",
                        version: "1.0.0",
                    }),
                    compact(&TelnyxStart {
                        event: "start",
                        sequence_number: &seq_text,
                        start: TelnyxStartBody {
                            user_id: &ids.account_id,
                            call_control_id: &ids.call_id,
                            from: &ids.from,
                            to: &ids.to,
                            media_format: TelnyxMediaFormat {
                                encoding: self.codec.telnyx_name(),
                                sample_rate: 8000,
                                channels: 1,
                            },
                            custom_parameters: custom,
                        },
                        stream_id: &ids.stream_id,
                    }),
                ]
            }
            Provider::Plivo => {
                vec![compact(&PlivoStart {
                    event: "start",
                    sequence_number: seq,
                    start: PlivoStartBody {
                        call_id: &ids.call_id,
                        stream_id: &ids.stream_id,
                        account_id: &ids.account_id,
                        tracks: ["inbound"],
                        media_format: PlivoMediaFormat {
                            encoding: "audio/x-mulaw",
                            sample_rate: 8000,
                        },
                    },
                    extra_headers: &plivo_extra_headers(&ids.custom_parameters),
                })]
            }
            Provider::Exotel => {
                vec![
                    compact(&ExotelConnected { event: "connected" }),
                    compact(&ExotelStart {
                        event: "start",
                        sequence_number: &seq_text,
                        stream_sid: &ids.stream_id,
                        start: ExotelStartBody {
                            stream_sid: &ids.stream_id,
                            call_sid: &ids.call_id,
                            account_sid: &ids.account_id,
                            from: &ids.from,
                            to: &ids.to,
                            custom_parameters: custom,
                            media_format: ExotelMediaFormat {
                                encoding: "base64",
                                sample_rate: "8000",
                                bit_rate: "128kbps",
                            },
                        },
                    }),
                ]
            }
            Provider::Vonage => vec![compact(&VonageConnected {
                content_type: "audio/l16;rate=16000",
                headers: custom,
            })],
        }
    }

    /// One message of caller audio: `samples` at the wire rate (normally
    /// [`Provider::frame_samples`] of them), encoded and framed as the provider sends it.
    pub fn media(&mut self, samples: &[i16]) -> WsMessage {
        let payload = self.codec.encode(samples);
        if self.provider == Provider::Vonage {
            return WsMessage::Binary(payload);
        }
        let payload = BASE64.encode(payload);
        let timestamp = (self.timestamp_base_ms
            + self.chunks * u64::from(self.provider.frame_ms()))
        .to_string();
        self.chunks += 1;
        let chunk = self.chunks.to_string();
        let seq = self.next_seq();
        let seq_text = seq.to_string();
        let stream_id = self.ids.stream_id.as_str();
        match self.provider {
            Provider::Twilio => compact(&TwilioMedia {
                event: "media",
                sequence_number: &seq_text,
                media: TrackMedia {
                    track: "inbound",
                    chunk: &chunk,
                    timestamp: &timestamp,
                    payload: &payload,
                },
                stream_sid: stream_id,
            }),
            Provider::Telnyx => compact(&TelnyxMedia {
                event: "media",
                sequence_number: &seq_text,
                media: TrackMedia {
                    track: "inbound",
                    chunk: &chunk,
                    timestamp: &timestamp,
                    payload: &payload,
                },
                stream_id,
            }),
            Provider::Plivo => compact(&PlivoMedia {
                event: "media",
                sequence_number: seq,
                stream_id,
                media: PlivoMediaBody {
                    track: "inbound",
                    timestamp: &timestamp,
                    chunk: self.chunks,
                    payload: &payload,
                },
                extra_headers: &plivo_extra_headers(&self.ids.custom_parameters),
            }),
            Provider::Exotel => compact(&ExotelMedia {
                event: "media",
                sequence_number: &seq_text,
                stream_sid: stream_id,
                media: ExotelMediaBody {
                    chunk: &chunk,
                    timestamp: &timestamp,
                    payload: &payload,
                },
            }),
            Provider::Vonage => unreachable!("Vonage audio is binary, returned above"),
        }
    }

    /// Twilio's echo of the bot's mark `name`, to send once the audio before the mark has
    /// played; `None` for providers that do not echo marks.
    pub fn mark(&mut self, name: &str) -> Option<WsMessage> {
        if !self.provider.echoes_marks() {
            return None;
        }
        let seq = self.next_seq().to_string();
        Some(compact(&TwilioMark {
            event: "mark",
            sequence_number: &seq,
            stream_sid: &self.ids.stream_id,
            mark: MarkName { name },
        }))
    }

    /// The provider's end-of-stream message (the caller hung up); `None` for Plivo and Vonage,
    /// which just close the WebSocket.
    pub fn stop(&mut self) -> Option<WsMessage> {
        let seq = self.next_seq();
        let seq_text = seq.to_string();
        let ids = &self.ids;
        match self.provider {
            Provider::Twilio => Some(compact(&TwilioStop {
                event: "stop",
                sequence_number: &seq_text,
                stop: TwilioStopBody {
                    account_sid: &ids.account_id,
                    call_sid: &ids.call_id,
                },
                stream_sid: &ids.stream_id,
            })),
            Provider::Telnyx => Some(compact(&TelnyxStop {
                event: "stop",
                sequence_number: &seq_text,
                stop: TelnyxStopBody {
                    user_id: &ids.account_id,
                    call_control_id: &ids.call_id,
                },
                stream_id: &ids.stream_id,
            })),
            Provider::Exotel => Some(compact(&ExotelStop {
                event: "stop",
                sequence_number: &seq_text,
                stream_sid: &ids.stream_id,
                stop: ExotelStopBody {
                    call_sid: &ids.call_id,
                    account_sid: &ids.account_id,
                    reason: "callended",
                },
            })),
            Provider::Plivo | Provider::Vonage => None,
        }
    }

    /// What the bot's message means: audio (at the wire rate; Plivo's says its own), clear,
    /// a mark, or nothing this side acts on.
    pub fn decode_bot(&self, message: WsRef<'_>) -> Result<BotEvent, TelephonyError> {
        let p = self.provider;
        let json = match framed(p, message)? {
            Framed::Audio(audio) => return Ok(BotEvent::Audio(audio)),
            Framed::Json(json) => json,
        };
        if p == Provider::Vonage {
            let clear = json.get("action").and_then(Value::as_str) == Some("clear");
            return Ok(if clear {
                BotEvent::Clear
            } else {
                BotEvent::Ignored
            });
        }
        let event = event_of(&json);
        Ok(match (p, event) {
            (Provider::Plivo, "playAudio") => {
                let media = json.get("media");
                let content_type = media
                    .and_then(|m| m.get("contentType"))
                    .and_then(Value::as_str)
                    .unwrap_or("audio/x-mulaw");
                let codec = match content_type {
                    "audio/x-mulaw" => Codec::Pcmu,
                    "audio/x-l16" => Codec::L16,
                    other => {
                        return Err(TelephonyError::UnsupportedFormat {
                            provider: p,
                            format: other.to_string(),
                        });
                    }
                };
                let rate = media
                    .and_then(|m| m.get("sampleRate"))
                    .and_then(Value::as_u64)
                    .unwrap_or(8000);
                let sample_rate = match rate {
                    8000 | 16000 => rate as u32,
                    other => {
                        return Err(TelephonyError::UnsupportedFormat {
                            provider: p,
                            format: format!("{content_type} at {other} Hz"),
                        });
                    }
                };
                BotEvent::Audio(Audio {
                    samples: codec.decode(&payload(p, &json, event)?)?,
                    sample_rate,
                })
            }
            (Provider::Plivo, "clearAudio") => BotEvent::Clear,
            (Provider::Plivo, "checkpoint") => BotEvent::Mark(
                json.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            (Provider::Plivo, _) => BotEvent::Ignored,
            (_, "media") => BotEvent::Audio(Audio {
                samples: self.bot_codec.decode(&payload(p, &json, event)?)?,
                sample_rate: p.wire_rate(),
            }),
            (_, "clear") => BotEvent::Clear,
            (_, "mark") => BotEvent::Mark(mark_name(&json)),
            _ => BotEvent::Ignored,
        })
    }
}

/// The bot's side of one call: messages byte-identical to pipecat's serializers', and the
/// decoding of the provider's.
#[derive(Debug, Clone)]
pub struct BotSession {
    provider: Provider,
    stream_id: String,
    caller_codec: Codec,
    bot_codec: Codec,
    started: bool,
}

impl BotSession {
    /// A session before the provider's start message; the bot answers Telnyx in PCMU, as
    /// pipecat's runner does (`inbound_encoding="PCMU"`) whatever the caller's codec.
    pub fn new(provider: Provider) -> Self {
        BotSession {
            provider,
            stream_id: String::new(),
            caller_codec: provider.default_codec(),
            bot_codec: provider.default_codec(),
            started: false,
        }
    }

    /// Telnyx only: the codec of the bot's audio.
    pub fn with_bot_codec(mut self, codec: Codec) -> Result<Self, TelephonyError> {
        self.bot_codec = check_codec(self.provider, codec)?;
        Ok(self)
    }

    /// Whether the provider's start message has arrived.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The stream id the bot's messages carry (from the start message).
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// What the provider's message means; a start message sets the stream id and the
    /// caller's codec for what follows.
    pub fn decode_caller(&mut self, message: WsRef<'_>) -> Result<CallerEvent, TelephonyError> {
        let event = decode_caller(self.provider, self.caller_codec, message)?;
        if let CallerEvent::Start(start) = &event {
            self.stream_id = start.stream_id.clone();
            self.caller_codec = start.codec;
            self.started = true;
        }
        Ok(event)
    }

    /// One message of bot audio, `samples` at the wire rate, exactly as pipecat's serializer
    /// sends it (Vonage: raw binary PCM).
    pub fn media(&self, samples: &[i16]) -> WsMessage {
        let payload = self.bot_codec.encode(samples);
        if self.provider == Provider::Vonage {
            return WsMessage::Binary(payload);
        }
        let payload = BASE64.encode(payload);
        let media = Payload { payload: &payload };
        let id = self.stream_id.as_str();
        match self.provider {
            Provider::Twilio => python(&TwilioBotMedia {
                event: "media",
                stream_sid: id,
                media,
            }),
            Provider::Telnyx => python(&TelnyxBotMedia {
                event: "media",
                media,
            }),
            Provider::Plivo => python(&PlivoPlayAudio {
                event: "playAudio",
                media: PlivoPlayMedia {
                    content_type: "audio/x-mulaw",
                    sample_rate: 8000,
                    payload: &payload,
                },
                stream_id: id,
            }),
            Provider::Exotel => python(&ExotelBotMedia {
                event: "media",
                stream_sid: id,
                media,
            }),
            Provider::Vonage => unreachable!("Vonage audio is binary, returned above"),
        }
    }

    /// The interruption message: drop the audio queued for the caller.
    pub fn clear(&self) -> WsMessage {
        let id = self.stream_id.as_str();
        match self.provider {
            Provider::Twilio => python(&TwilioClear {
                event: "clear",
                stream_sid: id,
            }),
            Provider::Telnyx => python(&EventOnly { event: "clear" }),
            Provider::Plivo => python(&PlivoClear {
                event: "clearAudio",
                stream_id: id,
            }),
            Provider::Exotel => python(&ExotelClear {
                event: "clear",
                stream_sid: id,
            }),
            Provider::Vonage => python(&VonageAction { action: "clear" }),
        }
    }

    /// A Twilio mark after the audio sent so far (Twilio echoes it when that audio has
    /// played); `None` for providers that do not echo marks.
    pub fn mark(&self, name: &str) -> Option<WsMessage> {
        self.provider.echoes_marks().then(|| {
            python(&TwilioBotMark {
                event: "mark",
                stream_sid: &self.stream_id,
                mark: MarkName { name },
            })
        })
    }
}

/// What a provider's message means, with `codec` the caller audio's encoding so far (a start
/// message announces it; see [`BotSession::decode_caller`] for the stateful version).
pub fn decode_caller(
    provider: Provider,
    codec: Codec,
    message: WsRef<'_>,
) -> Result<CallerEvent, TelephonyError> {
    let p = provider;
    let json = match framed(p, message)? {
        Framed::Audio(audio) => return Ok(CallerEvent::Audio(audio)),
        Framed::Json(json) => json,
    };
    let event = event_of(&json);
    if p == Provider::Vonage {
        return match event {
            "websocket:connected" => vonage_start(&json).map(CallerEvent::Start),
            _ => Ok(CallerEvent::Ignored),
        };
    }
    Ok(match event {
        "connected" => CallerEvent::Connected,
        "start" => CallerEvent::Start(start_info(p, &json)?),
        "media" => CallerEvent::Audio(Audio {
            samples: codec.decode(&payload(p, &json, event)?)?,
            sample_rate: p.wire_rate(),
        }),
        "mark" if p != Provider::Plivo => CallerEvent::Mark(mark_name(&json)),
        "playedStream" if p == Provider::Plivo => CallerEvent::Mark(
            json.get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        "stop" => CallerEvent::Stop,
        _ => CallerEvent::Ignored,
    })
}

/// The provider pipecat's runner detects from one opening message, with the rules and in the
/// order of `_detect_transport_type_from_message` (pipecat 1.14): `None` where pipecat says
/// "unknown" — for every message of Vonage's, and for anything that is not a JSON object.
pub fn detect_provider(text: &str) -> Option<Provider> {
    let json: Value = serde_json::from_str(text).ok()?;
    let start = json.get("start");
    let start_has = |key: &str| start.and_then(|s| s.get(key)).is_some();
    let is_start = json.get("event").and_then(Value::as_str) == Some("start");
    if is_start && start_has("streamSid") && start_has("callSid") {
        Some(Provider::Twilio)
    } else if json.get("stream_id").is_some() && start_has("call_control_id") {
        Some(Provider::Telnyx)
    } else if start_has("streamId") && start_has("callId") {
        Some(Provider::Plivo)
    } else if is_start
        && start_has("stream_sid")
        && start_has("call_sid")
        && start_has("account_sid")
    {
        Some(Provider::Exotel)
    } else {
        None
    }
}

/// Audio for the wire: `samples` (full scale ±1.0 at `rate` Hz) resampled to the provider's
/// wire rate with the resampler `prep` uses, as 16-bit samples.
pub fn to_wire_rate(
    samples: &[f32],
    rate: u32,
    provider: Provider,
) -> Result<Vec<i16>, TelephonyError> {
    let resampled = resample::resample(samples, rate, provider.wire_rate())?;
    Ok(pcm::to_pcm16(&resampled).samples)
}

/// `samples` cut into media messages' worth ([`Provider::frame_samples`]), the last one
/// padded with silence: providers send whole frames.
pub fn frames(samples: &[i16], provider: Provider) -> impl Iterator<Item = Vec<i16>> + '_ {
    let n = provider.frame_samples();
    samples.chunks(n).map(move |chunk| {
        let mut frame = chunk.to_vec();
        frame.resize(n, 0);
        frame
    })
}

fn check_codec(provider: Provider, codec: Codec) -> Result<Codec, TelephonyError> {
    let ok = match provider {
        Provider::Telnyx => matches!(codec, Codec::Pcmu | Codec::Pcma),
        _ => codec == provider.default_codec(),
    };
    if ok {
        Ok(codec)
    } else {
        Err(TelephonyError::CodecNotSupported { provider, codec })
    }
}

/// A message's framing, the same both ways: Vonage's binary messages are raw L16 audio, every
/// other message is JSON text.
enum Framed {
    Audio(Audio),
    Json(Value),
}

fn framed(p: Provider, message: WsRef<'_>) -> Result<Framed, TelephonyError> {
    match message {
        WsRef::Binary(bytes) if p == Provider::Vonage => Ok(Framed::Audio(Audio {
            samples: Codec::L16.decode(bytes)?,
            sample_rate: p.wire_rate(),
        })),
        WsRef::Binary(bytes) => Err(TelephonyError::UnexpectedBinary(p, bytes.len())),
        WsRef::Text(text) => parse_json(p, text).map(Framed::Json),
    }
}

fn parse_json(provider: Provider, text: &str) -> Result<Value, TelephonyError> {
    serde_json::from_str(text).map_err(|e| TelephonyError::NotJson {
        provider,
        reason: e.to_string(),
    })
}

fn event_of(json: &Value) -> &str {
    json.get("event")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn str_at<'v>(json: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(json, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// `media.payload`, base64-decoded.
fn payload(provider: Provider, json: &Value, event: &str) -> Result<Vec<u8>, TelephonyError> {
    let text = str_at(json, &["media", "payload"]).ok_or_else(|| TelephonyError::Missing {
        provider,
        event: event.to_string(),
        field: "media.payload",
    })?;
    BASE64.decode(text).map_err(|e| TelephonyError::Base64 {
        provider,
        event: event.to_string(),
        reason: e.to_string(),
    })
}

fn mark_name(json: &Value) -> String {
    str_at(json, &["mark", "name"])
        .unwrap_or_default()
        .to_string()
}

/// A JSON object's string (or other scalar) values, in the object's (sorted) order.
fn object_params(value: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Object(map)) = value else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), v)
        })
        .collect()
}

fn start_info(provider: Provider, json: &Value) -> Result<StartInfo, TelephonyError> {
    let start = json.get("start");
    let required = |value: Option<&str>, field: &'static str| {
        value.map(str::to_string).ok_or(TelephonyError::Missing {
            provider,
            event: "start".to_string(),
            field,
        })
    };
    let field = |key: &str| start.and_then(|s| s.get(key)).and_then(Value::as_str);
    let text = |key: &str| field(key).map(str::to_string);
    Ok(match provider {
        Provider::Twilio => {
            let custom = object_params(start.and_then(|s| s.get("customParameters")));
            let find = |name: &str| {
                custom
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            StartInfo {
                stream_id: required(field("streamSid"), "start.streamSid")?,
                call_id: required(field("callSid"), "start.callSid")?,
                codec: Codec::Pcmu,
                from: find("from_number"),
                to: find("to_number"),
                custom_parameters: custom,
            }
        }
        Provider::Telnyx => {
            let encoding = str_at(json, &["start", "media_format", "encoding"]).unwrap_or("PCMU");
            let codec = match encoding {
                "PCMU" => Codec::Pcmu,
                "PCMA" => Codec::Pcma,
                other => {
                    return Err(TelephonyError::UnsupportedFormat {
                        provider,
                        format: other.to_string(),
                    });
                }
            };
            StartInfo {
                stream_id: required(json.get("stream_id").and_then(Value::as_str), "stream_id")?,
                call_id: required(field("call_control_id"), "start.call_control_id")?,
                codec,
                from: text("from"),
                to: text("to"),
                custom_parameters: object_params(start.and_then(|s| s.get("custom_parameters"))),
            }
        }
        Provider::Plivo => {
            let headers = json
                .get("extra_headers")
                .and_then(Value::as_str)
                .unwrap_or_default();
            StartInfo {
                stream_id: required(field("streamId"), "start.streamId")?,
                call_id: required(field("callId"), "start.callId")?,
                codec: Codec::Pcmu,
                from: None,
                to: None,
                custom_parameters: headers
                    .split(';')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (kv.to_string(), String::new()),
                    })
                    .collect(),
            }
        }
        Provider::Exotel => StartInfo {
            stream_id: required(field("stream_sid"), "start.stream_sid")?,
            call_id: required(field("call_sid"), "start.call_sid")?,
            codec: Codec::L16,
            from: text("from"),
            to: text("to"),
            custom_parameters: object_params(start.and_then(|s| s.get("custom_parameters"))),
        },
        Provider::Vonage => vonage_start(json)?,
    })
}

/// Vonage's `websocket:connected`: its content type must be L16 at 16 kHz (what pipecat's
/// Vonage serializer expects by default); the other keys are the connection's headers.
fn vonage_start(json: &Value) -> Result<StartInfo, TelephonyError> {
    let content_type = json
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("audio/l16;rate=16000");
    if !content_type
        .replace(' ', "")
        .eq_ignore_ascii_case("audio/l16;rate=16000")
    {
        return Err(TelephonyError::UnsupportedFormat {
            provider: Provider::Vonage,
            format: content_type.to_string(),
        });
    }
    let mut headers = object_params(Some(json));
    headers.retain(|(k, _)| k != "event" && k != "content-type");
    Ok(StartInfo {
        stream_id: String::new(),
        call_id: String::new(),
        codec: Codec::L16,
        from: None,
        to: None,
        custom_parameters: headers,
    })
}

fn plivo_extra_headers(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Compact JSON, as providers send it (and serde_json writes it).
fn compact<T: Serialize>(value: &T) -> WsMessage {
    WsMessage::Text(serde_json::to_string(value).expect("telephony messages serialize"))
}

/// JSON as Python's `json.dumps` writes it with its defaults, as pipecat's serializers send
/// it.
fn python<T: Serialize>(value: &T) -> WsMessage {
    WsMessage::Text(pyjson::to_json(value))
}

/// Custom parameters as a JSON object in their given order.
#[derive(Clone, Copy)]
struct Params<'a>(&'a [(String, String)]);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

// The messages, field by field in the order the providers (and pipecat) write them.

#[derive(Serialize)]
struct TwilioConnected<'a> {
    event: &'a str,
    protocol: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioStart<'a> {
    event: &'a str,
    sequence_number: &'a str,
    start: TwilioStartBody<'a>,
    stream_sid: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioStartBody<'a> {
    account_sid: &'a str,
    stream_sid: &'a str,
    call_sid: &'a str,
    tracks: [&'a str; 1],
    media_format: TwilioMediaFormat<'a>,
    custom_parameters: Params<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioMediaFormat<'a> {
    encoding: &'a str,
    sample_rate: u32,
    channels: u32,
}

#[derive(Serialize)]
struct TrackMedia<'a> {
    track: &'a str,
    chunk: &'a str,
    timestamp: &'a str,
    payload: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioMedia<'a> {
    event: &'a str,
    sequence_number: &'a str,
    media: TrackMedia<'a>,
    stream_sid: &'a str,
}

#[derive(Serialize)]
struct MarkName<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioMark<'a> {
    event: &'a str,
    sequence_number: &'a str,
    stream_sid: &'a str,
    mark: MarkName<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioStop<'a> {
    event: &'a str,
    sequence_number: &'a str,
    stop: TwilioStopBody<'a>,
    stream_sid: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioStopBody<'a> {
    account_sid: &'a str,
    call_sid: &'a str,
}

#[derive(Serialize)]
struct TelnyxConnected<'a> {
    event: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct TelnyxStart<'a> {
    event: &'a str,
    sequence_number: &'a str,
    start: TelnyxStartBody<'a>,
    stream_id: &'a str,
}

#[derive(Serialize)]
struct TelnyxStartBody<'a> {
    user_id: &'a str,
    call_control_id: &'a str,
    from: &'a str,
    to: &'a str,
    media_format: TelnyxMediaFormat<'a>,
    custom_parameters: Params<'a>,
}

#[derive(Serialize)]
struct TelnyxMediaFormat<'a> {
    encoding: &'a str,
    sample_rate: u32,
    channels: u32,
}

#[derive(Serialize)]
struct TelnyxMedia<'a> {
    event: &'a str,
    sequence_number: &'a str,
    media: TrackMedia<'a>,
    stream_id: &'a str,
}

#[derive(Serialize)]
struct TelnyxStop<'a> {
    event: &'a str,
    sequence_number: &'a str,
    stop: TelnyxStopBody<'a>,
    stream_id: &'a str,
}

#[derive(Serialize)]
struct TelnyxStopBody<'a> {
    user_id: &'a str,
    call_control_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoStart<'a> {
    event: &'a str,
    sequence_number: u64,
    start: PlivoStartBody<'a>,
    #[serde(rename = "extra_headers")]
    extra_headers: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoStartBody<'a> {
    call_id: &'a str,
    stream_id: &'a str,
    account_id: &'a str,
    tracks: [&'a str; 1],
    media_format: PlivoMediaFormat<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoMediaFormat<'a> {
    encoding: &'a str,
    sample_rate: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoMedia<'a> {
    event: &'a str,
    sequence_number: u64,
    stream_id: &'a str,
    media: PlivoMediaBody<'a>,
    #[serde(rename = "extra_headers")]
    extra_headers: &'a str,
}

#[derive(Serialize)]
struct PlivoMediaBody<'a> {
    track: &'a str,
    timestamp: &'a str,
    chunk: u64,
    payload: &'a str,
}

#[derive(Serialize)]
struct ExotelConnected<'a> {
    event: &'a str,
}

#[derive(Serialize)]
struct ExotelStart<'a> {
    event: &'a str,
    sequence_number: &'a str,
    stream_sid: &'a str,
    start: ExotelStartBody<'a>,
}

#[derive(Serialize)]
struct ExotelStartBody<'a> {
    stream_sid: &'a str,
    call_sid: &'a str,
    account_sid: &'a str,
    from: &'a str,
    to: &'a str,
    custom_parameters: Params<'a>,
    media_format: ExotelMediaFormat<'a>,
}

#[derive(Serialize)]
struct ExotelMediaFormat<'a> {
    encoding: &'a str,
    sample_rate: &'a str,
    bit_rate: &'a str,
}

#[derive(Serialize)]
struct ExotelMedia<'a> {
    event: &'a str,
    sequence_number: &'a str,
    stream_sid: &'a str,
    media: ExotelMediaBody<'a>,
}

#[derive(Serialize)]
struct ExotelMediaBody<'a> {
    chunk: &'a str,
    timestamp: &'a str,
    payload: &'a str,
}

#[derive(Serialize)]
struct ExotelStop<'a> {
    event: &'a str,
    sequence_number: &'a str,
    stream_sid: &'a str,
    stop: ExotelStopBody<'a>,
}

#[derive(Serialize)]
struct ExotelStopBody<'a> {
    call_sid: &'a str,
    account_sid: &'a str,
    reason: &'a str,
}

/// Vonage's `websocket:connected`: the event, the content type, then the headers the
/// connection was set up with, all at the top level.
struct VonageConnected<'a> {
    content_type: &'a str,
    headers: Params<'a>,
}

impl Serialize for VonageConnected<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2 + self.headers.0.len()))?;
        map.serialize_entry("event", "websocket:connected")?;
        map.serialize_entry("content-type", self.content_type)?;
        for (k, v) in self.headers.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

// The bot's messages, as pipecat's serializers build their dicts.

#[derive(Serialize, Clone, Copy)]
struct Payload<'a> {
    payload: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioBotMedia<'a> {
    event: &'a str,
    stream_sid: &'a str,
    media: Payload<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioClear<'a> {
    event: &'a str,
    stream_sid: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TwilioBotMark<'a> {
    event: &'a str,
    stream_sid: &'a str,
    mark: MarkName<'a>,
}

#[derive(Serialize)]
struct TelnyxBotMedia<'a> {
    event: &'a str,
    media: Payload<'a>,
}

#[derive(Serialize)]
struct EventOnly<'a> {
    event: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoPlayAudio<'a> {
    event: &'a str,
    media: PlivoPlayMedia<'a>,
    stream_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoPlayMedia<'a> {
    content_type: &'a str,
    sample_rate: u32,
    payload: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlivoClear<'a> {
    event: &'a str,
    stream_id: &'a str,
}

#[derive(Serialize)]
struct ExotelBotMedia<'a> {
    event: &'a str,
    stream_sid: &'a str,
    media: Payload<'a>,
}

#[derive(Serialize)]
struct ExotelClear<'a> {
    event: &'a str,
    stream_sid: &'a str,
}

#[derive(Serialize)]
struct VonageAction<'a> {
    action: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip_and_unknown_ones_are_refused() {
        for p in Provider::ALL {
            assert_eq!(p.to_string().parse::<Provider>().unwrap(), p);
        }
        assert_eq!(" Twilio ".parse::<Provider>().unwrap(), Provider::Twilio);
        let err = "pipecat".parse::<Provider>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown telephony provider \"pipecat\" (expected twilio, telnyx, plivo, exotel or vonage)"
        );
        assert_eq!(Provider::Twilio.frame_samples(), 160);
        assert_eq!(Provider::Exotel.frame_samples(), 800);
        assert_eq!(Provider::Vonage.frame_samples(), 320);
    }

    #[test]
    fn python_formatting_escapes_beyond_printable_ascii() {
        let WsMessage::Text(text) = python(&MarkName {
            name: "é \u{7f} \u{1F600} \"q\" \n",
        }) else {
            panic!()
        };
        assert_eq!(text, r#"{"name": "\u00e9 \u007f \ud83d\ude00 \"q\" \n"}"#);
        let WsMessage::Text(text) = python(&TwilioStartBody {
            account_sid: "a",
            stream_sid: "s",
            call_sid: "c",
            tracks: ["inbound"],
            media_format: TwilioMediaFormat {
                encoding: "e",
                sample_rate: 8000,
                channels: 1,
            },
            custom_parameters: Params(&[("k".into(), "v".into()), ("a".into(), "b".into())]),
        }) else {
            panic!()
        };
        assert_eq!(
            text,
            r#"{"accountSid": "a", "streamSid": "s", "callSid": "c", "tracks": ["inbound"], "mediaFormat": {"encoding": "e", "sampleRate": 8000, "channels": 1}, "customParameters": {"k": "v", "a": "b"}}"#
        );
    }

    #[test]
    fn codecs_are_checked_per_provider() {
        let ids = CallIds::numbered(3, Vec::new());
        assert_eq!(ids.stream_id, "MZ00000000000000000000000000000003");
        assert_eq!(ids.from, "+15550000003");
        assert!(
            ProviderSession::new(Provider::Telnyx, ids.clone())
                .with_codec(Codec::Pcma)
                .is_ok()
        );
        let err = ProviderSession::new(Provider::Twilio, ids)
            .with_codec(Codec::Pcma)
            .unwrap_err();
        assert_eq!(err.to_string(), "twilio cannot carry Pcma audio");
        assert!(
            BotSession::new(Provider::Vonage)
                .with_bot_codec(Codec::Pcmu)
                .is_err()
        );
    }

    #[test]
    fn bad_messages_are_one_clear_error() {
        let session = ProviderSession::new(Provider::Twilio, CallIds::numbered(1, Vec::new()));
        let err = |m: WsRef<'_>| session.decode_bot(m).unwrap_err().to_string();
        assert_eq!(
            err(WsRef::Text("{\"event\": \"media\"}")),
            "twilio \"media\" message has no media.payload"
        );
        assert!(
            err(WsRef::Text(
                "{\"event\": \"media\", \"media\": {\"payload\": \"@@\"}}"
            ))
            .starts_with("twilio \"media\" payload is not base64")
        );
        assert!(err(WsRef::Text("not json")).starts_with("twilio message is not JSON"));
        assert_eq!(
            err(WsRef::Binary(&[1, 2, 3])),
            "twilio sent a binary message (3 bytes); its protocol is JSON text"
        );
        let vonage = ProviderSession::new(Provider::Vonage, CallIds::default());
        assert_eq!(
            vonage
                .decode_bot(WsRef::Binary(&[1, 2, 3]))
                .unwrap_err()
                .to_string(),
            "16-bit PCM audio of 3 bytes (an odd number)"
        );
        assert_eq!(
            decode_caller(
                Provider::Telnyx,
                Codec::Pcmu,
                WsRef::Text(r#"{"event":"start","stream_id":"s","start":{"call_control_id":"c","media_format":{"encoding":"G722"}}}"#)
            )
            .unwrap_err()
            .to_string(),
            "telnyx audio format \"G722\" is not supported"
        );
        assert_eq!(
            decode_caller(
                Provider::Twilio,
                Codec::Pcmu,
                WsRef::Text(r#"{"event":"start","start":{}}"#)
            )
            .unwrap_err()
            .to_string(),
            "twilio \"start\" message has no start.streamSid"
        );
    }

    #[test]
    fn frames_are_whole_and_wire_audio_is_resampled() {
        let samples: Vec<i16> = (0..350).collect();
        let frames: Vec<Vec<i16>> = frames(&samples, Provider::Twilio).collect();
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|f| f.len() == 160));
        assert_eq!(frames[2][29], 349);
        assert_eq!(frames[2][30..], [0; 130]);
        let second: Vec<f32> = (0..16_000)
            .map(|i| {
                (0.25 * (2.0 * std::f64::consts::PI * 300.0 * f64::from(i) / 16_000.0).sin()) as f32
            })
            .collect();
        let wire = to_wire_rate(&second, 16_000, Provider::Twilio).unwrap();
        assert_eq!(wire.len(), 8000);
        assert_eq!(
            to_wire_rate(&second, 16_000, Provider::Vonage)
                .unwrap()
                .len(),
            16_000
        );
        let peak = wire[1000..7000]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!((8150..=8230).contains(&peak), "{peak}");
    }
}
