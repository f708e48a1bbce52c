//! Flags of `voiceperf merge`.

use std::path::PathBuf;

use clap::Args;

use crate::merge::MergeOptions;
use crate::summary::gates::Gates;

/// Flags of `voiceperf merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' run folders (`bench --shard I/N --output-dir …`), e.g. results/run-X/shard-*.
    #[arg(value_name = "SHARD_DIR", required = true, num_args = 1..)]
    pub shards: Vec<PathBuf>,
    /// The merged run folder to write (new or empty).
    #[arg(long = "output-dir", short = 'o', value_name = "DIR")]
    pub output: PathBuf,
    /// Merge even when shards are missing or did not finish; the merged run is then marked
    /// incomplete and the command exits with status 1.
    #[arg(long)]
    pub partial: bool,
    /// Report whether the run's p95 latency is at most this many seconds (default: the
    /// shards' --slo-p95).
    #[arg(long)]
    pub slo_p95: Option<f64>,
    /// Exit with status 3 when the run's p95 latency exceeds this many seconds (default: the
    /// shards' --fail-p95).
    #[arg(long)]
    pub fail_p95: Option<f64>,
    /// Exit with status 3 when the run's error rate exceeds this fraction (default: the
    /// shards' --max-error-rate).
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// Exit with status 3 when the run's p95 barge-in stop latency exceeds this many seconds
    /// (default: the shards' --fail-stop-p95).
    #[arg(long)]
    pub fail_stop_p95: Option<f64>,
    /// Exit with status 3 when the run's false-stop rate on distractors exceeds this fraction
    /// (default: the shards' --max-false-stop-rate).
    #[arg(long)]
    pub max_false_stop_rate: Option<f64>,
    /// A CI gate over fewer measured turns (barge-ins, distractors) than this is not evaluated
    /// and fails with exit 3 (default: the shards' --min-turns, else 20).
    #[arg(long, value_name = "N")]
    pub min_turns: Option<usize>,
}

impl MergeArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<MergeOptions> {
        Ok(MergeOptions {
            shards: self.shards,
            output: self.output,
            partial: self.partial,
            gates: Gates {
                slo_p95: self.slo_p95,
                fail_p95: self.fail_p95,
                max_error_rate: self.max_error_rate,
                fail_stop_p95: self.fail_stop_p95,
                max_false_stop_rate: self.max_false_stop_rate,
                min_turns: 0,
            },
            min_turns: self.min_turns,
        })
    }
}
