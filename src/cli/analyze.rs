//! Flags of `voiceperf analyze`.

use clap::Args;

use crate::analyze::AnalyzeOptions;

/// Flags of `voiceperf analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {}

impl AnalyzeArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<AnalyzeOptions> {
        Ok(AnalyzeOptions {})
    }
}
