//! RTVI messages as pipecat's RTVI processor and observer send them: JSON objects
//! `{"label": "rtvi-ai", "type": T, "id"?: …, "data"?: {…}}` in `Frame.message`. The parser reads
//! what a pipecat server sends (per-processor metrics, speaking events, transcriptions, the
//! `client-ready` → `bot-ready` handshake) and tolerates unknown types and fields; the builders
//! write messages byte for byte as pipecat 1.14 does (its `ProtobufFrameSerializer` uses Python's
//! `json.dumps`: `", "` and `": "` separators, non-ASCII escaped, floats as Python's `repr`).
//! `tests/rtvi_fixtures.rs` checks both against messages pipecat itself wrote.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use super::pyjson::to_json;
use super::{Frame, FrameKind, MessageFrame};
use crate::serverlog::parse::{Service, ServiceNames};

/// The `label` of every RTVI message.
pub const LABEL: &str = "rtvi-ai";

/// The RTVI protocol version pipecat 1.14 speaks (and puts in `bot-ready`).
pub const PROTOCOL_VERSION: &str = "2.2.0";

/// Why a message is not a usable RTVI message.
#[derive(Debug, Error)]
pub enum RtviError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// An object without `"label": "rtvi-ai"`.
    #[error("label is {0}, not \"rtvi-ai\"")]
    NotRtvi(String),
    /// An RTVI object without a string `type`.
    #[error("RTVI message without a string \"type\"")]
    NoType,
    /// A known type whose `data` does not have the fields it must have.
    #[error("RTVI {kind} message with unusable data: {reason}")]
    BadData {
        /// The message type.
        kind: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// RTVI messages that carry no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `user-started-speaking`: the user's turn started (pipecat's turn start strategy).
    UserStartedSpeaking,
    /// `user-stopped-speaking`: the user's turn ended (pipecat's turn stop strategy).
    UserStoppedSpeaking,
    /// `bot-started-speaking`: the output transport started playing bot audio.
    BotStartedSpeaking,
    /// `bot-stopped-speaking`: bot audio stopped (played out or cut off).
    BotStoppedSpeaking,
    /// `bot-interrupted`: an InterruptionFrame went through the pipeline.
    BotInterrupted,
    /// `bot-llm-started`: the LLM's full response started.
    BotLlmStarted,
    /// `bot-llm-stopped`: the LLM's full response ended.
    BotLlmStopped,
    /// `bot-tts-started`: the TTS started a reply.
    BotTtsStarted,
    /// `bot-tts-stopped`: the TTS finished a reply.
    BotTtsStopped,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 9] = [
        Event::UserStartedSpeaking,
        Event::UserStoppedSpeaking,
        Event::BotStartedSpeaking,
        Event::BotStoppedSpeaking,
        Event::BotInterrupted,
        Event::BotLlmStarted,
        Event::BotLlmStopped,
        Event::BotTtsStarted,
        Event::BotTtsStopped,
    ];

    /// The message `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Event::UserStartedSpeaking => "user-started-speaking",
            Event::UserStoppedSpeaking => "user-stopped-speaking",
            Event::BotStartedSpeaking => "bot-started-speaking",
            Event::BotStoppedSpeaking => "bot-stopped-speaking",
            Event::BotInterrupted => "bot-interrupted",
            Event::BotLlmStarted => "bot-llm-started",
            Event::BotLlmStopped => "bot-llm-stopped",
            Event::BotTtsStarted => "bot-tts-started",
            Event::BotTtsStopped => "bot-tts-stopped",
        }
    }
}

/// RTVI messages whose data is `{"text": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// `bot-llm-text`: a chunk of LLM output.
    BotLlmText,
    /// `bot-tts-text`: text the TTS spoke, sent as it is played.
    BotTtsText,
    /// `bot-transcription`: LLM output gathered up to a sentence end.
    BotTranscription,
}

impl TextKind {
    /// Every text kind.
    pub const ALL: [TextKind; 3] = [
        TextKind::BotLlmText,
        TextKind::BotTtsText,
        TextKind::BotTranscription,
    ];

    /// The message `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            TextKind::BotLlmText => "bot-llm-text",
            TextKind::BotTtsText => "bot-tts-text",
            TextKind::BotTranscription => "bot-transcription",
        }
    }
}

/// A timing metric of one processor (`ttfb`, `processing`), in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Processor instance name, e.g. `OpenAILLMService#0`.
    pub processor: String,
    /// Model name, when the service has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Seconds.
    pub value: f64,
}

/// Characters a TTS processor was given (`characters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Characters {
    /// Processor instance name.
    pub processor: String,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Number of characters.
    pub value: u64,
}

/// Audio an STT processor was sent since its last report (`stt_usage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SttUsage {
    /// Processor instance name.
    pub processor: String,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The usage.
    pub value: AudioSeconds,
}

/// `{"audio_seconds": s}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioSeconds {
    /// Seconds of audio.
    pub audio_seconds: f64,
}

/// LLM token usage of one response (`tokens`; pipecat sends no processor name with it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// All tokens, cached input included.
    pub total_tokens: u64,
    /// Input tokens read from cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Input tokens written to cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Output tokens spent reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Input tokens that were audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_audio_tokens: Option<u64>,
    /// Output tokens that were audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_audio_tokens: Option<u64>,
    /// Cache-read tokens that were audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_audio_tokens: Option<u64>,
}

/// Time to first audible audio of a TTS (`ttfa`, newer pipecat): TTFB plus leading silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ttfa {
    /// Processor instance name.
    pub processor: String,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Seconds to the first audible sample.
    pub ttfa: f64,
    /// The TTFB it builds on (also reported on its own; do not add both).
    pub ttfb: f64,
    /// Silence before the first audible sample.
    pub leading_silence: f64,
}

/// Time to the first answer token of an LLM (`ttfat`, newer pipecat): TTFB plus thinking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ttfat {
    /// Processor instance name.
    pub processor: String,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Seconds to the first answer token.
    pub ttfat: f64,
    /// The TTFB it builds on (also reported on its own; do not add both).
    pub ttfb: f64,
    /// Time between the first output and the first answer token.
    pub thinking_time: f64,
}

/// The data of a `metrics` message. Serialized in this field order, empty lists left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Time to first byte per processor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttfb: Vec<Timing>,
    /// Time to first audible audio per TTS processor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttfa: Vec<Ttfa>,
    /// Time to first answer token per LLM processor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttfat: Vec<Ttfat>,
    /// Processing time per processor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub processing: Vec<Timing>,
    /// LLM token usage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Tokens>,
    /// TTS characters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub characters: Vec<Characters>,
    /// STT audio seconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stt_usage: Vec<SttUsage>,
    /// Entries of known keys that did not have the expected shape (left out above).
    #[serde(skip)]
    pub skipped: usize,
}

impl Metrics {
    /// Whether no entry was read.
    pub fn is_empty(&self) -> bool {
        self.ttfb.is_empty()
            && self.ttfa.is_empty()
            && self.ttfat.is_empty()
            && self.processing.is_empty()
            && self.tokens.is_empty()
            && self.characters.is_empty()
            && self.stt_usage.is_empty()
    }

    /// Whether this is the message pipecat sends once when its pipeline starts
    /// (`send_initial_empty_metrics`): zero TTFB and processing for every service, nothing else.
    /// It measures nothing.
    pub fn is_initial(&self) -> bool {
        !self.is_empty()
            && self.ttfa.is_empty()
            && self.ttfat.is_empty()
            && self.tokens.is_empty()
            && self.characters.is_empty()
            && self.stt_usage.is_empty()
            && self
                .ttfb
                .iter()
                .chain(&self.processing)
                .all(|t| t.value == 0.0)
    }

    /// The first TTFB entry of a processor in `role`.
    pub fn ttfb_of(&self, role: Service, names: &ServiceNames) -> Option<&Timing> {
        self.ttfb
            .iter()
            .find(|t| service_role(&t.processor, names) == Some(role))
    }

    /// The first processing-time entry of a processor in `role`.
    pub fn processing_of(&self, role: Service, names: &ServiceNames) -> Option<&Timing> {
        self.processing
            .iter()
            .find(|t| service_role(&t.processor, names) == Some(role))
    }

    fn from_data(kind: &str, data: Option<&Value>) -> Result<Metrics, RtviError> {
        let empty = Map::new();
        let data = match data {
            None => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => return Err(bad_data(kind, "data is not an object")),
        };
        let mut skipped = 0;
        let mut metrics = Metrics {
            ttfb: entries(data, "ttfb", &mut skipped),
            ttfa: entries(data, "ttfa", &mut skipped),
            ttfat: entries(data, "ttfat", &mut skipped),
            processing: entries(data, "processing", &mut skipped),
            tokens: entries(data, "tokens", &mut skipped),
            characters: entries(data, "characters", &mut skipped),
            stt_usage: entries(data, "stt_usage", &mut skipped),
            skipped: 0,
        };
        metrics.skipped = skipped;
        Ok(metrics)
    }
}

fn entries<T: DeserializeOwned>(
    data: &Map<String, Value>,
    key: &str,
    skipped: &mut usize,
) -> Vec<T> {
    match data.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match T::deserialize(item) {
                Ok(entry) => Some(entry),
                Err(_) => {
                    *skipped += 1;
                    None
                }
            })
            .collect(),
        Some(_) => {
            *skipped += 1;
            Vec::new()
        }
    }
}

/// The service role of a processor instance name (`OpenAILLMService#0` → LLM) by the class-name
/// patterns the log analyzer uses; [`ServiceNames::pipecat`] knows every pipecat service.
pub fn service_role(processor: &str, names: &ServiceNames) -> Option<Service> {
    names.classify_processor(processor)
}

/// What the user said, as `user-transcription` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcription {
    /// The text.
    pub text: String,
    /// The speaker.
    #[serde(default)]
    pub user_id: String,
    /// ISO-8601 time the transcription was made.
    #[serde(default)]
    pub timestamp: String,
    /// Final (`true`) or interim.
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// `user-input` (pipecat 1.13+, the successor of `user-transcription`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInput {
    /// The text.
    pub text: String,
    /// `transcription`, `backchannel` or `chat`.
    pub input_type: String,
    /// ISO-8601 time.
    #[serde(default)]
    pub timestamp: String,
    /// Final or interim.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The speaker, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The id of the client message it answers (`chat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
}

/// Who is at one end of the connection (`about` of `client-ready` and `bot-ready`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    /// Library name, e.g. `pipecat-ai`.
    pub library: String,
    /// Library version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_version: Option<String>,
    /// Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Platform version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

/// What the bot does in the session (`bot-ready` data, protocol 2.2); `None` is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Receives the user's audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_in: Option<bool>,
    /// Sends audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_out: Option<bool>,
    /// Receives video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_in: Option<bool>,
    /// Receives a screen share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_in: Option<bool>,
    /// Sends video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_out: Option<bool>,
    /// Reports metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<bool>,
}

/// `bot-ready`: the answer to `client-ready`, carrying its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotReady {
    /// The id of the `client-ready` it answers.
    pub id: String,
    /// The data.
    pub data: BotReadyData,
}

/// The data of `bot-ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotReadyData {
    /// Protocol version the bot speaks with this client.
    pub version: String,
    /// The bot's library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<About>,
    /// What the bot does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// `client-ready`: what a client sends to be answered with `bot-ready`. pipecat rejects it
/// without an `id`; without `data.version` it answers an `error-response` and then `bot-ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientReady {
    /// Message id, echoed in `bot-ready`.
    pub id: String,
    /// The data.
    pub data: ClientReadyData,
}

/// The data of `client-ready`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReadyData {
    /// The client's RTVI protocol version (`major.minor.patch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The client's library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<About>,
}

/// `error` (a pipeline error) or `error-response` (to the client message `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    /// The id of the client message it answers (`error-response` only).
    pub id: Option<String>,
    /// The data.
    pub data: ErrorData,
}

/// The data of `error` / `error-response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// What went wrong.
    pub error: String,
    /// Whether the pipeline stopped because of it (`error` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<bool>,
}

/// One RTVI message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A message without data.
    Event(Event),
    /// A `{"text": …}` message.
    Text(TextKind, String),
    /// `metrics`.
    Metrics(Metrics),
    /// `user-transcription`.
    UserTranscription(Transcription),
    /// `user-input`.
    UserInput(UserInput),
    /// `bot-ready`.
    BotReady(BotReady),
    /// `client-ready`.
    ClientReady(ClientReady),
    /// `error`.
    Error(ErrorMessage),
    /// `error-response`.
    ErrorResponse(ErrorMessage),
    /// Any other type, e.g. `bot-output`, `server-message`, newer types.
    Other {
        /// The message type.
        kind: String,
        /// The message id, if any.
        id: Option<String>,
        /// The data, if any.
        data: Option<Value>,
    },
}

impl Message {
    /// The message `type`.
    pub fn type_name(&self) -> &str {
        match self {
            Message::Event(event) => event.type_name(),
            Message::Text(kind, _) => kind.type_name(),
            Message::Metrics(_) => "metrics",
            Message::UserTranscription(_) => "user-transcription",
            Message::UserInput(_) => "user-input",
            Message::BotReady(_) => "bot-ready",
            Message::ClientReady(_) => "client-ready",
            Message::Error(_) => "error",
            Message::ErrorResponse(_) => "error-response",
            Message::Other { kind, .. } => kind,
        }
    }

    /// The message as pipecat's serializer writes it (`json.dumps` of the message dict; key
    /// order `label`, `type`, `id`, `data`). `Other` data keeps serde_json's key order.
    pub fn to_json(&self) -> String {
        let kind = self.type_name();
        match self {
            Message::Event(_) => envelope::<()>(kind, None, None),
            Message::Text(_, text) => envelope(kind, None, Some(&TextData { text })),
            Message::Metrics(metrics) => envelope(kind, None, Some(metrics)),
            Message::UserTranscription(t) => envelope(kind, None, Some(t)),
            Message::UserInput(input) => envelope(kind, None, Some(input)),
            Message::BotReady(ready) => envelope(kind, Some(&ready.id), Some(&ready.data)),
            Message::ClientReady(ready) => envelope(kind, Some(&ready.id), Some(&ready.data)),
            Message::Error(e) | Message::ErrorResponse(e) => {
                envelope(kind, e.id.as_deref(), Some(&e.data))
            }
            Message::Other { id, data, .. } => envelope(kind, id.as_deref(), data.as_ref()),
        }
    }

    /// The message in a `Frame.message`, ready to send.
    pub fn to_frame(&self) -> Frame {
        Frame {
            frame: Some(FrameKind::Message(MessageFrame {
                data: self.to_json(),
            })),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TextData<S> {
    text: S,
}

#[derive(Serialize)]
struct Envelope<'a, D> {
    label: &'static str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a D>,
}

fn envelope<D: Serialize>(kind: &str, id: Option<&str>, data: Option<&D>) -> String {
    to_json(&Envelope {
        label: LABEL,
        kind,
        id,
        data,
    })
}

/// Reads one RTVI message (the JSON text of a `Frame.message`).
pub fn parse(json: &str) -> Result<Message, RtviError> {
    from_value(&serde_json::from_str(json)?)
}

/// Reads one RTVI message from JSON already parsed (a caller that also looks at other fields
/// parses once).
pub fn from_value(value: &Value) -> Result<Message, RtviError> {
    let Value::Object(object) = value else {
        return Err(RtviError::NotObject);
    };
    match object.get("label") {
        Some(Value::String(label)) if label == LABEL => {}
        Some(other) => return Err(RtviError::NotRtvi(other.to_string())),
        None => return Err(RtviError::NotRtvi("missing".into())),
    }
    let Some(Value::String(kind)) = object.get("type") else {
        return Err(RtviError::NoType);
    };
    let id = object.get("id").and_then(Value::as_str).map(str::to_string);
    let data = object.get("data").filter(|d| !d.is_null());
    if let Some(event) = Event::ALL.into_iter().find(|e| e.type_name() == kind) {
        return Ok(Message::Event(event));
    }
    if let Some(text_kind) = TextKind::ALL.into_iter().find(|t| t.type_name() == kind) {
        let TextData { text } = typed::<TextData<String>>(kind, data)?;
        return Ok(Message::Text(text_kind, text));
    }
    let message = match kind.as_str() {
        "metrics" => Message::Metrics(Metrics::from_data(kind, data)?),
        "user-transcription" => Message::UserTranscription(typed(kind, data)?),
        "user-input" => Message::UserInput(typed(kind, data)?),
        "bot-ready" => Message::BotReady(BotReady {
            id: id.unwrap_or_default(),
            data: typed(kind, data)?,
        }),
        "client-ready" => Message::ClientReady(ClientReady {
            id: id.unwrap_or_default(),
            data: match data {
                Some(_) => typed(kind, data)?,
                None => ClientReadyData::default(),
            },
        }),
        "error" => Message::Error(ErrorMessage {
            id,
            data: typed(kind, data)?,
        }),
        "error-response" => Message::ErrorResponse(ErrorMessage {
            id,
            data: typed(kind, data)?,
        }),
        _ => Message::Other {
            kind: kind.clone(),
            id,
            data: data.cloned(),
        },
    };
    Ok(message)
}

/// The RTVI message in a frame: `None` for frames that are not `Frame.message`.
pub fn parse_frame(frame: &Frame) -> Option<Result<Message, RtviError>> {
    match &frame.frame {
        Some(FrameKind::Message(message)) => Some(parse(&message.data)),
        _ => None,
    }
}

fn typed<T: DeserializeOwned>(kind: &str, data: Option<&Value>) -> Result<T, RtviError> {
    let data = data.ok_or_else(|| bad_data(kind, "no data"))?;
    T::deserialize(data).map_err(|e| bad_data(kind, &e.to_string()))
}

fn bad_data(kind: &str, reason: &str) -> RtviError {
    RtviError::BadData {
        kind: kind.to_string(),
        reason: reason.to_string(),
    }
}

// ---- builders ---------------------------------------------------------------------------------

/// A message without data, e.g. `bot-interrupted`.
pub fn event(event: Event) -> Frame {
    Message::Event(event).to_frame()
}

/// A `{"text": …}` message, e.g. `bot-llm-text`.
pub fn text(kind: TextKind, text: &str) -> Frame {
    Message::Text(kind, text.to_string()).to_frame()
}

/// A `user-transcription` message.
pub fn user_transcription(text: &str, user_id: &str, timestamp: &str, is_final: bool) -> Frame {
    Message::UserTranscription(Transcription {
        text: text.to_string(),
        user_id: user_id.to_string(),
        timestamp: timestamp.to_string(),
        is_final,
    })
    .to_frame()
}

/// A `metrics` message.
pub fn metrics(metrics: &Metrics) -> Frame {
    Message::Metrics(metrics.clone()).to_frame()
}

/// The `metrics` message pipecat sends when its pipeline starts: zero TTFB and processing time
/// for each processor, no model.
pub fn initial_metrics(processors: &[&str]) -> Frame {
    let zeros = || {
        processors
            .iter()
            .map(|p| Timing {
                processor: p.to_string(),
                model: None,
                value: 0.0,
            })
            .collect()
    };
    metrics(&Metrics {
        ttfb: zeros(),
        processing: zeros(),
        ..Metrics::default()
    })
}

/// `bot-ready` answering the `client-ready` with `id`, as pipecat 1.14 sends it from a
/// WebSocket bot with audio in and out.
pub fn bot_ready(id: &str, about: About, metrics: bool) -> Frame {
    Message::BotReady(BotReady {
        id: id.to_string(),
        data: BotReadyData {
            version: PROTOCOL_VERSION.to_string(),
            about: Some(about),
            capabilities: Some(Capabilities {
                audio_in: Some(true),
                audio_out: Some(true),
                video_in: Some(false),
                screen_in: Some(false),
                video_out: Some(false),
                metrics: Some(metrics),
            }),
        },
    })
    .to_frame()
}

/// `client-ready` with `id`, this protocol version and `about`: what pipecat's RTVIProcessor
/// answers with `bot-ready`.
pub fn client_ready(id: &str, about: About) -> Frame {
    Message::ClientReady(ClientReady {
        id: id.to_string(),
        data: ClientReadyData {
            version: Some(PROTOCOL_VERSION.to_string()),
            about: Some(about),
        },
    })
    .to_frame()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serverlog::parse::ServicePattern;

    #[test]
    fn malformed_messages_are_errors() {
        for bad in ["", "{", "[]", "null", "\"x\"", "{\"a\": NaN}"] {
            assert!(
                matches!(parse(bad), Err(RtviError::Json(_) | RtviError::NotObject)),
                "{bad}"
            );
        }
        assert!(matches!(
            parse(r#"{"type": "metrics"}"#),
            Err(RtviError::NotRtvi(_))
        ));
        assert!(matches!(
            parse(r#"{"label": "other", "type": "metrics"}"#),
            Err(RtviError::NotRtvi(_))
        ));
        assert!(matches!(
            parse(r#"{"label": "rtvi-ai"}"#),
            Err(RtviError::NoType)
        ));
        assert!(matches!(
            parse(r#"{"label": "rtvi-ai", "type": 3}"#),
            Err(RtviError::NoType)
        ));
        for bad in [
            r#"{"label": "rtvi-ai", "type": "bot-llm-text"}"#,
            r#"{"label": "rtvi-ai", "type": "bot-tts-text", "data": {"text": 5}}"#,
            r#"{"label": "rtvi-ai", "type": "user-transcription", "data": {"user_id": "u"}}"#,
            r#"{"label": "rtvi-ai", "type": "metrics", "data": [1]}"#,
            r#"{"label": "rtvi-ai", "type": "bot-ready", "id": "1"}"#,
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, RtviError::BadData { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_types_fields_and_entries_are_tolerated() {
        let m = parse(r#"{"label": "rtvi-ai", "type": "bot-output", "id": "7", "data": {"x": 1}}"#)
            .unwrap();
        assert_eq!(m.type_name(), "bot-output");
        assert!(matches!(m, Message::Other { id: Some(ref id), .. } if id == "7"));
        let m = parse(
            r#"{"label": "rtvi-ai", "type": "bot-interrupted", "data": {"new": 1}, "extra": 2}"#,
        )
        .unwrap();
        assert_eq!(m, Message::Event(Event::BotInterrupted));
        let m = parse(
            r#"{"label": "rtvi-ai", "type": "metrics", "data": {"ttfb": [
                {"processor": "A#0", "value": 0.5, "unit": "s"},
                {"processor": "B#0"},
                "junk"
            ], "processing": 3, "future_metric": [{"x": 1}]}}"#,
        )
        .unwrap();
        let Message::Metrics(metrics) = m else {
            panic!("{m:?}")
        };
        assert_eq!(metrics.ttfb.len(), 1);
        assert_eq!(metrics.ttfb[0].value, 0.5);
        assert_eq!(metrics.skipped, 3);
        let m = parse(r#"{"label": "rtvi-ai", "type": "metrics"}"#).unwrap();
        assert!(matches!(m, Message::Metrics(ref metrics) if metrics.is_empty()));
    }

    #[test]
    fn every_prefix_of_a_message_parses_or_fails_cleanly() {
        let json = Message::Metrics(Metrics {
            ttfb: vec![Timing {
                processor: "OpenAILLMService#0".into(),
                model: Some("gpt-4.1".into()),
                value: 0.375,
            }],
            tokens: vec![Tokens {
                prompt_tokens: 1,
                completion_tokens: 2,
                total_tokens: 3,
                ..Tokens::default()
            }],
            ..Metrics::default()
        })
        .to_json();
        for end in 0..json.len() {
            assert!(parse(&json[..end]).is_err());
        }
        assert!(parse(&json).is_ok());
    }

    #[test]
    fn roles_of_processor_names() {
        let names = ServiceNames::pipecat();
        for (name, role) in [
            ("OpenAILLMService#0", Some(Service::Llm)),
            ("CartesiaTTSService#12", Some(Service::Tts)),
            ("DeepgramSTTService#1", Some(Service::Asr)),
            ("RivaASRService", Some(Service::Asr)),
            ("NvidiaLLMService#3", Some(Service::Llm)),
            ("LLMUserAggregator#0", None),
            ("OpenAILLMService#x", None),
        ] {
            assert_eq!(service_role(name, &names), role, "{name}");
        }
        assert_eq!(ServiceNames::default(), names);
        let nvidia_only = ServiceNames {
            llm: vec![ServicePattern::new("NvidiaLLMService").unwrap()],
            tts: vec![ServicePattern::new("RivaTTSService").unwrap()],
            asr: vec![ServicePattern::new("RivaASRService").unwrap()],
        };
        assert_eq!(
            service_role("RivaTTSService#0", &nvidia_only),
            Some(Service::Tts)
        );
        assert_eq!(service_role("OpenAITTSService#0", &nvidia_only), None);
    }
}
