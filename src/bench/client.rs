//! One simulated user: a tokio task that connects, then sends its microphone on the absolute
//! chunk schedule while a second task receives and timestamps the bot's frames at the socket.
//! A dropped connection is recorded and, by `--on-error`, replaced by a new one under a new
//! stream id.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::audio::riff;
use crate::bench::BenchOptions;
use crate::bench::connect::{ConnectRules, Dialer, RECONNECT_BACKOFF, Ws};
use crate::bench::dataset::QueryFile;
use crate::bench::live::LiveStats;
use crate::bench::schedule::ChunkSchedule;
use crate::bench::stop::Stop;
use crate::bench::store::ClientUpdate;
use crate::bench::turn::{Conversation, GreetingMemory, Heard, TurnConfig, first_audible_frame};
use crate::bench::wire::{Decoded, Wire};
use crate::bench::writer::WriterHandle;
use crate::clock::{self, UnixClock};
use crate::redact;
use crate::runfolder::results::{
    ClientResults, ConnectionStatus, ErrorKind, ErrorRecord, FrameCounts, OnError, ReceivedKind,
    TurnOutcome,
};

/// How often the receive loop checks its own wake-up lag.
const LAG_PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// How long a clean close waits for the server's close reply.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

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
    /// When user 1 starts.
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
enum ConnectionEnd {
    Finished,
    Stopped,
    Failed,
}

/// Runs simulated user `user` (1-based) to the end of the metrics window.
pub(crate) async fn run_user(ctx: Arc<RunContext>, user: usize) {
    let start = ctx.run_start + ctx.options.client_start_delay.mul_f64((user - 1) as f64);
    if !ctx.stop.sleep_until(start).await {
        return;
    }
    ctx.live.active_users.fetch_add(1, Ordering::Relaxed);
    let mut next_file = 0;
    for connection in 1.. {
        let end = run_connection(&ctx, user, connection, &mut next_file).await;
        if end != ConnectionEnd::Failed || ctx.options.on_error == OnError::Stop {
            break;
        }
        if !ctx
            .stop
            .sleep_until(Instant::now() + RECONNECT_BACKOFF)
            .await
            || Instant::now() >= ctx.turn_config.window.end
        {
            break;
        }
    }
    ctx.live.active_users.fetch_sub(1, Ordering::Relaxed);
}

/// What one connection has recorded besides its conversation.
struct Recorder {
    results: ClientResults,
    lateness_s: Vec<f32>,
    lag_s: Vec<f32>,
    published_lateness: usize,
    published_lag: usize,
}

impl Recorder {
    fn new(ctx: &RunContext, stream_id: &str, user: usize, connection: usize, url: String) -> Self {
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
            test_duration: ctx.options.test_duration.as_secs_f64(),
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
        }
    }

    fn error(
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

    /// Sends the current state to the writer (and the live counters for a finished turn).
    fn publish(&mut self, ctx: &RunContext, conversation: Option<&Conversation>) {
        if let Some(conversation) = conversation {
            self.results.turns = conversation.turns().to_vec();
            self.results.greeting = conversation.greeting().cloned();
        }
        self.results.timestamp = clock::local_timestamp();
        self.results.refresh_derived(&self.lateness_s, &self.lag_s);
        let update = ClientUpdate {
            results: self.results.clone(),
            new_lateness_s: self.lateness_s[self.published_lateness..].to_vec(),
            new_lag_s: self.lag_s[self.published_lag..].to_vec(),
        };
        self.published_lateness = self.lateness_s.len();
        self.published_lag = self.lag_s.len();
        ctx.writer.send(update);
    }
}

async fn run_connection(
    ctx: &RunContext,
    user: usize,
    connection: usize,
    next_file: &mut usize,
) -> ConnectionEnd {
    let stream_id = format!("client_{user}_{}", ctx.clock.now_unix_ms());
    let url = ctx.options.url_for(&stream_id);
    let mut rec = Recorder::new(ctx, &stream_id, user, connection, redact::url(&url));
    rec.publish(ctx, None);

    let rules = ConnectRules {
        timeout: ctx.options.connect_timeout,
        on_error: ctx.options.on_error,
        give_up_at: ctx.turn_config.window.end,
    };
    let connected = ctx
        .dialer
        .connect(&url, rules, &ctx.stop, |message| {
            rec.error(ctx, Instant::now(), ErrorKind::Connect, message, None);
            rec.publish(ctx, None);
        })
        .await;
    let ws = match connected {
        Ok(ws) => ws,
        Err(status) => return finish_without_connection(ctx, &mut rec, status),
    };
    let connected_at = Instant::now();
    rec.results.connected_at = Some(ctx.clock.unix(connected_at));

    let (mut sink, stream) = ws.split();
    for message in ctx.wire.opening() {
        if let Err(e) = sink.send(message).await {
            let reason = format!("sending the opening messages: {e}");
            rec.error(ctx, Instant::now(), ErrorKind::Send, reason, None);
            return finish_without_connection(ctx, &mut rec, ConnectionStatus::Failed);
        }
    }
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let saved_audio = ctx
        .options
        .save_audio
        .then(|| Arc::new(Mutex::new(SavedAudio::default())));
    let receiver = tokio::spawn(receive_loop(
        stream,
        ctx.wire.clone(),
        events_tx,
        ctx.audible_amplitude,
        saved_audio.clone(),
    ));

    let chunk_samples = ctx.options.chunk_samples();
    // The microphone starts at the handshake; chunk 1 leaves one chunk later.
    let schedule = ChunkSchedule::new(connected_at, chunk_samples);
    rec.results.audio_origin_at = Some(ctx.clock.unix(connected_at));
    let mut conversation = Conversation::new(
        Arc::clone(&ctx.turn_config),
        Arc::clone(&ctx.files),
        ctx.clock,
        schedule,
        connected_at,
        *next_file,
    )
    .with_greeting_wait(ctx.greeting.wait(ctx.options.greeting_timeout));
    let mut pcm = Vec::with_capacity(chunk_samples * 2);
    let mut id: u64 = 1;
    let mut greeting_learnt = false;
    let stopped = ctx.stop.stopped();
    tokio::pin!(stopped);

    let end = loop {
        let due = schedule.due(id);
        tokio::select! {
            biased;
            () = &mut stopped => {
                if conversation.stop(Instant::now(), TurnOutcome::Stopped) {
                    on_turn_end(ctx, &conversation, TurnOutcome::Stopped);
                }
                break ConnectionEnd::Stopped;
            }
            () = tokio::time::sleep_until(due.into()) => {
                // Frames that arrived before this tick must be seen before deciding anything.
                let mut lost = None;
                while let Ok(event) = events.try_recv() {
                    if let Some(reason) = handle_event(ctx, &mut rec, &mut conversation, event) {
                        lost = Some(reason);
                        break;
                    }
                }
                if let Some((at, reason)) = lost {
                    break connection_lost(ctx, &mut rec, &mut conversation, at, reason);
                }
                let now = Instant::now();
                let step = conversation.advance(now);
                if !greeting_learnt && let Some(heard) = conversation.greeting_wait_ended() {
                    ctx.greeting.learn(heard);
                    greeting_learnt = true;
                }
                if let Some(outcome) = step.ended {
                    if outcome == TurnOutcome::NoReply {
                        let message = format!(
                            "no reply audio within {:.1} s of the speech end",
                            ctx.options.reply_timeout.as_secs_f64()
                        );
                        let turn = conversation.turns().last().map(|t| t.turn);
                        rec.error(ctx, now, ErrorKind::Timeout, message, turn);
                    }
                    on_turn_end(ctx, &conversation, outcome);
                    rec.publish(ctx, Some(&conversation));
                }
                if step.done {
                    break ConnectionEnd::Finished;
                }
                conversation.fill_chunk(id, due, &mut pcm);
                if let Err(e) = sink.send(ctx.wire.audio(id, &pcm)).await {
                    let now = Instant::now();
                    let turn = conversation.current_turn();
                    rec.error(ctx, now, ErrorKind::Send, format!("sending chunk {id}: {e}"), turn);
                    if conversation.stop(now, TurnOutcome::Disconnected) {
                        on_turn_end(ctx, &conversation, TurnOutcome::Disconnected);
                    }
                    break ConnectionEnd::Failed;
                }
                let sent = Instant::now();
                conversation.chunk_sent(id, due, sent);
                rec.lateness_s.push(sent.saturating_duration_since(due).as_secs_f32());
                rec.results.chunks_sent = id;
                id += 1;
            }
            event = events.recv() => {
                let lost = match event {
                    Some(event) => handle_event(ctx, &mut rec, &mut conversation, event),
                    None => Some((Instant::now(), "receive loop ended".to_string())),
                };
                if let Some((at, reason)) = lost {
                    break connection_lost(ctx, &mut rec, &mut conversation, at, reason);
                }
            }
        }
    };
    *next_file = conversation.next_file();

    if end == ConnectionEnd::Failed {
        receiver.abort();
    } else {
        // Close cleanly and give the server a moment to answer the close.
        for message in ctx.wire.closing() {
            let _ = sink.send(message).await;
        }
        let _ = sink.send(Message::Close(None)).await;
        let _ = tokio::time::timeout(CLOSE_WAIT, receiver).await;
    }
    while let Ok(event) = events.try_recv() {
        if let ReceiverEvent::Lag(lag) = event {
            rec.lag_s.push(lag.as_secs_f32());
        }
    }
    rec.results.closed_at = Some(ctx.clock.now_unix());
    rec.results.status = match end {
        ConnectionEnd::Finished => ConnectionStatus::Finished,
        ConnectionEnd::Stopped => ConnectionStatus::Stopped,
        ConnectionEnd::Failed => ConnectionStatus::Failed,
    };
    rec.publish(ctx, Some(&conversation));
    if let Some(audio) = saved_audio {
        save_audio(ctx, &stream_id, &audio).await;
    }
    end
}

fn finish_without_connection(
    ctx: &RunContext,
    rec: &mut Recorder,
    status: ConnectionStatus,
) -> ConnectionEnd {
    rec.results.status = status;
    rec.results.closed_at = Some(ctx.clock.now_unix());
    rec.publish(ctx, None);
    match status {
        ConnectionStatus::Stopped => ConnectionEnd::Stopped,
        _ => ConnectionEnd::Failed,
    }
}

fn connection_lost(
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
fn on_turn_end(ctx: &RunContext, conversation: &Conversation, outcome: TurnOutcome) {
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

/// Applies one receive-loop event; returns when and why the connection was lost, if it was.
fn handle_event(
    ctx: &RunContext,
    rec: &mut Recorder,
    conversation: &mut Conversation,
    event: ReceiverEvent,
) -> Option<(Instant, String)> {
    let counts = &mut rec.results.frames_received;
    match event {
        ReceiverEvent::Heard(heard) => {
            match &heard {
                Heard::Audio { .. } => counts.audio += 1,
                Heard::Other { kind, .. } => match kind {
                    ReceivedKind::Text => counts.text += 1,
                    ReceivedKind::Transcription => counts.transcription += 1,
                    ReceivedKind::Message => counts.message += 1,
                    ReceivedKind::Interruption => counts.interruption += 1,
                    ReceivedKind::Unknown => counts.unknown += 1,
                },
            }
            conversation.heard(heard);
        }
        ReceiverEvent::Bad { at, kind, message } => {
            match kind {
                ErrorKind::Undecodable => counts.undecodable += 1,
                _ => counts.audio += 1,
            }
            let turn = conversation.current_turn();
            rec.error(ctx, at, kind, message, turn);
        }
        ReceiverEvent::Lag(lag) => rec.lag_s.push(lag.as_secs_f32()),
        ReceiverEvent::Closed { at, reason } => return Some((at, reason)),
    }
    None
}

/// What the receive loop tells the sending task.
#[derive(Debug)]
enum ReceiverEvent {
    /// A usable frame.
    Heard(Heard),
    /// A frame that could not be used.
    Bad {
        at: Instant,
        kind: ErrorKind,
        message: String,
    },
    /// The loop woke this late for a due timer.
    Lag(Duration),
    /// The connection ended.
    Closed { at: Instant, reason: String },
}

/// Received bot audio kept for `--save-audio`.
#[derive(Debug, Default)]
struct SavedAudio {
    format: Option<(u32, u16)>,
    samples: Vec<i16>,
    skipped_frames: usize,
}

type WsStream = futures_util::stream::SplitStream<Ws>;

/// Receives frames, timestamps each the moment the socket yields it, and decodes it.
async fn receive_loop(
    mut stream: WsStream,
    wire: Wire,
    events: mpsc::UnboundedSender<ReceiverEvent>,
    audible_amplitude: i32,
    saved_audio: Option<Arc<Mutex<SavedAudio>>>,
) {
    let mut next_probe = Instant::now() + LAG_PROBE_INTERVAL;
    loop {
        tokio::select! {
            biased;
            message = stream.next() => {
                let at = Instant::now();
                let event = match message {
                    None => ReceiverEvent::Closed {
                        at,
                        reason: "connection closed by the server".into(),
                    },
                    Some(Err(e)) => ReceiverEvent::Closed {
                        at,
                        reason: format!("connection error: {e}"),
                    },
                    Some(Ok(Message::Close(frame))) => ReceiverEvent::Closed {
                        at,
                        reason: match frame {
                            Some(frame) => format!(
                                "server closed the connection ({} {})",
                                u16::from(frame.code),
                                frame.reason
                            ),
                            None => "server closed the connection".into(),
                        },
                    },
                    Some(Ok(message)) => {
                        match heard(at, wire.decode(message), audible_amplitude, saved_audio.as_deref()) {
                            Some(event) => event,
                            None => continue,
                        }
                    }
                };
                let closed = matches!(event, ReceiverEvent::Closed { .. });
                if events.send(event).is_err() || closed {
                    return;
                }
            }
            () = tokio::time::sleep_until(next_probe.into()) => {
                let now = Instant::now();
                let _ = events.send(ReceiverEvent::Lag(now.saturating_duration_since(next_probe)));
                next_probe = (next_probe + LAG_PROBE_INTERVAL).max(now);
            }
        }
    }
}

/// The event for a decoded message that arrived at `at` (keeping its audio for
/// `--save-audio`); `None` for a message the user does not act on.
fn heard(
    at: Instant,
    decoded: Decoded,
    audible_amplitude: i32,
    saved_audio: Option<&Mutex<SavedAudio>>,
) -> Option<ReceiverEvent> {
    Some(match decoded {
        Decoded::Audio { pcm, format } => {
            if let Some(saved) = saved_audio
                && let Ok(mut saved) = saved.lock()
            {
                let key = (format.sample_rate, format.channels);
                if *saved.format.get_or_insert(key) == key {
                    saved
                        .samples
                        .extend_from_slice(&riff::pcm16_from_bytes(&pcm));
                } else {
                    saved.skipped_frames += 1;
                }
            }
            let channels = usize::from(format.channels.max(1));
            ReceiverEvent::Heard(Heard::Audio {
                at,
                frames: pcm.len() / (2 * channels),
                format,
                audible_frame: first_audible_frame(&pcm, channels, audible_amplitude),
            })
        }
        Decoded::Other {
            kind,
            text,
            rtvi_type,
        } => ReceiverEvent::Heard(Heard::Other {
            at,
            kind,
            text,
            rtvi_type,
        }),
        Decoded::Bad { kind, message } => ReceiverEvent::Bad { at, kind, message },
        Decoded::Nothing => return None,
    })
}

/// Writes a connection's received bot audio as `bot_response_<stream_id>.wav`.
async fn save_audio(ctx: &RunContext, stream_id: &str, audio: &Mutex<SavedAudio>) {
    let (format, samples, skipped) = match audio.lock() {
        Ok(mut saved) => (
            saved.format,
            std::mem::take(&mut saved.samples),
            saved.skipped_frames,
        ),
        Err(_) => return,
    };
    let Some((rate, channels)) = format else {
        return;
    };
    if skipped > 0 {
        eprintln!(
            "warning: {stream_id}: {skipped} bot audio frame(s) changed format mid-stream and were left out of the saved audio"
        );
    }
    let path = ctx
        .dir
        .join(crate::runfolder::bot_audio_file_name(stream_id));
    let bytes = riff::wrap_pcm16(&riff::pcm16_to_bytes(&samples), rate, channels);
    let written =
        tokio::task::spawn_blocking(move || crate::fsutil::write_atomic(&path, &bytes)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: {e:#}"),
        Err(e) => eprintln!("warning: saving audio of {stream_id}: {e}"),
    }
}
