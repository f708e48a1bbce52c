//! Joining the server log with a bench run (`--run results/<dir>`): where each turn's latency
//! goes.
//!
//! The run folder is read through bench's own result types ([`crate::runfolder::results`]). Its
//! stream ids select the log lines (they embed a unix-ms start time, so they are unique to the
//! run). Each server sample is attributed to a bench turn of its stream by time: turn *k* owns
//! `[started_at(k), started_at(k+1))` — every server event of a reply happens after the user
//! began speaking the query and before the next query starts (a reply is waited for before the
//! next one), early replies included. Within a turn, the parts of the split are those of the
//! pipeline run that produced the reply: the last of each logged before its first audio (a
//! pause in the query can start a run that the user's next words cut short). Only samples of
//! turns inside the run's metrics window count, so the statistics cover exactly the turns
//! bench measured. Agent truth lines are
//! matched by frame id (the chunk ids of the turn's file), which needs no clock at all.
//!
//! Log lines carry local wall-clock times without a zone; bench records unix seconds. The
//! offset between the two is measured from the log itself (truth lines carry unix times; client
//! start lines happen during bench's connect), rounded to the time zone's quarter hour, or given
//! with `--log-utc-offset`.
//!
//! Per turn: `latency = VAD wait + ASR + LLM TTFB + TTS TTFB + transport/other`.
//! - With a `voiceperf agent` truth line (last speech frame F arrived at A, first reply sent at
//!   R): the agent's own stop wait is `(R − A) − ASR − LLM − TTS`; F was captured at
//!   `audio_origin_at + F·chunk` on bench's clock, so **VAD wait** = stop wait + (capture of F −
//!   speech end) — from the real end of speech to the end-of-turn decision, including where the
//!   VAD heard the speech end — and **transport/other** = uplink (A − capture of F) + downlink
//!   (first audio at the client − R): network and scheduling only.
//! - Without one, a pipecat `User stopped speaking` line in the turn gives the VAD wait as
//!   `its time − speech end` (ms log resolution, and both clocks must agree).
//! - Otherwise the VAD wait is unknown and included in transport/other.
//!
//! Components are taken as logged; in pipelines whose stages overlap, transport/other can be
//! negative, and it is reported as it is.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{Local, Offset, TimeZone};
use serde::{Deserialize, Serialize};

use super::collect::{Collected, NO_STREAM_ID, Sample, StreamData, metric_index};
use super::window::WindowSpec;
use crate::dataset::natural_cmp;
use crate::runfolder::results::{ClientResults, SweepSummary, TurnRecord};
use crate::runfolder::{Level, SWEEP_FILE, read_json};
use crate::serverlog::parse::{LogTime, MetricKind, StopKind};
use crate::serverlog::truth::{AgentTurnTruth, turn_for_truth};
use crate::stats::{self, Summary};

/// The bench run `--run` names: a level folder read through [`crate::runfolder`], with
/// its metrics window.
#[derive(Debug, Clone)]
pub struct JoinedRun {
    /// The folder, its summary and client files.
    pub level: Level,
    /// Start of the metrics window (unix s).
    pub metrics_start_at: f64,
    /// End of the metrics window (unix s).
    pub metrics_end_at: f64,
}

impl JoinedRun {
    /// Reads a run folder: the client files are required, `summary.json` is used when there.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("--run {}: not a folder", dir.display());
        }
        let level = Level::load(dir)
            .with_context(|| format!("reading the bench run in {}", dir.display()))?;
        if let Some(problem) = level.unreadable.first() {
            bail!("--run {}: {problem}", dir.display());
        }
        let window = level.metrics_window();
        let Some((metrics_start_at, metrics_end_at)) = window.filter(|_| !level.clients.is_empty())
        else {
            let sweep = dir.join(SWEEP_FILE);
            if let Ok(sweep) = read_json::<SweepSummary>(&sweep) {
                let levels: Vec<String> = sweep
                    .levels
                    .iter()
                    .map(|l| format!("{} ({} users)", dir.join(&l.dir).display(), l.clients))
                    .collect();
                bail!(
                    "--run {}: a concurrency sweep; join one level's folder: {}",
                    dir.display(),
                    levels.join(", ")
                );
            }
            bail!(
                "--run {}: no latency_results_*.json files: not a bench run folder",
                dir.display()
            );
        };
        Ok(JoinedRun {
            level,
            metrics_start_at,
            metrics_end_at,
        })
    }

    /// The run's stream ids.
    pub fn stream_ids(&self) -> HashSet<String> {
        self.level
            .clients
            .iter()
            .map(|c| c.stream_id.clone())
            .collect()
    }

    /// The log window: the run's streams, at any time (turn attribution narrows it further).
    pub fn window(&self) -> WindowSpec {
        WindowSpec::Streams {
            stream_ids: self.stream_ids(),
            since: None,
            until: None,
        }
    }
}

/// How log times were mapped to unix time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockAlignment {
    /// Log wall clock minus UTC (s): unix = log time − offset.
    pub offset_s: f64,
    /// `given` (--log-utc-offset), `truth_lines`, `client_start_lines` or `local_timezone`.
    pub source: String,
    /// Median of (measured offset − `offset_s`) over the lines used (ms): logging delay and
    /// clock skew; `null` for `given` and `local_timezone`.
    pub residual_ms: Option<f64>,
    /// Lines the offset was measured on.
    pub lines: usize,
}

/// Where a turn's VAD wait came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VadSource {
    /// `voiceperf agent`'s truth line: agent interval − ASR − LLM TTFB − TTS TTFB.
    TruthLine,
    /// pipecat's VAD-stop `User stopped speaking` line (bare, or `VADProcessor#N: …`) − bench's
    /// speech end.
    UserStoppedSpeaking,
    /// pipecat's turn-end line (`… User turn inference triggered (strategy: …)` or `… User
    /// stopped speaking (strategy: …)`, the last one before the LLM run that produced the reply)
    /// − bench's speech end, minus the STT's TTFB when that is the ASR part (pipecat measures it
    /// from the speech end, so it lies inside the same wait). Negative when the turn was ended
    /// before the user had finished.
    TurnEnd,
}

/// Where a turn's ASR part came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsrSource {
    /// `… ASR compute latency: s` (NVIDIA's Riva/Nemotron ASR): after the VAD stop.
    ComputeLatency,
    /// The STT service's `TTFB: s`: pipecat (≥ 1.0) measures it from the end of speech to the
    /// final transcript. After a VAD-stop line (no turn-end line), only the part after that
    /// line is the ASR's.
    SttTtfb,
}

/// The parts of a turn's latency (s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown<T> {
    /// End-to-end latency measured by bench: first reply audio − speech end.
    pub latency: T,
    /// End-of-turn wait of the agent's VAD (and its own overhead).
    pub vad_wait: T,
    /// ASR compute latency.
    pub asr: T,
    /// LLM time to first byte.
    pub llm_ttfb: T,
    /// TTS time to first byte.
    pub tts_ttfb: T,
    /// The rest: network both ways, the client's and server's scheduling, audio buffering.
    pub transport_other: T,
}

impl<T> Breakdown<T> {
    fn from_fn(mut value: impl FnMut(fn(&Breakdown<Option<f64>>) -> Option<f64>) -> T) -> Self {
        Breakdown {
            latency: value(|b| b.latency),
            vad_wait: value(|b| b.vad_wait),
            asr: value(|b| b.asr),
            llm_ttfb: value(|b| b.llm_ttfb),
            tts_ttfb: value(|b| b.tts_ttfb),
            transport_other: value(|b| b.transport_other),
        }
    }
}

/// One bench turn with the server's view of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinedTurn {
    /// Stream id (connection).
    pub stream_id: String,
    /// Bench's turn number on the connection.
    pub turn: usize,
    /// Dataset file spoken.
    pub file: String,
    /// Whether bench counted the turn (started inside the metrics window).
    pub in_window: bool,
    /// Bench: the user's speech end (unix s).
    pub speech_end_at: Option<f64>,
    /// Bench: arrival of the first reply audio (unix s).
    pub first_audio_at: Option<f64>,
    /// The split (s); `null` parts were not logged or cannot be derived.
    pub breakdown: Breakdown<Option<f64>>,
    /// Where the VAD wait came from.
    pub vad_source: Option<VadSource>,
    /// Where the ASR part came from.
    #[serde(default)]
    pub asr_source: Option<AsrSource>,
    /// Server samples without a stream id logged during this turn while another connection was
    /// active too: not attributed to any turn.
    #[serde(default)]
    pub ambiguous_samples: usize,
    /// The agent's truth line for the turn.
    pub agent: Option<AgentTurnTruth>,
    /// The agent's own end-of-turn wait: its interval (last speech frame arrived → first
    /// reply sent) minus ASR, LLM TTFB and TTS TTFB (s; with a truth line).
    pub agent_stop_wait_s: Option<f64>,
    /// When the agent's last speech frame was captured minus bench's speech end (s): where the
    /// agent's VAD heard speech end, relative to where it did end (negative: it cut early).
    pub vad_speech_end_offset_s: Option<f64>,
    /// Last speech frame captured (scheduled send) → arrived at the agent (s).
    pub uplink_s: Option<f64>,
    /// First reply frame sent by the agent → arrived at the client (s).
    pub downlink_s: Option<f64>,
    /// LLM first sentence generation time (s).
    pub llm_first_sentence: Option<f64>,
    /// Server samples attributed to the turn (all metrics).
    pub server_samples: usize,
}

/// Per connection: mean of each part over its in-window turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientBreakdown {
    /// Stream id.
    pub stream_id: String,
    /// In-window turns with a measured latency.
    pub turns: usize,
    /// Means (s).
    pub mean: Breakdown<Option<f64>>,
}

/// How well the log and the run matched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinCounts {
    /// Connections in the run.
    pub connections: usize,
    /// Of which appear in the log.
    pub connections_in_log: usize,
    /// Turns inside the metrics window.
    pub in_window_turns: usize,
    /// Of which have a latency (got reply audio).
    pub with_latency: usize,
    /// Of which have at least one server sample.
    pub with_server_samples: usize,
    /// Of which have all of ASR, LLM TTFB and TTS TTFB.
    pub with_all_components: usize,
    /// Of which were matched to an agent truth line.
    pub with_truth_line: usize,
    /// Of which have a VAD wait.
    pub with_vad_wait: usize,
    /// Server samples of the run's streams before their first turn (e.g. a greeting).
    pub samples_before_first_turn: usize,
    /// Server samples after the connection's last turn ended.
    pub samples_after_last_turn: usize,
    /// Server samples in turns outside the metrics window (not in any statistic).
    pub samples_outside_window: usize,
    /// Server samples without a timestamp (cannot be attributed).
    pub untimed_samples: usize,
    /// Truth lines that matched no turn.
    pub unmatched_truth_lines: usize,
    /// Timed server samples without a stream id.
    #[serde(default)]
    pub unlabeled_samples: usize,
    /// Of those, attributed by time to an in-window turn (one connection active).
    #[serde(default)]
    pub unlabeled_attributed: usize,
    /// Of those, logged while several connections were active: not attributed.
    #[serde(default)]
    pub unlabeled_ambiguous: usize,
    /// Of those, logged while no turn of the run was in flight (greeting, other runs).
    #[serde(default)]
    pub unlabeled_outside: usize,
    /// In-window turns with a latency but without all of ASR, LLM TTFB and TTS TTFB, during
    /// which lines without a stream id could not be attributed.
    #[serde(default)]
    pub missing_split_overlap: usize,
}

/// The join of a log with a bench run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinReport {
    /// The run folder.
    pub run_dir: String,
    /// Start of the run's metrics window (unix s).
    pub metrics_start_at: f64,
    /// End of the run's metrics window (unix s).
    pub metrics_end_at: f64,
    /// Why `summary.json` was not used, if it was not.
    pub summary_problem: Option<String>,
    /// How log times were aligned with the run's clock.
    pub clock: ClockAlignment,
    /// How well they matched.
    pub counts: JoinCounts,
    /// Why turns lack their split and what to change, when the cause is known.
    #[serde(default)]
    pub note: Option<String>,
    /// Per in-window turn with a latency, over all connections: each part's distribution (s).
    pub overall: Breakdown<Option<Summary>>,
    /// Per connection.
    pub clients: Vec<ClientBreakdown>,
    /// Every turn of the run (in and out of the window), by connection then turn.
    pub turns: Vec<JoinedTurn>,
}

/// Parses a UTC offset such as `+01:00`, `-0530`, `+2`, `Z` or `UTC` into seconds.
pub fn parse_utc_offset(text: &str) -> Result<i32> {
    let text = text.trim();
    if matches!(text, "Z" | "z" | "UTC" | "utc" | "0") {
        return Ok(0);
    }
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => bail!("`{text}` is not a UTC offset: use ±HH:MM, e.g. +01:00 or -05:30, or Z"),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let valid =
        !digits.is_empty() && digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit());
    if !valid {
        bail!("`{text}` is not a UTC offset: use ±HH:MM, e.g. +01:00 or -05:30, or Z");
    }
    let (hours, minutes) = if digits.len() <= 2 {
        (digits.parse::<i32>()?, 0)
    } else {
        let (h, m) = digits.split_at(digits.len() - 2);
        (h.parse::<i32>()?, m.parse::<i32>()?)
    };
    if hours > 14 || minutes > 59 {
        bail!("`{text}` is not a UTC offset (at most ±14:00)");
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

const QUARTER_HOUR: f64 = 900.0;
/// Server lines of a connection's last turn may trail its close by this much.
const LAST_TURN_SLACK_S: f64 = 2.0;
/// Beyond this, the residual is clock skew worth keeping rather than rounding away.
const SKEW_KEPT_S: f64 = 2.0;

/// Measures the log clock's offset from unix time.
fn align_clock(collected: &Collected, run: &JoinedRun, given: Option<i32>) -> ClockAlignment {
    if let Some(offset) = given {
        return ClockAlignment {
            offset_s: f64::from(offset),
            source: "given".into(),
            residual_ms: None,
            lines: 0,
        };
    }
    // Truth lines are logged when the first reply frame is sent, with its unix time inside.
    let truth: Vec<f64> = collected
        .streams
        .iter()
        .flat_map(|(_, data)| data.turns.iter())
        .filter_map(|t| Some(t.time?.as_secs_f64() - t.truth.first_reply_unix))
        .collect();
    if let Some(alignment) = from_measurements(&truth, "truth_lines") {
        return alignment;
    }
    // The server logs the accept between bench's connect start and the handshake's end.
    let starts: Vec<f64> = run
        .level
        .clients
        .iter()
        .filter_map(|c| {
            let logged = collected.client_start_times.get(&c.stream_id)?;
            let unix = c.connected_at.unwrap_or(c.connect_started_at);
            Some(logged.as_secs_f64() - unix)
        })
        .collect();
    if let Some(alignment) = from_measurements(&starts, "client_start_lines") {
        return alignment;
    }
    let offset = Local
        .timestamp_opt(run.metrics_start_at as i64, 0)
        .single()
        .map(|t| t.offset().fix().local_minus_utc())
        .unwrap_or(0);
    ClockAlignment {
        offset_s: f64::from(offset),
        source: "local_timezone".into(),
        residual_ms: None,
        lines: 0,
    }
}

fn from_measurements(offsets: &[f64], source: &str) -> Option<ClockAlignment> {
    let median = stats::percentile(offsets, 50.0)?;
    let zone = (median / QUARTER_HOUR).round() * QUARTER_HOUR;
    let offset = if (median - zone).abs() > SKEW_KEPT_S {
        median
    } else {
        zone
    };
    Some(ClockAlignment {
        offset_s: offset,
        source: source.into(),
        residual_ms: Some((median - offset) * 1000.0),
        lines: offsets.len(),
    })
}

/// One connection's turns on the run's clock, for attributing log lines by time.
struct Timeline<'r> {
    client: &'r ClientResults,
    turns: Vec<&'r TurnRecord>,
    starts: Vec<f64>,
    /// The server may still log for the last turn until here (unix s).
    last_end: f64,
    /// From when the server may log for this connection (unix s); `None` if it never
    /// connected.
    active_from: Option<f64>,
}

impl<'r> Timeline<'r> {
    fn new(client: &'r ClientResults) -> Self {
        let mut turns: Vec<&TurnRecord> = client.turns.iter().collect();
        turns.sort_by_key(|t| t.turn);
        let starts = turns.iter().map(|t| t.started_at).collect();
        // The last turn ends with the connection (its reply's trailing lines included).
        let last_end = match turns.last() {
            Some(t) => t.ended_at.max(client.closed_at.unwrap_or(t.ended_at)) + LAST_TURN_SLACK_S,
            None => client
                .closed_at
                .map_or(f64::NEG_INFINITY, |c| c + LAST_TURN_SLACK_S),
        };
        let active_from = client.connected_at.map(|_| {
            client
                .connect_started_at
                .min(turns.first().map_or(f64::INFINITY, |t| t.started_at))
        });
        Timeline {
            client,
            turns,
            starts,
            last_end,
            active_from,
        }
    }

    /// Turn `k` owns `[started_at(k), started_at(k+1))`, the last one until `last_end`.
    /// `Err(true)`: before the first turn; `Err(false)`: after the last.
    fn turn_of(&self, unix: f64) -> Result<usize, bool> {
        if unix >= self.last_end {
            return Err(false);
        }
        self.starts
            .partition_point(|&s| s <= unix)
            .checked_sub(1)
            .ok_or(true)
    }

    /// Whether the server may be logging for this connection at `unix` (greeting included).
    fn active(&self, unix: f64) -> bool {
        self.active_from
            .is_some_and(|from| unix >= from && unix < self.last_end)
    }
}

/// Server data of one connection, by turn.
#[derive(Default)]
struct ConnectionSamples {
    per_turn: Vec<TurnSamples>,
    /// What goes into the statistics: samples of in-window turns.
    kept: StreamData,
    /// Whether any log line was this connection's (by stream id or attributed by time).
    in_log: bool,
}

impl ConnectionSamples {
    fn new(turns: usize) -> Self {
        ConnectionSamples {
            per_turn: vec![TurnSamples::default(); turns],
            ..ConnectionSamples::default()
        }
    }

    fn add_sample(
        &mut self,
        timeline: &Timeline,
        turn: usize,
        kind: MetricKind,
        sample: Sample,
        unix: f64,
    ) {
        self.in_log = true;
        if timeline.turns[turn].in_window {
            self.per_turn[turn].push(kind, sample.value, unix);
            self.kept.samples[metric_index(kind)].push(sample);
        }
    }

    fn add_stop(&mut self, turn: usize, kind: StopKind, unix: f64) {
        self.in_log = true;
        self.per_turn[turn].stops.push((unix, kind));
    }
}

/// Where a line without a stream id belongs, judged by its time.
enum Owner {
    /// Exactly one connection was active, in this turn.
    Turn { connection: usize, turn: usize },
    /// Exactly one connection was active, outside its turns (greeting, after the last).
    OutsideTurns,
    /// No connection of the run was active.
    NoConnection,
    /// Several were: these connections' turns (or greetings) were in flight.
    Ambiguous(Vec<(usize, Option<usize>)>),
}

fn owner_at(timelines: &[Timeline], unix: f64) -> Owner {
    let active: Vec<(usize, Option<usize>)> = timelines
        .iter()
        .enumerate()
        .filter(|(_, t)| t.active(unix))
        .map(|(i, t)| (i, t.turn_of(unix).ok()))
        .collect();
    match active.as_slice() {
        [] => Owner::NoConnection,
        [(connection, Some(turn))] => Owner::Turn {
            connection: *connection,
            turn: *turn,
        },
        [(_, None)] => Owner::OutsideTurns,
        _ => Owner::Ambiguous(active),
    }
}

/// Attributes samples to bench turns, keeps only those of in-window turns in `collected`, and
/// computes the per-turn split. Lines with the run's stream ids go to their connection's turns;
/// lines without a stream id go to the turn in flight when they were logged, if exactly one
/// connection of the run was active then.
pub fn join(
    collected: Collected,
    run: &JoinedRun,
    given_offset: Option<i32>,
) -> (Collected, JoinReport) {
    let clock = align_clock(&collected, run, given_offset);
    let to_unix = |time: LogTime| time.as_secs_f64() - clock.offset_s;
    let mut counts = JoinCounts {
        connections: run.level.clients.len(),
        ..JoinCounts::default()
    };
    let mut collected = collected;
    let mut by_stream: HashMap<String, StreamData> =
        std::mem::take(&mut collected.streams).into_iter().collect();
    let unlabeled = by_stream.remove(NO_STREAM_ID);

    let mut sorted: Vec<&ClientResults> = run.level.clients.iter().collect();
    sorted.sort_by(|a, b| natural_cmp(&a.stream_id, &b.stream_id));
    let timelines: Vec<Timeline> = sorted.iter().map(|c| Timeline::new(c)).collect();
    let mut connections: Vec<ConnectionSamples> = timelines
        .iter()
        .map(|t| ConnectionSamples::new(t.turns.len()))
        .collect();
    // Per connection and turn: lines without a stream id logged while it and another were in
    // flight.
    let mut ambiguous: Vec<Vec<usize>> = timelines.iter().map(|t| vec![0; t.turns.len()]).collect();

    for (i, timeline) in timelines.iter().enumerate() {
        let Some(data) = by_stream.get(&timeline.client.stream_id) else {
            continue;
        };
        let connection = &mut connections[i];
        connection.in_log = true;
        for kind in MetricKind::ALL {
            for sample in data.metric(kind) {
                let Some(time) = sample.time else {
                    counts.untimed_samples += 1;
                    continue;
                };
                let unix = to_unix(time);
                match timeline.turn_of(unix) {
                    Err(true) => counts.samples_before_first_turn += 1,
                    Err(false) => counts.samples_after_last_turn += 1,
                    Ok(k) if timeline.turns[k].in_window => {
                        connection.add_sample(timeline, k, kind, *sample, unix)
                    }
                    Ok(_) => counts.samples_outside_window += 1,
                }
            }
        }
        for line in &data.turns {
            match turn_for_truth(&timeline.turns, &line.truth) {
                Some(k) => {
                    let turn = &mut connection.per_turn[k];
                    if turn.truth.is_none() {
                        turn.truth = Some(line.truth);
                    }
                    if timeline.turns[k].in_window {
                        connection.kept.turns.push(*line);
                    }
                }
                None => counts.unmatched_truth_lines += 1,
            }
        }
        for &(time, kind) in &data.user_stopped {
            if let Ok(k) = timeline.turn_of(to_unix(time)) {
                connection.add_stop(k, kind, to_unix(time));
            }
        }
    }

    if let Some(data) = &unlabeled {
        counts.unmatched_truth_lines += data.turns.len();
        for kind in MetricKind::ALL {
            for sample in data.metric(kind) {
                let Some(time) = sample.time else {
                    counts.untimed_samples += 1;
                    continue;
                };
                counts.unlabeled_samples += 1;
                let unix = to_unix(time);
                match owner_at(&timelines, unix) {
                    Owner::Turn { connection, turn } => {
                        if timelines[connection].turns[turn].in_window {
                            counts.unlabeled_attributed += 1;
                        } else {
                            counts.samples_outside_window += 1;
                        }
                        connections[connection].add_sample(
                            &timelines[connection],
                            turn,
                            kind,
                            *sample,
                            unix,
                        );
                    }
                    Owner::OutsideTurns | Owner::NoConnection => counts.unlabeled_outside += 1,
                    Owner::Ambiguous(active) => {
                        counts.unlabeled_ambiguous += 1;
                        for (connection, turn) in active {
                            // Its lines are in the log, just not told apart.
                            connections[connection].in_log = true;
                            if let Some(turn) = turn {
                                ambiguous[connection][turn] += 1;
                            }
                        }
                    }
                }
            }
        }
        for &(time, kind) in &data.user_stopped {
            let unix = to_unix(time);
            if let Owner::Turn { connection, turn } = owner_at(&timelines, unix) {
                connections[connection].add_stop(turn, kind, unix);
            }
        }
    }

    let mut joined_turns = Vec::new();
    let mut clients = Vec::new();
    let mut kept_streams = Vec::new();
    for ((timeline, connection), ambiguous) in timelines.iter().zip(connections).zip(ambiguous) {
        if !connection.in_log {
            continue;
        }
        let client = timeline.client;
        counts.connections_in_log += 1;
        let mut client_parts = Vec::new();
        for ((turn, samples), ambiguous) in timeline
            .turns
            .iter()
            .zip(&connection.per_turn)
            .zip(ambiguous)
        {
            let mut joined = joined_turn(client, turn, samples);
            joined.ambiguous_samples = ambiguous;
            if turn.in_window {
                counts.in_window_turns += 1;
                counts.with_server_samples += usize::from(joined.server_samples > 0);
                counts.with_truth_line += usize::from(joined.agent.is_some());
                if joined.breakdown.latency.is_some() {
                    counts.with_latency += 1;
                    let b = &joined.breakdown;
                    let all = b.asr.is_some() && b.llm_ttfb.is_some() && b.tts_ttfb.is_some();
                    counts.with_all_components += usize::from(all);
                    counts.with_vad_wait += usize::from(b.vad_wait.is_some());
                    counts.missing_split_overlap += usize::from(!all && ambiguous > 0);
                    client_parts.push(joined.breakdown.clone());
                }
            }
            joined_turns.push(joined);
        }
        clients.push(ClientBreakdown {
            stream_id: client.stream_id.clone(),
            turns: client_parts.len(),
            mean: Breakdown::from_fn(|part| {
                let values: Vec<f64> = client_parts.iter().filter_map(part).collect();
                stats::mean(&values)
            }),
        });
        kept_streams.push((client.stream_id.clone(), connection.kept));
    }
    collected.streams = kept_streams;

    let measured: Vec<&Breakdown<Option<f64>>> = joined_turns
        .iter()
        .filter(|t| t.in_window && t.breakdown.latency.is_some())
        .map(|t| &t.breakdown)
        .collect();
    let overall = Breakdown::from_fn(|part| {
        let values: Vec<f64> = measured.iter().filter_map(|b| part(b)).collect();
        Summary::from_samples(&values)
    });
    let note = split_note(&counts);
    let report = JoinReport {
        run_dir: run.level.dir.display().to_string(),
        metrics_start_at: run.metrics_start_at,
        metrics_end_at: run.metrics_end_at,
        summary_problem: run.level.summary_problem.clone(),
        clock,
        counts,
        note,
        overall,
        clients,
        turns: joined_turns,
    };
    (collected, report)
}

/// The loguru format that puts the stream id in every line, NVIDIA's layout.
pub const STREAM_ID_LOG_FORMAT: &str = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} | streamId={extra[streamId]} - {message}";

/// What to change so that every turn can be split: stream ids in the log.
pub fn stream_id_fix() -> String {
    format!(
        "put the connection's stream id in every log line: in the bot, \
         `logger.configure(extra={{\"streamId\": \"-\"}})` and \
         `logger.add(sys.stderr, level=\"DEBUG\", format=\"{STREAM_ID_LOG_FORMAT}\")`, and run \
         each connection inside `with logger.contextualize(streamId=stream_id):`, with the id \
         bench puts in the URL (the last path segment of /ws/{{stream_id}}); or run bench with \
         --clients 1, so that turns never overlap"
    )
}

/// Why turns lack their split when lines without a stream id could not be attributed.
fn split_note(c: &JoinCounts) -> Option<String> {
    if c.missing_split_overlap == 0 {
        return None;
    }
    Some(format!(
        "{} of the {} in-window turns have no complete split: the log's timing lines carry no \
         stream id, and {} of its {} such lines were logged while turns of several connections \
         were in flight, so they cannot be given to a turn (they are attributed by time only \
         where one connection is active). To split every turn, {}.",
        c.missing_split_overlap,
        c.with_latency,
        c.unlabeled_ambiguous,
        c.unlabeled_samples,
        stream_id_fix()
    ))
}

/// Server samples of one turn, in log order, each with its time (unix s, log clock aligned).
#[derive(Debug, Clone, Default)]
struct TurnSamples {
    values: [Vec<(f64, f64)>; MetricKind::ALL.len()],
    truth: Option<AgentTurnTruth>,
    /// pipecat's `User stopped speaking` / `User turn inference triggered` lines, in log order.
    stops: Vec<(f64, StopKind)>,
}

/// A service sample logged up to this long after the reply's first audio is still its own
/// (log times are cut to the millisecond; the two clocks may differ by a little).
const REPLY_SLACK_S: f64 = 0.05;
/// A turn's end logged up to this long after the start of the LLM run it started (that start
/// is computed from a TTFB and a log time, both cut to the millisecond).
const RUN_START_SLACK_S: f64 = 0.05;

impl TurnSamples {
    fn push(&mut self, kind: MetricKind, value: f64, unix: f64) {
        self.values[metric_index(kind)].push((value, unix));
    }

    /// The value of the pipeline run that produced the reply: the last sample of `kind`
    /// logged before the reply's first audio left (`reply_at`). Earlier ones belong to runs cut
    /// short when the user went on speaking after a pause the VAD took for the end of the
    /// turn. Without a reply time (or with none logged before it), the first sample.
    fn for_reply(&self, kind: MetricKind, reply_at: Option<f64>) -> Option<f64> {
        self.sample_for_reply(kind, reply_at)
            .map(|(value, _)| value)
    }

    /// [`Self::for_reply`] with the sample's log time.
    fn sample_for_reply(&self, kind: MetricKind, reply_at: Option<f64>) -> Option<(f64, f64)> {
        let samples = &self.values[metric_index(kind)];
        reply_at
            .and_then(|at| {
                samples
                    .iter()
                    .rev()
                    .find(|(_, logged)| *logged <= at + REPLY_SLACK_S)
            })
            .or(samples.first())
            .copied()
    }

    /// The value of `kind` that went into the LLM run starting at `run_start`: the last one
    /// logged by then, else the first one after (an STT that reports its TTFB only after a
    /// timeout logs it late).
    fn for_run(&self, kind: MetricKind, run_start: Option<f64>) -> Option<f64> {
        let samples = &self.values[metric_index(kind)];
        let Some(start) = run_start else {
            return samples.first().map(|(value, _)| *value);
        };
        samples
            .iter()
            .rev()
            .find(|(_, logged)| *logged <= start)
            .or_else(|| samples.iter().find(|(_, logged)| *logged > start))
            .map(|(value, _)| *value)
    }

    /// The last stop line of one of `kinds` logged by `until`.
    fn last_stop(&self, kinds: &[StopKind], until: Option<f64>) -> Option<f64> {
        self.stops
            .iter()
            .rev()
            .find(|(at, kind)| kinds.contains(kind) && until.is_none_or(|u| *at <= u))
            .map(|(at, _)| *at)
    }

    fn count(&self) -> usize {
        self.values.iter().map(Vec::len).sum()
    }
}

fn joined_turn(client: &ClientResults, turn: &TurnRecord, samples: &TurnSamples) -> JoinedTurn {
    // The reply left the agent when its truth line says, else about when bench got it.
    let reply_at = samples
        .truth
        .map(|t| t.first_reply_unix)
        .or(turn.first_audio_at);
    let component = |kind| samples.for_reply(kind, reply_at);
    let llm_sample = samples.sample_for_reply(MetricKind::LlmTtfb, reply_at);
    // The LLM run that produced the reply started at its TTFB line's time less the TTFB; what
    // ended the user's turn, and the transcript it answered, came before that. (An earlier
    // inference may be the one the reply comes from while a later turn end, logged before the
    // reply, started a run that answered after it.)
    let run_start = llm_sample.map(|(value, logged)| logged - value + RUN_START_SLACK_S);
    let stop_cutoff = run_start.or(reply_at);
    let (mut asr, asr_source) = match (
        component(MetricKind::AsrLatency),
        samples.for_run(MetricKind::AsrTtfb, stop_cutoff),
    ) {
        (Some(latency), _) => (Some(latency), Some(AsrSource::ComputeLatency)),
        (None, Some(ttfb)) => (Some(ttfb), Some(AsrSource::SttTtfb)),
        (None, None) => (None, None),
    };
    let llm = llm_sample.map(|(value, _)| value);
    let tts = component(MetricKind::TtsTtfb);
    let latency = turn.latency_s;
    let mut joined = JoinedTurn {
        stream_id: client.stream_id.clone(),
        turn: turn.turn,
        file: turn.file.clone(),
        in_window: turn.in_window,
        speech_end_at: turn.speech_end_at,
        first_audio_at: turn.first_audio_at,
        breakdown: Breakdown {
            latency,
            asr,
            llm_ttfb: llm,
            tts_ttfb: tts,
            ..Breakdown::default()
        },
        vad_source: None,
        asr_source,
        ambiguous_samples: 0,
        agent: samples.truth,
        agent_stop_wait_s: None,
        vad_speech_end_offset_s: None,
        uplink_s: None,
        downlink_s: None,
        llm_first_sentence: component(MetricKind::LlmFirstSentence),
        server_samples: samples.count(),
    };
    let Some(truth) = samples.truth else {
        // A pipecat log: the wait from bench's speech end to the turn's end (or, without a
        // turn-end line, to the VAD's stop), as far as it is not the STT's.
        let turn_end = samples.last_stop(
            &[StopKind::TurnEnd, StopKind::InferenceTriggered],
            stop_cutoff,
        );
        let vad_stop = samples.last_stop(&[StopKind::VadStop], stop_cutoff);
        let stop = match (turn_end, vad_stop) {
            (Some(end), _) => Some((end, VadSource::TurnEnd)),
            (None, Some(stop)) => Some((stop, VadSource::UserStoppedSpeaking)),
            (None, None) => None,
        };
        let mut vad = None;
        if let (Some((at, source)), Some(end)) = (stop, turn.speech_end_at) {
            let waited = at - end;
            let stt_from_speech_end = asr_source == Some(AsrSource::SttTtfb);
            vad = Some(match source {
                // The turn ended once the final transcript was in: the STT's part of the wait
                // is its TTFB, the rest is the turn detection's.
                VadSource::TurnEnd if stt_from_speech_end => waited - asr.unwrap_or(0.0),
                // The VAD stopped; the transcript came later, after the STT's TTFB.
                VadSource::UserStoppedSpeaking if stt_from_speech_end => {
                    asr = asr.map(|a| a - waited);
                    waited
                }
                _ => waited,
            });
            joined.vad_source = Some(source);
        }
        joined.breakdown.asr = asr;
        let known = asr.unwrap_or(0.0) + llm.unwrap_or(0.0) + tts.unwrap_or(0.0);
        joined.breakdown.vad_wait = vad;
        joined.breakdown.transport_other = latency.map(|l| l - known - vad.unwrap_or(0.0));
        return joined;
    };
    let components = match (asr, llm, tts) {
        (Some(a), Some(l), Some(t)) => Some(a + l + t),
        _ => None,
    };
    // The agent's interval: last speech frame arrived → first reply sent.
    let stop_wait = components.map(|c| truth.latency_s - c);
    joined.agent_stop_wait_s = stop_wait;
    joined.downlink_s = turn.first_audio_at.map(|c| c - truth.first_reply_unix);
    // When that frame was captured on bench's clock: chunk `id` is scheduled to leave at
    // `audio_origin_at + id·chunk`, the moment its last sample was captured.
    let captured = client.audio_origin_at.map(|origin| {
        origin + truth.last_speech_frame_id as f64 * f64::from(client.chunk_ms) / 1000.0
    });
    match (captured, turn.speech_end_at) {
        (Some(captured), Some(end)) => {
            let offset = captured - end;
            let uplink = truth.speech_arrived_unix - captured;
            joined.vad_speech_end_offset_s = Some(offset);
            joined.uplink_s = Some(uplink);
            joined.breakdown.vad_wait = stop_wait.map(|w| w + offset);
            joined.breakdown.transport_other = joined.downlink_s.map(|d| uplink + d);
        }
        _ => {
            joined.breakdown.vad_wait = stop_wait;
            joined.breakdown.transport_other = latency.map(|l| l - truth.latency_s);
        }
    }
    joined.vad_source = joined.breakdown.vad_wait.map(|_| VadSource::TruthLine);
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+01:00").unwrap(), 3600);
        assert_eq!(parse_utc_offset("-05:30").unwrap(), -19_800);
        assert_eq!(parse_utc_offset("+0545").unwrap(), 20_700);
        assert_eq!(parse_utc_offset("+2").unwrap(), 7200);
        assert_eq!(parse_utc_offset("Z").unwrap(), 0);
        assert!(parse_utc_offset("01:00").is_err());
        assert!(parse_utc_offset("+25:00").is_err());
        assert!(parse_utc_offset("+1:xx").is_err());
    }

    #[test]
    fn offsets_round_to_the_quarter_hour_unless_skewed() {
        let a = from_measurements(&[3600.004, 3600.002, 3600.003], "truth_lines").unwrap();
        assert_eq!(a.offset_s, 3600.0);
        assert!((a.residual_ms.unwrap() - 3.0).abs() < 1e-6);
        let skewed = from_measurements(&[7.5, 7.6, 7.4], "client_start_lines").unwrap();
        assert!((skewed.offset_s - 7.5).abs() < 1e-9);
        assert!(from_measurements(&[], "x").is_none());
    }
}
