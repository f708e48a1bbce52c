//! Flags of `voiceperf validate`.

use std::path::PathBuf;

use clap::Args;

use crate::CliError;
use crate::dataset::{DEFAULT_DIR, Limits};
use crate::validate::ValidateOptions;

/// Flags of `voiceperf validate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 every file passed, 1 a file or folder failed (with \
    --strict: or warned), 2 usage error."
)]
pub struct ValidateArgs {
    /// Dataset folders (searched recursively) or WAV files [default: audio_files/]
    #[arg(value_name = "DIR")]
    pub paths: Vec<PathBuf>,

    /// Shortest acceptable query, in seconds
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().min_duration_s)]
    pub min_duration: f64,

    /// Longest acceptable query, in seconds
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().max_duration_s)]
    pub max_duration: f64,

    /// Most non-speech allowed after the end of speech, in milliseconds (failure beyond)
    #[arg(long, value_name = "MS", default_value_t = Limits::default().max_trailing_ms)]
    pub max_trailing_ms: f64,

    /// Most non-speech allowed before the speech, in milliseconds (warning beyond)
    #[arg(long, value_name = "MS", default_value_t = Limits::default().max_leading_ms)]
    pub max_leading_ms: f64,

    /// Largest share of samples at full scale, in percent (warning beyond)
    #[arg(long, value_name = "PCT", default_value_t = Limits::default().max_clipped_percent)]
    pub max_clipped_percent: f64,

    /// Quietest acceptable peak level, in dBFS (warning "too quiet" below)
    #[arg(
        long,
        value_name = "DBFS",
        allow_negative_numbers = true,
        default_value_t = Limits::default().min_peak_dbfs
    )]
    pub min_peak_dbfs: f64,

    /// Largest DC offset (mean sample value), in percent of full scale (warning beyond)
    #[arg(long, value_name = "PCT", default_value_t = Limits::default().max_dc_offset_percent)]
    pub max_dc_offset_percent: f64,

    /// Fail on warnings too
    #[arg(long)]
    pub strict: bool,

    /// Print the report as JSON (fields documented in docs/validate.md)
    #[arg(long)]
    pub json: bool,

    /// Print only the files with problems, and the totals
    #[arg(short, long)]
    pub quiet: bool,
}

fn usage(message: String) -> anyhow::Error {
    CliError::Usage(message).into()
}

impl ValidateArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<ValidateOptions> {
        let limits = Limits {
            min_duration_s: self.min_duration,
            max_duration_s: self.max_duration,
            max_trailing_ms: self.max_trailing_ms,
            max_leading_ms: self.max_leading_ms,
            max_clipped_percent: self.max_clipped_percent,
            min_peak_dbfs: self.min_peak_dbfs,
            max_dc_offset_percent: self.max_dc_offset_percent,
        };
        check_limits(&limits)?;
        let paths = if self.paths.is_empty() {
            let default = PathBuf::from(DEFAULT_DIR);
            if !default.is_dir() {
                return Err(usage(format!(
                    "no folder given and there is no {DEFAULT_DIR}/ folder here: give the \
                     dataset folder to check (make one with `voiceperf prep`)"
                )));
            }
            vec![default]
        } else {
            self.paths
        };
        for path in &paths {
            if !path.exists() {
                return Err(usage(format!(
                    "{} does not exist: give a dataset folder or WAV files",
                    path.display()
                )));
            }
        }
        Ok(ValidateOptions {
            paths,
            limits,
            strict: self.strict,
            json: self.json,
            quiet: self.quiet,
        })
    }
}

/// Rejects limits that are not numbers, out of range, or contradict each other.
fn check_limits(limits: &Limits) -> anyhow::Result<()> {
    let non_negative = [
        ("--min-duration", limits.min_duration_s),
        ("--max-duration", limits.max_duration_s),
        ("--max-trailing-ms", limits.max_trailing_ms),
        ("--max-leading-ms", limits.max_leading_ms),
        ("--max-clipped-percent", limits.max_clipped_percent),
        ("--max-dc-offset-percent", limits.max_dc_offset_percent),
    ];
    for (flag, value) in non_negative {
        if !value.is_finite() || value < 0.0 {
            return Err(usage(format!("{flag} {value}: give a number ≥ 0")));
        }
    }
    if limits.min_duration_s > limits.max_duration_s {
        return Err(usage(format!(
            "--min-duration {} is longer than --max-duration {}",
            limits.min_duration_s, limits.max_duration_s
        )));
    }
    for (flag, value) in [
        ("--max-clipped-percent", limits.max_clipped_percent),
        ("--max-dc-offset-percent", limits.max_dc_offset_percent),
    ] {
        if value > 100.0 {
            return Err(usage(format!(
                "{flag} {value}: a percentage is at most 100"
            )));
        }
    }
    if !(-120.0..=0.0).contains(&limits.min_peak_dbfs) {
        return Err(usage(format!(
            "--min-peak-dbfs {}: give a level from -120 to 0 dBFS",
            limits.min_peak_dbfs
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ValidateArgs,
    }

    fn options(args: &[&str]) -> anyhow::Result<ValidateOptions> {
        let mut argv = vec!["validate"];
        argv.extend_from_slice(args);
        Wrapper::try_parse_from(argv)?.args.into_options()
    }

    #[test]
    fn defaults_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let o = options(&[path]).unwrap();
        assert_eq!(o.limits, Limits::default());
        assert!(!o.strict && !o.json && !o.quiet);
        let o = options(&[
            path,
            "--max-trailing-ms",
            "250",
            "--min-peak-dbfs",
            "-40",
            "--strict",
            "--json",
        ])
        .unwrap();
        assert_eq!(o.limits.max_trailing_ms, 250.0);
        assert_eq!(o.limits.min_peak_dbfs, -40.0);
        assert!(o.strict && o.json);
    }

    #[test]
    fn usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        for bad in [
            vec![path, "--min-duration", "5", "--max-duration", "2"],
            vec![path, "--max-trailing-ms=-1"],
            vec![path, "--max-clipped-percent", "150"],
            vec![path, "--min-peak-dbfs", "3"],
            vec![path, "--max-leading-ms", "NaN"],
            vec!["/definitely/not/here"],
        ] {
            let err = options(&bad).unwrap_err();
            assert!(
                matches!(err.downcast_ref(), Some(CliError::Usage(_))),
                "{bad:?}: {err}"
            );
        }
    }
}
