//! `voiceperf::protocol::rtvi` against pipecat itself: every file in tests/fixtures/rtvi is a
//! binary WebSocket message a pipecat-ai 1.14 bot sent (RTVIProcessor/RTVIObserver output through
//! the websocket server transport and ProtobufFrameSerializer; scripts/pipecat_rtvi_fixtures.py).
//! Each must parse to the content Python decoded from it, and our builders must write the same
//! messages: same keys, same key order, same bytes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use voiceperf::fsutil::sha256_hex;
use voiceperf::protocol::rtvi::{
    self, About, AudioSeconds, Characters, Event, Message, Metrics, SttUsage, TextKind, Timing,
    Tokens,
};
use voiceperf::protocol::{self, FrameKind};
use voiceperf::serverlog::parse::{Service, ServiceNames};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rtvi")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixtures(manifest: &Value) -> &Vec<Value> {
    manifest["fixtures"].as_array().unwrap()
}

/// The bytes of a fixture file, checked against the manifest.
fn read(fixture: &Value) -> Vec<u8> {
    let file = fixture["file"].as_str().unwrap();
    let bytes = std::fs::read(dir().join(file)).unwrap();
    assert_eq!(sha256_hex(&bytes), fixture["sha256"], "{file} changed");
    bytes
}

/// The JSON text carried by a binary WebSocket message.
fn message_json(bytes: &[u8]) -> String {
    match protocol::decode(bytes).unwrap().frame {
        Some(FrameKind::Message(m)) => m.data,
        other => panic!("not a message frame: {other:?}"),
    }
}

/// The one fixture of `step` with `type`.
fn fixture<'a>(manifest: &'a Value, step: &str, kind: &str) -> &'a Value {
    let found: Vec<&Value> = fixtures(manifest)
        .iter()
        .filter(|f| f["step"] == step && f["content"]["type"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "{step} {kind}");
    found[0]
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

fn check_timings(file: &str, ours: &[Timing], recorded: &Value) {
    let recorded = recorded.as_array().map(Vec::as_slice).unwrap_or_default();
    assert_eq!(ours.len(), recorded.len(), "{file}");
    for (t, r) in ours.iter().zip(recorded) {
        assert_eq!(t.processor, r["processor"].as_str().unwrap(), "{file}");
        assert_eq!(t.model.as_deref(), opt_str(&r["model"]), "{file}");
        assert_eq!(t.value, r["value"].as_f64().unwrap(), "{file}");
    }
}

fn check_metrics(file: &str, m: &Metrics, recorded: &Value) {
    let keys: BTreeSet<&str> = recorded
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let known: BTreeSet<&str> = [
        "ttfb",
        "ttfa",
        "ttfat",
        "processing",
        "tokens",
        "characters",
        "stt_usage",
    ]
    .into();
    assert!(keys.is_subset(&known), "{file}: {keys:?}");
    assert_eq!(m.skipped, 0, "{file}");
    check_timings(file, &m.ttfb, &recorded["ttfb"]);
    check_timings(file, &m.processing, &recorded["processing"]);
    let rows = |key: &str| recorded[key].as_array().cloned().unwrap_or_default();
    assert_eq!(m.tokens.len(), rows("tokens").len(), "{file}");
    for (t, r) in m.tokens.iter().zip(rows("tokens")) {
        // Every field pipecat sent is one we read, with its value.
        let ours = serde_json::to_value(t).unwrap();
        assert_eq!(ours, r, "{file}");
        assert_eq!(
            t.total_tokens,
            r["total_tokens"].as_u64().unwrap(),
            "{file}"
        );
    }
    assert_eq!(m.characters.len(), rows("characters").len(), "{file}");
    for (c, r) in m.characters.iter().zip(rows("characters")) {
        assert_eq!(c.processor, r["processor"].as_str().unwrap());
        assert_eq!(c.model.as_deref(), opt_str(&r["model"]));
        assert_eq!(c.value, r["value"].as_u64().unwrap());
    }
    assert_eq!(m.stt_usage.len(), rows("stt_usage").len(), "{file}");
    for (u, r) in m.stt_usage.iter().zip(rows("stt_usage")) {
        assert_eq!(u.processor, r["processor"].as_str().unwrap());
        assert_eq!(u.model.as_deref(), opt_str(&r["model"]));
        assert_eq!(u.value.audio_seconds, r["audio_seconds"].as_f64().unwrap());
    }
    assert_eq!(m.ttfa.len(), rows("ttfa").len(), "{file}");
    for (t, r) in m.ttfa.iter().zip(rows("ttfa")) {
        assert_eq!(t.processor, r["processor"].as_str().unwrap());
        assert_eq!(t.model.as_deref(), opt_str(&r["model"]));
        assert_eq!(t.ttfa, r["ttfa"].as_f64().unwrap());
        assert_eq!(t.ttfb, r["ttfb"].as_f64().unwrap());
        assert_eq!(t.leading_silence, r["leading_silence"].as_f64().unwrap());
    }
    assert_eq!(m.ttfat.len(), rows("ttfat").len(), "{file}");
    for (t, r) in m.ttfat.iter().zip(rows("ttfat")) {
        assert_eq!(t.processor, r["processor"].as_str().unwrap());
        assert_eq!(t.model.as_deref(), opt_str(&r["model"]));
        assert_eq!(t.ttfat, r["ttfat"].as_f64().unwrap());
        assert_eq!(t.ttfb, r["ttfb"].as_f64().unwrap());
        assert_eq!(t.thinking_time, r["thinking_time"].as_f64().unwrap());
    }
}

/// Checks `message` against the content Python recorded.
fn check_content(file: &str, message: &Message, content: &Value) {
    assert_eq!(message.type_name(), content["type"], "{file}");
    let id = opt_str(&content["id"]);
    match message {
        Message::Event(_) => assert_eq!(id, None, "{file}"),
        Message::Text(_, text) => assert_eq!(text, content["text"].as_str().unwrap(), "{file}"),
        Message::Metrics(m) => check_metrics(file, m, &content["metrics"]),
        Message::UserTranscription(t) => {
            assert_eq!(t.text, content["text"].as_str().unwrap(), "{file}");
            assert_eq!(t.user_id, content["user_id"].as_str().unwrap());
            assert_eq!(t.timestamp, content["timestamp"].as_str().unwrap());
            assert_eq!(t.is_final, content["final"].as_bool().unwrap());
        }
        Message::UserInput(u) => {
            assert_eq!(u.text, content["text"].as_str().unwrap(), "{file}");
            assert_eq!(u.input_type, content["input_type"].as_str().unwrap());
            assert_eq!(u.user_id.as_deref(), opt_str(&content["user_id"]));
            assert_eq!(u.timestamp, content["timestamp"].as_str().unwrap());
            assert_eq!(u.is_final, content["final"].as_bool().unwrap());
        }
        Message::BotReady(ready) => {
            assert_eq!(Some(ready.id.as_str()), id, "{file}");
            assert_eq!(ready.data.version, content["version"].as_str().unwrap());
            assert_eq!(
                serde_json::to_value(&ready.data.about).unwrap(),
                content["about"],
                "{file}"
            );
            assert_eq!(
                serde_json::to_value(&ready.data.capabilities).unwrap(),
                content["capabilities"],
                "{file}"
            );
        }
        Message::Error(e) | Message::ErrorResponse(e) => {
            assert_eq!(e.id.as_deref(), id, "{file}");
            assert_eq!(e.data.error, content["error"].as_str().unwrap(), "{file}");
            assert_eq!(e.data.fatal, content["fatal"].as_bool(), "{file}");
        }
        Message::ClientReady(_) => panic!("{file}: the bot sent client-ready"),
        Message::Other { kind, .. } => assert_eq!(kind, "bot-output", "{file}: unmodelled"),
    }
}

#[test]
fn every_pipecat_message_parses_to_its_recorded_content() {
    let manifest = manifest();
    assert_eq!(manifest["pipecat_ai"], "1.14.0");
    assert_eq!(manifest["rtvi_protocol_version"], rtvi::PROTOCOL_VERSION);
    let all = fixtures(&manifest);
    assert!(all.len() >= 70, "{} fixtures", all.len());
    let mut types = BTreeSet::new();
    for f in all {
        let file = f["file"].as_str().unwrap();
        let json = message_json(&read(f));
        assert_eq!(json, f["data"].as_str().unwrap(), "{file}");
        let message = rtvi::parse(&json).unwrap_or_else(|e| panic!("{file}: {e}"));
        // The same through the frame-level entry point.
        let frame = protocol::decode(&read(f)).unwrap();
        assert_eq!(rtvi::parse_frame(&frame).unwrap().unwrap(), message);
        check_content(file, &message, &f["content"]);
        types.insert(message.type_name().to_string());
    }
    for kind in [
        "bot-ready",
        "error",
        "error-response",
        "metrics",
        "user-started-speaking",
        "user-stopped-speaking",
        "bot-started-speaking",
        "bot-stopped-speaking",
        "bot-interrupted",
        "user-transcription",
        "user-input",
        "bot-llm-started",
        "bot-llm-text",
        "bot-llm-stopped",
        "bot-transcription",
        "bot-tts-started",
        "bot-tts-text",
        "bot-tts-stopped",
    ] {
        assert!(types.contains(kind), "no {kind} fixture");
    }
    // Every metrics key pipecat 1.14 has is covered.
    let mut keys = BTreeSet::new();
    for f in all.iter().filter(|f| f["content"]["type"] == "metrics") {
        keys.extend(f["content"]["metrics"].as_object().unwrap().keys().cloned());
    }
    assert_eq!(
        keys,
        [
            "characters",
            "processing",
            "stt_usage",
            "tokens",
            "ttfa",
            "ttfat",
            "ttfb"
        ]
        .map(String::from)
        .into()
    );
}

/// Parse, then write back: the builders produce pipecat's bytes, for every message type the
/// module models (all but `bot-output`), and so pipecat's keys, key order and value types.
#[test]
fn every_modelled_message_is_rebuilt_byte_for_byte() {
    let manifest = manifest();
    let mut rebuilt = 0;
    for f in fixtures(&manifest) {
        let file = f["file"].as_str().unwrap();
        let bytes = read(f);
        let message = rtvi::parse(&message_json(&bytes)).unwrap();
        if matches!(message, Message::Other { .. }) {
            continue;
        }
        assert_eq!(
            message.to_json(),
            f["data"].as_str().unwrap(),
            "{file} rebuilt differently"
        );
        assert_eq!(protocol::encode(&message.to_frame()), bytes, "{file}");
        rebuilt += 1;
    }
    assert!(rebuilt >= 65, "{rebuilt}");
}

/// The structure of a JSON text: object keys in their order with the structure of their
/// values, arrays element by element, scalars by type (integers apart from floats).
#[derive(Debug, PartialEq)]
enum Shape {
    Object(Vec<(String, Shape)>),
    Array(Vec<Shape>),
    Int,
    Float,
    Str,
    Bool,
    Null,
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> serde::de::Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Int)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Int)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Float)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Str)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Shape::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Shape>()? {
            entries.push((key, value));
        }
        Ok(Shape::Object(entries))
    }
}

fn shape(json: &str) -> Shape {
    serde_json::from_str(json).unwrap()
}

/// Each builder the agent uses, fed the values of a pipecat message, writes that message:
/// same structure (keys in order, value types) and same bytes.
#[test]
fn builders_write_what_pipecat_writes() {
    let manifest = manifest();
    let services = &manifest["services"];
    let name = |role: &str| services[role].as_str().unwrap().to_string();
    let model = |role: &str| {
        Some(
            services[&format!("{role}_model")]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    let same_as = |frame: protocol::Frame, f: &Value| {
        let file = f["file"].as_str().unwrap();
        let Some(FrameKind::Message(m)) = frame.frame.clone() else {
            panic!()
        };
        let theirs = f["data"].as_str().unwrap();
        assert_eq!(shape(&m.data), shape(theirs), "{file}: structure");
        assert_eq!(m.data, theirs, "{file}");
        assert_eq!(protocol::encode(&frame), read(f), "{file}");
    };
    let same = |frame: protocol::Frame, step: &str, kind: &str| {
        same_as(frame, fixture(&manifest, step, kind));
    };

    for (event, step) in [
        (Event::UserStartedSpeaking, "user_speaking"),
        (Event::UserStoppedSpeaking, "user_speaking"),
        (Event::BotInterrupted, "bot_interrupted"),
        (Event::BotLlmStarted, "bot_llm"),
        (Event::BotLlmStopped, "bot_llm"),
        (Event::BotTtsStarted, "bot_tts_started_stopped"),
        (Event::BotTtsStopped, "bot_tts_started_stopped"),
        (Event::BotStartedSpeaking, "bot_speech"),
        (Event::BotStoppedSpeaking, "bot_speech"),
    ] {
        same(rtvi::event(event), step, event.type_name());
    }
    let llm_texts: Vec<&Value> = fixtures(&manifest)
        .iter()
        .filter(|f| f["step"] == "bot_llm" && f["content"]["type"] == "bot-llm-text")
        .collect();
    assert_eq!(llm_texts.len(), 2);
    same_as(
        rtvi::text(TextKind::BotLlmText, "It is sunny"),
        llm_texts[0],
    );
    same_as(rtvi::text(TextKind::BotLlmText, " today."), llm_texts[1]);
    same(
        rtvi::text(TextKind::BotTranscription, "It is sunny today."),
        "bot_llm",
        "bot-transcription",
    );
    same(
        rtvi::text(TextKind::BotTtsText, "It is sunny today."),
        "bot_speech",
        "bot-tts-text",
    );
    for (step, text, is_final) in [
        (
            "user_transcription_final",
            "What is the weather like today?",
            true,
        ),
        ("user_transcription_interim", "What is the", false),
    ] {
        same(
            rtvi::user_transcription(
                text,
                "voiceperf-user-1",
                "2026-12-03T09:00:00.000+00:00",
                is_final,
            ),
            step,
            "user-transcription",
        );
    }

    let timing = |role: &str, value: f64| Timing {
        processor: name(role),
        model: model(role),
        value,
    };
    let tokens = Tokens {
        prompt_tokens: 412,
        completion_tokens: 37,
        total_tokens: 449,
        ..Tokens::default()
    };
    let metrics = |m: Metrics, step: &str| same(rtvi::metrics(&m), step, "metrics");
    metrics(
        Metrics {
            ttfb: vec![timing("llm", 0.375)],
            ..Metrics::default()
        },
        "metrics_ttfb_llm",
    );
    metrics(
        Metrics {
            processing: vec![timing("tts", 0.75)],
            ..Metrics::default()
        },
        "metrics_processing_tts",
    );
    metrics(
        Metrics {
            tokens: vec![tokens.clone()],
            ..Metrics::default()
        },
        "metrics_tokens",
    );
    metrics(
        Metrics {
            tokens: vec![Tokens {
                cache_read_input_tokens: Some(256),
                reasoning_tokens: Some(12),
                ..tokens.clone()
            }],
            ..Metrics::default()
        },
        "metrics_tokens_cached",
    );
    let characters = Characters {
        processor: name("tts"),
        model: model("tts"),
        value: 18,
    };
    let stt_usage = SttUsage {
        processor: name("stt"),
        model: model("stt"),
        value: AudioSeconds { audio_seconds: 2.5 },
    };
    metrics(
        Metrics {
            characters: vec![characters.clone()],
            ..Metrics::default()
        },
        "metrics_characters",
    );
    metrics(
        Metrics {
            stt_usage: vec![stt_usage.clone()],
            ..Metrics::default()
        },
        "metrics_stt_usage",
    );
    // ttfb + processing + tokens + characters (+ stt_usage) in one message.
    metrics(
        Metrics {
            ttfb: vec![
                timing("stt", 0.25),
                timing("llm", 0.375),
                timing("tts", 0.125),
            ],
            processing: vec![timing("llm", 1.25)],
            tokens: vec![tokens],
            characters: vec![characters],
            stt_usage: vec![stt_usage],
            ..Metrics::default()
        },
        "metrics_combined",
    );
    same(
        rtvi::initial_metrics(&[&name("stt"), &name("llm"), &name("tts")]),
        "metrics_initial",
        "metrics",
    );

    let bot_about = About {
        library: "pipecat-ai".into(),
        library_version: Some("1.14.0".into()),
        platform: None,
        platform_version: None,
    };
    same(
        rtvi::bot_ready("voiceperf-ready-2", bot_about, true),
        "client_ready",
        "bot-ready",
    );
}

/// What a client must send for `bot-ready`, and what pipecat answers.
#[test]
fn client_ready_handshake() {
    let manifest = manifest();
    let handshakes = manifest["handshake"].as_array().unwrap();
    let case = |name: &str| {
        handshakes
            .iter()
            .find(|h| h["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let answers = |name: &str| -> Vec<Message> {
        case(name)["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|file| {
                let bytes = std::fs::read(dir().join(file.as_str().unwrap())).unwrap();
                rtvi::parse(&message_json(&bytes)).unwrap()
            })
            .collect()
    };

    // Our client-ready is the message pipecat answered with bot-ready, byte for byte.
    let ours = rtvi::client_ready(
        "voiceperf-ready-2",
        About {
            library: "voiceperf".into(),
            library_version: Some("0.1.0".into()),
            platform: None,
            platform_version: None,
        },
    );
    let sent = std::fs::read(dir().join(case("client_ready")["file"].as_str().unwrap())).unwrap();
    assert_eq!(protocol::encode(&ours), sent);
    let Message::ClientReady(ready) = rtvi::parse(&message_json(&sent)).unwrap() else {
        panic!()
    };
    assert_eq!(ready.id, "voiceperf-ready-2");
    assert_eq!(ready.data.version.as_deref(), Some(rtvi::PROTOCOL_VERSION));
    match answers("client_ready").as_slice() {
        [Message::BotReady(bot)] => {
            assert_eq!(bot.id, "voiceperf-ready-2");
            assert_eq!(bot.data.version, "2.2.0");
            assert_eq!(bot.data.capabilities.as_ref().unwrap().metrics, Some(true));
        }
        other => panic!("{other:?}"),
    }

    // Without a version: an error-response, then bot-ready all the same.
    match answers("client_ready_no_version").as_slice() {
        [Message::ErrorResponse(e), Message::BotReady(bot)] => {
            assert_eq!(e.id.as_deref(), Some("voiceperf-ready-1"));
            assert!(e.data.error.contains("version unknown"), "{}", e.data.error);
            assert_eq!(bot.id, "voiceperf-ready-1");
        }
        other => panic!("{other:?}"),
    }

    // Without an id (what voiceperf's old client_message fixture holds): rejected, no bot-ready.
    match answers("client_ready_no_id").as_slice() {
        [Message::Error(e)] => {
            assert_eq!(e.id, None);
            assert_eq!(e.data.fatal, Some(false));
            assert!(e.data.error.contains("Field required"), "{}", e.data.error);
        }
        other => panic!("{other:?}"),
    }
}

/// Processor names in pipecat's metrics map to the service roles.
#[test]
fn processor_names_map_to_service_roles() {
    let manifest = manifest();
    let names = ServiceNames::pipecat();
    let mut seen = BTreeSet::new();
    for f in fixtures(&manifest) {
        let Ok(Message::Metrics(m)) = rtvi::parse(f["data"].as_str().unwrap()) else {
            continue;
        };
        for t in m.ttfb.iter().chain(&m.processing) {
            let role = rtvi::service_role(&t.processor, &names)
                .unwrap_or_else(|| panic!("{}: no role", t.processor));
            seen.insert(format!("{role:?}"));
        }
    }
    assert_eq!(seen, ["Asr", "Llm", "Tts"].map(String::from).into());

    let combined = fixture(&manifest, "metrics_combined", "metrics");
    let Ok(Message::Metrics(m)) = rtvi::parse(combined["data"].as_str().unwrap()) else {
        panic!()
    };
    assert_eq!(m.ttfb_of(Service::Asr, &names).unwrap().value, 0.25);
    assert_eq!(m.ttfb_of(Service::Llm, &names).unwrap().value, 0.375);
    assert_eq!(m.ttfb_of(Service::Tts, &names).unwrap().value, 0.125);
    assert_eq!(m.processing_of(Service::Llm, &names).unwrap().value, 1.25);
    assert!(m.processing_of(Service::Tts, &names).is_none());
    assert!(!m.is_initial());
    let initial = fixture(&manifest, "metrics_initial", "metrics");
    let Ok(Message::Metrics(m)) = rtvi::parse(initial["data"].as_str().unwrap()) else {
        panic!()
    };
    assert!(m.is_initial());
}

/// The recorded wire order of a turn and a barge-in holds only messages that parse, and the
/// events the bench relies on.
#[test]
fn sequences_parse_and_hold_the_turn_events() {
    let manifest = manifest();
    for (name, needed) in [
        (
            "turn",
            &[
                "interruption",
                "user-started-speaking",
                "bot-interrupted",
                "user-stopped-speaking",
                "bot-started-speaking",
                "audio",
                "bot-stopped-speaking",
                "metrics",
            ][..],
        ),
        (
            "barge_in",
            &[
                "audio",
                "interruption",
                "user-started-speaking",
                "bot-interrupted",
                "bot-stopped-speaking",
            ][..],
        ),
    ] {
        let rows = manifest["sequences"][name].as_array().unwrap();
        let mut kinds = BTreeSet::new();
        for row in rows {
            let kind = row["kind"].as_str().unwrap();
            if kind == "message" {
                let bytes = std::fs::read(dir().join(row["file"].as_str().unwrap())).unwrap();
                let message = rtvi::parse(&message_json(&bytes)).unwrap();
                assert_eq!(message.type_name(), row["type"]);
                kinds.insert(message.type_name().to_string());
            } else {
                kinds.insert(kind.to_string());
            }
        }
        for kind in needed {
            assert!(kinds.contains(*kind), "{name}: no {kind}");
        }
    }
}
