//! `voiceperf::protocol::telephony` against pipecat itself: tests/fixtures/telephony was written
//! by scripts/pipecat_telephony_fixtures.py with pipecat-ai 1.14.0's Twilio, Telnyx, Plivo,
//! Exotel and Vonage serializers, its runner's provider detection and `audioop`'s G.711.
//!
//! Byte-exact: every bot message pipecat sends without resampling (pipeline at the wire rate),
//! clear and mark messages, and every provider message voiceperf builds. Approximate: audio
//! pipecat resampled (soxr VHQ, dithered, so not even reproducible run to run), compared with
//! voiceperf's own resampler within the codec's error.

use std::path::PathBuf;

use serde_json::Value;
use voiceperf::audio::resample;
use voiceperf::fsutil::sha256_hex;
use voiceperf::protocol::telephony::{
    self, BotEvent, BotSession, CallIds, CallerEvent, Codec, Provider, ProviderSession, WsMessage,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telephony")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A fixture as the WebSocket message it was.
fn message(name: &str) -> WsMessage {
    let data = bytes(name);
    if name.ends_with(".bin") {
        WsMessage::Binary(data)
    } else {
        WsMessage::Text(String::from_utf8(data).unwrap())
    }
}

fn pcm(name: &str) -> Vec<i16> {
    bytes(name)
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn provider(entry: &Value) -> Provider {
    entry["provider"].as_str().unwrap().parse().unwrap()
}

fn codec(entry: &Value) -> Codec {
    match entry["codec"].as_str().unwrap() {
        "pcmu" => Codec::Pcmu,
        "pcma" => Codec::Pcma,
        "l16" => Codec::L16,
        other => panic!("codec {other}"),
    }
}

fn call_ids(manifest: &Value) -> CallIds {
    let call = &manifest["call"];
    let s = |k: &str| call[k].as_str().unwrap().to_string();
    CallIds {
        stream_id: s("stream_id"),
        call_id: s("call_id"),
        account_id: s("account_id"),
        from: s("from"),
        to: s("to"),
        custom_parameters: call["custom_parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                (
                    kv[0].as_str().unwrap().into(),
                    kv[1].as_str().unwrap().into(),
                )
            })
            .collect(),
    }
}

fn caller_entries(manifest: &Value) -> &Vec<Value> {
    manifest["caller"].as_array().unwrap()
}

fn bot_entries(manifest: &Value) -> &Vec<Value> {
    manifest["bot"].as_array().unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// A bot session that has read the provider's opening messages of `caller` (setting its
/// stream id), answering in `bot_codec`.
fn started_bot(caller: &Value, bot_codec: Codec) -> BotSession {
    let mut bot = BotSession::new(provider(caller))
        .with_bot_codec(bot_codec)
        .unwrap();
    for name in strings(&caller["opening"]) {
        bot.decode_caller(message(&name).view()).unwrap();
    }
    assert!(bot.started());
    bot
}

/// The caller entry of the same provider and codec as `bot`.
fn caller_of<'m>(manifest: &'m Value, bot: &Value) -> &'m Value {
    caller_entries(manifest)
        .iter()
        .find(|c| c["provider"] == bot["provider"] && c["codec"] == bot["codec"])
        .unwrap()
}

/// How far `ours` is from `theirs` over `range`: their power over the difference's, in dB,
/// and the largest difference.
fn snr_db(ours: &[i16], theirs: &[i16], range: std::ops::Range<usize>) -> (f64, i32) {
    let (mut signal, mut noise, mut max) = (0.0f64, 0.0f64, 0i32);
    for i in range {
        let d = i32::from(ours[i]) - i32::from(theirs[i]);
        signal += f64::from(theirs[i]).powi(2);
        noise += f64::from(d).powi(2);
        max = max.max(d.abs());
    }
    (10.0 * (signal / noise).log10(), max)
}

/// G.711's own signal-to-quantisation-noise ratio is ~38 dB; two resamplers of the same
/// signal must agree far better than that.
const MIN_SNR_DB: f64 = 45.0;

fn to_f32(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| f32::from(s) / 32768.0).collect()
}

#[test]
fn fixtures_are_pipecats_and_intact() {
    let manifest = manifest();
    assert_eq!(manifest["pipecat_ai"], "1.14.0");
    let files = manifest["files"].as_object().unwrap();
    assert!(files.len() >= 100, "{}", files.len());
    for (name, meta) in files {
        let data = bytes(name);
        assert_eq!(sha256_hex(&data), meta["sha256"], "{name} changed");
        assert_eq!(data.len() as u64, meta["len"].as_u64().unwrap(), "{name}");
    }
    let providers: std::collections::BTreeSet<_> = caller_entries(&manifest)
        .iter()
        .map(|c| c["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers.len(), 5);
}

/// What voiceperf's agent sends is byte for byte what pipecat's serializers send: audio when
/// the pipeline runs at the wire rate (no resampling), clear, and Twilio's mark.
#[test]
fn bot_messages_we_build_are_pipecats_bytes() {
    let manifest = manifest();
    let mut checked = 0;
    for entry in bot_entries(&manifest) {
        let p = provider(entry);
        let bot = started_bot(caller_of(&manifest, entry), codec(entry));
        if p != Provider::Vonage {
            assert_eq!(bot.stream_id(), manifest["call"]["stream_id"]);
        }
        match entry.get("kind").and_then(Value::as_str) {
            Some("clear") => {
                assert_eq!(
                    bot.clear(),
                    message(entry["file"].as_str().unwrap()),
                    "{p} clear"
                );
                checked += 1;
            }
            Some("mark") => {
                let name = entry["name"].as_str().unwrap();
                let ours = bot.mark(name).expect("twilio marks");
                assert_eq!(ours, message(entry["file"].as_str().unwrap()));
                checked += 1;
            }
            Some(other) => panic!("kind {other}"),
            None if entry["pipeline_rate"] == entry["wire_rate"] => {
                let chunks = entry["chunks"].as_array().unwrap();
                assert_eq!(chunks.len(), 1);
                let tone = pcm(entry["input"].as_str().unwrap());
                let range = &chunks[0]["input_samples"];
                let (a, b) = (
                    range[0].as_u64().unwrap() as usize,
                    range[1].as_u64().unwrap() as usize,
                );
                let ours = bot.media(&tone[a..b]);
                assert_eq!(
                    ours,
                    message(chunks[0]["file"].as_str().unwrap()),
                    "{p} {entry}"
                );
                checked += 1;
            }
            None => {} // resampled by pipecat: see resampled_bot_audio_is_ours_within_the_codec_error
        }
    }
    // 6 providers/codecs × (audio + clear) + Twilio's mark.
    assert_eq!(checked, 13);
    assert_eq!(BotSession::new(Provider::Telnyx).mark("m"), None);
}

/// bench decodes every message pipecat's serializers send: the audio to the payload pipecat
/// encoded, clear to the interruption signal, the mark to its name.
#[test]
fn bot_messages_decode_to_pipecats_audio_and_signals() {
    let manifest = manifest();
    let ids = call_ids(&manifest);
    let mut audio_messages = 0;
    for entry in bot_entries(&manifest) {
        let p = provider(entry);
        let bench = ProviderSession::new(p, ids.clone())
            .with_bot_codec(codec(entry))
            .unwrap();
        match entry.get("kind").and_then(Value::as_str) {
            Some("clear") => {
                let m = message(entry["file"].as_str().unwrap());
                assert_eq!(bench.decode_bot(m.view()).unwrap(), BotEvent::Clear, "{p}");
            }
            Some("mark") => {
                let m = message(entry["file"].as_str().unwrap());
                let name = entry["name"].as_str().unwrap().to_string();
                assert_eq!(bench.decode_bot(m.view()).unwrap(), BotEvent::Mark(name));
            }
            _ => {
                let tone = pcm(entry["input"].as_str().unwrap());
                for chunk in entry["chunks"].as_array().unwrap() {
                    let Some(file) = chunk["file"].as_str() else {
                        continue;
                    };
                    let BotEvent::Audio(audio) = bench.decode_bot(message(file).view()).unwrap()
                    else {
                        panic!("{file} is not audio")
                    };
                    assert_eq!(audio.sample_rate, p.wire_rate(), "{file}");
                    let payload = codec(entry).encode(&audio.samples);
                    assert_eq!(payload.len() as u64, chunk["payload_len"].as_u64().unwrap());
                    assert_eq!(sha256_hex(&payload), chunk["payload_sha256"], "{file}");
                    if entry["pipeline_rate"] == entry["wire_rate"] {
                        // Not resampled: the tone through the codec, exactly.
                        let expected =
                            codec(entry).decode(&codec(entry).encode(&tone[..audio.samples.len()]));
                        assert_eq!(audio.samples, expected.unwrap(), "{file}");
                    }
                    audio_messages += 1;
                }
            }
        }
    }
    assert_eq!(audio_messages, 12);
}

/// Where pipecat resamples the bot's audio to the wire rate (soxr VHQ, dithered), voiceperf's
/// resampler (rubato, as `prep`) gives the same signal within the codec's quantisation error.
#[test]
fn resampled_bot_audio_is_ours_within_the_codec_error() {
    let manifest = manifest();
    let mut compared = 0;
    for entry in bot_entries(&manifest) {
        if entry.get("kind").is_some() || entry["pipeline_rate"] == entry["wire_rate"] {
            continue;
        }
        let p = provider(entry);
        let c = codec(entry);
        let bench = ProviderSession::new(p, call_ids(&manifest))
            .with_bot_codec(c)
            .unwrap();
        let mut theirs = Vec::new();
        for chunk in entry["chunks"].as_array().unwrap() {
            if let Some(file) = chunk["file"].as_str()
                && let BotEvent::Audio(audio) = bench.decode_bot(message(file).view()).unwrap()
            {
                theirs.extend(audio.samples);
            }
        }
        let rate = entry["pipeline_rate"].as_u64().unwrap() as u32;
        let tone = pcm(entry["input"].as_str().unwrap());
        let ours = telephony::to_wire_rate(&to_f32(&tone), rate, p).unwrap();
        let ours = c.decode(&c.encode(&ours)).unwrap();
        assert!(
            theirs.len() > 700 && theirs.len() <= ours.len(),
            "{p} {}",
            theirs.len()
        );
        // Both are time-aligned with the input; the first samples are each resampler's
        // start-up transient.
        let (snr, max) = snr_db(&ours, &theirs, 32..theirs.len());
        eprintln!(
            "bot {p} {c:?} from {rate} Hz: {} samples, SNR {snr:.1} dB, max {max}",
            theirs.len()
        );
        assert!(snr >= MIN_SNR_DB, "{p} {c:?}: SNR {snr:.1} dB, max {max}");
        compared += 1;
    }
    assert_eq!(compared, 6);
}

/// What voiceperf's bench sends as the provider is byte for byte the fixture pipecat was fed:
/// the opening, 10 media messages, Twilio's mark echo and the stop message.
#[test]
fn provider_messages_we_build_are_the_fixtures() {
    let manifest = manifest();
    let ids = call_ids(&manifest);
    let base = manifest["call"]["timestamp_base_ms"].as_u64().unwrap();
    for entry in caller_entries(&manifest) {
        let p = provider(entry);
        let mut session = ProviderSession::new(p, ids.clone())
            .with_codec(codec(entry))
            .unwrap()
            .with_timestamp_base_ms(base);
        assert_eq!(session.codec(), codec(entry));
        assert_eq!(u64::from(p.frame_ms()), entry["frame_ms"].as_u64().unwrap());
        let opening: Vec<WsMessage> = strings(&entry["opening"])
            .iter()
            .map(|f| message(f))
            .collect();
        assert_eq!(session.opening(), opening, "{p} opening");
        let input = pcm(entry["input"].as_str().unwrap());
        let media = strings(&entry["media"]);
        for (i, (frame, file)) in telephony::frames(&input, p).zip(&media).enumerate() {
            assert_eq!(session.media(&frame), message(file), "{p} media {i}");
        }
        let name = manifest["mark_name"].as_str().unwrap();
        match entry["mark"].as_str() {
            Some(file) => assert_eq!(session.mark(name), Some(message(file)), "{p}"),
            None => assert_eq!(session.mark(name), None, "{p}"),
        }
        match entry["stop"].as_str() {
            Some(file) => assert_eq!(session.stop(), Some(message(file)), "{p}"),
            None => assert_eq!(session.stop(), None, "{p}"),
        }
    }
}

/// pipecat's runner detects the provider from the same opening message voiceperf's detector
/// does, and `parse_telephony_websocket` (which reads two text messages, taking the first
/// detected) ends up with the provider voiceperf sent — except Vonage, which pipecat 1.14
/// does not detect at all.
#[test]
fn provider_detection_agrees_with_pipecats_runner() {
    let manifest = manifest();
    for entry in caller_entries(&manifest) {
        let p = provider(entry);
        let opening = strings(&entry["opening"]);
        let detected: Vec<Option<Provider>> = opening
            .iter()
            .map(|f| telephony::detect_provider(&String::from_utf8(bytes(f)).unwrap()))
            .collect();
        let pipecat: Vec<Option<Provider>> = entry["detect_transport_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().parse().ok())
            .collect();
        assert_eq!(detected, pipecat, "{p}");
        let parsed = &entry["parse_telephony_websocket"];
        let transport = parsed["transport_type"].as_str().unwrap();
        let ours = detected.iter().take(2).flatten().next().copied();
        assert_eq!(
            ours.map(Provider::name).unwrap_or("unknown"),
            transport,
            "{p}"
        );
        if p == Provider::Vonage {
            assert_eq!(transport, "unknown");
        } else {
            assert_eq!(ours, Some(p));
        }
        // Plivo sends one opening message: pipecat's parser reads the first media message too.
        let read = parsed["messages_read"].as_u64().unwrap() as usize;
        let expected_read = if p == Provider::Plivo {
            2
        } else {
            opening.len()
        };
        assert_eq!(read, expected_read, "{p}");
    }
}

/// voiceperf's agent reads the provider's messages as pipecat's runner and serializers do: the
/// same ids and parameters from the start message, the same PCM from the caller's audio.
#[test]
fn provider_messages_decode_as_pipecat_deserializes_them() {
    let manifest = manifest();
    let mark_name = manifest["mark_name"].as_str().unwrap().to_string();
    for entry in caller_entries(&manifest) {
        let p = provider(entry);
        let mut bot = BotSession::new(p);
        let mut start = None;
        for file in strings(&entry["opening"]) {
            match bot.decode_caller(message(&file).view()).unwrap() {
                CallerEvent::Connected => {}
                CallerEvent::Start(info) => start = Some(info),
                other => panic!("{file}: {other:?}"),
            }
        }
        let start = start.unwrap_or_else(|| panic!("{p}: no start"));
        let call = &entry["parse_telephony_websocket"]["call_data"];
        if p != Provider::Vonage {
            assert_eq!(start.stream_id, call["stream_id"].as_str().unwrap(), "{p}");
            assert_eq!(start.call_id, call["call_id"].as_str().unwrap(), "{p}");
            assert_eq!(start.from.as_deref(), call["from"].as_str(), "{p}");
            assert_eq!(start.to.as_deref(), call["to"].as_str(), "{p}");
        }
        assert_eq!(start.codec, codec(entry), "{p}");
        if p == Provider::Telnyx {
            let name = call["outbound_encoding"].as_str().unwrap();
            assert_eq!(
                name,
                if start.codec == Codec::Pcma {
                    "PCMA"
                } else {
                    "PCMU"
                }
            );
        }
        // Custom parameters: Twilio's are pipecat's `body`; every provider carries them.
        let mut expected = call_ids(&manifest).custom_parameters;
        expected.sort();
        let mut got = start.custom_parameters.clone();
        got.sort();
        assert_eq!(got, expected, "{p}");
        if p == Provider::Twilio {
            let body = call["body"].as_object().unwrap();
            assert_eq!(body.len(), got.len());
            for (k, v) in &got {
                assert_eq!(body[k], v.as_str());
            }
        }

        let mut audio = Vec::new();
        for file in strings(&entry["media"]) {
            let CallerEvent::Audio(chunk) = bot.decode_caller(message(&file).view()).unwrap()
            else {
                panic!("{file} is not audio")
            };
            assert_eq!(chunk.sample_rate, p.wire_rate());
            assert_eq!(chunk.samples.len(), p.frame_samples(), "{file}");
            audio.extend(chunk.samples);
        }
        if let Some(file) = entry["mark"].as_str() {
            let event = bot.decode_caller(message(file).view()).unwrap();
            assert_eq!(event, CallerEvent::Mark(mark_name.clone()));
        }
        if let Some(file) = entry["stop"].as_str() {
            assert_eq!(
                bot.decode_caller(message(file).view()).unwrap(),
                CallerEvent::Stop
            );
        }

        for (rate, pipecat) in entry["deserialized"].as_object().unwrap() {
            let rate: u32 = rate.parse().unwrap();
            let theirs = pcm(pipecat["pcm"].as_str().unwrap());
            if rate == p.wire_rate() {
                // No resampling: the decoded codec, exactly.
                assert_eq!(audio, theirs, "{p} at {rate} Hz");
                let input = pcm(entry["input"].as_str().unwrap());
                if codec(entry) == Codec::L16 {
                    assert_eq!(audio, input[..audio.len()], "{p}");
                }
            } else {
                let ours = resample::resample(&to_f32(&audio), p.wire_rate(), rate).unwrap();
                let ours = voiceperf::audio::pcm::to_pcm16(&ours).samples;
                assert!(theirs.len() > 700 && theirs.len() <= ours.len(), "{p}");
                let (snr, max) = snr_db(&ours, &theirs, 32..theirs.len());
                eprintln!(
                    "caller {p} to {rate} Hz: {} samples, SNR {snr:.1} dB, max {max}",
                    theirs.len()
                );
                assert!(
                    snr >= MIN_SNR_DB,
                    "{p} at {rate} Hz: SNR {snr:.1} dB, max {max}"
                );
            }
        }
    }
}
