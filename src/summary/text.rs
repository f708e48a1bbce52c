//! The final summary of one run (one concurrency level, or shards merged into one), for the
//! console.

use std::fmt::Write as _;

use crate::runfolder::results::{
    DistractorSummary, InterruptionSummary, LoadShape, RunSummary, SelfCheck, SummaryResults,
};
use crate::stats::Summary;
use crate::term::Painter;
use crate::text;

fn summary_row(out: &mut String, label: &str, s: Option<&Summary>) {
    match s {
        Some(s) => {
            let pct = |v: f64, p: f64| text::mark_thin(format!("{v:.3}"), s.count, p);
            let _ = writeln!(
                out,
                "  {label:<18}{:>7}{:>9.3}{:>8.3}{:>8}{:>8}{:>8}{:>8}{:>8.3}",
                s.count,
                s.mean,
                s.min,
                pct(s.p50, 50.0),
                pct(s.p90, 90.0),
                pct(s.p95, 95.0),
                pct(s.p99, 99.0),
                s.max
            );
        }
        None => {
            let _ = writeln!(out, "  {label:<18}{:>7}", 0);
        }
    }
}

/// One sentence on a run's interruptions.
pub fn interruption_line(i: &InterruptionSummary) -> String {
    format!(
        "{} interruption(s): {} stopped within the limit (success rate {}), {} signalled, {} planned but missed (the reply had ended)",
        i.count,
        i.stopped,
        i.success_rate.map_or(text::DASH.to_string(), text::percent),
        i.signalled,
        i.missed
    )
}

/// One sentence on a run's distractors.
pub fn distractor_line(d: &DistractorSummary) -> String {
    format!(
        "{} distractor(s): {} false stop(s) (false-stop rate {}), {} spurious repl(ies), {} signalled, {} planned but missed",
        d.count,
        d.false_stops,
        d.false_stop_rate
            .map_or(text::DASH.to_string(), text::percent),
        d.spurious_replies,
        d.signalled,
        d.missed
    )
}

/// The barge-in lines of the console summary: interruptions, distractors and the agent's
/// RTVI metrics, when the run has them.
fn barge_in_text(summary: &RunSummary, paint: Painter) -> String {
    let r = &summary.results;
    let mut out = String::new();
    let interruptions = r.interruptions.as_ref().filter(|i| i.count + i.missed > 0);
    let distractors = r.distractors.as_ref().filter(|d| d.count + d.missed > 0);
    let agent = r.agent_metrics.as_ref().filter(|m| m.turns > 0);
    if interruptions.is_none() && distractors.is_none() && agent.is_none() {
        return out;
    }
    if let Some(i) = interruptions {
        let line = interruption_line(i);
        let _ = writeln!(
            out,
            "{}",
            if i.stopped < i.count {
                paint.yellow(&line)
            } else {
                line
            }
        );
    }
    if let Some(d) = distractors {
        let line = distractor_line(d);
        let _ = writeln!(
            out,
            "{}",
            if d.false_stops > 0 || d.spurious_replies > 0 {
                paint.yellow(&line)
            } else {
                line
            }
        );
    }
    let _ = writeln!(
        out,
        "  {:<18}{:>7}{:>9}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}",
        "(s)", "events", "mean", "min", "p50", "p90", "p95", "p99", "max"
    );
    if let Some(i) = interruptions {
        summary_row(&mut out, "stop latency", i.stop_latency.as_ref());
        summary_row(&mut out, "signal latency", i.signal_latency.as_ref());
        summary_row(&mut out, "reply after barge", i.reply_latency.as_ref());
    }
    if let Some(m) = agent {
        summary_row(&mut out, "agent ASR TTFB", m.asr_ttfb.as_ref());
        summary_row(&mut out, "agent LLM TTFB", m.llm_ttfb.as_ref());
        summary_row(&mut out, "agent TTS TTFB", m.tts_ttfb.as_ref());
        summary_row(&mut out, "VAD wait (RTVI)", m.vad_wait.as_ref());
    }
    out
}

/// Who talked: "4 users", "50 users in stages 30s:10,…", "312 conversations arriving at
/// 2/s, 3 turns each", with the shard for a shard.
pub fn load_text(summary: &RunSummary) -> String {
    let users = summary.run.users;
    let whole = summary.config.num_clients;
    let who = match &summary.config.load {
        LoadShape::Closed => text::count(users, "user"),
        LoadShape::Stages { stages, preset } => {
            let stages: Vec<String> = stages
                .iter()
                .map(|s| format!("{}s:{}", s.duration_s, s.target))
                .collect();
            let preset = preset
                .as_ref()
                .map_or(String::new(), |p| format!(" ({p} preset)"));
            format!(
                "{} in stages {}{preset}",
                text::count(users, "user"),
                stages.join(",")
            )
        }
        LoadShape::Open {
            arrival_rate,
            turns_per_conversation,
            ..
        } => format!(
            "{} arriving at {arrival_rate}/s, {} each",
            text::count(users, "conversation"),
            text::count(*turns_per_conversation, "turn")
        ),
    };
    match &summary.shard {
        Some(shard) => format!(
            "shard {}/{} of run {}: {who} of {whole}",
            shard.index, shard.count, shard.run_id
        ),
        None if !summary.shards.is_empty() => {
            format!("{who}, merged from {} shard(s)", summary.shards.len())
        }
        None => who,
    }
}

/// The final summary of one run (one concurrency level, or a merged run), for the console.
pub fn summary_text(summary: &RunSummary, dir: &std::path::Path, paint: Painter) -> String {
    let r = &summary.results;
    let mut out = String::new();
    let command = if summary.shards.is_empty() {
        "bench"
    } else {
        "merge"
    };
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "voiceperf {command}: {}, {:.0} s metrics window, {} connection(s), {} protocol{}",
            load_text(summary),
            summary.run.metrics_end_at - summary.run.metrics_start_at,
            r.total_clients,
            summary.config.protocol,
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
    let lines = accuracy_lines(r, &summary.self_check);
    if let Some(line) = &lines.ci {
        let _ = writeln!(out, "  latency {line} s");
    }
    if let Some(line) = &lines.self_check {
        let _ = writeln!(out, "  self-check: {line}");
    }
    if lines.thin_legend {
        let _ = writeln!(out, "  {}", text::THIN_LEGEND);
    }
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
    out.push_str(&barge_in_text(summary, paint));
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
        "self-check{}: send lateness {}; receive lag {}",
        if summary.shards.is_empty() {
            ""
        } else {
            " (the worst shard's)"
        },
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
    if !summary.shards.is_empty() {
        let _ = writeln!(
            out,
            "\n  {:<6}{:<24}{:>6}{:>7}{:>8}{:>8}{:>8}{:>8}{:>14}  trusted",
            "shard", "host", "users", "turns", "p50", "p95", "p99", "errors", "lateness p99"
        );
        for row in shard_rows(summary) {
            let _ = writeln!(
                out,
                "  {:<6}{:<24}{:>6}{:>7}{:>8}{:>8}{:>8}{:>8}{:>14}  {}",
                row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9]
            );
        }
    }
    let _ = writeln!(out, "\nresults: {}", dir.display());
    out
}

/// The columns of the per-shard table of a merged run.
pub const SHARD_COLUMNS: [&str; 10] = [
    "shard",
    "host",
    "users",
    "turns",
    "p50 (s)",
    "p95 (s)",
    "p99 (s)",
    "errors",
    "send lateness p99 (ms)",
    "trusted",
];

/// The per-shard table of a merged run, one row of [`SHARD_COLUMNS`] per shard.
pub fn shard_rows(summary: &RunSummary) -> Vec<[String; 10]> {
    summary
        .shards
        .iter()
        .map(|row| {
            let l = row.latency.as_ref();
            let trusted = match (&row.self_check.warning, &row.clock.warning, row.complete) {
                (None, None, true) => "yes".to_string(),
                (None, None, false) => "unfinished".to_string(),
                (Some(_), _, _) => "no: overloaded".to_string(),
                (None, Some(_), _) => "no: clock".to_string(),
            };
            [
                row.index.to_string(),
                row.host.clone(),
                row.users.to_string(),
                l.map_or(0, |s| s.count).to_string(),
                text::secs(l.map(|s| s.p50)),
                text::secs(l.map(|s| s.p95)),
                text::secs(l.map(|s| s.p99)),
                row.errors.to_string(),
                row.self_check
                    .send_lateness_ms
                    .as_ref()
                    .map_or("–".into(), |s| format!("{:.2}", s.p99)),
                trusted,
            ]
        })
        .collect()
}

/// The accuracy lines every format prints under the latency table, without markup: the
/// latency's confidence intervals, the self-check's error bound, and whether the thin-tail
/// legend is needed.
pub struct AccuracyLines {
    /// "95 % CI (bootstrap, …): p50 1.119–1.189 · …" (seconds, no unit).
    pub ci: Option<String>,
    /// The self-check's "latency error ≤ 6.1 ms (p99 over turns; tolerance 11.7 ms)".
    pub self_check: Option<String>,
    /// Some latency row has too few turns for its p99: print [`text::THIN_LEGEND`].
    pub thin_legend: bool,
}

/// The [`AccuracyLines`] of a level's results and self-check.
pub fn accuracy_lines(r: &SummaryResults, check: &SelfCheck) -> AccuracyLines {
    let rows = [
        r.latency.as_ref(),
        r.audible_latency.as_ref(),
        r.last_chunk_latency.as_ref(),
        r.seed_latency.as_ref(),
    ];
    AccuracyLines {
        ci: r
            .latency_ci
            .as_ref()
            .and_then(|c| text::ci_line(c, |v| format!("{v:.3}"))),
        self_check: check.error_bound_ms.map(|bound| {
            format!(
                "latency error ≤ {bound:.1} ms (p99 over turns; tolerance {:.1} ms)",
                check.limit_ms
            )
        }),
        thin_legend: text::needs_thin_legend(rows.iter().flatten().map(|s| s.count)),
    }
}
