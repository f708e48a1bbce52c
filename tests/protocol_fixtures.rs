//! `voiceperf::protocol` against pipecat itself: the fixtures in tests/fixtures/protocol were
//! written by pipecat-ai 1.14.0's ProtobufFrameSerializer and frames_pb2
//! (scripts/pipecat_fixtures.py). Each must decode to the fields pipecat recorded and
//! re-encode to the same bytes.

mod support;

use serde_json::Value;
use support::{fixture, json};
use voiceperf::audio::riff;
use voiceperf::fsutil::sha256_hex;
use voiceperf::protocol::{self, FrameKind};

fn u64_field(fields: &Value, name: &str) -> u64 {
    fields[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {fields}"))
}

fn str_field<'a>(fields: &'a Value, name: &str) -> &'a str {
    fields[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {fields}"))
}

#[test]
fn pipecat_fixtures_decode_to_their_fields_and_reencode_byte_exactly() {
    let manifest = json(&fixture("protocol/manifest.json"));
    assert_eq!(manifest["pipecat_ai"], "1.14.0");
    let fixtures = manifest["fixtures"].as_array().unwrap();
    assert!(fixtures.len() >= 14);
    let mut kinds = std::collections::BTreeSet::new();
    for fixture in fixtures {
        let file = fixture["file"].as_str().unwrap();
        let bytes = std::fs::read(support::fixture(&format!("protocol/{file}"))).unwrap();
        assert_eq!(sha256_hex(&bytes), fixture["sha256"], "{file} changed");
        let frame = protocol::decode(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let fields = &fixture["fields"];
        let kind = fixture["kind"].as_str().unwrap();
        kinds.insert(kind.to_string());
        match (kind, frame.frame.as_ref()) {
            ("audio", Some(FrameKind::Audio(audio))) => {
                assert_eq!(audio.id, u64_field(fields, "id"), "{file}");
                assert_eq!(audio.name, str_field(fields, "name"), "{file}");
                assert_eq!(audio.sample_rate as u64, u64_field(fields, "sample_rate"));
                assert_eq!(audio.num_channels as u64, u64_field(fields, "num_channels"));
                assert_eq!(audio.pts, fields["pts"].as_u64(), "{file}");
                assert_eq!(audio.audio.len() as u64, u64_field(fields, "audio_len"));
                assert_eq!(sha256_hex(&audio.audio), fields["audio_sha256"], "{file}");
            }
            ("text", Some(FrameKind::Text(text))) => {
                assert_eq!(text.id, u64_field(fields, "id"));
                assert_eq!(text.name, str_field(fields, "name"));
                assert_eq!(text.text, str_field(fields, "text"));
            }
            ("transcription", Some(FrameKind::Transcription(t))) => {
                assert_eq!(t.id, u64_field(fields, "id"));
                assert_eq!(t.name, str_field(fields, "name"));
                assert_eq!(t.text, str_field(fields, "text"));
                assert_eq!(t.user_id, str_field(fields, "user_id"));
                assert_eq!(t.timestamp, str_field(fields, "timestamp"));
            }
            ("message", Some(FrameKind::Message(m))) => {
                assert_eq!(m.data, str_field(fields, "data"));
                let json: Value = serde_json::from_str(&m.data).unwrap();
                assert_eq!(json["label"], "rtvi-ai", "{file}");
            }
            ("interruption", Some(FrameKind::Interruption(i))) => {
                assert_eq!(i.id, u64_field(fields, "id"));
                assert_eq!(i.name, str_field(fields, "name"));
            }
            (kind, other) => panic!("{file}: manifest says {kind}, decoded {other:?}"),
        }
        if fixture["roundtrip"].as_bool().unwrap() {
            assert_eq!(
                protocol::encode(&frame),
                bytes,
                "{file} re-encodes differently"
            );
        } else {
            // Unknown fields are skipped, so the re-encoding is the known part only; it must
            // itself round-trip.
            let again = protocol::encode(&frame);
            assert!(again.len() < bytes.len(), "{file}");
            assert_eq!(protocol::decode(&again).unwrap(), frame);
        }
    }
    for kind in ["audio", "text", "transcription", "message", "interruption"] {
        assert!(kinds.contains(kind), "no {kind} fixture");
    }
}

/// pipecat's `pcm_to_wav` (add_wav_header) and voiceperf's `riff::wrap_pcm16` write the same
/// bytes, and the agent-side reader finds the PCM in them by parsing chunks.
#[test]
fn pipecat_wav_payloads_match_our_wav_writer_and_reader() {
    for (file, rate, pcm_len) in [
        ("server_audio_16k_wav.bin", 16_000, 1280),
        ("server_audio_24k_wav.bin", 24_000, 1920),
    ] {
        let bytes = std::fs::read(fixture(&format!("protocol/{file}"))).unwrap();
        let Some(FrameKind::Audio(audio)) = protocol::decode(&bytes).unwrap().frame else {
            panic!("{file} is not audio")
        };
        assert_eq!(audio.audio.len(), 44 + pcm_len, "{file}");
        let pcm = audio.pcm().unwrap();
        assert!(pcm.wav_wrapped);
        assert_eq!((pcm.sample_rate, pcm.channels), (rate, 1));
        assert_eq!(pcm.bytes.len(), pcm_len);
        assert_eq!(riff::wrap_pcm16(pcm.bytes, rate, 1), audio.audio, "{file}");
    }
    // The raw 16 kHz chunk carries the same tone as the WAV-wrapped one.
    let raw = std::fs::read(fixture("protocol/server_audio_16k.bin")).unwrap();
    let wav = std::fs::read(fixture("protocol/server_audio_16k_wav.bin")).unwrap();
    let (Some(FrameKind::Audio(raw)), Some(FrameKind::Audio(wav))) = (
        protocol::decode(&raw).unwrap().frame,
        protocol::decode(&wav).unwrap().frame,
    ) else {
        panic!("not audio")
    };
    assert_eq!(raw.pcm().unwrap().bytes, wav.pcm().unwrap().bytes);
    assert!(!raw.pcm().unwrap().wav_wrapped);
}

/// A frame built the way voiceperf's agent and bench build them encodes exactly as pipecat
/// would: the server chunk (id + name + audio + rate + channels) and the client chunk (id only).
#[test]
fn frames_we_build_are_the_bytes_pipecat_builds() {
    let server = std::fs::read(fixture("protocol/server_audio_16k.bin")).unwrap();
    let Some(FrameKind::Audio(audio)) = protocol::decode(&server).unwrap().frame else {
        panic!()
    };
    let ours = protocol::audio_frame(
        1,
        "OutputAudioRawFrame#0".into(),
        audio.audio.clone(),
        16_000,
        1,
    );
    assert_eq!(protocol::encode(&ours), server);

    let client = std::fs::read(fixture("protocol/client_audio_id7.bin")).unwrap();
    let Some(FrameKind::Audio(audio)) = protocol::decode(&client).unwrap().frame else {
        panic!()
    };
    let ours = protocol::audio_frame(7, String::new(), audio.audio.clone(), 16_000, 1);
    assert_eq!(protocol::encode(&ours), client);

    let interruption = std::fs::read(fixture("protocol/interruption.bin")).unwrap();
    let ours = protocol::Frame {
        frame: Some(FrameKind::Interruption(protocol::InterruptionFrame {
            id: 8,
            name: "InterruptionFrame#0".into(),
        })),
    };
    assert_eq!(protocol::encode(&ours), interruption);
}
