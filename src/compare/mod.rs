//! `voiceperf compare BASE CANDIDATE`: two run folders side by side. For each latency
//! percentile: both values with their bootstrap confidence intervals, the difference with its
//! own interval, and whether it is significant (the interval leaves out zero); as text for the
//! console or Markdown for a pull request. `--fail-if-slower PCT` turns a significant
//! slow-down of more than PCT % into exit status 3 for CI.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde::Serialize;

use crate::runfolder::{Contents, Level, RunFolder};
use crate::stats::{self, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Interval};
use crate::term::{Painter, Stream};
use crate::{Outcome, text};

/// The percentiles compared, in order.
pub const PERCENTILES: [(&str, f64); 4] =
    [("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0)];

/// Confidence level of every interval `compare` prints.
pub const CONFIDENCE: f64 = 0.95;

/// How the comparison is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Text,
    /// A Markdown table for a pull request or a CI summary.
    Markdown,
    /// The comparison as JSON.
    Json,
}

/// Validated options of `voiceperf compare`.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The reference run folder.
    pub base: PathBuf,
    /// The run folder compared with it.
    pub candidate: PathBuf,
    /// Output format.
    pub format: Format,
    /// Fail (exit 3) when a percentile is significantly slower by more than this many per cent.
    pub fail_if_slower: Option<f64>,
}

/// One run's in-window latencies.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Its folder.
    pub dir: String,
    /// Turns with a measured latency.
    pub turns: usize,
    /// Their latencies (s), sorted.
    #[serde(skip)]
    pub latencies: Vec<f64>,
}

/// How a percentile changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Significantly slower (the difference's interval lies above zero).
    Slower,
    /// Significantly faster (the interval lies below zero).
    Faster,
    /// No significant difference (the interval holds zero).
    Same,
    /// Too few turns in one run to say.
    TooFewTurns,
}

impl Change {
    fn word(self) -> &'static str {
        match self {
            Change::Slower => "slower",
            Change::Faster => "faster",
            Change::Same => "no significant change",
            Change::TooFewTurns => "too few turns to tell",
        }
    }
}

/// One percentile of both runs.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `p50`, `p95`, …
    pub name: &'static str,
    /// Its value in the base run (s).
    pub base: Option<f64>,
    /// Its 95 % bootstrap interval in the base run.
    pub base_ci: Option<Interval>,
    /// Whether the base run has enough turns for it ([`stats::min_samples_for`]).
    pub base_supported: bool,
    /// Its value in the candidate run (s).
    pub candidate: Option<f64>,
    /// Its interval in the candidate run.
    pub candidate_ci: Option<Interval>,
    /// Whether the candidate run has enough turns for it.
    pub candidate_supported: bool,
    /// Candidate minus base (s).
    pub difference: Option<f64>,
    /// The difference as a fraction of the base value.
    pub relative: Option<f64>,
    /// 95 % bootstrap interval of the difference.
    pub difference_ci: Option<Interval>,
    /// Fewest turns the percentile needs in each run.
    pub min_turns: usize,
    /// The verdict.
    pub change: Change,
}

/// The comparison of two runs.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The reference run.
    pub base: Side,
    /// The run compared with it.
    pub candidate: Side,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// One row per percentile.
    pub rows: Vec<Row>,
    /// `--fail-if-slower`, in per cent.
    pub fail_if_slower_pct: Option<f64>,
    /// Why the gate failed (empty when it passed or was not asked for).
    pub gate_failures: Vec<String>,
    /// Why the gate could not decide (too few turns), when it could not.
    pub undecided: Option<String>,
}

/// Reads one run folder's in-window latencies (one bench level; a sweep is refused with the
/// folders of its levels).
pub fn load_side(dir: &Path) -> anyhow::Result<Side> {
    let folder = RunFolder::load(dir, Level::load)?;
    let level = match folder.contents {
        Contents::Single(level) => level,
        Contents::Sweep { sweep, .. } => {
            let levels: Vec<String> = sweep
                .levels
                .iter()
                .map(|l| dir.join(&l.dir).display().to_string())
                .collect();
            bail!(
                "{} is a concurrency sweep: compare one level at a time, e.g. {}",
                dir.display(),
                levels.join(" or ")
            );
        }
    };
    for problem in folder.problems.iter().chain(&level.unreadable) {
        eprintln!("warning: {problem} (left out)");
    }
    if level.clients.is_empty() {
        bail!(
            "{}: no latency_results_*.json in it: not a bench or run folder",
            dir.display()
        );
    }
    let latencies = stats::sorted_finite(
        &level
            .clients
            .iter()
            .flat_map(|c| c.turns.iter())
            .filter(|t| t.in_window)
            .filter_map(|t| t.latency_s)
            .collect::<Vec<_>>(),
    );
    Ok(Side {
        dir: dir.display().to_string(),
        turns: latencies.len(),
        latencies,
    })
}

/// Compares two loaded runs.
pub fn compare_sides(base: Side, candidate: Side, fail_if_slower: Option<f64>) -> Comparison {
    let rows: Vec<Row> = PERCENTILES
        .iter()
        .enumerate()
        .map(|(i, &(name, p))| {
            let seed = BOOTSTRAP_SEED.wrapping_add(i as u64);
            let min_turns = stats::min_samples_for(p);
            let value = |s: &Side| stats::percentile_sorted(&s.latencies, p);
            let ci = |s: &Side| {
                stats::bootstrap_percentile_ci(
                    &s.latencies,
                    p,
                    CONFIDENCE,
                    BOOTSTRAP_RESAMPLES,
                    seed,
                )
            };
            let (b, c) = (value(&base), value(&candidate));
            let difference = b.zip(c).map(|(b, c)| c - b);
            let difference_ci = stats::bootstrap_difference_ci(
                &base.latencies,
                &candidate.latencies,
                p,
                CONFIDENCE,
                BOOTSTRAP_RESAMPLES,
                seed,
            );
            let base_supported = base.turns >= min_turns;
            let candidate_supported = candidate.turns >= min_turns;
            let change = match difference_ci {
                _ if !(base_supported && candidate_supported) => Change::TooFewTurns,
                None => Change::TooFewTurns,
                Some(ci) if ci.low > 0.0 => Change::Slower,
                Some(ci) if ci.high < 0.0 => Change::Faster,
                Some(_) => Change::Same,
            };
            Row {
                name,
                base: b,
                base_ci: ci(&base),
                base_supported,
                candidate: c,
                candidate_ci: ci(&candidate),
                candidate_supported,
                difference,
                relative: b
                    .zip(difference)
                    .filter(|(b, _)| *b > 0.0)
                    .map(|(b, d)| d / b),
                difference_ci,
                min_turns,
                change,
            }
        })
        .collect();
    let mut gate_failures = Vec::new();
    let mut undecided = None;
    if let Some(pct) = fail_if_slower {
        for row in &rows {
            if row.change == Change::Slower
                && let Some(rel) = row.relative
                && rel * 100.0 > pct
            {
                gate_failures.push(format!(
                    "{} latency is {:.1} % slower ({} → {}), significantly, more than the {pct} % --fail-if-slower allows",
                    row.name,
                    rel * 100.0,
                    text::secs_unit(row.base),
                    text::secs_unit(row.candidate),
                ));
            }
        }
        if rows.iter().all(|r| r.change == Change::TooFewTurns) {
            undecided = Some(format!(
                "--fail-if-slower cannot decide: {} and {} turn(s); even p50 needs {} in each run",
                base.turns,
                candidate.turns,
                stats::min_samples_for(50.0)
            ));
        }
    }
    Comparison {
        base,
        candidate,
        confidence: CONFIDENCE,
        resamples: BOOTSTRAP_RESAMPLES,
        rows,
        fail_if_slower_pct: fail_if_slower,
        gate_failures,
        undecided,
    }
}

/// Compares the two folders of `options`.
pub fn compare(options: &CompareOptions) -> anyhow::Result<Comparison> {
    let base = load_side(&options.base)?;
    let candidate = load_side(&options.candidate)?;
    Ok(compare_sides(base, candidate, options.fail_if_slower))
}

/// `value [low, high]` with a `*` when too few turns support it.
fn with_ci(value: Option<f64>, ci: Option<Interval>, supported: bool) -> String {
    let mark = if supported || value.is_none() {
        ""
    } else {
        "*"
    };
    match (value, ci) {
        (Some(v), Some(ci)) => format!("{v:.3}{mark} [{:.3}, {:.3}]", ci.low, ci.high),
        (v, _) => format!("{}{mark}", text::secs(v)),
    }
}

fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

fn difference_cell(row: &Row) -> String {
    let Some(d) = row.difference else {
        return text::DASH.into();
    };
    let mut cell = signed(d);
    if let Some(rel) = row.relative {
        cell.push_str(&format!(" ({:+.1} %)", rel * 100.0));
    }
    if let Some(ci) = row.difference_ci {
        cell.push_str(&format!(" [{}, {}]", signed(ci.low), signed(ci.high)));
    }
    cell
}

fn footnote(c: &Comparison) -> Option<String> {
    let marked: Vec<String> = c
        .rows
        .iter()
        .filter(|r| !(r.base_supported && r.candidate_supported))
        .map(|r| format!("{} needs {}", r.name, r.min_turns))
        .collect();
    (!marked.is_empty()).then(|| {
        format!(
            "* too few turns to support this percentile ({}; at least one turn must lie beyond it)",
            marked.join(", ")
        )
    })
}

/// The comparison as console text.
pub fn text_output(c: &Comparison, paint: Painter) -> String {
    let mut out = format!(
        "voiceperf compare: base {} ({}) vs candidate {} ({})\n",
        c.base.dir,
        text::count(c.base.turns, "turn"),
        c.candidate.dir,
        text::count(c.candidate.turns, "turn"),
    );
    out.push_str(&format!(
        "latency (s), [{:.0} % bootstrap confidence interval, {} resamples]\n",
        c.confidence * 100.0,
        c.resamples
    ));
    let cells: Vec<[String; 5]> = c
        .rows
        .iter()
        .map(|r| {
            [
                r.name.to_string(),
                with_ci(r.base, r.base_ci, r.base_supported),
                with_ci(r.candidate, r.candidate_ci, r.candidate_supported),
                difference_cell(r),
                r.change.word().to_string(),
            ]
        })
        .collect();
    let header = ["", "base", "candidate", "difference", ""].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&cells) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let mut s = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            if i == 4 {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad + 3));
            }
        }
        s.trim_end().to_string()
    };
    out.push_str(&line(&header));
    out.push('\n');
    for (row, r) in cells.iter().zip(&c.rows) {
        let text = line(row);
        let text = match r.change {
            Change::Slower => paint.red(&text),
            Change::Faster => paint.green(&text),
            _ => text,
        };
        out.push_str(&text);
        out.push('\n');
    }
    if let Some(note) = footnote(c) {
        out.push_str(&note);
        out.push('\n');
    }
    out
}

/// The comparison as a Markdown table (for a pull request or a CI job summary).
pub fn markdown_output(c: &Comparison) -> String {
    let mut out = String::from("### Latency: base vs candidate\n\n");
    out.push_str(&format!(
        "Base `{}` ({}), candidate `{}` ({}). Seconds, with {:.0} % bootstrap confidence intervals.\n\n",
        c.base.dir,
        text::count(c.base.turns, "turn"),
        c.candidate.dir,
        text::count(c.candidate.turns, "turn"),
        c.confidence * 100.0
    ));
    out.push_str("| | base | candidate | difference | |\n|---|---:|---:|---:|---|\n");
    for r in &c.rows {
        let change = match r.change {
            Change::Slower => "🔺 **slower**".to_string(),
            Change::Faster => "🟢 faster".to_string(),
            other => other.word().to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.name,
            with_ci(r.base, r.base_ci, r.base_supported),
            with_ci(r.candidate, r.candidate_ci, r.candidate_supported),
            difference_cell(r),
            change
        ));
    }
    if let Some(note) = footnote(c) {
        out.push_str(&format!("\n{}\n", note.replacen('*', "\\*", 1)));
    }
    if let Some(pct) = c.fail_if_slower_pct {
        out.push('\n');
        if c.gate_failures.is_empty() && c.undecided.is_none() {
            out.push_str(&format!(
                "✅ No percentile is significantly more than {pct} % slower.\n"
            ));
        }
        for failure in c.gate_failures.iter().chain(&c.undecided) {
            out.push_str(&format!("❌ {failure}\n"));
        }
    }
    out
}

/// Runs `voiceperf compare`: prints the comparison; exit 3 when `--fail-if-slower` failed,
/// 1 when it could not decide.
pub fn run(options: &CompareOptions) -> anyhow::Result<Outcome> {
    let comparison = compare(options)?;
    match options.format {
        Format::Text => print!(
            "{}",
            text_output(&comparison, Painter::for_stream(Stream::Stdout))
        ),
        Format::Markdown => print!("{}", markdown_output(&comparison)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&comparison)?),
    }
    for failure in &comparison.gate_failures {
        eprintln!("error: {failure}");
    }
    if let Some(undecided) = &comparison.undecided {
        eprintln!("error: {undecided}");
    }
    Ok(if !comparison.gate_failures.is_empty() {
        Outcome::GateFailed
    } else {
        Outcome::failed_if(comparison.undecided.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(latencies: Vec<f64>) -> Side {
        Side {
            dir: "x".into(),
            turns: latencies.len(),
            latencies: stats::sorted_finite(&latencies),
        }
    }

    fn spread(n: usize, centre: f64) -> Vec<f64> {
        (0..n).map(|i| centre + (i % 11) as f64 * 0.01).collect()
    }

    #[test]
    fn a_shift_is_significant_and_noise_is_not() {
        let c = compare_sides(side(spread(120, 1.0)), side(spread(120, 1.2)), Some(10.0));
        let p50 = &c.rows[0];
        assert_eq!(p50.change, Change::Slower);
        assert!((p50.difference.unwrap() - 0.2).abs() < 1e-9);
        assert!(p50.difference_ci.unwrap().contains(0.2));
        assert!(!c.gate_failures.is_empty());

        let c = compare_sides(side(spread(120, 1.0)), side(spread(110, 1.0)), Some(1.0));
        assert!(
            c.rows.iter().all(|r| r.change == Change::Same),
            "{:?}",
            c.rows
        );
        assert!(c.gate_failures.is_empty() && c.undecided.is_none());
    }

    #[test]
    fn too_few_turns_are_marked_and_cannot_pass_a_gate() {
        let c = compare_sides(side(vec![1.0]), side(vec![2.0]), Some(5.0));
        assert!(c.rows.iter().all(|r| r.change == Change::TooFewTurns));
        assert!(c.gate_failures.is_empty());
        assert!(c.undecided.is_some());
        let c = compare_sides(side(spread(30, 1.0)), side(spread(30, 1.5)), None);
        assert_eq!(c.rows[2].change, Change::Slower, "p95 from 30 turns");
        assert_eq!(c.rows[3].change, Change::TooFewTurns, "p99 needs 100");
        let text = text_output(&c, Painter::plain());
        assert!(text.contains("* too few turns"), "{text}");
        assert!(text.contains("p99 needs 100"), "{text}");
    }
}
