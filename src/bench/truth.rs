//! Proving the measurement: `voiceperf agent` logs its own view of every turn (the arrival of
//! the last chunk its VAD counted as speech → the sending of its first reply frame). Bench
//! knows when it sent that chunk (by id) and when the first reply audio arrived, so it can
//! measure the same interval from its side and report how far apart the two views are.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;

use crate::bench::results::{AgentAgreement, AgentTurnView};
use crate::bench::writer::Store;
use crate::stats::{self, Summary};

/// The truth line's message prefix (see the brief's contract).
const MARKER: &str = "VoiceperfAgent turn ";

/// Longest distance (s) between bench's first reply audio and the agent's first reply frame
/// for them to be the same reply.
const SAME_REPLY_S: f64 = 0.5;

/// One parsed truth line.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthLine {
    /// Stream id (`streamId=` field).
    pub stream_id: String,
    /// The agent's turn number.
    pub turn: u64,
    /// Id of the last chunk the agent's VAD counted as speech.
    pub last_speech_frame_id: u64,
    /// When that chunk arrived (unix s).
    pub arrived_at: f64,
    /// When the first reply frame was sent (unix s).
    pub sent_at: f64,
    /// `sent_at − arrived_at` as logged (s).
    pub latency_s: f64,
}

/// Parses `… | streamId=S - VoiceperfAgent turn N: last speech frame id I arrived at A,
/// first reply frame sent at B, latency: L`; `None` for any other line.
pub fn parse_truth_line(line: &str) -> Option<TruthLine> {
    let marker = line.find(MARKER)?;
    let head = &line[..marker];
    let stream_start = head.rfind("streamId=")? + "streamId=".len();
    let stream_id = head[stream_start..].split(" - ").next()?.trim().to_string();
    let rest = &line[marker + MARKER.len()..];
    let (turn, rest) = rest.split_once(": last speech frame id ")?;
    let (id, rest) = rest.split_once(" arrived at ")?;
    let (arrived, rest) = rest.split_once(", first reply frame sent at ")?;
    let (sent, rest) = rest.split_once(", latency: ")?;
    let latency = rest.trim().trim_end_matches('s');
    Some(TruthLine {
        stream_id,
        turn: turn.trim().parse().ok()?,
        last_speech_frame_id: id.trim().parse().ok()?,
        arrived_at: arrived.trim().parse().ok()?,
        sent_at: sent.trim().parse().ok()?,
        latency_s: latency.parse().ok()?,
    })
}

/// Reads the truth lines of `log`.
pub fn read_truth_lines(log: &Path) -> anyhow::Result<Vec<TruthLine>> {
    let file = std::fs::File::open(log).with_context(|| format!("opening {}", log.display()))?;
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.with_context(|| format!("reading {}", log.display()))?;
        if let Some(truth) = parse_truth_line(&String::from_utf8_lossy(&line)) {
            lines.push(truth);
        }
    }
    Ok(lines)
}

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
                .get((line.last_speech_frame_id as usize).wrapping_sub(1)),
        ) else {
            continue;
        };
        let id = line.last_speech_frame_id;
        let Some(turn) = client
            .results
            .turns
            .iter_mut()
            .rev()
            .find(|t| t.first_chunk_id <= id)
        else {
            continue;
        };
        let Some(first_audio) = turn.first_audio_at else {
            continue;
        };
        if turn.agent.is_some() || (first_audio - line.sent_at).abs() > SAME_REPLY_S {
            continue;
        }
        let sent = origin + id as f64 * chunk_s + f64::from(lateness);
        let bench_interval = first_audio - sent;
        let difference_ms = (bench_interval - line.latency_s) * 1000.0;
        differences.push(difference_ms);
        turn.agent = Some(AgentTurnView {
            agent_turn: line.turn,
            last_speech_frame_id: id,
            agent_latency_s: line.latency_s,
            bench_interval_s: round6(bench_interval),
            difference_ms: round6(difference_ms),
        });
    }
    let absolute: Vec<f64> = differences.iter().map(|d| d.abs()).collect();
    AgentAgreement {
        log: log.display().to_string(),
        truth_lines,
        matched_turns: differences.len(),
        difference_ms: Summary::from_samples(&differences),
        abs_difference_p99_ms: stats::percentile(&absolute, 99.0),
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_line() {
        let line = "2026-11-27 10:04:52.167 | INFO     | voiceperf::agent:turn:88 | streamId=client_3_1732700000000 - VoiceperfAgent turn 4: last speech frame id 123 arrived at 1732700001.250000, first reply frame sent at 1732700002.050125, latency: 0.800125";
        let t = parse_truth_line(line).unwrap();
        assert_eq!(t.stream_id, "client_3_1732700000000");
        assert_eq!(t.turn, 4);
        assert_eq!(t.last_speech_frame_id, 123);
        assert!((t.arrived_at - 1732700001.25).abs() < 1e-6);
        assert!((t.latency_s - 0.800125).abs() < 1e-9);
        assert!(parse_truth_line("… | streamId=x - RivaTTSService#0 TTFB: 0.151").is_none());
        assert!(parse_truth_line("VoiceperfAgent turn x: garbage").is_none());
    }
}
