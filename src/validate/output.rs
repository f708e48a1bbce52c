//! The human-readable report: one line per file (✓, ⚠ or ✗ with the rule that failed, its
//! value and the fix), folder-level findings, then the totals.

use std::fmt::Write as _;

use super::results::{Check, FileReport, Finding, Status, ValidationReport};
use crate::dataset::manifest::MANIFEST_FILE;
use crate::term::Painter;
use crate::text::printable;

/// Renders `report` as text, colours from `painter`; with `quiet` only problems and totals.
pub fn render(report: &ValidationReport, painter: &Painter, quiet: bool) -> String {
    let mut out = String::new();
    let mut current_dataset: Option<&str> = None;
    for file in &report.files {
        let shown = !quiet || file.status != Status::Pass;
        if shown && current_dataset != Some(file.dataset.as_str()) {
            current_dataset = Some(&file.dataset);
            let _ = writeln!(
                out,
                "{}",
                painter.bold(&dataset_header(report, &file.dataset))
            );
        }
        if shown {
            render_file(&mut out, file, painter);
        }
    }
    for finding in &report.folder_findings {
        if !quiet || matches!(finding.status, Status::Warning | Status::Fail) {
            render_finding(&mut out, finding, painter);
        }
    }
    let _ = writeln!(out, "{}", totals_line(report, painter));
    out
}

fn dataset_header(report: &ValidationReport, dataset: &str) -> String {
    let files: Vec<&FileReport> = report
        .files
        .iter()
        .filter(|f| f.dataset == dataset)
        .collect();
    let with_manifest = files.iter().any(|f| {
        f.checks
            .iter()
            .any(|c| c.rule == super::Rule::Manifest && c.status != Status::Skipped)
    });
    let shown = if dataset.is_empty() || dataset == "." {
        "./"
    } else {
        dataset
    };
    format!(
        "{}{} — {} .wav file{}{}",
        printable(shown),
        if shown.ends_with('/') { "" } else { "/" },
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if with_manifest {
            format!(", checked against {MANIFEST_FILE}")
        } else {
            String::new()
        }
    )
}

fn mark(status: Status, painter: &Painter) -> String {
    match status {
        Status::Pass => painter.green("✓"),
        Status::Warning => painter.yellow("⚠"),
        Status::Fail => painter.red("✗"),
        Status::Note | Status::Skipped => painter.dim("·"),
    }
}

/// A check's message and fix, control characters escaped (they may quote file names).
fn problem_text(check: &Check) -> String {
    let text = match &check.fix {
        Some(fix) => format!("{} — {fix}", check.message),
        None => check.message.clone(),
    };
    printable(&text).into_owned()
}

fn render_file(out: &mut String, file: &FileReport, painter: &Painter) {
    let problems = file.problems();
    let Some((first, rest)) = problems.split_first() else {
        let _ = writeln!(
            out,
            "{} {}  {}",
            mark(Status::Pass, painter),
            printable(&file.name),
            painter.dim(&summary(file))
        );
        return;
    };
    let _ = writeln!(
        out,
        "{} {}: {}",
        mark(first.status, painter),
        printable(&file.name),
        problem_text(first)
    );
    for check in rest {
        let _ = writeln!(
            out,
            "    {} {}",
            mark(check.status, painter),
            problem_text(check)
        );
    }
}

/// The key figures of a passing file: duration, trailing and leading silence, peak.
fn summary(file: &FileReport) -> String {
    let m = &file.measurements;
    let mut parts = Vec::new();
    if let Some(d) = m.duration_s {
        parts.push(format!("{d:.2} s"));
    }
    if let Some(t) = m.trailing_ms {
        parts.push(format!("trailing {t:.0} ms"));
    }
    if let Some(l) = m.leading_ms {
        parts.push(format!("leading {l:.0} ms"));
    }
    if let Some(p) = m.peak_dbfs {
        parts.push(format!("peak {p:.1} dBFS"));
    }
    parts.join(", ")
}

fn render_finding(out: &mut String, finding: &Finding, painter: &Painter) {
    let text = match &finding.fix {
        Some(fix) => format!("{} — {fix}", finding.message),
        None => finding.message.clone(),
    };
    let _ = writeln!(
        out,
        "{} {}: {}",
        mark(finding.status, painter),
        printable(&finding.path),
        printable(&text)
    );
}

fn totals_line(report: &ValidationReport, painter: &Painter) -> String {
    let t = &report.totals;
    let mut line = format!(
        "{} file{}: {} passed, {} with warnings, {} failed",
        t.files,
        if t.files == 1 { "" } else { "s" },
        t.passed,
        t.warnings,
        t.failed
    );
    let folder_problems = t.folder_failures + t.folder_warnings;
    if folder_problems > 0 {
        let _ = write!(
            line,
            "; {} folder-level problem{}",
            folder_problems,
            if folder_problems == 1 { "" } else { "s" }
        );
    }
    if report.passed {
        let verdict = if t.warnings + t.folder_warnings > 0 {
            " — benchmark-ready (see the warnings)"
        } else {
            " — benchmark-ready"
        };
        painter.green(&format!("{line}{verdict}"))
    } else if t.failed + t.folder_failures == 0 {
        painter.red(&format!(
            "{line} — not benchmark-ready (--strict: warnings fail)"
        ))
    } else {
        painter.red(&format!(
            "{line} — not benchmark-ready: fix the failures above"
        ))
    }
}
