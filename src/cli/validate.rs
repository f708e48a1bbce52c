//! Flags of `voiceperf validate`.

use clap::Args;

use crate::validate::ValidateOptions;

/// Flags of `voiceperf validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {}

impl ValidateArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<ValidateOptions> {
        Ok(ValidateOptions {})
    }
}
