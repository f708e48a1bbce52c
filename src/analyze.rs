//! `voiceperf analyze`.

use crate::{CliError, Outcome};

/// Validated options of `voiceperf analyze`.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {}

/// Runs `voiceperf analyze`.
pub fn run(_options: &AnalyzeOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("analyze").into())
}
