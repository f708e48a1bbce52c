//! `voiceperf prep`.

use crate::{CliError, Outcome};

/// Validated options of `voiceperf prep`.
#[derive(Debug, Clone)]
pub struct PrepOptions {}

/// Runs `voiceperf prep`.
pub fn run(_options: &PrepOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("prep").into())
}
