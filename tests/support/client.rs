//! A small pipecat client for the agent tests: streams 16 kHz audio paced on an absolute
//! clock and records every frame it receives with its arrival time.

use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use voiceperf::agent::AgentHandle;
use voiceperf::audio::riff;
use voiceperf::protocol::{self, AudioRawFrame, Frame, FrameKind};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type Sink = SplitSink<Ws, Message>;
pub type Source = SplitStream<Ws>;

/// What the client received.
#[derive(Debug, Clone)]
pub enum Got {
    Audio(AudioRawFrame),
    Interruption,
    Message(String),
    OtherFrame(Frame),
    Undecodable(Vec<u8>),
    Close(Option<CloseFrame>),
    /// The stream ended with an error (e.g. reset without a closing handshake).
    Error(String),
    /// The stream ended without a close frame or error.
    End,
}

/// One thing received and when.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub got: Got,
}

/// How the client sends its audio chunks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Payload {
    /// Raw PCM, frames named `InputAudioRawFrame#<id>` (as pipecat's client does).
    Raw,
    /// Each chunk a WAV file of its own (pipecat's add_wav_header), frames unnamed.
    WavWrapped,
}

pub async fn connect(agent: &AgentHandle, stream_id: &str) -> (Sink, Source) {
    let (ws, _) = tokio_tungstenite::connect_async(agent.url(stream_id))
        .await
        .expect("connecting to the agent");
    ws.split()
}

/// Sends `samples` as 16 kHz mono raw AudioRawFrames of `chunk_ms`, with ids from
/// `first_id`, paced on an absolute clock. Returns each id with the time its send completed.
pub async fn stream_audio(
    sink: &mut Sink,
    samples: &[i16],
    chunk_ms: u64,
    first_id: u64,
) -> Vec<(u64, Instant)> {
    stream_audio_as(sink, samples, chunk_ms, first_id, Payload::Raw).await
}

/// [`stream_audio`] with the chunks sent as `payload`; stops at the first failed send (the
/// agent closed the connection).
pub async fn stream_audio_as(
    sink: &mut Sink,
    samples: &[i16],
    chunk_ms: u64,
    first_id: u64,
    payload: Payload,
) -> Vec<(u64, Instant)> {
    let per_chunk = (16 * chunk_ms) as usize;
    let start = Instant::now();
    let mut sent = Vec::new();
    for (k, chunk) in samples.chunks(per_chunk).enumerate() {
        let due = start + Duration::from_millis(chunk_ms * k as u64);
        tokio::time::sleep_until(due.into()).await;
        let id = first_id + k as u64;
        let pcm = riff::pcm16_to_bytes(chunk);
        let frame = match payload {
            Payload::Raw => {
                protocol::audio_frame(id, format!("InputAudioRawFrame#{id}"), pcm, 16_000, 1)
            }
            Payload::WavWrapped => protocol::audio_frame(
                id,
                String::new(),
                riff::wrap_pcm16(&pcm, 16_000, 1),
                16_000,
                1,
            ),
        };
        if sink
            .send(Message::binary(protocol::encode(&frame)))
            .await
            .is_err()
        {
            break;
        }
        sent.push((id, Instant::now()));
    }
    sent
}

/// Connects as `stream_id`, streams `samples` in 20 ms chunks from id 1 and records what
/// arrives until `listen` after the start.
pub async fn converse(
    agent: &AgentHandle,
    stream_id: &str,
    samples: &[i16],
    listen: Duration,
) -> (Vec<(u64, Instant)>, Vec<Received>) {
    let (mut sink, source) = connect(agent, stream_id).await;
    let receiver = receive_until(source, Instant::now() + listen);
    let sent = stream_audio(&mut sink, samples, 20, 1).await;
    let received = receiver.await.expect("receiver task");
    (sent, received)
}

/// The id of the chunk holding sample `index - 1` (the last voiced one).
pub fn chunk_id_of_sample(index: usize, chunk_ms: u64, first_id: u64) -> u64 {
    first_id + ((index - 1) / (16 * chunk_ms as usize)) as u64
}

/// Records everything received until `deadline` or the end of the stream.
pub fn receive_until(
    mut source: Source,
    deadline: Instant,
) -> tokio::task::JoinHandle<Vec<Received>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline.into(), source.next()).await;
            let at = Instant::now();
            let got = match next {
                Err(_) => break,
                Ok(None) => Got::End,
                Ok(Some(Err(err))) => Got::Error(err.to_string()),
                Ok(Some(Ok(Message::Binary(bytes)))) => match protocol::decode(&bytes) {
                    Ok(Frame {
                        frame: Some(FrameKind::Audio(audio)),
                    }) => Got::Audio(audio),
                    Ok(Frame {
                        frame: Some(FrameKind::Interruption(_)),
                    }) => Got::Interruption,
                    Ok(Frame {
                        frame: Some(FrameKind::Message(m)),
                    }) => Got::Message(m.data),
                    Ok(other) => Got::OtherFrame(other),
                    Err(_) => Got::Undecodable(bytes.to_vec()),
                },
                Ok(Some(Ok(Message::Close(frame)))) => Got::Close(frame),
                Ok(Some(Ok(_))) => continue,
            };
            let last = matches!(got, Got::End | Got::Error(_) | Got::Close(_));
            out.push(Received { at, got });
            if last {
                break;
            }
        }
        out
    })
}

/// Arrival times of the audio frames received.
pub fn audio_times(received: &[Received]) -> Vec<Instant> {
    received
        .iter()
        .filter(|r| matches!(r.got, Got::Audio(_)))
        .map(|r| r.at)
        .collect()
}

/// Audio frames received, in order.
pub fn audio_frames(received: &[Received]) -> Vec<AudioRawFrame> {
    received
        .iter()
        .filter_map(|r| match &r.got {
            Got::Audio(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

/// Seconds from `a` to `b` (negative when `b` is earlier).
pub fn secs(a: Instant, b: Instant) -> f64 {
    if b >= a {
        (b - a).as_secs_f64()
    } else {
        -(a - b).as_secs_f64()
    }
}
