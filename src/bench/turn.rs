//! The conversation of one connection as a state machine, free of I/O so it can be tested
//! with made-up instants. The client task feeds it ticks, sent chunks and received frames; it
//! decides what each chunk carries and produces one [`TurnRecord`] per turn.
//!
//! The grammar: greeting → turn*, where a turn is *speak a query → wait for the reply → the
//! reply plays*, then one of what the scenario planned over that reply:
//! - nothing: the reply plays out → reply gap → turn gap → the next turn;
//! - a barge-in: `after` seconds into the reply (simulated playback clock) the next query's
//!   speech begins; that turn (kind `interrupt`) follows how the old reply stops (its stream up
//!   to the first break is the old reply's, the agent's stop signal) while waiting for its own
//!   reply;
//! - a distractor: `after` seconds into the reply a short sound is sent (kind `distractor`);
//!   the turn then waits for the reply to play out and at least [`SPURIOUS_WAIT`] after the
//!   sound, so a reply to the sound (spurious) is caught.
//!
//! The microphone sends a chunk every tick throughout (speech, sound or silence). RTVI messages
//! are attributed to the turn from its `user-started-speaking` until the next turn's (before
//! the agent has sent one on the connection: from the turn's first chunk).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::bench::dataset::QueryFile;
use crate::bench::playback::{Playback, Played};
use crate::bench::scenario::{Overlay, Planner};
use crate::bench::schedule::{ChunkSchedule, MetricsWindow, samples_duration};
use crate::clock::{UnixClock, signed_secs};
use crate::protocol::rtvi::{self, Event};
use crate::runfolder::results::{
    AgentTurnMetrics, AudioFormat, DistractorRecord, GreetingRecord, InterruptionRecord,
    ReceivedFrame, ReceivedKind, ReplyStop, ReverseBargeIn, StopSignal, TurnKind, TurnOutcome,
    TurnRecord,
};
use crate::serverlog::parse::{Service, ServiceNames};
use crate::stats::round6;

/// A playback underrun longer than this inside a reply is a glitch.
pub const GLITCH_GAP: Duration = Duration::from_millis(20);

/// After a distractor sound ends, a reply to it is waited for at least this long.
pub const SPURIOUS_WAIT: Duration = Duration::from_secs(3);

/// A reply stream that sent nothing for this long has ended (for a turn cut short).
const STREAM_ENDED: Duration = Duration::from_millis(100);

/// Reply audio arriving faster than this many seconds of audio per second of wall time is a
/// flood (`bad_audio`): more than `FLOOD_FACTOR` × [`FLOOD_WINDOW`] (20 s) of audio inside
/// one [`FLOOD_WINDOW`] of arrivals. A real-time voice agent sends its speech about as fast
/// as it plays; a whole reply sent in one burst stays below 20 s.
pub const FLOOD_FACTOR: u32 = 10;

/// The wall-time window over which [`FLOOD_FACTOR`] is measured.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(2);

/// Audio received per window of wall time, for telling a flood from real-time audio.
#[derive(Debug, Default)]
struct ArrivalRate {
    window: Option<(Instant, Duration)>,
}

impl ArrivalRate {
    /// Takes in `duration` of audio that arrived at `at`; the audio of the current window
    /// when it is more than the flood limit.
    fn heard(&mut self, at: Instant, duration: Duration) -> Option<(Duration, Duration)> {
        let (start, audio) = match self.window {
            Some((start, audio)) if at.saturating_duration_since(start) < FLOOD_WINDOW => {
                (start, audio + duration)
            }
            _ => (at, duration),
        };
        self.window = Some((start, audio));
        (audio > FLOOD_WINDOW * FLOOD_FACTOR).then(|| (audio, at.saturating_duration_since(start)))
    }
}

/// What the connections of one run have learnt about the agent's greeting, so that only the
/// first connections wait `--greeting-timeout` for a greeting an agent never sends: once one
/// connection has waited the whole timeout and heard nothing, later ones (users starting
/// later, reconnects) speak at once; once any connection heard a greeting, every later one
/// waits for it as configured.
#[derive(Debug, Default)]
pub struct GreetingMemory(AtomicU8);

/// What [`GreetingMemory`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreetingKnown {
    /// No connection has finished its greeting wait yet.
    Unknown,
    /// A connection heard a greeting: the agent greets.
    Greets,
    /// A connection waited the whole timeout in silence, and none has heard a greeting.
    Silent,
}

impl GreetingMemory {
    /// What is known so far.
    pub fn known(&self) -> GreetingKnown {
        match self.0.load(Ordering::Relaxed) {
            1 => GreetingKnown::Greets,
            2 => GreetingKnown::Silent,
            _ => GreetingKnown::Unknown,
        }
    }

    /// How long a new connection waits for a greeting, given the configured `timeout`.
    pub fn wait(&self, timeout: Duration) -> Duration {
        match self.known() {
            GreetingKnown::Silent => Duration::ZERO,
            _ => timeout,
        }
    }

    /// Records how one connection's greeting wait ended: `heard` a greeting or not. A greeting
    /// heard wins over silence for good.
    pub fn learn(&self, heard: bool) {
        if heard {
            self.0.store(1, Ordering::Relaxed);
        } else {
            let _ = self
                .0
                .compare_exchange(0, 2, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// Timing rules of a conversation.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// Silence after the reply's last audio has played before the reply counts as ended.
    pub reply_gap: Duration,
    /// Extra silence between a reply's end and the next query.
    pub turn_gap: Duration,
    /// How long to wait for reply audio after the speech end.
    pub reply_timeout: Duration,
    /// How long to wait for a greeting after connecting.
    pub greeting_timeout: Duration,
    /// Latency below this (s) is a reverse barge-in.
    pub threshold: f64,
    /// Turns starting in this window count; none starts after it.
    pub window: MetricsWindow,
    /// What happens over each reply.
    pub planner: Planner,
    /// A reply still sending audio this long after a sound's onset did not stop.
    pub stop_limit: Duration,
    /// The distractor sounds.
    pub sounds: Arc<[Arc<QueryFile>]>,
    /// Which RTVI processor names are the ASR, LLM and TTS.
    pub services: ServiceNames,
}

impl TurnConfig {
    /// Strict turns with these timings (no barge-ins, no distractors).
    pub fn strict(
        reply_gap: Duration,
        turn_gap: Duration,
        reply_timeout: Duration,
        greeting_timeout: Duration,
        threshold: f64,
        window: MetricsWindow,
    ) -> TurnConfig {
        TurnConfig {
            reply_gap,
            turn_gap,
            reply_timeout,
            greeting_timeout,
            threshold,
            window,
            planner: Planner::turns(),
            stop_limit: Duration::from_secs(1),
            sounds: Arc::from(Vec::new()),
            services: ServiceNames::pipecat(),
        }
    }
}

/// A frame the receive loop heard, timestamped at the socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// Bot audio.
    Audio {
        /// Arrival.
        at: Instant,
        /// Sample frames (samples per channel).
        frames: usize,
        /// Its format.
        format: AudioFormat,
        /// Index of the first sample frame at or above the audible level, if any.
        audible_frame: Option<usize>,
    },
    /// Any other frame. A `kind` of [`ReceivedKind::Interruption`] is the wire's own "the agent
    /// stopped its output" message (pipecat's InterruptionFrame, a telephony `clear`).
    Other {
        /// Arrival.
        at: Instant,
        /// Kind.
        kind: ReceivedKind,
        /// Text, JSON or name (see [`ReceivedFrame::text`]).
        text: String,
        /// RTVI message type.
        rtvi_type: Option<String>,
        /// The RTVI message, parsed.
        rtvi: Option<Box<rtvi::Message>>,
    },
}

/// What a tick changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Step {
    /// A turn ended, with this outcome.
    pub ended: Option<TurnOutcome>,
    /// The conversation is over (metrics window ended): close the connection.
    pub done: bool,
}

#[derive(Debug)]
enum Phase {
    Greeting { deadline: Instant },
    Gap { until: Instant },
    Ready,
    Turn(Box<ActiveTurn>),
    Done,
}

/// What is still to happen over the turn's reply.
#[derive(Debug)]
enum Planned {
    Nothing,
    BargeIn {
        after: Duration,
    },
    Distractor {
        after: Duration,
        sound: Arc<QueryFile>,
    },
}

impl Planned {
    fn kind(&self) -> Option<TurnKind> {
        match self {
            Planned::Nothing => None,
            Planned::BargeIn { .. } => Some(TurnKind::Interrupt),
            Planned::Distractor { .. } => Some(TurnKind::Distractor),
        }
    }
}

/// How a reply that was playing when the user made a sound over it behaves: its stream up to
/// the first break (a playback underrun longer than [`GLITCH_GAP`]) is that reply's.
#[derive(Debug)]
struct StopTracker {
    after: Duration,
    reply_play_start: Instant,
    first_chunk_id: u64,
    last_chunk_id: Option<u64>,
    onset_sample: u64,
    onset_chunk_id: u64,
    started_at: Option<Instant>,
    onset_at: Option<Instant>,
    streaming: bool,
    /// The reply's frames that arrived after the sound began: (arrival, duration).
    frames: Vec<(Instant, Duration)>,
    last_frame_at: Option<Instant>,
    signal: Option<(Instant, StopSignal)>,
    user_started_at: Option<Instant>,
}

impl StopTracker {
    fn new(
        schedule: &ChunkSchedule,
        first_chunk_id: u64,
        speech_start: usize,
        after: Duration,
        reply_play_start: Instant,
        last_frame_at: Option<Instant>,
    ) -> Self {
        let onset_sample = schedule.first_sample(first_chunk_id) + speech_start as u64;
        StopTracker {
            after,
            reply_play_start,
            first_chunk_id,
            last_chunk_id: None,
            onset_sample,
            onset_chunk_id: schedule.chunk_of_sample(onset_sample),
            started_at: None,
            onset_at: None,
            streaming: true,
            frames: Vec::new(),
            last_frame_at,
            signal: None,
            user_started_at: None,
        }
    }

    fn chunk_sent(&mut self, schedule: &ChunkSchedule, id: u64, sent: Instant) {
        if id == self.first_chunk_id {
            self.started_at = Some(sent);
        }
        if id == self.onset_chunk_id {
            self.onset_at = Some(schedule.boundary_at_socket(self.onset_sample, id, sent));
        }
    }

    /// Whether a reply frame arriving at `at`, landing on the playback clock as `played`,
    /// continues the reply that was playing: not after the speaker ran dry for longer than a
    /// glitch, nor after the bot had the queued audio dropped (a telephony `clear`).
    fn reply_audio(&mut self, at: Instant, duration: Duration, played: Played) -> bool {
        if !self.streaming {
            return false;
        }
        if played.after_flush || played.underrun.is_some_and(|gap| gap > GLITCH_GAP) {
            self.streaming = false;
            return false;
        }
        self.last_frame_at = Some(at);
        self.frames.push((at, duration));
        true
    }

    fn signal(&mut self, at: Instant, signal: StopSignal) {
        if self.signal.is_none() && self.started_at.is_some_and(|s| at >= s) {
            self.signal = Some((at, signal));
        }
    }

    fn began_by(&self, at: Instant) -> bool {
        self.started_at.is_some_and(|s| at >= s)
    }

    fn record(&self, clock: UnixClock, limit: Duration, now: Instant) -> ReplyStop {
        let unix = |t: Option<Instant>| t.map(|t| round6(clock.unix(t)));
        let secs = |later: Instant, earlier: Instant| round6(signed_secs(later, earlier));
        let ms = |d: Duration| round6(d.as_secs_f64() * 1000.0);
        let after = |t: Instant| self.frames.iter().filter(move |(at, _)| *at > t);
        // Signed: a reply whose last frame arrived before the onset stopped before the speech
        // began (the agent reacted to what came before it).
        let stop_latency = match (self.onset_at, self.last_frame_at) {
            (Some(onset), Some(last)) => Some(secs(last, onset)),
            _ => None,
        };
        let ended = !self.streaming
            || self
                .last_frame_at
                .is_none_or(|last| now.saturating_duration_since(last) > STREAM_ENDED);
        let stopped =
            ended && stop_latency.is_some_and(|latency| latency <= limit.as_secs_f64() + 1e-9);
        ReplyStop {
            barge_in_after_s: round6(self.after.as_secs_f64()),
            reply_played_s: self
                .onset_at
                .map(|onset| secs(onset, self.reply_play_start)),
            onset_at: unix(self.onset_at),
            last_reply_frame_at: unix(self.last_frame_at),
            signal_at: unix(self.signal.map(|(at, _)| at)),
            signal: self.signal.map(|(_, kind)| kind),
            user_started_speaking_at: unix(self.user_started_at),
            stopped,
            stop_latency_s: stop_latency,
            signal_latency_s: match (self.signal, self.onset_at) {
                (Some((at, _)), Some(onset)) => Some(secs(at, onset)),
                _ => None,
            },
            talk_over_ms: self
                .signal
                .map(|(at, _)| ms(after(at).map(|(_, d)| *d).sum())),
            overlap_ms: self
                .onset_at
                .map_or(0.0, |onset| ms(after(onset).map(|(_, d)| *d).sum())),
            first_chunk_id: self.first_chunk_id,
            last_chunk_id: self.last_chunk_id,
            agent: None,
        }
    }
}

/// A distractor sound being sent over the turn's reply.
#[derive(Debug)]
struct DistractorRun {
    sound: Arc<QueryFile>,
    next_sample: usize,
    end_sample: u64,
    end_chunk_id: u64,
    end_at: Option<Instant>,
    stop: StopTracker,
    spurious_at: Option<Instant>,
}

#[derive(Debug)]
struct ActiveTurn {
    number: usize,
    kind: TurnKind,
    file: Arc<QueryFile>,
    first_chunk_id: u64,
    next_sample: usize,
    last_chunk_id: Option<u64>,
    speech_end_chunk_id: u64,
    speech_end_sample: u64,
    scheduled_start: Instant,
    started_at: Option<Instant>,
    speech_end_at: Option<Instant>,
    last_chunk_sent_at: Option<Instant>,
    first_frame_at: Option<Instant>,
    first_audio_at: Option<Instant>,
    first_audible_at: Option<Instant>,
    /// Arrival of the reply's latest audio frame.
    last_audio_at: Option<Instant>,
    reply_play_start: Option<Instant>,
    reply_format: Option<AudioFormat>,
    reply_audio: Duration,
    reply_frames: usize,
    glitch_gaps: Vec<Duration>,
    interruptions: usize,
    received: Vec<ReceivedFrame>,
    max_lateness: Duration,
    planned: Planned,
    /// For an `interrupt`: the reply this query was spoken over, and its turn number.
    barge: Option<(usize, Box<StopTracker>)>,
    distractor: Option<Box<DistractorRun>>,
    overlay_missed: Option<TurnKind>,
    metrics: Option<AgentTurnMetrics>,
    /// The agent's `user-started-speaking` for this turn has arrived.
    heard_user_start: bool,
}

impl ActiveTurn {
    fn has_started_by(&self, at: Instant) -> bool {
        self.started_at.is_some_and(|started| at >= started)
    }
}

/// The longest a reply plays before the user takes the next turn, whatever the server sends.
pub const MAX_REPLY: Duration = Duration::from_secs(120);

/// The conversation of one connection.
#[derive(Debug)]
pub struct Conversation {
    config: Arc<TurnConfig>,
    files: Arc<[Arc<QueryFile>]>,
    clock: UnixClock,
    schedule: ChunkSchedule,
    playback: Playback,
    phase: Phase,
    next_file: usize,
    user: usize,
    connected_at: Instant,
    turns: Vec<TurnRecord>,
    greeting: Option<GreetingRecord>,
    /// The agent sends `user-started-speaking` on this connection.
    agent_marks_turns: bool,
    /// How the greeting wait ended: `Some(true)` a greeting was heard, `Some(false)` the
    /// whole timeout passed in silence; `None` while waiting or when the wait was skipped.
    greeting_wait_ended: Option<bool>,
    greeting_wait: Duration,
    /// When the greeting's first audio arrived.
    greeting_started: Option<Instant>,
    arrival: ArrivalRate,
    /// Why the reply audio is impossible (a flood), once it is: the connection must end.
    flood: Option<String>,
}

/// A change the next chunk brings about over the current reply.
enum OverlayStart {
    BargeIn,
    Distractor,
    Missed,
}

impl Conversation {
    /// A conversation of `user` that connected at `connected_at`, whose microphone follows
    /// `schedule` and whose next query is `files[next_file % len]`.
    pub fn new(
        config: Arc<TurnConfig>,
        files: Arc<[Arc<QueryFile>]>,
        clock: UnixClock,
        schedule: ChunkSchedule,
        connected_at: Instant,
        next_file: usize,
        user: usize,
    ) -> Self {
        assert!(!files.is_empty(), "a conversation needs at least one query");
        let greeting_wait = config.greeting_timeout;
        Conversation {
            phase: Phase::Greeting {
                deadline: connected_at + greeting_wait,
            },
            config,
            files,
            clock,
            schedule,
            playback: Playback::new(),
            next_file,
            user,
            connected_at,
            turns: Vec::new(),
            greeting: None,
            agent_marks_turns: false,
            greeting_wait_ended: None,
            greeting_wait,
            greeting_started: None,
            arrival: ArrivalRate::default(),
            flood: None,
        }
    }

    /// Why the reply audio of this connection is impossible (arriving far faster than real
    /// time, see [`FLOOD_FACTOR`]), once it is; the connection must then end with a
    /// `bad_audio` error. Audio heard after that is ignored.
    pub fn flood(&self) -> Option<&str> {
        self.flood.as_deref()
    }

    /// The same conversation waiting `wait` for a greeting instead of the configured timeout
    /// (see [`GreetingMemory::wait`]).
    pub fn with_greeting_wait(mut self, wait: Duration) -> Self {
        if let Phase::Greeting { deadline } = &mut self.phase {
            *deadline = self.connected_at + wait;
        }
        self.greeting_wait = wait;
        self
    }

    /// How the greeting wait ended, once it has: whether a greeting was heard. `None` while
    /// waiting, and when the wait was zero (nothing was learnt).
    pub fn greeting_wait_ended(&self) -> Option<bool> {
        self.greeting_wait_ended
    }

    /// Turns finished so far.
    pub fn turns(&self) -> &[TurnRecord] {
        &self.turns
    }

    /// Mutable access to the finished turns (for late annotations).
    pub fn turns_mut(&mut self) -> &mut [TurnRecord] {
        &mut self.turns
    }

    /// The greeting, if one was heard.
    pub fn greeting(&self) -> Option<&GreetingRecord> {
        self.greeting.as_ref()
    }

    /// Index (unbounded counter) of the next query to speak; a reconnecting user continues
    /// from here.
    pub fn next_file(&self) -> usize {
        self.next_file
    }

    /// Number of the turn in progress, if any.
    pub fn current_turn(&self) -> Option<usize> {
        match &self.phase {
            Phase::Turn(turn) => Some(turn.number),
            _ => None,
        }
    }

    /// Whether the conversation is over.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Moves time forward to `now`: ends a greeting, a gap, a reply or a timed-out turn.
    pub fn advance(&mut self, now: Instant) -> Step {
        let mut step = Step::default();
        loop {
            match &self.phase {
                Phase::Greeting { deadline } => {
                    // A greeting must start within the wait and is let play for at most
                    // `--greeting-timeout` more (then the reply gap), whatever the server
                    // sends.
                    let end = match (self.greeting_started, self.playback.play_end()) {
                        (Some(started), Some(play_end)) => {
                            play_end.min(started + self.config.greeting_timeout)
                                + self.config.reply_gap
                        }
                        _ => *deadline,
                    };
                    if now < end {
                        break;
                    }
                    if self.greeting.is_some() || !self.greeting_wait.is_zero() {
                        self.greeting_wait_ended = Some(self.greeting.is_some());
                    }
                    self.phase = Phase::Gap {
                        until: now + self.config.turn_gap,
                    };
                }
                Phase::Gap { until } => {
                    if now < *until {
                        break;
                    }
                    self.phase = if now >= self.config.window.end {
                        Phase::Done
                    } else {
                        Phase::Ready
                    };
                }
                Phase::Ready | Phase::Done => break,
                Phase::Turn(turn) => {
                    let Some(file_end) = turn.last_chunk_sent_at else {
                        break;
                    };
                    let outcome = match turn.first_audio_at {
                        None => {
                            let speech_end = turn.speech_end_at.unwrap_or(file_end);
                            if now < speech_end + self.config.reply_timeout {
                                break;
                            }
                            TurnOutcome::NoReply
                        }
                        Some(first_audio) => {
                            let played_out = self.playback.play_end().unwrap_or(file_end);
                            // A server streaming without end (below the flood rate) cannot
                            // hold the user: the reply is over MAX_REPLY after it began.
                            let played_out = played_out.min(first_audio + MAX_REPLY);
                            let mut end = played_out.max(file_end) + self.config.reply_gap;
                            if let Some(run) = &turn.distractor {
                                match run.end_at {
                                    Some(sound_end) => end = end.max(sound_end + SPURIOUS_WAIT),
                                    None => break,
                                }
                            }
                            if now < end {
                                break;
                            }
                            TurnOutcome::Replied
                        }
                    };
                    self.finish(outcome, now);
                    step.ended = Some(outcome);
                }
            }
        }
        step.done = self.is_done();
        step
    }

    /// Ends the conversation now (run stopped or connection lost); a turn in progress is
    /// recorded with `outcome`. Returns whether a turn was in progress.
    pub fn stop(&mut self, now: Instant, outcome: TurnOutcome) -> bool {
        let active = matches!(self.phase, Phase::Turn(_));
        if active {
            self.finish(outcome, now);
        }
        self.phase = Phase::Done;
        active
    }

    /// Writes the PCM (16-bit little-endian) of chunk `id`, due at `due`, into `out`: the
    /// next piece of the current query or distractor sound (zero-padded at its end), or
    /// silence. Returns the outcome of a turn this ended (a barge-in ends the turn whose reply
    /// it speaks over).
    pub fn fill_chunk(&mut self, id: u64, due: Instant, out: &mut Vec<u8>) -> Option<TurnOutcome> {
        let chunk_samples = self.schedule.chunk_samples();
        let mut ended = None;
        match self.overlay_start(due) {
            Some(OverlayStart::BargeIn) => {
                let barge = match &mut self.phase {
                    Phase::Turn(turn) => {
                        let planned = std::mem::replace(&mut turn.planned, Planned::Nothing);
                        match (planned, turn.reply_play_start) {
                            (Planned::BargeIn { after }, Some(start)) => {
                                Some((turn.number, after, start, turn.last_audio_at))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                self.finish(TurnOutcome::Replied, due);
                ended = Some(TurnOutcome::Replied);
                self.start_turn(id, due, barge);
            }
            Some(OverlayStart::Distractor) => self.start_distractor(id),
            Some(OverlayStart::Missed) => {
                if let Phase::Turn(turn) = &mut self.phase {
                    let planned = std::mem::replace(&mut turn.planned, Planned::Nothing);
                    turn.overlay_missed = planned.kind();
                }
            }
            None => {}
        }
        if matches!(self.phase, Phase::Ready) {
            self.start_turn(id, due, None);
        }
        out.clear();
        if let Phase::Turn(turn) = &mut self.phase {
            let samples = &turn.file.samples;
            if turn.next_sample < samples.len() {
                let end = (turn.next_sample + chunk_samples).min(samples.len());
                for s in &samples[turn.next_sample..end] {
                    out.extend_from_slice(&s.to_le_bytes());
                }
                if end == samples.len() {
                    turn.last_chunk_id = Some(id);
                }
                turn.next_sample = end;
            } else if let Some(run) = turn.distractor.as_mut() {
                let samples = &run.sound.samples;
                if run.next_sample < samples.len() {
                    let end = (run.next_sample + chunk_samples).min(samples.len());
                    for s in &samples[run.next_sample..end] {
                        out.extend_from_slice(&s.to_le_bytes());
                    }
                    if end == samples.len() {
                        run.stop.last_chunk_id = Some(id);
                    }
                    run.next_sample = end;
                }
            }
        }
        out.resize(chunk_samples * 2, 0);
        ended
    }

    /// Whether the chunk due at `due` begins what is planned over the current reply: its
    /// sound's onset would fall at or after the planned point of the reply. When the reply is
    /// no longer playing by then, the plan is missed.
    fn overlay_start(&self, due: Instant) -> Option<OverlayStart> {
        let Phase::Turn(turn) = &self.phase else {
            return None;
        };
        let play_start = turn.reply_play_start?;
        if turn.next_sample < turn.file.samples.len() {
            return None;
        }
        let (after, lead, start) = match &turn.planned {
            Planned::Nothing => return None,
            Planned::BargeIn { after } => {
                let next = &self.files[self.next_file % self.files.len()];
                (*after, next.speech_start, OverlayStart::BargeIn)
            }
            Planned::Distractor { after, sound } => {
                (*after, sound.speech_start, OverlayStart::Distractor)
            }
        };
        let capture_start = due
            .checked_sub(self.schedule.chunk_duration())
            .unwrap_or(due);
        let onset = capture_start + samples_duration(lead as u64);
        if onset < play_start + after {
            return None;
        }
        let playing = self.playback.play_end().is_some_and(|end| end > due);
        let barge_after_window =
            matches!(start, OverlayStart::BargeIn) && due >= self.config.window.end;
        if !playing || barge_after_window {
            return Some(OverlayStart::Missed);
        }
        Some(start)
    }

    fn start_turn(
        &mut self,
        id: u64,
        due: Instant,
        barge: Option<(usize, Duration, Instant, Option<Instant>)>,
    ) {
        let file = Arc::clone(&self.files[self.next_file % self.files.len()]);
        let event = self.next_file;
        self.next_file += 1;
        let first_sample = self.schedule.first_sample(id);
        let speech_end_sample = first_sample + file.speech_end as u64;
        let speech_end_chunk_id = self.schedule.chunk_of_sample(speech_end_sample - 1);
        let planned = match self
            .config
            .planner
            .overlay(self.user, event, barge.is_some())
        {
            Overlay::None => Planned::Nothing,
            Overlay::BargeIn { after } => Planned::BargeIn { after },
            Overlay::Distractor { after, sound } => match self.config.sounds.get(sound) {
                Some(sound) => Planned::Distractor {
                    after,
                    sound: Arc::clone(sound),
                },
                None => Planned::Nothing,
            },
        };
        let barge = barge.map(|(interrupted, after, play_start, last_audio)| {
            let tracker = StopTracker::new(
                &self.schedule,
                id,
                file.speech_start,
                after,
                play_start,
                last_audio,
            );
            (interrupted, Box::new(tracker))
        });
        self.phase = Phase::Turn(Box::new(ActiveTurn {
            number: self.turns.len() + 1,
            kind: if barge.is_some() {
                TurnKind::Interrupt
            } else {
                TurnKind::Turn
            },
            file,
            first_chunk_id: id,
            next_sample: 0,
            last_chunk_id: None,
            speech_end_chunk_id,
            speech_end_sample,
            scheduled_start: due,
            started_at: None,
            speech_end_at: None,
            last_chunk_sent_at: None,
            first_frame_at: None,
            first_audio_at: None,
            first_audible_at: None,
            last_audio_at: None,
            reply_play_start: None,
            reply_format: None,
            reply_audio: Duration::ZERO,
            reply_frames: 0,
            glitch_gaps: Vec::new(),
            interruptions: 0,
            received: Vec::new(),
            max_lateness: Duration::ZERO,
            planned,
            barge,
            distractor: None,
            overlay_missed: None,
            metrics: None,
            heard_user_start: false,
        }));
    }

    fn start_distractor(&mut self, id: u64) {
        let Phase::Turn(turn) = &mut self.phase else {
            return;
        };
        let planned = std::mem::replace(&mut turn.planned, Planned::Nothing);
        let (Planned::Distractor { after, sound }, Some(play_start)) =
            (planned, turn.reply_play_start)
        else {
            return;
        };
        let first_sample = self.schedule.first_sample(id);
        let end_sample = first_sample + sound.speech_end as u64;
        turn.kind = TurnKind::Distractor;
        turn.distractor = Some(Box::new(DistractorRun {
            next_sample: 0,
            end_sample,
            end_chunk_id: self.schedule.chunk_of_sample(end_sample - 1),
            end_at: None,
            stop: StopTracker::new(
                &self.schedule,
                id,
                sound.speech_start,
                after,
                play_start,
                turn.last_audio_at,
            ),
            spurious_at: None,
            sound,
        }));
    }

    /// Records that chunk `id`, due at `due`, left at `sent`.
    pub fn chunk_sent(&mut self, id: u64, due: Instant, sent: Instant) {
        let Phase::Turn(turn) = &mut self.phase else {
            return;
        };
        if id == turn.first_chunk_id {
            turn.started_at = Some(sent);
        }
        if id == turn.speech_end_chunk_id {
            turn.speech_end_at = Some(self.schedule.boundary_at_socket(
                turn.speech_end_sample,
                id,
                sent,
            ));
        }
        if Some(id) == turn.last_chunk_id {
            turn.last_chunk_sent_at = Some(sent);
        }
        if turn.first_audio_at.is_none() {
            turn.max_lateness = turn.max_lateness.max(sent.saturating_duration_since(due));
        }
        if let Some((_, stop)) = turn.barge.as_mut() {
            stop.chunk_sent(&self.schedule, id, sent);
            if Some(id) == turn.last_chunk_id {
                stop.last_chunk_id = Some(id);
            }
        }
        if let Some(run) = turn.distractor.as_mut() {
            run.stop.chunk_sent(&self.schedule, id, sent);
            if id == run.end_chunk_id {
                run.end_at = Some(self.schedule.boundary_at_socket(run.end_sample, id, sent));
            }
        }
    }

    /// The bot's queued audio was dropped at `at` (a telephony `clear`): the simulated
    /// speaker stops there. The clear itself is heard as an interruption frame.
    pub fn flush_playback(&mut self, at: Instant) {
        self.playback.flush(at);
    }

    /// When the bot audio received so far has finished playing on the simulated speaker.
    pub fn play_end(&self) -> Option<Instant> {
        self.playback.play_end()
    }

    /// Takes in a frame the receive loop heard.
    pub fn heard(&mut self, heard: Heard) {
        match heard {
            Heard::Audio {
                at,
                frames,
                format,
                audible_frame,
            } => self.heard_audio(at, frames, format, audible_frame),
            Heard::Other {
                at,
                kind,
                text,
                rtvi_type,
                rtvi,
            } => {
                let signal = match (kind, rtvi.as_deref()) {
                    (ReceivedKind::Interruption, _) => Some(StopSignal::Interruption),
                    (_, Some(rtvi::Message::Event(Event::BotInterrupted))) => {
                        Some(StopSignal::BotInterrupted)
                    }
                    _ => None,
                };
                if let (Some(signal), Phase::Turn(turn)) = (signal, &mut self.phase) {
                    if let Some((_, stop)) = turn.barge.as_mut() {
                        stop.signal(at, signal);
                    }
                    if let Some(run) = turn.distractor.as_mut() {
                        run.stop.signal(at, signal);
                    }
                }
                if let Some(message) = rtvi {
                    self.heard_rtvi(at, &message);
                }
                let frame = ReceivedFrame {
                    at: self.clock.unix(at),
                    kind,
                    text,
                    rtvi_type,
                };
                match &mut self.phase {
                    Phase::Turn(turn) if turn.has_started_by(at) => {
                        turn.first_frame_at.get_or_insert(at);
                        if kind == ReceivedKind::Interruption {
                            turn.interruptions += 1;
                        }
                        turn.received.push(frame);
                    }
                    Phase::Greeting { .. } => {}
                    _ => {
                        if let Some(last) = self.turns.last_mut() {
                            last.received.push(frame);
                        }
                    }
                }
            }
        }
    }

    /// Attributes an RTVI message to the turn it belongs to.
    fn heard_rtvi(&mut self, at: Instant, message: &rtvi::Message) {
        use rtvi::Message;
        let unix = round6(self.clock.unix(at));
        if let Message::Metrics(metrics) = message
            && metrics.is_initial()
        {
            return;
        }
        if matches!(message, Message::Event(Event::UserStartedSpeaking)) {
            self.agent_marks_turns = true;
            if let Phase::Turn(turn) = &mut self.phase {
                if let Some(run) = turn.distractor.as_mut()
                    && run.stop.began_by(at)
                {
                    // The agent took the sound for a turn.
                    run.stop.user_started_at.get_or_insert(at);
                } else if turn.has_started_by(at) && !turn.heard_user_start {
                    turn.heard_user_start = true;
                    if let Some((_, stop)) = turn.barge.as_mut() {
                        stop.user_started_at.get_or_insert(at);
                    }
                    turn.metrics
                        .get_or_insert_with(AgentTurnMetrics::default)
                        .user_started_speaking_at = Some(unix);
                }
            }
            return;
        }
        let services = &self.config.services;
        let current = match &mut self.phase {
            Phase::Turn(turn)
                if turn.has_started_by(at)
                    && (turn.heard_user_start || !self.agent_marks_turns) =>
            {
                Some(turn)
            }
            _ => None,
        };
        // A reply's `bot-stopped-speaking` after the next turn began (a barge-in) is the old
        // reply's.
        let old_reply_stop = matches!(message, Message::Event(Event::BotStoppedSpeaking))
            && current.as_ref().is_some_and(|turn| {
                turn.metrics
                    .as_ref()
                    .is_none_or(|m| m.bot_started_speaking_at.is_none())
            });
        match current {
            Some(turn) if !old_reply_stop => {
                let metrics = turn.metrics.get_or_insert_with(AgentTurnMetrics::default);
                apply_rtvi(metrics, message, unix, services);
            }
            _ => {
                if let Some(last) = self.turns.last_mut() {
                    let metrics = last
                        .agent_metrics
                        .get_or_insert_with(AgentTurnMetrics::default);
                    apply_rtvi(metrics, message, unix, services);
                    set_vad_wait(metrics, last.speech_end_at);
                }
            }
        }
    }

    fn heard_audio(
        &mut self,
        at: Instant,
        frames: usize,
        format: AudioFormat,
        audible: Option<usize>,
    ) {
        if frames == 0 || format.sample_rate == 0 || self.flood.is_some() {
            return;
        }
        let rate = f64::from(format.sample_rate);
        let duration = Duration::from_secs_f64(frames as f64 / rate);
        if let Some((audio, within)) = self.arrival.heard(at, duration) {
            self.flood = Some(format!(
                "reply audio arrives faster than {FLOOD_FACTOR}x real time: {:.1} s of audio \
                 within {:.3} s",
                audio.as_secs_f64(),
                within.as_secs_f64()
            ));
            return;
        }
        let played = self.playback.push(at, duration);
        match &mut self.phase {
            Phase::Greeting { .. } => {
                self.greeting_started.get_or_insert(at);
                let greeting = self.greeting.get_or_insert(GreetingRecord {
                    first_audio_at: self.clock.unix(at),
                    audio_s: 0.0,
                    frames: 0,
                });
                greeting.audio_s = round6(greeting.audio_s + duration.as_secs_f64());
                greeting.frames += 1;
            }
            Phase::Turn(turn) => {
                if let Some((_, stop)) = turn.barge.as_mut()
                    && stop.reply_audio(at, duration, played)
                {
                    // The rest of the reply this query was spoken over.
                    return;
                }
                if !turn.has_started_by(at) {
                    if let Some(last) = self.turns.last_mut() {
                        last.late_audio_frames += 1;
                    }
                    return;
                }
                if let Some(run) = turn.distractor.as_mut()
                    && !run.stop.reply_audio(at, duration, played)
                {
                    // After the reply broke off: an answer to the sound.
                    run.spurious_at.get_or_insert(at);
                    return;
                }
                turn.first_frame_at.get_or_insert(at);
                if turn.first_audio_at.is_none() {
                    turn.first_audio_at = Some(at);
                    turn.reply_play_start = Some(played.starts_at);
                    turn.reply_format = Some(format);
                } else if let Some(gap) = played.underrun {
                    // A gap as long as the reply gap separates two replies, not a glitch.
                    if gap > GLITCH_GAP && gap < self.config.reply_gap {
                        turn.glitch_gaps.push(gap);
                    }
                }
                if turn.first_audible_at.is_none()
                    && let Some(index) = audible
                {
                    let offset = Duration::from_secs_f64(index as f64 / rate);
                    turn.first_audible_at = Some(played.starts_at + offset);
                }
                turn.reply_audio += duration;
                turn.reply_frames += 1;
                turn.last_audio_at = Some(at);
            }
            _ => {
                if let Some(last) = self.turns.last_mut() {
                    last.late_audio_frames += 1;
                }
            }
        }
    }

    fn finish(&mut self, outcome: TurnOutcome, now: Instant) {
        let phase = std::mem::replace(
            &mut self.phase,
            Phase::Gap {
                until: now + self.config.turn_gap,
            },
        );
        let Phase::Turn(turn) = phase else {
            return;
        };
        let clock = self.clock;
        let unix = |t: Option<Instant>| t.map(|t| clock.unix(t));
        let between = |later: Option<Instant>, earlier: Option<Instant>| match (later, earlier) {
            (Some(later), Some(earlier)) => Some(round6(signed_secs(later, earlier))),
            _ => None,
        };
        let chunk = self.schedule.chunk_duration();
        let file_end = turn.last_chunk_sent_at.map(|t| t + chunk);
        let latency = between(turn.first_audio_at, turn.speech_end_at);
        let reverse_barge_in = latency.and_then(|latency| {
            if latency < 0.0 {
                Some(ReverseBargeIn::DuringSpeech)
            } else if latency < self.config.threshold {
                Some(ReverseBargeIn::BelowThreshold)
            } else {
                None
            }
        });
        let started = turn.started_at.unwrap_or(turn.scheduled_start);
        let ms = |d: Duration| round6(d.as_secs_f64() * 1000.0);
        let limit = self.config.stop_limit;
        let interruption = turn
            .barge
            .as_ref()
            .map(|(interrupted, stop)| InterruptionRecord {
                interrupted_turn: *interrupted,
                stop: stop.record(clock, limit, now),
            });
        let distractor = turn.distractor.as_ref().map(|run| DistractorRecord {
            sound: run.sound.name.clone(),
            duration_s: round6(
                samples_duration((run.sound.speech_end - run.sound.speech_start) as u64)
                    .as_secs_f64(),
            ),
            end_at: unix(run.end_at).map(round6),
            stop: run.stop.record(clock, limit, now),
            spurious_reply: run.spurious_at.is_some(),
            spurious_reply_at: unix(run.spurious_at).map(round6),
        });
        let overlay_missed = turn
            .overlay_missed
            .or_else(|| turn.first_audio_at.and_then(|_| turn.planned.kind()));
        let speech_end_at = unix(turn.speech_end_at);
        let mut agent_metrics = turn.metrics;
        if let Some(metrics) = agent_metrics.as_mut() {
            set_vad_wait(metrics, speech_end_at);
        }
        self.turns.push(TurnRecord {
            turn: turn.number,
            file: turn.file.name.clone(),
            in_window: self.config.window.contains(turn.scheduled_start),
            outcome,
            scheduled_start_at: clock.unix(turn.scheduled_start),
            started_at: clock.unix(started),
            first_chunk_id: turn.first_chunk_id,
            last_chunk_id: turn.last_chunk_id,
            speech_end_chunk_id: turn.speech_end_chunk_id,
            speech_end_s: round6(turn.file.speech_end_s()),
            speech_end_source: turn.file.source,
            speech_end_at,
            last_chunk_sent_at: unix(turn.last_chunk_sent_at),
            first_frame_at: unix(turn.first_frame_at),
            first_audio_at: unix(turn.first_audio_at),
            first_audible_at: unix(turn.first_audible_at),
            latency_s: latency,
            audible_latency_s: between(turn.first_audible_at, turn.speech_end_at),
            last_chunk_latency_s: between(turn.first_audio_at, file_end),
            seed_latency_s: between(turn.first_frame_at, file_end),
            reverse_barge_in,
            reply_end_at: turn
                .first_audio_at
                .and_then(|_| self.playback.play_end())
                .map(|t| clock.unix(t)),
            ended_at: clock.unix(now),
            reply_audio_s: round6(turn.reply_audio.as_secs_f64()),
            reply_frames: turn.reply_frames,
            reply_format: turn.reply_format,
            glitches: turn.glitch_gaps.len(),
            starved_ms: ms(turn.glitch_gaps.iter().sum()),
            glitch_gaps_ms: turn.glitch_gaps.iter().map(|&g| ms(g)).collect(),
            interruptions: turn.interruptions,
            late_audio_frames: 0,
            received: turn.received,
            max_send_lateness_ms: ms(turn.max_lateness),
            agent: None,
            kind: turn.kind,
            interruption,
            distractor,
            overlay_missed,
            agent_metrics,
        });
    }
}

/// Folds one RTVI message into a turn's agent-reported numbers: the first TTFB and processing
/// time per service role, token and character usage, the speaking events, the transcript.
fn apply_rtvi(
    metrics: &mut AgentTurnMetrics,
    message: &rtvi::Message,
    unix: f64,
    services: &ServiceNames,
) {
    use rtvi::Message;
    match message {
        Message::Event(Event::UserStoppedSpeaking) => {
            metrics.user_stopped_speaking_at.get_or_insert(unix);
        }
        Message::Event(Event::BotStartedSpeaking) => {
            metrics.bot_started_speaking_at.get_or_insert(unix);
        }
        Message::Event(Event::BotStoppedSpeaking) => {
            metrics.bot_stopped_speaking_at = Some(unix);
        }
        Message::Metrics(m) => {
            metrics.metrics_messages += 1;
            for timing in &m.ttfb {
                let slot = match rtvi::service_role(&timing.processor, services) {
                    Some(Service::Asr) => &mut metrics.asr_ttfb_s,
                    Some(Service::Llm) => &mut metrics.llm_ttfb_s,
                    Some(Service::Tts) => &mut metrics.tts_ttfb_s,
                    None => continue,
                };
                slot.get_or_insert(round6(timing.value));
            }
            for timing in &m.processing {
                let slot = match rtvi::service_role(&timing.processor, services) {
                    Some(Service::Llm) => &mut metrics.llm_processing_s,
                    Some(Service::Tts) => &mut metrics.tts_processing_s,
                    _ => continue,
                };
                slot.get_or_insert(round6(timing.value));
            }
            if let Some(tokens) = m.tokens.first() {
                metrics.prompt_tokens.get_or_insert(tokens.prompt_tokens);
                metrics
                    .completion_tokens
                    .get_or_insert(tokens.completion_tokens);
            }
            for characters in &m.characters {
                *metrics.tts_characters.get_or_insert(0) += characters.value;
            }
            for usage in &m.stt_usage {
                let total = metrics.stt_audio_s.get_or_insert(0.0);
                *total = round6(*total + usage.value.audio_seconds);
            }
        }
        Message::UserTranscription(t) if t.is_final => {
            metrics.transcript.get_or_insert_with(|| t.text.clone());
        }
        Message::UserInput(input) if input.is_final && input.input_type == "transcription" => {
            metrics.transcript.get_or_insert_with(|| input.text.clone());
        }
        _ => {}
    }
}

/// VAD wait = arrival of `user-stopped-speaking` − the real end of speech (both on bench's
/// clock).
fn set_vad_wait(metrics: &mut AgentTurnMetrics, speech_end_at: Option<f64>) {
    metrics.vad_wait_s = match (metrics.user_stopped_speaking_at, speech_end_at) {
        (Some(stopped), Some(end)) => Some(round6(stopped - end)),
        _ => None,
    };
}

/// The smallest absolute sample value that counts as audible at `dbfs` (e.g. −40).
pub fn audible_amplitude(dbfs: f64) -> i32 {
    (32768.0 * 10f64.powf(dbfs / 20.0))
        .round()
        .clamp(1.0, 32768.0) as i32
}

/// Index of the first sample frame of interleaved little-endian int16 `pcm` with any channel
/// at or above `amplitude`.
pub fn first_audible_frame(pcm: &[u8], channels: usize, amplitude: i32) -> Option<usize> {
    let channels = channels.max(1);
    pcm.chunks_exact(2)
        .position(|s| i32::from(i16::from_le_bytes([s[0], s[1]])).abs() >= amplitude)
        .map(|i| i / channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::scenario::BargeInAfter;
    use crate::runfolder::results::{Mix, SpeechEndSource};

    const MS: Duration = Duration::from_millis(1);
    const N: usize = 512; // 32 ms

    struct Harness {
        conv: Conversation,
        schedule: ChunkSchedule,
        next_id: u64,
        buf: Vec<u8>,
        sent: Vec<Vec<u8>>,
    }

    fn file(name: &str, len: usize, speech_end: usize) -> Arc<QueryFile> {
        Arc::new(QueryFile {
            name: name.into(),
            samples: vec![1000; len],
            rate: 16_000,
            sha256: String::new(),
            speech_start: 0,
            speech_end,
            source: SpeechEndSource::Detected,
        })
    }

    fn format16k() -> AudioFormat {
        AudioFormat {
            sample_rate: 16_000,
            channels: 1,
            wav_wrapped: false,
        }
    }

    /// Something the agent does at an instant (ms from the origin), for [`Harness::play`].
    #[derive(Clone)]
    enum Agent {
        /// `n` reply frames of 40 ms, one every 40 ms.
        Reply(usize),
        /// A pipecat InterruptionFrame.
        Interruption,
        /// An RTVI message.
        Rtvi(rtvi::Message),
    }

    impl Harness {
        fn new(files: Vec<Arc<QueryFile>>, window_s: u64) -> Self {
            Self::with(files, window_s, 200 * MS, |_| {})
        }

        fn waiting(files: Vec<Arc<QueryFile>>, window_s: u64, wait: Duration) -> Self {
            Self::with(files, window_s, wait, |_| {})
        }

        fn with(
            files: Vec<Arc<QueryFile>>,
            window_s: u64,
            wait: Duration,
            configure: impl FnOnce(&mut TurnConfig),
        ) -> Self {
            let t0 = Instant::now();
            let mut config = TurnConfig::strict(
                1000 * MS,
                Duration::ZERO,
                5000 * MS,
                200 * MS,
                0.5,
                MetricsWindow {
                    start: t0,
                    end: t0 + Duration::from_secs(window_s),
                },
            );
            configure(&mut config);
            let schedule = ChunkSchedule::new(t0, N);
            let conv = Conversation::new(
                Arc::new(config),
                files.into(),
                UnixClock::new(),
                schedule,
                t0,
                0,
                1,
            )
            .with_greeting_wait(wait);
            Harness {
                conv,
                schedule,
                next_id: 1,
                buf: Vec::new(),
                sent: Vec::new(),
            }
        }

        /// Sends chunks on time until `until` (relative to origin), returning turn ends.
        fn run_until(&mut self, until: Duration) -> Vec<TurnOutcome> {
            let mut ended = Vec::new();
            loop {
                let due = self.schedule.due(self.next_id);
                if due > self.schedule.origin() + until {
                    return ended;
                }
                let step = self.conv.advance(due);
                ended.extend(step.ended);
                if step.done {
                    return ended;
                }
                self.conv.fill_chunk(self.next_id, due, &mut self.buf);
                self.sent.push(self.buf.clone());
                self.conv.chunk_sent(self.next_id, due, due);
                self.next_id += 1;
            }
        }

        /// Sends chunks on time until `until` ms while the agent does `script` (sorted by
        /// time), each event delivered before the first chunk due after it. Returns turn ends.
        fn play(&mut self, until: u64, script: &[(u64, Agent)]) -> Vec<TurnOutcome> {
            let mut events: Vec<(u64, Agent)> = Vec::new();
            for (at, what) in script {
                match what {
                    Agent::Reply(n) => {
                        events.extend((0..*n as u64).map(|k| (at + 40 * k, Agent::Reply(1))))
                    }
                    other => events.push((*at, other.clone())),
                }
            }
            events.sort_by_key(|(at, _)| *at);
            let mut ended = Vec::new();
            let mut next = 0;
            loop {
                let due = self.schedule.due(self.next_id);
                while next < events.len() && self.at(events[next].0) <= due {
                    let at = self.at(events[next].0);
                    match &events[next].1 {
                        Agent::Reply(_) => self.conv.heard(Heard::Audio {
                            at,
                            frames: 640,
                            format: format16k(),
                            audible_frame: Some(0),
                        }),
                        Agent::Interruption => self.conv.heard(Heard::Other {
                            at,
                            kind: ReceivedKind::Interruption,
                            text: "InterruptionFrame#1".into(),
                            rtvi_type: None,
                            rtvi: None,
                        }),
                        Agent::Rtvi(message) => self.conv.heard(Heard::Other {
                            at,
                            kind: ReceivedKind::Message,
                            text: message.to_json(),
                            rtvi_type: Some(message.type_name().to_string()),
                            rtvi: Some(Box::new(message.clone())),
                        }),
                    }
                    next += 1;
                }
                if due > self.at(until) {
                    return ended;
                }
                let step = self.conv.advance(due);
                ended.extend(step.ended);
                if step.done {
                    return ended;
                }
                ended.extend(self.conv.fill_chunk(self.next_id, due, &mut self.buf));
                self.sent.push(self.buf.clone());
                self.conv.chunk_sent(self.next_id, due, due);
                self.next_id += 1;
            }
        }

        /// Unix seconds of `ms` after the origin on the conversation's clock.
        fn unix(&self, ms: u64) -> f64 {
            self.conv.clock.unix(self.at(ms))
        }

        fn at(&self, ms: u64) -> Instant {
            self.schedule.origin() + Duration::from_millis(ms)
        }

        fn audio(&mut self, at_ms: u64, frames: usize) {
            let at = self.at(at_ms);
            self.conv.heard(Heard::Audio {
                at,
                frames,
                format: format16k(),
                audible_frame: Some(0),
            });
        }
    }

    #[test]
    fn latency_is_measured_from_the_speech_end_not_the_file_end() {
        // 1 s file whose speech ends at 0.5 s (0.5 s of trailing silence left in it).
        let mut h = Harness::new(vec![file("q.wav", 16_000, 8_000)], 60);
        // No greeting: first file starts at the first tick ≥ 200 ms: chunk 7 (due 224 ms),
        // carrying stream samples from 6·512 = 3072 (192 ms).
        h.run_until(Duration::from_millis(1500));
        // Speech ends at stream sample 3072 + 8000 → 692 ms; reply 800 ms after that.
        for k in 0..10 {
            h.audio(1492 + 40 * k, 640);
        }
        let ended = h.run_until(Duration::from_millis(4000));
        assert_eq!(ended, vec![TurnOutcome::Replied]);
        let turn = &h.conv.turns()[0];
        assert_eq!(turn.first_chunk_id, 7);
        assert!((turn.latency_s.unwrap() - 0.800).abs() < 1e-6, "{turn:?}");
        // The file's last sample (3072 + 16000 = 19072) is in chunk 38, sent at 1216 ms; the
        // seed's reference point is one chunk later (1248 ms).
        assert_eq!(turn.last_chunk_id, Some(38));
        assert!((turn.last_chunk_latency_s.unwrap() - 0.244).abs() < 1e-6);
        assert_eq!(turn.reverse_barge_in, None);
        assert_eq!(turn.glitches, 0);
        assert!((turn.reply_audio_s - 0.4).abs() < 1e-6);
        // The chunks carried the file then silence; the last file chunk is zero-padded.
        assert!(h.sent[5].iter().all(|&b| b == 0));
        assert_eq!(&h.sent[6][..2], &1000i16.to_le_bytes());
        assert_eq!(h.sent[37].len(), N * 2);
        assert!(h.sent[38].iter().all(|&b| b == 0));
    }

    #[test]
    fn reply_during_speech_is_a_reverse_barge_in_and_fast_reply_too() {
        let mut h = Harness::new(vec![file("a.wav", 16_000, 16_000)], 60);
        h.run_until(Duration::from_millis(600));
        h.audio(600, 640); // while the user speaks (speech ends at 1192 ms)
        h.run_until(Duration::from_millis(4000));
        // second turn: reply 0.3 s after the speech end
        let second_start = h.conv.turns()[0].ended_at;
        assert!(second_start > 0.0);
        let turn1 = h.conv.turns()[0].clone();
        assert_eq!(turn1.reverse_barge_in, Some(ReverseBargeIn::DuringSpeech));
        assert!(turn1.latency_s.unwrap() < 0.0);
        // The second turn started at the tick after the first ended; find its speech end.
        h.run_until(Duration::from_millis(4100));
        let Phase::Turn(turn) = &h.conv.phase else {
            panic!("second turn should be running")
        };
        let first_sample = (turn.first_chunk_id - 1) * N as u64;
        let end_ms = (first_sample + 16_000) / 16;
        h.run_until(Duration::from_millis(end_ms + 50));
        h.audio(end_ms + 300, 640);
        h.run_until(Duration::from_millis(end_ms + 3000));
        let turn2 = &h.conv.turns()[1];
        assert_eq!(turn2.reverse_barge_in, Some(ReverseBargeIn::BelowThreshold));
        assert!((turn2.latency_s.unwrap() - 0.3).abs() < 1e-6);
    }

    #[test]
    fn stall_inside_a_reply_is_a_glitch_with_its_starved_time() {
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 60);
        h.run_until(Duration::from_millis(500));
        // Speech ends at (6·512 + 3200)/16 = 392 ms. Reply: 3 frames, a 150 ms stall, 2 more.
        let mut t = 1000;
        for _ in 0..3 {
            h.audio(t, 640);
            t += 40;
        }
        t += 150;
        for _ in 0..2 {
            h.audio(t, 640);
            t += 40;
        }
        h.run_until(Duration::from_millis(3000));
        let turn = &h.conv.turns()[0];
        assert_eq!(turn.glitches, 1);
        // Playback ran out at 1120 ms; the next frame came at 1270 ms.
        assert!((turn.starved_ms - 150.0).abs() < 1e-3, "{turn:?}");
        assert_eq!(turn.reply_frames, 5);
    }

    #[test]
    fn no_reply_times_out_and_non_audio_never_counts() {
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 60);
        h.run_until(Duration::from_millis(500));
        let at = h.at(700);
        h.conv.heard(Heard::Other {
            at,
            kind: ReceivedKind::Message,
            text: r#"{"label":"rtvi-ai","type":"metrics"}"#.into(),
            rtvi_type: Some("metrics".into()),
            rtvi: None,
        });
        let ended = h.run_until(Duration::from_millis(6000));
        assert_eq!(ended, vec![TurnOutcome::NoReply]);
        let turn = &h.conv.turns()[0];
        assert_eq!(turn.latency_s, None);
        assert_eq!(turn.first_audio_at, None);
        assert!(
            turn.seed_latency_s.is_some(),
            "the seed counted the message"
        );
        assert_eq!(turn.received.len(), 1);
        // The timeout counts from the speech end (392 ms) + 5 s.
        let ended_ms = (turn.ended_at - turn.speech_end_at.unwrap()) * 1000.0;
        assert!((5000.0..5040.0).contains(&ended_ms), "{ended_ms}");
    }

    #[test]
    fn greeting_is_heard_before_the_first_query_and_window_end_stops() {
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 3);
        h.audio(100, 640);
        h.audio(100, 640);
        // greeting plays until 180 ms, then 1 s reply gap: first query at ≥ 1180 ms.
        h.run_until(Duration::from_millis(1100));
        assert!(h.conv.current_turn().is_none());
        h.run_until(Duration::from_millis(1300));
        assert_eq!(h.conv.current_turn(), Some(1));
        assert_eq!(h.conv.greeting().unwrap().frames, 2);
        assert_eq!(h.conv.greeting_wait_ended(), Some(true));
        // No reply ever; the window (3 s) ends before the next turn could start.
        let ended = h.run_until(Duration::from_secs(30));
        assert_eq!(ended, vec![TurnOutcome::NoReply]);
        assert!(h.conv.is_done());
        assert!(h.conv.turns()[0].in_window);
    }

    #[test]
    fn audio_far_faster_than_real_time_is_a_flood() {
        // 100x real time: five 20 ms frames every 1 ms of wall time.
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 60);
        let mut flagged_at = None;
        for ms in 0..1000 {
            for _ in 0..5 {
                h.audio(ms, 320);
            }
            if h.conv.flood().is_some() {
                flagged_at = Some(ms);
                break;
            }
        }
        let flagged_at = flagged_at.expect("a 100x flood is flagged");
        // 20 s of audio arrives after 200 ms.
        assert!((195..=205).contains(&flagged_at), "{flagged_at}");
        let reason = h.conv.flood().unwrap();
        assert!(reason.contains("faster than 10x real time"), "{reason}");
        // What came after the flood is not taken in: the greeting stays below 20 s.
        let greeting = h.conv.greeting().unwrap().audio_s;
        h.audio(flagged_at + 1, 320);
        assert_eq!(h.conv.greeting().unwrap().audio_s, greeting);
        assert!(greeting <= 20.0, "{greeting}");
    }

    #[test]
    fn a_reply_that_never_ends_is_over_after_max_reply() {
        let mut h = Harness::new(vec![file("q.wav", 16_000, 8_000)], 600);
        h.run_until(Duration::from_millis(1500));
        // From 1.5 s on the server streams 5x real time (200 ms of audio every 40 ms), under
        // the flood rate, without end.
        let mut ended = Vec::new();
        let mut ended_at_ms = 0;
        for k in 0..4000u64 {
            h.audio(1500 + 40 * k, 3200);
            if k % 25 == 0 {
                ended_at_ms = 1500 + 40 * k;
                ended.extend(h.run_until(Duration::from_millis(ended_at_ms)));
            }
            if !ended.is_empty() {
                break;
            }
        }
        assert_eq!(ended, vec![TurnOutcome::Replied]);
        // Over 120 s after the first reply audio plus the 1 s reply gap (checked every 1 s),
        // not after the hundreds of seconds of audio queued.
        let over_s = (ended_at_ms - 1500) as f64 / 1000.0;
        assert!((121.0..=122.5).contains(&over_s), "{over_s}");
    }

    #[test]
    fn real_time_audio_and_bursts_below_the_limit_are_not_a_flood() {
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 60);
        // 10 s of audio at once (a whole reply in one burst), then 30 s in real time, then
        // 8x real time for 4 s.
        for _ in 0..250 {
            h.audio(0, 640);
        }
        for k in 0..750 {
            h.audio(40 * k, 640);
        }
        for k in 0..4000 {
            h.audio(30_000 + k, 128);
        }
        assert_eq!(h.conv.flood(), None);
    }

    #[test]
    fn the_greeting_wait_is_bounded_whatever_the_server_sends() {
        // 10x real time for 1 s (below the flood limit): 10 s of "greeting" queued. The
        // greeting starts at 100 ms and plays for at most the 200 ms timeout, then the 1 s
        // reply gap: the first query starts by 1.3 s.
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 60);
        for k in 0..250 {
            h.audio(100 + 4 * k, 640);
        }
        h.run_until(Duration::from_millis(1250));
        assert!(h.conv.current_turn().is_none());
        h.run_until(Duration::from_millis(1400));
        assert_eq!(h.conv.current_turn(), Some(1));
        assert_eq!(h.conv.greeting_wait_ended(), Some(true));
        assert_eq!(h.conv.flood(), None);
    }

    #[test]
    fn a_silent_agent_is_learnt_and_later_connections_speak_at_once() {
        let memory = GreetingMemory::default();
        assert_eq!(memory.wait(200 * MS), 200 * MS);
        // First connection: nothing heard in 200 ms, so the first query starts at ≥ 200 ms.
        let mut h = Harness::new(vec![file("a.wav", 3_200, 3_200)], 60);
        h.run_until(Duration::from_millis(150));
        assert_eq!(h.conv.greeting_wait_ended(), None);
        h.run_until(Duration::from_millis(300));
        assert_eq!(h.conv.current_turn(), Some(1));
        assert_eq!(h.conv.turns().len(), 0);
        assert_eq!(h.conv.greeting_wait_ended(), Some(false));
        memory.learn(false);
        assert_eq!(memory.known(), GreetingKnown::Silent);
        // The next connection does not wait: its first query starts with chunk 1.
        let wait = memory.wait(200 * MS);
        assert_eq!(wait, Duration::ZERO);
        let mut h = Harness::waiting(vec![file("a.wav", 3_200, 3_200)], 60, wait);
        h.run_until(Duration::from_millis(40));
        assert_eq!(h.conv.current_turn(), Some(1));
        assert_eq!(
            h.conv.greeting_wait_ended(),
            None,
            "a skipped wait teaches nothing"
        );
        // A greeting heard anywhere wins for good.
        memory.learn(true);
        memory.learn(false);
        assert_eq!(memory.known(), GreetingKnown::Greets);
        assert_eq!(memory.wait(200 * MS), 200 * MS);
    }

    #[test]
    fn files_are_spoken_in_order_and_continue_after_a_stop() {
        let files = vec![file("1.wav", 1_600, 1_600), file("2.wav", 1_600, 1_600)];
        let mut h = Harness::new(files, 600);
        h.run_until(Duration::from_millis(300));
        assert!(h.conv.stop(h.at(300), TurnOutcome::Disconnected));
        assert_eq!(h.conv.turns()[0].outcome, TurnOutcome::Disconnected);
        assert_eq!(h.conv.turns()[0].file, "1.wav");
        assert_eq!(h.conv.next_file(), 1);
        assert!(h.conv.is_done());
    }

    fn planner(mix: Mix, after: f64, sounds: usize) -> Planner {
        Planner {
            mix,
            seed: 1,
            barge_in_after: BargeInAfter::List(vec![after]),
            sounds,
        }
    }

    const ONLY_INTERRUPT: Mix = Mix {
        turn: 0.0,
        interrupt: 1.0,
        distractor: 0.0,
    };

    const ONLY_DISTRACTOR: Mix = Mix {
        turn: 0.0,
        interrupt: 0.0,
        distractor: 1.0,
    };

    #[test]
    fn barge_in_measures_how_the_old_reply_stops_and_the_new_reply() {
        let files = vec![file("a.wav", 16_000, 8_000), file("b.wav", 16_000, 8_000)];
        let mut h = Harness::with(files, 60, 200 * MS, |c| {
            c.planner = planner(ONLY_INTERRUPT, 0.5, 0);
        });
        // Turn 1 starts at chunk 7 (stream sample 3072); its file ends at 1192 ms. The reply
        // plays from 1500 ms; 0.5 s into it the next query's speech begins: the first chunk
        // whose capture starts at or after 2000 ms is chunk 64 (samples from 63·512 → 2016 ms).
        // The agent's last frame goes out at 2180, it signals at 2230 and answers B (speech
        // end 2016 + 500 = 2516 ms) at 3316.
        let script = [
            (1500, Agent::Reply(18)),
            (2230, Agent::Interruption),
            (3316, Agent::Reply(10)),
        ];
        let ended = h.play(6000, &script);
        assert_eq!(
            ended[..2],
            [TurnOutcome::Replied, TurnOutcome::Replied],
            "{ended:?}"
        );
        let turns = h.conv.turns();
        assert_eq!(turns[0].kind, TurnKind::Turn);
        // Turn 1's reply is what arrived before B began (1500…2020); the rest is the stop.
        assert_eq!(turns[0].reply_frames, 14);
        let b = &turns[1];
        assert_eq!(b.kind, TurnKind::Interrupt);
        assert_eq!(b.first_chunk_id, 64);
        let i = b.interruption.as_ref().expect("an interruption record");
        assert_eq!(i.interrupted_turn, 1);
        let stop = &i.stop;
        assert!(
            (stop.onset_at.unwrap() - h.unix(2016)).abs() < 1e-6,
            "{stop:?}"
        );
        assert!(
            (stop.stop_latency_s.unwrap() - 0.164).abs() < 1e-6,
            "{stop:?}"
        );
        assert!(
            (stop.signal_latency_s.unwrap() - 0.214).abs() < 1e-6,
            "{stop:?}"
        );
        assert_eq!(stop.signal, Some(StopSignal::Interruption));
        assert_eq!(stop.talk_over_ms, Some(0.0));
        // Frames at 2060…2180 arrived after B's first chunk went out: 4 × 40 ms (the one at
        // 2020, inside B's first chunk, is still turn 1's).
        assert!((stop.overlap_ms - 160.0).abs() < 1e-6, "{stop:?}");
        assert!(stop.stopped);
        assert!(
            (stop.reply_played_s.unwrap() - 0.516).abs() < 1e-6,
            "{stop:?}"
        );
        // The reply to B is B's own, measured from B's speech end.
        assert_eq!(b.reply_frames, 10);
        assert!((b.latency_s.unwrap() - 0.8).abs() < 1e-6, "{b:?}");
    }

    #[test]
    fn a_reply_that_keeps_talking_is_a_failed_barge_in_with_its_talk_over() {
        let files = vec![file("a.wav", 16_000, 8_000), file("b.wav", 16_000, 8_000)];
        let mut h = Harness::with(files, 60, 200 * MS, |c| {
            c.planner = planner(ONLY_INTERRUPT, 0.5, 0);
        });
        // The agent sends an interruption but keeps streaming the old reply to 3860 ms.
        let script = [(1500, Agent::Reply(60)), (2300, Agent::Interruption)];
        h.play(9000, &script);
        let stop = &h.conv.turns()[1].interruption.as_ref().unwrap().stop;
        assert!(!stop.stopped, "{stop:?}");
        assert!(
            (stop.stop_latency_s.unwrap() - 1.844).abs() < 1e-6,
            "{stop:?}"
        );
        // B got no reply of its own: everything that came was the old reply.
        assert_eq!(h.conv.turns()[1].outcome, TurnOutcome::NoReply);
        // Frames at 2340…3860 came after the signal: 39 × 40 ms.
        assert!(
            (stop.talk_over_ms.unwrap() - 1560.0).abs() < 1e-6,
            "{stop:?}"
        );
    }

    #[test]
    fn a_reply_that_stopped_before_the_onset_has_a_negative_stop_latency() {
        let files = vec![file("a.wav", 16_000, 8_000), file("b.wav", 16_000, 8_000)];
        let mut h = Harness::with(files, 60, 200 * MS, |c| {
            c.planner = planner(ONLY_INTERRUPT, 0.5, 0);
        });
        // The agent sends two frames back to back, then one per 40 ms: the reply plays to
        // 2060 ms, but its last frame arrives at 1980, before B's onset (2016 ms): the agent
        // stopped before the speech began.
        let script = [
            (1500, Agent::Reply(1)),
            (1500, Agent::Reply(13)),
            (1990, Agent::Interruption),
        ];
        h.play(8000, &script);
        let stop = &h.conv.turns()[1].interruption.as_ref().unwrap().stop;
        assert!(
            (stop.stop_latency_s.unwrap() + 0.036).abs() < 1e-6,
            "{stop:?}"
        );
        assert!(stop.stopped);
        assert_eq!(
            stop.signal, None,
            "a signal before B began is not this event's"
        );
    }

    fn sound(len_ms: usize) -> Arc<QueryFile> {
        let lead = 320;
        let body = len_ms * 16;
        let mut samples = vec![0i16; lead];
        samples.extend(vec![3000i16; body]);
        samples.extend(vec![0i16; 320]);
        Arc::new(QueryFile {
            name: "burst".into(),
            samples,
            sha256: String::new(),
            speech_start: lead,
            speech_end: lead + body,
            source: SpeechEndSource::Detected,
            rate: 16_000,
        })
    }

    #[test]
    fn an_ignored_distractor_is_no_false_stop_and_no_spurious_reply() {
        let files = vec![file("a.wav", 16_000, 8_000)];
        let mut h = Harness::with(files, 60, 200 * MS, |c| {
            c.planner = planner(ONLY_DISTRACTOR, 0.5, 1);
            c.sounds = Arc::from(vec![sound(100)]);
        });
        let ended = h.play(9000, &[(1500, Agent::Reply(60))]);
        assert_eq!(ended[0], TurnOutcome::Replied);
        let turn = &h.conv.turns()[0];
        assert_eq!(turn.kind, TurnKind::Distractor);
        let d = turn.distractor.as_ref().expect("a distractor record");
        // The sound's onset (20 ms into it) falls at or after 2000 ms from chunk 63 on
        // (captured from 1984 ms): 2004 ms.
        assert!(
            (d.stop.onset_at.unwrap() - h.unix(2004)).abs() < 1e-6,
            "{d:?}"
        );
        assert!((d.duration_s - 0.1).abs() < 1e-6);
        assert!(!d.stop.stopped, "{d:?}");
        assert!(!d.spurious_reply);
        assert_eq!(turn.reply_frames, 60);
        // The microphone carried the sound after the query.
        let sound_chunk = d.stop.first_chunk_id as usize - 1;
        assert!(
            h.sent[sound_chunk]
                .chunks_exact(2)
                .any(|b| b == 3000i16.to_le_bytes())
        );
        // The turn waited for the reply and the spurious-reply window after the sound.
        let end = d.end_at.unwrap() + SPURIOUS_WAIT.as_secs_f64();
        assert!(turn.ended_at >= end - 1e-6, "{turn:?}");
    }

    #[test]
    fn a_distractor_that_stops_the_reply_is_a_false_stop_and_its_answer_spurious() {
        let files = vec![file("a.wav", 16_000, 8_000)];
        let mut h = Harness::with(files, 60, 200 * MS, |c| {
            c.planner = planner(ONLY_DISTRACTOR, 0.5, 1);
            c.sounds = Arc::from(vec![sound(300)]);
        });
        let script = [
            (1500, Agent::Reply(19)),
            (
                2250,
                Agent::Rtvi(rtvi::Message::Event(Event::BotInterrupted)),
            ),
            (3200, Agent::Reply(10)),
        ];
        h.play(9000, &script);
        let turn = &h.conv.turns()[0];
        let d = turn.distractor.as_ref().unwrap();
        assert!(d.stop.stopped, "{d:?}");
        assert_eq!(d.stop.signal, Some(StopSignal::BotInterrupted));
        // Last frame of the reply at 2220, onset at 2004.
        assert!(
            (d.stop.stop_latency_s.unwrap() - 0.216).abs() < 1e-6,
            "{d:?}"
        );
        assert!(d.spurious_reply);
        assert!((d.spurious_reply_at.unwrap() - h.unix(3200)).abs() < 1e-6);
        assert_eq!(
            turn.reply_frames, 19,
            "the answer to the sound is not the reply"
        );
    }

    #[test]
    fn a_plan_past_the_end_of_the_reply_is_missed() {
        let files = vec![file("a.wav", 16_000, 8_000), file("b.wav", 16_000, 8_000)];
        let mut h = Harness::with(files, 60, 200 * MS, |c| {
            c.planner = planner(ONLY_INTERRUPT, 2.0, 0);
        });
        h.play(6000, &[(1500, Agent::Reply(10))]);
        let turn = &h.conv.turns()[0];
        assert_eq!(turn.overlay_missed, Some(TurnKind::Interrupt));
        assert_eq!(turn.kind, TurnKind::Turn);
        assert!(h.conv.turns().iter().all(|t| t.interruption.is_none()));
    }

    #[test]
    fn rtvi_metrics_are_attributed_to_their_turn_with_the_vad_wait() {
        use crate::protocol::rtvi::{Message, Metrics, Timing};
        let metrics = |processor: &str, value: f64| {
            Message::Metrics(Metrics {
                ttfb: vec![Timing {
                    processor: processor.into(),
                    model: None,
                    value,
                }],
                ..Metrics::default()
            })
        };
        let files = vec![file("a.wav", 16_000, 8_000)];
        let mut h = Harness::new(files, 60);
        // Speech ends at 692 ms; the agent's VAD says so at 1000.
        let script = [
            (400, Agent::Rtvi(metrics("OpenAISTTService#0", 0.0))),
            (450, Agent::Rtvi(Message::Event(Event::UserStartedSpeaking))),
            (
                1000,
                Agent::Rtvi(Message::Event(Event::UserStoppedSpeaking)),
            ),
            (1100, Agent::Rtvi(metrics("OpenAISTTService#0", 0.31))),
            (1300, Agent::Rtvi(metrics("OpenAILLMService#0", 0.25))),
            (1400, Agent::Rtvi(metrics("CartesiaTTSService#0", 0.12))),
            (1450, Agent::Rtvi(Message::Event(Event::BotStartedSpeaking))),
            (1500, Agent::Reply(10)),
            (1900, Agent::Rtvi(Message::Event(Event::BotStoppedSpeaking))),
        ];
        h.play(4000, &script);
        let m = h.conv.turns()[0].agent_metrics.as_ref().expect("metrics");
        assert_eq!(m.asr_ttfb_s, Some(0.31));
        assert_eq!(m.llm_ttfb_s, Some(0.25));
        assert_eq!(m.tts_ttfb_s, Some(0.12));
        assert!((m.vad_wait_s.unwrap() - 0.308).abs() < 1e-5, "{m:?}");
        assert_eq!(
            m.metrics_messages, 3,
            "the all-zero message is the initial one"
        );
        assert!(m.bot_stopped_speaking_at.is_some());
    }

    /// pipecat-ai's own wire order and timing of a turn (tests/fixtures/rtvi, written by
    /// scripts/pipecat_rtvi_fixtures.py), replayed byte for byte 400 ms into the first turn:
    /// every metric lands on that turn with the values pipecat sent.
    #[test]
    fn a_pipecat_turn_sequence_is_attributed_to_its_turn() {
        use crate::protocol::rtvi::Message;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rtvi");
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let mut script = Vec::new();
        let mut messages = Vec::new();
        for row in manifest["sequences"]["turn"].as_array().unwrap() {
            let at = 400 + row["t_ms"].as_f64().unwrap().round() as u64;
            match row["kind"].as_str().unwrap() {
                "audio" => script.push((at, Agent::Reply(1))),
                "message" => {
                    let bytes = std::fs::read(dir.join(row["file"].as_str().unwrap())).unwrap();
                    let frame = crate::protocol::decode(&bytes).unwrap();
                    let message = rtvi::parse_frame(&frame).unwrap().unwrap();
                    messages.push(message.clone());
                    script.push((at, Agent::Rtvi(message)));
                }
                _ => {}
            }
        }
        let first_ttfb = |prefix: &str| {
            messages.iter().find_map(|m| match m {
                Message::Metrics(m) => m
                    .ttfb
                    .iter()
                    .find(|t| t.processor.starts_with(prefix))
                    .map(|t| round6(t.value)),
                _ => None,
            })
        };
        let mut h = Harness::new(vec![file("a.wav", 16_000, 8_000)], 60);
        h.play(5000, &script);
        let turn = &h.conv.turns()[0];
        let m = turn.agent_metrics.as_ref().expect("metrics");
        assert_eq!(m.asr_ttfb_s, first_ttfb("OpenAISTTService"));
        assert_eq!(m.llm_ttfb_s, first_ttfb("OpenAILLMService"));
        assert_eq!(m.tts_ttfb_s, first_ttfb("OpenAITTSService"));
        assert!(m.asr_ttfb_s.is_some() && m.llm_ttfb_s.is_some() && m.tts_ttfb_s.is_some());
        let metrics = messages
            .iter()
            .filter(|m| matches!(m, Message::Metrics(_)))
            .count();
        assert_eq!(m.metrics_messages, metrics);
        assert!(m.user_started_speaking_at.is_some() && m.bot_stopped_speaking_at.is_some());
        assert!(
            m.tts_characters.is_some() && m.completion_tokens.is_some(),
            "{m:?}"
        );
        assert!(m.transcript.is_some());
        // user-stopped-speaking came 1006 ms after the origin; the speech ended at 692 ms.
        assert!((m.vad_wait_s.unwrap() - 0.314).abs() < 0.002, "{m:?}");
        assert_eq!(turn.reply_frames, 10);
    }

    #[test]
    fn audible_level_and_first_audible_frame() {
        assert_eq!(audible_amplitude(-40.0), 328);
        assert_eq!(audible_amplitude(0.0), 32768);
        let samples = crate::audio::riff::pcm16_to_bytes(&[0, 5, -400, 0, 10, 1000]);
        assert_eq!(first_audible_frame(&samples, 1, 328), Some(2));
        assert_eq!(first_audible_frame(&samples, 2, 328), Some(1));
        assert_eq!(first_audible_frame(&samples, 1, 2000), None);
    }
}
