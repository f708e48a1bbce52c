//! Flags of `voiceperf bench`.

use clap::Args;

use crate::bench::BenchOptions;

/// Flags of `voiceperf bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {}

impl BenchArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<BenchOptions> {
        Ok(BenchOptions {})
    }
}
