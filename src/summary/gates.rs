//! CI gates and the sweep table: one row per `--clients` level (or one merged run), the
//! highest level meeting `--slo-p95`, and the `--fail-p95` / `--max-error-rate` /
//! `--fail-stop-p95` / `--max-false-stop-rate` checks that make the exit status non-zero.
//! Shared by `bench` and `merge`.

use std::path::Path;

use crate::clock::local_timestamp;
use crate::runfolder::results::{RunSummary, SweepLevel, SweepSummary};

/// Gate settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gates {
    /// `--slo-p95` (s).
    pub slo_p95: Option<f64>,
    /// `--fail-p95` (s).
    pub fail_p95: Option<f64>,
    /// `--max-error-rate` (0–1).
    pub max_error_rate: Option<f64>,
    /// `--fail-stop-p95` (s).
    pub fail_stop_p95: Option<f64>,
    /// `--max-false-stop-rate` (0–1).
    pub max_false_stop_rate: Option<f64>,
    /// `--min-turns`: a gate over fewer measured turns (or events, for the barge-in gates)
    /// is not evaluated and fails; 0 evaluates every gate however few turns support it.
    pub min_turns: usize,
}

/// Default of `--min-turns`: the fewest samples that support a p95 (one sample beyond it;
/// see [`crate::stats::min_samples_for`]).
pub const DEFAULT_MIN_TURNS: usize = 20;

/// The failure of a gate that too few turns or events support: `None` when `count` is
/// enough.
pub fn too_few(gate: &str, count: usize, what: &str, min_turns: usize) -> Option<String> {
    (count < min_turns).then(|| {
        format!(
            "gate {gate} not evaluated: {count} {what} < --min-turns {min_turns} (run longer or \
             with more users, or lower --min-turns)"
        )
    })
}

/// Builds the sweep table from each level's summary and folder, and checks the gates.
pub fn evaluate(levels: &[(&RunSummary, &Path)], root: &Path, gates: Gates) -> SweepSummary {
    let mut rows = Vec::new();
    let mut gate_failures = Vec::new();
    for (summary, dir) in levels {
        let clients = summary.config.num_clients;
        let latency = summary.results.latency.clone();
        let p95 = latency.as_ref().map(|l| l.p95);
        let meets_slo = gates.slo_p95.and_then(|slo| p95.map(|p95| p95 <= slo));
        let turns = latency.as_ref().map_or(0, |l| l.count);
        let short = |gate: &str, count: usize, what: &str| {
            too_few(gate, count, what, gates.min_turns).map(|m| format!("{clients} user(s): {m}"))
        };
        if let Some(limit) = gates.fail_p95 {
            if let Some(failure) = short("--fail-p95", turns, "turns") {
                gate_failures.push(failure);
            } else {
                match p95 {
                    Some(p95) if p95 > limit => gate_failures.push(format!(
                        "{clients} user(s): p95 latency {p95:.3} s > --fail-p95 {limit} s"
                    )),
                    Some(_) => {}
                    None => gate_failures.push(format!(
                        "{clients} user(s): no turn measured, so --fail-p95 {limit} s cannot pass"
                    )),
                }
            }
        }
        let error_rate = summary.errors.error_rate;
        if let Some(limit) = gates.max_error_rate {
            if let Some(failure) = short("--max-error-rate", summary.errors.attempted, "turns") {
                gate_failures.push(failure);
            } else if error_rate > limit {
                gate_failures.push(format!(
                    "{clients} user(s): error rate {:.2} % > --max-error-rate {:.2} %",
                    error_rate * 100.0,
                    limit * 100.0
                ));
            }
        }
        let interruptions = summary.results.interruptions.as_ref();
        let stop_p95 = interruptions
            .and_then(|i| i.stop_latency.as_ref())
            .map(|l| l.p95);
        if let Some(limit) = gates.fail_stop_p95 {
            let events = interruptions.map_or(0, |i| i.count);
            let stopped = interruptions.map_or(0, |i| i.stopped);
            match stop_p95 {
                _ if short("--fail-stop-p95", events, "barge-ins").is_some() => {
                    gate_failures.extend(short("--fail-stop-p95", events, "barge-ins"));
                }
                _ if stopped < events => gate_failures.push(format!(
                    "{clients} user(s): {} of {events} barge-in(s) did not stop the reply, so --fail-stop-p95 {limit} s cannot pass",
                    events - stopped
                )),
                Some(p95) if p95 > limit => gate_failures.push(format!(
                    "{clients} user(s): p95 stop latency {p95:.3} s > --fail-stop-p95 {limit} s"
                )),
                Some(_) => {}
                None => gate_failures.push(format!(
                    "{clients} user(s): no barge-in measured, so --fail-stop-p95 {limit} s cannot pass"
                )),
            }
        }
        let false_stop_rate = summary
            .results
            .distractors
            .as_ref()
            .and_then(|d| d.false_stop_rate);
        if let Some(limit) = gates.max_false_stop_rate {
            let events = summary.results.distractors.as_ref().map_or(0, |d| d.count);
            match false_stop_rate {
                _ if short("--max-false-stop-rate", events, "distractors").is_some() => {
                    gate_failures.extend(short("--max-false-stop-rate", events, "distractors"));
                }
                Some(rate) if rate > limit => gate_failures.push(format!(
                    "{clients} user(s): false-stop rate {:.2} % > --max-false-stop-rate {:.2} %",
                    rate * 100.0,
                    limit * 100.0
                )),
                Some(_) => {}
                None => gate_failures.push(format!(
                    "{clients} user(s): no distractor measured, so --max-false-stop-rate cannot pass"
                )),
            }
        }
        rows.push(SweepLevel {
            clients,
            dir: dir.strip_prefix(root).unwrap_or(dir).display().to_string(),
            turns,
            latency,
            error_rate,
            reverse_barge_ins: summary
                .results
                .reverse_barge_in_detection
                .total_reverse_barge_ins,
            glitches: summary.results.glitch_detection.total_glitches,
            trustworthy: summary.self_check.trustworthy,
            meets_slo,
            stop_p95,
            false_stop_rate,
        });
    }
    let max_clients_meeting_slo = rows
        .iter()
        .filter(|r| r.meets_slo == Some(true))
        .map(|r| r.clients)
        .max();
    SweepSummary {
        timestamp: local_timestamp(),
        tool_version: crate::VERSION.to_string(),
        levels: rows,
        slo_p95: gates.slo_p95,
        max_clients_meeting_slo,
        fail_p95: gates.fail_p95,
        max_error_rate: gates.max_error_rate,
        fail_stop_p95: gates.fail_stop_p95,
        max_false_stop_rate: gates.max_false_stop_rate,
        min_turns: Some(gates.min_turns),
        gate_failures,
    }
}
