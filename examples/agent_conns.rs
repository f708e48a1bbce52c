//! Load check for `voiceperf agent`: opens many concurrent WebSocket connections, each
//! streaming a spoken query (then silence) in real time, turn after turn, and reports how many
//! connections and turns succeeded, the latency each client saw, and the reply pacing.
//!
//! Used by `scripts/bench_agent_conns.sh`:
//!     cargo run --release --example agent_conns -- --url ws://127.0.0.1:8100/ws --connections 1000

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use voiceperf::audio::riff;
use voiceperf::audio::voice::{VoiceParams, synthesize_speech};
use voiceperf::protocol::{self, Frame, FrameKind};
use voiceperf::serverlog::parse::{Event, LineParser, ServiceNames};
use voiceperf::stats::Summary;

/// Opens many concurrent connections to a voiceperf (or pipecat) agent.
#[derive(Debug, Parser)]
struct Args {
    /// Base URL; each connection appends `/conn_<i>`.
    #[arg(long, default_value = "ws://127.0.0.1:8100/ws")]
    url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Seconds each connection keeps talking (after the ramp).
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Seconds over which connections are opened.
    #[arg(long, default_value_t = 5.0)]
    ramp: f64,
    /// Audio chunk length in ms.
    #[arg(long, default_value_t = 20)]
    chunk_ms: u64,
    /// Seconds of silence after each 1 s query (must cover the reply).
    #[arg(long, default_value_t = 4.0)]
    gap: f64,
    /// The agent's log file: compare its truth lines with what the clients measured.
    #[arg(long)]
    agent_log: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct ConnResult {
    connected: bool,
    error: Option<String>,
    turns_sent: usize,
    latencies: Vec<f64>,
    frame_gaps_ms: Vec<f64>,
    send_lateness_ms: Vec<f64>,
    /// Send time of each chunk, by id - 1.
    sent_times: Vec<Instant>,
    /// First audio frame of each turn's reply.
    first_audio: Vec<Option<Instant>>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    voiceperf::fsutil::raise_open_files_limit(args.connections as u64 * 2 + 256)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let voice = synthesize_speech(
        16_000,
        VoiceParams {
            seconds: 1.0,
            f0_hz: 120.0,
            seed: 5,
            peak: 0.4,
        },
    );
    let per_chunk = (16 * args.chunk_ms) as usize;
    let query_chunks = voice.len().div_ceil(per_chunk);
    let mut turn = voice.clone();
    turn.resize(query_chunks * per_chunk + (args.gap * 16_000.0) as usize, 0);
    let turn = Arc::new(turn);
    let start = Instant::now();
    let args = Arc::new(args);
    let mut tasks = Vec::new();
    for i in 0..args.connections {
        let (args, turn) = (Arc::clone(&args), Arc::clone(&turn));
        let at = start + Duration::from_secs_f64(args.ramp * i as f64 / args.connections as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            connection(i, &args, &turn, query_chunks).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await?);
    }
    report(&args, &results, start.elapsed());
    if let Some(log) = &args.agent_log {
        // Give the agent's log writer a moment to catch up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        compare_with_truth(log, &results)?;
    }
    Ok(())
}

/// For every `VoiceperfAgent turn` line: the client's own view of the same interval (send of
/// the frame id the agent names → arrival of that turn's first audio) minus the agent's.
fn compare_with_truth(log: &std::path::Path, results: &[ConnResult]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(log)?;
    let parser = LineParser::new(ServiceNames::default());
    let mut diffs_ms = Vec::new();
    let mut unmatched = 0;
    for line in text.lines() {
        let Some(Event::AgentTurn { stream, truth }) = parser.parse(line.as_bytes()) else {
            continue;
        };
        let conn = std::str::from_utf8(stream)
            .ok()
            .and_then(|s| s.strip_prefix("conn_"))
            .and_then(|n| n.parse::<usize>().ok());
        let client = conn.and_then(|conn| {
            let r = results.get(conn)?;
            let id = usize::try_from(truth.last_speech_frame_id).ok()?;
            let turn = usize::try_from(truth.turn).ok()?;
            let sent = *r.sent_times.get(id.checked_sub(1)?)?;
            let first = (*r.first_audio.get(turn.checked_sub(1)?)?)?;
            Some((first - sent).as_secs_f64())
        });
        match client {
            Some(client) => diffs_ms.push((client - truth.latency_s) * 1000.0),
            None => unmatched += 1,
        }
    }
    let abs: Vec<f64> = diffs_ms.iter().map(|d| d.abs()).collect();
    if let (Some(signed), Some(s)) = (
        Summary::from_samples(&diffs_ms),
        Summary::from_samples(&abs),
    ) {
        println!(
            "client view - agent truth line: mean {:+.2} ms, |diff| p50 {:.2} ms p99 {:.2} ms max {:.2} ms (n={}, {unmatched} unmatched)",
            signed.mean, s.p50, s.p99, s.max, s.count
        );
    } else {
        println!("no truth lines matched ({unmatched} unmatched)");
    }
    Ok(())
}

async fn connection(i: usize, args: &Args, turn: &[i16], query_chunks: usize) -> ConnResult {
    let mut result = ConnResult::default();
    let url = format!("{}/conn_{i}", args.url);
    let ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(err) => {
            result.error = Some(format!("connect: {err}"));
            return result;
        }
    };
    result.connected = true;
    let (mut sink, mut source) = ws.split();
    let audio_times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let receiver = {
        let audio_times = Arc::clone(&audio_times);
        tokio::spawn(async move {
            while let Some(message) = source.next().await {
                match message {
                    Ok(Message::Binary(bytes)) => {
                        let now = Instant::now();
                        if let Ok(Frame {
                            frame: Some(FrameKind::Audio(_)),
                        }) = protocol::decode(&bytes)
                        {
                            audio_times.lock().unwrap().push(now);
                        }
                    }
                    Ok(Message::Close(_)) => return None,
                    Ok(_) => {}
                    Err(err) => return Some(format!("receive: {err}")),
                }
            }
            None
        })
    };
    let chunk = Duration::from_millis(args.chunk_ms);
    let per_chunk = (16 * args.chunk_ms) as usize;
    let chunks_per_turn = turn.len() / per_chunk;
    let turns =
        ((args.duration / (chunks_per_turn as f64 * chunk.as_secs_f64())).floor() as usize).max(1);
    let begin = Instant::now();
    let mut query_ends = Vec::new();
    let mut id = 0u64;
    'turns: for t in 0..turns {
        for (k, samples) in turn.chunks(per_chunk).enumerate() {
            let due = begin + chunk * (t * chunks_per_turn + k) as u32;
            tokio::time::sleep_until(due.into()).await;
            id += 1;
            let frame =
                protocol::audio_frame(id, String::new(), riff::pcm16_to_bytes(samples), 16_000, 1);
            if let Err(err) = sink.send(Message::binary(protocol::encode(&frame))).await {
                result.error = Some(format!("send: {err}"));
                break 'turns;
            }
            let sent = Instant::now();
            result.sent_times.push(sent);
            result
                .send_lateness_ms
                .push((sent - due).as_secs_f64() * 1000.0);
            if k + 1 == query_chunks {
                query_ends.push(sent);
                result.turns_sent += 1;
            }
        }
    }
    let _ = sink.close().await;
    if let Ok(Ok(Some(err))) = tokio::time::timeout(Duration::from_secs(5), receiver).await {
        result.error.get_or_insert(err);
    }
    let times = audio_times.lock().unwrap().clone();
    for (t, &end) in query_ends.iter().enumerate() {
        let next = query_ends.get(t + 1).copied();
        let reply: Vec<Instant> = times
            .iter()
            .copied()
            .filter(|&a| a > end && next.is_none_or(|n| a < n))
            .collect();
        if let Some(&first) = reply.first() {
            result.latencies.push((first - end).as_secs_f64());
        }
        result.first_audio.push(reply.first().copied());
        // Skip the first gap: pipecat-like servers send the first two frames back to back.
        result.frame_gaps_ms.extend(
            reply
                .windows(2)
                .skip(1)
                .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0),
        );
    }
    result
}

fn report(args: &Args, results: &[ConnResult], elapsed: Duration) {
    let connected = results.iter().filter(|r| r.connected).count();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.error.as_ref()).collect();
    let turns: usize = results.iter().map(|r| r.turns_sent).sum();
    let answered: usize = results.iter().map(|r| r.latencies.len()).sum();
    let collect = |f: fn(&ConnResult) -> &Vec<f64>| -> Vec<f64> {
        results.iter().flat_map(|r| f(r).iter().copied()).collect()
    };
    println!(
        "{} connections to {} over {:.1} s ({} ms chunks): {connected} connected, {} clean, {} errors",
        args.connections,
        args.url,
        elapsed.as_secs_f64(),
        args.chunk_ms,
        connected - errors.len().min(connected),
        errors.len()
    );
    for err in errors.iter().take(5) {
        println!("  error: {err}");
    }
    println!(
        "turns: {turns} sent, {answered} answered ({:.1}%)",
        100.0 * answered as f64 / turns.max(1) as f64
    );
    let show = |name: &str, unit: &str, scale: f64, samples: Vec<f64>| {
        if let Some(s) = Summary::from_samples(&samples) {
            println!(
                "{name}: p50 {:.1}{unit} p90 {:.1}{unit} p99 {:.1}{unit} max {:.1}{unit} (n={})",
                s.p50 * scale,
                s.p90 * scale,
                s.p99 * scale,
                s.max * scale,
                s.count
            );
        }
    };
    show(
        "latency end of query -> first audio",
        " ms",
        1000.0,
        collect(|r| &r.latencies),
    );
    show(
        "reply frame gaps",
        " ms",
        1.0,
        collect(|r| &r.frame_gaps_ms),
    );
    show(
        "client send lateness",
        " ms",
        1.0,
        collect(|r| &r.send_lateness_ms),
    );
}
