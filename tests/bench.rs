//! `voiceperf bench` against the real `voiceperf agent` on 127.0.0.1 (port 0), with short
//! synthesized queries and a few seconds per run. Timing bounds are generous: the precise
//! figures come from `scripts/bench_scale.sh`.

mod support;

use std::time::Duration;

use support::agent::{PIPELINE_MS, VAD_STOP_MS};
use support::bench::Fixture;
use support::json;
use voiceperf::Outcome;
use voiceperf::agent::{self, Faults};
use voiceperf::bench::{Stop, bench};
use voiceperf::runfolder::results::{
    ClientResults, ErrorKind, ReceivedKind, ReverseBargeIn, RunSummary, TurnOutcome,
};
use voiceperf::runfolder::{SUMMARY_FILE, read_client_files, read_json};

/// The agent decides the turn ended `VAD_STOP_MS` after the last speech chunk, then waits the
/// pipeline delays; bench measures from the speech end, so its latency lies in between.
fn expected_latency_range() -> std::ops::Range<f64> {
    let floor = (f64::from(VAD_STOP_MS) + PIPELINE_MS) / 1000.0;
    (floor - 0.05)..(floor + 0.25)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_matches_the_agents_delays_and_its_own_view() {
    let fx = Fixture::new(&[(1.0, 0.0), (0.8, 0.0)]);
    let agent = agent::start(fx.agent_options()).await.unwrap();
    let mut options = fx.bench_options(&agent);
    options.clients = vec![2];
    let run = bench(&options, &Stop::new()).await.unwrap();
    let truth = agent.turns();
    agent.shutdown().await.unwrap();

    assert_eq!(run.outcome, Outcome::Success, "{:?}", run.problems);
    let summary = &run.levels[0].summary;
    let latency = summary.results.latency.as_ref().expect("turns measured");
    assert!(latency.count >= 2, "{latency:?}");
    let clients = read_client_files(&run.dir).unwrap().clients;
    assert_eq!(clients.len(), 2);
    let mut matched = 0;
    for client in &clients {
        for turn in client
            .turns
            .iter()
            .filter(|t| t.outcome == TurnOutcome::Replied)
        {
            let latency = turn.latency_s.unwrap();
            assert!(
                expected_latency_range().contains(&latency),
                "latency {latency} outside {:?}: {turn:?}",
                expected_latency_range()
            );
            assert_eq!(turn.reverse_barge_in, None);
            assert_eq!(turn.glitches, 0, "{turn:?}");
            // The agent's own view of the same reply, matched by stream id and chunk id.
            let view = turn.agent.as_ref().expect("agent truth matched");
            assert!(
                view.difference_ms.abs() < 20.0,
                "bench and agent disagree by {} ms",
                view.difference_ms
            );
            assert!(truth.iter().any(|t| t.stream_id == client.stream_id
                && t.truth.last_speech_frame_id == view.last_speech_frame_id));
            matched += 1;
        }
    }
    let agreement = summary.agent_agreement.as_ref().unwrap();
    assert_eq!(agreement.matched_turns, matched);
    assert!(summary.self_check.send_lateness_ms.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_replies_are_reverse_barge_ins() {
    let fx = Fixture::new(&[(1.6, 0.0)]);
    let mut agent_options = fx.agent_options();
    agent_options.faults = Faults {
        early_reply_prob: 1.0,
        ..Faults::default()
    };
    let agent = agent::start(agent_options).await.unwrap();
    let run = bench(&fx.bench_options(&agent), &Stop::new())
        .await
        .unwrap();
    agent.shutdown().await.unwrap();

    let summary = &run.levels[0].summary;
    let rbi = &summary.results.reverse_barge_in_detection;
    assert!(rbi.total_reverse_barge_ins >= 1, "{rbi:?}");
    assert_eq!(rbi.during_speech, rbi.total_reverse_barge_ins);
    let client = &read_client_files(&run.dir).unwrap().clients[0];
    assert_eq!(client.reverse_barge_ins_count, rbi.total_reverse_barge_ins);
    // Never dropped from the distribution: the negative latencies are in it.
    assert!(client.individual_latencies.iter().any(|&l| l < 0.0));
    assert!(client.valid_latencies.len() < client.individual_latencies.len());
    let turn = client
        .turns
        .iter()
        .find(|t| t.reverse_barge_in.is_some())
        .unwrap();
    assert_eq!(turn.reverse_barge_in, Some(ReverseBargeIn::DuringSpeech));
    assert!(turn.first_audio_at.unwrap() < turn.speech_end_at.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalls_inside_a_reply_are_glitches() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let mut agent_options = fx.agent_options();
    agent_options.faults = Faults {
        stall_prob: 1.0,
        stall_ms: 250,
        ..Faults::default()
    };
    let agent = agent::start(agent_options).await.unwrap();
    let run = bench(&fx.bench_options(&agent), &Stop::new())
        .await
        .unwrap();
    agent.shutdown().await.unwrap();

    let glitches = &run.levels[0].summary.results.glitch_detection;
    assert!(glitches.total_glitches >= 1, "{glitches:?}");
    assert_eq!(glitches.clients_with_glitches, 1);
    let client = &read_client_files(&run.dir).unwrap().clients[0];
    assert!(client.glitch_detected);
    for turn in client
        .turns
        .iter()
        .filter(|t| t.in_window && t.outcome == TurnOutcome::Replied)
    {
        assert_eq!(turn.glitches, 1, "{turn:?}");
        // 250 ms of silence minus what the buffer held (pipecat sends two chunks up front).
        assert!(
            (150.0..=300.0).contains(&turn.starved_ms),
            "starved {} ms",
            turn.starved_ms
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_counted_and_users_reconnect() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let mut agent_options = fx.agent_options();
    agent_options.faults = Faults {
        drop_prob: 1.0,
        ..Faults::default()
    };
    let agent = agent::start(agent_options).await.unwrap();
    let run = bench(&fx.bench_options(&agent), &Stop::new())
        .await
        .unwrap();
    agent.shutdown().await.unwrap();

    let summary = &run.levels[0].summary;
    assert!(summary.errors.by_kind.get(&ErrorKind::Disconnect).copied() >= Some(1));
    assert!(summary.errors.error_rate > 0.0);
    assert!(summary.results.turns.disconnected >= 1);
    // Each dropped connection left its own results file; the user came back as a new stream.
    let clients = read_client_files(&run.dir).unwrap().clients;
    assert!(clients.len() >= 2, "{} connection(s)", clients.len());
    assert!(clients.iter().all(|c| c.user == 1));
    assert_eq!(clients[1].connection, 2);
    assert_ne!(clients[0].stream_id, clients[1].stream_id);
    let first = &clients[0];
    assert_eq!(first.error_counts.get(&ErrorKind::Disconnect), Some(&1));
    assert_eq!(first.turns[0].outcome, TurnOutcome::Disconnected);
    // The reply had started before the drop: its latency is still measured.
    assert!(first.turns[0].latency_s.is_some());
    assert!(run.dir.join(SUMMARY_FILE).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtvi_messages_never_count_as_the_reply_and_the_greeting_is_heard() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let mut agent_options = fx.agent_options();
    agent_options.rtvi = true;
    agent_options.greeting = true;
    let agent = agent::start(agent_options).await.unwrap();
    let mut options = fx.bench_options(&agent);
    options.greeting_timeout = Duration::from_secs(3);
    let run = bench(&options, &Stop::new()).await.unwrap();
    agent.shutdown().await.unwrap();

    let client = &read_client_files(&run.dir).unwrap().clients[0];
    // The built-in greeting is 1.2 s; the first query waited for it to play out.
    let greeting = client.greeting.as_ref().expect("greeting heard");
    assert!((greeting.audio_s - 1.2).abs() < 0.1, "{greeting:?}");
    assert!(client.turns[0].started_at > greeting.first_audio_at + 1.2);
    assert!(client.frames_received.message > 0, "agent sent no RTVI");
    let replied: Vec<_> = client
        .turns
        .iter()
        .filter(|t| t.outcome == TurnOutcome::Replied)
        .collect();
    assert!(!replied.is_empty());
    for turn in replied {
        let latency = turn.latency_s.unwrap();
        assert!(expected_latency_range().contains(&latency), "{turn:?}");
        assert!(
            turn.received
                .iter()
                .any(|f| f.kind == ReceivedKind::Message && f.rtvi_type.is_some())
        );
        // Messages that came before the audio are kept but moved only the seed's number.
        let first_message = turn
            .received
            .iter()
            .map(|f| f.at)
            .fold(f64::INFINITY, f64::min);
        if first_message < turn.first_audio_at.unwrap() {
            assert!(turn.seed_latency_s.unwrap() < turn.last_chunk_latency_s.unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wav_wrapped_24khz_replies_are_played_at_their_own_rate() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let mut agent_options = fx.agent_options();
    agent_options.reply = None; // the built-in voice, synthesized at 24 kHz
    agent_options.sample_rate = Some(24_000);
    agent_options.wav_header = true;
    let agent = agent::start(agent_options).await.unwrap();
    let mut options = fx.bench_options(&agent);
    options.save_audio = true;
    let run = bench(&options, &Stop::new()).await.unwrap();
    agent.shutdown().await.unwrap();

    let client = &read_client_files(&run.dir).unwrap().clients[0];
    let turn = client
        .turns
        .iter()
        .find(|t| t.outcome == TurnOutcome::Replied)
        .expect("a replied turn");
    let format = turn.reply_format.unwrap();
    assert_eq!(format.sample_rate, 24_000);
    assert!(format.wav_wrapped);
    // The built-in reply is 2.44 s: counted in 24 kHz samples, not bytes or 16 kHz samples.
    assert!(
        (turn.reply_audio_s - 2.44).abs() < 0.05,
        "{}",
        turn.reply_audio_s
    );
    assert_eq!(turn.glitches, 0, "{turn:?}");
    assert!(expected_latency_range().contains(&turn.latency_s.unwrap()));
    let saved = run
        .dir
        .join(format!("bot_response_{}.wav", client.stream_id));
    let bytes = std::fs::read(&saved).unwrap();
    let layout = voiceperf::audio::riff::parse(&bytes).unwrap();
    assert_eq!(layout.fmt.sample_rate, 24_000);
    assert!(layout.frames() as f64 / 24_000.0 >= turn.reply_audio_s - 0.01);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_carry_the_seed_fields_and_round_trip() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let agent = agent::start(fx.agent_options()).await.unwrap();
    let run = bench(&fx.bench_options(&agent), &Stop::new())
        .await
        .unwrap();
    agent.shutdown().await.unwrap();

    let client_files: Vec<_> = std::fs::read_dir(&run.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("latency_results_client_1_")
        })
        .collect();
    assert_eq!(client_files.len(), 1);
    let client = json(&client_files[0]);
    for field in [
        "stream_id",
        "individual_latencies",
        "average_latency",
        "valid_latencies",
        "valid_average_latency",
        "threshold",
        "num_turns",
        "num_valid_turns",
        "reverse_barge_ins_count",
        "glitch_detected",
        "timestamp",
        "metrics_start_time",
        "test_duration",
        "turns",
    ] {
        assert!(client.get(field).is_some(), "client file lacks {field}");
    }
    let turn = &client["turns"][0];
    for field in [
        "file",
        "scheduled_start_at",
        "started_at",
        "speech_end_at",
        "first_frame_at",
        "first_audio_at",
        "first_audible_at",
        "latency_s",
        "reply_audio_s",
        "glitches",
        "starved_ms",
        "received",
    ] {
        assert!(turn.get(field).is_some(), "turn lacks {field}");
    }
    let summary = json(&run.dir.join(SUMMARY_FILE));
    for field in [
        "host",
        "port",
        "num_clients",
        "client_start_delay",
        "test_duration",
        "threshold",
        "metrics_start_time",
    ] {
        assert!(
            summary["config"].get(field).is_some(),
            "config lacks {field}"
        );
    }
    for field in [
        "total_clients",
        "total_turns",
        "aggregate_average_latency",
        "p95_client_latency",
        "min_client_latency",
        "max_client_latency",
        "filtered_results",
        "glitch_detection",
        "reverse_barge_in_detection",
        "error_detection",
        "latency",
    ] {
        assert!(
            summary["results"].get(field).is_some(),
            "results lack {field}"
        );
    }
    assert!(summary["results"]["latency"]["p99"].is_number());
    assert_eq!(summary["tool_version"], voiceperf::VERSION);
    assert_eq!(
        summary["dataset"]["files"][0]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    // Readable back through the schema types.
    let typed: RunSummary = read_json(&run.dir.join(SUMMARY_FILE)).unwrap();
    assert_eq!(typed.results.total_clients, 1);
    let typed_client: ClientResults = read_json(&client_files[0]).unwrap();
    assert_eq!(typed_client.num_turns, typed.results.total_turns);
    let csv = std::fs::read_to_string(run.dir.join("turns.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("stream_id,user,connection,turn,file")
    );
    assert_eq!(lines.count(), typed_client.turns.len());
    // Nothing left behind by the atomic writes.
    assert!(
        std::fs::read_dir(&run.dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_early_writes_what_was_measured() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let agent = agent::start(fx.agent_options()).await.unwrap();
    let mut options = fx.bench_options(&agent);
    options.test_duration = Duration::from_secs(60);
    let stop = Stop::new();
    let trigger = stop.clone();
    let out = fx.out.clone();
    let watcher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        // Results are on disk while the run goes on.
        let client = read_client_files(&out)
            .unwrap()
            .clients
            .pop()
            .expect("client file mid-run");
        trigger.stop();
        client
    });
    let started = std::time::Instant::now();
    let run = bench(&options, &stop).await.unwrap();
    let mid_run = watcher.await.unwrap();
    assert_eq!(
        mid_run.status,
        voiceperf::runfolder::results::ConnectionStatus::Running
    );
    agent.shutdown().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.outcome, Outcome::Failed);
    let summary = &run.levels[0].summary;
    assert!(summary.run.stopped_early);
    assert!(
        summary.results.latency.is_some(),
        "a turn finished before the stop"
    );
    let client = &read_client_files(&run.dir).unwrap().clients[0];
    assert_eq!(
        client.status,
        voiceperf::runfolder::results::ConnectionStatus::Stopped
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_agent_is_an_error_count_not_a_crash() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    // Bind and drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = agent::start(fx.agent_options()).await.unwrap();
    let mut options = fx.bench_options(&agent);
    agent.shutdown().await.unwrap();
    options.url = format!("ws://127.0.0.1:{port}/ws/{{stream_id}}");
    options.test_duration = Duration::from_secs(1);
    options.agent_log = None;
    options.max_error_rate = Some(0.5);
    let run = bench(&options, &Stop::new()).await.unwrap();
    assert_eq!(run.outcome, Outcome::GateFailed, "{:?}", run.problems);
    let summary = &run.levels[0].summary;
    assert_eq!(summary.errors.error_rate, 1.0);
    assert!(summary.results.latency.is_none());
    // Failed attempts are retried under the same stream id: one file, every attempt counted.
    let clients = read_client_files(&run.dir).unwrap().clients;
    assert_eq!(clients.len(), 1);
    let connects = clients[0].error_counts.get(&ErrorKind::Connect).copied();
    assert!(connects >= Some(2), "{:?}", clients[0].errors);
    assert_eq!(
        summary.errors.by_kind.get(&ErrorKind::Connect).copied(),
        connects
    );
    assert!(clients[0].connected_at.is_none());
    assert!(clients[0].errors[0].message.contains(&port.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_frames_are_counted_and_the_turn_still_measured() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let mut agent_options = fx.agent_options();
    agent_options.faults = Faults {
        garbage_prob: 1.0,
        ..Faults::default()
    };
    let agent = agent::start(agent_options).await.unwrap();
    let run = bench(&fx.bench_options(&agent), &Stop::new())
        .await
        .unwrap();
    agent.shutdown().await.unwrap();

    let client = &read_client_files(&run.dir).unwrap().clients[0];
    assert!(client.frames_received.undecodable >= 1);
    let undecodable = client.error_counts.get(&ErrorKind::Undecodable).copied();
    assert_eq!(
        undecodable,
        Some(client.frames_received.undecodable as usize)
    );
    let error = client
        .errors
        .iter()
        .find(|e| e.kind == ErrorKind::Undecodable)
        .unwrap();
    assert!(error.message.contains("undecodable frame"), "{error:?}");
    assert!(error.turn.is_some());
    // The connection went on and the turns were measured.
    assert!(!client.individual_latencies.is_empty());
    assert_eq!(client.connection, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrimmed_file_is_measured_from_its_speech_end() {
    // 0.8 s of speech followed by 0.9 s of silence left in the file.
    let fx = Fixture::new(&[(0.8, 0.9)]);
    let agent = agent::start(fx.agent_options()).await.unwrap();
    let mut options = fx.bench_options(&agent);
    options.test_duration = Duration::from_secs(2);
    let run = bench(&options, &Stop::new()).await.unwrap();
    agent.shutdown().await.unwrap();

    let summary = &run.levels[0].summary;
    let file = &summary.dataset.files[0];
    assert!((file.trailing_ms - 900.0).abs() < 40.0, "{file:?}");
    let client = &read_client_files(&run.dir).unwrap().clients[0];
    let turn = client
        .turns
        .iter()
        .find(|t| t.outcome == TurnOutcome::Replied)
        .expect("a replied turn");
    let latency = turn.latency_s.unwrap();
    assert!(
        expected_latency_range().contains(&latency),
        "latency {latency}: {turn:?}"
    );
    // The agent's VAD ended the turn during the file's silence; counted from the file end
    // (as the seed did) the reply seems to come ~0.9 s sooner, even before the file ended.
    let from_file_end = turn.last_chunk_latency_s.unwrap();
    assert!(
        (latency - from_file_end - 0.9).abs() < 0.1,
        "{latency} vs {from_file_end}"
    );
    assert!(turn.speech_end_chunk_id < turn.last_chunk_id.unwrap());
    assert!(turn.agent.as_ref().unwrap().difference_ms.abs() < 20.0);
}
