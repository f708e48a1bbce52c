//! Proving the measurement: `voiceperf agent` logs its own view of every turn (the arrival of
//! the last chunk its VAD counted as speech → the sending of its first reply frame). Bench
//! knows when it sent that chunk (by id) and when the first reply audio arrived, so it can
//! measure the same interval from its side and report how far apart the two views are.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

use crate::analyze::input::{self, Input, LineReader};
use crate::analyze::parse::{AgentTurnTruth, Event, LineParser, ServiceNames};
use crate::bench::results::{AgentAgreement, AgentTurnView};
use crate::bench::writer::Store;
use crate::stats::{self, Summary};

/// Longest distance (s) between bench's first reply audio and the agent's first reply frame
/// for them to be the same reply.
const SAME_REPLY_S: f64 = 0.5;

/// One truth line of the agent's log and the stream it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthLine {
    /// Stream id (`streamId=` field).
    pub stream_id: String,
    /// The agent's view of the turn.
    pub truth: AgentTurnTruth,
}

/// Reads the truth lines of `log` with analyze's log reader and line parser (plain or gzip,
/// colour codes and `docker compose` prefixes removed).
pub fn read_truth_lines(log: &Path) -> anyhow::Result<Vec<TruthLine>> {
    let opened = input::open(&Input::File(log.to_path_buf()))?;
    let mut reader = LineReader::new(opened.reader);
    let parser = LineParser::new(ServiceNames::default());
    let mut scratch = Vec::new();
    let mut lines = Vec::new();
    while let Some(line) = reader
        .next_line()
        .with_context(|| format!("reading {}", log.display()))?
    {
        let text = if input::has_escape(line) {
            input::strip_ansi(line, &mut scratch);
            &scratch[..]
        } else {
            line
        };
        if let Some(Event::AgentTurn { stream, truth }) = parser.parse(text) {
            lines.push(TruthLine {
                stream_id: String::from_utf8_lossy(stream).into_owned(),
                truth,
            });
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
                .get((line.truth.last_speech_frame_id as usize).wrapping_sub(1)),
        ) else {
            continue;
        };
        let id = line.truth.last_speech_frame_id;
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
    fn reads_truth_lines_from_a_log_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        let lines = [
            "2026-11-27 10:04:52.167 | INFO     | voiceperf.agent:reply:1 | streamId=client_3_1732700000000 - VoiceperfAgent turn 4: last speech frame id 123 arrived at 1732700001.250000, first reply frame sent at 1732700002.050125, latency: 0.800125",
            "python-app-1  | 2026-11-27 10:04:52.168 | DEBUG    | voiceperf.agent:ttfb:1 | streamId=client_3_1732700000000 - RivaTTSService#0 TTFB: 0.151",
            "2026-11-27 10:04:52.169 | INFO     | voiceperf.agent:reply:1 | streamId=client_3_1732700000000 - VoiceperfAgent turn x: garbage",
        ];
        std::fs::write(&log, lines.join("\r\n")).unwrap();
        let got = read_truth_lines(&log).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].stream_id, "client_3_1732700000000");
        assert_eq!(got[0].truth.turn, 4);
        assert_eq!(got[0].truth.last_speech_frame_id, 123);
        assert!((got[0].truth.speech_arrived_unix - 1732700001.25).abs() < 1e-6);
        assert!((got[0].truth.latency_s - 0.800125).abs() < 1e-9);
    }
}
