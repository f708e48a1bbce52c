//! Proving the measurement: `voiceperf agent` logs its own view of every turn (the arrival of
//! the last chunk its VAD counted as speech → the sending of its first reply frame). Bench
//! knows when it sent that chunk (by id) and when the first reply audio arrived, so it can
//! measure the same interval from its side and report how far apart the two views are.

use std::collections::HashMap;
use std::path::Path;

use crate::runfolder::results::{AgentAgreement, AgentTurnView};
use crate::serverlog::TruthLine;
use crate::serverlog::truth::turn_for_truth;
use crate::stats::round6;
use crate::summary::store::Store;

/// Longest distance (s) between bench's first reply audio and the agent's first reply frame
/// for them to be the same reply.
const SAME_REPLY_S: f64 = 0.5;

/// Matches truth lines to this run's turns (by stream id and the chunk id, which falls in
/// exactly one turn), annotates each matched turn with [`AgentTurnView`] and summarises the
/// differences. `chunk_s` is the chunk duration.
pub fn check_agreement(
    log: &Path,
    truth: &[TruthLine],
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
    for line in truth {
        let Some(key) = by_stream.get(&line.stream_id) else {
            continue;
        };
        truth_lines += 1;
        let Some(client) = store.clients.get_mut(key) else {
            continue;
        };
        let (Some(origin), Some(&lateness)) = (
            client.results.audio_origin_at,
            client
                .lateness_s
                .get((line.truth.last_speech_frame_id as usize).wrapping_sub(1)),
        ) else {
            continue;
        };
        let id = line.truth.last_speech_frame_id;
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
        let sent = origin + id as f64 * chunk_s + f64::from(lateness);
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
    crate::summary::agent_agreement(log.display().to_string(), truth_lines, &differences)
}
