//! RTVI-like JSON messages (`label: "rtvi-ai"`) sent in `Frame.message` with `--rtvi`, as a
//! pipecat server with an RTVI processor does; they exercise clients that must measure latency
//! to the first *audio*, not to the first message.

use serde_json::{Value, json};

use crate::protocol::{Frame, FrameKind, MessageFrame};

/// A `Frame.message` carrying an RTVI message of `kind` with `data`.
pub fn frame(kind: &str, data: Value) -> Frame {
    let mut message = json!({ "label": "rtvi-ai", "type": kind });
    if !data.is_null() {
        message["data"] = data;
    }
    Frame {
        frame: Some(FrameKind::Message(MessageFrame {
            data: message.to_string(),
        })),
    }
}

/// A `metrics` message with TTFB values (seconds) per processor.
pub fn metrics(ttfb: &[(&str, f64)]) -> Frame {
    let values: Vec<Value> = ttfb
        .iter()
        .map(|(processor, value)| json!({ "processor": processor, "value": value }))
        .collect();
    frame("metrics", json!({ "ttfb": values }))
}

/// A message without data, e.g. `bot-started-speaking`.
pub fn event(kind: &str) -> Frame {
    frame(kind, Value::Null)
}

/// A message with a `text` field, e.g. `bot-llm-text`.
pub fn text(kind: &str, text: &str) -> Frame {
    frame(kind, json!({ "text": text }))
}

/// The final `user-transcription` of a turn.
pub fn user_transcription(text: &str, user_id: &str, timestamp: &str) -> Frame {
    frame(
        "user-transcription",
        json!({ "text": text, "user_id": user_id, "timestamp": timestamp, "final": true }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_rtvi_json() {
        let Some(FrameKind::Message(m)) = metrics(&[("NvidiaLLMService#0", 0.3)]).frame else {
            panic!()
        };
        let v: Value = serde_json::from_str(&m.data).unwrap();
        assert_eq!(v["label"], "rtvi-ai");
        assert_eq!(v["type"], "metrics");
        assert_eq!(v["data"]["ttfb"][0]["value"], 0.3);
        let Some(FrameKind::Message(m)) = event("bot-started-speaking").frame else {
            panic!()
        };
        assert_eq!(
            m.data,
            r#"{"label":"rtvi-ai","type":"bot-started-speaking"}"#
        );
    }
}
