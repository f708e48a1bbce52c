//! The seam between what a simulated user does and how it is encoded: the messages a
//! connection opens and closes with, how a chunk of the user's microphone goes on the wire,
//! and what a message from the agent means (bot audio, an interruption signal, a mark to
//! echo, anything else). The user's conversation (`turn.rs`) and the connection loop
//! (`client.rs`) know nothing of the encoding.
//!
//! [`Wire`] is the run's choice of protocol; [`WireConnection`] is one connection's encoder
//! and decoder (telephony messages carry per-call ids and sequence numbers).
//!
//! - pipecat's protobuf protocol: every message is one binary `pipecat.Frame`; the microphone
//!   sends `AudioRawFrame`s of 16 kHz mono int16 numbered 1, 2, 3… (the chunk id). With RTVI
//!   on, the connection opens with `client-ready` (some servers wait for it); RTVI messages
//!   from the agent are parsed here, once, and handed to the conversation whole.
//! - a telephony provider's media stream (`protocol::telephony`): bench plays the provider —
//!   its opening messages with the call's ids and custom parameters, caller audio at the
//!   wire rate (8 kHz; Vonage 16 kHz) in the provider's encoding, one media message per chunk
//!   (the provider's `chunk` counter equals the chunk id), Twilio's mark echoes, and its stop
//!   message at the end; the bot's media, `clear` and marks are decoded.

use tokio_tungstenite::tungstenite::Message;

use crate::audio::{TARGET_RATE, riff};
use crate::protocol::rtvi::{self, About};
use crate::protocol::telephony::{
    BotEvent, CallIds, Codec, Provider, ProviderSession, WsMessage, WsRef,
};
use crate::protocol::{self, FrameKind, Protocol};
use crate::runfolder::results::{AudioFormat, ErrorKind, ReceivedKind};

/// Longest JSON kept from a message frame.
const MAX_TEXT_CHARS: usize = 500;

/// The `id` of the `client-ready` bench sends (echoed in the agent's `bot-ready`).
pub const CLIENT_READY_ID: &str = "voiceperf-client-ready";

/// What one message from the agent means.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Bot audio: interleaved little-endian int16 samples and their format.
    Audio {
        /// The samples.
        pcm: Vec<u8>,
        /// Their format.
        format: AudioFormat,
    },
    /// Any other message, kept for the turn's record.
    Other {
        /// What kind of message.
        kind: ReceivedKind,
        /// Its text, JSON or name, cut to a few hundred characters.
        text: String,
        /// RTVI message type, for RTVI messages.
        rtvi_type: Option<String>,
        /// The RTVI message, parsed, when it is one.
        rtvi: Option<Box<rtvi::Message>>,
    },
    /// Telephony `clear` / `clearAudio`: drop the audio queued for playback (the bot was
    /// interrupted).
    Clear,
    /// A telephony mark: echo it (Twilio) once the audio received before it has played.
    Mark(String),
    /// A message that cannot be used.
    Bad {
        /// Why.
        kind: ErrorKind,
        /// In one line.
        message: String,
    },
    /// Nothing the user acts on (ping, pong, raw frame).
    Nothing,
}

/// The run's wire protocol, and what every connection speaking it shares.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    /// pipecat's protobuf frames.
    Pipecat {
        /// Speak the RTVI client handshake (`client-ready`) when the connection opens.
        rtvi: bool,
    },
    /// A telephony provider's media stream.
    Telephony(TelephonyWire),
}

/// What every call of a telephony run shares.
#[derive(Debug, Clone, PartialEq)]
pub struct TelephonyWire {
    /// The provider bench plays.
    pub provider: Provider,
    /// The caller audio's codec (Telnyx: PCMU or PCMA; the others their only one).
    pub codec: Codec,
    /// Custom parameters of every call, in order; `{stream_id}` in a value becomes the
    /// connection's stream id.
    pub custom_parameters: Vec<(String, String)>,
}

impl TelephonyWire {
    /// A provider's calls with its default codec and no custom parameters.
    pub fn new(provider: Provider) -> Self {
        TelephonyWire {
            provider,
            codec: provider.default_codec(),
            custom_parameters: Vec::new(),
        }
    }
}

impl Default for Wire {
    fn default() -> Self {
        Wire::Pipecat { rtvi: false }
    }
}

impl Wire {
    /// The wire for `protocol` with the given custom parameters (telephony only).
    pub fn for_protocol(protocol: Protocol, custom_parameters: Vec<(String, String)>) -> Self {
        match protocol {
            Protocol::Pipecat => Wire::Pipecat { rtvi: false },
            Protocol::Telephony(provider) => Wire::Telephony(TelephonyWire {
                custom_parameters,
                ..TelephonyWire::new(provider)
            }),
        }
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> Protocol {
        match self {
            Wire::Pipecat { .. } => Protocol::Pipecat,
            Wire::Telephony(t) => Protocol::Telephony(t.provider),
        }
    }

    /// Sample rate of the microphone audio this wire carries; the dataset is spoken at it.
    pub fn input_rate(&self) -> u32 {
        match self {
            Wire::Pipecat { .. } => TARGET_RATE,
            Wire::Telephony(t) => t.provider.wire_rate(),
        }
    }

    /// The chunk length the wire imposes (a provider's media frame), if any: 20 ms, Exotel
    /// 100 ms. pipecat takes any `--chunk-ms`.
    pub fn fixed_chunk_ms(&self) -> Option<u32> {
        match self {
            Wire::Pipecat { .. } => None,
            Wire::Telephony(t) => Some(t.provider.frame_ms()),
        }
    }

    /// One connection's encoder and decoder. `stream_id` names the connection (telephony: the
    /// call's stream id); `unix_ms` is when it opened (Plivo stamps media with Unix time).
    pub fn connection(&self, stream_id: &str, unix_ms: u64) -> WireConnection {
        match self {
            Wire::Pipecat { rtvi } => WireConnection::Pipecat { rtvi: *rtvi },
            Wire::Telephony(t) => {
                let n = fnv1a(stream_id.as_bytes());
                let custom = t
                    .custom_parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{stream_id}", stream_id)))
                    .collect();
                let ids = CallIds {
                    stream_id: stream_id.to_string(),
                    call_id: format!("CA{n:032x}"),
                    ..CallIds::numbered(n % 10_000_000, custom)
                };
                let mut session = ProviderSession::new(t.provider, ids);
                if t.codec != t.provider.default_codec()
                    && let Ok(with) = session.clone().with_codec(t.codec)
                {
                    session = with;
                }
                if t.provider == Provider::Plivo {
                    session = session.with_timestamp_base_ms(unix_ms);
                }
                WireConnection::Telephony(Box::new(session))
            }
        }
    }
}

/// One connection's encoder and decoder.
#[derive(Debug, Clone)]
pub enum WireConnection {
    /// pipecat's protobuf frames (stateless).
    Pipecat {
        /// Open with RTVI's `client-ready`.
        rtvi: bool,
    },
    /// The provider's side of one call.
    Telephony(Box<ProviderSession>),
}

impl WireConnection {
    /// Messages sent right after the WebSocket handshake, before any audio.
    pub fn opening(&mut self) -> Vec<Message> {
        match self {
            WireConnection::Pipecat { rtvi: false } => Vec::new(),
            WireConnection::Pipecat { rtvi: true } => vec![client_ready()],
            WireConnection::Telephony(call) => call.opening().into_iter().map(to_ws).collect(),
        }
    }

    /// Chunk `id` (1, 2, 3…) of the microphone: `pcm` is little-endian int16 at the wire's
    /// input rate.
    pub fn audio(&mut self, id: u64, pcm: &[u8]) -> Message {
        match self {
            WireConnection::Pipecat { .. } => {
                let frame = protocol::audio_frame(id, String::new(), pcm.to_vec(), TARGET_RATE, 1);
                Message::Binary(protocol::encode(&frame).into())
            }
            WireConnection::Telephony(call) => to_ws(call.media(&riff::pcm16_from_bytes(pcm))),
        }
    }

    /// The echo of the bot's mark `name` (Twilio), to send once the audio before it has
    /// played; `None` where the provider echoes nothing.
    pub fn mark_echo(&mut self, name: &str) -> Option<Message> {
        match self {
            WireConnection::Pipecat { .. } => None,
            WireConnection::Telephony(call) => call.mark(name).map(to_ws),
        }
    }

    /// Messages sent at the end of a conversation, before the WebSocket close (telephony: the
    /// provider's stop — the caller hung up; Plivo and Vonage just close).
    pub fn closing(&mut self) -> Vec<Message> {
        match self {
            WireConnection::Pipecat { .. } => Vec::new(),
            WireConnection::Telephony(call) => call.stop().into_iter().map(to_ws).collect(),
        }
    }

    /// What a data message from the agent means (close, ping and pong are the connection's
    /// business, not the wire's).
    pub fn decode(&self, message: Message) -> Decoded {
        match self {
            WireConnection::Pipecat { .. } => match message {
                Message::Binary(bytes) => decode_frame(&bytes),
                Message::Text(text) => Decoded::Bad {
                    kind: ErrorKind::Undecodable,
                    message: format!(
                        "text WebSocket message ({} bytes); pipecat frames are binary",
                        text.len()
                    ),
                },
                _ => Decoded::Nothing,
            },
            WireConnection::Telephony(call) => {
                let event = match &message {
                    Message::Text(text) => call.decode_bot(WsRef::Text(text.as_str())),
                    Message::Binary(bytes) => call.decode_bot(WsRef::Binary(bytes)),
                    _ => return Decoded::Nothing,
                };
                match event {
                    Ok(BotEvent::Audio(audio)) => Decoded::Audio {
                        pcm: riff::pcm16_to_bytes(&audio.samples),
                        format: AudioFormat {
                            sample_rate: audio.sample_rate,
                            channels: 1,
                            wav_wrapped: false,
                        },
                    },
                    Ok(BotEvent::Clear) => Decoded::Clear,
                    Ok(BotEvent::Mark(name)) => Decoded::Mark(name),
                    Ok(BotEvent::Ignored) => Decoded::Other {
                        kind: ReceivedKind::Message,
                        text: match &message {
                            Message::Text(text) => truncate_chars(text, MAX_TEXT_CHARS),
                            _ => String::new(),
                        },
                        rtvi_type: None,
                        rtvi: None,
                    },
                    Err(e) => Decoded::Bad {
                        kind: ErrorKind::Undecodable,
                        message: e.to_string(),
                    },
                }
            }
        }
    }
}

/// RTVI's `client-ready`, as a pipecat frame.
fn client_ready() -> Message {
    let about = About {
        library: "voiceperf".into(),
        library_version: Some(crate::VERSION.into()),
        platform: None,
        platform_version: None,
    };
    let frame = rtvi::client_ready(CLIENT_READY_ID, about);
    Message::Binary(protocol::encode(&frame).into())
}

fn to_ws(message: WsMessage) -> Message {
    match message {
        WsMessage::Text(text) => Message::text(text),
        WsMessage::Binary(bytes) => Message::binary(bytes),
    }
}

/// FNV-1a of the stream id: a stable per-connection number for the call's ids.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reply audio sample rates bench accepts (Hz): anything else is a `bad_audio` error.
pub(crate) const SANE_SAMPLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=192_000;

fn decode_frame(bytes: &[u8]) -> Decoded {
    let frame = match protocol::decode(bytes) {
        Ok(frame) => frame,
        Err(e) => {
            return Decoded::Bad {
                kind: ErrorKind::Undecodable,
                message: e.to_string(),
            };
        }
    };
    let other = |kind, text: String, rtvi_type| Decoded::Other {
        kind,
        text,
        rtvi_type,
        rtvi: None,
    };
    match frame.frame {
        Some(FrameKind::Audio(mut audio)) => match audio.pcm() {
            Ok(pcm) if !SANE_SAMPLE_RATES.contains(&pcm.sample_rate) => Decoded::Bad {
                kind: ErrorKind::BadAudio,
                message: format!(
                    "audio frame {}: sample rate {} Hz is outside {}..={} Hz",
                    audio.id,
                    pcm.sample_rate,
                    SANE_SAMPLE_RATES.start(),
                    SANE_SAMPLE_RATES.end()
                ),
            },
            Ok(pcm)
                if !pcm.wav_wrapped && audio.audio.len() % (2 * usize::from(pcm.channels)) != 0 =>
            {
                Decoded::Bad {
                    kind: ErrorKind::BadAudio,
                    message: format!(
                        "audio frame {}: {} bytes of PCM is not a whole number of {}-channel \
                         16-bit samples",
                        audio.id,
                        audio.audio.len(),
                        pcm.channels
                    ),
                }
            }
            Ok(pcm) => {
                let format = AudioFormat {
                    sample_rate: pcm.sample_rate,
                    channels: pcm.channels,
                    wav_wrapped: pcm.wav_wrapped,
                };
                // The samples are a slice of the frame's payload: keep the payload, cut to them.
                let start = pcm.bytes.as_ptr() as usize - audio.audio.as_ptr() as usize;
                let end = start + pcm.bytes.len();
                let mut bytes = std::mem::take(&mut audio.audio);
                bytes.truncate(end);
                bytes.drain(..start);
                Decoded::Audio { pcm: bytes, format }
            }
            Err(e) => Decoded::Bad {
                kind: ErrorKind::BadAudio,
                message: format!("audio frame {}: {e}", audio.id),
            },
        },
        Some(FrameKind::Text(text)) => other(ReceivedKind::Text, text.text, None),
        Some(FrameKind::Transcription(t)) => other(ReceivedKind::Transcription, t.text, None),
        Some(FrameKind::Message(message)) => {
            let value = serde_json::from_str::<serde_json::Value>(&message.data).ok();
            let rtvi_type = value
                .as_ref()
                .and_then(|v| v.get("type")?.as_str().map(str::to_string));
            let rtvi = value
                .as_ref()
                .and_then(|v| rtvi::from_value(v).ok())
                .map(Box::new);
            Decoded::Other {
                kind: ReceivedKind::Message,
                text: truncate_chars(&message.data, MAX_TEXT_CHARS),
                rtvi_type,
                rtvi,
            }
        }
        Some(FrameKind::Interruption(i)) => other(ReceivedKind::Interruption, i.name, None),
        None => other(ReceivedKind::Unknown, String::new(), None),
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_round_trips_through_the_pipecat_frame() {
        let mut wire = Wire::default().connection("s", 0);
        let pcm: Vec<u8> = (0..320i16).flat_map(|s| s.to_le_bytes()).collect();
        let message = wire.audio(7, &pcm);
        let Message::Binary(bytes) = &message else {
            panic!("pipecat frames are binary");
        };
        let frame = protocol::decode(bytes).unwrap();
        let Some(FrameKind::Audio(audio)) = frame.frame else {
            panic!("an audio frame");
        };
        assert_eq!(
            (audio.id, audio.sample_rate, audio.num_channels),
            (7, 16_000, 1)
        );
        match wire.decode(message) {
            Decoded::Audio { pcm: got, format } => {
                assert_eq!(got, pcm);
                assert_eq!((format.sample_rate, format.channels), (16_000, 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rtvi_messages_are_parsed_once_and_client_ready_opens_when_asked() {
        let wire = Wire::default().connection("s", 0);
        assert!(wire.clone().opening().is_empty());
        let frame = rtvi::event(rtvi::Event::BotInterrupted);
        let message = Message::Binary(protocol::encode(&frame).into());
        match wire.decode(message) {
            Decoded::Other {
                kind,
                rtvi_type,
                rtvi,
                ..
            } => {
                assert_eq!(kind, ReceivedKind::Message);
                assert_eq!(rtvi_type.as_deref(), Some("bot-interrupted"));
                assert_eq!(
                    rtvi.as_deref(),
                    Some(&rtvi::Message::Event(rtvi::Event::BotInterrupted))
                );
            }
            other => panic!("{other:?}"),
        }
        // JSON that is not RTVI keeps its type but has no parsed message.
        let frame = protocol::Frame {
            frame: Some(FrameKind::Message(protocol::MessageFrame {
                data: r#"{"type": "custom"}"#.into(),
            })),
        };
        let message = Message::Binary(protocol::encode(&frame).into());
        assert!(matches!(
            wire.decode(message),
            Decoded::Other { rtvi: None, rtvi_type: Some(ref t), .. } if t == "custom"
        ));
        let opening = Wire::Pipecat { rtvi: true }.connection("s", 0).opening();
        let [Message::Binary(bytes)] = opening.as_slice() else {
            panic!("one binary message: {opening:?}");
        };
        let parsed = rtvi::parse_frame(&protocol::decode(bytes).unwrap())
            .unwrap()
            .unwrap();
        let rtvi::Message::ClientReady(ready) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(ready.id, CLIENT_READY_ID);
        assert_eq!(ready.data.version.as_deref(), Some(rtvi::PROTOCOL_VERSION));
    }

    #[test]
    fn text_messages_and_garbage_are_bad_frames() {
        let wire = Wire::default().connection("s", 0);
        assert!(matches!(
            wire.decode(Message::Text("hi".into())),
            Decoded::Bad {
                kind: ErrorKind::Undecodable,
                ..
            }
        ));
        assert!(matches!(
            wire.decode(Message::Binary(vec![0xff; 9].into())),
            Decoded::Bad {
                kind: ErrorKind::Undecodable,
                ..
            }
        ));
        assert_eq!(
            wire.decode(Message::Ping(Vec::new().into())),
            Decoded::Nothing
        );
    }

    #[test]
    fn a_telephony_call_opens_streams_and_hangs_up_as_the_provider() {
        use crate::protocol::telephony::{BotSession, CallerEvent};
        let wire = Wire::for_protocol(
            Protocol::Telephony(Provider::Twilio),
            vec![("tenant".into(), "t-{stream_id}".into())],
        );
        assert_eq!((wire.input_rate(), wire.fixed_chunk_ms()), (8000, Some(20)));
        let mut call = wire.connection("client_1_5", 0);
        let mut bot = BotSession::new(Provider::Twilio);
        let text = |m: &Message| m.to_text().unwrap().to_string();
        let opening = call.opening();
        assert_eq!(opening.len(), 2);
        let CallerEvent::Start(start) = bot.decode_caller(WsRef::Text(&text(&opening[1]))).unwrap()
        else {
            panic!("a start message")
        };
        assert_eq!(start.stream_id, "client_1_5");
        assert!(start.call_id.starts_with("CA") && start.call_id.len() == 34);
        assert_eq!(
            start.custom_parameters,
            [("tenant".to_string(), "t-client_1_5".to_string())]
        );
        // Chunk 1: 160 samples of µ-law, decoded back within the codec's error.
        let pcm: Vec<u8> = (0..160i16).flat_map(|s| (s * 50).to_le_bytes()).collect();
        let media = call.audio(1, &pcm);
        let CallerEvent::Audio(audio) = bot.decode_caller(WsRef::Text(&text(&media))).unwrap()
        else {
            panic!("caller audio")
        };
        assert_eq!(audio.samples.len(), 160);
        assert!(text(&media).contains(r#""chunk":"1""#), "{}", text(&media));
        // µ-law's step grows with the level: half a step is under 1/16 of the value + 4.
        for (k, s) in audio.samples.iter().enumerate() {
            let want = k as i32 * 50;
            assert!((i32::from(*s) - want).abs() <= 4 + want / 16, "{k}: {s}");
        }
        // The bot's audio, clear and mark.
        let reply = call.decode(to_ws(bot.media(&[100; 320])));
        let Decoded::Audio { pcm, format } = reply else {
            panic!("{reply:?}")
        };
        assert_eq!((pcm.len(), format.sample_rate), (640, 8000));
        assert_eq!(call.decode(to_ws(bot.clear())), Decoded::Clear);
        let mark = bot.mark("reply-1").unwrap();
        assert_eq!(call.decode(to_ws(mark)), Decoded::Mark("reply-1".into()));
        let echo = call.mark_echo("reply-1").unwrap();
        assert_eq!(
            bot.decode_caller(WsRef::Text(&text(&echo))).unwrap(),
            CallerEvent::Mark("reply-1".into())
        );
        let closing = call.closing();
        assert_eq!(
            bot.decode_caller(WsRef::Text(&text(&closing[0]))).unwrap(),
            CallerEvent::Stop
        );
        // Garbage is one clear error.
        assert!(matches!(
            call.decode(Message::text("{oops")),
            Decoded::Bad {
                kind: ErrorKind::Undecodable,
                ..
            }
        ));
        // Plivo and Vonage just close; Vonage's audio is binary 16 kHz.
        let mut vonage = Wire::for_protocol(Protocol::Telephony(Provider::Vonage), Vec::new())
            .connection("v", 0);
        assert!(vonage.closing().is_empty());
        assert!(matches!(vonage.audio(1, &[0; 640]), Message::Binary(_)));
    }
}
