//! Accumulating parsed events per stream, applying the window as lines stream by.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::window::{ClientStartLine, WindowSpec};
use crate::dataset::natural_cmp;
use crate::serverlog::parse::{
    Event, LogTime, MAX_TOKENS_PER_SEC, MetricKind, Rejection, StopKind, find_log_time,
};
use crate::serverlog::truth::AgentTurnTruth;

/// One metric value with the time of its log line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The value (seconds, or tokens per second).
    pub value: f64,
    /// The log line's own timestamp.
    pub time: Option<LogTime>,
}

/// A `voiceperf agent` truth line and when it was logged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnLine {
    /// What the agent said about the turn.
    pub truth: AgentTurnTruth,
    /// The log line's own timestamp.
    pub time: Option<LogTime>,
}

/// Everything kept for one stream.
#[derive(Debug, Clone, Default)]
pub struct StreamData {
    /// Samples per metric, indexed like [`MetricKind::ALL`].
    pub samples: [Vec<Sample>; MetricKind::ALL.len()],
    /// Agent truth lines, in log order.
    pub turns: Vec<TurnLine>,
    /// Times of pipecat's `User stopped speaking` lines and which kind each is, in log order.
    pub user_stopped: Vec<(LogTime, StopKind)>,
    /// Completion tokens waiting for the LLM's next processing time, and their line number.
    pending_tokens: Option<(u64, u64)>,
}

impl StreamData {
    /// Samples of one metric.
    pub fn metric(&self, kind: MetricKind) -> &[Sample] {
        &self.samples[metric_index(kind)]
    }

    fn push(&mut self, kind: MetricKind, sample: Sample) {
        self.samples[metric_index(kind)].push(sample);
    }
}

/// The stream id under which lines without one are collected (a real id never contains a
/// space: the parser reads ids up to the first one).
pub const NO_STREAM_ID: &str = "(no stream id)";

/// The key a stream's data is kept under: its id, or [`NO_STREAM_ID`].
fn stream_key(stream: &[u8]) -> &[u8] {
    if stream.is_empty() {
        NO_STREAM_ID.as_bytes()
    } else {
        stream
    }
}

/// Position of `kind` in [`MetricKind::ALL`].
pub fn metric_index(kind: MetricKind) -> usize {
    MetricKind::ALL
        .iter()
        .position(|&k| k == kind)
        .unwrap_or_default()
}

/// A rejected line (a value not used): where, why and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Input name.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Why its value was not used.
    #[serde(default)]
    pub reason: Rejection,
    /// What was wrong, in words, with the line's text.
    pub message: String,
}

/// Warnings kept in full (the rest are only counted), so a log full of junk cannot grow memory.
pub const MAX_KEPT_WARNINGS: usize = 1000;

/// Counts of what was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCounts {
    /// Lines read (all inputs).
    pub lines: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Metric, token and truth lines anywhere in the inputs.
    pub metric_lines: u64,
    /// Of those, lines inside the window.
    pub metric_lines_in_window: u64,
    /// Client-start lines.
    pub client_starts: u64,
    /// Metric lines skipped for lack of a timestamp when the window needs one.
    pub untimed_metric_lines: u64,
    /// Lines longer than the line limit (their tail was skipped).
    pub truncated_lines: u64,
    /// Lines inside the window whose value was not used: malformed, or a number no
    /// measurement can be (NaN, infinite, negative, above its ceiling), or a token count over a
    /// zero processing time. Each is a warning.
    #[serde(default)]
    pub rejected_lines: u64,
    /// `rejected_lines` by reason.
    #[serde(default)]
    pub rejected_by_reason: BTreeMap<Rejection, u64>,
}

/// Folds events into per-stream data.
pub struct Collector {
    window: WindowSpec,
    /// Data of the streams seen in the window, by stream id.
    streams: HashMap<Box<[u8]>, StreamData>,
    last_client_start: Option<ClientStartLine>,
    /// Log times of the client-start lines of the window's streams (`Streams` window only).
    client_start_times: HashMap<String, LogTime>,
    /// What was seen.
    pub counts: LineCounts,
    warnings: Vec<Warning>,
    warnings_total: u64,
}

impl Collector {
    /// A collector applying `window`.
    pub fn new(window: WindowSpec) -> Self {
        Collector {
            window,
            streams: HashMap::new(),
            last_client_start: None,
            client_start_times: HashMap::new(),
            counts: LineCounts::default(),
            warnings: Vec::new(),
            warnings_total: 0,
        }
    }

    /// Takes one parsed line. `text` is the line (for its timestamp), `file` and `line` locate
    /// it for warnings.
    pub fn observe(&mut self, event: Event<'_>, text: &[u8], file: &str, line: u64) {
        if let Event::ClientStart { stream, uvicorn } = event {
            // uvicorn logs its `[accepted]` right after the application's own `Accepting …`
            // line of the same connection: that is the same start, not a later one (the seed
            // only knew the application's line).
            let same_connection = self
                .last_client_start
                .as_ref()
                .is_some_and(|last| last.stream_id.as_bytes() == stream);
            if uvicorn && same_connection {
                return;
            }
            self.counts.client_starts += 1;
            if let WindowSpec::Streams { stream_ids, .. } = &self.window {
                let id = String::from_utf8_lossy(stream);
                if let (true, Some(time)) = (stream_ids.contains(id.as_ref()), find_log_time(text))
                {
                    self.client_start_times
                        .entry(id.into_owned())
                        .or_insert(time);
                }
            }
            self.last_client_start = Some(ClientStartLine {
                file: file.to_string(),
                line,
                stream_id: String::from_utf8_lossy(stream).into_owned(),
                log_time: find_log_time(text).map(|t| t.to_string()),
            });
            if matches!(self.window, WindowSpec::LastClientStart) {
                // A later run (or a later client of this run) starts: what came before is not
                // in the window, its malformed values included. See the module documentation
                // of `window`.
                self.streams.clear();
                self.counts.metric_lines_in_window = 0;
                self.counts.rejected_lines = 0;
                self.counts.rejected_by_reason.clear();
                self.warnings.clear();
                self.warnings_total = 0;
            }
            return;
        }
        if let Event::UserStoppedSpeaking { stream, kind } = event {
            let time = find_log_time(text);
            if let Some(time) = time {
                if self.inside(stream, Some(time)) {
                    self.stream_mut(stream).user_stopped.push((time, kind));
                }
            }
            return;
        }
        self.counts.metric_lines += 1;
        let time = find_log_time(text);
        if time.is_none() && self.window.needs_time() {
            self.counts.untimed_metric_lines += 1;
        }
        // Outside the window (another run, another stream) a value is not read, so a bad one
        // is no problem of this analysis.
        if !self.inside(event.stream(), time) {
            return;
        }
        if let Event::Rejected {
            stream,
            what,
            metric,
            reason,
            text,
        } = event
        {
            let text = String::from_utf8_lossy(text);
            let mut message = match reason {
                Rejection::Malformed => format!("malformed {what}: `{}`", text.trim()),
                _ => format!(
                    "rejected {what}: {}: `{}`",
                    why(reason, what, metric),
                    text.trim()
                ),
            };
            // The tokens pair with the LLM's next processing time: this one, unusable.
            if metric == Some(MetricKind::LlmProcessingTime) {
                let pending = self
                    .streams
                    .get_mut(stream_key(stream))
                    .and_then(|data| data.pending_tokens.take());
                if let Some((tokens, at)) = pending {
                    message.push_str(&format!(
                        " (the {tokens} completion tokens of line {at} are dropped with it)"
                    ));
                }
            }
            self.reject(file, line, reason, message);
            return;
        }
        self.counts.metric_lines_in_window += 1;
        let data = self.stream_mut(event.stream());
        let mut rejected_pair = None;
        match event {
            Event::Metric { kind, value, .. } => {
                data.push(kind, Sample { value, time });
                if kind == MetricKind::LlmProcessingTime {
                    // The seed's pairing: the most recent completion tokens of this stream
                    // over the LLM's next processing time; the tokens are used once.
                    if let Some((tokens, at)) = data.pending_tokens.take() {
                        let rate = tokens as f64 / value;
                        if value == 0.0 {
                            rejected_pair = Some((
                                Rejection::ZeroProcessingTime,
                                format!(
                                    "rejected LLM Tokens/sec: {tokens} completion tokens (line \
                                     {at}) over a processing time of 0 s: no rate"
                                ),
                            ));
                        } else if rate > MAX_TOKENS_PER_SEC {
                            rejected_pair = Some((
                                Rejection::AboveCeiling,
                                format!(
                                    "rejected LLM Tokens/sec: {tokens} completion tokens (line \
                                     {at}) over {value} s is {rate:.3e} tokens/s, above the \
                                     ceiling of {MAX_TOKENS_PER_SEC:.0}"
                                ),
                            ));
                        } else {
                            data.push(MetricKind::LlmTokensPerSec, Sample { value: rate, time });
                        }
                    }
                }
            }
            Event::CompletionTokens { tokens, .. } => data.pending_tokens = Some((tokens, line)),
            Event::AgentTurn { truth, .. } => data.turns.push(TurnLine { truth, time }),
            Event::ClientStart { .. }
            | Event::Rejected { .. }
            | Event::AgentInterruption { .. }
            | Event::UserStoppedSpeaking { .. } => {}
        }
        if let Some((reason, message)) = rejected_pair {
            self.reject(file, line, reason, message);
        }
    }

    /// Counts a rejected line and records its warning.
    fn reject(&mut self, file: &str, line: u64, reason: Rejection, message: String) {
        self.counts.rejected_lines += 1;
        *self.counts.rejected_by_reason.entry(reason).or_default() += 1;
        self.warnings_total += 1;
        if self.warnings.len() < MAX_KEPT_WARNINGS {
            self.warnings.push(Warning {
                file: file.to_string(),
                line,
                reason,
                message,
            });
        }
    }

    fn inside(&self, stream: &[u8], time: Option<LogTime>) -> bool {
        match self.window {
            WindowSpec::LastClientStart => self.last_client_start.is_some(),
            _ => self.window.admits(stream, time),
        }
    }

    fn stream_mut(&mut self, stream: &[u8]) -> &mut StreamData {
        let stream = stream_key(stream);
        if !self.streams.contains_key(stream) {
            self.streams.insert(stream.into(), StreamData::default());
        }
        self.streams.get_mut(stream).expect("inserted above")
    }

    /// The window applied.
    pub fn window(&self) -> &WindowSpec {
        &self.window
    }

    /// Ends collection: per-stream data (ids sorted naturally, `client_2` before `client_10`),
    /// the last client start, warnings kept and the total number of warnings.
    pub fn finish(self) -> Collected {
        let mut streams: Vec<(String, StreamData)> = self
            .streams
            .into_iter()
            .map(|(id, data)| (String::from_utf8_lossy(&id).into_owned(), data))
            .collect();
        streams.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        Collected {
            window: self.window,
            streams,
            last_client_start: self.last_client_start,
            client_start_times: self.client_start_times,
            counts: self.counts,
            warnings: self.warnings,
            warnings_total: self.warnings_total,
        }
    }
}

/// Why a value is not used, in words, with the ceiling that applies to it.
fn why(reason: Rejection, what: &str, metric: Option<MetricKind>) -> String {
    use crate::serverlog::parse::{MAX_DURATION_S, MAX_UNIX_S};
    match reason {
        Rejection::AboveCeiling => match metric {
            Some(MetricKind::LlmTokensPerSec) => {
                format!("above the ceiling of {MAX_TOKENS_PER_SEC:.0} tokens/s")
            }
            Some(_) => format!("above the ceiling of {MAX_DURATION_S:.0} s (1 h)"),
            None if what.ends_with("time") => {
                format!("above the ceiling of unix {MAX_UNIX_S:.0} s (2100-01-01)")
            }
            None => format!("above the ceiling of {MAX_DURATION_S:.0} s (1 h)"),
        },
        Rejection::Infinite => "infinite (or beyond the range of a 64-bit float)".to_string(),
        Rejection::NotANumber => "not a number (NaN)".to_string(),
        Rejection::Negative => "negative".to_string(),
        other => other.label().to_string(),
    }
}

/// What a pass over the inputs produced.
#[derive(Debug)]
pub struct Collected {
    /// The window applied.
    pub window: WindowSpec,
    /// Per-stream data, sorted by stream id.
    pub streams: Vec<(String, StreamData)>,
    /// The last client-start line seen.
    pub last_client_start: Option<ClientStartLine>,
    /// Log times of the client-start lines of the window's streams (`Streams` window only).
    pub client_start_times: HashMap<String, LogTime>,
    /// What was seen.
    pub counts: LineCounts,
    /// The first warnings.
    pub warnings: Vec<Warning>,
    /// All warnings, including those not kept.
    pub warnings_total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_of_stream_ids() {
        let mut ids = vec![
            "client_10_1",
            "client_2_1",
            "client_1_9",
            "abc",
            "client_1_10",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            vec![
                "abc",
                "client_1_9",
                "client_1_10",
                "client_2_1",
                "client_10_1"
            ]
        );
    }
}
