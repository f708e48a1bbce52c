//! `voiceperf analyze` on committed log fixtures, every number checked against values computed
//! by hand (written next to each assertion).

mod support;

use std::io::Write;
use std::path::Path;

use predicates::prelude::*;
use support::analysis::assert_all_finite;
use support::cli::voiceperf;
use support::{close, fixture, values};
use voiceperf::analyze::window::{WindowSpec, parse_user_time};
use voiceperf::analyze::{Analysis, AnalyzeOptions, EmptyReason, analyze};
use voiceperf::serverlog::input::Input;
use voiceperf::serverlog::parse::LogTime;

fn run_on(names: &[&str], window: WindowSpec) -> Analysis {
    let mut options = AnalyzeOptions::new(
        names
            .iter()
            .map(|n| Input::File(fixture(&format!("logs/{n}"))))
            .collect(),
    );
    options.window = window;
    analyze(&options).expect("analysis runs")
}

fn all() -> WindowSpec {
    WindowSpec::Range {
        since: None,
        until: None,
    }
}

/// seed_compat.log: an earlier run (client_0_1700000000000, values 9.0 — excluded), then a run
/// whose clients start at lines 7, 10 and 12 (the last start). Lines 8, 9, 11 come before the
/// last start and are excluded too, including the 77 completion tokens of line 9, which must
/// not pair with client 0's processing time 0.800 on line 14.
#[test]
fn seed_window_per_client_arrays_and_means() {
    let a = run_on(&["seed_compat.log"], WindowSpec::LastClientStart);
    let ids: Vec<&str> = a.clients.iter().map(|c| c.stream_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "client_0_1800000000000",
            "client_1_1800000001000",
            "client_2_1800000000500"
        ]
    );
    let start = a.window.last_client_start.as_ref().expect("a client start");
    assert_eq!(start.line, 12);
    assert_eq!(start.stream_id, "client_1_1800000001000");
    assert_eq!(a.window.mode, "last_client_start");

    let c0 = &a.clients[0];
    values(&c0.samples.llm_ttfb, &[0.3, 0.5]);
    values(&c0.samples.tts_ttfb, &[0.1, 0.2]);
    values(&c0.samples.asr_latency, &[0.04, 0.06]);
    values(&c0.samples.llm_first_sentence, &[0.4, 0.6]);
    // 20 tokens / 0.5 s and 16 tokens / 0.4 s; the 0.8 s had no tokens pending.
    values(&c0.samples.llm_tokens_per_sec, &[40.0, 40.0]);
    values(&c0.samples.asr_ttfb, &[0.552]);
    values(&c0.samples.llm_ttfat, &[0.301]);
    values(&c0.samples.llm_processing_time, &[0.8, 0.5, 0.4]);
    values(&c0.samples.tts_processing_time, &[0.15]);
    close(c0.means.llm_ttfb, 0.4);
    close(c0.means.tts_ttfb, 0.15);
    close(c0.means.asr_latency, 0.05);
    close(c0.means.llm_first_sentence, 0.5);
    close(c0.means.llm_tokens_per_sec, 40.0);
    assert_eq!((c0.calls.llm, c0.calls.tts, c0.calls.asr), (2, 2, 2));

    let c1 = &a.clients[1];
    values(&c1.samples.llm_ttfb, &[0.5, 0.7]);
    values(&c1.samples.tts_ttfb, &[0.2, 0.4]);
    values(&c1.samples.asr_latency, &[0.06, 0.08]);
    values(&c1.samples.llm_first_sentence, &[0.9]);
    values(&c1.samples.llm_tokens_per_sec, &[50.0]); // 30 / 0.6
    assert!(c1.samples.asr_ttfb.is_empty());

    let c2 = &a.clients[2];
    values(&c2.samples.llm_ttfb, &[0.0]); // the 5.0 on line 11 is before the last start
    values(&c2.samples.tts_ttfb, &[0.3]);
    values(&c2.samples.asr_latency, &[0.05]);
    assert_eq!(c2.means.llm_first_sentence, None);
    assert_eq!((c2.calls.llm, c2.calls.tts, c2.calls.asr), (1, 1, 1));
}

/// The seed's overall rows: mean of client means with zero means skipped; "P95" = sorted client
/// means at index int(0.95·(n−1)). Checked against the seed's own regexes and arithmetic too.
#[test]
fn seed_overall_numbers() {
    let a = run_on(&["seed_compat.log"], WindowSpec::LastClientStart);
    let avg = &a.seed.overall_average;
    let p95 = &a.seed.overall_p95;
    // LLM means 0.4, 0.6 (client 2's 0.0 skipped): avg 0.5; n=2 → index 0 → 0.4.
    close(avg.llm_ttfb, 0.5);
    close(p95.llm_ttfb, 0.4);
    assert_eq!(a.seed.clients_counted.llm_ttfb, 2);
    // TTS means 0.15, 0.3, 0.3: avg 0.25; n=3 → index int(1.9)=1 → 0.3.
    close(avg.tts_ttfb, 0.25);
    close(p95.tts_ttfb, 0.3);
    // ASR means 0.05, 0.07, 0.05: avg 0.17/3; sorted 0.05, 0.05, 0.07 → index 1 → 0.05.
    close(avg.asr_latency, 0.17 / 3.0);
    close(p95.asr_latency, 0.05);
    // First sentence means 0.5, 0.9: avg 0.7, P95 0.5.
    close(avg.llm_first_sentence, 0.7);
    close(p95.llm_first_sentence, 0.5);
    // Tokens/s means 40, 50: avg 45, P95 40.
    close(avg.llm_tokens_per_sec, 45.0);
    close(p95.llm_tokens_per_sec, 40.0);
}

/// Percentiles over all samples, numpy's linear interpolation.
#[test]
fn percentiles_over_all_samples() {
    let a = run_on(&["seed_compat.log"], WindowSpec::LastClientStart);
    // LLM TTFB samples 0.3 0.5 0.5 0.7 0.0 → sorted 0 .3 .5 .5 .7; p90 rank 3.6 → .5+.6·.2.
    let llm = a.percentiles.llm_ttfb.as_ref().expect("LLM samples");
    assert_eq!(llm.count, 5);
    close(llm.mean, 0.4);
    close(llm.p50, 0.5);
    close(llm.p90, 0.62);
    close(llm.p95, 0.66);
    close(llm.p99, 0.692);
    close(llm.max, 0.7);
    // TTS 0.1 0.2 0.2 0.3 0.4: mean 0.24, p95 rank 3.8 → 0.38.
    let tts = a.percentiles.tts_ttfb.as_ref().expect("TTS samples");
    close(tts.mean, 0.24);
    close(tts.p95, 0.38);
    // Tokens/s 40 40 50: p90 rank 1.8 → 48.
    let tps = a.percentiles.llm_tokens_per_sec.as_ref().expect("rates");
    close(tps.p90, 48.0);
    close(tps.mean, 130.0 / 3.0);
    // The ASR's own TTFB and the TTFAT are reported apart, one sample each.
    assert_eq!(a.percentiles.asr_ttfb.as_ref().map(|s| s.count), Some(1));
    assert_eq!(a.percentiles.llm_ttfat.as_ref().map(|s| s.count), Some(1));
    assert!(a.agent_turn_latency.is_none());
}

#[test]
fn all_lines_window_includes_earlier_runs() {
    let a = run_on(&["seed_compat.log"], all());
    assert_eq!(a.window.mode, "all");
    let old = a
        .clients
        .iter()
        .find(|c| c.stream_id == "client_0_1700000000000")
        .expect("earlier run included");
    values(&old.samples.llm_ttfb, &[9.0]);
    let c0 = &a.clients[1];
    assert_eq!(c0.stream_id, "client_0_1800000000000");
    values(&c0.samples.asr_latency, &[0.5, 0.04, 0.06]);
    // With everything in, the 77 tokens of line 9 pair with the 0.8 s of line 14.
    values(&c0.samples.llm_tokens_per_sec, &[77.0 / 0.8, 40.0, 40.0]);
    let c2 = a
        .clients
        .iter()
        .find(|c| c.stream_id == "client_2_1800000000500")
        .expect("client 2");
    values(&c2.samples.llm_ttfb, &[5.0, 0.0]);
}

#[test]
fn time_window_uses_the_logs_own_timestamps() {
    // Lines 35..=40 (client 0's second turn) are logged 10:00:04.384 … 10:00:05.069.
    let since = parse_user_time("2026-11-27 10:00:04.384").unwrap();
    let until = parse_user_time("2026-11-27 10:00:05.069").unwrap();
    let a = run_on(
        &["seed_compat.log"],
        WindowSpec::Range {
            since: Some(since),
            until: Some(until),
        },
    );
    assert_eq!(a.window.mode, "time_range");
    assert_eq!(a.clients.len(), 1);
    let c0 = &a.clients[0];
    values(&c0.samples.asr_latency, &[0.06]);
    values(&c0.samples.llm_ttfb, &[0.5]);
    values(&c0.samples.llm_first_sentence, &[0.6]);
    values(&c0.samples.llm_tokens_per_sec, &[40.0]);
    values(&c0.samples.tts_ttfb, &[0.2]);
    let bounds: (Option<LogTime>, Option<LogTime>) = (Some(since), Some(until));
    assert_eq!(
        (a.window.since.clone(), a.window.until.clone()),
        (
            bounds.0.map(|t| t.to_string()),
            bounds.1.map(|t| t.to_string())
        )
    );
}

/// docker compose prefix, ANSI colours, CRLF, `s` units, instance numbers #11/#12, the newer
/// Nemotron service names, and uvicorn's `[accepted]` line (line 3) as the last client start.
#[test]
fn docker_colour_crlf_and_unit_variations() {
    let a = run_on(&["docker_variants.log"], WindowSpec::LastClientStart);
    assert_eq!(a.window.last_client_start.as_ref().map(|s| s.line), Some(3));
    assert_eq!(a.clients.len(), 2);
    let (c0, c1) = (&a.clients[0], &a.clients[1]);
    assert_eq!(c0.stream_id, "client_0_1");
    values(&c0.samples.llm_ttfb, &[0.15]);
    values(&c0.samples.tts_ttfb, &[0.08]);
    values(&c0.samples.asr_latency, &[0.03]); // 0.100 on line 2 is before the last start
    values(&c0.samples.llm_first_sentence, &[0.35]);
    values(&c0.samples.llm_tokens_per_sec, &[40.0]); // 24 / 0.6
    assert_eq!(c1.stream_id, "client_1_2");
    values(&c1.samples.llm_ttfb, &[0.25]);
    values(&c1.samples.tts_ttfb, &[0.12]);
    values(&c1.samples.asr_latency, &[0.05]);
    values(&c1.samples.asr_ttfb, &[0.6]); // the ASR's TTFB, not an LLM/TTS one
    assert!(c1.samples.llm_tokens_per_sec.is_empty());
    values(&c1.samples.llm_processing_time, &[1.0]);
    close(a.seed.overall_average.llm_ttfb, 0.2);
    close(a.seed.overall_p95.llm_ttfb, 0.15);
    close(a.seed.overall_average.tts_ttfb, 0.1);
    close(a.seed.overall_average.asr_latency, 0.04);
    assert_eq!(a.warnings_total, 0);
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let plain = run_on(&["seed_compat.log"], WindowSpec::LastClientStart);
    let gz = run_on(&["rotated.log.1"], WindowSpec::LastClientStart);
    assert!(gz.inputs[0].gzip);
    assert!(!plain.inputs[0].gzip);
    assert_eq!(gz.clients, plain.clients);
    assert_eq!(gz.seed, plain.seed);
    assert_eq!(gz.counts.lines, 45);
}

/// Several files are one log read in order: a log split anywhere gives the same result.
#[test]
fn several_files_read_as_one_log() {
    let text = std::fs::read_to_string(fixture("logs/seed_compat.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = run_on(&["seed_compat.log"], WindowSpec::LastClientStart);
    for split_line in [5, 12, 20, 44] {
        let lines: Vec<&str> = text.lines().collect();
        let first = dir.path().join(format!("a{split_line}.log"));
        let second = dir.path().join(format!("b{split_line}.log"));
        std::fs::write(&first, lines[..split_line].join("\n") + "\n").unwrap();
        std::fs::write(&second, lines[split_line..].join("\n") + "\n").unwrap();
        let options = AnalyzeOptions::new(vec![Input::File(first), Input::File(second)]);
        let split = analyze(&options).unwrap();
        assert_eq!(split.clients, whole.clients, "split at {split_line}");
        assert_eq!(split.seed, whole.seed);
        assert_eq!(split.counts.lines, 45);
        assert_eq!(split.inputs.len(), 2);
    }
}

#[test]
fn agent_truth_lines_become_turn_records() {
    let a = run_on(&["agent_truth.log"], WindowSpec::LastClientStart);
    assert_eq!(a.clients.len(), 1);
    let turns = &a.clients[0].agent_turns;
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0].truth.turn, 1);
    assert_eq!(turns[0].truth.last_speech_frame_id, 120);
    close(turns[0].truth.speech_arrived_unix, 1_795_773_600.1);
    close(turns[0].truth.first_reply_unix, 1_795_773_601.05);
    close(turns[0].truth.latency_s, 0.95);
    assert_eq!(
        turns[0].log_time.as_deref(),
        Some("2026-11-27 12:00:01.050")
    );
    assert_eq!(turns[1].truth.last_speech_frame_id, 300);
    let agent = a.agent_turn_latency.as_ref().expect("turns");
    assert_eq!(agent.count, 2);
    close(agent.mean, 0.825);
    close(agent.max, 0.95);
    // Turn 3's numbers are garbage: a warning with its line, not a record.
    assert_eq!(a.warnings_total, 1);
    assert_eq!(a.warnings[0].line, 8);
    assert!(a.had_problems());
}

#[test]
fn malformed_values_warn_with_line_numbers_and_the_rest_counts() {
    let a = run_on(&["malformed.log"], WindowSpec::LastClientStart);
    let lines: Vec<u64> = a.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(
        a.warnings[0].message.contains("LLM TTFB"),
        "{:?}",
        a.warnings
    );
    values(&a.clients[0].samples.llm_ttfb, &[0.2]);
    values(&a.clients[0].samples.tts_ttfb, &[0.1]);
    assert!(a.clients[0].samples.asr_latency.is_empty());

    voiceperf()
        .args(["analyze", fixture("logs/malformed.log").to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "malformed.log:3: malformed LLM TTFB",
        ))
        .stderr(predicate::str::contains(
            "malformed.log:4: malformed ASR Latency",
        ))
        .stderr(predicate::str::contains("malformed.log:5:"))
        .stdout(predicate::str::contains("OVERALL AVERAGE"));
}

#[test]
fn empty_results_say_why() {
    let reason = |name: &str| run_on(&[name], WindowSpec::LastClientStart).empty_reason();
    assert!(matches!(
        reason("no_client_start.log"),
        Some(EmptyReason::NoClientStart { lines: 3, .. })
    ));
    assert!(matches!(
        reason("no_metrics.log"),
        Some(EmptyReason::NoMetricLines { lines: 4, .. })
    ));
    assert!(matches!(
        reason("window_empty.log"),
        Some(EmptyReason::WindowEmpty {
            metric_lines: 2,
            ..
        })
    ));
    assert_eq!(reason("seed_compat.log"), None);
    // --all finds the metrics of the log without a client start.
    let a = run_on(&["no_client_start.log"], all());
    assert_eq!(a.empty_reason(), None);
    values(&a.clients[0].samples.llm_ttfb, &[0.2]);

    for (name, message) in [
        ("no_client_start.log", "no client start found"),
        ("no_metrics.log", "no metric lines"),
        ("window_empty.log", "window empty"),
    ] {
        voiceperf()
            .args([
                "analyze",
                fixture(&format!("logs/{name}")).to_str().unwrap(),
            ])
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn text_report_has_the_seed_layout_and_percentiles() {
    let output = voiceperf()
        .args(["analyze", fixture("logs/seed_compat.log").to_str().unwrap()])
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    for needle in [
        "LATENCY ANALYSIS RESULTS",
        "client_0_1800000000000:\n  LLM TTFB: ['0.300', '0.500']",
        "  LLM Tokens/sec: ['40.00', '40.00']",
        "Client ID                 LLM TTFB   TTS TTFB   ASR Lat    LLM 1st    Tokens/s   LLM calls  TTS calls  ASR calls",
        "client_0_1800000000000    0.400      0.150      0.050      0.500      40.00      2          2          2",
        "OVERALL AVERAGE           0.500      0.250      0.057      0.700      45.00",
        "OVERALL P95               0.400      0.300      0.050      0.500      40.00",
        "PERCENTILES OVER ALL SAMPLES",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let llm_row = text
        .lines()
        .find(|l| l.starts_with("LLM TTFB "))
        .expect("percentile row");
    let cells: Vec<&str> = llm_row.split_whitespace().collect();
    // count mean p50 p90 p95 p99 max
    assert_eq!(
        cells[2..],
        ["5", "0.400", "0.500", "0.620", "0.660", "0.692", "0.700"]
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when NO_COLOR / not a tty"
    );
}

#[test]
fn json_output_is_the_result_struct() {
    let output = voiceperf()
        .args([
            "analyze",
            "--json",
            fixture("logs/seed_compat.log").to_str().unwrap(),
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let clients = json["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 3);
    assert_eq!(clients[0]["stream_id"], "client_0_1800000000000");
    assert_eq!(
        clients[0]["samples"]["llm_ttfb"],
        serde_json::json!([0.3, 0.5])
    );
    assert_eq!(clients[0]["calls"]["llm"], 2);
    assert_eq!(json["seed"]["overall_average"]["llm_ttfb"], 0.5);
    assert_eq!(json["percentiles"]["llm_ttfb"]["count"], 5);
    assert_eq!(json["window"]["mode"], "last_client_start");
    // It deserializes back into the same struct.
    let back: Analysis = serde_json::from_slice(&output).unwrap();
    assert_eq!(back.clients[0].samples.llm_ttfb, vec![0.3, 0.5]);
}

#[test]
fn csv_output_has_a_row_per_client_and_the_overall_rows() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("out.csv");
    let json_export = dir.path().join("out.json");
    let output = voiceperf()
        .args([
            "analyze",
            "--csv",
            fixture("logs/seed_compat.log").to_str().unwrap(),
        ])
        .arg("--export-csv")
        .arg(&export)
        .arg("--export-json")
        .arg(&json_export)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8(output).unwrap();
    assert_eq!(std::fs::read_to_string(&export).unwrap(), csv);
    let exported: Analysis =
        serde_json::from_str(&std::fs::read_to_string(&json_export).unwrap()).unwrap();
    assert_eq!(exported.clients.len(), 3);
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    assert_eq!(header[0], "client");
    assert_eq!(header[1], "llm_ttfb_mean");
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(rows[1][0], "client_0_1800000000000");
    assert_eq!(rows[1][col("llm_ttfb_mean")], "0.400000");
    assert_eq!(rows[1][col("llm_calls")], "2");
    assert_eq!(rows[3][col("llm_first_sentence_mean")], ""); // client 2 has none
    let overall = rows.iter().find(|r| r[0] == "OVERALL P95").unwrap();
    assert_eq!(overall[col("tts_ttfb_mean")], "0.300000");
    let p90 = rows.iter().find(|r| r[0] == "ALL SAMPLES P90").unwrap();
    assert_eq!(p90[col("llm_ttfb_mean")], "0.620000");
}

#[test]
fn stdin_plain_and_gzip() {
    let plain = std::fs::read(fixture("logs/seed_compat.log")).unwrap();
    let gz = std::fs::read(fixture("logs/rotated.log.1")).unwrap();
    for input in [plain, gz] {
        voiceperf()
            .args(["analyze", "-"])
            .env("NO_COLOR", "1")
            .write_stdin(input)
            .assert()
            .success()
            .stdout(predicate::str::contains("Analyzing: <stdin>"))
            .stdout(predicate::str::contains(
                "OVERALL AVERAGE           0.500      0.250      0.057      0.700      45.00",
            ));
    }
}

#[test]
fn stdin_and_files_mix_in_order() {
    // The earlier part of the log on stdin, the rest in a file.
    let text = std::fs::read_to_string(fixture("logs/seed_compat.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let rest = dir.path().join("rest.log");
    std::fs::write(&rest, lines[20..].join("\n") + "\n").unwrap();
    voiceperf()
        .args(["analyze", "--json", "-"])
        .arg(&rest)
        .write_stdin(lines[..20].join("\n") + "\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"overall_average\""))
        .stdout(predicate::str::contains("\"client_2_1800000000500\""));
}

#[test]
fn unreadable_inputs_are_reported_and_the_rest_analyzed() {
    let missing = fixture("logs/does_not_exist.log");
    voiceperf()
        .arg("analyze")
        .arg(&missing)
        .arg(fixture("logs/seed_compat.log"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does_not_exist.log"))
        .stdout(predicate::str::contains("OVERALL AVERAGE"));
    voiceperf()
        .arg("analyze")
        .arg(&missing)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no input could be read"));
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let gz = std::fs::read(fixture("logs/rotated.log.1")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.gz");
    let mut file = std::fs::File::create(&cut).unwrap();
    file.write_all(&gz[..gz.len() - 40]).unwrap();
    drop(file);
    voiceperf()
        .arg("analyze")
        .arg("--all")
        .arg(&cut)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cut.gz"));
}

#[test]
fn usage_errors_exit_2() {
    let log = fixture("logs/seed_compat.log");
    let log = log.to_str().unwrap();
    for args in [
        vec!["analyze", "-", "-"],
        vec!["analyze", "--since", "soon", log],
        vec![
            "analyze",
            "--since",
            "2026-11-27 11:00:00",
            "--until",
            "2026-11-27 10:00:00",
            log,
        ],
        vec!["analyze", "--llm-service", "Bad Name", log],
        vec!["analyze", "--json", "--csv", log],
        vec!["analyze"],
    ] {
        voiceperf().args(&args).assert().code(2);
    }
}

#[test]
fn other_deployments_service_names() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("openai.log");
    let p = "2026-11-27 10:00:00.000 | DEBUG    | m:f:1 | streamId=client_0_5 - ";
    std::fs::write(
        &log,
        format!(
            "{p}Accepting WebSocket connection for stream ID client_0_5\n\
             {p}OpenAILLMService#0 TTFB: 0.42\n\
             {p}CartesiaTTSService#0 TTFB: 0.11\n\
             {p}DeepgramSTTService#0 TTFB: 0.2\n"
        ),
    )
    .unwrap();
    let json = |args: &[&str], log: &Path| -> Analysis {
        let output = voiceperf()
            .args(["analyze", "--json"])
            .args(args)
            .arg(log)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&output).unwrap()
    };
    // pipecat's naming convention is the default.
    let a = json(&[], &log);
    values(&a.clients[0].samples.llm_ttfb, &[0.42]);
    values(&a.clients[0].samples.tts_ttfb, &[0.11]);
    values(&a.clients[0].samples.asr_ttfb, &[0.2]);
    // Other names are given by flag.
    let custom = dir.path().join("custom.log");
    std::fs::write(
        &custom,
        format!(
            "{p}Accepting WebSocket connection for stream ID client_0_5\n\
             {p}AcmeBrain#0 TTFB: 0.42\n\
             {p}AcmeVoice#0 TTFB: 0.11\n\
             {p}AcmeEars#0 TTFB: 0.2\n"
        ),
    )
    .unwrap();
    let a = json(
        &[
            "--llm-service",
            "Acme*n",
            "--tts-service",
            "AcmeVoice,ElevenLabsTTSService",
            "--asr-service",
            "AcmeEars",
        ],
        &custom,
    );
    values(&a.clients[0].samples.llm_ttfb, &[0.42]);
    values(&a.clients[0].samples.tts_ttfb, &[0.11]);
    values(&a.clients[0].samples.asr_ttfb, &[0.2]);
    // Default names: nothing recognised, and the error says how to fix it.
    voiceperf()
        .arg("analyze")
        .arg(&custom)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--llm-service"));
}

/// uvicorn's `[accepted]` line follows the application's `Accepting …` line of the same
/// connection; it is not a later start (the seed only knew the application's line), so metric
/// lines logged between the two still count. A log with only uvicorn lines uses those.
#[test]
fn uvicorn_accept_lines_do_not_move_the_window_twice() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("uvicorn.log");
    let line = |stream: &str, message: &str| {
        format!("2026-11-27 10:00:00.000 | DEBUG    | m:f:1 | streamId={stream} - {message}\n")
    };
    let accepted = |stream: &str| {
        format!("INFO:     127.0.0.1:5000 - \"WebSocket /ws/{stream}\" [accepted]\n")
    };
    let (a, b) = ("client_0_1", "client_1_2");
    let text = [
        line(
            a,
            &format!("Accepting WebSocket connection for stream ID {a}"),
        ),
        accepted(a),
        line(
            b,
            &format!("Accepting WebSocket connection for stream ID {b}"),
        ),
        line(a, "NvidiaLLMService#0 TTFB: 0.1"),
        accepted(b),
        line(a, "NvidiaLLMService#0 TTFB: 0.2"),
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let a_result = analyze(&AnalyzeOptions::new(vec![Input::File(log.clone())])).unwrap();
    values(&a_result.clients[0].samples.llm_ttfb, &[0.1, 0.2]);
    assert_eq!(a_result.window.last_client_start.as_ref().unwrap().line, 3);

    let only_uvicorn = [
        accepted(a),
        line(a, "NvidiaLLMService#0 TTFB: 0.1"),
        accepted(b),
        line(a, "NvidiaLLMService#0 TTFB: 0.2"),
    ]
    .concat();
    std::fs::write(&log, only_uvicorn).unwrap();
    let result = analyze(&AnalyzeOptions::new(vec![Input::File(log)])).unwrap();
    values(&result.clients[0].samples.llm_ttfb, &[0.2]);
}

/// A malformed value outside the window (an earlier run in the same log, before the last
/// client start; or a stream outside `--since`) is not read, so it is no warning and does not
/// fail the analysis; inside the window it is.
#[test]
fn malformed_values_outside_the_window_are_not_problems() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("two_runs.log");
    let line = |time: &str, stream: &str, message: &str| {
        format!("2026-11-27 {time} | DEBUG    | m:f:1 | streamId={stream} - {message}\n")
    };
    let text = [
        line(
            "09:00:00.000",
            "client_1_1",
            "Accepting WebSocket connection for stream ID client_1_1",
        ),
        line(
            "09:00:01.000",
            "client_1_1",
            "NvidiaLLMService#0 TTFB: garbage",
        ),
        line(
            "10:00:00.000",
            "client_1_2",
            "Accepting WebSocket connection for stream ID client_1_2",
        ),
        line(
            "10:00:01.000",
            "client_1_2",
            "NvidiaLLMService#0 TTFB: 0.300",
        ),
    ]
    .concat();
    std::fs::write(&log, &text).unwrap();
    let analyze_with = |window: WindowSpec| {
        let mut options = AnalyzeOptions::new(vec![Input::File(log.clone())]);
        options.window = window;
        analyze(&options).unwrap()
    };
    let seed_window = analyze_with(WindowSpec::LastClientStart);
    assert_eq!(seed_window.warnings_total, 0, "{:?}", seed_window.warnings);
    assert!(!seed_window.had_problems());
    values(&seed_window.clients[0].samples.llm_ttfb, &[0.3]);
    let since = analyze_with(WindowSpec::Range {
        since: Some(parse_user_time("2026-11-27 09:30").unwrap()),
        until: None,
    });
    assert_eq!(since.warnings_total, 0);
    // Every line: the bad value is read, and warned about.
    let every = analyze_with(all());
    assert_eq!(every.warnings_total, 1);
    assert_eq!(every.warnings[0].line, 2);
    voiceperf()
        .args(["analyze", log.to_str().unwrap()])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("malformed").not());
}

/// non_physical.log (issue 15): a TTFB of 1e308 (twice: their sum overflowed into a mean of
/// `inf`), -1, NaN, inf and 1e400, completion tokens over a processing time of 0 (dropped
/// without a word before) and over -1. Each is rejected with its file, line and reason; the
/// rest of the log still counts.
#[test]
fn non_physical_values_are_rejected_with_file_line_and_reason() {
    use voiceperf::serverlog::parse::Rejection::{self, *};
    let a = run_on(&["non_physical.log"], WindowSpec::LastClientStart);
    let c = &a.clients[0];
    values(&c.samples.llm_ttfb, &[0.2]);
    values(&c.samples.tts_ttfb, &[0.1]);
    values(&c.samples.asr_latency, &[0.05]);
    // 20 tokens / 0.5 s; the 16 over 0 s and the 8 over -1 s make no rate.
    values(&c.samples.llm_tokens_per_sec, &[40.0]);
    // The zero processing time is a (coarse) measurement of its own; only the pair is rejected.
    values(&c.samples.llm_processing_time, &[0.0, 0.5, 0.4]);
    close(c.means.llm_ttfb, 0.2);
    let found: Vec<(u64, Rejection)> = a.warnings.iter().map(|w| (w.line, w.reason)).collect();
    assert_eq!(
        found,
        [
            (3, AboveCeiling),
            (4, Negative),
            (5, NotANumber),
            (6, Infinite),
            (7, Infinite),
            (9, ZeroProcessingTime),
            (15, Negative),
            (17, AboveCeiling),
        ]
    );
    assert!(
        a.warnings
            .iter()
            .all(|w| w.file.ends_with("non_physical.log"))
    );
    assert_eq!(a.counts.rejected_lines, 8);
    assert_eq!(a.warnings_total, 8);
    let by_reason: Vec<(Rejection, u64)> = a
        .counts
        .rejected_by_reason
        .iter()
        .map(|(r, n)| (*r, *n))
        .collect();
    assert_eq!(
        by_reason,
        [
            (NotANumber, 1),
            (Infinite, 2),
            (Negative, 2),
            (AboveCeiling, 2),
            (ZeroProcessingTime, 1)
        ]
    );
    let message = |line: u64| {
        a.warnings
            .iter()
            .find(|w| w.line == line)
            .map(|w| w.message.clone())
            .unwrap()
    };
    assert!(
        message(3).contains("above the ceiling of 3600 s"),
        "{}",
        message(3)
    );
    assert!(message(9).contains("16 completion tokens (line 8)"));
    assert!(message(9).contains("processing time of 0 s"));
    assert!(
        message(15).contains("the 8 completion tokens of line 14 are dropped"),
        "{}",
        message(15)
    );
    assert_all_finite(&a);
    assert_eq!(a.empty_reason(), None);
    // Rejections are problems of the input: the run says so in its exit status.
    assert!(a.had_problems());
}

/// The same log through the binary: one warning line per rejected line on stderr, the report
/// on stdout with the count by reason, exit status 1 (something in the input was bad, the
/// rest was analyzed); the JSON has the count, the reasons and no `null` or `inf` mean.
#[test]
fn non_physical_values_in_text_and_json_output() {
    let log = fixture("logs/non_physical.log");
    let output = voiceperf()
        .args(["analyze", log.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "non_physical.log:3: rejected LLM TTFB: above the ceiling of 3600 s (1 h): `NvidiaLLMService#0 TTFB: 1e308`",
        ))
        .stderr(predicate::str::contains(
            "non_physical.log:4: rejected TTS TTFB: negative",
        ))
        .stderr(predicate::str::contains(
            "non_physical.log:5: rejected ASR Latency: not a number (NaN)",
        ))
        .stderr(predicate::str::contains(
            "non_physical.log:7: rejected LLM TTFB: infinite",
        ))
        .stderr(predicate::str::contains(
            "non_physical.log:9: rejected LLM Tokens/sec: 16 completion tokens (line 8) over a processing time of 0 s: no rate",
        ))
        .stdout(predicate::str::contains(
            "8 line(s) rejected, their values not used: 1 not a number, 2 infinite, 2 negative, 2 above the ceiling, 1 zero processing time",
        ))
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.lines().filter(|l| l.contains("warning:")).count(),
        8,
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let table = stdout
        .lines()
        .find(|l| l.starts_with("OVERALL AVERAGE"))
        .unwrap();
    // LLM TTFB, TTS TTFB, ASR, first sentence (none), tokens/s.
    assert_eq!(
        table.split_whitespace().collect::<Vec<_>>(),
        [
            "OVERALL", "AVERAGE", "0.200", "0.100", "0.050", "-", "40.00"
        ]
    );
    for bad in ["inf", "NaN"] {
        let mentioned = stdout.lines().any(|l| {
            !l.contains("rejected")
                && l.split(|c: char| !c.is_ascii_alphabetic())
                    .any(|w| w == bad)
        });
        assert!(!mentioned, "`{bad}` in the report:\n{stdout}");
    }

    let output = voiceperf()
        .args(["analyze", "--json", log.to_str().unwrap()])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(json["counts"]["rejected_lines"], 8);
    assert_eq!(
        json["counts"]["rejected_by_reason"],
        serde_json::json!({
            "not_a_number": 1, "infinite": 2, "negative": 2, "above_ceiling": 2,
            "zero_processing_time": 1
        })
    );
    assert_eq!(json["warnings_total"], 8);
    assert_eq!(json["warnings"][0]["line"], 3);
    assert_eq!(json["warnings"][0]["reason"], "above_ceiling");
    assert_eq!(json["warnings"][5]["reason"], "zero_processing_time");
    for key in ["llm_ttfb", "tts_ttfb", "asr_latency", "llm_tokens_per_sec"] {
        assert!(
            json["seed"]["overall_average"][key].is_f64(),
            "overall_average.{key} = {}",
            json["seed"]["overall_average"][key]
        );
        assert!(json["percentiles"][key]["mean"].is_f64(), "{key}");
        assert!(json["clients"][0]["means"][key].is_f64(), "{key}");
    }
    assert_eq!(json["seed"]["overall_average"]["llm_ttfb"], 0.2);
    assert_eq!(json["percentiles"]["llm_tokens_per_sec"]["mean"], 40.0);
    let back: Analysis = serde_json::from_slice(&output).unwrap();
    assert_all_finite(&back);
}

/// A log whose metric lines are all rejected has nothing to report: one error line saying
/// so (after the warnings), nothing on stdout, exit status 1.
#[test]
fn a_log_whose_lines_are_all_rejected_is_an_error() {
    let a = run_on(&["all_rejected.log"], WindowSpec::LastClientStart);
    assert!(matches!(
        a.empty_reason(),
        Some(EmptyReason::AllRejected { rejected: 3, .. })
    ));
    for format in [None, Some("--json"), Some("--csv")] {
        let mut args = vec!["analyze"];
        args.extend(format);
        let path = fixture("logs/all_rejected.log");
        args.push(path.to_str().unwrap());
        let output = voiceperf()
            .args(&args)
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            errors,
            [
                "error: nothing usable: all 3 metric line(s) inside the window were rejected \
                 (1 not a number, 1 negative, 1 above the ceiling); first: \
                 all_rejected.log:2: rejected LLM TTFB: above the ceiling of 3600 s (1 h): \
                 `NvidiaLLMService#0 TTFB: 1e308`"
                    .replace(
                        "all_rejected.log:2",
                        &format!("{}:2", fixture("logs/all_rejected.log").display())
                    )
                    .as_str()
            ],
            "{stderr}"
        );
        assert_eq!(
            stderr.lines().filter(|l| l.contains("warning:")).count(),
            3,
            "{stderr}"
        );
    }
}
