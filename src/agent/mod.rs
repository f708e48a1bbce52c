//! `voiceperf agent`: a reference voice agent speaking pipecat's protobuf WebSocket protocol.
//!
//! Each connection runs the pipeline a pipecat agent runs — WebRTC VAD turn detection, then
//! simulated ASR, LLM and TTS delays — and streams a reply paced in real time. It logs in the
//! NVIDIA pipecat format and adds one truth line per reply (last user speech frame → first reply
//! frame, both timed at the socket), so a benchmark client can be checked against it. Faults
//! (stalls, early replies, dropped connections, garbage frames) and a GPU-like load model can be
//! switched on.
//!
//! Use [`run`] from the command line, or [`start`] inside an existing tokio runtime.

pub mod log;
mod server;
mod session;
pub mod turns;
pub mod voice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use tokio::sync::watch;

use self::log::Level;
pub use self::log::{LogTarget, MemoryLog, SharedWriter};
use self::voice::ReplyAudio;
use crate::audio::vad::VadMode;
use crate::clock::UnixClock;
use crate::delay::Delay;
use crate::protocol::Protocol;
use crate::serverlog::truth::{AgentInterruptionTruth, AgentTurnTruth};
use crate::stats::Summary;
use crate::{CliError, Outcome};

/// Fault injection: each probability applies per turn (0 = never, 1 = every turn).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Faults {
    /// Chance of a pause of `stall_ms` inside a reply (a client hears a glitch).
    pub stall_prob: f64,
    /// Length of an injected stall.
    pub stall_ms: u32,
    /// Chance that the agent answers as soon as the user starts speaking (reverse barge-in).
    pub early_reply_prob: f64,
    /// Chance that the agent closes the socket abruptly in the middle of a reply.
    pub drop_prob: f64,
    /// Chance that an undecodable binary message is sent inside a reply.
    pub garbage_prob: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            stall_prob: 0.0,
            stall_ms: 300,
            early_reply_prob: 0.0,
            drop_prob: 0.0,
            garbage_prob: 0.0,
        }
    }
}

impl Faults {
    /// Whether any fault can happen.
    pub fn any(&self) -> bool {
        self.stall_prob > 0.0
            || self.early_reply_prob > 0.0
            || self.drop_prob > 0.0
            || self.garbage_prob > 0.0
    }
}

/// Validated options of `voiceperf agent`; build them in code with `..Default::default()`.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The wire protocol served: pipecat's protobuf frames, or a telephony provider's media
    /// stream (the agent plays the bot's side).
    pub protocol: Protocol,
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// How strict the VAD is.
    pub vad_mode: VadMode,
    /// Speech needed before the user counts as speaking, in ms.
    pub vad_start_ms: u32,
    /// Non-speech needed before the user's turn ends, in ms.
    pub vad_stop_ms: u32,
    /// Simulated ASR time after the end of the turn.
    pub asr: Delay,
    /// Simulated LLM time to first token (before any load penalty).
    pub llm_ttfb: Delay,
    /// Simulated TTS time to first audio (before any load penalty).
    pub tts_ttfb: Delay,
    /// LLM generation speed after the first token (for the logged generation times).
    pub llm_tokens_per_sec: f64,
    /// Length of each reply audio frame, in ms.
    pub chunk_ms: u32,
    /// Reply sample rate; `None` = the `reply` file's rate, or 16000 for the built-in voice.
    pub sample_rate: Option<u32>,
    /// Wrap each reply chunk in its own WAV header (pipecat's `add_wav_header`).
    pub wav_header: bool,
    /// A 16-bit PCM WAV file to reply with instead of the built-in voice.
    pub reply: Option<PathBuf>,
    /// Greet each connection with a short clip shortly after it opens.
    pub greeting: bool,
    /// Send RTVI-like JSON messages (metrics, bot-started-speaking, transcriptions…).
    pub rtvi: bool,
    /// User speech the VAD accepts while a reply is on its way or playing stops it (pipecat's
    /// `allow_interruptions`); when off, the reply plays out and the new query's reply follows.
    pub interruptions: bool,
    /// Replies that can be generated at once before LLM/TTS TTFB grows with the queue.
    pub capacity: Option<usize>,
    /// Fault injection.
    pub faults: Faults,
    /// Seed of all random draws (delays and faults), mixed with each stream id.
    pub seed: u64,
    /// Larger incoming messages are skipped and counted (the connection goes on).
    pub max_message_bytes: usize,
    /// Connections beyond this are refused with HTTP 503.
    pub max_connections: usize,
    /// Ping a connection after this long without a message, and close it when nothing (not even
    /// a pong) arrived for twice as long — a peer that vanished without closing its socket must
    /// not hold a connection forever (uvicorn's default: 20 s). `None`: never.
    pub keepalive: Option<Duration>,
    /// Where the log goes.
    pub log: LogTarget,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            protocol: Protocol::Pipecat,
            host: crate::protocol::DEFAULT_HOST.into(),
            port: crate::protocol::DEFAULT_PORT,
            vad_mode: VadMode::Aggressive,
            vad_start_ms: 200,
            vad_stop_ms: 500,
            asr: Delay::fixed(50.0),
            llm_ttfb: Delay::fixed(300.0),
            tts_ttfb: Delay::fixed(150.0),
            llm_tokens_per_sec: 100.0,
            chunk_ms: 40,
            sample_rate: None,
            wav_header: false,
            reply: None,
            greeting: false,
            rtvi: false,
            interruptions: true,
            capacity: None,
            faults: Faults::default(),
            seed: 0,
            max_message_bytes: 1 << 20,
            max_connections: 4096,
            keepalive: Some(Duration::from_secs(20)),
            log: LogTarget::Stderr,
        }
    }
}

impl AgentOptions {
    /// Checks ranges and combinations; problems are usage errors.
    pub fn validate(&self) -> Result<(), CliError> {
        let usage = |msg: String| Err(CliError::Usage(msg));
        for (name, p) in [
            ("--stall-prob", self.faults.stall_prob),
            ("--early-reply-prob", self.faults.early_reply_prob),
            ("--drop-prob", self.faults.drop_prob),
            ("--garbage-prob", self.faults.garbage_prob),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return usage(format!("{name} {p} is not a probability between 0 and 1"));
            }
        }
        if !(10..=1000).contains(&self.chunk_ms) {
            return usage(format!(
                "--chunk-ms {} must be between 10 and 1000",
                self.chunk_ms
            ));
        }
        if let Some(rate) = self.sample_rate
            && !(8000..=96_000).contains(&rate)
        {
            return usage(format!(
                "--sample-rate {rate} must be between 8000 and 96000"
            ));
        }
        if let Some(provider) = self.protocol.provider() {
            if self.rtvi {
                return usage(format!(
                    "--rtvi cannot be used with --protocol {provider}: telephony streams carry no RTVI messages"
                ));
            }
            if self.wav_header {
                return usage(format!(
                    "--wav-header cannot be used with --protocol {provider}: telephony audio is raw"
                ));
            }
            if let Some(rate) = self.sample_rate
                && rate != provider.wire_rate()
            {
                return usage(format!(
                    "--sample-rate {rate}: {provider} audio is {} Hz",
                    provider.wire_rate()
                ));
            }
        }
        if self.vad_start_ms > 10_000 || self.vad_stop_ms > 10_000 {
            return usage("--vad-start-ms and --vad-stop-ms must be at most 10000".into());
        }
        if self.capacity == Some(0) {
            return usage("--capacity must be at least 1".into());
        }
        // Below 0.1 token/s the simulated generation would last longer than any timer holds.
        if !(0.1..=1e9).contains(&self.llm_tokens_per_sec) {
            return usage(format!(
                "--llm-tokens-per-sec {} must be between 0.1 and 1e9",
                self.llm_tokens_per_sec
            ));
        }
        for (name, delay) in [
            ("--asr-ms", &self.asr),
            ("--llm-ttfb-ms", &self.llm_ttfb),
            ("--tts-ttfb-ms", &self.tts_ttfb),
        ] {
            if let Err(reason) = delay.check() {
                return usage(format!("{name} {delay}: {reason}"));
            }
        }
        if self.max_message_bytes < 1024 {
            return usage("--max-message-bytes must be at least 1024".into());
        }
        if self.max_connections == 0 {
            return usage("--max-connections must be at least 1".into());
        }
        if self.keepalive.is_some_and(|k| k.is_zero()) {
            return usage("the keepalive interval must be positive (or off)".into());
        }
        Ok(())
    }
}

/// Counts of what the agent saw and did (a snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounters {
    /// WebSocket connections opened.
    pub connections_accepted: u64,
    /// Connections refused (limit reached, wrong path).
    pub connections_rejected: u64,
    /// TCP connections whose WebSocket handshake failed or timed out.
    pub handshake_failures: u64,
    /// Connections open now.
    pub connections_active: u64,
    /// WebSocket data messages received.
    pub messages_received: u64,
    /// Audio frames received and fed to the VAD.
    pub audio_frames: u64,
    /// Messages that were not a decodable frame (or were text), or audio that was unreadable.
    pub malformed_frames: u64,
    /// Messages above the size limit, skipped.
    pub oversize_messages: u64,
    /// Audio frames not in 16 kHz mono, skipped (pipecat does not resample input).
    pub unsupported_audio: u64,
    /// Frames of a kind this version does not know, skipped.
    pub unknown_frames: u64,
    /// Text, transcription, message or interruption frames from a client (ignored).
    pub other_frames: u64,
    /// User turns detected (each starts a simulated ASR → LLM → TTS run).
    pub turns: u64,
    /// Replies whose first audio frame went out.
    pub replies_started: u64,
    /// Replies streamed to the end.
    pub replies_completed: u64,
    /// Reply audio frames sent.
    pub reply_frames_sent: u64,
    /// Interruption frames (telephony: clear messages) sent (barge-in).
    pub interruptions: u64,
    /// Telephony marks the caller echoed (the reply played to its end).
    pub marks_received: u64,
    /// Greetings started.
    pub greetings: u64,
    /// Injected early replies.
    pub early_replies: u64,
    /// Injected stalls.
    pub stalls: u64,
    /// Injected dropped connections.
    pub drops: u64,
    /// Injected garbage frames.
    pub garbage_frames: u64,
    /// Most replies in generation at once (load model).
    pub max_generating: u64,
    /// Reply frames sent more than [`LATE_FRAME_MS`] after their due time: the machine was
    /// too loaded for the agent to keep real time.
    pub late_frames: u64,
}

/// A reply frame this late (ms) counts as late and is warned about.
pub const LATE_FRAME_MS: f64 = 20.0;

/// Pacing p99 (ms) above which the agent says its timing cannot be trusted.
const UNTRUSTED_P99_MS: f64 = 10.0;

#[derive(Default)]
struct CounterCells {
    connections_accepted: AtomicU64,
    connections_rejected: AtomicU64,
    handshake_failures: AtomicU64,
    messages_received: AtomicU64,
    audio_frames: AtomicU64,
    malformed_frames: AtomicU64,
    oversize_messages: AtomicU64,
    unsupported_audio: AtomicU64,
    unknown_frames: AtomicU64,
    other_frames: AtomicU64,
    turns: AtomicU64,
    replies_started: AtomicU64,
    replies_completed: AtomicU64,
    reply_frames_sent: AtomicU64,
    interruptions: AtomicU64,
    marks_received: AtomicU64,
    greetings: AtomicU64,
    early_replies: AtomicU64,
    stalls: AtomicU64,
    drops: AtomicU64,
    garbage_frames: AtomicU64,
    max_generating: AtomicU64,
    late_frames: AtomicU64,
}

fn bump(cell: &AtomicU64) {
    cell.fetch_add(1, Ordering::Relaxed);
}

/// The agent's own record of one reply: its truth line (what its latency is measured from
/// and to) and the simulated service times behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyRecord {
    /// Stream id, escaped as in the log.
    pub stream_id: String,
    /// The truth line, as logged.
    pub truth: AgentTurnTruth,
    /// Simulated ASR time, seconds.
    pub asr_s: f64,
    /// Simulated LLM TTFB including any load penalty, seconds.
    pub llm_ttfb_s: f64,
    /// Simulated TTS TTFB including any load penalty, seconds.
    pub tts_ttfb_s: f64,
    /// Whether this was an injected early reply (answer while the user still speaks).
    pub early: bool,
}

/// The agent's record of one interruption: its truth line (where its VAD heard the user's
/// speech start, when it sent the interruption and the stopped reply's last frame).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterruptionRecord {
    /// Stream id, escaped as in the log.
    pub stream_id: String,
    /// The truth line, as logged.
    pub truth: AgentInterruptionTruth,
    /// The turn whose reply was stopped (`None`: the greeting).
    pub stopped_turn: Option<u64>,
    /// Reply frames of that reply sent before it stopped.
    pub frames_sent: usize,
}

/// What the agent reports when it stops.
#[derive(Debug, Clone, Serialize)]
pub struct AgentReport {
    /// Final counts.
    pub counters: AgentCounters,
    /// How late reply frames went out against their absolute schedule, in ms.
    pub pacing_lateness_ms: Option<Summary>,
    /// Replies with a truth record.
    pub replies: usize,
}

/// State shared by the server and every connection.
pub(crate) struct Shared {
    options: AgentOptions,
    clock: UnixClock,
    log: log::Log,
    counters: CounterCells,
    turns: Mutex<Vec<ReplyRecord>>,
    interruption_records: Mutex<Vec<InterruptionRecord>>,
    pacing: Mutex<PacingSamples>,
    reply: Arc<ReplyAudio>,
    greeting: Arc<ReplyAudio>,
    generating: AtomicUsize,
    instances: AtomicU64,
    frame_ids: AtomicU64,
    active: AtomicUsize,
}

/// Truth records kept in memory for [`AgentHandle::turns`] (the log has them all).
const MAX_TURN_RECORDS: usize = 1_000_000;

/// Pacing samples kept: a uniform random sample of all frames once there are more.
const MAX_LATENESS_SAMPLES: usize = 1_000_000;

/// Lateness of reply frames: a reservoir sample for percentiles, exact count and maximum.
#[derive(Default)]
struct PacingSamples {
    samples: Vec<f64>,
    seen: u64,
    max: f64,
    rng: u64,
}

impl PacingSamples {
    fn add(&mut self, ms: f64) {
        self.seen += 1;
        self.max = self.max.max(ms);
        if self.samples.len() < MAX_LATENESS_SAMPLES {
            self.samples.push(ms);
            return;
        }
        // xorshift64*: plenty for choosing which sample to replace.
        self.rng = if self.rng == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            self.rng
        };
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let slot = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % self.seen;
        if let Some(sample) = self.samples.get_mut(slot as usize) {
            *sample = ms;
        }
    }

    fn summary(&self) -> Option<Summary> {
        let mut summary = Summary::from_samples(&self.samples)?;
        summary.count = self.seen as usize;
        summary.max = self.max;
        Some(summary)
    }
}

impl Shared {
    fn counters(&self) -> AgentCounters {
        let c = &self.counters;
        let get = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        AgentCounters {
            connections_accepted: get(&c.connections_accepted),
            connections_rejected: get(&c.connections_rejected),
            handshake_failures: get(&c.handshake_failures),
            connections_active: self.active.load(Ordering::Relaxed) as u64,
            messages_received: get(&c.messages_received),
            audio_frames: get(&c.audio_frames),
            malformed_frames: get(&c.malformed_frames),
            oversize_messages: get(&c.oversize_messages),
            unsupported_audio: get(&c.unsupported_audio),
            unknown_frames: get(&c.unknown_frames),
            other_frames: get(&c.other_frames),
            turns: get(&c.turns),
            replies_started: get(&c.replies_started),
            replies_completed: get(&c.replies_completed),
            reply_frames_sent: get(&c.reply_frames_sent),
            interruptions: get(&c.interruptions),
            marks_received: get(&c.marks_received),
            greetings: get(&c.greetings),
            early_replies: get(&c.early_replies),
            stalls: get(&c.stalls),
            drops: get(&c.drops),
            garbage_frames: get(&c.garbage_frames),
            max_generating: get(&c.max_generating),
            late_frames: get(&c.late_frames),
        }
    }

    fn record_turn(&self, truth: ReplyRecord) {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        if turns.len() < MAX_TURN_RECORDS {
            turns.push(truth);
        }
    }

    fn record_interruption(&self, record: InterruptionRecord) {
        let mut records = self
            .interruption_records
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if records.len() < MAX_TURN_RECORDS {
            records.push(record);
        }
    }

    fn record_lateness(&self, ms: f64) {
        self.pacing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(ms);
        if ms > LATE_FRAME_MS {
            let late = self.counters.late_frames.fetch_add(1, Ordering::Relaxed) + 1;
            // Warn on the first late frame and then on every thousandth.
            if late % 1000 == 1 {
                self.server_log(
                    Level::Warning,
                    format_args!(
                        "VoiceperfAgent pacing: a reply frame went out {ms:.1} ms late ({late} late frames so far); the machine is too loaded to keep real time"
                    ),
                );
            }
        }
    }

    fn pacing_summary(&self) -> Option<Summary> {
        self.pacing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .summary()
    }

    fn server_log(&self, level: Level, message: std::fmt::Arguments<'_>) {
        self.log.write(
            std::time::Instant::now(),
            level,
            "voiceperf.agent:server:0",
            "-",
            message,
        );
    }
}

/// A running agent inside the caller's tokio runtime.
pub struct AgentHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    writer: log::LogWriter,
}

impl AgentHandle {
    /// The address the agent listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL of a stream: `ws://ADDR/ws/{stream_id}` (the id is used as given).
    pub fn url(&self, stream_id: &str) -> String {
        format!("ws://{}/ws/{stream_id}", self.addr)
    }

    /// Current counters.
    pub fn counters(&self) -> AgentCounters {
        self.shared.counters()
    }

    /// Every reply's truth record so far (the first million), in the order the first frames
    /// went out.
    pub fn turns(&self) -> Vec<ReplyRecord> {
        self.shared
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every interruption's truth record so far (the first million), in order.
    pub fn interruptions(&self) -> Vec<InterruptionRecord> {
        self.shared
            .interruption_records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Lateness of reply frames against their absolute schedule so far, in ms.
    pub fn pacing_lateness_ms(&self) -> Option<Summary> {
        self.shared.pacing_summary()
    }

    /// Waits until every log line queued so far is written.
    pub async fn flush_log(&self) {
        self.shared.log.flush().await;
    }

    /// Stops accepting, closes every connection (close code 1001), writes the summary to the
    /// log and waits for the log to be written.
    pub async fn shutdown(self) -> anyhow::Result<AgentReport> {
        let _ = self.stop.send(true);
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        let report = AgentReport {
            counters: self.shared.counters(),
            pacing_lateness_ms: self.shared.pacing_summary(),
            replies: self
                .shared
                .turns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len(),
        };
        self.shared.server_log(
            Level::Info,
            format_args!("VoiceperfAgent stopped: {}", summary_line(&report)),
        );
        self.writer.finish().await;
        Ok(report)
    }
}

/// One line describing a report (for the log and the terminal).
pub fn summary_line(report: &AgentReport) -> String {
    let c = &report.counters;
    let mut line = format!(
        "{} connections ({} refused), {} turns, {} replies ({} complete), {} interruptions, {} malformed and {} oversize messages",
        c.connections_accepted,
        c.connections_rejected,
        c.turns,
        c.replies_started,
        c.replies_completed,
        c.interruptions,
        c.malformed_frames,
        c.oversize_messages
    );
    if let Some(p) = &report.pacing_lateness_ms {
        line.push_str(&format!(
            "; reply frame lateness p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} frames",
            p.p50, p.p99, p.max, p.count
        ));
    }
    line
}

/// A warning when the agent could not keep its reply frames on time, so its timing (and any
/// benchmark run against it on this machine) should not be trusted.
pub fn pacing_warning(report: &AgentReport) -> Option<String> {
    let pacing = report.pacing_lateness_ms.as_ref()?;
    (pacing.p99 > UNTRUSTED_P99_MS).then(|| {
        format!(
            "VoiceperfAgent pacing: reply frames were late by {:.1} ms at p99 (max {:.1} ms, {} frames over {LATE_FRAME_MS} ms): the machine was too loaded for timing-accurate results",
            pacing.p99, pacing.max, report.counters.late_frames
        )
    })
}

/// Starts the agent on the current tokio runtime and returns once it is listening.
pub async fn start(options: AgentOptions) -> anyhow::Result<AgentHandle> {
    options.validate()?;
    let (samples, file_rate) = match &options.reply {
        Some(path) => {
            let (samples, rate) = voice::load_wav(path)?;
            (Some(samples), Some(rate))
        }
        None => (None, None),
    };
    let (samples, file_rate) = match (options.protocol.provider(), samples, file_rate) {
        (Some(provider), Some(samples), Some(rate)) if rate != provider.wire_rate() => {
            // Telephony audio has one rate: the reply is resampled to it as prep would.
            let floats: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
            let wire = crate::protocol::telephony::to_wire_rate(&floats, rate, provider)
                .with_context(|| {
                    format!("resampling the --reply file to {} Hz", provider.wire_rate())
                })?;
            (Some(wire), Some(provider.wire_rate()))
        }
        (_, samples, rate) => (samples, rate),
    };
    let sample_rate = match (options.sample_rate, file_rate) {
        _ if options.protocol.provider().is_some() => options.protocol.input_rate(),
        (Some(asked), Some(file)) if asked != file => {
            return Err(CliError::Usage(format!(
                "--reply file is {file} Hz but --sample-rate is {asked}; convert the file or drop --sample-rate"
            ))
            .into());
        }
        (Some(rate), _) | (None, Some(rate)) => rate,
        (None, None) => 16_000,
    };
    let reply_samples = samples.unwrap_or_else(|| voice::builtin_reply(sample_rate));
    let greeting_samples = voice::builtin_greeting(sample_rate);
    let reply = ReplyAudio::new(
        &reply_samples,
        sample_rate,
        options.chunk_ms,
        options.wav_header,
    );
    let greeting = ReplyAudio::new(
        &greeting_samples,
        sample_rate,
        options.chunk_ms,
        options.wav_header,
    );

    // A thousand sockets need more than the usual 1024 descriptors.
    let _ = crate::fsutil::raise_open_files_limit(options.max_connections as u64 + 256);

    let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
        .await
        .with_context(|| format!("listening on {}:{}", options.host, options.port))?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let clock = UnixClock::new();
    let (log, writer) = log::open(&options.log, clock)?;
    let shared = Arc::new(Shared {
        clock,
        log,
        counters: CounterCells::default(),
        turns: Mutex::new(Vec::new()),
        interruption_records: Mutex::new(Vec::new()),
        pacing: Mutex::new(PacingSamples::default()),
        reply: Arc::new(reply),
        greeting: Arc::new(greeting),
        generating: AtomicUsize::new(0),
        instances: AtomicU64::new(0),
        frame_ids: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        options,
    });
    let o = &shared.options;
    shared.server_log(
        Level::Info,
        format_args!(
            "VoiceperfAgent listening on ws://{addr}/ws/{{stream_id}} ({} protocol): vad {:?} start {} ms stop {} ms, interruptions {}, asr {} ms, llm ttfb {} ms, tts ttfb {} ms, reply {:.2} s at {} Hz in {} ms chunks{}, capacity {}, seed {}",
            o.protocol,
            o.vad_mode,
            o.vad_start_ms,
            o.vad_stop_ms,
            if o.interruptions { "on" } else { "off" },
            o.asr,
            o.llm_ttfb,
            o.tts_ttfb,
            shared.reply.duration().as_secs_f64(),
            sample_rate,
            o.chunk_ms,
            if o.wav_header { " with WAV headers" } else { "" },
            o.capacity.map_or("unlimited".to_string(), |c| c.to_string()),
            o.seed
        ),
    );
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(server::serve(listener, Arc::clone(&shared), stop_rx));
    Ok(AgentHandle {
        addr,
        shared,
        stop,
        server,
        writer,
    })
}

/// Runs `voiceperf agent`: serves until SIGINT or SIGTERM, then shuts down cleanly.
pub fn run(options: &AgentOptions) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let handle = start(options.clone()).await?;
        println!("listening on ws://{}/ws/{{stream_id}}", handle.local_addr());
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        wait_for_signal().await?;
        let report = handle.shutdown().await?;
        eprintln!("voiceperf agent stopped: {}", summary_line(&report));
        if let Some(warning) = pacing_warning(&report) {
            eprintln!("warning: {warning}");
        }
        Ok(Outcome::Success)
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("waiting for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_reservoir_keeps_exact_count_and_max() {
        let mut pacing = PacingSamples::default();
        let n = MAX_LATENESS_SAMPLES as u64 + 500_000;
        for i in 0..n {
            pacing.add((i % 100) as f64 / 10.0);
        }
        pacing.add(250.0);
        let summary = pacing.summary().unwrap();
        assert_eq!(summary.count as u64, n + 1);
        assert_eq!(summary.max, 250.0);
        assert!((summary.p50 - 5.0).abs() < 0.2, "{summary:?}");
        assert_eq!(pacing.samples.len(), MAX_LATENESS_SAMPLES);
    }

    #[test]
    fn untrusted_pacing_is_reported() {
        let mut report = AgentReport {
            counters: AgentCounters::default(),
            pacing_lateness_ms: Summary::from_samples(&[1.0, 1.2, 0.9]),
            replies: 1,
        };
        assert!(pacing_warning(&report).is_none());
        report.pacing_lateness_ms = Summary::from_samples(&[1.0, 80.0]);
        let warning = pacing_warning(&report).unwrap();
        assert!(warning.contains("too loaded"), "{warning}");
        assert!(summary_line(&report).contains("reply frame lateness p50"));
    }

    #[test]
    fn options_are_validated() {
        assert!(AgentOptions::default().validate().is_ok());
        let bad = [
            AgentOptions {
                chunk_ms: 5,
                ..Default::default()
            },
            AgentOptions {
                sample_rate: Some(1000),
                ..Default::default()
            },
            AgentOptions {
                capacity: Some(0),
                ..Default::default()
            },
            AgentOptions {
                faults: Faults {
                    drop_prob: -0.1,
                    ..Default::default()
                },
                ..Default::default()
            },
            AgentOptions {
                max_connections: 0,
                ..Default::default()
            },
            AgentOptions {
                llm_tokens_per_sec: 1e-30,
                ..Default::default()
            },
            AgentOptions {
                llm_ttfb: Delay::fixed(f64::INFINITY),
                ..Default::default()
            },
            AgentOptions {
                tts_ttfb: Delay::Normal {
                    mean_ms: 100.0,
                    sd_ms: f64::NAN,
                },
                ..Default::default()
            },
        ];
        for options in bad {
            assert!(
                matches!(options.validate(), Err(CliError::Usage(_))),
                "{options:?}"
            );
        }
    }
}
