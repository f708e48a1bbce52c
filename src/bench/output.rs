//! The console: the final summary table of a run (shared with `merge`, in
//! [`crate::summary::text`]) and the latency-vs-users table of a sweep.

use std::fmt::Write as _;

use crate::bench::sweep::{self, TABLE_COLUMNS_SHORT};
use crate::runfolder::results::SweepSummary;
use crate::term::Painter;

pub use crate::summary::csv::{TURNS_CSV_COLUMNS, turns_csv};
pub use crate::summary::text::summary_text;

/// The latency-vs-users table of a sweep.
pub fn sweep_text(sweep: &SweepSummary, paint: Painter) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint.bold("latency vs concurrent users (s)"));
    let widths = [7, 7, 8, 8, 8, 8, 9, 6, 9];
    let mut header = String::from(" ");
    for (name, width) in TABLE_COLUMNS_SHORT.iter().zip(widths) {
        let _ = write!(header, "{name:>width$}");
    }
    let _ = writeln!(out, "{header}  {}", TABLE_COLUMNS_SHORT[9]);
    for row in sweep::table_rows(sweep) {
        let mut line = String::from(" ");
        for (value, width) in row.values.iter().zip(widths) {
            let _ = write!(line, "{value:>width$}");
        }
        let slo = match row.meets_slo {
            Some(true) => paint.green("met"),
            Some(false) => paint.red("missed"),
            None => String::new(),
        };
        let trust = if row.trusted {
            ""
        } else {
            " (generator overloaded)"
        };
        let _ = writeln!(out, "{line}  {slo}{trust}");
    }
    if let Some(slo) = sweep.slo_p95 {
        let _ = match sweep.max_clients_meeting_slo {
            Some(n) => writeln!(out, "highest level meeting p95 ≤ {slo} s: {n} users"),
            None => writeln!(out, "no level met p95 ≤ {slo} s"),
        };
    }
    for failure in &sweep.gate_failures {
        let _ = writeln!(out, "{}", paint.red(&format!("gate failed: {failure}")));
    }
    out
}
