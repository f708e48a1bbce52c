//! `voiceperf agent --protocol <provider>` on real sockets: a provider-side client (the
//! messages of `protocol::telephony::ProviderSession`, as a phone provider sends them) opens
//! the call, speaks, barges in, echoes marks and hangs up; the agent answers as a pipecat
//! telephony bot: media in the provider's encoding, `clear` on interruption, marks (Twilio).

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use support::agent::{PIPELINE_MS, VAD_STOP_MS, fast_options};
use support::audio::synth_query;
use tokio_tungstenite::tungstenite::Message;
use voiceperf::agent::{self, MemoryLog};
use voiceperf::protocol::Protocol;
use voiceperf::protocol::telephony::{
    BotEvent, CallIds, Codec, Provider, ProviderSession, WsMessage, WsRef, frames, to_wire_rate,
};

fn to_ws(message: WsMessage) -> Message {
    match message {
        WsMessage::Text(text) => Message::text(text),
        WsMessage::Binary(bytes) => Message::binary(bytes),
    }
}

/// What the caller heard, with arrival times.
#[derive(Debug)]
struct Heard {
    at: Instant,
    event: BotEvent,
}

/// One call: `lead` silence, speech, silence long enough for the reply to start, then more
/// speech over the reply (a barge-in), then silence until the second reply has played; marks
/// echoed as they arrive (a real provider echoes them when the audio before them has played;
/// here the reply is short and the point is the round trip), then the provider's stop.
async fn call(provider: Provider, path_has_id: bool) {
    call_with(provider, path_has_id, provider.default_codec()).await;
}

async fn call_with(provider: Provider, path_has_id: bool, codec: Codec) {
    let log = MemoryLog::new();
    let agent = agent::start(agent::AgentOptions {
        protocol: Protocol::Telephony(provider),
        chunk_ms: 20,
        ..fast_options(&log)
    })
    .await
    .unwrap();
    let stream_id = format!("MZ{}", provider.name());
    let url = if path_has_id {
        agent.url(&stream_id)
    } else {
        format!("ws://{}/ws", agent.local_addr())
    };
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut sink, mut source) = ws.split();
    let mut session = ProviderSession::new(
        provider,
        CallIds {
            stream_id: stream_id.clone(),
            ..CallIds::numbered(7, vec![("tenant".into(), "acme".into())])
        },
    )
    .with_codec(codec)
    .unwrap();
    for message in session.opening() {
        sink.send(to_ws(message)).await.unwrap();
    }

    // 0.3 s silence, 1.0 s speech, 1.4 s silence (the reply starts ~0.5 s after the speech),
    // then 0.8 s of speech over the reply, then 3.5 s of silence.
    let (mut query, voice_end) = synth_query(0.3, 1.0, 1.4, 21);
    let (barge, _) = synth_query(0.0, 0.8, 3.5, 22);
    let barge_at = query.len();
    query.extend(barge);
    let unit: Vec<f32> = query.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let wire = to_wire_rate(&unit, 16_000, provider).unwrap();
    let frame_ms = u64::from(provider.frame_ms());
    let per_frame = provider.frame_samples();
    // The wire frame holding the last voiced sample (1-based, the agent's frame id).
    let voice_end_wire = voice_end * provider.wire_rate() as usize / 16_000;
    let end_frame = (voice_end_wire - 1) / per_frame + 1;
    let barge_frame = barge_at * provider.wire_rate() as usize / 16_000 / per_frame + 1;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Heard>();
    let decoder = session.clone();
    let reader = tokio::spawn(async move {
        let mut closed = false;
        while let Some(Ok(message)) = source.next().await {
            let at = Instant::now();
            let event = match &message {
                Message::Text(text) => decoder.decode_bot(WsRef::Text(text.as_str())),
                Message::Binary(bytes) => decoder.decode_bot(WsRef::Binary(bytes)),
                Message::Close(_) => {
                    closed = true;
                    break;
                }
                _ => continue,
            };
            let _ = tx.send(Heard {
                at,
                event: event.expect("the agent's messages decode"),
            });
        }
        closed
    });

    let start = Instant::now();
    let mut sent_at = Vec::new();
    let mut heard = Vec::new();
    for (k, frame) in frames(&wire, provider).enumerate() {
        let due = start + Duration::from_millis(frame_ms * k as u64);
        tokio::time::sleep_until(due.into()).await;
        sink.send(to_ws(session.media(&frame))).await.unwrap();
        sent_at.push(Instant::now());
        while let Ok(h) = rx.try_recv() {
            if let BotEvent::Mark(name) = &h.event
                && let Some(echo) = session.mark(name)
            {
                sink.send(to_ws(echo)).await.unwrap();
            }
            heard.push(h);
        }
    }
    if let Some(stop) = session.stop() {
        sink.send(to_ws(stop)).await.unwrap();
    }
    let _ = sink.send(Message::Close(None)).await;
    let closed_by_agent = tokio::time::timeout(Duration::from_secs(3), reader)
        .await
        .expect("the agent ends the call")
        .unwrap();
    while let Ok(h) = rx.try_recv() {
        heard.push(h);
    }
    let counters = agent.counters();
    let turns = agent.turns();
    agent.shutdown().await.unwrap();
    let log = log.contents();

    // Two turns; the first reply's latency (socket to socket) is the VAD stop plus the
    // pipeline, measured from the frame holding the last speech.
    assert_eq!(turns.len(), 2, "{provider}: {turns:?}\n{log}");
    let first = &turns[0].truth;
    assert_eq!(turns[0].stream_id, stream_id, "{provider}");
    let expected = (f64::from(VAD_STOP_MS) + PIPELINE_MS) / 1000.0;
    // The VAD holds speech a few frames past the voice (hangover); 20 ms framing moves the
    // end by at most one frame.
    let id_slack = 8 * 20 / frame_ms + 1;
    assert!(
        first.last_speech_frame_id >= end_frame as u64
            && first.last_speech_frame_id <= end_frame as u64 + id_slack,
        "{provider}: last speech frame {} vs voice end in frame {end_frame}",
        first.last_speech_frame_id
    );
    assert!(
        (first.latency_s - expected).abs() < 0.03 + frame_ms as f64 / 1000.0,
        "{provider}: agent latency {:.3} s vs {expected:.3} s",
        first.latency_s
    );
    let first_audio = heard
        .iter()
        .find(|h| matches!(h.event, BotEvent::Audio(_)))
        .expect("bot audio");
    let sent_last = sent_at[first.last_speech_frame_id as usize - 1];
    let measured = first_audio.at.duration_since(sent_last).as_secs_f64();
    assert!(
        (measured - first.latency_s).abs() < 0.01,
        "{provider}: the caller measured {measured:.3} s, the agent {:.3} s",
        first.latency_s
    );
    // Bot audio at the wire rate in 20 ms messages.
    for h in &heard {
        if let BotEvent::Audio(audio) = &h.event {
            assert_eq!(audio.sample_rate, provider.wire_rate(), "{provider}");
            assert_eq!(
                audio.samples.len(),
                provider.wire_rate() as usize / 50,
                "{provider}"
            );
        }
    }
    // The barge-in cleared the first reply: a clear arrives after the barge started.
    let clear = heard
        .iter()
        .find(|h| h.event == BotEvent::Clear)
        .unwrap_or_else(|| panic!("{provider}: no clear in {} messages\n{log}", heard.len()));
    let barge_sent = sent_at[barge_frame - 1];
    assert!(clear.at > barge_sent, "{provider}");
    assert_eq!(counters.interruptions, 1, "{provider}");
    // Twilio marks each reply's end and hears the echo; the others send no marks.
    let marks = heard
        .iter()
        .filter(|h| matches!(h.event, BotEvent::Mark(_)))
        .count();
    if provider == Provider::Twilio {
        assert_eq!(marks, 1, "the interrupted reply sent no mark");
        assert_eq!(counters.marks_received, 1);
    } else {
        assert_eq!((marks, counters.marks_received), (0, 0), "{provider}");
    }
    assert_eq!(counters.malformed_frames, 0, "{provider}\n{log}");
    assert_eq!(counters.replies_completed, 1, "{provider}");
    if session.stop().is_some() {
        assert!(log.contains("the caller hung up (stop message)"), "{log}");
    }
    assert!(closed_by_agent || provider == Provider::Plivo || provider == Provider::Vonage);
    assert!(
        log.contains(&format!(
            "Accepting WebSocket connection for stream ID {stream_id}"
        )),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_call_at_the_runner_path() {
    call(Provider::Twilio, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnyx_call() {
    call(Provider::Telnyx, true).await;
}

/// Telnyx with A-law caller audio: the agent decodes what the start message announced and
/// answers in µ-law, as pipecat's runner does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnyx_pcma_call() {
    call_with(Provider::Telnyx, false, Codec::Pcma).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plivo_call() {
    call(Provider::Plivo, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exotel_call() {
    call(Provider::Exotel, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vonage_call() {
    call(Provider::Vonage, true).await;
}
