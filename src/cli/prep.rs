//! Flags of `voiceperf prep`.

use std::path::PathBuf;

use clap::Args;

use crate::CliError;
use crate::audio::vad::VadMode;
use crate::dataset::{DEFAULT_DIR, DEFAULT_RECORDINGS_DIR, PrepSettings};
use crate::prep::PrepOptions;

/// Flags of `voiceperf prep`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 all prepared (or unchanged), 1 some recording failed \
    (the others were still prepared), 2 usage error."
)]
pub struct PrepArgs {
    /// Recordings, or folders searched recursively for them [default: raw_recordings/]
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Folder for the prepared queries and manifest.json
    #[arg(short, long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub output: PathBuf,

    /// Non-speech kept after the end of speech, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = PrepSettings::default().pad_ms)]
    pub pad_ms: u32,

    /// Non-speech kept before the start of speech, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = PrepSettings::default().keep_leading_ms)]
    pub keep_leading_ms: u32,

    /// Use only channel N (1 = first/left) instead of mixing all channels
    #[arg(long, value_name = "N")]
    pub channel: Option<u16>,

    /// Scale each query so its peak is at DBFS (-60 to 0, e.g. -1)
    #[arg(long, value_name = "DBFS", allow_negative_numbers = true)]
    pub normalize_peak: Option<f64>,

    /// How strictly the WebRTC VAD tells speech from other sound
    #[arg(long, value_enum, default_value_t = PrepSettings::default().vad_mode)]
    pub vad_mode: VadMode,

    /// Prepare every recording again, even when unchanged since the last run
    #[arg(long)]
    pub force: bool,

    /// Show what would be prepared; write nothing into the output folder
    #[arg(long)]
    pub dry_run: bool,

    /// Print only errors: no progress bar, table or notes
    #[arg(short, long)]
    pub quiet: bool,

    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

/// Longest pad or lead that makes sense, ms.
const MAX_MARGIN_MS: u32 = 10_000;

impl PrepArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<PrepOptions> {
        if self.channel == Some(0) {
            return Err(
                CliError::Usage("--channel counts from 1 (1 = first channel)".into()).into(),
            );
        }
        if let Some(peak) = self.normalize_peak
            && !(-60.0..=0.0).contains(&peak)
        {
            return Err(CliError::Usage(format!(
                "--normalize-peak {peak} is out of range: give a level from -60 to 0 dBFS"
            ))
            .into());
        }
        for (flag, value) in [
            ("--pad-ms", self.pad_ms),
            ("--keep-leading-ms", self.keep_leading_ms),
        ] {
            if value > MAX_MARGIN_MS {
                return Err(CliError::Usage(format!(
                    "{flag} {value} is too long (at most {MAX_MARGIN_MS} ms)"
                ))
                .into());
            }
        }
        if self.output.is_file() {
            return Err(CliError::Usage(format!(
                "-o {} is a file; give a folder",
                self.output.display()
            ))
            .into());
        }
        let inputs = if self.inputs.is_empty() {
            let default = PathBuf::from(DEFAULT_RECORDINGS_DIR);
            if !default.is_dir() {
                return Err(CliError::Usage(format!(
                    "no recordings given and there is no {DEFAULT_RECORDINGS_DIR}/ folder here: \
                     give files or folders to prepare"
                ))
                .into());
            }
            vec![default]
        } else {
            self.inputs
        };
        Ok(PrepOptions {
            inputs,
            output_dir: self.output,
            settings: PrepSettings {
                pad_ms: self.pad_ms,
                keep_leading_ms: self.keep_leading_ms,
                channel: self.channel,
                normalize_peak_dbfs: self.normalize_peak,
                vad_mode: self.vad_mode,
            },
            force: self.force,
            dry_run: self.dry_run,
            quiet: self.quiet,
            report: self.report,
        })
    }
}
