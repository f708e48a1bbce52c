//! One connection's state, shared on its worker thread by the user's task and receive loop
//! (`client.rs`) and the pacer that sends its audio (`pacer.rs`), and what the users of a
//! run share (`RunContext`). Both sides import it; it imports neither.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::bench::BenchOptions;
use crate::bench::connect::Dialer;
use crate::bench::dataset::QueryFile;
use crate::bench::live::LiveStats;
use crate::bench::stop::Stop;
use crate::bench::turn::{Conversation, GreetingMemory, TurnConfig};
use crate::bench::wire::{Wire, WireConnection};
use crate::bench::writer::WriterHandle;
use crate::clock::{self, UnixClock};
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
    /// When and why the connection was lost, noticed by the receive task.
    pub lost: Option<(Instant, String)>,
    /// The conversation is over: frames that still arrive are not the conversation's.
    pub ended: bool,
    /// Received bot audio kept for `--save-audio`.
    pub(crate) saved_audio: Option<SavedAudio>,
    /// The connection's encoder and decoder (a telephony call's ids and counters).
    pub wire: WireConnection,
    /// Marks to echo (Twilio), each when the bot audio received before it has played.
    pub marks: VecDeque<(Instant, String)>,
}

/// Records the loss of the connection at `at`, ending a turn in progress.
pub(crate) fn connection_lost(
    ctx: &RunContext,
    rec: &mut Recorder,
    conversation: &mut Conversation,
    at: Instant,
    reason: String,
) -> ConnectionEnd {
    if conversation.is_done() {
        return ConnectionEnd::Finished;
    }
    let turn = conversation.current_turn();
    rec.error(ctx, at, ErrorKind::Disconnect, reason, turn);
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

/// Received bot audio kept for `--save-audio`.
#[derive(Debug, Default)]
pub(crate) struct SavedAudio {
    pub format: Option<(u32, u16)>,
    pub samples: Vec<i16>,
    pub skipped_frames: usize,
}
