//! One connection's state, shared on its worker thread by the user's task and receive loop
//! (`client.rs`) and the pacer that sends its audio (`pacer.rs`), and what the users of a
//! run share (`RunContext`). Both sides import it; it imports neither.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufWriter, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::audio::riff;
use crate::bench::BenchOptions;
use crate::bench::connect::Dialer;
use crate::bench::dataset::QueryFile;
use crate::bench::live::LiveStats;
use crate::bench::stop::Stop;
use crate::bench::turn::{Conversation, GreetingMemory, TurnConfig};
use crate::bench::wire::{Wire, WireConnection};
use crate::bench::writer::WriterHandle;
use crate::clock::{self, UnixClock};
use crate::fsutil;
use crate::runfolder::results::{
    ClientResults, ConnectionStatus, ErrorKind, ErrorRecord, FrameCounts, TurnOutcome,
};
use crate::summary::store::ClientUpdate;

/// Everything the users of one run share.
pub(crate) struct RunContext {
    /// The options.
    pub options: BenchOptions,
    /// The run's clock.
    pub clock: UnixClock,
    /// Queries in speaking order.
    pub files: Arc<[Arc<QueryFile>]>,
    /// Turn timing rules, including the metrics window.
    pub turn_config: Arc<TurnConfig>,
    /// The run's start: session start offsets count from here.
    pub run_start: Instant,
    /// Unix seconds of the metrics window start.
    pub metrics_start_unix: f64,
    /// Folder results are written to.
    pub dir: PathBuf,
    /// The results writer.
    pub writer: WriterHandle,
    /// How the conversation is encoded.
    pub wire: Wire,
    /// How connections are made.
    pub dialer: Dialer,
    /// Counters for the live line.
    pub live: Arc<LiveStats>,
    /// Stops every user early.
    pub stop: Stop,
    /// Minimum absolute sample value counting as audible.
    pub audible_amplitude: i32,
    /// Whether the agent greets, as far as the run's connections have learnt.
    pub greeting: GreetingMemory,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionEnd {
    /// The conversation ran to its end (window, hang-up or turn count).
    Finished,
    /// The run was stopped.
    Stopped,
    /// The connection could not be made or broke.
    Failed,
}

/// What one connection has recorded besides its conversation.
pub(crate) struct Recorder {
    /// Its results (turns and greeting are the conversation's; filled in when published).
    pub results: ClientResults,
    /// Send lateness of every chunk (s), by id − 1.
    pub lateness_s: Vec<f32>,
    /// Samples of the thread's wake-up lag (s).
    pub lag_s: Vec<f32>,
    published_lateness: usize,
    published_lag: usize,
    published_turns: usize,
}

impl Recorder {
    pub(crate) fn new(
        ctx: &RunContext,
        stream_id: &str,
        user: usize,
        connection: usize,
        url: String,
    ) -> Self {
        let results = ClientResults {
            stream_id: stream_id.to_string(),
            individual_latencies: Vec::new(),
            average_latency: None,
            valid_latencies: Vec::new(),
            valid_average_latency: None,
            filtered_average_latency: None,
            threshold: ctx.options.threshold,
            num_turns: 0,
            num_valid_turns: 0,
            num_filtered_turns: 0,
            reverse_barge_ins_count: 0,
            glitch_detected: false,
            timestamp: clock::local_timestamp(),
            metrics_start_time: ctx.metrics_start_unix,
            test_duration: ctx
                .turn_config
                .window
                .end
                .saturating_duration_since(ctx.turn_config.window.start)
                .as_secs_f64(),
            tool_version: crate::VERSION.to_string(),
            user,
            connection,
            url,
            status: ConnectionStatus::Running,
            connect_started_at: ctx.clock.now_unix(),
            connected_at: None,
            closed_at: None,
            audio_origin_at: None,
            chunk_ms: ctx.options.chunk_ms,
            chunks_sent: 0,
            greeting: None,
            glitch_count: 0,
            starved_ms: 0.0,
            turns: Vec::new(),
            frames_received: FrameCounts::default(),
            errors: Vec::new(),
            error_counts: BTreeMap::new(),
            send_lateness_ms: None,
            receive_lag_ms: None,
        };
        Recorder {
            results,
            lateness_s: Vec::new(),
            lag_s: Vec::new(),
            published_lateness: 0,
            published_lag: 0,
            published_turns: 0,
        }
    }

    /// Records an error.
    pub(crate) fn error(
        &mut self,
        ctx: &RunContext,
        at: Instant,
        kind: ErrorKind,
        message: String,
        turn: Option<usize>,
    ) {
        ctx.live.errors.fetch_add(1, Ordering::Relaxed);
        *self.results.error_counts.entry(kind).or_default() += 1;
        self.results.errors.push(ErrorRecord {
            at: ctx.clock.unix(at),
            kind,
            message,
            turn,
        });
    }

    /// Sends what changed to the writer: the results with the turns from the last one
    /// published on (it may have changed since: late frames are added to it) and the new
    /// lateness and lag samples. The writer derives the aggregates, off this thread.
    pub(crate) fn publish(&mut self, ctx: &RunContext, conversation: Option<&Conversation>) {
        // The record's own turns stay empty: they are the conversation's.
        let mut results = self.results.clone();
        results.timestamp = clock::local_timestamp();
        let mut turns_from = self.published_turns;
        if let Some(conversation) = conversation {
            let turns = conversation.turns();
            turns_from = self.published_turns.saturating_sub(1).min(turns.len());
            results.turns = turns[turns_from..].to_vec();
            results.greeting = conversation.greeting().cloned();
            self.published_turns = turns.len();
        }
        ctx.writer.send(ClientUpdate {
            results,
            turns_from,
            new_lateness_s: self.lateness_s[self.published_lateness..].to_vec(),
            new_lag_s: self.lag_s[self.published_lag..].to_vec(),
        });
        self.published_lateness = self.lateness_s.len();
        self.published_lag = self.lag_s.len();
    }
}

/// A connection's state, shared on its worker thread by the user's task, the receive task and
/// the pacer.
pub(crate) struct Connection {
    /// Its record.
    pub rec: Recorder,
    /// Its conversation.
    pub conversation: Conversation,
    /// When and why the connection was lost (a `disconnect`) or must end (a `bad_audio`
    /// flood), noticed by the receive task.
    pub lost: Option<(Instant, ErrorKind, String)>,
    /// The conversation is over: frames that still arrive are not the conversation's.
    pub ended: bool,
    /// Received bot audio kept for `--save-audio`.
    pub(crate) saved_audio: Option<SavedAudio>,
    /// The connection's encoder and decoder (a telephony call's ids and counters).
    pub wire: WireConnection,
    /// Marks to echo (Twilio), each when the bot audio received before it has played.
    pub marks: VecDeque<(Instant, String)>,
}

/// Records the loss of the connection at `at` (an error of `kind`), ending a turn in progress.
pub(crate) fn connection_lost(
    ctx: &RunContext,
    rec: &mut Recorder,
    conversation: &mut Conversation,
    at: Instant,
    (kind, reason): (ErrorKind, String),
) -> ConnectionEnd {
    if conversation.is_done() && kind == ErrorKind::Disconnect {
        return ConnectionEnd::Finished;
    }
    let turn = conversation.current_turn();
    rec.error(ctx, at, kind, reason, turn);
    if conversation.stop(at, TurnOutcome::Disconnected) {
        on_turn_end(ctx, conversation, TurnOutcome::Disconnected);
    }
    ConnectionEnd::Failed
}

/// Updates the live counters after a turn ended.
pub(crate) fn on_turn_end(ctx: &RunContext, conversation: &Conversation, outcome: TurnOutcome) {
    let Some(turn) = conversation.turns().last() else {
        return;
    };
    if !turn.in_window {
        return;
    }
    ctx.live.turns.fetch_add(1, Ordering::Relaxed);
    ctx.live
        .glitches
        .fetch_add(turn.glitches, Ordering::Relaxed);
    if turn.reverse_barge_in.is_some() {
        ctx.live.reverse_barge_ins.fetch_add(1, Ordering::Relaxed);
    }
    if let (TurnOutcome::Replied, Some(latency)) = (outcome, turn.latency_s)
        && let Ok(mut latencies) = ctx.live.latencies.lock()
    {
        latencies.push(latency);
    }
}

/// Largest `data` chunk a saved WAVE file holds (its size field is 32 bits).
const MAX_SAVED_BYTES: u64 = u32::MAX as u64 - 64;

/// Buffer between the receive loop and the saved audio's temp file.
const SAVE_BUFFER: usize = 256 * 1024;

/// Received bot audio for `--save-audio`, streamed as it arrives to a temp file in the run
/// folder (memory stays at one buffer whatever the length of the run) and renamed to
/// `bot_response_<stream_id>.wav`, its header filled in, at the end.
#[derive(Debug)]
pub(crate) struct SavedAudio {
    path: PathBuf,
    /// Format of the first frame; frames in another format are left out.
    pub format: Option<(u32, u16)>,
    file: Option<BufWriter<tempfile::NamedTempFile>>,
    data_len: u64,
    /// Frames left out (another format, or past the 4 GiB a WAVE file holds).
    pub skipped_frames: usize,
    failed: Option<String>,
}

impl SavedAudio {
    /// Audio to be saved as `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        SavedAudio {
            path,
            format: None,
            file: None,
            data_len: 0,
            skipped_frames: 0,
            failed: None,
        }
    }

    /// Appends one frame's samples (16-bit little-endian, interleaved).
    pub(crate) fn push(&mut self, sample_rate: u32, channels: u16, pcm: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        let key = (sample_rate, channels);
        if *self.format.get_or_insert(key) != key
            || self.data_len + pcm.len() as u64 > MAX_SAVED_BYTES
        {
            self.skipped_frames += 1;
            return;
        }
        if let Err(e) = self.append(pcm, key) {
            self.failed = Some(format!("{e:#}"));
            self.file = None;
        }
    }

    fn append(&mut self, pcm: &[u8], (rate, channels): (u32, u16)) -> anyhow::Result<()> {
        if self.file.is_none() {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            let temp = tempfile::Builder::new()
                .prefix(fsutil::TEMP_PREFIX)
                .tempfile_in(dir)
                .with_context(|| format!("creating a temp file in {}", dir.display()))?;
            let mut file = BufWriter::with_capacity(SAVE_BUFFER, temp);
            file.write_all(&riff::pcm16_header(0, rate, channels))?;
            self.file = Some(file);
        }
        if let Some(file) = self.file.as_mut() {
            file.write_all(pcm)
                .with_context(|| format!("writing {}", self.path.display()))?;
            self.data_len += pcm.len() as u64;
        }
        Ok(())
    }

    /// Fills in the header and renames the temp file to its name: the path written, `None`
    /// when no audio arrived. A failed write removes the temp file.
    pub(crate) fn finish(self) -> anyhow::Result<Option<PathBuf>> {
        if let Some(reason) = self.failed {
            bail!("{reason}");
        }
        let (Some(file), Some((rate, channels))) = (self.file, self.format) else {
            return Ok(None);
        };
        let context = || format!("writing {}", self.path.display());
        let mut temp = file
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(context)?;
        let header = riff::pcm16_header(self.data_len as usize, rate, channels);
        let handle = temp.as_file_mut();
        handle.seek(SeekFrom::Start(0)).with_context(context)?;
        handle.write_all(&header).with_context(context)?;
        handle.sync_all().with_context(context)?;
        temp.persist_noclobber(&self.path)
            .map_err(|e| e.error)
            .with_context(context)?;
        Ok(Some(self.path))
    }
}
