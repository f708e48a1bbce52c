//! End to end: `voiceperf agent` (in-process, real sockets on 127.0.0.1:0, logging to a real
//! file) serves a real `voiceperf bench` run; `voiceperf analyze` then reads the agent's log,
//! joined with the run folder. The agent's delays are fixed, so the log's values and the
//! breakdown are known; timing bounds are generous (loopback on a shared 2-core machine).

mod support;

use std::time::Duration;

use support::agent::{ASR_S, LLM_TTFB_S, TTS_TTFB_S, fast_options_logging_to};
use support::audio::{synth_query, write_reply, write_wav};
use support::cli::voiceperf;
use voiceperf::agent::{self, AgentOptions, LogTarget};
use voiceperf::analyze::join::VadSource;
use voiceperf::analyze::window::WindowSpec;
use voiceperf::analyze::{Analysis, AnalyzeOptions, RunJoin, analyze};
use voiceperf::bench::{BenchOptions, Stop, bench};
use voiceperf::serverlog::input::Input;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_log_of_a_real_bench_run_is_analyzed_and_joined() {
    let root = tempfile::tempdir().unwrap();
    let audio = root.path().join("audio");
    std::fs::create_dir(&audio).unwrap();
    for (i, seconds) in [0.9, 0.7].into_iter().enumerate() {
        let (samples, _) = synth_query(0.1, seconds, 0.0, 10 + i as u64);
        write_wav(&audio.join(format!("query_{}.wav", i + 1)), &samples);
    }
    let reply = root.path().join("reply.wav");
    write_reply(&reply, 0.5);
    let log = root.path().join("agent.log");

    let agent = agent::start(AgentOptions {
        reply: Some(reply),
        seed: 7,
        ..fast_options_logging_to(LogTarget::File(log.clone()))
    })
    .await
    .unwrap();
    let run = bench(
        &BenchOptions {
            url: format!("ws://{}/ws/{{stream_id}}", agent.local_addr()),
            clients: vec![2],
            client_start_delay: Duration::from_millis(200),
            test_duration: Duration::from_secs(3),
            output_dir: Some(root.path().join("run")),
            audio_dir: audio,
            reply_gap: Duration::from_millis(400),
            reply_timeout: Duration::from_secs(3),
            greeting_timeout: Duration::from_millis(200),
            quiet: true,
            ..BenchOptions::default()
        },
        &Stop::new(),
    )
    .await
    .unwrap();
    agent.flush_log().await;
    let truth = agent.turns();
    agent.shutdown().await.unwrap();

    let mut options = AnalyzeOptions::new(vec![Input::File(log.clone())]);
    options.run = Some(RunJoin {
        dir: run.dir.clone(),
        log_utc_offset_s: None,
    });
    let a = analyze(&options).unwrap();
    check_join(&a, &truth);

    // The same log without the run: the seed window sees the same services' values.
    let plain = analyze(&AnalyzeOptions::new(vec![Input::File(log.clone())])).unwrap();
    assert_eq!(plain.window.mode, WindowSpec::LastClientStart.mode());
    let llm = plain.percentiles.llm_ttfb.as_ref().expect("LLM TTFB lines");
    assert!((llm.min - LLM_TTFB_S).abs() < 1e-9 && (llm.max - LLM_TTFB_S).abs() < 1e-9);
    assert_eq!(plain.clients.len(), 2);

    // And through the binary, as a user runs it.
    voiceperf()
        .arg("analyze")
        .arg(&log)
        .arg("--run")
        .arg(&run.dir)
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(predicates::str::contains("LATENCY BREAKDOWN"))
        .stdout(predicates::str::contains("from truth lines"));
}

fn check_join(a: &Analysis, truth: &[voiceperf::agent::ReplyRecord]) {
    assert_eq!(a.window.mode, "run");
    assert_eq!(a.warnings_total, 0, "{:?}", a.warnings);
    let j = a.join.as_ref().expect("joined");
    assert_eq!(j.counts.connections, 2);
    assert_eq!(j.counts.connections_in_log, 2);
    assert_eq!(j.clock.source, "truth_lines");
    // Same machine, same clock: the offset is this machine's zone and the residual is the
    // logging delay (the agent stamps lines with the event's own time: below a millisecond).
    assert!(j.clock.residual_ms.unwrap().abs() < 2.0, "{:?}", j.clock);
    assert!(j.counts.with_latency >= 2, "{:?}", j.counts);
    assert_eq!(
        j.counts.with_truth_line, j.counts.in_window_turns,
        "{:?}",
        j.counts
    );
    assert_eq!(j.counts.with_all_components, j.counts.with_latency);

    for turn in j.turns.iter().filter(|t| t.in_window) {
        let b = &turn.breakdown;
        let Some(latency) = b.latency else { continue };
        assert_eq!(b.asr, Some(ASR_S), "{turn:?}");
        assert_eq!(b.llm_ttfb, Some(LLM_TTFB_S));
        assert_eq!(b.tts_ttfb, Some(TTS_TTFB_S));
        assert_eq!(turn.vad_source, Some(VadSource::TruthLine));
        // The agent waits VAD_STOP_MS after its last speech frame (within a 20 ms VAD frame
        // and scheduling).
        let stop = turn.agent_stop_wait_s.unwrap();
        assert!((0.28..0.40).contains(&stop), "stop wait {stop}: {turn:?}");
        // Loopback: a few ms each way at most, never negative by more than clock noise.
        let (up, down) = (turn.uplink_s.unwrap(), turn.downlink_s.unwrap());
        assert!((-0.001..0.05).contains(&up), "uplink {up}");
        assert!((-0.001..0.05).contains(&down), "downlink {down}");
        let sum =
            b.vad_wait.unwrap() + ASR_S + LLM_TTFB_S + TTS_TTFB_S + b.transport_other.unwrap();
        // bench rounds its times and latencies to the microsecond.
        assert!(
            (sum - latency).abs() < 1e-5,
            "parts {sum} vs latency {latency}"
        );
        // The truth line read from the log is the agent's own record.
        let line = turn.agent.unwrap();
        let record = truth
            .iter()
            .find(|t| {
                t.stream_id == turn.stream_id
                    && t.truth.last_speech_frame_id == line.last_speech_frame_id
            })
            .expect("the agent recorded this turn");
        assert!((record.truth.latency_s - line.latency_s).abs() < 2e-6);
        assert!((record.truth.first_reply_unix - line.first_reply_unix).abs() < 2e-6);
    }
    // Seed table over the run's in-window turns only.
    for client in &a.clients {
        assert!(client.samples.llm_ttfb.iter().all(|&v| v == LLM_TTFB_S));
        assert_eq!(client.calls.llm, client.agent_turns.len());
    }
}
