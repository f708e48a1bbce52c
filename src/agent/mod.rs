//! `voiceperf agent`.

use crate::{CliError, Outcome};

/// Validated options of `voiceperf agent`.
#[derive(Debug, Clone)]
pub struct AgentOptions {}

/// Runs `voiceperf agent`.
pub fn run(_options: &AgentOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("agent").into())
}
