//! `voiceperf validate`.

use crate::{CliError, Outcome};

/// Validated options of `voiceperf validate`.
#[derive(Debug, Clone)]
pub struct ValidateOptions {}

/// Runs `voiceperf validate`.
pub fn run(_options: &ValidateOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("validate").into())
}
