//! Exporters and the console: `turns.csv`, the final summary table of a run, and the
//! latency-vs-users table of a sweep.

use std::fmt::Write as _;

use crate::bench::sweep::{self, TABLE_COLUMNS_SHORT};
use crate::runfolder::results::{ClientResults, RunSummary, SweepSummary};
use crate::stats::Summary;
use crate::term::Painter;
use crate::text;

/// Columns of `turns.csv`, one row per turn of every connection (in and out of the window).
pub const TURNS_CSV_COLUMNS: [&str; 30] = [
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
];

/// `turns.csv` for these connections.
pub fn turns_csv<'a>(clients: impl Iterator<Item = &'a ClientResults>) -> String {
    let mut out = TURNS_CSV_COLUMNS.join(",");
    out.push('\n');
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for client in clients {
        for t in &client.turns {
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

fn summary_row(out: &mut String, label: &str, s: Option<&Summary>) {
    match s {
        Some(s) => {
            let _ = writeln!(
                out,
                "  {label:<18}{:>7}{:>9.3}{:>8.3}{:>8.3}{:>8.3}{:>8.3}{:>8.3}{:>8.3}",
                s.count, s.mean, s.min, s.p50, s.p90, s.p95, s.p99, s.max
            );
        }
        None => {
            let _ = writeln!(out, "  {label:<18}{:>7}", 0);
        }
    }
}

/// The final summary of one run (one concurrency level), for the console.
pub fn summary_text(summary: &RunSummary, dir: &std::path::Path, paint: Painter) -> String {
    let r = &summary.results;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "voiceperf bench: {} user(s), {:.0} s metrics window, {} connection(s){}",
            summary.run.users,
            summary.config.test_duration,
            r.total_clients,
            if summary.run.stopped_early {
                " — STOPPED EARLY"
            } else {
                ""
            }
        ))
    );
    let _ = writeln!(
        out,
        "\nlatency = first bot audio − end of the user's speech (s), over every in-window turn"
    );
    let _ = writeln!(
        out,
        "  {:<18}{:>7}{:>9}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}",
        "", "turns", "mean", "min", "p50", "p90", "p95", "p99", "max"
    );
    summary_row(&mut out, "latency", r.latency.as_ref());
    summary_row(&mut out, "audible", r.audible_latency.as_ref());
    summary_row(&mut out, "from last chunk", r.last_chunk_latency.as_ref());
    summary_row(&mut out, "any first frame", r.seed_latency.as_ref());
    let t = &r.turns;
    let _ = writeln!(
        out,
        "\nturns: {} in window — {} replied, {} no reply, {} disconnected, {} stopped; {} outside the window",
        t.in_window, t.replied, t.no_reply, t.disconnected, t.stopped, t.outside_window
    );
    let rbi = &r.reverse_barge_in_detection;
    let rbi_text = format!(
        "reverse barge-ins: {} ({} during speech, {} below {} s)",
        rbi.total_reverse_barge_ins,
        rbi.during_speech,
        rbi.below_threshold,
        summary.config.threshold
    );
    let _ = writeln!(
        out,
        "{}",
        if rbi.total_reverse_barge_ins > 0 {
            paint.yellow(&rbi_text)
        } else {
            rbi_text
        }
    );
    let g = &r.glitch_detection;
    let glitch_text = format!(
        "glitches: {} in {} turn(s), {:.0} ms starved, {} of {} connection(s) affected",
        g.total_glitches,
        g.turns_with_glitches,
        g.total_starved_ms,
        g.clients_with_glitches,
        g.total_clients
    );
    let _ = writeln!(
        out,
        "{}",
        if g.total_glitches > 0 {
            paint.yellow(&glitch_text)
        } else {
            glitch_text
        }
    );
    let e = &summary.errors;
    let kinds: Vec<String> = e
        .by_kind
        .iter()
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    let error_text = format!(
        "errors: {}{} — error rate {:.1} % ({} of {} attempts failed)",
        e.total,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        },
        e.error_rate * 100.0,
        e.failed,
        e.attempted
    );
    let _ = writeln!(
        out,
        "{}",
        if e.total > 0 {
            paint.red(&error_text)
        } else {
            error_text
        }
    );
    if let Some(first) = e.first_errors.first() {
        let _ = writeln!(
            out,
            "  first: {} {}: {}",
            first.stream_id,
            first.error.kind.name(),
            first.error.message
        );
    }
    let sc = &summary.self_check;
    let fmt_ms = |s: Option<&Summary>| {
        s.map_or("–".into(), |s| {
            format!("p50 {:.2} / p99 {:.2} / max {:.2} ms", s.p50, s.p99, s.max)
        })
    };
    let check = format!(
        "self-check: send lateness {}; receive lag {}",
        fmt_ms(sc.send_lateness_ms.as_ref()),
        fmt_ms(sc.receive_lag_ms.as_ref())
    );
    let _ = writeln!(
        out,
        "{}",
        if sc.trustworthy {
            format!("{check} {}", paint.green("✓"))
        } else {
            paint.red(&check)
        }
    );
    if let Some(a) = &summary.agent_agreement {
        match &a.difference_ms {
            Some(d) => {
                let _ = writeln!(
                    out,
                    "agent agreement: {} turn(s) matched; bench − agent p50 {:.3} ms, p99 {:.3} ms, |p99| {:.3} ms",
                    a.matched_turns,
                    d.p50,
                    d.p99,
                    a.abs_difference_p99_ms.unwrap_or(f64::NAN)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "agent agreement: no turn matched in {} ({} truth line(s))",
                    a.log, a.truth_lines
                );
            }
        }
    }
    if !summary.clients.is_empty() && summary.clients.len() <= 20 {
        let _ = writeln!(
            out,
            "\n  {:<28}{:>6}{:>8}{:>8}{:>8}{:>6}{:>9}{:>7}",
            "connection", "turns", "p50", "p95", "max", "rbi", "glitches", "errors"
        );
        for c in &summary.clients {
            let l = c.latency.as_ref();
            let _ = writeln!(
                out,
                "  {:<28}{:>6}{:>8}{:>8}{:>8}{:>6}{:>9}{:>7}",
                c.stream_id,
                c.turns,
                text::secs(l.map(|s| s.p50)),
                text::secs(l.map(|s| s.p95)),
                text::secs(l.map(|s| s.max)),
                c.reverse_barge_ins,
                c.glitches,
                c.errors
            );
        }
    }
    let _ = writeln!(out, "\nresults: {}", dir.display());
    out
}

/// The latency-vs-users table of a sweep.
pub fn sweep_text(sweep: &SweepSummary, paint: Painter) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint.bold("latency vs concurrent users (s)"));
    let widths = [7, 7, 8, 8, 8, 8, 9, 6, 9];
    let mut header = String::from(" ");
    for (name, width) in TABLE_COLUMNS_SHORT.iter().zip(widths) {
        let _ = write!(header, "{name:>width$}");
    }
    let _ = writeln!(out, "{header}  {}", TABLE_COLUMNS_SHORT[9]);
    for row in sweep::table_rows(sweep) {
        let mut line = String::from(" ");
        for (value, width) in row.values.iter().zip(widths) {
            let _ = write!(line, "{value:>width$}");
        }
        let slo = match row.meets_slo {
            Some(true) => paint.green("met"),
            Some(false) => paint.red("missed"),
            None => String::new(),
        };
        let trust = if row.trusted {
            ""
        } else {
            " (generator overloaded)"
        };
        let _ = writeln!(out, "{line}  {slo}{trust}");
    }
    if let Some(slo) = sweep.slo_p95 {
        let _ = match sweep.max_clients_meeting_slo {
            Some(n) => writeln!(out, "highest level meeting p95 ≤ {slo} s: {n} users"),
            None => writeln!(out, "no level met p95 ≤ {slo} s"),
        };
    }
    for failure in &sweep.gate_failures {
        let _ = writeln!(out, "{}", paint.red(&format!("gate failed: {failure}")));
    }
    out
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
