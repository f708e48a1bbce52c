//! Checks on an analysis: every number it reports is finite (issue 15: `TTFB: 1e308` made a
//! mean of `inf`, printed as `inf` and written as `null`).

use voiceperf::analyze::Analysis;
use voiceperf::serverlog::parse::MetricKind;
use voiceperf::stats::Summary;

/// Every number a summary holds, with where it is (for the message).
fn summary_numbers(at: &str, s: &Option<Summary>, out: &mut Vec<(String, f64)>) {
    if let Some(s) = s {
        for (name, v) in [
            ("mean", s.mean),
            ("stddev", s.stddev),
            ("min", s.min),
            ("p50", s.p50),
            ("p90", s.p90),
            ("p95", s.p95),
            ("p99", s.p99),
            ("max", s.max),
        ] {
            out.push((format!("{at}.{name}"), v));
        }
    }
}

/// Asserts that every sample, mean, percentile and seed number of `a` is finite.
pub fn assert_all_finite(a: &Analysis) {
    let mut numbers = Vec::new();
    for kind in MetricKind::ALL {
        let key = kind.key();
        summary_numbers(
            &format!("percentiles.{key}"),
            a.percentiles.get(kind),
            &mut numbers,
        );
        for (name, set) in [
            ("overall_average", &a.seed.overall_average),
            ("overall_p95", &a.seed.overall_p95),
        ] {
            if let Some(v) = set.get(kind) {
                numbers.push((format!("seed.{name}.{key}"), *v));
            }
        }
        for c in &a.clients {
            let at = format!("{}.{key}", c.stream_id);
            summary_numbers(&at, c.summaries.get(kind), &mut numbers);
            if let Some(m) = c.means.get(kind) {
                numbers.push((format!("{at}.mean"), *m));
            }
            for v in c.samples.get(kind) {
                numbers.push((format!("{at}.sample"), *v));
            }
        }
    }
    summary_numbers("agent_turn_latency", &a.agent_turn_latency, &mut numbers);
    if let Some(j) = &a.join {
        let o = &j.overall;
        for (part, s) in [
            ("latency", &o.latency),
            ("vad_wait", &o.vad_wait),
            ("asr", &o.asr),
            ("llm_ttfb", &o.llm_ttfb),
            ("tts_ttfb", &o.tts_ttfb),
            ("transport_other", &o.transport_other),
        ] {
            summary_numbers(&format!("join.overall.{part}"), s, &mut numbers);
        }
        let breakdowns = j
            .clients
            .iter()
            .map(|c| (format!("join.{}.mean", c.stream_id), &c.mean))
            .chain(j.turns.iter().map(|t| {
                (
                    format!("join.{} turn {}", t.stream_id, t.turn),
                    &t.breakdown,
                )
            }));
        for (at, b) in breakdowns {
            for (part, v) in [
                ("latency", b.latency),
                ("vad_wait", b.vad_wait),
                ("asr", b.asr),
                ("llm_ttfb", b.llm_ttfb),
                ("tts_ttfb", b.tts_ttfb),
                ("transport_other", b.transport_other),
            ] {
                if let Some(v) = v {
                    numbers.push((format!("{at}.{part}"), v));
                }
            }
        }
    }
    for (at, v) in numbers {
        assert!(v.is_finite(), "{at} = {v}");
    }
}
