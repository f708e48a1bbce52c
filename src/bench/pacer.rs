//! The pacing loop of a worker thread: one task, one timer, for every connection of the
//! thread. It sleeps until the earliest chunk due, then sends every chunk that is due — each
//! connection's conversation advanced, its chunk filled ([`Conversation`]) and encoded
//! ([`Wire`]) — and sleeps again. A timer per user and a wake-up per chunk become one wake-up
//! per tick for all of them (tokio's timer ticks every millisecond), which is most of what a
//! simulated user used to cost.
//!
//! Sends never wait: a socket that cannot take a chunk keeps it queued and is retried on the
//! next ticks, its chunk counted as sent (and late) when it has left, while the other
//! connections go on.
//!
//! [`Conversation`]: crate::bench::turn::Conversation
//! [`Wire`]: crate::bench::wire::Wire

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::connect::Ws;
use crate::bench::connection::{
    Connection, ConnectionEnd, RunContext, connection_lost, on_turn_end,
};
use crate::bench::schedule::ChunkSchedule;
use crate::runfolder::results::{ErrorKind, TurnOutcome};

/// How often a connection records its thread's wake-up lag.
const LAG_SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How soon a socket that could not take a chunk is tried again.
const RETRY: Duration = Duration::from_millis(1);

/// The sending half of a connection.
pub(crate) type WsSink = futures_util::stream::SplitSink<Ws, Message>;

/// When a connection hangs up besides the end of the metrics window: after the turn in
/// progress at `hang_up_at`, or once it has taken `max_turns` turns.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Leave {
    /// Hang up after the turn in progress from then on.
    pub hang_up_at: Option<Instant>,
    /// Hang up after this many turns on the connection.
    pub max_turns: Option<usize>,
}

impl Leave {
    fn is_due(&self, now: Instant, turns: usize) -> bool {
        self.hang_up_at.is_some_and(|at| now >= at) || self.max_turns.is_some_and(|n| turns >= n)
    }
}

/// A connection handed to the pacer.
pub(crate) struct Paced {
    shared: Rc<RefCell<Connection>>,
    sink: WsSink,
    schedule: ChunkSchedule,
    next_id: u64,
    /// A chunk the socket has not taken yet: its id and when it was due.
    pending: Option<(u64, Instant)>,
    leave: Leave,
    lag_sampled_at: Option<Instant>,
    /// This connection has told the run what its greeting wait learnt.
    greeting_learnt: bool,
    done: oneshot::Sender<(WsSink, ConnectionEnd)>,
}

impl Paced {
    /// A connection whose microphone follows `schedule` from chunk 1; when its conversation
    /// is over, the sink and how it ended go back through `done`.
    pub(crate) fn new(
        shared: Rc<RefCell<Connection>>,
        sink: WsSink,
        schedule: ChunkSchedule,
        leave: Leave,
        done: oneshot::Sender<(WsSink, ConnectionEnd)>,
    ) -> Self {
        Paced {
            shared,
            sink,
            schedule,
            next_id: 1,
            pending: None,
            leave,
            lag_sampled_at: None,
            greeting_learnt: false,
            done,
        }
    }
}

/// Runs the pacing loop until no connection is left and no more can come.
pub(crate) async fn run(ctx: Arc<RunContext>, mut registrations: mpsc::UnboundedReceiver<Paced>) {
    let mut slots: Vec<Option<Paced>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut due: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
    let mut pcm = Vec::with_capacity(ctx.options.chunk_samples() * 2);
    let stopped = ctx.stop.stopped();
    tokio::pin!(stopped);
    let mut stop_seen = false;
    let mut open = true;
    loop {
        if !open && due.is_empty() {
            return;
        }
        let next = due.peek().map(|Reverse((at, _))| *at);
        let wake_at = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            biased;
            () = &mut stopped, if !stop_seen => {
                stop_seen = true;
                // Every connection ends now, on the next tick.
                let now = Instant::now();
                let slots_due: Vec<usize> = due.drain().map(|Reverse((_, slot))| slot).collect();
                due.extend(slots_due.into_iter().map(|slot| Reverse((now, slot))));
            }
            registration = registrations.recv(), if open => match registration {
                Some(paced) => {
                    let first = paced.schedule.due(paced.next_id);
                    let slot = match free.pop() {
                        Some(slot) => {
                            slots[slot] = Some(paced);
                            slot
                        }
                        None => {
                            slots.push(Some(paced));
                            slots.len() - 1
                        }
                    };
                    due.push(Reverse((first, slot)));
                }
                None => open = false,
            },
            () = tokio::time::sleep_until(wake_at.into()), if next.is_some() => {
                let lag = Instant::now().saturating_duration_since(wake_at);
                while let Some(&Reverse((at, slot))) = due.peek() {
                    if at > Instant::now() {
                        break;
                    }
                    due.pop();
                    let Some(paced) = slots[slot].as_mut() else { continue };
                    match step(&ctx, paced, &mut pcm, lag) {
                        Ok(next) => due.push(Reverse((next, slot))),
                        Err(end) => {
                            if let Some(paced) = slots[slot].take() {
                                paced.shared.borrow_mut().ended = true;
                                // The user's task may be gone (its thread is ending): nothing
                                // is waiting for the connection then.
                                let _ = paced.done.send((paced.sink, end));
                            }
                            free.push(slot);
                        }
                    }
                }
            }
            else => return,
        }
    }
}

/// Does what is due on one connection: its queued chunk, its losses and turn ends, its next
/// chunk. Returns when it is next due, or how it ended.
fn step(
    ctx: &RunContext,
    p: &mut Paced,
    pcm: &mut Vec<u8>,
    lag: Duration,
) -> Result<Instant, ConnectionEnd> {
    let shared = Rc::clone(&p.shared);
    let mut guard = shared.borrow_mut();
    let c = &mut *guard;
    if let Some((id, due)) = p.pending {
        match p.sink.flush().now_or_never() {
            None => return Ok(Instant::now() + RETRY),
            Some(Err(e)) => return Err(send_failed(ctx, c, id, &e)),
            Some(Ok(())) => {
                p.pending = None;
                sent(p, c, id, due, Instant::now(), lag);
            }
        }
    }
    if let Some((at, kind, reason)) = c.lost.take() {
        return Err(connection_lost(
            ctx,
            &mut c.rec,
            &mut c.conversation,
            at,
            (kind, reason),
        ));
    }
    let now = Instant::now();
    if ctx.stop.is_stopped() {
        if c.conversation.stop(now, TurnOutcome::Stopped) {
            on_turn_end(ctx, &c.conversation, TurnOutcome::Stopped);
        }
        return Err(ConnectionEnd::Stopped);
    }
    let step = c.conversation.advance(now);
    if !p.greeting_learnt
        && let Some(heard) = c.conversation.greeting_wait_ended()
    {
        ctx.greeting.learn(heard);
        p.greeting_learnt = true;
    }
    if let Some(outcome) = step.ended {
        if outcome == TurnOutcome::NoReply {
            let message = format!(
                "no reply audio within {:.1} s of the speech end",
                ctx.options.reply_timeout.as_secs_f64()
            );
            let turn = c.conversation.turns().last().map(|t| t.turn);
            c.rec.error(ctx, now, ErrorKind::Timeout, message, turn);
        }
        on_turn_end(ctx, &c.conversation, outcome);
        c.rec.publish(ctx, Some(&c.conversation));
    }
    if step.done {
        return Err(ConnectionEnd::Finished);
    }
    if p.leave.is_due(now, c.conversation.turns().len()) && c.conversation.current_turn().is_none()
    {
        c.conversation.stop(now, TurnOutcome::Stopped);
        return Err(ConnectionEnd::Finished);
    }
    // Twilio: echo the marks whose audio has played. The sink is flushed here (a pending
    // chunk returned above), so a mark is queued at once and leaves with the next chunk.
    while c.marks.front().is_some_and(|(at, _)| *at <= now) {
        let Some((_, name)) = c.marks.pop_front() else {
            break;
        };
        if let Some(echo) = c.wire.mark_echo(&name)
            && let Some(Err(e)) = p.sink.feed(echo).now_or_never()
        {
            return Err(send_failed(ctx, c, p.next_id, &e));
        }
    }
    let id = p.next_id;
    let due = p.schedule.due(id);
    if let Some(outcome) = c.conversation.fill_chunk(id, due, pcm) {
        on_turn_end(ctx, &c.conversation, outcome);
        c.rec.publish(ctx, Some(&c.conversation));
    }
    let message = c.wire.audio(id, pcm);
    p.next_id += 1;
    // A send that cannot finish now has its chunk queued in the sink (tokio-tungstenite and
    // the split sink take the message before they flush): it is flushed on the next ticks.
    match p.sink.send(message).now_or_never() {
        Some(Ok(())) => {
            sent(p, c, id, due, Instant::now(), lag);
            Ok(p.schedule.due(p.next_id))
        }
        Some(Err(e)) => Err(send_failed(ctx, c, id, &e)),
        None => {
            p.pending = Some((id, due));
            Ok(Instant::now() + RETRY)
        }
    }
}

/// Records that chunk `id`, due at `due`, left at `at`.
fn sent(p: &mut Paced, c: &mut Connection, id: u64, due: Instant, at: Instant, lag: Duration) {
    c.conversation.chunk_sent(id, due, at);
    c.rec
        .lateness_s
        .push(at.saturating_duration_since(due).as_secs_f32());
    c.rec.results.chunks_sent = id;
    if p.lag_sampled_at
        .is_none_or(|t| at.saturating_duration_since(t) >= LAG_SAMPLE_EVERY)
    {
        c.rec.lag_s.push(lag.as_secs_f32());
        p.lag_sampled_at = Some(at);
    }
}

fn send_failed(
    ctx: &RunContext,
    c: &mut Connection,
    id: u64,
    e: &tokio_tungstenite::tungstenite::Error,
) -> ConnectionEnd {
    let now = Instant::now();
    let turn = c.conversation.current_turn();
    c.rec.error(
        ctx,
        now,
        ErrorKind::Send,
        format!("sending chunk {id}: {e}"),
        turn,
    );
    if c.conversation.stop(now, TurnOutcome::Disconnected) {
        on_turn_end(ctx, &c.conversation, TurnOutcome::Disconnected);
    }
    ConnectionEnd::Failed
}
