//! `voiceperf report`.

use crate::{CliError, Outcome};

/// Validated options of `voiceperf report`.
#[derive(Debug, Clone)]
pub struct ReportOptions {}

/// Runs `voiceperf report`.
pub fn run(_options: &ReportOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("report").into())
}
