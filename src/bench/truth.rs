//! Proving the measurement: `voiceperf agent` logs its own view of every turn (the arrival of
//! the last chunk its VAD counted as speech → the sending of its first reply frame) and of
//! every interruption (the arrival of the chunk where its VAD heard speech start → the sending
//! of its interruption and of the stopped reply's last frame). Bench knows when it sent each
//! chunk (by id) and when the agent's messages arrived, so it can measure the same intervals
//! from its side and report how far apart the two views are.

use std::collections::HashMap;
use std::path::Path;

use crate::runfolder::results::{AgentAgreement, AgentStopView, AgentTurnView, ReplyStop};
use crate::serverlog::truth::turn_for_truth;
use crate::serverlog::{InterruptionLine, TruthLog};
use crate::stats::{Summary, round6};
use crate::summary::store::{Store, StoredClient};

/// Longest distance (s) between bench's first reply audio and the agent's first reply frame
/// for them to be the same reply.
const SAME_REPLY_S: f64 = 0.5;

/// Matches truth lines to this run's turns (by stream id and the chunk id, which falls in
/// exactly one turn), annotates each matched turn with [`AgentTurnView`] and each matched
/// barge-in or distractor with [`AgentStopView`], and summarises the differences. `chunk_s` is
/// the chunk duration.
pub fn check_agreement(
    log: &Path,
    truth: &TruthLog,
    store: &mut Store,
    chunk_s: f64,
) -> AgentAgreement {
    let by_stream: HashMap<String, (usize, usize)> = store
        .clients
        .iter()
        .map(|(key, c)| (c.results.stream_id.clone(), *key))
        .collect();
    let mut truth_lines = 0;
    let mut differences = Vec::new();
    for line in &truth.turns {
        let Some(key) = by_stream.get(&line.stream_id) else {
            continue;
        };
        truth_lines += 1;
        let Some(client) = store.clients.get_mut(key) else {
            continue;
        };
        let id = line.truth.last_speech_frame_id;
        let Some(sent) = chunk_sent_at(client, id, chunk_s) else {
            continue;
        };
        let Some(turn) = turn_for_truth(&client.results.turns, &line.truth)
            .and_then(|k| client.results.turns.get_mut(k))
        else {
            continue;
        };
        let Some(first_audio) = turn.first_audio_at else {
            continue;
        };
        if turn.agent.is_some() || (first_audio - line.truth.first_reply_unix).abs() > SAME_REPLY_S
        {
            continue;
        }
        let bench_interval = first_audio - sent;
        let difference_ms = (bench_interval - line.truth.latency_s) * 1000.0;
        differences.push(difference_ms);
        turn.agent = Some(AgentTurnView {
            agent_turn: line.truth.turn,
            last_speech_frame_id: id,
            agent_latency_s: line.truth.latency_s,
            bench_interval_s: round6(bench_interval),
            difference_ms: round6(difference_ms),
        });
    }
    let mut interruption_lines = 0;
    let mut signal_differences = Vec::new();
    for line in &truth.interruptions {
        let Some(client) = by_stream
            .get(&line.stream_id)
            .and_then(|key| store.clients.get_mut(key))
        else {
            continue;
        };
        interruption_lines += 1;
        if let Some(view) = match_stop(client, line, chunk_s)
            && let Some(difference) = view.signal_difference_ms
        {
            signal_differences.push(difference);
        }
    }
    let mut agreement =
        crate::summary::agent_agreement(log.display().to_string(), truth_lines, &differences);
    agreement.interruption_lines = interruption_lines;
    agreement.matched_stops = signal_differences.len();
    agreement.stop_signal_difference_ms = Summary::from_samples(&signal_differences);
    agreement
}

/// When bench sent chunk `id` of this connection (unix s): its schedule plus its lateness.
fn chunk_sent_at(client: &StoredClient, id: u64, chunk_s: f64) -> Option<f64> {
    let origin = client.results.audio_origin_at?;
    let lateness = client.lateness_s.get((id as usize).checked_sub(1)?)?;
    Some(origin + id as f64 * chunk_s + f64::from(*lateness))
}

/// Annotates the barge-in or distractor whose sound holds the line's speech start frame (its
/// chunks up to the next turn's first) with the agent's view; returns it.
fn match_stop(
    client: &mut StoredClient,
    line: &InterruptionLine,
    chunk_s: f64,
) -> Option<AgentStopView> {
    let id = line.truth.speech_start_frame_id;
    let sent = chunk_sent_at(client, id, chunk_s)?;
    let turns = &mut client.results.turns;
    let next_starts: Vec<u64> = turns
        .iter()
        .skip(1)
        .map(|t| t.first_chunk_id)
        .chain([u64::MAX])
        .collect();
    let stop: &mut ReplyStop = turns.iter_mut().zip(next_starts).find_map(|(turn, next)| {
        let stop = match (&mut turn.interruption, &mut turn.distractor) {
            (Some(i), _) => &mut i.stop,
            (None, Some(d)) => &mut d.stop,
            (None, None) => return None,
        };
        (id >= stop.first_chunk_id && id < next && stop.agent.is_none()).then_some(stop)
    })?;
    let t = &line.truth;
    let agent_signal_s = t.interruption_unix - t.speech_arrived_unix;
    let agent_last_frame_s = t.last_reply_frame_unix.map(|l| l - t.speech_arrived_unix);
    let bench_signal_s = stop.signal_at.map(|s| s - sent);
    let bench_last_frame_s = stop.last_reply_frame_at.map(|l| l - sent);
    let ms = |bench: Option<f64>, agent: Option<f64>| match (bench, agent) {
        (Some(b), Some(a)) => Some(round6((b - a) * 1000.0)),
        _ => None,
    };
    let view = AgentStopView {
        agent_interruption: t.interruption,
        speech_start_frame_id: id,
        agent_signal_s: round6(agent_signal_s),
        bench_signal_s: bench_signal_s.map(round6),
        agent_last_frame_s: agent_last_frame_s.map(round6),
        bench_last_frame_s: bench_last_frame_s.map(round6),
        signal_difference_ms: ms(bench_signal_s, Some(agent_signal_s)),
        last_frame_difference_ms: ms(bench_last_frame_s, agent_last_frame_s),
    };
    stop.agent = Some(view.clone());
    Some(view)
}
