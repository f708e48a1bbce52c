//! Flags of `voiceperf compare`.

use std::path::PathBuf;

use clap::Args;

use crate::CliError;
use crate::compare::{CompareOptions, Format};

/// Flags of `voiceperf compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference run folder (results/<timestamp>, or one level folder of a sweep).
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The run folder compared with it.
    #[arg(value_name = "CANDIDATE")]
    pub candidate: PathBuf,
    /// Output: aligned text, a Markdown table (for a pull request or CI job summary), or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit with status 3 when a latency percentile (p50/p90/p95/p99, each only when both runs
    /// have the turns to support it) is significantly slower by more than PCT per cent; exit 1
    /// when the runs are too small to tell.
    #[arg(long, value_name = "PCT")]
    pub fail_if_slower: Option<f64>,
}

impl CompareArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<CompareOptions> {
        if let Some(pct) = self.fail_if_slower
            && !(pct.is_finite() && pct >= 0.0)
        {
            return Err(CliError::Usage(format!(
                "--fail-if-slower {pct} must be a percentage ≥ 0, e.g. 10"
            ))
            .into());
        }
        Ok(CompareOptions {
            base: self.base,
            candidate: self.candidate,
            format: self.format,
            fail_if_slower: self.fail_if_slower,
        })
    }
}
