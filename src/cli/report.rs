//! Flags of `voiceperf report`.

use clap::Args;

use crate::report::ReportOptions;

/// Flags of `voiceperf report`.
#[derive(Debug, Args)]
pub struct ReportArgs {}

impl ReportArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<ReportOptions> {
        Ok(ReportOptions {})
    }
}
