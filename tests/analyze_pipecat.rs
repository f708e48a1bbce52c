//! `voiceperf analyze` on logs written by real pipecat-ai 1.14 pipelines
//! (`scripts/pipecat_log_fixtures.py`, outputs in `tests/fixtures/logs/pipecat/`): pipecat's own
//! VAD, turn strategies and metrics lines, in loguru's default layout (no stream id) and in
//! NVIDIA's (`streamId=`). Each log is joined with a run folder written through bench's own
//! result types from the manifest's session and turn times, and the recovered numbers are
//! checked against the manifest: each session's services were configured with their own
//! delays, so a line given to the wrong connection shows.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde::Deserialize;
use support::cli::voiceperf;
use voiceperf::analyze::join::{AsrSource, JoinReport, JoinedTurn, VadSource};
use voiceperf::analyze::window::WindowSpec;
use voiceperf::analyze::{Analysis, AnalyzeOptions, EmptyReason, RunJoin, analyze};
use voiceperf::runfolder::client_file_name;
use voiceperf::runfolder::results::{
    ClientResults, ConnectionStatus, FrameCounts, SpeechEndSource, TurnOutcome, TurnRecord,
};
use voiceperf::serverlog::input::Input;
use voiceperf::serverlog::parse::{Event, LineParser, MetricKind, ServiceNames, StopKind};

/// Log times are cut to the millisecond and the stand-ins sleep on a shared 2-core machine.
const TOLERANCE_S: f64 = 0.04;
/// How much later than configured pipecat's STT TTFB may be: the stand-in STT answers on the
/// event loop, which a loaded 2-core machine can hold up (0.099 s seen in one turn of 15).
const STT_LOAD_SLACK_S: f64 = 0.12;
/// pipecat's default VAD stop time: the STT's TTFB runs from the speech end, so it includes it.
const VAD_STOP_S: f64 = 0.2;

#[derive(Debug, Deserialize)]
struct Manifest {
    log_utc_offset_s: i32,
    scenarios: Vec<Scenario>,
}

#[derive(Debug, Deserialize)]
struct Scenario {
    name: String,
    logs: BTreeMap<String, String>,
    sessions: Vec<Session>,
    lines: BTreeMap<String, BTreeMap<String, LineKind>>,
}

#[derive(Debug, Deserialize)]
struct LineKind {
    count: usize,
    example: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Session {
    user: usize,
    stream_id: String,
    delays: Delays,
    connect_at: f64,
    closed_at: f64,
    turns: Vec<Turn>,
}

#[derive(Debug, Clone, Deserialize)]
struct Delays {
    stt: f64,
    llm: f64,
    tts: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct Turn {
    turn: usize,
    file: String,
    started_at: f64,
    speech_end_at: f64,
    first_audio_at: f64,
    reply_end_at: f64,
    ended_at: f64,
    reply_audio_s: f64,
}

fn dir() -> PathBuf {
    support::fixture("logs/pipecat")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn scenario<'m>(manifest: &'m Manifest, name: &str) -> &'m Scenario {
    manifest.scenarios.iter().find(|s| s.name == name).unwrap()
}

fn turn_record(t: &Turn) -> TurnRecord {
    TurnRecord {
        turn: t.turn,
        file: t.file.clone(),
        in_window: true,
        outcome: TurnOutcome::Replied,
        scheduled_start_at: t.started_at,
        started_at: t.started_at,
        first_chunk_id: 0,
        last_chunk_id: None,
        speech_end_chunk_id: 0,
        speech_end_s: t.speech_end_at - t.started_at,
        speech_end_source: SpeechEndSource::Manifest,
        speech_end_at: Some(t.speech_end_at),
        last_chunk_sent_at: Some(t.speech_end_at),
        first_frame_at: Some(t.first_audio_at),
        first_audio_at: Some(t.first_audio_at),
        first_audible_at: Some(t.first_audio_at),
        latency_s: Some(t.first_audio_at - t.speech_end_at),
        audible_latency_s: Some(t.first_audio_at - t.speech_end_at),
        last_chunk_latency_s: Some(t.first_audio_at - t.speech_end_at),
        seed_latency_s: Some(t.first_audio_at - t.speech_end_at),
        reverse_barge_in: None,
        reply_end_at: Some(t.reply_end_at),
        ended_at: t.ended_at,
        reply_audio_s: t.reply_audio_s,
        reply_frames: 0,
        reply_format: None,
        glitches: 0,
        starved_ms: 0.0,
        glitch_gaps_ms: Vec::new(),
        interruptions: 0,
        late_audio_frames: 0,
        received: Vec::new(),
        max_send_lateness_ms: 0.0,
        agent: None,
        kind: Default::default(),
        interruption: None,
        distractor: None,
        overlay_missed: None,
        agent_metrics: None,
    }
}

fn client(s: &Session, metrics_start: f64) -> ClientResults {
    let latencies: Vec<f64> = s
        .turns
        .iter()
        .map(|t| t.first_audio_at - t.speech_end_at)
        .collect();
    ClientResults {
        stream_id: s.stream_id.clone(),
        average_latency: voiceperf::stats::mean(&latencies),
        valid_latencies: latencies.clone(),
        valid_average_latency: voiceperf::stats::mean(&latencies),
        filtered_average_latency: voiceperf::stats::mean(&latencies),
        threshold: 0.5,
        num_turns: latencies.len(),
        num_valid_turns: latencies.len(),
        num_filtered_turns: latencies.len(),
        individual_latencies: latencies,
        reverse_barge_ins_count: 0,
        glitch_detected: false,
        timestamp: "2026-12-03T09:00:00+00:00".into(),
        metrics_start_time: metrics_start,
        test_duration: 600.0,
        tool_version: voiceperf::VERSION.into(),
        user: s.user,
        connection: 1,
        url: format!("ws://127.0.0.1:7860/ws/{}", s.stream_id),
        status: ConnectionStatus::Finished,
        connect_started_at: s.connect_at,
        connected_at: Some(s.connect_at),
        closed_at: Some(s.closed_at),
        audio_origin_at: None,
        chunk_ms: 20,
        chunks_sent: 0,
        greeting: None,
        glitch_count: 0,
        starved_ms: 0.0,
        turns: s.turns.iter().map(turn_record).collect(),
        frames_received: FrameCounts::default(),
        errors: Vec::new(),
        error_counts: BTreeMap::new(),
        send_lateness_ms: None,
        receive_lag_ms: None,
    }
}

/// The scenario's sessions as a bench run folder: every turn inside the metrics window.
fn write_run(dir: &Path, scenario: &Scenario) {
    let start = scenario
        .sessions
        .iter()
        .map(|s| s.connect_at)
        .fold(f64::INFINITY, f64::min);
    for s in &scenario.sessions {
        let path = dir.join(client_file_name(&s.stream_id));
        voiceperf::fsutil::write_json_atomic(&path, &client(s, start)).unwrap();
    }
}

fn joined(manifest: &Manifest, name: &str, style: &str) -> Analysis {
    let scenario = scenario(manifest, name);
    let run = tempfile::tempdir().unwrap();
    write_run(run.path(), scenario);
    let log = dir().join(&scenario.logs[style]);
    let mut options = AnalyzeOptions::new(vec![Input::File(log)]);
    options.run = Some(RunJoin {
        dir: run.path().to_path_buf(),
        log_utc_offset_s: Some(manifest.log_utc_offset_s),
    });
    analyze(&options).expect("joined analysis")
}

#[track_caller]
fn near(actual: Option<f64>, expected: f64, what: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{what}: no value"));
    assert!(
        (actual - expected).abs() <= TOLERANCE_S,
        "{what}: expected ≈{expected:.3}, got {actual:.3}"
    );
}

/// One turn's split against the session's configured delays.
#[track_caller]
fn check_split(t: &JoinedTurn, delays: &Delays) {
    let what = |part: &str| format!("{} turn {} {part}", t.stream_id, t.turn);
    let b = &t.breakdown;
    near(b.llm_ttfb, delays.llm, &what("LLM TTFB"));
    near(b.tts_ttfb, delays.tts, &what("TTS TTFB"));
    // pipecat's STT TTFB: speech end → final transcript, the VAD's stop time included; a
    // machine busy while the fixtures were written only makes it later (the transcript waits
    // for the event loop), which the LLM and TTS checks tell apart from a wrong turn.
    let asr = b.asr.unwrap_or_else(|| panic!("{}", what("no ASR")));
    let expected = VAD_STOP_S + delays.stt;
    assert!(
        (expected - TOLERANCE_S..=expected + STT_LOAD_SLACK_S).contains(&asr),
        "{}: expected {expected:.3} (up to {STT_LOAD_SLACK_S} s later), got {asr:.3}",
        what("ASR (STT TTFB)")
    );
    assert_eq!(t.asr_source, Some(AsrSource::SttTtfb), "{}", what("ASR"));
    assert_eq!(t.vad_source, Some(VadSource::TurnEnd), "{}", what("VAD"));
    // Negative when pipecat answered an inference it started before the user had finished.
    let vad = b
        .vad_wait
        .unwrap_or_else(|| panic!("{}", what("no VAD wait")));
    // In-process there is no network: what is left is pipecat's own hand-offs (TTS text
    // aggregation, frame queues), tens of milliseconds. A wrong turn end or service run shows
    // here.
    let other = b.transport_other.unwrap();
    assert!(
        (-TOLERANCE_S..0.15).contains(&other),
        "{}: {other:.3}",
        what("transport/other")
    );
    let sum = vad + b.asr.unwrap() + b.llm_ttfb.unwrap() + b.tts_ttfb.unwrap() + other;
    assert!((sum - b.latency.unwrap()).abs() < 1e-9);
}

fn sessions_by_id(scenario: &Scenario) -> BTreeMap<&str, &Session> {
    scenario
        .sessions
        .iter()
        .map(|s| (s.stream_id.as_str(), s))
        .collect()
}

fn all_turns_split(join: &JoinReport, scenario: &Scenario) {
    let sessions = sessions_by_id(scenario);
    let turns: usize = scenario.sessions.iter().map(|s| s.turns.len()).sum();
    assert_eq!(join.turns.len(), turns);
    assert_eq!(join.counts.with_all_components, turns);
    assert_eq!(join.counts.with_vad_wait, turns);
    assert_eq!(join.note, None);
    for t in &join.turns {
        check_split(t, &sessions[t.stream_id.as_str()].delays);
    }
}

/// NVIDIA's layout: every line names its connection, overlapping or not.
#[test]
fn stream_id_logs_split_every_turn() {
    let manifest = manifest();
    for name in ["overlap", "sequential"] {
        let a = joined(&manifest, name, "streamid");
        let join = a.join.as_ref().unwrap();
        all_turns_split(join, scenario(&manifest, name));
        assert_eq!(join.counts.unlabeled_samples, 0, "{name}");
    }
}

/// loguru's default layout, connections one after the other: every line is attributed by time
/// and the split is the one the stream ids give, turn by turn.
#[test]
fn default_log_without_overlap_is_attributed_by_time() {
    let manifest = manifest();
    let a = joined(&manifest, "sequential", "default");
    let join = a.join.as_ref().unwrap();
    let scenario = scenario(&manifest, "sequential");
    all_turns_split(join, scenario);
    let c = &join.counts;
    assert!(c.unlabeled_attributed > 0);
    // The second connection's greeting came within the first's closing slack: those lines stay
    // unattributed, and no turn needs them.
    assert!(c.unlabeled_ambiguous < 10, "{c:?}");
    assert_eq!(c.missing_split_overlap, 0);
    let with_ids = joined(&manifest, "sequential", "streamid");
    let with_ids = with_ids.join.as_ref().unwrap();
    for (plain, ided) in join.turns.iter().zip(&with_ids.turns) {
        assert_eq!(plain.stream_id, ided.stream_id);
        assert_eq!(plain.breakdown, ided.breakdown, "turn {}", plain.turn);
    }
    // The per-connection statistics too.
    let stream_ids: Vec<&str> = a.clients.iter().map(|c| c.stream_id.as_str()).collect();
    assert_eq!(
        stream_ids,
        scenario
            .sessions
            .iter()
            .map(|s| s.stream_id.as_str())
            .collect::<Vec<_>>()
    );
}

/// loguru's default layout with three overlapping connections: a line logged while several
/// turns are in flight belongs to no turn; what could be attributed is right, and the rest is
/// explained with the fix.
#[test]
fn default_log_with_overlap_says_why_and_what_to_change() {
    let manifest = manifest();
    let scenario = scenario(&manifest, "overlap");
    let sessions = sessions_by_id(scenario);
    let a = joined(&manifest, "overlap", "default");
    let join = a.join.as_ref().unwrap();
    let c = &join.counts;
    assert!(c.unlabeled_ambiguous > 0);
    assert!(c.missing_split_overlap > 0);
    // Every connection's lines are in the log, told apart or not.
    assert_eq!(c.connections_in_log, 3);
    let note = join.note.as_deref().expect("a note");
    assert!(note.contains("streamId={extra[streamId]}"), "{note}");
    assert!(note.contains("logger.contextualize(streamId="), "{note}");
    assert!(note.contains("--clients 1"), "{note}");
    for t in &join.turns {
        let b = &t.breakdown;
        if b.asr.is_some() && b.llm_ttfb.is_some() && b.tts_ttfb.is_some() {
            check_split(t, &sessions[t.stream_id.as_str()].delays);
        } else {
            assert!(
                t.ambiguous_samples > 0,
                "turn {} of {}",
                t.turn,
                t.stream_id
            );
        }
    }
    // The same run with stream ids has no such turn.
    let with_ids = joined(&manifest, "overlap", "streamid");
    assert_eq!(
        with_ids.join.as_ref().unwrap().counts.missing_split_overlap,
        0
    );
}

/// When nothing can be attributed, the analysis fails with the explanation (exit 1): the run
/// holds the first connection and a twin with the same turn times (a second user whose lines
/// the server did not log), so every line of the log is logged while two turns are in flight.
#[test]
fn nothing_attributable_fails_with_the_fix() {
    let manifest = manifest();
    let scenario = scenario(&manifest, "overlap");
    let first = scenario.sessions[0].clone();
    let mut twin = first.clone();
    twin.stream_id = format!("client_9_{}", &first.stream_id["client_1_".len()..]);
    let two = Scenario {
        name: "two".into(),
        logs: scenario.logs.clone(),
        lines: BTreeMap::new(),
        sessions: vec![first, twin],
    };
    let run = tempfile::tempdir().unwrap();
    write_run(run.path(), &two);
    let log = dir().join(&scenario.logs["default"]);
    let mut options = AnalyzeOptions::new(vec![Input::File(log.clone())]);
    options.run = Some(RunJoin {
        dir: run.path().to_path_buf(),
        log_utc_offset_s: Some(manifest.log_utc_offset_s),
    });
    let a = analyze(&options).unwrap();
    let c = &a.join.as_ref().unwrap().counts;
    assert_eq!((c.unlabeled_attributed, c.with_server_samples), (0, 0));
    assert_eq!(c.connections_in_log, 2);
    assert_eq!(c.missing_split_overlap, 6);
    assert!(matches!(
        a.empty_reason(),
        Some(EmptyReason::NoStreamIds { .. })
    ));
    let offset = manifest.log_utc_offset_s;
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = format!(
        "{sign}{:02}:{:02}",
        offset.abs() / 3600,
        offset.abs() % 3600 / 60
    );
    voiceperf()
        .arg("analyze")
        .arg(&log)
        .arg("--run")
        .arg(run.path())
        .arg("--log-utc-offset")
        .arg(&offset)
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no turn of the run could be split",
        ))
        .stderr(predicate::str::contains("streamId={extra[streamId]}"))
        .stderr(predicate::str::contains("--clients 1"));
}

/// The colours of a terminal (`docker logs` of a container with a tty) change nothing.
#[test]
fn coloured_default_log_reads_like_the_plain_one() {
    let manifest = manifest();
    let plain = joined(&manifest, "overlap", "default");
    let colour = joined(&manifest, "overlap", "default_colour");
    assert_eq!(plain.clients, colour.clients);
    let (mut plain, colour) = (plain.join.unwrap(), colour.join.unwrap());
    plain.run_dir.clone_from(&colour.run_dir);
    plain.summary_problem.clone_from(&colour.summary_problem);
    assert_eq!(plain, colour);
}

/// Without a run: the NVIDIA layout gives one client per connection with its own delays, the
/// default layout one `(no stream id)` client holding every line.
#[test]
fn without_a_run_lines_are_grouped_by_stream_id_or_not_at_all() {
    let manifest = manifest();
    let scenario = scenario(&manifest, "overlap");
    let analysis = |style: &str| {
        let mut options = AnalyzeOptions::new(vec![Input::File(dir().join(&scenario.logs[style]))]);
        options.window = WindowSpec::Range {
            since: None,
            until: None,
        };
        analyze(&options).unwrap()
    };
    let with_ids = analysis("streamid");
    let sessions = sessions_by_id(scenario);
    assert_eq!(with_ids.clients.len(), scenario.sessions.len());
    for c in &with_ids.clients {
        let delays = &sessions[c.stream_id.as_str()].delays;
        let median = c.summaries.llm_ttfb.as_ref().unwrap().p50;
        near(
            Some(median),
            delays.llm,
            &format!("{} LLM TTFB p50", c.stream_id),
        );
        let median = c.summaries.tts_ttfb.as_ref().unwrap().p50;
        near(
            Some(median),
            delays.tts,
            &format!("{} TTS TTFB p50", c.stream_id),
        );
    }
    let plain = analysis("default");
    assert_eq!(plain.clients.len(), 1);
    assert_eq!(plain.clients[0].stream_id, "(no stream id)");
    let lines = &scenario.lines["default"];
    assert_eq!(
        plain.sample_count(MetricKind::LlmTtfb),
        lines["llm_ttfb"].count
    );
    assert_eq!(
        plain.sample_count(MetricKind::TtsTtfb),
        lines["tts_ttfb"].count
    );
    assert_eq!(
        plain.sample_count(MetricKind::AsrTtfb),
        lines["stt_ttfb"].count
    );
    assert_eq!(
        plain.sample_count(MetricKind::LlmProcessingTime),
        lines["llm_processing_time"].count
    );
    assert_eq!(
        plain.sample_count(MetricKind::TtsProcessingTime),
        lines["tts_processing_time"].count
    );
    assert_eq!(
        plain.sample_count(MetricKind::LlmTtfat),
        lines["llm_ttfat"].count
    );
    assert_eq!(
        plain.sample_count(MetricKind::LlmTtfb),
        with_ids.sample_count(MetricKind::LlmTtfb)
    );
}

/// Every kind of line the manifest found in pipecat's logs, in both layouts, reads as what it
/// is.
#[test]
fn every_pipecat_wording_is_recognised() {
    let manifest = manifest();
    let parser = LineParser::new(ServiceNames::default());
    let mut seen = 0;
    for scenario in &manifest.scenarios {
        for (style, kinds) in &scenario.lines {
            if style == "default_colour" {
                continue;
            }
            for (kind, line) in kinds {
                assert!(line.count > 0);
                let event = parser.parse(line.example.as_bytes());
                let metric = |event: &Option<Event>| match event {
                    Some(Event::Metric { kind, .. }) => Some(*kind),
                    _ => None,
                };
                let stop = |event: &Option<Event>| match event {
                    Some(Event::UserStoppedSpeaking { kind, .. }) => Some(*kind),
                    _ => None,
                };
                let what = format!("{style} {kind}: {}", line.example);
                match kind.as_str() {
                    "stt_ttfb" => assert_eq!(metric(&event), Some(MetricKind::AsrTtfb), "{what}"),
                    "llm_ttfb" => assert_eq!(metric(&event), Some(MetricKind::LlmTtfb), "{what}"),
                    "tts_ttfb" => assert_eq!(metric(&event), Some(MetricKind::TtsTtfb), "{what}"),
                    "llm_ttfat" => assert_eq!(metric(&event), Some(MetricKind::LlmTtfat), "{what}"),
                    "llm_processing_time" => assert_eq!(
                        metric(&event),
                        Some(MetricKind::LlmProcessingTime),
                        "{what}"
                    ),
                    "tts_processing_time" => assert_eq!(
                        metric(&event),
                        Some(MetricKind::TtsProcessingTime),
                        "{what}"
                    ),
                    "llm_usage" => assert!(
                        matches!(event, Some(Event::CompletionTokens { .. })),
                        "{what}"
                    ),
                    "vad_user_stopped_speaking" => {
                        assert_eq!(stop(&event), Some(StopKind::VadStop), "{what}")
                    }
                    "turn_user_stopped_speaking" => {
                        assert_eq!(stop(&event), Some(StopKind::TurnEnd), "{what}")
                    }
                    "turn_inference_triggered" => {
                        assert_eq!(stop(&event), Some(StopKind::InferenceTriggered), "{what}")
                    }
                    // Not used by the split.
                    _ => assert_eq!(event, None, "{what}"),
                }
                if style == "streamid" {
                    assert!(
                        event
                            .as_ref()
                            .is_none_or(|e| e.stream().starts_with(b"client_")),
                        "{what}"
                    );
                } else {
                    assert!(
                        event.as_ref().is_none_or(|e| e.stream().is_empty()),
                        "{what}"
                    );
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 20, "{seen}");
}
