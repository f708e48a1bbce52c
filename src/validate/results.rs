//! The result of `voiceperf validate`. These structs are the `--json` schema: field names are
//! stable, every field is always present (`null` when it could not be measured), and the
//! docs/validate.md documents them.

use serde::{Deserialize, Serialize};

use crate::dataset::Limits;

/// Everything one `validate` run found: the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Always `voiceperf validate`.
    pub tool: String,
    /// voiceperf version.
    pub version: String,
    /// The folders (or files) checked, as given.
    pub inputs: Vec<String>,
    /// The limits the files were checked against.
    pub limits: Limits,
    /// Whether warnings count as failures (`--strict`).
    pub strict: bool,
    /// One entry per `.wav` file, sorted by input then path.
    pub files: Vec<FileReport>,
    /// Problems with a folder as a whole or with files that are not `.wav` (empty folder,
    /// stray files, unreadable manifest, …).
    pub folder_findings: Vec<Finding>,
    /// Counts.
    pub totals: Totals,
    /// Whether the dataset is benchmark-ready: no failure (and, with `--strict`, no warning).
    pub passed: bool,
}

/// How a file, a check or a finding came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not checked because something it needs is missing (e.g. no speech to measure from).
    Skipped,
    /// Worth knowing, changes nothing.
    Note,
    /// Within limits.
    Pass,
    /// Should be looked at; fails the run only with `--strict`.
    Warning,
    /// The file is not benchmark-ready.
    Fail,
}

impl Status {
    /// Whether this status fails the run (`Warning` only with `strict`).
    pub fn fails(self, strict: bool) -> bool {
        match self {
            Status::Fail => true,
            Status::Warning => strict,
            Status::Skipped | Status::Note | Status::Pass => false,
        }
    }
}

/// The rule a check or finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The file is a readable RIFF/WAVE whose chunk sizes agree with the file size, with a
    /// `data` chunk.
    RiffStructure,
    /// Integer PCM, 16-bit, 16 000 Hz, mono.
    PcmFormat,
    /// At least one sample frame.
    Frames,
    /// Duration within `--min-duration` … `--max-duration`.
    Duration,
    /// The VAD finds speech.
    Speech,
    /// Non-speech after the end of speech ≤ `--max-trailing-ms`.
    TrailingSilence,
    /// Non-speech before the start of speech ≤ `--max-leading-ms`.
    LeadingSilence,
    /// Share of samples at full scale ≤ `--max-clipped-percent`.
    Clipping,
    /// Peak level ≥ `--min-peak-dbfs`.
    Level,
    /// Mean sample value ≤ `--max-dc-offset-percent` of full scale.
    DcOffset,
    /// No other file holds the same audio.
    Duplicate,
    /// The file is the one `prep` wrote (sha256 recorded in `manifest.json`).
    Manifest,
    /// Folder level: a path given on the command line does not exist or cannot be read.
    Unreadable,
    /// Folder level: no `.wav` file in a folder.
    NoWavFiles,
    /// Folder level: a file that is not a `.wav` (bench ignores it).
    NotWav,
    /// Folder level: `manifest.json` exists but cannot be read.
    ManifestUnreadable,
    /// Folder level: `manifest.json` lists a file that is not there.
    ManifestMissingFile,
    /// Folder level: a `manifest.json` key that does not name a file inside the dataset
    /// (`/etc/shadow`, `../x.wav`): its entry is ignored.
    ManifestBadKey,
}

impl Rule {
    /// The rule's name as in the JSON (`trailing_silence`, …).
    pub fn name(self) -> &'static str {
        match self {
            Rule::RiffStructure => "riff_structure",
            Rule::PcmFormat => "pcm_format",
            Rule::Frames => "frames",
            Rule::Duration => "duration",
            Rule::Speech => "speech",
            Rule::TrailingSilence => "trailing_silence",
            Rule::LeadingSilence => "leading_silence",
            Rule::Clipping => "clipping",
            Rule::Level => "level",
            Rule::DcOffset => "dc_offset",
            Rule::Duplicate => "duplicate",
            Rule::Manifest => "manifest",
            Rule::Unreadable => "unreadable",
            Rule::NoWavFiles => "no_wav_files",
            Rule::NotWav => "not_wav",
            Rule::ManifestUnreadable => "manifest_unreadable",
            Rule::ManifestMissingFile => "manifest_missing_file",
            Rule::ManifestBadKey => "manifest_bad_key",
        }
    }
}

/// One rule applied to one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Which rule.
    pub rule: Rule,
    /// How it came out.
    pub status: Status,
    /// The measured value, when the rule measures a number.
    pub value: Option<f64>,
    /// The limit it was compared with.
    pub limit: Option<f64>,
    /// Unit of `value` and `limit`: `ms`, `s`, `%`, `dBFS`, `frames` or `issues`.
    pub unit: Option<String>,
    /// What was found, e.g. `trailing silence 840 ms > 100 ms`.
    pub message: String,
    /// How to fix it (warnings and failures), e.g. `run: voiceperf prep raw/q1.mp3 (or
    /// --max-trailing-ms 900 to accept)`.
    pub fix: Option<String>,
    /// The command in `fix` that fixes it, exactly as printed there and runnable as it is
    /// (paths shell-quoted, relative to the folder validate ran in); `null` when the fix takes
    /// more than a command (the recording is not known, it must be re-recorded, …).
    #[serde(default)]
    pub command: Option<String>,
}

/// Where the speech bounds used by the silence checks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundsSource {
    /// `manifest.json`: the file is byte-for-byte what `prep` wrote, and prep found these
    /// bounds with the same detector on the whole recording.
    Manifest,
    /// The speech detector run on the file itself.
    Analysis,
}

/// The sample format from the `fmt ` chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WavFormat {
    /// `wFormatTag` as written (1 PCM, 3 float, 65534 extensible, …).
    pub format_tag: u16,
    /// The sub-format of an extensible file (1 PCM, 3 float), else `null`.
    pub sub_format: Option<u16>,
    /// Channels.
    pub channels: u16,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Bits per sample.
    pub bits_per_sample: u16,
}

/// What was measured in one file; `null` where it could not be.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// File size in bytes.
    pub bytes: Option<u64>,
    /// SHA-256 of the file's bytes.
    pub sha256: Option<String>,
    /// SHA-256 of the sample data alone (what the duplicate check compares).
    pub audio_sha256: Option<String>,
    /// The `fmt ` chunk.
    pub format: Option<WavFormat>,
    /// Whole sample frames in the `data` chunk.
    pub frames: Option<u64>,
    /// Duration, seconds.
    pub duration_s: Option<f64>,
    /// Start of speech used by the checks, seconds.
    pub speech_start_s: Option<f64>,
    /// End of speech used by the checks, seconds.
    pub speech_end_s: Option<f64>,
    /// Where `speech_start_s`/`speech_end_s` come from.
    pub speech_bounds_from: Option<BoundsSource>,
    /// Start of speech found by analysing this file, seconds.
    pub analysed_speech_start_s: Option<f64>,
    /// End of speech found by analysing this file, seconds.
    pub analysed_speech_end_s: Option<f64>,
    /// Non-speech before the speech, milliseconds.
    pub leading_ms: Option<f64>,
    /// Non-speech after the speech, milliseconds.
    pub trailing_ms: Option<f64>,
    /// Background level next to the speech (median power of its 10 ms windows), dBFS.
    pub noise_floor_dbfs: Option<f64>,
    /// Speech level (95th percentile of speech-frame energies), dBFS.
    pub speech_level_dbfs: Option<f64>,
    /// Samples at full scale (±32767 or −32768).
    pub clipped_samples: Option<u64>,
    /// `clipped_samples` as a percentage of all samples.
    pub clipped_percent: Option<f64>,
    /// Largest absolute sample, dBFS (−inf for digital silence is reported as `null`).
    pub peak_dbfs: Option<f64>,
    /// Mean sample value as a percentage of full scale (signed).
    pub dc_offset_percent: Option<f64>,
}

/// One `.wav` file checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// The file, as found ('/'-separated).
    pub path: String,
    /// The folder it was found in (its dataset), as given.
    pub dataset: String,
    /// The file's path relative to `dataset` (its key in `manifest.json`).
    pub name: String,
    /// Worst status of its checks: `pass`, `warning` or `fail`.
    pub status: Status,
    /// The recording `prep` made it from, when `manifest.json` says.
    pub source: Option<String>,
    /// What was measured.
    pub measurements: Measurements,
    /// Every rule, in a fixed order, with its outcome.
    pub checks: Vec<Check>,
}

impl FileReport {
    /// The checks that did not pass (warnings and failures), worst first.
    pub fn problems(&self) -> Vec<&Check> {
        let mut problems: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Warning | Status::Fail))
            .collect();
        problems.sort_by_key(|c| std::cmp::Reverse(c.status));
        problems
    }

    /// The check of `rule`.
    pub fn check(&self, rule: Rule) -> Option<&Check> {
        self.checks.iter().find(|c| c.rule == rule)
    }
}

/// A problem with a folder, or with a file that is not a `.wav`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The folder or file ('/'-separated).
    pub path: String,
    /// Which rule.
    pub rule: Rule,
    /// `fail`, `warning` or `note`.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
    /// The command in `fix` that fixes it, runnable as it is; `null` when there is none.
    #[serde(default)]
    pub command: Option<String>,
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// `.wav` files checked.
    pub files: usize,
    /// Files that passed every check.
    pub passed: usize,
    /// Files with warnings but no failure.
    pub warnings: usize,
    /// Files with at least one failure.
    pub failed: usize,
    /// Folder-level failures.
    pub folder_failures: usize,
    /// Folder-level warnings.
    pub folder_warnings: usize,
}
