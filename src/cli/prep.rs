//! Flags of `voiceperf prep`.

use clap::Args;

use crate::prep::PrepOptions;

/// Flags of `voiceperf prep`.
#[derive(Debug, Args)]
pub struct PrepArgs {}

impl PrepArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<PrepOptions> {
        Ok(PrepOptions {})
    }
}
