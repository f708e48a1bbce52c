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
        if let Some(limit) = gates.fail_p95 {
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
        let error_rate = summary.errors.error_rate;
        if let Some(limit) = gates.max_error_rate
            && error_rate > limit
        {
            gate_failures.push(format!(
                "{clients} user(s): error rate {:.2} % > --max-error-rate {:.2} %",
                error_rate * 100.0,
                limit * 100.0
            ));
        }
        let interruptions = summary.results.interruptions.as_ref();
        let stop_p95 = interruptions
            .and_then(|i| i.stop_latency.as_ref())
            .map(|l| l.p95);
        if let Some(limit) = gates.fail_stop_p95 {
            let events = interruptions.map_or(0, |i| i.count);
            let stopped = interruptions.map_or(0, |i| i.stopped);
            match stop_p95 {
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
            match false_stop_rate {
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
            turns: latency.as_ref().map_or(0, |l| l.count),
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
        gate_failures,
    }
}
