//! `summary.md`: the run's headline numbers as Markdown, for pull requests, issues and chat.

use std::fmt::Write as _;

use crate::bench::sweep::{self, TABLE_COLUMNS};
use crate::report::charts;
use crate::report::data::{Contents, LevelData, RunFolder};
use crate::report::html::{alerts, starved_ms, verdict};
use crate::runfolder::REPORT_FILE;
use crate::stats::Summary;
use crate::text::{self, count};

/// `text` from a run's files (URLs, folder names, error messages, server text) made safe for
/// `summary.md`: HTML (`<script>`, `<img onerror>`) and entities are escaped, Markdown
/// syntax (emphasis, links, code spans, table pipes, headings) is backslash-escaped and line
/// breaks become spaces, so nothing a server or a file name says can add markup or break a
/// table.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn row(out: &mut String, name: &str, s: Option<&Summary>, f: fn(f64) -> String) {
    let cells = match s {
        Some(s) => format!(
            "{} | {} | {} | {} | {} | {} | {}",
            s.count,
            f(s.mean),
            text::mark_thin(f(s.p50), s.count, 50.0),
            text::mark_thin(f(s.p90), s.count, 90.0),
            text::mark_thin(f(s.p95), s.count, 95.0),
            text::mark_thin(f(s.p99), s.count, 99.0),
            f(s.max)
        ),
        None => "0 | – | – | – | – | – | –".to_string(),
    };
    let _ = writeln!(out, "| {name} | {cells} |");
}

/// Renders `summary.md` for a run folder.
pub fn render(folder: &RunFolder) -> String {
    let mut out = String::new();
    match &folder.contents {
        Contents::Single(level) => render_level(&mut out, folder, level),
        Contents::Sweep { sweep, .. } => {
            let _ = writeln!(out, "# voiceperf: latency vs concurrent users\n");
            let _ = writeln!(out, "| {} |", TABLE_COLUMNS.join(" | "));
            let _ = writeln!(
                out,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|:---|"
            );
            for row in sweep::table_rows(sweep) {
                let slo = match row.meets_slo {
                    Some(true) => "met",
                    Some(false) => "missed",
                    None => text::DASH,
                };
                let trusted = if row.trusted { "yes" } else { "**no**" };
                let _ = writeln!(out, "| {} | {slo} | {trusted} |", row.values.join(" | "));
            }
            if let (Some(slo), n) = (sweep.slo_p95, sweep.max_clients_meeting_slo) {
                let _ = match n {
                    Some(n) => {
                        writeln!(
                            out,
                            "\nHighest level meeting p95 ≤ {slo} s: **{}**.",
                            count(n, "user")
                        )
                    }
                    None => writeln!(out, "\nNo level met p95 ≤ {slo} s."),
                };
            }
            for g in &sweep.gate_failures {
                let _ = writeln!(out, "\n**Gate failed:** {}", escape(g));
            }
            let _ = writeln!(out, "\nFull report: `{REPORT_FILE}`.");
        }
    }
    out
}

fn render_level(out: &mut String, folder: &RunFolder, level: &LevelData) {
    let s = &level.summary;
    let _ = writeln!(
        out,
        "# voiceperf: {}, {:.0} s metrics window\n",
        crate::summary::text::load_text(s),
        s.run.metrics_end_at - s.run.metrics_start_at
    );
    let _ = writeln!(out, "{}\n", escape(&verdict(s)));
    for (_, alert) in alerts(s, folder.record.as_ref()) {
        let _ = writeln!(out, "> **Warning:** {}\n", escape(&alert));
    }
    let _ = writeln!(
        out,
        "Latency = first bot audio − end of the user's speech (s), over every in-window turn.\n"
    );
    let _ = writeln!(out, "| | turns | mean | p50 | p90 | p95 | p99 | max |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let r = &s.results;
    let f3: fn(f64) -> String = |v| format!("{v:.3}");
    row(out, "**latency**", r.latency.as_ref(), f3);
    row(out, "audible", r.audible_latency.as_ref(), f3);
    row(out, "from last chunk", r.last_chunk_latency.as_ref(), f3);
    row(out, "any first frame", r.seed_latency.as_ref(), f3);
    let lines = crate::summary::text::accuracy_lines(r, &s.self_check);
    if let Some(line) = &lines.ci {
        let _ = writeln!(out, "\nLatency {line} s.");
    }
    if let Some(line) = &lines.self_check {
        let _ = writeln!(out, "\nSelf-check: {line}.");
    }
    if lines.thin_legend {
        let _ = writeln!(out, "\n{}", text::THIN_LEGEND.replacen('*', "\\*", 1));
    }
    if let Some(join) = level.analysis.as_ref().and_then(|a| a.join.as_ref()) {
        let _ = writeln!(out, "\nWhere the latency goes (ms, from the server log):\n");
        let _ = writeln!(out, "| | turns | mean | p50 | p90 | p95 | p99 | max |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let f_ms: fn(f64) -> String = |v| format!("{:.0}", v * 1000.0);
        for (_, label, _, summary) in charts::parts(&join.overall) {
            row(out, label, summary.as_ref(), f_ms);
        }
        let means: Vec<String> = charts::parts(&join.overall)
            .iter()
            .map(|(_, label, _, s)| {
                format!("{label} {}", text::ms_unit(s.as_ref().map(|s| s.mean)))
            })
            .collect();
        let _ = writeln!(out, "\nMeans: {}.", means.join(" · "));
    }
    let e = &s.errors;
    let g = &r.glitch_detection;
    let rbi = &r.reverse_barge_in_detection;
    let _ = writeln!(
        out,
        "\n- errors: {} (error rate {:.1} %, {} of {} attempts failed)",
        e.total,
        e.error_rate * 100.0,
        e.failed,
        e.attempted
    );
    let _ = writeln!(
        out,
        "- glitches: {} in {} turns ({})",
        g.total_glitches,
        g.turns_with_glitches,
        starved_ms(g.total_starved_ms)
    );
    let _ = writeln!(
        out,
        "- reverse barge-ins: {} ({} during speech, {} below {} s)",
        rbi.total_reverse_barge_ins, rbi.during_speech, rbi.below_threshold, s.config.threshold
    );
    let sc = &s.self_check;
    let fmt = |x: Option<&Summary>| {
        x.map_or("–".into(), |x| {
            format!("p50 {:.2} / p99 {:.2} / max {:.2} ms", x.p50, x.p99, x.max)
        })
    };
    let _ = writeln!(
        out,
        "- self-check: send lateness {}; receive lag {} — {}",
        fmt(sc.send_lateness_ms.as_ref()),
        fmt(sc.receive_lag_ms.as_ref()),
        if sc.trustworthy {
            "trusted"
        } else {
            "**NOT trusted**"
        }
    );
    let _ = writeln!(
        out,
        "- agent: {} ({} protocol); {} connections; dataset {} files from {}",
        escape(&s.config.url),
        escape(&s.config.protocol),
        r.total_clients,
        s.dataset.files.len(),
        escape(&s.dataset.audio_dir)
    );
    out.push_str(&crate::report::bargein::markdown(s));
    let bins = crate::report::load::bins(s, &level.clients);
    if let Some(knee) = crate::report::load::knee(&bins, s.config.slo_p95) {
        let _ = writeln!(out, "- {}", escape(&knee.describe(s.config.slo_p95)));
    }
    if !s.shards.is_empty() {
        let columns = crate::summary::text::SHARD_COLUMNS;
        let _ = writeln!(
            out,
            "\nShards (each self-check its own; the worst is the run's):\n\n| {} |",
            columns.join(" | ")
        );
        let _ = writeln!(out, "|---|---|{}", "---:|".repeat(columns.len() - 2));
        for cells in crate::summary::text::shard_rows(s) {
            let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    let _ = writeln!(
        out,
        "\nFull report: `{REPORT_FILE}` · p95 {}.",
        text::secs_unit(r.latency.as_ref().map(|l| l.p95))
    );
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn html_and_markdown_from_run_files_are_escaped() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        // A table cell cannot be split, a line cannot start a heading, a link cannot form.
        assert_eq!(
            escape("a|b\n# h [x](javascript:y) `c` *d* _e_"),
            "a\\|b \\# h \\[x\\](javascript:y) \\`c\\` \\*d\\* \\_e\\_"
        );
        assert_eq!(escape("bell\u{7}nul\u{0}"), "bellnul");
        assert_eq!(escape("0.812 s over 40 turns"), "0.812 s over 40 turns");
    }
}
