//! Concurrency sweep and CI gates: one row per `--clients` level, the highest level meeting
//! `--slo-p95`, and the `--fail-p95` / `--max-error-rate` checks that make the exit status
//! non-zero.

use std::path::Path;

use crate::clock::local_timestamp;
use crate::runfolder::results::{RunSummary, SweepLevel, SweepSummary};
use crate::text;

/// Gate settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gates {
    /// `--slo-p95` (s).
    pub slo_p95: Option<f64>,
    /// `--fail-p95` (s).
    pub fail_p95: Option<f64>,
    /// `--max-error-rate` (0–1).
    pub max_error_rate: Option<f64>,
}

/// The columns of the latency-vs-users table, as the report and summary.md head them.
pub const TABLE_COLUMNS: [&str; 11] = [
    "users",
    "turns",
    "p50 (s)",
    "p90 (s)",
    "p95 (s)",
    "p99 (s)",
    "error rate",
    "reverse barge-ins",
    "glitches",
    "SLO",
    "trusted",
];

/// The same columns, abbreviated to fit a terminal.
pub const TABLE_COLUMNS_SHORT: [&str; 11] = [
    "users", "turns", "p50", "p90", "p95", "p99", "errors", "rbi", "glitches", "slo", "trusted",
];

/// One level's row of the latency-vs-users table: the values every renderer shows, and the
/// two verdicts it styles its own way.
#[derive(Debug, Clone)]
pub struct TableRow<'a> {
    /// The level.
    pub level: &'a SweepLevel,
    /// Users, turns, p50–p99 (s), error rate, reverse barge-ins, glitches.
    pub values: [String; 9],
    /// Whether the level met `--slo-p95` (`None` without an SLO or a measurement).
    pub meets_slo: Option<bool>,
    /// Whether the load generator kept its schedule at this level.
    pub trusted: bool,
}

/// The rows of the latency-vs-users table, in sweep order.
pub fn table_rows(sweep: &SweepSummary) -> Vec<TableRow<'_>> {
    sweep
        .levels
        .iter()
        .map(|level| {
            let l = level.latency.as_ref();
            TableRow {
                level,
                values: [
                    level.clients.to_string(),
                    level.turns.to_string(),
                    text::secs(l.map(|s| s.p50)),
                    text::secs(l.map(|s| s.p90)),
                    text::secs(l.map(|s| s.p95)),
                    text::secs(l.map(|s| s.p99)),
                    text::percent(level.error_rate),
                    level.reverse_barge_ins.to_string(),
                    level.glitches.to_string(),
                ],
                meets_slo: level.meets_slo,
                trusted: level.trustworthy,
            }
        })
        .collect()
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
        gate_failures,
    }
}
