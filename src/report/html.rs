//! `report.html`: one self-contained page (inline CSS and SVG, no script, no external asset; a
//! Content-Security-Policy forbids loading anything) that reads top-down like the run:
//! headline numbers and warnings, latency distribution, latency over time, where the latency
//! goes, glitches and reverse barge-ins, errors, the self-check, then the tables and the
//! configuration.

use std::fmt::Write as _;

use crate::bench::sweep::{self, TABLE_COLUMNS};
use crate::report::charts::{self, TurnRef};
use crate::report::data::{Contents, LevelData, RunFolder};
use crate::report::load;
use crate::report::svg::escape;
use crate::runfolder::REPORT_FILE;
use crate::runfolder::record::{AgentRecord, RunRecord, StepStatus};
use crate::runfolder::results::{ClientResults, ReverseBargeIn, RunSummary, SummaryConfig};
use crate::serverlog::parse::MetricKind;
use crate::stats::Summary;
use crate::text;

/// Rows of long tables shown before the rest is left to the CSV/JSON files.
const MAX_TABLE_ROWS: usize = 500;

const STYLE: &str = r#"
:root{--fg:#1d2329;--muted:#5f6b76;--line:#d9dee3;--bg:#fff;--panel:#f5f7f9;--ok:#1b7f3b;--warn:#b35c00;--bad:#b3261e;--accent:#2563a8}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:36px 0 8px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:16px;margin:20px 0 6px}
p{margin:6px 0}
.sub{color:var(--muted);margin:0 0 14px}
.verdict{font-size:16px;margin:12px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin:16px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .label{color:var(--muted);font-size:12.5px;text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}
.card .note{color:var(--muted);font-size:12.5px}
.card.ok .value{color:var(--ok)}.card.warn .value{color:var(--warn)}.card.bad .value{color:var(--bad)}
.alert{border-left:5px solid var(--warn);background:#fff6e8;padding:10px 14px;margin:10px 0;border-radius:4px}
.alert.bad{border-color:var(--bad);background:#fdeceb}
.alert.ok{border-color:var(--ok);background:#eaf6ee}
.note-box{color:var(--muted);background:var(--panel);padding:8px 12px;border-radius:4px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13.5px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:right;vertical-align:top;white-space:nowrap}
td.l{white-space:normal}
th{background:var(--panel);font-weight:600}
td.l,th.l{text-align:left}
tbody tr:nth-child(even){background:#fafbfc}
.scroll{overflow-x:auto}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;background:var(--panel);padding:1px 4px;border-radius:3px}
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}
.ok-text{color:var(--ok)}.warn-text{color:var(--warn)}.bad-text{color:var(--bad)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
svg.chart{width:100%;height:auto;display:block;margin:8px 0;background:#fff;font-family:inherit}
svg .chart-title{font-size:14px;font-weight:650;fill:var(--fg)}
svg .tick{font-size:11px;fill:var(--muted)}
svg .axis-label{font-size:12px;fill:var(--fg)}
svg .legend text{font-size:11px;fill:var(--fg)}
svg .grid{stroke:#eceff2;stroke-width:1}
svg .axis{stroke:#8a949e;stroke-width:1}
svg .rule{stroke:#1d2329;stroke-width:1;stroke-dasharray:4 3}
svg .rule-warn{stroke:var(--bad);stroke-width:1.2;stroke-dasharray:6 3}
svg .rule-faint{stroke:#c7cdd3;stroke-width:1;stroke-dasharray:2 3}
svg .rule-label{font-size:11px;fill:var(--fg)}
svg .bar-label{font-size:11px;fill:#fff;text-anchor:middle;dominant-baseline:middle;font-weight:600}
svg .window{fill:#eef4fb}
svg path.s-latency,svg line.s-latency{fill:none;stroke:var(--accent);stroke-width:2.2}
svg path.s-audible,svg line.s-audible{fill:none;stroke:#7a8a99;stroke-width:1.6;stroke-dasharray:5 3}
svg .s-p50{stroke:#2563a8;fill:#2563a8}svg .s-p95{stroke:#d97706;fill:#d97706}svg .s-p99{stroke:#b3261e;fill:#b3261e}
svg path.s-p50,svg path.s-p95,svg path.s-p99{fill:none;stroke-width:2}
svg .s-send{fill:#2563a8}svg .s-recv{fill:#8c6bb1}
svg .bar-normal{fill:#2563a8}svg .bar-glitch{fill:#e15759}svg .bar-rbi{fill:#f28e2b}
svg .c-vad{fill:#8c6bb1}svg .c-asr{fill:#4e79a7}svg .c-llm{fill:#f28e2b}svg .c-tts{fill:#59a14f}svg .c-other{fill:#9aa3ab}
svg .mark-total{fill:#1d2329}
svg .user-line{fill:none;stroke-width:1.3;opacity:.55}
svg .level-line{fill:none;stroke-width:2.2}
svg .dot{stroke:#fff;stroke-width:.8}
svg .dot.outside{fill:#fff !important;stroke:#8a949e;stroke-width:1.2}
svg .mark-rbi{fill:#f28e2b;stroke:#8a4a00;stroke-width:.8}
svg .mark-glitch{fill:none;stroke:#e15759;stroke-width:2}
svg .mark-failed{stroke:var(--bad);stroke-width:2.2;fill:none}
svg .u0{fill:#4e79a7;stroke:#4e79a7}svg .u1{fill:#f28e2b;stroke:#f28e2b}svg .u2{fill:#59a14f;stroke:#59a14f}svg .u3{fill:#b07aa1;stroke:#b07aa1}svg .u4{fill:#76b7b2;stroke:#76b7b2}
svg .u5{fill:#edc948;stroke:#edc948}svg .u6{fill:#ff9da7;stroke:#ff9da7}svg .u7{fill:#9c755f;stroke:#9c755f}svg .u8{fill:#e15759;stroke:#e15759}svg .u9{fill:#bab0ac;stroke:#bab0ac}
svg path.user-line,svg path.level-line{fill:none}
svg .tl-user{fill:#4e79a7}svg .tl-sound{fill:#b07aa1}svg .tl-bot{fill:#59a14f}svg .tl-stop{fill:#e15759}svg .tl-signal{fill:#1d2329}
dl.definitions{font-size:13px;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.definitions dt{font-weight:600}dl.definitions dd{margin:0}
svg .dot.u0,svg .dot.u1,svg .dot.u2,svg .dot.u3,svg .dot.u4,svg .dot.u5,svg .dot.u6,svg .dot.u7,svg .dot.u8,svg .dot.u9{stroke:#fff}
footer{margin-top:40px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding-top:10px}
"#;

/// Starved playback time in whole ms; bench's sum over no glitch is `-0.0`, shown as `0`.
pub fn starved_ms(ms: f64) -> String {
    let ms = if ms > 0.0 { ms } else { 0.0 };
    format!("{ms:.0} ms starved")
}

fn num(v: f64) -> String {
    format!("{v:.3}")
}

/// A table with headers; the first `left` columns are left-aligned. Cells are HTML.
fn table(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    for (i, h) in headers.iter().enumerate() {
        let class = if i < left { " class=\"l\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i < left { " class=\"l\"" } else { "" };
            let _ = write!(out, "<td{class}>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

fn card(label: &str, value: &str, note: &str, class: &str) -> String {
    format!(
        r#"<div class="card {class}"><div class="label">{}</div><div class="value">{}</div><div class="note">{}</div></div>"#,
        escape(label),
        escape(value),
        escape(note)
    )
}

fn summary_cells(s: Option<&Summary>, f: fn(f64) -> String) -> Vec<String> {
    match s {
        Some(s) => vec![
            s.count.to_string(),
            f(s.mean),
            f(s.min),
            text::mark_thin(f(s.p50), s.count, 50.0),
            text::mark_thin(f(s.p90), s.count, 90.0),
            text::mark_thin(f(s.p95), s.count, 95.0),
            text::mark_thin(f(s.p99), s.count, 99.0),
            f(s.max),
        ],
        None => {
            let mut cells = vec!["0".to_string()];
            cells.extend(std::iter::repeat_n("–".to_string(), 7));
            cells
        }
    }
}

const SUMMARY_HEADERS: [&str; 9] = [
    "", "count", "mean", "min", "p50", "p90", "p95", "p99", "max",
];

/// Renders the whole page for a run folder.
pub fn render(folder: &RunFolder) -> String {
    let mut body = String::new();
    match &folder.contents {
        Contents::Single(level) => render_level(&mut body, folder, level),
        Contents::Sweep {
            sweep,
            levels,
            unreadable,
        } => render_sweep(&mut body, folder, sweep, levels, unreadable),
    }
    let title = match &folder.contents {
        Contents::Single(level) => format!(
            "voiceperf report — {}, p95 {}",
            text::count(level.summary.run.users, "user"),
            text::secs_unit(level.summary.results.latency.as_ref().map(|l| l.p95))
        ),
        Contents::Sweep { .. } => "voiceperf report — concurrency sweep".to_string(),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="voiceperf {version}">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
{body}
<footer>Generated by voiceperf {version} from the JSON files in this folder (<code>voiceperf report {dir}</code> renders it again). Latency = arrival of the first bot audio frame of the reply − the moment the user's speech ended; all percentiles use linear interpolation over every turn. Hover over points and bars for details.</footer>
</main>
</body>
</html>
"#,
        version = escape(crate::VERSION),
        title = escape(&title),
        dir = escape(&folder.dir.display().to_string()),
    )
}

fn header(out: &mut String, folder: &RunFolder, subtitle: &str) {
    let name = folder
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| folder.dir.display().to_string());
    let _ = write!(
        out,
        r#"<header><h1>Voice agent latency report</h1><p class="sub">{} · {}</p></header>"#,
        escape(&name),
        escape(subtitle)
    );
    if folder.parent_sweep {
        out.push_str(
            r#"<p class="sub">One level of a concurrency sweep — <a href="../report.html">the sweep report</a>.</p>"#,
        );
    }
    for problem in &folder.problems {
        let _ = write!(
            out,
            r#"<div class="alert">Left out of this report: {}</div>"#,
            escape(problem)
        );
    }
}

fn agent_description(record: Option<&RunRecord>, config: &SummaryConfig) -> String {
    let agent = agent_at(record, config);
    match config.protocol.as_str() {
        "pipecat" => format!("{agent}, pipecat protocol"),
        telephony => format!("{agent}, called over the {telephony} media-stream protocol"),
    }
}

fn agent_at(record: Option<&RunRecord>, config: &SummaryConfig) -> String {
    match record.map(|r| &r.agent) {
        Some(AgentRecord::BuiltIn(agent)) => format!(
            "built-in voiceperf agent at {} (VAD stop {} ms, ASR {}, LLM TTFB {}, TTS TTFB {})",
            agent.url,
            agent.vad_stop_ms,
            delay_text(&agent.asr),
            delay_text(&agent.llm_ttfb),
            delay_text(&agent.tts_ttfb)
        ),
        Some(AgentRecord::External(agent)) => format!("agent at {}", agent.url),
        None => format!("agent at {}", config.url),
    }
}

fn delay_text(delay: &crate::delay::Delay) -> String {
    use crate::delay::Delay;
    match *delay {
        Delay::Fixed { ms } => format!("{ms} ms"),
        Delay::Normal { mean_ms, sd_ms } => format!("{mean_ms}±{sd_ms} ms"),
        Delay::Uniform { low_ms, high_ms } => format!("{low_ms}–{high_ms} ms"),
    }
}

/// One sentence saying how the run went.
pub fn verdict(summary: &RunSummary) -> String {
    let r = &summary.results;
    let Some(l) = &r.latency else {
        return format!(
            "No turn got reply audio inside the metrics window ({} turns attempted, {} errors).",
            r.turns.in_window, summary.errors.total
        );
    };
    let mut parts = Vec::new();
    parts.push(format!(
        "Median latency {:.3} s, p95 {:.3} s, p99 {:.3} s over {} from {}.",
        l.p50,
        l.p95,
        l.p99,
        text::count(l.count, "turn"),
        text::count(summary.run.users, "user")
    ));
    let mut issues = Vec::new();
    let e = &summary.errors;
    issues.push(if e.total == 0 {
        "no errors".to_string()
    } else {
        format!(
            "{} errors (error rate {})",
            e.total,
            text::percent(e.error_rate)
        )
    });
    let g = &r.glitch_detection;
    issues.push(if g.total_glitches == 0 {
        "no glitches".to_string()
    } else {
        format!(
            "{} glitches in {} turns",
            g.total_glitches, g.turns_with_glitches
        )
    });
    let rbi = r.reverse_barge_in_detection.total_reverse_barge_ins;
    issues.push(if rbi == 0 {
        "no reverse barge-ins".to_string()
    } else {
        format!("{rbi} reverse barge-ins")
    });
    parts.push(format!("{}.", capitalize(&issues.join(", "))));
    parts.push(if summary.self_check.trustworthy {
        "The load generator kept its schedule, so the numbers can be trusted.".to_string()
    } else {
        "The load generator fell behind its schedule: do not trust these numbers.".to_string()
    });
    parts.join(" ")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Warnings worth reading before any number, as (class, text).
pub fn alerts(summary: &RunSummary, record: Option<&RunRecord>) -> Vec<(&'static str, String)> {
    let mut alerts = Vec::new();
    if let Some(w) = &summary.self_check.warning {
        alerts.push(("bad", w.clone()));
    }
    if let Some(shard) = &summary.shard {
        alerts.push((
            "warn",
            format!(
                "This is shard {}/{} of run {} (its {} of the run's {} users): `voiceperf merge` joins the shards into the run's figures.",
                shard.index, shard.count, shard.run_id, shard.users, summary.config.num_clients
            ),
        ));
        if let Some(w) = &shard.clock.warning {
            alerts.push(("bad", format!("Shard clock check: {w}")));
        }
    }
    if summary.run.stopped_early {
        alerts.push((
            "warn",
            "The run was stopped early (Ctrl-C): the numbers cover what was measured until then."
                .into(),
        ));
    } else if !summary.run.complete {
        alerts.push((
            "warn",
            "The run did not finish: these are the results written while it ran.".into(),
        ));
    }
    if summary.results.latency.is_none() {
        alerts.push((
            "bad",
            "No turn got reply audio inside the metrics window: check the errors below and the agent's log."
                .into(),
        ));
    }
    for warning in &summary.dataset.warnings {
        alerts.push(("warn", format!("Dataset: {warning}")));
    }
    for skipped in &summary.dataset.skipped {
        alerts.push((
            "warn",
            format!(
                "Dataset file {} was not used: {}",
                skipped.file, skipped.reason
            ),
        ));
    }
    if let Some(record) = record {
        if let AgentRecord::BuiltIn(agent) = &record.agent
            && let Some(w) = &agent.pacing_warning
        {
            alerts.push(("bad", w.clone()));
        }
        for problem in &record.problems {
            alerts.push(("bad", problem.clone()));
        }
    }
    alerts
}

fn render_alerts(out: &mut String, alerts: &[(&'static str, String)]) {
    for (class, text) in alerts {
        let _ = write!(out, r#"<div class="alert {class}">{}</div>"#, escape(text));
    }
}

fn render_level(out: &mut String, folder: &RunFolder, level: &LevelData) {
    let summary = &level.summary;
    let r = &summary.results;
    let config = &summary.config;
    let record = folder.record.as_ref();
    let subtitle = format!(
        "{} · {} · {:.0} s metrics window · {}",
        summary.timestamp,
        crate::summary::text::load_text(summary),
        summary.run.metrics_end_at - summary.run.metrics_start_at,
        agent_description(record, config)
    );
    header(out, folder, &subtitle);
    let _ = write!(
        out,
        r#"<p class="verdict">{}</p>"#,
        escape(&verdict(summary))
    );
    render_alerts(out, &alerts(summary, record));

    // Headline cards.
    out.push_str(r#"<section id="headline" class="cards">"#);
    let l = r.latency.as_ref();
    let n = l.map_or(0, |l| l.count);
    out.push_str(&card(
        "p50 latency",
        &text::secs_unit(l.map(|l| l.p50)),
        "median turn",
        "",
    ));
    out.push_str(&card(
        "p95 latency",
        &text::secs_unit(l.map(|l| l.p95)),
        "95 % of turns faster",
        "",
    ));
    out.push_str(&card(
        "p99 latency",
        &text::secs_unit(l.map(|l| l.p99)),
        &format!("max {}", text::secs_unit(l.map(|l| l.max))),
        "",
    ));
    out.push_str(&card(
        "turns measured",
        &n.to_string(),
        &format!(
            "{}, {}",
            text::count(summary.run.users, "user"),
            text::count(r.total_clients, "connection")
        ),
        if n == 0 { "bad" } else { "" },
    ));
    let e = &summary.errors;
    out.push_str(&card(
        "error rate",
        &text::percent(e.error_rate),
        &format!("{} of {} attempts failed", e.failed, e.attempted),
        if e.failed > 0 { "bad" } else { "ok" },
    ));
    let rbi = &r.reverse_barge_in_detection;
    out.push_str(&card(
        "reverse barge-ins",
        &rbi.total_reverse_barge_ins.to_string(),
        &format!(
            "{} during speech, {} < {} s",
            rbi.during_speech, rbi.below_threshold, config.threshold
        ),
        if rbi.total_reverse_barge_ins > 0 {
            "warn"
        } else {
            "ok"
        },
    ));
    let g = &r.glitch_detection;
    out.push_str(&card(
        "glitches",
        &g.total_glitches.to_string(),
        &starved_ms(g.total_starved_ms),
        if g.total_glitches > 0 { "warn" } else { "ok" },
    ));
    let lateness = summary.self_check.send_lateness_ms.as_ref();
    out.push_str(&card(
        "self-check",
        if summary.self_check.trustworthy {
            "trusted"
        } else {
            "NOT trusted"
        },
        &format!(
            "send lateness p99 {}",
            lateness.map_or("–".into(), |s| format!("{:.1} ms", s.p99))
        ),
        if summary.self_check.trustworthy {
            "ok"
        } else {
            "bad"
        },
    ));
    out.push_str("</section>");
    // Where the time goes, on average, belongs with the headline numbers.
    if let Some(svg) = level
        .analysis
        .as_ref()
        .and_then(|a| a.join.as_ref())
        .and_then(charts::breakdown_mean)
    {
        out.push_str(&svg);
    }

    let turns = charts::all_turns(&level.clients);
    render_latency(out, summary, &turns);
    render_load(out, summary, &level.clients);
    render_breakdown(out, level, record);
    render_events(out, summary, &turns);
    if let Some(section) = crate::report::bargein::html_section(summary, &level.clients) {
        out.push_str(&section);
    }
    render_errors(out, summary);
    render_self_check(out, summary, record);
    render_shards(out, summary);
    render_clients(out, summary);
    render_dataset(out, summary);
    render_config(out, summary, record);
    render_turns_table(out, &turns);
}

fn render_latency(out: &mut String, summary: &RunSummary, turns: &[TurnRef]) {
    let r = &summary.results;
    out.push_str(r#"<section id="latency"><h2>Latency</h2>"#);
    out.push_str(
        "<p>Latency of a turn is the time from the moment the simulated user's speech ended to the arrival of the first audio frame of the bot's reply, over every turn that started inside the metrics window and got reply audio (reverse barge-ins included). <em>Audible</em> latency waits for the first reply sample above the audible level on the simulated playback clock.</p>",
    );
    match charts::latency_cdf(summary, turns) {
        Some(svg) => out.push_str(&svg),
        None => out.push_str(r#"<p class="note-box">No latency was measured.</p>"#),
    }
    if let Some(svg) = charts::latency_histogram(summary, turns) {
        out.push_str(&svg);
    }
    let rows: Vec<Vec<String>> = [
        (
            "latency (the headline)",
            r.latency.as_ref(),
            "first bot audio − end of speech",
        ),
        (
            "audible latency",
            r.audible_latency.as_ref(),
            "first audible reply sample − end of speech",
        ),
        (
            "valid (no reverse barge-ins)",
            r.valid_latency.as_ref(),
            "the old client's “valid” turns",
        ),
        (
            "from the last chunk",
            r.last_chunk_latency.as_ref(),
            "first bot audio − end of the file's last chunk",
        ),
        (
            "any first frame (old client)",
            r.seed_latency.as_ref(),
            "first frame of any kind − end of the file's last chunk",
        ),
    ]
    .into_iter()
    .map(|(name, s, what)| {
        let mut row = vec![format!(
            "{}<br><small class=\"warn-text\">{}</small>",
            escape(name),
            escape(what)
        )];
        row.extend(summary_cells(s, num));
        row
    })
    .collect();
    out.push_str("<h3>Percentiles (s)</h3>");
    out.push_str(&table(&SUMMARY_HEADERS, &rows, 1));
    let lines = crate::summary::text::accuracy_lines(r, &summary.self_check);
    if let Some(line) = &lines.ci {
        let _ = write!(out, "<p>Latency {} s.</p>", escape(line));
    }
    if let Some(line) = &lines.self_check {
        let _ = write!(out, "<p>Self-check: {}.</p>", escape(line));
    }
    if lines.thin_legend {
        let _ = write!(out, "<p><small>{}</small></p>", escape(text::THIN_LEGEND));
    }
    let _ = write!(
        out,
        "<p>The old launcher's aggregates, for comparison with old reports: mean of per-connection averages {}, their “P95” {} (a percentile of averages, not of turns).</p>",
        text::secs_unit(r.aggregate_average_latency),
        text::secs_unit(r.p95_client_latency)
    );
    out.push_str("</section>");

    out.push_str(r#"<section id="timeline"><h2>Latency over time</h2>"#);
    out.push_str("<p>Every turn at the moment its speech ended, one colour per user. The shaded band is the metrics window: only turns starting inside it are counted; hollow points outside it are warm-up and wind-down turns, kept for context.</p>");
    match charts::latency_timeline(summary, turns) {
        Some(svg) => out.push_str(&svg),
        None => out.push_str(r#"<p class="note-box">No turn was taken.</p>"#),
    }
    out.push_str("</section>");
}

fn render_load(out: &mut String, summary: &RunSummary, clients: &[ClientResults]) {
    let bins = load::bins(summary, clients);
    let slo = summary.config.slo_p95;
    let knee = load::knee(&bins, slo);
    let (Some(latency), Some(users)) = (
        load::latency_chart(&bins, knee.as_ref(), slo),
        load::users_chart(&bins, knee.as_ref()),
    ) else {
        return;
    };
    out.push_str(r#"<section id="load"><h2>Load over time and the capacity knee</h2>"#);
    out.push_str("<p>The run cut into time bins: the p50 and p95 latency of the turns whose speech ended in each, and the most users connected at once. The capacity knee is the first bin where p95 broke the SLO (<code>--slo-p95</code>) or departed from p50 (the p95 − p50 spread above three times the spread the run started with, in two bins running).</p>");
    let _ = write!(
        out,
        r#"<div class="alert {}">{}</div>"#,
        if knee.is_some() { "" } else { "ok" },
        escape(&match &knee {
            Some(knee) => capitalize(&knee.describe(slo)),
            None =>
                "No knee: p95 stayed close to p50 (and within the SLO, if one was set) all along."
                    .to_string(),
        })
    );
    out.push_str(&latency);
    out.push_str(&users);
    out.push_str("</section>");
}

fn render_shards(out: &mut String, summary: &RunSummary) {
    if summary.shards.is_empty() {
        return;
    }
    out.push_str(r#"<section id="shards"><h2>Shards</h2>"#);
    let _ = write!(
        out,
        "<p>This run was made of {} shards (<code>bench --shard I/N</code>) merged by <code>voiceperf merge</code>: every figure above is recomputed from all their turns; each shard's self-check is its own and the worst is the run's. The clock check: how long before the shared start each shard was ready, how late its first user started, and how far its wall clock moved against its monotonic clock during the run (tolerance {} ms).</p>",
        summary.shards.len(),
        summary.shards.first().map_or(0.0, |s| s.clock.tolerance_ms)
    );
    let mut headers: Vec<&str> = crate::summary::text::SHARD_COLUMNS.to_vec();
    headers.extend([
        "ready before start (s)",
        "first user late (ms)",
        "clock drift (ms)",
    ]);
    let opt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
    let rows: Vec<Vec<String>> = crate::summary::text::shard_rows(summary)
        .into_iter()
        .zip(&summary.shards)
        .map(|(cells, shard)| {
            let mut row: Vec<String> = cells.iter().map(|c| escape(c)).collect();
            row.push(format!("{:.1}", shard.clock.lead_s));
            row.push(opt(shard.clock.first_user_late_ms));
            row.push(opt(shard.clock.wall_clock_drift_ms));
            row
        })
        .collect();
    out.push_str(&table(&headers, &rows, 2));
    out.push_str("</section>");
}

fn render_breakdown(out: &mut String, level: &LevelData, record: Option<&RunRecord>) {
    out.push_str(r#"<section id="breakdown"><h2>Where the latency goes</h2>"#);
    let join = level.analysis.as_ref().and_then(|a| a.join.as_ref());
    let Some(join) = join else {
        let why = match (&level.analysis_problem, record.and_then(|r| r.agent.log())) {
            (Some(problem), _) => format!("The server log analysis could not be read: {problem}"),
            (None, Some(log)) => format!(
                "The server log {log} gave no analysis joined with this run (see the run's problems above)."
            ),
            (None, None) => "No server log was analysed for this run. Pass the agent's log with `voiceperf run --url … --server-log FILE`, or join it afterwards: `voiceperf analyze FILE --run DIR --export-json DIR/analysis.json`, then `voiceperf report DIR`.".to_string(),
        };
        let _ = write!(out, r#"<p class="note-box">{}</p></section>"#, escape(&why));
        return;
    };
    out.push_str("<p>Each turn's measured latency split with the agent's server log: <b>VAD wait</b> (from the real end of speech to the agent's end-of-turn decision), <b>ASR</b>, <b>LLM TTFB</b> and <b>TTS TTFB</b> as the services logged them, and <b>transport / other</b> (network both ways and scheduling; the remainder). The average split is at the top of the page.</p>");
    if let Some(svg) = charts::breakdown_per_turn(join) {
        out.push_str(&svg);
    }
    let rows: Vec<Vec<String>> =
        std::iter::once(("measured latency", join.overall.latency.as_ref()))
            .chain(
                charts::parts(&join.overall)
                    .into_iter()
                    .map(|(_, label, _, s)| (label, s.as_ref())),
            )
            .map(|(name, s)| {
                let mut row = vec![escape(name)];
                row.extend(summary_cells(s, |v| format!("{:.0}", v * 1000.0)));
                row
            })
            .collect();
    out.push_str("<h3>Parts of the latency (ms, over in-window turns)</h3>");
    out.push_str(&table(&SUMMARY_HEADERS, &rows, 1));
    let c = &join.counts;
    if let Some(note) = &join.note {
        let _ = write!(out, r#"<p class="note-box">{}</p>"#, escape(note));
    }
    let _ = write!(
        out,
        "<p>{} of {} in-window turns with a latency have every service timing; the VAD wait is known for {} ({}). Log clock aligned by {} (offset {:+.0} s{}).</p>",
        c.with_all_components,
        c.with_latency,
        c.with_vad_wait,
        if c.with_truth_line > 0 {
            "from the agent's truth lines"
        } else {
            "from pipecat's “User stopped speaking” lines, when logged — the turn-end one of pipecat ≥ 1.0 less the STT's TTFB; otherwise it stays inside transport / other"
        },
        escape(&join.clock.source),
        // Avoid "-0 s" for a log in UTC measured a hair below zero.
        if join.clock.offset_s.abs() < 0.5 {
            0.0
        } else {
            join.clock.offset_s
        },
        join.clock
            .residual_ms
            .map(|r| format!(", residual {r:.1} ms"))
            .unwrap_or_default()
    );
    if !join.clients.is_empty() && join.clients.len() <= 64 {
        let rows: Vec<Vec<String>> = join
            .clients
            .iter()
            .map(|c| {
                let mut row = vec![escape(&c.stream_id), c.turns.to_string()];
                row.push(text::ms_unit(c.mean.latency));
                row.extend(charts::parts(&c.mean).map(|(_, _, _, v)| text::ms_unit(*v)));
                row
            })
            .collect();
        out.push_str("<details><summary>Per connection (means)</summary>");
        out.push_str(&table(
            &[
                "connection",
                "turns",
                "latency",
                "VAD wait",
                "ASR",
                "LLM TTFB",
                "TTS TTFB",
                "transport / other",
            ],
            &rows,
            1,
        ));
        out.push_str("</details>");
    }
    if let Some(analysis) = &level.analysis {
        let rows: Vec<Vec<String>> = MetricKind::ALL
            .iter()
            .filter_map(|&kind| {
                let s = analysis.percentiles.get(kind).as_ref()?;
                let f: fn(f64) -> String = if kind.is_seconds() {
                    |v| format!("{:.0}", v * 1000.0)
                } else {
                    |v| format!("{v:.1}")
                };
                let mut row = vec![format!(
                    "{}{}",
                    escape(kind.label()),
                    if kind.is_seconds() { " (ms)" } else { "" }
                )];
                row.extend(summary_cells(Some(s), f));
                row.push(
                    analysis
                        .seed
                        .overall_average
                        .get(kind)
                        .map_or("–".into(), f),
                );
                row.push(analysis.seed.overall_p95.get(kind).map_or("–".into(), f));
                Some(row)
            })
            .collect();
        if !rows.is_empty() {
            out.push_str("<h3>Server-side metrics from the log</h3>");
            let mut headers = SUMMARY_HEADERS.to_vec();
            headers.extend(["old analyzer OVERALL AVERAGE", "old analyzer OVERALL P95"]);
            out.push_str(&table(&headers, &rows, 1));
            if let Some(a) = &analysis.agent_turn_latency {
                let _ = write!(
                    out,
                    "<p>The agent's own view (truth lines: its last speech frame's arrival → its first reply frame): p50 {}, p95 {}, over {} replies.</p>",
                    text::secs_unit(Some(a.p50)),
                    text::secs_unit(Some(a.p95)),
                    a.count
                );
            }
        }
    }
    out.push_str("</section>");
}

fn render_events(out: &mut String, summary: &RunSummary, turns: &[TurnRef]) {
    let r = &summary.results;
    out.push_str(r#"<section id="events"><h2>Glitches and reverse barge-ins</h2>"#);
    let g = &r.glitch_detection;
    let rbi = &r.reverse_barge_in_detection;
    let _ = write!(
        out,
        "<p><b>Glitch</b>: inside a reply, the simulated playback buffer ran dry for more than 20 ms before the next audio arrived. <b>Reverse barge-in</b>: the reply's first audio arrived while the user was still speaking, or sooner than the {} s threshold after the speech ended. Both are marked on the charts above.</p><p>{} glitches in {} turns ({}, {} of {} connections); {} reverse barge-ins ({} during speech, {} below the threshold).</p>",
        summary.config.threshold,
        g.total_glitches,
        g.turns_with_glitches,
        starved_ms(g.total_starved_ms),
        g.clients_with_glitches,
        g.total_clients,
        rbi.total_reverse_barge_ins,
        rbi.during_speech,
        rbi.below_threshold
    );
    let marked: Vec<&TurnRef> = turns
        .iter()
        .filter(|t| t.turn.in_window && (t.turn.glitches > 0 || t.turn.reverse_barge_in.is_some()))
        .collect();
    if !marked.is_empty() {
        let rows: Vec<Vec<String>> = marked
            .iter()
            .take(MAX_TABLE_ROWS)
            .map(|t| {
                let rbi = match t.turn.reverse_barge_in {
                    Some(ReverseBargeIn::DuringSpeech) => "during speech",
                    Some(ReverseBargeIn::BelowThreshold) => "below threshold",
                    None => "",
                };
                let gaps: Vec<String> = t
                    .turn
                    .glitch_gaps_ms
                    .iter()
                    .map(|g| format!("{g:.0}"))
                    .collect();
                vec![
                    escape(&t.client.stream_id),
                    t.turn.turn.to_string(),
                    escape(&t.turn.file),
                    text::secs_unit(t.turn.latency_s),
                    rbi.to_string(),
                    t.turn.glitches.to_string(),
                    escape(&gaps.join(", ")),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "connection",
                "turn",
                "file",
                "latency",
                "reverse barge-in",
                "glitches",
                "underruns (ms)",
            ],
            &rows,
            3,
        ));
    }
    out.push_str("</section>");
}

fn render_errors(out: &mut String, summary: &RunSummary) {
    let e = &summary.errors;
    out.push_str(r#"<section id="errors"><h2>Errors</h2>"#);
    let t = &summary.results.turns;
    let _ = write!(
        out,
        "<p>{} errors; error rate {} ({} of {} attempts failed: in-window turns without a reply or cut by a disconnect, plus failed connection attempts). Turns in the window: {} replied, {} no reply, {} disconnected, {} stopped; {} turns outside the window.</p>",
        e.total,
        text::percent(e.error_rate),
        e.failed,
        e.attempted,
        t.replied,
        t.no_reply,
        t.disconnected,
        t.stopped,
        t.outside_window
    );
    if !e.by_kind.is_empty() {
        let rows: Vec<Vec<String>> = e
            .by_kind
            .iter()
            .map(|(k, n)| vec![k.name().to_string(), n.to_string()])
            .collect();
        out.push_str(&table(&["kind", "count"], &rows, 1));
    }
    if !e.first_errors.is_empty() {
        let start = summary.run.started_at;
        let rows: Vec<Vec<String>> = e
            .first_errors
            .iter()
            .map(|se| {
                vec![
                    format!("{:+.3} s", se.error.at - start),
                    escape(&se.stream_id),
                    se.error.kind.name().to_string(),
                    se.error.turn.map_or(String::new(), |t| t.to_string()),
                    escape(&se.error.message),
                ]
            })
            .collect();
        out.push_str("<h3>First errors</h3>");
        out.push_str(&table(
            &["at (from start)", "connection", "kind", "turn", "message"],
            &rows,
            5,
        ));
    }
    out.push_str("</section>");
}

fn render_self_check(out: &mut String, summary: &RunSummary, record: Option<&RunRecord>) {
    let sc = &summary.self_check;
    out.push_str(
        r#"<section id="self-check-section"><h2>Can these numbers be trusted? The self-check</h2>"#,
    );
    let _ = write!(
        out,
        "<p>voiceperf measures its own accuracy: how late each audio chunk left versus its absolute schedule, and how late the receive loop woke for a due timer (an upper bound on how stale an arrival timestamp can be). Each turn's latency can be off by at most the largest lateness of its chunks up to the first reply audio plus the receive lag p99; when the p99 of that bound over turns exceeds the tolerance, max({} ms, 1 % of the median latency), it could move a reported percentile by more than that, and the latency numbers are not trustworthy.</p>",
        crate::summary::LATENESS_LIMIT_MS
    );
    let _ = write!(
        out,
        r#"<div class="alert {}">{}</div>"#,
        if sc.trustworthy { "ok" } else { "bad" },
        escape(&match (&sc.warning, sc.trustworthy) {
            (Some(w), _) => w.clone(),
            (None, true) => match sc.error_bound_ms {
                Some(bound) => format!(
                    "Within the tolerance: latency error ≤ {bound:.1} ms (p99 over turns) ≤ {:.1} ms.",
                    sc.limit_ms
                ),
                None => format!(
                    "Within the limit: p99 send lateness + receive lag ≤ {} ms.",
                    sc.limit_ms
                ),
            },
            (None, false) => "Over the limit.".to_string(),
        })
    );
    if let Some(svg) = charts::self_check(summary) {
        out.push_str(&svg);
    }
    let rows: Vec<Vec<String>> = [
        ("send lateness (ms)", sc.send_lateness_ms.as_ref()),
        ("receive lag (ms)", sc.receive_lag_ms.as_ref()),
    ]
    .into_iter()
    .map(|(name, s)| {
        let mut row = vec![name.to_string()];
        row.extend(summary_cells(s, |v| format!("{v:.2}")));
        row
    })
    .collect();
    out.push_str(&table(&SUMMARY_HEADERS, &rows, 1));
    if let Some(a) = &summary.agent_agreement {
        match &a.difference_ms {
            Some(d) => {
                let _ = write!(
                    out,
                    "<p><b>Agreement with the agent's own clock</b> ({}): over {} matched turns, bench's interval minus the agent's differs by p50 {:.3} ms, p99 {:.3} ms (|difference| p99 {:.3} ms) — network and scheduling time neither side can see.</p>",
                    escape(&a.log),
                    a.matched_turns,
                    d.p50,
                    d.p99,
                    a.abs_difference_p99_ms.unwrap_or(f64::NAN)
                );
            }
            None if a.truth_lines > 0 => {
                let _ = write!(
                    out,
                    "<p>Agreement with the agent: no turn matched ({} truth lines in {}).</p>",
                    a.truth_lines,
                    escape(&a.log)
                );
            }
            None => {}
        }
    }
    if let Some(RunRecord {
        agent: AgentRecord::BuiltIn(agent),
        ..
    }) = record
        && let Some(p) = &agent.pacing_lateness_ms
    {
        let _ = write!(
            out,
            "<p>The built-in agent's own pacing: reply frames left p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms late over {} frames.</p>",
            p.p50, p.p99, p.max, p.count
        );
    }
    out.push_str("</section>");
}

fn render_clients(out: &mut String, summary: &RunSummary) {
    out.push_str(r#"<section id="clients"><h2>Connections</h2>"#);
    let rows: Vec<Vec<String>> = summary
        .clients
        .iter()
        .take(MAX_TABLE_ROWS)
        .map(|c| {
            let l = c.latency.as_ref();
            vec![
                escape(&c.stream_id),
                c.user.to_string(),
                format!("{:?}", c.status).to_lowercase(),
                c.turns.to_string(),
                c.replied.to_string(),
                text::secs_unit(l.map(|s| s.p50)),
                text::secs_unit(l.map(|s| s.p95)),
                text::secs_unit(l.map(|s| s.max)),
                c.reverse_barge_ins.to_string(),
                c.glitches.to_string(),
                c.errors.to_string(),
                c.send_lateness_p99_ms
                    .map_or("–".into(), |v| format!("{v:.2} ms")),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "connection",
            "user",
            "status",
            "turns",
            "replied",
            "p50",
            "p95",
            "max",
            "rev. barge-ins",
            "glitches",
            "errors",
            "send lateness p99",
        ],
        &rows,
        1,
    ));
    if summary.clients.len() > MAX_TABLE_ROWS {
        let _ = write!(
            out,
            "<p>{} more connections in summary.json.</p>",
            summary.clients.len() - MAX_TABLE_ROWS
        );
    }
    out.push_str("</section>");
}

fn render_dataset(out: &mut String, summary: &RunSummary) {
    let d = &summary.dataset;
    out.push_str(r#"<section id="dataset"><h2>Dataset</h2>"#);
    let _ = write!(
        out,
        "<p>{} files from <code>{}</code>, spoken in this order; speech ends from {}.</p>",
        d.files.len(),
        escape(&d.audio_dir),
        if d.manifest_found {
            "prep's manifest.json where the file is unchanged"
        } else {
            "prep's speech detector run on each file (no manifest.json)"
        }
    );
    let rows: Vec<Vec<String>> = d
        .files
        .iter()
        .map(|f| {
            vec![
                escape(&f.file),
                format!("{:.2} s", f.duration_s),
                format!("{:.3} s", f.speech_start_s),
                format!("{:.3} s", f.speech_end_s),
                format!("{:.0} ms", f.trailing_ms),
                format!("{:?}", f.speech_end_source).to_lowercase(),
                format!(
                    "<code>{}</code>",
                    escape(&f.sha256.chars().take(12).collect::<String>())
                ),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "file",
            "duration",
            "speech start",
            "speech end",
            "after speech",
            "from",
            "sha256",
        ],
        &rows,
        1,
    ));
    out.push_str("</section>");
}

fn render_config(out: &mut String, summary: &RunSummary, record: Option<&RunRecord>) {
    let c = &summary.config;
    out.push_str(r#"<section id="config"><h2>Configuration</h2>"#);
    let opt = |v: Option<f64>| v.map_or("–".into(), |v| v.to_string());
    let rows: Vec<Vec<String>> = [
        ("URL", c.url.clone()),
        ("users", c.num_clients.to_string()),
        (
            "start delay between users",
            format!("{} s", c.client_start_delay),
        ),
        ("metrics window", format!("{} s", c.test_duration)),
        ("reverse barge-in threshold", format!("{} s", c.threshold)),
        ("chunk", format!("{} ms", c.chunk_ms)),
        (
            "reply gap / turn gap",
            format!("{} s / {} s", c.reply_gap, c.turn_gap),
        ),
        ("reply timeout", format!("{} s", c.reply_timeout)),
        ("greeting timeout", format!("{} s", c.greeting_timeout)),
        ("connect timeout", format!("{} s", c.connect_timeout)),
        ("on error", format!("{:?}", c.on_error).to_lowercase()),
        ("audible level", format!("{} dBFS", c.audible_dbfs)),
        ("dataset", c.audio_dir.clone()),
        (
            "agent log (agreement)",
            c.agent_log.clone().unwrap_or_else(|| "–".into()),
        ),
        (
            "SLO p95 / fail p95 / max error rate",
            format!(
                "{} / {} / {}",
                opt(c.slo_p95),
                opt(c.fail_p95),
                opt(c.max_error_rate)
            ),
        ),
        ("voiceperf", summary.tool_version.clone()),
    ]
    .into_iter()
    .map(|(k, v)| vec![escape(k), escape(&v)])
    .collect();
    out.push_str("<div class=\"grid2\"><div><h3>Benchmark</h3>");
    out.push_str(&table(&["setting", "value"], &rows, 2));
    out.push_str("</div><div>");
    if let Some(record) = record {
        out.push_str("<h3>Pipeline (voiceperf run)</h3>");
        let rows: Vec<Vec<String>> = record
            .steps
            .iter()
            .map(|s| {
                let class = match s.status {
                    StepStatus::Ok => "ok-text",
                    StepStatus::Failed => "bad-text",
                    StepStatus::Warning | StepStatus::Skipped => "warn-text",
                };
                vec![
                    escape(&s.name),
                    format!("<span class=\"{class}\">{}</span>", s.status.name()),
                    format!("{:.1} s", s.seconds),
                    escape(&s.detail),
                ]
            })
            .collect();
        out.push_str(&table(&["step", "status", "time", "what"], &rows, 4));
        let agent = match &record.agent {
            AgentRecord::BuiltIn(a) => format!(
                "Built-in agent: VAD stop {} ms, ASR {}, LLM TTFB {}, TTS TTFB {}{}{}; log <code>{}</code>.",
                a.vad_stop_ms,
                escape(&delay_text(&a.asr)),
                escape(&delay_text(&a.llm_ttfb)),
                escape(&delay_text(&a.tts_ttfb)),
                if a.greeting { ", greeting" } else { "" },
                if a.rtvi { ", RTVI messages" } else { "" },
                escape(&a.log)
            ),
            AgentRecord::External(a) => format!(
                "External agent at <code>{}</code>; server log {}.",
                escape(&a.url),
                a.server_log
                    .as_ref()
                    .map_or("not given".into(), |l| format!(
                        "<code>{}</code>",
                        escape(l)
                    ))
            ),
        };
        let _ = write!(out, "<p>{agent}</p>");
        let _ = write!(
            out,
            "<p>Command: <code>{}</code></p>",
            escape(&record.command.join(" "))
        );
    }
    out.push_str("</div></div></section>");
}

fn render_turns_table(out: &mut String, turns: &[TurnRef]) {
    if turns.is_empty() {
        return;
    }
    out.push_str(
        r#"<section id="turns"><h2>Every turn</h2><details><summary>Show the table</summary>"#,
    );
    let rows: Vec<Vec<String>> = turns
        .iter()
        .take(MAX_TABLE_ROWS * 4)
        .map(|t| {
            let turn = t.turn;
            vec![
                escape(&t.client.stream_id),
                turn.turn.to_string(),
                escape(&turn.file),
                if turn.in_window { "yes" } else { "no" }.to_string(),
                charts::outcome_name(turn.outcome).to_string(),
                text::secs_unit(turn.latency_s),
                text::secs_unit(turn.audible_latency_s),
                format!("{:.2} s", turn.reply_audio_s),
                turn.glitches.to_string(),
                turn.received.len().to_string(),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "connection",
            "turn",
            "file",
            "counted",
            "outcome",
            "latency",
            "audible",
            "reply audio",
            "glitches",
            "other frames",
        ],
        &rows,
        5,
    ));
    if turns.len() > MAX_TABLE_ROWS * 4 {
        let _ = write!(
            out,
            "<p>{} more turns in turns.csv.</p>",
            turns.len() - MAX_TABLE_ROWS * 4
        );
    }
    out.push_str("</details></section>");
}

fn render_sweep(
    out: &mut String,
    folder: &RunFolder,
    sweep: &crate::runfolder::results::SweepSummary,
    levels: &[LevelData],
    unreadable: &[String],
) {
    let users: Vec<String> = sweep.levels.iter().map(|l| l.clients.to_string()).collect();
    let subtitle = format!(
        "{} · concurrency sweep over {} users",
        sweep.timestamp,
        users.join(", ")
    );
    header(out, folder, &subtitle);
    let mut verdict = match (sweep.slo_p95, sweep.max_clients_meeting_slo) {
        (Some(slo), Some(n)) => {
            format!(
                "The highest level meeting p95 ≤ {slo} s: {}.",
                text::count(n, "user")
            )
        }
        (Some(slo), None) => format!("No level met p95 ≤ {slo} s."),
        _ => String::new(),
    };
    if let Some(worst) = sweep
        .levels
        .iter()
        .filter_map(|l| Some((l.clients, l.latency.as_ref()?.p95)))
        .max_by_key(|(c, _)| *c)
    {
        verdict.push_str(&format!(
            " At {}, p95 latency is {:.3} s.",
            text::count(worst.0, "user"),
            worst.1
        ));
    }
    let _ = write!(out, r#"<p class="verdict">{}</p>"#, escape(verdict.trim()));
    let mut all_alerts: Vec<(&'static str, String)> = sweep
        .gate_failures
        .iter()
        .map(|g| ("bad", format!("Gate failed: {g}")))
        .collect();
    for level in &sweep.levels {
        if !level.trustworthy {
            all_alerts.push((
                "bad",
                format!(
                    "{}: the load generator fell behind its schedule; numbers at this level are not trustworthy.",
                    text::count(level.clients, "user")
                ),
            ));
        }
    }
    all_alerts.extend(
        unreadable
            .iter()
            .map(|u| ("warn", format!("Level not read: {u}"))),
    );
    if let Some(record) = &folder.record {
        all_alerts.extend(record.problems.iter().map(|p| ("warn", p.clone())));
    }
    render_alerts(out, &all_alerts);

    out.push_str(r#"<section id="sweep"><h2>Latency vs concurrent users</h2>"#);
    match charts::sweep_curve(sweep) {
        Some(svg) => out.push_str(&svg),
        None => out.push_str(r#"<p class="note-box">No level measured a latency.</p>"#),
    }
    let cdfs: Vec<(usize, Vec<f64>)> = levels
        .iter()
        .map(|l| {
            let turns = charts::all_turns(&l.clients);
            let values = charts::measured_turns(&turns)
                .iter()
                .filter_map(|t| t.turn.latency_s)
                .collect();
            (l.summary.config.num_clients, values)
        })
        .collect();
    if let Some(svg) = charts::sweep_cdf(&cdfs) {
        out.push_str(&svg);
    }
    let rows: Vec<Vec<String>> = sweep::table_rows(sweep)
        .into_iter()
        .map(|row| {
            let l = row.level;
            let mut cells = vec![format!(
                r#"<a href="{}/{REPORT_FILE}">{}</a>"#,
                escape(&l.dir),
                text::count(l.clients, "user")
            )];
            cells.extend(row.values[1..].iter().cloned());
            cells.push(match row.meets_slo {
                Some(true) => "<span class=\"ok-text\">met</span>".into(),
                Some(false) => "<span class=\"bad-text\">missed</span>".into(),
                None => text::DASH.into(),
            });
            cells.push(if row.trusted {
                "<span class=\"ok-text\">yes</span>".into()
            } else {
                "<span class=\"bad-text\">no</span>".into()
            });
            cells
        })
        .collect();
    out.push_str(&table(&TABLE_COLUMNS, &rows, 1));
    out.push_str(
        "<p>Each level is a complete run folder with its own report (links above).</p></section>",
    );
    if let Some(level) = levels.last() {
        render_config(out, &level.summary, folder.record.as_ref());
    }
}
