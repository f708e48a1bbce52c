//! Flags of `voiceperf agent`.

use clap::Args;

use crate::agent::AgentOptions;

/// Flags of `voiceperf agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {}

impl AgentArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<AgentOptions> {
        Ok(AgentOptions {})
    }
}
