//! Flags of `voiceperf run`.

use clap::Args;

use crate::run::RunOptions;

/// Flags of `voiceperf run`.
#[derive(Debug, Args)]
pub struct RunArgs {}

impl RunArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<RunOptions> {
        Ok(RunOptions {})
    }
}
