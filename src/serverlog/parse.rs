//! Parsing one log line: pipecat's loguru lines in NVIDIA's layout
//! (`{time} | {level} | {name}:{function}:{line} | streamId={id} - {message}`) and in loguru's
//! default layout as pipecat ships it (`{time} | {level} | {name}:{function}:{line} - {message}`,
//! no stream id), the client-start lines that open a run, and `voiceperf agent`'s per-turn truth
//! lines.
//!
//! The hot path is a substring search for `streamId=` (memchr's SIMD `memmem`), and on lines
//! without one a walk over the default layout's first ` | ` separators to its ` - `; the
//! message is then looked at by plain byte comparisons, no regex. Lines without a stream id (or with the placeholder `-`) yield
//! events whose stream is empty.

use memchr::memmem;
use serde::{Deserialize, Serialize};

use super::truth::{
    AGENT_INTERRUPTION_PREFIX, AGENT_TURN_PREFIX, AgentInterruptionTruth, AgentTurnTruth,
};

/// A per-stream metric read from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `<LLM>#N TTFB: s` — LLM time to first byte.
    LlmTtfb,
    /// `<TTS>#N TTFB: s` — TTS time to first byte.
    TtsTtfb,
    /// `<ASR>#N ASR compute latency: s`.
    AsrLatency,
    /// `<LLM>#N LLM first sentence generation time: s`.
    LlmFirstSentence,
    /// Completion tokens divided by the LLM's next processing time on the stream.
    LlmTokensPerSec,
    /// `<ASR>#N TTFB: s` — the ASR's own TTFB, kept apart from LLM/TTS.
    AsrTtfb,
    /// `<LLM>#N TTFAT: s (… thinking)` — time to first answer token, kept apart.
    LlmTtfat,
    /// `<LLM>#N processing time: s`.
    LlmProcessingTime,
    /// `<TTS>#N processing time: s`.
    TtsProcessingTime,
}

impl MetricKind {
    /// Every metric, in report order: the seed's five first.
    pub const ALL: [MetricKind; 9] = [
        MetricKind::LlmTtfb,
        MetricKind::TtsTtfb,
        MetricKind::AsrLatency,
        MetricKind::LlmFirstSentence,
        MetricKind::LlmTokensPerSec,
        MetricKind::AsrTtfb,
        MetricKind::LlmTtfat,
        MetricKind::LlmProcessingTime,
        MetricKind::TtsProcessingTime,
    ];

    /// The five metrics of the seed analyzer's table.
    pub const SEED: [MetricKind; 5] = [
        MetricKind::LlmTtfb,
        MetricKind::TtsTtfb,
        MetricKind::AsrLatency,
        MetricKind::LlmFirstSentence,
        MetricKind::LlmTokensPerSec,
    ];

    /// Key in JSON and CSV output.
    pub fn key(self) -> &'static str {
        match self {
            MetricKind::LlmTtfb => "llm_ttfb",
            MetricKind::TtsTtfb => "tts_ttfb",
            MetricKind::AsrLatency => "asr_latency",
            MetricKind::LlmFirstSentence => "llm_first_sentence",
            MetricKind::LlmTokensPerSec => "llm_tokens_per_sec",
            MetricKind::AsrTtfb => "asr_ttfb",
            MetricKind::LlmTtfat => "llm_ttfat",
            MetricKind::LlmProcessingTime => "llm_processing_time",
            MetricKind::TtsProcessingTime => "tts_processing_time",
        }
    }

    /// Human label, as in the seed's per-client arrays where it had one.
    pub fn label(self) -> &'static str {
        match self {
            MetricKind::LlmTtfb => "LLM TTFB",
            MetricKind::TtsTtfb => "TTS TTFB",
            MetricKind::AsrLatency => "ASR Latency",
            MetricKind::LlmFirstSentence => "LLM First Sentence",
            MetricKind::LlmTokensPerSec => "LLM Tokens/sec",
            MetricKind::AsrTtfb => "ASR TTFB",
            MetricKind::LlmTtfat => "LLM TTFAT",
            MetricKind::LlmProcessingTime => "LLM processing time",
            MetricKind::TtsProcessingTime => "TTS processing time",
        }
    }

    /// Whether values are seconds (all but tokens/s).
    pub fn is_seconds(self) -> bool {
        self != MetricKind::LlmTokensPerSec
    }
}

/// A service-name pattern: an exact class name, or a glob with `*` (e.g. `*LLMService`). The
/// instance suffix `#N` is not part of the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServicePattern(String);

impl ServicePattern {
    /// A pattern from its text; `None` if empty or containing whitespace or `#`.
    pub fn new(text: &str) -> Option<Self> {
        let valid = !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || c == '#');
        valid.then(|| ServicePattern(text.to_string()))
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &[u8]) -> bool {
        glob_match(self.0.as_bytes(), name)
    }
}

fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    // Called for every `Name#N` line: no allocation.
    let (Some(first_star), Some(last_star)) = (
        memchr::memchr(b'*', pattern),
        memchr::memrchr(b'*', pattern),
    ) else {
        return pattern == name;
    };
    let (first, last) = (&pattern[..first_star], &pattern[last_star + 1..]);
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let middle = &name[..name.len() - last.len()];
    let mut position = first.len();
    if first_star < last_star {
        for part in pattern[first_star + 1..last_star].split(|&b| b == b'*') {
            match memmem::find(&middle[position..], part) {
                Some(found) => position += found + part.len(),
                None => return false,
            }
        }
    }
    true
}

/// Which service names count as the LLM, the TTS and the ASR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNames {
    /// LLM service class names.
    pub llm: Vec<ServicePattern>,
    /// TTS service class names.
    pub tts: Vec<ServicePattern>,
    /// ASR service class names.
    pub asr: Vec<ServicePattern>,
}

impl Default for ServiceNames {
    /// [`ServiceNames::pipecat`].
    fn default() -> Self {
        ServiceNames::pipecat()
    }
}

impl ServiceNames {
    /// pipecat's naming convention for its services (`OpenAILLMService`, `CartesiaTTSService`,
    /// `DeepgramSTTService`, …; pipecat 1.14 names every LLM, TTS and STT service so, NVIDIA's
    /// `NvidiaLLMService` and `RivaTTSService` included), plus NVIDIA's `*ASRService`
    /// (`RivaASRService`, `NemotronASRService`) and pipecat's one STT class that breaks the
    /// convention (`WhisperSTTServiceMLX`).
    pub fn pipecat() -> Self {
        ServiceNames {
            llm: patterns(&["*LLMService"]),
            tts: patterns(&["*TTSService"]),
            asr: patterns(&["*STTService", "*ASRService", "WhisperSTTServiceMLX"]),
        }
    }

    /// The service a processor instance name like `CartesiaTTSService#0` stands for (the `#N`
    /// suffix is optional).
    pub fn classify_processor(&self, name: &str) -> Option<Service> {
        let (class, _) = split_instance(name.as_bytes())?;
        self.classify(class)
    }

    fn classify(&self, name: &[u8]) -> Option<Service> {
        let any = |patterns: &[ServicePattern]| patterns.iter().any(|p| p.matches(name));
        if any(&self.llm) {
            Some(Service::Llm)
        } else if any(&self.tts) {
            Some(Service::Tts)
        } else if any(&self.asr) {
            Some(Service::Asr)
        } else {
            None
        }
    }
}

fn patterns(names: &[&str]) -> Vec<ServicePattern> {
    names
        .iter()
        .filter_map(|name| ServicePattern::new(name))
        .collect()
}

/// The role a service plays in the voice pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The language model.
    Llm,
    /// Text to speech.
    Tts,
    /// Speech recognition (ASR/STT).
    Asr,
}

/// `Name#N` → (`Name`, true); `Name` → (`Name`, false); `None` when `#` is not followed by
/// digits only.
fn split_instance(token: &[u8]) -> Option<(&[u8], bool)> {
    match memchr::memrchr(b'#', token) {
        Some(hash) => {
            let digits = &token[hash + 1..];
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some((&token[..hash], true))
        }
        None => Some((token, false)),
    }
}

/// What a line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A metric value for a stream.
    Metric {
        /// Stream id (`streamId=`).
        stream: &'a [u8],
        /// Which metric.
        kind: MetricKind,
        /// The value (seconds, a unit suffix removed).
        value: f64,
    },
    /// The LLM's completion token count; divided by its next processing time.
    CompletionTokens {
        /// Stream id.
        stream: &'a [u8],
        /// Completion tokens.
        tokens: u64,
    },
    /// A client connection opening (`Accepting WebSocket connection for stream ID client_…`).
    ClientStart {
        /// The client's stream id.
        stream: &'a [u8],
        /// Whether it is uvicorn's access line rather than the application's own.
        uvicorn: bool,
    },
    /// A `voiceperf agent` truth line.
    AgentTurn {
        /// Stream id.
        stream: &'a [u8],
        /// The turn's times.
        truth: AgentTurnTruth,
    },
    /// A `voiceperf agent` interruption truth line.
    AgentInterruption {
        /// Stream id.
        stream: &'a [u8],
        /// The interruption's times.
        truth: AgentInterruptionTruth,
    },
    /// pipecat's `User stopped speaking`, bare or after a processor's name, or its turn
    /// strategy's `User turn inference triggered`.
    UserStoppedSpeaking {
        /// Stream id.
        stream: &'a [u8],
        /// Whether the VAD stopped hearing speech or the turn ended.
        kind: StopKind,
    },
    /// A metric, token or truth line whose value is not used: not a number, or a number no
    /// measurement can be (see [`Rejection`]).
    Rejected {
        /// Stream id.
        stream: &'a [u8],
        /// What was expected, e.g. "LLM TTFB".
        what: &'static str,
        /// The metric the line would have given, if it is a metric line.
        metric: Option<MetricKind>,
        /// Why the value is not used.
        reason: Rejection,
        /// The offending text.
        text: &'a [u8],
    },
}

impl Event<'_> {
    /// The stream the event belongs to.
    pub fn stream(&self) -> &[u8] {
        match self {
            Event::Metric { stream, .. }
            | Event::CompletionTokens { stream, .. }
            | Event::ClientStart { stream, .. }
            | Event::AgentTurn { stream, .. }
            | Event::AgentInterruption { stream, .. }
            | Event::UserStoppedSpeaking { stream, .. }
            | Event::Rejected { stream, .. } => stream,
        }
    }
}

/// Which `User stopped speaking` a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The VAD stopped hearing speech: `VADProcessor#0: User stopped speaking`, or the bare
    /// message older pipecat transports log.
    VadStop,
    /// The user's turn ended, decided by a turn strategy (pipecat ≥ 1.0):
    /// `LLMUserAggregator#0: User stopped speaking (strategy: …)`, also from
    /// `UserTurnProcessor`.
    TurnEnd,
    /// A turn strategy started the LLM on what the user said so far (pipecat ≥ 1.0):
    /// `LLMUserAggregator#0: User turn inference triggered (strategy: …)`. Logged with the turn
    /// end, or before it (a strategy that lets the LLM judge whether the turn is complete, or an
    /// early inference the user then talked over).
    InferenceTriggered,
}

impl StopKind {
    fn of(text: &[u8]) -> Self {
        if memmem::find(text, b"(strategy:").is_some() {
            StopKind::TurnEnd
        } else {
            StopKind::VadStop
        }
    }
}

/// Longest duration a metric line may report (s): one hour. No TTFB, compute latency,
/// first-sentence time, processing time or agent turn latency of a voice conversation comes
/// near it; a value above it (`TTFB: 1e308`) is damage, not a measurement, and would make every
/// mean over it meaningless (or infinite).
pub const MAX_DURATION_S: f64 = 3600.0;

/// Highest LLM output rate accepted (tokens/s per stream), completion tokens over the LLM's
/// processing time: a thousand times what today's fastest serving reaches per stream.
pub const MAX_TOKENS_PER_SEC: f64 = 1_000_000.0;

/// Latest unix time a truth line may carry (s): 2100-01-01 00:00:00 UTC.
pub const MAX_UNIX_S: f64 = 4_102_444_800.0;

/// Why a value read from a log line is not used.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Not a number at all (`abc`, `1.2.3`, nothing).
    #[default]
    Malformed,
    /// `NaN`.
    NotANumber,
    /// `inf`, or a number beyond the range of f64 (`1e400`).
    Infinite,
    /// Below zero: no duration, time or rate is.
    Negative,
    /// Above the ceiling of its kind: [`MAX_DURATION_S`], [`MAX_TOKENS_PER_SEC`],
    /// [`MAX_UNIX_S`].
    AboveCeiling,
    /// Completion tokens paired with an LLM processing time of zero: no rate.
    ZeroProcessingTime,
}

impl Rejection {
    /// Every reason, in report order.
    pub const ALL: [Rejection; 6] = [
        Rejection::Malformed,
        Rejection::NotANumber,
        Rejection::Infinite,
        Rejection::Negative,
        Rejection::AboveCeiling,
        Rejection::ZeroProcessingTime,
    ];

    /// Short human label, e.g. "not a number".
    pub fn label(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::NotANumber => "not a number",
            Rejection::Infinite => "infinite",
            Rejection::Negative => "negative",
            Rejection::AboveCeiling => "above the ceiling",
            Rejection::ZeroProcessingTime => "zero processing time",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

const USER_STOPPED_SPEAKING: &[u8] = b"User stopped speaking";
/// ` | ` separators looked at for loguru's default layout: time, level, and up to two more
/// of a log collector's prefix.
const MAX_LAYOUT_SEPARATORS: usize = 4;
const INFERENCE_TRIGGERED: &[u8] = b"User turn inference triggered";

const CLIENT_START_MESSAGES: [&[u8]; 2] = [
    b"Accepting WebSocket connection for stream ID ",
    b"Accepted WebSocket connection for stream ID ",
];

/// Parses lines against a set of service names.
pub struct LineParser {
    services: ServiceNames,
    stream_id: memmem::Finder<'static>,
    field_separator: memmem::Finder<'static>,
    websocket: memmem::Finder<'static>,
}

impl LineParser {
    /// A parser recognising `services`.
    pub fn new(services: ServiceNames) -> Self {
        LineParser {
            services,
            stream_id: memmem::Finder::new(b"streamId="),
            field_separator: memmem::Finder::new(b" | "),
            websocket: memmem::Finder::new(b"\"WebSocket /ws/"),
        }
    }

    /// What `line` (already free of colour codes and line ends) says, if anything of interest.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<Event<'a>> {
        let Some(at) = self.stream_id.find(line) else {
            return self
                .default_layout_message(line)
                .and_then(|message| self.parse_message(b"", message))
                .or_else(|| self.uvicorn_client_start(line));
        };
        let after = &line[at + b"streamId=".len()..];
        let stream_end = after
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(after.len());
        let stream = &after[..stream_end];
        // The seed's `streamId=(\S*)\s+-\s+`: the id, then " - ", then the message.
        let rest = trim_start(&after[stream_end..]);
        let message = match rest.split_first() {
            Some((b'-', message)) if message.first().is_some_and(u8::is_ascii_whitespace) => {
                trim_start(message)
            }
            _ => return None,
        };
        // An empty id, or the placeholder a default binding leaves outside any connection
        // (`logger.configure(extra={"streamId": "-"})`), names no stream.
        let stream = if stream == b"-" { &stream[..0] } else { stream };
        self.parse_message(stream, message)
    }

    /// The message of a line in loguru's default layout
    /// `{time} | {level: <8} | {name}:{function}:{line} - {message}`: the `name:function:line`
    /// field follows a ` | ` (the second of the line, or a later one after a `docker compose
    /// logs` prefix) and holds no space; ` - ` follows it.
    fn default_layout_message<'a>(&self, line: &'a [u8]) -> Option<&'a [u8]> {
        let mut at = 0;
        for separator in 0..MAX_LAYOUT_SEPARATORS {
            at += self.field_separator.find(&line[at..])? + 3;
            if separator == 0 {
                continue;
            }
            let field = &line[at..];
            let space = memchr::memchr(b' ', field)?;
            if let Some(message) = field[space..].strip_prefix(b" - ") {
                return Some(message);
            }
        }
        None
    }

    fn parse_message<'a>(&self, stream: &'a [u8], message: &'a [u8]) -> Option<Event<'a>> {
        let token_end = message
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(message.len());
        let token = &message[..token_end];
        // A processor's name, `Name#N`; followed by a colon when it introduces a free message
        // (`VADProcessor#0: User stopped speaking`) rather than a metric (`Name#N TTFB: …`).
        let (token, colon) = match token.strip_suffix(b":") {
            Some(token) => (token, true),
            None => (token, false),
        };
        let (name, has_instance) = split_instance(token)?;
        if !has_instance {
            return self.parse_non_service(stream, message);
        }
        let text = trim_start(&message[token_end..]);
        if text.starts_with(USER_STOPPED_SPEAKING) {
            let kind = StopKind::of(text);
            return Some(Event::UserStoppedSpeaking { stream, kind });
        }
        if colon && text.starts_with(INFERENCE_TRIGGERED) {
            let kind = StopKind::InferenceTriggered;
            return Some(Event::UserStoppedSpeaking { stream, kind });
        }
        if colon {
            return None;
        }
        let service = self.services.classify(name)?;
        parse_service_metric(stream, service, text, message)
    }

    fn parse_non_service<'a>(&self, stream: &'a [u8], message: &'a [u8]) -> Option<Event<'a>> {
        // A truth line that cannot be read: which part, and why.
        let rejected = |what, reason| Event::Rejected {
            stream,
            what,
            metric: None,
            reason,
            text: message,
        };
        if let Some(rest) = message.strip_prefix(AGENT_TURN_PREFIX.as_bytes()) {
            return Some(match parse_agent_turn(rest) {
                Ok(truth) => Event::AgentTurn { stream, truth },
                Err((what, reason)) => rejected(what, reason),
            });
        }
        if let Some(rest) = message.strip_prefix(AGENT_INTERRUPTION_PREFIX.as_bytes())
            && rest.first().is_some_and(u8::is_ascii_digit)
        {
            return Some(match parse_agent_interruption(rest) {
                Ok(truth) => Event::AgentInterruption { stream, truth },
                Err((what, reason)) => rejected(what, reason),
            });
        }
        if message.starts_with(USER_STOPPED_SPEAKING) {
            let kind = StopKind::of(message);
            return Some(Event::UserStoppedSpeaking { stream, kind });
        }
        for prefix in CLIENT_START_MESSAGES {
            if let Some(rest) = message.strip_prefix(prefix) {
                let id = first_token(rest);
                return is_client_stream_id(id).then_some(Event::ClientStart {
                    stream: id,
                    uvicorn: false,
                });
            }
        }
        None
    }

    /// uvicorn's access line `… "WebSocket /ws/client_1_1732700000000" [accepted]`.
    fn uvicorn_client_start<'a>(&self, line: &'a [u8]) -> Option<Event<'a>> {
        let at = self.websocket.find(line)?;
        let path = &line[at + b"\"WebSocket ".len()..];
        let close = memchr::memchr(b'"', path)?;
        if !trim_start(&path[close + 1..]).starts_with(b"[accepted]") {
            return None;
        }
        let path = &path[..close];
        let id = match memchr::memrchr(b'/', path) {
            Some(slash) => &path[slash + 1..],
            None => path,
        };
        is_client_stream_id(id).then_some(Event::ClientStart {
            stream: id,
            uvicorn: true,
        })
    }
}

/// `text` is the message after the service's name; `message` the whole of it, quoted when a
/// value is rejected.
fn parse_service_metric<'a>(
    stream: &'a [u8],
    service: Service,
    text: &'a [u8],
    message: &'a [u8],
) -> Option<Event<'a>> {
    let metric = |kind: MetricKind, value: &'a [u8]| match parse_seconds(value) {
        Ok(value) => Event::Metric {
            stream,
            kind,
            value,
        },
        Err(reason) => Event::Rejected {
            stream,
            what: kind.label(),
            metric: Some(kind),
            reason,
            text: message,
        },
    };
    if let Some(value) = text.strip_prefix(b"TTFB:") {
        let kind = match service {
            Service::Llm => MetricKind::LlmTtfb,
            Service::Tts => MetricKind::TtsTtfb,
            Service::Asr => MetricKind::AsrTtfb,
        };
        return Some(metric(kind, value));
    }
    if let Some(value) = text.strip_prefix(b"processing time:") {
        let kind = match service {
            Service::Llm => MetricKind::LlmProcessingTime,
            Service::Tts => MetricKind::TtsProcessingTime,
            Service::Asr => return None,
        };
        return Some(metric(kind, value));
    }
    match service {
        Service::Asr => {
            let value = text.strip_prefix(b"ASR compute latency:")?;
            Some(metric(MetricKind::AsrLatency, value))
        }
        Service::Llm => {
            if let Some(value) = text.strip_prefix(b"LLM first sentence generation time:") {
                return Some(metric(MetricKind::LlmFirstSentence, value));
            }
            if let Some(value) = text.strip_prefix(b"TTFAT:") {
                return Some(metric(MetricKind::LlmTtfat, value));
            }
            // The seed's `.*completion tokens:\s+(\d+)`, e.g. "prompt tokens: 11, completion tokens: 16".
            let at = memmem::find(text, b"completion tokens:")?;
            let value = first_token(trim_start(&text[at + b"completion tokens:".len()..]));
            let digits = value.strip_suffix(b",").unwrap_or(value);
            Some(match parse_u64(digits) {
                Some(tokens) => Event::CompletionTokens { stream, tokens },
                None => Event::Rejected {
                    stream,
                    what: "LLM completion tokens",
                    metric: None,
                    reason: Rejection::Malformed,
                    text: message,
                },
            })
        }
        Service::Tts => None,
    }
}

/// `client_<n>_<digits>`, the seed's client stream ids.
pub fn is_client_stream_id(id: &[u8]) -> bool {
    let Some(rest) = id.strip_prefix(b"client_") else {
        return false;
    };
    let Some(underscore) = memchr::memchr(b'_', rest) else {
        return false;
    };
    let (n, digits) = (&rest[..underscore], &rest[underscore + 1..]);
    !n.is_empty()
        && !digits.is_empty()
        && n.iter().all(u8::is_ascii_digit)
        && digits.iter().all(u8::is_ascii_digit)
}

/// Reads a duration such as `0.300`, `0.300s` or `300ms` as seconds, in `0..=`[`MAX_DURATION_S`].
fn parse_seconds(text: &[u8]) -> Result<f64, Rejection> {
    let token = first_token(trim_start(text));
    // Divided, not multiplied by 1e-3: `151ms` is exactly the f64 nearest 0.151.
    let (number, per_second) = if let Some(number) = token.strip_suffix(b"ms") {
        (number, 1000.0)
    } else if let Some(number) = token.strip_suffix(b"s") {
        (number, 1.0)
    } else {
        (token, 1.0)
    };
    physical(parse_number(number)? / per_second, MAX_DURATION_S)
}

/// Reads a decimal number, or one of the words Python and Rust print for non-finite values
/// (`nan`, `inf`, `infinity`, any case, signed), so that those are told apart from text that
/// is no number at all. A number beyond f64's range (`1e400`) reads as infinite.
fn parse_number(text: &[u8]) -> Result<f64, Rejection> {
    let unsigned = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    let decimal = unsigned.iter().any(u8::is_ascii_digit)
        && unsigned
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    let word = [&b"nan"[..], b"inf", b"infinity"]
        .iter()
        .any(|w| unsigned.eq_ignore_ascii_case(w));
    if !decimal && !word {
        return Err(Rejection::Malformed);
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .ok_or(Rejection::Malformed)
}

/// `value` if a measurement can be it: finite, not negative, at most `ceiling`. `-0` is `0`.
pub fn physical(value: f64, ceiling: f64) -> Result<f64, Rejection> {
    if value.is_nan() {
        Err(Rejection::NotANumber)
    } else if value.is_infinite() {
        Err(Rejection::Infinite)
    } else if value < 0.0 {
        Err(Rejection::Negative)
    } else if value > ceiling {
        Err(Rejection::AboveCeiling)
    } else {
        Ok(value + 0.0)
    }
}

fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A truth line's Unix time, or why it cannot be one (`what` names the part).
fn unix(text: &[u8], what: &'static str) -> Result<f64, (&'static str, Rejection)> {
    parse_number(text)
        .and_then(|v| physical(v, MAX_UNIX_S))
        .map_err(|reason| (what, reason))
}

/// `{n}: last speech frame id {id} arrived at {t}, first reply frame sent at {t}, latency: {s}`;
/// on failure, what was wrong with which part.
fn parse_agent_turn(rest: &[u8]) -> Result<AgentTurnTruth, (&'static str, Rejection)> {
    const LINE: &str = "VoiceperfAgent turn line";
    let layout = (LINE, Rejection::Malformed);
    let (turn, rest) = split_once(rest, b": last speech frame id ").ok_or(layout)?;
    let (frame, rest) = split_once(rest, b" arrived at ").ok_or(layout)?;
    let (arrived, rest) = split_once(rest, b", first reply frame sent at ").ok_or(layout)?;
    let (sent, rest) = split_once(rest, b", latency: ").ok_or(layout)?;
    Ok(AgentTurnTruth {
        turn: parse_u64(turn).ok_or(layout)?,
        last_speech_frame_id: parse_u64(frame).ok_or(layout)?,
        speech_arrived_unix: unix(arrived, "VoiceperfAgent turn line's arrival time")?,
        first_reply_unix: unix(sent, "VoiceperfAgent turn line's reply time")?,
        latency_s: parse_seconds(rest)
            .map_err(|reason| ("VoiceperfAgent turn line's latency", reason))?,
    })
}

/// `{n}: speech start frame id {id} arrived at {t}, interruption sent at {t}, last reply frame
/// sent at {t|-}, …`; on failure, what was wrong with which part.
fn parse_agent_interruption(
    rest: &[u8],
) -> Result<AgentInterruptionTruth, (&'static str, Rejection)> {
    const LINE: &str = "VoiceperfAgent interruption line";
    let layout = (LINE, Rejection::Malformed);
    let (number, rest) = split_once(rest, b": speech start frame id ").ok_or(layout)?;
    let (frame, rest) = split_once(rest, b" arrived at ").ok_or(layout)?;
    let (arrived, rest) = split_once(rest, b", interruption sent at ").ok_or(layout)?;
    let (sent, rest) = split_once(rest, b", last reply frame sent at ").ok_or(layout)?;
    let last = first_token(rest);
    let last = last.strip_suffix(b",").unwrap_or(last);
    Ok(AgentInterruptionTruth {
        interruption: parse_u64(number).ok_or(layout)?,
        speech_start_frame_id: parse_u64(frame).ok_or(layout)?,
        speech_arrived_unix: unix(arrived, "VoiceperfAgent interruption line's arrival time")?,
        interruption_unix: unix(sent, "VoiceperfAgent interruption line's signal time")?,
        last_reply_frame_unix: match last {
            b"-" => None,
            value => Some(unix(
                value,
                "VoiceperfAgent interruption line's last frame time",
            )?),
        },
    })
}

fn split_once<'a>(text: &'a [u8], separator: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = memmem::find(text, separator)?;
    Some((&text[..at], &text[at + separator.len()..]))
}

fn trim_start(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    &text[start..]
}

fn first_token(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(text.len());
    &text[..end]
}

/// A log line's own timestamp, loguru's local wall-clock time (no zone), as milliseconds since
/// 1970-01-01 00:00:00 of that same wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogTime(pub i64);

impl LogTime {
    /// The wall-clock time as a chrono value.
    pub fn to_naive(self) -> Option<chrono::NaiveDateTime> {
        chrono::DateTime::from_timestamp_millis(self.0).map(|t| t.naive_utc())
    }

    /// From a chrono wall-clock value (sub-millisecond digits dropped).
    pub fn from_naive(time: chrono::NaiveDateTime) -> Self {
        LogTime(time.and_utc().timestamp_millis())
    }

    /// Seconds since the wall clock's epoch; plus the clock's offset from UTC this gives unix
    /// seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl std::fmt::Display for LogTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_naive() {
            Some(time) => write!(f, "{}", time.format("%Y-%m-%d %H:%M:%S%.3f")),
            None => write!(f, "{}ms", self.0),
        }
    }
}

/// Finds loguru's `YYYY-MM-DD HH:MM:SS[.fff]` in the head of a line (after any `docker compose
/// logs` prefix or docker's own RFC 3339 timestamp).
pub fn find_log_time(line: &[u8]) -> Option<LogTime> {
    let head = &line[..line.len().min(160)];
    let last_start = head.len().checked_sub(19)?;
    (0..=last_start)
        .filter(|&i| head[i].is_ascii_digit())
        .find_map(|i| parse_log_time_at(&head[i..]))
}

fn parse_log_time_at(b: &[u8]) -> Option<LogTime> {
    let separators_ok = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !separators_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut millis = 0;
    if matches!(b.get(19), Some(b'.' | b',')) {
        let digits: Vec<i64> = b[20..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .take(3)
            .map(|d| i64::from(d - b'0'))
            .collect();
        for (i, scale) in [100, 10, 1].iter().enumerate() {
            millis += digits.get(i).copied().unwrap_or(0) * scale;
        }
    }
    let days = days_from_civil(year, month, day);
    Some(LogTime(
        ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "2026-11-27 10:04:52.167 | DEBUG    | pipecat.processors.metrics:log:42 | streamId=client_3_1732700000000 - ";

    fn parse(message: &str) -> Option<Event<'static>> {
        let line: &'static str = Box::leak(format!("{PREFIX}{message}").into_boxed_str());
        LineParser::new(ServiceNames::default()).parse(line.as_bytes())
    }

    fn metric(message: &str) -> Option<(MetricKind, f64)> {
        match parse(message)? {
            Event::Metric { kind, value, .. } => Some((kind, value)),
            other => panic!("not a metric: {other:?}"),
        }
    }

    #[test]
    fn every_metric_line_of_the_reference() {
        use MetricKind::*;
        assert_eq!(
            metric("RivaASRService#0 ASR compute latency: 0.051"),
            Some((AsrLatency, 0.051))
        );
        assert_eq!(
            metric("RivaASRService#0 TTFB: 0.552"),
            Some((AsrTtfb, 0.552))
        );
        assert_eq!(
            metric("NvidiaLLMService#0 TTFB: 0.300"),
            Some((LlmTtfb, 0.3))
        );
        assert_eq!(
            metric("NvidiaLLMService#0 TTFAT: 0.301s (0.000s thinking)"),
            Some((LlmTtfat, 0.301))
        );
        assert_eq!(
            metric("NvidiaLLMService#0 LLM first sentence generation time: 0.358"),
            Some((LlmFirstSentence, 0.358))
        );
        assert_eq!(
            metric("NvidiaLLMService#12 processing time: 0.470s"),
            Some((LlmProcessingTime, 0.47))
        );
        assert_eq!(
            metric("RivaTTSService#0 TTFB: 0.151"),
            Some((TtsTtfb, 0.151))
        );
        assert_eq!(
            metric("RivaTTSService#7 processing time: 0.153"),
            Some((TtsProcessingTime, 0.153))
        );
        assert_eq!(
            metric("RivaTTSService#0 TTFB: 151ms"),
            Some((TtsTtfb, 0.151))
        );
        assert_eq!(
            parse("NvidiaLLMService#0 prompt tokens: 11, completion tokens: 16"),
            Some(Event::CompletionTokens {
                stream: b"client_3_1732700000000",
                tokens: 16
            })
        );
    }

    #[test]
    fn other_messages_are_ignored() {
        assert_eq!(parse("NvidiaLLMService#0 Generating chat: [...]"), None);
        assert_eq!(parse("SomeOtherService#0 TTFB: 0.3"), None);
        assert_eq!(parse("RivaTTSService#x TTFB: 0.3"), None);
        assert_eq!(parse("User started speaking"), None);
        assert_eq!(parse("VADProcessor#0: User started speaking"), None);
        assert_eq!(parse("ScriptedTTSService#0: Generating TTS [Sure.]"), None);
        assert_eq!(parse("RivaASRService#0 processing time: 0.3"), None);
        let parser = LineParser::new(ServiceNames::default());
        assert_eq!(parser.parse(b"plain text line"), None);
        assert_eq!(parser.parse(b"a - b - OpenAILLMService#0 TTFB: 0.3"), None);
        assert_eq!(
            parser.parse(b"x | streamId=abc-NvidiaLLMService#0 TTFB: 0.3"),
            None
        );
    }

    /// Every way pipecat words it: bare (older transports), after a processor's name with a
    /// colon (1.x's `VADProcessor`, `LLMUserAggregator`, `UserTurnProcessor`) or without one
    /// (Gladia's STT).
    #[test]
    fn user_stopped_speaking_lines() {
        let stopped = |message: &str| match parse(message) {
            Some(Event::UserStoppedSpeaking { stream, kind }) => {
                assert_eq!(stream, b"client_3_1732700000000");
                Some(kind)
            }
            _ => None,
        };
        assert_eq!(stopped("User stopped speaking"), Some(StopKind::VadStop));
        assert_eq!(
            stopped("VADProcessor#0: User stopped speaking"),
            Some(StopKind::VadStop)
        );
        assert_eq!(
            stopped(
                "LLMUserAggregator#12: User stopped speaking (strategy: TurnAnalyzerUserTurnStopStrategy#0)"
            ),
            Some(StopKind::TurnEnd)
        );
        assert_eq!(
            stopped(
                "UserTurnProcessor#0: User stopped speaking (strategy: SpeechTimeoutUserTurnStopStrategy#3)"
            ),
            Some(StopKind::TurnEnd)
        );
        assert_eq!(
            stopped("GladiaSTTService#0 User stopped speaking"),
            Some(StopKind::VadStop)
        );
        assert_eq!(
            stopped(
                "LLMUserAggregator#1: User turn inference triggered (strategy: TurnAnalyzerUserTurnStopStrategy#1)"
            ),
            Some(StopKind::InferenceTriggered)
        );
        assert_eq!(stopped("VADProcessor#x: User stopped speaking"), None);
    }

    /// loguru's default layout, as pipecat ships it: no stream id.
    #[test]
    fn default_layout_lines_have_no_stream() {
        let parser = LineParser::new(ServiceNames::default());
        let parse = |line: &'static str| parser.parse(line.as_bytes());
        assert_eq!(
            parse(
                "2026-12-03 09:16:34.517 | DEBUG    | pipecat.processors.metrics.frame_processor_metrics:stop_ttfb_metrics:175 - OpenAILLMService#0 TTFB: 0.301s"
            ),
            Some(Event::Metric {
                stream: b"",
                kind: MetricKind::LlmTtfb,
                value: 0.301
            })
        );
        assert_eq!(
            parse(
                "2026-12-03 09:16:34.215 | DEBUG    | pipecat.processors.aggregators.llm_response_universal:_on_user_turn_stopped:1497 - LLMUserAggregator#0: User stopped speaking (strategy: SpeechTimeoutUserTurnStopStrategy#0)"
            ),
            Some(Event::UserStoppedSpeaking {
                stream: b"",
                kind: StopKind::TurnEnd
            })
        );
        assert_eq!(
            parse(
                "2026-12-03 09:16:34.695 | DEBUG    | pipecat.processors.metrics.frame_processor_metrics:start_llm_usage_metrics:337 - OpenAILLMService#0 prompt tokens: 25, completion tokens: 8"
            ),
            Some(Event::CompletionTokens {
                stream: b"",
                tokens: 8
            })
        );
        assert_eq!(
            parse(
                "bot-1  | 2026-12-03 09:16:34.517 | DEBUG    | pipecat.processors.metrics.frame_processor_metrics:stop_ttfb_metrics:175 - CartesiaTTSService#0 TTFB: 0.125s"
            ),
            Some(Event::Metric {
                stream: b"",
                kind: MetricKind::TtsTtfb,
                value: 0.125
            })
        );
        // A message that itself contains " - " keeps it.
        assert_eq!(
            parse(
                "2026-12-03 09:16:34.695 | DEBUG    | m:f:1 - DeepgramSTTService#0 TTFB: 0.2 - late"
            ),
            Some(Event::Metric {
                stream: b"",
                kind: MetricKind::AsrTtfb,
                value: 0.2
            })
        );
        assert_eq!(
            parse("2026-12-03 09:16:34.695 | DEBUG    | m:f:1 - Pipeline started"),
            None
        );
        // An empty id and the `-` placeholder name no stream either.
        for line in [
            "x | streamId= - NvidiaLLMService#0 TTFB: 0.3",
            "x | streamId=- - NvidiaLLMService#0 TTFB: 0.3",
        ] {
            assert_eq!(
                parse(line),
                Some(Event::Metric {
                    stream: b"",
                    kind: MetricKind::LlmTtfb,
                    value: 0.3
                }),
                "{line}"
            );
        }
    }

    fn rejected(message: &str) -> Option<(Option<MetricKind>, Rejection)> {
        match parse(message)? {
            Event::Rejected { metric, reason, .. } => Some((metric, reason)),
            _ => None,
        }
    }

    #[test]
    fn malformed_values_are_reported() {
        for message in [
            "NvidiaLLMService#0 TTFB: abc",
            "NvidiaLLMService#0 TTFB: ",
            "NvidiaLLMService#0 TTFB: 0.3.4",
            "NvidiaLLMService#0 TTFB: --1",
            "NvidiaLLMService#0 TTFB: 1e",
            "NvidiaLLMService#0 TTFB: infinite",
            "NvidiaLLMService#0 prompt tokens: 11, completion tokens: many",
            "NvidiaLLMService#0 prompt tokens: 11, completion tokens: -3",
            "VoiceperfAgent turn 1: garbage",
        ] {
            assert_eq!(
                rejected(message).map(|(_, reason)| reason),
                Some(Rejection::Malformed),
                "{message}"
            );
        }
    }

    /// Numbers no measurement can be: told apart from text that is no number, each with its
    /// reason (issue 15: `TTFB: 1e308` made a mean of `inf`).
    #[test]
    fn non_physical_values_are_rejected_with_their_reason() {
        use MetricKind::*;
        use Rejection::*;
        for (message, metric, reason) in [
            ("NvidiaLLMService#0 TTFB: 1e308", LlmTtfb, AboveCeiling),
            ("NvidiaLLMService#0 TTFB: 3600.001", LlmTtfb, AboveCeiling),
            ("RivaTTSService#0 TTFB: 1e308ms", TtsTtfb, AboveCeiling),
            ("NvidiaLLMService#0 TTFB: -1", LlmTtfb, Negative),
            ("NvidiaLLMService#0 TTFB: -0.3s", LlmTtfb, Negative),
            ("NvidiaLLMService#0 TTFB: -1e-300", LlmTtfb, Negative),
            ("NvidiaLLMService#0 TTFB: NaN", LlmTtfb, NotANumber),
            ("NvidiaLLMService#0 TTFB: nan", LlmTtfb, NotANumber),
            ("NvidiaLLMService#0 TTFB: -nan", LlmTtfb, NotANumber),
            ("NvidiaLLMService#0 TTFB: inf", LlmTtfb, Infinite),
            ("NvidiaLLMService#0 TTFB: -Infinity", LlmTtfb, Infinite),
            ("NvidiaLLMService#0 TTFB: 1e400", LlmTtfb, Infinite),
            ("NvidiaLLMService#0 TTFB: 1e400ms", LlmTtfb, Infinite),
            (
                "RivaASRService#0 ASR compute latency: 1e308",
                AsrLatency,
                AboveCeiling,
            ),
            (
                "NvidiaLLMService#0 processing time: -0.5s",
                LlmProcessingTime,
                Negative,
            ),
            (
                "NvidiaLLMService#0 LLM first sentence generation time: inf",
                LlmFirstSentence,
                Infinite,
            ),
        ] {
            assert_eq!(rejected(message), Some((Some(metric), reason)), "{message}");
        }
        // The bounds themselves are values.
        assert_eq!(
            metric("NvidiaLLMService#0 TTFB: 3600"),
            Some((LlmTtfb, 3600.0))
        );
        assert_eq!(metric("NvidiaLLMService#0 TTFB: 0"), Some((LlmTtfb, 0.0)));
        let (_, zero) = metric("NvidiaLLMService#0 TTFB: -0.0").unwrap();
        assert!(zero == 0.0 && zero.is_sign_positive());
        assert_eq!(
            metric("NvidiaLLMService#0 TTFB: 3.6e6ms"),
            Some((LlmTtfb, 3600.0))
        );
        // Truth lines: impossible times and latencies say which part.
        let truth = |arrived: &str, sent: &str, latency: &str| match parse(&format!(
            "VoiceperfAgent turn 3: last speech frame id 412 arrived at {arrived}, first reply frame sent at {sent}, latency: {latency}"
        )) {
            Some(Event::Rejected { what, reason, .. }) => Some((what, reason)),
            _ => None,
        };
        assert_eq!(
            truth("1732700000.1", "1732700001.2", "1e308"),
            Some(("VoiceperfAgent turn line's latency", AboveCeiling))
        );
        assert_eq!(
            truth("NaN", "1732700001.2", "1.1"),
            Some(("VoiceperfAgent turn line's arrival time", NotANumber))
        );
        assert_eq!(
            truth("1732700000.1", "1e308", "1.1"),
            Some(("VoiceperfAgent turn line's reply time", AboveCeiling))
        );
        assert_eq!(
            truth("-1", "1732700001.2", "1.1"),
            Some(("VoiceperfAgent turn line's arrival time", Negative))
        );
        assert_eq!(truth("1732700000.1", "1732700001.2", "1.1"), None);
    }

    #[test]
    fn client_start_lines() {
        assert_eq!(
            parse("Accepting WebSocket connection for stream ID client_3_1732700000000"),
            Some(Event::ClientStart {
                stream: b"client_3_1732700000000",
                uvicorn: false,
            })
        );
        assert_eq!(
            parse("Accepted WebSocket connection for stream ID client_10_1"),
            Some(Event::ClientStart {
                stream: b"client_10_1",
                uvicorn: false,
            })
        );
        assert_eq!(
            parse("Accepting WebSocket connection for stream ID someone_else"),
            None
        );
        let parser = LineParser::new(ServiceNames::default());
        assert_eq!(
            parser.parse(
                b"INFO:     127.0.0.1:51234 - \"WebSocket /ws/client_1_1732700000000\" [accepted]"
            ),
            Some(Event::ClientStart {
                stream: b"client_1_1732700000000",
                uvicorn: true,
            })
        );
        assert_eq!(
            parser.parse(b"INFO:     127.0.0.1:51234 - \"WebSocket /ws/client_1_17\" 403"),
            None
        );
    }

    #[test]
    fn agent_truth_line() {
        let event = parse(
            "VoiceperfAgent turn 3: last speech frame id 412 arrived at 1732700000.123456, first reply frame sent at 1732700001.234567, latency: 1.111111",
        );
        assert_eq!(
            event,
            Some(Event::AgentTurn {
                stream: b"client_3_1732700000000",
                truth: AgentTurnTruth {
                    turn: 3,
                    last_speech_frame_id: 412,
                    speech_arrived_unix: 1732700000.123456,
                    first_reply_unix: 1732700001.234567,
                    latency_s: 1.111111,
                }
            })
        );
    }

    #[test]
    fn service_patterns() {
        let names = ServiceNames {
            llm: vec![ServicePattern::new("*LLMService").unwrap()],
            tts: vec![ServicePattern::new("Cartesia*Service").unwrap()],
            asr: vec![ServicePattern::new("DeepgramSTTService").unwrap()],
        };
        let parser = LineParser::new(names);
        let line = |m: &str| format!("{PREFIX}{m}");
        let kind = |m: &str| match parser.parse(line(m).as_bytes()) {
            Some(Event::Metric { kind, .. }) => Some(kind),
            _ => None,
        };
        assert_eq!(
            kind("OpenAILLMService#0 TTFB: 0.2"),
            Some(MetricKind::LlmTtfb)
        );
        assert_eq!(
            kind("CartesiaTTSService#1 TTFB: 0.2"),
            Some(MetricKind::TtsTtfb)
        );
        assert_eq!(
            kind("DeepgramSTTService#1 TTFB: 0.2"),
            Some(MetricKind::AsrTtfb)
        );
        assert_eq!(kind("NvidiaLLMServiceX#0 TTFB: 0.2"), None);
        let defaults = LineParser::new(ServiceNames::default());
        let default_kind = |m: &str| match defaults.parse(line(m).as_bytes()) {
            Some(Event::Metric { kind, .. }) => Some(kind),
            _ => None,
        };
        assert_eq!(
            default_kind("OpenAILLMService#0 TTFB: 0.2"),
            Some(MetricKind::LlmTtfb)
        );
        assert_eq!(
            default_kind("ElevenLabsHttpTTSService#2 TTFB: 0.2"),
            Some(MetricKind::TtsTtfb)
        );
        assert_eq!(
            default_kind("DeepgramSTTService#0 TTFB: 0.2"),
            Some(MetricKind::AsrTtfb)
        );
        assert_eq!(
            default_kind("WhisperSTTServiceMLX#0 TTFB: 0.2"),
            Some(MetricKind::AsrTtfb)
        );
        assert_eq!(
            default_kind("RivaASRService#0 ASR compute latency: 0.05"),
            Some(MetricKind::AsrLatency)
        );
        assert_eq!(default_kind("OpenAIImageGenService#0 TTFB: 0.2"), None);
        assert!(ServicePattern::new("").is_none());
        assert!(ServicePattern::new("a b").is_none());
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXcYYb"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"ab*ba", b"aba"));
        assert!(glob_match(b"ab*ba", b"abba"));
        assert!(glob_match(b"a**c", b"ac"));
        assert!(!glob_match(b"a*bc*c", b"abc"));
        assert!(glob_match(b"abc", b"abc"));
        assert!(!glob_match(b"abc", b"abcd"));
        assert!(glob_match(b"*LLMService", b"OpenAILLMService"));
        assert!(!glob_match(b"*LLMService", b"LLMServiceX"));
    }

    #[test]
    fn log_times() {
        let t = find_log_time(b"2026-11-27 10:04:52.167 | INFO").unwrap();
        assert_eq!(t.to_string(), "2026-11-27 10:04:52.167");
        let naive = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_milli_opt(10, 4, 52, 167)
            .unwrap();
        assert_eq!(t, LogTime::from_naive(naive));
        let docker = find_log_time(
            b"python-app-1  | 2026-11-27T09:04:52.1Z 2026-11-27 10:04:52.5 | INFO | x",
        )
        .unwrap();
        assert_eq!(docker.to_string(), "2026-11-27 10:04:52.500");
        assert_eq!(find_log_time(b"2026-13-27 10:04:52.167 |"), None);
        assert_eq!(find_log_time(b"no time here at all, none"), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn agent_interruption_line_round_trips_and_old_lines_are_ignored() {
        let parser = LineParser::new(ServiceNames::default());
        for last in [Some(1_732_700_001.431), None] {
            let truth = AgentInterruptionTruth {
                interruption: 2,
                speech_start_frame_id: 123,
                speech_arrived_unix: 1_732_700_001.25,
                interruption_unix: 1_732_700_001.452,
                last_reply_frame_unix: last,
            };
            let line = format!("{PREFIX}{truth}, stopped turn 3 after 14 reply frames");
            assert_eq!(
                parser.parse(line.as_bytes()),
                Some(Event::AgentInterruption {
                    stream: b"client_3_1732700000000",
                    truth
                }),
                "{line}"
            );
        }
        // The line of agents before the truth line existed says nothing parseable.
        let old = format!(
            "{PREFIX}VoiceperfAgent interruption: user started speaking, stopped turn 1 after 3 reply frames"
        );
        assert_eq!(parser.parse(old.as_bytes()), None);
        let broken = format!("{PREFIX}VoiceperfAgent interruption 2: speech start frame id x");
        assert!(matches!(
            parser.parse(broken.as_bytes()),
            Some(Event::Rejected {
                reason: Rejection::Malformed,
                ..
            })
        ));
    }

    #[test]
    fn agent_truth_line_round_trips_through_display() {
        let truth = AgentTurnTruth {
            turn: 7,
            last_speech_frame_id: 412,
            speech_arrived_unix: 1_732_700_000.123_456,
            first_reply_unix: 1_732_700_001.234_567,
            latency_s: 1.111_111,
        };
        let line = format!(
            "2026-11-27 10:04:52.167 | INFO     | voiceperf.agent:reply:1 | streamId=client_1_1 - {truth}"
        );
        let parser = LineParser::new(ServiceNames::default());
        assert_eq!(
            parser.parse(line.as_bytes()),
            Some(Event::AgentTurn {
                stream: b"client_1_1",
                truth
            })
        );
    }
}
