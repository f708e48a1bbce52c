//! voiceperf: voice-agent latency testing from raw recordings to a latency report.
//!
//! The modules follow the pipeline: [`audio`] and [`prep`] turn recordings into a dataset,
//! [`validate`] checks it, [`bench`] drives simulated users against an agent speaking the
//! pipecat [`protocol`] (such as the built-in [`agent`]), [`merge`] joins the shards of a run
//! split over machines, [`analyze`] reads the agent's log, [`report`] renders the results,
//! and [`run`] chains it all. [`summary`] turns per-connection results into a run's figures
//! for both bench and merge.

// Leaf blocks.
pub mod audio;
pub mod clock;
pub mod delay;
pub mod fsutil;
pub mod interrupt;
pub mod redact;
pub mod stats;
pub mod term;
pub mod text;

// Formats several steps share.
pub mod dataset;
pub mod protocol;
pub mod runfolder;
pub mod serverlog;
pub mod summary;

// The steps.
pub mod agent;
pub mod analyze;
pub mod bench;
pub mod merge;
pub mod prep;
pub mod validate;

// What chains and presents them.
pub mod compare;
pub mod report;
pub mod run;

pub mod cli;

/// How a command ended; `main` turns it into the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded: exit status 0.
    Success,
    /// The command ran to the end but some inputs or checks failed: exit status 1.
    Failed,
    /// A CI gate (`--fail-p95`, `--max-error-rate`) was not met: exit status 3.
    GateFailed,
}

impl Outcome {
    /// The process exit status for this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::GateFailed => 3,
        }
    }

    /// `Failed` when `failed` is true, else `Success`.
    pub fn failed_if(failed: bool) -> Self {
        if failed {
            Outcome::Failed
        } else {
            Outcome::Success
        }
    }
}

/// Errors that decide the exit status rather than just being reported.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is valid for clap but not usable (conflicting or out-of-range values).
    #[error("{0}")]
    Usage(String),
    /// The subcommand exists in the CLI but has not been built yet.
    #[error("`voiceperf {0}` is not built yet in this version")]
    NotBuilt(&'static str),
}

/// Exit status for an error that ended a command: 2 for usage errors, 1 otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<CliError>() {
        Some(CliError::Usage(_) | CliError::NotBuilt(_)) => 2,
        None => 1,
    }
}

/// Version string recorded in manifests and result files.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `voiceperf --version`: the version, the git commit built (`-dirty` when the tree had
/// changes) and the build date (UTC), from `build.rs`.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("VOICEPERF_GIT_COMMIT"),
    ", built ",
    env!("VOICEPERF_BUILD_DATE"),
    ")"
);
