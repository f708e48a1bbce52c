//! `voiceperf bench`.

pub mod results;

use crate::{CliError, Outcome};

/// Validated options of `voiceperf bench`.
#[derive(Debug, Clone)]
pub struct BenchOptions {}

/// Runs `voiceperf bench`.
pub fn run(_options: &BenchOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("bench").into())
}
