//! The result files of a bench run, as Rust types: these structs *are* the JSON schema of
//! `latency_results_<stream_id>.json`, `summary.json` and `sweep.json` (serde), so `analyze`,
//! `report` and `run` read them back through the same types.
//!
//! Conventions: instants are unix seconds (`f64`, µs resolution) from one monotonic clock
//! anchored once to the wall clock at the start of the run, and end in `_at` (the seed's
//! `metrics_start_time` keeps its name). Durations end in `_s` (seconds) or `_ms`
//! (milliseconds); the seed's own latency fields are seconds without a suffix. `null` means
//! "did not happen / not measured".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::{PercentileCis, Summary};

/// `latency_results_<stream_id>.json`: everything measured on one WebSocket connection (one
/// stream id). A user whose socket drops reconnects under a new stream id and gets a new file.
/// The first block of fields is the seed client's schema with the same meaning, computed from
/// voiceperf's latency definition over the turns inside the metrics window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientResults {
    /// Stream id used in the URL, `client_<user>_<unix ms>`.
    pub stream_id: String,
    /// Latency (s) of every in-window turn that got a reply, in turn order (may be negative
    /// for reverse barge-ins).
    pub individual_latencies: Vec<f64>,
    /// Mean of `individual_latencies`; `null` when there are none.
    pub average_latency: Option<f64>,
    /// The `individual_latencies` that are ≥ `threshold` (the seed's "valid" turns).
    pub valid_latencies: Vec<f64>,
    /// Mean of `valid_latencies`; `null` when there are none.
    pub valid_average_latency: Option<f64>,
    /// Same as `valid_average_latency` (name read by one version of the seed launcher).
    pub filtered_average_latency: Option<f64>,
    /// Reverse barge-in threshold (s).
    pub threshold: f64,
    /// Number of in-window turns that got a reply (`individual_latencies.len()`).
    pub num_turns: usize,
    /// Number of `valid_latencies`.
    pub num_valid_turns: usize,
    /// Same as `num_valid_turns` (name read by one version of the seed launcher).
    pub num_filtered_turns: usize,
    /// In-window turns classified as reverse barge-ins (`num_turns − num_valid_turns`).
    pub reverse_barge_ins_count: usize,
    /// Whether any in-window turn had a playback glitch.
    pub glitch_detected: bool,
    /// When this file was written (local time, ISO 8601).
    pub timestamp: String,
    /// Start of the metrics window (unix s): when the last user was scheduled to start.
    pub metrics_start_time: f64,
    /// Length of the metrics window (s).
    pub test_duration: f64,

    /// voiceperf version that wrote the file.
    pub tool_version: String,
    /// Simulated user number (1-based; the `<i>` in the stream id).
    pub user: usize,
    /// Which connection of this user this is: 1, then 2, 3… after reconnects.
    pub connection: usize,
    /// WebSocket URL connected to.
    pub url: String,
    /// Where the connection is in its life; `finished` once it closed as planned.
    pub status: ConnectionStatus,
    /// When the connection attempt began (unix s).
    pub connect_started_at: f64,
    /// When the WebSocket handshake completed (unix s); `null` if it never did.
    pub connected_at: Option<f64>,
    /// When the connection ended (unix s); `null` while running.
    pub closed_at: Option<f64>,
    /// Microphone origin of this connection (unix s): audio chunk `id` (1, 2, 3…) holds stream
    /// samples `[(id−1)·N, id·N)` and is scheduled to leave at `audio_origin_at + id·chunk_ms`,
    /// the moment its last sample has been captured. `null` if no audio was sent.
    pub audio_origin_at: Option<f64>,
    /// Duration of one outgoing audio chunk (ms); N = 16·chunk_ms samples.
    pub chunk_ms: u32,
    /// Audio chunks sent on this connection (speech and silence); the last id used.
    pub chunks_sent: u64,
    /// The bot's greeting, if it spoke before the first query.
    pub greeting: Option<GreetingRecord>,
    /// Playback glitches over all in-window turns.
    pub glitch_count: usize,
    /// Total starved playback time (ms) of those glitches.
    pub starved_ms: f64,
    /// Every turn taken on this connection, in and out of the metrics window.
    pub turns: Vec<TurnRecord>,
    /// Frames received on this connection, by kind.
    pub frames_received: FrameCounts,
    /// Every error seen on this connection, in order.
    pub errors: Vec<ErrorRecord>,
    /// Number of errors by kind.
    pub error_counts: BTreeMap<ErrorKind, usize>,
    /// How late each audio chunk left versus its schedule (ms), over this connection.
    pub send_lateness_ms: Option<Summary>,
    /// How late the thread serving this connection woke for a due timer (ms), sampled about
    /// every 100 ms: a bound on how stale an arrival timestamp can be.
    pub receive_lag_ms: Option<Summary>,
}

/// Life-cycle state of a connection, as last written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Connecting or running; the file will be rewritten.
    Running,
    /// Ran until the end of the metrics window and closed cleanly.
    Finished,
    /// Could not connect, or the connection broke (see `errors`).
    Failed,
    /// The run was stopped early (SIGINT); what was measured is kept.
    Stopped,
}

/// The bot's greeting, heard before the first query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreetingRecord {
    /// Arrival of its first audio frame (unix s).
    pub first_audio_at: f64,
    /// Audio received (s of playback).
    pub audio_s: f64,
    /// Audio frames received.
    pub frames: usize,
}

/// One turn: the user speaks one dataset file, then the bot replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// Turn number on this connection (1-based).
    pub turn: usize,
    /// Dataset file spoken, relative to the audio folder ('/'-separated).
    pub file: String,
    /// Whether the turn started inside the metrics window (only those count in statistics).
    pub in_window: bool,
    /// How the turn ended.
    pub outcome: TurnOutcome,
    /// When the file's first chunk was scheduled to leave (unix s).
    pub scheduled_start_at: f64,
    /// When the file's first chunk actually left (unix s).
    pub started_at: f64,
    /// Id of the file's first audio chunk.
    pub first_chunk_id: u64,
    /// Id of the chunk carrying the file's last sample; `null` if the turn ended before.
    pub last_chunk_id: Option<u64>,
    /// Id of the chunk carrying the last speech sample.
    pub speech_end_chunk_id: u64,
    /// Speech end within the file (s from its first sample).
    pub speech_end_s: f64,
    /// Where `speech_end_s` came from.
    pub speech_end_source: SpeechEndSource,
    /// The moment the user's speech ended, on the send clock (unix s): the send time of the
    /// speech-end chunk minus the audio in that chunk after the speech end. `null` if that
    /// chunk was never sent.
    pub speech_end_at: Option<f64>,
    /// When the chunk carrying the file's last sample left (unix s).
    pub last_chunk_sent_at: Option<f64>,
    /// Arrival of the first frame of any kind after `started_at` (unix s).
    pub first_frame_at: Option<f64>,
    /// Arrival of the first bot audio frame of the reply (unix s).
    pub first_audio_at: Option<f64>,
    /// When the first reply sample above the audible level plays on the simulated playback
    /// clock (unix s).
    pub first_audible_at: Option<f64>,
    /// **The latency**: `first_audio_at − speech_end_at` (s). Negative when the bot started
    /// while the user was still speaking.
    pub latency_s: Option<f64>,
    /// `first_audible_at − speech_end_at` (s): what a listener hears.
    pub audible_latency_s: Option<f64>,
    /// `first_audio_at − (last_chunk_sent_at + chunk)` (s): the seed's reference point (end
    /// of file) with voiceperf's audio-only reply detection.
    pub last_chunk_latency_s: Option<f64>,
    /// The seed's exact definition: first frame of any kind − (`last_chunk_sent_at` + chunk).
    pub seed_latency_s: Option<f64>,
    /// Reverse barge-in classification; `null` for a normal turn.
    pub reverse_barge_in: Option<ReverseBargeIn>,
    /// When the last reply sample finished playing on the simulated playback clock (unix s).
    pub reply_end_at: Option<f64>,
    /// When the turn ended (unix s): reply played out + reply gap, timeout, or error.
    pub ended_at: f64,
    /// Reply audio received (s of playback).
    pub reply_audio_s: f64,
    /// Reply audio frames received.
    pub reply_frames: usize,
    /// Format of the first reply audio frame.
    pub reply_format: Option<AudioFormat>,
    /// Playback underruns longer than 20 ms inside the reply.
    pub glitches: usize,
    /// Total duration (ms) of those underruns.
    pub starved_ms: f64,
    /// Each glitch's underrun (ms), in order.
    pub glitch_gaps_ms: Vec<f64>,
    /// `Interruption` frames received during the turn.
    pub interruptions: usize,
    /// Audio frames that arrived after the turn ended and before the next one started.
    pub late_audio_frames: usize,
    /// Non-audio frames received during the turn (text, transcription, RTVI messages,
    /// interruptions), in arrival order. They never count as a reply.
    pub received: Vec<ReceivedFrame>,
    /// Largest send lateness (ms) of this turn's chunks up to the first reply audio.
    pub max_send_lateness_ms: f64,
    /// The agent's own view of this turn, when `--agent-log` was given and matched.
    pub agent: Option<AgentTurnView>,
    /// What the turn was in its scenario (`turn` in files written before scenarios existed).
    #[serde(default)]
    pub kind: TurnKind,
    /// For an `interrupt`: how the reply this query was spoken over stopped.
    #[serde(default)]
    pub interruption: Option<InterruptionRecord>,
    /// For a `distractor`: the sound made over this turn's reply and what the bot did.
    #[serde(default)]
    pub distractor: Option<DistractorRecord>,
    /// A barge-in or distractor was planned over this turn's reply, but the reply had ended
    /// before its point (the reply was shorter than `--barge-in-after`).
    #[serde(default)]
    pub overlay_missed: Option<TurnKind>,
    /// What the agent itself reported about this turn in RTVI messages, when it sent any.
    #[serde(default)]
    pub agent_metrics: Option<AgentTurnMetrics>,
}

/// What a turn was in its scenario (`--scenario`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnKind {
    /// An ordinary turn, spoken after the previous reply ended.
    #[default]
    Turn,
    /// A query spoken over the previous reply (a barge-in).
    Interrupt,
    /// A turn whose reply had a sound that is not a turn made over it (noise, click,
    /// backchannel).
    Distractor,
}

impl TurnKind {
    /// The snake_case name used in JSON, CSV and on the console.
    pub fn name(self) -> &'static str {
        match self {
            TurnKind::Turn => "turn",
            TurnKind::Interrupt => "interrupt",
            TurnKind::Distractor => "distractor",
        }
    }
}

/// The message that told the user the agent stopped its reply, whatever the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopSignal {
    /// The wire's own interruption message (pipecat's `InterruptionFrame`).
    Interruption,
    /// RTVI `bot-interrupted` while a reply was playing.
    BotInterrupted,
}

/// How a reply behaved once the user made a sound over it (a barge-in or a distractor). All
/// instants are unix seconds on bench's clocks; latencies are from the sound's onset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyStop {
    /// Seconds of reply audio planned to have played when the sound begins
    /// (`--barge-in-after`).
    pub barge_in_after_s: f64,
    /// Seconds of reply audio that had played (simulated playback clock) at the onset.
    pub reply_played_s: Option<f64>,
    /// Onset of the sound (its speech start from the manifest) on the send clock, mapped as the
    /// speech end is for latency.
    pub onset_at: Option<f64>,
    /// Arrival of the last audio frame of the reply (its stream up to the first break).
    pub last_reply_frame_at: Option<f64>,
    /// Arrival of the first stop signal after the sound began.
    pub signal_at: Option<f64>,
    /// Which signal that was.
    pub signal: Option<StopSignal>,
    /// Arrival of RTVI `user-started-speaking` after the sound began: the agent heard a turn.
    pub user_started_speaking_at: Option<f64>,
    /// Whether the reply audio stopped within `--stop-limit` of the onset.
    pub stopped: bool,
    /// `last_reply_frame_at − onset_at` (s); negative when the reply's last frame arrived
    /// before the onset (the agent stopped on sound before the speech onset).
    pub stop_latency_s: Option<f64>,
    /// `signal_at − onset_at` (s).
    pub signal_latency_s: Option<f64>,
    /// Reply audio that arrived after the signal (ms of playback); `null` without a signal.
    pub talk_over_ms: Option<f64>,
    /// Reply audio that arrived after the onset (ms of playback).
    pub overlap_ms: f64,
    /// Id of the first microphone chunk carrying the sound.
    pub first_chunk_id: u64,
    /// Id of the last microphone chunk carrying the sound (`null` if cut short).
    pub last_chunk_id: Option<u64>,
    /// The agent's own view of the stop, from its interruption truth line.
    pub agent: Option<AgentStopView>,
}

/// A query spoken over the previous reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterruptionRecord {
    /// Number of the turn whose reply was spoken over.
    pub interrupted_turn: usize,
    /// How that reply stopped.
    #[serde(flatten)]
    pub stop: ReplyStop,
}

/// A sound that is not a turn, made over a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistractorRecord {
    /// The sound: a file of `--distractor-dir`, or `builtin:noise`, `builtin:click`,
    /// `builtin:backchannel`.
    pub sound: String,
    /// Length of its audible part (s).
    pub duration_s: f64,
    /// End of its audible part on the send clock (unix s).
    pub end_at: Option<f64>,
    /// How the reply behaved; `stopped` is a false stop.
    #[serde(flatten)]
    pub stop: ReplyStop,
    /// Whether the bot answered the sound: reply audio arrived after the reply's stream broke
    /// off, before the next turn.
    pub spurious_reply: bool,
    /// Arrival of that reply's first audio (unix s).
    pub spurious_reply_at: Option<f64>,
}

/// The agent's own view of a stop, from its `VoiceperfAgent interruption` truth line, next to
/// bench's view of the same intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStopView {
    /// The agent's interruption number on this stream.
    pub agent_interruption: u64,
    /// Id of the incoming chunk where the agent's VAD heard the speech start.
    pub speech_start_frame_id: u64,
    /// The agent: interruption sent − that chunk's arrival (s).
    pub agent_signal_s: f64,
    /// Bench: interruption signal arrival − that chunk's send (s).
    pub bench_signal_s: Option<f64>,
    /// The agent: last reply frame sent − that chunk's arrival (s); `null` when the reply was
    /// stopped before its first frame.
    pub agent_last_frame_s: Option<f64>,
    /// Bench: last reply frame arrival − that chunk's send (s).
    pub bench_last_frame_s: Option<f64>,
    /// `bench_signal_s − agent_signal_s` (ms): network and scheduling.
    pub signal_difference_ms: Option<f64>,
    /// `bench_last_frame_s − agent_last_frame_s` (ms).
    pub last_frame_difference_ms: Option<f64>,
}

/// What the agent reported about one turn in RTVI messages (pipecat's `metrics`, speaking
/// events, transcriptions), attributed to the turn from its `user-started-speaking` to the next
/// turn's. Instants are arrivals (unix s); service times are as the agent measured them (s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentTurnMetrics {
    /// Arrival of `user-started-speaking`.
    pub user_started_speaking_at: Option<f64>,
    /// Arrival of `user-stopped-speaking`: the agent's end-of-turn decision.
    pub user_stopped_speaking_at: Option<f64>,
    /// Arrival of `bot-started-speaking`.
    pub bot_started_speaking_at: Option<f64>,
    /// Arrival of `bot-stopped-speaking`.
    pub bot_stopped_speaking_at: Option<f64>,
    /// `user_stopped_speaking_at − speech_end_at` (s): the agent's end-of-turn decision time.
    pub vad_wait_s: Option<f64>,
    /// First TTFB of an ASR/STT processor (s).
    pub asr_ttfb_s: Option<f64>,
    /// First TTFB of an LLM processor (s).
    pub llm_ttfb_s: Option<f64>,
    /// First TTFB of a TTS processor (s).
    pub tts_ttfb_s: Option<f64>,
    /// First processing time of an LLM processor (s).
    pub llm_processing_s: Option<f64>,
    /// First processing time of a TTS processor (s).
    pub tts_processing_s: Option<f64>,
    /// LLM prompt tokens.
    pub prompt_tokens: Option<u64>,
    /// LLM completion tokens.
    pub completion_tokens: Option<u64>,
    /// Characters sent to the TTS.
    pub tts_characters: Option<u64>,
    /// Audio seconds the STT reported using.
    pub stt_audio_s: Option<f64>,
    /// The final transcription of the user's speech.
    pub transcript: Option<String>,
    /// `metrics` messages attributed to the turn (the initial all-zero one is skipped).
    pub metrics_messages: usize,
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnOutcome {
    /// The bot replied with audio and the reply ended.
    Replied,
    /// No reply audio within `--reply-timeout` after the speech end.
    NoReply,
    /// The connection broke during the turn.
    Disconnected,
    /// The run was stopped (SIGINT) during the turn.
    Stopped,
}

/// Where a file's speech end came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeechEndSource {
    /// `manifest.json` written by `voiceperf prep` (file hash matched).
    Manifest,
    /// prep's speech-bounds logic (VAD refined by energy) run on the file by bench.
    Detected,
}

/// Why a turn counts as a reverse barge-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReverseBargeIn {
    /// Reply audio arrived before the user's speech ended.
    DuringSpeech,
    /// Reply audio arrived after the speech end but sooner than `--threshold`.
    BelowThreshold,
}

/// Sample format of received audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    /// Sample rate (Hz).
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Whether each payload was a WAV file (pipecat's `add_wav_header`).
    pub wav_wrapped: bool,
}

/// A non-audio frame received during a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedFrame {
    /// Arrival (unix s).
    pub at: f64,
    /// Frame kind.
    pub kind: ReceivedKind,
    /// Text of a text or transcription frame, the JSON of a message frame (cut to 500
    /// characters), or the name of an interruption frame.
    pub text: String,
    /// For RTVI messages: the message `type` (e.g. `bot-llm-text`).
    pub rtvi_type: Option<String>,
}

/// Kind of a non-audio frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceivedKind {
    /// `TextFrame`.
    Text,
    /// `TranscriptionFrame`.
    Transcription,
    /// `MessageFrame` (RTVI JSON).
    Message,
    /// `InterruptionFrame`.
    Interruption,
    /// A frame of a kind this version does not know.
    Unknown,
}

/// Frames received on one connection, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameCounts {
    /// Audio frames.
    pub audio: u64,
    /// Text frames.
    pub text: u64,
    /// Transcription frames.
    pub transcription: u64,
    /// Message (RTVI) frames.
    pub message: u64,
    /// Interruption frames.
    pub interruption: u64,
    /// Frames of unknown kind.
    pub unknown: u64,
    /// Messages that could not be decoded.
    pub undecodable: u64,
}

/// The agent's own view of a turn, from its truth log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentTurnView {
    /// The agent's turn number on this stream.
    pub agent_turn: u64,
    /// Id of the last incoming chunk the agent's VAD counted as speech.
    pub last_speech_frame_id: u64,
    /// The agent's latency: first reply frame sent − that chunk's arrival (s).
    pub agent_latency_s: f64,
    /// Bench's view of the same interval: first reply audio arrival − that chunk's send (s).
    pub bench_interval_s: f64,
    /// `bench_interval_s − agent_latency_s` (ms): the network and scheduling time both sides
    /// cannot see; on loopback it should be a fraction of a millisecond.
    pub difference_ms: f64,
}

/// Kinds of error, counted per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect or WebSocket handshake failed or timed out.
    Connect,
    /// The server closed or reset the connection before the user was done.
    Disconnect,
    /// Sending an audio chunk failed.
    Send,
    /// A message that is not a decodable pipecat protobuf frame.
    Undecodable,
    /// An audio frame whose payload or parameters cannot be played.
    BadAudio,
    /// No reply audio within `--reply-timeout` after the user's speech ended.
    Timeout,
}

impl ErrorKind {
    /// The snake_case name used in JSON and on the console.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Disconnect => "disconnect",
            ErrorKind::Send => "send",
            ErrorKind::Undecodable => "undecodable",
            ErrorKind::BadAudio => "bad_audio",
            ErrorKind::Timeout => "timeout",
        }
    }
}

/// One error on a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// When it happened (unix s).
    pub at: f64,
    /// Its kind.
    pub kind: ErrorKind,
    /// What happened, in one line.
    pub message: String,
    /// Turn number on this connection it happened in, if any.
    pub turn: Option<usize>,
}

/// `summary.json`: the run as a whole. `timestamp`, `config` and `results` keep the seed
/// launcher's fields (same names and meanings) and add voiceperf's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// When the summary was written (local time, ISO 8601).
    pub timestamp: String,
    /// voiceperf version.
    pub tool_version: String,
    /// The full configuration of the run.
    pub config: SummaryConfig,
    /// Aggregated results.
    pub results: SummaryResults,
    /// One row per connection (stream id).
    pub clients: Vec<ClientRow>,
    /// Errors over the whole run.
    pub errors: ErrorSummary,
    /// The load generator's own accuracy.
    pub self_check: SelfCheck,
    /// The dataset the users spoke.
    pub dataset: DatasetInfo,
    /// Agreement between bench and the agent's truth log (`--agent-log`).
    pub agent_agreement: Option<AgentAgreement>,
    /// Run timing and completeness.
    pub run: RunInfo,
    /// This run's place in a sharded run (`bench --shard I/N`); absent for a whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// The shards a merged run was made of (`voiceperf merge`), by index; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRow>,
}

/// Configuration of a run (seed fields first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryConfig {
    /// Agent host.
    pub host: String,
    /// Agent port.
    pub port: u16,
    /// Concurrent users of this run.
    pub num_clients: usize,
    /// Delay between user starts (s).
    pub client_start_delay: f64,
    /// Length of the metrics window (s).
    pub test_duration: f64,
    /// Reverse barge-in threshold (s).
    pub threshold: f64,
    /// Start of the metrics window (unix s).
    pub metrics_start_time: f64,
    /// URL template; `{stream_id}` is replaced per connection.
    pub url: String,
    /// Outgoing chunk length (ms).
    pub chunk_ms: u32,
    /// Silence after a reply's last audio has played before the reply counts as ended (s).
    pub reply_gap: f64,
    /// Extra silence between a reply's end and the next query (s).
    pub turn_gap: f64,
    /// Wait for reply audio after the speech end before the turn fails (s).
    pub reply_timeout: f64,
    /// Wait for a greeting after connecting (s).
    pub greeting_timeout: f64,
    /// Wait for the TCP + WebSocket handshake (s).
    pub connect_timeout: f64,
    /// What a user does after a connection error.
    pub on_error: OnError,
    /// Level (dBFS) a reply sample must reach to count as audible.
    pub audible_dbfs: f64,
    /// Dataset folder.
    pub audio_dir: String,
    /// Whether received bot audio was saved.
    pub save_audio: bool,
    /// Agent log used to check agreement, if any.
    pub agent_log: Option<String>,
    /// All concurrency levels of the invocation (`--clients`).
    pub sweep_levels: Vec<usize>,
    /// `--slo-p95` (s).
    pub slo_p95: Option<f64>,
    /// `--fail-p95` (s).
    pub fail_p95: Option<f64>,
    /// `--max-error-rate` (0–1).
    pub max_error_rate: Option<f64>,
    /// What happens over replies (`--scenario`; `turns` in files written before it existed).
    #[serde(default)]
    pub scenario: Scenario,
    /// Shares of event kinds (`--mix`, for `mixed`; one kind at 1 otherwise).
    #[serde(default)]
    pub mix: Option<Mix>,
    /// Seed of the scenario's draws (`--seed`).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Seconds of reply audio before a barge-in or distractor (`--barge-in-after`, as given).
    #[serde(default)]
    pub barge_in_after: Option<String>,
    /// A reply that still sends audio this long (s) after the onset did not stop
    /// (`--stop-limit`).
    #[serde(default)]
    pub stop_limit: Option<f64>,
    /// Folder of distractor sounds; `null`: the built-in synthetic bursts.
    #[serde(default)]
    pub distractor_dir: Option<String>,
    /// Whether bench spoke the RTVI handshake (`--rtvi`).
    #[serde(default)]
    pub rtvi: bool,
    /// `--fail-stop-p95` (s).
    #[serde(default)]
    pub fail_stop_p95: Option<f64>,
    /// `--max-false-stop-rate` (0–1).
    #[serde(default)]
    pub max_false_stop_rate: Option<f64>,
    /// Fewest measured turns (or events) a CI gate needs to be evaluated (`--min-turns`;
    /// absent in run folders written before it existed).
    #[serde(default)]
    pub min_turns: Option<usize>,
    /// How users come and go (absent in run folders written before load shapes: `closed`).
    #[serde(default)]
    pub load: LoadShape,
    /// The wire protocol spoken: `pipecat`, or the telephony provider bench played (absent in
    /// run folders written before telephony: `pipecat`).
    #[serde(default = "pipecat_protocol")]
    pub protocol: String,
}

/// The protocol of run folders written before telephony.
fn pipecat_protocol() -> String {
    "pipecat".to_string()
}

/// What the simulated users do over the bot's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Strict turns: speak, wait for the whole reply, speak again.
    #[default]
    Turns,
    /// Every next query is spoken over the reply (barge-in).
    Interrupt,
    /// A short sound that is not a turn is made over every reply.
    Distractor,
    /// Ordinary turns, barge-ins and distractors drawn by `--mix`.
    Mixed,
}

impl Scenario {
    /// The name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Turns => "turns",
            Scenario::Interrupt => "interrupt",
            Scenario::Distractor => "distractor",
            Scenario::Mixed => "mixed",
        }
    }
}

/// Shares of the event kinds drawn over each reply (they need not sum to 1; they are weights).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mix {
    /// Ordinary turns.
    pub turn: f64,
    /// Barge-ins.
    pub interrupt: f64,
    /// Distractors.
    pub distractor: f64,
}

/// How users come and go during a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum LoadShape {
    /// `--clients` users started `--client-start-delay` apart, each talking back to back until
    /// the end of the metrics window, which opens when the last one has started.
    #[default]
    Closed,
    /// k6's ramping notion (`--stages 30s:10,2m:50,30s:0`): from 0, the number of users goes
    /// linearly to each stage's target over its duration; a user joins when the target reaches
    /// its number and hangs up after its turn in progress when the target falls below it. The
    /// metrics window is the whole of the stages.
    Stages {
        /// The stages, in order.
        stages: Vec<Stage>,
        /// The preset they came from (`spike`, `soak`), if any.
        preset: Option<String>,
    },
    /// An open model: conversations arrive as a Poisson process at `arrival_rate` per second
    /// during the metrics window (`--test-duration`), each takes `turns_per_conversation`
    /// turns and hangs up, however many are already talking.
    Open {
        /// Conversations per second.
        arrival_rate: f64,
        /// Turns each conversation takes before hanging up.
        turns_per_conversation: usize,
        /// Seed of the arrival times (every shard draws the same ones).
        seed: u64,
    },
}

/// One stage of `--stages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// How long the stage lasts (s).
    pub duration_s: f64,
    /// Users at its end.
    pub target: usize,
}

/// A shard's identity and how its start went (`bench --shard I/N --start-at T`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Its index, 0 to `count − 1` (Kubernetes' `JOB_COMPLETION_INDEX`).
    pub index: usize,
    /// Shards in the run.
    pub count: usize,
    /// Identifies the logical run: the same for every shard of one run (a hash of the shared
    /// start, the shard count, the configuration and the dataset).
    pub run_id: String,
    /// The shared start (`--start-at`, unix s).
    pub start_at: f64,
    /// The machine it ran on (host name; the pod name on Kubernetes).
    pub host: String,
    /// Users of the whole run this shard simulated: every `count`-th user from `index + 1`.
    pub users: usize,
    /// The clock check.
    pub clock: ClockCheck,
}

/// A shard's check of its own clock and start, without NTP: whether it was ready before the
/// shared start, how late its first user really started, and whether its wall clock moved
/// against its monotonic clock during the run (a clock being stepped or slewed). A constant
/// offset between machines is invisible to this check; node clocks must be NTP-synchronised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockCheck {
    /// When the shard was ready to start its users (unix s, its clock).
    pub ready_at: f64,
    /// `start_at − ready_at` (s): how long it waited; negative when it was ready late.
    pub lead_s: f64,
    /// How late its first user started versus the shared schedule (ms).
    pub first_user_late_ms: Option<f64>,
    /// The system wall clock minus the run's monotonic clock at the end of the run (ms): 0
    /// unless the wall clock was stepped or slewed during the run.
    pub wall_clock_drift_ms: Option<f64>,
    /// The tolerance both are held to (ms).
    pub tolerance_ms: f64,
    /// Whether the start and the clock were within the tolerance.
    pub ok: bool,
    /// What was out of tolerance, in words.
    pub warning: Option<String>,
}

/// One shard of a merged run, in `summary.json`'s `shards` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRow {
    /// Shard index.
    pub index: usize,
    /// Its run folder, as given to `merge`.
    pub dir: String,
    /// The machine it ran on.
    pub host: String,
    /// Users it simulated.
    pub users: usize,
    /// Connections it made.
    pub connections: usize,
    /// Latency over its in-window turns (s).
    pub latency: Option<Summary>,
    /// Its errors.
    pub errors: usize,
    /// Its error rate.
    pub error_rate: f64,
    /// Whether it ran to the end.
    pub complete: bool,
    /// Its own self-check.
    pub self_check: SelfCheck,
    /// Its clock check.
    pub clock: ClockCheck,
}

/// What a user does after a connection error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Reconnect under a new stream id (after 0.5 s) and keep going; a connection attempt
    /// that fails is retried under the same stream id, with a pause doubling up to 4 s.
    Reconnect,
    /// Stop this user.
    Stop,
}

/// Aggregated results (seed fields first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryResults {
    /// Connections (stream ids) that wrote results.
    pub total_clients: usize,
    /// In-window turns with a reply, over all connections.
    pub total_turns: usize,
    /// Seed: mean of the per-connection `average_latency` values (s).
    pub aggregate_average_latency: Option<f64>,
    /// Seed: per-connection averages sorted, value at index ⌊0.95·(n−1)⌋ (s). Prefer
    /// `latency.p95`.
    pub p95_client_latency: Option<f64>,
    /// Seed: smallest per-connection average (s).
    pub min_client_latency: Option<f64>,
    /// Seed: largest per-connection average (s).
    pub max_client_latency: Option<f64>,
    /// Seed: the same over per-connection `valid_average_latency` values.
    pub filtered_results: FilteredResults,
    /// Seed: glitches, plus counts over turns.
    pub glitch_detection: GlitchDetection,
    /// Seed: reverse barge-ins, plus their classification.
    pub reverse_barge_in_detection: ReverseBargeInDetection,
    /// Seed: errors per connection, plus counts by kind.
    pub error_detection: ErrorDetection,
    /// **Latency over every in-window turn whose reply audio arrived** (s), reverse
    /// barge-ins and replies cut by a disconnect included: the headline numbers.
    pub latency: Option<Summary>,
    /// 95 % bootstrap confidence interval of each percentile of `latency`, and the
    /// percentiles too few turns support; absent mid-run and in run folders written before
    /// intervals existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ci: Option<PercentileCis>,
    /// Audible latency over the same turns (s).
    pub audible_latency: Option<Summary>,
    /// Latency from the end of the file's last chunk, audio only (s).
    pub last_chunk_latency: Option<Summary>,
    /// The seed's definition (any first frame, from the end of the file) (s).
    pub seed_latency: Option<Summary>,
    /// Latency over in-window turns that are not reverse barge-ins (s).
    pub valid_latency: Option<Summary>,
    /// Reply audio length (s).
    pub reply_audio: Option<Summary>,
    /// Turns by outcome.
    pub turns: TurnCounts,
    /// Barge-ins: queries spoken over a reply (absent in files written before scenarios).
    #[serde(default)]
    pub interruptions: Option<InterruptionSummary>,
    /// Distractors: sounds that are not turns made over a reply.
    #[serde(default)]
    pub distractors: Option<DistractorSummary>,
    /// What the agent reported about its turns in RTVI messages.
    #[serde(default)]
    pub agent_metrics: Option<AgentMetricsSummary>,
}

/// Barge-ins over every in-window `interrupt` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterruptionSummary {
    /// Queries spoken over a playing reply.
    pub count: usize,
    /// Of which the reply stopped within `--stop-limit`.
    pub stopped: usize,
    /// `stopped / count` (`null` without events).
    pub success_rate: Option<f64>,
    /// Onset of the interrupting speech → last frame of the interrupted reply, over stopped
    /// events (s).
    pub stop_latency: Option<Summary>,
    /// Onset → the agent's stop signal (InterruptionFrame / bot-interrupted) (s).
    pub signal_latency: Option<Summary>,
    /// Reply audio still arriving after the signal (ms), over events with a signal.
    pub talk_over_ms: Option<Summary>,
    /// Events with a stop signal.
    pub signalled: usize,
    /// Latency of the reply to the interrupting query (from its speech end) (s).
    pub reply_latency: Option<Summary>,
    /// Planned barge-ins that did not happen: the reply had ended first.
    pub missed: usize,
}

/// False barge-ins over every in-window `distractor` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DistractorSummary {
    /// Sounds made over a playing reply.
    pub count: usize,
    /// Of which the reply stopped within `--stop-limit` anyway.
    pub false_stops: usize,
    /// `false_stops / count` (`null` without events).
    pub false_stop_rate: Option<f64>,
    /// Of which the bot answered the sound with a new reply.
    pub spurious_replies: usize,
    /// Of which the agent sent a stop signal.
    pub signalled: usize,
    /// Planned distractors that did not happen: the reply had ended first.
    pub missed: usize,
}

/// The agent's own per-turn numbers from RTVI, over in-window turns that reported them (s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentMetricsSummary {
    /// Turns with at least one RTVI message attributed.
    pub turns: usize,
    /// LLM time to first byte.
    pub llm_ttfb: Option<Summary>,
    /// TTS time to first byte.
    pub tts_ttfb: Option<Summary>,
    /// ASR/STT time to first byte (when reported).
    pub asr_ttfb: Option<Summary>,
    /// Arrival of `user-stopped-speaking` − the real end of speech.
    pub vad_wait: Option<Summary>,
}

/// Seed `filtered_results`: per-connection valid averages aggregated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilteredResults {
    /// Connections with at least one valid latency.
    pub clients_with_filtered_data: usize,
    /// Valid in-window turns.
    pub total_filtered_turns: usize,
    /// Mean of the per-connection valid averages (s).
    pub aggregate_filtered_average_latency: Option<f64>,
    /// Seed-style P95 of the per-connection valid averages (s).
    pub p95_filtered_client_latency: Option<f64>,
    /// Smallest per-connection valid average (s).
    pub min_filtered_client_latency: Option<f64>,
    /// Largest per-connection valid average (s).
    pub max_filtered_client_latency: Option<f64>,
}

/// Seed `glitch_detection`, extended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlitchDetection {
    /// Connections with at least one in-window glitch.
    pub clients_with_glitches: usize,
    /// Connections.
    pub total_clients: usize,
    /// Their stream ids.
    pub affected_client_ids: Vec<String>,
    /// Glitches over all in-window turns.
    pub total_glitches: usize,
    /// In-window turns with at least one glitch.
    pub turns_with_glitches: usize,
    /// Total starved playback (ms).
    pub total_starved_ms: f64,
}

/// Seed `reverse_barge_in_detection`, extended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReverseBargeInDetection {
    /// Connections.
    pub total_clients: usize,
    /// In-window reverse barge-ins.
    pub total_reverse_barge_ins: usize,
    /// Connections with at least one.
    pub clients_with_reverse_barge_ins: usize,
    /// Their stream ids.
    pub affected_client_ids: Vec<String>,
    /// Of which the reply started before the speech ended.
    pub during_speech: usize,
    /// Of which the reply started after the speech end but sooner than the threshold.
    pub below_threshold: usize,
}

/// Seed `error_detection`, extended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetection {
    /// Connections.
    pub total_clients: usize,
    /// Errors over all connections.
    pub total_errors: usize,
    /// Connections with at least one error.
    pub clients_with_errors: usize,
    /// Errors per stream id (only those with errors).
    pub client_error_counts: BTreeMap<String, usize>,
}

/// Turns by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnCounts {
    /// Turns started inside the metrics window.
    pub in_window: usize,
    /// Of which the bot replied.
    pub replied: usize,
    /// Of which no reply came in time.
    pub no_reply: usize,
    /// Of which the connection broke.
    pub disconnected: usize,
    /// Of which the run was stopped.
    pub stopped: usize,
    /// Turns outside the window (warm-up and after the end), not in any statistic.
    pub outside_window: usize,
}

/// One connection in the summary's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRow {
    /// Stream id.
    pub stream_id: String,
    /// User number.
    pub user: usize,
    /// Connection number of that user.
    pub connection: usize,
    /// Final status.
    pub status: ConnectionStatus,
    /// In-window turns.
    pub turns: usize,
    /// Of which got a reply.
    pub replied: usize,
    /// Latency over its replied in-window turns (s).
    pub latency: Option<Summary>,
    /// Reverse barge-ins.
    pub reverse_barge_ins: usize,
    /// Glitches.
    pub glitches: usize,
    /// Starved playback (ms).
    pub starved_ms: f64,
    /// Errors.
    pub errors: usize,
    /// 99th percentile of its chunk send lateness (ms).
    pub send_lateness_p99_ms: Option<f64>,
}

/// Errors over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSummary {
    /// All errors.
    pub total: usize,
    /// By kind.
    pub by_kind: BTreeMap<ErrorKind, usize>,
    /// In-window turns that failed (no reply, disconnected) plus failed connection attempts.
    pub failed: usize,
    /// In-window turns (not stopped ones) plus failed connection attempts.
    pub attempted: usize,
    /// `failed / attempted` (0 when nothing was attempted): what `--max-error-rate` checks.
    pub error_rate: f64,
    /// The first errors of the run (up to 20), with their stream id.
    pub first_errors: Vec<StreamError>,
}

/// An error with the stream it happened on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamError {
    /// Stream id.
    pub stream_id: String,
    /// The error.
    #[serde(flatten)]
    pub error: ErrorRecord,
}

/// The load generator's own accuracy: if it is late, the numbers are not trustworthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfCheck {
    /// Chunk send lateness versus schedule over every chunk of every connection (ms).
    pub send_lateness_ms: Option<Summary>,
    /// Receive-loop wake-up lag over all connections (ms).
    pub receive_lag_ms: Option<Summary>,
    /// The tolerance (ms) the latency error bound was checked against: max(5 ms, 1 % of the
    /// smallest reported latency percentile). Before the error bound existed: the bare 5 ms
    /// both p99s were checked against.
    pub limit_ms: f64,
    /// Whether the latency error bound is within the tolerance (or, with no turn measured,
    /// send lateness p99 + receive lag p99 within 5 ms).
    pub trustworthy: bool,
    /// The warning printed when it is not.
    pub warning: Option<String>,
    /// The bound on each in-window turn's latency error (ms): the largest send lateness of
    /// its chunks up to the first reply audio (the speech end's chunk among them) plus the
    /// run's receive lag p99. Absent in run folders written before the bound existed.
    #[serde(default)]
    pub latency_error_ms: Option<Summary>,
    /// The bound the run is judged by (ms): the p99 over turns of `latency_error_ms`.
    #[serde(default)]
    pub error_bound_ms: Option<f64>,
    /// The rule the run was judged by, in words.
    #[serde(default)]
    pub rule: Option<String>,
}

/// The dataset of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Folder the files were read from.
    pub audio_dir: String,
    /// Whether prep's `manifest.json` was found there.
    pub manifest_found: bool,
    /// The files, in the order users speak them.
    pub files: Vec<DatasetFile>,
    /// Files that could not be used, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Warnings about the dataset (e.g. a file changed since prep described it); absent in
    /// run folders written before the field existed.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One dataset file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetFile {
    /// Path relative to the audio folder.
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Duration (s).
    pub duration_s: f64,
    /// Speech start within the file (s).
    pub speech_start_s: f64,
    /// Speech end within the file (s): where latency is measured from.
    pub speech_end_s: f64,
    /// Where the speech bounds came from.
    pub speech_end_source: SpeechEndSource,
    /// Audio after the speech end (ms).
    pub trailing_ms: f64,
}

/// A dataset file that could not be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Path relative to the audio folder.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// Agreement between bench's and the agent's view of the same turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentAgreement {
    /// The agent log read.
    pub log: String,
    /// Truth lines found for this run's stream ids.
    pub truth_lines: usize,
    /// Turns where both sides measured the interval.
    pub matched_turns: usize,
    /// `bench_interval_s − agent_latency_s` over matched turns (ms).
    pub difference_ms: Option<Summary>,
    /// 99th percentile of the absolute difference (ms).
    pub abs_difference_p99_ms: Option<f64>,
    /// Interruption truth lines found for this run's stream ids.
    #[serde(default)]
    pub interruption_lines: usize,
    /// Barge-in and distractor events matched to one.
    #[serde(default)]
    pub matched_stops: usize,
    /// Bench's signal interval − the agent's, over matched events (ms).
    #[serde(default)]
    pub stop_signal_difference_ms: Option<Summary>,
}

/// Run timing and completeness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// First user's scheduled start (unix s).
    pub started_at: f64,
    /// Start of the metrics window (unix s).
    pub metrics_start_at: f64,
    /// End of the metrics window (unix s).
    pub metrics_end_at: f64,
    /// When the last user finished (unix s); `null` while running.
    pub finished_at: Option<f64>,
    /// Whether every user has finished (false in summaries written mid-run).
    pub complete: bool,
    /// Whether the run was stopped early (SIGINT).
    pub stopped_early: bool,
    /// Users simulated.
    pub users: usize,
}

/// `sweep.json`: one row per concurrency level of `--clients A,B,C`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// When it was written (local time, ISO 8601).
    pub timestamp: String,
    /// voiceperf version.
    pub tool_version: String,
    /// The levels, in the order run.
    pub levels: Vec<SweepLevel>,
    /// `--slo-p95` (s).
    pub slo_p95: Option<f64>,
    /// Highest level whose p95 latency met the SLO.
    pub max_clients_meeting_slo: Option<usize>,
    /// `--fail-p95` (s).
    pub fail_p95: Option<f64>,
    /// `--max-error-rate`.
    pub max_error_rate: Option<f64>,
    /// `--fail-stop-p95` (s).
    #[serde(default)]
    pub fail_stop_p95: Option<f64>,
    /// `--max-false-stop-rate`.
    #[serde(default)]
    pub max_false_stop_rate: Option<f64>,
    /// `--min-turns`: gates over fewer measured turns or events fail as not evaluated.
    #[serde(default)]
    pub min_turns: Option<usize>,
    /// Every gate that failed, in words; empty when all passed.
    pub gate_failures: Vec<String>,
}

/// One concurrency level of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepLevel {
    /// Concurrent users.
    pub clients: usize,
    /// The level's run folder, relative to the sweep folder.
    pub dir: String,
    /// Latency over the level's in-window turns (s).
    pub latency: Option<Summary>,
    /// Replied in-window turns.
    pub turns: usize,
    /// Error rate.
    pub error_rate: f64,
    /// Reverse barge-ins.
    pub reverse_barge_ins: usize,
    /// Glitches.
    pub glitches: usize,
    /// Whether the load generator kept its schedule.
    pub trustworthy: bool,
    /// Whether p95 met `--slo-p95` (`null` without an SLO or without turns).
    pub meets_slo: Option<bool>,
    /// p95 stop latency of the level's barge-ins (s).
    #[serde(default)]
    pub stop_p95: Option<f64>,
    /// False-stop rate of the level's distractors.
    #[serde(default)]
    pub false_stop_rate: Option<f64>,
}
