//! The result of an analysis — this struct is the JSON schema — and the statistics that fill
//! it: per-client arrays and means, the seed's overall numbers, percentiles over all samples.

use serde::{Deserialize, Serialize};

use super::collect::{LineCounts, StreamData, Warning};
use super::join::JoinReport;
use super::window::WindowReport;
use crate::serverlog::parse::{MetricKind, ServiceNames};
use crate::serverlog::truth::AgentTurnTruth;
use crate::stats::{self, Summary};

/// One value per metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSet<T> {
    /// LLM time to first byte (s).
    pub llm_ttfb: T,
    /// TTS time to first byte (s).
    pub tts_ttfb: T,
    /// ASR compute latency (s).
    pub asr_latency: T,
    /// LLM first sentence generation time (s).
    pub llm_first_sentence: T,
    /// LLM completion tokens per second of processing time.
    pub llm_tokens_per_sec: T,
    /// The ASR service's own TTFB (s), kept apart from LLM/TTS.
    pub asr_ttfb: T,
    /// LLM time to first answer token (s).
    pub llm_ttfat: T,
    /// LLM processing time (s).
    pub llm_processing_time: T,
    /// TTS processing time (s).
    pub tts_processing_time: T,
}

impl<T> MetricSet<T> {
    /// Builds a set by computing each metric's value.
    pub fn from_fn(mut value: impl FnMut(MetricKind) -> T) -> Self {
        MetricSet {
            llm_ttfb: value(MetricKind::LlmTtfb),
            tts_ttfb: value(MetricKind::TtsTtfb),
            asr_latency: value(MetricKind::AsrLatency),
            llm_first_sentence: value(MetricKind::LlmFirstSentence),
            llm_tokens_per_sec: value(MetricKind::LlmTokensPerSec),
            asr_ttfb: value(MetricKind::AsrTtfb),
            llm_ttfat: value(MetricKind::LlmTtfat),
            llm_processing_time: value(MetricKind::LlmProcessingTime),
            tts_processing_time: value(MetricKind::TtsProcessingTime),
        }
    }

    /// The value of one metric.
    pub fn get(&self, kind: MetricKind) -> &T {
        match kind {
            MetricKind::LlmTtfb => &self.llm_ttfb,
            MetricKind::TtsTtfb => &self.tts_ttfb,
            MetricKind::AsrLatency => &self.asr_latency,
            MetricKind::LlmFirstSentence => &self.llm_first_sentence,
            MetricKind::LlmTokensPerSec => &self.llm_tokens_per_sec,
            MetricKind::AsrTtfb => &self.asr_ttfb,
            MetricKind::LlmTtfat => &self.llm_ttfat,
            MetricKind::LlmProcessingTime => &self.llm_processing_time,
            MetricKind::TtsProcessingTime => &self.tts_processing_time,
        }
    }
}

/// Service calls per client, counted like the seed (LLM and TTS TTFB lines, ASR compute
/// latency lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    /// LLM calls.
    pub llm: usize,
    /// TTS calls.
    pub tts: usize,
    /// ASR calls.
    pub asr: usize,
}

/// One agent truth line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentTurn {
    /// The agent's view of the turn.
    #[serde(flatten)]
    pub truth: AgentTurnTruth,
    /// The log line's own timestamp.
    pub log_time: Option<String>,
}

/// One client (stream id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientReport {
    /// The stream id.
    pub stream_id: String,
    /// Every sample in log order (the seed's per-client arrays).
    pub samples: MetricSet<Vec<f64>>,
    /// Mean per metric; `null` without samples (the seed printed 0).
    pub means: MetricSet<Option<f64>>,
    /// Distribution per metric.
    pub summaries: MetricSet<Option<Summary>>,
    /// Service calls.
    pub calls: Calls,
    /// `voiceperf agent` truth lines of this stream.
    pub agent_turns: Vec<AgentTurn>,
}

/// The seed analyzer's overall rows, kept so results compare with old reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedNumbers {
    /// OVERALL AVERAGE: mean of the client means, clients with a zero mean skipped.
    pub overall_average: MetricSet<Option<f64>>,
    /// OVERALL P95: client means sorted, index ⌊0.95·(n−1)⌋ — a percentile of means, not of
    /// samples.
    pub overall_p95: MetricSet<Option<f64>>,
    /// Number of client means that went into each.
    pub clients_counted: MetricSet<usize>,
}

/// An input that was read (or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputReport {
    /// Path, or `<stdin>`.
    pub name: String,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// Bytes read after decompression.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Why reading stopped early, if it did.
    pub error: Option<String>,
}

/// Result of `voiceperf analyze`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// voiceperf version that produced it.
    pub version: String,
    /// Inputs in the order read (as one concatenated log).
    pub inputs: Vec<InputReport>,
    /// Service names recognised.
    pub services: ServiceNames,
    /// The window applied.
    pub window: WindowReport,
    /// What was seen.
    pub counts: LineCounts,
    /// Per client, sorted by stream id (numbers in ids compared by value).
    pub clients: Vec<ClientReport>,
    /// The seed's overall numbers.
    pub seed: SeedNumbers,
    /// Percentiles over all samples of all clients.
    pub percentiles: MetricSet<Option<Summary>>,
    /// The agent's own turn latency over all truth lines, if the log has any.
    pub agent_turn_latency: Option<Summary>,
    /// Rejected lines, each with its file, line, reason and message (the first
    /// [`super::collect::MAX_KEPT_WARNINGS`]; see `warnings_total`).
    pub warnings: Vec<Warning>,
    /// Number of rejected lines (also `counts.rejected_lines`).
    pub warnings_total: u64,
    /// The join with a bench run (`--run`).
    #[serde(default)]
    pub join: Option<JoinReport>,
}

impl Analysis {
    /// Total samples of one metric over all clients.
    pub fn sample_count(&self, kind: MetricKind) -> usize {
        self.clients.iter().map(|c| c.samples.get(kind).len()).sum()
    }

    /// Total agent truth lines.
    pub fn agent_turn_count(&self) -> usize {
        self.clients.iter().map(|c| c.agent_turns.len()).sum()
    }
}

/// Builds a client's report from its collected data.
pub fn client_report(stream_id: &str, data: &StreamData) -> ClientReport {
    let values =
        |kind: MetricKind| -> Vec<f64> { data.metric(kind).iter().map(|s| s.value).collect() };
    let samples = MetricSet::from_fn(values);
    ClientReport {
        stream_id: stream_id.to_string(),
        means: MetricSet::from_fn(|kind| stats::mean(samples.get(kind))),
        summaries: MetricSet::from_fn(|kind| Summary::from_samples(samples.get(kind))),
        calls: Calls {
            llm: samples.llm_ttfb.len(),
            tts: samples.tts_ttfb.len(),
            asr: samples.asr_latency.len(),
        },
        agent_turns: data
            .turns
            .iter()
            .map(|turn| AgentTurn {
                truth: turn.truth,
                log_time: turn.time.map(|t| t.to_string()),
            })
            .collect(),
        samples,
    }
}

/// The seed's overall rows from the client reports.
pub fn seed_numbers(clients: &[ClientReport]) -> SeedNumbers {
    // The seed skipped clients whose mean is 0 — its stand-in for "no samples".
    let positive_means = |kind: MetricKind| -> Vec<f64> {
        clients
            .iter()
            .filter_map(|c| *c.means.get(kind))
            .filter(|&m| m > 0.0)
            .collect()
    };
    SeedNumbers {
        overall_average: MetricSet::from_fn(|kind| stats::mean(&positive_means(kind))),
        overall_p95: MetricSet::from_fn(|kind| stats::seed_p95(&positive_means(kind))),
        clients_counted: MetricSet::from_fn(|kind| positive_means(kind).len()),
    }
}

/// Percentiles over every sample of every client.
pub fn all_sample_percentiles(clients: &[ClientReport]) -> MetricSet<Option<Summary>> {
    MetricSet::from_fn(|kind| {
        let all: Vec<f64> = clients
            .iter()
            .flat_map(|c| c.samples.get(kind).iter().copied())
            .collect();
        Summary::from_samples(&all)
    })
}
