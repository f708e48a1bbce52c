//! The report's charts, each an SVG string with a stable element id: latency CDF and
//! histogram, latency over time per user, where the latency goes (per turn and on average),
//! the concurrency sweep, and the load generator's self-check.

use crate::analyze::join::{Breakdown, JoinReport, JoinedTurn};
use crate::report::svg::{self, Chart, Scale, Swatch, format_number, nice_step, text_width};
use crate::runfolder::results::{
    ClientResults, ReverseBargeIn, RunSummary, SweepSummary, TurnOutcome, TurnRecord,
};
use crate::stats::{self, Summary};

/// Picks one statistic out of a summary.
type Stat = fn(&Summary) -> f64;

/// Users drawn with their own connecting line; beyond this only points are drawn.
const MAX_USER_LINES: usize = 12;
/// Per-turn breakdown bars drawn at most (the most recent turns beyond this are left out).
const MAX_BREAKDOWN_BARS: usize = 400;

/// The CSS colour class of a user (1-based, as bench numbers them; 0 from a hand-edited file
/// gets the first colour rather than an arithmetic overflow).
fn user_colour(user: usize) -> String {
    format!("u{}", user.saturating_sub(1) % 10)
}

/// One turn with the connection it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct TurnRef<'a> {
    /// The connection.
    pub client: &'a ClientResults,
    /// The turn.
    pub turn: &'a TurnRecord,
}

impl TurnRef<'_> {
    /// When the turn is placed on the time axis (unix s): its speech end, else its start.
    pub fn at(&self) -> f64 {
        self.turn.speech_end_at.unwrap_or(self.turn.started_at)
    }

    /// Whether the turn failed (no reply in time, or the connection broke).
    pub fn failed(&self) -> bool {
        matches!(
            self.turn.outcome,
            TurnOutcome::NoReply | TurnOutcome::Disconnected
        )
    }

    /// A one-line description for tooltips.
    pub fn describe(&self) -> String {
        let t = self.turn;
        let mut text = format!(
            "user {} · {} · turn {} ({})",
            self.client.user, self.client.stream_id, t.turn, t.file
        );
        match t.latency_s {
            Some(l) => text.push_str(&format!(": latency {l:.3} s")),
            None => text.push_str(&format!(": {}", outcome_name(t.outcome))),
        }
        if let Some(a) = t.audible_latency_s {
            text.push_str(&format!(", audible {a:.3} s"));
        }
        match t.reverse_barge_in {
            Some(ReverseBargeIn::DuringSpeech) => {
                text.push_str(" · reverse barge-in (reply during speech)")
            }
            Some(ReverseBargeIn::BelowThreshold) => {
                text.push_str(" · reverse barge-in (below threshold)")
            }
            None => {}
        }
        if t.glitches > 0 {
            text.push_str(&format!(
                " · {} glitch(es), {:.0} ms starved",
                t.glitches, t.starved_ms
            ));
        }
        if !t.in_window {
            text.push_str(" · outside the metrics window (not counted)");
        }
        text
    }
}

/// The name of a turn outcome as in the JSON.
pub fn outcome_name(outcome: TurnOutcome) -> &'static str {
    match outcome {
        TurnOutcome::Replied => "replied",
        TurnOutcome::NoReply => "no reply",
        TurnOutcome::Disconnected => "disconnected",
        TurnOutcome::Stopped => "stopped",
    }
}

/// Every turn of every connection, in time order.
pub fn all_turns(clients: &[ClientResults]) -> Vec<TurnRef<'_>> {
    let mut turns: Vec<TurnRef> = clients
        .iter()
        .flat_map(|client| {
            client
                .turns
                .iter()
                .map(move |turn| TurnRef { client, turn })
        })
        .collect();
    turns.sort_by(|a, b| a.at().total_cmp(&b.at()));
    turns
}

/// The in-window turns whose reply audio arrived: the turns every latency statistic covers.
pub fn measured_turns<'a>(turns: &[TurnRef<'a>]) -> Vec<TurnRef<'a>> {
    turns
        .iter()
        .filter(|t| t.turn.in_window && t.turn.latency_s.is_some())
        .copied()
        .collect()
}

/// Points of an empirical CDF (value, % of samples ≤ value).
fn cdf_points(values: &[f64]) -> Vec<(f64, f64)> {
    let sorted = stats::sorted_finite(values);
    let n = sorted.len() as f64;
    let mut points = Vec::with_capacity(sorted.len() + 1);
    if let Some(&first) = sorted.first() {
        points.push((first, 0.0));
    }
    for (i, &v) in sorted.iter().enumerate() {
        points.push((v, (i + 1) as f64 / n * 100.0));
    }
    points
}

fn percent_scale() -> Scale {
    Scale::with_ticks(
        0.0,
        100.0,
        [0.0, 25.0, 50.0, 75.0, 100.0]
            .iter()
            .map(|&v| (v, format!("{v:.0} %")))
            .collect(),
    )
}

fn range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Latency CDF: what share of turns answered within x seconds, with p50/p95/p99 marked.
pub fn latency_cdf(summary: &RunSummary, turns: &[TurnRef]) -> Option<String> {
    let measured = measured_turns(turns);
    let latency: Vec<f64> = measured.iter().filter_map(|t| t.turn.latency_s).collect();
    let audible: Vec<f64> = measured
        .iter()
        .filter_map(|t| t.turn.audible_latency_s)
        .collect();
    let (lo, hi) = range(latency.iter().chain(&audible).copied())?;
    let mut chart = Chart::new(
        "latency-cdf",
        "Latency distribution (CDF)",
        Scale::nice(lo, hi, 6),
        "latency: first bot audio − end of user speech (s)",
        percent_scale(),
        "turns answered within (%)",
    );
    chart.step_line(&cdf_points(&latency), "s-latency");
    chart.legend("s-latency", "latency", Swatch::Line);
    if !audible.is_empty() {
        chart.step_line(&cdf_points(&audible), "s-audible");
        chart.legend("s-audible", "audible latency", Swatch::Dashed);
    }
    if let Some(s) = &summary.results.latency {
        for (name, v) in [("p50", s.p50), ("p95", s.p95), ("p99", s.p99)] {
            chart.vrule(v, "rule", Some(&format!("{name} {v:.3} s")));
        }
    }
    Some(chart.render())
}

/// Most bars a histogram gets (24 are aimed at; the rest is rounding).
const MAX_BINS: f64 = 100.0;

/// Latency histogram, stacked by kind of turn: normal, with a glitch, reverse barge-in.
pub fn latency_histogram(summary: &RunSummary, turns: &[TurnRef]) -> Option<String> {
    let measured = measured_turns(turns);
    let (lo, hi) = range(measured.iter().filter_map(|t| t.turn.latency_s))?;
    let width = nice_step((svg::span(lo, hi) / 24.0).max(0.001));
    let first = ((lo / width).floor() * width).max(f64::MIN);
    let bins = (svg::steps_between(first, hi, width).floor() + 1.0).clamp(1.0, MAX_BINS) as usize;
    // Counts per bin: [normal, glitch, reverse barge-in].
    let mut counts = vec![[0usize; 3]; bins];
    for t in &measured {
        let Some(l) = t.turn.latency_s else { continue };
        let bin = (svg::steps_between(first, l, width).floor() as usize).min(bins - 1);
        let kind = if t.turn.reverse_barge_in.is_some() {
            2
        } else if t.turn.glitches > 0 {
            1
        } else {
            0
        };
        counts[bin][kind] += 1;
    }
    let tallest = counts
        .iter()
        .map(|c| c.iter().sum::<usize>())
        .max()
        .unwrap_or(1);
    let mut chart = Chart::new(
        "latency-histogram",
        "Latency histogram",
        Scale::nice(first, (first + bins as f64 * width).min(f64::MAX), 6),
        &if width < 1.0 {
            format!("latency (s), bins of {} ms", format_number(width * 1000.0))
        } else {
            format!("latency (s), bins of {} s", format_number(width))
        },
        Scale::nice_count(tallest as f64, 5),
        "turns",
    );
    let classes = ["bar-normal", "bar-glitch", "bar-rbi"];
    let names = ["normal", "with a glitch", "reverse barge-in"];
    for (i, c) in counts.iter().enumerate() {
        let x0 = (first + i as f64 * width).min(f64::MAX);
        let x1 = (x0 + width).min(f64::MAX);
        let mut base = 0.0;
        for kind in 0..3 {
            if c[kind] == 0 {
                continue;
            }
            let top = base + c[kind] as f64;
            let tip = format!("{:.3}–{:.3} s: {} {} turn(s)", x0, x1, c[kind], names[kind]);
            chart.rect(
                x0 + (x1 - x0) * 0.04,
                base,
                x0 + (x1 - x0) * 0.96,
                top,
                classes[kind],
                Some(&tip),
            );
            base = top;
        }
    }
    for kind in 0..3 {
        if kind == 0 || counts.iter().any(|c| c[kind] > 0) {
            chart.legend(classes[kind], names[kind], Swatch::Box);
        }
    }
    let threshold = summary.config.threshold;
    let (x_lo, x_hi) = (chart.x_scale().lo, chart.x_scale().hi);
    if threshold > x_lo && threshold < x_hi {
        chart.vrule(
            threshold,
            "rule-warn",
            Some(&format!("reverse barge-in threshold {threshold} s")),
        );
    }
    Some(chart.render())
}

/// Latency of every turn over the run, one colour per user; glitches, reverse barge-ins and
/// failed turns marked; turns outside the metrics window hollow.
pub fn latency_timeline(summary: &RunSummary, turns: &[TurnRef]) -> Option<String> {
    if turns.is_empty() {
        return None;
    }
    let origin = summary.run.metrics_start_at;
    let window_end = summary.run.metrics_end_at - origin;
    let (t_lo, t_hi) = range(
        turns
            .iter()
            .map(|t| t.at() - origin)
            .chain([0.0, window_end]),
    )?;
    let (l_lo, l_hi) = range(turns.iter().filter_map(|t| t.turn.latency_s)).unwrap_or((0.0, 1.0));
    // Failed turns without a latency sit on a line above the highest latency.
    let any_failed = turns
        .iter()
        .any(|t| t.failed() && t.turn.latency_s.is_none());
    let failed_y = l_hi + (l_hi - l_lo).max(0.1) * 0.12;
    let y = Scale::nice(l_lo.min(0.0), if any_failed { failed_y } else { l_hi }, 6);
    let mut chart = Chart::new(
        "latency-timeline",
        "Latency over time, per user",
        Scale::nice(t_lo, t_hi, 8),
        "time since the metrics window opened (s), at each turn's end of speech",
        y,
        "latency (s)",
    );
    chart.band(
        0.0,
        window_end,
        "window",
        Some("metrics window: turns starting here are counted"),
    );
    let users: std::collections::BTreeSet<usize> = turns.iter().map(|t| t.client.user).collect();
    if users.len() <= MAX_USER_LINES {
        for &user in &users {
            let points: Vec<(f64, f64)> = turns
                .iter()
                .filter(|t| t.client.user == user)
                .filter_map(|t| Some((t.at() - origin, t.turn.latency_s?)))
                .collect();
            chart.line(&points, &format!("user-line {}", user_colour(user)));
        }
    }
    let mut marked = [false; 4];
    for t in turns {
        let x = t.at() - origin;
        let tip = t.describe();
        let color = user_colour(t.client.user);
        let Some(latency) = t.turn.latency_s else {
            if t.failed() {
                chart.point(x, failed_y, Swatch::Cross, "mark-failed", Some(&tip));
                marked[0] = true;
            }
            continue;
        };
        let outside = if t.turn.in_window { "" } else { " outside" };
        if t.turn.reverse_barge_in.is_some() {
            chart.point(
                x,
                latency,
                Swatch::Triangle,
                &format!("mark-rbi{outside}"),
                Some(&tip),
            );
            marked[1] = true;
        } else {
            chart.point(
                x,
                latency,
                Swatch::Dot,
                &format!("dot {color}{outside}"),
                Some(&tip),
            );
        }
        if t.turn.glitches > 0 {
            chart.point(x, latency, Swatch::Ring, "mark-glitch", Some(&tip));
            marked[2] = true;
        }
        if t.failed() {
            // The reply started, then the connection broke.
            chart.point(x, latency, Swatch::Cross, "mark-failed", Some(&tip));
            marked[0] = true;
        }
        marked[3] |= !t.turn.in_window;
    }
    if any_failed {
        chart.hrule(failed_y, "rule-faint", None);
    }
    if users.len() <= MAX_USER_LINES {
        for &user in users.iter().take(6) {
            chart.legend(
                &format!("dot {}", user_colour(user)),
                &format!("user {user}"),
                Swatch::Dot,
            );
        }
    }
    let marks = [
        ("mark-failed", "no reply / disconnected", Swatch::Cross),
        ("mark-rbi", "reverse barge-in", Swatch::Triangle),
        ("mark-glitch", "glitch", Swatch::Ring),
        ("dot outside", "not counted", Swatch::Dot),
    ];
    for (i, (class, label, swatch)) in marks.into_iter().enumerate() {
        if marked[i] {
            chart.legend(class, label, swatch);
        }
    }
    Some(chart.render())
}

/// The parts of a breakdown, in pipeline order: (key, label, CSS class, value).
pub fn parts<T>(b: &Breakdown<T>) -> [(&'static str, &'static str, &'static str, &T); 5] {
    [
        ("vad_wait", "VAD wait", "c-vad", &b.vad_wait),
        ("asr", "ASR", "c-asr", &b.asr),
        ("llm_ttfb", "LLM TTFB", "c-llm", &b.llm_ttfb),
        ("tts_ttfb", "TTS TTFB", "c-tts", &b.tts_ttfb),
        (
            "transport_other",
            "transport / other",
            "c-other",
            &b.transport_other,
        ),
    ]
}

/// Where the latency goes, turn by turn: one stacked bar per in-window turn (VAD wait, ASR,
/// LLM TTFB, TTS TTFB, transport/other) with the measured latency as a dot.
pub fn breakdown_per_turn(join: &JoinReport) -> Option<String> {
    let mut turns: Vec<&JoinedTurn> = join
        .turns
        .iter()
        .filter(|t| t.in_window && t.breakdown.latency.is_some())
        .collect();
    if turns.is_empty() {
        return None;
    }
    turns.sort_by(|a, b| {
        a.speech_end_at
            .unwrap_or(0.0)
            .total_cmp(&b.speech_end_at.unwrap_or(0.0))
    });
    let dropped = turns.len().saturating_sub(MAX_BREAKDOWN_BARS);
    let turns = &turns[dropped..];
    let mut lo: f64 = 0.0;
    let mut hi: f64 = 0.0;
    for t in turns {
        let values = parts(&t.breakdown).map(|p| p.3.unwrap_or(0.0));
        hi = hi
            .max(values.iter().filter(|v| **v > 0.0).sum())
            .max(t.breakdown.latency.unwrap_or(0.0));
        lo = lo.min(values.iter().filter(|v| **v < 0.0).sum());
    }
    let n = turns.len();
    let step = nice_step(n as f64 / 8.0).max(1.0);
    let ticks = (0..)
        .map(|i| i as f64 * step)
        .take_while(|&v| v < n as f64)
        .map(|v| (v + 0.5, format!("{}", v as usize + 1)))
        .collect();
    let title = if dropped > 0 {
        format!("Where the latency goes, per turn (last {n} turns)")
    } else {
        "Where the latency goes, per turn".to_string()
    };
    let mut chart = Chart::new(
        "latency-breakdown",
        &title,
        Scale::with_ticks(0.0, n as f64, ticks),
        "in-window turns in order of end of speech",
        Scale::nice(lo, hi, 6),
        "seconds",
    );
    let mut seen = [false; 5];
    for (i, t) in turns.iter().enumerate() {
        let x0 = i as f64 + 0.12;
        let x1 = i as f64 + 0.88;
        let (mut up, mut down) = (0.0, 0.0);
        let header = format!(
            "{} turn {} ({}): latency {:.3} s",
            t.stream_id,
            t.turn,
            t.file,
            t.breakdown.latency.unwrap_or(f64::NAN)
        );
        for (k, (_, label, class, value)) in parts(&t.breakdown).into_iter().enumerate() {
            let Some(v) = *value else { continue };
            let tip = format!("{header}\n{label}: {:.0} ms", v * 1000.0);
            if v >= 0.0 {
                chart.rect(x0, up, x1, up + v, class, Some(&tip));
                up += v;
            } else {
                chart.rect(x0, down, x1, down + v, class, Some(&tip));
                down += v;
            }
            seen[k] = true;
        }
        if let Some(latency) = t.breakdown.latency {
            chart.point(
                i as f64 + 0.5,
                latency,
                Swatch::Dot,
                "mark-total",
                Some(&header),
            );
        }
    }
    for (k, (_, label, class, _)) in parts(&Breakdown::<()>::default()).into_iter().enumerate() {
        if seen[k] {
            chart.legend(class, label, Swatch::Box);
        }
    }
    chart.legend("mark-total", "measured latency", Swatch::Dot);
    Some(chart.render())
}

/// Where the latency goes on average: one bar split into the mean of each part.
pub fn breakdown_mean(join: &JoinReport) -> Option<String> {
    let means = parts(&join.overall);
    let total: f64 = means
        .iter()
        .filter_map(|(_, _, _, s)| s.as_ref().map(|s| s.mean.max(0.0)))
        .sum();
    let latency = join.overall.latency.as_ref()?;
    let hi = total.max(latency.mean);
    let mut chart = Chart::new(
        "breakdown-mean",
        "Where the latency goes, on average",
        Scale::nice(0.0, hi, 8),
        "seconds (mean over in-window turns)",
        Scale::with_ticks(0.0, 1.0, Vec::new()),
        "",
    )
    .size(760.0, 150.0)
    .left_margin(24.0);
    let mut x = 0.0;
    for (_, label, class, summary) in &means {
        let Some(s) = summary else { continue };
        let v = s.mean;
        if v <= 0.0 {
            continue;
        }
        let tip = format!(
            "{label}: mean {:.0} ms, p50 {:.0} ms, p95 {:.0} ms over {} turns",
            v * 1000.0,
            s.p50 * 1000.0,
            s.p95 * 1000.0,
            s.count
        );
        chart.rect(x, 0.15, x + v, 0.85, class, Some(&tip));
        let width = chart.px(x + v) - chart.px(x);
        let long = format!("{label} {:.0} ms", v * 1000.0);
        let short = format!("{:.0}", v * 1000.0);
        if let Some(text) = [long, short]
            .into_iter()
            .find(|t| text_width(t) + 8.0 < width)
        {
            chart.label(x + v / 2.0, 0.5, &text, "bar-label");
        }
        chart.legend(class, label, Swatch::Box);
        x += v;
    }
    chart.vrule(
        latency.mean,
        "rule",
        Some(&format!("measured mean {:.3} s", latency.mean)),
    );
    Some(chart.render())
}

/// Latency percentiles against concurrent users, with the SLO and fail limits.
pub fn sweep_curve(sweep: &SweepSummary) -> Option<String> {
    let rows: Vec<(f64, &Summary)> = sweep
        .levels
        .iter()
        .filter_map(|l| Some((l.clients as f64, l.latency.as_ref()?)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let users: Vec<f64> = sweep.levels.iter().map(|l| l.clients as f64).collect();
    let (u_lo, u_hi) = range(users.iter().copied())?;
    let x = if u_hi / u_lo.max(1.0) >= 4.0 {
        Scale::log2_values(&users)
    } else {
        let mut s = Scale::nice(u_lo, u_hi, 6);
        s.ticks = users.iter().map(|&u| (u, format_number(u))).collect();
        s
    };
    let limits = [sweep.slo_p95, sweep.fail_p95];
    let (l_lo, l_hi) = range(
        rows.iter()
            .flat_map(|(_, s)| [s.p50, s.p99, s.max])
            .chain(limits.iter().flatten().copied()),
    )?;
    let mut chart = Chart::new(
        "sweep-curve",
        "Latency vs concurrent users",
        x,
        "concurrent users",
        Scale::nice(l_lo.min(0.0), l_hi, 6),
        "latency (s)",
    );
    let series: [(&str, &str, Stat); 3] = [
        ("s-p50", "p50", |s| s.p50),
        ("s-p95", "p95", |s| s.p95),
        ("s-p99", "p99", |s| s.p99),
    ];
    for (class, name, value) in series {
        let points: Vec<(f64, f64)> = rows.iter().map(|(u, s)| (*u, value(s))).collect();
        chart.line(&points, class);
        for (u, s) in &rows {
            let tip = format!(
                "{u} user(s): {name} {:.3} s over {} turns",
                value(s),
                s.count
            );
            chart.point(*u, value(s), Swatch::Dot, class, Some(&tip));
        }
        chart.legend(class, name, Swatch::Line);
    }
    for level in &sweep.levels {
        if !level.trustworthy
            && let Some(s) = &level.latency
        {
            chart.point(
                level.clients as f64,
                s.p99,
                Swatch::Ring,
                "mark-glitch",
                Some("the load generator was overloaded at this level: numbers not trustworthy"),
            );
        }
    }
    if let Some(slo) = sweep.slo_p95 {
        chart.hrule(slo, "rule", Some(&format!("SLO p95 ≤ {slo} s")));
    }
    if let Some(fail) = sweep.fail_p95 {
        chart.hrule(fail, "rule-warn", Some(&format!("fail above p95 {fail} s")));
    }
    Some(chart.render())
}

/// One latency CDF per concurrency level of a sweep.
pub fn sweep_cdf(levels: &[(usize, Vec<f64>)]) -> Option<String> {
    let (lo, hi) = range(levels.iter().flat_map(|(_, v)| v.iter().copied()))?;
    let mut chart = Chart::new(
        "sweep-cdf",
        "Latency distribution per concurrency level (CDF)",
        Scale::nice(lo, hi, 6),
        "latency (s)",
        percent_scale(),
        "turns answered within (%)",
    );
    for (i, (users, values)) in levels.iter().enumerate() {
        let class = format!("level-line u{}", i % 10);
        chart.step_line(&cdf_points(values), &class);
        let label = if *users == 1 {
            "1 user".to_string()
        } else {
            format!("{users} users")
        };
        chart.legend(&class, &label, Swatch::Line);
    }
    Some(chart.render())
}

/// The load generator's accuracy: chunk send lateness and receive-loop lag against the
/// trust limit.
pub fn self_check(summary: &RunSummary) -> Option<String> {
    let check = &summary.self_check;
    let series = [
        ("send lateness", "s-send", check.send_lateness_ms.as_ref()),
        ("receive lag", "s-recv", check.receive_lag_ms.as_ref()),
    ];
    if series.iter().all(|(_, _, s)| s.is_none()) {
        return None;
    }
    let stats: [(&str, Stat); 5] = [
        ("p50", |s| s.p50),
        ("p90", |s| s.p90),
        ("p95", |s| s.p95),
        ("p99", |s| s.p99),
        ("max", |s| s.max),
    ];
    let hi = series
        .iter()
        .filter_map(|(_, _, s)| s.map(|s| s.max))
        .fold(check.limit_ms, f64::max);
    let ticks = stats
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (i as f64 + 0.5, name.to_string()))
        .collect();
    let mut chart = Chart::new(
        "self-check",
        "Load generator self-check",
        Scale::with_ticks(0.0, stats.len() as f64, ticks),
        "percentile over every chunk sent / every receive-loop wake-up",
        Scale::nice(0.0, hi, 5),
        "milliseconds",
    )
    .size(760.0, 260.0);
    for (k, (name, class, summary)) in series.iter().enumerate() {
        let Some(s) = summary else { continue };
        for (i, (stat, value)) in stats.iter().enumerate() {
            let x0 = i as f64 + 0.1 + k as f64 * 0.4;
            let v = value(s);
            chart.rect(
                x0,
                0.0,
                x0 + 0.38,
                v,
                class,
                Some(&format!(
                    "{name} {stat}: {v:.2} ms over {} samples",
                    s.count
                )),
            );
        }
        chart.legend(class, name, Swatch::Box);
    }
    chart.hrule(
        check.limit_ms,
        "rule-warn",
        Some(&format!("trust limit for p99: {} ms", check.limit_ms)),
    );
    Some(chart.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_reaches_one_hundred_percent() {
        let points = cdf_points(&[3.0, 1.0, 2.0, f64::NAN]);
        assert_eq!(points.first(), Some(&(1.0, 0.0)));
        assert_eq!(points.last(), Some(&(3.0, 100.0)));
        assert_eq!(points.len(), 4);
        assert!(cdf_points(&[]).is_empty());
    }
}
