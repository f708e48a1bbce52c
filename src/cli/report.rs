//! Flags of `voiceperf report`.

use std::path::PathBuf;

use clap::Args;

use crate::report::ReportOptions;

/// Flags of `voiceperf report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folder written by `voiceperf run` or `voiceperf bench` (results/<timestamp>).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Write the HTML report to FILE instead of DIR/report.html (DIR/summary.md is then not
    /// written).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl ReportArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<ReportOptions> {
        Ok(ReportOptions {
            dir: self.dir,
            output: self.output,
        })
    }
}
