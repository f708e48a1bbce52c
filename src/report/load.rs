//! Load over time: the run cut into time bins, each with its connected users and the
//! p50/p95 latency of the turns whose speech ended in it, and the capacity knee — the first
//! time p95 breaks the SLO (`--slo-p95`) or departs from p50 — drawn as two charts on one
//! time axis.

use crate::report::svg::{Chart, Scale, Swatch};
use crate::runfolder::results::{ClientResults, RunSummary, TurnOutcome};
use crate::stats;

/// Bins a run is cut into (fewer when it is short).
const BINS: usize = 40;
/// Shortest bin (s).
const MIN_BIN_S: f64 = 2.0;
/// Fewest replied turns for a bin to have percentiles.
const MIN_TURNS: usize = 5;

/// One time bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    /// Start (s since the metrics window opened).
    pub start: f64,
    /// End (s since the metrics window opened).
    pub end: f64,
    /// Most connections open at once during the bin.
    pub users: usize,
    /// Replied turns whose speech ended in the bin.
    pub turns: usize,
    /// Their p50 and p95 latency (s), with at least [`MIN_TURNS`] of them.
    pub p50: Option<f64>,
    /// See `p50`.
    pub p95: Option<f64>,
}

/// Why the knee is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KneeReason {
    /// p95 went above `--slo-p95`.
    Slo,
    /// p95 departed from p50 (the spread tripled from where the run started).
    Spread,
}

/// The capacity knee: the first bin where latency broke down.
#[derive(Debug, Clone, PartialEq)]
pub struct Knee {
    /// The bin.
    pub bin: Bin,
    /// Why.
    pub reason: KneeReason,
    /// The p95 − p50 spread the run started with (s).
    pub baseline_spread: f64,
}

impl Knee {
    /// The knee in one sentence.
    pub fn describe(&self, slo: Option<f64>) -> String {
        let (p50, p95) = (self.bin.p50.unwrap_or(0.0), self.bin.p95.unwrap_or(0.0));
        let why = match (self.reason, slo) {
            (KneeReason::Slo, Some(slo)) => format!("p95 {p95:.3} s broke the SLO of {slo} s"),
            _ => format!(
                "p95 {p95:.3} s departed from p50 {p50:.3} s (spread {:.3} s, from {:.3} s at the start)",
                p95 - p50,
                self.baseline_spread
            ),
        };
        format!(
            "capacity knee at {:.0}–{:.0} s with {} user(s) connected: {why}",
            self.bin.start, self.bin.end, self.bin.users
        )
    }
}

/// The run cut into bins, from its first connection to its last turn.
pub fn bins(summary: &RunSummary, clients: &[ClientResults]) -> Vec<Bin> {
    let origin = summary.run.metrics_start_at;
    let turns: Vec<(f64, f64)> = clients
        .iter()
        .flat_map(|c| c.turns.iter())
        .filter(|t| t.outcome == TurnOutcome::Replied || t.latency_s.is_some())
        .filter_map(|t| Some((t.speech_end_at? - origin, t.latency_s?)))
        .collect();
    let open: Vec<(f64, f64)> = clients
        .iter()
        .filter_map(|c| {
            let from = c.connected_at? - origin;
            let to = c.closed_at.map_or(f64::INFINITY, |t| t - origin);
            Some((from, to))
        })
        .collect();
    let start = open
        .iter()
        .map(|o| o.0)
        .chain(turns.iter().map(|t| t.0))
        .fold(f64::INFINITY, f64::min);
    let end = turns
        .iter()
        .map(|t| t.0)
        .chain([summary.run.metrics_end_at - origin])
        .fold(f64::NEG_INFINITY, f64::max);
    if !(start.is_finite() && end.is_finite() && end > start) {
        return Vec::new();
    }
    let width = ((end - start) / BINS as f64).max(MIN_BIN_S);
    let count = ((end - start) / width).ceil().max(1.0) as usize;
    (0..count)
        .map(|i| {
            let (lo, hi) = (start + i as f64 * width, start + (i + 1) as f64 * width);
            let latencies: Vec<f64> = turns
                .iter()
                .filter(|t| t.0 >= lo && t.0 < hi)
                .map(|t| t.1)
                .collect();
            let sorted = stats::sorted_finite(&latencies);
            let enough = sorted.len() >= MIN_TURNS;
            Bin {
                start: lo,
                end: hi,
                users: most_open(&open, lo, hi),
                turns: sorted.len(),
                p50: enough
                    .then(|| stats::percentile_sorted(&sorted, 50.0))
                    .flatten(),
                p95: enough
                    .then(|| stats::percentile_sorted(&sorted, 95.0))
                    .flatten(),
            }
        })
        .collect()
}

/// Most of the `open` intervals overlapping at once within `[lo, hi)`.
fn most_open(open: &[(f64, f64)], lo: f64, hi: f64) -> usize {
    let mut edges: Vec<(f64, i64)> = open
        .iter()
        .filter(|(from, to)| *from < hi && *to > lo)
        .flat_map(|&(from, to)| [(from.max(lo), 1), (to.min(hi), -1)])
        .collect();
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i64, 0i64);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

/// The first bin where p95 breaks `slo`, or else where the p95 − p50 spread departs from the
/// run's starting spread (the median of the first quarter of the bins with percentiles): above
/// three times it and by at least 50 ms, in that bin and the next one (if any). `None` when
/// latency held.
pub fn knee(bins: &[Bin], slo: Option<f64>) -> Option<Knee> {
    let measured: Vec<&Bin> = bins.iter().filter(|b| b.p95.is_some()).collect();
    if let Some(slo) = slo
        && let Some(bin) = measured.iter().find(|b| b.p95.is_some_and(|p| p > slo))
    {
        return Some(Knee {
            bin: (*bin).clone(),
            reason: KneeReason::Slo,
            baseline_spread: 0.0,
        });
    }
    let spread = |b: &Bin| b.p95.unwrap_or(0.0) - b.p50.unwrap_or(0.0);
    let head = measured.len().div_ceil(4).max(1);
    if measured.len() < 3 {
        return None;
    }
    let start: Vec<f64> = measured[..head].iter().map(|b| spread(b)).collect();
    let baseline = stats::percentile(&start, 50.0).unwrap_or(0.0).max(0.0);
    let departed = |b: &Bin| {
        let s = spread(b);
        s > 3.0 * baseline && s - baseline >= 0.05
    };
    (head..measured.len())
        .find(|&i| departed(measured[i]) && measured.get(i + 1).is_none_or(|next| departed(next)))
        .map(|i| Knee {
            bin: measured[i].clone(),
            reason: KneeReason::Spread,
            baseline_spread: baseline,
        })
}

/// p50 and p95 per bin, with the knee and the SLO marked.
pub fn latency_chart(bins: &[Bin], knee: Option<&Knee>, slo: Option<f64>) -> Option<String> {
    let measured: Vec<&Bin> = bins.iter().filter(|b| b.p95.is_some()).collect();
    if measured.is_empty() {
        return None;
    }
    let (t_lo, t_hi) = (bins.first()?.start, bins.last()?.end);
    let top = measured
        .iter()
        .filter_map(|b| b.p95)
        .chain(slo)
        .fold(0.0_f64, f64::max);
    let mut chart = Chart::new(
        "load-latency",
        "Latency over time (p50 and p95 per time bin)",
        Scale::nice(t_lo, t_hi, 8),
        "time since the metrics window opened (s)",
        Scale::nice(0.0, top, 6),
        "latency (s)",
    );
    let mid = |b: &Bin| (b.start + b.end) / 2.0;
    for (class, name, value) in [
        ("s-p50", "p50", (|b: &Bin| b.p50) as fn(&Bin) -> Option<f64>),
        ("s-p95", "p95", |b: &Bin| b.p95),
    ] {
        let points: Vec<(f64, f64)> = measured
            .iter()
            .filter_map(|b| Some((mid(b), value(b)?)))
            .collect();
        chart.line(&points, class);
        for b in &measured {
            if let Some(v) = value(b) {
                let tip = format!(
                    "{:.0}–{:.0} s: {name} {v:.3} s over {} turns, {} user(s) connected",
                    b.start, b.end, b.turns, b.users
                );
                chart.point(mid(b), v, Swatch::Dot, class, Some(&tip));
            }
        }
        chart.legend(class, name, Swatch::Line);
    }
    if let Some(slo) = slo {
        chart.hrule(slo, "rule", Some(&format!("SLO p95 ≤ {slo} s")));
    }
    if let Some(knee) = knee {
        chart.vrule(
            knee.bin.start,
            "rule-warn",
            Some(&format!("knee: {} users", knee.bin.users)),
        );
    }
    Some(chart.render())
}

/// Connected users per bin, with the knee marked.
pub fn users_chart(bins: &[Bin], knee: Option<&Knee>) -> Option<String> {
    let (t_lo, t_hi) = (bins.first()?.start, bins.last()?.end);
    let most = bins.iter().map(|b| b.users).max().unwrap_or(0);
    let mut chart = Chart::new(
        "load-users",
        "Users connected over time (most at once per time bin)",
        Scale::nice(t_lo, t_hi, 8),
        "time since the metrics window opened (s)",
        Scale::nice_count(most as f64, 5),
        "users",
    )
    .size(760.0, 220.0);
    let mut points: Vec<(f64, f64)> = bins.iter().map(|b| (b.start, b.users as f64)).collect();
    if let Some(last) = bins.last() {
        points.push((last.end, last.users as f64));
    }
    chart.step_line(&points, "s-latency");
    if let Some(knee) = knee {
        chart.vrule(
            knee.bin.start,
            "rule-warn",
            Some(&format!("knee: {} users", knee.bin.users)),
        );
    }
    Some(chart.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(i: usize, users: usize, p50: f64, p95: f64) -> Bin {
        Bin {
            start: i as f64 * 10.0,
            end: (i + 1) as f64 * 10.0,
            users,
            turns: 20,
            p50: Some(p50),
            p95: Some(p95),
        }
    }

    #[test]
    fn the_knee_is_where_p95_departs_from_p50() {
        let mut bins: Vec<Bin> = (0..8).map(|i| bin(i, 10 * (i + 1), 1.0, 1.1)).collect();
        // One noisy bin alone is no knee; two in a row are.
        bins[3].p95 = Some(1.6);
        bins[5].p95 = Some(1.7);
        bins[6].p95 = Some(2.4);
        let knee = knee(&bins, None).unwrap();
        assert_eq!(knee.reason, KneeReason::Spread);
        assert_eq!(knee.bin.users, 60);
        assert!((knee.baseline_spread - 0.1).abs() < 1e-9);
        assert!(knee.describe(None).contains("60 user(s)"));
        // A steady run has none.
        let steady: Vec<Bin> = (0..8).map(|i| bin(i, 50, 1.0, 1.12)).collect();
        assert_eq!(super::knee(&steady, None), None);
    }

    #[test]
    fn an_slo_break_comes_first() {
        let bins: Vec<Bin> = (0..6)
            .map(|i| bin(i, i + 1, 1.0, 1.0 + 0.1 * i as f64))
            .collect();
        let knee = knee(&bins, Some(1.25)).unwrap();
        assert_eq!(knee.reason, KneeReason::Slo);
        assert_eq!(knee.bin.users, 4);
        assert!(knee.describe(Some(1.25)).contains("broke the SLO"));
    }

    #[test]
    fn users_connected_at_once() {
        let open = [(0.0, 5.0), (1.0, 2.0), (1.5, 9.0), (6.0, 7.0)];
        assert_eq!(most_open(&open, 0.0, 10.0), 3);
        assert_eq!(most_open(&open, 5.5, 10.0), 2);
        assert_eq!(most_open(&open, 9.5, 10.0), 0);
    }
}
