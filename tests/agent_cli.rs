//! The `voiceperf agent` binary: the listening line on stdout, the log file, clean shutdown on
//! SIGTERM and SIGINT, usage errors.

mod support;

use std::time::Duration;

use predicates::prelude::*;
use support::cli::{AgentProcess, signal, voiceperf, wait_exit};

#[cfg(unix)]
#[test]
fn serves_on_port_zero_logs_to_a_file_and_stops_on_signals() {
    let re =
        regex::Regex::new(r"^listening on ws://127\.0\.0\.1:(\d+)/ws/\{stream_id\}\n$").unwrap();
    for sig in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("bot.log");
        std::fs::write(&log, "earlier run\n").unwrap();
        let mut agent = AgentProcess::start(&["--seed", "5"], &log);
        let line = &agent.listening;
        let port: u16 = re.captures(line).expect(line)[1].parse().unwrap();
        assert_ne!(port, 0);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = format!("ws://127.0.0.1:{port}/ws/cli_{sig}");
            let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            drop(ws);
        });
        std::thread::sleep(Duration::from_millis(100));
        signal(agent.child.id(), sig);
        let status = wait_exit(&mut agent.child, Duration::from_secs(10));
        assert!(status.success(), "{sig}: {status:?}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("earlier run\n"), "the log is appended to");
        assert!(text.contains(&format!(
            "streamId=cli_{sig} - Accepting WebSocket connection for stream ID cli_{sig}"
        )));
        assert!(
            text.contains("VoiceperfAgent stopped: 1 connections"),
            "{text}"
        );
        assert!(text.contains("seed 5"));
    }
}

#[test]
fn usage_errors_exit_2_with_a_reason() {
    voiceperf()
        .args(["agent", "--stall-prob", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--stall-prob 1.5 is not a probability",
        ));
    voiceperf()
        .args(["agent", "--asr-ms", "normal:300"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a distribution takes exactly two numbers",
        ));
    voiceperf()
        .args(["agent", "--chunk-ms", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--chunk-ms 5"));
}

#[test]
fn a_bad_reply_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.wav");
    voiceperf()
        .args(["agent", "--port", "0", "--reply"])
        .arg(&missing)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.wav"));
    let wav = dir.path().join("r22.wav");
    std::fs::write(
        &wav,
        voiceperf::audio::riff::wrap_pcm16(&[0; 4410], 22_050, 1),
    )
    .unwrap();
    voiceperf()
        .args(["agent", "--port", "0", "--sample-rate", "16000", "--reply"])
        .arg(&wav)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--reply file is 22050 Hz but --sample-rate is 16000",
        ));
}
