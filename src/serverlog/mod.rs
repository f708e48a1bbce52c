//! The agent's server log: reading it ([`input`]: files or stdin, plain or gzip, line by line
//! in constant memory), what its lines say ([`parse`]: pipecat's metric and turn lines, client
//! starts), and `voiceperf agent`'s own per-turn truth line ([`truth`]: its format, and
//! matching it to the bench turn it belongs to).

pub mod input;
pub mod parse;
pub mod truth;

use std::path::Path;

use anyhow::Context;

use input::{Input, LineReader};
use parse::{Event, LineParser, ServiceNames};
use truth::{AgentInterruptionTruth, AgentTurnTruth};

/// One truth line of the agent's log and the stream it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthLine {
    /// Stream id (`streamId=` field).
    pub stream_id: String,
    /// The agent's view of the turn.
    pub truth: AgentTurnTruth,
}

/// One interruption truth line of the agent's log and the stream it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct InterruptionLine {
    /// Stream id (`streamId=` field).
    pub stream_id: String,
    /// The agent's view of the interruption.
    pub truth: AgentInterruptionTruth,
}

/// Every truth line of an agent log, by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TruthLog {
    /// One per reply.
    pub turns: Vec<TruthLine>,
    /// One per interruption.
    pub interruptions: Vec<InterruptionLine>,
}

/// Reads the turn truth lines of `log` (plain or gzip, colour codes and `docker compose`
/// prefixes removed).
pub fn read_truth_lines(log: &Path) -> anyhow::Result<Vec<TruthLine>> {
    Ok(read_truth_log(log)?.turns)
}

/// Reads every truth line of `log`, turns and interruptions.
pub fn read_truth_log(log: &Path) -> anyhow::Result<TruthLog> {
    let opened = input::open(&Input::File(log.to_path_buf()))?;
    let mut reader = LineReader::new(opened.reader);
    let parser = LineParser::new(ServiceNames::default());
    let mut scratch = Vec::new();
    let mut lines = TruthLog::default();
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
        match parser.parse(text) {
            Some(Event::AgentTurn { stream, truth }) => lines.turns.push(TruthLine {
                stream_id: String::from_utf8_lossy(stream).into_owned(),
                truth,
            }),
            Some(Event::AgentInterruption { stream, truth }) => {
                lines.interruptions.push(InterruptionLine {
                    stream_id: String::from_utf8_lossy(stream).into_owned(),
                    truth,
                })
            }
            _ => {}
        }
    }
    Ok(lines)
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
