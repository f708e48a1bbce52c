//! `voiceperf validate`: proves a dataset of query WAVs is benchmark-ready before a run, and
//! says how to fix each file that is not.
//!
//! The steps follow the data: [`dataset`] finds the `.wav` files of each folder and its
//! `manifest.json`, [`measure`] reads every file in parallel (RIFF structure, format, levels,
//! and speech bounds from prep's own detector), [`rules`] turns the measurements into checks
//! with fixes, [`report`] is the result (and the `--json` schema) and [`output`] prints it.
//! [`validate_dataset`] is the library entry point (no printing); [`run`] is the command.

pub mod dataset;
pub mod measure;
pub mod output;
pub mod results;
pub mod rules;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::audio::speech::SpeechConfig;
use crate::dataset::Limits;
use crate::term::{Painter, Stream};
use crate::{Outcome, fsutil};
pub use results::{Check, FileReport, Finding, Rule, Status, Totals, ValidationReport};

/// Validated options of `voiceperf validate`.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Dataset folders (walked recursively) or single WAV files.
    pub paths: Vec<PathBuf>,
    /// The limits every file is checked against.
    pub limits: Limits,
    /// Warnings fail the run too.
    pub strict: bool,
    /// Print the report as JSON instead of text.
    pub json: bool,
    /// Print only the files with problems, and the totals.
    pub quiet: bool,
}

impl ValidateOptions {
    /// Default limits, text output, for `paths`.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        ValidateOptions {
            paths,
            limits: Limits::default(),
            strict: false,
            json: false,
            quiet: false,
        }
    }
}

/// Checks every file of `options.paths` and returns the report; prints nothing. Bad files
/// and folders are findings in the report, never errors.
pub fn validate_dataset(options: &ValidateOptions) -> anyhow::Result<ValidationReport> {
    validate_with_progress(options, &ProgressBar::hidden())
}

fn validate_with_progress(
    options: &ValidateOptions,
    bar: &ProgressBar,
) -> anyhow::Result<ValidationReport> {
    let collected = dataset::collect(&options.paths);
    bar.set_length(collected.files.len() as u64);
    let facts: Vec<measure::FileFacts> = collected
        .files
        .par_iter()
        .map(|file| {
            let entry = collected.datasets[file.dataset]
                .manifest
                .as_ref()
                .and_then(|m| m.get(&file.name));
            // Look for speech the way prep did for this file.
            let config = SpeechConfig {
                vad_mode: entry.map_or(SpeechConfig::default().vad_mode, |e| e.settings.vad_mode),
                ..SpeechConfig::default()
            };
            let facts = measure::measure_file(&file.path, &config);
            bar.inc(1);
            facts
        })
        .collect();

    let mut by_audio: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, f) in facts.iter().enumerate() {
        if let Some(hash) = &f.audio_sha256 {
            by_audio.entry(hash.as_str()).or_default().push(i);
        }
    }
    let displays: Vec<String> = collected
        .files
        .iter()
        .map(|f| collected.display(f))
        .collect();
    let files: Vec<FileReport> = collected
        .files
        .iter()
        .zip(&facts)
        .enumerate()
        .map(|(i, (file, facts))| {
            let dataset = &collected.datasets[file.dataset];
            let entry = dataset.manifest.as_ref().and_then(|m| m.get(&file.name));
            let duplicates: Vec<&str> = facts
                .audio_sha256
                .as_deref()
                .and_then(|hash| by_audio.get(hash))
                .map(|same| {
                    same.iter()
                        .filter(|&&j| j != i)
                        .map(|&j| displays[j].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let ctx = rules::FileContext {
                dataset: &dataset.display,
                name: &file.name,
                has_manifest: dataset.manifest.is_some(),
                entry,
                duplicates: &duplicates,
            };
            let (measurements, checks) = rules::evaluate(facts, &ctx, &options.limits);
            let status = checks
                .iter()
                .map(|c| c.status)
                .filter(|s| matches!(s, Status::Warning | Status::Fail))
                .max()
                .unwrap_or(Status::Pass);
            FileReport {
                path: displays[i].clone(),
                dataset: dataset.display.clone(),
                name: file.name.clone(),
                status,
                source: entry.map(|e| e.source.clone()),
                measurements,
                checks,
            }
        })
        .collect();

    let count = |status| files.iter().filter(|f| f.status == status).count();
    let findings = collected.findings;
    let totals = Totals {
        files: files.len(),
        passed: count(Status::Pass),
        warnings: count(Status::Warning),
        failed: count(Status::Fail),
        folder_failures: findings.iter().filter(|f| f.status == Status::Fail).count(),
        folder_warnings: findings
            .iter()
            .filter(|f| f.status == Status::Warning)
            .count(),
    };
    let passed = !files.iter().any(|f| f.status.fails(options.strict))
        && !findings.iter().any(|f| f.status.fails(options.strict));
    Ok(ValidationReport {
        tool: "voiceperf validate".to_string(),
        version: crate::VERSION.to_string(),
        inputs: options.paths.iter().map(|p| fsutil::slash(p)).collect(),
        limits: options.limits,
        strict: options.strict,
        files,
        folder_findings: findings,
        totals,
        passed,
    })
}

/// Runs `voiceperf validate`: checks, prints one line per file and the totals (or the JSON
/// report), and fails when any file or folder failed (or, with `--strict`, warned).
pub fn run(options: &ValidateOptions) -> anyhow::Result<Outcome> {
    let bar = crate::term::progress_bar(0, options.quiet || options.json);
    let report = validate_with_progress(options, &bar)?;
    bar.finish_and_clear();
    let text = if options.json {
        let mut json = serde_json::to_string_pretty(&report).context("encoding the report")?;
        json.push('\n');
        json
    } else {
        output::render(&report, &Painter::for_stream(Stream::Stdout), options.quiet)
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("writing the report");
        }
        _ => {}
    }
    Ok(Outcome::failed_if(!report.passed))
}
