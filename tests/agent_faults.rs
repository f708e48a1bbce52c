//! Fault injection, RTVI messages, greeting, seeds and the load model of `voiceperf agent`,
//! on real sockets. Replies are a 1 s WAV (`--reply`) to keep the tests short.

mod support;

use std::time::{Duration, Instant};

use support::agent::fast_options;
use support::audio::{synth_query, write_reply};
use support::client::*;
use voiceperf::agent::{self, AgentOptions, Faults, MemoryLog};
use voiceperf::delay::Delay;
use voiceperf::protocol;

/// Options with a 1 s reply file (25 frames of 40 ms) in `dir`.
fn options(log: &MemoryLog, dir: &tempfile::TempDir) -> AgentOptions {
    let reply = dir.path().join("reply.wav");
    write_reply(&reply, 1.0);
    AgentOptions {
        reply: Some(reply),
        ..fast_options(log)
    }
}

/// 0.2 s silence, 0.8 s voice, 0.6 s silence: the reply starts ≈ 1.5 s and ends ≈ 2.5 s.
fn short_query() -> (Vec<i16>, usize) {
    synth_query(0.2, 0.8, 0.6, 21)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_leaves_a_gap_inside_the_reply() {
    let (log, dir) = (MemoryLog::new(), tempfile::tempdir().unwrap());
    let agent = agent::start(AgentOptions {
        faults: Faults {
            stall_prob: 1.0,
            stall_ms: 300,
            ..Faults::default()
        },
        ..options(&log, &dir)
    })
    .await
    .unwrap();
    let (samples, _) = short_query();
    let (_, received) = converse(&agent, "stall", &samples, Duration::from_millis(3300)).await;
    let times = audio_times(&received);
    assert_eq!(times.len(), 25, "the whole reply still arrives");
    let gaps: Vec<f64> = times.windows(2).map(|w| secs(w[0], w[1])).collect();
    let long: Vec<usize> = (0..gaps.len()).filter(|&i| gaps[i] > 0.1).collect();
    assert_eq!(long.len(), 1, "one stall: {gaps:?}");
    let stall = gaps[long[0]];
    assert!(
        (0.32..0.40).contains(&stall),
        "stall gap {stall:.3} s = 40 ms + 300 ms"
    );
    assert!(long[0] >= 1, "after the first two frames");
    assert_eq!(agent.counters().stalls, 1);
    agent.shutdown().await.unwrap();
    assert!(
        log.contents()
            .contains("VoiceperfAgent fault: stall of 300 ms before reply frame")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_reply_answers_while_the_user_still_speaks() {
    let (log, dir) = (MemoryLog::new(), tempfile::tempdir().unwrap());
    let agent = agent::start(AgentOptions {
        faults: Faults {
            early_reply_prob: 1.0,
            ..Faults::default()
        },
        ..options(&log, &dir)
    })
    .await
    .unwrap();
    // 1.6 s of voice: the early reply comes ≈ 0.2 (start) + 0.2 (pipeline) s into it.
    let (samples, voice_end) = synth_query(0.2, 1.6, 0.8, 22);
    let (sent, received) = converse(&agent, "early", &samples, Duration::from_millis(3000)).await;
    let end_sent = sent[(chunk_id_of_sample(voice_end, 20, 1) - 1) as usize].1;
    let times = audio_times(&received);
    assert_eq!(
        times.len(),
        25,
        "one reply, not interrupted by the ongoing speech"
    );
    let lead = secs(times[0], end_sent);
    assert!(
        lead > 0.8,
        "first audio {lead:.3} s before the user stopped"
    );
    assert!(!received.iter().any(|r| matches!(r.got, Got::Interruption)));
    let turns = agent.turns();
    assert_eq!(
        turns.len(),
        1,
        "the end of that speech starts no second turn"
    );
    assert!(turns[0].early);
    assert!(
        (0.18..0.40).contains(&turns[0].truth.latency_s),
        "{:?}",
        turns[0]
    );
    assert_eq!(agent.counters().early_replies, 1);
    agent.shutdown().await.unwrap();
    assert!(
        log.contents()
            .contains("VoiceperfAgent fault: early reply in turn 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_closes_the_socket_mid_reply_without_a_close_frame() {
    let (log, dir) = (MemoryLog::new(), tempfile::tempdir().unwrap());
    let agent = agent::start(AgentOptions {
        faults: Faults {
            drop_prob: 1.0,
            ..Faults::default()
        },
        ..options(&log, &dir)
    })
    .await
    .unwrap();
    let (samples, _) = short_query();
    let (_, received) = converse(&agent, "drop", &samples, Duration::from_millis(3000)).await;
    let frames = audio_times(&received).len();
    assert!(
        (1..=12).contains(&frames),
        "{frames} frames before the drop"
    );
    let last = &received.last().unwrap().got;
    assert!(
        matches!(last, Got::Error(_) | Got::End),
        "ends abruptly, not with a close frame: {last:?}"
    );
    assert!(!received.iter().any(|r| matches!(r.got, Got::Close(_))));
    assert_eq!(agent.counters().drops, 1);
    agent.shutdown().await.unwrap();
    let text = log.contents();
    assert!(text.contains(&format!(
        "VoiceperfAgent fault: dropping the connection in turn 1 after {frames} reply frames"
    )));
    assert!(text.contains("Client disconnected (dropped by fault injection)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_sends_one_undecodable_frame_inside_the_reply() {
    let (log, dir) = (MemoryLog::new(), tempfile::tempdir().unwrap());
    let agent = agent::start(AgentOptions {
        faults: Faults {
            garbage_prob: 1.0,
            ..Faults::default()
        },
        ..options(&log, &dir)
    })
    .await
    .unwrap();
    let (samples, _) = short_query();
    let (_, received) = converse(&agent, "garbage", &samples, Duration::from_millis(3000)).await;
    let garbage: Vec<usize> = (0..received.len())
        .filter(|&i| matches!(received[i].got, Got::Undecodable(_)))
        .collect();
    assert_eq!(garbage.len(), 1);
    let Got::Undecodable(bytes) = &received[garbage[0]].got else {
        unreachable!()
    };
    assert!(protocol::decode(bytes).is_err());
    assert_eq!(audio_times(&received).len(), 25, "audio goes on around it");
    assert!(
        !audio_times(&received[..garbage[0]]).is_empty(),
        "inside the reply"
    );
    assert_eq!(agent.counters().garbage_frames, 1);
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtvi_messages_come_first_but_are_not_audio_and_greeting_plays_unasked() {
    let (log, dir) = (MemoryLog::new(), tempfile::tempdir().unwrap());
    let agent = agent::start(AgentOptions {
        rtvi: true,
        greeting: true,
        ..options(&log, &dir)
    })
    .await
    .unwrap();
    // Say nothing at all: the greeting (1.2 s = 30 frames) starts 0.3 s after connecting and
    // the RTVI metrics message comes ≈ 0.45 s after connecting.
    let (_sink, source) = connect(&agent, "rtvi").await;
    let connected = Instant::now();
    let received = receive_until(source, connected + Duration::from_millis(1800))
        .await
        .unwrap();
    let times = audio_times(&received);
    assert_eq!(times.len(), 30, "greeting frames");
    let greet = secs(connected, times[0]);
    assert!((0.25..0.45).contains(&greet), "greeting after {greet:.3} s");
    let messages: Vec<(Instant, String)> = received
        .iter()
        .filter_map(|r| match &r.got {
            Got::Message(m) => Some((r.at, m.clone())),
            _ => None,
        })
        .collect();
    let metrics = messages
        .iter()
        .find(|(_, m)| matches!(protocol::rtvi::parse(m), Ok(protocol::rtvi::Message::Metrics(ref x)) if x.is_initial()))
        .expect("metrics message");
    let after = secs(connected, metrics.0);
    assert!((0.40..0.60).contains(&after), "metrics after {after:.3} s");
    let started = messages
        .iter()
        .find(|(_, m)| m.contains("bot-started-speaking"))
        .expect("bot-started-speaking");
    assert!(
        started.0 <= times[0],
        "bot-started-speaking precedes the audio"
    );
    for (_, m) in &messages {
        let json: serde_json::Value = serde_json::from_str(m).unwrap();
        assert_eq!(json["label"], "rtvi-ai");
    }
    let counters = agent.counters();
    assert_eq!((counters.greetings, counters.turns), (1, 0));
    agent.shutdown().await.unwrap();
}

/// `--capacity 1` with two users ending their turns together: the second reply's LLM TTFB
/// doubles, and so does the first one's TTS TTFB, which starts while the second is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_model_slows_replies_beyond_capacity() {
    let (log, dir) = (MemoryLog::new(), tempfile::tempdir().unwrap());
    let agent = agent::start(AgentOptions {
        capacity: Some(1),
        llm_ttfb: Delay::fixed(200.0),
        tts_ttfb: Delay::fixed(150.0),
        ..options(&log, &dir)
    })
    .await
    .unwrap();
    let (samples, _) = short_query();
    let (a, b) = tokio::join!(
        converse(&agent, "user_a", &samples, Duration::from_millis(3300)),
        converse(&agent, "user_b", &samples, Duration::from_millis(3300)),
    );
    assert_eq!(audio_times(&a.1).len(), 25);
    assert_eq!(audio_times(&b.1).len(), 25);
    let mut turns = agent.turns();
    assert_eq!(turns.len(), 2);
    turns.sort_by(|x, y| x.llm_ttfb_s.total_cmp(&y.llm_ttfb_s));
    assert!((turns[0].llm_ttfb_s - 0.2).abs() < 1e-6, "{turns:?}");
    assert!((turns[1].llm_ttfb_s - 0.4).abs() < 1e-6, "{turns:?}");
    for turn in &turns {
        assert!((turn.tts_ttfb_s - 0.3).abs() < 1e-6, "{turns:?}");
    }
    assert!(turns[1].truth.latency_s - turns[0].truth.latency_s > 0.15);
    assert_eq!(agent.counters().max_generating, 2);
    agent.shutdown().await.unwrap();
}

/// The same seed and stream id draw the same random delays, whatever the connection order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_delays_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (samples, _) = short_query();
    let mut draws = Vec::new();
    for order in [["user_a", "user_b"], ["user_b", "user_a"]] {
        let log = MemoryLog::new();
        let agent = agent::start(AgentOptions {
            asr: "uniform:20:60".parse().unwrap(),
            llm_ttfb: "normal:100:20".parse().unwrap(),
            ..options(&log, &dir)
        })
        .await
        .unwrap();
        let (x, y) = tokio::join!(
            converse(&agent, order[0], &samples, Duration::from_millis(1800)),
            converse(&agent, order[1], &samples, Duration::from_millis(1800)),
        );
        assert!(!audio_times(&x.1).is_empty() && !audio_times(&y.1).is_empty());
        let mut turns = agent.turns();
        turns.sort_by(|p, q| p.stream_id.cmp(&q.stream_id));
        assert_eq!(turns.len(), 2);
        let values: Vec<(f64, f64)> = turns.iter().map(|t| (t.asr_s, t.llm_ttfb_s)).collect();
        for (asr, _) in &values {
            assert!((0.02..=0.06).contains(asr), "{values:?}");
        }
        assert_ne!(values[0], values[1], "streams draw differently");
        draws.push(values);
        agent.shutdown().await.unwrap();
    }
    assert_eq!(draws[0], draws[1]);
}
