//! `voiceperf bench`.

pub mod dataset;
pub mod playback;
pub mod results;
pub mod schedule;
pub mod turn;

use crate::{CliError, Outcome};

/// Validated options of `voiceperf bench`.
#[derive(Debug, Clone)]
pub struct BenchOptions {}

/// Runs `voiceperf bench`.
pub fn run(_options: &BenchOptions) -> anyhow::Result<Outcome> {
    Err(CliError::NotBuilt("bench").into())
}
