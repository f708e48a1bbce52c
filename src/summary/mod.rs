//! From per-connection results to a run's `summary.json` and `turns.csv`: the seed launcher's
//! aggregates (kept for comparison with old reports) and voiceperf's percentiles over all
//! turns, error accounting and the load generator's self-check. Shared by `bench` (as the run
//! goes, from its [`Store`]) and `merge` (from the shards' client files), so a merged run's
//! figures are computed by the same code as a single run's.

pub mod csv;
pub mod gates;
pub mod store;
pub mod text;

use std::collections::BTreeMap;
use std::path::Path;

use crate::clock;
use crate::fsutil;
use crate::runfolder::results::{
    AgentAgreement, AgentMetricsSummary, AgentTurnMetrics, ClientResults, ClientRow,
    ConnectionStatus, DatasetInfo, DistractorRecord, DistractorSummary, ErrorDetection, ErrorKind,
    ErrorSummary, FilteredResults, GlitchDetection, InterruptionSummary, ReplyStop, ReverseBargeIn,
    ReverseBargeInDetection, RunInfo, RunSummary, SelfCheck, ShardInfo, StreamError, SummaryConfig,
    SummaryResults, TurnCounts, TurnKind, TurnOutcome, TurnRecord,
};
use crate::runfolder::{SUMMARY_FILE, TURNS_CSV_FILE};
use crate::stats::{self, Summary, round6};
use crate::summary::store::Store;

/// The smallest tolerance (ms) of the self-check: a latency error bound within
/// max([`LATENESS_LIMIT_MS`], [`TOLERANCE_FRACTION`] × the smallest reported latency
/// percentile) cannot move any reported percentile by more than is worth reporting. With no
/// turn measured, send lateness p99 + receive lag p99 is checked against this alone.
pub const LATENESS_LIMIT_MS: f64 = 5.0;
/// The share of a latency percentile its error may be before the run is untrusted.
pub const TOLERANCE_FRACTION: f64 = 0.01;
/// The self-check's rule, in words (written into `summary.json`).
pub const SELF_CHECK_RULE: &str = "untrusted when the latency error bound (p99 over turns of: \
     send lateness of the turn's chunks up to its first reply audio + receive lag p99) exceeds \
     max(5 ms, 1 % of the smallest reported latency percentile, p50)";
/// How many errors `summary.json` lists individually.
const FIRST_ERRORS: usize = 20;

/// What a summary needs besides the connections' results.
#[derive(Debug, Clone)]
pub struct SummaryContext {
    /// Configuration of the run.
    pub config: SummaryConfig,
    /// The dataset.
    pub dataset: DatasetInfo,
    /// Run timing (with `finished_at`/`complete` unset).
    pub run: RunInfo,
    /// The shard this run is, for a shard of a sharded run (its clock check as known
    /// before the run).
    pub shard: Option<ShardInfo>,
}

/// How the run ended, known only at the end.
#[derive(Debug, Clone)]
pub struct Finish {
    /// When the last user finished (unix s).
    pub finished_at: f64,
    /// Whether the run was stopped early.
    pub stopped_early: bool,
    /// Agreement with the agent's truth log, if checked.
    pub agent_agreement: Option<AgentAgreement>,
    /// The shard this run is, with its clock check as it ended.
    pub shard: Option<ShardInfo>,
}

impl ClientResults {
    /// Recomputes every field derived from `turns` (the seed's fields, glitch totals) and the
    /// lateness summaries from the raw samples (s).
    pub fn refresh_derived(&mut self, lateness_s: &[f32], lag_s: &[f32]) {
        self.refresh_turn_fields();
        self.send_lateness_ms = summary_ms(lateness_s);
        self.receive_lag_ms = summary_ms(lag_s);
    }

    /// Recomputes every field derived from `turns` (the seed's fields, glitch totals).
    pub fn refresh_turn_fields(&mut self) {
        let counted: Vec<&TurnRecord> = self.turns.iter().filter(|t| t.in_window).collect();
        self.individual_latencies = counted.iter().filter_map(|t| t.latency_s).collect();
        self.valid_latencies = self
            .individual_latencies
            .iter()
            .copied()
            .filter(|&l| l >= self.threshold)
            .collect();
        self.average_latency = stats::mean(&self.individual_latencies).map(round6);
        self.valid_average_latency = stats::mean(&self.valid_latencies).map(round6);
        self.filtered_average_latency = self.valid_average_latency;
        self.num_turns = self.individual_latencies.len();
        self.num_valid_turns = self.valid_latencies.len();
        self.num_filtered_turns = self.num_valid_turns;
        self.reverse_barge_ins_count = counted
            .iter()
            .filter(|t| t.reverse_barge_in.is_some())
            .count();
        self.glitch_count = counted.iter().map(|t| t.glitches).sum();
        self.starved_ms = round6(counted.iter().map(|t| t.starved_ms).sum());
        self.glitch_detected = self.glitch_count > 0;
    }
}

/// Summary in milliseconds of samples in seconds.
fn summary_ms(samples_s: &[f32]) -> Option<Summary> {
    let ms: Vec<f64> = samples_s.iter().map(|&s| f64::from(s) * 1000.0).collect();
    Summary::from_samples(&ms).map(round_summary)
}

fn round_summary(mut s: Summary) -> Summary {
    for v in [
        &mut s.mean,
        &mut s.stddev,
        &mut s.min,
        &mut s.p50,
        &mut s.p90,
        &mut s.p95,
        &mut s.p99,
        &mut s.max,
    ] {
        *v = round6(*v);
    }
    s
}

fn summary_of(values: impl Iterator<Item = f64>) -> Option<Summary> {
    Summary::from_samples(&values.collect::<Vec<_>>()).map(round_summary)
}

/// Most lateness samples a mid-run self-check looks at: evenly spaced, so that rewriting
/// `summary.json` every few seconds does not sort millions of samples each time. The final
/// self-check uses every sample.
const MID_RUN_SAMPLES: usize = 200_000;

/// Summarises a run from its stored connections (whose derived fields are fresh: see
/// [`Store::refresh`]). Without `finish` (mid-run), the self-check looks at a sample of
/// the lateness samples.
pub fn summarize(context: &SummaryContext, store: &Store, finish: Option<&Finish>) -> RunSummary {
    let clients: Vec<&ClientResults> = store.clients.values().map(|c| &c.results).collect();
    let limit = if finish.is_some() {
        usize::MAX
    } else {
        MID_RUN_SAMPLES
    };
    summarize_clients(context, &clients, self_check(store, limit), finish)
}

/// Summarises a run from its connections' results, with the self-check as measured.
pub fn summarize_clients(
    context: &SummaryContext,
    clients: &[&ClientResults],
    self_check: SelfCheck,
    finish: Option<&Finish>,
) -> RunSummary {
    let counted: Vec<&TurnRecord> = clients
        .iter()
        .flat_map(|c| c.turns.iter())
        .filter(|t| t.in_window)
        .collect();
    let replied = || counted.iter().filter(|t| t.outcome == TurnOutcome::Replied);
    let ids = |pred: &dyn Fn(&ClientResults) -> bool| -> Vec<String> {
        clients
            .iter()
            .filter(|c| pred(c))
            .map(|c| c.stream_id.clone())
            .collect()
    };

    // The seed's aggregates: over per-connection averages.
    let averages: Vec<f64> = clients.iter().filter_map(|c| c.average_latency).collect();
    let valid_averages: Vec<f64> = clients
        .iter()
        .filter_map(|c| c.valid_average_latency)
        .collect();
    let min = |v: &[f64]| v.iter().copied().reduce(f64::min);
    let max = |v: &[f64]| v.iter().copied().reduce(f64::max);

    let glitch_ids = ids(&|c| c.glitch_detected);
    let rbi_ids = ids(&|c| c.reverse_barge_ins_count > 0);
    let client_error_counts: BTreeMap<String, usize> = clients
        .iter()
        .filter(|c| !c.errors.is_empty())
        .map(|c| (c.stream_id.clone(), c.errors.len()))
        .collect();
    let total_errors = clients.iter().map(|c| c.errors.len()).sum();

    let mut turns = TurnCounts::default();
    for turn in &counted {
        turns.in_window += 1;
        match turn.outcome {
            TurnOutcome::Replied => turns.replied += 1,
            TurnOutcome::NoReply => turns.no_reply += 1,
            TurnOutcome::Disconnected => turns.disconnected += 1,
            TurnOutcome::Stopped => turns.stopped += 1,
        }
    }
    turns.outside_window = clients
        .iter()
        .flat_map(|c| c.turns.iter())
        .filter(|t| !t.in_window)
        .count();

    let results = SummaryResults {
        total_clients: clients.len(),
        total_turns: clients.iter().map(|c| c.num_turns).sum(),
        aggregate_average_latency: stats::mean(&averages).map(round6),
        p95_client_latency: stats::seed_p95(&averages),
        min_client_latency: min(&averages),
        max_client_latency: max(&averages),
        filtered_results: FilteredResults {
            clients_with_filtered_data: valid_averages.len(),
            total_filtered_turns: clients.iter().map(|c| c.num_valid_turns).sum(),
            aggregate_filtered_average_latency: stats::mean(&valid_averages).map(round6),
            p95_filtered_client_latency: stats::seed_p95(&valid_averages),
            min_filtered_client_latency: min(&valid_averages),
            max_filtered_client_latency: max(&valid_averages),
        },
        glitch_detection: GlitchDetection {
            clients_with_glitches: glitch_ids.len(),
            total_clients: clients.len(),
            affected_client_ids: glitch_ids,
            total_glitches: counted.iter().map(|t| t.glitches).sum(),
            turns_with_glitches: counted.iter().filter(|t| t.glitches > 0).count(),
            total_starved_ms: round6(counted.iter().map(|t| t.starved_ms).sum()),
        },
        reverse_barge_in_detection: ReverseBargeInDetection {
            total_clients: clients.len(),
            total_reverse_barge_ins: counted
                .iter()
                .filter(|t| t.reverse_barge_in.is_some())
                .count(),
            clients_with_reverse_barge_ins: rbi_ids.len(),
            affected_client_ids: rbi_ids,
            during_speech: counted
                .iter()
                .filter(|t| t.reverse_barge_in == Some(ReverseBargeIn::DuringSpeech))
                .count(),
            below_threshold: counted
                .iter()
                .filter(|t| t.reverse_barge_in == Some(ReverseBargeIn::BelowThreshold))
                .count(),
        },
        error_detection: ErrorDetection {
            total_clients: clients.len(),
            total_errors,
            clients_with_errors: client_error_counts.len(),
            client_error_counts,
        },
        latency: summary_of(counted.iter().filter_map(|t| t.latency_s)),
        audible_latency: summary_of(counted.iter().filter_map(|t| t.audible_latency_s)),
        last_chunk_latency: summary_of(counted.iter().filter_map(|t| t.last_chunk_latency_s)),
        seed_latency: summary_of(counted.iter().filter_map(|t| t.seed_latency_s)),
        valid_latency: summary_of(
            counted
                .iter()
                .filter(|t| t.reverse_barge_in.is_none())
                .filter_map(|t| t.latency_s),
        ),
        reply_audio: summary_of(replied().map(|t| t.reply_audio_s)),
        latency_ci: None,
        turns,
        interruptions: Some(interruption_summary(&counted)),
        distractors: Some(distractor_summary(&counted)),
        agent_metrics: Some(agent_metrics_summary(&counted)),
    };

    let self_check = with_error_bound(self_check, &counted, results.latency.as_ref());
    let mut results = results;
    if finish.is_some() {
        // Only in the final summary: bootstrapping every few seconds mid-run costs too much.
        let latencies: Vec<f64> = counted.iter().filter_map(|t| t.latency_s).collect();
        results.latency_ci = stats::percentile_cis(&latencies);
    }
    let rows = clients.iter().map(|c| client_row(c)).collect();
    let errors = error_summary(clients, &results.turns);
    let mut run = context.run.clone();
    if let Some(finish) = finish {
        run.finished_at = Some(finish.finished_at);
        run.complete = true;
        run.stopped_early = finish.stopped_early;
    }
    RunSummary {
        timestamp: clock::local_timestamp(),
        tool_version: crate::VERSION.to_string(),
        config: context.config.clone(),
        results,
        clients: rows,
        errors,
        self_check,
        dataset: context.dataset.clone(),
        agent_agreement: finish.and_then(|f| f.agent_agreement.clone()),
        run,
        shard: finish
            .and_then(|f| f.shard.clone())
            .or_else(|| context.shard.clone()),
        shards: Vec::new(),
    }
}

/// Barge-ins over in-window `interrupt` turns: success rate, stop and signal latency over
/// every event (not per connection).
pub fn interruption_summary(turns: &[&TurnRecord]) -> InterruptionSummary {
    let events: Vec<(&TurnRecord, &ReplyStop)> = turns
        .iter()
        .filter_map(|t| t.interruption.as_ref().map(|i| (*t, &i.stop)))
        .collect();
    let stopped: Vec<&ReplyStop> = events
        .iter()
        .map(|(_, stop)| *stop)
        .filter(|s| s.stopped)
        .collect();
    InterruptionSummary {
        count: events.len(),
        stopped: stopped.len(),
        success_rate: rate(stopped.len(), events.len()),
        stop_latency: summary_of(stopped.iter().filter_map(|s| s.stop_latency_s)),
        signal_latency: summary_of(events.iter().filter_map(|(_, s)| s.signal_latency_s)),
        talk_over_ms: summary_of(events.iter().filter_map(|(_, s)| s.talk_over_ms)),
        signalled: events.iter().filter(|(_, s)| s.signal.is_some()).count(),
        reply_latency: summary_of(events.iter().filter_map(|(t, _)| t.latency_s)),
        missed: turns
            .iter()
            .filter(|t| t.overlay_missed == Some(TurnKind::Interrupt))
            .count(),
    }
}

/// False barge-ins over in-window `distractor` turns.
pub fn distractor_summary(turns: &[&TurnRecord]) -> DistractorSummary {
    let events: Vec<&DistractorRecord> =
        turns.iter().filter_map(|t| t.distractor.as_ref()).collect();
    let false_stops = events.iter().filter(|d| d.stop.stopped).count();
    DistractorSummary {
        count: events.len(),
        false_stops,
        false_stop_rate: rate(false_stops, events.len()),
        spurious_replies: events.iter().filter(|d| d.spurious_reply).count(),
        signalled: events.iter().filter(|d| d.stop.signal.is_some()).count(),
        missed: turns
            .iter()
            .filter(|t| t.overlay_missed == Some(TurnKind::Distractor))
            .count(),
    }
}

/// The agent's RTVI-reported numbers over in-window turns.
pub fn agent_metrics_summary(turns: &[&TurnRecord]) -> AgentMetricsSummary {
    let reported: Vec<&AgentTurnMetrics> = turns
        .iter()
        .filter_map(|t| t.agent_metrics.as_ref())
        .collect();
    let of =
        |f: fn(&AgentTurnMetrics) -> Option<f64>| summary_of(reported.iter().filter_map(|m| f(m)));
    AgentMetricsSummary {
        turns: reported.len(),
        llm_ttfb: of(|m| m.llm_ttfb_s),
        tts_ttfb: of(|m| m.tts_ttfb_s),
        asr_ttfb: of(|m| m.asr_ttfb_s),
        vad_wait: of(|m| m.vad_wait_s),
    }
}

fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| round6(part as f64 / whole as f64))
}

fn client_row(client: &ClientResults) -> ClientRow {
    let counted: Vec<&TurnRecord> = client.turns.iter().filter(|t| t.in_window).collect();
    ClientRow {
        stream_id: client.stream_id.clone(),
        user: client.user,
        connection: client.connection,
        status: client.status,
        turns: counted.len(),
        replied: counted
            .iter()
            .filter(|t| t.outcome == TurnOutcome::Replied)
            .count(),
        latency: summary_of(client.individual_latencies.iter().copied()),
        reverse_barge_ins: client.reverse_barge_ins_count,
        glitches: client.glitch_count,
        starved_ms: client.starved_ms,
        errors: client.errors.len(),
        send_lateness_p99_ms: client.send_lateness_ms.as_ref().map(|s| s.p99),
    }
}

fn error_summary(clients: &[&ClientResults], turns: &TurnCounts) -> ErrorSummary {
    let mut by_kind: BTreeMap<ErrorKind, usize> = BTreeMap::new();
    for client in clients {
        for (kind, n) in &client.error_counts {
            *by_kind.entry(*kind).or_default() += n;
        }
    }
    // Every failed connection attempt is one `connect` error.
    let failed_connects = by_kind.get(&ErrorKind::Connect).copied().unwrap_or(0);
    // A connection that failed after connecting without a failed turn to show for it (closed
    // after the handshake or during the greeting, an oversized message, an audio flood) is an
    // attempt that failed too.
    let failed_silently = clients
        .iter()
        .filter(|c| {
            c.status == ConnectionStatus::Failed
                && !c.error_counts.contains_key(&ErrorKind::Connect)
                && !c.turns.iter().any(|t| {
                    t.in_window
                        && matches!(t.outcome, TurnOutcome::NoReply | TurnOutcome::Disconnected)
                })
        })
        .count();
    let attempted = turns.in_window - turns.stopped + failed_connects + failed_silently;
    let failed = turns.no_reply + turns.disconnected + failed_connects + failed_silently;
    let mut all: Vec<StreamError> = clients
        .iter()
        .flat_map(|c| {
            c.errors.iter().map(|e| StreamError {
                stream_id: c.stream_id.clone(),
                error: e.clone(),
            })
        })
        .collect();
    all.sort_by(|a, b| a.error.at.total_cmp(&b.error.at));
    all.truncate(FIRST_ERRORS);
    ErrorSummary {
        total: by_kind.values().sum(),
        by_kind,
        failed,
        attempted,
        error_rate: if attempted == 0 {
            0.0
        } else {
            round6(failed as f64 / attempted as f64)
        },
        first_errors: all,
    }
}

/// Every `n`-th of the samples, `n` chosen so that at most `limit` are kept.
fn spaced<'a>(samples: impl Iterator<Item = &'a [f32]> + Clone, limit: usize) -> Vec<f32> {
    let total: usize = samples.clone().map(<[f32]>::len).sum();
    let stride = total.div_ceil(limit.max(1)).max(1);
    samples.flatten().copied().step_by(stride).collect()
}

fn self_check(store: &Store, limit: usize) -> SelfCheck {
    let lateness = spaced(
        store.clients.values().map(|c| c.lateness_s.as_slice()),
        limit,
    );
    let lag = spaced(store.clients.values().map(|c| c.lag_s.as_slice()), limit);
    self_check_of(summary_ms(&lateness), summary_ms(&lag))
}

/// The self-check of a send lateness and a receive lag (ms) alone, before the turns are
/// known: trusted when send lateness p99 + receive lag p99 is within [`LATENESS_LIMIT_MS`].
/// [`summarize_clients`] then judges the run by the turns' latency error bound instead
/// ([`with_error_bound`]) when any turn was measured.
pub fn self_check_of(
    send_lateness_ms: Option<Summary>,
    receive_lag_ms: Option<Summary>,
) -> SelfCheck {
    let bound = send_lateness_ms.as_ref().map_or(0.0, |s| s.p99)
        + receive_lag_ms.as_ref().map_or(0.0, |s| s.p99);
    let warning = (bound > LATENESS_LIMIT_MS).then(|| {
        format!(
            "LOAD GENERATOR OVERLOADED: {} (limit {LATENESS_LIMIT_MS} ms with no turn measured). \
             The timing is not trustworthy: run fewer users per process, or on a less loaded \
             machine.",
            lateness_words(send_lateness_ms.as_ref(), receive_lag_ms.as_ref())
        )
    });
    SelfCheck {
        send_lateness_ms,
        receive_lag_ms,
        limit_ms: LATENESS_LIMIT_MS,
        trustworthy: warning.is_none(),
        warning,
        latency_error_ms: None,
        error_bound_ms: None,
        rule: Some(SELF_CHECK_RULE.to_string()),
    }
}

fn lateness_words(send: Option<&Summary>, lag: Option<&Summary>) -> String {
    let mut parts = Vec::new();
    if let Some(s) = send {
        parts.push(format!(
            "audio chunks left p99 {:.1} ms (max {:.1} ms) behind schedule",
            s.p99, s.max
        ));
    }
    if let Some(s) = lag {
        parts.push(format!(
            "the receive loop woke p99 {:.1} ms (max {:.1} ms) late",
            s.p99, s.max
        ));
    }
    parts.join(" and ")
}

/// The tolerance (ms) of a latency percentile of `percentile_s` seconds: max(5 ms, 1 %).
pub fn tolerance_ms(percentile_s: f64) -> f64 {
    LATENESS_LIMIT_MS.max(TOLERANCE_FRACTION * percentile_s * 1000.0)
}

/// Judges `check` by the latency error bound of the measured `turns`: each turn's latency
/// can be off by at most the largest send lateness of its chunks up to the first reply audio
/// (the chunk carrying the speech end among them: the agent heard the end that late) plus the
/// receive loop's wake-up lag (its p99 over the run: how stale an arrival timestamp can be).
/// Every turn's latency moving by at most e moves every percentile by at most e, so the run
/// is untrusted when the p99 of the turns' bounds exceeds the tolerance of the smallest
/// reported percentile (p50): max(5 ms, 1 % of it). Without measured turns `check` stays as
/// [`self_check_of`] made it.
pub fn with_error_bound(
    mut check: SelfCheck,
    turns: &[&TurnRecord],
    latency: Option<&Summary>,
) -> SelfCheck {
    let lag_ms = check.receive_lag_ms.as_ref().map_or(0.0, |s| s.p99);
    let errors: Vec<f64> = turns
        .iter()
        .filter(|t| t.latency_s.is_some())
        .map(|t| t.max_send_lateness_ms.max(0.0) + lag_ms)
        .collect();
    let (Some(error), Some(latency)) = (summary_of(errors.into_iter()), latency) else {
        return check;
    };
    let bound = error.p99;
    let tolerance = round6(tolerance_ms(latency.p50));
    check.limit_ms = tolerance;
    check.error_bound_ms = Some(bound);
    check.latency_error_ms = Some(error);
    check.warning = (bound > tolerance).then(|| {
        format!(
            "LOAD GENERATOR OVERLOADED: the latency error bound is {bound:.1} ms (p99 over \
             turns; {}), more than the tolerance {tolerance:.1} ms (max 5 ms, 1 % of p50 \
             {:.3} s). The latency numbers are not trustworthy: run fewer users per process, or \
             on a less loaded machine.",
            lateness_words(
                check.send_lateness_ms.as_ref(),
                check.receive_lag_ms.as_ref()
            ),
            latency.p50
        )
    });
    check.trustworthy = check.warning.is_none();
    check
}

/// The agreement between bench and the agent's truth lines in `log`: `truth_lines` lines
/// belonged to the run's streams, and each matched turn differed by one of `differences_ms`
/// (bench's interval − the agent's, ms).
pub fn agent_agreement(log: String, truth_lines: usize, differences_ms: &[f64]) -> AgentAgreement {
    let absolute: Vec<f64> = differences_ms.iter().map(|d| d.abs()).collect();
    AgentAgreement {
        log,
        truth_lines,
        matched_turns: differences_ms.len(),
        difference_ms: Summary::from_samples(differences_ms),
        abs_difference_p99_ms: stats::percentile(&absolute, 99.0),
        interruption_lines: 0,
        matched_stops: 0,
        stop_signal_difference_ms: None,
    }
}

/// Writes `summary.json` and `turns.csv` for the run folder `dir`; returns the summary.
pub fn write_run_files(
    dir: &Path,
    context: &SummaryContext,
    store: &Store,
    finish: Option<&Finish>,
) -> anyhow::Result<RunSummary> {
    let summary = summarize(context, store, finish);
    write_summary_files(dir, &summary, store.clients.values().map(|c| &c.results))?;
    Ok(summary)
}

/// Writes `summary` as `summary.json` and the turns of `clients` as `turns.csv` into `dir`.
pub fn write_summary_files<'a>(
    dir: &Path,
    summary: &RunSummary,
    clients: impl Iterator<Item = &'a ClientResults>,
) -> anyhow::Result<()> {
    fsutil::write_json_atomic(&dir.join(SUMMARY_FILE), summary)?;
    fsutil::write_atomic(
        &dir.join(TURNS_CSV_FILE),
        csv::turns_csv(clients).as_bytes(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runfolder::results::{
        ConnectionStatus, ErrorRecord, FrameCounts, OnError, SpeechEndSource,
    };
    use crate::summary::store::StoredClient;

    /// An in-window or out-of-window turn with this latency and outcome.
    pub(crate) fn turn(latency: Option<f64>, in_window: bool, outcome: TurnOutcome) -> TurnRecord {
        let reverse_barge_in = latency.and_then(|l| {
            (l < 0.0)
                .then_some(ReverseBargeIn::DuringSpeech)
                .or((l < 0.5).then_some(ReverseBargeIn::BelowThreshold))
        });
        TurnRecord {
            turn: 1,
            file: "q.wav".into(),
            in_window,
            outcome,
            scheduled_start_at: 0.0,
            started_at: 0.0,
            first_chunk_id: 1,
            last_chunk_id: Some(10),
            speech_end_chunk_id: 10,
            speech_end_s: 0.3,
            speech_end_source: SpeechEndSource::Detected,
            speech_end_at: Some(1.0),
            last_chunk_sent_at: Some(1.0),
            first_frame_at: latency.map(|l| 1.0 + l),
            first_audio_at: latency.map(|l| 1.0 + l),
            first_audible_at: None,
            latency_s: latency,
            audible_latency_s: None,
            last_chunk_latency_s: None,
            seed_latency_s: None,
            reverse_barge_in,
            reply_end_at: None,
            ended_at: 5.0,
            reply_audio_s: 1.0,
            reply_frames: 25,
            reply_format: None,
            glitches: 0,
            starved_ms: 0.0,
            glitch_gaps_ms: Vec::new(),
            interruptions: 0,
            late_audio_frames: 0,
            received: Vec::new(),
            max_send_lateness_ms: 0.0,
            agent: None,
            kind: TurnKind::Turn,
            interruption: None,
            distractor: None,
            overlay_missed: None,
            agent_metrics: None,
        }
    }

    /// A finished connection of `user` with these turns and failed connection attempts.
    pub(crate) fn client(
        user: usize,
        turns: Vec<TurnRecord>,
        connect_errors: usize,
    ) -> StoredClient {
        let mut results = ClientResults {
            stream_id: format!("client_{user}_1"),
            individual_latencies: Vec::new(),
            average_latency: None,
            valid_latencies: Vec::new(),
            valid_average_latency: None,
            filtered_average_latency: None,
            threshold: 0.5,
            num_turns: 0,
            num_valid_turns: 0,
            num_filtered_turns: 0,
            reverse_barge_ins_count: 0,
            glitch_detected: false,
            timestamp: String::new(),
            metrics_start_time: 0.0,
            test_duration: 10.0,
            tool_version: String::new(),
            user,
            connection: 1,
            url: String::new(),
            status: ConnectionStatus::Finished,
            connect_started_at: 0.0,
            connected_at: Some(0.0),
            closed_at: Some(9.0),
            audio_origin_at: Some(0.0),
            chunk_ms: 32,
            chunks_sent: 10,
            greeting: None,
            glitch_count: 0,
            starved_ms: 0.0,
            turns,
            frames_received: FrameCounts::default(),
            errors: Vec::new(),
            error_counts: BTreeMap::new(),
            send_lateness_ms: None,
            receive_lag_ms: None,
        };
        for _ in 0..connect_errors {
            results.errors.push(ErrorRecord {
                at: 0.5,
                kind: ErrorKind::Connect,
                message: "refused".into(),
                turn: None,
            });
            *results.error_counts.entry(ErrorKind::Connect).or_default() += 1;
        }
        let lateness = vec![0.001_f32; 100];
        results.refresh_derived(&lateness, &[]);
        StoredClient {
            results,
            lateness_s: lateness,
            lag_s: Vec::new(),
        }
    }

    pub(crate) fn context() -> SummaryContext {
        SummaryContext {
            config: SummaryConfig {
                host: "127.0.0.1".into(),
                port: 8100,
                num_clients: 2,
                client_start_delay: 1.0,
                test_duration: 10.0,
                threshold: 0.5,
                metrics_start_time: 0.0,
                url: String::new(),
                chunk_ms: 32,
                reply_gap: 1.0,
                turn_gap: 0.0,
                reply_timeout: 15.0,
                greeting_timeout: 5.0,
                connect_timeout: 10.0,
                on_error: OnError::Reconnect,
                audible_dbfs: -40.0,
                audio_dir: String::new(),
                save_audio: false,
                agent_log: None,
                sweep_levels: vec![2],
                slo_p95: None,
                fail_p95: None,
                max_error_rate: None,
                scenario: Default::default(),
                mix: None,
                seed: None,
                barge_in_after: None,
                stop_limit: None,
                distractor_dir: None,
                rtvi: false,
                fail_stop_p95: None,
                max_false_stop_rate: None,
                min_turns: None,
                load: Default::default(),
                protocol: "pipecat".into(),
            },
            dataset: DatasetInfo {
                audio_dir: String::new(),
                manifest_found: false,
                files: Vec::new(),
                skipped: Vec::new(),
                warnings: Vec::new(),
            },
            run: RunInfo {
                started_at: 0.0,
                metrics_start_at: 0.0,
                metrics_end_at: 10.0,
                finished_at: None,
                complete: false,
                stopped_early: false,
                users: 2,
            },
            shard: None,
        }
    }

    #[test]
    fn seed_aggregates_and_percentiles_over_turns() {
        use TurnOutcome::*;
        let mut store = Store::default();
        store.clients.insert(
            (1, 1),
            client(
                1,
                vec![
                    turn(Some(1.0), true, Replied),
                    turn(Some(2.0), true, Replied),
                    turn(Some(-0.2), true, Replied),
                    turn(Some(9.0), false, Replied), // warm-up: in no statistic
                ],
                0,
            ),
        );
        store.clients.insert(
            (2, 1),
            client(
                2,
                vec![
                    turn(Some(0.4), true, Replied),
                    turn(None, true, NoReply),
                    turn(Some(1.5), true, Disconnected),
                ],
                2,
            ),
        );
        let s = summarize(&context(), &store, None);
        let r = &s.results;
        // Per-connection seed fields.
        let c1 = &store.clients[&(1, 1)].results;
        assert_eq!(c1.individual_latencies, vec![1.0, 2.0, -0.2]);
        assert_eq!(c1.valid_latencies, vec![1.0, 2.0]);
        assert_eq!(c1.reverse_barge_ins_count, 1);
        assert!((c1.average_latency.unwrap() - 0.933333).abs() < 1e-6);
        // Seed aggregates over client averages: (0.933333 + 0.95) / 2.
        assert!((r.aggregate_average_latency.unwrap() - 0.941667).abs() < 1e-6);
        assert_eq!(r.p95_client_latency, Some(0.933333));
        assert_eq!(r.total_turns, 5);
        // voiceperf's percentiles over every in-window turn with reply audio.
        let latency = r.latency.as_ref().unwrap();
        assert_eq!(latency.count, 5);
        assert_eq!(latency.p50, 1.0);
        assert_eq!(latency.max, 2.0);
        assert_eq!(r.valid_latency.as_ref().unwrap().count, 3);
        let rbi = &r.reverse_barge_in_detection;
        assert_eq!((rbi.during_speech, rbi.below_threshold), (1, 1));
        assert_eq!(rbi.clients_with_reverse_barge_ins, 2);
        assert_eq!(r.turns.in_window, 6);
        assert_eq!(r.turns.outside_window, 1);
        // Error rate: (1 no reply + 1 disconnected + 2 failed connects) / (6 turns + 2).
        assert_eq!(s.errors.failed, 4);
        assert_eq!(s.errors.attempted, 8);
        assert_eq!(s.errors.error_rate, 0.5);
        assert_eq!(r.error_detection.client_error_counts["client_2_1"], 2);
        assert!(s.self_check.trustworthy);
        assert_eq!(s.self_check.send_lateness_ms.as_ref().unwrap().count, 200);
        assert!(!s.run.complete);
    }

    #[test]
    fn overload_without_turns_falls_back_to_the_bare_limit() {
        let mut store = Store::default();
        let mut c = client(1, Vec::new(), 0);
        c.lateness_s = vec![0.010; 100];
        store.clients.insert((1, 1), c);
        let s = summarize(&context(), &store, None);
        assert!(!s.self_check.trustworthy);
        assert_eq!(s.self_check.error_bound_ms, None);
        let warning = s.self_check.warning.unwrap();
        assert!(
            warning.contains("OVERLOADED") && warning.contains("p99 10.0 ms"),
            "{warning}"
        );
    }

    /// A store of one connection with `n` replied turns of `latency_s`, each turn's
    /// chunks `turn_lateness_ms` late at most, and every chunk sample `chunk_lateness_s` late.
    fn late_store(n: usize, latency_s: f64, turn_lateness_ms: f64, chunk_lateness_s: f32) -> Store {
        let turns = (0..n)
            .map(|_| {
                let mut t = turn(Some(latency_s), true, TurnOutcome::Replied);
                t.max_send_lateness_ms = turn_lateness_ms;
                t
            })
            .collect();
        let mut c = client(1, turns, 0);
        c.lateness_s = vec![chunk_lateness_s; 200];
        c.results.refresh_derived(&c.lateness_s, &[]);
        let mut store = Store::default();
        store.clients.insert((1, 1), c);
        store
    }

    #[test]
    fn small_error_against_a_long_latency_is_trusted() {
        // 6 ms p99 lateness used to flag the run; against a 1.1 s latency (tolerance 11 ms)
        // a 6 ms error cannot move a percentile by more than 1 %.
        let store = late_store(30, 1.1, 6.0, 0.006);
        let s = summarize(&context(), &store, None);
        let sc = &s.self_check;
        assert_eq!(sc.send_lateness_ms.as_ref().unwrap().p99, 6.0);
        assert!(sc.trustworthy, "{:?}", sc.warning);
        assert_eq!(sc.error_bound_ms, Some(6.0));
        assert_eq!(sc.limit_ms, 11.0);
        assert_eq!(sc.latency_error_ms.as_ref().unwrap().count, 30);
        assert!(sc.rule.as_deref().unwrap().contains("1 %"));
    }

    #[test]
    fn error_beyond_the_tolerance_is_flagged() {
        // 6 ms against a 0.3 s latency: tolerance max(5, 3) = 5 ms.
        let store = late_store(30, 0.3, 6.0, 0.006);
        let s = summarize(&context(), &store, None);
        assert!(!s.self_check.trustworthy);
        assert_eq!(s.self_check.limit_ms, 5.0);
        let warning = s.self_check.warning.unwrap();
        assert!(
            warning.contains("OVERLOADED") && warning.contains("error bound is 6.0 ms"),
            "{warning}"
        );
        // 20 ms against 1.1 s: beyond 11 ms.
        let s = summarize(&context(), &late_store(30, 1.1, 20.0, 0.02), None);
        assert!(!s.self_check.trustworthy);
    }

    #[test]
    fn final_summary_carries_confidence_intervals() {
        let store = late_store(30, 1.1, 0.5, 0.0005);
        let finish = Finish {
            finished_at: 20.0,
            stopped_early: false,
            agent_agreement: None,
            shard: None,
        };
        let mid = summarize(&context(), &store, None);
        assert!(mid.results.latency_ci.is_none());
        let s = summarize(&context(), &store, Some(&finish));
        let ci = s.results.latency_ci.as_ref().unwrap();
        assert_eq!(ci.count, 30);
        let p50 = ci.p50.unwrap();
        assert!(p50.contains(1.1), "{p50:?}");
        assert_eq!(ci.unsupported, vec!["p99".to_string()]);
        // Old run folders without the field still read.
        let mut json = serde_json::to_value(&s).unwrap();
        json["results"]
            .as_object_mut()
            .unwrap()
            .remove("latency_ci");
        for field in ["latency_error_ms", "error_bound_ms", "rule"] {
            json["self_check"].as_object_mut().unwrap().remove(field);
        }
        let old: RunSummary = serde_json::from_value(json).unwrap();
        assert!(old.results.latency_ci.is_none() && old.self_check.error_bound_ms.is_none());
    }
}
