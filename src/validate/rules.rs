//! The rules: each turns one measured fact into a [`Check`] — pass, warning or failure, with
//! the measured value, the limit, and for every problem a fix the user can run.

use std::path::Path;

use super::measure::FileFacts;
use super::results::{BoundsSource, Check, Measurements, Rule, Status, WavFormat};
use crate::audio::TARGET_RATE;
use crate::audio::riff::{
    FmtChunk, WAVE_FORMAT_EXTENSIBLE, WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_PCM,
};
use crate::dataset::{self, DEFAULT_DIR, Limits, ManifestEntry, PrepSettings, RecordedBounds};
const RATE: f64 = TARGET_RATE as f64;

/// What the rules know about a file besides its own bytes.
#[derive(Debug, Clone, Copy)]
pub struct FileContext<'a> {
    /// The dataset folder, as given.
    pub dataset: &'a str,
    /// The file's path relative to the dataset ('/'-separated).
    pub name: &'a str,
    /// Whether the dataset has a readable `manifest.json`.
    pub has_manifest: bool,
    /// The file's entry in it.
    pub entry: Option<&'a ManifestEntry>,
    /// Other files holding the same audio.
    pub duplicates: &'a [&'a str],
}

impl FileContext<'_> {
    /// The command that prepares this file again with `flags` added (` --pad-ms 70`, or
    /// empty): `voiceperf prep SOURCE [-o DIR] FLAGS`, runnable as printed from the folder
    /// validate runs in. When no such command can be given (the file is not in the manifest,
    /// its recording is not found from here, or prep would put the query elsewhere), the
    /// error says in words what to do instead.
    pub fn prep_command(&self, flags: &str) -> Result<String, String> {
        redo_command(self.dataset, self.name, self.entry, flags)
    }
}

/// `voiceperf prep SOURCE [-o DATASET]FLAGS` that writes the query `name` of `dataset` again
/// from the recording its manifest `entry` names — or, when that command would not work as
/// printed, what to do in words. Checked here: the recording exists (paths in the manifest
/// are as prep was given them, so relative to the folder it ran in), prep would name the
/// query `name` (a query in a sub-folder comes from a folder walk: that folder is prepared
/// again, unchanged recordings are skipped), and prep would accept it (its input folder is
/// not the dataset; the query is not its own recording).
pub(crate) fn redo_command(
    dataset: &str,
    name: &str,
    entry: Option<&ManifestEntry>,
    flags: &str,
) -> Result<String, String> {
    let output = output_flag(dataset);
    let with = if flags.is_empty() {
        String::new()
    } else {
        format!(" with{flags}")
    };
    let into = shell_word(dataset);
    let Some(entry) = entry else {
        return Err(format!(
            "prep its original recording into {into}{with} (it is not in {}, so which \
             recording it came from is not known)",
            dataset::MANIFEST_FILE
        ));
    };
    let source = Path::new(&entry.source);
    if !source.is_file() {
        return Err(format!(
            "prep its recording {} into {into}{with} again ({} names it, but it is not \
             found from this folder: run prep where it ran, or give the recording where it \
             is now)",
            entry.source,
            dataset::MANIFEST_FILE
        ));
    }
    let query = Path::new(dataset).join(name);
    if same_file(source, &query) {
        return Err(format!(
            "prep a copy of its original recording into {into}{with} (the manifest says it \
             was made from itself, and prep never overwrites its input)"
        ));
    }
    let name_path = Path::new(name);
    let name_dir = name_path.parent().unwrap_or(Path::new(""));
    let same_stem = source.file_stem().is_some() && source.file_stem() == name_path.file_stem();
    if same_stem && name_dir.as_os_str().is_empty() {
        return Ok(format!(
            "voiceperf prep {}{output}{flags}",
            shell_word(&entry.source)
        ));
    }
    // A query in a sub-folder came from a folder walk: prep that folder again, so the query
    // keeps its place.
    if same_stem
        && let Some(parent) = source.parent()
        && parent.ends_with(name_dir)
    {
        let mut root = parent;
        for _ in name_dir.components() {
            root = root.parent().unwrap_or(Path::new(""));
        }
        let root = root.to_string_lossy();
        let root = if root.is_empty() { "." } else { &root };
        // prep refuses to walk the dataset folder itself.
        if !same_file(Path::new(root), Path::new(dataset)) {
            return Ok(format!(
                "voiceperf prep {}{output}{flags}",
                shell_word(root)
            ));
        }
    }
    Err(format!(
        "prep the folder holding {} into {into}{with} again, so that the query is made at \
         {name} (from here prep would name it differently)",
        entry.source
    ))
}

/// Whether two paths name the same existing file or folder.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// The fix that prepares the file again with `flags` added, then `tail`: the text and, when
/// there is one, the command it holds.
fn redo_fix(ctx: &FileContext<'_>, flags: &str, tail: &str) -> (String, Option<String>) {
    match ctx.prep_command(flags) {
        Ok(command) => (format!("run: {command}{tail}"), Some(command)),
        Err(words) => (format!("{words}{tail}"), None),
    }
}

/// ` -o DATASET` for a prep command writing into `dataset`; empty for prep's default folder.
pub(crate) fn output_flag(dataset: &str) -> String {
    let is_default = Path::new(dataset)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .eq(Path::new(DEFAULT_DIR).components());
    if is_default {
        String::new()
    } else {
        format!(" -o {}", shell_word(dataset))
    }
}

/// `word` quoted for a POSIX shell when it needs to be.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Applies every rule to one file's facts; returns what was measured and the checks, one
/// per file-level [`Rule`] in a fixed order.
pub fn evaluate(
    facts: &FileFacts,
    ctx: &FileContext<'_>,
    limits: &Limits,
) -> (Measurements, Vec<Check>) {
    let mut m = Measurements {
        bytes: facts.read_error.is_none().then_some(facts.bytes),
        sha256: facts.sha256.clone(),
        audio_sha256: facts.audio_sha256.clone(),
        ..Measurements::default()
    };
    let mut checks = Vec::with_capacity(12);
    let layout = match &facts.layout {
        Some(Ok(layout)) => Some(layout),
        _ => None,
    };

    checks.push(structure_check(facts, ctx));
    checks.push(match layout {
        Some(layout) => {
            m.format = Some(wav_format(&layout.fmt));
            format_check(&layout.fmt, ctx)
        }
        None => skipped(Rule::PcmFormat, "no readable `fmt ` chunk"),
    });

    let frames = layout.map(|l| l.frames() as u64);
    m.frames = frames;
    checks.push(match frames {
        None => skipped(Rule::Frames, "no readable `data` chunk"),
        Some(0) => {
            let (fix, command) = redo_fix(ctx, "", " (or remove the file)");
            fail(
                Rule::Frames,
                "no audio: the data chunk holds 0 frames".into(),
                fix,
            )
            .runs(command)
            .measured(0.0, 1.0, "frames")
        }
        Some(n) => pass(Rule::Frames, format!("{n} frames")).measured(n as f64, 1.0, "frames"),
    });

    let duration = match (layout, frames) {
        (Some(layout), Some(n)) if n > 0 && layout.fmt.sample_rate > 0 => {
            Some(n as f64 / f64::from(layout.fmt.sample_rate))
        }
        _ => None,
    };
    m.duration_s = duration;
    checks.push(match duration {
        None => skipped(Rule::Duration, "no frames"),
        Some(d) => duration_check(d, limits),
    });

    let audio_checks = [
        Rule::Speech,
        Rule::TrailingSilence,
        Rule::LeadingSilence,
        Rule::Clipping,
        Rule::Level,
        Rule::DcOffset,
    ];
    match &facts.audio {
        None => {
            let why = if layout.is_some_and(|l| !l.fmt.is_16k_mono_s16()) {
                "not 16 kHz mono 16-bit PCM"
            } else if let Some(why) = &facts.not_analysed {
                why
            } else {
                "no audio to analyse"
            };
            checks.extend(audio_checks.iter().map(|&rule| skipped(rule, why)));
        }
        Some(audio) => {
            let len = audio.samples;
            if let Some(found) = &audio.speech {
                m.analysed_speech_start_s = Some(found.start as f64 / RATE);
                m.analysed_speech_end_s = Some(found.end as f64 / RATE);
                m.noise_floor_dbfs = Some(found.noise_floor_dbfs);
                m.speech_level_dbfs = Some(found.speech_level_dbfs);
            }
            // A file byte-for-byte as prep wrote it keeps prep's bounds: prep found them with
            // the same detector on the whole recording, which shows it more background than
            // the trimmed file does, so they are the better estimate (the file's own analysis
            // can differ by a few ms). Any other file is judged by its own analysis.
            let recorded = match &facts.sha256 {
                Some(sha) => dataset::recorded_bounds(ctx.entry, sha, len),
                None => RecordedBounds::NoEntry,
            };
            let bounds = match (recorded, &audio.speech) {
                (RecordedBounds::Found(range), _) => {
                    Some(((range.start, range.end), BoundsSource::Manifest))
                }
                (_, Some(found)) => Some(((found.start, found.end), BoundsSource::Analysis)),
                (_, None) => None,
            };
            let peak_dbfs =
                (audio.peak > 0).then(|| 20.0 * (f64::from(audio.peak) / 32768.0).log10());
            m.peak_dbfs = peak_dbfs;
            match bounds {
                Some(((start, end), from)) => {
                    m.speech_start_s = Some(start as f64 / RATE);
                    m.speech_end_s = Some(end as f64 / RATE);
                    m.speech_bounds_from = Some(from);
                    let leading_ms = start as f64 / RATE * 1000.0;
                    let trailing_ms = (len - end) as f64 / RATE * 1000.0;
                    m.leading_ms = Some(leading_ms);
                    m.trailing_ms = Some(trailing_ms);
                    let by = match from {
                        BoundsSource::Manifest => " (found by prep)",
                        BoundsSource::Analysis => "",
                    };
                    checks.push(pass(
                        Rule::Speech,
                        format!(
                            "speech {:.2}–{:.2} s{by}",
                            start as f64 / RATE,
                            end as f64 / RATE
                        ),
                    ));
                    checks.push(trailing_check(trailing_ms, ctx, limits));
                    checks.push(leading_check(leading_ms, ctx, limits));
                }
                None => {
                    let level = match peak_dbfs {
                        Some(p) => format!("peak {p:.0} dBFS"),
                        None => "digital silence".into(),
                    };
                    checks.push(fail(
                        Rule::Speech,
                        format!("no speech found ({level})"),
                        "replace it with a recording of a spoken query, or remove it".into(),
                    ));
                    checks.push(skipped(Rule::TrailingSilence, "no speech"));
                    checks.push(skipped(Rule::LeadingSilence, "no speech"));
                }
            }
            let clipped_percent = audio.clipped as f64 / len as f64 * 100.0;
            m.clipped_samples = Some(audio.clipped as u64);
            m.clipped_percent = Some(clipped_percent);
            checks.push(clipping_check(audio.clipped, clipped_percent, ctx, limits));
            checks.push(level_check(peak_dbfs, ctx, limits));
            let dc_percent = audio.mean / 32768.0 * 100.0;
            m.dc_offset_percent = Some(dc_percent);
            checks.push(dc_check(dc_percent, ctx, limits));
        }
    }

    checks.push(match (&facts.audio_sha256, ctx.duplicates) {
        (None, _) => skipped(Rule::Duplicate, "no audio"),
        (Some(_), []) => pass(Rule::Duplicate, "no other file has the same audio".into()),
        (Some(_), others) => warning(
            Rule::Duplicate,
            format!("same audio as {}", name_some(others)),
            "remove one of them, or replace it with a different query".into(),
        ),
    });
    checks.push(manifest_check(facts, ctx));
    (m, checks)
}

/// Most files a duplicate warning names (a dataset of copies must not print n² names).
const MAX_NAMED_DUPLICATES: usize = 5;

/// `a.wav, b.wav` or, for many, the first few and how many more.
fn name_some(names: &[&str]) -> String {
    let shown = names[..names.len().min(MAX_NAMED_DUPLICATES)].join(", ");
    match names.len().saturating_sub(MAX_NAMED_DUPLICATES) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

fn structure_check(facts: &FileFacts, ctx: &FileContext<'_>) -> Check {
    let (rewrite, command) = redo_fix(ctx, "", "");
    if let Some(error) = &facts.read_error {
        return fail(
            Rule::RiffStructure,
            format!("cannot read the file: {error}"),
            "check that the file is readable, or remove it".into(),
        );
    }
    match &facts.layout {
        None => skipped(Rule::RiffStructure, "not read"),
        Some(Err(error)) => fail(
            Rule::RiffStructure,
            format!("not a usable WAV: {error}"),
            rewrite,
        )
        .runs(command)
        .measured(1.0, 0.0, "issues"),
        Some(Ok(layout)) if layout.issues.is_empty() => pass(
            Rule::RiffStructure,
            format!(
                "RIFF/WAVE structure sound ({} chunks: {})",
                layout.chunks.len(),
                layout
                    .chunks
                    .iter()
                    .map(|c| c.id.trim_end())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .measured(0.0, 0.0, "issues"),
        Some(Ok(layout)) => fail(
            Rule::RiffStructure,
            format!(
                "broken RIFF structure: {}",
                layout
                    .issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!("{rewrite} (the file was probably cut short or written by a crashed tool)"),
        )
        .runs(command)
        .measured(layout.issues.len() as f64, 0.0, "issues"),
    }
}

fn wav_format(fmt: &FmtChunk) -> WavFormat {
    WavFormat {
        format_tag: fmt.format_tag,
        sub_format: fmt.sub_format,
        channels: fmt.channels,
        sample_rate: fmt.sample_rate,
        bits_per_sample: fmt.bits_per_sample,
    }
}

/// `16-bit PCM, 16000 Hz, mono`, `32-bit float, 44100 Hz, 2 channels`, …
fn describe_format(fmt: &FmtChunk) -> String {
    let encoding = match fmt.effective_format() {
        WAVE_FORMAT_PCM => "PCM".to_string(),
        WAVE_FORMAT_IEEE_FLOAT => "float".to_string(),
        WAVE_FORMAT_EXTENSIBLE => "extensible with an unknown sub-format".to_string(),
        other => format!("format {other:#06x}"),
    };
    let extensible = if fmt.format_tag == WAVE_FORMAT_EXTENSIBLE && fmt.sub_format.is_some() {
        " (extensible)"
    } else {
        ""
    };
    let channels = match fmt.channels {
        1 => "mono".to_string(),
        n => format!("{n} channels"),
    };
    let frame_bytes = u32::from(fmt.channels) * u32::from(fmt.bits_per_sample).div_ceil(8);
    let block_align = if u32::from(fmt.block_align) == frame_bytes {
        String::new()
    } else {
        format!(
            ", block align {} bytes (not {frame_bytes})",
            fmt.block_align
        )
    };
    format!(
        "{}-bit {encoding}{extensible}, {} Hz, {channels}{block_align}",
        fmt.bits_per_sample, fmt.sample_rate
    )
}

fn format_check(fmt: &FmtChunk, ctx: &FileContext<'_>) -> Check {
    let described = describe_format(fmt);
    if fmt.is_16k_mono_s16() {
        pass(Rule::PcmFormat, described)
    } else {
        let (fix, command) = redo_fix(ctx, "", "");
        fail(
            Rule::PcmFormat,
            format!("{described}; queries must be 16-bit PCM, 16000 Hz, mono"),
            fix,
        )
        .runs(command)
    }
}

fn duration_check(duration: f64, limits: &Limits) -> Check {
    if duration < limits.min_duration_s {
        fail(
            Rule::Duration,
            format!(
                "duration {} s < {} s",
                seconds(duration, limits.min_duration_s),
                limits.min_duration_s
            ),
            format!(
                "record a longer query, or remove it (or --min-duration {} to accept)",
                floor_2_digits(duration)
            ),
        )
        .measured(duration, limits.min_duration_s, "s")
    } else if duration > limits.max_duration_s {
        fail(
            Rule::Duration,
            format!(
                "duration {} s > {} s",
                seconds(duration, limits.max_duration_s),
                limits.max_duration_s
            ),
            format!(
                "split it into shorter queries (or --max-duration {} to accept)",
                ceil_2_digits(duration)
            ),
        )
        .measured(duration, limits.max_duration_s, "s")
    } else {
        pass(Rule::Duration, format!("duration {duration:.2} s")).measured(
            duration,
            limits.max_duration_s,
            "s",
        )
    }
}

/// How far below `--max-trailing-ms` a suggested `prep --pad-ms` stays.
const PAD_MARGIN_MS: f64 = 20.0;

fn trailing_check(trailing_ms: f64, ctx: &FileContext<'_>, limits: &Limits) -> Check {
    let limit = limits.max_trailing_ms;
    let shown = millis(trailing_ms, limit);
    if trailing_ms > limit {
        // Leave prep the same margin under the limit its defaults leave (80 ms pad under a
        // 100 ms limit), so a few ms of measurement jitter cannot fail the check again.
        let suggested_pad = (limit - PAD_MARGIN_MS).max(0.0).floor();
        let pad = if suggested_pad < f64::from(PrepSettings::default().pad_ms) {
            format!(" --pad-ms {suggested_pad}")
        } else {
            String::new()
        };
        let (fix, command) = redo_fix(
            ctx,
            &pad,
            &format!(
                " (or --max-trailing-ms {} to accept)",
                ceil_2_digits(trailing_ms)
            ),
        );
        fail(
            Rule::TrailingSilence,
            format!("trailing silence {shown} ms > {limit} ms"),
            fix,
        )
        .runs(command)
    } else {
        pass(
            Rule::TrailingSilence,
            format!("trailing silence {shown} ms ≤ {limit} ms"),
        )
    }
    .measured(trailing_ms, limit, "ms")
}

fn leading_check(leading_ms: f64, ctx: &FileContext<'_>, limits: &Limits) -> Check {
    let limit = limits.max_leading_ms;
    let shown = millis(leading_ms, limit);
    if leading_ms > limit {
        let keep = if limit < f64::from(PrepSettings::default().keep_leading_ms) {
            format!(" --keep-leading-ms {}", limit.floor())
        } else {
            String::new()
        };
        let (fix, command) = redo_fix(
            ctx,
            &keep,
            &format!(
                " (or --max-leading-ms {} to accept)",
                ceil_2_digits(leading_ms)
            ),
        );
        warning(
            Rule::LeadingSilence,
            format!("leading silence {shown} ms > {limit} ms"),
            fix,
        )
        .runs(command)
    } else {
        pass(
            Rule::LeadingSilence,
            format!("leading silence {shown} ms ≤ {limit} ms"),
        )
    }
    .measured(leading_ms, limit, "ms")
}

fn clipping_check(clipped: usize, percent: f64, ctx: &FileContext<'_>, limits: &Limits) -> Check {
    let limit = limits.max_clipped_percent;
    if percent > limit {
        // Clipping made by prep's own conversion (a float source above full scale) can be
        // undone by scaling; clipping in the recording cannot.
        let accept = format!(
            " (or --max-clipped-percent {} to accept)",
            ceil_2_digits(percent)
        );
        let (fix, command) = match ctx.entry {
            Some(entry) if entry.clipped_samples > 0 => {
                redo_fix(ctx, " --normalize-peak -1", &accept)
            }
            _ => (format!("re-record with a lower input gain{accept}"), None),
        };
        warning(
            Rule::Clipping,
            format!(
                "clipping: {clipped} samples at full scale ({} % > {limit} %)",
                percent_text(percent)
            ),
            fix,
        )
        .runs(command)
    } else {
        pass(
            Rule::Clipping,
            format!(
                "{clipped} samples at full scale ({} % ≤ {limit} %)",
                percent_text(percent)
            ),
        )
    }
    .measured(percent, limit, "%")
}

fn level_check(peak_dbfs: Option<f64>, ctx: &FileContext<'_>, limits: &Limits) -> Check {
    let limit = limits.min_peak_dbfs;
    match peak_dbfs {
        None => warning(
            Rule::Level,
            "too quiet: digital silence".into(),
            "replace it with a recording of a spoken query, or remove it".into(),
        ),
        Some(peak) if peak < limit => {
            let (fix, command) = redo_fix(
                ctx,
                " --normalize-peak -3",
                &format!(
                    " (or --min-peak-dbfs {} to accept)",
                    (peak / 5.0).floor() * 5.0
                ),
            );
            warning(
                Rule::Level,
                format!("too quiet: peak {peak:.1} dBFS < {limit} dBFS"),
                fix,
            )
            .runs(command)
            .measured(peak, limit, "dBFS")
        }
        Some(peak) => pass(Rule::Level, format!("peak {peak:.1} dBFS ≥ {limit} dBFS"))
            .measured(peak, limit, "dBFS"),
    }
}

fn dc_check(dc_percent: f64, ctx: &FileContext<'_>, limits: &Limits) -> Check {
    let limit = limits.max_dc_offset_percent;
    if dc_percent.abs() > limit {
        warning(
            Rule::DcOffset,
            format!(
                "DC offset {} % of full scale > {limit} % (clicks where bench's silence meets it)",
                percent_text(dc_percent)
            ),
            // Prep keeps the offset, so no one command fixes it: say both steps.
            format!(
                "remove the offset from its recording with a high-pass filter (sox's \
                 `highpass 20` effect does), then {} (or --max-dc-offset-percent {} to accept)",
                match ctx.prep_command("") {
                    Ok(command) => format!("run: {command}"),
                    Err(words) => words,
                },
                ceil_2_digits(dc_percent.abs())
            ),
        )
    } else {
        pass(
            Rule::DcOffset,
            format!(
                "DC offset {} % of full scale ≤ {limit} %",
                percent_text(dc_percent)
            ),
        )
    }
    .measured(dc_percent, limit, "%")
}

fn manifest_check(facts: &FileFacts, ctx: &FileContext<'_>) -> Check {
    if !ctx.has_manifest {
        return skipped(Rule::Manifest, "no manifest.json from prep in the folder");
    }
    let Some(entry) = ctx.entry else {
        let (fix, command) = redo_fix(ctx, "", "");
        return warning(
            Rule::Manifest,
            "not in manifest.json: not made by voiceperf prep".into(),
            fix,
        )
        .runs(command);
    };
    if let Some(error) = &entry.last_error {
        // The recording changed and could not be prepared: the file is what an older
        // recording made. Preparing it again fails the same way until the recording is fixed.
        let again = match ctx.prep_command("") {
            Ok(command) => format!("run: {command}"),
            Err(words) => words,
        };
        return fail(
            Rule::Manifest,
            format!(
                "stale: the last prep of its recording failed ({error}); this file is from an earlier version of it"
            ),
            format!(
                "fix or replace the recording {}, then {again} (or remove this file)",
                entry.source
            ),
        );
    }
    match &facts.sha256 {
        None => skipped(Rule::Manifest, "file not read (or not a WAV file)"),
        Some(sha) if *sha == entry.output_sha256 => {
            let len = facts.audio.as_ref().map_or(0, |a| a.samples);
            match dataset::recorded_bounds(Some(entry), sha, len) {
                RecordedBounds::Impossible(why) if facts.audio.is_some() => {
                    // The file and recording are unchanged: prep would skip it without --force.
                    let (fix, command) = redo_fix(ctx, " --force", " to record them again");
                    warning(
                        Rule::Manifest,
                        format!("manifest.json's {why}: speech bounds found by analysis instead"),
                        fix,
                    )
                    .runs(command)
                }
                _ => pass(
                    Rule::Manifest,
                    format!("unchanged since prep made it from {}", entry.source),
                ),
            }
        }
        Some(sha) => {
            let (fix, command) = redo_fix(
                ctx,
                "",
                " to prepare it again (or, to keep the edit, move the edited file out of the \
                 dataset and prep it from there)",
            );
            fail(
                Rule::Manifest,
                format!(
                    "changed since prep: sha256 {} ≠ {} in manifest.json",
                    short_hash(sha),
                    short_hash(&entry.output_sha256)
                ),
                fix,
            )
            .runs(command)
        }
    }
}

fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

impl Check {
    /// Records the command that fixes it (runnable as printed in `fix`), if any.
    fn runs(mut self, command: Option<String>) -> Check {
        self.command = command;
        self
    }

    /// Records the measured value, the limit and their unit.
    fn measured(mut self, value: f64, limit: f64, unit: &str) -> Check {
        self.value = Some(value);
        self.limit = Some(limit);
        self.unit = Some(unit.to_string());
        self
    }
}

fn check(rule: Rule, status: Status, message: String, fix: Option<String>) -> Check {
    Check {
        rule,
        status,
        value: None,
        limit: None,
        unit: None,
        message,
        fix,
        command: None,
    }
}

fn pass(rule: Rule, message: String) -> Check {
    check(rule, Status::Pass, message, None)
}

fn warning(rule: Rule, message: String, fix: String) -> Check {
    check(rule, Status::Warning, message, Some(fix))
}

fn fail(rule: Rule, message: String, fix: String) -> Check {
    check(rule, Status::Fail, message, Some(fix))
}

fn skipped(rule: Rule, why: &str) -> Check {
    check(rule, Status::Skipped, format!("not checked: {why}"), None)
}

/// Milliseconds as a whole number, or with a decimal when rounding would make the value look
/// equal to the limit it is compared with.
fn millis(value: f64, limit: f64) -> String {
    if value.round() == limit.round() && value != limit {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// Seconds with two decimals, or three near the limit.
fn seconds(value: f64, limit: f64) -> String {
    if (value * 100.0).round() == (limit * 100.0).round() {
        format!("{value:.3}")
    } else {
        format!("{value:.2}")
    }
}

/// A percentage with about two significant digits.
fn percent_text(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || magnitude >= 10.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        let decimals = (1 - magnitude.log10().floor() as i32).clamp(2, 6) as usize;
        format!("{value:.decimals$}")
    }
}

/// The smallest number with two significant digits that is ≥ `value` (for "… to accept").
fn ceil_2_digits(value: f64) -> f64 {
    round_2_digits(value, f64::ceil)
}

/// The largest number with two significant digits that is ≤ `value`.
fn floor_2_digits(value: f64) -> f64 {
    round_2_digits(value, f64::floor)
}

fn round_2_digits(value: f64, round: fn(f64) -> f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return value;
    }
    let step = 10f64.powi(value.log10().floor() as i32 - 1);
    // Scale by the inverse when the step is fractional so the result prints exactly.
    if step < 1.0 {
        let inverse = (1.0 / step).round();
        round(value * inverse) / inverse
    } else {
        round(value / step) * step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_values_round_outwards_to_two_digits() {
        assert_eq!(ceil_2_digits(840.0), 840.0);
        assert_eq!(ceil_2_digits(841.3), 850.0);
        assert_eq!(ceil_2_digits(104.2), 110.0);
        assert_eq!(ceil_2_digits(0.123), 0.13);
        assert_eq!(ceil_2_digits(31.2), 32.0);
        assert_eq!(floor_2_digits(0.123), 0.12);
        assert_eq!(floor_2_digits(0.0625), 0.062);
        assert_eq!(format!("{}", ceil_2_digits(0.0123)), "0.013");
    }

    #[test]
    fn values_near_the_limit_show_a_decimal() {
        assert_eq!(millis(100.4, 100.0), "100.4");
        assert_eq!(millis(840.0, 100.0), "840");
        assert_eq!(millis(100.0, 100.0), "100");
        assert_eq!(seconds(0.2999, 0.3), "0.300");
        assert_eq!(seconds(12.345, 30.0), "12.35");
        assert_eq!(percent_text(0.0312), "0.031");
        assert_eq!(percent_text(2.34), "2.3");
        assert_eq!(percent_text(-0.5), "-0.50");
    }

    fn entry(source: &str) -> ManifestEntry {
        serde_json::from_value(serde_json::json!({
            "source": source, "source_sha256": "", "output_sha256": "",
            "speech_start_s": 0.2, "speech_end_s": 1.0, "duration_s": 1.1,
            "input": {"container": "wave", "codec": "pcm_s16le", "sample_rate": 16000,
                      "channels": 1, "duration_s": 2.0},
            "channel": "mono", "trimmed_leading_ms": 0.0, "trimmed_trailing_ms": 0.0,
            "clipped_samples": 0, "noise_floor_dbfs": -70.0, "speech_level_dbfs": -20.0,
            "settings": PrepSettings::default(), "tool_version": "0"
        }))
        .unwrap()
    }

    #[test]
    fn prep_commands_name_the_recording_and_keep_the_query_in_place() {
        fn ctx<'a>(
            dataset: &'a str,
            name: &'a str,
            entry: Option<&'a ManifestEntry>,
        ) -> FileContext<'a> {
            FileContext {
                dataset,
                name,
                has_manifest: entry.is_some(),
                entry,
                duplicates: &[],
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw recordings");
        std::fs::create_dir_all(raw.join("en")).unwrap();
        std::fs::write(raw.join("q1.mp3"), b"x").unwrap();
        std::fs::write(raw.join("en/q2.flac"), b"x").unwrap();
        let raw = raw.to_str().unwrap().to_string();
        let top = entry(&format!("{raw}/q1.mp3"));
        let nested = entry(&format!("{raw}/en/q2.flac"));
        let quoted = |path: &str| shell_word(path);
        assert_eq!(
            ctx("audio_files", "q1.wav", Some(&top)).prep_command(""),
            Ok(format!("voiceperf prep {}", quoted(&top.source)))
        );
        assert_eq!(
            ctx("./audio_files/", "q1.wav", Some(&top)).prep_command(" --force"),
            Ok(format!("voiceperf prep {} --force", quoted(&top.source)))
        );
        assert_eq!(
            ctx("my set", "q1.wav", Some(&top)).prep_command(""),
            Ok(format!(
                "voiceperf prep {} -o 'my set'",
                quoted(&top.source)
            ))
        );
        // A query in a sub-folder: prep the folder it was walked from, so it stays there.
        assert_eq!(
            ctx("audio_files", "en/q2.wav", Some(&nested)).prep_command(""),
            Ok(format!("voiceperf prep {}", quoted(&raw)))
        );
        // No command where it would not work as printed: prep would name the query
        // otherwise, the recording is gone, or it is not known.
        let words = ctx("ds", "fr/q2.wav", Some(&nested))
            .prep_command("")
            .unwrap_err();
        assert!(words.contains("prep the folder holding"), "{words}");
        let words = ctx("ds", "q9.wav", Some(&top))
            .prep_command("")
            .unwrap_err();
        assert!(words.contains("prep the folder holding"), "{words}");
        let gone = entry(&format!("{raw}/gone.mp3"));
        let words = ctx("ds", "gone.wav", Some(&gone))
            .prep_command("")
            .unwrap_err();
        assert!(words.contains("not found from this folder"), "{words}");
        let words = ctx("ds", "q4.wav", None)
            .prep_command(" --pad-ms 70")
            .unwrap_err();
        assert_eq!(
            words,
            "prep its original recording into ds with --pad-ms 70 (it is not in \
             manifest.json, so which recording it came from is not known)"
        );
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("raw_recordings/q1.mp3"), "raw_recordings/q1.mp3");
        assert_eq!(
            shell_word("my recordings/it's.wav"),
            r"'my recordings/it'\''s.wav'"
        );
    }

    #[test]
    fn trailing_fix_suggests_a_pad_with_margin_under_a_tight_limit() {
        let ctx = FileContext {
            dataset: "audio_files",
            name: "q.wav",
            has_manifest: false,
            entry: None,
            duplicates: &[],
        };
        let fix_for = |limit: f64| {
            let limits = Limits {
                max_trailing_ms: limit,
                ..Limits::default()
            };
            trailing_check(limit + 50.0, &ctx, &limits).fix.unwrap()
        };
        // Default limit: prep's default pad (80 ms) already leaves the margin.
        assert!(!fix_for(100.0).contains("--pad-ms"), "{}", fix_for(100.0));
        // Tighter limits: a pad 20 ms under the limit, never negative.
        assert!(fix_for(90.0).contains(" --pad-ms 70 "), "{}", fix_for(90.0));
        assert!(fix_for(50.0).contains(" --pad-ms 30 "), "{}", fix_for(50.0));
        assert!(fix_for(10.0).contains(" --pad-ms 0 "), "{}", fix_for(10.0));
    }
}
