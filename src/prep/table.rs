//! The per-file table `prep` prints: input format, duration in and out, what was trimmed,
//! clipping, the number of warnings, status; then each warning in full.

use std::fmt::Write as _;

use super::{FileResult, FileStatus};
use crate::term::Painter;
use crate::text::printable;

const HEADERS: [&str; 9] = [
    "query",
    "input",
    "in",
    "out",
    "lead cut",
    "trail cut",
    "clipped",
    "warnings",
    "status",
];
/// Index of the status column, the last one.
const STATUS: usize = HEADERS.len() - 1;

/// The table for `files`, one line per file, followed by warnings.
pub fn render(files: &[FileResult], paint: &Painter) -> String {
    let rows: Vec<[String; 9]> = files.iter().map(row).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let line = |cells: &[String; 9], text: &mut String, status: &str| {
        for (i, cell) in cells.iter().enumerate().take(STATUS) {
            let pad = widths[i] - cell.chars().count();
            // Text columns left-aligned, numbers right-aligned.
            if i < 2 {
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(text, "{}{cell}  ", " ".repeat(pad));
            }
        }
        let _ = writeln!(text, "{status}");
    };
    let headers = HEADERS.map(String::from);
    line(&headers, &mut text, &paint.bold(&headers[STATUS]));
    for (file, cells) in files.iter().zip(&rows) {
        let status = &cells[STATUS];
        let status = match file.status {
            FileStatus::Failed => paint.red(status),
            FileStatus::Unchanged => paint.dim(status),
            FileStatus::Prepared | FileStatus::WouldPrepare => paint.green(status),
        };
        line(cells, &mut text, &status);
    }
    for file in files {
        let name = if file.output.is_empty() {
            &file.input
        } else {
            &file.output
        };
        for warning in file.entry.iter().flat_map(|e| &e.warnings) {
            let _ = writeln!(
                text,
                "{}: {}: {}",
                paint.yellow("warning"),
                printable(name),
                printable(warning)
            );
        }
    }
    text
}

fn row(file: &FileResult) -> [String; 9] {
    // A failed recording has no query: name the recording.
    let name = if file.status == FileStatus::Failed || file.output.is_empty() {
        &file.input
    } else {
        &file.output
    };
    let name = printable(name).into_owned();
    let status = match file.status {
        FileStatus::Prepared => "prepared",
        FileStatus::Unchanged => "unchanged",
        FileStatus::WouldPrepare => "would prepare",
        FileStatus::Failed => "failed",
    };
    match &file.entry {
        Some(e) => [
            name,
            e.input.describe(),
            format!("{:.2} s", e.input.duration_s),
            format!("{:.2} s", e.duration_s),
            format!("{:.0} ms", e.trimmed_leading_ms),
            format!("{:.0} ms", e.trimmed_trailing_ms),
            e.clipped_samples.to_string(),
            e.warnings.len().to_string(),
            status.to_string(),
        ],
        None => [
            name,
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            status.to_string(),
        ],
    }
}
