//! `voiceperf analyze --run`: a log joined with a bench run folder written through bench's own
//! result types; every number is checked against values computed by hand.
//!
//! The run: connection `client_1_1795773600000` (unix 1795773600 = 2026-11-27 10:00:00 UTC),
//! three turns starting at +1 s, +10 s, +20 s; the metrics window starts at +5 s, so turn 1 is
//! warm-up. A second connection failed and never reached the log. The logs were written on a
//! UTC+01:00 wall clock (11:00:00 = +0 s).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use predicates::prelude::*;
use support::cli::voiceperf;
use support::{close_to_us, close_within, fixture};
use voiceperf::analyze::join::VadSource;
use voiceperf::analyze::{Analysis, AnalyzeOptions, RunJoin, analyze};
use voiceperf::runfolder::client_file_name;
use voiceperf::runfolder::results::{
    ClientResults, ConnectionStatus, FrameCounts, SpeechEndSource, TurnOutcome, TurnRecord,
};
use voiceperf::serverlog::input::Input;

const T0: f64 = 1_795_773_600.0;
const STREAM: &str = "client_1_1795773600000";
const FAILED_STREAM: &str = "client_2_1795773601000";

/// (turn, first chunk id, start, speech end, first audio, in window), times relative to T0.
const TURNS: [(usize, u64, f64, f64, f64, bool); 3] = [
    (1, 32, 1.0, 3.0, 4.0, false),
    (2, 313, 10.0, 12.0, 13.2, true),
    (3, 625, 20.0, 22.0, 23.0, true),
];

fn turn_record(
    (turn, first_chunk_id, start, speech_end, first_audio, in_window): (
        usize,
        u64,
        f64,
        f64,
        f64,
        bool,
    ),
) -> TurnRecord {
    TurnRecord {
        turn,
        file: format!("query_{turn}.wav"),
        in_window,
        outcome: TurnOutcome::Replied,
        scheduled_start_at: T0 + start,
        started_at: T0 + start,
        first_chunk_id,
        last_chunk_id: Some(first_chunk_id + 70),
        speech_end_chunk_id: first_chunk_id + 62,
        speech_end_s: 2.0,
        speech_end_source: SpeechEndSource::Manifest,
        speech_end_at: Some(T0 + speech_end),
        last_chunk_sent_at: Some(T0 + speech_end + 0.2),
        first_frame_at: Some(T0 + first_audio),
        first_audio_at: Some(T0 + first_audio),
        first_audible_at: Some(T0 + first_audio + 0.01),
        latency_s: Some(first_audio - speech_end),
        audible_latency_s: Some(first_audio - speech_end + 0.01),
        last_chunk_latency_s: Some(first_audio - speech_end - 0.2),
        seed_latency_s: Some(first_audio - speech_end - 0.2),
        reverse_barge_in: None,
        reply_end_at: Some(T0 + first_audio + 2.0),
        ended_at: T0 + first_audio + 3.0,
        reply_audio_s: 2.0,
        reply_frames: 50,
        reply_format: None,
        glitches: 0,
        starved_ms: 0.0,
        glitch_gaps_ms: Vec::new(),
        interruptions: 0,
        late_audio_frames: 0,
        received: Vec::new(),
        max_send_lateness_ms: 0.3,
        agent: None,
        kind: Default::default(),
        interruption: None,
        distractor: None,
        overlay_missed: None,
        agent_metrics: None,
    }
}

fn client(stream_id: &str, user: usize, turns: Vec<TurnRecord>) -> ClientResults {
    let latencies: Vec<f64> = turns
        .iter()
        .filter(|t| t.in_window)
        .filter_map(|t| t.latency_s)
        .collect();
    ClientResults {
        stream_id: stream_id.to_string(),
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
        timestamp: "2026-11-27T10:00:30+00:00".into(),
        metrics_start_time: T0 + 5.0,
        test_duration: 40.0,
        tool_version: voiceperf::VERSION.into(),
        user,
        connection: 1,
        url: format!("ws://127.0.0.1:8100/ws/{stream_id}"),
        status: if turns.is_empty() {
            ConnectionStatus::Failed
        } else {
            ConnectionStatus::Finished
        },
        connect_started_at: T0 - 0.002,
        connected_at: (!turns.is_empty()).then_some(T0 + 0.004),
        closed_at: Some(T0 + 30.0),
        audio_origin_at: Some(T0),
        chunk_ms: 32,
        chunks_sent: 900,
        greeting: None,
        glitch_count: 0,
        starved_ms: 0.0,
        turns,
        frames_received: FrameCounts::default(),
        errors: Vec::new(),
        error_counts: BTreeMap::new(),
        send_lateness_ms: None,
        receive_lag_ms: None,
    }
}

/// A run folder as bench writes it (no summary.json: the client files carry the window).
fn write_run(dir: &Path) {
    write_run_with(dir, |_| {});
}

fn write_run_with(dir: &Path, edit: impl Fn(&mut ClientResults)) {
    let mut clients = [
        client(STREAM, 1, TURNS.iter().copied().map(turn_record).collect()),
        client(FAILED_STREAM, 2, Vec::new()),
    ];
    clients.iter_mut().for_each(edit);
    for c in &clients {
        let path = dir.join(client_file_name(&c.stream_id));
        voiceperf::fsutil::write_json_atomic(&path, c).unwrap();
    }
}

fn joined(log: &str, offset: Option<i32>) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let mut options = AnalyzeOptions::new(vec![Input::File(fixture(&format!("logs/{log}")))]);
    options.run = Some(RunJoin {
        dir: dir.path().to_path_buf(),
        log_utc_offset_s: offset,
    });
    analyze(&options).expect("joined analysis")
}

/// Truth lines (voiceperf agent). Turn 2: ASR 0.100 + LLM 0.300 + TTS 0.150 inside the agent's
/// 1.160 s → its stop wait is 0.610; its last speech frame 374 was captured at
/// 374 × 32 ms = +11.968 s, 0.032 s before bench's speech end (+12.0), so VAD wait =
/// 0.610 − 0.032 = 0.578; uplink 12.020 − 11.968 = 0.052, downlink 13.200 − 13.180 = 0.020 →
/// transport/other 0.072; 0.578 + 0.55 + 0.072 = 1.2 = bench's latency. Turn 3: parts 0.450 in
/// 0.980 → stop wait 0.530; frame 687 captured at +21.984 → VAD wait 0.514; uplink 0.026 +
/// downlink 0.010 = 0.036.
#[test]
fn agent_log_splits_each_turn_exactly() {
    let a = joined("join_agent.log", None);
    let j = a.join.as_ref().expect("join report");
    assert_eq!(j.clock.source, "truth_lines");
    close_to_us(Some(j.clock.offset_s), 3600.0);
    // Truth lines logged 0, 1 and 1 ms after their send times: median 1 ms.
    close_within(j.clock.residual_ms, 1.0, 1e-3); // f64 unix times: ~1e-4 ms
    close_to_us(Some(j.metrics_start_at), T0 + 5.0);
    close_to_us(Some(j.metrics_end_at), T0 + 45.0);

    assert_eq!(j.turns.len(), 3);
    let t2 = &j.turns[1];
    assert_eq!((t2.turn, t2.in_window), (2, true));
    assert_eq!(t2.vad_source, Some(VadSource::TruthLine));
    assert_eq!(t2.agent.map(|a| a.turn), Some(2));
    let b = &t2.breakdown;
    close_to_us(b.latency, 1.2);
    close_to_us(b.asr, 0.1);
    close_to_us(b.llm_ttfb, 0.3);
    close_to_us(b.tts_ttfb, 0.15);
    close_to_us(t2.agent_stop_wait_s, 0.61);
    close_to_us(t2.vad_speech_end_offset_s, -0.032);
    close_to_us(b.vad_wait, 0.578);
    close_to_us(t2.uplink_s, 0.052);
    close_to_us(t2.downlink_s, 0.02);
    close_to_us(b.transport_other, 0.072);
    close_to_us(t2.llm_first_sentence, 0.4);
    let t3 = &j.turns[2].breakdown;
    close_to_us(t3.vad_wait, 0.514);
    close_to_us(t3.transport_other, 0.036);
    // The parts add up to the latency.
    for t in &j.turns[1..] {
        let b = &t.breakdown;
        let sum = b.vad_wait.unwrap()
            + b.asr.unwrap()
            + b.llm_ttfb.unwrap()
            + b.tts_ttfb.unwrap()
            + b.transport_other.unwrap();
        close_to_us(Some(sum), b.latency.unwrap());
    }
    // Turn 1 is warm-up: joined, but in no statistic.
    assert!(!j.turns[0].in_window);
    assert_eq!(j.turns[0].agent.map(|a| a.turn), Some(1));

    assert_eq!(j.clients.len(), 1);
    let mean = &j.clients[0].mean;
    assert_eq!(j.clients[0].turns, 2);
    close_to_us(mean.latency, 1.1);
    close_to_us(mean.vad_wait, 0.546);
    close_to_us(mean.asr, 0.09);
    close_to_us(mean.llm_ttfb, 0.275);
    close_to_us(mean.tts_ttfb, 0.135);
    close_to_us(mean.transport_other, 0.054);
    let overall = j.overall.latency.as_ref().unwrap();
    assert_eq!(overall.count, 2);
    close_to_us(Some(overall.p50), 1.1);

    let c = &j.counts;
    assert_eq!((c.connections, c.connections_in_log), (2, 1));
    assert_eq!((c.in_window_turns, c.with_latency), (2, 2));
    assert_eq!(
        (c.with_all_components, c.with_truth_line, c.with_vad_wait),
        (2, 2, 2)
    );
    assert_eq!(c.samples_before_first_turn, 1); // the greeting's TTS TTFB
    assert_eq!(c.samples_outside_window, 3); // turn 1's ASR, LLM, TTS
    assert_eq!(c.unmatched_truth_lines, 0);
}

/// Without the run's audio clock origin, the capture time of the agent's last speech frame is
/// unknown: VAD wait = the agent's stop wait (0.610), transport/other = 1.2 − 1.160 = 0.040.
#[test]
fn without_audio_origin_the_split_uses_the_agents_interval() {
    let dir = tempfile::tempdir().unwrap();
    write_run_with(dir.path(), |c| c.audio_origin_at = None);
    let mut options = AnalyzeOptions::new(vec![Input::File(fixture("logs/join_agent.log"))]);
    options.run = Some(RunJoin {
        dir: dir.path().to_path_buf(),
        log_utc_offset_s: None,
    });
    let a = analyze(&options).unwrap();
    let t2 = &a.join.as_ref().unwrap().turns[1];
    close_to_us(t2.breakdown.vad_wait, 0.61);
    close_to_us(t2.breakdown.transport_other, 0.04);
    assert_eq!(t2.uplink_s, None);
    close_to_us(t2.downlink_s, 0.02);
}

/// With --run the seed table and percentiles cover exactly the in-window turns of the run's
/// streams: no greeting, no warm-up turn, no other run's client.
#[test]
fn run_window_is_exact() {
    let a = joined("join_agent.log", None);
    assert_eq!(a.window.mode, "run");
    assert_eq!(a.clients.len(), 1);
    let c = &a.clients[0];
    assert_eq!(c.stream_id, STREAM);
    assert_eq!(c.samples.llm_ttfb, vec![0.3, 0.25]);
    assert_eq!(c.samples.tts_ttfb, vec![0.15, 0.12]);
    assert_eq!(c.samples.asr_latency, vec![0.1, 0.08]);
    assert_eq!(c.samples.asr_ttfb, vec![0.11]);
    assert_eq!(c.samples.llm_first_sentence, vec![0.4]);
    assert_eq!(c.samples.llm_tokens_per_sec, vec![25.0]); // 20 / 0.8
    let turns: Vec<u64> = c.agent_turns.iter().map(|t| t.truth.turn).collect();
    assert_eq!(turns, [2, 3]);
    close_to_us(a.seed.overall_average.llm_ttfb, 0.275);
    assert_eq!(a.empty_reason(), None);
}

/// A pipecat log (no truth lines): the clock comes from the client start line (logged at
/// 11:00:00.000, handshake done at +0.004 s → offset 3600 s, residual −4 ms); turn 2's VAD wait
/// from the last `User stopped speaking` before the reply (12.500 → 0.5 s after the speech
/// end), so transport/other = 1.2 − 0.5 − 0.1 − 0.3 − 0.15 = 0.15; turn 3 has no such line:
/// VAD wait unknown, transport/other = 1.0 − 0.08 − 0.25 − 0.12 = 0.55.
#[test]
fn pipecat_log_uses_client_start_and_user_stopped_speaking() {
    let a = joined("join_pipecat.log", None);
    let j = a.join.as_ref().unwrap();
    assert_eq!(j.clock.source, "client_start_lines");
    close_to_us(Some(j.clock.offset_s), 3600.0);
    close_within(j.clock.residual_ms, -4.0, 1e-3);
    let t2 = &j.turns[1];
    assert_eq!(t2.vad_source, Some(VadSource::UserStoppedSpeaking));
    close_to_us(t2.breakdown.vad_wait, 0.5);
    close_to_us(t2.breakdown.transport_other, 0.15);
    assert!(t2.agent.is_none());
    let t3 = &j.turns[2];
    assert_eq!(t3.breakdown.vad_wait, None);
    close_to_us(t3.breakdown.transport_other, 0.55);
    assert_eq!(j.counts.with_vad_wait, 1);
}

/// A wrong offset moves every sample out of its turn; the right one given by hand works even
/// when the log offers nothing to measure it from.
#[test]
fn given_offset_is_used_as_is() {
    let right = joined("join_pipecat.log", Some(3600));
    let j = right.join.as_ref().unwrap();
    assert_eq!(j.clock.source, "given");
    close_to_us(j.turns[1].breakdown.asr, 0.1);
    let wrong = joined("join_pipecat.log", Some(0));
    let j = wrong.join.as_ref().unwrap();
    assert_eq!(j.turns[1].breakdown.asr, None);
    assert_eq!(j.counts.with_server_samples, 0);
    // All 11 samples are an hour late: after the connection's last turn (closed at +30 s).
    assert_eq!(j.counts.samples_after_last_turn, 11);
}

#[test]
fn cli_prints_the_breakdown_and_exports_turns() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let turns_csv = dir.path().join("joined.csv");
    let output = voiceperf()
        .arg("analyze")
        .arg(fixture("logs/join_agent.log"))
        .arg("--run")
        .arg(dir.path())
        .arg("--export-turns-csv")
        .arg(&turns_csv)
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(text.contains("LATENCY BREAKDOWN"), "{text}");
    assert!(
        text.contains("Clock: log time = UTC+01:00 (from truth lines"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with(STREAM) && l.contains("1.100"))
        .unwrap_or_else(|| panic!("breakdown row missing:\n{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[1..],
        ["2", "1.100", "0.546", "0.090", "0.275", "0.135", "0.054"]
    );
    let csv = std::fs::read_to_string(&turns_csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4); // header + 3 turns
    assert!(lines[0].starts_with("stream_id,turn,file,in_window,"));
    assert!(lines[2].starts_with(&format!("{STREAM},2,query_2.wav,true,")));
    assert!(lines[2].contains(",0.578000,0.100000,0.300000,0.150000,0.072000,truth_line,2,"));

    // JSON carries the join.
    let json = voiceperf()
        .arg("analyze")
        .arg("--json")
        .arg(fixture("logs/join_agent.log"))
        .arg("--run")
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["join"]["turns"][1]["vad_source"], "truth_line");
    assert_eq!(value["join"]["counts"]["connections"], 2);
}

#[test]
fn run_errors() {
    let empty = tempfile::tempdir().unwrap();
    let log = fixture("logs/join_agent.log");
    voiceperf()
        .arg("analyze")
        .arg(&log)
        .arg("--run")
        .arg(empty.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a bench run folder"));
    // A sweep folder names its levels.
    let sweep = tempfile::tempdir().unwrap();
    let sweep_summary = voiceperf::runfolder::results::SweepSummary {
        timestamp: "2026-11-27T10:00:00+00:00".into(),
        tool_version: voiceperf::VERSION.into(),
        levels: vec![voiceperf::runfolder::results::SweepLevel {
            clients: 4,
            dir: "clients-4".into(),
            latency: None,
            turns: 0,
            error_rate: 0.0,
            reverse_barge_ins: 0,
            glitches: 0,
            trustworthy: true,
            meets_slo: None,
            stop_p95: None,
            false_stop_rate: None,
        }],
        slo_p95: None,
        max_clients_meeting_slo: None,
        fail_p95: None,
        max_error_rate: None,
        fail_stop_p95: None,
        max_false_stop_rate: None,
        min_turns: None,
        gate_failures: Vec::new(),
    };
    voiceperf::fsutil::write_json_atomic(
        &sweep.path().join(voiceperf::runfolder::SWEEP_FILE),
        &sweep_summary,
    )
    .unwrap();
    voiceperf()
        .arg("analyze")
        .arg(&log)
        .arg("--run")
        .arg(sweep.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("concurrency sweep"))
        .stderr(predicate::str::contains("clients-4 (4 users)"));
    // A log without the run's streams: the window is empty, and it says so.
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    voiceperf()
        .arg("analyze")
        .arg(fixture("logs/seed_compat.log"))
        .arg("--run")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("window empty"))
        .stderr(predicate::str::contains("2 stream ids"));
    for args in [
        vec!["--run", "x", "--all"],
        vec!["--run", "x", "--since", "2026-11-27"],
        vec!["--log-utc-offset", "+01:00"],
        vec!["--run", "x", "--log-utc-offset", "1 hour"],
    ] {
        voiceperf()
            .arg("analyze")
            .arg(&log)
            .args(&args)
            .assert()
            .code(2);
    }
}

/// A pause inside the query that the agent took for the end of the turn: it started a pipeline
/// run (ASR 0.200, LLM TTFB 0.500 logged at +11.2/+11.7 s), the user went on speaking, and the
/// run was cut short; the reply comes from the second run (the fixture's turn 2 lines). The
/// breakdown takes the run that produced the reply, not the first lines of the turn — with and
/// without a truth line.
#[test]
fn a_pipeline_run_cut_short_inside_the_turn_is_not_the_replys() {
    let aborted = [
        "2026-11-27 11:00:11.200 | DEBUG    | pipecat.processors.metrics.frame_processor_metrics:log:88 | streamId=client_1_1795773600000 - RivaASRService#0 ASR compute latency: 0.200",
        "2026-11-27 11:00:11.700 | DEBUG    | pipecat.processors.metrics.frame_processor_metrics:log:88 | streamId=client_1_1795773600000 - NvidiaLLMService#0 TTFB: 0.500",
    ];
    for (fixture_log, truth) in [("join_agent.log", true), ("join_pipecat.log", false)] {
        let original = std::fs::read_to_string(fixture(&format!("logs/{fixture_log}"))).unwrap();
        let mut lines: Vec<&str> = original.lines().collect();
        // Before turn 2's own lines (at 11:00:12.x).
        let at = lines
            .iter()
            .position(|l| l.starts_with("2026-11-27 11:00:12"))
            .unwrap();
        lines.splice(at..at, aborted);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        std::fs::write(&log, lines.join("\n")).unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        write_run(&run);
        let mut options = AnalyzeOptions::new(vec![Input::File(log)]);
        options.run = Some(RunJoin {
            dir: run,
            log_utc_offset_s: None,
        });
        let a = analyze(&options).unwrap();
        let t2 = &a.join.as_ref().unwrap().turns[1];
        assert_eq!(t2.agent.is_some(), truth, "{fixture_log}");
        close_to_us(t2.breakdown.asr, 0.1);
        close_to_us(t2.breakdown.llm_ttfb, 0.3);
        close_to_us(t2.breakdown.tts_ttfb, 0.15);
        if truth {
            close_to_us(t2.breakdown.vad_wait, 0.578);
        }
        // The cut-short run's samples still count as server samples of the run.
        assert_eq!(a.clients[0].samples.asr_latency.len(), 3, "{fixture_log}");
    }
}

/// join_pipecat.log with, inside turn 2, a `TTFB: 1e308` logged after the real 0.300 (the
/// last one before the reply is the reply's: before the fix it was this one, making the
/// turn's LLM part 1e308 and its transport/other −1e308), and completion tokens over a
/// processing time of 0, then over 0.5 s.
fn log_with_non_physical_values(dir: &Path) -> std::path::PathBuf {
    let head = "| DEBUG    | pipecat.processors.metrics.frame_processor_metrics:log:88 | streamId=client_1_1795773600000 -";
    let extra = [
        format!("2026-11-27 11:00:12.960 {head} NvidiaLLMService#0 TTFB: 1e308"),
        format!(
            "2026-11-27 11:00:12.970 {head} NvidiaLLMService#0 prompt tokens: 9, completion tokens: 16"
        ),
        format!("2026-11-27 11:00:12.980 {head} NvidiaLLMService#0 processing time: 0"),
        format!(
            "2026-11-27 11:00:12.990 {head} NvidiaLLMService#0 prompt tokens: 9, completion tokens: 20"
        ),
        format!("2026-11-27 11:00:13.000 {head} NvidiaLLMService#0 processing time: 0.5"),
    ];
    let original = std::fs::read_to_string(fixture("logs/join_pipecat.log")).unwrap();
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("2026-11-27 11:00:13.100"))
        .unwrap();
    lines.splice(at..at, extra);
    let log = dir.join("agent.log");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    log
}

/// `analyze --run` (issue 15): rejected lines never reach a turn's split, the zero-time
/// token pair makes no rate, and every number of the join is finite.
#[test]
fn joined_turns_never_see_rejected_values() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let log = log_with_non_physical_values(dir.path());
    let mut options = AnalyzeOptions::new(vec![Input::File(log)]);
    options.run = Some(RunJoin {
        dir: dir.path().to_path_buf(),
        log_utc_offset_s: None,
    });
    let a = analyze(&options).expect("joined analysis");
    support::analysis::assert_all_finite(&a);
    let j = a.join.as_ref().unwrap();
    let t2 = &j.turns[1];
    close_to_us(t2.breakdown.llm_ttfb, 0.3);
    close_to_us(t2.breakdown.vad_wait, 0.5);
    close_to_us(t2.breakdown.transport_other, 0.15);
    assert_eq!(a.clients[0].samples.llm_tokens_per_sec, vec![40.0]);
    let reasons: Vec<&str> = a.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(a.counts.rejected_lines, 2, "{reasons:?}");
    assert!(reasons[0].contains("above the ceiling"), "{reasons:?}");
    assert!(reasons[1].contains("processing time of 0 s"), "{reasons:?}");
    assert!(a.had_problems());
    assert_eq!(a.empty_reason(), None);
}

/// Turn windows of zero length (two turns starting at the same instant) and a metrics window
/// of zero length: nothing is divided by a window's length, samples go to the later turn, and
/// every number stays finite.
#[test]
fn zero_length_time_windows_divide_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_run_with(dir.path(), |c| {
        if c.turns.len() == 3 {
            let start = c.turns[1].started_at;
            c.turns[2].started_at = start;
            c.turns[2].scheduled_start_at = start;
        }
        c.test_duration = 0.0;
    });
    let log = log_with_non_physical_values(dir.path());
    let mut options = AnalyzeOptions::new(vec![Input::File(log)]);
    options.run = Some(RunJoin {
        dir: dir.path().to_path_buf(),
        log_utc_offset_s: Some(3600),
    });
    let a = analyze(&options).expect("joined analysis");
    support::analysis::assert_all_finite(&a);
    let j = a.join.as_ref().unwrap();
    // Turn 2's window [+10 s, +10 s) is empty: its lines belong to turn 3.
    assert_eq!(j.turns[1].server_samples, 0);
    assert!(j.turns[2].server_samples > 0);
}
