//! `voiceperf run`.

pub mod record;

use crate::{CliError, Outcome};

/// Validated options of `voiceperf run`.
#[derive(Debug, Clone)]
pub struct RunOptions {}

/// Runs `voiceperf run`.
pub fn run(_options: &RunOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("run").into())
}
