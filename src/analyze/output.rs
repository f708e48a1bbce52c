//! Rendering an [`Analysis`]: the seed's text layout plus the percentile table, and CSV.

use std::fmt::Write as _;

use super::join::{AsrSource, Breakdown, JoinReport, VadSource};
use super::results::{Analysis, MetricSet};
use crate::serverlog::parse::MetricKind;
use crate::stats::Summary;
use crate::term::Painter;

/// Per-client arrays longer than this are abbreviated in the text report (all values are in
/// the JSON).
pub const MAX_ARRAY_VALUES: usize = 40;

const RULE: usize = 130;

/// The text report.
pub fn text(analysis: &Analysis, paint: Painter) -> String {
    let mut out = String::new();
    let _ = write_text(&mut out, analysis, paint);
    // The fixed-width columns leave trailing blanks.
    let mut trimmed: String = out.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    if trimmed.is_empty() {
        trimmed.push('\n');
    }
    trimmed
}

fn write_text(out: &mut String, a: &Analysis, paint: Painter) -> std::fmt::Result {
    writeln!(out, "{}", paint.bold("Latency Log Analyzer"))?;
    let inputs: Vec<String> = a
        .inputs
        .iter()
        .map(|i| {
            let gzip = if i.gzip { "gzip, " } else { "" };
            let failed = if i.error.is_some() {
                ", read failed"
            } else {
                ""
            };
            format!(
                "{} ({gzip}{}, {} lines{failed})",
                i.name,
                human_bytes(i.bytes),
                i.lines
            )
        })
        .collect();
    writeln!(out, "Analyzing: {}", inputs.join(", "))?;
    writeln!(out, "Window: {}", a.window.description)?;
    writeln!(out)?;
    writeln!(out, "{}", "=".repeat(90))?;
    writeln!(out, "{}", paint.bold("LATENCY ANALYSIS RESULTS"))?;
    writeln!(out, "{}", "=".repeat(90))?;

    for client in &a.clients {
        writeln!(out, "\n{}:", client.stream_id)?;
        for kind in MetricKind::SEED {
            let decimals = if kind.is_seconds() { 3 } else { 2 };
            writeln!(
                out,
                "  {}: {}",
                kind.label(),
                array(client.samples.get(kind), decimals)
            )?;
        }
        for kind in [MetricKind::AsrTtfb, MetricKind::LlmTtfat] {
            let values = client.samples.get(kind);
            if !values.is_empty() {
                writeln!(out, "  {}: {}", kind.label(), array(values, 3))?;
            }
        }
        if !client.agent_turns.is_empty() {
            let latencies: Vec<f64> = client
                .agent_turns
                .iter()
                .map(|t| t.truth.latency_s)
                .collect();
            writeln!(out, "  Agent turn latency: {}", array(&latencies, 3))?;
        }
    }

    let id_width = a
        .clients
        .iter()
        .map(|c| c.stream_id.len() + 1)
        .max()
        .unwrap_or(0)
        .max(25);
    writeln!(
        out,
        "\n{:<id_width$} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10}",
        "Client ID",
        "LLM TTFB",
        "TTS TTFB",
        "ASR Lat",
        "LLM 1st",
        "Tokens/s",
        "LLM calls",
        "TTS calls",
        "ASR calls"
    )?;
    writeln!(out, "{}", "-".repeat(RULE))?;
    for client in &a.clients {
        writeln!(
            out,
            "{:<id_width$} {} {:<10} {:<10} {:<10}",
            client.stream_id,
            seed_cells(&client.means),
            client.calls.llm,
            client.calls.tts,
            client.calls.asr
        )?;
    }
    writeln!(out, "{}", "-".repeat(RULE))?;
    writeln!(
        out,
        "{:<id_width$} {}",
        "OVERALL AVERAGE",
        seed_cells(&a.seed.overall_average)
    )?;
    writeln!(
        out,
        "{:<id_width$} {}",
        "OVERALL P95",
        seed_cells(&a.seed.overall_p95)
    )?;
    writeln!(out, "{}", "-".repeat(RULE))?;
    writeln!(
        out,
        "{}",
        paint.dim(
            "OVERALL AVERAGE / P95 are the old analyzer's: mean and ⌊0.95·(n−1)⌋-th of the \
             client means. Percentiles over every sample follow."
        )
    )?;

    writeln!(
        out,
        "\n{}",
        paint.bold("PERCENTILES OVER ALL SAMPLES (seconds; Tokens/s in tokens per second)")
    )?;
    writeln!(
        out,
        "{:<28} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "Metric", "count", "mean", "p50", "p90", "p95", "p99", "max"
    )?;
    writeln!(out, "{}", "-".repeat(28 + 8 * 7 + 7))?;
    for kind in MetricKind::ALL {
        let label = match kind {
            MetricKind::AsrTtfb => "ASR TTFB (own, not LLM/TTS)",
            other => other.label(),
        };
        percentile_row(
            out,
            label,
            a.percentiles.get(kind).as_ref(),
            kind.is_seconds(),
        )?;
    }
    if let Some(agent) = &a.agent_turn_latency {
        percentile_row(out, "Agent turn latency (truth)", Some(agent), true)?;
    }
    if let Some(joined) = &a.join {
        write_breakdown(out, joined, paint)?;
    }
    if a.counts.rejected_lines > 0 {
        writeln!(
            out,
            "\n{}",
            paint.yellow(&format!(
                "{} line(s) rejected, their values not used: {} (see the warnings on stderr / \
                 `warnings` in --json)",
                a.counts.rejected_lines,
                a.rejected_summary()
            ))
        )?;
    }
    Ok(())
}

fn write_breakdown(out: &mut String, j: &JoinReport, paint: Painter) -> std::fmt::Result {
    writeln!(
        out,
        "\n{}",
        paint.bold(&format!(
            "LATENCY BREAKDOWN, joined with the bench run {} (in-window turns, seconds)",
            j.run_dir
        ))
    )?;
    let c = &j.counts;
    let clock = &j.clock;
    let residual = clock
        .residual_ms
        .map(|r| format!(", residual {r:.1} ms over {} lines", clock.lines))
        .unwrap_or_default();
    writeln!(
        out,
        "Clock: log time = UTC{} (from {}{residual})",
        format_offset(clock.offset_s),
        clock.source.replace('_', " ")
    )?;
    writeln!(
        out,
        "Matched: {} in-window turns, {} with a latency, {} with server samples, {} with ASR+LLM+TTS, {} with an agent truth line, {} with a VAD wait",
        c.in_window_turns,
        c.with_latency,
        c.with_server_samples,
        c.with_all_components,
        c.with_truth_line,
        c.with_vad_wait
    )?;
    if c.unlabeled_samples > 0 {
        writeln!(
            out,
            "Lines without a stream id: {} timing lines, {} attributed by time to an in-window turn (one connection active), {} logged while several connections were active (not used), {} outside the run's turns",
            c.unlabeled_samples, c.unlabeled_attributed, c.unlabeled_ambiguous, c.unlabeled_outside
        )?;
    }
    if let Some(note) = &j.note {
        writeln!(out, "{}", paint.yellow(note))?;
    }
    if c.connections_in_log < c.connections {
        writeln!(
            out,
            "{}",
            paint.yellow(&format!(
                "Only {} of the run's {} connections appear in the log",
                c.connections_in_log, c.connections
            ))
        )?;
    }
    let id_width = j
        .clients
        .iter()
        .map(|c| c.stream_id.len() + 1)
        .max()
        .unwrap_or(0)
        .max(25);
    writeln!(
        out,
        "{:<id_width$} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>16}",
        "Client ID",
        "turns",
        "latency",
        "VAD wait",
        "ASR",
        "LLM TTFB",
        "TTS TTFB",
        "transport/other"
    )?;
    let width = id_width + 7 + 6 * 10 + 17;
    writeln!(out, "{}", "-".repeat(width))?;
    let cell = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
    let row = |b: &Breakdown<Option<f64>>| {
        format!(
            "{:>9} {:>9} {:>9} {:>9} {:>9} {:>16}",
            cell(b.latency),
            cell(b.vad_wait),
            cell(b.asr),
            cell(b.llm_ttfb),
            cell(b.tts_ttfb),
            cell(b.transport_other)
        )
    };
    for client in &j.clients {
        writeln!(
            out,
            "{:<id_width$} {:>6} {}",
            client.stream_id,
            client.turns,
            row(&client.mean)
        )?;
    }
    writeln!(out, "{}", "-".repeat(width))?;
    type Stat = fn(&Summary) -> f64;
    let stats: [(&str, Stat); 5] = [
        ("mean", |s| s.mean),
        ("p50", |s| s.p50),
        ("p90", |s| s.p90),
        ("p95", |s| s.p95),
        ("p99", |s| s.p99),
    ];
    let turns = j.overall.latency.as_ref().map(|s| s.count).unwrap_or(0);
    for (name, stat) in stats {
        let o = &j.overall;
        let pick = |s: &Option<Summary>| s.as_ref().map(stat);
        let b = Breakdown {
            latency: pick(&o.latency),
            vad_wait: pick(&o.vad_wait),
            asr: pick(&o.asr),
            llm_ttfb: pick(&o.llm_ttfb),
            tts_ttfb: pick(&o.tts_ttfb),
            transport_other: pick(&o.transport_other),
        };
        writeln!(
            out,
            "{:<id_width$} {:>6} {}",
            format!("ALL TURNS {name}"),
            turns,
            row(&b)
        )?;
    }
    writeln!(
        out,
        "{}",
        paint.dim(
            "Each column's percentile is taken on its own, so the p-rows do not add up; the \
             means do (up to turns missing a part)."
        )
    )?;
    Ok(())
}

fn format_offset(seconds: f64) -> String {
    let sign = if seconds < 0.0 { '-' } else { '+' };
    let total = seconds.abs();
    if total.fract() != 0.0 || total % 60.0 != 0.0 {
        return format!("{sign}{total:.3}s");
    }
    let minutes = (total / 60.0) as i64;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The joined per-turn table as CSV: one row per bench turn of the run.
pub fn turns_csv(j: &JoinReport) -> String {
    let mut out = String::from(
        "stream_id,turn,file,in_window,speech_end_at,first_audio_at,latency_s,vad_wait_s,asr_s,llm_ttfb_s,tts_ttfb_s,transport_other_s,vad_source,agent_turn,agent_latency_s,agent_stop_wait_s,vad_speech_end_offset_s,uplink_s,downlink_s,llm_first_sentence_s,server_samples,asr_source,ambiguous_samples\n",
    );
    let number = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    for t in &j.turns {
        let b = &t.breakdown;
        let vad_source = match t.vad_source {
            Some(VadSource::TruthLine) => "truth_line",
            Some(VadSource::UserStoppedSpeaking) => "user_stopped_speaking",
            Some(VadSource::TurnEnd) => "turn_end",
            None => "",
        };
        let asr_source = match t.asr_source {
            Some(AsrSource::ComputeLatency) => "compute_latency",
            Some(AsrSource::SttTtfb) => "stt_ttfb",
            None => "",
        };
        let cells = [
            csv_field(&t.stream_id),
            t.turn.to_string(),
            csv_field(&t.file),
            t.in_window.to_string(),
            number(t.speech_end_at),
            number(t.first_audio_at),
            number(b.latency),
            number(b.vad_wait),
            number(b.asr),
            number(b.llm_ttfb),
            number(b.tts_ttfb),
            number(b.transport_other),
            vad_source.to_string(),
            t.agent.map(|a| a.turn.to_string()).unwrap_or_default(),
            number(t.agent.map(|a| a.latency_s)),
            number(t.agent_stop_wait_s),
            number(t.vad_speech_end_offset_s),
            number(t.uplink_s),
            number(t.downlink_s),
            number(t.llm_first_sentence),
            t.server_samples.to_string(),
            asr_source.to_string(),
            t.ambiguous_samples.to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn seed_cells(values: &MetricSet<Option<f64>>) -> String {
    MetricKind::SEED
        .iter()
        .map(|&kind| {
            let decimals = if kind.is_seconds() { 3 } else { 2 };
            let cell = match values.get(kind) {
                Some(v) => format!("{v:.decimals$}"),
                None => "-".to_string(),
            };
            format!("{cell:<10}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile_row(
    out: &mut String,
    label: &str,
    summary: Option<&Summary>,
    seconds: bool,
) -> std::fmt::Result {
    let decimals = if seconds { 3 } else { 2 };
    match summary {
        None => writeln!(out, "{label:<28} {:>7} {:>9}", 0, "-"),
        Some(s) => {
            writeln!(
                out,
                "{label:<28} {:>7} {:>9.decimals$} {:>9.decimals$} {:>9.decimals$} {:>9.decimals$} {:>9.decimals$} {:>9.decimals$}",
                s.count, s.mean, s.p50, s.p90, s.p95, s.p99, s.max
            )
        }
    }
}

/// The seed's array display, `['0.300', '0.310']`, abbreviated past [`MAX_ARRAY_VALUES`].
fn array(values: &[f64], decimals: usize) -> String {
    let item = |v: &f64| format!("'{v:.decimals$}'");
    if values.len() <= MAX_ARRAY_VALUES {
        let items: Vec<String> = values.iter().map(item).collect();
        return format!("[{}]", items.join(", "));
    }
    let head: Vec<String> = values[..MAX_ARRAY_VALUES / 2].iter().map(item).collect();
    let tail: Vec<String> = values[values.len() - 3..].iter().map(item).collect();
    format!(
        "[{}, …, {}] ({} values; all of them with --json)",
        head.join(", "),
        tail.join(", "),
        values.len()
    )
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Column names of the CSV export.
pub fn csv_header() -> Vec<String> {
    let mut columns = vec!["client".to_string()];
    columns.extend(MetricKind::ALL.iter().map(|k| format!("{}_mean", k.key())));
    columns.extend(
        ["llm_calls", "tts_calls", "asr_calls", "agent_turns"]
            .iter()
            .map(|s| s.to_string()),
    );
    columns
}

/// The CSV export: one row per client (metric means and call counts, as the seed's table),
/// then the seed's `OVERALL AVERAGE` and `OVERALL P95` rows, then `ALL SAMPLES <stat>` rows
/// with percentiles over every sample.
pub fn csv(analysis: &Analysis) -> String {
    let mut out = String::new();
    let header = csv_header();
    out.push_str(&header.join(","));
    out.push('\n');
    let number = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    let push_row = |out: &mut String, label: &str, values: Vec<String>| {
        let mut cells = vec![csv_field(label)];
        cells.extend(values);
        cells.resize(header.len(), String::new());
        out.push_str(&cells.join(","));
        out.push('\n');
    };
    for client in &analysis.clients {
        let mut cells: Vec<String> = MetricKind::ALL
            .iter()
            .map(|&k| number(*client.means.get(k)))
            .collect();
        cells.extend([
            client.calls.llm.to_string(),
            client.calls.tts.to_string(),
            client.calls.asr.to_string(),
            client.agent_turns.len().to_string(),
        ]);
        push_row(&mut out, &client.stream_id, cells);
    }
    let metric_cells = |set: &MetricSet<Option<f64>>| -> Vec<String> {
        MetricKind::ALL
            .iter()
            .map(|&k| number(*set.get(k)))
            .collect()
    };
    push_row(
        &mut out,
        "OVERALL AVERAGE",
        metric_cells(&analysis.seed.overall_average),
    );
    push_row(
        &mut out,
        "OVERALL P95",
        metric_cells(&analysis.seed.overall_p95),
    );
    type Stat = fn(&Summary) -> f64;
    let stats: [(&str, Stat); 6] = [
        ("MEAN", |s| s.mean),
        ("P50", |s| s.p50),
        ("P90", |s| s.p90),
        ("P95", |s| s.p95),
        ("P99", |s| s.p99),
        ("MAX", |s| s.max),
    ];
    for (name, stat) in stats {
        let set = MetricSet::from_fn(|k| analysis.percentiles.get(k).as_ref().map(stat));
        push_row(&mut out, &format!("ALL SAMPLES {name}"), metric_cells(&set));
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(text: &str) -> String {
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
    fn arrays_look_like_the_seeds() {
        assert_eq!(array(&[0.3, 0.31], 3), "['0.300', '0.310']");
        assert_eq!(array(&[], 3), "[]");
        let long: Vec<f64> = (0..100).map(f64::from).collect();
        let text = array(&long, 2);
        assert!(text.contains("(100 values;"), "{text}");
        assert!(text.contains("'99.00'"));
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("client_1_2"), "client_1_2");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn offsets_read_like_zones() {
        assert_eq!(format_offset(3600.0), "+01:00");
        assert_eq!(format_offset(-19_800.0), "-05:30");
        assert_eq!(format_offset(0.0), "+00:00");
        assert_eq!(format_offset(7.5), "+7.500s");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
