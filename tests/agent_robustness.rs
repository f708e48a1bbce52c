//! `voiceperf agent` against bad clients: malformed, unknown and oversize messages, odd stream
//! ids, wrong paths, the connection limit, broken handshakes and shutdown.

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use support::agent::fast_options;
use support::audio::synth_query;
use support::client::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use voiceperf::agent::{self, AgentOptions, MemoryLog};
use voiceperf::protocol::{self, Frame, FrameKind, TextFrame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_counted_and_the_connection_goes_on() {
    let log = MemoryLog::new();
    let agent = agent::start(AgentOptions {
        max_message_bytes: 4096,
        ..fast_options(&log)
    })
    .await
    .unwrap();
    let (mut sink, source) = connect(&agent, "messy").await;
    let receiver = receive_until(source, Instant::now() + Duration::from_millis(4500));
    let text_frame = Frame {
        frame: Some(FrameKind::Text(TextFrame {
            id: 1,
            name: "TextFrame#1".into(),
            text: "hello".into(),
        })),
    };
    let audio_24k = protocol::audio_frame(1, String::new(), vec![0; 960], 24_000, 1);
    let broken_wav = protocol::audio_frame(
        2,
        String::new(),
        b"RIFF\x10\0\0\0WAVEjunk".to_vec(),
        16_000,
        1,
    );
    let bad: Vec<Message> = vec![
        Message::binary(vec![0xff, 0xff, 0xff, 0xff, 0xff]),
        Message::text("not protobuf"),
        Message::binary(vec![0x4a, 0x02, 0x08, 0x01]),
        Message::binary(vec![0u8; 8000]),
        Message::binary(protocol::encode(&audio_24k)),
        Message::binary(protocol::encode(&broken_wav)),
        Message::binary(protocol::encode(&text_frame)),
    ];
    for message in bad {
        sink.send(message).await.unwrap();
    }
    let (samples, _) = synth_query(0.2, 1.0, 0.8, 31);
    stream_audio(&mut sink, &samples, 20, 1).await;
    let received = receiver.await.unwrap();
    assert_eq!(audio_times(&received).len(), 61, "the reply still comes");
    let c = agent.counters();
    assert_eq!(c.malformed_frames, 3, "{c:?}");
    assert_eq!(c.oversize_messages, 1, "{c:?}");
    assert_eq!(c.unknown_frames, 1, "{c:?}");
    assert_eq!(c.unsupported_audio, 1, "{c:?}");
    assert_eq!(c.other_frames, 1, "{c:?}");
    assert_eq!(c.turns, 1);
    agent.shutdown().await.unwrap();
    let text = log.contents();
    for expected in [
        "skipped a malformed message: undecodable frame (5 bytes)",
        "skipped a 12 byte text message",
        "skipped a 8000 byte message (limit 4096 bytes)",
        "skipping audio at 24000 Hz with 1 channels",
        "skipped audio frame id 2: audio frame carries a broken WAV payload",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_beyond_the_hard_limit_closes_with_1009() {
    let log = MemoryLog::new();
    let agent = agent::start(AgentOptions {
        max_message_bytes: 4096,
        ..fast_options(&log)
    })
    .await
    .unwrap();
    let (mut sink, mut source) = connect(&agent, "huge").await;
    sink.send(Message::binary(vec![0u8; 100_000]))
        .await
        .unwrap();
    let close = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(message) = source.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame;
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Size));
    assert_eq!(agent.counters().oversize_messages, 1);
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_stream_ids_are_logged_escaped_and_bad_paths_refused() {
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    let odd = "client%20one%2F..%2F..%0Aevil%22%C3%A9";
    let (mut sink, _source) = connect(&agent, odd).await;
    sink.send(Message::binary(vec![0xff; 3])).await.unwrap();
    sink.close().await.unwrap();
    for path in ["", "/", "/ws/", "/ws/a/b", "/other/x"] {
        let url = format!("ws://{}{path}", agent.local_addr());
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 404, "{url}")
            }
            other => panic!("{url}: {:?}", other.map(|_| ())),
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(agent.counters().connections_rejected, 5);
    assert_eq!(agent.counters().connections_accepted, 1);
    agent.shutdown().await.unwrap();
    let text = log.contents();
    let escaped = "client%20one%2F..%2F..%0Aevil%22%C3%A9";
    assert!(
        text.contains(&format!(
            "streamId={escaped} - Accepting WebSocket connection for stream ID {escaped}"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("streamId={escaped} - skipped a malformed message")));
    assert!(!text.contains("client one"), "raw id leaked:\n{text}");
    for line in text.lines() {
        assert!(line.contains(" | streamId="), "a line was split: {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_refuses_with_503_and_frees_slots() {
    let log = MemoryLog::new();
    let agent = agent::start(AgentOptions {
        max_connections: 2,
        ..fast_options(&log)
    })
    .await
    .unwrap();
    let first = connect(&agent, "one").await;
    let _second = connect(&agent, "two").await;
    match tokio_tungstenite::connect_async(agent.url("three")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let (mut sink, _source) = first;
    sink.close().await.unwrap();
    drop(sink);
    // The slot frees once the agent sees the close.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match tokio_tungstenite::connect_async(agent.url("four")).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(err) => panic!("slot never freed: {err}"),
        }
    }
    // The agent counts a connection once its handshake future returns, which can be after the
    // client has read the 101 response.
    let deadline = Instant::now() + Duration::from_secs(3);
    while agent.counters().connections_accepted < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = agent.counters();
    assert!(c.connections_rejected >= 1);
    assert_eq!(c.connections_accepted, 3);
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_handshakes_are_counted_and_shutdown_says_going_away() {
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(agent.local_addr())
        .await
        .unwrap();
    tcp.write_all(b"hello there\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), tcp.read_to_end(&mut buf)).await;
    let (_sink, mut source) = connect(&agent, "still_fine").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(agent.counters().handshake_failures, 1);
    assert_eq!(agent.counters().connections_active, 1);
    let shutdown = tokio::spawn(agent.shutdown());
    let close = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(message) = source.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame;
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Away));
    let report = shutdown.await.unwrap().unwrap();
    assert_eq!(report.counters.connections_accepted, 1);
    assert!(
        log.contents()
            .contains("VoiceperfAgent stopped: 1 connections")
    );
}

/// WAV-wrapped input (a client that sends pipecat's add_wav_header chunks) is read by its
/// header, so turns are detected the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wav_wrapped_input_is_understood() {
    let log = MemoryLog::new();
    let agent = agent::start(fast_options(&log)).await.unwrap();
    let (mut sink, source) = connect(&agent, "wav_in").await;
    let receiver = receive_until(source, Instant::now() + Duration::from_millis(2600));
    let (samples, _) = synth_query(0.2, 0.8, 0.8, 32);
    let sent = stream_audio_as(&mut sink, &samples, 20, 1, Payload::WavWrapped).await;
    assert_eq!(sent.len(), samples.len().div_ceil(320), "every chunk sent");
    let received = receiver.await.unwrap();
    assert!(!audio_times(&received).is_empty());
    assert_eq!(agent.counters().turns, 1);
    assert_eq!(agent.counters().malformed_frames, 0);
    agent.shutdown().await.unwrap();
}

/// A client that went silent is pinged; one that keeps reading answers the pings (its library
/// does) and stays; one that answers nothing — a peer gone without closing its socket — is
/// closed after twice the keepalive interval instead of holding its connection forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_pinged_and_vanished_ones_closed() {
    let log = MemoryLog::new();
    let agent = agent::start(AgentOptions {
        keepalive: Some(Duration::from_millis(300)),
        ..fast_options(&log)
    })
    .await
    .unwrap();
    // Reads (so its WebSocket library answers pings) but never sends.
    let (_listening_sink, mut listening) = connect(&agent, "listening").await;
    let pings = tokio::spawn(async move {
        let mut pings = 0;
        let deadline = Instant::now() + Duration::from_millis(1500);
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(deadline.into(), listening.next()).await
        {
            if matches!(message, Message::Ping(_)) {
                pings += 1;
            }
        }
        pings
    });
    // Never polled: no pong, ever.
    let (_gone, _) = tokio_tungstenite::connect_async(agent.url("gone"))
        .await
        .unwrap();
    let pings = pings.await.unwrap();
    assert!(pings >= 2, "{pings} pings");
    assert_eq!(agent.counters().connections_accepted, 2);
    assert_eq!(agent.counters().connections_active, 1, "{}", log.contents());
    agent.flush_log().await;
    let text = log.contents();
    let closed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("no message or pong from the client"))
        .collect();
    assert_eq!(closed.len(), 2, "{text}");
    assert!(
        closed.iter().all(|l| l.contains("streamId=gone ")),
        "{text}"
    );
    agent.shutdown().await.unwrap();
}
