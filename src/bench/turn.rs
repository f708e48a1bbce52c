//! The conversation of one connection as a state machine, free of I/O so it can be tested
//! with made-up instants: greeting → (speak a file → wait for the reply → reply plays out →
//! reply gap → turn gap)*, with the microphone sending a chunk every tick throughout (speech
//! or silence). The client task feeds it ticks, sent chunks and received frames; it decides
//! what each chunk carries and produces one [`TurnRecord`] per turn.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::bench::dataset::QueryFile;
use crate::bench::playback::Playback;
use crate::bench::schedule::{ChunkSchedule, MetricsWindow};
use crate::clock::{UnixClock, signed_secs};
use crate::runfolder::results::{
    AudioFormat, GreetingRecord, ReceivedFrame, ReceivedKind, ReverseBargeIn, TurnOutcome,
    TurnRecord,
};
use crate::stats::round6;

/// A playback underrun longer than this inside a reply is a glitch.
pub const GLITCH_GAP: Duration = Duration::from_millis(20);

/// The longest a greeting is waited for once it started.
const GREETING_CAP: Duration = Duration::from_secs(60);

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
    /// Any other frame.
    Other {
        /// Arrival.
        at: Instant,
        /// Kind.
        kind: ReceivedKind,
        /// Text, JSON or name (see [`ReceivedFrame::text`]).
        text: String,
        /// RTVI message type.
        rtvi_type: Option<String>,
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

#[derive(Debug)]
struct ActiveTurn {
    number: usize,
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
    reply_format: Option<AudioFormat>,
    reply_audio: Duration,
    reply_frames: usize,
    glitch_gaps: Vec<Duration>,
    interruptions: usize,
    received: Vec<ReceivedFrame>,
    max_lateness: Duration,
}

impl ActiveTurn {
    fn has_started_by(&self, at: Instant) -> bool {
        self.started_at.is_some_and(|started| at >= started)
    }
}

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
    connected_at: Instant,
    turns: Vec<TurnRecord>,
    greeting: Option<GreetingRecord>,
    /// How the greeting wait ended: `Some(true)` a greeting was heard, `Some(false)` the
    /// whole timeout passed in silence; `None` while waiting or when the wait was skipped.
    greeting_wait_ended: Option<bool>,
    greeting_wait: Duration,
}

impl Conversation {
    /// A conversation that connected at `connected_at`, whose microphone follows `schedule`
    /// and whose next query is `files[next_file % len]`.
    pub fn new(
        config: Arc<TurnConfig>,
        files: Arc<[Arc<QueryFile>]>,
        clock: UnixClock,
        schedule: ChunkSchedule,
        connected_at: Instant,
        next_file: usize,
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
            connected_at,
            turns: Vec::new(),
            greeting: None,
            greeting_wait_ended: None,
            greeting_wait,
        }
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
                    let end = match (&self.greeting, self.playback.play_end()) {
                        (Some(_), Some(play_end)) => play_end + self.config.reply_gap,
                        _ => *deadline,
                    };
                    if now < end && now < self.connected_at + GREETING_CAP {
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
                        Some(_) => {
                            let played_out = self.playback.play_end().unwrap_or(file_end);
                            if now < played_out.max(file_end) + self.config.reply_gap {
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
    /// next piece of the current query (zero-padded at its end), or silence.
    pub fn fill_chunk(&mut self, id: u64, due: Instant, out: &mut Vec<u8>) {
        let chunk_samples = self.schedule.chunk_samples();
        if matches!(self.phase, Phase::Ready) {
            self.start_turn(id, due);
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
            }
        }
        out.resize(chunk_samples * 2, 0);
    }

    fn start_turn(&mut self, id: u64, due: Instant) {
        let file = Arc::clone(&self.files[self.next_file % self.files.len()]);
        self.next_file += 1;
        let first_sample = self.schedule.first_sample(id);
        let speech_end_sample = first_sample + file.speech_end as u64;
        let speech_end_chunk_id = self.schedule.chunk_of_sample(speech_end_sample - 1);
        self.phase = Phase::Turn(Box::new(ActiveTurn {
            number: self.turns.len() + 1,
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
            reply_format: None,
            reply_audio: Duration::ZERO,
            reply_frames: 0,
            glitch_gaps: Vec::new(),
            interruptions: 0,
            received: Vec::new(),
            max_lateness: Duration::ZERO,
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
            } => {
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

    fn heard_audio(
        &mut self,
        at: Instant,
        frames: usize,
        format: AudioFormat,
        audible: Option<usize>,
    ) {
        if frames == 0 || format.sample_rate == 0 {
            return;
        }
        let rate = f64::from(format.sample_rate);
        let duration = Duration::from_secs_f64(frames as f64 / rate);
        let played = self.playback.push(at, duration);
        match &mut self.phase {
            Phase::Greeting { .. } => {
                let greeting = self.greeting.get_or_insert(GreetingRecord {
                    first_audio_at: self.clock.unix(at),
                    audio_s: 0.0,
                    frames: 0,
                });
                greeting.audio_s = round6(greeting.audio_s + duration.as_secs_f64());
                greeting.frames += 1;
            }
            Phase::Turn(turn) if turn.has_started_by(at) => {
                turn.first_frame_at.get_or_insert(at);
                if turn.first_audio_at.is_none() {
                    turn.first_audio_at = Some(at);
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
            speech_end_at: unix(turn.speech_end_at),
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
        });
    }
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
    use crate::runfolder::results::SpeechEndSource;

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

    impl Harness {
        fn new(files: Vec<Arc<QueryFile>>, window_s: u64) -> Self {
            Self::waiting(files, window_s, 200 * MS)
        }

        fn waiting(files: Vec<Arc<QueryFile>>, window_s: u64, wait: Duration) -> Self {
            let t0 = Instant::now();
            let config = TurnConfig {
                reply_gap: 1000 * MS,
                turn_gap: Duration::ZERO,
                reply_timeout: 5000 * MS,
                greeting_timeout: 200 * MS,
                threshold: 0.5,
                window: MetricsWindow {
                    start: t0,
                    end: t0 + Duration::from_secs(window_s),
                },
            };
            let schedule = ChunkSchedule::new(t0, N);
            let conv = Conversation::new(
                Arc::new(config),
                files.into(),
                UnixClock::new(),
                schedule,
                t0,
                0,
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
