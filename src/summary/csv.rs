//! `turns.csv`: one row per turn of every connection, in and out of the metrics window.

use crate::runfolder::results::ClientResults;

/// Columns of `turns.csv`, one row per turn of every connection (in and out of the window).
pub const TURNS_CSV_COLUMNS: [&str; 42] = [
    "stream_id",
    "user",
    "connection",
    "turn",
    "file",
    "in_window",
    "outcome",
    "scheduled_start_at",
    "started_at",
    "speech_end_at",
    "last_chunk_sent_at",
    "first_frame_at",
    "first_audio_at",
    "first_audible_at",
    "latency_s",
    "audible_latency_s",
    "last_chunk_latency_s",
    "seed_latency_s",
    "reverse_barge_in",
    "reply_end_at",
    "reply_audio_s",
    "reply_frames",
    "reply_sample_rate",
    "glitches",
    "starved_ms",
    "interruptions",
    "non_audio_frames",
    "max_send_lateness_ms",
    "agent_latency_s",
    "agent_difference_ms",
    "kind",
    "overlay_missed",
    "interrupted_turn",
    "distractor_sound",
    "stopped",
    "stop_latency_s",
    "signal_latency_s",
    "talk_over_ms",
    "spurious_reply",
    "agent_asr_ttfb_s",
    "agent_llm_ttfb_s",
    "agent_tts_ttfb_s",
];

/// `turns.csv` for these connections.
pub fn turns_csv<'a>(clients: impl Iterator<Item = &'a ClientResults>) -> String {
    let mut out = TURNS_CSV_COLUMNS.join(",");
    out.push('\n');
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for client in clients {
        for t in &client.turns {
            let stop = t
                .interruption
                .as_ref()
                .map(|i| &i.stop)
                .or(t.distractor.as_ref().map(|d| &d.stop));
            let metrics = t.agent_metrics.as_ref();
            let fields = [
                csv_field(&client.stream_id),
                client.user.to_string(),
                client.connection.to_string(),
                t.turn.to_string(),
                csv_field(&t.file),
                t.in_window.to_string(),
                enum_name(&t.outcome),
                t.scheduled_start_at.to_string(),
                t.started_at.to_string(),
                opt(t.speech_end_at),
                opt(t.last_chunk_sent_at),
                opt(t.first_frame_at),
                opt(t.first_audio_at),
                opt(t.first_audible_at),
                opt(t.latency_s),
                opt(t.audible_latency_s),
                opt(t.last_chunk_latency_s),
                opt(t.seed_latency_s),
                t.reverse_barge_in.as_ref().map_or(String::new(), enum_name),
                opt(t.reply_end_at),
                t.reply_audio_s.to_string(),
                t.reply_frames.to_string(),
                t.reply_format
                    .map_or(String::new(), |f| f.sample_rate.to_string()),
                t.glitches.to_string(),
                t.starved_ms.to_string(),
                t.interruptions.to_string(),
                t.received.len().to_string(),
                t.max_send_lateness_ms.to_string(),
                opt(t.agent.as_ref().map(|a| a.agent_latency_s)),
                opt(t.agent.as_ref().map(|a| a.difference_ms)),
                t.kind.name().to_string(),
                t.overlay_missed
                    .map_or(String::new(), |k| k.name().to_string()),
                t.interruption
                    .as_ref()
                    .map_or(String::new(), |i| i.interrupted_turn.to_string()),
                t.distractor
                    .as_ref()
                    .map_or(String::new(), |d| csv_field(&d.sound)),
                stop.map_or(String::new(), |s| s.stopped.to_string()),
                opt(stop.and_then(|s| s.stop_latency_s)),
                opt(stop.and_then(|s| s.signal_latency_s)),
                opt(stop.and_then(|s| s.talk_over_ms)),
                t.distractor
                    .as_ref()
                    .map_or(String::new(), |d| d.spurious_reply.to_string()),
                opt(metrics.and_then(|m| m.asr_ttfb_s)),
                opt(metrics.and_then(|m| m.llm_ttfb_s)),
                opt(metrics.and_then(|m| m.tts_ttfb_s)),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// The snake_case serde name of a unit enum value.
fn enum_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain.wav"), "plain.wav");
        assert_eq!(csv_field("a,b.wav"), "\"a,b.wav\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
