//! Concurrency sweep: the latency-vs-users table every renderer shows, one row per
//! `--clients` level. The gates that judge the levels are in [`crate::summary::gates`].

use crate::runfolder::results::{SweepLevel, SweepSummary};
use crate::text;

pub use crate::summary::gates::{DEFAULT_MIN_TURNS, Gates, evaluate};

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
