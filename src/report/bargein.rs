//! The report's barge-in part: interruptions (stop and signal latency, success rate,
//! talk-over), false barge-ins on distractors (false stops, spurious replies), the agent's own
//! RTVI metrics, and a per-turn timeline strip of one connection that shows user speech, bot
//! audio, interruption signals and stop latency — as an HTML section and as Markdown lines.

use std::fmt::Write as _;

use crate::report::svg::{Chart, Scale, Swatch, escape};
use crate::runfolder::results::{
    AgentMetricsSummary, ClientResults, RunSummary, Scenario, TurnKind, TurnRecord,
};
use crate::stats::Summary;
use crate::summary::text::{distractor_line, interruption_line};
use crate::text;

/// The definitions, one line per metric, as the report and summary.md state them.
pub const DEFINITIONS: [(&str, &str); 8] = [
    (
        "stop latency",
        "onset of the user's interrupting speech (mapped onto the send clock) → arrival of the interrupted reply's last audio frame",
    ),
    (
        "signal latency",
        "onset → arrival of the agent's interruption signal (pipecat InterruptionFrame, RTVI bot-interrupted)",
    ),
    (
        "barge-in success rate",
        "share of interruptions whose reply audio ended within the stop limit of the onset",
    ),
    (
        "talk-over",
        "reply audio (ms of playback) that still arrived after the interruption signal",
    ),
    (
        "false-stop rate",
        "share of sounds that are not turns (noise, click, backchannel) made over a reply after which the reply stopped within the stop limit anyway",
    ),
    (
        "spurious reply",
        "the agent answered such a sound: reply audio arrived after the reply broke off, before the next query",
    ),
    (
        "agent TTFB",
        "the ASR/LLM/TTS time to first byte the agent itself reported for the turn in RTVI metrics messages",
    ),
    (
        "VAD wait",
        "arrival of the agent's RTVI user-stopped-speaking − the real end of speech: its end-of-turn decision time",
    ),
];

/// Whether the run has anything for this part: a barge-in scenario or RTVI metrics.
pub fn applies(summary: &RunSummary) -> bool {
    let r = &summary.results;
    summary.config.scenario != Scenario::Turns
        || r.agent_metrics.as_ref().is_some_and(|m| m.turns > 0)
}

fn cells(s: Option<&Summary>, f: fn(f64) -> String) -> [String; 6] {
    match s {
        Some(s) => [
            s.count.to_string(),
            f(s.p50),
            f(s.p90),
            f(s.p95),
            f(s.p99),
            f(s.max),
        ],
        None => ["0".into(), dash(), dash(), dash(), dash(), dash()],
    }
}

fn dash() -> String {
    text::DASH.to_string()
}

fn ms(v: f64) -> String {
    format!("{:.0} ms", v * 1000.0)
}

fn plain_ms(v: f64) -> String {
    format!("{v:.0} ms")
}

/// Rows of the percentile table: (name, cells).
fn percentile_rows(summary: &RunSummary) -> Vec<(&'static str, [String; 6])> {
    let r = &summary.results;
    let mut rows = Vec::new();
    if let Some(i) = &r.interruptions {
        rows.push(("stop latency", cells(i.stop_latency.as_ref(), ms)));
        rows.push(("signal latency", cells(i.signal_latency.as_ref(), ms)));
        rows.push(("talk-over", cells(i.talk_over_ms.as_ref(), plain_ms)));
        rows.push((
            "reply latency after a barge-in",
            cells(i.reply_latency.as_ref(), ms),
        ));
    }
    if let Some(m) = r.agent_metrics.as_ref().filter(|m| m.turns > 0) {
        rows.push(("agent ASR TTFB", cells(m.asr_ttfb.as_ref(), ms)));
        rows.push(("agent LLM TTFB", cells(m.llm_ttfb.as_ref(), ms)));
        rows.push(("agent TTS TTFB", cells(m.tts_ttfb.as_ref(), ms)));
        rows.push(("VAD wait (RTVI)", cells(m.vad_wait.as_ref(), ms)));
    }
    rows
}

fn agent_line(m: &AgentMetricsSummary) -> String {
    format!("{} turn(s) with RTVI messages from the agent", m.turns)
}

/// The HTML section (`None` when [`applies`] is false).
pub fn html_section(summary: &RunSummary, clients: &[ClientResults]) -> Option<String> {
    if !applies(summary) {
        return None;
    }
    let r = &summary.results;
    let mut out = String::new();
    out.push_str(
        r#"<section id="barge-in"><h2>Interruptions, false barge-ins and the agent's own metrics</h2>"#,
    );
    let _ = write!(
        out,
        "<p>Scenario <b>{}</b>{}; stop limit {}.</p><ul>",
        summary.config.scenario.name(),
        summary
            .config
            .seed
            .map_or(String::new(), |s| format!(", seed {s}")),
        text::secs_unit(summary.config.stop_limit)
    );
    if let Some(i) = &r.interruptions {
        let _ = write!(out, "<li>{}</li>", escape(&interruption_line(i)));
    }
    if let Some(d) = &r.distractors {
        let _ = write!(out, "<li>{}</li>", escape(&distractor_line(d)));
    }
    if let Some(m) = &r.agent_metrics {
        let _ = write!(out, "<li>{}</li>", escape(&agent_line(m)));
    }
    out.push_str("</ul>");
    let rows = percentile_rows(summary);
    if !rows.is_empty() {
        out.push_str(
            "<table><thead><tr><th>metric</th><th>events</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>",
        );
        for (name, cells) in rows {
            let _ = write!(out, "<tr><td>{}</td>", escape(name));
            for cell in cells {
                let _ = write!(out, r#"<td class="num">{}</td>"#, escape(&cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    if let Some(svg) = timeline_strip(clients) {
        out.push_str(&svg);
    }
    out.push_str("<dl class=\"definitions\">");
    for (term, definition) in DEFINITIONS {
        let _ = write!(
            out,
            "<dt>{}</dt><dd>{}</dd>",
            escape(term),
            escape(definition)
        );
    }
    out.push_str("</dl></section>");
    Some(out)
}

/// The Markdown lines (empty when [`applies`] is false).
pub fn markdown(summary: &RunSummary) -> String {
    if !applies(summary) {
        return String::new();
    }
    let r = &summary.results;
    let mut out = format!(
        "\n## Interruptions and the agent's own metrics (scenario {})\n\n",
        summary.config.scenario.name()
    );
    if let Some(i) = &r.interruptions {
        let _ = writeln!(out, "- {}", interruption_line(i));
    }
    if let Some(d) = &r.distractors {
        let _ = writeln!(out, "- {}", distractor_line(d));
    }
    if let Some(m) = &r.agent_metrics {
        let _ = writeln!(out, "- {}", agent_line(m));
    }
    let rows = percentile_rows(summary);
    if !rows.is_empty() {
        out.push_str(
            "\n| | events | p50 | p90 | p95 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (name, cells) in rows {
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
    }
    out.push('\n');
    for (term, definition) in DEFINITIONS {
        let _ = writeln!(out, "- *{term}*: {definition}");
    }
    out
}

/// Most seconds of one connection the strip shows.
const STRIP_SECONDS: f64 = 40.0;

/// What the strip draws for one connection (seconds from its first shown turn).
#[derive(Debug, Default, PartialEq)]
pub struct Strip {
    /// User speech: (from, to, label).
    pub speech: Vec<(f64, f64, String)>,
    /// Distractor sounds: (from, to, label).
    pub sounds: Vec<(f64, f64, String)>,
    /// Bot audio: (from, to, label).
    pub bot: Vec<(f64, f64, String)>,
    /// Stop signals: (at, label).
    pub signals: Vec<(f64, String)>,
    /// Stop latency: (onset, last reply frame, label).
    pub stops: Vec<(f64, f64, String)>,
    /// Seconds shown.
    pub span: f64,
}

/// The connection with the most barge-in and distractor events, and its strip.
pub fn strip_of(clients: &[ClientResults]) -> Option<(&ClientResults, Strip)> {
    let events = |c: &ClientResults| {
        c.turns
            .iter()
            .filter(|t| t.interruption.is_some() || t.distractor.is_some())
            .count()
    };
    let client = clients
        .iter()
        .filter(|c| events(c) > 0)
        .max_by_key(|c| (events(c), std::cmp::Reverse(c.user)))?;
    let turns = &client.turns;
    let t0 = turns.first()?.started_at;
    let mut strip = Strip::default();
    let rel = |t: f64| t - t0;
    for (k, turn) in turns.iter().enumerate() {
        if rel(turn.started_at) > STRIP_SECONDS {
            break;
        }
        let onset = turn
            .interruption
            .as_ref()
            .and_then(|i| i.stop.onset_at)
            .unwrap_or(turn.started_at);
        if let Some(end) = turn.speech_end_at {
            strip.speech.push((
                rel(onset),
                rel(end),
                format!("turn {} ({}): {}", turn.turn, turn.kind.name(), turn.file),
            ));
        }
        if let Some(start) = turn.first_audio_at {
            let end = reply_end(turn, turns.get(k + 1));
            if let Some(end) = end.filter(|e| *e > start) {
                strip
                    .bot
                    .push((rel(start), rel(end), format!("reply to turn {}", turn.turn)));
            }
        }
        let stop = turn
            .interruption
            .as_ref()
            .map(|i| &i.stop)
            .or(turn.distractor.as_ref().map(|d| &d.stop));
        if let Some(d) = &turn.distractor
            && let (Some(onset), Some(end)) = (d.stop.onset_at, d.end_at)
        {
            let what = if d.stop.stopped {
                "false stop"
            } else {
                "ignored"
            };
            strip
                .sounds
                .push((rel(onset), rel(end), format!("{} ({what})", d.sound)));
        }
        if let Some(stop) = stop {
            if let Some(at) = stop.signal_at {
                let name = match stop.signal {
                    Some(crate::runfolder::results::StopSignal::BotInterrupted) => {
                        "bot-interrupted"
                    }
                    _ => "InterruptionFrame",
                };
                strip
                    .signals
                    .push((rel(at), format!("{name} at {:.3} s", rel(at))));
            }
            if let (Some(onset), Some(latency)) = (stop.onset_at, stop.stop_latency_s)
                && stop.stopped
            {
                strip.stops.push((
                    rel(onset),
                    rel(onset + latency),
                    format!("stop latency {:.0} ms", latency * 1000.0),
                ));
            }
        }
        strip.span = strip.span.max(rel(turn.ended_at));
    }
    strip.span = strip.span.min(STRIP_SECONDS + 10.0);
    Some((client, strip))
}

/// When a turn's reply audio ended: where the next turn's barge-in says the reply stopped, a
/// distractor's stop, or the playback end.
fn reply_end(turn: &TurnRecord, next: Option<&TurnRecord>) -> Option<f64> {
    if let Some(next) = next
        && next.kind == TurnKind::Interrupt
        && let Some(i) = &next.interruption
    {
        return i.stop.last_reply_frame_at.or(i.stop.onset_at);
    }
    if let Some(d) = &turn.distractor
        && d.stop.stopped
    {
        return d.stop.last_reply_frame_at;
    }
    turn.reply_end_at
}

/// The timeline strip of the connection with the most events.
fn timeline_strip(clients: &[ClientResults]) -> Option<String> {
    let (client, strip) = strip_of(clients)?;
    let x = Scale::nice(0.0, strip.span.max(1.0), 10);
    let y = Scale::with_ticks(
        0.0,
        3.0,
        vec![
            (0.7, "bot".into()),
            (1.5, "stop".into()),
            (2.3, "user".into()),
        ],
    );
    let title = format!(
        "One connection, turn by turn: {} (first {:.0} s)",
        client.stream_id,
        strip.span.min(STRIP_SECONDS)
    );
    let mut chart = Chart::new(
        "barge-in-strip",
        &title,
        x,
        "seconds since the connection's first query",
        y,
        "",
    )
    .size(760.0, 220.0);
    for (a, b, label) in &strip.speech {
        chart.rect(*a, 2.0, *b, 2.6, "tl-user", Some(label));
    }
    for (a, b, label) in &strip.sounds {
        chart.rect(*a, 2.0, b.max(a + 0.03), 2.6, "tl-sound", Some(label));
    }
    for (a, b, label) in &strip.bot {
        chart.rect(*a, 0.4, *b, 1.0, "tl-bot", Some(label));
    }
    for (a, b, label) in &strip.stops {
        chart.rect(*a, 1.35, *b, 1.65, "tl-stop", Some(label));
    }
    for (at, label) in &strip.signals {
        chart.rect(*at, 0.2, *at + 0.02, 2.8, "tl-signal", Some(label));
    }
    chart.legend("tl-user", "user speech", Swatch::Box);
    chart.legend("tl-sound", "distractor sound", Swatch::Box);
    chart.legend("tl-bot", "bot audio", Swatch::Box);
    chart.legend("tl-stop", "stop latency", Swatch::Box);
    chart.legend("tl-signal", "interruption signal", Swatch::Box);
    Some(chart.render())
}
