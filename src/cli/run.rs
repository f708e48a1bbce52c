//! Flags of `voiceperf run`: its own, plus every flag of `voiceperf bench` (shared, not
//! redeclared, with the same defaults); only `--port` differs: 0 starts the built-in agent.

use std::path::PathBuf;

use clap::Args;

use super::BenchArgs;
use crate::CliError;
use crate::run::{AgentChoice, RunOptions, builtin_agent_for};

/// Flags of `voiceperf run`.
#[derive(Debug, Args)]
#[command(
    mut_arg("port", |a| a
        .default_value("0")
        .help("Port of your agent; 0 (the default) starts the built-in agent on a free port")),
    mut_arg("output_dir", |a| a
        .help("Run folder (default results/<timestamp>/; never overwritten: a folder that holds files gets a fresh sibling DIR-2)")),
    mut_arg("audio_dir", |a| a
        .help("Dataset folder: the prep step writes it, validate checks it, bench speaks it")),
)]
pub struct RunArgs {
    /// Recordings (any format) prepared into the dataset folder first; files unchanged since
    /// the last prep are skipped [default: raw_recordings, when it exists].
    #[arg(long, value_name = "DIR")]
    pub raw_dir: Option<PathBuf>,
    /// Use the dataset folder as it is: no prep step.
    #[arg(long, conflicts_with = "raw_dir")]
    pub no_prep: bool,
    /// Your agent's server log (with --url or --port): analysed and joined with the run for
    /// the per-component breakdown (VAD wait / ASR / LLM / TTS / other).
    #[arg(long, value_name = "FILE")]
    pub server_log: Option<PathBuf>,
    /// The benchmark's flags (all of `voiceperf bench`'s).
    #[command(flatten)]
    pub bench: BenchArgs,
}

impl RunArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<RunOptions> {
        let flags = &self.bench.flags;
        let external = flags.url.is_some() || flags.port != 0;
        let protocol = flags.protocol;
        if !external && flags.host != "127.0.0.1" {
            return Err(CliError::Usage(format!(
                "--host {} needs --port (or give --url): without them run starts the built-in agent",
                flags.host
            ))
            .into());
        }
        let agent = if external {
            AgentChoice::External {
                server_log: self.server_log,
            }
        } else {
            if let Some(log) = &self.server_log {
                return Err(CliError::Usage(format!(
                    "--server-log {} names your agent's log, so it needs --url or --port; the built-in agent's log is written to the run folder",
                    log.display()
                ))
                .into());
            }
            AgentChoice::BuiltIn(Box::new(builtin_agent_for(protocol)))
        };
        Ok(RunOptions {
            raw_dir: self.raw_dir,
            prep: !self.no_prep,
            agent,
            bench: self.bench.into_options()?,
        })
    }
}
