//! `voiceperf agent` on real sockets: turn detection, reply timing and pacing, WAV headers,
//! 24 kHz, barge-in and the log format.

mod support;

use std::time::{Duration, Instant};

use support::agent::fast_options;
use support::audio::{read_query, synth_query};
use support::client::*;
use support::fixture;
use voiceperf::agent::{self, MemoryLog};
use voiceperf::audio::riff;
use voiceperf::serverlog::truth::AgentTurnTruth;

/// The headline behaviour: a query streamed in real time gets one reply whose first audio
/// arrives vad-stop + asr + llm + tts after the end of speech, paced at 40 ms per frame, and
/// the agent's truth record agrees with what the client measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_gets_a_paced_reply_after_the_pipeline_delays() {
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    let (mut sink, source) = connect(&agent, "client_1_1732700000000").await;
    let (samples, voice_end) = synth_query(0.3, 1.2, 1.2, 11);
    let receiver = receive_until(source, Instant::now() + Duration::from_millis(4800));
    let sent = stream_audio(&mut sink, &samples, 20, 1).await;
    let received = receiver.await.unwrap();

    let end_id = chunk_id_of_sample(voice_end, 20, 1);
    let end_sent = sent[(end_id - 1) as usize].1;
    let times = audio_times(&received);
    let frames = audio_frames(&received);
    assert_eq!(frames.len(), 61, "2.43 s of reply in 40 ms frames");
    let latency = secs(end_sent, times[0]);
    // vad-stop 300 + asr 50 + llm 100 + tts 50 = 500 ms, plus up to a VAD frame and hangover.
    assert!((0.45..0.80).contains(&latency), "latency {latency:.3} s");

    // Frames: raw 16 kHz mono PCM, 1280 bytes, pipecat-like names.
    for frame in &frames {
        assert_eq!((frame.sample_rate, frame.num_channels), (16_000, 1));
        assert_eq!(frame.audio.len(), 1280);
        assert!(
            frame.name.starts_with("OutputAudioRawFrame#"),
            "{}",
            frame.name
        );
        assert_eq!(frame.pts, None);
    }
    // The last chunk (30 ms of audio) is zero-padded to 40 ms.
    assert!(frames[60].audio[960..].iter().all(|&b| b == 0));
    assert!(frames[60].audio[..960].iter().any(|&b| b != 0));

    // Pacing: first two back to back, then 40 ms apart on an absolute clock.
    let gap0 = secs(times[0], times[1]);
    assert!(gap0 < 0.015, "first two frames {gap0:.4} s apart");
    let span = secs(times[1], times[60]);
    assert!(
        (span - 59.0 * 0.040).abs() < 0.030,
        "59 intervals took {span:.3} s"
    );
    let mut gaps: Vec<f64> = times.windows(2).skip(1).map(|w| secs(w[0], w[1])).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!((median - 0.040).abs() < 0.004, "median gap {median:.4}");

    // The agent's truth: one turn, measured from the last speech frame it saw, consistent
    // with the client's own clock within a few ms.
    let turns = agent.turns();
    assert_eq!(turns.len(), 1, "{turns:?}");
    assert!(!turns[0].early);
    let truth = &turns[0].truth;
    assert_eq!(truth.turn, 1);
    let id = truth.last_speech_frame_id;
    assert!(
        id + 2 >= end_id && id <= end_id + 5,
        "last speech frame {id}, voice ends in {end_id}"
    );
    let client_view = secs(sent[(id - 1) as usize].1, times[0]);
    assert!(
        (client_view - truth.latency_s).abs() < 0.020,
        "client {client_view:.4} s vs agent {:.4} s",
        truth.latency_s
    );
    assert!((turns[0].asr_s - 0.050).abs() < 1e-6);
    assert!((turns[0].llm_ttfb_s - 0.100).abs() < 1e-6);
    assert!((turns[0].tts_ttfb_s - 0.050).abs() < 1e-6);

    let counters = agent.counters();
    assert_eq!(counters.turns, 1);
    assert_eq!(counters.replies_started, 1);
    assert_eq!(counters.replies_completed, 1);
    assert_eq!(counters.reply_frames_sent, 61);
    assert_eq!(counters.audio_frames, sent.len() as u64);
    assert_eq!(counters.malformed_frames, 0);
    drop(sink);
    let report = agent.shutdown().await.unwrap();
    let pacing = report.pacing_lateness_ms.expect("pacing measured");
    assert_eq!(pacing.count, 61);
    assert!(pacing.p50 < 5.0, "{pacing:?}");

    check_log_format(&log.contents(), "client_1_1732700000000", truth);
}

/// Every line the agent writes has the loguru layout, and the service lines are the NVIDIA
/// ones the seed analyzer and `voiceperf analyze` read.
fn check_log_format(text: &str, stream: &str, truth: &AgentTurnTruth) {
    let line_re = |message: &str| -> regex::Regex {
        regex::Regex::new(&format!(
            r"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{3}} \| (DEBUG|INFO|WARNING|ERROR) +\| [\w.]+:\w+:\d+ \| streamId={} - {message}$",
            regex::escape(stream)
        ))
        .unwrap()
    };
    let expected = [
        format!(
            r"Accepting WebSocket connection for stream ID {}",
            regex::escape(stream)
        ),
        r"RivaASRService#\d+ ASR compute latency: 0\.050".into(),
        r"RivaASRService#\d+ TTFB: 0\.\d{3}".into(),
        r"NvidiaLLMService#\d+ TTFB: 0\.100".into(),
        r"NvidiaLLMService#\d+ TTFAT: 0\.101s \(0\.000s thinking\)".into(),
        r"NvidiaLLMService#\d+ LLM first sentence generation time: 0\.180".into(),
        r"NvidiaLLMService#\d+ prompt tokens: \d+, completion tokens: 26".into(),
        r"NvidiaLLMService#\d+ processing time: 0\.360".into(),
        r"RivaTTSService#\d+ TTFB: 0\.050".into(),
        r"RivaTTSService#\d+ processing time: 0\.\d{3}".into(),
        format!(
            r"VoiceperfAgent turn 1: last speech frame id {} arrived at \d+\.\d{{6}}, first reply frame sent at \d+\.\d{{6}}, latency: {:.6}",
            truth.last_speech_frame_id, truth.latency_s
        ),
    ];
    let lines: Vec<&str> = text.lines().collect();
    for pattern in &expected {
        let re = line_re(pattern);
        let count = lines.iter().filter(|l| re.is_match(l)).count();
        assert_eq!(count, 1, "{count} lines match {pattern:?} in\n{text}");
    }
    // Every line has the layout (server lines carry streamId=-).
    let any = regex::Regex::new(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| (DEBUG|INFO|WARNING|ERROR) +\| [\w.]+:\w+:\d+ \| streamId=\S+ - .+$",
    )
    .unwrap();
    for line in &lines {
        assert!(any.is_match(line), "bad line {line:?}");
    }
    // The truth line's numbers are consistent: sent - arrived = latency.
    let truth_re = regex::Regex::new(
        r"arrived at (\d+\.\d+), first reply frame sent at (\d+\.\d+), latency: (\d+\.\d+)",
    )
    .unwrap();
    let caps = lines.iter().find_map(|l| truth_re.captures(l)).unwrap();
    let num = |i: usize| caps[i].parse::<f64>().unwrap();
    assert!((num(2) - num(1) - num(3)).abs() < 2e-6);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - num(2)).abs() < 60.0,
        "unix times are wall-clock seconds"
    );
}

/// `--wav-header` wraps each 24 kHz chunk in its own WAV file, as pipecat's add_wav_header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wav_header_mode_at_24_khz() {
    let log = MemoryLog::new();
    let options = agent::AgentOptions {
        wav_header: true,
        sample_rate: Some(24_000),
        ..fast_options(&log)
    };
    let agent = agent::start(options).await.unwrap();
    let (mut sink, source) = connect(&agent, "wav").await;
    let (samples, _) = synth_query(0.2, 1.0, 1.0, 12);
    let receiver = receive_until(source, Instant::now() + Duration::from_millis(4200));
    stream_audio(&mut sink, &samples, 20, 1).await;
    let frames = audio_frames(&receiver.await.unwrap());
    assert_eq!(frames.len(), 61);
    for frame in &frames {
        assert_eq!(frame.sample_rate, 24_000);
        assert_eq!(frame.audio.len(), 44 + 1920, "one header + 40 ms at 24 kHz");
        let layout = riff::parse(&frame.audio).unwrap();
        assert_eq!(layout.fmt.sample_rate, 24_000);
        assert_eq!(layout.fmt.channels, 1);
        assert!(layout.issues.is_empty());
        let pcm = frame.pcm().unwrap();
        assert!(pcm.wav_wrapped);
        assert!((pcm.duration_secs() - 0.040).abs() < 1e-9);
    }
    // Not silence: the built-in voice is loud.
    let loud = frames
        .iter()
        .filter(|f| {
            let pcm = riff::pcm16_from_bytes(f.pcm().unwrap().bytes);
            pcm.iter().map(|&s| i32::from(s).abs()).max().unwrap_or(0) > 3000
        })
        .count();
    assert!(loud > 30, "{loud} loud frames");
    agent.shutdown().await.unwrap();
}

/// Speaking over the reply stops it and sends an Interruption; the new query gets its reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_stops_the_reply_with_an_interruption() {
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    let (mut sink, source) = connect(&agent, "barge").await;
    // Query 1 ends at 1.2 s; its reply starts ≈ 1.7 s and would last 2.4 s. Query 2 starts at
    // 2.4 s, while the bot is speaking.
    let (mut samples, _) = synth_query(0.2, 1.0, 1.2, 13);
    let (second, _) = synth_query(0.0, 1.0, 1.4, 14);
    samples.extend(second);
    let receiver = receive_until(source, Instant::now() + Duration::from_millis(7000));
    let sent = stream_audio(&mut sink, &samples, 20, 1).await;
    let received = receiver.await.unwrap();
    let interruption = received
        .iter()
        .position(|r| matches!(r.got, Got::Interruption))
        .expect("an Interruption frame");
    let before = audio_times(&received[..interruption]);
    assert!(
        (5..55).contains(&before.len()),
        "{} frames before the interruption",
        before.len()
    );
    // The interruption comes about vad-start (200 ms) after query 2 begins at 2.4 s.
    let second_start = sent[(2.4f64 / 0.020) as usize].1;
    let delay = secs(second_start, received[interruption].at);
    assert!(
        (0.15..0.45).contains(&delay),
        "interrupted {delay:.3} s after speech"
    );
    // No audio of the first reply after it; the next audio is the second reply, which
    // starts after the second query ends.
    let after = audio_times(&received[interruption..]);
    assert!(!after.is_empty(), "second reply");
    let second_end = sent[((2.4 + 1.0) / 0.020) as usize].1;
    assert!(
        secs(second_end, after[0]) > 0.4,
        "second reply waits for the turn end"
    );
    let counters = agent.counters();
    assert_eq!(counters.interruptions, 1);
    assert_eq!(counters.turns, 2);
    assert_eq!(agent.turns().len(), 2);
    // The truth record: the VAD's speech run began at the chunk of 2.4 s (id 121, give or
    // take the synthetic voice's attack), the interruption went out vad-start later, and the
    // stopped reply's last frame before it.
    let records = agent.interruptions();
    assert_eq!(records.len(), 1, "{records:?}");
    let truth = records[0].truth;
    assert_eq!(records[0].stopped_turn, Some(1));
    assert_eq!(records[0].frames_sent, before.len());
    assert!(
        (119..=125).contains(&truth.speech_start_frame_id),
        "{truth:?}"
    );
    // From the arrival of the run's first frame to the decision: the run's other nine 20 ms
    // frames, 180 ms, give or take the agent's read-loop jitter (it is sending the reply).
    let agent_signal = truth.interruption_unix - truth.speech_arrived_unix;
    assert!((0.14..0.26).contains(&agent_signal), "{truth:?}");
    let last = truth
        .last_reply_frame_unix
        .expect("a reply frame had gone out");
    assert!(last <= truth.interruption_unix, "{truth:?}");
    agent.shutdown().await.unwrap();
    let text = log.contents();
    let line = format!("{truth}, user started speaking, stopped turn 1 after");
    assert!(text.contains(&line), "{line} not in the log");
}

/// With `--no-interruptions` speech over the reply stops nothing: the first reply plays out
/// whole, no Interruption is sent, and the second query's reply follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_interruptions_the_reply_plays_out_and_the_next_follows() {
    let log = MemoryLog::new();
    let options = agent::AgentOptions {
        interruptions: false,
        ..fast_options(&log)
    };
    let agent = agent::start(options).await.unwrap();
    let (mut samples, _) = synth_query(0.2, 1.0, 1.2, 13);
    let (second, _) = synth_query(0.0, 1.0, 1.4, 14);
    samples.extend(second);
    let (_, received) = converse(&agent, "no-barge", &samples, Duration::from_millis(9000)).await;
    assert!(
        !received.iter().any(|r| matches!(r.got, Got::Interruption)),
        "no Interruption frame"
    );
    let frames = audio_times(&received);
    // The built-in reply is 60 frames of 40 ms; both replies arrive whole.
    let reply_frames = agent.counters().reply_frames_sent as usize;
    assert_eq!(frames.len(), reply_frames);
    let counters = agent.counters();
    assert_eq!(counters.interruptions, 0);
    assert_eq!(counters.turns, 2);
    assert_eq!(counters.replies_completed, 2, "{counters:?}");
    assert!(agent.interruptions().is_empty());
    agent.shutdown().await.unwrap();
}

/// A sound shorter than the VAD start threshold (200 ms) over the reply does not interrupt it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_shorter_than_the_start_threshold_does_not_interrupt() {
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    // Query 1 ends at 1.2 s; its reply plays from ≈ 1.7 s to ≈ 4.1 s. A 100 ms burst at 2.4 s.
    let (mut samples, _) = synth_query(0.2, 1.0, 1.2, 13);
    let (burst, _) = synth_query(0.0, 0.1, 2.5, 15);
    samples.extend(burst);
    let (_, received) = converse(&agent, "burst", &samples, Duration::from_millis(5500)).await;
    assert!(!received.iter().any(|r| matches!(r.got, Got::Interruption)));
    let counters = agent.counters();
    assert_eq!(counters.interruptions, 0);
    assert_eq!(counters.turns, 1);
    assert_eq!(counters.replies_completed, 1);
    agent.shutdown().await.unwrap();
}

/// With `--rtvi` every turn's metrics go out as pipecat's `metrics` messages: the LLM and TTS
/// TTFB are the configured delays, the ASR TTFB is the VAD stop plus the ASR delay (as the log
/// says), then processing times, tokens and characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtvi_metrics_report_each_services_ttfb() {
    use support::agent::{ASR_S, LLM_TTFB_S, TTS_TTFB_S, VAD_STOP_MS};
    use voiceperf::protocol::rtvi::{self, Message};
    let log = MemoryLog::new();
    let options = agent::AgentOptions {
        rtvi: true,
        ..fast_options(&log)
    };
    let agent = agent::start(options).await.unwrap();
    let (samples, _) = synth_query(0.2, 1.0, 1.2, 13);
    let (_, received) = converse(&agent, "metrics", &samples, Duration::from_millis(4000)).await;
    let metrics: Vec<rtvi::Metrics> = received
        .iter()
        .filter_map(|r| match &r.got {
            Got::Message(json) => match rtvi::parse(json) {
                Ok(Message::Metrics(m)) if !m.is_initial() => Some(m),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let ttfb = |service: &str| -> f64 {
        let found: Vec<f64> = metrics
            .iter()
            .flat_map(|m| &m.ttfb)
            .filter(|t| t.processor.starts_with(service))
            .map(|t| t.value)
            .collect();
        assert_eq!(found.len(), 1, "{service}: {found:?}");
        found[0]
    };
    assert!((ttfb("NvidiaLLMService") - LLM_TTFB_S).abs() < 1e-9);
    assert!((ttfb("RivaTTSService") - TTS_TTFB_S).abs() < 1e-9);
    let asr = ttfb("RivaASRService");
    let expected = f64::from(VAD_STOP_MS) / 1000.0 + ASR_S;
    assert!(
        (asr - expected).abs() < 0.06,
        "asr ttfb {asr} vs {expected}"
    );
    let processing: Vec<&str> = metrics
        .iter()
        .flat_map(|m| &m.processing)
        .map(|t| t.processor.as_str())
        .collect();
    assert_eq!(processing.len(), 2, "{processing:?}");
    assert!(
        metrics
            .iter()
            .any(|m| m.tokens.first().is_some_and(|t| t.completion_tokens == 26))
    );
    assert!(metrics.iter().any(|m| !m.characters.is_empty()));
    agent.shutdown().await.unwrap();
}

/// A real recorded voice (ALSA's "Front Center", 16 kHz mono, trailing silence trimmed; see
/// tests/fixtures/agent/README.md) is one turn, answered after the pipeline delays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_query_gets_one_reply() {
    let mut samples = vec![0i16; 3200];
    samples.extend(read_query(&fixture("agent/front_center_16k.wav")));
    let speech_end = samples.len();
    samples.extend(vec![0i16; 16_000]);
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    let (sent, received) =
        converse(&agent, "recorded", &samples, Duration::from_millis(5200)).await;
    let times = audio_times(&received);
    assert_eq!(times.len(), 61);
    let end_sent = sent[(chunk_id_of_sample(speech_end, 20, 1) - 1) as usize].1;
    let latency = secs(end_sent, times[0]);
    assert!((0.45..0.85).contains(&latency), "latency {latency:.3} s");
    let turns = agent.turns();
    assert_eq!(turns.len(), 1, "one turn for one utterance: {turns:?}");
    agent.shutdown().await.unwrap();
}
