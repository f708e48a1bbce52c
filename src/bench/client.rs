//! Simulated users on worker threads. Each worker thread is a single-threaded tokio runtime
//! that hosts a share of the users and one [pacer](crate::bench::pacer): a user's task
//! connects, hands the connection's sending side to the pacer (which sends every due chunk
//! of every connection of the thread per timer tick) and waits until the conversation is
//! over, while a receive task per connection timestamps the bot's frames at the socket and
//! feeds them straight to the conversation. A dropped connection is recorded and, by
//! `--on-error`, replaced by a new one under a new stream id.
//!
//! Everything a connection's tasks share lives on one thread (`Rc<RefCell<…>>`): no locks,
//! no channel and no extra wake-up per received frame.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::connect::{ConnectRules, RECONNECT_BACKOFF, Ws};
use crate::bench::connection::{Connection, ConnectionEnd, Recorder, RunContext, SavedAudio};
use crate::bench::pacer::{self, Leave, Paced};
use crate::bench::schedule::ChunkSchedule;
use crate::bench::shape::{Session, UserPlan};
use crate::bench::turn::{Conversation, Heard, first_audible_frame};
use crate::bench::wire::Decoded;
use crate::redact;
use crate::runfolder::results::{ConnectionStatus, ErrorKind, OnError, ReceivedKind, TurnOutcome};

/// How long a clean close waits for the server's close reply.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Runs `users` on `threads` worker threads (users dealt out in turn, so that every thread
/// ramps up alike); returns once every user is done. `started` receives how late each
/// thread's first user started (for the shard's clock check).
pub(crate) fn run_users(
    ctx: &Arc<RunContext>,
    users: Vec<UserPlan>,
    threads: usize,
) -> anyhow::Result<Vec<std::thread::JoinHandle<Option<Duration>>>> {
    let threads = threads.clamp(1, users.len().max(1));
    let mut shares: Vec<Vec<UserPlan>> = vec![Vec::new(); threads];
    for (i, user) in users.into_iter().enumerate() {
        shares[i % threads].push(user);
    }
    let mut handles = Vec::new();
    for (k, share) in shares.into_iter().enumerate() {
        let ctx = Arc::clone(ctx);
        let handle = std::thread::Builder::new()
            .name(format!("bench-worker-{k}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        eprintln!("error: starting a bench worker thread's runtime: {e}");
                        return None;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, worker(ctx, share))
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

/// One worker thread: its users and their pacer. Returns how late its first user started.
async fn worker(ctx: Arc<RunContext>, users: Vec<UserPlan>) -> Option<Duration> {
    let (register, registrations) = mpsc::unbounded_channel();
    let pacer = tokio::task::spawn_local(pacer::run(Arc::clone(&ctx), registrations));
    let first_late = Rc::new(RefCell::new(None));
    let tasks: Vec<_> = users
        .into_iter()
        .map(|plan| {
            tokio::task::spawn_local(run_user(
                Arc::clone(&ctx),
                plan,
                register.clone(),
                Rc::clone(&first_late),
            ))
        })
        .collect();
    drop(register);
    for task in tasks {
        if let Err(e) = task.await {
            eprintln!("warning: a simulated user ended abnormally: {e}");
        }
    }
    if let Err(e) = pacer.await {
        eprintln!("warning: a bench pacer ended abnormally: {e}");
    }
    first_late.take()
}

/// Runs one simulated user through its sessions.
async fn run_user(
    ctx: Arc<RunContext>,
    plan: UserPlan,
    pacer: mpsc::UnboundedSender<Paced>,
    first_late: Rc<RefCell<Option<Duration>>>,
) {
    let mut next_file = 0;
    let mut connection = 0;
    for session in &plan.sessions {
        let start = ctx.run_start + session.start;
        if start >= ctx.turn_config.window.end || !ctx.stop.sleep_until(start).await {
            return;
        }
        {
            let late = Instant::now().saturating_duration_since(start);
            let mut first = first_late.borrow_mut();
            if first.is_none() {
                *first = Some(late);
            }
        }
        ctx.live.active_users.fetch_add(1, Ordering::Relaxed);
        run_session(
            &ctx,
            &pacer,
            plan.user,
            session,
            &mut connection,
            &mut next_file,
        )
        .await;
        ctx.live.active_users.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One session: connections (a new one after each failure, by `--on-error`) until it ends.
async fn run_session(
    ctx: &Arc<RunContext>,
    pacer: &mpsc::UnboundedSender<Paced>,
    user: usize,
    session: &Session,
    connection: &mut usize,
    next_file: &mut usize,
) {
    let hang_up_at = session.hang_up.map(|d| ctx.run_start + d);
    let mut turns_left = session.max_turns;
    loop {
        *connection += 1;
        let leave = Leave {
            hang_up_at,
            max_turns: turns_left,
        };
        let (end, turns) = run_connection(ctx, pacer, user, *connection, next_file, leave).await;
        if let Some(left) = &mut turns_left {
            *left = left.saturating_sub(turns);
            if *left == 0 {
                return;
            }
        }
        if end != ConnectionEnd::Failed || ctx.options.on_error == OnError::Stop {
            return;
        }
        let retry_at = Instant::now() + RECONNECT_BACKOFF;
        if !ctx.stop.sleep_until(retry_at).await
            || Instant::now() >= ctx.turn_config.window.end
            || hang_up_at.is_some_and(|h| Instant::now() >= h)
        {
            return;
        }
    }
}

/// Runs one connection to its end; returns how it ended and the turns it took.
async fn run_connection(
    ctx: &Arc<RunContext>,
    pacer: &mpsc::UnboundedSender<Paced>,
    user: usize,
    connection: usize,
    next_file: &mut usize,
    leave: Leave,
) -> (ConnectionEnd, usize) {
    let stream_id = format!("client_{user}_{}", ctx.clock.now_unix_ms());
    let url = ctx.options.url_for(&stream_id);
    let mut rec = Recorder::new(ctx, &stream_id, user, connection, redact::url(&url));
    rec.publish(ctx, None);

    let rules = ConnectRules {
        timeout: ctx.options.connect_timeout,
        on_error: ctx.options.on_error,
        give_up_at: leave.hang_up_at.map_or(ctx.turn_config.window.end, |h| {
            h.min(ctx.turn_config.window.end)
        }),
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
        Err(status) => return (finish_without_connection(ctx, &mut rec, status), 0),
    };
    let connected_at = Instant::now();
    rec.results.connected_at = Some(ctx.clock.unix(connected_at));

    let (mut sink, stream) = ws.split();
    let mut wire = ctx.wire.connection(&stream_id, ctx.clock.now_unix_ms());
    for message in wire.opening() {
        if let Err(e) = sink.send(message).await {
            let reason = format!("sending the opening messages: {e}");
            rec.error(ctx, Instant::now(), ErrorKind::Send, reason, None);
            return (
                finish_without_connection(ctx, &mut rec, ConnectionStatus::Failed),
                0,
            );
        }
    }

    // The microphone starts at the handshake; chunk 1 leaves one chunk later.
    let schedule = ChunkSchedule::with_rate(
        connected_at,
        ctx.options.chunk_samples(),
        ctx.wire.input_rate(),
    );
    rec.results.audio_origin_at = Some(ctx.clock.unix(connected_at));
    let conversation = Conversation::new(
        Arc::clone(&ctx.turn_config),
        Arc::clone(&ctx.files),
        ctx.clock,
        schedule,
        connected_at,
        *next_file,
        user,
    )
    .with_greeting_wait(ctx.greeting.wait(ctx.options.greeting_timeout));
    let shared = Rc::new(RefCell::new(Connection {
        rec,
        conversation,
        lost: None,
        ended: false,
        saved_audio: ctx.options.save_audio.then(|| {
            SavedAudio::new(
                ctx.dir
                    .join(crate::runfolder::bot_audio_file_name(&stream_id)),
            )
        }),
        wire,
        marks: VecDeque::new(),
    }));
    let receiver =
        tokio::task::spawn_local(receive_loop(stream, Arc::clone(ctx), Rc::clone(&shared)));
    let (done, ended) = oneshot::channel();
    let registered = pacer.send(Paced::new(Rc::clone(&shared), sink, schedule, leave, done));
    let outcome = match registered {
        Ok(()) => ended.await.ok(),
        Err(_) => None,
    };
    let end = match outcome {
        Some((mut sink, end)) => {
            if end == ConnectionEnd::Failed {
                receiver.abort();
            } else {
                // Close cleanly and give the server a moment to answer the close.
                let closing = shared.borrow_mut().wire.closing();
                for message in closing {
                    let _ = sink.send(message).await;
                }
                let _ = sink.send(Message::Close(None)).await;
                let _ = tokio::time::timeout(CLOSE_WAIT, receiver).await;
            }
            end
        }
        None => {
            // The pacer is gone (it only goes once every user is done): nothing was sent.
            receiver.abort();
            let mut c = shared.borrow_mut();
            let c = &mut *c;
            let now = Instant::now();
            c.rec.error(
                ctx,
                now,
                ErrorKind::Send,
                "the pacing loop ended".into(),
                None,
            );
            c.conversation.stop(now, TurnOutcome::Stopped);
            c.ended = true;
            ConnectionEnd::Failed
        }
    };

    let (turns, saved) = {
        let mut c = shared.borrow_mut();
        let c = &mut *c;
        c.rec.results.closed_at = Some(ctx.clock.now_unix());
        c.rec.results.status = match end {
            ConnectionEnd::Finished => ConnectionStatus::Finished,
            ConnectionEnd::Stopped => ConnectionStatus::Stopped,
            ConnectionEnd::Failed => ConnectionStatus::Failed,
        };
        c.rec.publish(ctx, Some(&c.conversation));
        *next_file = c.conversation.next_file();
        (c.conversation.turns().len(), c.saved_audio.take())
    };
    if let Some(audio) = saved {
        save_audio(&stream_id, audio).await;
    }
    (end, turns)
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

/// What the receive task heard in one message.
#[derive(Debug)]
enum ReceiverEvent {
    /// A usable frame.
    Heard(Heard),
    /// A frame that could not be used.
    Bad { kind: ErrorKind, message: String },
}

/// Applies what one message said to the connection.
fn handle_event(ctx: &RunContext, c: &mut Connection, at: Instant, event: ReceiverEvent) {
    let counts = &mut c.rec.results.frames_received;
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
            c.conversation.heard(heard);
        }
        ReceiverEvent::Bad { kind, message } => {
            match kind {
                ErrorKind::Undecodable => counts.undecodable += 1,
                _ => counts.audio += 1,
            }
            let turn = c.conversation.current_turn();
            c.rec.error(ctx, at, kind, message, turn);
        }
    }
}

type WsStream = futures_util::stream::SplitStream<Ws>;

/// Receives frames, timestamps each the moment the socket yields it, decodes it and hands it
/// to the conversation; a lost connection is left for the pacer to act on.
async fn receive_loop(mut stream: WsStream, ctx: Arc<RunContext>, shared: Rc<RefCell<Connection>>) {
    loop {
        let message = stream.next().await;
        let at = Instant::now();
        let closed = match message {
            None => "connection closed by the server".to_string(),
            Some(Err(e)) => format!("connection error: {e}"),
            Some(Ok(Message::Close(frame))) => match frame {
                Some(frame) => format!(
                    "server closed the connection ({} {})",
                    u16::from(frame.code),
                    frame.reason
                ),
                None => "server closed the connection".into(),
            },
            Some(Ok(message)) => {
                let mut c = shared.borrow_mut();
                let c = &mut *c;
                if c.ended {
                    continue;
                }
                let decoded = c.wire.decode(message);
                match &decoded {
                    // The bot was interrupted: the speaker drops what it has queued, and
                    // the marks after that audio are echoed at once (as Twilio does).
                    Decoded::Clear => {
                        c.conversation.flush_playback(at);
                        for (due, _) in &mut c.marks {
                            *due = at;
                        }
                    }
                    Decoded::Mark(name) => {
                        let due = c.conversation.play_end().map_or(at, |end| end.max(at));
                        c.marks.push_back((due, name.clone()));
                    }
                    _ => {}
                }
                if let Some(event) =
                    heard(at, decoded, ctx.audible_amplitude, c.saved_audio.as_mut())
                {
                    handle_event(&ctx, c, at, event);
                }
                // Audio far faster than real time: the connection ends with a `bad_audio`
                // error, and nothing more is read from it.
                if let Some(flood) = c.conversation.flood() {
                    if c.lost.is_none() {
                        c.lost = Some((at, ErrorKind::BadAudio, flood.to_string()));
                    }
                    return;
                }
                continue;
            }
        };
        let mut c = shared.borrow_mut();
        if c.lost.is_none() {
            c.lost = Some((at, ErrorKind::Disconnect, closed));
        }
        return;
    }
}

/// The event for a decoded message that arrived at `at` (keeping its audio for
/// `--save-audio`); `None` for a message the user does not act on.
fn heard(
    at: Instant,
    decoded: Decoded,
    audible_amplitude: i32,
    saved_audio: Option<&mut SavedAudio>,
) -> Option<ReceiverEvent> {
    Some(match decoded {
        Decoded::Audio { pcm, format } => {
            if let Some(saved) = saved_audio {
                saved.push(format.sample_rate, format.channels, &pcm);
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
            rtvi,
        } => ReceiverEvent::Heard(Heard::Other {
            at,
            kind,
            text,
            rtvi_type,
            rtvi,
        }),
        Decoded::Clear => ReceiverEvent::Heard(Heard::Other {
            at,
            kind: ReceivedKind::Interruption,
            text: "clear".into(),
            rtvi_type: None,
            rtvi: None,
        }),
        Decoded::Mark(name) => ReceiverEvent::Heard(Heard::Other {
            at,
            kind: ReceivedKind::Message,
            text: format!("mark {name}"),
            rtvi_type: None,
            rtvi: None,
        }),
        Decoded::Bad { kind, message } => ReceiverEvent::Bad { kind, message },
        Decoded::Nothing => return None,
    })
}

/// Finishes a connection's saved bot audio, `bot_response_<stream_id>.wav` (streamed to a
/// temp file as it arrived).
async fn save_audio(stream_id: &str, audio: SavedAudio) {
    if audio.skipped_frames > 0 {
        eprintln!(
            "warning: {stream_id}: {} bot audio frame(s) changed format mid-stream (or went past the 4 GiB a WAVE file holds) and were left out of the saved audio",
            audio.skipped_frames
        );
    }
    match tokio::task::spawn_blocking(move || audio.finish()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("warning: saving the audio of {stream_id}: {e:#}"),
        Err(e) => eprintln!("warning: saving the audio of {stream_id}: {e}"),
    }
}
