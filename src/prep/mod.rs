//! `voiceperf prep`: recordings in any format → benchmark-ready 16 kHz mono 16-bit WAV
//! queries that end where speech ends, plus the dataset manifest.
//!
//! The steps: [`plan`] finds the recordings and names the queries (refusing collisions),
//! [`process`] runs each through decode → mono → 16 kHz → speech bounds → trim → 16-bit in
//! parallel, outputs are written atomically, and [`manifest`] records what was made from what.
//! Recordings whose bytes and settings are unchanged since the last run are skipped.

pub mod plan;
pub mod process;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::manifest::{Manifest, ManifestEntry, PrepSettings};
use crate::fsutil;
use crate::interrupt::Interrupts;
use crate::prep::plan::Job;
use crate::term::{Painter, Stream};
use crate::text::printable;
use crate::{CliError, Outcome};

/// Validated options of `voiceperf prep`.
#[derive(Debug, Clone)]
pub struct PrepOptions {
    /// Recordings and folders to prepare.
    pub inputs: Vec<PathBuf>,
    /// Folder the queries and `manifest.json` go to.
    pub output_dir: PathBuf,
    /// How to prepare them.
    pub settings: PrepSettings,
    /// Redo files even when unchanged since the last run.
    pub force: bool,
    /// Do all the work but write nothing into the output folder.
    pub dry_run: bool,
    /// No progress bar, table or notes; errors only.
    pub quiet: bool,
    /// Where to write the JSON report, if anywhere.
    pub report: Option<PathBuf>,
}

/// What happened to one recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// The query was (re)written.
    Prepared,
    /// Input and settings unchanged since the last run; the query was left as it was.
    Unchanged,
    /// `--dry-run`: the query would have been written.
    WouldPrepare,
    /// The recording could not be prepared.
    Failed,
}

/// The outcome for one recording.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    /// The recording, as found.
    pub input: String,
    /// The query's path relative to the output folder (empty when the input is missing).
    pub output: String,
    /// What happened.
    pub status: FileStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The query's manifest entry (prepared, unchanged or would-prepare).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<ManifestEntry>,
}

/// Everything one `prep` run did: the `--report` JSON.
#[derive(Debug, Clone, Serialize)]
pub struct PrepReport {
    /// Always `voiceperf prep`.
    pub tool: String,
    /// voiceperf version.
    pub version: String,
    /// Output folder.
    pub output_dir: String,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// Settings used.
    pub settings: PrepSettings,
    /// One result per recording, sorted by query path.
    pub files: Vec<FileResult>,
    /// Files in the input folders that were not audio.
    pub skipped_non_audio: Vec<String>,
    /// Queries written (or, in a dry run, that would be).
    pub prepared: usize,
    /// Queries left unchanged.
    pub unchanged: usize,
    /// Recordings that failed.
    pub failed: usize,
    /// Whether SIGINT or SIGTERM stopped the run (recordings not started count as failed).
    pub interrupted: bool,
}

/// Why a recording was not prepared when the run was interrupted before it started.
const INTERRUPTED: &str = "not prepared: interrupted (SIGINT/SIGTERM)";

/// Temp files of an earlier prep older than this are removed (a write in flight takes
/// seconds at most).
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `voiceperf prep`: prepares, prints the table (unless `--quiet`), writes the report.
pub fn run(options: &PrepOptions) -> anyhow::Result<Outcome> {
    let report = prepare_all(options)?;
    print_report(&report, options);
    if report.interrupted {
        eprintln!(
            "error: interrupted: {} recording(s) not prepared; {} lists what finished",
            report
                .files
                .iter()
                .filter(|f| f.error.as_deref() == Some(INTERRUPTED))
                .count(),
            crate::dataset::MANIFEST_FILE
        );
    }
    if let Some(path) = &options.report {
        fsutil::write_json_atomic(path, &report)
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(Outcome::failed_if(report.failed > 0))
}

/// Prepares every recording of `options` into the output folder and updates its manifest;
/// prints nothing but the progress bar. Errors only for problems with the whole run (colliding
/// outputs, an unreadable manifest, no inputs); a bad recording is a failed [`FileResult`].
pub fn prepare_all(options: &PrepOptions) -> anyhow::Result<PrepReport> {
    let plan = plan::plan(&options.inputs, &options.output_dir)?;
    if plan.jobs.is_empty() && plan.missing.is_empty() {
        let inputs: Vec<String> = options.inputs.iter().map(|p| fsutil::slash(p)).collect();
        return Err(CliError::Usage(format!(
            "no audio files found in {} (give recordings or folders of recordings)",
            inputs.join(", ")
        ))
        .into());
    }
    let manifest = match Manifest::load(&options.output_dir) {
        Ok(manifest) => manifest.unwrap_or_default(),
        Err(e) if options.force => {
            if !options.quiet {
                eprintln!(
                    "warning: {}; --force: rebuilding it",
                    printable(&format!("{e:#}"))
                );
            }
            Manifest::default()
        }
        Err(e) => {
            return Err(e.context("fix or delete it, or run with --force to rebuild it"));
        }
    };

    // Ctrl-C / SIGTERM: the recordings in flight are finished, the rest not started, and the
    // manifest of what finished is written below.
    let interrupts = Interrupts::catch();
    if !options.dry_run {
        fsutil::remove_stale_temp_files(&options.output_dir, STALE_TEMP_AGE);
    }
    let bar = crate::term::progress_bar(plan.jobs.len() as u64, options.quiet);
    let mut files: Vec<FileResult> = plan
        .jobs
        .par_iter()
        .map(|job| {
            let result = if interrupts.requested() {
                FileResult {
                    input: fsutil::slash(&job.input),
                    output: job.output.clone(),
                    status: FileStatus::Failed,
                    error: Some(INTERRUPTED.to_string()),
                    entry: None,
                }
            } else {
                prepare_one(job, &manifest, options)
            };
            bar.inc(1);
            result
        })
        .collect();
    let interrupted = interrupts.requested();
    bar.finish_and_clear();
    files.extend(plan.missing.iter().map(|(path, reason)| FileResult {
        input: fsutil::slash(path),
        output: String::new(),
        status: FileStatus::Failed,
        error: Some(reason.clone()),
        entry: None,
    }));

    if !options.dry_run {
        let stale: Vec<bool> = files
            .iter()
            .map(|file| marks_stale(file) && manifest.get(&file.output).is_some())
            .collect();
        update_manifest(manifest, &files, &options.output_dir)?;
        for (file, stale) in files.iter_mut().zip(stale) {
            if let (true, Some(error)) = (stale, &mut file.error) {
                error.push_str(&format!(
                    " (the query {} from an earlier prep is kept, marked stale in {})",
                    file.output,
                    crate::dataset::MANIFEST_FILE
                ));
            }
        }
    }
    let count = |status| files.iter().filter(|f| f.status == status).count();
    Ok(PrepReport {
        tool: "voiceperf prep".to_string(),
        version: crate::VERSION.to_string(),
        output_dir: fsutil::slash(&options.output_dir),
        dry_run: options.dry_run,
        settings: options.settings,
        prepared: count(FileStatus::Prepared) + count(FileStatus::WouldPrepare),
        unchanged: count(FileStatus::Unchanged),
        failed: count(FileStatus::Failed),
        interrupted,
        skipped_non_audio: plan.skipped.iter().map(|p| fsutil::slash(p)).collect(),
        files,
    })
}

/// Reads, checks and (unless unchanged or a dry run) prepares and writes one query.
fn prepare_one(job: &Job, manifest: &Manifest, options: &PrepOptions) -> FileResult {
    let input = fsutil::slash(&job.input);
    let fail = |error: String| FileResult {
        input: input.clone(),
        output: job.output.clone(),
        status: FileStatus::Failed,
        error: Some(error),
        entry: None,
    };
    let bytes = match fsutil::read_regular(&job.input, crate::audio::decode::MAX_RECORDING_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => return fail(format!("cannot read the file: {e}")),
    };
    let source_sha256 = fsutil::sha256_hex(&bytes);
    let output_path = options.output_dir.join(&job.output);
    if !options.force
        && let Some(entry) = manifest.get(&job.output)
        && entry.source_sha256 == source_sha256
        && entry.settings == options.settings
        && entry.tool_version == crate::VERSION
        && fsutil::sha256_file(&output_path).is_ok_and(|sha| sha == entry.output_sha256)
    {
        // The same bytes may have moved (another folder, another name): the manifest names
        // where the recording is now, so validate's fixes point at it.
        // An entry marked stale by a failed run is current again: the recording is back to
        // the bytes it was made from.
        let entry = ManifestEntry {
            source: input.clone(),
            last_error: None,
            ..entry.clone()
        };
        return FileResult {
            input,
            output: job.output.clone(),
            status: FileStatus::Unchanged,
            error: None,
            entry: Some(entry),
        };
    }
    let extension = job.input.extension().and_then(|e| e.to_str());
    let prepared = match process::prepare(
        &bytes,
        extension,
        input.clone(),
        source_sha256,
        &options.settings,
    ) {
        Ok(prepared) => prepared,
        Err(reason) => return fail(reason),
    };
    if !options.dry_run
        && let Err(e) = fsutil::write_atomic(&output_path, &prepared.wav)
    {
        return fail(format!("{e:#}"));
    }
    FileResult {
        input,
        output: job.output.clone(),
        status: if options.dry_run {
            FileStatus::WouldPrepare
        } else {
            FileStatus::Prepared
        },
        error: None,
        entry: Some(prepared.entry),
    }
}

/// Records the prepared queries (and where unchanged ones' recordings are now), marks stale the
/// queries whose recording failed this time (their file is from an earlier version of it),
/// forgets queries whose file is gone, and writes the manifest when anything changed.
fn update_manifest(
    mut manifest: Manifest,
    files: &[FileResult],
    output_dir: &Path,
) -> anyhow::Result<()> {
    let before = manifest.clone();
    let existed = Manifest::path(output_dir).exists();
    for file in files {
        if let (FileStatus::Prepared | FileStatus::Unchanged, Some(entry)) =
            (file.status, &file.entry)
        {
            manifest.entries.insert(file.output.clone(), entry.clone());
        }
        if marks_stale(file)
            && let (Some(error), Some(entry)) =
                (&file.error, manifest.entries.get_mut(&file.output))
        {
            entry.last_error = Some(format!("prep of {} failed: {error}", file.input));
        }
    }
    manifest
        .entries
        .retain(|relative, _| output_dir.join(relative).is_file());
    manifest.version = crate::VERSION.to_string();
    // Keys refused on loading (outside the dataset) were dropped: writing the manifest
    // removes them from the file too.
    if manifest != before
        || !manifest.refused_keys.is_empty()
        || (!existed && !manifest.entries.is_empty())
    {
        manifest.save(output_dir)?;
    }
    Ok(())
}

/// Whether `file` failed in a way that makes its query, if an earlier prep made one, stale: it
/// was tried and failed (not interrupted before it started, not a missing input).
fn marks_stale(file: &FileResult) -> bool {
    file.status == FileStatus::Failed
        && !file.output.is_empty()
        && file.error.as_deref() != Some(INTERRUPTED)
}

/// Prints the per-file table, warnings, notes and summary (stdout) and errors (stderr).
fn print_report(report: &PrepReport, options: &PrepOptions) {
    let out = Painter::for_stream(Stream::Stdout);
    let err = Painter::for_stream(Stream::Stderr);
    if !options.quiet {
        if !report.skipped_non_audio.is_empty() {
            eprintln!(
                "note: skipped {} non-audio file(s): {}",
                report.skipped_non_audio.len(),
                printable(&report.skipped_non_audio.join(", "))
            );
        }
        print!("{}", table::render(&report.files, &out));
    }
    for file in &report.files {
        if let Some(error) = &file.error {
            eprintln!(
                "{}: {}: {}",
                err.red("error"),
                printable(&file.input),
                printable(error)
            );
        }
    }
    if !options.quiet {
        let verb = if report.dry_run {
            "would prepare"
        } else {
            "prepared"
        };
        let mut summary = format!(
            "{verb} {}, unchanged {}, failed {}",
            report.prepared, report.unchanged, report.failed
        );
        if report.dry_run {
            summary.push_str(" (dry run: nothing written)");
        } else {
            summary.push_str(&format!(
                " → {}/ ({})",
                printable(report.output_dir.trim_end_matches('/')),
                crate::dataset::MANIFEST_FILE
            ));
        }
        let summary = if report.failed > 0 {
            out.red(&summary)
        } else {
            out.green(&summary)
        };
        println!("{summary}");
    }
}
