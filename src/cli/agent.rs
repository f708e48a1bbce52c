//! Flags of `voiceperf agent`.

use std::path::PathBuf;
use std::sync::LazyLock;

use clap::Args;

use crate::agent::{AgentOptions, Faults, LogTarget};
use crate::audio::vad::VadMode;
use crate::delay::Delay;
use crate::protocol::Protocol;

/// The agent's defaults, stated once in [`AgentOptions::default`].
static DEFAULTS: LazyLock<AgentOptions> = LazyLock::new(AgentOptions::default);

/// Flags of `voiceperf agent` (boxed: there are many).
#[derive(Debug, Args)]
#[command(
    after_help = "Delays (--asr-ms, --llm-ttfb-ms, --tts-ttfb-ms) take a fixed value in ms \
or a distribution: `300`, `normal:300:50` (mean:sd), `uniform:200:400` (low:high).\n\
The log (stderr or --log) uses the NVIDIA pipecat layout and adds, per reply:\n  \
VoiceperfAgent turn N: last speech frame id ID arrived at UNIX, first reply frame sent at UNIX, latency: SECS"
)]
pub struct AgentArgs {
    /// The flags.
    #[command(flatten)]
    pub flags: Box<AgentFlags>,
}

/// The flags of `voiceperf agent`.
#[derive(Debug, Args)]
pub struct AgentFlags {
    /// Wire protocol served: pipecat's protobuf frames, or a phone provider's media stream
    /// (the agent answers as a pipecat telephony bot: 8 kHz, 20 ms frames; Vonage 16 kHz).
    #[arg(long, default_value = "pipecat", value_parser = parse_protocol, value_name = "PROTOCOL")]
    pub protocol: Protocol,
    /// Address to listen on.
    #[arg(long, default_value_t = DEFAULTS.host.clone())]
    pub host: String,
    /// Port to listen on (0 picks a free port; the URL is printed on stdout).
    #[arg(long, default_value_t = DEFAULTS.port)]
    pub port: u16,
    /// VAD strictness.
    #[arg(long, value_enum, default_value_t = DEFAULTS.vad_mode)]
    pub vad_mode: VadMode,
    /// Speech (ms) before the user counts as speaking.
    #[arg(long, default_value_t = DEFAULTS.vad_start_ms, value_name = "MS")]
    pub vad_start_ms: u32,
    /// Non-speech (ms) that ends the user's turn.
    #[arg(long, default_value_t = DEFAULTS.vad_stop_ms, value_name = "MS")]
    pub vad_stop_ms: u32,
    /// Simulated ASR time after the end of the turn (ms or distribution).
    #[arg(long, default_value_t = DEFAULTS.asr, value_name = "DELAY")]
    pub asr_ms: Delay,
    /// Simulated LLM time to first token (ms or distribution).
    #[arg(long, default_value_t = DEFAULTS.llm_ttfb, value_name = "DELAY")]
    pub llm_ttfb_ms: Delay,
    /// Simulated TTS time to first audio (ms or distribution).
    #[arg(long, default_value_t = DEFAULTS.tts_ttfb, value_name = "DELAY")]
    pub tts_ttfb_ms: Delay,
    /// LLM generation speed after the first token, for the logged generation times.
    #[arg(long, default_value_t = DEFAULTS.llm_tokens_per_sec, value_name = "N")]
    pub llm_tokens_per_sec: f64,
    /// Length of each reply audio frame in ms (pipecat's output transport, telephony included,
    /// sends 40 ms).
    #[arg(long, default_value_t = DEFAULTS.chunk_ms, value_name = "MS")]
    pub chunk_ms: u32,
    /// Reply sample rate in Hz (default: the --reply file's rate, else 16000).
    #[arg(long, value_name = "HZ")]
    pub sample_rate: Option<u32>,
    /// Wrap every reply chunk in its own WAV header (pipecat's add_wav_header).
    #[arg(long)]
    pub wav_header: bool,
    /// Reply with this 16-bit PCM WAV file instead of the built-in synthesized voice.
    #[arg(long, value_name = "FILE.wav")]
    pub reply: Option<PathBuf>,
    /// Greet each connection with a short clip 0.3 s after it opens.
    #[arg(long)]
    pub greeting: bool,
    /// Send RTVI JSON Message frames as pipecat does: initial metrics 0.45 s after connect,
    /// per-service ttfb/processing metrics per turn, speaking events, bot-interrupted,
    /// transcriptions.
    #[arg(long)]
    pub rtvi: bool,
    /// Let the reply play out when the user speaks over it (pipecat's
    /// allow_interruptions=False); by default speech the VAD accepts (--vad-start-ms) stops it.
    #[arg(long)]
    pub no_interruptions: bool,
    /// Replies that can be generated at once; beyond, LLM and TTS TTFB grow with the queue.
    #[arg(long, value_name = "N")]
    pub capacity: Option<usize>,
    /// Per-turn chance of a stall inside the reply.
    #[arg(long, default_value_t = DEFAULTS.faults.stall_prob, value_name = "P")]
    pub stall_prob: f64,
    /// Length of an injected stall in ms.
    #[arg(long, default_value_t = DEFAULTS.faults.stall_ms, value_name = "MS")]
    pub stall_ms: u32,
    /// Per-turn chance of replying as soon as the user starts speaking (reverse barge-in).
    #[arg(long, default_value_t = DEFAULTS.faults.early_reply_prob, value_name = "P")]
    pub early_reply_prob: f64,
    /// Per-turn chance of closing the socket abruptly in the middle of the reply.
    #[arg(long, default_value_t = DEFAULTS.faults.drop_prob, value_name = "P")]
    pub drop_prob: f64,
    /// Per-turn chance of sending an undecodable frame inside the reply.
    #[arg(long, default_value_t = DEFAULTS.faults.garbage_prob, value_name = "P")]
    pub garbage_prob: f64,
    /// Seed for delays and faults (default: from the clock; logged at start).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Incoming messages above this size are skipped and counted.
    #[arg(long, default_value_t = DEFAULTS.max_message_bytes, value_name = "BYTES")]
    pub max_message_bytes: usize,
    /// Connections beyond this are refused with HTTP 503.
    #[arg(long, default_value_t = DEFAULTS.max_connections, value_name = "N")]
    pub max_connections: usize,
    /// Ping a connection silent for this many seconds; close it after twice as long without
    /// any message or pong (0: never).
    #[arg(long, default_value_t = DEFAULTS.keepalive.map_or(0, |d| d.as_secs()), value_name = "SECS")]
    pub keepalive_secs: u64,
    /// Append the log to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

impl AgentArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<AgentOptions> {
        self.flags.into_options()
    }
}

impl AgentFlags {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<AgentOptions> {
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        let options = AgentOptions {
            protocol: self.protocol,
            host: self.host,
            port: self.port,
            vad_mode: self.vad_mode,
            vad_start_ms: self.vad_start_ms,
            vad_stop_ms: self.vad_stop_ms,
            asr: self.asr_ms,
            llm_ttfb: self.llm_ttfb_ms,
            tts_ttfb: self.tts_ttfb_ms,
            llm_tokens_per_sec: self.llm_tokens_per_sec,
            chunk_ms: self.chunk_ms,
            sample_rate: self.sample_rate,
            wav_header: self.wav_header,
            reply: self.reply,
            greeting: self.greeting,
            rtvi: self.rtvi,
            interruptions: !self.no_interruptions,
            capacity: self.capacity,
            faults: Faults {
                stall_prob: self.stall_prob,
                stall_ms: self.stall_ms,
                early_reply_prob: self.early_reply_prob,
                drop_prob: self.drop_prob,
                garbage_prob: self.garbage_prob,
            },
            seed,
            max_message_bytes: self.max_message_bytes,
            max_connections: self.max_connections,
            keepalive: (self.keepalive_secs > 0)
                .then(|| std::time::Duration::from_secs(self.keepalive_secs)),
            log: self.log.map_or(LogTarget::Stderr, LogTarget::File),
        };
        options.validate()?;
        Ok(options)
    }
}

/// `--protocol`: pipecat, twilio, telnyx, plivo, exotel or vonage.
pub fn parse_protocol(text: &str) -> Result<Protocol, String> {
    text.parse()
}
