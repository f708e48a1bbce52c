//! Issue 15, bench items 4–6: hostile servers (real tokio-tungstenite servers on 127.0.0.1,
//! port 0) and failing writes. Each test reproduces a defect of the issue.

mod support;

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use support::bench::Fixture;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use voiceperf::Outcome;
use voiceperf::bench::{BenchOptions, Stop, bench};
use voiceperf::protocol::{audio_frame, encode};
use voiceperf::runfolder::results::ErrorKind;

/// What the hostile server does with each connection after the WebSocket handshake.
#[derive(Clone, Copy)]
enum Hostile {
    /// Closes the TCP connection at once.
    CloseAfterHandshake,
    /// Sends one 50 MB binary message.
    Huge,
    /// Sends reply audio frames of 20 ms of samples labelled with this sample rate, this many
    /// frames per second of wall time, forever.
    Audio {
        rate: u32,
        frames_per_s: u32,
        odd: bool,
    },
}

/// Starts the hostile server; its `ws://` URL template for bench.
async fn hostile(behaviour: Hostile) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                match behaviour {
                    Hostile::CloseAfterHandshake => drop(ws),
                    Hostile::Huge => {
                        let _ = ws.send(Message::binary(vec![0u8; 50 << 20])).await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    Hostile::Audio {
                        rate,
                        frames_per_s,
                        odd,
                    } => {
                        let samples = (rate as usize / 50).max(1);
                        let mut pcm = vec![0u8; samples * 2];
                        if odd {
                            pcm.push(0);
                        }
                        let gap = Duration::from_secs_f64(1.0 / f64::from(frames_per_s));
                        for id in 0.. {
                            let frame = audio_frame(id, "reply".into(), pcm.clone(), rate, 1);
                            if ws.send(Message::binary(encode(&frame))).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(gap).await;
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}/ws/{{stream_id}}")
}

fn options(fx: &Fixture, url: String) -> BenchOptions {
    BenchOptions {
        url,
        clients: vec![2],
        client_start_delay: Duration::from_millis(100),
        test_duration: Duration::from_secs(2),
        output_dir: Some(fx.out.clone()),
        audio_dir: fx.audio_dir.clone(),
        reply_gap: Duration::from_millis(300),
        reply_timeout: Duration::from_secs(1),
        greeting_timeout: Duration::from_millis(500),
        max_error_rate: Some(0.05),
        quiet: true,
        ..BenchOptions::default()
    }
}

/// Item 4: connections that fail before any turn count as failed attempts.
async fn fails_the_error_rate(behaviour: Hostile, what: &str) {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    let url = hostile(behaviour).await;
    let report = bench(&options(&fx, url), &Stop::new()).await.unwrap();
    let errors = &report.levels[0].summary.errors;
    assert!(errors.total > 0, "{what}: no error recorded: {errors:?}");
    assert!(
        errors.failed > 0 && errors.attempted >= errors.failed,
        "{what}: {errors:?}"
    );
    assert!(errors.error_rate > 0.05, "{what}: {errors:?}");
    assert_ne!(
        report.outcome,
        Outcome::Success,
        "{what}: {:?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_after_the_handshake_fails_the_error_rate() {
    fails_the_error_rate(Hostile::CloseAfterHandshake, "close after handshake").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_message_fails_the_error_rate() {
    fails_the_error_rate(Hostile::Huge, "50 MB message").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_flood_fails_the_error_rate() {
    let flood = Hostile::Audio {
        rate: 16_000,
        frames_per_s: 5_000,
        odd: false,
    };
    fails_the_error_rate(flood, "audio flood").await;
}

/// Item 5: impossible reply audio is a `bad_audio` error and the greeting wait stays bounded.
async fn bad_audio(behaviour: Hostile, what: &str) {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    let url = hostile(behaviour).await;
    let mut options = options(&fx, url);
    options.clients = vec![1];
    let started = Instant::now();
    let report = bench(&options, &Stop::new()).await.unwrap();
    let elapsed = started.elapsed();
    let summary = &report.levels[0].summary;
    assert!(
        summary
            .errors
            .by_kind
            .get(&ErrorKind::BadAudio)
            .copied()
            .unwrap_or(0)
            > 0,
        "{what}: {:?}",
        summary.errors
    );
    assert!(
        summary.errors.error_rate > 0.05,
        "{what}: {:?}",
        summary.errors
    );
    assert!(
        elapsed < Duration::from_secs(20),
        "{what}: took {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_rate_of_1_is_bad_audio() {
    let rate_1 = Hostile::Audio {
        rate: 1,
        frames_per_s: 50,
        odd: false,
    };
    bad_audio(rate_1, "rate 1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_rate_of_1_mhz_is_bad_audio() {
    let rate = Hostile::Audio {
        rate: 1_000_000,
        frames_per_s: 50,
        odd: false,
    };
    bad_audio(rate, "rate 1 MHz").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_length_pcm_is_bad_audio() {
    let odd = Hostile::Audio {
        rate: 16_000,
        frames_per_s: 50,
        odd: true,
    };
    bad_audio(odd, "odd length").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_at_100x_real_time_is_bad_audio() {
    let fast = Hostile::Audio {
        rate: 16_000,
        frames_per_s: 5_000,
        odd: false,
    };
    bad_audio(fast, "100x real time").await;
}
