//! Command-line definitions (clap) and dispatch. Each subcommand's flags live in their own
//! file and are turned once into the validated options struct its command function takes.

mod agent;
mod analyze;
mod bench;
mod compare;
mod config;
mod merge;
mod prep;
mod report;
mod run;
mod validate;
mod value;

pub use agent::AgentArgs;
pub use analyze::AnalyzeArgs;
pub use bench::BenchArgs;
pub use compare::CompareArgs;
pub use config::{Parsed, parse_from};
pub use merge::MergeArgs;
pub use prep::PrepArgs;
pub use report::ReportArgs;
pub use run::RunArgs;
pub use validate::ValidateArgs;

use clap::{Parser, Subcommand};

use crate::Outcome;

/// Voice-agent latency testing: from raw recordings to a latency report.
#[derive(Debug, Parser)]
#[command(name = "voiceperf", version = crate::LONG_VERSION, about, propagate_version = true)]
pub struct Cli {
    /// The step to run.
    #[command(subcommand)]
    pub command: Command,
}

/// voiceperf's subcommands, in pipeline order.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Turn recordings (WAV, FLAC, MP3, OGG, M4A, Opus…) into 16 kHz mono int16 WAV queries
    /// trimmed to the end of speech.
    Prep(PrepArgs),
    /// Check that a dataset of query WAVs is benchmark-ready, and say how to fix what is not.
    Validate(ValidateArgs),
    /// Simulate concurrent users against a pipecat WebSocket agent and measure latency.
    Bench(BenchArgs),
    /// Join the shards of one run (`bench --shard I/N`) into one run folder.
    Merge(MergeArgs),
    /// Read an agent's server log: per-service timings, per client, joined with a bench run.
    Analyze(AnalyzeArgs),
    /// Serve the built-in reference voice agent (pipecat protobuf over WebSocket).
    Agent(AgentArgs),
    /// The whole pipeline in one command: prep, validate, agent, bench, analyze, report.
    Run(RunArgs),
    /// Re-render the HTML report of a run folder from its JSON results.
    Report(ReportArgs),
    /// Compare two run folders: latency percentiles side by side with confidence intervals,
    /// the difference and whether it is significant.
    Compare(CompareArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
}

/// Flags of `voiceperf completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. bash: `voiceperf completions bash > ~/.local/share/bash-completion/completions/voiceperf`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Runs the chosen subcommand; `settings` (from [`parse_from`]) are written into the run
/// folder of `bench` and `run`.
pub fn dispatch(cli: Cli, settings: Option<String>) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Prep(args) => crate::prep::run(&args.into_options()?),
        Command::Validate(args) => crate::validate::run(&args.into_options()?),
        Command::Bench(args) => crate::bench::run(&crate::bench::BenchOptions {
            settings,
            ..args.into_options()?
        }),
        Command::Merge(args) => crate::merge::run(&args.into_options()?),
        Command::Analyze(args) => crate::analyze::run(&args.into_options()?),
        Command::Agent(args) => crate::agent::run(&args.into_options()?),
        Command::Run(args) => {
            let mut options = args.into_options()?;
            options.bench.settings = settings;
            crate::run::run(&options)
        }
        Command::Report(args) => crate::report::run(&args.into_options()?),
        Command::Compare(args) => crate::compare::run(&args.into_options()?),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(
                args.shell,
                &mut command,
                "voiceperf",
                &mut std::io::stdout(),
            );
            Ok(Outcome::Success)
        }
    }
}
