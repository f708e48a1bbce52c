//! One connection: incoming audio → VAD turns → simulated ASR, LLM and TTS → a reply streamed
//! on an absolute clock, with barge-in, RTVI messages, the NVIDIA-format log lines and faults.
//!
//! Everything a connection does runs in one task: a loop that reads the socket and fires the
//! actions due on its timeline, so ordering is exact and nothing needs locking.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::log::{Level, escape_stream_id};
use super::turns::{SpeechFrame, TurnDetector, TurnEvent};
use super::voice::ReplyAudio;
use super::{InterruptionRecord, ReplyRecord, Shared, bump};
use crate::audio::TARGET_RATE;
use crate::audio::riff;
use crate::protocol::rtvi::{self, Event, Metrics, TextKind, Timing, Tokens};
use crate::protocol::telephony::{BotSession, CallerEvent, Provider, WsMessage, WsRef};
use crate::protocol::{self, AudioRawFrame, Frame, FrameKind, InterruptionFrame};
use crate::serverlog::truth::{AgentInterruptionTruth, AgentTurnTruth};

/// Returns from the enclosing function unless the flow is `Continue`.
macro_rules! try_flow {
    ($flow:expr) => {
        match $flow {
            Flow::Continue => {}
            other => return other,
        }
    };
}

/// Where each kind of log line claims to come from (`module:function:line`), as in the NVIDIA
/// pipecat example's logs.
mod origin {
    pub const ACCEPT: &str = "__main__:websocket_endpoint:439";
    pub const ASR: &str = "nvidia_pipecat.services.riva_speech:_handle_transcript:371";
    pub const TTFB: &str =
        "pipecat.processors.metrics.frame_processor_metrics:stop_ttfb_metrics:97";
    pub const TTFAT: &str =
        "pipecat.processors.metrics.frame_processor_metrics:stop_ttfat_metrics:118";
    pub const PROCESSING: &str =
        "pipecat.processors.metrics.frame_processor_metrics:stop_processing_metrics:134";
    pub const USAGE: &str =
        "pipecat.processors.metrics.frame_processor_metrics:start_llm_usage_metrics:152";
    pub const SENTENCE: &str = "nvidia_pipecat.services.nvidia_llm:_process_context:208";
    pub const TRUTH: &str = "voiceperf.agent:first_reply_frame:0";
    pub const INTERRUPTION: &str = "voiceperf.agent:interruption:0";
    pub const VAD: &str = "voiceperf.agent:vad:0";
    pub const FAULT: &str = "voiceperf.agent:fault:0";
    pub const INPUT: &str = "voiceperf.agent:receive:0";
    pub const CLOSE: &str = "voiceperf.agent:disconnect:0";
    pub const CALL: &str = "voiceperf.agent:telephony:0";
}

/// Problems logged per connection before the rest are only counted.
const MAX_LOGGED_PROBLEMS: u32 = 20;
/// Delay between connecting and the first RTVI `metrics` message (as real servers do).
const RTVI_METRICS_DELAY: Duration = Duration::from_millis(450);
/// A client that lets a send block this long (its socket buffer full) is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Delay between connecting and the greeting.
const GREETING_DELAY: Duration = Duration::from_millis(300);
/// Bytes of the undecodable message sent by `--garbage-prob`: field 1 with wire type 7, which
/// no protobuf decoder accepts.
const GARBAGE: &[u8] = b"\x0fvoiceperf-garbage\xff\xff\xff";

/// The simulated conversation.
const USER_TEXT: &str = "(simulated transcript)";
const REPLY_TEXT: &str = "Sure, I can help with that. Here is a short answer from the voiceperf reference agent, paced like real speech.";
const FIRST_SENTENCE_TOKENS: u32 = 8;
const COMPLETION_TOKENS: u32 = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    RtviMetrics,
    Greeting,
    AsrDone,
    LlmFirstToken,
    LlmFirstSentence { ms: u32 },
    LlmDone { ms: u32 },
    TtsFirstAudio,
    TtsDone { ms: u32 },
    Chunk(usize),
}

/// A turn between the end of the user's speech and its reply's first audio frame.
struct Turn {
    n: u64,
    last: SpeechFrame,
    speech: Duration,
    early: bool,
    asr: Duration,
    llm_ttfb: Duration,
    tts_ttfb: Duration,
    slot: Option<GenerationSlot>,
    faults: TurnFaults,
}

#[derive(Debug, Clone, Copy, Default)]
struct TurnFaults {
    stall_before: Option<usize>,
    garbage_before: Option<usize>,
    drop_after: Option<usize>,
}

/// A reply (or greeting) being streamed.
struct Playback {
    audio: Arc<ReplyAudio>,
    turn: Option<u64>,
    faults: TurnFaults,
    t0: Instant,
    shift: Duration,
    sent: usize,
    /// When the last frame went out.
    last_sent_at: Option<Instant>,
}

impl Playback {
    /// When chunk `i` is due: the first two back to back, then one per chunk length.
    fn due(&self, i: usize) -> Instant {
        self.t0 + self.shift + self.audio.chunk * (i.saturating_sub(1) as u32)
    }

    /// When the last frame's audio has played out at the client.
    fn ends(&self) -> Instant {
        self.due(self.audio.len()) + self.audio.chunk
    }
}

/// A reply counted by the load model until its first audio is out.
struct GenerationSlot(Arc<Shared>);

impl GenerationSlot {
    fn acquire(shared: &Arc<Shared>) -> (Self, usize) {
        let now = shared.generating.fetch_add(1, Ordering::Relaxed) + 1;
        shared
            .counters
            .max_generating
            .fetch_max(now as u64, Ordering::Relaxed);
        (GenerationSlot(Arc::clone(shared)), now)
    }
}

impl Drop for GenerationSlot {
    fn drop(&mut self) {
        self.0.generating.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether the session goes on.
enum Flow {
    Continue,
    /// The peer is gone or the socket failed.
    Closed(String),
    /// A fault closes the socket without a close handshake.
    Dropped,
}

struct Session {
    shared: Arc<Shared>,
    ws: WebSocketStream<TcpStream>,
    stream: String,
    /// The bot's side of a telephony call (`None`: pipecat's protobuf protocol).
    call: Option<BotSession>,
    /// Caller audio messages received on a telephony call: message `n` is frame id `n`,
    /// the numbering of the provider's `chunk` (and bench's chunk ids).
    media_in: u64,
    /// A telephony call reached at `/ws`: named by its start message.
    unnamed: bool,
    instance: u64,
    rng: StdRng,
    detector: TurnDetector,
    timeline: BTreeMap<(Instant, u64), Action>,
    seq: u64,
    turns: u64,
    turn: Option<Turn>,
    playback: Option<Playback>,
    /// An early reply answered the speech segment still going on: its end starts no turn.
    early_segment: bool,
    /// Interruptions on this connection so far.
    interruptions: u64,
    /// Without interruptions: a user turn that ended while another was being generated; it
    /// begins once that one's first frame is out.
    queued: Option<(SpeechFrame, Duration)>,
    problems: u32,
    warned_format: bool,
    connected: Instant,
    /// When the last message of any kind (pongs included) came from the client.
    last_heard: Instant,
    /// When to check that the client is still there (with `--keepalive`).
    next_keepalive: Option<Instant>,
}

/// Serves one accepted WebSocket until it closes, fails, is dropped by a fault or the agent
/// stops.
pub(super) async fn run(
    ws: WebSocketStream<TcpStream>,
    stream_id: String,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let connected = Instant::now();
    let instance = shared.instances.fetch_add(1, Ordering::Relaxed);
    let stream = escape_stream_id(&stream_id);
    let options = &shared.options;
    let (start, stop_after) = (
        Duration::from_millis(options.vad_start_ms.into()),
        Duration::from_millis(options.vad_stop_ms.into()),
    );
    let call = options.protocol.provider().map(BotSession::new);
    let detector = match options.protocol.provider() {
        // Telephony audio is classified at its own rate (8 kHz; Vonage 16 kHz), as a pipecat
        // phone bot running an 8 kHz pipeline does.
        Some(provider) => {
            TurnDetector::with_rate(options.vad_mode, provider.wire_rate(), start, stop_after)
                .expect("every provider's wire rate is a VAD rate")
        }
        None => TurnDetector::new(options.vad_mode, start, stop_after),
    };
    let rng = StdRng::seed_from_u64(options.seed ^ fnv1a(stream_id.as_bytes()));
    let mut session = Session {
        shared: Arc::clone(&shared),
        ws,
        stream,
        call,
        media_in: 0,
        unnamed: stream_id.is_empty(),
        instance,
        rng,
        detector,
        timeline: BTreeMap::new(),
        seq: 0,
        turns: 0,
        turn: None,
        playback: None,
        early_segment: false,
        interruptions: 0,
        queued: None,
        problems: 0,
        warned_format: false,
        connected,
        last_heard: connected,
        next_keepalive: options.keepalive.map(|k| connected + k),
    };
    // A telephony call reached at `/ws` is named by its start message.
    if !session.unnamed {
        session.log_accept(connected);
    }
    if options.rtvi {
        session.schedule(connected + RTVI_METRICS_DELAY, Action::RtviMetrics);
    }
    // A telephony bot can speak only once the stream has started.
    if options.greeting && session.call.is_none() {
        session.schedule(connected + GREETING_DELAY, Action::Greeting);
    }
    let reason = session.serve(&mut stop).await;
    let seconds = session.connected.elapsed().as_secs_f64();
    session.log(
        Instant::now(),
        Level::Info,
        origin::CLOSE,
        format_args!(
            "Client disconnected ({reason}) after {seconds:.1} s and {} turns",
            session.turns
        ),
    );
}

impl Session {
    fn log_accept(&self, at: Instant) {
        self.log(
            at,
            Level::Info,
            origin::ACCEPT,
            format_args!(
                "Accepting WebSocket connection for stream ID {}",
                self.stream
            ),
        );
    }

    async fn serve(&mut self, stop: &mut watch::Receiver<bool>) -> String {
        loop {
            let deadline = self.timeline.first_key_value().map(|(&(at, _), _)| at);
            let flow = tokio::select! {
                biased;
                _ = stop.changed() => {
                    let close = CloseFrame { code: CloseCode::Away, reason: "agent shutting down".into() };
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        self.ws.send(Message::Close(Some(close))),
                    ).await;
                    return "agent shutting down".into();
                }
                message = self.ws.next() => {
                    let arrived = Instant::now();
                    if let Some(Ok(_)) = message {
                        self.last_heard = arrived;
                    }
                    match message {
                        None => Flow::Closed("closed by the client".into()),
                        Some(Ok(message)) => self.on_message(message, arrived).await,
                        Some(Err(WsError::Capacity(err))) => {
                            bump(&self.shared.counters.oversize_messages);
                            self.log(arrived, Level::Warning, origin::INPUT, format_args!(
                                "closing the connection: incoming message beyond the hard limit ({err})"
                            ));
                            let close = CloseFrame { code: CloseCode::Size, reason: "message too big".into() };
                            let _ = tokio::time::timeout(
                                Duration::from_secs(1),
                                self.ws.send(Message::Close(Some(close))),
                            ).await;
                            Flow::Closed("message beyond the hard size limit".into())
                        }
                        Some(Err(err)) => Flow::Closed(format!("socket error: {err}")),
                    }
                }
                _ = sleep_until(deadline) => self.fire_due().await,
                _ = sleep_until(self.next_keepalive) => self.keepalive().await,
            };
            match flow {
                Flow::Continue => {}
                Flow::Closed(reason) => return reason,
                Flow::Dropped => return "dropped by fault injection".into(),
            }
        }
    }

    /// Pings a client that has been silent for a keepalive interval; closes the connection of
    /// one silent for two (it answered no ping: gone without closing its socket, or stuck).
    async fn keepalive(&mut self) -> Flow {
        let Some(interval) = self.shared.options.keepalive else {
            self.next_keepalive = None;
            return Flow::Continue;
        };
        let now = Instant::now();
        let silent = now.saturating_duration_since(self.last_heard);
        if silent >= interval * 2 {
            let reason = format!(
                "no message or pong from the client for {:.1} s",
                silent.as_secs_f64()
            );
            self.log(
                now,
                Level::Warning,
                origin::CLOSE,
                format_args!("closing the connection: {reason}"),
            );
            let close = CloseFrame {
                code: CloseCode::Error,
                reason: "keepalive ping timeout".into(),
            };
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                self.ws.send(Message::Close(Some(close))),
            )
            .await;
            return Flow::Closed(reason);
        }
        if silent < interval {
            // Heard from recently: nothing to ask yet.
            self.next_keepalive = Some(self.last_heard + interval);
            return Flow::Continue;
        }
        self.next_keepalive = Some(now + interval);
        self.send(Message::Ping(Vec::new().into())).await
    }

    fn log(&self, at: Instant, level: Level, origin: &str, message: std::fmt::Arguments<'_>) {
        self.shared
            .log
            .write(at, level, origin, &self.stream, message);
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        self.seq += 1;
        self.timeline.insert((at, self.seq), action);
    }

    /// Logs a problem with the input (the first few per connection) and counts it.
    fn problem(&mut self, at: Instant, message: std::fmt::Arguments<'_>) {
        self.problems += 1;
        if self.problems <= MAX_LOGGED_PROBLEMS {
            self.log(at, Level::Warning, origin::INPUT, message);
        }
        if self.problems == MAX_LOGGED_PROBLEMS {
            self.log(
                at,
                Level::Warning,
                origin::INPUT,
                format_args!("further input problems on this connection are counted, not logged"),
            );
        }
    }

    async fn on_message(&mut self, message: Message, arrived: Instant) -> Flow {
        if self.call.is_some() {
            return self.on_call_message(message, arrived).await;
        }
        let counters = &self.shared.counters;
        match message {
            Message::Binary(bytes) => {
                bump(&counters.messages_received);
                let limit = self.shared.options.max_message_bytes;
                if bytes.len() > limit {
                    bump(&self.shared.counters.oversize_messages);
                    self.problem(
                        arrived,
                        format_args!(
                            "skipped a {} byte message (limit {limit} bytes)",
                            bytes.len()
                        ),
                    );
                    return Flow::Continue;
                }
                match protocol::decode(&bytes) {
                    Err(err) => {
                        bump(&self.shared.counters.malformed_frames);
                        self.problem(arrived, format_args!("skipped a malformed message: {err}"));
                        Flow::Continue
                    }
                    Ok(Frame { frame: None }) => {
                        bump(&self.shared.counters.unknown_frames);
                        Flow::Continue
                    }
                    Ok(Frame {
                        frame: Some(FrameKind::Audio(audio)),
                    }) => self.on_audio(&audio, arrived).await,
                    Ok(Frame { frame: Some(_) }) => {
                        bump(&self.shared.counters.other_frames);
                        Flow::Continue
                    }
                }
            }
            Message::Text(text) => {
                bump(&counters.messages_received);
                bump(&counters.malformed_frames);
                self.problem(
                    arrived,
                    format_args!(
                        "skipped a {} byte text message: the protocol sends binary protobuf frames",
                        text.len()
                    ),
                );
                Flow::Continue
            }
            Message::Close(_) => Flow::Continue,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Flow::Continue,
        }
    }

    /// A message of the provider's (telephony): start, caller audio, mark echo, stop.
    async fn on_call_message(&mut self, message: Message, arrived: Instant) -> Flow {
        let counters = &self.shared.counters;
        let size = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
            _ => return Flow::Continue,
        };
        bump(&counters.messages_received);
        let limit = self.shared.options.max_message_bytes;
        if size > limit {
            bump(&counters.oversize_messages);
            self.problem(
                arrived,
                format_args!("skipped a {size} byte message (limit {limit} bytes)"),
            );
            return Flow::Continue;
        }
        let Some(call) = self.call.as_mut() else {
            return Flow::Continue;
        };
        let decoded = match &message {
            Message::Text(text) => call.decode_caller(WsRef::Text(text.as_str())),
            Message::Binary(bytes) => call.decode_caller(WsRef::Binary(bytes)),
            _ => return Flow::Continue,
        };
        let event = match decoded {
            Ok(event) => event,
            Err(err) => {
                bump(&self.shared.counters.malformed_frames);
                self.problem(arrived, format_args!("skipped a malformed message: {err}"));
                return Flow::Continue;
            }
        };
        match event {
            CallerEvent::Audio(audio) => {
                self.media_in += 1;
                bump(&self.shared.counters.audio_frames);
                let id = self.media_in;
                self.on_samples(&audio.samples, id, arrived).await
            }
            CallerEvent::Start(start) => {
                if std::mem::take(&mut self.unnamed) {
                    let id = if start.stream_id.is_empty() {
                        format!("call-{}", self.instance)
                    } else {
                        start.stream_id.clone()
                    };
                    self.stream = escape_stream_id(&id);
                    self.log_accept(arrived);
                }
                let provider = self.shared.options.protocol;
                self.log(
                    arrived,
                    Level::Info,
                    origin::CALL,
                    format_args!(
                        "{provider} stream started: stream {:?}, call {:?}, caller audio {:?}, {} custom parameters",
                        start.stream_id,
                        start.call_id,
                        start.codec,
                        start.custom_parameters.len()
                    ),
                );
                if self.shared.options.greeting {
                    self.schedule(arrived + GREETING_DELAY, Action::Greeting);
                }
                Flow::Continue
            }
            CallerEvent::Mark(name) => {
                bump(&self.shared.counters.marks_received);
                self.log(
                    arrived,
                    Level::Debug,
                    origin::CALL,
                    format_args!("the caller played the reply up to mark {name:?}"),
                );
                Flow::Continue
            }
            CallerEvent::Stop => {
                self.log(
                    arrived,
                    Level::Info,
                    origin::CALL,
                    format_args!("the caller hung up (stop message)"),
                );
                let close = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "call ended".into(),
                };
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    self.ws.send(Message::Close(Some(close))),
                )
                .await;
                Flow::Closed("stop message from the caller".into())
            }
            CallerEvent::Connected | CallerEvent::Ignored => {
                bump(&self.shared.counters.other_frames);
                Flow::Continue
            }
        }
    }

    async fn on_audio(&mut self, audio: &AudioRawFrame, arrived: Instant) -> Flow {
        let pcm = match audio.pcm() {
            Ok(pcm) => pcm,
            Err(err) => {
                bump(&self.shared.counters.malformed_frames);
                self.problem(
                    arrived,
                    format_args!("skipped audio frame id {}: {err}", audio.id),
                );
                return Flow::Continue;
            }
        };
        if pcm.sample_rate != TARGET_RATE || pcm.channels != 1 {
            bump(&self.shared.counters.unsupported_audio);
            if !self.warned_format {
                self.warned_format = true;
                self.log(
                    arrived,
                    Level::Warning,
                    origin::INPUT,
                    format_args!(
                        "skipping audio at {} Hz with {} channels: input must be 16000 Hz mono (further frames counted, not logged)",
                        pcm.sample_rate, pcm.channels
                    ),
                );
            }
            return Flow::Continue;
        }
        bump(&self.shared.counters.audio_frames);
        let samples = riff::pcm16_from_bytes(pcm.bytes);
        self.on_samples(&samples, audio.id, arrived).await
    }

    /// Caller audio of message `id` into the turn detector.
    async fn on_samples(&mut self, samples: &[i16], id: u64, arrived: Instant) -> Flow {
        let events = self.detector.push(samples, id, arrived);
        for event in events {
            let flow = match event {
                TurnEvent::SpeechStarted { first } => self.on_speech_started(first).await,
                TurnEvent::SpeechStopped { last, speech } => {
                    self.on_speech_stopped(last, speech).await
                }
            };
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn on_speech_started(&mut self, first: SpeechFrame) -> Flow {
        let now = Instant::now();
        self.log(
            now,
            Level::Debug,
            origin::VAD,
            format_args!("User started speaking (from frame id {})", first.id),
        );
        if self.shared.options.rtvi {
            try_flow!(
                self.send_frame(&rtvi::event(Event::UserStartedSpeaking))
                    .await
            );
        }
        if self.shared.options.interruptions {
            try_flow!(self.barge_in(first).await);
        }
        self.early_segment = false;
        let roll: f64 = self.rng.random();
        if roll < self.shared.options.faults.early_reply_prob
            && self.turn.is_none()
            && let Some(last) = self.detector.last_speech()
        {
            bump(&self.shared.counters.early_replies);
            self.early_segment = true;
            self.begin_turn(last, Duration::ZERO, true, now);
        }
        Flow::Continue
    }

    async fn on_speech_stopped(&mut self, last: SpeechFrame, speech: Duration) -> Flow {
        let now = Instant::now();
        self.log(
            now,
            Level::Debug,
            origin::VAD,
            format_args!(
                "User stopped speaking (last speech frame id {}, {:.3} s after it)",
                last.id,
                now.saturating_duration_since(last.arrived).as_secs_f64()
            ),
        );
        if self.shared.options.rtvi {
            try_flow!(
                self.send_frame(&rtvi::event(Event::UserStoppedSpeaking))
                    .await
            );
        }
        if std::mem::take(&mut self.early_segment) {
            // Already answered (early): the end of this speech starts no new turn.
            return Flow::Continue;
        }
        if self.turn.is_some() {
            // Without interruptions the reply in generation goes on; this turn follows it.
            self.queued = Some((last, speech));
            return Flow::Continue;
        }
        self.begin_turn(last, speech, false, now);
        Flow::Continue
    }

    /// The user spoke (the VAD accepted speech from `first` on): stop whatever reply is on its
    /// way or playing, tell the client, and log the interruption's truth line.
    async fn barge_in(&mut self, first: SpeechFrame) -> Flow {
        let generating = self.turn.take();
        let playing = self.playback.take();
        self.queued = None;
        if generating.is_none() && playing.is_none() {
            return Flow::Continue;
        }
        self.timeline
            .retain(|_, action| matches!(action, Action::RtviMetrics));
        let frames = playing.as_ref().map_or(0, |p| p.sent);
        let what = match (&generating, &playing) {
            (Some(turn), _) => format!("turn {} before its first reply frame", turn.n),
            (None, Some(Playback { turn: Some(n), .. })) => {
                format!("turn {n} after {frames} reply frames")
            }
            _ => format!("the greeting after {frames} frames"),
        };
        if let Some(call) = &self.call {
            // Telephony: the provider is told to drop the audio it has queued.
            let clear = call.clear();
            try_flow!(self.send_wire(clear).await);
        } else {
            let id = self.shared.frame_ids.fetch_add(1, Ordering::Relaxed);
            let interruption = Frame {
                frame: Some(FrameKind::Interruption(InterruptionFrame {
                    id,
                    name: format!("InterruptionFrame#{id}"),
                })),
            };
            try_flow!(self.send_frame(&interruption).await);
        }
        let sent_at = Instant::now();
        bump(&self.shared.counters.interruptions);
        self.interruptions += 1;
        let clock = self.shared.clock;
        let truth = AgentInterruptionTruth {
            interruption: self.interruptions,
            speech_start_frame_id: first.id,
            speech_arrived_unix: clock.unix(first.arrived),
            interruption_unix: clock.unix(sent_at),
            last_reply_frame_unix: playing
                .as_ref()
                .and_then(|p| p.last_sent_at)
                .map(|t| clock.unix(t)),
        };
        self.log(
            sent_at,
            Level::Info,
            origin::INTERRUPTION,
            format_args!("{truth}, user started speaking, stopped {what}"),
        );
        self.shared.record_interruption(InterruptionRecord {
            stream_id: self.stream.clone(),
            truth,
            stopped_turn: match (&generating, &playing) {
                (Some(turn), _) => Some(turn.n),
                (None, Some(p)) => p.turn,
                (None, None) => None,
            },
            frames_sent: frames,
        });
        if self.shared.options.rtvi {
            try_flow!(self.send_frame(&rtvi::event(Event::BotInterrupted)).await);
            if playing.is_some() {
                try_flow!(
                    self.send_frame(&rtvi::event(Event::BotStoppedSpeaking))
                        .await
                );
            }
        }
        Flow::Continue
    }

    /// The user's turn ended (or an early reply fires): start the simulated pipeline.
    fn begin_turn(&mut self, last: SpeechFrame, speech: Duration, early: bool, now: Instant) {
        self.turns += 1;
        bump(&self.shared.counters.turns);
        let options = &self.shared.options;
        let asr = options.asr.sample(&mut self.rng);
        // Every turn draws the same random numbers whatever faults are on, so a seed replays.
        let faults = &options.faults;
        let chunks = self.shared.reply.len();
        let draws: [f64; 3] = [self.rng.random(), self.rng.random(), self.rng.random()];
        let positions: [usize; 3] = [
            self.rng.random_range(0..chunks.max(1)),
            self.rng.random_range(0..chunks.max(1)),
            self.rng.random_range(0..chunks.max(1)),
        ];
        let turn_faults = TurnFaults {
            // Stall strictly inside the reply, after the first two frames.
            stall_before: (draws[0] < faults.stall_prob && chunks > 3)
                .then(|| 2 + positions[0] % (chunks - 3)),
            garbage_before: (draws[1] < faults.garbage_prob && chunks > 1)
                .then(|| 1 + positions[1] % (chunks - 1)),
            // Drop after at least one frame and before the second half.
            drop_after: (draws[2] < faults.drop_prob)
                .then(|| 1 + positions[2] % (chunks / 2).max(1)),
        };
        if early {
            self.log(
                now,
                Level::Info,
                origin::FAULT,
                format_args!(
                    "VoiceperfAgent fault: early reply in turn {} (answering while the user still speaks)",
                    self.turns
                ),
            );
        }
        self.turn = Some(Turn {
            n: self.turns,
            last,
            speech,
            early,
            asr,
            llm_ttfb: Duration::ZERO,
            tts_ttfb: Duration::ZERO,
            slot: None,
            faults: turn_faults,
        });
        self.schedule(now + asr, Action::AsrDone);
    }

    /// Load factor for a reply while `generating` replies (itself included) are in generation.
    fn load_factor(&self, generating: usize) -> f64 {
        match self.shared.options.capacity {
            Some(capacity) if generating > capacity => generating as f64 / capacity as f64,
            _ => 1.0,
        }
    }

    async fn fire_due(&mut self) -> Flow {
        while let Some(entry) = self.timeline.first_entry() {
            let (due, _) = *entry.key();
            if due > Instant::now() {
                break;
            }
            let action = entry.remove();
            let flow = self.fire(action, due).await;
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn fire(&mut self, action: Action, due: Instant) -> Flow {
        let now = Instant::now();
        let i = self.instance;
        let rtvi = self.shared.options.rtvi;
        match action {
            Action::RtviMetrics => {
                let frame = rtvi::initial_metrics(&[
                    &format!("RivaASRService#{i}"),
                    &format!("NvidiaLLMService#{i}"),
                    &format!("RivaTTSService#{i}"),
                ]);
                return self.send_frame(&frame).await;
            }
            Action::Greeting => {
                if self.turn.is_some() || self.playback.is_some() || self.detector.in_speech() {
                    return Flow::Continue;
                }
                bump(&self.shared.counters.greetings);
                if rtvi {
                    try_flow!(
                        self.send_frame(&rtvi::event(Event::BotStartedSpeaking))
                            .await
                    );
                }
                self.playback = Some(Playback {
                    audio: Arc::clone(&self.shared.greeting),
                    turn: None,
                    faults: TurnFaults::default(),
                    t0: now,
                    shift: Duration::ZERO,
                    sent: 0,
                    last_sent_at: None,
                });
                return self.send_chunk(0, now).await;
            }
            Action::AsrDone => {
                let Some(turn) = self.turn.as_mut() else {
                    return Flow::Continue;
                };
                let asr = turn.asr.as_secs_f64();
                let ttfb = now
                    .saturating_duration_since(turn.last.arrived)
                    .as_secs_f64();
                let (slot, generating) = GenerationSlot::acquire(&self.shared);
                turn.slot = Some(slot);
                let factor = self.load_factor(generating);
                let turn = self.turn.as_mut().expect("checked above");
                turn.llm_ttfb = self
                    .shared
                    .options
                    .llm_ttfb
                    .sample(&mut self.rng)
                    .mul_f64(factor);
                let speech = turn.speech;
                let at = now + turn.llm_ttfb;
                self.log(
                    now,
                    Level::Debug,
                    origin::ASR,
                    format_args!("RivaASRService#{i} ASR compute latency: {asr:.3}"),
                );
                self.log(
                    now,
                    Level::Debug,
                    origin::TTFB,
                    format_args!("RivaASRService#{i} TTFB: {ttfb:.3}"),
                );
                if rtvi {
                    let text = format!("{USER_TEXT} {:.2} s of speech", speech.as_secs_f64());
                    let stamp = chrono::Utc::now().to_rfc3339();
                    try_flow!(
                        self.send_frame(&rtvi::user_transcription(
                            &text,
                            &self.stream.clone(),
                            &stamp,
                            true
                        ))
                        .await
                    );
                    try_flow!(
                        self.send_metrics(Metrics {
                            ttfb: vec![timing(format!("RivaASRService#{i}"), ttfb)],
                            ..Metrics::default()
                        })
                        .await
                    );
                }
                self.schedule(at, Action::LlmFirstToken);
            }
            Action::LlmFirstToken => {
                let generating = self.shared.generating.load(Ordering::Relaxed);
                let factor = self.load_factor(generating);
                let rate = self.shared.options.llm_tokens_per_sec;
                let Some(turn) = self.turn.as_mut() else {
                    return Flow::Continue;
                };
                turn.tts_ttfb = self
                    .shared
                    .options
                    .tts_ttfb
                    .sample(&mut self.rng)
                    .mul_f64(factor);
                let llm = turn.llm_ttfb.as_secs_f64();
                let tts_at = now + turn.tts_ttfb;
                let sentence = llm + f64::from(FIRST_SENTENCE_TOKENS) / rate;
                let processing = llm + f64::from(COMPLETION_TOKENS) / rate;
                self.log(
                    now,
                    Level::Debug,
                    origin::TTFB,
                    format_args!("NvidiaLLMService#{i} TTFB: {llm:.3}"),
                );
                self.log(
                    now,
                    Level::Debug,
                    origin::TTFAT,
                    format_args!(
                        "NvidiaLLMService#{i} TTFAT: {:.3}s (0.000s thinking)",
                        llm + 0.001
                    ),
                );
                self.schedule(tts_at, Action::TtsFirstAudio);
                self.schedule(
                    now + Duration::from_secs_f64(sentence - llm),
                    Action::LlmFirstSentence {
                        ms: (sentence * 1000.0).round() as u32,
                    },
                );
                self.schedule(
                    now + Duration::from_secs_f64(processing - llm),
                    Action::LlmDone {
                        ms: (processing * 1000.0).round() as u32,
                    },
                );
                if rtvi {
                    try_flow!(
                        self.send_metrics(Metrics {
                            ttfb: vec![timing(format!("NvidiaLLMService#{i}"), llm)],
                            ..Metrics::default()
                        })
                        .await
                    );
                    try_flow!(self.send_frame(&rtvi::event(Event::BotLlmStarted)).await);
                    let first = REPLY_TEXT.split_inclusive('.').next().unwrap_or(REPLY_TEXT);
                    try_flow!(
                        self.send_frame(&rtvi::text(TextKind::BotLlmText, first))
                            .await
                    );
                }
            }
            Action::LlmFirstSentence { ms } => {
                let secs = f64::from(ms) / 1000.0;
                self.log(
                    now,
                    Level::Debug,
                    origin::SENTENCE,
                    format_args!(
                        "NvidiaLLMService#{i} LLM first sentence generation time: {secs:.3}"
                    ),
                );
            }
            Action::LlmDone { ms } => {
                let secs = f64::from(ms) / 1000.0;
                let prompt = 11 + (self.turns * 7) % 13;
                self.log(now, Level::Debug, origin::USAGE, format_args!("NvidiaLLMService#{i} prompt tokens: {prompt}, completion tokens: {COMPLETION_TOKENS}"));
                self.log(
                    now,
                    Level::Debug,
                    origin::PROCESSING,
                    format_args!("NvidiaLLMService#{i} processing time: {secs:.3}"),
                );
                if rtvi {
                    try_flow!(
                        self.send_metrics(Metrics {
                            processing: vec![timing(format!("NvidiaLLMService#{i}"), secs)],
                            ..Metrics::default()
                        })
                        .await
                    );
                    try_flow!(
                        self.send_metrics(Metrics {
                            tokens: vec![Tokens {
                                prompt_tokens: prompt,
                                completion_tokens: u64::from(COMPLETION_TOKENS),
                                total_tokens: prompt + u64::from(COMPLETION_TOKENS),
                                ..Tokens::default()
                            }],
                            ..Metrics::default()
                        })
                        .await
                    );
                    try_flow!(self.send_frame(&rtvi::event(Event::BotLlmStopped)).await);
                }
            }
            Action::TtsFirstAudio => {
                let Some((faults, n, tts)) =
                    self.turn.as_ref().map(|t| (t.faults, t.n, t.tts_ttfb))
                else {
                    return Flow::Continue;
                };
                if let Some(playing) = &self.playback {
                    // Without interruptions a reply (or the greeting) is still playing: this
                    // one follows it.
                    let at = playing.ends().max(now);
                    self.schedule(at, Action::TtsFirstAudio);
                    return Flow::Continue;
                }
                if rtvi {
                    try_flow!(
                        self.send_metrics(Metrics {
                            ttfb: vec![timing(format!("RivaTTSService#{i}"), tts.as_secs_f64())],
                            ..Metrics::default()
                        })
                        .await
                    );
                    try_flow!(
                        self.send_frame(&rtvi::event(Event::BotStartedSpeaking))
                            .await
                    );
                    try_flow!(
                        self.send_frame(&rtvi::text(TextKind::BotTtsText, REPLY_TEXT))
                            .await
                    );
                }
                self.playback = Some(Playback {
                    audio: Arc::clone(&self.shared.reply),
                    turn: Some(n),
                    faults,
                    t0: Instant::now(),
                    shift: Duration::ZERO,
                    sent: 0,
                    last_sent_at: None,
                });
                let t0 = self.playback.as_ref().map_or(now, |p| p.t0);
                return self.send_chunk(0, t0).await;
            }
            Action::TtsDone { ms } => {
                let secs = f64::from(ms) / 1000.0;
                self.log(
                    now,
                    Level::Debug,
                    origin::PROCESSING,
                    format_args!("RivaTTSService#{i} processing time: {secs:.3}"),
                );
                if rtvi {
                    let processor = format!("RivaTTSService#{i}");
                    try_flow!(
                        self.send_metrics(Metrics {
                            processing: vec![timing(processor.clone(), secs)],
                            ..Metrics::default()
                        })
                        .await
                    );
                    try_flow!(
                        self.send_metrics(Metrics {
                            characters: vec![rtvi::Characters {
                                processor,
                                model: None,
                                value: REPLY_TEXT.chars().count() as u64,
                            }],
                            ..Metrics::default()
                        })
                        .await
                    );
                }
            }
            Action::Chunk(index) => return self.send_chunk(index, due).await,
        }
        Flow::Continue
    }

    /// Sends reply chunk `index` (due at `due`), applying this reply's faults, and schedules
    /// the next one.
    async fn send_chunk(&mut self, index: usize, due: Instant) -> Flow {
        let Some(playback) = self.playback.as_mut() else {
            return Flow::Continue;
        };
        let turn_n = playback.turn;
        if playback.faults.stall_before == Some(index) {
            playback.faults.stall_before = None;
            let stall = Duration::from_millis(self.shared.options.faults.stall_ms.into());
            playback.shift += stall;
            let at = playback.due(index);
            bump(&self.shared.counters.stalls);
            self.log(
                Instant::now(),
                Level::Info,
                origin::FAULT,
                format_args!(
                    "VoiceperfAgent fault: stall of {} ms before reply frame {} of turn {}",
                    stall.as_millis(),
                    index + 1,
                    turn_n.unwrap_or(0)
                ),
            );
            self.schedule(at, Action::Chunk(index));
            return Flow::Continue;
        }
        if playback.faults.garbage_before == Some(index) {
            playback.faults.garbage_before = None;
            let garbage = match self.shared.options.protocol.provider() {
                // Not JSON (Vonage: binary audio of an odd byte count).
                Some(Provider::Vonage) | None => Message::binary(GARBAGE.to_vec()),
                Some(_) => Message::text(String::from_utf8_lossy(GARBAGE).into_owned()),
            };
            try_flow!(self.send(garbage).await);
            bump(&self.shared.counters.garbage_frames);
            self.log(
                Instant::now(),
                Level::Info,
                origin::FAULT,
                format_args!(
                    "VoiceperfAgent fault: undecodable frame sent before reply frame {} of turn {}",
                    index + 1,
                    turn_n.unwrap_or(0)
                ),
            );
        }
        let Some(playback) = self.playback.as_ref() else {
            return Flow::Continue;
        };
        let audio = Arc::clone(&playback.audio);
        let message = match &self.call {
            Some(call) => wire_message(call.media(&riff::pcm16_from_bytes(&audio.payloads[index]))),
            None => {
                let id = self.shared.frame_ids.fetch_add(1, Ordering::Relaxed);
                let frame = Frame {
                    frame: Some(FrameKind::Audio(AudioRawFrame {
                        id,
                        name: format!("OutputAudioRawFrame#{id}"),
                        audio: audio.payloads[index].clone(),
                        sample_rate: audio.sample_rate,
                        num_channels: 1,
                        pts: None,
                    })),
                };
                Message::binary(protocol::encode(&frame))
            }
        };
        try_flow!(self.send(message).await);
        let sent_at = Instant::now();
        bump(&self.shared.counters.reply_frames_sent);
        self.shared
            .record_lateness(sent_at.saturating_duration_since(due).as_secs_f64() * 1000.0);
        let Some(playback) = self.playback.as_mut() else {
            return Flow::Continue;
        };
        playback.sent += 1;
        playback.last_sent_at = Some(sent_at);
        let sent = playback.sent;
        let drop_after = playback.faults.drop_after;
        let next_due = playback.due(index + 1);
        if index == 0 {
            self.first_frame_sent(sent_at);
        }
        if drop_after == Some(sent) {
            bump(&self.shared.counters.drops);
            self.log(
                Instant::now(),
                Level::Info,
                origin::FAULT,
                format_args!(
                    "VoiceperfAgent fault: dropping the connection in turn {} after {sent} reply frames",
                    turn_n.unwrap_or(0)
                ),
            );
            return Flow::Dropped;
        }
        if index + 1 < audio.len() {
            self.schedule(next_due, Action::Chunk(index + 1));
        } else {
            self.playback = None;
            if turn_n.is_some() {
                bump(&self.shared.counters.replies_completed);
            }
            // Twilio: a mark after the reply, echoed by the provider once it has played.
            let mark = match turn_n {
                Some(n) => format!("reply-{n}"),
                None => "greeting".to_string(),
            };
            if let Some(mark) = self.call.as_ref().and_then(|call| call.mark(&mark)) {
                try_flow!(self.send_wire(mark).await);
            }
            if self.shared.options.rtvi {
                try_flow!(
                    self.send_frame(&rtvi::event(Event::BotStoppedSpeaking))
                        .await
                );
            }
        }
        Flow::Continue
    }

    /// Bookkeeping when a reply's (or greeting's) first audio frame is on the wire.
    fn first_frame_sent(&mut self, sent_at: Instant) {
        let clock = self.shared.clock;
        let Some(turn) = self.turn.take() else {
            self.log(
                sent_at,
                Level::Info,
                origin::TRUTH,
                format_args!(
                    "VoiceperfAgent greeting: first reply frame sent at {:.6}",
                    clock.unix(sent_at)
                ),
            );
            return;
        };
        drop(turn.slot);
        bump(&self.shared.counters.replies_started);
        let i = self.instance;
        let tts = turn.tts_ttfb.as_secs_f64();
        self.log(
            sent_at,
            Level::Debug,
            origin::TTFB,
            format_args!("RivaTTSService#{i} TTFB: {tts:.3}"),
        );
        let arrived = clock.unix(turn.last.arrived);
        let sent = clock.unix(sent_at);
        let latency = sent_at
            .saturating_duration_since(turn.last.arrived)
            .as_secs_f64();
        let truth = AgentTurnTruth {
            turn: turn.n,
            last_speech_frame_id: turn.last.id,
            speech_arrived_unix: arrived,
            first_reply_unix: sent,
            latency_s: latency,
        };
        self.log(sent_at, Level::Info, origin::TRUTH, format_args!("{truth}"));
        let truth = ReplyRecord {
            stream_id: self.stream.clone(),
            truth,
            asr_s: turn.asr.as_secs_f64(),
            llm_ttfb_s: turn.llm_ttfb.as_secs_f64(),
            tts_ttfb_s: tts,
            early: turn.early,
        };
        self.shared.record_turn(truth);
        // Synthesis runs at about 50x real time after the first audio.
        let processing = tts + self.shared.reply.duration().as_secs_f64() / 50.0;
        self.schedule(
            sent_at + Duration::from_secs_f64(processing - tts),
            Action::TtsDone {
                ms: (processing * 1000.0).round() as u32,
            },
        );
        if let Some((last, speech)) = self.queued.take() {
            self.begin_turn(last, speech, false, sent_at);
        }
    }

    async fn send_metrics(&mut self, metrics: Metrics) -> Flow {
        self.send_frame(&rtvi::metrics(&metrics)).await
    }

    async fn send_wire(&mut self, message: WsMessage) -> Flow {
        self.send(wire_message(message)).await
    }

    async fn send_frame(&mut self, frame: &Frame) -> Flow {
        self.send_bytes(protocol::encode(frame)).await
    }

    async fn send_bytes(&mut self, bytes: Vec<u8>) -> Flow {
        self.send(Message::binary(bytes)).await
    }

    /// Sends one message; a client that lets it block for [`SEND_TIMEOUT`] is disconnected.
    async fn send(&mut self, message: Message) -> Flow {
        match tokio::time::timeout(SEND_TIMEOUT, self.ws.send(message)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(err)) => Flow::Closed(format!("sending failed: {err}")),
            Err(_) => Flow::Closed(format!(
                "the client stopped reading (a send blocked for {} s)",
                SEND_TIMEOUT.as_secs()
            )),
        }
    }
}

/// A TTFB or processing entry of `processor`, in seconds (pipecat sends 3 decimals' worth of
/// float; the agent's own value, unrounded).
fn timing(processor: String, value: f64) -> Timing {
    Timing {
        processor,
        model: None,
        value,
    }
}

/// A telephony message as a WebSocket message.
fn wire_message(message: WsMessage) -> Message {
    match message {
        WsMessage::Text(text) => Message::text(text),
        WsMessage::Binary(bytes) => Message::binary(bytes),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// FNV-1a: a stable hash of the stream id, so a seed replays the same draws per stream.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
